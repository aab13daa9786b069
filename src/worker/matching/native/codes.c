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
 *     so with k1 = rows the answer is hammingTopK's over the concatenated codes. Measured at
 *     1M rows (bench/hamming-planes.ts, loaded machine, CPU): the head scan alone 2.2 ms against
 *     4.2 ms for the whole codes, but every kept row costs ~25 ns more (a scattered read of
 *     the tail: prefetching 8-256 rows ahead and 2 MB pages did not change it), so k1 50000
 *     takes ~3.6 ms and k1 100000 ~5 ms, the whole-code scan's time. k1 = rows is one streaming
 *     pass over both planes that also counts the distances, no candidate list: 3.2-3.3 ms
 *     against 4.3 for the former head scan, tail scan, sum and count in separate passes
 *     (alternating runs; hammingTopK 4.4-5.2 ms in the same runs).
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
 *     a sum and a JavaScript sort of the scores, with the scattered rows prefetched.
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

/* 32-byte codes (the head plane of 512-bit codes): two rows per zmm register. */
__attribute__((target("avx512f,avx512vpopcntdq"))) static void distances_avx512_32(
    const uint64_t *codes, size_t rows, const uint64_t *q, uint16_t *out) {
  __m256i q1 = _mm256_loadu_si256((const void *)q);
  __m512i q2 = _mm512_inserti64x4(_mm512_castsi256_si512(q1), q1, 1);
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
 * AVX2 without AVX-512 (AMD Zen 2/3, older Intel): bytes counted by a nibble table (vpshufb),
 * summed per 64-bit lane by vpsadbw; four rows' lane sums are packed into 16-bit fields so one
 * horizontal add gives four distances. Measured at 1M rows on a Zen 3 EPYC (bench/hamming-planes.ts,
 * CPU p50): the popcnt loop below took 9.6 ms for the whole codes, 5.1 ms for the head plane.
 */
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
  __builtin_cpu_init();
  if (words >= 8 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq"))
    return distances_avx512(codes, rows, words, q, out);
  if (words == 4 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq"))
    return distances_avx512_32(codes, rows, q, out);
  if (words % 4 == 0 && words <= 16 && __builtin_cpu_supports("avx2"))
    return distances_avx2(codes, rows, words, q, out);
  if (__builtin_cpu_supports("popcnt")) return distances_popcnt(codes, rows, words, q, out);
#endif
  distances_generic(codes, rows, words, q, out);
}

/*
 * The whole-code distance of every row of two planes in one pass, counted into hist as it
 * goes: what hammingTopK2 does when every row is kept. Before, it scanned the head into dist,
 * the tail into a second array, added them and counted them in three more passes over the
 * 2 MB distance arrays.
 */
static void distances2_generic(const uint64_t *head, const uint64_t *tail, size_t rows, size_t hw,
                               size_t tw, const uint64_t *qh, const uint64_t *qt, uint16_t *out,
                               uint32_t *hist) {
  for (size_t r = 0; r < rows; r++) {
    unsigned d = 0;
    for (size_t w = 0; w < hw; w++) d += (unsigned)__builtin_popcountll(head[r * hw + w] ^ qh[w]);
    for (size_t w = 0; w < tw; w++) d += (unsigned)__builtin_popcountll(tail[r * tw + w] ^ qt[w]);
    out[r] = (uint16_t)d;
    hist[d]++;
  }
}

#if defined(__x86_64__)
__attribute__((target("popcnt"))) static void distances2_popcnt(
    const uint64_t *head, const uint64_t *tail, size_t rows, size_t hw, size_t tw,
    const uint64_t *qh, const uint64_t *qt, uint16_t *out, uint32_t *hist) {
  for (size_t r = 0; r < rows; r++) {
    unsigned d = 0;
    for (size_t w = 0; w < hw; w++) d += (unsigned)__builtin_popcountll(head[r * hw + w] ^ qh[w]);
    for (size_t w = 0; w < tw; w++) d += (unsigned)__builtin_popcountll(tail[r * tw + w] ^ qt[w]);
    out[r] = (uint16_t)d;
    hist[d]++;
  }
}

/* 32-byte head and tail planes (512-bit codes): two rows of each plane per zmm register. */
/* The SIMD loops below take whole steps of rows and return how many they did; distances2 does
   the rest one by one. */
__attribute__((target("avx512f,avx512vpopcntdq"))) static size_t distances2_avx512_32(
    const uint64_t *head, const uint64_t *tail, size_t rows, const uint64_t *qh,
    const uint64_t *qt, uint16_t *out, uint32_t *hist) {
  __m256i h1 = _mm256_loadu_si256((const void *)qh);
  __m256i t1 = _mm256_loadu_si256((const void *)qt);
  __m512i qh2 = _mm512_inserti64x4(_mm512_castsi256_si512(h1), h1, 1);
  __m512i qt2 = _mm512_inserti64x4(_mm512_castsi256_si512(t1), t1, 1);
  size_t r = 0;
  for (; r + 2 <= rows; r += 2) {
    __m512i a = _mm512_add_epi64(
        _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512((const void *)(head + r * 4)), qh2)),
        _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512((const void *)(tail + r * 4)), qt2)));
    /* As distances_avx512_32: lane 0 holds row r, lane 4 row r + 1. */
    __m512i b = _mm512_add_epi64(a, _mm512_shuffle_epi32(a, _MM_PERM_BADC));
    __m512i c = _mm512_add_epi64(b, _mm512_shuffle_i64x2(b, b, _MM_SHUFFLE(2, 3, 0, 1)));
    uint16_t d0 = (uint16_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(c));
    uint16_t d1 =
        (uint16_t)_mm_cvtsi128_si64(_mm256_castsi256_si128(_mm512_extracti64x4_epi64(c, 1)));
    out[r] = d0;
    out[r + 1] = d1;
    hist[d0]++;
    hist[d1]++;
  }
  return r;
}

/* 32-byte head and tail planes on AVX2: four rows per step, as distances_avx2. */
__attribute__((target("avx2"))) static size_t distances2_avx2_32(const uint64_t *head,
                                                               const uint64_t *tail, size_t rows,
                                                               const uint64_t *qh,
                                                               const uint64_t *qt, uint16_t *out,
                                                               uint32_t *hist) {
  const __m256i zero = _mm256_setzero_si256();
  __m256i qhv = _mm256_loadu_si256((const void *)qh);
  __m256i qtv = _mm256_loadu_si256((const void *)qt);
  size_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    __m256i s[4];
    for (int j = 0; j < 4; j++) {
      __m256i h = _mm256_xor_si256(_mm256_loadu_si256((const void *)(head + (r + j) * 4)), qhv);
      __m256i t = _mm256_xor_si256(_mm256_loadu_si256((const void *)(tail + (r + j) * 4)), qtv);
      s[j] = _mm256_sad_epu8(_mm256_add_epi8(popcount_bytes_avx2(h), popcount_bytes_avx2(t)), zero);
    }
    uint64_t v = pack4_avx2(s[0], s[1], s[2], s[3]);
    memcpy(out + r, &v, sizeof v);
    hist[v & 0xffff]++;
    hist[(v >> 16) & 0xffff]++;
    hist[(v >> 32) & 0xffff]++;
    hist[v >> 48]++;
  }
  return r;
}
#endif

static void distances2(const uint64_t *head, const uint64_t *tail, size_t rows, size_t hw,
                       size_t tw, const uint64_t *qh, const uint64_t *qt, uint16_t *out,
                       uint32_t *hist) {
  size_t done = 0;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (hw == 4 && tw == 4 && __builtin_cpu_supports("avx512f") &&
      __builtin_cpu_supports("avx512vpopcntdq"))
    done = distances2_avx512_32(head, tail, rows, qh, qt, out, hist);
  else if (hw == 4 && tw == 4 && __builtin_cpu_supports("avx2"))
    done = distances2_avx2_32(head, tail, rows, qh, qt, out, hist);
  if (__builtin_cpu_supports("popcnt"))
    return distances2_popcnt(head + done * hw, tail + done * tw, rows - done, hw, tw, qh, qt,
                             out + done, hist);
#endif
  distances2_generic(head + done * hw, tail + done * tw, rows - done, hw, tw, qh, qt, out + done,
                     hist);
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
  return data;
}

/*
 * The head scan's distance array, kept per thread between calls: a fresh 2 MB malloc per 1M
 * rows is an mmap whose first touch page-faults 512 times, every query.
 */
static _Thread_local uint16_t *scratch;
static _Thread_local size_t scratch_rows;

static _Thread_local uint32_t *scratch_cand;
static _Thread_local uint16_t *scratch_cd;
static _Thread_local size_t scratch_k1;

static int scratch_candidates(size_t k1) {
  if (k1 > scratch_k1 || !scratch_cand || !scratch_cd) {
    free(scratch_cand);
    free(scratch_cd);
    scratch_cand = malloc(k1 * sizeof(uint32_t) + 4);
    scratch_cd = malloc(k1 * sizeof(uint16_t) + 2);
    scratch_k1 = scratch_cand && scratch_cd ? k1 : 0;
  }
  return scratch_cand && scratch_cd;
}

static uint16_t *scratch_dist(size_t rows) {
  if (rows > scratch_rows || !scratch) {
    free(scratch);
    scratch = malloc(rows * sizeof(uint16_t) + 2);
    scratch_rows = scratch ? rows : 0;
  }
  return scratch;
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
 * hammingTopK2 split over threads (its optional 8th argument): each takes a run of rows, scans
 * them into the shared distance array and counts them in its own histogram; from the summed
 * counts every run knows where its rows go (its share of each distance's slots, or of the
 * candidates and of the ties at the cut, in row order), so the second pass runs in parallel too
 * and the answer is the one-thread answer. One core streams the codes at 12-16 GB/s on a Zen 3
 * EPYC, two ~21 GB/s (a plain sum over 64 MB / 640 MB), and the serial passes over a 10M-row
 * distance array (20 MB) took ~2 ms each, so a second thread pays where the segment is long:
 * below MIN_ROWS_PER_THREAD rows per thread it stays on one.
 */
#ifndef MIN_ROWS_PER_THREAD
#define MIN_ROWS_PER_THREAD 262144
#endif
#define MAX_SCAN_THREADS 16

typedef struct {
  const uint64_t *head, *tail, *qh, *qt;
  size_t lo, hi, hw, tw;
  int both;
  uint16_t *dist;
  /* Pass 1: this run's counts per distance (bits + 1). Pass 2 (all rows kept): the next slot
     of `out` per distance for this run's rows. */
  uint32_t *hist;
  /* Pass 2, all rows kept: rows below `limit` are placed in out (k rows, then k distances). */
  size_t limit, k;
  uint32_t *out;
  /* Pass 2, head prefilter: rows below `cut` and this run's `ties` first rows at it go to
     cand/cd from `at`, their tail distance added. */
  size_t cut, ties, at;
  uint32_t *cand;
  uint16_t *cd;
} scan_part;

static void *scan_run(void *arg) {
  scan_part *p = arg;
  size_t n = p->hi - p->lo;
  if (p->both) {
    distances2(p->head + p->lo * p->hw, p->tail + p->lo * p->tw, n, p->hw, p->tw, p->qh, p->qt,
               p->dist + p->lo, p->hist);
  } else {
    distances(p->head + p->lo * p->hw, n, p->hw, p->qh, p->dist + p->lo);
    for (size_t r = p->lo; r < p->hi; r++) p->hist[p->dist[r]]++;
  }
  return NULL;
}

/*
 * The first row at or after r whose distance is below `below`, or hi: 16 distances compared at a
 * time where AVX2 is, since nearly every row of a long segment is skipped (the second pass over
 * a 10M-row run was ~10 ms one row at a time).
 */
#if defined(__x86_64__)
__attribute__((target("avx2"))) static size_t next_below_avx2(const uint16_t *dist, size_t r,
                                                              size_t hi, size_t below) {
  /* Distances are at most 65535 bits but here at most 1024: signed 16-bit compares hold. */
  const __m256i lim = _mm256_set1_epi16((short)(below > 32767 ? 32767 : below));
  for (; r + 16 <= hi; r += 16) {
    __m256i d = _mm256_loadu_si256((const void *)(dist + r));
    if (_mm256_movemask_epi8(_mm256_cmpgt_epi16(lim, d))) break;
  }
  while (r < hi && dist[r] >= below) r++;
  return r;
}
#endif

static size_t next_below(const uint16_t *dist, size_t r, size_t hi, size_t below) {
#if defined(__x86_64__)
  if (below <= 32767 && __builtin_cpu_supports("avx2")) return next_below_avx2(dist, r, hi, below);
#endif
  while (r < hi && dist[r] >= below) r++;
  return r;
}

static void *place_run(void *arg) {
  scan_part *p = arg;
  for (size_t r = next_below(p->dist, p->lo, p->hi, p->limit); r < p->hi;
       r = next_below(p->dist, r + 1, p->hi, p->limit)) {
    uint16_t d = p->dist[r];
    if (d >= p->limit) continue;
    uint32_t at = p->hist[d]++;
    if (at < p->k) {
      p->out[at] = (uint32_t)r;
      p->out[p->k + at] = d;
    }
  }
  return NULL;
}

static void *collect_run(void *arg) {
  scan_part *p = arg;
  size_t at = p->at, ties = p->ties;
  for (size_t r = next_below(p->dist, p->lo, p->hi, p->cut + 1); r < p->hi;
       r = next_below(p->dist, r + 1, p->hi, p->cut + 1)) {
    uint16_t d = p->dist[r];
    if (d < p->cut || (d == p->cut && ties > 0 && ties--)) {
      p->cand[at] = (uint32_t)r;
      p->cd[at++] = d;
    }
  }
#if defined(__x86_64__)
  if (__builtin_cpu_supports("popcnt"))
    add_distances_popcnt(p->tail, p->tw, p->cand + p->at, at - p->at, p->qt, p->cd + p->at);
  else
#endif
    add_distances(p->tail, p->tw, p->cand + p->at, at - p->at, p->qt, p->cd + p->at);
  return NULL;
}

/* fn over parts[0..threads): parts 1.. on their own threads (or here, if one cannot start). */
static void run_parts(void *(*fn)(void *), scan_part *parts, size_t threads) {
  pthread_t ids[MAX_SCAN_THREADS];
  int started[MAX_SCAN_THREADS] = {0};
  for (size_t t = 1; t < threads; t++) started[t] = pthread_create(&ids[t], NULL, fn, &parts[t]) == 0;
  fn(&parts[0]);
  for (size_t t = 1; t < threads; t++) {
    if (started[t]) pthread_join(ids[t], NULL);
    else fn(&parts[t]);
  }
}

static napi_value hamming_top_k2(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  size_t head_len, tail_len, qh_len, qt_len;
  uint32_t rows, k1, k, threads = 1;
  const uint8_t *head = typed_data(env, argv[0], napi_uint8_array, &head_len);
  if (!head) return NULL;
  const uint8_t *tail = typed_data(env, argv[1], napi_uint8_array, &tail_len);
  if (!tail) return NULL;
  CHECK(napi_get_value_uint32(env, argv[2], &rows));
  const uint8_t *qh = typed_data(env, argv[3], napi_uint8_array, &qh_len);
  if (!qh) return NULL;
  const uint8_t *qt = typed_data(env, argv[4], napi_uint8_array, &qt_len);
  if (!qt) return NULL;
  CHECK(napi_get_value_uint32(env, argv[5], &k1));
  CHECK(napi_get_value_uint32(env, argv[6], &k));
  if (argc >= 8) {
    napi_valuetype t;
    CHECK(napi_typeof(env, argv[7], &t));
    if (t == napi_number) CHECK(napi_get_value_uint32(env, argv[7], &threads));
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
  if (threads > MAX_SCAN_THREADS) threads = MAX_SCAN_THREADS;
  if (threads > rows / MIN_ROWS_PER_THREAD) threads = rows / MIN_ROWS_PER_THREAD;
  if (threads < 1) threads = 1;
  uint16_t *dist = scratch_dist(rows);
  /* One histogram per run, then their sum. */
  uint32_t *hists = calloc((threads + 1) * (bits + 1), sizeof(uint32_t));
  int have_cand = k1 < rows ? scratch_candidates(k1) : 1;
  if (!dist || !hists || !have_cand) {
    free(hists);
    napi_throw_error(env, "SHELIA_NATIVE", "out of memory");
    return NULL;
  }
  uint32_t *hist = hists + threads * (bits + 1);
  scan_part parts[MAX_SCAN_THREADS];
  for (size_t t = 0; t < threads; t++) {
    /* Runs of whole 64-row blocks, the last taking the rest. */
    size_t lo = (rows / threads * t) & ~(size_t)63;
    size_t hi = t + 1 == threads ? rows : (rows / threads * (t + 1)) & ~(size_t)63;
    parts[t] = (scan_part){.head = (const uint64_t *)head,
                           .tail = (const uint64_t *)tail,
                           .qh = (const uint64_t *)qh,
                           .qt = (const uint64_t *)qt,
                           .lo = lo,
                           .hi = hi,
                           .hw = hw,
                           .tw = tw,
                           /* Every row kept: one pass over both planes (the same bytes as one
                              scan of the whole codes), no candidate list. */
                           .both = k1 == rows,
                           .dist = dist,
                           .hist = hists + t * (bits + 1)};
  }
  run_parts(scan_run, parts, threads);
  for (size_t t = 0; t < threads; t++)
    for (size_t d = 0; d <= bits; d++) hist[d] += parts[t].hist[d];
  napi_value ab, result;
  void *out_data;
  if (napi_create_arraybuffer(env, (size_t)k * 8, &out_data, &ab) != napi_ok) {
    free(hists);
    napi_throw_error(env, "SHELIA_NATIVE", "napi_create_arraybuffer failed");
    return NULL;
  }
  uint32_t *out = out_data;
  if (k1 == rows) {
    /* Counting sort of the k nearest: distance d's slots start after every nearer row's, and
       within d each run's rows after the earlier runs'. */
    size_t taken = 0, limit = 0;
    for (; limit <= bits && taken < k; limit++) {
      uint32_t next = (uint32_t)taken;
      taken += hist[limit];
      for (size_t t = 0; t < threads; t++) {
        uint32_t h = parts[t].hist[limit];
        parts[t].hist[limit] = next;
        next += h;
      }
    }
    for (size_t t = 0; t < threads; t++) {
      parts[t].limit = limit;
      parts[t].k = k;
      parts[t].out = out;
    }
    run_parts(place_run, parts, threads);
  } else {
    /* The k1 nearest by the head: every row below `cut`, and the first `ties` rows at it,
       shared out among the runs in row order; each adds its candidates' tail distances. */
    size_t below = 0, cut = 0;
    while (cut < hw * 64 && below + hist[cut] < k1) below += hist[cut++];
    size_t ties = k1 - below, at = 0;
    for (size_t t = 0; t < threads; t++) {
      size_t mine = 0;
      for (size_t d = 0; d < cut; d++) mine += parts[t].hist[d];
      size_t tie = parts[t].hist[cut] < ties ? parts[t].hist[cut] : ties;
      ties -= tie;
      parts[t].cut = cut;
      parts[t].ties = tie;
      parts[t].at = at;
      parts[t].cand = scratch_cand;
      parts[t].cd = scratch_cd;
      at += mine + tie;
    }
    run_parts(collect_run, parts, threads);
    /* The k nearest of the k1 by the whole code: counting sort as in hammingTopK. */
    size_t n = at;
    memset(hist, 0, (bits + 1) * sizeof(uint32_t));
    for (size_t i = 0; i < n; i++) hist[scratch_cd[i]]++;
    size_t taken = 0, limit = 0;
    for (; limit <= bits && taken < k; limit++) {
      uint32_t h = hist[limit];
      hist[limit] = (uint32_t)taken;
      taken += h;
    }
    for (size_t i = 0; i < n; i++) {
      uint16_t d = scratch_cd[i];
      if (d >= limit) continue;
      uint32_t slot = hist[d]++;
      if (slot < k) {
        out[slot] = scratch_cand[i];
        out[k + slot] = d;
      }
    }
  }
  free(hists);
  CHECK(napi_create_typedarray(env, napi_uint32_array, (size_t)k * 2, ab, 0, &result));
  return result;
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

static napi_value code_top_n(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
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
  /* The table as 16-bit entries (a byte's entry sums at most 8 int8 components: |x| <= 1016):
     32 KB at 512 bits, which stays in a 32 KB L1 where the 64 KB of int32 did not. */
  size_t entries = ((size_t)hb + tb) * 256;
  int16_t *small = malloc(entries * sizeof(int16_t) + 2);
  if (!small) {
    free(scores);
    napi_throw_error(env, "SHELIA_NATIVE", "out of memory");
    return NULL;
  }
  for (size_t e = 0; e < entries; e++) {
    if (table[e] < INT16_MIN || table[e] > INT16_MAX) {
      free(small);
      free(scores);
      napi_throw_range_error(env, "SHELIA_NATIVE", "table entry outside 16 bits (not a codeTable)");
      return NULL;
    }
    small[e] = (int16_t)table[e];
  }
  const int16_t *thead = small, *ttail = small + (size_t)hb * 256;
  for (size_t i = 0; i < rows_len; i++) {
    /* Scattered rows of both planes: ask for them ahead so their cache misses overlap (without,
       5000 rows took ~2.4 ms, a miss each in turn). */
    if (i + GATHER_AHEAD < rows_len) {
      __builtin_prefetch(head + (size_t)rows[i + GATHER_AHEAD] * hb);
      if (tb) __builtin_prefetch(tail + (size_t)rows[i + GATHER_AHEAD] * tb);
    }
    const uint8_t *h = head + (size_t)rows[i] * hb;
    const uint8_t *t = tail + (size_t)rows[i] * tb;
    int32_t s = 0;
    for (uint32_t b = 0; b < hb; b++) s += thead[b * 256 + h[b]];
    for (uint32_t b = 0; b < tb; b++) s += ttail[b * 256 + t[b]];
    scores[i] = s;
  }
  free(small);
  napi_value ab, result;
  void *out_data;
  if (napi_create_arraybuffer(env, (size_t)n * 4, &out_data, &ab) != napi_ok) {
    free(scores);
    napi_throw_error(env, "SHELIA_NATIVE", "napi_create_arraybuffer failed");
    return NULL;
  }
  uint32_t *out = out_data;
  if (n > 0) {
    /* The n-th highest score is the cut; everything above it, then the first rows at it. */
    int32_t *copy = scores + rows_len;
    memcpy(copy, scores, rows_len * sizeof(int32_t));
    int32_t cut = kth_smallest(copy, rows_len, rows_len - n);
    size_t above = 0;
    for (size_t i = 0; i < rows_len; i++) above += scores[i] > cut;
    size_t ties = n - above, at = 0;
    for (size_t i = 0; i < rows_len && at < n; i++) {
      int32_t x = scores[i];
      if (x > cut || (x == cut && ties > 0 && ties--)) out[at++] = rows[i];
    }
  }
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
static napi_value simd_name(napi_env env, napi_callback_info info) {
  (void)info;
  const char *name = "generic";
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq")) name = "avx512";
  else if (__builtin_cpu_supports("avx2")) name = "avx2";
  else if (__builtin_cpu_supports("popcnt")) name = "popcnt";
#endif
  napi_value result;
  CHECK(napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &result));
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
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
      napi_create_function(env, "adviseHugePages", NAPI_AUTO_LENGTH, advise_huge_pages, NULL,
                           &fn) != napi_ok ||
      napi_set_named_property(env, exports, "adviseHugePages", fn) != napi_ok ||
      napi_create_function(env, "simd", NAPI_AUTO_LENGTH, simd_name, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "simd", fn) != napi_ok)
    return NULL;
  return exports;
}
