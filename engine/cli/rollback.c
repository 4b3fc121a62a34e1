/* convoy rollback: undo what convoy made on the target for some VMs —
 * stop and undefine the domains it defined, delete the disks it created
 * (only those, as the state store records them), and forget their steps
 * so the next apply starts them afresh.  The source is never touched. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "steps/steps.h"
#include "targets/targets.h"
#include "util/error.h"

static void
say_line(void *opaque, const char *msg)
{
    cli_printf(stdout, "%s\n", msg);
}

/* Each step kind undoes what its records say convoy made (steps/: the
 * domain first, then what guest-fixup copied out, then the disks), and
 * the records it lets go are forgotten, so the next apply starts afresh. */
static bool
rollback_vm(struct state *st, int64_t run, const struct manifest *m,
            const struct manifest_vm *vm, bool keep_volumes, GError **error)
{
    const struct manifest_target *mt = manifest_find_target(m, vm->target);
    g_autoptr(target) t = NULL;
    g_autoptr(GPtrArray) rows = state_step_list(st, error);
    g_autofree char *prefix = g_strdup_printf("%s/", vm->name);
    g_autoptr(GPtrArray) mine = g_ptr_array_new();

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

    struct step_undo_ctx u = {
        .st = st,
        .run_id = run,
        .t = t,
        .vm = vm,
        .keep_volumes = keep_volumes,
        .say = say_line,
    };
    return step_undo_vm(mine, &u, error);
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
    cli_manifest_warnings(m);
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
