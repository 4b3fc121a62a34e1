/* XVA streams over HTTP(S), shared by the xva (url:) and xenserver
 * (/export) sources: read ova.xml and stop, or stream one disk with
 * retries; and raw disk streams (/export_raw_vdi) with the same rule.  A retry re-reads the stream from the start (exports have no
 * Range support) and delivers only the bytes past what was delivered. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>

#include "sources/sources-priv.h"
#include "util/error.h"
#include "xva/xva.h"

/* The outcome of one attempt: ok, or a failure that a retry may fix. */
static bool
attempt_failed(struct http_stream *st, GError **reader_err, bool had_length,
               bool *transient, GError **error)
{
    g_autoptr(GError) xfer = NULL;

    *transient = false;
    if (!http_stream_finish(st, transient, &xfer)) {
        /* The transfer's error says more than the reader's "truncated". */
        g_clear_error(reader_err);
        g_propagate_error(error, g_steal_pointer(&xfer));
        return true;
    }
    /* A close-delimited body (no Content-Length, as /export sends) that
     * was cut looks complete to HTTP: only the tar stream shows it. */
    if (!had_length && *reader_err != NULL &&
        g_error_matches(*reader_err, CONVOY_ERROR, CONVOY_ERROR_FORMAT))
        *transient = true;
    g_propagate_error(error, g_steal_pointer(reader_err));
    return true;
}

static bool
has_length(struct http_stream *st)
{
    g_autofree char *id = http_stream_identity(st);
    return strstr(id, "http_content_length=") != NULL;
}

/* After one attempt of a disk transfer: true when the loop is over, with
 * *done its outcome (a complete disk, or a failure reported in error);
 * false to try again after a backoff.  A failure of the sink (the target)
 * is not the transfer's and is never retried. */
static bool
attempt_end(struct http_stream *st, bool ok, bool sink_failed,
            GError **reader_err, unsigned attempt, unsigned max, bool *done,
            GError **error)
{
    g_autoptr(GError) err = NULL;
    bool transient = false;

    *done = ok;
    if (ok || sink_failed) {
        /* Complete (whatever the transfer says about the rest of the
         * stream no longer matters), or the target failed. */
        http_stream_finish(st, NULL, NULL);
        if (!ok)
            g_propagate_error(error, g_steal_pointer(reader_err));
        return true;
    }
    attempt_failed(st, reader_err, has_length(st), &transient, &err);
    if (transient && attempt < max)
        return false;
    if (attempt > 1)
        g_prefix_error(&err, "after %u attempts: ", attempt);
    g_propagate_error(error, g_steal_pointer(&err));
    return true;
}

char *
xva_http_fetch_ova(struct http_client *c, const char *url, const char *label,
                   size_t *len, char **identity, GError **error)
{
    unsigned max = http_max_attempts();

    for (unsigned attempt = 1;; attempt++) {
        g_autoptr(http_stream) st = http_stream_open(c, url, label, error);
        g_autoptr(GError) rerr = NULL;
        g_autoptr(GError) err = NULL;
        struct xva_reader *r;
        bool transient = false;

        if (st == NULL)
            return NULL;
        r = xva_reader_open_fd(http_stream_take_fd(st), label, &rerr);
        if (r != NULL) {
            size_t n = 0;
            const char *ova = xva_reader_ova_xml(r, &n);
            char *copy = g_memdup2(ova, n);

            *len = n;
            *identity = http_stream_identity(st);
            /* Closing the reader's end stops the transfer: discovery never
             * downloads the disks. */
            xva_reader_free(r);
            http_stream_finish(st, NULL, NULL);
            return copy;
        }
        attempt_failed(st, &rerr, has_length(st), &transient, &err);
        if (!transient || attempt >= max) {
            if (attempt > 1)
                g_prefix_error(&err, "after %u attempts: ", attempt);
            g_propagate_error(error, g_steal_pointer(&err));
            return NULL;
        }
        http_backoff(attempt);
    }
}

struct resume_adapter {
    struct xva_reader *r;
    const struct xva_stream_ops *ops;  /* the caller's */
    void *opaque;
    uint64_t delivered;   /* bytes of the disk delivered, over all attempts */
    bool sink_failed;     /* the caller's callback failed: never retried */
};

static bool
ra_data(void *opaque, const struct xva_vdi *vdi, uint64_t offset,
        const void *buf, size_t len, GError **error)
{
    struct resume_adapter *a = opaque;

    if (offset + len <= a->delivered)
        return true;
    if (offset < a->delivered) {
        size_t skip = (size_t)(a->delivered - offset);
        buf = (const char *)buf + skip;
        offset += skip;
        len -= skip;
    }
    if (!a->ops->data(a->opaque, vdi, offset, buf, len, error)) {
        a->sink_failed = true;
        return false;
    }
    a->delivered = offset + len;
    return true;
}

static bool
ra_zero(void *opaque, const struct xva_vdi *vdi, uint64_t offset,
        uint64_t len, GError **error)
{
    struct resume_adapter *a = opaque;

    if (offset + len <= a->delivered)
        return true;
    if (offset < a->delivered) {
        len -= a->delivered - offset;
        offset = a->delivered;
    }
    if (!a->ops->zero(a->opaque, vdi, offset, len, error)) {
        a->sink_failed = true;
        return false;
    }
    a->delivered = offset + len;
    return true;
}

/* The ref of the VDI to stream: vdi_ref, or the one whose uuid is
 * vdi_uuid in this export's ova.xml. */
static const char *
pick_ref(struct xva_reader *r, const char *vdi_ref, const char *vdi_uuid,
         const char *label, GError **error)
{
    const struct xva_meta *m = xva_reader_meta(r);

    if (vdi_uuid == NULL)
        return vdi_ref;
    for (guint i = 0; i < m->vdis->len; i++) {
        const struct xva_vdi *d = m->vdis->pdata[i];
        if (g_strcmp0(d->uuid, vdi_uuid) == 0 && d->has_data)
            return d->ref;
    }
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                "%s: the export holds no disk with VDI uuid %s", label, vdi_uuid);
    return NULL;
}

bool
xva_http_stream_disk(struct http_client *c, const char *url, const char *label,
                     const char *vdi_ref, const char *vdi_uuid,
                     const struct xva_stream_ops *ops, void *opaque,
                     GError **error)
{
    static const struct xva_stream_ops ra_ops = {
        .data = ra_data,
        .zero = ra_zero,
    };
    struct resume_adapter a = { .ops = ops, .opaque = opaque };
    unsigned max = http_max_attempts();

    for (unsigned attempt = 1;; attempt++) {
        g_autoptr(http_stream) st = http_stream_open(c, url, label, error);
        g_autoptr(GError) rerr = NULL;
        struct xva_reader *r;
        bool done = false;
        bool ok = false;

        if (st == NULL)
            return false;
        r = xva_reader_open_fd(http_stream_take_fd(st), label, &rerr);
        if (r != NULL) {
            const char *ref = pick_ref(r, vdi_ref, vdi_uuid, label, &rerr);

            a.r = r;
            ok = ref != NULL && xva_reader_stream(r, ref, &ra_ops, &a, &rerr);
            xva_reader_free(r);
            a.r = NULL;
        }
        if (attempt_end(st, ok, a.sink_failed, &rerr, attempt, max, &done, error))
            return done;
        http_backoff(attempt);
    }
}

/* Read the raw body from fd into the adapter, 1 MiB at a time (zeros as
 * zeros), up to size bytes. */
static bool
raw_read(int fd, uint64_t size, struct resume_adapter *a, const char *label,
         GError **error)
{
    g_autofree unsigned char *buf = g_malloc(XVA_CHUNK_MAX);
    uint64_t off = 0;

    while (off < size) {
        size_t want = size - off < XVA_CHUNK_MAX ? (size_t)(size - off) : XVA_CHUNK_MAX;
        size_t got = 0;
        bool zero;

        while (got < want) {
            ssize_t n = read(fd, buf + got, want - got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                            "%s: the stream ended at %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes",
                            label, off + got, size);
                return false;
            }
            got += (size_t)n;
        }
        zero = buf[0] == 0 && memcmp(buf, buf + 1, want - 1) == 0;
        if (zero ? !ra_zero(a, NULL, off, want, error)
                 : !ra_data(a, NULL, off, buf, want, error))
            return false;
        off += want;
    }
    return true;
}

bool
http_stream_raw_disk(struct http_client *c, const char *url, const char *label,
                     uint64_t size, const struct xva_stream_ops *ops,
                     void *opaque, GError **error)
{
    struct resume_adapter a = { .ops = ops, .opaque = opaque };
    unsigned max = http_max_attempts();

    for (unsigned attempt = 1;; attempt++) {
        g_autoptr(http_stream) st = http_stream_open(c, url, label, error);
        g_autoptr(GError) rerr = NULL;
        bool done = false;
        bool ok;
        int fd;

        if (st == NULL)
            return false;
        fd = http_stream_take_fd(st);
        ok = raw_read(fd, size, &a, label, &rerr);
        close(fd);
        if (attempt_end(st, ok, a.sink_failed, &rerr, attempt, max, &done, error))
            return done;
        http_backoff(attempt);
    }
}
