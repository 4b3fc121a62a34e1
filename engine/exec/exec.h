/* engine/exec: executing a plan — waves in order, VMs of a wave in
 * parallel within max_parallel and the wave's limits, maintenance windows,
 * hooks, retries and checkpoints.
 *
 * Sections: scheduler (exec.c) · one VM's job: hooks, steps, retries
 * (job.c) · windows and duration estimates (window.c) · hooks (hooks.c).
 * Stop requests (SIGINT/SIGTERM) are util/interrupt.h.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "plan/plan.h"
#include "state/state.h"
#include "steps/steps.h"
#include "util/interrupt.h"

struct exec_options {
    bool ignore_window;   /* start VMs whatever the windows say */
    GDateTime *now;       /* the run's start on the wall clock (borrowed);
                           * NULL: now.  CONVOY_NOW overrides in the CLI */
    /* Called on the scheduler's thread after each wave in which at least
     * one VM started, once its workers have finished (may be NULL). */
    void (*wave_done)(void *opaque, const struct manifest_wave *w);
    void *wave_opaque;
    unsigned max_vms;     /* this worker's own cap on VMs at once (one
                           * conversion host's link and disks); 0: none */
};

struct exec_result {
    unsigned done;                    /* steps carried out now */
    unsigned failed;                  /* steps that failed */
    unsigned skipped;                 /* not run: a dependency failed, a
                                       * pre-hook failed, or stop-wave */
    unsigned vms_started;
    unsigned vms_deferred;            /* would not fit the window */
    unsigned vms_outside_window;      /* their wave's window is closed */
    unsigned vms_blocked;             /* an 'after' wave did not complete */
    unsigned max_in_flight;           /* most VMs running at once */
    bool interrupted;
};

/* Default checkpoint interval (64 MiB); CONVOY_CHECKPOINT_INTERVAL (bytes)
 * overrides it, capped at 256 MiB. */
uint64_t exec_checkpoint_interval(void);

/* Carry out every non-DONE step of p: waves in manifest order but
 * each after the waves its 'after' names (skipped, counted in vms_blocked,
 * when one of those did not complete), each wave's VMs
 * on up to max_parallel workers within its limits and window.  A failed
 * step is recorded failed, its dependents are skipped, other VMs continue
 * (unless the wave says on_failure: stop-wave).  Returns false only when
 * the run could not go on (interrupted: CONVOY_ERROR_INTERRUPTED; state
 * store failure); failures of steps are counted in *res. */
bool exec_apply(struct plan *p, struct state *st, const char *command,
                const struct step_observer *obs,
                const struct exec_options *opts, struct exec_result *res,
                GError **error);

/* ------------------------------------------------------------------ */
/* window.c */

/* Is t (unix µs) inside w's window?  On true, *end_us is when it closes
 * (G_MAXINT64 when it never does); on false, *why says why (a new
 * string: "opens at …", "closed at …"). */
bool exec_window_check(const struct manifest_wave *w, gint64 t_us,
                       gint64 *end_us, char **why);
/* Bytes and seconds of the earlier copies the state store recorded (its
 * done disk-copy steps); both 0 when there are none. */
void exec_measured_copies(struct state *st, double *bytes, double *seconds);
/* Bytes the VM still has to copy (its pending disk-copy steps, less
 * their checkpoints). */
uint64_t exec_vm_remaining_bytes(const struct plan_vm *v);

/* The rates estimates use (plan's per-wave estimate, apply's ETA): */
#define EXEC_DEFAULT_COPY_RATE (100.0 * 1024 * 1024)  /* bytes/s */
struct exec_rates {
    double copy_rate;         /* bytes/s: CONVOY_COPY_RATE, else what the
                               * store's done copies measured, else
                               * EXEC_DEFAULT_COPY_RATE */
    const char *copy_source;  /* "CONVOY_COPY_RATE", "measured" or
                               * "default" */
    GHashTable *step_seconds; /* kind name → double*: average seconds of
                               * the done steps of kinds that copy nothing
                               * and have default_seconds (guest-fixup),
                               * from the event log; owned */
};
/* Read the rates from st (read only). */
void exec_rates_init(struct exec_rates *r, struct state *st);
void exec_rates_release(struct exec_rates *r);
/* Expected seconds of one pending step: its copy at the copy rate (bytes
 * step_copy_to_read), plus for a kind with default_seconds its measured
 * average, else that default.  *measured (may be NULL): the kind's
 * figure came from past runs. */
double exec_rates_step_seconds(const struct exec_rates *r,
                               const struct plan_step *s, bool *measured);
/* Fill each p->waves entry's window (at now; ignore_window: IGNORED for
 * a wave that has one) and its estimate: bytes at the copy rate, plus
 * the slow steps (guest repair). */
void exec_plan_estimate(struct plan *p, struct state *st, GDateTime *now,
                        bool ignore_window);

/* ------------------------------------------------------------------ */
/* hooks.c */

/* Run a hook command with /bin/sh -c, the VM's facts in CONVOY_*
 * environment variables (what = "pre" or "post"; status is the VM's
 * outcome for post hooks, else NULL), killed after timeout seconds.  The
 * hook never sees convoy's secrets: every variable named by a source's
 * password_env in m (may be NULL), and every CONVOY_* variable whose name
 * holds PASSWORD, TOKEN or SECRET, is removed from its environment.  The
 * combined output (at most 64 KiB) goes to *output (new string).  false
 * with an error naming the hook when it cannot run, fails or times out. */
bool exec_run_hook(const struct plan_vm *v, const struct manifest *m,
                   const char *what,
                   const char *command, unsigned timeout, const char *status,
                   char **output, GError **error);
