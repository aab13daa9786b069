/**
 * Synthetic camera frames for attendance tests: LFW photos pasted onto a 1920x1080 (or any size)
 * grey-noise background, several people per frame, at chosen face sizes. Each photo is first cropped to
 * its central region (an LFW deep-funneled photo has its face in the middle ~110 px of 250, and
 * its borders often show bits of other people), so one pasted photo is exactly one face and
 * `faceHeight` is about the height of the detector's box. Deterministic: the same arguments
 * give byte-identical JPEGs.
 */
import sharp from 'sharp';
import { photo } from './faces.js';
import { mulberry32 } from '../../src/shared/prng.js';

export const FRAME_WIDTH = 1920;
export const FRAME_HEIGHT = 1080;

export interface FrameSize {
  width: number;
  height: number;
}
const FULL_HD: FrameSize = { width: FRAME_WIDTH, height: FRAME_HEIGHT };

/** Side of the central square cut from a 250 px LFW photo: the face with a little margin. */
const CROP = 150;
/** Height of the face inside that crop (the detector box of an LFW face is ~124 px of 250). */
const FACE_IN_CROP = 124;

export interface FrameFace {
  /** LFW identity and 1-based photo number. */
  name: string;
  n: number;
  /** Wanted face height in the frame (px), e.g. 60 for a far-away person. */
  faceHeight: number;
}

export interface PlacedFace extends FrameFace {
  /** The pasted square (cropped photo resized to `side`). */
  left: number;
  top: number;
  side: number;
}

export interface Frame {
  jpeg: Buffer;
  faces: PlacedFace[];
}

/** Side of the pasted square that gives a face `faceHeight` px tall. */
export const sideFor = (faceHeight: number) => Math.round((faceHeight * CROP) / FACE_IN_CROP);

/** Deterministic Fisher-Yates shuffle (a copy). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const rand = mulberry32(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

function noiseBackground(seed: number, size: FrameSize): Buffer {
  const out = Buffer.alloc(size.width * size.height * 3);
  const rand = mulberry32(seed);
  for (let i = 0; i < out.length; i += 3) {
    const v = 96 + Math.floor(rand() * 64);
    out[i] = v;
    out[i + 1] = v;
    out[i + 2] = v;
  }
  return out;
}

/**
 * Lays the faces out left to right in rows (cells of the largest face plus a gap, with a
 * seeded jitter), so no two pasted photos overlap or touch.
 */
function layout(faces: FrameFace[], seed: number, size: FrameSize): PlacedFace[] {
  const rand = mulberry32(seed ^ 0x9e3779b9);
  const gap = 60;
  const placed: PlacedFace[] = [];
  let x = gap;
  let y = gap;
  let rowHeight = 0;
  for (const f of faces) {
    const side = sideFor(f.faceHeight);
    if (x + side + gap > size.width) {
      x = gap;
      y += rowHeight + gap;
      rowHeight = 0;
    }
    if (y + side + gap > size.height)
      throw new Error(`faces do not fit in one ${size.width}x${size.height} frame`);
    const jitter = Math.floor(rand() * gap * 0.5);
    placed.push({ ...f, left: x, top: y + jitter, side });
    x += side + gap;
    rowHeight = Math.max(rowHeight, side + jitter);
  }
  return placed;
}

/** A 1920x1080 (or `size`) JPEG with these people in it (none = an empty scene). */
export async function cameraFrame(faces: FrameFace[], seed: number, size = FULL_HD): Promise<Frame> {
  const placed = layout(faces, seed, size);
  const offset = Math.round((250 - CROP) / 2);
  const layers = await Promise.all(
    placed.map(async (f) => ({
      input: await sharp(photo(f.name, f.n))
        .extract({ left: offset, top: offset, width: CROP, height: CROP })
        .resize(f.side, f.side)
        .toBuffer(),
      left: f.left,
      top: f.top,
    })),
  );
  const jpeg = await sharp(noiseBackground(seed, size), {
    raw: { width: size.width, height: size.height, channels: 3 },
  })
    .composite(layers)
    .jpeg({ quality: 90 })
    .toBuffer();
  return { jpeg, faces: placed };
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The pasted face whose square contains the centre of `box` (undefined: not one of ours). */
export function faceAt<T extends PlacedFace>(faces: readonly T[], box: Box): T | undefined {
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  return faces.find((f) => cx >= f.left && cx < f.left + f.side && cy >= f.top && cy < f.top + f.side);
}

export type Attributed<T> = T & {
  /** The pasted face the detection lies on (undefined: none of ours). */
  face: PlacedFace | undefined;
  /** The largest detection on that face (others are bystanders or parts of it). */
  primary: boolean;
};

/** Ties each detection of a frame to the pasted face it lies on. */
export function attribute<T extends { bbox: Box }>(
  faces: readonly PlacedFace[],
  detections: T[],
): Attributed<T>[] {
  const onFace = detections.map((d) => faceAt(faces, d.bbox));
  return detections.map((d, i) => {
    const face = onFace[i];
    const bigger = detections.some((o, j) => j !== i && onFace[j] === face && o.bbox.height > d.bbox.height);
    return { ...d, face, primary: face !== undefined && !bigger };
  });
}

// ---- an attendance scene -----------------------------------------------------------------------

export const SCENE_T0 = Date.parse('2026-03-02T09:00:00.000Z');
export const sceneTime = (ms: number) => new Date(SCENE_T0 + ms).toISOString();
export const MAIN_FRAMES = 10;
/** Main frames 25 s apart: 0..225 s, inside one 5-minute attendance window. */
export const STEP_MS = 25_000;
/** The late frame: more than a window after anyone's last sighting in the main frames. */
export const LATE_MS = 12 * 60_000;
const SIZES = [60, 60, 90, 130];

/** Person i is seen 1-3 times: in main frames (i + 4t) % 10 for t < sightingsOf(i) (distinct). */
export const sightingsOf = (i: number) => 1 + (i % 3);
export const framesOf = (i: number) =>
  Array.from({ length: sightingsOf(i) }, (_, t) => (i + 4 * t) % MAIN_FRAMES);

export interface Shot {
  captured_at: string;
  frame: Frame;
}

/**
 * A camera's morning: 10 main frames with every person (photo `n = 2`) at 60/60/90/130 px as
 * framesOf says and strangers (photo 1, 60 or 100 px) spread over them, two empty scenes, and
 * one late frame with `late` alone.
 */
export async function attendanceScene(people: string[], strangers: string[], late: string): Promise<Shot[]> {
  const plans = Array.from({ length: MAIN_FRAMES }, (_, j) => ({
    at: j * STEP_MS,
    faces: [] as FrameFace[],
  }));
  people.forEach((name, i) =>
    framesOf(i).forEach((j, t) =>
      plans[j]?.faces.push({ name, n: 2, faceHeight: SIZES[(i + t) % SIZES.length] ?? 60 }),
    ),
  );
  strangers.forEach((name, k) =>
    plans[k % MAIN_FRAMES]?.faces.push({ name, n: 1, faceHeight: k % 2 ? 100 : 60 }),
  );
  plans.push({ at: 40_000, faces: [] }, { at: 170_000, faces: [] });
  plans.push({ at: LATE_MS, faces: [{ name: late, n: 2, faceHeight: 90 }] });
  return Promise.all(
    plans.map(async (p, j) => ({ captured_at: sceneTime(p.at), frame: await cameraFrame(p.faces, 100 + j) })),
  );
}
