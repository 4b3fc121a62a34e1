/* ynode: a YAML document as a tree of positioned nodes, built from libyaml
 * events, with anchors/aliases (bounded expansion), "<<" merge keys and
 * duplicate-key checks; plus the ydiag error collector (see ynode.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "util/error.h"
#include "util/ynode.h"

#define MERGE_TAG "tag:yaml.org,2002:merge"

/* The document as allocated: the public part first, then every node of
 * the tree in one flat list (aliases share nodes, so ownership cannot
 * follow the tree). */
struct ydoc_priv {
    struct ydoc pub;
    GPtrArray *nodes;      /* of struct ynode*, owned */
};

struct anchor {
    struct ynode *node;    /* borrowed from the document */
    guint64 weight;        /* nodes reached from it, aliases expanded */
};

/* Builder state for one parse. */
struct loader {
    yaml_parser_t parser;
    struct ydoc_priv *doc;
    const char *data;
    size_t len;
    GHashTable *anchors;   /* char* → struct anchor*, owned */
    guint64 weight;        /* nodes so far, aliases expanded */
    bool fatal;            /* stop building: syntax error or a bound hit */
    struct ydiag diag;
};

static void
ynode_destroy(gpointer p)
{
    struct ynode *n = p;

    g_free(n->tag);
    g_free(n->value);
    if (n->items != NULL)
        g_ptr_array_unref(n->items);
    if (n->pairs != NULL)
        g_ptr_array_unref(n->pairs);
    g_free(n);
}

void
ydoc_free(struct ydoc *doc)
{
    struct ydoc_priv *priv = (struct ydoc_priv *)doc;

    if (doc == NULL)
        return;
    g_ptr_array_unref(priv->nodes);
    g_free(doc->file);
    g_free(priv);
}

static struct ynode *
node_new(struct loader *l, enum ynode_kind kind, const yaml_mark_t *mark)
{
    struct ynode *n = g_new0(struct ynode, 1);

    n->kind = kind;
    n->pos.file = l->doc->pub.file;
    n->pos.line = (unsigned)mark->line + 1;
    n->pos.col = (unsigned)mark->column + 1;
    if (kind == YNODE_SEQUENCE)
        n->items = g_ptr_array_new();
    else if (kind == YNODE_MAPPING)
        n->pairs = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(l->doc->nodes, n);
    return n;
}

/* ------------------------------------------------------------------ */
/* Diagnostics */

void
ydiag_init(struct ydiag *d, unsigned max)
{
    d->lines = g_ptr_array_new_with_free_func(g_free);
    d->errors = 0;
    d->max = max;
}

void
ydiag_release(struct ydiag *d)
{
    if (d->lines != NULL)
        g_ptr_array_unref(d->lines);
    d->lines = NULL;
    d->errors = 0;
}

static void
diag_add(struct ydiag *d, const struct ynode_pos *pos, const char *kind,
         const char *msg)
{
    char *line;

    if (pos != NULL && pos->file != NULL)
        line = g_strdup_printf("%s:%u:%u: %s: %s", pos->file, pos->line,
                               pos->col, kind, msg);
    else
        line = g_strdup_printf("%s: %s", kind, msg);
    g_ptr_array_add(d->lines, line);
}

static void
diag_error_pos(struct ydiag *d, const struct ynode_pos *pos, const char *msg)
{
    d->errors++;
    if (d->max != 0 && d->errors > d->max)
        return;
    diag_add(d, pos, "error", msg);
}

static void
diag_note_pos(struct ydiag *d, const struct ynode_pos *pos, const char *msg)
{
    /* A note belongs to the error before it; drop both past the cap. */
    if (d->max != 0 && d->errors > d->max)
        return;
    diag_add(d, pos, "note", msg);
}

void
ydiag_error(struct ydiag *d, const struct ynode *at, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    diag_error_pos(d, at != NULL ? &at->pos : NULL, msg);
}

void
ydiag_warning(struct ydiag *d, const struct ynode *at, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (d->max != 0 && d->errors > d->max)
        return;
    diag_add(d, at != NULL ? &at->pos : NULL, "warning", msg);
}

void
ydiag_note(struct ydiag *d, const struct ynode *at, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    diag_note_pos(d, at != NULL ? &at->pos : NULL, msg);
}

bool
ydiag_finish(struct ydiag *d, GError **error)
{
    if (d->errors == 0)
        return true;

    g_autoptr(GString) s = g_string_new(NULL);
    for (guint i = 0; i < d->lines->len; i++) {
        if (i > 0)
            g_string_append_c(s, '\n');
        g_string_append(s, g_ptr_array_index(d->lines, i));
    }
    if (d->max != 0 && d->errors > d->max) {
        unsigned more = d->errors - d->max;
        g_string_append_printf(s, "\n... and %u more error%s", more,
                               more == 1 ? "" : "s");
    }
    g_set_error_literal(error, CONVOY_ERROR, CONVOY_ERROR_INVALID, s->str);
    return false;
}

/* ------------------------------------------------------------------ */
/* Building the tree */

static void
load_error(struct loader *l, const yaml_mark_t *mark, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static void
load_error(struct loader *l, const yaml_mark_t *mark, const char *fmt, ...)
{
    struct ynode_pos pos = {
        .file = l->doc->pub.file,
        .line = (unsigned)mark->line + 1,
        .col = (unsigned)mark->column + 1,
    };
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    diag_error_pos(&l->diag, &pos, msg);
}

/* Line and column (0-based) of a byte offset, for reader errors, which
 * carry only an offset. */
static yaml_mark_t
mark_at_offset(const struct loader *l, size_t offset)
{
    yaml_mark_t m = {0};

    for (size_t i = 0; i < offset && i < l->len; i++) {
        if (l->data[i] == '\n') {
            m.line++;
            m.column = 0;
        } else if (((unsigned char)l->data[i] & 0xC0) != 0x80) {
            m.column++;
        }
    }
    m.index = offset;
    return m;
}

static void
load_note(struct loader *l, const yaml_mark_t *mark, const char *msg)
{
    struct ynode_pos pos = {
        .file = l->doc->pub.file,
        .line = (unsigned)mark->line + 1,
        .col = (unsigned)mark->column + 1,
    };

    diag_note_pos(&l->diag, &pos, msg);
}

/* The byte at a mark, or 0 past the end. */
static char
byte_at(const struct loader *l, const yaml_mark_t *mark)
{
    return mark->index < l->len ? l->data[mark->index] : '\0';
}

/* libyaml's problem texts, said in the operator's words.  A problem not
 * in this list keeps libyaml's text after "YAML syntax error:". */
static void
syntax_error(struct loader *l)
{
    const yaml_parser_t *p = &l->parser;
    yaml_mark_t mark = p->problem_mark;
    const yaml_mark_t *ctx = &p->context_mark;
    const char *problem = p->problem != NULL ? p->problem : "invalid YAML";
    const char *context = p->context != NULL ? p->context : "";

    if (p->error == YAML_READER_ERROR) {
        mark = mark_at_offset(l, p->problem_offset);
        if (strcmp(problem, "control characters are not allowed") == 0)
            load_error(l, &mark, "control character (byte 0x%02x) in the file; only printable text, tabs and line breaks are allowed", (unsigned)p->problem_value & 0xff);
        else
            load_error(l, &mark, "the file is not valid UTF-8 text (%s); save it as UTF-8", problem);
        return;
    }
    if (strstr(problem, "tab character") != NULL ||
        (strcmp(problem, "found character that cannot start any token") == 0 &&
         byte_at(l, &mark) == '\t')) {
        bool indent = true;
        for (size_t i = mark.index; i > 0 && i <= l->len && l->data[i - 1] != '\n'; i--) {
            if (l->data[i - 1] != ' ' && l->data[i - 1] != '\t')
                indent = false;
        }
        if (indent)
            load_error(l, &mark, "tab character in indentation; YAML indents with spaces");
        else
            load_error(l, &mark, "tab character here; YAML separates with spaces, not tabs");
        return;
    }
    if (strcmp(problem, "found character that cannot start any token") == 0) {
        char c = byte_at(l, &mark);
        if (g_ascii_isprint(c))
            load_error(l, &mark, "a value cannot start with '%c'; put the value in quotes", c);
        else
            load_error(l, &mark, "unexpected character; put the value in quotes");
        return;
    }
    if (strcmp(problem, "did not find expected ',' or '}'") == 0) {
        load_error(l, &mark, "unclosed '{': expected ',' or '}' before this");
        load_note(l, ctx, "the '{' opens here");
        return;
    }
    if (strcmp(problem, "did not find expected ',' or ']'") == 0) {
        load_error(l, &mark, "unclosed '[': expected ',' or ']' before this");
        load_note(l, ctx, "the '[' opens here");
        return;
    }
    if (strcmp(problem, "found unexpected end of stream") == 0 &&
        strcmp(context, "while scanning a quoted scalar") == 0) {
        load_error(l, ctx, "unclosed quote: the file ends inside this quoted string");
        return;
    }
    if (strcmp(problem, "found unknown escape character") == 0) {
        load_error(l, &mark, "unknown escape sequence in a double-quoted string; write \\\\ for a backslash, or use single quotes");
        return;
    }
    if (strcmp(problem, "mapping values are not allowed in this context") == 0) {
        load_error(l, &mark, "unexpected ':'; quote a value that contains ': ', or check the indentation of this line");
        return;
    }
    if (strcmp(problem, "did not find expected key") == 0) {
        load_error(l, &mark, "expected a key here; the indentation does not match the mapping, or a bracket is unbalanced");
        load_note(l, ctx, "the mapping starts here");
        return;
    }
    if (strcmp(problem, "did not find expected '-' indicator") == 0) {
        load_error(l, &mark, "expected a '- ' list item here; the indentation does not match the list");
        load_note(l, ctx, "the list starts here");
        return;
    }
    if (strcmp(problem, "could not find expected ':'") == 0) {
        load_error(l, ctx, "expected ':' after this key; write 'key: value'");
        return;
    }
    if (strcmp(problem, "block sequence entries are not allowed in this context") == 0) {
        load_error(l, &mark, "a '- ' list item cannot follow a value on the same line; start the list on the next line, indented under its key");
        return;
    }
    if (context[0] != '\0')
        load_error(l, &mark, "YAML syntax error: %s %s", problem, context);
    else
        load_error(l, &mark, "YAML syntax error: %s", problem);
}

static bool
next_event(struct loader *l, yaml_event_t *ev)
{
    if (yaml_parser_parse(&l->parser, ev))
        return true;
    syntax_error(l);
    l->fatal = true;
    return false;
}

static bool
is_merge_key(const struct ynode *key)
{
    if (key->kind != YNODE_SCALAR)
        return false;
    if (key->tag != NULL)
        return strcmp(key->tag, MERGE_TAG) == 0;
    return !key->quoted && strcmp(key->value, "<<") == 0;
}

static void
add_weight(struct loader *l, guint64 w, const yaml_mark_t *mark)
{
    if (l->fatal)
        return;
    l->weight += w;
    if (l->weight > YNODE_MAX_NODES) {
        load_error(l, mark, "document expands to more than %u nodes (too many aliases)", (unsigned)YNODE_MAX_NODES);
        l->fatal = true;
    }
}

static struct ynode *load_node(struct loader *l, yaml_event_t *ev,
                               unsigned depth, guint64 *weight);

/* Add the pairs of src (a mapping) that are not keys of seen, in src's
 * order; seen grows. */
static void
merge_from(struct ynode *map, const struct ynode *src, GHashTable *seen)
{
    for (guint i = 0; i < src->pairs->len; i++) {
        const struct ynode_pair *sp = g_ptr_array_index(src->pairs, i);
        if (g_hash_table_contains(seen, sp->key->value))
            continue;
        struct ynode_pair *p = g_new(struct ynode_pair, 1);
        p->key = sp->key;
        p->value = sp->value;
        g_ptr_array_add(map->pairs, p);
        g_hash_table_add(seen, sp->key->value);
    }
}

/* Apply "<<" merges: explicit keys win over merged ones, and an earlier
 * mapping in a merge sequence wins over a later one.  Merged pairs take
 * the place of the "<<" key in the order. */
static void
apply_merges(struct loader *l, struct ynode *map, GPtrArray *raw,
             GHashTable *explicit_keys)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    GHashTableIter it;
    gpointer key;

    g_hash_table_iter_init(&it, explicit_keys);
    while (g_hash_table_iter_next(&it, &key, NULL))
        g_hash_table_add(seen, key);

    for (guint i = 0; i < raw->len; i++) {
        struct ynode_pair *p = g_ptr_array_index(raw, i);
        if (!is_merge_key(p->key)) {
            g_ptr_array_add(map->pairs, p);
            raw->pdata[i] = NULL;
            continue;
        }
        const struct ynode *v = p->value;
        if (v->kind == YNODE_MAPPING) {
            merge_from(map, v, seen);
        } else if (v->kind == YNODE_SEQUENCE) {
            for (guint j = 0; j < v->items->len; j++) {
                const struct ynode *m = g_ptr_array_index(v->items, j);
                if (m->kind != YNODE_MAPPING) {
                    ydiag_error(&l->diag, m, "'<<': expected a mapping to merge, got a %s", ynode_kind_name(m->kind));
                    continue;
                }
                merge_from(map, m, seen);
            }
        } else {
            ydiag_error(&l->diag, v, "'<<': expected a mapping or a sequence of mappings, got a %s", ynode_kind_name(v->kind));
        }
    }
}

static struct ynode *
load_mapping(struct loader *l, struct ynode *map, unsigned depth,
             guint64 *weight)
{
    g_autoptr(GPtrArray) raw = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) keys = g_hash_table_new(g_str_hash, g_str_equal);
    bool has_merge = false;

    for (;;) {
        yaml_event_t kev;
        if (!next_event(l, &kev))
            return NULL;
        if (kev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&kev);
            break;
        }
        guint64 kw = 0;
        struct ynode *key = load_node(l, &kev, depth + 1, &kw);
        yaml_event_delete(&kev);
        if (key == NULL)
            return NULL;

        yaml_event_t vev;
        if (!next_event(l, &vev))
            return NULL;
        guint64 vw = 0;
        struct ynode *value = load_node(l, &vev, depth + 1, &vw);
        yaml_event_delete(&vev);
        if (value == NULL)
            return NULL;
        *weight += kw + vw;

        if (key->kind != YNODE_SCALAR) {
            ydiag_error(&l->diag, key, "expected a scalar key, got a %s", ynode_kind_name(key->kind));
            continue;
        }
        if (is_merge_key(key)) {
            has_merge = true;
        } else {
            const struct ynode_pair *first =
                g_hash_table_lookup(keys, key->value);
            if (first != NULL) {
                ydiag_error(&l->diag, key, "duplicate key '%s'", key->value);
                ydiag_note(&l->diag, first->key, "first defined here");
                continue;
            }
        }
        struct ynode_pair *p = g_new(struct ynode_pair, 1);
        p->key = key;
        p->value = value;
        g_ptr_array_add(raw, p);
        if (!is_merge_key(key))
            g_hash_table_insert(keys, key->value, p);
    }

    if (!has_merge) {
        for (guint i = 0; i < raw->len; i++) {
            g_ptr_array_add(map->pairs, raw->pdata[i]);
            raw->pdata[i] = NULL;
        }
        return map;
    }
    apply_merges(l, map, raw, keys);
    return map;
}

static struct ynode *
load_sequence(struct loader *l, struct ynode *seq, unsigned depth,
              guint64 *weight)
{
    for (;;) {
        yaml_event_t ev;
        if (!next_event(l, &ev))
            return NULL;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return seq;
        }
        guint64 w = 0;
        struct ynode *item = load_node(l, &ev, depth + 1, &w);
        yaml_event_delete(&ev);
        if (item == NULL)
            return NULL;
        *weight += w;
        g_ptr_array_add(seq->items, item);
    }
}

static void
register_anchor(struct loader *l, const yaml_char_t *name, struct ynode *n,
                guint64 weight)
{
    struct anchor *a = g_new(struct anchor, 1);

    a->node = n;
    a->weight = weight;
    g_hash_table_replace(l->anchors, g_strdup((const char *)name), a);
}

/* Build the node that starts with ev (which the caller deletes).  *weight
 * receives the number of nodes it stands for, aliases expanded.  NULL
 * when building stopped (l->fatal). */
static struct ynode *
load_node(struct loader *l, yaml_event_t *ev, unsigned depth,
          guint64 *weight)
{
    if (depth > YNODE_MAX_DEPTH) {
        load_error(l, &ev->start_mark, "nesting deeper than %u levels", (unsigned)YNODE_MAX_DEPTH);
        l->fatal = true;
        return NULL;
    }

    switch (ev->type) {
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        const struct anchor *a = g_hash_table_lookup(l->anchors, name);
        if (a == NULL) {
            load_error(l, &ev->start_mark, "undefined alias '%s'", name);
            struct ynode *n = node_new(l, YNODE_SCALAR, &ev->start_mark);
            n->value = g_strdup("");
            *weight = 1;
            add_weight(l, 1, &ev->start_mark);
            return l->fatal ? NULL : n;
        }
        *weight = a->weight;
        add_weight(l, a->weight, &ev->start_mark);
        return l->fatal ? NULL : a->node;
    }
    case YAML_SCALAR_EVENT: {
        struct ynode *n = node_new(l, YNODE_SCALAR, &ev->start_mark);
        n->value = g_strndup((const char *)ev->data.scalar.value,
                             ev->data.scalar.length);
        n->has_nul = memchr(ev->data.scalar.value, '\0',
                            ev->data.scalar.length) != NULL;
        if (ev->data.scalar.tag != NULL)
            n->tag = g_strdup((const char *)ev->data.scalar.tag);
        n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE &&
                    ev->data.scalar.style != YAML_ANY_SCALAR_STYLE;
        *weight = 1;
        add_weight(l, 1, &ev->start_mark);
        if (l->fatal)
            return NULL;
        if (ev->data.scalar.anchor != NULL)
            register_anchor(l, ev->data.scalar.anchor, n, 1);
        return n;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool is_map = ev->type == YAML_MAPPING_START_EVENT;
        struct ynode *n = node_new(l, is_map ? YNODE_MAPPING : YNODE_SEQUENCE,
                                   &ev->start_mark);
        const yaml_char_t *tag = is_map ? ev->data.mapping_start.tag
                                        : ev->data.sequence_start.tag;
        const yaml_char_t *anchor = is_map ? ev->data.mapping_start.anchor
                                           : ev->data.sequence_start.anchor;
        if (tag != NULL)
            n->tag = g_strdup((const char *)tag);
        g_autofree char *anchor_name =
            anchor != NULL ? g_strdup((const char *)anchor) : NULL;
        add_weight(l, 1, &ev->start_mark);
        if (l->fatal)
            return NULL;
        guint64 w = 1;
        struct ynode *r = is_map ? load_mapping(l, n, depth, &w)
                                 : load_sequence(l, n, depth, &w);
        if (r == NULL)
            return NULL;
        *weight = w;
        if (anchor_name != NULL)
            register_anchor(l, (const yaml_char_t *)anchor_name, n, w);
        return n;
    }
    case YAML_NO_EVENT:
    case YAML_STREAM_START_EVENT:
    case YAML_STREAM_END_EVENT:
    case YAML_DOCUMENT_START_EVENT:
    case YAML_DOCUMENT_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
    default:
        break;
    }
    load_error(l, &ev->start_mark, "internal error: unexpected YAML event %d", (int)ev->type);
    l->fatal = true;
    return NULL;
}

/* Expect an event of the given type; false (error recorded) otherwise. */
static bool
expect_event(struct loader *l, yaml_event_t *ev, yaml_event_type_t type)
{
    if (!next_event(l, ev))
        return false;
    if (ev->type == type)
        return true;
    if (ev->type == YAML_DOCUMENT_START_EVENT)
        load_error(l, &ev->start_mark, "only one document is allowed per file");
    else
        load_error(l, &ev->start_mark, "internal error: unexpected YAML event %d", (int)ev->type);
    yaml_event_delete(ev);
    l->fatal = true;
    return false;
}

static bool
load_stream(struct loader *l)
{
    yaml_event_t ev;

    if (!expect_event(l, &ev, YAML_STREAM_START_EVENT))
        return false;
    yaml_event_delete(&ev);

    if (!next_event(l, &ev))
        return false;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        return true;
    }
    if (ev.type != YAML_DOCUMENT_START_EVENT) {
        load_error(l, &ev.start_mark, "internal error: unexpected YAML event %d", (int)ev.type);
        yaml_event_delete(&ev);
        return false;
    }
    yaml_event_delete(&ev);

    if (!next_event(l, &ev))
        return false;
    guint64 w = 0;
    struct ynode *root = load_node(l, &ev, 1, &w);
    yaml_event_delete(&ev);
    if (root == NULL)
        return false;
    if (root->kind == YNODE_SCALAR && !root->quoted && root->tag == NULL &&
        root->value[0] == '\0')
        root = NULL;
    l->doc->pub.root = root;

    if (!expect_event(l, &ev, YAML_DOCUMENT_END_EVENT))
        return false;
    yaml_event_delete(&ev);
    if (!expect_event(l, &ev, YAML_STREAM_END_EVENT))
        return false;
    yaml_event_delete(&ev);
    return true;
}

struct ydoc *
ydoc_load_data(const char *name, const char *data, size_t len,
               GError **error)
{
    struct loader l = {0};

    l.doc = g_new0(struct ydoc_priv, 1);
    l.doc->pub.file = g_strdup(name);
    l.doc->nodes = g_ptr_array_new_with_free_func(ynode_destroy);
    g_autoptr(ydoc) doc = &l.doc->pub;
    ydiag_init(&l.diag, 50);

    if (len > YNODE_MAX_BYTES) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID, "%s:1:1: error: file is too large (%zu bytes; the limit is %u)", name, len, (unsigned)YNODE_MAX_BYTES);
        ydiag_release(&l.diag);
        return NULL;
    }

    l.data = data;
    l.len = len;
    l.anchors = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    if (!yaml_parser_initialize(&l.parser)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL, "internal error: cannot initialise the YAML parser");
        g_hash_table_unref(l.anchors);
        ydiag_release(&l.diag);
        return NULL;
    }
    /* libyaml asserts on a NULL input, which an empty file (an empty
     * GByteArray) gives: an empty document is an empty string. */
    yaml_parser_set_input_string(&l.parser,
                                 (const unsigned char *)(data != NULL ? data : ""),
                                 len);

    load_stream(&l);

    yaml_parser_delete(&l.parser);
    g_hash_table_unref(l.anchors);
    bool ok = ydiag_finish(&l.diag, error);
    ydiag_release(&l.diag);
    if (!ok)
        return NULL;
    return g_steal_pointer(&doc);
}

struct ydoc *
ydoc_load_file(const char *path, GError **error)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int errsv = errno;
        g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(errsv), "cannot open '%s': %s", path, g_strerror(errsv));
        return NULL;
    }

    /* Read at most one byte past the bound, so a too-large file (or an
     * endless pipe) is refused without reading it all. */
    g_autoptr(GByteArray) buf = g_byte_array_new();
    g_autofree guint8 *chunk = g_malloc(65536);
    for (;;) {
        ssize_t r = read(fd, chunk, 65536);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int errsv = errno;
            close(fd);
            g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(errsv), "cannot read '%s': %s", path, g_strerror(errsv));
            return NULL;
        }
        if (r == 0)
            break;
        g_byte_array_append(buf, chunk, (guint)r);
        if (buf->len > YNODE_MAX_BYTES)
            break;
    }
    close(fd);
    if (buf->len > YNODE_MAX_BYTES) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID, "%s:1:1: error: file is too large (more than %u bytes)", path, (unsigned)YNODE_MAX_BYTES);
        return NULL;
    }
    return ydoc_load_data(path, (const char *)buf->data, buf->len, error);
}

/* ------------------------------------------------------------------ */
/* Accessors */

struct ynode *
ynode_get(const struct ynode *map, const char *key)
{
    if (map == NULL || map->kind != YNODE_MAPPING)
        return NULL;
    for (guint i = 0; i < map->pairs->len; i++) {
        const struct ynode_pair *p = g_ptr_array_index(map->pairs, i);
        if (strcmp(p->key->value, key) == 0)
            return p->value;
    }
    return NULL;
}

const char *
ynode_kind_name(enum ynode_kind kind)
{
    switch (kind) {
    case YNODE_SCALAR:
        return "scalar";
    case YNODE_SEQUENCE:
        return "sequence";
    case YNODE_MAPPING:
        return "mapping";
    case YNODE_LAST:
    default:
        break;
    }
    return "node";
}

char *
ynode_pos_str(const struct ynode *n)
{
    return g_strdup_printf("%s:%u:%u", n->pos.file, n->pos.line, n->pos.col);
}

/* A plain scalar whose tag, if any, is the given core tag. */
static bool
plain_scalar(const struct ynode *n, const char *core_tag)
{
    if (n == NULL || n->kind != YNODE_SCALAR)
        return false;
    if (n->tag != NULL)
        return strcmp(n->tag, core_tag) == 0;
    return !n->quoted;
}

bool
ynode_as_bool(const struct ynode *n, bool *out)
{
    static const char *const yes[] = {"true", "True", "TRUE", NULL};
    static const char *const no[] = {"false", "False", "FALSE", NULL};

    if (!plain_scalar(n, "tag:yaml.org,2002:bool"))
        return false;
    if (g_strv_contains(yes, n->value)) {
        *out = true;
        return true;
    }
    if (g_strv_contains(no, n->value)) {
        *out = false;
        return true;
    }
    return false;
}

bool
ynode_as_uint64(const struct ynode *n, guint64 *out)
{
    if (!plain_scalar(n, "tag:yaml.org,2002:int"))
        return false;
    const char *s = n->value;
    if (s[0] == '\0')
        return false;
    for (const char *p = s; *p != '\0'; p++) {
        if (!g_ascii_isdigit(*p))
            return false;
    }
    guint64 v = 0;
    if (!g_ascii_string_to_unsigned(s, 10, 0, G_MAXUINT64, &v, NULL))
        return false;
    *out = v;
    return true;
}

bool
ynode_is_null(const struct ynode *n)
{
    static const char *const nulls[] = {"~", "null", "Null", "NULL", "", NULL};

    if (n == NULL || n->kind != YNODE_SCALAR)
        return false;
    if (n->tag != NULL)
        return strcmp(n->tag, "tag:yaml.org,2002:null") == 0;
    return !n->quoted && g_strv_contains(nulls, n->value);
}

/* ------------------------------------------------------------------ */
/* "Did you mean" */

static unsigned
levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    if (la > 64 || lb > 64)
        return la > lb ? (unsigned)la : (unsigned)lb;
    unsigned row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        unsigned diag = row[0];
        row[0] = (unsigned)i;
        for (size_t j = 1; j <= lb; j++) {
            unsigned up = row[j];
            unsigned cost = a[i - 1] == b[j - 1] ? 0 : 1;
            unsigned best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *
ydid_you_mean(const char *word, const char *const *candidates)
{
    const char *best = NULL;
    unsigned best_d = 3;
    size_t wl = strlen(word);

    if (candidates == NULL)
        return NULL;
    for (size_t i = 0; candidates[i] != NULL; i++) {
        const char *c = candidates[i];
        unsigned d;
        if (g_ascii_strcasecmp(word, c) == 0)
            d = 0;
        else
            d = levenshtein(word, c);
        /* Replacing (nearly) the whole word is no suggestion. */
        if (d >= wl && d != 0)
            continue;
        if (d < best_d) {
            best = c;
            best_d = d;
        }
    }
    return best_d <= 2 ? best : NULL;
}
