/* fuzz-xl: raw bytes → the xl.cfg parser, warnings collected, and the
 * resulting domain serialised so the sanitizers see every node. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <glib.h>
#include <libxml/tree.h>

#include "sources/sources.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Count the bytes of every element name, attribute value and text. */
static size_t
walk(const xmlNode *n)
{
    size_t total = 0;

    for (; n != NULL; n = n->next) {
        if (n->name != NULL)
            total += strlen((const char *)n->name);
        if (n->content != NULL)
            total += strlen((const char *)n->content);
        for (const xmlAttr *a = n->type == XML_ELEMENT_NODE ? n->properties : NULL; a != NULL;
             a = a->next)
            total += walk(a->children);
        total += walk(n->children);
    }
    return total;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GPtrArray *warnings = g_ptr_array_new_with_free_func(g_free);
    GError *err = NULL;
    xmlDoc *doc = xl_cfg_parse("fuzz.cfg", (const char *)data, size, warnings, &err);

    if (doc != NULL) {
        (void)walk(xmlDocGetRootElement(doc));
        xmlFreeDoc(doc);
    } else {
        g_clear_error(&err);
    }
    g_ptr_array_unref(warnings);
    return 0;
}
