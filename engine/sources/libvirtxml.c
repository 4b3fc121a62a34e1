/* The libvirtxml source: a dumped libvirt domain XML (virsh dumpxml) and
 * the local disks it names, or a directory of such files matched to VMs
 * by <name>.  The disks (raw or qcow2 files, block devices) must exist at
 * plan time; they are read, never written (qcow2 through a read-only
 * qemu-nbd, as its guest content). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "convert/convert.h"
#include "disk/disk.h"
#include "sources/sources.h"
#include "sources/sources-priv.h"
#include "util/autoptr.h"
#include "util/error.h"
#include "util/hash.h"

extern const struct source_ops source_libvirtxml_ops;

#define LX_BLOCK (1u << 20)
/* Largest extent asked of a qcow2 image's allocation map at once. */
#define LX_EXTENT_MAX (UINT64_C(1) << 30)

static struct source *
lx_open(const struct manifest_source *ms, GError **error)
{
    struct source *s = g_new0(struct source, 1);

    s->ops = &source_libvirtxml_ops;
    s->ms = ms;
    return s;
}

static void
lx_close(struct source *s)
{
    g_free(s);
}

static xmlDoc *
lx_parse(const char *file, const char *data, size_t len, GError **error)
{
    xmlDoc *doc;

    if (len > G_MAXINT) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_XML,
                    "xml: '%s': too large", file);
        return NULL;
    }
    doc = xmlReadMemory(data, (int)len, file, NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL || xmlDocGetRootElement(doc) == NULL ||
        strcmp((const char *)xmlDocGetRootElement(doc)->name, "domain") != 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_XML,
                    "xml: '%s': not a libvirt domain XML", file);
        if (doc != NULL)
            xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

static char *
xpath_string(xmlDoc *doc, xmlNode *ctx_node, const char *expr)
{
    g_autoptr(xmlXPathContext) ctx = xmlXPathNewContext(doc);
    g_autoptr(xmlXPathObject) obj = NULL;
    xmlChar *s;
    char *out;

    if (ctx == NULL)
        return NULL;
    if (ctx_node != NULL)
        ctx->node = ctx_node;
    obj = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
    if (obj == NULL)
        return NULL;
    s = xmlXPathCastToString(obj);
    out = s != NULL && *s != '\0' ? g_strdup((const char *)s) : NULL;
    xmlFree(s);
    return out;
}

/* The domain XML file for vm: path itself, or the file in the path
 * directory whose <name> is the VM's. */
static char *
lx_find_file(struct source *s, const struct manifest_vm *vm, GError **error)
{
    g_autoptr(GDir) dir = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *ent;

    if (vm->file != NULL)
        return g_strdup(vm->file);
    if (!g_file_test(s->ms->path, G_FILE_TEST_IS_DIR))
        return g_strdup(s->ms->path);
    dir = g_dir_open(s->ms->path, 0, &err);
    if (dir == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO,
                    "source '%s': cannot read directory '%s': %s", s->ms->name,
                    s->ms->path, err->message);
        return NULL;
    }
    while ((ent = g_dir_read_name(dir)) != NULL) {
        if (g_str_has_suffix(ent, ".xml"))
            g_ptr_array_add(names, g_strdup(ent));
    }
    g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *full = g_build_filename(s->ms->path, names->pdata[i], NULL);
        g_autofree char *data = NULL;
        g_autofree char *name = NULL;
        g_autoptr(xmlDoc) doc = NULL;
        size_t len = 0;

        if (!g_file_get_contents(full, &data, &len, NULL))
            continue;
        doc = lx_parse(full, data, len, NULL);
        if (doc == NULL)
            continue;
        name = xpath_string(doc, NULL, "string(/domain/name)");
        if (g_strcmp0(name, vm->name) == 0)
            return g_steal_pointer(&full);
    }
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                "source '%s': no domain XML in '%s' has <name>%s</name>",
                s->ms->name, s->ms->path, vm->name);
    return NULL;
}

struct source_disk *
source_local_disk(const char *where, const char *dev, const char *path,
                  const char *declared, GPtrArray *warnings,
                  struct disk_image_info *info, GError **error)
{
    g_autoptr(GError) err = NULL;
    struct source_disk *d;
    const char *real;

    if (!disk_image_probe(path, info, &err)) {
        g_set_error(error, CONVOY_ERROR, err->code, "'%s': disk %s: %s", where,
                    dev, err->message);
        return NULL;
    }
    if (info->unsupported != NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "'%s': disk %s ('%s') is a %s image; only raw and qcow2 images and block devices can be read",
                    where, dev, path, info->unsupported);
        return NULL;
    }
    real = disk_format_name(info->format);
    if (declared != NULL && strcmp(declared, "aio") == 0)
        declared = "raw";
    if (info->format == DISK_FORMAT_QCOW2 && info->has_backing &&
        g_strcmp0(declared, "qcow2") != 0) {
        /* A guest can write a qcow2 header naming any host file into a
         * raw disk: follow a backing file only where the config agrees. */
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "'%s': disk %s ('%s') is declared %s but its content is a qcow2 header with a backing file; refusing to follow it (declare type='qcow2' if the image really is one)",
                    where, dev, path, declared != NULL ? declared : "without a format");
        return NULL;
    }
    if (declared != NULL && strcmp(declared, real) != 0 && warnings != NULL)
        g_ptr_array_add(warnings,
                        g_strdup_printf("disk %s ('%s'): the config says %s but the image is %s; it is read as %s",
                                        dev, path, declared, real, real));
    d = g_new0(struct source_disk, 1);
    d->id = g_strdup(path);
    d->xen_dev = g_strdup(dev);
    d->xml_source = g_strdup(path);
    d->size = info->virtual_size;
    d->storage = g_strdup(path);
    d->format = info->format;
    d->local = true;
    return d;
}

struct source_vm *
source_vm_from_domain_xml(const char *data, size_t len, const char *file,
                          enum source_xml_disks how, GError **error)
{
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(xmlXPathContext) ctx = NULL;
    g_autoptr(xmlXPathObject) disks = NULL;
    g_autoptr(xmlXPathObject) nics = NULL;
    g_autoptr(source_vm) v = NULL;
    g_autoptr(GString) id = g_string_new(NULL);
    g_autofree char *digest = NULL;

    doc = lx_parse(file, data, len, error);
    if (doc == NULL)
        return NULL;
    v = g_new0(struct source_vm, 1);
    v->name = xpath_string(doc, NULL, "string(/domain/name)");
    v->uuid = xpath_string(doc, NULL, "string(/domain/uuid)");
    v->location = g_strdup(file);
    v->domain_xml = g_strndup(data, len);
    digest = hash_sha256_hex(data, len);
    g_string_append_printf(id, "domain_xml_sha256=%s\n", digest);

    v->disks = g_ptr_array_new_with_free_func(source_disk_free);
    v->warnings = g_ptr_array_new_with_free_func(g_free);
    ctx = xmlXPathNewContext(doc);
    disks = xmlXPathEvalExpression((const xmlChar *)"/domain/devices/disk[@device='disk' or not(@device)]", ctx);
    for (int i = 0; disks != NULL && disks->nodesetval != NULL &&
                    i < disks->nodesetval->nodeNr; i++) {
        xmlNode *n = disks->nodesetval->nodeTab[i];
        g_autofree char *path = xpath_string(doc, n, "string(source/@file | source/@dev)");
        g_autofree char *dev = xpath_string(doc, n, "string(target/@dev)");
        g_autofree char *fmt = xpath_string(doc, n, "string(driver/@type)");
        g_autofree char *pool = xpath_string(doc, n, "string(source/@pool)");
        g_autofree char *volume = xpath_string(doc, n, "string(source/@volume)");
        struct disk_image_info info;
        struct source_disk *d;

        if (how == SOURCE_XML_DISKS_LIST && path == NULL && dev != NULL &&
            pool != NULL && volume != NULL) {
            /* <disk type='volume'>: the caller finds the volume. */
            d = g_new0(struct source_disk, 1);
            d->id = g_strdup(volume);
            d->xen_dev = g_strdup(dev);
            d->xml_source = g_strdup(volume);
            d->pool = g_steal_pointer(&pool);
            if (!disk_format_parse(fmt, &d->format))
                d->format = DISK_FORMAT_RAW;
            g_ptr_array_add(v->disks, d);
            continue;
        }
        if (path == NULL || dev == NULL) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                        "'%s': disk %d has no local source file or device, or no target dev; only local disks are supported",
                        file, i + 1);
            return NULL;
        }
        if (how == SOURCE_XML_DISKS_LIST) {
            d = g_new0(struct source_disk, 1);
            d->id = g_strdup(path);
            d->xen_dev = g_strdup(dev);
            d->xml_source = g_strdup(path);
            d->storage = g_strdup(path);
            if (!disk_format_parse(fmt, &d->format))
                d->format = DISK_FORMAT_RAW;
            g_ptr_array_add(v->disks, d);
            continue;
        }
        d = source_local_disk(file, dev, path, fmt, v->warnings, &info, error);
        if (d == NULL)
            return NULL;
        g_ptr_array_add(v->disks, d);
        g_string_append_printf(id, "disk=%s:%" G_GUINT64_FORMAT ":%lld%s\n",
                               path, d->size, (long long)info.mtime,
                               d->format == DISK_FORMAT_QCOW2 ? ":qcow2" : "");
    }
    v->identity = g_string_free(g_steal_pointer(&id), FALSE);
    v->xen_networks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    nics = xmlXPathEvalExpression((const xmlChar *)"/domain/devices/interface", ctx);
    for (int i = 0; nics != NULL && nics->nodesetval != NULL &&
                    i < nics->nodesetval->nodeNr; i++) {
        xmlNode *n = nics->nodesetval->nodeTab[i];
        g_autofree char *mac = xpath_string(doc, n, "string(mac/@address)");
        g_autofree char *net = xpath_string(doc, n, "string(source/@network | source/@bridge)");

        if (mac != NULL)
            g_hash_table_insert(v->xen_networks, g_ascii_strdown(mac, -1),
                                g_strdup(net != NULL ? net : ""));
    }
    return g_steal_pointer(&v);
}

static struct source_vm *
lx_describe(struct source *s, const struct manifest_vm *vm, GError **error)
{
    g_autofree char *file = lx_find_file(s, vm, error);
    g_autofree char *data = NULL;
    g_autoptr(GError) err = NULL;
    struct source_vm *v;
    char *id;
    size_t len = 0;

    if (file == NULL)
        return NULL;
    if (!g_file_get_contents(file, &data, &len, &err)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                    "source '%s': %s", s->ms->name, err->message);
        return NULL;
    }
    v = source_vm_from_domain_xml(data, len, file, SOURCE_XML_DISKS_PROBE, error);
    if (v == NULL)
        return NULL;
    if (g_strcmp0(v->name, vm->name) != 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                    "'%s' holds domain '%s', not '%s'; fix the name or the path",
                    file, v->name ? v->name : "", vm->name);
        source_vm_free(v);
        return NULL;
    }
    id = g_strdup_printf("libvirtxml_file=%s\n%s", file, v->identity);
    g_free(v->identity);
    v->identity = id;
    return v;
}

/* A qcow2 image through the read-only reader: zero extents as zeros,
 * data read in blocks (all-zero blocks as zeros too). */
static bool
copy_qcow2(const struct source_disk *d, const struct source_sink *sink,
           void *opaque, GError **error)
{
    g_autoptr(disk_reader) r = disk_reader_open_qcow2(d->id, error);
    g_autofree unsigned char *buf = NULL;
    uint64_t off = 0;

    if (r == NULL)
        return false;
    if (disk_reader_size(r) != d->size) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_DRIFT,
                    "'%s' now has a virtual size of %" G_GUINT64_FORMAT " bytes, the plan saw %" G_GUINT64_FORMAT,
                    d->id, disk_reader_size(r), d->size);
        return false;
    }
    buf = g_malloc(LX_BLOCK);
    while (off < d->size) {
        uint64_t len = 0;
        bool zero = false;

        if (!disk_reader_extent(r, off, MIN(d->size - off, LX_EXTENT_MAX),
                                &len, &zero, error))
            return false;
        if (zero) {
            if (!sink->zero(opaque, off, len, error))
                return false;
            off += len;
            if (sink->progress != NULL)
                sink->progress(opaque, off);
            continue;
        }
        for (uint64_t end = off + len; off < end;) {
            size_t n = (size_t)MIN(end - off, (uint64_t)LX_BLOCK);
            bool ok;

            if (!disk_reader_pread(r, buf, n, off, error))
                return false;
            if (disk_is_zero(buf, n))
                ok = sink->zero(opaque, off, n, error);
            else
                ok = sink->data(opaque, off, buf, n, error);
            if (!ok)
                return false;
            off += n;
            if (sink->progress != NULL)
                sink->progress(opaque, off);
        }
    }
    return true;
}

bool
source_copy_local_disk(const struct source_disk *d,
                       const struct source_sink *sink, void *opaque,
                       GError **error)
{
    g_autofree unsigned char *buf = NULL;
    uint64_t off = 0;
    int fd;
    bool ok = true;

    if (d->format == DISK_FORMAT_QCOW2)
        return copy_qcow2(d, sink, opaque, error);
    fd = open(d->id, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(e),
                    "cannot open '%s': %s", d->id, g_strerror(e));
        return false;
    }
    buf = g_malloc(LX_BLOCK);
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    while (ok && off < d->size) {
        size_t want = d->size - off < LX_BLOCK ? (size_t)(d->size - off) : LX_BLOCK;
        ssize_t n = pread(fd, buf, want, (off_t)off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(e),
                        "'%s' at %" G_GUINT64_FORMAT ": %s", d->id, off,
                        n < 0 ? g_strerror(e) : "unexpected end of file (it shrank?)");
            ok = false;
            break;
        }
        if (disk_is_zero(buf, (size_t)n))
            ok = sink->zero(opaque, off, (uint64_t)n, error);
        else
            ok = sink->data(opaque, off, buf, (size_t)n, error);
        off += (uint64_t)n;
        if (ok && sink->progress != NULL)
            sink->progress(opaque, off);
    }
    close(fd);
    return ok;
}

static bool
lx_copy_disk(struct source *s, const struct source_vm *v,
             const struct source_disk *d, const struct source_sink *sink,
             void *opaque, GError **error)
{
    return source_copy_local_disk(d, sink, opaque, error);
}

const struct source_ops source_libvirtxml_ops = {
    .kind = "libvirtxml",
    .open = lx_open,
    .describe = lx_describe,
    .copy_disk = lx_copy_disk,
    .close = lx_close,
};
