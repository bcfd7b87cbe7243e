#ifndef QWEN_AGENT_CFUZZER_H
#define QWEN_AGENT_CFUZZER_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver, called from a target's own `main` (SwiftPM names every executable's entry point
/// itself, so libFuzzer's `main` cannot be used).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
