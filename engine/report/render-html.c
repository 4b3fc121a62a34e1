/* The HTML report: one self-contained page (no script, no external
 * resource) with a header (manifests, state, when, convoy's version), a
 * summary, one timeline per apply run — one row per VM step, one bar per
 * attempt, placed on the run's time axis — and per-VM tables with the
 * guest repair and the final domain XML. */
#include "config.h"

#include <string.h>

#include "report/report.h"
#include "util/size.h"

static const char css[] =
    "body{font:14px/1.4 sans-serif;margin:2em;color:#222}"
    "h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}"
    "table{border-collapse:collapse;margin:.5em 0}"
    "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}"
    ".tl{width:100%;border:1px solid #ccc;margin:1em 0}"
    ".tl td{border:none;border-bottom:1px solid #eee;padding:2px 4px}"
    ".tl .lbl{width:16em;white-space:nowrap;font-family:monospace;font-size:12px}"
    ".lane{position:relative;height:14px;background:#fafafa}"
    ".bar{position:absolute;top:1px;height:12px;min-width:2px;border-radius:2px}"
    ".done{background:#2e8b57}.failed{background:#c0392b}"
    ".interrupted{background:#e6a23c}.killed{background:#7f8c8d}.unknown{background:#bbb}"
    ".s-done{color:#2e8b57}.s-failed{color:#c0392b}.s-partial{color:#b7791f}"
    ".axis{position:relative;height:1.4em;font-size:12px;color:#666;border-bottom:1px solid #999}"
    ".tick{position:absolute;bottom:0;transform:translateX(-50%);white-space:nowrap}"
    ".tick:first-child{transform:none}.tick:last-child{transform:translateX(-100%)}"
    "header dl{display:grid;grid-template-columns:max-content auto;gap:.1em 1em}"
    "header dt{color:#666}header dd{margin:0;font-family:monospace}"
    "pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:12px}"
    ".legend span{display:inline-block;margin-right:1em}"
    ".legend i{display:inline-block;width:1em;height:.8em;margin-right:.3em}";

static void
esc(GString *o, const char *s)
{
    g_autofree char *e = g_markup_escape_text(s != NULL ? s : "", -1);
    g_string_append(o, e);
}

/* A time of day on an axis: "22:04:05" (the day is in the run's
 * heading).  New string. */
static char *
clock_time(double t)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc((gint64)t);

    return dt != NULL ? g_date_time_format(dt, "%H:%M:%S") : g_strdup("-");
}

/* The time axis of a run: five ticks, from its start to its end. */
static void
axis(GString *o, double first, double span)
{
    g_string_append(o, "<tr><td class='lbl'>time (UTC)</td><td><div class='axis'>");
    for (int i = 0; i <= 4; i++) {
        g_autofree char *at = clock_time(first + span * i / 4.0);
        g_string_append_printf(o, "<span class='tick' style='left:%d%%'>%s</span>",
                               i * 25, at);
    }
    g_string_append(o, "</div></td></tr>\n");
}

/* One timeline per run: a row per VM step that has attempts in the run,
 * one bar per attempt, placed on the run's own time axis. */
static void
timeline(GString *o, const struct report *r, const struct report_run *run)
{
    double span = run->end - run->start;
    g_autofree char *t0 = report_time(run->start);
    g_autofree char *t1 = report_time(run->end);

    if (span <= 0)
        span = 1;
    if (run->id > 0)
        g_string_append_printf(o, "<h3 id='run-%" G_GINT64_FORMAT "'>Run %" G_GINT64_FORMAT ": %s to %s (%.0f s)</h3>\n",
                               run->id, run->id, t0, t1, run->end - run->start);
    else
        g_string_append_printf(o, "<h3 id='run-0'>Outside any run: %s to %s</h3>\n", t0, t1);
    g_string_append_printf(o, "<table class='tl' data-run='%" G_GINT64_FORMAT "'>\n", run->id);
    axis(o, run->start, span);
    for (guint i = 0; i < r->vms->len; i++) {
        const struct report_vm *v = r->vms->pdata[i];
        for (guint k = 0; k < v->steps->len; k++) {
            const struct report_step *s = v->steps->pdata[k];
            bool any = false;

            for (guint x = 0; x < s->spans->len && !any; x++)
                any = ((const struct report_span *)s->spans->pdata[x])->run_id == run->id;
            if (!any)
                continue;
            g_string_append(o, "<tr><td class='lbl'>");
            esc(o, v->name);
            g_string_append(o, " ");
            esc(o, s->name);
            g_string_append(o, "</td><td><div class='lane'>");
            for (guint x = 0; x < s->spans->len; x++) {
                const struct report_span *sp = s->spans->pdata[x];
                if (sp->run_id != run->id)
                    continue;
                double left = (sp->start - run->start) / span * 100.0;
                double width = (sp->end - sp->start) / span * 100.0;
                g_autofree char *from = report_time(sp->start);

                g_string_append_printf(o, "<div class='bar %s' style='left:%.2f%%;width:%.2f%%' title='",
                                       sp->outcome, left, width);
                esc(o, s->key);
                g_string_append_printf(o, ": %s from %s, %.1f s'></div>", sp->outcome,
                                       from, sp->end - sp->start);
            }
            g_string_append(o, "</div></td></tr>\n");
        }
    }
    g_string_append(o, "</table>\n");
}

static void
timelines(GString *o, const struct report *r)
{
    unsigned failed = 0;

    for (guint i = 0; i < r->runs->len; i++)
        failed += ((const struct report_run *)r->runs->pdata[i])->failed;
    g_string_append(o, "<h2>Timeline</h2>\n");
    if (r->runs->len == 0) {
        g_string_append(o, "<p>No step has been started yet.</p>\n");
        return;
    }
    /* The legend names failed attempts only when there are some. */
    g_string_append(o, "<div class='legend'><span><i class='done'></i>done</span>");
    if (failed > 0)
        g_string_append(o, "<span><i class='failed'></i>failed</span>");
    g_string_append(o, "<span><i class='interrupted'></i>interrupted</span>"
                       "<span><i class='killed'></i>killed</span></div>\n");
    for (guint i = 0; i < r->runs->len; i++)
        timeline(o, r, r->runs->pdata[i]);
}

/* guest-fixup: what inspection found and every change, per VM. */
static void
guest_details(GString *o, const struct report_vm *v)
{
    for (guint k = 0; k < v->steps->len; k++) {
        const struct report_step *s = v->steps->pdata[k];

        if (s->guest == NULL)
            continue;
        g_string_append(o, "<div class='guest'><h4>Guest repair</h4><p>");
        esc(o, s->guest);
        g_string_append_printf(o, "; %u change%s</p>\n",
                               s->changes != NULL ? s->changes->len : 0,
                               s->changes != NULL && s->changes->len == 1 ? "" : "s");
        if (s->changes != NULL && s->changes->len > 0) {
            g_string_append(o, "<ul class='changes'>\n");
            for (guint x = 0; x < s->changes->len; x++) {
                g_string_append(o, "<li>");
                esc(o, s->changes->pdata[x]);
                g_string_append(o, "</li>\n");
            }
            g_string_append(o, "</ul>\n");
        }
        g_string_append(o, "</div>\n");
    }
}

char *
report_render_html(const struct report *r)
{
    GString *o = g_string_new(NULL);

    g_string_append_printf(o, "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
                              "<title>convoy report</title><style>%s</style></head><body>\n",
                           css);
    g_autofree char *made = report_time(r->generated);
    g_string_append(o, "<header>\n<h1>convoy report");
    if (r->wave != NULL) {
        g_string_append(o, ": wave ");
        esc(o, r->wave);
    }
    if (r->vm != NULL) {
        g_string_append(o, ": vm ");
        esc(o, r->vm);
    }
    g_string_append(o, "</h1>\n<dl>\n<dt>manifest</dt><dd id='manifest'>");
    for (guint i = 0; i < r->manifests->len; i++) {
        if (i > 0)
            g_string_append(o, "<br>");
        esc(o, r->manifests->pdata[i]);
    }
    g_string_append(o, "</dd>\n<dt>state</dt><dd id='state'>");
    esc(o, r->state_path);
    g_string_append_printf(o, "</dd>\n<dt>made</dt><dd id='made'>%s</dd>\n"
                              "<dt>convoy</dt><dd id='version'>%s</dd>\n</dl>\n</header>\n",
                           made, PACKAGE_VERSION);
    /* Failures are red only when there are some. */
    g_string_append_printf(o, "<p id='summary'>%u VM%s: <b class='s-done'>%u done</b>, ",
                           r->vms->len, r->vms->len == 1 ? "" : "s", r->n_done);
    if (r->n_failed > 0)
        g_string_append_printf(o, "<b class='s-failed'>%u failed</b>, ", r->n_failed);
    else
        g_string_append(o, "0 failed, ");
    g_string_append_printf(o, "%u partial, %u deferred, %u not started.</p>\n",
                           r->n_partial, r->n_deferred, r->n_pending);
    timelines(o, r);
    for (guint i = 0; i < r->vms->len; i++) {
        const struct report_vm *v = r->vms->pdata[i];
        g_autofree char *sz = size_format(v->bytes);
        g_autofree char *rate = report_rate(v->bytes, v->copy_seconds);

        g_string_append(o, "<h2>");
        esc(o, v->name);
        g_string_append(o, " → ");
        esc(o, v->target_name);
        g_string_append_printf(o, " <span class='s-%s'>%s</span></h2>\n", v->status, v->status);
        g_string_append(o, "<p>wave ");
        esc(o, v->wave);
        g_string_append_printf(o, "; copied %s at %s</p>\n", sz, rate);
        if (v->reason != NULL && v->steps->len == 0) {
            g_string_append(o, "<p class='reason'>");
            esc(o, v->reason);
            g_string_append(o, "</p>\n");
        }
        g_string_append(o, "<table><tr><th>step</th><th>status</th><th>attempts</th>"
                           "<th>seconds</th><th>bytes</th><th>throughput</th>"
                           "<th>checksum</th><th>error</th></tr>\n");
        for (guint k = 0; k < v->steps->len; k++) {
            const struct report_step *s = v->steps->pdata[k];
            g_autofree char *b = s->bytes ? size_format(s->bytes) : g_strdup("");
            g_autofree char *rt = s->bytes ? report_rate(s->bytes, s->seconds) : g_strdup("");

            g_string_append(o, "<tr><td>");
            esc(o, s->name);
            g_string_append_printf(o, "</td><td class='s-%s'>%s</td><td>%u</td><td>%.1f</td><td>%s</td><td>%s</td><td>",
                                   s->status, s->status, s->attempts, s->seconds, b, rt);
            esc(o, s->checksum);
            g_string_append(o, "</td><td>");
            esc(o, s->error);
            g_string_append(o, "</td></tr>\n");
        }
        g_string_append(o, "</table>\n");
        guest_details(o, v);
        for (guint k = 0; k < v->hooks->len; k++) {
            const struct report_hook *h = v->hooks->pdata[k];
            g_string_append_printf(o, "<details><summary>%s-hook <span class='s-%s'>%s</span></summary><pre>",
                                   h->hook, h->ok ? "done" : "failed", h->ok ? "ok" : "failed");
            esc(o, h->output);
            g_string_append(o, "</pre></details>\n");
        }
        if (v->domain_xml != NULL) {
            g_string_append(o, "<details><summary>domain XML</summary><pre>");
            esc(o, v->domain_xml);
            g_string_append(o, "</pre></details>\n");
        }
    }
    g_string_append(o, "</body></html>\n");
    return g_string_free(o, FALSE);
}
