/* The manifest loader: files and directories → ynode documents → one
 * validated model, with every error collected (file:line:col) before
 * failing. */
#include "config.h"

#include <string.h>

#include "manifest/manifest-priv.h"
#include "util/error.h"
#include "util/location.h"

#define MANIFEST_MAX_WAVES 1000
#define MANIFEST_MAX_FILES 1000

static const char *const top_keys[] = {
    "version", "state", "defaults", "sources", "targets", "waves", "moves",
    "notify", NULL,
};
static const char *const notify_keys[] = {
    "url", "token_file", "ca_file", "insecure", "timeout", NULL,
};
static const char *const defaults_keys[] = {
    "target", "disk_format", "allocation", "source_power", "start", "autostart",
    "rules", "memory", "vcpus", "guest", NULL,
};

static void
mload_init(struct mload *l)
{
    memset(l, 0, sizeof *l);
    l->m = g_new0(struct manifest, 1);
    l->m->version = 1;
    l->m->files = g_ptr_array_new_with_free_func(g_free);
    l->m->warnings = g_ptr_array_new_with_free_func(g_free);
    l->m->sources = g_ptr_array_new_with_free_func(msource_free);
    l->m->targets = g_ptr_array_new_with_free_func(mtarget_free);
    l->m->waves = g_ptr_array_new_with_free_func(mwave_free);
    l->m->vms = g_ptr_array_new_with_free_func(mvm_free);
    l->m->moves = g_ptr_array_new_with_free_func(mmove_free);
    ydiag_init(&l->diag, MANIFEST_MAX_ERRORS);
    l->docs = g_ptr_array_new_with_free_func((GDestroyNotify)ydoc_free);
    l->file_names = g_hash_table_new(NULL, NULL);
    l->dirs = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    l->source_keys = g_hash_table_new(g_str_hash, g_str_equal);
    l->target_keys = g_hash_table_new(g_str_hash, g_str_equal);
    l->wave_nodes = g_ptr_array_new();
    l->bad_nodes = g_hash_table_new(NULL, NULL);
    msettings_init(&l->base);
}

static void
parse_notify(struct mload *l, const struct ynode *n)
{
    struct manifest_notify *nt;
    const struct ynode *x;
    uint64_t v = 0;

    if (!mcheck_mapping(l, n, "notify") || !mcheck_keys(l, n, "notify", notify_keys))
        return;
    nt = g_new0(struct manifest_notify, 1);
    nt->timeout = 30;
    nt->loc = mloc(l, n);
    l->m->notify = nt;
    if (mrequire(l, n, "url", "notify"))
        mget_url(l, ynode_get(n, "url"), "url", &nt->url);
    if ((x = ynode_get(n, "token_file")) != NULL)
        mget_path(l, x, "token_file", &nt->token_file);
    if ((x = ynode_get(n, "ca_file")) != NULL)
        mget_path(l, x, "ca_file", &nt->ca_file);
    if ((x = ynode_get(n, "insecure")) != NULL)
        mget_bool(l, x, "insecure", &nt->insecure);
    if (nt->insecure && nt->ca_file != NULL)
        ydiag_error(&l->diag, ynode_get(n, "insecure"), "'insecure': not with 'ca_file'; verify with the CA or do not verify at all");
    if ((x = ynode_get(n, "timeout")) != NULL && mget_uint(l, x, "timeout", 1, 600, &v))
        nt->timeout = (unsigned)v;
}

static void
mload_release(struct mload *l)
{
    manifest_free(l->m);
    ydiag_release(&l->diag);
    g_hash_table_unref(l->file_names);
    g_hash_table_unref(l->dirs);
    g_hash_table_unref(l->source_keys);
    g_hash_table_unref(l->target_keys);
    g_ptr_array_unref(l->wave_nodes);
    g_hash_table_unref(l->bad_nodes);
    msettings_release(&l->base);
    /* Documents last: the tables above point into them. */
    g_ptr_array_unref(l->docs);
}

static void
add_doc(struct mload *l, const char *path, struct ydoc *doc)
{
    char *name = g_strdup(path);
    g_autofree char *dir = g_path_get_dirname(path);

    g_ptr_array_add(l->m->files, name);
    g_ptr_array_add(l->docs, doc);
    g_hash_table_insert(l->file_names, doc->file, name);
    g_hash_table_insert(l->dirs, doc->file, g_canonicalize_filename(dir, NULL));
    if (l->m->base_dir == NULL)
        l->m->base_dir = g_canonicalize_filename(dir, NULL);
}

/* Fold a document's load error (already "FILE:L:C: error: …" lines) into
 * the collected diagnostics. */
static void
add_load_error(struct mload *l, const GError *err)
{
    g_auto(GStrv) lines = g_strsplit(err->message, "\n", -1);

    for (size_t i = 0; lines[i] != NULL; i++) {
        bool note = strstr(lines[i], ": note: ") != NULL;
        if (!note)
            l->diag.errors++;
        if (l->diag.errors <= l->diag.max)
            g_ptr_array_add(l->diag.lines, g_strdup(lines[i]));
    }
}

static gint
cmp_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files named by paths: files as given, directories as their *.yaml
 * and *.yml entries sorted by name. */
static GPtrArray *
collect_files(const char *const *paths, size_t n_paths, GError **error)
{
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);

    if (n_paths == 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_USAGE, "no manifest files given");
        return NULL;
    }
    for (size_t i = 0; i < n_paths; i++) {
        if (!g_file_test(paths[i], G_FILE_TEST_IS_DIR)) {
            g_ptr_array_add(files, g_strdup(paths[i]));
            continue;
        }
        g_autoptr(GError) err = NULL;
        g_autoptr(GDir) dir = g_dir_open(paths[i], 0, &err);
        if (dir == NULL) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO, "cannot read directory '%s': %s", paths[i], err->message);
            return NULL;
        }
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        const char *e;
        while ((e = g_dir_read_name(dir)) != NULL) {
            if (e[0] != '.' &&
                (g_str_has_suffix(e, ".yaml") || g_str_has_suffix(e, ".yml")))
                g_ptr_array_add(names, g_strdup(e));
        }
        if (names->len == 0) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID, "%s: error: no *.yaml or *.yml manifest files in this directory", paths[i]);
            return NULL;
        }
        g_ptr_array_sort(names, cmp_names);
        for (guint k = 0; k < names->len; k++)
            g_ptr_array_add(files, g_build_filename(paths[i], g_ptr_array_index(names, k), NULL));
    }
    if (files->len > MANIFEST_MAX_FILES) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID, "too many manifest files: at most %u are allowed", (unsigned)MANIFEST_MAX_FILES);
        return NULL;
    }
    return g_steal_pointer(&files);
}

/* 'state': a store location (util/location.h), its path relative to
 * the manifest's folder; which schemes exist is the state store's
 * business (state_open). */
static void
mget_state(struct mload *l, const struct ynode *n, char **out)
{
    g_autofree char *s = NULL;
    const char *problem = NULL;

    if (!mget_string(l, n, "state", &s))
        return;
    char *loc = location_resolve(s, mdir(l, n), &problem);
    if (loc == NULL) {
        ydiag_error(&l->diag, n, "'state': %s, got '%s'", problem, s);
        return;
    }
    *out = loc;
}

/* 'state' and 'defaults' may be set by one file only. */
static bool
once(struct mload *l, const struct ynode *key, const struct ynode **first)
{
    if (*first != NULL) {
        ydiag_error(&l->diag, key, "'%s': already set in another manifest file; set it in one file only", key->value);
        ydiag_note(&l->diag, *first, "first set here");
        return false;
    }
    *first = key;
    return true;
}

static void
top_level(struct mload *l, struct ydoc *doc)
{
    const struct ynode *root = doc->root;

    if (root == NULL) {
        struct ynode at = {.pos = {.file = doc->file, .line = 1, .col = 1}};
        ydiag_error(&l->diag, &at, "empty manifest; expected a mapping starting with 'version: 1'");
        return;
    }
    if (root->kind != YNODE_MAPPING) {
        ydiag_error(&l->diag, root, "expected a mapping at the top level, got a %s", ynode_kind_name(root->kind));
        return;
    }
    mcheck_keys(l, root, "manifest", top_keys);
    const struct ynode *version = ynode_get(root, "version");
    if (version == NULL) {
        ydiag_error(&l->diag, root, "missing required key 'version' in manifest; expected 'version: 1'");
    } else {
        guint64 v = 0;
        if (!ynode_as_uint64(version, &v) || v != 1) {
            g_autofree char *got = version->kind != YNODE_SCALAR
                ? g_strdup_printf("a %s", ynode_kind_name(version->kind))
                : version->quoted ? g_strdup_printf("'%s'", version->value)
                                  : g_strdup(version->value);
            ydiag_error(&l->diag, version, "'version': expected 1, got %s", got);
        }
    }

    for (guint i = 0; i < root->pairs->len; i++) {
        const struct ynode_pair *p = g_ptr_array_index(root->pairs, i);
        const char *k = p->key->value;
        const struct ynode *v = p->value;
        if (strcmp(k, "state") == 0) {
            if (once(l, p->key, &l->state_key))
                mget_state(l, v, &l->m->state_path);
        } else if (strcmp(k, "defaults") == 0) {
            if (once(l, p->key, &l->defaults_key))
                l->defaults = v;
        } else if (strcmp(k, "sources") == 0 || strcmp(k, "targets") == 0) {
            bool src = k[0] == 's';
            if (ynode_is_null(v))
                continue;
            if (!mcheck_mapping(l, v, k))
                continue;
            for (guint j = 0; j < v->pairs->len; j++) {
                const struct ynode_pair *d = g_ptr_array_index(v->pairs, j);
                if (g_str_has_prefix(d->key->value, "x-"))
                    continue;
                if (src)
                    msource_parse(l, d->key, d->value);
                else
                    mtarget_parse(l, d->key, d->value);
            }
        } else if (strcmp(k, "waves") == 0) {
            if (ynode_is_null(v))
                continue;
            if (v->kind != YNODE_SEQUENCE) {
                ydiag_error(&l->diag, v, "'waves': expected a list of waves, got a %s", ynode_kind_name(v->kind));
                continue;
            }
            for (guint j = 0; j < v->items->len; j++) {
                if (l->wave_nodes->len >= MANIFEST_MAX_WAVES) {
                    ydiag_error(&l->diag, g_ptr_array_index(v->items, j), "too many waves: at most %u are allowed", (unsigned)MANIFEST_MAX_WAVES);
                    break;
                }
                g_ptr_array_add(l->wave_nodes, g_ptr_array_index(v->items, j));
            }
        } else if (strcmp(k, "notify") == 0) {
            if (once(l, p->key, &l->notify_key))
                parse_notify(l, v);
        } else if (strcmp(k, "moves") == 0) {
            ydiag_error(&l->diag, p->key, "'moves': host moves belong to a wave; write them as the 'moves' list of a wave, which runs them with its limits and window");
        }
    }
}

/* One error line with its notes, and where it points. */
struct diag_group {
    guint file;                /* index in m->files; G_MAXUINT: none */
    guint64 line, col;
    guint seq;                 /* discovery order, for a stable sort */
    GPtrArray *lines;          /* borrowed strings */
};

static gint
cmp_groups(gconstpointer a, gconstpointer b)
{
    const struct diag_group *x = a, *y = b;

    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
group_position(struct mload *l, const char *text, struct diag_group *g)
{
    g->file = G_MAXUINT;
    for (guint i = 0; i < l->m->files->len; i++) {
        const char *f = g_ptr_array_index(l->m->files, i);
        size_t n = strlen(f);
        if (strncmp(text, f, n) != 0 || text[n] != ':')
            continue;
        char *end = NULL;
        g->line = g_ascii_strtoull(text + n + 1, &end, 10);
        if (end != NULL && *end == ':')
            g->col = g_ascii_strtoull(end + 1, NULL, 10);
        g->file = i;
        return;
    }
}

/* Errors are found section by section; show them in file order, each
 * error followed by its notes. */
static void
sort_diag(struct mload *l)
{
    GPtrArray *lines = l->diag.lines;
    g_autoptr(GArray) groups = g_array_new(FALSE, TRUE, sizeof(struct diag_group));

    for (guint i = 0; i < lines->len; i++) {
        const char *text = g_ptr_array_index(lines, i);
        if (strstr(text, ": note: ") != NULL && groups->len > 0) {
            struct diag_group *last = &g_array_index(groups, struct diag_group, groups->len - 1);
            g_ptr_array_add(last->lines, (gpointer)text);
            continue;
        }
        struct diag_group g = {.seq = i, .lines = g_ptr_array_new()};
        group_position(l, text, &g);
        g_ptr_array_add(g.lines, (gpointer)text);
        g_array_append_val(groups, g);
    }
    g_array_sort(groups, cmp_groups);

    GPtrArray *sorted = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < groups->len; i++) {
        struct diag_group *g = &g_array_index(groups, struct diag_group, i);
        for (guint k = 0; k < g->lines->len; k++)
            g_ptr_array_add(sorted, g_ptr_array_index(g->lines, k));
        g_ptr_array_unref(g->lines);
    }
    /* The strings moved to sorted. */
    g_ptr_array_set_free_func(lines, NULL);
    g_ptr_array_unref(lines);
    l->diag.lines = sorted;
}

static struct manifest *
validate(struct mload *l, GError **error)
{
    for (guint i = 0; i < l->docs->len; i++)
        menv_expand(l, g_ptr_array_index(l->docs, i));
    for (guint i = 0; i < l->docs->len; i++)
        top_level(l, g_ptr_array_index(l->docs, i));

    if (l->defaults != NULL && mcheck_mapping(l, l->defaults, "defaults")) {
        mcheck_keys(l, l->defaults, "defaults", defaults_keys);
        msettings_apply(l, l->defaults, "defaults", &l->base);
    }
    mwaves_parse(l);
    l->m->default_target = g_strdup(l->base.target);

    if (l->m->state_path == NULL)
        l->m->state_path = g_build_filename(l->m->base_dir, ".convoy", "state.db", NULL);
    sort_diag(l);
    if (!ydiag_finish(&l->diag, error))
        return NULL;
    /* No errors: what is left are warnings. */
    for (guint i = 0; i < l->diag.lines->len; i++)
        g_ptr_array_add(l->m->warnings, g_strdup(g_ptr_array_index(l->diag.lines, i)));
    return g_steal_pointer(&l->m);
}

struct manifest *
manifest_load(const char *const *paths, size_t n_paths, GError **error)
{
    g_autoptr(GPtrArray) files = collect_files(paths, n_paths, error);
    if (files == NULL)
        return NULL;

    struct mload l;
    mload_init(&l);
    for (guint i = 0; i < files->len; i++) {
        const char *path = g_ptr_array_index(files, i);
        g_autoptr(GError) err = NULL;
        struct ydoc *doc = ydoc_load_file(path, &err);
        if (doc != NULL) {
            add_doc(&l, path, doc);
        } else if (g_error_matches(err, CONVOY_ERROR, CONVOY_ERROR_INVALID)) {
            add_load_error(&l, err);
        } else {
            g_propagate_error(error, g_steal_pointer(&err));
            mload_release(&l);
            return NULL;
        }
    }
    struct manifest *m = NULL;
    if (ydiag_finish(&l.diag, error))
        m = validate(&l, error);
    mload_release(&l);
    return m;
}

struct manifest *
manifest_load_data(const char *name, const char *data, size_t len,
                   GError **error)
{
    struct mload l;
    mload_init(&l);

    struct ydoc *doc = ydoc_load_data(name, data, len, error);
    struct manifest *m = NULL;
    if (doc != NULL) {
        add_doc(&l, name, doc);
        m = validate(&l, error);
    }
    mload_release(&l);
    return m;
}
