/* session: one libguestfs appliance per VM — launch on the VM's disks,
 * inspect the guest into facts, mount it, and shut down cleanly (the
 * shutdown is what flushes the changes to the disks). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <guestfs.h>

#include "disk/disk.h"
#include "guest/guest-session.h"
#include "util/error.h"
#include "util/json.h"

static const char *const boot_names[GUEST_BOOT_LAST] = {
    [GUEST_BOOT_AUTO] = "auto",
    [GUEST_BOOT_BOOTLOADER] = "bootloader",
    [GUEST_BOOT_DIRECT] = "direct",
    [GUEST_BOOT_KEEP] = "keep",
};

static const char *const tcg_names[GUEST_TCG_LAST] = {
    [GUEST_TCG_AUTO] = "auto",
    [GUEST_TCG_ON] = "true",
    [GUEST_TCG_OFF] = "false",
};

const char *
guest_boot_name(enum guest_boot b)
{
    return b < GUEST_BOOT_LAST ? boot_names[b] : "?";
}

bool
guest_boot_parse(const char *s, enum guest_boot *out)
{
    for (int i = 0; i < GUEST_BOOT_LAST; i++) {
        if (g_strcmp0(s, boot_names[i]) == 0) {
            *out = (enum guest_boot)i;
            return true;
        }
    }
    return false;
}

const char *
guest_tcg_name(enum guest_tcg t)
{
    return t < GUEST_TCG_LAST ? tcg_names[t] : "?";
}

bool
guest_tcg_parse(const char *s, enum guest_tcg *out)
{
    for (int i = 0; i < GUEST_TCG_LAST; i++) {
        if (g_strcmp0(s, tcg_names[i]) == 0) {
            *out = (enum guest_tcg)i;
            return true;
        }
    }
    return false;
}

/* auto: this machine is itself a virtual machine (the CPU says
 * "hypervisor"), where nested KVM often cannot run the appliance. */
bool
guest_tcg_effective(enum guest_tcg t)
{
    g_autofree char *cpuinfo = NULL;

    if (t != GUEST_TCG_AUTO)
        return t == GUEST_TCG_ON;
    if (!g_file_get_contents("/proc/cpuinfo", &cpuinfo, NULL, NULL))
        return false;
    return strstr(cpuinfo, " hypervisor") != NULL;
}

/* Will the appliance be emulated?  force_tcg (ours or the environment's),
 * or no usable /dev/kvm, where libguestfs falls back to TCG. */
static bool
session_uses_tcg(enum guest_tcg t)
{
    const char *settings = g_getenv("LIBGUESTFS_BACKEND_SETTINGS");

    if (settings != NULL ? strstr(settings, "force_tcg") != NULL : guest_tcg_effective(t))
        return true;
    return access("/dev/kvm", R_OK | W_OK) != 0;
}

bool
guest_fail(struct guest_session *gs, GError **error, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *what = NULL;
    const char *msg = gs->g != NULL ? guestfs_last_error(gs->g) : NULL;

    va_start(ap, fmt);
    what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST, "guestfs: %s: %s", what,
                msg != NULL ? msg : "unknown error");
    return false;
}

void
guest_note(struct guest_session *gs, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *what = NULL;

    if (gs->opts.progress == NULL)
        return;
    va_start(ap, fmt);
    what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    gs->opts.progress(gs->opts.opaque, what);
}

static void
set_fact(struct guest_session *gs, const char *name, const char *value)
{
    g_hash_table_replace(gs->facts, g_strdup(name), g_strdup(value != NULL ? value : ""));
}

static void
set_bool(struct guest_session *gs, const char *name, bool value)
{
    set_fact(gs, name, value ? "true" : "false");
}

GHashTable *
guest_facts(struct guest_session *gs)
{
    return gs->facts;
}

void
guest_time(struct guest_session *gs, const char *action, gint64 start, bool say)
{
    struct guest_timing t = {
        .action = g_strdup(action),
        .seconds = (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC,
    };

    g_array_append_val(gs->timings, t);
    if (say)
        guest_note(gs, "timing: %s %.1f s", action, t.seconds);
}

const GArray *
guest_timings(struct guest_session *gs)
{
    return gs->timings;
}

char *
guest_timings_text(const GArray *timings)
{
    GString *s = g_string_new(NULL);

    for (guint i = 0; i < timings->len; i++) {
        const struct guest_timing *t = &g_array_index(timings, struct guest_timing, i);
        g_string_append_printf(s, "%s%s %.1f s", i ? ", " : "", t->action, t->seconds);
    }
    return g_string_free(s, FALSE);
}

char *
guest_timings_json(const GArray *timings)
{
    struct json j;
    char *text;

    json_init(&j, false);
    json_begin_array(&j);
    for (guint i = 0; i < timings->len; i++) {
        const struct guest_timing *t = &g_array_index(timings, struct guest_timing, i);
        json_begin_object(&j);
        json_kv_string(&j, "action", t->action);
        json_key(&j, "seconds");
        /* tenths, as the text says */
        json_double(&j, (double)(gint64)(t->seconds * 10.0 + 0.5) / 10.0);
        json_end_object(&j);
    }
    json_end_array(&j);
    text = json_steal(&j);
    json_release(&j);
    return text;
}

static void
timing_clear(gpointer p)
{
    struct guest_timing *t = p;

    g_free(t->action);
}

void
guest_free_strv(char **v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

static bool
is_xen_kernel(const char *version)
{
    g_autofree char *lc = g_ascii_strdown(version, -1);
    return strstr(lc, "xen") != NULL;
}

static int
cmp_version(gconstpointer a, gconstpointer b)
{
    return strverscmp(*(const char *const *)a, *(const char *const *)b);
}

/* kernels, kernel, xen_kernels_only, has_xen_kernel: every /lib/modules/VERSION with a
 * kernel image in /boot. */
static void
find_kernels(struct guest_session *gs)
{
    g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GString) all = g_string_new(NULL);
    const char *best = NULL;
    bool any_xen = false;
    char **mods = NULL;

    if (guestfs_is_dir(gs->g, "/lib/modules") > 0)
        mods = guestfs_ls(gs->g, "/lib/modules");
    for (size_t i = 0; mods != NULL && mods[i] != NULL; i++) {
        g_autofree char *z = g_strdup_printf("/boot/vmlinuz-%s", mods[i]);
        g_autofree char *x = g_strdup_printf("/boot/vmlinux-%s", mods[i]);
        if (guestfs_is_file(gs->g, z) > 0 || guestfs_is_file(gs->g, x) > 0)
            g_ptr_array_add(found, g_strdup(mods[i]));
    }
    guest_free_strv(mods);
    g_ptr_array_sort(found, cmp_version);
    for (guint i = 0; i < found->len; i++) {
        const char *v = found->pdata[i];
        g_string_append_printf(all, "%s%s", i ? " " : "", v);
        if (!is_xen_kernel(v))
            best = v;
        else
            any_xen = true;
    }
    set_fact(gs, "kernels", all->str);
    set_fact(gs, "kernel", best);
    set_bool(gs, "xen_kernels_only", found->len > 0 && best == NULL);
    set_bool(gs, "has_xen_kernel", any_xen);
}

static const char *
find_init(struct guest_session *gs)
{
    char *link = NULL;
    const char *kind = "unknown";

    if (guestfs_is_symlink(gs->g, "/sbin/init") > 0 &&
        (link = guestfs_readlink(gs->g, "/sbin/init")) != NULL && strstr(link, "systemd") != NULL)
        kind = "systemd";
    else if (guestfs_is_file(gs->g, "/sbin/initctl") > 0 && guestfs_is_dir(gs->g, "/etc/init") > 0)
        kind = "upstart";
    else if (guestfs_is_file(gs->g, "/etc/inittab") > 0)
        kind = "sysvinit";
    else if (guestfs_exists(gs->g, "/lib/systemd/systemd") > 0 ||
             guestfs_exists(gs->g, "/usr/lib/systemd/systemd") > 0)
        kind = "systemd";
    free(link);
    return kind;
}

static const char *
find_bootloader(struct guest_session *gs)
{
    if (guestfs_is_file(gs->g, "/boot/grub2/grub.cfg") > 0 ||
        guestfs_is_file(gs->g, "/boot/grub/grub.cfg") > 0)
        return "grub2";
    if (guestfs_is_file(gs->g, "/boot/grub/menu.lst") > 0 ||
        guestfs_is_file(gs->g, "/boot/grub/grub.conf") > 0)
        return "grub-legacy";
    return "none";
}

/* prefix + the drive letters of disk i: "a", "b", … "z", "aa", … (as
 * Linux names disks).  New string. */
static char *
drive_name(const char *prefix, int i)
{
    GString *s = g_string_new(NULL);

    for (int n = i + 1; n > 0; n = (n - 1) / 26)
        g_string_prepend_c(s, (char)('a' + (n - 1) % 26));
    g_string_prepend(s, prefix);
    return g_string_free(s, FALSE);
}

/* The letters and partition of a disk name without /dev/: "xvda1" →
 * "a1"; NULL when it is no Xen or KVM disk name. */
static const char *
disk_suffix(const char *name)
{
    static const char *const prefixes[] = {"xvd", "hd", "sd", "vd"};

    for (size_t i = 0; name != NULL && i < G_N_ELEMENTS(prefixes); i++) {
        if (g_str_has_prefix(name, prefixes[i]))
            return name + strlen(prefixes[i]);
    }
    return NULL;
}

char *
guest_kvm_disk_name(struct guest_session *gs, const char *letters, const char *part)
{
    g_autofree char *whole = g_strconcat(letters, part, NULL);

    /* A partition given to the VM as a disk of its own (xvda1). */
    for (size_t i = 0; part[0] != '\0' && gs->xen_devs != NULL && gs->xen_devs[i] != NULL; i++) {
        if (g_strcmp0(disk_suffix(gs->xen_devs[i]), whole) == 0)
            return g_strconcat("/dev/", gs->devs[i], NULL);
    }
    for (size_t i = 0; gs->xen_devs != NULL && gs->xen_devs[i] != NULL; i++) {
        if (g_strcmp0(disk_suffix(gs->xen_devs[i]), letters) == 0)
            return g_strconcat("/dev/", gs->devs[i], part, NULL);
    }
    /* A disk the VM does not have here: the letter is kept. */
    return g_strconcat("/dev/vd", letters, part, NULL);
}

/* Mount the guest's filesystems, shortest mountpoint first. */
struct mountpoint {
    const char *dir;
    const char *dev;
};

static int
cmp_mountpoint(gconstpointer a, gconstpointer b)
{
    const struct mountpoint *x = a;
    const struct mountpoint *y = b;
    size_t lx = strlen(x->dir);
    size_t ly = strlen(y->dir);

    return lx < ly ? -1 : lx > ly ? 1 : strcmp(x->dir, y->dir);
}

static bool
mount_all(struct guest_session *gs, const char *root, GError **error)
{
    char **mps = guestfs_inspect_get_mountpoints(gs->g, root);
    g_autoptr(GArray) pairs = g_array_new(FALSE, FALSE, sizeof(struct mountpoint));
    bool ok = true;

    if (mps == NULL)
        return guest_fail(gs, error, "cannot read the mountpoints of %s", root);
    for (size_t i = 0; mps[i] != NULL && mps[i + 1] != NULL; i += 2) {
        struct mountpoint mp = {mps[i], mps[i + 1]};
        g_array_append_val(pairs, mp);
    }
    g_array_sort(pairs, cmp_mountpoint);
    for (guint i = 0; i < pairs->len && ok; i++) {
        struct mountpoint *mp = &g_array_index(pairs, struct mountpoint, i);
        int r;

        /* "/" is the filesystem inspection found the OS on, whatever
         * libguestfs made of the fstab's name for it: /dev/xvda1 on a
         * disk that is the whole filesystem resolves to a /dev/sda1 that
         * does not exist. */
        if (strcmp(mp->dir, "/") == 0)
            mp->dev = root;
        r = gs->opts.read_only ? guestfs_mount_ro(gs->g, mp->dev, mp->dir)
                                   : guestfs_mount(gs->g, mp->dev, mp->dir);
        if (r == -1) {
            if (strcmp(mp->dir, "/") == 0)
                ok = guest_fail(gs, error, "cannot mount the root filesystem %s", mp->dev);
            else
                guest_note(gs, "cannot mount %s on %s: %s (left out)", mp->dev, mp->dir,
                           guestfs_last_error(gs->g));
        } else if (strcmp(mp->dir, "/boot") == 0) {
            g_free(gs->boot_fs);
            gs->boot_fs = g_strdup(mp->dev);
        }
    }
    guest_free_strv(mps);
    return ok;
}

/* No OS found: say why, naming an encrypted filesystem when there is one. */
static void
no_os(struct guest_session *gs, const struct guest_disk *disks, size_t n,
      GError **error)
{
    /* list_filesystems leaves LUKS volumes out (they are not mountable):
     * ask every partition and whole disk for its type. */
    char **parts = guestfs_list_partitions(gs->g);
    char **devs = guestfs_list_devices(gs->g);
    char **lists[] = {parts, devs};
    g_autoptr(GString) names = g_string_new(NULL);

    for (size_t i = 0; i < n; i++)
        g_string_append_printf(names, "%s%s", i ? ", " : "", disks[i].path);
    guestfs_push_error_handler(gs->g, NULL, NULL);
    for (size_t l = 0; l < G_N_ELEMENTS(lists); l++) {
        for (size_t i = 0; lists[l] != NULL && lists[l][i] != NULL; i++) {
            char *type = guestfs_vfs_type(gs->g, lists[l][i]);
            bool luks = type != NULL && strcmp(type, "crypto_LUKS") == 0;

            free(type);
            if (luks) {
                g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST,
                            "guestfs: the guest's filesystem %s is encrypted (LUKS) on %s: convoy cannot inspect or repair an encrypted root; repair it by hand, or set guest: {fixup: false}",
                            lists[l][i], names->str);
                guestfs_pop_error_handler(gs->g);
                guest_free_strv(parts);
                guest_free_strv(devs);
                return;
            }
        }
    }
    guestfs_pop_error_handler(gs->g);
    guest_free_strv(parts);
    guest_free_strv(devs);
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST,
                "guestfs: no operating system found on %s (libguestfs inspection needs a root filesystem with /etc/fstab and an OS release file); set guest: {fixup: false} for a data-only VM",
                names->str);
}

/* Facts about the disk that holds the root (or /boot). */
static bool
disk_facts(struct guest_session *gs, const char *root, GError **error)
{
    const char *fs = gs->boot_fs != NULL ? gs->boot_fs : root;
    char *disk = NULL;
    char *head = NULL;
    size_t got = 0;
    bool partitioned;
    bool code = false;

    if (guestfs_is_lv(gs->g, fs) > 0) {
        char **devs = guestfs_list_devices(gs->g);
        disk = devs != NULL && devs[0] != NULL ? strdup(devs[0]) : NULL;
        guest_free_strv(devs);
        partitioned = true;
    } else {
        guestfs_push_error_handler(gs->g, NULL, NULL);
        disk = guestfs_part_to_dev(gs->g, fs);
        guestfs_pop_error_handler(gs->g);
        partitioned = disk != NULL;
        if (disk == NULL)
            disk = strdup(fs);
    }
    if (disk == NULL)
        return guest_fail(gs, error, "cannot find the disk holding %s", fs);
    head = guestfs_pread_device(gs->g, disk, 440, 0, &got);
    if (head == NULL) {
        /* Not "no boot code": that would install a bootloader again. */
        guest_fail(gs, error, "cannot read the boot sector of %s", disk);
        free(disk);
        return false;
    }
    for (size_t i = 0; i < got; i++)
        code = code || head[i] != 0;
    free(head);
    gs->boot_index = guestfs_device_index(gs->g, disk);
    if (gs->boot_index < 0) {
        guest_fail(gs, error, "cannot tell which disk %s is", disk);
        free(disk);
        return false;
    }
    {
        /* For commands run in the guest: the kernel inside the appliance
         * may name the disks in another order than the API does (its
         * SCSI scan is asynchronous), so "/dev/sda" there can be the
         * appliance's own disk.  The label's link always names ours. */
        g_autofree char *by_label = drive_name("/dev/disk/guestfs/convoy", gs->boot_index);
        set_fact(gs, "boot_disk", by_label);
    }
    /* Its name on KVM. */
    set_fact(gs, "boot_dev", gs->devs[gs->boot_index]);
    set_bool(gs, "partitioned", partitioned);
    set_bool(gs, "boot_sector", partitioned && code);
    free(disk);

    if (!partitioned && gs->opts.boot == GUEST_BOOT_BOOTLOADER) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST,
                    "guest.boot is 'bootloader', but the filesystem %s fills the whole disk (no partition table): there is no room for a bootloader; use boot: auto or direct",
                    fs);
        return false;
    }
    set_bool(gs, "needs_bootloader",
             partitioned && !code &&
                 (gs->opts.boot == GUEST_BOOT_AUTO || gs->opts.boot == GUEST_BOOT_BOOTLOADER));
    set_bool(gs, "direct_boot", gs->opts.boot == GUEST_BOOT_DIRECT ||
                                    (!partitioned && gs->opts.boot == GUEST_BOOT_AUTO));
    return true;
}

static void
os_facts(struct guest_session *gs, const char *root)
{
    static const struct {
        const char *fact;
        char *(*get)(guestfs_h *, const char *);
    } strs[] = {
        {"os", guestfs_inspect_get_type},
        {"distro", guestfs_inspect_get_distro},
        {"product", guestfs_inspect_get_product_name},
        {"package_format", guestfs_inspect_get_package_format},
        {"package_management", guestfs_inspect_get_package_management},
    };
    char *s;

    for (size_t i = 0; i < G_N_ELEMENTS(strs); i++) {
        s = strs[i].get(gs->g, root);
        set_fact(gs, strs[i].fact, s != NULL && strcmp(s, "unknown") != 0 ? s : "");
        free(s);
    }
    g_autofree char *major = g_strdup_printf("%d", guestfs_inspect_get_major_version(gs->g, root));
    g_autofree char *minor = g_strdup_printf("%d", guestfs_inspect_get_minor_version(gs->g, root));
    set_fact(gs, "major", major);
    set_fact(gs, "minor", minor);
    set_fact(gs, "root_device", root);
    s = guestfs_vfs_uuid(gs->g, root);
    set_fact(gs, "root_uuid", s);
    free(s);
    s = guestfs_vfs_type(gs->g, root);
    set_fact(gs, "root_fstype", s);
    free(s);
    set_bool(gs, "encrypted_root", false);
}

static gint
cmp_disk(gconstpointer a, gconstpointer b, gpointer unused)
{
    const struct guest_disk *x = a;
    const struct guest_disk *y = b;
    size_t lx = x->dev != NULL ? strlen(x->dev) : G_MAXSIZE;
    size_t ly = y->dev != NULL ? strlen(y->dev) : G_MAXSIZE;

    (void)unused;
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return x->dev != NULL ? strcmp(x->dev, y->dev) : 0;
}

void
guest_disks_sort(struct guest_disk *disks, size_t n)
{
    /* g_qsort_with_data is a stable sort. */
    g_qsort_with_data(disks, (gint)n, sizeof *disks, cmp_disk, NULL);
}

struct guest_session *
guest_open(const struct guest_disk *disks, size_t n, const struct guest_opts *opts,
           GError **error)
{
    struct guest_session *gs = g_new0(struct guest_session, 1);
    char **roots = NULL;
    size_t n_roots = 0;
    gint64 start;

    gs->opts = *opts;
    if (gs->opts.timeout == 0)
        gs->opts.timeout = 600;
    gs->facts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    gs->timings = g_array_new(FALSE, TRUE, sizeof(struct guest_timing));
    g_array_set_clear_func(gs->timings, timing_clear);
    gs->drivers = opts->drivers != NULL ? g_strdupv((char **)opts->drivers) : NULL;
    gs->opts.drivers = NULL;
    gs->g = guestfs_create();
    if (gs->g == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST,
                    "guestfs: cannot create a libguestfs handle");
        guest_abandon(gs);
        return NULL;
    }
    guestfs_set_error_handler(gs->g, NULL, NULL);
    /* The appliance (qemu) in its own process group: Ctrl-C stops convoy
     * between operations, not the appliance under one. */
    guestfs_set_pgroup(gs->g, 1);
    if (g_getenv("LIBGUESTFS_BACKEND") == NULL)
        guestfs_set_backend(gs->g, "direct");
    if (g_getenv("LIBGUESTFS_BACKEND_SETTINGS") == NULL && guest_tcg_effective(opts->tcg))
        guestfs_set_backend_setting(gs->g, "force_tcg", "1");
    gs->tcg = session_uses_tcg(opts->tcg);
    gs->boot_index = -1;
    gs->paths = g_new0(char *, n + 1);
    gs->formats = g_new0(char *, n + 1);
    gs->devs = g_new0(char *, n + 1);
    gs->xen_devs = g_new0(char *, n + 1);
    for (size_t i = 0; i < n; i++) {
        gs->paths[i] = g_strdup(disks[i].path);
        gs->formats[i] = g_strdup(disks[i].format);
        gs->devs[i] = disks[i].dev != NULL ? g_strdup(disks[i].dev) : drive_name("vd", (int)i);
        if (disks[i].xen_dev != NULL)
            gs->xen_devs[i] = g_strdup(disks[i].xen_dev);
        else if (g_str_has_prefix(gs->devs[i], "vd"))
            gs->xen_devs[i] = g_strconcat("x", gs->devs[i], NULL);
        else
            gs->xen_devs[i] = drive_name("xvd", (int)i);
    }
    for (size_t i = 0; i < n; i++) {
        /* Letters only, as libguestfs labels must be: convoya, convoyb, … */
        g_autofree char *label = drive_name("convoy", (int)i);

        if (guestfs_add_drive_opts(gs->g, disks[i].path, GUESTFS_ADD_DRIVE_OPTS_FORMAT,
                                   disks[i].format, GUESTFS_ADD_DRIVE_OPTS_READONLY,
                                   opts->read_only ? 1 : 0, GUESTFS_ADD_DRIVE_OPTS_LABEL,
                                   label, -1) == -1) {
            guest_fail(gs, error, "cannot add %s", disks[i].path);
            guest_abandon(gs);
            return NULL;
        }
    }
    /* libguestfs's defaults unless told (not yet measured faster: see
     * the README's Benchmarks). */
    if (opts->memsize > 0)
        guestfs_set_memsize(gs->g, opts->memsize);
    if (opts->smp > 0)
        guestfs_set_smp(gs->g, opts->smp);
    guest_note(gs, "starting the libguestfs appliance%s (%d MiB, %d vCPU)",
               guest_tcg_effective(opts->tcg) ? " (TCG)" : "", guestfs_get_memsize(gs->g),
               guestfs_get_smp(gs->g));
    start = g_get_monotonic_time();
    if (guestfs_launch(gs->g) == -1) {
        guest_fail(gs, error, "cannot start the appliance (try LIBGUESTFS_BACKEND_SETTINGS=force_tcg, or libguestfs-test-tool)");
        guest_abandon(gs);
        return NULL;
    }
    guest_time(gs, "launch", start, true);
    guest_note(gs, "inspecting the guest");
    start = g_get_monotonic_time();
    roots = guestfs_inspect_os(gs->g);
    for (; roots != NULL && roots[n_roots] != NULL; n_roots++)
        ;
    if (roots == NULL || n_roots != 1) {
        if (roots == NULL || n_roots == 0) {
            no_os(gs, disks, n, error);
        } else {
            g_autofree char *all = g_strjoinv(", ", roots);
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST,
                        "guestfs: %zu operating systems found (%s); convoy repairs one per VM",
                        n_roots, all);
        }
        guest_free_strv(roots);
        guest_abandon(gs);
        return NULL;
    }
    gs->root = g_strdup(roots[0]);
    guest_free_strv(roots);
    os_facts(gs, gs->root);
    if (!mount_all(gs, gs->root, error) || !disk_facts(gs, gs->root, error)) {
        guest_abandon(gs);
        return NULL;
    }
    set_fact(gs, "init", find_init(gs));
    set_fact(gs, "bootloader", find_bootloader(gs));
    find_kernels(gs);
    guest_boot_config_facts(gs);
    guest_time(gs, "inspect", start, true);
    start = g_get_monotonic_time();
    guest_initrd_facts(gs);
    guest_time(gs, "initrd", start, true);
    return gs;
}

/* After the appliance is gone: a disk that needed a bootloader must now
 * have boot code, read from the host's image, or the guest would not boot
 * from it (no rule installed one, or the write did not reach the disk). */
static bool
check_boot_code(struct guest_session *gs, GError **error)
{
    const char *path;
    const char *format;
    unsigned char head[440];
    g_autoptr(GError) err = NULL;
    bool code = false;

    if (gs->opts.read_only || gs->boot_index < 0 ||
        g_strcmp0(g_hash_table_lookup(gs->facts, "needs_bootloader"), "true") != 0)
        return true;
    path = gs->paths[gs->boot_index];
    format = gs->formats[gs->boot_index];
    if (g_strcmp0(format, "qcow2") == 0) {
        g_autoptr(disk_reader) r = disk_reader_open_qcow2(path, &err);
        if (r == NULL || !disk_reader_pread(r, head, sizeof head, 0, &err)) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST,
                        "cannot read the boot sector of %s back: %s", path, err->message);
            return false;
        }
    } else {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t got = fd >= 0 ? pread(fd, head, sizeof head, 0) : -1;
        int e = errno;

        if (fd >= 0)
            close(fd);
        if (got != (ssize_t)sizeof head) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST,
                        "cannot read the boot sector of %s back: %s", path,
                        got < 0 ? g_strerror(e) : "short read");
            return false;
        }
    }
    for (size_t i = 0; i < sizeof head; i++)
        code = code || head[i] != 0;
    if (!code) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST,
                    "the guest needed a bootloader on %s (bootloader '%s'), but after the fix-up its boot sector still holds no boot code, so it would not boot from its disk: no guest rule installed one for this guest; add one, or use guest.boot: direct",
                    path, (const char *)g_hash_table_lookup(gs->facts, "bootloader"));
        return false;
    }
    return true;
}

bool
guest_close(struct guest_session *gs, GError **error)
{
    bool ok = true;

    if (gs->g != NULL) {
        if (gs->aug_open)
            guestfs_aug_close(gs->g);
        if (guestfs_umount_all(gs->g) == -1 || guestfs_shutdown(gs->g) == -1)
            ok = guest_fail(gs, error, "cannot write the changes to the disks");
    }
    if (ok)
        ok = check_boot_code(gs, error);
    guest_abandon(gs);
    return ok;
}

void
guest_abandon(struct guest_session *gs)
{
    if (gs == NULL)
        return;
    if (gs->g != NULL)
        guestfs_close(gs->g);
    g_hash_table_unref(gs->facts);
    g_array_unref(gs->timings);
    g_strfreev(gs->drivers);
    g_free(gs->root);
    g_free(gs->boot_fs);
    g_strfreev(gs->paths);
    g_strfreev(gs->formats);
    g_strfreev(gs->devs);
    g_strfreev(gs->xen_devs);
    g_free(gs);
}
