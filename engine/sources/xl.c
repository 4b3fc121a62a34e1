/* The xl source: xl.cfg files (a file, or a directory holding NAME.cfg or
 * NAME), converted to domain XML by xl-cfg.c, whose disks are local raw
 * or qcow2 images or block devices read in place.  Read-only. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>
#include <libxml/tree.h>

#include "convert/convert.h"
#include "disk/disk.h"
#include "sources/sources.h"
#include "sources/sources-priv.h"
#include "util/autoptr.h"
#include "util/error.h"
#include "util/hash.h"

extern const struct source_ops source_xl_ops;

static struct source *
xl_open(const struct manifest_source *ms, GError **error)
{
    struct source *s = g_new0(struct source, 1);

    s->ops = &source_xl_ops;
    s->ms = ms;
    return s;
}

static void
xl_close(struct source *s)
{
    g_free(s);
}

/* The xl.cfg of vm: its pinned file:, the source path when it is a file,
 * else DIR/NAME.cfg or DIR/NAME.  Returns a new path. */
static char *
xl_find_file(struct source *s, const struct manifest_vm *vm, GError **error)
{
    const char *path = s->ms->path;
    g_autofree char *base = NULL;
    g_autofree char *plain = NULL;

    if (vm->file != NULL)
        return g_strdup(vm->file);
    if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
        return g_strdup(path);
    base = g_strdup_printf("%s/%s.cfg", path, vm->name);
    if (g_file_test(base, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer(&base);
    plain = g_build_filename(path, vm->name, NULL);
    if (g_file_test(plain, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer(&plain);
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                "source '%s': no xl.cfg for VM '%s' in '%s' (looked for %s.cfg and %s)",
                s->ms->name, vm->name, path, vm->name, vm->name);
    return NULL;
}

static struct source_vm *
xl_describe(struct source *s, const struct manifest_vm *vm, GError **error)
{
    g_autofree char *file = xl_find_file(s, vm, error);
    g_autofree char *data = NULL;
    g_autofree char *digest = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(source_vm) v = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(GPtrArray) disks = NULL;
    g_autoptr(GString) identity = g_string_new(NULL);
    gsize len = 0;
    xmlNode *root;

    if (file == NULL)
        return NULL;
    if (!g_file_get_contents(file, &data, &len, &err)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND, "cannot read '%s': %s", file,
                    err->message);
        return NULL;
    }
    v = g_new0(struct source_vm, 1);
    v->warnings = g_ptr_array_new_with_free_func(g_free);
    /* Unknown keys are dropped from the conversion: the plan lists them. */
    doc = xl_cfg_parse(file, data, len, v->warnings, error);
    if (doc == NULL)
        return NULL;
    root = xmlDocGetRootElement(doc);
    for (xmlNode *c = root->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (strcmp((const char *)c->name, "name") == 0 && v->name == NULL)
            v->name = (char *)xmlNodeGetContent(c);
        else if (strcmp((const char *)c->name, "uuid") == 0 && v->uuid == NULL)
            v->uuid = (char *)xmlNodeGetContent(c);
    }
    if (vm->file == NULL && g_strcmp0(v->name, vm->name) != 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                    "'%s' holds VM '%s', not '%s'; fix the name or pin the file with file:", file,
                    v->name, vm->name);
        return NULL;
    }
    digest = hash_sha256_hex(data, len);
    g_string_append_printf(identity, "xl_cfg=%s\nxl_cfg_sha256=%s\n", file, digest);
    v->location = g_strdup(file);
    v->disks = g_ptr_array_new_with_free_func(source_disk_free);
    disks = convert_list_disks(doc);
    for (guint i = 0; i < disks->len; i++) {
        const struct convert_disk *cd = disks->pdata[i];
        struct disk_image_info info;
        struct source_disk *d;

        if (cd->source == NULL)
            continue; /* convert_domain() reports it */
        if (cd->network) {
            /* rbd, nbd, iSCSI: the KVM host reads the same store */
            g_string_append_printf(identity, "disk=%s network\n", cd->source);
            continue;
        }
        d = source_local_disk(file, cd->dev, cd->source, cd->format, v->warnings, &info, error);
        if (d == NULL)
            return NULL;
        g_ptr_array_add(v->disks, d);
        g_string_append_printf(identity, "disk=%s size=%" G_GUINT64_FORMAT " mtime=%lld%s\n",
                               cd->source, d->size, (long long)info.mtime,
                               d->format == DISK_FORMAT_QCOW2 ? " format=qcow2" : "");
    }
    v->identity = g_string_free(g_steal_pointer(&identity), FALSE);
    v->domain_xml = convert_xml_format(doc);
    v->xen_networks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return g_steal_pointer(&v);
}

/* One entry per xl.cfg: the name it gives, pinned to the file; a file
 * that does not parse is listed with its error. */
static struct source_entry *
xl_list_file(const char *path)
{
    struct source_entry *e = g_new0(struct source_entry, 1);
    g_autoptr(GError) err = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    g_autofree char *data = NULL;
    gsize len = 0;

    e->file = g_strdup(path);
    if (g_file_get_contents(path, &data, &len, &err))
        doc = xl_cfg_parse(path, data, len, NULL, &err);
    if (doc != NULL) {
        for (xmlNode *c = xmlDocGetRootElement(doc)->children; c != NULL; c = c->next) {
            if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "name") == 0) {
                e->name = (char *)xmlNodeGetContent(c);
                break;
            }
        }
    }
    if (e->name == NULL) {
        e->name = g_path_get_basename(path);
        e->error = g_strdup(err != NULL ? err->message : "no name = in the file");
        return e;
    }
    e->key = g_strdup(e->name);
    return e;
}

/* The *.cfg files of the source folder (or the one file it names). */
static GPtrArray *
xl_list(struct source *s, GError **error)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(source_entry_free);
    g_autoptr(GError) err = NULL;
    g_autoptr(GDir) dir = NULL;
    const char *ent;

    if (g_file_test(s->ms->path, G_FILE_TEST_IS_REGULAR)) {
        g_ptr_array_add(out, xl_list_file(s->ms->path));
        return g_steal_pointer(&out);
    }
    dir = g_dir_open(s->ms->path, 0, &err);
    if (dir == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                    "source '%s': cannot read directory '%s': %s", s->ms->name, s->ms->path,
                    err->message);
        return NULL;
    }
    while ((ent = g_dir_read_name(dir)) != NULL) {
        g_autofree char *full = NULL;

        if (!g_str_has_suffix(ent, ".cfg"))
            continue;
        full = g_build_filename(s->ms->path, ent, NULL);
        if (g_file_test(full, G_FILE_TEST_IS_REGULAR))
            g_ptr_array_add(out, xl_list_file(full));
    }
    g_ptr_array_sort(out, source_entry_cmp);
    return g_steal_pointer(&out);
}

/* Raw files and block devices are read in place, qcow2 images through a
 * read-only qemu-nbd, by the local reader the libvirtxml source uses
 * too. */
static bool
xl_copy_disk(struct source *s, const struct source_vm *v, const struct source_disk *d,
             const struct source_sink *sink, void *opaque, GError **error)
{
    return source_copy_local_disk(d, sink, opaque, error);
}

const struct source_ops source_xl_ops = {
    .kind = "xl",
    .open = xl_open,
    .describe = xl_describe,
    .list = xl_list,
    .copy_disk = xl_copy_disk,
    .close = xl_close,
};
