/* The manifest golden-test driver: loads tests/manifest/<case>.yaml (or
 * <case>.d/) and compares the model dump with <case>.out, or the error
 * text with <case>.err.  Also converts YAML to JSON for the schema lint. */
#include "config.h"

#undef NDEBUG
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manifest/manifest.h"
#include "util/error.h"
#include "util/json.h"
#include "util/ynode.h"

#define EXIT_SKIP 77
#define EXIT_HARNESS 99

/* Plain scalars typed as YAML 1.2's core schema does. */
static void
scalar_json(struct json *j, const struct ynode *n)
{
    bool b = false;

    if (n->tag != NULL && strcmp(n->tag, "tag:yaml.org,2002:str") == 0) {
        json_string(j, n->value);
    } else if (ynode_is_null(n)) {
        json_null(j);
    } else if (ynode_as_bool(n, &b)) {
        json_bool(j, b);
    } else if (!n->quoted &&
               g_regex_match_simple("^-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][-+]?[0-9]+)?$", n->value, 0, 0)) {
        json_raw(j, n->value);
    } else {
        json_string(j, n->value);
    }
}

static void
node_json(struct json *j, const struct ynode *n)
{
    switch (n->kind) {
    case YNODE_SCALAR:
        scalar_json(j, n);
        break;
    case YNODE_SEQUENCE:
        json_begin_array(j);
        for (guint i = 0; i < n->items->len; i++)
            node_json(j, g_ptr_array_index(n->items, i));
        json_end_array(j);
        break;
    case YNODE_MAPPING:
        json_begin_object(j);
        for (guint i = 0; i < n->pairs->len; i++) {
            const struct ynode_pair *p = g_ptr_array_index(n->pairs, i);
            json_key(j, p->key->value);
            node_json(j, p->value);
        }
        json_end_object(j);
        break;
    case YNODE_LAST:
    default:
        break;
    }
}

static int
to_json(const char *path)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(ydoc) doc = ydoc_load_file(path, &err);
    if (doc == NULL) {
        fprintf(stderr, "%s\n", err->message);
        return 1;
    }
    struct json j;
    json_init(&j, true);
    if (doc->root == NULL)
        json_null(&j);
    else
        node_json(&j, doc->root);
    g_autofree char *text = json_steal(&j);
    json_release(&j);
    printf("%s\n", text);
    return 0;
}

static int
load(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(manifest) m = manifest_load((const char *const *)argv, (size_t)argc, &err);
    if (m == NULL) {
        fprintf(stderr, "%s\n", err->message);
        return 1;
    }
    return 0;
}

/* Replace every occurrence of from with to. */
static char *
replace_all(const char *s, const char *from, const char *to)
{
    g_auto(GStrv) parts = g_strsplit(s, from, -1);
    return g_strjoinv(to, parts);
}

static char *
run_case(const char *input, const char *cwd, bool *failed)
{
    g_autoptr(GError) err = NULL;
    const char *paths[] = {input};
    g_autoptr(manifest) m = manifest_load(paths, 1, &err);

    if (m == NULL) {
        *failed = true;
        return g_strdup_printf("%s\n", err->message);
    }
    *failed = false;
    g_autofree char *dump = manifest_dump(m);

    /* The dump is deterministic: a second load gives the same text. */
    g_autoptr(manifest) again = manifest_load(paths, 1, NULL);
    assert(again != NULL);
    g_autofree char *dump2 = manifest_dump(again);
    assert(strcmp(dump, dump2) == 0);

    return replace_all(dump, cwd, ".");
}

static int
golden(const char *name)
{
    g_autofree char *dir = g_build_filename(ABS_SRCDIR, "manifest", NULL);
    if (chdir(dir) != 0) {
        fprintf(stderr, "cannot enter '%s'\n", dir);
        return EXIT_HARNESS;
    }
    /* The environment the env-expansion cases rely on. */
    g_setenv("CONVOY_TEST_XS_HOST", "xs-a.example", TRUE);
    g_setenv("CONVOY_TEST_USER", "root", TRUE);
    g_setenv("CONVOY_TEST_FORMAT", "raw", TRUE);
    g_unsetenv("CONVOY_TEST_UNSET");

    g_autofree char *input = g_strdup_printf("%s.yaml", name);
    if (!g_file_test(input, G_FILE_TEST_EXISTS)) {
        g_free(input);
        input = g_strdup_printf("%s.d", name);
    }
    if (!g_file_test(input, G_FILE_TEST_EXISTS)) {
        fprintf(stderr, "no input %s.yaml or %s.d\n", name, name);
        return EXIT_HARNESS;
    }

    bool failed = false;
    g_autofree char *got = run_case(input, dir, &failed);
    g_autofree char *out_file = g_strdup_printf("%s.out", name);
    g_autofree char *err_file = g_strdup_printf("%s.err", name);
    const char *expected_file = failed ? err_file : out_file;
    const char *other_file = failed ? out_file : err_file;

    if (g_getenv("CONVOY_TEST_REGENERATE") != NULL) {
        g_autoptr(GError) werr = NULL;
        if (!g_file_set_contents(expected_file, got, -1, &werr)) {
            fprintf(stderr, "%s\n", werr->message);
            return EXIT_HARNESS;
        }
        unlink(other_file);
        return 0;
    }

    g_autofree char *want = NULL;
    if (!g_file_get_contents(expected_file, &want, NULL, NULL)) {
        fprintf(stderr, "FAIL %s: got %s but there is no %s:\n%s", name, failed ? "an error" : "a model", expected_file, got);
        return 1;
    }
    if (g_file_test(other_file, G_FILE_TEST_EXISTS)) {
        fprintf(stderr, "FAIL %s: both %s and %s exist\n", name, out_file, err_file);
        return 1;
    }
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "FAIL %s: output differs from %s\n--- want\n%s--- got\n%s", name, expected_file, want, got);
        return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--to-json") == 0)
        return to_json(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "--load") == 0)
        return load(argc - 2, argv + 2);
    if (argc == 2 && argv[1][0] != '-')
        return golden(argv[1]);
    fprintf(stderr, "usage: manifesttest CASE | --to-json FILE | --load FILE...\n");
    return EXIT_HARNESS;
}
