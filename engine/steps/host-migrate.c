/* host-migrate: move an existing libvirt domain from one KVM host to
 * another with libvirt's migration API (a wave's moves:).  Observable:
 * where the domain is says whether it is done, so the plan probes both
 * hosts whatever the state store recorded, and a second apply does
 * nothing.  The source is changed only as the migration itself does
 * (undefine_source only when the manifest says so). */
#include "config.h"

#include <glib.h>

#include "steps/steps.h"
#include "util/error.h"
#include "util/json.h"

static const char *
yes_no(bool b)
{
    return b ? "true" : "false";
}

static char *
migrate_inputs(const struct plan_step *ps)
{
    const struct manifest_move *mv = ps->vm->move;

    return g_strdup_printf("auto_converge=%s\nbandwidth=%" G_GUINT64_FORMAT "\n"
                           "compressed=%s\ndomain=%s\nfrom=%s\nlive=%s\n"
                           "migrate_uri=%s\npeer_to_peer=%s\npersist=%s\nto=%s\n"
                           "tunnelled=%s\nundefine_source=%s\n",
                           yes_no(mv->auto_converge), mv->bandwidth,
                           yes_no(mv->compressed), mv->domain,
                           mv->from_target->uri, yes_no(mv->live),
                           mv->migrate_uri != NULL ? mv->migrate_uri : "",
                           yes_no(mv->peer_to_peer), yes_no(mv->persist),
                           mv->to_target->uri, yes_no(mv->tunnelled),
                           yes_no(mv->undefine_source));
}

static char *
migrate_describe(const struct plan_step *ps)
{
    const struct manifest_move *mv = ps->vm->move;
    g_autoptr(GString) s = g_string_new(NULL);

    g_string_append_printf(s, "%s → %s (%s", mv->from, mv->to,
                           mv->live ? "live" : "offline");
    if (mv->peer_to_peer)
        g_string_append(s, ", peer-to-peer");
    if (mv->tunnelled)
        g_string_append(s, ", tunnelled");
    if (mv->persist)
        g_string_append(s, ", persist");
    if (mv->undefine_source)
        g_string_append(s, ", undefine source");
    if (mv->auto_converge)
        g_string_append(s, ", auto-converge");
    if (mv->compressed)
        g_string_append(s, ", compressed");
    if (mv->migrate_uri != NULL)
        g_string_append_printf(s, ", via %s", mv->migrate_uri);
    if (mv->bandwidth != 0)
        g_string_append_printf(s, ", %" G_GUINT64_FORMAT " MiB/s", mv->bandwidth);
    g_string_append_c(s, ')');
    return g_string_free(g_steal_pointer(&s), FALSE);
}

/* The plan probed both hosts (plan_eval_move); this reads the verdict. */
static bool
migrate_probe(const struct plan_step *ps, struct target *t, const char *outputs,
              char **why)
{
    const struct plan_vm *v = ps->vm;

    if (v->moved)
        return true;
    *why = g_strdup_printf("not moved yet: %s", v->move_at != NULL ? v->move_at : "?");
    return false;
}

static bool
migrate_apply(struct plan_step *ps, struct step_ctx *ctx, char **outputs,
              GError **error)
{
    struct plan_vm *v = ps->vm;
    const struct manifest_move *mv = v->move;
    struct target_migration how = {
        .live = mv->live,
        .peer_to_peer = mv->peer_to_peer,
        .tunnelled = mv->tunnelled,
        .persist = mv->persist,
        .undefine_source = mv->undefine_source,
        .auto_converge = mv->auto_converge,
        .compressed = mv->compressed,
        .migrate_uri = mv->migrate_uri,
        .bandwidth = mv->bandwidth,
    };
    struct target_domain_state dst = {0};
    gint64 t0 = g_get_monotonic_time();
    struct json j;

    if (!v->from->ops->migrate(v->from, v->tgt, mv->domain, &how, error))
        return false;
    /* Say so when the destination does not hold what was asked. */
    if (!v->tgt->ops->domain_state(v->tgt, mv->domain, &dst, error))
        return false;
    if (!dst.exists || (mv->persist && !dst.persistent)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_LIBVIRT,
                    "domain '%s': the migration to %s returned, but the domain is %s there",
                    mv->domain, mv->to, dst.exists ? "not persistent" : "not");
        return false;
    }
    json_init(&j, false);
    json_begin_object(&j);
    json_kv_string(&j, "from", mv->from_target->uri);
    json_kv_string(&j, "to", mv->to_target->uri);
    json_kv_string(&j, "uuid", dst.uuid);
    json_kv_bool(&j, "running", dst.active);
    json_key(&j, "seconds");
    json_double(&j, (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC);
    json_end_object(&j);
    *outputs = json_steal(&j);
    json_release(&j);
    return true;
}

const struct step_ops step_host_migrate = {
    .name = "host-migrate",
    .version = 1,
    .scope = STEP_SCOPE_MOVE,
    .completes = true,
    .windowed = true,
    .checkpointed = false,
    .retryable = false,
    .observable = true,
    .inputs = migrate_inputs,
    .describe = migrate_describe,
    .probe = migrate_probe,
    .apply = migrate_apply,
};
