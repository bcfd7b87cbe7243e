// Decode attention against a BF16 KV cache: one new token's query heads, every cached position.
#include "CKernels.h"
#include "flash.h"
#include "pool.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static inline float widen_one(uint16_t half) {
    union { uint32_t bits; float value; } v = {(uint32_t)half << 16};
    return v.value;
}

struct attend_job {
    const float *q;
    long heads, kv_heads, head_dim;
    const unsigned short *keys, *values;
    long stride, head_stride, count;
    float *out;
    /// Round as the fused kernel's BF16 products do (CKERNELS_PRODUCTS_BF16).
    int bf16_products;
};

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx512bw")))

AVX512 static inline __m512 widen16(const unsigned short *source) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)source)), 16));
}

/// Positions ahead whose key (or value) is requested while one is used: the hardware prefetcher
/// starts each head's stream too late (measured without it: decode attention waited on memory).
#define AHEAD 16
/// Query heads per KV head that the vector path keeps side by side (GQA groups are 1–8 in Qwen3-VL).
#define MAX_GROUP 8

AVX512 static inline void prefetch_row(const unsigned short *row, long head_dim) {
    for (long d = 0; d < head_dim; d += 32) _mm_prefetch((const char *)(row + d), _MM_HINT_T0);
}

/// Σ_t p[i][t] · v_t for `group` query heads over `vectors` 16-float vectors of the head dimension
/// (from element `d0`), summed in registers across every position (a sum kept in memory made each
/// position wait for the last one's store); the next values are requested ahead.
AVX512 static inline __attribute__((always_inline)) void weigh_values(const struct attend_job *job, const unsigned short *values,
                                                                    long group, long vectors, long d0, const float *scores, float *out) {
    const long count = job->count, stride = job->stride, hd = job->head_dim;
    __m512 sums[16];
    for (long i = 0; i < group * vectors; i++) sums[i] = _mm512_setzero_ps();
    for (long t = 0; t < count; t++) {
        const unsigned short *v = values + t * stride + d0;
        if (t + AHEAD < count) prefetch_row(v + AHEAD * stride, vectors * 16);
        for (long c = 0; c < vectors; c++) {
            const __m512 value = widen16(v + c * 16);
            for (long i = 0; i < group; i++)
                sums[i * vectors + c] = _mm512_fmadd_ps(_mm512_set1_ps(scores[i * count + t]), value, sums[i * vectors + c]);
        }
    }
    for (long i = 0; i < group; i++)
        for (long c = 0; c < vectors; c++) _mm512_storeu_ps(out + i * hd + d0 + c * 16, sums[i * vectors + c]);
}

/// KV head `g` against its `group` query heads: each cached key and value is widened once for all of
/// them, and the next ones are requested ahead. `rounded` has room for the group's queries.
AVX512 static void attend_head_avx512(const struct attend_job *job, long g, long group, float scale, float *scores, float *rounded) {
    const long hd = job->head_dim, count = job->count, stride = job->stride;
    const float *q = job->q + g * group * hd;
    if (job->bf16_products) {
        for (long i = 0; i < group * hd; i++) {
            const uint32_t bits = (uint32_t)flash_bf16_bits(q[i]) << 16;
            memcpy(rounded + i, &bits, sizeof bits);
        }
        q = rounded;
    }
    for (long t = 0; t < count; t++) {
        const unsigned short *k = job->keys + g * job->head_stride + t * stride;
        if (t + AHEAD < count) prefetch_row(k + AHEAD * stride, hd);
        __m512 acc[MAX_GROUP];
        for (long i = 0; i < group; i++) acc[i] = _mm512_setzero_ps();
        for (long d = 0; d < hd; d += 16) {
            const __m512 key = widen16(k + d);
            for (long i = 0; i < group; i++) acc[i] = _mm512_fmadd_ps(_mm512_loadu_ps(q + i * hd + d), key, acc[i]);
        }
        for (long i = 0; i < group; i++) scores[i * count + t] = _mm512_reduce_add_ps(acc[i]) * scale;
    }
    for (long i = 0; i < group; i++) {
        if (job->bf16_products) flash_bf16_probabilities(scores + i * count, count);
        else ckernels_softmax(scores + i * count, count);
    }
    // The head dimension in chunks whose sums fit in 16 registers; the common shapes get their own
    // copy with the loops unrolled.
    const unsigned short *values = job->values + g * job->head_stride;
    float *out = job->out + g * group * hd;
    const long total = hd / 16, chunk = 16 / group < total ? 16 / group : total;
    for (long first = 0; first < total; first += chunk) {
        const long vectors = total - first < chunk ? total - first : chunk, d0 = first * 16;
        if (group == 2 && vectors == 8) weigh_values(job, values, 2, 8, d0, scores, out);
        else if (group == 4 && vectors == 4) weigh_values(job, values, 4, 4, d0, scores, out);
        else if (group == 1 && vectors == 8) weigh_values(job, values, 1, 8, d0, scores, out);
        else if (group == 8 && vectors == 2) weigh_values(job, values, 8, 2, d0, scores, out);
        else weigh_values(job, values, group, vectors, d0, scores, out);
    }
}

static int use_avx512(long head_dim) {
    static int known = -1;
    if (known < 0) known = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    return known && head_dim % 16 == 0;
}
#else
static int use_avx512(long head_dim) { (void)head_dim; return 0; }
#endif

static float dot(const float *q, const unsigned short *k, long n) {
    float sum = 0;
    for (long d = 0; d < n; d++) sum += q[d] * widen_one(k[d]);
    return sum;
}

static void axpy(float p, const unsigned short *v, float *out, long n) {
    for (long d = 0; d < n; d++) out[d] += p * widen_one(v[d]);
}

/// The KV heads of the part, each with the query heads that share it (GQA), so each cached key and
/// value is read once per token.
static void attend_part(void *context, int part, int parts) {
    const struct attend_job *job = context;
    const long group = job->heads / job->kv_heads, hd = job->head_dim, count = job->count;
    // BF16 products: scores in powers of 2, as the fused kernel's (flash_bf16_probabilities).
    const float scale = job->bf16_products ? 1 / sqrtf((float)hd) * (float)M_LOG2E : 1 / sqrtf((float)hd);
    long first, last;
    pool_slice(job->kv_heads, 1, part, parts, &first, &last);
    float *scores = malloc((size_t)(group * (count + hd)) * sizeof(float)), *rounded = scores + group * count;
    for (long g = first; g < last; g++) {
#if defined(__x86_64__)
        if (use_avx512(hd) && group <= MAX_GROUP) {
            attend_head_avx512(job, g, group, scale, scores, rounded);
            continue;
        }
#endif
        for (long t = 0; t < count; t++) {
            const unsigned short *k = job->keys + g * job->head_stride + t * job->stride;
            for (long i = 0; i < group; i++) scores[i * count + t] = dot(job->q + (g * group + i) * hd, k, hd) * scale;
        }
        for (long i = 0; i < group; i++) {
            float *out = job->out + (g * group + i) * hd;
            ckernels_softmax(scores + i * count, count);
            for (long d = 0; d < hd; d++) out[d] = 0;
        }
        for (long t = 0; t < count; t++) {
            const unsigned short *v = job->values + g * job->head_stride + t * job->stride;
            for (long i = 0; i < group; i++) axpy(scores[i * count + t], v, job->out + (g * group + i) * hd, hd);
        }
    }
    free(scores);
}

void ckernels_attend_bf16(const float *q, long heads, long kv_heads, long head_dim, const unsigned short *keys,
                          const unsigned short *values, long stride, long head_stride, long count, float *out, int products) {
    struct attend_job job = {q, heads, kv_heads, head_dim, keys, values, stride, head_stride, count, out,
                             products == CKERNELS_PRODUCTS_BF16 && ckernels_has_bf16_dot()};
    pool_run(attend_part, &job, kv_heads > 1 && count * kv_heads * head_dim >= (1L << 15));
}
