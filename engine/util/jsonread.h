/* A small, bounded JSON reader: text → tree of struct jval.  For what
 * convoy wrote itself (step outputs, saved plans), so it is strict
 * (RFC 8259, no comments, no trailing commas) and bounded in depth. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#define JSONREAD_MAX_DEPTH 64

enum jval_type {
    JVAL_NULL,
    JVAL_BOOL,
    JVAL_NUMBER,
    JVAL_STRING,
    JVAL_ARRAY,
    JVAL_OBJECT,
    JVAL_LAST,
};

struct jval {
    enum jval_type type;
    bool b;               /* JVAL_BOOL */
    double num;           /* JVAL_NUMBER */
    char *str;            /* JVAL_STRING, owned (UTF-8) */
    GPtrArray *items;     /* JVAL_ARRAY: of struct jval*, owned;
                           * JVAL_OBJECT: of struct jmember*, owned */
};

struct jmember {
    char *key;            /* owned */
    struct jval *val;     /* owned */
};

/* Parse text (len bytes, or -1 for NUL-terminated).  On a syntax error
 * returns NULL with CONVOY_ERROR_FORMAT naming name and the byte offset.
 * Returns a new tree, caller frees with jval_free. */
struct jval *jval_parse(const char *name, const char *text, gssize len,
                        GError **error);
void jval_free(struct jval *v);
typedef struct jval jval; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(jval, jval_free)

/* Member of an object by key; NULL when v is not an object or has none.
 * Borrowed. */
const struct jval *jval_get(const struct jval *v, const char *key);
/* Typed lookups with a default when absent or of another type. */
const char *jval_get_string(const struct jval *v, const char *key,
                            const char *dflt);
double jval_get_number(const struct jval *v, const char *key, double dflt);
bool jval_get_bool(const struct jval *v, const char *key, bool dflt);
