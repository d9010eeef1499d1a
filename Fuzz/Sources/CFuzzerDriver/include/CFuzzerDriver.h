// libFuzzer's driver, for a Swift entry point: SwiftPM links an executable target's main
// under another name, so libFuzzer's own main is never linked and the target starts the
// driver itself.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
