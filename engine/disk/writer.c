/* The disk writer API: the dispatch of each call to the raw or
 * qcow2-over-NBD implementation. */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "disk/disk-priv.h"
#include "util/error.h"
#include "util/fileutil.h"

void
disk_set_drift_size(GError **error, const char *path, uint64_t actual,
                    uint64_t expected)
{
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_DRIFT,
                "output '%s' has size %" PRIu64 ", expected %" PRIu64 "; it cannot be resumed",
                path, actual, expected);
}

void
disk_set_write_error(GError **error, const char *path, int errsv,
                     uint64_t offset)
{
    enum convoy_error_code code = convoy_error_from_errno(errsv);
    if (code == CONVOY_ERROR_NOSPACE) {
        g_set_error(error, CONVOY_ERROR, code,
                    "no space left on device writing '%s' at offset %" PRIu64,
                    path, offset);
    } else {
        g_set_error(error, CONVOY_ERROR, code,
                    "cannot write '%s' at offset %" PRIu64 ": %s",
                    path, offset, g_strerror(errsv));
    }
}

static void
writer_free(struct disk_writer *w)
{
    if (w->ops != NULL)
        w->ops->release(w);
    g_free(w->path);
    g_free(w);
}

struct disk_writer *
disk_writer_open(const char *path, enum disk_format format,
                 enum disk_allocation allocation, uint64_t size,
                 uint64_t resume_from, GError **error)
{
    if ((unsigned)format >= DISK_FORMAT_LAST ||
        (unsigned)allocation >= DISK_ALLOCATION_LAST) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: bad format or allocation for '%s'", path);
        return NULL;
    }
    if (resume_from > size) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: resume position %" PRIu64 " is past the end of '%s' (%" PRIu64 " bytes)",
                    resume_from, path, size);
        return NULL;
    }
    /* Never through a symbolic link (qemu-img would follow one); the raw
     * writer's opens carry O_NOFOLLOW as well. */
    if (!file_refuse_symlink(path, error))
        return NULL;

    struct disk_writer *w = g_new0(struct disk_writer, 1);
    w->path = g_strdup(path);
    w->format = format;
    w->allocation = allocation;
    w->size = size;
    w->fd = -1;
    const struct disk_writer_ops *ops =
        format == DISK_FORMAT_RAW ? &raw_writer_ops : &nbd_writer_ops;
    if (!ops->open(w, resume_from, error)) {
        /* open cleaned up after itself; release is still safe. */
        w->ops = ops;
        writer_free(w);
        return NULL;
    }
    w->ops = ops;
    return w;
}

static bool
check_range(struct disk_writer *w, uint64_t offset, uint64_t len,
            GError **error)
{
    if (offset > w->size || len > w->size - offset) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: range %" PRIu64 "+%" PRIu64 " is outside '%s' (%" PRIu64 " bytes)",
                    offset, len, w->path, w->size);
        return false;
    }
    return true;
}

bool
disk_writer_write(struct disk_writer *w, uint64_t offset, const void *buf,
                  size_t len, GError **error)
{
    if (!check_range(w, offset, len, error))
        return false;
    if (len == 0)
        return true;
    return w->ops->write(w, offset, buf, len, error);
}

bool
disk_writer_zero(struct disk_writer *w, uint64_t offset, uint64_t len,
                 GError **error)
{
    if (!check_range(w, offset, len, error))
        return false;
    if (len == 0)
        return true;
    return w->ops->zero(w, offset, len, error);
}

bool
disk_writer_rezero(struct disk_writer *w, uint64_t offset, uint64_t len,
                   GError **error)
{
    if (!check_range(w, offset, len, error))
        return false;
    if (len == 0)
        return true;
    return (w->ops->rezero != NULL ? w->ops->rezero : w->ops->zero)(w, offset, len, error);
}

bool
disk_writer_read(struct disk_writer *w, uint64_t offset, void *buf,
                 size_t len, GError **error)
{
    if (!check_range(w, offset, len, error))
        return false;
    if (len == 0)
        return true;
    return w->ops->read(w, offset, buf, len, error);
}

bool
disk_writer_flush(struct disk_writer *w, GError **error)
{
    return w->ops->flush(w, error);
}

bool
disk_writer_close(struct disk_writer *w, GError **error)
{
    bool ok = w->ops->finish(w, error);
    writer_free(w);
    return ok;
}

void
disk_writer_abort(struct disk_writer *w)
{
    if (w == NULL)
        return;
    writer_free(w);
}
