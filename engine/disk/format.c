/* Disk format and allocation names ("raw"/"qcow2", "sparse"/"preallocated"):
 * written once, here, for the manifest, the writer, the plan and the CLI.
 * A file of its own so that the manifest links it without the writer. */
#include "config.h"

#include <string.h>

#include "disk/disk.h"

const char *const disk_format_names[DISK_FORMAT_LAST + 1] = {
    [DISK_FORMAT_RAW] = "raw",
    [DISK_FORMAT_QCOW2] = "qcow2",
    [DISK_FORMAT_LAST] = NULL,
};

const char *const disk_allocation_names[DISK_ALLOCATION_LAST + 1] = {
    [DISK_ALLOCATION_SPARSE] = "sparse",
    [DISK_ALLOCATION_PREALLOCATED] = "preallocated",
    [DISK_ALLOCATION_LAST] = NULL,
};

const char *
disk_format_name(enum disk_format f)
{
    if ((unsigned)f >= DISK_FORMAT_LAST)
        return "unknown";
    return disk_format_names[f];
}

bool
disk_format_parse(const char *s, enum disk_format *out)
{
    for (unsigned i = 0; i < DISK_FORMAT_LAST; i++) {
        if (s != NULL && strcmp(s, disk_format_names[i]) == 0) {
            *out = (enum disk_format)i;
            return true;
        }
    }
    return false;
}

const char *
disk_allocation_name(enum disk_allocation a)
{
    if ((unsigned)a >= DISK_ALLOCATION_LAST)
        return "unknown";
    return disk_allocation_names[a];
}

bool
disk_allocation_parse(const char *s, enum disk_allocation *out)
{
    for (unsigned i = 0; i < DISK_ALLOCATION_LAST; i++) {
        if (s != NULL && strcmp(s, disk_allocation_names[i]) == 0) {
            *out = (enum disk_allocation)i;
            return true;
        }
    }
    return false;
}

uint64_t
disk_image_size(enum disk_format f, uint64_t size)
{
    if (f == DISK_FORMAT_QCOW2 && size % 512 != 0 && size <= UINT64_MAX - 511)
        return (size + 511) / 512 * 512;
    return size;
}
