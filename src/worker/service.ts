import { join } from 'node:path';
import { Worker } from 'bullmq';
import { checkRedisMode, type RedisClient } from '../shared/redis-client.js';
import sharp from 'sharp';
import { Registry } from 'prom-client';
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/logger.js';
import { decodeError } from '../shared/errors.js';
import { galleryStreamKey } from '../shared/gallery-stream.js';
import { BullJobProducer } from '../shared/jobs/bullmq-producer.js';
import { isSyncRefusal, JOBS, UNKNOWNS_GROUP_JOB } from '../shared/jobs/index.js';
import { retryDelay } from '../shared/jobs/options.js';
import { QUEUE_NAMES, queueOptions, SYNC_QUEUE, type QueueName } from '../shared/jobs/queues.js';
import { workerConnection } from '../shared/redis-connections.js';
import { loadOpenSet } from '../shared/model-manifest.js';
import { openPersistence, type Persistence } from '../shared/store/index.js';
import { afterGivingUp, gaveUp } from './gave-up.js';
import { GallerySync, snapshotName } from './matching/gallery-sync.js';
import { analyseOptions } from './processors/analyse-options.js';
import type { ProcessorDeps } from './processors/types.js';
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

/** A plain grey 320x240 JPEG: enough to load every thread's sessions. */
async function warmUpImage(): Promise<Uint8Array> {
  return sharp({ create: { width: 320, height: 240, channels: 3, background: '#808080' } })
    .jpeg()
    .toBuffer();
}

/**
 * Inference is bounded by the pool; batch parents and clean-ups are bookkeeping; webhooks mostly
 * wait on the network. Sync jobs and batch items each get WORKER_CONCURRENCY: when one queue
 * was shared, a sync call outranked queued items (BullMQ priority) but waited for an item to
 * finish before a slot was free; now it has slots of its own while a batch keeps the others
 * busy, and the pool gives its photo the next free thread (the `sync` lane, inference/pool.ts).
 */
const CONCURRENCY: Record<QueueName, (c: Config) => number> = {
  inference: (c) => c.workerConcurrency,
  items: (c) => c.workerConcurrency,
  batch: () => 4,
  webhooks: () => 16,
  // Grouping unknown faces is serial by design (src/shared/unknowns.ts); the queue's global
  // concurrency (set below) holds it to one job across every worker process.
  unknowns: () => 1,
};

/** A job that completed with a refusal: a sync call's, or a batch item's `ok: false` outcome. */
const refusedInput = (result: unknown) =>
  isSyncRefusal(result) ||
  (typeof result === 'object' && result !== null && (result as { ok?: unknown }).ok === false);

export interface WorkerOptions {
  /**
   * Wraps the opened store and blob store (tests use it to inject faults into the real ones);
   * its `close` must close the wrapped persistence.
   */
  wrapPersistence?: (persistence: Persistence) => Persistence;
}

/**
 * A worker process's moving parts: the inference pool, one BullMQ Worker per queue (the job
 * loop stays on this thread so locks are renewed even while every pool thread is busy), the
 * heartbeat and the metrics.
 */
export async function startWorkerService(
  config: Config,
  logger: Logger,
  registry = new Registry(),
  options: WorkerOptions = {},
): Promise<WorkerService> {
  await checkRedisMode(config);
  // The pool verifies the model files first: a bad model stops start-up before anything opens.
  const pool = new InferencePool({ modelsDir: config.modelsDir, size: config.poolSize });
  const { manifest } = pool;
  const opened = await openPersistence(config);
  const persistence = options.wrapPersistence ? options.wrapPersistence(opened) : opened;
  const connection = workerConnection(config);
  const producer = new BullJobProducer(config, connection);
  await producer.queue(JOBS[UNKNOWNS_GROUP_JOB].queue).setGlobalConcurrency(1);
  const metrics = new WorkerMetrics(registry, pool, [...producer.queues.values()]);
  const gallery = new GallerySync(
    persistence.store,
    connection,
    galleryStreamKey(config),
    manifest.embedding_dim,
    logger,
    {
      index: {
        int8: config.galleryInt8,
        int8Range: manifest.quantisation.int8_range,
        scanThreads: config.galleryScanThreads,
        // 0 = every row of every group; 'auto' and N as GalleryIndex takes them.
        prefilter: config.galleryPrefilter === 0 ? Number.POSITIVE_INFINITY : config.galleryPrefilter,
        exactCacheBytes: Math.floor(config.galleryExactCacheMb * 2 ** 20),
      },
      model: manifest.embedding_model_id,
      ...(config.gallerySnapshotDir
        ? {
            snapshotPath: join(
              config.gallerySnapshotDir,
              `${snapshotName(manifest.embedding_model_id)}.snapshot`,
            ),
          }
        : {}),
    },
  );
  metrics.trackGallery(() => gallery.loadedSize);
  const openSet = loadOpenSet(config.modelsDir, manifest);
  const deps: ProcessorDeps = {
    config,
    pool: pool.lane('batch'),
    manifest,
    openSet,
    metrics,
    jobs: producer,
    gallery,
    logger,
    store: persistence.store,
    blobs: persistence.blobs,
  };

  // Sync jobs (the `inference` queue: a caller waits) run before queued items in the pool.
  const depsOf = (queue: QueueName): ProcessorDeps =>
    queue === SYNC_QUEUE ? { ...deps, pool: pool.lane('sync') } : deps;

  // Load every thread's ONNX sessions before taking jobs, so the first ones are not slow.
  await pool.warmUp(await warmUpImage(), analyseOptions(config, 'largest'));
  // BullMQ does not close connections it is handed: keep them to close on shutdown.
  const workerConnections = QUEUE_NAMES.map(() => workerConnection(config));
  /** What runs after a job gave up (see gave-up.ts); close() lets it finish before the queues close. */
  const afterwards = new Set<Promise<void>>();
  const workers = QUEUE_NAMES.map((name, i) => {
    const jobDeps = depsOf(name);
    const worker = new Worker(
      name,
      async (job) => {
        const end = metrics.jobDuration.startTimer({ name: job.name });
        try {
          const result = await runJob(job, jobDeps);
          metrics.jobs.inc({
            queue: name,
            name: job.name,
            outcome: refusedInput(result) ? 'refused' : 'completed',
          });
          return result;
        } catch (err) {
          metrics.jobs.inc({ queue: name, name: job.name, outcome: 'failed' });
          throw err;
        } finally {
          end();
        }
      },
      {
        ...queueOptions(config, workerConnections[i] as RedisClient),
        concurrency: CONCURRENCY[name](config),
        lockDuration: config.jobLockMs,
        stalledInterval: config.stalledIntervalMs,
        maxStalledCount: config.maxStalledCount,
        settings: {
          // Webhooks follow the configured schedule, clean-ups a capped exponential; others use BullMQ's built-ins.
          backoffStrategy: (attemptsMade: number, type?: string) => retryDelay(config, attemptsMade, type),
        },
      },
    );
    worker.on('failed', (job, err) => {
      logger.debug({ job: job?.id, name: job?.name, err: err.message }, 'job failed');
      if (job && gaveUp(job)) {
        const known = decodeError(err.message);
        // A refusal (a sync call's photo with no face) is the caller's answer, not a fault.
        const refused = known !== undefined && known.status < 500;
        logger[refused ? 'debug' : 'warn'](
          {
            job: job.id,
            name: job.name,
            attempts: job.attemptsMade,
            error_code: known?.code ?? 'INTERNAL_ERROR',
            err: known?.message ?? err.message,
          },
          refused ? 'job refused' : 'job failed for good',
        );
        const handled = afterGivingUp(job, err, deps)
          .catch((e: unknown) =>
            logger.error({ job: job.id, name: job.name, err: e }, 'could not handle a job that gave up'),
          )
          .finally(() => afterwards.delete(handled));
        afterwards.add(handled);
      }
    });
    worker.on('error', (err) => logger.error({ err }, 'worker error'));
    return worker;
  });
  const stopHeartbeat = startHeartbeat(connection, config, manifest, () => gallery.loadedSize);
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
      await Promise.allSettled([...afterwards]);
      await gallery.settled();
      await producer.close();
      await pool.close();
      await persistence.close();
      connection.disconnect();
      for (const c of workerConnections) c.disconnect();
    },
  };
}
