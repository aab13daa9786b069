import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runAsync, runSync, step, type Steps } from '../../../../src/shared/store/rules/steps.js';

/** A rule in the shape of the window rule: two storage calls, a try/finally around the second. */
function* rule(read: () => number | Promise<number>, log: string[]): Steps<number> {
  const a = yield* step(read());
  try {
    const b = yield* step(read());
    return a + b;
  } finally {
    log.push('finally');
  }
}

void describe('rules/steps: one rule, run synchronously or awaited', () => {
  void it('runSync gives the value at once; runAsync the same value, awaited', async () => {
    let n = 0;
    assert.equal(runSync(rule(() => ++n, [])), 3);
    n = 0;
    assert.equal(await runAsync(rule(() => Promise.resolve(++n), [])), 3);
  });

  void it('a rejection is thrown into the rule where it waited (its finally runs), then out', async () => {
    const log: string[] = [];
    let n = 0;
    const read = () => (++n === 2 ? Promise.reject(new Error('lost connection')) : Promise.resolve(n));
    await assert.rejects(runAsync(rule(read, log)), /lost connection/);
    assert.deepEqual(log, ['finally']);
  });

  void it('runSync refuses a primitive that gives a promise (it would run outside the transaction)', () => {
    assert.throws(() => runSync(rule(() => Promise.resolve(1), [])), /synchronous backend gave a promise/);
  });
});
