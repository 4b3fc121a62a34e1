/* The executor: runs a plan's pending steps in chain order, records every
 * transition in the state store, keeps going past a failed VM, and stops
 * at a consistent point when interrupted. */
#include "config.h"

#include <glib.h>

#include "exec/exec.h"
#include "util/error.h"

#define CHECKPOINT_DEFAULT (64ULL << 20)
#define CHECKPOINT_MAX (256ULL << 20)

uint64_t
exec_checkpoint_interval(void)
{
    const char *env = g_getenv("CONVOY_CHECKPOINT_INTERVAL");
    guint64 v = 0;

    if (env != NULL && g_ascii_string_to_unsigned(env, 10, 4096, CHECKPOINT_MAX,
                                                  &v, NULL))
        return v;
    return CHECKPOINT_DEFAULT;
}

/* One step: begin → apply → done/failed, with events. */
static bool
run_step(struct plan_step *s, struct step_ctx *ctx, GError **error)
{
    g_autofree char *outputs = NULL;
    g_autoptr(GError) err = NULL;

    if (ctx->obs != NULL && ctx->obs->step_begin != NULL)
        ctx->obs->step_begin(ctx->obs->opaque, s);
    if (!state_step_begin(ctx->st, s->key, s->vm->mvm->name, s->ops->name,
                          s->fingerprint, s->inputs, error))
        return false;
    state_event(ctx->st, ctx->run_id, s->key,
                s->action == PLAN_ACTION_RESUME ? "resume" : "begin",
                s->reason, NULL);
    if (s->ops->apply(s, ctx, &outputs, &err)) {
        if (!state_step_done(ctx->st, s->key, outputs, error))
            return false;
        state_event(ctx->st, ctx->run_id, s->key, "done", outputs, NULL);
        if (ctx->obs != NULL && ctx->obs->step_end != NULL)
            ctx->obs->step_end(ctx->obs->opaque, s, NULL);
        return true;
    }
    if (g_error_matches(err, CONVOY_ERROR, CONVOY_ERROR_INTERRUPTED)) {
        state_event(ctx->st, ctx->run_id, s->key, "interrupted", err->message, NULL);
    } else {
        if (!state_step_failed(ctx->st, s->key, err->message, error))
            return false;
        state_event(ctx->st, ctx->run_id, s->key, "failed", err->message, NULL);
    }
    if (ctx->obs != NULL && ctx->obs->step_end != NULL)
        ctx->obs->step_end(ctx->obs->opaque, s, err);
    g_propagate_error(error, g_steal_pointer(&err));
    return false;
}

bool
exec_apply(struct plan *p, struct state *st, const char *command,
           const struct exec_observer *obs, struct exec_result *res,
           GError **error)
{
    g_autoptr(GHashTable) broken = g_hash_table_new(NULL, NULL);
    struct step_ctx ctx = {
        .st = st,
        .plan = p,
        .obs = obs,
        .checkpoint_interval = exec_checkpoint_interval(),
    };

    *res = (struct exec_result){0};
    ctx.run_id = state_run_begin(st, command, error);
    if (ctx.run_id < 0)
        return false;
    for (guint i = 0; i < p->vms->len; i++) {
        struct plan_vm *v = p->vms->pdata[i];

        if (v->error != NULL) {
            res->failed++;
            continue;
        }
        for (guint k = 0; k < v->steps->len; k++) {
            struct plan_step *s = v->steps->pdata[k];
            bool dep_broken = false;
            GError *err = NULL;

            if (s->action == PLAN_ACTION_DONE)
                continue;
            for (guint d = 0; d < s->deps->len; d++) {
                if (g_hash_table_contains(broken, s->deps->pdata[d]))
                    dep_broken = true;
            }
            if (dep_broken) {
                g_hash_table_add(broken, s);
                res->skipped++;
                continue;
            }
            if (!exec_check_interrupt(&err) || !run_step(s, &ctx, &err)) {
                if (g_error_matches(err, CONVOY_ERROR, CONVOY_ERROR_INTERRUPTED)) {
                    res->interrupted = true;
                    state_run_end(st, ctx.run_id, "interrupted", NULL);
                    g_propagate_error(error, err);
                    return false;
                }
                if (err->domain == CONVOY_ERROR && err->code == CONVOY_ERROR_SQLITE) {
                    g_propagate_error(error, err);
                    return false;
                }
                g_error_free(err);
                g_hash_table_add(broken, s);
                res->failed++;
                continue;
            }
            s->action = PLAN_ACTION_DONE;
            res->done++;
        }
    }
    return state_run_end(st, ctx.run_id, res->failed > 0 ? "failed" : "ok", error);
}
