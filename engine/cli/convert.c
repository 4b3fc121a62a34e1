/* convoy convert: one Xen domain (libvirt XML, xl.cfg, ova.xml or an .xva's
 * ova.xml) to KVM domain XML on standard output, through the same
 * convert_domain() that plan and apply use. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "cli/cli.h"
#include "convert/convert.h"
#include "sources/sources.h"
#include "util/autoptr.h"
#include "util/error.h"
#include "util/json.h"
#include "util/rulefile.h"
#include "xva/xva.h"

/* What the input turned out to be. */
enum input_kind {
    INPUT_KIND_DOMAIN_XML,
    INPUT_KIND_OVA_XML,
    INPUT_KIND_XVA,
    INPUT_KIND_XL_CFG,
    INPUT_KIND_LAST,
};

static const char *
input_kind_name(enum input_kind k)
{
    switch (k) {
    case INPUT_KIND_DOMAIN_XML:
        return "libvirt domain XML";
    case INPUT_KIND_OVA_XML:
        return "XenServer ova.xml";
    case INPUT_KIND_XVA:
        return "XVA";
    case INPUT_KIND_XL_CFG:
        return "xl.cfg";
    case INPUT_KIND_LAST:
    default:
        return "?";
    }
}

/* A 512-byte tar header whose checksum is right (XenServer writes v7 tar
 * headers without the "ustar" magic), or a gzip/zstd stream (compressed
 * exports). */
static bool
looks_like_xva(const char *data, size_t len)
{
    const unsigned char *h = (const unsigned char *)data;
    guint64 want = 0;
    guint64 sum = 0;
    char field[9];

    if (len >= 2 && h[0] == 0x1f && h[1] == 0x8b)
        return true;
    if (len >= 4 && memcmp(h, "\x28\xb5\x2f\xfd", 4) == 0)
        return true;
    if (len < 512)
        return false;
    memcpy(field, data + 148, 8);
    field[8] = '\0';
    g_strstrip(g_strdelimit(field, "\x00", ' '));
    if (field[0] == '\0' || !g_ascii_string_to_unsigned(field, 8, 0, G_MAXUINT32, &want, NULL))
        return false;
    for (size_t i = 0; i < 512; i++)
        sum += i >= 148 && i < 156 ? ' ' : h[i];
    return sum == want;
}

/* By content: a tar header is an XVA, a document whose
 * first non-blank byte is '<' is XML (ova.xml when its root is <value>),
 * anything else is read as xl.cfg. */
static enum input_kind
detect(const char *data, size_t len)
{
    size_t i = 0;

    if (looks_like_xva(data, len))
        return INPUT_KIND_XVA;
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    while (i < len && g_ascii_isspace(data[i]))
        i++;
    if (i < len && data[i] == '<') {
        const char *p = data + i;
        size_t left = len - i;
        /* skip an XML declaration and comments to the root's name */
        while (left > 1 && (p[1] == '?' || p[1] == '!')) {
            const char *gt = memchr(p, '>', left);
            if (gt == NULL)
                break;
            left -= (size_t)(gt + 1 - p);
            p = gt + 1;
            while (left > 0 && g_ascii_isspace(*p)) {
                p++;
                left--;
            }
        }
        if (left >= 7 && memcmp(p, "<value>", 7) == 0)
            return INPUT_KIND_OVA_XML;
        return INPUT_KIND_DOMAIN_XML;
    }
    return INPUT_KIND_XL_CFG;
}

/* True when the file starts like an XVA. */
static bool
is_tar(const char *path)
{
    char head[512];
    size_t n;
    FILE *f = fopen(path, "rb");

    if (f == NULL)
        return false;
    n = fread(head, 1, sizeof(head), f);
    fclose(f);
    return looks_like_xva(head, n);
}

/* lower-case MAC → Xen network name of every VIF of an XVA's VM. */
static GHashTable *
ova_networks(const struct xva_meta *meta)
{
    GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

    for (guint i = 0; i < meta->vm.vifs->len; i++) {
        const struct xva_vif *f = meta->vm.vifs->pdata[i];
        if (f->mac != NULL && f->network_name != NULL)
            g_hash_table_insert(h, g_ascii_strdown(f->mac, -1), g_strdup(f->network_name));
    }
    return h;
}

/* VDI ref → the name_label of its SR, for every VDI of an XVA that has one. */
static GHashTable *
ova_vdi_srs(const struct xva_meta *meta)
{
    GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

    for (guint i = 0; i < meta->vm.vbds->len; i++) {
        const struct xva_vbd *b = meta->vm.vbds->pdata[i];
        if (b->vdi != NULL && b->vdi->ref != NULL && b->vdi->sr_name != NULL)
            g_hash_table_insert(h, g_strdup(b->vdi->ref), g_strdup(b->vdi->sr_name));
    }
    return h;
}

/* An XVA's facts that convert needs besides its domain: the VM's name and
 * each VDI's SR name. */
struct ova_facts {
    char *name;               /* name_label */
    GHashTable *vdi_srs;      /* VDI ref → SR name_label */
};

static void
ova_facts_clear(struct ova_facts *f)
{
    g_clear_pointer(&f->name, g_free);
    g_clear_pointer(&f->vdi_srs, g_hash_table_unref);
}
typedef struct ova_facts ova_facts; /* for g_auto() only */
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ova_facts, ova_facts_clear)

static xmlDoc *
from_ova(const struct xva_meta *meta, GHashTable **xen_networks,
         struct ova_facts *facts, GError **error)
{
    *xen_networks = ova_networks(meta);
    facts->name = g_strdup(meta->vm.name_label);
    facts->vdi_srs = ova_vdi_srs(meta);
    return convert_domain_from_ova(meta, error);
}

/* The disks of an XVA exist only inside its stream: point each one at the
 * image 'convoy xva extract -o DIR' writes for it, DIR/NAME-DEV.raw (or
 * .qcow2 when only that exists), DEV its Xen device.  A --pool whose FROM
 * is the name of a disk's SR maps that disk (added to poolmaps, paths kept
 * in owned). */
static void
place_xva_disks(xmlDoc *doc, const char *disk_dir, const struct ova_facts *facts,
                GArray *poolmaps, GPtrArray *owned)
{
    g_autoptr(GPtrArray) disks = convert_list_disks(doc);
    g_autofree char *dir = g_canonicalize_filename(disk_dir != NULL ? disk_dir : ".", NULL);
    g_autofree char *name = g_strdup(facts->name != NULL ? facts->name : "vm");
    guint n_maps = poolmaps->len;

    g_strdelimit(name, "/", '_');
    for (guint k = 0; k < disks->len; k++) {
        const struct convert_disk *d = disks->pdata[k];
        const char *sr;
        const char *fmt = "raw";
        char *path;

        if (d->source == NULL || !g_str_has_prefix(d->source, CONVERT_XVA_VDI_PREFIX))
            continue;
        sr = g_hash_table_lookup(facts->vdi_srs, d->source + strlen(CONVERT_XVA_VDI_PREFIX));
        path = g_strdup_printf("%s/%s-%s.raw", dir, name, d->dev);
        if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
            char *qcow2 = g_strdup_printf("%s/%s-%s.qcow2", dir, name, d->dev);
            if (g_file_test(qcow2, G_FILE_TEST_EXISTS)) {
                g_free(path);
                path = qcow2;
                fmt = "qcow2";
            } else {
                g_free(qcow2);
            }
        }
        convert_set_disk_file(doc, d->dev, path, fmt, NULL);
        g_ptr_array_add(owned, path);
        for (guint i = 0; sr != NULL && i < n_maps; i++) {
            const struct convert_poolmap *m = &g_array_index(poolmaps, struct convert_poolmap, i);
            if (strcmp(m->from, sr) == 0) {
                struct convert_poolmap add = {.from = path, .to = m->to};
                g_array_prepend_val(poolmaps, add);
                n_maps++;
                break;
            }
        }
    }
}

/* Read FILE ("-" for standard input) and turn it into a Xen domain doc. */
static xmlDoc *
load_input(const char *path, enum input_kind *kind, GPtrArray *warnings,
           GHashTable **xen_networks, struct ova_facts *facts, GError **error)
{
    g_autofree char *data = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(xva_meta) meta = NULL;
    gsize len = 0;

    if (strcmp(path, "-") != 0 && is_tar(path)) {
        /* an XVA may be many GiB: the reader stops after ova.xml */
        g_autoptr(xva_reader) r = xva_reader_open(path, error);
        if (r == NULL)
            return NULL;
        *kind = INPUT_KIND_XVA;
        return from_ova(xva_reader_meta(r), xen_networks, facts, error);
    }
    if (strcmp(path, "-") == 0) {
        g_autoptr(GIOChannel) ch = g_io_channel_unix_new(0);
        g_io_channel_set_encoding(ch, NULL, NULL);
        if (g_io_channel_read_to_end(ch, &data, &len, &err) != G_IO_STATUS_NORMAL) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO, "cannot read standard input: %s",
                        err->message);
            return NULL;
        }
    } else if (!g_file_get_contents(path, &data, &len, &err)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO, "cannot read '%s': %s", path,
                    err->message);
        return NULL;
    }
    if (len > CONVERT_XML_MAX_BYTES && detect(data, len) != INPUT_KIND_XVA) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID,
                    "%s: error: input of %zu bytes is larger than the limit of %u bytes", path,
                    (size_t)len, CONVERT_XML_MAX_BYTES);
        return NULL;
    }
    *kind = detect(data, len);
    switch (*kind) {
    case INPUT_KIND_XVA: {
        g_autoptr(xva_reader) r = xva_reader_open_memory(data, len, 0, error);
        if (r == NULL)
            return NULL;
        return from_ova(xva_reader_meta(r), xen_networks, facts, error);
    }
    case INPUT_KIND_OVA_XML:
        meta = xva_meta_parse(data, len, error);
        if (meta == NULL)
            return NULL;
        return from_ova(meta, xen_networks, facts, error);
    case INPUT_KIND_XL_CFG:
        return xl_cfg_parse(path, data, len, warnings, error);
    case INPUT_KIND_DOMAIN_XML:
    case INPUT_KIND_LAST:
    default:
        return convert_xml_parse_input(data, len, path, error);
    }
}

static bool
load_rules(char **names, GPtrArray *sets, GError **error)
{
    static char *dflt[] = {(char *)"xen-to-kvm", NULL};
    /* no manifest: $CONVOY_RULESDIR/domain, the installed and the source
     * tree's rules */
    g_auto(GStrv) dirs = rulefile_search_path(NULL, "domain");

    for (char **n = names != NULL ? names : dflt; *n != NULL; n++) {
        struct rule_set *rs;

        if (strchr(*n, '/') != NULL || g_str_has_suffix(*n, ".yaml") ||
            g_str_has_suffix(*n, ".yml"))
            rs = rule_set_load_file(*n, error);
        else
            rs = rule_set_load_named(*n, (const char *const *)dirs, error);
        if (rs == NULL)
            return false;
        g_ptr_array_add(sets, rs);
    }
    return true;
}

/* --network FROM=TO.  FROM: bridge:NAME, network:NAME, mac:MAC, a bare
 * NAME (a bridge), or * / any (catch-all).  TO: network:NAME,
 * bridge:NAME, or a bare NAME (a libvirt network). */
static bool
parse_netmap(char *spec, struct convert_netmap *m)
{
    char *eq = strrchr(spec, '=');
    char *from = spec;
    char *to;

    if (eq == NULL || eq == spec || eq[1] == '\0')
        return false;
    *eq = '\0';
    to = eq + 1;
    if (strcmp(from, "*") == 0 || strcmp(from, "any") == 0) {
        m->from = CONVERT_NET_FROM_ANY;
        m->from_value = NULL;
    } else if (g_str_has_prefix(from, "bridge:")) {
        m->from = CONVERT_NET_FROM_BRIDGE;
        m->from_value = from + strlen("bridge:");
    } else if (g_str_has_prefix(from, "network:")) {
        m->from = CONVERT_NET_FROM_NETWORK;
        m->from_value = from + strlen("network:");
    } else if (g_str_has_prefix(from, "mac:")) {
        m->from = CONVERT_NET_FROM_MAC;
        m->from_value = from + strlen("mac:");
    } else {
        m->from = CONVERT_NET_FROM_BRIDGE;
        m->from_value = from;
    }
    if (m->from_value != NULL && strcmp(m->from_value, "*") == 0)
        m->from_value = NULL;
    if (g_str_has_prefix(to, "bridge:")) {
        m->to = CONVERT_NET_TO_BRIDGE;
        m->to_value = to + strlen("bridge:");
    } else if (g_str_has_prefix(to, "network:")) {
        m->to = CONVERT_NET_TO_NETWORK;
        m->to_value = to + strlen("network:");
    } else {
        m->to = CONVERT_NET_TO_NETWORK;
        m->to_value = to;
    }
    return m->to_value[0] != '\0';
}

static void
print_json(const char *xml, const char *kind, const GPtrArray *changes,
           const GPtrArray *notes)
{
    struct json j;
    g_autofree char *s = NULL;

    json_init(&j, true);
    json_begin_object(&j);
    json_kv_string(&j, "input", kind);
    json_kv_string(&j, "xml", xml);
    json_key(&j, "changes");
    json_begin_array(&j);
    for (guint i = 0; i < changes->len; i++) {
        const struct convert_change *c = changes->pdata[i];
        json_begin_object(&j);
        json_kv_string(&j, "file", c->rule_file);
        json_kv_uint(&j, "line", c->line);
        json_kv_string(&j, "rule", c->rule_id);
        json_kv_string(&j, "change", c->what);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_key(&j, "messages");
    json_begin_array(&j);
    for (guint i = 0; i < notes->len; i++)
        json_string(&j, notes->pdata[i]);
    json_end_array(&j);
    json_end_object(&j);
    s = json_steal(&j);
    json_release(&j);
    printf("%s\n", s);
}

int
cmd_convert(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("FILE");
    g_auto(GStrv) opt_rules = NULL;
    g_auto(GStrv) opt_networks = NULL;
    g_auto(GStrv) opt_pools = NULL;
    g_auto(GStrv) opt_cdroms = NULL;
    g_autofree char *opt_format = NULL;
    g_autofree char *opt_boot_dir = NULL;
    g_autofree char *opt_disk_dir = NULL;
    gboolean opt_explain = FALSE;
    GOptionEntry entries[] = {
        {"rules", 'r', 0, G_OPTION_ARG_STRING_ARRAY, &opt_rules, "Domain rule set by name or file, in order (default: xen-to-kvm)", "NAME|FILE"},
        {"network", 'n', 0, G_OPTION_ARG_STRING_ARRAY, &opt_networks, "Map a NIC: [bridge:|network:|mac:]FROM=[network:|bridge:]TO, FROM * for any", "FROM=TO"},
        {"pool", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &opt_pools, "Put disks whose path is or lies under FROM (* for any; for ova.xml/.xva input also the name of a disk's SR) in storage pool TO", "FROM=TO"},
        {"cdrom", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_cdroms, "Insert ISO into the converted CD-ROM drive DEV (e.g. sdc)", "DEV=ISO"},
        {"disk-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_disk_dir, "ova.xml/.xva input: the disks are DIR/NAME-DEV.raw (or .qcow2), as 'convoy xva extract -o DIR' writes them (default: .)", "DIR"},
        {"boot-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_boot_dir, "Keep a PV direct-kernel boot: the kernel and initrd are in DIR on the KVM host", "DIR"},
        {"explain", 'e', 0, G_OPTION_ARG_NONE, &opt_explain, "List each change and the rule (file:line) that made it, on standard error", NULL},
        {"format", 'f', 0, G_OPTION_ARG_STRING, &opt_format, "Output xml (default) or json", "xml|json"},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GPtrArray) sets = g_ptr_array_new_with_free_func((GDestroyNotify)rule_set_free);
    g_autoptr(GArray) netmaps = g_array_new(FALSE, TRUE, sizeof(struct convert_netmap));
    g_autoptr(GArray) poolmaps = g_array_new(FALSE, TRUE, sizeof(struct convert_poolmap));
    g_autoptr(GArray) cdmaps = g_array_new(FALSE, TRUE, sizeof(struct convert_cdmap));
    g_autoptr(GPtrArray) changes =
        g_ptr_array_new_with_free_func((GDestroyNotify)convert_change_free);
    g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) xen_networks = NULL;
    g_auto(ova_facts) facts = {NULL, NULL};
    g_autoptr(GPtrArray) disk_paths = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) err = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    g_autofree char *xml = NULL;
    struct convert_request req = {0};
    enum input_kind kind = INPUT_KIND_LAST;
    bool json = false;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(ctx, "Convert one Xen domain (libvirt XML, xl.cfg, ova.xml or .xva) to KVM domain XML.\nFILE may be - for standard input.\nExit 0: converted, 1: conversion failed, 3: invalid input or rules, 64: usage.");
    if (!cli_parse(ctx, &argc, &argv, "convert"))
        return CONVOY_EXIT_USAGE;
    if (argc != 2)
        return cli_usage("convert", "expected exactly one FILE");
    if (opt_disk_dir != NULL && !g_file_test(opt_disk_dir, G_FILE_TEST_IS_DIR))
        return cli_usage("convert", "'--disk-dir': '%s' is not a directory", opt_disk_dir);
    if (opt_format != NULL && strcmp(opt_format, "json") == 0)
        json = true;
    else if (opt_format != NULL && strcmp(opt_format, "xml") != 0)
        return cli_usage("convert", "'--format': expected xml or json, got '%s'", opt_format);
    for (char **n = opt_networks; n != NULL && *n != NULL; n++) {
        struct convert_netmap m = {0};
        if (!parse_netmap(*n, &m))
            return cli_usage("convert", "'--network': expected FROM=TO, got '%s'", *n);
        g_array_append_val(netmaps, m);
    }
    for (char **p = opt_pools; p != NULL && *p != NULL; p++) {
        char *eq = strrchr(*p, '=');
        struct convert_poolmap m;
        if (eq == NULL || eq == *p || eq[1] == '\0')
            return cli_usage("convert", "'--pool': expected FROM=POOL, got '%s'", *p);
        *eq = '\0';
        m.from = *p;
        m.to = eq + 1;
        g_array_append_val(poolmaps, m);
    }
    for (char **p = opt_cdroms; p != NULL && *p != NULL; p++) {
        char *eq = strchr(*p, '=');
        struct convert_cdmap m;
        if (eq == NULL || eq == *p || eq[1] == '\0')
            return cli_usage("convert", "'--cdrom': expected DEV=ISO, got '%s'", *p);
        *eq = '\0';
        m.dev = *p;
        m.iso = eq + 1;
        g_array_append_val(cdmaps, m);
    }

    if (!load_rules(opt_rules, sets, &err))
        return cli_report(err);
    doc = load_input(argv[1], &kind, notes, &xen_networks, &facts, &err);
    for (guint i = 0; !json && i < notes->len; i++)
        fprintf(stderr, "%s\n", (const char *)notes->pdata[i]);
    if (doc == NULL) {
        int status = cli_report(err);
        /* a broken ova.xml or XVA is invalid input too */
        if (err->domain == CONVOY_ERROR &&
            (err->code == CONVOY_ERROR_FORMAT || err->code == CONVOY_ERROR_XML))
            status = CONVOY_EXIT_INVALID;
        return status;
    }
    if (facts.vdi_srs != NULL)
        place_xva_disks(doc, opt_disk_dir, &facts, poolmaps, disk_paths);
    req.sets = (struct rule_set *const *)sets->pdata;
    req.n_sets = sets->len;
    req.map_networks = netmaps->len > 0;
    req.netmaps = (const struct convert_netmap *)(void *)netmaps->data;
    req.n_netmaps = netmaps->len;
    req.xen_networks = xen_networks;
    req.poolmaps = (const struct convert_poolmap *)(void *)poolmaps->data;
    req.n_poolmaps = poolmaps->len;
    req.input_name = argv[1];
    req.boot_dir = opt_boot_dir;
    req.probe_formats = true;
    req.cdmaps = (const struct convert_cdmap *)(void *)cdmaps->data;
    req.n_cdmaps = cdmaps->len;
    guint before = notes->len;
    if (!convert_domain(doc, &req, changes, notes, &err))
        return cli_report(err);
    for (guint i = before; !json && i < notes->len; i++)
        fprintf(stderr, "%s\n", (const char *)notes->pdata[i]);
    if (opt_explain && !json) {
        for (guint i = 0; i < changes->len; i++) {
            const struct convert_change *c = changes->pdata[i];
            if (c->line > 0)
                fprintf(stderr, "%s:%u: %s: %s\n", c->rule_file, c->line, c->rule_id, c->what);
            else    /* an option or the format probe, not a rule */
                fprintf(stderr, "%s %s: %s\n", c->rule_file, c->rule_id, c->what);
        }
    }
    xml = convert_xml_format(doc);
    if (json)
        print_json(xml, input_kind_name(kind), changes, notes);
    else
        fputs(xml, stdout);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "convoy: error: cannot write the output\n");
        return CONVOY_EXIT_FAILURE;
    }
    return CONVOY_EXIT_OK;
}
