/* convoy status: what the state store recorded for the manifest's VMs
 * (no discovery: fast, works while an apply runs). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/error.h"
#include "util/json.h"
#include "util/size.h"

int
cmd_status(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("MANIFEST…");
    g_autoptr(manifest) m = NULL;
    g_autoptr(state) st = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) rows = NULL;
    g_autofree char *opt_state = NULL;
    gboolean opt_json = FALSE;
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "Print as JSON", NULL},
        {"state", 0, 0, G_OPTION_ARG_FILENAME, &opt_state, "State store (default: the manifest's state:)", "PATH"},
        G_OPTION_ENTRY_NULL,
    };
    struct json j;
    unsigned n_done = 0, n_other = 0;
    int status;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(ctx, "Show the recorded state of every VM's steps (no discovery).");
    if (!cli_parse(ctx, &argc, &argv, "status"))
        return CONVOY_EXIT_USAGE;
    m = cli_load_manifest(argc, argv, "status", &status);
    if (m == NULL)
        return status;
    st = state_open(cli_state_path(m, opt_state), false, true, &err);
    if (st == NULL)
        return cli_report(err);
    rows = state_step_list(st, &err);
    if (rows == NULL)
        return cli_report(err);
    json_init(&j, true);
    json_begin_array(&j);
    /* The VMs, then the host moves (their unit is named by the domain,
     * and only their host-migrate step is theirs). */
    guint n_units = m->vms->len + m->moves->len;
    for (guint i = 0; i < n_units; i++) {
        const struct manifest_move *mv = i >= m->vms->len
            ? m->moves->pdata[i - m->vms->len] : NULL;
        const struct manifest_vm *vm = mv != NULL ? mv->vm : m->vms->pdata[i];
        g_autofree char *prefix = g_strdup_printf("%s/", vm->name);
        bool any = false;

        if (!opt_json && mv != NULL)
            printf("%s%s (wave %s, move from %s to %s)\n", i ? "\n" : "", vm->name,
                   vm->wave->name, mv->from, mv->to);
        else if (!opt_json)
            printf("%s%s (wave %s)\n", i ? "\n" : "", vm->name, vm->wave->name);
        for (guint k = 0; k < rows->len; k++) {
            const struct state_step_record *r = rows->pdata[k];
            g_autoptr(state_checkpoint) ck = NULL;
            g_autoptr(GDateTime) dt = NULL;
            g_autofree char *when = NULL;

            if (!g_str_has_prefix(r->key, prefix) ||
                step_kind_is_move(r->kind) != (mv != NULL))
                continue;
            any = true;
            if (r->status == STATE_STEP_DONE)
                n_done++;
            else
                n_other++;
            ck = state_checkpoint_get(st, r->key, NULL);
            dt = g_date_time_new_from_unix_utc(r->updated);
            when = dt ? g_date_time_format_iso8601(dt) : g_strdup("?");
            if (opt_json) {
                json_begin_object(&j);
                json_kv_string(&j, "vm", vm->name);
                json_kv_string(&j, "key", r->key);
                json_kv_string(&j, "status", state_step_status_name(r->status));
                if (state_shared(st))
                    json_kv_string(&j, "worker", r->owner);
                json_kv_uint(&j, "attempts", r->attempts);
                json_kv_string(&j, "updated", when);
                json_kv_string(&j, "error", r->error);
                if (ck != NULL)
                    json_kv_uint(&j, "checkpoint", ck->position);
                json_end_object(&j);
                continue;
            }
            printf("  %-24s %-8s attempts %u, %s", r->key + strlen(prefix),
                   state_step_status_name(r->status), r->attempts, when);
            if (ck != NULL) {
                g_autofree char *pos = size_format(ck->position);
                printf(", checkpoint at %s", pos);
            }
            /* With workers: which one ran it (last). */
            if (state_shared(st) && r->owner != NULL)
                cli_printf(stdout, ", worker %s", r->owner);
            if (r->error != NULL && r->status != STATE_STEP_DONE)
                cli_printf(stdout, "\n    error: %s", r->error);
            printf("\n");
        }
        if (!any && !opt_json)
            printf("  (nothing recorded)\n");
    }
    json_end_array(&j);
    if (opt_json) {
        g_autofree char *s = json_steal(&j);
        printf("%s\n", s);
    } else {
        printf("\n%u step%s done, %u not done.\n", n_done, n_done == 1 ? "" : "s", n_other);
        if (state_shared(st)) {
            g_autoptr(GPtrArray) ws = state_worker_list(st, &err);
            if (ws == NULL)
                return cli_report(err);
            printf("\n%u worker%s:\n", ws->len, ws->len == 1 ? "" : "s");
            for (guint i = 0; i < ws->len; i++) {
                const struct state_worker_record *w = ws->pdata[i];
                g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(w->started);
                g_autofree char *since = dt ? g_date_time_format_iso8601(dt) : g_strdup("?");
                cli_printf(stdout, "  %-24s host %s, pid %" G_GINT64_FORMAT ", started %s, %s, holds %u VM%s\n",
                           w->id, w->host, (gint64)w->pid, since,
                           w->live ? "live" : "gone", w->vms_held, w->vms_held == 1 ? "" : "s");
                if (w->live)
                    printf("    heartbeat %" G_GINT64_FORMAT " s ago\n", (gint64)w->heartbeat_age);
            }
        }
    }
    json_release(&j);
    return CONVOY_EXIT_OK;
}
