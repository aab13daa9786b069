/**
 * The typed config loadConfig returns: every property, its value for the defaults and for a full
 * set of non-default variables, deep freezing, and the one-line error on bad values (the messages
 * were recorded from the hand-written Env/Config/mapping this file's schema replaced).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { loadConfig, type Config } from '../../src/shared/config.js';
import { repoRoot } from '../helpers/faces.js';

const HASH = 'a'.repeat(64);

/**
 * Settings added after this was written are not listed here (a new setting stays one entry in
 * src/shared/config/settings.ts): `sameAs` compares the properties the expectation names.
 */
const DEFAULTS = {
  host: '127.0.0.1',
  port: 8000,
  redisUrl: 'redis://127.0.0.1:6379',
  redisUrlDefaulted: true,
  keyPrefix: 'shelia',
  apiKeys: [],
  apiKeyHashes: [],
  poolSize: 3,
  workerConcurrency: 6,
  maxBodyBytes: 15 * 1024 * 1024,
  maxCompareBodyBytes: 256 * 1024 * 1024,
  maxImagePixels: 25_000_000,
  maxDecodeSide: 1920,
  tiling: 'auto',
  maxReferences: 100_000,
  syncTimeoutMs: 30_000,
  shutdownGraceMs: 30_000,
  jobLockMs: 30_000,
  stalledIntervalMs: 30_000,
  maxStalledCount: 3,
  workerMetricsPort: 9101,
  modelsDir: '/m',
  logLevel: 'info',
  logFormat: 'auto',
  version: '0.1.0',
  dataDir: '/d',
  mongodbUrl: undefined,
  mongodbTimeoutMs: 5000,
  keepPhotos: false,
  maxBatchItems: 1000,
  maxBatchBodyBytes: 200 * 1024 * 1024,
  attendanceWindowMs: 300_000,
  unknownRetentionMs: 30 * 24 * 3600 * 1000,
  batch: { parentAttempts: 8, cleanupAttempts: 40, cleanupMaxDelayMs: 600_000 },
  quality: { minFaceSize: 60, minSharpness: 15, minDetectionScore: 0.8 },
  duplicatePolicy: 'warn',
  targetFpir: { identify: 0.01, attendance: 0.01, duplicate: 0.005 },
  webhook: {
    secret: undefined,
    retryScheduleMs: [5000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000],
    timeoutMs: 10_000,
    allow: [],
  },
};

/** Every variable set to something other than its default. */
const ALL_SET = {
  HOST: '0.0.0.0',
  PORT: '0',
  REDIS_URL: 'redis://10.0.0.1:6380/2',
  KEY_PREFIX: 'x.y-z_1',
  API_KEYS: ' k1 , k2,,',
  API_KEY_HASHES: HASH.toUpperCase(),
  POOL_SIZE: '2',
  WORKER_CONCURRENCY: '5',
  MAX_BODY_BYTES: '10',
  MAX_COMPARE_BODY_BYTES: '11',
  MAX_IMAGE_PIXELS: '12',
  MAX_DECODE_SIDE: '13',
  TILING: 'off',
  MAX_REFERENCES: '14',
  SYNC_TIMEOUT_MS: '15',
  SHUTDOWN_GRACE_MS: '16',
  JOB_LOCK_MS: '17',
  STALLED_INTERVAL_MS: '18',
  MAX_STALLED_COUNT: '19',
  WORKER_METRICS_PORT: '0',
  MODELS_DIR: '/models',
  DATA_DIR: '/data',
  MONGODB_URL: 'mongodb+srv://h/db',
  MONGODB_TIMEOUT_MS: '20',
  KEEP_PHOTOS: 'true',
  MAX_BATCH_ITEMS: '21',
  MAX_BATCH_BODY_BYTES: '22',
  MIN_FACE_SIZE: '23',
  MIN_SHARPNESS: '0',
  MIN_DETECTION_SCORE: '0.5',
  DUPLICATE_POLICY: 'reject',
  IDENTIFY_TARGET_FPIR: '0.1',
  ATTENDANCE_TARGET_FPIR: '0.2',
  DUPLICATE_TARGET_FPIR: '0.3',
  WEBHOOK_SECRET: 'whsec_abc=',
  WEBHOOK_RETRY_SCHEDULE_MS: '0, 7',
  WEBHOOK_TIMEOUT_MS: '24',
  WEBHOOK_ALLOW: '127.0.0.1,10.0.0.0/8',
  ATTENDANCE_WINDOW_MS: '25',
  BATCH_PARENT_ATTEMPTS: '26',
  PHOTO_CLEANUP_ATTEMPTS: '27',
  PHOTO_CLEANUP_MAX_DELAY_MS: '28',
  UNKNOWN_RETENTION_DAYS: '0.5',
  LOG_LEVEL: 'silent',
  LOG_FORMAT: 'json',
};

function assertDeepFrozen(value: unknown, path = 'config'): void {
  if (typeof value !== 'object' || value === null) return;
  assert.ok(Object.isFrozen(value), `${path} is frozen`);
  for (const [k, v] of Object.entries(value)) assertDeepFrozen(v, `${path}.${k}`);
}

/** `actual` cut down to the keys `expected` has, at every level of plain objects. */
function like(actual: unknown, expected: unknown): unknown {
  if (typeof expected !== 'object' || expected === null || Array.isArray(expected)) return actual;
  if (typeof actual !== 'object' || actual === null) return actual;
  const a = actual as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(expected).map((k) => [k, like(a[k], (expected as Record<string, unknown>)[k])]),
  );
}

function sameAs(actual: Config, expected: object): void {
  for (const key of Object.keys(expected)) assert.ok(key in actual, `config.${key} exists`);
  assert.deepStrictEqual(like(actual, expected), expected);
}

function errorOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (e) {
    assert.equal((e as Error).name, 'StartupError');
    return (e as Error).message;
  }
  assert.fail(`no error for ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('gives every property its default', () => {
    sameAs(loadConfig({ POOL_SIZE: '3', MODELS_DIR: '/m', DATA_DIR: '/d' }), DEFAULTS);
  });

  it('defaults POOL_SIZE to the cores, MODELS_DIR and DATA_DIR to the repository', () => {
    const c = loadConfig({});
    assert.equal(c.poolSize, availableParallelism());
    assert.equal(c.workerConcurrency, 2 * availableParallelism());
    assert.equal(c.modelsDir, resolve(repoRoot, 'models'));
    assert.equal(c.dataDir, resolve(repoRoot, 'data'));
  });

  it('reads every variable into its property', () => {
    sameAs(loadConfig(ALL_SET), {
      host: '0.0.0.0',
      port: 0,
      redisUrl: 'redis://10.0.0.1:6380/2',
      redisUrlDefaulted: false,
      keyPrefix: 'x.y-z_1',
      apiKeys: ['k1', 'k2'],
      apiKeyHashes: [HASH],
      poolSize: 2,
      workerConcurrency: 5,
      maxBodyBytes: 10,
      maxCompareBodyBytes: 11,
      maxImagePixels: 12,
      maxDecodeSide: 13,
      tiling: 'off',
      maxReferences: 14,
      syncTimeoutMs: 15,
      shutdownGraceMs: 16,
      jobLockMs: 17,
      stalledIntervalMs: 18,
      maxStalledCount: 19,
      workerMetricsPort: 0,
      modelsDir: '/models',
      logLevel: 'silent',
      logFormat: 'json',
      version: '0.1.0',
      dataDir: '/data',
      mongodbUrl: 'mongodb+srv://h/db',
      mongodbTimeoutMs: 20,
      keepPhotos: true,
      maxBatchItems: 21,
      maxBatchBodyBytes: 22,
      attendanceWindowMs: 25,
      unknownRetentionMs: 12 * 3600 * 1000,
      batch: { parentAttempts: 26, cleanupAttempts: 27, cleanupMaxDelayMs: 28 },
      quality: { minFaceSize: 23, minSharpness: 0, minDetectionScore: 0.5 },
      duplicatePolicy: 'reject',
      targetFpir: { identify: 0.1, attendance: 0.2, duplicate: 0.3 },
      webhook: {
        secret: 'whsec_abc=',
        retryScheduleMs: [0, 7],
        timeoutMs: 24,
        allow: ['127.0.0.1', '10.0.0.0/8'],
      },
    });
  });

  it('treats the default REDIS_URL, with or without a trailing slash, as defaulted', () => {
    assert.equal(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379/' }).redisUrlDefaulted, true);
    assert.equal(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).redisUrlDefaulted, true);
    assert.equal(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6380' }).redisUrlDefaulted, false);
  });

  it('reads GALLERY_PREFILTER as templates kept by the head plane, auto by default, 0 = every template', () => {
    assert.equal(loadConfig({}).galleryPrefilter, 'auto');
    assert.equal(loadConfig({ GALLERY_PREFILTER: '0' }).galleryPrefilter, 0);
    assert.throws(() => loadConfig({ GALLERY_PREFILTER: 'some' }), /GALLERY_PREFILTER/);
    assert.equal(loadConfig({ GALLERY_PREFILTER: '50000' }).galleryPrefilter, 50_000);
    assert.throws(() => loadConfig({ GALLERY_PREFILTER: '-1' }), /GALLERY_PREFILTER: Too small/);
  });

  it('reads GALLERY_EXACT_CACHE_MB as megabytes of exact embeddings kept, 64 by default', () => {
    assert.equal(loadConfig({}).galleryExactCacheMb, 64);
    assert.equal(loadConfig({ GALLERY_EXACT_CACHE_MB: '0' }).galleryExactCacheMb, 0);
    assert.throws(() => loadConfig({ GALLERY_EXACT_CACHE_MB: '-1' }), /GALLERY_EXACT_CACHE_MB/);
  });

  it('freezes the config and everything in it', () => {
    assertDeepFrozen(loadConfig({}));
    assertDeepFrozen(loadConfig(ALL_SET));
  });

  it('refuses each bad value in one line naming the variable', () => {
    const see = ' (see the settings table in README.md)';
    const cases: [string, string, string][] = [
      ['PORT', '99999', 'PORT: Too big: expected number to be <=65535'],
      ['KEY_PREFIX', 'a b', 'KEY_PREFIX: Invalid string: must match pattern /^[A-Za-z0-9_.{}-]+$/'],
      ['API_KEY_HASHES', 'xyz', 'API_KEY_HASHES.0: each entry must be the sha256 of a key, as 64 hex digits'],
      ['POOL_SIZE', '0', 'POOL_SIZE: Too small: expected number to be >0'],
      ['WORKER_CONCURRENCY', '-1', 'WORKER_CONCURRENCY: Too small: expected number to be >=0'],
      ['MAX_BODY_BYTES', '1.5', 'MAX_BODY_BYTES: Invalid input: expected int, received number'],
      ['MAX_DECODE_SIDE', 'abc', 'MAX_DECODE_SIDE: Invalid input: expected number, received NaN'],
      ['TILING', 'on', 'TILING: Invalid option: expected one of "auto"|"off"'],
      ['MONGODB_URL', 'http://x/db', 'MONGODB_URL: must start with mongodb:// or mongodb+srv://'],
      [
        'MONGODB_URL',
        'mongodb://h:1',
        'MONGODB_URL: must name the database, e.g. mongodb://host:27017/shelia',
      ],
      ['KEEP_PHOTOS', 'yes', 'KEEP_PHOTOS: Invalid option: expected one of "true"|"false"'],
      ['MIN_SHARPNESS', '-1', 'MIN_SHARPNESS: Too small: expected number to be >=0'],
      ['MIN_DETECTION_SCORE', '2', 'MIN_DETECTION_SCORE: Too big: expected number to be <=1'],
      ['DUPLICATE_POLICY', 'maybe', 'DUPLICATE_POLICY: Invalid option: expected one of "warn"|"reject"'],
      ['IDENTIFY_TARGET_FPIR', '1', 'IDENTIFY_TARGET_FPIR: Too big: expected number to be <1'],
      [
        'WEBHOOK_SECRET',
        'nope',
        'WEBHOOK_SECRET: Invalid string: must match pattern /^whsec_[A-Za-z0-9+/=]+$/',
      ],
      [
        'WEBHOOK_RETRY_SCHEDULE_MS',
        '5,x',
        'WEBHOOK_RETRY_SCHEDULE_MS.1: Invalid input: expected number, received NaN',
      ],
      ['UNKNOWN_RETENTION_DAYS', '0', 'UNKNOWN_RETENTION_DAYS: Too small: expected number to be >0'],
      ['LOG_FORMAT', 'xml', 'LOG_FORMAT: Invalid option: expected one of "auto"|"json"|"pretty"'],
      ['REDIS_URL', 'not a url', 'REDIS_URL: Invalid URL'],
    ];
    for (const [name, value, message] of cases) {
      assert.equal(errorOf({ [name]: value }), `invalid configuration: ${message}${see}`, name);
    }
    assert.equal(
      errorOf({ PORT: '99999', LOG_LEVEL: 'loud' }),
      'invalid configuration: PORT: Too big: expected number to be <=65535; ' +
        'LOG_LEVEL: Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent"' +
        see,
    );
  });
});
