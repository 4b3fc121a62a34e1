/* The SQLite state backend, the embedded default: opening the file
 * (mode 0600, WAL, synchronous=FULL), the versioned schema, the SQL
 * helpers, and its struct state_ops. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state/sqlite-priv.h"
#include "util/autoptr.h"
#include "util/error.h"

#define STATE_SCHEMA_VERSION 3

static const char schema_v1[] =
    "CREATE TABLE IF NOT EXISTS runs ("
    " id INTEGER PRIMARY KEY,"
    " command TEXT NOT NULL,"
    " started INTEGER NOT NULL,"
    " finished INTEGER,"
    " status TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS steps ("
    " key TEXT PRIMARY KEY,"
    " vm TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " fingerprint TEXT NOT NULL,"
    " inputs TEXT,"
    " status TEXT NOT NULL CHECK (status IN ('running', 'failed', 'done')),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " outputs TEXT,"
    " error TEXT,"
    " updated INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS checkpoints ("
    " step_key TEXT PRIMARY KEY REFERENCES steps(key) ON DELETE CASCADE,"
    " position INTEGER NOT NULL,"
    " detail TEXT,"
    " updated INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS events ("
    " id INTEGER PRIMARY KEY,"
    " run_id INTEGER REFERENCES runs(id),"
    " time REAL NOT NULL,"
    " step_key TEXT,"
    " kind TEXT NOT NULL,"
    " message TEXT);"
    "CREATE INDEX IF NOT EXISTS events_run ON events(run_id, id);"
    "CREATE TABLE IF NOT EXISTS lock_holder ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " pid INTEGER NOT NULL,"
    " host TEXT NOT NULL,"
    " command TEXT NOT NULL,"
    " since TEXT NOT NULL);"
    "PRAGMA user_version = 1;";

/* migrations[v] takes a version-v schema to version v + 1, in the
 * transaction that re-read v: a file of any older version opens, and an
 * older convoy then refuses it by its version. */
static const char *const migrations[STATE_SCHEMA_VERSION] = {
    [0] = schema_v1,
    /* 2: a running step's owner (worker "HOST:PID"), the run that began
     * it, and its lease's expiry (unix seconds; NULL while the lease is
     * the store's lock, as in this backend). */
    [1] = "ALTER TABLE steps ADD COLUMN owner TEXT;"
          "ALTER TABLE steps ADD COLUMN run_id INTEGER;"
          "ALTER TABLE steps ADD COLUMN lease_until INTEGER;"
          "PRAGMA user_version = 2;",
    /* 3: the store's id, random, made with the store (or its upgrade)
     * and kept: the owner mark of the targets' outputs. */
    [2] = "CREATE TABLE IF NOT EXISTS meta ("
          " key TEXT PRIMARY KEY,"
          " value TEXT NOT NULL);"
          "INSERT OR IGNORE INTO meta (key, value)"
          " VALUES ('store_id', lower(hex(randomblob(16))));"
          "PRAGMA user_version = 3;",
};

/* ---- SQL helpers ---- */

bool
state_db_error(struct sqlite_state *st, GError **error)
{
    int rc = st->db != NULL ? sqlite3_errcode(st->db) : SQLITE_NOMEM;

    /* A damaged file says so, and how to recover, wherever it is met. */
    if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) {
        g_autofree char *what = g_strdup_printf("sqlite: %s", sqlite3_errmsg(st->db));
        return sqlite_damaged(st, what, error);
    }
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_SQLITE, "sqlite: %s: %s",
                st->path, st->db != NULL ? sqlite3_errmsg(st->db)
                                         : "out of memory");
    return false;
}

bool
state_db_exec(struct sqlite_state *st, const char *sql, GError **error)
{
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return state_db_error(st, error);
    return true;
}

sqlite3_stmt *
state_db_prepare(struct sqlite_state *st, const char *sql, GError **error)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        state_db_error(st, error);
        sqlite3_finalize(stmt);
        return NULL;
    }
    return stmt;
}

sqlite3_stmt *
state_db_cached(struct sqlite_state *st, const char *sql, GError **error)
{
    sqlite3_stmt *stmt = g_hash_table_lookup(st->cached, sql);

    if (stmt != NULL)
        return stmt;
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                           NULL) != SQLITE_OK) {
        state_db_error(st, error);
        sqlite3_finalize(stmt);
        return NULL;
    }
    g_hash_table_insert(st->cached, g_strdup(sql), stmt);
    return stmt;
}

void
state_db_stmt_reset(sqlite3_stmt *stmt)
{
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

bool
state_db_run(struct sqlite_state *st, sqlite3_stmt *stmt, GError **error)
{
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        ;
    if (rc != SQLITE_DONE)
        return state_db_error(st, error);
    return true;
}

bool
state_db_begin(struct sqlite_state *st, GError **error)
{
    if (st->read_only) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: state '%s' is open read-only", st->path);
        return false;
    }
    return state_db_exec(st, "BEGIN IMMEDIATE", error);
}

bool
state_db_commit(struct sqlite_state *st, GError **error)
{
    if (!state_db_exec(st, "COMMIT", error)) {
        state_db_rollback(st);
        return false;
    }
    return true;
}

void
state_db_rollback(struct sqlite_state *st)
{
    if (!sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

char *
state_db_column_text(sqlite3_stmt *stmt, int col)
{
    return g_strdup((const char *)sqlite3_column_text(stmt, col));
}

int64_t
state_db_now(void)
{
    return g_get_real_time() / G_USEC_PER_SEC;
}

static bool
sqlite_now(struct state *st G_GNUC_UNUSED, gint64 *us, GError **error G_GNUC_UNUSED)
{
    *us = state_local_clock();
    return true;
}

/* ---- opening ---- */

static bool
user_version(struct sqlite_state *st, int64_t *out, GError **error)
{
    g_autoptr(sqlite3_stmt) stmt =
        state_db_prepare(st, "PRAGMA user_version", error);
    if (stmt == NULL)
        return false;
    if (sqlite3_step(stmt) != SQLITE_ROW)
        return state_db_error(st, error);
    *out = sqlite3_column_int64(stmt, 0);
    return true;
}

/* A version this convoy does not know: a newer convoy wrote it, or the
 * header is damaged. */
static bool
unknown_version(struct sqlite_state *st, int64_t v, GError **error)
{
    g_autofree char *what = g_strdup_printf(
        "its schema version %" G_GINT64_FORMAT " is unknown (this convoy knows versions 1 to %d; a newer convoy may have written it)",
        v, STATE_SCHEMA_VERSION);
    return sqlite_damaged(st, what, error);
}

/* Does the file hold any table? */
static bool
has_tables(struct sqlite_state *st, bool *any, GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = state_db_prepare(
        st, "SELECT count(*) FROM sqlite_master WHERE type = 'table'", error);
    if (stmt == NULL)
        return false;
    if (sqlite3_step(stmt) != SQLITE_ROW)
        return state_db_error(st, error);
    *any = sqlite3_column_int64(stmt, 0) > 0;
    return true;
}

/* Create the schema when the file is new, bring an older one up to date,
 * refuse newer ones.  A read-only open reads an older file as it is (it
 * writes nothing): the columns it lacks read as NULL. */
static bool
ensure_schema(struct sqlite_state *st, GError **error)
{
    int64_t v = 0;
    if (!user_version(st, &v, error))
        return false;
    if (v < 0 || v > STATE_SCHEMA_VERSION)
        return unknown_version(st, v, error);
    if (v == 0) {
        bool any = false;
        if (!has_tables(st, &any, error))
            return false;
        if (any)
            return sqlite_damaged(st, "its schema version is 0 but it holds tables", error);
    }
    if (v > 0 && v < STATE_SCHEMA_VERSION && st->read_only) {
        st->schema_version = v;
        return true;
    }
    if (v >= 0 && v < STATE_SCHEMA_VERSION) {
        /* Re-read inside the write transaction: another process may have
         * created or upgraded the schema meanwhile. */
        if (!state_db_exec(st, "BEGIN IMMEDIATE", error))
            return false;
        if (!user_version(st, &v, error)) {
            state_db_rollback(st);
            return false;
        }
        for (; v >= 0 && v < STATE_SCHEMA_VERSION; v++) {
            if (sqlite3_exec(st->db, migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
                g_autofree char *what = g_strdup_printf(
                    "its schema does not upgrade from version %" G_GINT64_FORMAT ": sqlite: %s",
                    v, sqlite3_errmsg(st->db));
                state_db_rollback(st);
                return sqlite_damaged(st, what, error);
            }
        }
        if (!state_db_commit(st, error))
            return false;
        if (!user_version(st, &v, error))
            return false;
    }
    if (v != STATE_SCHEMA_VERSION)
        return unknown_version(st, v, error);
    st->schema_version = v;
    return true;
}

static bool
db_connect(struct sqlite_state *st, const char *filename, int flags, GError **error)
{
    if (sqlite3_open_v2(filename, &st->db, flags, NULL) != SQLITE_OK)
        return state_db_error(st, error);
    sqlite3_busy_timeout(st->db, 5000);
    if (!state_db_exec(st, "PRAGMA foreign_keys = ON", error))
        return false;
    if ((flags & SQLITE_OPEN_READONLY) == 0 &&
        !state_db_exec(st, "PRAGMA journal_mode = WAL", error))
        return false;
    return state_db_exec(st, "PRAGMA synchronous = FULL", error);
}

/* Open an existing store for reading.  A SQLITE_OPEN_READONLY connection
 * cannot recover the WAL index that an apply killed with -9 leaves
 * behind ("attempt to write a readonly database"), so it is opened
 * read-write with query_only, which refuses every write but lets SQLite
 * rebuild its index; read-only only when the file is not writable. */
static bool
db_connect_query_only(struct sqlite_state *st, const char *filename, GError **error)
{
    if (access(filename, W_OK) != 0)
        return db_connect(st, filename, SQLITE_OPEN_READONLY, error);
    if (sqlite3_open_v2(filename, &st->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        return state_db_error(st, error);
    sqlite3_busy_timeout(st->db, 5000);
    return state_db_exec(st, "PRAGMA query_only = ON", error) &&
           state_db_exec(st, "PRAGMA foreign_keys = ON", error);
}

/* Create the file (and its directories) with owner-only permissions before
 * SQLite opens it; SQLite gives its -wal and -shm files the same mode. */
static bool
create_file(struct sqlite_state *st, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(st->path);
    if (g_mkdir_with_parents(dir, 0700) == -1) {
        int errsv = errno;
        g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(errsv),
                    "cannot create directory '%s': %s", dir,
                    g_strerror(errsv));
        return false;
    }
    int fd = open(st->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd == -1 && errno != EEXIST) {
        int errsv = errno;
        g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(errsv),
                    "cannot create state '%s': %s", st->path,
                    g_strerror(errsv));
        return false;
    }
    if (fd >= 0) {
        /* The umask may have narrowed 0600 but never widened it. */
        close(fd);
    }
    return true;
}

static void
stmt_finalize(gpointer stmt)
{
    sqlite3_finalize(stmt);
}

/* Free the SQLite part of st (the generic part is the caller's). */
static void
sqlite_free(struct state *base)
{
    struct sqlite_state *st = sqlite_state_of(base);

    if (st->lock_fd >= 0)
        sqlite_unlock(base);
    /* A writer leaves the file in rollback-journal mode when it is done, so
     * that read-only opens (convoy plan, status) never have to create
     * -wal/-shm files next to it: plan changes nothing anywhere.  WAL is
     * switched on again by the next writable open. */
    /* Statements before the connection they belong to. */
    if (st->cached != NULL)
        g_hash_table_unref(st->cached);
    if (st->slot_counts != NULL)
        g_hash_table_unref(st->slot_counts);
    if (st->slot_holders != NULL)
        g_hash_table_unref(st->slot_holders);
    if (st->db != NULL && !st->read_only)
        sqlite3_exec(st->db, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
    if (st->db != NULL)
        sqlite3_close_v2(st->db);
    g_free(st->path);
    g_rec_mutex_clear(&st->mutex);
    g_free(st);
}

typedef struct sqlite_state sqlite_state; /* for g_autoptr() only */
static void
sqlite_state_free(struct sqlite_state *st)
{
    if (st != NULL)
        sqlite_free(&st->base);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sqlite_state, sqlite_state_free)

static struct state *
sqlite_open(const char *path, bool create, bool read_only, GError **error)
{
    g_autoptr(sqlite_state) st = g_new0(struct sqlite_state, 1);
    st->path = g_strdup(path);
    st->read_only = read_only;
    st->lock_fd = -1;
    g_rec_mutex_init(&st->mutex);
    st->cached = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                       stmt_finalize);
    st->slot_counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                            NULL);
    st->slot_holders = g_hash_table_new_full(
        g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);

    bool exists = g_file_test(path, G_FILE_TEST_EXISTS);
    if (read_only) {
        if (exists) {
            if (!db_connect_query_only(st, path, error))
                return NULL;
            int64_t v = 0;
            bool any = false;
            if (!user_version(st, &v, error) || !has_tables(st, &any, error))
                return NULL;
            if (v != 0 || any) {
                if (!ensure_schema(st, error) || !sqlite_check_store(st, false, error))
                    return NULL;
                return &g_steal_pointer(&st)->base;
            }
            /* An empty file (a first open that never got further). */
            sqlite3_close_v2(st->db);
            st->db = NULL;
        }
        /* Nothing on disk: an empty store in memory, so plan can query
         * without creating anything. */
        if (!db_connect(st, ":memory:", SQLITE_OPEN_READWRITE, error) ||
            !ensure_schema(st, error))
            return NULL;
        return &g_steal_pointer(&st)->base;
    }

    if (!exists) {
        if (!create) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                        "state '%s' does not exist", path);
            return NULL;
        }
        if (!create_file(st, error))
            return NULL;
    }
    if (!db_connect(st, path, SQLITE_OPEN_READWRITE, error) ||
        !ensure_schema(st, error) || !sqlite_check_store(st, false, error))
        return NULL;
    return &g_steal_pointer(&st)->base;
}

/* The embedded default backend: "sqlite:PATH", or a plain PATH. */
const struct state_ops state_sqlite_ops = {
    .name = "sqlite",
    .file_based = true,
    .open = sqlite_open,
    .free = sqlite_free,
    .step_get = sqlite_step_get,
    .step_list = sqlite_step_list,
    .step_begin = sqlite_step_begin,
    .step_done = sqlite_step_done,
    .step_failed = sqlite_step_failed,
    .step_forget = sqlite_step_forget,
    .step_is_live = sqlite_step_is_live,
    .checkpoint_put = sqlite_checkpoint_put,
    .checkpoint_get = sqlite_checkpoint_get,
    .run_begin = sqlite_run_begin,
    .run_end = sqlite_run_end,
    .event = sqlite_event,
    .event_list = sqlite_event_list,
    .lock = sqlite_lock,
    .unlock = sqlite_unlock,
    .slot_acquire = sqlite_slot_acquire,
    .slot_release = sqlite_slot_release,
    .slot_count = sqlite_slot_count,
    .check = sqlite_check,
    .store_id = sqlite_store_id,
    .backup = sqlite_backup,
    .lock_held = sqlite_lock_held,
    .run_list = sqlite_run_list,
    .import = NULL,
    .now = sqlite_now,
};
