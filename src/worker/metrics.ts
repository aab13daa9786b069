import { createServer, type Server } from 'node:http';
import { listenError } from '../shared/startup.js';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Queue } from 'bullmq';
import type { StageTimings } from '../shared/face-types.js';
import { DURATION_BUCKETS, METRICS } from '../shared/metrics-names.js';
import type { InferencePool } from './inference/pool.js';

export class WorkerMetrics {
  /**
   * outcome: completed; refused (completed, but the input was refused: a sync call's photo with
   * no face, a batch item's NO_FACE_DETECTED or DUPLICATE_PERSON); failed (an attempt failed).
   */
  readonly jobs: Counter<'queue' | 'name' | 'outcome'>;
  readonly items: Counter<'kind' | 'outcome' | 'result'>;
  readonly jobDuration: Histogram<'name'>;
  readonly webhooks: Counter<'event' | 'result'>;
  /** Templates in this worker's in-memory gallery; set once the gallery is built (see trackGallery). */
  private gallerySize: () => number | null = () => null;
  readonly stage: Histogram<'stage'>;

  constructor(
    readonly registry: Registry,
    pool: InferencePool,
    queues: Queue[],
  ) {
    const registers = [registry];
    this.jobs = new Counter({
      name: METRICS.jobs,
      help: 'Jobs processed, by queue, job name and outcome',
      labelNames: ['queue', 'name', 'outcome'],
      registers,
    });
    this.items = new Counter({
      name: METRICS.items,
      help: 'Batch items by batch kind, outcome code (ENROLLED, NO_FACE, DUPLICATE_PERSON, ...) and result (ok, refused, failed)',
      labelNames: ['kind', 'outcome', 'result'],
      registers,
    });
    this.webhooks = new Counter({
      name: METRICS.webhookDeliveries,
      help: 'Webhook delivery attempts by event and result (delivered, failed: will be retried or gave up, gone: 410)',
      labelNames: ['event', 'result'],
      registers,
    });
    const size = () => this.gallerySize();
    new Gauge({
      name: METRICS.galleryTemplates,
      help: "Templates in the worker's in-memory 1:N gallery (0 before it is loaded)",
      registers,
      collect() {
        this.set(size() ?? 0);
      },
    });
    this.jobDuration = new Histogram({
      name: METRICS.jobDuration,
      help: 'Job processing time',
      labelNames: ['name'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.stage = new Histogram({
      name: METRICS.stageDuration,
      help: 'Time per pipeline stage per photo',
      labelNames: ['stage'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    new Gauge({
      name: METRICS.poolUtilization,
      help: 'Share of the inference pool busy since start (0-1)',
      registers,
      collect() {
        this.set(pool.utilization);
      },
    });
    new Gauge({
      name: METRICS.poolQueue,
      help: 'Tasks waiting for a pool thread',
      registers,
      collect() {
        this.set(pool.queueSize);
      },
    });
    new Gauge({
      name: METRICS.queueDepth,
      help: 'Jobs in each queue by state',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        for (const q of queues) {
          const counts = await q.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed');
          for (const [state, n] of Object.entries(counts)) this.set({ queue: q.name, state }, n);
        }
      },
    });
  }

  /**
   * One batch item's outcome: `ok` (enrolled, embedded, processed), `refused` (the input: no
   * face, a duplicate, an unreadable photo: a completed job) or `failed` (retries spent: the
   * system). Outcome codes are the error registry's, a bounded set.
   */
  countItem(kind: string, outcome: string, result: 'ok' | 'refused' | 'failed'): void {
    this.items.inc({ kind, outcome, result });
  }

  trackGallery(size: () => number | null): void {
    this.gallerySize = size;
  }

  observeStages(timings: StageTimings): void {
    for (const [stage, ms] of Object.entries(timings)) this.stage.observe({ stage }, ms / 1000);
  }
}

/**
 * A bare HTTP server for /metrics: the worker has no web framework and needs none. Resolves once
 * listening; a busy WORKER_METRICS_PORT rejects with a one-line StartupError.
 */
export async function serveMetrics(registry: Registry, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry
      .metrics()
      .then((body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body))
      .catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(listenError(err, 'worker metrics', 'WORKER_METRICS_PORT', host, port)),
    );
    server.listen(port, host, resolve);
  });
  return server;
}
