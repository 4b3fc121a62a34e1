/* mapping: the manifest's network mappings (virt-v2v's --mac / --network /
 * --bridge precedence) and disk placement applied to a converted domain
 * XML, plus the list of its disks. */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <libxml/tree.h>

#include "convert/convert-priv.h"
#include "util/autoptr.h"
#include "util/error.h"

/* The <devices> element of /domain, or NULL. */
static xmlNode *
devices_of(xmlDoc *doc)
{
    xmlNode *root = xmlDocGetRootElement(doc);

    if (root == NULL || !convert_is_el(root, "domain"))
        return NULL;
    return convert_first_child(root, "devices");
}

/* Remove every child element called name, except keep. */
static void
drop_children_except(xmlNode *parent, const char *name, const xmlNode *keep)
{
    xmlNode *c = parent->children;

    while (c != NULL) {
        xmlNode *next = c->next;
        if (c != keep && convert_is_el(c, name)) {
            xmlUnlinkNode(c);
            xmlFreeNode(c);
        }
        c = next;
    }
}

static void
drop_children(xmlNode *parent, const char *name)
{
    drop_children_except(parent, name, NULL);
}

/* Replace every <source> of parent by one new <source attr=value/> placed
 * where the first old one was (else after <after>, else first). */
static void
replace_source(xmlNode *parent, const char *attr, const char *value, const char *after)
{
    xmlNode *src = xmlNewDocNode(parent->doc, NULL, (const xmlChar *)"source", NULL);
    xmlNode *old = convert_first_child(parent, "source");
    xmlNode *anchor = convert_first_child(parent, after);

    xmlSetProp(src, (const xmlChar *)attr, (const xmlChar *)value);
    if (old != NULL)
        xmlAddPrevSibling(old, src);
    else if (anchor != NULL)
        xmlAddNextSibling(anchor, src);
    else if (parent->children != NULL)
        xmlAddPrevSibling(parent->children, src);
    else
        xmlAddChild(parent, src);
    drop_children_except(parent, "source", src);
}

/* ------------------------------------------------------------------ */
/* Networks */

/* What an interface is attached to at the source. */
struct nic {
    char *mac;               /* lower-case, may be NULL */
    char *type;              /* interface type attribute */
    char *bridge;            /* source bridge, may be NULL */
    char *network;           /* libvirt source network, may be NULL */
    const char *xen_network; /* Xen network name_label, borrowed, may be NULL */
};

static void
nic_release(struct nic *n)
{
    g_free(n->mac);
    g_free(n->type);
    g_free(n->bridge);
    g_free(n->network);
}

static bool
netmap_matches(const struct convert_netmap *m, const struct nic *n, bool wildcard)
{
    if ((m->from_value == NULL) != wildcard)
        return false;
    switch (m->from) {
    case CONVERT_NET_FROM_MAC:
        return n->mac != NULL && m->from_value != NULL &&
               g_ascii_strcasecmp(m->from_value, n->mac) == 0;
    case CONVERT_NET_FROM_NETWORK:
        if (m->from_value == NULL)
            return n->network != NULL || n->xen_network != NULL;
        return g_strcmp0(m->from_value, n->network) == 0 ||
               g_strcmp0(m->from_value, n->xen_network) == 0;
    case CONVERT_NET_FROM_BRIDGE:
        if (m->from_value == NULL)
            return n->bridge != NULL;
        return g_strcmp0(m->from_value, n->bridge) == 0;
    case CONVERT_NET_FROM_ANY:
        return true;
    case CONVERT_NET_FROM_LAST:
    default:
        return false;
    }
}

/* The mapping for n: exact MAC, exact network, exact bridge, any
 * network, any bridge, then any; the first one in list order within each
 * class.  NULL when none matches. */
static const struct convert_netmap *
netmap_find(const struct convert_netmap *maps, size_t n_maps, const struct nic *n)
{
    static const struct {
        enum convert_net_from from;
        bool wildcard;
    } order[] = {
        {CONVERT_NET_FROM_MAC, false},    {CONVERT_NET_FROM_NETWORK, false},
        {CONVERT_NET_FROM_BRIDGE, false}, {CONVERT_NET_FROM_NETWORK, true},
        {CONVERT_NET_FROM_BRIDGE, true},  {CONVERT_NET_FROM_ANY, true},
        {CONVERT_NET_FROM_ANY, false},
    };

    for (size_t k = 0; k < G_N_ELEMENTS(order); k++) {
        for (size_t i = 0; i < n_maps; i++) {
            if (maps[i].from == order[k].from && netmap_matches(&maps[i], n, order[k].wildcard))
                return &maps[i];
        }
    }
    return NULL;
}

static char *
nic_describe(const struct nic *n, unsigned index)
{
    g_autoptr(GString) s = g_string_new(NULL);
    g_autoptr(GString) what = g_string_new(NULL);

    if (n->bridge != NULL)
        g_string_append_printf(what, "bridge '%s'", n->bridge);
    if (n->network != NULL)
        g_string_append_printf(what, "%snetwork '%s'", what->len != 0 ? ", " : "", n->network);
    if (n->xen_network != NULL)
        g_string_append_printf(what, "%sXen network '%s'", what->len != 0 ? ", " : "",
                               n->xen_network);
    if (what->len == 0)
        g_string_append_printf(what, "type '%s'", n->type != NULL ? n->type : "");
    if (n->mac != NULL)
        g_string_append_printf(s, "interface %s (%s)", n->mac, what->str);
    else
        g_string_append_printf(s, "interface #%u (%s)", index, what->str);
    return g_string_free(g_steal_pointer(&s), FALSE);
}

bool
convert_map_networks(xmlDoc *doc, const struct convert_netmap *maps, size_t n_maps,
                     GHashTable *xen_networks, GPtrArray *explain, GError **error)
{
    xmlNode *devs = devices_of(doc);
    unsigned index = 0;

    if (devs == NULL)
        return true;
    for (xmlNode *c = devs->children; c != NULL; c = c->next) {
        struct nic n = {NULL};
        const struct convert_netmap *m;
        xmlNode *src;

        if (!convert_is_el(c, "interface"))
            continue;
        index++;
        src = convert_first_child(c, "source");
        n.mac = convert_prop(convert_first_child(c, "mac"), "address");
        if (n.mac != NULL) {
            char *lower = g_ascii_strdown(n.mac, -1);
            g_free(n.mac);
            n.mac = lower;
        }
        n.type = convert_prop(c, "type");
        if (g_strcmp0(n.type, "bridge") == 0)
            n.bridge = convert_prop(src, "bridge");
        else if (g_strcmp0(n.type, "network") == 0)
            n.network = convert_prop(src, "network");
        if (xen_networks != NULL && n.mac != NULL)
            n.xen_network = g_hash_table_lookup(xen_networks, n.mac);

        m = netmap_find(maps, n_maps, &n);
        if (m == NULL) {
            g_autofree char *what = nic_describe(&n, index);
            g_set_error(
                error, CONVOY_ERROR, CONVOY_ERROR_CONVERT,
                "%s has no network mapping; add one under the target's networks:, or a catch-all 'from: any'",
                what);
            nic_release(&n);
            return false;
        }
        if (explain != NULL) {
            static const char *const from[] = {"bridge:", "network:", "mac:", "*"};
            g_autofree char *what = nic_describe(&n, index);
            g_autofree char *id = g_strdup_printf("%s%s=%s:%s", from[m->from],
                                                  m->from_value != NULL ? m->from_value : "",
                                                  m->to == CONVERT_NET_TO_NETWORK ? "network" : "bridge",
                                                  m->to_value);
            convert_explain(explain, "--network", id, "connect %s to %s '%s'", what,
                            m->to == CONVERT_NET_TO_NETWORK ? "network" : "bridge", m->to_value);
        }
        nic_release(&n);

        if (m->to == CONVERT_NET_TO_NETWORK) {
            xmlSetProp(c, (const xmlChar *)"type", (const xmlChar *)"network");
            replace_source(c, "network", m->to_value, "mac");
        } else {
            xmlSetProp(c, (const xmlChar *)"type", (const xmlChar *)"bridge");
            replace_source(c, "bridge", m->to_value, "mac");
        }
        drop_children(c, "script");
        drop_children(c, "target");
        drop_children(c, "ip");
        drop_children(c, "backenddomain");
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Disks */

static xmlNode *
find_disk(xmlDoc *doc, const char *dev)
{
    xmlNode *devs = devices_of(doc);

    if (devs == NULL)
        return NULL;
    for (xmlNode *c = devs->children; c != NULL; c = c->next) {
        g_autofree char *d = NULL;

        if (!convert_is_el(c, "disk"))
            continue;
        d = convert_prop(convert_first_child(c, "target"), "dev");
        if (g_strcmp0(d, dev) == 0)
            return c;
    }
    return NULL;
}

bool
convert_set_disk_file(xmlDoc *doc, const char *dev, const char *path, const char *format,
                      GError **error)
{
    xmlNode *disk = find_disk(doc, dev);
    xmlNode *driver;

    if (disk == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONVERT,
                    "no disk with target '%s' in the domain XML", dev);
        return false;
    }
    xmlSetProp(disk, (const xmlChar *)"type", (const xmlChar *)"file");
    driver = convert_first_child(disk, "driver");
    if (driver == NULL) {
        driver = xmlNewDocNode(doc, NULL, (const xmlChar *)"driver", NULL);
        if (disk->children != NULL)
            xmlAddPrevSibling(disk->children, driver);
        else
            xmlAddChild(disk, driver);
    }
    xmlSetProp(driver, (const xmlChar *)"name", (const xmlChar *)"qemu");
    xmlSetProp(driver, (const xmlChar *)"type", (const xmlChar *)format);
    replace_source(disk, "file", path, "driver");
    drop_children(disk, "backingStore");
    return true;
}

static void
disk_free(gpointer p)
{
    struct convert_disk *d = p;

    g_free(d->dev);
    g_free(d->source);
    g_free(d->format);
    g_free(d);
}

GPtrArray *
convert_list_disks(xmlDoc *doc)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(disk_free);
    xmlNode *devs = devices_of(doc);

    if (devs == NULL)
        return out;
    for (xmlNode *c = devs->children; c != NULL; c = c->next) {
        g_autofree char *device = NULL;
        xmlNode *src;
        struct convert_disk *d;

        if (!convert_is_el(c, "disk"))
            continue;
        device = convert_prop(c, "device");
        if (device != NULL && strcmp(device, "disk") != 0)
            continue;
        d = g_new0(struct convert_disk, 1);
        d->dev = convert_prop(convert_first_child(c, "target"), "dev");
        d->format = convert_prop(convert_first_child(c, "driver"), "type");
        {
            g_autofree char *type = convert_prop(c, "type");
            d->network = g_strcmp0(type, "network") == 0;
        }
        src = convert_first_child(c, "source");
        static const char *const attrs[] = {"file", "dev", "volume", "name", "dir"};
        for (size_t i = 0; src != NULL && d->source == NULL && i < G_N_ELEMENTS(attrs); i++)
            d->source = convert_prop(src, attrs[i]);
        g_ptr_array_add(out, d);
    }
    return out;
}
