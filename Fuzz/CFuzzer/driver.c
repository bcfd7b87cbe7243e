// The declaration in include/CFuzzer.h is all this target provides; libFuzzer defines the function.
#include "CFuzzer.h"
