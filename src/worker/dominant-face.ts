import type { AnalysisResult, BoundingBox } from '../shared/face-types.js';

/*
 * Which face of a photo is its subject, for the single-face decisions (enrollment, /embed with
 * `face: "error"`). Measured with `npm run bench:multiple-faces` on the first photos of the 1,000
 * lfw-dev identities (250x250 crops centred on the named person): 140 show several faces; the
 * old rule (any second face >= 0.5x the main face's height) refused 97, this one refuses 42. Of
 * the 55 it now accepts, 35 have a second photo of the person, and in all 35 the enrolled face
 * is closer to it than every ignored face (median cosine distance 0.32 vs 0.97).
 */

/**
 * Faces under half the main face's height are background wherever they are (the old rule,
 * kept): in the 43 photos with several faces it accepted, the others measure at most 0.493x, and
 * in all 31 that can be checked the largest face is the named person.
 */
const BACKGROUND_RATIO = 0.5;

/**
 * A larger second face is still a bystander if it is at most this share of the main face's
 * height: someone a step behind. Two people side by side at the same distance measure 0.85-1.0
 * (`twoFaces()`, two LFW photos side by side: 0.87) and stay ambiguous. The refused second faces
 * measure 0.501-1.251; up to 0.7 accepts 35 photos with a central subject; 0.8 would add 5.
 */
const BYSTANDER_RATIO = 0.7;

/**
 * A face whose box reaches this close to the border (share of the image side) is cut by it: a
 * bystander at the edge of the frame, not the subject. Boxes are clamped to the image, so a face
 * crossing the border ends on it; the 1 % (2.5 px on LFW) absorbs the detector's jitter. This
 * accepts 20 more photos, with bystanders of 0.75-1.25x cut by the border.
 */
const EDGE_MARGIN = 0.01;

/**
 * The main face must be central: its centre within the middle quarter of the image across and
 * down (1/8 of the side either way). 99 % of lfw-dev subjects are within 0.100 of the width and
 * 0.056 of the height of the centre (at most 0.082 in the photos with bystanders). The only two
 * largest-but-off-centre faces (0.156, 0.240) stood beside the subject, who was in the middle.
 */
const CENTRAL_BAND = 1 / 8;

export type Dominance =
  { ok: true; other_faces_ignored: number } | { ok: false; reason: 'largest_not_central' | 'similar_size' };

/** Whether the largest face of `result` is clearly its subject (every other face is ignorable). */
export function dominantFace(result: Pick<AnalysisResult, 'width' | 'height' | 'detections'>): Dominance {
  const [main, ...others] = result.detections;
  if (!main) return { ok: true, other_faces_ignored: 0 };
  const h = main.bbox.height;
  const close = others.filter((o) => o.bbox.height >= BACKGROUND_RATIO * h);
  if (close.length === 0) return { ok: true, other_faces_ignored: others.length };
  if (!isCentral(main.bbox, result.width, result.height)) return { ok: false, reason: 'largest_not_central' };
  const ignorable = close.every(
    (o) => o.bbox.height <= BYSTANDER_RATIO * h || touchesBorder(o.bbox, result.width, result.height),
  );
  return ignorable ? { ok: true, other_faces_ignored: others.length } : { ok: false, reason: 'similar_size' };
}

function isCentral(b: BoundingBox, width: number, height: number): boolean {
  const dx = Math.abs(b.x + b.width / 2 - width / 2);
  const dy = Math.abs(b.y + b.height / 2 - height / 2);
  return dx <= CENTRAL_BAND * width && dy <= CENTRAL_BAND * height;
}

function touchesBorder(b: BoundingBox, width: number, height: number): boolean {
  const mx = EDGE_MARGIN * width;
  const my = EDGE_MARGIN * height;
  return b.x <= mx || b.y <= my || b.x + b.width >= width - mx || b.y + b.height >= height - my;
}
