/* Unit tests of the JSON reader (engine/util/jsonread.c): table-driven,
 * valid documents with the values they hold, invalid ones with the byte
 * offset of the error. */
#include "config.h"

#undef NDEBUG
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "util/jsonread.h"

struct ok_case {
    const char *text;
    const char *key;          /* looked up in the top object, or NULL */
    enum jval_type type;      /* of the top value, or of key's value */
    const char *str;          /* expected string value */
    double num;
};

static const struct ok_case ok_cases[] = {
    {"{}", NULL, JVAL_OBJECT, NULL, 0},
    {" [ ] ", NULL, JVAL_ARRAY, NULL, 0},
    {"null", NULL, JVAL_NULL, NULL, 0},
    {"{\"a\":\"b\"}", "a", JVAL_STRING, "b", 0},
    {"{\"size\": 67108864, \"x\": 1}", "size", JVAL_NUMBER, NULL, 67108864},
    {"{\"s\": -1.5e3}", "s", JVAL_NUMBER, NULL, -1500},
    {"{\"s\": 0.25}", "s", JVAL_NUMBER, NULL, 0.25},
    {"{\"t\": true}", "t", JVAL_BOOL, NULL, 0},
    {"{\"e\": \"a\\\"b\\\\c\\/d\\n\\t\"}", "e", JVAL_STRING, "a\"b\\c/d\n\t", 0},
    {"{\"u\": \"\\u00e9\\u2192\"}", "u", JVAL_STRING, "é→", 0},
    {"{\"p\": \"\\ud83d\\ude00\"}", "p", JVAL_STRING, "\xf0\x9f\x98\x80", 0},
    {"{\"n\": {\"deep\": [1, 2, {\"x\": null}]}}", "n", JVAL_OBJECT, NULL, 0},
    {"{\"xml\": \"<domain type='kvm'>\\n</domain>\\n\"}", "xml", JVAL_STRING,
     "<domain type='kvm'>\n</domain>\n", 0},
    {NULL, NULL, JVAL_NULL, NULL, 0},
};

struct bad_case {
    const char *text;
    const char *message;      /* expected error text */
};

static const struct bad_case bad_cases[] = {
    {"", "t: invalid JSON at byte 0: unexpected end"},
    {"{", "t: invalid JSON at byte 1: expected a member name"},
    {"{\"a\" 1}", "t: invalid JSON at byte 5: expected ':'"},
    {"{\"a\":1,}", "t: invalid JSON at byte 7: expected a member name"},
    {"[1 2]", "t: invalid JSON at byte 3: expected ',' or ']'"},
    {"tru", "t: invalid JSON at byte 0: unexpected character"},
    {"01", "t: invalid JSON at byte 1: trailing data"},
    {"-", "t: invalid JSON at byte 1: bad number"},
    {"1.", "t: invalid JSON at byte 2: bad number"},
    {"\"abc", "t: invalid JSON at byte 4: unterminated string"},
    {"\"a\x01\"", "t: invalid JSON at byte 3: control character in string"},
    {"\"\\x\"", "t: invalid JSON at byte 3: bad escape"},
    {"\"\\ud800\"", "t: invalid JSON at byte 7: unpaired surrogate"},
    {"\"\\u0000\"", "t: invalid JSON at byte 7: NUL in string"},
    {"\"\xff\"", "t: invalid JSON at byte 3: string is not UTF-8"},
    {"{} {}", "t: invalid JSON at byte 3: trailing data"},
    {NULL, NULL},
};

int
main(void)
{
    unsigned n = 0;

    for (const struct ok_case *c = ok_cases; c->text != NULL; c++, n++) {
        GError *err = NULL;
        struct jval *v = jval_parse("t", c->text, -1, &err);
        if (v == NULL) {
            fprintf(stderr, "FAIL: '%s': %s\n", c->text, err->message);
            return 1;
        }
        const struct jval *x = c->key != NULL ? jval_get(v, c->key) : v;
        assert(x != NULL);
        if (x->type != c->type) {
            fprintf(stderr, "FAIL: '%s': type %d, expected %d\n", c->text, x->type, c->type);
            return 1;
        }
        if (c->str != NULL)
            assert(strcmp(x->str, c->str) == 0);
        if (c->type == JVAL_NUMBER)
            assert(x->num == c->num);
        if (c->type == JVAL_BOOL)
            assert(jval_get_bool(v, c->key, false));
        assert(jval_get_string(v, "missing", "dflt")[0] == 'd');
        assert(jval_get_number(v, "missing", 7) == 7);
        jval_free(v);
    }
    /* Depth bound. */
    {
        GString *deep = g_string_new(NULL);
        for (int i = 0; i < JSONREAD_MAX_DEPTH + 2; i++)
            g_string_append_c(deep, '[');
        GError *err = NULL;
        assert(jval_parse("t", deep->str, -1, &err) == NULL);
        assert(strstr(err->message, "nested too deeply") != NULL);
        g_error_free(err);
        g_string_free(deep, TRUE);
        n++;
    }
    for (const struct bad_case *c = bad_cases; c->text != NULL; c++, n++) {
        GError *err = NULL;
        struct jval *v = jval_parse("t", c->text, -1, &err);
        if (v != NULL || err == NULL || strcmp(err->message, c->message) != 0) {
            fprintf(stderr, "FAIL: '%s': got '%s', expected '%s'\n", c->text,
                    err != NULL ? err->message : "(parsed)", c->message);
            return 1;
        }
        g_error_free(err);
    }
    printf("%u passed, 0 failed\n", n);
    return 0;
}
