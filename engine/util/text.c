/* Escaping outside text for terminals and Markdown. */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "util/text.h"

/* Characters a terminal or a bidirectional renderer acts on. */
static bool
acts(gunichar c)
{
    return (c >= 0x80 && c <= 0x9f) || c == 0x061c || c == 0x200e ||
           c == 0x200f || c == 0x2028 || c == 0x2029 ||
           (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

static void
escape_into(GString *o, const char *s, unsigned flags)
{
    const char *p = s;

    while (*p != '\0') {
        unsigned char b = (unsigned char)*p;
        gunichar c;

        if (b < 0x20 || b == 0x7f) {
            if ((flags & TEXT_ESCAPE_KEEP_LINES) != 0 && (b == '\n' || b == '\t'))
                g_string_append_c(o, (char)b);
            else if (b == '\n')
                g_string_append(o, "\\n");
            else if (b == '\r')
                g_string_append(o, "\\r");
            else if (b == '\t')
                g_string_append(o, "\\t");
            else
                g_string_append_printf(o, "\\x%02x", b);
            p++;
            continue;
        }
        if (b < 0x80) {
            g_string_append_c(o, (char)b);
            p++;
            continue;
        }
        c = g_utf8_get_char_validated(p, -1);
        if (c == (gunichar)-1 || c == (gunichar)-2) {
            g_string_append_printf(o, "\\x%02x", b);
            p++;
            continue;
        }
        if (acts(c))
            g_string_append_printf(o, "\\u%04x", (unsigned)c);
        else
            g_string_append_len(o, p, g_utf8_next_char(p) - p);
        p = g_utf8_next_char(p);
    }
}

char *
text_escape(const char *s, unsigned flags)
{
    GString *o = g_string_new(NULL);

    if (s != NULL)
        escape_into(o, s, flags);
    return g_string_free(o, FALSE);
}

char *
text_markdown(const char *s)
{
    g_autofree char *plain = NULL;
    GString *o = g_string_new(NULL);

    if (s == NULL)
        return g_string_free(o, FALSE);
    /* Line breaks and tabs first become spaces, then the rest is made
     * visible. */
    plain = g_strdup(s);
    g_strdelimit(plain, "\n\r\t", ' ');
    g_autofree char *e = text_escape(plain, 0);
    for (const char *p = e; *p != '\0'; p++) {
        switch (*p) {
        case '&':
            g_string_append(o, "&amp;");
            break;
        case '<':
            g_string_append(o, "&lt;");
            break;
        case '>':
            g_string_append(o, "&gt;");
            break;
        case '\\': case '`': case '*': case '_': case '[': case ']':
        case '|': case '~': case '!': case '#':
            g_string_append_c(o, '\\');
            g_string_append_c(o, *p);
            break;
        default:
            g_string_append_c(o, *p);
            break;
        }
    }
    return g_string_free(o, FALSE);
}

char *
text_markdown_fence(const char *s)
{
    size_t longest = 0;
    size_t run = 0;

    for (const char *p = s != NULL ? s : ""; *p != '\0'; p++) {
        run = *p == '`' ? run + 1 : 0;
        longest = MAX(longest, run);
    }
    return g_strnfill(MAX(longest + 1, (size_t)3), '`');
}
