/* The diff: desired steps against the state store and a probe of reality
 * → done / todo / resume / redo, each with its reason. */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "disk/disk.h"
#include "plan/plan.h"
#include "plan/plan-priv.h"
#include "steps/steps.h"
#include "util/size.h"

/* "key=value" lines → hash table key → value. */
static GHashTable *
parse_inputs(const char *text)
{
    GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_auto(GStrv) lines = g_strsplit(text != NULL ? text : "", "\n", -1);

    for (size_t i = 0; lines[i] != NULL; i++) {
        char *eq = strchr(lines[i], '=');
        if (eq == NULL)
            continue;
        g_hash_table_insert(h, g_strndup(lines[i], (gsize)(eq - lines[i])),
                            g_strdup(eq + 1));
    }
    return h;
}

static int
cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *
plan_inputs_diff(const char *old_inputs, const char *new_inputs)
{
    g_autoptr(GHashTable) a = parse_inputs(old_inputs);
    g_autoptr(GHashTable) b = parse_inputs(new_inputs);
    g_autoptr(GPtrArray) keys = g_ptr_array_new();
    g_autoptr(GString) out = g_string_new(NULL);
    GHashTableIter it;
    gpointer k;

    g_hash_table_iter_init(&it, a);
    while (g_hash_table_iter_next(&it, &k, NULL))
        g_ptr_array_add(keys, k);
    g_hash_table_iter_init(&it, b);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        if (!g_hash_table_contains(a, k))
            g_ptr_array_add(keys, k);
    }
    g_ptr_array_sort(keys, cmp_str);
    for (guint i = 0; i < keys->len; i++) {
        const char *key = keys->pdata[i];
        const char *va = g_hash_table_lookup(a, key);
        const char *vb = g_hash_table_lookup(b, key);

        if (g_strcmp0(va, vb) == 0)
            continue;
        if (out->len > 0)
            g_string_append(out, ", ");
        g_string_append(out, key);
        /* Short values are shown; digests and long lists are not. */
        if (va != NULL && vb != NULL && strlen(va) <= 24 && strlen(vb) <= 24)
            g_string_append_printf(out, " (%s → %s)", va, vb);
    }
    if (out->len == 0)
        g_string_append(out, "step kind version");
    return g_string_free(g_steal_pointer(&out), FALSE);
}

static void
diff_step(struct plan_step *s, struct state *st, GError **error)
{
    struct state_step_record *rec = s->rec;

    if (s->ops->observable) {
        g_autofree char *why = NULL;
        if (s->ops->probe(s, s->vm->tgt, rec != NULL ? rec->outputs : NULL, &why)) {
            s->action = PLAN_ACTION_DONE;
            s->reason = g_strdup(rec != NULL && rec->status == STATE_STEP_DONE
                                 ? "up to date" : "already so");
            return;
        }
        if (rec != NULL && rec->status == STATE_STEP_DONE) {
            s->action = PLAN_ACTION_REDO;
            s->reason = g_steal_pointer(&why);
            return;
        }
        if (rec == NULL) {
            s->action = PLAN_ACTION_TODO;
            s->reason = g_steal_pointer(&why);
            return;
        }
    }
    if (rec == NULL) {
        s->action = PLAN_ACTION_TODO;
        s->reason = g_strdup("not done yet");
        return;
    }
    if (rec->status == STATE_STEP_DONE) {
        g_autofree char *why = NULL;

        if (g_strcmp0(rec->fingerprint, s->fingerprint) != 0) {
            g_autofree char *d = plan_inputs_diff(rec->inputs, s->inputs);
            s->action = PLAN_ACTION_REDO;
            s->reason = g_strdup_printf("inputs changed: %s", d);
        } else if (!s->ops->probe(s, s->vm->tgt, rec->outputs, &why)) {
            s->action = PLAN_ACTION_REDO;
            s->reason = g_steal_pointer(&why);
        } else {
            s->action = PLAN_ACTION_DONE;
            s->reason = g_strdup("up to date");
        }
        return;
    }
    /* running (abandoned, or live in another apply: the store's lease
     * says which) or failed */
    const char *was = rec->status == STATE_STEP_FAILED ? "failed" : "interrupted";
    bool live = rec->status == STATE_STEP_RUNNING && state_step_is_live(st, rec);
    if (g_strcmp0(rec->fingerprint, s->fingerprint) != 0) {
        g_autofree char *d = plan_inputs_diff(rec->inputs, s->inputs);
        s->action = PLAN_ACTION_REDO;
        s->reason = g_strdup_printf("last attempt %s, and inputs changed since: %s", was, d);
        return;
    }
    if (s->ops->checkpointed) {
        g_autoptr(state_checkpoint) ck = state_checkpoint_get(st, s->key, error);
        if (ck != NULL && ck->position > 0) {
            g_autofree char *at = NULL;
            uint64_t uploaded, staged;
            if (disk_copy_upload_at(ck->detail, &uploaded, &staged)) {
                g_autofree char *u = size_format(uploaded);
                g_autofree char *t = size_format(staged);
                at = g_strdup_printf("the upload of its staged image at %s of %s", u, t);
            } else {
                at = size_format(ck->position);
            }
            s->action = PLAN_ACTION_RESUME;
            s->resume_from = ck->position;
            if (live)
                s->reason = g_strdup_printf("running now in another convoy apply; at %s", at);
            else if (rec->error != NULL)
                s->reason = g_strdup_printf("last attempt failed (%s); resume from %s", rec->error, at);
            else
                s->reason = g_strdup_printf("interrupted; resume from %s", at);
            return;
        }
    }
    s->action = PLAN_ACTION_TODO;
    if (live)
        s->reason = g_strdup("running now in another convoy apply");
    else if (rec->error != NULL)
        s->reason = g_strdup_printf("retry: last attempt failed: %s", rec->error);
    else
        s->reason = g_strdup_printf("retry: last attempt was %s", was);
}

static void
taint_check(struct plan_vm *v, struct plan_step *s)
{
    for (guint k = 0; k < v->steps->len; k++) {
        const struct plan_step *t = v->steps->pdata[k];

        if (!t->ops->modifies_deps || t->rec == NULL || t->rec->status == STATE_STEP_DONE ||
            !g_ptr_array_find(t->deps, s, NULL))
            continue;
        s->action = PLAN_ACTION_REDO;
        g_free(s->reason);
        s->reason = g_strdup_printf("%s's last attempt %s and may have left it half-changed; starting over",
                                    t->key, t->rec->status == STATE_STEP_FAILED ? "failed" : "was interrupted");
        return;
    }
}

bool
plan_diff(struct plan *p, struct state *st, GError **error)
{
    memset(p->counts, 0, sizeof p->counts);
    for (guint i = 0; i < p->vms->len; i++) {
        struct plan_vm *v = p->vms->pdata[i];

        v->pinned = state_shared(st) && step_vm_pinned(v);

        for (guint k = 0; k < v->steps->len; k++) {
            struct plan_step *s = v->steps->pdata[k];
            GError *err = NULL;

            s->rec = state_step_get(st, s->key, &err);
            if (err != NULL) {
                g_propagate_error(error, err);
                return false;
            }
        }
        for (guint k = 0; k < v->steps->len; k++) {
            struct plan_step *s = v->steps->pdata[k];
            GError *err = NULL;

            diff_step(s, st, &err);
            if (err != NULL) {
                g_propagate_error(error, err);
                return false;
            }
            /* An unfinished step that edits its dependencies' outputs in
             * place (guest-fixup) left them half-changed: redo them. */
            if (s->action == PLAN_ACTION_DONE)
                taint_check(v, s);
            /* A step whose dependency will run runs again too. */
            if (s->action == PLAN_ACTION_DONE) {
                for (guint d = 0; d < s->deps->len; d++) {
                    const struct plan_step *dep = s->deps->pdata[d];
                    if (dep->action != PLAN_ACTION_DONE) {
                        s->action = PLAN_ACTION_REDO;
                        g_free(s->reason);
                        s->reason = g_strdup_printf("forced: %s will run", dep->key);
                        break;
                    }
                }
            }
            /* What an earlier attempt left at another place: replaced
             * or left behind. */
            g_clear_pointer(&s->old_output, g_free);
            if (s->action != PLAN_ACTION_DONE && s->rec != NULL &&
                s->ops->old_output != NULL)
                s->old_output = s->ops->old_output(s, st, &s->old_removed);
            p->counts[s->action]++;
        }
        if (v->error != NULL)
            p->counts[PLAN_ACTION_BLOCKED]++;
    }
    return true;
}

bool
plan_verify(struct plan *p, struct state *st, GError **error)
{
    for (guint i = 0; i < p->vms->len; i++) {
        struct plan_vm *v = p->vms->pdata[i];

        v->verify = true;
        p->verified = true;
        for (guint k = 0; v->steps != NULL && k < v->steps->len; k++) {
            struct plan_step *s = v->steps->pdata[k];
            g_clear_pointer(&s->rec, state_step_record_free);
            g_clear_pointer(&s->reason, g_free);
        }
    }
    if (!plan_diff(p, st, error))
        return false;
    plan_collect_waves(p);
    return true;
}
