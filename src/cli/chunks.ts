/**
 * Splitting people into upload requests, and the Idempotency-Key of each: derived only from
 * what the request enrolls, so a re-run of the same input sends the same keys and the service
 * replays the jobs it already accepted instead of enrolling everyone twice.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CliError } from './errors.js';
import type { Person } from './sources.js';

export type Mode = 'add' | 'replace';

export interface Chunk {
  /** 0-based position among the run's chunks. */
  index: number;
  people: Person[];
  mode: Mode;
  /** The Idempotency-Key header of this chunk's request. */
  key: string;
}

/** Photo bytes per request before a chunk is cut short: ~130 MiB of base64, under the API's 200 MiB. */
export const MAX_CHUNK_PHOTO_BYTES = 100 * 1024 * 1024;
const KEY_VERSION = 'shelia-enroll-v1';

/**
 * sha256 over the mode and, per person in order, user_id, name, group and photo hashes. The
 * name is in it too: the service refuses a known key with a different body, so a renamed
 * person must get a new key rather than an IDEMPOTENCY_KEY_REUSED error.
 */
export function chunkKey(people: readonly Person[], mode: Mode): string {
  const content = JSON.stringify({
    mode,
    items: people.map((p) => [p.user_id, p.name, p.group ?? null, p.photos.map((f) => f.sha256)]),
  });
  return `${KEY_VERSION}-${createHash('sha256').update(content).digest('hex')}`;
}

/**
 * Consecutive runs of at most `size` people (and about `maxBytes` of photos). Only people without
 * a local problem are chunked; the split depends on content alone, so it is the same every run.
 */
export function makeChunks(
  people: readonly Person[],
  options: { size: number; mode: Mode; maxBytes?: number },
): Chunk[] {
  const maxBytes = options.maxBytes ?? MAX_CHUNK_PHOTO_BYTES;
  const groups: Person[][] = [];
  let current: Person[] = [];
  let bytes = 0;
  for (const person of people) {
    if (person.problem) continue;
    const size = person.photos.reduce((n, f) => n + f.bytes, 0);
    if (current.length > 0 && (current.length >= options.size || bytes + size > maxBytes)) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(person);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups.map((g, index) => ({ index, people: g, mode: options.mode, key: chunkKey(g, options.mode) }));
}

/**
 * The JSON body of a chunk, photos read now and base64-encoded. The same chunk always gives
 * the same bytes (the service compares bodies of replayed keys); a photo that changed since it
 * was hashed stops the run rather than sending a body that does not match its key.
 */
export async function chunkBody(chunk: Chunk): Promise<string> {
  const items = [];
  for (const p of chunk.people) {
    const images: string[] = [];
    for (const photo of p.photos) {
      const bytes = await readFile(photo.path);
      if (createHash('sha256').update(bytes).digest('hex') !== photo.sha256)
        throw new CliError(`${photo.path} changed during the run; start it again`);
      images.push(bytes.toString('base64'));
    }
    items.push({ user_id: p.user_id, name: p.name, images, ...(p.group ? { group: p.group } : {}) });
  }
  return JSON.stringify({ items, options: { mode: chunk.mode } });
}
