/* Zero detection: is a buffer all zeros, and how long is the run of zero
 * (or data) sub-blocks at its start. */
#include "config.h"

#include <string.h>

#include "disk/disk-priv.h"

bool
disk_is_zero(const void *buf, size_t len)
{
    const unsigned char *p = buf;

    /* Check the first 16 bytes one by one, then compare the buffer with
     * itself shifted by 16: if the head is zero and every byte equals the
     * one 16 before it, every byte is zero (memcmp is vectorised). */
    size_t head = len < 16 ? len : 16;
    for (size_t i = 0; i < head; i++) {
        if (p[i] != 0)
            return false;
    }
    if (len <= 16)
        return true;
    return memcmp(p, p + 16, len - 16) == 0;
}

size_t
disk_scan_run(const void *buf, size_t len, uint64_t offset, size_t max,
              bool *zero)
{
    const unsigned char *p = buf;
    size_t limit = len < max ? len : max;

    /* The first sub-block ends at the next absolute 64 KiB boundary. */
    size_t first = DISK_ZERO_BLOCK - (size_t)(offset % DISK_ZERO_BLOCK);
    if (first > limit)
        first = limit;
    bool kind = disk_is_zero(p, first);
    size_t pos = first;

    while (pos < limit) {
        size_t n = limit - pos < DISK_ZERO_BLOCK ? limit - pos
                                                 : DISK_ZERO_BLOCK;
        if (disk_is_zero(p + pos, n) != kind)
            break;
        pos += n;
    }
    *zero = kind;
    return pos;
}
