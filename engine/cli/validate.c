/* convoy validate: load and check manifests (and the rule sets they name)
 * without touching sources, targets or state. */
#include "config.h"

#include <stdio.h>

#include "cli/cli.h"
#include "plan/plan.h"
#include "util/error.h"

int
cmd_validate(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("MANIFEST…");
    g_autoptr(manifest) m = NULL;
    gboolean quiet = FALSE;
    GOptionEntry entries[] = {
        {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing when valid", NULL},
        G_OPTION_ENTRY_NULL,
    };
    int status;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(ctx, "Check manifests: syntax, keys, types, references. Exit 0 when valid, 3 when not.");
    if (!cli_parse(ctx, &argc, &argv, "validate"))
        return CONVOY_EXIT_USAGE;
    m = cli_load_manifest(argc, argv, "validate", &status);
    if (m == NULL)
        return status;
    {
        g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
        if (!plan_check_rules(m, errors)) {
            for (guint i = 0; i < errors->len; i++)
                cli_printf(stderr, "%s\n", (const char *)errors->pdata[i]);
            return CONVOY_EXIT_INVALID;
        }
    }
    if (!quiet) {
        g_autofree char *moves = m->moves->len == 0 ? g_strdup("")
            : g_strdup_printf(", %u move%s", m->moves->len, m->moves->len == 1 ? "" : "s");
        printf("valid: %u file%s, %u source%s, %u target%s, %u wave%s, %u VM%s%s\n",
               m->files->len, m->files->len == 1 ? "" : "s",
               m->sources->len, m->sources->len == 1 ? "" : "s",
               m->targets->len, m->targets->len == 1 ? "" : "s",
               m->waves->len, m->waves->len == 1 ? "" : "s",
               m->vms->len, m->vms->len == 1 ? "" : "s", moves);
    }
    return CONVOY_EXIT_OK;
}
