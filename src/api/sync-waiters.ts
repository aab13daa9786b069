import type { QueueEvents } from 'bullmq';
import type { RedisClient } from '../shared/redis-client.js';

export type SyncOutcome =
  { ok: true; value: unknown } | { ok: false; reason: string } | { ok: false; timeout: true };

interface Waiter {
  resolve: (outcome: SyncOutcome) => void;
  timer: NodeJS.Timeout;
}

/**
 * Requests waiting for their job's result. One listener on the queue's event stream settles
 * the waiter by job id, then deletes that event: the event carries the result (an embedding),
 * and the service keeps no copy of what it answered. The waiter is registered before the job
 * is added (its id is chosen by us), so a fast job cannot finish unseen.
 */
export class SyncWaiters {
  private readonly waiting = new Map<string, Waiter>();

  constructor(
    events: QueueEvents,
    private readonly redis: RedisClient,
    private readonly eventsKey: string,
  ) {
    events.on('completed', ({ jobId, returnvalue }, id) =>
      this.settle(jobId, id, { ok: true, value: returnvalue }),
    );
    events.on('failed', ({ jobId, failedReason }, id) =>
      this.settle(jobId, id, { ok: false, reason: failedReason }),
    );
  }

  /** Settles with the job's result, or with `timeout` at `deadline` (ms since the epoch). */
  wait(jobId: string, deadline: number): Promise<SyncOutcome> {
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          this.waiting.delete(jobId);
          resolve({ ok: false, timeout: true });
        },
        Math.max(0, deadline - Date.now()),
      );
      this.waiting.set(jobId, { resolve, timer });
    });
  }

  cancel(jobId: string): void {
    const w = this.waiting.get(jobId);
    if (w) clearTimeout(w.timer);
    this.waiting.delete(jobId);
  }

  private settle(jobId: string, eventId: string, outcome: SyncOutcome): void {
    const w = this.waiting.get(jobId);
    if (!w) return;
    this.waiting.delete(jobId);
    clearTimeout(w.timer);
    w.resolve(outcome);
    this.redis.xdel(this.eventsKey, eventId).catch(() => undefined);
  }
}
