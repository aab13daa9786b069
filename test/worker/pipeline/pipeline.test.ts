import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { ServiceError, type ErrorCode } from '../../../src/shared/errors.js';
import { cosineDistance, cosineSimilarity, norm } from '../../../src/shared/face-math.js';
import type { AnalysisResult, DetectedFace, Point } from '../../../src/shared/face-types.js';
import { InferencePool } from '../../../src/worker/inference/pool.js';
import type { AnalyseOptions } from '../../../src/worker/pipeline/face-pipeline.js';
import {
  composite,
  defaultOptions,
  identities,
  modelsDir,
  pastedCentre,
  photo,
  type PastedFace,
} from '../../helpers/faces.js';

// LFW photos are centred on the named person; some also show bystanders (who can be larger).
const centred: AnalyseOptions = { ...defaultOptions, select: 'center' };
const all: AnalyseOptions = { ...defaultOptions, select: 'all' };
/** README: best LFW threshold, cosine distance 0.714 (similarity 0.286). */
const LFW_THRESHOLD = 0.714;

let pool: InferencePool;
before(() => {
  pool = new InferencePool({ modelsDir, size: 2 });
});
after(async () => {
  await pool.close();
});

function only<T>(items: readonly T[]): T {
  assert.equal(items.length, 1, `expected exactly one, got ${items.length}`);
  return items[0] as T;
}

async function face(bytes: Uint8Array, options = centred): Promise<DetectedFace> {
  return only((await pool.analyse(bytes, options)).faces);
}

async function rejectsWith(bytes: Uint8Array, code: ErrorCode, options = defaultOptions) {
  const err = await pool.analyse(bytes, options).then(
    (r) => assert.fail(`expected ${code}, got ${r.faces_detected} faces`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ServiceError, `expected ServiceError ${code}, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  return err;
}

const centreOf = (f: DetectedFace): [number, number] => [
  f.bbox.x + f.bbox.width / 2,
  f.bbox.y + f.bbox.height / 2,
];
const nearest = (r: AnalysisResult, [x, y]: [number, number]): [DetectedFace, number] => {
  const ranked = r.faces.map((f) => [f, Math.hypot(centreOf(f)[0] - x, centreOf(f)[1] - y)] as const);
  ranked.sort((a, b) => a[1] - b[1]);
  const best = ranked[0];
  assert.ok(best, 'no faces');
  return [best[0], best[1]];
};

void describe('face pipeline (InferencePool)', () => {
  void it('places photos of the same person nearer than photos of other people', async () => {
    const people = identities(2).filter((_, i) => i % 75 === 0); // 8 names spread over the set
    const embs = await Promise.all(
      people.map(async (p) => [
        (await face(photo(p.name, 1))).embedding,
        (await face(photo(p.name, 2))).embedding,
      ]),
    );
    embs.forEach(([a1, a2], i) => {
      const same = cosineDistance(a1 as Float32Array, a2 as Float32Array);
      const others = embs.filter((_, j) => j !== i).flat();
      const nearestOther = Math.min(...others.map((o) => cosineDistance(a1 as Float32Array, o)));
      const name = people[i]?.name ?? '';
      assert.ok(same < nearestOther, `${name}: same ${same} >= other ${nearestOther}`);
      assert.ok(same < LFW_THRESHOLD && nearestOther > LFW_THRESHOLD, `${name}: ${same} / ${nearestOther}`);
    });
  });

  void it('reports a unit 512-float embedding, box, five ordered landmarks, score and quality', async () => {
    const r = await pool.analyse(photo('Aaron_Peirsol', 1), defaultOptions);
    assert.deepEqual([r.width, r.height, r.faces_detected], [250, 250, 1]);
    const f = only(r.faces);
    assert.ok(f.embedding instanceof Float32Array);
    assert.equal(f.embedding.length, 512);
    assert.ok(Math.abs(norm(f.embedding) - 1) < 1e-5);
    const { x, y, width, height } = f.bbox;
    assert.ok(x >= 0 && y >= 0 && x + width <= 250 && y + height <= 250, JSON.stringify(f.bbox));
    assert.ok(height > 90 && height < 180 && width > 60 && width < height, JSON.stringify(f.bbox));
    assert.ok(Math.hypot(x + width / 2 - 125, y + height / 2 - 125) < 30, 'LFW faces are centred');
    assert.equal(f.landmarks.length, 5);
    for (const [lx, ly] of f.landmarks) {
      assert.ok(lx > x && lx < x + width && ly > y && ly < y + height, `landmark ${lx},${ly} outside box`);
    }
    const [le, re, nose, ml, mr] = f.landmarks as [Point, Point, Point, Point, Point];
    assert.ok(le[0] < re[0] && ml[0] < mr[0], 'left before right (image coordinates)');
    assert.ok(le[1] < nose[1] && nose[1] < ml[1] && re[1] < nose[1] && nose[1] < mr[1], 'eyes, nose, mouth');
    assert.ok(f.detection_score >= 0.65 && f.detection_score <= 1);
    assert.ok(Math.abs(f.quality.face_size - height) <= 1);
    assert.ok(Number.isFinite(f.quality.sharpness) && f.quality.sharpness > 0);
    for (const t of Object.values(r.timings)) assert.ok(t >= 0);
  });

  void it('rates a blurred copy of a photo less sharp than the original', async () => {
    const sharpFace = await face(photo('Edmund_Stoiber', 1));
    const blurred = await face(await sharp(photo('Edmund_Stoiber', 1)).blur(2).jpeg().toBuffer());
    assert.ok(blurred.quality.sharpness < sharpFace.quality.sharpness / 2);
  });

  void it('rejects bytes that are not an image with INVALID_IMAGE', async () => {
    await rejectsWith(Buffer.from('hello, this is not a photo'), 'INVALID_IMAGE');
  });

  void it('rejects a truncated JPEG (first half of a real photo) with INVALID_IMAGE', async () => {
    const p = photo('Aaron_Peirsol', 1);
    await rejectsWith(new Uint8Array(p.subarray(0, p.length >> 1)), 'INVALID_IMAGE');
  });

  void it('rejects a GIF with INVALID_IMAGE', async () => {
    const gif = await sharp({ create: { width: 32, height: 32, channels: 3, background: 'red' } })
      .gif()
      .toBuffer();
    assert.equal(gif.subarray(0, 6).toString('latin1'), 'GIF89a');
    await rejectsWith(gif, 'INVALID_IMAGE');
  });

  void it('rejects an animated WebP with INVALID_IMAGE', async () => {
    const frame = (c: string) => sharp({ create: { width: 64, height: 64, channels: 3, background: c } });
    const frames = await Promise.all(['red', 'green', 'blue'].map((c) => frame(c).png().toBuffer()));
    const webp = await sharp(frames, { join: { animated: true } })
      .webp()
      .toBuffer();
    assert.equal((await sharp(webp).metadata()).pages, 3);
    const err = await rejectsWith(webp, 'INVALID_IMAGE');
    assert.match(err.message, /animated/);
  });

  void it('rejects a 40-megapixel PNG with IMAGE_TOO_LARGE from its header alone', async () => {
    const png = await sharp({ create: { width: 8000, height: 5000, channels: 3, background: 'grey' } })
      .png()
      .toBuffer();
    const err = await rejectsWith(png, 'IMAGE_TOO_LARGE');
    assert.deepEqual(err.details, { width: 8000, height: 5000, max_pixels: 25_000_000 });
    // Only the first 2 KB: a full decode of this fails, so IMAGE_TOO_LARGE proves none was tried.
    const header = new Uint8Array(png.subarray(0, 2048));
    await rejectsWith(header, 'INVALID_IMAGE', { ...defaultOptions, maxPixels: 50_000_000 });
    await rejectsWith(header, 'IMAGE_TOO_LARGE');
  });

  void it('finds zero faces in a plain grey image', async () => {
    const grey = await sharp({ create: { width: 640, height: 480, channels: 3, background: 'grey' } })
      .jpeg()
      .toBuffer();
    const r = await pool.analyse(grey, defaultOptions);
    assert.deepEqual([r.width, r.height, r.faces_detected, r.faces.length], [640, 480, 0, 0]);
  });

  void it('applies EXIF orientation: a photo stored rotated with orientation 6 embeds like the upright one', async () => {
    const upright = await sharp(photo('Aaron_Peirsol', 1))
      .extend({ right: 150, background: 'grey' })
      .jpeg({ quality: 95 })
      .toBuffer();
    const stored = await sharp(upright).rotate(270).jpeg({ quality: 95 }).toBuffer(); // 250 wide, 400 high
    const tagged = await sharp(stored).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer();
    assert.equal((await sharp(tagged).metadata()).orientation, 6);
    const want = only((await pool.analyse(upright, defaultOptions)).faces);
    const r = await pool.analyse(tagged, defaultOptions);
    assert.deepEqual([r.width, r.height], [400, 250], 'reported in displayed orientation');
    const got = only(r.faces);
    assert.ok(cosineSimilarity(got.embedding, want.embedding) > 0.9);
    assert.ok(Math.hypot(got.bbox.x - want.bbox.x, got.bbox.y - want.bbox.y) < 3, JSON.stringify(got.bbox));
    // Control: the same pixels without the tag are a sideways face, which does not match.
    const sideways = (await pool.analyse(stored, all)).faces;
    assert.ok(sideways.every((f) => cosineSimilarity(f.embedding, want.embedding) < 0.5));
  });

  void describe('small faces in a 1920x1080 frame', () => {
    const people = ['Jeffrey_Jones', 'Edmund_Stoiber', 'Greg_Rusedski', 'Lisa_Marie_Presley'];
    const corners = [
      [100, 80],
      [900, 500],
      [1600, 150],
      [300, 850],
    ] as const;
    // 125 px photos: faces ~60 px tall.
    const pasted: PastedFace[] = people.map((name, i) => {
      const [left, top] = corners[i] ?? [0, 0];
      return { name, n: 1, left, top, side: 125 };
    });
    let frame: Buffer;
    before(async () => {
      frame = await composite({ width: 1920, height: 1080, background: 'noise', faces: pasted });
    });

    void it('finds every ~60 px face with tiling, near where it was pasted, and tiling is what finds them', async () => {
      const tiled = await pool.analyse(frame, all);
      assert.equal(tiled.faces_detected, 4);
      for (const p of pasted) {
        const [f, d] = nearest(tiled, pastedCentre(p));
        assert.ok(d < 15, `${p.name}: nearest box centre is ${d.toFixed(1)} px away`);
        assert.ok(f.bbox.height > 45 && f.bbox.height < 90, `${p.name}: ${JSON.stringify(f.bbox)}`);
      }
      const untiled = await pool.analyse(frame, { ...all, tiling: 'off' });
      assert.ok(untiled.faces_detected < 4, `tiling off found ${untiled.faces_detected}`);
    });

    void it('embeds each small face closer to another photo of that person than to the others', async () => {
      const tiled = await pool.analyse(frame, all);
      const refs = await Promise.all(people.map(async (n) => (await face(photo(n, 2))).embedding));
      pasted.forEach((p, i) => {
        const [f] = nearest(tiled, pastedCentre(p));
        const sims = refs.map((r) => cosineSimilarity(f.embedding, r));
        const same = sims[i] as number;
        const bestOther = Math.max(...sims.filter((_, j) => j !== i));
        assert.ok(same > bestOther, `${p.name}: same ${same} vs other ${bestOther}`);
      });
    });
  });

  void it('finds two side-by-side faces as two separate boxes', async () => {
    const two = await composite({
      width: 500,
      height: 250,
      faces: [
        { name: 'Aaron_Peirsol', n: 1, left: 0, top: 0, side: 250 },
        { name: 'Barry_Zito', n: 1, left: 250, top: 0, side: 250 },
      ],
    });
    const largest = await pool.analyse(two, defaultOptions);
    assert.deepEqual([largest.faces_detected, largest.faces.length], [2, 1]);
    const r = await pool.analyse(two, all);
    assert.deepEqual([r.faces_detected, r.faces.length], [2, 2]);
    for (const f of r.faces) {
      assert.ok(f.bbox.width / f.bbox.height < 1.1, JSON.stringify(f.bbox));
      const inOneHalf = f.bbox.x + f.bbox.width <= 255 || f.bbox.x >= 245;
      assert.ok(inOneHalf, `box spans both faces: ${JSON.stringify(f.bbox)}`);
    }
    assert.ok(r.faces.some((f) => f.bbox.x < 250) && r.faces.some((f) => f.bbox.x >= 250));
  });

  void it("select 'center' picks the face nearest the centre, not the largest", async () => {
    const small: PastedFace = { name: 'Barry_Zito', n: 1, left: 320, top: 220, side: 160 };
    const frame = await composite({
      width: 800,
      height: 600,
      faces: [{ name: 'Aaron_Peirsol', n: 1, left: 0, top: 175, side: 250 }, small],
    });
    const largest = only((await pool.analyse(frame, defaultOptions)).faces);
    const r = await pool.analyse(frame, centred);
    assert.equal(r.faces_detected, 2);
    const c = only(r.faces);
    assert.ok(largest.bbox.x + largest.bbox.width < 250, 'largest is the left face');
    const [cx, cy] = centreOf(c);
    assert.ok(Math.hypot(cx - 400, cy - 300) < 20, JSON.stringify(c.bbox));
  });

  void it('gives each photo the same embedding when 24 run concurrently as when run one at a time', async () => {
    const items = identities(2)
      .slice(0, 12)
      .flatMap((p) => [photo(p.name, 1), photo(p.name, 2)]);
    const serial: AnalysisResult[] = [];
    for (const bytes of items) serial.push(await pool.analyse(bytes, centred));
    const concurrent = await Promise.all(items.map((bytes) => pool.analyse(bytes, centred)));
    concurrent.forEach((r, i) => {
      const s = serial[i];
      assert.ok(s);
      assert.deepEqual(r.faces[0]?.bbox, s.faces[0]?.bbox, `photo ${i}`);
      assert.deepEqual(r.faces[0]?.embedding, s.faces[0]?.embedding, `photo ${i}`);
    });
  });

  void it('accepts JPEG, PNG and WebP of the same photo', async () => {
    const jpeg = await face(photo('Tamara_Brooks', 1));
    const png = await face(await sharp(photo('Tamara_Brooks', 1)).png().toBuffer());
    const webp = await face(await sharp(photo('Tamara_Brooks', 1)).webp().toBuffer());
    assert.ok(cosineSimilarity(png.embedding, jpeg.embedding) > 0.9999, 'PNG holds the same pixels');
    assert.ok(cosineSimilarity(webp.embedding, jpeg.embedding) > 0.9);
  });

  void it('reports coordinates in original pixels when maxSide shrinks the photo', async () => {
    const small = await face(photo('Aaron_Peirsol', 1));
    const big = await sharp(photo('Aaron_Peirsol', 1)).resize(1000, 1000).jpeg({ quality: 95 }).toBuffer();
    const r = await pool.analyse(big, { ...centred, maxSide: 500 });
    assert.deepEqual([r.width, r.height], [1000, 1000]);
    const f = only(r.faces);
    for (const k of ['x', 'y', 'width', 'height'] as const) {
      assert.ok(Math.abs(f.bbox[k] - 4 * small.bbox[k]) < 8, `${k}: ${f.bbox[k]} vs 4 x ${small.bbox[k]}`);
    }
  });

  void it('leaves the caller’s bytes intact unless it asks to transfer them', async () => {
    const bytes = photo('Aaron_Peirsol', 1);
    const copy = Buffer.from(bytes);
    await pool.analyse(bytes, defaultOptions);
    assert.deepEqual(bytes, copy);
    const parent = Buffer.concat([photo('Aaron_Peirsol', 1), Buffer.alloc(1000)]);
    await pool.analyse(parent.subarray(0, copy.length), defaultOptions, { handOver: 'transfer' }); // a view: copied
    assert.equal(parent.length, copy.length + 1000);
    await pool.analyse(bytes, defaultOptions, { handOver: 'transfer' });
    assert.equal(bytes.byteLength, 0, 'a whole buffer is handed over when transfer is requested');
  });
});
