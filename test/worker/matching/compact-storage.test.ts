/**
 * The index's compact storage: string arenas (UUIDs in 16 bytes, UTF-8 otherwise, compaction of
 * replaced strings), the user table (open addressing with backward-shift deletion: every user
 * still found after thousands of removals), and the native Hamming kernel agreeing with the
 * JavaScript one it replaces.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32 } from '../../../src/shared/prng.js';
import { codeTable, jsKernels, kernels, kernelsName } from '../../../src/worker/matching/native-codes.js';
import { decodeString, encodeString, Strings } from '../../../src/worker/matching/strings.js';
import { Users } from '../../../src/worker/matching/users.js';

describe('strings', () => {
  it('round-trips UUIDs (as 17 bytes), UTF-8, and UUID look-alikes that are not canonical', () => {
    const uuid = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
    assert.equal(encodeString(uuid).length, 17);
    for (const s of [uuid, 'Ünïcødé 名前 👋', 'u1', '', '3F2504E0-4F89-41D3-9A0C-0305E82C3301', `${uuid}x`])
      assert.equal(decodeString(Uint8Array.from(encodeString(s))), s);
  });

  it('compacts replaced strings instead of growing forever', () => {
    const t = new Strings(4);
    for (let round = 0; round < 2000; round++)
      for (let r = 0; r < 4; r++) t.set(r, `row ${r} round ${round}`, 4);
    for (let r = 0; r < 4; r++) assert.equal(t.get(r), `row ${r} round 1999`);
    // Without compaction: 8000 strings of ~17 bytes, 136 KB.
    assert.ok(t.arena.length < 4096, `arena ${t.arena.length} bytes for 4 live strings`);
  });
});

describe('users table', () => {
  it('finds every live user after interleaved inserts and removals (probe chains stay whole)', () => {
    const users = new Users();
    const live = new Map<string, number>();
    const rand = mulberry32(42);
    for (let step = 0; step < 20_000; step++) {
      const id = `user-${Math.floor(rand() * 3000)}`;
      const u = users.find(id);
      assert.equal(u, live.get(id) ?? -1, `step ${step}: ${id}`);
      if (u >= 0 && rand() < 0.5) {
        users.remove(u);
        live.delete(id);
      } else if (u < 0) live.set(id, users.upsert(id, `Name ${id}`, 0));
    }
    assert.equal(users.count, live.size);
    for (const [id, u] of live) {
      assert.equal(users.find(id), u);
      assert.equal(users.names.get(u), `Name ${id}`);
    }
    assert.ok(users.rows <= 3000, 'handles of removed users are reused');
  });
});

describe('code kernels', () => {
  it(`the ${kernelsName} kernel agrees with the JavaScript one (rows, distances, int8 and code dots)`, () => {
    const rand = mulberry32(9);
    const rows = 5000;
    const codes = Uint8Array.from({ length: rows * 64 }, () => Math.floor(rand() * 256));
    const query = codes.slice(64 * 17, 64 * 18);
    for (const k of [1, 10, 777, rows]) {
      const a = kernels.hammingTopK(codes, rows, query, k);
      const b = jsKernels.hammingTopK(codes, rows, query, k);
      assert.deepEqual(a.subarray(k), b.subarray(k), 'distances');
      assert.equal(a[0], 17);
      for (let i = 1; i < k; i++)
        assert.ok((a[k + i] as number) >= (a[k + i - 1] as number), 'nearest first');
    }
    const data = Int8Array.from({ length: 300 * 512 }, () => Math.floor(rand() * 255) - 127);
    const q8 = Int8Array.from({ length: 512 }, () => Math.floor(rand() * 255) - 127);
    const pick = Uint32Array.from({ length: 100 }, (_, i) => (i * 7) % 300);
    assert.deepEqual(kernels.dotI8(data, 512, pick, q8), jsKernels.dotI8(data, 512, pick, q8));
    const table = codeTable(q8);
    const got = kernels.codeDots(codes, 64, pick, table);
    assert.deepEqual(got, jsKernels.codeDots(codes, 64, pick, table));
    // The table's score is the dot product of the query with the code's bits.
    const row = pick[3] as number;
    let want = 0;
    for (let i = 0; i < 512; i++)
      if (((codes[row * 64 + (i >> 3)] as number) >> (i & 7)) & 1) want += q8[i] as number;
    assert.equal(got[3], want);
  });
});
