/* Raw output files: sparse (all-zero sub-blocks stay holes) or
 * preallocated (posix_fallocate at open, every block written). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk/disk-priv.h"
#include "util/error.h"
#include "util/fileutil.h"

/* Never written: a source of zeros for preallocated zero runs. */
static unsigned char zero_buf[1024 * 1024];

/* Open the direct descriptor beside w->fd, where the file system has
 * O_DIRECT, and the queue that writes through it (or through w->fd). */
static bool
open_queue(struct disk_writer *w, GError **error)
{
    w->dfd = open(w->path, O_WRONLY | O_DIRECT | O_NOFOLLOW | O_CLOEXEC);
    w->queue = disk_direct_new(w->dfd, w->fd, w->path, error);
    return w->queue != NULL;
}

/* Everything queued is written (before a read, a hole punch or a
 * sync). */
static bool
drain(struct disk_writer *w, GError **error)
{
    return w->queue == NULL || disk_direct_drain(w->queue, error);
}

static bool
write_zeros(struct disk_writer *w, uint64_t offset, uint64_t len,
            GError **error)
{
    while (len > 0) {
        size_t n = len < sizeof zero_buf ? (size_t)len : sizeof zero_buf;
        if (!disk_direct_write(w->queue, offset, zero_buf, n, error))
            return false;
        offset += n;
        len -= n;
    }
    return true;
}

/* Make [offset, size) zero while keeping it allocated. */
static bool
zero_allocated(struct disk_writer *w, uint64_t offset, GError **error)
{
    if (offset >= w->size)
        return true;
    if (fallocate(w->fd, FALLOC_FL_ZERO_RANGE, (off_t)offset,
                  (off_t)(w->size - offset)) == 0)
        return true;
    if (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL) {
        disk_set_write_error(error, w->path, errno, offset);
        return false;
    }
    return write_zeros(w, offset, w->size - offset, error);
}

static bool
set_size(struct disk_writer *w, uint64_t size, GError **error)
{
    if (ftruncate(w->fd, (off_t)size) == -1) {
        int errsv = errno;
        g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(errsv),
                    "cannot set the size of '%s' to %" PRIu64 ": %s",
                    w->path, size, g_strerror(errsv));
        return false;
    }
    return true;
}

static bool
raw_open_fresh(struct disk_writer *w, GError **error)
{
    /* O_RDWR rather than O_WRONLY: a resume reads the output back. */
    w->fd = open(w->path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                 0644);
    if (w->fd == -1) {
        file_set_open_error(error, "create", w->path, errno);
        return false;
    }
    if (!set_size(w, w->size, error))
        return false;
    if (w->allocation == DISK_ALLOCATION_PREALLOCATED && w->size > 0) {
        int r = posix_fallocate(w->fd, 0, (off_t)w->size);
        if (r != 0) {
            if (convoy_error_from_errno(r) == CONVOY_ERROR_NOSPACE) {
                g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOSPACE,
                            "no space left on device preallocating %" PRIu64 " bytes for '%s'",
                            w->size, w->path);
            } else {
                g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO,
                            "cannot preallocate '%s': %s",
                            w->path, g_strerror(r));
            }
            return false;
        }
    }
    return true;
}

static bool
raw_open_resume(struct disk_writer *w, uint64_t resume_from, GError **error)
{
    w->fd = open(w->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (w->fd == -1) {
        int errsv = errno;
        if (errsv == ENOENT) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_DRIFT,
                        "output '%s' does not exist; it cannot be resumed",
                        w->path);
        } else {
            file_set_open_error(error, "open", w->path, errsv);
        }
        return false;
    }
    struct stat sb;
    if (fstat(w->fd, &sb) == -1) {
        int errsv = errno;
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO,
                    "cannot stat '%s': %s", w->path, g_strerror(errsv));
        return false;
    }
    if (!S_ISREG(sb.st_mode)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_DRIFT,
                    "output '%s' is not a regular file; it cannot be resumed",
                    w->path);
        return false;
    }
    if ((uint64_t)sb.st_size != w->size) {
        disk_set_drift_size(error, w->path, (uint64_t)sb.st_size, w->size);
        return false;
    }
    return true;
}

static bool
raw_open(struct disk_writer *w, uint64_t resume_from, GError **error)
{
    w->dfd = -1;
    if (!(resume_from > 0 ? raw_open_resume(w, resume_from, error)
                          : raw_open_fresh(w, error)) ||
        !open_queue(w, error))
        return false;
    if (resume_from == 0)
        return true;
    /* Discard everything from the checkpoint on: writes after it were
     * never committed, and a sparse writer relies on zeros being holes. */
    if (w->allocation == DISK_ALLOCATION_SPARSE)
        return set_size(w, resume_from, error) && set_size(w, w->size, error);
    return zero_allocated(w, resume_from, error);
}

static bool
raw_write(struct disk_writer *w, uint64_t offset, const void *buf,
          size_t len, GError **error)
{
    if (w->allocation == DISK_ALLOCATION_PREALLOCATED)
        return disk_direct_write(w->queue, offset, buf, len, error);

    /* Sparse: the region past the write front reads as zeros already, so
     * all-zero sub-blocks are skipped and data runs written in one go. */
    const unsigned char *p = buf;
    while (len > 0) {
        bool zero;
        size_t n = disk_scan_run(p, len, offset, len, &zero);
        if (!zero && !disk_direct_write(w->queue, offset, p, n, error))
            return false;
        p += n;
        len -= n;
        offset += n;
    }
    return true;
}

static bool
raw_zero(struct disk_writer *w, uint64_t offset, uint64_t len,
         GError **error)
{
    if (w->allocation == DISK_ALLOCATION_SPARSE)
        return true;            /* a hole already */
    return write_zeros(w, offset, len, error);
}

static bool
raw_rezero(struct disk_writer *w, uint64_t offset, uint64_t len,
           GError **error)
{
    if (!drain(w, error))
        return false;
    if (w->allocation == DISK_ALLOCATION_SPARSE &&
        fallocate(w->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  (off_t)offset, (off_t)len) == 0)
        return true;
    /* no hole punching here (or preallocated): written zeros */
    return write_zeros(w, offset, len, error);
}

static bool
raw_read(struct disk_writer *w, uint64_t offset, void *buf, size_t len,
         GError **error)
{
    if (!drain(w, error))
        return false;
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t r = pread(w->fd, p, len, (off_t)offset);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int errsv = r < 0 ? errno : 0;
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO,
                        "cannot read '%s' at offset %" PRIu64 ": %s",
                        w->path, offset,
                        r < 0 ? g_strerror(errsv) : "unexpected end of file");
            return false;
        }
        p += r;
        len -= (size_t)r;
        offset += (uint64_t)r;
    }
    return true;
}

static bool
raw_flush(struct disk_writer *w, GError **error)
{
    if (!drain(w, error))
        return false;
    while (fdatasync(w->fd) == -1) {
        int errsv = errno;
        if (errsv == EINTR)
            continue;
        if (convoy_error_from_errno(errsv) == CONVOY_ERROR_NOSPACE) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOSPACE,
                        "no space left on device syncing '%s'", w->path);
        } else {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO,
                        "cannot sync '%s': %s", w->path, g_strerror(errsv));
        }
        return false;
    }
    return true;
}

static bool
raw_finish(struct disk_writer *w, GError **error)
{
    if (!raw_flush(w, error))
        return false;
    g_clear_pointer(&w->queue, disk_direct_free);
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) == -1 && errno != EINTR) {
        int errsv = errno;
        g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(errsv),
                    "cannot close '%s': %s", w->path, g_strerror(errsv));
        return false;
    }
    return true;
}

static void
raw_release(struct disk_writer *w)
{
    /* The writer thread first: it may be using both descriptors. */
    g_clear_pointer(&w->queue, disk_direct_free);
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    if (w->dfd >= 0) {
        close(w->dfd);
        w->dfd = -1;
    }
}

const struct disk_writer_ops raw_writer_ops = {
    .open = raw_open,
    .write = raw_write,
    .zero = raw_zero,
    .rezero = raw_rezero,
    .read = raw_read,
    .flush = raw_flush,
    .finish = raw_finish,
    .release = raw_release,
};
