/* A small streaming JSON writer on GString (plans, outputs, events). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

/* Writer state: caller-owned storage, json_init/json_release. */
struct json {
    GString *out;          /* owned */
    GArray *first;         /* stack of "no member written yet" flags */
    bool pretty;
    bool after_key;        /* a key was written; next value follows ':' */
};

void json_init(struct json *j, bool pretty);
void json_release(struct json *j);
/* Returns the text and resets the writer; caller frees. */
char *json_steal(struct json *j);

void json_begin_object(struct json *j);
void json_end_object(struct json *j);
void json_begin_array(struct json *j);
void json_end_array(struct json *j);
void json_key(struct json *j, const char *key);
void json_string(struct json *j, const char *s);   /* NULL → null */
void json_uint(struct json *j, uint64_t v);
void json_int(struct json *j, int64_t v);
void json_double(struct json *j, double v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
/* Insert already-formatted JSON text as a value. */
void json_raw(struct json *j, const char *text);

/* Convenience: key + value. */
void json_kv_string(struct json *j, const char *key, const char *s);
void json_kv_uint(struct json *j, const char *key, uint64_t v);
void json_kv_bool(struct json *j, const char *key, bool v);

/* Append s as a quoted, escaped JSON string to out. */
void json_quote(GString *out, const char *s);

/* The value of the top-level string member key of a compact JSON object
 * that json.c wrote (as step outputs), unescaped; NULL when absent or not
 * a string.  Not a general parser.  Returns a new string. */
char *json_lookup_string(const char *text, const char *key);
