/* The appliance session, shared by session.c, ops.c and boot.c. */
#pragma once

#include <stdbool.h>
#include <glib.h>
#include <guestfs.h>

#include "guest/guest-priv.h"

struct guest_session {
    guestfs_h *g;
    struct guest_opts opts;
    GHashTable *facts;      /* name → value, owned */
    char *root;             /* root filesystem (appliance name) */
    char *boot_fs;          /* the /boot filesystem, or NULL */
    bool aug_open;          /* guestfs_aug_init done */
    char **paths;           /* host paths of the disks, in order, owned */
    char **formats;         /* their formats, owned */
    char **devs;            /* their KVM names ("vda"), owned */
    char **xen_devs;        /* their Xen names without /dev/ ("xvda1"), owned */
    int boot_index;         /* the disk holding boot_disk, or -1 */
    bool tcg;               /* the appliance is emulated (TCG), not KVM */
    char **drivers;         /* opts.drivers, owned (NULL: the default) */
    GArray *timings;        /* of struct guest_timing, owned */
};

/* Record that action took since start (g_get_monotonic_time()), and, with
 * say, tell opts.progress: "timing: launch 18.2 s". */
void guest_time(struct guest_session *gs, const char *action, gint64 start, bool say);

/* initrd.c: the initrd facts of the default kernel (initrd, initrd_drivers,
 * initrd_missing, initrd_xen_only, needs_initrd, initrd_decision). */
void guest_initrd_facts(struct guest_session *gs);

/* boot.c: the boot configuration facts (needs_boot_config,
 * boot_decision). */
void guest_boot_config_facts(struct guest_session *gs);

/* Set *error (CONVOY_ERROR_GUEST) to "guestfs: WHAT: libguestfs's last
 * error" and return false. */
bool guest_fail(struct guest_session *gs, GError **error, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
/* Free a NULL-terminated array libguestfs returned (may be NULL). */
void guest_free_strv(char **v);
/* The name on KVM of the disk the guest called /dev/{xvd,hd,sd}LETTERS
 * PART on Xen (part "" for a whole disk): "/dev/vdb" for xvda2 when that
 * partition was a disk of its own, "/dev/vdb2" for xvdb2; a disk the VM
 * does not have keeps its letters.  New. */
char *guest_kvm_disk_name(struct guest_session *gs, const char *letters, const char *part);
/* Report progress through opts.progress. */
void guest_note(struct guest_session *gs, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
