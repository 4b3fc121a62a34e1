/* Runs and events: the append-only log of what each apply did. */
#include "config.h"

#include "state/sqlite-priv.h"
#include "util/autoptr.h"
#include "util/error.h"

static bool
run_begin_tx(struct sqlite_state *st, const char *command, int64_t *id,
             GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = state_db_prepare(
        st,
        "INSERT INTO runs (command, started, status) VALUES (?1, ?2, 'running')",
        error);
    if (stmt == NULL)
        return false;
    if (sqlite3_bind_text(stmt, 1, command, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_int64(stmt, 2, state_db_now()) != SQLITE_OK)
        return state_db_error(st, error);
    if (!state_db_run(st, stmt, error))
        return false;
    *id = sqlite3_last_insert_rowid(st->db);
    return true;
}

int64_t
sqlite_run_begin(struct state *base, const char *command, GError **error)
{
    struct sqlite_state *st = sqlite_state_of(base);
    STATE_LOCKED(st);
    if (!state_db_begin(st, error))
        return -1;
    int64_t id = -1;
    if (!run_begin_tx(st, command, &id, error)) {
        state_db_rollback(st);
        return -1;
    }
    return state_db_commit(st, error) ? id : -1;
}

static bool
run_end_tx(struct sqlite_state *st, int64_t run_id, const char *status,
           GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = state_db_prepare(
        st, "UPDATE runs SET finished = ?2, status = ?3 WHERE id = ?1", error);
    if (stmt == NULL)
        return false;
    if (sqlite3_bind_int64(stmt, 1, run_id) != SQLITE_OK ||
        sqlite3_bind_int64(stmt, 2, state_db_now()) != SQLITE_OK ||
        sqlite3_bind_text(stmt, 3, status, -1, SQLITE_TRANSIENT) != SQLITE_OK)
        return state_db_error(st, error);
    if (!state_db_run(st, stmt, error))
        return false;
    if (sqlite3_changes(st->db) == 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: state '%s' has no run %" G_GINT64_FORMAT,
                    st->path, run_id);
        return false;
    }
    return true;
}

bool
sqlite_run_end(struct state *base, int64_t run_id, const char *status,
               GError **error)
{
    struct sqlite_state *st = sqlite_state_of(base);
    STATE_LOCKED(st);
    if (!state_db_begin(st, error))
        return false;
    if (!run_end_tx(st, run_id, status, error)) {
        state_db_rollback(st);
        return false;
    }
    return state_db_commit(st, error);
}

static bool
event_tx(struct sqlite_state *st, int64_t run_id, const char *step_key,
         const char *kind, const char *message, GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = state_db_prepare(
        st,
        "INSERT INTO events (run_id, time, step_key, kind, message) "
        "VALUES (?1, ?2, ?3, ?4, ?5)",
        error);
    if (stmt == NULL)
        return false;
    int rc = run_id > 0 ? sqlite3_bind_int64(stmt, 1, run_id)
                        : sqlite3_bind_null(stmt, 1);
    if (rc != SQLITE_OK ||
        sqlite3_bind_double(stmt, 2,
                            (double)g_get_real_time() / G_USEC_PER_SEC) != SQLITE_OK ||
        sqlite3_bind_text(stmt, 3, step_key, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_text(stmt, 4, kind, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_text(stmt, 5, message, -1, SQLITE_TRANSIENT) != SQLITE_OK)
        return state_db_error(st, error);
    return state_db_run(st, stmt, error);
}

bool
sqlite_event(struct state *base, int64_t run_id, const char *step_key,
             const char *kind, const char *message, GError **error)
{
    struct sqlite_state *st = sqlite_state_of(base);
    STATE_LOCKED(st);
    if (!state_db_begin(st, error))
        return false;
    if (!event_tx(st, run_id, step_key, kind, message, error)) {
        state_db_rollback(st);
        return false;
    }
    return state_db_commit(st, error);
}

GPtrArray *
sqlite_event_list(struct state *base, int64_t run_id, GError **error)
{
    struct sqlite_state *st = sqlite_state_of(base);
    STATE_LOCKED(st);
    g_autoptr(sqlite3_stmt) stmt = state_db_prepare(
        st,
        "SELECT id, run_id, time, step_key, kind, message FROM events "
        "WHERE ?1 <= 0 OR run_id = ?1 ORDER BY id",
        error);
    if (stmt == NULL)
        return NULL;
    if (sqlite3_bind_int64(stmt, 1, run_id) != SQLITE_OK) {
        state_db_error(st, error);
        return NULL;
    }
    g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(
        (GDestroyNotify)state_event_record_free);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct state_event_record *e = g_new0(struct state_event_record, 1);
        e->id = sqlite3_column_int64(stmt, 0);
        e->run_id = sqlite3_column_int64(stmt, 1);
        e->time = sqlite3_column_double(stmt, 2);
        e->step_key = state_db_column_text(stmt, 3);
        e->kind = state_db_column_text(stmt, 4);
        e->message = state_db_column_text(stmt, 5);
        g_ptr_array_add(list, e);
    }
    if (rc != SQLITE_DONE) {
        state_db_error(st, error);
        return NULL;
    }
    return g_steal_pointer(&list);
}

GPtrArray *
sqlite_run_list(struct state *base, GError **error)
{
    struct sqlite_state *st = sqlite_state_of(base);
    STATE_LOCKED(st);
    g_autoptr(sqlite3_stmt) stmt = state_db_prepare(
        st, "SELECT id, command, started, finished, status FROM runs ORDER BY id", error);
    if (stmt == NULL)
        return NULL;
    g_autoptr(GPtrArray) list =
        g_ptr_array_new_with_free_func((GDestroyNotify)state_run_record_free);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct state_run_record *r = g_new0(struct state_run_record, 1);
        r->id = sqlite3_column_int64(stmt, 0);
        r->command = state_db_column_text(stmt, 1);
        r->started = sqlite3_column_int64(stmt, 2);
        r->finished = sqlite3_column_int64(stmt, 3);
        r->status = state_db_column_text(stmt, 4);
        g_ptr_array_add(list, r);
    }
    if (rc != SQLITE_DONE) {
        state_db_error(st, error);
        return NULL;
    }
    return g_steal_pointer(&list);
}
