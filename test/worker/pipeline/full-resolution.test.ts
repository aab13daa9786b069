/**
 * Issue 8 §5: a frame bigger than MAX_DECODE_SIDE is detected as if shrunk to it, but each face
 * must be landmarked, aligned, embedded and measured from the full-resolution pixels, so a
 * ~60 px face in a 3840x2160 frame is recognised as well as a ~60 px face in a 1920x1080 one.
 * Before the fix (4K frames shrunk to 1920 on load, faces embedded from the half-size copy) the
 * eight faces below were at a mean cosine distance of 0.353 from another photo of the same
 * person in 4K against 0.252 in 1080p, and read a third as sharp; after it, 0.253 vs 0.252.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cosineDistance } from '../../../src/shared/face-math.js';
import type { DetectedFace } from '../../../src/shared/face-types.js';
import { InferencePool } from '../../../src/worker/inference/pool.js';
import { defaultOptions, identities, modelsDir, photo } from '../../helpers/faces.js';
import { attribute, cameraFrame, type FrameSize } from '../../helpers/frames.js';

/** README: high_security, FAR 1e-4 on LFW. */
const HIGH_SECURITY = 0.59;
/** How much worse (mean cosine distance) the 4K faces may be than the same faces in 1080p. */
const MEAN_MARGIN = 0.03;
const UHD: FrameSize = { width: 3840, height: 2160 };
const FHD: FrameSize = { width: 1920, height: 1080 };

// Eight people spread over the set (a different slice from pipeline.test.ts), 55-70 px tall.
const people = identities(2)
  .filter((_, i) => i % 75 === 37)
  .map((p) => p.name);
const heights = [55, 57, 59, 61, 63, 65, 67, 70];
/** Only 4 of these were found in 4K before weak boxes got a second look (8 of 8 in 1080p). */
const tiny = [40, 41, 42, 43, 44, 45, 46, 47];

interface Seen {
  name: string;
  face: DetectedFace | undefined;
  distance: number;
}

let pool: InferencePool;
const seen = new Map<string, Seen[]>();

/** Each pasted person's primary detection in a frame of this size, and its distance to photo 2. */
async function facesIn(size: FrameSize, refs: Float32Array[], sizes = heights): Promise<Seen[]> {
  const faces = people.map((name, i) => ({ name, n: 1, faceHeight: sizes[i] ?? 60 }));
  const frame = await cameraFrame(faces, 8, size);
  const result = await pool.analyse(frame.jpeg, { ...defaultOptions, select: 'all' });
  const found = attribute(frame.faces, result.faces).filter((d) => d.primary);
  return people.map((name, i) => {
    const face = found.find((d) => d.face?.name === name);
    const ref = refs[i] as Float32Array;
    return { name, face, distance: face ? cosineDistance(face.embedding, ref) : Number.NaN };
  });
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const show = (xs: Seen[]) => xs.map((s) => s.distance.toFixed(3)).join(' ');

void describe('faces in a frame larger than MAX_DECODE_SIDE', () => {
  before(async () => {
    pool = new InferencePool({ modelsDir, size: 2 });
    assert.equal(people.length, 8);
    const refs = await Promise.all(
      people.map(async (name) => {
        const r = await pool.analyse(photo(name, 2), { ...defaultOptions, select: 'center' });
        assert.equal(r.faces.length, 1, name);
        return (r.faces[0] as DetectedFace).embedding;
      }),
    );
    seen.set('4k', await facesIn(UHD, refs));
    seen.set('1080p', await facesIn(FHD, refs));
    seen.set('4k tiny', await facesIn(UHD, refs, tiny));
    seen.set('1080p tiny', await facesIn(FHD, refs, tiny));
  });
  after(async () => {
    await pool.close();
  });

  void it('finds every 40-70 px face in both frames (weak 4K boxes get a second look)', () => {
    for (const [label, faces] of seen) {
      const missing = faces.filter((s) => !s.face).map((s) => s.name);
      assert.deepEqual(missing, [], `${label}: not found`);
    }
  });

  void it('embeds the 4K faces about as well as the same faces at the same size in 1080p', () => {
    const uhd = seen.get('4k') ?? [];
    const fhd = seen.get('1080p') ?? [];
    const msg = `4K ${show(uhd)} | 1080p ${show(fhd)}`;
    const [m4, m2] = [mean(uhd.map((s) => s.distance)), mean(fhd.map((s) => s.distance))];
    assert.ok(m4 <= m2 + MEAN_MARGIN, `mean distance 4K ${m4.toFixed(3)} vs 1080p ${m2.toFixed(3)}: ${msg}`);
    fhd.forEach((f, i) => {
      const u = uhd[i] as Seen;
      if (f.distance <= HIGH_SECURITY)
        assert.ok(u.distance <= HIGH_SECURITY, `${u.name}: matched in 1080p, not in 4K: ${msg}`);
    });
  });

  void it('reports face size in original pixels and sharpness of the full-resolution face', () => {
    const uhd = seen.get('4k') ?? [];
    const fhd = seen.get('1080p') ?? [];
    fhd.forEach((f, i) => {
      const [a, b] = [(uhd[i] as Seen).face, f.face];
      assert.ok(a && b);
      const ctx = `${f.name}: 4K ${JSON.stringify(a.quality)} vs 1080p ${JSON.stringify(b.quality)}`;
      // Within 20 %: the 4K box comes from detection at half the scale (57 vs 66 px was seen);
      // a size in shrunk pixels would be half.
      assert.ok(Math.abs(a.quality.face_size - b.quality.face_size) <= 0.2 * b.quality.face_size, ctx);
      // From the shrunk frame the first face read 13.2 against 53.7 (MIN_SHARPNESS is 15).
      assert.ok(a.quality.sharpness >= 0.7 * b.quality.sharpness, ctx);
    });
  });
});
