import { Piscina } from 'piscina';
import { decodeError, ServiceError } from '../../shared/errors.js';
import type { CompareResponse } from '../../shared/schemas.js';
import type { ComparePack } from './compare.js';
import type { CompareOutcome, CompareTask } from './compare-task.js';

/**
 * /compare off the event loop. Parsing and ranking 24,000 references (242 MB of JSON) took
 * the API's loop for 2.5 s, stalling every other caller; on a thread the loop only moves the
 * body (transferred, not copied). Two threads: the machines we size for have two cores and the
 * worker needs them too. Idle threads exit after 30 s and never keep the process alive.
 */
const THREADS = 2;
/** Calls waiting for a thread beyond this are refused with 503 rather than piling up bodies. */
const MAX_QUEUE = 16;
const IDLE_MS = 30_000;

let pool: Piscina<CompareTask, CompareOutcome> | undefined;

export async function runCompare(
  body: ArrayBuffer,
  maxReferences: number,
  pack: ComparePack,
): Promise<CompareResponse> {
  pool ??= new Piscina({
    filename: new URL('./compare-task.js', import.meta.url).href,
    minThreads: 0,
    maxThreads: THREADS,
    maxQueue: MAX_QUEUE,
    idleTimeout: IDLE_MS,
  });
  if (pool.queueSize >= MAX_QUEUE) {
    throw new ServiceError('SERVICE_UNAVAILABLE', 'too many /compare calls in progress; retry shortly');
  }
  const bytes = new Uint8Array(body);
  const outcome = await pool.run({ bytes, maxReferences, pack }, { transferList: [body] });
  if (outcome.ok) return outcome.body;
  throw decodeError(outcome.error) ?? new ServiceError('INTERNAL_ERROR', 'compare failed');
}

/** Stops the threads (server shutdown); a later call starts new ones. */
export async function closeComparePool(): Promise<void> {
  const p = pool;
  pool = undefined;
  await p?.destroy();
}
