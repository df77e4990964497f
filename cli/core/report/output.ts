/**
 * Every byte rowguard prints goes through an Output. Colour only on a TTY and
 * never with NO_COLOR or --no-color; progress only on a TTY, on stderr; --json
 * prints one JSON document on stdout. This folder is the only user of chalk.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import { jsonText } from './json-text.js';

export interface OutputOptions {
  json: boolean;
  color: boolean;
  quiet: boolean;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  writeOut: (s: string) => void;
  writeErr: (s: string) => void;
}

export interface Progress {
  update(text: string): void;
  done(final?: string): void;
}

export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly color: boolean;
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
  readonly c: ChalkInstance;
  private readonly writeOut: (s: string) => void;
  private readonly writeErr: (s: string) => void;

  constructor(o: OutputOptions) {
    this.json = o.json;
    this.quiet = o.quiet;
    this.color = o.color;
    this.stdoutIsTTY = o.stdoutIsTTY;
    this.stderrIsTTY = o.stderrIsTTY;
    this.writeOut = o.writeOut;
    this.writeErr = o.writeErr;
    this.c = new Chalk({ level: o.color ? 1 : 0 });
  }

  /** Raw text to stdout (the command's result). */
  out(text: string): void {
    this.writeOut(text.endsWith('\n') ? text : text + '\n');
  }

  /** Informational line to stderr; silent with --quiet or --json. */
  info(text: string): void {
    if (this.quiet || this.json) return;
    this.writeErr(text.endsWith('\n') ? text : text + '\n');
  }

  /** Warnings go to stderr even with --json (never with --quiet). */
  warn(text: string): void {
    if (this.quiet) return;
    this.writeErr(this.c.yellow('warning: ') + text + '\n');
  }

  /** The result: JSON document under --json, else the rendered text. */
  result(data: unknown, render: () => string): void {
    if (this.json) this.writeOut(jsonText(data) + '\n');
    else {
      const text = render();
      if (text !== '') this.out(text);
    }
  }

  /** A spinner-less progress line that rewrites itself; only on a TTY stderr. */
  progress(label: string): Progress {
    const live = this.stderrIsTTY && !this.quiet && !this.json;
    let last = '';
    const draw = (t: string) => {
      if (!live) return;
      last = `${label} ${t}`;
      this.writeErr(`\r\x1b[2K${this.c.dim(last)}`);
    };
    draw('');
    return {
      update: draw,
      done: (final) => {
        if (!live) return;
        this.writeErr('\r\x1b[2K' + (final ? final + '\n' : ''));
      },
    };
  }

  /** Raw stderr access for reporters that own their layout. */
  err(text: string): void {
    this.writeErr(text);
  }
}

export interface OutputEnv {
  json?: boolean;
  color?: boolean;
  quiet?: boolean;
  noColorEnv?: boolean;
  forceColorEnv?: boolean;
}

let silenced = false;

/**
 * After Ctrl-C the interrupted command may still print (a result, or the errors of
 * its connections being ended): cli/main.ts silences every Output so that its
 * interruption report is the only thing printed.
 */
export function silenceOutput(): void {
  silenced = true;
}

export function createOutput(flags: OutputEnv, io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream }): Output {
  const tty = !!io.stdout.isTTY;
  const color = flags.color !== false && !flags.noColorEnv && (tty || !!flags.forceColorEnv);
  return new Output({
    json: !!flags.json,
    quiet: !!flags.quiet,
    color,
    stdoutIsTTY: tty,
    stderrIsTTY: !!io.stderr.isTTY,
    writeOut: (s) => void (silenced || io.stdout.write(s)),
    writeErr: (s) => void (silenced || io.stderr.write(s)),
  });
}
