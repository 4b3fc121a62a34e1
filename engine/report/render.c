/* Report renderings for terminals (text), pull requests and wikis
 * (Markdown) and machines (JSON). */
#include "config.h"

#include <string.h>

#include "report/report.h"
#include "util/json.h"
#include "util/size.h"
#include "util/text.h"

char *
report_time(double t)
{
    g_autoptr(GDateTime) dt = NULL;

    if (t <= 0)
        return g_strdup("-");
    dt = g_date_time_new_from_unix_utc((gint64)t);
    return dt != NULL ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup("-");
}

char *
report_rate(uint64_t bytes, double seconds)
{
    g_autofree char *s = NULL;

    if (seconds <= 0 || bytes == 0)
        return g_strdup("-");
    s = size_format((uint64_t)((double)bytes / seconds));
    return g_strdup_printf("%s/s", s);
}

static char *
step_detail(const struct report_step *s)
{
    GString *d = g_string_new(NULL);

    if (strcmp(s->status, "done") == 0)
        g_string_append_printf(d, "%.1f s", s->seconds);
    if (s->bytes > 0) {
        g_autofree char *sz = size_format(s->bytes);
        g_autofree char *rate = report_rate(s->bytes, s->seconds);
        g_string_append_printf(d, ", %s at %s", sz, rate);
    }
    if (s->checksum != NULL)
        g_string_append_printf(d, ", %s", s->checksum);
    if (s->guest != NULL)
        g_string_append_printf(d, ", %s; %u change%s", s->guest,
                               s->changes ? s->changes->len : 0,
                               s->changes && s->changes->len == 1 ? "" : "s");
    if (s->guest_timings != NULL)
        g_string_append_printf(d, "; timings: %s", s->guest_timings);
    if (s->attempts > 1)
        g_string_append_printf(d, "%s%u attempts", d->len ? ", " : "", s->attempts);
    if (s->worker != NULL)
        g_string_append_printf(d, "%sworker %s", d->len ? ", " : "", s->worker);
    return g_string_free(d, FALSE);
}

static char *
render_text(const struct report *r, bool markdown)
{
    GString *o = g_string_new(NULL);
    g_autofree char *first = report_time(r->first);
    g_autofree char *last = report_time(r->last);

    if (markdown) {
        g_autofree char *wave = text_markdown(r->wave);

        g_string_append_printf(o, "# convoy report%s%s\n\n", r->wave ? ": wave " : "",
                               wave);
    } else {
        g_string_append_printf(o, "convoy report%s%s%s%s (state %s)\n", r->wave ? ", wave " : "",
                               r->wave ? r->wave : "", r->vm ? ", vm " : "",
                               r->vm ? r->vm : "", r->state_path);
    }
    g_string_append_printf(o, "%s%u VM%s: %u done, %u failed, %u partial, %u deferred, %u not started; first step %s, last %s\n",
                           markdown ? "" : "", r->vms->len, r->vms->len == 1 ? "" : "s",
                           r->n_done, r->n_failed, r->n_partial, r->n_deferred, r->n_pending,
                           first, last);
    for (guint i = 0; i < r->vms->len; i++) {
        const struct report_vm *v = r->vms->pdata[i];
        g_autofree char *sz = size_format(v->bytes);
        g_autofree char *rate = report_rate(v->bytes, v->copy_seconds);

        if (markdown) {
            /* Names and messages come from outside: Markdown is escaped
             * (text_markdown), so they read as text, never as markup. */
            g_autofree char *name = text_markdown(v->name);
            g_autofree char *tname = text_markdown(v->target_name);
            g_autofree char *wave = text_markdown(v->wave);

            g_string_append_printf(o, "\n## %s → %s (wave %s): %s\n\n", name,
                                   tname, wave, v->status);
            g_string_append_printf(o, "Copied %s at %s.\n\n", sz, rate);
            g_string_append(o, "| step | status | detail | error |\n| --- | --- | --- | --- |\n");
        } else {
            g_string_append_printf(o, "\n%s → %s (wave %s): %s, copied %s at %s\n",
                                   v->name, v->target_name, v->wave, v->status, sz, rate);
        }
        if (v->steps->len == 0 && v->reason != NULL) {
            g_autofree char *why = markdown ? text_markdown(v->reason) : g_strdup(v->reason);
            g_string_append_printf(o, markdown ? "| – | %s | | |\n" : "  (%s)\n", why);
        } else if (v->steps->len == 0) {
            g_string_append(o, markdown ? "| – | not started | | |\n" : "  (not started)\n");
        }
        for (guint k = 0; k < v->steps->len; k++) {
            const struct report_step *s = v->steps->pdata[k];
            g_autofree char *detail = step_detail(s);

            if (markdown) {
                g_autofree char *err = text_markdown(s->error);
                g_autofree char *name = text_markdown(s->name);
                g_autofree char *det = text_markdown(detail);

                g_string_append_printf(o, "| %s | %s | %s | %s |\n", name,
                                       s->status, det, err);
            } else {
                g_string_append_printf(o, "  %-22s %-8s %s\n", s->name, s->status, detail);
                if (s->error != NULL)
                    g_string_append_printf(o, "    error: %s\n", s->error);
                for (guint x = 0; s->changes != NULL && x < s->changes->len; x++)
                    g_string_append_printf(o, "    %s\n", (const char *)s->changes->pdata[x]);
            }
        }
        for (guint k = 0; k < v->hooks->len; k++) {
            const struct report_hook *h = v->hooks->pdata[k];
            g_auto(GStrv) lines = g_strsplit(h->output, "\n", -1);
            if (markdown) {
                g_autofree char *head = text_markdown(lines[0]);
                g_autofree char *hook = text_markdown(h->hook);
                /* A fence longer than any backtick run of the output, so
                 * the output cannot close it. */
                g_autofree char *fence = text_markdown_fence(h->output);

                g_string_append_printf(o, "\nHook %s: %s\n\n%s\n", hook, head, fence);
                for (guint x = 1; lines[x] != NULL; x++)
                    if (lines[x][0] != '\0' || lines[x + 1] != NULL)
                        g_string_append_printf(o, "%s\n", lines[x]);
                g_string_append_printf(o, "%s\n", fence);
            } else {
                g_string_append_printf(o, "  hook %-17s %s\n", h->hook, lines[0]);
                for (guint x = 1; lines[x] != NULL; x++)
                    if (lines[x][0] != '\0')
                        g_string_append_printf(o, "    | %s\n", lines[x]);
            }
        }
        if (markdown && v->domain_xml != NULL) {
            g_autofree char *fence = text_markdown_fence(v->domain_xml);

            g_string_append_printf(o, "\n<details><summary>domain XML</summary>\n\n%sxml\n%s%s\n\n</details>\n",
                                   fence, v->domain_xml, fence);
        } else if (v->domain_xml != NULL && !r->with_xml) {
            g_string_append(o, "  domain XML: recorded ('convoy report --xml' prints it)\n");
        } else if (v->domain_xml != NULL) {
            g_auto(GStrv) lines = g_strsplit(v->domain_xml, "\n", -1);
            g_string_append(o, "  domain XML:\n");
            for (guint x = 0; lines[x] != NULL; x++)
                if (lines[x][0] != '\0')
                    g_string_append_printf(o, "    %s\n", lines[x]);
        }
    }
    if (r->workers != NULL) {
        g_string_append_printf(o, markdown ? "\n## Workers\n\n" : "\nworkers:\n");
        for (guint i = 0; i < r->workers->len; i++) {
            const struct state_worker_record *w = r->workers->pdata[i];
            g_autofree char *since = report_time((double)w->started);
            g_string_append_printf(o, "%s%s: host %s, pid %" G_GINT64_FORMAT ", started %s, ",
                                   markdown ? "- " : "  ", w->id, w->host, (gint64)w->pid, since);
            if (w->live)
                g_string_append_printf(o, "heartbeat %" G_GINT64_FORMAT " s ago, holds %u VM%s\n",
                                       (gint64)w->heartbeat_age, w->vms_held,
                                       w->vms_held == 1 ? "" : "s");
            else
                g_string_append(o, "gone\n");
        }
    }
    return g_string_free(o, FALSE);
}

static char *
render_json(const struct report *r)
{
    struct json j;

    json_init(&j, true);
    json_begin_object(&j);
    json_kv_uint(&j, "format_version", 1);
    json_kv_string(&j, "wave", r->wave);
    json_key(&j, "summary");
    json_begin_object(&j);
    json_kv_uint(&j, "vms", r->vms->len);
    json_kv_uint(&j, "done", r->n_done);
    json_kv_uint(&j, "failed", r->n_failed);
    json_kv_uint(&j, "partial", r->n_partial);
    json_kv_uint(&j, "deferred", r->n_deferred);
    json_kv_uint(&j, "not_started", r->n_pending);
    json_key(&j, "first");
    json_double(&j, r->first);
    json_key(&j, "last");
    json_double(&j, r->last);
    json_end_object(&j);
    json_key(&j, "vms");
    json_begin_array(&j);
    for (guint i = 0; i < r->vms->len; i++) {
        const struct report_vm *v = r->vms->pdata[i];

        json_begin_object(&j);
        json_kv_string(&j, "name", v->name);
        json_kv_string(&j, "target_name", v->target_name);
        json_kv_string(&j, "wave", v->wave);
        json_kv_string(&j, "status", v->status);
        json_kv_string(&j, "reason", v->reason);
        json_kv_uint(&j, "bytes_copied", v->bytes);
        json_key(&j, "copy_seconds");
        json_double(&j, v->copy_seconds);
        json_key(&j, "steps");
        json_begin_array(&j);
        for (guint k = 0; k < v->steps->len; k++) {
            const struct report_step *s = v->steps->pdata[k];

            json_begin_object(&j);
            json_kv_string(&j, "key", s->key);
            json_kv_string(&j, "kind", s->kind);
            json_kv_string(&j, "status", s->status);
            json_kv_uint(&j, "attempts", s->attempts);
            if (r->workers != NULL)
                json_kv_string(&j, "worker", s->worker);
            json_key(&j, "seconds");
            json_double(&j, s->seconds);
            if (s->bytes > 0) {
                json_kv_uint(&j, "bytes", s->bytes);
                json_kv_uint(&j, "written", s->written);
            }
            json_kv_string(&j, "checksum", s->checksum);
            if (s->guest != NULL) {
                json_kv_string(&j, "guest", s->guest);
                json_kv_string(&j, "guest_timings", s->guest_timings);
                json_key(&j, "changes");
                json_begin_array(&j);
                for (guint x = 0; s->changes != NULL && x < s->changes->len; x++)
                    json_string(&j, s->changes->pdata[x]);
                json_end_array(&j);
            }
            json_kv_string(&j, "error", s->error);
            json_key(&j, "attempts_log");
            json_begin_array(&j);
            for (guint x = 0; x < s->spans->len; x++) {
                const struct report_span *sp = s->spans->pdata[x];
                json_begin_object(&j);
                json_key(&j, "start");
                json_double(&j, sp->start);
                json_key(&j, "end");
                json_double(&j, sp->end);
                json_kv_string(&j, "outcome", sp->outcome);
                json_end_object(&j);
            }
            json_end_array(&j);
            json_end_object(&j);
        }
        json_end_array(&j);
        json_key(&j, "hooks");
        json_begin_array(&j);
        for (guint k = 0; k < v->hooks->len; k++) {
            const struct report_hook *h = v->hooks->pdata[k];
            json_begin_object(&j);
            json_kv_string(&j, "hook", h->hook);
            json_kv_bool(&j, "ok", h->ok);
            json_key(&j, "time");
            json_double(&j, h->time);
            json_kv_string(&j, "output", h->output);
            json_end_object(&j);
        }
        json_end_array(&j);
        json_kv_string(&j, "domain_xml", v->domain_xml);
        json_end_object(&j);
    }
    json_end_array(&j);
    if (r->workers != NULL) {
        json_key(&j, "workers");
        json_begin_array(&j);
        for (guint i = 0; i < r->workers->len; i++) {
            const struct state_worker_record *w = r->workers->pdata[i];
            json_begin_object(&j);
            json_kv_string(&j, "id", w->id);
            json_kv_string(&j, "host", w->host);
            json_kv_uint(&j, "pid", (uint64_t)w->pid);
            json_kv_uint(&j, "started", (uint64_t)w->started);
            json_kv_uint(&j, "heartbeat_age", (uint64_t)w->heartbeat_age);
            json_kv_uint(&j, "vms_held", w->vms_held);
            json_kv_bool(&j, "live", w->live);
            json_end_object(&j);
        }
        json_end_array(&j);
    }
    json_end_object(&j);
    char *s = json_steal(&j);
    json_release(&j);
    return s;
}

char *
report_render(const struct report *r, enum report_format format)
{
    switch (format) {
    case REPORT_FORMAT_TEXT:
        return render_text(r, false);
    case REPORT_FORMAT_MARKDOWN:
        return render_text(r, true);
    case REPORT_FORMAT_HTML:
        return report_render_html(r);
    case REPORT_FORMAT_JSON: {
        char *s = render_json(r);
        char *t = g_strconcat(s, "\n", NULL);
        g_free(s);
        return t;
    }
    case REPORT_FORMAT_LAST:
        break;
    }
    g_return_val_if_reached(NULL);
}
