/* The xva source: .xva files, or a directory of them, matched to VMs by
 * the name_label in their ova.xml (or pinned with file:), or one .xva
 * served over HTTP(S) (url:).  Read-only. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <glib.h>
#include <libxml/tree.h>

#include "convert/convert.h"
#include "sources/sources.h"
#include "sources/sources-priv.h"
#include "util/autoptr.h"
#include "util/error.h"
#include "util/hash.h"
#include "xva/xva.h"

extern const struct source_ops source_xva_ops;

/* Unreadable files named in a "no XVA has name_label" error. */
#define XVA_SKIPPED_SHOWN 10u

struct xva_source {
    GHashTable *by_name;    /* name_label → path (directory scan), lazy */
    GHashTable *dups;       /* name_label → second path seen */
    char *scan_error;       /* set when the directory could not be read */
    GPtrArray *skipped;     /* of char*: each *.xva the scan could not
                             * read, and why (its error message) */
    struct http_client *http; /* url: sources */
    char *label;            /* "GET <url without credentials or query>" */
    GMutex scan_lock;       /* the plan describes xva files on several
                             * threads: guards the lazy scan above */
};

static struct source *
xva_open(const struct manifest_source *ms, GError **error)
{
    struct source *s;
    struct xva_source *xs;

    xs = g_new0(struct xva_source, 1);
    g_mutex_init(&xs->scan_lock);
    if (ms->url != NULL) {
        g_autofree char *shown = http_url_for_display(ms->url);

        xs->http = http_client_new(ms, HTTP_CLIENT_AUTH, error);
        if (xs->http == NULL) {
            g_mutex_clear(&xs->scan_lock);
            g_free(xs);
            return NULL;
        }
        xs->label = g_strdup_printf("source '%s': GET %s", ms->name, shown);
    }
    s = g_new0(struct source, 1);
    s->ops = &source_xva_ops;
    s->ms = ms;
    s->priv = xs;
    /* Files are read with nothing shared but the folder scan (under its
     * lock); a URL goes through one HTTP client. */
    if (xs->http != NULL)
        s->caps_dropped = SOURCE_CAP_PARALLEL_DESCRIBE;
    return s;
}

static void
xva_close(struct source *s)
{
    struct xva_source *xs = s->priv;

    if (xs->by_name != NULL)
        g_hash_table_unref(xs->by_name);
    if (xs->dups != NULL)
        g_hash_table_unref(xs->dups);
    if (xs->skipped != NULL)
        g_ptr_array_unref(xs->skipped);
    g_free(xs->scan_error);
    http_client_free(xs->http);
    g_free(xs->label);
    g_mutex_clear(&xs->scan_lock);
    g_free(xs);
    g_free(s);
}

static int
cmp_strp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read the name_label of every *.xva in the source directory once. */
static void
xva_scan(struct source *s)
{
    struct xva_source *xs = s->priv;
    g_autoptr(GError) err = NULL;
    g_autoptr(GDir) dir = NULL;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *ent;

    if (xs->by_name != NULL)
        return;
    xs->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    xs->dups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    xs->skipped = g_ptr_array_new_with_free_func(g_free);
    dir = g_dir_open(s->ms->path, 0, &err);
    if (dir == NULL) {
        xs->scan_error = g_strdup_printf("source '%s': cannot read directory '%s': %s",
                                         s->ms->name, s->ms->path, err->message);
        return;
    }
    while ((ent = g_dir_read_name(dir)) != NULL) {
        g_autofree char *full = NULL;

        if (!g_str_has_suffix(ent, ".xva"))
            continue;
        /* Only regular files (or links to them): opening a FIFO or a
         * device left in an exports folder would block or read forever. */
        full = g_build_filename(s->ms->path, ent, NULL);
        if (g_file_test(full, G_FILE_TEST_IS_REGULAR))
            g_ptr_array_add(names, g_strdup(ent));
        else if (g_file_test(full, G_FILE_TEST_IS_DIR))
            g_ptr_array_add(xs->skipped,
                            g_strdup_printf("'%s' is a directory, not an XVA file", full));
        else
            g_ptr_array_add(xs->skipped,
                            g_strdup_printf("'%s' is not a regular file", full));
    }
    g_ptr_array_sort(xs->skipped, cmp_strp);
    g_ptr_array_sort(names, cmp_strp);
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_build_filename(s->ms->path, names->pdata[i], NULL);
        g_autoptr(GError) e2 = NULL;
        g_autoptr(xva_reader) r = xva_reader_open(path, &e2);
        const char *label;

        if (r == NULL) {
            /* Not an XVA we can read: named if a VM is not found. */
            g_ptr_array_add(xs->skipped, g_strdup(e2->message));
            continue;
        }
        label = xva_reader_meta(r)->vm.name_label;
        if (g_hash_table_contains(xs->by_name, label)) {
            if (!g_hash_table_contains(xs->dups, label))
                g_hash_table_insert(xs->dups, g_strdup(label), g_strdup(path));
            continue;
        }
        g_hash_table_insert(xs->by_name, g_strdup(label), g_steal_pointer(&path));
    }
}

/* The .xva file for vm, or NULL with an error saying why.  In a folder,
 * NAME.xva holding VM NAME is taken at once (xe vm-export's usual file
 * name), its reader handed back in *r so ova.xml is read only once;
 * otherwise the folder is scanned (once per source) by name_label. */
static char *
xva_find_file(struct source *s, const struct manifest_vm *vm,
              struct xva_reader **r, GError **error)
{
    struct xva_source *xs = s->priv;
    struct stat sb;

    if (vm->file != NULL)
        return g_strdup(vm->file);
    if (stat(s->ms->path, &sb) < 0) {
        int e = errno;
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                    "source '%s': cannot access '%s': %s",
                    s->ms->name, s->ms->path, g_strerror(e));
        return NULL;
    }
    if (!S_ISDIR(sb.st_mode))
        return g_strdup(s->ms->path);
    if (strchr(vm->name, '/') == NULL) {
        g_autofree char *base = g_strconcat(vm->name, ".xva", NULL);
        g_autofree char *cand = g_build_filename(s->ms->path, base, NULL);
        if (g_file_test(cand, G_FILE_TEST_IS_REGULAR)) {
            struct xva_reader *cr = xva_reader_open(cand, NULL);
            if (cr != NULL && g_strcmp0(xva_reader_meta(cr)->vm.name_label, vm->name) == 0) {
                *r = cr;
                return g_steal_pointer(&cand);
            }
            xva_reader_free(cr);
        }
    }
    /* Once scanned, the tables are only read. */
    g_mutex_lock(&xs->scan_lock);
    xva_scan(s);
    g_mutex_unlock(&xs->scan_lock);
    if (xs->scan_error != NULL) {
        g_set_error_literal(error, CONVOY_ERROR, CONVOY_ERROR_IO, xs->scan_error);
        return NULL;
    }
    if (g_hash_table_contains(xs->dups, vm->name)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "source '%s': more than one XVA has name_label '%s' ('%s' and '%s'); pin one with file:",
                    s->ms->name, vm->name,
                    (const char *)g_hash_table_lookup(xs->by_name, vm->name),
                    (const char *)g_hash_table_lookup(xs->dups, vm->name));
        return NULL;
    }
    const char *path = g_hash_table_lookup(xs->by_name, vm->name);
    if (path == NULL) {
        g_autoptr(GList) keys = g_hash_table_get_keys(xs->by_name);
        g_autoptr(GString) found = g_string_new(NULL);
        g_autoptr(GString) skipped = g_string_new(NULL);
        keys = g_list_sort(keys, (GCompareFunc)strcmp);
        for (GList *l = keys; l != NULL; l = l->next)
            g_string_append_printf(found, "%s'%s'", found->len ? ", " : "",
                                   (const char *)l->data);
        /* Each file the scan could not read, and why (the first few). */
        for (guint i = 0; i < xs->skipped->len && i < XVA_SKIPPED_SHOWN; i++)
            g_string_append_printf(skipped, "; skipped %s",
                                   (const char *)xs->skipped->pdata[i]);
        if (xs->skipped->len > XVA_SKIPPED_SHOWN)
            g_string_append_printf(skipped, "; skipped %u more unreadable files",
                                   xs->skipped->len - XVA_SKIPPED_SHOWN);
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                    "source '%s': no XVA in '%s' has name_label '%s' (found: %s%s)",
                    s->ms->name, s->ms->path, vm->name,
                    found->len ? found->str : "none", skipped->str);
        return NULL;
    }
    return g_strdup(path);
}

/* url: read ova.xml over HTTP(S) and stop; the identity is the URL, the
 * response's validators and the ova.xml digest. */
static struct source_vm *
xva_describe_url(struct source *s, const struct manifest_vm *vm,
                 GError **error)
{
    struct xva_source *xs = s->priv;
    g_autofree char *http_id = NULL;
    g_autofree char *ova = NULL;
    g_autofree char *digest = NULL;
    g_autofree char *shown = http_url_for_display(s->ms->url);
    g_autoptr(xva_meta) meta = NULL;
    struct source_vm *v;
    size_t len = 0;

    ova = xva_http_fetch_ova(xs->http, s->ms->url, xs->label, &len, &http_id,
                             error);
    if (ova == NULL)
        return NULL;
    meta = xva_meta_parse(ova, len, error);
    if (meta == NULL) {
        g_prefix_error(error, "%s: ", xs->label);
        return NULL;
    }
    if (g_strcmp0(meta->vm.name_label, vm->name) != 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                    "'%s' holds VM '%s', not '%s'; fix the name or the url",
                    shown, meta->vm.name_label, vm->name);
        return NULL;
    }
    v = source_vm_from_meta(meta, shown, error);
    if (v == NULL)
        return NULL;
    digest = hash_sha256_hex(ova, len);
    v->identity = g_strdup_printf("%sxva_ova_sha256=%s\nxva_url=%s\n", http_id,
                                  digest, shown);
    v->power_state = g_strdup("exported");
    return v;
}

static struct source_vm *
xva_describe_file(struct source *s, const struct manifest_vm *vm,
                  GError **error)
{
    g_autoptr(xva_reader) r = NULL;
    g_autofree char *file = xva_find_file(s, vm, &r, error);
    g_autoptr(source_vm) v = NULL;
    g_autofree char *ova_digest = NULL;
    const struct xva_meta *meta;
    const char *ova;
    size_t ova_len = 0;
    struct stat sb;

    if (file == NULL)
        return NULL;
    if (stat(file, &sb) < 0) {
        int e = errno;
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                    "cannot access '%s': %s", file, g_strerror(e));
        return NULL;
    }
    if (r == NULL)
        r = xva_reader_open(file, error);
    if (r == NULL)
        return NULL;
    meta = xva_reader_meta(r);
    if (vm->file == NULL && g_strcmp0(meta->vm.name_label, vm->name) != 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                    "'%s' holds VM '%s', not '%s'; fix the name or pin the file with file:",
                    file, meta->vm.name_label, vm->name);
        return NULL;
    }
    ova = xva_reader_ova_xml(r, &ova_len);
    ova_digest = hash_sha256_hex(ova, ova_len);

    v = source_vm_from_meta(meta, file, error);
    if (v == NULL)
        return NULL;
    v->identity = g_strdup_printf("xva_file=%s\nxva_mtime=%lld\nxva_ova_sha256=%s\nxva_size=%lld\n",
                                  file, (long long)sb.st_mtime, ova_digest,
                                  (long long)sb.st_size);
    v->power_state = g_strdup("exported");
    return g_steal_pointer(&v);
}

static struct source_vm *
xva_describe(struct source *s, const struct manifest_vm *vm, GError **error)
{
    if (s->ms->url != NULL)
        return xva_describe_url(s, vm, error);
    return xva_describe_file(s, vm, error);
}

/* One entry per export: the name_label in its ova.xml, pinned to its
 * file (two files may hold VMs of one name); a file that cannot be read
 * is listed with its error. */
static struct source_entry *
xva_list_file(const char *path)
{
    struct source_entry *e = g_new0(struct source_entry, 1);
    g_autoptr(GError) err = NULL;
    g_autoptr(xva_reader) r = xva_reader_open(path, &err);

    e->file = g_strdup(path);
    if (r == NULL) {
        g_autofree char *base = g_path_get_basename(path);
        e->name = g_strdup(base);
        e->error = g_strdup(err->message);
        return e;
    }
    e->name = g_strdup(xva_reader_meta(r)->vm.name_label);
    e->key = g_strdup(e->name);
    return e;
}

static GPtrArray *
xva_list(struct source *s, GError **error)
{
    struct xva_source *xs = s->priv;
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(source_entry_free);
    g_autoptr(GError) err = NULL;
    g_autoptr(GDir) dir = NULL;
    const char *ent;

    if (s->ms->url != NULL) {
        g_autofree char *http_id = NULL;
        g_autofree char *ova = NULL;
        g_autoptr(xva_meta) meta = NULL;
        size_t len = 0;
        struct source_entry *e;

        ova = xva_http_fetch_ova(xs->http, s->ms->url, xs->label, &len, &http_id, error);
        if (ova == NULL)
            return NULL;
        meta = xva_meta_parse(ova, len, error);
        if (meta == NULL) {
            g_prefix_error(error, "%s: ", xs->label);
            return NULL;
        }
        e = g_new0(struct source_entry, 1);
        e->name = g_strdup(meta->vm.name_label);
        e->key = g_strdup(e->name);
        g_ptr_array_add(out, e);
        return g_steal_pointer(&out);
    }
    if (!g_file_test(s->ms->path, G_FILE_TEST_IS_DIR)) {
        if (!g_file_test(s->ms->path, G_FILE_TEST_EXISTS)) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                        "source '%s': cannot access '%s': no such file or directory",
                        s->ms->name, s->ms->path);
            return NULL;
        }
        g_ptr_array_add(out, xva_list_file(s->ms->path));
        return g_steal_pointer(&out);
    }
    dir = g_dir_open(s->ms->path, 0, &err);
    if (dir == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO,
                    "source '%s': cannot read directory '%s': %s", s->ms->name, s->ms->path,
                    err->message);
        return NULL;
    }
    while ((ent = g_dir_read_name(dir)) != NULL) {
        g_autofree char *full = NULL;

        if (!g_str_has_suffix(ent, ".xva"))
            continue;
        full = g_build_filename(s->ms->path, ent, NULL);
        /* Only regular files: a FIFO would block the scan. */
        if (!g_file_test(full, G_FILE_TEST_IS_REGULAR))
            continue;
        g_ptr_array_add(out, xva_list_file(full));
    }
    g_ptr_array_sort(out, source_entry_cmp);
    return g_steal_pointer(&out);
}

struct copy_adapter {
    struct xva_reader *r;
    const struct source_sink *sink;
    void *opaque;
};

static bool
adapt_data(void *opaque, const struct xva_vdi *vdi, uint64_t offset,
           const void *buf, size_t len, GError **error)
{
    struct copy_adapter *a = opaque;

    if (a->sink->progress != NULL && a->r != NULL)
        a->sink->progress(a->opaque, xva_reader_bytes_read(a->r));
    return a->sink->data(a->opaque, offset, buf, len, error);
}

static bool
adapt_zero(void *opaque, const struct xva_vdi *vdi, uint64_t offset,
           uint64_t len, GError **error)
{
    struct copy_adapter *a = opaque;

    return a->sink->zero(a->opaque, offset, len, error);
}

static bool
xva_copy_disk(struct source *s, const struct source_vm *v,
              const struct source_disk *d, const struct source_sink *sink,
              void *opaque, GError **error)
{
    static const struct xva_stream_ops ops = {
        .data = adapt_data,
        .zero = adapt_zero,
    };
    struct xva_source *xs = s->priv;
    struct copy_adapter a = { .sink = sink, .opaque = opaque };
    g_autoptr(xva_reader) r = NULL;

    if (s->ms->url != NULL)
        return xva_http_stream_disk(xs->http, s->ms->url, xs->label, d->id,
                                    NULL, &ops, &a, error);
    r = xva_reader_open(v->location, error);
    if (r == NULL)
        return false;
    a.r = r;
    return xva_reader_stream(r, d->id, &ops, &a, error);
}

const struct source_ops source_xva_ops = {
    .kind = "xva",
    .caps = SOURCE_CAP_PARALLEL_DESCRIBE,
    .open = xva_open,
    .describe = xva_describe,
    .list = xva_list,
    .copy_disk = xva_copy_disk,
    .close = xva_close,
};
