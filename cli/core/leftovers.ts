/**
 * Throwaway databases this process made and could not drop, for cli/main.ts to
 * name once the command is done (the code that dropped them swallowed the error
 * to report its own result). Tiny and dependency-free: main reads it without
 * loading the driver.
 */
export interface LeftDatabase {
  name: string;
  /** The server's reason (no secrets). */
  reason: string;
}

export const leftBehind: LeftDatabase[] = [];

/** The warning for each: what was left, why, and the statement that removes it. */
export function leftBehindWarnings(): string[] {
  return leftBehind.map((l) => `throwaway database ${l.name} could not be dropped (${l.reason}); ${dropByHand([l.name])}`);
}

/** The hint for throwaway databases rowguard could not drop itself: the statements that do. */
export function dropByHand(names: readonly string[]): string {
  return `drop ${names.length > 1 ? 'them' : 'it'} by hand: ${names.map((n) => `drop database "${n}" with (force);`).join(' ')}`;
}

/**
 * Throwaway databases created by this process and not dropped yet, oldest first (db.ts keeps
 * it). Here so that main can name them where it cannot wait for a drop: at exit.
 */
export const live: Array<{ serverUrl: string; name: string; created: Promise<void> }> = [];

/**
 * Statements running on the user's database that Ctrl-C must cancel (main's interrupt
 * handler): a backend whose client went away runs its statement to the end, holding
 * its locks, as Postgres notices a closed socket only when it next writes to it.
 */
export const inFlight = new Set<{ cancel(): unknown; settled: Promise<unknown> }>();

/** Run `query` registered in inFlight until it settles. */
export async function cancelOnInterrupt<T>(query: PromiseLike<T> & { cancel(): unknown }): Promise<T> {
  const entry = { cancel: () => query.cancel(), settled: Promise.resolve(query).then(() => undefined, () => undefined) };
  inFlight.add(entry);
  try {
    return await query;
  } finally {
    inFlight.delete(entry);
  }
}
