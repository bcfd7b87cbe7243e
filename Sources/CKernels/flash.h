// What single-token decode attention shares with the fused kernel's BF16 products, so that a token's
// output is the same whether it comes alone or in a prefill.
#ifndef CKERNELS_FLASH_H
#define CKERNELS_FLASH_H

#include <stdint.h>
#include <string.h>

/// `x` rounded to the nearest BF16 (ties to even), as its 16 bits: what both kernels do to a query
/// before multiplying it with BF16 keys. For finite values, the same as ckernels_narrow_bf16.
static inline uint16_t flash_bf16_bits(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    return (uint16_t)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
}

/// One query's `count` scores, in powers of 2 (q · k / √head_dim · log2 e, computed as
/// `q · k * (1 / sqrtf(head_dim) * (float)M_LOG2E)`), turned in place into the weights the fused kernel's
/// BF16 products give its values: tile by tile of keys against the running maximum, each probability
/// rounded to BF16, each tile then rescaled by the later maxima, all divided by their sum. Needs AVX-512.
void flash_bf16_probabilities(float *scores, long count);

#endif
