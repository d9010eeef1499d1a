#include "CHeapInfo.h"
#include <stdlib.h> /* defines __GLIBC__ on glibc systems */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define HAVE_MALLINFO2 1
#endif

size_t subnetdht_heap_in_use(void) {
#if defined(HAVE_MALLINFO2)
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd; /* arena chunks in use + mmap-ed chunks */
#else
    return 0;
#endif
}
