/* convoy state check: is the state store whole?  The full integrity
 * check of every page (state_check), beyond the cheap one every open
 * makes. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/error.h"

int
cmd_state(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("check [MANIFEST…]");
    g_autoptr(manifest) m = NULL;
    g_autoptr(state) st = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *opt_state = NULL;
    GOptionEntry entries[] = {
        {"state", 0, 0, G_OPTION_ARG_FILENAME, &opt_state, "State store (default: the manifest's state:)", "PATH"},
        G_OPTION_ENTRY_NULL,
    };
    const char *path;
    int status;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(ctx, "check: check every page of the state store (PRAGMA integrity_check); change nothing");
    if (!cli_parse(ctx, &argc, &argv, "state"))
        return CONVOY_EXIT_USAGE;
    if (argc < 2)
        return cli_usage("state", "expected check");
    if (strcmp(argv[1], "check") != 0)
        return cli_usage("state", "unknown subcommand '%s'; expected check", argv[1]);
    if (opt_state == NULL || argc > 2) {
        m = cli_load_manifest(argc - 1, argv + 1, "state", &status);
        if (m == NULL)
            return status;
    }
    path = m != NULL ? cli_state_path(m, opt_state) : opt_state;
    st = state_open(path, false, true, &err);
    if (st == NULL || !state_check(st, true, &err))
        return cli_report(err);
    printf("state '%s': ok\n", state_path(st));
    return CONVOY_EXIT_OK;
}
