/* Saved plans: `convoy plan -o plan.json` writes the plan with what it
 * was computed from (manifest files and a digest of the parsed model, the
 * wave, the state store and a digest of its steps), and a SHA-256 of all
 * that (body_sha256, over its canonical JSON); `convoy apply plan.json`
 * refuses a modified file, then re-evaluates and applies only if every
 * step still has the same action and fingerprint and nothing it was
 * computed from moved. */
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

static gint
cmp_members(gconstpointer a, gconstpointer b)
{
    const struct jmember *x = *(struct jmember *const *)a;
    const struct jmember *y = *(struct jmember *const *)b;

    return strcmp(x->key, y->key);
}

/* Canonical JSON of v (RFC 8785's shape: members sorted by key, no
 * white space, integers without a fraction), leaving out the member
 * skip of the top object. */
static void
canonical(GString *out, const struct jval *v, const char *skip)
{
    switch (v->type) {
    case JVAL_NULL:
    case JVAL_LAST:
        g_string_append(out, "null");
        break;
    case JVAL_BOOL:
        g_string_append(out, v->b ? "true" : "false");
        break;
    case JVAL_NUMBER: {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        if (v->num == (double)(int64_t)v->num && v->num < 9007199254740992.0 &&
            v->num > -9007199254740992.0)
            g_string_append_printf(out, "%" G_GINT64_FORMAT, (gint64)v->num);
        else
            g_string_append(out, g_ascii_formatd(buf, sizeof buf, "%.17g", v->num));
        break;
    }
    case JVAL_STRING:
        json_quote(out, v->str);
        break;
    case JVAL_ARRAY:
        g_string_append_c(out, '[');
        for (guint i = 0; i < v->items->len; i++) {
            if (i > 0)
                g_string_append_c(out, ',');
            canonical(out, v->items->pdata[i], NULL);
        }
        g_string_append_c(out, ']');
        break;
    case JVAL_OBJECT: {
        /* A view of the members (not owning them). */
        g_autoptr(GPtrArray) sorted = g_ptr_array_sized_new(v->items->len);
        bool first = true;
        for (guint i = 0; i < v->items->len; i++)
            g_ptr_array_add(sorted, v->items->pdata[i]);
        g_ptr_array_sort(sorted, cmp_members);
        g_string_append_c(out, '{');
        for (guint i = 0; i < sorted->len; i++) {
            const struct jmember *mem = sorted->pdata[i];
            if (skip != NULL && strcmp(mem->key, skip) == 0)
                continue;
            if (!first)
                g_string_append_c(out, ',');
            first = false;
            json_quote(out, mem->key);
            g_string_append_c(out, ':');
            canonical(out, mem->val, NULL);
        }
        g_string_append_c(out, '}');
        break;
    }
    }
}

/* SHA-256 of the canonical JSON of a saved plan's body: the whole object
 * but its body_sha256. */
static char *
body_digest(const struct jval *root)
{
    g_autoptr(GString) c = g_string_new(NULL);

    canonical(c, root, "body_sha256");
    return hash_sha256_hex(c->str, c->len);
}

/* A digest of the parsed manifests (manifest_dump: the sources,
 * targets, waves and every VM's canonical lines): comments, key order
 * and layout do not move it.  Not the header's file names, state and
 * folder, as given on the command line (relative to where plan ran):
 * the saved plan records them itself. */
static char *
model_digest(const struct manifest *m)
{
    g_autofree char *dump = manifest_dump(m);
    const char *body = strstr(dump, "\n[");

    body = body != NULL ? body + 1 : dump;
    return hash_sha256_hex(body, strlen(body));
}

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
    g_autofree char *model = model_digest(p->m);

    json_init(&j, true);
    json_begin_object(&j);
    json_kv_uint(&j, "saved_plan", 1);
    json_kv_string(&j, "wave", p->wave);
    json_kv_string(&j, "state", abs_state);
    json_kv_string(&j, "state_sha256", sd);
    json_kv_string(&j, "model_sha256", model);
    json_kv_bool(&j, "verify", p->verified);
    json_key(&j, "manifests");
    json_begin_array(&j);
    for (guint i = 0; i < p->m->files->len; i++) {
        g_autofree char *f = g_canonicalize_filename(p->m->files->pdata[i], NULL);
        json_begin_object(&j);
        json_kv_string(&j, "path", f);
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
    g_autofree char *s = json_steal(&j);
    json_release(&j);
    /* The digest of what was just written, read back as apply reads it,
     * as the first member. */
    g_autoptr(jval) back = jval_parse("plan", s, -1, NULL);
    g_autofree char *body = back != NULL ? body_digest(back) : g_strdup("");
    g_assert(s[0] == '{');
    return g_strdup_printf("{\n  \"body_sha256\": \"%s\",%s\n", body, s + 1);
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
    g_free(sp->model_sha256);
    g_strfreev(sp->manifests);
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
    {
        const char *want = jval_get_string(root, "body_sha256", NULL);
        g_autofree char *have = body_digest(root);
        if (want == NULL || jval_get_string(root, "model_sha256", NULL) == NULL) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                        "'%s' is not a saved plan of this convoy version (expected body_sha256 and model_sha256); run 'convoy plan -o' again",
                        path);
            return NULL;
        }
        if (strcmp(want, have) != 0) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_STALE_PLAN,
                        "saved plan '%s' was modified after it was saved (its content does not match its body_sha256); run 'convoy plan -o' again and review it",
                        path);
            return NULL;
        }
    }
    sp = g_new0(struct saved_plan, 1);
    sp->path = g_strdup(path);
    sp->wave = g_strdup(jval_get_string(root, "wave", NULL));
    sp->state = g_strdup(jval_get_string(root, "state", NULL));
    sp->state_sha256 = g_strdup(jval_get_string(root, "state_sha256", ""));
    sp->model_sha256 = g_strdup(jval_get_string(root, "model_sha256", ""));
    sp->verify = jval_get_bool(root, "verify", false);
    sp->manifests = g_new0(char *, mans->items->len + 1);
    for (guint i = 0; i < mans->items->len; i++) {
        const struct jval *m = mans->items->pdata[i];
        sp->manifests[i] = g_strdup(jval_get_string(m, "path", ""));
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

/* Is every step the saved plan had to do now recorded done with the
 * fingerprint it had then (at least one)?  *applied: how many. */
static bool
already_applied(const struct saved_plan *sp, GHashTable *was, GPtrArray *order,
                struct state *st, unsigned *applied)
{
    unsigned n = 0;

    for (guint i = 0; i < order->len; i++) {
        const char *key = order->pdata[i];
        g_auto(GStrv) w = g_strsplit(g_hash_table_lookup(was, key), " ", 2);
        if (w[0] == NULL || w[1] == NULL)
            return false;
        if (strcmp(w[0], plan_action_name(PLAN_ACTION_DONE)) == 0)
            continue;
        g_autoptr(state_step_record) r = state_step_get(st, key, NULL);
        if (r == NULL || r->status != STATE_STEP_DONE ||
            g_strcmp0(r->fingerprint, w[1]) != 0)
            return false;
        n++;
    }
    (void)sp;
    *applied = n;
    return n > 0;
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
    g_autofree char *model = model_digest(p->m);
    unsigned n = 0;

    if (now == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: the plan's own JSON does not parse");
        return false;
    }
    is = steps_of(now, order2);
    if (strcmp(sd, sp->state_sha256) != 0) {
        unsigned applied = 0;
        if (already_applied(sp, was, order, st, &applied)) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_STALE_PLAN,
                        "saved plan '%s' was already applied: its %u step%s to do %s done; run 'convoy plan' to see whether anything is left to do",
                        sp->path, applied, applied == 1 ? "" : "s",
                        applied == 1 ? "is" : "are");
            return false;
        }
    }
    if (strcmp(model, sp->model_sha256) != 0) {
        g_autofree char *files = g_strjoinv("', '", sp->manifests);
        g_string_append_printf(moved, "\n  the manifests changed ('%s')", files);
        n++;
    }
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
