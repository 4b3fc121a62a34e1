/* boot: a guest whose filesystem fills the whole disk has nowhere to keep
 * a bootloader, so KVM boots its kernel directly; copy the kernel and the
 * initrd out of the guest next to its disks. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <guestfs.h>

#include "guest/guest-session.h"
#include "util/error.h"

void
guest_boot_files_clear(struct guest_boot_files *b)
{
    g_clear_pointer(&b->kernel, g_free);
    g_clear_pointer(&b->initrd, g_free);
    g_clear_pointer(&b->cmdline, g_free);
}

/* Download a guest file to dir/name through a temporary file. */
static char *
fetch(struct guest_session *gs, const char *from, const char *dir, const char *name,
      GError **error)
{
    g_autofree char *dst = g_build_filename(dir, name, NULL);
    g_autofree char *tmp = g_strdup_printf("%s.tmp", dst);

    if (guestfs_download(gs->g, from, tmp) == -1) {
        g_unlink(tmp);
        guest_fail(gs, error, "cannot copy %s out of the guest to %s", from, tmp);
        return NULL;
    }
    if (g_rename(tmp, dst) == -1) {
        int errsv = errno;
        g_unlink(tmp);
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO, "cannot rename %s to %s: %s", tmp,
                    dst, g_strerror(errsv));
        return NULL;
    }
    return g_steal_pointer(&dst);
}

/* The first of dir/PREFIX{k}SUFFIX that is a file in the guest. */
struct boot_name {
    const char *prefix;
    const char *suffix;
};

static char *
first_file(struct guest_session *gs, const struct boot_name *names, const char *k)
{
    for (size_t i = 0; names[i].prefix != NULL; i++) {
        g_autofree char *p = g_strconcat(names[i].prefix, k, names[i].suffix, NULL);
        g_autofree char *real = NULL;
        char *r;

        if (guestfs_is_file(gs->g, p) <= 0)
            continue;
        guestfs_push_error_handler(gs->g, NULL, NULL);
        r = guestfs_realpath(gs->g, p);
        guestfs_pop_error_handler(gs->g);
        real = g_strdup(r != NULL ? r : p);
        free(r);
        return g_steal_pointer(&real);
    }
    return NULL;
}

bool
guest_export_boot(struct guest_session *gs, const char *dir, const char *prefix,
                  struct guest_boot_files *out, GError **error)
{
    static const struct boot_name kernels[] = {
        {"/boot/vmlinuz-", ""}, {"/boot/vmlinux-", ""}, {NULL, NULL},
    };
    static const struct boot_name initrds[] = {
        {"/boot/initrd.img-", ""}, {"/boot/initramfs-", ".img"}, {"/boot/initrd-", ""},
        {"/boot/initrd-", ".img"}, {NULL, NULL},
    };
    const char *k = g_hash_table_lookup(gs->facts, "kernel");
    const char *root = g_hash_table_lookup(gs->facts, "root_device");
    g_autofree char *kfile = NULL;
    g_autofree char *ifile = NULL;
    g_autofree char *kname = g_strdup_printf("%s-vmlinuz", prefix);
    g_autofree char *iname = g_strdup_printf("%s-initrd", prefix);
    g_autofree char *rootdev = NULL;

    memset(out, 0, sizeof *out);
    if (g_strcmp0(g_hash_table_lookup(gs->facts, "direct_boot"), "true") != 0)
        return true;
    if (k == NULL || *k == '\0') {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST,
                    "direct kernel boot: the guest has no kernel that runs on KVM (kernels: %s)",
                    (const char *)g_hash_table_lookup(gs->facts, "kernels"));
        return false;
    }
    kfile = first_file(gs, kernels, k);
    ifile = first_file(gs, initrds, k);
    if (kfile == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST,
                    "direct kernel boot: no /boot/vmlinuz-%s in the guest", k);
        return false;
    }
    guest_note(gs, "copying kernel %s out for a direct kernel boot", k);
    out->kernel = fetch(gs, kfile, dir, kname, error);
    if (out->kernel == NULL)
        return false;
    if (ifile != NULL && (out->initrd = fetch(gs, ifile, dir, iname, error)) == NULL) {
        guest_boot_files_clear(out);
        return false;
    }
    /* The root as KVM names it: the appliance's /dev/sdXN is disk X as
     * the domain names it, partition N. */
    if (root != NULL && g_str_has_prefix(root, "/dev/sd")) {
        const char *p = root + strlen("/dev/sd");
        int idx = 0;

        for (; g_ascii_islower(*p); p++)
            idx = idx * 26 + (*p - 'a' + 1);
        idx--;
        for (int i = 0; idx >= 0 && gs->devs[i] != NULL; i++) {
            if (i == idx)
                rootdev = g_strconcat("/dev/", gs->devs[i], p, NULL);
        }
    }
    if (rootdev == NULL)
        rootdev = g_strdup(root != NULL ? root : "/dev/vda");
    out->cmdline = g_strdup_printf("root=%s ro console=tty0 console=ttyS0", rootdev);
    return true;
}

/* The boot entries that name Xen: its disks (/dev/xvdX), its consoles
 * (hvc0, xvc0) or xencons=, in the files a bootloader reads. */
static void
xen_names_in(struct guest_session *gs, const char *file, GRegex *re, GPtrArray *found)
{
    g_autoptr(GMatchInfo) mi = NULL;
    g_autofree char *text = NULL;
    size_t len = 0;
    char *data;

    if (guestfs_is_file_opts(gs->g, file, GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS, 1, -1) <= 0)
        return;
    data = guestfs_read_file(gs->g, file, &len);
    if (data == NULL)
        return;
    text = g_strndup(data, len);
    free(data);
    g_regex_match(re, text, 0, &mi);
    while (g_match_info_matches(mi)) {
        g_autofree char *m = g_match_info_fetch(mi, 0);
        bool seen = false;

        for (guint i = 0; i < found->len && !seen; i++)
            seen = strcmp(found->pdata[i], m) == 0;
        if (!seen)
            g_ptr_array_add(found, g_steal_pointer(&m));
        g_match_info_next(mi, NULL);
    }
}

void
guest_boot_config_facts(struct guest_session *gs)
{
    static const char *const files[] = {
        "/boot/grub/grub.cfg", "/boot/grub2/grub.cfg", "/boot/grub/menu.lst",
        "/boot/grub/grub.conf", NULL,
    };
    g_autoptr(GRegex) re = g_regex_new("/dev/xvd[a-z]+[0-9]*|\\bconsole=(?:hvc|xvc)0\\b|\\bxencons=[^ \\t\"\\n]*",
                                       G_REGEX_OPTIMIZE, 0, NULL);
    g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GString) where = g_string_new(NULL);
    g_autoptr(GString) d = g_string_new(NULL);
    const char *bl = g_hash_table_lookup(gs->facts, "bootloader");
    bool xen_default = g_strcmp0(g_hash_table_lookup(gs->facts, "has_xen_kernel"), "true") == 0 &&
                       g_strcmp0(g_hash_table_lookup(gs->facts, "xen_kernels_only"), "true") != 0;
    bool regen;
    char **bls;

    for (size_t i = 0; files[i] != NULL; i++) {
        guint before = found->len;
        xen_names_in(gs, files[i], re, found);
        if (found->len != before)
            g_string_append_printf(where, "%s%s", where->len ? ", " : "", files[i]);
    }
    guestfs_push_error_handler(gs->g, NULL, NULL);
    bls = guestfs_is_dir(gs->g, "/boot/loader/entries") > 0
              ? guestfs_glob_expand(gs->g, "/boot/loader/entries/*.conf")
              : NULL;
    guestfs_pop_error_handler(gs->g);
    for (size_t i = 0; bls != NULL && bls[i] != NULL; i++) {
        guint before = found->len;
        xen_names_in(gs, bls[i], re, found);
        if (found->len != before)
            g_string_append_printf(where, "%s%s", where->len ? ", " : "", bls[i]);
    }
    guest_free_strv(bls);
    regen = g_strcmp0(bl, "none") != 0 && (found->len != 0 || xen_default);
    if (g_strcmp0(bl, "none") == 0) {
        g_string_append(d, "no bootloader configuration");
    } else if (found->len != 0) {
        g_ptr_array_add(found, NULL);
        g_autofree char *names = g_strjoinv(", ", (char **)found->pdata);
        g_string_append_printf(d, "%s names %s: regenerate", where->str, names);
    } else if (xen_default) {
        g_string_append(d, "the default kernel is a Xen one: regenerate");
    } else {
        g_string_append(d, "boot entries name no Xen device or console: no regeneration");
    }
    if (g_strcmp0(g_hash_table_lookup(gs->facts, "direct_boot"), "true") == 0)
        g_string_append(d, "; direct kernel boot: no bootloader install");
    else if (g_strcmp0(g_hash_table_lookup(gs->facts, "needs_bootloader"), "true") == 0)
        g_string_append_printf(d, "; no boot code on %s: install",
                               (const char *)g_hash_table_lookup(gs->facts, "boot_dev"));
    else if (g_strcmp0(g_hash_table_lookup(gs->facts, "boot_sector"), "true") == 0)
        g_string_append_printf(d, "; boot code on %s: no install",
                               (const char *)g_hash_table_lookup(gs->facts, "boot_dev"));
    g_hash_table_replace(gs->facts, g_strdup("needs_boot_config"),
                         g_strdup(regen ? "true" : "false"));
    g_hash_table_replace(gs->facts, g_strdup("boot_decision"), g_string_free(g_steal_pointer(&d), FALSE));
}
