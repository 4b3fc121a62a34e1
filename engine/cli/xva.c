/* convoy xva inspect|verify|extract: the everyday XVA tool — what is in
 * it, are all checksums right, and its disks as images, in one streaming
 * pass (FILE may be "-" for standard input). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>

#include "cli/cli.h"
#include "disk/disk.h"
#include "util/error.h"
#include "util/fileutil.h"
#include "util/json.h"
#include "util/size.h"
#include "util/text.h"
#include "xva/xva.h"

static const struct xva_vbd *
vbd_of(const struct xva_meta *meta, const struct xva_vdi *vdi)
{
    for (guint i = 0; i < meta->vm.vbds->len; i++) {
        const struct xva_vbd *b = meta->vm.vbds->pdata[i];
        if (b->vdi == vdi)
            return b;
    }
    return NULL;
}

static const char *
vbd_dev(const struct xva_vbd *b)
{
    return b->device != NULL && *b->device != '\0' ? b->device : b->userdevice;
}

/* Outside text, escaped for the terminal (util/text.h), on one line; the
 * copy is kept in keep until it is freed. */
static const char *
esc(GPtrArray *keep, const char *s)
{
    char *e = text_escape(s, 0);

    g_ptr_array_add(keep, e);
    return e;
}

static void
inspect_text(const struct xva_meta *meta)
{
    const struct xva_vm *vm = &meta->vm;
    g_autofree char *mem = size_format(vm->memory_static_max);
    g_autoptr(GPtrArray) k = g_ptr_array_new_with_free_func(g_free);
    bool pv = vm->hvm_boot_policy == NULL || *vm->hvm_boot_policy == '\0';

    printf("vm %s\n  uuid %s\n  memory %s, %u vcpu%s\n", esc(k, vm->name_label),
           vm->uuid ? esc(k, vm->uuid) : "-", mem, vm->vcpus_max,
           vm->vcpus_max == 1 ? "" : "s");
    if (pv)
        printf("  boot PV%s%s%s\n", vm->pv_bootloader && *vm->pv_bootloader ? ", bootloader " : "",
               esc(k, vm->pv_bootloader),
               vm->pv_kernel && *vm->pv_kernel ? ", direct kernel" : "");
    else
        printf("  boot HVM%s, order %s\n", vm->firmware_uefi ? " (UEFI)" : "",
               vm->hvm_boot_order && *vm->hvm_boot_order ? esc(k, vm->hvm_boot_order) : "-");
    if (vm->pv_args != NULL && *vm->pv_args != '\0')
        printf("  kernel args %s\n", esc(k, vm->pv_args));
    printf("disks\n");
    for (guint i = 0; i < vm->vbds->len; i++) {
        const struct xva_vbd *b = vm->vbds->pdata[i];
        if (b->vdi == NULL) {
            printf("  %-6s %s (empty)\n", esc(k, vbd_dev(b)), b->is_cd ? "cd" : "disk");
            continue;
        }
        g_autofree char *sz = size_format(b->vdi->virtual_size);
        printf("  %-6s %-4s %-10s %10s%s%s\n", esc(k, vbd_dev(b)), b->is_cd ? "cd" : "disk",
               esc(k, b->vdi->ref), sz, b->vdi->has_data ? "" : "  (no data in export)",
               b->bootable ? "  bootable" : "");
    }
    printf("nics\n");
    for (guint i = 0; i < vm->vifs->len; i++) {
        const struct xva_vif *f = vm->vifs->pdata[i];
        printf("  %-3s %s bridge %s network '%s'\n", esc(k, f->device), esc(k, f->mac),
               f->bridge && *f->bridge ? esc(k, f->bridge) : "-",
               esc(k, f->network_name));
    }
}

static void
inspect_json(const struct xva_meta *meta)
{
    const struct xva_vm *vm = &meta->vm;
    struct json j;
    g_autofree char *s = NULL;

    json_init(&j, true);
    json_begin_object(&j);
    json_kv_string(&j, "name", vm->name_label);
    json_kv_string(&j, "uuid", vm->uuid);
    json_kv_uint(&j, "memory", vm->memory_static_max);
    json_kv_uint(&j, "vcpus", vm->vcpus_max);
    json_kv_string(&j, "hvm_boot_policy", vm->hvm_boot_policy);
    json_kv_string(&j, "pv_bootloader", vm->pv_bootloader);
    json_kv_string(&j, "pv_args", vm->pv_args);
    json_kv_string(&j, "domain_type", vm->domain_type);
    json_key(&j, "disks");
    json_begin_array(&j);
    for (guint i = 0; i < vm->vbds->len; i++) {
        const struct xva_vbd *b = vm->vbds->pdata[i];
        json_begin_object(&j);
        json_kv_string(&j, "device", vbd_dev(b));
        json_kv_string(&j, "type", b->is_cd ? "cd" : "disk");
        json_kv_bool(&j, "bootable", b->bootable);
        json_kv_string(&j, "vdi", b->vdi ? b->vdi->ref : NULL);
        if (b->vdi != NULL) {
            json_kv_string(&j, "vdi_uuid", b->vdi->uuid);
            json_kv_uint(&j, "virtual_size", b->vdi->virtual_size);
            json_kv_bool(&j, "has_data", b->vdi->has_data);
        }
        json_end_object(&j);
    }
    json_end_array(&j);
    json_key(&j, "nics");
    json_begin_array(&j);
    for (guint i = 0; i < vm->vifs->len; i++) {
        const struct xva_vif *f = vm->vifs->pdata[i];
        json_begin_object(&j);
        json_kv_string(&j, "device", f->device);
        json_kv_string(&j, "mac", f->mac);
        json_kv_string(&j, "bridge", f->bridge);
        json_kv_string(&j, "network", f->network_name);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_end_object(&j);
    s = json_steal(&j);
    json_release(&j);
    printf("%s\n", s);
}

/* The longest part of an image's file name taken from the export (the
 * VM's name, a device), in bytes. */
#define XVA_NAME_PART_MAX 64

/* What a file name may not show as it is: control characters, the
 * Unicode format characters (bidirectional overrides such as U+202E,
 * zero-width marks), unassigned code points and separators other than a
 * plain space. */
static bool
unsafe_char(gunichar c)
{
    switch (g_unichar_type(c)) {
    case G_UNICODE_CONTROL:
    case G_UNICODE_FORMAT:
    case G_UNICODE_UNASSIGNED:
    case G_UNICODE_PRIVATE_USE:
    case G_UNICODE_SURROGATE:
    case G_UNICODE_LINE_SEPARATOR:
    case G_UNICODE_PARAGRAPH_SEPARATOR:
        return true;
    case G_UNICODE_SPACE_SEPARATOR:
        return c != ' ';
    case G_UNICODE_LOWERCASE_LETTER:
    case G_UNICODE_MODIFIER_LETTER:
    case G_UNICODE_OTHER_LETTER:
    case G_UNICODE_TITLECASE_LETTER:
    case G_UNICODE_UPPERCASE_LETTER:
    case G_UNICODE_SPACING_MARK:
    case G_UNICODE_ENCLOSING_MARK:
    case G_UNICODE_NON_SPACING_MARK:
    case G_UNICODE_DECIMAL_NUMBER:
    case G_UNICODE_LETTER_NUMBER:
    case G_UNICODE_OTHER_NUMBER:
    case G_UNICODE_CONNECT_PUNCTUATION:
    case G_UNICODE_DASH_PUNCTUATION:
    case G_UNICODE_CLOSE_PUNCTUATION:
    case G_UNICODE_FINAL_PUNCTUATION:
    case G_UNICODE_INITIAL_PUNCTUATION:
    case G_UNICODE_OTHER_PUNCTUATION:
    case G_UNICODE_OPEN_PUNCTUATION:
    case G_UNICODE_CURRENCY_SYMBOL:
    case G_UNICODE_MODIFIER_SYMBOL:
    case G_UNICODE_MATH_SYMBOL:
    case G_UNICODE_OTHER_SYMBOL:
        break;
    }
    return false;
}

/* A part of an image's file name from the export's text s (may be NULL):
 * '/', control and format characters and bytes that are not UTF-8 become
 * '_', a leading '.' or '-' becomes '_', at most XVA_NAME_PART_MAX bytes
 * (cut between characters), and fallback when nothing is left.  New
 * string. */
static char *
name_part(const char *s, const char *fallback)
{
    g_autoptr(GString) out = g_string_new(NULL);
    const char *p = s != NULL ? s : "";
    const char *end = p + strlen(p);

    while (*p != '\0') {
        gunichar c = g_utf8_get_char_validated(p, end - p);
        char buf[6];
        gint n;

        if (c == (gunichar)-1 || c == (gunichar)-2) {
            c = '_';
            p++;
        } else {
            p = g_utf8_next_char(p);
        }
        if (c == '/' || unsafe_char(c))
            c = '_';
        if (out->len == 0 && (c == '.' || c == '-'))
            c = '_';
        n = g_unichar_to_utf8(c, buf);
        if (out->len + (gsize)n > XVA_NAME_PART_MAX)
            break;
        g_string_append_len(out, buf, n);
    }
    if (out->len == 0)
        return g_strdup(fallback);
    return g_string_free(g_steal_pointer(&out), FALSE);
}

struct extract {
    const struct xva_meta *meta;
    const char *dir;           /* NULL: verify only */
    enum disk_format format;
    struct disk_writer *w;
    GPtrArray *written;        /* paths, to remove on failure */
    unsigned disks;
    uint64_t bytes;
};

static bool
ex_begin(void *opaque, const struct xva_vdi *vdi, GError **error)
{
    struct extract *x = opaque;
    const struct xva_vbd *b = vbd_of(x->meta, vdi);
    g_autofree char *base = NULL;
    g_autofree char *path = NULL;

    x->disks++;
    if (x->dir == NULL)
        return true;
    g_autofree char *vm = name_part(x->meta->vm.name_label, "vm");
    g_autofree char *dev = name_part(b ? vbd_dev(b) : vdi->ref, "disk");
    base = g_strdup_printf("%s-%s.%s", vm, dev, disk_format_name(x->format));
    path = g_build_filename(x->dir, base, NULL);
    /* A new file (never one that is already there, nor through a
     * symbolic link): only what extract created is removed on failure. */
    if (!file_create_new(path, 0644, error))
        return false;
    g_ptr_array_add(x->written, g_strdup(path));
    x->w = disk_writer_open(path, x->format, DISK_ALLOCATION_SPARSE,
                            vdi->virtual_size, 0, error);
    return x->w != NULL;
}

static bool
ex_data(void *opaque, const struct xva_vdi *vdi, uint64_t off, const void *buf,
        size_t len, GError **error)
{
    struct extract *x = opaque;

    x->bytes += len;
    return x->w == NULL || disk_writer_write(x->w, off, buf, len, error);
}

static bool
ex_zero(void *opaque, const struct xva_vdi *vdi, uint64_t off, uint64_t len,
        GError **error)
{
    struct extract *x = opaque;

    return x->w == NULL || disk_writer_zero(x->w, off, len, error);
}

static bool
ex_end(void *opaque, const struct xva_vdi *vdi, GError **error)
{
    struct extract *x = opaque;
    struct disk_writer *w = x->w;

    x->w = NULL;
    if (w == NULL)
        return true;
    if (!disk_writer_close(w, error))
        return false;
    cli_printf(stdout, "%s\n", (const char *)x->written->pdata[x->written->len - 1]);
    return true;
}

int
cmd_xva(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("inspect|verify|extract FILE");
    g_autoptr(xva_reader) r = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *opt_out = NULL;
    g_autofree char *opt_format = NULL;
    gboolean opt_json = FALSE;
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "inspect: print JSON", NULL},
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_out, "extract: output directory (default: .)", "DIR"},
        {"format", 'f', 0, G_OPTION_ARG_STRING, &opt_format, "extract: raw or qcow2 (default: raw)", "FORMAT"},
        G_OPTION_ENTRY_NULL,
    };
    static const struct xva_stream_ops ops = {
        .begin_disk = ex_begin,
        .data = ex_data,
        .zero = ex_zero,
        .end_disk = ex_end,
    };
    struct extract x = {0};
    const char *sub;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(ctx, "inspect: show the VM, its disks and NICs\nverify: check every chunk checksum\nextract: write the disks as images (NAME-DEV.raw|qcow2)\nFILE may be - for standard input.");
    if (!cli_parse(ctx, &argc, &argv, "xva"))
        return CONVOY_EXIT_USAGE;
    if (argc != 3)
        return cli_usage("xva", "expected inspect, verify or extract and one FILE");
    sub = argv[1];
    if (strcmp(sub, "inspect") != 0 && strcmp(sub, "verify") != 0 &&
        strcmp(sub, "extract") != 0)
        return cli_usage("xva", "unknown subcommand '%s'; expected inspect, verify or extract", sub);
    x.format = DISK_FORMAT_RAW;
    if (opt_format != NULL && !disk_format_parse(opt_format, &x.format))
        return cli_usage("xva", "'--format': expected raw or qcow2, got '%s'", opt_format);
    r = xva_reader_open(argv[2], &err);
    if (r == NULL)
        return cli_report(err);
    x.meta = xva_reader_meta(r);
    if (strcmp(sub, "inspect") == 0) {
        if (opt_json)
            inspect_json(x.meta);
        else
            inspect_text(x.meta);
        return CONVOY_EXIT_OK;
    }
    x.written = g_ptr_array_new_with_free_func(g_free);
    if (strcmp(sub, "extract") == 0) {
        x.dir = opt_out != NULL ? opt_out : ".";
        if (g_mkdir_with_parents(x.dir, 0755) < 0) {
            g_ptr_array_unref(x.written);
            fprintf(stderr, "convoy: error: cannot create directory '%s': %s\n",
                    x.dir, g_strerror(errno));
            return CONVOY_EXIT_FAILURE;
        }
    }
    if (!xva_reader_stream(r, NULL, &ops, &x, &err)) {
        disk_writer_abort(x.w);
        for (guint i = 0; i < x.written->len; i++)
            g_unlink(x.written->pdata[i]);
        g_ptr_array_unref(x.written);
        return cli_report(err);
    }
    g_ptr_array_unref(x.written);
    if (strcmp(sub, "verify") == 0) {
        g_autofree char *b = size_format(x.bytes);
        printf("ok: %u disk%s, %s of chunk data verified\n", x.disks,
               x.disks == 1 ? "" : "s", b);
    }
    return CONVOY_EXIT_OK;
}
