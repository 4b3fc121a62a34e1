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
    uint64_t skip;            /* position before which the step reads
                               * nothing (a seekable resume's checkpoint):
                               * its done bytes count from there */
    unsigned decile;
};

struct progress {
    enum cli_log_format format;
    bool live;                /* stderr is a terminal: draw the block */
    GMutex lock;              /* the executor's calls and the ticker */
    GPtrArray *running;       /* of struct running*, owned */
    unsigned drawn;           /* lines of the block on screen */
    gint64 last_draw;
    uint64_t total_bytes;     /* the copies of this apply will read, the
                               * re-reads of resumes included */
    uint64_t finished_bytes;  /* of copies finished */
    gint64 t0;
    struct exec_rates rates;  /* earlier runs' rates, for the ETA before
                               * this run has measured its own */
    GHashTable *slow_left;    /* struct plan_step* → double*: expected
                               * seconds of each pending slow step (guest
                               * repair), removed when it ends */
    /* --log-format=json: a "progress" event every interval µs. */
    gint64 interval;
    GThread *ticker;
    GCond stop_cond;
    bool stop;
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

/* A running step's bytes read so far that count against its total. */
static uint64_t
step_counted(const struct running *r)
{
    return r->done > r->skip ? r->done - r->skip : 0;
}

/* The run's bytes read so far. */
static uint64_t
done_all(const struct progress *pr)
{
    uint64_t d = pr->finished_bytes;

    for (guint i = 0; i < pr->running->len; i++)
        d += step_counted(pr->running->pdata[i]);
    return d;
}

/* The copy rate for ETAs: this run's own once it has read something,
 * else the earlier runs' (or the default). */
static double
copy_rate(const struct progress *pr, uint64_t done, double secs)
{
    if (done > 0 && secs > 0)
        return (double)done / secs;
    return pr->rates.copy_rate;
}

/* Seconds left for the whole apply: the bytes left to read at the copy
 * rate, plus every pending slow step's expected time (a running one's
 * less what it has taken so far). */
static double
total_eta(const struct progress *pr, gint64 now)
{
    uint64_t done = done_all(pr);
    double secs = (double)(now - pr->t0) / 1e6;
    double rate = copy_rate(pr, done, secs);
    double left = rate > 0 && pr->total_bytes > done
        ? (double)(pr->total_bytes - done) / rate : 0;
    GHashTableIter it;
    gpointer k, v;

    g_hash_table_iter_init(&it, pr->slow_left);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        double t = *(const double *)v;
        for (guint i = 0; i < pr->running->len; i++) {
            const struct running *r = pr->running->pdata[i];
            if (r->ps == k)
                t -= (double)(now - r->t0) / 1e6;
        }
        if (t > 0)
            left += t;
    }
    return left;
}

static char *
eta_text(double left)
{
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
        }
        pr->drawn++;
    }
    if (pr->total_bytes > 0 || g_hash_table_size(pr->slow_left) > 0) {
        double secs = (double)(now - pr->t0) / 1e6;
        uint64_t all = done_all(pr);
        g_autofree char *d = size_format(all);
        g_autofree char *t = size_format(pr->total_bytes);
        g_autofree char *rate = size_format(secs > 0 ? (uint64_t)((double)all / secs) : 0);
        double left = total_eta(pr, now);
        g_autofree char *e = left > 0 ? eta_text(left) : g_strdup("");
        fprintf(stderr, "  total: %u running, %s / %s  %s/s%s\033[K\n", pr->running->len,
                d, t, rate, e);
        pr->drawn++;
    }
    fflush(stderr);
}

struct say_members {
    const char *vm, *step, *message;
    const char *wave;
    const struct running *r;  /* numbers of a copy, or NULL */
};

static void
say_write(struct json *j, const void *opaque)
{
    const struct say_members *sm = opaque;

    json_kv_string(j, "vm", sm->vm);
    json_kv_string(j, "wave", sm->wave);
    json_kv_string(j, "step", sm->step);
    json_kv_string(j, "message", sm->message);
    if (sm->r != NULL && sm->r->total > 0) {
        double secs = (double)(g_get_monotonic_time() - sm->r->t0) / 1e6;
        json_kv_uint(j, "bytes_done", sm->r->done);
        json_kv_uint(j, "bytes_total", sm->r->total);
        json_kv_uint(j, "rate", secs > 0 ? (uint64_t)((double)sm->r->done / secs) : 0);
    }
}

/* One "progress" event: a running step's numbers (r NULL: none running)
 * and the whole apply's. */
struct tick_members {
    const struct progress *pr;
    const struct running *r;
    gint64 now;
};

static void
tick_write(struct json *j, const void *opaque)
{
    const struct tick_members *tm = opaque;
    const struct progress *pr = tm->pr;
    const struct running *r = tm->r;
    uint64_t all = done_all(pr);
    double secs = (double)(tm->now - pr->t0) / 1e6;
    double rate = copy_rate(pr, all, secs);

    json_kv_string(j, "vm", r != NULL ? r->ps->vm->mvm->name : NULL);
    json_kv_string(j, "wave", r != NULL ? r->ps->vm->mvm->wave->name : NULL);
    json_kv_string(j, "step", r != NULL ? r->ps->key : NULL);
    json_kv_string(j, "kind", r != NULL ? r->ps->ops->name : NULL);
    if (r != NULL) {
        double rs = (double)(tm->now - r->t0) / 1e6;
        uint64_t counted = step_counted(r);
        uint64_t total = r->total > r->skip ? r->total - r->skip : 0;
        double srate = counted > 0 && rs > 0 ? (double)counted / rs : rate;
        const double *slow = g_hash_table_lookup(pr->slow_left, r->ps);
        double left = srate > 0 && total > counted ? (double)(total - counted) / srate : 0;
        /* A slow step (guest repair): its expected time less what it took. */
        if (slow != NULL)
            left += *slow > rs ? *slow - rs : 0;
        json_kv_uint(j, "bytes_done", r->done);
        json_kv_uint(j, "bytes_total", r->total);
        json_kv_uint(j, "rate", (uint64_t)srate);
        json_kv_uint(j, "eta_s", (uint64_t)(left + 0.5));
        json_key(j, "elapsed_s");
        json_double(j, (double)(int64_t)(rs * 10) / 10);
    }
    json_kv_uint(j, "running", pr->running->len);
    json_kv_uint(j, "total_bytes_done", all);
    json_kv_uint(j, "total_bytes", pr->total_bytes);
    json_kv_uint(j, "total_rate", (uint64_t)rate);
    json_kv_uint(j, "slow_steps_left", g_hash_table_size(pr->slow_left));
    json_kv_uint(j, "total_eta_s", (uint64_t)(total_eta(pr, tm->now) + 0.5));
}

/* Under pr->lock: the "progress" events of now. */
static void
tick(struct progress *pr)
{
    struct tick_members tm = {.pr = pr, .now = g_get_monotonic_time()};

    if (pr->running->len == 0) {
        cli_json_event("progress", tick_write, &tm);
        return;
    }
    for (guint i = 0; i < pr->running->len; i++) {
        tm.r = pr->running->pdata[i];
        cli_json_event("progress", tick_write, &tm);
    }
}

static gpointer
ticker(gpointer opaque)
{
    struct progress *pr = opaque;
    g_autoptr(GMutexLocker) l G_GNUC_UNUSED = g_mutex_locker_new(&pr->lock);

    while (!pr->stop) {
        gint64 until = g_get_monotonic_time() + pr->interval;
        while (!pr->stop && g_cond_wait_until(&pr->stop_cond, &pr->lock, until))
            ;
        if (!pr->stop)
            tick(pr);
    }
    return NULL;
}

/* A line for people (above the live block), or a JSON event. */
static void
say(struct progress *pr, const char *event, const struct plan_step *ps,
    const struct plan_vm *v, const struct running *r, const char *fmt, ...)
    G_GNUC_PRINTF(6, 7);

static void
say(struct progress *pr, const char *event, const struct plan_step *ps,
    const struct plan_vm *v, const struct running *r, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;
    const char *key = ps != NULL ? ps->key : NULL;
    const char *vm = v->mvm->name;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (pr->format == CLI_LOG_FORMAT_JSON) {
        const struct say_members sm = {vm, key, msg, v->mvm->wave->name, r};
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
    g_autoptr(GMutexLocker) l G_GNUC_UNUSED = g_mutex_locker_new(&pr->lock);

    r->ps = ps;
    r->t0 = g_get_monotonic_time();
    r->total = step_copy_size(ps);
    r->skip = r->total - step_copy_to_read(ps);
    g_ptr_array_add(pr->running, r);
    say(pr, "step-begin", ps, ps->vm, NULL, "%s",
        ps->action == PLAN_ACTION_RESUME ? "resuming…" : "starting…");
}

static void
obs_progress(void *opaque, const struct plan_step *ps, uint64_t done,
             uint64_t total)
{
    struct progress *pr = opaque;
    g_autoptr(GMutexLocker) l G_GNUC_UNUSED = g_mutex_locker_new(&pr->lock);
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
    say(pr, "step-progress", ps, ps->vm, r, "%u%% (%s of %s, %s/s)",
        decile * 10, d, t, rate);
}

static void
obs_end(void *opaque, const struct plan_step *ps, const GError *error)
{
    struct progress *pr = opaque;
    g_autoptr(GMutexLocker) l G_GNUC_UNUSED = g_mutex_locker_new(&pr->lock);
    struct running *r = find(pr, ps);
    double secs = r != NULL ? (double)(g_get_monotonic_time() - r->t0) / 1e6 : 0;

    if (r != NULL) {
        /* A failed attempt's bytes stay in the total: a retry reads
         * them again. */
        if (error == NULL)
            pr->finished_bytes += step_copy_to_read(ps);
        g_ptr_array_remove(pr->running, r);
    }
    g_hash_table_remove(pr->slow_left, ps);
    if (error == NULL)
        say(pr, "step-done", ps, ps->vm, NULL, "done in %.1f s", secs);
    else if (g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_INTERRUPTED))
        say(pr, "step-interrupted", ps, ps->vm, NULL, "%s", error->message);
    else
        say(pr, "step-failed", ps, ps->vm, NULL, "failed: %s", error->message);
}

static void
obs_note(void *opaque, const struct plan_step *ps, const char *msg)
{
    struct progress *pr = opaque;
    g_autoptr(GMutexLocker) l G_GNUC_UNUSED = g_mutex_locker_new(&pr->lock);

    say(pr, "note", ps, ps->vm, NULL, "note: %s", msg);
}

static void
obs_vm_note(void *opaque, const struct plan_vm *v, const char *msg)
{
    struct progress *pr = opaque;
    g_autoptr(GMutexLocker) l G_GNUC_UNUSED = g_mutex_locker_new(&pr->lock);

    say(pr, "vm-note", NULL, v, NULL, "%s", msg);
}

struct progress *
progress_new(const struct plan *p, struct state *st, enum cli_log_format format,
             double interval)
{
    struct progress *pr = g_new0(struct progress, 1);

    pr->format = format;
    pr->live = format == CLI_LOG_FORMAT_TEXT && isatty(STDERR_FILENO);
    g_mutex_init(&pr->lock);
    g_cond_init(&pr->stop_cond);
    pr->running = g_ptr_array_new_with_free_func(g_free);
    pr->slow_left = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    pr->t0 = g_get_monotonic_time();
    exec_rates_init(&pr->rates, st);
    for (guint i = 0; i < p->vms->len; i++) {
        const struct plan_vm *v = p->vms->pdata[i];
        for (guint k = 0; k < v->steps->len; k++) {
            const struct plan_step *s = v->steps->pdata[k];
            if (s->action == PLAN_ACTION_DONE || s->action == PLAN_ACTION_BLOCKED)
                continue;
            pr->total_bytes += step_copy_to_read(s);
            if (s->ops->copy_size == NULL && s->ops->default_seconds > 0) {
                double t = exec_rates_step_seconds(&pr->rates, s, NULL);
                g_hash_table_insert(pr->slow_left, (gpointer)s, g_memdup2(&t, sizeof t));
            }
        }
    }
    if (format == CLI_LOG_FORMAT_JSON && interval > 0) {
        pr->interval = (gint64)(interval * G_USEC_PER_SEC);
        pr->ticker = g_thread_new("convoy-progress", ticker, pr);
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
    if (pr->ticker != NULL) {
        g_mutex_lock(&pr->lock);
        pr->stop = true;
        g_cond_signal(&pr->stop_cond);
        g_mutex_unlock(&pr->lock);
        g_thread_join(pr->ticker);
    }
    erase(pr);
    g_ptr_array_unref(pr->running);
    g_hash_table_unref(pr->slow_left);
    exec_rates_release(&pr->rates);
    g_mutex_clear(&pr->lock);
    g_cond_clear(&pr->stop_cond);
    g_free(pr);
}
