/* The PostgreSQL backend's internals shared by pg.c, pg-steps.c and
 * pg-workers.c: its store struct, its state_ops members, and the libpq
 * helpers that wrap every error as "postgresql: NAME: MESSAGE" and carry
 * a statement over a lost connection (the server restarted). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <libpq-fe.h>

#include "state/backend.h"

/* The schema this convoy creates and knows (the schema_version table). */
#define PG_SCHEMA_VERSION 2

struct pg_state {
    struct state base;      /* first: the generic part */
    char *conninfo;         /* the URL handed to libpq: convoy's own
                             * parameters (project, lease) taken out */
    char *shown;            /* the URL for messages, without password */
    char *schema;           /* the project's schema ("convoy") */
    unsigned lease;         /* seconds a worker's lease lasts (60) */
    PGconn *conn;           /* the connection, under mutex */
    bool read_only;         /* opened for plan: every mutation refused */
    bool empty;             /* read-only and the project has no schema
                             * yet: reads see an empty store */
    GRecMutex mutex;        /* serialises conn between the executor's
                             * threads */
    /* A read-only handle reads the steps and checkpoints once (plan asks
     * for every key of a fleet: one round trip each was the plan's time). */
    GHashTable *steps_cache;  /* key → struct state_step_record*, or NULL */
    GHashTable *ckpt_cache;   /* key → struct state_checkpoint* */
    /* The worker (state_lock): its row in workers, renewed by heartbeat. */
    bool worker;
    GThread *heartbeat;
    GMutex hb_lock;
    GCond hb_cond;
    bool hb_stop;
    bool lease_lost;        /* the heartbeat could not renew in time */
    bool shared_lock;       /* the apply lock is held shared (a worker) */
    GHashTable *tokens;     /* VM → its claim's fencing token (gint64*),
                             * under mutex */
};

static inline struct pg_state *
pg_state_of(struct state *st)
{
    return (struct pg_state *)st;
}

/* Hold st's mutex until the end of the enclosing block. */
#define PG_LOCKED(st)                                                       \
    g_autoptr(GRecMutexLocker) pg_locker_ G_GNUC_UNUSED =                   \
        g_rec_mutex_locker_new(&(st)->mutex)

/* Parameters of one statement: text values (NULL is SQL NULL). */
struct pg_params {
    const char *v[16];
    char *owned[16];
    int n;
};
void pg_params_text(struct pg_params *p, const char *s);
void pg_params_int(struct pg_params *p, int64_t i);
void pg_params_release(struct pg_params *p);

/* Fill error (CONVOY_ERROR_SQLITE) from res or the connection; false. */
bool pg_error(struct pg_state *st, PGconn *conn, const PGresult *res,
              GError **error);
/* Run one statement on conn; the result on success (PGRES_COMMAND_OK or
 * PGRES_TUPLES_OK), else NULL with error.  No retry. */
PGresult *pg_query(struct pg_state *st, PGconn *conn, const char *sql,
                   const struct pg_params *p, GError **error);
/* One statement with its own transaction, run again after the connection
 * was lost and made again (pg_reconnect).  Use for reads and for writes
 * that are the same when done twice. */
PGresult *pg_run(struct pg_state *st, const char *sql,
                 const struct pg_params *p, GError **error);
/* fn in a transaction (BEGIN … COMMIT): all or nothing; run again from
 * the start when the connection was lost meanwhile, or the server chose
 * it as a deadlock's or serialisation's victim.  Refused on a read-only
 * store. */
bool pg_tx(struct pg_state *st,
           bool (*fn)(struct pg_state *st, void *data, GError **error),
           void *data, GError **error);
/* Make the connection again after it was lost: tries for up to
 * CONVOY_PG_RECONNECT_SECONDS (default 120) s. */
bool pg_reconnect(struct pg_state *st, PGconn **conn, GError **error);
/* Connect to st's database, the project's schema first on the search
 * path. */
PGconn *pg_connect(struct pg_state *st, GError **error);
/* The number of rows a command changed. */
int64_t pg_changes(const PGresult *res);
/* A copy of a value, NULL for SQL NULL. */
char *pg_text(const PGresult *res, int row, int col);
int64_t pg_int(const PGresult *res, int row, int col);
/* Refuse a mutation of a read-only store. */
bool pg_writable(struct pg_state *st, GError **error);
/* The database's clock, unix seconds, in SQL. */
#define PG_NOW "(floor(extract(epoch from clock_timestamp()))::bigint)"

/* The members of state_postgresql_ops (pg.c), by file: */
/* pg-steps.c */
struct state_step_record *pg_step_get(struct state *st, const char *key,
                                      GError **error);
GPtrArray *pg_step_list(struct state *st, GError **error);
bool pg_step_begin(struct state *st, const char *key, const char *vm,
                   const char *kind, const char *fingerprint,
                   const char *inputs, GError **error);
bool pg_step_done(struct state *st, const char *key, const char *outputs,
                  GError **error);
bool pg_step_failed(struct state *st, const char *key, const char *message,
                    GError **error);
bool pg_step_forget(struct state *st, const char *key, GError **error);
bool pg_checkpoint_put(struct state *st, const char *key, uint64_t position,
                       const char *detail, GError **error);
struct state_checkpoint *pg_checkpoint_get(struct state *st, const char *key,
                                           GError **error);
int64_t pg_run_begin(struct state *st, const char *command, GError **error);
bool pg_run_end(struct state *st, int64_t run_id, const char *status,
                GError **error);
bool pg_event(struct state *st, int64_t run_id, const char *step_key,
              const char *kind, const char *message, GError **error);
GPtrArray *pg_event_list(struct state *st, int64_t run_id, GError **error);
GPtrArray *pg_run_list(struct state *st, GError **error);
bool pg_import(struct state *st, const struct state_dump *d, GError **error);
/* pg-workers.c */
bool pg_lock(struct state *st, const char *command, GError **error);
void pg_unlock(struct state *st);
bool pg_step_is_live(struct state *st, const struct state_step_record *r);
bool pg_slot_acquire(struct state *st, const char *holder,
                     const struct state_slot *slots, size_t n,
                     size_t *blocked, GError **error);
bool pg_slot_release(struct state *st, const char *holder, GError **error);
bool pg_vm_claim(struct state *st, const char *vm, bool pin, enum state_claim *out,
                 char **holder, GError **error);
bool pg_vm_release(struct state *st, const char *vm, GError **error);
GPtrArray *pg_worker_list(struct state *st, GError **error);
bool pg_now(struct state *st, gint64 *us, GError **error);
bool pg_wave_stop(struct state *st, const char *wave, const char *vm,
                  GError **error);
bool pg_wave_stopped(struct state *st, const char *wave, bool *stopped,
                     char **vm, char **worker, GError **error);
unsigned pg_slot_count(struct state *st, const char *key);
/* After a reconnect: take the apply lock again on conn (it went with
 * the old session). */
bool pg_worker_reattach(struct pg_state *st, PGconn *conn, GError **error);
/* pg.c */
bool pg_check(struct state *st, bool full, GError **error);
bool pg_backup(struct state *st, char **where, GError **error);
char *pg_store_id(struct state *st, GError **error);
