#include "CFuzzerDriver.h"

// Weak, so a normal build (no libFuzzer) links too: the symbol is then null.
extern int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*cb)(const uint8_t *, size_t)) __attribute__((weak));

int mms_fuzzer_run_driver(int *argc, char ***argv, int (*one_input)(const uint8_t *data, size_t size)) {
    if (!LLVMFuzzerRunDriver) return -1;
    return LLVMFuzzerRunDriver(argc, argv, one_input);
}
