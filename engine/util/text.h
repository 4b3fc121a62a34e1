/* Text from outside (tar member names, name_label, descriptions, source
 * XML values, error messages quoting them) made safe to show: on a
 * terminal (no control or bidirectional characters that it would act on)
 * and in Markdown (no markup). */
#pragma once

#include <glib.h>

enum text_escape_flags {
    /* Newlines and tabs pass through: multi-line text that convoy laid
     * out itself, with outside text in it. */
    TEXT_ESCAPE_KEEP_LINES = 1 << 0,
};

/* s with everything a terminal would act on made visible: C0 controls
 * and DEL as \xHH (\n, \r and \t as such), C1 controls, the Unicode line
 * separators and bidirectional controls (U+061C, U+200E, U+200F,
 * U+202A-U+202E, U+2066-U+2069) as \uHHHH, and bytes that are not UTF-8
 * as \xHH.  With TEXT_ESCAPE_KEEP_LINES, \n and \t are kept.  Returns a
 * new string ("" for NULL). */
char *text_escape(const char *s, unsigned flags);

/* s as inline Markdown that renders as the text itself, on one line:
 * text_escape()d, line breaks and tabs as spaces, &, < and > as HTML
 * entities, and \ ` * _ [ ] | ~ ! # backslash-escaped (so a table cell
 * stays one cell).  Returns a new string ("" for NULL). */
char *text_markdown(const char *s);

/* A backtick fence longer than any run of backticks in s (at least
 * three), for a Markdown code block holding s.  Returns a new string. */
char *text_markdown_fence(const char *s);
