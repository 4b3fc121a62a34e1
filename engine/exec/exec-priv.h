/* engine/exec internals shared by exec.c (the scheduler) and job.c (one
 * VM's work on a worker thread). */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "exec/exec.h"

enum job_state {
    JOB_STATE_WAITING,
    JOB_STATE_RUNNING,
    JOB_STATE_FINISHED,       /* ran: see the counters */
    JOB_STATE_DEFERRED,       /* would not fit the window */
    JOB_STATE_NOT_STARTED,    /* stop-wave, interruption, closed window */
    JOB_STATE_LAST,
};

struct exec_run;

/* One VM of the plan with work to do. */
struct job {
    struct plan_vm *v;        /* borrowed */
    struct exec_run *run;     /* borrowed */
    enum job_state state;
    GPtrArray *keys;          /* limit keys, of char*: "source-host:H",
                               * "target-host:H", "pool:T/P" per pool */
    GThread *thread;
    /* Results, written by the worker, read after it signalled: */
    unsigned done, failed, skipped;
    uint64_t copied_bytes;    /* disk copies finished now */
    double copy_seconds;
    GError *fatal;            /* interrupted, or the state store failed */
    /* A store shared by workers (state_shared): */
    bool claimed;             /* this worker holds the VM (state_vm_claim) */
    bool elsewhere;           /* another worker holds it, or its host */
};

/* The run, shared by the scheduler and its workers. */
struct exec_run {
    const struct manifest *m;     /* borrowed: for the hooks' scrubbed
                                   * environment */
    struct state *st;
    int64_t run_id;
    const struct step_observer *user_obs;
    struct step_observer obs;     /* serialising wrapper handed to steps */
    GMutex obs_lock;
    GMutex lock;                  /* guards the fields below and jobs */
    GCond changed;                /* a worker finished */
    unsigned running;             /* workers started and not collected;
                                   * the limits count in the state store
                                   * (state_slot_acquire) */
    double measured_bytes;        /* throughput of copies, for estimates */
    double measured_seconds;
    uint64_t checkpoint_interval;
    int64_t started;              /* unix seconds: steps that failed under
                                   * another worker since count as this
                                   * run's failures, not redone */
};

/* The worker's body: hooks, steps in chain order with retries. */
gpointer job_run(gpointer job);
