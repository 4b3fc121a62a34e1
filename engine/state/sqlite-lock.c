/* The apply lock: flock on "<path>.lock" is the truth (the kernel drops it
 * when the holder dies); the lock_holder row names the holder in the
 * message of whoever finds the lock busy.  The lock is also the lease of
 * the steps its holder runs (sqlite_step_is_live). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "state/sqlite-priv.h"
#include "util/autoptr.h"
#include "util/error.h"

static void
set_locked_error(struct sqlite_state *st, GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = state_db_prepare(
        st, "SELECT pid, host, command, since FROM lock_holder WHERE id = 1",
        NULL);
    if (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_LOCKED,
                    "state '%s' is locked by pid %" G_GINT64_FORMAT " on host '%s' (%s, since %s)",
                    st->path, (gint64)sqlite3_column_int64(stmt, 0),
                    (const char *)sqlite3_column_text(stmt, 1),
                    (const char *)sqlite3_column_text(stmt, 2),
                    (const char *)sqlite3_column_text(stmt, 3));
        return;
    }
    /* The holder has the lock but has not recorded itself yet. */
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_LOCKED,
                "state '%s' is locked by another process", st->path);
}

static bool
write_holder_tx(struct sqlite_state *st, const char *command, GError **error)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *since = g_date_time_format(now, "%Y-%m-%dT%H:%M:%SZ");
    g_autoptr(sqlite3_stmt) stmt = state_db_prepare(
        st,
        "INSERT OR REPLACE INTO lock_holder (id, pid, host, command, since) "
        "VALUES (1, ?1, ?2, ?3, ?4)",
        error);
    if (stmt == NULL)
        return false;
    if (sqlite3_bind_int64(stmt, 1, (sqlite3_int64)getpid()) != SQLITE_OK ||
        sqlite3_bind_text(stmt, 2, g_get_host_name(), -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_text(stmt, 3, command, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_text(stmt, 4, since, -1, SQLITE_TRANSIENT) != SQLITE_OK)
        return state_db_error(st, error);
    return state_db_run(st, stmt, error);
}

bool
sqlite_lock(struct state *base, const char *command, GError **error)
{
    struct sqlite_state *st = sqlite_state_of(base);
    if (st->read_only) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: state '%s' is open read-only", st->path);
        return false;
    }
    if (st->lock_fd >= 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: state '%s' is already locked by this process",
                    st->path);
        return false;
    }

    g_autofree char *lock_path = g_strconcat(st->path, ".lock", NULL);
    /* O_CLOEXEC: children such as qemu-nbd must not keep the lock. */
    int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd == -1) {
        int errsv = errno;
        g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(errsv),
                    "cannot open lock file '%s': %s", lock_path,
                    g_strerror(errsv));
        return false;
    }
    while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
        int errsv = errno;
        if (errsv == EINTR)
            continue;
        close(fd);
        if (errsv == EWOULDBLOCK) {
            set_locked_error(st, error);
        } else {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO,
                        "cannot lock '%s': %s", lock_path, g_strerror(errsv));
        }
        return false;
    }

    /* A row left by a holder that died is simply replaced. */
    if (!state_db_begin(st, error)) {
        close(fd);
        return false;
    }
    if (!write_holder_tx(st, command, error)) {
        state_db_rollback(st);
        close(fd);
        return false;
    }
    if (!state_db_commit(st, error)) {
        close(fd);
        return false;
    }
    st->lock_fd = fd;
    return true;
}

void
sqlite_unlock(struct state *base)
{
    struct sqlite_state *st = sqlite_state_of(base);
    if (st == NULL || st->lock_fd < 0)
        return;
    /* Best effort: a row left behind is harmless, the flock is the truth. */
    g_autoptr(sqlite3_stmt) stmt = state_db_prepare(
        st, "DELETE FROM lock_holder WHERE id = 1 AND pid = ?1", NULL);
    if (stmt != NULL &&
        sqlite3_bind_int64(stmt, 1, (sqlite3_int64)getpid()) == SQLITE_OK)
        state_db_run(st, stmt, NULL);
    close(st->lock_fd);
    st->lock_fd = -1;
}

/* Whether the process of lock holder (host, pid) is alive, as far as this
 * process can tell: on another host it cannot, and says yes. */
static bool
holder_alive(const char *host, int64_t pid)
{
    if (strcmp(host, g_get_host_name()) != 0)
        return true;
    if (pid <= 0 || pid > G_MAXINT)
        return false;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

bool
sqlite_step_is_live(struct state *base, const struct state_step_record *r)
{
    struct sqlite_state *st = sqlite_state_of(base);

    if (r->status != STATE_STEP_RUNNING || r->owner == NULL)
        return false;
    STATE_LOCKED(st);
    /* This backend's lease is the apply lock: a step is live while its
     * owner holds the lock.  This handle knows whether it does; for any
     * other, the flock cannot be asked without taking it, so the holder
     * row names the owner, and a dead holder's row is stale. */
    if (strcmp(r->owner, base->owner) == 0 && st->lock_fd >= 0)
        return true;
    g_autoptr(sqlite3_stmt) stmt = state_db_prepare(
        st, "SELECT pid, host FROM lock_holder WHERE id = 1", NULL);
    if (stmt == NULL)
        return true; /* cannot tell */
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW)
        return rc != SQLITE_DONE; /* no holder: abandoned */
    int64_t pid = sqlite3_column_int64(stmt, 0);
    const char *host = (const char *)sqlite3_column_text(stmt, 1);
    if (host == NULL)
        return true;
    g_autofree char *holder = g_strdup_printf("%s:%" G_GINT64_FORMAT, host,
                                              pid);
    if (strcmp(holder, r->owner) != 0)
        return false;
    return holder_alive(host, pid);
}

bool
sqlite_lock_held(struct state *base, char **holder)
{
    struct sqlite_state *st = sqlite_state_of(base);

    if (st->db == NULL)
        return false;
    STATE_LOCKED(st);
    if (st->lock_fd >= 0)
        return true;
    /* The flock cannot be asked without taking it (which could make an
     * apply starting now fail): the holder row, if its process lives. */
    g_autoptr(sqlite3_stmt) stmt = state_db_prepare(
        st, "SELECT pid, host, command FROM lock_holder WHERE id = 1", NULL);
    if (stmt == NULL || sqlite3_step(stmt) != SQLITE_ROW)
        return false;
    int64_t pid = sqlite3_column_int64(stmt, 0);
    const char *host = (const char *)sqlite3_column_text(stmt, 1);
    const char *command = (const char *)sqlite3_column_text(stmt, 2);
    if (host == NULL || !holder_alive(host, pid))
        return false;
    if (holder != NULL)
        *holder = g_strdup_printf("%s:%" G_GINT64_FORMAT " %s", host, pid,
                                  command != NULL ? command : "");
    return true;
}
