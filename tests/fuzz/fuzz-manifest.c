/* Fuzz target: raw bytes → YAML tree (ynode) → manifest validation, both
 * from memory.  Errors are the expected outcome and are dropped. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "manifest/manifest.h"
#include "util/ynode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GError *err = NULL;

    struct ydoc *doc = ydoc_load_data("fuzz.yaml", (const char *)data, size, &err);
    ydoc_free(doc);
    g_clear_error(&err);

    struct manifest *m = manifest_load_data("fuzz.yaml", (const char *)data, size, &err);
    if (m != NULL) {
        for (guint i = 0; i < m->vms->len; i++)
            g_free(manifest_vm_canonical(m, g_ptr_array_index(m->vms, i)));
        g_free(manifest_dump(m));
    }
    manifest_free(m);
    g_clear_error(&err);
    return 0;
}
