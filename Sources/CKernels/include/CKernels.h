#ifndef CKERNELS_H
#define CKERNELS_H

/// Element-wise float kernels of the engine's hot loops, vectorised with AVX2 and FMA when the CPU has
/// them (checked at run time) and plain C with libm otherwise: Swift cannot emit those instructions on
/// baseline x86-64, and these loops run billions of times per screenshot.

/// Softmax of `row[0..<n]` in place: exp(x − max) / Σ.
void ckernels_softmax(float *row, long n);

/// GELU, tanh form (`gelu_pytorch_tanh`): x · sigmoid(2·√(2/π)·(x + 0.044715·x³)), which equals
/// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) without its cancellation for negative x.
void ckernels_gelu_tanh(float *x, long n);

/// SwiGLU's gate: `gate[i] = silu(gate[i]) · up[i]` with silu(g) = g / (1 + exp(−g)).
void ckernels_silu_mul(float *gate, const float *up, long n);

/// BF16 (the top half of an IEEE float32) to float32.
void ckernels_widen_bf16(const unsigned short *source, float *destination, long n);

/// `y[r] (+)= Σ_k widen(w[r·cols + k]) · x[k]` for `rows` BF16 rows: a matrix-vector product that
/// widens as it goes, so the weights stream from memory once at half the bytes of float32, its rows
/// split over every core (this library's own helper threads; concurrent callers are safe). Returns 0
/// without touching `y` when the CPU lacks AVX2/FMA (the caller widens and uses BLAS instead).
int ckernels_gemv_bf16(const unsigned short *w, const float *x, float *y, long rows, long cols, int accumulate);

#endif
