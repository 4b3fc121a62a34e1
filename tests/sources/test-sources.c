/* Unit tests of the source drivers' internals: the XML-RPC codec of
 * XenAPI results, URL display and secrets. */
#include "config.h"

#undef NDEBUG
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "sources/sources-priv.h"
#include "util/error.h"

#define CHECK(c)                                                         \
    do {                                                                 \
        if (!(c)) {                                                      \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,       \
                    __LINE__, #c);                                       \
            return 1;                                                    \
        }                                                                \
    } while (0)

static const char success[] =
    "<?xml version='1.0'?><methodResponse><params><param><value><struct>"
    "<member><name>Status</name><value>Success</value></member>"
    "<member><name>Value</name><value><struct>"
    "<member><name>name_label</name><value><string>web &amp; db</string></value></member>"
    "<member><name>memory_static_max</name><value>4294967296</value></member>"
    "<member><name>VCPUs_max</name><value><int>4</int></value></member>"
    "<member><name>is_a_template</name><value><boolean>0</boolean></value></member>"
    "<member><name>HVM_boot_params</name><value><struct><member><name>order</name>"
    "<value>cd</value></member></struct></value></member>"
    "<member><name>VBDs</name><value><array><data><value>OpaqueRef:a</value>"
    "<value>OpaqueRef:b</value></data></array></value></member>"
    "</struct></value></member></struct></value></param></params></methodResponse>";

static int
test_success(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(xmlrpc_value) v = xmlrpc_xenapi_result(success, strlen(success),
                                                     NULL, NULL, &err);
    const struct xmlrpc_value *vbds;

    CHECK(v != NULL && err == NULL);
    CHECK(v->type == XMLRPC_STRUCT);
    CHECK(g_strcmp0(xmlrpc_member_string(v, "name_label"), "web & db") == 0);
    CHECK(xmlrpc_member_uint64(v, "memory_static_max") == 4294967296ull);
    CHECK(xmlrpc_member_uint64(v, "VCPUs_max") == 4);
    CHECK(!xmlrpc_member_bool(v, "is_a_template"));
    CHECK(g_strcmp0(xmlrpc_member_string(xmlrpc_member(v, "HVM_boot_params"), "order"), "cd") == 0);
    vbds = xmlrpc_member(v, "VBDs");
    CHECK(vbds != NULL && vbds->type == XMLRPC_ARRAY && vbds->items->len == 2);
    CHECK(xmlrpc_member(v, "missing") == NULL);
    CHECK(xmlrpc_member_uint64(v, "missing") == 0);
    return 0;
}

static int
test_failure(void)
{
    static const char xml[] =
        "<methodResponse><params><param><value><struct>"
        "<member><name>Status</name><value>Failure</value></member>"
        "<member><name>ErrorDescription</name><value><array><data>"
        "<value>HOST_IS_SLAVE</value><value>10.0.0.1</value></data></array></value></member>"
        "</struct></value></param></params></methodResponse>";
    g_autoptr(GError) err = NULL;
    g_autofree char *code = NULL;
    g_auto(GStrv) args = NULL;
    g_autoptr(xmlrpc_value) v = xmlrpc_xenapi_result(xml, strlen(xml), &code,
                                                     &args, &err);

    CHECK(v == NULL);
    CHECK(g_error_matches(err, CONVOY_ERROR, CONVOY_ERROR_FAILED));
    CHECK(g_strcmp0(code, "HOST_IS_SLAVE") == 0);
    CHECK(args != NULL && g_strcmp0(args[0], "10.0.0.1") == 0 && args[1] == NULL);
    return 0;
}

static int
test_malformed(void)
{
    static const char *const bad[] = {
        "not xml",
        "<methodResponse/>",
        "<methodResponse><fault><value><struct/></value></fault></methodResponse>",
        "<methodResponse><params><param><value><struct><member><name>Status</name>"
        "<value>Maybe</value></member></struct></value></param></params></methodResponse>",
        "<methodResponse><params><param><value><struct><member><name>Status</name>"
        "<value>Success</value></member></struct></value></param></params></methodResponse>",
        "<methodResponse><params><param><value><int>x</int></value></param></params></methodResponse>",
        "<methodResponse><params><param><value><blob/></value></param></params></methodResponse>",
        "<!DOCTYPE m [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><methodResponse><params>"
        "<param><value>&e;</value></param></params></methodResponse>",
        NULL,
    };

    for (size_t i = 0; bad[i] != NULL; i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(xmlrpc_value) v = xmlrpc_xenapi_result(bad[i], strlen(bad[i]),
                                                         NULL, NULL, &err);
        CHECK(v == NULL);
        CHECK(err != NULL && err->code == CONVOY_ERROR_XML);
        CHECK(g_str_has_prefix(err->message, "xml: "));
    }
    return 0;
}

static int
test_deep(void)
{
    g_autoptr(GString) x = g_string_new("<methodResponse><params><param>");
    g_autoptr(GError) err = NULL;
    g_autoptr(xmlrpc_value) v = NULL;

    for (int i = 0; i < 70; i++)
        g_string_append(x, "<value><array><data>");
    for (int i = 0; i < 70; i++)
        g_string_append(x, "</data></array></value>");
    g_string_append(x, "</param></params></methodResponse>");
    v = xmlrpc_xenapi_result(x->str, x->len, NULL, NULL, &err);
    if (err != NULL)
        fprintf(stderr, "%s\n", err->message);
    CHECK(v == NULL && err != NULL && strstr(err->message, "deeply") != NULL);
    return 0;
}

static int
test_request(void)
{
    const char *params[] = {"root", "p<a>&ss"};
    g_autofree char *r = xmlrpc_request("session.login_with_password", params, 2);

    CHECK(strstr(r, "<methodName>session.login_with_password</methodName>") != NULL);
    CHECK(strstr(r, "<string>p&lt;a&gt;&amp;ss</string>") != NULL);
    return 0;
}

static int
test_url_display(void)
{
    g_autofree char *a = http_url_for_display("https://u:pw@h.example:8443/x/y.xva?session_id=S#f");
    g_autofree char *b = http_url_for_display("http://127.0.0.1/");

    CHECK(g_strcmp0(a, "https://h.example:8443/x/y.xva") == 0);
    CHECK(g_strcmp0(b, "http://127.0.0.1/") == 0);
    return 0;
}

static int
test_secret(void)
{
    g_autofree char *dir = g_dir_make_tmp("convoy-src-XXXXXX", NULL);
    g_autofree char *f = g_build_filename(dir, "pw", NULL);
    g_autofree char *e = g_build_filename(dir, "empty", NULL);
    g_autoptr(GError) err = NULL;
    char *s;

    CHECK(g_file_set_contents(f, "hunter2\r\nsecond line\n", -1, NULL));
    CHECK(g_file_set_contents(e, "\n", -1, NULL));
    s = secret_read_file("src", "password_file", f, &err);
    CHECK(g_strcmp0(s, "hunter2") == 0);
    secret_free(s);
    s = secret_read_file("src", "password_file", e, &err);
    CHECK(s == NULL && err != NULL && strstr(err->message, "empty") != NULL);
    g_clear_error(&err);
    g_unsetenv("CONVOY_TEST_NO_SUCH_VAR");
    s = secret_read_env("src", "password_env", "CONVOY_TEST_NO_SUCH_VAR", &err);
    CHECK(s == NULL && strstr(err->message, "CONVOY_TEST_NO_SUCH_VAR") != NULL);
    unlink(f);
    unlink(e);
    rmdir(dir);
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(void);
} cases[] = {
    {"xmlrpc-success", test_success},
    {"xmlrpc-failure", test_failure},
    {"xmlrpc-malformed", test_malformed},
    {"xmlrpc-deep", test_deep},
    {"xmlrpc-request", test_request},
    {"url-display", test_url_display},
    {"secret", test_secret},
    {NULL, NULL},
};

int
main(int argc, char **argv)
{
    int status = 0;
    unsigned ran = 0;

    for (size_t i = 0; cases[i].name != NULL; i++) {
        if (argc > 1 && strcmp(argv[1], cases[i].name) != 0)
            continue;
        int r = cases[i].fn();
        ran++;
        fprintf(stderr, "%s: %s\n", cases[i].name, r == 0 ? "ok" : "FAILED");
        if (r != 0)
            status = r;
    }
    if (ran == 0) {
        fprintf(stderr, "unknown case '%s'\n", argc > 1 ? argv[1] : "");
        return 99;
    }
    return status;
}
