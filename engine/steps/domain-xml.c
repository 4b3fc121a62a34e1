/* domain-xml: the domain XML that domain-convert records and
 * domain-define defines.  The plan converts the XML (so a rule change
 * re-plans); whether the guest boots its kernel directly is only known
 * once guest-fixup has looked inside, so that part comes from the state
 * store.  The plan's fingerprints stay those of the plan's XML: a redone
 * guest-fixup forces convert and define through the dependencies. */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <libxml/tree.h>

#include "convert/convert.h"
#include "steps/steps.h"
#include "util/autoptr.h"
#include "util/jsonread.h"

/* Put <kernel>, <initrd> and <cmdline> after <os><type>, replacing any. */
static bool
set_direct_boot(xmlDoc *doc, const char *kernel, const char *initrd, const char *cmdline)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlNode *os = NULL;
    xmlNode *type = NULL;
    xmlNode *after;
    const char *names[] = {"kernel", "initrd", "cmdline"};
    const char *values[] = {kernel, initrd, cmdline};

    for (xmlNode *n = root != NULL ? root->children : NULL; n != NULL; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST "os") == 0)
            os = n;
    }
    if (os == NULL)
        return false;
    for (xmlNode *n = os->children, *next; n != NULL; n = next) {
        next = n->next;
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (xmlStrcmp(n->name, BAD_CAST "type") == 0)
            type = n;
        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
            if (xmlStrcmp(n->name, BAD_CAST names[i]) == 0) {
                xmlUnlinkNode(n);
                xmlFreeNode(n);
                break;
            }
        }
    }
    after = type;
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        xmlNode *e;

        if (values[i] == NULL)
            continue;
        e = xmlNewNode(NULL, BAD_CAST names[i]);
        xmlNodeAddContent(e, BAD_CAST values[i]);
        if (after != NULL)
            xmlAddNextSibling(after, e);
        else
            xmlAddChild(os, e);
        after = e;
    }
    return true;
}

char *
step_domain_xml(const struct plan_vm *v, struct state *st, GError **error)
{
    g_autofree char *key = g_strdup_printf("%s/%s", v->mvm->name, step_guest_fixup.name);
    g_autoptr(state_step_record) rec = NULL;
    g_autoptr(jval) out = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    const char *kernel;

    if (v->guest_sets == NULL)
        return g_strdup(v->kvm_xml);
    rec = state_step_get(st, key, error);
    if (rec == NULL && error != NULL && *error != NULL)
        return NULL;
    if (rec == NULL || rec->status != STATE_STEP_DONE || rec->outputs == NULL ||
        (out = jval_parse("outputs", rec->outputs, -1, NULL)) == NULL ||
        (kernel = jval_get_string(out, "kernel", NULL)) == NULL)
        return g_strdup(v->kvm_xml);
    doc = convert_xml_parse(v->kvm_xml, strlen(v->kvm_xml), "domain.xml", error);
    if (doc == NULL)
        return NULL;
    if (!set_direct_boot(doc, kernel, jval_get_string(out, "initrd", NULL),
                         jval_get_string(out, "cmdline", NULL)))
        return g_strdup(v->kvm_xml);
    return convert_xml_format(doc);
}
