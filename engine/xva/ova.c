/* The ova.xml model: a safe XML-RPC walk from the export's object list to
 * the one VM, its block devices, disks and NICs (docs/internals/xva.md). */
#include "config.h"

#include <string.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "util/autoptr.h"
#include "util/error.h"
#include "xva/xva.h"

#define OVA_NULL_REF "OpaqueRef:NULL"

/* One exported object: its class and the <value> of its snapshot struct. */
struct ova_object {
    const char *cls;          /* borrowed from the document */
    const char *id;
    xmlNode *snapshot;        /* a <value> holding a <struct> */
};

/* Parser state; everything borrowed from doc lives while doc does. */
struct ova_parse {
    xmlDoc *doc;
    GHashTable *objects;      /* id → struct ova_object*, owned */
    GPtrArray *strings;       /* of xmlChar*, freed with xmlFree */
};

/* ---- XML-RPC value access ---- */

static xmlNode *
first_element(xmlNode *n)
{
    for (xmlNode *c = n != NULL ? n->children : NULL; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE)
            return c;
    }
    return NULL;
}

static xmlNode *
next_element(xmlNode *n)
{
    for (xmlNode *c = n->next; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE)
            return c;
    }
    return NULL;
}

static bool
is_named(const xmlNode *n, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE &&
           strcmp((const char *)n->name, name) == 0;
}

/* The text of an element, kept alive by the document (one text child)
 * or in p->strings; "" when empty. */
static const char *
node_text(struct ova_parse *p, xmlNode *n)
{
    if (n->children != NULL && n->children->next == NULL &&
        n->children->type == XML_TEXT_NODE && n->children->content != NULL)
        return (const char *)n->children->content;

    xmlChar *t = xmlNodeGetContent(n);

    if (t == NULL)
        return "";
    g_ptr_array_add(p->strings, t);
    return (const char *)t;
}

/* A scalar <value> as text: <string>, bare text, <int>, <i4>, <i8>,
 * <boolean>, <double>, <dateTime.iso8601>, <base64>.  NULL for a struct or
 * an array (or a missing value). */
static const char *
value_scalar(struct ova_parse *p, xmlNode *value)
{
    xmlNode *k;

    if (!is_named(value, "value"))
        return NULL;
    k = first_element(value);
    if (k == NULL)
        return node_text(p, value);
    if (is_named(k, "struct") || is_named(k, "array"))
        return NULL;
    return node_text(p, k);
}

/* The <value> of member name in a struct <value>; NULL if absent or if
 * value is not a struct.  The first member of that name wins. */
static xmlNode *
struct_get(xmlNode *value, const char *name)
{
    xmlNode *s = first_element(value);

    if (!is_named(value, "value") || !is_named(s, "struct"))
        return NULL;
    for (xmlNode *m = first_element(s); m != NULL; m = next_element(m)) {
        xmlNode *n;
        xmlNode *v;
        xmlChar *t;
        bool hit;

        if (!is_named(m, "member"))
            continue;
        n = first_element(m);
        if (!is_named(n, "name"))
            continue;
        v = next_element(n);
        /* The usual <name>text</name> is compared in place: copying each
         * member name was a tenth of the plan of 10,000 XVAs. */
        if (n->children != NULL && n->children->next == NULL &&
            n->children->type == XML_TEXT_NODE) {
            hit = n->children->content != NULL &&
                  strcmp((const char *)n->children->content, name) == 0;
        } else {
            t = xmlNodeGetContent(n);
            hit = t != NULL && strcmp((const char *)t, name) == 0;
            xmlFree(t);
        }
        if (hit && is_named(v, "value"))
            return v;
    }
    return NULL;
}

static bool
is_struct(xmlNode *value)
{
    return is_named(value, "value") && is_named(first_element(value), "struct");
}

/* The <data> element of an array <value>, or NULL. */
static xmlNode *
array_data(xmlNode *value)
{
    xmlNode *a = first_element(value);

    if (!is_named(value, "value") || !is_named(a, "array"))
        return NULL;
    a = first_element(a);
    return is_named(a, "data") ? a : NULL;
}

/* ---- typed fields of a record ---- */

/* String field; dflt when absent.  A struct/array where a string belongs is
 * a format error. */
static bool
field_string(struct ova_parse *p, const struct ova_object *o, const char *name,
             const char *dflt, const char **out, GError **error)
{
    xmlNode *v = struct_get(o->snapshot, name);
    const char *s;

    if (v == NULL) {
        *out = dflt;
        return true;
    }
    s = value_scalar(p, v);
    if (s == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "ova.xml: %s '%s' field '%s': expected a string, got a struct or an array",
                    o->cls, o->id, name);
        return false;
    }
    *out = s;
    return true;
}

static bool
field_uint64(struct ova_parse *p, const struct ova_object *o, const char *name,
             bool required, uint64_t *out, GError **error)
{
    const char *s;
    g_autofree char *t = NULL;
    guint64 n = 0;

    if (!field_string(p, o, name, NULL, &s, error))
        return false;
    if (s == NULL) {
        if (required) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                        "ova.xml: %s '%s' has no field '%s'", o->cls, o->id, name);
            return false;
        }
        *out = 0;
        return true;
    }
    t = g_strstrip(g_strdup(s));
    if (!g_ascii_string_to_unsigned(t, 10, 0, G_MAXUINT64, &n, NULL)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "ova.xml: %s '%s' field '%s': expected a decimal number, got '%s'",
                    o->cls, o->id, name, t);
        return false;
    }
    *out = n;
    return true;
}

static bool
field_bool(struct ova_parse *p, const struct ova_object *o, const char *name,
           bool *out, GError **error)
{
    const char *s;
    g_autofree char *t = NULL;

    if (!field_string(p, o, name, "0", &s, error))
        return false;
    t = g_strstrip(g_strdup(s));
    if (strcmp(t, "1") == 0 || g_ascii_strcasecmp(t, "true") == 0) {
        *out = true;
    } else if (strcmp(t, "0") == 0 || g_ascii_strcasecmp(t, "false") == 0 ||
               *t == '\0') {
        *out = false;
    } else {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "ova.xml: %s '%s' field '%s': expected a boolean, got '%s'",
                    o->cls, o->id, name, t);
        return false;
    }
    return true;
}

/* A member of a struct-valued field (HVM_boot_params.order, …), or NULL. */
static const char *
field_map_get(struct ova_parse *p, const struct ova_object *o,
              const char *field, const char *key)
{
    xmlNode *v = struct_get(o->snapshot, field);

    return v != NULL ? value_scalar(p, struct_get(v, key)) : NULL;
}

char *
xva_os_hint(const char *name, const char *distro, const char *major)
{
    if (name != NULL && *name != '\0') {
        /* Windows: "Microsoft Windows Server 2019 Standard|C:\Windows|…" */
        const char *bar = strchr(name, '|');
        return g_strstrip(g_strndup(name, bar != NULL ? (gsize)(bar - name) : strlen(name)));
    }
    if (distro == NULL || *distro == '\0')
        return NULL;
    if (major != NULL && *major != '\0')
        return g_strdup_printf("%s %s", distro, major);
    return g_strdup(distro);
}

static bool
is_null_ref(const char *ref)
{
    return ref == NULL || *ref == '\0' || strcmp(ref, OVA_NULL_REF) == 0;
}

/* The object a reference field names, checked to be of class cls; *out is
 * NULL for a null reference. */
static bool
lookup_ref(struct ova_parse *p, const struct ova_object *from,
           const char *what, const char *ref, const char *cls,
           struct ova_object **out, GError **error)
{
    struct ova_object *o;

    if (is_null_ref(ref)) {
        *out = NULL;
        return true;
    }
    o = g_hash_table_lookup(p->objects, ref);
    if (o == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "ova.xml: %s '%s' names %s '%s', which is not in the export",
                    from->cls, from->id, what, ref);
        return false;
    }
    if (strcmp(o->cls, cls) != 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "ova.xml: %s '%s' names %s '%s', which is a %s",
                    from->cls, from->id, what, ref, o->cls);
        return false;
    }
    *out = o;
    return true;
}

/* The references listed in an array field (VM.VBDs, VM.VIFs), borrowed. */
static bool
field_refs(struct ova_parse *p, const struct ova_object *o, const char *name,
           GPtrArray *out, GError **error)
{
    xmlNode *v = struct_get(o->snapshot, name);
    xmlNode *data;

    if (v == NULL)
        return true;
    data = array_data(v);
    if (data == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "ova.xml: %s '%s' field '%s': expected an array",
                    o->cls, o->id, name);
        return false;
    }
    for (xmlNode *e = first_element(data); e != NULL; e = next_element(e)) {
        const char *s = value_scalar(p, e);

        if (s == NULL) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                        "ova.xml: %s '%s' field '%s': expected an array of references",
                        o->cls, o->id, name);
            return false;
        }
        if (out->len >= XVA_MAX_OBJECTS) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                        "ova.xml: %s '%s' field '%s': more than %d references",
                        o->cls, o->id, name, XVA_MAX_OBJECTS);
            return false;
        }
        g_ptr_array_add(out, (gpointer)s);
    }
    return true;
}

/* ---- the model's lifecycle ---- */

void
xva_vdi_free(gpointer data)
{
    struct xva_vdi *d = data;

    g_free(d->ref);
    g_free(d->uuid);
    g_free(d->name_label);
    g_free(d->sr_ref);
    g_free(d->sr_name);
    g_free(d);
}

void
xva_vbd_free(gpointer data)
{
    struct xva_vbd *b = data;

    g_free(b->ref);
    g_free(b->device);
    g_free(b->userdevice);
    g_free(b);
}

void
xva_vif_free(gpointer data)
{
    struct xva_vif *f = data;

    g_free(f->ref);
    g_free(f->device);
    g_free(f->mac);
    g_free(f->network_name);
    g_free(f->bridge);
    g_free(f);
}

static struct xva_meta *
meta_new_empty(void)
{
    struct xva_meta *m = g_new0(struct xva_meta, 1);
    struct xva_vm *vm = &m->vm;

    vm->name_label = g_strdup("");
    vm->hvm_boot_policy = g_strdup("");
    vm->hvm_boot_order = g_strdup("");
    vm->pv_bootloader = g_strdup("");
    vm->pv_bootloader_args = g_strdup("");
    vm->pv_kernel = g_strdup("");
    vm->pv_ramdisk = g_strdup("");
    vm->pv_args = g_strdup("");
    vm->domain_type = g_strdup("");
    vm->vbds = g_ptr_array_new_with_free_func(xva_vbd_free);
    vm->vifs = g_ptr_array_new_with_free_func(xva_vif_free);
    m->vdis = g_ptr_array_new_with_free_func(xva_vdi_free);
    return m;
}

void
xva_meta_free(struct xva_meta *meta)
{
    struct xva_vm *vm;

    if (meta == NULL)
        return;
    vm = &meta->vm;
    g_free(vm->name_label);
    g_free(vm->uuid);
    g_free(vm->hvm_boot_policy);
    g_free(vm->hvm_boot_order);
    g_free(vm->pv_bootloader);
    g_free(vm->pv_bootloader_args);
    g_free(vm->pv_kernel);
    g_free(vm->pv_ramdisk);
    g_free(vm->pv_args);
    g_free(vm->domain_type);
    g_free(vm->platform_viridian);
    g_free(vm->power_state);
    g_free(vm->os_hint);
    g_ptr_array_unref(vm->vbds);
    g_ptr_array_unref(vm->vifs);
    g_ptr_array_unref(meta->vdis);
    g_free(meta);
}

struct xva_vdi *
xva_meta_find_vdi(const struct xva_meta *meta, const char *ref)
{
    for (guint i = 0; i < meta->vdis->len; i++) {
        struct xva_vdi *d = meta->vdis->pdata[i];
        if (strcmp(d->ref, ref) == 0)
            return d;
    }
    return NULL;
}

/* ---- parsing ---- */

/* Reject DOCTYPE and entity declarations before libxml2 sees them: no
 * internal subset, so no entity can ever be defined, let alone expanded. */
static bool
check_no_dtd(const char *xml, size_t len, GError **error)
{
    /* memmem, not g_strstr_len: glibc's is linear and fast. */
    if (memmem(xml, len, "<!DOCTYPE", 9) != NULL ||
        memmem(xml, len, "<!ENTITY", 8) != NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "ova.xml: DOCTYPE and entity declarations are not allowed");
        return false;
    }
    return true;
}

static xmlDoc *
read_doc(const char *xml, size_t len, GError **error)
{
    xmlParserCtxt *ctxt;
    xmlDoc *doc;

    if (len > XVA_OVA_XML_MAX) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "ova.xml: %zu bytes, more than the %u-byte limit",
                    len, XVA_OVA_XML_MAX);
        return NULL;
    }
    if (!check_no_dtd(xml, len, error))
        return NULL;
    ctxt = xmlNewParserCtxt();
    if (ctxt == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: xml: cannot allocate a parser");
        return NULL;
    }
    /* No XML_PARSE_NOENT / DTDLOAD / DTDATTR / HUGE: nothing is expanded
     * or fetched, and libxml2's own depth and size limits stay on. */
    doc = xmlCtxtReadMemory(ctxt, xml, (int)len, "ova.xml", NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR |
                            XML_PARSE_NOWARNING | XML_PARSE_COMPACT);
    if (doc == NULL || !ctxt->wellFormed) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        g_autofree char *msg = g_strdup(e != NULL && e->message != NULL ?
                                        e->message : "not well-formed");

        g_strchomp(msg);
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "ova.xml:%d: xml: %s", e != NULL ? e->line : 0, msg);
        xmlFreeDoc(doc);
        xmlFreeParserCtxt(ctxt);
        return NULL;
    }
    xmlFreeParserCtxt(ctxt);
    if (doc->intSubset != NULL || doc->extSubset != NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "ova.xml: DOCTYPE and entity declarations are not allowed");
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

/* Index the objects array: id → {class, snapshot}. */
static bool
index_objects(struct ova_parse *p, xmlNode *objects, GError **error)
{
    xmlNode *data = array_data(objects);
    unsigned n = 0;

    if (data == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "ova.xml: 'objects' is not an array");
        return false;
    }
    for (xmlNode *e = first_element(data); e != NULL; e = next_element(e), n++) {
        struct ova_object *o;
        const char *cls;
        const char *id;
        xmlNode *snap;

        if (n >= XVA_MAX_OBJECTS) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                        "ova.xml: more than %d objects", XVA_MAX_OBJECTS);
            return false;
        }
        cls = value_scalar(p, struct_get(e, "class"));
        id = value_scalar(p, struct_get(e, "id"));
        snap = struct_get(e, "snapshot");
        if (cls == NULL || id == NULL || *id == '\0' || !is_struct(snap)) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                        "ova.xml: object %u: expected a struct with 'class', 'id' and a 'snapshot' struct",
                        n + 1);
            return false;
        }
        if (g_hash_table_contains(p->objects, id)) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                        "ova.xml: object id '%s' appears twice", id);
            return false;
        }
        o = g_new0(struct ova_object, 1);
        o->cls = cls;
        o->id = id;
        o->snapshot = snap;
        g_hash_table_insert(p->objects, (gpointer)id, o);
    }
    return true;
}

/* The exported VM: not dom0; the only one, or else the only one that is
 * neither a template nor a snapshot. */
static bool
pick_vm(struct ova_parse *p, struct ova_object **out, GError **error)
{
    g_autoptr(GPtrArray) vms = g_ptr_array_new();
    g_autoptr(GPtrArray) plain = g_ptr_array_new();
    GHashTableIter it;
    gpointer value;

    g_hash_table_iter_init(&it, p->objects);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        struct ova_object *o = value;
        bool dom0;
        bool tmpl;
        bool snap;

        if (strcmp(o->cls, "VM") != 0)
            continue;
        if (!field_bool(p, o, "is_control_domain", &dom0, error) ||
            !field_bool(p, o, "is_a_template", &tmpl, error) ||
            !field_bool(p, o, "is_a_snapshot", &snap, error))
            return false;
        if (dom0)
            continue;
        g_ptr_array_add(vms, o);
        if (!tmpl && !snap)
            g_ptr_array_add(plain, o);
    }
    if (vms->len == 1) {
        *out = vms->pdata[0];
        return true;
    }
    if (plain->len == 1) {
        *out = plain->pdata[0];
        return true;
    }
    if (vms->len == 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "ova.xml: the export holds no VM");
    } else {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "ova.xml: the export holds %u VMs and %u of them are neither templates nor snapshots; expected exactly one",
                    vms->len, plain->len);
    }
    return false;
}

static bool
parse_vm_fields(struct ova_parse *p, struct ova_object *o, struct xva_vm *vm,
                GError **error)
{
    const char *s;
    const char *fw;
    uint64_t n;

#define STR_FIELD(name, member)                                         \
    do {                                                                \
        if (!field_string(p, o, name, "", &s, error))                   \
            return false;                                               \
        g_free(vm->member);                                             \
        vm->member = g_strdup(s);                                       \
    } while (0)

    STR_FIELD("name_label", name_label);
    STR_FIELD("HVM_boot_policy", hvm_boot_policy);
    STR_FIELD("PV_bootloader", pv_bootloader);
    STR_FIELD("PV_bootloader_args", pv_bootloader_args);
    STR_FIELD("PV_kernel", pv_kernel);
    STR_FIELD("PV_ramdisk", pv_ramdisk);
    STR_FIELD("PV_args", pv_args);
    STR_FIELD("domain_type", domain_type);
#undef STR_FIELD
    if (!field_string(p, o, "uuid", NULL, &s, error))
        return false;
    vm->uuid = g_strdup(s);
    if (!field_uint64(p, o, "memory_static_max", true, &vm->memory_static_max, error) ||
        !field_uint64(p, o, "memory_dynamic_max", false, &vm->memory_dynamic_max, error))
        return false;
    if (!field_uint64(p, o, "VCPUs_at_startup", false, &n, error))
        return false;
    if (n > G_MAXUINT) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "ova.xml: VM '%s' field 'VCPUs_at_startup': %" G_GUINT64_FORMAT " is too large",
                    o->id, n);
        return false;
    }
    vm->vcpus_at_startup = n != 0 ? (unsigned)n : 1;
    if (!field_uint64(p, o, "VCPUs_max", false, &n, error))
        return false;
    if (n > G_MAXUINT) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "ova.xml: VM '%s' field 'VCPUs_max': %" G_GUINT64_FORMAT " is too large",
                    o->id, n);
        return false;
    }
    vm->vcpus_max = n != 0 ? (unsigned)n : vm->vcpus_at_startup;
    s = field_map_get(p, o, "HVM_boot_params", "order");
    g_free(vm->hvm_boot_order);
    vm->hvm_boot_order = g_strdup(s != NULL ? s : "");
    fw = field_map_get(p, o, "HVM_boot_params", "firmware");
    vm->firmware_uefi = fw != NULL && strcmp(fw, "uefi") == 0;
    s = field_map_get(p, o, "platform", "viridian");
    vm->platform_viridian = g_strdup(s);
    if (!field_string(p, o, "power_state", "", &s, error))
        return false;
    vm->power_state = g_strdup(s);
    return true;
}

/* The guest OS the VM's guest metrics name (os_version: name, else distro
 * and major), for discovery; only a hint, so a metrics object that is
 * missing or odd leaves it NULL rather than failing the export. */
static void
parse_os_hint(struct ova_parse *p, struct ova_object *vm_o, struct xva_vm *vm)
{
    const char *ref = value_scalar(p, struct_get(vm_o->snapshot, "guest_metrics"));
    const struct ova_object *gm;
    const char *name;
    const char *distro;
    const char *major;

    if (is_null_ref(ref))
        return;
    gm = g_hash_table_lookup(p->objects, ref);
    if (gm == NULL || strcmp(gm->cls, "VM_guest_metrics") != 0)
        return;
    name = field_map_get(p, gm, "os_version", "name");
    distro = field_map_get(p, gm, "os_version", "distro");
    major = field_map_get(p, gm, "os_version", "major");
    vm->os_hint = xva_os_hint(name, distro, major);
}

/* The xva_vdi for a VDI object, created on first use. */
static bool
get_vdi(struct ova_parse *p, struct xva_meta *m, GHashTable *made,
        struct ova_object *o, struct xva_vdi **out, GError **error)
{
    struct xva_vdi *d = g_hash_table_lookup(made, o->id);
    const char *uuid;
    const char *label;
    const char *sr;
    uint64_t size;

    if (d != NULL) {
        *out = d;
        return true;
    }
    if (!field_string(p, o, "uuid", NULL, &uuid, error) ||
        !field_string(p, o, "name_label", "", &label, error) ||
        !field_string(p, o, "SR", NULL, &sr, error) ||
        !field_uint64(p, o, "virtual_size", true, &size, error))
        return false;
    d = g_new0(struct xva_vdi, 1);
    d->ref = g_strdup(o->id);
    d->uuid = g_strdup(uuid);
    d->name_label = g_strdup(label);
    d->virtual_size = size;
    d->sr_ref = is_null_ref(sr) ? NULL : g_strdup(sr);
    if (d->sr_ref != NULL) {
        struct ova_object *sr_o = g_hash_table_lookup(p->objects, d->sr_ref);
        const char *sr_label = NULL;
        if (sr_o != NULL && strcmp(sr_o->cls, "SR") == 0)
            sr_label = value_scalar(p, struct_get(sr_o->snapshot, "name_label"));
        d->sr_name = g_strdup(sr_label);
    }
    g_ptr_array_add(m->vdis, d);
    g_hash_table_insert(made, (gpointer)o->id, d);
    *out = d;
    return true;
}

/* Is this VDI on an ISO SR (content_type or type "iso")?  *iso is set. */
static bool
vdi_on_iso_sr(struct ova_parse *p, struct ova_object *vdi_o, bool *iso,
              GError **error)
{
    const char *sr_ref;
    struct ova_object *sr;
    const char *ct;
    const char *type;

    *iso = false;
    if (!field_string(p, vdi_o, "SR", NULL, &sr_ref, error))
        return false;
    sr = is_null_ref(sr_ref) ? NULL : g_hash_table_lookup(p->objects, sr_ref);
    if (sr == NULL || strcmp(sr->cls, "SR") != 0)
        return true;
    ct = value_scalar(p, struct_get(sr->snapshot, "content_type"));
    type = value_scalar(p, struct_get(sr->snapshot, "type"));
    *iso = (ct != NULL && strcmp(ct, "iso") == 0) ||
           (type != NULL && strcmp(type, "iso") == 0);
    return true;
}

/* A VBD's place among the VM's disks: userdevice when it is a number,
 * else the disk index of its device name (xvda → 0, hdb → 1, xvdaa → 26)
 * and the partition number of a name like xvda1 (part; 0: none). */
static void
vbd_position(const struct xva_vbd *b, guint64 *index, guint64 *part)
{
    const char *d = b->device != NULL ? b->device : "";
    const char *p = d;
    guint64 idx = 0;

    *index = G_MAXUINT64;
    *part = 0;
    if (g_str_has_prefix(d, "xvd"))
        p = d + 3;
    else if (g_str_has_prefix(d, "hd") || g_str_has_prefix(d, "sd") || g_str_has_prefix(d, "vd"))
        p = d + 2;
    if (p != d && g_ascii_islower(*p)) {
        for (; g_ascii_islower(*p) && idx < G_MAXUINT32; p++)
            idx = idx * 26 + (guint64)(*p - 'a' + 1);
        if (*p == '\0' || g_ascii_string_to_unsigned(p, 10, 1, G_MAXUINT32, part, NULL))
            *index = idx - 1;
        else
            *part = 0;
    }
    /* userdevice decides alone where it is a number. */
    if (b->userdevice != NULL && b->userdevice[0] != '\0' &&
        g_ascii_string_to_unsigned(b->userdevice, 10, 0, G_MAXUINT32, &idx, NULL)) {
        *index = idx;
        *part = 0;
    }
}

static gint
vbd_compare(gconstpointer a, gconstpointer b)
{
    const struct xva_vbd *x = *(const struct xva_vbd *const *)a;
    const struct xva_vbd *y = *(const struct xva_vbd *const *)b;
    guint64 xi, xp, yi, yp;

    vbd_position(x, &xi, &xp);
    vbd_position(y, &yi, &yp);
    if (xi != yi)
        return xi < yi ? -1 : 1;
    return xp < yp ? -1 : xp > yp ? 1 : 0;
}

void
xva_vm_sort_vbds(struct xva_vm *vm)
{
    /* g_ptr_array_sort is stable: equals keep the export's order. */
    if (vm->vbds != NULL)
        g_ptr_array_sort(vm->vbds, vbd_compare);
}

static bool
parse_vbds(struct ova_parse *p, struct ova_object *vm_o, struct xva_meta *m,
           GHashTable *made, GError **error)
{
    g_autoptr(GPtrArray) refs = g_ptr_array_new();

    if (!field_refs(p, vm_o, "VBDs", refs, error))
        return false;
    for (guint i = 0; i < refs->len; i++) {
        struct ova_object *o;
        struct ova_object *vdi_o;
        struct xva_vbd *b;
        const char *device;
        const char *userdevice;
        const char *type;
        const char *vdi_ref;
        bool bootable;
        bool empty;

        if (!lookup_ref(p, vm_o, "VBD", refs->pdata[i], "VBD", &o, error))
            return false;
        if (o == NULL)
            continue;
        if (!field_string(p, o, "device", "", &device, error) ||
            !field_string(p, o, "userdevice", "", &userdevice, error) ||
            !field_string(p, o, "type", "Disk", &type, error) ||
            !field_string(p, o, "VDI", NULL, &vdi_ref, error) ||
            !field_bool(p, o, "bootable", &bootable, error) ||
            !field_bool(p, o, "empty", &empty, error))
            return false;
        if (!lookup_ref(p, o, "VDI", vdi_ref, "VDI", &vdi_o, error))
            return false;
        b = g_new0(struct xva_vbd, 1);
        b->ref = g_strdup(o->id);
        b->device = g_strdup(device);
        b->userdevice = g_strdup(userdevice);
        b->is_cd = g_ascii_strcasecmp(type, "CD") == 0;
        b->bootable = bootable;
        b->empty = empty;
        g_ptr_array_add(m->vm.vbds, b);
        if (empty || vdi_o == NULL)
            continue;
        if (!get_vdi(p, m, made, vdi_o, &b->vdi, error))
            return false;
        /* xapi export.ml streams the VDIs of non-CD VBDs whose SR is not
         * an ISO library. */
        if (!b->is_cd) {
            bool iso;

            if (!vdi_on_iso_sr(p, vdi_o, &iso, error))
                return false;
            if (!iso)
                b->vdi->has_data = true;
        }
    }
    return true;
}

/* A suspended VM exported with its power state also streams its suspend
 * image. */
static bool
parse_suspend_vdi(struct ova_parse *p, struct ova_object *vm_o,
                  struct xva_meta *m, GHashTable *made, GError **error)
{
    const char *state;
    const char *ref;
    struct ova_object *o;
    struct xva_vdi *d;

    if (!field_string(p, vm_o, "power_state", "", &state, error) ||
        !field_string(p, vm_o, "suspend_VDI", NULL, &ref, error))
        return false;
    if (strcmp(state, "Suspended") != 0 || is_null_ref(ref))
        return true;
    if (!lookup_ref(p, vm_o, "VDI", ref, "VDI", &o, error))
        return false;
    if (!get_vdi(p, m, made, o, &d, error))
        return false;
    d->has_data = true;
    return true;
}

static guint64
device_number(const char *device)
{
    guint64 n;

    if (!g_ascii_string_to_unsigned(device, 10, 0, G_MAXUINT64, &n, NULL))
        return G_MAXUINT64;
    return n;
}

static int
vif_compare(gconstpointer a, gconstpointer b)
{
    const struct xva_vif *x = *(struct xva_vif *const *)a;
    const struct xva_vif *y = *(struct xva_vif *const *)b;
    guint64 nx = device_number(x->device);
    guint64 ny = device_number(y->device);

    if (nx != ny)
        return nx < ny ? -1 : 1;
    return strcmp(x->device, y->device);
}

static bool
parse_vifs(struct ova_parse *p, struct ova_object *vm_o, struct xva_meta *m,
           GError **error)
{
    g_autoptr(GPtrArray) refs = g_ptr_array_new();

    if (!field_refs(p, vm_o, "VIFs", refs, error))
        return false;
    for (guint i = 0; i < refs->len; i++) {
        struct ova_object *o;
        struct ova_object *net;
        struct xva_vif *f;
        const char *device;
        const char *mac;
        const char *net_ref;
        const char *net_name = "";
        const char *bridge = "";

        if (!lookup_ref(p, vm_o, "VIF", refs->pdata[i], "VIF", &o, error))
            return false;
        if (o == NULL)
            continue;
        if (!field_string(p, o, "device", "", &device, error) ||
            !field_string(p, o, "MAC", "", &mac, error) ||
            !field_string(p, o, "network", NULL, &net_ref, error))
            return false;
        if (!lookup_ref(p, o, "network", net_ref, "network", &net, error))
            return false;
        if (net != NULL) {
            if (!field_string(p, net, "name_label", "", &net_name, error) ||
                !field_string(p, net, "bridge", "", &bridge, error))
                return false;
        }
        f = g_new0(struct xva_vif, 1);
        f->ref = g_strdup(o->id);
        f->device = g_strdup(device);
        f->mac = g_ascii_strdown(mac, -1);
        f->network_name = g_strdup(net_name);
        f->bridge = g_strdup(bridge);
        g_ptr_array_add(m->vm.vifs, f);
    }
    g_ptr_array_sort(m->vm.vifs, vif_compare);
    return true;
}

/* Data-carrying VDIs first, in stream order (strcmp of ref), then the
 * others in the same order. */
static int
vdi_compare(gconstpointer a, gconstpointer b)
{
    const struct xva_vdi *x = *(struct xva_vdi *const *)a;
    const struct xva_vdi *y = *(struct xva_vdi *const *)b;

    if (x->has_data != y->has_data)
        return x->has_data ? -1 : 1;
    return strcmp(x->ref, y->ref);
}

/* Add the VDI objects no VBD of the VM uses (snapshots' disks …), without
 * data, so that every VDI of the export can be looked up. */
static bool
add_other_vdis(struct ova_parse *p, struct xva_meta *m, GHashTable *made,
               GError **error)
{
    GHashTableIter it;
    gpointer value;

    g_hash_table_iter_init(&it, p->objects);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        struct ova_object *o = value;
        struct xva_vdi *d;

        if (strcmp(o->cls, "VDI") == 0 && !get_vdi(p, m, made, o, &d, error))
            return false;
    }
    return true;
}

static bool
parse_model(struct ova_parse *p, struct xva_meta *m, GError **error)
{
    xmlNode *root = xmlDocGetRootElement(p->doc);
    xmlNode *version;
    xmlNode *objects;
    struct ova_object *vm_o = NULL;
    g_autoptr(GHashTable) made = g_hash_table_new(g_str_hash, g_str_equal);

    if (!is_named(root, "value") || !is_struct(root)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "ova.xml: expected an XML-RPC <value> holding a <struct>");
        return false;
    }
    version = struct_get(root, "version");
    if (version != NULL) {
        const char *vsn = value_scalar(p, struct_get(version, "export_vsn"));
        guint64 n;

        if (vsn != NULL &&
            g_ascii_string_to_unsigned(vsn, 10, 0, G_MAXUINT, &n, NULL))
            m->version_major = (unsigned)n;
    }
    objects = struct_get(root, "objects");
    if (objects == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "ova.xml: no 'objects' member");
        return false;
    }
    if (!index_objects(p, objects, error) ||
        !pick_vm(p, &vm_o, error) ||
        !parse_vm_fields(p, vm_o, &m->vm, error) ||
        !parse_vbds(p, vm_o, m, made, error) ||
        !parse_suspend_vdi(p, vm_o, m, made, error) ||
        !parse_vifs(p, vm_o, m, error) ||
        !add_other_vdis(p, m, made, error))
        return false;
    parse_os_hint(p, vm_o, &m->vm);
    g_ptr_array_sort(m->vdis, vdi_compare);
    xva_vm_sort_vbds(&m->vm);
    return true;
}

static void
xml_string_free(gpointer s)
{
    xmlFree(s);
}

struct xva_meta *
xva_meta_parse_flags(const char *xml, size_t len, unsigned flags,
                     GError **error)
{
    g_autoptr(xmlDoc) doc = NULL;
    struct xva_meta *m;
    struct ova_parse p = {0};
    GError *err = NULL;
    bool ok;

    doc = read_doc(xml, len, error);
    if (doc == NULL)
        return NULL;
    p.doc = doc;
    p.objects = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    p.strings = g_ptr_array_new_with_free_func(xml_string_free);
    m = meta_new_empty();
    ok = parse_model(&p, m, &err);
    g_hash_table_unref(p.objects);
    g_ptr_array_unref(p.strings);
    if (ok)
        return m;
    xva_meta_free(m);
    if ((flags & XVA_OPEN_LENIENT) != 0) {
        /* Well-formed and safe, but no usable VM: enough to verify. */
        g_error_free(err);
        return meta_new_empty();
    }
    g_propagate_error(error, err);
    return NULL;
}

struct xva_meta *
xva_meta_parse(const char *xml, size_t len, GError **error)
{
    return xva_meta_parse_flags(xml, len, 0, error);
}
