import { Gauge, type Registry } from 'prom-client';
import { METRICS } from '../shared/metrics-names.js';
import type { ApiDeps } from './deps.js';

/**
 * What the API sees of the workers: how many heartbeats are live. Read at scrape time; a Redis
 * that does not answer within 1 s reads as 0 (no worker the API can reach), so a "workers down"
 * alert also fires when the workers' Redis is gone.
 */
export function gatewayMetrics(registry: Registry, workers: ApiDeps['workers']): void {
  new Gauge({
    name: METRICS.workersAlive,
    help: 'Worker processes with a live heartbeat, as the API sees them',
    registers: [registry],
    async collect() {
      const late = new Promise<unknown[]>((r) => setTimeout(() => r([]), 1000).unref());
      const announced = await Promise.race([workers.announcements().catch(() => []), late]);
      this.set(announced.length);
    },
  });
}
