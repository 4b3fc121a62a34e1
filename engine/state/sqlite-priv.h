/* The SQLite backend's internals shared by sqlite.c, sqlite-steps.c,
 * sqlite-events.c and sqlite-lock.c:
 * the store struct and the SQLite helpers that wrap every error as
 * "sqlite: PATH: MESSAGE". */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <sqlite3.h>

#include "state/state.h"

struct state {
    char *path;             /* the store's path as given (owned) */
    sqlite3 *db;            /* the connection */
    bool read_only;         /* opened for plan: every mutation refused */
    int lock_fd;            /* "<path>.lock" while state_lock holds it */
    GRecMutex mutex;        /* serialises the connection between the
                             * executor's workers: every public function
                             * holds it (STATE_LOCKED) */
    GHashTable *cached;     /* SQL text → prepared sqlite3_stmt*, owned:
                             * the hot reads (state_db_cached) */
};

/* Hold st's mutex until the end of the enclosing block. */
#define STATE_LOCKED(st)                                                    \
    g_autoptr(GRecMutexLocker) state_locker_ G_GNUC_UNUSED =                \
        g_rec_mutex_locker_new(&(st)->mutex)

/* Fill error from the connection's last error; returns false. */
bool state_db_error(struct state *st, GError **error);
/* Run SQL without results. */
bool state_db_exec(struct state *st, const char *sql, GError **error);
/* Prepare one statement; NULL on error.  Caller finalizes. */
sqlite3_stmt *state_db_prepare(struct state *st, const char *sql,
                               GError **error);
/* The prepared statement for sql, kept for the life of the store (the
 * plan of 10,000 VMs reads a step per key: parsing the SQL every time
 * was a tenth of the plan's time).  Borrowed and reset: hold the mutex
 * while using it, and let state_cached_stmt's cleanup reset it. */
sqlite3_stmt *state_db_cached(struct state *st, const char *sql,
                              GError **error);
void state_db_stmt_reset(sqlite3_stmt *stmt);
typedef sqlite3_stmt state_cached_stmt; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(state_cached_stmt, state_db_stmt_reset)
/* Step a statement that returns no rows to completion. */
bool state_db_run(struct state *st, sqlite3_stmt *stmt, GError **error);
/* BEGIN IMMEDIATE (refused on a read-only store), COMMIT (rolls back when
 * the commit fails), ROLLBACK (errors ignored). */
bool state_db_begin(struct state *st, GError **error);
bool state_db_commit(struct state *st, GError **error);
void state_db_rollback(struct state *st);
/* A copy of column col of the current row, NULL for SQL NULL. */
char *state_db_column_text(sqlite3_stmt *stmt, int col);
/* Unix seconds now. */
int64_t state_db_now(void);
