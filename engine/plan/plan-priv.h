/* Internals shared by the plan's source files. */
#pragma once

#include <glib.h>

#include "plan/plan.h"

/* Evaluation caches. */
struct plan_eval {
    GHashTable *rule_sets;    /* name → struct rule_set*, owned */
    GHashTable *warned;       /* names already warned about */
    char **domain_dirs;       /* rules search path for domain rule sets */
    char **guest_dirs;
    struct state *st;         /* borrowed, read-only use: who made what */
    GHashTable *locations;    /* "TARGET\nLOCATION" → vm name: the disks
                               * planned so far (borrowed strings) */
    GHashTable *pool_keys;    /* "TARGET\nKEY": pools.map keys that placed
                               * a disk, owned */
    GHashTable *failed_targets; /* targets with a VM that failed to
                                 * evaluate (borrowed names) */
};

/* diff.c: set every step's action and reason from st and a probe of the
 * target; updates p->counts.  false only on a state store failure. */
bool plan_diff(struct plan *p, struct state *st, GError **error);

/* eval.c: the plan's (cached) connection to a target. */
struct target *plan_get_target(struct plan *p, const struct manifest_target *mt,
                               GError **error);

/* move.c: evaluate a host move into v (v->move set): probe both hosts,
 * then its one host-migrate step (v->error when it cannot run). */
void plan_eval_move(struct plan *p, struct plan_vm *v);
