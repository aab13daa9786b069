import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import {
  calibrate as calibrateWith,
  calibrateAsync as calibrateAsyncWith,
  equalErrorRate,
  ratesAt,
  thresholdAtFar,
  type CalibrationEntry,
  type CalibrationOptions,
} from '../../src/shared/calibration.js';
import { renderCalibrationSvg } from '../../src/shared/calibration-svg.js';
import { l2Normalize } from '../../src/shared/face-math.js';
import { THRESHOLDS } from '../helpers/pack.js';
import { mulberry32Uint } from '../../src/shared/prng.js';

/** Calibration with the shipped pack's published thresholds (the API passes its manifest's). */
type Options = Omit<CalibrationOptions, 'thresholds'>;
const calibrate = (entries: CalibrationEntry[], options: Options = {}) =>
  calibrateWith(entries, { thresholds: THRESHOLDS.cosine, ...options });
const calibrateAsync = (entries: CalibrationEntry[], options: Options = {}) =>
  calibrateAsyncWith(entries, { thresholds: THRESHOLDS.cosine, ...options });

const DIM = 512;
const f32 = (values: number[]) => Float32Array.from(values).sort();
const close = (actual: number, expected: number, tol = 1e-6) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${actual} is not ${expected} (± ${tol})`);

/** Deterministic normal samples (mulberry32 + Box-Muller). */
function gaussian(seed: number): () => number {
  const next = mulberry32Uint(seed);
  const uniform = () => (next() + 1) / 4294967297;
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Users as random centres, templates as centre + small noise: genuine ~0.2, impostor ~1.0. */
function syntheticGallery(users: number, perUser: number, seed = 1): CalibrationEntry[] {
  const g = gaussian(seed);
  const entries: CalibrationEntry[] = [];
  for (let u = 0; u < users; u++) {
    const centre = Array.from({ length: DIM }, g);
    for (let t = 0; t < perUser; t++)
      entries.push({
        user_id: `user-${u}`,
        template_id: `t${t}`,
        embedding: l2Normalize(centre.map((x) => x + 0.5 * g())),
      });
  }
  return entries;
}

/** A unit basis vector, or the normalised sum of two. */
const basis = (...axes: number[]) =>
  l2Normalize(Array.from({ length: DIM }, (_, i) => (axes.includes(i) ? 1 : 0)));

describe('calibrate on synthetic users (centre + small noise)', () => {
  const entries = syntheticGallery(30, 4);
  const r = calibrate(entries, { group: 'synthetic' });

  it('counts users, templates and every pair', () => {
    assert.equal(r.status, 'ok');
    assert.deepEqual(r.missing, []);
    assert.deepEqual(r.counts, {
      users: 30,
      users_with_2plus_templates: 30,
      templates: 120,
      genuine_pairs: 30 * 6,
      impostor_pairs: (120 * 119) / 2 - 180,
    });
    assert.equal(r.impostor_sampling.method, 'all');
    assert.equal(r.impostor_sampling.total_pairs, r.counts.impostor_pairs);
  });

  it('finds EER 0 with the threshold between the two distributions', () => {
    const { genuine, impostor } = r.distances;
    assert.ok(genuine && impostor);
    assert.ok(genuine.max < impostor.min, `genuine max ${genuine.max}, impostor min ${impostor.min}`);
    assert.equal(r.eer?.eer, 0);
    const t = r.eer?.threshold ?? NaN;
    assert.ok(t > genuine.max && t < impostor.min, `EER threshold ${t}`);
    close(t, (genuine.max + impostor.min) / 2, 1e-3);
  });

  it('says why FAR targets cannot be resolved with too few impostor pairs', () => {
    for (const f of r.far_targets) {
      assert.equal(f.threshold, null);
      assert.match(
        f.reason ?? '',
        /only 6960 impostor pairs; resolving FAR .* needs at least (10000|100000)/,
      );
    }
    assert.equal(r.recommendation?.threshold, THRESHOLDS.cosine.balanced);
    assert.match(r.recommendation?.reason ?? '', /too few/);
  });

  it('resolves FAR 1e-3 once there are 10,000 impostor pairs, with FRR 0 on separated users', () => {
    const big = calibrate(syntheticGallery(80, 2, 7));
    const [far3, far4] = big.far_targets;
    assert.equal(big.counts.impostor_pairs, (160 * 159) / 2 - 80);
    assert.ok(far3?.threshold !== null && far3?.threshold !== undefined);
    assert.ok(far3.threshold > (big.distances.genuine?.max ?? 1));
    assert.ok((far3.far ?? 1) <= 1e-3);
    assert.equal(far3.frr, 0);
    assert.equal(far4?.threshold, null);
  });

  it('fills curves and histograms: FAR rises, FRR falls, every pair in a bin', () => {
    const { curves, histogram } = r;
    assert.ok(curves && histogram);
    assert.equal(curves.threshold.length, 241);
    assert.equal(curves.threshold.at(-1), 1.2);
    assert.deepEqual([curves.far[0], curves.frr[0], curves.far.at(-1), curves.frr.at(-1)], [0, 1, 1, 0]);
    for (let i = 1; i < curves.far.length; i++) {
      assert.ok((curves.far[i] as number) >= (curves.far[i - 1] as number));
      assert.ok((curves.frr[i] as number) <= (curves.frr[i - 1] as number));
    }
    const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
    assert.equal(sum(histogram.genuine) + histogram.overflow.genuine, r.counts.genuine_pairs);
    assert.equal(sum(histogram.impostor) + histogram.overflow.impostor, r.counts.impostor_pairs);
  });

  it('samples impostor pairs above the cap, deterministically and whatever the input order', async () => {
    const options = { maxImpostorPairs: 1000, seed: 99 };
    const a = calibrate(entries, options);
    assert.deepEqual(a.impostor_sampling, {
      method: 'sample',
      pairs: 1000,
      total_pairs: 6960,
      max_pairs: 1000,
      seed: 99,
    });
    assert.equal(a.counts.genuine_pairs, 180, 'genuine pairs are never sampled');
    assert.equal(a.eer?.eer, 0, 'a sampled pair is never two templates of one user');
    assert.deepEqual(calibrate([...entries].reverse(), options), a);
    assert.deepEqual(await calibrateAsync(entries, options), a);
  });
});

describe('calibrate on constructed vectors with known distances', () => {
  // a: two identical templates (distance 0); b: e1 and (e1+e2)/sqrt2 (distance 1 - 1/sqrt2);
  // every impostor pair is orthogonal (distance 1).
  const entries = [
    { user_id: 'a', embedding: basis(0) },
    { user_id: 'a', embedding: basis(0) },
    { user_id: 'b', embedding: basis(1) },
    { user_id: 'b', embedding: basis(1, 2) },
  ];
  const r = calibrate(entries);

  it('computes the distances, the EER midpoint and the histogram bins', () => {
    const b = 1 - Math.SQRT1_2;
    assert.equal(r.counts.genuine_pairs, 2);
    assert.equal(r.counts.impostor_pairs, 4);
    close(r.distances.genuine?.max ?? NaN, b, 1e-4);
    assert.equal(r.distances.impostor?.min, 1);
    assert.equal(r.eer?.eer, 0);
    close(r.eer?.threshold ?? NaN, (b + 1) / 2, 1e-4);
    assert.equal(r.histogram?.genuine[0], 1);
    assert.equal(r.histogram?.genuine[Math.floor(b / 0.02)], 1);
    assert.equal(r.histogram?.impostor[50], 4);
    const balanced = r.published.find((p) => p.level === 'balanced');
    assert.deepEqual(balanced, { level: 'balanced', threshold: 0.665, far: 0, frr: 0 });
  });
});

describe('EER and FAR thresholds on hand-computed distances', () => {
  it('interpolates the EER where FRR - FAR changes sign', () => {
    // At 0.5: FRR 1/4, FAR 1/5 (gap .05); at 0.6: FRR 1/4, FAR 2/5 (gap -.15): a = .25.
    const r = equalErrorRate(f32([0.1, 0.3, 0.5, 0.7]), f32([0.4, 0.6, 0.8, 0.9, 1.0]));
    close(r.eer, 0.25);
    close(r.threshold, 0.525);
  });

  it('takes the midpoint of a stretch where FAR = FRR', () => {
    const separated = equalErrorRate(f32([0.1, 0.2]), f32([0.8, 0.9]));
    assert.equal(separated.eer, 0);
    close(separated.threshold, 0.5);
    const equal = equalErrorRate(f32([0.2, 0.6]), f32([0.4, 0.8]));
    assert.equal(equal.eer, 0.5);
    close(equal.threshold, 0.5);
  });

  it('puts the FAR 1e-3 threshold between the 10th and 11th smallest of 10,000 impostor distances', () => {
    const impostor = f32([
      ...Array.from({ length: 20 }, (_, i) => 0.3 + i / 100),
      ...Array<number>(9980).fill(0.9),
    ]);
    const genuine = f32([0.2, 0.35, 0.45, 0.5]);
    const r = thresholdAtFar(genuine, impostor, 1e-3);
    assert.deepEqual(r, { target_far: 1e-3, threshold: 0.395, far: 1e-3, frr: 0.5, reason: null });
    assert.deepEqual(ratesAt(genuine, impostor, 0.395), { threshold: 0.395, far: 1e-3, frr: 0.5 });
    const r4 = thresholdAtFar(genuine, impostor, 1e-4);
    assert.equal(r4.threshold, null);
    assert.equal(r4.reason, 'only 10000 impostor pairs; resolving FAR 0.0001 needs at least 100000');
  });

  it('rejects impostors tied at the cut together (FAR below the target rather than above)', () => {
    const impostor = f32([
      ...Array.from({ length: 9 }, (_, i) => 0.3 + i / 100),
      ...Array<number>(5).fill(0.4),
      ...Array<number>(9986).fill(0.9),
    ]);
    const r = thresholdAtFar(f32([0.2, 0.5]), impostor, 1e-3);
    assert.deepEqual(r, { target_far: 1e-3, threshold: 0.39, far: 9e-4, frr: 0.5, reason: null });
  });
});

describe('calibrate with too little data', () => {
  it('says what is missing and leaves the numbers out', () => {
    const one = calibrate([
      { user_id: 'a', embedding: basis(0) },
      { user_id: 'a', embedding: basis(1) },
    ]);
    assert.equal(one.status, 'insufficient_data');
    assert.deepEqual(one.missing, ['at least 2 enrolled users (found 1)']);
    assert.equal(one.eer, null);
    assert.equal(one.curves, null);
    assert.equal(one.recommendation, null);
    const singles = calibrate([0, 1, 2].map((i) => ({ user_id: `u${i}`, embedding: basis(i) })));
    assert.equal(singles.status, 'insufficient_data');
    assert.match(singles.missing.join(), /genuine pairs: at least one user with 2 or more templates/);
    assert.equal(singles.counts.impostor_pairs, 3);
    assert.equal(calibrate([]).missing.length, 2);
  });
});

/** A small well-formedness check: tags balance, no raw `<` or `&` in text or attributes. */
function assertWellFormed(svg: string): void {
  const body = svg.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (const m of body.matchAll(tag)) {
    const between = body.slice(last, m.index);
    assert.ok(
      !/[<>]|&(?!(amp|lt|gt|quot|apos);)/.test(between),
      `raw markup in text: ${between.slice(0, 80)}`,
    );
    last = m.index + m[0].length;
    const [, close, name = '', , selfClosing] = m;
    if (selfClosing) continue;
    if (close) assert.equal(stack.pop(), name, `</${name}> does not close the open tag`);
    else stack.push(name);
  }
  assert.equal(body.slice(last).trim(), '', 'text after the root element');
  assert.deepEqual(stack, [], 'unclosed tags');
}

describe('renderCalibrationSvg', () => {
  const report = calibrate(syntheticGallery(12, 3), { group: 'site <&> "east"', model: 'm1' });

  it('is a well-formed ~900x700 SVG with the legend, axes and threshold labels', async () => {
    const svg = renderCalibrationSvg(report);
    assertWellFormed(svg);
    assert.match(svg, /<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="900" height="700"/);
    for (const label of [
      'genuine: same person',
      'impostor: different people',
      'FAR: impostors accepted',
      'FRR: genuine users rejected',
      'cosine distance',
      `balanced ${THRESHOLDS.cosine.balanced}`,
      `high_security ${THRESHOLDS.cosine.high_security}`,
      `EER ${report.eer?.threshold}`,
      'Recommendation:',
    ])
      assert.ok(svg.includes(label), `missing "${label}"`);
    // librsvg (inside sharp) parses it as XML: it renders, at the declared size.
    const png = await sharp(Buffer.from(svg)).png().toBuffer({ resolveWithObject: true });
    assert.deepEqual([png.info.width, png.info.height], [900, 700]);
  });

  it('escapes the group name', () => {
    const svg = renderCalibrationSvg(report);
    assert.ok(svg.includes('site &lt;&amp;&gt; &quot;east&quot;'));
    assert.ok(!svg.includes('<&>'));
  });

  it('shows the missing data instead of charts', async () => {
    const svg = renderCalibrationSvg(calibrate([{ user_id: 'x<y', embedding: basis(0) }], { group: '<&>' }));
    assertWellFormed(svg);
    assert.ok(svg.includes('Not enough data to calibrate'));
    assert.ok(svg.includes('at least 2 enrolled users (found 1)'));
    assert.ok(svg.includes('group &quot;&lt;&amp;&gt;&quot;'));
    assert.ok(!svg.includes('<polyline'));
    await sharp(Buffer.from(svg)).png().toBuffer();
  });
});
