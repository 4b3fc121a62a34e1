/* fuzz-rules: feed raw bytes to the domain rules loader and, when they
 * load, apply the rule set to a small fixed Xen domain XML. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "convert/convert.h"
#include "util/autoptr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char domain_xml[] = "<domain type='xen'><name>f</name><memory>524288</memory>"
                                 "<bootloader>pygrub</bootloader>"
                                 "<os><type arch='x86_64' machine='xenpv'>linux</type></os>"
                                 "<devices><disk type='file' device='disk'><driver name='file'/>"
                                 "<source file='/f.img'/><target dev='xvda' bus='xen'/></disk>"
                                 "<interface type='bridge'><mac address='00:16:3e:00:00:01'/>"
                                 "<source bridge='xenbr0'/><script path='vif-bridge'/></interface>"
                                 "<console type='pty'><target type='xen' port='0'/></console>"
                                 "</devices></domain>";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(rule_set) rs = rule_set_load_data("fuzz.yaml", (const char *)data, size, NULL);
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(GPtrArray) explain = NULL;
    g_autofree char *out = NULL;

    if (rs == NULL)
        return 0;
    doc = convert_xml_parse(domain_xml, strlen(domain_xml), "fuzz.xml", NULL);
    if (doc == NULL)
        return 0;
    explain = g_ptr_array_new_with_free_func((GDestroyNotify)convert_change_free);
    struct rule_set *sets[] = {rs};
    if (convert_apply_rules(doc, sets, 1, explain, NULL))
        out = convert_xml_format(doc);
    return 0;
}
