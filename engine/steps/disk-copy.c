/* disk-copy: stream one source disk into its target image, checkpointing
 * every interval; a resume re-reads the stream before the checkpoint,
 * re-checks the output there against it, and writes only after it — or,
 * for a source that can start at an offset (a libvirt volume download),
 * starts the stream at the checkpoint. */
#include "config.h"

#include <stdarg.h>
#include <string.h>
#include <xxhash.h>
#include <glib.h>

#include "steps/steps.h"
#include "util/interrupt.h"
#include "util/error.h"
#include "util/json.h"
#include "util/jsonread.h"
#include "util/size.h"

static char *
copy_inputs(const struct plan_step *ps)
{
    const struct plan_vm *v = ps->vm;
    const struct plan_disk *d = ps->disk;

    return g_strdup_printf("allocation=%s\ndev=%s\ndisk_format=%s\n"
                           "location=%s\nsource=%s\nsource_disk=%s\n"
                           "source_disk_size=%" G_GUINT64_FORMAT "\n%s",
                           disk_allocation_name(v->mvm->allocation),
                           d->dev, disk_format_name(v->mvm->disk_format),
                           d->location, v->msrc->name, d->sdisk->id,
                           d->sdisk->size, v->sv->identity);
}

static char *
copy_describe(const struct plan_step *ps)
{
    g_autofree char *sz = size_format(ps->disk->sdisk->size);

    return g_strdup_printf("%s %s (%s, %s) → %s", ps->disk->sdisk->id, sz,
                           disk_format_name(ps->vm->mvm->disk_format),
                           disk_allocation_name(ps->vm->mvm->allocation),
                           ps->disk->location);
}

static bool
copy_probe(const struct plan_step *ps, struct target *t, const char *outputs,
           char **why)
{
    if (t->ops->disk_present(t, ps->disk->location, ps->vm->mvm->disk_format,
                             ps->disk->sdisk->size))
        return true;
    *why = g_strdup_printf("output '%s' is missing or has the wrong size",
                           ps->disk->location);
    return false;
}

struct copy_run {
    struct plan_step *ps;
    struct step_ctx *ctx;
    struct disk_writer *w;
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

bool
step_disk_claimed(const struct state_checkpoint *ck)
{
    return ck != NULL &&
           (ck->detail == NULL || strcmp(ck->detail, STEP_DISK_NOT_OURS) != 0);
}

/* Does the JSON record (outputs, claim) name this target and location?
 * A member it lacks is not held against it. */
static bool
record_names(const char *json, const char *id, const char *location)
{
    g_autofree char *rid = json != NULL ? json_lookup_string(json, "target") : NULL;
    g_autofree char *rloc = json != NULL ? json_lookup_string(json, "location") : NULL;

    return (rid == NULL || strcmp(rid, id) == 0) &&
           (rloc == NULL || strcmp(rloc, location) == 0);
}

bool
step_disk_owned(struct state *st, const char *key,
                const struct state_step_record *rec, const struct target *t,
                const char *location)
{
    g_autofree char *id = target_identity(t);
    g_autoptr(state_checkpoint) ck = NULL;

    if (rec == NULL)
        return false;
    if (rec->status == STATE_STEP_DONE)
        return record_names(rec->outputs, id, location);
    ck = state_checkpoint_get(st, key, NULL);
    return step_disk_claimed(ck) && record_names(ck->detail, id, location);
}

/* The claim a checkpoint carries: convoy creates (created) the disk at
 * location on t; with a staged image (up, may be NULL) also how far its
 * upload got and what a resume of it restores.  New string. */
static char *
claim_detail(const struct target *t, const char *location,
             const struct copy_run *up)
{
    g_autofree char *id = target_identity(t);
    struct json j;
    char *s;

    json_init(&j, false);
    json_begin_object(&j);
    json_kv_bool(&j, "created", true);
    json_kv_string(&j, "target", id);
    json_kv_string(&j, "location", location);
    if (up != NULL && up->staged) {
        json_kv_uint(&j, "staged", up->staged_size);
        json_kv_uint(&j, "uploaded", up->uploaded);
        json_kv_string(&j, "xxh64", up->digest);
        json_kv_uint(&j, "written", up->written);
        json_kv_uint(&j, "repaired", up->repaired);
    }
    json_end_object(&j);
    s = json_steal(&j);
    json_release(&j);
    return s;
}

/* How often one copy reconnects to a target whose connection dropped. */
#define COPY_RECONNECTS 3

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
checkpoint(struct copy_run *c, GError **error)
{
    if (c->pos <= c->last_ckpt || c->pos <= c->resume_from)
        return true;
    if (!disk_writer_flush(c->w, error))
        return false;
    g_autofree char *claim = c->ps->vm->tgt->ops->create_disk != NULL
        ? claim_detail(c->ps->vm->tgt, c->ps->disk->location, NULL) : NULL;
    if (!state_checkpoint_put(c->ctx->st, c->ps->key, c->pos, claim, error))
        return false;
    c->last_ckpt = c->pos;
    return true;
}

/* Hash the output's first resume_from bytes into the digest (a resume
 * whose source starts at the checkpoint). */
static bool
hash_output(struct copy_run *c, GError **error)
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
advance(struct copy_run *c, uint64_t new_pos, GError **error)
{
    c->pos = new_pos;
    if (c->ctx->obs != NULL && c->ctx->obs->step_progress != NULL)
        c->ctx->obs->step_progress(c->ctx->obs->opaque, c->ps, c->pos, c->size);
    if (c->pos - c->last_ckpt >= c->ctx->checkpoint_interval &&
        !checkpoint(c, error))
        return false;
    if (interrupt_requested()) {
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
recheck(struct copy_run *c, uint64_t off, const void *buf, size_t len,
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
recheck_zero(struct copy_run *c, uint64_t off, uint64_t len, GError **error)
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

static bool
sink_data(void *opaque, uint64_t off, const void *buf, size_t len,
          GError **error)
{
    struct copy_run *c = opaque;
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

static bool
sink_zero(void *opaque, uint64_t off, uint64_t len, GError **error)
{
    struct copy_run *c = opaque;

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

/* Targets with storage objects (libvirt volumes) create the disk first,
 * then record that convoy did (a checkpoint with detail "created"), which
 * the plan's conflict check and rollback rely on. */
static bool
create_disk(struct plan_step *ps, struct step_ctx *ctx, bool replace,
            bool keep, uint64_t position, const struct copy_run *up,
            GError **error)
{
    struct plan_vm *v = ps->vm;

    if (v->tgt->ops->create_disk == NULL)
        return true;
    /* Claim the disk before creating it: a kill -9 between the two then
     * leaves a claimed disk (convoy's), never an unrecorded one that the
     * next plan would call a conflict.  A conflict found here (a volume
     * that appeared since the plan) withdraws the claim. */
    g_autofree char *claim = claim_detail(v->tgt, ps->disk->location, up);
    if (!state_checkpoint_put(ctx->st, ps->key, position, claim, error))
        return false;
    if (!v->tgt->ops->create_disk(v->tgt, ps->disk->location,
                                  v->mvm->disk_format, v->mvm->allocation,
                                  ps->disk->sdisk->size, replace, keep,
                                  error)) {
        if (g_error_matches(*error, CONVOY_ERROR, CONVOY_ERROR_CONFLICT))
            state_checkpoint_put(ctx->st, ps->key, 0, STEP_DISK_NOT_OURS, NULL);
        g_prefix_error(error, "disk '%s': ", ps->disk->dev);
        return false;
    }
    return true;
}

static void
copy_note(struct copy_run *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
copy_note(struct copy_run *c, const char *fmt, ...)
{
    va_list ap;

    if (c->ctx->obs == NULL || c->ctx->obs->note == NULL)
        return;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    c->ctx->obs->note(c->ctx->obs->opaque, c->ps, msg);
}

/* The staged image's upload: checkpoint how far the daemon has it (the
 * position stays the disk's size: the content is complete), say how far
 * it got, stop on an interrupt. */
static bool
upload_checkpoint(void *opaque, uint64_t done, uint64_t total, GError **error)
{
    struct copy_run *c = opaque;
    g_autofree char *d = size_format(done);
    g_autofree char *t = size_format(total);
    unsigned decile = total > 0 ? (unsigned)(done * 10 / total) : 10;
    bool first = c->staged_size == 0 || done == c->upload_from;

    c->staged_size = total;
    c->uploaded = done;
    g_autofree char *claim = claim_detail(c->ps->vm->tgt, c->ps->disk->location, c);
    if (!state_checkpoint_put(c->ctx->st, c->ps->key, c->size, claim, error))
        return false;
    if (first && done == 0)
        copy_note(c, "uploading the staged %s image (%s)",
                  disk_format_name(c->ps->vm->mvm->disk_format), t);
    else if (first)
        copy_note(c, "resuming the upload of the staged %s image at %s of %s",
                  disk_format_name(c->ps->vm->mvm->disk_format), d, t);
    else if (decile > c->upload_decile)
        copy_note(c, "uploaded %u%% (%s of %s)", decile * 10, d, t);
    if (first || decile > c->upload_decile)
        c->upload_decile = decile;
    if (interrupt_requested()) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERRUPTED,
                    "interrupted uploading the staged image at %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes",
                    done, total);
        return false;
    }
    return true;
}

bool
step_disk_upload_at(const char *detail, uint64_t *uploaded, uint64_t *staged)
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
staged_resume(struct copy_run *c, const char *detail)
{
    g_autoptr(jval) j = detail != NULL ? jval_parse("checkpoint", detail, -1, NULL) : NULL;
    const char *digest = jval_get_string(j, "xxh64", NULL);

    if (digest == NULL || strlen(digest) != 16 ||
        !step_disk_upload_at(detail, &c->uploaded, &c->staged_size))
        return;
    c->staged = true;
    c->written = (uint64_t)jval_get_number(j, "written", 0);
    c->repaired = (uint64_t)jval_get_number(j, "repaired", 0);
    g_strlcpy(c->digest, digest, sizeof c->digest);
}

/* Start the copy over: no checkpoint holds, and the target's disk is
 * made afresh. */
static bool
start_over(struct copy_run *c, GError **error)
{
    c->resume_from = 0;
    c->staged = false;
    c->staged_size = 0;
    c->uploaded = 0;
    c->written = 0;
    c->repaired = 0;
    return create_disk(c->ps, c->ctx, true, false, 0, NULL, error);
}

static bool
copy_apply(struct plan_step *ps, struct step_ctx *ctx, char **outputs,
           GError **error)
{
    static const struct source_sink sink = {
        .data = sink_data,
        .zero = sink_zero,
    };
    struct plan_vm *v = ps->vm;
    struct copy_run c = {
        .ps = ps,
        .ctx = ctx,
        .size = ps->disk->sdisk->size,
    };
    g_autoptr(state_checkpoint) ck = NULL;
    g_autoptr(GError) err = NULL;
    gint64 t0 = g_get_monotonic_time();
    unsigned retries = 0;
    bool owned;
    bool ok;

    ck = state_checkpoint_get(ctx->st, ps->key, error);
    if (ck == NULL && error != NULL && *error != NULL)
        return false;
    if (ck != NULL && ck->position <= c.size)
        c.resume_from = ck->position;
    if (ck != NULL && ck->position == c.size)
        staged_resume(&c, ck->detail);
    /* The target's disk is ours when a checkpoint or a done record says
     * convoy created it there (or the manifest adopts it). */
    owned = v->mvm->adopt ||
            step_disk_owned(ctx->st, ps->key, ps->rec, v->tgt, ps->disk->location);
    if (!create_disk(ps, ctx, owned, c.resume_from > 0, c.resume_from,
                     c.staged ? &c : NULL, error))
        return false;
    c.hash = XXH64_createState();
retry:
    XXH64_reset(c.hash, 0);
    c.pos = 0;
    c.w = v->tgt->ops->open_writer(v->tgt, ps->disk->location,
                                   v->mvm->disk_format, v->mvm->allocation,
                                   c.size, c.resume_from, &err);
    if (c.w == NULL && c.resume_from > 0 &&
        g_error_matches(err, CONVOY_ERROR, CONVOY_ERROR_DRIFT)) {
        if (ctx->obs != NULL && ctx->obs->note != NULL) {
            g_autofree char *msg = g_strdup_printf("%s; starting the copy over",
                                                   err->message);
            ctx->obs->note(ctx->obs->opaque, ps, msg);
        }
        g_clear_error(&err);
        if (!start_over(&c, error))
            return false;
        c.w = v->tgt->ops->open_writer(v->tgt, ps->disk->location,
                                       v->mvm->disk_format,
                                       v->mvm->allocation, c.size, 0, &err);
    }
    if (c.w == NULL) {
        XXH64_freeState(c.hash);
        g_free(c.cmp);
        g_propagate_error(error, g_steal_pointer(&err));
        return false;
    }
    c.last_ckpt = c.resume_from;
    /* A disk copied afresh has not been repaired (nor half-repaired) by
     * guest-fixup: whatever its record said no longer holds. */
    if (c.resume_from == 0) {
        g_autofree char *fix = g_strdup_printf("%s/%s", v->mvm->name, step_guest_fixup.name);
        if (!state_step_forget(ctx->st, fix, &err)) {
            disk_writer_abort(c.w);
            XXH64_freeState(c.hash);
            g_free(c.cmp);
            g_propagate_error(error, g_steal_pointer(&err));
            return false;
        }
    }

    if (c.staged && !disk_writer_stages(c.w)) {
        /* Staged for an upload that this writer does not make (the
         * target now writes the volume's file here): start over. */
        disk_writer_abort(g_steal_pointer(&c.w));
        copy_note(&c, "the checkpoint is of an upload this target no longer makes; starting the copy over");
        if (!start_over(&c, error)) {
            XXH64_freeState(c.hash);
            g_free(c.cmp);
            return false;
        }
        goto retry;
    }
    if (c.staged) {
        /* The staged image holds the whole disk: only its upload is
         * left, from the checkpoint. */
        c.upload_from = c.uploaded;
        disk_writer_set_upload(c.w, ctx->checkpoint_interval, c.uploaded,
                               c.staged_size, upload_checkpoint, interrupt_requested, &c);
        c.pos = c.size;
        ok = true;
    } else if (c.resume_from > 0 && ps->disk->sdisk->seekable &&
        v->src->ops->copy_disk_from != NULL) {
        /* The source starts at the checkpoint (a volume download takes an
         * offset): the digest covers what is before it as the output
         * holds it. */
        if (ctx->obs != NULL && ctx->obs->note != NULL) {
            g_autofree char *msg = g_strdup_printf("the source stream starts at the checkpoint, %" G_GUINT64_FORMAT " bytes",
                                                   c.resume_from);
            ctx->obs->note(ctx->obs->opaque, ps, msg);
        }
        ok = hash_output(&c, &err);
        if (ok) {
            c.pos = c.resume_from;
            ok = v->src->ops->copy_disk_from(v->src, v->sv, ps->disk->sdisk,
                                             c.resume_from, &sink, &c, &err);
        }
    } else {
        ok = v->src->ops->copy_disk(v->src, v->sv, ps->disk->sdisk, &sink, &c, &err);
    }
    if (ok && c.pos != c.size) {
        g_set_error(&err, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "disk '%s' ended at %" G_GUINT64_FORMAT " bytes, expected %" G_GUINT64_FORMAT,
                    ps->disk->sdisk->id, c.pos, c.size);
        ok = false;
    }
    if (ok && !c.staged && disk_writer_stages(c.w)) {
        /* Everything is in the staged image: the digest is final, and
         * the upload checkpoints with it from here on. */
        g_snprintf(c.digest, sizeof c.digest, "%016" G_GINT64_MODIFIER "x",
                   (guint64)XXH64_digest(c.hash));
        c.staged = true;
        c.staged_size = 0;
        c.uploaded = 0;
        c.upload_from = 0;
        disk_writer_set_upload(c.w, ctx->checkpoint_interval, 0, 0,
                               upload_checkpoint, interrupt_requested, &c);
    }
    if (ok) {
        ok = disk_writer_close(c.w, &err);
        c.w = NULL;
    }
    if (!ok && c.staged && c.upload_from > 0 &&
        g_error_matches(err, CONVOY_ERROR, CONVOY_ERROR_DRIFT)) {
        /* The staged image is not the one the upload started with. */
        copy_note(&c, "%s; starting the copy over", err->message);
        g_clear_error(&err);
        if (!start_over(&c, error)) {
            XXH64_freeState(c.hash);
            g_free(c.cmp);
            return false;
        }
        goto retry;
    }
    if (!ok && retries < COPY_RECONNECTS && !interrupt_requested() &&
        g_error_matches(err, CONVOY_ERROR, CONVOY_ERROR_LIBVIRT)) {
        /* The connection dropped mid-copy: the writer's next open
         * reconnects (with backoff) and the copy resumes from the last
         * checkpoint, re-checking what is before it. */
        disk_writer_abort(g_steal_pointer(&c.w));
        retries++;
        if (ctx->obs != NULL && ctx->obs->note != NULL) {
            g_autofree char *msg = g_strdup_printf("%s; reconnecting and resuming %sfrom %" G_GUINT64_FORMAT " bytes (attempt %u of %u)",
                                                   err->message,
                                                   c.staged ? "the upload " : "",
                                                   c.staged ? c.uploaded : c.last_ckpt,
                                                   retries, COPY_RECONNECTS);
            ctx->obs->note(ctx->obs->opaque, ps, msg);
        }
        g_clear_error(&err);
        /* A staged image keeps its upload checkpoint instead. */
        c.resume_from = c.staged ? c.size : c.last_ckpt;
        goto retry;
    }
    if (!ok) {
        disk_writer_abort(c.w);
        XXH64_freeState(c.hash);
        g_free(c.cmp);
        g_prefix_error(&err, "disk '%s': ", ps->disk->dev);
        g_propagate_error(error, g_steal_pointer(&err));
        return false;
    }

    double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
    struct json j;
    char digest[17];

    if (c.staged)
        g_strlcpy(digest, c.digest, sizeof digest);
    else
        g_snprintf(digest, sizeof digest, "%016" G_GINT64_MODIFIER "x",
                   (guint64)XXH64_digest(c.hash));
    json_init(&j, false);
    json_begin_object(&j);
    g_autofree char *tid = target_identity(v->tgt);
    json_kv_string(&j, "location", ps->disk->location);
    json_kv_string(&j, "target", tid);
    json_kv_bool(&j, "created", v->tgt->ops->create_disk != NULL);
    json_kv_uint(&j, "size", c.size);
    json_kv_string(&j, "xxh64", digest);
    json_kv_uint(&j, "written", c.written);
    json_kv_uint(&j, "resumed_from", c.resume_from);
    json_kv_uint(&j, "repaired", c.repaired);
    if (c.staged)
        json_kv_uint(&j, "upload_from", c.upload_from);
    json_key(&j, "seconds");
    json_double(&j, secs);
    json_end_object(&j);
    *outputs = json_steal(&j);
    json_release(&j);
    XXH64_freeState(c.hash);
    g_free(c.cmp);
    return true;
}

static uint64_t
copy_size(const struct plan_step *ps)
{
    return ps->disk->sdisk->size;
}

static void
copy_measured(const char *key, const char *outputs, double *bytes,
              double *seconds)
{
    g_autoptr(jval) o = jval_parse(key, outputs, -1, NULL);

    *bytes = jval_get_number(o, "size", 0);
    *seconds = jval_get_number(o, "seconds", 0);
}

/* The value of "key=" in canonical inputs text; new string or NULL. */
static char *
inputs_value(const char *inputs, const char *key)
{
    g_auto(GStrv) lines = g_strsplit(inputs != NULL ? inputs : "", "\n", -1);
    g_autofree char *prefix = g_strconcat(key, "=", NULL);

    for (size_t i = 0; lines[i] != NULL; i++) {
        if (g_str_has_prefix(lines[i], prefix))
            return g_strdup(lines[i] + strlen(prefix));
    }
    return NULL;
}

/* Rollback: delete the disk convoy created -- on targets that create
 * storage objects, only one its record claims on this target; on a
 * directory target every copy that started wrote the file.  With
 * --keep-volumes the disk and its record stay (the copy is not redone). */
static bool
copy_undo(const struct state_step_record *r, const struct step_undo_ctx *u,
          bool *forget, GError **error)
{
    struct target *t = u->t;
    g_autofree char *loc = inputs_value(r->inputs, "location");
    bool removed = false;

    *forget = !u->keep_volumes;
    if (u->keep_volumes) {
        step_undo_say(u, "%s: kept disk %s", u->vm->name, loc != NULL ? loc : r->key);
        return true;
    }
    if (loc == NULL)
        return true;
    if (t->ops->create_disk != NULL && !step_disk_owned(u->st, r->key, r, t, loc)) {
        step_undo_say(u, "%s: left disk %s alone: convoy did not create it on this target",
                      u->vm->name, loc);
        return true;
    }
    if (t->ops->remove_disk == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "target '%s' cannot remove disks", t->mt->name);
        return false;
    }
    if (!t->ops->remove_disk(t, loc, &removed, error)) {
        g_prefix_error(error, "vm '%s': ", u->vm->name);
        return false;
    }
    step_undo_say(u, "%s: %s disk %s", u->vm->name, removed ? "deleted" : "no longer has", loc);
    state_event(u->st, u->run_id, r->key, "rollback",
                removed ? "disk deleted" : "disk already absent", NULL);
    return true;
}

static const char *const copy_after[] = {"source-shutdown", NULL};

const struct step_ops step_disk_copy = {
    .name = "disk-copy",
    .version = 1,
    .scope = STEP_SCOPE_DISK,
    .after = copy_after,
    .windowed = true,
    .copy_size = copy_size,
    .copy_measured = copy_measured,
    .undo = copy_undo,
    .checkpointed = true,
    .retryable = true,
    .inputs = copy_inputs,
    .describe = copy_describe,
    .probe = copy_probe,
    .apply = copy_apply,
};
