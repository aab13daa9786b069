/**
 * The service under test for the end-to-end benches: `node dist/src/all-in-one.js` as a child
 * process on a free port, with its own KEY_PREFIX, API key and a fresh temporary DATA_DIR, and
 * everything it left behind (Redis keys, the data dir) removed afterwards.
 *
 * Also the client side of a batch: submit, poll to completion, read the results.
 *
 * A child rather than in-process: the bench's own work (building bodies, polling, a load
 * generator) would otherwise share the event loop the API answers on and the worker's BullMQ
 * locks live on, and the figure would measure the bench as much as Shelia.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { BatchAccepted, JobStatus } from '../src/shared/schemas.js';

// Progress goes to stderr so stdout holds only a bench's table (and its JSON line last).
const note = (line: string) => console.error(line);

/** A port the OS says is free now; the child binds it a moment later (a tiny, accepted race). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface Health {
  status?: string;
  workers?: { alive?: number; details?: unknown[] };
}

export async function health(baseUrl: string): Promise<Health | undefined> {
  try {
    const res = await fetch(`${baseUrl}/api/v1/health`, { signal: AbortSignal.timeout(2000) });
    return (await res.json()) as Health;
  } catch {
    return undefined;
  }
}

export interface Spawned {
  child: ChildProcess;
  baseUrl: string;
  key: string;
  keyPrefix: string;
  redisUrl: string;
  /** Fresh per run, so a bench never reads (or leaves) users and records of another run. */
  dataDir: string;
  /** The environment the child got: a bench can loadConfig() it to use the very same settings. */
  env: Record<string, string>;
}

export interface SpawnOptions {
  /** Extra environment for the service (on top of the bench's own and the defaults here). */
  env?: Record<string, string>;
  /** Tag in the KEY_PREFIX and temp dir name, so leftovers say which bench made them. */
  tag?: string;
  /** Redis to use (a bench's private one, whose INFO counts only this service); else REDIS_URL or 6379. */
  redisUrl?: string;
  /**
   * Run bench/counted-service.ts instead of src/all-in-one.ts: the same service with its store and
   * blob calls counted, read with serviceCounts().
   */
  counted?: boolean;
}

/** Starts `node dist/src/all-in-one.js`; waitHealthy() says when it can take requests. */
export async function spawnService(options: SpawnOptions = {}): Promise<Spawned> {
  const port = await freePort();
  const tag = options.tag ?? 'bench';
  const keyPrefix = `${tag}-${process.pid}-${Date.now()}`;
  // A key, so the auth middleware's cost is part of the figure as it is in production.
  const key = randomBytes(16).toString('hex');
  const redisUrl = options.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `shelia-${tag}-`));
  // dist/bench/service.js -> dist/src/all-in-one.js
  const entry = fileURLToPath(
    new URL(options.counted ? './counted-service.js' : '../src/all-in-one.js', import.meta.url),
  );
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    PORT: String(port),
    REDIS_URL: redisUrl,
    KEY_PREFIX: keyPrefix,
    API_KEYS: key,
    API_KEY_HASHES: '',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    ...options.env,
  };
  // e.g. BENCH_SERVICE_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the service.
  const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, entry], {
    env: { ...process.env, ...env },
    stdio: options.counted ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  // The service's own output must not land between the table and the JSON line.
  child.stdout?.pipe(process.stderr);
  child.stderr?.pipe(process.stderr);
  return { child, baseUrl: `http://127.0.0.1:${port}`, key, keyPrefix, redisUrl, dataDir, env };
}

/**
 * CPU seconds (user + system, all threads) the child has used so far, from /proc/<pid>/stat;
 * undefined where there is no /proc. On a machine shared with other work, wall-clock figures
 * swing with the load while CPU time per item mostly does not, so the benches report both.
 */
export function childCpuSeconds(s: Spawned): number | undefined {
  return s.child.pid === undefined ? undefined : procCpuSeconds(`/proc/${s.child.pid}/stat`);
}

/**
 * CPU seconds of each of the process's threads so far, by tid, with the thread's name (`main`
 * for the event loop, where the API, BullMQ's loop, the store calls and the 1:N index run).
 */
export function threadCpu(pid: number | undefined): Map<string, { name: string; seconds: number }> {
  const byTid = new Map<string, { name: string; seconds: number }>();
  if (pid === undefined) return byTid;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byTid;
  }
  for (const tid of tids) {
    const seconds = procCpuSeconds(`/proc/${pid}/task/${tid}/stat`);
    let name: string;
    try {
      name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (seconds !== undefined) byTid.set(tid, { name: tid === String(pid) ? 'main' : name, seconds });
  }
  return byTid;
}

/**
 * CPU seconds each kind of thread used between two threadCpu readings: `main` (the event
 * loop), `pool` (the `poolThreads` busiest of the others named `node`: the inference threads),
 * `helpers` (the other `node` threads: V8's compiler and GC workers, libuv's fs and crypto pool),
 * and any other name as itself (`libvips worker`). Threads that ended meanwhile are left out.
 */
export function threadCpuByKind(
  before: Map<string, { name: string; seconds: number }>,
  after: Map<string, { name: string; seconds: number }>,
  poolThreads: number,
): Record<string, number> {
  const used = [...after].map(([tid, t]) => ({
    name: t.name,
    seconds: t.seconds - (before.get(tid)?.seconds ?? 0),
  }));
  const node = used.filter((t) => t.name === 'node').sort((a, b) => b.seconds - a.seconds);
  const pool = new Set(node.slice(0, poolThreads));
  const out: Record<string, number> = {};
  for (const t of used) {
    const kind = t.name === 'node' ? (pool.has(t) ? 'pool' : 'helpers') : t.name;
    out[kind] = (out[kind] ?? 0) + t.seconds;
  }
  return out;
}

function procCpuSeconds(file: string): number | undefined {
  try {
    const stat = readFileSync(file, 'utf8');
    // The command name (field 2) may hold spaces: count fields from the closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15, i.e. 11 and 12 after the state; USER_HZ is 100 on Linux.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Store and blob calls so far (`worker.store.enroll` -> n), from a service spawned with `counted`. */
export async function serviceCounts(s: Spawned): Promise<Record<string, number>> {
  const { child } = s;
  if (!child.send) throw new Error('the service was not spawned with counted: true');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the service did not send its counts within 5 s')), 5000);
    child.once('message', (m: unknown) => {
      clearTimeout(timer);
      resolve((m as { counts: Record<string, number> }).counts);
    });
    child.send?.('counts');
  });
}

/** Health "ok" = Redis reachable and a worker heartbeat seen (the pool's threads are up). */
export async function waitHealthy(s: Spawned, timeoutMs = 120_000): Promise<void> {
  // Start-up and the first heartbeat take a few seconds; a cold disk can take longer.
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (s.child.exitCode !== null) throw new Error(`the service exited with code ${s.child.exitCode}`);
    const h = await health(s.baseUrl);
    if (h?.status === 'ok') return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the service did not report status ok within ${timeoutMs / 1000} s`);
}

const stopping = new Map<Spawned, Promise<void>>();
/** Once per service, whoever asks first (the end of the run or a signal). */
export function stopService(s: Spawned): Promise<void> {
  let p = stopping.get(s);
  if (!p) {
    p = stopAndClean(s);
    stopping.set(s, p);
  }
  return p;
}

/** SIGTERM (the service drains), SIGKILL if it hangs, then remove its Redis keys and data dir. */
async function stopAndClean(s: Spawned): Promise<void> {
  if (s.child.exitCode === null && s.child.signalCode === null) {
    const exited = new Promise<void>((r) => s.child.once('exit', () => r()));
    s.child.kill('SIGTERM');
    const killer = setTimeout(() => s.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killer);
  }
  // After the exit, so no heartbeat or BullMQ bookkeeping writes a key behind our back.
  const redis = new Redis(s.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${s.keyPrefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
    note(`cleanup: deleted ${deleted} Redis keys under ${s.keyPrefix}:`);
  } catch (err) {
    note(`cleanup: could not delete Redis keys under ${s.keyPrefix}: (${String(err)})`);
  } finally {
    redis.disconnect();
  }
  rmSync(s.dataDir, { recursive: true, force: true });
}

/**
 * Ctrl-C (or a SIGTERM) must not leave a service running or keys behind: stops whatever
 * `current()` returns, then exits 130.
 */
export function stopOnSignal(current: () => Spawned | undefined): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      const done = () => process.exit(130);
      const s = current();
      if (s) stopService(s).then(done, done);
      else done();
    });
  }
}

// --- batches, as a client of the integration guide drives them ---

const TERMINAL = new Set<JobStatus['status']>(['completed', 'completed_with_errors', 'failed']);

function headers(s: Spawned): Record<string, string> {
  return { 'content-type': 'application/json', 'x-api-key': s.key };
}

async function getJson(s: Spawned, urlPath: string): Promise<unknown> {
  const res = await fetch(`${s.baseUrl}${urlPath}`, { headers: headers(s) });
  const body: unknown = await res.json();
  if (res.status !== 200) throw new Error(`GET ${urlPath}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** POSTs a prepared body (built before any clock starts); anything but 202 is an error. */
export async function submitBatch(
  s: Spawned,
  urlPath: string,
  body: Buffer,
): Promise<z.infer<typeof BatchAccepted>> {
  const res = await fetch(`${s.baseUrl}${urlPath}`, { method: 'POST', headers: headers(s), body });
  const json: unknown = await res.json();
  if (res.status !== 202) throw new Error(`POST ${urlPath}: ${res.status} ${JSON.stringify(json)}`);
  return BatchAccepted.parse(json);
}

export interface FinishedJob {
  status: JobStatus;
  /** When this client first saw it finished (ms since the epoch); finished_at is the server's. */
  seenAt: number;
}

/**
 * Polls every job until each is completed, completed_with_errors or failed. One GET per
 * unfinished job per round: a handful of cheap store reads, not enough to slow the service.
 */
export async function waitForJobs(
  s: Spawned,
  jobIds: string[],
  options: { pollMs?: number; timeoutMs?: number } = {},
): Promise<Map<string, FinishedJob>> {
  const pollMs = options.pollMs ?? 100;
  const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
  const finished = new Map<string, FinishedJob>();
  while (finished.size < jobIds.length) {
    if (s.child.exitCode !== null) throw new Error(`the service exited with code ${s.child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`${jobIds.length - finished.size} job(s) still unfinished`);
    const open = jobIds.filter((id) => !finished.has(id));
    const statuses = await Promise.all(
      open.map(async (id) => JobStatus.parse(await getJson(s, `/api/v1/jobs/${id}`))),
    );
    const now = Date.now();
    for (const st of statuses) {
      if (TERMINAL.has(st.status) && st.finished_at) finished.set(st.job_id, { status: st, seenAt: now });
    }
    if (finished.size < jobIds.length) await new Promise((r) => setTimeout(r, pollMs));
  }
  return finished;
}

/** DELETE /api/v1/users/:id: erases a user (templates, gallery entries) the bench added itself. */
export async function eraseUser(s: Spawned, userId: string): Promise<void> {
  const urlPath = `/api/v1/users/${encodeURIComponent(userId)}`;
  const res = await fetch(`${s.baseUrl}${urlPath}`, { method: 'DELETE', headers: headers(s) });
  if (res.status !== 200) throw new Error(`DELETE ${urlPath}: ${res.status} ${await res.text()}`);
}

/** The fields every item result has; the rest is the item's detail (kept, loosely typed). */
export const ItemResult = z
  .object({ index: z.number().int(), ref: z.string().nullable(), outcome: z.string(), ok: z.boolean() })
  .passthrough();
export type ItemResult = z.infer<typeof ItemResult>;
const ResultsPage = z.object({ items: z.array(ItemResult), next_cursor: z.string().nullable().optional() });

/** Every item result of a batch, following the cursor. */
export async function jobResults(s: Spawned, jobId: string): Promise<ItemResult[]> {
  const all: ItemResult[] = [];
  let cursor: string | undefined;
  do {
    const q = `limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page = ResultsPage.parse(await getJson(s, `/api/v1/jobs/${jobId}/results?${q}`));
    all.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return all.sort((a, b) => a.index - b.index);
}

export interface MeasuredBatches {
  /** In submission order. */
  jobIds: string[];
  jobs: FinishedJob[];
  /** First submit to the last server-side finished_at. */
  seconds: number;
  /** First submit to the last 202. */
  submitSeconds: number;
  /** First submit to when polling saw the last one finish (up to one poll late). */
  seenSeconds: number;
  /** CPU time the service used meanwhile, when /proc tells. */
  cpuSeconds: number | undefined;
  /** Of which its main thread (event loop), when /proc tells. */
  mainThreadCpuSeconds: number | undefined;
  /** Of which each kind of thread (threadCpuByKind). */
  threadCpuSeconds: Record<string, number>;
}

/** Submits the bodies one after another and waits for every batch: the measured part of a bench. */
export async function measureBatches(
  s: Spawned,
  urlPath: string,
  bodies: Buffer[],
  /** Each open batch is polled this often (its end is the server's finished_at, not the poll). */
  pollMs = 100,
  /** The service's inference threads (POOL_SIZE): how threadCpuSeconds tells them apart. */
  poolThreads = 0,
): Promise<MeasuredBatches> {
  // Date.now(), not performance.now(): the end is the server's finished_at, a wall-clock time.
  const start = Date.now();
  const cpuStart = childCpuSeconds(s);
  const threadsStart = threadCpu(s.child.pid);
  const jobIds: string[] = [];
  for (const body of bodies) jobIds.push((await submitBatch(s, urlPath, body)).job_id);
  const submitted = Date.now();
  const jobs = [...(await waitForJobs(s, jobIds, { pollMs })).values()];
  const cpuEnd = childCpuSeconds(s);
  const byKind = threadCpuByKind(threadsStart, threadCpu(s.child.pid), poolThreads);
  const end = Math.max(...jobs.map((j) => Date.parse(j.status.finished_at ?? '')));
  const seen = Math.max(...jobs.map((j) => j.seenAt));
  return {
    jobIds,
    jobs,
    seconds: (end - start) / 1000,
    submitSeconds: (submitted - start) / 1000,
    seenSeconds: (seen - start) / 1000,
    cpuSeconds: cpuStart !== undefined && cpuEnd !== undefined ? cpuEnd - cpuStart : undefined,
    mainThreadCpuSeconds: byKind.main,
    threadCpuSeconds: byKind,
  };
}
