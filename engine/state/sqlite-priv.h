/* The SQLite backend's internals shared by sqlite.c, sqlite-steps.c,
 * sqlite-events.c and sqlite-lock.c: its store struct, its state_ops
 * members, and the SQLite helpers that wrap every error as
 * "sqlite: PATH: MESSAGE". */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <sqlite3.h>

#include "state/backend.h"

struct sqlite_state {
    struct state base;      /* first: the generic part */
    char *path;             /* the file's path (owned) */
    sqlite3 *db;            /* the connection */
    bool read_only;         /* opened for plan: every mutation refused */
    int64_t schema_version; /* of the file: older ones only read-only */
    int lock_fd;            /* "<path>.lock" while state_lock holds it */
    GRecMutex mutex;        /* serialises the connection between the
                             * executor's workers: every public function
                             * holds it (STATE_LOCKED) */
    GHashTable *cached;     /* SQL text → prepared sqlite3_stmt*, owned:
                             * the hot reads (state_db_cached) */
    GHashTable *slot_counts;  /* slot key → holders (GUINT_TO_POINTER) */
    GHashTable *slot_holders; /* holder → GPtrArray of its keys, owned */
};

static inline struct sqlite_state *
sqlite_state_of(struct state *st)
{
    return (struct sqlite_state *)st;
}

/* The members of state_sqlite_ops (sqlite.c), by file: */
/* sqlite-steps.c */
struct state_step_record *sqlite_step_get(struct state *st, const char *key,
                                          GError **error);
GPtrArray *sqlite_step_list(struct state *st, GError **error);
bool sqlite_step_begin(struct state *st, const char *key, const char *vm,
                       const char *kind, const char *fingerprint,
                       const char *inputs, GError **error);
bool sqlite_step_done(struct state *st, const char *key, const char *outputs,
                      GError **error);
bool sqlite_step_failed(struct state *st, const char *key,
                        const char *message, GError **error);
bool sqlite_step_forget(struct state *st, const char *key, GError **error);
bool sqlite_checkpoint_put(struct state *st, const char *key,
                           uint64_t position, const char *detail,
                           GError **error);
struct state_checkpoint *sqlite_checkpoint_get(struct state *st,
                                               const char *key,
                                               GError **error);
/* sqlite-events.c */
int64_t sqlite_run_begin(struct state *st, const char *command,
                         GError **error);
bool sqlite_run_end(struct state *st, int64_t run_id, const char *status,
                    GError **error);
bool sqlite_event(struct state *st, int64_t run_id, const char *step_key,
                  const char *kind, const char *message, GError **error);
GPtrArray *sqlite_event_list(struct state *st, int64_t run_id,
                             GError **error);
GPtrArray *sqlite_run_list(struct state *st, GError **error);
/* sqlite-lock.c */
bool sqlite_lock(struct state *st, const char *command, GError **error);
void sqlite_unlock(struct state *st);
bool sqlite_step_is_live(struct state *st, const struct state_step_record *r);
bool sqlite_lock_held(struct state *st, char **holder);
/* sqlite-slots.c */
bool sqlite_slot_acquire(struct state *st, const char *holder,
                         const struct state_slot *slots, size_t n,
                         size_t *blocked, GError **error);
bool sqlite_slot_release(struct state *st, const char *holder,
                         GError **error);
unsigned sqlite_slot_count(struct state *st, const char *key);

/* sqlite-check.c */
bool sqlite_check(struct state *st, bool full, GError **error);
bool sqlite_backup(struct state *st, char **where, GError **error);
char *sqlite_store_id(struct state *st, GError **error);
/* The check every open makes (full false) or integrity_check (true), the
 * caller holding the mutex or alone with st. */
bool sqlite_check_store(struct sqlite_state *st, bool full, GError **error);
/* CONVOY_ERROR_STATE_DAMAGED: "state 'PATH' is damaged: WHAT; …how to
 * recover"; returns false. */
bool sqlite_damaged(struct sqlite_state *st, const char *what, GError **error);

/* Hold st's mutex until the end of the enclosing block. */
#define STATE_LOCKED(st)                                                    \
    g_autoptr(GRecMutexLocker) state_locker_ G_GNUC_UNUSED =                \
        g_rec_mutex_locker_new(&(st)->mutex)

/* Fill error from the connection's last error; returns false. */
bool state_db_error(struct sqlite_state *st, GError **error);
/* Run SQL without results. */
bool state_db_exec(struct sqlite_state *st, const char *sql, GError **error);
/* Prepare one statement; NULL on error.  Caller finalizes. */
sqlite3_stmt *state_db_prepare(struct sqlite_state *st, const char *sql,
                               GError **error);
/* The prepared statement for sql, kept for the life of the store (the
 * plan of 10,000 VMs reads a step per key: parsing the SQL every time
 * was a tenth of the plan's time).  Borrowed and reset: hold the mutex
 * while using it, and let state_cached_stmt's cleanup reset it. */
sqlite3_stmt *state_db_cached(struct sqlite_state *st, const char *sql,
                              GError **error);
void state_db_stmt_reset(sqlite3_stmt *stmt);
typedef sqlite3_stmt state_cached_stmt; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(state_cached_stmt, state_db_stmt_reset)
/* Step a statement that returns no rows to completion. */
bool state_db_run(struct sqlite_state *st, sqlite3_stmt *stmt, GError **error);
/* BEGIN IMMEDIATE (refused on a read-only store), COMMIT (rolls back when
 * the commit fails), ROLLBACK (errors ignored). */
bool state_db_begin(struct sqlite_state *st, GError **error);
bool state_db_commit(struct sqlite_state *st, GError **error);
void state_db_rollback(struct sqlite_state *st);
/* A copy of column col of the current row, NULL for SQL NULL. */
char *state_db_column_text(sqlite3_stmt *stmt, int col);
/* Unix seconds now. */
int64_t state_db_now(void);
