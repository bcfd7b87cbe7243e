// Fused attention for many queries at once (prefill, the vision tower): tiles of queries against tiles
// of keys with a running softmax, so no score matrix larger than one tile is ever written. The products
// are float32 FMAs, integer dot products (the vision tower in bf16 precision, AVX512_VNNI) or BF16 dot
// products (the decoder in bf16 precision, AVX512_BF16).
#include "CKernels.h"
#include "flash.h"
#include "pool.h"

#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw")))
#define AVX512_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512bf16")))

/// Queries per task and keys per tile. The query tile is held transposed (one row per head dimension,
/// 16 queries per vector), so the running maxima, sums and rescaling of the output are whole vectors.
#ifndef QUERY_TILE
#define QUERY_TILE 64
#endif
#define KEY_TILE 64
#define MAX_HEAD_DIM 256

struct flash_job {
    const float *q;
    long q_stride, queries, heads, kv_heads, head_dim;
    const void *keys, *values;
    int kv_format;
    long kv_stride, kv_head_stride, key_count, causal_past;
    float *out;
    long out_stride;
    long query_blocks;
    /// CKERNELS_PRODUCTS_*, as this CPU and the keys' format allow. Integer: scores from int8 queries and
    /// keys (`vpdpbusd`), weighted sums of the values from 12-bit probabilities and 14-bit values
    /// (`vpdpwssd`). BF16: queries and probabilities rounded to BF16 against the keys and values as
    /// stored (`vdpbf16ps`).
    int products;
    /// The current KV head, its keys and values packed contiguously (float32, `key_count` rows and 8
    /// zero rows after them; with BF16 products the keys stay BF16 and the values are held as `values16`
    /// is), and the tasks of its query heads: `group · query_blocks`, claimed in order.
    long kv_head;
    float *packed_keys, *packed_values;
    /// With integer products: the current KV head's keys less their mean (which shifts every score of a
    /// query alike, so softmax does not see it) in int8, one scale per key and the sum of its int8
    /// values; its values in 16 bits, one scale per head dimension (BF16 products: the BF16 values as
    /// they are), held dimension by dimension (`rows` keys each), so two keys' values of one dimension
    /// are 32 bits.
    int8_t *keys8;
    float *key_scales;
    int32_t *key_sums;
    float key_mean[MAX_HEAD_DIM];
    int16_t *values16;
    float value_scales[MAX_HEAD_DIM];
    long rows;
    _Atomic long next;
    /// Per part: the queries, output and scores of one task.
    float **buffers;
};

/// exp of 16 floats: Cephes' range reduction and degree-5 polynomial (as kernels.c's exp8), 2ⁿ built in
/// the exponent bits. Inputs below −88.38 (a masked −∞ among them) give exactly 0.
AVX512 static inline __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-88.3762626647949f)), _mm512_set1_ps(88.3762626647949f));
    __m512 n = _mm512_roundscale_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(0.5f)),
                                    _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    x = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    x = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), x);
    __m512 y = _mm512_set1_ps(1.9875691500e-4f);
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.3981999507e-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(8.3334519073e-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(4.1665795894e-2f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.6666665459e-1f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(5.0000001201e-1f));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(x, x), _mm512_add_ps(x, _mm512_set1_ps(1)));
    __m512i power = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(y, _mm512_castsi512_ps(power));
}

/// k · 2^x for x ≤ 0 (−∞ included) to 9e-5 relative, which neither 12-bit nor BF16 probabilities can tell
/// from exact: 2^⌊x⌋ by `vscalefps` times a cubic in the fraction (fitted with 2^0 exact, so 0 gives k).
/// Half exp16's instructions; the integer and BF16 products take their scores in powers of 2 for it.
AVX512 static inline __m512 exp2_times(__m512 x, float k) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-126));
    const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC), f = _mm512_sub_ps(x, n);
    __m512 y = _mm512_set1_ps(k * 0.07706618f);
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(k * 0.22764593f));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(k * 0.69511657f));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(k));
    return _mm512_scalef_ps(y, n);
}

/// `c[a·QUERY_TILE + i] (+)= Σ_t x[t·QUERY_TILE + i] · y[a·ya + t·yt]` for 8 rows a and 32 columns i: the
/// one register block both products use (scores: x the queries, y the keys; output: x the
/// probabilities, y the values). 16 sums stay in registers over the whole t loop.
AVX512 static inline void block_8x32(const float *x, const float *y, long ya, long yt, long steps, float *c, int accumulate) {
    __m512 s[8][2];
    for (int a = 0; a < 8; a++) {
        s[a][0] = accumulate ? _mm512_loadu_ps(c + a * QUERY_TILE) : _mm512_setzero_ps();
        s[a][1] = accumulate ? _mm512_loadu_ps(c + a * QUERY_TILE + 16) : _mm512_setzero_ps();
    }
    for (long t = 0; t < steps; t++) {
        const __m512 x0 = _mm512_loadu_ps(x + t * QUERY_TILE), x1 = _mm512_loadu_ps(x + t * QUERY_TILE + 16);
        const float *yt0 = y + t * yt;
        for (int a = 0; a < 8; a++) {
            const __m512 b = _mm512_set1_ps(yt0[a * ya]);
            s[a][0] = _mm512_fmadd_ps(x0, b, s[a][0]);
            s[a][1] = _mm512_fmadd_ps(x1, b, s[a][1]);
        }
    }
    for (int a = 0; a < 8; a++) {
        _mm512_storeu_ps(c + a * QUERY_TILE, s[a][0]);
        _mm512_storeu_ps(c + a * QUERY_TILE + 16, s[a][1]);
    }
}

/// Part of the current KV head's keys and values, widened or copied into the packed buffers: every
/// task of the head then reads float32 rows one after another (the vision tower's lie 3·hidden apart).
AVX512 static void pack_part(void *context, int part, int parts) {
    const struct flash_job *job = context;
    const long hd = job->head_dim, size = job->kv_format == CKERNELS_BF16 ? 2 : 4;
    long first, last;
    pool_slice(job->key_count, 8, part, parts, &first, &last);
    if (job->products == CKERNELS_PRODUCTS_BF16) {
        const unsigned short *keys = (const unsigned short *)job->keys + job->kv_head * job->kv_head_stride;
        const unsigned short *values = (const unsigned short *)job->values + job->kv_head * job->kv_head_stride;
        unsigned short *packed = (unsigned short *)job->packed_keys;
        for (long r = first; r < last; r++) {
            for (long d = 0; d < hd; d += 16)
                _mm256_storeu_si256((__m256i *)(packed + r * hd + d), _mm256_loadu_si256((const __m256i *)(keys + r * job->kv_stride + d)));
            for (long d = 0; d < hd; d++) job->values16[d * job->rows + r] = (int16_t)values[r * job->kv_stride + d];
        }
        return;
    }
    for (int kind = 0; kind < 2; kind++) {
        const char *source = (const char *)(kind == 0 ? job->keys : job->values) + job->kv_head * job->kv_head_stride * size;
        float *packed = kind == 0 ? job->packed_keys : job->packed_values;
        for (long r = first; r < last; r++) {
            float *row = packed + r * hd;
            if (job->kv_format == CKERNELS_BF16) {
                const unsigned short *from = (const unsigned short *)source + r * job->kv_stride;
                for (long d = 0; d < hd; d += 16) {
                    __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(from + d)));
                    _mm512_storeu_ps(row + d, _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16)));
                }
            } else {
                const float *from = (const float *)source + r * job->kv_stride;
                for (long d = 0; d < hd; d += 16) _mm512_storeu_ps(row + d, _mm512_loadu_ps(from + d));
            }
        }
    }
}

/// The mean of the current KV head's packed keys, one float per head dimension.
AVX512 static void mean_of_keys(struct flash_job *job) {
    const long hd = job->head_dim;
    for (long d = 0; d < hd; d += 16) {
        __m512 sum = _mm512_setzero_ps();
        for (long r = 0; r < job->key_count; r++) sum = _mm512_add_ps(sum, _mm512_loadu_ps(job->packed_keys + r * hd + d));
        _mm512_storeu_ps(job->key_mean + d, _mm512_mul_ps(sum, _mm512_set1_ps(1.0f / (float)job->key_count)));
    }
}

/// Part of the current KV head's packed keys, less their mean, to int8: one scale per key (its largest
/// magnitude is ±127) and the sum of its int8 values.
AVX512 static void quantize_keys_part(void *context, int part, int parts) {
    struct flash_job *job = context;
    const long hd = job->head_dim;
    long first, last;
    pool_slice(job->key_count, 8, part, parts, &first, &last);
    for (long r = first; r < last; r++) {
        const float *row = job->packed_keys + r * hd;
        __m512 largest = _mm512_setzero_ps();
        for (long d = 0; d < hd; d += 16)
            largest = _mm512_max_ps(largest, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(row + d), _mm512_loadu_ps(job->key_mean + d))));
        const float top = _mm512_reduce_max_ps(largest), inverse = top > 0 ? 127 / top : 0;
        __m512i sum = _mm512_setzero_si512();
        for (long d = 0; d < hd; d += 16) {
            const __m512 centred = _mm512_sub_ps(_mm512_loadu_ps(row + d), _mm512_loadu_ps(job->key_mean + d));
            const __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(centred, _mm512_set1_ps(inverse)));
            _mm_storeu_si128((__m128i *)(job->keys8 + r * hd + d), _mm512_cvtsepi32_epi8(q));
            sum = _mm512_add_epi32(sum, q);
        }
        job->key_scales[r] = top / 127;
        job->key_sums[r] = _mm512_reduce_add_epi32(sum);
    }
}

/// The current KV head's value scales: each head dimension's largest magnitude over the keys is ±8191.
AVX512 static void scale_values(struct flash_job *job) {
    const long hd = job->head_dim;
    for (long d = 0; d < hd; d += 16) {
        __m512 largest = _mm512_setzero_ps();
        for (long r = 0; r < job->key_count; r++)
            largest = _mm512_max_ps(largest, _mm512_abs_ps(_mm512_loadu_ps(job->packed_values + r * hd + d)));
        _mm512_storeu_ps(job->value_scales + d, _mm512_div_ps(largest, _mm512_set1_ps(8191)));
    }
}

/// Part of the current KV head's packed values to 16 bits, dimension by dimension.
AVX512 static void quantize_values_part(void *context, int part, int parts) {
    struct flash_job *job = context;
    const long hd = job->head_dim;
    long first, last;
    pool_slice(job->key_count, 8, part, parts, &first, &last);
    __attribute__((aligned(64))) float inverse[MAX_HEAD_DIM];
    for (long d = 0; d < hd; d++) inverse[d] = job->value_scales[d] > 0 ? 1 / job->value_scales[d] : 0;
    for (long r = first; r < last; r++)
        for (long d = 0; d < hd; d += 16) {
            __attribute__((aligned(64))) int32_t lanes[16];
            const __m512 scaled = _mm512_mul_ps(_mm512_loadu_ps(job->packed_values + r * hd + d), _mm512_load_ps(inverse + d));
            _mm512_store_si512(lanes, _mm512_cvtps_epi32(scaled));
            for (int k = 0; k < 16; k++) job->values16[(d + k) * job->rows + r] = (int16_t)lanes[k];
        }
}

/// The integer scores of one task's tile: `scores[j][i] = q_i · (k_j − mean)` for `padded` keys from `start`,
/// from queries held as unsigned bytes with +128 (`q8`: four head dimensions of one query in 32 bits,
/// QUERY_TILE queries per group of four) and keys as signed bytes. Eight keys × 32 queries per
/// register block, 16 `vpdpbusd` per four dimensions; 128 · Σ k_j comes back out, then both scales.
AVX512_VNNI static void integer_scores_tile(const struct flash_job *job, const uint8_t *q8, const float *query_scales, long start,
                                            long padded, float *scores) {
    const long hd = job->head_dim;
    for (long j = 0; j < padded; j += 8) {
        const int8_t *keys = job->keys8 + (start + j) * hd;
        for (long i = 0; i < QUERY_TILE; i += 32) {
            __m512i s[8][2];
            for (int a = 0; a < 8; a++) s[a][0] = s[a][1] = _mm512_setzero_si512();
            for (long t = 0; t < hd / 4; t++) {
                const uint8_t *x = q8 + (t * QUERY_TILE + i) * 4;
                const __m512i x0 = _mm512_loadu_si512(x), x1 = _mm512_loadu_si512(x + 64);
                for (int a = 0; a < 8; a++) {
                    int32_t four;
                    __builtin_memcpy(&four, keys + a * hd + t * 4, 4);
                    const __m512i b = _mm512_set1_epi32(four);
                    s[a][0] = _mm512_dpbusd_epi32(s[a][0], x0, b);
                    s[a][1] = _mm512_dpbusd_epi32(s[a][1], x1, b);
                }
            }
            const __m512 q0 = _mm512_load_ps(query_scales + i), q1 = _mm512_load_ps(query_scales + i + 16);
            for (int a = 0; a < 8; a++) {
                const __m512i offset = _mm512_set1_epi32(128 * job->key_sums[start + j + a]);
                const __m512 k = _mm512_set1_ps(job->key_scales[start + j + a]);
                float *c = scores + (j + a) * QUERY_TILE + i;
                _mm512_storeu_ps(c, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(s[a][0], offset)), _mm512_mul_ps(q0, k)));
                _mm512_storeu_ps(c + 16, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(s[a][1], offset)), _mm512_mul_ps(q1, k)));
            }
        }
    }
}

/// `acc += a.lo · b.lo + a.hi · b.hi` per 32 bits (`vpdpwssd`), written out because clang splits the
/// intrinsic into `vpmaddwd` and `vpaddd` for a generic CPU, two instructions that here took a third
/// longer than the float32 FMAs they replace.
AVX512_VNNI static inline __m512i dot_pairs(__m512i acc, __m512i a, __m512i b) {
    __asm__("vpdpwssd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
    return acc;
}

/// `output[d][i] = rescales[i] · output[d][i] + probability_scales[i] · value_scales[d] · Σ_j p[j][i] ·
/// v16[d][start + j]` over the tile's keys, with the probabilities as 12-bit integers two keys to 32 bits
/// (`p16`, QUERY_TILE queries per pair of keys): eight dimensions × 32 queries per register block, one
/// `vpdpwssd` per pair. A tile's 64 products of at most 4095 · 8191 stay within int32.
AVX512_VNNI static void integer_values_tile(const struct flash_job *job, const uint32_t *p16, const float *probability_scales,
                                            const float *rescales, long start, long padded, float *output) {
    const long hd = job->head_dim;
    for (long d = 0; d < hd; d += 8)
        for (long i = 0; i < QUERY_TILE; i += 32) {
            __m512i s[8][2];
            for (int a = 0; a < 8; a++) s[a][0] = s[a][1] = _mm512_setzero_si512();
            for (long pair = 0; pair < padded / 2; pair++) {
                const __m512i x0 = _mm512_loadu_si512(p16 + pair * QUERY_TILE + i), x1 = _mm512_loadu_si512(p16 + pair * QUERY_TILE + i + 16);
#pragma clang loop unroll(full)
                for (int a = 0; a < 8; a++) {
                    int32_t two;
                    __builtin_memcpy(&two, job->values16 + (d + a) * job->rows + start + 2 * pair, 4);
                    const __m512i b = _mm512_set1_epi32(two);
                    s[a][0] = dot_pairs(s[a][0], x0, b);
                    s[a][1] = dot_pairs(s[a][1], x1, b);
                }
            }
            const __m512 p0 = _mm512_load_ps(probability_scales + i), p1 = _mm512_load_ps(probability_scales + i + 16);
            const __m512 r0 = _mm512_load_ps(rescales + i), r1 = _mm512_load_ps(rescales + i + 16);
            for (int a = 0; a < 8; a++) {
                const __m512 v = _mm512_set1_ps(job->value_scales[d + a]);
                float *c = output + (d + a) * QUERY_TILE + i;
                _mm512_storeu_ps(c, _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[a][0]), _mm512_mul_ps(p0, v), _mm512_mul_ps(_mm512_loadu_ps(c), r0)));
                _mm512_storeu_ps(c + 16,
                                 _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[a][1]), _mm512_mul_ps(p1, v), _mm512_mul_ps(_mm512_loadu_ps(c + 16), r1)));
            }
        }
}

/// `x` rounded to the nearest BF16 (ties to even) and widened back: what `vdpbf16ps` multiplies
/// (flash_bf16_bits, 16 at a time).
AVX512 static inline __m512 round_bf16(__m512 x) {
    const __m512i bits = _mm512_castps_si512(x);
    const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
    const __m512i rounded = _mm512_add_epi32(bits, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7FFF)));
    return _mm512_castsi512_ps(_mm512_and_si512(rounded, _mm512_set1_epi32((int)0xFFFF0000u)));
}

/// `s[a][·] += Σ_t x[t·QUERY_TILE + (0…31)] · (y[a·ya + 2t], y[a·ya + 2t + 1])` for 8 rows a and 32
/// columns, all BF16 pairs (`vdpbf16ps`): the register block both BF16 products use (scores: x the
/// queries, y the keys; output: x the probabilities, y the values dimension by dimension).
AVX512_BF16 static inline __attribute__((always_inline)) void bf16_block_8x32(const uint32_t *x, const unsigned short *y, long ya, long steps,
                                                                             __m512 s[8][2]) {
    for (long t = 0; t < steps; t++) {
        const __m512bh x0 = (__m512bh)_mm512_loadu_si512(x + t * QUERY_TILE), x1 = (__m512bh)_mm512_loadu_si512(x + t * QUERY_TILE + 16);
#pragma clang loop unroll(full)
        for (int a = 0; a < 8; a++) {
            int32_t two;
            __builtin_memcpy(&two, y + a * ya + 2 * t, 4);
            const __m512bh b = (__m512bh)_mm512_set1_epi32(two);
            s[a][0] = _mm512_dpbf16_ps(s[a][0], x0, b);
            s[a][1] = _mm512_dpbf16_ps(s[a][1], x1, b);
        }
    }
}

/// BF16 scores of one task's tile: `scores[j][i] = scale · q_i · k_j` for `padded` keys from `start`,
/// from queries as BF16 pairs (`q16`: two head dimensions of one query in 32 bits, QUERY_TILE queries
/// per pair) and the packed BF16 keys: eight keys × 32 queries per register block, one `vdpbf16ps`
/// per pair of dimensions.
AVX512_BF16 static void bf16_scores_tile(const struct flash_job *job, const uint32_t *q16, float scale, long start, long padded,
                                         float *scores) {
    const long hd = job->head_dim;
    const unsigned short *keys = (const unsigned short *)job->packed_keys + start * hd;
    for (long j = 0; j < padded; j += 8)
        for (long i = 0; i < QUERY_TILE; i += 32) {
            __m512 s[8][2];
            for (int a = 0; a < 8; a++) s[a][0] = s[a][1] = _mm512_setzero_ps();
            bf16_block_8x32(q16 + i, keys + j * hd, hd, hd / 2, s);
            for (int a = 0; a < 8; a++) {
                float *c = scores + (j + a) * QUERY_TILE + i;
                _mm512_storeu_ps(c, _mm512_mul_ps(s[a][0], _mm512_set1_ps(scale)));
                _mm512_storeu_ps(c + 16, _mm512_mul_ps(s[a][1], _mm512_set1_ps(scale)));
            }
        }
}

/// `output[d][i] = rescales[i] · output[d][i] + Σ_j p[j][i] · v_j[d]` over the tile's keys, with the
/// probabilities as BF16 two keys to 32 bits (`p16`, QUERY_TILE queries per pair of keys) and the values
/// as `values16` holds them: eight dimensions × 32 queries per register block, one `vdpbf16ps` per pair
/// of keys.
AVX512_BF16 static void bf16_values_tile(const struct flash_job *job, const uint32_t *p16, const float *rescales, long start, long padded,
                                         float *output) {
    const long hd = job->head_dim;
    for (long d = 0; d < hd; d += 8)
        for (long i = 0; i < QUERY_TILE; i += 32) {
            const __m512 r0 = _mm512_load_ps(rescales + i), r1 = _mm512_load_ps(rescales + i + 16);
            __m512 s[8][2];
            for (int a = 0; a < 8; a++) {
                s[a][0] = _mm512_mul_ps(_mm512_loadu_ps(output + (d + a) * QUERY_TILE + i), r0);
                s[a][1] = _mm512_mul_ps(_mm512_loadu_ps(output + (d + a) * QUERY_TILE + i + 16), r1);
            }
            bf16_block_8x32(p16 + i, (const unsigned short *)job->values16 + d * job->rows + start, job->rows, padded / 2, s);
            for (int a = 0; a < 8; a++) {
                _mm512_storeu_ps(output + (d + a) * QUERY_TILE + i, s[a][0]);
                _mm512_storeu_ps(output + (d + a) * QUERY_TILE + i + 16, s[a][1]);
            }
        }
}

AVX512 void flash_bf16_probabilities(float *scores, long count) {
    const long tiles = (count + KEY_TILE - 1) / KEY_TILE;
    float *rescales = malloc(sizeof(float) * (size_t)tiles);
    float peak = -INFINITY, total = 0;
    for (long t = 0; t < tiles; t++) {
        float *tile = scores + t * KEY_TILE;
        const long n = count - t * KEY_TILE < KEY_TILE ? count - t * KEY_TILE : KEY_TILE;
        float tile_top = -INFINITY;
        for (long j = 0; j < n; j++) tile_top = fmaxf(tile_top, tile[j]);
        const float top = fmaxf(peak, tile_top);
        // As flash_task does, lane by lane: the sum so far rescaled, then each rounded probability added in order.
        rescales[t] = _mm512_cvtss_f32(exp16(_mm512_mul_ps(_mm512_set1_ps(peak - top), _mm512_set1_ps((float)M_LN2))));
        total *= rescales[t];
        for (long j = 0; j < n; j += 16) {
            const __mmask16 live = n - j >= 16 ? 0xFFFF : (__mmask16)((1u << (n - j)) - 1);
            const __m512 p = round_bf16(exp2_times(_mm512_sub_ps(_mm512_maskz_loadu_ps(live, tile + j), _mm512_set1_ps(top)), 1));
            _mm512_mask_storeu_ps(tile + j, live, p);
        }
        for (long j = 0; j < n; j++) total += tile[j];
        peak = top;
    }
    // A tile's probabilities are multiplied by the rescales of every later tile, then divided by the sum.
    float factor = 1 / total;
    for (long t = tiles - 1; t >= 0; t--) {
        const long n = count - t * KEY_TILE < KEY_TILE ? count - t * KEY_TILE : KEY_TILE;
        for (long j = 0; j < n; j++) scores[t * KEY_TILE + j] *= factor;
        factor *= rescales[t];
    }
    free(rescales);
}

/// One task: QUERY_TILE queries of one head against every key they see.
AVX512 static void flash_task(const struct flash_job *job, long task, float *buffer) {
    // The longest (causal) blocks first.
    const long hd = job->head_dim, group = job->heads / job->kv_heads;
    const long head = job->kv_head * group + task / job->query_blocks, block = job->query_blocks - 1 - task % job->query_blocks;
    const long first = block * QUERY_TILE, rows = job->queries - first < QUERY_TILE ? job->queries - first : QUERY_TILE;
    const int causal = job->causal_past >= 0;
    const long visible = causal ? job->causal_past + first + rows : job->key_count; // keys the block's last query sees
    float *queries = buffer, *output = queries + hd * QUERY_TILE, *scores = output + hd * QUERY_TILE;
    uint32_t *p16 = (uint32_t *)(scores + KEY_TILE * QUERY_TILE);
    __attribute__((aligned(64))) float peak[QUERY_TILE], total[QUERY_TILE], probability_scales[QUERY_TILE], rescales[QUERY_TILE];

    // Queries transposed and scaled by 1/√hd; rows past the end are zeros (their results are dropped).
    const float scale = 1 / sqrtf((float)hd);
    __attribute__((aligned(64))) float query_scales[QUERY_TILE];
    uint8_t *q8 = (uint8_t *)queries; // integer products: the same queries as unsigned bytes, four dimensions per 32 bits
    uint32_t *q16 = (uint32_t *)queries; // BF16 products: two dimensions per 32 bits, unscaled
    if (job->products == CKERNELS_PRODUCTS_BF16) {
        for (long t = 0; t < hd / 2; t++)
            for (long i = 0; i < QUERY_TILE; i++) {
                const float *pair = job->q + (first + i) * job->q_stride + head * hd + 2 * t;
                q16[t * QUERY_TILE + i] = i < rows ? (uint32_t)flash_bf16_bits(pair[0]) | (uint32_t)flash_bf16_bits(pair[1]) << 16 : 0;
            }
    } else if (job->products == CKERNELS_PRODUCTS_INTEGER) {
        for (long i = 0; i < QUERY_TILE; i++) {
            const float *row = job->q + (first + i) * job->q_stride + head * hd;
            __m512 largest = _mm512_setzero_ps();
            for (long d = 0; i < rows && d < hd; d += 16) largest = _mm512_max_ps(largest, _mm512_abs_ps(_mm512_loadu_ps(row + d)));
            const float top = _mm512_reduce_max_ps(largest), inverse = top > 0 ? 127 / top : 0;
            query_scales[i] = top / 127 * scale * (float)M_LOG2E; // scores in powers of 2, for exp2_times
            for (long d = 0; d < hd; d += 16) {
                const __m512 x = i < rows ? _mm512_mul_ps(_mm512_loadu_ps(row + d), _mm512_set1_ps(inverse)) : _mm512_setzero_ps();
                __attribute__((aligned(16))) uint32_t words[4]; // dimensions d + 4g … d + 4g + 3, one byte each
                _mm_store_si128((__m128i *)words, _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(x), _mm512_set1_epi32(128))));
                for (int g = 0; g < 4; g++) __builtin_memcpy(q8 + ((d / 4 + g) * QUERY_TILE + i) * 4, &words[g], 4);
            }
        }
    } else {
        for (long d = 0; d < hd; d++)
            for (long i = 0; i < QUERY_TILE; i++)
                queries[d * QUERY_TILE + i] = i < rows ? job->q[(first + i) * job->q_stride + head * hd + d] * scale : 0;
    }
    for (long i = 0; i < hd * QUERY_TILE; i++) output[i] = 0;
    for (long i = 0; i < QUERY_TILE; i++) peak[i] = -INFINITY, total[i] = 0;

    for (long start = 0; start < visible; start += KEY_TILE) {
        const long count = visible - start < KEY_TILE ? visible - start : KEY_TILE, padded = (count + 7) & ~7L;
        const float *keys = job->packed_keys + start * hd, *values = job->packed_values + start * hd;
        // scores[j][i] = q_i · k_j
        if (job->products == CKERNELS_PRODUCTS_INTEGER)
            integer_scores_tile(job, q8, query_scales, start, padded, scores);
        else if (job->products == CKERNELS_PRODUCTS_BF16)
            bf16_scores_tile(job, q16, scale * (float)M_LOG2E, start, padded, scores); // in powers of 2, as flash_bf16_probabilities takes them
        else
            for (long j = 0; j < padded; j += 8)
                for (long i = 0; i < QUERY_TILE; i += 32)
                    block_8x32(queries + i, keys + j * hd, hd, 1, hd, scores + j * QUERY_TILE + i, 0);
        // Keys past the tile's end, and (causal) keys after a query's own position, get −∞.
        const long diagonal = causal ? job->causal_past + first - start : 0; // query i sees tile keys j ≤ diagonal + i
        for (long j = 0; j < padded; j++) {
            const int beyond_end = j >= count, crosses = causal && j > diagonal;
            if (!beyond_end && !crosses) continue;
            for (long i = 0; i < QUERY_TILE; i++)
                if (beyond_end || j > diagonal + i) scores[j * QUERY_TILE + i] = -INFINITY;
        }
        // Running softmax: new maxima, rescale what was summed so far, probabilities in place. Integer
        // and BF16 products take their scores in powers of 2 and rescale the output as they add to it.
        // Integer products take the probabilities as 12-bit integers of the tile's largest (2^(s − the
        // tile's largest score) · 4095) with one scale per query, 2^(the tile's largest − the running
        // maximum) / 4095, and divide the output by the sum of what they multiplied.
        const __m512 unit = _mm512_set1_ps(job->products == CKERNELS_PRODUCTS_F32 ? 1 : (float)M_LN2); // e^(unit · score)
        for (long i = 0; i < QUERY_TILE; i += 16) {
            __m512 tile_top = _mm512_set1_ps(-INFINITY);
            for (long j = 0; j < count; j++) tile_top = _mm512_max_ps(tile_top, _mm512_loadu_ps(scores + j * QUERY_TILE + i));
            const __m512 top = _mm512_max_ps(_mm512_load_ps(peak + i), tile_top);
            const __m512 rescale = exp16(_mm512_mul_ps(_mm512_sub_ps(_mm512_load_ps(peak + i), top), unit));
            __m512 sum = _mm512_mul_ps(_mm512_load_ps(total + i), rescale);
            if (job->products == CKERNELS_PRODUCTS_INTEGER) {
                // A query that sees none of the tile's keys: every 2^(−∞ − (−FLT_MAX)) is 0, not NaN.
                tile_top = _mm512_max_ps(tile_top, _mm512_set1_ps(-FLT_MAX));
                __m512i integers = _mm512_setzero_si512();
                for (long j = 0; j < padded; j += 2) {
                    const __m512i e = _mm512_cvtps_epi32(exp2_times(_mm512_sub_ps(_mm512_loadu_ps(scores + j * QUERY_TILE + i), tile_top), 4095));
                    const __m512i o = _mm512_cvtps_epi32(exp2_times(_mm512_sub_ps(_mm512_loadu_ps(scores + (j + 1) * QUERY_TILE + i), tile_top), 4095));
                    _mm512_storeu_si512(p16 + j / 2 * QUERY_TILE + i, _mm512_or_si512(e, _mm512_slli_epi32(o, 16)));
                    integers = _mm512_add_epi32(integers, _mm512_add_epi32(e, o));
                }
                const __m512 scale = _mm512_mul_ps(exp16(_mm512_mul_ps(_mm512_sub_ps(tile_top, top), unit)), _mm512_set1_ps(1.0f / 4095));
                _mm512_store_ps(probability_scales + i, scale);
                sum = _mm512_fmadd_ps(_mm512_cvtepi32_ps(integers), scale, sum);
            } else if (job->products == CKERNELS_PRODUCTS_BF16) {
                // Rounded to BF16 two keys to 32 bits, the sum of what is multiplied (flash_bf16_probabilities).
                for (long j = 0; j < padded; j += 2) {
                    const __m512 even = round_bf16(exp2_times(_mm512_sub_ps(_mm512_loadu_ps(scores + j * QUERY_TILE + i), top), 1));
                    const __m512 odd = round_bf16(exp2_times(_mm512_sub_ps(_mm512_loadu_ps(scores + (j + 1) * QUERY_TILE + i), top), 1));
                    _mm512_storeu_si512(p16 + j / 2 * QUERY_TILE + i,
                                        _mm512_or_si512(_mm512_srli_epi32(_mm512_castps_si512(even), 16), _mm512_castps_si512(odd)));
                    sum = _mm512_add_ps(_mm512_add_ps(sum, even), odd);
                }
            } else {
                for (long j = 0; j < padded; j++) {
                    const __m512 p = exp16(_mm512_sub_ps(_mm512_loadu_ps(scores + j * QUERY_TILE + i), top));
                    _mm512_storeu_ps(scores + j * QUERY_TILE + i, p);
                    sum = _mm512_add_ps(sum, p);
                }
            }
            _mm512_store_ps(peak + i, top);
            _mm512_store_ps(total + i, sum);
            _mm512_store_ps(rescales + i, rescale);
            if (job->products == CKERNELS_PRODUCTS_F32)
                for (long d = 0; d < hd; d++)
                    _mm512_storeu_ps(output + d * QUERY_TILE + i, _mm512_mul_ps(_mm512_loadu_ps(output + d * QUERY_TILE + i), rescale));
        }
        // output[d][i] (rescaled) += Σ_j p[j][i] · v_j[d]
        if (job->products == CKERNELS_PRODUCTS_INTEGER)
            integer_values_tile(job, p16, probability_scales, rescales, start, padded, output);
        else if (job->products == CKERNELS_PRODUCTS_BF16)
            bf16_values_tile(job, p16, rescales, start, padded, output);
        else
            for (long d = 0; d < hd; d += 8)
                for (long i = 0; i < QUERY_TILE; i += 32)
                    block_8x32(scores + i, values + d, 1, hd, padded, output + d * QUERY_TILE + i, 1);
    }
    for (long i = 0; i < rows; i++) {
        const float inverse = 1 / total[i];
        float *out = job->out + (first + i) * job->out_stride + head * hd;
        for (long d = 0; d < hd; d++) out[d] = output[d * QUERY_TILE + i] * inverse;
    }
}

/// One part per thread, each with its own tiles, claiming the current KV head's tasks until none is left.
AVX512 static void flash_part(void *context, int part, int parts) {
    (void)parts;
    struct flash_job *job = context;
    const long tasks = job->heads / job->kv_heads * job->query_blocks;
    for (long task; (task = atomic_fetch_add_explicit(&job->next, 1, memory_order_relaxed)) < tasks;) flash_task(job, task, job->buffers[part]);
}

int ckernels_attention(const float *q, long q_stride, long queries, long heads, long kv_heads, long head_dim,
                       const void *keys, const void *values, int kv_format, long kv_stride, long kv_head_stride, long key_count,
                       long causal_past, float *out, long out_stride, int products) {
    static int known = -1;
    if (known < 0) known = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    if (!known || head_dim % 16 != 0 || head_dim > MAX_HEAD_DIM || heads % kv_heads != 0 || queries < 1
        || (kv_format != CKERNELS_F32 && kv_format != CKERNELS_BF16))
        return 0;
    const int threads = pool_threads();
    // Packed keys and values (float32), then each thread's tiles (queries, output, scores, 16-bit
    // probabilities), then the integer keys' scales and sums, the 16-bit values and the int8 keys.
    const long rows = key_count + 8, tile = 2 * head_dim * QUERY_TILE + KEY_TILE * QUERY_TILE + KEY_TILE * QUERY_TILE / 2;
    const long floats = 2 * rows * head_dim + threads * tile + 2 * rows;
    float *memory = aligned_alloc(64, ((size_t)floats * 4 + (size_t)(rows * head_dim) * 3 + 63) & ~(size_t)63);
    float *buffers[threads];
    for (int t = 0; t < threads; t++) buffers[t] = memory + 2 * rows * head_dim + t * tile;
    float *integer_part = memory + 2 * rows * head_dim + threads * tile;
    struct flash_job job = {
        .q = q, .q_stride = q_stride, .queries = queries, .heads = heads, .kv_heads = kv_heads, .head_dim = head_dim,
        .keys = keys, .values = values, .kv_format = kv_format, .kv_stride = kv_stride, .kv_head_stride = kv_head_stride,
        .key_count = key_count, .causal_past = causal_past, .out = out, .out_stride = out_stride,
        .query_blocks = (queries + QUERY_TILE - 1) / QUERY_TILE, .products = CKERNELS_PRODUCTS_F32,
        .packed_keys = memory, .packed_values = memory + rows * head_dim, .buffers = buffers, .rows = rows,
        .key_scales = integer_part, .key_sums = (int32_t *)(integer_part + rows),
        .values16 = (int16_t *)(memory + floats), .keys8 = (int8_t *)(memory + floats) + 2 * rows * head_dim};
    if (products == CKERNELS_PRODUCTS_INTEGER && ckernels_has_int8_dot()) job.products = products;
    if (products == CKERNELS_PRODUCTS_BF16 && ckernels_has_bf16_dot() && kv_format == CKERNELS_BF16) job.products = products;
    // Rows past the last key: finite (zero) values, since a masked score's probability 0 multiplies them.
    for (long i = key_count * head_dim; i < rows * head_dim; i++) job.packed_keys[i] = job.packed_values[i] = 0, job.keys8[i] = 0;
    if (job.products == CKERNELS_PRODUCTS_BF16) // their keys stay BF16
        for (long i = key_count * head_dim; i < rows * head_dim; i++) ((uint16_t *)job.packed_keys)[i] = 0;
    for (long r = key_count; r < rows; r++) {
        job.key_scales[r] = 0, job.key_sums[r] = 0;
        for (long d = 0; d < head_dim; d++) job.values16[d * rows + r] = 0;
    }
    const long tasks = heads / kv_heads * job.query_blocks;
    for (long g = 0; g < kv_heads; g++) {
        job.kv_head = g;
        atomic_store_explicit(&job.next, 0, memory_order_relaxed);
        pool_run(pack_part, &job, key_count >= 256);
        if (job.products == CKERNELS_PRODUCTS_INTEGER) {
            mean_of_keys(&job);
            scale_values(&job);
            pool_run(quantize_keys_part, &job, key_count >= 256);
            pool_run(quantize_values_part, &job, key_count >= 256);
        }
        pool_run(flash_part, &job, tasks > 1);
    }
    free(memory);
    return 1;
}
#else
int ckernels_attention(const float *q, long q_stride, long queries, long heads, long kv_heads, long head_dim,
                       const void *keys, const void *values, int kv_format, long kv_stride, long kv_head_stride, long key_count,
                       long causal_past, float *out, long out_stride, int products) {
    (void)products, (void)q, (void)q_stride, (void)queries, (void)heads, (void)kv_heads, (void)head_dim, (void)keys, (void)values;
    (void)kv_format, (void)kv_stride, (void)kv_head_stride, (void)key_count, (void)causal_past, (void)out, (void)out_stride;
    return 0;
}
#endif
