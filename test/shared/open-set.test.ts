import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OpenSetModel } from '../../src/shared/open-set.js';
import { loadManifest, loadOpenSet } from '../../src/shared/model-manifest.js';
import { modelsDir } from '../helpers/faces.js';

const model = loadOpenSet(modelsDir, loadManifest(modelsDir));

describe('OpenSetModel on the shipped fr_feature distance table', () => {
  it('reproduces the published per-comparison rates: FAR ~1e-4 at 0.59, ~1e-3 at 0.665', () => {
    assert.ok(model.far(0.59) > 0.5e-4 && model.far(0.59) < 2e-4, String(model.far(0.59)));
    assert.ok(model.far(0.665) > 0.5e-3 && model.far(0.665) < 2e-3, String(model.far(0.665)));
    assert.ok(model.frr(0.59) < 0.05, 'TAR ~97 % at high-security');
  });

  it('FAR falls monotonically with the threshold, through the measured range into the fitted tail', () => {
    let prior = Infinity;
    for (let t = 0.8; t >= 0.2; t -= 0.01) {
      const far = model.far(t);
      assert.ok(far <= prior, `FAR(${t.toFixed(2)}) = ${far} > FAR(${(t + 0.01).toFixed(2)}) = ${prior}`);
      prior = far;
    }
    assert.ok(model.tail.measured_from > 0.4 && model.tail.measured_from < 0.6);
  });

  it('the threshold it picks meets the target FPIR at that gallery size, and tightens as the gallery grows', () => {
    let prior = Infinity;
    for (const n of [10, 100, 1000, 10_000, 100_000, 1_000_000]) {
      const d = model.decide(0.01, n, 2);
      const fpir = model.fpir(d.threshold, n);
      assert.ok(fpir <= 0.0101 && fpir > 0.008, `N ${n}: FPIR ${fpir} at ${d.threshold}`);
      assert.ok(d.threshold < prior, `N ${n}: ${d.threshold} not stricter than ${prior}`);
      assert.equal(d.extrapolated, d.threshold < model.tail.measured_from);
      prior = d.threshold;
    }
  });

  it('a tiny gallery is held at the cap instead of a looser threshold', () => {
    const d = model.decide(0.01, 1, 0.59);
    assert.equal(d.capped, true);
    assert.equal(d.threshold, 0.59);
  });

  it('refuses a table too thin to fit a tail', () => {
    const thin = {
      model: 'm',
      source: 's',
      metric: 'cosine_distance' as const,
      grid: { from: 0, step: 0.5, count: 3 },
      genuine_pairs: 10,
      impostor_pairs: 10,
      genuine_at_or_below: [0, 10, 10],
      impostor_at_or_below: [0, 5, 10],
    };
    assert.throws(() => new OpenSetModel(thin, model.thresholds), /too few impostor pairs/);
  });
});
