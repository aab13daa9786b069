/**
 * The tower's view of BullMQ: jobs stalled (held by a killed worker, handed to another), jobs
 * active now (so a kill lands on a busy worker), and the drain at the end.
 */
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { JOBS } from '../src/shared/jobs/index.js';
import { QUEUE_NAMES } from '../src/shared/jobs/queues.js';
import { JobStatus } from '../src/shared/schemas.js';
import type { Spawned } from './service.js';
import { apiGet, type Submitted } from './tower-audit.js';

/** The BullMQ states in which a job still has work ahead of it. */
const PENDING_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;
const FINAL = new Set<JobStatus['status']>(['completed', 'completed_with_errors', 'failed']);

export interface QueueWatch {
  /** `stalled` events seen on every queue so far. */
  stalled(): number;
  /** Inference jobs active right now on a live worker (their lock is held). */
  activeInference(): Promise<number>;
  close(): Promise<void>;
}

export async function watchQueues(api: Spawned): Promise<QueueWatch> {
  let stalled = 0;
  // BullMQ does not close connections it is handed: keep them to close here.
  const connections = QUEUE_NAMES.map(() => new Redis(api.redisUrl, { maxRetriesPerRequest: null }));
  const watchers = QUEUE_NAMES.map(
    (name, i) => new QueueEvents(name, { connection: connections[i] as Redis, prefix: api.keyPrefix }),
  );
  for (const w of watchers) w.on('stalled', () => stalled++);
  await Promise.all(watchers.map((w) => w.waitUntilReady()));
  const plain = new Redis(api.redisUrl, { maxRetriesPerRequest: null });
  const inference = new Queue(JOBS['enroll-item'].queue, { connection: plain, prefix: api.keyPrefix });
  return {
    stalled: () => stalled,
    async activeInference() {
      // A dead worker's jobs stay `active` until the stalled check: count only locked ones.
      const ids = await inference.getRanges(['active'], 0, -1);
      if (ids.length === 0) return 0;
      const locked = await plain.exists(...ids.map((id) => `${api.keyPrefix}:${inference.name}:${id}:lock`));
      return locked;
    },
    async close() {
      await Promise.all([...watchers, inference].map((w) => w.close()));
      for (const c of [...connections, plain]) c.disconnect();
    },
  };
}

export interface Drain {
  drained: boolean;
  seconds: number;
  /** Pending jobs per queue and state at the end (all zero when drained). */
  pending: Record<string, number>;
  /** Batches not in a final state at the end. */
  unfinished: number;
}

/**
 * Polls until every queue has no job waiting, active, delayed, prioritized or waiting on
 * children, and every batch says it is final — or `timeoutMs` passes.
 */
export async function waitDrained(api: Spawned, jobs: Submitted[], timeoutMs: number): Promise<Drain> {
  const started = Date.now();
  const connection = new Redis(api.redisUrl, { maxRetriesPerRequest: null });
  const queues = QUEUE_NAMES.map((name) => new Queue(name, { connection, prefix: api.keyPrefix }));
  const open = new Set(jobs.map((j) => j.job_id));
  try {
    for (;;) {
      const pending: Record<string, number> = {};
      for (const q of queues) {
        const counts = await q.getJobCounts(...PENDING_STATES);
        for (const [state, n] of Object.entries(counts)) if (n > 0) pending[`${q.name}.${state}`] = n;
      }
      for (const id of [...open]) {
        const status = JobStatus.parse(await apiGet(api, `/api/v1/jobs/${id}`));
        if (FINAL.has(status.status)) open.delete(id);
      }
      const drained = Object.keys(pending).length === 0 && open.size === 0;
      const seconds = (Date.now() - started) / 1000;
      if (drained || Date.now() - started > timeoutMs) {
        return { drained, seconds, pending, unfinished: open.size };
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await Promise.all(queues.map((q) => q.close()));
    connection.disconnect();
  }
}

/**
 * Counts BullMQ's `stalled` events on every queue while the tower runs: jobs a killed worker held
 * (lock expired, moved back to wait). Shows the kills hit work in flight, not idle processes.
 */
export async function watchStalls(
  api: Spawned,
): Promise<{ count: () => number; close: () => Promise<void> }> {
  let stalled = 0;
  // BullMQ does not close connections it is handed: keep them to close here.
  const connections = QUEUE_NAMES.map(() => new Redis(api.redisUrl, { maxRetriesPerRequest: null }));
  const watchers = QUEUE_NAMES.map(
    (name, i) => new QueueEvents(name, { connection: connections[i] as Redis, prefix: api.keyPrefix }),
  );
  for (const w of watchers) w.on('stalled', () => stalled++);
  await Promise.all(watchers.map((w) => w.waitUntilReady()));
  return {
    count: () => stalled,
    async close() {
      await Promise.all(watchers.map((w) => w.close()));
      for (const c of connections) c.disconnect();
    },
  };
}
