/* Progress of an apply, as the executor reports it: on a terminal a live
 * block with one line per running step (bytes, throughput, ETA) and a
 * total; otherwise one line per step start and finish and every 10 % of a
 * copy; or JSON lines for machines.  The executor serialises the calls. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/error.h"
#include "util/json.h"
#include "util/size.h"
#include "util/text.h"

struct running {
    const struct plan_step *ps;
    gint64 t0;
    uint64_t done;
    uint64_t total;
    unsigned decile;
};

struct progress {
    enum cli_log_format format;
    bool live;                /* stderr is a terminal: draw the block */
    GPtrArray *running;       /* of struct running*, owned */
    unsigned drawn;           /* lines of the block on screen */
    gint64 last_draw;
    uint64_t total_bytes;     /* of the copies this apply will do */
    uint64_t finished_bytes;  /* of copies finished */
    gint64 t0;
};

static struct running *
find(struct progress *pr, const struct plan_step *ps)
{
    for (guint i = 0; i < pr->running->len; i++) {
        struct running *r = pr->running->pdata[i];
        if (r->ps == ps)
            return r;
    }
    return NULL;
}

static char *
eta(uint64_t done, uint64_t total, double secs)
{
    if (done == 0 || secs <= 0 || done >= total)
        return g_strdup("");
    double left = (double)(total - done) / ((double)done / secs);
    return g_strdup_printf(" ETA %um%02us", (unsigned)left / 60, (unsigned)left % 60);
}

static void
erase(struct progress *pr)
{
    if (!pr->live || pr->drawn == 0)
        return;
    fprintf(stderr, "\033[%uA\r\033[J", pr->drawn);
    pr->drawn = 0;
}

static void
draw(struct progress *pr, bool force)
{
    gint64 now = g_get_monotonic_time();
    uint64_t done_all = pr->finished_bytes;

    if (!pr->live || (!force && now - pr->last_draw < 200000))
        return;
    pr->last_draw = now;
    erase(pr);
    for (guint i = 0; i < pr->running->len; i++) {
        const struct running *r = pr->running->pdata[i];
        double secs = (double)(now - r->t0) / 1e6;
        g_autofree char *key = text_escape(r->ps->key, 0);

        if (r->total == 0) {
            fprintf(stderr, "  %-28s %s…\033[K\n", key, r->ps->ops->name);
        } else {
            g_autofree char *d = size_format(r->done);
            g_autofree char *t = size_format(r->total);
            g_autofree char *rate = size_format(secs > 0 ? (uint64_t)((double)r->done / secs) : 0);
            g_autofree char *e = eta(r->done, r->total, secs);
            fprintf(stderr, "  %-28s %3u%% %s / %s  %s/s%s\033[K\n", key,
                    (unsigned)(r->done * 100 / r->total), d, t, rate, e);
            done_all += r->done;
        }
        pr->drawn++;
    }
    if (pr->total_bytes > 0) {
        double secs = (double)(now - pr->t0) / 1e6;
        g_autofree char *d = size_format(done_all);
        g_autofree char *t = size_format(pr->total_bytes);
        g_autofree char *rate = size_format(secs > 0 ? (uint64_t)((double)done_all / secs) : 0);
        g_autofree char *e = eta(done_all, pr->total_bytes, secs);
        fprintf(stderr, "  total: %u running, %s / %s  %s/s%s\033[K\n", pr->running->len,
                d, t, rate, e);
        pr->drawn++;
    }
    fflush(stderr);
}

struct say_members {
    const char *vm, *step, *message;
};

static void
say_write(struct json *j, const void *opaque)
{
    const struct say_members *sm = opaque;

    json_kv_string(j, "vm", sm->vm);
    json_kv_string(j, "step", sm->step);
    json_kv_string(j, "message", sm->message);
}

/* A line for people (above the live block), or a JSON event. */
static void
say(struct progress *pr, const char *event, const char *key, const char *vm,
    const char *fmt, ...) G_GNUC_PRINTF(5, 6);

static void
say(struct progress *pr, const char *event, const char *key, const char *vm,
    const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (pr->format == CLI_LOG_FORMAT_JSON) {
        const struct say_members sm = {vm, key, msg};
        cli_json_event(event, say_write, &sm);
        return;
    }
    erase(pr);
    cli_printf(stdout, "%s: %s\n", key != NULL ? key : vm, msg);
    fflush(stdout);
    draw(pr, true);
}

static void
obs_begin(void *opaque, const struct plan_step *ps)
{
    struct progress *pr = opaque;
    struct running *r = g_new0(struct running, 1);

    r->ps = ps;
    r->t0 = g_get_monotonic_time();
    g_ptr_array_add(pr->running, r);
    say(pr, "step-begin", ps->key, ps->vm->mvm->name, "%s",
        ps->action == PLAN_ACTION_RESUME ? "resuming…" : "starting…");
}

static void
obs_progress(void *opaque, const struct plan_step *ps, uint64_t done,
             uint64_t total)
{
    struct progress *pr = opaque;
    struct running *r = find(pr, ps);

    if (r == NULL)
        return;
    r->done = done;
    r->total = total;
    if (pr->live && pr->format == CLI_LOG_FORMAT_TEXT) {
        draw(pr, false);
        return;
    }
    unsigned decile = total ? (unsigned)(done * 10 / total) : 10;
    if (decile <= r->decile)
        return;
    r->decile = decile;
    double secs = (double)(g_get_monotonic_time() - r->t0) / 1e6;
    g_autofree char *d = size_format(done);
    g_autofree char *t = size_format(total);
    g_autofree char *rate = size_format(secs > 0 ? (uint64_t)((double)done / secs) : 0);
    say(pr, "step-progress", ps->key, ps->vm->mvm->name, "%u%% (%s of %s, %s/s)",
        decile * 10, d, t, rate);
}

static void
obs_end(void *opaque, const struct plan_step *ps, const GError *error)
{
    struct progress *pr = opaque;
    struct running *r = find(pr, ps);
    double secs = r != NULL ? (double)(g_get_monotonic_time() - r->t0) / 1e6 : 0;

    if (r != NULL) {
        if (error == NULL)
            pr->finished_bytes += step_copy_size(ps);
        g_ptr_array_remove(pr->running, r);
    }
    if (error == NULL)
        say(pr, "step-done", ps->key, ps->vm->mvm->name, "done in %.1f s", secs);
    else if (g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_INTERRUPTED))
        say(pr, "step-interrupted", ps->key, ps->vm->mvm->name, "%s", error->message);
    else
        say(pr, "step-failed", ps->key, ps->vm->mvm->name, "failed: %s", error->message);
}

static void
obs_note(void *opaque, const struct plan_step *ps, const char *msg)
{
    say(opaque, "note", ps->key, ps->vm->mvm->name, "note: %s", msg);
}

static void
obs_vm_note(void *opaque, const struct plan_vm *v, const char *msg)
{
    say(opaque, "vm-note", NULL, v->mvm->name, "%s", msg);
}

struct progress *
progress_new(const struct plan *p, enum cli_log_format format)
{
    struct progress *pr = g_new0(struct progress, 1);

    pr->format = format;
    pr->live = format == CLI_LOG_FORMAT_TEXT && isatty(STDERR_FILENO);
    pr->running = g_ptr_array_new_with_free_func(g_free);
    pr->t0 = g_get_monotonic_time();
    for (guint i = 0; i < p->vms->len; i++) {
        const struct plan_vm *v = p->vms->pdata[i];
        for (guint k = 0; k < v->steps->len; k++) {
            const struct plan_step *s = v->steps->pdata[k];
            if (s->action != PLAN_ACTION_DONE)
                pr->total_bytes += step_copy_size(s);
        }
    }
    return pr;
}

void
progress_observer(struct progress *pr, struct step_observer *obs)
{
    *obs = (struct step_observer){
        .step_begin = obs_begin,
        .step_progress = obs_progress,
        .step_end = obs_end,
        .note = obs_note,
        .vm_note = obs_vm_note,
        .opaque = pr,
    };
}

void
progress_free(struct progress *pr)
{
    if (pr == NULL)
        return;
    erase(pr);
    g_ptr_array_unref(pr->running);
    g_free(pr);
}
