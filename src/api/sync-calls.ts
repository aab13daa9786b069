import { randomUUID } from 'node:crypto';
import type { JobsOptions, Queue, QueueEvents } from 'bullmq';
import type { RedisClient } from '../shared/redis-client.js';
import type { Config } from '../shared/config.js';
import { decodeError, ServiceError } from '../shared/errors.js';
import { isSyncRefusal } from '../shared/jobs/index.js';
import { SYNC_QUEUE } from '../shared/jobs/queues.js';
import { COMMAND_TIMEOUT_MS } from '../shared/redis-connections.js';
import { HEARTBEAT_EVERY_MS } from '../shared/worker-heartbeat.js';
import { AbandonedJobs } from './abandoned-jobs.js';
import { unavailable, unavailableOnError, within } from './redis-errors.js';
import { SyncWaiters, type SyncOutcome } from './sync-waiters.js';
import { WORKER_SILENT_MS, type WorkerLiveness } from './worker-liveness.js';

/** How long a 503/504 waits for its job's removal (which goes on in the background after). */
const ABANDON_WAIT_MS = 500;

/** One step of a sync call: whichever comes first of these settles it. */
type Step =
  | { kind: 'added' }
  | { kind: 'failed'; error: unknown }
  | { kind: 'outcome'; outcome: SyncOutcome }
  | { kind: 'no-worker'; error: ServiceError };

/** A sync call's progress, read by the steps running beside it. */
interface Call {
  answered: boolean;
  addSent: boolean;
}

/**
 * Sync calls (/embed, /identify): a job a caller waits for. Each answers by its deadline, always:
 * before the fix a frozen Redis held them for the whole freeze and a dead worker for the full
 * SYNC_TIMEOUT_MS (test/security/redis-freeze.test.ts, test/e2e/worker-death.test.ts).
 */
export class SyncCalls {
  private readonly waiters: SyncWaiters;
  private readonly abandoned = new AbandonedJobs();

  constructor(
    config: Config,
    redis: RedisClient,
    private readonly events: QueueEvents,
    private readonly liveness: WorkerLiveness,
  ) {
    this.waiters = new SyncWaiters(events, redis, `${config.keyPrefix}:${SYNC_QUEUE}:events`);
  }

  /**
   * Enqueues a high-priority job on `queue` (with `opts`, the registry's options for `name`) and
   * waits for its result, or throws the job's typed
   * error. Answers within `timeoutMs` of `arrivedAt` (when the request arrived) whatever Redis does:
   * 504 TIMEOUT then, 503 sooner when no worker is left to run the job or Redis stops
   * answering. A job whose caller got 503/504 is removed if no worker has taken it yet.
   */
  async run(
    queue: Queue,
    name: string,
    data: unknown,
    opts: JobsOptions,
    timeoutMs: number,
    arrivedAt: number,
  ): Promise<unknown> {
    const deadline = arrivedAt + timeoutMs;
    const jobId = randomUUID();
    // Armed before the first Redis call: its timer is the deadline, however long Redis takes.
    const outcome = this.waiters.wait(jobId, deadline);
    const call: Call = { answered: false, addSent: false };
    const added = this.enqueue(queue, name, data, { ...opts, jobId }, call);
    const settled = outcome.then((o): Step => ({ kind: 'outcome', outcome: o }));
    let step = await Promise.race([
      added.then(
        (): Step => ({ kind: 'added' }),
        (error: unknown): Step => ({ kind: 'failed', error }),
      ),
      settled,
    ]);
    if (step.kind === 'added') step = await Promise.race([settled, this.noWorkerLeft(call, jobId)]);
    call.answered = true;
    this.waiters.cancel(jobId);
    const result = step.kind === 'outcome' ? step.outcome : undefined;
    if (result?.ok) {
      await this.discard(queue, jobId);
      const value: unknown = typeof result.value === 'string' ? JSON.parse(result.value) : result.value;
      // A refusal (no face...) completes the job (so it is not a failed job) and is thrown here.
      if (isSyncRefusal(value))
        throw decodeError(value.refused) ?? new ServiceError('INTERNAL_ERROR', 'the job failed');
      return value;
    }
    if (result && 'reason' in result) {
      await this.discard(queue, jobId);
      throw decodeError(result.reason) ?? new ServiceError('INTERNAL_ERROR', 'the job failed');
    }
    // Answered before the job ran: nobody will read its result, so no worker should compute it.
    // The answer waits briefly for the removal (ms while Redis answers), never past the deadline.
    if (call.addSent) {
      const removing = this.abandoned.drop(queue, jobId, added);
      await within(Math.min(ABANDON_WAIT_MS, Math.max(0, deadline - Date.now())), removing).catch(
        () => undefined,
      );
    }
    if (step.kind === 'failed' || step.kind === 'no-worker') throw step.error;
    throw new ServiceError('TIMEOUT', `no result within ${timeoutMs} ms`, { job_id: jobId });
  }

  /** Checks that a worker is alive, then adds the job — unless the call was answered meanwhile. */
  private async enqueue(
    queue: Queue,
    name: string,
    data: unknown,
    opts: JobsOptions & { jobId: string },
    call: Call,
  ): Promise<void> {
    const { alive, silent } = await unavailableOnError(() => this.liveness.check());
    if (alive === 0 || silent) {
      throw new ServiceError('SERVICE_UNAVAILABLE', 'no worker is running; try again shortly');
    }
    await unavailableOnError(() => within(COMMAND_TIMEOUT_MS, this.events.waitUntilReady()));
    if (call.answered) return;
    call.addSent = true;
    await unavailableOnError(() => queue.add(name, data, opts), { job_id: opts.jobId });
  }

  /**
   * Resolves once no worker is left to run the job (every heartbeat silent for WORKER_SILENT_MS,
   * e.g. the only worker was SIGKILLed) or Redis stops answering; never while the call waits
   * on live workers. Checked every heartbeat interval (one shared Redis read per 0.5 s).
   */
  private noWorkerLeft(call: Call, jobId: string): Promise<Step> {
    return new Promise((resolve) => {
      const tick = () => {
        if (call.answered) return;
        this.liveness.check().then(
          ({ alive, silent }) => {
            if (alive > 0 && !silent) return schedule();
            const why = `no live worker took the job (no heartbeat for ${WORKER_SILENT_MS / 1000} s); try again shortly`;
            resolve({
              kind: 'no-worker',
              error: new ServiceError('SERVICE_UNAVAILABLE', why, { job_id: jobId }),
            });
          },
          () => resolve({ kind: 'no-worker', error: unavailable({ job_id: jobId }) }),
        );
      };
      const schedule = () => {
        if (!call.answered) setTimeout(tick, HEARTBEAT_EVERY_MS).unref();
      };
      schedule();
    });
  }

  close(): void {
    this.abandoned.close();
  }

  /** The job's photo must not outlive the answer; retention is the backstop if this fails. */
  private async discard(queue: Queue, jobId: string): Promise<void> {
    await queue.remove(jobId).catch(() => undefined);
  }
}
