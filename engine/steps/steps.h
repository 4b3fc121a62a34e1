/* engine/steps: the units of a plan and the step kinds that carry them
 * out, one file per kind behind struct step_ops, and the one registry
 * table that lists them (STYLE.md 5).
 *
 * The planner (plan/) fills the units below -- a VM, its disks, its chain
 * of steps -- and decides each step's action; the executor (exec/) runs
 * them through the ops with a struct step_ctx.  Neither names a kind: what
 * is special about one lives in its ops.
 *
 * A VM's chain, built from the ops' placement data in registry order:
 * [source-shutdown] → disk-copy (one per disk) → [guest-fixup] →
 * domain-convert → domain-define → [domain-start].  A host move (a
 * wave's moves:) is one step: host-migrate.
 *
 * Adding a step kind: one file here with its struct step_ops, one line in
 * registry.c's step_kinds[] (in chain order), and its tests; see
 * docs/architecture.md, "Adding a step kind".
 *
 * Sections: units and registry (registry.c, chain.c) · source-shutdown
 * (source-shutdown.c) · disk-copy (disk-copy.c) · guest-fixup
 * (guest-fixup.c) · domain-convert (domain-convert.c) · domain-define
 * (domain-define.c, domain-xml.c) · domain-start (domain-start.c) ·
 * host-migrate (host-migrate.c).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "manifest/manifest.h"
#include "sources/sources.h"
#include "state/state.h"
#include "targets/targets.h"

struct step_ops;

/* ------------------------------------------------------------------ */
/* The units of a plan (registry.c frees them) */

enum plan_action {
    PLAN_ACTION_DONE,     /* recorded done, same fingerprint, probe agrees */
    PLAN_ACTION_TODO,     /* never done (or failed without a checkpoint) */
    PLAN_ACTION_RESUME,   /* interrupted or failed with a valid checkpoint */
    PLAN_ACTION_REDO,     /* inputs changed, reality drifted, or forced */
    PLAN_ACTION_BLOCKED,  /* cannot run: the VM failed to evaluate */
    PLAN_ACTION_LAST,
};

const char *plan_action_name(enum plan_action a);

/* One disk of a VM on the target. */
struct plan_disk {
    const struct source_disk *sdisk;  /* borrowed from the VM's source_vm */
    char *dev;                        /* KVM device: "vda" */
    char *location;                   /* path on the target */
    const char *pool_key;             /* the pools.map key that placed it,
                                       * borrowed from the manifest; NULL */
};

struct plan_vm {
    const struct manifest_vm *mvm;       /* borrowed */
    const struct manifest_source *msrc;  /* borrowed */
    const struct manifest_target *mtgt;  /* borrowed */
    struct source_vm *sv;                /* owned; NULL if discovery failed */
    struct source *src;                  /* borrowed from the plan */
    struct target *tgt;                  /* borrowed from the plan */
    char *kvm_xml;                       /* converted domain XML, owned */
    char *kvm_xml_sha256;                /* its digest, owned (with kvm_xml) */
    char *source_xml_sha256;             /* sv->domain_xml's, owned */
    char *rules_text;                    /* "name@version:digest" lines */
    GPtrArray *changes;                  /* of struct convert_change*, owned */
    GPtrArray *disks;                    /* of struct plan_disk*, owned */
    GPtrArray *steps;                    /* of struct plan_step*, owned */
    char *error;                         /* evaluation failure, or NULL */
    bool pinned;                         /* shared state: only a worker of
                                          * the host that first takes it
                                          * converts it (step_vm_pinned) */
    /* guest-fixup: the candidate guest rule sets, in order (struct
     * guest_rule_set*, borrowed from the plan); NULL without fixup */
    GPtrArray *guest_sets;
    GPtrArray *guest_names;              /* of char*, owned: guest set
                                          * names met in rules: */
    char *guest_inspect;                 /* plan --inspect: what it found (or
                                          * why not), one line; owned */
    char *guest_inspect_json;            /* the same as a JSON object; owned */
    /* A host move (mvm is then the move's own unit, msrc and sv are NULL,
     * mtgt and tgt the destination): */
    const struct manifest_move *move;    /* borrowed; NULL for a migration */
    struct target *from;                 /* borrowed from the plan */
    bool moved;                          /* the probe found it done */
    char *move_at;                       /* where the probe found it: "on
                                          * kvm1 (shut off)"; owned */
    bool verify;                         /* plan --verify: probes hash
                                          * outputs in full */
};

struct plan_step {
    char *key;                           /* "web1/disk-copy/vda" */
    const struct step_ops *ops;
    struct plan_vm *vm;                  /* borrowed */
    struct plan_disk *disk;              /* borrowed; disk-copy only */
    char *inputs;                        /* canonical inputs text */
    char *fingerprint;                   /* hex SHA-256 */
    enum plan_action action;
    char *reason;                        /* why this action */
    uint64_t resume_from;                /* RESUME: checkpoint position */
    GPtrArray *deps;                     /* of struct plan_step*, borrowed */
    struct state_step_record *rec;       /* owned; NULL if never recorded */
    /* What an earlier attempt of this step made at another place than
     * this one's (its recorded location: a disk_format or a rename
     * changed it), or NULL; set by the diff (ops->old_output). */
    char *old_output;                    /* owned */
    bool old_removed;                    /* apply removes old_output (convoy
                                          * made it there); else it is
                                          * left where it is */
};

void plan_disk_free(gpointer p);
void plan_step_free(gpointer p);
void plan_vm_free(gpointer p);

/* ------------------------------------------------------------------ */
/* What a running step gets from the executor */

/* What the executor tells its caller (the CLI prints; deep code never).
 * Called from worker threads, one call at a time: steps get an observer
 * whose calls the executor serialises. */
struct step_observer {
    void (*step_begin)(void *opaque, const struct plan_step *ps);
    void (*step_progress)(void *opaque, const struct plan_step *ps,
                          uint64_t done, uint64_t total);
    void (*step_end)(void *opaque, const struct plan_step *ps,
                     const GError *error);
    void (*note)(void *opaque, const struct plan_step *ps, const char *msg);
    /* A VM-level message (deferred, hook output, skipped…); may be NULL. */
    void (*vm_note)(void *opaque, const struct plan_vm *v, const char *msg);
    void *opaque;
};

/* Everything a step needs while it runs (one per worker).  A long step
 * polls util/interrupt.h's interrupt_requested() to stop at a consistent
 * point. */
struct step_ctx {
    struct state *st;                 /* shared; the store serialises */
    int64_t run_id;
    const struct step_observer *obs;  /* serialised by the executor */
    uint64_t checkpoint_interval;     /* bytes between disk checkpoints */
};

/* What rollback hands a step kind's undo (one VM, one target). */
struct step_undo_ctx {
    struct state *st;
    int64_t run_id;                   /* the rollback's run, for events */
    struct target *t;                 /* the VM's target, opened */
    const struct manifest_vm *vm;
    bool keep_volumes;                /* --keep-volumes */
    /* One line for the operator ("deleted disk out/web1-vda.raw"). */
    void (*say)(void *opaque, const char *msg);
    void *opaque;
};

/* ------------------------------------------------------------------ */
/* Step kinds */

/* How many steps of a kind a unit gets. */
enum step_scope {
    STEP_SCOPE_VM,      /* one per migrated VM */
    STEP_SCOPE_DISK,    /* one per disk of a migrated VM (key VM/KIND/DEV) */
    STEP_SCOPE_MOVE,    /* one per host move, and nothing else in its chain */
    STEP_SCOPE_LAST,
};

struct step_ops {
    const char *name;         /* "disk-copy" */
    unsigned version;         /* bumped when the kind's behaviour changes;
                               * enters every fingerprint */

    /* -- Its place in a chain (data; chain.c builds chains from it). -- */
    enum step_scope scope;
    /* Kinds this one runs after, NULL-terminated (each must come earlier
     * in step_kinds[]); every step of those kinds that the unit has
     * becomes a dependency.  NULL: none. */
    const char *const *after;
    /* Does the unit get this kind?  NULL: always (within its scope). */
    bool (*wanted)(const struct plan_vm *v);

    /* -- How the executor treats it. -- */
    bool checkpointed;        /* long step that can resume */
    bool retryable;           /* a transient failure is tried again (the
                               * wave's retries:, with backoff) */
    bool modifies_deps;       /* changes its dependencies' outputs in place
                               * (guest-fixup edits the copied disks): an
                               * attempt that did not finish makes the plan
                               * redo them */
    bool observable;          /* reality alone says whether it is done:
                               * the plan probes it even when the state
                               * store never recorded it (host moves) */
    bool completes;           /* done, it makes its unit complete for the
                               * waves that run after its wave (after:) */
    bool windowed;            /* a unit with this step pending starts only
                               * inside its wave's window, within the
                               * wave's limits (warm pre-copy rounds would
                               * not be) */

    /* -- Copy accounting: progress totals, window estimates, reports.
     * NULL for kinds that copy no disk data. -- */
    /* Bytes the step moves in all. */
    uint64_t (*copy_size)(const struct plan_step *ps);
    /* From a done step's outputs: bytes copied and seconds taken (0 when
     * the outputs carry none). */
    void (*copy_measured)(const char *key, const char *outputs, double *bytes,
                          double *seconds);

    /* Expected seconds of one run when the state store has measured none
     * (estimates of kinds that copy nothing, guest-fixup's appliance);
     * 0: quick. */
    unsigned default_seconds;

    /* -- Its work. -- */
    /* Canonical "key=value\n" inputs of the step, sorted, secret-free;
     * returns a new string. */
    char *(*inputs)(const struct plan_step *ps);
    /* The plan line's detail ("Ref:12 1.0 GiB → out/web1-vda.qcow2");
     * returns a new string. */
    char *(*describe)(const struct plan_step *ps);
    /* Does reality still match a done step with these recorded outputs?
     * On false, *why is a new string saying what drifted. */
    bool (*probe)(const struct plan_step *ps, struct target *t,
                  const char *outputs, char **why);
    /* Carry the step out (checkpointing if checkpointed); on success
     * *outputs is a new JSON string (or NULL). */
    bool (*apply)(struct plan_step *ps, struct step_ctx *ctx, char **outputs,
                  GError **error);
    /* convoy rollback: undo on u->t what this recorded step made there
     * (never anything convoy did not make; never the source).  *forget:
     * whether the step's record goes too (so the next apply redoes it).
     * NULL: nothing to undo, and the record is forgotten. */
    bool (*undo)(const struct state_step_record *rec,
                 const struct step_undo_ctx *u, bool *forget, GError **error);
    /* The converted domain XML this step's outputs carry, for reports; a
     * new string or NULL.  NULL member: none. */
    char *(*domain_xml)(const struct state_step_record *rec);
    /* The plan's "replace"/"leave": what the step's record (ps->rec) says
     * an earlier attempt made at another place than ps will use (a new
     * string naming it), or NULL.  *removed: apply removes it (convoy
     * made it, by st); else it is left.  NULL member: never. */
    char *(*old_output)(const struct plan_step *ps, struct state *st,
                        bool *removed);
};

/* All kinds, NULL-terminated, in chain order (registry.c). */
extern const struct step_ops *const step_kinds[];

/* By name; NULL if unknown. */
const struct step_ops *step_ops_find(const char *name);

/* The canonical fingerprint of a step kind over inputs: hex SHA-256 of
 * "kind\nversion=N\n" + inputs.  Returns a new string. */
char *step_fingerprint(const struct step_ops *ops, const char *inputs);

/* A step's key: "VM/KIND" or, with dev, "VM/KIND/DEV".  New string. */
char *step_key(const struct step_ops *ops, const char *vm, const char *dev);

/* Build v->steps from the registry: each kind of the unit's scope that
 * it wants, in registry order, with its dependencies, inputs and
 * fingerprint (chain.c).  A VM with an error gets no steps. */
void step_chain_build(struct plan_vm *v);

/* Is the unit (a VM, or with move a host move's domain) complete: its
 * steps whose kind completes are recorded done? */
bool step_unit_complete(struct state *st, const char *unit, bool move);

/* Is a recorded step of this kind a host move's? */
bool step_kind_is_move(const char *kind);

/* Copy accounting over the registry (NULL-safe for kinds that copy
 * nothing): bytes a planned step moves in all; bytes it still has to
 * move (0 when DONE; less its checkpoint when RESUME); what a done step's
 * outputs say it copied. */
uint64_t step_copy_size(const struct plan_step *ps);
uint64_t step_copy_remaining(const struct plan_step *ps);
/* Bytes a planned step will read from its source: what it has left, and
 * on a resume from a source that cannot seek, the re-read of everything
 * before its checkpoint too (0 when DONE). */
uint64_t step_copy_to_read(const struct plan_step *ps);
void step_copy_measured(const char *kind, const char *key, const char *outputs,
                        double *bytes, double *seconds);

/* Does the VM have a pending step that windows and limits count? */
bool step_vm_windowed(const struct plan_vm *v);

/* Are the VM's outputs local to the host that converts it: a directory
 * target (a local path), or a libvirt target of this host (a URI
 * without a host)?  With workers on several hosts (a shared state), such
 * a VM is pinned to the host that first claims it. */
bool step_vm_pinned(const struct plan_vm *v);

/* convoy rollback of one VM: undo its recorded steps (recs, struct
 * state_step_record*) in reverse chain order, then forget the records
 * their undo lets go. */
bool step_undo_vm(GPtrArray *recs, const struct step_undo_ctx *u,
                  GError **error);
/* An undo's line for the operator, through u->say. */
void step_undo_say(const struct step_undo_ctx *u, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

/* ------------------------------------------------------------------ */
/* The kinds, and what each shares with others */

extern const struct step_ops step_source_shutdown;
extern const struct step_ops step_disk_copy;
extern const struct step_ops step_domain_convert;
extern const struct step_ops step_domain_define;
extern const struct step_ops step_domain_start;
extern const struct step_ops step_guest_fixup;
struct guest_opts;
struct manifest_guest;
/* boot, tcg and timeout of a manifest's guest: settings, as the step uses
 * them (plan --inspect launches its appliance the same way). */
void step_guest_fixup_opts(const struct manifest_guest *g, struct guest_opts *opts);
/* The kernel modules the VM's converted domain (v->kvm_xml) needs in the
 * guest's initrd (convert_domain_guest_drivers), or NULL (then the guest
 * code assumes virtio disks and NICs); new. */
char **step_guest_fixup_drivers(const struct plan_vm *v);

/* domain-xml.c: the domain XML to define — the plan's converted XML plus
 * what the VM's guest-fixup recorded (a direct kernel boot: <kernel>,
 * <initrd>, <cmdline>).  Returns a new string, or NULL with an error. */
char *step_domain_xml(const struct plan_vm *v, struct state *st, GError **error);
extern const struct step_ops step_host_migrate;

/* disk-copy on targets that create disks (libvirt volumes): the step's
 * checkpoint claims the disk as convoy's from just before it is created;
 * a checkpoint with this detail withdraws the claim (the disk was found
 * to be someone else's).  Does this checkpoint (may be NULL) claim it? */
#define STEP_DISK_NOT_OURS "{\"created\":false}"
bool step_disk_claimed(const struct state_checkpoint *ck);
/* Is the disk at location on target t convoy's, by the state store: its
 * disk-copy step (key; rec its row, may be NULL) is done, or its
 * checkpoint claims the disk, and what they recorded names this target
 * and this location (records without them predate the check)? */
bool step_disk_owned(struct state *st, const char *key,
                     const struct state_step_record *rec,
                     const struct target *t, const char *location);

/* The owner mark of a directory target: <path>/.convoy-owner names the
 * state store whose outputs the folder holds (its state_store_id and
 * path).  Other kinds of target: no mark, never a conflict. */
/* Does t hold the outputs of another store than st?  Then *problem is a
 * new string saying whose and what to do. */
bool step_owner_conflict(struct state *st, const struct target *t,
                         char **problem);
/* Mark t as st's before convoy writes there (nothing when it is already
 * st's); CONVOY_ERROR_CONFLICT when it is another store's. */
bool step_owner_mark(struct state *st, const struct target *t,
                     GError **error);

/* Does the domain-define record def place domain name on target t (its
 * recorded location is that name there; a record without one predates the
 * check)?  *uuid: the uuid the define recorded, or NULL; *where: the
 * recorded location, or NULL.  Both new strings; either may be NULL. */
bool step_domain_recorded(const struct state_step_record *def, struct target *t,
                          const char *name, char **uuid, char **where);


