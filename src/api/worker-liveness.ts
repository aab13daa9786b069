import type { Redis } from 'ioredis';
import { HEARTBEAT_EVERY_MS, HEARTBEAT_TTL_S } from '../shared/queues.js';

/**
 * No heartbeat from any worker for this long (of time the API watched) means no worker is left
 * to run a sync job: 4 missed beats. A SIGKILLed worker's heartbeat key lingers for its TTL
 * (15 s), so without this a sync call waited the whole SYNC_TIMEOUT_MS (30 s) for a 504; with
 * it the call gets 503 ~4 s after the kill (4.04-4.08 s, test/e2e/worker-death.test.ts).
 */
export const WORKER_SILENT_MS = 4 * HEARTBEAT_EVERY_MS;
/** Samples are shared by every request asking within this long: one Redis call, not one each. */
const SAMPLE_REUSE_MS = 500;
/**
 * At most this much of the time between two samples counts as watched silence. When the API's
 * own event loop stalls (a large /compare body parsed in an all-in-one process stalls the
 * worker's heartbeat timer too), nobody watched; that gap must not condemn the workers.
 */
const MAX_WATCHED_STEP_MS = 1500;

export interface Liveness {
  /** Workers whose last heartbeat is younger than its TTL (what /health lists). */
  alive: number;
  /** No heartbeat seen to advance for WORKER_SILENT_MS of watched time: every worker is gone. */
  silent: boolean;
}

/**
 * What the API knows about the workers, from the heartbeat sorted set (worker id -> time of
 * its last beat). Silence is judged on the API's clock from when the newest beat stops
 * changing, so clock skew between the API's and the workers' hosts plays no part in it.
 */
export class WorkerLiveness {
  private sample: { at: number; value: Promise<Liveness> } | undefined;
  private newestBeat = -1;
  private silentMs = 0;
  private sampledAt = 0;

  constructor(
    private readonly redis: Redis,
    private readonly setKey: string,
  ) {}

  /** Throws when Redis does not answer (the API connection's command timeout). */
  check(): Promise<Liveness> {
    const now = Date.now();
    if (this.sample && now - this.sample.at < SAMPLE_REUSE_MS) return this.sample.value;
    const value = this.read();
    this.sample = { at: now, value };
    return value;
  }

  private async read(): Promise<Liveness> {
    const since = Date.now() - HEARTBEAT_TTL_S * 1000;
    const flat = await this.redis.zrangebyscore(this.setKey, since, '+inf', 'WITHSCORES');
    let newest = 0;
    for (let i = 1; i < flat.length; i += 2) newest = Math.max(newest, Number(flat[i]));
    const now = Date.now();
    if (newest !== this.newestBeat) {
      this.newestBeat = newest;
      this.silentMs = 0;
    } else {
      this.silentMs += Math.min(now - this.sampledAt, MAX_WATCHED_STEP_MS);
    }
    this.sampledAt = now;
    return { alive: flat.length / 2, silent: this.silentMs >= WORKER_SILENT_MS };
  }
}
