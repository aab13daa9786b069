/**
 * The index's compact storage: string arenas (UUIDs in 16 bytes, UTF-8 otherwise, compaction of
 * replaced strings), the user table (open addressing with backward-shift deletion: every user
 * still found after thousands of removals), the native Hamming kernels agreeing with the
 * JavaScript ones they replace (whole codes, and the two-plane head-then-whole scan), and a
 * segment's removal moving both code planes. The native kernels' tests also run in child
 * processes with each lesser CPU's distance loops (SHELIA_NATIVE_SIMD caps what the addon picks).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../../../src/shared/prng.js';
import {
  codeTable,
  jsKernels,
  kernels,
  kernelsName,
  scanStats,
} from '../../../src/worker/matching/native-codes.js';
import { DEFAULT_INT8_RANGE, int8Scale, signCode } from '../../../src/worker/matching/quantize.js';
import { codeHeadBytes, Segment } from '../../../src/worker/matching/segment.js';
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
    // Not a multiple of 4: the SIMD loops take four rows a step and finish the rest one by one.
    const rows = 5003;
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

describe('codeTable', () => {
  it("holds, for every code byte and byte value, the sum of the query components of the value's set bits", () => {
    const rand = mulberry32(11);
    for (const dim of [512, 100]) {
      const q8 = Int8Array.from({ length: dim }, () => Math.floor(rand() * 255) - 127);
      const table = codeTable(q8);
      assert.equal(table.length, Math.ceil(dim / 64) * 8 * 256);
      for (let b = 0; b < table.length / 256; b++) {
        for (let v = 0; v < 256; v++) {
          let want = 0;
          for (let bit = 0; bit < 8; bit++) if ((v >> bit) & 1) want += q8[b * 8 + bit] ?? 0;
          assert.equal(table[b * 256 + v], want, `byte ${b}, value ${v}, dim ${dim}`);
        }
      }
    }
  });
});

describe('two-plane codes', () => {
  /** 64-byte codes as the index stores them: each row's first 32 bytes in `head`, the rest in `tail`. */
  function split(codes: Uint8Array, rows: number) {
    const head = new Uint8Array(rows * 32);
    const tail = new Uint8Array(rows * 32);
    for (let r = 0; r < rows; r++) {
      head.set(codes.subarray(r * 64, r * 64 + 32), r * 32);
      tail.set(codes.subarray(r * 64 + 32, r * 64 + 64), r * 32);
    }
    return { head, tail };
  }

  /** Codes with structure (rows near a few centres), so distances tie and spread like real ones. */
  function planes(rows: number, seed: number) {
    const rand = mulberry32(seed);
    const centres = Array.from({ length: 8 }, () =>
      Uint8Array.from({ length: 64 }, () => Math.floor(rand() * 256)),
    );
    const codes = new Uint8Array(rows * 64);
    for (let r = 0; r < rows; r++) {
      const c = centres[r % 8] as Uint8Array;
      for (let b = 0; b < 64; b++) {
        let x = c[b] as number;
        for (let bit = 0; bit < 8; bit++) if (rand() < 0.3) x ^= 1 << bit;
        codes[r * 64 + b] = x;
      }
    }
    return { codes, ...split(codes, rows) };
  }

  /**
   * As planes(), fast enough for a million rows: rows near 8 centres with ~25 % of bits flipped
   * (a word of two random words ANDed), so distances spread and tie alike.
   */
  function clusteredPlanes(rows: number, seed: number) {
    const rand = mulberry32(seed);
    const centres = Array.from({ length: 8 }, () =>
      Uint32Array.from({ length: 16 }, () => Math.floor(rand() * 2 ** 32)),
    );
    const words = new Uint32Array(rows * 16);
    for (let r = 0; r < rows; r++)
      for (let w = 0; w < 16; w++)
        words[r * 16 + w] =
          ((centres[r % 8] as Uint32Array)[w] as number) ^
          (Math.floor(rand() * 2 ** 32) & Math.floor(rand() * 2 ** 32));
    const codes = new Uint8Array(words.buffer);
    return { codes, ...split(codes, rows) };
  }

  it(`the ${kernelsName} hammingTopK2 gives the JavaScript one's rows and distances, and hammingTopK's when k1 = rows`, () => {
    const rows = 6001;
    const { codes, head, tail } = planes(rows, 11);
    for (const [qr, k1, k] of [
      [17, 1, 1],
      [17, 100, 10],
      [4000, 2500, 777],
      [5, 777, 777],
      [123, rows, 1000],
      [9, rows + 50, rows],
      [99, 3000, 5000],
    ] as const) {
      const q = codes.slice(qr * 64, qr * 64 + 64);
      const [qh, qt] = [q.subarray(0, 32), q.subarray(32)];
      const a = kernels.hammingTopK2(head, tail, rows, qh, qt, k1, k);
      const b = jsKernels.hammingTopK2(head, tail, rows, qh, qt, k1, k);
      assert.deepEqual(a, b, `k1 ${k1} k ${k}`);
      const n = Math.min(k, k1, rows);
      assert.equal(a.length, 2 * n);
      assert.equal(a[0], qr, 'the query row first (distance 0)');
      for (let i = 1; i < n; i++)
        assert.ok((a[n + i] as number) >= (a[n + i - 1] as number), 'nearest first');
      for (let i = 0; i < n; i++) {
        const r = a[i] as number;
        let d = 0;
        for (let x = 0; x < 64; x++) {
          let v = ((codes[r * 64 + x] as number) ^ (q[x] as number)) & 0xff;
          for (; v; v &= v - 1) d++;
        }
        assert.equal(a[n + i], d, 'the whole-code distance');
      }
      if (k1 >= rows) assert.deepEqual(a, kernels.hammingTopK(codes, rows, q, n), 'k1 = rows: the full scan');
    }
  });

  it(`the ${kernelsName} hammingTopK2 split over threads gives one thread's rows and distances`, () => {
    // 3 x 262,144 rows and a few: runs split in 64-row blocks, the last taking the rest.
    const rows = 3 * 262_144 + 37;
    const { codes, head, tail } = clusteredPlanes(rows, 21);
    for (const [qr, k1, k] of [
      [5, rows, 5000],
      [rows - 3, rows, 1],
      [700_001, 50_000, 5000],
    ] as const) {
      const q = codes.slice(qr * 64, qr * 64 + 64);
      const [qh, qt] = [q.subarray(0, 32), q.subarray(32)];
      const one = kernels.hammingTopK2(head, tail, rows, qh, qt, k1, k, 1);
      // (One thread here reads the head plane as four runs in step: the JavaScript answer too.)
      assert.deepEqual(
        one,
        jsKernels.hammingTopK2(head, tail, rows, qh, qt, k1, k),
        `k1 ${k1} k ${k}, one thread`,
      );
      for (const threads of [2, 3, 64]) {
        const many = kernels.hammingTopK2(head, tail, rows, qh, qt, k1, k, threads);
        assert.deepEqual(many, one, `k1 ${k1} k ${k}, ${threads} threads`);
      }
      assert.equal(one[0], qr, 'the query row first');
    }
  });

  it(`the ${kernelsName} hammingTopK2 gives the JavaScript one's answer when the rows it samples mislead its guessed cut, and when every row ties`, () => {
    // The native scan guesses its cut from every 16th block of 512 rows. Two galleries of
    // 200,000 where a few rows are near the query and the rest random: the first 20,000 near,
    // and the sampled blocks' rows near (the guess far too tight for 5,000: scanned again).
    // Then one code repeated (every distance 0: the collection fills with ties, takes no more).
    const rows = 200_000;
    const rand = mulberry32(31);
    const near = [(r: number) => r < 20_000, (r: number) => Math.floor(r / 512) % 16 === 0];
    const before = scanStats();
    let q = new Uint8Array(64);
    for (const isNear of near) {
      const words = new Uint32Array(rows * 16);
      for (let i = 0; i < words.length; i++) words[i] = Math.floor(rand() * 2 ** 32);
      const query = words.slice(0, 16);
      for (let r = 1; r < rows; r++)
        if (isNear(r))
          for (let w = 0; w < 16; w++)
            words[r * 16 + w] =
              (query[w] as number) ^
              (Math.floor(rand() * 2 ** 32) & Math.floor(rand() * 2 ** 32) & Math.floor(rand() * 2 ** 32));
      const codes = new Uint8Array(words.buffer);
      const { head, tail } = split(codes, rows);
      q = codes.slice(0, 64);
      const [qh, qt] = [q.subarray(0, 32), q.subarray(32)];
      for (const [k1, k] of [
        [rows, 5000],
        [30_000, 5000],
        [rows, 25_000],
      ] as const) {
        const want = jsKernels.hammingTopK2(head, tail, rows, qh, qt, k1, k);
        assert.deepEqual(kernels.hammingTopK2(head, tail, rows, qh, qt, k1, k), want, `k1 ${k1} k ${k}`);
      }
    }
    const after = scanStats();
    if (before && after) assert.ok(after.rescans > before.rescans, 'a guess fell short and was rescanned');
    const [qh, qt] = [q.subarray(0, 32), q.subarray(32)];
    const same = new Uint8Array(40_000 * 64);
    for (let r = 0; r < 40_000; r++) same.set(q, r * 64);
    const planes = split(same, 40_000);
    for (const [k1, k] of [
      [40_000, 5000],
      [20_000, 5000],
    ] as const) {
      const got = kernels.hammingTopK2(planes.head, planes.tail, 40_000, qh, qt, k1, k);
      assert.deepEqual(got, jsKernels.hammingTopK2(planes.head, planes.tail, 40_000, qh, qt, k1, k));
      assert.deepEqual(
        [...got.subarray(0, k)],
        Array.from({ length: k }, (_, i) => i),
        'ties: the first rows',
      );
    }
  });

  it(`the ${kernelsName} codeTopN keeps the JavaScript one's rows on 1-3 threads: the n best code scores in order, first ones at a tie`, () => {
    const rows = 6000;
    const { codes, head, tail } = planes(rows, 14);
    const rand = mulberry32(15);
    // Wide components (distinct scores) and {-1, 0, 1} ones (scores tie by the hundred).
    // Tables of an int8 query (on AVX2 scored from the query under the set bits) and one no
    // query makes (random 16-bit entries: scored by table lookups).
    const notAQuery = Int32Array.from({ length: 64 * 256 }, () => Math.floor(rand() * 4001) - 2000);
    for (const table of [
      codeTable(Int8Array.from({ length: 512 }, () => Math.floor(rand() * 255) - 127)),
      codeTable(Int8Array.from({ length: 512 }, () => Math.floor(rand() * 3) - 1)),
      notAQuery,
    ]) {
      const pick = Uint32Array.from({ length: 5000 }, () => Math.floor(rand() * rows));
      const scores = kernels.codeDots(codes, 64, pick, table);
      for (const n of [0, 1, 2, 40, 1000, 2500, 4999, 5000, 7000]) {
        const a = kernels.codeTopN(head, 32, tail, 32, pick, table, n);
        const b = jsKernels.codeTopN(head, 32, tail, 32, pick, table, n);
        assert.deepEqual(a, b, `n ${n}`);
        // Scored in 2 or 3 shares (5000 rows: 1024 at least a share), the same rows.
        for (const threads of [2, 3])
          assert.deepEqual(
            kernels.codeTopN(head, 32, tail, 32, pick, table, n, threads),
            b,
            `n ${n}, ${threads} threads`,
          );
        // Reference: stable sort of the positions by score, best first, then back in order.
        const m = Math.min(n, pick.length);
        const order = [...pick.keys()].sort((x, y) => (scores[y] as number) - (scores[x] as number) || x - y);
        const want = order
          .slice(0, m)
          .sort((x, y) => x - y)
          .map((i) => pick[i] as number);
        assert.deepEqual([...a], want, `n ${n}: the best ${m} in their given order`);
      }
    }
    if (kernelsName.startsWith('native')) {
      assert.throws(() =>
        kernels.codeTopN(head, 32, tail, 32, Uint32Array.of(rows), codeTable(new Int8Array(512)), 1),
      );
      // It scores from a 16-bit copy of the table: an entry no codeTable can hold is refused.
      const wide = codeTable(new Int8Array(512));
      wide[5] = 40_000;
      assert.throws(() => kernels.codeTopN(head, 32, tail, 32, Uint32Array.of(0), wide, 1), RangeError);
    }
  });

  it(`the ${kernelsName} shortlistByCode is codeTopN over hammingTopK2's k nearest of every row, on 1-3 threads and when its sample misleads`, () => {
    const rand = mulberry32(41);
    // Wide components (distinct scores) and {-1, 0, 1} ones (scores tie by the hundred).
    const tables = [
      codeTable(Int8Array.from({ length: 512 }, () => Math.floor(rand() * 255) - 127)),
      codeTable(Int8Array.from({ length: 512 }, () => Math.floor(rand() * 3) - 1)),
      // No query's table: scored by lookups, not from a query under the set bits.
      Int32Array.from({ length: 64 * 256 }, () => Math.floor(rand() * 4001) - 2000),
    ];
    const cases = [
      [5000, 1000],
      [5000, 40],
      [5000, 4999],
      [5000, 5000],
      [5000, 9000],
      [300, 7],
      [0, 0],
    ] as const;
    const check = (
      head: Uint8Array,
      tail: Uint8Array,
      rows: number,
      qr: number,
      threads: number[],
      js: boolean,
    ) => {
      const qh = head.slice(qr * 32, qr * 32 + 32);
      const qt = tail.slice(qr * 32, qr * 32 + 32);
      for (const table of tables)
        for (const [k, n] of cases) {
          const nearest = kernels.hammingTopK2(head, tail, rows, qh, qt, rows, k);
          const want = kernels.codeTopN(
            head,
            32,
            tail,
            32,
            nearest.subarray(0, nearest.length / 2),
            table,
            n,
          );
          if (js)
            assert.deepEqual(
              jsKernels.shortlistByCode(head, tail, rows, qh, qt, k, table, n),
              want,
              `JS, k ${k} n ${n}`,
            );
          for (const t of threads)
            assert.deepEqual(
              kernels.shortlistByCode(head, tail, rows, qh, qt, k, table, n, t),
              want,
              `k ${k} n ${n}, ${t} thread(s)`,
            );
        }
    };
    // Small enough for the JavaScript kernels; then long enough for 2 and 3 threads (262,144
    // rows a thread at least), the runs split in 64-row blocks, the last taking the rest.
    const small = clusteredPlanes(20_003, 42);
    check(small.head, small.tail, 20_003, 11, [1], true);
    const rows = 3 * 262_144 + 37;
    const big = clusteredPlanes(rows, 43);
    check(big.head, big.tail, rows, 700_001, [1, 2, 3], false);
    // The first 20,000 rows near the query, the rest random: the cut guessed from every 16th
    // block is far too loose, and rows taken early are dropped as the collection fills.
    const words = new Uint32Array(200_000 * 16);
    for (let i = 0; i < words.length; i++) words[i] = Math.floor(rand() * 2 ** 32);
    for (let r = 1; r < 20_000; r++)
      for (let w = 0; w < 16; w++)
        words[r * 16 + w] =
          (words[w] as number) ^ (Math.floor(rand() * 2 ** 32) & Math.floor(rand() * 2 ** 32));
    const { head, tail } = split(new Uint8Array(words.buffer), 200_000);
    check(head, tail, 200_000, 0, [1], false);
    if (kernelsName.startsWith('native')) {
      const wide = codeTable(new Int8Array(512));
      wide[5] = 40_000;
      // A table entry no codeTable holds, and a table of the wrong length: refused.
      for (const table of [wide, wide.subarray(1)])
        assert.throws(
          () =>
            kernels.shortlistByCode(
              head,
              tail,
              200_000,
              head.subarray(0, 32),
              tail.subarray(0, 32),
              10,
              table,
              5,
            ),
          RangeError,
        );
    }
  });

  it('code dots of the two planes with the table split at the head add up to the whole code', () => {
    const rows = 300;
    const { codes, head, tail } = planes(rows, 12);
    const rand = mulberry32(13);
    const q8 = Int8Array.from({ length: 512 }, () => Math.floor(rand() * 255) - 127);
    const table = codeTable(q8);
    const pick = Uint32Array.from({ length: 100 }, (_, i) => (i * 11) % rows);
    const whole = kernels.codeDots(codes, 64, pick, table);
    for (const k of [kernels, jsKernels]) {
      const h = k.codeDots(head, 32, pick, table.subarray(0, 32 * 256));
      const t = k.codeDots(tail, 32, pick, table.subarray(32 * 256));
      assert.deepEqual(
        h.map((x, i) => x + (t[i] as number)),
        whole,
      );
    }
  });

  it('a segment keeps both planes of every slot through swap-removes and growth', () => {
    const dim = 512;
    assert.equal(codeHeadBytes(dim), 32);
    const seg = new Segment('g', dim, false, int8Scale(DEFAULT_INT8_RANGE));
    const rand = mulberry32(14);
    const vectors = new Map<string, Float32Array>();
    const vec = () => Float32Array.from({ length: dim }, () => rand() - 0.5);
    for (let i = 0; i < 1500; i++) {
      const v = vec();
      vectors.set(`t${i}`, v);
      seg.push(`t${i}`, i, -1, v);
    }
    for (let step = 0; step < 600; step++) {
      const slot = Math.floor(rand() * seg.size);
      vectors.delete(seg.templateIds.get(slot));
      seg.removeAt(slot);
      if (step % 3 === 0) {
        const v = vec();
        vectors.set(`n${step}`, v);
        seg.push(`n${step}`, 0, -1, v);
      }
    }
    assert.equal(seg.size, vectors.size);
    const code = new Uint8Array(64);
    for (let slot = 0; slot < seg.size; slot++) {
      signCode(vectors.get(seg.templateIds.get(slot)) as Float32Array, code);
      assert.deepEqual(
        seg.head.subarray(slot * 32, slot * 32 + 32),
        code.subarray(0, 32),
        `head of slot ${slot}`,
      );
      assert.deepEqual(
        seg.tail.subarray(slot * 32, slot * 32 + 32),
        code.subarray(32),
        `tail of slot ${slot}`,
      );
    }
  });
});

describe("a lesser CPU's distance loops", () => {
  // The addon picks its loops once, at load: a child process runs this file's tests with the
  // loops of each CPU below this one's, so an AVX2 or popcnt machine's answers are checked here.
  const levels = ['avx512', 'avx2', 'popcnt', 'generic'];
  const mine = levels.indexOf(kernelsName.replace('native ', ''));
  const lower = process.env.SHELIA_NATIVE_SIMD || mine < 0 ? [] : levels.slice(mine + 1);
  for (const level of lower)
    it(`the ${level} loops give the JavaScript kernels' answers`, () => {
      const r = spawnSync(process.execPath, ['--test', fileURLToPath(import.meta.url)], {
        // (Without NODE_TEST_CONTEXT: the child reports to its own stdout, not to this runner.)
        env: { ...process.env, NODE_TEST_CONTEXT: undefined, SHELIA_NATIVE_SIMD: level },
        encoding: 'utf8',
        timeout: 120_000,
      });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`ok \\d+ - the native ${level} kernel agrees`));
    });
});
