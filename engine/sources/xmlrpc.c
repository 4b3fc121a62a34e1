/* XML-RPC as XenAPI speaks it (xen-api doc wire-protocol.md): requests
 * with string parameters, and responses whose one parameter is a struct
 * {Status, Value | ErrorDescription}. */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "sources/sources-priv.h"
#include "util/autoptr.h"
#include "util/error.h"

#define XMLRPC_MAX_DEPTH 64

void
xmlrpc_value_free(struct xmlrpc_value *v)
{
    if (v == NULL)
        return;
    g_free(v->str);
    if (v->items != NULL)
        g_ptr_array_unref(v->items);
    if (v->members != NULL)
        g_hash_table_unref(v->members);
    g_free(v);
}

static void
append_escaped(GString *out, const char *s)
{
    g_autofree char *e = g_markup_escape_text(s, -1);
    g_string_append(out, e);
}

char *
xmlrpc_request(const char *method, const char *const *params, size_t n_params)
{
    GString *out = g_string_new("<?xml version=\"1.0\"?>\n<methodCall><methodName>");

    append_escaped(out, method);
    g_string_append(out, "</methodName><params>");
    for (size_t i = 0; i < n_params; i++) {
        g_string_append(out, "<param><value><string>");
        append_escaped(out, params[i]);
        g_string_append(out, "</string></value></param>");
    }
    g_string_append(out, "</params></methodCall>\n");
    return g_string_free(out, FALSE);
}

static xmlNode *
first_elem(xmlNode *n)
{
    for (; n != NULL; n = n->next) {
        if (n->type == XML_ELEMENT_NODE)
            return n;
    }
    return NULL;
}

static bool
named(const xmlNode *n, const char *name)
{
    return n != NULL && strcmp((const char *)n->name, name) == 0;
}

static char *
text_of(xmlNode *n)
{
    xmlChar *c = xmlNodeGetContent(n);
    char *s = g_strdup(c != NULL ? (const char *)c : "");

    xmlFree(c);
    return s;
}

static struct xmlrpc_value *parse_value(xmlNode *value, unsigned depth,
                                        GError **error);

static bool
bad(GError **error, const char *what)
{
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_XML,
                "xml: XML-RPC response: %s", what);
    return false;
}

static struct xmlrpc_value *
parse_typed(xmlNode *t, unsigned depth, GError **error)
{
    g_autoptr(xmlrpc_value) v = g_new0(struct xmlrpc_value, 1);
    const char *name = (const char *)t->name;

    if (strcmp(name, "string") == 0) {
        v->type = XMLRPC_STRING;
        v->str = text_of(t);
    } else if (strcmp(name, "int") == 0 || strcmp(name, "i4") == 0 ||
               strcmp(name, "i8") == 0) {
        v->type = XMLRPC_INT;
        v->str = text_of(t);
        if (!g_ascii_string_to_signed(g_strstrip(v->str), 10, G_MININT64,
                                      G_MAXINT64, &v->i, NULL)) {
            bad(error, "bad <int>");
            return NULL;
        }
    } else if (strcmp(name, "boolean") == 0) {
        v->type = XMLRPC_BOOL;
        v->str = text_of(t);
        v->i = strcmp(g_strstrip(v->str), "1") == 0;
    } else if (strcmp(name, "double") == 0) {
        v->type = XMLRPC_DOUBLE;
        v->str = text_of(t);
    } else if (strcmp(name, "dateTime.iso8601") == 0) {
        v->type = XMLRPC_DATETIME;
        v->str = text_of(t);
    } else if (strcmp(name, "nil") == 0) {
        v->type = XMLRPC_NIL;
    } else if (strcmp(name, "array") == 0) {
        xmlNode *data = first_elem(t->children);

        v->type = XMLRPC_ARRAY;
        v->items = g_ptr_array_new_with_free_func((GDestroyNotify)xmlrpc_value_free);
        if (!named(data, "data")) {
            bad(error, "<array> without <data>");
            return NULL;
        }
        for (xmlNode *c = first_elem(data->children); c != NULL;
             c = first_elem(c->next)) {
            struct xmlrpc_value *item = parse_value(c, depth + 1, error);
            if (item == NULL)
                return NULL;
            g_ptr_array_add(v->items, item);
        }
    } else if (strcmp(name, "struct") == 0) {
        v->type = XMLRPC_STRUCT;
        v->members = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify)xmlrpc_value_free);
        for (xmlNode *m = first_elem(t->children); m != NULL;
             m = first_elem(m->next)) {
            xmlNode *n = first_elem(m->children);
            xmlNode *val = n != NULL ? first_elem(n->next) : NULL;
            struct xmlrpc_value *mv;

            if (!named(m, "member") || !named(n, "name") || !named(val, "value")) {
                bad(error, "malformed <struct> member");
                return NULL;
            }
            mv = parse_value(val, depth + 1, error);
            if (mv == NULL)
                return NULL;
            g_hash_table_replace(v->members, text_of(n), mv);
        }
    } else {
        bad(error, "unknown value type");
        return NULL;
    }
    return g_steal_pointer(&v);
}

static struct xmlrpc_value *
parse_value(xmlNode *value, unsigned depth, GError **error)
{
    xmlNode *t;

    if (depth > XMLRPC_MAX_DEPTH) {
        bad(error, "values nested too deeply");
        return NULL;
    }
    if (!named(value, "value")) {
        bad(error, "expected <value>");
        return NULL;
    }
    t = first_elem(value->children);
    if (t == NULL) {
        /* A bare <value>text</value> is a string. */
        struct xmlrpc_value *v = g_new0(struct xmlrpc_value, 1);
        v->type = XMLRPC_STRING;
        v->str = text_of(value);
        return v;
    }
    return parse_typed(t, depth, error);
}

struct xmlrpc_value *
xmlrpc_xenapi_result(const char *xml, size_t len, char **error_code,
                     char ***error_args, GError **error)
{
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(xmlrpc_value) res = NULL;
    xmlNode *n;
    const char *status;

    if (len > G_MAXINT) {
        bad(error, "too large");
        return NULL;
    }
    doc = xmlReadMemory(xml, (int)len, "xmlrpc.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR |
                        XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS);
    if (doc == NULL) {
        bad(error, "not well-formed XML");
        return NULL;
    }
    n = xmlDocGetRootElement(doc);
    if (!named(n, "methodResponse")) {
        bad(error, "no <methodResponse>");
        return NULL;
    }
    n = first_elem(n->children);
    if (named(n, "fault")) {
        bad(error, "the server answered with an XML-RPC fault");
        return NULL;
    }
    if (!named(n, "params") || !named(n = first_elem(n->children), "param")) {
        bad(error, "no <params><param>");
        return NULL;
    }
    res = parse_value(first_elem(n->children), 0, error);
    if (res == NULL)
        return NULL;
    status = xmlrpc_member_string(res, "Status");
    if (g_strcmp0(status, "Success") == 0) {
        const struct xmlrpc_value *v = xmlrpc_member(res, "Value");
        struct xmlrpc_value *out = NULL;
        char *key = NULL;

        if (v == NULL) {
            bad(error, "Success without Value");
            return NULL;
        }
        /* Steal Value out of the result struct. */
        g_hash_table_steal_extended(res->members, "Value", (gpointer *)&key,
                                    (gpointer *)&out);
        g_free(key);
        return out;
    }
    if (g_strcmp0(status, "Failure") != 0) {
        bad(error, "Status is neither Success nor Failure");
        return NULL;
    }
    const struct xmlrpc_value *ed = xmlrpc_member(res, "ErrorDescription");
    GPtrArray *args = g_ptr_array_new();
    const char *code = "UNKNOWN";

    if (ed != NULL && ed->type == XMLRPC_ARRAY) {
        for (guint i = 0; i < ed->items->len; i++) {
            const struct xmlrpc_value *it = ed->items->pdata[i];
            const char *s = it->str != NULL ? it->str : "";
            if (i == 0)
                code = s;
            else
                g_ptr_array_add(args, g_strdup(s));
        }
    }
    g_ptr_array_add(args, NULL);
    if (error_code != NULL)
        *error_code = g_strdup(code);
    if (error_args != NULL)
        *error_args = (char **)g_ptr_array_free(args, FALSE);
    else
        g_strfreev((char **)g_ptr_array_free(args, FALSE));
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED, "%s", code);
    return NULL;
}

const struct xmlrpc_value *
xmlrpc_member(const struct xmlrpc_value *v, const char *name)
{
    if (v == NULL || v->type != XMLRPC_STRUCT)
        return NULL;
    return g_hash_table_lookup(v->members, name);
}

const char *
xmlrpc_member_string(const struct xmlrpc_value *v, const char *name)
{
    const struct xmlrpc_value *m = xmlrpc_member(v, name);

    if (m == NULL || m->type != XMLRPC_STRING)
        return NULL;
    return m->str;
}

uint64_t
xmlrpc_member_uint64(const struct xmlrpc_value *v, const char *name)
{
    const struct xmlrpc_value *m = xmlrpc_member(v, name);
    guint64 n = 0;

    /* XenAPI sends int64 fields as strings. */
    if (m == NULL || m->str == NULL)
        return 0;
    if (m->type == XMLRPC_INT)
        return m->i < 0 ? 0 : (uint64_t)m->i;
    if (!g_ascii_string_to_unsigned(m->str, 10, 0, G_MAXUINT64, &n, NULL))
        return 0;
    return n;
}

bool
xmlrpc_member_bool(const struct xmlrpc_value *v, const char *name)
{
    const struct xmlrpc_value *m = xmlrpc_member(v, name);

    return m != NULL && m->type == XMLRPC_BOOL && m->i != 0;
}
