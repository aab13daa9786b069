import type { Queue } from 'bullmq';

/**
 * Delays before the retries of one abandoned job's removal: 44 s in all, longer than a Redis
 * failover or a short freeze. An attempt that gets any answer ends it.
 */
const RETRY_DELAYS_MS = [1000, 3000, 10_000, 30_000];

/**
 * Sync jobs whose caller was already answered (503 or 504): removed from the queue, so a
 * worker that comes along later does not process a photo for nobody. A job a worker has taken
 * cannot be removed (BullMQ refuses while it is locked); the worker blanks its photo when done.
 *
 * During a Redis freeze the add itself may time out for us yet still run when Redis wakes up
 * (it is in the socket's buffer). So removal is issued only after the add has settled — on the
 * same connection, it reaches Redis after the add — and retried while Redis does not answer.
 */
export class AbandonedJobs {
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  /**
   * `added` is the add's own promise (it settles within the command timeout either way).
   * Resolves when the first attempt has an answer or has failed; retries go on in the background.
   */
  drop(queue: Queue, jobId: string, added: Promise<unknown>): Promise<void> {
    const attempt = (n: number): Promise<void> => {
      if (this.closed) return Promise.resolve();
      return queue.remove(jobId).then(
        () => undefined, // 1: removed (or never there); 0: a worker has it
        () => this.later(RETRY_DELAYS_MS[n], () => void attempt(n + 1)),
      );
    };
    return added.then(
      () => attempt(0),
      () => attempt(0),
    );
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private later(delayMs: number | undefined, fn: () => void): void {
    if (delayMs === undefined || this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }
}
