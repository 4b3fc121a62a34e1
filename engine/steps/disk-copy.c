/* disk-copy: wire one source disk to its target image through the copy
 * engine (engine/disk/copy.c), which checkpoints and resumes; the step
 * creates and claims the disk and records the checkpoints. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib.h>

#include "disk/disk.h"
#include "steps/steps.h"
#include "util/interrupt.h"
#include "util/error.h"
#include "util/fileutil.h"
#include "util/json.h"
#include "util/jsonread.h"
#include "util/size.h"

#define OWNER_FILE ".convoy-owner"

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
    enum disk_format f = ps->vm->mvm->disk_format;
    uint64_t image = disk_image_size(f, ps->disk->sdisk->size);

    if (image != ps->disk->sdisk->size)
        return g_strdup_printf("%s %s (%s, %s) → %s (note: %" G_GUINT64_FORMAT " bytes is not a whole number of 512-byte sectors; the qcow2 image is %" G_GUINT64_FORMAT " bytes, the tail reads as zeros)",
                               ps->disk->sdisk->id, sz, disk_format_name(f),
                               disk_allocation_name(ps->vm->mvm->allocation),
                               ps->disk->location, ps->disk->sdisk->size, image);
    return g_strdup_printf("%s %s (%s, %s) → %s", ps->disk->sdisk->id, sz,
                           disk_format_name(f),
                           disk_allocation_name(ps->vm->mvm->allocation),
                           ps->disk->location);
}

/* The local path of the disk at location on t, or NULL when the target's
 * disks are not files here (their identity is not checked). */
static char *
output_path(struct target *t, const char *location)
{
    if (t->ops->disks_local != NULL && !t->ops->disks_local(t))
        return NULL;
    if (t->ops->local_disk_path != NULL)
        return t->ops->local_disk_path(t, location, NULL);
    return g_strdup(location);
}

/* The identity the disk at location had when convoy last wrote it: as
 * guest-fixup left it (it repairs the disks in place, and records them),
 * else as this step's outputs record it.  false when none is recorded
 * (outputs of an older convoy), when the VM was started on the target
 * (its guest writes to its disks now), or when a fix-up did not finish
 * (the taint check redoes the disk): then only the size is checked.
 * *fixed: guest-fixup's, whose content is no longer the copy's. */
static bool
recorded_identity(const struct plan_step *ps, const struct jval *out,
                  struct disk_identity *id, bool *fixed)
{
    *fixed = false;
    for (guint k = 0; ps->vm->steps != NULL && k < ps->vm->steps->len; k++) {
        const struct plan_step *f = ps->vm->steps->pdata[k];
        if (f->ops == &step_domain_start && f->rec != NULL &&
            f->rec->status == STATE_STEP_DONE)
            return false;
        /* A fix-up that did not finish changed the disk: the plan's
         * taint check redoes it, saying so. */
        if (f->ops == &step_guest_fixup && f->rec != NULL &&
            f->rec->status != STATE_STEP_DONE)
            return false;
    }
    for (guint k = 0; ps->vm->steps != NULL && k < ps->vm->steps->len; k++) {
        const struct plan_step *f = ps->vm->steps->pdata[k];
        if (f->ops != &step_guest_fixup || f->rec == NULL ||
            f->rec->status != STATE_STEP_DONE || f->rec->outputs == NULL)
            continue;
        g_autoptr(jval) fo = jval_parse(f->key, f->rec->outputs, -1, NULL);
        const struct jval *disks = jval_get(fo, "disks");
        if (disks != NULL && disk_identity_read(jval_get(disks, ps->disk->location), id)) {
            *fixed = true;
            return true;
        }
    }
    return disk_identity_read(jval_get(out, "identity"), id);
}

static bool
copy_probe(const struct plan_step *ps, struct target *t, const char *outputs,
           char **why)
{
    struct disk_identity id;
    bool fixed = false;

    if (!t->ops->disk_present(t, ps->disk->location, ps->vm->mvm->disk_format,
                              ps->disk->sdisk->size)) {
        *why = g_strdup_printf("output '%s' is missing or has the wrong size",
                               ps->disk->location);
        return false;
    }
    g_autofree char *path = output_path(t, ps->disk->location);
    g_autoptr(jval) out = outputs != NULL ? jval_parse(ps->key, outputs, -1, NULL) : NULL;
    if (path == NULL || out == NULL || !recorded_identity(ps, out, &id, &fixed))
        return true;
    *why = disk_identity_drift(path, &id);
    if (*why != NULL)
        return false;
    /* plan --verify: the whole content against the copy's own hash (a
     * disk guest-fixup repaired has only its sampled identity). */
    const char *want = jval_get_string(out, "xxh64", NULL);
    if (ps->vm->verify && !fixed && want != NULL) {
        char have[17];
        g_autoptr(GError) err = NULL;
        if (!disk_content_xxh64(path, ps->vm->mvm->disk_format, have, &err)) {
            *why = g_strdup_printf("output '%s' cannot be verified: %s", path, err->message);
            return false;
        }
        if (strcmp(have, want) != 0) {
            *why = g_strdup_printf("output '%s' differs from what convoy wrote (xxh64 %s, recorded %s)",
                                   path, have, want);
            return false;
        }
    }
    return true;
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

/* The owner mark's path on t, or NULL (no mark on this kind). */
static char *
owner_path(const struct target *t)
{
    if (t->mt->kind != MANIFEST_TARGET_DIRECTORY || t->mt->path == NULL)
        return NULL;
    return g_build_filename(t->mt->path, OWNER_FILE, NULL);
}

/* The value of "key VALUE" in the mark's text; new string or NULL. */
static char *
owner_value(const char *text, const char *key)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_autofree char *prefix = g_strconcat(key, " ", NULL);

    for (size_t i = 0; lines[i] != NULL; i++) {
        if (g_str_has_prefix(lines[i], prefix))
            return g_strdup(lines[i] + strlen(prefix));
    }
    return NULL;
}

/* Whose outputs t holds: *theirs (new string) the other store's id,
 * *where its path; false when the mark is missing or st's own. */
static bool
owner_other(struct state *st, const struct target *t, char **path_out,
            char **theirs, char **where)
{
    g_autofree char *path = owner_path(t);
    g_autofree char *text = NULL;

    if (path == NULL || !g_file_get_contents(path, &text, NULL, NULL))
        return false;
    g_autofree char *id = owner_value(text, "store_id");
    g_autofree char *ours = state_store_id(st, NULL);
    if (id != NULL && ours != NULL && strcmp(id, ours) == 0)
        return false;
    *theirs = id != NULL ? g_steal_pointer(&id) : g_strdup("?");
    *where = owner_value(text, "state");
    if (*where == NULL)
        *where = g_strdup("?");
    *path_out = g_steal_pointer(&path);
    return true;
}

bool
step_owner_conflict(struct state *st, const struct target *t, char **problem)
{
    g_autofree char *path = NULL, *theirs = NULL, *where = NULL;

    if (!owner_other(st, t, &path, &theirs, &where))
        return false;
    *problem = g_strdup_printf("target '%s': folder '%s' holds the outputs of another state store ('%s', store id %s; see '%s'), not of '%s': apply from the checkout that made them, or move them away and delete '%s'",
                               t->mt->name, t->mt->path, where, theirs, path,
                               state_path(st), path);
    return true;
}

bool
step_owner_mark(struct state *st, const struct target *t, GError **error)
{
    g_autofree char *problem = NULL;
    g_autofree char *path = owner_path(t);

    if (path == NULL)
        return true;
    if (step_owner_conflict(st, t, &problem)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONFLICT, "%s", problem);
        return false;
    }
    if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
        return true;
    g_autofree char *id = state_store_id(st, error);
    if (id == NULL) {
        if (error != NULL && *error == NULL)
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                        "internal error: state '%s' has no store id", state_path(st));
        return false;
    }
    g_autofree char *abs = g_path_is_absolute(state_path(st))
        ? g_canonicalize_filename(state_path(st), NULL) : g_strdup(state_path(st));
    g_autofree char *text = g_strdup_printf(
        "# convoy: the outputs in this folder belong to this state store\nstore_id %s\nstate %s\n",
        id, abs);
    if (g_mkdir_with_parents(t->mt->path, 0755) == -1) {
        int errsv = errno;
        g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(errsv),
                    "cannot create directory '%s': %s", t->mt->path, g_strerror(errsv));
        return false;
    }
    return file_write_atomic(path, text, strlen(text), 0644, error);
}

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
 * location on t; followed, in the same object, by the members of the
 * copy engine's detail (copy, a JSON object json.c wrote, may be NULL:
 * how far a staged image's upload got and what a resume of it
 * restores).  New string. */
static char *
claim_detail(const struct target *t, const char *location, const char *copy)
{
    g_autofree char *id = target_identity(t);
    struct json j;

    json_init(&j, false);
    json_begin_object(&j);
    json_kv_bool(&j, "created", true);
    json_kv_string(&j, "target", id);
    json_kv_string(&j, "location", location);
    json_end_object(&j);
    g_autofree char *claim = json_steal(&j);
    json_release(&j);
    if (copy == NULL || copy[0] != '{' || copy[1] == '}')
        return g_steal_pointer(&claim);
    /* {…,"location":"L"} and {"staged":…} make {…,"location":"L","staged":…} */
    claim[strlen(claim) - 1] = '\0';
    return g_strconcat(claim, ",", copy + 1, NULL);
}

/* Targets with storage objects (libvirt volumes, directory files) create
 * the disk first, then record that convoy did (a checkpoint with detail
 * "created"), which the plan's conflict check and rollback rely on. */
static bool
create_disk(struct plan_step *ps, struct step_ctx *ctx, bool replace,
            bool keep, uint64_t position, const char *copy, GError **error)
{
    struct plan_vm *v = ps->vm;

    if (v->tgt->ops->create_disk == NULL)
        return true;
    /* Claim the disk before creating it: a kill -9 between the two then
     * leaves a claimed disk (convoy's), never an unrecorded one that the
     * next plan would call a conflict.  A conflict found here (a volume
     * that appeared since the plan) withdraws the claim. */
    g_autofree char *claim = claim_detail(v->tgt, ps->disk->location, copy);
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

/* The copy engine's callbacks: the step and its context. */
struct copy_wiring {
    struct plan_step *ps;
    struct step_ctx *ctx;
};

static bool
sink_data(void *opaque, uint64_t off, const void *buf, size_t len,
          GError **error)
{
    return disk_copy_data(opaque, off, buf, len, error);
}

static bool
sink_zero(void *opaque, uint64_t off, uint64_t len, GError **error)
{
    return disk_copy_zero(opaque, off, len, error);
}

static bool
copy_read(void *opaque, uint64_t start, struct disk_copy *c, GError **error)
{
    static const struct source_sink sink = {
        .data = sink_data,
        .zero = sink_zero,
    };
    struct plan_step *ps = ((struct copy_wiring *)opaque)->ps;
    struct plan_vm *v = ps->vm;

    if (start > 0)
        return v->src->ops->copy_disk_from(v->src, v->sv, ps->disk->sdisk,
                                           start, &sink, c, error);
    return v->src->ops->copy_disk(v->src, v->sv, ps->disk->sdisk, &sink, c,
                                  error);
}

static struct disk_writer *
copy_open_writer(void *opaque, uint64_t resume_from, GError **error)
{
    struct copy_wiring *cw = opaque;
    struct plan_step *ps = cw->ps;
    struct plan_vm *v = ps->vm;
    struct disk_writer *w;

    w = v->tgt->ops->open_writer(v->tgt, ps->disk->location,
                                 v->mvm->disk_format, v->mvm->allocation,
                                 ps->disk->sdisk->size, resume_from, error);
    if (w == NULL || resume_from > 0)
        return w;
    /* A disk copied afresh has not been repaired (nor half-repaired) by
     * guest-fixup: whatever its record said no longer holds. */
    g_autofree char *fix = step_key(&step_guest_fixup, v->mvm->name, NULL);
    if (!state_step_forget(cw->ctx->st, fix, error)) {
        disk_writer_abort(w);
        return NULL;
    }
    return w;
}

/* Start the copy over: the target's disk is made afresh. */
static bool
copy_start_over(void *opaque, GError **error)
{
    struct copy_wiring *cw = opaque;

    return create_disk(cw->ps, cw->ctx, true, false, 0, NULL, error);
}

static bool
copy_checkpoint(void *opaque, uint64_t position, const char *detail,
                GError **error)
{
    struct copy_wiring *cw = opaque;
    struct plan_step *ps = cw->ps;
    const struct target *t = ps->vm->tgt;
    g_autofree char *claim = detail != NULL || t->ops->create_disk != NULL
        ? claim_detail(t, ps->disk->location, detail) : NULL;

    return state_checkpoint_put(cw->ctx->st, ps->key, position, claim, error);
}

static void
copy_progress(void *opaque, uint64_t done, uint64_t total)
{
    struct copy_wiring *cw = opaque;
    const struct step_observer *obs = cw->ctx->obs;

    if (obs != NULL && obs->step_progress != NULL)
        obs->step_progress(obs->opaque, cw->ps, done, total);
}

static void
copy_note(void *opaque, const char *msg)
{
    struct copy_wiring *cw = opaque;
    const struct step_observer *obs = cw->ctx->obs;

    if (obs != NULL && obs->note != NULL)
        obs->note(obs->opaque, cw->ps, msg);
}

static bool
copy_apply(struct plan_step *ps, struct step_ctx *ctx, char **outputs,
           GError **error)
{
    static const struct disk_copy_ops ops = {
        .read = copy_read,
        .open_writer = copy_open_writer,
        .start_over = copy_start_over,
        .checkpoint = copy_checkpoint,
        .progress = copy_progress,
        .note = copy_note,
        .interrupted = interrupt_requested,
    };
    struct plan_vm *v = ps->vm;
    struct copy_wiring cw = {
        .ps = ps,
        .ctx = ctx,
    };
    g_autoptr(state_checkpoint) ck = NULL;
    g_autoptr(disk_copy) c = NULL;
    struct disk_copy_stats stats;
    gint64 t0 = g_get_monotonic_time();
    bool owned;

    ck = state_checkpoint_get(ctx->st, ps->key, error);
    if (ck == NULL && error != NULL && *error != NULL)
        return false;
    struct disk_copy_params p = {
        .name = ps->disk->dev,
        .source_name = ps->disk->sdisk->id,
        .format = v->mvm->disk_format,
        .size = ps->disk->sdisk->size,
        .interval = ctx->checkpoint_interval,
        .seekable = ps->disk->sdisk->seekable &&
                    v->src->ops->copy_disk_from != NULL,
        .position = ck != NULL ? ck->position : 0,
        .detail = ck != NULL ? ck->detail : NULL,
    };
    /* The target's folder is this store's from the first write on: a
     * second checkout (another store) then refuses it. */
    if (!step_owner_mark(ctx->st, v->tgt, error))
        return false;
    c = disk_copy_new(&p, &ops, &cw);
    /* The target's disk is ours when a checkpoint or a done record says
     * convoy created it there (or the manifest adopts it): the record as
     * the plan read it (a redo of a done copy), or as it is now (an
     * earlier attempt of this apply, a retry, claimed and created it). */
    g_autoptr(state_step_record) rec = state_step_get(ctx->st, ps->key, NULL);
    owned = v->mvm->adopt ||
            step_disk_owned(ctx->st, ps->key, ps->rec, v->tgt, ps->disk->location) ||
            step_disk_owned(ctx->st, ps->key, rec, v->tgt, ps->disk->location);
    /* The plan's "replace": the disk an earlier attempt made at another
     * location (disk_format or a rename changed it) goes first. */
    if (ps->old_output != NULL && ps->old_removed) {
        bool removed = false;

        if (!v->tgt->ops->remove_disk(v->tgt, ps->old_output, &removed, error)) {
            g_prefix_error(error, "disk '%s': removing the earlier output: ", ps->disk->dev);
            return false;
        }
        if (removed) {
            g_autofree char *msg = g_strdup_printf("removed %s, which %s replaces",
                                                   ps->old_output, ps->disk->location);
            state_event(ctx->st, ctx->run_id, ps->key, "replaced", msg, NULL);
            copy_note(&cw, msg);
        }
    }
    uint64_t resume_from = disk_copy_resume_from(c);
    g_autofree char *staged = disk_copy_detail(c);
    if (!create_disk(ps, ctx, owned, resume_from > 0, resume_from, staged,
                     error))
        return false;
    if (!disk_copy_run(c, &stats, error))
        return false;
    /* What the finished file is, so that the plan sees a later edit. */
    struct disk_identity id;
    g_autofree char *path = output_path(v->tgt, ps->disk->location);
    if (path != NULL && !disk_identity_of(path, &id, error)) {
        g_prefix_error(error, "disk '%s': ", ps->disk->dev);
        return false;
    }

    double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
    struct json j;

    json_init(&j, false);
    json_begin_object(&j);
    g_autofree char *tid = target_identity(v->tgt);
    json_kv_string(&j, "location", ps->disk->location);
    json_kv_string(&j, "target", tid);
    json_kv_bool(&j, "created", v->tgt->ops->create_disk != NULL);
    json_kv_uint(&j, "size", p.size);
    json_kv_string(&j, "xxh64", stats.xxh64);
    json_kv_uint(&j, "written", stats.written);
    json_kv_uint(&j, "resumed_from", stats.resumed_from);
    json_kv_uint(&j, "repaired", stats.repaired);
    if (stats.staged)
        json_kv_uint(&j, "upload_from", stats.upload_from);
    json_key(&j, "seconds");
    json_double(&j, secs);
    if (path != NULL) {
        json_key(&j, "identity");
        disk_identity_json(&j, &id);
    }
    json_end_object(&j);
    *outputs = json_steal(&j);
    json_release(&j);
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

/* Rollback: delete the disk convoy created -- on targets that create
 * storage objects (libvirt volumes, directory files), only one its record
 * claims on this target; else every copy that started wrote it.  With
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

/* Do locations a and b differ only in their file name's extension
 * ("out/web1-vda.raw", "out/web1-vda.qcow2")? */
static bool
same_but_format(const char *a, const char *b)
{
    const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
    const char *da = strrchr(sa != NULL ? sa : a, '.');
    const char *db = strrchr(sb != NULL ? sb : b, '.');
    size_t la = da != NULL ? (size_t)(da - a) : strlen(a);
    size_t lb = db != NULL ? (size_t)(db - b) : strlen(b);

    return la == lb && strncmp(a, b, la) == 0;
}

/* The plan's "replace" or "leave": the disk an earlier attempt of this
 * step made at another location than this one's (disk_format, volumes:
 * or a rename changed it), when it is still there.  Apply removes it when
 * it is the same disk in another format and convoy made it (as rollback
 * would); else it is left. */
static char *
copy_old_output(const struct plan_step *ps, struct state *st, bool *removed)
{
    struct target *t = ps->vm->tgt;
    g_autofree char *loc = NULL;
    g_autofree char *fmt = NULL;
    g_autofree char *size = NULL;
    g_autofree char *path = NULL;
    enum disk_format f = DISK_FORMAT_RAW;
    guint64 sz = 0;
    bool there;

    *removed = false;
    if (ps->rec == NULL || t == NULL)
        return NULL;
    loc = inputs_value(ps->rec->inputs, "location");
    if (loc == NULL || strcmp(loc, ps->disk->location) == 0)
        return NULL;
    fmt = inputs_value(ps->rec->inputs, "disk_format");
    size = inputs_value(ps->rec->inputs, "source_disk_size");
    if (fmt != NULL && !disk_format_parse(fmt, &f))
        f = DISK_FORMAT_RAW;
    if (size != NULL)
        g_ascii_string_to_unsigned(size, 10, 0, G_MAXUINT64, &sz, NULL);
    /* A half-written file has the wrong size: a local file counts
     * whatever its size. */
    path = output_path(t, loc);
    there = path != NULL ? g_file_test(path, G_FILE_TEST_EXISTS)
                         : t->ops->disk_present(t, loc, f, sz);
    if (!there)
        return NULL;
    /* Only the same disk in another format is replaced; a disk the
     * manifest now names otherwise (volumes:, rename:) is left where it
     * is, as the operator may still want it. */
    *removed = same_but_format(loc, ps->disk->location) &&
               t->ops->remove_disk != NULL &&
               (t->ops->create_disk == NULL ||
                step_disk_owned(st, ps->key, ps->rec, t, loc));
    return g_steal_pointer(&loc);
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
    .old_output = copy_old_output,
    .checkpointed = true,
    .retryable = true,
    .inputs = copy_inputs,
    .describe = copy_describe,
    .probe = copy_probe,
    .apply = copy_apply,
};
