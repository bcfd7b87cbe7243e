// Matrix products in BF16 (AVX512_BF16 `vdpbf16ps`) and int8 (AVX512_VNNI `vpdpbusd`), with the
// block-quantized int8 and int4 weight formats they read. Chosen at run time from CPUID; the Swift side
// asks ckernels_has_bf16_dot / ckernels_has_int8_dot and keeps its float32 path on other CPUs. The
// quantized kernels also have a portable version, so an int8 or int4 model runs (slowly) anywhere.
#include "CKernels.h"
#include "pool.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// MARK: Scalars

static inline float widen(uint16_t half) {
    union { uint32_t bits; float value; } v = {(uint32_t)half << 16};
    return v.value;
}

/// float32 → BF16, rounding to nearest even (as `vcvtneps2bf16` and torch do); NaN stays NaN.
static inline uint16_t narrow(float value) {
    union { float value; uint32_t bits; } v = {value};
    if ((v.bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((v.bits >> 16) | 0x40);
    return (uint16_t)((v.bits + 0x7fffu + ((v.bits >> 16) & 1)) >> 16);
}

static inline float half_to_float(uint16_t bits) {
    _Float16 h;
    memcpy(&h, &bits, 2);
    return (float)h;
}

static inline uint16_t float_to_half(float value) {
    _Float16 h = (_Float16)value;
    uint16_t bits;
    memcpy(&bits, &h, 2);
    return bits;
}

/// 16 at a time with `vcvtneps2bf16` where the CPU has it; false otherwise.
static int narrow_avx512(const float *source, unsigned short *destination, long n);

void ckernels_narrow_bf16(const float *source, unsigned short *destination, long n) {
    if (narrow_avx512(source, destination, n)) return;
    for (long i = 0; i < n; i++) destination[i] = narrow(source[i]);
}

// MARK: The int8 format

/// Weights per scale, and blocks per interleaved group: a group is 16 blocks of 32 weights stored so
/// that 4-byte lane l of each 64-byte chunk holds 4 weights of block l. One `vpdpbusd` per chunk then
/// adds into each block's own 32-bit lane, and a group's 16 block sums meet their 16 scales in one
/// vector, with no horizontal sums inside the row.
#define Q8_BLOCK 32
#define Q8_GROUP 512

long ckernels_q8_padded_columns(long columns) { return (columns + Q8_GROUP - 1) / Q8_GROUP * Q8_GROUP; }

long ckernels_quantized_row_bytes(int format, long columns) {
    const long padded = ckernels_q8_padded_columns(columns);
    return format == CKERNELS_Q4 ? padded / 2 : padded;
}

/// Byte offset, inside a padded row, of the weight in column `k`.
static inline long q8_offset(long k) {
    const long group = k / Q8_GROUP, within = k % Q8_GROUP, block = within / Q8_BLOCK, element = within % Q8_BLOCK;
    return group * Q8_GROUP + (element / 4) * 64 + block * 4 + element % 4;
}

/// The int4 format packs the int8 order two chunks to a byte: byte i of the row's 64-byte step j of a
/// group holds int8 chunk 2j's byte i in its low nibble and chunk 2j+1's in its high one, so one load,
/// a mask and a shift give two chunks ready for `vpdpbusd`. Nibbles are stored +8.
static inline long q4_offset(long k, int *shift) {
    const long at = q8_offset(k), chunk = (at % Q8_GROUP) / 64;
    *shift = (int)(chunk % 2) * 4;
    return at / Q8_GROUP * (Q8_GROUP / 2) + (chunk / 2) * 64 + at % 64;
}

/// The weight in column `k` of row `r` of an int8 or int4 matrix as an int8 matrix stores it (+128).
static inline int stored_q8(const struct ckernels_matrix *m, long r, long k) {
    const unsigned char *row = (const unsigned char *)m->values + r * ckernels_quantized_row_bytes(m->format, m->cols);
    if (m->format != CKERNELS_Q4) return row[q8_offset(k)];
    int shift;
    const long at = q4_offset(k, &shift);
    return ((row[at] >> shift) & 15) + 120;
}

struct quantize_job {
    const struct ckernels_matrix *source;
    unsigned char *quants;
    unsigned short *scales;
};

/// Block `b` of row `r` of an F32 or BF16 matrix as float32, zeros past the last column.
static inline void block_values(const struct ckernels_matrix *m, long r, long b, float values[Q8_BLOCK]) {
    for (long e = 0; e < Q8_BLOCK; e++) {
        const long k = b * Q8_BLOCK + e;
        values[e] = k >= m->cols ? 0
                    : m->format == CKERNELS_BF16 ? widen(((const uint16_t *)m->values)[r * m->cols + k])
                                                 : ((const float *)m->values)[r * m->cols + k];
    }
}

/// Row `r` of a BF16 matrix with whole blocks, vectorised; false when the CPU or matrix does not allow it.
static int quantize_row_avx512(const struct ckernels_matrix *m, long r, unsigned char *row, unsigned short *scales);

/// Rows of the job's part: each block of 32 gets scale = max|w| / 127 (stored as F16, and the F16 value
/// is the one divided by), weights round(w / scale) + 128. Padding columns are zero with scale zero.
static void quantize_part(void *context, int part, int parts) {
    const struct quantize_job *job = context;
    const struct ckernels_matrix *m = job->source;
    const long padded = ckernels_q8_padded_columns(m->cols), blocks = padded / Q8_BLOCK;
    long first, last;
    pool_slice(m->rows, 1, part, parts, &first, &last);
    for (long r = first; r < last; r++) {
        unsigned char *row = job->quants + r * padded;
        if (quantize_row_avx512(m, r, row, job->scales + r * blocks)) continue;
        for (long b = 0; b < blocks; b++) {
            float values[Q8_BLOCK], peak = 0;
            block_values(m, r, b, values);
            for (long e = 0; e < Q8_BLOCK; e++) peak = fabsf(values[e]) > peak ? fabsf(values[e]) : peak;
            const uint16_t scale = float_to_half(peak / 127);
            job->scales[r * blocks + b] = scale;
            const float inverse = half_to_float(scale) > 0 ? 1 / half_to_float(scale) : 0;
            for (long e = 0; e < Q8_BLOCK; e++) {
                float q = nearbyintf(values[e] * inverse);
                q = q > 127 ? 127 : q < -127 ? -127 : q;
                row[q8_offset(b * Q8_BLOCK + e)] = (unsigned char)((int)q + 128);
            }
        }
    }
}

void ckernels_quantize_q8(const struct ckernels_matrix *source, unsigned char *quants, unsigned short *scales) {
    struct quantize_job job = {source, quants, scales};
    pool_run(quantize_part, &job, source->rows >= 64);
}

/// Rows of the job's part in int4, as llama.cpp's Q4_0 rounds: each block's value of largest magnitude,
/// v, sets scale = v / −8 (F16; the F16 value is the one divided by), so v itself is −8 and the other
/// side reaches +7; weights round(w / scale), clamped to [−8, 7], stored +8.
static void quantize_q4_part(void *context, int part, int parts) {
    const struct quantize_job *job = context;
    const struct ckernels_matrix *m = job->source;
    const long bytes = ckernels_quantized_row_bytes(CKERNELS_Q4, m->cols), blocks = ckernels_q8_padded_columns(m->cols) / Q8_BLOCK;
    long first, last;
    pool_slice(m->rows, 1, part, parts, &first, &last);
    for (long r = first; r < last; r++) {
        unsigned char *row = job->quants + r * bytes;
        memset(row, 0x88, (size_t)bytes); // padding blocks: zero weights
        for (long b = 0; b < blocks; b++) {
            float values[Q8_BLOCK], extreme = 0;
            block_values(m, r, b, values);
            for (long e = 0; e < Q8_BLOCK; e++) extreme = fabsf(values[e]) > fabsf(extreme) ? values[e] : extreme;
            const uint16_t scale = float_to_half(extreme / -8);
            job->scales[r * blocks + b] = scale;
            const float inverse = half_to_float(scale) != 0 ? 1 / half_to_float(scale) : 0;
            for (long e = 0; e < Q8_BLOCK && b * Q8_BLOCK + e < m->cols; e++) {
                float q = nearbyintf(values[e] * inverse);
                q = q > 7 ? 7 : q < -8 ? -8 : q;
                int shift;
                unsigned char *at = row + q4_offset(b * Q8_BLOCK + e, &shift);
                *at = (unsigned char)((*at & ~(15 << shift)) | ((int)q + 8) << shift);
            }
        }
    }
}

void ckernels_quantize_q4(const struct ckernels_matrix *source, unsigned char *quants, unsigned short *scales) {
    struct quantize_job job = {source, quants, scales};
    pool_run(quantize_q4_part, &job, source->rows >= 64);
}

void ckernels_dequantize(const struct ckernels_matrix *m, long first_row, long rows, float *out) {
    const long blocks = ckernels_q8_padded_columns(m->cols) / Q8_BLOCK;
    for (long r = first_row; r < first_row + rows; r++) {
        for (long k = 0; k < m->cols; k++) {
            const float scale = half_to_float(m->scales[r * blocks + k / Q8_BLOCK]);
            out[(r - first_row) * m->cols + k] = (float)(stored_q8(m, r, k) - 128) * scale;
        }
    }
}

/// One activation vector quantized like the weights (scale per block of 32 as float32, same byte
/// order, signed), with 128 · Σq per block: the weights carry +128, which that sum takes back out.
struct q8_activation {
    int8_t *values;
    float *scales;
    int32_t *offsets;
};

/// The whole vector at once with AVX-512 (the same arithmetic as below); false when the CPU or the width
/// does not allow it.
static int quantize_activation_avx512(const float *x, long cols, long padded, struct q8_activation a);

static void quantize_activation(const float *x, long cols, long padded, struct q8_activation a) {
    if (quantize_activation_avx512(x, cols, padded, a)) return;
    for (long b = 0; b < padded / Q8_BLOCK; b++) {
        float peak = 0;
        for (long k = b * Q8_BLOCK; k < (b + 1) * Q8_BLOCK && k < cols; k++) peak = fabsf(x[k]) > peak ? fabsf(x[k]) : peak;
        const float scale = peak / 127, inverse = peak > 0 ? 127 / peak : 0;
        int32_t sum = 0;
        for (long e = 0; e < Q8_BLOCK; e++) {
            const long k = b * Q8_BLOCK + e;
            float q = k < cols ? nearbyintf(x[k] * inverse) : 0;
            q = q > 127 ? 127 : q < -127 ? -127 : q;
            a.values[q8_offset(k)] = (int8_t)q;
            sum += (int32_t)q;
        }
        a.scales[b] = scale;
        a.offsets[b] = 128 * sum;
    }
}

/// Portable int8 or int4 rows [first, last) of `m`: per block, Σ (stored − 128) · q over its 32 weights, scaled.
static void gemv_quantized_portable(const struct ckernels_matrix *m, struct q8_activation a, float *y, long first, long last,
                                    int accumulate) {
    const long padded = ckernels_q8_padded_columns(m->cols), blocks = padded / Q8_BLOCK;
    for (long r = first; r < last; r++) {
        float total = 0;
        for (long b = 0; b < blocks; b++) {
            int32_t sum = 0;
            for (long k = b * Q8_BLOCK; k < (b + 1) * Q8_BLOCK; k++) sum += stored_q8(m, r, k) * a.values[q8_offset(k)];
            total += (float)(sum - a.offsets[b]) * half_to_float(m->scales[r * blocks + b]) * a.scales[b];
        }
        y[r] = accumulate ? y[r] + total : total;
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define AVX512_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

int ckernels_has_bf16_dot(void) {
    static int known = -1;
    if (known < 0)
        known = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
                && __builtin_cpu_supports("avx512bf16");
    return known;
}

int ckernels_has_int8_dot(void) {
    static int known = -1;
    if (known < 0)
        known = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
                && __builtin_cpu_supports("avx512vnni");
    return known;
}

AVX512_VNNI static int quantize_row_avx512(const struct ckernels_matrix *m, long r, unsigned char *row, unsigned short *scales) {
    if (!ckernels_has_int8_dot() || m->format != CKERNELS_BF16 || m->cols % Q8_BLOCK != 0) return 0;
    const long padded = ckernels_q8_padded_columns(m->cols);
    const uint16_t *source = (const uint16_t *)m->values + r * m->cols;
    memset(row, 128, (size_t)padded); // padding blocks: zero weights
    memset(scales, 0, (size_t)(padded / Q8_BLOCK) * 2);
    for (long b = 0; b < m->cols / Q8_BLOCK; b++) {
        const __m512 v0 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(source + b * 32))), 16));
        const __m512 v1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(source + b * 32 + 16))), 16));
        const float peak = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        const uint16_t scale = float_to_half(peak / 127);
        scales[b] = scale;
        const __m512 inverse = _mm512_set1_ps(half_to_float(scale) > 0 ? 1 / half_to_float(scale) : 0);
        const __m512i low = _mm512_set1_epi32(-127), high = _mm512_set1_epi32(127), offset = _mm512_set1_epi32(128);
        const __m512i q0 = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v0, inverse)), low), high), offset);
        const __m512i q1 = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v1, inverse)), low), high), offset);
        uint32_t bytes[8];
        _mm_storeu_si128((__m128i *)bytes, _mm512_cvtepi32_epi8(q0));
        _mm_storeu_si128((__m128i *)(bytes + 4), _mm512_cvtepi32_epi8(q1));
        uint32_t *lanes = (uint32_t *)(row + (b / 16) * Q8_GROUP) + b % 16; // 4 bytes per 64-byte chunk
        for (int c = 0; c < 8; c++) lanes[c * 16] = bytes[c];
    }
    return 1;
}

AVX512_BF16 static int narrow_avx512(const float *source, unsigned short *destination, long n) {
    if (!ckernels_has_bf16_dot()) return 0;
    long i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(destination + i), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(source + i)));
    for (; i < n; i++) destination[i] = narrow(source[i]);
    return 1;
}

AVX512_VNNI static int quantize_activation_avx512(const float *x, long cols, long padded, struct q8_activation a) {
    if (!ckernels_has_int8_dot() || cols % Q8_BLOCK != 0) return 0;
    for (long b = 0; b < padded / Q8_BLOCK; b++) {
        if (b * Q8_BLOCK >= cols) {
            a.scales[b] = 0;
            a.offsets[b] = 0;
            for (int c = 0; c < 8; c++) memset(a.values + (b / 16) * Q8_GROUP + c * 64 + (b % 16) * 4, 0, 4);
            continue;
        }
        const __m512 v0 = _mm512_loadu_ps(x + b * Q8_BLOCK), v1 = _mm512_loadu_ps(x + b * Q8_BLOCK + 16);
        const float peak = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        const __m512 inverse = _mm512_set1_ps(peak > 0 ? 127 / peak : 0);
        const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, inverse)), q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, inverse));
        a.scales[b] = peak / 127;
        a.offsets[b] = 128 * _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
        uint32_t bytes[8];
        _mm_storeu_si128((__m128i *)bytes, _mm512_cvtsepi32_epi8(q0));
        _mm_storeu_si128((__m128i *)(bytes + 4), _mm512_cvtsepi32_epi8(q1));
        uint32_t *lanes = (uint32_t *)(a.values + (b / 16) * Q8_GROUP) + b % 16;
        for (int c = 0; c < 8; c++) lanes[c * 16] = bytes[c];
    }
    return 1;
}

/// Instruction throughput of 16 independent chains of `op`, in iterations per second.
#define PROBE(name, type, zero, op)                                                    \
    static double name(void) {                                                       \
        type acc[16];                                                                \
        for (int i = 0; i < 16; i++) acc[i] = zero;                                  \
        struct timespec start, end;                                                  \
        clock_gettime(CLOCK_MONOTONIC, &start);                                      \
        for (int n = 0; n < 4096; n++)                                               \
            for (int i = 0; i < 16; i++) acc[i] = op;                                \
        clock_gettime(CLOCK_MONOTONIC, &end);                                        \
        float sum = 0;                                                               \
        for (int i = 0; i < 16; i++) sum += ((float *)&acc[i])[0];                   \
        probe_sink = sum;                                                            \
        return 4096.0 * 16 / ((end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) * 1e-9); \
    }
static volatile float probe_sink;
AVX512_BF16 PROBE(dpbf16_rate, __m512, _mm512_setzero_ps(),
                  _mm512_dpbf16_ps(acc[i], (__m512bh)_mm512_set1_epi32(0x3f803f80), (__m512bh)_mm512_set1_epi32(0x3c003c00)))
AVX512_BF16 PROBE(fma_rate, __m512, _mm512_setzero_ps(), _mm512_fmadd_ps(acc[i], _mm512_set1_ps(0.5f), _mm512_set1_ps(1e-3f)))

/// Whether `vdpbf16ps` outruns float32 FMA here: it does twice an FMA's multiplications, but some CPUs
/// (Sapphire Rapids under KVM here: a quarter of the FMA rate) issue it so slowly that OpenBLAS's
/// float32 sgemm is the faster prefill. Timed once (best of three, about 0.1 ms each), since CPUID
/// does not tell.
int ckernels_bf16_gemm_pays(void) {
    static int known = -1;
    if (known < 0) {
        double dot = 0, fma = 0;
        if (ckernels_has_bf16_dot())
            for (int round = 0; round < 3; round++) {
                const double d = dpbf16_rate(), f = fma_rate();
                dot = d > dot ? d : dot;
                fma = f > fma ? f : fma;
            }
        known = ckernels_has_bf16_dot() && 2 * dot > 1.2 * fma;
    }
    return known;
}

/// Decode streams every weight once per token from memory. Four rows are read side by side, four
/// short streams of one row each, which the hardware prefetcher picks up too late to keep the memory
/// busy; so while one block of four rows is multiplied, the next block (the bytes right after it) is
/// requested in order, one 256-byte step per step of the product.
static inline void prefetch_step(const void *next_block, long step) {
    const char *at = (const char *)next_block + step * 256;
    _mm_prefetch(at, _MM_HINT_T0);
    _mm_prefetch(at + 64, _MM_HINT_T0);
    _mm_prefetch(at + 128, _MM_HINT_T0);
    _mm_prefetch(at + 192, _MM_HINT_T0);
}

/// One group's block sums of four int8 rows (`w`, rows `stride` bytes apart): eight `vpdpbusd` per row,
/// each into the row's vector of 16 block sums.
AVX512_VNNI static inline void q8_group_sums(const unsigned char *w, long stride, const int8_t *x, long g, __m512i sums[4]) {
    const long at = g * Q8_GROUP;
    for (int c = 0; c < 8; c++) {
        prefetch_step(w + 4 * stride, g * 8 + c);
        const __m512i xv = _mm512_loadu_si512(x + at + c * 64);
        for (int i = 0; i < 4; i++) sums[i] = _mm512_dpbusd_epi32(sums[i], _mm512_loadu_si512(w + i * stride + at + c * 64), xv);
    }
}

/// The same for four int4 rows, which stream half the bytes: four 64-byte loads a row, each split by a
/// mask and a shift into the two chunks it packs.
AVX512_VNNI static inline void q4_group_sums(const unsigned char *w, long stride, const int8_t *x, long g, __m512i sums[4]) {
    const __m512i low = _mm512_set1_epi8(15);
    const long at = g * (Q8_GROUP / 2);
    for (int j = 0; j < 4; j++) {
        prefetch_step(w + 4 * stride, g * 4 + j);
        const __m512i x0 = _mm512_loadu_si512(x + g * Q8_GROUP + 2 * j * 64), x1 = _mm512_loadu_si512(x + g * Q8_GROUP + (2 * j + 1) * 64);
        for (int i = 0; i < 4; i++) {
            const __m512i packed = _mm512_loadu_si512(w + i * stride + at + j * 64);
            sums[i] = _mm512_dpbusd_epi32(sums[i], _mm512_and_si512(packed, low), x0);
            sums[i] = _mm512_dpbusd_epi32(sums[i], _mm512_and_si512(_mm512_srli_epi16(packed, 4), low), x1);
        }
    }
}

/// Rows [first, last) of an int8 or int4 matrix, four at a time, so each load of the activations serves
/// four rows; per group of 512 weights, the rows' 16 block sums, then one FMA with their 16 scales.
AVX512_VNNI static void gemv_quantized_vnni(const struct ckernels_matrix *m, struct q8_activation a, float *y, long first, long last,
                                            int accumulate) {
    const int int4 = m->format == CKERNELS_Q4;
    const long stride = ckernels_quantized_row_bytes(m->format, m->cols), padded = ckernels_q8_padded_columns(m->cols);
    const long groups = padded / Q8_GROUP, blocks = padded / Q8_BLOCK;
    long r = first;
    for (; r + 4 <= last; r += 4) {
        const unsigned char *w = (const unsigned char *)m->values + r * stride;
        const unsigned short *s = m->scales + r * blocks;
        __m512 f[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        for (long g = 0; g < groups; g++) {
            __m512i sums[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
            if (int4) q4_group_sums(w, stride, a.values, g, sums); else q8_group_sums(w, stride, a.values, g, sums);
            // The weights carry +128 (int8) or +8 (int4): 128 · Σq of the block, or a sixteenth of it, comes back out.
            __m512i offsets = _mm512_loadu_si512(a.offsets + g * 16);
            if (int4) offsets = _mm512_srai_epi32(offsets, 4);
            const __m512 xs = _mm512_loadu_ps(a.scales + g * 16);
            for (int i = 0; i < 4; i++) {
                const __m512 scales = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(s + i * blocks + g * 16))), xs);
                f[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(sums[i], offsets)), scales, f[i]);
            }
        }
        for (int i = 0; i < 4; i++) {
            const float total = _mm512_reduce_add_ps(f[i]);
            y[r + i] = accumulate ? y[r + i] + total : total;
        }
    }
    if (r < last) gemv_quantized_portable(m, a, y, r, last, accumulate);
}

/// `y[r] (+)= Σ_k w[r·cols + k] · x[k]` with x rounded to BF16: 32 products per `vdpbf16ps`, four
/// rows at a time; the tail of a row (cols not a multiple of 32) through masked loads.
AVX512_BF16 static void gemv_bf16_dot(const unsigned short *w, const unsigned short *x, float *y, long rows, long cols,
                                      int accumulate) {
    const long whole = cols & ~31L;
    const __mmask32 tail = (__mmask32)((1ull << (cols - whole)) - 1);
    const __m512bh xt = (__m512bh)_mm512_maskz_loadu_epi16(tail, x + whole);
    long r = 0;
    for (; r + 4 <= rows; r += 4) {
        const unsigned short *w0 = w + r * cols, *w1 = w0 + cols, *w2 = w1 + cols, *w3 = w2 + cols;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (long k = 0; k < whole; k += 32) {
            prefetch_step(w0 + 4 * cols, k / 32);
            const __m512bh xv = (__m512bh)_mm512_loadu_si512(x + k);
            a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_loadu_si512(w0 + k), xv);
            a1 = _mm512_dpbf16_ps(a1, (__m512bh)_mm512_loadu_si512(w1 + k), xv);
            a2 = _mm512_dpbf16_ps(a2, (__m512bh)_mm512_loadu_si512(w2 + k), xv);
            a3 = _mm512_dpbf16_ps(a3, (__m512bh)_mm512_loadu_si512(w3 + k), xv);
        }
        if (tail) {
            a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_maskz_loadu_epi16(tail, w0 + whole), xt);
            a1 = _mm512_dpbf16_ps(a1, (__m512bh)_mm512_maskz_loadu_epi16(tail, w1 + whole), xt);
            a2 = _mm512_dpbf16_ps(a2, (__m512bh)_mm512_maskz_loadu_epi16(tail, w2 + whole), xt);
            a3 = _mm512_dpbf16_ps(a3, (__m512bh)_mm512_maskz_loadu_epi16(tail, w3 + whole), xt);
        }
        float s0 = _mm512_reduce_add_ps(a0), s1 = _mm512_reduce_add_ps(a1), s2 = _mm512_reduce_add_ps(a2), s3 = _mm512_reduce_add_ps(a3);
        if (accumulate) { s0 += y[r]; s1 += y[r + 1]; s2 += y[r + 2]; s3 += y[r + 3]; }
        y[r] = s0; y[r + 1] = s1; y[r + 2] = s2; y[r + 3] = s3;
    }
    for (; r < rows; r++) {
        const unsigned short *row = w + r * cols;
        __m512 a0 = _mm512_setzero_ps();
        for (long k = 0; k < whole; k += 32)
            a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_loadu_si512(row + k), (__m512bh)_mm512_loadu_si512(x + k));
        if (tail) a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_maskz_loadu_epi16(tail, row + whole), xt);
        const float s = _mm512_reduce_add_ps(a0);
        y[r] = accumulate ? y[r] + s : s;
    }
}

// MARK: BF16 matrix product (prefill, vision tower)

/// Register tile: MR rows of activations × NR output features, 24 accumulators of 16 floats. The
/// panels hold BF16 pairs (two consecutive products' operands in 32 bits), as `vdpbf16ps` reads them.
#define MR 12
#define NR 32
/// Pairs per K block (B's micro-panel, NR × KC_PAIRS × 4 bytes = 16 KB, stays in L1) and output
/// features per packed B block (128 KB, in L2).
#define KC_PAIRS 128
#define NC 256

/// Position of pair `p` of the product's pair order in the matrix's columns: the matrix's byte order
/// for int8 (whose panels are filled straight from its interleaved bytes), else the identity.
static inline long source_pair(const struct ckernels_matrix *m, long p) {
    if (m->format != CKERNELS_Q8) return p;
    const long group = p / (Q8_GROUP / 2), within = p % (Q8_GROUP / 2);
    const long chunk = within / 32, lane = (within / 2) % 16, half = within % 2;
    return group * (Q8_GROUP / 2) + lane * 16 + chunk * 2 + half;
}

/// Pairs in the product's pair order: the padded width for int8, else the columns rounded up to even.
static inline long pair_count(const struct ckernels_matrix *m) {
    return m->format == CKERNELS_Q8 ? ckernels_q8_padded_columns(m->cols) / 2 : (m->cols + 1) / 2;
}

/// Row `r` of `m`, pairs [first, first + count) in the product's pair order, as BF16 pairs.
AVX512_BF16 static void pairs_of_row(const struct ckernels_matrix *m, long r, long first, long count, uint32_t *out) {
    if (m->format == CKERNELS_Q8) {
        const long padded = ckernels_q8_padded_columns(m->cols);
        const unsigned char *bytes = (const unsigned char *)m->values + r * padded + 2 * first;
        const unsigned short *scales = m->scales + r * (padded / Q8_BLOCK);
        for (long i = 0; i < 2 * count; i += 16) {
            // 16 bytes: four 4-byte lanes of one chunk, lanes l..l+3 of the group.
            const long at = 2 * first + i, group = at / Q8_GROUP, lane = (at % 64) / 4;
            const __m512 scale = _mm512_permutexvar_ps(
                _mm512_add_epi32(_mm512_set1_epi32((int)lane), _mm512_srli_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), 2)),
                _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(scales + group * 16))));
            const __m512i q = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(bytes + i))), _mm512_set1_epi32(128));
            const __m256bh narrowed = _mm512_cvtneps_pbh(_mm512_mul_ps(_mm512_cvtepi32_ps(q), scale));
            _mm256_storeu_si256((__m256i *)(out + i / 2), (__m256i)narrowed);
        }
        return;
    }
    if (m->format == CKERNELS_BF16 && m->cols % 2 == 0) {
        memcpy(out, (const uint16_t *)m->values + r * m->cols + 2 * first, (size_t)count * 4);
        return;
    }
    for (long p = 0; p < count; p++) {
        uint16_t pair[2] = {0, 0};
        for (int h = 0; h < 2; h++) {
            const long k = 2 * (first + p) + h;
            if (k >= m->cols) continue;
            pair[h] = m->format == CKERNELS_BF16 ? ((const uint16_t *)m->values)[r * m->cols + k]
                                                 : narrow(((const float *)m->values)[r * m->cols + k]);
        }
        out[p] = (uint32_t)pair[0] | (uint32_t)pair[1] << 16;
    }
}

struct gemm_job {
    const struct ckernels_matrix *w;
    const float *x;
    float *y;
    long n, pairs, groups;
    int accumulate;
    uint32_t *a; // [groups][pairs][MR]
};

/// Activations to BF16 pairs, MR rows interleaved per pair, in the weight's pair order.
static void pack_activations_part(void *context, int part, int parts) {
    const struct gemm_job *job = context;
    const struct ckernels_matrix *m = job->w;
    long first, last;
    pool_slice(job->groups, 1, part, parts, &first, &last);
    uint16_t *row = malloc((size_t)job->pairs * 4);
    for (long g = first; g < last; g++) {
        uint32_t *panel = job->a + g * job->pairs * MR;
        for (int r = 0; r < MR; r++) {
            const long i = g * MR + r;
            if (i >= job->n) {
                for (long p = 0; p < job->pairs; p++) panel[p * MR + r] = 0;
                continue;
            }
            for (long k = 0; k < 2 * job->pairs; k++) row[k] = k < m->cols ? narrow(job->x[i * m->cols + k]) : 0;
            const uint32_t *pairs = (const uint32_t *)row;
            for (long p = 0; p < job->pairs; p++) panel[p * MR + r] = pairs[source_pair(m, p)];
        }
    }
    free(row);
}

/// C[rows, NR] (+)= A-panel · B-panel over `count` pairs; only `rows` × `cols` of the tile are real.
AVX512_BF16 static void tile(const uint32_t *a, const uint32_t *b, long count, float *c, long ldc, int rows, int cols, int load) {
    __m512 acc[MR][2];
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (long p = 0; p < count; p++) {
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + p * NR), b1 = (__m512bh)_mm512_loadu_si512(b + p * NR + 16);
        for (int r = 0; r < MR; r++) {
            const __m512bh broadcast = (__m512bh)_mm512_set1_epi32((int)a[p * MR + r]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], broadcast, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], broadcast, b1);
        }
    }
    const __mmask16 m0 = (__mmask16)(cols >= 16 ? 0xffff : (1u << cols) - 1);
    const __mmask16 m1 = (__mmask16)(cols >= 32 ? 0xffff : cols <= 16 ? 0 : (1u << (cols - 16)) - 1);
    for (int r = 0; r < MR; r++) { // a constant trip count keeps the accumulators in registers
        if (r >= rows) break;
        float *out = c + r * ldc;
        if (load) {
            acc[r][0] = _mm512_add_ps(acc[r][0], _mm512_maskz_loadu_ps(m0, out));
            acc[r][1] = _mm512_add_ps(acc[r][1], _mm512_maskz_loadu_ps(m1, out + 16));
        }
        _mm512_mask_storeu_ps(out, m0, acc[r][0]);
        _mm512_mask_storeu_ps(out + 16, m1, acc[r][1]);
    }
}

/// Output features of the part, NC at a time: each K block of B packed once (NR features interleaved
/// per pair), then every row group of A against each NR-wide micro-panel.
static void gemm_part(void *context, int part, int parts) {
    const struct gemm_job *job = context;
    const struct ckernels_matrix *m = job->w;
    long first, last;
    pool_slice(m->rows, NR, part, parts, &first, &last);
    uint32_t *b = malloc((size_t)NC * KC_PAIRS * 4);
    uint32_t *row = malloc((size_t)KC_PAIRS * 4);
    for (long jc = first; jc < last; jc += NC) {
        const long width = last - jc < NC ? last - jc : NC;
        for (long pc = 0; pc < job->pairs; pc += KC_PAIRS) {
            const long depth = job->pairs - pc < KC_PAIRS ? job->pairs - pc : KC_PAIRS;
            for (long j = 0; j < (width + NR - 1) / NR * NR; j++) {
                uint32_t *panel = b + (j / NR) * NR * depth + j % NR;
                if (j < width) pairs_of_row(m, jc + j, pc, depth, row); else memset(row, 0, (size_t)depth * 4);
                for (long p = 0; p < depth; p++) panel[p * NR] = row[p];
            }
            const int load = job->accumulate || pc > 0;
            for (long jr = 0; jr < width; jr += NR) {
                const int cols = (int)(width - jr < NR ? width - jr : NR);
                for (long g = 0; g < job->groups; g++) {
                    const int rows = (int)(job->n - g * MR < MR ? job->n - g * MR : MR);
                    tile(job->a + (g * job->pairs + pc) * MR, b + (jr / NR) * NR * depth, depth, job->y + g * MR * m->rows + jc + jr,
                         m->rows, rows, cols, load);
                }
            }
        }
    }
    free(row);
    free(b);
}

int ckernels_gemm_bf16(const struct ckernels_matrix *w, const float *x, long n, float *y, int accumulate) {
    if (!ckernels_has_bf16_dot() || w->format == CKERNELS_Q4 || n <= 0) return 0;
    struct gemm_job job = {w, x, y, n, pair_count(w), (n + MR - 1) / MR, accumulate, 0};
    job.a = malloc((size_t)job.groups * job.pairs * MR * 4);
    if (!job.a) return 0;
    pool_run(pack_activations_part, &job, job.groups > 1);
    pool_run(gemm_part, &job, w->rows >= 2 * NR);
    free(job.a);
    return 1;
}
// MARK: int8 matrix product (prefill with int8 weights)

/// Register tile of the int8 product: MR8 rows × NR output features; per block of 32 the int32 sums
/// (started at −128 · Σq of the row's block, which takes the weights' +128 back out) meet both scales.
#define MR8 6

struct gemm_q8_job {
    const struct ckernels_matrix *w;
    const float *x;
    float *y;
    long n, blocks, groups;
    int accumulate;
    uint32_t *a;      // [groups][blocks][8 chunks][MR8]: 4 activations (int8) per entry
    float *a_scales;  // [groups][blocks][MR8]
    int32_t *a_start; // [groups][blocks][MR8]: −128 · Σq
    long features_per_part;
};

/// Each row's blocks of 32 quantized (scale max|x| / 127), four consecutive values per 32-bit entry,
/// MR8 rows interleaved.
AVX512_VNNI static void pack_q8_activations_part(void *context, int part, int parts) {
    const struct gemm_q8_job *job = context;
    const long cols = job->w->cols;
    long first, last;
    pool_slice(job->groups, 1, part, parts, &first, &last);
    for (long g = first; g < last; g++) {
        for (int r = 0; r < MR8; r++) {
            const long i = g * MR8 + r;
            for (long b = 0; b < job->blocks; b++) {
                const long at = (g * job->blocks + b) * MR8 + r;
                uint32_t *entries = job->a + ((g * job->blocks + b) * 8) * MR8 + r;
                const long k = b * Q8_BLOCK, valid = i >= job->n || k >= cols ? 0 : cols - k < Q8_BLOCK ? cols - k : Q8_BLOCK;
                const __mmask16 m0 = (__mmask16)(valid >= 16 ? 0xffff : (1u << valid) - 1);
                const __mmask16 m1 = (__mmask16)(valid >= 32 ? 0xffff : valid <= 16 ? 0 : (1u << (valid - 16)) - 1);
                const float *row = job->x + i * cols + k;
                const __m512 v0 = _mm512_maskz_loadu_ps(m0, valid ? row : job->x), v1 = _mm512_maskz_loadu_ps(m1, valid > 16 ? row + 16 : job->x);
                const float peak = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
                const __m512 inverse = _mm512_set1_ps(peak > 0 ? 127 / peak : 0);
                const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, inverse)), q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, inverse));
                job->a_scales[at] = peak / 127;
                job->a_start[at] = -128 * _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
                uint32_t bytes[8];
                _mm_storeu_si128((__m128i *)bytes, _mm512_cvtsepi32_epi8(q0));
                _mm_storeu_si128((__m128i *)(bytes + 4), _mm512_cvtsepi32_epi8(q1));
                for (int c = 0; c < 8; c++) entries[c * MR8] = bytes[c];
            }
        }
    }
}

/// C[rows, NR] (+)= the int8 product of row group `g` of A and a B micro-panel over all of K.
AVX512_VNNI static void tile_q8(const struct gemm_q8_job *job, long g, const uint32_t *bq, const float *bs, float *c, long ldc,
                                int rows, int cols) {
    __m512 f[MR8][2];
    for (int r = 0; r < MR8; r++) f[r][0] = f[r][1] = _mm512_setzero_ps();
    for (long b = 0; b < job->blocks; b++) {
        const long block = g * job->blocks + b;
        const uint32_t *a = job->a + block * 8 * MR8;
        __m512i acc[MR8][2];
        for (int r = 0; r < MR8; r++) acc[r][0] = acc[r][1] = _mm512_set1_epi32(job->a_start[block * MR8 + r]);
        for (int k = 0; k < 8; k++) {
            const __m512i w0 = _mm512_loadu_si512(bq + (b * 8 + k) * NR), w1 = _mm512_loadu_si512(bq + (b * 8 + k) * NR + 16);
            for (int r = 0; r < MR8; r++) {
                const __m512i x = _mm512_set1_epi32((int)a[k * MR8 + r]);
                acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], w0, x);
                acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], w1, x);
            }
        }
        const __m512 s0 = _mm512_loadu_ps(bs + b * NR), s1 = _mm512_loadu_ps(bs + b * NR + 16);
        for (int r = 0; r < MR8; r++) {
            const __m512 xs = _mm512_set1_ps(job->a_scales[block * MR8 + r]);
            f[r][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][0]), _mm512_mul_ps(s0, xs), f[r][0]);
            f[r][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][1]), _mm512_mul_ps(s1, xs), f[r][1]);
        }
    }
    const __mmask16 m0 = (__mmask16)(cols >= 16 ? 0xffff : (1u << cols) - 1);
    const __mmask16 m1 = (__mmask16)(cols >= 32 ? 0xffff : cols <= 16 ? 0 : (1u << (cols - 16)) - 1);
    for (int r = 0; r < MR8; r++) {
        if (r >= rows) break;
        float *out = c + r * ldc;
        if (job->accumulate) {
            f[r][0] = _mm512_add_ps(f[r][0], _mm512_maskz_loadu_ps(m0, out));
            f[r][1] = _mm512_add_ps(f[r][1], _mm512_maskz_loadu_ps(m1, out + 16));
        }
        _mm512_mask_storeu_ps(out, m0, f[r][0]);
        _mm512_mask_storeu_ps(out + 16, m1, f[r][1]);
    }
}

/// Four weights of row `r` as an int8 matrix stores them (+128): chunk `k`, lane `lane` of group `group`,
/// read from an int8 row or unpacked from an int4 one.
static inline uint32_t q8_lane(const struct ckernels_matrix *m, long r, long group, int k, long lane) {
    const unsigned char *row = (const unsigned char *)m->values + r * ckernels_quantized_row_bytes(m->format, m->cols);
    uint32_t bytes;
    if (m->format != CKERNELS_Q4) {
        memcpy(&bytes, row + group * Q8_GROUP + k * 64 + lane * 4, 4);
        return bytes;
    }
    memcpy(&bytes, row + group * (Q8_GROUP / 2) + (k / 2) * 64 + lane * 4, 4);
    return ((bytes >> (k % 2 * 4)) & 0x0f0f0f0fu) + 0x78787878u; // nibble + 120 = (nibble − 8) + 128
}

/// One block of output features per part (as many as keep their packed weights, all of K, within
/// about 1 MB of L2): the weights' 4-byte lanes regrouped so NR features sit side by side per block
/// and chunk, their scales widened to float; then each row group of A against each NR-wide
/// micro-panel over the whole of K, so every tile of C is written once and never read back.
AVX512_VNNI static void gemm_q8_part(void *context, int part, int parts) {
    (void)parts;
    const struct gemm_q8_job *job = context;
    const struct ckernels_matrix *m = job->w;
    const long depth = job->blocks;
    const long jc = part * job->features_per_part, width = m->rows - jc < job->features_per_part ? m->rows - jc : job->features_per_part;
    const long panels = (width + NR - 1) / NR;
    uint32_t *bq = malloc((size_t)panels * NR * depth * 8 * 4);
    float *bs = malloc((size_t)panels * NR * depth * 4);
    if (!bq || !bs) abort(); // about a megabyte; a part cannot be left undone, and the product has begun
    for (long j = 0; j < panels * NR; j++) {
        uint32_t *panel = bq + (j / NR) * NR * depth * 8 + j % NR;
        float *scales = bs + (j / NR) * NR * depth + j % NR;
        for (long block = 0; block < depth; block++) {
            const long group = block / 16, lane = block % 16;
            for (int k = 0; k < 8; k++) panel[(block * 8 + k) * NR] = j < width ? q8_lane(m, jc + j, group, k, lane) : 0x80808080u;
            scales[block * NR] = j < width ? half_to_float(m->scales[(jc + j) * depth + block]) : 0;
        }
    }
    for (long g = 0; g < job->groups; g++) {
        const int rows = (int)(job->n - g * MR8 < MR8 ? job->n - g * MR8 : MR8);
        for (long jr = 0; jr < width; jr += NR) {
            const int cols = (int)(width - jr < NR ? width - jr : NR);
            tile_q8(job, g, bq + (jr / NR) * NR * depth * 8, bs + (jr / NR) * NR * depth, job->y + g * MR8 * m->rows + jc + jr,
                    m->rows, rows, cols);
        }
    }
    free(bs);
    free(bq);
}

/// Output features per part of a product over `rows` features: whole NR-wide panels, at most `fit`, and
/// the parts shared as evenly as the threads take them (one after another, each the next part): with
/// the largest parts that fit, a 1024 × 1024 matrix was 896 features against 128 and the vision tower's
/// products kept one core idle a tenth of the time.
static long balanced_part(long rows, long fit, int threads) {
    const long fewest = (rows + fit - 1) / fit;
    long best = fit, best_load = -1;
    for (long parts = (fewest + threads - 1) / threads * threads; parts <= 4 * fewest + threads; parts += threads) {
        const long per = ((rows + parts - 1) / parts + NR - 1) / NR * NR;
        long load = 0; // features of the busiest thread when part p goes to thread p % threads
        for (int t = 0; t < threads; t++) {
            long mine = 0;
            for (long p = t; p * per < rows; p += threads) mine += rows - p * per < per ? rows - p * per : per;
            load = mine > load ? mine : load;
        }
        if (best_load < 0 || load < best_load) best = per, best_load = load;
    }
    return best;
}

int ckernels_gemm_q8(const struct ckernels_matrix *w, const float *x, long n, float *y, int accumulate) {
    if (!ckernels_has_int8_dot() || (w->format != CKERNELS_Q8 && w->format != CKERNELS_Q4) || n <= 0) return 0;
    const long blocks = ckernels_q8_padded_columns(w->cols) / Q8_BLOCK, groups = (n + MR8 - 1) / MR8;
    // Packed weights of one part: within about 1 MB, whole NR-wide panels.
    const long fit = (1L << 20) / (ckernels_q8_padded_columns(w->cols) + 4 * blocks) / NR * NR;
    struct gemm_q8_job job = {w, x, y, n, blocks, groups, accumulate, 0, 0, 0, balanced_part(w->rows, fit < NR ? NR : fit, pool_threads())};
    job.a = malloc((size_t)groups * blocks * 8 * MR8 * 4);
    job.a_scales = malloc((size_t)groups * blocks * MR8 * 4);
    job.a_start = malloc((size_t)groups * blocks * MR8 * 4);
    const int ok = job.a && job.a_scales && job.a_start;
    if (ok) {
        pool_run(pack_q8_activations_part, &job, groups > 1);
        pool_run_parts(gemm_q8_part, &job, (int)((w->rows + job.features_per_part - 1) / job.features_per_part));
    }
    free(job.a);
    free(job.a_scales);
    free(job.a_start);
    return ok;
}
#else
int ckernels_has_bf16_dot(void) { return 0; }
int ckernels_has_int8_dot(void) { return 0; }
int ckernels_bf16_gemm_pays(void) { return 0; }
static int quantize_row_avx512(const struct ckernels_matrix *m, long r, unsigned char *row, unsigned short *scales) {
    (void)m; (void)r; (void)row; (void)scales;
    return 0;
}
static int quantize_activation_avx512(const float *x, long cols, long padded, struct q8_activation a) {
    (void)x; (void)cols; (void)padded; (void)a;
    return 0;
}
static int narrow_avx512(const float *source, unsigned short *destination, long n) {
    (void)source; (void)destination; (void)n;
    return 0;
}
int ckernels_gemm_bf16(const struct ckernels_matrix *w, const float *x, long n, float *y, int accumulate) {
    (void)w; (void)x; (void)n; (void)y; (void)accumulate;
    return 0;
}
int ckernels_gemm_q8(const struct ckernels_matrix *w, const float *x, long n, float *y, int accumulate) {
    (void)w; (void)x; (void)n; (void)y; (void)accumulate;
    return 0;
}
#endif

// MARK: Matrix-vector products (decode)

/// Below this many weights, waking a helper costs more than it saves.
#define PARALLEL_WEIGHTS (1L << 17)
/// Weights per claimed part of a product: small enough that the cores finish together (a part is a
/// few tens of microseconds), large enough that claiming one costs nothing.
#ifndef PART_WEIGHTS
#define PART_WEIGHTS (1L << 20)
#endif

struct gemv_job {
    const struct ckernels_matrix *w; // `count` matrices of one format and width, their rows in sequence
    long count, rows;
    const void *x; // BF16 activations for BF16 matrices, quantized ones for int8
    struct q8_activation q;
    float *const *y;
    int accumulate;
};

/// Rows [first, last) of one matrix into its own output.
static void gemv_rows(const struct gemv_job *job, const struct ckernels_matrix *m, float *y, long first, long last) {
    if (m->format == CKERNELS_Q8 || m->format == CKERNELS_Q4) {
#if defined(__x86_64__)
        if (ckernels_has_int8_dot()) {
            gemv_quantized_vnni(m, job->q, y, first, last, job->accumulate);
            return;
        }
#endif
        gemv_quantized_portable(m, job->q, y, first, last, job->accumulate);
        return;
    }
#if defined(__x86_64__)
    gemv_bf16_dot((const unsigned short *)m->values + first * m->cols, job->x, y + first, last - first, m->cols, job->accumulate);
#endif
}

/// The part's rows of the stacked matrices, each piece into its own matrix's output.
static void gemv_part(void *context, int part, int parts) {
    const struct gemv_job *job = context;
    long first, last;
    pool_slice(job->rows, 4, part, parts, &first, &last);
    long start = 0; // the first stacked row of matrix i
    for (long i = 0; i < job->count && start < last; start += job->w[i].rows, i++) {
        const long from = first > start ? first - start : 0, to = last - start < job->w[i].rows ? last - start : job->w[i].rows;
        if (from < to) gemv_rows(job, &job->w[i], job->y[i], from, to);
    }
}

int ckernels_gemv_many(const struct ckernels_matrix *w, long count, const float *x, float *const *y, int accumulate) {
    struct gemv_job job = {w, count, 0, 0, {0, 0, 0}, y, accumulate};
    for (long i = 0; i < count; i++) {
        if (w[i].format != w[0].format || w[i].cols != w[0].cols) return 0;
        job.rows += w[i].rows;
    }
    const long weights = job.rows * w[0].cols;
    long parts = weights < PARALLEL_WEIGHTS || job.rows < 16 ? 1 : (weights + PART_WEIGHTS - 1) / PART_WEIGHTS;
    if (parts > 1 && parts < pool_threads()) parts = pool_threads();
    if (parts > job.rows / 4) parts = job.rows / 4 > 0 ? job.rows / 4 : 1;
    if (w[0].format == CKERNELS_Q8 || w[0].format == CKERNELS_Q4) {
        const long padded = ckernels_q8_padded_columns(w[0].cols), blocks = padded / Q8_BLOCK;
        int8_t values[padded];
        float scales[blocks];
        int32_t offsets[blocks];
        job.q = (struct q8_activation){values, scales, offsets};
        quantize_activation(x, w[0].cols, padded, job.q);
        pool_run_parts(gemv_part, &job, (int)parts);
        return 1;
    }
    if (w[0].format != CKERNELS_BF16 || !ckernels_has_bf16_dot()) return 0;
    unsigned short narrowed[w[0].cols];
    ckernels_narrow_bf16(x, narrowed, w[0].cols);
    job.x = narrowed;
    pool_run_parts(gemv_part, &job, (int)parts);
    return 1;
}

int ckernels_gemv(const struct ckernels_matrix *w, const float *x, float *y, int accumulate) {
    return ckernels_gemv_many(w, 1, x, &y, accumulate);
}
