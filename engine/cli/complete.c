/* convoy complete: the hidden helper the bash and zsh completion scripts
 * call with the words typed so far.  It prints one candidate per line:
 * commands, a command's options (read from its own --help, so they never
 * drift), option values it knows (wave, VM and source names from the
 * manifests among the words, formats), or nothing, so the shell falls
 * back to file names. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "manifest/manifest.h"
#include "util/error.h"

/* Options whose value is one of a manifest's names or a fixed list. */
enum value_kind {
    VALUE_NONE,
    VALUE_WAVE,
    VALUE_VM,
    VALUE_SOURCE,
    VALUE_FORMAT,
    VALUE_LOG_FORMAT,
};

static enum value_kind
value_of(const char *opt)
{
    if (strcmp(opt, "--wave") == 0 || strcmp(opt, "-w") == 0)
        return VALUE_WAVE;
    if (strcmp(opt, "--vm") == 0)
        return VALUE_VM;
    if (strcmp(opt, "--source") == 0 || strcmp(opt, "-s") == 0)
        return VALUE_SOURCE;
    if (strcmp(opt, "--format") == 0)
        return VALUE_FORMAT;
    if (strcmp(opt, "--log-format") == 0)
        return VALUE_LOG_FORMAT;
    return VALUE_NONE;
}

/* The long options of `convoy CMD --help`, from its option column. */
static void
print_options(const char *self, const char *cmd)
{
    const char *argv[] = {self, cmd, "--help", NULL};
    g_autofree char *out = NULL;
    g_auto(GStrv) lines = NULL;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
                      NULL, NULL, NULL))
        return;
    lines = g_strsplit(out, "\n", -1);
    for (guint i = 0; lines[i] != NULL; i++) {
        const char *l = lines[i];
        const char *opt = strstr(l, "--");

        if (strncmp(l, "  -", 3) != 0 || opt == NULL)
            continue;
        size_t n = strcspn(opt, "= \t");
        if (strncmp(opt, "--help", n) == 0 && n > 6)
            continue; /* --help-all, --help-…: GLib's own */
        printf("%.*s\n", (int)n, opt);
    }
}

/* The manifests among the words: existing *.yaml / *.yml files and
 * folders, loaded quietly; NULL when there are none or they do not
 * load. */
static struct manifest *
load_quietly(char **words, int n)
{
    g_autoptr(GPtrArray) paths = g_ptr_array_new();

    for (int i = 1; i < n; i++) {
        const char *w = words[i];

        if (w[0] == '-')
            continue;
        if (g_file_test(w, G_FILE_TEST_IS_DIR) ||
            ((g_str_has_suffix(w, ".yaml") || g_str_has_suffix(w, ".yml")) &&
             g_file_test(w, G_FILE_TEST_IS_REGULAR)))
            g_ptr_array_add(paths, (gpointer)w);
    }
    if (paths->len == 0)
        return NULL;
    return manifest_load((const char *const *)paths->pdata, paths->len, NULL);
}

static void
print_names(char **words, int n, enum value_kind kind)
{
    g_autoptr(manifest) m = load_quietly(words, n);

    if (m == NULL)
        return;
    if (kind == VALUE_WAVE) {
        for (guint i = 0; i < m->waves->len; i++)
            printf("%s\n", ((const struct manifest_wave *)m->waves->pdata[i])->name);
    } else if (kind == VALUE_VM) {
        for (guint i = 0; i < m->vms->len; i++)
            printf("%s\n", ((const struct manifest_vm *)m->vms->pdata[i])->name);
    } else if (kind == VALUE_SOURCE) {
        for (guint i = 0; i < m->sources->len; i++)
            printf("%s\n", ((const struct manifest_source *)m->sources->pdata[i])->name);
    }
}

int
cmd_complete(int argc, char **argv)
{
    /* convoy complete -- WORD…: the words after "convoy", the last being
     * the one being completed (maybe empty). */
    char **words;
    int n;
    const char *cur;
    const char *prev;
    g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);

    if (argc >= 2 && strcmp(argv[1], "--") == 0) {
        argv++;
        argc--;
    }
    words = argv + 1;
    n = argc - 1;
    if (n <= 0)
        return CONVOY_EXIT_OK;
    cur = words[n - 1];
    prev = n >= 2 ? words[n - 2] : NULL;
    if (n == 1) {
        for (size_t i = 0; cli_commands[i].name != NULL; i++) {
            if (cli_commands[i].summary != NULL)
                printf("%s\n", cli_commands[i].name);
        }
        return CONVOY_EXIT_OK;
    }
    if (prev != NULL && n >= 3) {
        switch (value_of(prev)) {
        case VALUE_WAVE:
        case VALUE_VM:
        case VALUE_SOURCE:
            print_names(words, n - 1, value_of(prev));
            return CONVOY_EXIT_OK;
        case VALUE_FORMAT:
            printf("text\nmarkdown\nhtml\njson\n");
            return CONVOY_EXIT_OK;
        case VALUE_LOG_FORMAT:
            printf("text\njson\n");
            return CONVOY_EXIT_OK;
        case VALUE_NONE:
        default:
            break;
        }
    }
    if (cur[0] == '-') {
        print_options(self != NULL ? self : "convoy", words[0]);
        return CONVOY_EXIT_OK;
    }
    /* rollback MANIFEST VM…: VM names once a manifest is given. */
    if (strcmp(words[0], "rollback") == 0) {
        print_names(words, n - 1, VALUE_VM);
        return CONVOY_EXIT_OK;
    }
    /* Anything else is a file: the shell's own completion. */
    return CONVOY_EXIT_OK;
}
