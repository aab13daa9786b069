/**
 * The open-set split of an LFW-style folder (`DIR/<Identity>/<Identity>_NNNN.jpg`), deterministic
 * for a seed. Identities are read in sorted order, then (mulberry32, `seed`):
 *
 * - identities with 2+ photos are shuffled; the first round(2/3) are MATED: their first photo
 *   (sorted) is enrolled and one of their other photos, drawn at random, is the mated probe;
 * - the other 1/3 of the 2+ identities are NON-MATED: one photo, drawn at random, is a probe and
 *   none is ever enrolled;
 * - single-photo identities are shuffled (seed + 1): the first floor(half) are enrolled as gallery
 *   distractors (never probed), the rest are non-mated probes.
 *
 * Photos are read in place, never copied.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { sample } from './openset-metrics.js';
import { mulberry32 } from '../src/shared/prng.js';

export interface Identity {
  name: string;
  /** LFW names are valid user ids already; other sets get the rest replaced. */
  userId: string;
  /** Absolute paths, sorted. */
  photos: string[];
}

export interface GalleryPhoto {
  userId: string;
  name: string;
  photo: string;
  role: 'mated' | 'distractor';
}

export interface ProbePhoto {
  /** The probe's identity (as a user id); enrolled only when `kind` is mated. */
  userId: string;
  photo: string;
  kind: 'mated' | 'non-mated (2+ photos)' | 'non-mated (single photo)';
}

export interface OpenSetSplit {
  gallery: GalleryPhoto[];
  probes: ProbePhoto[];
}

const PHOTO = /\.(jpe?g|png|webp)$/i;

export async function readIdentities(dir: string): Promise<Identity[]> {
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const out: Identity[] = [];
  for (const name of names) {
    const photos = (await readdir(path.join(dir, name)))
      .filter((f) => PHOTO.test(f))
      .sort()
      .map((f) => path.join(dir, name, f));
    if (photos.length === 0) continue;
    out.push({ name, userId: name.replace(/[^A-Za-z0-9_.@:-]/g, '_').slice(0, 128), photos });
  }
  return out;
}

export function splitOpenSet(identities: Identity[], seed: number): OpenSetSplit {
  const multi = sample(
    identities.filter((i) => i.photos.length >= 2),
    Number.POSITIVE_INFINITY,
    seed,
  );
  const single = sample(
    identities.filter((i) => i.photos.length === 1),
    Number.POSITIVE_INFINITY,
    seed + 1,
  );
  const rand = mulberry32(seed + 2);
  const pick = (photos: string[]) => photos[Math.floor(rand() * photos.length)] as string;
  const nMated = Math.round((multi.length * 2) / 3);
  const nDistractors = Math.floor(single.length / 2);
  const gallery: GalleryPhoto[] = [];
  const probes: ProbePhoto[] = [];
  multi.forEach((id, i) => {
    if (i < nMated) {
      const [first, ...others] = id.photos as [string, ...string[]];
      gallery.push({ userId: id.userId, name: id.name.replace(/_/g, ' '), photo: first, role: 'mated' });
      probes.push({ userId: id.userId, photo: pick(others), kind: 'mated' });
    } else {
      probes.push({ userId: id.userId, photo: pick(id.photos), kind: 'non-mated (2+ photos)' });
    }
  });
  single.forEach((id, i) => {
    const photo = id.photos[0] as string;
    if (i < nDistractors)
      gallery.push({ userId: id.userId, name: id.name.replace(/_/g, ' '), photo, role: 'distractor' });
    else probes.push({ userId: id.userId, photo, kind: 'non-mated (single photo)' });
  });
  return { gallery, probes };
}
