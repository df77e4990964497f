/**
 * The order pg_prove gives a suite's files, kept where it matters: a file that
 * may commit something (firstCommitted) runs alone, after every file before it
 * and before every file after it, which start from what it committed; the files
 * between two such files have nothing to see of each other and run side by
 * side. Used by the test pass and by --coverage's second pass.
 */
export async function inCommitOrder<T>(
  items: readonly T[],
  commits: (item: T, index: number) => boolean,
  run: { sideBySide(batch: T[]): Promise<void>; alone(item: T, index: number): Promise<void> },
  stopped: () => boolean = () => false,
): Promise<void> {
  let batch: T[] = [];
  const flush = async () => {
    if (batch.length && !stopped()) await run.sideBySide(batch);
    batch = [];
  };
  for (const [i, item] of items.entries()) {
    if (!commits(item, i)) {
      batch.push(item);
      continue;
    }
    await flush();
    if (stopped()) return;
    await run.alone(item, i);
  }
  await flush();
}
