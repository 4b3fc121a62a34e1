/* convoy status: what the state store recorded for the manifest's VMs
 * (no discovery: fast, works while an apply runs).  With --wave, the
 * wave's plan gives every step in run order, the ones not started yet
 * included, with done / failed / running / pending counts; --watch
 * refreshes until the apply ends. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "plan/plan.h"
#include "util/error.h"
#include "util/json.h"
#include "util/size.h"

struct status_opts {
    const struct manifest *m;
    struct state *st;
    const char *vm;           /* --vm or NULL */
    const struct plan *p;     /* --wave: the wave's plan, else NULL */
    bool json;
};

/* The recorded row of key in rows, or NULL. */
static const struct state_step_record *
row_of(GPtrArray *rows, const char *key)
{
    for (guint i = 0; i < rows->len; i++) {
        const struct state_step_record *r = rows->pdata[i];
        if (strcmp(r->key, key) == 0)
            return r;
    }
    return NULL;
}

/* One step line (or JSON object) from its record r (may be NULL: not
 * started). */
static void
step_out(const struct status_opts *o, GString *out, struct json *j,
         const char *vm, const char *key, const char *name, const char *status,
         const struct state_step_record *r)
{
    g_autoptr(state_checkpoint) ck = r != NULL ? state_checkpoint_get(o->st, r->key, NULL) : NULL;
    g_autoptr(GDateTime) dt = r != NULL ? g_date_time_new_from_unix_utc(r->updated) : NULL;
    g_autofree char *when = dt != NULL ? g_date_time_format_iso8601(dt) : NULL;

    if (o->json) {
        json_begin_object(j);
        json_kv_string(j, "vm", vm);
        json_kv_string(j, "key", key);
        json_kv_string(j, "status", status);
        if (state_shared(o->st))
            json_kv_string(j, "worker", r != NULL ? r->owner : NULL);
        json_kv_uint(j, "attempts", r != NULL ? r->attempts : 0);
        json_kv_string(j, "updated", when);
        json_kv_string(j, "error", r != NULL ? r->error : NULL);
        if (ck != NULL)
            json_kv_uint(j, "checkpoint", ck->position);
        json_end_object(j);
        return;
    }
    if (r == NULL) {
        g_string_append_printf(out, "  %-24s %-8s not started\n", name, status);
        return;
    }
    g_string_append_printf(out, "  %-24s %-8s attempts %u, %s", name, status,
                           r->attempts, when != NULL ? when : "?");
    if (ck != NULL) {
        g_autofree char *pos = size_format(ck->position);
        g_string_append_printf(out, ", checkpoint at %s", pos);
    }
    /* With workers: which one ran it (last). */
    if (state_shared(o->st) && r->owner != NULL)
        g_string_append_printf(out, ", worker %s", r->owner);
    if (r->error != NULL && r->status != STATE_STEP_DONE)
        g_string_append_printf(out, "\n    error: %s", r->error);
    g_string_append_c(out, '\n');
}

/* Every unit's recorded steps (no --wave). */
static void
status_recorded(const struct status_opts *o, GPtrArray *rows, GString *out,
                struct json *j)
{
    const struct manifest *m = o->m;
    unsigned n_done = 0, n_other = 0;
    bool first = true;

    json_begin_array(j);
    /* The VMs, then the host moves (their unit is named by the domain,
     * and only their host-migrate step is theirs). */
    guint n_units = m->vms->len + m->moves->len;
    for (guint i = 0; i < n_units; i++) {
        const struct manifest_move *mv = i >= m->vms->len
            ? m->moves->pdata[i - m->vms->len] : NULL;
        const struct manifest_vm *vm = mv != NULL ? mv->vm : m->vms->pdata[i];
        g_autofree char *prefix = g_strdup_printf("%s/", vm->name);
        bool any = false;

        if (o->vm != NULL && strcmp(vm->name, o->vm) != 0)
            continue;
        if (mv != NULL)
            g_string_append_printf(out, "%s%s (wave %s, move from %s to %s)\n", first ? "" : "\n",
                                   vm->name, vm->wave->name, mv->from, mv->to);
        else
            g_string_append_printf(out, "%s%s (wave %s)\n", first ? "" : "\n", vm->name,
                                   vm->wave->name);
        first = false;
        for (guint k = 0; k < rows->len; k++) {
            const struct state_step_record *r = rows->pdata[k];

            if (!g_str_has_prefix(r->key, prefix) ||
                step_kind_is_move(r->kind) != (mv != NULL))
                continue;
            any = true;
            if (r->status == STATE_STEP_DONE)
                n_done++;
            else
                n_other++;
            step_out(o, out, j, vm->name, r->key, r->key + strlen(prefix),
                     state_step_status_name(r->status), r);
        }
        if (!any)
            g_string_append(out, "  (nothing recorded)\n");
    }
    json_end_array(j);
    g_string_append_printf(out, "\n%u step%s done, %u not done.\n", n_done,
                           n_done == 1 ? "" : "s", n_other);
}

/* A planned step's status now: done (recorded done with the inputs the
 * plan has), failed, running (live), or pending (never started,
 * interrupted, or to be redone). */
static const char *
planned_status(const struct status_opts *o, const struct plan_step *s,
               const struct state_step_record *r)
{
    if (r == NULL)
        return "pending";
    switch (r->status) {
    case STATE_STEP_DONE:
        return g_strcmp0(r->fingerprint, s->fingerprint) == 0 ? "done" : "pending";
    case STATE_STEP_FAILED:
        return "failed";
    case STATE_STEP_RUNNING:
        return state_step_is_live(o->st, r) ? "running" : "pending";
    case STATE_STEP_NONE:
    case STATE_STEP_LAST:
    default:
        return "pending";
    }
}

/* --wave: the plan's steps in run order (VMs in manifest order, each
 * VM's chain in order), with counts. */
static void
status_planned(const struct status_opts *o, GPtrArray *rows, GString *out,
               struct json *j)
{
    const struct plan *p = o->p;
    unsigned done = 0, failed = 0, running = 0, pending = 0, steps = 0;
    unsigned blocked = 0;
    g_autoptr(GString) body = g_string_new(NULL);

    json_begin_object(j);
    json_kv_string(j, "wave", p->wave);
    json_kv_string(j, "vm", p->vm);
    json_key(j, "steps");
    json_begin_array(j);
    for (guint i = 0; i < p->vms->len; i++) {
        const struct plan_vm *v = p->vms->pdata[i];
        g_autofree char *prefix = g_strdup_printf("%s/", v->mvm->name);

        if (v->move != NULL)
            g_string_append_printf(body, "\n%s (move from %s to %s)\n", v->move->domain,
                                   v->move->from, v->move->to);
        else
            g_string_append_printf(body, "\n%s\n", v->mvm->name);
        if (v->error != NULL) {
            blocked++;
            g_string_append_printf(body, "  x error: %s\n", v->error);
            continue;
        }
        for (guint k = 0; k < v->steps->len; k++) {
            const struct plan_step *s = v->steps->pdata[k];
            const struct state_step_record *r = row_of(rows, s->key);
            const char *st = planned_status(o, s, r);

            steps++;
            if (strcmp(st, "done") == 0)
                done++;
            else if (strcmp(st, "failed") == 0)
                failed++;
            else if (strcmp(st, "running") == 0)
                running++;
            else
                pending++;
            step_out(o, body, j, v->mvm->name, s->key,
                     g_str_has_prefix(s->key, prefix) ? s->key + strlen(prefix) : s->key,
                     st, r);
        }
    }
    json_end_array(j);
    json_kv_uint(j, "done", done);
    json_kv_uint(j, "failed", failed);
    json_kv_uint(j, "running", running);
    json_kv_uint(j, "pending", pending);
    json_kv_uint(j, "steps_total", steps);
    json_kv_uint(j, "vms_not_evaluated", blocked);
    json_end_object(j);
    g_string_append_printf(out, "wave %s%s%s: %u step%s: %u done, %u failed, %u running, %u pending",
                           p->wave, p->vm ? ", vm " : "", p->vm ? p->vm : "", steps,
                           steps == 1 ? "" : "s", done, failed, running, pending);
    if (blocked > 0)
        g_string_append_printf(out, "; %u VM%s not evaluated", blocked, blocked == 1 ? "" : "s");
    g_string_append_c(out, '\n');
    g_string_append(out, body->str);
}

/* With workers (a shared state): each worker, its host, heartbeat and
 * the VMs it holds. */
static bool
workers_render(struct state *st, GString *out, GError **error)
{
    g_autoptr(GPtrArray) ws = state_worker_list(st, error);

    if (ws == NULL)
        return false;
    g_string_append_printf(out, "\n%u worker%s:\n", ws->len, ws->len == 1 ? "" : "s");
    for (guint i = 0; i < ws->len; i++) {
        const struct state_worker_record *w = ws->pdata[i];
        g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(w->started);
        g_autofree char *since = dt ? g_date_time_format_iso8601(dt) : g_strdup("?");

        g_string_append_printf(out, "  %-24s host %s, pid %" G_GINT64_FORMAT ", started %s, %s, holds %u VM%s\n",
                               w->id, w->host, (gint64)w->pid, since,
                               w->live ? "live" : "gone", w->vms_held, w->vms_held == 1 ? "" : "s");
        if (w->live)
            g_string_append_printf(out, "    heartbeat %" G_GINT64_FORMAT " s ago\n", (gint64)w->heartbeat_age);
    }
    return true;
}

/* One rendering of the status; a new string. */
static char *
status_render(const struct status_opts *o, GError **error)
{
    g_autoptr(GPtrArray) rows = state_step_list(o->st, error);
    g_autoptr(GString) out = NULL;
    struct json j;

    if (rows == NULL)
        return NULL;
    out = g_string_new(NULL);
    json_init(&j, true);
    if (o->p != NULL)
        status_planned(o, rows, out, &j);
    else
        status_recorded(o, rows, out, &j);
    if (o->json) {
        char *s = json_steal(&j);
        json_release(&j);
        g_string_assign(out, s);
        g_string_append_c(out, '\n');
        g_free(s);
    } else {
        json_release(&j);
        if (state_shared(o->st) && !workers_render(o->st, out, error))
            return NULL;
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

static void
print_status(const struct status_opts *o, const char *text)
{
    if (o->json)
        fputs(text, stdout);
    else
        cli_print(stdout, text);
    fflush(stdout);
}

/* --watch: refresh every interval seconds while an apply holds the lock;
 * the last refresh after it ended.  Ctrl-C stops it (exit 0). */
static int
status_watch(const struct status_opts *o, double interval)
{
    bool tty = !o->json && isatty(STDOUT_FILENO);
    unsigned n = 0;

    interrupt_install();
    for (;;) {
        g_autoptr(GError) err = NULL;
        g_autofree char *holder = NULL;
        bool running = state_lock_held(o->st, &holder);
        g_autofree char *text = status_render(o, &err);
        g_autoptr(GDateTime) now = g_date_time_new_now_utc();
        g_autofree char *t = g_date_time_format(now, "%Y-%m-%dT%H:%M:%SZ");

        if (text == NULL)
            return cli_report(err);
        if (tty)
            fputs("\033[H\033[J", stdout);
        if (!o->json) {
            if (running)
                cli_printf(stdout, "%s%s: apply running (%s); refreshing every %.1f s, Ctrl-C stops\n\n",
                           n > 0 && !tty ? "\n" : "", t, holder, interval);
            else
                printf("%s%s: no apply is running\n\n", n > 0 && !tty ? "\n" : "", t);
        }
        print_status(o, text);
        n++;
        if (!running || interrupt_requested())
            return CONVOY_EXIT_OK;
        for (double slept = 0; slept < interval && !interrupt_requested(); slept += 0.05)
            g_usleep(50000);
        if (interrupt_requested())
            return CONVOY_EXIT_OK;
    }
}

int
cmd_status(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("MANIFEST…");
    g_autoptr(manifest) m = NULL;
    g_autoptr(state) st = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(plan) p = NULL;
    g_autofree char *opt_state = NULL;
    g_autofree char *opt_wave = NULL;
    g_autofree char *opt_vm = NULL;
    g_autofree char *text = NULL;
    gboolean opt_json = FALSE;
    gboolean opt_watch = FALSE;
    double opt_interval = 2.0;
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "Print as JSON", NULL},
        {"wave", 'w', 0, G_OPTION_ARG_STRING, &opt_wave, "Every step of this wave in run order, not started ones included, with counts (reads the sources as plan does)", "NAME"},
        {"vm", 0, 0, G_OPTION_ARG_STRING, &opt_vm, "Only this VM (or host move, by its domain)", "NAME"},
        {"watch", 0, 0, G_OPTION_ARG_NONE, &opt_watch, "Refresh until the running apply ends (or Ctrl-C)", NULL},
        {"interval", 0, 0, G_OPTION_ARG_DOUBLE, &opt_interval, "With --watch: seconds between refreshes (default 2)", "SECONDS"},
        {"state", 0, 0, G_OPTION_ARG_FILENAME, &opt_state, "State store (default: the manifest's state:)", "PATH"},
        G_OPTION_ENTRY_NULL,
    };
    int status;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(ctx, "Show the recorded state of every VM's steps (no discovery but with --wave).");
    if (!cli_parse(ctx, &argc, &argv, "status"))
        return CONVOY_EXIT_USAGE;
    if (!(opt_interval >= 0.05 && opt_interval <= 3600))
        return cli_usage("status", "'--interval': expected seconds from 0.05 to 3600, got %g", opt_interval);
    m = cli_load_manifest(argc, argv, "status", &status);
    if (m == NULL)
        return status;
    if (opt_vm != NULL && opt_wave == NULL && manifest_find_vm(m, opt_vm) == NULL) {
        bool move = false;
        for (guint i = 0; i < m->moves->len && !move; i++)
            move = strcmp(((const struct manifest_move *)m->moves->pdata[i])->vm->name, opt_vm) == 0;
        if (!move)
            return cli_usage("status", "no vm '%s' in the manifest", opt_vm);
    }
    st = state_open(cli_state_path(m, opt_state), false, true, &err);
    if (st == NULL)
        return cli_report(err);
    if (opt_wave != NULL) {
        p = plan_evaluate_vm(m, st, opt_wave, opt_vm, &err);
        if (p == NULL)
            return cli_report(err);
    }
    struct status_opts o = {
        .m = m,
        .st = st,
        .vm = opt_vm,
        .p = p,
        .json = opt_json,
    };
    if (opt_watch)
        return status_watch(&o, opt_interval);
    text = status_render(&o, &err);
    if (text == NULL)
        return cli_report(err);
    print_status(&o, text);
    return CONVOY_EXIT_OK;
}
