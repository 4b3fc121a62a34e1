/* The target registry: manifest target kinds → their drivers. */
#include "config.h"

#include "targets/targets.h"
#include "util/error.h"

extern const struct target_ops target_directory_ops;
extern const struct target_ops target_libvirt_ops;

const struct target_ops *
target_ops_for(enum manifest_target_kind kind)
{
    switch (kind) {
    case MANIFEST_TARGET_DIRECTORY:
        return &target_directory_ops;
    case MANIFEST_TARGET_LIBVIRT:
        return &target_libvirt_ops;
    case MANIFEST_TARGET_LAST:
    default:
        return NULL;
    }
}

struct target *
target_open(const struct manifest_target *mt, GError **error)
{
    const struct target_ops *ops = target_ops_for(mt->kind);

    if (ops == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "target '%s': type '%s' is not supported yet",
                    mt->name, manifest_target_kind_name(mt->kind));
        return NULL;
    }
    return ops->open(mt, error);
}

char *
target_identity(const struct target *t)
{
    const struct manifest_target *mt = t->mt;

    if (mt->kind == MANIFEST_TARGET_LIBVIRT)
        return g_strdup_printf("libvirt %s", mt->uri != NULL ? mt->uri : "(default)");
    /* A directory target's locations are absolute paths already. */
    return g_strdup(manifest_target_kind_name(mt->kind));
}

void
target_close(struct target *t)
{
    if (t == NULL)
        return;
    t->ops->close(t);
}
