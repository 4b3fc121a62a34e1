/* convoy plan: evaluate manifests against sources and state and show what
 * apply would do.  Changes nothing anywhere.  Exit 0: nothing to do,
 * 2: changes, 1: errors, 3: invalid manifest or rules. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "exec/exec.h"
#include "plan/plan.h"
#include "util/error.h"
#include "util/fileutil.h"

static void
inspect_progress(void *opaque, const char *vm, const char *what)
{
    cli_printf(stderr, "%s: inspecting the source disks: %s\n", vm, what);
}

int
cmd_plan(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("MANIFEST…");
    g_autoptr(manifest) m = NULL;
    g_autoptr(state) st = NULL;
    g_autoptr(plan) p = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *text = NULL;
    g_autofree char *opt_state = NULL;
    g_autofree char *opt_wave = NULL;
    g_autofree char *opt_out = NULL;
    g_autofree char *opt_vm = NULL;
    g_autoptr(GDateTime) now = NULL;
    gboolean opt_json = FALSE;
    gboolean opt_inspect = FALSE;
    gboolean opt_inspect_copy = FALSE;
    gboolean opt_verify = FALSE;
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "Print the plan as JSON", NULL},
        {"out", 'o', 0, G_OPTION_ARG_FILENAME, &opt_out, "Also save the plan to FILE, for 'convoy apply FILE'", "FILE"},
        {"inspect", 0, 0, G_OPTION_ARG_NONE, &opt_inspect, "Look inside the local source disks of VMs with guest fixup (read-only; one appliance each)", NULL},
        {"inspect-copy", 0, 0, G_OPTION_ARG_NONE, &opt_inspect_copy, "With --inspect: copy disks that are not local files (XVA, XenServer, streams) to a scratch folder to look inside", NULL},
        {"verify", 0, 0, G_OPTION_ARG_NONE, &opt_verify, "Read every finished disk in full and compare it with the hash its copy recorded", NULL},
        {"wave", 'w', 0, G_OPTION_ARG_STRING, &opt_wave, "Plan only this wave", "NAME"},
        {"vm", 0, 0, G_OPTION_ARG_STRING, &opt_vm, "Plan only this VM (or host move, by its domain)", "NAME"},
        {"state", 0, 0, G_OPTION_ARG_FILENAME, &opt_state, "State store (default: the manifest's state:)", "PATH"},
        G_OPTION_ENTRY_NULL,
    };
    int status;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(ctx, "Show what 'convoy apply' would do; change nothing.\nExit 0: nothing to do, 2: changes pending, 1: errors, 3: invalid manifest.");
    if (!cli_parse(ctx, &argc, &argv, "plan"))
        return CONVOY_EXIT_USAGE;
    if (opt_vm != NULL && opt_out != NULL)
        return cli_usage("plan", "--vm and --out cannot be combined: a saved plan is of whole waves");
    now = cli_now("plan", &status);
    if (now == NULL)
        return status;
    m = cli_load_manifest(argc, argv, "plan", &status);
    if (m == NULL)
        return status;
    st = state_open(cli_state_path(m, opt_state), false, true, &err);
    if (st == NULL)
        return cli_report(err);
    p = plan_evaluate_vm(m, st, opt_wave, opt_vm, &err);
    if (p == NULL)
        return cli_report(err);
    if (opt_verify && !plan_verify(p, st, &err))
        return cli_report(err);
    exec_plan_estimate(p, st, now, false);
    if (opt_inspect || opt_inspect_copy)
        plan_inspect_guests(p, opt_inspect_copy, inspect_progress, NULL);
    text = opt_json ? plan_render_json(p) : plan_render_text(p);
    if (opt_json)
        fputs(text, stdout);
    else
        cli_print(stdout, text);
    fflush(stdout);
    if (opt_out != NULL) {
        g_autofree char *saved = plan_saved_render(p, st);
        if (!file_write_atomic(opt_out, saved, strlen(saved), 0644, &err))
            return cli_report(err);
        if (!opt_json)
            printf("Saved the plan to '%s'; 'convoy apply %s' applies exactly this plan.\n", opt_out, opt_out);
    }
    if (p->errors->len > 0)
        return CONVOY_EXIT_FAILURE;
    return plan_has_changes(p) ? CONVOY_EXIT_CHANGES : CONVOY_EXIT_OK;
}
