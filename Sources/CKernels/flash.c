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
#define QUERY_TILE 64
#define KEY_TILE 64
#define MAX_HEAD_DIM 256

struct flash_job {
    const float *q;
    long q_stride, queries, heads, kv_heads, head_dim;
    const void *keys, *values;
    int kv_format;
    long kv_stride, key_count, causal_past;
    float *out;
    long out_stride;
    long query_blocks, tasks;
    _Atomic long next;
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

/// `rows` rows of `head_dim` values (BF16 widened, float32 copied) from `stride` apart into `tile`,
/// and zeros up to the next multiple of 8 rows.
AVX512 static void load_tile(const void *source, int format, long stride, long rows, long head_dim, float *tile) {
    for (long r = 0; r < rows; r++) {
        float *row = tile + r * head_dim;
        if (format == CKERNELS_BF16) {
            const unsigned short *from = (const unsigned short *)source + r * stride;
            for (long d = 0; d < head_dim; d += 16) {
                __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(from + d)));
                _mm512_storeu_ps(row + d, _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16)));
            }
        } else {
            const float *from = (const float *)source + r * stride;
            for (long d = 0; d < head_dim; d += 16) _mm512_storeu_ps(row + d, _mm512_loadu_ps(from + d));
        }
    }
    for (long r = rows; r < ((rows + 7) & ~7L); r++)
        for (long d = 0; d < head_dim; d++) tile[r * head_dim + d] = 0;
}

/// One task: QUERY_TILE queries of one head against every key they see.
AVX512 static void flash_task(const struct flash_job *job, long task, float *buffer) {
    const long hd = job->head_dim, block = job->query_blocks - 1 - task / job->heads; // the longest (causal) blocks first
    const long head = task % job->heads, kv_head = head / (job->heads / job->kv_heads);
    const long first = block * QUERY_TILE, rows = job->queries - first < QUERY_TILE ? job->queries - first : QUERY_TILE;
    const long size = job->kv_format == CKERNELS_BF16 ? 2 : 4;
    const int causal = job->causal_past >= 0;
    const long visible = causal ? job->causal_past + first + rows : job->key_count; // keys the block's last query sees
    float *queries = buffer, *output = queries + hd * QUERY_TILE, *scores = output + hd * QUERY_TILE;
    float *keys = scores + KEY_TILE * QUERY_TILE, *values = keys + KEY_TILE * hd;
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
        const long offset = start * job->kv_stride + kv_head * hd;
        load_tile((const char *)job->keys + offset * size, job->kv_format, job->kv_stride, count, hd, keys);
        load_tile((const char *)job->values + offset * size, job->kv_format, job->kv_stride, count, hd, values);
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

/// One part per thread, each with its own tiles, claiming tasks until none is left.
AVX512 static void flash_part(void *context, int part, int parts) {
    (void)part, (void)parts;
    struct flash_job *job = context;
    const long hd = job->head_dim;
    float *buffer = aligned_alloc(64, (size_t)(2 * hd * QUERY_TILE + KEY_TILE * QUERY_TILE + 2 * KEY_TILE * hd) * sizeof(float));
    for (long task; (task = atomic_fetch_add_explicit(&job->next, 1, memory_order_relaxed)) < job->tasks;) flash_task(job, task, buffer);
    free(buffer);
}

int ckernels_attention(const float *q, long q_stride, long queries, long heads, long kv_heads, long head_dim,
                       const void *keys, const void *values, int kv_format, long kv_stride, long key_count, long causal_past,
                       float *out, long out_stride) {
    static int known = -1;
    if (known < 0) known = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    if (!known || head_dim % 16 != 0 || head_dim > MAX_HEAD_DIM || heads % kv_heads != 0 || queries < 1
        || (kv_format != CKERNELS_F32 && kv_format != CKERNELS_BF16))
        return 0;
    const long blocks = (queries + QUERY_TILE - 1) / QUERY_TILE;
    struct flash_job job = {q, q_stride, queries, heads, kv_heads, head_dim, keys, values, kv_format, kv_stride, key_count,
                            causal_past, out, out_stride, blocks, blocks * heads, 0};
    pool_run(flash_part, &job, job.tasks > 1);
    return 1;
}
#else
int ckernels_attention(const float *q, long q_stride, long queries, long heads, long kv_heads, long head_dim,
                       const void *keys, const void *values, int kv_format, long kv_stride, long key_count, long causal_past,
                       float *out, long out_stride) {
    (void)q, (void)q_stride, (void)queries, (void)heads, (void)kv_heads, (void)head_dim, (void)keys, (void)values;
    (void)kv_format, (void)kv_stride, (void)key_count, (void)causal_past, (void)out, (void)out_stride;
    return 0;
}
#endif
