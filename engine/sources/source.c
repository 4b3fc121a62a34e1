/* The source registry: manifest source kinds → their drivers. */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <libxml/tree.h>

#include "convert/convert.h"
#include "sources/sources.h"
#include "sources/sources-priv.h"
#include "util/autoptr.h"
#include "util/error.h"
#include "xva/xva.h"

extern const struct source_ops source_xva_ops;
extern const struct source_ops source_xl_ops;
extern const struct source_ops source_xenserver_ops;
extern const struct source_ops source_libvirtxml_ops;
extern const struct source_ops source_libvirt_ops;

const struct source_ops *
source_ops_for(enum manifest_source_kind kind)
{
    switch (kind) {
    case MANIFEST_SOURCE_XVA:
        return &source_xva_ops;
    case MANIFEST_SOURCE_XL:
        return &source_xl_ops;
    case MANIFEST_SOURCE_XENSERVER:
        return &source_xenserver_ops;
    case MANIFEST_SOURCE_LIBVIRTXML:
        return &source_libvirtxml_ops;
    case MANIFEST_SOURCE_LIBVIRT:
        return &source_libvirt_ops;
    case MANIFEST_SOURCE_LAST:
    default:
        return NULL;
    }
}

struct source *
source_open(const struct manifest_source *ms, GError **error)
{
    const struct source_ops *ops = source_ops_for(ms->kind);

    if (ops == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "source '%s': type '%s' is not supported yet",
                    ms->name, manifest_source_kind_name(ms->kind));
        return NULL;
    }
    return ops->open(ms, error);
}

unsigned
source_caps(const struct source *s)
{
    return s->ops->caps & ~s->caps_dropped;
}

void
source_close(struct source *s)
{
    if (s == NULL)
        return;
    g_clear_pointer(&s->note, g_free);
    s->ops->close(s);
}

void
source_vm_free(struct source_vm *v)
{
    if (v == NULL)
        return;
    g_free(v->name);
    g_free(v->uuid);
    g_free(v->location);
    g_free(v->identity);
    g_free(v->domain_xml);
    g_free(v->power_state);
    g_free(v->os_hint);
    if (v->disks != NULL)
        g_ptr_array_unref(v->disks);
    if (v->xen_networks != NULL)
        g_hash_table_unref(v->xen_networks);
    if (v->warnings != NULL)
        g_ptr_array_unref(v->warnings);
    g_free(v);
}

void
source_entry_free(gpointer p)
{
    struct source_entry *e = p;

    if (e == NULL)
        return;
    g_free(e->name);
    g_free(e->key);
    g_free(e->file);
    g_free(e->error);
    g_free(e);
}

int
source_entry_cmp(gconstpointer a, gconstpointer b)
{
    const struct source_entry *x = *(struct source_entry *const *)a;
    const struct source_entry *y = *(struct source_entry *const *)b;
    int c = strcmp(x->name, y->name);

    return c != 0 ? c : g_strcmp0(x->file != NULL ? x->file : x->key,
                                  y->file != NULL ? y->file : y->key);
}

void
source_disk_free(gpointer p)
{
    struct source_disk *d = p;

    g_free(d->id);
    g_free(d->xen_dev);
    g_free(d->xml_source);
    g_free(d->storage);
    g_free(d->volume);
    g_free(d->pool);
    g_free(d);
}

/* The source_vm of an ova.xml: domain XML, disks, networks. */
struct source_vm *
source_vm_from_meta(const struct xva_meta *meta, const char *where, GError **error)
{
    g_autoptr(source_vm) v = g_new0(struct source_vm, 1);
    g_autoptr(xmlDoc) doc = NULL;

    v->name = g_strdup(meta->vm.name_label);
    v->uuid = g_strdup(meta->vm.uuid);
    v->location = g_strdup(where);
    v->os_hint = g_strdup(meta->vm.os_hint);
    doc = convert_domain_from_ova(meta, error);
    if (doc == NULL) {
        g_prefix_error(error, "'%s': ", where);
        return NULL;
    }
    v->domain_xml = convert_xml_format(doc);
    v->disks = g_ptr_array_new_with_free_func(source_disk_free);
    for (guint i = 0; i < meta->vm.vbds->len; i++) {
        const struct xva_vbd *vbd = meta->vm.vbds->pdata[i];
        struct source_disk *d;

        if (vbd->is_cd || vbd->vdi == NULL || !vbd->vdi->has_data)
            continue;
        d = g_new0(struct source_disk, 1);
        d->id = g_strdup(vbd->vdi->ref);
        d->xen_dev = g_strdup(vbd->device);
        d->xml_source = g_strconcat(CONVERT_XVA_VDI_PREFIX, vbd->vdi->ref, NULL);
        d->size = vbd->vdi->virtual_size;
        d->storage = g_strdup(vbd->vdi->sr_name);
        g_ptr_array_add(v->disks, d);
    }
    v->xen_networks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (guint i = 0; i < meta->vm.vifs->len; i++) {
        const struct xva_vif *vif = meta->vm.vifs->pdata[i];
        g_hash_table_insert(v->xen_networks, g_ascii_strdown(vif->mac, -1),
                            g_strdup(vif->network_name));
    }
    return g_steal_pointer(&v);
}
