/* engine/cli: the files `convoy init` writes, embedded at build time by
 * scripts/embed-files.py from examples/fleet and manifests/starter. */
#pragma once

struct init_file {
    const char *path;     /* relative to the new repository */
    unsigned mode;        /* 0644 or 0755 */
    const char *text;
};

/* Ends with an entry whose path is NULL. */
extern const struct init_file init_files[];
