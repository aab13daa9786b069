/** Exit codes of the CLI: everything fine, some items failed, the run itself could not proceed. */
export const EXIT = { OK: 0, ITEMS_FAILED: 1, USAGE: 2 } as const;

/**
 * A problem with the command line, the input or the connection: the run stops and the process
 * exits with code 2 after printing `message` (no stack trace).
 */
export class CliError extends Error {
  override readonly name = 'CliError';
}
