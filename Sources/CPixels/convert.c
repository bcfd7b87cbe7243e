#include "CPixels.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("ssse3")))
static void bgrx_to_rgb_rows_ssse3(const unsigned char *src, long stride, unsigned char *dst, long width, long y0, long y1) {
    // Four pixels per step: B G R X ×4 → R G B ×4 in the low 12 bytes.
    const __m128i mask = _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
    for (long y = y0; y < y1; y++) {
        const unsigned char *s = src + y * stride;
        unsigned char *d = dst + y * width * 3;
        long x = 0;
        for (; x + 6 <= width; x += 4) { // the 16-byte store at 3x must end inside the row
            __m128i v = _mm_loadu_si128((const __m128i *)(s + 4 * x));
            _mm_storeu_si128((__m128i *)(d + 3 * x), _mm_shuffle_epi8(v, mask));
        }
        for (; x < width; x++) {
            d[3 * x] = s[4 * x + 2];
            d[3 * x + 1] = s[4 * x + 1];
            d[3 * x + 2] = s[4 * x];
        }
    }
}

int cpixels_bgrx_to_rgb_rows(const unsigned char *src, long stride, unsigned char *dst, long width, long y0, long y1) {
    if (!__builtin_cpu_supports("ssse3")) return 0;
    bgrx_to_rgb_rows_ssse3(src, stride, dst, width, y0, y1);
    return 1;
}
#else
int cpixels_bgrx_to_rgb_rows(const unsigned char *src, long stride, unsigned char *dst, long width, long y0, long y1) {
    (void)src; (void)stride; (void)dst; (void)width; (void)y0; (void)y1;
    return 0;
}
#endif
