// The gate's wall time on the project's own sql/, split by step, so the slowest
// step is visible. Median of 3 runs of `rowguard gate --json` (a CLI process, as CI runs it).
import { spawnSync } from 'node:child_process';
import { withServer, CLI, ROOT } from './lib/server.mjs';

const RUNS = 3;
await withServer(async (server) => {
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [CLI, '--db', server, 'gate', '--format', 'json'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const wall = performance.now() - t0;
    let report;
    try {
      report = JSON.parse(r.stdout);
    } catch {
      console.error(`gate did not print JSON (exit ${r.status}): ${r.stderr.split('\n').slice(0, 5).join('\n')}`);
      process.exit(1);
    }
    runs.push({ wall, report });
  }
  runs.sort((a, b) => a.wall - b.wall);
  const mid = runs[Math.floor(runs.length / 2)];
  console.log(`rowguard gate on the project's sql/ (median of ${RUNS}): ${(mid.wall / 1000).toFixed(2)} s wall, gate ${mid.report.ok ? 'passed' : 'FAILED'}`);
  const total = mid.report.steps.reduce((a, s) => a + s.durationMs, 0);
  const slowest = [...mid.report.steps].sort((a, b) => b.durationMs - a.durationMs)[0];
  for (const s of mid.report.steps) {
    const share = total ? ((100 * s.durationMs) / total).toFixed(0) : '0';
    console.log(`  ${s.title.padEnd(34)} ${String(s.durationMs).padStart(7)} ms  ${share.padStart(3)}%  ${s.status}${s === slowest ? '  ← slowest' : ''}`);
  }
  console.log(`  ${'start-up, provisioning, reporting'.padEnd(34)} ${String(Math.round(mid.wall - total)).padStart(7)} ms`);
});
