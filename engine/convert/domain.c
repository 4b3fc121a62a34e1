/* domain: the one conversion pipeline shared by plan/apply and `convoy
 * convert` — input checks, rule sets in order, network mapping, storage
 * pool mapping — so a reviewer sees in a plan exactly what convert prints. */
#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <libxml/tree.h>

#include "convert/convert-priv.h"
#include "util/autoptr.h"
#include "util/error.h"

/* The source text of a disk (file, dev, volume, network name), or NULL. */
static char *
disk_source(const xmlNode *disk)
{
    static const char *const attrs[] = {"file", "dev", "volume", "name", "dir"};
    const xmlNode *src = convert_first_child(disk, "source");

    for (size_t i = 0; src != NULL && i < G_N_ELEMENTS(attrs); i++) {
        char *v = convert_prop(src, attrs[i]);
        if (v != NULL && v[0] != '\0')
            return v;
        g_free(v);
    }
    return NULL;
}

/* Every disk (device='disk' or no device) must have a source: a disk with
 * none would be defined on KVM as a drive without data.  CD-ROMs and
 * floppies may be empty drives. */
static bool
check_disks(xmlNode *devs, const char *name, GError **error)
{
    unsigned index = 0;

    for (xmlNode *c = devs != NULL ? devs->children : NULL; c != NULL; c = c->next) {
        g_autofree char *device = NULL;
        g_autofree char *source = NULL;
        g_autofree char *dev = NULL;

        if (!convert_is_el(c, "disk"))
            continue;
        index++;
        device = convert_prop(c, "device");
        if (device != NULL && strcmp(device, "disk") != 0)
            continue;
        source = disk_source(c);
        if (source != NULL)
            continue;
        dev = convert_prop(convert_first_child(c, "target"), "dev");
        if (dev != NULL)
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID,
                        "%s: error: disk '%s' has no source (no <source file|dev|volume>); a disk without data cannot be migrated",
                        name, dev);
        else
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID,
                        "%s: error: disk #%u has no source (no <source file|dev|volume>); a disk without data cannot be migrated",
                        name, index);
        return false;
    }
    return true;
}

/* Every disk's <target dev> before the rules: node → dev (owned). */
static GHashTable *
disk_devs(xmlNode *devs)
{
    GHashTable *h = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);

    for (xmlNode *c = devs != NULL ? devs->children : NULL; c != NULL; c = c->next) {
        char *dev;
        if (!convert_is_el(c, "disk"))
            continue;
        dev = convert_prop(convert_first_child(c, "target"), "dev");
        if (dev != NULL)
            g_hash_table_insert(h, c, dev);
    }
    return h;
}

/* After the rules: no two disks may land on one device name (Xen's hda
 * and sda both become sda, say); before names each one's old name. */
static bool
check_unique_devs(xmlNode *devs, GHashTable *before, const char *name, GError **error)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    for (xmlNode *c = devs != NULL ? devs->children : NULL; c != NULL; c = c->next) {
        g_autofree char *dev = NULL;
        xmlNode *other;

        if (!convert_is_el(c, "disk"))
            continue;
        dev = convert_prop(convert_first_child(c, "target"), "dev");
        if (dev == NULL)
            continue;
        other = g_hash_table_lookup(seen, dev);
        if (other != NULL) {
            const char *a = g_hash_table_lookup(before, other);
            const char *b = g_hash_table_lookup(before, c);
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONVERT,
                        "%s: error: disks '%s' and '%s' both become '%s' on KVM; give one of them another device name in the source configuration",
                        name, a != NULL ? a : "?", b != NULL ? b : "?", dev);
            return false;
        }
        g_hash_table_insert(seen, g_steal_pointer(&dev), c);
    }
    return true;
}

/* Disk index of a KVM name's letters (vda → 0, vdaa → 26); -1 if none. */
static int
vd_index(const char *dev, const char **rest)
{
    int idx = 0;
    const char *p = dev + 2;

    if (!g_str_has_prefix(dev, "vd") || !g_ascii_islower(*p))
        return -1;
    for (; g_ascii_islower(*p) && idx < 100000; p++)
        idx = idx * 26 + (*p - 'a' + 1);
    *rest = p;
    return idx - 1;
}

struct part_disk {
    xmlNode *target;
    int index;
    guint64 part;
};

static gint
cmp_part_disk(gconstpointer a, gconstpointer b)
{
    const struct part_disk *x = a;
    const struct part_disk *y = b;

    if (x->index != y->index)
        return x->index < y->index ? -1 : 1;
    return x->part < y->part ? -1 : x->part > y->part ? 1 : 0;
}

/* A partition Xen gave the VM as a disk of its own (disk = ['…,xvda1,w',
 * '…,xvda2,w']) is a whole disk on KVM: after the rules (xvda1 → vda1),
 * each such virtio disk takes its own letters when free, else the next
 * free ones (vda1 → vda, vda2 → vdb), partitions in order.  The guest
 * rule sets rename the guest's /dev names to match (rename-disks). */
static void
whole_disk_names(xmlNode *devs, GHashTable *before, const char *vm, GPtrArray *notes,
                 GPtrArray *explain)
{
    g_autoptr(GHashTable) taken = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GArray) parts = g_array_new(FALSE, FALSE, sizeof(struct part_disk));

    for (xmlNode *c = devs != NULL ? devs->children : NULL; c != NULL; c = c->next) {
        xmlNode *t;
        g_autofree char *dev = NULL;
        const char *rest = NULL;
        struct part_disk pd;

        if (!convert_is_el(c, "disk") || (t = convert_first_child(c, "target")) == NULL ||
            (dev = convert_prop(t, "dev")) == NULL)
            continue;
        pd.target = t;
        pd.index = vd_index(dev, &rest);
        if (pd.index >= 0 && *rest != '\0' &&
            g_ascii_string_to_unsigned(rest, 10, 1, 1000, &pd.part, NULL)) {
            g_array_append_val(parts, pd);
            continue;
        }
        g_hash_table_add(taken, g_steal_pointer(&dev));
    }
    g_array_sort(parts, cmp_part_disk);
    for (guint i = 0; i < parts->len; i++) {
        const struct part_disk *pd = &g_array_index(parts, struct part_disk, i);
        g_autofree char *old = convert_prop(pd->target, "dev");
        char *name = NULL;

        for (int k = pd->index; name == NULL; k++) {
            GString *s = g_string_new(NULL);

            for (int n = k + 1; n > 0; n = (n - 1) / 26)
                g_string_prepend_c(s, (char)('a' + (n - 1) % 26));
            g_string_prepend(s, "vd");
            if (g_hash_table_contains(taken, s->str))
                g_string_free(s, TRUE);
            else
                name = g_string_free(s, FALSE);
        }
        xmlSetProp(pd->target, (const xmlChar *)"dev", (const xmlChar *)name);
        convert_explain(explain, "(whole disks)", old,
                        "set target dev '%s' to '%s': a partition given as a disk is a whole disk on KVM",
                        old, name);
        if (notes != NULL) {
            const char *xen = g_hash_table_lookup(before, pd->target->parent);
            g_ptr_array_add(notes, g_strdup_printf("%s: warning: disk '%s' is a partition device on Xen; on KVM it is the whole disk %s (no partition table): guest repair renames it in the guest's files, else the guest must mount it as /dev/%s or by label or UUID",
                                                   vm, xen != NULL ? xen : old, name, name));
        }
        g_hash_table_add(taken, name);
    }
}

static gint
cmp_disk_node(gconstpointer a, gconstpointer b)
{
    g_autofree char *x = convert_prop(convert_first_child(*(xmlNode *const *)a, "target"), "dev");
    g_autofree char *y = convert_prop(convert_first_child(*(xmlNode *const *)b, "target"), "dev");
    size_t lx = x != NULL ? strlen(x) : 0;
    size_t ly = y != NULL ? strlen(y) : 0;

    if (lx != ly)
        return lx < ly ? -1 : 1;
    return g_strcmp0(x, y);
}

/* The disks in the order of their names (vda, vdb, …): the first disk is
 * the one <boot dev='hd'/> boots, and a source lists disks in any order
 * (xl's disk = [...], XenServer's VBDs).  CD-ROMs and other devices keep
 * their places; the disks are sorted among their own. */
static void
sort_disks(xmlNode *devs)
{
    g_autoptr(GPtrArray) disks = g_ptr_array_new();
    g_autoptr(GPtrArray) sorted = NULL;
    g_autoptr(GPtrArray) slots = g_ptr_array_new();

    for (xmlNode *c = devs != NULL ? devs->children : NULL; c != NULL; c = c->next) {
        g_autofree char *device = NULL;

        if (!convert_is_el(c, "disk"))
            continue;
        device = convert_prop(c, "device");
        if (device == NULL || strcmp(device, "disk") == 0)
            g_ptr_array_add(disks, c);
    }
    sorted = g_ptr_array_copy(disks, NULL, NULL);
    g_ptr_array_sort(sorted, cmp_disk_node);
    for (guint i = 0; i < disks->len; i++) {
        xmlNode *slot = xmlNewComment((const xmlChar *)"");
        xmlReplaceNode(disks->pdata[i], slot);
        g_ptr_array_add(slots, slot);
    }
    for (guint i = 0; i < slots->len; i++) {
        xmlReplaceNode(slots->pdata[i], sorted->pdata[i]);
        xmlFreeNode(slots->pdata[i]);
    }
}

/* True when path is from, or lies under the directory from. */
static bool
path_under(const char *path, const char *from)
{
    size_t n = strlen(from);

    if (strcmp(from, "*") == 0)
        return true;
    if (n > 1 && from[n - 1] == '/')
        n--;
    return strncmp(path, from, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The longest FROM that holds path, then the catch-all "*".  NULL when
 * none does. */
static const struct convert_poolmap *
poolmap_find(const struct convert_poolmap *maps, size_t n_maps, const char *path)
{
    const struct convert_poolmap *best = NULL;
    size_t best_len = 0;

    for (size_t i = 0; i < n_maps; i++) {
        size_t len = strcmp(maps[i].from, "*") == 0 ? 0 : strlen(maps[i].from) + 1;

        if (!path_under(path, maps[i].from))
            continue;
        if (best == NULL || len > best_len) {
            best = &maps[i];
            best_len = len;
        }
    }
    return best;
}

bool
convert_map_pools(xmlDoc *doc, const struct convert_poolmap *maps, size_t n_maps,
                  GPtrArray *explain, GError **error)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlNode *devs = root != NULL ? convert_first_child(root, "devices") : NULL;

    for (xmlNode *c = devs != NULL ? devs->children : NULL; c != NULL; c = c->next) {
        g_autofree char *device = NULL;
        g_autofree char *source = NULL;
        g_autofree char *volume = NULL;
        const struct convert_poolmap *m;
        xmlNode *src;

        if (!convert_is_el(c, "disk"))
            continue;
        device = convert_prop(c, "device");
        if (device != NULL && strcmp(device, "disk") != 0)
            continue;
        {
            /* a network disk (rbd, nbd, iSCSI) stays where it is */
            g_autofree char *type = convert_prop(c, "type");
            if (g_strcmp0(type, "network") == 0)
                continue;
        }
        source = disk_source(c);
        if (source == NULL)
            continue;
        m = poolmap_find(maps, n_maps, source);
        if (m == NULL) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONVERT,
                        "disk '%s' has no storage pool mapping; add --pool FROM=POOL for it or a catch-all --pool '*=POOL'",
                        source);
            return false;
        }
        volume = g_path_get_basename(source);
        {
            g_autofree char *id = g_strdup_printf("%s=%s", m->from, m->to);
            convert_explain(explain, "--pool", id, "put disk %s in storage pool '%s' as volume '%s'",
                            source, m->to, volume);
        }
        xmlSetProp(c, (const xmlChar *)"type", (const xmlChar *)"volume");
        src = xmlNewDocNode(doc, NULL, (const xmlChar *)"source", NULL);
        xmlSetProp(src, (const xmlChar *)"pool", (const xmlChar *)m->to);
        xmlSetProp(src, (const xmlChar *)"volume", (const xmlChar *)volume);
        for (xmlNode *old = convert_first_child(c, "source"); old != NULL;
             old = convert_first_child(c, "source")) {
            xmlUnlinkNode(old);
            xmlFreeNode(old);
        }
        xmlNode *driver = convert_first_child(c, "driver");
        if (driver != NULL)
            xmlAddNextSibling(driver, src);
        else if (c->children != NULL)
            xmlAddPrevSibling(c->children, src);
        else
            xmlAddChild(c, src);
    }
    return true;
}

/* The text of /domain/os/NAME, or NULL. */
static char *
os_text(xmlNode *root, const char *name)
{
    xmlNode *os = convert_first_child(root, "os");
    xmlNode *n = os != NULL ? convert_first_child(os, name) : NULL;
    xmlChar *t = n != NULL ? xmlNodeGetContent(n) : NULL;
    char *s = t != NULL && t[0] != '\0' ? g_strdup((const char *)t) : NULL;

    xmlFree(t);
    return s;
}

/* A PV kernel command line for KVM: the Xen console and disk names
 * become the serial console and virtio names the rules give the guest. */
static char *
kvm_cmdline(const char *cmdline)
{
    g_autoptr(GRegex) console = g_regex_new("\\bconsole=(hvc0|xvc0)\\b", 0, 0, NULL);
    g_autoptr(GRegex) disk = g_regex_new("/dev/xvd([a-z]+)", 0, 0, NULL);
    g_autofree char *a = g_regex_replace(console, cmdline, -1, 0, "console=ttyS0", 0, NULL);

    return g_regex_replace(disk, a, -1, 0, "/dev/vd\\1", 0, NULL);
}

void
convert_explain(GPtrArray *explain, const char *origin, const char *id,
                const char *fmt, ...)
{
    struct convert_change *c;
    va_list ap;

    if (explain == NULL)
        return;
    c = g_new0(struct convert_change, 1);
    c->rule_file = g_strdup(origin);
    c->rule_id = g_strdup(id);
    va_start(ap, fmt);
    c->what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(explain, c);
}

/* Keep a direct-kernel boot: the kernel and initrd are the same file names
 * in dir on the KVM host.  Called after the rules, which drop the Xen
 * host's paths. */
static void
keep_direct_kernel(xmlDoc *doc, const char *dir, const char *kernel, const char *initrd,
                   const char *cmdline, GPtrArray *explain)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlNode *os = convert_first_child(root, "os");
    xmlNode *anchor;
    const char *names[] = {"kernel", "initrd", "cmdline"};
    g_autofree char *kbase = g_path_get_basename(kernel);
    g_autofree char *kpath = g_build_filename(dir, kbase, NULL);
    g_autofree char *ipath = NULL;
    g_autofree char *cl = cmdline != NULL ? kvm_cmdline(cmdline) : NULL;
    const char *values[3];

    if (os == NULL)
        return;
    if (initrd != NULL) {
        g_autofree char *ibase = g_path_get_basename(initrd);
        ipath = g_build_filename(dir, ibase, NULL);
    }
    values[0] = kpath;
    values[1] = ipath;
    values[2] = cl;
    /* after <type> and <loader>, before <boot> */
    anchor = convert_first_child(os, "loader");
    if (anchor == NULL)
        anchor = convert_first_child(os, "type");
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        xmlNode *n;
        g_autofree char *what = NULL;

        if (values[i] == NULL)
            continue;
        n = xmlNewDocNode(doc, NULL, (const xmlChar *)names[i], NULL);
        xmlNodeAddContent(n, (const xmlChar *)values[i]);
        if (anchor != NULL)
            anchor = xmlAddNextSibling(anchor, n);
        else
            anchor = xmlAddChild(os, n);
        what = g_strdup_printf("add <%s>%s</%s> to /domain/os", names[i], values[i], names[i]);
        convert_explain(explain, "--boot-dir", dir, "%s", what);
    }
}

/* The image format of a readable local file or device from its first
 * bytes: qcow2, vpc (VHD) or raw; NULL when it cannot be read. */
static const char *
probe_format(const char *path)
{
    char head[8] = {0};
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

    if (fd < 0)
        return NULL;
    n = pread(fd, head, sizeof(head), 0);
    close(fd);
    if (n < 0)
        return NULL;
    if (n >= 4 && memcmp(head, "QFI\xfb", 4) == 0)
        return "qcow2";
    if (n >= 8 && memcmp(head, "conectix", 8) == 0)
        return "vpc";
    return "raw";
}

/* Set each disk's <driver type> from the real format of its image, when
 * the image is readable here; a note names every disk whose configured
 * format was wrong. */
static void
probe_formats(xmlDoc *doc, const char *name, GPtrArray *notes, GPtrArray *explain)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlNode *devs = convert_first_child(root, "devices");

    for (xmlNode *c = devs != NULL ? devs->children : NULL; c != NULL; c = c->next) {
        g_autofree char *device = NULL;
        g_autofree char *source = NULL;
        g_autofree char *old = NULL;
        g_autofree char *dev = NULL;
        const char *real;
        xmlNode *driver;

        if (!convert_is_el(c, "disk"))
            continue;
        device = convert_prop(c, "device");
        if (device != NULL && strcmp(device, "disk") != 0)
            continue;
        source = disk_source(c);
        if (source == NULL || source[0] != '/' || (real = probe_format(source)) == NULL)
            continue;
        driver = convert_first_child(c, "driver");
        if (driver == NULL)
            continue;
        old = convert_prop(driver, "type");
        if (g_strcmp0(old, real) == 0)
            continue;
        dev = convert_prop(convert_first_child(c, "target"), "dev");
        xmlSetProp(driver, (const xmlChar *)"type", (const xmlChar *)real);
        convert_explain(explain, "(format probe)", source,
                        "set the driver type of disk %s to '%s' (the image is %s, not %s)",
                        dev != NULL ? dev : "?", real, real, old != NULL ? old : "untyped");
        if (notes != NULL)
            g_ptr_array_add(notes, g_strdup_printf("%s: note: disk '%s' (%s) is a %s image, not %s as configured; driver type set to %s",
                                                   name, dev != NULL ? dev : "?", source, real,
                                                   old != NULL ? old : "untyped", real));
    }
}

/* Insert ISO images into CD-ROM drives (by their converted target dev). */
static bool
map_cdroms(xmlDoc *doc, const struct convert_cdmap *maps, size_t n_maps,
           GPtrArray *explain, GError **error)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlNode *devs = convert_first_child(root, "devices");

    for (size_t i = 0; i < n_maps; i++) {
        xmlNode *drive = NULL;

        for (xmlNode *c = devs != NULL ? devs->children : NULL; c != NULL && drive == NULL;
             c = c->next) {
            g_autofree char *device = NULL;
            g_autofree char *dev = NULL;

            if (!convert_is_el(c, "disk"))
                continue;
            device = convert_prop(c, "device");
            dev = convert_prop(convert_first_child(c, "target"), "dev");
            if (g_strcmp0(device, "cdrom") == 0 && g_strcmp0(dev, maps[i].dev) == 0)
                drive = c;
        }
        if (drive == NULL) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONVERT,
                        "no CD-ROM drive '%s' to insert '%s' into (CD-ROM names are the converted ones, e.g. sdc)",
                        maps[i].dev, maps[i].iso);
            return false;
        }
        for (xmlNode *old = convert_first_child(drive, "source"); old != NULL;
             old = convert_first_child(drive, "source")) {
            xmlUnlinkNode(old);
            xmlFreeNode(old);
        }
        xmlSetProp(drive, (const xmlChar *)"type", (const xmlChar *)"file");
        xmlNode *src = xmlNewDocNode(doc, NULL, (const xmlChar *)"source", NULL);
        xmlSetProp(src, (const xmlChar *)"file", (const xmlChar *)maps[i].iso);
        xmlNode *driver = convert_first_child(drive, "driver");
        if (driver != NULL)
            xmlAddNextSibling(driver, src);
        else if (drive->children != NULL)
            xmlAddPrevSibling(drive->children, src);
        else
            xmlAddChild(drive, src);
        {
            g_autofree char *id = g_strdup_printf("%s=%s", maps[i].dev, maps[i].iso);
            convert_explain(explain, "--cdrom", id, "insert %s into CD-ROM drive %s",
                            maps[i].iso, maps[i].dev);
        }
    }
    return true;
}

bool
convert_domain(xmlDoc *doc, const struct convert_request *req, GPtrArray *explain,
               GPtrArray *notes, GError **error)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    const char *name = req->input_name != NULL ? req->input_name : "domain XML";
    g_autofree char *type = NULL;

    if (!convert_is_el(root, "domain")) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID,
                    "%s: error: not a libvirt domain: the root element is <%s>, expected <domain>",
                    name, root != NULL ? (const char *)root->name : "");
        return false;
    }
    type = convert_prop(root, "type");
    if (type == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID,
                    "%s: error: the domain has no type attribute; expected <domain type='xen'>",
                    name);
        return false;
    }
    if (strcmp(type, "kvm") == 0 || strcmp(type, "qemu") == 0) {
        if (notes != NULL)
            g_ptr_array_add(notes,
                            g_strdup_printf("%s: note: the domain is already of type '%s'; nothing to convert",
                                            name, type));
        return true;
    }
    if (!check_disks(convert_first_child(root, "devices"), name, error))
        return false;
    g_autofree char *kernel = os_text(root, "kernel");
    g_autofree char *initrd = os_text(root, "initrd");
    g_autofree char *cmdline = os_text(root, "cmdline");
    g_autoptr(GHashTable) devs_before = disk_devs(convert_first_child(root, "devices"));
    {
        xmlNode *bl = convert_first_child(root, "bootloader");
        xmlChar *t = bl != NULL ? xmlNodeGetContent(bl) : NULL;
        /* A network-booted PV guest: KVM has no pypxeboot; the rules
         * make it boot from its disk, which is not what it did on Xen. */
        if (t != NULL && strstr((const char *)t, "pypxeboot") != NULL && notes != NULL)
            g_ptr_array_add(notes, g_strdup_printf("%s: warning: the guest network-boots with pypxeboot on Xen; the KVM domain boots from its disk (add <boot dev='network'/> with a domain rule if it must PXE boot)",
                                                   name));
        xmlFree(t);
    }
    g_autoptr(GPtrArray) warned = g_ptr_array_new_with_free_func(g_free);
    if (!convert_apply_rules_warn(doc, req->sets, req->n_sets, explain, req->count_changes,
                                  warned, error))
        return false;
    /* What a rule keeps or drops with a reason (warn:) is a warning. */
    for (guint i = 0; notes != NULL && i < warned->len; i++)
        g_ptr_array_add(notes, g_strdup_printf("%s: warning: %s", name,
                                               (const char *)warned->pdata[i]));
    /* What options and mappings change is listed (convert --explain), not
     * counted among the rules' changes (the plan's count). */
    GPtrArray *listed = req->count_changes ? NULL : explain;
    whole_disk_names(convert_first_child(xmlDocGetRootElement(doc), "devices"), devs_before,
                     name, notes, listed);
    if (!check_unique_devs(convert_first_child(xmlDocGetRootElement(doc), "devices"),
                           devs_before, name, error))
        return false;
    sort_disks(convert_first_child(xmlDocGetRootElement(doc), "devices"));
    if (req->probe_formats)
        probe_formats(doc, name, notes, listed);
    if (kernel != NULL) {
        g_autofree char *left = os_text(xmlDocGetRootElement(doc), "kernel");
        if (left == NULL && req->boot_dir != NULL)
            keep_direct_kernel(doc, req->boot_dir, kernel, initrd, cmdline, explain);
        else if (left == NULL && notes != NULL)
            g_ptr_array_add(notes, g_strdup_printf("%s: warning: /domain/os/kernel: the direct-boot kernel %s is a file on the Xen host; the KVM guest boots from its disk (give --boot-dir, or boot_dir: in the manifest, to keep it)",
                                                   name, kernel));
    }
    if (req->n_cdmaps > 0 && !map_cdroms(doc, req->cdmaps, req->n_cdmaps, listed, error))
        return false;
    if (req->map_networks &&
        !convert_map_networks(doc, req->netmaps, req->n_netmaps, req->xen_networks,
                              listed, error))
        return false;
    if (req->n_poolmaps > 0 &&
        !convert_map_pools(doc, req->poolmaps, req->n_poolmaps, listed, error))
        return false;
    return true;
}
