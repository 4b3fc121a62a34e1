/* engine/guest: in-guest repair through libguestfs.
 *
 * The repair is data: guest rule sets (rules/guest/NAME.yaml, see
 * docs/guest-rules-format.md) select themselves and their rules by
 * inspection facts.  The C code loads rule sets, opens a VM's disks in one
 * libguestfs appliance, inspects the guest into facts, applies the rules,
 * and copies the kernel out when the guest boots directly.
 *
 * Sections: rule sets: load and match (rules.c) · facts, conditions and
 * ${FACT} expansion (facts.c) · the appliance: open, inspect, close
 * (session.c) · operations (ops.c) · boot: direct-kernel files (boot.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

/* ------------------------------------------------------------------ */
/* rules.c */

struct guest_rule_set;

/* Load a guest rules file.  Errors are CONVOY_ERROR_INVALID, every problem
 * as "FILE:LINE:COL: error: …".  Returns a new set, caller frees. */
struct guest_rule_set *guest_rule_set_load_file(const char *path,
                                                GError **error);
/* The same from memory (name is FILE in messages; files an upload names
 * are looked for in base_dir, NULL: the current directory). */
struct guest_rule_set *guest_rule_set_load_data(const char *name,
                                                const char *base_dir,
                                                const char *data, size_t len,
                                                GError **error);
/* NAME.yaml in the first of dirs (NULL-terminated) that has it, usually
 * rulefile_search_path(manifest_dir, "guest") (util/rulefile.h). */
struct guest_rule_set *guest_rule_set_load_named(const char *name,
                                                 const char *const *dirs,
                                                 GError **error);
/* Every NAME.yaml of dirs (a name found in an earlier directory hides the
 * same name in a later one), sorted by name: GPtrArray of struct
 * guest_rule_set* with its free function set. */
GPtrArray *guest_rule_sets_load_all(const char *const *dirs, GError **error);
void guest_rule_set_free(struct guest_rule_set *rs);
typedef struct guest_rule_set guest_rule_set; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(guest_rule_set, guest_rule_set_free)

const char *guest_rule_set_name(const struct guest_rule_set *rs);
unsigned guest_rule_set_version(const struct guest_rule_set *rs);
const char *guest_rule_set_path(const struct guest_rule_set *rs);
/* Hex SHA-256 of the file's bytes. */
const char *guest_rule_set_digest(const struct guest_rule_set *rs);
/* Does the set's own when: hold for these facts (filesystem conditions
 * are not allowed at set level)? */
bool guest_rule_set_matches(const struct guest_rule_set *rs,
                            GHashTable *facts);
/* The sets (struct guest_rule_set*) whose own when: holds, in order; a new
 * array borrowing them. */
GPtrArray *guest_rule_sets_matching(GPtrArray *sets, GHashTable *facts);
/* "name, name" of sets, or NULL for none; new. */
char *guest_rule_set_names(GPtrArray *sets);
/* ["name@version", …] of sets, as JSON; new. */
char *guest_rule_sets_json(GPtrArray *sets);

/* ------------------------------------------------------------------ */
/* facts.c */

/* Every fact name of docs/guest-rules-format.md §5, NULL-terminated. */
extern const char *const guest_fact_names[];
bool guest_fact_known(const char *name);
/* Expand ${FACT} in text; a fact without a value expands to "".  New. */
char *guest_expand(const char *text, GHashTable *facts);
/* The facts as a JSON object (sorted keys; booleans and numbers typed). */
char *guest_facts_json(GHashTable *facts);
/* One line per fact, "name: value", sorted.  New. */
char *guest_facts_text(GHashTable *facts);
/* One line for plans and logs: "debian 12, root /dev/sda1 (partitioned),
 * kernel 6.1.0-13-amd64, boot install the guest's bootloader"; new. */
char *guest_facts_summary(GHashTable *facts);

/* ------------------------------------------------------------------ */
/* session.c, ops.c, boot.c */

enum guest_boot {
    GUEST_BOOT_AUTO,        /* bootloader when partitioned, else direct */
    GUEST_BOOT_BOOTLOADER,  /* install the guest's bootloader when missing */
    GUEST_BOOT_DIRECT,      /* always direct kernel boot */
    GUEST_BOOT_KEEP,        /* touch nothing about booting */
    GUEST_BOOT_LAST,
};
const char *guest_boot_name(enum guest_boot b);
bool guest_boot_parse(const char *s, enum guest_boot *out);

enum guest_tcg {
    GUEST_TCG_AUTO,         /* TCG when this machine is itself a VM */
    GUEST_TCG_ON,
    GUEST_TCG_OFF,
    GUEST_TCG_LAST,
};
const char *guest_tcg_name(enum guest_tcg t);
bool guest_tcg_parse(const char *s, enum guest_tcg *out);
/* Would the appliance run with force_tcg under this setting? */
bool guest_tcg_effective(enum guest_tcg t);

struct guest_opts {
    enum guest_boot boot;
    enum guest_tcg tcg;
    unsigned timeout;       /* default command timeout, seconds (600) */
    bool read_only;         /* inspection only */
    /* Called with a short line as the work goes on (may be NULL). */
    void (*progress)(void *opaque, const char *what);
    void *opaque;
    /* Polled between operations; true stops with CONVOY_ERROR_INTERRUPTED
     * (may be NULL). */
    bool (*interrupted)(void);
    /* The kernel modules the converted domain needs to boot (its disk
     * bus's driver, virtio_net for virtio NICs), NULL-terminated;
     * NULL: guest_default_drivers.  The root filesystem's module is added
     * from the facts. */
    const char *const *drivers;
    /* The appliance's memory (MiB) and vCPUs; 0: libguestfs's defaults
     * (tests/bench/bench-fixup --rebuild measures 2 vCPUs/2048 MiB
     * against them; README "Benchmarks"). */
    int memsize;
    int smp;
};

/* virtio disks and NICs: what the xen-to-kvm domain rules make. */
extern const char *const guest_default_drivers[];

struct guest_session;

/* How long one action of a session took (launch, inspect, initrd, a rule
 * "SET/ID"). */
struct guest_timing {
    char *action;
    double seconds;
};
/* The session's timings so far, in order (borrowed). */
const GArray *guest_timings(struct guest_session *gs);
/* "launch 18.2 s, inspect 3.1 s, …"; new. */
char *guest_timings_text(const GArray *timings);
/* [{"action": "launch", "seconds": 18.2}, …]; new. */
char *guest_timings_json(const GArray *timings);

/* ------------------------------------------------------------------ */
/* initrd.c */

/* The module name of a path in an initrd or modules.builtin
 * ("…/xen-blkfront.ko.zst" → "xen_blkfront"), or NULL when it is not a
 * kernel module.  New. */
char *guest_module_name(const char *path);
/* List the members of an initrd image (concatenated cpio parts: plain
 * ones, such as early microcode, then one compressed with anything
 * libarchive reads) and add the module names to modules (a set of new
 * strings); parts (may be NULL) gets "plain cpio + gzip cpio". */
bool guest_initrd_scan(const void *data, size_t len, GHashTable *modules, GString *parts,
                       GError **error);

struct guest_disk {
    const char *path;       /* local file or block device */
    const char *format;     /* "raw", "qcow2" */
    const char *dev;        /* its name on KVM ("vda"); NULL: by position
                             * (the first disk vda, …) */
    const char *xen_dev;    /* its name on Xen ("xvda", or "xvda1" for a
                             * partition given as a whole disk); NULL:
                             * the KVM name's letters (xvda for vda) */
};

struct guest_session;

/* Put disks in the order of their KVM names (vda, vdb, …, vdz, vdaa),
 * the order guest_open wants; disks without a name keep their place
 * after the named ones. */
void guest_disks_sort(struct guest_disk *disks, size_t n);

/* Launch one appliance on the disks (in order: vda, vdb, …; a caller
 * sorts them by their KVM names, as libguestfs resolves the guest's
 * /dev/xvdX names by position), inspect the
 * guest and mount its filesystems (read-only when opts->read_only).
 * CONVOY_ERROR_GUEST when there is no single operating system to repair,
 * or its root is encrypted.  Returns a new session; guest_close it. */
struct guest_session *guest_open(const struct guest_disk *disks, size_t n,
                                 const struct guest_opts *opts,
                                 GError **error);
/* The inspection facts (name → string value), borrowed. */
GHashTable *guest_facts(struct guest_session *gs);

/* One change made by a rule (for --explain, plans and reports). */
struct guest_change {
    char *set;              /* "linux-debian@1" */
    char *file;             /* path of the rules file */
    unsigned line;
    char *rule_id;
    char *what;             /* "replaced 2 matches in /etc/fstab" */
};
void guest_change_free(struct guest_change *c);

/* Apply the sets in order: rules whose when: holds, each operation at
 * most once.  changes receives struct guest_change* (free func set by the
 * caller).  A failing rule: CONVOY_ERROR_GUEST naming SET FILE:LINE ID. */
bool guest_apply(struct guest_session *gs, struct guest_rule_set *const *sets,
                 size_t n_sets, GPtrArray *changes, GError **error);

/* Where a direct-kernel guest's kernel and initrd were put. */
struct guest_boot_files {
    char *kernel;           /* absolute paths */
    char *initrd;           /* NULL when the guest has none */
    char *cmdline;          /* "root=/dev/vda ro console=tty0 console=ttyS0" */
};
void guest_boot_files_clear(struct guest_boot_files *b);
/* When the facts say direct_boot: copy the default kernel and its initrd
 * out of the guest into dir as PREFIX-vmlinuz / PREFIX-initrd (replacing
 * them atomically) and fill *out; otherwise leave *out empty and return
 * true. */
bool guest_export_boot(struct guest_session *gs, const char *dir,
                       const char *prefix, struct guest_boot_files *out,
                       GError **error);

/* Unmount, flush to the disks and stop the appliance.  false (and the
 * session freed all the same) when the flush failed: the disks may hold
 * half the changes. */
bool guest_close(struct guest_session *gs, GError **error);
/* Free without a clean shutdown (after an error). */
void guest_abandon(struct guest_session *gs);
