/**
 * "Tower defence" (Graphile Worker's harness, for Shelia): one API process and N worker
 * processes on one Redis prefix and one store, waves of enrollment and attendance batches, a
 * random worker SIGKILLed every ~killEvery seconds and replaced; then the queues must drain and
 * every accepted item must have exactly one outcome, every enrolled photo exactly one template,
 * and no person two attendance records for one camera and window.
 *
 * Used by `npm run bench:tower` (bench/tower.ts) and test/e2e/tower.test.ts.
 */
import os from 'node:os';
import { mulberry32 } from '../src/shared/prng.js';
import { audit, type Audit, type Submitted } from './tower-audit.js';
import { waitDrained, watchQueues, type Drain, type QueueWatch } from './tower-queues.js';
import { enrollmentBody, frameBatch, listPeople, type Person } from './tower-load.js';
import { startCluster, type Cluster } from './tower-processes.js';
import { jobResults, submitBatch, type Spawned } from './service.js';

export interface TowerOptions {
  workers: number;
  /** How long waves are sent (the drain comes after). */
  seconds: number;
  killEverySeconds: number;
  /** MongoDB-protocol URL with a database of the run's own (dropped afterwards); else SQLite. */
  mongodbUrl?: string;
  facesDir: string;
  redisUrl: string;
  waveEverySeconds: number;
  enrollPerWave: number;
  framesPerWave: number;
  facesPerFrame: number;
  drainTimeoutSeconds: number;
  poolSize: number;
  /** ENROLL_PEOPLE_PER_JOB of the workers; unset = the service's default. */
  peoplePerJob?: number;
  seed: number;
  tag: string;
  /** Progress lines. */
  log: (line: string) => void;
  /** Each line a service process prints. */
  onOutput: (name: string, line: string) => void;
  /** Told how to stop the cluster early (the bench calls it on Ctrl-C, then exits). */
  onStarted?: (stop: () => Promise<void>) => void;
}

export interface TowerReport extends Audit, Omit<Drain, 'seconds'> {
  store: 'sqlite' | 'mongodb';
  workers: number;
  seconds: number;
  kills: number;
  /** Jobs BullMQ found stalled (held by a killed worker) and handed to another. */
  stalled_jobs: number;
  /** Kills made while every worker had inference jobs in flight. */
  kills_on_busy_workers: number;
  /** Workers that exited without being killed. Should be 0. */
  worker_crashes: number;
  batches: number;
  /** Batches the API refused (anything but 202); the figures count accepted ones only. */
  rejected_submissions: number;
  /** From the last submit until the queues were empty and every batch final. */
  drain_s: number;
  /** Sightings the records hold minus matched faces the frame results report. */
  sightings_excess: number;
  startup_s: number;
  loadavg_end: number[];
}

const GROUP = 'tower';
const CAMERAS = ['tower-cam-1', 'tower-cam-2'];
/** The service's default window, set explicitly so the audit judges with the same one. */
const WINDOW_MS = 5 * 60_000;
/** A worker is killed only once it has had time to load its models and take jobs. */
const MIN_UPTIME_MS = 4000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runTower(o: TowerOptions): Promise<TowerReport> {
  const people = listPeople(o.facesDir);
  if (people.length === 0) throw new Error(`no photos under ${o.facesDir}`);
  const random = mulberry32(o.seed);
  const started = Date.now();
  const cluster = await startCluster({
    workers: o.workers,
    redisUrl: o.redisUrl,
    ...(o.mongodbUrl ? { mongodbUrl: o.mongodbUrl } : {}),
    tag: o.tag,
    poolSize: o.poolSize,
    onOutput: o.onOutput,
    env: {
      // Distinct people, but a few LFW strangers look alike: warn, never reject.
      DUPLICATE_POLICY: 'warn',
      ATTENDANCE_WINDOW_MS: String(WINDOW_MS),
      // A dead worker's jobs come back within ~lock + check (7 s) instead of BullMQ's 60 s.
      JOB_LOCK_MS: '5000',
      STALLED_INTERVAL_MS: '2000',
      SHUTDOWN_GRACE_MS: '3000',
      ...(o.peoplePerJob === undefined ? {} : { ENROLL_PEOPLE_PER_JOB: String(o.peoplePerJob) }),
    },
  });
  o.onStarted?.(() => cluster.stop());
  try {
    await cluster.waitReady(o.workers, 180_000);
    const startup_s = (Date.now() - started) / 1000;
    o.log(
      `cluster up in ${startup_s.toFixed(1)} s: 1 API + ${o.workers} workers, prefix ${cluster.keyPrefix}`,
    );
    const watch = await watchQueues(cluster.api);
    let waves: Awaited<ReturnType<typeof sendWaves>>;
    let drain: Drain;
    try {
      waves = await sendWaves(cluster, watch, people, o, random);
      o.log(`waves done: ${waves.submitted.length} batches, ${cluster.kills} kills; draining`);
      drain = await waitDrained(cluster.api, waves.submitted, o.drainTimeoutSeconds * 1000);
    } finally {
      await watch.close();
    }
    const stalledJobs = watch.stalled();
    o.log(`drain: ${drain.drained ? 'empty' : 'NOT empty'} after ${drain.seconds.toFixed(1)} s`);
    const figures = await audit(cluster.api, waves.submitted, { group: GROUP, windowMs: WINDOW_MS });
    const { seconds: drainSeconds, ...drainRest } = drain;
    return {
      store: o.mongodbUrl ? 'mongodb' : 'sqlite',
      workers: o.workers,
      seconds: o.seconds,
      kills: cluster.kills,
      stalled_jobs: stalledJobs,
      kills_on_busy_workers: waves.busyKills,
      worker_crashes: cluster.crashes,
      batches: waves.submitted.length,
      rejected_submissions: waves.rejected,
      ...figures,
      ...drainRest,
      drain_s: Math.round(drainSeconds * 10) / 10,
      sightings_excess: figures.sightings_recorded - figures.faces_matched,
      startup_s: Math.round(startup_s * 10) / 10,
      loadavg_end: os.loadavg().map((v) => Math.round(v * 100) / 100),
    };
  } finally {
    await cluster.stop();
  }
}

/** Waves every waveEverySeconds, kills every ~killEverySeconds, both for `seconds`. */
async function sendWaves(
  cluster: Cluster,
  watch: QueueWatch,
  people: Person[],
  o: TowerOptions,
  random: () => number,
) {
  const end = Date.now() + o.seconds * 1000;
  const killer = killLoop(cluster, watch, end, o, random);
  const submitted: Submitted[] = [];
  const enrollments: { job_id: string; people: Person[] }[] = [];
  const enrolled: Person[] = [];
  let rejected = 0;
  let next = 0;
  // One fixed morning: every frame's time is within two windows of it, so sightings chain.
  const t0 = Date.parse('2026-03-02T08:00:00.000Z');
  const submit = async (
    type: Submitted['type'],
    body: Buffer,
    extra: Pick<Submitted, 'shown' | 'sent' | 'camera'>,
  ) => {
    const urlPath = type === 'enrollment' ? '/api/v1/enrollments' : '/api/v1/attendance';
    try {
      const accepted = await submitBatch(cluster.api, urlPath, body);
      submitted.push({ job_id: accepted.job_id, type, items: accepted.items, ...extra });
      return accepted.job_id;
    } catch (err) {
      rejected++;
      o.log(`submit ${type} refused: ${String(err).slice(0, 300)}`);
      return undefined;
    }
  };
  for (let wave = 0; Date.now() < end; wave++) {
    const waveStart = Date.now();
    const batch = people.slice(next, next + o.enrollPerWave);
    next += batch.length;
    if (batch.length > 0) {
      const sent = Object.fromEntries(batch.map((p) => [p.id, 1]));
      const id = await submit('enrollment', enrollmentBody(batch, GROUP), { sent });
      if (id) enrollments.push({ job_id: id, people: batch });
    }
    await collectEnrolled(cluster.api, enrollments, enrolled);
    if (enrolled.length > 0 && o.framesPerWave > 0) {
      const camera = CAMERAS[wave % CAMERAS.length] as string;
      const frames = await frameBatch(
        enrolled,
        {
          count: o.framesPerWave,
          perFrame: o.facesPerFrame,
          camera,
          t0,
          spreadMs: 2 * WINDOW_MS,
        },
        random,
      );
      await submit('attendance', frames.body, { shown: frames.shown, camera });
    }
    await sleep(Math.max(0, waveStart + o.waveEverySeconds * 1000 - Date.now()));
  }
  const busyKills = await killer;
  return { submitted, rejected, busyKills };
}

/**
 * Moves people whose enrollment batch has finished, and who have a second photo, into `enrolled`:
 * frames show only people the service really enrolled.
 */
async function collectEnrolled(
  api: Spawned,
  pending: { job_id: string; people: Person[] }[],
  enrolled: Person[],
): Promise<void> {
  for (const job of [...pending]) {
    const results = await jobResults(api, job.job_id);
    if (results.length < job.people.length) continue;
    pending.splice(pending.indexOf(job), 1);
    const ok = new Set(results.filter((r) => r.ok && r.ref).map((r) => r.ref));
    enrolled.push(...job.people.filter((p) => ok.has(p.id) && p.photos.length > 1));
  }
}

/**
 * Every ~killEverySeconds a random worker is killed, at a moment when every worker has work in
 * flight (so the kill loses something to recover), or after waiting a wave for one. Resolves to
 * how many kills found every worker busy.
 */
async function killLoop(
  cluster: Cluster,
  watch: QueueWatch,
  end: number,
  o: TowerOptions,
  random: () => number,
) {
  // Each worker runs 2 x POOL_SIZE inference jobs at most: more active than the other workers
  // can hold means each has at least one.
  const busy = 2 * o.poolSize * (o.workers - 1) + 1;
  let busyKills = 0;
  for (;;) {
    // ±25 % around the period, so kills do not fall in step with the waves.
    const wait = o.killEverySeconds * 1000 * (0.75 + 0.5 * random());
    if (Date.now() + wait >= end) return busyKills;
    await sleep(wait);
    const until = Date.now() + o.waveEverySeconds * 1000 + 1000;
    let active = await watch.activeInference();
    while (active < busy && Date.now() < until) {
      await sleep(50);
      active = await watch.activeInference();
    }
    if (active >= busy) busyKills++;
    const { name, uptimeS } = await cluster.killWorker(random, MIN_UPTIME_MS);
    o.log(
      `kill -9 ${name} (up ${uptimeS.toFixed(1)} s, ${active} inference jobs active); ${cluster.kills} kills`,
    );
  }
}
