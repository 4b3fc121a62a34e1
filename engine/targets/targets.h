/* engine/targets: where migrated VMs land, behind one interface.
 *
 * Sections: registry (target.c) · directory target (directory.c) ·
 * libvirt target: connection (libvirt-conn.c), plan-time check
 * (libvirt-check.c), volumes and domains (libvirt.c), host moves by
 * migration (libvirt-migrate.c).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <libxml/tree.h>

#include "disk/disk.h"
#include "manifest/manifest.h"

struct target;

/* One disk of a VM as the plan-time check sees it; all borrowed. */
struct target_disk_req {
    const char *dev;              /* "vda" */
    const char *location;         /* from disk_location() */
    enum disk_format format;
    enum disk_allocation allocation;
    uint64_t size;                /* virtual size in bytes */
    bool owned;                   /* the state store says convoy made it */
};

/* What the plan-time check of one VM gets; all borrowed. */
struct target_vm_req {
    const char *vm;               /* name on the target */
    const char *xml;              /* converted domain XML */
    const struct target_disk_req *disks;
    size_t n_disks;
    bool domain_owned;            /* convoy defined this domain */
    const char *domain_uuid;      /* its uuid then, when recorded */
    bool adopt;                   /* manifest: take over existing objects */
};

/* Where a domain is on one host (domain_state). */
struct target_domain_state {
    bool exists;                  /* defined or running there */
    bool active;                  /* running (or paused) */
    bool persistent;              /* has a persistent definition */
    char uuid[37];                /* when it exists */
};

/* How a host move migrates (target_ops.migrate); strings borrowed. */
struct target_migration {
    bool live;                    /* else VIR_MIGRATE_OFFLINE */
    bool peer_to_peer;
    bool tunnelled;
    bool persist;                 /* VIR_MIGRATE_PERSIST_DEST */
    bool undefine_source;         /* VIR_MIGRATE_UNDEFINE_SOURCE */
    bool auto_converge;
    bool compressed;
    const char *migrate_uri;      /* VIR_MIGRATE_PARAM_URI or NULL */
    uint64_t bandwidth;           /* MiB/s; 0: libvirt's default */
};

struct target_ops {
    const char *kind;
    struct target *(*open)(const struct manifest_target *mt, GError **error);
    /* Where the disk dev of vm lands (a path for file-based targets):
     * named name (the manifest's volumes:), else <vm>-<dev>.<format>;
     * returns a new string. */
    char *(*disk_location)(struct target *t, const char *vm, const char *dev,
                           enum disk_format format, const char *pool,
                           const char *name);
    /* Open a writer for that location (see disk_writer_open). */
    struct disk_writer *(*open_writer)(struct target *t, const char *location,
                                       enum disk_format format,
                                       enum disk_allocation allocation,
                                       uint64_t size, uint64_t resume_from,
                                       GError **error);
    /* Does the disk at location exist with this format and size? */
    bool (*disk_present)(struct target *t, const char *location,
                         enum disk_format format, uint64_t size);
    /* Where the domain of vm is defined (a path for directory). */
    char *(*domain_location)(struct target *t, const char *vm);
    /* Define (write) the domain, marked autostart when asked (targets
     * without autostart ignore it); durable when it returns true. */
    bool (*define)(struct target *t, const char *vm, const char *xml,
                   bool autostart, GError **error);
    /* Digest (hex SHA-256) of the defined domain XML as the target holds
     * it, or NULL if absent. */
    char *(*domain_digest)(struct target *t, const char *vm);
    void (*close)(struct target *t);

    /* Optional (NULL when the kind has none): */
    /* Read-only plan-time check of one VM: appends a new string per
     * problem that blocks it (missing pool or network, no room, a
     * conflicting domain or volume) to problems, and per notice to notes.
     * May accumulate across calls (pool room over all VMs). */
    void (*check)(struct target *t, const struct target_vm_req *req,
                  GPtrArray *problems, GPtrArray *notes);
    /* Point disk dev of doc at location (default: a file path). */
    bool (*set_disk)(struct target *t, xmlDoc *doc, const char *dev,
                     const char *location, enum disk_format format,
                     GError **error);
    /* Create the disk before its first write.  An existing one is
     * replaced only when replace is true (convoy's own, or adopted), and
     * kept as it is when keep is true (a resume).  CONVOY_ERROR_CONFLICT
     * when it exists and may not be touched. */
    bool (*create_disk)(struct target *t, const char *location,
                        enum disk_format format, enum disk_allocation allocation,
                        uint64_t size, bool replace, bool keep,
                        GError **error);
    /* Delete the disk; true (and *removed false) when already absent. */
    bool (*remove_disk)(struct target *t, const char *location,
                        bool *removed, GError **error);
    /* Start the domain unless running; *already tells which. */
    bool (*start)(struct target *t, const char *vm, bool *already,
                  GError **error);
    /* Is the domain defined and running? */
    bool (*running)(struct target *t, const char *vm);
    /* Are the disks files on this machine that convoy can open (needed by
     * guest-fixup)?  NULL: yes. */
    bool (*disks_local)(struct target *t);
    /* The local path of the disk at location (see disks_local); new
     * string, or NULL with an error.  NULL op: location is the path. */
    char *(*local_disk_path)(struct target *t, const char *location,
                             GError **error);
    /* Stop (hard) and undefine the domain; true (and *removed false) when
     * already absent. */
    bool (*remove_domain)(struct target *t, const char *vm, bool *removed,
                          GError **error);
    /* Where the domain is on this host (read-only); false only when the
     * host cannot be asked. */
    bool (*domain_state)(struct target *t, const char *vm,
                         struct target_domain_state *out, GError **error);
    /* Move domain vm from t to dst (a target of the same kind) with the
     * hypervisor's migration; true once it is on dst as asked. */
    bool (*migrate)(struct target *t, struct target *dst, const char *vm,
                    const struct target_migration *how, GError **error);
};

struct target {
    const struct target_ops *ops;
    const struct manifest_target *mt; /* borrowed */
    void *priv;
};

const struct target_ops *target_ops_for(enum manifest_target_kind kind);
struct target *target_open(const struct manifest_target *mt, GError **error);
/* Which target this is, as recorded with the objects convoy creates on it
 * ("libvirt qemu:///system"): an object recorded under another identity
 * is not convoy's here.  New string. */
char *target_identity(const struct target *t);
void target_close(struct target *t);
typedef struct target target; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(target, target_close)
