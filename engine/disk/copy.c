/* The copy engine: stream one disk from a source reader into a disk
 * writer, checkpointing every interval; a resume re-reads the stream
 * before the checkpoint, re-checks the output there against it, and
 * writes only after it — or, for a source that can start at an offset,
 * starts the stream at the checkpoint. */
#include "config.h"

#include <stdarg.h>
#include <string.h>
#include <xxhash.h>
#include <glib.h>

#include "disk/disk.h"
#include "util/error.h"
#include "util/json.h"
#include "util/jsonread.h"
#include "util/size.h"

/* How often one copy reconnects to a target whose connection dropped. */
#define COPY_RECONNECTS 3

struct disk_copy {
    const struct disk_copy_ops *ops;    /* borrowed */
    void *opaque;                       /* the ops' argument */
    const char *name;                   /* borrowed, see disk_copy_params */
    const char *source_name;            /* borrowed */
    enum disk_format format;
    uint64_t interval;
    bool seekable;
    struct disk_writer *w;    /* the output, while open */
    uint64_t size;
    uint64_t resume_from;     /* bytes before this are re-checked, not written */
    uint64_t pos;             /* next expected offset */
    uint64_t last_ckpt;
    uint64_t written;         /* bytes handed to the writer */
    uint64_t repaired;        /* bytes re-written because the re-check failed */
    XXH64_state_t *hash;      /* over the whole disk content */
    void *cmp;                /* read-back buffer for re-checks */
    size_t cmp_len;
    /* A writer that stages the image locally and uploads it on close
     * (qcow2 into a remote volume): once the content is complete there,
     * its digest is final and the upload checkpoints on its own. */
    bool staged;              /* the staged image holds the whole disk */
    uint64_t staged_size;     /* its size in bytes */
    uint64_t uploaded;        /* bytes the daemon has (the checkpoint) */
    uint64_t upload_from;     /* where this run's upload started */
    unsigned upload_decile;
    char digest[17];          /* xxh64 of the content, when staged */
};

static const char zeros[1 << 16];

static bool
copy_interrupted(const struct disk_copy *c)
{
    return c->ops->interrupted != NULL && c->ops->interrupted();
}

static void
copy_note(struct disk_copy *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
copy_note(struct disk_copy *c, const char *fmt, ...)
{
    va_list ap;

    if (c->ops->note == NULL)
        return;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    c->ops->note(c->opaque, msg);
}

static void
hash_zeros(XXH64_state_t *h, uint64_t len)
{
    while (len > 0) {
        size_t n = len < sizeof zeros ? (size_t)len : sizeof zeros;
        XXH64_update(h, zeros, n);
        len -= n;
    }
}

static bool
checkpoint(struct disk_copy *c, GError **error)
{
    if (c->pos <= c->last_ckpt || c->pos <= c->resume_from)
        return true;
    if (!disk_writer_flush(c->w, error))
        return false;
    if (!c->ops->checkpoint(c->opaque, c->pos, NULL, error))
        return false;
    c->last_ckpt = c->pos;
    return true;
}

/* Hash the output's first resume_from bytes into the digest (a resume
 * whose source starts at the checkpoint). */
static bool
hash_output(struct disk_copy *c, GError **error)
{
    const size_t chunk = 4u << 20;
    uint64_t off = 0;

    if (c->cmp_len < chunk) {
        g_free(c->cmp);
        c->cmp = g_malloc(chunk);
        c->cmp_len = chunk;
    }
    while (off < c->resume_from) {
        size_t n = (size_t)MIN((uint64_t)chunk, c->resume_from - off);
        if (!disk_writer_read(c->w, off, c->cmp, n, error))
            return false;
        XXH64_update(c->hash, c->cmp, n);
        off += n;
    }
    return true;
}

/* After each piece: progress, periodic checkpoint, interrupt check. */
static bool
advance(struct disk_copy *c, uint64_t new_pos, GError **error)
{
    c->pos = new_pos;
    if (c->ops->progress != NULL)
        c->ops->progress(c->opaque, c->pos, c->size);
    if (c->pos - c->last_ckpt >= c->interval && !checkpoint(c, error))
        return false;
    if (copy_interrupted(c)) {
        g_autoptr(GError) ck = NULL;
        if (!checkpoint(c, &ck)) {
            g_propagate_error(error, g_steal_pointer(&ck));
            return false;
        }
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERRUPTED,
                    "interrupted at %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes",
                    c->last_ckpt, c->size);
        return false;
    }
    return true;
}

/* Compare the output before the checkpoint with the re-read stream; a
 * difference is rewritten (and counted). */
static bool
recheck(struct disk_copy *c, uint64_t off, const void *buf, size_t len,
        GError **error)
{
    if (c->cmp_len < len) {
        g_free(c->cmp);
        c->cmp = g_malloc(len);
        c->cmp_len = len;
    }
    if (!disk_writer_read(c->w, off, c->cmp, len, error))
        return false;
    if (memcmp(c->cmp, buf, len) == 0)
        return true;
    c->repaired += len;
    c->written += len;
    /* zeroed first: a sparse writer skips the all-zero blocks of buf */
    return disk_writer_rezero(c->w, off, len, error) &&
           disk_writer_write(c->w, off, buf, len, error);
}

/* The same for a run of zeros before the checkpoint: a stretch of the
 * output that is not all zeros is zeroed again (and counted). */
static bool
recheck_zero(struct disk_copy *c, uint64_t off, uint64_t len, GError **error)
{
    const size_t chunk = 1u << 20;

    if (c->cmp_len < chunk) {
        g_free(c->cmp);
        c->cmp = g_malloc(chunk);
        c->cmp_len = chunk;
    }
    while (len > 0) {
        size_t n = (size_t)MIN((uint64_t)chunk, len);
        if (!disk_writer_read(c->w, off, c->cmp, n, error))
            return false;
        const unsigned char *b = c->cmp;
        if (!(b[0] == 0 && memcmp(b, b + 1, n - 1) == 0)) {
            if (!disk_writer_rezero(c->w, off, n, error))
                return false;
            c->repaired += n;
            c->written += n;
        }
        off += n;
        len -= n;
    }
    return true;
}

bool
disk_copy_data(struct disk_copy *c, uint64_t off, const void *buf,
               size_t len, GError **error)
{
    const char *p = buf;

    if (off != c->pos || off + len > c->size) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: disk data at %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT,
                    off, c->pos);
        return false;
    }
    XXH64_update(c->hash, buf, len);
    if (off < c->resume_from) {
        size_t head = c->resume_from - off < len ? (size_t)(c->resume_from - off) : len;
        if (!recheck(c, off, p, head, error))
            return false;
        off += head;
        p += head;
        len -= head;
    }
    if (len > 0) {
        if (!disk_writer_write(c->w, off, p, len, error))
            return false;
        c->written += len;
    }
    return advance(c, off + len, error);
}

bool
disk_copy_zero(struct disk_copy *c, uint64_t off, uint64_t len,
               GError **error)
{
    if (off != c->pos || off + len > c->size) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: disk zeros at %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT,
                    off, c->pos);
        return false;
    }
    hash_zeros(c->hash, len);
    if (off < c->resume_from &&
        !recheck_zero(c, off, MIN(len, c->resume_from - off), error))
        return false;
    if (off + len > c->resume_from) {
        uint64_t start = off < c->resume_from ? c->resume_from : off;
        if (!disk_writer_zero(c->w, start, off + len - start, error))
            return false;
    }
    return advance(c, off + len, error);
}

char *
disk_copy_detail(const struct disk_copy *c)
{
    struct json j;
    char *s;

    if (!c->staged)
        return NULL;
    json_init(&j, false);
    json_begin_object(&j);
    json_kv_uint(&j, "staged", c->staged_size);
    json_kv_uint(&j, "uploaded", c->uploaded);
    json_kv_string(&j, "xxh64", c->digest);
    json_kv_uint(&j, "written", c->written);
    json_kv_uint(&j, "repaired", c->repaired);
    json_end_object(&j);
    s = json_steal(&j);
    json_release(&j);
    return s;
}

/* The staged image's upload: checkpoint how far the daemon has it (the
 * position stays the disk's size: the content is complete), say how far
 * it got, stop on an interrupt. */
static bool
upload_checkpoint(void *opaque, uint64_t done, uint64_t total, GError **error)
{
    struct disk_copy *c = opaque;
    g_autofree char *d = size_format(done);
    g_autofree char *t = size_format(total);
    unsigned decile = total > 0 ? (unsigned)(done * 10 / total) : 10;
    bool first = c->staged_size == 0 || done == c->upload_from;

    c->staged_size = total;
    c->uploaded = done;
    g_autofree char *detail = disk_copy_detail(c);
    if (!c->ops->checkpoint(c->opaque, c->size, detail, error))
        return false;
    if (first && done == 0)
        copy_note(c, "uploading the staged %s image (%s)",
                  disk_format_name(c->format), t);
    else if (first)
        copy_note(c, "resuming the upload of the staged %s image at %s of %s",
                  disk_format_name(c->format), d, t);
    else if (decile > c->upload_decile)
        copy_note(c, "uploaded %u%% (%s of %s)", decile * 10, d, t);
    if (first || decile > c->upload_decile)
        c->upload_decile = decile;
    if (copy_interrupted(c)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERRUPTED,
                    "interrupted uploading the staged image at %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes",
                    done, total);
        return false;
    }
    return true;
}

bool
disk_copy_upload_at(const char *detail, uint64_t *uploaded, uint64_t *staged)
{
    g_autoptr(jval) j = detail != NULL ? jval_parse("checkpoint", detail, -1, NULL) : NULL;
    double s = jval_get_number(j, "staged", -1);
    double u = jval_get_number(j, "uploaded", -1);

    if (s <= 0 || u < 0 || u > s)
        return false;
    *staged = (uint64_t)s;
    *uploaded = (uint64_t)u;
    return true;
}

/* A checkpoint at the disk's end that records a staged upload: resume
 * that upload (the digest and counts are restored from it). */
static void
staged_resume(struct disk_copy *c, const char *detail)
{
    g_autoptr(jval) j = detail != NULL ? jval_parse("checkpoint", detail, -1, NULL) : NULL;
    const char *digest = jval_get_string(j, "xxh64", NULL);

    if (digest == NULL || strlen(digest) != 16 ||
        !disk_copy_upload_at(detail, &c->uploaded, &c->staged_size))
        return;
    c->staged = true;
    c->written = (uint64_t)jval_get_number(j, "written", 0);
    c->repaired = (uint64_t)jval_get_number(j, "repaired", 0);
    g_strlcpy(c->digest, digest, sizeof c->digest);
}

struct disk_copy *
disk_copy_new(const struct disk_copy_params *p,
              const struct disk_copy_ops *ops, void *opaque)
{
    struct disk_copy *c = g_new0(struct disk_copy, 1);

    c->ops = ops;
    c->opaque = opaque;
    c->name = p->name;
    c->source_name = p->source_name;
    c->format = p->format;
    c->interval = p->interval;
    c->seekable = p->seekable;
    c->size = p->size;
    if (p->position <= c->size)
        c->resume_from = p->position;
    if (p->position == c->size)
        staged_resume(c, p->detail);
    c->hash = XXH64_createState();
    return c;
}

uint64_t
disk_copy_resume_from(const struct disk_copy *c)
{
    return c->resume_from;
}

void
disk_copy_free(struct disk_copy *c)
{
    if (c == NULL)
        return;
    disk_writer_abort(c->w);
    XXH64_freeState(c->hash);
    g_free(c->cmp);
    g_free(c);
}

/* Start the copy over: no checkpoint holds, and the output is made
 * afresh. */
static bool
start_over(struct disk_copy *c, GError **error)
{
    c->resume_from = 0;
    c->staged = false;
    c->staged_size = 0;
    c->uploaded = 0;
    c->written = 0;
    c->repaired = 0;
    return c->ops->start_over == NULL || c->ops->start_over(c->opaque, error);
}

bool
disk_copy_run(struct disk_copy *c, struct disk_copy_stats *stats,
              GError **error)
{
    g_autoptr(GError) err = NULL;
    unsigned retries = 0;
    bool ok;

retry:
    XXH64_reset(c->hash, 0);
    c->pos = 0;
    c->w = c->ops->open_writer(c->opaque, c->resume_from, &err);
    if (c->w == NULL && c->resume_from > 0 &&
        g_error_matches(err, CONVOY_ERROR, CONVOY_ERROR_DRIFT)) {
        copy_note(c, "%s; starting the copy over", err->message);
        g_clear_error(&err);
        if (!start_over(c, error))
            return false;
        c->w = c->ops->open_writer(c->opaque, 0, &err);
    }
    if (c->w == NULL) {
        g_propagate_error(error, g_steal_pointer(&err));
        return false;
    }
    c->last_ckpt = c->resume_from;

    if (c->staged && !disk_writer_stages(c->w)) {
        /* Staged for an upload that this writer does not make (the
         * target now writes the volume's file here): start over. */
        disk_writer_abort(g_steal_pointer(&c->w));
        copy_note(c, "the checkpoint is of an upload this target no longer makes; starting the copy over");
        if (!start_over(c, error))
            return false;
        goto retry;
    }
    if (c->staged) {
        /* The staged image holds the whole disk: only its upload is
         * left, from the checkpoint. */
        c->upload_from = c->uploaded;
        disk_writer_set_upload(c->w, c->interval, c->uploaded,
                               c->staged_size, upload_checkpoint,
                               c->ops->interrupted, c);
        c->pos = c->size;
        ok = true;
    } else if (c->resume_from > 0 && c->seekable) {
        /* The source starts at the checkpoint (a volume download takes an
         * offset): the digest covers what is before it as the output
         * holds it. */
        copy_note(c, "the source stream starts at the checkpoint, %" G_GUINT64_FORMAT " bytes",
                  c->resume_from);
        ok = hash_output(c, &err);
        if (ok) {
            c->pos = c->resume_from;
            ok = c->ops->read(c->opaque, c->resume_from, c, &err);
        }
    } else {
        ok = c->ops->read(c->opaque, 0, c, &err);
    }
    if (ok && c->pos != c->size) {
        g_set_error(&err, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "disk '%s' ended at %" G_GUINT64_FORMAT " bytes, expected %" G_GUINT64_FORMAT,
                    c->source_name, c->pos, c->size);
        ok = false;
    }
    if (ok && !c->staged && disk_writer_stages(c->w)) {
        /* Everything is in the staged image: the digest is final, and
         * the upload checkpoints with it from here on. */
        g_snprintf(c->digest, sizeof c->digest, "%016" G_GINT64_MODIFIER "x",
                   (guint64)XXH64_digest(c->hash));
        c->staged = true;
        c->staged_size = 0;
        c->uploaded = 0;
        c->upload_from = 0;
        disk_writer_set_upload(c->w, c->interval, 0, 0, upload_checkpoint,
                               c->ops->interrupted, c);
    }
    if (ok)
        ok = disk_writer_close(g_steal_pointer(&c->w), &err);
    if (!ok && c->staged && c->upload_from > 0 &&
        g_error_matches(err, CONVOY_ERROR, CONVOY_ERROR_DRIFT)) {
        /* The staged image is not the one the upload started with. */
        copy_note(c, "%s; starting the copy over", err->message);
        g_clear_error(&err);
        if (!start_over(c, error))
            return false;
        goto retry;
    }
    if (!ok && retries < COPY_RECONNECTS && !copy_interrupted(c) &&
        g_error_matches(err, CONVOY_ERROR, CONVOY_ERROR_LIBVIRT)) {
        /* The connection dropped mid-copy: the writer's next open
         * reconnects (with backoff) and the copy resumes from the last
         * checkpoint, re-checking what is before it. */
        disk_writer_abort(g_steal_pointer(&c->w));
        retries++;
        copy_note(c, "%s; reconnecting and resuming %sfrom %" G_GUINT64_FORMAT " bytes (attempt %u of %u)",
                  err->message, c->staged ? "the upload " : "",
                  c->staged ? c->uploaded : c->last_ckpt,
                  retries, COPY_RECONNECTS);
        g_clear_error(&err);
        /* A staged image keeps its upload checkpoint instead. */
        c->resume_from = c->staged ? c->size : c->last_ckpt;
        goto retry;
    }
    if (!ok) {
        disk_writer_abort(g_steal_pointer(&c->w));
        g_prefix_error(&err, "disk '%s': ", c->name);
        g_propagate_error(error, g_steal_pointer(&err));
        return false;
    }

    if (c->staged)
        g_strlcpy(stats->xxh64, c->digest, sizeof stats->xxh64);
    else
        g_snprintf(stats->xxh64, sizeof stats->xxh64, "%016" G_GINT64_MODIFIER "x",
                   (guint64)XXH64_digest(c->hash));
    stats->written = c->written;
    stats->resumed_from = c->resume_from;
    stats->repaired = c->repaired;
    stats->staged = c->staged;
    stats->upload_from = c->upload_from;
    return true;
}
