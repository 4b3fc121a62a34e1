/* engine/state: the state store — steps, checkpoints, runs, events, the
 * apply lock, step owners and leases, slots of work in flight.  An
 * interface (struct state_ops, state/backend.h) with backends chosen by
 * the location's scheme; SQLite is the embedded default (a plain path or
 * "sqlite:PATH": WAL journal, synchronous=FULL, file mode 0600).  Secrets
 * never enter it: callers store only canonical inputs without secrets.
 *
 * The protocol: take the lock (state_lock) and begin a run; per step,
 * state_step_begin (owner and lease recorded, a claim), checkpoints
 * (state_checkpoint_put, after the data they cover is durable), then
 * state_step_done or state_step_failed.  A running step whose owner's
 * lease is gone (state_step_is_live false) was abandoned and is resumed.
 * The scheduler takes and gives back slots (state_slot_acquire) for its
 * limits.  Every mutation is atomic and durable when it returns; every
 * function may be called from several threads on one store.
 *
 * A damaged store, or one of a schema this convoy does not know, is refused
 * at open (CONVOY_ERROR_STATE_DAMAGED, with how to recover): plan and
 * apply never read a half store as "nothing done".  apply backs the store
 * up (state_backup) before it changes anything.
 *
 * Files: front and backend registry (state.c) · SQLite: store and schema
 * (sqlite.c), integrity and backup (sqlite-check.c), steps and checkpoints (sqlite-steps.c), runs and events
 * (sqlite-events.c), lock and leases (sqlite-lock.c), slots
 * (sqlite-slots.c) · PostgreSQL ("postgresql://…", several workers):
 * connection, schema, backup (pg.c), steps, checkpoints, runs, events,
 * import (pg-steps.c), workers, leases, claims, slots (pg-workers.c).
 * Adding a backend: state/backend.h.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

enum state_step_status {
    STATE_STEP_NONE,        /* never recorded */
    STATE_STEP_RUNNING,     /* begun and not finished: live while its owner
                             * holds the lease (state_step_is_live), else
                             * abandoned (interrupted or killed) */
    STATE_STEP_FAILED,
    STATE_STEP_DONE,
    STATE_STEP_LAST,
};

const char *state_step_status_name(enum state_step_status s);

/* One row of the steps table.  Strings owned; free with
 * state_step_record_free(). */
struct state_step_record {
    char *key;              /* "web1/disk-copy/vda" */
    char *vm;               /* "web1" */
    char *kind;             /* "disk-copy" */
    char *fingerprint;      /* hex SHA-256 of the inputs */
    char *inputs;           /* canonical inputs text (for "why redo") */
    enum state_step_status status;
    unsigned attempts;
    char *outputs;          /* JSON text or NULL */
    char *error;            /* last error message or NULL */
    int64_t updated;        /* unix seconds */
    char *owner;            /* who began it last: "HOST:PID", or NULL
                             * (recorded before owners were) */
    int64_t run_id;         /* the run that began it, 0 if none */
    int64_t lease_until;    /* unix seconds the owner's lease runs to; 0:
                             * as long as the owner holds the store's lock
                             * (SQLite) */
};
void state_step_record_free(struct state_step_record *r);
typedef struct state_step_record state_step_record; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(state_step_record, state_step_record_free)

/* A checkpoint of a long step: how far it got, plus step-specific detail. */
struct state_checkpoint {
    char *step_key;
    uint64_t position;
    char *detail;           /* JSON text or NULL */
};
void state_checkpoint_free(struct state_checkpoint *c);
typedef struct state_checkpoint state_checkpoint; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(state_checkpoint, state_checkpoint_free)

struct state;

/* Open the store at location (creating it, with mode 0600 and parent
 * directories, when create is true).  location is a plain path or
 * "sqlite:PATH" (the embedded SQLite backend), or "SCHEME:…" of another
 * backend of this build; an unknown scheme fails naming it.  read_only
 * opens without creating or writing (plan uses it; a missing store then
 * reads as empty).  Returns a new store; free with state_free(). */
struct state *state_open(const char *location, bool create, bool read_only,
                         GError **error);
void state_free(struct state *st);
typedef struct state state; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(state, state_free)
/* The store's name for messages: the file path of a file store, a URL
 * without password otherwise.  Borrowed from st. */
const char *state_path(struct state *st);
/* This handle's worker id, "HOST:PID": the owner it records on the steps
 * it begins.  Borrowed from st. */
const char *state_owner(struct state *st);

/* Steps.  get returns NULL (no error) when the key has no row. */
struct state_step_record *state_step_get(struct state *st, const char *key,
                                         GError **error);
/* All step rows, ordered by key: GPtrArray of struct state_step_record*. */
GPtrArray *state_step_list(struct state *st, GError **error);
/* Mark a step running with this fingerprint and inputs (attempts += 1),
 * owned by this handle (state_owner, and the run of state_run_begin) under
 * a lease.  A changed fingerprint drops the step's checkpoint.  A step
 * live under another owner is refused (CONVOY_ERROR_LOCKED). */
bool state_step_begin(struct state *st, const char *key, const char *vm,
                      const char *kind, const char *fingerprint,
                      const char *inputs, GError **error);
/* Commit done with outputs (may be NULL); drops the checkpoint. */
bool state_step_done(struct state *st, const char *key, const char *outputs,
                     GError **error);
/* Commit failed with a message; keeps the checkpoint. */
bool state_step_failed(struct state *st, const char *key, const char *message,
                       GError **error);
/* on_failure: stop-wave across workers.  state_wave_stop records that
 * wave is stopped because vm failed on this handle's worker; every worker
 * asks state_wave_stopped before it claims or starts a VM of the wave:
 * *stopped is true (*vm and *worker, new strings, say which VM failed
 * where) when a stop was recorded while this handle's run was under way
 * (a later run starts the wave afresh).  A backend with one apply at a
 * time records nothing and answers false. */
bool state_wave_stop(struct state *st, const char *wave, const char *vm,
                     GError **error);
bool state_wave_stopped(struct state *st, const char *wave, bool *stopped,
                        char **vm, char **worker, GError **error);
/* This machine's wall clock, unix µs.  CONVOY_TEST_CLOCK_OFFSET
 * (seconds, may be negative) skews it, for tests of a worker whose clock
 * is wrong. */
gint64 state_local_clock(void);
/* The store's clock, unix µs: what windows are checked against, so that
 * every worker of a shared store sees the same time (PostgreSQL: the
 * database's clock; SQLite: state_local_clock). */
bool state_now(struct state *st, gint64 *us, GError **error);
/* Whether r is running and live: its owner holds its lease now (SQLite:
 * the owner holds the apply lock).  A running step that is not live was
 * abandoned, by a signal or a crash, and may be resumed.  Never fails;
 * when the store cannot tell, live. */
bool state_step_is_live(struct state *st, const struct state_step_record *r);
/* Forget a step (and its checkpoint) entirely. */
bool state_step_forget(struct state *st, const char *key, GError **error);

/* Checkpoints: one per step, replaced atomically.  get returns NULL (no
 * error) when there is none. */
bool state_checkpoint_put(struct state *st, const char *key,
                          uint64_t position, const char *detail,
                          GError **error);
struct state_checkpoint *state_checkpoint_get(struct state *st,
                                              const char *key, GError **error);

/* Runs and events: an append-only log.  run_begin returns the new run's
 * id (> 0), or -1 on error. */
int64_t state_run_begin(struct state *st, const char *command, GError **error);
bool state_run_end(struct state *st, int64_t run_id, const char *status,
                   GError **error);
bool state_event(struct state *st, int64_t run_id, const char *step_key,
                 const char *kind, const char *message, GError **error);

/* One row of the events table.  Strings owned; free with
 * state_event_record_free(). */
struct state_event_record {
    int64_t id;
    int64_t run_id;         /* 0 when the event belongs to no run */
    double time;            /* unix seconds */
    char *step_key;         /* or NULL */
    char *kind;
    char *message;          /* or NULL */
};
void state_event_record_free(struct state_event_record *e);
typedef struct state_event_record state_event_record; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(state_event_record, state_event_record_free)
/* Events of run run_id (all runs when run_id <= 0), oldest first:
 * GPtrArray of struct state_event_record*. */
GPtrArray *state_event_list(struct state *st, int64_t run_id,
                            GError **error);

/* The apply lock: at most one holder per state file.  Uses an OS-level
 * lock on "<path>.lock" (released by the kernel if the holder dies) and
 * records the holder (pid, host, command, since) for the message.  A busy
 * lock fails at once with CONVOY_ERROR_LOCKED naming the holder. */
bool state_lock(struct state *st, const char *command, GError **error);
void state_unlock(struct state *st);
/* Does a live apply hold the lock now (status --watch)?  *holder (may be
 * NULL): a new string naming it.  Read-only; false when it cannot tell. */
bool state_lock_held(struct state *st, char **holder);

/* Slots of work in flight, for limits: a holder (a VM) takes one slot of
 * each key it counts against ("wave:W", "source-host:H", …), at most
 * limit holders per key (0: no limit).  With many workers on one store
 * the counting must be the store's, so the scheduler asks it. */
struct state_slot {
    const char *key;        /* borrowed */
    unsigned limit;
};
/* Take one slot of every key of slots[0..n) for holder, all or none:
 * *blocked gets n when taken, else the index of the first key at its
 * limit (nothing taken).  false only on a store error, or when holder
 * already holds slots. */
bool state_slot_acquire(struct state *st, const char *holder,
                        const struct state_slot *slots, size_t n,
                        size_t *blocked, GError **error);
/* Give back every slot holder took. */
bool state_slot_release(struct state *st, const char *holder,
                        GError **error);
/* How many holders hold a slot of key now. */
unsigned state_slot_count(struct state *st, const char *key);

/* Is the store whole?  state_open already made the cheap check; full
 * looks at every page (SQLite: PRAGMA integrity_check).  Damage:
 * CONVOY_ERROR_STATE_DAMAGED naming the store, what is wrong and how to
 * recover. */
bool state_check(struct state *st, bool full, GError **error);
/* Copy the whole store aside, replacing the previous copy atomically
 * (SQLite: "<path>.bak", mode 0600), so a store damaged later can be
 * restored.  *where (may be NULL) gets its name, a new string. */
bool state_backup(struct state *st, char **where, GError **error);
/* The store's id: random, made with the store and kept in it, the owner
 * mark of what it creates on targets (a directory target's .convoy-owner).
 * A new string; NULL with no error when the store has none (an older
 * store read-only; a missing store read-only has a fresh one). */
char *state_store_id(struct state *st, GError **error);

/* One row of the runs table.  Strings owned; free with
 * state_run_record_free(). */
struct state_run_record {
    int64_t id;
    char *command;
    int64_t started;        /* unix seconds */
    int64_t finished;       /* 0 while running (or interrupted hard) */
    char *status;
};
void state_run_record_free(struct state_run_record *r);
/* Every run, oldest first: GPtrArray of struct state_run_record*. */
GPtrArray *state_run_list(struct state *st, GError **error);

/* What state_copy carried. */
struct state_copy_counts {
    unsigned runs, steps, checkpoints, events;
};
/* Copy everything of from (runs, steps with their owners, checkpoints,
 * events, the store's id) into to, which must be empty, in one
 * transaction: `convoy state migrate`.  to's backend must be able to
 * import (PostgreSQL); an empty-store refusal and a backend that cannot
 * import fail with CONVOY_ERROR_SQLITE, naming to. */
bool state_copy(struct state *from, struct state *to,
                struct state_copy_counts *counts, GError **error);

/* ---- workers (a store several applies share: PostgreSQL) ---- */

/* Make this handle a worker of its own id (default "HOST:PID"), before
 * state_lock: an apply names itself with --worker-id. */
void state_set_owner(struct state *st, const char *owner);
/* Whether several applies may run at once on this store, each a worker
 * claiming whole VMs (PostgreSQL); false for SQLite, whose apply lock
 * admits one.  state_lock then takes the lock shared when worker is
 * true: workers run side by side, while rollback and migrate (worker
 * false) wait for none to run. */
bool state_shared(struct state *st);
void state_set_worker(struct state *st, bool worker);

enum state_claim {
    STATE_CLAIM_TAKEN,      /* this worker holds the VM now */
    STATE_CLAIM_HELD,       /* another live worker holds it */
    STATE_CLAIM_PINNED,     /* its files are local to another host */
    STATE_CLAIM_LAST,
};
/* Claim VM vm for this worker (SELECT … FOR UPDATE SKIP LOCKED): free,
 * or its holder's lease ran out.  Each claim has a new fencing token,
 * and every checkpoint and finish of the VM's steps is written only
 * under it.  pin: the VM's files are local to the host that first
 * claims it, and only workers of that host take it (over).  *holder
 * (may be NULL) gets who holds it or the host it is pinned to.  A store
 * that is not shared: always taken. */
bool state_vm_claim(struct state *st, const char *vm, bool pin,
                    enum state_claim *out, char **holder, GError **error);
/* Give vm back (its work done or not started). */
bool state_vm_release(struct state *st, const char *vm, GError **error);

/* One worker of a shared store (state_worker_list).  Strings owned. */
struct state_worker_record {
    char *id;               /* --worker-id, or "HOST:PID" */
    char *host;
    int64_t pid;
    int64_t started;        /* unix seconds, the database's clock */
    int64_t heartbeat_age;  /* seconds since its last heartbeat */
    unsigned vms_held;      /* VMs it holds now */
    bool live;              /* its lease runs (else stopped or lapsed) */
};
void state_worker_record_free(struct state_worker_record *w);
/* The workers of a shared store, live ones first, then by start: an
 * empty array for a store that has none (SQLite). */
GPtrArray *state_worker_list(struct state *st, GError **error);
