/* The xenserver source: a XenServer/XCP-ng pool over XenAPI (XML-RPC on
 * HTTPS).  Discovery reads VM, VBD, VDI, SR, VIF and network records into
 * the ova.xml model, so the domain XML is built as for an XVA; disks
 * stream one by one from GET /export_raw_vdi where the host has it, and
 * otherwise from the whole-VM GET /export (export: auto, the default;
 * export: raw_vdi or xva pins one of the two); shutdown is VM.clean_shutdown with an opt-in
 * hard_shutdown fallback.  The session id and the password never leave
 * this file: not in messages, plans, state or events. */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "sources/sources.h"
#include "sources/sources-priv.h"
#include "util/error.h"
#include "xva/xva.h"

extern const struct source_ops source_xenserver_ops;

#define XAPI_CALL_TIMEOUT 300   /* seconds for an ordinary call */
#define XAPI_MAX_REDIRECTS 3    /* HOST_IS_SLAVE hops */

struct xs_source {
    struct http_client *http;
    char *base;           /* "https://host[:port]" of the pool master */
    GRecMutex lock;       /* guards base and session: the VMs of one
                           * source run on parallel workers */
    char *session;        /* secret; NULL until logged in */
    gint no_raw_vdi;      /* atomic: /export_raw_vdi answered 404 */
};

/* ---- calls ---- */

static char *
base_of(const char *url)
{
    g_autoptr(GUri) u = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);

    if (u == NULL)
        return NULL;
    return g_uri_join(G_URI_FLAGS_NONE, g_uri_get_scheme(u), NULL,
                      g_uri_get_host(u), g_uri_get_port(u), "", NULL, NULL);
}

/* One XML-RPC call; *code is set on a XenAPI failure. */
/* The pool master's base URL, copied under the lock (login may move it). */
static char *
xs_base(struct xs_source *xs)
{
    g_rec_mutex_lock(&xs->lock);
    char *b = g_strdup(xs->base);
    g_rec_mutex_unlock(&xs->lock);
    return b;
}

static struct xmlrpc_value *
xs_rpc(struct source *s, const char *method, const char *const *params,
       size_t n, long timeout_s, char **code, char ***args, GError **error)
{
    struct xs_source *xs = s->priv;
    g_autofree char *body = xmlrpc_request(method, params, n);
    g_autofree char *base = xs_base(xs);
    g_autofree char *url = g_strconcat(base, "/", NULL);
    g_autofree char *label = g_strdup_printf("source '%s': XenAPI %s", s->ms->name, method);
    g_autoptr(GBytes) resp = NULL;
    struct xmlrpc_value *v;
    unsigned max = http_max_attempts();
    gsize len = 0;
    const char *data;

    for (unsigned attempt = 1;; attempt++) {
        g_autoptr(GError) err = NULL;
        bool transient = false;

        resp = http_post(xs->http, url, label, "text/xml", body, timeout_s,
                         &transient, &err);
        if (resp != NULL)
            break;
        /* A call that timed out is not repeated: shutdown decides. */
        if (!transient || attempt >= max || timeout_s != XAPI_CALL_TIMEOUT) {
            g_propagate_error(error, g_steal_pointer(&err));
            return NULL;
        }
        http_backoff(attempt);
    }
    data = g_bytes_get_data(resp, &len);
    v = xmlrpc_xenapi_result(data, len, code, args, error);
    if (v == NULL && error != NULL && *error != NULL &&
        (*error)->code == CONVOY_ERROR_XML)
        g_prefix_error(error, "%s: ", label);
    return v;
}

static bool
xs_login(struct source *s, GError **error)
{
    struct xs_source *xs = s->priv;
    char *password;

    password = secret_read_password(s->ms, error);
    if (password == NULL)
        return false;
    for (unsigned hop = 0;; hop++) {
        const char *params[] = {s->ms->username, password, "1.0", "convoy"};
        g_autofree char *code = NULL;
        g_auto(GStrv) args = NULL;
        g_autoptr(GError) err = NULL;
        g_autoptr(xmlrpc_value) v = xs_rpc(s, "session.login_with_password",
                                           params, G_N_ELEMENTS(params),
                                           XAPI_CALL_TIMEOUT, &code, &args,
                                           &err);

        if (v != NULL && v->type == XMLRPC_STRING) {
            xs->session = g_strdup(v->str);
            secret_free(password);
            return true;
        }
        if (g_strcmp0(code, "HOST_IS_SLAVE") == 0 && args != NULL &&
            args[0] != NULL && hop < XAPI_MAX_REDIRECTS) {
            g_autoptr(GUri) u = g_uri_parse(xs->base, G_URI_FLAGS_NONE, NULL);
            const char *master = args[0];
            /* A bare IPv6 address needs brackets; "host:port" is kept. */
            bool v6 = strchr(master, ':') != strrchr(master, ':');

            g_free(xs->base);
            xs->base = g_strdup_printf("%s://%s%s%s", g_uri_get_scheme(u),
                                       v6 ? "[" : "", master, v6 ? "]" : "");
            continue;
        }
        secret_free(password);
        if (code != NULL && strcmp(code, "SESSION_AUTHENTICATION_FAILED") == 0) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                        "xenapi: source '%s': login as '%s' failed: SESSION_AUTHENTICATION_FAILED (wrong user name or password)",
                        s->ms->name, s->ms->username);
            return false;
        }
        if (code != NULL) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                        "xenapi: source '%s': login failed: %s", s->ms->name, code);
            return false;
        }
        if (v != NULL)
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_XML,
                        "xml: source '%s': login: the session is not a string",
                        s->ms->name);
        else
            g_propagate_error(error, g_steal_pointer(&err));
        return false;
    }
}

/* A copy of the session (secret_free it), logging in first when there is
 * none; one worker logs in while the others wait. */
static char *
xs_session(struct source *s, GError **error)
{
    struct xs_source *xs = s->priv;
    char *copy = NULL;

    g_rec_mutex_lock(&xs->lock);
    if (xs->session != NULL || xs_login(s, error))
        copy = g_strdup(xs->session);
    g_rec_mutex_unlock(&xs->lock);
    return copy;
}

/* The session expired: drop it, unless another worker already replaced
 * it with a new one. */
static void
xs_session_expired(struct xs_source *xs, const char *used)
{
    g_rec_mutex_lock(&xs->lock);
    if (g_strcmp0(xs->session, used) == 0)
        secret_free(g_steal_pointer(&xs->session));
    g_rec_mutex_unlock(&xs->lock);
}

/* Call method(session, args…), logging in first (or again when the
 * session expired). */
static struct xmlrpc_value *
xs_call(struct source *s, const char *method, const char *arg1,
        const char *arg2, long timeout_s, char **code_out, GError **error)
{
    struct xs_source *xs = s->priv;

    for (int tries = 0;; tries++) {
        g_autofree char *code = NULL;
        g_auto(GStrv) args = NULL;
        g_autoptr(GError) err = NULL;
        const char *params[3];
        size_t n = 0;
        struct xmlrpc_value *v;
        char *session = xs_session(s, error);

        if (session == NULL)
            return NULL;
        params[n++] = session;
        if (arg1 != NULL)
            params[n++] = arg1;
        if (arg2 != NULL)
            params[n++] = arg2;
        v = xs_rpc(s, method, params, n, timeout_s, &code, &args, &err);
        if (v == NULL && g_strcmp0(code, "SESSION_INVALID") == 0 && tries == 0) {
            xs_session_expired(xs, session);
            secret_free(session);
            continue;
        }
        secret_free(session);
        if (v != NULL)
            return v;
        if (code != NULL) {
            g_autofree char *more = args != NULL && args[0] != NULL
                                        ? g_strjoinv(", ", args) : g_strdup("");
            g_set_error(error, CONVOY_ERROR,
                        strcmp(code, "UUID_INVALID") == 0 ? CONVOY_ERROR_NOT_FOUND
                                                          : CONVOY_ERROR_FAILED,
                        "xenapi: source '%s': %s: %s%s%s%s", s->ms->name, method,
                        code, *more ? " (" : "", more, *more ? ")" : "");
            if (code_out != NULL)
                *code_out = g_steal_pointer(&code);
            return NULL;
        }
        g_propagate_error(error, g_steal_pointer(&err));
        return NULL;
    }
}

static struct xmlrpc_value *
xs_record(struct source *s, const char *cls, const char *ref, GError **error)
{
    g_autofree char *method = g_strdup_printf("%s.get_record", cls);
    struct xmlrpc_value *v = xs_call(s, method, ref, NULL, XAPI_CALL_TIMEOUT,
                                     NULL, error);

    if (v != NULL && v->type != XMLRPC_STRUCT) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_XML,
                    "xml: source '%s': %s did not return a struct",
                    s->ms->name, method);
        xmlrpc_value_free(v);
        return NULL;
    }
    return v;
}

/* ---- open / close ---- */

static struct source *
xs_open(const struct manifest_source *ms, GError **error)
{
    struct source *s;
    struct xs_source *xs;
    struct http_client *c = http_client_new(ms, 0, error);

    if (c == NULL)
        return NULL;
    xs = g_new0(struct xs_source, 1);
    g_rec_mutex_init(&xs->lock);
    xs->http = c;
    xs->base = base_of(ms->url);
    s = g_new0(struct source, 1);
    s->ops = &source_xenserver_ops;
    s->ms = ms;
    s->priv = xs;
    return s;
}

static void
xs_close(struct source *s)
{
    struct xs_source *xs = s->priv;

    if (xs->session != NULL) {
        const char *params[] = {xs->session};
        /* Best effort: the session expires on the pool anyway. */
        xmlrpc_value_free(xs_rpc(s, "session.logout", params, 1, 30, NULL, NULL, NULL));
        secret_free(xs->session);
    }
    http_client_free(xs->http);
    g_free(xs->base);
    g_rec_mutex_clear(&xs->lock);
    g_free(xs);
    g_free(s);
}

/* ---- discovery ---- */

static bool
looks_like_uuid(const char *s)
{
    static const char pat[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

    if (strlen(s) != sizeof pat - 1)
        return false;
    for (size_t i = 0; pat[i] != '\0'; i++) {
        if (pat[i] == '-' ? s[i] != '-' : !g_ascii_isxdigit(s[i]))
            return false;
    }
    return true;
}

/* The VM's ref by uuid or name_label (which must be unique among VMs
 * that are neither templates, snapshots nor control domains). */
static char *
xs_find_vm(struct source *s, const char *name, GError **error)
{
    g_autoptr(xmlrpc_value) refs = NULL;
    g_autofree char *found = NULL;
    unsigned n = 0;

    if (looks_like_uuid(name)) {
        g_autoptr(xmlrpc_value) v = xs_call(s, "VM.get_by_uuid", name, NULL,
                                            XAPI_CALL_TIMEOUT, NULL, error);
        if (v == NULL || v->type != XMLRPC_STRING)
            return NULL;
        return g_strdup(v->str);
    }
    refs = xs_call(s, "VM.get_by_name_label", name, NULL, XAPI_CALL_TIMEOUT,
                   NULL, error);
    if (refs == NULL)
        return NULL;
    for (guint i = 0; refs->type == XMLRPC_ARRAY && i < refs->items->len; i++) {
        const struct xmlrpc_value *r = refs->items->pdata[i];
        g_autoptr(xmlrpc_value) rec = xs_record(s, "VM", r->str, error);

        if (rec == NULL)
            return NULL;
        if (xmlrpc_member_bool(rec, "is_a_template") ||
            xmlrpc_member_bool(rec, "is_a_snapshot") ||
            xmlrpc_member_bool(rec, "is_control_domain"))
            continue;
        n++;
        g_free(found);
        found = g_strdup(r->str);
    }
    if (n == 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                    "source '%s': no VM named '%s' in the pool", s->ms->name, name);
        return NULL;
    }
    if (n > 1) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "source '%s': %u VMs are named '%s'; name the VM by its uuid",
                    s->ms->name, n, name);
        return NULL;
    }
    return g_steal_pointer(&found);
}

static const char *
map_get(const struct xmlrpc_value *rec, const char *map, const char *key)
{
    return xmlrpc_member_string(xmlrpc_member(rec, map), key);
}

static char *
dup_or_empty(const char *s)
{
    return g_strdup(s != NULL ? s : "");
}

static gint
vif_cmp(gconstpointer a, gconstpointer b)
{
    const struct xva_vif *x = *(struct xva_vif *const *)a;
    const struct xva_vif *y = *(struct xva_vif *const *)b;
    guint64 nx = 0;
    guint64 ny = 0;

    g_ascii_string_to_unsigned(x->device, 10, 0, G_MAXUINT, &nx, NULL);
    g_ascii_string_to_unsigned(y->device, 10, 0, G_MAXUINT, &ny, NULL);
    return nx < ny ? -1 : nx > ny;
}

static void
fill_vm(struct xva_vm *vm, const struct xmlrpc_value *rec)
{
    const char *fw = map_get(rec, "HVM_boot_params", "firmware");
    uint64_t n;

    vm->name_label = dup_or_empty(xmlrpc_member_string(rec, "name_label"));
    vm->uuid = g_strdup(xmlrpc_member_string(rec, "uuid"));
    vm->memory_static_max = xmlrpc_member_uint64(rec, "memory_static_max");
    vm->memory_dynamic_max = xmlrpc_member_uint64(rec, "memory_dynamic_max");
    n = xmlrpc_member_uint64(rec, "VCPUs_at_startup");
    vm->vcpus_at_startup = n != 0 && n <= G_MAXUINT ? (unsigned)n : 1;
    n = xmlrpc_member_uint64(rec, "VCPUs_max");
    vm->vcpus_max = n != 0 && n <= G_MAXUINT ? (unsigned)n : vm->vcpus_at_startup;
    vm->hvm_boot_policy = dup_or_empty(xmlrpc_member_string(rec, "HVM_boot_policy"));
    vm->hvm_boot_order = dup_or_empty(map_get(rec, "HVM_boot_params", "order"));
    vm->pv_bootloader = dup_or_empty(xmlrpc_member_string(rec, "PV_bootloader"));
    vm->pv_bootloader_args = dup_or_empty(xmlrpc_member_string(rec, "PV_bootloader_args"));
    vm->pv_kernel = dup_or_empty(xmlrpc_member_string(rec, "PV_kernel"));
    vm->pv_ramdisk = dup_or_empty(xmlrpc_member_string(rec, "PV_ramdisk"));
    vm->pv_args = dup_or_empty(xmlrpc_member_string(rec, "PV_args"));
    vm->domain_type = dup_or_empty(xmlrpc_member_string(rec, "domain_type"));
    vm->firmware_uefi = fw != NULL && strcmp(fw, "uefi") == 0;
    vm->platform_viridian = g_strdup(map_get(rec, "platform", "viridian"));
}

static bool
is_null_ref(const char *ref)
{
    return ref == NULL || *ref == '\0' || strcmp(ref, "OpaqueRef:NULL") == 0;
}

/* VBDs and their VDIs (ref = VDI uuid, the disk's stable id); identity
 * lines "vdi=<uuid>:<size>" go to id. */
static bool
fill_vbds(struct source *s, struct xva_meta *m, const struct xmlrpc_value *rec,
          GString *id, GError **error)
{
    const struct xmlrpc_value *vbds = xmlrpc_member(rec, "VBDs");

    for (guint i = 0; vbds != NULL && vbds->type == XMLRPC_ARRAY &&
                      i < vbds->items->len; i++) {
        const struct xmlrpc_value *r = vbds->items->pdata[i];
        g_autoptr(xmlrpc_value) b = xs_record(s, "VBD", r->str, error);
        struct xva_vbd *vbd;
        const char *vdi_ref;

        if (b == NULL)
            return false;
        vbd = g_new0(struct xva_vbd, 1);
        vbd->ref = g_strdup(r->str);
        vbd->device = dup_or_empty(xmlrpc_member_string(b, "device"));
        vbd->userdevice = dup_or_empty(xmlrpc_member_string(b, "userdevice"));
        vbd->is_cd = g_strcmp0(xmlrpc_member_string(b, "type"), "CD") == 0;
        vbd->bootable = xmlrpc_member_bool(b, "bootable");
        vbd->empty = xmlrpc_member_bool(b, "empty");
        g_ptr_array_add(m->vm.vbds, vbd);
        vdi_ref = xmlrpc_member_string(b, "VDI");
        if (vbd->empty || is_null_ref(vdi_ref))
            continue;

        g_autoptr(xmlrpc_value) d = xs_record(s, "VDI", vdi_ref, error);
        if (d == NULL)
            return false;
        struct xva_vdi *vdi = g_new0(struct xva_vdi, 1);
        const char *sr_ref = xmlrpc_member_string(d, "SR");

        vdi->uuid = g_strdup(xmlrpc_member_string(d, "uuid"));
        vdi->ref = g_strdup(vdi->uuid != NULL ? vdi->uuid : vdi_ref);
        vdi->name_label = dup_or_empty(xmlrpc_member_string(d, "name_label"));
        vdi->virtual_size = xmlrpc_member_uint64(d, "virtual_size");
        vdi->sr_ref = g_strdup(sr_ref);
        vdi->has_data = !vbd->is_cd;
        if (!is_null_ref(sr_ref)) {
            g_autoptr(xmlrpc_value) sr = xs_record(s, "SR", sr_ref, error);
            if (sr == NULL) {
                xva_vdi_free(vdi);
                return false;
            }
            vdi->sr_name = g_strdup(xmlrpc_member_string(sr, "name_label"));
            if (g_strcmp0(xmlrpc_member_string(sr, "type"), "iso") == 0 ||
                g_strcmp0(xmlrpc_member_string(sr, "content_type"), "iso") == 0)
                vdi->has_data = false;
        }
        vbd->vdi = vdi;
        g_ptr_array_add(m->vdis, vdi);
        if (vdi->has_data)
            g_string_append_printf(id, "xenserver_vdi=%s:%" G_GUINT64_FORMAT "\n",
                                   vdi->ref, vdi->virtual_size);
    }
    return true;
}

static bool
fill_vifs(struct source *s, struct xva_meta *m, const struct xmlrpc_value *rec,
          GError **error)
{
    const struct xmlrpc_value *vifs = xmlrpc_member(rec, "VIFs");

    for (guint i = 0; vifs != NULL && vifs->type == XMLRPC_ARRAY &&
                      i < vifs->items->len; i++) {
        const struct xmlrpc_value *r = vifs->items->pdata[i];
        g_autoptr(xmlrpc_value) f = xs_record(s, "VIF", r->str, error);
        g_autoptr(xmlrpc_value) net = NULL;
        struct xva_vif *vif;
        const char *net_ref;

        if (f == NULL)
            return false;
        net_ref = xmlrpc_member_string(f, "network");
        if (!is_null_ref(net_ref)) {
            net = xs_record(s, "network", net_ref, error);
            if (net == NULL)
                return false;
        }
        vif = g_new0(struct xva_vif, 1);
        vif->ref = g_strdup(r->str);
        vif->device = dup_or_empty(xmlrpc_member_string(f, "device"));
        vif->mac = g_ascii_strdown(xmlrpc_member_string(f, "MAC") != NULL
                                       ? xmlrpc_member_string(f, "MAC") : "", -1);
        vif->network_name = dup_or_empty(xmlrpc_member_string(net, "name_label"));
        vif->bridge = dup_or_empty(xmlrpc_member_string(net, "bridge"));
        g_ptr_array_add(m->vm.vifs, vif);
    }
    g_ptr_array_sort(m->vm.vifs, vif_cmp);
    return true;
}

/* The guest OS its guest metrics name, or NULL (no metrics: the guest
 * agent never ran; a failed lookup is not an error, only no hint). */
static char *
xs_os_hint(struct source *s, const struct xmlrpc_value *rec)
{
    const char *ref = xmlrpc_member_string(rec, "guest_metrics");
    g_autoptr(xmlrpc_value) gm = NULL;

    if (is_null_ref(ref))
        return NULL;
    gm = xs_record(s, "VM_guest_metrics", ref, NULL);
    if (gm == NULL)
        return NULL;
    return xva_os_hint(map_get(gm, "os_version", "name"), map_get(gm, "os_version", "distro"),
                       map_get(gm, "os_version", "major"));
}

static struct source_vm *
xs_describe(struct source *s, const struct manifest_vm *mvm, GError **error)
{
    struct xs_source *xs = s->priv;
    g_autofree char *ref = xs_find_vm(s, mvm->name, error);
    g_autoptr(xmlrpc_value) rec = NULL;
    g_autoptr(xva_meta) m = NULL;
    g_autoptr(GString) id = g_string_new(NULL);
    g_autofree char *base = xs_base(xs);
    g_autofree char *shown = http_url_for_display(base);
    g_autofree char *where = NULL;
    const char *power;
    struct source_vm *v;

    if (ref == NULL)
        return NULL;
    rec = xs_record(s, "VM", ref, error);
    if (rec == NULL)
        return NULL;
    m = g_new0(struct xva_meta, 1);
    m->version_major = 2;
    m->vm.vbds = g_ptr_array_new_with_free_func(xva_vbd_free);
    m->vm.vifs = g_ptr_array_new_with_free_func(xva_vif_free);
    m->vdis = g_ptr_array_new_with_free_func(xva_vdi_free);
    fill_vm(&m->vm, rec);
    g_string_append_printf(id, "xenserver_vm_uuid=%s\n", m->vm.uuid ? m->vm.uuid : "");
    g_string_append_printf(id, "xenserver_snapshot_time=%s\n",
                           xmlrpc_member(rec, "snapshot_time") != NULL &&
                           xmlrpc_member(rec, "snapshot_time")->str != NULL
                               ? xmlrpc_member(rec, "snapshot_time")->str : "");
    if (!fill_vbds(s, m, rec, id, error) || !fill_vifs(s, m, rec, error))
        return NULL;
    /* VM.VBDs comes in no particular order: disks go by userdevice. */
    xva_vm_sort_vbds(&m->vm);
    where = g_strdup_printf("%s VM %s", shown, m->vm.uuid ? m->vm.uuid : ref);
    v = source_vm_from_meta(m, where, error);
    if (v == NULL)
        return NULL;
    /* The disk ids are VDI uuids; keep only data disks' devices. */
    v->identity = g_string_free(g_steal_pointer(&id), FALSE);
    power = xmlrpc_member_string(rec, "power_state");
    v->powered_on = power != NULL && strcmp(power, "Halted") != 0;
    v->power_state = power != NULL ? g_ascii_strdown(power, -1) : NULL;
    v->os_hint = xs_os_hint(s, rec);
    return v;
}

/* Every VM of the pool that is neither a template, a snapshot nor a
 * control domain, found by its uuid (names need not be unique). */
static GPtrArray *
xs_list(struct source *s, GError **error)
{
    g_autoptr(xmlrpc_value) refs = xs_call(s, "VM.get_all", NULL, NULL, XAPI_CALL_TIMEOUT,
                                           NULL, error);
    g_autoptr(GPtrArray) out = NULL;

    if (refs == NULL)
        return NULL;
    out = g_ptr_array_new_with_free_func(source_entry_free);
    for (guint i = 0; refs->type == XMLRPC_ARRAY && i < refs->items->len; i++) {
        const struct xmlrpc_value *r = refs->items->pdata[i];
        g_autoptr(xmlrpc_value) rec = xs_record(s, "VM", r->str, error);
        struct source_entry *e;

        if (rec == NULL)
            return NULL;
        if (xmlrpc_member_bool(rec, "is_a_template") ||
            xmlrpc_member_bool(rec, "is_a_snapshot") ||
            xmlrpc_member_bool(rec, "is_control_domain"))
            continue;
        e = g_new0(struct source_entry, 1);
        e->name = dup_or_empty(xmlrpc_member_string(rec, "name_label"));
        e->key = g_strdup(xmlrpc_member_string(rec, "uuid"));
        if (e->key == NULL)
            e->key = g_strdup(e->name);
        g_ptr_array_add(out, e);
    }
    g_ptr_array_sort(out, source_entry_cmp);
    return g_steal_pointer(&out);
}

/* ---- disks ---- */

static char *
xs_power_state(struct source *s, const char *ref, GError **error)
{
    g_autoptr(xmlrpc_value) p = xs_call(s, "VM.get_power_state", ref, NULL,
                                        XAPI_CALL_TIMEOUT, NULL, error);

    if (p == NULL)
        return NULL;
    return g_strdup(p->str != NULL ? p->str : "");
}

struct xs_copy {
    const struct source_sink *sink;
    void *opaque;
    bool delivered;       /* the sink got something */
};

static bool
xs_data(void *opaque, const struct xva_vdi *vdi, uint64_t offset,
        const void *buf, size_t len, GError **error)
{
    struct xs_copy *c = opaque;

    c->delivered = true;
    if (c->sink->progress != NULL)
        c->sink->progress(c->opaque, offset + len);
    return c->sink->data(c->opaque, offset, buf, len, error);
}

static bool
xs_zero(void *opaque, const struct xva_vdi *vdi, uint64_t offset, uint64_t len,
        GError **error)
{
    struct xs_copy *c = opaque;

    c->delivered = true;
    return c->sink->zero(c->opaque, offset, len, error);
}

static bool
xs_copy_disk(struct source *s, const struct source_vm *v,
             const struct source_disk *d, const struct source_sink *sink,
             void *opaque, GError **error)
{
    static const struct xva_stream_ops ops = {
        .data = xs_data,
        .zero = xs_zero,
    };
    struct xs_source *xs = s->priv;
    struct xs_copy c = { .sink = sink, .opaque = opaque };
    g_autofree char *ref = NULL;
    g_autofree char *power = NULL;
    g_autofree char *label = NULL;
    g_autofree char *url = NULL;
    g_autofree char *base = NULL;
    char *session = NULL;
    bool ok;

    ref = xs_find_vm(s, v->uuid, error);
    if (ref == NULL)
        return false;
    power = xs_power_state(s, ref, error);
    if (power == NULL)
        return false;
    if (strcmp(power, "Halted") != 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "source '%s': VM '%s' is %s; /export needs it halted: shut it down or set source_power: shutdown",
                    s->ms->name, v->name, power);
        return false;
    }
    session = xs_session(s, error);
    if (session == NULL)
        return false;
    base = xs_base(xs);
    if (s->ms->export_mode != MANIFEST_EXPORT_XVA &&
        !g_atomic_int_get(&xs->no_raw_vdi)) {
        g_autoptr(GError) err = NULL;
        label = g_strdup_printf("source '%s': GET /export_raw_vdi of VM '%s' disk %s",
                                s->ms->name, v->name, d->xen_dev);
        url = g_strdup_printf("%s/export_raw_vdi?vdi=%s&format=raw&session_id=%s",
                              base, d->id, session);
        ok = http_stream_raw_disk(xs->http, url, label, d->size, &ops, &c, &err);
        memset(url, 0, strlen(url));
        g_clear_pointer(&url, g_free);
        g_clear_pointer(&label, g_free);
        /* A host without the handler (older XenServer) answers 404: with
         * export: auto the whole-VM export below does the job, for this
         * disk and the next ones. */
        if (ok || c.delivered || !g_error_matches(err, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND)) {
            if (!ok)
                g_propagate_error(error, g_steal_pointer(&err));
            secret_free(session);
            return ok;
        }
        if (s->ms->export_mode == MANIFEST_EXPORT_RAW_VDI) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                        "%s; the source says export: raw_vdi, so convoy does not fall back to GET /export: set export: auto (or xva) to export the whole VM instead",
                        err->message);
            secret_free(session);
            return false;
        }
        g_atomic_int_set(&xs->no_raw_vdi, 1);
    }
    label = g_strdup_printf("source '%s': GET /export of VM '%s'", s->ms->name,
                            v->name);
    /* The session id is in the query: never shown (label stands in). */
    url = g_strdup_printf("%s/export?uuid=%s&session_id=%s%s", base, v->uuid,
                          session,
                          s->ms->use_compression ? "&use_compression=zstd" : "");
    ok = xva_http_stream_disk(xs->http, url, label, NULL, d->id, &ops, &c, error);
    memset(url, 0, strlen(url));
    secret_free(session);
    return ok;
}

/* ---- shutdown ---- */

static bool
xs_shutdown(struct source *s, const struct source_vm *v, char **how,
            GError **error)
{
    const struct manifest_source *ms = s->ms;
    g_autofree char *ref = xs_find_vm(s, v->uuid, error);
    g_autofree char *power = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(xmlrpc_value) r = NULL;
    long wait = (long)(ms->hard_shutdown_after != 0 ? ms->hard_shutdown_after
                                                     : ms->shutdown_timeout);

    if (ref == NULL)
        return false;
    power = xs_power_state(s, ref, error);
    if (power == NULL)
        return false;
    if (strcmp(power, "Halted") == 0) {
        *how = g_strdup("already halted");
        return true;
    }
    r = xs_call(s, "VM.clean_shutdown", ref, NULL, wait, NULL, &err);
    g_free(power);
    power = xs_power_state(s, ref, error);
    if (power == NULL)
        return false;
    if (strcmp(power, "Halted") == 0) {
        *how = g_strdup("clean");
        return true;
    }
    if (ms->hard_shutdown_after == 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "source '%s': VM '%s' did not shut down cleanly within %ld s (%s); set hard_shutdown_after to force it off",
                    ms->name, v->name, wait,
                    err != NULL ? err->message : "still running");
        return false;
    }
    g_clear_pointer(&r, xmlrpc_value_free);
    r = xs_call(s, "VM.hard_shutdown", ref, NULL, XAPI_CALL_TIMEOUT, NULL, error);
    if (r == NULL)
        return false;
    *how = g_strdup_printf("hard (clean shutdown did not finish within %ld s)", wait);
    return true;
}

const struct source_ops source_xenserver_ops = {
    .kind = "xenserver",
    .caps = SOURCE_CAP_EXPORTS_HALTED_ONLY,
    .open = xs_open,
    .describe = xs_describe,
    .list = xs_list,
    .copy_disk = xs_copy_disk,
    .shutdown = xs_shutdown,
    .close = xs_close,
};
