/* Helpers shared by the subcommands: option parsing, manifest loading,
 * error printing. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/json.h"
#include "util/error.h"
#include "util/text.h"

void
cli_print(FILE *f, const char *text)
{
    g_autofree char *e = text_escape(text, TEXT_ESCAPE_KEEP_LINES);

    fputs(e, f);
}

void
cli_printf(FILE *f, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    cli_print(f, msg);
}

int
cli_report(const GError *error)
{
    if (error->domain == CONVOY_ERROR && error->code == CONVOY_ERROR_INVALID &&
        strstr(error->message, ": error: ") != NULL)
        cli_printf(stderr, "%s\n", error->message);
    else
        cli_printf(stderr, "convoy: error: %s\n", error->message);
    return convoy_exit_for_error(error);
}

int
cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "convoy %s: %s\nTry 'convoy %s --help'.\n", cmd, msg, cmd);
    return CONVOY_EXIT_USAGE;
}

bool
cli_parse(GOptionContext *ctx, int *argc, char ***argv, const char *cmd)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *prog = g_strdup_printf("convoy %s", cmd);

    g_set_prgname(prog);
    if (!g_option_context_parse(ctx, argc, argv, &err)) {
        cli_usage(cmd, "%s", err->message);
        return false;
    }
    return true;
}

void
cli_manifest_warnings(const struct manifest *m)
{
    for (guint i = 0; m->warnings != NULL && i < m->warnings->len; i++)
        fprintf(stderr, "%s\n", (const char *)m->warnings->pdata[i]);
}

struct manifest *
cli_load_manifest(int argc, char **argv, const char *cmd, int *status)
{
    g_autoptr(GError) err = NULL;
    struct manifest *m;

    if (argc < 2) {
        *status = cli_usage(cmd, "expected at least one MANIFEST (a file or a directory of *.yaml)");
        return NULL;
    }
    m = manifest_load((const char *const *)argv + 1, (size_t)argc - 1, &err);
    if (m == NULL) {
        *status = cli_report(err);
        return NULL;
    }
    cli_manifest_warnings(m);
    *status = CONVOY_EXIT_OK;
    return m;
}

GDateTime *
cli_now(const char *cmd, int *status)
{
    const char *env = g_getenv("CONVOY_NOW");
    GDateTime *now;

    *status = CONVOY_EXIT_OK;
    if (env == NULL)
        return g_date_time_new_now_utc();
    now = g_date_time_new_from_iso8601(env, NULL);
    if (now == NULL)
        *status = cli_usage(cmd, "CONVOY_NOW: expected an RFC 3339 time with seconds and a zone, got '%s'", env);
    return now;
}

const char *
cli_state_path(const struct manifest *m, const char *opt_state)
{
    return opt_state != NULL ? opt_state : m->state_path;
}

void
cli_json_event(const char *event, void (*members)(struct json *, const void *),
               const void *opaque)
{
    struct json j;
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *t = g_date_time_format_iso8601(now);

    json_init(&j, false);
    json_begin_object(&j);
    json_kv_string(&j, "time", t);
    json_kv_string(&j, "event", event);
    members(&j, opaque);
    json_end_object(&j);
    g_autofree char *line = json_steal(&j);
    json_release(&j);
    printf("%s\n", line);
    fflush(stdout);
}
