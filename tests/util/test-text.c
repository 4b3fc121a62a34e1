/* Unit tests of util/text: outside text made safe for terminals and
 * Markdown. */
#include "config.h"

#undef NDEBUG
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "util/text.h"

static void
check(char *got, const char *want)
{
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "got:      %s\nexpected: %s\n", got, want);
        abort();
    }
    g_free(got);
}

int
main(void)
{
    /* Terminals: escape sequences, controls, bidi overrides, bad UTF-8. */
    check(text_escape("web1", 0), "web1");
    check(text_escape(NULL, 0), "");
    check(text_escape("a\x1b[2Jb", 0), "a\\x1b[2Jb");
    check(text_escape("x\x07\x08\x7fy", 0), "x\\x07\\x08\\x7fy");
    check(text_escape("l1\nl2\tt\r", 0), "l1\\nl2\\tt\\r");
    check(text_escape("l1\nl2\tt\r", TEXT_ESCAPE_KEEP_LINES), "l1\nl2\tt\\r");
    check(text_escape("gnp.\xe2\x80\xae" "exe", 0), "gnp.\\u202eexe");
    check(text_escape("\xc2\x9b" "31m", 0), "\\u009b31m");
    check(text_escape("caf\xc3\xa9 \xe2\x86\x92 ok", 0), "caf\xc3\xa9 \xe2\x86\x92 ok");
    check(text_escape("bad\xff\xc3", 0), "bad\\xff\\xc3");
    /* Markdown: markup and HTML are text, a cell stays one cell. */
    check(text_markdown("<img src=x onerror=alert(1)>"),
          "&lt;img src=x onerror=alert(1)&gt;");
    check(text_markdown("a|b *c* _d_ [e](f) `g` ~h~ !i #j \\k &l"),
          "a\\|b \\*c\\* \\_d\\_ \\[e\\](f) \\`g\\` \\~h\\~ \\!i \\#j \\\\k &amp;l");
    check(text_markdown("two\nlines\x1b"), "two lines\\\\x1b");
    check(text_markdown("web1-kvm"), "web1-kvm");
    check(text_markdown_fence("plain"), "```");
    check(text_markdown_fence("a ```` b ``"), "`````");
    printf("text: ok\n");
    return 0;
}
