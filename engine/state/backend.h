/* The state store's backend interface: what a backend implements
 * (struct state_ops) and the part of struct state every backend shares.
 * Only engine/state/ and backend files include this header; everyone else
 * calls the state_* functions of state/state.h, which dispatch here.
 *
 * Adding a backend: one file (engine/state/NAME.c, in meson.build) that
 * defines const struct state_ops state_NAME_ops; its extern line at the
 * end of this header and its line in backends[] of state.c; a case in
 * tests/state/test-state.c "location".  The contracts of the members are
 * those of the state_* functions they implement (state/state.h); the
 * notes below say what a backend must add.  Every member may be called
 * from several threads at once on one store; a mutation is atomic (all
 * or nothing, also across a crash) and durable when it returns true.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "state/state.h"

/* The part of every open store the generic code owns.  A backend embeds
 * it as the first member of its own struct and casts back. */
struct state {
    const struct state_ops *ops;  /* the backend (borrowed, static) */
    char *location;               /* as given to state_open (owned) */
    char *name;                   /* what messages and state_path show: the
                                   * file path, or a URL without secrets
                                   * (owned) */
    char *owner;                  /* this handle's worker id, "HOST:PID"
                                   * (owned): the owner of the steps it
                                   * begins and of the slots it takes */
    int64_t run_id;               /* the run begun through this handle, 0
                                   * before state_run_begin */
    bool worker;                  /* state_set_worker: lock shared */
};

/* A whole store, for state_copy: arrays of the records of state.h. */
struct state_dump {
    char *store_id;               /* or NULL */
    GPtrArray *runs;              /* struct state_run_record* */
    GPtrArray *steps;             /* struct state_step_record* */
    GPtrArray *checkpoints;       /* struct state_checkpoint* */
    GPtrArray *events;            /* struct state_event_record* */
};

struct state_ops {
    const char *name;             /* "sqlite": the scheme of its locations */
    /* The location names a file (true: "SCHEME:PATH" or a plain path; the
     * manifest resolves PATH relative to itself) or a server (false:
     * "SCHEME://…", kept verbatim). */
    bool file_based;

    /* Open the store at target (the location without "SCHEME:").  Returns
     * a new store whose first member is a zeroed struct state; the generic
     * code fills that in.  read_only: no write ever, and no file created
     * (a missing store reads as empty). */
    struct state *(*open)(const char *target, bool create, bool read_only,
                          GError **error);
    /* Release everything, the lock included; st is never NULL. */
    void (*free)(struct state *st);

    /* Steps and checkpoints.  Every mutation is atomic and durable when it
     * returns true; reads see every mutation that returned.  All members
     * may be called from several threads at once on one store. */
    struct state_step_record *(*step_get)(struct state *st, const char *key,
                                          GError **error);
    GPtrArray *(*step_list)(struct state *st, GError **error);
    /* Also records st->owner and st->run_id as the step's owner and takes
     * its lease; refuses (CONVOY_ERROR_LOCKED) a step live under another
     * owner: begin is a claim. */
    bool (*step_begin)(struct state *st, const char *key, const char *vm,
                       const char *kind, const char *fingerprint,
                       const char *inputs, GError **error);
    bool (*step_done)(struct state *st, const char *key, const char *outputs,
                      GError **error);
    bool (*step_failed)(struct state *st, const char *key,
                        const char *message, GError **error);
    bool (*step_forget)(struct state *st, const char *key, GError **error);
    /* Whether r (running) is being worked on by a live owner now: the
     * owner's lease is held.  Never fails: a backend that cannot tell
     * says live, so a step is never run twice at once. */
    bool (*step_is_live)(struct state *st,
                         const struct state_step_record *r);
    /* Also renews the step's lease where leases expire. */
    bool (*checkpoint_put)(struct state *st, const char *key,
                           uint64_t position, const char *detail,
                           GError **error);
    struct state_checkpoint *(*checkpoint_get)(struct state *st,
                                               const char *key,
                                               GError **error);

    /* Runs and events: append-only, durable when they return. */
    int64_t (*run_begin)(struct state *st, const char *command,
                         GError **error);
    bool (*run_end)(struct state *st, int64_t run_id, const char *status,
                    GError **error);
    bool (*event)(struct state *st, int64_t run_id, const char *step_key,
                  const char *kind, const char *message, GError **error);
    GPtrArray *(*event_list)(struct state *st, int64_t run_id,
                             GError **error);

    /* The apply lock: one holder per store, released if the holder dies;
     * busy: CONVOY_ERROR_LOCKED naming the holder. */
    bool (*lock)(struct state *st, const char *command, GError **error);
    void (*unlock)(struct state *st);

    /* Slots of work in flight (state_slot_acquire): all of slots or none,
     * atomically with respect to every worker on the store; a dead
     * owner's slots are freed (with its lease). */
    bool (*slot_acquire)(struct state *st, const char *holder,
                         const struct state_slot *slots, size_t n,
                         size_t *blocked, GError **error);
    bool (*slot_release)(struct state *st, const char *holder,
                         GError **error);
    unsigned (*slot_count)(struct state *st, const char *key);

    /* Integrity (state_check).  open already refuses a store that is
     * damaged or of a schema it does not know, after a cheap check (every
     * table and column of the schema there, the version known; SQLite
     * also runs PRAGMA quick_check while the file is small); check with
     * full true looks at everything (SQLite: PRAGMA integrity_check).
     * Damage fails with CONVOY_ERROR_STATE_DAMAGED, naming the store,
     * what is wrong and how to recover (restore the backup, or move the
     * store aside); so does any member meeting damage later. */
    bool (*check)(struct state *st, bool full, GError **error);
    /* A consistent copy of the whole store (state_backup), replacing the
     * previous copy atomically: after a crash there is the old copy or
     * the new one, never half of one.  *where (may be NULL) gets a new
     * string naming it for messages.  SQLite: "<path>.bak" through the
     * online backup API, mode 0600, synced before it is renamed into
     * place.  A server backend names its own snapshot or journal. */
    bool (*backup)(struct state *st, char **where, GError **error);
    /* The store's id (state_store_id): random (128 bits or more, as
     * text), made when the store is created and never changed, so that
     * outputs marked with it are known as this store's and no other's.
     * NULL without an error when the store has none (an older schema
     * read as it is). */
    char *(*store_id)(struct state *st, GError **error);
    /* Is the apply lock held now, by a live holder (state_lock_held)?
     * *holder (may be NULL) gets a new string naming it ("HOST:PID
     * COMMAND").  Never fails: says no when it cannot tell. */
    bool (*lock_held)(struct state *st, char **holder);

    /* Every run, oldest first (state_run_list). */
    GPtrArray *(*run_list)(struct state *st, GError **error);
    /* Fill st, which must hold no step, run or event, with d, keeping
     * ids (runs, events) and the store's id, all or nothing (state_copy).
     * NULL: the backend cannot be migrated to. */
    bool (*import)(struct state *st, const struct state_dump *d,
                   GError **error);

    /* Workers (state_vm_claim): NULL for a backend with one apply at a
     * time (the VM is always this apply's). */
    bool (*vm_claim)(struct state *st, const char *vm, bool pin,
                     enum state_claim *out, char **holder, GError **error);
    bool (*vm_release)(struct state *st, const char *vm, GError **error);
    GPtrArray *(*worker_list)(struct state *st, GError **error);

    /* on_failure: stop-wave across workers (state_wave_stop,
     * state_wave_stopped): NULL for a backend with one apply at a time
     * (its scheduler knows the failure). */
    bool (*wave_stop)(struct state *st, const char *wave, const char *vm,
                      GError **error);
    bool (*wave_stopped)(struct state *st, const char *wave, bool *stopped,
                         char **vm, char **worker, GError **error);

    /* The store's clock (state_now), unix µs: the one every worker of a
     * shared store agrees on (PostgreSQL: the database's); SQLite: this
     * machine's (state_local_clock). */
    bool (*now)(struct state *st, gint64 *us, GError **error);
};

/* The backends (one line each; the registry is in state.c). */
extern const struct state_ops state_sqlite_ops;   /* sqlite.c */
extern const struct state_ops state_postgresql_ops; /* pg.c */

/* The backend of location and the target it is opened with (a pointer
 * into location): a plain path is SQLite's.  An unknown scheme fails
 * naming it (CONVOY_ERROR_SQLITE, as every state store failure). */
bool state_backend_for(const char *location, const struct state_ops **ops,
                       const char **target, GError **error);
