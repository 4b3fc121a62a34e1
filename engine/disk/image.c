/* Source images read as the guest sees them: the format of a local image
 * from its first bytes (never from what a config claims), and qcow2
 * images read through a read-only qemu-nbd child over libnbd. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libnbd.h>

#include "disk/disk-priv.h"
#include "util/error.h"

/* Largest single NBD read. */
#define READER_MAX_READ (4 * 1024 * 1024)

struct disk_reader {
    char *path;                 /* the image (owned) */
    struct nbd_handle *nbd;     /* connection to our read-only qemu-nbd */
    uint64_t size;              /* guest-visible size */
    bool extents;               /* the server answers base:allocation */
};

static uint64_t
get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t
get_be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}

void
disk_image_header(const unsigned char *head, size_t len, uint64_t raw_size,
                  struct disk_image_info *info)
{
    memset(info, 0, sizeof *info);
    info->format = DISK_FORMAT_RAW;
    info->virtual_size = raw_size;
    if (len >= 32 && memcmp(head, "QFI\xfb", 4) == 0) {
        info->format = DISK_FORMAT_QCOW2;
        info->qcow2_version = get_be32(head + 4);
        info->has_backing = get_be64(head + 8) != 0;
        info->virtual_size = get_be64(head + 24);
    } else if (len >= 4 && memcmp(head, "QFI\xfb", 4) == 0) {
        info->format = DISK_FORMAT_QCOW2;     /* truncated header */
        info->virtual_size = 0;
    } else if (len >= 8 && memcmp(head, "conectix", 8) == 0) {
        info->unsupported = "vpc";
    } else if (len >= 4 && memcmp(head, "KDMV", 4) == 0) {
        info->unsupported = "vmdk";
    }
}

bool
disk_image_probe(const char *path, struct disk_image_info *info,
                 GError **error)
{
    unsigned char head[512] = {0};
    struct stat sb;
    ssize_t n;
    off_t end;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &sb) < 0) {
        int e = errno;
        g_set_error(error, CONVOY_ERROR,
                    e == ENOENT ? CONVOY_ERROR_NOT_FOUND : convoy_error_from_errno(e),
                    "cannot open '%s': %s", path, g_strerror(e));
        if (fd >= 0)
            close(fd);
        return false;
    }
    /* A block device (LVM) has its size at the end, not in st_size. */
    end = lseek(fd, 0, SEEK_END);
    do {
        n = pread(fd, head, sizeof head, 0);
    } while (n < 0 && errno == EINTR);
    if (end < 0 || n < 0) {
        int e = errno;
        close(fd);
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO,
                    "cannot read '%s': %s", path, g_strerror(e));
        return false;
    }
    close(fd);
    disk_image_header(head, (size_t)n, (uint64_t)end, info);
    info->mtime = (int64_t)sb.st_mtime;
    info->block_device = S_ISBLK(sb.st_mode);
    if (info->format == DISK_FORMAT_QCOW2 && info->virtual_size == 0 &&
        (size_t)n < 32) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "'%s': truncated qcow2 header (%zd bytes)", path, n);
        return false;
    }
    return true;
}

static void
reader_nbd_error(GError **error, const char *path, const char *what,
                 uint64_t offset)
{
    const char *msg = nbd_get_error();

    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NBD,
                "nbd: '%s': %s at offset %" PRIu64 ": %s", path, what, offset,
                msg != NULL ? msg : g_strerror(nbd_get_errno()));
}

struct disk_reader *
disk_reader_open_qcow2(const char *path, GError **error)
{
    /* --read-only: the source is never written, and qemu-nbd takes only
     * a shared lock, so an image a running VM holds for writing is
     * refused rather than read inconsistently. */
    static const char *const opts[] = {
        "--read-only", "--format=qcow2", NULL,
    };
    struct disk_reader *r = g_new0(struct disk_reader, 1);
    g_autofree char *abs_path = g_canonicalize_filename(path, NULL);
    int64_t size;

    r->path = g_strdup(path);
    r->nbd = disk_nbd_spawn(abs_path, opts, true, error);
    if (r->nbd == NULL) {
        disk_reader_close(r);
        return NULL;
    }
    size = nbd_get_size(r->nbd);
    if (size < 0) {
        reader_nbd_error(error, path, "cannot get the size", 0);
        disk_reader_close(r);
        return NULL;
    }
    r->size = (uint64_t)size;
    r->extents = nbd_can_meta_context(r->nbd, LIBNBD_CONTEXT_BASE_ALLOCATION) == 1;
    return r;
}

uint64_t
disk_reader_size(const struct disk_reader *r)
{
    return r->size;
}

bool
disk_reader_pread(struct disk_reader *r, void *buf, size_t len,
                  uint64_t offset, GError **error)
{
    unsigned char *p = buf;

    while (len > 0) {
        size_t n = len < READER_MAX_READ ? len : READER_MAX_READ;
        if (nbd_pread(r->nbd, p, n, offset, 0) == -1) {
            reader_nbd_error(error, r->path, "reading", offset);
            return false;
        }
        p += n;
        len -= n;
        offset += n;
    }
    return true;
}

struct extent_ctx {
    uint64_t offset;    /* where we asked */
    uint64_t len;       /* first extent's length, 0 until seen */
    bool zero;
};

static int
extent_cb(void *user_data, const char *metacontext, uint64_t offset,
          uint32_t *entries, size_t nr_entries, int *error)
{
    struct extent_ctx *x = user_data;

    if (strcmp(metacontext, LIBNBD_CONTEXT_BASE_ALLOCATION) != 0 ||
        x->len != 0 || nr_entries < 2 || offset != x->offset)
        return 0;
    x->len = entries[0];
    x->zero = (entries[1] & LIBNBD_STATE_ZERO) != 0;
    return 0;
}

bool
disk_reader_extent(struct disk_reader *r, uint64_t offset, uint64_t max,
                   uint64_t *len, bool *zero, GError **error)
{
    struct extent_ctx x = {.offset = offset};
    uint64_t ask = max < (UINT64_C(1) << 31) ? max : (UINT64_C(1) << 31);

    *len = max;
    *zero = false;
    if (!r->extents)
        return true;
    nbd_extent_callback cb = {.callback = extent_cb, .user_data = &x};
    if (nbd_block_status(r->nbd, ask, offset, cb, 0) == -1) {
        reader_nbd_error(error, r->path, "reading the allocation map", offset);
        return false;
    }
    if (x.len == 0)
        return true;        /* no answer: treat as data */
    *len = x.len < max ? x.len : max;
    *zero = x.zero;
    return true;
}

void
disk_reader_close(struct disk_reader *r)
{
    if (r == NULL)
        return;
    if (r->nbd != NULL) {
        nbd_shutdown(r->nbd, 0);
        /* nbd_close waits for qemu-nbd, which exits once we disconnect. */
        nbd_close(r->nbd);
    }
    g_free(r->path);
    g_free(r);
}
