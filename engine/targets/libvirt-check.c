/* The libvirt target's plan-time check (read-only): pools exist, are
 * active and have room; mapped networks and bridges exist; no domain or
 * volume of the same name exists that convoy did not create; the host can
 * run the converted domain (domain capabilities). */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/xpath.h>

#include "targets/libvirt-priv.h"
#include "util/autoptr.h"
#include "util/size.h"

static void
add(GPtrArray *list, char *msg)
{
    g_ptr_array_add(list, msg);
}

static const char *
last_error(void)
{
    const char *m = virGetLastErrorMessage();
    return m != NULL ? m : "unknown error";
}

static uint64_t *
counter(GHashTable *h, const char *pool)
{
    uint64_t *c = g_hash_table_lookup(h, pool);

    if (c == NULL) {
        c = g_new0(uint64_t, 1);
        g_hash_table_insert(h, g_strdup(pool), c);
    }
    return c;
}

/* One disk: its pool and volume. */
static void
check_disk(struct lv_target *lt, virConnectPtr conn,
           const struct target_vm_req *req, const struct target_disk_req *d,
           GHashTable *pools_seen, GPtrArray *problems)
{
    g_autofree char *pname = NULL;
    g_autofree char *vname = NULL;
    g_autoptr(virStoragePool) pool = NULL;
    g_autoptr(virStorageVol) vol = NULL;
    int active;

    if (!lv_split_location(d->location, &pname, &vname)) {
        add(problems, g_strdup_printf("internal error: disk %s: bad volume location '%s'",
                                      d->dev, d->location));
        return;
    }
    pool = virStoragePoolLookupByName(conn, pname);
    if (pool == NULL) {
        if (!g_hash_table_contains(pools_seen, pname))
            add(problems, g_strdup_printf("libvirt: storage pool '%s' does not exist on '%s' (disk %s); create it or map the disk to another pool",
                                          pname, lt->uri, d->dev));
        g_hash_table_add(pools_seen, g_strdup(pname));
        return;
    }
    active = virStoragePoolIsActive(pool);
    if (active != 1) {
        if (!g_hash_table_contains(pools_seen, pname))
            add(problems, g_strdup_printf("libvirt: storage pool '%s' on '%s' is not active (disk %s); start it with virsh pool-start",
                                          pname, lt->uri, d->dev));
        g_hash_table_add(pools_seen, g_strdup(pname));
        return;
    }
    g_hash_table_add(pools_seen, g_strdup(pname));
    vol = virStorageVolLookupByName(pool, vname);
    if (vol != NULL) {
        if (!d->owned && !req->adopt)
            add(problems, g_strdup_printf("conflict: volume '%s' already exists in pool '%s' and convoy did not create it; it is never overwritten (set 'adopt: true' on the vm to take it over)",
                                          vname, pname));
        return;       /* it exists: no new room needed */
    }
    *counter(lt->planned_max, pname) += d->size;
    if (d->allocation == DISK_ALLOCATION_PREALLOCATED)
        *counter(lt->planned, pname) += d->size;
}

/* Room in every pool the disks use, over all VMs checked so far. */
static void
check_room(struct lv_target *lt, virConnectPtr conn, GHashTable *pools_seen,
           GPtrArray *problems, GPtrArray *notes)
{
    GHashTableIter it;
    gpointer key;

    g_hash_table_iter_init(&it, pools_seen);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        const char *pname = key;
        g_autoptr(virStoragePool) pool = virStoragePoolLookupByName(conn, pname);
        virStoragePoolInfo info;
        uint64_t prealloc = *counter(lt->planned, pname);
        uint64_t max = *counter(lt->planned_max, pname);

        if (pool == NULL || virStoragePoolIsActive(pool) != 1)
            continue;
        virStoragePoolRefresh(pool, 0);
        if (virStoragePoolGetInfo(pool, &info) < 0) {
            add(problems, g_strdup_printf("libvirt: storage pool '%s': cannot read its size: %s",
                                          pname, last_error()));
            continue;
        }
        g_autofree char *avail = size_format(info.available);
        g_autofree char *pre = size_format(prealloc);
        g_autofree char *mx = size_format(max);
        if (prealloc > info.available) {
            add(problems, g_strdup_printf("libvirt: storage pool '%s' has %s available, but the preallocated disks planned there need %s",
                                          pname, avail, pre));
        } else if (max > info.available) {
            add(notes, g_strdup_printf("storage pool '%s' has %s available; the disks planned there need %s preallocated and up to %s sparse (their virtual size), which may not fit",
                                       pname, avail, pre, mx));
        }
    }
}

static bool
bridge_exists_locally(const char *name)
{
    g_autofree char *path = g_build_filename("/sys/class/net", name, "bridge", NULL);

    return g_file_test(path, G_FILE_TEST_IS_DIR);
}

/* Every network and bridge the converted XML's interfaces use. */
static void
check_networks(struct lv_target *lt, virConnectPtr conn, const char *xml,
               GPtrArray *problems, GPtrArray *notes)
{
    g_autoptr(xmlDoc) doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                                          XML_PARSE_NONET | XML_PARSE_NOERROR |
                                          XML_PARSE_NOWARNING);
    g_autoptr(xmlXPathContext) ctx = NULL;
    g_autoptr(xmlXPathObject) obj = NULL;
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    if (doc == NULL || (ctx = xmlXPathNewContext(doc)) == NULL)
        return;
    obj = xmlXPathEvalExpression((const xmlChar *)"/domain/devices/interface/source", ctx);
    if (obj == NULL || obj->nodesetval == NULL)
        return;
    for (int i = 0; i < obj->nodesetval->nodeNr; i++) {
        xmlNode *src = obj->nodesetval->nodeTab[i];
        g_autofree char *net = (char *)xmlGetProp(src, (const xmlChar *)"network");
        g_autofree char *br = (char *)xmlGetProp(src, (const xmlChar *)"bridge");

        if (net != NULL && g_hash_table_add(seen, g_strconcat("n:", net, NULL))) {
            g_autoptr(virNetwork) n = virNetworkLookupByName(conn, net);
            if (n == NULL)
                add(problems, g_strdup_printf("libvirt: network '%s' does not exist on '%s'; define it or map the interface to another network",
                                              net, lt->uri));
            else if (virNetworkIsActive(n) != 1)
                add(notes, g_strdup_printf("network '%s' on '%s' is not active; the domain cannot start until it is",
                                           net, lt->uri));
        }
        if (br != NULL && g_hash_table_add(seen, g_strconcat("b:", br, NULL))) {
            if (!lt->remote) {
                if (!bridge_exists_locally(br))
                    add(problems, g_strdup_printf("bridge '%s' does not exist on this host (no /sys/class/net/%s/bridge)",
                                                  br, br));
                continue;
            }
            g_autoptr(virInterface) ifc = virInterfaceLookupByName(conn, br);
            if (ifc == NULL) {
                virErrorPtr e = virGetLastError();
                if (e != NULL && e->code == VIR_ERR_NO_INTERFACE)
                    add(problems, g_strdup_printf("libvirt: bridge '%s' does not exist on '%s'",
                                                  br, lt->uri));
                else
                    add(notes, g_strdup_printf("cannot check bridge '%s' on '%s': %s",
                                               br, lt->uri, last_error()));
            }
        }
    }
}

/* Another domain already holding this VM's UUID: libvirt would refuse the
 * define, so say it at plan time. */
static void
check_uuid(struct lv_target *lt, virConnectPtr conn,
           const struct target_vm_req *req, GPtrArray *problems)
{
    g_autoptr(xmlDoc) doc = xmlReadMemory(req->xml, (int)strlen(req->xml), "domain.xml",
                                          NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
                                          XML_PARSE_NOWARNING);
    g_autoptr(xmlXPathContext) ctx = NULL;
    g_autoptr(xmlXPathObject) obj = NULL;
    g_autoptr(virDomain) other = NULL;
    const char *uuid;

    if (doc == NULL || (ctx = xmlXPathNewContext(doc)) == NULL)
        return;
    obj = xmlXPathEvalExpression((const xmlChar *)"string(/domain/uuid)", ctx);
    if (obj == NULL || obj->stringval == NULL || obj->stringval[0] == '\0')
        return;
    uuid = (const char *)obj->stringval;
    other = virDomainLookupByUUIDString(conn, uuid);
    if (other != NULL && g_strcmp0(virDomainGetName(other), req->vm) != 0)
        add(problems, g_strdup_printf("conflict: domain '%s' on '%s' already has uuid %s, the uuid of this vm",
                                      virDomainGetName(other), lt->uri, uuid));
}

/* KiB in a libvirt memory element's unit (libvirt's scaled integers);
 * 0 for a unit it does not know. */
static uint64_t
unit_kib(const char *unit)
{
    static const struct {
        const char *name;
        uint64_t kib;
    } units[] = {
        {"KiB", 1}, {"k", 1}, {"K", 1}, {"M", 1024}, {"MiB", 1024},
        {"G", 1024 * 1024}, {"GiB", 1024 * 1024},
        {"T", 1024ULL * 1024 * 1024}, {"TiB", 1024ULL * 1024 * 1024},
    };

    if (unit == NULL || unit[0] == '\0')
        return 1;
    for (size_t i = 0; i < G_N_ELEMENTS(units); i++) {
        if (strcmp(unit, units[i].name) == 0)
            return units[i].kib;
    }
    return 0;
}

/* The VM's memory and vcpus against what the host can give: its memory
 * (virNodeGetInfo) and the most vcpus of a domain of this type
 * (virConnectGetMaxVcpus).  A value the host does not tell is not
 * checked. */
static void
check_size(struct lv_target *lt, virConnectPtr conn,
           const struct target_vm_req *req, GPtrArray *problems)
{
    g_autoptr(xmlDoc) doc = xmlReadMemory(req->xml, (int)strlen(req->xml), "domain.xml",
                                          NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
                                          XML_PARSE_NOWARNING);
    xmlNode *root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
    virNodeInfo info;

    if (root == NULL)
        return;
    for (xmlNode *n = root->children; n != NULL; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (xmlStrcmp(n->name, BAD_CAST "memory") == 0) {
            g_autofree xmlChar *unit = xmlGetProp(n, BAD_CAST "unit");
            g_autofree xmlChar *text = xmlNodeGetContent(n);
            uint64_t mult = unit_kib((const char *)unit);
            guint64 v = 0;

            if (mult == 0 || text == NULL ||
                !g_ascii_string_to_unsigned((const char *)text, 10, 0, G_MAXUINT64 / mult,
                                            &v, NULL))
                continue;
            if (virNodeGetInfo(conn, &info) < 0 || info.memory == 0) {
                virResetLastError();    /* the host does not tell: no check */
                continue;
            }
            if (v * mult > info.memory) {
                g_autofree char *want = size_format(v * mult * 1024);
                g_autofree char *have = size_format((uint64_t)info.memory * 1024);
                add(problems, g_strdup_printf("memory: the vm needs %s, more than the %s that the host of '%s' has; lower 'memory'",
                                              want, have, lt->uri));
            }
        } else if (xmlStrcmp(n->name, BAD_CAST "vcpu") == 0) {
            g_autofree xmlChar *type = xmlGetProp(root, BAD_CAST "type");
            g_autofree xmlChar *text = xmlNodeGetContent(n);
            guint64 v = 0;
            int max;

            if (text == NULL ||
                !g_ascii_string_to_unsigned((const char *)text, 10, 0, G_MAXINT, &v, NULL))
                continue;
            max = virConnectGetMaxVcpus(conn, (const char *)type);
            if (max < 0)
                virResetLastError();    /* the host does not tell: no check */
            if (max > 0 && v > (guint64)max)
                add(problems, g_strdup_printf("vcpus: the vm has %" G_GUINT64_FORMAT ", more than the %d that '%s' allows for a %s domain; lower 'vcpus'",
                                              v, max, lt->uri,
                                              type != NULL ? (const char *)type : "kvm"));
        }
    }
}

static char *
xml_str(xmlXPathContext *ctx, const char *expr)
{
    g_autoptr(xmlXPathObject) obj = xmlXPathEvalExpression((const xmlChar *)expr, ctx);

    if (obj == NULL || obj->type != XPATH_STRING || obj->stringval == NULL ||
        obj->stringval[0] == '\0')
        return NULL;
    return g_strdup((const char *)obj->stringval);
}

/* The host can run the converted domain: its domain type, arch, machine
 * type and emulator (those the XML names; libvirt picks defaults for the
 * others) through virConnectGetDomainCapabilities, read-only.  A driver
 * that cannot tell (test:///) is not checked. */
static void
check_caps(struct lv_target *lt, virConnectPtr conn,
           const struct target_vm_req *req, GPtrArray *problems)
{
    g_autoptr(xmlDoc) doc = xmlReadMemory(req->xml, (int)strlen(req->xml), "domain.xml",
                                          NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
                                          XML_PARSE_NOWARNING);
    g_autoptr(xmlXPathContext) ctx = NULL;
    g_autofree char *type = NULL;
    g_autofree char *arch = NULL;
    g_autofree char *machine = NULL;
    g_autofree char *emulator = NULL;
    g_autofree char *caps = NULL;
    g_autoptr(GString) what = NULL;
    virErrorPtr e;

    if (doc == NULL || (ctx = xmlXPathNewContext(doc)) == NULL)
        return;
    type = xml_str(ctx, "string(/domain/@type)");
    arch = xml_str(ctx, "string(/domain/os/type/@arch)");
    machine = xml_str(ctx, "string(/domain/os/type/@machine)");
    emulator = xml_str(ctx, "string(/domain/devices/emulator)");
    caps = virConnectGetDomainCapabilities(conn, emulator, arch, machine, type, 0);
    if (caps != NULL)
        return;
    e = virGetLastError();
    if (e != NULL && e->code == VIR_ERR_NO_SUPPORT) {
        virResetLastError();
        return;
    }
    what = g_string_new(NULL);
    g_string_append_printf(what, "domain type '%s'", type != NULL ? type : "kvm");
    if (arch != NULL)
        g_string_append_printf(what, ", arch '%s'", arch);
    if (machine != NULL)
        g_string_append_printf(what, ", machine '%s'", machine);
    if (emulator != NULL)
        g_string_append_printf(what, ", emulator '%s'", emulator);
    add(problems, g_strdup_printf("libvirt: the host of '%s' cannot run the converted domain (%s): %s",
                                  lt->uri, what->str, last_error()));
    virResetLastError();
}

void
lv_check(struct target *t, const struct target_vm_req *req,
         GPtrArray *problems, GPtrArray *notes)
{
    struct lv_target *lt = t->priv;
    g_autoptr(GError) err = NULL;
    g_autoptr(GHashTable) pools_seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(virDomain) dom = NULL;
    virConnectPtr conn = lv_conn(lt, &err);

    if (conn == NULL) {
        add(problems, g_strdup(err->message));
        return;
    }
    for (size_t i = 0; i < req->n_disks; i++)
        check_disk(lt, conn, req, &req->disks[i], pools_seen, problems);
    check_room(lt, conn, pools_seen, problems, notes);
    if (lt->keepalive_note != NULL)    /* said once, not per VM */
        add(notes, g_steal_pointer(&lt->keepalive_note));
    check_networks(lt, conn, req->xml, problems, notes);
    dom = virDomainLookupByName(conn, req->vm);
    if (dom != NULL && !req->domain_owned && !req->adopt)
        add(problems, g_strdup_printf("conflict: domain '%s' already exists on '%s' and convoy did not define it; it is never overwritten (set 'adopt: true' on the vm to take it over)",
                                      req->vm, lt->uri));
    else if (dom != NULL && req->domain_uuid != NULL && !req->adopt) {
        char uuid[VIR_UUID_STRING_BUFLEN];
        if (virDomainGetUUIDString(dom, uuid) == 0 && strcmp(uuid, req->domain_uuid) != 0)
            add(problems, g_strdup_printf("conflict: domain '%s' on '%s' is not the one convoy defined (its uuid is %s, convoy's was %s); it was replaced outside convoy and is never overwritten (set 'adopt: true' on the vm to take it over)",
                                          req->vm, lt->uri, uuid, req->domain_uuid));
    }
    check_uuid(lt, conn, req, problems);
    check_size(lt, conn, req, problems);
    check_caps(lt, conn, req, problems);
}
