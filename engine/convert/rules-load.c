/* rules-load: read a domain rule set (YAML, docs/rules-format.md) into the
 * model of convert-priv.h, checking everything that can be checked before
 * a document is seen: keys, XPath syntax, regexes, XML fragments. */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "convert/convert-priv.h"
#include "util/autoptr.h"
#include "util/error.h"
#include "util/rulefile.h"
#include "util/ynode.h"

#define FRAGMENT_OPEN "<convoy-fragment>"
#define FRAGMENT_CLOSE "</convoy-fragment>"

static const char *const top_keys[] = {
    "name", "version", "description", "facts", "rules", NULL,
};

static const char *const rule_keys[] = {
    "id",           "description", "select", "when",     "rename", "set-text", "remove-attr",
    "replace-attr", "set-attr",    "add",    "position", "remove", "warn", NULL,
};

static const char *const replace_keys[] = {"match", "with", NULL};

/* What the loader needs while it walks one file. */
struct loader {
    struct rulefile rf;     /* the file: tree, bytes (for XPath error columns), errors */
    xmlXPathContext *probe; /* context on a one-element document */
    struct rule_set *rs;
};

/* ------------------------------------------------------------------ */
/* Model lifecycle */

static void
rule_attr_value_free(gpointer p)
{
    struct rule_attr_value *v = p;

    g_free(v->name);
    g_free(v->value);
    g_free(v);
}

static void
rule_attr_replace_free(gpointer p)
{
    struct rule_attr_replace *r = p;

    g_free(r->name);
    if (r->re != NULL)
        g_regex_unref(r->re);
    g_free(r->with);
    g_free(r);
}

static void
rule_fact_free(gpointer p)
{
    struct rule_fact *f = p;

    g_free(f->name);
    g_free(f->text);
    if (f->expr != NULL)
        xmlXPathFreeCompExpr(f->expr);
    g_free(f);
}

static void
rule_free(gpointer p)
{
    struct rule *r = p;

    g_free(r->id);
    g_free(r->select_text);
    if (r->select != NULL)
        xmlXPathFreeCompExpr(r->select);
    g_free(r->when_text);
    if (r->when != NULL)
        xmlXPathFreeCompExpr(r->when);
    g_free(r->rename);
    g_free(r->set_text);
    g_ptr_array_unref(r->remove_attr);
    g_ptr_array_unref(r->replace_attr);
    g_ptr_array_unref(r->set_attr);
    if (r->add != NULL)
        xmlFreeDoc(r->add);
    g_free(r->add_text);
    g_free(r->warn);
    g_free(r);
}

static struct rule *
rule_new(void)
{
    struct rule *r = g_new0(struct rule, 1);

    r->remove_attr = g_ptr_array_new_with_free_func(g_free);
    r->replace_attr = g_ptr_array_new_with_free_func(rule_attr_replace_free);
    r->set_attr = g_ptr_array_new_with_free_func(rule_attr_value_free);
    return r;
}

void
rule_set_free(struct rule_set *rs)
{
    if (rs == NULL)
        return;
    g_free(rs->name);
    g_free(rs->description);
    g_free(rs->path);
    g_free(rs->digest);
    g_ptr_array_unref(rs->facts);
    g_ptr_array_unref(rs->rules);
    g_free(rs);
}

const char *
rule_set_name(const struct rule_set *rs)
{
    return rs->name;
}

unsigned
rule_set_version(const struct rule_set *rs)
{
    return rs->version;
}

const char *
rule_set_path(const struct rule_set *rs)
{
    return rs->path;
}

const char *
rule_set_digest(const struct rule_set *rs)
{
    return rs->digest;
}

/* ------------------------------------------------------------------ */
/* Scalar helpers */

/* Column (1-based) of byte offset off inside scalar n's text in the file,
 * when the scalar sits on one line and was written without escapes so that
 * the text maps 1:1 onto the file; otherwise n's own column. */
static unsigned
scalar_column(const struct loader *l, const struct ynode *n, size_t off)
{
    const char *p = l->rf.data;
    const char *end = l->rf.data + l->rf.len;
    const char *v = n->value;

    if (l->rf.data == NULL || n->pos.line == 0 || n->pos.col == 0)
        return n->pos.col;
    for (unsigned line = 1; line < n->pos.line && p < end; p++) {
        if (*p == '\n')
            line++;
    }
    for (unsigned col = 1; col < n->pos.col && p < end; col++)
        p = g_utf8_next_char(p);
    if (p >= end)
        return n->pos.col;
    unsigned skip = 0;
    if (*p == '\'' || *p == '"') {
        p++;
        skip = 1;
    }
    if (off > strlen(v) || (size_t)(end - p) < off || memcmp(p, v, off) != 0 ||
        memchr(v, '\n', off) != NULL)
        return n->pos.col;
    return n->pos.col + skip + (unsigned)g_utf8_strlen(v, (gssize)off);
}

/* ------------------------------------------------------------------ */
/* XPath */

/* Compile an expression and try it on the probe document (with every fact
 * bound), so syntax errors, unknown functions and undefined variables are
 * reported at load time.  want_nodes: the result must be a node-set. */
static xmlXPathCompExpr *
load_xpath(struct loader *l, const struct ynode *n, const char *key, bool want_nodes)
{
    const char *text = rulefile_want_string(&l->rf, n, key);
    xmlXPathCompExpr *comp;

    if (text == NULL)
        return NULL;
    if (text[0] == '\0') {
        ydiag_error(&l->rf.diag, n, "'%s': expected an XPath expression, got an empty string", key);
        return NULL;
    }
    xmlResetError(&l->probe->lastError);
    comp = xmlXPathCtxtCompile(l->probe, (const xmlChar *)text);
    if (comp == NULL) {
        int off = l->probe->lastError.int1;
        struct ynode at = *n;

        if (off < 0 || (size_t)off > strlen(text))
            off = 0;
        at.pos.col = scalar_column(l, n, (size_t)off);
        ydiag_error(&l->rf.diag, &at, "'%s': invalid XPath: %s at character %d of '%s'", key,
                    convert_xpath_error_text(l->probe), off + 1, text);
        return NULL;
    }

    xmlResetError(&l->probe->lastError);
    l->probe->node = xmlDocGetRootElement(l->probe->doc);
    g_autoptr(xmlXPathObject) res = xmlXPathCompiledEval(comp, l->probe);
    if (res == NULL) {
        ydiag_error(&l->rf.diag, n, "'%s': invalid XPath: %s in '%s'", key,
                    convert_xpath_error_text(l->probe), text);
        xmlXPathFreeCompExpr(comp);
        return NULL;
    }
    if (want_nodes && res->type != XPATH_NODESET) {
        ydiag_error(
            &l->rf.diag, n,
            "'%s': expected an XPath expression that selects nodes, got one that gives a %s: '%s'",
            key,
            res->type == XPATH_BOOLEAN  ? "boolean"
            : res->type == XPATH_NUMBER ? "number"
            : res->type == XPATH_STRING ? "string"
                                        : "value",
            text);
        xmlXPathFreeCompExpr(comp);
        return NULL;
    }
    return comp;
}

static void
load_facts(struct loader *l, const struct ynode *facts)
{
    if (facts->kind != YNODE_MAPPING) {
        ydiag_error(&l->rf.diag, facts, "'facts': expected a mapping of name: XPath, got a %s",
                    ynode_kind_name(facts->kind));
        return;
    }
    for (guint i = 0; i < facts->pairs->len; i++) {
        const struct ynode_pair *p = facts->pairs->pdata[i];
        struct rule_fact *f;

        if (strcmp(p->key->value, "guest_kind") == 0 || strcmp(p->key->value, "guest_os") == 0 ||
            strcmp(p->key->value, "guest_os_family") == 0) {
            ydiag_error(&l->rf.diag, p->key, "'facts': '%s' is a built-in fact and cannot be redefined",
                        p->key->value);
            continue;
        }
        if (!rulefile_is_name(p->key->value, false)) {
            ydiag_error(
                &l->rf.diag, p->key,
                "'facts': invalid name '%s'; expected letters, digits, '_' or '-', starting with a letter",
                p->key->value);
            continue;
        }
        /* facts see no variables: compile before registering any */
        f = g_new0(struct rule_fact, 1);
        f->name = g_strdup(p->key->value);
        f->expr = load_xpath(l, p->value, p->key->value, false);
        f->text = p->value->kind == YNODE_SCALAR ? g_strdup(p->value->value) : NULL;
        g_ptr_array_add(l->rs->facts, f);
    }
    for (guint i = 0; i < l->rs->facts->len; i++) {
        const struct rule_fact *f = l->rs->facts->pdata[i];
        xmlXPathRegisterVariable(l->probe, (const xmlChar *)f->name, xmlXPathNewBoolean(0));
    }
}

/* ------------------------------------------------------------------ */
/* Operations */

static void
load_names(struct loader *l, const struct ynode *n, struct rule *r)
{
    const struct ynode *single[] = {n};
    const struct ynode *const *items = single;
    guint count = 1;

    if (n->kind == YNODE_SEQUENCE) {
        items = (const struct ynode *const *)n->items->pdata;
        count = n->items->len;
    } else if (n->kind != YNODE_SCALAR) {
        ydiag_error(&l->rf.diag, n,
                    "'remove-attr': expected an attribute name or a list of them, got a %s",
                    ynode_kind_name(n->kind));
        return;
    }
    for (guint i = 0; i < count; i++) {
        const char *name = rulefile_want_string(&l->rf, items[i], "remove-attr");

        if (name == NULL)
            continue;
        if (xmlValidateQName((const xmlChar *)name, 0) != 0) {
            ydiag_error(&l->rf.diag, items[i], "'remove-attr': '%s' is not an XML attribute name",
                        name);
            continue;
        }
        g_ptr_array_add(r->remove_attr, g_strdup(name));
    }
}

static void
load_set_attr(struct loader *l, const struct ynode *n, struct rule *r)
{
    if (n->kind != YNODE_MAPPING) {
        ydiag_error(&l->rf.diag, n, "'set-attr': expected a mapping of attribute: value, got a %s",
                    ynode_kind_name(n->kind));
        return;
    }
    for (guint i = 0; i < n->pairs->len; i++) {
        const struct ynode_pair *p = n->pairs->pdata[i];
        const char *value = rulefile_want_string(&l->rf, p->value, p->key->value);
        struct rule_attr_value *v;

        if (xmlValidateQName((const xmlChar *)p->key->value, 0) != 0) {
            ydiag_error(&l->rf.diag, p->key, "'set-attr': '%s' is not an XML attribute name",
                        p->key->value);
            continue;
        }
        if (value == NULL)
            continue;
        v = g_new0(struct rule_attr_value, 1);
        v->name = g_strdup(p->key->value);
        v->value = g_strdup(value);
        g_ptr_array_add(r->set_attr, v);
    }
}

static void
load_replace_attr(struct loader *l, const struct ynode *n, struct rule *r)
{
    if (n->kind != YNODE_MAPPING) {
        ydiag_error(
            &l->rf.diag, n,
            "'replace-attr': expected a mapping of attribute: {match: REGEX, with: TEXT}, got a %s",
            ynode_kind_name(n->kind));
        return;
    }
    for (guint i = 0; i < n->pairs->len; i++) {
        const struct ynode_pair *p = n->pairs->pdata[i];
        const struct ynode *m = p->value;
        const struct ynode *match;
        const struct ynode *with;
        const char *re_text = NULL;
        const char *with_text = NULL;
        g_autoptr(GError) err = NULL;
        g_autoptr(GRegex) re = NULL;
        bool ok = true;

        if (xmlValidateQName((const xmlChar *)p->key->value, 0) != 0) {
            ydiag_error(&l->rf.diag, p->key, "'replace-attr': '%s' is not an XML attribute name",
                        p->key->value);
            ok = false;
        }
        if (m->kind != YNODE_MAPPING) {
            ydiag_error(
                &l->rf.diag, m,
                "'replace-attr': '%s': expected a mapping {match: REGEX, with: TEXT}, got a %s",
                p->key->value, ynode_kind_name(m->kind));
            continue;
        }
        for (guint k = 0; k < m->pairs->len; k++) {
            const struct ynode_pair *q = m->pairs->pdata[k];
            if (!rulefile_is_known(q->key->value, replace_keys)) {
                rulefile_unknown_key(&l->rf, q->key, "'replace-attr'", replace_keys);
                ok = false;
            }
        }
        match = ynode_get(m, "match");
        with = ynode_get(m, "with");
        if (match == NULL) {
            ydiag_error(&l->rf.diag, m, "'replace-attr': '%s': missing required key 'match'",
                        p->key->value);
            ok = false;
        } else {
            re_text = rulefile_want_string(&l->rf, match, "match");
        }
        if (with == NULL) {
            ydiag_error(&l->rf.diag, m, "'replace-attr': '%s': missing required key 'with'",
                        p->key->value);
            ok = false;
        } else if (ynode_is_null(with) && with->kind == YNODE_SCALAR) {
            with_text = "";
        } else {
            with_text = rulefile_want_string(&l->rf, with, "with");
        }
        if (re_text != NULL) {
            re = g_regex_new(re_text, 0, 0, &err);
            if (re == NULL) {
                ydiag_error(&l->rf.diag, match, "'match': invalid regular expression: %s",
                            err->message);
                ok = false;
            }
        }
        g_clear_error(&err);
        if (with_text != NULL && !g_regex_check_replacement(with_text, NULL, &err)) {
            ydiag_error(&l->rf.diag, with, "'with': invalid replacement: %s", err->message);
            ok = false;
        }
        if (!ok || re == NULL || with_text == NULL)
            continue;

        struct rule_attr_replace *rep = g_new0(struct rule_attr_replace, 1);
        rep->name = g_strdup(p->key->value);
        rep->re = g_steal_pointer(&re);
        rep->with = g_strdup(with_text);
        g_ptr_array_add(r->replace_attr, rep);
    }
}

static void
load_add(struct loader *l, const struct ynode *n, struct rule *r)
{
    const char *text = rulefile_want_string(&l->rf, n, "add");
    g_autofree char *wrapped = NULL;
    struct convert_xml_error err;
    xmlDoc *doc;
    bool any = false;

    if (text == NULL)
        return;
    wrapped = g_strconcat(FRAGMENT_OPEN, text, FRAGMENT_CLOSE, NULL);
    doc = convert_xml_parse_raw(wrapped, strlen(wrapped), &err);
    if (doc == NULL) {
        int col = err.col;

        if (err.line <= 1)
            col -= (int)strlen(FRAGMENT_OPEN);
        if (col < 1)
            col = 1;
        ydiag_error(&l->rf.diag, n,
                    "'add': invalid XML fragment: %s (line %d, column %d of the fragment)",
                    err.message, err.line > 0 ? err.line : 1, col);
        convert_xml_error_release(&err);
        return;
    }
    for (xmlNode *c = xmlDocGetRootElement(doc)->children; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            any = true;
        } else if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            ydiag_error(&l->rf.diag, n,
                        "'add': text outside an element is not allowed in the fragment");
            xmlFreeDoc(doc);
            return;
        }
    }
    if (!any) {
        ydiag_error(&l->rf.diag, n, "'add': expected at least one XML element, got '%s'", text);
        xmlFreeDoc(doc);
        return;
    }
    r->add = doc;
    r->add_text = g_strdup(text);
}

/* ------------------------------------------------------------------ */
/* Rules */

static void
load_rule(struct loader *l, const struct ynode *n, GHashTable *ids)
{
    struct rule *r;
    const struct ynode *v;
    const struct ynode *remove_node = NULL;
    const struct ynode *position = NULL;
    unsigned ops = 0;

    if (n->kind != YNODE_MAPPING) {
        ydiag_error(&l->rf.diag, n,
                    "rule: expected a mapping with id, select and an operation, got a %s",
                    ynode_kind_name(n->kind));
        return;
    }
    r = rule_new();
    r->line = n->pos.line;
    g_ptr_array_add(l->rs->rules, r);

    for (guint i = 0; i < n->pairs->len; i++) {
        const struct ynode_pair *p = n->pairs->pdata[i];
        const char *k = p->key->value;

        if (!rulefile_is_known(k, rule_keys)) {
            rulefile_unknown_key(&l->rf, p->key, "rule", rule_keys);
            continue;
        }
        v = p->value;
        if (strcmp(k, "id") == 0) {
            const char *id = rulefile_want_string(&l->rf, v, "id");
            const struct ynode *first;

            if (id == NULL)
                continue;
            if (!rulefile_is_name(id, true)) {
                ydiag_error(&l->rf.diag, v,
                            "'id': invalid rule id '%s'; expected letters, digits, '_', '-' or '.'",
                            id);
                continue;
            }
            first = g_hash_table_lookup(ids, id);
            if (first != NULL) {
                ydiag_error(&l->rf.diag, v, "duplicate rule id '%s'", id);
                ydiag_note(&l->rf.diag, first, "rule '%s' first defined here", id);
                continue;
            }
            g_hash_table_insert(ids, (gpointer)v->value, (gpointer)v);
            r->id = g_strdup(id);
        } else if (strcmp(k, "description") == 0) {
            rulefile_want_string(&l->rf, v, "description");
        } else if (strcmp(k, "select") == 0) {
            r->select = load_xpath(l, v, "select", true);
            r->select_text = g_strdup(v->kind == YNODE_SCALAR ? v->value : "");
        } else if (strcmp(k, "when") == 0) {
            r->when = load_xpath(l, v, "when", false);
            r->when_text = g_strdup(v->kind == YNODE_SCALAR ? v->value : "");
        } else if (strcmp(k, "rename") == 0) {
            const char *name = rulefile_want_string(&l->rf, v, "rename");
            ops++;
            if (name != NULL && xmlValidateQName((const xmlChar *)name, 0) != 0)
                ydiag_error(&l->rf.diag, v, "'rename': '%s' is not an XML element name", name);
            else if (name != NULL)
                r->rename = g_strdup(name);
        } else if (strcmp(k, "set-text") == 0) {
            const char *text = NULL;
            ops++;
            if (v->kind == YNODE_SCALAR && ynode_is_null(v))
                text = "";
            else
                text = rulefile_want_string(&l->rf, v, "set-text");
            if (text != NULL)
                r->set_text = g_strdup(text);
        } else if (strcmp(k, "remove-attr") == 0) {
            ops++;
            load_names(l, v, r);
        } else if (strcmp(k, "replace-attr") == 0) {
            ops++;
            load_replace_attr(l, v, r);
        } else if (strcmp(k, "set-attr") == 0) {
            ops++;
            load_set_attr(l, v, r);
        } else if (strcmp(k, "add") == 0) {
            ops++;
            load_add(l, v, r);
        } else if (strcmp(k, "position") == 0) {
            const char *pos = rulefile_want_string(&l->rf, v, "position");
            position = v;
            if (pos != NULL && strcmp(pos, "first") == 0)
                r->add_first = true;
            else if (pos != NULL && strcmp(pos, "last") != 0)
                ydiag_error(&l->rf.diag, v, "'position': expected first or last, got '%s'", pos);
        } else if (strcmp(k, "warn") == 0) {
            const char *w = rulefile_want_string(&l->rf, v, "warn");
            if (w != NULL && w[0] == '\0')
                ydiag_error(&l->rf.diag, v, "'warn': expected the reason, got an empty string");
            else if (w != NULL)
                r->warn = g_strdup(w);
        } else if (strcmp(k, "remove") == 0) {
            bool b = false;
            remove_node = p->key;
            if (!ynode_as_bool(v, &b))
                ydiag_error(&l->rf.diag, v, "'remove': expected true or false, got '%s'",
                            v->kind == YNODE_SCALAR ? v->value : ynode_kind_name(v->kind));
            r->remove = b;
        }
    }

    if (ynode_get(n, "id") == NULL)
        ydiag_error(&l->rf.diag, n, "rule: missing required key 'id'");
    if (ynode_get(n, "select") == NULL)
        ydiag_error(&l->rf.diag, n, "rule%s%s%s: missing required key 'select'",
                    r->id != NULL ? " '" : "", r->id != NULL ? r->id : "",
                    r->id != NULL ? "'" : "");
    if (position != NULL && ynode_get(n, "add") == NULL)
        ydiag_error(&l->rf.diag, position, "'position' needs 'add' in the same rule");
    if (remove_node != NULL && r->remove && ops > 0)
        ydiag_error(&l->rf.diag, remove_node,
                    "'remove' cannot be combined with other operations in one rule");
    if (ops == 0 && remove_node == NULL && ynode_get(n, "warn") == NULL)
        ydiag_error(
            &l->rf.diag, n,
            "rule%s%s%s: no operation; expected one of rename, set-text, remove-attr, replace-attr, set-attr, add, remove or warn",
            r->id != NULL ? " '" : "", r->id != NULL ? r->id : "", r->id != NULL ? "'" : "");
}

static void
load_top(struct loader *l, const struct ynode *root)
{
    const struct ynode *v;
    struct rulefile_header h = {0};
    g_autoptr(GHashTable) ids = g_hash_table_new(g_str_hash, g_str_equal);

    rulefile_read_header(&l->rf, root, top_keys, &h);
    l->rs->name = g_steal_pointer(&h.name);
    l->rs->version = h.version;
    l->rs->description = g_steal_pointer(&h.description);

    v = ynode_get(root, "facts");
    if (v != NULL && !ynode_is_null(v))
        load_facts(l, v);

    v = rulefile_rules(&l->rf, root, RULES_MAX_RULES);
    for (guint i = 0; v != NULL && i < v->items->len; i++)
        load_rule(l, v->items->pdata[i], ids);
}

struct rule_set *
rule_set_load_data(const char *name, const char *data, size_t len, GError **error)
{
    g_autoptr(rule_set) rs = NULL;
    g_autoptr(xmlDoc) probe_doc = NULL;
    struct loader l = {0};
    const struct ynode *root;
    bool ok;

    if (!rulefile_open(&l.rf, RULEFILE_KIND_DOMAIN, name, data, len, error))
        return NULL;
    root = rulefile_root(&l.rf, error);
    if (root == NULL) {
        rulefile_release(&l.rf);
        return NULL;
    }

    rs = g_new0(struct rule_set, 1);
    rs->path = g_strdup(name);
    rs->digest = g_steal_pointer(&l.rf.digest);
    rs->facts = g_ptr_array_new_with_free_func(rule_fact_free);
    rs->rules = g_ptr_array_new_with_free_func(rule_free);

    probe_doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlDocSetRootElement(probe_doc, xmlNewNode(NULL, (const xmlChar *)"domain"));
    l.probe = convert_xpath_context(probe_doc);
    /* the built-in source facts (rules-apply.c) */
    xmlXPathRegisterVariable(l.probe, (const xmlChar *)"guest_kind", xmlXPathNewCString(""));
    xmlXPathRegisterVariable(l.probe, (const xmlChar *)"guest_os", xmlXPathNewCString(""));
    xmlXPathRegisterVariable(l.probe, (const xmlChar *)"guest_os_family", xmlXPathNewCString(""));
    l.rs = rs;
    struct convert_xml_quiet quiet;
    convert_xml_quiet_begin(&quiet);
    load_top(&l, root);
    convert_xml_quiet_end(&quiet);
    xmlXPathFreeContext(l.probe);
    ok = rulefile_finish(&l.rf, error);
    rulefile_release(&l.rf);
    if (!ok)
        return NULL;
    return g_steal_pointer(&rs);
}

struct rule_set *
rule_set_load_file(const char *path, GError **error)
{
    size_t len = 0;
    g_autofree char *data = rulefile_read(RULEFILE_KIND_DOMAIN, path, &len, error);

    if (data == NULL)
        return NULL;
    return rule_set_load_data(path, data, len, error);
}

struct rule_set *
rule_set_load_named(const char *name, const char *const *dirs, GError **error)
{
    g_autofree char *path = NULL;
    struct rule_set *rs;

    if (!rulefile_is_name(name, true)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID,
                    "invalid rule set name '%s'; expected letters, digits, '_', '-' or '.'", name);
        return NULL;
    }
    path = rulefile_find(name, dirs);
    if (path == NULL) {
        g_autoptr(GString) tried = g_string_new(NULL);

        for (size_t i = 0; dirs != NULL && dirs[i] != NULL; i++)
            g_string_append_printf(tried, "%s'%s'", tried->len != 0 ? ", " : "", dirs[i]);
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                    "rule set '%s' not found (looked in %s)", name,
                    tried->len != 0 ? tried->str : "no directories");
        return NULL;
    }
    rs = rule_set_load_file(path, error);
    if (rs != NULL && g_strcmp0(rs->name, name) != 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID,
                    "%s: error: 'name' is '%s' but the file is named '%s.yaml'", path, rs->name,
                    name);
        rule_set_free(rs);
        return NULL;
    }
    return rs;
}
