/**
 * A job whose worker is killed twice while it runs it (a crash loop, a node drained twice) is
 * handed on each time and ends with its real outcome, not "job stalled more than allowable
 * limit" while it still had attempts left (BullMQ's default maxStalledCount is 1). Real worker
 * OS processes (dist/src/worker/main.js), killed with SIGKILL while the item is active.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { after, before, describe, it } from 'node:test';
import { b64, enroll, results, untilFinished } from '../helpers/batches.js';
import { identities, modelsDir } from '../helpers/faces.js';
import { phonePhoto } from '../helpers/phone-photo.js';
import { JOBS } from '../../src/shared/jobs/index.js';
import { REDIS_URL, startService, waitFor, type TestService } from '../helpers/service.js';

const WORKER_MAIN = fileURLToPath(new URL('../../src/worker/main.js', import.meta.url));

describe('a job whose worker is killed twice while running it', () => {
  let svc: TestService;
  const children: { child: ChildProcess; exited: Promise<unknown> }[] = [];

  function spawnWorker() {
    const env = {
      PATH: process.env.PATH ?? '',
      KEY_PREFIX: svc.config.keyPrefix,
      DATA_DIR: svc.config.dataDir,
      ...(svc.config.mongodbUrl ? { MONGODB_URL: svc.config.mongodbUrl } : {}),
      REDIS_URL,
      MODELS_DIR: modelsDir,
      POOL_SIZE: '1',
      JOB_LOCK_MS: '3000',
      STALLED_INTERVAL_MS: '1000',
      WORKER_METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
    };
    const child = spawn(process.execPath, [WORKER_MAIN], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    const exited = new Promise((r) => child.once('exit', r));
    children.push({ child, exited });
    return { child, exited };
  }

  let items: Queue;
  /** Batch items held by a live worker: a killed worker's stay `active` until the stalled check, but their lock expires. */
  const lockedItems = async () => {
    const ids = await items.getRanges(['active'], 0, -1);
    if (ids.length === 0) return 0;
    return svc.redis.exists(...ids.map((id) => `${svc.config.keyPrefix}:${items.name}:${id}:lock`));
  };

  before(async () => {
    svc = await startService({ worker: false });
    items = new Queue(JOBS['enroll-item'].queue, { connection: svc.redis, prefix: svc.config.keyPrefix });
  });
  after(async () => {
    for (const { child, exited } of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }
    await items?.close();
    await svc?.stop();
  });

  it('is handed on after each kill and ends ENROLLED, each of its people once', async () => {
    // Ten 12 MP photos of one person (5 photos at two noise seeds): seconds of work, so a kill
    // lands while it runs; a second person with three, in the same queue job (ENROLL_PEOPLE_PER_JOB).
    const [person, other] = identities(5);
    assert.ok(person && other);
    const images = await Promise.all(
      Array.from({ length: 10 }, (_, i) => phonePhoto(person.name, (i % 5) + 1, i < 5 ? 92 : 97).then(b64)),
    );
    const others = await Promise.all([1, 2, 3].map((n) => phonePhoto(other.name, n, 92).then(b64)));
    const { job_id } = await enroll(svc.app, {
      items: [
        { user_id: 'stalled-twice', name: person.name, images },
        { user_id: 'stalled-twice-2', name: other.name, images: others },
      ],
    });
    for (let kill = 1; kill <= 2; kill++) {
      const w = spawnWorker();
      await waitFor(async () => (await lockedItems()) > 0, `item running on worker ${kill}`, 120_000);
      assert.ok(w.child.pid !== undefined && process.kill(w.child.pid, 'SIGKILL'));
      await w.exited;
      // Its lock (JOB_LOCK_MS) expires; then only the next worker can hold the item.
      await waitFor(async () => (await lockedItems()) === 0, `worker ${kill}'s lock expired`, 30_000);
      const items = (await results(svc.app, job_id)).items;
      assert.deepEqual(items, [], `no result yet after kill ${kill}`);
    }
    spawnWorker();
    const final = (await untilFinished(svc.app, job_id, 180_000)).at(-1);
    const { items } = await results(svc.app, job_id);
    assert.deepEqual(
      items.map((r) => [r.ref, r.outcome, r.ok]),
      [
        ['stalled-twice', 'ENROLLED', true],
        ['stalled-twice-2', 'ENROLLED', true],
      ],
      JSON.stringify(items),
    );
    assert.equal(final?.status, 'completed');
    // Each enrolled photo once, though the job ran three times.
    for (const r of items) {
      const user = (await (await svc.app.request(`/api/v1/users/${String(r.ref)}`)).json()) as {
        templates: unknown[];
      };
      assert.ok(Number(r.templates) >= 1);
      assert.equal(user.templates.length, r.templates, JSON.stringify(r));
    }
  });
});
