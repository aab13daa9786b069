import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { mongoDatabaseName } from './store/unavailable.js';
import { StartupError } from './startup.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MB = 1024 * 1024;
const int = (def: number) => z.coerce.number().int().positive().default(def);
const rate = (def: number) => z.coerce.number().gt(0).lt(1).default(def);
const list = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  );

/**
 * Every setting, read from the environment once at start-up. Defaults are declared here, next
 * to the variable, and listed in the README.
 */
const Env = z.object({
  HOST: z.string().default('127.0.0.1'),
  /** 8000: the port the integration guide's examples call. */
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  REDIS_URL: z.string().url().optional(),
  /** Prefix of every Redis key, so several deployments (or test runs) can share one Redis. */
  KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/)
    .default('shelia'),
  API_KEYS: list,
  /** sha256 hex of API keys, for deployments that do not want keys in plain text in the environment. */
  API_KEY_HASHES: list.pipe(
    z.array(
      z.string().regex(/^[0-9a-fA-F]{64}$/, 'each entry must be the sha256 of a key, as 64 hex digits'),
    ),
  ),
  POOL_SIZE: int(availableParallelism()),
  /** Jobs in flight per worker process; 0 = 2 x pool size, so a thread never idles between jobs. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(0).default(0),
  MAX_BODY_BYTES: int(15 * MB),
  /** /compare carries embeddings as JSON: ~10 KB per reference, so it gets its own, larger limit. */
  MAX_COMPARE_BODY_BYTES: int(256 * MB),
  MAX_IMAGE_PIXELS: int(25_000_000),
  /**
   * Longest side the detector works at: a bigger photo is detected as if shrunk to it, so a 4K
   * frame's detection costs a 1080p frame's. Faces are still embedded from the full-resolution
   * decode (bounded by MAX_IMAGE_PIXELS): shrunk, 4K faces of 54-117 px matched 85.8 % vs 95.0 %.
   */
  MAX_DECODE_SIDE: int(1920),
  TILING: z.enum(['auto', 'off']).default('auto'),
  MAX_REFERENCES: int(100_000),
  /** The guide's clients time out after 30 s. */
  SYNC_TIMEOUT_MS: int(30_000),
  SHUTDOWN_GRACE_MS: int(30_000),
  /**
   * BullMQ job lock and stalled-job check (both 30 s by default): after a worker dies, its
   * active jobs go back to the queue within about lock + interval. Shorter means faster recovery
   * but a worker whose event loop stalls that long would see its jobs run twice.
   */
  JOB_LOCK_MS: int(30_000),
  STALLED_INTERVAL_MS: int(30_000),
  /**
   * How often a job may be found stalled (its worker died holding it) and handed on before it
   * fails. BullMQ's default 1 failed a job whose worker was killed twice, with retries left (1
   * of 714 items with a kill every 3 s); 3 covers that, and a job that kills every worker it
   * touches (a poison photo) still ends after 4 workers.
   */
  MAX_STALLED_COUNT: int(3),
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9101),
  MODELS_DIR: z.string().default(resolve(repoRoot, 'models')),
  /** SQLite database and photo blobs of the embedded default. */
  DATA_DIR: z.string().default(resolve(repoRoot, 'data')),
  /**
   * When set, the store is MongoDB (photos in GridFS) instead of SQLite. It must name the
   * database (`mongodb://host:27017/shelia`): the driver's silent default is `test`.
   */
  MONGODB_URL: z
    .string()
    .refine((u) => /^mongodb(\+srv)?:\/\//.test(u), 'must start with mongodb:// or mongodb+srv://')
    .refine((u) => mongoDatabaseName(u) !== '', 'must name the database, e.g. mongodb://host:27017/shelia')
    .optional(),
  /**
   * How long a MongoDB operation may wait for a reachable server before it fails (the API then
   * answers 503 SERVICE_UNAVAILABLE); the driver's default is 30 s of silence.
   */
  MONGODB_TIMEOUT_MS: int(5000),
  /** 1:N index keeps int8 vectors (512 B/template) to re-rank in memory; false for ~10M templates. */
  GALLERY_INT8: z.enum(['true', 'false']).default('true'),
  /** Where workers keep their gallery snapshot (default DATA_DIR/gallery); 'off' = none. */
  GALLERY_SNAPSHOT_DIR: z.string().optional(),
  /** Keep uploaded photos after their job finishes (default: deleted). */
  KEEP_PHOTOS: z.enum(['true', 'false']).default('false'),
  MAX_BATCH_ITEMS: int(1000),
  /** Batch uploads carry many photos: 200 MiB is ~1,000 phone photos of 150 KB as base64. */
  MAX_BATCH_BODY_BYTES: int(200 * MB),
  /** Enrollment quality gates: face box height (px), sharpness (Laplacian variance), detector score. */
  MIN_FACE_SIZE: int(60),
  MIN_SHARPNESS: z.coerce.number().nonnegative().default(15),
  MIN_DETECTION_SCORE: z.coerce.number().min(0).max(1).default(0.8),
  /**
   * A face matching another enrolled user at the duplicate gate's threshold: warn (enroll, with
   * the look-alike named) or reject. warn by default: even at a 0.5 % target some distinct
   * people are flagged (bench:openset), and refusing a real person is worse than a warning.
   */
  DUPLICATE_POLICY: z.enum(['warn', 'reject']).default('warn'),
  /**
   * Open-set targets: the share of people not enrolled that a 1:N decision may match to
   * someone (FPIR), whatever the gallery size; thresholds follow from the model's measured
   * impostor distances (src/shared/open-set.ts). 1 % for identification and attendance; the
   * duplicate gate 0.5 %, so that at most ~1 % of distinct people are flagged.
   */
  IDENTIFY_TARGET_FPIR: rate(0.01),
  ATTENDANCE_TARGET_FPIR: rate(0.01),
  DUPLICATE_TARGET_FPIR: rate(0.005),
  /**
   * Standard Webhooks secret (whsec_...) for batch webhook_urls that bring no webhook_secret of
   * their own and are not a registered endpoint's URL; without any of the three such a batch is
   * refused (WEBHOOK_SECRET_REQUIRED): a secret generated and returned in the 202 could lose the
   * race against the first delivery (~100 ms later).
   */
  WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/=]+$/)
    .optional(),
  /** Delays between webhook attempts (ms); attempts = entries + 1. */
  WEBHOOK_RETRY_SCHEDULE_MS: z
    .string()
    .default('5000,30000,120000,600000,1800000,3600000')
    .transform((s) => s.split(',').map((v) => Number(v.trim())))
    .pipe(z.array(z.number().int().nonnegative()).min(1)),
  WEBHOOK_TIMEOUT_MS: int(10_000),
  /** Hosts or CIDRs webhooks may target even though they are loopback/private (e.g. 127.0.0.1). */
  WEBHOOK_ALLOW: list,
  /** Sightings of one person by one camera closer than this make one attendance record. */
  ATTENDANCE_WINDOW_MS: int(5 * 60_000),
  /**
   * Attempts of a batch's final step (1 s, doubling): 8 retries it for 1+2+...+64 = 127 s, so a
   * store or Redis fault of a minute or two still ends with the batch's real status. A parent
   * that gives up leaves the batch `failed` with a `failure_reason` (see the batch clean-up job).
   */
  BATCH_PARENT_ATTEMPTS: int(8),
  /**
   * A batch's photos that could not be deleted at once are retried by a clean-up job: delays
   * double from 1 s up to PHOTO_CLEANUP_MAX_DELAY_MS. 40 attempts with a 10 min cap keep trying
   * for about 5 hours (1+2+...+512 s, then 29 x 600 s); then the batch says `deletion_failed`.
   */
  PHOTO_CLEANUP_ATTEMPTS: int(40),
  PHOTO_CLEANUP_MAX_DELAY_MS: int(10 * 60_000),
  /**
   * Unknown faces (their records, crops and embeddings) are deleted this long after they were
   * stored: 30 days by default. A fraction of a day is allowed (tests).
   */
  UNKNOWN_RETENTION_DAYS: z.coerce.number().positive().default(30),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** auto: pretty (pino-pretty) on a terminal, JSON lines otherwise; json or pretty to force one. */
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  /**
   * Bull Board at /admin/queues: readonly by default (look, never touch), admin adds retry,
   * promote, clean and remove, off leaves it unmounted.
   */
  QUEUE_DASHBOARD: z.enum(['off', 'readonly', 'admin']).default('readonly'),
});

export type Config = Readonly<{
  host: string;
  port: number;
  redisUrl: string;
  /** REDIS_URL unset or the default: `npm start` may run a local redis-server there. */
  redisUrlDefaulted: boolean;
  keyPrefix: string;
  apiKeys: readonly string[];
  apiKeyHashes: readonly string[];
  poolSize: number;
  workerConcurrency: number;
  maxBodyBytes: number;
  maxCompareBodyBytes: number;
  maxImagePixels: number;
  maxDecodeSide: number;
  tiling: 'auto' | 'off';
  maxReferences: number;
  syncTimeoutMs: number;
  shutdownGraceMs: number;
  jobLockMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  workerMetricsPort: number;
  modelsDir: string;
  logLevel: string;
  logFormat: 'auto' | 'json' | 'pretty';
  queueDashboard: 'off' | 'readonly' | 'admin';
  version: string;
  dataDir: string;
  mongodbUrl: string | undefined;
  mongodbTimeoutMs: number;
  galleryInt8: boolean;
  gallerySnapshotDir: string | null;
  keepPhotos: boolean;
  maxBatchItems: number;
  maxBatchBodyBytes: number;
  attendanceWindowMs: number;
  unknownRetentionMs: number;
  batch: Readonly<{ parentAttempts: number; cleanupAttempts: number; cleanupMaxDelayMs: number }>;
  quality: Readonly<{ minFaceSize: number; minSharpness: number; minDetectionScore: number }>;
  duplicatePolicy: 'warn' | 'reject';
  targetFpir: Readonly<{ identify: number; attendance: number; duplicate: number }>;
  webhook: Readonly<{
    secret: string | undefined;
    retryScheduleMs: readonly number[];
    timeoutMs: number;
    allow: readonly string[];
  }>;
}>;

export const VERSION = '0.1.0';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Parses and validates the environment; throws one error listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    // One line (start-up errors are printed without a stack): every bad variable, then where to look.
    const bad = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new StartupError(`invalid configuration: ${bad.join('; ')} (see the settings table in README.md)`);
  }
  const e = parsed.data;
  return Object.freeze({
    host: e.HOST,
    port: e.PORT,
    redisUrl: e.REDIS_URL ?? DEFAULT_REDIS_URL,
    redisUrlDefaulted: e.REDIS_URL === undefined || e.REDIS_URL.replace(/\/$/, '') === DEFAULT_REDIS_URL,
    keyPrefix: e.KEY_PREFIX,
    apiKeys: Object.freeze(e.API_KEYS),
    apiKeyHashes: Object.freeze(e.API_KEY_HASHES.map((h) => h.toLowerCase())),
    poolSize: e.POOL_SIZE,
    workerConcurrency: e.WORKER_CONCURRENCY || 2 * e.POOL_SIZE,
    maxBodyBytes: e.MAX_BODY_BYTES,
    maxCompareBodyBytes: e.MAX_COMPARE_BODY_BYTES,
    maxImagePixels: e.MAX_IMAGE_PIXELS,
    maxDecodeSide: e.MAX_DECODE_SIDE,
    tiling: e.TILING,
    maxReferences: e.MAX_REFERENCES,
    syncTimeoutMs: e.SYNC_TIMEOUT_MS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    jobLockMs: e.JOB_LOCK_MS,
    stalledIntervalMs: e.STALLED_INTERVAL_MS,
    maxStalledCount: e.MAX_STALLED_COUNT,
    workerMetricsPort: e.WORKER_METRICS_PORT,
    modelsDir: e.MODELS_DIR,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    queueDashboard: e.QUEUE_DASHBOARD,
    version: VERSION,
    dataDir: e.DATA_DIR,
    mongodbUrl: e.MONGODB_URL,
    mongodbTimeoutMs: e.MONGODB_TIMEOUT_MS,
    galleryInt8: e.GALLERY_INT8 === 'true',
    gallerySnapshotDir:
      e.GALLERY_SNAPSHOT_DIR === 'off' ? null : (e.GALLERY_SNAPSHOT_DIR ?? resolve(e.DATA_DIR, 'gallery')),
    keepPhotos: e.KEEP_PHOTOS === 'true',
    maxBatchItems: e.MAX_BATCH_ITEMS,
    maxBatchBodyBytes: e.MAX_BATCH_BODY_BYTES,
    attendanceWindowMs: e.ATTENDANCE_WINDOW_MS,
    unknownRetentionMs: Math.round(e.UNKNOWN_RETENTION_DAYS * 24 * 3600 * 1000),
    batch: Object.freeze({
      parentAttempts: e.BATCH_PARENT_ATTEMPTS,
      cleanupAttempts: e.PHOTO_CLEANUP_ATTEMPTS,
      cleanupMaxDelayMs: e.PHOTO_CLEANUP_MAX_DELAY_MS,
    }),
    quality: Object.freeze({
      minFaceSize: e.MIN_FACE_SIZE,
      minSharpness: e.MIN_SHARPNESS,
      minDetectionScore: e.MIN_DETECTION_SCORE,
    }),
    duplicatePolicy: e.DUPLICATE_POLICY,
    targetFpir: Object.freeze({
      identify: e.IDENTIFY_TARGET_FPIR,
      attendance: e.ATTENDANCE_TARGET_FPIR,
      duplicate: e.DUPLICATE_TARGET_FPIR,
    }),
    webhook: Object.freeze({
      secret: e.WEBHOOK_SECRET,
      retryScheduleMs: Object.freeze(e.WEBHOOK_RETRY_SCHEDULE_MS),
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      allow: Object.freeze(e.WEBHOOK_ALLOW),
    }),
  });
}
