/* source-shutdown: stop the source VM before its disks are copied, only
 * when the VM's source_power is shutdown and its source kind can (the
 * xenserver source: clean shutdown, hard only after hard_shutdown_after).
 * Nothing else about the source VM is ever changed. */
#include "config.h"

#include <glib.h>

#include "steps/steps.h"
#include "util/json.h"

static char *
shutdown_inputs(const struct plan_step *ps)
{
    const struct plan_vm *v = ps->vm;

    return g_strdup_printf("hard_shutdown_after=%" G_GUINT64_FORMAT "\n"
                           "shutdown_timeout=%" G_GUINT64_FORMAT "\n"
                           "source=%s\nsource_kind=%s\nvm_uuid=%s\n",
                           v->msrc->hard_shutdown_after,
                           v->msrc->shutdown_timeout, v->msrc->name,
                           manifest_source_kind_name(v->msrc->kind),
                           v->sv->uuid != NULL ? v->sv->uuid : v->sv->name);
}

static char *
shutdown_describe(const struct plan_step *ps)
{
    const struct plan_vm *v = ps->vm;

    if (v->msrc->hard_shutdown_after != 0)
        return g_strdup_printf("%s on '%s' (%s; clean, then hard after %" G_GUINT64_FORMAT " s)",
                               v->sv->name, v->msrc->name,
                               v->sv->powered_on ? "running" : "halted",
                               v->msrc->hard_shutdown_after);
    return g_strdup_printf("%s on '%s' (%s; clean, timeout %" G_GUINT64_FORMAT " s)",
                           v->sv->name, v->msrc->name,
                           v->sv->powered_on ? "running" : "halted",
                           v->msrc->shutdown_timeout);
}

/* A VM convoy shut down and someone started again stays as it is: the
 * step is done once, and its disks were copied while it was down. */
static bool
shutdown_probe(const struct plan_step *ps, struct target *t,
               const char *outputs, char **why)
{
    return true;
}

static bool
shutdown_apply(struct plan_step *ps, struct step_ctx *ctx, char **outputs,
               GError **error)
{
    struct plan_vm *v = ps->vm;
    g_autofree char *how = NULL;
    struct json j;

    if (!v->src->ops->shutdown(v->src, v->sv, &how, error))
        return false;
    json_init(&j, false);
    json_begin_object(&j);
    json_kv_string(&j, "shutdown", how);
    json_end_object(&j);
    *outputs = json_steal(&j);
    json_release(&j);
    return true;
}

/* Only when the VM's source_power is shutdown and its source kind can
 * shut VMs down. */
static bool
shutdown_wanted(const struct plan_vm *v)
{
    return v->mvm->source_power == MANIFEST_SOURCE_POWER_SHUTDOWN &&
           v->src->ops->shutdown != NULL;
}

const struct step_ops step_source_shutdown = {
    .name = "source-shutdown",
    .version = 1,
    .scope = STEP_SCOPE_VM,
    .wanted = shutdown_wanted,
    .checkpointed = false,
    .windowed = true,
    .inputs = shutdown_inputs,
    .describe = shutdown_describe,
    .probe = shutdown_probe,
    .apply = shutdown_apply,
};
