/* Unit tests of engine/convert: safe XML parsing and canonical output,
 * rule application with explain records, network mapping precedence, disk
 * placement and listing, the ova.xml → Xen domain builder. */
#include "config.h"

#undef NDEBUG
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert.h"
#include "util/autoptr.h"
#include "util/error.h"

static int failures;

static void
expect_str(const char *what, const char *got, const char *want)
{
    if (g_strcmp0(got, want) != 0) {
        fprintf(stderr, "FAIL %s:\n  got:  %s\n  want: %s\n", what, got != NULL ? got : "(null)",
                want != NULL ? want : "(null)");
        failures++;
    }
}

static char *
roundtrip(const char *xml, GError **error)
{
    g_autoptr(xmlDoc) doc = convert_xml_parse(xml, strlen(xml), "t.xml", error);

    return doc != NULL ? convert_xml_format(doc) : NULL;
}

/* ------------------------------------------------------------------ */

static const struct {
    const char *in;
    const char *out; /* NULL: error expected */
    const char *err;
} xml_cases[] = {
    {"<?xml version='1.0'?>\n<!-- c -->\n<a  x=\"1\"   y='a&apos;b'><b/>\n <c>t &amp; &lt;</c></a>",
     "<a x='1' y='a&apos;b'>\n  <b/>\n  <c>t &amp; &lt;</c>\n</a>\n", NULL},
    {"<a><p>mixed <b>bold</b> text</p></a>", "<a>\n  <p>mixed <b>bold</b> text</p>\n</a>\n", NULL},
    {"<a v='l1&#10;l2'/>", "<a v='l1&#10;l2'/>\n", NULL},
    {"<d xmlns:q='urn:q'><q:x q:y='1'/></d>", "<d xmlns:q='urn:q'>\n  <q:x q:y='1'/>\n</d>\n",
     NULL},
    {"<a>\n<b></a>", NULL, "xml: t.xml:2: Opening and ending tag mismatch: b line 2 and a"},
    {"<!DOCTYPE a [<!ENTITY e 'boom'>]><a>&e;</a>", NULL,
     "xml: t.xml: DOCTYPE declarations are not allowed"},
    {"<!DOCTYPE a SYSTEM 'http://example.invalid/a.dtd'><a/>", NULL,
     "xml: t.xml: DOCTYPE declarations are not allowed"},
    {"", NULL, "xml: t.xml: not an XML document"},
    {NULL, NULL, NULL},
};

static void
test_xml(void)
{
    for (size_t i = 0; xml_cases[i].in != NULL; i++) {
        g_autoptr(GError) err = NULL;
        g_autofree char *out = roundtrip(xml_cases[i].in, &err);

        if (xml_cases[i].out != NULL) {
            expect_str(xml_cases[i].in, out, xml_cases[i].out);
            if (out != NULL) {
                g_autofree char *again = roundtrip(out, NULL);
                expect_str("canonical output is stable", again, out);
            }
        } else {
            expect_str(xml_cases[i].in, err != NULL ? err->message : out, xml_cases[i].err);
            assert(err == NULL || err->code == CONVOY_ERROR_XML);
        }
    }
}

/* ------------------------------------------------------------------ */

static const char rules_yaml[] =
    "name: t\n"
    "version: 3\n"
    "facts:\n"
    "  xen: \"/domain/@type = 'xen'\"\n"
    "  first: /domain/devices/disk/target/@dev\n"
    "rules:\n"
    "  - id: type\n"
    "    select: /domain[@type='xen']\n"
    "    set-attr: {type: kvm}\n"
    "  - id: still-xen\n"
    "    when: $xen and $first = 'xvda'\n"
    "    select: /domain/devices\n"
    "    add: \"<memballoon model='virtio'/><!-- x -->\"\n"
    "  - id: nested\n"
    "    select: /domain/devices/disk | /domain/devices/disk/target | /domain/devices/disk/target/@dev\n"
    "    remove: true\n"
    "  - id: text\n"
    "    select: /domain/name/text() | /domain/os/type/@arch\n"
    "    set-text: 'a<b'\n"
    "  - id: ren\n"
    "    select: /domain/os\n"
    "    rename: os2\n"
    "    remove-attr: [x, y]\n"
    "    add: \"<first/>\"\n"
    "    position: first\n";

static const char *const rules_want_changes[] = {
    "t.yaml:7: type: set /domain/@type to 'kvm' (was 'xen')",
    "t.yaml:10: still-xen: add <memballoon model='virtio'/><!-- x --> to /domain/devices",
    "t.yaml:14: nested: remove /domain/devices/disk[1]",
    "t.yaml:14: nested: remove /domain/devices/disk[2]",
    "t.yaml:17: text: set /domain/name/text() to 'a<b' (was 'n')",
    "t.yaml:17: text: set /domain/os/type/@arch to 'a<b' (was 'x86_64')",
    "t.yaml:20: ren: rename /domain/os to 'os2'",
    "t.yaml:20: ren: remove /domain/os/@x (was '1')",
    "t.yaml:20: ren: add <first/> to /domain/os (first)",
    NULL,
};

static void
test_apply(void)
{
    const char *in =
        "<domain type='xen'><name>n</name><os x='1'><type arch='x86_64'>hvm</type></os>"
        "<devices><disk><target dev='xvda'/></disk><disk><target dev='xvdb'/></disk>"
        "</devices></domain>";
    const char *want =
        "<domain type='kvm'>\n  <name>a&lt;b</name>\n  <os2>\n    <first/>\n"
        "    <type arch='a&lt;b'>hvm</type>\n  </os2>\n  <devices>\n"
        "    <memballoon model='virtio'/>\n    <!-- x -->\n  </devices>\n</domain>\n";
    g_autoptr(GError) err = NULL;
    g_autoptr(rule_set) rs = rule_set_load_data("t.yaml", rules_yaml, strlen(rules_yaml), &err);
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(GPtrArray) explain =
        g_ptr_array_new_with_free_func((GDestroyNotify)convert_change_free);
    g_autofree char *out = NULL;
    size_t i;

    if (rs == NULL) {
        fprintf(stderr, "FAIL rules load: %s\n", err->message);
        failures++;
        return;
    }
    expect_str("name", rule_set_name(rs), "t");
    assert(rule_set_version(rs) == 3);
    expect_str("path", rule_set_path(rs), "t.yaml");
    {
        g_autofree char *d = g_compute_checksum_for_string(G_CHECKSUM_SHA256, rules_yaml, -1);
        expect_str("digest", rule_set_digest(rs), d);
    }
    doc = convert_xml_parse(in, strlen(in), "in", &err);
    assert(doc != NULL);
    struct rule_set *sets[] = {rs};
    if (!convert_apply_rules(doc, sets, 1, explain, &err)) {
        fprintf(stderr, "FAIL apply: %s\n", err->message);
        failures++;
        return;
    }
    out = convert_xml_format(doc);
    expect_str("apply result", out, want);
    for (i = 0; i < explain->len; i++) {
        const struct convert_change *c = explain->pdata[i];
        g_autofree char *line =
            g_strdup_printf("%s:%u: %s: %s", c->rule_file, c->line, c->rule_id, c->what);
        expect_str("change", line, rules_want_changes[i]);
        if (rules_want_changes[i] == NULL)
            break;
    }
    expect_str("change count", i == explain->len ? NULL : "short", rules_want_changes[i]);

    /* an attribute with an element-only operation is an apply error */
    static const char bad[] = "name: b\nversion: 1\nrules:\n  - id: x\n"
                              "    select: /domain/@type\n    set-attr: {a: b}\n";
    g_autoptr(rule_set) rb = rule_set_load_data("b.yaml", bad, strlen(bad), NULL);
    assert(rb != NULL);
    struct rule_set *bsets[] = {rb};
    g_clear_error(&err);
    assert(!convert_apply_rules(doc, bsets, 1, NULL, &err));
    expect_str(
        "apply error", err->message,
        "b.yaml:4: rule 'x': its operations need elements, but 'select' chose an attribute (/domain/@type)");
    assert(err->code == CONVOY_ERROR_CONVERT);
}

static void
test_load_named(void)
{
    g_autoptr(GError) err = NULL;
    const char *dirs[] = {"/nonexistent-a", ABS_TOP_SRCDIR "/rules/domain", NULL};
    g_autoptr(rule_set) rs = rule_set_load_named("xen-to-kvm", dirs, &err);
    g_autoptr(rule_set) none = NULL;

    if (rs == NULL) {
        fprintf(stderr, "FAIL load_named: %s\n", err->message);
        failures++;
    }
    none = rule_set_load_named("nope", dirs, &err);
    assert(none == NULL && err->code == CONVOY_ERROR_NOT_FOUND);
    g_autofree char *want =
        g_strdup_printf("rule set 'nope' not found (looked in '/nonexistent-a', '%s/rules/domain')",
                        ABS_TOP_SRCDIR);
    expect_str("load_named not found", err->message, want);
}

/* ------------------------------------------------------------------ */

static const char net_xml[] =
    "<domain type='kvm'><devices>"
    "<interface type='bridge'><mac address='00:16:3E:00:00:01'/><source bridge='xenbr0'/>"
    "<script path='vif-bridge'/><target dev='vif1.0'/><ip address='10.0.0.1'/></interface>"
    "<interface type='bridge'><mac address='00:16:3e:00:00:02'/><source bridge='xenbr1'/></interface>"
    "<interface type='network'><source network='lan'/><mac address='00:16:3e:00:00:03'/></interface>"
    "</devices></domain>";

static const struct {
    const char *name;
    struct convert_netmap maps[6];
    size_t n;
    bool xen;         /* NIC 2 is on Xen network 'VLAN 20' */
    const char *want; /* "type:source" per NIC, or the error */
} net_cases[] = {
    {"bridge and network by name",
     {{CONVERT_NET_FROM_BRIDGE, "xenbr0", CONVERT_NET_TO_NETWORK, "default"},
      {CONVERT_NET_FROM_BRIDGE, "xenbr1", CONVERT_NET_TO_BRIDGE, "br1"},
      {CONVERT_NET_FROM_NETWORK, "lan", CONVERT_NET_TO_NETWORK, "lan2"}},
     3,
     false,
     "network:default bridge:br1 network:lan2"},
    {"mac beats network beats bridge beats any, whatever the order",
     {{CONVERT_NET_FROM_ANY, NULL, CONVERT_NET_TO_NETWORK, "any"},
      {CONVERT_NET_FROM_BRIDGE, "xenbr1", CONVERT_NET_TO_BRIDGE, "by-bridge"},
      {CONVERT_NET_FROM_NETWORK, "VLAN 20", CONVERT_NET_TO_BRIDGE, "by-xen-network"},
      {CONVERT_NET_FROM_MAC, "00:16:3e:00:00:01", CONVERT_NET_TO_BRIDGE, "by-mac"}},
     4,
     true,
     "bridge:by-mac bridge:by-xen-network network:any"},
    {"wildcards: any network before any bridge",
     {{CONVERT_NET_FROM_BRIDGE, NULL, CONVERT_NET_TO_BRIDGE, "anybr"},
      {CONVERT_NET_FROM_NETWORK, NULL, CONVERT_NET_TO_NETWORK, "anynet"}},
     2,
     true,
     "bridge:anybr network:anynet network:anynet"},
    {"unmapped",
     {{CONVERT_NET_FROM_BRIDGE, "xenbr0", CONVERT_NET_TO_NETWORK, "default"}},
     1,
     true,
     "interface 00:16:3e:00:00:02 (bridge 'xenbr1', Xen network 'VLAN 20') has no network mapping; add one under the target's networks:, or a catch-all 'from: any'"},
    {NULL, {{0}}, 0, false, NULL},
};

static void
test_networks(void)
{
    for (size_t i = 0; net_cases[i].name != NULL; i++) {
        g_autoptr(xmlDoc) doc = convert_xml_parse(net_xml, strlen(net_xml), "n", NULL);
        g_autoptr(GHashTable) xn = g_hash_table_new(g_str_hash, g_str_equal);
        g_autoptr(GError) err = NULL;
        g_autoptr(GString) got = g_string_new(NULL);

        g_hash_table_insert(xn, (gpointer) "00:16:3e:00:00:02", (gpointer) "VLAN 20");
        if (!convert_map_networks(doc, net_cases[i].maps, net_cases[i].n,
                                  net_cases[i].xen ? xn : NULL, NULL, &err)) {
            assert(err->code == CONVOY_ERROR_CONVERT);
            expect_str(net_cases[i].name, err->message, net_cases[i].want);
            continue;
        }
        xmlNode *devs = xmlDocGetRootElement(doc)->children;
        for (xmlNode *n = devs->children; n != NULL; n = n->next) {
            g_autofree xmlChar *type = xmlGetProp(n, (const xmlChar *)"type");
            for (xmlNode *c = n->children; c != NULL; c = c->next) {
                if (strcmp((const char *)c->name, "source") == 0) {
                    g_autofree xmlChar *v = xmlGetProp(c, type);
                    g_string_append_printf(got, "%s%s:%s", got->len ? " " : "", (const char *)type,
                                           (const char *)v);
                }
            }
        }
        expect_str(net_cases[i].name, got->str, net_cases[i].want);
        if (i == 0) {
            g_autofree char *out = convert_xml_format(doc);
            expect_str("first NIC rewritten", strstr(out, "<interface type='network'>"),
                       "<interface type='network'>\n      <mac address='00:16:3E:00:00:01'/>\n"
                       "      <source network='default'/>\n    </interface>\n"
                       "    <interface type='bridge'>\n      <mac address='00:16:3e:00:00:02'/>\n"
                       "      <source bridge='br1'/>\n    </interface>\n"
                       "    <interface type='network'>\n      <source network='lan2'/>\n"
                       "      <mac address='00:16:3e:00:00:03'/>\n    </interface>\n"
                       "  </devices>\n</domain>\n");
        }
    }
}

static void
test_disks(void)
{
    const char *in =
        "<domain><devices>"
        "<disk type='block' device='disk'><driver name='qemu' type='raw'/>"
        "<source dev='/dev/vg/a'/><backingStore/><target dev='vda'/></disk>"
        "<disk type='file' device='cdrom'><source file='/x.iso'/><target dev='sda'/></disk>"
        "<disk type='file'><target dev='vdb'/></disk>"
        "</devices></domain>";
    g_autoptr(xmlDoc) doc = convert_xml_parse(in, strlen(in), "d", NULL);
    g_autoptr(GPtrArray) disks = convert_list_disks(doc);
    g_autoptr(GError) err = NULL;
    g_autofree char *out = NULL;

    assert(disks->len == 2);
    const struct convert_disk *d0 = disks->pdata[0];
    const struct convert_disk *d1 = disks->pdata[1];
    expect_str("disk 0 dev", d0->dev, "vda");
    expect_str("disk 0 source", d0->source, "/dev/vg/a");
    expect_str("disk 1 dev", d1->dev, "vdb");
    expect_str("disk 1 source", d1->source, NULL);

    assert(convert_set_disk_file(doc, "vda", "/pool/a.qcow2", "qcow2", &err));
    assert(convert_set_disk_file(doc, "vdb", "/pool/b.raw", "raw", &err));
    out = convert_xml_format(doc);
    expect_str("set_disk_file", out,
               "<domain>\n  <devices>\n    <disk type='file' device='disk'>\n"
               "      <driver name='qemu' type='qcow2'/>\n      <source file='/pool/a.qcow2'/>\n"
               "      <target dev='vda'/>\n    </disk>\n"
               "    <disk type='file' device='cdrom'>\n      <source file='/x.iso'/>\n"
               "      <target dev='sda'/>\n    </disk>\n    <disk type='file'>\n"
               "      <driver name='qemu' type='raw'/>\n      <source file='/pool/b.raw'/>\n"
               "      <target dev='vdb'/>\n    </disk>\n  </devices>\n</domain>\n");
    assert(!convert_set_disk_file(doc, "vdz", "/p", "raw", &err));
    expect_str("set_disk_file missing", err->message,
               "no disk with target 'vdz' in the domain XML");
}

/* ------------------------------------------------------------------ */

static void
test_ova(void)
{
    struct xva_vdi vdi = {.ref = (char *)"Ref:7", .has_data = true};
    struct xva_vdi iso = {.ref = (char *)"Ref:9", .has_data = false};
    struct xva_vbd disk = {.device = (char *)"", .userdevice = (char *)"27", .vdi = &vdi};
    struct xva_vbd cd = {
        .device = (char *)"xvdd", .userdevice = (char *)"3", .is_cd = true, .vdi = &iso};
    struct xva_vbd empty_cd = {
        .device = (char *)"hdd", .userdevice = (char *)"4", .is_cd = true, .empty = true};
    struct xva_vif vif = {.mac = (char *)"aa:bb:cc:dd:ee:ff", .bridge = (char *)""};
    struct xva_meta meta = {0};
    g_autoptr(GError) err = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    g_autofree char *out = NULL;

    meta.vm.name_label = (char *)"g<1>";
    meta.vm.uuid = (char *)"";
    meta.vm.memory_static_max = 1024 * 1024 * 1024;
    meta.vm.vcpus_max = 0;
    meta.vm.hvm_boot_policy = (char *)"";
    meta.vm.pv_bootloader = (char *)"";
    meta.vm.pv_kernel = (char *)"";
    meta.vm.domain_type = (char *)"pvh";
    meta.vm.vbds = g_ptr_array_new();
    meta.vm.vifs = g_ptr_array_new();
    g_ptr_array_add(meta.vm.vbds, &disk);
    g_ptr_array_add(meta.vm.vbds, &cd);
    g_ptr_array_add(meta.vm.vbds, &empty_cd);
    g_ptr_array_add(meta.vm.vifs, &vif);

    doc = convert_domain_from_ova(&meta, &err);
    assert(doc != NULL);
    out = convert_xml_format(doc);
    expect_str("ova pvh", out,
               "<domain type='xen'>\n  <name>g&lt;1&gt;</name>\n"
               "  <memory unit='KiB'>1048576</memory>\n"
               "  <currentMemory unit='KiB'>1048576</currentMemory>\n"
               "  <vcpu placement='static'>1</vcpu>\n  <os>\n"
               "    <type arch='x86_64' machine='xenpvh'>xenpvh</type>\n  </os>\n"
               "  <clock offset='utc'/>\n  <on_poweroff>destroy</on_poweroff>\n"
               "  <on_reboot>restart</on_reboot>\n  <on_crash>restart</on_crash>\n"
               "  <devices>\n    <disk type='file' device='disk'>\n"
               "      <driver name='file'/>\n      <source file='xva-vdi:Ref:7'/>\n"
               "      <target dev='xvdab' bus='xen'/>\n    </disk>\n"
               "    <disk type='file' device='cdrom'>\n      <driver name='file'/>\n"
               "      <target dev='xvdd' bus='xen'/>\n      <readonly/>\n    </disk>\n"
               "    <disk type='file' device='cdrom'>\n      <driver name='file'/>\n"
               "      <target dev='hdd' bus='ide'/>\n      <readonly/>\n    </disk>\n"
               "    <interface type='bridge'>\n      <mac address='aa:bb:cc:dd:ee:ff'/>\n"
               "      <script path='vif-bridge'/>\n    </interface>\n"
               "    <console type='pty'>\n      <target type='xen' port='0'/>\n    </console>\n"
               "    <input type='mouse' bus='xen'/>\n    <input type='keyboard' bus='xen'/>\n"
               "  </devices>\n</domain>\n");

    disk.userdevice = (char *)"x1";
    g_clear_pointer(&doc, xmlFreeDoc);
    doc = convert_domain_from_ova(&meta, &err);
    assert(doc == NULL);
    expect_str("ova bad userdevice", err->message,
               "VM 'g<1>': VBD '?': 'userdevice': expected a number from 0 to 701, got 'x1'");

    /* 2^64-1 bytes of memory is refused, not passed through (issue #20) */
    disk.userdevice = (char *)"27";
    meta.vm.memory_static_max = G_MAXUINT64;
    g_clear_error(&err);
    doc = convert_domain_from_ova(&meta, &err);
    assert(doc == NULL);
    expect_str("ova memory too large", err->message,
               "VM 'g<1>': 'memory_static_max': expected at most 16 TiB (17592186044416 bytes), got 18446744073709551615");
    g_ptr_array_unref(meta.vm.vbds);
    g_ptr_array_unref(meta.vm.vifs);
}

/* Every ```yaml example of docs/rules-format.md is a valid rule set. */
static void
test_doc_examples(void)
{
    g_autofree char *doc = NULL;
    const char *p;
    unsigned n = 0;

    if (!g_file_get_contents(ABS_TOP_SRCDIR "/docs/rules-format.md", &doc, NULL, NULL)) {
        fprintf(stderr, "FAIL cannot read docs/rules-format.md\n");
        failures++;
        return;
    }
    for (p = strstr(doc, "```yaml\n"); p != NULL; p = strstr(p, "```yaml\n")) {
        const char *start = p + strlen("```yaml\n");
        const char *end = strstr(start, "```");
        g_autoptr(GError) err = NULL;
        g_autoptr(rule_set) rs = NULL;

        assert(end != NULL);
        rs = rule_set_load_data("rules-format.md", start, (size_t)(end - start), &err);
        if (rs == NULL) {
            fprintf(stderr, "FAIL docs example %u: %s\n", n + 1, err->message);
            failures++;
        }
        n++;
        p = end + 3;
    }
    assert(n >= 2);
}

int
main(void)
{
    test_xml();
    test_apply();
    test_load_named();
    test_networks();
    test_disks();
    test_ova();
    test_doc_examples();
    if (failures != 0) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
