import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/shared/config.js';
import { evidenceThresholds } from '../../src/shared/decision.js';
import { evidenceStatus, isConfirming, isStrong, statusCondition } from '../../src/shared/evidence.js';
import { OpenSetModel } from '../../src/shared/open-set.js';
import { modelsDir } from '../helpers/faces.js';
import { THRESHOLDS } from '../helpers/pack.js';

const record = (confirming: number, strong: number, closes = '2026-03-02T09:05:00.000Z') => ({
  kind: 'match' as const,
  confirming_sightings: confirming,
  strong_sightings: strong,
  window_closes_at: closes,
});

void describe('evidenceStatus (issue 8 §3)', () => {
  const open = '2026-03-02T09:04:00.000Z';
  const closed = '2026-03-02T09:05:00.001Z';

  void it('two confirming sightings or one strong one confirm, whenever it is read', () => {
    for (const now of [open, closed]) {
      assert.equal(evidenceStatus(record(2, 0), now), 'confirmed');
      assert.equal(evidenceStatus(record(1, 1), now), 'confirmed');
      assert.equal(evidenceStatus(record(0, 1), now), 'confirmed');
      assert.equal(evidenceStatus(record(7, 3), now), 'confirmed');
    }
  });

  void it('less is pending up to the window end (inclusive), then unconfirmed', () => {
    for (const r of [record(1, 0), record(0, 0)]) {
      assert.equal(evidenceStatus(r, open), 'pending');
      assert.equal(evidenceStatus(r, '2026-03-02T09:05:00.000Z'), 'pending');
      assert.equal(evidenceStatus(r, closed), 'unconfirmed');
    }
  });

  void it('unknown faces have no status', () => {
    assert.equal(evidenceStatus({ ...record(3, 1), kind: 'unknown' }, open), null);
  });

  void it('grades a sighting against its own thresholds, inclusive, matches only', () => {
    const s = { kind: 'match' as const, distance: 0.45, confirm_threshold: 0.5, strong_threshold: 0.45 };
    assert.deepEqual([isConfirming(s), isStrong(s)], [true, true]);
    assert.deepEqual(
      [isConfirming({ ...s, distance: 0.4501 }), isStrong({ ...s, distance: 0.4501 })],
      [true, false],
    );
    assert.equal(isConfirming({ ...s, distance: 0.5001 }), false);
    assert.equal(isStrong({ ...s, strong_threshold: null }), false);
    assert.equal(isConfirming({ ...s, confirm_threshold: null }), false);
    assert.deepEqual(
      [isConfirming({ ...s, distance: null }), isStrong({ ...s, distance: null })],
      [false, false],
    );
    assert.deepEqual(
      [isConfirming({ ...s, kind: 'unknown' }), isStrong({ ...s, kind: 'unknown' })],
      [false, false],
    );
  });

  void it('statusCondition says what each filter asks', () => {
    assert.deepEqual(statusCondition('confirmed'), { enough: true });
    assert.deepEqual(statusCondition('pending'), { enough: false, closed: false });
    assert.deepEqual(statusCondition('unconfirmed'), { enough: false, closed: true });
  });
});

void describe('evidenceThresholds', () => {
  const openSet = OpenSetModel.load(modelsDir, 'fr_feature-distances.json', THRESHOLDS);
  const deps = { config: loadConfig({ MODELS_DIR: modelsDir }), openSet };

  void it('confirm: the open-set threshold at the target; strong: at a 10x stricter one; never above the decision', () => {
    for (const n of [50, 537, 2300, 100_000]) {
      const confirm = openSet.decide(0.01, n, 0.59).threshold;
      const strong = openSet.decide(0.001, n, 0.59).threshold;
      assert.deepEqual(evidenceThresholds(deps, n, confirm), {
        confirm_threshold: confirm,
        strong_threshold: strong,
      });
      // A caller's looser threshold does not loosen either; a stricter one caps both.
      assert.deepEqual(evidenceThresholds(deps, n, 0.75), {
        confirm_threshold: confirm,
        strong_threshold: strong,
      });
      assert.deepEqual(evidenceThresholds(deps, n, 0.3), {
        confirm_threshold: Math.min(0.3, confirm),
        strong_threshold: Math.min(0.3, strong),
      });
    }
    // The figures the comments quote.
    assert.deepEqual(
      [50, 537, 2300].map((n) => evidenceThresholds(deps, n, 0.59).strong_threshold),
      [0.5459, 0.4731, 0.4291],
    );
  });
});
