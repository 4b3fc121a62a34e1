/* Host moves on libvirt targets: where a domain is on one host, and its
 * migration to another host with libvirt's migration API (typed
 * parameters): peer to peer through virDomainMigrateToURI3, else managed
 * by convoy through virDomainMigrate3 with both connections. */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "targets/libvirt-priv.h"
#include "util/autoptr.h"
#include "util/error.h"

bool
lv_domain_state(struct target *t, const char *vm,
                struct target_domain_state *out, GError **error)
{
    struct lv_target *lt = t->priv;
    virConnectPtr conn = lv_conn(lt, error);
    g_autoptr(virDomain) dom = NULL;
    int active, persistent;

    memset(out, 0, sizeof *out);
    if (conn == NULL)
        return false;
    dom = virDomainLookupByName(conn, vm);
    if (dom == NULL) {
        if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN)
            return true;
        return lv_error(error, "%s: cannot look domain '%s' up", lt->uri, vm);
    }
    active = virDomainIsActive(dom);
    persistent = virDomainIsPersistent(dom);
    if (active < 0 || persistent < 0 || virDomainGetUUIDString(dom, out->uuid) < 0)
        return lv_error(error, "%s: domain '%s'", lt->uri, vm);
    out->exists = true;
    out->active = active == 1;
    out->persistent = persistent == 1;
    return true;
}

static void
typed_params_free(virTypedParameterPtr *params, int *n)
{
    virTypedParamsFree(*params, *n);
    *params = NULL;
    *n = 0;
}

bool
lv_migrate(struct target *t, struct target *dst, const char *vm,
           const struct target_migration *how, GError **error)
{
    struct lv_target *from = t->priv;
    struct lv_target *to = dst->priv;
    virConnectPtr conn = lv_conn(from, error);
    virConnectPtr dconn = NULL;
    g_autoptr(virDomain) dom = NULL;
    virTypedParameterPtr params = NULL;
    int n = 0, max = 0;
    unsigned long flags = 0;
    bool ok = true;

    if (dst->ops != t->ops) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: domain '%s': a libvirt domain moves to a libvirt target only",
                    vm);
        return false;
    }
    if (conn == NULL)
        return false;
    if (!how->peer_to_peer) {
        dconn = lv_conn(to, error);
        if (dconn == NULL)
            return false;
    }
    dom = virDomainLookupByName(conn, vm);
    if (dom == NULL)
        return lv_error(error, "%s: domain '%s'", from->uri, vm);

    flags |= how->live ? VIR_MIGRATE_LIVE : VIR_MIGRATE_OFFLINE;
    if (how->peer_to_peer)
        flags |= VIR_MIGRATE_PEER2PEER;
    if (how->tunnelled)
        flags |= VIR_MIGRATE_TUNNELLED;
    if (how->persist)
        flags |= VIR_MIGRATE_PERSIST_DEST;
    if (how->undefine_source)
        flags |= VIR_MIGRATE_UNDEFINE_SOURCE;
    if (how->auto_converge)
        flags |= VIR_MIGRATE_AUTO_CONVERGE;
    if (how->compressed)
        flags |= VIR_MIGRATE_COMPRESSED;
    if (how->migrate_uri != NULL &&
        virTypedParamsAddString(&params, &n, &max, VIR_MIGRATE_PARAM_URI,
                                how->migrate_uri) < 0)
        ok = false;
    if (ok && how->bandwidth != 0 &&
        virTypedParamsAddULLong(&params, &n, &max, VIR_MIGRATE_PARAM_BANDWIDTH,
                                how->bandwidth) < 0)
        ok = false;
    if (!ok) {
        typed_params_free(&params, &n);
        return lv_error(error, "domain '%s': migration parameters", vm);
    }

    if (how->peer_to_peer) {
        /* The source daemon connects to the destination itself: the URI
         * must work from the source host. */
        ok = virDomainMigrateToURI3(dom, to->uri, params, (unsigned)n, flags) == 0;
    } else {
        g_autoptr(virDomain) moved = virDomainMigrate3(dom, dconn, params,
                                                       (unsigned)n, flags);
        ok = moved != NULL;
    }
    typed_params_free(&params, &n);
    if (!ok)
        return lv_error(error, "domain '%s': migration from %s to %s failed", vm,
                        from->uri, to->uri);
    return true;
}
