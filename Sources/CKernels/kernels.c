#include "CKernels.h"
#include "pool.h"

#include <math.h>
#include <stdint.h>

// MARK: Portable versions (also the tails of the vector loops)

static void softmax_scalar(float *row, long n) {
    float peak = -INFINITY;
    for (long i = 0; i < n; i++) peak = row[i] > peak ? row[i] : peak;
    float total = 0;
    for (long i = 0; i < n; i++) {
        row[i] = expf(row[i] - peak);
        total += row[i];
    }
    const float inverse = 1 / total;
    for (long i = 0; i < n; i++) row[i] *= inverse;
}

static inline float gelu_tanh_one(float x) {
    const float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
    return x / (1 + expf(-2 * u));
}

static inline float silu_one(float g) { return g / (1 + expf(-g)); }

static inline float widen_one(unsigned short half) {
    union { uint32_t bits; float value; } v = {(uint32_t)half << 16};
    return v.value;
}

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))

/// exp for 8 floats: Cephes' range reduction (x = n·ln2 + r, ln2 split in two) and degree-5
/// polynomial, 2ⁿ built in the exponent bits; inputs clamped to ±88.38, where float32 ends.
AVX2 static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-88.3762626647949f)), _mm256_set1_ps(88.3762626647949f));
    __m256 n = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
    x = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1)));
    // n ≥ −127 after the clamp; 2^−127 has a zero exponent field, which reads as 0.
    __m256i power = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(power));
}

AVX2 static inline float sum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static inline float max8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

AVX2 static void softmax_avx2(float *row, long n) {
    long i = 0;
    __m256 peaks = _mm256_set1_ps(-INFINITY);
    for (; i + 8 <= n; i += 8) peaks = _mm256_max_ps(peaks, _mm256_loadu_ps(row + i));
    float peak = max8(peaks);
    for (; i < n; i++) peak = row[i] > peak ? row[i] : peak;
    const __m256 shift = _mm256_set1_ps(peak);
    __m256 totals = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(row + i), shift));
        _mm256_storeu_ps(row + i, e);
        totals = _mm256_add_ps(totals, e);
    }
    float total = sum8(totals);
    for (; i < n; i++) {
        row[i] = expf(row[i] - peak);
        total += row[i];
    }
    const float inverse = 1 / total;
    const __m256 scale = _mm256_set1_ps(inverse);
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(row + i, _mm256_mul_ps(_mm256_loadu_ps(row + i), scale));
    for (; i < n; i++) row[i] *= inverse;
}

AVX2 static void gelu_tanh_avx2(float *x, long n) {
    const __m256 k = _mm256_set1_ps(-2 * 0.7978845608028654f), c = _mm256_set1_ps(0.044715f), one = _mm256_set1_ps(1);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 inner = _mm256_fmadd_ps(_mm256_mul_ps(c, v), _mm256_mul_ps(v, v), v); // x + 0.044715·x³
        _mm256_storeu_ps(x + i, _mm256_div_ps(v, _mm256_add_ps(one, exp8(_mm256_mul_ps(k, inner)))));
    }
    for (; i < n; i++) x[i] = gelu_tanh_one(x[i]);
}

AVX2 static void silu_mul_avx2(float *gate, const float *up, long n) {
    const __m256 one = _mm256_set1_ps(1), minus = _mm256_set1_ps(-1);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 g = _mm256_loadu_ps(gate + i);
        __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, exp8(_mm256_mul_ps(minus, g))));
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++) gate[i] = silu_one(gate[i]) * up[i];
}

/// Σ x (second = 0) or Σ (x − mean)² (second = 1) of one row, eight partial sums at a time.
AVX2 static float moment_avx2(const float *x, long n, float mean, int second) {
    __m256 a = _mm256_setzero_ps();
    const __m256 m = _mm256_set1_ps(mean);
    long j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256 v = _mm256_loadu_ps(x + j), d = _mm256_sub_ps(v, m);
        a = second ? _mm256_fmadd_ps(d, d, a) : _mm256_add_ps(a, v);
    }
    float s = sum8(a);
    for (; j < n; j++) s += second ? (x[j] - mean) * (x[j] - mean) : x[j];
    return s;
}

AVX2 static void widen_bf16_avx2(const unsigned short *source, float *destination, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i halves = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(source + i)));
        _mm256_storeu_ps(destination + i, _mm256_castsi256_ps(_mm256_slli_epi32(halves, 16)));
    }
    for (; i < n; i++) destination[i] = widen_one(source[i]);
}

AVX2 static inline __m256 widen8(const unsigned short *source) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)source)), 16));
}

/// Four rows at a time, so each load of x serves four rows.
AVX2 static void gemv_bf16_avx2(const unsigned short *w, const float *x, float *y, long rows, long cols, int accumulate) {
    const long vector_cols = cols & ~7L;
    long r = 0;
    for (; r + 4 <= rows; r += 4) {
        const unsigned short *w0 = w + r * cols, *w1 = w0 + cols, *w2 = w1 + cols, *w3 = w2 + cols;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
        for (long k = 0; k < vector_cols; k += 8) {
            const __m256 xv = _mm256_loadu_ps(x + k);
            a0 = _mm256_fmadd_ps(widen8(w0 + k), xv, a0);
            a1 = _mm256_fmadd_ps(widen8(w1 + k), xv, a1);
            a2 = _mm256_fmadd_ps(widen8(w2 + k), xv, a2);
            a3 = _mm256_fmadd_ps(widen8(w3 + k), xv, a3);
        }
        float s0 = sum8(a0), s1 = sum8(a1), s2 = sum8(a2), s3 = sum8(a3);
        for (long k = vector_cols; k < cols; k++) {
            s0 += widen_one(w0[k]) * x[k];
            s1 += widen_one(w1[k]) * x[k];
            s2 += widen_one(w2[k]) * x[k];
            s3 += widen_one(w3[k]) * x[k];
        }
        if (accumulate) { s0 += y[r]; s1 += y[r + 1]; s2 += y[r + 2]; s3 += y[r + 3]; }
        y[r] = s0; y[r + 1] = s1; y[r + 2] = s2; y[r + 3] = s3;
    }
    for (; r < rows; r++) {
        const unsigned short *row = w + r * cols;
        __m256 a = _mm256_setzero_ps();
        for (long k = 0; k < vector_cols; k += 8) a = _mm256_fmadd_ps(widen8(row + k), _mm256_loadu_ps(x + k), a);
        float s = sum8(a);
        for (long k = vector_cols; k < cols; k++) s += widen_one(row[k]) * x[k];
        y[r] = accumulate ? y[r] + s : s;
    }
}

static int has_avx2(void) {
    static int known = -1;
    if (known < 0) known = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return known;
}

#define DISPATCH(vector, ...) \
    if (has_avx2()) {         \
        vector(__VA_ARGS__);  \
        return;               \
    }
#define DISPATCH_RETURN(vector, ...) \
    if (has_avx2()) return vector(__VA_ARGS__);
#else
#define DISPATCH(vector, ...)
#define DISPATCH_RETURN(vector, ...)
#endif

// MARK: Entry points

/// Below this many floats, an element-wise or row-wise job runs on the calling thread alone: waking a
/// helper costs more than it saves.
#define SPLIT_MINIMUM (1L << 15)

void ckernels_softmax(float *row, long n) {
    DISPATCH(softmax_avx2, row, n)
    softmax_scalar(row, n);
}

struct softmax_rows_job {
    float *scores;
    long rows, width;
    int causal;
};

static void softmax_rows_part(void *context, int part, int parts) {
    const struct softmax_rows_job *job = context;
    long first, last;
    pool_slice(job->rows, 1, part, parts, &first, &last);
    for (long r = first; r < last; r++) {
        float *row = job->scores + r * job->width;
        const long seen = job->causal ? job->width - (job->rows - 1 - r) : job->width;
        ckernels_softmax(row, seen);
        for (long t = seen; t < job->width; t++) row[t] = 0;
    }
}

void ckernels_softmax_rows(float *scores, long rows, long width, int causal) {
    struct softmax_rows_job job = {scores, rows, width, causal};
    pool_run(softmax_rows_part, &job, rows > 1 && rows * width >= SPLIT_MINIMUM);
}

/// An element-wise job split over the cores: `slice(x + first, y + first, count)` on each part's
/// items (`y` unused by one-operand slices).
struct elements_job {
    void (*slice)(float *x, const float *y, long n);
    float *x;
    const float *y;
    long n;
};

static void elements_part(void *context, int part, int parts) {
    const struct elements_job *job = context;
    long first, last;
    pool_slice(job->n, 16, part, parts, &first, &last);
    job->slice(job->x + first, job->y ? job->y + first : 0, last - first);
}

static void run_elements(void (*slice)(float *, const float *, long), float *x, const float *y, long n) {
    struct elements_job job = {slice, x, y, n};
    pool_run(elements_part, &job, n >= SPLIT_MINIMUM);
}

static void gelu_tanh_slice(float *x, const float *unused, long n) {
    (void)unused;
    DISPATCH(gelu_tanh_avx2, x, n)
    for (long i = 0; i < n; i++) x[i] = gelu_tanh_one(x[i]);
}

void ckernels_gelu_tanh(float *x, long n) { run_elements(gelu_tanh_slice, x, 0, n); }

static void silu_mul_slice(float *gate, const float *up, long n) {
    DISPATCH(silu_mul_avx2, gate, up, n)
    for (long i = 0; i < n; i++) gate[i] = silu_one(gate[i]) * up[i];
}

void ckernels_silu_mul(float *gate, const float *up, long n) { run_elements(silu_mul_slice, gate, up, n); }

static void add_slice(float *x, const float *y, long n) {
    for (long i = 0; i < n; i++) x[i] += y[i];
}

void ckernels_add(float *x, const float *y, long n) { run_elements(add_slice, x, y, n); }

#if defined(__x86_64__)
struct gemv_bf16_job {
    const unsigned short *w;
    const float *x;
    float *y;
    long rows, cols;
    int accumulate;
};

static void gemv_bf16_part(void *context, int part, int parts) {
    const struct gemv_bf16_job *job = context;
    long first, last;
    pool_slice(job->rows, 4, part, parts, &first, &last);
    gemv_bf16_avx2(job->w + first * job->cols, job->x, job->y + first, last - first, job->cols, job->accumulate);
}
#endif

/// Below this many weights (256 KB of BF16), waking a helper costs more than it saves.
#define PARALLEL_MINIMUM (1L << 17)

int ckernels_gemv_bf16(const unsigned short *w, const float *x, float *y, long rows, long cols, int accumulate) {
#if defined(__x86_64__)
    if (has_avx2()) {
        struct gemv_bf16_job job = {w, x, y, rows, cols, accumulate};
        pool_run(gemv_bf16_part, &job, rows * cols >= PARALLEL_MINIMUM && rows >= 16);
        return 1;
    }
#endif
    (void)w; (void)x; (void)y; (void)rows; (void)cols; (void)accumulate;
    return 0;
}

void ckernels_widen_bf16(const unsigned short *source, float *destination, long n) {
    DISPATCH(widen_bf16_avx2, source, destination, n)
    for (long i = 0; i < n; i++) destination[i] = widen_one(source[i]);
}

// MARK: Row-wise kernels

// LayerNorm and RMSNorm, a bias added to every row and the rotary embedding, each split over the
// cores by rows (a row is always one thread's, so the result does not depend on the split).

/// Σ x (second = 0) or Σ (x − mean)² (second = 1) of one row.
static float moment(const float *x, long n, float mean, int second) {
    DISPATCH_RETURN(moment_avx2, x, n, mean, second)
    float s = 0;
    for (long j = 0; j < n; j++) s += second ? (x[j] - mean) * (x[j] - mean) : x[j];
    return s;
}

struct rows_job {
    const float *x, *weight, *bias, *cos, *sin;
    float *out;
    long rows, width, stride, heads, head_dim;
    float eps;
    int centred;
};

/// LayerNorm (`centred`: less the mean, then weight and bias) or RMSNorm (weight only) of the part's rows.
static void norm_part(void *context, int part, int parts) {
    const struct rows_job *job = context;
    const long n = job->width;
    long first, last;
    pool_slice(job->rows, 1, part, parts, &first, &last);
    for (long r = first; r < last; r++) {
        const float *x = job->x + r * n;
        float *out = job->out + r * n;
        const float mean = job->centred ? moment(x, n, 0, 0) / (float)n : 0;
        const float scale = 1 / sqrtf(moment(x, n, mean, 1) / (float)n + job->eps);
        if (job->centred)
            for (long j = 0; j < n; j++) out[j] = (x[j] - mean) * scale * job->weight[j] + job->bias[j];
        else
            for (long j = 0; j < n; j++) out[j] = job->weight[j] * (x[j] * scale);
    }
}

void ckernels_layer_norm(const float *x, const float *weight, const float *bias, long rows, long width, float eps, float *out) {
    struct rows_job job = {.x = x, .weight = weight, .bias = bias, .out = out, .rows = rows, .width = width, .eps = eps, .centred = 1};
    pool_run(norm_part, &job, rows > 1 && rows * width >= SPLIT_MINIMUM);
}

void ckernels_rms_norm(const float *x, const float *weight, long rows, long width, float eps, float *out) {
    struct rows_job job = {.x = x, .weight = weight, .out = out, .rows = rows, .width = width, .eps = eps};
    pool_run(norm_part, &job, rows > 1 && rows * width >= SPLIT_MINIMUM);
}

static void add_bias_part(void *context, int part, int parts) {
    const struct rows_job *job = context;
    long first, last;
    pool_slice(job->rows, 1, part, parts, &first, &last);
    for (long r = first; r < last; r++) {
        float *row = job->out + r * job->width;
        for (long j = 0; j < job->width; j++) row[j] += job->bias[j];
    }
}

void ckernels_add_bias(float *x, const float *bias, long rows, long width) {
    struct rows_job job = {.bias = bias, .out = x, .rows = rows, .width = width};
    pool_run(add_bias_part, &job, rows > 1 && rows * width >= SPLIT_MINIMUM);
}

static void rotate_half_part(void *context, int part, int parts) {
    const struct rows_job *job = context;
    const long hd = job->head_dim, half = hd / 2;
    long first, last;
    pool_slice(job->rows, 1, part, parts, &first, &last);
    for (long r = first; r < last; r++) {
        const float *cos = job->cos + r * hd, *sin = job->sin + r * hd;
        for (long h = 0; h < job->heads; h++) {
            float *x = job->out + r * job->stride + h * hd;
            for (long i = 0; i < half; i++) {
                const float a = x[i], b = x[half + i];
                x[i] = a * cos[i] - b * sin[i];
                x[half + i] = b * cos[half + i] + a * sin[half + i];
            }
        }
    }
}

void ckernels_rotate_half(float *x, long rows, long stride, long heads, long head_dim, const float *cos, const float *sin) {
    struct rows_job job = {.cos = cos, .sin = sin, .out = x, .rows = rows, .stride = stride, .heads = heads, .head_dim = head_dim};
    pool_run(rotate_half_part, &job, rows > 1 && rows * heads * head_dim >= SPLIT_MINIMUM);
}
