/* Hooks: an operator's shell command before and after a VM, with the VM's
 * facts in the environment, its output captured (bounded) and a timeout
 * after which it is killed. */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <gio/gio.h>

#include "exec/exec.h"
#include "util/error.h"

#define HOOK_OUTPUT_MAX (64 * 1024)

struct hook_wait {
    GMainContext *ctx;
    GSubprocess *proc;
    GCancellable *cancel;     /* gives up on output still held open by
                               * the hook's own children */
    char *out;
    GError *err;
    bool finished;
    bool timed_out;
};

static void
on_done(GObject *src, GAsyncResult *res, gpointer data)
{
    struct hook_wait *w = data;

    g_subprocess_communicate_utf8_finish(G_SUBPROCESS(src), res, &w->out, NULL, &w->err);
    w->finished = true;
    g_main_context_wakeup(w->ctx);
}

static gboolean
on_give_up(gpointer data)
{
    struct hook_wait *w = data;

    g_cancellable_cancel(w->cancel);
    return G_SOURCE_REMOVE;
}

/* In the child: its own process group, so a timeout kills what the hook
 * started too. */
static void
child_setup(gpointer data)
{
    setpgid(0, 0);
}

static gboolean
on_timeout(gpointer data)
{
    struct hook_wait *w = data;
    g_autoptr(GSource) grace = g_timeout_source_new_seconds(2);
    const char *id = g_subprocess_get_identifier(w->proc);
    guint64 pid = 0;

    w->timed_out = true;
    if (id != NULL && g_ascii_string_to_unsigned(id, 10, 2, G_MAXINT, &pid, NULL))
        kill(-(pid_t)pid, SIGKILL);
    g_subprocess_force_exit(w->proc);
    g_source_set_callback(grace, on_give_up, w, NULL);
    g_source_attach(grace, w->ctx);
    return G_SOURCE_REMOVE;
}

/* Is name one of convoy's own secret variables (CONVOY_*PASSWORD*,
 * CONVOY_*TOKEN*, CONVOY_*SECRET*)? */
static bool
secret_name(const char *name)
{
    g_autofree char *up = NULL;

    if (!g_str_has_prefix(name, "CONVOY_"))
        return false;
    up = g_ascii_strup(name, -1);
    return strstr(up, "PASSWORD") != NULL || strstr(up, "TOKEN") != NULL ||
           strstr(up, "SECRET") != NULL;
}

/* Remove the secrets from the hook's environment (inherited from ours). */
static void
scrub_env(GSubprocessLauncher *l, const struct manifest *m)
{
    g_auto(GStrv) env = g_get_environ();

    for (guint i = 0; m != NULL && i < m->sources->len; i++) {
        const struct manifest_source *s = m->sources->pdata[i];

        if (s->password_env != NULL)
            g_subprocess_launcher_unsetenv(l, s->password_env);
    }
    for (char **e = env; *e != NULL; e++) {
        g_autofree char *name = g_strndup(*e, strcspn(*e, "="));

        if (secret_name(name))
            g_subprocess_launcher_unsetenv(l, name);
    }
}

static void
set_env(GSubprocessLauncher *l, const struct plan_vm *v, const char *what,
        const char *status)
{
    const struct manifest_vm *m = v->mvm;
    g_autoptr(GString) disks = g_string_new(NULL);

    for (guint i = 0; i < v->disks->len; i++) {
        const struct plan_disk *d = v->disks->pdata[i];
        g_string_append_printf(disks, "%s%s", i ? " " : "", d->location);
    }
    g_subprocess_launcher_setenv(l, "CONVOY_HOOK", what, TRUE);
    g_subprocess_launcher_setenv(l, "CONVOY_VM", m->name, TRUE);
    g_subprocess_launcher_setenv(l, "CONVOY_VM_TARGET_NAME", manifest_vm_target_name(m), TRUE);
    g_subprocess_launcher_setenv(l, "CONVOY_WAVE", m->wave->name, TRUE);
    /* A host move's source is the host it moves from (a libvirt target
     * or URI). */
    g_subprocess_launcher_setenv(l, "CONVOY_SOURCE", v->move != NULL ? v->move->from : v->msrc->name, TRUE);
    g_subprocess_launcher_setenv(l, "CONVOY_SOURCE_TYPE", v->move != NULL ? "libvirt" : manifest_source_kind_name(v->msrc->kind), TRUE);
    if (v->move != NULL)
        g_subprocess_launcher_setenv(l, "CONVOY_MOVE", "1", TRUE);
    g_subprocess_launcher_setenv(l, "CONVOY_TARGET", v->mtgt->name, TRUE);
    g_subprocess_launcher_setenv(l, "CONVOY_TARGET_TYPE", manifest_target_kind_name(v->mtgt->kind), TRUE);
    g_subprocess_launcher_setenv(l, "CONVOY_DISKS", disks->str, TRUE);
    if (v->sv != NULL && v->sv->uuid != NULL)
        g_subprocess_launcher_setenv(l, "CONVOY_VM_UUID", v->sv->uuid, TRUE);
    if (status != NULL)
        g_subprocess_launcher_setenv(l, "CONVOY_STATUS", status, TRUE);
}

bool
exec_run_hook(const struct plan_vm *v, const struct manifest *m,
              const char *what, const char *command,
              unsigned timeout, const char *status, char **output,
              GError **error)
{
    g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(
        G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE |
        G_SUBPROCESS_FLAGS_STDIN_INHERIT);
    g_autoptr(GError) err = NULL;
    g_autoptr(GMainContext) ctx = g_main_context_new();
    g_autoptr(GCancellable) cancel = g_cancellable_new();
    struct hook_wait w = {.ctx = ctx, .cancel = cancel};
    g_autoptr(GSource) timer = NULL;
    /* Hooks run in the folder of the manifest file that names the VM. */
    g_autofree char *cwd = v->mvm->loc.file != NULL ? g_path_get_dirname(v->mvm->loc.file)
                                                    : g_strdup(".");

    *output = NULL;
    scrub_env(l, m);
    set_env(l, v, what, status);
    g_subprocess_launcher_set_cwd(l, cwd);
    g_subprocess_launcher_set_child_setup(l, child_setup, NULL, NULL);
    g_main_context_push_thread_default(ctx);
    w.proc = g_subprocess_launcher_spawn(l, &err, "/bin/sh", "-c", command, NULL);
    if (w.proc == NULL) {
        g_main_context_pop_thread_default(ctx);
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "%s-hook '%s' cannot run: %s", what, command, err->message);
        return false;
    }
    g_subprocess_communicate_utf8_async(w.proc, NULL, cancel, on_done, &w);
    timer = g_timeout_source_new_seconds(timeout);
    g_source_set_callback(timer, on_timeout, &w, NULL);
    g_source_attach(timer, ctx);
    while (!w.finished)
        g_main_context_iteration(ctx, TRUE);
    g_source_destroy(timer);
    g_main_context_pop_thread_default(ctx);

    if (w.out != NULL && strlen(w.out) > HOOK_OUTPUT_MAX) {
        w.out[HOOK_OUTPUT_MAX] = '\0';
        g_autofree char *cut = w.out;
        w.out = g_strconcat(cut, "\n[output cut at 64 KiB]\n", NULL);
    }
    *output = w.out;
    bool ok = false;
    if (w.timed_out) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "%s-hook '%s' timed out after %u s and was killed", what, command, timeout);
    } else if (w.err != NULL && !g_error_matches(w.err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "%s-hook '%s': %s", what, command, w.err->message);
    } else if (!g_subprocess_get_if_exited(w.proc)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "%s-hook '%s' was killed by signal %d", what, command,
                    g_subprocess_get_term_sig(w.proc));
    } else if (g_subprocess_get_exit_status(w.proc) != 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "%s-hook '%s' exited %d", what, command,
                    g_subprocess_get_exit_status(w.proc));
    } else {
        ok = true;
    }
    g_clear_error(&w.err);
    g_object_unref(w.proc);
    return ok;
}
