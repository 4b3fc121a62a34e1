/* The report model: the manifest's VMs joined with the state store's step
 * rows (status, outputs) and events (one span per attempt). */
#include "config.h"

#include <string.h>

#include "report/report.h"
#include "steps/steps.h"
#include "util/error.h"
#include "util/jsonread.h"

static const char *const format_names[REPORT_FORMAT_LAST] = {
    [REPORT_FORMAT_TEXT] = "text",
    [REPORT_FORMAT_MARKDOWN] = "markdown",
    [REPORT_FORMAT_HTML] = "html",
    [REPORT_FORMAT_JSON] = "json",
};

bool
report_format_parse(const char *s, enum report_format *out)
{
    for (int i = 0; i < REPORT_FORMAT_LAST; i++) {
        if (strcmp(s, format_names[i]) == 0) {
            *out = (enum report_format)i;
            return true;
        }
    }
    return false;
}

static void
span_free(struct report_span *s)
{
    g_free(s->outcome);
    g_free(s);
}

static void
step_free(struct report_step *s)
{
    g_free(s->key);
    g_free(s->name);
    g_free(s->kind);
    g_free(s->status);
    g_free(s->error);
    g_free(s->checksum);
    g_free(s->guest);
    g_free(s->worker);
    g_free(s->guest_timings);
    if (s->changes != NULL)
        g_ptr_array_unref(s->changes);
    g_ptr_array_unref(s->spans);
    g_free(s);
}

static void
hook_free(struct report_hook *h)
{
    g_free(h->hook);
    g_free(h->output);
    g_free(h);
}

static void
vm_free(struct report_vm *v)
{
    g_free(v->name);
    g_free(v->target_name);
    g_free(v->wave);
    g_free(v->status);
    g_free(v->reason);
    g_ptr_array_unref(v->steps);
    g_free(v->domain_xml);
    g_ptr_array_unref(v->hooks);
    g_free(v);
}

void
report_free(struct report *r)
{
    if (r == NULL)
        return;
    g_free(r->wave);
    g_free(r->vm);
    g_free(r->state_path);
    if (r->manifests != NULL)
        g_ptr_array_unref(r->manifests);
    if (r->runs != NULL)
        g_ptr_array_unref(r->runs);
    if (r->vms != NULL)
        g_ptr_array_unref(r->vms);
    if (r->workers != NULL)
        g_ptr_array_unref(r->workers);
    g_free(r);
}

/* Spans of every step from the event log: "begin"/"resume" opens one,
 * "done"/"failed"/"interrupted" closes it; a span left open by a later
 * begin (or by the end of the log while no apply runs) was killed. */
static GHashTable *
collect_spans(GPtrArray *events)
{
    GHashTable *by_key = g_hash_table_new_full(
        g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);

    for (guint i = 0; i < events->len; i++) {
        const struct state_event_record *e = events->pdata[i];
        GPtrArray *spans;
        struct report_span *open = NULL;

        if (e->step_key == NULL)
            continue;
        spans = g_hash_table_lookup(by_key, e->step_key);
        if (spans == NULL) {
            spans = g_ptr_array_new_with_free_func((GDestroyNotify)span_free);
            g_hash_table_insert(by_key, g_strdup(e->step_key), spans);
        }
        if (spans->len > 0) {
            struct report_span *last = spans->pdata[spans->len - 1];
            if (last->outcome == NULL)
                open = last;
        }
        if (strcmp(e->kind, "begin") == 0 || strcmp(e->kind, "resume") == 0) {
            if (open != NULL) {
                open->outcome = g_strdup("killed");
                open->end = open->start;
            }
            struct report_span *s = g_new0(struct report_span, 1);
            s->start = e->time;
            s->run_id = e->run_id;
            g_ptr_array_add(spans, s);
        } else if (open != NULL &&
                   (strcmp(e->kind, "done") == 0 ||
                    strcmp(e->kind, "failed") == 0 ||
                    strcmp(e->kind, "interrupted") == 0)) {
            open->end = e->time;
            open->outcome = g_strdup(e->kind);
        }
    }
    return by_key;
}

static struct report_step *
step_from_record(struct state *st, const struct state_step_record *rec,
                 size_t prefix_len, GHashTable *spans)
{
    struct report_step *s = g_new0(struct report_step, 1);
    GPtrArray *sp = g_hash_table_lookup(spans, rec->key);

    s->key = g_strdup(rec->key);
    s->name = g_strdup(rec->key + prefix_len);
    s->kind = g_strdup(rec->kind);
    s->status = g_strdup(state_step_status_name(rec->status));
    const struct step_ops *ops = step_ops_find(rec->kind);
    s->copies = ops != NULL && ops->copy_measured != NULL;
    s->attempts = rec->attempts;
    s->worker = state_shared(st) ? g_strdup(rec->owner) : NULL;
    s->error = rec->status == STATE_STEP_DONE ? NULL : g_strdup(rec->error);
    s->spans = sp != NULL ? g_ptr_array_ref(sp)
                          : g_ptr_array_new_with_free_func((GDestroyNotify)span_free);
    for (guint i = 0; i < s->spans->len; i++) {
        struct report_span *x = s->spans->pdata[i];
        if (x->outcome == NULL) {
            /* Still open: running now (its owner holds the lease), or
             * killed with no later event. */
            x->outcome = g_strdup(rec->status != STATE_STEP_RUNNING ? "unknown"
                                  : state_step_is_live(st, rec) ? "running"
                                  : "killed");
            x->end = x->start;
        }
    }
    if (rec->status == STATE_STEP_DONE && rec->outputs != NULL) {
        g_autoptr(jval) out = jval_parse(rec->key, rec->outputs, -1, NULL);
        if (out != NULL) {
            const char *xxh = jval_get_string(out, "xxh64", NULL);
            s->seconds = jval_get_number(out, "seconds", 0);
            s->bytes = (uint64_t)jval_get_number(out, "size", 0);
            s->written = (uint64_t)jval_get_number(out, "written", 0);
            const struct jval *ch = jval_get(out, "changes");
            if (xxh != NULL)
                s->checksum = g_strdup_printf("xxh64:%s", xxh);
            s->guest = g_strdup(jval_get_string(out, "summary", NULL));
            const struct jval *tm = jval_get(out, "timings");
            if (tm != NULL && tm->type == JVAL_ARRAY) {
                GString *t = g_string_new(NULL);
                for (guint i = 0; i < tm->items->len; i++) {
                    const struct jval *e = tm->items->pdata[i];
                    g_string_append_printf(t, "%s%s %.1f s", i ? ", " : "",
                                           jval_get_string(e, "action", "?"),
                                           jval_get_number(e, "seconds", 0));
                }
                s->guest_timings = g_string_free(t, FALSE);
            }
            if (ch != NULL && ch->type == JVAL_ARRAY) {
                s->changes = g_ptr_array_new_with_free_func(g_free);
                for (guint i = 0; i < ch->items->len; i++) {
                    const struct jval *c = ch->items->pdata[i];
                    if (c->type == JVAL_STRING)
                        g_ptr_array_add(s->changes, g_strdup(c->str));
                }
            }
        }
    }
    if (s->seconds == 0 && rec->status == STATE_STEP_DONE && s->spans->len > 0) {
        const struct report_span *x = s->spans->pdata[s->spans->len - 1];
        s->seconds = x->end - x->start;
    }
    return s;
}

static void
vm_summarise(struct report_vm *v)
{
    unsigned done = 0, failed = 0;

    for (guint i = 0; i < v->steps->len; i++) {
        const struct report_step *s = v->steps->pdata[i];
        if (strcmp(s->status, "done") == 0)
            done++;
        else if (strcmp(s->status, "failed") == 0)
            failed++;
        if (s->copies && strcmp(s->status, "done") == 0) {
            v->bytes += s->bytes;
            v->copy_seconds += s->seconds;
        }
    }
    /* The last pre-hook failed: the VM was skipped, which is a failure. */
    for (guint i = v->hooks->len; i > 0; i--) {
        const struct report_hook *h = v->hooks->pdata[i - 1];
        if (strcmp(h->hook, "pre") == 0) {
            if (!h->ok)
                failed++;
            break;
        }
    }
    if (failed > 0)
        v->status = g_strdup("failed");
    else if (done > 0 && done == v->steps->len)
        v->status = g_strdup("done");
    else if (done > 0 || v->steps->len > 0)
        v->status = g_strdup("partial");
    else if (v->reason != NULL)
        v->status = g_strdup("deferred");
    else
        v->status = g_strdup("pending");
}

/* Widen the run of span sp (made on first sight) to cover it. */
static void
add_to_run(struct report *r, const struct report_span *sp)
{
    struct report_run *run = NULL;

    for (guint i = 0; i < r->runs->len && run == NULL; i++) {
        struct report_run *x = r->runs->pdata[i];
        if (x->id == sp->run_id)
            run = x;
    }
    if (run == NULL) {
        guint at = 0;

        run = g_new0(struct report_run, 1);
        run->id = sp->run_id;
        run->start = sp->start;
        run->end = sp->end;
        /* Oldest first, by id (runs are numbered in order). */
        while (at < r->runs->len &&
               ((struct report_run *)r->runs->pdata[at])->id < run->id)
            at++;
        g_ptr_array_insert(r->runs, (gint)at, run);
    }
    if (sp->start < run->start)
        run->start = sp->start;
    if (sp->end > run->end)
        run->end = sp->end;
    if (sp->outcome != NULL && strcmp(sp->outcome, "failed") == 0)
        run->failed++;
}

/* One VM (or host move, move true) of the report, from the state's rows
 * and events. */
static void
add_unit(struct report *r, struct state *st, const struct manifest_vm *mv,
         bool move, GPtrArray *rows, GPtrArray *events, GHashTable *spans)
{
    g_autofree char *prefix = g_strdup_printf("%s/", mv->name);
    struct report_vm *v;

    v = g_new0(struct report_vm, 1);
    v->name = g_strdup(mv->name);
    v->target_name = g_strdup(manifest_vm_target_name(mv));
    v->wave = g_strdup(mv->wave->name);
    v->steps = g_ptr_array_new_with_free_func((GDestroyNotify)step_free);
    v->hooks = g_ptr_array_new_with_free_func((GDestroyNotify)hook_free);
    for (guint k = 0; k < events->len; k++) {
        const struct state_event_record *e = events->pdata[k];
        if (e->step_key == NULL || !g_str_has_prefix(e->step_key, prefix))
            continue;
        if (strcmp(e->kind, "not-started") == 0) {
            g_free(v->reason);
            v->reason = g_strdup(e->message);
            continue;
        }
        if (!g_str_has_prefix(e->step_key + strlen(prefix), "hook-"))
            continue;
        struct report_hook *h = g_new0(struct report_hook, 1);
        h->hook = g_strdup(e->step_key + strlen(prefix) + 5);
        h->ok = strcmp(e->kind, "hook-ok") == 0;
        h->time = e->time;
        h->output = g_strdup(e->message != NULL ? e->message : "");
        g_ptr_array_add(v->hooks, h);
    }
    for (guint k = 0; k < rows->len; k++) {
        const struct state_step_record *rec = rows->pdata[k];
        if (!g_str_has_prefix(rec->key, prefix) ||
            step_kind_is_move(rec->kind) != move)
            continue;
        g_ptr_array_add(v->steps, step_from_record(st, rec, strlen(prefix), spans));
        const struct step_ops *ops = step_ops_find(rec->kind);
        if (ops != NULL && ops->domain_xml != NULL) {
            g_free(v->domain_xml);
            v->domain_xml = ops->domain_xml(rec);
        }
    }
    vm_summarise(v);
    if (strcmp(v->status, "done") == 0)
        r->n_done++;
    else if (strcmp(v->status, "failed") == 0)
        r->n_failed++;
    else if (strcmp(v->status, "partial") == 0)
        r->n_partial++;
    else if (strcmp(v->status, "deferred") == 0)
        r->n_deferred++;
    else
        r->n_pending++;
    for (guint k = 0; k < v->steps->len; k++) {
        const struct report_step *s = v->steps->pdata[k];
        for (guint x = 0; x < s->spans->len; x++) {
            const struct report_span *sp = s->spans->pdata[x];
            if (r->first == 0 || sp->start < r->first)
                r->first = sp->start;
            if (sp->end > r->last)
                r->last = sp->end;
            add_to_run(r, sp);
        }
    }
    g_ptr_array_add(r->vms, v);
}

static bool
has_move(const struct manifest *m, const char *domain)
{
    for (guint i = 0; i < m->moves->len; i++) {
        const struct manifest_move *mv = m->moves->pdata[i];
        if (strcmp(mv->vm->name, domain) == 0)
            return true;
    }
    return false;
}

struct report *
report_build(const struct manifest *m, struct state *st, const char *wave,
             GError **error)
{
    return report_build_vm(m, st, wave, NULL, error);
}

struct report *
report_build_vm(const struct manifest *m, struct state *st, const char *wave,
                const char *vm, GError **error)
{
    g_autoptr(report) r = g_new0(struct report, 1);
    g_autoptr(GPtrArray) rows = NULL;
    g_autoptr(GPtrArray) events = NULL;
    g_autoptr(GHashTable) spans = NULL;

    if (wave != NULL && manifest_find_wave(m, wave) == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_USAGE,
                    "no wave '%s' in the manifest", wave);
        return NULL;
    }
    if (vm != NULL && manifest_find_vm(m, vm) == NULL && !has_move(m, vm)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_USAGE,
                    "no vm '%s' in the manifest", vm);
        return NULL;
    }
    rows = state_step_list(st, error);
    if (rows == NULL)
        return NULL;
    events = state_event_list(st, 0, error);
    if (events == NULL)
        return NULL;
    spans = collect_spans(events);
    r->wave = g_strdup(wave);
    r->vm = g_strdup(vm);
    r->state_path = g_strdup(state_path(st));
    r->manifests = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < m->files->len; i++)
        g_ptr_array_add(r->manifests, g_strdup(m->files->pdata[i]));
    r->generated = (double)g_get_real_time() / G_USEC_PER_SEC;
    r->runs = g_ptr_array_new_with_free_func(g_free);
    if (state_shared(st)) {
        r->workers = state_worker_list(st, error);
        if (r->workers == NULL)
            return NULL;
    }
    r->vms = g_ptr_array_new_with_free_func((GDestroyNotify)vm_free);
    for (guint i = 0; i < m->vms->len; i++) {
        const struct manifest_vm *mv = m->vms->pdata[i];

        if ((wave != NULL && strcmp(mv->wave->name, wave) != 0) ||
            (vm != NULL && strcmp(mv->name, vm) != 0))
            continue;
        add_unit(r, st, mv, false, rows, events, spans);
    }
    /* Host moves after the VMs: their unit is the domain's name, and
     * only their host-migrate step is theirs. */
    for (guint i = 0; i < m->moves->len; i++) {
        const struct manifest_move *mv = m->moves->pdata[i];

        if ((wave != NULL && strcmp(mv->wave->name, wave) != 0) ||
            (vm != NULL && strcmp(mv->vm->name, vm) != 0))
            continue;
        add_unit(r, st, mv->vm, true, rows, events, spans);
    }
    return g_steal_pointer(&r);
}
