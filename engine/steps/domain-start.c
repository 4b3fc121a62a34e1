/* domain-start: start the defined domain on targets that run domains
 * (libvirt), when the manifest says 'start: true'.  A one-shot action: once
 * done it is not redone because an administrator stopped the domain. */
#include "config.h"

#include <glib.h>

#include "steps/steps.h"
#include "util/json.h"

static char *
start_inputs(const struct plan_step *ps)
{
    const struct plan_vm *v = ps->vm;
    g_autofree char *loc = v->tgt->ops->domain_location(v->tgt,
                                                        manifest_vm_target_name(v->mvm));

    return g_strdup_printf("location=%s\ntarget=%s\n", loc, v->mtgt->name);
}

static char *
start_describe(const struct plan_step *ps)
{
    const struct plan_vm *v = ps->vm;

    return v->tgt->ops->domain_location(v->tgt, manifest_vm_target_name(v->mvm));
}

static bool
start_probe(const struct plan_step *ps, struct target *t, const char *outputs,
            char **why)
{
    return true;
}

static bool
start_apply(struct plan_step *ps, struct step_ctx *ctx, char **outputs,
            GError **error)
{
    struct plan_vm *v = ps->vm;
    bool already = false;
    struct json j;

    if (!v->tgt->ops->start(v->tgt, manifest_vm_target_name(v->mvm), &already,
                            error))
        return false;
    json_init(&j, false);
    json_begin_object(&j);
    json_kv_bool(&j, "was_running", already);
    json_end_object(&j);
    *outputs = json_steal(&j);
    json_release(&j);
    return true;
}

/* When asked (start:) and the target runs domains. */
static bool
start_wanted(const struct plan_vm *v)
{
    return v->mvm->start && v->tgt->ops->start != NULL;
}

static const char *const start_after[] = {"domain-define", NULL};

const struct step_ops step_domain_start = {
    .name = "domain-start",
    .version = 1,
    .scope = STEP_SCOPE_VM,
    .after = start_after,
    .wanted = start_wanted,
    .windowed = true,
    .retryable = true,        /* idempotent: a dropped connection is retried */
    .checkpointed = false,
    .inputs = start_inputs,
    .describe = start_describe,
    .probe = start_probe,
    .apply = start_apply,
};
