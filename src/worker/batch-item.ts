import { ServiceError } from '../shared/errors.js';
import type { ItemJobResult } from '../shared/jobs/index.js';
import type { ProcessorDeps } from './processors/types.js';

export interface ItemOutcome {
  outcome: string;
  ok: boolean;
  detail: Record<string, unknown>;
}

/**
 * Refuses a whole item with `cause`'s code, message and details, and records `extra` beside them
 * (e.g. the outcome of each of a person's photos, which the flat error details cannot carry).
 */
export class ItemRefused extends ServiceError {
  constructor(
    cause: ServiceError,
    readonly extra: Record<string, unknown>,
  ) {
    super(cause.code, cause.message, cause.details);
  }
}

/**
 * Batches this process has seen past `queued`, per store: a batch never goes back to queued, so
 * its other items need not read it again (one store read per item was 1 of 9.6 store calls of an
 * enrollment item). Bounded: cleared at STARTED_MEMO_MAX, after which a batch is read once more.
 */
const started = new WeakMap<object, Map<string, string>>();
const STARTED_MEMO_MAX = 10_000;

/** Marks the batch active if it is still queued; returns its type (for the item metric). */
async function markStarted(deps: ProcessorDeps, jobId: string): Promise<string> {
  let seen = started.get(deps.store);
  if (!seen) started.set(deps.store, (seen = new Map<string, string>()));
  const known = seen.get(jobId);
  if (known) return known;
  const batch = await deps.store.getJob(jobId);
  if (batch?.status === 'queued') {
    await deps.store.updateJob(jobId, { status: 'active', started_at: new Date().toISOString() });
  }
  if (seen.size >= STARTED_MEMO_MAX) seen.clear();
  if (batch) seen.set(jobId, batch.type);
  return batch?.type ?? 'unknown';
}

/** How often BullMQ has started the item's job (1 on its first run; retries and stalls add one). */
export interface ItemRun {
  attemptsStarted: number;
}

/**
 * The life of one batch item: mark the batch active, run `work`, record the outcome in the
 * store, and delete the item's photos. Bad input (no face, a duplicate, an unreadable photo) is
 * the item's outcome: recorded and returned, so BullMQ completes the job — a BullMQ failure means
 * the system failed (retries spent), which is what a failed-job alert is for. Transient faults
 * are rethrown with the photos kept for the retry.
 * An item whose outcome is already recorded (its worker died after recording it, before BullMQ
 * heard) is not run again: the first outcome stands, and its photos may already be gone.
 * A photo that cannot be deleted does not fail the item: its outcome is recorded, and the
 * batch's own deletion (retried by a clean-up job) removes the photo with the batch's folder.
 * On a job's first start (`run.attemptsStarted` 1) no outcome can be recorded yet (only a run of
 * this job, or the parent after the job gave up, records one), so the store is not asked.
 */
export async function runItem(
  deps: ProcessorDeps,
  item: { job_id: string; index: number; ref: string | null; photos: string[] },
  work: () => Promise<ItemOutcome>,
  run?: ItemRun,
): Promise<ItemJobResult> {
  if (!run || run.attemptsStarted > 1) {
    const done = await deps.store.getItemResult(item.job_id, item.index);
    if (done) return { outcome: done.outcome, ok: done.ok };
  }
  const kind = await markStarted(deps, item.job_id);
  let result: ItemOutcome;
  try {
    result = await work();
  } catch (err) {
    if (!(err instanceof ServiceError) || err.retryable) throw err;
    result = {
      outcome: err.code,
      ok: false,
      detail: { error: err.message, ...err.details, ...(err instanceof ItemRefused ? err.extra : {}) },
    };
  }
  await finish(deps, item, result);
  deps.metrics?.countItem(kind, result.outcome, result.ok ? 'ok' : 'refused');
  return { outcome: result.outcome, ok: result.ok };
}

async function finish(
  deps: ProcessorDeps,
  item: { job_id: string; index: number; ref: string | null; photos: string[] },
  result: ItemOutcome,
): Promise<void> {
  await deps.store.putItemResult({
    job_id: item.job_id,
    index: item.index,
    ref: item.ref,
    outcome: result.outcome,
    ok: result.ok,
    detail: result.detail,
    finished_at: new Date().toISOString(),
  });
  if (deps.config.keepPhotos) return;
  const deletes = await Promise.allSettled(item.photos.map((key) => deps.blobs.delete(key)));
  const failed = deletes.find((d): d is PromiseRejectedResult => d.status === 'rejected');
  if (failed) {
    deps.logger.warn(
      { job: item.job_id, index: item.index, err: failed.reason as unknown },
      "could not delete the item's photos; the batch's clean-up will",
    );
  }
}

/** Reads an item's photo; gone means erased (or already processed and cleaned up). */
export async function readPhoto(deps: ProcessorDeps, key: string): Promise<Buffer> {
  const bytes = await deps.blobs.get(key);
  if (!bytes) throw new ServiceError('INVALID_IMAGE', 'the photo is no longer stored (erased or expired)');
  return bytes;
}
