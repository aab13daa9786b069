import type { RedisClient } from '../shared/redis-client.js';
import { HEARTBEAT_EVERY_MS, HEARTBEAT_TTL_S } from '../shared/worker-heartbeat.js';

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
  /** Workers whose last heartbeat is younger than its TTL. */
  alive: number;
  /**
   * Workers whose heartbeat advanced within WORKER_SILENT_MS of watched time (what /health
   * lists): a SIGKILLed one drops out after ~4 s, not when its 15 s TTL ends.
   */
  live: string[];
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
  /** Per worker id: its last beat seen, and the watched time since it last advanced. */
  private readonly beats = new Map<string, { score: number; silentMs: number }>();

  constructor(
    private readonly redis: RedisClient,
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
    const step = Math.min(now - this.sampledAt, MAX_WATCHED_STEP_MS);
    if (newest !== this.newestBeat) {
      this.newestBeat = newest;
      this.silentMs = 0;
    } else {
      this.silentMs += step;
    }
    this.sampledAt = now;
    const live: string[] = [];
    const present = new Set<string>();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const id = flat[i] as string;
      const score = Number(flat[i + 1]);
      present.add(id);
      const prev = this.beats.get(id);
      // First seen: as silent as it is behind the newest beat (both on the workers' clocks).
      const silentMs = !prev ? newest - score : prev.score !== score ? 0 : prev.silentMs + step;
      this.beats.set(id, { score, silentMs });
      if (silentMs < WORKER_SILENT_MS) live.push(id);
    }
    for (const id of this.beats.keys()) if (!present.has(id)) this.beats.delete(id);
    return { alive: flat.length / 2, live, silent: this.silentMs >= WORKER_SILENT_MS };
  }
}
