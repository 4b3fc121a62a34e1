/* xl-cfg: read an xl.cfg(5) domain configuration (the xl toolstack's
 * KEY = VALUE file) into the Xen-flavoured libvirt domain XML that every
 * other source also yields, so one rule set converts them all.  Pure code:
 * bounded input, no file access, positions in every message. */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <libxml/tree.h>

#include "sources/sources.h"
#include "util/autoptr.h"
#include "util/error.h"

#define XL_MAX_ERRORS 50
/* Lists nest (vnuma, vsnd); deeper than this is refused, not recursed. */
#define XL_MAX_DEPTH 8

/* ------------------------------------------------------------------ */
/* Values */

enum xl_kind {
    XL_KIND_STRING,
    XL_KIND_NUMBER,
    XL_KIND_LIST,
    XL_KIND_LAST,
};

/* One value with the position it starts at. */
struct xl_value {
    enum xl_kind kind;
    char *text;       /* STRING: the unquoted text; NUMBER: as written */
    GPtrArray *items; /* LIST: of struct xl_value* */
    unsigned line;
    unsigned col;
};

/* One KEY = VALUE setting (the last one wins; += appends). */
struct xl_setting {
    char *key;
    unsigned line;
    unsigned col;
    struct xl_value *value;
    bool used; /* looked at by the converter */
};

static void
xl_value_free(gpointer p)
{
    struct xl_value *v = p;

    if (v == NULL)
        return;
    g_free(v->text);
    if (v->items != NULL)
        g_ptr_array_unref(v->items);
    g_free(v);
}

static void
xl_setting_free(gpointer p)
{
    struct xl_setting *s = p;

    g_free(s->key);
    xl_value_free(s->value);
    g_free(s);
}

/* ------------------------------------------------------------------ */
/* Parser state and diagnostics */

struct xl_parser {
    const char *name;
    const char *p;   /* next byte */
    const char *end;
    unsigned line;
    unsigned col;
    unsigned items;       /* values read, against XL_CFG_MAX_ITEMS */
    GPtrArray *settings;  /* of struct xl_setting*, in file order */
    GHashTable *by_key;   /* key → struct xl_setting* (borrowed) */
    GPtrArray *errors;    /* of struct xl_diag*, sorted at the end */
    unsigned n_errors;
    GPtrArray *warnings;  /* of struct xl_diag*, or NULL when not wanted */
};

/* One message and where it points, so messages print in file order. */
struct xl_diag {
    unsigned line;
    unsigned col;
    unsigned seq; /* order of creation, for equal positions */
    char *text;   /* "FILE:LINE:COL: error|warning: …" */
};

static void
xl_diag_free(gpointer p)
{
    struct xl_diag *d = p;

    g_free(d->text);
    g_free(d);
}

static gint
xl_diag_cmp(gconstpointer a, gconstpointer b)
{
    const struct xl_diag *x = *(const struct xl_diag *const *)a;
    const struct xl_diag *y = *(const struct xl_diag *const *)b;

    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq ? 1 : 0;
}

static void
diag_add(GPtrArray *to, unsigned line, unsigned col, char *text)
{
    struct xl_diag *d = g_new0(struct xl_diag, 1);

    d->line = line;
    d->col = col;
    d->seq = to->len;
    d->text = text;
    g_ptr_array_add(to, d);
}

static void diag_error(struct xl_parser *x, unsigned line, unsigned col, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

static void
diag_error(struct xl_parser *x, unsigned line, unsigned col, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    x->n_errors++;
    if (x->n_errors > XL_MAX_ERRORS)
        return;
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    diag_add(x->errors, line, col, g_strdup_printf("%s:%u:%u: error: %s", x->name, line, col, msg));
}

static void diag_warning(struct xl_parser *x, unsigned line, unsigned col, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

static void
diag_warning(struct xl_parser *x, unsigned line, unsigned col, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    if (x->warnings == NULL)
        return;
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    diag_add(x->warnings, line, col,
             g_strdup_printf("%s:%u:%u: warning: %s", x->name, line, col, msg));
}

/* ------------------------------------------------------------------ */
/* Lexing */

static int
peek(const struct xl_parser *x)
{
    return x->p < x->end ? (unsigned char)*x->p : -1;
}

static void
advance(struct xl_parser *x)
{
    if (x->p >= x->end)
        return;
    if (*x->p == '\n') {
        x->line++;
        x->col = 1;
    } else if (((unsigned char)*x->p & 0xc0) != 0x80) {
        x->col++;
    }
    x->p++;
}

/* Skip blanks and comments; newlines too when newlines is true. */
static void
skip_space(struct xl_parser *x, bool newlines)
{
    for (;;) {
        int c = peek(x);

        if (c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n')) {
            advance(x);
        } else if (c == '#') {
            while (peek(x) != -1 && peek(x) != '\n')
                advance(x);
        } else if (c == '\\' && x->p + 1 < x->end && x->p[1] == '\n') {
            advance(x); /* line continuation */
            advance(x);
        } else {
            return;
        }
    }
}

/* Skip the rest of a broken statement (to the next newline or ';'
 * outside quotes), so that one error does not hide the next. */
static void
recover(struct xl_parser *x)
{
    int depth = 0;

    while (peek(x) != -1) {
        int c = peek(x);
        if (c == '[')
            depth++;
        else if (c == ']' && depth > 0)
            depth--;
        else if ((c == '\n' && depth == 0) || c == ';')
            break;
        advance(x);
    }
}

static struct xl_value *
value_new(enum xl_kind kind, unsigned line, unsigned col)
{
    struct xl_value *v = g_new0(struct xl_value, 1);

    v->kind = kind;
    v->line = line;
    v->col = col;
    return v;
}

static struct xl_value *
lex_string(struct xl_parser *x)
{
    unsigned line = x->line;
    unsigned col = x->col;
    int quote = peek(x);
    g_autoptr(GString) s = g_string_new(NULL);
    struct xl_value *v;

    advance(x);
    for (;;) {
        int c = peek(x);

        if (c == -1 || c == '\n') {
            diag_error(x, line, col, "unterminated string (missing closing %c)", quote);
            return NULL;
        }
        if (c == quote) {
            advance(x);
            break;
        }
        if (c == '\\' && quote == '"') {
            advance(x);
            c = peek(x);
            switch (c) {
            case 'n':
                g_string_append_c(s, '\n');
                break;
            case 't':
                g_string_append_c(s, '\t');
                break;
            case '\\':
            case '"':
            case '\'':
                g_string_append_c(s, (char)c);
                break;
            default:
                diag_error(x, x->line, x->col, "invalid escape sequence '\\%c' in a string",
                           c > 0x20 && c < 0x7f ? c : '?');
                return NULL;
            }
            advance(x);
            continue;
        }
        if (c == '\0') {
            diag_error(x, x->line, x->col, "NUL byte in a string");
            return NULL;
        }
        g_string_append_c(s, (char)c);
        advance(x);
    }
    v = value_new(XL_KIND_STRING, line, col);
    v->text = g_string_free(g_steal_pointer(&s), FALSE);
    return v;
}

static struct xl_value *
lex_number(struct xl_parser *x)
{
    unsigned line = x->line;
    unsigned col = x->col;
    const char *start = x->p;
    struct xl_value *v;

    while (peek(x) != -1 && (g_ascii_isalnum(peek(x)) || peek(x) == '.' || peek(x) == '-' ||
                             peek(x) == '+'))
        advance(x);
    v = value_new(XL_KIND_NUMBER, line, col);
    v->text = g_strndup(start, (gsize)(x->p - start));
    return v;
}

static struct xl_value *parse_value(struct xl_parser *x, unsigned depth);

static struct xl_value *
parse_list(struct xl_parser *x, unsigned depth)
{
    struct xl_value *list = value_new(XL_KIND_LIST, x->line, x->col);

    list->items = g_ptr_array_new_with_free_func(xl_value_free);
    advance(x); /* '[' */
    for (;;) {
        struct xl_value *item;

        skip_space(x, true);
        if (peek(x) == ']') {
            advance(x);
            return list;
        }
        if (peek(x) == -1) {
            diag_error(x, list->line, list->col, "unterminated list (missing closing ])");
            xl_value_free(list);
            return NULL;
        }
        item = parse_value(x, depth + 1);
        if (item == NULL) {
            xl_value_free(list);
            return NULL;
        }
        g_ptr_array_add(list->items, item);
        skip_space(x, true);
        if (peek(x) == ',') {
            advance(x);
        } else if (peek(x) != ']') {
            if (peek(x) == -1)
                diag_error(x, list->line, list->col, "unterminated list (missing closing ])");
            else
                diag_error(x, x->line, x->col, "expected ',' or ']' in a list, got '%c'",
                           peek(x) > 0x20 && peek(x) < 0x7f ? peek(x) : '?');
            xl_value_free(list);
            return NULL;
        }
    }
}

/* depth: how many lists enclose the value (0 for a setting's value). */
static struct xl_value *
parse_value(struct xl_parser *x, unsigned depth)
{
    int c = peek(x);

    if (++x->items > XL_CFG_MAX_ITEMS) {
        diag_error(x, x->line, x->col, "more than %u values; the file is too large",
                   XL_CFG_MAX_ITEMS);
        return NULL;
    }
    if (c == '"' || c == '\'')
        return lex_string(x);
    if (c == '[') {
        if (depth >= XL_MAX_DEPTH) {
            diag_error(x, x->line, x->col, "lists nested more than %u deep", XL_MAX_DEPTH);
            return NULL;
        }
        return parse_list(x, depth);
    }
    if (c != -1 && (g_ascii_isdigit(c) || c == '-' || c == '+'))
        return lex_number(x);
    if (c == -1 || c == '\n' || c == ';')
        diag_error(x, x->line, x->col, "expected a value (a \"string\", a number or a [list])");
    else
        diag_error(x, x->line, x->col,
                   "expected a value (a \"string\", a number or a [list]), got '%c'",
                   c > 0x20 && c < 0x7f ? c : '?');
    return NULL;
}

/* Merge VALUE into KEY: '=' replaces, '+=' appends to a string or list. */
static void
store(struct xl_parser *x, char *key, unsigned line, unsigned col, bool append,
      struct xl_value *v)
{
    struct xl_setting *s = g_hash_table_lookup(x->by_key, key);

    if (append && s != NULL) {
        if (s->value->kind == XL_KIND_LIST && v->kind == XL_KIND_LIST) {
            for (guint i = 0; i < v->items->len; i++)
                g_ptr_array_add(s->value->items, g_steal_pointer(&v->items->pdata[i]));
            g_ptr_array_set_free_func(v->items, NULL);
            xl_value_free(v);
        } else if (s->value->kind == XL_KIND_STRING && v->kind == XL_KIND_STRING) {
            char *joined = g_strconcat(s->value->text, v->text, NULL);
            g_free(s->value->text);
            s->value->text = joined;
            xl_value_free(v);
        } else {
            diag_error(x, line, col, "'+=' on '%s' needs a string or a list on both sides", key);
            xl_value_free(v);
        }
        g_free(key);
        return;
    }
    if (s != NULL) {
        xl_value_free(s->value);
        s->value = v;
        s->line = line;
        s->col = col;
        g_free(key);
        return;
    }
    s = g_new0(struct xl_setting, 1);
    s->key = key;
    s->line = line;
    s->col = col;
    s->value = v;
    g_ptr_array_add(x->settings, s);
    g_hash_table_insert(x->by_key, s->key, s);
}

static void
parse_file(struct xl_parser *x)
{
    for (;;) {
        const char *start;
        unsigned line;
        unsigned col;
        bool append = false;
        struct xl_value *v;

        skip_space(x, true);
        if (peek(x) == ';') {
            advance(x);
            continue;
        }
        if (peek(x) == -1 || x->n_errors > XL_MAX_ERRORS)
            return;
        line = x->line;
        col = x->col;
        start = x->p;
        if (!g_ascii_isalpha(peek(x)) && peek(x) != '_') {
            diag_error(x, line, col, "expected a setting name (KEY = VALUE), got '%c'",
                       peek(x) > 0x20 && peek(x) < 0x7f ? peek(x) : '?');
            recover(x);
            continue;
        }
        while (peek(x) != -1 && (g_ascii_isalnum(peek(x)) || peek(x) == '_'))
            advance(x);
        g_autofree char *key = g_strndup(start, (gsize)(x->p - start));
        skip_space(x, false);
        if (peek(x) == '+' && x->p + 1 < x->end && x->p[1] == '=') {
            append = true;
            advance(x);
        }
        if (peek(x) != '=') {
            diag_error(x, x->line, x->col, "expected '=' after '%s'", key);
            recover(x);
            continue;
        }
        advance(x);
        skip_space(x, false);
        v = parse_value(x, 0);
        if (v == NULL) {
            recover(x);
            continue;
        }
        skip_space(x, false);
        if (peek(x) != -1 && peek(x) != '\n' && peek(x) != ';') {
            diag_error(x, x->line, x->col, "expected the end of the line after the value of '%s'",
                       key);
            xl_value_free(v);
            recover(x);
            continue;
        }
        store(x, g_steal_pointer(&key), line, col, append, v);
    }
}

/* ------------------------------------------------------------------ */
/* Typed access to settings */

static struct xl_setting *
get(struct xl_parser *x, const char *key)
{
    struct xl_setting *s = g_hash_table_lookup(x->by_key, key);

    if (s != NULL)
        s->used = true;
    return s;
}

static const char *
kind_name(enum xl_kind k)
{
    switch (k) {
    case XL_KIND_STRING:
        return "a string";
    case XL_KIND_NUMBER:
        return "a number";
    case XL_KIND_LIST:
        return "a list";
    case XL_KIND_LAST:
    default:
        return "a value";
    }
}

/* A string setting (a number is accepted as its text), or NULL. */
static const char *
get_string(struct xl_parser *x, const char *key)
{
    struct xl_setting *s = get(x, key);

    if (s == NULL)
        return NULL;
    if (s->value->kind == XL_KIND_LIST) {
        diag_error(x, s->value->line, s->value->col, "'%s': expected a string, got a list", key);
        return NULL;
    }
    return s->value->text;
}

static bool
parse_u64(const char *text, guint64 *out)
{
    if (text == NULL || text[0] == '\0')
        return false;
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        return g_ascii_string_to_unsigned(text + 2, 16, 0, G_MAXUINT64, out, NULL);
    return g_ascii_string_to_unsigned(text, 10, 0, G_MAXUINT64, out, NULL);
}

/* A non-negative integer setting: *found tells whether it was there. */
static guint64
get_uint(struct xl_parser *x, const char *key, guint64 max, bool *found)
{
    struct xl_setting *s = get(x, key);
    guint64 v = 0;

    *found = false;
    if (s == NULL)
        return 0;
    if (s->value->kind == XL_KIND_LIST || !parse_u64(s->value->text, &v) || v > max) {
        diag_error(x, s->value->line, s->value->col,
                   "'%s': expected an integer from 0 to %" G_GUINT64_FORMAT ", got %s%s%s%s", key,
                   max, kind_name(s->value->kind), s->value->text ? " '" : "",
                   s->value->text ? s->value->text : "", s->value->text ? "'" : "");
        return 0;
    }
    *found = true;
    return v;
}

/* A boolean (0/1, also "yes"/"no"/"true"/"false" as libxl accepts). */
static bool
get_bool(struct xl_parser *x, const char *key, bool dflt)
{
    struct xl_setting *s = get(x, key);
    const char *t;

    if (s == NULL)
        return dflt;
    t = s->value->text;
    if (t != NULL && (strcmp(t, "1") == 0 || g_ascii_strcasecmp(t, "yes") == 0 ||
                      g_ascii_strcasecmp(t, "true") == 0))
        return true;
    if (t != NULL && (strcmp(t, "0") == 0 || g_ascii_strcasecmp(t, "no") == 0 ||
                      g_ascii_strcasecmp(t, "false") == 0))
        return false;
    diag_error(x, s->value->line, s->value->col, "'%s': expected 0 or 1, got %s%s%s%s", key,
               kind_name(s->value->kind), t ? " '" : "", t ? t : "", t ? "'" : "");
    return dflt;
}

/* A list of strings; a single string counts as a list of one. */
static GPtrArray *
get_list(struct xl_parser *x, const char *key)
{
    struct xl_setting *s = get(x, key);
    GPtrArray *out = g_ptr_array_new();

    if (s == NULL)
        return out;
    if (s->value->kind != XL_KIND_LIST) {
        g_ptr_array_add(out, s->value);
        return out;
    }
    for (guint i = 0; i < s->value->items->len; i++) {
        struct xl_value *v = s->value->items->pdata[i];
        if (v->kind != XL_KIND_STRING) {
            diag_error(x, v->line, v->col, "'%s': expected a list of strings, got %s", key,
                       kind_name(v->kind));
            continue;
        }
        g_ptr_array_add(out, v);
    }
    return out;
}

/* ------------------------------------------------------------------ */
/* XML helpers */

static xmlNode *
child(xmlNode *parent, const char *name, const char *text)
{
    return xmlNewTextChild(parent, NULL, (const xmlChar *)name, (const xmlChar *)text);
}

static void
attr(xmlNode *n, const char *name, const char *value)
{
    xmlSetProp(n, (const xmlChar *)name, (const xmlChar *)value);
}

/* Split "k=v,k=v" (a vif, vfb or disk spec) into trimmed parts. */
static char **
split_spec(const char *spec)
{
    char **parts = g_strsplit(spec, ",", -1);

    for (char **p = parts; *p != NULL; p++)
        g_strstrip(*p);
    return parts;
}

/* ------------------------------------------------------------------ */
/* Disks (xl-disk-configuration(5)) */

struct disk_spec {
    char *target;
    char *format;
    char *vdev;
    char *access;
    char *backendtype;
    bool cdrom;
    bool format_from_prefix; /* legacy "format:target": no format positional */
    /* A network target (rbd:, nbd:, iscsi://): the data stays where it is. */
    char *protocol;    /* "rbd", "nbd", "iscsi"; NULL for a file or device */
    char *net_name;    /* pool/image, export name, iqn/lun */
    GPtrArray *hosts;  /* of char*: "NAME" or "NAME:PORT"; "unix:PATH" for nbd */
    char *auth_user;   /* cephx id or iSCSI user, for <auth> by reference */
};

static void
disk_spec_release(struct disk_spec *d)
{
    g_free(d->target);
    g_free(d->format);
    g_free(d->vdev);
    g_free(d->access);
    g_free(d->backendtype);
    g_free(d->protocol);
    g_free(d->net_name);
    if (d->hosts != NULL)
        g_ptr_array_unref(d->hosts);
    g_free(d->auth_user);
}

/* A disk spec as messages show it: a cephx key= or an iSCSI password in
 * the target is replaced by "***" (secrets never enter plans or logs). */
static char *
disk_spec_shown(const char *spec)
{
    g_autoptr(GRegex) key = g_regex_new("((?:^|[:,\\s])key=)[^:,\\s]*", 0, 0, NULL);
    g_autoptr(GRegex) pass = g_regex_new("(iscsi://[^/@%]*%)[^@/]*@", 0, 0, NULL);
    g_autofree char *a = g_regex_replace(key, spec, -1, 0, "\\1***", 0, NULL);

    return g_regex_replace(pass, a != NULL ? a : "", -1, 0, "\\1***@", 0, NULL);
}

/* Legacy prefixes of the target: phy:, file:, tap:aio:, tap:qcow2:,
 * tap2:…, raw:, qcow2:, vhd:, aio:.  Sets format and backend type. */
static const char *
strip_prefix(struct disk_spec *d, const char *t)
{
    static const struct {
        const char *prefix;
        const char *format;
        const char *backend;
    } prefixes[] = {
        {"tap2:tapdisk:aio:", "raw", "tap"}, {"tap2:tapdisk:vhd:", "vhd", "tap"},
        {"tap:tapdisk:aio:", "raw", "tap"},  {"tap:tapdisk:vhd:", "vhd", "tap"},
        {"tap:aio:", "raw", "tap"},          {"tap:qcow2:", "qcow2", "tap"},
        {"tap:qcow:", "qcow", "tap"},        {"tap:vhd:", "vhd", "tap"},
        {"tap2:aio:", "raw", "tap"},         {"tap2:vhd:", "vhd", "tap"},
        {"phy:", "raw", "phy"},              {"file:", "raw", "qdisk"},
        {"aio:", "raw", "tap"},              {"raw:", "raw", NULL},
        {"qcow2:", "qcow2", NULL},           {"qcow:", "qcow", NULL},
        {"vhd:", "vhd", NULL},               {"qed:", "qed", NULL},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(prefixes); i++) {
        if (g_str_has_prefix(t, prefixes[i].prefix)) {
            g_free(d->format);
            d->format = g_strdup(prefixes[i].format);
            if (prefixes[i].backend != NULL) {
                g_free(d->backendtype);
                d->backendtype = g_strdup(prefixes[i].backend);
            }
            d->format_from_prefix = true;
            return t + strlen(prefixes[i].prefix);
        }
    }
    return t;
}

static bool
set_once(struct xl_parser *x, const struct xl_value *v, const char *shown, char **field,
         const char *what, const char *value)
{
    if (*field != NULL) {
        diag_error(x, v->line, v->col, "disk '%s': '%s' is given twice", shown, what);
        return false;
    }
    *field = g_strdup(value);
    return true;
}

static bool
is_format(const char *p)
{
    static const char *const formats[] = {"raw", "qcow2", "qcow", "vhd", "qed", "empty", NULL};

    for (size_t i = 0; formats[i] != NULL; i++) {
        if (strcmp(p, formats[i]) == 0)
            return true;
    }
    return false;
}

/* "ioemu:hda", "hdc:cdrom", "xvda": does p name a virtual device? */
static bool
looks_like_vdev(const char *p)
{
    return g_regex_match_simple("^(ioemu:)?((xvd|hd|sd|vd)[a-z]+[0-9]*|d[0-9]+(p[0-9]+)?)(:cdrom|:disk)?$",
                                p, 0, 0);
}

/* Split at ':' not escaped by '\' (QEMU's rbd: and nbd: syntax); the
 * escapes of ':' and ';' are undone. */
static char **
split_unescaped(const char *s)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new();
    g_autoptr(GString) cur = g_string_new(NULL);

    for (const char *p = s;; p++) {
        if (*p == '\\' && (p[1] == ':' || p[1] == ';' || p[1] == '\\')) {
            g_string_append_c(cur, p[1]);
            p++;
            continue;
        }
        if (*p == ':' || *p == '\0') {
            g_ptr_array_add(out, g_strdup(cur->str));
            g_string_truncate(cur, 0);
            if (*p == '\0')
                break;
            continue;
        }
        g_string_append_c(cur, *p);
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(g_steal_pointer(&out), FALSE);
}

/* "HOST", "HOST:PORT" or "[V6]:PORT": checked, kept as written. */
static bool
valid_host(const char *h)
{
    return g_regex_match_simple("^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+)(:[0-9]{1,5})?$", h, 0, 0);
}

/* rbd:POOL/IMAGE[@SNAP][:OPT=VALUE…] (QEMU's syntax, which qdisk takes):
 * mon_host (hosts separated by ';'), id (the cephx user); key= is a
 * secret and is never kept. */
static bool
parse_rbd(struct xl_parser *x, const struct xl_value *v, const char *shown, struct disk_spec *d,
          const char *t)
{
    g_auto(GStrv) parts = split_unescaped(t);
    bool had_key = false;

    d->protocol = g_strdup("rbd");
    d->hosts = g_ptr_array_new_with_free_func(g_free);
    if (parts[0] == NULL || !g_regex_match_simple("^[^/@\\s]+/[^/@\\s]+(@[^/@\\s]+)?$", parts[0], 0, 0)) {
        diag_error(x, v->line, v->col, "disk '%s': rbd: expected POOL/IMAGE after 'rbd:', got '%s'",
                   shown, parts[0] != NULL ? parts[0] : "");
        return false;
    }
    d->net_name = g_strdup(parts[0]);
    for (size_t i = 1; parts[i] != NULL; i++) {
        const char *p = parts[i];
        const char *eq = strchr(p, '=');
        g_autofree char *k = eq != NULL ? g_strndup(p, (gsize)(eq - p)) : g_strdup(p);

        if (eq == NULL) {
            diag_error(x, v->line, v->col, "disk '%s': rbd: expected OPTION=VALUE, got '%s'",
                       shown, p);
            return false;
        }
        if (strcmp(k, "mon_host") == 0) {
            g_auto(GStrv) hosts = g_strsplit(eq + 1, ";", -1);
            for (size_t j = 0; hosts[j] != NULL; j++) {
                g_strstrip(hosts[j]);
                if (hosts[j][0] == '\0')
                    continue;
                if (!valid_host(hosts[j])) {
                    diag_error(x, v->line, v->col,
                               "disk '%s': rbd: mon_host '%s' is not HOST or HOST:PORT", shown,
                               hosts[j]);
                    return false;
                }
                g_ptr_array_add(d->hosts, g_strdup(hosts[j]));
            }
        } else if (strcmp(k, "id") == 0) {
            g_free(d->auth_user);
            d->auth_user = g_strdup(eq + 1);
        } else if (strcmp(k, "key") == 0) {
            had_key = true;
        } else if (strcmp(k, "auth_supported") == 0 || strcmp(k, "conf") == 0 ||
                   strcmp(k, "keyring") == 0) {
            diag_warning(x, v->line, v->col,
                         "disk '%s': rbd option '%s' is not carried over: it names the Xen host's Ceph client configuration",
                         shown, k);
        } else {
            diag_warning(x, v->line, v->col, "disk '%s': rbd option '%s' is not carried over",
                         shown, k);
        }
    }
    if (had_key && d->auth_user == NULL)
        d->auth_user = g_strdup("admin");
    if (had_key)
        diag_warning(x, v->line, v->col,
                     "disk '%s': the cephx key is not carried over (secrets never enter plans); define a libvirt secret of type ceph, usage 'client.%s secret', on the KVM host",
                     shown, d->auth_user);
    return true;
}

/* nbd:HOST:PORT[:exportname=NAME] or nbd:unix:PATH[:exportname=NAME]. */
static bool
parse_nbd(struct xl_parser *x, const struct xl_value *v, const char *shown, struct disk_spec *d,
          const char *t)
{
    g_auto(GStrv) parts = split_unescaped(t);
    size_t i = 0;

    d->protocol = g_strdup("nbd");
    d->hosts = g_ptr_array_new_with_free_func(g_free);
    if (parts[0] != NULL && strcmp(parts[0], "unix") == 0 && parts[1] != NULL &&
        parts[1][0] == '/') {
        g_ptr_array_add(d->hosts, g_strconcat("unix:", parts[1], NULL));
        i = 2;
    } else if (parts[0] != NULL && parts[1] != NULL && valid_host(parts[0]) &&
               g_regex_match_simple("^[0-9]{1,5}$", parts[1], 0, 0)) {
        g_ptr_array_add(d->hosts, g_strconcat(parts[0], ":", parts[1], NULL));
        i = 2;
    } else {
        diag_error(x, v->line, v->col,
                   "disk '%s': nbd: expected nbd:HOST:PORT or nbd:unix:/PATH", shown);
        return false;
    }
    for (; parts[i] != NULL; i++) {
        if (g_str_has_prefix(parts[i], "exportname=")) {
            g_free(d->net_name);
            d->net_name = g_strdup(parts[i] + strlen("exportname="));
        } else {
            diag_error(x, v->line, v->col, "disk '%s': nbd: unknown option '%s'", shown,
                       parts[i]);
            return false;
        }
    }
    return true;
}

/* iscsi://[USER[%PASSWORD]@]HOST[:PORT]/IQN/LUN; the password is a
 * secret and is never kept. */
static bool
parse_iscsi(struct xl_parser *x, const struct xl_value *v, const char *shown, struct disk_spec *d,
            const char *t)
{
    g_autoptr(GMatchInfo) m = NULL;
    g_autoptr(GRegex) re = g_regex_new("^(?:([^@%/]+)(%[^@/]*)?@)?([^/@]+)/([^/]+/[0-9]+)$", 0, 0,
                                       NULL);

    d->protocol = g_strdup("iscsi");
    d->hosts = g_ptr_array_new_with_free_func(g_free);
    if (!g_regex_match(re, t, 0, &m)) {
        diag_error(x, v->line, v->col,
                   "disk '%s': iscsi: expected iscsi://[USER@]HOST[:PORT]/IQN/LUN", shown);
        return false;
    }
    g_autofree char *user = g_match_info_fetch(m, 1);
    g_autofree char *pass = g_match_info_fetch(m, 2);
    g_autofree char *host = g_match_info_fetch(m, 3);
    if (!valid_host(host)) {
        diag_error(x, v->line, v->col, "disk '%s': iscsi: '%s' is not HOST or HOST:PORT", shown,
                   host);
        return false;
    }
    g_ptr_array_add(d->hosts, g_steal_pointer(&host));
    d->net_name = g_match_info_fetch(m, 4);
    if (user != NULL && user[0] != '\0') {
        d->auth_user = g_steal_pointer(&user);
        diag_warning(x, v->line, v->col,
                     "disk '%s': the iSCSI CHAP password is not carried over (secrets never enter plans); define a libvirt secret of type iscsi, usage '%s iscsi', on the KVM host",
                     shown, d->auth_user);
    }
    (void)pass;
    return true;
}

/* A network target (rbd:, nbd:, iscsi://), or false with d untouched
 * when t is none.  *ok is false when it is one and is malformed. */
static bool
parse_network_target(struct xl_parser *x, const struct xl_value *v, const char *shown,
                     struct disk_spec *d, const char *t, bool *ok)
{
    *ok = true;
    if (g_str_has_prefix(t, "rbd:"))
        *ok = parse_rbd(x, v, shown, d, t + strlen("rbd:"));
    else if (g_str_has_prefix(t, "nbd:"))
        *ok = parse_nbd(x, v, shown, d, t + strlen("nbd:"));
    else if (g_str_has_prefix(t, "iscsi://"))
        *ok = parse_iscsi(x, v, shown, d, t + strlen("iscsi://"));
    else if (g_regex_match_simple("^(gluster|sheepdog|http|https|ftp|ftps|tftp|ssh|vxhs)(\\+[a-z]+)?[:]",
                                  t, 0, 0)) {
        g_autofree char *proto = g_strndup(t, strcspn(t, ":+"));
        diag_error(x, v->line, v->col,
                   "disk '%s': network disks of protocol '%s' are not supported (rbd, nbd and iscsi are); copy the image to a file first",
                   shown, proto);
        *ok = false;
    } else {
        return false;
    }
    return true;
}

static bool
parse_disk_spec(struct xl_parser *x, const struct xl_value *v, struct disk_spec *d)
{
    const char *rest = v->text;
    const char *tpos = strstr(rest, "target=");
    g_autofree char *shown = disk_spec_shown(v->text);
    g_autofree char *head = NULL;
    g_auto(GStrv) parts = NULL;
    unsigned positional = 0;

    /* target= is last and takes the rest, commas and all */
    if (tpos != NULL && (tpos == rest || tpos[-1] == ',' || tpos[-1] == ' ')) {
        head = g_strndup(rest, (gsize)(tpos - rest));
        d->target = g_strdup(strip_prefix(d, tpos + strlen("target=")));
        d->format_from_prefix = false;
    } else {
        head = g_strdup(rest);
    }
    parts = split_spec(head);
    for (size_t i = 0; parts[i] != NULL; i++) {
        const char *p = parts[i];
        const char *eq = strchr(p, '=');

        if (parts[i + 1] == NULL && p[0] == '\0' && (i > 0 || tpos != NULL))
            break; /* trailing comma, or "…,target=" */
        if (eq != NULL) {
            g_autofree char *k = g_strndup(p, (gsize)(eq - p));
            const char *val = eq + 1;
            g_strstrip(k);
            if (strcmp(k, "format") == 0) {
                if (!set_once(x, v, shown, &d->format, "format", val))
                    return false;
            } else if (strcmp(k, "vdev") == 0) {
                if (!set_once(x, v, shown, &d->vdev, "vdev", val))
                    return false;
            } else if (strcmp(k, "access") == 0) {
                if (!set_once(x, v, shown, &d->access, "access", val))
                    return false;
            } else if (strcmp(k, "backendtype") == 0) {
                if (!set_once(x, v, shown, &d->backendtype, "backendtype", val))
                    return false;
            } else if (strcmp(k, "devtype") == 0) {
                if (strcmp(val, "cdrom") != 0 && strcmp(val, "disk") != 0) {
                    diag_error(x, v->line, v->col,
                               "disk '%s': devtype: expected cdrom or disk, got '%s'", shown,
                               val);
                    return false;
                }
                d->cdrom = strcmp(val, "cdrom") == 0;
            } else if (strcmp(k, "script") == 0 || strcmp(k, "backend") == 0 ||
                       strcmp(k, "discard") == 0 || strcmp(k, "direct-io-safe") == 0 ||
                       strcmp(k, "colo-host") == 0 || strcmp(k, "colo-port") == 0 ||
                       strcmp(k, "colo-export") == 0 || strcmp(k, "active-disk") == 0 ||
                       strcmp(k, "hidden-disk") == 0 || strcmp(k, "specification") == 0 ||
                       strcmp(k, "trusted") == 0) {
                diag_warning(x, v->line, v->col, "disk '%s': '%s' is not carried over to KVM",
                             shown, k);
            } else {
                diag_warning(x, v->line, v->col, "disk '%s': unknown parameter '%s' (ignored)",
                             shown, k);
            }
            continue;
        }
        if (strcmp(p, "cdrom") == 0 && positional >= 1) {
            d->cdrom = true;
            continue;
        }
        if (strcmp(p, "discard") == 0 || strcmp(p, "no-discard") == 0 ||
            strcmp(p, "direct-io-safe") == 0 || strcmp(p, "trusted") == 0 ||
            strcmp(p, "untrusted") == 0)
            continue;
        /* positional: target, format, vdev, access; the format may be
         * left out (xm's "target,vdev,access") */
        for (;;) {
            if (positional == 0) {
                positional++;
                if (d->target != NULL)
                    continue;
                d->target = g_strdup(strip_prefix(d, p));
                break;
            }
            if (positional == 1) {
                positional++;
                if (d->format_from_prefix || d->format != NULL ||
                    (!is_format(p) && looks_like_vdev(p)))
                    continue;
                if (p[0] != '\0')
                    d->format = g_strdup(p);
                break;
            }
            if (positional == 2) {
                positional++;
                if (d->vdev != NULL)
                    continue;
                if (p[0] != '\0')
                    d->vdev = g_strdup(p);
                break;
            }
            if (positional == 3) {
                positional++;
                if (d->access != NULL)
                    continue;
                if (p[0] != '\0')
                    d->access = g_strdup(p);
                break;
            }
            diag_error(x, v->line, v->col, "disk '%s': too many positional parameters at '%s'",
                       shown, p);
            return false;
        }
    }
    /* xm's "ioemu:hda": an emulated-only device; KVM emulates them all */
    if (d->vdev != NULL && g_str_has_prefix(d->vdev, "ioemu:"))
        memmove(d->vdev, d->vdev + strlen("ioemu:"), strlen(d->vdev) - strlen("ioemu:") + 1);
    /* legacy "hdc:cdrom" */
    if (d->vdev != NULL && g_str_has_suffix(d->vdev, ":cdrom")) {
        d->vdev[strlen(d->vdev) - strlen(":cdrom")] = '\0';
        d->cdrom = true;
    } else if (d->vdev != NULL && g_str_has_suffix(d->vdev, ":disk")) {
        d->vdev[strlen(d->vdev) - strlen(":disk")] = '\0';
    }
    if (d->vdev == NULL || d->vdev[0] == '\0') {
        diag_error(x, v->line, v->col, "disk '%s': no virtual device (vdev, e.g. xvda)", shown);
        return false;
    }
    if (!g_regex_match_simple("^(xvd|hd|sd|vd)[a-z]+[0-9]*$", d->vdev, 0, 0) &&
        !g_regex_match_simple("^d[0-9]+(p[0-9]+)?$", d->vdev, 0, 0)) {
        diag_error(x, v->line, v->col,
                   "disk '%s': vdev '%s' is not a Xen virtual device name (xvdX, hdX, sdX)",
                   shown, d->vdev);
        return false;
    }
    if (d->access != NULL && strcmp(d->access, "r") != 0 && strcmp(d->access, "ro") != 0 &&
        strcmp(d->access, "w") != 0 && strcmp(d->access, "rw") != 0) {
        diag_error(x, v->line, v->col, "disk '%s': access: expected ro, r, rw or w, got '%s'",
                   shown, d->access);
        return false;
    }
    if (d->format != NULL && !is_format(d->format)) {
        diag_error(x, v->line, v->col,
                   "disk '%s': format: expected raw, qcow2, qcow, vhd, qed or empty, got '%s'",
                   shown, d->format);
        return false;
    }
    if (d->target != NULL && d->target[0] != '\0') {
        bool ok = true;
        if (parse_network_target(x, v, shown, d, d->target, &ok) && !ok)
            return false;
        if (d->protocol != NULL && d->cdrom) {
            diag_error(x, v->line, v->col,
                       "disk '%s': a %s target cannot be a CD-ROM", shown, d->protocol);
            return false;
        }
    }
    return true;
}

static const char *
bus_of(const char *vdev)
{
    if (g_str_has_prefix(vdev, "hd"))
        return "ide";
    if (g_str_has_prefix(vdev, "sd"))
        return "scsi";
    if (g_str_has_prefix(vdev, "vd"))
        return "virtio";
    return "xen";
}

/* <source protocol=… name=…><host …/></source> and <auth> by reference. */
static void
add_network_source(xmlNode *disk, const struct disk_spec *d)
{
    xmlNode *src = child(disk, "source", NULL);

    attr(src, "protocol", d->protocol);
    if (d->net_name != NULL)
        attr(src, "name", d->net_name);
    for (guint i = 0; i < d->hosts->len; i++) {
        const char *h = d->hosts->pdata[i];
        xmlNode *host = child(src, "host", NULL);
        const char *colon;

        if (g_str_has_prefix(h, "unix:")) {
            attr(host, "transport", "unix");
            attr(host, "socket", h + strlen("unix:"));
            continue;
        }
        if (h[0] == '[') {
            const char *close = strchr(h, ']');
            g_autofree char *name = g_strndup(h + 1, (gsize)(close - h - 1));
            attr(host, "name", name);
            colon = close[1] == ':' ? close + 1 : NULL;
        } else {
            colon = strrchr(h, ':');
            g_autofree char *name = colon != NULL ? g_strndup(h, (gsize)(colon - h)) : g_strdup(h);
            attr(host, "name", name);
        }
        if (colon != NULL)
            attr(host, "port", colon + 1);
        else if (strcmp(d->protocol, "rbd") == 0)
            attr(host, "port", "6789");
    }
    if (d->auth_user != NULL) {
        xmlNode *auth = child(disk, "auth", NULL);
        xmlNode *sec;
        g_autofree char *usage = strcmp(d->protocol, "rbd") == 0
                                     ? g_strdup_printf("client.%s secret", d->auth_user)
                                     : g_strdup_printf("%s iscsi", d->auth_user);
        attr(auth, "username", d->auth_user);
        sec = child(auth, "secret", NULL);
        attr(sec, "type", strcmp(d->protocol, "rbd") == 0 ? "ceph" : "iscsi");
        attr(sec, "usage", usage);
    }
}

static void
add_disk(xmlNode *devs, const struct disk_spec *d)
{
    xmlNode *disk = child(devs, "disk", NULL);
    xmlNode *drv;
    const char *target = d->target != NULL ? d->target : "";
    bool empty = target[0] == '\0' || g_strcmp0(d->format, "empty") == 0;
    bool block;
    const char *driver;

    if (g_strcmp0(d->backendtype, "phy") == 0)
        block = true;
    else if (d->backendtype != NULL)
        block = false;
    else
        block = g_str_has_prefix(target, "/dev/");
    if (d->backendtype == NULL)
        driver = block ? "phy" : "qemu";
    else if (strcmp(d->backendtype, "qdisk") == 0)
        driver = "qemu";
    else
        driver = d->backendtype;

    attr(disk, "type", d->protocol != NULL ? "network" : block ? "block" : "file");
    attr(disk, "device", d->cdrom ? "cdrom" : "disk");
    drv = child(disk, "driver", NULL);
    attr(drv, "name", d->protocol != NULL ? "qemu" : driver);
    attr(drv, "type", d->format != NULL && strcmp(d->format, "empty") != 0 ? d->format : "raw");
    if (d->protocol != NULL) {
        add_network_source(disk, d);
    } else if (!empty) {
        xmlNode *src = child(disk, "source", NULL);
        attr(src, block ? "dev" : "file", target);
    }
    xmlNode *t = child(disk, "target", NULL);
    attr(t, "dev", d->vdev);
    attr(t, "bus", bus_of(d->vdev));
    if (d->cdrom || g_strcmp0(d->access, "r") == 0 || g_strcmp0(d->access, "ro") == 0)
        child(disk, "readonly", NULL);
}

/* ------------------------------------------------------------------ */
/* Network interfaces (xl-network-configuration(5)) */

/* A vif's rate= ("10Mb/s", "1MB/s@20ms"): the average in KiB/s that
 * libvirt's <bandwidth> takes, or 0 when rate is malformed. */
static guint64
rate_kib(const char *rate)
{
    g_autoptr(GRegex) re = g_regex_new("^([0-9]+)([KMG]?)([Bb])/s(@[0-9]+(us|ms|s)?)?$", 0, 0, NULL);
    g_autoptr(GMatchInfo) m = NULL;
    guint64 n = 0;
    guint64 mult = 1;

    if (!g_regex_match(re, rate, 0, &m))
        return 0;
    g_autofree char *num = g_match_info_fetch(m, 1);
    g_autofree char *scale = g_match_info_fetch(m, 2);
    g_autofree char *unit = g_match_info_fetch(m, 3);
    if (!g_ascii_string_to_unsigned(num, 10, 1, G_MAXUINT32, &n, NULL))
        return 0;
    mult = scale[0] == 'K' ? 1000 : scale[0] == 'M' ? 1000000 : scale[0] == 'G' ? 1000000000 : 1;
    n *= mult; /* per second, in B or b */
    if (unit[0] == 'b')
        n /= 8;
    return n / 1024 > 0 ? n / 1024 : 1;
}

static void
add_vif(struct xl_parser *x, xmlNode *devs, const struct xl_value *v, bool hvm)
{
    g_auto(GStrv) parts = split_spec(v->text);
    const char *mac = NULL;
    const char *bridge = NULL;
    const char *model = NULL;
    const char *vifname = NULL;
    const char *script = NULL;
    const char *ip = NULL;
    const char *rate = NULL;
    const char *mtu = NULL;
    xmlNode *nic;

    for (size_t i = 0; parts[i] != NULL; i++) {
        const char *p = parts[i];
        const char *eq = strchr(p, '=');
        g_autofree char *k = NULL;

        if (p[0] == '\0')
            continue;
        if (eq == NULL) {
            diag_warning(x, v->line, v->col, "vif '%s': '%s' is not KEY=VALUE (ignored)", v->text,
                         p);
            continue;
        }
        k = g_strndup(p, (gsize)(eq - p));
        if (strcmp(k, "mac") == 0) {
            mac = eq + 1;
        } else if (strcmp(k, "bridge") == 0) {
            bridge = eq + 1;
        } else if (strcmp(k, "model") == 0) {
            model = eq + 1;
        } else if (strcmp(k, "vifname") == 0) {
            vifname = eq + 1;
        } else if (strcmp(k, "script") == 0) {
            script = eq + 1;
        } else if (strcmp(k, "ip") == 0) {
            ip = eq + 1;
        } else if (strcmp(k, "rate") == 0) {
            rate = eq + 1;
        } else if (strcmp(k, "mtu") == 0) {
            mtu = eq + 1;
        } else if (strcmp(k, "type") == 0) {
            /* ioemu, vif or vif_ioemu: an emulated and/or PV NIC; the KVM
             * guest gets one NIC either way */
            if (strcmp(eq + 1, "ioemu") != 0 && strcmp(eq + 1, "vif") != 0 &&
                strcmp(eq + 1, "vif_ioemu") != 0)
                diag_warning(x, v->line, v->col, "vif '%s': unknown type '%s' (ignored)",
                             v->text, eq + 1);
        } else if (strcmp(k, "devid") == 0) {
            /* the Xen device number; NICs keep their order */
        } else if (strcmp(k, "backend") == 0 || strcmp(k, "gatewaydev") == 0 ||
                   strcmp(k, "accel") == 0 || strcmp(k, "forwarddev") == 0) {
            diag_warning(x, v->line, v->col,
                         "vif '%s': '%s' is not carried over: it names Xen host or driver-domain plumbing",
                         v->text, k);
        } else {
            diag_warning(x, v->line, v->col, "vif '%s': unknown parameter '%s' (ignored)", v->text,
                         k);
        }
    }
    if (mac != NULL && !g_regex_match_simple("^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$", mac, 0, 0)) {
        diag_error(x, v->line, v->col, "vif '%s': mac '%s' is not a MAC address (xx:xx:xx:xx:xx:xx)",
                   v->text, mac);
        return;
    }
    if (rate != NULL && rate_kib(rate) == 0) {
        diag_error(x, v->line, v->col,
                   "vif '%s': rate '%s' is not RATE/s[@INTERVAL] (e.g. 10Mb/s, 1MB/s@20ms)",
                   v->text, rate);
        return;
    }
    if (mtu != NULL && !g_regex_match_simple("^[1-9][0-9]{2,4}$", mtu, 0, 0)) {
        diag_error(x, v->line, v->col, "vif '%s': mtu '%s' is not a number of bytes", v->text,
                   mtu);
        return;
    }
    nic = child(devs, "interface", NULL);
    attr(nic, "type", "bridge");
    if (mac != NULL)
        attr(child(nic, "mac", NULL), "address", mac);
    /* xl's default bridge is xenbr0 (vif-bridge picks it) */
    attr(child(nic, "source", NULL), "bridge", bridge != NULL ? bridge : "xenbr0");
    if (rate != NULL) {
        g_autofree char *avg = g_strdup_printf("%" G_GUINT64_FORMAT, rate_kib(rate));
        xmlNode *bw = child(nic, "bandwidth", NULL);
        attr(child(bw, "outbound", NULL), "average", avg);
    }
    if (ip != NULL)
        attr(child(nic, "ip", NULL), "address", ip);
    if (script != NULL)
        attr(child(nic, "script", NULL), "path", script);
    if (vifname != NULL)
        attr(child(nic, "target", NULL), "dev", vifname);
    if (model != NULL && hvm)
        attr(child(nic, "model", NULL), "type", model);
    if (mtu != NULL)
        attr(child(nic, "mtu", NULL), "size", mtu);
}

/* ------------------------------------------------------------------ */
/* Graphics */

struct vnc {
    bool on;
    const char *listen;
    const char *display;
    const char *keymap;
    bool passwd;
};

static void
vnc_from_vfb(struct xl_parser *x, const struct xl_value *v, struct vnc *g, char ***keep)
{
    g_auto(GStrv) parts = split_spec(v->text);

    for (size_t i = 0; parts[i] != NULL; i++) {
        const char *p = parts[i];
        const char *eq = strchr(p, '=');
        g_autofree char *k = NULL;

        if (p[0] == '\0' || eq == NULL)
            continue;
        k = g_strndup(p, (gsize)(eq - p));
        if (strcmp(k, "vnc") == 0)
            g->on = strcmp(eq + 1, "0") != 0;
        else if (strcmp(k, "vnclisten") == 0)
            g->listen = eq + 1;
        else if (strcmp(k, "vncdisplay") == 0)
            g->display = eq + 1;
        else if (strcmp(k, "keymap") == 0)
            g->keymap = eq + 1;
        else if (strcmp(k, "vncpasswd") == 0)
            g->passwd = true;
        else if (strcmp(k, "sdl") == 0 && strcmp(eq + 1, "0") != 0)
            diag_warning(x, v->line, v->col, "vfb: 'sdl' is not carried over to KVM: Xen's SDL window has no KVM counterpart (use VNC)");
    }
    /* the strings point into parts: keep them alive with the parser */
    *keep = g_steal_pointer(&parts);
}

static void
add_vnc(struct xl_parser *x, xmlNode *devs, const struct vnc *g, unsigned line)
{
    xmlNode *gr = child(devs, "graphics", NULL);
    guint64 display = 0;

    attr(gr, "type", "vnc");
    if (g->display != NULL && parse_u64(g->display, &display) && display < 59636) {
        g_autofree char *port = g_strdup_printf("%" G_GUINT64_FORMAT, 5900 + display);
        attr(gr, "port", port);
        attr(gr, "autoport", "no");
    } else {
        attr(gr, "port", "-1");
        attr(gr, "autoport", "yes");
    }
    if (g->listen != NULL)
        attr(gr, "listen", g->listen);
    if (g->keymap != NULL)
        attr(gr, "keymap", g->keymap);
    if (g->listen != NULL) {
        xmlNode *l = child(gr, "listen", NULL);
        attr(l, "type", "address");
        attr(l, "address", g->listen);
    }
    if (g->passwd)
        diag_warning(x, line, 1,
                     "'vncpasswd' is not carried over to KVM: secrets never enter plans; set a VNC password on the KVM side");
}

/* ------------------------------------------------------------------ */
/* The domain */

/* Every key of xl.cfg(5) (Xen 4.x) and the xm keys real hosts still
 * carry, with what becomes of it.  reason NULL: build() converts it.
 * Otherwise the key is dropped with a warning naming it and the reason.
 * A key not listed is "unknown" (also a warning).  tests/sources/
 * test-xl-keys.c walks the manual's list against this table. */
struct xl_key {
    const char *key;
    const char *reason;
};

#define R_SCHED "CPU pools, pinning and scheduler weights are Xen host policy (set <cputune> on the KVM host if needed)"
#define R_XEN "it tunes a Xen hypervisor interface KVM does not have"
#define R_DM "it selects or tunes Xen's device model; libvirt runs QEMU itself on KVM"
#define R_XSM "an XSM/Flask label means nothing to KVM (libvirt uses sVirt)"
#define R_HOSTACC "it grants raw host resources on the Xen host; pass devices with <hostdev> on the KVM host"
#define R_PVDEV "a Xen paravirtual device class KVM has no equivalent for"
#define R_ARM "an Arm option; convoy converts x86 guests"
#define R_PAGING "Xen paging and memory-layout tuning; KVM manages it"
#define R_TIME "Xen time-virtualisation tuning; the KVM guest gets libvirt's default timers"
#define R_FW "it names Xen firmware or a file on the Xen host"
#define R_SPICE "SPICE is not converted; the guest keeps VNC or gets no remote display"
#define R_SHIM "the PV shim only exists on Xen"
#define R_BOOTL "it restricts Xen's host-side bootloader; KVM boots the guest's own bootloader"
#define R_ACPI "ACPI/SMBIOS table tuning; KVM's firmware builds its own tables"
#define R_EVENT "the action for a Xen event KVM does not raise"
#define R_USBPV "Xen PV USB controllers and host USB devices are not converted; attach USB devices on the KVM host"
#define R_SOUND "sound devices are not converted"
#define R_CPUID "a CPUID policy in Xen's syntax; set <cpu> features on the KVM host if the guest needs them"

static const struct xl_key xl_keys[] = {
    /* converted */
    {"name", NULL}, {"uuid", NULL}, {"type", NULL}, {"builder", NULL},
    {"memory", NULL}, {"maxmem", NULL}, {"vcpus", NULL}, {"maxvcpus", NULL},
    {"vnuma", NULL}, {"on_poweroff", NULL}, {"on_reboot", NULL}, {"on_crash", NULL},
    {"kernel", NULL}, {"ramdisk", NULL}, {"cmdline", NULL}, {"root", NULL},
    {"extra", NULL}, {"firmware", NULL}, {"bios", NULL}, {"bootloader", NULL},
    {"bootloader_args", NULL}, {"boot", NULL}, {"disk", NULL}, {"vif", NULL},
    {"vfb", NULL}, {"channel", NULL}, {"pci", NULL}, {"pae", NULL}, {"acpi", NULL},
    {"apic", NULL}, {"viridian", NULL}, {"localtime", NULL}, {"stdvga", NULL},
    {"vga", NULL}, {"videoram", NULL}, {"vnc", NULL}, {"vnclisten", NULL},
    {"vncdisplay", NULL}, {"vncunused", NULL}, {"vncpasswd", NULL}, {"keymap", NULL},
    {"sdl", NULL}, {"serial", NULL}, {"usb", NULL}, {"usbdevice", NULL},
    {"cdrom", NULL}, /* xm */
    /* dropped, with the reason */
    {"pool", R_SCHED}, {"cpus", R_SCHED}, {"cpus_soft", R_SCHED}, {"cpu_weight", R_SCHED},
    {"cap", R_SCHED},
    {"on_watchdog", R_EVENT}, {"on_soft_reset", R_EVENT}, {"on_xend_start", R_EVENT},
    {"on_xend_stop", R_EVENT},
    {"pvshim", R_SHIM}, {"pvshim_path", R_SHIM}, {"pvshim_cmdline", R_SHIM},
    {"pvshim_extra", R_SHIM},
    {"seclabel", R_XSM}, {"init_seclabel", R_XSM}, {"device_model_stubdomain_seclabel", R_XSM},
    {"max_grant_frames", R_XEN}, {"max_maptrack_frames", R_XEN}, {"max_grant_version", R_XEN},
    {"nomigrate", R_XEN}, {"driver_domain", R_XEN}, {"xend_suspend_evtchn_compat", R_XEN},
    {"vmtrace_buf_kb", R_XEN}, {"max_event_channels", R_XEN}, {"xen_platform_pci", R_XEN},
    {"hvm_pirq", R_XEN}, {"vendor_device", R_XEN}, {"altp2m", R_XEN}, {"altp2mhvm", R_XEN},
    {"nestedhvm", "nested virtualisation is a KVM host setting (kvm_intel nested=1 and <cpu mode='host-passthrough'>)"},
    {"e820_host", R_PAGING}, {"hap", R_PAGING}, {"oos", R_PAGING}, {"shadow_memory", R_PAGING},
    {"mmio_hole", R_PAGING}, {"rdm", R_PAGING}, {"rdm_mem_boundary", R_PAGING},
    {"vpmu", R_ARM}, {"device_tree", R_ARM}, {"dtdev", R_ARM}, {"tee", R_ARM},
    {"gic_version", R_ARM}, {"vuart", R_ARM}, {"sve", R_ARM}, {"virtio", R_ARM},
    {"passthrough", R_HOSTACC}, {"ioports", R_HOSTACC}, {"iomem", R_HOSTACC},
    {"irqs", R_HOSTACC}, {"pci_permissive", R_HOSTACC}, {"pci_msitranslate", R_HOSTACC},
    {"pci_seize", R_HOSTACC}, {"pci_power_mgmt", R_HOSTACC},
    {"gfx_passthru", "graphics passthrough needs the card and its ROM on the KVM host; pass it with <hostdev> there"},
    {"vtpm", "a Xen vTPM's state lives in its vTPM domain and cannot be moved; give the KVM guest a new <tpm> and re-seal what depended on the old one"},
    {"p9", R_PVDEV}, {"pvcalls", R_PVDEV}, {"vdispl", R_PVDEV}, {"vsnd", R_PVDEV},
    {"vkb", R_PVDEV}, {"vkb_device", R_PVDEV},
    {"usbctrl", R_USBPV}, {"usbdev", R_USBPV}, {"usbversion", R_USBPV},
    {"dm_restrict", R_DM}, {"device_model_user", R_DM}, {"device_model_version", R_DM},
    {"device_model_override", R_DM}, {"device_model", R_DM}, {"stubdomain_kernel", R_DM},
    {"stubdomain_cmdline", R_DM}, {"stubdomain_ramdisk", R_DM}, {"stubdomain_memory", R_DM},
    {"device_model_stubdomain_override", R_DM}, {"device_model_args", R_DM},
    {"device_model_args_pv", R_DM}, {"device_model_args_hvm", R_DM}, {"extra_hvm", R_DM},
    {"hdtype", "the KVM guest's disks move to virtio (and CD-ROMs to SATA) whatever Xen's IDE/AHCI choice"},
    {"bootloader_restrict", R_BOOTL}, {"bootloader_user", R_BOOTL},
    {"bios_path_override", R_FW}, {"acpi_firmware", R_FW}, {"smbios_firmware", R_FW},
    {"acpi_s3", R_ACPI}, {"acpi_s4", R_ACPI}, {"acpi_laptop_slate", R_ACPI}, {"smbios", R_ACPI},
    {"ms_vm_genid", R_ACPI},
    {"nx", "NX follows the KVM host CPU"},
    {"hpet", R_TIME}, {"tsc_mode", R_TIME}, {"rtc_timeoffset", R_TIME}, {"vpt_align", R_TIME},
    {"timer_mode", R_TIME},
    {"cpuid", R_CPUID}, {"mca_caps", R_CPUID}, {"msr_relaxed", R_CPUID},
    {"opengl", "the SDL/OpenGL display of Xen's device model is not converted"},
    {"nographic", "the KVM guest's display follows vnc= and vfb="},
    {"spice", R_SPICE}, {"spicehost", R_SPICE}, {"spiceport", R_SPICE},
    {"spicetls_port", R_SPICE}, {"spicedisable_ticketing", R_SPICE}, {"spicepasswd", R_SPICE},
    {"spiceagent_mouse", R_SPICE}, {"spicevdagent", R_SPICE}, {"spice_clipboard_sharing", R_SPICE},
    {"spiceusbredirection", R_SPICE}, {"spice_image_compression", R_SPICE},
    {"spice_streaming_video", R_SPICE},
    {"soundhw", R_SOUND},
    {"vif_script", "Xen's hotplug scripts do not run on KVM; networks come from the manifest's mapping"},
    {"vncconsole", "xm's viewer autostart; the KVM domain keeps its VNC display"},
    {"claim_mode", R_XEN},
};

/* The table's row for key, or NULL. */
static const struct xl_key *
xl_key_find(const char *key)
{
    for (size_t i = 0; i < G_N_ELEMENTS(xl_keys); i++) {
        if (strcmp(xl_keys[i].key, key) == 0)
            return &xl_keys[i];
    }
    return NULL;
}

static bool
in_list(const char *const *list, const char *key)
{
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strcmp(list[i], key) == 0)
            return true;
    }
    return false;
}

static const char *
lifecycle(struct xl_parser *x, const char *key, const char *dflt)
{
    static const char *const actions[] = {
        "destroy", "restart", "rename-restart", "preserve", "coredump-destroy",
        "coredump-restart", NULL,
    };
    const char *v = get_string(x, key);
    struct xl_setting *s = g_hash_table_lookup(x->by_key, key);

    if (v == NULL)
        return dflt;
    if (strcmp(v, "soft-reset") == 0) {
        diag_warning(x, s->line, s->col, "%s = soft-reset is Xen-only; using 'restart'", key);
        return "restart";
    }
    if (!in_list(actions, v)) {
        diag_error(x, s->value->line, s->value->col,
                   "'%s': expected destroy, restart, rename-restart, preserve, coredump-destroy or coredump-restart, got '%s'",
                   key, v);
        return dflt;
    }
    return v;
}

enum guest_kind {
    GUEST_KIND_PV,
    GUEST_KIND_PVH,
    GUEST_KIND_HVM,
    GUEST_KIND_LAST,
};

static enum guest_kind
guest_kind(struct xl_parser *x)
{
    const char *type = get_string(x, "type");
    const char *builder = get_string(x, "builder");
    struct xl_setting *s;

    if (type != NULL) {
        s = g_hash_table_lookup(x->by_key, "type");
        if (strcmp(type, "pv") == 0)
            return GUEST_KIND_PV;
        if (strcmp(type, "pvh") == 0)
            return GUEST_KIND_PVH;
        if (strcmp(type, "hvm") == 0)
            return GUEST_KIND_HVM;
        diag_error(x, s->value->line, s->value->col, "'type': expected pv, pvh or hvm, got '%s'",
                   type);
        return GUEST_KIND_PV;
    }
    if (builder != NULL) {
        s = g_hash_table_lookup(x->by_key, "builder");
        if (strcmp(builder, "hvm") == 0)
            return GUEST_KIND_HVM;
        if (strcmp(builder, "generic") == 0 || strcmp(builder, "linux") == 0)
            return GUEST_KIND_PV;
        diag_error(x, s->value->line, s->value->col, "'builder': expected hvm or generic, got '%s'",
                   builder);
    }
    return GUEST_KIND_PV;
}

static void
build_os(struct xl_parser *x, xmlNode *dom, enum guest_kind kind)
{
    xmlNode *os;
    xmlNode *t;
    const char *kernel = get_string(x, "kernel");
    const char *ramdisk = get_string(x, "ramdisk");
    const char *cmdline = get_string(x, "cmdline");
    const char *root = get_string(x, "root");
    const char *extra = get_string(x, "extra");
    const char *bootloader = get_string(x, "bootloader");
    const char *firmware = get_string(x, "firmware");
    const char *bios = get_string(x, "bios");
    const char *boot = get_string(x, "boot");
    bool ovmf = g_strcmp0(firmware, "ovmf") == 0 || g_strcmp0(firmware, "uefi") == 0 ||
                g_strcmp0(bios, "ovmf") == 0;

    if (bootloader != NULL && kind != GUEST_KIND_HVM) {
        g_autoptr(GPtrArray) args = get_list(x, "bootloader_args");
        g_autoptr(GString) joined = g_string_new(NULL);

        child(dom, "bootloader", bootloader);
        for (guint i = 0; i < args->len; i++) {
            const struct xl_value *a = args->pdata[i];
            g_string_append_printf(joined, "%s%s", i ? " " : "", a->text);
        }
        if (joined->len != 0)
            child(dom, "bootloader_args", joined->str);
    } else {
        g_ptr_array_unref(get_list(x, "bootloader_args"));
    }
    os = child(dom, "os", NULL);
    switch (kind) {
    case GUEST_KIND_HVM:
        t = child(os, "type", "hvm");
        attr(t, "arch", "x86_64");
        attr(t, "machine", "xenfv");
        break;
    case GUEST_KIND_PVH:
        t = child(os, "type", "xenpvh");
        attr(t, "arch", "x86_64");
        attr(t, "machine", "xenpvh");
        break;
    case GUEST_KIND_PV:
    case GUEST_KIND_LAST:
    default:
        t = child(os, "type", "linux");
        attr(t, "arch", "x86_64");
        attr(t, "machine", "xenpv");
        break;
    }
    if (kind == GUEST_KIND_HVM) {
        xmlNode *l;
        if (ovmf) {
            l = child(os, "loader", "/usr/lib/xen/boot/ovmf.bin");
            attr(l, "readonly", "yes");
            attr(l, "type", "pflash");
        } else {
            l = child(os, "loader", "/usr/lib/xen/boot/hvmloader");
            attr(l, "type", "rom");
        }
    } else if (firmware != NULL || bios != NULL) {
        struct xl_setting *s = g_hash_table_lookup(x->by_key, firmware ? "firmware" : "bios");
        if (!(firmware != NULL && strcmp(firmware, "pvgrub64") == 0))
            diag_warning(x, s->line, s->col, "'%s' only applies to HVM guests (ignored)", s->key);
    }
    /* xm's HVM guests name the firmware as their kernel */
    if (kernel != NULL && kind == GUEST_KIND_HVM && g_str_has_suffix(kernel, "/hvmloader"))
        kernel = NULL;
    if (kernel != NULL)
        child(os, "kernel", kernel);
    if (ramdisk != NULL)
        child(os, "initrd", ramdisk);
    if (cmdline != NULL) {
        child(os, "cmdline", cmdline);
    } else if (root != NULL || extra != NULL) {
        g_autofree char *c = g_strdup_printf("%s%s%s%s", root ? "root=" : "", root ? root : "",
                                             root && extra ? " " : "", extra ? extra : "");
        child(os, "cmdline", c);
    }
    if (kind == GUEST_KIND_HVM) {
        const char *order = boot != NULL ? boot : "cd";
        for (const char *c = order; *c != '\0'; c++) {
            const char *dev = *c == 'c' ? "hd" : *c == 'd' ? "cdrom" : *c == 'n' ? "network"
                                            : *c == 'a' ? "fd" : NULL;
            if (dev == NULL) {
                struct xl_setting *s = g_hash_table_lookup(x->by_key, "boot");
                diag_error(x, s->value->line, s->value->col,
                           "'boot': expected letters c (disk), d (CD-ROM), n (network) or a (floppy), got '%s'",
                           order);
                break;
            }
            attr(child(os, "boot", NULL), "dev", dev);
        }
    }
}

/* numa_mib: the vnodes' memory (0: no vnuma), which becomes maxmem;
 * *maxv_out gets the vCPU count. */
static void
build_memory(struct xl_parser *x, xmlNode *dom, guint64 numa_mib, guint64 *maxv_out)
{
    bool have_mem = false;
    bool have_max = false;
    bool have_vcpus = false;
    bool have_maxv = false;
    guint64 mem = get_uint(x, "memory", 16u * 1024 * 1024, &have_mem);
    guint64 max = get_uint(x, "maxmem", 16u * 1024 * 1024, &have_max);
    guint64 vcpus = get_uint(x, "vcpus", 4096, &have_vcpus);
    guint64 maxv = get_uint(x, "maxvcpus", 4096, &have_maxv);
    g_autofree char *kib_max = NULL;
    g_autofree char *kib_cur = NULL;
    g_autofree char *n = NULL;
    xmlNode *e;

    if (!have_mem)
        mem = numa_mib != 0 ? numa_mib : 128; /* xl's default */
    if (numa_mib != 0 && have_max && max != numa_mib) {
        struct xl_setting *s = g_hash_table_lookup(x->by_key, "maxmem");
        diag_error(x, s->value->line, s->value->col,
                   "'maxmem' is %" G_GUINT64_FORMAT " MB but the vnuma nodes add up to %" G_GUINT64_FORMAT " MB; they must match",
                   max, numa_mib);
    } else if (numa_mib != 0 && mem > numa_mib) {
        struct xl_setting *s = g_hash_table_lookup(x->by_key, "memory");
        diag_error(x, s->value->line, s->value->col,
                   "'memory' is %" G_GUINT64_FORMAT " MB but the vnuma nodes add up to only %" G_GUINT64_FORMAT " MB",
                   mem, numa_mib);
    }
    if (numa_mib != 0)
        max = numa_mib;
    else if (!have_max || max < mem)
        max = mem;
    if (!have_vcpus)
        vcpus = 1;
    if (!have_maxv || maxv < vcpus)
        maxv = vcpus;
    if (mem == 0 || vcpus == 0) {
        struct xl_setting *s = g_hash_table_lookup(x->by_key, mem == 0 ? "memory" : "vcpus");
        diag_error(x, s->value->line, s->value->col, "'%s' must be at least 1", s->key);
    }
    kib_max = g_strdup_printf("%" G_GUINT64_FORMAT, max * 1024);
    kib_cur = g_strdup_printf("%" G_GUINT64_FORMAT, mem * 1024);
    attr(child(dom, "memory", kib_max), "unit", "KiB");
    attr(child(dom, "currentMemory", kib_cur), "unit", "KiB");
    *maxv_out = maxv;
    n = g_strdup_printf("%" G_GUINT64_FORMAT, maxv);
    e = child(dom, "vcpu", n);
    attr(e, "placement", "static");
    if (maxv != vcpus) {
        g_autofree char *cur = g_strdup_printf("%" G_GUINT64_FORMAT, vcpus);
        attr(e, "current", cur);
    }
}

/* vnuma = [ [ "pnode=0", "size=2048", "vcpus=0-1", "vdistances=10,20" ], … ]:
 * a detached <cpu><numa> with one <cell> per vnode (memory in MiB,
 * distances as <sibling>s), or NULL when there is no vnuma.  *total_mib
 * gets the vnodes' memory, *max_cpu the highest vCPU they name. */
static xmlNode *
build_vnuma(struct xl_parser *x, guint64 *total_mib, guint64 *max_cpu)
{
    struct xl_setting *s = get(x, "vnuma");
    g_autoptr(GHashTable) seen_cpus = g_hash_table_new(g_direct_hash, g_direct_equal);
    xmlNode *cpu;
    xmlNode *numa;
    guint n;
    bool pnode_warned = false;

    *total_mib = 0;
    *max_cpu = 0;
    if (s == NULL)
        return NULL;
    if (s->value->kind != XL_KIND_LIST || s->value->items->len == 0) {
        diag_error(x, s->value->line, s->value->col,
                   "'vnuma': expected a list of vnode lists ([ [ \"size=…\", \"vcpus=…\" ], … ]), got %s",
                   kind_name(s->value->kind));
        return NULL;
    }
    n = s->value->items->len;
    cpu = xmlNewNode(NULL, (const xmlChar *)"cpu");
    numa = child(cpu, "numa", NULL);
    for (guint i = 0; i < n; i++) {
        const struct xl_value *node = s->value->items->pdata[i];
        const char *size = NULL;
        const char *vcpus = NULL;
        const char *dist = NULL;
        guint64 mib = 0;
        xmlNode *cell;

        if (node->kind != XL_KIND_LIST) {
            diag_error(x, node->line, node->col,
                       "'vnuma': vnode %u: expected a list of \"KEY=VALUE\" strings, got %s", i,
                       kind_name(node->kind));
            continue;
        }
        for (guint j = 0; j < node->items->len; j++) {
            const struct xl_value *o = node->items->pdata[j];
            const char *eq = o->kind == XL_KIND_STRING ? strchr(o->text, '=') : NULL;
            g_autofree char *k = eq != NULL ? g_strndup(o->text, (gsize)(eq - o->text)) : NULL;

            if (k == NULL) {
                diag_error(x, o->line, o->col, "'vnuma': vnode %u: expected \"KEY=VALUE\"", i);
                continue;
            }
            g_strstrip(k);
            if (strcmp(k, "size") == 0 || strcmp(k, "memory") == 0) {
                size = eq + 1;
            } else if (strcmp(k, "vcpus") == 0) {
                vcpus = eq + 1;
            } else if (strcmp(k, "vdistances") == 0 || strcmp(k, "vdistance") == 0) {
                dist = eq + 1;
            } else if (strcmp(k, "pnode") == 0) {
                if (!pnode_warned)
                    diag_warning(x, o->line, o->col,
                                 "'vnuma': pnode (the Xen host's NUMA node) is not carried over: the KVM host's nodes differ (pin with <numatune> there)");
                pnode_warned = true;
            } else {
                diag_error(x, o->line, o->col,
                           "'vnuma': vnode %u: unknown option '%s' (expected pnode, size, vcpus, vdistances)",
                           i, k);
            }
        }
        if (size == NULL || !parse_u64(size, &mib) || mib == 0 || mib > 16u * 1024 * 1024) {
            diag_error(x, node->line, node->col,
                       "'vnuma': vnode %u: expected size=MBYTES (at least 1)", i);
            continue;
        }
        if (vcpus == NULL ||
            !g_regex_match_simple("^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$", vcpus, 0, 0)) {
            diag_error(x, node->line, node->col,
                       "'vnuma': vnode %u: expected vcpus=LIST (e.g. 0-3,6)", i);
            continue;
        }
        {
            g_auto(GStrv) ranges = g_strsplit(vcpus, ",", -1);
            for (size_t r = 0; ranges[r] != NULL; r++) {
                guint64 lo = 0;
                guint64 hi = 0;
                char *dash = strchr(ranges[r], '-');
                if (dash != NULL)
                    *dash = '\0';
                if (!parse_u64(ranges[r], &lo) || lo > 4095 ||
                    (dash != NULL && (!parse_u64(dash + 1, &hi) || hi > 4095 || hi < lo))) {
                    diag_error(x, node->line, node->col,
                               "'vnuma': vnode %u: vcpus '%s': ranges go from low to high, below 4096",
                               i, vcpus);
                    break;
                }
                if (dash == NULL)
                    hi = lo;
                for (guint64 c = lo; c <= hi; c++) {
                    if (g_hash_table_contains(seen_cpus, GUINT_TO_POINTER(c + 1))) {
                        diag_error(x, node->line, node->col,
                                   "'vnuma': vCPU %" G_GUINT64_FORMAT " is in more than one vnode",
                                   c);
                        break;
                    }
                    g_hash_table_add(seen_cpus, GUINT_TO_POINTER(c + 1));
                }
                if (hi > *max_cpu)
                    *max_cpu = hi;
            }
        }
        *total_mib += mib;
        cell = child(numa, "cell", NULL);
        {
            g_autofree char *id = g_strdup_printf("%u", i);
            g_autofree char *m = g_strdup_printf("%" G_GUINT64_FORMAT, mib);
            attr(cell, "id", id);
            attr(cell, "cpus", vcpus);
            attr(cell, "memory", m);
            attr(cell, "unit", "MiB");
        }
        if (dist != NULL) {
            g_auto(GStrv) ds = g_strsplit(dist, ",", -1);
            xmlNode *dists;
            if (g_strv_length(ds) != n) {
                diag_error(x, node->line, node->col,
                           "'vnuma': vnode %u: vdistances has %u values, expected one per vnode (%u)",
                           i, g_strv_length(ds), n);
                continue;
            }
            dists = child(cell, "distances", NULL);
            for (guint d = 0; d < n; d++) {
                guint64 val = 0;
                g_autofree char *id = g_strdup_printf("%u", d);
                g_autofree char *vs = NULL;
                g_strstrip(ds[d]);
                if (!parse_u64(ds[d], &val) || val < 10 || val > 255) {
                    diag_error(x, node->line, node->col,
                               "'vnuma': vnode %u: distance '%s' is not a number from 10 to 255", i,
                               ds[d]);
                    break;
                }
                vs = g_strdup_printf("%" G_GUINT64_FORMAT, val);
                xmlNode *sib = child(dists, "sibling", NULL);
                attr(sib, "id", id);
                attr(sib, "value", vs);
            }
        }
    }
    return cpu;
}

/* serial = "pty" or [ "pty", "/dev/pts/5", … ]: one serial port per item,
 * each a pty on KVM ("none" leaves the port out); a Xen host device is
 * replaced, with a warning naming it. */
static void
build_serials(struct xl_parser *x, xmlNode *devs, bool hvm)
{
    g_autoptr(GPtrArray) serials = get_list(x, "serial");
    bool console = false;

    for (guint i = 0; i < serials->len; i++) {
        const struct xl_value *v = serials->pdata[i];
        g_autofree char *port = g_strdup_printf("%u", i);
        xmlNode *ser;

        if (strcmp(v->text, "none") == 0)
            continue;
        if (strcmp(v->text, "pty") != 0)
            diag_warning(x, v->line, v->col,
                         "serial '%s' is not carried over (a Xen host device); serial port %u of the KVM guest is a pty",
                         v->text, i);
        ser = child(devs, "serial", NULL);
        attr(ser, "type", "pty");
        attr(child(ser, "target", NULL), "port", port);
        if (i == 0)
            console = true;
    }
    if (hvm && console) {
        xmlNode *con = child(devs, "console", NULL);
        xmlNode *t;
        attr(con, "type", "pty");
        t = child(con, "target", NULL);
        attr(t, "type", "serial");
        attr(t, "port", "0");
    }
}

/* channel = [ "connection=pty|socket,name=NAME[,path=PATH]" ]: Xen PV
 * channels, as libvirt's Xen driver writes them (<target type='xen'>);
 * the rules make them virtio channels. */
static void
build_channels(struct xl_parser *x, xmlNode *devs)
{
    g_autoptr(GPtrArray) chans = get_list(x, "channel");

    for (guint i = 0; i < chans->len; i++) {
        const struct xl_value *v = chans->pdata[i];
        g_auto(GStrv) parts = split_spec(v->text);
        const char *name = NULL;
        const char *conn = NULL;
        const char *path = NULL;
        xmlNode *ch;
        xmlNode *t;

        for (size_t j = 0; parts[j] != NULL; j++) {
            const char *eq = strchr(parts[j], '=');
            g_autofree char *k = NULL;
            if (parts[j][0] == '\0')
                continue;
            if (eq == NULL) {
                diag_error(x, v->line, v->col, "channel '%s': '%s' is not KEY=VALUE", v->text,
                           parts[j]);
                return;
            }
            k = g_strstrip(g_strndup(parts[j], (gsize)(eq - parts[j])));
            if (strcmp(k, "name") == 0)
                name = g_strstrip((char *)eq + 1);
            else if (strcmp(k, "connection") == 0)
                conn = g_strstrip((char *)eq + 1);
            else if (strcmp(k, "path") == 0)
                path = g_strstrip((char *)eq + 1);
            else if (strcmp(k, "backend") == 0)
                diag_warning(x, v->line, v->col,
                             "channel '%s': 'backend' is not carried over: Xen driver domains do not exist on KVM",
                             v->text);
            else
                diag_warning(x, v->line, v->col, "channel '%s': unknown parameter '%s' (ignored)",
                             v->text, k);
        }
        if (name == NULL || name[0] == '\0') {
            diag_error(x, v->line, v->col, "channel '%s': name= is mandatory (e.g. name=org.qemu.guest_agent.0)",
                       v->text);
            continue;
        }
        if (conn == NULL || (g_ascii_strcasecmp(conn, "pty") != 0 &&
                             g_ascii_strcasecmp(conn, "socket") != 0)) {
            diag_error(x, v->line, v->col, "channel '%s': connection: expected pty or socket, got '%s'",
                       v->text, conn != NULL ? conn : "");
            continue;
        }
        if (g_ascii_strcasecmp(conn, "socket") == 0 && (path == NULL || path[0] != '/')) {
            diag_error(x, v->line, v->col,
                       "channel '%s': connection=socket needs path=/ABSOLUTE/PATH", v->text);
            continue;
        }
        ch = child(devs, "channel", NULL);
        if (g_ascii_strcasecmp(conn, "socket") == 0) {
            xmlNode *src;
            attr(ch, "type", "unix");
            src = child(ch, "source", NULL);
            attr(src, "mode", "bind");
            attr(src, "path", path);
        } else {
            attr(ch, "type", "pty");
        }
        t = child(ch, "target", NULL);
        attr(t, "type", "xen");
        attr(t, "name", name);
    }
}

/* xm's cdrom = "PATH": the HVM CD-ROM drive hdc ("" for an empty one). */
static void
build_xm_cdrom(struct xl_parser *x, xmlNode *devs, const GPtrArray *vdevs)
{
    const char *path = get_string(x, "cdrom");
    struct xl_setting *s = g_hash_table_lookup(x->by_key, "cdrom");
    struct disk_spec d = {0};

    if (path == NULL)
        return;
    for (guint i = 0; i < vdevs->len; i++) {
        if (strcmp(vdevs->pdata[i], "hdc") == 0) {
            diag_error(x, s->value->line, s->value->col,
                       "'cdrom' is xm's CD-ROM drive hdc, but a disk already uses hdc; move one of them");
            return;
        }
    }
    d.target = g_strdup(path);
    d.vdev = g_strdup("hdc");
    d.cdrom = true;
    if (path[0] != '\0' && path[0] != '/') {
        diag_error(x, s->value->line, s->value->col,
                   "'cdrom': expected an absolute path or \"\" (an empty drive), got '%s'", path);
        disk_spec_release(&d);
        return;
    }
    add_disk(devs, &d);
    disk_spec_release(&d);
}

/* pci = [ "[DDDD:]BB:DD.F[@VSLOT][,OPTION=…]" ]: host PCI devices, kept
 * as <hostdev> (the domain rules warn that they must exist on the KVM
 * host). */
static void
build_pci(struct xl_parser *x, xmlNode *devs)
{
    g_autoptr(GPtrArray) pcis = get_list(x, "pci");
    g_autoptr(GRegex) re = g_regex_new(
        "^(?:([0-9a-fA-F]{1,4}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\\.([0-7])(@[0-9a-fA-F]{1,2})?$",
        0, 0, NULL);

    for (guint i = 0; i < pcis->len; i++) {
        const struct xl_value *v = pcis->pdata[i];
        g_auto(GStrv) parts = split_spec(v->text);
        g_autoptr(GMatchInfo) m = NULL;
        xmlNode *hd;
        xmlNode *a;

        if (parts[0] == NULL || !g_regex_match(re, parts[0], 0, &m)) {
            diag_error(x, v->line, v->col,
                       "pci '%s': expected [DOMAIN:]BUS:SLOT.FUNCTION (e.g. 0000:03:00.0); a '*' function must be listed one by one",
                       v->text);
            continue;
        }
        g_autofree char *dom = g_match_info_fetch(m, 1);
        g_autofree char *bus = g_match_info_fetch(m, 2);
        g_autofree char *slot = g_match_info_fetch(m, 3);
        g_autofree char *fn = g_match_info_fetch(m, 4);
        g_autofree char *vslot = g_match_info_fetch(m, 5);
        g_autofree char *xdom = g_strdup_printf("0x%04x", dom != NULL && dom[0] != '\0'
                                                              ? (unsigned)g_ascii_strtoull(dom, NULL, 16)
                                                              : 0u);
        g_autofree char *xbus = g_strdup_printf("0x%02x", (unsigned)g_ascii_strtoull(bus, NULL, 16));
        g_autofree char *xslot = g_strdup_printf("0x%02x", (unsigned)g_ascii_strtoull(slot, NULL, 16));
        g_autofree char *xfn = g_strdup_printf("0x%s", fn);

        if (vslot != NULL && vslot[0] != '\0')
            diag_warning(x, v->line, v->col,
                         "pci '%s': the guest slot (@%s) is not carried over; libvirt places the device",
                         v->text, vslot + 1);
        for (size_t j = 1; parts[j] != NULL; j++) {
            if (parts[j][0] == '\0')
                continue;
            diag_warning(x, v->line, v->col,
                         "pci '%s': '%s' is not carried over: it is Xen's pciback policy",
                         v->text, parts[j]);
        }
        hd = child(devs, "hostdev", NULL);
        attr(hd, "mode", "subsystem");
        attr(hd, "type", "pci");
        attr(hd, "managed", "yes");
        a = child(child(hd, "source", NULL), "address", NULL);
        attr(a, "domain", xdom);
        attr(a, "bus", xbus);
        attr(a, "slot", xslot);
        attr(a, "function", xfn);
    }
}

/* HVM's emulated card: vga = "stdvga|cirrus|qxl|none" (or stdvga = 1),
 * videoram = MBYTES. */
static void
build_video(struct xl_parser *x, xmlNode *devs)
{
    const char *vga = get_string(x, "vga");
    bool stdvga = get_bool(x, "stdvga", false);
    bool have_ram = false;
    guint64 ram = get_uint(x, "videoram", 4096, &have_ram);
    const char *model = NULL;
    xmlNode *m;

    if (vga != NULL) {
        struct xl_setting *s = g_hash_table_lookup(x->by_key, "vga");
        if (strcmp(vga, "stdvga") == 0) {
            model = "vga";
        } else if (strcmp(vga, "cirrus") == 0 || strcmp(vga, "qxl") == 0 ||
                   strcmp(vga, "none") == 0) {
            model = vga;
        } else {
            diag_error(x, s->value->line, s->value->col,
                       "'vga': expected stdvga, cirrus, qxl or none, got '%s'", vga);
            return;
        }
    } else if (stdvga) {
        model = "vga";
    } else if (have_ram) {
        model = "cirrus"; /* Xen's default card */
    }
    if (model == NULL)
        return;
    m = child(child(devs, "video", NULL), "model", NULL);
    attr(m, "type", model);
    if (have_ram && strcmp(model, "none") != 0) {
        g_autofree char *kib = g_strdup_printf("%" G_GUINT64_FORMAT, ram * 1024);
        attr(m, "vram", kib);
    }
}

static void
build_devices(struct xl_parser *x, xmlNode *devs, enum guest_kind kind)
{
    bool hvm = kind == GUEST_KIND_HVM;
    g_autoptr(GPtrArray) disks = get_list(x, "disk");
    g_autoptr(GPtrArray) vifs = get_list(x, "vif");
    g_autoptr(GPtrArray) vfbs = get_list(x, "vfb");
    g_autoptr(GPtrArray) usbdevs = get_list(x, "usbdevice");
    g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    g_autoptr(GPtrArray) vdevs = g_ptr_array_new_with_free_func(g_free);
    struct vnc g = {0};
    unsigned vnc_line = 0;

    for (guint i = 0; i < disks->len; i++) {
        struct disk_spec d = {0};
        if (parse_disk_spec(x, disks->pdata[i], &d)) {
            add_disk(devs, &d);
            g_ptr_array_add(vdevs, g_strdup(d.vdev));
        }
        disk_spec_release(&d);
    }
    build_xm_cdrom(x, devs, vdevs);
    for (guint i = 0; i < vifs->len; i++)
        add_vif(x, devs, vifs->pdata[i], hvm);

    if (vfbs->len > 0) {
        char **parts = NULL;
        const struct xl_value *v = vfbs->pdata[0];
        vnc_from_vfb(x, v, &g, &parts);
        g_ptr_array_add(keep, parts);
        vnc_line = v->line;
        if (vfbs->len > 1)
            diag_warning(x, v->line, v->col, "only the first vfb is converted");
    }
    if (get_bool(x, "vnc", false)) {
        struct xl_setting *s = g_hash_table_lookup(x->by_key, "vnc");
        g.on = true;
        vnc_line = s->line;
    }
    if (g.listen == NULL)
        g.listen = get_string(x, "vnclisten");
    if (g.display == NULL)
        g.display = get_string(x, "vncdisplay");
    if (g.keymap == NULL)
        g.keymap = get_string(x, "keymap");
    if (get_string(x, "vncpasswd") != NULL)
        g.passwd = true;
    (void)get(x, "vncunused");
    if (get_bool(x, "sdl", false)) {
        struct xl_setting *s = g_hash_table_lookup(x->by_key, "sdl");
        diag_warning(x, s->line, s->col,
                     "'sdl' is not carried over to KVM: Xen's SDL window has no KVM counterpart (use VNC)");
    }

    for (guint i = 0; i < usbdevs->len; i++) {
        const struct xl_value *u = usbdevs->pdata[i];
        if (strcmp(u->text, "tablet") == 0 || strcmp(u->text, "mouse") == 0 ||
            strcmp(u->text, "keyboard") == 0) {
            xmlNode *in = child(devs, "input", NULL);
            attr(in, "type", u->text);
            attr(in, "bus", "usb");
        } else {
            diag_warning(x, u->line, u->col, "usbdevice '%s' is not carried over to KVM",
                         u->text);
        }
    }
    (void)get_bool(x, "usb", false);

    build_serials(x, devs, kind == GUEST_KIND_HVM);
    if (kind != GUEST_KIND_HVM) {
        xmlNode *con = child(devs, "console", NULL);
        xmlNode *t;
        attr(con, "type", "pty");
        t = child(con, "target", NULL);
        attr(t, "type", "xen");
        attr(t, "port", "0");
    }
    build_channels(x, devs);
    build_pci(x, devs);
    if (kind == GUEST_KIND_HVM) {
        build_video(x, devs);
    } else {
        (void)get(x, "vga");
        (void)get(x, "stdvga");
        (void)get(x, "videoram");
    }
    if (kind != GUEST_KIND_HVM || g.on) {
        const char *bus = kind == GUEST_KIND_HVM ? "ps2" : "xen";
        xmlNode *in = child(devs, "input", NULL);
        attr(in, "type", "mouse");
        attr(in, "bus", bus);
        in = child(devs, "input", NULL);
        attr(in, "type", "keyboard");
        attr(in, "bus", bus);
    }
    if (g.on)
        add_vnc(x, devs, &g, vnc_line);
}

/* viridian = BOOLEAN or [ "GROUP", "!GROUP", … ]: any group enabled turns
 * the enlightenments on (the rules give KVM's Hyper-V set). */
static bool
viridian(struct xl_parser *x)
{
    struct xl_setting *s = g_hash_table_lookup(x->by_key, "viridian");

    if (s != NULL && s->value->kind == XL_KIND_LIST) {
        g_autoptr(GPtrArray) groups = get_list(x, "viridian");
        for (guint i = 0; i < groups->len; i++) {
            const struct xl_value *g = groups->pdata[i];
            if (g->text[0] != '!')
                return true;
        }
        return false;
    }
    return get_bool(x, "viridian", false);
}

static xmlDoc *
build(struct xl_parser *x)
{
    g_autoptr(xmlDoc) doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNode *dom = xmlNewDocNode(doc, NULL, (const xmlChar *)"domain", NULL);
    xmlNode *features;
    xmlNode *clock;
    xmlNode *devs;
    const char *name = get_string(x, "name");
    const char *uuid = get_string(x, "uuid");
    enum guest_kind kind = guest_kind(x);
    bool localtime = get_bool(x, "localtime", false);
    guint64 numa_mib = 0;
    guint64 numa_max_cpu = 0;
    guint64 maxv = 0;
    xmlNode *numa = build_vnuma(x, &numa_mib, &numa_max_cpu);

    xmlDocSetRootElement(doc, dom);
    attr(dom, "type", "xen");
    if (name == NULL || name[0] == '\0') {
        diag_error(x, 1, 1, "missing required setting 'name'");
        name = "";
    }
    child(dom, "name", name);
    if (uuid != NULL) {
        struct xl_setting *s = g_hash_table_lookup(x->by_key, "uuid");
        if (!g_uuid_string_is_valid(uuid))
            diag_error(x, s->value->line, s->value->col, "'uuid': '%s' is not a UUID", uuid);
        else
            child(dom, "uuid", uuid);
    }
    build_memory(x, dom, numa_mib, &maxv);
    if (numa != NULL && numa_max_cpu >= maxv) {
        struct xl_setting *s = g_hash_table_lookup(x->by_key, "vnuma");
        diag_error(x, s->value->line, s->value->col,
                   "'vnuma' names vCPU %" G_GUINT64_FORMAT " but the guest has only %" G_GUINT64_FORMAT " vCPUs (vcpus/maxvcpus; the first is 0)",
                   numa_max_cpu, maxv);
    }
    build_os(x, dom, kind);
    if (kind == GUEST_KIND_HVM) {
        features = child(dom, "features", NULL);
        if (get_bool(x, "pae", true))
            child(features, "pae", NULL);
        if (get_bool(x, "acpi", true))
            child(features, "acpi", NULL);
        if (get_bool(x, "apic", true))
            child(features, "apic", NULL);
        if (viridian(x))
            child(features, "viridian", NULL);
    } else {
        (void)get(x, "pae");
        (void)get(x, "acpi");
        (void)get(x, "apic");
        (void)get(x, "viridian");
    }
    if (numa != NULL)
        xmlAddChild(dom, numa);
    clock = child(dom, "clock", NULL);
    attr(clock, "offset", localtime ? "localtime" : "utc");
    attr(clock, "adjustment", "reset");
    child(dom, "on_poweroff", lifecycle(x, "on_poweroff", "destroy"));
    child(dom, "on_reboot", lifecycle(x, "on_reboot", "restart"));
    child(dom, "on_crash", lifecycle(x, "on_crash", "destroy"));
    devs = child(dom, "devices", NULL);
    build_devices(x, devs, kind);
    return g_steal_pointer(&doc);
}

xmlDoc *
xl_cfg_parse(const char *name, const char *data, size_t len, GPtrArray *warnings, GError **error)
{
    struct xl_parser x = {
        .name = name,
        .p = data,
        .end = data + len,
        .line = 1,
        .col = 1,
    };
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(GPtrArray) settings = NULL;
    g_autoptr(GHashTable) by_key = NULL;
    g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(xl_diag_free);
    g_autoptr(GPtrArray) warns = g_ptr_array_new_with_free_func(xl_diag_free);
    g_autoptr(GString) text = g_string_new(NULL);

    if (len > XL_CFG_MAX_BYTES) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID,
                    "%s: error: xl.cfg of %zu bytes is larger than the limit of %u bytes", name,
                    len, XL_CFG_MAX_BYTES);
        return NULL;
    }
    settings = g_ptr_array_new_with_free_func(xl_setting_free);
    by_key = g_hash_table_new(g_str_hash, g_str_equal);
    x.settings = settings;
    x.by_key = by_key;
    x.errors = errors;
    x.warnings = warnings != NULL ? warns : NULL;
    parse_file(&x);
    if (x.n_errors == 0)
        doc = build(&x);
    for (guint i = 0; x.n_errors == 0 && i < settings->len; i++) {
        const struct xl_setting *s = settings->pdata[i];
        if (s->used)
            continue;
        const struct xl_key *k = xl_key_find(s->key);
        if (k != NULL && k->reason != NULL)
            diag_warning(&x, s->line, s->col, "'%s' is not carried over to KVM: %s", s->key,
                         k->reason);
        else if (k == NULL)
            diag_warning(&x, s->line, s->col, "unknown setting '%s' (ignored)", s->key);
    }
    g_ptr_array_sort(warns, xl_diag_cmp);
    for (guint i = 0; warnings != NULL && i < warns->len; i++) {
        struct xl_diag *d = warns->pdata[i];
        g_ptr_array_add(warnings, g_steal_pointer(&d->text));
    }
    if (x.n_errors > 0) {
        g_ptr_array_sort(errors, xl_diag_cmp);
        for (guint i = 0; i < errors->len; i++) {
            const struct xl_diag *d = errors->pdata[i];
            g_string_append_printf(text, "%s%s", i ? "\n" : "", d->text);
        }
        if (x.n_errors > XL_MAX_ERRORS)
            g_string_append_printf(text, "\n%s: error: %u more errors not shown", name,
                                   x.n_errors - XL_MAX_ERRORS);
        g_set_error_literal(error, CONVOY_ERROR, CONVOY_ERROR_INVALID, text->str);
        return NULL;
    }
    return g_steal_pointer(&doc);
}
