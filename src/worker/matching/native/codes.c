/*
 * Shelia's 1:N prefilter kernels (N-API, no dependencies beyond Node's headers).
 *
 * usearch's exactSearch takes f32/f64/i8 only (hamming on packed bits returns NaN, measured) and
 * its b1 HNSW index costs a graph per vector, so the binary scan is this file: Hamming distance
 * from one 64-byte sign code to every row, then the k nearest by a histogram over the integer
 * distances (0..bits), no sort of the whole gallery. AVX-512 VPOPCNTDQ when the CPU has it,
 * else the popcnt instruction, else the compiler's software popcount.
 *
 *   hammingTopK(codes: Uint8Array, rows, query: Uint8Array, k) -> Uint32Array [k rows nearest
 *     first, then their k distances]
 *   hammingTopK2(head: Uint8Array, tail: Uint8Array, rows, qHead, qTail, k1, k) -> the same for
 *     codes stored as two planes (each row's first bytes in `head`, the rest in `tail`): the k1
 *     rows nearest by the head alone (a scan of half the bytes), then the k of those nearest by
 *     the whole code (the tail read only for the k1). Ties at both cuts go to the lower rows,
 *     so with k1 = rows the answer is hammingTopK's over the concatenated codes. Scanned a block
 *     at a time into a collection with a falling cut (below, at scan_part); figures in README.
 *   scanStats() -> {runs, rescans, taken}: counters of that scan since load (the benchmarks).
 *   adviseHugePages(array: Uint8Array | Int8Array) -> boolean (madvise MADV_HUGEPAGE)
 *   dotI8(data: Int8Array, dim, rows: Uint32Array, query: Int8Array) -> Int32Array
 *   codeDots(codes: Uint8Array, bytes, rows: Uint32Array, table: Int32Array) -> Int32Array
 *     asymmetric score of the given rows: sum over code bytes of table[byte * 256 + value]
 *     (the caller's table holds, per byte position, the sum of the int8 query's components
 *     whose bits are set in each of the 256 values)
 *   codeTopN(head: Uint8Array, headBytes, tail: Uint8Array, tailBytes, rows: Uint32Array,
 *     table: Int32Array, n) -> Uint32Array: the n of the given rows with the highest codeDots
 *     score over both planes (table: the head's headBytes * 256 entries, then the tail's), in
 *     their given order; ties at the cut go to the first ones. One call instead of two codeDots,
 *     a sum and a JavaScript sort of the scores, with the scattered rows prefetched. An optional
 *     8th argument scores the rows on that many threads (same answer).
 *   shortlistByCode(head, tail, rows, qHead, qTail, k, table, n, threads?) -> Uint32Array: the
 *     n best codeTopN scores among hammingTopK2's k nearest of every row (k1 = rows), in that
 *     order: codeTopN(hammingTopK2(..., rows, k)), but each row scored as the scan takes it
 *     (its codes just read, in cache) instead of 5000 scattered reads afterwards.
 */
#include <node_api.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define CHECK(call)                                                                            \
  if ((call) != napi_ok) {                                                                     \
    napi_throw_error(env, "SHELIA_NATIVE", #call " failed");                                   \
    return NULL;                                                                               \
  }

/*
 * The distance loops this CPU runs, found once at load: 3 AVX-512 (F, BW, VPOPCNTDQ), 2 AVX2,
 * 1 popcnt, 0 none. SHELIA_NATIVE_SIMD (avx2, popcnt or generic) caps it, so the tests run the
 * loops of other CPUs on this one.
 */
static int simd_level;

static void find_simd_level(void) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vpopcntdq"))
    simd_level = 3;
  else if (__builtin_cpu_supports("avx2"))
    simd_level = 2;
  else if (__builtin_cpu_supports("popcnt"))
    simd_level = 1;
#endif
  const char *cap = getenv("SHELIA_NATIVE_SIMD");
  int most = !cap ? 3 : !strcmp(cap, "avx2") ? 2 : !strcmp(cap, "popcnt") ? 1 : !strcmp(cap, "generic") ? 0 : 3;
  if (simd_level > most) simd_level = most;
}

static void distances_generic(const uint64_t *codes, size_t rows, size_t words, const uint64_t *q,
                              uint16_t *out) {
  for (size_t r = 0; r < rows; r++) {
    const uint64_t *c = codes + r * words;
    unsigned d = 0;
    for (size_t w = 0; w < words; w++) d += (unsigned)__builtin_popcountll(c[w] ^ q[w]);
    out[r] = (uint16_t)d;
  }
}

#if defined(__x86_64__)
__attribute__((target("popcnt"))) static void distances_popcnt(const uint64_t *codes, size_t rows,
                                                                size_t words, const uint64_t *q,
                                                                uint16_t *out) {
  for (size_t r = 0; r < rows; r++) {
    const uint64_t *c = codes + r * words;
    unsigned d = 0;
    for (size_t w = 0; w < words; w++) d += (unsigned)__builtin_popcountll(c[w] ^ q[w]);
    out[r] = (uint16_t)d;
  }
}

/* 64-byte codes: one zmm register per row. */
__attribute__((target("avx512f,avx512vpopcntdq"))) static void distances_avx512(
    const uint64_t *codes, size_t rows, size_t words, const uint64_t *q, uint16_t *out) {
  size_t blocks = words / 8;
  for (size_t r = 0; r < rows; r++) {
    const uint64_t *c = codes + r * words;
    __m512i acc = _mm512_setzero_si512();
    for (size_t b = 0; b < blocks; b++) {
      __m512i x = _mm512_xor_si512(_mm512_loadu_si512((const void *)(c + b * 8)),
                                   _mm512_loadu_si512((const void *)(q + b * 8)));
      acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(x));
    }
    unsigned d = (unsigned)_mm512_reduce_add_epi64(acc);
    for (size_t w = blocks * 8; w < words; w++) d += (unsigned)__builtin_popcountll(c[w] ^ q[w]);
    out[r] = (uint16_t)d;
  }
}

/* A 32-byte query in both halves of a zmm register (two 32-byte rows per register). */
__attribute__((target("avx512f"))) static inline __m512i twice32(const uint64_t *q) {
  __m256i q1 = _mm256_loadu_si256((const void *)q);
  return _mm512_inserti64x4(_mm512_castsi256_si512(q1), q1, 1);
}

/* 32-byte codes (the head plane of 512-bit codes): two rows per zmm register. */
__attribute__((target("avx512f,avx512vpopcntdq"))) static void distances_avx512_32(
    const uint64_t *codes, size_t rows, const uint64_t *q, uint16_t *out) {
  __m512i q2 = twice32(q);
  size_t r = 0;
  for (; r + 2 <= rows; r += 2) {
    __m512i a = _mm512_popcnt_epi64(
        _mm512_xor_si512(_mm512_loadu_si512((const void *)(codes + r * 4)), q2));
    /* Sum 64-bit pairs, then 128-bit pairs: lane 0 holds row r, lane 4 row r + 1. */
    __m512i b = _mm512_add_epi64(a, _mm512_shuffle_epi32(a, _MM_PERM_BADC));
    __m512i c = _mm512_add_epi64(b, _mm512_shuffle_i64x2(b, b, _MM_SHUFFLE(2, 3, 0, 1)));
    out[r] = (uint16_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(c));
    out[r + 1] =
        (uint16_t)_mm_cvtsi128_si64(_mm256_castsi256_si128(_mm512_extracti64x4_epi64(c, 1)));
  }
  for (; r < rows; r++) {
    unsigned d = 0;
    for (size_t w = 0; w < 4; w++) d += (unsigned)__builtin_popcountll(codes[r * 4 + w] ^ q[w]);
    out[r] = (uint16_t)d;
  }
}

/*
 * Eight rows a step, for the block scan of hammingTopK2: each register's 64-bit counts (two
 * rows) are summed across rows by unpack and lane shuffles and narrowed to 16 bits in one
 * instruction (one shuffle-port op a row, against 1.5 in the pair loops above). Four loads a
 * step stream DRAM slower than one on this Sapphire Rapids box (a plain popcount sum over 320 MB:
 * 27.3 ms against 22.4) unless the lines 512 bytes ahead are asked for (22.0 ms).
 */
#define EIGHT_ROWS_PREFETCH 64 /* words ahead: 512 bytes */
__attribute__((target("avx512f,avx512vpopcntdq"))) static inline __m128i sum8_avx512(__m512i a,
                                                                                   __m512i b,
                                                                                   __m512i c,
                                                                                   __m512i d) {
  /* Per 128-bit lane: [half of row 0 (a) or 4 (c), the same half of row 2 / 6]. */
  __m512i ab = _mm512_add_epi64(_mm512_unpacklo_epi64(a, b), _mm512_unpackhi_epi64(a, b));
  __m512i cd = _mm512_add_epi64(_mm512_unpacklo_epi64(c, d), _mm512_unpackhi_epi64(c, d));
  __m512i x = _mm512_shuffle_i64x2(ab, cd, _MM_SHUFFLE(2, 0, 2, 0));
  __m512i y = _mm512_shuffle_i64x2(ab, cd, _MM_SHUFFLE(3, 1, 3, 1));
  /* x + y holds rows 0 2 1 3 4 6 5 7; the byte shuffle puts them in order. */
  const __m128i order = _mm_setr_epi8(0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15);
  return _mm_shuffle_epi8(_mm512_cvtepi64_epi16(_mm512_add_epi64(x, y)), order);
}

__attribute__((target("avx512f,avx512vpopcntdq"))) static inline __m512i pop2_avx512(
    const uint64_t *c, __m512i q) {
  return _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512((const void *)c), q));
}

__attribute__((target("avx512f,avx512vpopcntdq"))) static size_t distances_avx512_32x8(
    const uint64_t *codes, size_t rows, const uint64_t *q, uint16_t *out) {
  __m512i q2 = twice32(q);
  size_t r = 0;
  for (; r + 8 <= rows; r += 8) {
    const uint64_t *c = codes + r * 4;
    _mm_prefetch((const char *)(c + EIGHT_ROWS_PREFETCH), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + EIGHT_ROWS_PREFETCH + 8), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + EIGHT_ROWS_PREFETCH + 16), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + EIGHT_ROWS_PREFETCH + 24), _MM_HINT_T0);
    _mm_storeu_si128((void *)(out + r), sum8_avx512(pop2_avx512(c, q2), pop2_avx512(c + 8, q2),
                                                    pop2_avx512(c + 16, q2),
                                                    pop2_avx512(c + 24, q2)));
  }
  return r;
}

__attribute__((target("avx512f,avx512vpopcntdq"))) static size_t distances2_avx512_32x8(
    const uint64_t *head, const uint64_t *tail, size_t rows, const uint64_t *qh,
    const uint64_t *qt, uint16_t *out) {
  __m512i qh2 = twice32(qh), qt2 = twice32(qt);
  size_t r = 0;
  for (; r + 8 <= rows; r += 8) {
    const uint64_t *h = head + r * 4, *t = tail + r * 4;
    for (int j = 0; j < 32; j += 8) {
      _mm_prefetch((const char *)(h + EIGHT_ROWS_PREFETCH + j), _MM_HINT_T0);
      _mm_prefetch((const char *)(t + EIGHT_ROWS_PREFETCH + j), _MM_HINT_T0);
    }
    __m512i a = _mm512_add_epi64(pop2_avx512(h, qh2), pop2_avx512(t, qt2));
    __m512i b = _mm512_add_epi64(pop2_avx512(h + 8, qh2), pop2_avx512(t + 8, qt2));
    __m512i c = _mm512_add_epi64(pop2_avx512(h + 16, qh2), pop2_avx512(t + 16, qt2));
    __m512i d = _mm512_add_epi64(pop2_avx512(h + 24, qh2), pop2_avx512(t + 24, qt2));
    _mm_storeu_si128((void *)(out + r), sum8_avx512(a, b, c, d));
  }
  return r;
}

/*
 * The head plane of four runs at once, eight rows of each a step: one stream of reads per core
 * took 31.1 ms over 320 MB here, four interleaved 23.3 ms, two cores with four each 11.7 ms
 * over 160 MB apiece (~27 GB/s, what two cores draw with both planes too). SCAN_BLOCK rows each.
 */
__attribute__((target("avx512f,avx512vpopcntdq"))) static void distances_avx512_32x8_4(
    const uint64_t *const codes[4], const uint64_t *q, uint16_t *const out[4], size_t rows) {
  __m512i q2 = twice32(q);
  for (size_t r = 0; r + 8 <= rows; r += 8)
    for (int s = 0; s < 4; s++) {
      const uint64_t *c = codes[s] + r * 4;
      _mm_storeu_si128((void *)(out[s] + r), sum8_avx512(pop2_avx512(c, q2), pop2_avx512(c + 8, q2),
                                                        pop2_avx512(c + 16, q2),
                                                        pop2_avx512(c + 24, q2)));
    }
}

/*
 * AVX2 without AVX-512 (AMD Zen 2/3, older Intel): bytes counted by a nibble table (vpshufb),
 * summed per 64-bit lane by vpsadbw; four rows' lane sums are packed into 16-bit fields so one
 * horizontal add gives four distances. Measured at 1M rows on a Zen 3 EPYC (bench/hamming-planes.ts,
 * CPU p50): the popcnt loop below took 9.6 ms for the whole codes, 5.1 ms for the head plane.
 */
#ifndef AVX2_PREFETCH_ROWS
#define AVX2_PREFETCH_ROWS 64
#endif
__attribute__((target("avx2"))) static inline __m256i popcount_bytes_avx2(__m256i x) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2,
                                       1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f);
  __m256i lo = _mm256_and_si256(x, low);
  __m256i hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), low);
  return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

/* Four rows' vpsadbw sums (each lane <= 255) -> their four distances, as one uint64_t. */
__attribute__((target("avx2"))) static inline uint64_t pack4_avx2(__m256i s0, __m256i s1,
                                                                  __m256i s2, __m256i s3) {
  __m256i p = _mm256_or_si256(_mm256_or_si256(s0, _mm256_slli_epi64(s1, 16)),
                              _mm256_or_si256(_mm256_slli_epi64(s2, 32), _mm256_slli_epi64(s3, 48)));
  __m128i h = _mm_add_epi64(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
  return (uint64_t)_mm_cvtsi128_si64(h) + (uint64_t)_mm_extract_epi64(h, 1);
}

/* Rows of `words` 64-bit words, words a multiple of 4 and at most 16 (1024 bits). */
__attribute__((target("avx2"))) static void distances_avx2(const uint64_t *codes, size_t rows,
                                                           size_t words, const uint64_t *q,
                                                           uint16_t *out) {
  const __m256i zero = _mm256_setzero_si256();
  size_t blocks = words / 4;
  __m256i qv[4];
  for (size_t b = 0; b < blocks; b++) qv[b] = _mm256_loadu_si256((const void *)(q + b * 4));
  size_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    /* The step's lines AVX2_PREFETCH_ROWS rows ahead, as distances2_avx2_32 (this loop scans
       the head plane's sampled blocks and runs too short to read in step). */
    for (size_t at = 0; at < 4 * words; at += 8)
      _mm_prefetch((const char *)(codes + (r + AVX2_PREFETCH_ROWS) * words + at), _MM_HINT_T0);
    __m256i s[4];
    for (int j = 0; j < 4; j++) {
      const uint64_t *c = codes + (r + j) * words;
      __m256i acc = zero;
      for (size_t b = 0; b < blocks; b++)
        acc = _mm256_add_epi8(acc, popcount_bytes_avx2(_mm256_xor_si256(
                                       _mm256_loadu_si256((const void *)(c + b * 4)), qv[b])));
      s[j] = _mm256_sad_epu8(acc, zero);
    }
    uint64_t v = pack4_avx2(s[0], s[1], s[2], s[3]);
    memcpy(out + r, &v, sizeof v);
  }
  for (; r < rows; r++) {
    unsigned d = 0;
    for (size_t w = 0; w < words; w++) d += (unsigned)__builtin_popcountll(codes[r * words + w] ^ q[w]);
    out[r] = (uint16_t)d;
  }
}
#endif

static void distances(const uint64_t *codes, size_t rows, size_t words, const uint64_t *q,
                      uint16_t *out) {
#if defined(__x86_64__)
  if (words >= 8 && simd_level >= 3)
    return distances_avx512(codes, rows, words, q, out);
  if (words == 4 && simd_level >= 3)
    return distances_avx512_32(codes, rows, q, out);
  if (words % 4 == 0 && words <= 16 && simd_level >= 2)
    return distances_avx2(codes, rows, words, q, out);
  if (simd_level >= 1) return distances_popcnt(codes, rows, words, q, out);
#endif
  distances_generic(codes, rows, words, q, out);
}

/*
 * The whole-code distance of every row of two planes in one pass: what hammingTopK2 streams
 * when every row is kept (the same bytes as one scan of the whole codes).
 */
static void distances2_generic(const uint64_t *head, const uint64_t *tail, size_t rows, size_t hw,
                               size_t tw, const uint64_t *qh, const uint64_t *qt, uint16_t *out) {
  for (size_t r = 0; r < rows; r++) {
    unsigned d = 0;
    for (size_t w = 0; w < hw; w++) d += (unsigned)__builtin_popcountll(head[r * hw + w] ^ qh[w]);
    for (size_t w = 0; w < tw; w++) d += (unsigned)__builtin_popcountll(tail[r * tw + w] ^ qt[w]);
    out[r] = (uint16_t)d;
  }
}

#if defined(__x86_64__)
__attribute__((target("popcnt"))) static void distances2_popcnt(const uint64_t *head,
                                                                 const uint64_t *tail, size_t rows,
                                                                 size_t hw, size_t tw,
                                                                 const uint64_t *qh,
                                                                 const uint64_t *qt, uint16_t *out) {
  for (size_t r = 0; r < rows; r++) {
    unsigned d = 0;
    for (size_t w = 0; w < hw; w++) d += (unsigned)__builtin_popcountll(head[r * hw + w] ^ qh[w]);
    for (size_t w = 0; w < tw; w++) d += (unsigned)__builtin_popcountll(tail[r * tw + w] ^ qt[w]);
    out[r] = (uint16_t)d;
  }
}

/* The AVX2 loop below takes whole steps of rows and returns how many it did; distances2 does the
   rest one by one (on AVX-512 block_distances' eight-row loop takes the whole steps). */
/*
 * 32-byte head and tail planes on AVX2: four rows per step, as distances_avx2, both planes
 * prefetched. Zen 3 EPYC (32 MB L3, 2026-12-03), 1M rows, one core: the loop computes 2.1 ns a
 * row from L2 and streamed 4.2 ms from DRAM without the prefetch, 3.2 with it 32-64 rows ahead.
 */
__attribute__((target("avx2"))) static size_t distances2_avx2_32(const uint64_t *head,
                                                               const uint64_t *tail, size_t rows,
                                                               const uint64_t *qh,
                                                               const uint64_t *qt, uint16_t *out) {
  const __m256i zero = _mm256_setzero_si256();
  __m256i qhv = _mm256_loadu_si256((const void *)qh);
  __m256i qtv = _mm256_loadu_si256((const void *)qt);
  size_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    /* Each step's two lines of each plane, AVX2_PREFETCH_ROWS ahead (past the block's end too:
       the next block's rows; a prefetch never faults). */
    const uint64_t *ph = head + (r + AVX2_PREFETCH_ROWS) * 4, *pt = tail + (r + AVX2_PREFETCH_ROWS) * 4;
    _mm_prefetch((const char *)ph, _MM_HINT_T0);
    _mm_prefetch((const char *)(ph + 8), _MM_HINT_T0);
    _mm_prefetch((const char *)pt, _MM_HINT_T0);
    _mm_prefetch((const char *)(pt + 8), _MM_HINT_T0);
    __m256i s[4];
    for (int j = 0; j < 4; j++) {
      __m256i h = _mm256_xor_si256(_mm256_loadu_si256((const void *)(head + (r + j) * 4)), qhv);
      __m256i t = _mm256_xor_si256(_mm256_loadu_si256((const void *)(tail + (r + j) * 4)), qtv);
      s[j] = _mm256_sad_epu8(_mm256_add_epi8(popcount_bytes_avx2(h), popcount_bytes_avx2(t)), zero);
    }
    uint64_t v = pack4_avx2(s[0], s[1], s[2], s[3]);
    memcpy(out + r, &v, sizeof v);
  }
  return r;
}
#endif

#if defined(__x86_64__)
/*
 * Four runs of the head plane (32-byte rows) read in step on AVX2, four rows of each a step,
 * each prefetched. 10M rows, 100,000 kept, 2 threads, Zen 3 EPYC (2026-12-03, three runs of 40
 * queries, wall p50): one run a thread 21.7-24.0 ms, four in step 19.6-22.3 (no prefetch
 * either: 23.0-25.8).
 */
__attribute__((target("avx2"))) static void distances_avx2_32x4_4(const uint64_t *const codes[4],
                                                                 const uint64_t *q,
                                                                 uint16_t *const out[4],
                                                                 size_t rows) {
  const __m256i zero = _mm256_setzero_si256();
  __m256i qv = _mm256_loadu_si256((const void *)q);
  for (size_t r = 0; r + 4 <= rows; r += 4)
    for (int s = 0; s < 4; s++) {
      const uint64_t *c = codes[s] + r * 4;
      _mm_prefetch((const char *)(c + AVX2_PREFETCH_ROWS * 4), _MM_HINT_T0);
      _mm_prefetch((const char *)(c + AVX2_PREFETCH_ROWS * 4 + 8), _MM_HINT_T0);
      __m256i v[4];
      for (int j = 0; j < 4; j++)
        v[j] = _mm256_sad_epu8(
            popcount_bytes_avx2(_mm256_xor_si256(_mm256_loadu_si256((const void *)(c + j * 4)), qv)),
            zero);
      uint64_t d = pack4_avx2(v[0], v[1], v[2], v[3]);
      memcpy(out[s] + r, &d, sizeof d);
    }
}
#endif

static void distances2(const uint64_t *head, const uint64_t *tail, size_t rows, size_t hw,
                       size_t tw, const uint64_t *qh, const uint64_t *qt, uint16_t *out) {
  size_t done = 0;
#if defined(__x86_64__)
  if (hw == 4 && tw == 4 && simd_level >= 2)
    done = distances2_avx2_32(head, tail, rows, qh, qt, out);
  if (simd_level >= 1)
    return distances2_popcnt(head + done * hw, tail + done * tw, rows - done, hw, tw, qh, qt,
                             out + done);
#endif
  distances2_generic(head + done * hw, tail + done * tw, rows - done, hw, tw, qh, qt, out + done);
}

static void *typed_data(napi_env env, napi_value v, napi_typedarray_type want, size_t *length) {
  napi_typedarray_type type;
  size_t len, offset;
  void *data;
  napi_value buf;
  if (napi_get_typedarray_info(env, v, &type, &len, &data, &buf, &offset) != napi_ok ||
      type != want) {
    napi_throw_type_error(env, "SHELIA_NATIVE", "unexpected argument type");
    return NULL;
  }
  *length = len;
  /* An empty array may have no data pointer: a NULL here would read as "threw" and the call
     return undefined with no error (codeTopN of no rows did). Nothing is read from it. */
  static uint64_t empty;
  return data ? data : &empty;
}

/*
 * The scan's collections, kept per thread between calls: a fresh malloc of a few MB is an mmap
 * whose first touch page-faults, every query.
 */
static _Thread_local uint32_t *scratch_cand;
static _Thread_local uint16_t *scratch_cd;
static _Thread_local size_t scratch_cand_n;

static _Thread_local void *scratch_sd; /* uint16_t */
static _Thread_local size_t scratch_sd_n;
/* shortlistByCode's collections' code scores (int32_t), kept as the candidates are. */
static _Thread_local void *scratch_cs;
static _Thread_local size_t scratch_cs_n;

/* *buf with room for n items of `size` bytes (regrown, old contents dropped), or NULL. */
static void *scratch_room(void **buf, size_t *room, size_t n, size_t size) {
  if (n > *room || !*buf) {
    free(*buf);
    *buf = malloc(n * size + size);
    *room = *buf ? n : 0;
  }
  return *buf;
}

static uint16_t *scratch_samples(size_t n) {
  return scratch_room(&scratch_sd, &scratch_sd_n, n, sizeof(uint16_t));
}

static int32_t *scratch_scores(size_t n) {
  return scratch_room(&scratch_cs, &scratch_cs_n, n, sizeof(int32_t));
}

static int scratch_candidates(size_t n) {
  if (n > scratch_cand_n || !scratch_cand || !scratch_cd) {
    free(scratch_cand);
    free(scratch_cd);
    scratch_cand = malloc(n * sizeof(uint32_t) + 4);
    scratch_cd = malloc(n * sizeof(uint16_t) + 2);
    scratch_cand_n = scratch_cand && scratch_cd ? n : 0;
  }
  return scratch_cand && scratch_cd;
}

static napi_value hamming_top_k(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  size_t codes_len, q_len;
  uint32_t rows, k;
  const uint8_t *codes = typed_data(env, argv[0], napi_uint8_array, &codes_len);
  if (!codes) return NULL;
  CHECK(napi_get_value_uint32(env, argv[1], &rows));
  const uint8_t *q = typed_data(env, argv[2], napi_uint8_array, &q_len);
  if (!q) return NULL;
  CHECK(napi_get_value_uint32(env, argv[3], &k));
  size_t words = q_len / 8;
  size_t bits = words * 64;
  if (q_len % 8 || words == 0 || (size_t)rows * q_len > codes_len || bits > 65535 ||
      ((uintptr_t)codes % 8) || ((uintptr_t)q % 8)) {
    napi_throw_range_error(env, "SHELIA_NATIVE", "codes/query sizes or alignment");
    return NULL;
  }
  if (k > rows) k = rows;
  uint16_t *dist = malloc((size_t)rows * sizeof(uint16_t) + 1);
  uint32_t *hist = calloc(bits + 1, sizeof(uint32_t));
  if (!dist || !hist) {
    free(dist);
    free(hist);
    napi_throw_error(env, "SHELIA_NATIVE", "out of memory");
    return NULL;
  }
  distances((const uint64_t *)codes, rows, words, (const uint64_t *)q, dist);
  for (size_t r = 0; r < rows; r++) hist[dist[r]]++;
  /* Counting sort of the k nearest: start[d] = where rows at distance d go in the output. */
  size_t taken = 0, limit = 0;
  for (; limit <= bits && taken < k; limit++) {
    uint32_t h = hist[limit];
    hist[limit] = (uint32_t)taken;
    taken += h;
  }
  napi_value ab, result;
  void *out_data;
  CHECK(napi_create_arraybuffer(env, (size_t)k * 8, &out_data, &ab));
  uint32_t *out = out_data;
  for (size_t r = 0; r < rows; r++) {
    uint16_t d = dist[r];
    if (d >= limit) continue;
    uint32_t at = hist[d]++;
    if (at < k) out[at] = (uint32_t)r;
  }
  for (size_t i = 0; i < k; i++) out[k + i] = dist[out[i]];
  free(dist);
  free(hist);
  CHECK(napi_create_typedarray(env, napi_uint32_array, (size_t)k * 2, ab, 0, &result));
  return result;
}

/* Rows ahead whose code (or int8) lines codeTopN and dotI8 ask for while scoring a row. */
#ifndef GATHER_AHEAD
#define GATHER_AHEAD 16
#endif

#ifndef PREFETCH_AHEAD
#define PREFETCH_AHEAD 32
#endif

/* dist[r] += Hamming distance of tail row r (words each) to q, for the given rows. */
static void add_distances(const uint64_t *tail, size_t words, const uint32_t *rows, size_t n,
                          const uint64_t *q, uint16_t *dist) {
  for (size_t i = 0; i < n; i++) {
    /* Random reads: ask for rows a few ahead so their cache misses overlap. */
    if (i + PREFETCH_AHEAD < n) __builtin_prefetch(tail + (size_t)rows[i + PREFETCH_AHEAD] * words);
    const uint64_t *c = tail + (size_t)rows[i] * words;
    unsigned d = 0;
    for (size_t w = 0; w < words; w++) d += (unsigned)__builtin_popcountll(c[w] ^ q[w]);
    dist[i] = (uint16_t)(dist[i] + d);
  }
}

#if defined(__x86_64__)
__attribute__((target("popcnt"))) static void add_distances_popcnt(const uint64_t *tail,
                                                                    size_t words,
                                                                    const uint32_t *rows, size_t n,
                                                                    const uint64_t *q,
                                                                    uint16_t *dist) {
  for (size_t i = 0; i < n; i++) {
    if (i + PREFETCH_AHEAD < n) __builtin_prefetch(tail + (size_t)rows[i + PREFETCH_AHEAD] * words);
    const uint64_t *c = tail + (size_t)rows[i] * words;
    unsigned d = 0;
    for (size_t w = 0; w < words; w++) d += (unsigned)__builtin_popcountll(c[w] ^ q[w]);
    dist[i] = (uint16_t)(dist[i] + d);
  }
}
#endif

/*
 * hammingTopK2 streams the codes a block at a time (distances into a 1 KB array that stays in
 * L1) and keeps only the rows that can still be among the nearest: a collection takes a row
 * while its distance is at most `cut`; when it fills it keeps its k nearest (ties: the lower
 * rows) and the cut drops below the k-th of them, so a later row enters only if it beats one
 * kept. Nothing is written per row of the gallery (the former scan wrote every distance to a
 * 2 MB-per-million array and counted it in a histogram, then read it all again to place the
 * nearest). At 1M rows of real-photo codes on a 2-vCPU AVX-512 Xeon (bench/identify-stages.ts, wall
 * p50): 4.88 ms before, 3.11 ms after; 10M on two threads 27.9 -> 23-25 ms (random codes).
 *
 * Its optional 8th argument splits the scan over threads: each collects its own run of rows, and
 * the runs' collections, concatenated in row order, hold every row of the answer (a row among
 * the k nearest of all is among the k nearest of its run), so the answer is the one-thread
 * answer. One core streams 12-16 GB/s on a Zen 3 EPYC, two ~21 GB/s; below MIN_ROWS_PER_THREAD
 * rows per thread it stays on one.
 */
#ifndef MIN_ROWS_PER_THREAD
#define MIN_ROWS_PER_THREAD 262144
#endif
#define MAX_SCAN_THREADS 16
#define SCAN_BLOCK 512
/* Head-plane runs read in step need this many rows each (SAMPLE_MIN sampled rows at least). */
#define MIN_ROWS_PER_STREAM 65536

/*
 * The asymmetric code score of one row (codeTopN, shortlistByCode): the 16-bit table's entry of
 * each code byte, summed over both planes.
 */
typedef struct {
  const uint8_t *head, *tail;
  uint32_t hb, tb;
  const int16_t *thead, *ttail;
  /* The int8 query the table was made from (table_query), 64 bytes per 512 bits, when it was
     one and the codes are 32 + 32 bytes on AVX2: row_score then sums it under the set bits. */
  const int8_t *q8;
} code_scorer;

#if defined(__x86_64__)
/*
 * The same score on AVX2: each 32 code bits widened to 32 byte masks (broadcast, vpshufb, AND
 * and compare with the bit values), the query's int8 components kept under them and summed in
 * 16 bits (|sum| <= 16 * 2 * 128 a lane). Taken rows scored by table lookups cost ~120 ns each
 * at 1M (64 dependent byte-then-entry loads, the 32 KB table evicted by the block's 32 KB of
 * codes): ~1 ms of a query; scored here, ~10 ns.
 */
__attribute__((target("avx2"))) static int32_t row_score_avx2(const uint8_t *h, const uint8_t *t,
                                                              const int8_t *q8) {
  const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2,
                                          2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
  const __m256i ones = _mm256_set1_epi8(1);
  __m256i acc = _mm256_setzero_si256();
  for (int c = 0; c < 16; c++) {
    uint32_t w;
    memcpy(&w, (c < 8 ? h : t - 32) + c * 4, sizeof w);
    __m256i m = _mm256_shuffle_epi8(_mm256_set1_epi32((int)w), spread);
    m = _mm256_cmpeq_epi8(_mm256_and_si256(m, bit), bit);
    __m256i kept = _mm256_and_si256(m, _mm256_loadu_si256((const void *)(q8 + c * 32)));
    acc = _mm256_add_epi16(acc, _mm256_maddubs_epi16(ones, kept));
  }
  __m256i s32 = _mm256_madd_epi16(acc, _mm256_set1_epi16(1));
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}
#endif

static inline int32_t row_score(const code_scorer *sc, size_t row) {
  const uint8_t *h = sc->head + row * sc->hb, *t = sc->tail + row * sc->tb;
#if defined(__x86_64__)
  if (sc->q8) return row_score_avx2(h, t, sc->q8);
#endif
  int32_t s = 0;
  for (uint32_t b = 0; b < sc->hb; b++) s += sc->thead[b * 256 + h[b]];
  for (uint32_t b = 0; b < sc->tb; b++) s += sc->ttail[b * 256 + t[b]];
  return s;
}

/*
 * The int8 query a codeTable was made from, into q8 (8 per table byte), if it was one: every
 * entry the sum of its single-bit entries, each of those within int8. 0 if not.
 */
static int table_query(const int32_t *table, size_t bytes, int8_t *q8) {
  for (size_t b = 0; b < bytes; b++) {
    const int32_t *e = table + b * 256;
    if (e[0] != 0) return 0;
    for (int i = 0; i < 8; i++) {
      if (e[1 << i] < -128 || e[1 << i] > 127) return 0;
      q8[b * 8 + i] = (int8_t)e[1 << i];
    }
    for (int v = 1; v < 256; v++)
      if (e[v] != e[v & (v - 1)] + e[v & -v]) return 0;
  }
  return 1;
}

/* The k-th smallest of a[0..n) (0-based), reordering a: quickselect (Hoare partition). */
static int32_t kth_smallest(int32_t *a, size_t n, size_t k) {
  size_t lo = 0, hi = n - 1;
  while (lo < hi) {
    int32_t pivot = a[lo + (hi - lo) / 2];
    size_t i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        int32_t t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        if (j == 0) break;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/*
 * A codeTable (int32, (hb + tb) * 256 entries) as 16-bit entries (a byte's entry sums at most 8
 * int8 components: |x| <= 1016): 32 KB at 512 bits, which stays in a 32 KB L1 where the 64 KB
 * of int32 did not. NULL (an error thrown) if an entry does not fit or memory is short.
 */
static int16_t *small_table(napi_env env, const int32_t *table, size_t entries) {
  int16_t *small = malloc(entries * sizeof(int16_t) + 2);
  if (!small) {
    napi_throw_error(env, "SHELIA_NATIVE", "out of memory");
    return NULL;
  }
  for (size_t e = 0; e < entries; e++) {
    if (table[e] < INT16_MIN || table[e] > INT16_MAX) {
      free(small);
      napi_throw_range_error(env, "SHELIA_NATIVE", "table entry outside 16 bits (not a codeTable)");
      return NULL;
    }
    small[e] = (int16_t)table[e];
  }
  return small;
}

/*
 * The scorer of the planes' rows for a codeTable of hb + tb bytes. Where row_score_avx2 applies
 * (32 + 32 bytes, AVX2, a table made from an int8 query: its entries then fit 16 bits) it scores
 * from that query, put in q8 (512 bytes), and no 16-bit copy is made; else from the copy, left in
 * *small for the caller to free. 0 if an error was thrown.
 */
static int scorer_for(napi_env env, const uint8_t *head, uint32_t hb, const uint8_t *tail,
                      uint32_t tb, const int32_t *table, int8_t *q8, code_scorer *sc,
                      int16_t **small) {
  *small = NULL;
  *sc = (code_scorer){.head = head, .tail = tail, .hb = hb, .tb = tb};
  if (hb == 32 && tb == 32 && simd_level >= 2 && table_query(table, 64, q8)) {
    sc->q8 = q8;
    return 1;
  }
  if (!(*small = small_table(env, table, ((size_t)hb + tb) * 256))) return 0;
  sc->thead = *small;
  sc->ttail = *small + (size_t)hb * 256;
  return 1;
}

/* The n of len rows with the highest scores into out, in their order; ties at the n-th score:
   the first ones. `copy`: len scratch ints. */
static void pick_top_n(const int32_t *scores, const uint32_t *rows, size_t len, size_t n,
                       int32_t *copy, uint32_t *out) {
  if (n == 0) return;
  memcpy(copy, scores, len * sizeof(int32_t));
  int32_t cut = kth_smallest(copy, len, len - n);
  size_t above = 0;
  for (size_t i = 0; i < len; i++) above += scores[i] > cut;
  size_t ties = n - above, at = 0;
  for (size_t i = 0; i < len && at < n; i++) {
    int32_t x = scores[i];
    if (x > cut || (x == cut && ties > 0 && ties--)) out[at++] = rows[i];
  }
}

typedef struct {
  uint32_t *row;
  uint16_t *d;
  /* shortlistByCode: each taken row's code score (its codes are in cache: the block was just
     read), so the shortlist is ranked without reading its scattered rows again. Else NULL. */
  int32_t *score;
  const code_scorer *scorer;
  size_t n, cap, k, bits, taken;
  /* Rows enter while their distance is <= cut; -1: full of distance-0 rows, none can. */
  long cut;
  uint32_t *hist; /* bits + 1 counters, for keep_nearest */
} collection;

/* Keeps the collection's k nearest (ties: the first, i.e. lower rows), in their order. */
static void keep_nearest(collection *c) {
  if (c->n <= c->k) return;
  memset(c->hist, 0, (c->bits + 1) * sizeof(uint32_t));
  for (size_t i = 0; i < c->n; i++) c->hist[c->d[i]]++;
  size_t below = 0, cut = 0;
  while (below + c->hist[cut] < c->k) below += c->hist[cut++];
  size_t ties = c->k - below, m = 0;
  /* Without branches: whether a row stays is a coin toss near the cut (measured: the branchy
     loop was 17 % of a 1M head-prefilter query). */
  for (size_t i = 0; i < c->n; i++) {
    uint16_t d = c->d[i];
    uint32_t row = c->row[i];
    size_t tie = (d == cut) & (ties > 0);
    c->row[m] = row;
    c->d[m] = d;
    if (c->score) c->score[m] = c->score[i];
    ties -= tie;
    m += (d < cut) | tie;
  }
  c->n = m;
  /* (Never above a cut the scan started from.) */
  if ((long)cut - 1 < c->cut) c->cut = (long)cut - 1;
}

/* A block's distances for hammingTopK2: both planes, or the head plane alone. */
static void block_distances(const uint64_t *head, const uint64_t *tail, size_t rows, size_t hw,
                            size_t tw, const uint64_t *qh, const uint64_t *qt, int both,
                            uint16_t *out) {
  size_t done = 0;
#if defined(__x86_64__)
  if (hw == 4 && (!both || tw == 4) && simd_level >= 3)
    done = both ? distances2_avx512_32x8(head, tail, rows, qh, qt, out)
                : distances_avx512_32x8(head, rows, qh, out);
#endif
  if (done == rows) return;
  if (both)
    distances2(head + done * hw, tail + done * tw, rows - done, hw, tw, qh, qt, out + done);
  else
    distances(head + done * hw, rows - done, hw, qh, out + done);
}

typedef struct {
  const uint64_t *head, *tail, *qh, *qt;
  size_t lo, hi, hw, tw;
  /* 1: rank by the whole code (both planes); 0: by the head plane alone. */
  int both;
  collection c;
  /* bits + 1 counters of the sampled blocks' distances (to guess the cut), and the distances. */
  uint32_t *sample;
  uint16_t *sdist;
  /* This pass: whether its sampled blocks' distances are in sdist, and how many rows they are. */
  int guessing;
  size_t sampled;
  /* Whether the guess fell short and the run was scanned again. */
  int rescanned;
} scan_part;

/* Appends block row j (gallery row lo + j) if it is within the cut, making room first. */
static inline void take(collection *c, const uint16_t *block, size_t j, size_t lo) {
  uint16_t d = block[j];
  if (d > c->cut) return;
  if (c->n == c->cap) {
    keep_nearest(c);
    if (d > c->cut) return;
  }
  c->row[c->n] = (uint32_t)(lo + j);
  if (c->score) c->score[c->n] = row_score(c->scorer, lo + j);
  c->d[c->n++] = d;
  c->taken++;
}

#if defined(__x86_64__)
/* 32 distances compared a step into a bit mask (a loop finding the next row within the cut cost
   ~500 ns a block). */
__attribute__((target("avx512f,avx512bw"))) static void collect_block_avx512(collection *c,
                                                                          const uint16_t *block,
                                                                          size_t n, size_t lo) {
  size_t i = 0;
  for (; i + 32 <= n && c->cut >= 0; i += 32) {
    __m512i v = _mm512_loadu_si512((const void *)(block + i));
    uint32_t m = _mm512_cmple_epu16_mask(v, _mm512_set1_epi16((short)c->cut));
    for (; m; m &= m - 1) take(c, block, i + (size_t)__builtin_ctz(m), lo);
  }
  for (; i < n && c->cut >= 0; i++) take(c, block, i, lo);
}
#endif

#if defined(__x86_64__)
/*
 * The same on AVX2, 16 distances a compare into a mask (two bits each). The loop it replaced,
 * 16 compared at a time but stopping at every row within the cut, was 8 % of a 10M head-plane
 * query keeping 100,000 rows (perf, Zen 3), more than a quarter of the distance loop's own time.
 */
__attribute__((target("avx2"))) static void collect_block_avx2(collection *c,
                                                               const uint16_t *block, size_t n,
                                                               size_t lo) {
  size_t i = 0;
  /* Distances are at most 1024 bits here: signed 16-bit compares hold below 32767. */
  for (; i + 16 <= n && c->cut >= 0 && c->cut < 32767; i += 16) {
    __m256i v = _mm256_loadu_si256((const void *)(block + i));
    uint32_t m = (uint32_t)_mm256_movemask_epi8(
                     _mm256_cmpgt_epi16(_mm256_set1_epi16((short)(c->cut + 1)), v)) &
                 0x55555555u;
    for (; m; m &= m - 1) take(c, block, i + (size_t)__builtin_ctz(m) / 2, lo);
  }
  for (; i < n && c->cut >= 0; i++) take(c, block, i, lo);
}
#endif

static void collect_block(collection *c, const uint16_t *block, size_t n, size_t lo) {
#if defined(__x86_64__)
  if (simd_level >= 3) return collect_block_avx512(c, block, n, lo);
  if (simd_level >= 2) return collect_block_avx2(c, block, n, lo);
#endif
  for (size_t i = 0; i < n && c->cut >= 0; i++) take(c, block, i, lo);
}

/*
 * Every sixteenth block of each run is scanned first and its distances counted, and every run's
 * cut starts where the pooled samples say k rows and a margin will be (GUESS_SIGMAS standard
 * deviations of the sample's count, at most 1.5 k; a flat 1.5 k took 161,000 rows a query of a
 * 10M head scan keeping 100,000, the margin 121,000, 8,300 -> 6,900 at 1M): without it
 * the cut falls only as fast as a collection fills (halving the rows taken each time; a 10M-row
 * head prefilter keeping 200,000 took ~7 times that many rows), and a guess per run would keep
 * k in every run (eight runs of a 10M head scan on two threads: 600,000 rows for k 50,000). The
 * sample is spread over the rows because galleries are not in random order: a guess from a
 * run's first sixteenth fell short on 20 % of the runs of bench:identify's 10M gallery
 * (look-alike pairs first, then triples). The sampled blocks' distances are kept, so the pass in
 * row order does not read them again. Rows beyond the guess are left out, so the k nearest are
 * all kept only if k kept rows are within it: hammingTopK2 checks that and otherwise scans
 * every run again without a guess.
 */
#define SAMPLE_STRIDE 16
#define SAMPLE_MIN 4096
#ifndef GUESS_SIGMAS
#define GUESS_SIGMAS 4.0
#endif

/* Distance slots for the sampled blocks of a run of `rows`. */
static size_t sample_slots(size_t rows) {
  size_t blocks = (rows + SCAN_BLOCK - 1) / SCAN_BLOCK;
  return (blocks + SAMPLE_STRIDE - 1) / SAMPLE_STRIDE * SCAN_BLOCK;
}

/* An empty collection taking every row, and no sample. */
static void start_pass(scan_part *p) {
  p->guessing = 0;
  p->c.n = 0;
  p->c.cut = (long)p->c.bits;
}

/* Scans and counts the run's sampled blocks (into p->sample and p->sdist). */
static void sample_run(scan_part *p) {
  size_t bits = p->c.bits;
  p->sampled = 0;
  memset(p->sample, 0, (bits + 1) * sizeof(uint32_t));
  for (size_t lo = p->lo, i = 0; lo < p->hi; lo += SAMPLE_STRIDE * SCAN_BLOCK, i++) {
    size_t n = p->hi - lo < SCAN_BLOCK ? p->hi - lo : SCAN_BLOCK;
    uint16_t *d = p->sdist + i * SCAN_BLOCK;
    block_distances(p->head + lo * p->hw, p->tail + lo * p->tw, n, p->hw, p->tw, p->qh, p->qt,
                    p->both, d);
    for (size_t j = 0; j < n; j++) p->sample[d[j]]++;
    p->sampled += n;
  }
  p->guessing = 1;
}

/* The sampled block b's kept distances, or NULL if block b was not sampled this pass. */
static const uint16_t *sampled_block(const scan_part *p, size_t b) {
  return p->guessing && b % SAMPLE_STRIDE == 0 ? p->sdist + b / SAMPLE_STRIDE * SCAN_BLOCK : NULL;
}

/* The pass over the run's blocks from block `from` on. */
static void scan_blocks(scan_part *p, size_t from) {
  collection *c = &p->c;
  uint16_t block[SCAN_BLOCK];
  for (size_t lo = p->lo + from * SCAN_BLOCK, b = from; lo < p->hi && c->cut >= 0;
       lo += SCAN_BLOCK, b++) {
    size_t n = p->hi - lo < SCAN_BLOCK ? p->hi - lo : SCAN_BLOCK;
    const uint16_t *d = sampled_block(p, b);
    if (!d) {
      block_distances(p->head + lo * p->hw, p->tail + lo * p->tw, n, p->hw, p->tw, p->qh, p->qt,
                      p->both, block);
      d = block;
    }
    collect_block(c, d, n, lo);
  }
}

/* Rows the run's collection kept within `cut`. */
static size_t kept_within(const scan_part *p, long cut) {
  size_t within = 0;
  for (size_t i = 0; i < p->c.n; i++) within += p->c.d[i] <= cut;
  return within;
}

/*
 * One thread's runs: `n` consecutive parts, each with its own collection and sample; the cut
 * they start from is guessed from all the runs' samples (hammingTopK2). Four runs of the head
 * plane (n is 4 only there) are read in step (distances_avx512_32x8_4, distances_avx2_32x4_4)
 * while all four have a whole block left.
 */
typedef struct {
  scan_part *parts;
  size_t n;
} scan_group;

static void *sample_group_run(void *arg) {
  scan_group *g = arg;
  for (size_t i = 0; i < g->n; i++) sample_run(&g->parts[i]);
  return NULL;
}

static void *scan_group_run(void *arg) {
  scan_group *g = arg;
  size_t from = 0;
#if defined(__x86_64__)
  if (g->n == 4) {
    scan_part *p = g->parts;
    size_t blocks = (p[0].hi - p[0].lo) / SCAN_BLOCK;
    for (size_t i = 1; i < 4; i++)
      if ((p[i].hi - p[i].lo) / SCAN_BLOCK < blocks) blocks = (p[i].hi - p[i].lo) / SCAN_BLOCK;
    uint16_t buf[4][SCAN_BLOCK];
    uint16_t *const out[4] = {buf[0], buf[1], buf[2], buf[3]};
    for (; from < blocks; from++) {
      const uint64_t *const codes[4] = {
          p[0].head + (p[0].lo + from * SCAN_BLOCK) * 4, p[1].head + (p[1].lo + from * SCAN_BLOCK) * 4,
          p[2].head + (p[2].lo + from * SCAN_BLOCK) * 4, p[3].head + (p[3].lo + from * SCAN_BLOCK) * 4};
      /* The runs' sampled blocks are at the same places: already scanned. */
      if (!sampled_block(&p[0], from)) {
        if (simd_level >= 3) distances_avx512_32x8_4(codes, p[0].qh, out, SCAN_BLOCK);
        else distances_avx2_32x4_4(codes, p[0].qh, out, SCAN_BLOCK);
      }
      for (size_t i = 0; i < 4; i++) {
        const uint16_t *d = sampled_block(&p[i], from);
        if (p[i].c.cut >= 0)
          collect_block(&p[i].c, d ? d : out[i], SCAN_BLOCK, p[i].lo + from * SCAN_BLOCK);
      }
    }
  }
#endif
  for (size_t i = 0; i < g->n; i++) scan_blocks(&g->parts[i], from);
  return NULL;
}

/* The guess fell short: every run again, taking every row until its collection fills. */
static void *rescan_group_run(void *arg) {
  scan_group *g = arg;
  for (size_t i = 0; i < g->n; i++) {
    g->parts[i].rescanned = 1;
    start_pass(&g->parts[i]);
  }
  return scan_group_run(arg);
}

/* Since load: hammingTopK2 runs scanned, rescanned, and rows their collections took (scanStats). */
static _Atomic size_t stat_runs, stat_rescans, stat_taken;

typedef struct {
  const uint64_t *tail, *qt;
  size_t tw, n;
  const uint32_t *rows;
  uint16_t *d;
} tail_part;

/* Adds the tail plane's distance of a share of the head prefilter's rows. */
static void *tail_run(void *arg) {
  tail_part *p = arg;
#if defined(__x86_64__)
  if (simd_level >= 1)
    add_distances_popcnt(p->tail, p->tw, p->rows, p->n, p->qt, p->d);
  else
#endif
    add_distances(p->tail, p->tw, p->rows, p->n, p->qt, p->d);
  return NULL;
}

/* Where share t of n items split into `shares` starts (share `shares` starts at n: the last
   takes the remainder). */
static size_t share_start(size_t n, size_t shares, size_t t) {
  return t >= shares ? n : n / shares * t;
}

/* fn over parts[0..threads) (each `size` bytes): parts 1.. on their own threads (or here, if one
   cannot start). */
static void run_parts(void *(*fn)(void *), void *parts, size_t size, size_t threads) {
  pthread_t ids[MAX_SCAN_THREADS];
  int started[MAX_SCAN_THREADS] = {0};
  char *at = parts;
  for (size_t t = 1; t < threads; t++)
    started[t] = pthread_create(&ids[t], NULL, fn, at + t * size) == 0;
  fn(at);
  for (size_t t = 1; t < threads; t++) {
    if (started[t]) pthread_join(ids[t], NULL);
    else fn(at + t * size);
  }
}

/*
 * hammingTopK2(head, tail, rows, qHead, qTail, k1, k, threads?) and, `scored`,
 * shortlistByCode(head, tail, rows, qHead, qTail, k, table, n, threads?): every row's whole
 * distance (k1 = rows), each row the collections take scored as it is taken (row_score), and
 * of the k nearest the n best scores (codeTopN's answer over hammingTopK2's rows).
 */
static napi_value scan_top(napi_env env, napi_callback_info info, int scored) {
  size_t argc = 9;
  napi_value argv[9];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  size_t head_len, tail_len, qh_len, qt_len, table_len = 0;
  uint32_t rows, k1, k, n = 0, threads = 1;
  const int32_t *table = NULL;
  const uint8_t *head = typed_data(env, argv[0], napi_uint8_array, &head_len);
  if (!head) return NULL;
  const uint8_t *tail = typed_data(env, argv[1], napi_uint8_array, &tail_len);
  if (!tail) return NULL;
  CHECK(napi_get_value_uint32(env, argv[2], &rows));
  const uint8_t *qh = typed_data(env, argv[3], napi_uint8_array, &qh_len);
  if (!qh) return NULL;
  const uint8_t *qt = typed_data(env, argv[4], napi_uint8_array, &qt_len);
  if (!qt) return NULL;
  size_t at = 5;
  if (scored) {
    k1 = rows;
    CHECK(napi_get_value_uint32(env, argv[at++], &k));
    table = typed_data(env, argv[at++], napi_int32_array, &table_len);
    if (!table) return NULL;
    CHECK(napi_get_value_uint32(env, argv[at++], &n));
  } else {
    CHECK(napi_get_value_uint32(env, argv[at++], &k1));
    CHECK(napi_get_value_uint32(env, argv[at++], &k));
  }
  if (argc > at) {
    napi_valuetype t;
    CHECK(napi_typeof(env, argv[at], &t));
    if (t == napi_number) CHECK(napi_get_value_uint32(env, argv[at], &threads));
  }
  if (scored && table_len != (qh_len + qt_len) * 256) {
    napi_throw_range_error(env, "SHELIA_NATIVE", "table length != (head + tail bytes) * 256");
    return NULL;
  }
  size_t hw = qh_len / 8, tw = qt_len / 8;
  size_t bits = (hw + tw) * 64;
  if (qh_len % 8 || qt_len % 8 || hw == 0 || (size_t)rows * qh_len > head_len ||
      (size_t)rows * qt_len > tail_len || bits > 65535 || ((uintptr_t)head % 8) ||
      ((uintptr_t)tail % 8) || ((uintptr_t)qh % 8) || ((uintptr_t)qt % 8)) {
    napi_throw_range_error(env, "SHELIA_NATIVE", "codes/query sizes or alignment");
    return NULL;
  }
  if (k1 > rows) k1 = rows;
  if (k > k1) k = k1;
  if (n > k) n = k;
  if (threads > MAX_SCAN_THREADS) threads = MAX_SCAN_THREADS;
  if (threads > rows / MIN_ROWS_PER_THREAD) threads = rows / MIN_ROWS_PER_THREAD;
  if (threads < 1) threads = 1;
  int both = k1 == rows;
  /* The scan keeps k1 rows by the head, or k by the whole code. Room for twice that and a
     block, so a collection that fills has taken k more rows since it last did. */
  size_t keep = both ? k : k1;
  if (keep == 0) {
    napi_value ab, result;
    CHECK(napi_create_arraybuffer(env, 0, NULL, &ab));
    CHECK(napi_create_typedarray(env, napi_uint32_array, 0, ab, 0, &result));
    return result;
  }
  size_t cap = 2 * keep + SCAN_BLOCK;
  /* Runs of whole 64-row blocks, the last taking the rest: `streams` per thread, read in step
     where the head plane alone is scanned with AVX2 or AVX-512 and each run is long enough to
     sample. */
  size_t streams = !both && hw == 4 && simd_level >= 2 && rows / threads / 4 >= MIN_ROWS_PER_STREAM ? 4 : 1;
  size_t runs = threads * streams;
  uint32_t *hists = calloc(2 * runs * (bits + 1), sizeof(uint32_t));
  size_t run_lo[MAX_SCAN_THREADS * 4 + 1], slots = 0;
  for (size_t t = 0; t < runs; t++) run_lo[t] = (rows / runs * t) & ~(size_t)63;
  run_lo[runs] = rows;
  for (size_t t = 0; t < runs; t++) slots += sample_slots(run_lo[t + 1] - run_lo[t]);
  uint16_t *sdist = scratch_samples(slots);
  int32_t *cs = scored ? scratch_scores(runs * cap) : NULL;
  if (!hists || !sdist || !scratch_candidates(runs * cap) || (scored && !cs)) {
    free(hists);
    napi_throw_error(env, "SHELIA_NATIVE", "out of memory");
    return NULL;
  }
  int16_t *small = NULL;
  int8_t q8[512];
  code_scorer sc = {0};
  if (scored &&
      !scorer_for(env, head, (uint32_t)qh_len, tail, (uint32_t)qt_len, table, q8, &sc, &small)) {
    free(hists);
    return NULL;
  }
  scan_part parts[MAX_SCAN_THREADS * 4];
  for (size_t t = 0; t < runs; t++) {
    size_t lo = run_lo[t], hi = run_lo[t + 1];
    parts[t] = (scan_part){.head = (const uint64_t *)head,
                           .tail = (const uint64_t *)tail,
                           .qh = (const uint64_t *)qh,
                           .qt = (const uint64_t *)qt,
                           .lo = lo,
                           .hi = hi,
                           .hw = hw,
                           .tw = tw,
                           .both = both,
                           .c = {.row = scratch_cand + t * cap,
                                 .d = scratch_cd + t * cap,
                                 .score = cs ? cs + t * cap : NULL,
                                 .scorer = &sc,
                                 .cap = cap,
                                 .k = keep,
                                 .bits = both ? bits : hw * 64,
                                 .hist = hists + t * (bits + 1)},
                           .sample = hists + (runs + t) * (bits + 1),
                           .sdist = sdist};
    sdist += sample_slots(hi - lo);
  }
  scan_group groups[MAX_SCAN_THREADS];
  for (size_t t = 0; t < threads; t++) groups[t] = (scan_group){.parts = parts + t * streams, .n = streams};
  /* The cut all runs start from: where the runs' pooled samples say k of all the rows and a
     margin will be (a guess from each run's own sample would keep k in every run). */
  long guessed = -1;
  run_parts(sample_group_run, groups, sizeof groups[0], threads);
  size_t sampled = 0, cbits = parts[0].c.bits;
  for (size_t t = 0; t < runs; t++) sampled += parts[t].sampled;
  /* The kept rows the sample should hold, and a margin of GUESS_SIGMAS of its counting noise
     (at most half again): 1.5 k was the margin for every size. */
  double expect = (double)keep * (double)sampled / (double)rows;
  double margin = 1.0 + GUESS_SIGMAS / __builtin_sqrt(expect > 1.0 ? expect : 1.0);
  double want = (margin < 1.5 ? margin : 1.5) * expect;
  if (sampled >= SAMPLE_MIN && want < (double)sampled) {
    size_t seen = 0, d = 0;
    for (; d < cbits; d++) {
      for (size_t t = 0; t < runs; t++) seen += parts[t].sample[d];
      if ((double)seen >= want) break;
    }
    guessed = (long)d;
  }
  for (size_t t = 0; t < runs; t++) {
    parts[t].c.n = 0;
    parts[t].c.cut = guessed >= 0 ? guessed : (long)cbits;
  }
  run_parts(scan_group_run, groups, sizeof groups[0], threads);
  /* Every row left out is beyond the guess: the k nearest are all kept if k kept rows are
     within it. */
  if (guessed >= 0) {
    size_t within = 0;
    for (size_t t = 0; t < runs; t++) within += kept_within(&parts[t], guessed);
    if (within < keep) run_parts(rescan_group_run, groups, sizeof groups[0], threads);
  }
  for (size_t t = 0; t < runs; t++) {
    stat_runs++;
    stat_rescans += (size_t)parts[t].rescanned;
    stat_taken += parts[t].c.taken;
  }
  /* The runs' collections end to end (row order), then their `keep` nearest. */
  collection *all = &parts[0].c;
  for (size_t t = 1; t < runs; t++) {
    memmove(all->row + all->n, parts[t].c.row, parts[t].c.n * sizeof(uint32_t));
    memmove(all->d + all->n, parts[t].c.d, parts[t].c.n * sizeof(uint16_t));
    if (cs) memmove(all->score + all->n, parts[t].c.score, parts[t].c.n * sizeof(int32_t));
    all->n += parts[t].c.n;
  }
  all->cap = runs * cap;
  keep_nearest(all);
  if (!both) {
    /* The k1 nearest by the head: add their tails' distances, a share per thread. */
    tail_part tails[MAX_SCAN_THREADS];
    /* (Scattered reads, ~20 ns each: a thread pays from some ten thousand rows.) */
    size_t tn = threads;
    while (tn > 1 && all->n / tn < 16384) tn--;
    for (size_t t = 0; t < tn; t++) {
      size_t lo = share_start(all->n, tn, t), hi = share_start(all->n, tn, t + 1);
      tails[t] = (tail_part){.tail = (const uint64_t *)tail,
                             .qt = (const uint64_t *)qt,
                             .tw = tw,
                             .n = hi - lo,
                             .rows = all->row + lo,
                             .d = all->d + lo};
    }
    run_parts(tail_run, tails, sizeof tails[0], tn);
    all->k = k;
    all->bits = bits;
    keep_nearest(all);
  }
  napi_value ab, result;
  void *out_data;
  /* Scored: the k sorted rows, their scores and a copy for the pick, then the n picked. */
  uint32_t *sorted = scored ? malloc((size_t)k * 3 * sizeof(uint32_t) + 4) : NULL;
  if ((scored && !sorted) ||
      napi_create_arraybuffer(env, scored ? (size_t)n * 4 : (size_t)k * 8, &out_data, &ab) != napi_ok) {
    free(sorted);
    free(small);
    free(hists);
    napi_throw_error(env, "SHELIA_NATIVE", "out of memory");
    return NULL;
  }
  /* Counting sort of the k kept (in row order): distance d's slots after every nearer row's. */
  uint32_t *out = scored ? sorted : out_data, *hist = hists;
  int32_t *sorted_scores = scored ? (int32_t *)sorted + k : NULL;
  memset(hist, 0, (bits + 1) * sizeof(uint32_t));
  for (size_t i = 0; i < all->n; i++) hist[all->d[i]]++;
  uint32_t taken = 0;
  for (size_t d = 0; d <= bits; d++) {
    uint32_t h = hist[d];
    hist[d] = taken;
    taken += h;
  }
  for (size_t i = 0; i < all->n; i++) {
    uint32_t slot = hist[all->d[i]]++;
    out[slot] = all->row[i];
    if (scored) sorted_scores[slot] = all->score[i];
    else out[k + slot] = all->d[i];
  }
  if (scored) pick_top_n(sorted_scores, sorted, k, n, sorted_scores + k, out_data);
  free(sorted);
  free(small);
  free(hists);
  CHECK(napi_create_typedarray(env, napi_uint32_array, scored ? n : (size_t)k * 2, ab, 0, &result));
  return result;
}

static napi_value hamming_top_k2(napi_env env, napi_callback_info info) {
  return scan_top(env, info, 0);
}

static napi_value shortlist_by_code(napi_env env, napi_callback_info info) {
  return scan_top(env, info, 1);
}

/* One int8 row's inner product; an AVX2 clone where the CPU has it (the default build is SSE2). */
__attribute__((target_clones("avx2", "default"))) static int32_t dot_row(const int8_t *v,
                                                                        const int8_t *q,
                                                                        uint32_t dim) {
  int32_t s = 0;
  for (uint32_t j = 0; j < dim; j++) s += (int32_t)v[j] * (int32_t)q[j];
  return s;
}

static napi_value dot_i8(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  size_t data_len, rows_len, q_len;
  uint32_t dim;
  const int8_t *data = typed_data(env, argv[0], napi_int8_array, &data_len);
  if (!data) return NULL;
  CHECK(napi_get_value_uint32(env, argv[1], &dim));
  const uint32_t *rows = typed_data(env, argv[2], napi_uint32_array, &rows_len);
  if (!rows) return NULL;
  const int8_t *q = typed_data(env, argv[3], napi_int8_array, &q_len);
  if (!q) return NULL;
  if (q_len != dim) {
    napi_throw_range_error(env, "SHELIA_NATIVE", "query length != dim");
    return NULL;
  }
  napi_value ab, result;
  void *out_data;
  CHECK(napi_create_arraybuffer(env, rows_len * 4, &out_data, &ab));
  int32_t *out = out_data;
  for (size_t i = 0; i < rows_len; i++) {
    if (((size_t)rows[i] + 1) * dim > data_len) {
      napi_throw_range_error(env, "SHELIA_NATIVE", "row out of range");
      return NULL;
    }
    /* A scattered row of dim bytes (8 cache lines at 512-d): fetch the row GATHER_AHEAD on. */
    if (i + GATHER_AHEAD < rows_len && ((size_t)rows[i + GATHER_AHEAD] + 1) * dim <= data_len) {
      const int8_t *ahead = data + (size_t)rows[i + GATHER_AHEAD] * dim;
      for (uint32_t o = 0; o < dim; o += 64) __builtin_prefetch(ahead + o);
    }
    out[i] = dot_row(data + (size_t)rows[i] * dim, q, dim);
  }
  CHECK(napi_create_typedarray(env, napi_int32_array, rows_len, ab, 0, &result));
  return result;
}

static napi_value code_dots(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  size_t codes_len, rows_len, table_len;
  uint32_t bytes;
  const uint8_t *codes = typed_data(env, argv[0], napi_uint8_array, &codes_len);
  if (!codes) return NULL;
  CHECK(napi_get_value_uint32(env, argv[1], &bytes));
  const uint32_t *rows = typed_data(env, argv[2], napi_uint32_array, &rows_len);
  if (!rows) return NULL;
  const int32_t *table = typed_data(env, argv[3], napi_int32_array, &table_len);
  if (!table) return NULL;
  if (table_len != (size_t)bytes * 256) {
    napi_throw_range_error(env, "SHELIA_NATIVE", "table length != bytes * 256");
    return NULL;
  }
  napi_value ab, result;
  void *out_data;
  CHECK(napi_create_arraybuffer(env, rows_len * 4, &out_data, &ab));
  int32_t *out = out_data;
  for (size_t i = 0; i < rows_len; i++) {
    if (((size_t)rows[i] + 1) * bytes > codes_len) {
      napi_throw_range_error(env, "SHELIA_NATIVE", "row out of range");
      return NULL;
    }
    if (i + GATHER_AHEAD < rows_len && ((size_t)rows[i + GATHER_AHEAD] + 1) * bytes <= codes_len)
      __builtin_prefetch(codes + (size_t)rows[i + GATHER_AHEAD] * bytes);
    const uint8_t *c = codes + (size_t)rows[i] * bytes;
    int32_t s = 0;
    for (uint32_t b = 0; b < bytes; b++) s += table[b * 256 + c[b]];
    out[i] = s;
  }
  CHECK(napi_create_typedarray(env, napi_int32_array, rows_len, ab, 0, &result));
  return result;
}

/*
 * codeTopN's scores of a share of the rows. The rows are scattered over the planes (a cache
 * miss or two each, whatever the prefetch distance: 16, 48 and 128 rows ahead gave the same
 * 1.5-1.7 ms for 5000 rows of a 10M gallery), so a second thread with its own misses in
 * flight is what shortens it.
 */
typedef struct {
  const code_scorer *sc;
  const uint32_t *rows;
  size_t n;
  int32_t *scores;
} score_part;

/* Below this many rows a share, a thread costs more than its misses save. */
#define MIN_ROWS_PER_SCORE_THREAD 1024

static void *score_run(void *arg) {
  const score_part *p = arg;
  const code_scorer *sc = p->sc;
  const uint32_t *rows = p->rows;
  for (size_t i = 0; i < p->n; i++) {
    /* Scattered rows of both planes: ask for them ahead so their cache misses overlap (without,
       5000 rows took ~2.4 ms, a miss each in turn). */
    if (i + GATHER_AHEAD < p->n) {
      __builtin_prefetch(sc->head + (size_t)rows[i + GATHER_AHEAD] * sc->hb);
      if (sc->tb) __builtin_prefetch(sc->tail + (size_t)rows[i + GATHER_AHEAD] * sc->tb);
    }
    p->scores[i] = row_score(sc, rows[i]);
  }
  return NULL;
}

static napi_value code_top_n(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  size_t head_len, tail_len, rows_len, table_len;
  uint32_t hb, tb, n;
  const uint8_t *head = typed_data(env, argv[0], napi_uint8_array, &head_len);
  if (!head) return NULL;
  CHECK(napi_get_value_uint32(env, argv[1], &hb));
  const uint8_t *tail = typed_data(env, argv[2], napi_uint8_array, &tail_len);
  if (!tail) return NULL;
  CHECK(napi_get_value_uint32(env, argv[3], &tb));
  const uint32_t *rows = typed_data(env, argv[4], napi_uint32_array, &rows_len);
  if (!rows) return NULL;
  const int32_t *table = typed_data(env, argv[5], napi_int32_array, &table_len);
  if (!table) return NULL;
  CHECK(napi_get_value_uint32(env, argv[6], &n));
  uint32_t threads = 1;
  if (argc >= 8) {
    napi_valuetype t;
    CHECK(napi_typeof(env, argv[7], &t));
    if (t == napi_number) CHECK(napi_get_value_uint32(env, argv[7], &threads));
  }
  if (table_len != ((size_t)hb + tb) * 256) {
    napi_throw_range_error(env, "SHELIA_NATIVE", "table length != (head + tail bytes) * 256");
    return NULL;
  }
  for (size_t i = 0; i < rows_len; i++)
    if (((size_t)rows[i] + 1) * hb > head_len || ((size_t)rows[i] + 1) * tb > tail_len) {
      napi_throw_range_error(env, "SHELIA_NATIVE", "row out of range");
      return NULL;
    }
  if (n > rows_len) n = (uint32_t)rows_len;
  int32_t *scores = malloc(rows_len * 2 * sizeof(int32_t) + 8);
  if (!scores) {
    napi_throw_error(env, "SHELIA_NATIVE", "out of memory");
    return NULL;
  }
  int8_t q8[512];
  code_scorer sc;
  int16_t *small;
  if (!scorer_for(env, head, hb, tail, tb, table, q8, &sc, &small)) {
    free(scores);
    return NULL;
  }
  if (threads > MAX_SCAN_THREADS) threads = MAX_SCAN_THREADS;
  if (threads > rows_len / MIN_ROWS_PER_SCORE_THREAD) threads = (uint32_t)(rows_len / MIN_ROWS_PER_SCORE_THREAD);
  if (threads < 1) threads = 1;
  score_part parts[MAX_SCAN_THREADS];
  for (size_t t = 0; t < threads; t++) {
    size_t lo = share_start(rows_len, threads, t), hi = share_start(rows_len, threads, t + 1);
    parts[t] = (score_part){.sc = &sc, .rows = rows + lo, .n = hi - lo, .scores = scores + lo};
  }
  run_parts(score_run, parts, sizeof parts[0], threads);
  free(small);
  napi_value ab, result;
  void *out_data;
  if (napi_create_arraybuffer(env, (size_t)n * 4, &out_data, &ab) != napi_ok) {
    free(scores);
    napi_throw_error(env, "SHELIA_NATIVE", "napi_create_arraybuffer failed");
    return NULL;
  }
  pick_top_n(scores, rows, rows_len, n, scores + rows_len, out_data);
  free(scores);
  CHECK(napi_create_typedarray(env, napi_uint32_array, n, ab, 0, &result));
  return result;
}

/*
 * adviseHugePages(array): asks the kernel for 2 MB pages over the array's whole 2 MB-aligned
 * span (madvise MADV_HUGEPAGE; transparent huge pages set to "madvise", as here, give none
 * otherwise). The second Hamming stage and the re-rank read scattered rows of 32 MB-500 MB
 * arrays: with 4 KB pages each read is also a TLB miss. Call it before the array is written
 * (a fresh allocation's untouched pages then fault in huge). Returns whether it applied.
 */
static napi_value advise_huge_pages(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_typedarray_type type;
  size_t len, offset;
  void *data;
  napi_value buf, result;
  bool applied = false;
  if (argc >= 1 &&
      napi_get_typedarray_info(env, argv[0], &type, &len, &data, &buf, &offset) == napi_ok &&
      (type == napi_uint8_array || type == napi_int8_array)) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t start = ((uintptr_t)data + huge - 1) & ~(huge - 1);
    uintptr_t end = ((uintptr_t)data + len) & ~(huge - 1);
    if (end > start) applied = madvise((void *)start, end - start, MADV_HUGEPAGE) == 0;
#endif
  }
  CHECK(napi_get_boolean(env, applied, &result));
  return result;
}

/* simd() -> which distance loop this CPU runs: "avx512", "avx2", "popcnt" or "generic". */
static napi_value scan_stats(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result, v;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_double(env, (double)stat_runs, &v));
  CHECK(napi_set_named_property(env, result, "runs", v));
  CHECK(napi_create_double(env, (double)stat_rescans, &v));
  CHECK(napi_set_named_property(env, result, "rescans", v));
  CHECK(napi_create_double(env, (double)stat_taken, &v));
  CHECK(napi_set_named_property(env, result, "taken", v));
  return result;
}

static napi_value simd_name(napi_env env, napi_callback_info info) {
  (void)info;
  const char *names[] = {"generic", "popcnt", "avx2", "avx512"};
  const char *name = names[simd_level];
  napi_value result;
  CHECK(napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &result));
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  find_simd_level();
  if (napi_create_function(env, "hammingTopK", NAPI_AUTO_LENGTH, hamming_top_k, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "hammingTopK", fn) != napi_ok ||
      napi_create_function(env, "hammingTopK2", NAPI_AUTO_LENGTH, hamming_top_k2, NULL, &fn) !=
          napi_ok ||
      napi_set_named_property(env, exports, "hammingTopK2", fn) != napi_ok ||
      napi_create_function(env, "dotI8", NAPI_AUTO_LENGTH, dot_i8, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "dotI8", fn) != napi_ok ||
      napi_create_function(env, "codeDots", NAPI_AUTO_LENGTH, code_dots, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "codeDots", fn) != napi_ok ||
      napi_create_function(env, "codeTopN", NAPI_AUTO_LENGTH, code_top_n, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "codeTopN", fn) != napi_ok ||
      napi_create_function(env, "shortlistByCode", NAPI_AUTO_LENGTH, shortlist_by_code, NULL, &fn) !=
          napi_ok ||
      napi_set_named_property(env, exports, "shortlistByCode", fn) != napi_ok ||
      napi_create_function(env, "adviseHugePages", NAPI_AUTO_LENGTH, advise_huge_pages, NULL,
                           &fn) != napi_ok ||
      napi_set_named_property(env, exports, "adviseHugePages", fn) != napi_ok ||
      napi_create_function(env, "scanStats", NAPI_AUTO_LENGTH, scan_stats, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "scanStats", fn) != napi_ok ||
      napi_create_function(env, "simd", NAPI_AUTO_LENGTH, simd_name, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "simd", fn) != napi_ok)
    return NULL;
  return exports;
}
