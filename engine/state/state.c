/* The state store's front: the backend registry (scheme → struct
 * state_ops), state_open picking the backend from the location, and the
 * public state_* functions dispatching to the backend. */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "state/backend.h"
#include "util/error.h"
#include "util/location.h"

/* The backends, by scheme.  A plain path is the first one's. */
static const struct state_ops *const backends[] = {
    &state_sqlite_ops,
    &state_postgresql_ops,
    NULL,
};

static const char *const status_names[STATE_STEP_LAST] = {
    [STATE_STEP_NONE] = "none",
    [STATE_STEP_RUNNING] = "running",
    [STATE_STEP_FAILED] = "failed",
    [STATE_STEP_DONE] = "done",
};

const char *
state_step_status_name(enum state_step_status s)
{
    if ((unsigned)s >= STATE_STEP_LAST)
        return "unknown";
    return status_names[s];
}

void
state_step_record_free(struct state_step_record *r)
{
    if (r == NULL)
        return;
    g_free(r->key);
    g_free(r->vm);
    g_free(r->kind);
    g_free(r->fingerprint);
    g_free(r->inputs);
    g_free(r->outputs);
    g_free(r->error);
    g_free(r->owner);
    g_free(r);
}

void
state_checkpoint_free(struct state_checkpoint *c)
{
    if (c == NULL)
        return;
    g_free(c->step_key);
    g_free(c->detail);
    g_free(c);
}

void
state_event_record_free(struct state_event_record *e)
{
    if (e == NULL)
        return;
    g_free(e->step_key);
    g_free(e->kind);
    g_free(e->message);
    g_free(e);
}

/* ---- locations and backends ---- */

static char *
supported_schemes(void)
{
    g_autoptr(GString) s = g_string_new(NULL);

    for (size_t i = 0; backends[i] != NULL; i++)
        g_string_append_printf(s, "%s%s", i > 0 ? ", " : "", backends[i]->name);
    return g_string_free(g_steal_pointer(&s), FALSE);
}

bool
state_backend_for(const char *location, const struct state_ops **ops,
                  const char **target, GError **error)
{
    g_autofree char *scheme = NULL;
    const char *rest = NULL;

    location_split(location, &scheme, &rest);
    if (scheme == NULL) {
        *ops = backends[0];
        *target = location;
        return true;
    }
    for (size_t i = 0; backends[i] != NULL; i++) {
        if (strcmp(backends[i]->name, scheme) != 0)
            continue;
        if (backends[i]->file_based &&
            (rest[0] == '\0' || location_rest_is_url(rest))) {
            g_autofree char *shown = location_display(location);
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_SQLITE,
                        "state '%s': expected a path after '%s:'", shown,
                        scheme);
            return false;
        }
        *ops = backends[i];
        *target = rest;
        return true;
    }
    /* Not echoed whole: a URL may carry a password. */
    g_autofree char *shown = location_display(location);
    g_autofree char *known = supported_schemes();
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_SQLITE,
                "state '%s': the scheme '%s' is not supported by this build (supported: %s, or a plain path)",
                shown, scheme, known);
    return false;
}

struct state *
state_open(const char *location, bool create, bool read_only,
           GError **error)
{
    const struct state_ops *ops = NULL;
    const char *target = NULL;

    if (!state_backend_for(location, &ops, &target, error))
        return NULL;
    struct state *st = ops->open(target, create, read_only, error);
    if (st == NULL)
        return NULL;
    st->ops = ops;
    st->location = g_strdup(location);
    st->name = ops->file_based ? g_strdup(target) : location_display(location);
    st->owner = g_strdup_printf("%s:%ld", g_get_host_name(), (long)getpid());
    return st;
}

void
state_free(struct state *st)
{
    char *location, *name, *owner;

    if (st == NULL)
        return;
    /* The backend's free may still use them (a worker says it stopped,
     * under its owner's name), and frees st itself. */
    location = st->location;
    name = st->name;
    owner = st->owner;
    st->ops->free(st);
    g_free(location);
    g_free(name);
    g_free(owner);
}

const char *
state_path(struct state *st)
{
    return st->name;
}

const char *
state_owner(struct state *st)
{
    return st->owner;
}

/* ---- dispatch ---- */

struct state_step_record *
state_step_get(struct state *st, const char *key, GError **error)
{
    return st->ops->step_get(st, key, error);
}

GPtrArray *
state_step_list(struct state *st, GError **error)
{
    return st->ops->step_list(st, error);
}

bool
state_step_begin(struct state *st, const char *key, const char *vm,
                 const char *kind, const char *fingerprint,
                 const char *inputs, GError **error)
{
    return st->ops->step_begin(st, key, vm, kind, fingerprint, inputs, error);
}

bool
state_step_done(struct state *st, const char *key, const char *outputs,
                GError **error)
{
    return st->ops->step_done(st, key, outputs, error);
}

gint64
state_local_clock(void)
{
    const char *off = g_getenv("CONVOY_TEST_CLOCK_OFFSET");
    gint64 us = g_get_real_time();

    if (off != NULL)
        us += g_ascii_strtoll(off, NULL, 10) * G_USEC_PER_SEC;
    return us;
}

bool
state_now(struct state *st, gint64 *us, GError **error)
{
    if (st->ops->now == NULL) {
        *us = state_local_clock();
        return true;
    }
    return st->ops->now(st, us, error);
}

bool
state_wave_stop(struct state *st, const char *wave, const char *vm,
                GError **error)
{
    if (st->ops->wave_stop == NULL)
        return true;
    return st->ops->wave_stop(st, wave, vm, error);
}

bool
state_wave_stopped(struct state *st, const char *wave, bool *stopped,
                   char **vm, char **worker, GError **error)
{
    *stopped = false;
    if (st->ops->wave_stopped == NULL)
        return true;
    return st->ops->wave_stopped(st, wave, stopped, vm, worker, error);
}

bool
state_step_failed(struct state *st, const char *key, const char *message,
                  GError **error)
{
    return st->ops->step_failed(st, key, message, error);
}

bool
state_step_forget(struct state *st, const char *key, GError **error)
{
    return st->ops->step_forget(st, key, error);
}

bool
state_step_is_live(struct state *st, const struct state_step_record *r)
{
    if (r == NULL || r->status != STATE_STEP_RUNNING)
        return false;
    return st->ops->step_is_live(st, r);
}

bool
state_lock_held(struct state *st, char **holder)
{
    if (holder != NULL)
        *holder = NULL;
    return st->ops->lock_held != NULL && st->ops->lock_held(st, holder);
}

bool
state_checkpoint_put(struct state *st, const char *key, uint64_t position,
                     const char *detail, GError **error)
{
    return st->ops->checkpoint_put(st, key, position, detail, error);
}

struct state_checkpoint *
state_checkpoint_get(struct state *st, const char *key, GError **error)
{
    return st->ops->checkpoint_get(st, key, error);
}

int64_t
state_run_begin(struct state *st, const char *command, GError **error)
{
    int64_t id = st->ops->run_begin(st, command, error);

    if (id > 0)
        st->run_id = id;
    return id;
}

bool
state_run_end(struct state *st, int64_t run_id, const char *status,
              GError **error)
{
    return st->ops->run_end(st, run_id, status, error);
}

bool
state_event(struct state *st, int64_t run_id, const char *step_key,
            const char *kind, const char *message, GError **error)
{
    return st->ops->event(st, run_id, step_key, kind, message, error);
}

GPtrArray *
state_event_list(struct state *st, int64_t run_id, GError **error)
{
    return st->ops->event_list(st, run_id, error);
}

bool
state_lock(struct state *st, const char *command, GError **error)
{
    return st->ops->lock(st, command, error);
}

void
state_unlock(struct state *st)
{
    if (st != NULL)
        st->ops->unlock(st);
}

bool
state_slot_acquire(struct state *st, const char *holder,
                   const struct state_slot *slots, size_t n, size_t *blocked,
                   GError **error)
{
    return st->ops->slot_acquire(st, holder, slots, n, blocked, error);
}

bool
state_slot_release(struct state *st, const char *holder, GError **error)
{
    return st->ops->slot_release(st, holder, error);
}

unsigned
state_slot_count(struct state *st, const char *key)
{
    return st->ops->slot_count(st, key);
}

bool
state_check(struct state *st, bool full, GError **error)
{
    return st->ops->check(st, full, error);
}

bool
state_backup(struct state *st, char **where, GError **error)
{
    return st->ops->backup(st, where, error);
}

char *
state_store_id(struct state *st, GError **error)
{
    return st->ops->store_id(st, error);
}

void
state_run_record_free(struct state_run_record *r)
{
    if (r == NULL)
        return;
    g_free(r->command);
    g_free(r->status);
    g_free(r);
}

GPtrArray *
state_run_list(struct state *st, GError **error)
{
    return st->ops->run_list(st, error);
}

bool
state_copy(struct state *from, struct state *to,
           struct state_copy_counts *counts, GError **error)
{
    struct state_dump d = {0};
    bool ok = false;

    if (to->ops->import == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_SQLITE,
                    "state '%s': a %s store cannot be migrated to (supported: postgresql)",
                    to->name, to->ops->name);
        return false;
    }
    d.store_id = state_store_id(from, error);
    if (d.store_id == NULL && error != NULL && *error != NULL)
        return false;
    d.runs = state_run_list(from, error);
    if (d.runs != NULL)
        d.steps = state_step_list(from, error);
    if (d.steps != NULL)
        d.events = state_event_list(from, 0, error);
    if (d.events != NULL) {
        d.checkpoints = g_ptr_array_new_with_free_func((GDestroyNotify)state_checkpoint_free);
        ok = true;
        for (guint i = 0; i < d.steps->len && ok; i++) {
            const struct state_step_record *r = d.steps->pdata[i];
            GError *e = NULL;
            struct state_checkpoint *c = state_checkpoint_get(from, r->key, &e);
            if (c != NULL)
                g_ptr_array_add(d.checkpoints, c);
            if (e != NULL) {
                g_propagate_error(error, e);
                ok = false;
            }
        }
    }
    ok = ok && to->ops->import(to, &d, error);
    if (ok && counts != NULL) {
        counts->runs = d.runs->len;
        counts->steps = d.steps->len;
        counts->checkpoints = d.checkpoints->len;
        counts->events = d.events->len;
    }
    g_free(d.store_id);
    g_clear_pointer(&d.runs, g_ptr_array_unref);
    g_clear_pointer(&d.steps, g_ptr_array_unref);
    g_clear_pointer(&d.checkpoints, g_ptr_array_unref);
    g_clear_pointer(&d.events, g_ptr_array_unref);
    return ok;
}

void
state_set_owner(struct state *st, const char *owner)
{
    g_free(st->owner);
    st->owner = g_strdup(owner);
}

bool
state_shared(struct state *st)
{
    return st->ops->vm_claim != NULL;
}

void
state_set_worker(struct state *st, bool worker)
{
    st->worker = worker;
}

bool
state_vm_claim(struct state *st, const char *vm, bool pin,
               enum state_claim *out, char **holder, GError **error)
{
    if (holder != NULL)
        *holder = NULL;
    if (st->ops->vm_claim == NULL) {
        *out = STATE_CLAIM_TAKEN;
        return true;
    }
    return st->ops->vm_claim(st, vm, pin, out, holder, error);
}

bool
state_vm_release(struct state *st, const char *vm, GError **error)
{
    if (st->ops->vm_release == NULL)
        return true;
    return st->ops->vm_release(st, vm, error);
}

void
state_worker_record_free(struct state_worker_record *w)
{
    if (w == NULL)
        return;
    g_free(w->id);
    g_free(w->host);
    g_free(w);
}

GPtrArray *
state_worker_list(struct state *st, GError **error)
{
    if (st->ops->worker_list == NULL)
        return g_ptr_array_new_with_free_func((GDestroyNotify)state_worker_record_free);
    return st->ops->worker_list(st, error);
}
