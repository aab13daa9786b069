/**
 * What the tower throws at the cluster: enrollment batches of distinct LFW people (each person's
 * first photo, each used once) and attendance batches of camera frames showing people already
 * enrolled (their other photos), built in memory. Photos are read in place, never copied.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

export interface Person {
  /** The LFW directory name, used as the user_id (LFW names are valid ids). */
  id: string;
  /** Photo paths, sorted: [0] is enrolled, the others appear in frames. */
  photos: string[];
}

/** Every identity under `dir` (sorted by name, so two runs enroll the same people). */
export function listPeople(dir: string): Person[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((id) => ({
      id,
      photos: readdirSync(path.join(dir, id))
        .filter((f) => /\.jpe?g$/i.test(f))
        .sort()
        .map((f) => path.join(dir, id, f)),
    }))
    .filter((p) => p.photos.length > 0);
}

/** One JSON enrollment body: one item per person, their first photo, all in `group`. */
export function enrollmentBody(people: Person[], group: string): Buffer {
  const items = people.map((p) => ({
    user_id: p.id,
    name: p.id.replace(/_/g, ' '),
    group,
    image: readFileSync(p.photos[0] as string).toString('base64'),
  }));
  return Buffer.from(JSON.stringify({ items }));
}

/**
 * 960x540, not 1080p: the tower is about many processes and kills, not small faces, and a
 * quarter of the pixels keeps each frame's CPU (here and in the worker) small on 2 cores.
 */
const FRAME = { width: 960, height: 540 };
/** Side of the central square cut from a 250 px LFW photo: the face with a little margin, no bystanders. */
const CROP = 150;

let background: Buffer | undefined;
/** Grey with coarse noise, so the frame compresses like a camera's and not like a flat fill. */
function noiseBackground(random: () => number): Buffer {
  if (!background) {
    background = Buffer.alloc(FRAME.width * FRAME.height * 3);
    for (let i = 0; i < background.length; i += 3) background.fill(96 + Math.floor(random() * 64), i, i + 3);
  }
  return background;
}

export interface FrameBatch {
  body: Buffer;
  /** Per frame, the user ids shown in it. */
  shown: string[][];
}

/**
 * `count` frames for `camera`, each with `perFrame` distinct enrolled people (fewer if fewer are
 * enrolled) at 110-150 px squares in their own third of the frame. Capture times are spread at
 * random over `spreadMs` from `t0`: several batches in flight then carry sightings of one person
 * for one camera, in no particular order, within one attendance window — the case where two
 * workers could each start a record that should be one.
 */
export async function frameBatch(
  enrolled: Person[],
  spec: { count: number; perFrame: number; camera: string; t0: number; spreadMs: number },
  random: () => number,
): Promise<FrameBatch> {
  const bg = noiseBackground(random);
  const frames: { image: string; captured_at: string }[] = [];
  const shown: string[][] = [];
  for (let f = 0; f < spec.count; f++) {
    const chosen = new Set<Person>();
    const want = Math.min(spec.perFrame, enrolled.length);
    while (chosen.size < want) chosen.add(enrolled[Math.floor(random() * enrolled.length)] as Person);
    const cellWidth = Math.floor(FRAME.width / Math.max(1, want));
    const layers = await Promise.all(
      [...chosen].map(async (p, i) => {
        // Another photo than the enrolled one (enrolled people in frames have at least two).
        const file = p.photos[1 + Math.floor(random() * (p.photos.length - 1))] ?? '';
        const side = Math.min(cellWidth - 10, 110 + Math.floor(random() * 40));
        const input = await sharp(file)
          .extract({ left: 50, top: 50, width: CROP, height: CROP })
          .resize(side, side)
          .toBuffer();
        const left = i * cellWidth + Math.floor(random() * (cellWidth - side));
        return { input, left, top: Math.floor(random() * (FRAME.height - side)) };
      }),
    );
    const jpeg = await sharp(bg, { raw: { ...FRAME, channels: 3 } })
      .composite(layers)
      .jpeg({ quality: 85 })
      .toBuffer();
    frames.push({
      image: jpeg.toString('base64'),
      captured_at: new Date(spec.t0 + Math.floor(random() * spec.spreadMs)).toISOString(),
    });
    shown.push([...chosen].map((p) => p.id));
  }
  return { body: Buffer.from(JSON.stringify({ camera_id: spec.camera, frames })), shown };
}
