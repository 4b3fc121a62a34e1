/* Safe XML parsing (no network, no entities, no DTD) and the canonical
 * serialisation golden files and plans rely on: libvirt's style, single
 * quotes, 2-space indentation, no declaration. */
#include "config.h"

#include <limits.h>
#include <string.h>
#include <glib.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>

#include "convert/convert-priv.h"
#include "util/autoptr.h"
#include "util/error.h"

#define XML_PARSE_FLAGS (XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_COMPACT)

static void
capture_error(void *opaque, xmlError *e)
{
    struct convert_xml_error *err = opaque;

    if (err->message != NULL || e == NULL || e->level == XML_ERR_WARNING)
        return;
    err->message = g_strdup(e->message != NULL ? e->message : "parse error");
    g_strchomp(err->message);
    err->line = e->line;
    err->col = e->int2;
}

void
convert_xml_error_release(struct convert_xml_error *err)
{
    g_clear_pointer(&err->message, g_free);
    err->line = 0;
    err->col = 0;
}

xmlDoc *
convert_xml_parse_raw(const char *data, size_t len, struct convert_xml_error *err)
{
    xmlStructuredErrorFunc saved_fn = xmlStructuredError;
    void *saved_ctx = xmlStructuredErrorContext;
    xmlDoc *doc;

    err->message = NULL;
    err->line = err->col = 0;
    if (len > INT_MAX) {
        err->message = g_strdup("document too large");
        return NULL;
    }
    struct convert_xml_quiet quiet;

    convert_xml_quiet_begin(&quiet);
    xmlSetStructuredErrorFunc(err, capture_error);
    doc = xmlReadMemory(data, (int)len, NULL, NULL, XML_PARSE_FLAGS);
    xmlSetStructuredErrorFunc(saved_ctx, saved_fn);
    convert_xml_quiet_end(&quiet);

    if (doc != NULL && err->message != NULL) {
        /* recoverable errors still mean a broken document */
        xmlFreeDoc(doc);
        return NULL;
    }
    if (doc == NULL) {
        if (err->message == NULL)
            err->message = g_strdup("not an XML document");
        return NULL;
    }
    if (doc->intSubset != NULL || doc->extSubset != NULL) {
        err->message = g_strdup("DOCTYPE declarations are not allowed");
        err->line = doc->intSubset != NULL ? (int)xmlGetLineNo((xmlNode *)doc->intSubset) : 0;
        if (err->line < 0)
            err->line = 0;
        xmlFreeDoc(doc);
        return NULL;
    }
    if (xmlDocGetRootElement(doc) == NULL) {
        err->message = g_strdup("no root element");
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

xmlDoc *
convert_xml_parse(const char *data, size_t len, const char *name, GError **error)
{
    struct convert_xml_error err;
    xmlDoc *doc;

    if (len > CONVERT_XML_MAX_BYTES) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_XML,
                    "xml: %s: document of %zu bytes is larger than the limit of %u bytes", name,
                    len, CONVERT_XML_MAX_BYTES);
        return NULL;
    }
    doc = convert_xml_parse_raw(data, len, &err);
    if (doc == NULL) {
        if (err.line > 0)
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_XML, "xml: %s:%d: %s", name, err.line,
                        err.message);
        else
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_XML, "xml: %s: %s", name, err.message);
        convert_xml_error_release(&err);
        return NULL;
    }
    return doc;
}

xmlDoc *
convert_xml_parse_input(const char *data, size_t len, const char *name, GError **error)
{
    struct convert_xml_error err;
    xmlDoc *doc;

    if (len > CONVERT_XML_MAX_BYTES) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID,
                    "%s: error: document of %zu bytes is larger than the limit of %u bytes", name,
                    len, CONVERT_XML_MAX_BYTES);
        return NULL;
    }
    doc = convert_xml_parse_raw(data, len, &err);
    if (doc == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID,
                    "%s:%d:%d: error: malformed XML: %s", name, err.line > 0 ? err.line : 1,
                    err.col > 0 ? err.col : 1, err.message);
        convert_xml_error_release(&err);
        return NULL;
    }
    return doc;
}

/* ------------------------------------------------------------------ */
/* Serialisation */

static void
append_escaped(GString *out, const xmlChar *s, bool attr)
{
    for (const xmlChar *p = s; p != NULL && *p != '\0'; p++) {
        switch (*p) {
        case '&':
            g_string_append(out, "&amp;");
            break;
        case '<':
            g_string_append(out, "&lt;");
            break;
        case '>':
            g_string_append(out, "&gt;");
            break;
        case '\'':
            g_string_append(out, attr ? "&apos;" : "'");
            break;
        case '"':
            g_string_append(out, attr ? "&quot;" : "\"");
            break;
        case '\n':
            g_string_append(out, attr ? "&#10;" : "\n");
            break;
        case '\t':
            g_string_append(out, attr ? "&#9;" : "\t");
            break;
        case '\r':
            g_string_append(out, "&#13;");
            break;
        default:
            g_string_append_c(out, (char)*p);
            break;
        }
    }
}

static void
append_qname(GString *out, const xmlNs *ns, const xmlChar *name)
{
    if (ns != NULL && ns->prefix != NULL)
        g_string_append_printf(out, "%s:", (const char *)ns->prefix);
    g_string_append(out, (const char *)name);
}

static void
append_indent(GString *out, int indent)
{
    for (int i = 0; i < indent; i++)
        g_string_append(out, "  ");
}

/* True when every child is an element, comment or PI (then children go on
 * their own lines); text makes the content mixed and kept inline. */
static bool
children_formattable(const xmlNode *node)
{
    for (const xmlNode *c = node->children; c != NULL; c = c->next) {
        if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE ||
            c->type == XML_ENTITY_REF_NODE)
            return false;
    }
    return true;
}

static void
format_element(GString *out, const xmlNode *node, int indent)
{
    bool fmt = indent >= 0 && children_formattable(node);

    g_string_append_c(out, '<');
    append_qname(out, node->ns, node->name);
    for (const xmlNs *ns = node->nsDef; ns != NULL; ns = ns->next) {
        g_string_append(out, " xmlns");
        if (ns->prefix != NULL)
            g_string_append_printf(out, ":%s", (const char *)ns->prefix);
        g_string_append(out, "='");
        append_escaped(out, ns->href, true);
        g_string_append_c(out, '\'');
    }
    for (const xmlAttr *a = node->properties; a != NULL; a = a->next) {
        g_autofree xmlChar *v = xmlNodeListGetString(node->doc, a->children, 1);
        g_string_append_c(out, ' ');
        append_qname(out, a->ns, a->name);
        g_string_append(out, "='");
        append_escaped(out, v, true);
        g_string_append_c(out, '\'');
    }
    if (node->children == NULL) {
        g_string_append(out, "/>");
        return;
    }
    g_string_append_c(out, '>');
    for (const xmlNode *c = node->children; c != NULL; c = c->next) {
        if (fmt) {
            g_string_append_c(out, '\n');
            append_indent(out, indent + 1);
        }
        convert_xml_format_node(out, c, fmt ? indent + 1 : -1);
    }
    if (fmt) {
        g_string_append_c(out, '\n');
        append_indent(out, indent);
    }
    g_string_append(out, "</");
    append_qname(out, node->ns, node->name);
    g_string_append_c(out, '>');
}

void
convert_xml_format_node(GString *out, const xmlNode *node, int indent)
{
    switch (node->type) {
    case XML_ELEMENT_NODE:
        format_element(out, node, indent);
        break;
    case XML_TEXT_NODE:
        append_escaped(out, node->content, false);
        break;
    case XML_CDATA_SECTION_NODE:
        g_string_append_printf(out, "<![CDATA[%s]]>", (const char *)node->content);
        break;
    case XML_COMMENT_NODE:
        g_string_append_printf(out, "<!--%s-->", (const char *)node->content);
        break;
    case XML_PI_NODE:
        g_string_append_printf(out, "<?%s%s%s?>", (const char *)node->name,
                               node->content != NULL ? " " : "",
                               node->content != NULL ? (const char *)node->content : "");
        break;
    case XML_ENTITY_REF_NODE:
        g_string_append_printf(out, "&%s;", (const char *)node->name);
        break;
    case XML_ATTRIBUTE_NODE: {
        g_autofree xmlChar *v = xmlNodeListGetString(node->doc, node->children, 1);
        append_qname(out, node->ns, node->name);
        g_string_append(out, "='");
        append_escaped(out, v, true);
        g_string_append_c(out, '\'');
        break;
    }
    case XML_ENTITY_NODE:
    case XML_DOCUMENT_NODE:
    case XML_DOCUMENT_TYPE_NODE:
    case XML_DOCUMENT_FRAG_NODE:
    case XML_NOTATION_NODE:
    case XML_HTML_DOCUMENT_NODE:
    case XML_DTD_NODE:
    case XML_ELEMENT_DECL:
    case XML_ATTRIBUTE_DECL:
    case XML_ENTITY_DECL:
    case XML_NAMESPACE_DECL:
    case XML_XINCLUDE_START:
    case XML_XINCLUDE_END:
#ifdef LIBXML_DOCB_ENABLED
    case XML_DOCB_DOCUMENT_NODE:
#endif
    default:
        break;
    }
}

char *
convert_xml_format(xmlDoc *doc)
{
    GString *out = g_string_new(NULL);
    const xmlNode *root = xmlDocGetRootElement(doc);

    if (root != NULL)
        convert_xml_format_node(out, root, 0);
    g_string_append_c(out, '\n');
    return g_string_free(out, FALSE);
}

bool
convert_xml_check_domain(const char *xml, const char *name, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(xmlDoc) doc = convert_xml_parse(xml, strlen(xml), "domain.xml", &err);
    const xmlNode *root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
    const xmlNode *n = root != NULL ? convert_first_child(root, "name") : NULL;
    g_autofree xmlChar *got = n != NULL ? xmlNodeGetContent(n) : NULL;

    if (doc == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONVERT,
                    "domain '%s': the converted domain XML does not parse: %s",
                    name, err->message);
        return false;
    }
    if (root == NULL || !convert_is_el(root, "domain")) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONVERT,
                    "domain '%s': the converted XML has no <domain> root element", name);
        return false;
    }
    if (got == NULL || strcmp((const char *)got, name) != 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONVERT,
                    "domain '%s': the converted domain XML names it '%s'; the name did not survive the conversion",
                    name, got != NULL ? (const char *)got : "");
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* libvirt's domain schema */

/* Where libvirt installs its RelaxNG schemas (virt-xml-validate reads
 * them there); CONVOY_LIBVIRT_SCHEMA overrides it for tests. */
#define LIBVIRT_DOMAIN_RNG "/usr/share/libvirt/schemas/domain.rng"

static void
schema_quiet(void *opaque, xmlError *e)
{
}

static xmlRelaxNG *domain_schema;   /* NULL: no schema here */
static GMutex domain_schema_lock;   /* one validation at a time */

static gpointer
load_domain_schema(gpointer unused)
{
    const char *path = g_getenv("CONVOY_LIBVIRT_SCHEMA");
    xmlRelaxNGParserCtxt *pc;

    if (path == NULL)
        path = LIBVIRT_DOMAIN_RNG;
    if (path[0] == '\0' || !g_file_test(path, G_FILE_TEST_IS_REGULAR))
        return NULL;
    pc = xmlRelaxNGNewParserCtxt(path);
    if (pc == NULL)
        return NULL;
    xmlRelaxNGSetParserStructuredErrors(pc, schema_quiet, NULL);
    domain_schema = xmlRelaxNGParse(pc);
    xmlRelaxNGFreeParserCtxt(pc);
    return NULL;
}

bool
convert_xml_check_schema(const char *xml, const char *name, GError **error)
{
    static GOnce once = G_ONCE_INIT;
    g_autoptr(xmlDoc) doc = NULL;
    struct convert_xml_error err = {0};
    xmlRelaxNGValidCtxt *vc;
    int rc;

    g_once(&once, load_domain_schema, NULL);
    if (domain_schema == NULL)
        return true;
    doc = convert_xml_parse(xml, strlen(xml), "domain.xml", error);
    if (doc == NULL)
        return false;
    g_mutex_lock(&domain_schema_lock);
    vc = xmlRelaxNGNewValidCtxt(domain_schema);
    if (vc == NULL) {
        g_mutex_unlock(&domain_schema_lock);
        return true;
    }
    xmlRelaxNGSetValidStructuredErrors(vc, capture_error, &err);
    rc = xmlRelaxNGValidateDoc(vc, doc);
    xmlRelaxNGFreeValidCtxt(vc);
    g_mutex_unlock(&domain_schema_lock);
    if (rc != 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONVERT,
                    "domain '%s': libvirt's domain schema rejects the converted XML: line %d: %s",
                    name, err.line, err.message != NULL ? err.message : "invalid");
        convert_xml_error_release(&err);
        return false;
    }
    convert_xml_error_release(&err);
    return true;
}

/* ------------------------------------------------------------------ */
/* XPath error capture */

static void
ignore_error(void *opaque, xmlError *e)
{
}

static void G_GNUC_PRINTF(2, 3) ignore_generic(void *opaque, const char *fmt, ...)
{
}

void
convert_xml_quiet_begin(struct convert_xml_quiet *q)
{
    q->fn = xmlGenericError;
    q->ctx = xmlGenericErrorContext;
    xmlSetGenericErrorFunc(NULL, ignore_generic);
}

void
convert_xml_quiet_end(struct convert_xml_quiet *q)
{
    xmlSetGenericErrorFunc(q->ctx, q->fn);
}

xmlXPathContext *
convert_xpath_context(xmlDoc *doc)
{
    xmlXPathContext *ctx = xmlXPathNewContext(doc);

    if (ctx == NULL)
        g_error("out of memory");
    ctx->error = ignore_error;
    ctx->userData = NULL;
    return ctx;
}

/* libxml2's texts for xmlXPathError, lower-cased (its table is private). */
static const char *const xpath_errors[] = {
    "ok",
    "number encoding",
    "unfinished literal",
    "start of literal",
    "expected $ for variable reference",
    "undefined variable",
    "invalid predicate",
    "invalid expression",
    "missing closing curly brace",
    "unregistered function",
    "invalid operand",
    "invalid type",
    "invalid number of arguments",
    "invalid context size",
    "invalid context position",
    "memory allocation error",
    "syntax error",
    "resource error",
    "sub resource error",
    "undefined namespace prefix",
    "encoding error",
    "char out of XML range",
    "invalid or incomplete context",
    "stack usage error",
    "forbidden variable",
    "operation limit exceeded",
    "recursion limit exceeded",
};

const char *
convert_xpath_error_text(const xmlXPathContext *ctx)
{
    int code = ctx->lastError.code - XML_XPATH_EXPRESSION_OK;

    if (ctx->lastError.domain == XML_FROM_XPATH && code >= 0 &&
        (size_t)code < G_N_ELEMENTS(xpath_errors))
        return xpath_errors[code];
    return "XPath error";
}

bool
convert_is_el(const xmlNode *n, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

char *
convert_prop(const xmlNode *n, const char *name)
{
    xmlChar *v;
    char *s;

    if (n == NULL)
        return NULL;
    v = xmlGetNoNsProp(n, (const xmlChar *)name);
    if (v == NULL)
        return NULL;
    s = g_strdup((const char *)v);
    xmlFree(v);
    return s;
}

xmlNode *
convert_first_child(const xmlNode *parent, const char *name)
{
    for (xmlNode *c = parent != NULL ? parent->children : NULL; c != NULL; c = c->next) {
        if (convert_is_el(c, name))
            return c;
    }
    return NULL;
}

static void
add_driver(GPtrArray *out, const char *m)
{
    for (guint i = 0; i < out->len; i++) {
        if (strcmp(out->pdata[i], m) == 0)
            return;
    }
    g_ptr_array_add(out, g_strdup(m));
}

char **
convert_domain_guest_drivers(const char *xml, GError **error)
{
    g_autoptr(xmlDoc) doc = convert_xml_parse(xml, strlen(xml), "domain", error);
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
    xmlXPathContext *ctx;
    xmlXPathObject *o;
    bool virtio = false;

    if (doc == NULL)
        return NULL;
    ctx = convert_xpath_context(doc);
    o = xmlXPathEvalExpression(BAD_CAST "/domain/devices/disk[not(@device) or @device='disk']/target/@bus", ctx);
    for (int i = 0; o != NULL && o->nodesetval != NULL && i < o->nodesetval->nodeNr; i++) {
        g_autofree char *bus = (char *)xmlNodeGetContent(o->nodesetval->nodeTab[i]);

        if (g_strcmp0(bus, "virtio") == 0) {
            add_driver(out, "virtio_blk");
            virtio = true;
        } else if (g_strcmp0(bus, "scsi") == 0) {
            xmlXPathObject *c = xmlXPathEvalExpression(
                BAD_CAST "/domain/devices/controller[@type='scsi']/@model", ctx);
            g_autofree char *model = c != NULL && c->nodesetval != NULL && c->nodesetval->nodeNr > 0
                                         ? (char *)xmlNodeGetContent(c->nodesetval->nodeTab[0])
                                         : NULL;
            xmlXPathFreeObject(c);
            if (model == NULL || strcmp(model, "virtio-scsi") == 0) {
                add_driver(out, "virtio_scsi");
                virtio = true;
            } else if (strcmp(model, "lsilogic") == 0) {
                add_driver(out, "mptspi");
            } else if (strcmp(model, "lsisas1068") == 0) {
                add_driver(out, "mptsas");
            }
            add_driver(out, "sd_mod");
        } else if (g_strcmp0(bus, "sata") == 0) {
            add_driver(out, "ahci");
            add_driver(out, "sd_mod");
        } else if (g_strcmp0(bus, "ide") == 0) {
            add_driver(out, "ata_piix");
            add_driver(out, "sd_mod");
        } else if (g_strcmp0(bus, "xen") == 0) {
            add_driver(out, "xen_blkfront");
        }
    }
    xmlXPathFreeObject(o);
    o = xmlXPathEvalExpression(BAD_CAST "/domain/devices/interface/model[@type='virtio']", ctx);
    if (o != NULL && o->nodesetval != NULL && o->nodesetval->nodeNr > 0) {
        add_driver(out, "virtio_net");
        virtio = true;
    }
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(ctx);
    if (virtio)
        add_driver(out, "virtio_pci");
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(g_steal_pointer(&out), FALSE);
}
