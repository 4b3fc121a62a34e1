/* convoy apply: lock the state, plan, confirm, and carry the plan out
 * with checkpoints; an interrupted run exits 4 and resumes next time. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "exec/exec.h"
#include "plan/plan.h"
#include "report/report.h"
#include "sources/sources.h"
#include "util/json.h"
#include "util/error.h"
#include "util/size.h"

struct notify_ctx {
    const struct manifest *m;
    struct state *st;
    const char *command;
};

/* At the end of a wave: post the wave's report as JSON to the manifest's
 * notify: webhook.  A failure to post is a warning, not a failed run. */
static void
notify_wave(void *opaque, const struct manifest_wave *w)
{
    struct notify_ctx *nc = opaque;
    const struct manifest_notify *n = nc->m->notify;
    g_autoptr(report) r = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *rep = NULL;
    g_autofree char *body = NULL;

    if (n == NULL)
        return;
    r = report_build(nc->m, nc->st, w->name, &err);
    if (r != NULL) {
        g_autoptr(GDateTime) now = g_date_time_new_now_utc();
        g_autofree char *t = g_date_time_format_iso8601(now);
        struct json j;

        rep = report_render(r, REPORT_FORMAT_JSON);
        json_init(&j, false);
        json_begin_object(&j);
        json_kv_string(&j, "event", "wave-finished");
        json_kv_string(&j, "wave", w->name);
        json_kv_string(&j, "time", t);
        json_kv_string(&j, "command", nc->command);
        json_kv_string(&j, "host", g_get_host_name());
        json_key(&j, "report");
        json_raw(&j, rep);
        json_end_object(&j);
        body = json_steal(&j);
        json_release(&j);
    }
    if (body == NULL ||
        !source_http_post_json("notify", n->url, n->token_file, n->ca_file,
                               n->insecure, body, (long)n->timeout, &err)) {
        fprintf(stderr, "convoy: warning: notify: wave '%s': %s\n", w->name,
                err != NULL ? err->message : "no report");
        return;
    }
    fprintf(stderr, "convoy: posted the summary of wave '%s' to the notify webhook\n", w->name);
}

/* --ignore-window is loud: every window it overrides is named. */
static void
warn_ignored_windows(const struct manifest *m, const char *wave)
{
    for (guint i = 0; i < m->waves->len; i++) {
        const struct manifest_wave *w = m->waves->pdata[i];
        if (wave != NULL && strcmp(w->name, wave) != 0)
            continue;
        if (w->not_before == NULL && w->not_after == NULL && w->weekly == NULL)
            continue;
        fprintf(stderr, "convoy: warning: --ignore-window: wave '%s' starts whatever its window (%s%s%s%s%s) says\n",
                w->name, w->not_before ? w->not_before : "", w->not_after ? " to " : "",
                w->not_after ? w->not_after : "", w->weekly ? " weekly " : "",
                w->weekly ? w->weekly : "");
    }
}

static void
plan_members(struct json *j, const void *opaque)
{
    g_autofree char *text = plan_render_json_line(opaque);
    json_key(j, "plan");
    json_raw(j, text);
}

struct summary {
    const char *outcome;       /* applied, nothing-to-do, not-applied, outside-window */
    const struct exec_result *res;
    unsigned not_evaluated;
};

static void
summary_members(struct json *j, const void *opaque)
{
    const struct summary *sm = opaque;
    const struct exec_result *r = sm->res;

    json_kv_string(j, "outcome", sm->outcome);
    json_kv_uint(j, "done", r->done);
    json_kv_uint(j, "failed", r->failed);
    json_kv_uint(j, "skipped", r->skipped);
    json_kv_uint(j, "vms_started", r->vms_started);
    json_kv_uint(j, "vms_deferred", r->vms_deferred);
    json_kv_uint(j, "vms_outside_window", r->vms_outside_window);
    json_kv_uint(j, "vms_blocked", r->vms_blocked);
    json_kv_uint(j, "vms_not_evaluated", sm->not_evaluated);
}

static bool
confirm(FILE *out)
{
    char line[16];

    fputs("Apply this plan? Only 'yes' is accepted: ", out);
    fflush(out);
    if (fgets(line, sizeof line, stdin) == NULL)
        return false;
    return strcmp(g_strstrip(line), "yes") == 0;
}

int
cmd_apply(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("MANIFEST…|PLAN.json");
    g_autoptr(manifest) m = NULL;
    g_autoptr(state) st = NULL;
    g_autoptr(plan) p = NULL;
    g_autoptr(saved_plan) saved = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *text = NULL;
    g_autofree char *opt_state = NULL;
    g_autofree char *opt_wave = NULL;
    g_autofree char *command = NULL;
    g_autofree char *opt_log_format = NULL;
    g_autofree char *opt_vm = NULL;
    double opt_progress_interval = 2.0;
    g_autofree char *opt_worker_id = NULL;
    gint opt_max_vms = 0;
    gboolean opt_yes = FALSE;
    gboolean opt_ignore_window = FALSE;
    gboolean opt_verify = FALSE;
    GOptionEntry entries[] = {
        {"wave", 'w', 0, G_OPTION_ARG_STRING, &opt_wave, "Apply only this wave", "NAME"},
        {"vm", 0, 0, G_OPTION_ARG_STRING, &opt_vm, "Apply only this VM (or host move, by its domain)", "NAME"},
        {"yes", 'y', 0, G_OPTION_ARG_NONE, &opt_yes, "Do not ask for confirmation", NULL},
        {"ignore-window", 0, 0, G_OPTION_ARG_NONE, &opt_ignore_window, "Start VMs whatever the waves' windows say", NULL},
        {"verify", 0, 0, G_OPTION_ARG_NONE, &opt_verify, "Read every finished disk in full first and redo those that differ (as plan --verify)", NULL},
        {"log-format", 0, 0, G_OPTION_ARG_STRING, &opt_log_format, "Progress as text (default) or json lines", "FORMAT"},
        {"progress-interval", 0, 0, G_OPTION_ARG_DOUBLE, &opt_progress_interval, "With --log-format=json: seconds between progress events (default 2)", "SECONDS"},
        {"state", 0, 0, G_OPTION_ARG_FILENAME, &opt_state, "State store (default: the manifest's state:)", "PATH"},
        {"max-vms", 0, 0, G_OPTION_ARG_INT, &opt_max_vms, "Run at most N VMs at once in this apply (this host's share; 0: the waves' limits only)", "N"},
        {"worker-id", 0, 0, G_OPTION_ARG_STRING, &opt_worker_id, "This worker's id on a shared (PostgreSQL) state (default: HOST:PID)", "ID"},
        G_OPTION_ENTRY_NULL,
    };
    enum cli_log_format log_format = CLI_LOG_FORMAT_TEXT;
    struct exec_options opts = {0};
    struct notify_ctx nctx = {0};
    g_autoptr(GDateTime) now = NULL;
    struct progress *pr = NULL;
    struct step_observer obs;
    struct exec_result res;
    bool ok;
    int status;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(ctx, "Carry out the plan: copy disks, convert and define domains, with checkpoints.\nExit 0: done, 1: a step failed, 4: interrupted (run again to resume).");
    if (!cli_parse(ctx, &argc, &argv, "apply"))
        return CONVOY_EXIT_USAGE;
    if (!(opt_progress_interval >= 0.1 && opt_progress_interval <= 3600))
        return cli_usage("apply", "'--progress-interval': expected seconds from 0.1 to 3600, got %g", opt_progress_interval);
    if (opt_log_format != NULL && strcmp(opt_log_format, "json") == 0)
        log_format = CLI_LOG_FORMAT_JSON;
    else if (opt_log_format != NULL && strcmp(opt_log_format, "text") != 0)
        return cli_usage("apply", "'--log-format': expected text or json, got '%s'", opt_log_format);
    /* CONVOY_NOW (RFC 3339) fixes the wall clock of windows, for tests and
     * dry runs of a maintenance night. */
    now = cli_now("apply", &status);
    if (now == NULL)
        return status;
    if (opt_max_vms < 0 || opt_max_vms > 10000)
        return cli_usage("apply", "'--max-vms': expected 0 to 10000, got %d", opt_max_vms);
    opts.max_vms = (unsigned)opt_max_vms;
    /* Without CONVOY_NOW the scheduler reads the state store's clock (the
     * database's on a shared state), not this machine's. */
    opts.now = g_getenv("CONVOY_NOW") != NULL ? now : NULL;
    opts.ignore_window = opt_ignore_window;
    opts.wave_done = notify_wave;
    opts.wave_opaque = &nctx;
    /* From here on a signal means "stop at a consistent point, exit 4". */
    interrupt_install();
    /* A saved plan (convoy plan -o FILE) instead of manifests: its own
     * manifests, wave and state, applied only if nothing moved. */
    if (argc == 2 && plan_saved_sniff(argv[1])) {
        saved = saved_plan_load(argv[1], &err);
        if (saved == NULL)
            return cli_report(err);
        if (opt_vm != NULL)
            return cli_usage("apply", "--vm cannot be used with a saved plan: it applies exactly what was saved");
        if (opt_wave != NULL && g_strcmp0(opt_wave, saved->wave) != 0)
            return cli_usage("apply", "--wave '%s' differs from the saved plan's wave '%s'", opt_wave, saved->wave ? saved->wave : "(all)");
        g_free(opt_wave);
        opt_wave = g_strdup(saved->wave);
        if (opt_state == NULL)
            opt_state = g_strdup(saved->state);
        /* A plan saved by plan --verify is checked as it was made. */
        opt_verify = opt_verify || saved->verify;
        g_autoptr(GError) lerr = NULL;
        m = manifest_load((const char *const *)saved->manifests,
                          g_strv_length(saved->manifests), &lerr);
        if (m == NULL) {
            g_set_error(&err, CONVOY_ERROR, CONVOY_ERROR_STALE_PLAN,
                        "saved plan '%s': its manifests no longer load: %s", argv[1], lerr->message);
            return cli_report(err);
        }
    } else {
        m = cli_load_manifest(argc, argv, "apply", &status);
        if (m == NULL)
            return status;
    }
    /* Refused before the state store is opened: a refused apply leaves
     * nothing behind, not even an empty .convoy/state.db.  The same for
     * rule sets that do not load. */
    {
        g_autoptr(GPtrArray) rerrs = g_ptr_array_new_with_free_func(g_free);
        if (!plan_check_rules(m, rerrs)) {
            for (guint i = 0; i < rerrs->len; i++)
                cli_printf(stderr, "%s\n", (const char *)rerrs->pdata[i]);
            return CONVOY_EXIT_INVALID;
        }
    }
    if (!opt_yes && saved == NULL && !isatty(STDIN_FILENO)) {
        fprintf(stderr, "convoy: error: refusing to apply without confirmation: standard input is not a terminal; pass --yes to apply (review first with 'convoy plan')\n");
        return CONVOY_EXIT_USAGE;
    }
    if (opt_worker_id != NULL &&
        (opt_worker_id[0] == '\0' || strlen(opt_worker_id) > 200 ||
         strspn(opt_worker_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-@") != strlen(opt_worker_id)))
        return cli_usage("apply", "'--worker-id': expected letters, digits and . _ : - @ (at most 200), got '%s'", opt_worker_id);
    st = state_open(cli_state_path(m, opt_state), true, false, &err);
    if (st == NULL)
        return cli_report(err);
    /* On a shared state every apply is a worker: others may run at once,
     * each claiming whole VMs. */
    if (state_shared(st)) {
        state_set_worker(st, true);
        if (opt_worker_id != NULL)
            state_set_owner(st, opt_worker_id);
    } else if (opt_worker_id != NULL) {
        return cli_usage("apply", "'--worker-id' needs a shared state (postgresql://…); '%s' admits one apply at a time", state_path(st));
    }
    {
        g_autofree char *args = g_strjoinv(" ", argv + 1);
        command = g_strdup_printf("convoy apply %s%s%s%s%s%s%s", args,
                                  opt_wave ? " --wave " : "", opt_wave ? opt_wave : "",
                                  opt_vm ? " --vm " : "", opt_vm ? opt_vm : "",
                                  opt_state ? " --state " : "", opt_state ? opt_state : "");
    }
    if (!state_lock(st, command, &err))
        return cli_report(err);
    p = plan_evaluate_vm(m, st, opt_wave, opt_vm, &err);
    if (p == NULL)
        return cli_report(err);
    if (opt_verify && !plan_verify(p, st, &err))
        return cli_report(err);
    exec_plan_estimate(p, st, now, opt_ignore_window);
    if (saved != NULL && !saved_plan_check(saved, p, st, &err))
        return cli_report(err);
    if (interrupt_requested()) {
        fprintf(stderr, "convoy: interrupted before anything was started\n");
        return CONVOY_EXIT_INTERRUPTED;
    }
    struct summary sm = {.res = &res, .not_evaluated = p->errors->len};
    bool json = log_format == CLI_LOG_FORMAT_JSON;
    if (json) {
        cli_json_event("plan", plan_members, p);
    } else {
        text = plan_render_text(p);
        cli_print(stdout, text);
    }
    if (p->wave_blocked != NULL) {
        cli_printf(stderr, "convoy: error: %s\n", p->wave_blocked);
        return CONVOY_EXIT_FAILURE;
    }
    if (!plan_has_changes(p) && p->errors->len == 0) {
        sm.outcome = "nothing-to-do";
        if (json)
            cli_json_event("summary", summary_members, &sm);
        else
            printf("Nothing to do.\n");
        return CONVOY_EXIT_OK;
    }
    /* A saved plan was reviewed when it was saved: no second question.
     * (JSON keeps standard output for the events: the question goes to
     * standard error.) */
    if (!opt_yes && saved == NULL) {
        if (!confirm(json ? stderr : stdout)) {
            if (interrupt_requested())
                return CONVOY_EXIT_INTERRUPTED;
            sm.outcome = "not-applied";
            if (json)
                cli_json_event("summary", summary_members, &sm);
            else
                printf("Not applied.\n");
            return CONVOY_EXIT_OK;
        }
    }
    if (opt_ignore_window)
        warn_ignored_windows(m, opt_wave);
    fflush(stdout);
    nctx.m = m;
    nctx.st = st;
    nctx.command = command;
    /* A copy of the store as it was before this apply changes it: a store
     * damaged later (a disk fault, a stray write) can be restored from it
     * and the plan then redoes only what came after. */
    if (!state_backup(st, NULL, &err))
        return cli_report(err);
    pr = progress_new(p, st, log_format, opt_progress_interval);
    progress_observer(pr, &obs);
    ok = exec_apply(p, st, command, &obs, &opts, &res, &err);
    progress_free(pr);
    if (!ok) {
        if (res.interrupted) {
            fprintf(stderr, "convoy: interrupted: %u step%s done; progress is saved, run '%s' again to resume\n",
                    res.done, res.done == 1 ? "" : "s", command);
            return CONVOY_EXIT_INTERRUPTED;
        }
        return cli_report(err);
    }
    if (res.vms_started == 0 && res.vms_outside_window > 0 && res.failed == 0) {
        sm.outcome = "outside-window";
        if (json)
            cli_json_event("summary", summary_members, &sm);
        else
            printf("\noutside window, nothing started: %u VM%s wait for their wave's window.\n",
                   res.vms_outside_window, res.vms_outside_window == 1 ? "" : "s");
        return CONVOY_EXIT_OK;
    }
    sm.outcome = "applied";
    if (json) {
        cli_json_event("summary", summary_members, &sm);
    } else {
        printf("\nApplied: %u step%s done, %u failed, %u skipped", res.done,
               res.done == 1 ? "" : "s", res.failed, res.skipped);
        if (res.vms_deferred > 0)
            printf(", %u VM%s deferred to the next window", res.vms_deferred,
                   res.vms_deferred == 1 ? "" : "s");
        if (res.vms_outside_window > 0)
            printf(", %u VM%s outside their window", res.vms_outside_window,
                   res.vms_outside_window == 1 ? "" : "s");
        if (res.vms_blocked > 0)
            printf(", %u VM%s waiting for an earlier wave", res.vms_blocked,
                   res.vms_blocked == 1 ? "" : "s");
        if (p->errors->len > 0)
            printf(", %u VM%s not evaluated", p->errors->len, p->errors->len == 1 ? "" : "s");
        printf(".\n");
    }
    if (res.failed > 0) {
        fprintf(stderr, "convoy: error: %u step%s failed; fix the cause and run '%s' again (it redoes only what failed)\n",
                res.failed, res.failed == 1 ? "" : "s", command);
        return CONVOY_EXIT_FAILURE;
    }
    return CONVOY_EXIT_OK;
}
