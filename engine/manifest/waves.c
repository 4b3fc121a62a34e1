/* Manifest waves and their VMs: settings inheritance, references to
 * sources and targets, duplicate names, and the 'after' graph. */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "manifest/manifest-priv.h"

static const char *const wave_keys[] = {
    "name", "after", "max_parallel", "limits", "window", "on_failure",
    "retries", "hooks", "vms", "moves", "target", "disk_format", "allocation",
    "source_power", "start", "autostart", "rules", "guest", NULL,
};
static const char *const vm_keys[] = {
    "name", "source", "rename", "file", "target", "disk_format", "allocation",
    "source_power", "start", "autostart", "adopt", "memory", "vcpus", "rules",
    "hooks", "boot_dir", "cdroms", "volumes", "guest", NULL,
};
static const char *const limits_keys[] = {
    "per_source_host", "per_target_host", "per_pool", NULL,
};
static const char *const window_keys[] = {
    "not_before", "not_after", "weekly", "timezone", NULL,
};
static const char *const hooks_keys[] = {"pre", "post", "timeout", NULL};
static const char *const on_failure_names[] = {"continue", "stop-wave", NULL};
static const char *const day_names[] = {
    "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", NULL,
};

/* A wave while loading: the model object and the nodes of its 'after'. */
struct wave_src {
    struct manifest_wave *w;
    const struct ynode *node;
    GPtrArray *after_nodes;    /* of const struct ynode*, parallel to w->after */
};

struct waves_ctx {
    struct mload *l;
    GArray *waves;             /* of struct wave_src */
    GHashTable *wave_names;    /* name → name node of the first */
    GHashTable *vm_names;      /* name → name node of the first */
    GHashTable *target_names;  /* "target\nname" → node of the first */
    GHashTable *move_domains;  /* domain → domain node of its move */
};

static bool
rfc3339(struct mload *l, const struct ynode *n, const char *key, char **out,
        GDateTime **when)
{
    g_autofree char *s = NULL;

    if (!mget_string(l, n, key, &s))
        return false;
    /* GLib parses ISO 8601 broadly; RFC 3339 is the profile with a full
     * date, 'T', a time and a zone (seconds may be left out). */
    static const char *const pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?([Zz]|[+-][0-9]{2}:[0-9]{2})$";
    GDateTime *dt = NULL;
    if (g_regex_match_simple(pattern, s, 0, 0)) {
        /* GLib wants seconds: "22:00Z" is read as "22:00:00Z". */
        g_autofree char *full = NULL;
        if (s[16] != ':')
            full = g_strdup_printf("%.16s:00%s", s, s + 16);
        dt = g_date_time_new_from_iso8601(full != NULL ? full : s, NULL);
    }
    if (dt == NULL) {
        ydiag_error(&l->diag, n, "'%s': expected an RFC 3339 date and time with a zone, such as 2026-12-01T22:00:00Z, got '%s'", key, s);
        return false;
    }
    *when = dt;
    *out = g_steal_pointer(&s);
    return true;
}

/* "Sat 22:00" → minutes since Monday 00:00. */
static bool
parse_week_time(const char *s, unsigned *out)
{
    g_auto(GStrv) parts = g_strsplit(s, " ", -1);
    guint64 h = 0, m = 0;

    if (g_strv_length(parts) != 2 || strlen(parts[1]) != 5 || parts[1][2] != ':')
        return false;
    for (unsigned d = 0; day_names[d] != NULL; d++) {
        g_autofree char *hh = g_strndup(parts[1], 2);
        if (g_ascii_strcasecmp(parts[0], day_names[d]) != 0)
            continue;
        if (!g_ascii_string_to_unsigned(hh, 10, 0, 23, &h, NULL) ||
            !g_ascii_string_to_unsigned(parts[1] + 3, 10, 0, 59, &m, NULL))
            return false;
        *out = d * 24 * 60 + (unsigned)(h * 60 + m);
        return true;
    }
    return false;
}

static bool
parse_weekly(const char *s, unsigned *start, unsigned *end)
{
    g_auto(GStrv) ends = g_strsplit(s, "-", -1);

    if (g_strv_length(ends) != 2)
        return false;
    g_strstrip(ends[0]);
    g_strstrip(ends[1]);
    return parse_week_time(ends[0], start) && parse_week_time(ends[1], end) &&
           *start != *end;
}

/* "90", "90s", "10m", "2h" → seconds, at most a week. */
static bool
parse_duration(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    uint64_t mult = 1, v = 0;
    g_autofree char *num = NULL;

    if (n > 1 && strchr("smh", s[n - 1]) != NULL) {
        mult = s[n - 1] == 'h' ? 3600 : s[n - 1] == 'm' ? 60 : 1;
        n--;
    }
    num = g_strndup(s, n);
    if (!g_ascii_string_to_unsigned(num, 10, 1, 7 * 24 * 3600, &v, NULL) ||
        v * mult > 7 * 24 * 3600)
        return false;
    *out = v * mult;
    return true;
}

static void
parse_hooks(struct mload *l, const struct ynode *n, struct manifest_hooks *h)
{
    if (!mcheck_mapping(l, n, "hooks") || !mcheck_keys(l, n, "hooks", hooks_keys))
        return;
    const struct ynode *x = ynode_get(n, "pre");
    if (x != NULL) {
        g_free(h->pre);
        h->pre = NULL;
        mget_string(l, x, "pre", &h->pre);
    }
    x = ynode_get(n, "post");
    if (x != NULL) {
        g_free(h->post);
        h->post = NULL;
        mget_string(l, x, "post", &h->post);
    }
    x = ynode_get(n, "timeout");
    if (x != NULL) {
        g_autofree char *t = NULL;
        uint64_t secs = 0;
        if (mget_string(l, x, "timeout", &t)) {
            if (parse_duration(t, &secs))
                h->timeout = (unsigned)secs;
            else
                ydiag_error(&l->diag, x, "'timeout': expected a duration such as 90s, 10m or 1h (at most a week), got '%s'", t);
        }
    }
}

static void
parse_window(struct mload *l, const struct ynode *n, struct manifest_wave *w)
{
    if (!mcheck_mapping(l, n, "window") ||
        !mcheck_keys(l, n, "window", window_keys))
        return;
    g_autoptr(GDateTime) from = NULL;
    g_autoptr(GDateTime) to = NULL;
    const struct ynode *nb = ynode_get(n, "not_before");
    const struct ynode *na = ynode_get(n, "not_after");
    if (nb != NULL)
        rfc3339(l, nb, "not_before", &w->not_before, &from);
    if (na != NULL)
        rfc3339(l, na, "not_after", &w->not_after, &to);
    if (from != NULL && to != NULL && g_date_time_compare(from, to) >= 0)
        ydiag_error(&l->diag, na, "'not_after': expected a time after not_before (%s), got '%s'", w->not_before, w->not_after);

    const struct ynode *wk = ynode_get(n, "weekly");
    if (wk != NULL && mget_string(l, wk, "weekly", &w->weekly) &&
        !parse_weekly(w->weekly, &w->weekly_start, &w->weekly_end))
        ydiag_error(&l->diag, wk, "'weekly': expected 'DAY HH:MM-DAY HH:MM' with days Mon..Sun, such as 'Sat 22:00-Sun 04:00', got '%s'", w->weekly);
    const struct ynode *tz = ynode_get(n, "timezone");
    if (tz != NULL && mget_string(l, tz, "timezone", &w->timezone)) {
        g_autoptr(GTimeZone) z = g_time_zone_new_identifier(w->timezone);
        if (wk == NULL)
            ydiag_error(&l->diag, tz, "'timezone': applies to a 'weekly' window, and this window has none");
        else if (z == NULL)
            ydiag_error(&l->diag, tz, "'timezone': expected a time zone name such as Europe/Paris or UTC, got '%s'", w->timezone);
    }
}

static void
parse_limits(struct mload *l, const struct ynode *n, struct manifest_wave *w)
{
    unsigned *slots[] = {&w->per_source_host, &w->per_target_host, &w->per_pool};

    if (!mcheck_mapping(l, n, "limits") ||
        !mcheck_keys(l, n, "limits", limits_keys))
        return;
    for (unsigned i = 0; limits_keys[i] != NULL; i++) {
        const struct ynode *x = ynode_get(n, limits_keys[i]);
        uint64_t v = 0;
        if (x != NULL && mget_uint(l, x, limits_keys[i], 1, 65535, &v))
            *slots[i] = (unsigned)v;
    }
}

static void
parse_after(struct mload *l, const struct ynode *n, struct wave_src *ws)
{
    if (n->kind == YNODE_SCALAR) {
        char *name = NULL;
        if (mget_name(l, n, "after", &name)) {
            g_ptr_array_add(ws->w->after, name);
            g_ptr_array_add(ws->after_nodes, (gpointer)n);
        }
        return;
    }
    if (n->kind != YNODE_SEQUENCE) {
        ydiag_error(&l->diag, n, "'after': expected a wave name or a list of wave names, got a mapping");
        return;
    }
    for (guint i = 0; i < n->items->len; i++) {
        const struct ynode *it = g_ptr_array_index(n->items, i);
        char *name = NULL;
        if (mget_name(l, it, "after", &name)) {
            g_ptr_array_add(ws->w->after, name);
            g_ptr_array_add(ws->after_nodes, (gpointer)it);
        }
    }
}

static void
check_target_name(struct waves_ctx *c, const struct ynode *at,
                  const char *what, struct manifest_vm *vm)
{
    const char *tname = manifest_vm_target_name(vm);
    char *id = g_strdup_printf("%s\n%s", vm->target, tname);
    const struct ynode *first = g_hash_table_lookup(c->target_names, id);

    if (first == NULL) {
        g_hash_table_insert(c->target_names, id, (gpointer)at);
        return;
    }
    g_free(id);
    ydiag_error(&c->l->diag, at, "%s '%s': name '%s' is already used on target '%s'", what, vm->name, tname, vm->target);
    ydiag_note(&c->l->diag, first, "first used here");
}

static void
parse_vm(struct waves_ctx *c, const struct ynode *n, struct manifest_wave *w,
         const struct msettings *inherited)
{
    struct mload *l = c->l;

    if (!mcheck_mapping(l, n, "vms"))
        return;
    mcheck_keys(l, n, "vm", vm_keys);
    bool have_name = mrequire(l, n, "name", "vm");
    bool have_source = mrequire(l, n, "source", "vm");
    if (!have_name)
        return;
    const struct ynode *name_node = ynode_get(n, "name");
    g_autofree char *name = NULL;
    if (!mget_file_name(l, name_node, "name", &name))
        return;

    const struct ynode *first = g_hash_table_lookup(c->vm_names, name);
    if (first != NULL) {
        ydiag_error(&l->diag, name_node, "duplicate vm '%s'", name);
        ydiag_note(&l->diag, first, "first defined here");
        return;
    }
    if (l->m->vms->len >= MANIFEST_MAX_VMS) {
        ydiag_error(&l->diag, n, "too many vms: at most %u are allowed", (unsigned)MANIFEST_MAX_VMS);
        return;
    }
    g_hash_table_insert(c->vm_names, g_strdup(name), (gpointer)name_node);

    struct manifest_vm *vm = mvm_new();
    vm->name = g_steal_pointer(&name);
    vm->loc = mloc(l, n);
    vm->wave = w;
    g_ptr_array_add(l->m->vms, vm);
    g_ptr_array_add(w->vms, vm);

    const struct manifest_source *src = NULL;
    if (have_source) {
        const struct ynode *sn = ynode_get(n, "source");
        if (mget_name(l, sn, "source", &vm->source)) {
            src = manifest_find_source(l->m, vm->source);
            if (src == NULL && l->m->sources->len == 0) {
                ydiag_error(&l->diag, sn, "vm '%s': source '%s' is not defined; no sources are defined", vm->name, vm->source);
            } else if (src == NULL) {
                g_autofree char *names = mjoin_names(l->m->sources, offsetof(struct manifest_source, name));
                ydiag_error(&l->diag, sn, "vm '%s': source '%s' is not defined; defined sources: %s", vm->name, vm->source, names);
            }
        }
    }

    const struct ynode *rn = ynode_get(n, "rename");
    if (rn != NULL)
        mget_file_name(l, rn, "rename", &vm->rename);

    const struct ynode *an = ynode_get(n, "adopt");
    if (an != NULL)
        mget_bool(l, an, "adopt", &vm->adopt);

    const struct ynode *fn = ynode_get(n, "file");
    if (fn != NULL && mget_path(l, fn, "file", &vm->file) && src != NULL &&
        src->kind != MANIFEST_SOURCE_XVA && src->kind != MANIFEST_SOURCE_XL) {
        ydiag_error(&l->diag, fn, "vm '%s': 'file' pins an XVA file or an xl.cfg, but source '%s' is a %s source", vm->name, vm->source, manifest_source_kind_name(src->kind));
    }

    struct msettings s;
    msettings_copy(&s, inherited);
    g_autofree char *ctx = g_strdup_printf("vm '%s'", vm->name);
    msettings_apply(l, n, ctx, &s);
    if (s.target == NULL)
        ydiag_error(&l->diag, n, "vm '%s': no target is set; set 'target' in the vm, its wave or the defaults", vm->name);
    vm->target = g_steal_pointer(&s.target);
    vm->disk_format = s.disk_format;
    vm->allocation = s.allocation;
    vm->source_power = s.source_power;
    vm->start = s.start;
    vm->autostart = s.autostart;
    vm->memory = s.memory;
    vm->vcpus = s.vcpus;
    g_ptr_array_unref(vm->rules);
    vm->rules = g_steal_pointer(&s.rules);
    vm->guest = s.guest;
    s.guest.rules = NULL;
    msettings_release(&s);

    vm->hooks.pre = g_strdup(w->hooks.pre);
    vm->hooks.post = g_strdup(w->hooks.post);
    vm->hooks.timeout = w->hooks.timeout;
    const struct ynode *hn = ynode_get(n, "hooks");
    if (hn != NULL)
        parse_hooks(l, hn, &vm->hooks);

    const struct ynode *bd = ynode_get(n, "boot_dir");
    if (bd != NULL)
        mget_path(l, bd, "boot_dir", &vm->boot_dir);
    const struct ynode *cds = ynode_get(n, "cdroms");
    if (cds != NULL && mcheck_mapping(l, cds, "cdroms")) {
        vm->cdroms = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        for (guint i = 0; i < cds->pairs->len; i++) {
            const struct ynode_pair *p = g_ptr_array_index(cds->pairs, i);
            char *iso = NULL;
            if (!g_regex_match_simple("^(sd|hd|vd)[a-z]{1,3}$", p->key->value, 0, 0)) {
                ydiag_error(&l->diag, p->key, "'cdroms': expected a CD-ROM drive of the converted domain such as sdc or hdc, got '%s'", p->key->value);
                continue;
            }
            if (mget_path(l, p->value, p->key->value, &iso))
                g_hash_table_replace(vm->cdroms, g_strdup(p->key->value), iso);
        }
    }
    const struct ynode *vols = ynode_get(n, "volumes");
    if (vols != NULL && mcheck_mapping(l, vols, "volumes")) {
        vm->volumes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        g_autoptr(GHashTable) names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        for (guint i = 0; i < vols->pairs->len; i++) {
            const struct ynode_pair *p = g_ptr_array_index(vols->pairs, i);
            char *vol = NULL;
            if (!g_regex_match_simple("^(sd|hd|vd)[a-z]{1,3}$", p->key->value, 0, 0)) {
                ydiag_error(&l->diag, p->key, "'volumes': expected a disk of the converted domain such as vda or sdb, got '%s'", p->key->value);
                continue;
            }
            if (!mget_name(l, p->value, p->key->value, &vol))
                continue;
            const struct ynode *given = g_hash_table_lookup(names, vol);
            if (given != NULL) {
                ydiag_error(&l->diag, p->value, "vm '%s': volume name '%s' is given to two disks", vm->name, vol);
                ydiag_note(&l->diag, given, "first given here");
                g_free(vol);
                continue;
            }
            g_hash_table_insert(names, g_strdup(vol), (gpointer)p->value);
            g_hash_table_replace(vm->volumes, g_strdup(p->key->value), vol);
        }
    }

    if (vm->target != NULL)
        check_target_name(c, rn != NULL ? rn : name_node, "vm", vm);
}

static void
parse_wave(struct waves_ctx *c, const struct ynode *n, guint index)
{
    struct mload *l = c->l;

    if (!mcheck_mapping(l, n, "waves"))
        return;
    mcheck_keys(l, n, "wave", wave_keys);

    struct wave_src ws = {
        .w = mwave_new(),
        .node = n,
        .after_nodes = g_ptr_array_new(),
    };
    ws.w->loc = mloc(l, n);
    g_ptr_array_add(l->m->waves, ws.w);

    const struct ynode *name_node = ynode_get(n, "name");
    if (mrequire(l, n, "name", "wave") &&
        mget_name(l, name_node, "name", &ws.w->name)) {
        const struct ynode *first = g_hash_table_lookup(c->wave_names, ws.w->name);
        if (first != NULL) {
            ydiag_error(&l->diag, name_node, "duplicate wave '%s'", ws.w->name);
            ydiag_note(&l->diag, first, "first defined here");
        } else {
            g_hash_table_insert(c->wave_names, ws.w->name, (gpointer)name_node);
        }
    }
    if (ws.w->name == NULL)
        ws.w->name = g_strdup_printf("#%u", index + 1);
    g_array_append_val(c->waves, ws);

    const struct ynode *x;
    uint64_t v = 0;
    x = ynode_get(n, "max_parallel");
    if (x != NULL && mget_uint(l, x, "max_parallel", 1, 65535, &v))
        ws.w->max_parallel = (unsigned)v;
    x = ynode_get(n, "limits");
    if (x != NULL)
        parse_limits(l, x, ws.w);
    x = ynode_get(n, "on_failure");
    unsigned of = 0;
    if (x != NULL && mget_enum(l, x, "on_failure", on_failure_names, &of))
        ws.w->on_failure = (enum manifest_on_failure)of;
    x = ynode_get(n, "retries");
    if (x != NULL && mget_uint(l, x, "retries", 0, 100, &v))
        ws.w->retries = (unsigned)v;
    x = ynode_get(n, "hooks");
    if (x != NULL)
        parse_hooks(l, x, &ws.w->hooks);
    x = ynode_get(n, "window");
    if (x != NULL)
        parse_window(l, x, ws.w);
    x = ynode_get(n, "after");
    if (x != NULL)
        parse_after(l, x, &ws);

    struct msettings s;
    msettings_copy(&s, &l->base);
    g_autofree char *ctx = g_strdup_printf("wave '%s'", ws.w->name);
    msettings_apply(l, n, ctx, &s);

    const struct ynode *moves = ynode_get(n, "moves");
    if (moves != NULL && ynode_get(n, "vms") == NULL) {
        /* A wave of host moves only. */
    } else if (mrequire(l, n, "vms", "wave")) {
        const struct ynode *vms = ynode_get(n, "vms");
        if (vms->kind != YNODE_SEQUENCE) {
            ydiag_error(&l->diag, vms, "'vms': expected a list of vms, got a %s", ynode_kind_name(vms->kind));
        } else {
            for (guint i = 0; i < vms->items->len; i++)
                parse_vm(c, g_ptr_array_index(vms->items, i), ws.w, &s);
        }
    }
    if (moves != NULL && moves->kind != YNODE_SEQUENCE) {
        ydiag_error(&l->diag, moves, "'moves': expected a list of host moves, got a %s", ynode_kind_name(moves->kind));
    } else if (moves != NULL) {
        for (guint i = 0; i < moves->items->len; i++) {
            const struct ynode *mn = g_ptr_array_index(moves->items, i);
            guint before = ws.w->moves->len;
            mmove_parse(l, mn, ws.w, c->move_domains);
            if (ws.w->moves->len > before) {
                struct manifest_move *mv = g_ptr_array_index(ws.w->moves, before);
                if (mv->to != NULL)
                    check_target_name(c, ynode_get(mn, "domain"), "move", mv->vm);
            }
        }
    }
    msettings_release(&s);
}

static gint
wave_index(struct waves_ctx *c, const char *name)
{
    for (guint i = 0; i < c->waves->len; i++) {
        const struct wave_src *ws = &g_array_index(c->waves, struct wave_src, i);
        if (strcmp(ws->w->name, name) == 0)
            return (gint)i;
    }
    return -1;
}

/* Depth-first search over 'after' edges; a back edge closes a cycle,
 * reported at the 'after' item that closes it. */
static void
visit(struct waves_ctx *c, guint i, guint8 *color, GArray *path)
{
    struct wave_src *ws = &g_array_index(c->waves, struct wave_src, i);

    color[i] = 1;
    g_array_append_val(path, i);
    for (guint k = 0; k < ws->w->after->len; k++) {
        gint j = wave_index(c, g_ptr_array_index(ws->w->after, k));
        if (j < 0 || (guint)j == i)
            continue;
        if (color[j] == 1) {
            g_autoptr(GString) cyc = g_string_new(NULL);
            guint start = 0;
            while (g_array_index(path, guint, start) != (guint)j)
                start++;
            for (guint p = start; p < path->len; p++) {
                const struct wave_src *pw = &g_array_index(c->waves, struct wave_src, g_array_index(path, guint, p));
                g_string_append_printf(cyc, "%s after ", pw->w->name);
            }
            g_string_append(cyc, g_array_index(c->waves, struct wave_src, j).w->name);
            ydiag_error(&c->l->diag, g_ptr_array_index(ws->after_nodes, k), "'after': waves wait for each other in a cycle: %s", cyc->str);
        } else if (color[j] == 0) {
            visit(c, (guint)j, color, path);
        }
    }
    g_array_set_size(path, path->len - 1);
    color[i] = 2;
}

static void
check_after(struct waves_ctx *c)
{
    struct mload *l = c->l;

    for (guint i = 0; i < c->waves->len; i++) {
        struct wave_src *ws = &g_array_index(c->waves, struct wave_src, i);
        for (guint k = 0; k < ws->w->after->len; k++) {
            const char *a = g_ptr_array_index(ws->w->after, k);
            const struct ynode *at = g_ptr_array_index(ws->after_nodes, k);
            if (strcmp(a, ws->w->name) == 0) {
                ydiag_error(&l->diag, at, "wave '%s': 'after': a wave cannot run after itself", a);
            } else if (wave_index(c, a) < 0) {
                g_autofree char *names = mjoin_names(l->m->waves, offsetof(struct manifest_wave, name));
                ydiag_error(&l->diag, at, "wave '%s': 'after': wave '%s' is not defined; defined waves: %s", ws->w->name, a, names);
            }
        }
    }

    g_autofree guint8 *color = g_new0(guint8, c->waves->len + 1);
    g_autoptr(GArray) path = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint i = 0; i < c->waves->len; i++) {
        if (color[i] == 0)
            visit(c, i, color, path);
    }
}

void
mwaves_parse(struct mload *l)
{
    struct waves_ctx c = {
        .l = l,
        .waves = g_array_new(FALSE, FALSE, sizeof(struct wave_src)),
        .wave_names = g_hash_table_new(g_str_hash, g_str_equal),
        .vm_names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
        .target_names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
        .move_domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
    };

    for (guint i = 0; i < l->wave_nodes->len; i++)
        parse_wave(&c, g_ptr_array_index(l->wave_nodes, i), i);
    check_after(&c);

    for (guint i = 0; i < c.waves->len; i++)
        g_ptr_array_unref(g_array_index(c.waves, struct wave_src, i).after_nodes);
    g_array_unref(c.waves);
    g_hash_table_unref(c.wave_names);
    g_hash_table_unref(c.vm_names);
    g_hash_table_unref(c.target_names);
    g_hash_table_unref(c.move_domains);
}
