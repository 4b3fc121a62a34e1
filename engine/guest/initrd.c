/* initrd: does the guest's initrd already hold the drivers the converted
 * domain needs?  Read from the facts alone, without running anything in
 * the guest: the initrd of the default kernel is copied out of the
 * appliance and its cpio members listed with libarchive (an uncompressed
 * early-microcode cpio, then a gzip, zstd, xz, lz4 … compressed one, as
 * the kernel reads them), and /lib/modules/KVER/modules.builtin says which
 * drivers need no module at all.  The decision is a fact, so rules,
 * plans and reports all see the same thing. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <archive.h>
#include <archive_entry.h>
#include <guestfs.h>

#include "guest/guest-session.h"
#include "util/error.h"

const char *const guest_default_drivers[] = {"virtio_blk", "virtio_pci", "virtio_net", NULL};

/* Drivers that mean the initrd was made for Xen's disks. */
static const char *const xen_disk_drivers[] = {"xen_blkfront", "xenblk", "xen_vbd", NULL};

char *
guest_module_name(const char *path)
{
    const char *base = strrchr(path, '/');
    static const char *const exts[] = {".ko.zst", ".ko.xz", ".ko.gz", ".ko", NULL};

    base = base != NULL ? base + 1 : path;
    for (size_t i = 0; exts[i] != NULL; i++) {
        if (g_str_has_suffix(base, exts[i])) {
            char *name = g_strndup(base, strlen(base) - strlen(exts[i]));
            g_strdelimit(name, "-", '_');
            return name;
        }
    }
    return NULL;
}

bool
guest_initrd_scan(const void *data, size_t len, GHashTable *modules, GString *parts,
                  GError **error)
{
    const unsigned char *p = data;
    size_t off = 0;
    unsigned n = 0;

    while (off < len) {
        struct archive *a;
        struct archive_entry *e;
        bool plain;
        int64_t used;
        int r;

        /* The parts are padded with zeros (to 4 bytes, or 512). */
        while (off < len && p[off] == 0)
            off++;
        if (off >= len)
            break;
        a = archive_read_new();
        archive_read_support_filter_all(a);
        archive_read_support_format_cpio(a);
        if (archive_read_open_memory(a, p + off, len - off) != ARCHIVE_OK) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST,
                        "part %u at byte %zu is not a cpio archive (plain or compressed) that libarchive reads: %s",
                        n + 1, off, archive_error_string(a));
            archive_read_free(a);
            return false;
        }
        while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
            const char *name = archive_entry_pathname(e);
            char *m = name != NULL ? guest_module_name(name) : NULL;

            if (m != NULL)
                g_hash_table_add(modules, m);
        }
        if (r != ARCHIVE_EOF) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST,
                        "part %u at byte %zu: %s", n + 1, off, archive_error_string(a));
            archive_read_free(a);
            return false;
        }
        plain = archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE;
        if (parts != NULL)
            g_string_append_printf(parts, "%s%s cpio", parts->len != 0 ? " + " : "",
                                   plain ? "plain" : archive_filter_name(a, 0));
        used = archive_filter_bytes(a, -1);
        archive_read_free(a);
        n++;
        /* A compressed part runs to the end of the file: the kernel's
         * own initramfs ends with it. */
        if (!plain || used <= 0)
            break;
        off += (size_t)used;
    }
    if (n == 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST, "empty file");
        return false;
    }
    return true;
}

/* The module that serves a root filesystem type, or NULL. */
static const char *
fs_module(const char *fstype)
{
    static const char *const known[] = {"ext4", "xfs", "btrfs", "jfs", "reiserfs", NULL};

    if (fstype == NULL || *fstype == '\0')
        return NULL;
    /* Debian and RHEL build ext2 and ext3 into the ext4 driver; a guest
     * with their own modules has them as aliases of ext4 too. */
    if (strcmp(fstype, "ext2") == 0 || strcmp(fstype, "ext3") == 0)
        return "ext4";
    for (size_t i = 0; known[i] != NULL; i++) {
        if (strcmp(known[i], fstype) == 0)
            return known[i];
    }
    return NULL;
}

/* The initrd file of kernel k, or NULL. */
static char *
initrd_of(struct guest_session *gs, const char *k)
{
    static const struct {
        const char *prefix;
        const char *suffix;
    } forms[] = {
        {"/boot/initrd.img-", ""}, {"/boot/initramfs-", ".img"}, {"/boot/initrd-", ""},
        {"/boot/initrd-", ".img"}, {NULL, NULL},
    };

    for (size_t i = 0; forms[i].prefix != NULL; i++) {
        g_autofree char *p = g_strconcat(forms[i].prefix, k, forms[i].suffix, NULL);
        if (guestfs_is_file_opts(gs->g, p, GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS, 1, -1) > 0)
            return g_steal_pointer(&p);
    }
    return NULL;
}

/* modules.builtin of kernel k: the drivers built into it. */
static GHashTable *
builtin_of(struct guest_session *gs, const char *k)
{
    GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autofree char *path = g_strdup_printf("/lib/modules/%s/modules.builtin", k);
    g_auto(GStrv) lines = NULL;
    size_t len = 0;
    char *text;

    if (guestfs_is_file(gs->g, path) <= 0)
        return set;
    text = guestfs_read_file(gs->g, path, &len);
    if (text == NULL)
        return set;
    {
        g_autofree char *s = g_strndup(text, len);
        lines = g_strsplit(s, "\n", -1);
    }
    free(text);
    for (size_t i = 0; lines[i] != NULL; i++) {
        char *m = guest_module_name(lines[i]);
        if (m != NULL)
            g_hash_table_add(set, m);
    }
    return set;
}

/* Copy the guest's file out and scan it. */
static bool
scan_guest_file(struct guest_session *gs, const char *path, GHashTable *modules,
                GString *parts, GError **error)
{
    g_autofree char *tmp = NULL;
    g_autoptr(GMappedFile) map = NULL;
    g_autoptr(GError) err = NULL;
    int fd = g_file_open_tmp("convoy-initrd-XXXXXX", &tmp, &err);
    bool ok;

    if (fd < 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO, "cannot make a temporary file: %s",
                    err->message);
        return false;
    }
    close(fd);
    if (guestfs_download(gs->g, path, tmp) == -1) {
        g_unlink(tmp);
        return guest_fail(gs, error, "cannot copy %s out of the guest", path);
    }
    map = g_mapped_file_new(tmp, FALSE, &err);
    g_unlink(tmp);
    if (map == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO, "cannot read %s: %s", tmp,
                    err->message);
        return false;
    }
    ok = guest_initrd_scan(g_mapped_file_get_contents(map), g_mapped_file_get_length(map),
                           modules, parts, error);
    return ok;
}

static void
join(GString *s, const char *item)
{
    g_string_append_printf(s, "%s%s", s->len != 0 ? ", " : "", item);
}

void
guest_initrd_facts(struct guest_session *gs)
{
    const char *k = g_hash_table_lookup(gs->facts, "kernel");
    const char *const *want = gs->drivers != NULL ? (const char *const *)gs->drivers
                                                   : guest_default_drivers;
    const char *fsmod = fs_module(g_hash_table_lookup(gs->facts, "root_fstype"));
    g_autoptr(GHashTable) modules = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GHashTable) builtin = NULL;
    g_autoptr(GPtrArray) needed = g_ptr_array_new();
    g_autoptr(GString) names = g_string_new(NULL);
    g_autoptr(GString) missing = g_string_new(NULL);
    g_autoptr(GString) have = g_string_new(NULL);
    g_autoptr(GString) parts = g_string_new(NULL);
    g_autoptr(GString) xen = g_string_new(NULL);
    g_autoptr(GError) err = NULL;
    g_autofree char *initrd = NULL;
    g_autofree char *decision = NULL;
    bool xen_only = false;
    bool rebuild;

    for (size_t i = 0; want[i] != NULL; i++)
        g_ptr_array_add(needed, (gpointer)want[i]);
    if (fsmod != NULL)
        g_ptr_array_add(needed, (gpointer)fsmod);
    for (guint i = 0; i < needed->len; i++)
        g_string_append_printf(names, "%s%s", i ? " " : "", (const char *)needed->pdata[i]);
    g_hash_table_replace(gs->facts, g_strdup("initrd_drivers"), g_strdup(names->str));
    if (k == NULL || *k == '\0' || (initrd = initrd_of(gs, k)) == NULL) {
        g_hash_table_replace(gs->facts, g_strdup("initrd"), g_strdup(""));
        g_hash_table_replace(gs->facts, g_strdup("initrd_missing"), g_strdup(""));
        g_hash_table_replace(gs->facts, g_strdup("initrd_xen_only"), g_strdup("false"));
        g_hash_table_replace(gs->facts, g_strdup("needs_initrd"), g_strdup("false"));
        g_hash_table_replace(gs->facts, g_strdup("initrd_decision"),
                             g_strdup_printf("no initrd for kernel %s: nothing to rebuild",
                                             k != NULL && *k ? k : "(none)"));
        return;
    }
    builtin = builtin_of(gs, k);
    g_hash_table_replace(gs->facts, g_strdup("initrd"), g_strdup(initrd));
    if (!scan_guest_file(gs, initrd, modules, parts, &err)) {
        /* Not readable here: rebuilding is the safe side. */
        g_hash_table_replace(gs->facts, g_strdup("initrd_missing"), g_strdup(names->str));
        g_hash_table_replace(gs->facts, g_strdup("initrd_xen_only"), g_strdup("false"));
        g_hash_table_replace(gs->facts, g_strdup("needs_initrd"), g_strdup("true"));
        g_hash_table_replace(gs->facts, g_strdup("initrd_decision"),
                             g_strdup_printf("%s cannot be read (%s): rebuild", initrd,
                                             err->message));
        return;
    }
    for (guint i = 0; i < needed->len; i++) {
        const char *m = needed->pdata[i];
        if (g_hash_table_contains(builtin, m)) {
            g_autofree char *b = g_strdup_printf("%s (built in)", m);
            join(have, b);
        } else if (g_hash_table_contains(modules, m)) {
            join(have, m);
        } else {
            g_string_append_printf(missing, "%s%s", missing->len ? " " : "", m);
        }
    }
    for (size_t i = 0; xen_disk_drivers[i] != NULL; i++) {
        if (g_hash_table_contains(modules, xen_disk_drivers[i]))
            join(xen, xen_disk_drivers[i]);
    }
    /* Built for Xen only: its disk driver is Xen's and none of the disk
     * drivers the domain needs is there as a module. */
    if (xen->len != 0) {
        xen_only = true;
        for (guint i = 0; i < needed->len; i++) {
            const char *m = needed->pdata[i];
            if (strcmp(m, "virtio_pci") != 0 && strcmp(m, "virtio_net") != 0 &&
                (fsmod == NULL || strcmp(m, fsmod) != 0) && g_hash_table_contains(modules, m))
                xen_only = false;
        }
    }
    rebuild = missing->len != 0 || xen_only;
    if (!rebuild) {
        decision = g_strdup_printf("%s (%s) has %s: no rebuild", initrd, parts->str, have->str);
    } else {
        g_autoptr(GString) why = g_string_new(NULL);

        if (missing->len != 0) {
            g_autofree char *l = g_strdup(missing->str);
            g_auto(GStrv) v = g_strsplit(l, " ", -1);
            g_autofree char *lst = g_strjoinv(", ", v);
            g_string_append_printf(why, "lacks %s", lst);
        }
        if (xen_only)
            g_string_append_printf(why, "%sis built for Xen only (%s)", why->len ? " and " : "",
                                   xen->str);
        decision = g_strdup_printf("%s (%s) %s: rebuild", initrd, parts->str, why->str);
    }
    g_hash_table_replace(gs->facts, g_strdup("initrd_missing"), g_strdup(missing->str));
    g_hash_table_replace(gs->facts, g_strdup("initrd_xen_only"),
                         g_strdup(xen_only ? "true" : "false"));
    g_hash_table_replace(gs->facts, g_strdup("needs_initrd"), g_strdup(rebuild ? "true" : "false"));
    g_hash_table_replace(gs->facts, g_strdup("initrd_decision"), g_steal_pointer(&decision));
}
