#ifndef CFUZZERDRIVER_H
#define CFUZZERDRIVER_H
#include <stddef.h>
#include <stdint.h>

/// Hands the process to libFuzzer's driver with `one_input` as the fuzz target (libFuzzer's
/// LLVMFuzzerRunDriver). Returns -1 when the binary was not linked with -sanitize=fuzzer.
int mms_fuzzer_run_driver(int *argc, char ***argv, int (*one_input)(const uint8_t *data, size_t size));
#endif
