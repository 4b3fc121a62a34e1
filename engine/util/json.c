/* Streaming JSON writer: stable output for plans, outputs and events. */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "util/json.h"

void
json_init(struct json *j, bool pretty)
{
    j->out = g_string_new(NULL);
    j->first = g_array_new(FALSE, FALSE, sizeof(gboolean));
    j->pretty = pretty;
    j->after_key = false;
}

void
json_release(struct json *j)
{
    if (j->out != NULL)
        g_string_free(j->out, TRUE);
    if (j->first != NULL)
        g_array_free(j->first, TRUE);
    j->out = NULL;
    j->first = NULL;
}

char *
json_steal(struct json *j)
{
    char *s = g_string_free(j->out, FALSE);
    j->out = g_string_new(NULL);
    g_array_set_size(j->first, 0);
    j->after_key = false;
    return s;
}

static void
newline(struct json *j)
{
    if (!j->pretty)
        return;
    g_string_append_c(j->out, '\n');
    for (guint i = 0; i < j->first->len; i++)
        g_string_append(j->out, "  ");
}

/* Separator before a value or key at the current level. */
static void
before_item(struct json *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (j->first->len == 0)
        return;
    gboolean *first = &g_array_index(j->first, gboolean, j->first->len - 1);
    if (!*first)
        g_string_append_c(j->out, ',');
    *first = FALSE;
    newline(j);
}

static void
open_level(struct json *j, char c)
{
    gboolean t = TRUE;

    before_item(j);
    g_string_append_c(j->out, c);
    g_array_append_val(j->first, t);
}

static void
close_level(struct json *j, char c)
{
    gboolean was_empty = g_array_index(j->first, gboolean, j->first->len - 1);

    g_array_set_size(j->first, j->first->len - 1);
    if (!was_empty)
        newline(j);
    g_string_append_c(j->out, c);
}

void
json_begin_object(struct json *j)
{
    open_level(j, '{');
}

void
json_end_object(struct json *j)
{
    close_level(j, '}');
}

void
json_begin_array(struct json *j)
{
    open_level(j, '[');
}

void
json_end_array(struct json *j)
{
    close_level(j, ']');
}

void
json_quote(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        switch (*p) {
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        default:
            if (*p < 0x20)
                g_string_append_printf(out, "\\u%04x", *p);
            else
                g_string_append_c(out, (char)*p);
        }
    }
    g_string_append_c(out, '"');
}

void
json_key(struct json *j, const char *key)
{
    before_item(j);
    json_quote(j->out, key);
    g_string_append(j->out, j->pretty ? ": " : ":");
    j->after_key = true;
}

void
json_string(struct json *j, const char *s)
{
    before_item(j);
    if (s == NULL)
        g_string_append(j->out, "null");
    else
        json_quote(j->out, s);
}

void
json_uint(struct json *j, uint64_t v)
{
    before_item(j);
    g_string_append_printf(j->out, "%" PRIu64, v);
}

void
json_int(struct json *j, int64_t v)
{
    before_item(j);
    g_string_append_printf(j->out, "%" PRId64, v);
}

void
json_double(struct json *j, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    before_item(j);
    g_string_append(j->out, g_ascii_formatd(buf, sizeof buf, "%.3f", v));
}

void
json_bool(struct json *j, bool v)
{
    before_item(j);
    g_string_append(j->out, v ? "true" : "false");
}

void
json_null(struct json *j)
{
    before_item(j);
    g_string_append(j->out, "null");
}

void
json_raw(struct json *j, const char *text)
{
    before_item(j);
    g_string_append(j->out, text);
}

void
json_kv_string(struct json *j, const char *key, const char *s)
{
    json_key(j, key);
    json_string(j, s);
}

void
json_kv_uint(struct json *j, const char *key, uint64_t v)
{
    json_key(j, key);
    json_uint(j, v);
}

void
json_kv_bool(struct json *j, const char *key, bool v)
{
    json_key(j, key);
    json_bool(j, v);
}

char *
json_lookup_string(const char *text, const char *key)
{
    g_autoptr(GString) needle = g_string_new(NULL);
    const char *p;
    GString *out;

    if (text == NULL)
        return NULL;
    json_quote(needle, key);
    g_string_append_c(needle, ':');
    p = strstr(text, needle->str);
    if (p == NULL)
        return NULL;
    p += needle->len;
    while (*p == ' ')
        p++;
    if (*p != '"')
        return NULL;
    out = g_string_new(NULL);
    for (p++; *p != '\0' && *p != '"'; p++) {
        if (*p != '\\') {
            g_string_append_c(out, *p);
            continue;
        }
        p++;
        switch (*p) {
        case 'n':
            g_string_append_c(out, '\n');
            break;
        case 't':
            g_string_append_c(out, '\t');
            break;
        case 'r':
            g_string_append_c(out, '\r');
            break;
        case 'u': {
            guint64 cp = 0;
            char hex[5] = {0};
            if (strlen(p + 1) < 4)
                break;
            memcpy(hex, p + 1, 4);
            g_ascii_string_to_unsigned(hex, 16, 0, 0xffff, &cp, NULL);
            g_string_append_unichar(out, (gunichar)cp);
            p += 4;
            break;
        }
        case '\0':
            p--;
            break;
        default:
            g_string_append_c(out, *p);
            break;
        }
    }
    return g_string_free(out, FALSE);
}
