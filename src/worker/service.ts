import { Queue, Worker } from 'bullmq';
import { Registry } from 'prom-client';
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/logger.js';
import { verifyModels } from '../shared/model-manifest.js';
import { QUEUE_NAMES, queueOptions, workerConnection } from '../shared/queues.js';
import { startHeartbeat } from './heartbeat.js';
import { InferencePool } from './inference/pool.js';
import { runJob } from './job-runner.js';
import { WorkerMetrics } from './metrics.js';

export interface WorkerService {
  pool: InferencePool;
  metrics: WorkerMetrics;
  /** Stops taking jobs, lets active ones finish within `graceMs`, then releases everything. */
  close(graceMs?: number): Promise<void>;
}

/**
 * A worker process's moving parts: the inference pool, one BullMQ Worker per queue (the job
 * loop stays on this thread so locks are renewed even while every pool thread is busy), the
 * heartbeat and the metrics.
 */
export function startWorkerService(config: Config, logger: Logger, registry = new Registry()): WorkerService {
  const manifest = verifyModels(config.modelsDir);
  const pool = new InferencePool({ modelsDir: config.modelsDir, size: config.poolSize });
  const connection = workerConnection(config);
  const queues = QUEUE_NAMES.map((name) => new Queue(name, queueOptions(config, connection)));
  const metrics = new WorkerMetrics(registry, pool, queues);
  const deps = { config, pool, manifest, metrics };

  const workers = QUEUE_NAMES.map((name) => {
    const worker = new Worker(
      name,
      async (job) => {
        const end = metrics.jobDuration.startTimer({ name: job.name });
        try {
          const result = await runJob(job, deps);
          metrics.jobs.inc({ queue: name, name: job.name, outcome: 'completed' });
          return result;
        } catch (err) {
          metrics.jobs.inc({ queue: name, name: job.name, outcome: 'failed' });
          throw err;
        } finally {
          end();
        }
      },
      { ...queueOptions(config, workerConnection(config)), concurrency: config.workerConcurrency },
    );
    worker.on('failed', (job, err) =>
      logger.debug({ job: job?.id, name: job?.name, err: err.message }, 'job failed'),
    );
    worker.on('error', (err) => logger.error({ err }, 'worker error'));
    return worker;
  });
  const stopHeartbeat = startHeartbeat(connection, config, manifest);
  logger.info(
    { queues: QUEUE_NAMES, pool: config.poolSize, concurrency: config.workerConcurrency },
    'worker started',
  );

  return {
    pool,
    metrics,
    async close(graceMs = config.shutdownGraceMs) {
      await stopHeartbeat();
      const graceful = Promise.all(workers.map((w) => w.close()));
      const deadline = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
      if ((await Promise.race([graceful, deadline])) === 'timeout') {
        // Active jobs are abandoned, not lost: their locks expire and another worker takes them.
        logger.warn({ graceMs }, 'shutdown deadline passed; leaving active jobs to be retried');
        await Promise.all(workers.map((w) => w.close(true)));
      }
      await Promise.all(queues.map((q) => q.close()));
      await pool.close();
      connection.disconnect();
    },
  };
}
