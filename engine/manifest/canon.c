/* Canonical text of the model: secret-free, sorted "key=value" lines per
 * VM (what its steps' fingerprints hash), and a dump of the whole model. */
#include "config.h"

#include <string.h>

#include "manifest/manifest-priv.h"

static void
line(GPtrArray *lines, const char *prefix, const char *key, const char *value)
{
    if (value != NULL)
        g_ptr_array_add(lines, g_strdup_printf("%s%s=%s", prefix, key, value));
}

/* One line per entry of a string → string table (may be NULL). */
static void
map_lines(GPtrArray *lines, const char *prefix, GHashTable *map)
{
    GHashTableIter it;
    gpointer k, v;

    if (map == NULL)
        return;
    g_hash_table_iter_init(&it, map);
    while (g_hash_table_iter_next(&it, &k, &v))
        line(lines, prefix, k, v);
}

static gint
cmp_lines(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
source_lines(GPtrArray *lines, const char *prefix,
             const struct manifest_source *s)
{
    line(lines, prefix, "name", s->name);
    line(lines, prefix, "kind", manifest_source_kind_name(s->kind));
    line(lines, prefix, "path", s->path);
    line(lines, prefix, "url", s->url);
    line(lines, prefix, "uri", s->uri);
    line(lines, prefix, "username", s->username);
    /* Where the secret is, never the secret. */
    line(lines, prefix, "password_file", s->password_file);
    line(lines, prefix, "password_env", s->password_env);
    line(lines, prefix, "ca_file", s->ca_file);
    line(lines, prefix, "token_file", s->token_file);
    if (s->kind == MANIFEST_SOURCE_XENSERVER ||
        (s->kind == MANIFEST_SOURCE_XVA && s->url != NULL))
        line(lines, prefix, "insecure", s->insecure ? "true" : "false");
}

static void
target_lines(GPtrArray *lines, const char *prefix,
             const struct manifest_target *t)
{
    static const char *const from_names[] = {"bridge", "network", "mac", "any"};
    static const char *const to_names[] = {"network", "bridge"};

    line(lines, prefix, "name", t->name);
    line(lines, prefix, "kind", manifest_target_kind_name(t->kind));
    line(lines, prefix, "path", t->path);
    line(lines, prefix, "uri", t->uri);
    line(lines, prefix, "domain_type", t->domain_type);
    line(lines, prefix, "pool.default", t->pool_default);

    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, t->pool_map);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        g_autofree char *key = g_strdup_printf("pool.map.%s", (const char *)k);
        line(lines, prefix, key, v);
    }
    for (guint i = 0; i < t->networks->len; i++) {
        const struct manifest_netmap *n = g_ptr_array_index(t->networks, i);
        g_autofree char *key = g_strdup_printf("network.%04u", i);
        g_autofree char *from = n->from == MANIFEST_NET_FROM_ANY
            ? g_strdup("any")
            : g_strdup_printf("%s:%s", from_names[n->from], n->from_value);
        g_autofree char *val = g_strdup_printf("%s -> %s:%s", from, to_names[n->to], n->to_value);
        line(lines, prefix, key, val);
    }
}

static char *
join_sorted(GPtrArray *lines)
{
    g_ptr_array_sort(lines, cmp_lines);
    g_autoptr(GString) s = g_string_new(NULL);
    for (guint i = 0; i < lines->len; i++) {
        g_string_append(s, g_ptr_array_index(lines, i));
        g_string_append_c(s, '\n');
    }
    return g_string_free(g_steal_pointer(&s), FALSE);
}

static char *
join_list(GPtrArray *items)
{
    g_autoptr(GString) s = g_string_new(NULL);
    for (guint i = 0; i < items->len; i++) {
        if (i > 0)
            g_string_append_c(s, ',');
        g_string_append(s, g_ptr_array_index(items, i));
    }
    return g_string_free(g_steal_pointer(&s), FALSE);
}

char *
manifest_vm_canonical(const struct manifest *m, const struct manifest_vm *vm)
{
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);

    line(lines, "", "name", vm->name);
    line(lines, "", "rename", vm->rename);
    line(lines, "", "file", vm->file);
    const struct manifest_source *s = vm->source != NULL ? manifest_find_source(m, vm->source) : NULL;
    if (s != NULL)
        source_lines(lines, "source.", s);
    const struct manifest_target *t = vm->target != NULL ? manifest_find_target(m, vm->target) : NULL;
    if (t != NULL)
        target_lines(lines, "target.", t);
    line(lines, "", "disk_format", disk_format_name(vm->disk_format));
    line(lines, "", "allocation", disk_allocation_name(vm->allocation));
    line(lines, "", "source_power", manifest_source_power_name(vm->source_power));
    line(lines, "", "start", vm->start ? "true" : "false");
    g_autofree char *rules = join_list(vm->rules);
    line(lines, "", "rules", rules);
    g_autofree char *mem = g_strdup_printf("%" G_GUINT64_FORMAT, (guint64)vm->memory);
    line(lines, "", "memory", mem);
    g_autofree char *vcpus = g_strdup_printf("%u", vm->vcpus);
    line(lines, "", "vcpus", vcpus);
    line(lines, "", "boot_dir", vm->boot_dir);
    if (vm->guest.fixup) {
        g_autofree char *grules = join_list(vm->guest.rules);
        g_autofree char *gtimeout = g_strdup_printf("%u", vm->guest.timeout);
        line(lines, "guest.", "fixup", vm->guest.fixup_auto ? "auto" : "true");
        line(lines, "guest.", "rules", grules);
        line(lines, "guest.", "boot", manifest_guest_boot_name(vm->guest.boot));
        line(lines, "guest.", "tcg", manifest_guest_tcg_name(vm->guest.tcg));
        line(lines, "guest.", "timeout", gtimeout);
    }
    map_lines(lines, "cdroms.", vm->cdroms);
    map_lines(lines, "volumes.", vm->volumes);
    return join_sorted(lines);
}

static void
append_section(GString *out, const char *title, GPtrArray *lines)
{
    g_autofree char *body = join_sorted(lines);
    g_string_append_printf(out, "[%s]\n%s", title, body);
    g_ptr_array_set_size(lines, 0);
}

char *
manifest_dump(const struct manifest *m)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);

    g_string_append_printf(out, "version=%u\nstate=%s\nbase_dir=%s\n", m->version, m->state_path, m->base_dir);
    for (guint i = 0; i < m->files->len; i++)
        g_string_append_printf(out, "file=%s\n", (const char *)g_ptr_array_index(m->files, i));

    for (guint i = 0; i < m->sources->len; i++) {
        const struct manifest_source *s = g_ptr_array_index(m->sources, i);
        source_lines(lines, "", s);
        g_autofree char *title = g_strdup_printf("source %s", s->name);
        append_section(out, title, lines);
    }
    for (guint i = 0; i < m->targets->len; i++) {
        const struct manifest_target *t = g_ptr_array_index(m->targets, i);
        target_lines(lines, "", t);
        g_autofree char *title = g_strdup_printf("target %s", t->name);
        append_section(out, title, lines);
    }
    for (guint i = 0; i < m->waves->len; i++) {
        const struct manifest_wave *w = g_ptr_array_index(m->waves, i);
        g_autofree char *after = join_list(w->after);
        g_autofree char *par = g_strdup_printf("%u", w->max_parallel);
        g_autoptr(GPtrArray) names = g_ptr_array_new();
        for (guint k = 0; k < w->vms->len; k++)
            g_ptr_array_add(names, ((struct manifest_vm *)g_ptr_array_index(w->vms, k))->name);
        g_autofree char *vms = join_list(names);
        line(lines, "", "after", after);
        line(lines, "", "max_parallel", par);
        line(lines, "", "not_before", w->not_before);
        line(lines, "", "not_after", w->not_after);
        line(lines, "", "vms", vms);
        g_autofree char *title = g_strdup_printf("wave %s", w->name);
        append_section(out, title, lines);
    }
    for (guint i = 0; i < m->vms->len; i++) {
        const struct manifest_vm *vm = g_ptr_array_index(m->vms, i);
        g_autofree char *canon = manifest_vm_canonical(m, vm);
        g_string_append_printf(out, "[vm %s] wave=%s\n%s", vm->name, vm->wave->name, canon);
    }
    for (guint i = 0; i < m->moves->len; i++) {
        const struct manifest_move *mv = g_ptr_array_index(m->moves, i);
        g_string_append_printf(out, "[move %s] wave=%s\n", mv->domain, mv->wave->name);
        g_string_append_printf(out, "auto_converge=%s\nbandwidth=%" G_GUINT64_FORMAT "\ncompressed=%s\n"
                               "from=%s\nfrom_uri=%s\nlive=%s\nmigrate_uri=%s\npeer_to_peer=%s\n"
                               "persist=%s\nto=%s\nto_uri=%s\ntunnelled=%s\nundefine_source=%s\n",
                               mv->auto_converge ? "true" : "false", mv->bandwidth,
                               mv->compressed ? "true" : "false", mv->from,
                               mv->from_target->uri, mv->live ? "true" : "false",
                               mv->migrate_uri != NULL ? mv->migrate_uri : "",
                               mv->peer_to_peer ? "true" : "false",
                               mv->persist ? "true" : "false", mv->to, mv->to_target->uri,
                               mv->tunnelled ? "true" : "false",
                               mv->undefine_source ? "true" : "false");
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}
