/* rules-apply: run loaded rule sets over a domain XML document, in order,
 * recording each real change (for --explain and plan details).  Nothing
 * here knows about Xen or KVM: the rules are the data. */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "convert/convert-priv.h"
#include "util/autoptr.h"
#include "util/error.h"

/* State of one rule's application. */
struct apply {
    const struct rule_set *rs;
    const struct rule *r;
    xmlDoc *doc;
    GPtrArray *changes; /* of struct convert_change*, or NULL */
    bool count_only;    /* changes gets a NULL per change, no text */
    GPtrArray *warnings; /* of char* "PATH: REASON" for rules with warn:, or NULL */
    const char *path;   /* the current node's path before the rule ran */
};

void
convert_change_free(struct convert_change *c)
{
    if (c == NULL)
        return;
    g_free(c->rule_file);
    g_free(c->rule_id);
    g_free(c->what);
    g_free(c);
}

static void record(struct apply *a, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
record(struct apply *a, const char *fmt, ...)
{
    struct convert_change *c;
    va_list ap;

    if (a->changes == NULL)
        return;
    if (a->count_only) {
        g_ptr_array_add(a->changes, NULL);
        return;
    }
    c = g_new0(struct convert_change, 1);
    c->rule_file = g_strdup(a->rs->path);
    c->line = a->r->line;
    c->rule_id = g_strdup(a->r->id);
    va_start(ap, fmt);
    c->what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(a->changes, c);
}

static char *
node_path(const xmlNode *n)
{
    xmlChar *p = xmlGetNodePath(n);
    char *s = g_strdup(p != NULL ? (const char *)p : "?");

    xmlFree(p);
    return s;
}

static const char *
node_kind(const xmlNode *n)
{
    switch (n->type) {
    case XML_ATTRIBUTE_NODE:
        return "an attribute";
    case XML_TEXT_NODE:
    case XML_CDATA_SECTION_NODE:
        return "a text node";
    case XML_COMMENT_NODE:
        return "a comment";
    case XML_DOCUMENT_NODE:
        return "the document";
    case XML_NAMESPACE_DECL:
        return "a namespace";
    case XML_ELEMENT_NODE:
    case XML_ENTITY_REF_NODE:
    case XML_ENTITY_NODE:
    case XML_PI_NODE:
    case XML_DOCUMENT_TYPE_NODE:
    case XML_DOCUMENT_FRAG_NODE:
    case XML_NOTATION_NODE:
    case XML_HTML_DOCUMENT_NODE:
    case XML_DTD_NODE:
    case XML_ELEMENT_DECL:
    case XML_ATTRIBUTE_DECL:
    case XML_ENTITY_DECL:
    case XML_XINCLUDE_START:
    case XML_XINCLUDE_END:
#ifdef LIBXML_DOCB_ENABLED
    case XML_DOCB_DOCUMENT_NODE:
#endif
    default:
        return "a node";
    }
}

static bool
fail(struct apply *a, GError **error, const char *what, const xmlNode *n)
{
    g_autofree char *path = n->type == XML_NAMESPACE_DECL ? g_strdup("?") : node_path(n);

    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONVERT,
                "%s:%u: rule '%s': %s, but 'select' chose %s (%s)", a->rs->path, a->r->line,
                a->r->id, what, node_kind(n), path);
    return false;
}

static bool
needs_element(const struct rule *r)
{
    return r->rename != NULL || r->remove_attr->len != 0 || r->replace_attr->len != 0 ||
           r->set_attr->len != 0 || r->add != NULL;
}

/* ------------------------------------------------------------------ */
/* Operations on one node */

static void
op_rename(struct apply *a, xmlNode *n)
{
    if (strcmp((const char *)n->name, a->r->rename) == 0)
        return;
    if (a->changes != NULL) {
        const char *path = a->path;
        record(a, "rename %s to '%s'", path, a->r->rename);
    }
    xmlNodeSetName(n, (const xmlChar *)a->r->rename);
}

static void
op_set_text(struct apply *a, xmlNode *n)
{
    const char *text = a->r->set_text;
    const char *path = NULL;

    if (n->type == XML_ELEMENT_NODE) {
        bool only_text = true;

        for (xmlNode *c = n->children; c != NULL; c = c->next) {
            if (c->type != XML_TEXT_NODE)
                only_text = false;
        }
        g_autofree xmlChar *old = xmlNodeGetContent(n);
        if (only_text && g_strcmp0((const char *)old, text) == 0)
            return;
        if (a->changes != NULL) {
            path = a->path;
            record(a, "set text of %s to '%s' (was '%s')", path, text,
                   old != NULL ? (const char *)old : "");
        }
        xmlNodeSetContent(n, NULL);
        if (text[0] != '\0')
            xmlNodeAddContent(n, (const xmlChar *)text);
        return;
    }
    if (n->type == XML_ATTRIBUTE_NODE) {
        xmlAttr *attr = (xmlAttr *)n;
        g_autofree xmlChar *old = xmlNodeListGetString(n->doc, n->children, 1);

        if (g_strcmp0((const char *)old, text) == 0)
            return;
        if (a->changes != NULL) {
            path = a->path;
            record(a, "set %s to '%s' (was '%s')", path, text,
                   old != NULL ? (const char *)old : "");
        }
        xmlSetNsProp(attr->parent, attr->ns, attr->name, (const xmlChar *)text);
        return;
    }
    /* text-like nodes: content is raw */
    if (g_strcmp0((const char *)n->content, text) == 0)
        return;
    if (a->changes != NULL) {
        path = a->path;
        record(a, "set %s to '%s' (was '%s')", path, text,
               n->content != NULL ? (const char *)n->content : "");
    }
    xmlNodeSetContent(n, (const xmlChar *)text);
}

static void
set_attr(struct apply *a, xmlNode *n, const char *name, const char *value)
{
    g_autofree xmlChar *old = xmlGetNoNsProp(n, (const xmlChar *)name);

    if (old != NULL && strcmp((const char *)old, value) == 0)
        return;
    if (a->changes != NULL) {
        const char *path = a->path;
        if (old != NULL)
            record(a, "set %s/@%s to '%s' (was '%s')", path, name, value, (const char *)old);
        else
            record(a, "set %s/@%s to '%s'", path, name, value);
    }
    xmlSetProp(n, (const xmlChar *)name, (const xmlChar *)value);
}

static void
op_remove_attr(struct apply *a, xmlNode *n)
{
    for (guint i = 0; i < a->r->remove_attr->len; i++) {
        const char *name = a->r->remove_attr->pdata[i];
        xmlAttr *attr = xmlHasNsProp(n, (const xmlChar *)name, NULL);

        if (attr == NULL)
            continue;
        if (a->changes != NULL) {
            const char *path = a->path;
            g_autofree xmlChar *old = xmlNodeListGetString(n->doc, attr->children, 1);
            record(a, "remove %s/@%s (was '%s')", path, name, old != NULL ? (const char *)old : "");
        }
        xmlRemoveProp(attr);
    }
}

static bool
op_replace_attr(struct apply *a, xmlNode *n, GError **error)
{
    for (guint i = 0; i < a->r->replace_attr->len; i++) {
        const struct rule_attr_replace *rep = a->r->replace_attr->pdata[i];
        g_autofree xmlChar *old = xmlGetNoNsProp(n, (const xmlChar *)rep->name);
        g_autofree char *repl = NULL;
        g_autoptr(GError) err = NULL;

        if (old == NULL)
            continue;
        repl = g_regex_replace(rep->re, (const char *)old, -1, 0, rep->with, 0, &err);
        if (repl == NULL) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONVERT,
                        "%s:%u: rule '%s': 'replace-attr' of '%s': %s", a->rs->path, a->r->line,
                        a->r->id, rep->name, err->message);
            return false;
        }
        set_attr(a, n, rep->name, repl);
    }
    return true;
}

static void
op_add(struct apply *a, xmlNode *n)
{
    xmlNode *anchor = a->r->add_first ? n->children : NULL;
    g_autoptr(GString) text = g_string_new(NULL);

    for (xmlNode *c = xmlDocGetRootElement(a->r->add)->children; c != NULL; c = c->next) {
        xmlNode *copy = xmlDocCopyNode(c, a->doc, 1);

        if (copy == NULL)
            g_error("out of memory");
        if (a->changes != NULL)
            convert_xml_format_node(text, copy, -1);
        if (anchor != NULL)
            xmlAddPrevSibling(anchor, copy);
        else
            xmlAddChild(n, copy);
    }
    if (a->changes != NULL) {
        const char *path = a->path;
        record(a, "add %s to %s%s", text->str, path, a->r->add_first ? " (first)" : "");
    }
}

static bool
op_remove(struct apply *a, xmlNode *n, GError **error)
{
    if (n->type == XML_ATTRIBUTE_NODE) {
        if (a->changes != NULL) {
            const char *path = a->path;
            g_autofree xmlChar *old = xmlNodeListGetString(n->doc, n->children, 1);
            record(a, "remove %s (was '%s')", path, old != NULL ? (const char *)old : "");
        }
        xmlRemoveProp((xmlAttr *)n);
        return true;
    }
    if (n == xmlDocGetRootElement(a->doc))
        return fail(a, error, "'remove' cannot remove the root element", n);
    if (a->changes != NULL) {
        const char *path = a->path;
        record(a, "remove %s", path);
    }
    xmlUnlinkNode(n);
    xmlFreeNode(n);
    return true;
}

static bool
apply_node(struct apply *a, xmlNode *n, GError **error)
{
    const struct rule *r = a->r;

    if (n->type == XML_NAMESPACE_DECL || n->type == XML_DOCUMENT_NODE ||
        n->type == XML_HTML_DOCUMENT_NODE)
        return fail(a, error, "rules apply to elements, attributes and text", n);
    if (n->type != XML_ELEMENT_NODE && needs_element(r))
        return fail(a, error, "its operations need elements", n);
    if (r->remove)
        return op_remove(a, n, error);
    if (r->rename != NULL)
        op_rename(a, n);
    if (r->set_text != NULL)
        op_set_text(a, n);
    if (r->remove_attr->len != 0)
        op_remove_attr(a, n);
    if (r->replace_attr->len != 0 && !op_replace_attr(a, n, error))
        return false;
    for (guint i = 0; i < r->set_attr->len; i++) {
        const struct rule_attr_value *v = r->set_attr->pdata[i];
        set_attr(a, n, v->name, v->value);
    }
    if (r->add != NULL)
        op_add(a, n);
    return true;
}

/* ------------------------------------------------------------------ */
/* Rules and sets */

static bool
has_selected_ancestor(GHashTable *selected, const xmlNode *n)
{
    for (const xmlNode *p = n->parent; p != NULL; p = p->parent) {
        if (g_hash_table_contains(selected, p))
            return true;
    }
    return false;
}

static xmlXPathObject *
eval(struct apply *a, xmlXPathContext *ctx, xmlXPathCompExpr *expr, const char *key,
     const char *text, GError **error)
{
    xmlXPathObject *res;

    xmlResetError(&ctx->lastError);
    ctx->node = (xmlNode *)a->doc;
    res = xmlXPathCompiledEval(expr, ctx);
    if (res == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONVERT,
                    "%s:%u: rule '%s': '%s': XPath error: %s in '%s'", a->rs->path, a->r->line,
                    a->r->id, key, convert_xpath_error_text(ctx), text);
    }
    return res;
}

static bool
apply_rule(struct apply *a, xmlXPathContext *ctx, GError **error)
{
    const struct rule *r = a->r;
    g_autoptr(xmlXPathObject) sel = NULL;
    g_autofree xmlNode **nodes = NULL;
    guint count;
    guint base = a->changes != NULL ? a->changes->len : 0;
    GPtrArray *all = a->changes;
    g_autoptr(GPtrArray) mine = NULL;
    g_autoptr(GPtrArray) paths = NULL;
    g_autoptr(GHashTable) selected = NULL;

    if (r->when != NULL) {
        g_autoptr(xmlXPathObject) cond = eval(a, ctx, r->when, "when", r->when_text, error);
        if (cond == NULL)
            return false;
        if (!xmlXPathCastToBoolean(cond))
            return true;
    }
    sel = eval(a, ctx, r->select, "select", r->select_text, error);
    if (sel == NULL)
        return false;
    if (sel->type != XPATH_NODESET) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONVERT,
                    "%s:%u: rule '%s': 'select' did not select nodes: '%s'", a->rs->path, r->line,
                    r->id, r->select_text);
        return false;
    }
    if (sel->nodesetval == NULL || sel->nodesetval->nodeNr <= 0)
        return true;
    count = (guint)sel->nodesetval->nodeNr;
    if (count == 0)
        return true;
    for (guint i = 0; i < count; i++) {
        xmlNode *n = sel->nodesetval->nodeTab[i];
        if (n->type == XML_NAMESPACE_DECL || n->type == XML_DOCUMENT_NODE ||
            n->type == XML_HTML_DOCUMENT_NODE)
            return fail(a, error, "rules apply to elements, attributes and text", n);
    }
    nodes = g_memdup2(sel->nodesetval->nodeTab, sizeof(xmlNode *) * (gsize)count);
    /* The node-set must not look at its nodes once they may be freed. */
    sel->nodesetval->nodeNr = 0;

    /* A rule's warning names every node it selected, as it was. */
    for (guint i = 0; r->warn != NULL && a->warnings != NULL && i < count; i++) {
        g_autofree char *path = node_path(nodes[i]);
        g_ptr_array_add(a->warnings, g_strdup_printf("%s: %s", path, r->warn));
    }
    /* Paths are taken before anything changes, so explain names nodes as
     * the rule saw them. */
    paths = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < count; i++)
        g_ptr_array_add(paths, a->count_only ? NULL : node_path(nodes[i]));
    /* Removing a node removes what is inside it: selected descendants of
     * a removed node are not removed (nor reported) on their own. */
    if (r->remove) {
        selected = g_hash_table_new(g_direct_hash, g_direct_equal);
        for (guint i = 0; i < count; i++)
            g_hash_table_add(selected, nodes[i]);
    }

    /* Last node first: a node's operations may free its descendants and
     * attributes (remove, set-text), which come after it in document
     * order, so they must already be done.  Changes are kept in document
     * order by inserting each node's changes before the later ones'. */
    for (guint i = count; i-- > 0;) {
        if (selected != NULL && has_selected_ancestor(selected, nodes[i]))
            continue;
        a->path = paths->pdata[i];
        if (all != NULL) {
            mine = g_ptr_array_new();
            a->changes = mine;
        }
        bool ok = apply_node(a, nodes[i], error);
        if (all != NULL) {
            for (guint k = 0; k < mine->len; k++)
                g_ptr_array_insert(all, (gint)(base + k), mine->pdata[k]);
            g_ptr_array_set_size(mine, 0);
            g_clear_pointer(&mine, g_ptr_array_unref);
            a->changes = all;
        }
        if (!ok)
            return false;
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Built-in source facts */

/* The facts every set sees, computed from the document as it was before
 * the first set ran (so they describe the source). */
struct source_facts {
    char *guest_kind;      /* pv, pvh, hvm or "" */
    char *guest_os;        /* libosinfo id or "" */
    char *guest_os_family; /* linux, windows, bsd or "" */
};

static char *
eval_string(xmlXPathContext *ctx, const char *expr)
{
    g_autoptr(xmlXPathObject) v = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
    g_autofree xmlChar *s = v != NULL ? xmlXPathCastToString(v) : NULL;

    return g_strdup(s != NULL ? (const char *)s : "");
}

static void
source_facts_init(struct source_facts *sf, xmlDoc *doc)
{
    g_autoptr(xmlXPathContext) ctx = convert_xpath_context(doc);
    g_autofree char *type = NULL;
    g_autofree char *os_type = NULL;
    g_autofree char *machine = NULL;
    g_autofree char *id = NULL;

    ctx->node = (xmlNode *)doc;
    type = eval_string(ctx, "string(/domain/@type)");
    os_type = eval_string(ctx, "string(/domain/os/type)");
    machine = eval_string(ctx, "string(/domain/os/type/@machine)");
    if (strcmp(os_type, "hvm") == 0)
        sf->guest_kind = g_strdup("hvm");
    else if (strcmp(os_type, "xenpvh") == 0 || strcmp(machine, "xenpvh") == 0)
        sf->guest_kind = g_strdup("pvh");
    else if (strcmp(type, "xen") == 0)
        sf->guest_kind = g_strdup("pv");
    else
        sf->guest_kind = g_strdup("");
    id = eval_string(ctx, "string(/domain/metadata/*[local-name() = 'libosinfo']/*[local-name() = 'os']/@id)");
    sf->guest_os = g_strdup(id);
    if (strstr(id, "microsoft.com") != NULL)
        sf->guest_os_family = g_strdup("windows");
    else if (strstr(id, "bsd") != NULL)
        sf->guest_os_family = g_strdup("bsd");
    else if (id[0] != '\0')
        sf->guest_os_family = g_strdup("linux");
    else
        sf->guest_os_family = g_strdup("");
}

static void
source_facts_release(struct source_facts *sf)
{
    g_free(sf->guest_kind);
    g_free(sf->guest_os);
    g_free(sf->guest_os_family);
}

static void
source_facts_register(const struct source_facts *sf, xmlXPathContext *ctx)
{
    xmlXPathRegisterVariable(ctx, (const xmlChar *)"guest_kind",
                             xmlXPathNewCString(sf->guest_kind));
    xmlXPathRegisterVariable(ctx, (const xmlChar *)"guest_os", xmlXPathNewCString(sf->guest_os));
    xmlXPathRegisterVariable(ctx, (const xmlChar *)"guest_os_family",
                             xmlXPathNewCString(sf->guest_os_family));
}

static bool
apply_set(xmlDoc *doc, const struct rule_set *rs, const struct source_facts *sf,
          GPtrArray *explain, bool count_only, GPtrArray *warnings, GError **error)
{
    g_autoptr(xmlXPathContext) ctx = convert_xpath_context(doc);

    source_facts_register(sf, ctx);

    for (guint i = 0; i < rs->facts->len; i++) {
        const struct rule_fact *f = rs->facts->pdata[i];
        g_autoptr(xmlXPathObject) v = NULL;
        xmlXPathObject *val;

        xmlResetError(&ctx->lastError);
        ctx->node = (xmlNode *)doc;
        v = xmlXPathCompiledEval(f->expr, ctx);
        if (v == NULL) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONVERT,
                        "%s: fact '%s': XPath error: %s in '%s'", rs->path, f->name,
                        convert_xpath_error_text(ctx), f->text);
            return false;
        }
        switch (v->type) {
        case XPATH_BOOLEAN:
            val = xmlXPathNewBoolean(v->boolval);
            break;
        case XPATH_NUMBER:
            val = xmlXPathNewFloat(v->floatval);
            break;
        case XPATH_STRING:
            val = xmlXPathNewString(v->stringval);
            break;
        case XPATH_UNDEFINED:
        case XPATH_NODESET:
        case XPATH_POINT:
        case XPATH_RANGE:
        case XPATH_LOCATIONSET:
        case XPATH_USERS:
        case XPATH_XSLT_TREE:
        default: {
            /* never keep nodes: later rules may free them */
            g_autofree xmlChar *s = xmlXPathCastToString(v);
            val = xmlXPathNewString(s);
            break;
        }
        }
        xmlXPathRegisterVariable(ctx, (const xmlChar *)f->name, val);
    }

    for (guint i = 0; i < rs->rules->len; i++) {
        struct apply a = {
            .rs = rs,
            .r = rs->rules->pdata[i],
            .doc = doc,
            .changes = explain,
            .count_only = count_only,
            .warnings = warnings,
        };
        if (!apply_rule(&a, ctx, error))
            return false;
    }
    return true;
}

bool
convert_apply_rules(xmlDoc *doc, struct rule_set *const *sets, size_t n_sets, GPtrArray *explain,
                    GError **error)
{
    return convert_apply_rules_counted(doc, sets, n_sets, explain, false, error);
}

bool
convert_apply_rules_counted(xmlDoc *doc, struct rule_set *const *sets, size_t n_sets,
                            GPtrArray *explain, bool count_only, GError **error)
{
    return convert_apply_rules_warn(doc, sets, n_sets, explain, count_only, NULL, error);
}

bool
convert_apply_rules_warn(xmlDoc *doc, struct rule_set *const *sets, size_t n_sets,
                         GPtrArray *explain, bool count_only, GPtrArray *warnings,
                         GError **error)
{
    struct convert_xml_quiet quiet;
    struct source_facts sf = {NULL};
    bool ok = true;

    convert_xml_quiet_begin(&quiet);
    source_facts_init(&sf, doc);
    for (size_t i = 0; ok && i < n_sets; i++)
        ok = apply_set(doc, sets[i], &sf, explain, count_only, warnings, error);
    source_facts_release(&sf);
    convert_xml_quiet_end(&quiet);
    return ok;
}
