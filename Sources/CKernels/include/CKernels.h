#ifndef CKERNELS_H
#define CKERNELS_H

/// Kernels of the engine's hot loops. Element-wise float kernels, vectorised with AVX2 and FMA when the CPU has
/// them (checked at run time) and plain C with libm otherwise: Swift cannot emit those instructions on
/// baseline x86-64, and these loops run billions of times per screenshot.

/// Softmax of `row[0..<n]` in place: exp(x − max) / Σ.
void ckernels_softmax(float *row, long n);

/// Softmax of each of `rows` rows of `width` scores, on every core. With `causal`, row r keeps only its
/// first `width − (rows − 1 − r)` entries (the others become 0): the rows are consecutive queries whose
/// last one sees all `width` keys.
void ckernels_softmax_rows(float *scores, long rows, long width, int causal);

/// GELU, tanh form (`gelu_pytorch_tanh`): x · sigmoid(2·√(2/π)·(x + 0.044715·x³)), which equals
/// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) without its cancellation for negative x. On every core.
void ckernels_gelu_tanh(float *x, long n);

// MARK: Row-wise kernels (the vision tower's blocks, the decoder's norms): on every core, a row on one thread

/// LayerNorm of each of `rows` rows of `width`: `out = (x − mean) / √(variance + eps) · weight + bias`.
void ckernels_layer_norm(const float *x, const float *weight, const float *bias, long rows, long width, float eps, float *out);

/// RMSNorm of each of `rows` rows of `width`: `out = weight · (x / √(mean(x²) + eps))`; `out` may be `x`.
void ckernels_rms_norm(const float *x, const float *weight, long rows, long width, float eps, float *out);

/// `x[r·width + j] += bias[j]` for every row r.
void ckernels_add_bias(float *x, const float *bias, long rows, long width);

/// `x[i] += y[i]` for i < n.
void ckernels_add(float *x, const float *y, long n);

/// Rotary embedding, rotate-half form, of `heads` consecutive heads of `head_dim` in each of `rows` rows
/// (row r's first head at `x + r·stride`): with half = head_dim / 2, element i < half becomes
/// `x[i]·cos[i] − x[half + i]·sin[i]` and element half + i becomes `x[half + i]·cos[half + i] + x[i]·sin[half + i]`,
/// where cos and sin are row r's `head_dim` values (`cos + r·head_dim`).
void ckernels_rotate_half(float *x, long rows, long stride, long heads, long head_dim, const float *cos, const float *sin);

/// SwiGLU's gate: `gate[i] = silu(gate[i]) · up[i]` with silu(g) = g / (1 + exp(−g)). On every core.
void ckernels_silu_mul(float *gate, const float *up, long n);

/// BF16 (the top half of an IEEE float32) to float32.
void ckernels_widen_bf16(const unsigned short *source, float *destination, long n);

/// `y[r] (+)= Σ_k widen(w[r·cols + k]) · x[k]` for `rows` BF16 rows: a matrix-vector product that
/// widens as it goes, so the weights stream from memory once at half the bytes of float32, its rows
/// split over every core (this library's own helper threads; concurrent callers are safe). Returns 0
/// without touching `y` when the CPU lacks AVX2/FMA (the caller widens and uses BLAS instead).
int ckernels_gemv_bf16(const unsigned short *w, const float *x, float *y, long rows, long cols, int accumulate);

// MARK: Matrices in BF16 and int8

/// How a matrix's values are stored.
#define CKERNELS_F32 0
#define CKERNELS_BF16 1
/// Block-quantized int8 (see ckernels_quantize_q8): `values` holds rows × ckernels_q8_padded_columns(cols)
/// bytes, `scales` one F16 scale per 32 of them.
#define CKERNELS_Q8 2
/// Block-quantized int4 (see ckernels_quantize_q4): `values` holds rows × ckernels_quantized_row_bytes bytes
/// (half of int8's), `scales` one F16 scale per 32 weights as for int8.
#define CKERNELS_Q4 3

/// A row-major [rows, cols] weight matrix in PyTorch's Linear layout (one output feature per row).
struct ckernels_matrix {
    int format;
    const void *values;
    const unsigned short *scales;
    long rows, cols;
};

/// Whether this CPU has AVX512_BF16 (`vdpbf16ps`) and AVX512_VNNI (`vpdpbusd`), which the fast kernels need.
int ckernels_has_bf16_dot(void);
int ckernels_has_int8_dot(void);

/// Whether the BF16 matrix product (`vdpbf16ps`) beats float32 FMA on this CPU, timed once: where it
/// does not, BF16 precision multiplies many rows in float32 instead.
int ckernels_bf16_gemm_pays(void);

/// Bytes per row of an int8 matrix: cols rounded up to the 512-weight groups the kernels read.
long ckernels_q8_padded_columns(long cols);

/// Quantizes an F32 or BF16 matrix into blocks of 32 weights with one F16 scale (max |w| / 127), like
/// llama.cpp's Q8_0, into `quants` (rows × padded columns bytes, stored +128 in an interleaved order)
/// and `scales` (rows × padded columns / 32), on every core.
void ckernels_quantize_q8(const struct ckernels_matrix *source, unsigned char *quants, unsigned short *scales);

/// Bytes per row of an int8 or int4 matrix (`format` CKERNELS_Q8 or CKERNELS_Q4).
long ckernels_quantized_row_bytes(int format, long cols);

/// Quantizes an F32 or BF16 matrix into blocks of 32 weights of 4 bits with one F16 scale, rounded as
/// llama.cpp's Q4_0 rounds (the block's largest-magnitude weight is −8 · scale), into `quants` (rows ×
/// ckernels_quantized_row_bytes bytes, nibbles +8, packed in the int8 order two chunks to a byte) and
/// `scales` (as for int8), on every core.
void ckernels_quantize_q4(const struct ckernels_matrix *source, unsigned char *quants, unsigned short *scales);

/// Rows [first_row, first_row + rows) of an int8 or int4 matrix as float32, `cols` per row, into `out`.
void ckernels_dequantize(const struct ckernels_matrix *m, long first_row, long rows, float *out);

/// `y (+)= W · x` for one activation vector, on every core: a BF16 matrix with x rounded to BF16
/// (`vdpbf16ps`, float32 sums), an int8 or int4 matrix with x quantized per block of 32 (`vpdpbusd`, or
/// plain C without AVX512_VNNI). Returns 0 without touching `y` for other formats or a BF16 matrix on a CPU
/// without AVX512_BF16.
int ckernels_gemv(const struct ckernels_matrix *w, const float *x, float *y, int accumulate);

/// `y[i] (+)= W[i] · x` for `count` matrices of one format and width that read the same vector (a
/// layer's q/k/v, its gate and up): x rounded or quantized once, and all their rows split over the
/// cores as one job. Returns 0 without touching any `y[i]` where ckernels_gemv would, or when the
/// matrices differ in format or width.
int ckernels_gemv_many(const struct ckernels_matrix *w, long count, const float *x, float *const *y, int accumulate);

/// `y[n, rows] (+)= x[n, cols] · Wᵀ` with x rounded to BF16 and float32 sums (`vdpbf16ps` over packed
/// blocks, on every core), for an F32, BF16 or int8 matrix. Returns 0 without touching `y` for an int4
/// matrix or on a CPU without AVX512_BF16.
int ckernels_gemm_bf16(const struct ckernels_matrix *w, const float *x, long n, float *y, int accumulate);

/// `y[n, rows] (+)= x[n, cols] · Wᵀ` for an int8 or int4 matrix, x quantized per row and block of 32 like
/// int8 weights (`vpdpbusd`, float32 sums across blocks, on every core; int4 weights unpacked to int8 as
/// they are packed). Returns 0 without touching `y` for another format or a CPU without AVX512_VNNI.
int ckernels_gemm_q8(const struct ckernels_matrix *w, const float *x, long n, float *y, int accumulate);

/// How `ckernels_attention` multiplies (and, for BF16, how `ckernels_attend_bf16` rounds).
#define CKERNELS_PRODUCTS_F32 0
#define CKERNELS_PRODUCTS_INTEGER 1
#define CKERNELS_PRODUCTS_BF16 2

/// Attention of one new token: `out[h] = softmax(q[h] · Kᵀ / √head_dim) · V` for each of `heads` query
/// heads, head h reading KV head h / (heads / kv_heads), against `count` BF16 keys and values: position t
/// of KV head g at `g·head_stride + t·stride` elements; float32 math, on every core. With `products`
/// CKERNELS_PRODUCTS_BF16 (and AVX-512) it rounds as `ckernels_attention`'s BF16 products do, so a token
/// gets the same output alone as in a prefill: the query and each tile's probabilities to BF16.
void ckernels_attend_bf16(const float *q, long heads, long kv_heads, long head_dim, const unsigned short *keys,
                          const unsigned short *values, long stride, long head_stride, long count, float *out, int products);

/// Attention of `queries` query rows at once, fused: `out[i, h] = softmax(q[i, h] · Kᵀ / √head_dim) · V` for
/// each of `heads` heads, head h reading KV head h / (heads / kv_heads), through tiles of queries against
/// tiles of keys with a running softmax (no score matrix), float32 math, on every core. Query row i of
/// head h is at `q + i·q_stride + h·head_dim`, its output at `out + i·out_stride + h·head_dim`; key and
/// value j of KV head g at `g·kv_head_stride + j·kv_stride` elements, float32 or BF16 (`kv_format`). With
/// `causal_past` ≥ 0, query i sees keys [0, causal_past + i]; with −1, all `key_count`. Returns 0 without
/// touching `out` on a CPU without AVX-512, or a head_dim that is not a multiple of 16 up to 256.
/// `products`: CKERNELS_PRODUCTS_F32 multiplies in float32. CKERNELS_PRODUCTS_INTEGER (with AVX512_VNNI)
/// takes scores from queries and keys rounded to int8 (each query and each key, less the keys' mean,
/// with its own scale; `vpdpbusd`) and weighted sums from probabilities as 12-bit integers of each
/// tile's largest and values rounded to 14 bits per head dimension (`vpdpwssd`). CKERNELS_PRODUCTS_BF16
/// (with AVX512_BF16 and BF16 keys and values) rounds each query and each tile's probabilities to BF16
/// and multiplies with `vdpbf16ps`; every query's output depends only on its own row and the keys it
/// sees, never on the other queries of the call. Otherwise the products are float32. The softmax stays float32.
int ckernels_attention(const float *q, long q_stride, long queries, long heads, long kv_heads, long head_dim,
                       const void *keys, const void *values, int kv_format, long kv_stride, long kv_head_stride, long key_count,
                       long causal_past, float *out, long out_stride, int products);

/// Float32 to BF16, rounding to nearest even.
void ckernels_narrow_bf16(const float *source, unsigned short *destination, long n);

#endif
