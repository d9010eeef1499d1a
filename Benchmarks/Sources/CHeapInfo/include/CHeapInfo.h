#ifndef C_HEAP_INFO_H
#define C_HEAP_INFO_H
#include <stddef.h>

/// Bytes malloc has handed out and not had back (glibc mallinfo2: uordblks + hblkhd); 0 elsewhere.
size_t subnetdht_heap_in_use(void);

#endif
