/* convoy apply: lock the state, plan, confirm, and carry the plan out
 * with checkpoints; an interrupted run exits 4 and resumes next time. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "exec/exec.h"
#include "plan/plan.h"
#include "util/error.h"
#include "util/size.h"

struct progress {
    bool tty;                 /* stderr is a terminal: live line */
    gint64 t0;                /* step start, monotonic µs */
    gint64 last_print;
    unsigned last_decile;
    bool line_open;
};

static void
obs_begin(void *opaque, const struct plan_step *ps)
{
    struct progress *pr = opaque;

    pr->t0 = g_get_monotonic_time();
    pr->last_print = 0;
    pr->last_decile = 0;
    printf("%s: %s…\n", ps->key,
           ps->action == PLAN_ACTION_RESUME ? "resuming" : "starting");
    fflush(stdout);
}

static void
obs_progress(void *opaque, const struct plan_step *ps, uint64_t done,
             uint64_t total)
{
    struct progress *pr = opaque;
    gint64 now = g_get_monotonic_time();
    double secs = (double)(now - pr->t0) / 1e6;
    unsigned pct = total ? (unsigned)(done * 100 / total) : 100;
    g_autofree char *d = size_format(done);
    g_autofree char *t = size_format(total);
    g_autofree char *rate = size_format(secs > 0 ? (uint64_t)((double)done / secs) : 0);

    if (pr->tty) {
        if (now - pr->last_print < 200000 && done != total)
            return;
        pr->last_print = now;
        fprintf(stderr, "\r  %s %3u%% %s / %s  %s/s   ", ps->key, pct, d, t, rate);
        pr->line_open = true;
    } else if (pct / 10 > pr->last_decile) {
        pr->last_decile = pct / 10;
        printf("%s: %u%% (%s of %s, %s/s)\n", ps->key, pct, d, t, rate);
        fflush(stdout);
    }
}

static void
obs_end(void *opaque, const struct plan_step *ps, const GError *error)
{
    struct progress *pr = opaque;
    double secs = (double)(g_get_monotonic_time() - pr->t0) / 1e6;

    if (pr->line_open) {
        fputs("\r\033[K", stderr);
        pr->line_open = false;
    }
    if (error == NULL)
        printf("%s: done in %.1f s\n", ps->key, secs);
    else if (g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_INTERRUPTED))
        printf("%s: %s\n", ps->key, error->message);
    else
        printf("%s: failed: %s\n", ps->key, error->message);
    fflush(stdout);
}

static void
obs_note(void *opaque, const struct plan_step *ps, const char *msg)
{
    printf("%s: note: %s\n", ps->key, msg);
    fflush(stdout);
}

static bool
confirm(void)
{
    char line[16];

    fputs("Apply this plan? Only 'yes' is accepted: ", stdout);
    fflush(stdout);
    if (fgets(line, sizeof line, stdin) == NULL)
        return false;
    return strcmp(g_strstrip(line), "yes") == 0;
}

int
cmd_apply(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("MANIFEST…");
    g_autoptr(manifest) m = NULL;
    g_autoptr(state) st = NULL;
    g_autoptr(plan) p = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *text = NULL;
    g_autofree char *opt_state = NULL;
    g_autofree char *opt_wave = NULL;
    g_autofree char *command = NULL;
    gboolean opt_yes = FALSE;
    GOptionEntry entries[] = {
        {"wave", 'w', 0, G_OPTION_ARG_STRING, &opt_wave, "Apply only this wave", "NAME"},
        {"yes", 'y', 0, G_OPTION_ARG_NONE, &opt_yes, "Do not ask for confirmation", NULL},
        {"state", 0, 0, G_OPTION_ARG_FILENAME, &opt_state, "State store (default: the manifest's state:)", "PATH"},
        G_OPTION_ENTRY_NULL,
    };
    struct progress pr = { .tty = isatty(STDERR_FILENO) };
    struct exec_observer obs = {
        .step_begin = obs_begin,
        .step_progress = obs_progress,
        .step_end = obs_end,
        .note = obs_note,
        .opaque = &pr,
    };
    struct exec_result res;
    int status;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(ctx, "Carry out the plan: copy disks, convert and define domains, with checkpoints.\nExit 0: done, 1: a step failed, 4: interrupted (run again to resume).");
    if (!cli_parse(ctx, &argc, &argv, "apply"))
        return CONVOY_EXIT_USAGE;
    /* From here on a signal means "stop at a consistent point, exit 4". */
    exec_signals_install();
    m = cli_load_manifest(argc, argv, "apply", &status);
    if (m == NULL)
        return status;
    st = state_open(cli_state_path(m, opt_state), true, false, &err);
    if (st == NULL)
        return cli_report(err);
    {
        g_autofree char *args = g_strjoinv(" ", argv + 1);
        command = g_strdup_printf("convoy apply %s%s%s%s%s", args,
                                  opt_wave ? " --wave " : "", opt_wave ? opt_wave : "",
                                  opt_state ? " --state " : "", opt_state ? opt_state : "");
    }
    if (!state_lock(st, command, &err))
        return cli_report(err);
    p = plan_evaluate(m, st, opt_wave, &err);
    if (p == NULL)
        return cli_report(err);
    if (exec_interrupted()) {
        fprintf(stderr, "convoy: interrupted before anything was started\n");
        return CONVOY_EXIT_INTERRUPTED;
    }
    text = plan_render_text(p);
    fputs(text, stdout);
    if (p->wave_blocked != NULL) {
        fprintf(stderr, "convoy: error: %s\n", p->wave_blocked);
        return CONVOY_EXIT_FAILURE;
    }
    if (!plan_has_changes(p) && p->errors->len == 0) {
        printf("Nothing to do.\n");
        return CONVOY_EXIT_OK;
    }
    if (!opt_yes) {
        if (!isatty(STDIN_FILENO)) {
            fprintf(stderr, "convoy: error: refusing to apply without confirmation: standard input is not a terminal; pass --yes to apply\n");
            return CONVOY_EXIT_USAGE;
        }
        if (!confirm()) {
            if (exec_interrupted())
                return CONVOY_EXIT_INTERRUPTED;
            printf("Not applied.\n");
            return CONVOY_EXIT_OK;
        }
    }
    fflush(stdout);
    if (!exec_apply(p, st, command, &obs, &res, &err)) {
        if (res.interrupted) {
            fprintf(stderr, "convoy: interrupted: %u step%s done; progress is saved, run '%s' again to resume\n",
                    res.done, res.done == 1 ? "" : "s", command);
            return CONVOY_EXIT_INTERRUPTED;
        }
        return cli_report(err);
    }
    printf("\nApplied: %u step%s done, %u failed, %u skipped", res.done,
           res.done == 1 ? "" : "s", res.failed, res.skipped);
    if (p->errors->len > 0)
        printf(", %u VM%s not evaluated", p->errors->len, p->errors->len == 1 ? "" : "s");
    printf(".\n");
    if (res.failed > 0) {
        fprintf(stderr, "convoy: error: %u step%s failed; fix the cause and run '%s' again (it redoes only what failed)\n",
                res.failed, res.failed == 1 ? "" : "s", command);
        return CONVOY_EXIT_FAILURE;
    }
    return CONVOY_EXIT_OK;
}
