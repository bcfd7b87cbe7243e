// C shim for libpng's simplified API (`png_image_*`), which reports errors as values, not longjmp.
#ifndef CPNG_SHIM_H
#define CPNG_SHIM_H
#include <png.h>

static const png_uint_32 cpng_format_rgb = PNG_FORMAT_RGB;
static const png_uint_32 cpng_format_rgba = PNG_FORMAT_RGBA;
static const png_uint_32 cpng_image_version = PNG_IMAGE_VERSION;
static const png_uint_32 cpng_flag_fast = PNG_IMAGE_FLAG_FAST;

/// `PNG_IMAGE_ROW_STRIDE`, a macro: bytes per row for the image's current format.
static inline png_int_32 cpng_row_stride(const png_image *image) { return PNG_IMAGE_ROW_STRIDE(*image); }
/// `PNG_IMAGE_FAILED`, a macro.
static inline int cpng_failed(const png_image *image) { return PNG_IMAGE_FAILED(*image); }
#endif
