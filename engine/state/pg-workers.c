/* Workers, leases and slots in PostgreSQL.  state_lock registers this
 * handle as a worker (a row in workers) whose lease a heartbeat thread
 * renews on a connection of its own, by the database's clock; a step is
 * live while its owner's lease runs.  Slots of work in flight are rows,
 * counted under a transaction-scoped advisory lock, so limits hold
 * across every worker on the project; a dead worker's slots lapse with
 * its lease. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "state/pg-priv.h"
#include "util/error.h"

#define OWNER_LIVE(n) \
    "EXISTS (SELECT 1 FROM workers w WHERE w.id = " n \
    " AND w.stopped IS NULL AND w.lease_until > " PG_NOW ")"

/* ---- the apply lock ---- */

/* The project's apply lock: a session advisory lock, dropped by the
 * server when this connection ends (a killed worker's too). */
static bool
take_apply_lock(struct pg_state *st, PGconn *conn, bool *got, GError **error)
{
    struct pg_params p = {0};
    pg_params_text(&p, st->schema);
    /* Workers share it; rollback and migrate hold it alone. */
    PGresult *res = pg_query(st, conn,
                             st->shared_lock
                                 ? "SELECT pg_try_advisory_lock_shared(hashtext('convoy-apply:' || $1))"
                                 : "SELECT pg_try_advisory_lock(hashtext('convoy-apply:' || $1))",
                             &p, error);
    pg_params_release(&p);
    if (res == NULL)
        return false;
    *got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return true;
}

bool
pg_worker_reattach(struct pg_state *st, PGconn *conn, GError **error)
{
    bool got = false;

    if (!st->worker)
        return true;
    if (!take_apply_lock(st, conn, &got, error))
        return false;
    if (!got) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_LOCKED,
                    "state '%s': the apply lock was lost with the connection and another apply took it",
                    st->shown);
        return false;
    }
    return true;
}

static void
set_locked_error(struct pg_state *st, GError **error)
{
    PGresult *res = pg_run(st,
                           "SELECT pid, host, command, to_char(to_timestamp(started) AT TIME ZONE 'UTC', "
                           "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM workers WHERE stopped IS NULL "
                           "AND lease_until > " PG_NOW " ORDER BY started DESC LIMIT 1",
                           NULL, NULL);
    if (res != NULL && PQntuples(res) > 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_LOCKED,
                    "state '%s' is locked by pid %s on host '%s' (%s, since %s)", st->shown,
                    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
                    PQgetvalue(res, 0, 3));
    } else {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_LOCKED,
                    "state '%s' is locked by another process", st->shown);
    }
    PQclear(res);
}

/* ---- the heartbeat ---- */

static bool
renew(struct pg_state *st, PGconn *conn, GError **error)
{
    struct pg_params p = {0};
    pg_params_text(&p, st->base.owner);
    pg_params_int(&p, st->lease);
    PGresult *res = pg_query(st, conn,
                             "UPDATE workers SET heartbeat = " PG_NOW ", lease_until = " PG_NOW
                             " + $2::bigint WHERE id = $1 AND stopped IS NULL",
                             &p, error);
    PQclear(res);
    if (res != NULL) {
        res = pg_query(st, conn,
                       "UPDATE steps SET lease_until = " PG_NOW " + $2::bigint "
                       "WHERE owner = $1 AND status = 'running'",
                       &p, error);
        PQclear(res);
    }
    pg_params_release(&p);
    return res != NULL;
}

static gpointer
heartbeat_main(gpointer data)
{
    struct pg_state *st = data;
    PGconn *conn = pg_connect(st, NULL);
    gint64 period = (gint64)st->lease * G_USEC_PER_SEC / 3;
    gint64 renewed = g_get_monotonic_time();

    g_mutex_lock(&st->hb_lock);
    while (!st->hb_stop) {
        gint64 until = g_get_monotonic_time() + period;
        while (!st->hb_stop && g_cond_wait_until(&st->hb_cond, &st->hb_lock, until))
            ;
        if (st->hb_stop)
            break;
        g_mutex_unlock(&st->hb_lock);
        if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
            PQfinish(conn);
            conn = pg_connect(st, NULL);
        }
        bool ok = conn != NULL && renew(st, conn, NULL);
        if (!ok && conn != NULL && PQstatus(conn) != CONNECTION_OK) {
            PQfinish(conn);
            conn = pg_connect(st, NULL);
            ok = conn != NULL && renew(st, conn, NULL);
        }
        g_mutex_lock(&st->hb_lock);
        if (ok)
            renewed = g_get_monotonic_time();
        else if (g_get_monotonic_time() - renewed >= (gint64)st->lease * G_USEC_PER_SEC)
            st->lease_lost = true;
    }
    g_mutex_unlock(&st->hb_lock);
    PQfinish(conn);
    return NULL;
}

/* ---- workers of this host that died ---- */

/* Is process pid of this host gone?  (Another host's cannot be asked:
 * its lease says.) */
static bool
local_pid_gone(int64_t pid)
{
    if (pid <= 0 || pid > G_MAXINT)
        return true;
    return kill((pid_t)pid, 0) == -1 && errno == ESRCH;
}

/* Workers of this host whose process is gone (killed with SIGKILL, say)
 * hold nothing: end their leases now rather than when they run out.
 * A worker of another host lapses with its lease. */
static bool
reap_local(struct pg_state *st, GError **error)
{
    struct pg_params p = {0};
    pg_params_text(&p, g_get_host_name());
    PGresult *res = pg_run(st,
                           "SELECT id, pid FROM workers WHERE host = $1 AND stopped IS NULL "
                           "AND lease_until > " PG_NOW,
                           &p, error);
    pg_params_release(&p);
    if (res == NULL)
        return false;
    for (int i = 0; i < PQntuples(res); i++) {
        if (!local_pid_gone(pg_int(res, i, 1)) || strcmp(PQgetvalue(res, i, 0), st->base.owner) == 0)
            continue;
        pg_params_text(&p, PQgetvalue(res, i, 0));
        PGresult *u = pg_run(st,
                             "UPDATE workers SET stopped = " PG_NOW ", lease_until = " PG_NOW
                             " WHERE id = $1 AND stopped IS NULL",
                             &p, error);
        pg_params_release(&p);
        if (u == NULL) {
            PQclear(res);
            return false;
        }
        PQclear(u);
    }
    PQclear(res);
    return true;
}

/* ---- lock and unlock ---- */

bool
pg_lock(struct state *base, const char *command, GError **error)
{
    struct pg_state *st = pg_state_of(base);
    bool got = false;

    if (!pg_writable(st, error))
        return false;
    if (st->worker) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: state '%s' is already locked by this process", st->shown);
        return false;
    }
    st->shared_lock = base->worker;
    {
        PG_LOCKED(st);
        if (!take_apply_lock(st, st->conn, &got, error))
            return false;
    }
    if (!got) {
        set_locked_error(st, error);
        return false;
    }
    if (!reap_local(st, error))
        return false;
    struct pg_params p = {0};
    pg_params_text(&p, st->base.owner);
    pg_params_text(&p, g_get_host_name());
    pg_params_int(&p, (int64_t)getpid());
    pg_params_text(&p, command);
    pg_params_int(&p, st->lease);
    PGresult *res = pg_run(st,
                           "INSERT INTO workers (id, host, pid, command, started, heartbeat, lease_until) "
                           "VALUES ($1, $2, $3::bigint, $4, " PG_NOW ", " PG_NOW ", " PG_NOW " + $5::bigint) "
                           "ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, "
                           "command = excluded.command, started = excluded.started, "
                           "heartbeat = excluded.heartbeat, lease_until = excluded.lease_until, "
                           "stopped = NULL",
                           &p, error);
    pg_params_release(&p);
    if (res == NULL) {
        PG_LOCKED(st);
        pg_params_text(&p, st->schema);
        PQclear(pg_query(st, st->conn,
                         st->shared_lock ? "SELECT pg_advisory_unlock_shared(hashtext('convoy-apply:' || $1))"
                                         : "SELECT pg_advisory_unlock(hashtext('convoy-apply:' || $1))",
                         &p, NULL));
        pg_params_release(&p);
        return false;
    }
    PQclear(res);
    st->worker = true;
    st->hb_stop = false;
    st->lease_lost = false;
    st->heartbeat = g_thread_new("convoy-heartbeat", heartbeat_main, st);
    return true;
}

void
pg_unlock(struct state *base)
{
    struct pg_state *st = pg_state_of(base);

    if (st == NULL || !st->worker)
        return;
    g_mutex_lock(&st->hb_lock);
    st->hb_stop = true;
    g_cond_signal(&st->hb_cond);
    g_mutex_unlock(&st->hb_lock);
    g_thread_join(st->heartbeat);
    st->heartbeat = NULL;
    st->worker = false;
    /* Best effort: a worker that cannot say it stopped lapses with its
     * lease, and the server drops the advisory lock with the session. */
    struct pg_params p = {0};
    pg_params_text(&p, st->base.owner);
    PQclear(pg_run(st,
                   "UPDATE workers SET stopped = " PG_NOW ", lease_until = " PG_NOW
                   " WHERE id = $1",
                   &p, NULL));
    PQclear(pg_run(st, "DELETE FROM slots WHERE owner = $1", &p, NULL));
    PQclear(pg_run(st, "UPDATE vm_claims SET owner = NULL WHERE owner = $1", &p, NULL));
    pg_params_release(&p);
    pg_params_text(&p, st->schema);
    PQclear(pg_run(st,
                   st->shared_lock ? "SELECT pg_advisory_unlock_shared(hashtext('convoy-apply:' || $1))"
                                   : "SELECT pg_advisory_unlock(hashtext('convoy-apply:' || $1))",
                   &p, NULL));
    pg_params_release(&p);
}

bool
pg_step_is_live(struct state *base, const struct state_step_record *r)
{
    struct pg_state *st = pg_state_of(base);

    if (r->status != STATE_STEP_RUNNING || r->owner == NULL)
        return false;
    if (strcmp(r->owner, base->owner) == 0 && st->worker && !st->lease_lost)
        return true;
    struct pg_params p = {0};
    pg_params_text(&p, r->owner);
    PGresult *res = pg_run(st,
                           "SELECT " OWNER_LIVE("$1") ", (SELECT host FROM workers WHERE id = $1), "
                           "(SELECT pid FROM workers WHERE id = $1)",
                           &p, NULL);
    pg_params_release(&p);
    if (res == NULL)
        return true; /* cannot tell */
    bool live = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    /* A worker of this host whose process is gone holds nothing. */
    if (live && strcmp(PQgetvalue(res, 0, 1), g_get_host_name()) == 0 &&
        local_pid_gone(pg_int(res, 0, 2)))
        live = false;
    PQclear(res);
    return live;
}

/* ---- slots ---- */

struct acquire_args {
    const char *holder;
    const struct state_slot *slots;
    size_t n;
    size_t *blocked;
};

static bool
acquire_tx(struct pg_state *st, void *data, GError **error)
{
    const struct acquire_args *a = data;
    struct pg_params p = {0};

    pg_params_text(&p, st->schema);
    PGresult *res = pg_query(st, st->conn,
                             "SELECT pg_advisory_xact_lock(hashtext('convoy-slots:' || $1))", &p,
                             error);
    pg_params_release(&p);
    PQclear(res);
    if (res == NULL)
        return false;
    pg_params_text(&p, st->base.owner);
    res = pg_query(st, st->conn,
                   "DELETE FROM slots s WHERE s.owner <> $1 AND NOT " OWNER_LIVE("s.owner"), &p,
                   error);
    pg_params_release(&p);
    PQclear(res);
    if (res == NULL)
        return false;
    pg_params_text(&p, a->holder);
    res = pg_query(st, st->conn, "SELECT 1 FROM slots WHERE holder = $1 LIMIT 1", &p, error);
    pg_params_release(&p);
    if (res == NULL)
        return false;
    bool holds = PQntuples(res) > 0;
    PQclear(res);
    if (holds) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: '%s' already holds slots of state '%s'", a->holder,
                    st->shown);
        return false;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (a->slots[i].limit == 0)
            continue;
        pg_params_text(&p, a->slots[i].key);
        res = pg_query(st, st->conn, "SELECT count(*) FROM slots WHERE key = $1", &p, error);
        pg_params_release(&p);
        if (res == NULL)
            return false;
        int64_t held = pg_int(res, 0, 0);
        PQclear(res);
        if (held >= (int64_t)a->slots[i].limit) {
            *a->blocked = i;
            return true;
        }
    }
    for (size_t i = 0; i < a->n; i++) {
        pg_params_text(&p, a->holder);
        pg_params_text(&p, a->slots[i].key);
        pg_params_text(&p, st->base.owner);
        res = pg_query(st, st->conn,
                       "INSERT INTO slots (holder, key, owner) VALUES ($1, $2, $3) "
                       "ON CONFLICT DO NOTHING",
                       &p, error);
        pg_params_release(&p);
        PQclear(res);
        if (res == NULL)
            return false;
    }
    *a->blocked = a->n;
    return true;
}

bool
pg_slot_acquire(struct state *base, const char *holder,
                const struct state_slot *slots, size_t n, size_t *blocked,
                GError **error)
{
    struct acquire_args a = {holder, slots, n, blocked};
    return pg_tx(pg_state_of(base), acquire_tx, &a, error);
}

bool
pg_slot_release(struct state *base, const char *holder, GError **error)
{
    struct pg_state *st = pg_state_of(base);
    struct pg_params p = {0};

    if (!pg_writable(st, error))
        return false;
    pg_params_text(&p, holder);
    pg_params_text(&p, st->base.owner);
    PGresult *res = pg_run(st, "DELETE FROM slots WHERE holder = $1 AND owner = $2", &p, error);
    pg_params_release(&p);
    if (res == NULL)
        return false;
    int64_t n = pg_changes(res);
    PQclear(res);
    /* A worker whose lease lapsed (the database was away longer than
     * it) may find its slots already given back by another. */
    if (n == 0 && !st->worker) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: '%s' holds no slots of state '%s'", holder, st->shown);
        return false;
    }
    return true;
}

unsigned
pg_slot_count(struct state *base, const char *key)
{
    struct pg_state *st = pg_state_of(base);
    struct pg_params p = {0};

    if (st->empty)
        return 0;
    pg_params_text(&p, key);
    pg_params_text(&p, st->base.owner);
    PGresult *res = pg_run(st,
                           "SELECT count(*) FROM slots s WHERE s.key = $1 AND "
                           "(s.owner = $2 OR " OWNER_LIVE("s.owner") ")",
                           &p, NULL);
    pg_params_release(&p);
    if (res == NULL)
        return 0;
    unsigned n = (unsigned)pg_int(res, 0, 0);
    PQclear(res);
    return n;
}

/* ---- VM claims ---- */

struct claim_args {
    const char *vm;
    bool pin;
    enum state_claim *out;
    char *holder;
    int64_t token;
};

static bool
claim_tx(struct pg_state *st, void *data, GError **error)
{
    struct claim_args *a = data;
    struct pg_params p = {0};

    pg_params_text(&p, a->vm);
    PGresult *res = pg_query(st, st->conn,
                             "INSERT INTO vm_claims (vm) VALUES ($1) ON CONFLICT DO NOTHING", &p,
                             error);
    PQclear(res);
    if (res == NULL) {
        pg_params_release(&p);
        return false;
    }
    /* A row another worker is claiming right now is skipped, not
     * waited for. */
    res = pg_query(st, st->conn,
                   "SELECT c.owner, c.host, " OWNER_LIVE("c.owner") ", w.host, w.pid "
                   "FROM vm_claims c LEFT JOIN workers w ON w.id = c.owner "
                   "WHERE c.vm = $1 FOR UPDATE OF c SKIP LOCKED",
                   &p, error);
    pg_params_release(&p);
    if (res == NULL)
        return false;
    if (PQntuples(res) == 0) {
        PQclear(res);
        *a->out = STATE_CLAIM_HELD;
        a->holder = g_strdup("another worker");
        return true;
    }
    const char *owner = PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0);
    const char *pinned = PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1);
    bool live = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
    if (live && strcmp(PQgetvalue(res, 0, 3), g_get_host_name()) == 0 &&
        local_pid_gone(pg_int(res, 0, 4))) {
        /* Its process is gone: its lease, and so its slots, end now. */
        live = false;
        pg_params_text(&p, owner);
        PGresult *u = pg_query(st, st->conn,
                               "UPDATE workers SET stopped = " PG_NOW ", lease_until = " PG_NOW
                               " WHERE id = $1 AND stopped IS NULL",
                               &p, error);
        pg_params_release(&p);
        if (u == NULL) {
            PQclear(res);
            return false;
        }
        PQclear(u);
    }
    if (owner != NULL && strcmp(owner, st->base.owner) != 0 && live) {
        *a->out = STATE_CLAIM_HELD;
        a->holder = g_strdup(owner);
        PQclear(res);
        return true;
    }
    if (pinned != NULL && strcmp(pinned, g_get_host_name()) != 0) {
        *a->out = STATE_CLAIM_PINNED;
        a->holder = g_strdup(pinned);
        PQclear(res);
        return true;
    }
    PQclear(res);
    pg_params_text(&p, a->vm);
    pg_params_text(&p, st->base.owner);
    pg_params_text(&p, a->pin ? g_get_host_name() : NULL);
    res = pg_query(st, st->conn,
                   "UPDATE vm_claims SET owner = $2, token = token + 1, claimed = " PG_NOW ", "
                   "host = COALESCE(host, $3) WHERE vm = $1 RETURNING token",
                   &p, error);
    pg_params_release(&p);
    if (res == NULL)
        return false;
    a->token = pg_int(res, 0, 0);
    PQclear(res);
    *a->out = STATE_CLAIM_TAKEN;
    return true;
}

bool
pg_vm_claim(struct state *base, const char *vm, bool pin, enum state_claim *out,
            char **holder, GError **error)
{
    struct pg_state *st = pg_state_of(base);
    struct claim_args a = {.vm = vm, .pin = pin, .out = out};

    if (!pg_tx(st, claim_tx, &a, error)) {
        g_free(a.holder);
        return false;
    }
    if (*out == STATE_CLAIM_TAKEN) {
        PG_LOCKED(st);
        g_hash_table_replace(st->tokens, g_strdup(vm), g_memdup2(&a.token, sizeof a.token));
    }
    if (holder != NULL)
        *holder = g_steal_pointer(&a.holder);
    g_free(a.holder);
    return true;
}

bool
pg_vm_release(struct state *base, const char *vm, GError **error)
{
    struct pg_state *st = pg_state_of(base);
    struct pg_params p = {0};
    int64_t token = 0;

    {
        PG_LOCKED(st);
        const gint64 *t = g_hash_table_lookup(st->tokens, vm);
        if (t == NULL)
            return true;
        token = *t;
        g_hash_table_remove(st->tokens, vm);
    }
    pg_params_text(&p, vm);
    pg_params_text(&p, st->base.owner);
    pg_params_int(&p, token);
    PGresult *res = pg_run(st,
                           "UPDATE vm_claims SET owner = NULL WHERE vm = $1 AND owner = $2 "
                           "AND token = $3::bigint",
                           &p, error);
    pg_params_release(&p);
    PQclear(res);
    return res != NULL;
}

GPtrArray *
pg_worker_list(struct state *base, GError **error)
{
    struct pg_state *st = pg_state_of(base);
    g_autoptr(GPtrArray) list =
        g_ptr_array_new_with_free_func((GDestroyNotify)state_worker_record_free);

    if (st->empty)
        return g_steal_pointer(&list);
    PGresult *res = pg_run(st,
                           "SELECT w.id, w.host, w.pid, w.started, " PG_NOW " - w.heartbeat, "
                           "(SELECT count(*) FROM vm_claims c WHERE c.owner = w.id), "
                           "w.stopped IS NULL AND w.lease_until > " PG_NOW " AS live "
                           "FROM workers w ORDER BY live DESC, w.started, w.id",
                           NULL, error);
    if (res == NULL)
        return NULL;
    for (int i = 0; i < PQntuples(res); i++) {
        struct state_worker_record *w = g_new0(struct state_worker_record, 1);
        w->id = pg_text(res, i, 0);
        w->host = pg_text(res, i, 1);
        w->pid = pg_int(res, i, 2);
        w->started = pg_int(res, i, 3);
        w->heartbeat_age = pg_int(res, i, 4);
        w->vms_held = (unsigned)pg_int(res, i, 5);
        w->live = strcmp(PQgetvalue(res, i, 6), "t") == 0;
        /* A worker of this host whose process is gone holds nothing. */
        if (w->live && strcmp(w->host, g_get_host_name()) == 0 && local_pid_gone(w->pid))
            w->live = false;
        if (!w->live)
            w->vms_held = 0;
        g_ptr_array_add(list, w);
    }
    PQclear(res);
    return g_steal_pointer(&list);
}

/* ---- on_failure: stop-wave across workers ---- */

bool
pg_wave_stop(struct state *base, const char *wave, const char *vm,
             GError **error)
{
    struct pg_state *st = pg_state_of(base);
    struct pg_params p = {0};

    if (!pg_writable(st, error))
        return false;
    pg_params_text(&p, wave);
    pg_params_text(&p, vm);
    pg_params_text(&p, st->base.owner);
    /* One statement: the same when done again after a reconnect. */
    PGresult *res = pg_run(st,
                           "INSERT INTO wave_stops (wave, vm, worker, last_run, stopped) "
                           "VALUES ($1, $2, $3, (SELECT coalesce(max(id), 0) FROM runs), " PG_NOW ") "
                           "ON CONFLICT (wave) DO UPDATE SET vm = EXCLUDED.vm, "
                           "worker = EXCLUDED.worker, last_run = EXCLUDED.last_run, "
                           "stopped = EXCLUDED.stopped",
                           &p, error);
    pg_params_release(&p);
    PQclear(res);
    return res != NULL;
}

bool
pg_wave_stopped(struct state *base, const char *wave, bool *stopped,
                char **vm, char **worker, GError **error)
{
    struct pg_state *st = pg_state_of(base);
    struct pg_params p = {0};

    *stopped = false;
    if (st->empty || st->base.run_id <= 0)
        return true;
    pg_params_text(&p, wave);
    pg_params_int(&p, st->base.run_id);
    PGresult *res = pg_run(st,
                           "SELECT vm, worker FROM wave_stops WHERE wave = $1 AND last_run >= $2::bigint",
                           &p, error);
    pg_params_release(&p);
    if (res == NULL)
        return false;
    if (PQntuples(res) > 0) {
        *stopped = true;
        *vm = pg_text(res, 0, 0);
        *worker = pg_text(res, 0, 1);
    }
    PQclear(res);
    return true;
}

bool
pg_now(struct state *base, gint64 *us, GError **error)
{
    struct pg_state *st = pg_state_of(base);

    PGresult *res = pg_run(st, "SELECT (extract(epoch from clock_timestamp()) * 1000000)::bigint",
                           NULL, error);
    if (res == NULL)
        return false;
    *us = pg_int(res, 0, 0);
    PQclear(res);
    return true;
}
