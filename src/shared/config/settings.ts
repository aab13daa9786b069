import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { MAX_PEOPLE_PER_JOB } from '../jobs/batch.js';
import { mongoDatabaseName } from '../store/unavailable.js';
import type { SettingsTree } from './setting.js';

/**
 * Every setting, in one place: the key it is read into (`Config`'s property, nested keys make
 * `config.webhook.timeoutMs`), the environment variable, its default, its validation and its
 * README line. A new setting is one entry here (then `npm run docs:config` for the README); the
 * env schema, the `Config` type and the README table all come from this table.
 */

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const MB = 1024 * 1024;
const int = z.coerce.number().int().positive();
const port = z.coerce.number().int().min(0).max(65535);
const rate = z.coerce.number().gt(0).lt(1);
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');
const list = z.string().transform((s) =>
  s
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean),
);

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export const SETTINGS = {
  host: {
    env: 'HOST',
    default: '127.0.0.1',
    schema: z.string(),
    doc: 'listen address; anything but loopback requires an API key',
  },
  /** 8000: the port the integration guide's examples call. */
  port: { env: 'PORT', default: '8000', schema: port, doc: 'HTTP port' },
  redisUrl: {
    env: 'REDIS_URL',
    default: DEFAULT_REDIS_URL,
    schema: z.string().url(),
    doc: "BullMQ's Redis; only when unset (or the default) may `npm start` run a local `redis-server`",
  },
  /**
   * A Redis Cluster: REDIS_URL is one seed node, the client finds the others (src/shared/redis-client.ts).
   * Requires a hash-tagged KEY_PREFIX, checked at start-up.
   */
  redisCluster: {
    env: 'REDIS_CLUSTER',
    default: 'false',
    schema: bool,
    doc: '`true`: `REDIS_URL` is one node of a Redis Cluster; `KEY_PREFIX` must then hold a hash tag, e.g. `{shelia}`',
  },
  /**
   * Prefix of every Redis key, so several deployments (or test runs) can share one Redis. Braces
   * make a hash tag (`{shelia}`): every key in one Redis Cluster slot, as BullMQ requires there.
   */
  keyPrefix: {
    env: 'KEY_PREFIX',
    default: 'shelia',
    schema: z.string().regex(/^[A-Za-z0-9_.{}-]+$/),
    doc: 'prefix of every Redis key; on a Redis Cluster hash-tagged, e.g. `{shelia}` (see Redis Cluster)',
  },
  apiKeys: {
    env: 'API_KEYS',
    default: '',
    schema: list,
    doc: 'comma-separated keys accepted in `X-API-Key`',
  },
  /** sha256 hex of API keys, for deployments that do not want keys in plain text in the environment. */
  apiKeyHashes: {
    env: 'API_KEY_HASHES',
    default: '',

    schema: list.pipe(
      z.array(
        z
          .string()
          .regex(/^[0-9a-fA-F]{64}$/, 'each entry must be the sha256 of a key, as 64 hex digits')
          .transform((h) => h.toLowerCase()),
      ),
    ),
    doc: 'comma-separated sha256 hex of keys (instead of plain keys)',
  },
  poolSize: {
    env: 'POOL_SIZE',
    default: String(availableParallelism()),
    shown: 'CPU cores',
    schema: int,
    doc: 'inference threads per worker process',
  },
  /** Jobs in flight per worker process; 0 = 2 x pool size, so a thread never idles between jobs (derived in config.ts). */
  workerConcurrency: {
    env: 'WORKER_CONCURRENCY',
    default: '0',
    shown: '2 x `POOL_SIZE`',
    schema: z.coerce.number().int().min(0),
    doc: 'jobs in flight per worker process, for sync calls and for batch items each',
  },
  maxBodyBytes: {
    env: 'MAX_BODY_BYTES',
    default: String(15 * MB),
    shown: '15 MiB',
    schema: int,
    doc: 'request body limit (photo endpoints)',
  },
  /** /compare carries embeddings as JSON: ~10 KB per reference, so it gets its own, larger limit. */
  maxCompareBodyBytes: {
    env: 'MAX_COMPARE_BODY_BYTES',
    default: String(256 * MB),
    shown: '256 MiB',
    schema: int,
    doc: 'body limit of `/compare` (~10 KB of JSON per reference)',
  },
  maxImagePixels: {
    env: 'MAX_IMAGE_PIXELS',
    default: '25000000',
    schema: int,
    doc: 'larger photos get `IMAGE_TOO_LARGE` before decoding; what bounds the full-resolution decode (75 MB of RGB at the limit)',
  },
  /**
   * Longest side the detector works at: a bigger photo is detected as if shrunk to it, so a 4K
   * frame's detection costs a 1080p frame's. Faces are still embedded from the full-resolution
   * decode (bounded by MAX_IMAGE_PIXELS): shrunk, 4K faces of 54-117 px matched 85.8 % vs 95.0 %.
   */
  maxDecodeSide: {
    env: 'MAX_DECODE_SIDE',
    default: '1920',
    schema: int,
    doc: "longest side the detector works at: a bigger photo is detected as if shrunk to it (a 4K frame costs a 1080p frame's detection), while each face is landmarked, aligned, embedded and measured from the full-resolution pixels",
  },
  tiling: {
    env: 'TILING',
    default: 'auto',
    schema: z.enum(['auto', 'off']),
    doc: 'tile large frames so ~60 px faces (original pixels) are found; `off` disables',
  },
  maxReferences: {
    env: 'MAX_REFERENCES',
    default: '100000',
    schema: int,
    doc: 'references per `/compare` call',
  },
  /** The guide's clients time out after 30 s. */
  syncTimeoutMs: {
    env: 'SYNC_TIMEOUT_MS',
    default: '30000',
    schema: int,
    doc: "how long `/embed` and `/identify` wait, from the request's arrival (`TIMEOUT` after)",
  },
  shutdownGraceMs: {
    env: 'SHUTDOWN_GRACE_MS',
    default: '30000',
    schema: int,
    doc: 'on SIGTERM, time for requests in flight (API) and active jobs (worker) to finish',
  },
  workerMetricsPort: {
    env: 'WORKER_METRICS_PORT',
    default: '9101',
    schema: port,
    doc: "worker's own `/metrics` (0 = off)",
  },
  modelsDir: {
    env: 'MODELS_DIR',
    default: resolve(repoRoot, 'models'),
    shown: '`./models`',
    schema: z.string(),
    doc: 'the model pack: its model files and `manifest.json` (see Models)',
  },
  /**
   * BullMQ job lock and stalled-job check (both 30 s by default): after a worker dies, its
   * active jobs go back to the queue within about lock + interval. Shorter means faster recovery
   * but a worker whose event loop stalls that long would see its jobs run twice.
   */
  jobLockMs: {
    env: 'JOB_LOCK_MS',
    default: '30000',
    schema: int,
    doc: "BullMQ's job lock: a dead worker's jobs return within about this plus `STALLED_INTERVAL_MS`",
  },
  stalledIntervalMs: {
    env: 'STALLED_INTERVAL_MS',
    default: '30000',
    schema: int,
    doc: "BullMQ's stalled-job check interval",
  },
  /**
   * How often a job may be found stalled (its worker died holding it) and handed on before it
   * fails. BullMQ's default 1 failed a job whose worker was killed twice, with retries left (1
   * of 714 items with a kill every 3 s); 3 covers that, and a job that kills every worker it
   * touches (a poison photo) still ends after 4 workers.
   */
  maxStalledCount: {
    env: 'MAX_STALLED_COUNT',
    default: '3',
    schema: int,
    doc: "times a job may lose its worker (killed) and be handed on before it fails (BullMQ's default 1 failed a job killed twice)",
  },
  dataDir: {
    env: 'DATA_DIR',
    default: resolve(repoRoot, 'data'),
    shown: '`./data`',
    schema: z.string(),
    doc: 'SQLite database and photo blobs',
  },
  /**
   * When set, the store is MongoDB (photos in GridFS) instead of SQLite. It must name the
   * database (`mongodb://host:27017/shelia`): the driver's silent default is `test`.
   */
  mongodbUrl: {
    env: 'MONGODB_URL',
    schema: z
      .string()
      .refine((u) => /^mongodb(\+srv)?:\/\//.test(u), 'must start with mongodb:// or mongodb+srv://')
      .refine((u) => mongoDatabaseName(u) !== '', 'must name the database, e.g. mongodb://host:27017/shelia')
      .optional(),
    doc: 'use MongoDB (+ GridFS) instead of SQLite; must name the database (`mongodb://host:27017/shelia`)',
  },
  /**
   * How long a MongoDB operation may wait for a reachable server before it fails (the API then
   * answers 503 SERVICE_UNAVAILABLE); the driver's default is 30 s of silence.
   */
  mongodbTimeoutMs: {
    env: 'MONGODB_TIMEOUT_MS',
    default: '5000',
    schema: int,
    doc: 'a MongoDB call waits this long for a reachable server, then the API answers 503 `SERVICE_UNAVAILABLE`',
  },
  /** int8 vectors (512 B/template) re-rank in memory; off, the re-rank reads the store (~10M templates). */
  galleryInt8: {
    env: 'GALLERY_INT8',
    default: 'true',
    schema: bool,
    doc: '1:N index keeps int8 vectors (512 B/template) to re-rank in memory; `false` for ~10M templates per worker (148 B/template)',
  },
  /**
   * The 1:N scan is memory-bandwidth bound; a second core adds bandwidth (Zen 3: 12-16 -> ~21
   * GB/s; Xeon: ~14 -> ~27 GB/s), so a long segment's scan is split (>= 262,144 templates per thread).
   */
  galleryScanThreads: {
    env: 'GALLERY_SCAN_THREADS',
    default: '2',
    schema: int,
    doc: "threads one 1:N query's Hamming scan may use, only on groups of 524,288+ templates (262,144 per thread): 1M top-5 p50 4.5 -> 3.2 ms on 2 cores (Xeon, AVX-512); 1 = one core",
  },

  /**
   * A head-plane prefilter trades recall for bandwidth where a group is very large: the scan
   * reads 32 of every template's 64 code bytes (bench:identify, 10M on 2 cores: README).
   */
  galleryPrefilter: {
    env: 'GALLERY_PREFILTER',
    default: 'auto',
    schema: z.union([z.literal('auto'), z.coerce.number().int().nonnegative()]),
    doc: 'templates per group a 1:N query keeps by the first half of their codes before the whole-code shortlist; `auto`: every template in groups under 4,194,304, 1 % of larger ones (10M, `GALLERY_INT8=false`, 2 cores: top-5 p50 32.6 -> 24.0 ms, recall@1 0.9875 -> 0.9825); 0 = every template always (the exact Hamming shortlist); N = N in every group (10M, 50000: 28.3 -> 17.6-18.7 ms, recall@1 0.9725, on another Xeon)',
  },

  /**
   * Every 1:N search reads its best 32 templates exactly; from SQLite that was ~0.8 ms of an
   * enrollment's ~7 ms of main-thread work. ~2.2 KB a template: 64 MB holds ~29,000.
   */
  galleryExactCacheMb: {
    env: 'GALLERY_EXACT_CACHE_MB',
    default: '64',
    schema: z.coerce.number().nonnegative(),
    doc: "megabytes of exact embeddings a worker keeps in memory for the 1:N re-rank (the most recently searched or enrolled; an erased person's leave with them); 0 = every exact read goes to the store",
  },

  /** Derived in config.ts: '' = DATA_DIR/gallery, 'off' = no snapshot. */
  gallerySnapshotDir: {
    env: 'GALLERY_SNAPSHOT_DIR',
    default: '',
    shown: '`./data/gallery`',
    schema: z.string(),
    doc: 'where a worker keeps its gallery snapshot (start-up without a full load); `off` = none',
  },
  keepPhotos: {
    env: 'KEEP_PHOTOS',
    default: 'false',
    schema: bool,
    doc: 'keep uploaded photos after their job (default: deleted)',
  },
  maxBatchItems: {
    env: 'MAX_BATCH_ITEMS',
    default: '1000',
    schema: int,
    doc: 'items per batch (`BATCH_TOO_LARGE` above)',
  },
  /**
   * A BullMQ job costs its worker ~46 Redis commands and several socket writes on the main
   * thread, as much again as a person's own store and gallery work (bench:enroll, README).
   */
  enrollPeoplePerJob: {
    env: 'ENROLL_PEOPLE_PER_JOB',
    default: '8',
    schema: z.coerce.number().int().min(1).max(MAX_PEOPLE_PER_JOB),
    doc: `people of an enrollment batch in one queue job (1-${MAX_PEOPLE_PER_JOB}); each still gets its own outcome`,
  },
  /** Batch uploads carry many photos: 200 MiB is ~1,000 phone photos of 150 KB as base64. */
  maxBatchBodyBytes: {
    env: 'MAX_BATCH_BODY_BYTES',
    default: String(200 * MB),
    shown: '200 MiB',
    schema: int,
    doc: 'body limit of batch endpoints',
  },
  /** Enrollment quality gates: face box height (px), sharpness (Laplacian variance), detector score. */
  quality: {
    minFaceSize: {
      env: 'MIN_FACE_SIZE',
      default: '60',
      schema: int,
      doc: 'enrollment gate: face box height, px',
    },
    minSharpness: {
      env: 'MIN_SHARPNESS',
      default: '15',
      schema: z.coerce.number().nonnegative(),
      doc: 'enrollment gate: sharpness (Laplacian variance)',
    },
    minDetectionScore: {
      env: 'MIN_DETECTION_SCORE',
      default: '0.8',
      schema: z.coerce.number().min(0).max(1),
      doc: 'enrollment gate: detector score',
    },
  },
  /**
   * A face matching another enrolled user at the duplicate gate's threshold: warn (enroll, with
   * the look-alike named) or reject. warn by default: even at a 0.5 % target some distinct
   * people are flagged (bench:openset), and refusing a real person is worse than a warning.
   */
  duplicatePolicy: {
    env: 'DUPLICATE_POLICY',
    default: 'warn',
    schema: z.enum(['warn', 'reject']),
    doc: '`warn` enrolls look-alikes with a warning naming them; `reject` refuses them',
  },
  /**
   * Open-set targets: the share of people not enrolled that a 1:N decision may match to
   * someone (FPIR), whatever the gallery size; thresholds follow from the model's measured
   * impostor distances (src/shared/open-set.ts). 1 % for identification and attendance; the
   * duplicate gate 0.5 %, so that at most ~1 % of distinct people are flagged.
   */
  targetFpir: {
    identify: {
      env: 'IDENTIFY_TARGET_FPIR',
      default: '0.01',
      schema: rate,
      doc: 'open-set target of `/identify` (above)',
    },
    attendance: {
      env: 'ATTENDANCE_TARGET_FPIR',
      default: '0.01',
      schema: rate,
      doc: 'open-set target of attendance (above)',
    },
    duplicate: {
      env: 'DUPLICATE_TARGET_FPIR',
      default: '0.005',
      schema: rate,
      doc: 'open-set target of the enrollment duplicate gate (above)',
    },
  },
  /** Sightings of one person by one camera closer than this make one attendance record. */
  attendanceWindowMs: {
    env: 'ATTENDANCE_WINDOW_MS',
    default: String(5 * 60_000),
    schema: int,
    doc: 'one record per person per camera per window',
  },
  /**
   * Unknown faces (their records, crops and embeddings) are deleted this long after they were
   * stored: 30 days by default. A fraction of a day is allowed (tests).
   */
  unknownRetentionMs: {
    env: 'UNKNOWN_RETENTION_DAYS',
    default: '30',
    schema: z.coerce
      .number()
      .positive()
      .transform((days) => Math.round(days * 24 * 3600 * 1000)),
    doc: 'days: unknown faces (records, crops, embeddings) are deleted this long after they were stored',
  },
  batch: {
    /**
     * Attempts of a batch's final step (1 s, doubling): 8 retries it for 1+2+...+64 = 127 s, so a
     * store or Redis fault of a minute or two still ends with the batch's real status. A parent
     * that gives up leaves the batch `failed` with a `failure_reason` (see the batch clean-up job).
     */
    parentAttempts: {
      env: 'BATCH_PARENT_ATTEMPTS',
      default: '8',
      schema: int,
      doc: "attempts of a batch's final step, 1 s doubling: 127 s of retries",
    },
    /**
     * A batch's photos that could not be deleted at once are retried by a clean-up job: delays
     * double from 1 s up to PHOTO_CLEANUP_MAX_DELAY_MS. 40 attempts with a 10 min cap keep trying
     * for about 5 hours (1+2+...+512 s, then 29 x 600 s); then the batch says `deletion_failed`.
     */
    cleanupAttempts: {
      env: 'PHOTO_CLEANUP_ATTEMPTS',
      default: '40',
      schema: int,
      doc: "retries of a batch's photo deletion, 1 s doubling up to `PHOTO_CLEANUP_MAX_DELAY_MS`: ~5 h",
    },
    cleanupMaxDelayMs: {
      env: 'PHOTO_CLEANUP_MAX_DELAY_MS',
      default: String(10 * 60_000),
      schema: int,
      doc: "cap of the delay between a batch's photo deletion retries",
    },
  },
  webhook: {
    /**
     * Standard Webhooks secret (whsec_...) for batch webhook_urls that bring no webhook_secret of
     * their own and are not a registered endpoint's URL; without any of the three such a batch is
     * refused (WEBHOOK_SECRET_REQUIRED): a secret generated and returned in the 202 could lose the
     * race against the first delivery (~100 ms later).
     */
    secret: {
      env: 'WEBHOOK_SECRET',
      schema: z
        .string()
        .regex(/^whsec_[A-Za-z0-9+/=]+$/)
        .optional(),
      doc: '`whsec_...` secret signing a batch `webhook_url` that brings no `webhook_secret` and is no registered endpoint',
    },
    /** Delays between webhook attempts (ms); attempts = entries + 1. */
    retryScheduleMs: {
      env: 'WEBHOOK_RETRY_SCHEDULE_MS',
      default: '5000,30000,120000,600000,1800000,3600000',
      schema: z
        .string()
        .transform((s) => s.split(',').map((v) => Number(v.trim())))
        .pipe(z.array(z.number().int().nonnegative()).min(1)),
      doc: 'delays between attempts',
    },
    timeoutMs: { env: 'WEBHOOK_TIMEOUT_MS', default: '10000', schema: int, doc: 'per attempt' },
    /** Hosts or CIDRs webhooks may target even though they are loopback/private (e.g. 127.0.0.1). */
    allow: {
      env: 'WEBHOOK_ALLOW',
      default: '',
      schema: list,
      doc: 'hosts/CIDRs allowed despite being private (e.g. `127.0.0.1`)',
    },
  },
  logLevel: {
    env: 'LOG_LEVEL',
    default: 'info',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    doc: 'pino level',
  },
  queueDashboard: {
    env: 'QUEUE_DASHBOARD',
    default: 'readonly',
    schema: z.enum(['off', 'readonly', 'admin']),
    doc: 'Bull Board at `/admin/queues`: `readonly` (look only), `admin` (retry, promote, clean, remove), `off` (not mounted)',
  },
  logFormat: {
    env: 'LOG_FORMAT',
    default: 'auto',
    schema: z.enum(['auto', 'json', 'pretty']),
    doc: '`pretty` (pino-pretty: one coloured line per event), `json` (one JSON object per line), `auto`: pretty on a terminal, JSON otherwise',
  },
} satisfies SettingsTree;
