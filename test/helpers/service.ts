/**
 * A real Shelia for API tests: config from an env object (a fresh KEY_PREFIX per service, so
 * test files never see each other's jobs), the in-process worker service (BullMQ + Piscina,
 * real models) and the Hono app over a real JobGateway. `stop()` closes everything and
 * deletes every Redis key under the prefix.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { Registry } from 'prom-client';
import { createApp } from '../../src/api/app.js';
import { JobGateway } from '../../src/api/job-gateway.js';
import { jobDeps } from '../../src/api/job-deps.js';
import { loadConfig, type Config } from '../../src/shared/config.js';
import { createLogger, type Logger } from '../../src/shared/logger.js';
import { loadManifest, loadOpenSet } from '../../src/shared/model-manifest.js';
import { workerSetKey } from '../../src/shared/worker-heartbeat.js';
import { createRedis, masters, type RedisClient } from '../../src/shared/redis-client.js';
import { openPersistence, type Persistence } from '../../src/shared/store/index.js';
import { startWorkerService, type WorkerOptions, type WorkerService } from '../../src/worker/service.js';
import { defaultOptions, modelsDir, photo } from './faces.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const logger = createLogger('silent', 'test');
const silent = logger;

/**
 * The ioredis clients created while a service starts. stop() checks that close() released them
 * all (a connection left open keeps the test process alive) and closes any it left.
 */
let collecting: Set<Redis> | undefined;
// eslint-disable-next-line @typescript-eslint/unbound-method -- re-applied with its own `this` below
const connect = Redis.prototype.connect;
Redis.prototype.connect = function (this: Redis, ...args: Parameters<Redis['connect']>) {
  collecting?.add(this);
  return connect.apply(this, args);
};

/**
 * Runs `start` (e.g. startApiServer) noting the Redis clients it creates; the returned function
 * disconnects those its own close() left open and says how many there were.
 */
export async function trackRedisClients<T>(start: () => Promise<T>): Promise<[T, () => Promise<number>]> {
  const mine = new Set<Redis>();
  collecting = mine;
  try {
    const value = await start();
    return [value, () => disconnectLeftovers(mine)];
  } finally {
    collecting = undefined;
  }
}

async function disconnectLeftovers(clients: Set<Redis>): Promise<number> {
  const open = () => [...clients].filter((c) => c.status !== 'end');
  // A disconnect() reaches 'end' a moment later: give closing connections that moment.
  await waitFor(() => open().length === 0, 'connections to close', 1000).catch(() => undefined);
  const left = open();
  for (const c of left) c.disconnect();
  return left.length;
}

let serial = 0;
/** A KEY_PREFIX no other test run uses (config allows [A-Za-z0-9_.{}-]). */
export const freshPrefix = (tag: string) => `test-${tag}-${process.pid}-${Date.now()}-${serial++}`;

export type Env = Record<string, string>;

export interface ServiceOptions {
  /** Extra environment for loadConfig (KEY_PREFIX, DATA_DIR, MODELS_DIR, LOG_LEVEL, POOL_SIZE preset). */
  env?: Env;
  /** Start a worker service on the same prefix (default true). */
  worker?: boolean;
  /** Wraps the worker's store and blob store, e.g. to make the real ones fail for a while. */
  wrapPersistence?: WorkerOptions['wrapPersistence'];
  /** The API's and worker's logger (default: silent); tests that read log lines pass their own. */
  logger?: Logger;
}

export interface TestService {
  config: Config;
  env: Env;
  app: Hono;
  jobs: JobGateway;
  worker: WorkerService | undefined;
  registry: Registry;
  /** Another app over the same gateway and worker, its config rebuilt with `env` on top. */
  appWith(env: Env): Hono;
  /** Stops the worker service (its heartbeat goes), leaving the API up. */
  stopWorker(): Promise<void>;
  /** Every Redis key under this service's prefix. */
  keys(): Promise<string[]>;
  /** A plain connection to the test Redis (a cluster client on a cluster), for inspecting keys. */
  redis: RedisClient;
  /** The service's blob store (files under DATA_DIR, or GridFS on the MongoDB run). */
  blobs: Persistence['blobs'];
  /** The API's store (SQLite file or the MongoDB database of this service). */
  store: Persistence['store'];
  /**
   * Closes everything; resolves to how many of its Redis connections close() left open. With
   * `dropDatabase: false` its MongoDB database is left alone (a test that killed the server).
   */
  stop(opts?: { dropDatabase?: boolean }): Promise<number>;
}

export async function startService(options: ServiceOptions = {}): Promise<TestService> {
  const dataDir = mkdtempSync(join(tmpdir(), 'shelia-api-test-'));
  const prefix = freshPrefix('api');
  const env: Env = {
    KEY_PREFIX: prefix,
    ...mongoEnv(prefix),
    DATA_DIR: dataDir,
    REDIS_URL,
    MODELS_DIR: modelsDir,
    LOG_LEVEL: 'silent',
    POOL_SIZE: '1',
    ...options.env,
  };
  const config = loadConfig(env);
  const mine = new Set<Redis>();
  collecting = mine;
  try {
    return await assemble(config, env, dataDir, mine, options);
  } finally {
    collecting = undefined;
  }
}

async function assemble(
  config: Config,
  env: Env,
  dataDir: string,
  mine: Set<Redis>,
  options: ServiceOptions,
): Promise<TestService> {
  // The service's own Redis when it runs on a cluster; else the test Redis (a test may point
  // REDIS_URL at a port nothing answers on yet).
  const redis = config.redisCluster
    ? createRedis(config, { maxRetriesPerRequest: 1 })
    : new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const registry = new Registry();
  const logger = options.logger ?? silent;
  let worker: WorkerService | undefined;
  if (options.worker ?? true) {
    worker = await startWorkerService(config, logger, registry, { wrapPersistence: options.wrapPersistence });
    // Load the ONNX sessions now, so the first request does not pay for it.
    await worker.pool.warmUp(photo('Aaron_Peirsol', 1), defaultOptions);
    await waitFor(async () => (await redis.zcard(workerSetKey(config))) > 0, 'worker heartbeat');
  }
  // The gateway caches "workers alive" for a second: create it only once the heartbeat is there.
  const jobs = new JobGateway(config);
  // Its connection does not queue commands while connecting: a request before 'ready' gets 503.
  if (REDIS_URL === config.redisUrl || config.redisCluster)
    await waitFor(() => jobs.redis.status === 'ready', 'API Redis');
  const persistence: Persistence = await openPersistence(config);
  const manifest = loadManifest(config.modelsDir);
  const openSet = loadOpenSet(config.modelsDir, manifest);
  const build = (cfg: Config, reg: Registry) =>
    createApp({
      config: cfg,
      logger,
      ...jobDeps(jobs, cfg),
      manifest,
      openSet,
      registry: reg,
      store: persistence.store,
      blobs: persistence.blobs,
      startedAt: Date.now(),
    });
  const keys = () => scanKeys(redis, config.keyPrefix);
  const service: TestService = {
    config,
    env,
    app: build(config, registry),
    jobs,
    get worker() {
      return worker;
    },
    registry,
    redis,
    blobs: persistence.blobs,
    store: persistence.store,
    keys,
    appWith: (extra) => build(loadConfig({ ...env, ...extra }), new Registry()),
    async stopWorker() {
      const w = worker;
      worker = undefined;
      await w?.close(5000);
    },
    async stop(opts = {}) {
      await service.stopWorker();
      await jobs.close();
      await persistence.close();
      const left = await keys();
      if (left.length > 0) await redis.del(...left);
      if (env.MONGODB_URL && opts.dropDatabase !== false) await dropMongoDatabase(env.MONGODB_URL);
      await redis.quit();
      rmSync(dataDir, { recursive: true, force: true });
      return disconnectLeftovers(mine);
    },
  };
  return service;
}

/**
 * On the MongoDB run (`npm test` sets MONGODB_URL for the store and end-to-end suites) every
 * service gets a database of its own, named after its key prefix, dropped by stop(): test files
 * enroll the same people and must not see each other's.
 */
function mongoEnv(prefix: string): Env {
  const base = process.env.MONGODB_URL;
  if (!base) return {};
  const url = new URL(base);
  url.pathname = `/${prefix.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 60)}`;
  return { MONGODB_URL: url.toString() };
}

async function dropMongoDatabase(url: string): Promise<void> {
  const client = await new MongoClient(url, { serverSelectionTimeoutMS: 2000 }).connect();
  try {
    await client.db().dropDatabase();
  } finally {
    await client.close();
  }
}

/** Every key under the prefix: SCAN walks one server's keyspace, so on a cluster each master's. */
export async function scanKeys(redis: RedisClient, prefix: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of masters(redis)) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
  }
  return found;
}

export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---- requests -------------------------------------------------------------------------------

export async function postJson(app: Hono, path: string, body: unknown, headers: Env = {}): Promise<Response> {
  return app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** The parsed JSON body; the caller states the shape it expects (checked by the assertions). */
export async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

export interface ErrorBody {
  error: string;
  error_code: string;
  [detail: string]: unknown;
}

/**
 * Asserts the contract of every error: the status, `error` and `error_code` strings, detail
 * fields that are plain values, and nothing that looks like a stack trace.
 */
export async function expectError(res: Response, status: number, code: string): Promise<ErrorBody> {
  const text = await res.text();
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${text}`);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const body = JSON.parse(text) as ErrorBody;
  assert.equal(typeof body.error, 'string');
  assert.ok(body.error.length > 0, 'error message is empty');
  assert.equal(body.error_code, code);
  for (const [k, v] of Object.entries(body)) {
    assert.ok(v === null || ['string', 'number', 'boolean'].includes(typeof v), `${k} is not a plain value`);
  }
  assert.doesNotMatch(text, /\n\s+at |\.[jt]s:\d+|node_modules|stack/i, 'error body leaks internals');
  return body;
}

// ---- Redis that goes away ---------------------------------------------------------------------

/** A port nothing listens on (found by binding port 0 and letting it go). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  await new Promise<void>((r) => server.close(() => r()));
  return address.port;
}

/** A TCP forwarder from `port` to the test Redis: lets a test make Redis reachable later. */
export async function startRedisForwarder(port: number): Promise<{ close(): Promise<void> }> {
  const target = new URL(REDIS_URL);
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    upstream.connect(Number(target.port || 6379), target.hostname, () => {
      client.pipe(upstream);
      upstream.pipe(client);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
