/* The inventory of a source for convoy discover: every VM it holds,
 * described read-only as the planner would, with the NICs and the guest
 * OS hint read from its domain XML.  A VM that cannot be described is
 * listed with its error instead of ending the inventory. */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <libxml/tree.h>

#include "convert/convert.h"
#include "sources/sources.h"
#include "sources/sources-priv.h"
#include "util/autoptr.h"
#include "util/error.h"

#define LIBOSINFO_NS "http://libosinfo.org/xmlns/libvirt/domain/1.0"

static void
nic_free(gpointer p)
{
    struct source_nic *n = p;

    g_free(n->device);
    g_free(n->mac);
    g_free(n->network);
    g_free(n->bridge);
    g_free(n);
}

void
source_found_free(gpointer p)
{
    struct source_found *f = p;

    if (f == NULL)
        return;
    source_entry_free(f->entry);
    source_vm_free(f->vm);
    g_free(f->error);
    if (f->nics != NULL)
        g_ptr_array_unref(f->nics);
    g_free(f);
}

/* "http://debian.org/debian/12" → "debian 12". */
static char *
libosinfo_hint(xmlNode *root)
{
    xmlNode *meta = convert_first_child(root, "metadata");

    for (xmlNode *c = meta != NULL ? meta->children : NULL; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || c->ns == NULL ||
            strcmp((const char *)c->ns->href, LIBOSINFO_NS) != 0)
            continue;
        xmlNode *os = convert_first_child(c, "os");
        g_autofree char *id = os != NULL ? convert_prop(os, "id") : NULL;
        const char *path;

        if (id == NULL)
            continue;
        path = strstr(id, "://");
        path = path != NULL ? strchr(path + 3, '/') : NULL;
        path = path != NULL ? path + 1 : id;
        return g_strdelimit(g_strdup(path), "/", ' ');
    }
    return NULL;
}

/* NICs in the XML's order (device = their index, as Xen numbers vifs);
 * the Xen network name by MAC where the source knows it. */
static GPtrArray *
domain_nics(const struct source_vm *v, xmlNode *root)
{
    GPtrArray *nics = g_ptr_array_new_with_free_func(nic_free);
    xmlNode *devices = convert_first_child(root, "devices");
    unsigned index = 0;

    for (xmlNode *c = devices != NULL ? devices->children : NULL; c != NULL; c = c->next) {
        struct source_nic *n;
        xmlNode *mac;
        xmlNode *src;

        if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "interface") != 0)
            continue;
        n = g_new0(struct source_nic, 1);
        n->device = g_strdup_printf("%u", index++);
        mac = convert_first_child(c, "mac");
        if (mac != NULL) {
            g_autofree char *m = convert_prop(mac, "address");
            n->mac = m != NULL ? g_ascii_strdown(m, -1) : NULL;
        }
        src = convert_first_child(c, "source");
        if (src != NULL) {
            n->bridge = convert_prop(src, "bridge");
            n->network = convert_prop(src, "network");
        }
        if (n->mac != NULL && v->xen_networks != NULL &&
            g_hash_table_lookup(v->xen_networks, n->mac) != NULL) {
            const char *net = g_hash_table_lookup(v->xen_networks, n->mac);
            g_free(n->network);
            n->network = *net != '\0' ? g_strdup(net) : NULL;
        }
        g_ptr_array_add(nics, n);
    }
    return nics;
}

/* Describe one listed VM. */
static void
discover_one(struct source *s, struct source_found *f)
{
    struct manifest_vm mvm = {0};
    g_autoptr(GError) err = NULL;
    g_autoptr(xmlDoc) doc = NULL;

    if (f->entry->error != NULL) {
        f->error = g_strdup(f->entry->error);
        return;
    }
    mvm.name = f->entry->key;
    mvm.file = f->entry->file;
    mvm.source = s->ms->name;
    f->vm = s->ops->describe(s, &mvm, &err);
    if (f->vm == NULL) {
        f->error = g_strdup(err->message);
        return;
    }
    doc = convert_xml_parse(f->vm->domain_xml, strlen(f->vm->domain_xml), f->entry->name, &err);
    if (doc == NULL) {
        f->error = g_strdup(err->message);
        return;
    }
    f->nics = domain_nics(f->vm, xmlDocGetRootElement(doc));
    if (f->vm->os_hint == NULL)
        f->vm->os_hint = libosinfo_hint(xmlDocGetRootElement(doc));
}

GPtrArray *
source_discover(struct source *s, GError **error)
{
    g_autoptr(GPtrArray) entries = NULL;
    g_autoptr(GPtrArray) out = NULL;

    if (s->ops->list == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "source '%s': a %s source cannot list its VMs; name them in the manifest instead",
                    s->ms->name, s->ops->kind);
        return NULL;
    }
    entries = s->ops->list(s, error);
    if (entries == NULL)
        return NULL;
    out = g_ptr_array_new_with_free_func(source_found_free);
    for (guint i = 0; i < entries->len; i++) {
        struct source_found *f = g_new0(struct source_found, 1);

        f->entry = g_steal_pointer(&entries->pdata[i]);
        discover_one(s, f);
        g_ptr_array_add(out, f);
    }
    return g_steal_pointer(&out);
}
