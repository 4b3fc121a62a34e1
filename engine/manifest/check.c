/* Typed readers for manifest nodes: each checks one value against what
 * its key expects and reports a located error saying what was expected
 * and what was found. */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "manifest/manifest-priv.h"
#include "util/size.h"

struct manifest_loc
mloc(struct mload *l, const struct ynode *n)
{
    struct manifest_loc loc = {
        .file = g_hash_table_lookup(l->file_names, n->pos.file),
        .line = n->pos.line,
        .col = n->pos.col,
    };

    return loc;
}

const char *
mdir(struct mload *l, const struct ynode *n)
{
    return g_hash_table_lookup(l->dirs, n->pos.file);
}

char *
mjoin_names(GPtrArray *objects, size_t name_offset)
{
    g_autoptr(GString) s = g_string_new(NULL);

    for (guint i = 0; i < objects->len; i++) {
        const char *obj = g_ptr_array_index(objects, i);
        const char *name = *(char *const *)(obj + name_offset);
        if (i > 0)
            g_string_append(s, ", ");
        g_string_append(s, name);
    }
    return g_string_free(g_steal_pointer(&s), FALSE);
}

/* What was found, for "got …": a quoted scalar, or the node's kind. */
static char *
got_text(const struct ynode *n, bool quote)
{
    if (n->kind != YNODE_SCALAR)
        return g_strdup_printf("a %s", ynode_kind_name(n->kind));
    if (ynode_is_null(n))
        return g_strdup("nothing");
    if (quote || n->quoted)
        return g_strdup_printf("'%s'", n->value);
    return g_strdup(n->value);
}

bool
mcheck_keys(struct mload *l, const struct ynode *map, const char *what,
            const char *const *allowed)
{
    bool ok = true;

    for (guint i = 0; i < map->pairs->len; i++) {
        const struct ynode_pair *p = g_ptr_array_index(map->pairs, i);
        const char *k = p->key->value;
        if (g_str_has_prefix(k, "x-") || g_strv_contains(allowed, k))
            continue;
        /* Sources report an inline secret with its own message. */
        if (strcmp(k, "password") == 0 && g_str_has_suffix(what, "source"))
            continue;
        ok = false;
        const char *dym = ydid_you_mean(k, allowed);
        if (dym != NULL) {
            ydiag_error(&l->diag, p->key, "unknown key '%s' in %s; did you mean '%s'?", k, what, dym);
        } else {
            g_autofree char *list = g_strjoinv(", ", (char **)allowed);
            ydiag_error(&l->diag, p->key, "unknown key '%s' in %s; expected one of: %s", k, what, list);
        }
    }
    return ok;
}

bool
mcheck_mapping(struct mload *l, const struct ynode *n, const char *key)
{
    if (n->kind == YNODE_MAPPING)
        return true;
    g_autofree char *got = got_text(n, true);
    ydiag_error(&l->diag, n, "'%s': expected a mapping, got %s", key, got);
    return false;
}

bool
mrequire(struct mload *l, const struct ynode *map, const char *key,
         const char *what)
{
    if (ynode_get(map, key) != NULL)
        return true;
    ydiag_error(&l->diag, map, "missing required key '%s' in %s", key, what);
    return false;
}

bool
mget_string(struct mload *l, const struct ynode *n, const char *key,
            char **out)
{
    if (g_hash_table_contains(l->bad_nodes, n))
        return false;
    if (n->kind != YNODE_SCALAR || ynode_is_null(n) || n->value[0] == '\0') {
        g_autofree char *got = got_text(n, true);
        ydiag_error(&l->diag, n, "'%s': expected a non-empty string, got %s", key, got);
        return false;
    }
    if (n->has_nul) {
        ydiag_error(&l->diag, n, "'%s': expected a string without NUL characters ('\\0')", key);
        return false;
    }
    for (const char *p = n->value; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            ydiag_error(&l->diag, n, "'%s': expected a string without control characters or line breaks", key);
            return false;
        }
    }
    *out = g_strdup(n->value);
    return true;
}

bool
mname_valid(const char *s)
{
    if (s == NULL || !g_ascii_isalnum(s[0]) || strlen(s) > 128)
        return false;
    for (const char *p = s; *p != '\0'; p++) {
        if (!g_ascii_isalnum(*p) && *p != '.' && *p != '_' && *p != '-')
            return false;
    }
    return true;
}

/* A name that becomes part of a file name on a target (a VM's name and
 * rename:): not a path, not an option. */
bool
mget_file_name(struct mload *l, const struct ynode *n, const char *key,
               char **out)
{
    g_autofree char *s = NULL;

    if (!mget_string(l, n, key, &s))
        return false;
    if (strchr(s, '/') != NULL || strcmp(s, ".") == 0 ||
        strcmp(s, "..") == 0 || s[0] == '-') {
        ydiag_error(&l->diag, n, "'%s': expected a name that is not a path: without '/', not '.' or '..', and not starting with '-', got '%s'", key, s);
        return false;
    }
    *out = g_steal_pointer(&s);
    return true;
}

bool
mget_name(struct mload *l, const struct ynode *n, const char *key,
          char **out)
{
    g_autofree char *s = NULL;

    if (!mget_string(l, n, key, &s))
        return false;
    if (!mname_valid(s)) {
        ydiag_error(&l->diag, n, "'%s': expected a name of letters, digits, '.', '_' and '-' starting with a letter or digit, got '%s'", key, s);
        return false;
    }
    *out = g_steal_pointer(&s);
    return true;
}

bool
mget_path(struct mload *l, const struct ynode *n, const char *key,
          char **out)
{
    g_autofree char *s = NULL;

    if (!mget_string(l, n, key, &s))
        return false;
    *out = g_canonicalize_filename(s, mdir(l, n));
    return true;
}

bool
mget_url(struct mload *l, const struct ynode *n, const char *key,
         char **out)
{
    g_autofree char *s = NULL;

    if (!mget_string(l, n, key, &s))
        return false;
    g_autoptr(GUri) uri = g_uri_parse(s, G_URI_FLAGS_NONE, NULL);
    const char *scheme = uri != NULL ? g_uri_get_scheme(uri) : NULL;
    const char *host = uri != NULL ? g_uri_get_host(uri) : NULL;
    if (scheme == NULL || host == NULL || host[0] == '\0' ||
        (g_ascii_strcasecmp(scheme, "http") != 0 &&
         g_ascii_strcasecmp(scheme, "https") != 0)) {
        ydiag_error(&l->diag, n, "'%s': expected an http:// or https:// URL, got '%s'", key, s);
        return false;
    }
    if (g_uri_get_userinfo(uri) != NULL) {
        /* Not echoed: the user info may hold a password. */
        ydiag_error(&l->diag, n, "'%s': credentials are never written in a URL; use username with password_file or password_env", key);
        return false;
    }
    *out = g_steal_pointer(&s);
    return true;
}

bool
mget_uint(struct mload *l, const struct ynode *n, const char *key,
          uint64_t min, uint64_t max, uint64_t *out)
{
    if (g_hash_table_contains(l->bad_nodes, n))
        return false;
    guint64 v = 0;

    if (ynode_as_uint64(n, &v) && v >= min && v <= max) {
        *out = v;
        return true;
    }
    g_autofree char *got = got_text(n, false);
    if (max == UINT64_MAX)
        ydiag_error(&l->diag, n, "'%s': expected an integer >= %" G_GUINT64_FORMAT ", got %s", key, (guint64)min, got);
    else
        ydiag_error(&l->diag, n, "'%s': expected an integer from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT ", got %s", key, (guint64)min, (guint64)max, got);
    return false;
}

char *
mgot_text(const struct ynode *n)
{
    return got_text(n, true);
}

bool
mget_bool(struct mload *l, const struct ynode *n, const char *key,
          bool *out)
{
    if (g_hash_table_contains(l->bad_nodes, n))
        return false;
    if (ynode_as_bool(n, out))
        return true;
    g_autofree char *got = got_text(n, true);
    ydiag_error(&l->diag, n, "'%s': expected true or false, got %s", key, got);
    return false;
}

bool
mget_enum(struct mload *l, const struct ynode *n, const char *key,
          const char *const *names, unsigned *out)
{
    if (g_hash_table_contains(l->bad_nodes, n))
        return false;
    if (n->kind == YNODE_SCALAR) {
        for (unsigned i = 0; names[i] != NULL; i++) {
            if (strcmp(n->value, names[i]) == 0) {
                *out = i;
                return true;
            }
        }
    }
    /* "a or b", "a, b or c" */
    g_autoptr(GString) exp = g_string_new(NULL);
    for (unsigned i = 0; names[i] != NULL; i++) {
        if (i > 0)
            g_string_append(exp, names[i + 1] == NULL ? " or " : ", ");
        g_string_append(exp, names[i]);
    }
    g_autofree char *got = got_text(n, true);
    ydiag_error(&l->diag, n, "'%s': expected %s, got %s", key, exp->str, got);
    return false;
}

bool
mget_size(struct mload *l, const struct ynode *n, const char *key,
          uint64_t *out)
{
    if (g_hash_table_contains(l->bad_nodes, n))
        return false;
    guint64 v = 0;

    /* A bare number has no unit: 'memory: 512' meant 512 bytes, which
     * nobody means; the unit is said, bytes too (512B). */
    if (n->kind == YNODE_SCALAR && n->value[0] != '\0' &&
        strspn(n->value, "0123456789") == strlen(n->value)) {
        ydiag_error(&l->diag, n, "'%s': a size needs a unit, got the bare number %s; write %sMiB, %sGiB or %sB for bytes", key, n->value, n->value, n->value, n->value);
        return false;
    }
    if (n->kind == YNODE_SCALAR && size_parse(n->value, &v) && v > 0) {
        *out = v;
        return true;
    }
    g_autofree char *got = got_text(n, true);
    ydiag_error(&l->diag, n, "'%s': expected a size with a unit such as 8GiB or 512MiB, got %s", key, got);
    return false;
}
