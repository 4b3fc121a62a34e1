/* engine/steps: one file per step kind, all behind struct step_ops, and the
 * one registry table that lists them (STYLE.md 5).
 *
 * A VM's chain: [source-shutdown] → disk-copy (one per disk) →
 * [guest-fixup] → domain-convert → domain-define → [domain-start].  source-shutdown is
 * there only when the VM's source_power is shutdown and its source kind
 * can shut VMs down; domain-start only on targets that run domains, when
 * asked.
 * A host move (a wave's moves:) is one step: host-migrate.
 * Sections: registry (registry.c) · source-shutdown (source-shutdown.c) ·
 * disk-copy (disk-copy.c) · domain-convert (domain-convert.c) ·
 * domain-define (domain-define.c) · domain-start (domain-start.c) ·
 * host-migrate (host-migrate.c).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

struct plan_step;
struct step_ctx;
struct target;

struct step_ops {
    const char *name;         /* "disk-copy" */
    unsigned version;         /* bumped when the kind's behaviour changes;
                               * enters every fingerprint */
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
};

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

struct plan_vm;
struct state;
struct state_step_record;
/* domain-xml.c: the domain XML to define — the plan's converted XML plus
 * what the VM's guest-fixup recorded (a direct kernel boot: <kernel>,
 * <initrd>, <cmdline>).  Returns a new string, or NULL with an error. */
char *step_domain_xml(const struct plan_vm *v, struct state *st, GError **error);
extern const struct step_ops step_host_migrate;

struct state_checkpoint;

/* disk-copy on targets that create disks (libvirt volumes): the step's
 * checkpoint claims the disk as convoy's from just before it is created;
 * a checkpoint with this detail withdraws the claim (the disk was found
 * to be someone else's).  Does this checkpoint (may be NULL) claim it? */
#define STEP_DISK_NOT_OURS "{\"created\":false}"
bool step_disk_claimed(const struct state_checkpoint *ck);
/* Does this disk-copy checkpoint detail (may be NULL) record the upload
 * of a staged image?  Then *uploaded of its *staged bytes are sent. */
bool step_disk_upload_at(const char *detail, uint64_t *uploaded,
                         uint64_t *staged);
/* Is the disk at location on target t convoy's, by the state store: its
 * disk-copy step (key; rec its row, may be NULL) is done, or its
 * checkpoint claims the disk, and what they recorded names this target
 * and this location (records without them predate the check)? */
bool step_disk_owned(struct state *st, const char *key,
                     const struct state_step_record *rec,
                     const struct target *t, const char *location);

/* Does the domain-define record def place domain name on target t (its
 * recorded location is that name there; a record without one predates the
 * check)?  *uuid: the uuid the define recorded, or NULL; *where: the
 * recorded location, or NULL.  Both new strings; either may be NULL. */
bool step_domain_recorded(const struct state_step_record *def, struct target *t,
                          const char *name, char **uuid, char **where);

/* All kinds, NULL-terminated, in chain order. */
extern const struct step_ops *const step_kinds[];

/* By name; NULL if unknown. */
const struct step_ops *step_ops_find(const char *name);
