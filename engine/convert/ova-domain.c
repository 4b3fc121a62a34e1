/* ova-domain: the Xen-flavoured libvirt domain XML of an XVA's VM, built
 * from its ova.xml model the way libvirt's libxl driver would describe the
 * same guest, so one rule set converts every source kind. */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <libxml/tree.h>

#include "convert/convert-priv.h"
#include "util/autoptr.h"
#include "util/error.h"

#define XEN_HVMLOADER "/usr/lib/xen/boot/hvmloader"
#define XEN_OVMF "/usr/lib/xen/boot/ovmf.bin"
#define OVA_MEMORY_MAX (16ULL << 40)

enum ova_kind {
    OVA_KIND_PV,
    OVA_KIND_PVH,
    OVA_KIND_HVM,
    OVA_KIND_LAST,
};

static xmlNode *
add_el(xmlNode *parent, const char *name, const char *text)
{
    return xmlNewTextChild(parent, NULL, (const xmlChar *)name, (const xmlChar *)text);
}

static void
set_attr(xmlNode *node, const char *name, const char *value)
{
    xmlSetProp(node, (const xmlChar *)name, (const xmlChar *)value);
}

static bool
nonempty(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static enum ova_kind
ova_kind(const struct xva_vm *vm)
{
    const char *dt = vm->domain_type != NULL ? vm->domain_type : "";

    if (strcmp(dt, "pv") == 0 || strcmp(dt, "pv_in_pvh") == 0)
        return OVA_KIND_PV;
    if (strcmp(dt, "pvh") == 0)
        return OVA_KIND_PVH;
    if (strcmp(dt, "hvm") == 0 || strcmp(dt, "hv") == 0)
        return OVA_KIND_HVM;
    return nonempty(vm->hvm_boot_policy) ? OVA_KIND_HVM : OVA_KIND_PV;
}

/* Disk name suffix of a 0-based index as libvirt's virIndexToDiskName:
 * 0 → "a", 25 → "z", 26 → "aa". */
static char *
disk_name(const char *prefix, unsigned idx)
{
    char buf[16];
    size_t n = sizeof(buf) - 1;

    buf[n] = '\0';
    for (unsigned i = idx + 1; i > 0 && n > 0; i = (i - 1) / 26)
        buf[--n] = (char)('a' + (i - 1) % 26);
    return g_strconcat(prefix, buf + n, NULL);
}

static const char *
bus_for_dev(const char *dev)
{
    if (g_str_has_prefix(dev, "xvd"))
        return "xen";
    if (g_str_has_prefix(dev, "hd"))
        return "ide";
    if (g_str_has_prefix(dev, "sd"))
        return "scsi";
    return "xen";
}

static bool
add_os(xmlNode *dom, const struct xva_vm *vm, enum ova_kind kind)
{
    xmlNode *os;
    xmlNode *type;

    if (kind != OVA_KIND_HVM && nonempty(vm->pv_bootloader)) {
        add_el(dom, "bootloader", vm->pv_bootloader);
        if (nonempty(vm->pv_bootloader_args))
            add_el(dom, "bootloader_args", vm->pv_bootloader_args);
    }
    os = add_el(dom, "os", NULL);
    switch (kind) {
    case OVA_KIND_HVM: {
        const char *order = nonempty(vm->hvm_boot_order) ? vm->hvm_boot_order : "c";
        bool seen[3] = {false, false, false};
        xmlNode *loader;

        type = add_el(os, "type", "hvm");
        set_attr(type, "arch", "x86_64");
        set_attr(type, "machine", "xenfv");
        if (vm->firmware_uefi) {
            loader = add_el(os, "loader", XEN_OVMF);
            set_attr(loader, "readonly", "yes");
            set_attr(loader, "type", "pflash");
        } else {
            loader = add_el(os, "loader", XEN_HVMLOADER);
            set_attr(loader, "type", "rom");
        }
        for (const char *p = order; *p != '\0'; p++) {
            static const char letters[] = "cdn";
            static const char *const devs[] = {"hd", "cdrom", "network"};
            const char *hit = strchr(letters, g_ascii_tolower(*p));

            if (hit == NULL || seen[hit - letters])
                continue;
            seen[hit - letters] = true;
            set_attr(add_el(os, "boot", NULL), "dev", devs[hit - letters]);
        }
        if (!seen[0] && !seen[1] && !seen[2])
            set_attr(add_el(os, "boot", NULL), "dev", "hd");
        break;
    }
    case OVA_KIND_PVH:
        type = add_el(os, "type", "xenpvh");
        set_attr(type, "arch", "x86_64");
        set_attr(type, "machine", "xenpvh");
        break;
    case OVA_KIND_PV:
    case OVA_KIND_LAST:
    default:
        type = add_el(os, "type", "linux");
        set_attr(type, "arch", "x86_64");
        set_attr(type, "machine", "xenpv");
        break;
    }
    if (kind != OVA_KIND_HVM && !nonempty(vm->pv_bootloader) && nonempty(vm->pv_kernel)) {
        add_el(os, "kernel", vm->pv_kernel);
        if (nonempty(vm->pv_ramdisk))
            add_el(os, "initrd", vm->pv_ramdisk);
        if (nonempty(vm->pv_args))
            add_el(os, "cmdline", vm->pv_args);
    }
    return true;
}

static bool
add_disk(xmlNode *devs, const struct xva_vbd *vbd, bool boot, GError **error)
{
    g_autofree char *dev = NULL;
    xmlNode *disk;

    if (!vbd->is_cd && vbd->vdi == NULL)
        return true; /* a disk slot with nothing in it */
    if (nonempty(vbd->device)) {
        dev = g_strdup(vbd->device);
    } else {
        guint64 n = 0;

        if (vbd->userdevice == NULL ||
            !g_ascii_string_to_unsigned(vbd->userdevice, 10, 0, 701, &n, NULL)) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                        "VBD '%s': 'userdevice': expected a number from 0 to 701, got '%s'",
                        vbd->ref != NULL ? vbd->ref : "?",
                        vbd->userdevice != NULL ? vbd->userdevice : "");
            return false;
        }
        dev = disk_name("xvd", (unsigned)n);
    }

    disk = add_el(devs, "disk", NULL);
    set_attr(disk, "type", "file");
    set_attr(disk, "device", vbd->is_cd ? "cdrom" : "disk");
    set_attr(add_el(disk, "driver", NULL), "name", "file");
    if (vbd->vdi != NULL && (vbd->vdi->has_data || !vbd->is_cd) && !vbd->empty) {
        g_autofree char *src = g_strconcat(CONVERT_XVA_VDI_PREFIX, vbd->vdi->ref, NULL);
        set_attr(add_el(disk, "source", NULL), "file", src);
    }
    xmlNode *target = add_el(disk, "target", NULL);
    set_attr(target, "dev", dev);
    set_attr(target, "bus", bus_for_dev(dev));
    if (boot)
        set_attr(add_el(disk, "boot", NULL), "order", "1");
    if (vbd->is_cd)
        add_el(disk, "readonly", NULL);
    return true;
}

/* The disk a PV guest boots from when it is not the first: XenServer runs
 * the bootloader on the bootable VBD, which need not be userdevice 0.
 * NULL when the first disk (vda on KVM, which <boot dev='hd'/> boots) is
 * bootable or no disk is. */
static const struct xva_vbd *
pv_boot_vbd(const struct xva_vm *vm)
{
    const struct xva_vbd *first = NULL;

    for (guint i = 0; vm->vbds != NULL && i < vm->vbds->len; i++) {
        const struct xva_vbd *b = vm->vbds->pdata[i];

        if (b->is_cd || b->vdi == NULL)
            continue;
        if (first == NULL)
            first = b;
        if (b->bootable)
            return b == first ? NULL : b;
    }
    return NULL;
}

static void
add_interface(xmlNode *devs, const struct xva_vif *vif)
{
    xmlNode *iface = add_el(devs, "interface", NULL);

    set_attr(iface, "type", "bridge");
    if (nonempty(vif->mac))
        set_attr(add_el(iface, "mac", NULL), "address", vif->mac);
    if (nonempty(vif->bridge))
        set_attr(add_el(iface, "source", NULL), "bridge", vif->bridge);
    set_attr(add_el(iface, "script", NULL), "path", "vif-bridge");
}

xmlDoc *
convert_domain_from_ova(const struct xva_meta *meta, GError **error)
{
    const struct xva_vm *vm = &meta->vm;
    enum ova_kind kind = ova_kind(vm);
    g_autoptr(xmlDoc) doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNode *dom = xmlNewNode(NULL, (const xmlChar *)"domain");
    g_autofree char *mem = NULL;
    g_autofree char *cur = NULL;
    g_autofree char *vcpus = NULL;
    xmlNode *n;
    xmlNode *devs;
    unsigned vmax;
    unsigned vstart;

    xmlDocSetRootElement(doc, dom);
    set_attr(dom, "type", "xen");
    if (!nonempty(vm->name_label)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT, "VM has an empty 'name_label'");
        return NULL;
    }
    if (vm->memory_static_max < 1024) {
        g_set_error(
            error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
            "VM '%s': 'memory_static_max': expected at least 1024 bytes, got %" G_GUINT64_FORMAT,
            vm->name_label, vm->memory_static_max);
        return NULL;
    }
    /* 2^64-1 (an export's "unlimited") or any amount no host has is
     * refused, not passed through; 16 TiB is KVM's bound on x86. */
    if (vm->memory_static_max > OVA_MEMORY_MAX) {
        g_set_error(
            error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
            "VM '%s': 'memory_static_max': expected at most 16 TiB (%" G_GUINT64_FORMAT " bytes), got %" G_GUINT64_FORMAT,
            vm->name_label, (guint64)OVA_MEMORY_MAX, vm->memory_static_max);
        return NULL;
    }
    add_el(dom, "name", vm->name_label);
    if (nonempty(vm->uuid))
        add_el(dom, "uuid", vm->uuid);

    mem = g_strdup_printf("%" G_GUINT64_FORMAT, vm->memory_static_max / 1024);
    set_attr(add_el(dom, "memory", mem), "unit", "KiB");
    cur = g_strdup_printf(
        "%" G_GUINT64_FORMAT,
        (vm->memory_dynamic_max != 0 && vm->memory_dynamic_max < vm->memory_static_max
             ? vm->memory_dynamic_max
             : vm->memory_static_max) /
            1024);
    set_attr(add_el(dom, "currentMemory", cur), "unit", "KiB");

    vmax = vm->vcpus_max != 0 ? vm->vcpus_max : 1;
    vstart = vm->vcpus_at_startup != 0 ? vm->vcpus_at_startup : vmax;
    vcpus = g_strdup_printf("%u", vmax);
    n = add_el(dom, "vcpu", vcpus);
    set_attr(n, "placement", "static");
    if (vstart < vmax) {
        g_autofree char *c = g_strdup_printf("%u", vstart);
        set_attr(n, "current", c);
    }

    add_os(dom, vm, kind);
    if (kind == OVA_KIND_HVM) {
        n = add_el(dom, "features", NULL);
        add_el(n, "acpi", NULL);
        add_el(n, "apic", NULL);
        add_el(n, "pae", NULL);
        if (vm->platform_viridian != NULL &&
            (strcmp(vm->platform_viridian, "true") == 0 || strcmp(vm->platform_viridian, "1") == 0))
            add_el(n, "viridian", NULL);
    }
    set_attr(add_el(dom, "clock", NULL), "offset", "utc");
    add_el(dom, "on_poweroff", "destroy");
    add_el(dom, "on_reboot", "restart");
    add_el(dom, "on_crash", "restart");

    devs = add_el(dom, "devices", NULL);
    const struct xva_vbd *boot = kind != OVA_KIND_HVM ? pv_boot_vbd(vm) : NULL;
    for (guint i = 0; vm->vbds != NULL && i < vm->vbds->len; i++) {
        if (!add_disk(devs, vm->vbds->pdata[i], vm->vbds->pdata[i] == boot, error)) {
            g_prefix_error(error, "VM '%s': ", vm->name_label);
            return NULL;
        }
    }
    for (guint i = 0; vm->vifs != NULL && i < vm->vifs->len; i++)
        add_interface(devs, vm->vifs->pdata[i]);

    n = add_el(devs, "console", NULL);
    set_attr(n, "type", "pty");
    n = add_el(n, "target", NULL);
    set_attr(n, "type", "xen");
    set_attr(n, "port", "0");
    if (kind == OVA_KIND_HVM) {
        n = add_el(devs, "input", NULL);
        set_attr(n, "type", "mouse");
        set_attr(n, "bus", "ps2");
        n = add_el(devs, "input", NULL);
        set_attr(n, "type", "keyboard");
        set_attr(n, "bus", "ps2");
        n = add_el(devs, "graphics", NULL);
        set_attr(n, "type", "vnc");
        set_attr(n, "port", "-1");
        set_attr(n, "autoport", "yes");
    } else {
        n = add_el(devs, "input", NULL);
        set_attr(n, "type", "mouse");
        set_attr(n, "bus", "xen");
        n = add_el(devs, "input", NULL);
        set_attr(n, "type", "keyboard");
        set_attr(n, "bus", "xen");
    }
    return g_steal_pointer(&doc);
}
