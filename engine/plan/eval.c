/* Plan evaluation: manifest + sources (read-only discovery) + rules →
 * each VM's desired steps, with canonical inputs and fingerprints.  This
 * file runs the phases (below, at struct eval_job) and the plan's
 * lifecycle; the rule sets of a VM are rules.c, its domain conversion
 * domain.c, the target checks target-check.c, host moves move.c, and the
 * chain of steps comes from the step kinds (steps/chain.c). */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <libxml/parser.h>

#include "convert/convert.h"
#include "guest/guest.h"
#include "plan/plan.h"
#include "plan/plan-priv.h"
#include "util/error.h"

void
plan_free(struct plan *p)
{
    if (p == NULL)
        return;
    if (p->vms != NULL)
        g_ptr_array_unref(p->vms);
    if (p->sources != NULL)
        g_hash_table_unref(p->sources);
    if (p->targets != NULL)
        g_hash_table_unref(p->targets);
    if (p->errors != NULL)
        g_ptr_array_unref(p->errors);
    if (p->warnings != NULL)
        g_ptr_array_unref(p->warnings);
    g_free(p->wave);
    g_free(p->vm);
    if (p->waves != NULL)
        g_ptr_array_unref(p->waves);
    g_free(p->state_path);
    g_free(p->wave_blocked);
    if (p->guest_all != NULL)
        g_ptr_array_unref(p->guest_all);
    if (p->guest_sets != NULL)
        g_hash_table_unref(p->guest_sets);
    g_free(p);
}

bool
plan_has_changes(const struct plan *p)
{
    for (int a = 0; a < PLAN_ACTION_LAST; a++) {
        if (a != PLAN_ACTION_DONE && p->counts[a] > 0)
            return true;
    }
    return false;
}

static struct source *
get_source(struct plan *p, const struct manifest_source *ms, GPtrArray *warnings,
           GError **error)
{
    struct source *s = g_hash_table_lookup(p->sources, ms->name);

    if (s == NULL) {
        s = source_open(ms, error);
        if (s == NULL)
            return NULL;
        g_hash_table_insert(p->sources, g_strdup(ms->name), s);
        if (s->note != NULL)
            g_ptr_array_add(warnings, g_strdup_printf("source '%s': %s", ms->name, s->note));
        if (ms->insecure)
            g_ptr_array_add(warnings,
                            g_strdup_printf("source '%s': insecure: true — TLS certificates are not verified; anyone on the path can read or change what is copied",
                                            ms->name));
        if (ms->url != NULL && g_ascii_strncasecmp(ms->url, "http://", 7) == 0 &&
            (ms->password_file != NULL || ms->password_env != NULL || ms->token_file != NULL))
            g_ptr_array_add(warnings,
                            g_strdup_printf("source '%s': url is plain http:// — the %s and the disks cross the network unencrypted; use https://",
                                            ms->name, ms->token_file != NULL ? "token" : "password"));
    }
    return s;
}

/* One item of the plan while it is evaluated: a VM (or a host move, move
 * set), and what each phase found.  Phase 1 (serial, in order) opens its
 * source and target and loads its rule sets; phase 2 reads the source and
 * converts the domain, on a thread pool for VMs whose source can be read
 * concurrently (xva files); phase 3 (serial, in order) turns the results
 * into warnings, errors, target checks and steps, exactly as one pass in
 * order would, so the output does not depend on the threads. */
struct eval_job {
    struct plan_vm *v;
    GPtrArray *sets;          /* struct rule_set*, borrowed from ev */
    GPtrArray *guest;         /* guest rule set names, borrowed */
    GPtrArray *warnings;      /* of char*, owned: phase 1's */
    GError *rules_error;      /* loading the rule sets failed */
    GError *err;              /* opening, describing or converting failed */
    bool parallel;            /* phase 2 on the pool */
    bool built;               /* phase 2 made its steps already */
};

static void
eval_job_free(gpointer p)
{
    struct eval_job *j = p;

    g_ptr_array_unref(j->sets);
    g_ptr_array_unref(j->guest);
    g_ptr_array_unref(j->warnings);
    g_clear_error(&j->rules_error);
    g_clear_error(&j->err);
    g_free(j);
}

static void
eval_open(struct plan *p, struct plan_eval *ev, struct eval_job *j)
{
    struct plan_vm *v = j->v;

    v->msrc = manifest_find_source(p->m, v->mvm->source);
    v->mtgt = manifest_find_target(p->m, v->mvm->target);
    v->src = get_source(p, v->msrc, j->warnings, &j->err);
    if (v->src != NULL)
        v->tgt = plan_get_target(p, v->mtgt, &j->err);
    if (v->tgt != NULL)
        plan_vm_rule_sets(p, ev, v->mvm, j->sets, j->guest, &j->rules_error);
    /* Guest rule sets load here, serially: phase 2 only reads them. */
    if (v->tgt != NULL && j->guest->len > 0) {
        v->guest_names = g_ptr_array_new_with_free_func(g_free);
        for (guint i = 0; i < j->guest->len; i++)
            g_ptr_array_add(v->guest_names, g_strdup(j->guest->pdata[i]));
    }
    if (v->tgt != NULL && j->rules_error == NULL)
        plan_vm_guest_sets(p, ev, v, &j->rules_error);
    j->parallel = v->tgt != NULL &&
                  (source_caps(v->src) & SOURCE_CAP_PARALLEL_DESCRIBE) != 0;
}

static void
eval_read(struct eval_job *j)
{
    struct plan_vm *v = j->v;

    if (v->tgt == NULL || j->err != NULL)
        return;
    v->sv = v->src->ops->describe(v->src, v->mvm, &j->err);
    if (v->sv != NULL && j->rules_error == NULL)
        plan_vm_guest_auto(v, j->warnings, &j->err);
    if (v->sv != NULL && j->rules_error == NULL && j->err == NULL)
        plan_eval_domain(v, j->sets, j->warnings, &j->err);
    /* The steps, their inputs and fingerprints depend only on the VM (the
     * target check can still block it in phase 3, which drops them). */
    if (j->err == NULL && v->kvm_xml != NULL) {
        step_chain_build(v);
        j->built = true;
    }
}

static void
eval_read_pooled(gpointer data, gpointer user_data)
{
    eval_read(data);
}

static void
eval_finish(struct plan *p, struct plan_eval *ev, struct eval_job *j,
            GError **fatal)
{
    struct plan_vm *v = j->v;

    if (!j->parallel)
        eval_read(j);
    for (guint i = 0; i < j->warnings->len; i++)
        g_ptr_array_add(p->warnings, g_strdup(j->warnings->pdata[i]));
    /* A source that exports only halted VMs: say so before apply fails. */
    if (v->sv != NULL && v->sv->powered_on &&
        v->mvm->source_power == MANIFEST_SOURCE_POWER_LEAVE &&
        (source_caps(v->src) & SOURCE_CAP_EXPORTS_HALTED_ONLY) != 0)
        g_ptr_array_add(p->warnings,
                        g_strdup_printf("vm '%s' is running and source_power is leave: its disks cannot be exported until it is shut down",
                                        v->mvm->name));
    for (guint i = 0; v->sv != NULL && v->sv->warnings != NULL &&
                      i < v->sv->warnings->len; i++)
        g_ptr_array_add(p->warnings, g_strdup_printf("vm '%s': %s", v->mvm->name,
                                                     (const char *)v->sv->warnings->pdata[i]));
    if (v->sv != NULL) {
        /* A guest rule set in rules: joins guest: {rules}. */
        for (guint i = 0; i < j->guest->len && !v->mvm->guest.fixup; i++) {
            const char *name = j->guest->pdata[i];
            if (g_hash_table_contains(ev->warned, name))
                continue;
            g_ptr_array_add(p->warnings,
                            g_strdup_printf("guest rule set '%s' is not applied: in-guest repair is off (set guest: {fixup: true})",
                                            name));
            g_hash_table_add(ev->warned, g_strdup(name));
        }
        if (j->rules_error != NULL)
            j->err = g_steal_pointer(&j->rules_error);
        if (g_error_matches(j->err, CONVOY_ERROR, CONVOY_ERROR_INVALID)) {
            g_propagate_error(fatal, g_steal_pointer(&j->err));
            return;
        }
    }
    if (j->err == NULL && v->guest_sets != NULL && v->tgt->ops->disks_local != NULL &&
        !v->tgt->ops->disks_local(v->tgt))
        g_set_error(&j->err, CONVOY_ERROR, CONVOY_ERROR_CONFLICT,
                    "guest-fixup needs the target's disks on this machine, but target '%s' keeps them out of reach (a remote libvirt connection or upload: stream); run convoy on the KVM host, or set guest: {fixup: false}",
                    v->mtgt->name);
    if (j->err == NULL && v->kvm_xml != NULL)
        plan_claim_locations(ev, v, &j->err);
    if (j->err == NULL && v->kvm_xml != NULL)
        plan_check_target(p, ev, v, &j->err);
    if (j->err == NULL && v->disks != NULL) {
        for (guint i = 0; i < v->disks->len; i++) {
            const struct plan_disk *pd = v->disks->pdata[i];
            if (pd->pool_key != NULL)
                g_hash_table_add(ev->pool_keys, g_strdup_printf("%s\n%s", v->mtgt->name,
                                                               pd->pool_key));
        }
    }
    if (j->err != NULL && v->mtgt != NULL)
        g_hash_table_add(ev->failed_targets, v->mtgt->name);
    if (j->err != NULL) {
        v->error = g_strdup(j->err->message);
        g_ptr_array_add(p->errors, g_strdup_printf("vm '%s': %s", v->mvm->name,
                                                   j->err->message));
    }
    if (j->built && v->error != NULL)
        g_clear_pointer(&v->steps, g_ptr_array_unref);
    if (!j->built || v->error != NULL)
        step_chain_build(v);
}

/* Threads for phase 2: CONVOY_PLAN_THREADS, else one per CPU (at most
 * 8); 1 evaluates everything in one pass. */
static unsigned
eval_threads(void)
{
    const char *env = g_getenv("CONVOY_PLAN_THREADS");
    guint64 n = 0;

    if (env != NULL && g_ascii_string_to_unsigned(env, 10, 1, 64, &n, NULL))
        return (unsigned)n;
    return MIN(g_get_num_processors(), 8);
}

/* Phase 2 for every pooled job.  With too few of them to be worth
 * threads, or when no thread can be started, they run in phase 3. */
static void
eval_pool(GPtrArray *jobs)
{
    unsigned n = eval_threads();
    unsigned pooled = 0;
    g_autoptr(GError) err = NULL;
    GThreadPool *pool;

    for (guint i = 0; i < jobs->len; i++) {
        struct eval_job *j = jobs->pdata[i];
        if (j->parallel)
            pooled++;
    }
    if (n <= 1 || pooled < 2 * n) {
        for (guint i = 0; i < jobs->len; i++)
            ((struct eval_job *)jobs->pdata[i])->parallel = false;
        return;
    }
    pool = g_thread_pool_new(eval_read_pooled, NULL, (gint)n, TRUE, &err);
    if (pool == NULL) {
        for (guint i = 0; i < jobs->len; i++)
            ((struct eval_job *)jobs->pdata[i])->parallel = false;
        return;
    }
    for (guint i = 0; i < jobs->len; i++) {
        struct eval_job *j = jobs->pdata[i];
        if (j->parallel)
            g_thread_pool_push(pool, j, NULL);
    }
    /* Waits for every pushed job. */
    g_thread_pool_free(pool, FALSE, TRUE);
}

/* For --wave: the waves it runs after must be complete (every VM's last
 * step recorded done). */
static char *
check_after(const struct manifest *m, const struct manifest_wave *w,
            struct state *st)
{
    for (guint i = 0; i < w->after->len; i++) {
        const struct manifest_wave *a = manifest_find_wave(m, w->after->pdata[i]);
        unsigned left = 0;

        if (a == NULL)
            continue;
        for (guint k = 0; k < a->vms->len; k++) {
            const struct manifest_vm *vm = a->vms->pdata[k];
            if (!step_unit_complete(st, vm->name, false))
                left++;
        }
        for (guint k = 0; k < a->moves->len; k++) {
            const struct manifest_move *mv = a->moves->pdata[k];
            if (!step_unit_complete(st, mv->domain, true))
                left++;
        }
        if (left > 0)
            return g_strdup_printf("wave '%s' runs after wave '%s', which is not complete (%u VM%s left); apply '%s' first",
                                   w->name, a->name, left, left == 1 ? "" : "s",
                                   a->name);
    }
    return NULL;
}

static void
plan_wave_free(gpointer p)
{
    struct plan_wave *pw = p;

    g_free(pw->window_when);
    g_free(pw);
}

void
plan_collect_waves(struct plan *p)
{
    struct plan_wave *pw = NULL;

    if (p->waves != NULL)
        g_ptr_array_unref(p->waves);
    p->waves = g_ptr_array_new_with_free_func(plan_wave_free);
    for (guint i = 0; i < p->vms->len; i++) {
        const struct plan_vm *v = p->vms->pdata[i];

        if (pw == NULL || pw->w != v->mvm->wave) {
            pw = g_new0(struct plan_wave, 1);
            pw->w = v->mvm->wave;
            g_ptr_array_add(p->waves, pw);
        }
        for (guint k = 0; v->steps != NULL && k < v->steps->len; k++) {
            const struct plan_step *s = v->steps->pdata[k];

            if (s->action == PLAN_ACTION_DONE || s->action == PLAN_ACTION_BLOCKED)
                continue;
            if (s->ops->copy_size != NULL) {
                pw->copies++;
                pw->bytes += step_copy_to_read(s);
            } else if (s->ops->default_seconds > 0) {
                pw->slow_steps++;
            }
        }
    }
}

/* Is there a VM (or a move of a domain) of this name in the manifest, in
 * wave w when w is non-NULL? */
static bool
has_unit(const struct manifest *m, const struct manifest_wave *w,
         const char *name)
{
    for (guint i = 0; i < m->vms->len; i++) {
        const struct manifest_vm *vm = m->vms->pdata[i];
        if (strcmp(vm->name, name) == 0 && (w == NULL || vm->wave == w))
            return true;
    }
    for (guint i = 0; i < m->moves->len; i++) {
        const struct manifest_move *mv = m->moves->pdata[i];
        if (strcmp(mv->vm->name, name) == 0 && (w == NULL || mv->wave == w))
            return true;
    }
    return false;
}

struct plan *
plan_evaluate(const struct manifest *m, struct state *st, const char *wave,
              GError **error)
{
    return plan_evaluate_vm(m, st, wave, NULL, error);
}

struct plan *
plan_evaluate_vm(const struct manifest *m, struct state *st, const char *wave,
                 const char *vm, GError **error)
{
    g_autoptr(plan) p = g_new0(struct plan, 1);
    struct plan_eval ev = {0};
    const struct manifest_wave *w = NULL;
    GError *fatal = NULL;

    p->m = m;
    p->wave = g_strdup(wave);
    p->state_path = g_strdup(state_path(st));
    p->vms = g_ptr_array_new_with_free_func(plan_vm_free);
    p->sources = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify)source_close);
    p->targets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify)target_close);
    p->errors = g_ptr_array_new_with_free_func(g_free);
    p->warnings = g_ptr_array_new_with_free_func(g_free);
    p->guest_sets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify)guest_rule_set_free);
    if (wave != NULL) {
        w = manifest_find_wave(m, wave);
        if (w == NULL) {
            g_autoptr(GString) names = g_string_new(NULL);
            for (guint i = 0; i < m->waves->len; i++)
                g_string_append_printf(names, "%s'%s'", i ? ", " : "",
                                       ((struct manifest_wave *)m->waves->pdata[i])->name);
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_USAGE,
                        "unknown wave '%s'; the manifest defines %s", wave,
                        names->len ? names->str : "no waves");
            return NULL;
        }
        p->wave_blocked = check_after(m, w, st);
    }
    if (vm != NULL && !has_unit(m, w, vm)) {
        if (w != NULL)
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_USAGE,
                        "no vm '%s' in wave '%s'", vm, w->name);
        else
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_USAGE,
                        "no vm '%s' in the manifest", vm);
        return NULL;
    }
    p->vm = g_strdup(vm);
    /* --vm: the waves its wave runs after must be complete, as for
     * --wave. */
    if (vm != NULL && w == NULL) {
        const struct manifest_vm *mvm = manifest_find_vm(m, vm);
        for (guint i = 0; mvm == NULL && i < m->moves->len; i++) {
            const struct manifest_move *mv = m->moves->pdata[i];
            if (strcmp(mv->vm->name, vm) == 0)
                mvm = mv->vm;
        }
        if (mvm != NULL)
            p->wave_blocked = check_after(m, mvm->wave, st);
    }

    ev.rule_sets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify)rule_set_free);
    ev.warned = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    ev.locations = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    ev.pool_keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    ev.failed_targets = g_hash_table_new(g_str_hash, g_str_equal);
    ev.domain_dirs = plan_rules_dirs(m, "domain");
    ev.guest_dirs = plan_rules_dirs(m, "guest");
    ev.st = st;
    /* Wave by wave: its VMs, then its host moves. */
    g_autoptr(GPtrArray) jobs = g_ptr_array_new_with_free_func(eval_job_free);
    for (guint i = 0; i < m->waves->len; i++) {
        const struct manifest_wave *wi = m->waves->pdata[i];

        if (w != NULL && wi != w)
            continue;
        for (guint k = 0; k < wi->vms->len; k++) {
            const struct manifest_vm *mvm = wi->vms->pdata[k];
            if (vm != NULL && strcmp(mvm->name, vm) != 0)
                continue;
            struct eval_job *j = g_new0(struct eval_job, 1);
            j->v = g_new0(struct plan_vm, 1);
            j->v->mvm = mvm;
            j->sets = g_ptr_array_new();
            j->guest = g_ptr_array_new();
            j->warnings = g_ptr_array_new_with_free_func(g_free);
            g_ptr_array_add(p->vms, j->v);
            g_ptr_array_add(jobs, j);
            eval_open(p, &ev, j);
        }
        for (guint k = 0; k < wi->moves->len; k++) {
            const struct manifest_move *mv = wi->moves->pdata[k];
            if (vm != NULL && strcmp(mv->vm->name, vm) != 0)
                continue;
            struct eval_job *j = g_new0(struct eval_job, 1);
            j->v = g_new0(struct plan_vm, 1);
            j->v->move = mv;
            j->sets = g_ptr_array_new();
            j->guest = g_ptr_array_new();
            j->warnings = g_ptr_array_new_with_free_func(g_free);
            g_ptr_array_add(p->vms, j->v);
            g_ptr_array_add(jobs, j);
        }
    }
    /* libxml2 sets its globals up once, before any thread parses. */
    xmlInitParser();
    eval_pool(jobs);
    for (guint i = 0; i < jobs->len && fatal == NULL; i++) {
        struct eval_job *j = jobs->pdata[i];

        if (j->v->move != NULL) {
            plan_eval_move(p, j->v);
            step_chain_build(j->v);
        } else {
            eval_finish(p, &ev, j, &fatal);
        }
    }
    if (fatal == NULL && w == NULL && vm == NULL)
        plan_warn_unused_pool_keys(p, &ev);
    if (fatal == NULL)
        plan_diff(p, st, &fatal);
    if (fatal == NULL)
        plan_collect_waves(p);
    g_hash_table_unref(ev.rule_sets);
    g_hash_table_unref(ev.warned);
    g_hash_table_unref(ev.locations);
    g_hash_table_unref(ev.pool_keys);
    g_hash_table_unref(ev.failed_targets);
    g_strfreev(ev.domain_dirs);
    g_strfreev(ev.guest_dirs);
    if (fatal != NULL) {
        g_propagate_error(error, fatal);
        return NULL;
    }
    return g_steal_pointer(&p);
}
