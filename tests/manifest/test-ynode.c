/* Unit tests of the YAML node tree (util/ynode): positions, anchors,
 * aliases, merge keys, duplicate keys, bounds, typed readers, ydiag and
 * "did you mean". */
#include "config.h"

#undef NDEBUG
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"
#include "util/ynode.h"

static int failures;

static void
dump(GString *s, const struct ynode *n)
{
    if (n->tag != NULL)
        g_string_append_printf(s, "!<%s> ", n->tag);
    switch (n->kind) {
    case YNODE_SCALAR:
        if (n->quoted)
            g_string_append_printf(s, "'%s'", n->value);
        else
            g_string_append(s, n->value);
        break;
    case YNODE_SEQUENCE:
        g_string_append_c(s, '[');
        for (guint i = 0; i < n->items->len; i++) {
            if (i > 0)
                g_string_append(s, ", ");
            dump(s, g_ptr_array_index(n->items, i));
        }
        g_string_append_c(s, ']');
        break;
    case YNODE_MAPPING:
        g_string_append_c(s, '{');
        for (guint i = 0; i < n->pairs->len; i++) {
            const struct ynode_pair *p = g_ptr_array_index(n->pairs, i);
            if (i > 0)
                g_string_append(s, ", ");
            dump(s, p->key);
            g_string_append(s, ": ");
            dump(s, p->value);
        }
        g_string_append_c(s, '}');
        break;
    case YNODE_LAST:
    default:
        assert(!"bad kind");
    }
    g_string_append_printf(s, "@%u:%u", n->pos.line, n->pos.col);
}

static const struct {
    const char *name;
    const char *yaml;
    const char *tree;    /* expected dump, or NULL */
    const char *error;   /* expected error message, or NULL */
} load_cases[] = {
    {"scalars", "a: 1\nb: [x, 'y', \"z\"]\n",
     "{a@1:1: 1@1:4, b@2:1: [x@2:5, 'y'@2:8, 'z'@2:13]@2:4}@1:1", NULL},
    {"block", "top:\n  - k: v\n    l: |\n      text\n",
     "{top@1:1: [{k@2:5: v@2:8, l@3:5: 'text\n'@3:8}@2:5]@2:3}@1:1", NULL},
    {"empty", "", NULL, NULL},
    {"empty-doc", "---\n# nothing\n", NULL, NULL},
    {"alias", "x: &a {k: v}\ny: *a\n",
     "{x@1:1: {k@1:8: v@1:11}@1:4, y@2:1: {k@1:8: v@1:11}@1:4}@1:1", NULL},
    {"merge", "base: &b {a: 1, b: 2}\nm:\n  <<: *b\n  b: 3\n  c: 4\n",
     "{base@1:1: {a@1:11: 1@1:14, b@1:17: 2@1:20}@1:7, m@2:1: {a@1:11: 1@1:14, b@4:3: 3@4:6, c@5:3: 4@5:6}@3:3}@1:1",
     NULL},
    {"merge-seq", "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc: {<<: [*a, *b], w: 0}\n",
     "{a@1:1: {x@1:8: 1@1:11, y@1:14: 1@1:17}@1:4, b@2:1: {y@2:8: 2@2:11, z@2:14: 2@2:17}@2:4, c@3:1: {x@1:8: 1@1:11, y@1:14: 1@1:17, z@2:14: 2@2:17, w@3:19: 0@3:22}@3:4}@1:1",
     NULL},
    {"merge-quoted-key", "a: {'<<': 1}\n", "{a@1:1: {'<<'@1:5: 1@1:11}@1:4}@1:1", NULL},
    {"merge-bad", "a: {<<: 1}\n", NULL,
     "t.yaml:1:9: error: '<<': expected a mapping or a sequence of mappings, got a scalar"},
    {"merge-bad-item", "a: {<<: [x]}\n", NULL,
     "t.yaml:1:10: error: '<<': expected a mapping to merge, got a scalar"},
    {"tags", "a: !!str 1\nb: !custom x\n",
     "{a@1:1: !<tag:yaml.org,2002:str> 1@1:4, b@2:1: !<!custom> x@2:4}@1:1", NULL},
    {"duplicate", "a: 1\nb: 2\na: 3\nb: 4\n", NULL,
     "t.yaml:3:1: error: duplicate key 'a'\nt.yaml:1:1: note: first defined here\nt.yaml:4:1: error: duplicate key 'b'\nt.yaml:2:1: note: first defined here"},
    {"non-scalar-key", "? [a]\n: 1\n", NULL,
     "t.yaml:1:3: error: expected a scalar key, got a sequence"},
    {"syntax", "a: [1, 2\n", NULL,
     "t.yaml:2:1: error: unclosed '[': expected ',' or ']' before this\nt.yaml:1:4: note: the '[' opens here"},
    {"syntax-colon", "a: b: c\n", NULL,
     "t.yaml:1:5: error: unexpected ':'; quote a value that contains ': ', or check the indentation of this line"},
    {"utf8", "a: \xff\n", NULL,
     "t.yaml:1:4: error: the file is not valid UTF-8 text (invalid leading UTF-8 octet); save it as UTF-8"},
    {"tab-indent", "a:\n\tb: 1\n", NULL,
     "t.yaml:2:1: error: tab character in indentation; YAML indents with spaces"},
    {"unclosed-brace", "a: {b: 1\nc: 2\n", NULL,
     "t.yaml:2:2: error: unclosed '{': expected ',' or '}' before this\nt.yaml:1:4: note: the '{' opens here"},
    {"unclosed-quote", "a: 1\nb: \"x\n", NULL,
     "t.yaml:2:4: error: unclosed quote: the file ends inside this quoted string"},
    {"two-docs", "a: 1\n---\nb: 2\n", NULL,
     "t.yaml:2:1: error: only one document is allowed per file"},
    {"undefined-alias", "a: *nope\n", NULL,
     "t.yaml:1:4: error: undefined alias 'nope'"},
    {"self-alias", "a: &x [*x]\n", NULL,
     "t.yaml:1:8: error: undefined alias 'x'"},
    {NULL, NULL, NULL, NULL},
};

static void
check(bool ok, const char *name, const char *what, const char *got,
      const char *want)
{
    if (ok)
        return;
    fprintf(stderr, "FAIL %s: %s\n  got:  %s\n  want: %s\n", name, what,
            got != NULL ? got : "(null)", want != NULL ? want : "(null)");
    failures++;
}

static void
test_load(void)
{
    for (size_t i = 0; load_cases[i].name != NULL; i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(ydoc) doc = ydoc_load_data("t.yaml", load_cases[i].yaml,
                                             strlen(load_cases[i].yaml),
                                             &err);
        const char *name = load_cases[i].name;
        if (load_cases[i].error != NULL) {
            check(doc == NULL && err != NULL && err->code == CONVOY_ERROR_INVALID &&
                  strcmp(err->message, load_cases[i].error) == 0,
                  name, "error", err != NULL ? err->message : "(loaded)",
                  load_cases[i].error);
            continue;
        }
        check(doc != NULL, name, "load", err != NULL ? err->message : NULL, "ok");
        if (doc == NULL)
            continue;
        g_autoptr(GString) s = g_string_new(NULL);
        if (doc->root != NULL)
            dump(s, doc->root);
        const char *want = load_cases[i].tree != NULL ? load_cases[i].tree : "";
        check(strcmp(s->str, want) == 0, name, "tree", s->str, want);
    }
}

/* An alias refers to the anchored node itself. */
static void
test_alias_shared(void)
{
    const char *y = "x: &a [1]\ny: *a\n";
    g_autoptr(GError) err = NULL;
    g_autoptr(ydoc) doc = ydoc_load_data("t.yaml", y, strlen(y), &err);
    assert(doc != NULL);
    assert(ynode_get(doc->root, "x") == ynode_get(doc->root, "y"));
    assert(ynode_get(doc->root, "z") == NULL);
    assert(ynode_get(ynode_get(doc->root, "x"), "x") == NULL);
    g_autofree char *pos = ynode_pos_str(ynode_get(doc->root, "y"));
    check(strcmp(pos, "t.yaml:1:4") == 0, "alias-shared", "pos", pos, "t.yaml:1:4");
}

/* Billion laughs: ten levels of ten aliases each. */
static void
test_laughs(void)
{
    g_autoptr(GString) y = g_string_new("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (int i = 1; i <= 9; i++) {
        g_string_append_printf(y, "l%d: &l%d [", i, i);
        for (int j = 0; j < 10; j++)
            g_string_append_printf(y, "%s*l%d", j > 0 ? ", " : "", i - 1);
        g_string_append(y, "]\n");
    }
    g_autoptr(GError) err = NULL;
    g_autoptr(ydoc) doc = ydoc_load_data("t.yaml", y->str, y->len, &err);
    const char *want = "t.yaml:7:10: error: document expands to more than 2000000 nodes (too many aliases)";
    check(doc == NULL && err != NULL && strcmp(err->message, want) == 0,
          "laughs", "error", err != NULL ? err->message : "(loaded)", want);
}

static void
test_depth(void)
{
    g_autoptr(GString) y = g_string_new(NULL);
    for (int i = 0; i < 100; i++)
        g_string_append_c(y, '[');
    for (int i = 0; i < 100; i++)
        g_string_append_c(y, ']');
    g_autoptr(GError) err = NULL;
    g_autoptr(ydoc) doc = ydoc_load_data("t.yaml", y->str, y->len, &err);
    const char *want = "t.yaml:1:65: error: nesting deeper than 64 levels";
    check(doc == NULL && err != NULL && strcmp(err->message, want) == 0,
          "depth", "error", err != NULL ? err->message : "(loaded)", want);
}

static void
test_size(void)
{
    size_t len = YNODE_MAX_BYTES + 1;
    g_autofree char *big = g_malloc(len);
    memset(big, ' ', len);
    g_autoptr(GError) err = NULL;
    g_autoptr(ydoc) doc = ydoc_load_data("t.yaml", big, len, &err);
    assert(doc == NULL);
    assert(err != NULL && err->code == CONVOY_ERROR_INVALID);
    assert(g_str_has_prefix(err->message, "t.yaml:1:1: error: file is too large"));
}

static void
test_file(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(ydoc) none = ydoc_load_file("/nonexistent/x.yaml", &err);
    assert(none == NULL && err != NULL && err->code == CONVOY_ERROR_IO);
    g_clear_error(&err);

    g_autofree char *path = NULL;
    int fd = g_file_open_tmp("ynode-XXXXXX.yaml", &path, &err);
    assert(fd >= 0);
    const char *y = "k: v\nk: w\n";
    assert(write(fd, y, strlen(y)) == (ssize_t)strlen(y));
    close(fd);
    g_autoptr(ydoc) doc = ydoc_load_file(path, &err);
    unlink(path);
    assert(doc == NULL && err != NULL);
    g_autofree char *want = g_strdup_printf("%s:2:1: error: duplicate key 'k'\n%s:1:1: note: first defined here", path, path);
    check(strcmp(err->message, want) == 0, "file", "error", err->message, want);
}

static const struct {
    const char *yaml;     /* document "v: <yaml>" */
    int as_bool;          /* -1 not a bool, else value */
    gint64 as_uint;       /* -1 not a uint */
    bool is_null;
} scalar_cases[] = {
    {"true", 1, -1, false},
    {"False", 0, -1, false},
    {"'true'", -1, -1, false},
    {"yes", -1, -1, false},
    {"0", -1, 0, false},
    {"42", -1, 42, false},
    {"18446744073709551615", -1, -1, false}, /* fits but -1 sentinel: see below */
    {"18446744073709551616", -1, -1, false},
    {"-1", -1, -1, false},
    {"0x10", -1, -1, false},
    {"\"42\"", -1, -1, false},
    {"!!int 7", -1, 7, false},
    {"", -1, -1, true},
    {"~", -1, -1, true},
    {"null", -1, -1, true},
    {"NULL", -1, -1, true},
    {"''", -1, -1, false},
    {"nil", -1, -1, false},
    {NULL, 0, 0, false},
};

static void
test_scalars(void)
{
    for (size_t i = 0; scalar_cases[i].yaml != NULL; i++) {
        g_autofree char *y = g_strdup_printf("v: %s\n", scalar_cases[i].yaml);
        g_autoptr(GError) err = NULL;
        g_autoptr(ydoc) doc = ydoc_load_data("t.yaml", y, strlen(y), &err);
        assert(doc != NULL);
        const struct ynode *v = ynode_get(doc->root, "v");
        assert(v != NULL);
        bool b = false;
        bool is_b = ynode_as_bool(v, &b);
        int got_b = is_b ? (int)b : -1;
        if (got_b != scalar_cases[i].as_bool) {
            fprintf(stderr, "FAIL bool '%s': got %d\n", scalar_cases[i].yaml, got_b);
            failures++;
        }
        guint64 u = 0;
        bool is_u = ynode_as_uint64(v, &u);
        if (i == 6) {
            /* The largest uint64 is accepted. */
            assert(is_u && u == G_MAXUINT64);
        } else {
            gint64 got_u = is_u ? (gint64)u : -1;
            if (got_u != scalar_cases[i].as_uint) {
                fprintf(stderr, "FAIL uint '%s': got %" G_GINT64_FORMAT "\n", scalar_cases[i].yaml, got_u);
                failures++;
            }
        }
        if (ynode_is_null(v) != scalar_cases[i].is_null) {
            fprintf(stderr, "FAIL null '%s'\n", scalar_cases[i].yaml);
            failures++;
        }
    }
}

static const struct {
    const char *word;
    const char *want;
} dym_cases[] = {
    {"disk_fromat", "disk_format"},
    {"disk_format", "disk_format"},
    {"Disk_Format", "disk_format"},
    {"alloction", "allocation"},
    {"target", "targets"},
    {"xyz", NULL},
    {"ab", "ac"},
    {"xy", NULL},
    {"zzzzzzzz", NULL},
    {NULL, NULL},
};

static void
test_did_you_mean(void)
{
    static const char *const cands[] = {
        "disk_format", "allocation", "targets", "rules", "start", "ac", NULL,
    };
    for (size_t i = 0; dym_cases[i].word != NULL; i++) {
        const char *got = ydid_you_mean(dym_cases[i].word, cands);
        bool ok = got == NULL ? dym_cases[i].want == NULL
                              : dym_cases[i].want != NULL && strcmp(got, dym_cases[i].want) == 0;
        check(ok, dym_cases[i].word, "did you mean", got, dym_cases[i].want);
    }
    assert(ydid_you_mean("x", NULL) == NULL);
}

static void
test_diag(void)
{
    const char *y = "a: 1\n";
    g_autoptr(GError) err = NULL;
    g_autoptr(ydoc) doc = ydoc_load_data("t.yaml", y, strlen(y), &err);
    const struct ynode *a = ynode_get(doc->root, "a");

    struct ydiag d;
    ydiag_init(&d, 2);
    assert(ydiag_finish(&d, &err));
    assert(err == NULL);
    ydiag_error(&d, a, "first '%s'", "x");
    ydiag_note(&d, doc->root, "here");
    ydiag_error(&d, NULL, "second");
    ydiag_error(&d, a, "third");
    ydiag_note(&d, a, "dropped");
    ydiag_error(&d, a, "fourth");
    assert(d.errors == 4);
    assert(!ydiag_finish(&d, &err));
    const char *want = "t.yaml:1:4: error: first 'x'\nt.yaml:1:1: note: here\nerror: second\n... and 2 more errors";
    check(strcmp(err->message, want) == 0, "diag", "message", err->message, want);
    assert(err->code == CONVOY_ERROR_INVALID);
    ydiag_release(&d);
    assert(strcmp(ynode_kind_name(YNODE_MAPPING), "mapping") == 0);
}

int
main(void)
{
    test_load();
    test_alias_shared();
    test_laughs();
    test_depth();
    test_size();
    test_file();
    test_scalars();
    test_did_you_mean();
    test_diag();
    if (failures != 0) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    return 0;
}
