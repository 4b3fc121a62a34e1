/* The scheduler: waves in plan order; within a wave, VMs start on their
 * own worker thread while the wave's max_parallel and limits allow (the
 * state store counts the slots in flight), its window is open and their
 * estimated duration fits before it closes.  Workers record every
 * transition in the state store; the scheduler only decides what
 * starts. */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "exec/exec-priv.h"
#include "util/error.h"
#include "util/size.h"

#define CHECKPOINT_DEFAULT (64ULL << 20)
#define CHECKPOINT_MAX (256ULL << 20)

uint64_t
exec_checkpoint_interval(void)
{
    const char *env = g_getenv("CONVOY_CHECKPOINT_INTERVAL");
    guint64 v = 0;

    if (env != NULL && g_ascii_string_to_unsigned(env, 10, 4096, CHECKPOINT_MAX,
                                                  &v, NULL))
        return v;
    return CHECKPOINT_DEFAULT;
}

/* ---- the serialising observer handed to steps ---- */

static void
ser_begin(void *opaque, const struct plan_step *ps)
{
    struct exec_run *r = opaque;
    g_autoptr(GMutexLocker) l G_GNUC_UNUSED = g_mutex_locker_new(&r->obs_lock);
    if (r->user_obs != NULL && r->user_obs->step_begin != NULL)
        r->user_obs->step_begin(r->user_obs->opaque, ps);
}

static void
ser_progress(void *opaque, const struct plan_step *ps, uint64_t done,
             uint64_t total)
{
    struct exec_run *r = opaque;
    g_autoptr(GMutexLocker) l G_GNUC_UNUSED = g_mutex_locker_new(&r->obs_lock);
    if (r->user_obs != NULL && r->user_obs->step_progress != NULL)
        r->user_obs->step_progress(r->user_obs->opaque, ps, done, total);
}

static void
ser_end(void *opaque, const struct plan_step *ps, const GError *error)
{
    struct exec_run *r = opaque;
    g_autoptr(GMutexLocker) l G_GNUC_UNUSED = g_mutex_locker_new(&r->obs_lock);
    if (r->user_obs != NULL && r->user_obs->step_end != NULL)
        r->user_obs->step_end(r->user_obs->opaque, ps, error);
}

static void
ser_note(void *opaque, const struct plan_step *ps, const char *msg)
{
    struct exec_run *r = opaque;
    g_autoptr(GMutexLocker) l G_GNUC_UNUSED = g_mutex_locker_new(&r->obs_lock);
    if (r->user_obs != NULL && r->user_obs->note != NULL)
        r->user_obs->note(r->user_obs->opaque, ps, msg);
}

static void
ser_vm_note(void *opaque, const struct plan_vm *v, const char *msg)
{
    struct exec_run *r = opaque;
    g_autoptr(GMutexLocker) l G_GNUC_UNUSED = g_mutex_locker_new(&r->obs_lock);
    if (r->user_obs != NULL && r->user_obs->vm_note != NULL)
        r->user_obs->vm_note(r->user_obs->opaque, v, msg);
}

/* ---- limits ---- */

/* The host part of a URL or URI ("https://root@xs-a:443/x" → "xs-a"),
 * or NULL. */
static char *
uri_host(const char *uri)
{
    g_autoptr(GUri) u = NULL;

    if (uri == NULL)
        return NULL;
    u = g_uri_parse(uri, G_URI_FLAGS_NONE, NULL);
    if (u == NULL || g_uri_get_host(u) == NULL || g_uri_get_host(u)[0] == '\0')
        return NULL;
    return g_strdup(g_uri_get_host(u));
}

static void
job_keys(struct job *j)
{
    const struct manifest_source *ms = j->v->msrc;
    const struct manifest_target *mt = j->v->mtgt;
    const struct manifest_move *mv = j->v->move;
    g_autofree char *sh = mv != NULL ? uri_host(mv->from_target->uri)
                                     : uri_host(ms->url != NULL ? ms->url : ms->uri);
    g_autofree char *th = uri_host(mt->uri);

    j->keys = g_ptr_array_new_with_free_func(g_free);
    /* A source without a host (files) is one "host": this machine. */
    g_ptr_array_add(j->keys, g_strdup_printf("source-host:%s", sh != NULL ? sh : "localhost"));
    g_ptr_array_add(j->keys, g_strdup_printf("target-host:%s", th != NULL ? th : "localhost"));
    /* Every pool the VM's disks land in (pools.map may spread them): on
     * a libvirt target the POOL of POOL/VOLUME, on a directory target
     * its folder. */
    for (guint i = 0; j->v->disks != NULL && i < j->v->disks->len; i++) {
        const struct plan_disk *d = j->v->disks->pdata[i];
        g_autofree char *pool = NULL;
        char *key;

        if (mt->kind == MANIFEST_TARGET_LIBVIRT && strchr(d->location, '/') != NULL)
            pool = g_strndup(d->location, (gsize)(strchr(d->location, '/') - d->location));
        else
            pool = g_strdup(mt->path != NULL ? mt->path : "");
        key = g_strdup_printf("pool:%s/%s", mt->name, pool);
        if (g_ptr_array_find_with_equal_func(j->keys, key, g_str_equal, NULL))
            g_free(key);
        else
            g_ptr_array_add(j->keys, key);
    }
}

/* The limit of w on a key of job_keys (0: none). */
static unsigned
key_limit(const struct manifest_wave *w, const char *key)
{
    if (g_str_has_prefix(key, "source-host:"))
        return w->per_source_host;
    if (g_str_has_prefix(key, "target-host:"))
        return w->per_target_host;
    if (g_str_has_prefix(key, "pool:"))
        return w->per_pool;
    return 0;
}

/* Take j's slots in the state store: the wave's (max_parallel) first,
 * then its hosts' and pools'.  *started is false when one of them is at
 * its limit, and *wave_full when that is the wave's own.  false on a
 * store error. */
static bool
slots_take(struct exec_run *r, const struct manifest_wave *w,
           const struct job *j, bool *started, bool *wave_full,
           GError **error)
{
    g_autofree char *wave_key = g_strdup_printf("wave:%s", w->name);
    g_autofree struct state_slot *slots =
        g_new0(struct state_slot, j->keys->len + 1);
    size_t blocked = 0;
    /* The wave's limits count only VMs with steps that windows and
     * limits count (steps.h); max_parallel counts every worker. */
    size_t n = step_vm_windowed(j->v) ? j->keys->len + 1 : 1;

    slots[0] = (struct state_slot){.key = wave_key, .limit = w->max_parallel};
    for (guint i = 0; i + 1 < n; i++) {
        slots[i + 1] = (struct state_slot){.key = j->keys->pdata[i],
                                           .limit = key_limit(w, j->keys->pdata[i])};
    }
    if (!state_slot_acquire(r->st, j->v->mvm->name, slots, n, &blocked, error))
        return false;
    *started = blocked == n;
    *wave_full = blocked == 0;
    return true;
}

/* ---- time ---- */

struct clock {
    gint64 wall0;     /* the run's start, µs (CONVOY_NOW or now) */
    gint64 mono0;
};

static gint64
clock_now(const struct clock *c)
{
    return c->wall0 + (g_get_monotonic_time() - c->mono0);
}

static char *
format_us(gint64 us)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(us / G_USEC_PER_SEC);
    return dt != NULL ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup("?");
}

/* ---- one wave ---- */

/* A note about VM v; with event, also recorded in the state store (key
 * VM/EVENT) for the report. */
static void
vm_note_va(struct exec_run *r, const struct plan_vm *v, const char *event,
           const char *fmt, va_list ap) G_GNUC_PRINTF(4, 0);

static void
vm_note_va(struct exec_run *r, const struct plan_vm *v, const char *event,
           const char *fmt, va_list ap)
{
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);

    if (event != NULL) {
        g_autofree char *key = g_strdup_printf("%s/%s", v->mvm->name, event);
        state_event(r->st, r->run_id, key, event, msg, NULL);
    }
    r->obs.vm_note(r->obs.opaque, v, msg);
}

static void
vm_note(struct exec_run *r, const struct plan_vm *v, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static void
vm_note(struct exec_run *r, const struct plan_vm *v, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vm_note_va(r, v, NULL, fmt, ap);
    va_end(ap);
}

/* A VM that does not start in this run: its note, and an event
 * "not-started" (key VM/not-started) that the report shows. */
static void
not_started(struct exec_run *r, const struct plan_vm *v, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static void
not_started(struct exec_run *r, const struct plan_vm *v, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vm_note_va(r, v, "not-started", fmt, ap);
    va_end(ap);
}

static bool
vm_has_work(const struct plan_vm *v)
{
    if (v->error != NULL)
        return false;
    for (guint k = 0; k < v->steps->len; k++) {
        const struct plan_step *s = v->steps->pdata[k];
        if (s->action != PLAN_ACTION_DONE)
            return true;
    }
    return false;
}

/* Would j, started at now_us, finish before end_us?  false once the window
 * has closed, whatever j has left to do; otherwise true when no estimate
 * can be made (nothing measured yet, nothing left to copy). */
static bool
fits_window(struct exec_run *r, const struct job *j, gint64 now_us,
            gint64 end_us, double *est_out)
{
    uint64_t bytes = exec_vm_remaining_bytes(j->v);
    double rate;

    *est_out = 0;
    if (end_us == G_MAXINT64)
        return true;
    if (now_us >= end_us)
        return false;
    if (r->measured_seconds <= 0 || bytes == 0)
        return true;
    rate = r->measured_bytes / r->measured_seconds;
    if (rate <= 0)
        return true;
    *est_out = (double)bytes / rate;
    return now_us + (gint64)(*est_out * G_USEC_PER_SEC) <= end_us;
}

/* Give j's VM back to the other workers. */
static bool
job_unclaim(struct exec_run *r, struct job *j, GError **error)
{
    if (!j->claimed)
        return true;
    j->claimed = false;
    return state_vm_release(r->st, j->v->mvm->name, error);
}

/* A worker on a shared store claims j's VM before it starts it: *taken
 * false when another worker holds it (or its host: pinned), and then j
 * waits (asked for again each half second).  Once claimed, what other workers finished
 * meanwhile is read again: a step done since is done, one that failed
 * under another worker in this run is this run's failure (not redone);
 * *nothing then says nothing is left to do. */
static bool
job_claim(struct exec_run *r, struct job *j, bool *taken, bool *nothing,
          GError **error)
{
    enum state_claim c = STATE_CLAIM_TAKEN;
    g_autofree char *holder = NULL;

    *taken = false;
    *nothing = false;
    if (!state_shared(r->st)) {
        *taken = true;
        return true;
    }
    if (!state_vm_claim(r->st, j->v->mvm->name, step_vm_pinned(j->v), &c, &holder, error))
        return false;
    if (c != STATE_CLAIM_TAKEN) {
        if (!j->elsewhere) {
            if (c == STATE_CLAIM_PINNED)
                vm_note(r, j->v, "waiting: its files are on host '%s', where a worker takes it", holder);
            else
                vm_note(r, j->v, "held by worker '%s'; this worker waits for it", holder);
        }
        j->elsewhere = true;
        return true;
    }
    j->claimed = true;
    *taken = true;
    bool left = false;
    g_autofree char *from = NULL;
    for (guint k = 0; k < j->v->steps->len; k++) {
        struct plan_step *s = j->v->steps->pdata[k];
        if (s->action == PLAN_ACTION_DONE)
            continue;
        g_autoptr(state_step_record) rec = state_step_get(r->st, s->key, error);
        if (rec == NULL && error != NULL && *error != NULL)
            return false;
        if (rec != NULL && rec->status == STATE_STEP_DONE &&
            g_strcmp0(rec->fingerprint, s->fingerprint) == 0) {
            s->action = PLAN_ACTION_DONE;
            continue;
        }
        if (rec != NULL && rec->status == STATE_STEP_FAILED && rec->updated >= r->started &&
            g_strcmp0(rec->owner, state_owner(r->st)) != 0) {
            /* Failed under another worker in this run. */
            j->failed++;
            s->action = PLAN_ACTION_DONE;
            continue;
        }
        if (rec != NULL && rec->status == STATE_STEP_RUNNING && from == NULL &&
            g_strcmp0(rec->owner, state_owner(r->st)) != 0)
            from = g_strdup(rec->owner);
        left = true;
    }
    /* A step left running by another worker: its lease ran out. */
    if (from != NULL)
        vm_note(r, j->v, "taken over from worker '%s' (its lease ran out); resuming from its last checkpoint", from);
    *nothing = !left;
    return true;
}

/* Collect j's worker and give its slots back; false (error set) when the
 * store would not take them. */
static bool
finish_job(struct exec_run *r, struct job *j, struct exec_result *res,
           GError **error)
{
    g_thread_join(j->thread);
    j->thread = NULL;
    r->running--;
    res->done += j->done;
    res->failed += j->failed;
    res->skipped += j->skipped;
    r->measured_bytes += (double)j->copied_bytes;
    r->measured_seconds += j->copy_seconds;
    if (!state_slot_release(r->st, j->v->mvm->name, error))
        return false;
    return job_unclaim(r, j, error);
}

/* On a shared store: has a VM of w failed on another worker during this
 * run, stopping the wave (on_failure: stop-wave)?  *by (new) then says
 * which VM, on which worker. */
static bool
wave_stopped_elsewhere(struct exec_run *r, const struct manifest_wave *w,
                       char **by, GError **error)
{
    g_autofree char *vm = NULL;
    g_autofree char *worker = NULL;
    bool stopped = false;

    if (!state_shared(r->st) || w->on_failure != MANIFEST_ON_FAILURE_STOP_WAVE)
        return true;
    if (!state_wave_stopped(r->st, w->name, &stopped, &vm, &worker, error))
        return false;
    if (stopped && g_strcmp0(worker, state_owner(r->st)) != 0)
        *by = g_strdup_printf("VM '%s' failed on worker '%s'", vm, worker);
    return true;
}

static bool
run_wave(struct exec_run *r, const struct manifest_wave *w, GPtrArray *jobs,
         const struct exec_options *opts, const struct clock *clk,
         struct exec_result *res, GError **error)
{
    g_autoptr(GMutexLocker) locker G_GNUC_UNUSED = g_mutex_locker_new(&r->lock);
    gint64 end_us = G_MAXINT64;
    g_autofree char *why = NULL;
    bool stop = false;
    GError *fatal = NULL;
    g_autofree char *stopped_by = NULL;

    if (!exec_window_check(w, clock_now(clk), &end_us, &why)) {
        if (!opts->ignore_window) {
            unsigned unwindowed = 0;

            for (guint i = 0; i < jobs->len; i++) {
                struct job *j = jobs->pdata[i];
                /* Only VMs with steps that windows count wait for one. */
                if (!step_vm_windowed(j->v)) {
                    unwindowed++;
                    continue;
                }
                j->state = JOB_STATE_NOT_STARTED;
                res->vms_outside_window++;
                not_started(r, j->v, "not started: wave '%s' is outside its window (%s)", w->name, why);
            }
            if (unwindowed == 0)
                return true;
        }
        end_us = G_MAXINT64;
    }
    if (opts->ignore_window && (w->not_before != NULL || w->not_after != NULL || w->weekly != NULL))
        end_us = G_MAXINT64;

    for (;;) {
        /* Start what may start, in manifest order. */
        for (guint i = 0; i < jobs->len && !stop; i++) {
            struct job *j = jobs->pdata[i];
            double est = 0;

            if (j->state != JOB_STATE_WAITING)
                continue;
            if (interrupt_requested()) {
                stop = true;
                break;
            }
            if (opts->max_vms > 0 && r->running >= opts->max_vms)
                break;
            bool started = false, wave_full = false, taken = false, nothing = false;
            if (!wave_stopped_elsewhere(r, w, &stopped_by, &fatal) || stopped_by != NULL) {
                if (stopped_by != NULL)
                    res->failed++;
                stop = true;
                break;
            }
            if (!job_claim(r, j, &taken, &nothing, &fatal)) {
                stop = true;
                break;
            }
            if (!taken)
                continue;
            if (nothing) {
                /* Another worker did it all: nothing to run here. */
                j->state = JOB_STATE_FINISHED;
                res->failed += j->failed;
                if (j->failed > 0 && w->on_failure == MANIFEST_ON_FAILURE_STOP_WAVE)
                    stop = true;
                if (!job_unclaim(r, j, &fatal))
                    stop = true;
                continue;
            }
            if (!slots_take(r, w, j, &started, &wave_full, &fatal)) {
                stop = true;
                break;
            }
            if (!started) {
                /* Not held while it waits for a slot: another worker
                 * with one free may take it. */
                if (!job_unclaim(r, j, &fatal)) {
                    stop = true;
                    break;
                }
                if (wave_full)
                    break;
                continue;
            }
            if (step_vm_windowed(j->v) && !fits_window(r, j, clock_now(clk), end_us, &est)) {
                g_autofree char *closes = format_us(end_us);
                if (!state_slot_release(r->st, j->v->mvm->name, &fatal) ||
                    !job_unclaim(r, j, &fatal)) {
                    stop = true;
                    break;
                }
                g_autofree char *left = size_format(exec_vm_remaining_bytes(j->v));
                j->state = JOB_STATE_DEFERRED;
                res->vms_deferred++;
                if (est > 0)
                    not_started(r, j->v, "deferred: %s to copy would take about %.0f s at the measured %.1f MiB/s and run past the window's end (%s)",
                            left, est, r->measured_bytes / r->measured_seconds / (1 << 20), closes);
                else
                    not_started(r, j->v, "deferred: wave '%s' window closed at %s before this VM could start",
                            w->name, closes);
                continue;
            }
            j->state = JOB_STATE_RUNNING;
            r->running++;
            res->vms_started++;
            if (r->running > res->max_in_flight)
                res->max_in_flight = r->running;
            j->thread = g_thread_new("convoy-vm", job_run, j);
        }
        /* VMs other workers hold are asked for again every second: they
         * come back when their holder finishes or its lease runs out. */
        bool waiting = false;
        for (guint i = 0; i < jobs->len && !stop && state_shared(r->st); i++) {
            const struct job *j = jobs->pdata[i];
            waiting = waiting || j->state == JOB_STATE_WAITING;
        }
        if (r->running == 0 && (!waiting || stop || interrupt_requested()))
            break;
        if (waiting)
            g_cond_wait_until(&r->changed, &r->lock, g_get_monotonic_time() + G_USEC_PER_SEC / 2);
        else
            g_cond_wait(&r->changed, &r->lock);
        /* Collect finished workers. */
        for (guint i = 0; i < jobs->len; i++) {
            struct job *j = jobs->pdata[i];
            if (j->state != JOB_STATE_FINISHED || j->thread == NULL)
                continue;
            if (!finish_job(r, j, res, fatal == NULL ? &fatal : NULL))
                stop = true;
            if (j->fatal != NULL && fatal == NULL) {
                fatal = g_steal_pointer(&j->fatal);
                stop = true;
            }
            if (j->failed > 0 && w->on_failure == MANIFEST_ON_FAILURE_STOP_WAVE && !stop) {
                stop = true;
                vm_note(r, j->v, "failed; on_failure: stop-wave, so no other VM of wave '%s' starts", w->name);
            }
        }
    }
    for (guint i = 0; i < jobs->len; i++) {
        struct job *j = jobs->pdata[i];
        if (j->claimed && j->thread == NULL)
            job_unclaim(r, j, NULL);
        if (j->state == JOB_STATE_WAITING) {
            j->state = JOB_STATE_NOT_STARTED;
            if (fatal == NULL && !interrupt_requested()) {
                res->skipped += j->v->steps->len;
                if (stopped_by != NULL)
                    not_started(r, j->v, "not started: wave '%s' was stopped: %s (on_failure: stop-wave)", w->name, stopped_by);
                else
                    not_started(r, j->v, "not started: an earlier VM of wave '%s' failed (on_failure: stop-wave)", w->name);
            }
        }
    }
    if (fatal != NULL) {
        g_propagate_error(error, fatal);
        return false;
    }
    if (interrupt_requested()) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERRUPTED, "interrupted");
        return false;
    }
    return true;
}

static void
job_free(struct job *j)
{
    if (j->keys != NULL)
        g_ptr_array_unref(j->keys);
    if (j->fatal != NULL)
        g_error_free(j->fatal);
    g_free(j);
}

/* A wave's VMs in the plan (p->vms[first..end)) and how its run went. */
struct wave_group {
    const struct manifest_wave *w;
    guint first, end;
    bool ran;
    bool incomplete;          /* a VM failed, was deferred or not started */
};

static struct wave_group *
group_of(GArray *groups, const char *name)
{
    for (guint i = 0; i < groups->len; i++) {
        struct wave_group *g = &g_array_index(groups, struct wave_group, i);
        if (strcmp(g->w->name, name) == 0)
            return g;
    }
    return NULL;
}

/* The first wave not yet run, in manifest order, whose 'after' waves in
 * this plan have all run.  A wave outside the plan (apply --wave) was
 * checked by the plan; there is always one, as 'after' has no cycles. */
static struct wave_group *
next_wave(GArray *groups)
{
    struct wave_group *first = NULL;

    for (guint i = 0; i < groups->len; i++) {
        struct wave_group *g = &g_array_index(groups, struct wave_group, i);
        bool ready = true;

        if (g->ran)
            continue;
        if (first == NULL)
            first = g;
        for (guint k = 0; k < g->w->after->len && ready; k++) {
            const struct wave_group *a = group_of(groups, g->w->after->pdata[k]);
            ready = a == NULL || a->ran;
        }
        if (ready)
            return g;
    }
    return first; /* NULL: every wave has run */
}

/* The name of an 'after' wave of g that did not complete in this run. */
static const char *
wave_blocker(GArray *groups, const struct wave_group *g)
{
    for (guint k = 0; k < g->w->after->len; k++) {
        const struct wave_group *a = group_of(groups, g->w->after->pdata[k]);
        if (a != NULL && a->incomplete)
            return a->w->name;
    }
    return NULL;
}

bool
exec_apply(struct plan *p, struct state *st, const char *command,
           const struct step_observer *obs, const struct exec_options *opts,
           struct exec_result *res, GError **error)
{
    static const struct exec_options no_opts = {0};
    struct exec_run r = {
        .m = p->m,
        .st = st,
        .user_obs = obs,
        .checkpoint_interval = exec_checkpoint_interval(),
    };
    struct clock clk = {
        .wall0 = g_get_real_time(),
        .mono0 = g_get_monotonic_time(),
    };
    g_autoptr(GArray) groups = NULL;
    GError *err = NULL;
    bool ok = true;

    if (opts == NULL)
        opts = &no_opts;
    /* Windows go by the store's clock (PostgreSQL: the database's, which
     * every worker shares, whatever this machine's clock says); CONVOY_NOW
     * pins it. */
    if (opts->now != NULL) {
        clk.wall0 = g_date_time_to_unix(opts->now) * G_USEC_PER_SEC +
                    g_date_time_get_microsecond(opts->now);
    } else if (!state_now(st, &clk.wall0, error)) {
        *res = (struct exec_result){0};
        return false;
    }
    clk.mono0 = g_get_monotonic_time();
    *res = (struct exec_result){0};
    r.obs = (struct step_observer){
        .step_begin = ser_begin,
        .step_progress = ser_progress,
        .step_end = ser_end,
        .note = ser_note,
        .vm_note = ser_vm_note,
        .opaque = &r,
    };
    g_mutex_init(&r.obs_lock);
    g_mutex_init(&r.lock);
    g_cond_init(&r.changed);
    exec_measured_copies(st, &r.measured_bytes, &r.measured_seconds);
    r.started = g_get_real_time() / G_USEC_PER_SEC - 1;

    r.run_id = state_run_begin(st, command, error);
    if (r.run_id < 0) {
        ok = false;
        goto out;
    }
    /* The plan's VMs are grouped by wave, in manifest order. */
    groups = g_array_new(FALSE, TRUE, sizeof(struct wave_group));
    for (guint i = 0; i < p->vms->len; i++) {
        const struct manifest_wave *w = ((struct plan_vm *)p->vms->pdata[i])->mvm->wave;
        if (groups->len == 0 ||
            g_array_index(groups, struct wave_group, groups->len - 1).w != w) {
            struct wave_group g = {.w = w, .first = i};
            g_array_append_val(groups, g);
        }
        g_array_index(groups, struct wave_group, groups->len - 1).end = i + 1;
    }
    /* One wave at a time, each after the waves its 'after' names (the
     * loader refused cycles): the first ready one in manifest order. */
    for (guint n = 0; n < groups->len && ok; n++) {
        struct wave_group *g = next_wave(groups);
        g_autoptr(GPtrArray) jobs = NULL;
        const char *blocker = NULL;

        if (g == NULL)
            break;
        jobs = g_ptr_array_new_with_free_func((GDestroyNotify)job_free);
        blocker = wave_blocker(groups, g);

        g->ran = true;
        for (guint i = g->first; i < g->end; i++) {
            struct plan_vm *v = p->vms->pdata[i];
            if (v->error != NULL) {
                res->failed++;
                g->incomplete = true;
                continue;
            }
            if (!vm_has_work(v))
                continue;
            if (blocker != NULL) {
                g->incomplete = true;
                res->vms_blocked++;
                res->skipped += v->steps->len;
                not_started(&r, v, "not started: wave '%s' runs after wave '%s', which did not complete",
                        g->w->name, blocker);
                continue;
            }
            struct job *j = g_new0(struct job, 1);
            j->v = v;
            j->run = &r;
            job_keys(j);
            g_ptr_array_add(jobs, j);
        }
        bool considered = jobs->len > 0 || g->incomplete;
        if (jobs->len > 0 && !run_wave(&r, g->w, jobs, opts, &clk, res, &err)) {
            ok = false;
            if (g_error_matches(err, CONVOY_ERROR, CONVOY_ERROR_INTERRUPTED))
                res->interrupted = true;
        }
        for (guint i = 0; i < jobs->len; i++) {
            const struct job *j = jobs->pdata[i];
            if (j->state != JOB_STATE_FINISHED || j->failed > 0 || j->skipped > 0)
                g->incomplete = true;
        }
        /* Every wave with work to do is reported, started or not (a
         * closed window is news too); not one that is all done. */
        if (considered && opts->wave_done != NULL && !res->interrupted)
            opts->wave_done(opts->wave_opaque, g->w);
    }
    if (res->interrupted) {
        state_run_end(st, r.run_id, "interrupted", NULL);
        g_clear_error(&err);
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERRUPTED,
                    "interrupted by %s", "a signal");
    } else if (!ok) {
        state_run_end(st, r.run_id, "failed", NULL);
        g_propagate_error(error, err);
    } else {
        ok = state_run_end(st, r.run_id, res->failed > 0 ? "failed" : "ok", error);
    }
out:
    g_cond_clear(&r.changed);
    g_mutex_clear(&r.lock);
    g_mutex_clear(&r.obs_lock);
    return ok;
}
