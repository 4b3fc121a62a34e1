/* The one registry of step kinds, in chain order. */
#include "config.h"

#include <string.h>

#include "steps/steps.h"

const struct step_ops *const step_kinds[] = {
    &step_source_shutdown,
    &step_disk_copy,
    &step_guest_fixup,
    &step_domain_convert,
    &step_domain_define,
    &step_domain_start,
    NULL,
};

const struct step_ops *
step_ops_find(const char *name)
{
    for (size_t i = 0; step_kinds[i] != NULL; i++) {
        if (strcmp(step_kinds[i]->name, name) == 0)
            return step_kinds[i];
    }
    return NULL;
}
