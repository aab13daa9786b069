import type { RedisClient } from '../shared/redis-client.js';
import type { Config } from '../shared/config.js';
import { workerHeartbeatKey } from '../shared/worker-heartbeat.js';
import { unavailableOnError } from './redis-errors.js';
import type { WorkerLiveness } from './worker-liveness.js';

/** The workers as the API sees them: what each live one announced in its heartbeat. */
export class WorkerRegistry {
  constructor(
    private readonly redis: RedisClient,
    private readonly config: Config,
    private readonly liveness: WorkerLiveness,
  ) {}

  /** What each live worker announced (a SIGKILLed one is left out ~4 s after its last beat). */
  async announcements(): Promise<unknown[]> {
    const { live } = await unavailableOnError(() => this.liveness.check());
    if (live.length === 0) return [];
    const keys = live.map((id) => workerHeartbeatKey(this.config, id));
    const values = await unavailableOnError(() => this.redis.mget(...keys));
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as unknown);
  }
}
