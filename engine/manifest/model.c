/* The manifest model: enum names, constructors and destructors, and the
 * lookups by name. */
#include "config.h"

#include <string.h>

#include "manifest/manifest-priv.h"

static const char *const source_kind_names[MANIFEST_SOURCE_LAST] = {
    [MANIFEST_SOURCE_XVA] = "xva",
    [MANIFEST_SOURCE_XENSERVER] = "xenserver",
    [MANIFEST_SOURCE_LIBVIRT] = "libvirt",
    [MANIFEST_SOURCE_LIBVIRTXML] = "libvirtxml",
    [MANIFEST_SOURCE_XL] = "xl",
};

static const char *const target_kind_names[MANIFEST_TARGET_LAST] = {
    [MANIFEST_TARGET_DIRECTORY] = "directory",
    [MANIFEST_TARGET_LIBVIRT] = "libvirt",
};

static const char *const source_power_names[MANIFEST_SOURCE_POWER_LAST] = {
    [MANIFEST_SOURCE_POWER_LEAVE] = "leave",
    [MANIFEST_SOURCE_POWER_SHUTDOWN] = "shutdown",
};

static const char *const on_failure_names[MANIFEST_ON_FAILURE_LAST] = {
    [MANIFEST_ON_FAILURE_CONTINUE] = "continue",
    [MANIFEST_ON_FAILURE_STOP_WAVE] = "stop-wave",
};

const char *
manifest_on_failure_name(enum manifest_on_failure f)
{
    if ((unsigned)f >= MANIFEST_ON_FAILURE_LAST)
        return "unknown";
    return on_failure_names[f];
}

const char *
manifest_source_kind_name(enum manifest_source_kind k)
{
    if ((unsigned)k >= MANIFEST_SOURCE_LAST)
        return "unknown";
    return source_kind_names[k];
}

const char *
manifest_target_kind_name(enum manifest_target_kind k)
{
    if ((unsigned)k >= MANIFEST_TARGET_LAST)
        return "unknown";
    return target_kind_names[k];
}

const char *
manifest_source_power_name(enum manifest_source_power p)
{
    if ((unsigned)p >= MANIFEST_SOURCE_POWER_LAST)
        return "unknown";
    return source_power_names[p];
}

const char *
manifest_vm_target_name(const struct manifest_vm *vm)
{
    return vm->rename != NULL ? vm->rename : vm->name;
}

struct manifest_source *
msource_new(void)
{
    return g_new0(struct manifest_source, 1);
}

void
msource_free(gpointer p)
{
    struct manifest_source *s = p;

    if (s == NULL)
        return;
    g_free(s->name);
    g_free(s->path);
    g_free(s->url);
    g_free(s->uri);
    g_free(s->username);
    g_free(s->password_file);
    g_free(s->password_env);
    g_free(s->ca_file);
    g_free(s->token_file);
    g_free(s);
}

static void
netmap_free(gpointer p)
{
    struct manifest_netmap *n = p;

    g_free(n->from_value);
    g_free(n->to_value);
    g_free(n);
}

struct manifest_target *
mtarget_new(void)
{
    struct manifest_target *t = g_new0(struct manifest_target, 1);

    t->pool_map = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                        g_free);
    t->networks = g_ptr_array_new_with_free_func(netmap_free);
    return t;
}

void
mtarget_free(gpointer p)
{
    struct manifest_target *t = p;

    if (t == NULL)
        return;
    g_free(t->name);
    g_free(t->path);
    g_free(t->uri);
    g_free(t->domain_type);
    g_free(t->pool_default);
    g_hash_table_unref(t->pool_map);
    g_ptr_array_unref(t->networks);
    g_free(t);
}

struct manifest_wave *
mwave_new(void)
{
    struct manifest_wave *w = g_new0(struct manifest_wave, 1);

    w->after = g_ptr_array_new_with_free_func(g_free);
    w->vms = g_ptr_array_new();
    w->moves = g_ptr_array_new();
    w->max_parallel = 1;
    w->retries = 2;
    w->hooks.timeout = 600;
    return w;
}

void
mwave_free(gpointer p)
{
    struct manifest_wave *w = p;

    if (w == NULL)
        return;
    g_free(w->name);
    g_ptr_array_unref(w->after);
    g_free(w->not_before);
    g_free(w->not_after);
    g_free(w->weekly);
    g_free(w->timezone);
    g_free(w->hooks.pre);
    g_free(w->hooks.post);
    g_ptr_array_unref(w->vms);
    g_ptr_array_unref(w->moves);
    g_free(w);
}

struct manifest_vm *
mvm_new(void)
{
    struct manifest_vm *vm = g_new0(struct manifest_vm, 1);

    vm->rules = g_ptr_array_new_with_free_func(g_free);
    return vm;
}

void
mvm_free(gpointer p)
{
    struct manifest_vm *vm = p;

    if (vm == NULL)
        return;
    g_free(vm->name);
    g_free(vm->rename);
    g_free(vm->source);
    g_free(vm->file);
    g_free(vm->target);
    g_free(vm->hooks.pre);
    g_free(vm->hooks.post);
    g_free(vm->boot_dir);
    if (vm->cdroms != NULL)
        g_hash_table_unref(vm->cdroms);
    if (vm->volumes != NULL)
        g_hash_table_unref(vm->volumes);
    g_ptr_array_unref(vm->rules);
    if (vm->guest.rules != NULL)
        g_ptr_array_unref(vm->guest.rules);
    g_free(vm);
}

void
mmove_free(gpointer p)
{
    struct manifest_move *mv = p;

    if (mv == NULL)
        return;
    g_free(mv->domain);
    g_free(mv->from);
    g_free(mv->to);
    g_free(mv->migrate_uri);
    mtarget_free(mv->uri_target);
    mvm_free(mv->vm);
    g_free(mv);
}

void
manifest_free(struct manifest *m)
{
    if (m == NULL)
        return;
    if (m->notify != NULL) {
        g_free(m->notify->url);
        g_free(m->notify->token_file);
        g_free(m->notify->ca_file);
        g_free(m->notify);
    }
    g_free(m->state_path);
    g_free(m->base_dir);
    g_free(m->default_target);
    /* VMs first: waves only borrow them. */
    g_ptr_array_unref(m->vms);
    g_ptr_array_unref(m->moves);
    g_ptr_array_unref(m->waves);
    g_ptr_array_unref(m->targets);
    g_ptr_array_unref(m->sources);
    g_ptr_array_unref(m->files);
    if (m->warnings != NULL)
        g_ptr_array_unref(m->warnings);
    g_free(m);
}

struct manifest_source *
manifest_find_source(const struct manifest *m, const char *name)
{
    for (guint i = 0; i < m->sources->len; i++) {
        struct manifest_source *s = g_ptr_array_index(m->sources, i);
        if (strcmp(s->name, name) == 0)
            return s;
    }
    return NULL;
}

struct manifest_target *
manifest_find_target(const struct manifest *m, const char *name)
{
    for (guint i = 0; i < m->targets->len; i++) {
        struct manifest_target *t = g_ptr_array_index(m->targets, i);
        if (strcmp(t->name, name) == 0)
            return t;
    }
    return NULL;
}

struct manifest_wave *
manifest_find_wave(const struct manifest *m, const char *name)
{
    for (guint i = 0; i < m->waves->len; i++) {
        struct manifest_wave *w = g_ptr_array_index(m->waves, i);
        if (strcmp(w->name, name) == 0)
            return w;
    }
    return NULL;
}

struct manifest_vm *
manifest_find_vm(const struct manifest *m, const char *name)
{
    for (guint i = 0; i < m->vms->len; i++) {
        struct manifest_vm *vm = g_ptr_array_index(m->vms, i);
        if (strcmp(vm->name, name) == 0)
            return vm;
    }
    return NULL;
}

struct manifest_move *
manifest_find_move(const struct manifest *m, const char *domain)
{
    for (guint i = 0; i < m->moves->len; i++) {
        struct manifest_move *mv = g_ptr_array_index(m->moves, i);
        if (strcmp(mv->domain, domain) == 0)
            return mv;
    }
    return NULL;
}
