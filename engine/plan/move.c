/* Plan evaluation of a host move: where the domain lives now (both hosts
 * probed, read-only), whether the move can run as written, and its one
 * host-migrate step. */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "plan/plan.h"
#include "plan/plan-priv.h"
#include "util/error.h"

static const char *
power(const struct target_domain_state *d)
{
    if (d->active)
        return d->persistent ? "running" : "running, transient";
    return "shut off";
}

/* Decide from what the two hosts hold; false with *error when the move
 * cannot run (or be called done) as written. */
static bool
decide(struct plan_vm *v, const struct target_domain_state *src,
       const struct target_domain_state *dst, GError **error)
{
    const struct manifest_move *mv = v->move;
    const char *a = mv->from, *b = mv->to;
    const char *name = mv->domain;
    bool dst_ok = dst->exists && (mv->persist ? dst->persistent : dst->active);

    if (src->exists && dst->exists && strcmp(src->uuid, dst->uuid) != 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONFLICT,
                    "domain '%s' on %s (uuid %s) and domain '%s' on %s (uuid %s) are different domains; rename or remove one of them",
                    name, a, src->uuid, name, b, dst->uuid);
        return false;
    }
    if (dst_ok && (!src->exists || (!src->active && !mv->undefine_source))) {
        v->moved = true;
        v->move_at = src->exists
            ? g_strdup_printf("on %s (%s); its definition on %s is kept (undefine_source: false)", b, power(dst), a)
            : g_strdup_printf("on %s (%s)", b, power(dst));
        return true;
    }
    if (dst->exists && src->exists) {
        if (src->active)
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONFLICT,
                        "domain '%s' is on both hosts: running on %s and %s on %s; stop or undefine one of them (a half-done migration is cleaned up on the source host with virsh domjobabort)",
                        name, a, power(dst), b);
        else if (dst_ok)
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONFLICT,
                        "domain '%s' is on %s already, but still defined on %s, which undefine_source: true wants gone; convoy undefines a source only as part of a migration: undefine it on %s or set undefine_source: false",
                        name, b, a, a);
        else
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONFLICT,
                        "domain '%s' is on both hosts: %s on %s and %s on %s; remove the copy you do not want",
                        name, power(src), a, power(dst), b);
        return false;
    }
    if (dst->exists) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONFLICT,
                    "domain '%s' runs on %s without a persistent definition there, and persist: true asks for one; define it on %s, or set persist: false",
                    name, b, b);
        return false;
    }
    if (!src->exists) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                    "domain '%s' is on neither host: not on %s (%s) and not on %s (%s)",
                    name, a, mv->from_target->uri, b, mv->to_target->uri);
        return false;
    }
    if (mv->live && !src->active) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONFLICT,
                    "live: true moves a running domain, and '%s' is shut off on %s; start it, or set live: false to move only its definition",
                    name, a);
        return false;
    }
    if (!mv->live && src->active) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONFLICT,
                    "live: false moves the definition of a shut-off domain, and '%s' is running on %s; shut it down first, or set live: true",
                    name, a);
        return false;
    }
    v->move_at = g_strdup_printf("on %s (%s)", a, power(src));
    return true;
}

void
plan_eval_move(struct plan *p, struct plan_vm *v)
{
    const struct manifest_move *mv = v->move;
    struct target_domain_state src = {0}, dst = {0};
    g_autoptr(GError) err = NULL;

    v->mvm = mv->vm;
    v->mtgt = mv->to_target;
    v->disks = g_ptr_array_new();
    v->from = plan_get_target(p, mv->from_target, &err);
    if (v->from != NULL)
        v->tgt = plan_get_target(p, mv->to_target, &err);
    if (v->tgt != NULL && (v->from->ops->domain_state == NULL ||
                           v->from->ops->migrate == NULL ||
                           v->tgt->ops->domain_state == NULL)) {
        g_set_error(&err, CONVOY_ERROR, CONVOY_ERROR_INVALID,
                    "%s targets cannot move domains", v->from->ops->kind);
    }
    if (err == NULL && v->tgt != NULL &&
        v->from->ops->domain_state(v->from, mv->domain, &src, &err) &&
        v->tgt->ops->domain_state(v->tgt, mv->domain, &dst, &err))
        decide(v, &src, &dst, &err);
    if (err != NULL) {
        v->error = g_strdup(err->message);
        g_ptr_array_add(p->errors, g_strdup_printf("move '%s': %s", mv->domain,
                                                   err->message));
    }
}
