/**
 * A FerretDB of the test's own (scripts/ferretdb.mjs: built once from the Go proxy, cached), on
 * a free loopback port: a test may stop it under a running service without touching the server
 * MONGODB_URL names. undefined (with why) where FerretDB cannot be built.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './faces.js';

export interface PrivateMongo {
  url: string;
  stop(): Promise<void>;
}

interface FerretdbScript {
  ensureFerretdb(log?: (line: string) => void): { binary?: string; skipped?: string };
  startFerretdb(binary: string): Promise<PrivateMongo>;
}

export async function startPrivateFerretdb(): Promise<PrivateMongo | { skipped: string }> {
  const script = (await import(
    pathToFileURL(join(repoRoot, 'scripts', 'ferretdb.mjs')).href
  )) as FerretdbScript;
  const built = script.ensureFerretdb(() => undefined);
  if (!built.binary) return { skipped: built.skipped ?? 'FerretDB could not be built' };
  return script.startFerretdb(built.binary);
}
