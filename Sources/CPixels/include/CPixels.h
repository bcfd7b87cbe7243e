// Pixel-format conversion kernels Swift cannot express on baseline x86-64 (no `pshufb` there).
#ifndef CPIXELS_H
#define CPIXELS_H

/// Converts rows `y0..<y1` of 32-bit B,G,R,X pixels (`stride` bytes per row) to packed R,G,B rows
/// (`width * 3` bytes each) with SSSE3. Returns 0, having done nothing, when the CPU lacks SSSE3
/// or this is not x86-64; the caller then converts another way.
int cpixels_bgrx_to_rgb_rows(const unsigned char *src, long stride, unsigned char *dst, long width, long y0, long y1);

#endif
