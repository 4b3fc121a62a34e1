/* One VM's job on a worker thread: its pre-hook, its pending steps in
 * chain order (a failed step skips its dependents; a retryable step that
 * failed for a transient reason is tried again after a backoff), its
 * post-hook, and the results handed back to the scheduler. */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "exec/exec-priv.h"
#include "util/error.h"
#include "util/jsonread.h"

/* Base of the exponential backoff between attempts, ms (tests lower it). */
static unsigned
retry_base_ms(void)
{
    const char *env = g_getenv("CONVOY_RETRY_DELAY_MS");
    guint64 v = 0;

    if (env != NULL && g_ascii_string_to_unsigned(env, 10, 0, 600000, &v, NULL))
        return (unsigned)v;
    return 2000;
}

/* Sleep ms, waking early on a signal. */
static void
backoff(unsigned ms)
{
    gint64 until = g_get_monotonic_time() + (gint64)ms * 1000;

    while (!interrupt_requested() && g_get_monotonic_time() < until)
        g_usleep(50 * 1000);
}

/* One attempt of one step: begin → apply → done/failed, with events. */
static bool
attempt(struct plan_step *s, struct step_ctx *ctx, char **outputs_out,
        GError **error)
{
    g_autofree char *outputs = NULL;
    g_autoptr(GError) err = NULL;

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
        ctx->obs->step_end(ctx->obs->opaque, s, NULL);
        *outputs_out = g_steal_pointer(&outputs);
        return true;
    }
    if (!g_error_matches(err, CONVOY_ERROR, CONVOY_ERROR_INTERRUPTED) &&
        interrupt_requested()) {
        /* A failure once a stop was asked for is the stop's doing (a
         * helper convoy does not start itself, such as libvirt's ssh, got
         * the terminal's SIGINT too): the step is stopped, not failed or
         * retried, and keeps its checkpoint; the event says what broke. */
        GError *stop = NULL;
        interrupt_check(&stop);
        g_prefix_error(&err, "%s; meanwhile: ", stop->message);
        err->domain = CONVOY_ERROR;
        err->code = CONVOY_ERROR_INTERRUPTED;
        g_error_free(stop);
    }
    if (g_error_matches(err, CONVOY_ERROR, CONVOY_ERROR_INTERRUPTED)) {
        state_event(ctx->st, ctx->run_id, s->key, "interrupted", err->message, NULL);
    } else {
        if (!state_step_failed(ctx->st, s->key, err->message, error))
            return false;
        state_event(ctx->st, ctx->run_id, s->key, "failed", err->message, NULL);
    }
    ctx->obs->step_end(ctx->obs->opaque, s, err);
    g_propagate_error(error, g_steal_pointer(&err));
    return false;
}

/* A step with its retries.  *fatal is set when the run must stop. */
static bool
run_step(struct job *j, struct plan_step *s, struct step_ctx *ctx)
{
    unsigned retries = s->ops->retryable ? j->v->mvm->wave->retries : 0;

    for (unsigned n = 0;; n++) {
        g_autoptr(GError) err = NULL;
        g_autofree char *outputs = NULL;

        if (!interrupt_check(&err) || !attempt(s, ctx, &outputs, &err)) {
            if (g_error_matches(err, CONVOY_ERROR, CONVOY_ERROR_INTERRUPTED) ||
                g_error_matches(err, CONVOY_ERROR, CONVOY_ERROR_SQLITE)) {
                j->fatal = g_steal_pointer(&err);
                return false;
            }
            if (n < retries && convoy_error_is_transient(err)) {
                unsigned ms = retry_base_ms() << n;
                g_autofree char *msg = g_strdup_printf("attempt %u of %u failed (%s); retrying in %.1f s",
                                                       n + 1, retries + 1, err->message, ms / 1000.0);
                ctx->obs->note(ctx->obs->opaque, s, msg);
                backoff(ms);
                /* The next attempt resumes from the checkpoint. */
                s->action = PLAN_ACTION_RESUME;
                continue;
            }
            return false;
        }
        if (s->ops->copy_measured != NULL && outputs != NULL) {
            double bytes, seconds;
            s->ops->copy_measured(s->key, outputs, &bytes, &seconds);
            j->copied_bytes += (uint64_t)bytes;
            j->copy_seconds += seconds;
        }
        s->action = PLAN_ACTION_DONE;
        return true;
    }
}

static bool
run_hook(struct job *j, struct step_ctx *ctx, const char *what,
         const char *status)
{
    const struct manifest_vm *mvm = j->v->mvm;
    const char *cmd = strcmp(what, "pre") == 0 ? mvm->hooks.pre : mvm->hooks.post;
    g_autofree char *output = NULL;
    g_autofree char *key = NULL;
    g_autofree char *msg = NULL;
    g_autoptr(GError) err = NULL;
    bool ok;

    if (cmd == NULL)
        return true;
    key = g_strdup_printf("%s/hook-%s", mvm->name, what);
    ok = exec_run_hook(j->v, j->run->m, what, cmd, mvm->hooks.timeout, status, &output, &err);
    msg = ok ? g_strdup_printf("ok\n%s", output != NULL ? output : "")
             : g_strdup_printf("failed: %s\n%s", err->message, output != NULL ? output : "");
    state_event(ctx->st, ctx->run_id, key, ok ? "hook-ok" : "hook-failed", msg, NULL);
    if (ok) {
        g_autofree char *note = g_strdup_printf("%s-hook ok", what);
        ctx->obs->vm_note(ctx->obs->opaque, j->v, note);
    } else {
        g_autofree char *note = g_strdup_printf("%s-hook %s", what, err->message);
        ctx->obs->vm_note(ctx->obs->opaque, j->v, note);
    }
    return ok;
}

/* A failure of j's VM in a wave with on_failure: stop-wave: every worker
 * learns it from the state store before it claims or starts another VM
 * of the wave.  Recorded before the job gives back its claim and slots. */
static void
stop_wave(struct job *j, struct step_ctx *ctx)
{
    const struct manifest_wave *w = j->v->mvm->wave;
    g_autoptr(GError) err = NULL;

    if (w->on_failure != MANIFEST_ON_FAILURE_STOP_WAVE)
        return;
    if (!state_wave_stop(ctx->st, w->name, j->v->mvm->name, &err) && j->fatal == NULL)
        j->fatal = g_steal_pointer(&err);
}

static void
job_body(struct job *j)
{
    struct exec_run *r = j->run;
    struct step_ctx ctx = {
        .st = r->st,
        .run_id = r->run_id,
        .obs = &r->obs,
        .checkpoint_interval = r->checkpoint_interval,
    };
    g_autoptr(GHashTable) broken = g_hash_table_new(NULL, NULL);
    struct plan_vm *v = j->v;

    if (!run_hook(j, &ctx, "pre", NULL)) {
        /* The VM is not migrated: a failure, its steps skipped. */
        j->failed++;
        stop_wave(j, &ctx);
        for (guint k = 0; k < v->steps->len; k++) {
            const struct plan_step *s = v->steps->pdata[k];
            if (s->action != PLAN_ACTION_DONE)
                j->skipped++;
        }
        return;
    }
    for (guint k = 0; k < v->steps->len; k++) {
        struct plan_step *s = v->steps->pdata[k];
        bool dep_broken = false;

        if (s->action == PLAN_ACTION_DONE)
            continue;
        for (guint d = 0; d < s->deps->len; d++) {
            if (g_hash_table_contains(broken, s->deps->pdata[d]))
                dep_broken = true;
        }
        if (dep_broken) {
            g_hash_table_add(broken, s);
            j->skipped++;
            continue;
        }
        if (!run_step(j, s, &ctx)) {
            if (j->fatal != NULL)
                return;
            g_hash_table_add(broken, s);
            if (j->failed++ == 0)
                stop_wave(j, &ctx);
            continue;
        }
        j->done++;
    }
    run_hook(j, &ctx, "post", j->failed > 0 ? "failed" : "done");
}

gpointer
job_run(gpointer data)
{
    struct job *j = data;
    struct exec_run *r = j->run;

    job_body(j);
    g_mutex_lock(&r->lock);
    j->state = JOB_STATE_FINISHED;
    g_cond_signal(&r->changed);
    g_mutex_unlock(&r->lock);
    return NULL;
}
