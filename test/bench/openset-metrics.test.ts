import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cohortMean,
  cohortZ,
  combined,
  detCurve,
  fnirAtFpir,
  margin,
  rankRate,
  ratesAt,
  restrictGallery,
  scoreSearches,
  sizeCurve,
  top1,
  type Scored,
  type Search,
} from '../../bench/openset-metrics.js';
import { nearestSynthetic } from '../../bench/openset-synthetic.js';

const close = (actual: number, expected: number, tol = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${actual} is not ${expected}`);

/**
 * 6 mated probes: four right top-1s at 0.1-0.4, one wrong top-1 at 0.15, one with no face;
 * 10 non-mated probes at 0.25, 0.35, 0.5 ... 1.2.
 */
const scored: Scored[] = [
  ...[0.1, 0.2, 0.3, 0.4].map((score) => ({ mated: true, hit: true, score })),
  { mated: true, hit: false, score: 0.15 },
  { mated: true, hit: false, score: Number.POSITIVE_INFINITY },
  ...[0.25, 0.35, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2].map((score) => ({
    mated: false,
    hit: false,
    score,
  })),
];

describe('open-set rates', () => {
  it('FPIR counts non-mated at or under t; FNIR counts wrong top-1s under t as misses', () => {
    const r = ratesAt(scored, 0.3);
    close(r.fpir, 1 / 10);
    close(r.fnir, 3 / 6); // hits 0.1, 0.2, 0.3; the wrong 0.15 and the no-face probe are misses
    assert.equal(r.falsePositives, 1);
    close(ratesAt(scored, 10).fnir, 2 / 6); // the wrong top-1 is never a hit, however loose t is
    close(ratesAt(scored, 10).fpir, 1);
  });

  it('FNIR at FPIR: the loosest threshold under the target, flagged when it cannot be resolved', () => {
    const at10 = fnirAtFpir(scored, 0.1);
    assert.equal(at10.allowed, 1);
    close(at10.threshold, 0.325); // between the last score under 0.35 (0.3) and 0.35
    close(at10.fpir, 0.1);
    close(at10.fnir, 0.5);
    assert.equal(at10.resolved, true);
    const at1 = fnirAtFpir(scored, 0.01);
    assert.equal(at1.allowed, 0);
    close(at1.threshold, 0.225);
    close(at1.fpir, 0);
    close(at1.fnir, 4 / 6);
    assert.equal(at1.resolved, false); // 10 non-mated cannot show 1 %
    const at30 = fnirAtFpir(scored, 0.3);
    close(at30.fpir, 0.3);
    close(at30.fnir, 2 / 6);
  });

  it('the DET curve walks every threshold and ends at the loosest point', () => {
    const det = detCurve(scored);
    assert.equal(det.length, 15);
    for (let i = 1; i < det.length; i++) {
      assert.ok((det[i] as (typeof det)[number]).fpir >= (det[i - 1] as (typeof det)[number]).fpir);
      assert.ok((det[i] as (typeof det)[number]).fnir <= (det[i - 1] as (typeof det)[number]).fnir);
    }
    assert.deepEqual(det.at(-1), { threshold: 1.2, fpir: 1, fnir: 2 / 6 });
  });
});

describe('decision scores', () => {
  const c = [
    { id: 'a', distance: 0.3 },
    { id: 'b', distance: 0.5 },
    { id: 'c', distance: 0.7 },
    { id: 'd', distance: 0.5 },
  ];
  it('top-1, margin and the combined rule', () => {
    close(top1(c), 0.3);
    close(margin(c), -0.2);
    close(combined(1)(c), 0.1);
    close(combined(0.5)(c), 0.2);
    assert.equal(top1([]), Number.POSITIVE_INFINITY);
    assert.equal(margin([{ id: 'a', distance: 0.3 }]), Number.POSITIVE_INFINITY);
  });
  it('cohort scores use d2..dk of the probe itself', () => {
    // d2..d4 = 0.5, 0.7, 0.5: mean 0.5667, population std 0.0943
    const mean = 1.7 / 3;
    const std = Math.sqrt(((0.5 - mean) ** 2 * 2 + (0.7 - mean) ** 2) / 3);
    close(cohortZ(c), -(mean - 0.3) / std);
    close(cohortMean(c), 0.3 - mean);
    assert.equal(cohortZ(c.slice(0, 3)), Number.POSITIVE_INFINITY); // two neighbours are too few
  });
});

describe('galleries', () => {
  const searches: Search[] = [
    {
      mate: 'b',
      candidates: [
        { id: 'a', distance: 0.3 },
        { id: 'b', distance: 0.5 },
        { id: 'c', distance: 0.7 },
      ],
    },
    {
      mate: 'c',
      candidates: [
        { id: 'c', distance: 0.2 },
        { id: 'a', distance: 0.9 },
      ],
    },
    { mate: null, candidates: [{ id: 'a', distance: 0.6 }] },
  ];
  it('scores and ranks mated searches against their mate', () => {
    assert.deepEqual(
      scoreSearches(searches, top1).map((s) => [s.mated, s.hit]),
      [
        [true, false],
        [true, true],
        [false, false],
      ],
    );
    close(rankRate(searches, 1), 0.5);
    close(rankRate(searches, 2), 1);
  });
  it('a smaller gallery drops candidates, and a probe whose mate is dropped becomes non-mated', () => {
    const kept = restrictGallery(searches[0] as Search, new Set(['b', 'c']));
    assert.equal(kept.mate, 'b');
    assert.deepEqual(
      kept.candidates.map((x) => x.id),
      ['b', 'c'],
    );
    assert.equal(restrictGallery(searches[0] as Search, new Set(['a', 'c'])).mate, null);
    const [whole] = sizeCurve(searches, ['a', 'b', 'c'], [3], [0.55], 5, 1);
    assert.equal(whole?.repeats, 1);
    close(whole?.fpir[0] ?? -1, 0); // 0.6 > 0.55
    close(whole?.fnir[0] ?? -1, 0.5); // the first search's top-1 is wrong
    const [one] = sizeCurve(searches, ['a', 'b', 'c'], [1], [0.55], 30, 1);
    assert.equal(one?.repeats, 30);
    assert.ok((one?.nonMated ?? 0) >= 1);
  });
  it('the nearest synthetic templates of a prefix, nearest first', () => {
    const d = Float64Array.from([0.9, 0.2, 0.5, 0.1, 0.4]);
    assert.deepEqual(
      nearestSynthetic(d, 5, 3).map((x) => x.id),
      ['syn-3', 'syn-1', 'syn-4'],
    );
    assert.deepEqual(
      nearestSynthetic(d, 3, 2).map((x) => x.id),
      ['syn-1', 'syn-2'],
    );
  });
});
