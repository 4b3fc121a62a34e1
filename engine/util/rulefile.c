/* rulefile: the part of loading a rules file that domain rules and guest
 * rules share (search path, YAML tree, digest, header, messages). */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "util/error.h"
#include "util/hash.h"
#include "util/rulefile.h"

#define GUEST_MAX_VERSION 1000000u

/* ------------------------------------------------------------------ */
/* Finding rule sets */

char **
rulefile_search_path(const char *manifest_dir, const char *kind)
{
    GPtrArray *dirs = g_ptr_array_new();
    const char *env = g_getenv("CONVOY_RULESDIR");

    if (manifest_dir != NULL)
        g_ptr_array_add(dirs, g_build_filename(manifest_dir, "rules", kind, NULL));
    if (env != NULL && *env != '\0')
        g_ptr_array_add(dirs, g_build_filename(env, kind, NULL));
    g_ptr_array_add(dirs, g_build_filename(CONVOY_RULESDIR, kind, NULL));
    g_ptr_array_add(dirs, g_build_filename(CONVOY_SRC_RULESDIR, kind, NULL));
    g_ptr_array_add(dirs, NULL);
    return (char **)g_ptr_array_free(dirs, FALSE);
}

char *
rulefile_find(const char *name, const char *const *dirs)
{
    g_autofree char *base = g_strconcat(name, ".yaml", NULL);

    for (size_t i = 0; dirs != NULL && dirs[i] != NULL; i++) {
        g_autofree char *path = g_build_filename(dirs[i], base, NULL);

        if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
            return g_steal_pointer(&path);
    }
    return NULL;
}

bool
rulefile_is_name(const char *s, bool allow_leading_digit)
{
    if (s == NULL || s[0] == '\0')
        return false;
    if (!g_ascii_isalpha(s[0]) && s[0] != '_' && !(allow_leading_digit && g_ascii_isdigit(s[0])))
        return false;
    for (const char *p = s + 1; *p != '\0'; p++) {
        if (!g_ascii_isalnum(*p) && *p != '_' && *p != '-' && *p != '.')
            return false;
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Reading and parsing */

char *
rulefile_read(enum rulefile_kind kind, const char *path, size_t *len, GError **error)
{
    g_autofree char *data = NULL;
    g_autoptr(GError) err = NULL;
    gsize n = 0;

    if (!g_file_get_contents(path, &data, &n, &err)) {
        if (kind == RULEFILE_KIND_GUEST)
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID, "%s: error: cannot read: %s",
                        path, err->message);
        else
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO, "cannot read rules file '%s': %s",
                        path, err->message);
        return NULL;
    }
    *len = n;
    return g_steal_pointer(&data);
}

bool
rulefile_open(struct rulefile *rf, enum rulefile_kind kind, const char *name, const char *data,
              size_t len, GError **error)
{
    struct ydoc *doc;

    if (len > RULEFILE_MAX_BYTES) {
        if (kind == RULEFILE_KIND_GUEST)
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID,
                        "%s: error: rules file is larger than %u bytes", name,
                        RULEFILE_MAX_BYTES);
        else
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID,
                        "%s: error: rules file of %zu bytes is larger than the limit of %u bytes",
                        name, len, RULEFILE_MAX_BYTES);
        return false;
    }
    doc = ydoc_load_data(name, data, len, error);
    if (doc == NULL)
        return false;
    *rf = (struct rulefile){
        .kind = kind,
        .path = name,
        .data = data,
        .len = len,
        .doc = doc,
        .digest = hash_sha256_hex(data, len),
    };
    ydiag_init(&rf->diag, RULEFILE_MAX_ERRORS);
    return true;
}

void
rulefile_release(struct rulefile *rf)
{
    g_clear_pointer(&rf->doc, ydoc_free);
    g_clear_pointer(&rf->digest, g_free);
    ydiag_release(&rf->diag);
}

bool
rulefile_finish(struct rulefile *rf, GError **error)
{
    return ydiag_finish(&rf->diag, error);
}

/* ------------------------------------------------------------------ */
/* Scalars and keys */

const char *
rulefile_want_string(struct rulefile *rf, const struct ynode *n, const char *key)
{
    if (n->kind != YNODE_SCALAR || ynode_is_null(n)) {
        ydiag_error(&rf->diag, n, "'%s': expected a string, got %s", key,
                    n->kind == YNODE_SCALAR ? "null" : ynode_kind_name(n->kind));
        return NULL;
    }
    return n->value;
}

bool
rulefile_is_known(const char *key, const char *const *known)
{
    for (size_t i = 0; known[i] != NULL; i++) {
        if (strcmp(key, known[i]) == 0)
            return true;
    }
    return false;
}

void
rulefile_unknown_key(struct rulefile *rf, const struct ynode *key, const char *where,
                     const char *const *known)
{
    const char *guess = ydid_you_mean(key->value, known);

    if (guess != NULL)
        ydiag_error(&rf->diag, key, "unknown key '%s' in %s; did you mean '%s'?", key->value,
                    where, guess);
    else
        ydiag_error(&rf->diag, key, "unknown key '%s' in %s", key->value, where);
}

/* A required key of the top mapping is missing. */
static void
missing_key(struct rulefile *rf, const struct ynode *root, const char *key)
{
    if (rf->kind == RULEFILE_KIND_GUEST)
        ydiag_error(&rf->diag, root, "guest rules file: '%s' is required", key);
    else
        ydiag_error(&rf->diag, root, "missing required key '%s'", key);
}

/* ------------------------------------------------------------------ */
/* The top of the file */

const struct ynode *
rulefile_root(struct rulefile *rf, GError **error)
{
    const struct ynode *root = rf->doc->root;

    if (root != NULL && root->kind == YNODE_MAPPING)
        return root;
    if (rf->kind != RULEFILE_KIND_GUEST) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID,
                    "%s:%u:%u: error: expected a mapping with name, version and rules", rf->path,
                    root != NULL ? root->pos.line : 1, root != NULL ? root->pos.col : 1);
        return NULL;
    }
    if (root == NULL)
        ydiag_error(&rf->diag, NULL, "empty rules file");
    else
        ydiag_error(&rf->diag, root, "a guest rules file: expected a mapping, got a %s",
                    ynode_kind_name(root->kind));
    rulefile_finish(rf, error);
    return NULL;
}

void
rulefile_header_release(struct rulefile_header *h)
{
    g_clear_pointer(&h->name, g_free);
    g_clear_pointer(&h->description, g_free);
}

static void
read_name(struct rulefile *rf, const struct ynode *root, struct rulefile_header *h)
{
    const struct ynode *v = ynode_get(root, "name");
    const char *name;

    if (v == NULL) {
        missing_key(rf, root, "name");
        return;
    }
    name = rulefile_want_string(rf, v, "name");
    if (name == NULL)
        return;
    if (!rulefile_is_name(name, true)) {
        if (rf->kind == RULEFILE_KIND_GUEST)
            ydiag_error(&rf->diag, v, "'name': '%s' is not an identifier (letters, digits, _ - .)",
                        name);
        else
            ydiag_error(
                &rf->diag, v,
                "'name': invalid rule set name '%s'; expected letters, digits, '_', '-' or '.'",
                name);
        return;
    }
    h->name = g_strdup(name);
}

static void
read_version(struct rulefile *rf, const struct ynode *root, struct rulefile_header *h)
{
    const struct ynode *v = ynode_get(root, "version");
    guint64 version = 0;
    bool guest = rf->kind == RULEFILE_KIND_GUEST;

    if (v == NULL) {
        missing_key(rf, root, "version");
        return;
    }
    if (ynode_as_uint64(v, &version) && version != 0 &&
        version <= (guest ? GUEST_MAX_VERSION : G_MAXUINT)) {
        h->version = (unsigned)version;
        return;
    }
    if (guest)
        ydiag_error(&rf->diag, v, "'version': expected a whole number from 1 to %u",
                    GUEST_MAX_VERSION);
    else
        ydiag_error(&rf->diag, v, "'version': expected a positive integer, got '%s'",
                    v->kind == YNODE_SCALAR ? v->value : ynode_kind_name(v->kind));
}

void
rulefile_read_header(struct rulefile *rf, const struct ynode *root, const char *const *top_keys,
                     struct rulefile_header *h)
{
    const struct ynode *v;

    for (guint i = 0; i < root->pairs->len; i++) {
        const struct ynode_pair *p = root->pairs->pdata[i];

        if (!rulefile_is_known(p->key->value, top_keys))
            rulefile_unknown_key(rf, p->key,
                                 rf->kind == RULEFILE_KIND_GUEST ? "a guest rules file"
                                                                 : "rule set",
                                 top_keys);
    }
    read_name(rf, root, h);
    read_version(rf, root, h);
    v = ynode_get(root, "description");
    if (v != NULL) {
        const char *d = rulefile_want_string(rf, v, "description");
        if (d != NULL)
            h->description = g_strdup(d);
    }
}

const struct ynode *
rulefile_rules(struct rulefile *rf, const struct ynode *root, unsigned max_rules)
{
    const struct ynode *v = ynode_get(root, "rules");

    if (v == NULL) {
        missing_key(rf, root, "rules");
        return NULL;
    }
    if (rf->kind != RULEFILE_KIND_GUEST && v->kind == YNODE_SCALAR && ynode_is_null(v))
        return NULL; /* an empty list of rules */
    if (v->kind != YNODE_SEQUENCE) {
        ydiag_error(&rf->diag, v, "'rules': expected a list of rules, got a %s",
                    ynode_kind_name(v->kind));
        return NULL;
    }
    if (max_rules != 0 && v->items->len > max_rules) {
        ydiag_error(&rf->diag, v, "'rules': %u rules is more than the limit of %u",
                    v->items->len, max_rules);
        return NULL;
    }
    return v;
}
