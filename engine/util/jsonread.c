/* The JSON reader: a recursive-descent parser over a bounded depth. */
#include "config.h"

#include <string.h>

#include "util/error.h"
#include "util/jsonread.h"

struct parser {
    const char *name;
    const char *s;
    size_t len;
    size_t pos;
    GError **error;
};

static struct jval *parse_value(struct parser *p, unsigned depth);

static bool
fail(struct parser *p, const char *what)
{
    if (p->error != NULL && *p->error == NULL)
        g_set_error(p->error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "%s: invalid JSON at byte %zu: %s", p->name, p->pos, what);
    return false;
}

static void
skip_ws(struct parser *p)
{
    while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]) != NULL &&
           p->s[p->pos] != '\0')
        p->pos++;
}

static bool
literal(struct parser *p, const char *word)
{
    size_t n = strlen(word);

    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return fail(p, "unexpected character");
    p->pos += n;
    return true;
}

static int
hex4(struct parser *p)
{
    int v = 0;

    if (p->len - p->pos < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        int d = g_ascii_xdigit_value(p->s[p->pos + i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    p->pos += 4;
    return v;
}

/* A string at p->pos (which is '"'); returns a new UTF-8 string. */
static char *
parse_string(struct parser *p)
{
    g_autoptr(GString) out = g_string_new(NULL);

    p->pos++;
    while (p->pos < p->len) {
        unsigned char c = (unsigned char)p->s[p->pos++];

        if (c == '"') {
            if (!g_utf8_validate(out->str, (gssize)out->len, NULL)) {
                fail(p, "string is not UTF-8");
                return NULL;
            }
            return g_string_free(g_steal_pointer(&out), FALSE);
        }
        if (c < 0x20) {
            fail(p, "control character in string");
            return NULL;
        }
        if (c != '\\') {
            g_string_append_c(out, (char)c);
            continue;
        }
        if (p->pos >= p->len)
            break;
        c = (unsigned char)p->s[p->pos++];
        switch (c) {
        case '"': case '\\': case '/':
            g_string_append_c(out, (char)c);
            break;
        case 'b': g_string_append_c(out, '\b'); break;
        case 'f': g_string_append_c(out, '\f'); break;
        case 'n': g_string_append_c(out, '\n'); break;
        case 'r': g_string_append_c(out, '\r'); break;
        case 't': g_string_append_c(out, '\t'); break;
        case 'u': {
            int u = hex4(p);
            if (u >= 0xD800 && u <= 0xDBFF) {
                int lo = -1;
                if (p->len - p->pos >= 2 && p->s[p->pos] == '\\' &&
                    p->s[p->pos + 1] == 'u') {
                    p->pos += 2;
                    lo = hex4(p);
                }
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    fail(p, "unpaired surrogate");
                    return NULL;
                }
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            } else if (u < 0 || (u >= 0xDC00 && u <= 0xDFFF)) {
                fail(p, "bad \\u escape");
                return NULL;
            }
            if (u == 0) {
                fail(p, "NUL in string");
                return NULL;
            }
            g_string_append_unichar(out, (gunichar)u);
            break;
        }
        default:
            fail(p, "bad escape");
            return NULL;
        }
    }
    fail(p, "unterminated string");
    return NULL;
}

static bool
parse_number(struct parser *p, double *out)
{
    size_t start = p->pos;

    if (p->pos < p->len && p->s[p->pos] == '-')
        p->pos++;
    if (p->pos >= p->len || !g_ascii_isdigit(p->s[p->pos]))
        return fail(p, "bad number");
    if (p->s[p->pos] == '0')
        p->pos++;
    else
        while (p->pos < p->len && g_ascii_isdigit(p->s[p->pos]))
            p->pos++;
    if (p->pos < p->len && p->s[p->pos] == '.') {
        p->pos++;
        if (p->pos >= p->len || !g_ascii_isdigit(p->s[p->pos]))
            return fail(p, "bad number");
        while (p->pos < p->len && g_ascii_isdigit(p->s[p->pos]))
            p->pos++;
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
            p->pos++;
        if (p->pos >= p->len || !g_ascii_isdigit(p->s[p->pos]))
            return fail(p, "bad number");
        while (p->pos < p->len && g_ascii_isdigit(p->s[p->pos]))
            p->pos++;
    }
    g_autofree char *text = g_strndup(p->s + start, p->pos - start);
    *out = g_ascii_strtod(text, NULL);
    return true;
}

static void
jmember_free(struct jmember *m)
{
    g_free(m->key);
    jval_free(m->val);
    g_free(m);
}

static struct jval *
parse_container(struct parser *p, unsigned depth, bool object)
{
    g_autoptr(jval) v = g_new0(struct jval, 1);
    char close = object ? '}' : ']';

    v->type = object ? JVAL_OBJECT : JVAL_ARRAY;
    v->items = g_ptr_array_new_with_free_func(
        object ? (GDestroyNotify)jmember_free : (GDestroyNotify)jval_free);
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return g_steal_pointer(&v);
    }
    for (;;) {
        g_autofree char *key = NULL;

        skip_ws(p);
        if (object) {
            if (p->pos >= p->len || p->s[p->pos] != '"') {
                fail(p, "expected a member name");
                return NULL;
            }
            key = parse_string(p);
            if (key == NULL)
                return NULL;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') {
                fail(p, "expected ':'");
                return NULL;
            }
            p->pos++;
        }
        struct jval *item = parse_value(p, depth + 1);
        if (item == NULL)
            return NULL;
        if (object) {
            struct jmember *m = g_new0(struct jmember, 1);
            m->key = g_steal_pointer(&key);
            m->val = item;
            g_ptr_array_add(v->items, m);
        } else {
            g_ptr_array_add(v->items, item);
        }
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == close) {
            p->pos++;
            return g_steal_pointer(&v);
        }
        fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
        return NULL;
    }
}

static struct jval *
parse_value(struct parser *p, unsigned depth)
{
    g_autoptr(jval) v = NULL;

    if (depth > JSONREAD_MAX_DEPTH) {
        fail(p, "nested too deeply");
        return NULL;
    }
    skip_ws(p);
    if (p->pos >= p->len) {
        fail(p, "unexpected end");
        return NULL;
    }
    switch (p->s[p->pos]) {
    case '{':
        return parse_container(p, depth, true);
    case '[':
        return parse_container(p, depth, false);
    case '"': {
        char *s = parse_string(p);
        if (s == NULL)
            return NULL;
        v = g_new0(struct jval, 1);
        v->type = JVAL_STRING;
        v->str = s;
        return g_steal_pointer(&v);
    }
    case 't':
    case 'f':
        v = g_new0(struct jval, 1);
        v->type = JVAL_BOOL;
        v->b = p->s[p->pos] == 't';
        if (!literal(p, v->b ? "true" : "false"))
            return NULL;
        return g_steal_pointer(&v);
    case 'n':
        if (!literal(p, "null"))
            return NULL;
        v = g_new0(struct jval, 1);
        v->type = JVAL_NULL;
        return g_steal_pointer(&v);
    default:
        v = g_new0(struct jval, 1);
        v->type = JVAL_NUMBER;
        if (!parse_number(p, &v->num))
            return NULL;
        return g_steal_pointer(&v);
    }
}

struct jval *
jval_parse(const char *name, const char *text, gssize len, GError **error)
{
    struct parser p = {
        .name = name,
        .s = text,
        .len = len < 0 ? strlen(text) : (size_t)len,
        .error = error,
    };
    g_autoptr(jval) v = parse_value(&p, 0);

    if (v == NULL)
        return NULL;
    skip_ws(&p);
    if (p.pos != p.len) {
        fail(&p, "trailing data");
        return NULL;
    }
    return g_steal_pointer(&v);
}

void
jval_free(struct jval *v)
{
    if (v == NULL)
        return;
    g_free(v->str);
    if (v->items != NULL)
        g_ptr_array_unref(v->items);
    g_free(v);
}

const struct jval *
jval_get(const struct jval *v, const char *key)
{
    if (v == NULL || v->type != JVAL_OBJECT)
        return NULL;
    for (guint i = 0; i < v->items->len; i++) {
        const struct jmember *m = v->items->pdata[i];
        if (strcmp(m->key, key) == 0)
            return m->val;
    }
    return NULL;
}

const char *
jval_get_string(const struct jval *v, const char *key, const char *dflt)
{
    const struct jval *m = jval_get(v, key);

    return m != NULL && m->type == JVAL_STRING ? m->str : dflt;
}

double
jval_get_number(const struct jval *v, const char *key, double dflt)
{
    const struct jval *m = jval_get(v, key);

    return m != NULL && m->type == JVAL_NUMBER ? m->num : dflt;
}

bool
jval_get_bool(const struct jval *v, const char *key, bool dflt)
{
    const struct jval *m = jval_get(v, key);

    return m != NULL && m->type == JVAL_BOOL ? m->b : dflt;
}
