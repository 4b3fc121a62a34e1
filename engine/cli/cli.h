/* engine/cli: the command line.  Only this folder prints.
 * Sections: main and the command table (main.c) · shared helpers
 * (common.c) · one file per subcommand. */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <glib.h>

#include "exec/exec.h"
#include "manifest/manifest.h"
#include "state/state.h"

/* One subcommand.  Each command parses its own options, then loads its
 * manifests and opens the state store as its options say. */
struct cli_command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;  /* NULL: hidden from convoy --help */
};

extern const struct cli_command cli_commands[];

int cmd_validate(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_xva(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_guest(int argc, char **argv);
int cmd_discover(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_complete(int argc, char **argv);

/* Print text that holds outside text (names from sources, tar member
 * names, error messages quoting them) to f, with the control and
 * bidirectional characters a terminal would act on made visible
 * (util/text.h); its lines and tabs are kept. */
void cli_print(FILE *f, const char *text);
/* The same with printf formatting. */
void cli_printf(FILE *f, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Print an error to stderr: manifest-style lines as they are, others as
 * "convoy: error: MESSAGE".  Returns the exit status for it. */
int cli_report(const GError *error);
/* Print a usage error for cmd and return 64. */
int cli_usage(const char *cmd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Parse options of a subcommand; on --help prints and exits 0, on a
 * parse error returns false after printing (exit 64). */
bool cli_parse(GOptionContext *ctx, int *argc, char ***argv, const char *cmd);

/* Print the manifest's warnings to stderr, one per line. */
void cli_manifest_warnings(const struct manifest *m);
/* Load the manifests named by argv[1..argc-1] (at least one); prints
 * their warnings. */
struct manifest *cli_load_manifest(int argc, char **argv, const char *cmd,
                                   int *status);

/* The wall clock of windows: CONVOY_NOW (RFC 3339, for tests and dry
 * runs of a maintenance night), else now.  A new GDateTime; NULL (a
 * usage error printed, *status set) when CONVOY_NOW is not a time. */
GDateTime *cli_now(const char *cmd, int *status);

/* The state path: --state, else the manifest's. */
const char *cli_state_path(const struct manifest *m, const char *opt_state);

/* progress.c: the apply's progress for people or machines. */
enum cli_log_format {
    CLI_LOG_FORMAT_TEXT,
    CLI_LOG_FORMAT_JSON,
    CLI_LOG_FORMAT_LAST,
};
struct progress;
/* Borrows p for the byte total and st (read for the earlier runs'
 * rates).  With JSON, a "progress" event every interval seconds (0:
 * none).  Returns a new progress, progress_free. */
struct progress *progress_new(const struct plan *p, struct state *st,
                              enum cli_log_format format, double interval);
/* Fill obs with callbacks into pr. */
void progress_observer(struct progress *pr, struct step_observer *obs);
void progress_free(struct progress *pr);

struct json;
/* --log-format=json: one JSON object on a line of standard output, with
 * "time" (now, UTC) and "event", then the members members() writes;
 * flushed. */
void cli_json_event(const char *event, void (*members)(struct json *, const void *),
                    const void *opaque);
