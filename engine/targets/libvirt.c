/* The libvirt target: volumes in storage pools (written locally through a
 * directory pool's path, or uploaded with sparse streams), domains defined
 * persistent, autostarted and started, all through the libvirt C API. */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/xpath.h>

#include "targets/libvirt-priv.h"
#include "util/autoptr.h"
#include "util/error.h"
#include "util/hash.h"
#include "util/virt.h"

extern const struct target_ops target_libvirt_ops;

static void
lv_free(struct lv_target *lt)
{
    if (lt->conn != NULL)
        virConnectClose(lt->conn);
    g_mutex_clear(&lt->lock);
    g_mutex_clear(&lt->probe_lock);
    g_hash_table_unref(lt->local_pools);
    g_free(lt->uri);
    g_free(lt->keepalive_note);
    g_hash_table_unref(lt->planned);
    g_hash_table_unref(lt->planned_max);
    g_free(lt);
}

static struct target *
lvt_open(const struct manifest_target *mt, GError **error)
{
    struct lv_target *lt = g_new0(struct lv_target, 1);
    struct target *t;

    g_mutex_init(&lt->lock);
    g_mutex_init(&lt->probe_lock);
    lt->local_pools = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    lt->uri = g_strdup(mt->uri);
    lt->remote = virt_uri_is_remote(mt->uri);
    lt->stream = mt->upload_stream || lt->remote;
    lt->planned = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    lt->planned_max = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    if (!lv_connect(lt, error)) {
        g_prefix_error(error, "target '%s': ", mt->name);
        lv_free(lt);
        return NULL;
    }
    t = g_new0(struct target, 1);
    t->ops = &target_libvirt_ops;
    t->mt = mt;
    t->priv = lt;
    return t;
}

static void
lvt_close(struct target *t)
{
    lv_free(t->priv);
    g_free(t);
}

static const char *
pool_for(struct target *t)
{
    return t->mt->pool_default != NULL ? t->mt->pool_default : "default";
}

/* "POOL/VOLUME": the disk's mapped pool, else the target's default. */
static char *
lvt_disk_location(struct target *t, const char *vm, const char *dev,
                  enum disk_format format, const char *pool, const char *name)
{
    const char *p = pool != NULL ? pool : pool_for(t);

    if (name != NULL)
        return g_strdup_printf("%s/%s", p, name);
    return g_strdup_printf("%s/%s-%s.%s", p, vm, dev, disk_format_name(format));
}

/* The pool and (when it exists) the volume of a location. */
static bool
lookup(struct target *t, const char *location, virStoragePoolPtr *pool_out,
       virStorageVolPtr *vol_out, GError **error)
{
    struct lv_target *lt = t->priv;
    g_autofree char *pname = NULL;
    g_autofree char *vname = NULL;
    virConnectPtr conn = lv_conn(lt, error);
    virStoragePoolPtr pool;

    if (conn == NULL)
        return false;
    if (!lv_split_location(location, &pname, &vname)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: bad volume location '%s'", location);
        return false;
    }
    pool = virStoragePoolLookupByName(conn, pname);
    if (pool == NULL)
        return lv_error(error, "storage pool '%s' on '%s'", pname, lt->uri);
    *vol_out = virStorageVolLookupByName(pool, vname);
    if (pool_out != NULL)
        *pool_out = pool;
    else
        virStoragePoolFree(pool);
    return true;
}

/* Format of a volume from its XML ("raw", "qcow2"); new string or NULL. */
static char *
vol_format(virStorageVolPtr vol)
{
    g_autofree char *xml = virStorageVolGetXMLDesc(vol, 0);
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(xmlXPathContext) ctx = NULL;
    g_autoptr(xmlXPathObject) obj = NULL;

    if (xml == NULL)
        return NULL;
    doc = xmlReadMemory(xml, (int)strlen(xml), "vol.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL || (ctx = xmlXPathNewContext(doc)) == NULL)
        return NULL;
    obj = xmlXPathEvalExpression((const xmlChar *)"string(/volume/target/format/@type)", ctx);
    if (obj == NULL || obj->stringval == NULL || obj->stringval[0] == '\0')
        return NULL;
    return g_strdup((const char *)obj->stringval);
}

static bool
lvt_disk_present(struct target *t, const char *location,
                 enum disk_format format, uint64_t size)
{
    g_autoptr(virStoragePool) pool = NULL;
    g_autoptr(virStorageVol) vol = NULL;
    g_autofree char *fmt = NULL;
    virStorageVolInfo info;

    if (!lookup(t, location, &pool, &vol, NULL) || vol == NULL)
        return false;
    if (virStorageVolGetInfo(vol, &info) < 0 ||
        info.capacity != disk_image_size(format, size))
        return false;
    fmt = vol_format(vol);
    return g_strcmp0(fmt, disk_format_name(format)) == 0;
}

static bool
lvt_create_disk(struct target *t, const char *location,
                enum disk_format format, enum disk_allocation allocation,
                uint64_t size, bool replace, bool keep, GError **error)
{
    struct lv_target *lt = t->priv;
    g_autoptr(virStoragePool) pool = NULL;
    g_autoptr(virStorageVol) vol = NULL;
    g_autoptr(virStorageVol) made = NULL;
    g_autofree char *pname = NULL;
    g_autofree char *vname = NULL;
    g_autofree char *xml = NULL;
    uint64_t alloc = 0;
    unsigned flags = 0;

    if (!lookup(t, location, &pool, &vol, error))
        return false;
    lv_split_location(location, &pname, &vname);
    if (vol != NULL) {
        if (keep)
            return true;
        if (!replace) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONFLICT,
                        "conflict: volume '%s' already exists in pool '%s' and convoy did not create it; it is never overwritten (set 'adopt: true' on the vm to take it over)",
                        vname, pname);
            return false;
        }
        if (virStorageVolDelete(vol, 0) < 0)
            return lv_error(error, "volume '%s': cannot delete it to start over", location);
    }
    /* Local writes preallocate themselves; an upload into a raw volume
     * keeps libvirt's preallocation (holes only skip). */
    if (allocation == DISK_ALLOCATION_PREALLOCATED) {
        if (format == DISK_FORMAT_RAW && lt->stream)
            alloc = size;
        else if (format == DISK_FORMAT_QCOW2)
            flags |= VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA;
    }
    xml = g_strdup_printf("<volume><name>%s</name>"
                          "<capacity unit='bytes'>%" G_GUINT64_FORMAT "</capacity>"
                          "<allocation unit='bytes'>%" G_GUINT64_FORMAT "</allocation>"
                          "<target><format type='%s'/></target></volume>",
                          vname, size, alloc, disk_format_name(format));
    made = virStorageVolCreateXML(pool, xml, flags);
    if (made == NULL)
        return lv_error(error, "volume '%s': cannot create it", location);
    return true;
}

static char *upload_tmp_path(struct target *t, const char *location);

static bool
lvt_remove_disk(struct target *t, const char *location, bool *removed,
                GError **error)
{
    g_autoptr(virStoragePool) pool = NULL;
    g_autoptr(virStorageVol) vol = NULL;
    g_autofree char *tmp = upload_tmp_path(t, location);

    /* A qcow2 built for an upload that never finished goes too. */
    unlink(tmp);
    *removed = false;
    if (!lookup(t, location, &pool, &vol, error)) {
        /* A missing pool holds no volume. */
        virErrorPtr e = virGetLastError();
        if (e != NULL && e->code == VIR_ERR_NO_STORAGE_POOL) {
            g_clear_error(error);
            return true;
        }
        return false;
    }
    if (vol == NULL)
        return true;
    if (virStorageVolDelete(vol, 0) < 0)
        return lv_error(error, "volume '%s': cannot delete it", location);
    *removed = true;
    return true;
}

/* Whether the file at path holds exactly the bytes marker, and is a
 * regular file of size bytes. */
static bool
file_holds(const char *path, const guint8 *marker, size_t len, uint64_t size)
{
    g_autofree char *got = NULL;
    gsize n = 0;
    GStatBuf st;

    if (g_lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)
        return false;
    if (!g_file_get_contents(path, &got, &n, NULL) || n != size)
        return false;
    return memcmp(got, marker, len) == 0;
}

/* Prove that the pool's volumes are files this process sees: create a
 * scratch volume of an odd size under a random name through the API,
 * write random bytes into it through virStorageVolUpload, and read them
 * back at the path the daemon reports; then delete it through the API and
 * see the local file go.  A folder that merely has the same name on this
 * machine (another host's pool, a daemon in its own mount namespace)
 * fails it.  Any error is "not proven". */
static bool
probe_pool(virStoragePoolPtr pool)
{
    virConnectPtr conn = virStoragePoolGetConnect(pool);
    guint8 marker[32];
    g_autofree char *hex = NULL;
    g_autofree char *name = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *path = NULL;
    g_autoptr(virStorageVol) vol = NULL;
    virStreamPtr st = NULL;
    uint64_t size;
    bool sent = false;
    bool ok = false;

    for (size_t i = 0; i < sizeof(marker); i += 4) {
        guint32 r = g_random_int();
        memcpy(marker + i, &r, 4);
    }
    hex = hash_sha256_hex(marker, sizeof(marker));
    name = g_strdup_printf(".convoy-probe-%.16s", hex);
    size = 4096 + 512 * (uint64_t)g_random_int_range(1, 64);
    xml = g_strdup_printf("<volume><name>%s</name>"
                          "<capacity unit='bytes'>%" G_GUINT64_FORMAT "</capacity>"
                          "<allocation unit='bytes'>0</allocation>"
                          "<target><format type='raw'/></target></volume>",
                          name, size);
    vol = virStorageVolCreateXML(pool, xml, 0);
    if (vol == NULL)
        goto out;
    path = virStorageVolGetPath(vol);
    st = virStreamNew(conn, 0);
    if (path != NULL && st != NULL &&
        virStorageVolUpload(vol, st, 0, sizeof(marker), 0) == 0) {
        sent = virStreamSend(st, (const char *)marker, sizeof(marker)) == (int)sizeof(marker);
        sent = virStreamFinish(st) == 0 && sent;
        if (!sent)
            virStreamAbort(st);
    }
    if (st != NULL)
        virStreamFree(st);
    ok = sent && file_holds(path, marker, sizeof(marker), size);
    if (virStorageVolDelete(vol, 0) < 0)
        ok = false;
    else if (ok && g_file_test(path, G_FILE_TEST_EXISTS))
        ok = false;     /* the daemon deleted its file; this one stayed */
out:
    virResetLastError();
    return ok;
}

/* Whether the pool's volumes are proven to be files on this machine: the
 * URI is local (no transport but unix, no host) and uploads are not
 * forced, the pool is a dir, fs or netfs pool, and probe_pool() passed
 * (once per pool and run). */
static bool
pool_is_local(struct lv_target *lt, virStoragePoolPtr pool)
{
    const char *pname = virStoragePoolGetName(pool);
    g_autofree char *type = NULL;
    g_autofree char *dir = NULL;
    gpointer known;

    if (lt->stream || pname == NULL)
        return false;
    lv_pool_facts(pool, &type, &dir);
    if (g_strcmp0(type, "dir") != 0 && g_strcmp0(type, "fs") != 0 &&
        g_strcmp0(type, "netfs") != 0)
        return false;
    g_autoptr(GMutexLocker) locker G_GNUC_UNUSED = g_mutex_locker_new(&lt->probe_lock);
    known = g_hash_table_lookup(lt->local_pools, pname);
    if (known == NULL) {
        known = GINT_TO_POINTER(probe_pool(pool) ? 1 : 2);
        g_hash_table_insert(lt->local_pools, g_strdup(pname), known);
    }
    return GPOINTER_TO_INT(known) == 1;
}

/* The volume's path, if it is proven to be a file on this machine. */
static char *
local_path(struct target *t, virStoragePoolPtr pool, virStorageVolPtr vol)
{
    struct lv_target *lt = t->priv;
    char *path;

    if (!pool_is_local(lt, pool))
        return NULL;
    path = virStorageVolGetPath(vol);
    if (path != NULL && !g_file_test(path, G_FILE_TEST_IS_REGULAR))
        g_clear_pointer(&path, g_free);
    return path;
}

static bool
lvt_disks_local(struct target *t)
{
    struct lv_target *lt = t->priv;

    return !lt->stream;
}

static char *
lvt_local_disk_path(struct target *t, const char *location, GError **error)
{
    g_autoptr(virStoragePool) pool = NULL;
    g_autoptr(virStorageVol) vol = NULL;
    char *path;

    if (!lookup(t, location, &pool, &vol, error))
        return NULL;
    if (vol == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                    "volume '%s' does not exist", location);
        return NULL;
    }
    path = local_path(t, pool, vol);
    if (path == NULL)
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONFLICT,
                    "volume '%s' is not a file on this machine (only dir, fs and netfs pools of a local libvirt URI whose folder convoy proved to be the daemon's are)",
                    location);
    return path;
}

static char *
upload_tmp_path(struct target *t, const char *location)
{
    struct lv_target *lt = t->priv;
    const char *dir = g_getenv("CONVOY_TMPDIR");
    g_autofree char *id = g_strconcat(lt->uri, "\n", location, NULL);
    g_autofree char *digest = hash_sha256_hex(id, strlen(id));
    g_autofree char *base = g_strdup_printf("convoy-upload-%.16s.qcow2", digest);

    return g_build_filename(dir != NULL && *dir != '\0' ? dir : "/var/tmp", base, NULL);
}

static struct disk_writer *
lvt_open_writer(struct target *t, const char *location, enum disk_format format,
                enum disk_allocation allocation, uint64_t size,
                uint64_t resume_from, GError **error)
{
    g_autoptr(virStoragePool) pool = NULL;
    g_autoptr(virStorageVol) vol = NULL;
    g_autofree char *path = NULL;
    g_autofree char *tmp = NULL;

    if (!lookup(t, location, &pool, &vol, error))
        return NULL;
    if (vol == NULL) {
        g_set_error(error, CONVOY_ERROR,
                    resume_from > 0 ? CONVOY_ERROR_DRIFT : CONVOY_ERROR_NOT_FOUND,
                    "volume '%s' does not exist%s", location,
                    resume_from > 0 ? "; it cannot be resumed" : "");
        return NULL;
    }
    path = local_path(t, pool, vol);
    if (path != NULL)
        return disk_writer_open(path, format, allocation, size, resume_from, error);
    tmp = upload_tmp_path(t, location);
    return disk_writer_open_stream(vol, location, format, allocation, size,
                                   resume_from, tmp, error);
}

static char *
lvt_domain_location(struct target *t, const char *vm)
{
    struct lv_target *lt = t->priv;

    return g_strdup_printf("%s@%s", vm, lt->uri);
}

static virDomainPtr
find_domain(struct target *t, const char *vm, GError **error)
{
    virConnectPtr conn = lv_conn(t->priv, error);

    if (conn == NULL)
        return NULL;
    return virDomainLookupByName(conn, vm);
}

/* xml with its <uuid> set to uuid; returns a new string (xml itself
 * copied when it cannot be parsed: libvirt will say what is wrong). */
static char *
with_uuid(const char *xml, const char *uuid)
{
    g_autoptr(xmlDoc) doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                                          XML_PARSE_NONET | XML_PARSE_NOERROR |
                                          XML_PARSE_NOWARNING);
    xmlNode *root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
    xmlNode *u = NULL;
    xmlChar *out = NULL;
    int len = 0;
    char *res;

    if (root == NULL)
        return g_strdup(xml);
    for (xmlNode *c = root->children; c != NULL && u == NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "uuid") == 0)
            u = c;
    }
    if (u == NULL)
        u = xmlNewChild(root, NULL, (const xmlChar *)"uuid", NULL);
    xmlNodeSetContent(u, NULL);
    xmlNodeAddContent(u, (const xmlChar *)uuid);
    xmlDocDumpMemory(doc, &out, &len);
    res = g_strndup((const char *)out, (gsize)len);
    xmlFree(out);
    return res;
}

static bool
lvt_define(struct target *t, const char *vm, const char *xml, bool autostart,
           GError **error)
{
    virConnectPtr conn = lv_conn(t->priv, error);
    g_autoptr(virDomain) dom = NULL;
    g_autoptr(virDomain) old = NULL;
    g_autofree char *fixed = NULL;
    char uuid[VIR_UUID_STRING_BUFLEN];

    if (conn == NULL)
        return false;
    /* A same-named domain reaches here only when it is convoy's or the vm
     * adopts it (the plan blocks it otherwise): redefine it in place,
     * keeping its uuid, which libvirt requires for the same name. */
    old = virDomainLookupByName(conn, vm);
    if (old != NULL && virDomainGetUUIDString(old, uuid) == 0)
        xml = fixed = with_uuid(xml, uuid);
    dom = virDomainDefineXMLFlags(conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
    if (dom == NULL)
        return lv_error(error, "domain '%s': define rejected", vm);
    if (virDomainSetAutostart(dom, autostart ? 1 : 0) < 0)
        return lv_error(error, "domain '%s': cannot set autostart", vm);
    return true;
}

static char *
lvt_domain_digest(struct target *t, const char *vm)
{
    g_autoptr(virDomain) dom = find_domain(t, vm, NULL);
    g_autofree char *xml = NULL;
    g_autofree char *text = NULL;
    int autostart = 0;

    if (dom == NULL)
        return NULL;
    xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    if (xml == NULL || virDomainGetAutostart(dom, &autostart) < 0)
        return NULL;
    text = g_strdup_printf("%sautostart=%d\n", xml, autostart);
    return hash_sha256_hex(text, strlen(text));
}

static bool
lvt_start(struct target *t, const char *vm, bool *already, GError **error)
{
    g_autoptr(virDomain) dom = find_domain(t, vm, error);

    if (dom == NULL)
        return error != NULL && *error != NULL ? false : lv_error(error, "domain '%s'", vm);
    *already = virDomainIsActive(dom) == 1;
    if (*already)
        return true;
    if (virDomainCreate(dom) < 0)
        return lv_error(error, "domain '%s': cannot start it", vm);
    return true;
}

static bool
lvt_running(struct target *t, const char *vm)
{
    g_autoptr(virDomain) dom = find_domain(t, vm, NULL);

    return dom != NULL && virDomainIsActive(dom) == 1;
}

static bool
lvt_remove_domain(struct target *t, const char *vm, bool *removed,
                  GError **error)
{
    g_autoptr(virDomain) dom = find_domain(t, vm, error);

    *removed = false;
    if (dom == NULL)
        return error == NULL || *error == NULL;
    if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0)
        return lv_error(error, "domain '%s': cannot stop it", vm);
    if (virDomainUndefineFlags(dom, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                                    VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                                    VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA |
                                    VIR_DOMAIN_UNDEFINE_NVRAM) < 0)
        return lv_error(error, "domain '%s': cannot undefine it", vm);
    *removed = true;
    return true;
}

/* <disk type='volume'><driver name='qemu' type=FMT/><source pool volume/>. */
static bool
lvt_set_disk(struct target *t, xmlDoc *doc, const char *dev,
             const char *location, enum disk_format format, GError **error)
{
    g_autoptr(xmlXPathContext) ctx = xmlXPathNewContext(doc);
    g_autoptr(xmlXPathObject) obj = NULL;
    g_autofree char *expr = g_strdup_printf("/domain/devices/disk[target/@dev='%s']", dev);
    g_autofree char *pname = NULL;
    g_autofree char *vname = NULL;
    xmlNode *disk;
    xmlNode *driver = NULL;
    xmlNode *src;

    if (ctx != NULL)
        obj = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
    if (obj == NULL || obj->nodesetval == NULL || obj->nodesetval->nodeNr == 0 ||
        !lv_split_location(location, &pname, &vname)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONVERT,
                    "disk '%s' is not in the converted domain XML", dev);
        return false;
    }
    disk = obj->nodesetval->nodeTab[0];
    xmlSetProp(disk, (const xmlChar *)"type", (const xmlChar *)"volume");
    for (xmlNode *c = disk->children, *next; c != NULL; c = next) {
        next = c->next;
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (strcmp((const char *)c->name, "source") == 0) {
            xmlUnlinkNode(c);
            xmlFreeNode(c);
        } else if (strcmp((const char *)c->name, "driver") == 0) {
            driver = c;
        }
    }
    if (driver == NULL) {
        driver = xmlNewNode(NULL, (const xmlChar *)"driver");
        if (disk->children != NULL)
            xmlAddPrevSibling(disk->children, driver);
        else
            xmlAddChild(disk, driver);
    }
    xmlSetProp(driver, (const xmlChar *)"name", (const xmlChar *)"qemu");
    xmlSetProp(driver, (const xmlChar *)"type", (const xmlChar *)disk_format_name(format));
    src = xmlNewNode(NULL, (const xmlChar *)"source");
    xmlSetProp(src, (const xmlChar *)"pool", (const xmlChar *)pname);
    xmlSetProp(src, (const xmlChar *)"volume", (const xmlChar *)vname);
    xmlAddNextSibling(driver, src);
    return true;
}

const struct target_ops target_libvirt_ops = {
    .kind = "libvirt",
    .open = lvt_open,
    .disk_location = lvt_disk_location,
    .open_writer = lvt_open_writer,
    .disk_present = lvt_disk_present,
    .domain_location = lvt_domain_location,
    .define = lvt_define,
    .domain_digest = lvt_domain_digest,
    .close = lvt_close,
    .check = lv_check,
    .set_disk = lvt_set_disk,
    .create_disk = lvt_create_disk,
    .remove_disk = lvt_remove_disk,
    .start = lvt_start,
    .running = lvt_running,
    .remove_domain = lvt_remove_domain,
    .disks_local = lvt_disks_local,
    .local_disk_path = lvt_local_disk_path,
    .domain_state = lv_domain_state,
    .migrate = lv_migrate,
};
