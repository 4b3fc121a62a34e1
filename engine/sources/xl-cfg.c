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

static struct xl_value *parse_value(struct xl_parser *x, bool in_list);

static struct xl_value *
parse_list(struct xl_parser *x)
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
        item = parse_value(x, true);
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

static struct xl_value *
parse_value(struct xl_parser *x, bool in_list)
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
        if (in_list) {
            diag_error(x, x->line, x->col, "lists cannot be nested");
            return NULL;
        }
        return parse_list(x);
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
        v = parse_value(x, false);
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
};

static void
disk_spec_release(struct disk_spec *d)
{
    g_free(d->target);
    g_free(d->format);
    g_free(d->vdev);
    g_free(d->access);
    g_free(d->backendtype);
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
set_once(struct xl_parser *x, const struct xl_value *v, char **field, const char *what,
         const char *value)
{
    if (*field != NULL) {
        diag_error(x, v->line, v->col, "disk '%s': '%s' is given twice", v->text, what);
        return false;
    }
    *field = g_strdup(value);
    return true;
}

static bool
parse_disk_spec(struct xl_parser *x, const struct xl_value *v, struct disk_spec *d)
{
    const char *rest = v->text;
    const char *tpos = strstr(rest, "target=");
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
                if (!set_once(x, v, &d->format, "format", val))
                    return false;
            } else if (strcmp(k, "vdev") == 0) {
                if (!set_once(x, v, &d->vdev, "vdev", val))
                    return false;
            } else if (strcmp(k, "access") == 0) {
                if (!set_once(x, v, &d->access, "access", val))
                    return false;
            } else if (strcmp(k, "backendtype") == 0) {
                if (!set_once(x, v, &d->backendtype, "backendtype", val))
                    return false;
            } else if (strcmp(k, "devtype") == 0) {
                if (strcmp(val, "cdrom") != 0 && strcmp(val, "disk") != 0) {
                    diag_error(x, v->line, v->col,
                               "disk '%s': devtype: expected cdrom or disk, got '%s'", v->text,
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
                             v->text, k);
            } else {
                diag_warning(x, v->line, v->col, "disk '%s': unknown parameter '%s' (ignored)",
                             v->text, k);
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
        /* positional: target, format, vdev, access */
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
                if (d->format_from_prefix || d->format != NULL)
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
                       v->text, p);
            return false;
        }
    }
    /* legacy "hdc:cdrom" */
    if (d->vdev != NULL && g_str_has_suffix(d->vdev, ":cdrom")) {
        d->vdev[strlen(d->vdev) - strlen(":cdrom")] = '\0';
        d->cdrom = true;
    } else if (d->vdev != NULL && g_str_has_suffix(d->vdev, ":disk")) {
        d->vdev[strlen(d->vdev) - strlen(":disk")] = '\0';
    }
    if (d->vdev == NULL || d->vdev[0] == '\0') {
        diag_error(x, v->line, v->col, "disk '%s': no virtual device (vdev, e.g. xvda)", v->text);
        return false;
    }
    if (!g_regex_match_simple("^(xvd|hd|sd|vd)[a-z]+[0-9]*$", d->vdev, 0, 0) &&
        !g_regex_match_simple("^d[0-9]+(p[0-9]+)?$", d->vdev, 0, 0)) {
        diag_error(x, v->line, v->col,
                   "disk '%s': vdev '%s' is not a Xen virtual device name (xvdX, hdX, sdX)",
                   v->text, d->vdev);
        return false;
    }
    if (d->access != NULL && strcmp(d->access, "r") != 0 && strcmp(d->access, "ro") != 0 &&
        strcmp(d->access, "w") != 0 && strcmp(d->access, "rw") != 0) {
        diag_error(x, v->line, v->col, "disk '%s': access: expected ro, r, rw or w, got '%s'",
                   v->text, d->access);
        return false;
    }
    if (d->format != NULL && strcmp(d->format, "raw") != 0 && strcmp(d->format, "qcow2") != 0 &&
        strcmp(d->format, "qcow") != 0 && strcmp(d->format, "vhd") != 0 &&
        strcmp(d->format, "qed") != 0 && strcmp(d->format, "empty") != 0) {
        diag_error(x, v->line, v->col,
                   "disk '%s': format: expected raw, qcow2, qcow, vhd, qed or empty, got '%s'",
                   v->text, d->format);
        return false;
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

    attr(disk, "type", block ? "block" : "file");
    attr(disk, "device", d->cdrom ? "cdrom" : "disk");
    drv = child(disk, "driver", NULL);
    attr(drv, "name", driver);
    attr(drv, "type", d->format != NULL && strcmp(d->format, "empty") != 0 ? d->format : "raw");
    if (!empty) {
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
        } else if (strcmp(k, "type") == 0 || strcmp(k, "backend") == 0 ||
                   strcmp(k, "rate") == 0 || strcmp(k, "gatewaydev") == 0 ||
                   strcmp(k, "devid") == 0 || strcmp(k, "mtu") == 0) {
            /* Xen plumbing with no KVM meaning */
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
    nic = child(devs, "interface", NULL);
    attr(nic, "type", "bridge");
    if (mac != NULL)
        attr(child(nic, "mac", NULL), "address", mac);
    /* xl's default bridge is xenbr0 (vif-bridge picks it) */
    attr(child(nic, "source", NULL), "bridge", bridge != NULL ? bridge : "xenbr0");
    if (ip != NULL)
        attr(child(nic, "ip", NULL), "address", ip);
    if (script != NULL)
        attr(child(nic, "script", NULL), "path", script);
    if (vifname != NULL)
        attr(child(nic, "target", NULL), "dev", vifname);
    if (model != NULL && hvm)
        attr(child(nic, "model", NULL), "type", model);
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
            diag_warning(x, v->line, v->col, "vfb: sdl is not carried over to KVM");
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
                     "the VNC password is not carried over (secrets never enter plans); set one on the KVM side");
}

/* ------------------------------------------------------------------ */
/* The domain */

/* Keys read by build(); the rest are listed as unknown. */
static const char *const known_keys[] = {
    "name", "uuid", "memory", "maxmem", "vcpus", "maxvcpus", "type", "builder",
    "bootloader", "bootloader_args", "kernel", "ramdisk", "extra", "cmdline", "root",
    "disk", "vif", "vfb", "vnc", "vnclisten", "vncdisplay", "vncunused", "vncpasswd",
    "keymap", "sdl", "serial", "on_poweroff", "on_reboot", "on_crash", "localtime",
    "usb", "usbdevice", "firmware", "bios", "boot", "acpi", "apic", "pae", "viridian",
    NULL,
};

/* Keys that are understood but mean nothing on KVM: listed as not
 * carried over, not as unknown. */
static const char *const xen_only_keys[] = {
    "device_model_version", "device_model_override", "device_model_stubdomain_override",
    "xen_platform_pci", "hap", "nx", "stdvga", "videoram", "vga", "cpus", "cpus_soft",
    "cpu_weight", "cap", "pool", "tsc_mode", "hpet", "nestedhvm", "shadow_memory",
    "vif_script", "extra_hvm", "seclabel", "pci", "pci_permissive", "e820_host",
    "gfx_passthru", "rtc_timeoffset", "soundhw", "opengl", "driver_domain", NULL,
};

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

static void
build_memory(struct xl_parser *x, xmlNode *dom)
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
        mem = 128; /* xl's default */
    if (!have_max || max < mem)
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
    n = g_strdup_printf("%" G_GUINT64_FORMAT, maxv);
    e = child(dom, "vcpu", n);
    attr(e, "placement", "static");
    if (maxv != vcpus) {
        g_autofree char *cur = g_strdup_printf("%" G_GUINT64_FORMAT, vcpus);
        attr(e, "current", cur);
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
    const char *serial = get_string(x, "serial");
    struct vnc g = {0};
    unsigned vnc_line = 0;

    for (guint i = 0; i < disks->len; i++) {
        struct disk_spec d = {0};
        if (parse_disk_spec(x, disks->pdata[i], &d))
            add_disk(devs, &d);
        disk_spec_release(&d);
    }
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
        diag_warning(x, s->line, s->col, "sdl is not carried over to KVM");
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

    if (serial != NULL && strcmp(serial, "pty") == 0) {
        xmlNode *ser = child(devs, "serial", NULL);
        attr(ser, "type", "pty");
        attr(child(ser, "target", NULL), "port", "0");
    } else if (serial != NULL) {
        struct xl_setting *s = g_hash_table_lookup(x->by_key, "serial");
        diag_warning(x, s->line, s->col,
                     "serial '%s' is not carried over; the KVM guest gets a pty serial console",
                     serial);
    }
    if (kind != GUEST_KIND_HVM) {
        xmlNode *con = child(devs, "console", NULL);
        xmlNode *t;
        attr(con, "type", "pty");
        t = child(con, "target", NULL);
        attr(t, "type", "xen");
        attr(t, "port", "0");
    } else if (serial != NULL && strcmp(serial, "pty") == 0) {
        xmlNode *con = child(devs, "console", NULL);
        xmlNode *t;
        attr(con, "type", "pty");
        t = child(con, "target", NULL);
        attr(t, "type", "serial");
        attr(t, "port", "0");
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
    build_memory(x, dom);
    build_os(x, dom, kind);
    if (kind == GUEST_KIND_HVM) {
        features = child(dom, "features", NULL);
        if (get_bool(x, "pae", true))
            child(features, "pae", NULL);
        if (get_bool(x, "acpi", true))
            child(features, "acpi", NULL);
        if (get_bool(x, "apic", true))
            child(features, "apic", NULL);
        if (get_bool(x, "viridian", false))
            child(features, "viridian", NULL);
    } else {
        (void)get(x, "pae");
        (void)get(x, "acpi");
        (void)get(x, "apic");
        (void)get(x, "viridian");
    }
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
        if (in_list(xen_only_keys, s->key))
            diag_warning(&x, s->line, s->col, "'%s' is Xen-specific and not carried over to KVM",
                         s->key);
        else if (!in_list(known_keys, s->key))
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
