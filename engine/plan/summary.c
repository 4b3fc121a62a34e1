/* The domain a VM gets, in short, for the plan's reviewer: vCPUs,
 * memory, each NIC with its MAC and network, each disk with its bus and
 * target, and the boot order — read from the converted domain XML. */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "convert/convert.h"
#include "plan/plan.h"
#include "util/autoptr.h"
#include "util/json.h"
#include "util/size.h"

struct dom_nic {
    char *mac;        /* or NULL */
    char *kind;       /* "network", "bridge", or the interface type */
    char *to;         /* the network's or bridge's name, or NULL */
    char *model;      /* or NULL */
};

struct dom_disk {
    char *device;     /* disk, cdrom, floppy */
    char *source;     /* file, dev, pool/volume, or NULL (empty) */
    char *bus;
    char *target;
    char *format;     /* driver type, or NULL */
};

struct dom {
    unsigned vcpus, vcpus_current;
    uint64_t memory, memory_current;     /* bytes */
    GPtrArray *nics;                     /* of struct dom_nic* */
    GPtrArray *disks;                    /* of struct dom_disk* */
    GPtrArray *boot;                     /* of char*: in boot order */
    char *firmware;                      /* "efi", or NULL */
};

static void
nic_free(gpointer p)
{
    struct dom_nic *n = p;

    g_free(n->mac);
    g_free(n->kind);
    g_free(n->to);
    g_free(n->model);
    g_free(n);
}

static void
disk_free(gpointer p)
{
    struct dom_disk *d = p;

    g_free(d->device);
    g_free(d->source);
    g_free(d->bus);
    g_free(d->target);
    g_free(d->format);
    g_free(d);
}

static void
dom_release(struct dom *d)
{
    g_clear_pointer(&d->nics, g_ptr_array_unref);
    g_clear_pointer(&d->disks, g_ptr_array_unref);
    g_clear_pointer(&d->boot, g_ptr_array_unref);
    g_clear_pointer(&d->firmware, g_free);
}

static char *
text(xmlNode *n)
{
    xmlChar *v = n != NULL ? xmlNodeGetContent(n) : NULL;
    char *s = v != NULL ? g_strstrip(g_strdup((const char *)v)) : NULL;

    xmlFree(v);
    return s;
}

/* A libvirt memory element in bytes (unit defaults to KiB). */
static uint64_t
memory_bytes(xmlNode *n)
{
    g_autofree char *v = text(n);
    g_autofree char *unit = convert_prop(n, "unit");
    guint64 x = 0;
    uint64_t mul = 1024;

    if (v == NULL || !g_ascii_string_to_unsigned(v, 10, 0, G_MAXUINT64 / 1024, &x, NULL))
        return 0;
    if (unit != NULL) {
        if (strcmp(unit, "b") == 0 || strcmp(unit, "bytes") == 0)
            mul = 1;
        else if (strcmp(unit, "MiB") == 0 || strcmp(unit, "M") == 0)
            mul = 1ULL << 20;
        else if (strcmp(unit, "GiB") == 0 || strcmp(unit, "G") == 0)
            mul = 1ULL << 30;
    }
    return x * mul;
}

struct boot_order {
    unsigned order;
    char *what;
};

static gint
cmp_boot(gconstpointer a, gconstpointer b)
{
    const struct boot_order *x = *(const struct boot_order *const *)a;
    const struct boot_order *y = *(const struct boot_order *const *)b;

    return x->order < y->order ? -1 : x->order > y->order;
}

static void
boot_order_free(gpointer p)
{
    struct boot_order *b = p;

    g_free(b->what);
    g_free(b);
}

/* A device's <boot order='N'/>, added to orders as what. */
static void
device_boot(xmlNode *dev, const char *what, GPtrArray *orders)
{
    g_autofree char *o = convert_prop(convert_first_child(dev, "boot"), "order");
    guint64 n = 0;

    if (o == NULL || !g_ascii_string_to_unsigned(o, 10, 1, G_MAXUINT, &n, NULL))
        return;
    struct boot_order *b = g_new0(struct boot_order, 1);
    b->order = (unsigned)n;
    b->what = g_strdup(what);
    g_ptr_array_add(orders, b);
}

static bool
dom_read(const char *xml, struct dom *d)
{
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(GPtrArray) orders = g_ptr_array_new_with_free_func(boot_order_free);
    xmlNode *root, *os, *devs;
    guint64 n = 0;

    memset(d, 0, sizeof *d);
    d->nics = g_ptr_array_new_with_free_func(nic_free);
    d->disks = g_ptr_array_new_with_free_func(disk_free);
    d->boot = g_ptr_array_new_with_free_func(g_free);
    if (xml == NULL)
        return false;
    doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL || (root = xmlDocGetRootElement(doc)) == NULL)
        return false;
    xmlNode *vcpu = convert_first_child(root, "vcpu");
    g_autofree char *vtext = text(vcpu);
    g_autofree char *vcur = convert_prop(vcpu, "current");
    if (vtext != NULL && g_ascii_string_to_unsigned(vtext, 10, 0, G_MAXUINT, &n, NULL))
        d->vcpus = (unsigned)n;
    if (vcur != NULL && g_ascii_string_to_unsigned(vcur, 10, 0, G_MAXUINT, &n, NULL))
        d->vcpus_current = (unsigned)n;
    d->memory = memory_bytes(convert_first_child(root, "memory"));
    d->memory_current = memory_bytes(convert_first_child(root, "currentMemory"));
    os = convert_first_child(root, "os");
    devs = convert_first_child(root, "devices");
    for (xmlNode *c = devs != NULL ? devs->children : NULL; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (strcmp((const char *)c->name, "disk") == 0) {
            struct dom_disk *k = g_new0(struct dom_disk, 1);
            xmlNode *src = convert_first_child(c, "source");
            xmlNode *tgt = convert_first_child(c, "target");

            k->device = convert_prop(c, "device");
            if (k->device == NULL)
                k->device = g_strdup("disk");
            k->source = convert_prop(src, "file");
            if (k->source == NULL)
                k->source = convert_prop(src, "dev");
            if (k->source == NULL && src != NULL) {
                g_autofree char *pool = convert_prop(src, "pool");
                g_autofree char *vol = convert_prop(src, "volume");
                if (pool != NULL && vol != NULL)
                    k->source = g_strdup_printf("%s/%s", pool, vol);
            }
            k->bus = convert_prop(tgt, "bus");
            k->target = convert_prop(tgt, "dev");
            k->format = convert_prop(convert_first_child(c, "driver"), "type");
            device_boot(c, k->target != NULL ? k->target : k->device, orders);
            g_ptr_array_add(d->disks, k);
        } else if (strcmp((const char *)c->name, "interface") == 0) {
            struct dom_nic *k = g_new0(struct dom_nic, 1);
            xmlNode *src = convert_first_child(c, "source");

            k->mac = convert_prop(convert_first_child(c, "mac"), "address");
            k->kind = convert_prop(c, "type");
            if (k->kind == NULL)
                k->kind = g_strdup("?");
            k->to = convert_prop(src, k->kind);
            k->model = convert_prop(convert_first_child(c, "model"), "type");
            device_boot(c, k->mac != NULL ? k->mac : "nic", orders);
            g_ptr_array_add(d->nics, k);
        }
    }
    /* Per-device boot order wins over <os><boot dev=…/>, as in libvirt. */
    if (orders->len > 0) {
        g_ptr_array_sort(orders, cmp_boot);
        for (guint i = 0; i < orders->len; i++)
            g_ptr_array_add(d->boot, g_strdup(((struct boot_order *)orders->pdata[i])->what));
    } else if (convert_first_child(os, "kernel") != NULL) {
        g_autofree char *k = text(convert_first_child(os, "kernel"));
        g_ptr_array_add(d->boot, g_strdup_printf("kernel %s", k != NULL ? k : "?"));
    } else {
        for (xmlNode *c = os != NULL ? os->children : NULL; c != NULL; c = c->next) {
            if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "boot") == 0) {
                char *dev = convert_prop(c, "dev");
                if (dev != NULL)
                    g_ptr_array_add(d->boot, dev);
            }
        }
    }
    g_autofree char *fw = convert_prop(os, "firmware");
    if (fw != NULL)
        d->firmware = g_steal_pointer(&fw);
    else if (convert_first_child(os, "loader") != NULL)
        d->firmware = g_strdup("efi");
    return true;
}

char *
plan_domain_summary_text(const struct plan_vm *v, const char *indent)
{
    struct dom d;
    GString *o;

    if (!dom_read(v->kvm_xml, &d)) {
        dom_release(&d);
        return NULL;
    }
    o = g_string_new(NULL);
    g_autofree char *mem = size_format(d.memory);
    g_string_append_printf(o, "%sdomain: %u vCPU%s", indent, d.vcpus, d.vcpus == 1 ? "" : "s");
    if (d.vcpus_current != 0 && d.vcpus_current != d.vcpus)
        g_string_append_printf(o, " (%u online)", d.vcpus_current);
    g_string_append_printf(o, ", %s memory", mem);
    if (d.memory_current != 0 && d.memory_current != d.memory) {
        g_autofree char *cur = size_format(d.memory_current);
        g_string_append_printf(o, " (%s at start)", cur);
    }
    if (d.firmware != NULL)
        g_string_append_printf(o, ", firmware %s", d.firmware);
    g_string_append(o, "; boot ");
    for (guint i = 0; i < d.boot->len; i++)
        g_string_append_printf(o, "%s%s", i ? ", " : "", (const char *)d.boot->pdata[i]);
    if (d.boot->len == 0)
        g_string_append(o, "(libvirt's default)");
    g_string_append_c(o, '\n');
    for (guint i = 0; i < d.nics->len; i++) {
        const struct dom_nic *n = d.nics->pdata[i];
        g_string_append_printf(o, "%s  nic %s → %s %s", indent, n->mac ? n->mac : "(no MAC)",
                               n->kind, n->to != NULL ? n->to : "?");
        if (n->model != NULL)
            g_string_append_printf(o, " (%s)", n->model);
        g_string_append_c(o, '\n');
    }
    if (d.nics->len == 0)
        g_string_append_printf(o, "%s  no NIC\n", indent);
    for (guint i = 0; i < d.disks->len; i++) {
        const struct dom_disk *k = d.disks->pdata[i];
        g_string_append_printf(o, "%s  %s %s → %s %s", indent, k->device,
                               k->source != NULL ? k->source : "(empty)",
                               k->bus != NULL ? k->bus : "?", k->target != NULL ? k->target : "?");
        if (k->format != NULL && k->source != NULL)
            g_string_append_printf(o, " (%s)", k->format);
        g_string_append_c(o, '\n');
    }
    dom_release(&d);
    return g_string_free(o, FALSE);
}

void
plan_domain_summary_json(const struct plan_vm *v, struct json *j)
{
    struct dom d;

    if (!dom_read(v->kvm_xml, &d)) {
        dom_release(&d);
        json_null(j);
        return;
    }
    json_begin_object(j);
    json_kv_uint(j, "vcpus", d.vcpus);
    json_kv_uint(j, "vcpus_current", d.vcpus_current != 0 ? d.vcpus_current : d.vcpus);
    json_kv_uint(j, "memory_bytes", d.memory);
    json_kv_uint(j, "memory_current_bytes", d.memory_current != 0 ? d.memory_current : d.memory);
    json_kv_string(j, "firmware", d.firmware);
    json_key(j, "boot");
    json_begin_array(j);
    for (guint i = 0; i < d.boot->len; i++)
        json_string(j, d.boot->pdata[i]);
    json_end_array(j);
    json_key(j, "nics");
    json_begin_array(j);
    for (guint i = 0; i < d.nics->len; i++) {
        const struct dom_nic *n = d.nics->pdata[i];
        json_begin_object(j);
        json_kv_string(j, "mac", n->mac);
        json_kv_string(j, "type", n->kind);
        json_kv_string(j, "to", n->to);
        json_kv_string(j, "model", n->model);
        json_end_object(j);
    }
    json_end_array(j);
    json_key(j, "disks");
    json_begin_array(j);
    for (guint i = 0; i < d.disks->len; i++) {
        const struct dom_disk *k = d.disks->pdata[i];
        json_begin_object(j);
        json_kv_string(j, "device", k->device);
        json_kv_string(j, "source", k->source);
        json_kv_string(j, "bus", k->bus);
        json_kv_string(j, "target", k->target);
        json_kv_string(j, "format", k->format);
        json_end_object(j);
    }
    json_end_array(j);
    json_end_object(j);
}
