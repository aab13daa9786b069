/**
 * The pool's two lanes: a sync job's photo (a caller waits) is taken by the next free thread
 * before every batch item queued ahead of it. Sync jobs and batch items have a BullMQ queue each,
 * so this is where a sync call still outranks a batch. Real models and photos, one thread.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InferencePool } from '../../../src/worker/inference/pool.js';
import { defaultOptions, modelsDir, photo } from '../../helpers/faces.js';

describe('InferencePool lanes', () => {
  let pool: InferencePool;
  before(async () => {
    pool = new InferencePool({ modelsDir, size: 1 });
    await pool.warmUp(photo('Aaron_Peirsol', 1), defaultOptions);
  });
  after(async () => {
    await pool?.close();
  });

  it('runs sync tasks before the batch tasks queued ahead of them', async () => {
    const done: string[] = [];
    const run = (label: string, lane: 'sync' | 'batch') =>
      pool
        .lane(lane)
        .analyse(photo('Aaron_Peirsol', 1), defaultOptions)
        .then(() => done.push(label));
    const batch = Array.from({ length: 5 }, (_, i) => run(`batch-${i}`, 'batch'));
    const sync = [run('sync-0', 'sync'), run('sync-1', 'sync')];
    await Promise.all([...batch, ...sync]);
    // batch-0 was already on the thread; the sync tasks go next. (Within a lane Piscina may
    // reorder: a task it could not hand to a busy thread goes back to the tail by default.)
    assert.equal(done[0], 'batch-0', done.join());
    assert.deepEqual(done.slice(1, 3).sort(), ['sync-0', 'sync-1'], done.join());
    assert.deepEqual(done.slice(3).sort(), ['batch-1', 'batch-2', 'batch-3', 'batch-4'], done.join());
  });

  it('analyse without a lane is a batch task', async () => {
    const done: string[] = [];
    const tasks = [
      pool.analyse(photo('Aaron_Peirsol', 1), defaultOptions).then(() => done.push('default-0')),
      pool.analyse(photo('Aaron_Peirsol', 1), defaultOptions).then(() => done.push('default-1')),
      pool
        .lane('sync')
        .analyse(photo('Aaron_Peirsol', 1), defaultOptions)
        .then(() => done.push('sync')),
    ];
    await Promise.all(tasks);
    assert.deepEqual(done, ['default-0', 'sync', 'default-1']);
  });
});
