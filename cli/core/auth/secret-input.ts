/**
 * Where `rowguard auth` reads a password, refresh token or magic-link token:
 * a prompt on the terminal with echo off, or standard input with --stdin.
 * Never a flag or an argument: those land in shell history and in `ps`.
 */
import { RowguardError } from '../errors.js';

export interface SecretSource {
  /** The stream to read: process.stdin in the CLI. */
  stdin: NodeJS.ReadStream | (AsyncIterable<Buffer | string> & { isTTY?: boolean });
  /** Where the prompt goes (stderr, so stdout stays the result). */
  promptTo: { write(s: string): unknown };
  /** --stdin: read the whole of standard input. */
  fromStdin: boolean;
}

/** Read one secret. `what` names it in the prompt and in errors ("password"). */
export async function readSecret(src: SecretSource, what: string): Promise<string> {
  let value: string;
  if (src.fromStdin) {
    const chunks: Buffer[] = [];
    for await (const c of src.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
    // One trailing newline (from echo or a here-string) is not part of the secret.
    // Not toString('utf8'): it turns bytes that are not UTF-8 into U+FFFD, so two different
    // passwords would become the same one.
    try {
      value = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)).replace(/\r?\n$/, '');
    } catch {
      throw new RowguardError('usage', `the ${what} on standard input is not UTF-8 text`);
    }
  } else if (src.stdin.isTTY && 'setRawMode' in src.stdin) {
    value = await promptNoEcho(src.stdin as NodeJS.ReadStream, src.promptTo, `${what}: `);
  } else {
    throw new RowguardError('usage', `no terminal to ask for the ${what}: pass it on standard input with --stdin`, {
      hint: `e.g. printf '%s' "$SECRET" | rowguard auth … --stdin`,
    });
  }
  if (value === '') throw new RowguardError('usage', `empty ${what}`);
  // PostgreSQL text cannot hold NUL: the server would refuse it with an encoding error.
  if (value.includes('\0')) throw new RowguardError('usage', `the ${what} contains a NUL character, which PostgreSQL text cannot hold`);
  return value;
}

/** Raw mode: the terminal does not echo; we collect until Enter, honour backspace, and abort on Ctrl-C / Ctrl-D. */
function promptNoEcho(tty: NodeJS.ReadStream, out: { write(s: string): unknown }, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const wasRaw = tty.isRaw;
    // Echo off before the prompt shows: a fast typist (or a script that
    // answers the prompt) must not type into a terminal that still echoes.
    tty.setRawMode(true);
    out.write(prompt);
    tty.resume();
    tty.setEncoding('utf8');
    const finish = (err?: RowguardError) => {
      tty.removeListener('data', onData);
      tty.setRawMode(wasRaw);
      tty.pause();
      out.write('\n');
      if (err) reject(err);
      else resolve(buf);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish();
        // Ctrl-C is the interrupt it would be outside raw mode (exit 130, as the README documents); Ctrl-D, no answer.
        if (ch === '\u0003') return finish(new RowguardError('interrupted', `interrupted at the ${prompt.replace(/: $/, '')} prompt: nothing was done`));
        if (ch === '\u0004') return finish(new RowguardError('usage', 'cancelled'));
        if (ch === '\u007f' || ch === '\b') buf = Array.from(buf).slice(0, -1).join(''); // a code point, not a UTF-16 unit
        else buf += ch;
      }
    };
    tty.on('data', onData);
  });
}
