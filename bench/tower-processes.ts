/**
 * The tower's cluster: one API process (`node dist/src/api/main.js`) and N worker processes
 * (`node dist/src/worker/main.js`), each a real OS process, on one Redis KEY_PREFIX and one store
 * (SQLite in one temporary DATA_DIR, every process on the same WAL file, or MongoDB-protocol
 * storage at a URL). Workers can be killed with SIGKILL and replaced; stop() ends every process
 * it started and removes what they left: the prefix's Redis keys (SCAN + DEL, never FLUSH), the
 * data dir, and the Mongo database when one was given.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { freePort, health, type Spawned } from './service.js';

// dist/bench/tower-processes.js -> dist/src/...
const API_MAIN = fileURLToPath(new URL('../src/api/main.js', import.meta.url));
const WORKER_MAIN = fileURLToPath(new URL('../src/worker/main.js', import.meta.url));
const MODELS_DIR = fileURLToPath(new URL('../../models', import.meta.url));

export interface ClusterOptions {
  workers: number;
  redisUrl: string;
  /** MongoDB-protocol URL including a database of the cluster's own (dropped by stop()); else SQLite. */
  mongodbUrl?: string;
  /** Tag in the KEY_PREFIX and temp dir name, so leftovers say who made them. */
  tag: string;
  /** Settings every process gets (on top of the cluster's own). */
  env: Record<string, string>;
  /** Inference threads per worker: 1 by default, so N workers do not oversubscribe 2 cores N-fold. */
  poolSize: number;
  /** Each line a process prints, with its name (the bench echoes to stderr; the test keeps a tail). */
  onOutput: (name: string, line: string) => void;
}

interface Proc {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
  startedAt: number;
}

export interface Cluster {
  /** The API, in the shape bench/service.ts's client helpers take. */
  api: Spawned;
  keyPrefix: string;
  /** Worker processes killed so far. */
  readonly kills: number;
  /** Worker processes that exited without being killed (each is replaced too). Should be 0. */
  readonly crashes: number;
  /**
   * SIGKILLs a random worker (`random` in [0, 1)) among those up for at least `minUptimeMs`
   * (any, if none is), starts a replacement, and resolves once the victim is dead.
   */
  killWorker(random: () => number, minUptimeMs: number): Promise<{ name: string; uptimeS: number }>;
  /** Resolves once the API says ok and `workers` heartbeats are seen (or throws after timeoutMs). */
  waitReady(workers: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

function track(name: string, child: ChildProcess, onOutput: ClusterOptions['onOutput']): Proc {
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream?.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) onOutput(name, line);
    });
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { name, child, exited, startedAt: Date.now() };
}

const alive = (p: Proc) => p.child.exitCode === null && p.child.signalCode === null;

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const port = await freePort();
  const keyPrefix = `${options.tag}-${process.pid}-${Date.now()}`;
  const key = randomBytes(16).toString('hex');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `shelia-${options.tag}-`));
  // Only what the processes need: nothing of the caller's environment (a MONGODB_URL, a
  // KEY_PREFIX) may leak into them by accident.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? os.tmpdir(),
    HOST: '127.0.0.1',
    REDIS_URL: options.redisUrl,
    KEY_PREFIX: keyPrefix,
    DATA_DIR: dataDir,
    MODELS_DIR,
    LOG_LEVEL: 'warn',
    ...(options.mongodbUrl ? { MONGODB_URL: options.mongodbUrl } : {}),
    ...options.env,
  };
  const apiEnv = { ...env, PORT: String(port), API_KEYS: key };
  const workerEnv = {
    ...env,
    POOL_SIZE: String(options.poolSize),
    // Every worker would bind the same metrics port; the tower reads BullMQ's counts instead.
    WORKER_METRICS_PORT: '0',
  };
  const api = track('api', spawn(process.execPath, [API_MAIN], { env: apiEnv }), options.onOutput);
  const workers: Proc[] = [];
  const retired: Proc[] = [];
  let serial = 0;
  let kills = 0;
  let crashes = 0;
  let stopping: Promise<void> | undefined;
  const startWorker = () => {
    const name = `worker-${++serial}`;
    const proc = track(name, spawn(process.execPath, [WORKER_MAIN], { env: workerEnv }), options.onOutput);
    workers.push(proc);
    proc.child.once('exit', (code, signal) => {
      // Killed by killWorker (already moved to `retired`) or stopped: expected. Else a crash.
      if (stopping || !workers.includes(proc)) return;
      crashes++;
      options.onOutput(name, `exited by itself (code ${code}, signal ${signal}); replacing it`);
      workers.splice(workers.indexOf(proc), 1);
      retired.push(proc);
      startWorker();
    });
  };
  for (let i = 0; i < options.workers; i++) startWorker();

  const spawned: Spawned = {
    child: api.child,
    baseUrl: `http://127.0.0.1:${port}`,
    key,
    keyPrefix,
    redisUrl: options.redisUrl,
    dataDir,
    env: apiEnv,
  };

  return {
    api: spawned,
    keyPrefix,
    get kills() {
      return kills;
    },
    get crashes() {
      return crashes;
    },
    async killWorker(random, minUptimeMs) {
      // A worker still loading its models has no jobs to lose: killing it would test nothing.
      const settled = workers.filter((w) => Date.now() - w.startedAt >= minUptimeMs);
      const pool = settled.length > 0 ? settled : workers;
      const chosen = pool[Math.floor(random() * pool.length)];
      const victim = chosen ? workers.splice(workers.indexOf(chosen), 1)[0] : undefined;
      if (!victim) throw new Error('no worker to kill');
      retired.push(victim);
      const uptimeS = (Date.now() - victim.startedAt) / 1000;
      if (alive(victim)) {
        victim.child.kill('SIGKILL');
        kills++;
      }
      await victim.exited;
      // Replaced at once, as a supervisor (compose's restart: unless-stopped) would.
      if (!stopping) startWorker();
      return { name: victim.name, uptimeS };
    },
    async waitReady(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (!alive(api)) throw new Error(`the API exited with code ${api.child.exitCode}`);
        const h = await health(spawned.baseUrl);
        if (h?.status === 'ok' && (h.workers?.alive ?? 0) >= count) return;
        if (Date.now() > deadline) {
          throw new Error(`${h?.workers?.alive ?? 0} of ${count} workers up after ${timeoutMs / 1000} s`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    stop() {
      stopping ??= stopAll([api, ...workers, ...retired], options, keyPrefix, dataDir);
      return stopping;
    },
  };
}

/** SIGTERM (each drains), SIGKILL after 10 s, then the prefix's keys, the data dir, the database. */
async function stopAll(procs: Proc[], options: ClusterOptions, prefix: string, dataDir: string) {
  await Promise.all(
    procs.map(async (p) => {
      if (!alive(p)) return;
      p.child.kill('SIGTERM');
      const killer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
      await p.exited;
      clearTimeout(killer);
    }),
  );
  // After every exit, so no heartbeat or BullMQ bookkeeping writes a key behind our back.
  await deletePrefix(options.redisUrl, prefix);
  rmSync(dataDir, { recursive: true, force: true });
  if (options.mongodbUrl) {
    const client = await new MongoClient(options.mongodbUrl, { serverSelectionTimeoutMS: 3000 }).connect();
    try {
      await client.db().dropDatabase();
    } finally {
      await client.close();
    }
  }
}

/** Deletes `<prefix>:*` only: the Redis is shared with other runs and other worktrees. */
export async function deletePrefix(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  let deleted = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}
