/* convoy state check: is the state store whole?  The full integrity
 * check of every page (state_check), beyond the cheap one every open
 * makes.  convoy state migrate --to URL: copy the store, checkpoints
 * included, into another backend (an SQLite store into PostgreSQL, so a
 * fleet that started on one machine continues on many). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/error.h"

static int
state_migrate(const char *from_loc, const char *to_loc)
{
    g_autoptr(state) from = NULL;
    g_autoptr(state) to = NULL;
    g_autoptr(GError) err = NULL;
    struct state_copy_counts n = {0};

    /* The source is locked for the copy: no apply changes it meanwhile;
     * and so is the destination, where workers may already wait. */
    from = state_open(from_loc, false, false, &err);
    if (from == NULL || !state_lock(from, "convoy state migrate", &err))
        return cli_report(err);
    to = state_open(to_loc, true, false, &err);
    if (to == NULL || !state_lock(to, "convoy state migrate", &err))
        return cli_report(err);
    if (!state_copy(from, to, &n, &err))
        return cli_report(err);
    printf("state '%s' copied to '%s': %u run%s, %u step%s, %u checkpoint%s, %u event%s; point the manifest's state: (or --state) at it: the original is left as it was\n",
           state_path(from), state_path(to), n.runs, n.runs == 1 ? "" : "s", n.steps,
           n.steps == 1 ? "" : "s", n.checkpoints, n.checkpoints == 1 ? "" : "s", n.events,
           n.events == 1 ? "" : "s");
    return CONVOY_EXIT_OK;
}

int
cmd_state(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("check|migrate [MANIFEST…]");
    g_autoptr(manifest) m = NULL;
    g_autoptr(state) st = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *opt_state = NULL;
    g_autofree char *opt_to = NULL;
    GOptionEntry entries[] = {
        {"state", 0, 0, G_OPTION_ARG_FILENAME, &opt_state, "State store (default: the manifest's state:)", "PATH"},
        {"to", 0, 0, G_OPTION_ARG_STRING, &opt_to, "migrate: the store to copy into (postgresql://…)", "URL"},
        G_OPTION_ENTRY_NULL,
    };
    const char *path;
    int status;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(ctx, "check: check every page of the state store (PRAGMA integrity_check); change nothing\nmigrate --to URL: copy the state store, checkpoints included, into an empty PostgreSQL project");
    if (!cli_parse(ctx, &argc, &argv, "state"))
        return CONVOY_EXIT_USAGE;
    if (argc < 2)
        return cli_usage("state", "expected check or migrate");
    bool migrate = strcmp(argv[1], "migrate") == 0;
    if (strcmp(argv[1], "check") != 0 && !migrate)
        return cli_usage("state", "unknown subcommand '%s'; expected check or migrate", argv[1]);
    if (migrate && opt_to == NULL)
        return cli_usage("state", "migrate: expected --to URL (postgresql://HOST/DATABASE)");
    if (!migrate && opt_to != NULL)
        return cli_usage("state", "--to is an option of migrate");
    if (opt_state == NULL || argc > 2) {
        m = cli_load_manifest(argc - 1, argv + 1, "state", &status);
        if (m == NULL)
            return status;
    }
    path = m != NULL ? cli_state_path(m, opt_state) : opt_state;
    if (migrate)
        return state_migrate(path, opt_to);
    st = state_open(path, false, true, &err);
    if (st == NULL || !state_check(st, true, &err))
        return cli_report(err);
    printf("state '%s': ok\n", state_path(st));
    return CONVOY_EXIT_OK;
}
