/* rules: read a guest rule set (YAML, docs/guest-rules-format.md) into the
 * model of guest-priv.h, checking everything that can be checked before a
 * guest is seen: keys, one operation per rule, fact names, ${FACT}
 * references, regexes, modes, upload files. */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "guest/guest-priv.h"
#include "util/error.h"
#include "util/json.h"
#include "util/rulefile.h"
#include "util/ynode.h"

static const char *const top_keys[] = {
    "name", "version", "description", "when", "rules", NULL,
};

static const char *const op_names[GUEST_OP_LAST] = {
    [GUEST_OP_REPLACE] = "replace",
    [GUEST_OP_AUGEAS] = "augeas",
    [GUEST_OP_WRITE] = "write",
    [GUEST_OP_DELETE] = "delete",
    [GUEST_OP_SYMLINK] = "symlink",
    [GUEST_OP_UPLOAD] = "upload",
    [GUEST_OP_COMMAND] = "command",
    [GUEST_OP_REMOVE_PACKAGES] = "remove-packages",
    [GUEST_OP_REFUSE] = "refuse",
    [GUEST_OP_RENAME_DISKS] = "rename-disks",
};

static const char *const rule_keys[] = {
    "id",     "description", "when",    "replace", "augeas",          "write",  "delete",
    "symlink", "upload",     "command", "remove-packages", "refuse", "rename-disks", NULL,
};

struct loader {
    struct rulefile rf; /* the file: tree and errors */
    struct guest_rule_set *rs;
};

/* ------------------------------------------------------------------ */
/* Model lifecycle */

static void
cond_free(gpointer p)
{
    struct guest_cond *c = p;

    g_free(c->fact);
    if (c->values != NULL)
        g_ptr_array_unref(c->values);
    g_free(c);
}

static void
when_init(struct guest_when *w)
{
    w->conds = g_ptr_array_new_with_free_func(cond_free);
    w->exists = g_ptr_array_new_with_free_func(g_free);
    w->missing = g_ptr_array_new_with_free_func(g_free);
}

static void
when_release(struct guest_when *w)
{
    g_clear_pointer(&w->conds, g_ptr_array_unref);
    g_clear_pointer(&w->exists, g_ptr_array_unref);
    g_clear_pointer(&w->missing, g_ptr_array_unref);
}

static void
rule_free(gpointer p)
{
    struct guest_rule *r = p;

    g_free(r->id);
    g_free(r->description);
    when_release(&r->when);
    g_free(r->file);
    if (r->regex != NULL)
        g_regex_unref(r->regex);
    g_free(r->with);
    g_free(r->to);
    g_free(r->target);
    g_free(r->run);
    g_free(r->message);
    if (r->set_paths != NULL)
        g_ptr_array_unref(r->set_paths);
    if (r->set_values != NULL)
        g_ptr_array_unref(r->set_values);
    if (r->paths != NULL)
        g_ptr_array_unref(r->paths);
    g_free(r);
}

void
guest_rule_set_free(struct guest_rule_set *rs)
{
    if (rs == NULL)
        return;
    g_free(rs->name);
    g_free(rs->path);
    g_free(rs->base_dir);
    g_free(rs->digest);
    g_free(rs->description);
    when_release(&rs->when);
    if (rs->rules != NULL)
        g_ptr_array_unref(rs->rules);
    g_free(rs);
}

const char *
guest_rule_set_name(const struct guest_rule_set *rs)
{
    return rs->name;
}

unsigned
guest_rule_set_version(const struct guest_rule_set *rs)
{
    return rs->version;
}

const char *
guest_rule_set_path(const struct guest_rule_set *rs)
{
    return rs->path;
}

const char *
guest_rule_set_digest(const struct guest_rule_set *rs)
{
    return rs->digest;
}

bool
guest_rule_set_matches(const struct guest_rule_set *rs, GHashTable *facts)
{
    return guest_when_holds(&rs->when, facts, NULL, NULL);
}

/* ------------------------------------------------------------------ */
/* Scalars */

/* Every ${FACT} in s must name a known fact. */
static bool
check_template(struct loader *l, const struct ynode *n, const char *key, const char *s)
{
    for (const char *p = strstr(s, "${"); p != NULL; p = strstr(p + 2, "${")) {
        const char *end = strchr(p + 2, '}');
        g_autofree char *name = NULL;

        if (end == NULL) {
            ydiag_error(&l->rf.diag, n, "'%s': unterminated '${' (write ${FACT})", key);
            return false;
        }
        name = g_strndup(p + 2, (gsize)(end - p - 2));
        if (!guest_fact_known(name)) {
            const char *guess = ydid_you_mean(name, guest_fact_names);
            ydiag_error(&l->rf.diag, n, "'%s': unknown fact '${%s}'%s%s%s", key, name,
                        guess ? "; did you mean '" : "", guess ? guess : "",
                        guess ? "'?" : "");
            return false;
        }
    }
    return true;
}

/* A string that may hold ${FACT}. */
static char *
want_template(struct loader *l, const struct ynode *n, const char *key)
{
    const char *s = rulefile_want_string(&l->rf, n, key);

    if (s == NULL || !check_template(l, n, key, s))
        return NULL;
    return g_strdup(s);
}

/* An absolute guest path, which may hold ${FACT}. */
static char *
want_path(struct loader *l, const struct ynode *n, const char *key)
{
    const char *s = rulefile_want_string(&l->rf, n, key);

    if (s == NULL)
        return NULL;
    if (s[0] != '/') {
        ydiag_error(&l->rf.diag, n, "'%s': expected an absolute path in the guest, got '%s'", key, s);
        return NULL;
    }
    if (!check_template(l, n, key, s))
        return NULL;
    return g_strdup(s);
}

/* A path or a list of paths (or names, when paths is false). */
static GPtrArray *
want_list(struct loader *l, const struct ynode *n, const char *key, bool paths)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);

    if (n->kind == YNODE_SCALAR) {
        char *s = paths ? want_path(l, n, key) : g_strdup(rulefile_want_string(&l->rf, n, key));
        if (s != NULL)
            g_ptr_array_add(out, s);
    } else if (n->kind == YNODE_SEQUENCE && n->items->len > 0) {
        for (guint i = 0; i < n->items->len; i++) {
            const struct ynode *it = n->items->pdata[i];
            const char *v;
            char *s;

            if (paths) {
                s = want_path(l, it, key);
            } else if ((v = rulefile_want_string(&l->rf, it, key)) != NULL) {
                s = g_strdup(v);
            } else {
                s = NULL;
            }
            if (s != NULL)
                g_ptr_array_add(out, s);
        }
    } else {
        ydiag_error(&l->rf.diag, n, "'%s': expected %s or a non-empty list of them", key,
                    paths ? "a path" : "a name");
    }
    return out;
}

static bool
want_uint(struct loader *l, const struct ynode *n, const char *key, unsigned max,
          unsigned *out)
{
    guint64 v;

    if (!ynode_as_uint64(n, &v) || v == 0 || v > max) {
        ydiag_error(&l->rf.diag, n, "'%s': expected a whole number from 1 to %u", key, max);
        return false;
    }
    *out = (unsigned)v;
    return true;
}

/* File modes are octal whatever the YAML flavour: 0644, 644 or 0o644. */
static bool
want_mode(struct loader *l, const struct ynode *n, unsigned *out)
{
    const char *s = n->kind == YNODE_SCALAR ? n->value : "";
    char *end = NULL;
    guint64 v;

    if (g_str_has_prefix(s, "0o"))
        s += 2;
    v = g_ascii_strtoull(s, &end, 8);
    if (*s == '\0' || end == NULL || *end != '\0' || v > 07777) {
        ydiag_error(&l->rf.diag, n, "'mode': expected an octal file mode such as 0644");
        return false;
    }
    *out = (unsigned)v;
    return true;
}

/* Check the keys of mapping n against known; false if n is no mapping. */
static bool
check_keys(struct loader *l, const struct ynode *n, const char *where,
           const char *const *known)
{
    if (n->kind != YNODE_MAPPING) {
        ydiag_error(&l->rf.diag, n, "%s: expected a mapping, got a %s", where,
                    ynode_kind_name(n->kind));
        return false;
    }
    for (guint i = 0; i < n->pairs->len; i++) {
        const struct ynode_pair *pr = n->pairs->pdata[i];

        if (!rulefile_is_known(pr->key->value, known))
            rulefile_unknown_key(&l->rf, pr->key, where, known);
    }
    return true;
}

/* A required key of mapping n. */
static const struct ynode *
need(struct loader *l, const struct ynode *n, const char *key, const char *where)
{
    const struct ynode *v = ynode_get(n, key);

    if (v == NULL)
        ydiag_error(&l->rf.diag, n, "%s: '%s' is required", where, key);
    return v;
}

/* ------------------------------------------------------------------ */
/* Conditions */

static void
load_cond(struct loader *l, const struct ynode *key, const struct ynode *v,
          struct guest_when *w)
{
    struct guest_cond *c;

    if (!guest_fact_known(key->value)) {
        const char *guess = ydid_you_mean(key->value, guest_fact_names);
        ydiag_error(&l->rf.diag, key, "when: unknown fact '%s'%s%s%s", key->value,
                    guess ? "; did you mean '" : "", guess ? guess : "", guess ? "'?" : "");
        return;
    }
    c = g_new0(struct guest_cond, 1);
    c->fact = g_strdup(key->value);
    if (v->kind == YNODE_SCALAR && !ynode_is_null(v) &&
        v->value[0] != '\0' && strchr("<>!", v->value[0]) != NULL) {
        const char *s = v->value;
        size_t oplen = (s[1] == '=') ? 2 : 1;
        char *end = NULL;

        if (strcmp(c->fact, "major") != 0 && strcmp(c->fact, "minor") != 0) {
            ydiag_error(&l->rf.diag, v, "when: '%s': comparisons work on major and minor only", c->fact);
            cond_free(c);
            return;
        }
        if ((s[0] == '!' && s[1] != '=') || (s[0] != '!' && oplen == 1 && s[1] == '=')) {
            ydiag_error(&l->rf.diag, v, "when: '%s': expected >=N, >N, <=N, <N or !=N", c->fact);
            cond_free(c);
            return;
        }
        memcpy(c->op, s, oplen);
        c->number = strtol(s + oplen, &end, 10);
        if (end == s + oplen || *end != '\0') {
            ydiag_error(&l->rf.diag, v, "when: '%s': expected a number after '%s'", c->fact, c->op);
            cond_free(c);
            return;
        }
    } else {
        c->values = want_list(l, v, c->fact, false);
        if (c->values->len == 0) {
            cond_free(c);
            return;
        }
        for (guint i = 0; i < c->values->len; i++) {
            if (*(const char *)c->values->pdata[i] == '\0') {
                ydiag_error(&l->rf.diag, v, "when: '%s': expected a value, got an empty string",
                            c->fact);
                cond_free(c);
                return;
            }
        }
    }
    g_ptr_array_add(w->conds, c);
}

static void
load_when(struct loader *l, const struct ynode *n, struct guest_when *w, bool paths_ok)
{
    if (n->kind != YNODE_MAPPING) {
        ydiag_error(&l->rf.diag, n, "when: expected a mapping of fact: value, got a %s",
                    ynode_kind_name(n->kind));
        return;
    }
    for (guint i = 0; i < n->pairs->len; i++) {
        const struct ynode_pair *pr = n->pairs->pdata[i];
        bool exists = strcmp(pr->key->value, "exists") == 0;

        if (exists || strcmp(pr->key->value, "missing") == 0) {
            g_autoptr(GPtrArray) list = NULL;

            if (!paths_ok) {
                ydiag_error(&l->rf.diag, pr->key,
                            "when: '%s' is not allowed in a rule set's own when: (it is checked before the guest is opened)",
                            pr->key->value);
                continue;
            }
            list = want_list(l, pr->value, pr->key->value, true);
            for (guint k = 0; k < list->len; k++)
                g_ptr_array_add(exists ? w->exists : w->missing, g_strdup(list->pdata[k]));
            continue;
        }
        load_cond(l, pr->key, pr->value, w);
    }
}

/* ------------------------------------------------------------------ */
/* Operations */

static void
load_replace(struct loader *l, const struct ynode *n, struct guest_rule *r)
{
    static const char *const keys[] = {"file", "regex", "with", "required", NULL};
    const struct ynode *v;
    g_autoptr(GError) err = NULL;

    if (!check_keys(l, n, "replace", keys))
        return;
    if ((v = need(l, n, "file", "replace")) != NULL)
        r->file = want_path(l, v, "file");
    if ((v = need(l, n, "regex", "replace")) != NULL && rulefile_want_string(&l->rf, v, "regex") != NULL) {
        r->regex = g_regex_new(v->value, G_REGEX_MULTILINE, 0, &err);
        if (r->regex == NULL)
            ydiag_error(&l->rf.diag, v, "'regex': %s", err->message);
    }
    if ((v = need(l, n, "with", "replace")) != NULL) {
        if (v->kind == YNODE_SCALAR && !ynode_is_null(v) && v->value[0] == '\0')
            r->with = g_strdup("");
        else
            r->with = want_template(l, v, "with");
        if (r->with != NULL && !g_regex_check_replacement(r->with, NULL, &err))
            ydiag_error(&l->rf.diag, v, "'with': %s", err->message);
    }
    if ((v = ynode_get(n, "required")) != NULL && !ynode_as_bool(v, &r->required))
        ydiag_error(&l->rf.diag, v, "'required': expected true or false");
}

/* rename-disks: {file, required}: the Xen disk names in file become the
 * names the KVM domain gives those disks (ops.c). */
static void
load_rename_disks(struct loader *l, const struct ynode *n, struct guest_rule *r)
{
    static const char *const keys[] = {"file", "required", NULL};
    const struct ynode *v;

    if (!check_keys(l, n, "rename-disks", keys))
        return;
    if ((v = need(l, n, "file", "rename-disks")) != NULL)
        r->file = want_path(l, v, "file");
    if ((v = ynode_get(n, "required")) != NULL && !ynode_as_bool(v, &r->required))
        ydiag_error(&l->rf.diag, v, "'required': expected true or false");
    r->regex = g_regex_new(GUEST_XEN_DISK_REGEX, G_REGEX_MULTILINE, 0, NULL);
}

static void
load_augeas(struct loader *l, const struct ynode *n, struct guest_rule *r)
{
    static const char *const keys[] = {"set", "remove", NULL};
    const struct ynode *set;
    const struct ynode *rm;

    if (!check_keys(l, n, "augeas", keys))
        return;
    set = ynode_get(n, "set");
    rm = ynode_get(n, "remove");
    if (set == NULL && rm == NULL) {
        ydiag_error(&l->rf.diag, n, "augeas: expected 'set', 'remove' or both");
        return;
    }
    r->set_paths = g_ptr_array_new_with_free_func(g_free);
    r->set_values = g_ptr_array_new_with_free_func(g_free);
    if (set != NULL) {
        if (set->kind != YNODE_MAPPING || set->pairs->len == 0) {
            ydiag_error(&l->rf.diag, set, "augeas: 'set': expected a mapping of Augeas path: value");
        } else {
            for (guint i = 0; i < set->pairs->len; i++) {
                const struct ynode_pair *pr = set->pairs->pdata[i];
                char *val;

                if (!g_str_has_prefix(pr->key->value, "/files/")) {
                    ydiag_error(&l->rf.diag, pr->key, "augeas: '%s': expected a path under /files/",
                                pr->key->value);
                    continue;
                }
                if (pr->value->kind == YNODE_SCALAR && !pr->value->quoted &&
                    ynode_is_null(pr->value))
                    val = g_strdup("");
                else
                    val = want_template(l, pr->value, pr->key->value);
                if (val == NULL)
                    continue;
                g_ptr_array_add(r->set_paths, g_strdup(pr->key->value));
                g_ptr_array_add(r->set_values, val);
            }
        }
    }
    if (rm != NULL) {
        r->paths = want_list(l, rm, "remove", false);
        for (guint i = 0; i < r->paths->len; i++) {
            if (!g_str_has_prefix(r->paths->pdata[i], "/files/"))
                ydiag_error(&l->rf.diag, rm, "augeas: remove '%s': expected a path under /files/",
                            (const char *)r->paths->pdata[i]);
        }
    }
}

static void
load_write(struct loader *l, const struct ynode *n, struct guest_rule *r)
{
    static const char *const keys[] = {"file", "content", "mode", NULL};
    const struct ynode *v;

    if (!check_keys(l, n, "write", keys))
        return;
    if ((v = need(l, n, "file", "write")) != NULL)
        r->file = want_path(l, v, "file");
    if ((v = need(l, n, "content", "write")) != NULL)
        r->with = want_template(l, v, "content");
    if ((v = ynode_get(n, "mode")) != NULL)
        want_mode(l, v, &r->mode);
}

static void
load_symlink(struct loader *l, const struct ynode *n, struct guest_rule *r)
{
    static const char *const keys[] = {"target", "link", NULL};
    const struct ynode *v;

    if (!check_keys(l, n, "symlink", keys))
        return;
    if ((v = need(l, n, "target", "symlink")) != NULL)
        r->target = want_template(l, v, "target");
    if ((v = need(l, n, "link", "symlink")) != NULL)
        r->to = want_path(l, v, "link");
}

static void
load_upload(struct loader *l, const struct ynode *n, struct guest_rule *r)
{
    static const char *const keys[] = {"file", "to", "mode", NULL};
    const struct ynode *v;

    if (!check_keys(l, n, "upload", keys))
        return;
    if ((v = need(l, n, "file", "upload")) != NULL && rulefile_want_string(&l->rf, v, "file") != NULL) {
        r->file = g_path_is_absolute(v->value)
                      ? g_strdup(v->value)
                      : g_build_filename(l->rs->base_dir, v->value, NULL);
        if (!g_file_test(r->file, G_FILE_TEST_IS_REGULAR))
            ydiag_error(&l->rf.diag, v, "upload: no file '%s' (looked for %s)", v->value, r->file);
    }
    if ((v = need(l, n, "to", "upload")) != NULL)
        r->to = want_path(l, v, "to");
    if ((v = ynode_get(n, "mode")) != NULL)
        want_mode(l, v, &r->mode);
}

static void
load_command(struct loader *l, const struct ynode *n, struct guest_rule *r)
{
    static const char *const keys[] = {"run", "timeout", NULL};
    const struct ynode *v;

    if (n->kind == YNODE_SCALAR) {
        r->run = want_template(l, n, "command");
        return;
    }
    if (!check_keys(l, n, "command", keys))
        return;
    if ((v = need(l, n, "run", "command")) != NULL)
        r->run = want_template(l, v, "run");
    if ((v = ynode_get(n, "timeout")) != NULL)
        want_uint(l, v, "timeout", 86400, &r->timeout);
}

static void
load_op(struct loader *l, enum guest_op op, const struct ynode *n, struct guest_rule *r)
{
    r->op = op;
    switch (op) {
    case GUEST_OP_REPLACE:
        load_replace(l, n, r);
        break;
    case GUEST_OP_AUGEAS:
        load_augeas(l, n, r);
        break;
    case GUEST_OP_WRITE:
        load_write(l, n, r);
        break;
    case GUEST_OP_DELETE:
        r->paths = want_list(l, n, "delete", true);
        break;
    case GUEST_OP_SYMLINK:
        load_symlink(l, n, r);
        break;
    case GUEST_OP_UPLOAD:
        load_upload(l, n, r);
        break;
    case GUEST_OP_COMMAND:
        load_command(l, n, r);
        break;
    case GUEST_OP_REMOVE_PACKAGES:
        r->paths = want_list(l, n, "remove-packages", false);
        for (guint i = 0; i < r->paths->len; i++) {
            const char *p = r->paths->pdata[i];
            for (const char *c = p; *c != '\0'; c++) {
                if (!g_ascii_isalnum(*c) && strchr("+-._:", *c) == NULL) {
                    ydiag_error(&l->rf.diag, n, "remove-packages: '%s' is not a package name", p);
                    break;
                }
            }
        }
        break;
    case GUEST_OP_REFUSE:
        r->message = want_template(l, n, "refuse");
        break;
    case GUEST_OP_RENAME_DISKS:
        load_rename_disks(l, n, r);
        break;
    case GUEST_OP_LAST:
    default:
        g_assert_not_reached();
    }
}

/* ------------------------------------------------------------------ */
/* Rules and the top level */

static void
load_rule(struct loader *l, const struct ynode *n, GHashTable *ids)
{
    struct guest_rule *r;
    const struct ynode *v;
    unsigned n_ops = 0;

    if (!check_keys(l, n, "a rule", rule_keys))
        return;
    r = g_new0(struct guest_rule, 1);
    r->line = n->pos.line;
    when_init(&r->when);
    r->op = GUEST_OP_LAST;
    g_ptr_array_add(l->rs->rules, r);
    if ((v = need(l, n, "id", "rule")) != NULL && rulefile_want_string(&l->rf, v, "id") != NULL) {
        if (!rulefile_is_name(v->value, true))
            ydiag_error(&l->rf.diag, v, "'id': '%s' is not an identifier (letters, digits, _ - .)", v->value);
        else if (g_hash_table_contains(ids, v->value))
            ydiag_error(&l->rf.diag, v, "'id': duplicate rule id '%s'", v->value);
        else
            g_hash_table_add(ids, g_strdup(v->value));
        r->id = g_strdup(v->value);
    }
    if ((v = ynode_get(n, "description")) != NULL && rulefile_want_string(&l->rf, v, "description") != NULL)
        r->description = g_strdup(v->value);
    if ((v = ynode_get(n, "when")) != NULL)
        load_when(l, v, &r->when, true);
    for (int op = 0; op < GUEST_OP_LAST; op++) {
        if ((v = ynode_get(n, op_names[op])) == NULL)
            continue;
        if (n_ops++ > 0) {
            ydiag_error(&l->rf.diag, v, "rule '%s': one operation per rule ('%s' and '%s' given)",
                        r->id ? r->id : "?", op_names[r->op], op_names[op]);
            continue;
        }
        load_op(l, (enum guest_op)op, v, r);
    }
    if (n_ops == 0)
        ydiag_error(&l->rf.diag, n,
                    "rule '%s': no operation (expected one of replace, augeas, write, delete, symlink, upload, command, remove-packages, refuse, rename-disks)",
                    r->id ? r->id : "?");
}

static void
load_top(struct loader *l, const struct ynode *root)
{
    const struct ynode *v;
    struct rulefile_header h = {0};
    g_autoptr(GHashTable) ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    rulefile_read_header(&l->rf, root, top_keys, &h);
    l->rs->name = g_steal_pointer(&h.name);
    l->rs->version = h.version;
    l->rs->description = g_steal_pointer(&h.description);
    if ((v = ynode_get(root, "when")) != NULL)
        load_when(l, v, &l->rs->when, false);
    v = rulefile_rules(&l->rf, root, 0);
    for (guint i = 0; v != NULL && i < v->items->len; i++)
        load_rule(l, v->items->pdata[i], ids);
}

struct guest_rule_set *
guest_rule_set_load_data(const char *name, const char *base_dir, const char *data,
                         size_t len, GError **error)
{
    struct loader l = {0};
    const struct ynode *root;

    if (!rulefile_open(&l.rf, RULEFILE_KIND_GUEST, name, data, len, error))
        return NULL;
    root = rulefile_root(&l.rf, error);
    if (root == NULL) {
        rulefile_release(&l.rf);
        return NULL;
    }
    l.rs = g_new0(struct guest_rule_set, 1);
    l.rs->path = g_strdup(name);
    l.rs->base_dir = g_strdup(base_dir != NULL ? base_dir : ".");
    l.rs->digest = g_steal_pointer(&l.rf.digest);
    l.rs->rules = g_ptr_array_new_with_free_func(rule_free);
    when_init(&l.rs->when);
    load_top(&l, root);
    if (!rulefile_finish(&l.rf, error)) {
        rulefile_release(&l.rf);
        guest_rule_set_free(l.rs);
        return NULL;
    }
    rulefile_release(&l.rf);
    return l.rs;
}

struct guest_rule_set *
guest_rule_set_load_file(const char *path, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    size_t len = 0;
    g_autofree char *data = rulefile_read(RULEFILE_KIND_GUEST, path, &len, error);

    if (data == NULL)
        return NULL;
    return guest_rule_set_load_data(path, dir, data, len, error);
}

struct guest_rule_set *
guest_rule_set_load_named(const char *name, const char *const *dirs, GError **error)
{
    g_autofree char *path = rulefile_find(name, dirs);
    struct guest_rule_set *rs;

    if (path == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID,
                    "guest rule set '%s' not found (looked for %s.yaml in %s%s)", name, name,
                    dirs[0] != NULL ? dirs[0] : "nowhere", dirs[0] != NULL && dirs[1] != NULL ? " and the other rules directories" : "");
        return NULL;
    }
    rs = guest_rule_set_load_file(path, error);
    if (rs != NULL && g_strcmp0(rs->name, name) != 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID,
                    "%s:1:1: error: the file is called %s.yaml but says 'name: %s'", path, name,
                    rs->name);
        guest_rule_set_free(rs);
        return NULL;
    }
    return rs;
}

static int
cmp_names(gconstpointer a, gconstpointer b)
{
    const struct guest_rule_set *x = *(struct guest_rule_set *const *)a;
    const struct guest_rule_set *y = *(struct guest_rule_set *const *)b;

    return strcmp(x->name, y->name);
}

GPtrArray *
guest_rule_sets_load_all(const char *const *dirs, GError **error)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)guest_rule_set_free);
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    for (size_t i = 0; dirs[i] != NULL; i++) {
        g_autoptr(GDir) d = g_dir_open(dirs[i], 0, NULL);
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        const char *e;

        if (d == NULL)
            continue;
        while ((e = g_dir_read_name(d)) != NULL) {
            if (g_str_has_suffix(e, ".yaml") && e[0] != '.')
                g_ptr_array_add(names, g_strndup(e, strlen(e) - 5));
        }
        for (guint k = 0; k < names->len; k++) {
            const char *name = names->pdata[k];
            const char *one[] = {dirs[i], NULL};
            struct guest_rule_set *rs;

            if (g_hash_table_contains(seen, name))
                continue;
            rs = guest_rule_set_load_named(name, one, error);
            if (rs == NULL)
                return NULL;
            g_hash_table_add(seen, g_strdup(name));
            g_ptr_array_add(out, rs);
        }
    }
    g_ptr_array_sort(out, cmp_names);
    return g_steal_pointer(&out);
}

char *
guest_rule_sets_json(GPtrArray *sets)
{
    struct json j;
    char *text;

    json_init(&j, false);
    json_begin_array(&j);
    for (guint i = 0; i < sets->len; i++) {
        const struct guest_rule_set *rs = sets->pdata[i];
        g_autofree char *id = g_strdup_printf("%s@%u", guest_rule_set_name(rs),
                                              guest_rule_set_version(rs));
        json_string(&j, id);
    }
    json_end_array(&j);
    text = json_steal(&j);
    json_release(&j);
    return text;
}

GPtrArray *
guest_rule_sets_matching(GPtrArray *sets, GHashTable *facts)
{
    GPtrArray *out = g_ptr_array_new();

    for (guint i = 0; i < sets->len; i++) {
        if (guest_rule_set_matches(sets->pdata[i], facts))
            g_ptr_array_add(out, sets->pdata[i]);
    }
    return out;
}

char *
guest_rule_set_names(GPtrArray *sets)
{
    GString *names;

    if (sets->len == 0)
        return NULL;
    names = g_string_new(NULL);
    for (guint i = 0; i < sets->len; i++)
        g_string_append_printf(names, "%s%s", i ? ", " : "",
                               guest_rule_set_name(sets->pdata[i]));
    return g_string_free(names, FALSE);
}
