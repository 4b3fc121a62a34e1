/* fuzz-ova: raw bytes → the ova.xml parser (strict and lenient), then a
 * walk over the model so the sanitizers see every string it holds. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "xva/xva.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
walk(const struct xva_meta *m)
{
    size_t n = strlen(m->vm.name_label) + strlen(m->vm.hvm_boot_order);

    for (guint i = 0; i < m->vm.vbds->len; i++) {
        const struct xva_vbd *b = m->vm.vbds->pdata[i];

        n += strlen(b->device) + strlen(b->userdevice);
        if (b->vdi != NULL)
            n += strlen(b->vdi->ref) + (xva_meta_find_vdi(m, b->vdi->ref) != NULL);
    }
    for (guint i = 0; i < m->vm.vifs->len; i++) {
        const struct xva_vif *f = m->vm.vifs->pdata[i];

        n += strlen(f->mac) + strlen(f->bridge) + strlen(f->network_name);
    }
    for (guint i = 0; i < m->vdis->len; i++) {
        const struct xva_vdi *d = m->vdis->pdata[i];

        n += strlen(d->name_label) + (d->uuid != NULL ? strlen(d->uuid) : 0);
    }
    return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned flags[] = {0, XVA_OPEN_LENIENT};

    for (size_t i = 0; i < G_N_ELEMENTS(flags); i++) {
        struct xva_meta *m = xva_meta_parse_flags((const char *)data, size,
                                                  flags[i], NULL);

        if (m != NULL) {
            (void)walk(m);
            xva_meta_free(m);
        }
    }
    return 0;
}
