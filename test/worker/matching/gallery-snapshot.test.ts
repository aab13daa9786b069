/**
 * Snapshots of the GalleryIndex: a round trip gives back an index that answers exactly as the
 * original (and keeps accepting changes); a truncated, bit-flipped or foreign (other model, dim,
 * layout, stream) file is refused with a reason, never half-loaded.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { GalleryEntry } from '../../../src/shared/store/index.js';
import { mulberry32 } from '../../../src/shared/prng.js';
import { GalleryIndex } from '../../../src/worker/matching/gallery-index.js';
import {
  readSnapshot,
  SNAPSHOT_FORMAT,
  writeSnapshot,
} from '../../../src/worker/matching/gallery-snapshot.js';

const DIM = 512;
const dir = mkdtempSync(join(tmpdir(), 'shelia-snapshot-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function unit(seed: number): Float32Array {
  const rand = mulberry32(seed * 2654435761);
  const v = Float32Array.from({ length: DIM }, () => rand() - 0.5);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

const vectors = new Map<string, Float32Array>();
const lookup = (ids: string[]) =>
  Promise.resolve(
    new Map(ids.flatMap((id) => (vectors.has(id) ? [[id, vectors.get(id) as Float32Array] as const] : []))),
  );

function entry(user: string, t: number, group: string | null, seed: number, uuid = false): GalleryEntry {
  const template_id = uuid
    ? `${seed.toString(16).padStart(8, '0')}-0000-4000-8000-00000000000${t}`
    : `${user}-t${t}`;
  const e = { template_id, model: 'test', user_id: user, name: `Näme ${user}`, group, embedding: unit(seed) };
  vectors.set(template_id, e.embedding);
  return e;
}

function build(int8: boolean): GalleryIndex {
  const index = new GalleryIndex(DIM, lookup, { int8 });
  const add: GalleryEntry[] = [];
  for (let u = 0; u < 400; u++) {
    const group = [null, 'a', 'b'][u % 3] ?? null;
    add.push(entry(`u${u}`, 0, group, u + 1, u % 2 === 0));
    if (u % 4 === 0) add.push(entry(`u${u}`, 1, group, 10_000 + u, u % 2 === 0));
  }
  index.add(add);
  // Removals and a moved user before the snapshot: free lists, garbage and relinked slots.
  for (const u of ['u3', 'u8', 'u200']) index.replaceUser(u, []);
  index.replaceUser('u9', [entry('u9', 5, 'b', 77_777)]);
  return index;
}

const identity = { model: 'test-model', dim: DIM, int8: true, streamKey: 'test:gallery:changes' };

async function sameAnswers(a: GalleryIndex, b: GalleryIndex) {
  assert.equal(b.size, a.size);
  assert.equal(b.userCount, a.userCount);
  for (const group of [undefined, null, 'a', 'b'] as const) assert.equal(b.sizeOf(group), a.sizeOf(group));
  for (let q = 0; q < 40; q++) {
    const query = q % 2 ? unit(q * 3 + 1) : unit(90_000 + q);
    for (const group of [undefined, 'a', null] as const) {
      assert.deepEqual(await b.search(query, { topK: 5, group }), await a.search(query, { topK: 5, group }));
    }
  }
}

describe('gallery snapshot', () => {
  for (const int8 of [true, false]) {
    it(`round trip (int8 ${int8}): same answers, same sizes, still accepts changes`, async () => {
      const original = build(int8);
      const path = join(dir, `round-${int8}.snapshot`);
      const bytes = await writeSnapshot(path, { ...identity, int8 }, '1700000000000-3', original.state);
      assert.equal(statSync(path).size, bytes);
      const read = readSnapshot(path, { ...identity, int8 });
      assert.ok(read.ok, read.ok ? '' : read.reason);
      assert.equal(read.streamId, '1700000000000-3');
      const restored = new GalleryIndex(DIM, lookup, { int8 });
      restored.restore(read.state);
      await sameAnswers(original, restored);
      // Both keep working the same after more changes (users found by id through the table).
      for (const ix of [original, restored]) {
        ix.replaceUser('u0', []);
        ix.replaceUser('u1', [entry('u1', 7, 'a', 55_555)]);
        ix.add([entry('new-1', 0, 'c', 66_666)]);
      }
      await sameAnswers(original, restored);
      const [hit] = await restored.search(unit(66_666), { topK: 1 });
      assert.equal(hit?.user_id, 'new-1');
      assert.equal(hit?.name, 'Näme new-1');
      const [uuidHit] = await restored.search(unit(5), { topK: 1 });
      assert.equal(
        uuidHit?.template_id,
        '00000005-0000-4000-8000-000000000000',
        'uuid ids survive the 16-byte form',
      );
    });
  }

  it('refuses a truncated file, a flipped bit, a foreign model/dim/layout/stream, and garbage', async () => {
    const path = join(dir, 'good.snapshot');
    await writeSnapshot(path, identity, '5-0', build(true).state);
    const good = readFileSync(path);
    const variant = (name: string, bytes: Uint8Array) => {
      const p = join(dir, name);
      writeFileSync(p, bytes);
      return p;
    };
    const refused = (p: string, want = identity) => {
      const r = readSnapshot(p, want);
      assert.equal(r.ok, false);
      return r.ok ? '' : r.reason;
    };
    const cut = variant('cut.snapshot', good);
    truncateSync(cut, Math.floor(good.length / 2));
    assert.match(refused(cut), /truncated/);
    assert.match(refused(variant('no-tail.snapshot', good.subarray(0, good.length - 2))), /truncated/);
    const flipped = Buffer.from(good);
    flipped[Math.floor(good.length * 0.7)] = (flipped[Math.floor(good.length * 0.7)] as number) ^ 0x10;
    assert.match(refused(variant('flip.snapshot', flipped)), /checksum/);
    assert.match(
      refused(variant('junk.snapshot', Buffer.from('hello world, not a snapshot'))),
      /not a snapshot/,
    );
    assert.match(refused(variant('empty.snapshot', new Uint8Array(0))), /truncated|not a snapshot/);
    assert.match(refused(join(dir, 'missing.snapshot')), /no snapshot/);
    assert.match(refused(path, { ...identity, model: 'other-model' }), /model/);
    assert.match(refused(path, { ...identity, dim: 128 }), /dim/);
    assert.match(refused(path, { ...identity, int8: false }), /int8/);
    assert.match(refused(path, { ...identity, streamKey: 'other:gallery:changes' }), /streamKey/);
    // A format-1 file (one 64-byte code plane per segment) would misread as two planes.
    const old = Buffer.from(good);
    const at = old.indexOf(`"format":${SNAPSHOT_FORMAT}`);
    assert.ok(at > 0 && SNAPSHOT_FORMAT === 2);
    old.write('"format":1', at, 'latin1');
    assert.match(refused(variant('format1.snapshot', old)), /format 1/);
    assert.ok(readSnapshot(path, identity).ok, 'the original still reads');
  });
});
