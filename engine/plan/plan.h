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

/* A wave's window when the plan was made (exec_plan_estimate). */
enum plan_window {
    PLAN_WINDOW_UNKNOWN,   /* not looked at */
    PLAN_WINDOW_NONE,      /* the wave has no window */
    PLAN_WINDOW_OPEN,      /* open now (window_when: when it closes) */
    PLAN_WINDOW_CLOSED,    /* closed now: nothing of it will start
                            * (window_when: why, when it opens) */
    PLAN_WINDOW_IGNORED,   /* apply --ignore-window */
    PLAN_WINDOW_LAST,
};

/* A wave of the plan, with what its pending steps will cost.  The plan
 * fills the bytes; exec_plan_estimate() the window and the estimate. */
struct plan_wave {
    const struct manifest_wave *w;       /* borrowed */
    uint64_t bytes;                      /* its pending copies will read
                                          * (step_copy_to_read) */
    unsigned copies;                     /* pending steps that copy */
    unsigned slow_steps;                 /* pending steps that copy nothing
                                          * and take time (default_seconds
                                          * > 0: guest repair) */
    enum plan_window window;
    char *window_when;                   /* OPEN: when it closes (NULL:
                                          * never); CLOSED: why; owned */
    double window_left;                  /* OPEN: seconds until it closes */
    double rate;                         /* bytes/s the estimate assumes;
                                          * 0: no estimate */
    const char *rate_source;             /* "measured", "default" or
                                          * "CONVOY_COPY_RATE" */
    double copy_seconds;                 /* bytes / rate */
    double slow_seconds;                 /* the slow steps' */
    bool slow_measured;                  /* slow_seconds from past runs */
    double seconds;                      /* the whole estimate */
};

struct plan {
    const struct manifest *m;            /* borrowed */
    char *wave;                          /* --wave filter or NULL */
    char *vm;                            /* --vm filter or NULL */
    GPtrArray *waves;                    /* of struct plan_wave*, owned:
                                          * the waves with units in the
                                          * plan, in manifest order */
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
/* The same for one VM (or host move, by its domain) when vm is non-NULL
 * (--vm): CONVOY_ERROR_USAGE when the manifest (or the wave) has no such
 * unit. */
struct plan *plan_evaluate_vm(const struct manifest *m, struct state *st,
                              const char *wave, const char *vm,
                              GError **error);
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

/* summary.c: the converted domain in short (vCPUs, memory, NICs with
 * MAC and network, disks with bus and target, boot order): text lines
 * under indent (a new string; NULL when the VM has no domain XML), or a
 * JSON object (null when none). */
char *plan_domain_summary_text(const struct plan_vm *v, const char *indent);
struct json;
void plan_domain_summary_json(const struct plan_vm *v, struct json *j);

/* "2m05s", "1h02m", "7 s": a duration for people; new string. */
char *plan_duration(double seconds);

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
