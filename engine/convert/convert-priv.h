/* engine/convert internals shared by its files: the rule set model
 * (rules-load.c builds it, rules-apply.c walks it) and the libxml2 error
 * capture used by xml.c and the rules loader. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "convert/convert.h"

/* ------------------------------------------------------------------ */
/* xml.c */

/* The first error libxml2 reported for one parse. */
struct convert_xml_error {
    char *message; /* libxml2's text without the trailing newline */
    int line;      /* 1-based, 0 when unknown */
    int col;       /* 1-based, 0 when unknown */
};

/* Parse with the safe options (no network, no entities, no DTD) and refuse
 * a DOCTYPE.  On failure returns NULL and fills *err (caller releases it
 * with convert_xml_error_release). */
xmlDoc *convert_xml_parse_raw(const char *data, size_t len, struct convert_xml_error *err);
void convert_xml_error_release(struct convert_xml_error *err);

/* Serialise one node (element, text, comment…) the canonical way into
 * out; indent is the nesting level (2 spaces each) or -1 for no
 * formatting at all (one line, used in explain messages). */
void convert_xml_format_node(GString *out, const xmlNode *node, int indent);

/* libxml2 prints some errors through its generic error function (e.g.
 * "function x not found" while evaluating XPath); deep code must not
 * print, so evaluation runs between quiet_begin and quiet_end. */
struct convert_xml_quiet {
    xmlGenericErrorFunc fn;
    void *ctx;
};
void convert_xml_quiet_begin(struct convert_xml_quiet *q);
void convert_xml_quiet_end(struct convert_xml_quiet *q);

/* An XPath context on doc whose errors are captured (in ctx->lastError)
 * instead of printed.  Returns a new context, caller frees. */
xmlXPathContext *convert_xpath_context(xmlDoc *doc);
/* Text of the last XPath error on ctx ("Undefined variable"), borrowed
 * from a static table; "XPath error" when unknown. */
const char *convert_xpath_error_text(const xmlXPathContext *ctx);

/* --explain: a change made by a mapping or option, not a rule (origin
 * "--network", "--pool", "--cdrom", "--boot-dir", "(format probe)"; id
 * the mapping or the disk).  Listed with line 0.  explain may be NULL. */
void convert_explain(GPtrArray *explain, const char *origin, const char *id,
                     const char *fmt, ...) G_GNUC_PRINTF(4, 5);

/* Is n an element called name? */
bool convert_is_el(const xmlNode *n, const char *name);

/* ------------------------------------------------------------------ */
/* rules-load.c, rules-apply.c: the rule set model */

#define RULES_MAX_RULES 10000

/* set-attr: one attribute and its literal value. */
struct rule_attr_value {
    char *name;
    char *value;
};

/* replace-attr: attribute name, compiled regex and replacement. */
struct rule_attr_replace {
    char *name;
    GRegex *re;
    char *with; /* GRegex replacement text (\1 back-references) */
};

/* A fact: an XPath expression evaluated on the document before the set's
 * first rule and bound as the XPath variable $name. */
struct rule_fact {
    char *name;
    char *text;
    xmlXPathCompExpr *expr;
};

struct rule {
    char *id;
    unsigned line; /* line of the rule's first key */
    char *select_text;
    xmlXPathCompExpr *select;
    char *when_text; /* NULL when absent */
    xmlXPathCompExpr *when;
    /* Operations, applied in this order to every selected node. */
    char *rename;            /* NULL when absent */
    char *set_text;          /* NULL when absent */
    GPtrArray *remove_attr;  /* of char*; empty when absent */
    GPtrArray *replace_attr; /* of struct rule_attr_replace* */
    GPtrArray *set_attr;     /* of struct rule_attr_value* */
    xmlDoc *add;             /* fragment wrapper; its root's children are added */
    char *add_text;          /* the fragment as written */
    bool add_first;          /* position: first */
    bool remove;
    char *warn;              /* NULL when absent: the warning for each selected node */
};

struct rule_set {
    char *name;
    unsigned version;
    char *description; /* may be NULL */
    char *path;        /* file name as given */
    char *digest;      /* hex SHA-256 of the file's bytes */
    GPtrArray *facts;  /* of struct rule_fact*, in file order */
    GPtrArray *rules;  /* of struct rule*, in file order */
};
