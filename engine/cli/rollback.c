/* convoy rollback: undo what convoy made on the target for some VMs —
 * stop and undefine the domains it defined, delete the disks it created
 * (only those, as the state store records them), and forget their steps
 * so the next apply starts them afresh.  The source is never touched. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "cli/cli.h"
#include "util/json.h"
#include "util/jsonread.h"
#include "steps/steps.h"
#include "targets/targets.h"
#include "util/error.h"

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

/* Did convoy create this disk, on this target?  Targets that create
 * storage objects record it with a checkpoint or a done copy, naming the
 * target; on a directory target every copy that started wrote the file. */
static bool
disk_ours(struct state *st, struct target *t, const struct state_step_record *r,
          const char *loc)
{
    if (t->ops->create_disk == NULL)
        return true;
    return step_disk_owned(st, r->key, r, t, loc);
}

/* The define step's record of the domain (NULL when none): the name it
 * was defined under (*name), and whether it is still that domain on t. */
static const struct state_step_record *
defined_domain(GPtrArray *mine, struct target *t, const char *tname,
               char **name, char **why)
{
    for (guint i = 0; i < mine->len; i++) {
        const struct state_step_record *r = mine->pdata[i];
        g_autofree char *where = NULL;
        g_autofree char *uuid = NULL;

        if (strcmp(r->kind, step_domain_define.name) != 0)
            continue;
        *name = r->outputs != NULL ? json_lookup_string(r->outputs, "name") : NULL;
        if (*name == NULL)
            *name = g_strdup(tname);
        if (!step_domain_recorded(r, t, *name, &uuid, &where)) {
            *why = g_strdup_printf("convoy defined it as %s, not on this target", where);
        } else if (uuid != NULL && t->ops->domain_state != NULL) {
            struct target_domain_state ds = {0};
            if (t->ops->domain_state(t, *name, &ds, NULL) && ds.exists &&
                strcmp(ds.uuid, uuid) != 0)
                *why = g_strdup_printf("its uuid is %s, not the %s convoy defined", ds.uuid, uuid);
        }
        return r;
    }
    return NULL;
}

static bool
rollback_vm(struct state *st, int64_t run, const struct manifest *m,
            const struct manifest_vm *vm, bool keep_volumes, GError **error)
{
    const struct manifest_target *mt = manifest_find_target(m, vm->target);
    const char *tname = manifest_vm_target_name(vm);
    g_autoptr(target) t = NULL;
    g_autoptr(GPtrArray) rows = state_step_list(st, error);
    g_autofree char *prefix = g_strdup_printf("%s/", vm->name);
    g_autoptr(GPtrArray) mine = g_ptr_array_new();
    bool defined = false;

    if (rows == NULL)
        return false;
    for (guint i = 0; i < rows->len; i++) {
        struct state_step_record *r = rows->pdata[i];
        if (g_str_has_prefix(r->key, prefix))
            g_ptr_array_add(mine, r);
    }
    if (mine->len == 0) {
        printf("%s: nothing recorded; nothing to roll back\n", vm->name);
        return true;
    }
    t = target_open(mt, error);
    if (t == NULL)
        return false;

    g_autofree char *dname = NULL;
    g_autofree char *dwhy = NULL;
    defined = defined_domain(mine, t, tname, &dname, &dwhy) != NULL;
    if (defined && dwhy != NULL) {
        g_autofree char *loc = t->ops->domain_location(t, dname);
        printf("%s: left domain %s alone: %s\n", vm->name, loc, dwhy);
    } else if (defined) {
        g_autofree char *loc = t->ops->domain_location(t, dname);
        bool removed = false;

        if (t->ops->remove_domain == NULL) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                        "target '%s' cannot remove domains", mt->name);
            return false;
        }
        if (!t->ops->remove_domain(t, dname, &removed, error)) {
            g_prefix_error(error, "vm '%s': ", vm->name);
            return false;
        }
        printf("%s: %s domain %s\n", vm->name,
               removed ? "stopped (if running) and removed" : "no longer has a", loc);
        state_event(st, run, NULL, "rollback",
                    removed ? "domain removed" : "domain already absent", NULL);
    }
    for (guint i = 0; i < mine->len; i++) {
        const struct state_step_record *r = mine->pdata[i];
        g_autofree char *loc = NULL;
        bool removed = false;

        if (strcmp(r->kind, step_disk_copy.name) != 0)
            continue;
        loc = inputs_value(r->inputs, "location");
        if (keep_volumes) {
            printf("%s: kept disk %s\n", vm->name, loc != NULL ? loc : r->key);
            continue;
        }
        if (loc != NULL && disk_ours(st, t, r, loc)) {
            if (t->ops->remove_disk == NULL) {
                g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                            "target '%s' cannot remove disks", mt->name);
                return false;
            }
            if (!t->ops->remove_disk(t, loc, &removed, error)) {
                g_prefix_error(error, "vm '%s': ", vm->name);
                return false;
            }
            printf("%s: %s disk %s\n", vm->name,
                   removed ? "deleted" : "no longer has", loc);
            state_event(st, run, r->key, "rollback",
                        removed ? "disk deleted" : "disk already absent", NULL);
        } else if (loc != NULL) {
            printf("%s: left disk %s alone: convoy did not create it on this target\n",
                   vm->name, loc);
        }
    }
    /* A direct-boot kernel and initrd that guest-fixup copied out go with
     * the disks. */
    for (guint i = 0; i < mine->len && !keep_volumes; i++) {
        const struct state_step_record *r = mine->pdata[i];
        g_autoptr(jval) out = NULL;

        if (strcmp(r->kind, step_guest_fixup.name) != 0 || r->outputs == NULL ||
            (out = jval_parse(r->key, r->outputs, -1, NULL)) == NULL)
            continue;
        for (guint k = 0; k < 2; k++) {
            const char *f = jval_get_string(out, k == 0 ? "kernel" : "initrd", NULL);
            if (f != NULL && g_unlink(f) == 0)
                printf("%s: deleted %s\n", vm->name, f);
        }
    }
    /* Forget the steps, so the next apply does them afresh; with
     * --keep-volumes the copies stay done and are not redone, and so does
     * their fix-up (the kept disks hold it: fixing them again could apply
     * a rule twice). */
    for (guint i = 0; i < mine->len; i++) {
        const struct state_step_record *r = mine->pdata[i];

        if (keep_volumes && (strcmp(r->kind, step_disk_copy.name) == 0 ||
                             strcmp(r->kind, step_guest_fixup.name) == 0))
            continue;
        if (!state_step_forget(st, r->key, error))
            return false;
    }
    return true;
}

static bool
confirm(void)
{
    char line[16];

    fputs("Roll these VMs back? Only 'yes' is accepted: ", stdout);
    fflush(stdout);
    if (fgets(line, sizeof line, stdin) == NULL)
        return false;
    return strcmp(g_strstrip(line), "yes") == 0;
}

int
cmd_rollback(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("MANIFEST VM…");
    g_autoptr(manifest) m = NULL;
    g_autoptr(state) st = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *opt_state = NULL;
    g_autofree char *command = NULL;
    gboolean opt_keep = FALSE;
    gboolean opt_yes = FALSE;
    GOptionEntry entries[] = {
        {"keep-volumes", 0, 0, G_OPTION_ARG_NONE, &opt_keep, "Keep the disks convoy created (remove only the domains)", NULL},
        {"yes", 'y', 0, G_OPTION_ARG_NONE, &opt_yes, "Do not ask for confirmation", NULL},
        {"state", 0, 0, G_OPTION_ARG_FILENAME, &opt_state, "State store (default: the manifest's state:)", "PATH"},
        G_OPTION_ENTRY_NULL,
    };
    int64_t run;
    bool ok = true;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(ctx, "Undo what convoy made on the target for these VMs: stop and undefine their domains,\ndelete the disks convoy created, and forget their steps.  The source is never touched.");
    if (!cli_parse(ctx, &argc, &argv, "rollback"))
        return CONVOY_EXIT_USAGE;
    if (argc < 3)
        return cli_usage("rollback", "expected a MANIFEST and at least one VM");
    m = manifest_load((const char *const *)argv + 1, 1, &err);
    if (m == NULL)
        return cli_report(err);
    for (int i = 2; i < argc; i++) {
        if (manifest_find_vm(m, argv[i]) == NULL) {
            g_set_error(&err, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                        "vm '%s' is not in the manifest", argv[i]);
            return cli_report(err);
        }
    }
    st = state_open(cli_state_path(m, opt_state), false, false, &err);
    if (st == NULL)
        return cli_report(err);
    {
        g_autofree char *args = g_strjoinv(" ", argv + 1);
        command = g_strdup_printf("convoy rollback %s%s", args,
                                  opt_keep ? " --keep-volumes" : "");
    }
    if (!state_lock(st, command, &err))
        return cli_report(err);
    if (!opt_yes) {
        if (!isatty(STDIN_FILENO)) {
            fprintf(stderr, "convoy: error: refusing to roll back without confirmation: standard input is not a terminal; pass --yes\n");
            return CONVOY_EXIT_USAGE;
        }
        if (!confirm()) {
            printf("Not rolled back.\n");
            return CONVOY_EXIT_OK;
        }
    }
    run = state_run_begin(st, command, &err);
    if (run < 0)
        return cli_report(err);
    for (int i = 2; i < argc && ok; i++) {
        if (!rollback_vm(st, run, m, manifest_find_vm(m, argv[i]), opt_keep, &err))
            ok = false;
    }
    state_run_end(st, run, ok ? "ok" : "failed", NULL);
    if (!ok)
        return cli_report(err);
    return CONVOY_EXIT_OK;
}
