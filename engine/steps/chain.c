/* The units of a plan and what the registry says about them: building a
 * unit's chain from the kinds' placement data, keys and fingerprints,
 * copy accounting, windows, and rollback's walk over recorded steps.
 * Nothing here names a kind: each kind's ops say what it is. */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "steps/steps.h"
#include "util/hash.h"

const char *
plan_action_name(enum plan_action a)
{
    switch (a) {
    case PLAN_ACTION_DONE:
        return "done";
    case PLAN_ACTION_TODO:
        return "todo";
    case PLAN_ACTION_RESUME:
        return "resume";
    case PLAN_ACTION_REDO:
        return "redo";
    case PLAN_ACTION_BLOCKED:
        return "blocked";
    case PLAN_ACTION_LAST:
    default:
        return "?";
    }
}

void
plan_disk_free(gpointer p)
{
    struct plan_disk *d = p;

    g_free(d->dev);
    g_free(d->location);
    g_free(d);
}

void
plan_step_free(gpointer p)
{
    struct plan_step *s = p;

    g_free(s->key);
    g_free(s->inputs);
    g_free(s->fingerprint);
    g_free(s->reason);
    g_free(s->old_output);
    if (s->deps != NULL)
        g_ptr_array_unref(s->deps);
    state_step_record_free(s->rec);
    g_free(s);
}

void
plan_vm_free(gpointer p)
{
    struct plan_vm *v = p;

    source_vm_free(v->sv);
    g_free(v->kvm_xml);
    g_free(v->kvm_xml_sha256);
    g_free(v->source_xml_sha256);
    g_free(v->rules_text);
    if (v->changes != NULL)
        g_ptr_array_unref(v->changes);
    if (v->disks != NULL)
        g_ptr_array_unref(v->disks);
    if (v->steps != NULL)
        g_ptr_array_unref(v->steps);
    if (v->guest_sets != NULL)
        g_ptr_array_unref(v->guest_sets);
    if (v->guest_names != NULL)
        g_ptr_array_unref(v->guest_names);
    g_free(v->guest_inspect);
    g_free(v->guest_inspect_json);
    g_free(v->error);
    g_free(v->move_at);
    g_free(v);
}

char *
step_fingerprint(const struct step_ops *ops, const char *inputs)
{
    g_autofree char *text = g_strdup_printf("%s\nversion=%u\n%s", ops->name,
                                            ops->version, inputs);
    return hash_sha256_hex(text, strlen(text));
}

char *
step_key(const struct step_ops *ops, const char *vm, const char *dev)
{
    return dev != NULL ? g_strdup_printf("%s/%s/%s", vm, ops->name, dev)
                       : g_strdup_printf("%s/%s", vm, ops->name);
}

static struct plan_step *
add_step(struct plan_vm *v, const struct step_ops *ops, struct plan_disk *d)
{
    struct plan_step *s = g_new0(struct plan_step, 1);

    s->ops = ops;
    s->vm = v;
    s->disk = d;
    s->key = step_key(ops, v->mvm->name, d != NULL ? d->dev : NULL);
    s->deps = g_ptr_array_new();
    g_ptr_array_add(v->steps, s);
    return s;
}

/* Every step of kind name already in v's chain becomes a dependency of
 * s, in chain order. */
static void
add_deps(struct plan_vm *v, struct plan_step *s, const char *name)
{
    for (guint i = 0; i < v->steps->len; i++) {
        struct plan_step *d = v->steps->pdata[i];
        if (d != s && strcmp(d->ops->name, name) == 0)
            g_ptr_array_add(s->deps, d);
    }
}

void
step_chain_build(struct plan_vm *v)
{
    enum step_scope want = v->move != NULL ? STEP_SCOPE_MOVE : STEP_SCOPE_VM;

    v->steps = g_ptr_array_new_with_free_func(plan_step_free);
    if (v->error != NULL)
        return;
    for (size_t k = 0; step_kinds[k] != NULL; k++) {
        const struct step_ops *ops = step_kinds[k];
        guint first = v->steps->len;
        bool fits = ops->scope == want ||
                    (want == STEP_SCOPE_VM && ops->scope == STEP_SCOPE_DISK);

        if (!fits || (ops->wanted != NULL && !ops->wanted(v)))
            continue;
        if (ops->scope == STEP_SCOPE_DISK) {
            for (guint i = 0; i < v->disks->len; i++)
                add_step(v, ops, v->disks->pdata[i]);
        } else {
            add_step(v, ops, NULL);
        }
        for (guint i = first; i < v->steps->len; i++) {
            struct plan_step *s = v->steps->pdata[i];
            for (size_t a = 0; ops->after != NULL && ops->after[a] != NULL; a++)
                add_deps(v, s, ops->after[a]);
        }
    }
    for (guint i = 0; i < v->steps->len; i++) {
        struct plan_step *s = v->steps->pdata[i];
        s->inputs = s->ops->inputs(s);
        s->fingerprint = step_fingerprint(s->ops, s->inputs);
    }
}

bool
step_unit_complete(struct state *st, const char *unit, bool move)
{
    for (size_t k = 0; step_kinds[k] != NULL; k++) {
        const struct step_ops *ops = step_kinds[k];
        g_autofree char *key = NULL;
        g_autoptr(state_step_record) rec = NULL;

        if (!ops->completes || (ops->scope == STEP_SCOPE_MOVE) != move)
            continue;
        key = step_key(ops, unit, NULL);
        rec = state_step_get(st, key, NULL);
        if (rec == NULL || rec->status != STATE_STEP_DONE)
            return false;
    }
    return true;
}

bool
step_kind_is_move(const char *kind)
{
    const struct step_ops *ops = step_ops_find(kind);

    return ops != NULL && ops->scope == STEP_SCOPE_MOVE;
}

uint64_t
step_copy_size(const struct plan_step *ps)
{
    return ps->ops->copy_size != NULL ? ps->ops->copy_size(ps) : 0;
}

uint64_t
step_copy_remaining(const struct plan_step *ps)
{
    uint64_t size = step_copy_size(ps);
    uint64_t from = ps->action == PLAN_ACTION_RESUME ? ps->resume_from : 0;

    if (ps->action == PLAN_ACTION_DONE)
        return 0;
    return from < size ? size - from : 0;
}

uint64_t
step_copy_to_read(const struct plan_step *ps)
{
    /* A resume re-reads the stream before its checkpoint unless the
     * source can start there (docs/internals/checkpoints.md). */
    if (ps->action == PLAN_ACTION_RESUME && ps->disk != NULL &&
        !(ps->disk->sdisk->seekable && ps->vm->src != NULL &&
          ps->vm->src->ops->copy_disk_from != NULL))
        return step_copy_size(ps);
    return step_copy_remaining(ps);
}

void
step_copy_measured(const char *kind, const char *key, const char *outputs,
                   double *bytes, double *seconds)
{
    const struct step_ops *ops = step_ops_find(kind);

    *bytes = 0;
    *seconds = 0;
    if (ops != NULL && ops->copy_measured != NULL && outputs != NULL)
        ops->copy_measured(key, outputs, bytes, seconds);
}

bool
step_vm_windowed(const struct plan_vm *v)
{
    for (guint i = 0; v->steps != NULL && i < v->steps->len; i++) {
        const struct plan_step *s = v->steps->pdata[i];
        if (s->action != PLAN_ACTION_DONE && s->ops->windowed)
            return true;
    }
    return false;
}

bool
step_vm_pinned(const struct plan_vm *v)
{
    const struct manifest_target *mt = v->mtgt;

    if (mt == NULL)
        return false;
    if (mt->kind == MANIFEST_TARGET_DIRECTORY)
        return true;
    g_autoptr(GUri) u = mt->uri != NULL ? g_uri_parse(mt->uri, G_URI_FLAGS_NONE, NULL) : NULL;
    return u != NULL && (g_uri_get_host(u) == NULL || g_uri_get_host(u)[0] == '\0');
}

bool
step_undo_vm(GPtrArray *recs, const struct step_undo_ctx *u, GError **error)
{
    g_autofree bool *forget = g_new0(bool, recs->len + 1);

    size_t n = 0;

    while (step_kinds[n] != NULL)
        n++;
    /* Undo in reverse chain order: the domain goes before its disks. */
    for (size_t k = n; k > 0; k--) {
        const struct step_ops *ops = step_kinds[k - 1];

        for (guint i = 0; i < recs->len; i++) {
            const struct state_step_record *r = recs->pdata[i];

            if (strcmp(r->kind, ops->name) != 0)
                continue;
            forget[i] = true;
            if (ops->undo != NULL && !ops->undo(r, u, &forget[i], error))
                return false;
        }
    }
    /* Records of kinds this convoy does not know are forgotten too. */
    for (guint i = 0; i < recs->len; i++) {
        const struct state_step_record *r = recs->pdata[i];
        if (step_ops_find(r->kind) == NULL)
            forget[i] = true;
    }
    for (guint i = 0; i < recs->len; i++) {
        const struct state_step_record *r = recs->pdata[i];
        if (forget[i] && !state_step_forget(u->st, r->key, error))
            return false;
    }
    return true;
}

void
step_undo_say(const struct step_undo_ctx *u, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    u->say(u->opaque, msg);
}
