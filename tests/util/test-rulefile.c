/* Unit tests of util/rulefile, the loader shared by domain and guest rule
 * files: header errors with FILE:LINE:COL in each kind's wording, the
 * digest of a fixed file (it enters plan fingerprints, so it must never
 * change), and the search path order. */
#include "config.h"

#undef NDEBUG
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "convert/convert.h"
#include "guest/guest.h"
#include "util/error.h"
#include "util/rulefile.h"

#define DATA_DIR ABS_SRCDIR "/util/rulefile"

/* The digests the loaders gave these files before they shared one
 * (hex SHA-256 of the bytes). */
#define FIXED_DOMAIN_DIGEST "7d749d3dec9f97a13a2189afc8dca4b54bdf62110b1f17a47e70db795602ae6a"
#define FIXED_GUEST_DIGEST "bfb6bcad802c836d59077f0936add7c93336aa4cd733a38984b4c8c52260193a"

static const char *const domain_top[] = {"name", "version", "description", "facts", "rules",
                                         NULL};
static const char *const guest_top[] = {"name", "version", "description", "when", "rules",
                                        NULL};

static int failures;

static void
expect_str(const char *what, const char *got, const char *want)
{
    if (g_strcmp0(got, want) != 0) {
        fprintf(stderr, "FAIL %s\n  got:  %s\n  want: %s\n", what, got ? got : "(null)",
                want ? want : "(null)");
        failures++;
    }
}

struct header_case {
    const char *title;
    enum rulefile_kind kind;
    const char *yaml;
    const char *err;      /* the whole message, or NULL: loads */
    unsigned max_rules;
    const char *name;     /* on success */
    unsigned version;
};

static const struct header_case header_cases[] = {
    {"domain ok", RULEFILE_KIND_DOMAIN, "name: a.b-c_1\nversion: 7\nrules: []\n", NULL, 0,
     "a.b-c_1", 7},
    {"guest ok", RULEFILE_KIND_GUEST, "name: 1st\nversion: 1000000\nrules: []\n", NULL, 0, "1st",
     1000000},
    {"domain empty rules", RULEFILE_KIND_DOMAIN, "name: a\nversion: 1\nrules: ~\n", NULL, 0, "a",
     1},
    {"domain not a mapping", RULEFILE_KIND_DOMAIN, "- a\n- b\n",
     "t.yaml:1:1: error: expected a mapping with name, version and rules", 0, NULL, 0},
    {"domain empty", RULEFILE_KIND_DOMAIN, "",
     "t.yaml:1:1: error: expected a mapping with name, version and rules", 0, NULL, 0},
    {"guest empty", RULEFILE_KIND_GUEST, "", "error: empty rules file", 0, NULL, 0},
    {"guest not a mapping", RULEFILE_KIND_GUEST, "scalar\n",
     "t.yaml:1:1: error: a guest rules file: expected a mapping, got a scalar", 0, NULL, 0},
    {"domain keys", RULEFILE_KIND_DOMAIN,
     "nme: x\nversoin: 0\ndescription: [1]\nrules: 3\nextra: 1\n",
     "t.yaml:1:1: error: unknown key 'nme' in rule set; did you mean 'name'?\n"
     "t.yaml:2:1: error: unknown key 'versoin' in rule set; did you mean 'version'?\n"
     "t.yaml:5:1: error: unknown key 'extra' in rule set\n"
     "t.yaml:1:1: error: missing required key 'name'\n"
     "t.yaml:1:1: error: missing required key 'version'\n"
     "t.yaml:3:14: error: 'description': expected a string, got sequence\n"
     "t.yaml:4:8: error: 'rules': expected a list of rules, got a scalar",
     0, NULL, 0},
    {"guest keys", RULEFILE_KIND_GUEST,
     "nme: x\nversoin: 0\ndescription: [1]\nrules: 3\nextra: 1\n",
     "t.yaml:1:1: error: unknown key 'nme' in a guest rules file; did you mean 'name'?\n"
     "t.yaml:2:1: error: unknown key 'versoin' in a guest rules file; did you mean 'version'?\n"
     "t.yaml:5:1: error: unknown key 'extra' in a guest rules file\n"
     "t.yaml:1:1: error: guest rules file: 'name' is required\n"
     "t.yaml:1:1: error: guest rules file: 'version' is required\n"
     "t.yaml:3:14: error: 'description': expected a string, got sequence\n"
     "t.yaml:4:8: error: 'rules': expected a list of rules, got a scalar",
     0, NULL, 0},
    {"domain bad values", RULEFILE_KIND_DOMAIN, "name: 9bad!\nversion: -1\nrules:\n",
     "t.yaml:1:7: error: 'name': invalid rule set name '9bad!'; expected letters, digits, '_', '-' or '.'\n"
     "t.yaml:2:10: error: 'version': expected a positive integer, got '-1'",
     0, NULL, 0},
    {"guest bad values", RULEFILE_KIND_GUEST, "name: 9bad!\nversion: -1\nrules:\n",
     "t.yaml:1:7: error: 'name': '9bad!' is not an identifier (letters, digits, _ - .)\n"
     "t.yaml:2:10: error: 'version': expected a whole number from 1 to 1000000\n"
     "t.yaml:3:7: error: 'rules': expected a list of rules, got a scalar",
     0, NULL, 0},
    {"domain null name, big version", RULEFILE_KIND_DOMAIN,
     "name: ~\nversion: 99999999999\nrules: {a: 1}\n",
     "t.yaml:1:7: error: 'name': expected a string, got null\n"
     "t.yaml:2:10: error: 'version': expected a positive integer, got '99999999999'\n"
     "t.yaml:3:8: error: 'rules': expected a list of rules, got a mapping",
     0, NULL, 0},
    {"guest version over the bound", RULEFILE_KIND_GUEST, "version: 1000001\n",
     "t.yaml:1:1: error: guest rules file: 'name' is required\n"
     "t.yaml:1:10: error: 'version': expected a whole number from 1 to 1000000\n"
     "t.yaml:1:1: error: guest rules file: 'rules' is required",
     0, NULL, 0},
    {"domain too many rules", RULEFILE_KIND_DOMAIN, "name: a\nversion: 1\nrules: [1, 2, 3]\n",
     "t.yaml:3:8: error: 'rules': 3 rules is more than the limit of 2", 2, NULL, 0},
    {"syntax error", RULEFILE_KIND_GUEST, "a: [\n",
     "t.yaml:2:1: error: YAML syntax error: did not find expected node content while parsing a flow node", 0, NULL,
     0},
    {NULL, RULEFILE_KIND_LAST, NULL, NULL, 0, NULL, 0},
};

static void
test_header(const struct header_case *c)
{
    struct rulefile rf;
    struct rulefile_header h = {0};
    g_autoptr(GError) err = NULL;
    const struct ynode *root;
    bool ok = false;

    if (rulefile_open(&rf, c->kind, "t.yaml", c->yaml, strlen(c->yaml), &err)) {
        root = rulefile_root(&rf, &err);
        if (root != NULL) {
            rulefile_read_header(&rf, root,
                                 c->kind == RULEFILE_KIND_GUEST ? guest_top : domain_top, &h);
            rulefile_rules(&rf, root, c->max_rules);
            ok = rulefile_finish(&rf, &err);
        }
        rulefile_release(&rf);
    }
    expect_str(c->title, err != NULL ? err->message : NULL, c->err);
    if (err != NULL && err->code != CONVOY_ERROR_INVALID) {
        fprintf(stderr, "FAIL %s: code %d\n", c->title, err->code);
        failures++;
    }
    if (ok) {
        expect_str(c->title, h.name, c->name);
        assert(h.version == c->version);
    }
    rulefile_header_release(&h);
}

static void
test_size(void)
{
    size_t len = RULEFILE_MAX_BYTES + 1;
    g_autofree char *big = g_malloc(len);
    struct rulefile rf;
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;

    memset(big, 'a', len);
    assert(!rulefile_open(&rf, RULEFILE_KIND_DOMAIN, "big.yaml", big, len, &e1));
    expect_str("domain size",  e1->message,
               "big.yaml: error: rules file of 4194305 bytes is larger than the limit of 4194304 bytes");
    assert(!rulefile_open(&rf, RULEFILE_KIND_GUEST, "big.yaml", big, len, &e2));
    expect_str("guest size", e2->message,
               "big.yaml: error: rules file is larger than 4194304 bytes");
}

static void
test_read(void)
{
    size_t len = 0;
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;

    assert(rulefile_read(RULEFILE_KIND_DOMAIN, "/nonexistent/x.yaml", &len, &e1) == NULL);
    assert(e1->code == CONVOY_ERROR_IO);
    assert(g_str_has_prefix(e1->message, "cannot read rules file '/nonexistent/x.yaml': "));
    assert(rulefile_read(RULEFILE_KIND_GUEST, "/nonexistent/x.yaml", &len, &e2) == NULL);
    assert(e2->code == CONVOY_ERROR_INVALID);
    assert(g_str_has_prefix(e2->message, "/nonexistent/x.yaml: error: cannot read: "));
}

static void
test_digest(void)
{
    const char *dpath = DATA_DIR "/rules/domain/fixed.yaml";
    const char *gpath = DATA_DIR "/rules/guest/fixed-guest.yaml";
    g_autoptr(GError) err = NULL;
    size_t len = 0;
    g_autofree char *data = rulefile_read(RULEFILE_KIND_DOMAIN, dpath, &len, &err);
    struct rulefile rf;

    assert(data != NULL);
    assert(rulefile_open(&rf, RULEFILE_KIND_DOMAIN, dpath, data, len, &err));
    expect_str("rulefile digest", rf.digest, FIXED_DOMAIN_DIGEST);
    rulefile_release(&rf);

    g_autoptr(rule_set) rs = rule_set_load_file(dpath, &err);
    assert(rs != NULL);
    expect_str("domain digest", rule_set_digest(rs), FIXED_DOMAIN_DIGEST);
    g_autoptr(guest_rule_set) gs = guest_rule_set_load_file(gpath, &err);
    if (gs == NULL)
        fprintf(stderr, "%s\n", err->message);
    assert(gs != NULL);
    expect_str("guest digest", guest_rule_set_digest(gs), FIXED_GUEST_DIGEST);
}

static void
expect_path(const char *what, char **got, const char *const *want)
{
    g_autofree char *g = g_strjoinv(" ", got);
    g_autofree char *w = g_strjoinv(" ", (char **)want);

    expect_str(what, g, w);
}

static void
test_search_path(void)
{
    const char *env = DATA_DIR "/env";
    g_autofree char *installed_d = g_build_filename(CONVOY_RULESDIR, "domain", NULL);
    g_autofree char *source_d = g_build_filename(CONVOY_SRC_RULESDIR, "domain", NULL);
    g_autofree char *installed_g = g_build_filename(CONVOY_RULESDIR, "guest", NULL);
    g_autofree char *source_g = g_build_filename(CONVOY_SRC_RULESDIR, "guest", NULL);
    g_autoptr(GError) err = NULL;

    /* manifest dir, then $CONVOY_RULESDIR, then installed, then source */
    g_setenv("CONVOY_RULESDIR", env, TRUE);
    g_auto(GStrv) full = rulefile_search_path(DATA_DIR, "domain");
    const char *want_full[] = {DATA_DIR "/rules/domain", DATA_DIR "/env/domain", installed_d,
                               source_d, NULL};
    expect_path("search path with manifest and CONVOY_RULESDIR", full, want_full);

    /* the manifest's own rules hide a set of the same name */
    g_autofree char *hit = rulefile_find("fixed", (const char *const *)full);
    expect_str("find in manifest dir", hit, DATA_DIR "/rules/domain/fixed.yaml");
    g_autoptr(rule_set) rs = rule_set_load_named("fixed", (const char *const *)full, &err);
    assert(rs != NULL);
    assert(rule_set_version(rs) == 3);
    expect_str("named digest", rule_set_digest(rs), FIXED_DOMAIN_DIGEST);

    /* no manifest (convoy convert, convoy guest) */
    g_auto(GStrv) cli = rulefile_search_path(NULL, "domain");
    const char *want_cli[] = {DATA_DIR "/env/domain", installed_d, source_d, NULL};
    expect_path("search path without manifest", cli, want_cli);
    g_autofree char *hit2 = rulefile_find("fixed", (const char *const *)cli);
    expect_str("find in CONVOY_RULESDIR", hit2, DATA_DIR "/env/domain/fixed.yaml");
    assert(rulefile_find("no-such-set", (const char *const *)cli) == NULL);
    assert(rulefile_find("fixed", NULL) == NULL);

    /* an empty CONVOY_RULESDIR counts as unset */
    g_setenv("CONVOY_RULESDIR", "", TRUE);
    g_auto(GStrv) empty = rulefile_search_path(NULL, "guest");
    const char *want_empty[] = {installed_g, source_g, NULL};
    expect_path("search path, empty CONVOY_RULESDIR", empty, want_empty);
    g_unsetenv("CONVOY_RULESDIR");
    g_auto(GStrv) unset = rulefile_search_path("/m", "guest");
    const char *want_unset[] = {"/m/rules/guest", installed_g, source_g, NULL};
    expect_path("search path, no CONVOY_RULESDIR", unset, want_unset);
}

int
main(void)
{
    for (const struct header_case *c = header_cases; c->title != NULL; c++)
        test_header(c);
    test_size();
    test_read();
    test_digest();
    test_search_path();
    assert(rulefile_is_name("a-1.b_c", false));
    assert(!rulefile_is_name("1a", false));
    assert(rulefile_is_name("1a", true));
    assert(!rulefile_is_name("a/b", true));
    assert(!rulefile_is_name("", true));
    if (failures != 0)
        return 1;
    fprintf(stderr, "ok\n");
    return 0;
}
