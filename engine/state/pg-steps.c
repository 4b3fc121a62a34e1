/* Steps, checkpoints, runs and events in PostgreSQL.  Every mutation is
 * one transaction (pg_tx), carried over a lost connection; a step's
 * finish and its checkpoints are written only by the step's owner, so a
 * worker whose lease ran out and whose step another worker took over
 * cannot overwrite the new owner's progress. */
#include "config.h"

#include <string.h>

#include "state/pg-priv.h"
#include "util/error.h"

#define STEP_SELECT \
    "SELECT s.key, s.vm, s.kind, s.fingerprint, s.inputs, s.status, " \
    "s.attempts, s.outputs, s.error, s.updated, s.owner, s.run_id, " \
    "COALESCE(w.lease_until, s.lease_until) FROM steps s " \
    "LEFT JOIN workers w ON w.id = s.owner"

/* The SQL of "owner's lease is held now" for an owner named by $N. */
#define OWNER_LIVE(n) \
    "EXISTS (SELECT 1 FROM workers w WHERE w.id = " n \
    " AND w.stopped IS NULL AND w.lease_until > " PG_NOW ")"

static enum state_step_status
parse_status(const char *s)
{
    for (unsigned i = 0; i < STATE_STEP_LAST; i++) {
        if (s != NULL && strcmp(s, state_step_status_name(i)) == 0)
            return (enum state_step_status)i;
    }
    return STATE_STEP_NONE;
}

static struct state_step_record *
read_step(const PGresult *res, int row)
{
    struct state_step_record *r = g_new0(struct state_step_record, 1);
    r->key = pg_text(res, row, 0);
    r->vm = pg_text(res, row, 1);
    r->kind = pg_text(res, row, 2);
    r->fingerprint = pg_text(res, row, 3);
    r->inputs = pg_text(res, row, 4);
    r->status = parse_status(PQgetvalue(res, row, 5));
    r->attempts = (unsigned)pg_int(res, row, 6);
    r->outputs = pg_text(res, row, 7);
    r->error = pg_text(res, row, 8);
    r->updated = pg_int(res, row, 9);
    r->owner = pg_text(res, row, 10);
    r->run_id = pg_int(res, row, 11);
    r->lease_until = pg_int(res, row, 12);
    return r;
}

static struct state_step_record *
copy_step(const struct state_step_record *s)
{
    struct state_step_record *r = g_memdup2(s, sizeof *s);
    r->key = g_strdup(s->key);
    r->vm = g_strdup(s->vm);
    r->kind = g_strdup(s->kind);
    r->fingerprint = g_strdup(s->fingerprint);
    r->inputs = g_strdup(s->inputs);
    r->outputs = g_strdup(s->outputs);
    r->error = g_strdup(s->error);
    r->owner = g_strdup(s->owner);
    return r;
}

/* A read-only handle (plan, status, report) reads every step and
 * checkpoint once, in two queries: the plan of a fleet asks for each. */
static bool
load_caches(struct pg_state *st, GError **error)
{
    if (st->steps_cache != NULL)
        return true;
    PGresult *res = pg_run(st, STEP_SELECT " ORDER BY s.key", NULL, error);
    if (res == NULL)
        return false;
    g_autoptr(GHashTable) steps = g_hash_table_new_full(
        g_str_hash, g_str_equal, NULL, (GDestroyNotify)state_step_record_free);
    for (int i = 0; i < PQntuples(res); i++) {
        struct state_step_record *r = read_step(res, i);
        g_hash_table_replace(steps, r->key, r);
    }
    PQclear(res);
    res = pg_run(st, "SELECT step_key, position, detail FROM checkpoints", NULL, error);
    if (res == NULL)
        return false;
    g_autoptr(GHashTable) ckpts = g_hash_table_new_full(
        g_str_hash, g_str_equal, NULL, (GDestroyNotify)state_checkpoint_free);
    for (int i = 0; i < PQntuples(res); i++) {
        struct state_checkpoint *c = g_new0(struct state_checkpoint, 1);
        c->step_key = pg_text(res, i, 0);
        c->position = (uint64_t)pg_int(res, i, 1);
        c->detail = pg_text(res, i, 2);
        g_hash_table_replace(ckpts, c->step_key, c);
    }
    PQclear(res);
    st->steps_cache = g_steal_pointer(&steps);
    st->ckpt_cache = g_steal_pointer(&ckpts);
    return true;
}

struct state_step_record *
pg_step_get(struct state *base, const char *key, GError **error)
{
    struct pg_state *st = pg_state_of(base);

    if (st->empty)
        return NULL;
    if (st->read_only) {
        PG_LOCKED(st);
        if (!load_caches(st, error))
            return NULL;
        const struct state_step_record *r = g_hash_table_lookup(st->steps_cache, key);
        return r != NULL ? copy_step(r) : NULL;
    }
    struct pg_params p = {0};
    pg_params_text(&p, key);
    PGresult *res = pg_run(st, STEP_SELECT " WHERE s.key = $1", &p, error);
    pg_params_release(&p);
    if (res == NULL)
        return NULL;
    struct state_step_record *r = PQntuples(res) > 0 ? read_step(res, 0) : NULL;
    PQclear(res);
    return r;
}

GPtrArray *
pg_step_list(struct state *base, GError **error)
{
    struct pg_state *st = pg_state_of(base);
    g_autoptr(GPtrArray) list =
        g_ptr_array_new_with_free_func((GDestroyNotify)state_step_record_free);

    if (st->empty)
        return g_steal_pointer(&list);
    PGresult *res = pg_run(st, STEP_SELECT " ORDER BY s.key COLLATE \"C\"", NULL, error);
    if (res == NULL)
        return NULL;
    for (int i = 0; i < PQntuples(res); i++)
        g_ptr_array_add(list, read_step(res, i));
    PQclear(res);
    return g_steal_pointer(&list);
}

static bool
no_such_step(struct pg_state *st, const char *key, GError **error)
{
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                "internal error: state '%s' has no step '%s'", st->shown, key);
    return false;
}

/* The step is another owner's now (it took the step over after this
 * worker's lease ran out): this worker must not write it. */
static bool
fenced(struct pg_state *st, const char *key, const char *owner, GError **error)
{
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_LOCKED,
                "state '%s': step '%s' was taken over by '%s' after the lease of '%s' ran out; this worker does not write it",
                st->shown, key, owner != NULL ? owner : "(nobody)", st->base.owner);
    return false;
}

struct begin_args {
    const char *key, *vm, *kind, *fingerprint, *inputs;
};

static bool
step_begin_tx(struct pg_state *st, void *data, GError **error)
{
    const struct begin_args *a = data;
    struct pg_params p = {0};

    /* The row locked: two workers beginning one step take turns. */
    pg_params_text(&p, a->key);
    PGresult *res = pg_query(st, st->conn,
                             "SELECT s.owner, s.status, s.fingerprint, "
                             OWNER_LIVE("s.owner") " FROM steps s WHERE s.key = $1 FOR UPDATE",
                             &p, error);
    if (res == NULL) {
        pg_params_release(&p);
        return false;
    }
    if (PQntuples(res) > 0) {
        const char *owner = PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0);
        bool live = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
        if (strcmp(PQgetvalue(res, 0, 1), "running") == 0 && owner != NULL &&
            strcmp(owner, st->base.owner) != 0 && live) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_LOCKED,
                        "state '%s': step '%s' is being run by '%s'", st->shown, a->key, owner);
            PQclear(res);
            pg_params_release(&p);
            return false;
        }
    }
    PQclear(res);
    pg_params_release(&p);

    /* A checkpoint only means something for the inputs it was made with. */
    pg_params_text(&p, a->key);
    pg_params_text(&p, a->fingerprint);
    res = pg_query(st, st->conn,
                   "DELETE FROM checkpoints WHERE step_key = $1 AND EXISTS "
                   "(SELECT 1 FROM steps WHERE key = $1 AND fingerprint IS DISTINCT FROM $2)",
                   &p, error);
    pg_params_release(&p);
    if (res == NULL)
        return false;
    PQclear(res);

    pg_params_text(&p, a->key);
    pg_params_text(&p, a->vm);
    pg_params_text(&p, a->kind);
    pg_params_text(&p, a->fingerprint);
    pg_params_text(&p, a->inputs);
    pg_params_text(&p, st->base.owner);
    if (st->base.run_id > 0)
        pg_params_int(&p, st->base.run_id);
    else
        pg_params_text(&p, NULL);
    res = pg_query(st, st->conn,
                   "INSERT INTO steps (key, vm, kind, fingerprint, inputs, status, attempts, "
                   "updated, owner, run_id, lease_until) "
                   "VALUES ($1, $2, $3, $4, $5, 'running', 1, " PG_NOW ", $6, $7::bigint, "
                   "(SELECT lease_until FROM workers WHERE id = $6)) "
                   "ON CONFLICT (key) DO UPDATE SET vm = excluded.vm, "
                   "kind = excluded.kind, fingerprint = excluded.fingerprint, "
                   "inputs = excluded.inputs, status = 'running', "
                   "attempts = steps.attempts + 1, outputs = NULL, error = NULL, "
                   "updated = excluded.updated, owner = excluded.owner, "
                   "run_id = excluded.run_id, lease_until = excluded.lease_until",
                   &p, error);
    pg_params_release(&p);
    PQclear(res);
    return res != NULL;
}

bool
pg_step_begin(struct state *base, const char *key, const char *vm,
              const char *kind, const char *fingerprint, const char *inputs,
              GError **error)
{
    struct begin_args a = {key, vm, kind, fingerprint, inputs};
    return pg_tx(pg_state_of(base), step_begin_tx, &a, error);
}

struct finish_args {
    const char *key;
    const char *sql;
    const char *text;
    bool drop_checkpoint;
};

/* Is key there, and this handle's (the owner it was begun by)?  A step
 * begun by nobody known (migrated from SQLite, say) is anyone's. */
static bool
check_owner(struct pg_state *st, const char *key, GError **error)
{
    struct pg_params p = {0};
    pg_params_text(&p, key);
    PGresult *res = pg_query(st, st->conn,
                             "SELECT s.owner, s.vm, c.owner, c.token FROM steps s "
                             "LEFT JOIN vm_claims c ON c.vm = s.vm WHERE s.key = $1 FOR UPDATE OF s",
                             &p, error);
    pg_params_release(&p);
    if (res == NULL)
        return false;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return no_such_step(st, key, error);
    }
    g_autofree char *owner = pg_text(res, 0, 0);
    g_autofree char *vm = pg_text(res, 0, 1);
    g_autofree char *claimer = pg_text(res, 0, 2);
    int64_t token = pg_int(res, 0, 3);
    PQclear(res);
    if (owner != NULL && strcmp(owner, st->base.owner) != 0)
        return fenced(st, key, owner, error);
    /* The fencing token: a worker writes its VM's steps only under the
     * claim it holds; a newer claim (a takeover) has a greater token. */
    const gint64 *mine = vm != NULL ? g_hash_table_lookup(st->tokens, vm) : NULL;
    if (mine != NULL && (token != *mine || g_strcmp0(claimer, st->base.owner) != 0))
        return fenced(st, key, claimer, error);
    return true;
}

static bool
step_finish_tx(struct pg_state *st, void *data, GError **error)
{
    const struct finish_args *a = data;
    struct pg_params p = {0};

    if (!check_owner(st, a->key, error))
        return false;
    pg_params_text(&p, a->key);
    pg_params_text(&p, a->text);
    PGresult *res = pg_query(st, st->conn, a->sql, &p, error);
    pg_params_release(&p);
    if (res == NULL)
        return false;
    PQclear(res);
    if (!a->drop_checkpoint)
        return true;
    pg_params_text(&p, a->key);
    res = pg_query(st, st->conn, "DELETE FROM checkpoints WHERE step_key = $1", &p, error);
    pg_params_release(&p);
    PQclear(res);
    return res != NULL;
}

bool
pg_step_done(struct state *base, const char *key, const char *outputs,
             GError **error)
{
    struct finish_args a = {
        key,
        "UPDATE steps SET status = 'done', outputs = $2, error = NULL, updated = " PG_NOW
        " WHERE key = $1",
        outputs, true,
    };
    return pg_tx(pg_state_of(base), step_finish_tx, &a, error);
}

bool
pg_step_failed(struct state *base, const char *key, const char *message,
               GError **error)
{
    struct finish_args a = {
        key,
        "UPDATE steps SET status = 'failed', error = $2, updated = " PG_NOW " WHERE key = $1",
        message, false,
    };
    return pg_tx(pg_state_of(base), step_finish_tx, &a, error);
}

static bool
step_forget_tx(struct pg_state *st, void *data, GError **error)
{
    struct pg_params p = {0};
    pg_params_text(&p, data);
    PGresult *res = pg_query(st, st->conn,
                             "DELETE FROM checkpoints WHERE step_key = $1;", &p, error);
    PQclear(res);
    if (res != NULL)
        res = pg_query(st, st->conn, "DELETE FROM steps WHERE key = $1", &p, error);
    PQclear(res);
    pg_params_release(&p);
    return res != NULL;
}

bool
pg_step_forget(struct state *base, const char *key, GError **error)
{
    return pg_tx(pg_state_of(base), step_forget_tx, (void *)key, error);
}

struct ckpt_args {
    const char *key;
    uint64_t position;
    const char *detail;
};

static bool
checkpoint_put_tx(struct pg_state *st, void *data, GError **error)
{
    const struct ckpt_args *a = data;
    struct pg_params p = {0};

    if (!check_owner(st, a->key, error))
        return false;
    pg_params_text(&p, a->key);
    pg_params_int(&p, (int64_t)a->position);
    pg_params_text(&p, a->detail);
    pg_params_text(&p, st->base.owner);
    /* Writing a checkpoint renews the step's lease too. */
    PGresult *res = pg_query(st, st->conn,
                             "INSERT INTO checkpoints (step_key, position, detail, updated, owner) "
                             "VALUES ($1, $2::bigint, $3, " PG_NOW ", $4) "
                             "ON CONFLICT (step_key) DO UPDATE SET position = excluded.position, "
                             "detail = excluded.detail, updated = excluded.updated, "
                             "owner = excluded.owner",
                             &p, error);
    pg_params_release(&p);
    PQclear(res);
    return res != NULL;
}

bool
pg_checkpoint_put(struct state *base, const char *key, uint64_t position,
                  const char *detail, GError **error)
{
    struct ckpt_args a = {key, position, detail};

    if (position > (uint64_t)INT64_MAX) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: checkpoint position of '%s' out of range", key);
        return false;
    }
    return pg_tx(pg_state_of(base), checkpoint_put_tx, &a, error);
}

struct state_checkpoint *
pg_checkpoint_get(struct state *base, const char *key, GError **error)
{
    struct pg_state *st = pg_state_of(base);

    if (st->empty)
        return NULL;
    if (st->read_only) {
        PG_LOCKED(st);
        if (!load_caches(st, error))
            return NULL;
        const struct state_checkpoint *c = g_hash_table_lookup(st->ckpt_cache, key);
        if (c == NULL)
            return NULL;
        struct state_checkpoint *r = g_new0(struct state_checkpoint, 1);
        r->step_key = g_strdup(c->step_key);
        r->position = c->position;
        r->detail = g_strdup(c->detail);
        return r;
    }
    struct pg_params p = {0};
    pg_params_text(&p, key);
    PGresult *res = pg_run(st, "SELECT step_key, position, detail FROM checkpoints WHERE step_key = $1",
                           &p, error);
    pg_params_release(&p);
    if (res == NULL)
        return NULL;
    struct state_checkpoint *c = NULL;
    if (PQntuples(res) > 0) {
        c = g_new0(struct state_checkpoint, 1);
        c->step_key = pg_text(res, 0, 0);
        c->position = (uint64_t)pg_int(res, 0, 1);
        c->detail = pg_text(res, 0, 2);
    }
    PQclear(res);
    return c;
}

/* ---- runs and events ---- */

int64_t
pg_run_begin(struct state *base, const char *command, GError **error)
{
    struct pg_state *st = pg_state_of(base);
    struct pg_params p = {0};

    if (!pg_writable(st, error))
        return -1;
    pg_params_text(&p, command);
    pg_params_text(&p, st->base.owner);
    PGresult *res = pg_run(st,
                           "INSERT INTO runs (command, started, status, worker) "
                           "VALUES ($1, " PG_NOW ", 'running', $2) RETURNING id",
                           &p, error);
    pg_params_release(&p);
    if (res == NULL)
        return -1;
    int64_t id = pg_int(res, 0, 0);
    PQclear(res);
    return id;
}

bool
pg_run_end(struct state *base, int64_t run_id, const char *status,
           GError **error)
{
    struct pg_state *st = pg_state_of(base);
    struct pg_params p = {0};

    if (!pg_writable(st, error))
        return false;
    pg_params_int(&p, run_id);
    pg_params_text(&p, status);
    PGresult *res = pg_run(st, "UPDATE runs SET finished = " PG_NOW ", status = $2 WHERE id = $1",
                           &p, error);
    pg_params_release(&p);
    if (res == NULL)
        return false;
    int64_t n = pg_changes(res);
    PQclear(res);
    if (n == 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: state '%s' has no run %" G_GINT64_FORMAT, st->shown,
                    (gint64)run_id);
        return false;
    }
    return true;
}

bool
pg_event(struct state *base, int64_t run_id, const char *step_key,
         const char *kind, const char *message, GError **error)
{
    struct pg_state *st = pg_state_of(base);
    struct pg_params p = {0};
    /* Written once even when the statement is sent again after a lost
     * connection whose commit did reach the server. */
    g_autofree char *uid = g_uuid_string_random();

    if (!pg_writable(st, error))
        return false;
    if (run_id > 0)
        pg_params_int(&p, run_id);
    else
        pg_params_text(&p, NULL);
    pg_params_text(&p, step_key);
    pg_params_text(&p, kind);
    pg_params_text(&p, message);
    pg_params_text(&p, st->base.owner);
    pg_params_text(&p, uid);
    PGresult *res = pg_run(st,
                           "INSERT INTO events (run_id, time, step_key, kind, message, worker, uid) "
                           "VALUES ($1::bigint, extract(epoch from clock_timestamp()), $2, $3, $4, $5, $6) "
                           "ON CONFLICT (uid) DO NOTHING",
                           &p, error);
    pg_params_release(&p);
    PQclear(res);
    return res != NULL;
}

GPtrArray *
pg_event_list(struct state *base, int64_t run_id, GError **error)
{
    struct pg_state *st = pg_state_of(base);
    struct pg_params p = {0};
    g_autoptr(GPtrArray) list =
        g_ptr_array_new_with_free_func((GDestroyNotify)state_event_record_free);

    if (st->empty)
        return g_steal_pointer(&list);
    pg_params_int(&p, run_id);
    PGresult *res = pg_run(st,
                           "SELECT id, run_id, time, step_key, kind, message FROM events "
                           "WHERE $1::bigint <= 0 OR run_id = $1::bigint ORDER BY id",
                           &p, error);
    pg_params_release(&p);
    if (res == NULL)
        return NULL;
    for (int i = 0; i < PQntuples(res); i++) {
        struct state_event_record *e = g_new0(struct state_event_record, 1);
        e->id = pg_int(res, i, 0);
        e->run_id = pg_int(res, i, 1);
        e->time = g_ascii_strtod(PQgetvalue(res, i, 2), NULL);
        e->step_key = pg_text(res, i, 3);
        e->kind = pg_text(res, i, 4);
        e->message = pg_text(res, i, 5);
        g_ptr_array_add(list, e);
    }
    PQclear(res);
    return g_steal_pointer(&list);
}

GPtrArray *
pg_run_list(struct state *base, GError **error)
{
    struct pg_state *st = pg_state_of(base);
    g_autoptr(GPtrArray) list =
        g_ptr_array_new_with_free_func((GDestroyNotify)state_run_record_free);

    if (st->empty)
        return g_steal_pointer(&list);
    PGresult *res = pg_run(st, "SELECT id, command, started, finished, status FROM runs ORDER BY id",
                           NULL, error);
    if (res == NULL)
        return NULL;
    for (int i = 0; i < PQntuples(res); i++) {
        struct state_run_record *r = g_new0(struct state_run_record, 1);
        r->id = pg_int(res, i, 0);
        r->command = pg_text(res, i, 1);
        r->started = pg_int(res, i, 2);
        r->finished = pg_int(res, i, 3);
        r->status = pg_text(res, i, 4);
        g_ptr_array_add(list, r);
    }
    PQclear(res);
    return g_steal_pointer(&list);
}

/* ---- import (convoy state migrate) ---- */

static bool
exec_params(struct pg_state *st, const char *sql, struct pg_params *p, GError **error)
{
    PGresult *res = pg_query(st, st->conn, sql, p, error);
    pg_params_release(p);
    PQclear(res);
    return res != NULL;
}

static void
params_opt_int(struct pg_params *p, int64_t v)
{
    if (v != 0)
        pg_params_int(p, v);
    else
        pg_params_text(p, NULL);
}

static bool
import_tx(struct pg_state *st, void *data, GError **error)
{
    const struct state_dump *d = data;
    struct pg_params p = {0};
    PGresult *res = pg_query(st, st->conn,
                             "SELECT (SELECT count(*) FROM runs) + (SELECT count(*) FROM steps) + "
                             "(SELECT count(*) FROM events)",
                             NULL, error);
    if (res == NULL)
        return false;
    int64_t rows = pg_int(res, 0, 0);
    PQclear(res);
    if (rows > 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_SQLITE,
                    "state '%s' (project '%s') is not empty (%" G_GINT64_FORMAT " runs, steps and events): migrate into a project of its own (project=NAME in the URL), or drop schema '%s' first",
                    st->shown, st->schema, (gint64)rows, st->schema);
        return false;
    }
    if (d->store_id != NULL) {
        pg_params_text(&p, d->store_id);
        if (!exec_params(st, "UPDATE meta SET value = $1 WHERE key = 'store_id'", &p, error))
            return false;
    }
    for (guint i = 0; i < d->runs->len; i++) {
        const struct state_run_record *r = d->runs->pdata[i];
        pg_params_int(&p, r->id);
        pg_params_text(&p, r->command);
        pg_params_int(&p, r->started);
        params_opt_int(&p, r->finished);
        pg_params_text(&p, r->status);
        if (!exec_params(st,
                         "INSERT INTO runs (id, command, started, finished, status) "
                         "VALUES ($1::bigint, $2, $3::bigint, $4::bigint, $5)",
                         &p, error))
            return false;
    }
    for (guint i = 0; i < d->steps->len; i++) {
        const struct state_step_record *r = d->steps->pdata[i];
        pg_params_text(&p, r->key);
        pg_params_text(&p, r->vm);
        pg_params_text(&p, r->kind);
        pg_params_text(&p, r->fingerprint);
        pg_params_text(&p, r->inputs);
        pg_params_text(&p, state_step_status_name(r->status));
        pg_params_int(&p, r->attempts);
        pg_params_text(&p, r->outputs);
        pg_params_text(&p, r->error);
        pg_params_int(&p, r->updated);
        pg_params_text(&p, r->owner);
        params_opt_int(&p, r->run_id);
        if (!exec_params(st,
                         "INSERT INTO steps (key, vm, kind, fingerprint, inputs, status, attempts, "
                         "outputs, error, updated, owner, run_id) VALUES ($1, $2, $3, $4, $5, $6, "
                         "$7::integer, $8, $9, $10::bigint, $11, $12::bigint)",
                         &p, error))
            return false;
    }
    for (guint i = 0; i < d->checkpoints->len; i++) {
        const struct state_checkpoint *c = d->checkpoints->pdata[i];
        pg_params_text(&p, c->step_key);
        pg_params_int(&p, (int64_t)c->position);
        pg_params_text(&p, c->detail);
        if (!exec_params(st,
                         "INSERT INTO checkpoints (step_key, position, detail, updated) "
                         "VALUES ($1, $2::bigint, $3, " PG_NOW ")",
                         &p, error))
            return false;
    }
    for (guint i = 0; i < d->events->len; i++) {
        const struct state_event_record *e = d->events->pdata[i];
        g_autofree char *t = g_strdup_printf("%.6f", e->time);
        pg_params_int(&p, e->id);
        params_opt_int(&p, e->run_id);
        pg_params_text(&p, t);
        pg_params_text(&p, e->step_key);
        pg_params_text(&p, e->kind);
        pg_params_text(&p, e->message);
        if (!exec_params(st,
                         "INSERT INTO events (id, run_id, time, step_key, kind, message) "
                         "VALUES ($1::bigint, $2::bigint, $3::double precision, $4, $5, $6)",
                         &p, error))
            return false;
    }
    /* The next run and event follow the copied ones. */
    res = pg_query(st, st->conn,
                   "SELECT setval(pg_get_serial_sequence('runs', 'id'), "
                   "(SELECT COALESCE(max(id), 0) + 1 FROM runs), false), "
                   "setval(pg_get_serial_sequence('events', 'id'), "
                   "(SELECT COALESCE(max(id), 0) + 1 FROM events), false)",
                   NULL, error);
    PQclear(res);
    return res != NULL;
}

bool
pg_import(struct state *base, const struct state_dump *d, GError **error)
{
    return pg_tx(pg_state_of(base), import_tx, (void *)d, error);
}
