/* Plan rendering: deterministic text for people, JSON for machines.  No
 * addresses, no timestamps; paths under the manifest's directory are
 * shown relative to it. */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "plan/plan.h"
#include "util/json.h"
#include "util/size.h"

static const char *
action_mark(enum plan_action a)
{
    switch (a) {
    case PLAN_ACTION_DONE:
        return "=";
    case PLAN_ACTION_TODO:
        return "+";
    case PLAN_ACTION_RESUME:
        return "~";
    case PLAN_ACTION_REDO:
        return "!";
    case PLAN_ACTION_BLOCKED:
    case PLAN_ACTION_LAST:
    default:
        return "x";
    }
}

/* Drop the manifest's folder from the paths in s, in one pass (the text
 * of a plan of thousands of VMs is megabytes). */
static char *
relativise(const struct plan *p, GString *s)
{
    g_autofree char *prefix = g_strconcat(p->m->base_dir, "/", NULL);
    size_t plen = strlen(prefix);
    GString *out;
    const char *cur, *hit;

    if (strcmp(p->m->base_dir, "/") == 0)
        return g_string_free(s, FALSE);
    out = g_string_sized_new(s->len);
    for (cur = s->str; (hit = strstr(cur, prefix)) != NULL; cur = hit + plen)
        g_string_append_len(out, cur, hit - cur);
    g_string_append(out, cur);
    g_string_free(s, TRUE);
    return g_string_free(out, FALSE);
}

static char *
step_title(const struct plan_step *s)
{
    if (s->disk != NULL)
        return g_strdup_printf("%s %s", s->ops->name, s->disk->dev);
    return g_strdup(s->ops->name);
}

char *
plan_duration(double seconds)
{
    unsigned s = seconds > 0 ? (unsigned)(seconds + 0.5) : 0;

    if (s < 60)
        return g_strdup_printf("%u s", s);
    if (s < 3600)
        return g_strdup_printf("%um%02us", s / 60, s % 60);
    return g_strdup_printf("%uh%02um", s / 3600, (s % 3600) / 60);
}

static const struct plan_wave *
find_wave(const struct plan *p, const struct manifest_wave *w)
{
    for (guint i = 0; p->waves != NULL && i < p->waves->len; i++) {
        const struct plan_wave *pw = p->waves->pdata[i];
        if (pw->w == w)
            return pw;
    }
    return NULL;
}

/* The kind of the wave's first pending slow step (guest-fixup), for its
 * estimate's words; NULL when none. */
static const char *
slow_kind(const struct plan *p, const struct manifest_wave *w)
{
    for (guint i = 0; i < p->vms->len; i++) {
        const struct plan_vm *v = p->vms->pdata[i];
        for (guint k = 0; v->mvm->wave == w && v->steps != NULL && k < v->steps->len; k++) {
            const struct plan_step *s = v->steps->pdata[k];
            if (s->action != PLAN_ACTION_DONE && s->action != PLAN_ACTION_BLOCKED &&
                s->ops->copy_size == NULL && s->ops->default_seconds > 0)
                return s->ops->name;
        }
    }
    return NULL;
}

/* "about 2m05s", or "under 1 s"; new string. */
static char *
about(double seconds)
{
    g_autofree char *d = plan_duration(seconds);

    return seconds < 1 ? g_strdup("under 1 s") : g_strdup_printf("about %s", d);
}

/* The wave's window and estimate, under its heading. */
static void
wave_text(GString *out, const struct plan *p, const struct plan_wave *pw)
{
    g_autofree char *sz = size_format(pw->bytes);

    switch (pw->window) {
    case PLAN_WINDOW_NONE:
        g_string_append(out, "  window: none (starts at once)\n");
        break;
    case PLAN_WINDOW_OPEN:
        if (pw->window_when == NULL) {
            g_string_append(out, "  window: open\n");
        } else {
            g_autofree char *left = plan_duration(pw->window_left);
            g_string_append_printf(out, "  window: open, closes at %s (in %s): %s\n",
                                   pw->window_when, left,
                                   pw->seconds <= pw->window_left ? "the estimate fits"
                                   : "the estimate runs past it; a VM that would not finish before it is deferred");
        }
        break;
    case PLAN_WINDOW_CLOSED:
        g_string_append_printf(out, "  window: closed: nothing will start (%s)\n", pw->window_when);
        break;
    case PLAN_WINDOW_IGNORED:
        g_string_append(out, "  window: ignored (--ignore-window)\n");
        break;
    case PLAN_WINDOW_UNKNOWN:
    case PLAN_WINDOW_LAST:
    default:
        break;
    }
    if (pw->copies == 0 && pw->slow_steps == 0) {
        g_string_append(out, "  to copy: nothing\n");
        return;
    }
    g_string_append_printf(out, "  to copy: %s (%" G_GUINT64_FORMAT " bytes) in %u disk%s",
                           sz, pw->bytes, pw->copies, pw->copies == 1 ? "" : "s");
    if (pw->rate <= 0) {
        g_string_append_c(out, '\n');
        return;
    }
    g_autofree char *rate = size_format((uint64_t)pw->rate);
    g_autofree char *copy = about(pw->copy_seconds);
    g_autofree char *all = about(pw->seconds);
    g_string_append_printf(out, ", %s at %s/s (%s)", copy, rate,
                           strcmp(pw->rate_source, "default") == 0 ? "default rate"
                           : strcmp(pw->rate_source, "measured") == 0 ? "measured by earlier copies"
                           : pw->rate_source);
    if (pw->slow_steps > 0) {
        g_autofree char *slow = about(pw->slow_seconds);
        g_string_append_printf(out, "; %u %s, %s (%s)", pw->slow_steps,
                               slow_kind(p, pw->w), slow,
                               pw->slow_measured ? "measured" : "default");
    }
    g_string_append_printf(out, "; %s in all\n", all);
}

/* The files an earlier attempt left elsewhere: replaced or left. */
static void
old_outputs_text(GString *out, const struct plan_vm *v)
{
    for (guint k = 0; v->steps != NULL && k < v->steps->len; k++) {
        const struct plan_step *s = v->steps->pdata[k];

        if (s->old_output == NULL)
            continue;
        if (s->old_removed)
            g_string_append_printf(out, "    replace %s: an earlier apply made it; %s removes it and writes its new output\n",
                                   s->old_output, s->key);
        else
            g_string_append_printf(out, "    leave   %s: made before %s's inputs changed; apply leaves it (remove it by hand when no longer wanted)\n",
                                   s->old_output, s->key);
    }
}

char *
plan_render_text(const struct plan *p)
{
    GString *out = g_string_new(NULL);
    const char *cur_wave = NULL;
    unsigned n_steps = 0;
    unsigned n_moves = 0;

    for (guint i = 0; i < p->vms->len; i++) {
        if (((const struct plan_vm *)p->vms->pdata[i])->move != NULL)
            n_moves++;
    }
    g_string_append_printf(out, "convoy plan: %u VM%s", p->vms->len - n_moves,
                           p->vms->len - n_moves == 1 ? "" : "s");
    if (n_moves > 0)
        g_string_append_printf(out, ", %u move%s", n_moves, n_moves == 1 ? "" : "s");
    g_string_append_printf(out, "%s%s%s%s (state %s)\n",
                           p->wave ? ", wave " : "", p->wave ? p->wave : "",
                           p->vm ? ", vm " : "", p->vm ? p->vm : "",
                           p->state_path);
    for (guint i = 0; i < p->warnings->len; i++)
        g_string_append_printf(out, "warning: %s\n", (const char *)p->warnings->pdata[i]);
    if (p->wave_blocked != NULL)
        g_string_append_printf(out, "blocked: %s\n", p->wave_blocked);
    for (guint i = 0; i < p->vms->len; i++) {
        const struct plan_vm *v = p->vms->pdata[i];
        const char *tname = manifest_vm_target_name(v->mvm);

        if (cur_wave != v->mvm->wave->name) {
            cur_wave = v->mvm->wave->name;
            g_string_append_printf(out, "\nwave %s\n", cur_wave);
            const struct plan_wave *pw = find_wave(p, v->mvm->wave);
            if (pw != NULL)
                wave_text(out, p, pw);
        }
        if (v->move != NULL) {
            g_string_append_printf(out, "  move %s (from %s; to %s)\n", v->move->domain,
                                   v->move->from, v->move->to);
        } else {
            g_string_append_printf(out, "  vm %s", v->mvm->name);
            if (strcmp(tname, v->mvm->name) != 0)
                g_string_append_printf(out, " → %s", tname);
            g_string_append_printf(out, " (source %s", v->mvm->source);
            if (v->sv != NULL)
                g_string_append_printf(out, ": %s", v->sv->location);
            g_string_append_printf(out, "; target %s)\n", v->mvm->target);
        }
        if (v->error != NULL) {
            g_string_append_printf(out, "    x error: %s\n", v->error);
            continue;
        }
        if (v->move == NULL && v->kvm_xml != NULL) {
            g_autofree char *dom = plan_domain_summary_text(v, "    ");
            if (dom != NULL)
                g_string_append(out, dom);
        }
        if (v->pinned)
            g_string_append(out, "    pinned to the host that first takes it: its files are local to that host\n");
        for (guint k = 0; k < v->steps->len; k++) {
            const struct plan_step *s = v->steps->pdata[k];
            g_autofree char *title = step_title(s);
            g_autofree char *detail = s->ops->describe(s);

            n_steps++;
            g_string_append_printf(out, "    %s %-6s %-18s %s\n", action_mark(s->action),
                                   plan_action_name(s->action), title, detail);
            if (s->action != PLAN_ACTION_DONE)
                g_string_append_printf(out, "      %*s %s\n", 25, "", s->reason);
        }
        old_outputs_text(out, v);
    }
    g_string_append_c(out, '\n');
    if (p->errors->len > 0) {
        for (guint i = 0; i < p->errors->len; i++)
            g_string_append_printf(out, "error: %s\n", (const char *)p->errors->pdata[i]);
    }
    if (!plan_has_changes(p) && p->errors->len == 0) {
        g_string_append_printf(out, "No changes: %u step%s up to date.\n", n_steps,
                               n_steps == 1 ? "" : "s");
    } else {
        g_string_append_printf(out, "Plan: %u to do, %u to resume, %u to redo, %u done",
                               p->counts[PLAN_ACTION_TODO],
                               p->counts[PLAN_ACTION_RESUME],
                               p->counts[PLAN_ACTION_REDO],
                               p->counts[PLAN_ACTION_DONE]);
        if (p->errors->len > 0)
            g_string_append_printf(out, "; %u VM%s with errors", p->errors->len,
                                   p->errors->len == 1 ? "" : "s");
        g_string_append(out, ".\n");
    }
    return relativise(p, out);
}

static char *
render_json(const struct plan *p, bool pretty)
{
    struct json j;
    g_autofree char *text = NULL;

    json_init(&j, pretty);
    json_begin_object(&j);
    json_kv_uint(&j, "format_version", 1);
    json_kv_string(&j, "state", p->state_path);
    json_kv_string(&j, "wave", p->wave);
    json_kv_string(&j, "wave_blocked", p->wave_blocked);
    json_kv_bool(&j, "changes", plan_has_changes(p));
    json_key(&j, "summary");
    json_begin_object(&j);
    for (int a = 0; a < PLAN_ACTION_LAST; a++)
        json_kv_uint(&j, plan_action_name((enum plan_action)a), p->counts[a]);
    json_end_object(&j);
    json_key(&j, "errors");
    json_begin_array(&j);
    for (guint i = 0; i < p->errors->len; i++)
        json_string(&j, p->errors->pdata[i]);
    json_end_array(&j);
    json_key(&j, "warnings");
    json_begin_array(&j);
    for (guint i = 0; i < p->warnings->len; i++)
        json_string(&j, p->warnings->pdata[i]);
    json_end_array(&j);
    json_kv_string(&j, "vm", p->vm);
    json_key(&j, "waves");
    json_begin_array(&j);
    for (guint i = 0; p->waves != NULL && i < p->waves->len; i++) {
        const struct plan_wave *pw = p->waves->pdata[i];
        static const char *const windows[PLAN_WINDOW_LAST] = {
            [PLAN_WINDOW_UNKNOWN] = "unknown", [PLAN_WINDOW_NONE] = "none",
            [PLAN_WINDOW_OPEN] = "open", [PLAN_WINDOW_CLOSED] = "closed",
            [PLAN_WINDOW_IGNORED] = "ignored",
        };

        json_begin_object(&j);
        json_kv_string(&j, "name", pw->w->name);
        json_kv_string(&j, "window", windows[pw->window]);
        json_kv_string(&j, "window_closes", pw->window == PLAN_WINDOW_OPEN ? pw->window_when : NULL);
        json_kv_string(&j, "window_closed", pw->window == PLAN_WINDOW_CLOSED ? pw->window_when : NULL);
        json_kv_bool(&j, "starts", pw->window != PLAN_WINDOW_CLOSED);
        json_kv_uint(&j, "bytes_to_copy", pw->bytes);
        json_kv_uint(&j, "copies", pw->copies);
        json_kv_uint(&j, "slow_steps", pw->slow_steps);
        if (pw->rate > 0) {
            json_kv_uint(&j, "rate_bytes_per_second", (uint64_t)pw->rate);
            json_kv_string(&j, "rate_source", pw->rate_source);
            json_kv_uint(&j, "estimated_seconds", (uint64_t)(pw->seconds + 0.5));
        }
        if (pw->window == PLAN_WINDOW_OPEN && pw->window_when != NULL) {
            json_kv_uint(&j, "window_left_seconds", (uint64_t)pw->window_left);
            json_kv_bool(&j, "fits", pw->seconds <= pw->window_left);
        }
        json_end_object(&j);
    }
    json_end_array(&j);
    json_key(&j, "vms");
    json_begin_array(&j);
    for (guint i = 0; i < p->vms->len; i++) {
        const struct plan_vm *v = p->vms->pdata[i];
        uint64_t to_copy = 0;

        for (guint k = 0; v->steps != NULL && k < v->steps->len; k++)
            to_copy += step_copy_to_read(v->steps->pdata[k]);
        json_begin_object(&j);
        json_kv_string(&j, "name", v->mvm->name);
        json_kv_string(&j, "target_name", manifest_vm_target_name(v->mvm));
        json_kv_string(&j, "wave", v->mvm->wave->name);
        json_kv_string(&j, "source", v->mvm->source);
        json_kv_string(&j, "source_location", v->sv ? v->sv->location
                                              : v->move != NULL ? v->move_at : NULL);
        json_kv_string(&j, "target", v->mvm->target);
        json_kv_string(&j, "error", v->error);
        json_kv_uint(&j, "bytes_to_copy", to_copy);
        if (v->move == NULL) {
            json_key(&j, "domain");
            plan_domain_summary_json(v, &j);
        }
        json_key(&j, "replace");
        json_begin_array(&j);
        for (guint k = 0; v->steps != NULL && k < v->steps->len; k++) {
            const struct plan_step *s = v->steps->pdata[k];
            if (s->old_output != NULL && s->old_removed)
                json_string(&j, s->old_output);
        }
        json_end_array(&j);
        json_key(&j, "leave");
        json_begin_array(&j);
        for (guint k = 0; v->steps != NULL && k < v->steps->len; k++) {
            const struct plan_step *s = v->steps->pdata[k];
            if (s->old_output != NULL && !s->old_removed)
                json_string(&j, s->old_output);
        }
        json_end_array(&j);
        if (v->move != NULL) {
            json_kv_bool(&j, "move", true);
            json_kv_string(&j, "from_uri", v->move->from_target->uri);
            json_kv_string(&j, "to_uri", v->move->to_target->uri);
        }
        json_key(&j, "steps");
        json_begin_array(&j);
        for (guint k = 0; k < v->steps->len; k++) {
            const struct plan_step *s = v->steps->pdata[k];
            g_autofree char *detail = s->ops->describe(s);

            json_begin_object(&j);
            json_kv_string(&j, "key", s->key);
            json_kv_string(&j, "kind", s->ops->name);
            json_kv_string(&j, "disk", s->disk ? s->disk->dev : NULL);
            json_kv_string(&j, "action", plan_action_name(s->action));
            json_kv_string(&j, "reason", s->reason);
            json_kv_string(&j, "detail", detail);
            json_kv_string(&j, "fingerprint", s->fingerprint);
            if (s->ops->copy_size != NULL) {
                json_kv_uint(&j, "bytes", step_copy_size(s));
                json_kv_uint(&j, "bytes_to_read", step_copy_to_read(s));
            }
            if (s->action == PLAN_ACTION_RESUME)
                json_kv_uint(&j, "resume_from", s->resume_from);
            /* guest-fixup: the facts and changes of its last attempt */
            if (s->ops == &step_guest_fixup && s->rec != NULL && s->rec->outputs != NULL) {
                json_key(&j, "guest");
                json_raw(&j, s->rec->outputs);
            }
            /* plan --inspect: what the source disks hold now */
            if (s->ops == &step_guest_fixup && v->guest_inspect_json != NULL) {
                json_key(&j, "inspection");
                json_raw(&j, v->guest_inspect_json);
            }
            json_end_object(&j);
        }
        json_end_array(&j);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_end_object(&j);
    text = json_steal(&j);
    json_release(&j);
    GString *s = g_string_new(text);
    if (pretty)
        g_string_append_c(s, '\n');
    return relativise(p, s);
}

char *
plan_render_json(const struct plan *p)
{
    return render_json(p, true);
}

char *
plan_render_json_line(const struct plan *p)
{
    return render_json(p, false);
}
