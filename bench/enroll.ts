/**
 * Enrollment throughput through the whole system: HTTP API -> blob store and Redis queue ->
 * worker (pool, quality gates, duplicate search) -> store, against the raw pipeline figure on
 * the same photos in the same run.
 *
 *   npm run bench:enroll -- [--faces DIR] [--limit N] [--chunk C] [--poll-ms P] [--warm-up W] [--json]
 *
 * N people (default 500), one photo each: the first photo of each identity under DIR (default
 * the shared lfw-dev set), identities in sorted order, each its own user_id. They are sent as
 * JSON batches of C people (default 100) with base64 photos, every batch is polled to
 * completion (each open batch every P ms, default 100; the end is the server's finished_at,
 * so P changes what the polls cost the service, not when the run ends), and the figure is
 * photos / (last batch finished - first submit). The raw figure
 * is the same photos through an InferencePool of the service's pool size, all at once; the
 * difference is what the API, queue and store cost ("queue overhead"). Before either clock, each
 * side runs W photos (default 2 x the pool size): the raw pool W photos, the service a batch of W
 * people, erased again.
 *
 * Photos are read in place and never copied. With --json the last stdout line is one JSON
 * object with every figure.
 */
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/shared/config.js';
import { InferencePool } from '../src/worker/inference/pool.js';
import { analyseOptions } from '../src/worker/processors/analyse-options.js';
import {
  eraseUser,
  jobResults,
  spawnService,
  stopOnSignal,
  stopService,
  submitBatch,
  measureBatches,
  serviceCounts,
  threadCpu,
  threadCpuByKind,
  waitForJobs,
  waitHealthy,
  type Spawned,
} from './service.js';
import { formatItemCost, startMeter, type ItemCost } from './redis-counts.js';
import { startPrivateRedis, type PrivateRedis } from '../test/helpers/private-redis.js';
import { machine, positiveInt, r2 } from './stats.js';

const { values: args } = parseArgs({
  options: {
    faces: { type: 'string' },
    limit: { type: 'string', default: '500' },
    embeds: { type: 'string', default: '50' },
    chunk: { type: 'string', default: '100' },
    'poll-ms': { type: 'string', default: '100' },
    'warm-up': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const limit = positiveInt('limit', args.limit);
const chunk = positiveInt('chunk', args.chunk);
const pollMs = positiveInt('poll-ms', args['poll-ms']);
const embedCalls = positiveInt('embeds', args.embeds);
// People (photos) each side runs before its clock starts; default 2 x the pool size (set below).
const warmUpArg = args['warm-up'] === undefined ? undefined : positiveInt('warm-up', args['warm-up']);
// dist/bench/enroll.js -> repo root is two levels up; the shared photos sit next to the repo.
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const facesDir = path.resolve(args.faces ?? path.resolve(repoRoot, '..', 'shared', 'faces', 'lfw-dev'));
// Re-used faces (the warm-up people, look-alikes in LFW) must not turn into rejected items:
// the bench measures throughput, and a reject skips the store write an accept would pay for.
const SERVICE_ENV = { DUPLICATE_POLICY: 'warn' };

const log = (line: string) => console.log(line);
// Progress goes to stderr so stdout holds only the table (and, with --json, the JSON line last).
const note = (line: string) => console.error(line);

interface Person {
  userId: string;
  name: string;
  file: string;
  bytes: Buffer;
}

/** The first photo of each identity (`DIR/<Name>/<Name>_NNNN.jpg`), identities sorted. */
async function collectPeople(dir: string, max: number): Promise<Person[]> {
  const identities = (await readdir(dir, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const people: Person[] = [];
  for (const identity of identities) {
    if (people.length >= max) break;
    const first = (await readdir(path.join(dir, identity)))
      .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
      .sort()[0];
    if (!first) continue;
    const file = path.join(dir, identity, first);
    // LFW names are already valid user ids ([A-Za-z0-9_.@:-]); other sets get the rest replaced.
    const userId = identity.replace(/[^A-Za-z0-9_.@:-]/g, '_').slice(0, 128);
    people.push({ userId, name: identity.replace(/_/g, ' '), file, bytes: await readFile(file) });
  }
  return people;
}

/** One enrollment request body, serialised now so no clock ever measures JSON.stringify. */
function enrollmentBody(people: Person[]): Buffer {
  const items = people.map((p) => ({ user_id: p.userId, name: p.name, image: p.bytes.toString('base64') }));
  return Buffer.from(JSON.stringify({ items }));
}

/**
 * `embedCalls` sync POST /api/v1/embed, one after another, each with the next person's photo:
 * what one sync call costs Redis and the store (the batch figures do not show it).
 */
async function measureEmbeds(s: Spawned, redisUrl: string, people: Person[]): Promise<ItemCost> {
  const meter = await startMeter(redisUrl, () => serviceCounts(s));
  for (let i = 0; i < embedCalls; i++) {
    const person = people[i % people.length] as Person;
    const res = await fetch(`${s.baseUrl}/api/v1/embed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': s.key },
      body: JSON.stringify({ image: person.bytes.toString('base64') }),
    });
    await res.arrayBuffer();
  }
  return meter.stop(embedCalls);
}

let spawned: Spawned | undefined;
let redis: PrivateRedis | undefined;
stopOnSignal(() => spawned);

try {
  const loadStart = os.loadavg();
  const people = await collectPeople(facesDir, limit);
  if (people.length === 0) throw new Error(`no photos under ${facesDir}; pass --faces DIR`);
  if (people.length < limit) note(`only ${people.length} identities under ${facesDir} (asked for ${limit})`);
  // The service's settings, from the environment the child will see: same pool size and the
  // same decode options for the raw figure as the worker uses.
  const config = loadConfig({ ...process.env, ...SERVICE_ENV });
  const options = analyseOptions(config, 'largest');
  const poolSize = config.poolSize;
  const warmUp = warmUpArg ?? 2 * poolSize;

  // --- raw pipeline, before the service exists so the two never compete for the cores ---
  note(`raw pipeline: ${people.length} photos through InferencePool x${poolSize}`);
  const pool = new InferencePool({ modelsDir: config.modelsDir, size: poolSize });
  let raw: { seconds: number; cpuSeconds: number; ok: number; failed: number };
  let rawMainCpu = 0;
  let rawThreads: Record<string, number> = {};
  try {
    const first = people[0]?.bytes ?? Buffer.alloc(0);
    // Loads every thread's ONNX sessions, which the service's warm-up batch does for it too.
    await pool.warmUp(new Uint8Array(first), options);
    // As many photos as the service's warm-up batch has people (beyond pool.warmUp's), so both
    // sides start the clock with their code equally warm.
    const extra = Math.max(0, warmUp - 2 * poolSize);
    await Promise.all(
      Array.from({ length: extra }, (_, i) =>
        pool
          .analyse(new Uint8Array((people[i % people.length] as Person).bytes), options)
          .catch(() => undefined),
      ),
    );
    // Whole copies made before the clock: the pool detaches what it is handed, as the worker's
    // transfer of a freshly read blob does.
    const copies = people.map((p) => new Uint8Array(p.bytes));
    let ok = 0;
    let failed = 0;
    const t0 = performance.now();
    // Every thread of this process: the pool's threads do the work, the main one only waits.
    const cpu0 = process.cpuUsage();
    const rawThreads0 = threadCpu(process.pid);
    await Promise.all(
      copies.map((bytes) =>
        pool.analyse(bytes, options, { handOver: 'transfer' }).then(
          (r) => (r.faces.length > 0 ? ok++ : failed++),
          () => failed++,
        ),
      ),
    );
    const cpu = process.cpuUsage(cpu0);
    rawThreads = threadCpuByKind(rawThreads0, threadCpu(process.pid), poolSize);
    rawMainCpu = rawThreads.main ?? 0;
    raw = { seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, ok, failed };
  } finally {
    // Free the threads and their sessions before the service loads its own.
    await pool.close();
  }
  const rawPerS = people.length / raw.seconds;

  // --- the system ---
  const batches: Person[][] = [];
  for (let i = 0; i < people.length; i += chunk) batches.push(people.slice(i, i + chunk));
  const bodies = batches.map(enrollmentBody);
  const bodyBytes = bodies.reduce((s, b) => s + b.length, 0);
  // 2 x pool size people by default (as pool.warmUp does), so every pool thread has loaded its
  // sessions and the first measured batch does not pay for it; --warm-up N for a service whose
  // code the JIT has compiled (a running one): at 500 people, the main thread's 3.3-4.7 ms a
  // photo is partly code still interpreted and its compilation on V8's threads. Their ids cannot
  // clash with LFW names.
  const warmUpPeople = Array.from({ length: warmUp }, (_, i) => ({
    ...(people[i % people.length] as Person),
    userId: `warmup-${i}`,
  }));
  const warmUpBody = enrollmentBody(warmUpPeople);

  note('starting the service (node dist/src/all-in-one.js)');
  // A private Redis, so INFO commandstats counts only this service's commands.
  redis = await startPrivateRedis();
  spawned = await spawnService({ tag: 'bench-enroll', env: SERVICE_ENV, redisUrl: redis.url, counted: true });
  const service = spawned;
  await waitHealthy(service);
  const warm = await submitBatch(service, '/api/v1/enrollments', warmUpBody);
  await waitForJobs(service, [warm.job_id]);
  // Erased again, or the measured people whose photos they borrowed would be "duplicates".
  // Best effort: a failure here only shows up as duplicate warnings, not in any figure.
  for (const p of warmUpPeople) await eraseUser(service, p.userId).catch(() => undefined);

  note(`submitting ${people.length} people in ${bodies.length} batch(es) of up to ${chunk}`);
  const meter = await startMeter(redis.url, () => serviceCounts(service));
  const measured = await measureBatches(service, '/api/v1/enrollments', bodies, pollMs, poolSize);
  const cost = await meter.stop(people.length);
  note(`${embedCalls} sync /embed calls, one at a time, counted`);
  const embedCost = await measureEmbeds(service, redis.url, people);
  const { jobs, jobIds } = measured;
  const systemSeconds = measured.seconds;
  const systemPerS = people.length / systemSeconds;
  const overheadPct = ((rawPerS - systemPerS) / rawPerS) * 100;
  // CPU per photo, which the load of other work on the machine skews far less than wall time.
  // The system's includes answering the polls and its idle heartbeat: small, and real.
  const rawCpuMs = (raw.cpuSeconds * 1000) / people.length;
  const systemCpuMs =
    measured.cpuSeconds !== undefined ? (measured.cpuSeconds * 1000) / people.length : undefined;
  // At full load throughput is cores / CPU per photo, so this is the overhead a saturated box sees.
  const cpuOverheadPct =
    systemCpuMs !== undefined ? ((systemCpuMs - rawCpuMs) / systemCpuMs) * 100 : undefined;

  // The event loop's share: what the API, BullMQ, the store and the 1:N index cost per photo
  // (the raw run's main thread only waits for the pool), steadier than the whole process's CPU,
  // which the pool threads' inference (~30 ms a photo) makes swing by several ms between runs.
  const rawMainMs = (rawMainCpu * 1000) / people.length;
  const mainMs =
    measured.mainThreadCpuSeconds !== undefined
      ? (measured.mainThreadCpuSeconds * 1000) / people.length
      : undefined;

  // CPU ms a photo by kind of thread (main, pool, helpers, libvips worker): where the system's
  // CPU beyond the raw run's goes.
  const perPhoto = (kinds: Record<string, number>) =>
    Object.fromEntries(Object.entries(kinds).map(([kind, s]) => [kind, r2((s * 1000) / people.length)]));
  const byKind = (kinds: Record<string, number>) =>
    Object.entries(perPhoto(kinds))
      .map(([kind, ms]) => `${kind} ${ms}`)
      .join(', ');
  // The same CPU overhead with the inference threads' CPU taken as equal in both runs: they run
  // the same photos with the same options, and what differs between the raw run and the
  // system's (22.7-30.1 ms a photo in ten runs on the Zen 3 box, either side ahead) is the
  // machine's speed drifting, not the system. What is left is the service's own threads
  // (event loop, V8's compiler and GC workers, libuv) against the raw run's.
  const notPool = (kinds: Record<string, number>) =>
    (Object.entries(kinds).reduce((sum, [kind, s]) => (kind === 'pool' ? sum : sum + s), 0) * 1000) /
    people.length;
  const systemPoolMs = ((measured.threadCpuSeconds.pool ?? 0) * 1000) / people.length;
  const serviceMs = notPool(measured.threadCpuSeconds) - notPool(rawThreads);
  const serviceOverheadPct =
    systemPoolMs > 0 ? (serviceMs / (systemPoolMs + notPool(measured.threadCpuSeconds))) * 100 : undefined;

  const outcomes: Record<string, number> = {};
  let duplicateWarnings = 0;
  for (const id of jobIds) {
    for (const item of await jobResults(service, id)) {
      outcomes[item.outcome] = (outcomes[item.outcome] ?? 0) + 1;
      if (Array.isArray(item.warnings) && item.warnings.length > 0) duplicateWarnings++;
    }
  }
  const statuses: Record<string, number> = {};
  for (const j of jobs) statuses[j.status.status] = (statuses[j.status.status] ?? 0) + 1;
  const loadEnd = os.loadavg();

  // --- report ---
  const pad = (v: string | number, w: number) => String(v).padStart(w);
  log(
    `\nShelia enrollment bench: ${people.length} people, one photo each, from ${facesDir}; ` +
      `node ${process.version}, ${os.availableParallelism()} CPUs, pool x${poolSize}, ` +
      `load ${loadStart.map(r2).join(' ')}`,
  );
  log(
    `${'path'.padEnd(42)}${pad('photos', 8)}${pad('seconds', 10)}${pad('photos/s', 10)}${pad('CPU ms/photo', 14)}`,
  );
  log(
    `${`raw pipeline (InferencePool x${poolSize})`.padEnd(42)}${pad(people.length, 8)}` +
      `${pad(r2(raw.seconds), 10)}${pad(r2(rawPerS), 10)}${pad(r2(rawCpuMs), 14)}`,
  );
  log(
    `${'system (API -> Redis -> worker -> store)'.padEnd(42)}${pad(people.length, 8)}` +
      `${pad(r2(systemSeconds), 10)}${pad(r2(systemPerS), 10)}${pad(systemCpuMs !== undefined ? r2(systemCpuMs) : 'n/a', 14)}`,
  );
  log(`queue overhead: ${r2(overheadPct)} % of the raw throughput ((raw - system) / raw)`);
  if (cpuOverheadPct !== undefined)
    log(
      `CPU overhead:   ${r2(cpuOverheadPct)} % ((system - raw) / system CPU per photo; steadier under load)`,
    );
  if (mainMs !== undefined)
    log(
      `main thread:    ${r2(mainMs)} ms CPU per photo in the service (raw run: ${r2(rawMainMs)}), ` +
        `${r2((mainMs / rawCpuMs) * 100)} % of the raw CPU per photo`,
    );
  log(`CPU ms a photo by thread: raw run ${byKind(rawThreads)}; system ${byKind(measured.threadCpuSeconds)}`);
  if (serviceOverheadPct !== undefined)
    log(
      `service CPU:    ${r2(serviceMs)} ms a photo beyond the raw run's, outside the inference threads: ` +
        `${r2(serviceOverheadPct)} % of the system's CPU a photo with inference taken as equal`,
    );
  log(
    `submit: ${bodies.length} batch(es) of up to ${chunk}, ${r2(bodyBytes / 1024 / 1024)} MB of JSON, ` +
      `all accepted after ${r2(measured.submitSeconds)} s; last finish seen by polling after ` +
      `${r2(measured.seenSeconds)} s`,
  );
  for (const line of formatItemCost('photo (enrollment item)', cost)) log(line);
  for (const line of formatItemCost('sync /embed call', embedCost)) log(line);
  log(`raw: ${raw.ok} photos with a face, ${raw.failed} without or refused`);
  log(
    `outcomes: ${Object.entries(outcomes)
      .sort(([, a], [, b]) => b - a)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}; duplicate warnings ${duplicateWarnings}; batches ${JSON.stringify(statuses)}`,
  );
  log(`load average at the end: ${loadEnd.map(r2).join(' ')} (other work on the machine skews every figure)`);

  if (args.json) {
    const summary = {
      faces_dir: facesDir,
      people: people.length,
      chunk,
      poll_ms: pollMs,
      warm_up: warmUp,
      batches: bodies.length,
      body_bytes: bodyBytes,
      pool_size: poolSize,
      raw_seconds: r2(raw.seconds),
      raw_photos_per_s: r2(rawPerS),
      raw_with_face: raw.ok,
      raw_failed: raw.failed,
      system_seconds: r2(systemSeconds),
      system_photos_per_s: r2(systemPerS),
      queue_overhead_pct: r2(overheadPct),
      raw_cpu_ms_per_photo: r2(rawCpuMs),
      system_cpu_ms_per_photo: systemCpuMs !== undefined ? r2(systemCpuMs) : null,
      cpu_overhead_pct: cpuOverheadPct !== undefined ? r2(cpuOverheadPct) : null,
      raw_main_thread_cpu_ms_per_photo: r2(rawMainMs),
      main_thread_cpu_ms_per_photo: mainMs !== undefined ? r2(mainMs) : null,
      raw_thread_cpu_ms_per_photo: perPhoto(rawThreads),
      service_cpu_ms_per_photo: r2(serviceMs),
      service_cpu_overhead_pct: serviceOverheadPct !== undefined ? r2(serviceOverheadPct) : null,
      thread_cpu_ms_per_photo: perPhoto(measured.threadCpuSeconds),
      submit_seconds: r2(measured.submitSeconds),
      last_seen_seconds: r2(measured.seenSeconds),
      outcomes,
      duplicate_warnings: duplicateWarnings,
      batch_statuses: statuses,
      per_item: cost,
      per_embed: embedCost,
      ...machine(loadStart, loadEnd),
    };
    log(JSON.stringify(summary));
  }
} finally {
  if (spawned) await stopService(spawned);
  await redis?.stop();
}
