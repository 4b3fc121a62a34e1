/* ops: carry out the rules of guest rule sets in a mounted guest.  Every
 * operation reports whether it changed something, so a second run over a
 * repaired guest reports no changes. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <guestfs.h>

#include "guest/guest-session.h"
#include "util/error.h"

/* Output of a failed command kept in messages. */
#define OUTPUT_TAIL 2000

void
guest_change_free(struct guest_change *c)
{
    if (c == NULL)
        return;
    g_free(c->set);
    g_free(c->file);
    g_free(c->rule_id);
    g_free(c->what);
    g_free(c);
}

/* What one rule is being applied with. */
struct op_run {
    struct guest_session *gs;
    const struct guest_rule_set *rs;
    const struct guest_rule *r;
    GPtrArray *changes;
};

static void
changed(struct op_run *o, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
changed(struct op_run *o, const char *fmt, ...)
{
    struct guest_change *c = g_new0(struct guest_change, 1);
    va_list ap;

    c->set = g_strdup_printf("%s@%u", o->rs->name, o->rs->version);
    c->file = g_strdup(o->rs->path);
    c->line = o->r->line;
    c->rule_id = g_strdup(o->r->id);
    va_start(ap, fmt);
    c->what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (o->changes != NULL)
        g_ptr_array_add(o->changes, c);
    else
        guest_change_free(c);
}

/* Prefix the error with the rule that failed: "SET@V FILE:LINE ID: ". */
static bool
rule_failed(struct op_run *o, GError **error)
{
    if (error != NULL && *error != NULL)
        g_prefix_error(error, "guest rule %s@%u %s:%u %s: ", o->rs->name, o->rs->version,
                       o->rs->path, o->r->line, o->r->id);
    return false;
}

static bool
path_exists(const char *path, void *opaque)
{
    struct guest_session *gs = opaque;
    g_autofree char *p = guest_expand(path, gs->facts);

    return guestfs_exists(gs->g, p) > 0 || guestfs_is_symlink(gs->g, p) > 0;
}

/* The file a path names inside the guest, following symlinks inside the
 * guest's root (an absolute link must not lead into the appliance). */
static char *
resolve(struct guest_session *gs, const char *path)
{
    char *real;
    char *out;

    guestfs_push_error_handler(gs->g, NULL, NULL);
    real = guestfs_realpath(gs->g, path);
    guestfs_pop_error_handler(gs->g);
    out = g_strdup(real != NULL ? real : path);
    free(real);
    return out;
}

/* rename-disks: each Xen disk name matched becomes its KVM name. */
static gboolean
rename_disk_cb(const GMatchInfo *mi, GString *out, gpointer data)
{
    struct guest_session *gs = data;
    g_autofree char *letters = g_match_info_fetch(mi, 2);
    g_autofree char *part = g_match_info_fetch(mi, 3);
    g_autofree char *name = guest_kvm_disk_name(gs, letters, part != NULL ? part : "");

    g_string_append(out, name);
    return FALSE;
}

/* The regex replacement in one file (name: the path as the rule names it,
 * after expansion); with (NULL for rename-disks) the replacement. */
static bool
replace_in(struct op_run *o, const char *name, const char *with, GError **error)
{
    struct guest_session *gs = o->gs;
    g_autofree char *file = resolve(gs, name);
    g_autofree char *text = NULL;
    g_autofree char *out = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(GMatchInfo) mi = NULL;
    size_t len = 0;
    char *data;
    unsigned n = 0;

    if (guestfs_is_file(gs->g, file) <= 0) {
        if (o->r->required) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST, "%s does not exist in the guest",
                        name);
            return false;
        }
        return true;
    }
    data = guestfs_read_file(gs->g, file, &len);
    if (data == NULL)
        return guest_fail(gs, error, "cannot read %s", name);
    text = g_strndup(data, len);
    free(data);
    if (strlen(text) != len || !g_utf8_validate(text, (gssize)len, NULL)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST,
                    "%s is not a text file (binary or not UTF-8); not editing it", name);
        return false;
    }
    for (g_regex_match(o->r->regex, text, 0, &mi); g_match_info_matches(mi);
         g_match_info_next(mi, NULL))
        n++;
    if (n == 0)
        return true;
    out = with != NULL ? g_regex_replace(o->r->regex, text, (gssize)len, 0, with, 0, &err)
                       : g_regex_replace_eval(o->r->regex, text, (gssize)len, 0, 0, rename_disk_cb,
                                              gs, &err);
    if (out == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST, "replacing in %s: %s", name,
                    err->message);
        return false;
    }
    if (strcmp(out, text) == 0)
        return true;
    if (guestfs_write(gs->g, file, out, strlen(out)) == -1)
        return guest_fail(gs, error, "cannot write %s", name);
    changed(o, "%u replacement%s in %s", n, n == 1 ? "" : "s", name);
    return true;
}

/* replace, rename-disks: file may hold ${FACT} and glob patterns (every
 * match is edited; required then wants at least one). */
static bool
op_replace(struct op_run *o, GError **error)
{
    struct guest_session *gs = o->gs;
    g_autofree char *with = o->r->op == GUEST_OP_REPLACE ? guest_expand(o->r->with, gs->facts)
                                                         : NULL;
    g_autofree char *name = guest_expand(o->r->file, gs->facts);
    char **hits;
    bool ok = true;

    if (strpbrk(name, "*?[") == NULL)
        return replace_in(o, name, with, error);
    hits = guestfs_glob_expand(gs->g, name);
    if (hits == NULL)
        return guest_fail(gs, error, "cannot expand %s", name);
    if (hits[0] == NULL && o->r->required) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST, "no file matches %s in the guest",
                    name);
        ok = false;
    }
    for (size_t k = 0; ok && hits[k] != NULL; k++)
        ok = replace_in(o, hits[k], with, error);
    guest_free_strv(hits);
    return ok;
}

/* After a failed aug_save: the error Augeas recorded, with its lens and
 * position ("/etc/fstab: parse_failed: … (lens …)"). */
static void
augeas_error(struct guest_session *gs, GError **error)
{
    char **errs = guestfs_aug_match(gs->g, "/augeas//error");
    g_autoptr(GString) msg = g_string_new(NULL);

    for (size_t i = 0; errs != NULL && errs[i] != NULL; i++) {
        g_autofree char *mpath = g_strdup_printf("%s/message", errs[i]);
        g_autofree char *lpath = g_strdup_printf("%s/lens", errs[i]);
        char *kind = guestfs_aug_get(gs->g, errs[i]);
        char *m;
        char *lens;
        const char *file = errs[i] + strlen("/augeas/files");

        guestfs_push_error_handler(gs->g, NULL, NULL);
        m = guestfs_aug_get(gs->g, mpath);
        lens = guestfs_aug_get(gs->g, lpath);
        guestfs_pop_error_handler(gs->g);
        if (!g_str_has_prefix(errs[i], "/augeas/files"))
            file = errs[i];
        g_string_append_printf(msg, "%s%.*s: %s%s%s%s%s%s", i ? "; " : "",
                               (int)(strlen(file) - strlen("/error")), file,
                               kind != NULL ? kind : "error", m ? ": " : "", m ? m : "",
                               lens ? " (lens " : "", lens ? lens : "", lens ? ")" : "");
        free(kind);
        free(m);
        free(lens);
    }
    guest_free_strv(errs);
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST, "augeas: cannot save: %s",
                msg->len > 0 ? msg->str : guestfs_last_error(gs->g));
}

static bool
op_augeas(struct op_run *o, GError **error)
{
    struct guest_session *gs = o->gs;
    char **saved;
    g_autoptr(GString) files = g_string_new(NULL);

    /* (Re)load so edits made by earlier rules are seen, not overwritten. */
    if (!gs->aug_open) {
        if (guestfs_aug_init(gs->g, "/", 0) == -1)
            return guest_fail(gs, error, "cannot start Augeas");
        gs->aug_open = true;
    } else if (guestfs_aug_load(gs->g) == -1) {
        return guest_fail(gs, error, "cannot reload Augeas");
    }
    for (guint i = 0; i < o->r->set_paths->len; i++) {
        g_autofree char *v = guest_expand(o->r->set_values->pdata[i], gs->facts);
        if (guestfs_aug_set(gs->g, o->r->set_paths->pdata[i], v) == -1)
            return guest_fail(gs, error, "augeas: cannot set %s",
                              (const char *)o->r->set_paths->pdata[i]);
    }
    for (guint i = 0; o->r->paths != NULL && i < o->r->paths->len; i++) {
        if (guestfs_aug_rm(gs->g, o->r->paths->pdata[i]) == -1)
            return guest_fail(gs, error, "augeas: cannot remove %s",
                              (const char *)o->r->paths->pdata[i]);
    }
    if (guestfs_aug_save(gs->g) == -1) {
        augeas_error(gs, error);
        return false;
    }
    saved = guestfs_aug_match(gs->g, "/augeas/events/saved");
    for (size_t i = 0; saved != NULL && saved[i] != NULL; i++) {
        char *f = guestfs_aug_get(gs->g, saved[i]);
        if (f != NULL)
            g_string_append_printf(files, "%s%s", files->len ? ", " : "",
                                   g_str_has_prefix(f, "/files") ? f + 6 : f);
        free(f);
    }
    guest_free_strv(saved);
    if (files->len > 0)
        changed(o, "augeas saved %s", files->str);
    return true;
}

static bool
same_content(struct guest_session *gs, const char *path, const char *want, size_t len)
{
    size_t have_len = 0;
    char *have;
    bool same;

    if (guestfs_is_file(gs->g, path) <= 0)
        return false;
    have = guestfs_read_file(gs->g, path, &have_len);
    same = have != NULL && have_len == len && memcmp(have, want, len) == 0;
    free(have);
    return same;
}

static bool
put_file(struct op_run *o, const char *path, const char *data, size_t len, GError **error)
{
    struct guest_session *gs = o->gs;
    unsigned mode = o->r->mode != 0 ? o->r->mode : 0644;

    if (same_content(gs, path, data, len))
        return true;
    if (guestfs_write(gs->g, path, data, len) == -1)
        return guest_fail(gs, error, "cannot write %s", path);
    if (guestfs_chmod(gs->g, (int)mode, path) == -1)
        return guest_fail(gs, error, "cannot chmod %s", path);
    changed(o, "wrote %s (%zu bytes)", path, len);
    return true;
}

static bool
op_write(struct op_run *o, GError **error)
{
    g_autofree char *content = guest_expand(o->r->with, o->gs->facts);
    g_autofree char *name = guest_expand(o->r->file, o->gs->facts);
    g_autofree char *file = resolve(o->gs, name);

    return put_file(o, file, content, strlen(content), error);
}

static bool
op_upload(struct op_run *o, GError **error)
{
    g_autofree char *data = NULL;
    g_autofree char *to_name = guest_expand(o->r->to, o->gs->facts);
    g_autofree char *to = resolve(o->gs, to_name);
    g_autoptr(GError) err = NULL;
    gsize len = 0;

    if (!g_file_get_contents(o->r->file, &data, &len, &err)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST, "upload: %s", err->message);
        return false;
    }
    return put_file(o, to, data, len, error);
}

static bool
op_delete(struct op_run *o, GError **error)
{
    struct guest_session *gs = o->gs;

    for (guint i = 0; i < o->r->paths->len; i++) {
        g_autofree char *pat = guest_expand(o->r->paths->pdata[i], gs->facts);
        char **hits = guestfs_glob_expand(gs->g, pat);

        if (hits == NULL)
            return guest_fail(gs, error, "cannot expand %s", pat);
        for (size_t k = 0; hits[k] != NULL; k++) {
            if (guestfs_rm_f(gs->g, hits[k]) == -1) {
                guest_fail(gs, error, "cannot delete %s", hits[k]);
                guest_free_strv(hits);
                return false;
            }
            changed(o, "deleted %s", hits[k]);
        }
        guest_free_strv(hits);
    }
    return true;
}

static bool
op_symlink(struct op_run *o, GError **error)
{
    struct guest_session *gs = o->gs;
    g_autofree char *target = guest_expand(o->r->target, gs->facts);
    g_autofree char *link = guest_expand(o->r->to, gs->facts);
    g_autofree char *dir = g_path_get_dirname(link);

    if (guestfs_is_symlink(gs->g, link) > 0) {
        char *have = guestfs_readlink(gs->g, link);
        bool same = have != NULL && strcmp(have, target) == 0;
        free(have);
        if (same)
            return true;
    }
    if (guestfs_mkdir_p(gs->g, dir) == -1)
        return guest_fail(gs, error, "cannot create %s", dir);
    if (guestfs_ln_sf(gs->g, target, link) == -1)
        return guest_fail(gs, error, "cannot link %s to %s", link, target);
    changed(o, "linked %s -> %s", link, target);
    return true;
}

struct guest_timeout
guest_command_timeout(unsigned rule_timeout, unsigned session_default, bool tcg)
{
    struct guest_timeout t = {
        .base = rule_timeout != 0 ? rule_timeout : session_default,
        .tcg = tcg,
    };

    if (t.base == 0)
        t.base = 600;
    t.seconds = t.base;
    if (tcg)
        t.seconds = t.base > G_MAXUINT / GUEST_TCG_SLOWDOWN
                        ? G_MAXUINT : t.base * GUEST_TCG_SLOWDOWN;
    return t;
}

char *
guest_timeout_describe(const struct guest_timeout *t)
{
    if (t->tcg)
        return g_strdup_printf("%u s: %u s ×%d under TCG", t->seconds, t->base,
                               GUEST_TCG_SLOWDOWN);
    return g_strdup_printf("%u s", t->seconds);
}

/* Run shell text in the guest (/bin/sh -c), bounded by timeout(1) when the
 * guest has it; rule_timeout 0 is the session's default, scaled under
 * TCG.  *output (may be NULL) receives what it printed. */
static bool
run_sh(struct guest_session *gs, const char *text, unsigned rule_timeout, char **output,
       GError **error)
{
    g_autofree char *quoted = g_shell_quote(text);
    g_autofree char *cmd = NULL;
    struct guest_timeout t = guest_command_timeout(rule_timeout, gs->opts.timeout, gs->tcg);
    g_autofree char *limit = guest_timeout_describe(&t);
    bool bounded = false;
    gint64 start;
    char *out;

    if (guestfs_is_file(gs->g, "/bin/sh") <= 0 && guestfs_is_symlink(gs->g, "/bin/sh") <= 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST,
                    "the guest has no /bin/sh to run commands with");
        return false;
    }
    if (guestfs_exists(gs->g, "/usr/bin/timeout") > 0 ||
        guestfs_exists(gs->g, "/bin/timeout") > 0) {
        cmd = g_strdup_printf("timeout -s KILL %u /bin/sh -c %s", t.seconds, quoted);
        bounded = true;
    } else {
        cmd = g_strdup_printf("/bin/sh -c %s", quoted);
    }
    start = g_get_monotonic_time();
    out = guestfs_sh(gs->g, cmd);
    if (out == NULL) {
        const char *e = guestfs_last_error(gs->g);
        size_t el = e != NULL ? strlen(e) : 0;
        const char *tail = e == NULL ? "unknown error"
                           : el > OUTPUT_TAIL ? e + el - OUTPUT_TAIL : e;
        gint64 elapsed = (g_get_monotonic_time() - start) / G_USEC_PER_SEC;

        if (bounded && elapsed >= (gint64)t.seconds) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST,
                        "command killed in the guest after %" G_GINT64_FORMAT " s, at its time limit (%s): %s: %s",
                        elapsed, limit, text, tail);
        } else {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST,
                        "command failed in the guest (time limit %s): %s: %s", limit, text, tail);
        }
        return false;
    }
    if (output != NULL)
        *output = g_strdup(out);
    free(out);
    return true;
}

static bool
op_command(struct op_run *o, GError **error)
{
    struct guest_session *gs = o->gs;
    g_autofree char *text = guest_expand(o->r->run, gs->facts);
    const char *nl = strchr(text, '\n');
    g_autofree char *first = nl != NULL ? g_strdup_printf("%.*s …", (int)(nl - text), text)
                                        : g_strdup(text);

    guest_note(gs, "%s: running %s", o->r->id, first);
    if (!run_sh(gs, text, o->r->timeout, NULL, error))
        return false;
    changed(o, "ran %s", first);
    return true;
}

static bool
op_remove_packages(struct op_run *o, GError **error)
{
    struct guest_session *gs = o->gs;
    const char *fmt = g_hash_table_lookup(gs->facts, "package_format");
    bool deb = g_strcmp0(fmt, "deb") == 0;

    if (!deb && g_strcmp0(fmt, "rpm") != 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST,
                    "remove-packages: the guest's package format is '%s'; only deb and rpm are known",
                    fmt != NULL ? fmt : "");
        return false;
    }
    for (guint i = 0; i < o->r->paths->len; i++) {
        const char *p = o->r->paths->pdata[i];
        g_autofree char *probe = NULL;
        g_autofree char *out = NULL;
        g_autofree char *rm = NULL;

        probe = deb ? g_strdup_printf("if dpkg-query -W -f='${Status}' %s 2>/dev/null | grep -q 'install ok installed'; then echo installed; fi", p)
                    : g_strdup_printf("if rpm -q %s >/dev/null 2>&1; then echo installed; fi", p);
        if (!run_sh(gs, probe, 0, &out, error))
            return false;
        if (strstr(out, "installed") == NULL)
            continue;
        rm = deb ? g_strdup_printf("if command -v apt-get >/dev/null 2>&1; then DEBIAN_FRONTEND=noninteractive apt-get -y -q remove %s; else dpkg -r %s; fi", p, p)
                 : g_strdup_printf("rpm -e %s", p);
        guest_note(gs, "%s: removing %s", o->r->id, p);
        if (!run_sh(gs, rm, 0, NULL, error))
            return false;
        changed(o, "removed package %s", p);
    }
    return true;
}

static bool
apply_rule(struct op_run *o, GError **error)
{
    switch (o->r->op) {
    case GUEST_OP_REPLACE:
    case GUEST_OP_RENAME_DISKS:
        return op_replace(o, error);
    case GUEST_OP_AUGEAS:
        return op_augeas(o, error);
    case GUEST_OP_WRITE:
        return op_write(o, error);
    case GUEST_OP_DELETE:
        return op_delete(o, error);
    case GUEST_OP_SYMLINK:
        return op_symlink(o, error);
    case GUEST_OP_UPLOAD:
        return op_upload(o, error);
    case GUEST_OP_COMMAND:
        return op_command(o, error);
    case GUEST_OP_REMOVE_PACKAGES:
        return op_remove_packages(o, error);
    case GUEST_OP_REFUSE: {
        g_autofree char *m = guest_expand(o->r->message, o->gs->facts);
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_GUEST, "refused: %s", m);
        return false;
    }
    case GUEST_OP_LAST:
    default:
        break;
    }
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL, "internal error: bad operation");
    return false;
}

bool
guest_apply(struct guest_session *gs, struct guest_rule_set *const *sets, size_t n_sets,
            GPtrArray *changes, GError **error)
{
    for (size_t s = 0; s < n_sets; s++) {
        const struct guest_rule_set *rs = sets[s];

        for (guint i = 0; i < rs->rules->len; i++) {
            struct op_run o = {.gs = gs, .rs = rs, .r = rs->rules->pdata[i], .changes = changes};

            if (gs->opts.interrupted != NULL && gs->opts.interrupted()) {
                g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERRUPTED,
                            "interrupted before guest rule %s@%u %s", rs->name, rs->version,
                            o.r->id);
                return false;
            }
            if (!guest_when_holds(&o.r->when, gs->facts, path_exists, gs))
                continue;
            gint64 start = g_get_monotonic_time();
            bool ok = apply_rule(&o, error);
            g_autofree char *action = g_strdup_printf("%s/%s", rs->name, o.r->id);
            /* Said when it is long enough to matter (commands). */
            guest_time(gs, action, start,
                       g_get_monotonic_time() - start >= G_USEC_PER_SEC / 2);
            if (!ok)
                return rule_failed(&o, error);
        }
    }
    return true;
}
