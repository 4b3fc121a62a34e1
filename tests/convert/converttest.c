/* converttest: the golden-file driver of engine/convert (STYLE.md 6).
 * One invocation runs one case of one family.  Each case is a folder tests/convert/FAMILY/CASE/ holding its input, the
 * rules it uses (rules: the name of a shipped set; or rules.yaml, its own)
 * and what it must give:
 *   converttest xen-to-kvm CASE   in.xml → out.xml|err
 *   converttest ova CASE       in.ova.xml → xen.xml|err, then → out.xml
 *   converttest rules-invalid CASE   in.yaml → err
 *   converttest xl CASE        in.cfg → xen.xml (the parsed Xen domain),
 *                              then → out.xml|err
 * Optional: boot-dir (the convert_request boot_dir), net (a network
 * mapping), interfaces.xml (virt-v2v's expected interfaces).
 * In the XML families err holds what `convoy convert` prints on standard
 * error: the error of a failed case, or the warnings and notes of a case
 * that converts (absent when there are none).
 * CONVOY_TEST_REGENERATE=1 rewrites the expected files; CONVOY_TEST_DEBUG=1
 * prints the first differing region. */
#include "config.h"

#undef NDEBUG
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "convert/convert.h"
#ifdef HAVE_XL_CFG
#include "sources/sources.h"
#endif
#include "util/autoptr.h"
#include "util/error.h"
#ifdef HAVE_XVA_PARSE
#include "xva/xva.h"
#endif

#define EXIT_SKIP 77
#define EXIT_HARNESS 99

/* One case: its family, name and files. */
struct tcase {
    const char *family;
    const char *name;
    char *dir;  /* tests/convert/FAMILY */
    char *base; /* dir/name/: the case's folder, its files named below */
};

/* ------------------------------------------------------------------ */
/* Harness */

static bool
env_flag(const char *name)
{
    const char *v = g_getenv(name);
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

/* Run one check, print its outcome as libvirt's virTestRun does; returns
 * 0 ok, 1 failure, EXIT_SKIP skipped. */
static int
test_run(const char *title, int (*fn)(const void *data), const void *data)
{
    int rc = fn(data);

    fprintf(stderr, "%-60s %s\n", title, rc == 0 ? "OK" : rc == EXIT_SKIP ? "SKIP" : "FAILED");
    return rc;
}

static char *
read_file(const char *path, size_t *len)
{
    char *data = NULL;
    gsize n = 0;

    if (!g_file_get_contents(path, &data, &n, NULL))
        return NULL;
    if (len != NULL)
        *len = n;
    return data;
}

static void
write_file(const char *path, const char *data)
{
    g_autoptr(GError) err = NULL;

    if (!g_file_set_contents(path, data, -1, &err)) {
        fprintf(stderr, "cannot write '%s': %s\n", path, err->message);
        exit(EXIT_HARNESS);
    }
}

static void
print_difference(const char *expected, const char *actual)
{
    size_t i = 0;
    unsigned line = 1;
    size_t line_start = 0;

    while (expected[i] != '\0' && expected[i] == actual[i]) {
        if (expected[i] == '\n') {
            line++;
            line_start = i + 1;
        }
        i++;
    }
    fprintf(stderr, "first difference at line %u:\n--- expected\n%.*s\n+++ actual\n%.*s\n", line,
            (int)MIN(strlen(expected + line_start), 400), expected + line_start,
            (int)MIN(strlen(actual + line_start), 400), actual + line_start);
}

/* Compare actual with the file at path (regenerating it when asked).  The
 * other expected file of the pair (.out.xml vs .err) is removed on
 * regeneration.  canonical_xml: re-serialise the expected file first. */
static int
check_golden(const char *path, const char *other, const char *actual, bool canonical_xml)
{
    g_autofree char *expected = NULL;
    size_t len = 0;

    if (env_flag("CONVOY_TEST_REGENERATE")) {
        write_file(path, actual);
        if (other != NULL)
            g_unlink(other);
        return 0;
    }
    expected = read_file(path, &len);
    if (expected == NULL) {
        fprintf(stderr, "missing expected file '%s' (CONVOY_TEST_REGENERATE=1 writes it)\n", path);
        return 1;
    }
    if (canonical_xml) {
        g_autoptr(GError) err = NULL;
        g_autoptr(xmlDoc) doc = convert_xml_parse(expected, len, path, &err);
        if (doc == NULL) {
            fprintf(stderr, "%s\n", err->message);
            return 1;
        }
        g_free(expected);
        expected = convert_xml_format(doc);
    }
    if (strcmp(expected, actual) != 0) {
        fprintf(stderr, "'%s' differs from the result\n", path);
        if (env_flag("CONVOY_TEST_DEBUG"))
            print_difference(expected, actual);
        return 1;
    }
    return 0;
}

/* Compare actual with a file that is never regenerated (the corpus). */
static int
check_golden_ro(const char *path, const char *actual)
{
    g_autofree char *expected = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    g_autofree char *canon = NULL;
    size_t len = 0;

    expected = read_file(path, &len);
    if (expected == NULL) {
        fprintf(stderr, "cannot read '%s'\n", path);
        return 1;
    }
    doc = convert_xml_parse(expected, len, path, &err);
    if (doc == NULL) {
        fprintf(stderr, "%s\n", err->message);
        return 1;
    }
    canon = convert_xml_format(doc);
    if (strcmp(canon, actual) != 0) {
        fprintf(stderr, "the parsed domain differs from libvirt's '%s'\n", path);
        if (env_flag("CONVOY_TEST_DEBUG"))
            print_difference(canon, actual);
        return 1;
    }
    return 0;
}

/* virt-xml-validate FILE domain, when the tool exists. */
static int
validate_domain(const char *xml)
{
    g_autofree char *tool = g_find_program_in_path("virt-xml-validate");
    g_autofree char *tmp = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err_text = NULL;
    g_autoptr(GError) err = NULL;
    int status = 0;
    int fd;

    if (tool == NULL) {
        fprintf(stderr, "virt-xml-validate not found; schema check skipped\n");
        return EXIT_SKIP;
    }
    fd = g_file_open_tmp("converttest-XXXXXX.xml", &tmp, &err);
    if (fd < 0) {
        fprintf(stderr, "%s\n", err->message);
        exit(EXIT_HARNESS);
    }
    close(fd);
    write_file(tmp, xml);
    const char *argv[] = {tool, tmp, "domain", NULL};
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err_text,
                      &status, &err)) {
        fprintf(stderr, "cannot run virt-xml-validate: %s\n", err->message);
        g_unlink(tmp);
        exit(EXIT_HARNESS);
    }
    g_unlink(tmp);
    if (!g_spawn_check_wait_status(status, NULL)) {
        fprintf(stderr, "virt-xml-validate rejects the result:\n%s%s", out, err_text);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Network mapping files: one mapping per line, '#' comments.
 *   bridge:NAME=network:NAME   network:NAME=bridge:NAME   mac:MAC=…
 *   bridge:*=…  network:*=…    (any bridge / any network)  any=…
 *   xen-network:MAC=NAME       (Xen network name_label of a NIC) */

struct netfile {
    GArray *maps;             /* of struct convert_netmap, strings in strings */
    GPtrArray *strings;       /* owned strings */
    GHashTable *xen_networks; /* MAC → name */
};

static void
netfile_release(struct netfile *nf)
{
    g_clear_pointer(&nf->maps, g_array_unref);
    g_clear_pointer(&nf->strings, g_ptr_array_unref);
    g_clear_pointer(&nf->xen_networks, g_hash_table_unref);
}

static bool
netfile_load(const char *path, struct netfile *nf)
{
    g_autofree char *data = read_file(path, NULL);
    g_auto(GStrv) lines = NULL;

    nf->maps = g_array_new(FALSE, TRUE, sizeof(struct convert_netmap));
    nf->strings = g_ptr_array_new_with_free_func(g_free);
    nf->xen_networks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    if (data == NULL)
        return true;
    lines = g_strsplit(data, "\n", -1);
    for (size_t i = 0; lines[i] != NULL; i++) {
        char *line = g_strstrip(lines[i]);
        char *eq;
        struct convert_netmap m = {0};
        char *from;
        char *to;

        if (line[0] == '\0' || line[0] == '#')
            continue;
        eq = strrchr(line, '=');
        if (eq == NULL) {
            fprintf(stderr, "%s:%zu: expected FROM=TO\n", path, i + 1);
            return false;
        }
        *eq = '\0';
        from = line;
        to = eq + 1;
        if (g_str_has_prefix(from, "xen-network:")) {
            g_hash_table_insert(nf->xen_networks,
                                g_ascii_strdown(from + strlen("xen-network:"), -1), g_strdup(to));
            continue;
        }
        if (strcmp(from, "any") == 0) {
            m.from = CONVERT_NET_FROM_ANY;
        } else if (g_str_has_prefix(from, "bridge:")) {
            m.from = CONVERT_NET_FROM_BRIDGE;
            from += strlen("bridge:");
        } else if (g_str_has_prefix(from, "network:")) {
            m.from = CONVERT_NET_FROM_NETWORK;
            from += strlen("network:");
        } else if (g_str_has_prefix(from, "mac:")) {
            m.from = CONVERT_NET_FROM_MAC;
            from += strlen("mac:");
        } else {
            fprintf(stderr, "%s:%zu: unknown mapping source '%s'\n", path, i + 1, from);
            return false;
        }
        if (m.from != CONVERT_NET_FROM_ANY && strcmp(from, "*") != 0) {
            char *v = g_strdup(from);
            g_ptr_array_add(nf->strings, v);
            m.from_value = v;
        }
        if (g_str_has_prefix(to, "network:")) {
            m.to = CONVERT_NET_TO_NETWORK;
            to += strlen("network:");
        } else if (g_str_has_prefix(to, "bridge:")) {
            m.to = CONVERT_NET_TO_BRIDGE;
            to += strlen("bridge:");
        } else {
            fprintf(stderr, "%s:%zu: unknown mapping target '%s'\n", path, i + 1, to);
            return false;
        }
        char *tv = g_strdup(to);
        g_ptr_array_add(nf->strings, tv);
        m.to_value = tv;
        g_array_append_val(nf->maps, m);
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Rule-set family: CASE.in.xml → CASE.out.xml | CASE.err */

struct xml_run {
    const struct tcase *tc;
    struct rule_set *rs; /* NULL when loading failed (error in err) */
    char *result;        /* canonical output, or NULL */
    char *error;         /* error text, or NULL */
    bool xl;             /* input is CASE.cfg (xl family) */
};

static struct rule_set *
load_rules(const struct tcase *tc, GError **error)
{
    /* The case's own rules (rules.yaml), or the shipped set its 'rules'
     * file names. */
    g_autofree char *override = g_strconcat(tc->base, "rules.yaml", NULL);
    g_autofree char *named = g_strconcat(tc->base, "rules", NULL);
    g_autofree char *set = NULL;
    g_autofree char *shipped = NULL;
    g_autofree char *shown = NULL;
    g_autofree char *data = NULL;
    const char *path = override;
    size_t len = 0;

    if (g_file_test(override, G_FILE_TEST_EXISTS)) {
        shown = g_strconcat(tc->name, ".rules.yaml", NULL);
    } else {
        set = read_file(named, NULL);
        if (set == NULL) {
            fprintf(stderr, "case '%s' has neither rules.yaml nor rules (a shipped set's name)\n",
                    tc->base);
            exit(EXIT_HARNESS);
        }
        g_strstrip(set);
        shipped = g_strdup_printf("%s/rules/domain/%s.yaml", ABS_TOP_SRCDIR, set);
        shown = g_strdup_printf("rules/domain/%s.yaml", set);
        path = shipped;
    }
    data = read_file(path, &len);
    if (data == NULL) {
        fprintf(stderr, "cannot read '%s'\n", path);
        exit(EXIT_HARNESS);
    }
    return rule_set_load_data(shown, data, len, error);
}

/* Convert text with the case's rules (and its .net mapping when
 * with_mapping); returns the canonical XML or NULL with *error. */
static char *
convert_text(const struct xml_run *run, const char *text, size_t len, bool with_mapping,
             GPtrArray *explain, GError **error)
{
    g_autofree char *in_name = g_strconcat(run->tc->name, ".in.xml", NULL);
    g_autofree char *net_path = g_strconcat(run->tc->base, "net", NULL);
    g_autoptr(xmlDoc) doc = convert_xml_parse(text, len, in_name, error);
    struct rule_set *sets[] = {run->rs};

    if (doc == NULL)
        return NULL;
    if (!convert_apply_rules(doc, sets, 1, explain, error))
        return NULL;
    if (with_mapping && g_file_test(net_path, G_FILE_TEST_EXISTS)) {
        struct netfile nf = {NULL};
        bool ok;

        if (!netfile_load(net_path, &nf))
            exit(EXIT_HARNESS);
        ok = convert_map_networks(doc, (const struct convert_netmap *)(void *)nf.maps->data,
                                  nf.maps->len, nf.xen_networks, NULL, error);
        netfile_release(&nf);
        if (!ok)
            return NULL;
    }
    return convert_xml_format(doc);
}

/* The case's network mapping file, when it has one (else maps is NULL). */
static bool
load_net(const struct xml_run *run, struct netfile *nf)
{
    g_autofree char *net_path = g_strconcat(run->tc->base, "net", NULL);

    if (!g_file_test(net_path, G_FILE_TEST_EXISTS))
        return false;
    if (!netfile_load(net_path, nf))
        exit(EXIT_HARNESS);
    return true;
}

/* The input as a Xen domain doc: CASE.in.xml parsed, or CASE.cfg through
 * the xl.cfg parser (its warnings into diags), checked against
 * CASE.xen.xml.  NULL with *error when the input is rejected; *xen_rc
 * gets the result of the CASE.xen.xml comparison. */
static xmlDoc *
load_case_input(const struct xml_run *run, GPtrArray *diags, int *xen_rc, GError **error)
{
    g_autofree char *in_name = g_strconcat(run->tc->name, run->xl ? ".cfg" : ".in.xml", NULL);
    g_autofree char *in_path = g_strconcat(run->tc->base, run->xl ? "in.cfg" : "in.xml", NULL);
    g_autofree char *in = NULL;
    size_t len = 0;

    *xen_rc = 0;
    in = read_file(in_path, &len);
    if (in == NULL) {
        fprintf(stderr, "cannot read '%s'\n", in_path);
        exit(EXIT_HARNESS);
    }
    if (!run->xl)
        return convert_xml_parse_input(in, len, in_name, error);
#ifdef HAVE_XL_CFG
    {
        g_autofree char *xen_path = g_strconcat(run->tc->base, "xen.xml", NULL);
        xmlDoc *doc = xl_cfg_parse(in_name, in, len, diags, error);
        g_autofree char *text = NULL;

        if (doc == NULL) {
            if (!env_flag("CONVOY_TEST_REGENERATE") && g_file_test(xen_path, G_FILE_TEST_EXISTS)) {
                fprintf(stderr, "'%s' exists, but the input is rejected\n", xen_path);
                *xen_rc = 1;
            } else if (env_flag("CONVOY_TEST_REGENERATE")) {
                g_unlink(xen_path);
            }
            return NULL;
        }
        text = convert_xml_format(doc);
        *xen_rc = check_golden(xen_path, NULL, text, true);
        /* corpus-NAME.cfg: libvirt's own NAME.xml is what the parser
         * must produce too */
        if (g_str_has_prefix(run->tc->name, "corpus-")) {
            g_autofree char *want = g_strdup_printf("%s/libvirt/xlconfigdata/%s.xml",
                                                    SHARED_CORPUS,
                                                    run->tc->name + strlen("corpus-"));
            if (g_file_test(want, G_FILE_TEST_EXISTS) && check_golden_ro(want, text) != 0)
                *xen_rc = 1;
        }
        return doc;
    }
#else
    fprintf(stderr, "engine/sources is not built; xl cases skipped\n");
    exit(EXIT_SKIP);
#endif
}

static int
check_convert(const void *data)
{
    struct xml_run *run = (struct xml_run *)data;
    g_autofree char *out_path = g_strconcat(run->tc->base, "out.xml", NULL);
    g_autofree char *err_path = g_strconcat(run->tc->base, "err", NULL);
    g_autoptr(GPtrArray) diags = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GString) diag_text = g_string_new(NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    struct netfile nf = {NULL};
    int xen_rc = 0;
    int rc;

    run->rs = load_rules(run->tc, &err);
    if (run->rs != NULL)
        doc = load_case_input(run, diags, &xen_rc, &err);
    if (doc != NULL) {
        struct rule_set *sets[] = {run->rs};
        g_autofree char *in_name =
            g_strconcat(run->tc->name, run->xl ? ".cfg" : ".in.xml", NULL);
        struct convert_request req = {.input_name = in_name, .sets = sets, .n_sets = 1};
        g_autofree char *boot_path = g_strconcat(run->tc->base, "boot-dir", NULL);
        g_autofree char *boot_dir = read_file(boot_path, NULL);

        if (boot_dir != NULL)
            req.boot_dir = g_strstrip(boot_dir);

        if (load_net(run, &nf)) {
            req.map_networks = true;
            req.netmaps = (const struct convert_netmap *)(void *)nf.maps->data;
            req.n_netmaps = nf.maps->len;
            req.xen_networks = nf.xen_networks;
        }
        if (convert_domain(doc, &req, NULL, diags, &err))
            run->result = convert_xml_format(doc);
        netfile_release(&nf);
    }
    for (guint i = 0; i < diags->len; i++)
        g_string_append_printf(diag_text, "%s\n", (const char *)diags->pdata[i]);
    if (run->result != NULL) {
        rc = check_golden(out_path, NULL, run->result, true);
        if (diag_text->len != 0) {
            rc |= check_golden(err_path, NULL, diag_text->str, false);
        } else if (env_flag("CONVOY_TEST_REGENERATE")) {
            g_unlink(err_path);
        } else if (g_file_test(err_path, G_FILE_TEST_EXISTS)) {
            fprintf(stderr, "'%s' exists, but the case printed no messages\n", err_path);
            rc = 1;
        }
        return rc | xen_rc;
    }
    g_string_append_printf(diag_text, "%s\n", err->message);
    run->error = g_strdup(diag_text->str);
    return check_golden(err_path, out_path, run->error, false) | xen_rc;
}

/* Converting the output again changes nothing (rules only: a network
 * mapping is not meant to be re-applied to its own output). */
static int
check_fixed_point(const void *data)
{
    const struct xml_run *run = data;
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) explain =
        g_ptr_array_new_with_free_func((GDestroyNotify)convert_change_free);
    g_autofree char *again = NULL;

    if (run->result == NULL)
        return EXIT_SKIP;
    again = convert_text(run, run->result, strlen(run->result), false, explain, &err);
    if (again == NULL) {
        fprintf(stderr, "converting the output again fails: %s\n", err->message);
        return 1;
    }
    if (strcmp(again, run->result) != 0 || explain->len != 0) {
        fprintf(stderr, "converting the output again changes it:\n");
        for (guint i = 0; i < explain->len; i++) {
            const struct convert_change *c = explain->pdata[i];
            fprintf(stderr, "  %s:%u: %s: %s\n", c->rule_file, c->line, c->rule_id, c->what);
        }
        if (env_flag("CONVOY_TEST_DEBUG"))
            print_difference(run->result, again);
        return 1;
    }
    return 0;
}

static int
check_schema(const void *data)
{
    const struct xml_run *run = data;

    if (run->result == NULL)
        return EXIT_SKIP;
    return validate_domain(run->result);
}

/* CASE.interfaces.xml (optional, e.g. virt-v2v's expected output): the
 * (type, source, MAC) of every <interface> must match, in order. */
static char *
interfaces_summary(const char *xml, size_t len, const char *name)
{
    g_autofree char *wrapped = g_strconcat("<x>", xml, "</x>", NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(xmlDoc) doc = convert_xml_parse(wrapped, strlen(wrapped), name, &err);
    g_autoptr(GString) s = g_string_new(NULL);
    g_autoptr(xmlXPathContext) ctx = NULL;
    g_autoptr(xmlXPathObject) obj = NULL;

    if (doc == NULL) {
        fprintf(stderr, "%s\n", err->message);
        exit(EXIT_HARNESS);
    }
    ctx = xmlXPathNewContext(doc);
    obj = xmlXPathEvalExpression((const xmlChar *)"//interface", ctx);
    for (int i = 0; obj != NULL && obj->nodesetval != NULL && i < obj->nodesetval->nodeNr; i++) {
        xmlNode *n = obj->nodesetval->nodeTab[i];
        g_autofree xmlChar *type = xmlGetProp(n, (const xmlChar *)"type");
        const char *src = "";
        const char *mac = "";
        g_autofree xmlChar *srcv = NULL;
        g_autofree xmlChar *macv = NULL;

        for (xmlNode *c = n->children; c != NULL; c = c->next) {
            if (c->type != XML_ELEMENT_NODE)
                continue;
            if (strcmp((const char *)c->name, "source") == 0 && srcv == NULL) {
                srcv = xmlGetProp(c, (const xmlChar *)(g_strcmp0((const char *)type, "network") == 0
                                                           ? "network"
                                                           : "bridge"));
                src = srcv != NULL ? (const char *)srcv : "";
            } else if (strcmp((const char *)c->name, "mac") == 0 && macv == NULL) {
                macv = xmlGetProp(c, (const xmlChar *)"address");
                mac = macv != NULL ? (const char *)macv : "";
            }
        }
        g_string_append_printf(s, "%s %s %s\n", (const char *)type, src, mac);
    }
    return g_string_free(g_steal_pointer(&s), FALSE);
}

static int
check_interfaces(const void *data)
{
    const struct xml_run *run = data;
    g_autofree char *path = g_strconcat(run->tc->base, "interfaces.xml", NULL);
    g_autofree char *want_xml = NULL;
    g_autofree char *want = NULL;
    g_autofree char *got = NULL;
    size_t len = 0;

    if (run->result == NULL)
        return EXIT_SKIP;
    want_xml = read_file(path, &len);
    if (want_xml == NULL)
        return EXIT_SKIP;
    want = interfaces_summary(want_xml, len, path);
    got = interfaces_summary(run->result, strlen(run->result), "result");
    if (strcmp(want, got) != 0) {
        fprintf(stderr, "interfaces differ from '%s':\n--- expected\n%s+++ actual\n%s", path, want,
                got);
        return 1;
    }
    return 0;
}

static int
run_xml_case(const struct tcase *tc, bool xl)
{
    struct xml_run run = {.tc = tc, .xl = xl};
    int failed = 0;
    g_autofree char *t1 = g_strdup_printf("%s/%s: convert", tc->family, tc->name);
    g_autofree char *t2 = g_strdup_printf("%s/%s: fixed point", tc->family, tc->name);
    g_autofree char *t3 = g_strdup_printf("%s/%s: schema", tc->family, tc->name);
    g_autofree char *t4 = g_strdup_printf("%s/%s: interfaces", tc->family, tc->name);

    failed |= test_run(t1, check_convert, &run) == 1;
    if (run.result != NULL) {
        failed |= test_run(t2, check_fixed_point, &run) == 1;
        failed |= test_run(t3, check_schema, &run) == 1;
        failed |= test_run(t4, check_interfaces, &run) == 1;
    }
    rule_set_free(run.rs);
    g_free(run.result);
    g_free(run.error);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* ova family: CASE.ova.xml → CASE.xen.xml | CASE.err */

#ifdef HAVE_XVA_PARSE
struct ova_run {
    const struct tcase *tc;
    char *result;         /* the Xen domain */
    char *kvm;            /* it through xen-to-kvm */
};

static int
check_ova(const void *data)
{
    struct ova_run *run = (struct ova_run *)data;
    g_autofree char *in_path = g_strconcat(run->tc->base, "in.ova.xml", NULL);
    g_autofree char *out_path = g_strconcat(run->tc->base, "xen.xml", NULL);
    g_autofree char *err_path = g_strconcat(run->tc->base, "err", NULL);
    g_autofree char *in = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(xva_meta) meta = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    size_t len = 0;

    in = read_file(in_path, &len);
    if (in == NULL) {
        fprintf(stderr, "cannot read '%s'\n", in_path);
        exit(EXIT_HARNESS);
    }
    meta = xva_meta_parse(in, len, &err);
    if (meta != NULL)
        doc = convert_domain_from_ova(meta, &err);
    if (doc == NULL) {
        g_autofree char *text = g_strconcat(err->message, "\n", NULL);
        return check_golden(err_path, out_path, text, false);
    }
    run->result = convert_xml_format(doc);
    return check_golden(out_path, err_path, run->result, true);
}

/* The Xen domain through the shipped xen-to-kvm rules: CASE.out.xml. */
static int
check_ova_kvm(const void *data)
{
    struct ova_run *run = (struct ova_run *)data;
    g_autofree char *out_path = g_strconcat(run->tc->base, "out.xml", NULL);
    g_autofree char *in_name = g_strconcat(run->tc->name, ".xen.xml", NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(rule_set) rs = load_rules(run->tc, &err);
    g_autoptr(xmlDoc) doc = NULL;

    if (rs == NULL) {
        fprintf(stderr, "%s\n", err->message);
        return 1;
    }
    doc = convert_xml_parse_input(run->result, strlen(run->result), in_name, &err);
    if (doc != NULL) {
        struct rule_set *sets[] = {rs};
        struct convert_request req = {.input_name = in_name, .sets = sets, .n_sets = 1};
        if (convert_domain(doc, &req, NULL, NULL, &err))
            run->kvm = convert_xml_format(doc);
    }
    if (run->kvm == NULL) {
        fprintf(stderr, "xen-to-kvm fails on %s: %s\n", in_name, err->message);
        return 1;
    }
    return check_golden(out_path, NULL, run->kvm, true);
}

/* The placeholder sources ("xva-vdi:REF") are not absolute paths, which
 * the schema wants; they only live until the disk mapping replaces them,
 * so the check validates a copy with "/xva-vdi/REF" instead. */
static int
validate_placeholders(const char *text)
{
    g_auto(GStrv) parts = g_strsplit(text, "'" CONVERT_XVA_VDI_PREFIX, -1);
    g_autofree char *xml = g_strjoinv("'/xva-vdi/", parts);

    return validate_domain(xml);
}

static int
check_ova_schema(const void *data)
{
    const struct ova_run *run = data;

    return validate_placeholders(run->result);
}

static int
check_ova_kvm_schema(const void *data)
{
    const struct ova_run *run = data;

    return validate_placeholders(run->kvm);
}

static int
run_ova_case(const struct tcase *tc)
{
    struct ova_run run = {.tc = tc};
    int failed = 0;
    g_autofree char *t1 = g_strdup_printf("ova/%s: domain", tc->name);
    g_autofree char *t2 = g_strdup_printf("ova/%s: schema", tc->name);
    g_autofree char *t3 = g_strdup_printf("ova/%s: kvm", tc->name);
    g_autofree char *t4 = g_strdup_printf("ova/%s: kvm schema", tc->name);

    failed |= test_run(t1, check_ova, &run) == 1;
    if (run.result != NULL) {
        failed |= test_run(t2, check_ova_schema, &run) == 1;
        failed |= test_run(t3, check_ova_kvm, &run) == 1;
        if (run.kvm != NULL)
            failed |= test_run(t4, check_ova_kvm_schema, &run) == 1;
    }
    g_free(run.result);
    g_free(run.kvm);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
#endif

/* ------------------------------------------------------------------ */
/* rules-invalid family: CASE.yaml → CASE.err */

static int
check_rules_invalid(const void *data)
{
    const struct tcase *tc = data;
    g_autofree char *yaml = g_strconcat(tc->name, ".yaml", NULL);
    g_autofree char *in_path = g_strconcat(tc->base, "in.yaml", NULL);
    g_autofree char *err_path = g_strconcat(tc->base, "err", NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(rule_set) rs = NULL;
    g_autofree char *text = NULL;
    g_autofree char *text_in = NULL;
    size_t len = 0;

    /* loaded under the case's name, as its messages show it */
    text_in = read_file(in_path, &len);
    if (text_in == NULL) {
        fprintf(stderr, "cannot read '%s'\n", in_path);
        exit(EXIT_HARNESS);
    }
    rs = rule_set_load_data(yaml, text_in, len, &err);
    if (rs != NULL) {
        fprintf(stderr, "'%s' loaded, but it should fail\n", yaml);
        return 1;
    }
    if (err->code != CONVOY_ERROR_INVALID) {
        fprintf(stderr, "expected CONVOY_ERROR_INVALID, got code %d: %s\n", err->code,
                err->message);
        return 1;
    }
    text = g_strconcat(err->message, "\n", NULL);
    return check_golden(err_path, NULL, text, false);
}

int
main(int argc, char **argv)
{
    struct tcase tc;
    int rc;

    if (argc != 3) {
        fprintf(stderr, "usage: %s FAMILY CASE\n", argv[0]);
        return EXIT_HARNESS;
    }
    tc.family = argv[1];
    tc.name = argv[2];
    tc.dir = g_build_filename(ABS_SRCDIR, "convert", tc.family, NULL);
    tc.base = g_strconcat(tc.dir, "/", tc.name, "/", NULL);

    if (strcmp(tc.family, "rules-invalid") == 0) {
        g_autofree char *title = g_strdup_printf("rules-invalid/%s", tc.name);
        rc = test_run(title, check_rules_invalid, &tc);
    } else if (strcmp(tc.family, "ova") == 0) {
#ifdef HAVE_XVA_PARSE
        rc = run_ova_case(&tc);
#else
        fprintf(stderr, "engine/xva is not built; ova cases skipped\n");
        rc = EXIT_SKIP;
#endif
    } else {
        rc = run_xml_case(&tc, strcmp(tc.family, "xl") == 0);
    }
    g_free(tc.dir);
    g_free(tc.base);
    return rc == EXIT_SKIP ? EXIT_SKIP : rc != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
