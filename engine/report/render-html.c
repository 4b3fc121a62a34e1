/* The HTML report: one self-contained page (no script, no external
 * resource) with a summary, a timeline — one row per VM step, one bar per
 * attempt, placed on the night's time axis — and per-VM tables with the
 * final domain XML. */
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
    ".axis{display:flex;justify-content:space-between;font-size:12px;color:#666}"
    "pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:12px}"
    ".legend span{display:inline-block;margin-right:1em}"
    ".legend i{display:inline-block;width:1em;height:.8em;margin-right:.3em}";

static void
esc(GString *o, const char *s)
{
    g_autofree char *e = g_markup_escape_text(s != NULL ? s : "", -1);
    g_string_append(o, e);
}

static void
timeline(GString *o, const struct report *r)
{
    double span = r->last - r->first;
    g_autofree char *t0 = report_time(r->first);
    g_autofree char *t1 = report_time(r->last);

    if (span <= 0)
        span = 1;
    g_string_append(o, "<h2>Timeline</h2>\n<div class='legend'>"
                       "<span><i class='done'></i>done</span>"
                       "<span><i class='failed'></i>failed</span>"
                       "<span><i class='interrupted'></i>interrupted</span>"
                       "<span><i class='killed'></i>killed</span></div>\n");
    g_string_append(o, "<table class='tl'>\n");
    g_string_append_printf(o, "<tr><td class='lbl'></td><td><div class='axis'><span>%s</span><span>%s</span></div></td></tr>\n",
                           t0, t1);
    for (guint i = 0; i < r->vms->len; i++) {
        const struct report_vm *v = r->vms->pdata[i];
        for (guint k = 0; k < v->steps->len; k++) {
            const struct report_step *s = v->steps->pdata[k];

            g_string_append(o, "<tr><td class='lbl'>");
            esc(o, v->name);
            g_string_append(o, " ");
            esc(o, s->name);
            g_string_append(o, "</td><td><div class='lane'>");
            for (guint x = 0; x < s->spans->len; x++) {
                const struct report_span *sp = s->spans->pdata[x];
                double left = (sp->start - r->first) / span * 100.0;
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

char *
report_render_html(const struct report *r)
{
    GString *o = g_string_new(NULL);

    g_string_append_printf(o, "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
                              "<title>convoy report</title><style>%s</style></head><body>\n",
                           css);
    g_string_append(o, "<h1>convoy report");
    if (r->wave != NULL) {
        g_string_append(o, ": wave ");
        esc(o, r->wave);
    }
    g_string_append(o, "</h1>\n");
    g_string_append_printf(o, "<p id='summary'>%u VM%s: <b class='s-done'>%u done</b>, "
                              "<b class='s-failed'>%u failed</b>, %u partial, %u deferred, %u not started.</p>\n",
                           r->vms->len, r->vms->len == 1 ? "" : "s", r->n_done,
                           r->n_failed, r->n_partial, r->n_deferred, r->n_pending);
    timeline(o, r);
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
