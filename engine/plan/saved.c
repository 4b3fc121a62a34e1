/* Saved plans: `convoy plan -o plan.json` writes the plan with what it
 * was computed from (manifest files and their digests, the wave, the
 * state store and a digest of its steps); `convoy apply plan.json`
 * re-evaluates and applies only if every step still has the same action
 * and fingerprint and nothing it was computed from moved. */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "plan/plan.h"
#include "util/error.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/jsonread.h"

#define SAVED_PLAN_MAX_BYTES (256u * 1024 * 1024)

/* A digest of the state store's steps (key, status, fingerprint,
 * attempts): any recorded change since the plan moves it. */
static char *
state_digest(struct state *st)
{
    g_autoptr(GPtrArray) rows = state_step_list(st, NULL);
    g_autoptr(GChecksum) c = g_checksum_new(G_CHECKSUM_SHA256);

    if (rows != NULL) {
        for (guint i = 0; i < rows->len; i++) {
            const struct state_step_record *r = rows->pdata[i];
            g_autofree char *line = g_strdup_printf("%s\t%s\t%s\t%u\n", r->key,
                                                    state_step_status_name(r->status),
                                                    r->fingerprint ? r->fingerprint : "",
                                                    r->attempts);
            g_checksum_update(c, (const guchar *)line, (gssize)strlen(line));
        }
    }
    return g_strdup(g_checksum_get_string(c));
}

char *
plan_saved_render(const struct plan *p, struct state *st)
{
    struct json j;
    g_autofree char *plan_json = plan_render_json(p);
    g_autofree char *sd = state_digest(st);
    g_autofree char *abs_state = g_canonicalize_filename(p->state_path, NULL);

    json_init(&j, true);
    json_begin_object(&j);
    json_kv_uint(&j, "saved_plan", 1);
    json_kv_string(&j, "wave", p->wave);
    json_kv_string(&j, "state", abs_state);
    json_kv_string(&j, "state_sha256", sd);
    json_key(&j, "manifests");
    json_begin_array(&j);
    for (guint i = 0; i < p->m->files->len; i++) {
        g_autofree char *f = g_canonicalize_filename(p->m->files->pdata[i], NULL);
        g_autofree char *digest = hash_sha256_file(f);
        json_begin_object(&j);
        json_kv_string(&j, "path", f);
        json_kv_string(&j, "sha256", digest);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_key(&j, "plan");
    json_raw(&j, plan_json);
    /* Each step's canonical inputs (secret-free, as fingerprinted): an
     * apply that refuses the plan says which of them moved. */
    json_key(&j, "step_inputs");
    json_begin_object(&j);
    for (guint i = 0; i < p->vms->len; i++) {
        const struct plan_vm *v = p->vms->pdata[i];
        for (guint k = 0; v->steps != NULL && k < v->steps->len; k++) {
            const struct plan_step *s = v->steps->pdata[k];
            json_kv_string(&j, s->key, s->inputs);
        }
    }
    json_end_object(&j);
    json_end_object(&j);
    char *s = json_steal(&j);
    json_release(&j);
    char *t = g_strconcat(s, "\n", NULL);
    g_free(s);
    return t;
}

bool
plan_saved_sniff(const char *path)
{
    char buf[256];
    ssize_t n;
    size_t skip;
    int fd;

    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR))
        return false;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    skip = strspn(buf, " \t\r\n");
    return buf[skip] == '{' && strstr(buf, "\"saved_plan\"") != NULL;
}

void
saved_plan_free(struct saved_plan *sp)
{
    if (sp == NULL)
        return;
    g_free(sp->path);
    g_free(sp->wave);
    g_free(sp->state);
    g_free(sp->state_sha256);
    g_strfreev(sp->manifests);
    g_strfreev(sp->manifest_sha256);
    jval_free(sp->plan);
    jval_free(sp->step_inputs);
    g_free(sp);
}

struct saved_plan *
saved_plan_load(const char *path, GError **error)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    g_autoptr(GError) err = NULL;
    g_autoptr(jval) root = NULL;
    struct saved_plan *sp;
    const struct jval *mans, *pj;

    if (!g_file_get_contents(path, &text, &len, &err)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO,
                    "cannot read saved plan '%s': %s", path, err->message);
        return NULL;
    }
    if (len > SAVED_PLAN_MAX_BYTES) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "saved plan '%s' is larger than 256 MiB", path);
        return NULL;
    }
    root = jval_parse(path, text, (gssize)len, error);
    if (root == NULL)
        return NULL;
    mans = jval_get(root, "manifests");
    pj = jval_get(root, "plan");
    if (jval_get_number(root, "saved_plan", 0) != 1 || mans == NULL ||
        mans->type != JVAL_ARRAY || mans->items->len == 0 || pj == NULL ||
        pj->type != JVAL_OBJECT || jval_get_string(root, "state", NULL) == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "'%s' is not a saved plan of this convoy version (expected saved_plan 1 with manifests, state and plan)",
                    path);
        return NULL;
    }
    sp = g_new0(struct saved_plan, 1);
    sp->path = g_strdup(path);
    sp->wave = g_strdup(jval_get_string(root, "wave", NULL));
    sp->state = g_strdup(jval_get_string(root, "state", NULL));
    sp->state_sha256 = g_strdup(jval_get_string(root, "state_sha256", ""));
    sp->manifests = g_new0(char *, mans->items->len + 1);
    sp->manifest_sha256 = g_new0(char *, mans->items->len + 1);
    for (guint i = 0; i < mans->items->len; i++) {
        const struct jval *m = mans->items->pdata[i];
        sp->manifests[i] = g_strdup(jval_get_string(m, "path", ""));
        sp->manifest_sha256[i] = g_strdup(jval_get_string(m, "sha256", ""));
    }
    /* Keep the plan and the step inputs: steal them from the root. */
    for (guint i = 0; i < root->items->len; i++) {
        struct jmember *mem = root->items->pdata[i];
        if (strcmp(mem->key, "plan") == 0)
            sp->plan = g_steal_pointer(&mem->val);
        else if (strcmp(mem->key, "step_inputs") == 0 && mem->val->type == JVAL_OBJECT)
            sp->step_inputs = g_steal_pointer(&mem->val);
    }
    return sp;
}

/* key → "action fingerprint" of every step of a plan JSON object. */
static GHashTable *
steps_of(const struct jval *pj, GPtrArray *order)
{
    GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    const struct jval *vms = jval_get(pj, "vms");

    if (vms == NULL || vms->type != JVAL_ARRAY)
        return h;
    for (guint i = 0; i < vms->items->len; i++) {
        const struct jval *steps = jval_get(vms->items->pdata[i], "steps");
        if (steps == NULL || steps->type != JVAL_ARRAY)
            continue;
        for (guint k = 0; k < steps->items->len; k++) {
            const struct jval *s = steps->items->pdata[k];
            const char *key = jval_get_string(s, "key", NULL);
            if (key == NULL)
                continue;
            g_hash_table_insert(h, g_strdup(key),
                                g_strdup_printf("%s %s", jval_get_string(s, "action", "?"),
                                                jval_get_string(s, "fingerprint", "?")));
            if (order != NULL)
                g_ptr_array_add(order, g_strdup(key));
        }
    }
    return h;
}

static const struct plan_step *
plan_find_step(const struct plan *p, const char *key)
{
    for (guint i = 0; i < p->vms->len; i++) {
        const struct plan_vm *v = p->vms->pdata[i];
        for (guint k = 0; v->steps != NULL && k < v->steps->len; k++) {
            const struct plan_step *s = v->steps->pdata[k];
            if (strcmp(s->key, key) == 0)
                return s;
        }
    }
    return NULL;
}

bool
saved_plan_check(const struct saved_plan *sp, const struct plan *p,
                 struct state *st, GError **error)
{
    g_autoptr(GString) moved = g_string_new(NULL);
    g_autofree char *now_json = plan_render_json(p);
    g_autoptr(jval) now = jval_parse("plan", now_json, -1, NULL);
    g_autoptr(GPtrArray) order = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) order2 = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) was = steps_of(sp->plan, order);
    g_autoptr(GHashTable) is = NULL;
    g_autofree char *sd = state_digest(st);
    unsigned n = 0;

    for (guint i = 0; sp->manifests[i] != NULL; i++) {
        g_autofree char *d = hash_sha256_file(sp->manifests[i]);
        if (d == NULL || strcmp(d, sp->manifest_sha256[i]) != 0) {
            g_string_append_printf(moved, "\n  manifest '%s' %s", sp->manifests[i],
                                   d == NULL ? "is gone" : "changed");
            n++;
        }
    }
    if (now == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: the plan's own JSON does not parse");
        return false;
    }
    is = steps_of(now, order2);
    for (guint i = 0; i < order->len; i++) {
        const char *key = order->pdata[i];
        const char *a = g_hash_table_lookup(was, key);
        const char *b = g_hash_table_lookup(is, key);
        if (b == NULL) {
            g_string_append_printf(moved, "\n  step '%s' is no longer in the plan", key);
            n++;
        } else if (strcmp(a, b) != 0) {
            g_auto(GStrv) wa = g_strsplit(a, " ", 2);
            g_auto(GStrv) wb = g_strsplit(b, " ", 2);
            const char *old_in = sp->step_inputs != NULL
                                     ? jval_get_string(sp->step_inputs, key, NULL) : NULL;
            const struct plan_step *ps = plan_find_step(p, key);
            g_autofree char *diff = old_in != NULL && ps != NULL && ps->inputs != NULL
                                        ? plan_inputs_diff(old_in, ps->inputs) : NULL;
            if (strcmp(wa[0], wb[0]) != 0 && diff != NULL && *diff != '\0')
                g_string_append_printf(moved, "\n  step '%s' was %s, is now %s: its inputs changed: %s",
                                       key, wa[0], wb[0], diff);
            else if (strcmp(wa[0], wb[0]) != 0)
                g_string_append_printf(moved, "\n  step '%s' was %s, is now %s", key, wa[0], wb[0]);
            else if (diff != NULL && *diff != '\0')
                g_string_append_printf(moved, "\n  step '%s': its inputs changed: %s", key, diff);
            else
                g_string_append_printf(moved, "\n  step '%s': its inputs changed (manifest, rules or source)", key);
            n++;
        }
    }
    for (guint i = 0; i < order2->len; i++) {
        if (!g_hash_table_contains(was, order2->pdata[i])) {
            g_string_append_printf(moved, "\n  step '%s' is new in the plan", (char *)order2->pdata[i]);
            n++;
        }
    }
    if (strcmp(sd, sp->state_sha256) != 0) {
        g_string_append(moved, "\n  the state store changed (another apply ran)");
        n++;
    }
    if (n == 0)
        return true;
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_STALE_PLAN,
                "saved plan '%s' is out of date; run 'convoy plan -o' again and review it:%s",
                sp->path, moved->str);
    return false;
}
