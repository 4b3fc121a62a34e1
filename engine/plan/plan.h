/* engine/plan: evaluation of manifests into desired steps with
 * fingerprints, the diff against the state store and a probe of reality,
 * and the rendering of the result as text or JSON.
 *
 * The units it fills (struct plan_vm, plan_disk, plan_step) are
 * steps/steps.h's: the step kinds carry them out.
 *
 * Sections: evaluation (eval.c; a VM's rule sets rules.c, its domain
 * domain.c, target checks target-check.c, host moves move.c, guest
 * inspection inspect.c) · diff (diff.c) · rendering (render.c) · saved
 * plans (saved.c).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "manifest/manifest.h"
#include "sources/sources.h"
#include "state/state.h"
#include "steps/steps.h"
#include "targets/targets.h"

struct plan {
    const struct manifest *m;            /* borrowed */
    char *wave;                          /* --wave filter or NULL */
    char *state_path;
    GPtrArray *vms;                      /* of struct plan_vm*, owned */
    GHashTable *sources;                 /* name → struct source*, owned */
    GHashTable *targets;                 /* name → struct target*, owned */
    GPtrArray *errors;                   /* of char*: VM evaluation errors */
    GPtrArray *warnings;                 /* of char* */
    char *wave_blocked;                  /* --wave: why it cannot run yet */
    bool verified;                       /* plan_verify: outputs read in
                                          * full */
    GHashTable *guest_sets;              /* name → struct guest_rule_set*,
                                          * owned (guest-fixup) */
    GPtrArray *guest_all;                /* every guest set (auto), borrowed
                                          * from guest_sets; NULL: not loaded */
    unsigned counts[PLAN_ACTION_LAST];
};

/* Evaluate the manifest (all waves, or only `wave` and checking that the
 * waves it runs after are complete), discover sources read-only, convert
 * domains, and diff against st (read-only use).  Per-VM failures are kept
 * in plan->errors and the VM's steps are BLOCKED; a NULL return means the
 * plan could not be built at all (bad rules, unknown wave).  Returns a
 * new plan, caller frees. */
/* Load every rule set the manifest's VMs name (rules:, guest: {rules}),
 * domain or guest, as plan would: false with a message per problem (a
 * set not found, or not valid) added to errors.  Reads only rule files. */
bool plan_check_rules(const struct manifest *m, GPtrArray *errors);

struct plan *plan_evaluate(const struct manifest *m, struct state *st,
                           const char *wave, GError **error);
/* plan --verify: diff p against st again, with probes that read the
 * outputs in full (a done disk's whole content against the xxh64 its copy
 * recorded) instead of their sampled identity.  false only on a state
 * store failure. */
bool plan_verify(struct plan *p, struct state *st, GError **error);
void plan_free(struct plan *p);
typedef struct plan plan; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(plan, plan_free)

/* plan --inspect: open the source disks of each VM whose guest-fixup is
 * not done read-only in a libguestfs appliance and keep what it finds in
 * v->guest_inspect (shown by the renderings); failures become warnings.
 * Disks that are not local files are copied to a scratch folder (TMPDIR,
 * removed after) when copy is set, else not inspected.
 * progress (may be NULL) gets each VM's appliance notes.  Returns how
 * many VMs it looked at.  Writes nothing. */
unsigned plan_inspect_guests(struct plan *p, bool copy,
                             void (*progress)(void *opaque, const char *vm, const char *what),
                             void *opaque);

/* true when some step is not DONE. */
bool plan_has_changes(const struct plan *p);

/* Why inputs changed: "disk_format (raw → qcow2), rules"; new string. */
char *plan_inputs_diff(const char *old_inputs, const char *new_inputs);

/* Deterministic renderings; new strings.  Paths under the manifest's base
 * directory are shown relative to it. */
char *plan_render_text(const struct plan *p);
char *plan_render_json(const struct plan *p);
/* The same JSON on one line, without a newline (apply --log-format=json). */
char *plan_render_json_line(const struct plan *p);

/* ------------------------------------------------------------------ */
/* saved.c */

struct jval;

/* A plan saved by `convoy plan -o FILE`. */
struct saved_plan {
    char *path;             /* the file it was read from */
    char *wave;             /* --wave of the plan, or NULL */
    char *state;            /* absolute path of the state store */
    char *state_sha256;     /* digest of the state's steps then */
    bool verify;            /* made by plan --verify: apply verifies too */
    char *model_sha256;     /* digest of the parsed manifests then
                             * (manifest_dump: comments do not count) */
    char **manifests;       /* absolute paths of every manifest file */
    struct jval *plan;      /* the plan JSON (plan_render_json) */
    struct jval *step_inputs; /* step key → its inputs then, or NULL */
};
void saved_plan_free(struct saved_plan *sp);
typedef struct saved_plan saved_plan; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(saved_plan, saved_plan_free)

/* The saved form of p computed against st; a new string. */
char *plan_saved_render(const struct plan *p, struct state *st);
/* Does path look like a saved plan (a JSON object with saved_plan)? */
bool plan_saved_sniff(const char *path);
/* Read a saved plan; CONVOY_ERROR_FORMAT when it is not one,
 * CONVOY_ERROR_STALE_PLAN when its body does not match its body_sha256
 * (it was edited). */
struct saved_plan *saved_plan_load(const char *path, GError **error);
/* Is p (evaluated now from sp's manifests, wave and state) exactly the
 * saved plan?  Otherwise CONVOY_ERROR_STALE_PLAN listing what moved, or
 * saying it was already applied (every step it had to do is recorded
 * done with its fingerprint). */
bool saved_plan_check(const struct saved_plan *sp, const struct plan *p,
                      struct state *st, GError **error);
