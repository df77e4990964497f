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
  return leftBehind.map((l) => `throwaway database ${l.name} could not be dropped (${l.reason}); drop it by hand: drop database "${l.name}" with (force);`);
}

/**
 * Throwaway databases created by this process and not dropped yet, oldest first (db.ts keeps
 * it). Here so that main can name them where it cannot wait for a drop: at exit.
 */
export const live: Array<{ serverUrl: string; name: string; created: Promise<void> }> = [];
