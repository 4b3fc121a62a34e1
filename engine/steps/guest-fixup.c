/* guest-fixup: repair the guest inside the copied disks so it boots on
 * KVM — one libguestfs appliance per VM, the guest rule sets whose when:
 * matches the inspection facts, then (for a filesystem on the whole disk)
 * the kernel and initrd copied out for a direct kernel boot.
 *
 * The step changes its dependencies' outputs (the disks) in place, so an
 * attempt that did not finish leaves them half-repaired: the plan then
 * copies the disks again before the next fix-up (modifies_deps), and a
 * fresh copy forgets the fix-up's record (disk-copy.c). */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "convert/convert.h"
#include "disk/disk.h"
#include "guest/guest.h"
#include "steps/steps.h"
#include "util/interrupt.h"
#include "util/error.h"
#include "util/json.h"
#include "util/jsonread.h"

static char *
fixup_inputs(const struct plan_step *ps)
{
    const struct plan_vm *v = ps->vm;
    const struct manifest_guest *g = &v->mvm->guest;
    g_autoptr(GString) disks = g_string_new(NULL);
    g_autoptr(GString) sets = g_string_new(NULL);
    g_autoptr(GString) names = g_string_new(NULL);

    for (guint i = 0; i < v->disks->len; i++) {
        const struct plan_disk *d = v->disks->pdata[i];
        g_string_append_printf(disks, "%s%s=%s", i ? " " : "", d->dev, d->location);
    }
    for (guint i = 0; i < v->guest_sets->len; i++) {
        const struct guest_rule_set *rs = v->guest_sets->pdata[i];
        g_string_append_printf(sets, "%s%s@%u:%s", i ? " " : "", guest_rule_set_name(rs),
                               guest_rule_set_version(rs), guest_rule_set_digest(rs));
    }
    for (guint i = 0; i < g->rules->len; i++)
        g_string_append_printf(names, "%s%s", i ? " " : "", (const char *)g->rules->pdata[i]);
    /* The drivers the converted domain needs decide the initrd rebuild:
     * a domain whose disk bus changes is repaired again. */
    g_auto(GStrv) drivers = step_guest_fixup_drivers(v);
    g_autofree char *dl = drivers != NULL ? g_strjoinv(" ", drivers) : g_strdup("");
    return g_strdup_printf("boot=%s\ndisk_format=%s\ndisks=%s\ndrivers=%s\nrule_sets=%s\n"
                           "rules=%s\ntarget=%s\ntimeout=%u\n",
                           manifest_guest_boot_name(g->boot),
                           disk_format_name(v->mvm->disk_format), disks->str, dl, sets->str,
                           names->str, manifest_vm_target_name(v->mvm), g->timeout);
}

static char *
fixup_describe(const struct plan_step *ps)
{
    const struct plan_vm *v = ps->vm;
    g_autoptr(GString) s = g_string_new("rules ");
    g_autoptr(jval) out = NULL;

    for (guint i = 0; i < v->guest_sets->len; i++) {
        const struct guest_rule_set *rs = v->guest_sets->pdata[i];
        g_string_append_printf(s, "%s%s@%u", i ? ", " : "", guest_rule_set_name(rs),
                               guest_rule_set_version(rs));
    }
    if (v->guest_sets->len == 0)
        g_string_append(s, "none");
    g_string_append_printf(s, " (by inspection facts); boot %s",
                           manifest_guest_boot_name(v->mvm->guest.boot));
    /* What the last attempt found in this guest, when there was one. */
    if (ps->rec != NULL && ps->rec->outputs != NULL &&
        (out = jval_parse("outputs", ps->rec->outputs, -1, NULL)) != NULL) {
        const struct jval *f = jval_get(out, "facts");
        const char *summary = jval_get_string(out, "summary", NULL);
        if (f != NULL && summary != NULL)
            g_string_append_printf(s, "; last seen: %s", summary);
    }
    if (v->guest_inspect != NULL)
        g_string_append_printf(s, "; %s", v->guest_inspect);
    return g_string_free(g_steal_pointer(&s), FALSE);
}

static bool
fixup_probe(const struct plan_step *ps, struct target *t, const char *outputs, char **why)
{
    g_autoptr(jval) out = jval_parse("outputs", outputs, -1, NULL);
    const char *kernel = out != NULL ? jval_get_string(out, "kernel", NULL) : NULL;
    const char *initrd = out != NULL ? jval_get_string(out, "initrd", NULL) : NULL;

    if (kernel != NULL && !g_file_test(kernel, G_FILE_TEST_IS_REGULAR)) {
        *why = g_strdup_printf("the direct-boot kernel %s is missing", kernel);
        return false;
    }
    if (initrd != NULL && !g_file_test(initrd, G_FILE_TEST_IS_REGULAR)) {
        *why = g_strdup_printf("the direct-boot initrd %s is missing", initrd);
        return false;
    }
    return true;
}

struct fixup_run {
    struct plan_step *ps;
    struct step_ctx *ctx;
};

static void
fixup_note(void *opaque, const char *what)
{
    struct fixup_run *r = opaque;

    if (r->ctx->obs != NULL && r->ctx->obs->note != NULL)
        r->ctx->obs->note(r->ctx->obs->opaque, r->ps, what);
}

static enum guest_boot
boot_of(enum manifest_guest_boot b)
{
    switch (b) {
    case MANIFEST_GUEST_BOOT_BOOTLOADER:
        return GUEST_BOOT_BOOTLOADER;
    case MANIFEST_GUEST_BOOT_DIRECT:
        return GUEST_BOOT_DIRECT;
    case MANIFEST_GUEST_BOOT_KEEP:
        return GUEST_BOOT_KEEP;
    case MANIFEST_GUEST_BOOT_AUTO:
    default:
        return GUEST_BOOT_AUTO;
    }
}

static enum guest_tcg
tcg_of(enum manifest_guest_tcg t)
{
    switch (t) {
    case MANIFEST_GUEST_TCG_ON:
        return GUEST_TCG_ON;
    case MANIFEST_GUEST_TCG_OFF:
        return GUEST_TCG_OFF;
    case MANIFEST_GUEST_TCG_AUTO:
    default:
        return GUEST_TCG_AUTO;
    }
}

void
step_guest_fixup_opts(const struct manifest_guest *g, struct guest_opts *opts)
{
    opts->boot = boot_of(g->boot);
    opts->tcg = tcg_of(g->tcg);
    opts->timeout = g->timeout;
}

char **
step_guest_fixup_drivers(const struct plan_vm *v)
{
    if (v->kvm_xml == NULL)
        return NULL;
    return convert_domain_guest_drivers(v->kvm_xml, NULL);
}

static char *
outputs_json(GHashTable *facts, GPtrArray *applied, GPtrArray *changes,
             const struct guest_boot_files *boot, const GArray *timings)
{
    g_autofree char *fj = guest_facts_json(facts);
    g_autofree char *sets_json = guest_rule_sets_json(applied);
    g_autofree char *sum = guest_facts_summary(facts);
    struct json j;
    char *text;

    json_init(&j, false);
    json_begin_object(&j);
    json_key(&j, "facts");
    json_raw(&j, fj);
    json_kv_string(&j, "summary", sum);
    json_key(&j, "rule_sets");
    json_raw(&j, sets_json);
    json_key(&j, "changes");
    json_begin_array(&j);
    for (guint i = 0; i < changes->len; i++) {
        const struct guest_change *c = changes->pdata[i];
        g_autofree char *line = g_strdup_printf("%s %s:%u %s: %s", c->set, c->file, c->line,
                                                c->rule_id, c->what);
        json_string(&j, line);
    }
    json_end_array(&j);
    if (boot->kernel != NULL) {
        json_kv_string(&j, "kernel", boot->kernel);
        json_kv_string(&j, "initrd", boot->initrd);
        json_kv_string(&j, "cmdline", boot->cmdline);
    }
    {
        g_autofree char *tj = guest_timings_json(timings);
        json_key(&j, "timings");
        json_raw(&j, tj);
    }
    json_end_object(&j);
    text = json_steal(&j);
    json_release(&j);
    return text;
}

/* outputs (a JSON object) with "disks": the identity of every disk as the
 * fix-up left it, keyed by location: disk-copy's probe checks these
 * instead of its own (the fix-up changed the disks in place). */
static char *
with_disk_identities(char *outputs, const struct plan_vm *v, GPtrArray *paths,
                     GError **error)
{
    g_autofree char *o = outputs;
    struct json j;

    json_init(&j, false);
    json_begin_object(&j);
    for (guint i = 0; i < v->disks->len; i++) {
        const struct plan_disk *d = v->disks->pdata[i];
        struct disk_identity id;
        if (!disk_identity_of(paths->pdata[i], &id, error)) {
            json_release(&j);
            return NULL;
        }
        json_key(&j, d->location);
        disk_identity_json(&j, &id);
    }
    json_end_object(&j);
    g_autofree char *disks = json_steal(&j);
    json_release(&j);
    size_t n = strlen(o);
    if (n < 2 || o[n - 1] != '}')
        return g_steal_pointer(&o);
    o[n - 1] = '\0';
    return g_strdup_printf("%s%s\"disks\":%s}", o, n > 2 ? "," : "", disks);
}

static bool
fixup_apply(struct plan_step *ps, struct step_ctx *ctx, char **outputs, GError **error)
{
    struct plan_vm *v = ps->vm;
    struct fixup_run run = {.ps = ps, .ctx = ctx};
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GArray) disks = g_array_new(FALSE, TRUE, sizeof(struct guest_disk));
    g_autoptr(GPtrArray) applied = NULL;
    g_autoptr(GPtrArray) changes =
        g_ptr_array_new_with_free_func((GDestroyNotify)guest_change_free);
    g_autofree char *dir = NULL;
    struct guest_boot_files boot = {0};
    struct guest_opts opts = {
        .progress = fixup_note,
        .opaque = &run,
        .interrupted = interrupt_requested,
    };
    struct guest_session *gs;
    GHashTable *facts;
    g_auto(GStrv) drivers = step_guest_fixup_drivers(v);
    gint64 start;
    bool ok;

    step_guest_fixup_opts(&v->mvm->guest, &opts);
    opts.drivers = (const char *const *)drivers;

    for (guint i = 0; i < v->disks->len; i++) {
        const struct plan_disk *d = v->disks->pdata[i];
        char *path = v->tgt->ops->local_disk_path != NULL
                         ? v->tgt->ops->local_disk_path(v->tgt, d->location, error)
                         : g_strdup(d->location);
        struct guest_disk gd;

        if (path == NULL)
            return false;
        g_ptr_array_add(paths, path);
        gd.path = path;
        gd.format = disk_format_name(v->mvm->disk_format);
        gd.dev = d->dev;
        gd.xen_dev = d->sdisk != NULL ? d->sdisk->xen_dev : NULL;
        g_array_append_val(disks, gd);
    }
    if (disks->len == 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST,
                    "guest-fixup: vm '%s' has no disks to repair", v->mvm->name);
        return false;
    }
    guest_disks_sort((struct guest_disk *)(void *)disks->data, disks->len);
    gs = guest_open((const struct guest_disk *)(void *)disks->data, disks->len, &opts, error);
    if (gs == NULL)
        return false;
    facts = guest_facts(gs);
    applied = guest_rule_sets_matching(v->guest_sets, facts);
    {
        g_autofree char *sum = guest_facts_summary(facts);
        g_autofree char *names = guest_rule_set_names(applied);
        g_autofree char *msg = g_strdup_printf("%s; rule sets: %s", sum,
                                               names != NULL ? names : "none match");
        fixup_note(&run, msg);
        state_event(ctx->st, ctx->run_id, ps->key, "inspection", msg, NULL);
    }
    /* fixup: auto repairs what a rule set handles and refuses the rest,
     * so that no guest is moved unrepaired without the manifest saying
     * so. */
    if (applied->len == 0 && v->mvm->guest.fixup_auto) {
        g_autofree char *sum = guest_facts_summary(facts);
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST,
                    "vm '%s': no guest rule set repairs the guest found on its disks (%s); convoy repairs Linux guests only: make it ready for KVM yourself, then set guest: {fixup: false} for it",
                    v->mvm->name, sum);
        guest_close(gs, NULL);
        return false;
    }
    ok = guest_apply(gs, (struct guest_rule_set *const *)applied->pdata, applied->len, changes,
                     error);
    if (ok) {
        dir = g_path_get_dirname(paths->pdata[0]);
        ok = guest_export_boot(gs, dir, manifest_vm_target_name(v->mvm), &boot, error);
    }
    for (guint i = 0; i < changes->len; i++) {
        const struct guest_change *c = changes->pdata[i];
        g_autofree char *line = g_strdup_printf("%s %s:%u %s: %s", c->set, c->file, c->line,
                                                c->rule_id, c->what);
        state_event(ctx->st, ctx->run_id, ps->key, "guest-change", line, NULL);
    }
    if (!ok) {
        /* Flush what was done so the disk can be inspected as it is; the
         * next apply copies it again before fixing it. */
        guest_close(gs, NULL);
        guest_boot_files_clear(&boot);
        if (error != NULL && *error != NULL && (*error)->code != CONVOY_ERROR_INTERRUPTED)
            g_prefix_error(error, "vm '%s': ", v->mvm->name);
        return false;
    }
    {
        /* Timings so far (launch, inspect, initrd, each rule) as events;
         * the shutdown, which writes the changes out, comes after. */
        const GArray *tm = guest_timings(gs);
        for (guint i = 0; i < tm->len; i++) {
            const struct guest_timing *t = &g_array_index(tm, struct guest_timing, i);
            g_autofree char *line = g_strdup_printf("%s %.1f s", t->action, t->seconds);
            state_event(ctx->st, ctx->run_id, ps->key, "guest-timing", line, NULL);
        }
        *outputs = outputs_json(facts, applied, changes, &boot, tm);
    }
    guest_boot_files_clear(&boot);
    start = g_get_monotonic_time();
    if (!guest_close(gs, error)) {
        g_clear_pointer(outputs, g_free);
        return false;
    }
    {
        g_autofree char *line = g_strdup_printf(
            "shutdown %.1f s", (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC);
        g_autofree char *msg = g_strdup_printf("timing: %s", line);
        fixup_note(&run, msg);
        state_event(ctx->st, ctx->run_id, ps->key, "guest-timing", line, NULL);
    }
    *outputs = with_disk_identities(*outputs, v, paths, error);
    return *outputs != NULL;
}

/* Only for VMs with guest repair on (their guest rule sets). */
static bool
fixup_wanted(const struct plan_vm *v)
{
    return v->guest_sets != NULL;
}

/* Rollback: a direct-boot kernel and initrd that the fix-up copied out go
 * with the disks.  With --keep-volumes the record stays, so the kept,
 * repaired disks are not repaired again (a rule applied twice). */
static bool
fixup_undo(const struct state_step_record *r, const struct step_undo_ctx *u,
           bool *forget, GError **error)
{
    g_autoptr(jval) out = NULL;

    *forget = !u->keep_volumes;
    if (u->keep_volumes || r->outputs == NULL ||
        (out = jval_parse(r->key, r->outputs, -1, NULL)) == NULL)
        return true;
    for (guint k = 0; k < 2; k++) {
        const char *f = jval_get_string(out, k == 0 ? "kernel" : "initrd", NULL);
        if (f != NULL && g_unlink(f) == 0)
            step_undo_say(u, "%s: deleted %s", u->vm->name, f);
    }
    return true;
}

static const char *const fixup_after[] = {"disk-copy", NULL};

const struct step_ops step_guest_fixup = {
    .name = "guest-fixup",
    .version = 1,
    .scope = STEP_SCOPE_VM,
    .after = fixup_after,
    .wanted = fixup_wanted,
    .windowed = true,
    .undo = fixup_undo,
    .checkpointed = false,
    .retryable = false,
    .modifies_deps = true,
    /* An appliance launch, inspection, the rules and an initrd rebuild:
     * 1-2 minutes on a KVM host, more under TCG (docs/testing.md). */
    .default_seconds = 120,
    .inputs = fixup_inputs,
    .describe = fixup_describe,
    .probe = fixup_probe,
    .apply = fixup_apply,
};
