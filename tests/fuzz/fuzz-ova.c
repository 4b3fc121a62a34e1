/* fuzz-ova: raw bytes → the ova.xml parser (strict and lenient), a walk
 * over the model so the sanitizers see every string it holds, then what
 * plan and convert do with it: the Xen domain XML built from the model,
 * and that domain through the shipped xen-to-kvm rules. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "convert/convert.h"
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

/* The shipped xen-to-kvm rules, loaded once. */
static struct rule_set *
xen_to_kvm(void)
{
    static struct rule_set *rs;
    static const char *const dirs[] = {CONVOY_SRC_RULESDIR "/domain", NULL};

    if (rs == NULL)
        rs = rule_set_load_named("xen-to-kvm", dirs, NULL);
    return rs;
}

static void
convert_ova(const struct xva_meta *m)
{
    xmlDoc *doc = convert_domain_from_ova(m, NULL);
    struct rule_set *sets[] = {xen_to_kvm()};
    struct convert_request req = {.input_name = "fuzz.ova.xml", .sets = sets, .n_sets = 1};

    if (doc == NULL)
        return;
    g_free(convert_xml_format(doc));
    if (sets[0] != NULL && convert_domain(doc, &req, NULL, NULL, NULL))
        g_free(convert_xml_format(doc));
    xmlFreeDoc(doc);
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
            convert_ova(m);
            xva_meta_free(m);
        }
    }
    return 0;
}
