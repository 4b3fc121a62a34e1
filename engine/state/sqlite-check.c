/* The SQLite store's integrity and backup: the check every open makes
 * (the schema's tables and columns, PRAGMA quick_check while the file is
 * small), the full PRAGMA integrity_check of `convoy state check`, and
 * the copy of the store an apply takes first (<path>.bak, through the
 * online backup API, replaced atomically, mode 0600). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state/sqlite-priv.h"
#include "util/autoptr.h"
#include "util/error.h"

/* quick_check reads every page, about 1.5 ms per MiB (measured: a store
 * of 60,000 steps and 120,000 events, 74 MB, 18,118 pages, took 109 ms;
 * integrity_check 131 ms).  Below this many pages (64 MiB of 4 KiB pages,
 * ~100 ms, about a 10,000-VM fleet) every open makes it; above, only
 * `convoy state check`. */
#define QUICK_CHECK_MAX_PAGES 16384

/* The tables and columns of the current schema (version 2). */
static const char *const schema_tables[][13] = {
    {"runs", "id", "command", "started", "finished", "status", NULL},
    {"steps", "key", "vm", "kind", "fingerprint", "inputs", "status",
     "attempts", "outputs", "error", "updated", "owner", NULL},
    {"checkpoints", "step_key", "position", "detail", "updated", NULL},
    {"events", "id", "run_id", "time", "step_key", "kind", "message", NULL},
    {"lock_holder", "id", "pid", "host", "command", "since", NULL},
    {"meta", "key", "value", NULL},
};

bool
sqlite_damaged(struct sqlite_state *st, const char *what, GError **error)
{
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_STATE_DAMAGED,
                "state '%s' is damaged: %s; restore the copy taken before the last apply with 'cp %s.bak %s' (if it is there), or move '%s' aside to start with an empty store, and run 'convoy plan' to see what is left to do",
                st->path, what, st->path, st->path, st->path);
    return false;
}

/* Are the schema's tables there with their columns? */
static bool
check_schema(struct sqlite_state *st, GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = state_db_prepare(
        st, "SELECT name FROM pragma_table_info(?1)", error);
    if (stmt == NULL)
        return state_db_error(st, error);
    for (size_t t = 0; t < G_N_ELEMENTS(schema_tables); t++) {
        const char *table = schema_tables[t][0];
        g_autoptr(GHashTable) cols = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        int rc;

        sqlite3_reset(stmt);
        if (sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC) != SQLITE_OK)
            return state_db_error(st, error);
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
            g_hash_table_add(cols, g_strdup((const char *)sqlite3_column_text(stmt, 0)));
        if (rc != SQLITE_DONE)
            return state_db_error(st, error);
        /* An older schema read as it is (read-only) lacks newer tables. */
        if (strcmp(table, "meta") == 0 && st->schema_version < 3)
            continue;
        if (g_hash_table_size(cols) == 0) {
            g_autofree char *what = g_strdup_printf("the table '%s' is missing", table);
            return sqlite_damaged(st, what, error);
        }
        /* And the newer columns: only those of its version are required. */
        for (size_t c = 1; schema_tables[t][c] != NULL; c++) {
            if (strcmp(table, "steps") == 0 && strcmp(schema_tables[t][c], "owner") == 0 &&
                st->schema_version < 2)
                continue;
            if (!g_hash_table_contains(cols, schema_tables[t][c])) {
                g_autofree char *what = g_strdup_printf("the table '%s' has no column '%s'",
                                                        table, schema_tables[t][c]);
                return sqlite_damaged(st, what, error);
            }
        }
    }
    return true;
}

static bool
pragma_int(struct sqlite_state *st, const char *sql, int64_t *out, GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = state_db_prepare(st, sql, error);
    if (stmt == NULL || sqlite3_step(stmt) != SQLITE_ROW)
        return state_db_error(st, error);
    *out = sqlite3_column_int64(stmt, 0);
    return true;
}

/* PRAGMA quick_check or integrity_check: "ok", or the first problems. */
static bool
check_pages(struct sqlite_state *st, bool full, GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = state_db_prepare(
        st, full ? "PRAGMA integrity_check(5)" : "PRAGMA quick_check(5)", error);
    g_autoptr(GString) problems = g_string_new(NULL);
    int rc;

    if (stmt == NULL)
        return state_db_error(st, error);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *row = (const char *)sqlite3_column_text(stmt, 0);
        if (row == NULL || strcmp(row, "ok") == 0)
            continue;
        /* One line: SQLite puts several problems in a row, one a line. */
        g_auto(GStrv) lines = g_strsplit(row, "\n", -1);
        for (size_t i = 0; lines[i] != NULL; i++) {
            if (lines[i][0] == '\0' || g_str_has_prefix(lines[i], "*** in database"))
                continue;
            g_string_append_printf(problems, "%s%s", problems->len > 0 ? "; " : "", lines[i]);
        }
    }
    if (rc != SQLITE_DONE)
        return state_db_error(st, error);
    if (problems->len > 0) {
        g_autofree char *what = g_strdup_printf("sqlite: %s: %s",
                                                full ? "integrity_check" : "quick_check",
                                                problems->str);
        return sqlite_damaged(st, what, error);
    }
    return true;
}

bool
sqlite_check_store(struct sqlite_state *st, bool full, GError **error)
{
    int64_t pages = 0;

    if (!check_schema(st, error))
        return false;
    if (!full && (!pragma_int(st, "PRAGMA page_count", &pages, error) ||
                  pages > QUICK_CHECK_MAX_PAGES))
        return error == NULL || *error == NULL;
    return check_pages(st, full, error);
}

bool
sqlite_check(struct state *base, bool full, GError **error)
{
    struct sqlite_state *st = sqlite_state_of(base);
    STATE_LOCKED(st);

    return sqlite_check_store(st, full, error);
}

static bool
io_error(const char *what, const char *path, int errsv, GError **error)
{
    g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(errsv),
                "cannot %s '%s': %s", what, path, g_strerror(errsv));
    return false;
}

bool
sqlite_backup(struct state *base, char **where, GError **error)
{
    struct sqlite_state *st = sqlite_state_of(base);
    STATE_LOCKED(st);
    g_autofree char *bak = g_strconcat(st->path, ".bak", NULL);
    g_autofree char *tmp = g_strconcat(st->path, ".bak.tmp", NULL);
    g_autoptr(sqlite3) copy = NULL;

    if (unlink(tmp) == -1 && errno != ENOENT)
        return io_error("remove", tmp, errno, error);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd == -1)
        return io_error("create", tmp, errno, error);
    close(fd);
    if (sqlite3_open_v2(tmp, &copy, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_SQLITE, "sqlite: %s: %s", tmp,
                    copy != NULL ? sqlite3_errmsg(copy) : "out of memory");
        unlink(tmp);
        return false;
    }
    sqlite3_exec(copy, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
    sqlite3_backup *b = sqlite3_backup_init(copy, "main", st->db, "main");
    int rc = SQLITE_ERROR;
    if (b != NULL) {
        while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_OK ||
               rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            g_usleep(10000);
        sqlite3_backup_finish(b);
    }
    if (rc != SQLITE_DONE) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_SQLITE,
                    "sqlite: %s: cannot back up to '%s': %s", st->path, tmp,
                    sqlite3_errmsg(copy));
        g_clear_pointer(&copy, convoy_sqlite3_close);
        unlink(tmp);
        return false;
    }
    /* The copy is a plain rollback-journal file, complete on disk before
     * it replaces the previous one. */
    sqlite3_exec(copy, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
    g_clear_pointer(&copy, convoy_sqlite3_close);
    fd = open(tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1 || fsync(fd) == -1) {
        int errsv = errno;
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        return io_error("write", tmp, errsv, error);
    }
    close(fd);
    if (rename(tmp, bak) == -1) {
        int errsv = errno;
        unlink(tmp);
        return io_error("replace", bak, errsv, error);
    }
    g_autofree char *dir = g_path_get_dirname(st->path);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    if (where != NULL)
        *where = g_steal_pointer(&bak);
    return true;
}

char *
sqlite_store_id(struct state *base, GError **error)
{
    struct sqlite_state *st = sqlite_state_of(base);
    STATE_LOCKED(st);

    if (st->schema_version < 3)
        return NULL;
    g_autoptr(sqlite3_stmt) stmt = state_db_prepare(
        st, "SELECT value FROM meta WHERE key = 'store_id'", error);
    if (stmt == NULL)
        return NULL;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        return state_db_column_text(stmt, 0);
    if (rc != SQLITE_DONE)
        state_db_error(st, error);
    return NULL;
}
