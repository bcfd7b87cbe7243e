// One layer's attention, four ways, on the same random inputs: the fused kernel (ckernels_attention, on
// the engine's own threads) in float32, with integer products (bf16 precision's vision tower, where
// the CPU has AVX512_VNNI) and with BF16 products against BF16 keys and values (bf16 precision's
// decoder, where the CPU has AVX512_BF16), and the per-head path it replaced in the engine (blocks of 256 queries:
// sgemm for the scores, ckernels_softmax_rows, sgemm for scores · V). Prints the CPU seconds of each (process CPU
// time, which other work on the machine does not inflate), median of --repeats, and the largest
// difference of each fused output from the per-head one. Built and run by scripts/benchmark-attention.
#include "CKernels.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: attention QUERIES CAUSAL_PAST(-1: full) HEADS KV_HEADS HEAD_DIM REPEATS\n");
        return 64;
    }
    const long n = atol(argv[1]), past = atol(argv[2]), heads = atol(argv[3]), kv_heads = atol(argv[4]), hd = atol(argv[5]);
    const int repeats = atoi(argv[6]);
    const long keys = past >= 0 ? past + n : n, q_stride = heads * hd, kv_stride = kv_heads * hd, block = 256;
    float *q = malloc(sizeof(float) * n * q_stride), *k = malloc(sizeof(float) * keys * kv_stride);
    float *v = malloc(sizeof(float) * keys * kv_stride), *fused = malloc(sizeof(float) * n * q_stride);
    float *integer = malloc(sizeof(float) * n * q_stride), *bf16 = malloc(sizeof(float) * n * q_stride);
    unsigned short *k16 = malloc(sizeof(unsigned short) * keys * kv_stride), *v16 = malloc(sizeof(unsigned short) * keys * kv_stride);
    float *reference = malloc(sizeof(float) * n * q_stride), *scores = malloc(sizeof(float) * block * keys);
    srand(1);
    for (long i = 0; i < n * q_stride; i++) q[i] = (float)rand() / (float)RAND_MAX * 2 - 1;
    for (long i = 0; i < keys * kv_stride; i++) k[i] = (float)rand() / (float)RAND_MAX * 2 - 1, v[i] = (float)rand() / (float)RAND_MAX * 2 - 1;
    ckernels_narrow_bf16(k, k16, keys * kv_stride);
    ckernels_narrow_bf16(v, v16, keys * kv_stride);
    double fused_times[repeats], integer_times[repeats], bf16_times[repeats], blas_times[repeats];
    for (int r = 0; r < repeats; r++) {
        double start = cpu_seconds();
        ckernels_attention(q, q_stride, n, heads, kv_heads, hd, k, v, CKERNELS_F32, kv_stride, hd, keys, past, fused, q_stride,
                           CKERNELS_PRODUCTS_F32);
        fused_times[r] = cpu_seconds() - start;
        start = cpu_seconds();
        ckernels_attention(q, q_stride, n, heads, kv_heads, hd, k, v, CKERNELS_F32, kv_stride, hd, keys, past, integer, q_stride,
                           CKERNELS_PRODUCTS_INTEGER);
        integer_times[r] = cpu_seconds() - start;
        start = cpu_seconds();
        ckernels_attention(q, q_stride, n, heads, kv_heads, hd, k16, v16, CKERNELS_BF16, kv_stride, hd, keys, past, bf16, q_stride,
                           CKERNELS_PRODUCTS_BF16);
        bf16_times[r] = cpu_seconds() - start;
        start = cpu_seconds();
        for (long h = 0; h < heads; h++) {
            const long g = h / (heads / kv_heads);
            for (long first = 0; first < n; first += block) {
                const long m = n - first < block ? n - first : block, visible = past >= 0 ? past + first + m : keys;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)visible, (int)hd, 1 / sqrtf((float)hd), q + first * q_stride + h * hd,
                            (int)q_stride, k + g * hd, (int)kv_stride, 0, scores, (int)visible);
                ckernels_softmax_rows(scores, m, visible, past >= 0);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)hd, (int)visible, 1, scores, (int)visible, v + g * hd,
                            (int)kv_stride, 0, reference + first * q_stride + h * hd, (int)q_stride);
            }
        }
        blas_times[r] = cpu_seconds() - start;
    }
    double largest = 0, integer_largest = 0, bf16_largest = 0;
    for (long i = 0; i < n * q_stride; i++) {
        largest = fmax(largest, fabs((double)fused[i] - reference[i]));
        integer_largest = fmax(integer_largest, fabs((double)integer[i] - reference[i]));
        bf16_largest = fmax(bf16_largest, fabs((double)bf16[i] - reference[i]));
    }
    qsort(fused_times, (size_t)repeats, sizeof(double), by_value);
    qsort(integer_times, (size_t)repeats, sizeof(double), by_value);
    qsort(bf16_times, (size_t)repeats, sizeof(double), by_value);
    qsort(blas_times, (size_t)repeats, sizeof(double), by_value);
    const double flops = 4.0 * (double)heads * (double)hd * (past >= 0 ? (double)n * ((double)past + (double)(n + 1) / 2) : (double)n * (double)n);
    const double f = fused_times[repeats / 2], g = integer_times[repeats / 2], h = bf16_times[repeats / 2], b = blas_times[repeats / 2];
    printf("%ld queries, %s, %ld/%ld heads of %ld:\n"
           "  fused, float32    %.3f CPU-s (%3.0f GFLOP per CPU-s), max |diff| %.1e\n"
           "  fused, integer    %.3f CPU-s (%3.0f), max |diff| %.1e, %.2f x the float32 fused time\n"
           "  fused, BF16       %.3f CPU-s (%3.0f), max |diff| %.1e, %.2f x the float32 fused time (keys and values rounded to BF16)\n"
           "  sgemm + softmax   %.3f CPU-s (%3.0f), the float32 fused time %.2f x this\n",
           n, past >= 0 ? "causal" : "full", heads, kv_heads, hd, f, flops / f * 1e-9, largest, g, flops / g * 1e-9, integer_largest, g / f,
           h, flops / h * 1e-9, bf16_largest, h / f, b, flops / b * 1e-9, f / b);
    return 0;
}
