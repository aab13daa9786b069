/**
 * A worker process killed with SIGKILL in the middle of a 300-item enrollment batch: a new
 * worker process finishes it (BullMQ stalled-job recovery), no item is lost and none is
 * enrolled twice. The workers are real OS processes (dist/src/worker/main.js); this process
 * only runs the API (no worker) to submit the batch and read the outcome.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  enroll,
  firstIdentities,
  item,
  lfw,
  listUsers,
  outcomeOf,
  results,
  status,
  untilFinished,
} from '../helpers/batches.js';
import { modelsDir } from '../helpers/faces.js';
import { REDIS_URL, startService, waitFor, type TestService } from '../helpers/service.js';

const WORKER_MAIN = fileURLToPath(new URL('../../src/worker/main.js', import.meta.url));
const ITEMS = 300;
/**
 * Recovery waits for the dead worker's locks to expire and a stalled check to find them. With
 * BullMQ's defaults (30 s lock, 30 s checks) that took 60-95 s; the workers here run with a 5 s
 * lock and 2 s checks (JOB_LOCK_MS, STALLED_INTERVAL_MS), so it takes seconds.
 */
const RECOVERY_MS = 60_000;
/**
 * On the MongoDB-protocol run (FerretDB over SQLite) every store write is several times slower:
 * 100 enrollments took 19.7 s there against ~4 s here, so the 250 left after the kill need ~50 s
 * of work on top of the recovery.
 */
const FINISH_MS = process.env.MONGODB_URL ? 4 * RECOVERY_MS : RECOVERY_MS;

interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<NodeJS.Signals | number | null>;
  output: () => string;
}

describe('kill -9 of a worker process in the middle of a 300-item batch', () => {
  let svc: TestService;
  const workers: WorkerProcess[] = [];
  const people = firstIdentities(ITEMS);
  let jobId: string;
  let doneAtKill = 0;

  function spawnWorker(): WorkerProcess {
    const env = {
      PATH: process.env.PATH ?? '',
      KEY_PREFIX: svc.config.keyPrefix,
      DATA_DIR: svc.config.dataDir,
      ...(svc.config.mongodbUrl ? { MONGODB_URL: svc.config.mongodbUrl } : {}),
      REDIS_URL,
      MODELS_DIR: modelsDir,
      POOL_SIZE: '2',
      JOB_LOCK_MS: '5000',
      STALLED_INTERVAL_MS: '2000',
      WORKER_METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
      // Distinct people, but a few LFW strangers look alike at FAR 1e-4: warn, never reject.
      DUPLICATE_POLICY: 'warn',
    };
    const child = spawn(process.execPath, [WORKER_MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (d: Buffer) => (output = (output + d.toString()).slice(-4000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<NodeJS.Signals | number | null>((r) =>
      child.on('exit', (code, signal) => r(signal ?? code)),
    );
    const w = { child, exited, output: () => output };
    workers.push(w);
    return w;
  }

  before(async () => {
    svc = await startService({ worker: false, env: { DUPLICATE_POLICY: 'warn' } });
  });
  after(async () => {
    for (const w of workers) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.exited;
    }
    await svc?.stop();
  });

  it('accepts the batch and the first worker process gets part-way through it', async () => {
    jobId = (await enroll(svc.app, { items: people.map((p) => item(p.name, lfw(p.name), 'crash')) })).job_id;
    const first = spawnWorker();
    await waitFor(
      async () => (await status(svc.app, jobId)).progress.done >= 50 || first.child.exitCode !== null,
      '50 results',
      60_000,
    );
    assert.equal(first.child.exitCode, null, `the worker exited early:\n${first.output()}`);
    assert.ok(first.child.pid !== undefined && process.kill(first.child.pid, 'SIGKILL'));
    assert.equal(await first.exited, 'SIGKILL');
    doneAtKill = (await status(svc.app, jobId)).progress.done;
    assert.ok(doneAtKill >= 50 && doneAtKill < ITEMS, `${doneAtKill} results when the worker was killed`);
    assert.equal((await status(svc.app, jobId)).status, 'active');
  });

  it('a new worker process completes the batch: every item has exactly one result', async () => {
    const second = spawnWorker();
    const started = Date.now();
    const final = (await untilFinished(svc.app, jobId, FINISH_MS)).at(-1);
    const took = Date.now() - started;
    assert.equal(second.child.exitCode, null, second.output());
    assert.ok(final && final.status !== 'active', `still active after ${took} ms`);
    const { items } = await results(svc.app, jobId, 1000);
    assert.equal(items.length, ITEMS);
    assert.ok(
      items.every((r, i) => r.index === i),
      'one result per index',
    );
    const wrong = items
      .map((r, i) => ({ index: i, ref: r.ref, got: outcomeOf(r), want: people[i]?.expected, error: r.error }))
      .filter((x, i) => x.ref !== people[i]?.name || x.got !== x.want);
    assert.deepEqual(wrong, [], `killed at ${doneAtKill} results; recovered in ${took} ms`);
    const failed = people.filter((p) => p.expected !== 'ENROLLED').length;
    assert.equal(final.status, 'completed_with_errors');
    assert.deepEqual(final.progress, { total: ITEMS, done: ITEMS, failed });
  });

  it('enrolled no one twice: one user per ENROLLED item, each with exactly one template', async () => {
    const { users } = await listUsers(svc.app, 100, 'crash');
    const enrolled = people.filter((p) => p.expected === 'ENROLLED').map((p) => p.name);
    assert.deepEqual(
      users.map((u) => u.user_id),
      [...enrolled].sort(),
    );
    const twice = users.filter((u) => u.templates.length !== 1).map((u) => [u.user_id, u.templates.length]);
    assert.deepEqual(twice, []);
    await waitFor(
      () => Promise.resolve(!existsSync(join(svc.config.dataDir, 'blobs', jobId))),
      'photos deleted',
    );
  });
});
