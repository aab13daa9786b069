import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceError } from './errors.js';

/**
 * A start-up problem the operator fixes (a bad setting, a busy port, a missing models folder):
 * printed as one line saying what is wrong and what to do, exit code 1, no stack trace.
 */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** The models folder must hold a pack: its manifest names and checks every model file. */
export function checkModelsDir(modelsDir: string): void {
  if (!existsSync(join(modelsDir, 'manifest.json'))) {
    throw new StartupError(
      `the models folder ${modelsDir} has no manifest.json: run \`npm run models\` or set MODELS_DIR to a model pack`,
    );
  }
}

/** A `listen` that failed: a port in use or not ours to take, named with the setting to change. */
export function listenError(
  err: NodeJS.ErrnoException,
  what: string,
  setting: string,
  host: string,
  port: number,
): Error {
  const code = err.code;
  if (code === 'EADDRINUSE') {
    return new StartupError(
      `${what}: ${host}:${port} is already in use: stop the process holding it or set ${setting} to a free port`,
    );
  }
  if (code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    return new StartupError(`${what}: cannot listen on ${host}:${port} (${code}): set HOST or ${setting}`);
  }
  return err;
}

/**
 * Runs an entry point's start-up. An operator's problem (StartupError, or a model pack that fails
 * its integrity check) is one line on stderr and exit 1; anything else is a bug and keeps its
 * stack. Returns what `start` returned.
 */
export async function startOrExit<T>(name: string, start: () => Promise<T> | T): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if (err instanceof StartupError || (err instanceof ServiceError && err.code === 'MODEL_INTEGRITY')) {
      process.stderr.write(`${name}: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
