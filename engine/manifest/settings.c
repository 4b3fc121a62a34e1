/* Inherited VM settings: defaults ← wave ← vm, including the rule set
 * list edits ("+x" adds, "-x" removes, plain names replace). */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "manifest/manifest-priv.h"

static const char *const power_names[] = {"leave", "shutdown", NULL};
static const char *const guest_boot_names[] = {"auto", "bootloader", "direct", "keep", NULL};
static const char *const guest_tcg_names[] = {"auto", "true", "false", NULL};
static const char *const guest_keys[] = {"fixup", "rules", "boot", "tcg", "timeout", NULL};

const char *
manifest_guest_boot_name(enum manifest_guest_boot b)
{
    return b <= MANIFEST_GUEST_BOOT_KEEP ? guest_boot_names[b] : "?";
}

const char *
manifest_guest_tcg_name(enum manifest_guest_tcg t)
{
    return t <= MANIFEST_GUEST_TCG_OFF ? guest_tcg_names[t] : "?";
}

static GPtrArray *
copy_names(const GPtrArray *src)
{
    GPtrArray *dst = g_ptr_array_new_with_free_func(g_free);

    for (guint i = 0; i < src->len; i++)
        g_ptr_array_add(dst, g_strdup(g_ptr_array_index(src, i)));
    return dst;
}

void
manifest_guest_copy(struct manifest_guest *dst, const struct manifest_guest *src)
{
    *dst = *src;
    dst->rules = copy_names(src->rules);
}

/* guest: {fixup, rules, boot, tcg, timeout}: the keys given override. */
static void
apply_guest(struct mload *l, const struct ynode *n, struct manifest_guest *g)
{
    const struct ynode *v;
    unsigned e = 0;
    uint64_t t = 0;

    if (!mcheck_mapping(l, n, "guest"))
        return;
    mcheck_keys(l, n, "guest", guest_keys);
    if ((v = ynode_get(n, "fixup")) != NULL) {
        if (v->kind == YNODE_SCALAR && !v->quoted && g_strcmp0(v->value, "auto") == 0) {
            g->fixup = true;
            g->fixup_auto = true;
        } else if (!g_hash_table_contains(l->bad_nodes, v) && ynode_as_bool(v, &g->fixup)) {
            g->fixup_auto = false;
        } else if (!g_hash_table_contains(l->bad_nodes, v)) {
            g_autofree char *got = mgot_text(v);
            ydiag_error(&l->diag, v, "'fixup': expected true, false or auto, got %s", got);
        }
    }
    if ((v = ynode_get(n, "boot")) != NULL && mget_enum(l, v, "boot", guest_boot_names, &e))
        g->boot = (enum manifest_guest_boot)e;
    if ((v = ynode_get(n, "tcg")) != NULL) {
        bool b;
        if (v->kind == YNODE_SCALAR && ynode_as_bool(v, &b))
            g->tcg = b ? MANIFEST_GUEST_TCG_ON : MANIFEST_GUEST_TCG_OFF;
        else if (mget_enum(l, v, "tcg", guest_tcg_names, &e))
            g->tcg = (enum manifest_guest_tcg)e;
    }
    if ((v = ynode_get(n, "timeout")) != NULL && mget_uint(l, v, "timeout", 1, 86400, &t))
        g->timeout = (unsigned)t;
    if ((v = ynode_get(n, "rules")) != NULL) {
        GPtrArray *names;

        if (v->kind != YNODE_SEQUENCE || v->items->len == 0) {
            ydiag_error(&l->diag, v, "guest: 'rules': expected a non-empty list of guest rule set names (or auto)");
            return;
        }
        names = g_ptr_array_new_with_free_func(g_free);
        for (guint i = 0; i < v->items->len; i++) {
            char *name = NULL;
            if (mget_name(l, v->items->pdata[i], "rules", &name))
                g_ptr_array_add(names, name);
        }
        g_ptr_array_unref(g->rules);
        g->rules = names;
    }
}

void
msettings_init(struct msettings *s)
{
    s->target = NULL;
    s->disk_format = DISK_FORMAT_QCOW2;
    s->allocation = DISK_ALLOCATION_SPARSE;
    s->source_power = MANIFEST_SOURCE_POWER_LEAVE;
    s->start = true;
    s->autostart = false;
    s->rules = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(s->rules, g_strdup("xen-to-kvm"));
    s->memory = 0;
    s->vcpus = 0;
    s->guest.fixup = true;
    s->guest.fixup_auto = true;
    s->guest.rules = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(s->guest.rules, g_strdup("auto"));
    s->guest.boot = MANIFEST_GUEST_BOOT_AUTO;
    s->guest.tcg = MANIFEST_GUEST_TCG_AUTO;
    s->guest.timeout = 600;
}

void
msettings_release(struct msettings *s)
{
    g_clear_pointer(&s->target, g_free);
    g_clear_pointer(&s->rules, g_ptr_array_unref);
    g_clear_pointer(&s->guest.rules, g_ptr_array_unref);
}

void
msettings_copy(struct msettings *dst, const struct msettings *src)
{
    *dst = *src;
    dst->target = g_strdup(src->target);
    dst->rules = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < src->rules->len; i++)
        g_ptr_array_add(dst->rules, g_strdup(g_ptr_array_index(src->rules, i)));
    manifest_guest_copy(&dst->guest, &src->guest);
}

static gint
find_rule(GPtrArray *rules, const char *name)
{
    for (guint i = 0; i < rules->len; i++) {
        if (strcmp(g_ptr_array_index(rules, i), name) == 0)
            return (gint)i;
    }
    return -1;
}

static void
apply_rules(struct mload *l, const struct ynode *n, struct msettings *s)
{
    if (n->kind != YNODE_SEQUENCE) {
        ydiag_error(&l->diag, n, "'rules': expected a list of rule set names, got a %s", ynode_kind_name(n->kind));
        return;
    }

    /* A list with a plain name (or an empty list) replaces the inherited
     * one; a list of only +x/-x items edits it. */
    bool replace = n->items->len == 0;
    for (guint i = 0; i < n->items->len; i++) {
        const struct ynode *it = g_ptr_array_index(n->items, i);
        if (it->kind == YNODE_SCALAR && it->value[0] != '+' &&
            it->value[0] != '-')
            replace = true;
    }
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
    if (!replace) {
        for (guint i = 0; i < s->rules->len; i++)
            g_ptr_array_add(out, g_strdup(g_ptr_array_index(s->rules, i)));
    }

    for (guint i = 0; i < n->items->len; i++) {
        const struct ynode *it = g_ptr_array_index(n->items, i);
        g_autofree char *item = NULL;
        if (!mget_string(l, it, "rules", &item))
            continue;
        bool remove = item[0] == '-';
        const char *name = item[0] == '+' || item[0] == '-' ? item + 1 : item;
        if (!mname_valid(name)) {
            ydiag_error(&l->diag, it, "'rules': expected a rule set name, optionally prefixed with + or -, got '%s'", item);
            continue;
        }
        gint at = find_rule(out, name);
        if (!remove) {
            if (at < 0)
                g_ptr_array_add(out, g_strdup(name));
            continue;
        }
        if (at < 0) {
            g_autoptr(GString) list = g_string_new(NULL);
            for (guint k = 0; k < out->len; k++)
                g_string_append_printf(list, "%s%s", k > 0 ? ", " : "", (const char *)g_ptr_array_index(out, k));
            ydiag_error(&l->diag, it, "'rules': '%s' removes a rule set that is not in the list (%s)", item, out->len > 0 ? list->str : "empty");
            continue;
        }
        g_ptr_array_remove_index(out, (guint)at);
    }
    g_ptr_array_unref(s->rules);
    s->rules = g_steal_pointer(&out);
}

void
msettings_apply(struct mload *l, const struct ynode *map, const char *ctx,
                struct msettings *s)
{
    const struct ynode *n;
    unsigned e = 0;
    uint64_t v = 0;

    n = ynode_get(map, "target");
    if (n != NULL) {
        g_autofree char *t = NULL;
        if (mget_name(l, n, "target", &t)) {
            if (manifest_find_target(l->m, t) == NULL) {
                if (l->m->targets->len == 0) {
                    ydiag_error(&l->diag, n, "%s: target '%s' is not defined; no targets are defined", ctx, t);
                } else {
                    g_autofree char *names = mjoin_names(l->m->targets, offsetof(struct manifest_target, name));
                    ydiag_error(&l->diag, n, "%s: target '%s' is not defined; defined targets: %s", ctx, t, names);
                }
            }
            g_free(s->target);
            s->target = g_steal_pointer(&t);
        }
    }
    n = ynode_get(map, "disk_format");
    if (n != NULL && mget_enum(l, n, "disk_format", disk_format_names, &e))
        s->disk_format = (enum disk_format)e;
    n = ynode_get(map, "allocation");
    if (n != NULL && mget_enum(l, n, "allocation", disk_allocation_names, &e))
        s->allocation = (enum disk_allocation)e;
    n = ynode_get(map, "source_power");
    if (n != NULL && mget_enum(l, n, "source_power", power_names, &e))
        s->source_power = e == 0 ? MANIFEST_SOURCE_POWER_LEAVE : MANIFEST_SOURCE_POWER_SHUTDOWN;
    n = ynode_get(map, "start");
    if (n != NULL)
        mget_bool(l, n, "start", &s->start);
    n = ynode_get(map, "autostart");
    if (n != NULL)
        mget_bool(l, n, "autostart", &s->autostart);
    n = ynode_get(map, "rules");
    if (n != NULL)
        apply_rules(l, n, s);
    n = ynode_get(map, "memory");
    if (n != NULL && mget_size(l, n, "memory", &s->memory) &&
        s->memory < MANIFEST_MEMORY_MIN) {
        ydiag_error(&l->diag, n, "'memory': expected at least 64MiB, got %s", n->value);
        s->memory = 0;
    }
    n = ynode_get(map, "vcpus");
    if (n != NULL && mget_uint(l, n, "vcpus", 1, 4096, &v))
        s->vcpus = (unsigned)v;
    n = ynode_get(map, "guest");
    if (n != NULL)
        apply_guest(l, n, &s->guest);
}
