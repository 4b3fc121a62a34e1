/* domain-define: land the KVM domain XML on the target (the directory
 * target writes <path>/<vm>.xml atomically); only after every disk of the
 * VM is copied, so a failed copy leaves no domain behind. */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "plan/plan.h"
#include "steps/steps.h"
#include "util/hash.h"
#include "util/json.h"

static char *
define_inputs(const struct plan_step *ps)
{
    const struct plan_vm *v = ps->vm;
    g_autofree char *digest = hash_sha256_hex(v->kvm_xml, strlen(v->kvm_xml));
    g_autofree char *loc = v->tgt->ops->domain_location(v->tgt,
                                                        manifest_vm_target_name(v->mvm));

    return g_strdup_printf("location=%s\ntarget=%s\ntarget_kind=%s\nxml_sha256=%s\n",
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
    g_autofree char *want = hash_sha256_hex(v->kvm_xml, strlen(v->kvm_xml));
    g_autofree char *have = t->ops->domain_digest(t, manifest_vm_target_name(v->mvm));
    g_autofree char *loc = NULL;

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
    g_autofree char *digest = hash_sha256_hex(v->kvm_xml, strlen(v->kvm_xml));
    g_autofree char *loc = v->tgt->ops->domain_location(v->tgt, name);
    struct json j;

    if (!v->tgt->ops->define(v->tgt, name, v->kvm_xml, error))
        return false;
    json_init(&j, false);
    json_begin_object(&j);
    json_kv_string(&j, "location", loc);
    json_kv_string(&j, "sha256", digest);
    json_end_object(&j);
    *outputs = json_steal(&j);
    json_release(&j);
    return true;
}

const struct step_ops step_domain_define = {
    .name = "domain-define",
    .version = 1,
    .checkpointed = false,
    .inputs = define_inputs,
    .describe = define_describe,
    .probe = define_probe,
    .apply = define_apply,
};
