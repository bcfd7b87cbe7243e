// Fused attention for many queries at once (prefill, the vision tower): tiles of queries against tiles
// of keys with a running softmax, so no score matrix larger than one tile is ever written.
#include "CKernels.h"
#include "pool.h"

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw")))

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
    /// The current KV head, its keys and values packed contiguously (float32, `key_count` rows and 8
    /// zero rows after them), and the tasks of its query heads: `group · query_blocks`, claimed in order.
    long kv_head;
    float *packed_keys, *packed_values;
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

/// One task: QUERY_TILE queries of one head against every key they see.
AVX512 static void flash_task(const struct flash_job *job, long task, float *buffer) {
    // The longest (causal) blocks first.
    const long hd = job->head_dim, group = job->heads / job->kv_heads;
    const long head = job->kv_head * group + task / job->query_blocks, block = job->query_blocks - 1 - task % job->query_blocks;
    const long first = block * QUERY_TILE, rows = job->queries - first < QUERY_TILE ? job->queries - first : QUERY_TILE;
    const int causal = job->causal_past >= 0;
    const long visible = causal ? job->causal_past + first + rows : job->key_count; // keys the block's last query sees
    float *queries = buffer, *output = queries + hd * QUERY_TILE, *scores = output + hd * QUERY_TILE;
    __attribute__((aligned(64))) float peak[QUERY_TILE], total[QUERY_TILE];

    // Queries transposed and scaled by 1/√hd; rows past the end are zeros (their results are dropped).
    const float scale = 1 / sqrtf((float)hd);
    for (long d = 0; d < hd; d++)
        for (long i = 0; i < QUERY_TILE; i++)
            queries[d * QUERY_TILE + i] = i < rows ? job->q[(first + i) * job->q_stride + head * hd + d] * scale : 0;
    for (long i = 0; i < hd * QUERY_TILE; i++) output[i] = 0;
    for (long i = 0; i < QUERY_TILE; i++) peak[i] = -INFINITY, total[i] = 0;

    for (long start = 0; start < visible; start += KEY_TILE) {
        const long count = visible - start < KEY_TILE ? visible - start : KEY_TILE, padded = (count + 7) & ~7L;
        const float *keys = job->packed_keys + start * hd, *values = job->packed_values + start * hd;
        // scores[j][i] = q_i · k_j
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
        // Running softmax: new maxima, rescale what was summed so far, probabilities in place.
        for (long i = 0; i < QUERY_TILE; i += 16) {
            __m512 top = _mm512_load_ps(peak + i);
            for (long j = 0; j < count; j++) top = _mm512_max_ps(top, _mm512_loadu_ps(scores + j * QUERY_TILE + i));
            const __m512 rescale = exp16(_mm512_sub_ps(_mm512_load_ps(peak + i), top));
            __m512 sum = _mm512_mul_ps(_mm512_load_ps(total + i), rescale);
            for (long j = 0; j < padded; j++) {
                const __m512 p = exp16(_mm512_sub_ps(_mm512_loadu_ps(scores + j * QUERY_TILE + i), top));
                _mm512_storeu_ps(scores + j * QUERY_TILE + i, p);
                sum = _mm512_add_ps(sum, p);
            }
            _mm512_store_ps(peak + i, top);
            _mm512_store_ps(total + i, sum);
            for (long d = 0; d < hd; d++)
                _mm512_storeu_ps(output + d * QUERY_TILE + i, _mm512_mul_ps(_mm512_loadu_ps(output + d * QUERY_TILE + i), rescale));
        }
        // output[d][i] += Σ_j p[j][i] · v_j[d]
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
                       long causal_past, float *out, long out_stride) {
    static int known = -1;
    if (known < 0) known = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    if (!known || head_dim % 16 != 0 || head_dim > MAX_HEAD_DIM || heads % kv_heads != 0 || queries < 1
        || (kv_format != CKERNELS_F32 && kv_format != CKERNELS_BF16))
        return 0;
    const int threads = pool_threads();
    const long rows = key_count + 8, tile = 2 * head_dim * QUERY_TILE + KEY_TILE * QUERY_TILE;
    float *memory = aligned_alloc(64, (size_t)(2 * rows * head_dim + threads * tile) * sizeof(float));
    float *buffers[threads];
    for (int t = 0; t < threads; t++) buffers[t] = memory + 2 * rows * head_dim + t * tile;
    struct flash_job job = {q, q_stride, queries, heads, kv_heads, head_dim, keys, values, kv_format, kv_stride, kv_head_stride, key_count,
                            causal_past, out, out_stride, (queries + QUERY_TILE - 1) / QUERY_TILE, 0, memory, memory + rows * head_dim, 0,
                            buffers};
    // Rows past the last key: finite (zero) values, since a masked score's probability 0 multiplies them.
    for (long i = key_count * head_dim; i < rows * head_dim; i++) job.packed_keys[i] = job.packed_values[i] = 0;
    const long tasks = heads / kv_heads * job.query_blocks;
    for (long g = 0; g < kv_heads; g++) {
        job.kv_head = g;
        atomic_store_explicit(&job.next, 0, memory_order_relaxed);
        pool_run(pack_part, &job, key_count >= 256);
        pool_run(flash_part, &job, tasks > 1);
    }
    free(memory);
    return 1;
}
#else
int ckernels_attention(const float *q, long q_stride, long queries, long heads, long kv_heads, long head_dim,
                       const void *keys, const void *values, int kv_format, long kv_stride, long kv_head_stride, long key_count,
                       long causal_past, float *out, long out_stride) {
    (void)q, (void)q_stride, (void)queries, (void)heads, (void)kv_heads, (void)head_dim, (void)keys, (void)values;
    (void)kv_format, (void)kv_stride, (void)kv_head_stride, (void)key_count, (void)causal_past, (void)out, (void)out_stride;
    return 0;
}
#endif
