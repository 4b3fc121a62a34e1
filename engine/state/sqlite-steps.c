/* Steps and checkpoints: the status of every step with the fingerprint of
 * its inputs, and the one checkpoint of a long step.  Every mutation is
 * one transaction, so a crash leaves the old or the new row. */
#include "config.h"

#include <string.h>

#include "state/sqlite-priv.h"
#include "util/autoptr.h"
#include "util/error.h"

#define STEP_COLUMNS \
    "key, vm, kind, fingerprint, inputs, status, attempts, outputs, error, " \
    "updated, owner, run_id, lease_until"
/* The same from a version-1 file (read-only): no owner, run or lease. */
#define STEP_COLUMNS_V1 \
    "key, vm, kind, fingerprint, inputs, status, attempts, outputs, error, " \
    "updated, NULL, NULL, NULL"

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
read_step(sqlite3_stmt *stmt)
{
    struct state_step_record *r = g_new0(struct state_step_record, 1);
    r->key = state_db_column_text(stmt, 0);
    r->vm = state_db_column_text(stmt, 1);
    r->kind = state_db_column_text(stmt, 2);
    r->fingerprint = state_db_column_text(stmt, 3);
    r->inputs = state_db_column_text(stmt, 4);
    r->status = parse_status((const char *)sqlite3_column_text(stmt, 5));
    r->attempts = (unsigned)sqlite3_column_int64(stmt, 6);
    r->outputs = state_db_column_text(stmt, 7);
    r->error = state_db_column_text(stmt, 8);
    r->updated = sqlite3_column_int64(stmt, 9);
    r->owner = state_db_column_text(stmt, 10);
    r->run_id = sqlite3_column_int64(stmt, 11);
    r->lease_until = sqlite3_column_int64(stmt, 12);
    return r;
}

struct state_step_record *
sqlite_step_get(struct state *base, const char *key, GError **error)
{
    struct sqlite_state *st = sqlite_state_of(base);
    STATE_LOCKED(st);
    g_autoptr(state_cached_stmt) stmt = state_db_cached(
        st,
        st->schema_version >= 2
            ? "SELECT " STEP_COLUMNS " FROM steps WHERE key = ?1"
            : "SELECT " STEP_COLUMNS_V1 " FROM steps WHERE key = ?1",
        error);
    if (stmt == NULL)
        return NULL;
    if (sqlite3_bind_text(stmt, 1, key, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
        state_db_error(st, error);
        return NULL;
    }
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        return read_step(stmt);
    if (rc != SQLITE_DONE)
        state_db_error(st, error);
    return NULL;
}

GPtrArray *
sqlite_step_list(struct state *base, GError **error)
{
    struct sqlite_state *st = sqlite_state_of(base);
    STATE_LOCKED(st);
    g_autoptr(sqlite3_stmt) stmt = state_db_prepare(
        st,
        st->schema_version >= 2
            ? "SELECT " STEP_COLUMNS " FROM steps ORDER BY key"
            : "SELECT " STEP_COLUMNS_V1 " FROM steps ORDER BY key",
        error);
    if (stmt == NULL)
        return NULL;
    g_autoptr(GPtrArray) list =
        g_ptr_array_new_with_free_func((GDestroyNotify)state_step_record_free);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        g_ptr_array_add(list, read_step(stmt));
    if (rc != SQLITE_DONE) {
        state_db_error(st, error);
        return NULL;
    }
    return g_steal_pointer(&list);
}

/* Run one statement with key as ?1 (and optionally a text ?2 and the time
 * as ?3); *changes gets the number of rows it changed. */
static bool
run_keyed(struct sqlite_state *st, const char *sql, const char *key,
          const char *text, int *changes, GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = state_db_prepare(st, sql, error);
    if (stmt == NULL)
        return false;
    int np = sqlite3_bind_parameter_count(stmt);
    if (sqlite3_bind_text(stmt, 1, key, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        (np >= 2 &&
         sqlite3_bind_text(stmt, 2, text, -1, SQLITE_TRANSIENT) != SQLITE_OK) ||
        (np >= 3 &&
         sqlite3_bind_int64(stmt, 3, state_db_now()) != SQLITE_OK))
        return state_db_error(st, error);
    if (!state_db_run(st, stmt, error))
        return false;
    if (changes != NULL)
        *changes = sqlite3_changes(st->db);
    return true;
}

static bool
no_such_step(struct sqlite_state *st, const char *key, GError **error)
{
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                "internal error: state '%s' has no step '%s'", st->path, key);
    return false;
}

/* Refuse to begin key when another owner's attempt at it is live: the
 * step is claimed.  (Under the apply lock this never happens here: the
 * lock holder is the only owner that can be live.) */
static bool
step_claimable(struct sqlite_state *st, const char *key, GError **error)
{
    g_autoptr(state_step_record) r = NULL;
    {
        g_autoptr(state_cached_stmt) stmt = state_db_cached(
            st, "SELECT " STEP_COLUMNS " FROM steps WHERE key = ?1", error);
        if (stmt == NULL)
            return false;
        if (sqlite3_bind_text(stmt, 1, key, -1, SQLITE_TRANSIENT) != SQLITE_OK)
            return state_db_error(st, error);
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW)
            r = read_step(stmt);
        else if (rc != SQLITE_DONE)
            return state_db_error(st, error);
    }
    if (r == NULL || r->status != STATE_STEP_RUNNING ||
        g_strcmp0(r->owner, st->base.owner) == 0 ||
        !sqlite_step_is_live(&st->base, r))
        return true;
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_LOCKED,
                "state '%s': step '%s' is being run by '%s'", st->path, key,
                r->owner);
    return false;
}

static bool
step_begin_tx(struct sqlite_state *st, const char *key, const char *vm,
              const char *kind, const char *fingerprint, const char *inputs,
              GError **error)
{
    if (!step_claimable(st, key, error))
        return false;
    /* A checkpoint only means something for the inputs it was made with. */
    if (!run_keyed(st,
                   "DELETE FROM checkpoints WHERE step_key = ?1 AND EXISTS "
                   "(SELECT 1 FROM steps WHERE key = ?1 AND fingerprint IS NOT ?2)",
                   key, fingerprint, NULL, error))
        return false;

    /* The owner is this handle; the lease is the apply lock its owner
     * holds (lease_until NULL), so there is nothing to renew. */
    g_autoptr(sqlite3_stmt) stmt = state_db_prepare(
        st,
        "INSERT INTO steps (" STEP_COLUMNS ") "
        "VALUES (?1, ?2, ?3, ?4, ?5, 'running', 1, NULL, NULL, ?6, ?7, ?8, NULL) "
        "ON CONFLICT (key) DO UPDATE SET vm = excluded.vm, "
        "kind = excluded.kind, fingerprint = excluded.fingerprint, "
        "inputs = excluded.inputs, status = 'running', "
        "attempts = steps.attempts + 1, outputs = NULL, error = NULL, "
        "updated = excluded.updated, owner = excluded.owner, "
        "run_id = excluded.run_id, lease_until = NULL",
        error);
    if (stmt == NULL)
        return false;
    int rc = st->base.run_id > 0 ? sqlite3_bind_int64(stmt, 8, st->base.run_id)
                                 : sqlite3_bind_null(stmt, 8);
    if (rc != SQLITE_OK ||
        sqlite3_bind_text(stmt, 1, key, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_text(stmt, 2, vm, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_text(stmt, 3, kind, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_text(stmt, 4, fingerprint, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_text(stmt, 5, inputs, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_int64(stmt, 6, state_db_now()) != SQLITE_OK ||
        sqlite3_bind_text(stmt, 7, st->base.owner, -1, SQLITE_TRANSIENT) != SQLITE_OK)
        return state_db_error(st, error);
    return state_db_run(st, stmt, error);
}

bool
sqlite_step_begin(struct state *base, const char *key, const char *vm,
                  const char *kind, const char *fingerprint,
                  const char *inputs, GError **error)
{
    struct sqlite_state *st = sqlite_state_of(base);
    STATE_LOCKED(st);
    if (!state_db_begin(st, error))
        return false;
    if (!step_begin_tx(st, key, vm, kind, fingerprint, inputs, error)) {
        state_db_rollback(st);
        return false;
    }
    return state_db_commit(st, error);
}

/* Set a step's final status (done or failed) and drop its checkpoint when
 * drop_checkpoint. */
static bool
step_finish(struct sqlite_state *st, const char *key, const char *sql,
            const char *text, bool drop_checkpoint, GError **error)
{
    if (!state_db_begin(st, error))
        return false;
    int changes = 0;
    if (!run_keyed(st, sql, key, text, &changes, error) ||
        (changes == 0 && !no_such_step(st, key, error)) ||
        (drop_checkpoint &&
         !run_keyed(st, "DELETE FROM checkpoints WHERE step_key = ?1", key,
                    NULL, NULL, error))) {
        state_db_rollback(st);
        return false;
    }
    return state_db_commit(st, error);
}

bool
sqlite_step_done(struct state *base, const char *key, const char *outputs,
                 GError **error)
{
    struct sqlite_state *st = sqlite_state_of(base);
    STATE_LOCKED(st);
    return step_finish(st, key,
                       "UPDATE steps SET status = 'done', outputs = ?2, "
                       "error = NULL, updated = ?3 WHERE key = ?1",
                       outputs, true, error);
}

bool
sqlite_step_failed(struct state *base, const char *key, const char *message,
                   GError **error)
{
    struct sqlite_state *st = sqlite_state_of(base);
    STATE_LOCKED(st);
    return step_finish(st, key,
                       "UPDATE steps SET status = 'failed', error = ?2, "
                       "updated = ?3 WHERE key = ?1",
                       message, false, error);
}

bool
sqlite_step_forget(struct state *base, const char *key, GError **error)
{
    struct sqlite_state *st = sqlite_state_of(base);
    STATE_LOCKED(st);
    if (!state_db_begin(st, error))
        return false;
    if (!run_keyed(st, "DELETE FROM checkpoints WHERE step_key = ?1", key,
                   NULL, NULL, error) ||
        !run_keyed(st, "DELETE FROM steps WHERE key = ?1", key, NULL, NULL,
                   error)) {
        state_db_rollback(st);
        return false;
    }
    return state_db_commit(st, error);
}

static bool
checkpoint_put_tx(struct sqlite_state *st, const char *key, uint64_t position,
                  const char *detail, GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = state_db_prepare(
        st,
        "INSERT INTO checkpoints (step_key, position, detail, updated) "
        "SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM steps WHERE key = ?1) "
        "ON CONFLICT (step_key) DO UPDATE SET position = excluded.position, "
        "detail = excluded.detail, updated = excluded.updated",
        error);
    if (stmt == NULL)
        return false;
    if (position > (uint64_t)INT64_MAX) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: checkpoint position of '%s' out of range",
                    key);
        return false;
    }
    if (sqlite3_bind_text(stmt, 1, key, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)position) != SQLITE_OK ||
        sqlite3_bind_text(stmt, 3, detail, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_int64(stmt, 4, state_db_now()) != SQLITE_OK)
        return state_db_error(st, error);
    if (!state_db_run(st, stmt, error))
        return false;
    if (sqlite3_changes(st->db) == 0)
        return no_such_step(st, key, error);
    return true;
}

bool
sqlite_checkpoint_put(struct state *base, const char *key, uint64_t position,
                      const char *detail, GError **error)
{
    struct sqlite_state *st = sqlite_state_of(base);
    STATE_LOCKED(st);
    if (!state_db_begin(st, error))
        return false;
    if (!checkpoint_put_tx(st, key, position, detail, error)) {
        state_db_rollback(st);
        return false;
    }
    return state_db_commit(st, error);
}

struct state_checkpoint *
sqlite_checkpoint_get(struct state *base, const char *key, GError **error)
{
    struct sqlite_state *st = sqlite_state_of(base);
    STATE_LOCKED(st);
    g_autoptr(state_cached_stmt) stmt = state_db_cached(
        st,
        "SELECT step_key, position, detail FROM checkpoints WHERE step_key = ?1",
        error);
    if (stmt == NULL)
        return NULL;
    if (sqlite3_bind_text(stmt, 1, key, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
        state_db_error(st, error);
        return NULL;
    }
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        struct state_checkpoint *c = g_new0(struct state_checkpoint, 1);
        c->step_key = state_db_column_text(stmt, 0);
        c->position = (uint64_t)sqlite3_column_int64(stmt, 1);
        c->detail = state_db_column_text(stmt, 2);
        return c;
    }
    if (rc != SQLITE_DONE)
        state_db_error(st, error);
    return NULL;
}
