/* convoy plan --inspect: look inside the source disks of every VM with
 * guest: {fixup: true}, before anything is copied, so that the reviewer
 * sees which guest is found on them and which guest rule sets will
 * change it.
 *
 * Disks this host reads as files or block devices are inspected where
 * they are (libvirtxml, xl, and libvirt disks read by path).  An XVA
 * export, a XenServer VDI or a volume stream is read only by copying it:
 * with copy set, its disks are copied (raw, sparse) into a scratch folder
 * under TMPDIR that is removed afterwards; without, those VMs say why they
 * were not inspected.  The appliance opens the disks read-only (libguestfs
 * puts a throw-away overlay in front of them), so the source is never
 * written.  Nothing is recorded: plan still changes nothing anywhere. */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "disk/disk.h"
#include "guest/guest.h"
#include "plan/plan.h"
#include "sources/sources.h"
#include "steps/steps.h"
#include "util/json.h"

/* Why v's disks cannot be inspected before the copy, or NULL. */
static char *
not_local(const struct plan_vm *v)
{
    for (guint i = 0; i < v->disks->len; i++) {
        const struct plan_disk *d = v->disks->pdata[i];
        if (!d->sdisk->local)
            return g_strdup_printf("disk %s of source '%s' (%s) is not a local file or device; it is read only by copying it, and its facts come with the first fix-up",
                                   d->sdisk->xen_dev, v->msrc->name,
                                   manifest_source_kind_name(v->msrc->kind));
    }
    return NULL;
}

static char *
inspection_json(GHashTable *facts, const char *summary, GPtrArray *matched)
{
    struct json j;
    g_autofree char *fj = guest_facts_json(facts);
    g_autofree char *sets_json = guest_rule_sets_json(matched);
    char *text;

    json_init(&j, false);
    json_begin_object(&j);
    json_kv_string(&j, "summary", summary);
    json_key(&j, "facts");
    json_raw(&j, fj);
    json_key(&j, "rule_sets");
    json_raw(&j, sets_json);
    json_end_object(&j);
    text = json_steal(&j);
    json_release(&j);
    return text;
}

static char *
error_json(const char *key, const char *message)
{
    struct json j;
    char *text;

    json_init(&j, false);
    json_begin_object(&j);
    json_kv_string(&j, key, message);
    json_end_object(&j);
    text = json_steal(&j);
    json_release(&j);
    return text;
}

struct inspect_note {
    const struct plan_vm *v;
    void (*progress)(void *opaque, const char *vm, const char *what);
    void *opaque;
};

static void
on_note(void *opaque, const char *what)
{
    struct inspect_note *n = opaque;

    if (n->progress != NULL)
        n->progress(n->opaque, n->v->mvm->name, what);
}

static bool
scratch_data(void *opaque, uint64_t offset, const void *buf, size_t len, GError **error)
{
    if (disk_is_zero(buf, len))
        return true; /* a fresh sparse file reads as zeros already */
    return disk_writer_write(opaque, offset, buf, len, error);
}

static bool
scratch_zero(void *opaque, uint64_t offset, uint64_t len, GError **error)
{
    return true;
}

/* Copy v's disks into dir as raw sparse files; their paths go to paths. */
static bool
scratch_copy(struct plan_vm *v, const char *dir, GPtrArray *paths, struct inspect_note *note,
             GError **error)
{
    static const struct source_sink sink = {.data = scratch_data, .zero = scratch_zero};

    for (guint i = 0; i < v->disks->len; i++) {
        const struct plan_disk *d = v->disks->pdata[i];
        g_autofree char *path = g_strdup_printf("%s/%s.raw", dir, d->dev);
        g_autofree char *what = g_strdup_printf("copying disk %s (%.1f MiB) to a scratch folder",
                                                d->sdisk->xen_dev,
                                                (double)d->sdisk->size / (1024.0 * 1024.0));
        struct disk_writer *w;
        bool ok;

        on_note(note, what);
        w = disk_writer_open(path, DISK_FORMAT_RAW, DISK_ALLOCATION_SPARSE, d->sdisk->size, 0,
                             error);
        if (w == NULL)
            return false;
        ok = v->src->ops->copy_disk(v->src, v->sv, d->sdisk, &sink, w, error);
        if (!ok) {
            disk_writer_abort(w);
            return false;
        }
        if (!disk_writer_close(w, error))
            return false;
        g_ptr_array_add(paths, g_steal_pointer(&path));
    }
    return true;
}

/* Remove the scratch folder and what is in it. */
static void
scratch_remove(const char *dir)
{
    g_autoptr(GDir) dh = g_dir_open(dir, 0, NULL);
    const char *name;

    while (dh != NULL && (name = g_dir_read_name(dh)) != NULL) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        g_unlink(p);
    }
    g_rmdir(dir);
}

static void
inspect_failed(struct plan_vm *v, const char *what, const char *message)
{
    g_clear_pointer(&v->guest_inspect, g_free);
    g_clear_pointer(&v->guest_inspect_json, g_free);
    v->guest_inspect = g_strdup_printf("inspection failed: %s%s", what, message);
    v->guest_inspect_json = error_json("error", message);
}

/* Open disks read-only and record what the guest on them is. */
static void
inspect_disks(struct plan *p, struct plan_vm *v, GArray *disks, bool from_copy,
              struct inspect_note *note)
{
    struct guest_opts opts = {0};
    g_autoptr(GPtrArray) matched = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *names = NULL;
    g_autofree char *summary = NULL;
    struct guest_session *gs;
    GHashTable *facts;
    g_auto(GStrv) drivers = step_guest_fixup_drivers(v);

    step_guest_fixup_opts(&v->mvm->guest, &opts);
    opts.drivers = (const char *const *)drivers;
    opts.read_only = true;
    opts.progress = on_note;
    opts.opaque = note;
    gs = guest_open((const struct guest_disk *)(void *)disks->data, disks->len, &opts, &err);
    if (gs == NULL) {
        inspect_failed(v, "", err->message);
        g_ptr_array_add(p->warnings,
                        g_strdup_printf("vm '%s': guest inspection of the source disks failed, so its guest-fixup would fail too: %s",
                                        v->mvm->name, err->message));
        return;
    }
    facts = guest_facts(gs);
    matched = guest_rule_sets_matching(v->guest_sets, facts);
    names = guest_rule_set_names(matched);
    summary = guest_facts_summary(facts);
    v->guest_inspect = g_strdup_printf("inspected now%s: %s; rule sets that match: %s",
                                       from_copy ? " (from a scratch copy)" : "", summary,
                                       names != NULL ? names : "none");
    v->guest_inspect_json = inspection_json(facts, summary, matched);
    if (matched->len == 0)
        g_ptr_array_add(p->warnings,
                        g_strdup_printf("vm '%s': no guest rule set matches the guest found on its disks (%s); its guest-fixup would change nothing but the boot",
                                        v->mvm->name, summary));
    if (!guest_close(gs, &err))
        inspect_failed(v, "", err->message);
}

/* Inspect one VM, through a scratch copy when its disks are not local
 * (and copy is set); the outcome goes to v->guest_inspect(_json). */
static void
inspect_vm(struct plan *p, struct plan_vm *v, bool copy,
           void (*progress)(void *opaque, const char *vm, const char *what), void *opaque)
{
    struct inspect_note note = {.v = v, .progress = progress, .opaque = opaque};
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GArray) disks = g_array_new(FALSE, TRUE, sizeof(struct guest_disk));
    g_autoptr(GError) err = NULL;
    g_autofree char *why = not_local(v);
    g_autofree char *scratch = NULL;

    if (why != NULL && !copy) {
        v->guest_inspect = g_strdup_printf("not inspected: %s (plan --inspect-copy copies it to look)", why);
        v->guest_inspect_json = error_json("not_inspected", why);
        return;
    }
    if (why != NULL) {
        scratch = g_dir_make_tmp("convoy-inspect-XXXXXX", &err);
        if (scratch == NULL || !scratch_copy(v, scratch, paths, &note, &err)) {
            inspect_failed(v, "cannot copy the disks to look: ", err->message);
            g_ptr_array_add(p->warnings,
                            g_strdup_printf("vm '%s': cannot copy its disks for the guest inspection: %s",
                                            v->mvm->name, err->message));
            if (scratch != NULL)
                scratch_remove(scratch);
            return;
        }
    }
    for (guint i = 0; i < v->disks->len; i++) {
        const struct plan_disk *d = v->disks->pdata[i];
        struct guest_disk gd = {.path = d->sdisk->id, .format = disk_format_name(d->sdisk->format),
                                .dev = d->dev, .xen_dev = d->sdisk->xen_dev};

        if (scratch != NULL) {
            gd.path = paths->pdata[i];
            gd.format = "raw";
        }
        g_array_append_val(disks, gd);
    }
    guest_disks_sort((struct guest_disk *)(void *)disks->data, disks->len);
    inspect_disks(p, v, disks, scratch != NULL, &note);
    if (scratch != NULL)
        scratch_remove(scratch);
}

unsigned
plan_inspect_guests(struct plan *p, bool copy,
                    void (*progress)(void *opaque, const char *vm, const char *what),
                    void *opaque)
{
    unsigned n = 0;

    for (guint i = 0; i < p->vms->len; i++) {
        struct plan_vm *v = p->vms->pdata[i];
        const struct plan_step *fix = NULL;

        if (v->guest_sets == NULL || v->sv == NULL || v->error != NULL || v->move != NULL)
            continue;
        for (guint k = 0; k < v->steps->len; k++) {
            const struct plan_step *s = v->steps->pdata[k];
            if (s->ops == &step_guest_fixup)
                fix = s;
        }
        /* Done: its record already says what was found and changed. */
        if (fix == NULL || fix->action == PLAN_ACTION_DONE)
            continue;
        inspect_vm(p, v, copy, progress, opaque);
        n++;
    }
    return n;
}
