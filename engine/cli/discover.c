/* convoy discover: the read-only inventory of the sources a manifest
 * names (every VM, its power state, OS hint, disks and NICs, and whether
 * the manifest has it), as text or JSON, and a starter manifest file for
 * the VMs it does not have yet. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "sources/sources.h"
#include "util/error.h"
#include "util/fileutil.h"
#include "util/json.h"
#include "util/size.h"

/* One VM of the inventory with what discover decided about it. */
struct dvm {
    const struct manifest_source *ms;  /* borrowed */
    const struct source_found *f;      /* borrowed */
    const struct manifest_vm *known;   /* the manifest's VM, or NULL */
    char *yaml_name;      /* new VMs: the name: to write (the source's, or
                           * its uuid where the name cannot be written) */
    char *target_name;    /* new VMs: the name on the target */
    bool pin_file;        /* new VMs: write file: (the name does not find it) */
};

static void
dvm_free(gpointer p)
{
    struct dvm *d = p;

    g_free(d->yaml_name);
    g_free(d->target_name);
    g_free(d);
}

/* A name the manifest takes as a VM name (not a path, no control
 * characters: manifest-format.md §7). */
static bool
name_writable(const char *s)
{
    if (*s == '\0' || *s == '-' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 ||
        strchr(s, '/') != NULL)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return false;
    }
    return g_utf8_validate(s, -1, NULL);
}

/* A name that is safe as a libvirt domain and a file name: letters,
 * digits, '.', '_' and '-', runs of anything else as one '-'. */
static char *
safe_name(const char *s)
{
    GString *out = g_string_new(NULL);

    for (const char *p = s; *p != '\0'; p++) {
        if (g_ascii_isalnum(*p) || *p == '.' || *p == '_' || (*p == '-' && out->len > 0)) {
            g_string_append_c(out, *p);
        } else if (out->len > 0 && out->str[out->len - 1] != '-') {
            g_string_append_c(out, '-');
        }
    }
    while (out->len > 0 && (out->str[out->len - 1] == '-' || out->str[out->len - 1] == '.'))
        g_string_truncate(out, out->len - 1);
    while (out->len > 0 && out->str[0] == '.')
        g_string_erase(out, 0, 1);
    if (out->len == 0)
        g_string_append(out, "vm");
    return g_string_free(out, FALSE);
}

/* base, or base-2, base-3… that taken does not hold; added to taken. */
static char *
unique_name(GHashTable *taken, const char *base)
{
    char *name = g_strdup(base);

    for (unsigned n = 2; g_hash_table_contains(taken, name); n++) {
        g_free(name);
        name = g_strdup_printf("%s-%u", base, n);
    }
    g_hash_table_add(taken, g_strdup(name));
    return name;
}

/* The manifest's VM for a found one: same source, and its name is the
 * found name or key, or it pins the same file. */
static const struct manifest_vm *
find_known(const struct manifest *m, const struct manifest_source *ms,
           const struct source_found *f)
{
    const char *uuid = f->vm != NULL ? f->vm->uuid : NULL;

    for (guint i = 0; i < m->vms->len; i++) {
        const struct manifest_vm *vm = m->vms->pdata[i];

        if (strcmp(vm->source, ms->name) != 0)
            continue;
        if (vm->file != NULL) {
            if (f->entry->file != NULL && strcmp(vm->file, f->entry->file) == 0)
                return vm;
            continue;
        }
        if (strcmp(vm->name, f->entry->name) == 0 || g_strcmp0(vm->name, f->entry->key) == 0 ||
            g_strcmp0(vm->name, uuid) == 0)
            return vm;
    }
    return NULL;
}

/* How many found VMs of the source carry this name. */
static unsigned
name_count(GPtrArray *found, const char *name)
{
    unsigned n = 0;

    for (guint i = 0; i < found->len; i++) {
        const struct source_found *f = found->pdata[i];
        n += strcmp(f->entry->name, name) == 0;
    }
    return n;
}

/* The name: a new VM gets in the manifest, and whether it needs file:.
 * The describe() of each kind finds a VM by its name (unique), its uuid
 * (XenAPI) or a pinned file (xva, xl). */
static void
decide_names(struct dvm *d, GPtrArray *found, GHashTable *names, GHashTable *targets)
{
    const struct source_found *f = d->f;
    bool unique = name_count(found, f->entry->name) == 1;
    bool writable = name_writable(f->entry->name);
    g_autofree char *safe = safe_name(f->entry->name);

    if (writable && unique && !g_hash_table_contains(names, f->entry->name)) {
        d->yaml_name = g_strdup(f->entry->name);
        g_hash_table_add(names, g_strdup(d->yaml_name));
        /* xl finds NAME.cfg by name; another file name needs file:. */
        if (d->ms->kind == MANIFEST_SOURCE_XL && f->entry->file != NULL) {
            g_autofree char *bn = g_path_get_basename(f->entry->file);
            g_autofree char *want = g_strconcat(f->entry->name, ".cfg", NULL);
            d->pin_file = strcmp(bn, want) != 0 && strcmp(bn, f->entry->name) != 0;
        }
    } else if ((d->ms->kind == MANIFEST_SOURCE_XENSERVER || d->ms->kind == MANIFEST_SOURCE_LIBVIRT) &&
               f->vm != NULL && f->vm->uuid != NULL) {
        d->yaml_name = g_strdup(f->vm->uuid);
        g_hash_table_add(names, g_strdup(d->yaml_name));
    } else {
        d->yaml_name = unique_name(names, safe);
        d->pin_file = f->entry->file != NULL;
    }
    d->target_name = unique_name(targets, safe);
}

/* Does a mapping of target t cover this NIC? */
static bool
nic_mapped(const struct manifest_target *t, const struct source_nic *n)
{
    for (guint i = 0; t != NULL && i < t->networks->len; i++) {
        const struct manifest_netmap *nm = t->networks->pdata[i];

        switch (nm->from) {
        case MANIFEST_NET_FROM_ANY:
            return true;
        case MANIFEST_NET_FROM_MAC:
            if (n->mac != NULL && g_ascii_strcasecmp(nm->from_value, n->mac) == 0)
                return true;
            break;
        case MANIFEST_NET_FROM_NETWORK:
            if (g_strcmp0(nm->from_value, n->network) == 0)
                return true;
            break;
        case MANIFEST_NET_FROM_BRIDGE:
            if (g_strcmp0(nm->from_value, n->bridge) == 0)
                return true;
            break;
        case MANIFEST_NET_FROM_LAST:
        default:
            break;
        }
    }
    return false;
}

/* Does target t place a disk kept at storage (an SR name or a path)?  A
 * directory target places everything; a libvirt one through pools.map,
 * else its default pool. */
static bool
storage_mapped(const struct manifest_target *t, const char *storage)
{
    GHashTableIter it;
    gpointer key;

    if (t == NULL || t->kind != MANIFEST_TARGET_LIBVIRT || t->pool_default != NULL ||
        g_hash_table_size(t->pool_map) == 0)
        return true;
    if (storage == NULL)
        return false;
    g_hash_table_iter_init(&it, t->pool_map);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        const char *k = key;
        size_t n = strlen(k);

        if (strcmp(k, storage) == 0 || strcmp(k, "*") == 0 ||
            (k[0] == '/' && strncmp(storage, k, n) == 0 &&
             (storage[n] == '/' || (n > 0 && k[n - 1] == '/'))))
            return true;
    }
    return false;
}

/* xvda < xvdb < … < xvdz < xvdaa: shorter names first. */
static gint
disk_dev_cmp(gconstpointer a, gconstpointer b)
{
    const struct source_disk *x = *(struct source_disk *const *)a;
    const struct source_disk *y = *(struct source_disk *const *)b;
    size_t lx = strlen(x->xen_dev);
    size_t ly = strlen(y->xen_dev);

    return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x->xen_dev, y->xen_dev);
}

/* The VM's disks by device name, whatever order the source gave them
 * in (an export lists its VBDs unsorted).  A new array of borrowed
 * disks. */
static GPtrArray *
disks_by_dev(const struct source_vm *v)
{
    GPtrArray *out = g_ptr_array_new();

    for (guint i = 0; i < v->disks->len; i++)
        g_ptr_array_add(out, v->disks->pdata[i]);
    g_ptr_array_sort(out, disk_dev_cmp);
    return out;
}

static const char *
or_dash(const char *s)
{
    return s != NULL && *s != '\0' ? s : "-";
}

static void
print_text(GPtrArray *dvms, const struct manifest_source *ms, GPtrArray *found)
{
    unsigned known = 0;

    for (guint i = 0; i < dvms->len; i++) {
        const struct dvm *d = dvms->pdata[i];
        known += d->ms == ms && d->known != NULL;
    }
    cli_printf(stdout, "source '%s' (%s): %u VM%s, %u in the manifest\n", ms->name,
               manifest_source_kind_name(ms->kind), found->len, found->len == 1 ? "" : "s", known);
    for (guint i = 0; i < dvms->len; i++) {
        const struct dvm *d = dvms->pdata[i];
        const struct source_found *f = d->f;

        if (d->ms != ms)
            continue;
        if (f->vm == NULL) {
            cli_printf(stdout, "  '%s': cannot describe it: %s\n", f->entry->name, f->error);
            continue;
        }
        cli_printf(stdout, "  '%s'  %s  os: %s  ", f->entry->name,
                   f->vm->power_state != NULL ? f->vm->power_state : "unknown",
                   f->vm->os_hint != NULL ? f->vm->os_hint : "unknown");
        if (d->known != NULL)
            cli_printf(stdout, "in the manifest (wave %s)\n", d->known->wave->name);
        else if (strcmp(d->target_name, f->entry->name) != 0)
            cli_printf(stdout, "new, target name '%s'\n", d->target_name);
        else
            cli_printf(stdout, "new\n");
        if (f->vm->uuid != NULL)
            cli_printf(stdout, "    uuid %s\n", f->vm->uuid);
        if (f->entry->file != NULL)
            cli_printf(stdout, "    file %s\n", f->entry->file);
        g_autoptr(GPtrArray) disks = disks_by_dev(f->vm);
        for (guint k = 0; k < disks->len; k++) {
            const struct source_disk *sd = disks->pdata[k];
            g_autofree char *size = size_format(sd->size);

            cli_printf(stdout, "    disk %s  %s  %s %s\n", sd->xen_dev, size,
                       ms->kind == MANIFEST_SOURCE_XVA || ms->kind == MANIFEST_SOURCE_XENSERVER
                           ? "SR" : "path",
                       or_dash(sd->storage));
        }
        for (guint k = 0; k < f->nics->len; k++) {
            const struct source_nic *n = f->nics->pdata[k];

            cli_printf(stdout, "    vif %s  %s  network %s  bridge %s\n", n->device,
                       or_dash(n->mac), or_dash(n->network), or_dash(n->bridge));
        }
    }
}

static void
json_vm(struct json *j, const struct dvm *d)
{
    const struct source_found *f = d->f;

    json_begin_object(j);
    json_kv_string(j, "source", d->ms->name);
    json_kv_string(j, "name", f->entry->name);
    json_kv_string(j, "uuid", f->vm != NULL ? f->vm->uuid : NULL);
    json_kv_string(j, "file", f->entry->file);
    json_kv_bool(j, "in_manifest", d->known != NULL);
    json_kv_string(j, "wave", d->known != NULL ? d->known->wave->name : NULL);
    json_kv_string(j, "target_name", d->known != NULL ? manifest_vm_target_name(d->known)
                                                      : d->target_name);
    if (f->vm == NULL) {
        json_kv_string(j, "error", f->error);
        json_end_object(j);
        return;
    }
    json_kv_string(j, "power_state", f->vm->power_state);
    json_kv_string(j, "os", f->vm->os_hint);
    g_autoptr(GPtrArray) disks = disks_by_dev(f->vm);
    json_key(j, "disks");
    json_begin_array(j);
    for (guint k = 0; k < disks->len; k++) {
        const struct source_disk *sd = disks->pdata[k];

        json_begin_object(j);
        json_kv_string(j, "device", sd->xen_dev);
        json_kv_uint(j, "size", sd->size);
        json_kv_string(j, "storage", sd->storage);
        json_end_object(j);
    }
    json_end_array(j);
    json_key(j, "vifs");
    json_begin_array(j);
    for (guint k = 0; k < f->nics->len; k++) {
        const struct source_nic *n = f->nics->pdata[k];

        json_begin_object(j);
        json_kv_string(j, "device", n->device);
        json_kv_string(j, "mac", n->mac);
        json_kv_string(j, "network", n->network);
        json_kv_string(j, "bridge", n->bridge);
        json_end_object(j);
    }
    json_end_array(j);
    json_end_object(j);
}

static void
yq(GString *out, const char *s)
{
    json_quote(out, s); /* a JSON string is a YAML double-quoted scalar */
}

/* The target new VMs land on: the manifest's default target, else its
 * only target; NULL when it cannot be told. */
static const struct manifest_target *
pick_target(const struct manifest *m)
{
    if (m->default_target != NULL)
        return manifest_find_target(m, m->default_target);
    if (m->targets->len == 1)
        return m->targets->pdata[0];
    return NULL;
}

/* -o FILE: a manifest file with one wave of every VM the manifest does
 * not have, and commented stubs for the networks and storage no mapping
 * of the target covers.  Returns a new string. */
static char *
render_manifest(const struct manifest *m, GPtrArray *dvms)
{
    const struct manifest_target *t = pick_target(m);
    GString *out = g_string_new(NULL);
    g_autoptr(GHashTable) nets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GHashTable) srs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GPtrArray) net_stubs = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) sr_stubs = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *wave = NULL;
    unsigned n_new = 0;

    for (unsigned n = 1;; n++) {
        g_free(wave);
        wave = n == 1 ? g_strdup("discovered") : g_strdup_printf("discovered-%u", n);
        if (manifest_find_wave(m, wave) == NULL)
            break;
    }
    for (guint i = 0; i < dvms->len; i++) {
        const struct dvm *d = dvms->pdata[i];

        if (d->known != NULL || d->f->vm == NULL)
            continue;
        n_new++;
        for (guint k = 0; k < d->f->nics->len; k++) {
            const struct source_nic *nic = d->f->nics->pdata[k];
            g_autoptr(GString) stub = g_string_new("- {from: {");

            if (nic_mapped(t, nic))
                continue;
            if (nic->bridge != NULL) {
                g_string_append(stub, "bridge: ");
                yq(stub, nic->bridge);
            } else if (nic->network != NULL) {
                g_string_append(stub, "network: ");
                yq(stub, nic->network);
            } else {
                g_string_append(stub, "mac: ");
                yq(stub, or_dash(nic->mac));
            }
            g_string_append(stub, "}, to: {network: CHANGE-ME}}");
            if (nic->network != NULL && nic->bridge != NULL) {
                g_string_append(stub, "   # network ");
                yq(stub, nic->network);
            }
            if (g_hash_table_add(nets, g_strdup(stub->str)))
                g_ptr_array_add(net_stubs, g_string_free(g_steal_pointer(&stub), FALSE));
        }
        for (guint k = 0; k < d->f->vm->disks->len; k++) {
            const struct source_disk *sd = d->f->vm->disks->pdata[k];
            g_autoptr(GString) stub = g_string_new(NULL);

            if (storage_mapped(t, sd->storage))
                continue;
            yq(stub, or_dash(sd->storage));
            g_string_append(stub, ": CHANGE-ME");
            if (g_hash_table_add(srs, g_strdup(stub->str)))
                g_ptr_array_add(sr_stubs, g_string_free(g_steal_pointer(&stub), FALSE));
        }
    }
    g_string_append(out, "# Written by 'convoy discover': the VMs of the sources that the manifest\n"
                          "# does not name yet, in one wave.  Review it, move VMs to other waves,\n"
                          "# then load it with the manifest: convoy validate MANIFEST THIS-FILE.\n");
    g_string_append(out, "version: 1\n");
    if (net_stubs->len > 0 || sr_stubs->len > 0) {
        const char *tn = t != NULL ? t->name : "TARGET";

        g_string_append_printf(out, "\n# No mapping of target '%s' covers these yet: add them to the target in\n"
                                    "# the manifest file that defines it, with real names for CHANGE-ME.\n",
                               tn);
        if (net_stubs->len > 0) {
            g_string_append(out, "# targets:\n#   ");
            g_string_append(out, tn);
            g_string_append(out, ":\n#     networks:\n");
            for (guint i = 0; i < net_stubs->len; i++) {
                g_string_append(out, "#       ");
                g_string_append(out, (const char *)net_stubs->pdata[i]);
                g_string_append_c(out, '\n');
            }
        }
        if (sr_stubs->len > 0) {
            g_string_append(out, "#     pools:\n#       map:\n");
            for (guint i = 0; i < sr_stubs->len; i++) {
                g_string_append(out, "#         ");
                g_string_append(out, (const char *)sr_stubs->pdata[i]);
                g_string_append_c(out, '\n');
            }
        }
    }
    g_string_append(out, "\nwaves:\n  - name: ");
    g_string_append(out, wave);
    g_string_append_c(out, '\n');
    if (m->default_target == NULL && t != NULL)
        g_string_append_printf(out, "    target: %s\n", t->name);
    else if (t == NULL)
        g_string_append(out, "    # target: NAME   (the manifest has no default target: choose one)\n");
    if (n_new == 0) {
        g_string_append(out, "    vms: []   # every VM of the sources is in the manifest\n");
        return g_string_free(out, FALSE);
    }
    g_string_append(out, "    vms:\n");
    for (guint i = 0; i < dvms->len; i++) {
        const struct dvm *d = dvms->pdata[i];
        const struct source_found *f = d->f;

        if (d->known != NULL || f->vm == NULL)
            continue;
        g_string_append(out, "      - {name: ");
        yq(out, d->yaml_name);
        g_string_append(out, ", source: ");
        g_string_append(out, d->ms->name);
        if (strcmp(d->target_name, d->yaml_name) != 0) {
            g_string_append(out, ", rename: ");
            yq(out, d->target_name);
        }
        if (d->pin_file) {
            g_string_append(out, ", file: ");
            yq(out, f->entry->file);
        }
        g_string_append(out, "}");
        if (strcmp(d->yaml_name, f->entry->name) != 0) {
            g_autofree char *shown = g_strdup(f->entry->name);
            /* YAML allows no control character, even in a comment. */
            for (char *p = shown; *p != '\0'; p++) {
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                    *p = '?';
            }
            g_string_append_printf(out, "   # '%s'", shown);
        }
        g_string_append_c(out, '\n');
    }
    return g_string_free(out, FALSE);
}

int
cmd_discover(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("MANIFEST…");
    g_autoptr(manifest) m = NULL;
    g_auto(GStrv) opt_sources = NULL;
    g_autofree char *opt_out = NULL;
    gboolean opt_json = FALSE;
    GOptionEntry entries[] = {
        {"source", 's', 0, G_OPTION_ARG_STRING_ARRAY, &opt_sources, "Only this source (may be repeated)", "NAME"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "Print the inventory as JSON", NULL},
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_out, "Write a manifest file with the VMs the manifest does not have", "FILE"},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GPtrArray) sources = g_ptr_array_new_with_free_func((GDestroyNotify)source_close);
    g_autoptr(GPtrArray) founds = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
    g_autoptr(GPtrArray) used = g_ptr_array_new();
    g_autoptr(GPtrArray) dvms = g_ptr_array_new_with_free_func(dvm_free);
    g_autoptr(GHashTable) names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GHashTable) targets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    int status = CONVOY_EXIT_OK;
    unsigned n_failed = 0;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(ctx, "List every VM of the manifest's sources, read-only: power state, OS hint, disks, NICs, and whether the manifest has it.");
    if (!cli_parse(ctx, &argc, &argv, "discover"))
        return CONVOY_EXIT_USAGE;
    m = cli_load_manifest(argc, argv, "discover", &status);
    if (m == NULL)
        return status;
    for (guint i = 0; opt_sources != NULL && opt_sources[i] != NULL; i++) {
        if (manifest_find_source(m, opt_sources[i]) == NULL)
            return cli_usage("discover", "--source '%s': the manifest has no such source", opt_sources[i]);
    }
    for (guint i = 0; i < m->vms->len; i++) {
        const struct manifest_vm *vm = m->vms->pdata[i];
        g_hash_table_add(names, g_strdup(vm->name));
        g_hash_table_add(targets, g_strdup(manifest_vm_target_name(vm)));
    }
    for (guint i = 0; i < m->sources->len; i++) {
        const struct manifest_source *ms = m->sources->pdata[i];
        g_autoptr(GError) err = NULL;
        struct source *s;
        GPtrArray *found;

        if (opt_sources != NULL && !g_strv_contains((const char *const *)opt_sources, ms->name))
            continue;
        s = source_open(ms, &err);
        found = s != NULL ? source_discover(s, &err) : NULL;
        if (s != NULL)
            g_ptr_array_add(sources, s);
        if (found == NULL) {
            status = cli_report(err);
            continue;
        }
        g_ptr_array_add(founds, found);
        g_ptr_array_add(used, (gpointer)ms);
        for (guint k = 0; k < found->len; k++) {
            struct dvm *d = g_new0(struct dvm, 1);

            d->ms = ms;
            d->f = found->pdata[k];
            d->known = find_known(m, ms, d->f);
            g_ptr_array_add(dvms, d);
        }
        for (guint k = 0; k < dvms->len; k++) {
            struct dvm *d = dvms->pdata[k];
            if (d->ms == ms && d->known == NULL && d->f->vm != NULL)
                decide_names(d, found, names, targets);
        }
    }
    if (opt_json) {
        struct json j;

        json_init(&j, true);
        json_begin_object(&j);
        json_key(&j, "vms");
        json_begin_array(&j);
        for (guint i = 0; i < dvms->len; i++)
            json_vm(&j, dvms->pdata[i]);
        json_end_array(&j);
        json_end_object(&j);
        g_autofree char *text = json_steal(&j);
        json_release(&j);
        fputs(text, stdout);
        fputc('\n', stdout);
    } else {
        for (guint i = 0; i < used->len; i++)
            print_text(dvms, used->pdata[i], founds->pdata[i]);
    }
    for (guint i = 0; i < dvms->len; i++) {
        const struct dvm *d = dvms->pdata[i];
        n_failed += d->f->vm == NULL;
    }
    if (n_failed == 1)
        fprintf(stderr, "convoy: error: one VM could not be described (see above)\n");
    else if (n_failed > 1)
        fprintf(stderr, "convoy: error: %u VMs could not be described (see above)\n", n_failed);
    if (n_failed > 0 && status == CONVOY_EXIT_OK)
        status = CONVOY_EXIT_FAILURE;
    if (opt_out != NULL) {
        g_autoptr(GError) err = NULL;
        g_autofree char *text = render_manifest(m, dvms);

        if (!file_write_atomic(opt_out, text, strlen(text), 0644, &err))
            return cli_report(err);
        if (!opt_json)
            cli_printf(stdout, "Wrote '%s'; check it with: convoy validate MANIFEST %s\n", opt_out, opt_out);
    }
    fflush(stdout);
    return status;
}
