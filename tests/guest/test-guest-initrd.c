/* Reading a guest's initrd without running anything in the guest: the
 * cpio members of every part (an uncompressed early-microcode cpio, then
 * one compressed with gzip, zstd, xz or lz4), the module names they hold,
 * and the drivers a converted domain needs. */
#include "config.h"

#undef NDEBUG
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <archive.h>
#include <archive_entry.h>

#include "convert/convert.h"
#include "guest/guest.h"

/* A newc cpio of files (NULL-terminated), compressed by filter
 * (ARCHIVE_FILTER_NONE: plain). */
static GByteArray *
make_cpio(const char *const *files, int filter)
{
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    size_t cap = 4 << 20;
    size_t used = 0;
    GByteArray *out = g_byte_array_sized_new((guint)cap);

    g_byte_array_set_size(out, (guint)cap);
    assert(archive_write_set_format_cpio_newc(a) == ARCHIVE_OK);
    assert(archive_write_add_filter(a, filter) == ARCHIVE_OK);
    assert(archive_write_open_memory(a, out->data, cap, &used) == ARCHIVE_OK);
    for (size_t i = 0; files[i] != NULL; i++) {
        archive_entry_clear(e);
        archive_entry_set_pathname(e, files[i]);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, 4);
        assert(archive_write_header(a, e) == ARCHIVE_OK);
        assert(archive_write_data(a, "data", 4) == 4);
    }
    assert(archive_write_close(a) == ARCHIVE_OK);
    archive_write_free(a);
    archive_entry_free(e);
    g_byte_array_set_size(out, (guint)used);
    return out;
}

static const char *const early[] = {"kernel/x86/microcode/GenuineIntel.bin", NULL};
static const char *const main_files[] = {
    "usr/lib/modules/6.1.0-13-amd64/kernel/drivers/block/virtio_blk.ko",
    "usr/lib/modules/6.1.0-13-amd64/kernel/drivers/block/xen-blkfront.ko.zst",
    "usr/lib/modules/6.1.0-13-amd64/kernel/fs/ext4/ext4.ko.xz",
    "usr/lib/modules/6.1.0-13-amd64/modules.dep",
    "init",
    NULL,
};

static void
check_modules(GHashTable *m)
{
    assert(g_hash_table_size(m) == 3);
    assert(g_hash_table_contains(m, "virtio_blk"));
    assert(g_hash_table_contains(m, "xen_blkfront"));
    assert(g_hash_table_contains(m, "ext4"));
}

/* early (plain) + main compressed by filter, padded to 512 bytes between
 * them as mkinitramfs does. */
static void
test_concatenated(int filter, const char *name)
{
    g_autoptr(GByteArray) e = make_cpio(early, ARCHIVE_FILTER_NONE);
    g_autoptr(GByteArray) m = make_cpio(main_files, filter);
    g_autoptr(GByteArray) all = g_byte_array_new();
    g_autoptr(GHashTable) mods = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GString) parts = g_string_new(NULL);
    g_autoptr(GError) err = NULL;
    g_autofree char *want = g_strdup_printf("plain cpio + %s cpio", name);
    static const guint8 zeros[512] = {0};

    g_byte_array_append(all, e->data, e->len);
    g_byte_array_append(all, zeros, (512 - all->len % 512) % 512);
    g_byte_array_append(all, m->data, m->len);
    assert(guest_initrd_scan(all->data, all->len, mods, parts, &err));
    check_modules(mods);
    if (strcmp(parts->str, want) != 0) {
        fprintf(stderr, "parts: got '%s', want '%s'\n", parts->str, want);
        assert(0);
    }
}

static void
test_single(void)
{
    g_autoptr(GByteArray) m = make_cpio(main_files, ARCHIVE_FILTER_GZIP);
    g_autoptr(GHashTable) mods = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GString) parts = g_string_new(NULL);
    g_autoptr(GError) err = NULL;

    assert(guest_initrd_scan(m->data, m->len, mods, parts, &err));
    check_modules(mods);
    assert(strcmp(parts->str, "gzip cpio") == 0);
}

/* The kernel's lz4 is the legacy format (lz4 -l), not libarchive's frame
 * format: make one with the lz4 tool when it is here. */
static void
test_lz4_legacy(void)
{
    g_autoptr(GByteArray) e = make_cpio(early, ARCHIVE_FILTER_NONE);
    g_autoptr(GByteArray) m = make_cpio(main_files, ARCHIVE_FILTER_NONE);
    g_autoptr(GHashTable) mods = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GString) parts = g_string_new(NULL);
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("test-initrd-XXXXXX", NULL);
    g_autofree char *in = g_build_filename(dir, "main.cpio", NULL);
    g_autofree char *out = g_build_filename(dir, "main.lz4", NULL);
    g_autofree char *cmd = NULL;
    g_autofree char *z = NULL;
    gsize zlen = 0;
    int status = 0;
    g_autoptr(GByteArray) all = g_byte_array_new();

    g_autofree char *lz4 = g_find_program_in_path("lz4");

    if (lz4 == NULL) {
        printf("# lz4 legacy: skipped, no lz4 tool\n");
        g_rmdir(dir);
        return;
    }
    assert(g_file_set_contents(in, (const char *)m->data, m->len, NULL));
    cmd = g_strdup_printf("lz4 -l -q -f %s %s", in, out);
    assert(g_spawn_command_line_sync(cmd, NULL, NULL, &status, NULL) && status == 0);
    assert(g_file_get_contents(out, &z, &zlen, NULL));
    g_byte_array_append(all, e->data, e->len);
    g_byte_array_append(all, (const guint8 *)z, (guint)zlen);
    assert(guest_initrd_scan(all->data, all->len, mods, parts, &err));
    check_modules(mods);
    assert(strcmp(parts->str, "plain cpio + lz4 cpio") == 0);
    g_unlink(in);
    g_unlink(out);
    g_rmdir(dir);
}

static void
test_not_cpio(void)
{
    static const char text[] = "fake initrd 6.1.0-13-amd64 (built on Xen)\n";
    g_autoptr(GHashTable) mods = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GError) err = NULL;

    assert(!guest_initrd_scan(text, sizeof text - 1, mods, NULL, &err));
    assert(g_str_has_prefix(err->message, "part 1 at byte 0"));
    g_clear_error(&err);
    assert(!guest_initrd_scan("\0\0\0\0", 4, mods, NULL, &err));
    assert(strcmp(err->message, "empty file") == 0);
}

static void
test_module_name(void)
{
    static const struct {
        const char *path;
        const char *name;
    } cases[] = {
        {"kernel/drivers/block/xen-blkfront.ko", "xen_blkfront"},
        {"usr/lib/modules/6.1/kernel/drivers/virtio/virtio_pci.ko.zst", "virtio_pci"},
        {"a/b/ahci.ko.xz", "ahci"},
        {"ext4.ko.gz", "ext4"},
        {"usr/lib/modules/6.1/modules.dep", NULL},
        {"kernel/x86/microcode/GenuineIntel.bin", NULL},
        {NULL, NULL},
    };

    for (size_t i = 0; cases[i].path != NULL; i++) {
        g_autofree char *n = guest_module_name(cases[i].path);
        assert(g_strcmp0(n, cases[i].name) == 0);
    }
}

static char *
drivers_of(const char *devices)
{
    g_autofree char *xml = g_strdup_printf("<domain type='kvm'><name>v</name><devices>%s</devices></domain>", devices);
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) d = convert_domain_guest_drivers(xml, &err);

    assert(d != NULL);
    return g_strjoinv(" ", d);
}

static void
test_domain_drivers(void)
{
    static const struct {
        const char *devices;
        const char *want;
    } cases[] = {
        {"<disk type='file' device='disk'><target dev='vda' bus='virtio'/></disk>"
         "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/></disk>"
         "<interface type='network'><model type='virtio'/></interface>",
         "virtio_blk virtio_net virtio_pci"},
        {"<controller type='scsi' model='virtio-scsi'/>"
         "<disk type='file' device='disk'><target dev='sda' bus='scsi'/></disk>",
         "virtio_scsi sd_mod virtio_pci"},
        {"<disk type='file' device='disk'><target dev='sda' bus='sata'/></disk>"
         "<interface type='network'><model type='e1000'/></interface>",
         "ahci sd_mod"},
        {"<disk type='file' device='disk'><target dev='xvda' bus='xen'/></disk>", "xen_blkfront"},
        {NULL, NULL},
    };

    for (size_t i = 0; cases[i].devices != NULL; i++) {
        g_autofree char *got = drivers_of(cases[i].devices);
        if (strcmp(got, cases[i].want) != 0) {
            fprintf(stderr, "case %zu: got '%s', want '%s'\n", i, got, cases[i].want);
            assert(0);
        }
    }
}

int
main(void)
{
    test_module_name();
    test_single();
    test_concatenated(ARCHIVE_FILTER_GZIP, "gzip");
    test_concatenated(ARCHIVE_FILTER_ZSTD, "zstd");
    test_concatenated(ARCHIVE_FILTER_XZ, "xz");
    test_concatenated(ARCHIVE_FILTER_LZ4, "lz4");
    test_lz4_legacy();
    test_not_cpio();
    test_domain_drivers();
    printf("ok\n");
    return 0;
}
