/* The case runner both disk test programs share: run every named case,
 * or only argv[1]; a case returns 0, CASES_SKIP (77) or a failure status.
 * The program exits 77 only when every case it ran was skipped. */
#pragma once

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>

#define CASES_SKIP 77

static inline int
cases_run(const char *const *all, int argc, char **argv,
          int (*run_case)(const char *name))
{
    int status = 0;
    unsigned passed = 0, skipped = 0;

    for (size_t i = 0; all[i] != NULL; i++) {
        if (argc > 1 && strcmp(argv[1], all[i]) != 0)
            continue;
        int r = run_case(all[i]);
        if (r == CASES_SKIP)
            skipped++;
        else if (r == 0)
            passed++;
        else
            status = r;
        fprintf(stderr, "%s: %s\n", all[i],
                r == 0 ? "ok" : r == CASES_SKIP ? "skipped" : "FAILED");
    }
    if (argc > 1 && passed + skipped == 0)
        status = run_case(argv[1]);
    if (status != 0)
        return status;
    return passed == 0 && skipped > 0 ? CASES_SKIP : 0;
}

/* Remove a flat scratch folder and the files in it. */
static inline void
cases_remove_tree(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        unlink(p);
    }
    rmdir(dir);
}
