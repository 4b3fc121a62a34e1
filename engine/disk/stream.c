/* Disk writers into libvirt storage volumes over virStorageVolUpload
 * sparse streams: raw content streamed as it arrives, qcow2 built locally
 * and its file uploaded, so a remote qcow2 volume is a valid qcow2. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "disk/disk-priv.h"
#include "util/autoptr.h"
#include "util/error.h"
#include "util/virt.h"

/* Largest single virStreamSend. */
#define STREAM_CHUNK (4 * 1024 * 1024)
/* How far past a resume position zeros are sent as data: an interrupted
 * upload wrote at most one checkpoint interval (capped at 256 MiB by
 * engine/exec) plus one source piece past its last checkpoint, and a
 * stream hole only skips (it does not clear what is there). */
#define STREAM_ZERO_WINDOW (320ULL << 20)

static const char zero_chunk[1024 * 1024];

static bool
set_virt_error(GError **error, struct disk_writer *w, const char *what)
{
    const char *msg = virGetLastErrorMessage();

    g_set_error(error, CONVOY_ERROR, virt_error_code(),
                "libvirt: volume '%s': %s: %s", w->path, what,
                msg != NULL ? msg : "unknown error");
    return false;
}

/* Finish the current upload, if any: the daemon has every byte sent. */
static bool
stream_end(struct disk_writer *w, GError **error)
{
    virStreamPtr st = g_steal_pointer(&w->stream);
    int r;

    if (st == NULL)
        return true;
    r = virStreamFinish(st);
    if (r < 0) {
        set_virt_error(error, w, "finishing the upload");
        virStreamAbort(st);
    }
    virStreamFree(st);
    return r == 0;
}

/* Make the upload stream write at offset next (starting a new one). */
static bool
stream_at(struct disk_writer *w, uint64_t offset, GError **error)
{
    virStreamPtr st;

    if (w->stream != NULL && w->stream_pos == offset)
        return true;
    if (!stream_end(w, error))
        return false;
    st = virStreamNew(virStorageVolGetConnect(w->vol), 0);
    if (st == NULL)
        return set_virt_error(error, w, "creating a stream");
    if (virStorageVolUpload(w->vol, st, offset, 0,
                            VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM) < 0) {
        set_virt_error(error, w, "starting the upload");
        virStreamFree(st);
        return false;
    }
    w->stream = st;
    w->stream_pos = offset;
    return true;
}

static bool
send_data(struct disk_writer *w, const char *p, uint64_t len, GError **error)
{
    while (len > 0) {
        size_t n = len < STREAM_CHUNK ? (size_t)len : STREAM_CHUNK;
        int r = virStreamSend(w->stream, p, n);
        if (r < 0)
            return set_virt_error(error, w, "sending data");
        p += r;
        len -= (uint64_t)r;
        w->stream_pos += (uint64_t)r;
    }
    return true;
}

static bool
send_zeros(struct disk_writer *w, uint64_t len, GError **error)
{
    while (len > 0) {
        uint64_t n = len < sizeof zero_chunk ? len : sizeof zero_chunk;
        if (!send_data(w, zero_chunk, n, error))
            return false;
        len -= n;
    }
    return true;
}

/* A run of zeros at the stream position: data inside the resume window,
 * a hole after it. */
static bool
send_hole(struct disk_writer *w, uint64_t len, GError **error)
{
    if (w->stream_pos < w->zeros_until) {
        uint64_t n = w->zeros_until - w->stream_pos;
        if (n > len)
            n = len;
        if (!send_zeros(w, n, error))
            return false;
        len -= n;
    }
    if (len == 0)
        return true;
    if (virStreamSendHole(w->stream, (long long)len, 0) < 0)
        return set_virt_error(error, w, "sending a hole");
    w->stream_pos += len;
    return true;
}

static bool
sraw_open(struct disk_writer *w, uint64_t resume_from, GError **error)
{
    /* A receiving libvirt may not keep a volume's preallocation under a
     * hole: a preallocated disk gets its zeros as data. */
    if (w->allocation == DISK_ALLOCATION_PREALLOCATED)
        w->zeros_until = UINT64_MAX;
    else if (resume_from > 0)
        w->zeros_until = resume_from + STREAM_ZERO_WINDOW;
    return true;
}

static bool
sraw_write(struct disk_writer *w, uint64_t offset, const void *buf,
           size_t len, GError **error)
{
    const char *p = buf;

    if (!stream_at(w, offset, error))
        return false;
    if (w->allocation == DISK_ALLOCATION_PREALLOCATED)
        return send_data(w, p, len, error);
    while (len > 0) {
        bool zero;
        size_t n = disk_scan_run(p, len, offset, len, &zero);
        if (!(zero ? send_hole(w, n, error) : send_data(w, p, n, error)))
            return false;
        p += n;
        len -= n;
        offset += n;
    }
    return true;
}

static bool
sraw_zero(struct disk_writer *w, uint64_t offset, uint64_t len,
          GError **error)
{
    return stream_at(w, offset, error) && send_hole(w, len, error);
}

/* Read back through a download stream (resume re-checks only). */
static bool
sraw_read(struct disk_writer *w, uint64_t offset, void *buf, size_t len,
          GError **error)
{
    g_autoptr(virStream) st = NULL;
    size_t got = 0;

    if (!stream_end(w, error))
        return false;
    st = virStreamNew(virStorageVolGetConnect(w->vol), 0);
    if (st == NULL)
        return set_virt_error(error, w, "creating a stream");
    if (virStorageVolDownload(w->vol, st, offset, len, 0) < 0)
        return set_virt_error(error, w, "starting a download");
    while (got < len) {
        int r = virStreamRecv(st, (char *)buf + got, len - got);
        if (r < 0) {
            set_virt_error(error, w, "reading back");
            virStreamAbort(st);
            return false;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    /* Past the end of a shorter file reads as zeros. */
    memset((char *)buf + got, 0, len - got);
    if (virStreamFinish(st) < 0)
        return set_virt_error(error, w, "finishing a download");
    return true;
}

static bool
sraw_flush(struct disk_writer *w, GError **error)
{
    return stream_end(w, error);
}

static bool
sraw_finish(struct disk_writer *w, GError **error)
{
    return stream_end(w, error);
}

static void
stream_release(struct disk_writer *w)
{
    if (w->stream != NULL) {
        virStreamAbort(w->stream);
        virStreamFree(w->stream);
        w->stream = NULL;
    }
    if (w->vol != NULL) {
        virStorageVolFree(w->vol);
        w->vol = NULL;
    }
    disk_writer_abort(g_steal_pointer(&w->inner));
}

const struct disk_writer_ops stream_raw_ops = {
    .open = sraw_open,
    .write = sraw_write,
    .zero = sraw_zero,
    .read = sraw_read,
    .flush = sraw_flush,
    .finish = sraw_finish,
    .release = stream_release,
};

/* qcow2: everything goes to the local image until finish. */

static bool
sq_write(struct disk_writer *w, uint64_t offset, const void *buf, size_t len,
         GError **error)
{
    return disk_writer_write(w->inner, offset, buf, len, error);
}

static bool
sq_zero(struct disk_writer *w, uint64_t offset, uint64_t len, GError **error)
{
    return disk_writer_zero(w->inner, offset, len, error);
}

static bool
sq_read(struct disk_writer *w, uint64_t offset, void *buf, size_t len,
        GError **error)
{
    return disk_writer_read(w->inner, offset, buf, len, error);
}

static bool
sq_flush(struct disk_writer *w, GError **error)
{
    return disk_writer_flush(w->inner, error);
}

/* After each piece of an upload: past the interval, or when a stop is
 * asked for, finish the upload (the daemon has every byte before
 * stream_pos), report that, and go on in a new upload from there. */
static bool
upload_progress(struct disk_writer *w, uint64_t *last, uint64_t total,
                GError **error)
{
    uint64_t at = w->stream_pos;

    if (w->upload_fn == NULL || at >= total || at == *last)
        return true;
    if (at - *last < w->upload_interval &&
        (w->upload_stop == NULL || !w->upload_stop()))
        return true;
    if (!stream_end(w, error) || !w->upload_fn(w->upload_opaque, at, total, error))
        return false;
    *last = at;
    return stream_at(w, at, error);
}

/* Upload the local file at tmp into the volume from w->upload_from on,
 * data extents as data and holes as holes, except below the volume's
 * current physical end (libvirt wrote its own empty qcow2 there, or an
 * interrupted upload left bytes past its last report), where zeros must
 * be sent. */
static bool
upload_file(struct disk_writer *w, const char *tmp, GError **error)
{
    virStorageVolInfo info;
    g_autofree char *buf = NULL;
    struct stat sb;
    off_t pos;
    uint64_t last;
    uint64_t total;
    int fd;
    bool ok = false;

    if (virStorageVolGetInfoFlags(w->vol, &info, VIR_STORAGE_VOL_GET_PHYSICAL) < 0)
        return set_virt_error(error, w, "reading its size");
    w->zeros_until = info.allocation;
    fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) < 0) {
        int e = errno;
        g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(e),
                    "cannot read '%s': %s", tmp, g_strerror(e));
        if (fd >= 0)
            close(fd);
        return false;
    }
    total = (uint64_t)sb.st_size;
    if (w->upload_from > 0 &&
        (total != w->upload_staged_size || w->upload_from > total)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_DRIFT,
                    "the staged image '%s' is %" PRIu64 " bytes, not the %" PRIu64 " its interrupted upload sent part of; it cannot be resumed",
                    tmp, total, w->upload_staged_size);
        close(fd);
        return false;
    }
    pos = (off_t)w->upload_from;
    last = w->upload_from;
    if (w->upload_fn != NULL && !w->upload_fn(w->upload_opaque, last, total, error))
        goto out;
    buf = g_malloc(STREAM_CHUNK);
    if (!stream_at(w, (uint64_t)pos, error))
        goto out;
    while (pos < sb.st_size) {
        off_t data = lseek(fd, pos, SEEK_DATA);
        off_t hole;

        if (data < 0)
            data = sb.st_size;      /* ENXIO: only a hole is left */
        if (data > pos && !send_hole(w, (uint64_t)(data - pos), error))
            goto out;
        if (data >= sb.st_size)
            break;
        if (!upload_progress(w, &last, total, error))
            goto out;
        hole = lseek(fd, data, SEEK_HOLE);
        if (hole < 0)
            hole = sb.st_size;
        for (pos = data; pos < hole;) {
            size_t n = (size_t)MIN((off_t)STREAM_CHUNK, hole - pos);
            ssize_t r = pread(fd, buf, n, pos);
            if (r <= 0) {
                int e = r < 0 ? errno : EIO;
                g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO,
                            "cannot read '%s': %s", tmp, g_strerror(e));
                goto out;
            }
            if (!send_data(w, buf, (uint64_t)r, error))
                goto out;
            pos += r;
            if (!upload_progress(w, &last, total, error))
                goto out;
        }
    }
    ok = stream_end(w, error);
out:
    close(fd);
    return ok;
}

static bool
sq_finish(struct disk_writer *w, GError **error)
{
    g_autofree char *tmp = g_strdup(w->inner->path);
    g_autoptr(GError) err = NULL;
    bool ok = disk_writer_close(g_steal_pointer(&w->inner), &err);

    if (ok)
        ok = upload_file(w, tmp, &err);
    /* Uploaded, or nothing left to resume: the staged image goes. */
    if (ok || g_error_matches(err, CONVOY_ERROR, CONVOY_ERROR_DRIFT))
        unlink(tmp);
    if (err != NULL)
        g_propagate_error(error, g_steal_pointer(&err));
    return ok;
}

bool
disk_writer_stages(const struct disk_writer *w)
{
    return w->ops == &stream_qcow2_ops;
}

void
disk_writer_set_upload(struct disk_writer *w, uint64_t interval,
                       uint64_t from, uint64_t staged_size,
                       disk_upload_fn fn, disk_stop_fn stop, void *opaque)
{
    w->upload_interval = interval > 0 ? interval : UINT64_MAX;
    w->upload_from = from;
    w->upload_staged_size = staged_size;
    w->upload_fn = fn;
    w->upload_stop = stop;
    w->upload_opaque = opaque;
}

const struct disk_writer_ops stream_qcow2_ops = {
    .write = sq_write,
    .zero = sq_zero,
    .read = sq_read,
    .flush = sq_flush,
    .finish = sq_finish,
    .release = stream_release,
};

struct disk_writer *
disk_writer_open_stream(struct _virStorageVol *vol, const char *name,
                        enum disk_format format,
                        enum disk_allocation allocation, uint64_t size,
                        uint64_t resume_from, const char *tmp_path,
                        GError **error)
{
    struct disk_writer *w = g_new0(struct disk_writer, 1);

    w->path = g_strdup(name);
    w->format = format;
    w->allocation = allocation;
    w->size = size;
    w->fd = -1;
    w->ops = format == DISK_FORMAT_QCOW2 ? &stream_qcow2_ops : &stream_raw_ops;
    if (virStorageVolRef(vol) < 0) {
        set_virt_error(error, w, "taking a reference");
        w->ops = NULL;
        disk_writer_abort(w);
        return NULL;
    }
    w->vol = vol;
    if (format == DISK_FORMAT_QCOW2) {
        w->inner = disk_writer_open(tmp_path, DISK_FORMAT_QCOW2, allocation,
                                    size, resume_from, error);
        if (w->inner == NULL) {
            disk_writer_abort(w);
            return NULL;
        }
        return w;
    }
    if (!sraw_open(w, resume_from, error)) {
        disk_writer_abort(w);
        return NULL;
    }
    return w;
}
