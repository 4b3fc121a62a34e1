/* convoy init: a migration repository skeleton (manifests/, rules/, a
 * .gitignore for the state store, the CI workflow and the cron and
 * systemd files of examples/fleet), written without overwriting
 * anything. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/init-files.h"
#include "util/error.h"
#include "util/fileutil.h"

static const char *const init_dirs[] = {"manifests", "rules/domain", "rules/guest", NULL};

int
cmd_init(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("[DIR]");
    GOptionEntry entries[] = {
        G_OPTION_ENTRY_NULL,
    };
    const char *dir;
    unsigned made = 0;
    unsigned kept = 0;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(ctx, "Write a migration repository skeleton in DIR (default: the current folder); existing files are kept.");
    if (!cli_parse(ctx, &argc, &argv, "init"))
        return CONVOY_EXIT_USAGE;
    if (argc > 2)
        return cli_usage("init", "expected at most one DIR");
    dir = argc == 2 ? argv[1] : ".";
    for (size_t i = 0; init_dirs[i] != NULL; i++) {
        g_autofree char *path = g_build_filename(dir, init_dirs[i], NULL);

        if (g_mkdir_with_parents(path, 0755) < 0) {
            int e = errno;
            cli_printf(stderr, "convoy: error: cannot create folder '%s': %s\n", path, g_strerror(e));
            return CONVOY_EXIT_FAILURE;
        }
    }
    for (size_t i = 0; init_files[i].path != NULL; i++) {
        const struct init_file *f = &init_files[i];
        g_autofree char *path = g_build_filename(dir, f->path, NULL);
        g_autofree char *parent = g_path_get_dirname(path);
        g_autoptr(GError) err = NULL;

        if (g_file_test(path, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK)) {
            cli_printf(stdout, "kept     %s (already there)\n", path);
            kept++;
            continue;
        }
        if (g_mkdir_with_parents(parent, 0755) < 0) {
            int e = errno;
            cli_printf(stderr, "convoy: error: cannot create folder '%s': %s\n", parent, g_strerror(e));
            return CONVOY_EXIT_FAILURE;
        }
        if (!file_write_atomic(path, f->text, strlen(f->text), (int)f->mode, &err))
            return cli_report(err);
        cli_printf(stdout, "created  %s\n", path);
        made++;
    }
    printf("\n%u file%s created, %u kept.  Next:\n", made, made == 1 ? "" : "s", kept);
    cli_printf(stdout, "  edit %s/manifests/migration.yaml (sources, targets, waves),\n", dir);
    cli_printf(stdout, "  convoy discover -o %s/manifests/50-discovered.yaml %s/manifests/\n", dir, dir);
    cli_printf(stdout, "  convoy validate %s/manifests/ && convoy plan %s/manifests/\n", dir, dir);
    printf("  and adjust the wave names and paths in cron/ or systemd/ before installing them.\n");
    return CONVOY_EXIT_OK;
}
