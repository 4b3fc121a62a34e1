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

/* rules.c: the directories searched for rule sets of one kind ("domain"
 * or "guest"), most specific first; new NULL-terminated. */
char **plan_rules_dirs(const struct manifest *m, const char *kind);
/* rules.c: the domain rule sets (into sets, cached in ev) and the guest
 * rule set names (into guest) that mvm's rules: name. */
bool plan_vm_rule_sets(struct plan *p, struct plan_eval *ev,
                       const struct manifest_vm *mvm, GPtrArray *sets,
                       GPtrArray *guest, GError **error);
/* rules.c: v->guest_sets, the guest rule sets guest-fixup tries (NULL
 * without guest repair). */
bool plan_vm_guest_sets(struct plan *p, struct plan_eval *ev, struct plan_vm *v,
                        GError **error);
/* rules.c: guest: {fixup: auto} once the source described the VM: no
 * repair for a domain that is not from Xen, nor (with a warning added to
 * warnings) on a target whose disks are out of reach; a guest whose OS
 * hint no guest rule set handles is an error that says what to do. */
bool plan_vm_guest_auto(struct plan_vm *v, GPtrArray *warnings, GError **error);

/* domain.c: convert v's domain XML with sets, place its disks and map its
 * networks (v->kvm_xml, v->disks, v->changes…). */
bool plan_eval_domain(struct plan_vm *v, GPtrArray *sets, GPtrArray *warnings,
                      GError **error);

/* target-check.c: the plan's (cached) connection to a target. */
struct target *plan_get_target(struct plan *p, const struct manifest_target *mt,
                               GError **error);
/* target-check.c: the target's read-only check of v: problems block it
 * (*error), notes become plan warnings. */
void plan_check_target(struct plan *p, struct plan_eval *ev, struct plan_vm *v,
                       GError **error);
/* target-check.c: v's disks must not land where another VM's do. */
void plan_claim_locations(struct plan_eval *ev, const struct plan_vm *v,
                          GError **error);
/* target-check.c: after a whole plan, warn of pools.map entries that
 * placed no disk. */
void plan_warn_unused_pool_keys(struct plan *p, struct plan_eval *ev);

/* move.c: evaluate a host move into v (v->move set): probe both hosts,
 * then its one host-migrate step (v->error when it cannot run). */
void plan_eval_move(struct plan *p, struct plan_vm *v);

/* eval.c: (re)make p->waves from the diffed steps: each wave of the plan
 * with the bytes and steps it has pending. */
void plan_collect_waves(struct plan *p);
