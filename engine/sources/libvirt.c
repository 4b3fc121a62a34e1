/* The libvirt source: any libvirt URI (xen:///system, xen+ssh://…, even
 * qemu+ssh:// for KVM re-homing).  Discovery reads the domain's
 * persistent XML (never the secure one); disks are read by local path,
 * so only local connections can copy yet; shutdown is virDomainShutdown
 * polled up to shutdown_timeout. */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "sources/sources.h"
#include "sources/sources-priv.h"
#include "util/error.h"

extern const struct source_ops source_libvirt_ops;

#define LV_SHUTDOWN_DEFAULT 600

struct lv_source {
    virConnectPtr conn;   /* read-only until a shutdown needs more */
    bool read_write;
    bool remote;
};

static void
lv_error(GError **error, const char *source_name, const char *what)
{
    const char *msg = virGetLastErrorMessage();

    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                "libvirt: source '%s': %s: %s", source_name, what,
                msg != NULL ? msg : "unknown error");
}

static void
lv_silence(void *opaque, virErrorPtr err)
{
    /* Errors are reported through GError, not on stderr. */
}

static struct source *
lv_open(const struct manifest_source *ms, GError **error)
{
    struct lv_source *ls = g_new0(struct lv_source, 1);
    struct source *s;
    g_autoptr(GUri) u = g_uri_parse(ms->uri, G_URI_FLAGS_NONE, NULL);

    virSetErrorFunc(NULL, lv_silence);
    ls->conn = virConnectOpenReadOnly(ms->uri);
    if (ls->conn == NULL) {
        lv_error(error, ms->name, "cannot connect");
        g_free(ls);
        return NULL;
    }
    ls->remote = u != NULL && g_uri_get_host(u) != NULL &&
                 g_uri_get_host(u)[0] != '\0';
    s = g_new0(struct source, 1);
    s->ops = &source_libvirt_ops;
    s->ms = ms;
    s->priv = ls;
    return s;
}

static void
lv_close(struct source *s)
{
    struct lv_source *ls = s->priv;

    if (ls->conn != NULL)
        virConnectClose(ls->conn);
    g_free(ls);
    g_free(s);
}

static virDomainPtr
lv_lookup(struct source *s, const char *name, GError **error)
{
    struct lv_source *ls = s->priv;
    virDomainPtr dom = virDomainLookupByName(ls->conn, name);

    if (dom == NULL) {
        g_autofree char *what = g_strdup_printf("domain '%s'", name);
        lv_error(error, s->ms->name, what);
        if (error != NULL && *error != NULL)
            (*error)->code = CONVOY_ERROR_NOT_FOUND;
    }
    return dom;
}

static struct source_vm *
lv_describe(struct source *s, const struct manifest_vm *vm, GError **error)
{
    struct lv_source *ls = s->priv;
    virDomainPtr dom = lv_lookup(s, vm->name, error);
    g_autofree char *where = NULL;
    char *xml;
    char *id;
    struct source_vm *v;
    int state = 0;

    if (dom == NULL)
        return NULL;
    /* INACTIVE: the persistent definition, stable across boots; never
     * VIR_DOMAIN_XML_SECURE, which would bring passwords along. */
    xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    if (xml == NULL) {
        g_autofree char *what = g_strdup_printf("domain '%s': virDomainGetXMLDesc", vm->name);
        lv_error(error, s->ms->name, what);
        virDomainFree(dom);
        return NULL;
    }
    if (virDomainGetState(dom, &state, NULL, 0) < 0)
        state = VIR_DOMAIN_NOSTATE;
    virDomainFree(dom);
    where = g_strdup_printf("%s domain %s", s->ms->uri, vm->name);
    if (ls->remote) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "source '%s': the disks of a remote libvirt connection cannot be copied yet (virStorageVolDownload is not implemented); use a local URI or a libvirtxml source",
                    s->ms->name);
        free(xml);
        return NULL;
    }
    v = source_vm_from_domain_xml(xml, strlen(xml), where, SOURCE_XML_DISKS_PROBE,
                                  error);
    free(xml);
    if (v == NULL)
        return NULL;
    id = g_strdup_printf("libvirt_uri=%s\n%s", s->ms->uri, v->identity);
    g_free(v->identity);
    v->identity = id;
    v->powered_on = state == VIR_DOMAIN_RUNNING || state == VIR_DOMAIN_PAUSED ||
                    state == VIR_DOMAIN_BLOCKED || state == VIR_DOMAIN_PMSUSPENDED;
    return v;
}

static bool
lv_copy_disk(struct source *s, const struct source_vm *v,
             const struct source_disk *d, const struct source_sink *sink,
             void *opaque, GError **error)
{
    return source_copy_local_disk(d, sink, opaque, error);
}

static bool
lv_shutdown(struct source *s, const struct source_vm *v, char **how,
            GError **error)
{
    struct lv_source *ls = s->priv;
    guint64 timeout = s->ms->shutdown_timeout != 0 ? s->ms->shutdown_timeout
                                                   : LV_SHUTDOWN_DEFAULT;
    gint64 deadline;
    virDomainPtr dom;
    int state = 0;

    if (!ls->read_write) {
        virConnectPtr rw = virConnectOpen(s->ms->uri);
        if (rw == NULL) {
            lv_error(error, s->ms->name, "cannot connect read-write to shut down");
            return false;
        }
        virConnectClose(ls->conn);
        ls->conn = rw;
        ls->read_write = true;
    }
    dom = lv_lookup(s, v->name, error);
    if (dom == NULL)
        return false;
    if (virDomainGetState(dom, &state, NULL, 0) == 0 && state == VIR_DOMAIN_SHUTOFF) {
        virDomainFree(dom);
        *how = g_strdup("already shut off");
        return true;
    }
    if (virDomainShutdown(dom) < 0) {
        g_autofree char *what = g_strdup_printf("domain '%s': virDomainShutdown", v->name);
        lv_error(error, s->ms->name, what);
        virDomainFree(dom);
        return false;
    }
    deadline = g_get_monotonic_time() + (gint64)timeout * G_USEC_PER_SEC;
    while (virDomainGetState(dom, &state, NULL, 0) == 0 &&
           state != VIR_DOMAIN_SHUTOFF && g_get_monotonic_time() < deadline)
        g_usleep(200 * 1000);
    virDomainFree(dom);
    if (state != VIR_DOMAIN_SHUTOFF) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "source '%s': domain '%s' did not shut down within %" G_GUINT64_FORMAT " s",
                    s->ms->name, v->name, timeout);
        return false;
    }
    *how = g_strdup("clean");
    return true;
}

const struct source_ops source_libvirt_ops = {
    .kind = "libvirt",
    .open = lv_open,
    .describe = lv_describe,
    .copy_disk = lv_copy_disk,
    .shutdown = lv_shutdown,
    .close = lv_close,
};
