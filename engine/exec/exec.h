/* engine/exec: executing a plan — order, checkpoints, signals, progress.
 * Sequential today; the step context is per step so parallel workers can
 * come without a rewrite.
 *
 * Sections: executor (exec.c) · signals (signals.c).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "plan/plan.h"
#include "state/state.h"

/* What the executor tells its caller (the CLI prints; deep code never). */
struct exec_observer {
    void (*step_begin)(void *opaque, const struct plan_step *ps);
    void (*step_progress)(void *opaque, const struct plan_step *ps,
                          uint64_t done, uint64_t total);
    void (*step_end)(void *opaque, const struct plan_step *ps,
                     const GError *error);
    void (*note)(void *opaque, const struct plan_step *ps, const char *msg);
    void *opaque;
};

/* Everything a step needs while it runs. */
struct step_ctx {
    struct state *st;
    int64_t run_id;
    struct plan *plan;
    const struct exec_observer *obs;
    uint64_t checkpoint_interval;     /* bytes between disk checkpoints */
};

struct exec_result {
    unsigned done;                    /* steps carried out now */
    unsigned failed;
    unsigned skipped;                 /* not run: a dependency failed */
    bool interrupted;
};

/* Default checkpoint interval (64 MiB); CONVOY_CHECKPOINT_INTERVAL (bytes)
 * overrides it, capped at 256 MiB. */
uint64_t exec_checkpoint_interval(void);

/* Carry out every non-DONE step of p in order.  A failed step is recorded
 * failed, its dependents are skipped, other VMs continue.  Returns false
 * only when the run could not go on (interrupted: CONVOY_ERROR_INTERRUPTED;
 * state store failure); failures of steps are counted in *res. */
bool exec_apply(struct plan *p, struct state *st, const char *command,
                const struct exec_observer *obs, struct exec_result *res,
                GError **error);

/* SIGINT/SIGTERM set a flag the copy loops poll (a second one exits at
 * once). */
void exec_signals_install(void);
bool exec_interrupted(void);
/* Fail with CONVOY_ERROR_INTERRUPTED if a signal arrived. */
bool exec_check_interrupt(GError **error);
