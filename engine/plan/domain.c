/* One VM's domain: the source's Xen domain XML converted by its rule sets,
 * the manifest's overrides (name, memory, vcpus), its disks placed on the
 * target (pools.map, volumes:) and its networks mapped. */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "convert/convert.h"
#include "plan/plan.h"
#include "plan/plan-priv.h"
#include "util/autoptr.h"
#include "util/error.h"
#include "util/hash.h"

/* Set the text of every node matching xpath (if any).  The text is text,
 * never markup: xmlNodeSetContent() on an element parses entity
 * references ("a&b" became an empty <name/>, "x&amp;y" became "x&y"),
 * so the children are dropped and the text added, which escapes it. */
static void
set_text(xmlDoc *doc, const char *xpath, const char *text)
{
    g_autoptr(xmlXPathContext) ctx = xmlXPathNewContext(doc);
    g_autoptr(xmlXPathObject) obj = NULL;

    if (ctx == NULL)
        return;
    obj = xmlXPathEvalExpression((const xmlChar *)xpath, ctx);
    if (obj == NULL || obj->nodesetval == NULL)
        return;
    for (int i = 0; i < obj->nodesetval->nodeNr; i++) {
        xmlNode *n = obj->nodesetval->nodeTab[i];
        if (n->type == XML_ELEMENT_NODE) {
            xmlNodeSetContent(n, NULL);
            xmlNodeAddContent(n, (const xmlChar *)text);
        } else {
            xmlNodeSetContent(n, (const xmlChar *)text);
        }
        if (n->type == XML_ELEMENT_NODE && xmlHasProp(n, (const xmlChar *)"unit"))
            xmlSetProp(n, (const xmlChar *)"unit", (const xmlChar *)"KiB");
    }
}

/* Manifest overrides on the converted XML: name, memory, vcpus, and the
 * target's domain type (qemu where KVM cannot run guests). */
static void
apply_overrides(xmlDoc *doc, const struct manifest_vm *mvm,
                const struct manifest_target *mt)
{
    xmlNode *root = xmlDocGetRootElement(doc);

    if (root != NULL && mt->domain_type != NULL)
        xmlSetProp(root, (const xmlChar *)"type", (const xmlChar *)mt->domain_type);
    set_text(doc, "/domain/name", manifest_vm_target_name(mvm));
    if (mvm->memory != 0) {
        g_autofree char *kib = g_strdup_printf("%" G_GUINT64_FORMAT, mvm->memory / 1024);
        set_text(doc, "/domain/memory", kib);
        set_text(doc, "/domain/currentMemory", kib);
    }
    if (mvm->vcpus != 0) {
        g_autofree char *n = g_strdup_printf("%u", mvm->vcpus);
        g_autoptr(xmlXPathContext) ctx = xmlXPathNewContext(doc);
        g_autoptr(xmlXPathObject) obj = NULL;

        set_text(doc, "/domain/vcpu", n);
        obj = xmlXPathEvalExpression((const xmlChar *)"/domain/vcpu", ctx);
        if (obj != NULL && obj->nodesetval != NULL && obj->nodesetval->nodeNr > 0)
            xmlUnsetProp(obj->nodesetval->nodeTab[0], (const xmlChar *)"current");
    }
}

/* The pool a disk lands in: the target's pools.map by the disk's SR
 * name_label (XenServer, XVA) or by its path or a folder above it (file
 * sources, the longest match), else pools.default (*pool NULL).  With a
 * map, a disk that matches nothing and no default is a plan-time error
 * naming it. */
static bool
disk_pool(const struct manifest_target *mt, const struct source_disk *sd,
          const char **pool, const char **key_out, GError **error)
{
    GHashTableIter it;
    gpointer k, val;
    size_t best = 0;

    *pool = NULL;
    *key_out = NULL;
    if (mt->pool_map == NULL || g_hash_table_size(mt->pool_map) == 0)
        return true;
    if (sd->storage != NULL) {
        if (g_hash_table_lookup_extended(mt->pool_map, sd->storage, &k, &val)) {
            *pool = val;
            *key_out = k;
            return true;
        }
        g_hash_table_iter_init(&it, mt->pool_map);
        while (sd->storage[0] == '/' && g_hash_table_iter_next(&it, &k, &val)) {
            const char *key = k;
            size_t n = strlen(key);
            while (n > 1 && key[n - 1] == '/')
                n--;
            if (key[0] == '/' && n > best && strncmp(sd->storage, key, n) == 0 &&
                (sd->storage[n] == '/' || n == 1)) {
                best = n;
                *pool = val;
                *key_out = key;
            }
        }
        if (*pool != NULL)
            return true;
    }
    if (mt->pool_default != NULL)
        return true;
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONVERT,
                "disk '%s' (%s '%s') has no storage pool on target '%s': add it to pools.map, or set pools.default",
                sd->xen_dev, sd->storage != NULL && sd->storage[0] == '/' ? "path" : "SR",
                sd->storage != NULL ? sd->storage : "unknown", mt->name);
    return false;
}

/* Every volumes: key must name a disk the VM converted to. */
static bool
check_volume_names(const struct plan_vm *v, GError **error)
{
    GHashTableIter it;
    gpointer k;

    if (v->mvm->volumes == NULL)
        return true;
    g_hash_table_iter_init(&it, v->mvm->volumes);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        bool found = false;
        for (guint i = 0; i < v->disks->len && !found; i++)
            found = strcmp(((const struct plan_disk *)v->disks->pdata[i])->dev, k) == 0;
        if (found)
            continue;
        g_autoptr(GString) devs = g_string_new(NULL);
        for (guint i = 0; i < v->disks->len; i++)
            g_string_append_printf(devs, "%s%s", i ? ", " : "",
                                   ((const struct plan_disk *)v->disks->pdata[i])->dev);
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONVERT,
                    "volumes: '%s' is not a disk of the converted domain; its disks are %s",
                    (const char *)k, devs->len > 0 ? devs->str : "none");
        return false;
    }
    return true;
}

/* Convert the VM's domain XML and map its disks and networks. */
bool
plan_eval_domain(struct plan_vm *v, GPtrArray *sets, GPtrArray *warnings, GError **error)
{
    g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(GArray) maps = g_array_new(FALSE, TRUE, sizeof(struct convert_netmap));
    g_autoptr(GPtrArray) xdisks = NULL;
    g_autoptr(GString) rules_text = g_string_new(NULL);
    struct convert_request req = {0};

    for (guint i = 0; i < sets->len; i++) {
        const struct rule_set *rs = sets->pdata[i];
        g_string_append_printf(rules_text, "%s@%u:%s\n", rule_set_name(rs),
                               rule_set_version(rs), rule_set_digest(rs));
    }
    v->rules_text = g_strdup(rules_text->str);
    doc = convert_xml_parse(v->sv->domain_xml, strlen(v->sv->domain_xml),
                            v->sv->location, error);
    if (doc == NULL)
        return false;
    v->changes = g_ptr_array_new_with_free_func((GDestroyNotify)convert_change_free);
    for (guint i = 0; i < v->mtgt->networks->len; i++) {
        const struct manifest_netmap *n = v->mtgt->networks->pdata[i];
        struct convert_netmap cm = {
            .from = (enum convert_net_from)n->from,
            .from_value = n->from_value,
            .to = (enum convert_net_to)n->to,
            .to_value = n->to_value,
        };
        g_array_append_val(maps, cm);
    }
    req.input_name = v->sv->location;
    req.count_changes = true;
    req.sets = (struct rule_set *const *)sets->pdata;
    req.n_sets = sets->len;
    req.map_networks = true;
    req.netmaps = (const struct convert_netmap *)(void *)maps->data;
    req.n_netmaps = maps->len;
    req.xen_networks = v->sv->xen_networks;
    req.boot_dir = v->mvm->boot_dir;
    g_autoptr(GArray) cdmaps = g_array_new(FALSE, TRUE, sizeof(struct convert_cdmap));
    if (v->mvm->cdroms != NULL) {
        g_autoptr(GList) devs = g_list_sort(g_hash_table_get_keys(v->mvm->cdroms),
                                            (GCompareFunc)strcmp);
        for (GList *l = devs; l != NULL; l = l->next) {
            struct convert_cdmap cm = {
                .dev = l->data,
                .iso = g_hash_table_lookup(v->mvm->cdroms, l->data),
            };
            g_array_append_val(cdmaps, cm);
        }
    }
    req.cdmaps = (const struct convert_cdmap *)(void *)cdmaps->data;
    req.n_cdmaps = cdmaps->len;
    if (!convert_domain(doc, &req, v->changes, notes, error))
        return false;
    /* The conversion's warnings ("LOCATION: warning: TEXT") go to the
     * plan, per VM. */
    for (guint i = 0; i < notes->len; i++) {
        const char *n = notes->pdata[i];
        const char *w = strstr(n, ": warning: ");
        if (w != NULL)
            g_ptr_array_add(warnings, g_strdup_printf("vm '%s': %s", v->mvm->name,
                                                      w + strlen(": warning: ")));
    }

    xdisks = convert_list_disks(doc);
    v->disks = g_ptr_array_new_with_free_func(plan_disk_free);
    for (guint i = 0; i < v->sv->disks->len; i++) {
        const struct source_disk *sd = v->sv->disks->pdata[i];
        const struct convert_disk *xd = NULL;
        struct plan_disk *pd;

        for (guint k = 0; k < xdisks->len && xd == NULL; k++) {
            const struct convert_disk *c = xdisks->pdata[k];
            if (g_strcmp0(c->source, sd->xml_source) == 0)
                xd = c;
        }
        if (xd == NULL) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONVERT,
                        "disk '%s' (%s) is not in the converted domain XML; a rule removed it",
                        sd->xen_dev, sd->id);
            return false;
        }
        const char *pool = NULL;
        const char *pool_key = NULL;
        if (!disk_pool(v->mtgt, sd, &pool, &pool_key, error))
            return false;
        pd = g_new0(struct plan_disk, 1);
        pd->sdisk = sd;
        pd->dev = g_strdup(xd->dev);
        pd->pool_key = pool_key;
        pd->location = v->tgt->ops->disk_location(v->tgt,
                                                  manifest_vm_target_name(v->mvm),
                                                  xd->dev, v->mvm->disk_format,
                                                  pool,
                                                  v->mvm->volumes != NULL ?
                                                  g_hash_table_lookup(v->mvm->volumes, xd->dev) :
                                                  NULL);
        g_ptr_array_add(v->disks, pd);
        if (v->tgt->ops->set_disk != NULL) {
            if (!v->tgt->ops->set_disk(v->tgt, doc, pd->dev, pd->location,
                                       v->mvm->disk_format, error))
                return false;
        } else if (!convert_set_disk_file(doc, pd->dev, pd->location,
                                          disk_format_name(v->mvm->disk_format),
                                          error)) {
            return false;
        }
    }
    if (!check_volume_names(v, error))
        return false;
    apply_overrides(doc, v->mvm, v->mtgt);
    v->kvm_xml = convert_xml_format(doc);
    if (!convert_xml_check_domain(v->kvm_xml, manifest_vm_target_name(v->mvm), error))
        return false;
    /* The steps' inputs name these digests; computed here, on the
     * evaluation's threads. */
    v->kvm_xml_sha256 = hash_sha256_hex(v->kvm_xml, strlen(v->kvm_xml));
    v->source_xml_sha256 = hash_sha256_hex(v->sv->domain_xml,
                                           strlen(v->sv->domain_xml));
    return true;
}
