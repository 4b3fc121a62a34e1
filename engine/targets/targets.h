/* engine/targets: where migrated VMs land, behind one interface.
 *
 * Sections: registry (target.c) · directory target (directory.c).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "disk/disk.h"
#include "manifest/manifest.h"

struct target;

struct target_ops {
    const char *kind;
    struct target *(*open)(const struct manifest_target *mt, GError **error);
    /* Where the disk dev of vm lands (a path for file-based targets);
     * returns a new string. */
    char *(*disk_location)(struct target *t, const char *vm, const char *dev,
                           enum disk_format format);
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
    /* Define (write) the domain; durable when it returns true. */
    bool (*define)(struct target *t, const char *vm, const char *xml,
                   GError **error);
    /* Digest (hex SHA-256) of the defined domain XML, or NULL if absent. */
    char *(*domain_digest)(struct target *t, const char *vm);
    void (*close)(struct target *t);
};

struct target {
    const struct target_ops *ops;
    const struct manifest_target *mt; /* borrowed */
    void *priv;
};

const struct target_ops *target_ops_for(enum manifest_target_kind kind);
struct target *target_open(const struct manifest_target *mt, GError **error);
void target_close(struct target *t);
typedef struct target target; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(target, target_close)
