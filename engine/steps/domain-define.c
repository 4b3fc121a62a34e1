/* domain-define: land the KVM domain XML on the target (the directory
 * target writes <path>/<vm>.xml atomically; libvirt defines it persistent,
 * with autostart as asked); only after every disk of the VM is copied, so
 * a failed copy leaves no domain behind.  A rejected XML is kept in the
 * state store's events for inspection. */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "steps/steps.h"
#include "util/error.h"
#include "util/hash.h"
#include "util/json.h"

static char *
define_inputs(const struct plan_step *ps)
{
    const struct plan_vm *v = ps->vm;
    const char *digest = v->kvm_xml_sha256;
    g_autofree char *loc = v->tgt->ops->domain_location(v->tgt,
                                                        manifest_vm_target_name(v->mvm));

    if (v->tgt->ops->start == NULL)
        return g_strdup_printf("location=%s\ntarget=%s\ntarget_kind=%s\nxml_sha256=%s\n",
                               loc, v->mtgt->name, v->tgt->ops->kind, digest);
    return g_strdup_printf("autostart=%s\nlocation=%s\ntarget=%s\ntarget_kind=%s\n"
                           "xml_sha256=%s\n", v->mvm->autostart ? "true" : "false",
                           loc, v->mtgt->name, v->tgt->ops->kind, digest);
}

static char *
define_describe(const struct plan_step *ps)
{
    const struct plan_vm *v = ps->vm;

    return v->tgt->ops->domain_location(v->tgt, manifest_vm_target_name(v->mvm));
}

static bool
define_probe(const struct plan_step *ps, struct target *t, const char *outputs,
             char **why)
{
    const struct plan_vm *v = ps->vm;
    /* What the target held right after the define (libvirt normalises the
     * XML), else the digest of the XML itself. */
    g_autofree char *want = json_lookup_string(outputs, "sha256");
    g_autofree char *have = t->ops->domain_digest(t, manifest_vm_target_name(v->mvm));
    g_autofree char *loc = NULL;

    if (want == NULL)
        want = g_strdup(v->kvm_xml_sha256);
    if (have != NULL && strcmp(have, want) == 0)
        return true;
    loc = t->ops->domain_location(t, manifest_vm_target_name(v->mvm));
    *why = g_strdup_printf(have == NULL ? "domain '%s' is missing"
                                        : "domain '%s' was changed outside convoy",
                           loc);
    return false;
}

static bool
define_apply(struct plan_step *ps, struct step_ctx *ctx, char **outputs,
             GError **error)
{
    struct plan_vm *v = ps->vm;
    const char *name = manifest_vm_target_name(v->mvm);
    g_autofree char *digest = NULL;
    g_autofree char *loc = v->tgt->ops->domain_location(v->tgt, name);
    g_autofree char *xml = step_domain_xml(v, ctx->st, error);
    struct json j;

    if (xml == NULL)
        return false;
    if (!v->tgt->ops->define(v->tgt, name, xml, v->mvm->autostart,
                             error)) {
        /* Keep what was rejected: the events table of the state store. */
        state_event(ctx->st, ctx->run_id, ps->key, "rejected-xml", xml,
                    NULL);
        if (error != NULL && *error != NULL) {
            char *old = (*error)->message;
            (*error)->message = g_strdup_printf("%s (the rejected XML is kept in the state store as event 'rejected-xml' of %s)",
                                                old, ps->key);
            g_free(old);
        }
        return false;
    }
    digest = v->tgt->ops->domain_digest(v->tgt, name);
    if (digest == NULL)
        digest = hash_sha256_hex(xml, strlen(xml));
    json_init(&j, false);
    json_begin_object(&j);
    json_kv_string(&j, "location", loc);
    json_kv_string(&j, "name", name);
    json_kv_string(&j, "sha256", digest);
    /* Its identity on the target: a domain of the same name there later
     * with another uuid is not convoy's. */
    if (v->tgt->ops->domain_state != NULL) {
        struct target_domain_state ds = {0};
        if (v->tgt->ops->domain_state(v->tgt, name, &ds, NULL) && ds.exists)
            json_kv_string(&j, "uuid", ds.uuid);
    }
    if (v->tgt->ops->start != NULL)
        json_kv_bool(&j, "autostart", v->mvm->autostart);
    json_end_object(&j);
    *outputs = json_steal(&j);
    json_release(&j);
    return true;
}

bool
step_domain_recorded(const struct state_step_record *def, struct target *t,
                      const char *name, char **uuid, char **where)
{
    g_autofree char *loc = t->ops->domain_location(t, name);
    g_autofree char *rloc = def->outputs != NULL ? json_lookup_string(def->outputs, "location") : NULL;
    bool here = rloc == NULL || strcmp(rloc, loc) == 0;

    if (uuid != NULL)
        *uuid = here && def->outputs != NULL ? json_lookup_string(def->outputs, "uuid") : NULL;
    if (where != NULL)
        *where = g_steal_pointer(&rloc);
    return here;
}

/* Rollback: stop and undefine the domain convoy defined -- only while the
 * domain of that name on this target is still the one it defined. */
static bool
define_undo(const struct state_step_record *r, const struct step_undo_ctx *u,
            bool *forget, GError **error)
{
    struct target *t = u->t;
    const char *vm = u->vm->name;
    g_autofree char *name = NULL;
    g_autofree char *where = NULL;
    g_autofree char *uuid = NULL;
    g_autofree char *why = NULL;
    g_autofree char *loc = NULL;
    bool removed = false;

    *forget = true;
    name = r->outputs != NULL ? json_lookup_string(r->outputs, "name") : NULL;
    if (name == NULL)
        name = g_strdup(manifest_vm_target_name(u->vm));
    if (!step_domain_recorded(r, t, name, &uuid, &where)) {
        why = g_strdup_printf("convoy defined it as %s, not on this target", where);
    } else if (uuid != NULL && t->ops->domain_state != NULL) {
        struct target_domain_state ds = {0};
        if (t->ops->domain_state(t, name, &ds, NULL) && ds.exists &&
            strcmp(ds.uuid, uuid) != 0)
            why = g_strdup_printf("its uuid is %s, not the %s convoy defined", ds.uuid, uuid);
    }
    loc = t->ops->domain_location(t, name);
    if (why != NULL) {
        step_undo_say(u, "%s: left domain %s alone: %s", vm, loc, why);
        return true;
    }
    if (t->ops->remove_domain == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "target '%s' cannot remove domains", t->mt->name);
        return false;
    }
    if (!t->ops->remove_domain(t, name, &removed, error)) {
        g_prefix_error(error, "vm '%s': ", vm);
        return false;
    }
    step_undo_say(u, "%s: %s domain %s", vm,
             removed ? "stopped (if running) and removed" : "no longer has a", loc);
    state_event(u->st, u->run_id, NULL, "rollback",
                removed ? "domain removed" : "domain already absent", NULL);
    return true;
}

/* The plan's "leave": a domain an earlier define made under another name
 * or place (a rename), still there.  Apply leaves it: only rollback
 * (before the rename) removes a domain. */
static char *
define_old_output(const struct plan_step *ps, struct state *st, bool *removed)
{
    struct target *t = ps->vm->tgt;
    g_autofree char *loc = NULL;
    g_autofree char *rloc = NULL;
    g_autofree char *name = NULL;
    g_autofree char *digest = NULL;

    *removed = false;
    if (ps->rec == NULL || ps->rec->status != STATE_STEP_DONE || t == NULL)
        return NULL;
    rloc = json_lookup_string(ps->rec->outputs, "location");
    name = json_lookup_string(ps->rec->outputs, "name");
    loc = t->ops->domain_location(t, manifest_vm_target_name(ps->vm->mvm));
    if (rloc == NULL || name == NULL || strcmp(rloc, loc) == 0)
        return NULL;
    digest = t->ops->domain_digest(t, name);
    return digest != NULL ? g_steal_pointer(&rloc) : NULL;
}

static const char *const define_after[] = {
    "domain-convert", "guest-fixup", "disk-copy", NULL,
};

const struct step_ops step_domain_define = {
    .name = "domain-define",
    .version = 1,
    .scope = STEP_SCOPE_VM,
    .after = define_after,
    .completes = true,
    .windowed = true,
    .undo = define_undo,
    .old_output = define_old_output,
    .retryable = true,        /* idempotent: a dropped connection is retried */
    .checkpointed = false,
    .inputs = define_inputs,
    .describe = define_describe,
    .probe = define_probe,
    .apply = define_apply,
};
