/* The source registry: manifest source kinds → their drivers. */
#include "config.h"

#include "sources/sources.h"
#include "util/error.h"

extern const struct source_ops source_xva_ops;
extern const struct source_ops source_xl_ops;

const struct source_ops *
source_ops_for(enum manifest_source_kind kind)
{
    switch (kind) {
    case MANIFEST_SOURCE_XVA:
        return &source_xva_ops;
    case MANIFEST_SOURCE_XL:
        return &source_xl_ops;
    case MANIFEST_SOURCE_XENSERVER:
    case MANIFEST_SOURCE_LIBVIRT:
    case MANIFEST_SOURCE_LIBVIRTXML:
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

void
source_close(struct source *s)
{
    if (s == NULL)
        return;
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
    if (v->disks != NULL)
        g_ptr_array_unref(v->disks);
    if (v->xen_networks != NULL)
        g_hash_table_unref(v->xen_networks);
    g_free(v);
}
