/* What the plan asks of targets, read-only: the plan's connection to each
 * target, the target's check of each VM (pools, room, networks, names
 * that are someone else's), disks that two VMs would put in one place,
 * and pools.map entries that placed nothing. */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "plan/plan.h"
#include "plan/plan-priv.h"
#include "util/error.h"

/* Did convoy make the disk (a done copy, or a checkpoint, which is only
 * written after the target disk was created)? */
static bool
disk_owned(struct state *st, const char *key, const struct target *t,
           const char *location)
{
    g_autoptr(state_step_record) rec = state_step_get(st, key, NULL);

    return step_disk_owned(st, key, rec, t, location);
}

/* The target's read-only check of one VM: problems block it (they become
 * its evaluation error), notes become plan warnings. */
void
plan_check_target(struct plan *p, struct plan_eval *ev, struct plan_vm *v,
             GError **error)
{
    g_autoptr(GArray) disks = g_array_new(FALSE, TRUE, sizeof(struct target_disk_req));
    g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *def_key = step_key(&step_domain_define, v->mvm->name, NULL);
    g_autoptr(state_step_record) def = NULL;
    g_autofree char *domain_uuid = NULL;
    struct target_vm_req req = {
        .vm = manifest_vm_target_name(v->mvm),
        .xml = v->kvm_xml,
        .adopt = v->mvm->adopt,
    };

    /* A folder that holds another state store's outputs (a second
     * checkout of the manifest) is not this one's to write. */
    g_autofree char *owner = NULL;
    if (step_owner_conflict(ev->st, v->tgt, &owner)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONFLICT, "%s", owner);
        return;
    }
    if (v->tgt->ops->check == NULL)
        return;
    /* The domain is convoy's when it defined it under this name on this
     * target (the location names both) -- and, where the define recorded
     * the domain's uuid, when the domain there now has that uuid. */
    def = state_step_get(ev->st, def_key, NULL);
    if (def != NULL) {
        req.domain_owned = step_domain_recorded(def, v->tgt, req.vm, &domain_uuid, NULL);
        req.domain_uuid = domain_uuid;
    }
    for (guint i = 0; i < v->disks->len; i++) {
        const struct plan_disk *pd = v->disks->pdata[i];
        char *key = step_key(&step_disk_copy, v->mvm->name, pd->dev);
        struct target_disk_req d = {
            .dev = pd->dev,
            .location = pd->location,
            .format = v->mvm->disk_format,
            .allocation = v->mvm->allocation,
            .size = pd->sdisk->size,
            .owned = disk_owned(ev->st, key, v->tgt, pd->location),
        };
        g_ptr_array_add(keys, key);
        g_array_append_val(disks, d);
    }
    req.disks = (const struct target_disk_req *)(void *)disks->data;
    req.n_disks = disks->len;
    v->tgt->ops->check(v->tgt, &req, problems, notes);
    for (guint i = 0; i < notes->len; i++)
        g_ptr_array_add(p->warnings, g_strdup_printf("vm '%s': %s", v->mvm->name,
                                                     (const char *)notes->pdata[i]));
    if (problems->len > 0) {
        g_autofree char *all = NULL;
        g_ptr_array_add(problems, NULL);
        all = g_strjoinv("; ", (char **)problems->pdata);
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONFLICT, "%s", all);
    }
}

struct target *
plan_get_target(struct plan *p, const struct manifest_target *mt,
                GError **error)
{
    struct target *t = g_hash_table_lookup(p->targets, mt->name);

    if (t == NULL) {
        t = target_open(mt, error);
        if (t == NULL)
            return NULL;
        g_hash_table_insert(p->targets, g_strdup(mt->name), t);
    }
    return t;
}

/* Two VMs' disks must not land on one volume or file (a volumes: name
 * can point at another VM's default name). */
void
plan_claim_locations(struct plan_eval *ev, const struct plan_vm *v, GError **error)
{
    for (guint i = 0; i < v->disks->len; i++) {
        const struct plan_disk *pd = v->disks->pdata[i];
        g_autofree char *key = g_strdup_printf("%s\n%s", v->mtgt->name, pd->location);
        const char *other = g_hash_table_lookup(ev->locations, key);
        if (other != NULL) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONFLICT,
                        "disk %s lands on '%s', where vm '%s' already puts a disk; give one of them another name with volumes:",
                        pd->dev, pd->location, other);
            return;
        }
    }
    for (guint i = 0; i < v->disks->len; i++) {
        const struct plan_disk *pd = v->disks->pdata[i];
        g_hash_table_insert(ev->locations,
                            g_strdup_printf("%s\n%s", v->mtgt->name, pd->location),
                            v->mvm->name);
    }
}

/* After a whole plan: a pools.map entry of a target that placed no disk
 * is likely a typo or a stale SR name.  Not said for one wave (another
 * wave's disks may use it), nor for a target where a VM failed. */
void
plan_warn_unused_pool_keys(struct plan *p, struct plan_eval *ev)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

    for (guint i = 0; i < p->vms->len; i++) {
        const struct plan_vm *v = p->vms->pdata[i];
        const struct manifest_target *mt = v->mtgt;
        if (mt == NULL || mt->pool_map == NULL || g_hash_table_contains(seen, mt->name))
            continue;
        g_hash_table_add(seen, mt->name);
        if (g_hash_table_contains(ev->failed_targets, mt->name))
            continue;
        g_autoptr(GList) keys = g_list_sort(g_hash_table_get_keys(mt->pool_map),
                                            (GCompareFunc)strcmp);
        for (GList *l = keys; l != NULL; l = l->next) {
            g_autofree char *k = g_strdup_printf("%s\n%s", mt->name, (const char *)l->data);
            if (!g_hash_table_contains(ev->pool_keys, k))
                g_ptr_array_add(p->warnings,
                                g_strdup_printf("target '%s': pools.map entry '%s' matches no disk of the VMs planned on it",
                                                mt->name, (const char *)l->data));
        }
    }
}
