// C shim for OpenBLAS's CBLAS interface. pkg-config puts OpenBLAS's own include directory first,
// so this is OpenBLAS's cblas.h (with openblas_get_corename) even if another BLAS owns the alternative.
#ifndef COPENBLAS_SHIM_H
#define COPENBLAS_SHIM_H
#include <cblas.h>
#endif
