/* engine/convert: Xen-flavoured libvirt domain XML → KVM domain XML.
 *
 * The conversion itself is data: ordered, declarative XPath edits loaded
 * from rules/domain/<name>.yaml (see docs/rules-format.md).  The C code
 * only loads rule sets, applies them, applies the manifest's network and
 * disk mappings, and builds the Xen domain XML of an XVA from its ova.xml.
 *
 * Sections: safe XML parse/serialise (xml.c) · ova.xml → Xen domain XML
 * (ova-domain.c) · rule sets: load (rules-load.c) and apply (rules-apply.c)
 * · network and disk mapping (mapping.c) · the whole pipeline that plan,
 * apply and `convoy convert` share (domain.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>
#include <libxml/tree.h>

#include "xva/xva.h"

/* The first child element of parent called name, or NULL (also when
 * parent is NULL); borrowed. */
xmlNode *convert_first_child(const xmlNode *parent, const char *name);
/* Attribute name of element n (no namespace) as a new string, or NULL
 * (also when n is NULL). */
char *convert_prop(const xmlNode *n, const char *name);

/* ------------------------------------------------------------------ */
/* xml.c */

/* Bound on one XML document given to convert_xml_parse. */
#define CONVERT_XML_MAX_BYTES (16u * 1024 * 1024)

/* Parse XML with no network access, no entity expansion and no DTD; name
 * is used in messages ("xml: NAME:LINE: message").  CONVOY_ERROR_XML.
 * Returns a new doc, caller frees (g_autoptr(xmlDoc)). */
xmlDoc *convert_xml_parse(const char *data, size_t len, const char *name,
                          GError **error);
/* The same for a document a user gives (convoy convert FILE): errors are
 * CONVOY_ERROR_INVALID "NAME:LINE:COL: error: malformed XML: …". */
xmlDoc *convert_xml_parse_input(const char *data, size_t len, const char *name,
                                GError **error);
/* Canonical serialisation: no XML declaration, 2-space indentation,
 * attributes in document order, trailing newline.  Returns a new string. */
char *convert_xml_format(xmlDoc *doc);
/* Check a converted domain XML before it is recorded or defined: it
 * parses back, its root is <domain> and its <name> text is exactly name
 * (a name that was taken for markup, "a&b" written as an entity
 * reference, fails here).  CONVOY_ERROR_CONVERT naming the domain. */
bool convert_xml_check_domain(const char *xml, const char *name, GError **error);
/* Validate a converted domain XML against libvirt's domain schema
 * (/usr/share/libvirt/schemas/domain.rng, as virt-xml-validate does;
 * CONVOY_LIBVIRT_SCHEMA names another file, "" turns the check off).
 * Without the schema on this machine it checks nothing and returns true.
 * CONVOY_ERROR_CONVERT with the schema's first complaint and its line. */
bool convert_xml_check_schema(const char *xml, const char *name, GError **error);
/* The kernel modules a guest needs in its initrd to boot as this domain:
 * the drivers of its disks' buses (virtio → virtio_blk, scsi with a
 * virtio-scsi controller → virtio_scsi, sata → ahci, ide → ata_piix, xen →
 * xen_blkfront), virtio_net for virtio NICs, virtio_pci with any virtio
 * device.  NULL-terminated, each once; new (g_strfreev). */
char **convert_domain_guest_drivers(const char *xml, GError **error);

/* ------------------------------------------------------------------ */
/* ova-domain.c */

/* Prefix of the placeholder disk source of an XVA disk: the Xen domain XML
 * of an XVA names each disk's data as <source file='xva-vdi:REF'/> (REF the
 * VDI ref, "Ref:12"), since the data only exists inside the stream. */
#define CONVERT_XVA_VDI_PREFIX "xva-vdi:"

/* The Xen-flavoured libvirt domain XML of an XVA's VM: type='xen', name,
 * uuid, memory/currentMemory (KiB), vcpu; PV (<bootloader> or
 * <os><type>linux</type><kernel>…) or HVM (<os><type>hvm</type>
 * <loader>… , boot order); disks xvdX on bus xen (CD-ROMs as
 * device='cdrom', placeholder sources above); bridge interfaces with MAC,
 * source bridge, script vif-bridge; Xen console.  Returns a new doc. */
xmlDoc *convert_domain_from_ova(const struct xva_meta *meta, GError **error);

/* ------------------------------------------------------------------ */
/* rules-load.c, rules-apply.c */

struct rule_set;

/* Load a rules file (YAML).  Errors are CONVOY_ERROR_INVALID, every problem
 * listed as "FILE:LINE:COL: error: …".  Returns a new set, caller frees. */
struct rule_set *rule_set_load_file(const char *path, GError **error);
/* The same from memory (at most 4 MiB); name is used as FILE in messages
 * and as the set's path.  Returns a new set, caller frees. */
struct rule_set *rule_set_load_data(const char *name, const char *data,
                                    size_t len, GError **error);
/* Find NAME.yaml in the given directories (first hit wins; NULL-terminated),
 * usually rulefile_search_path(manifest_dir, "domain") (util/rulefile.h). */
struct rule_set *rule_set_load_named(const char *name,
                                     const char *const *dirs, GError **error);
void rule_set_free(struct rule_set *rs);
typedef struct rule_set rule_set; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rule_set, rule_set_free)

const char *rule_set_name(const struct rule_set *rs);
unsigned rule_set_version(const struct rule_set *rs);
const char *rule_set_path(const struct rule_set *rs);
/* Hex SHA-256 of the rules file's bytes (enters step fingerprints). */
const char *rule_set_digest(const struct rule_set *rs);

/* One change made by a rule, for --explain and plan details. */
struct convert_change {
    char *rule_file;      /* path of the rules file */
    unsigned line;        /* line of the rule in it */
    char *rule_id;
    char *what;           /* "set /domain/@type to 'kvm'" */
};
void convert_change_free(struct convert_change *c);

/* Apply the sets in order to doc (in place).  explain, when non-NULL,
 * receives struct convert_change* (caller owns the array; set its free
 * func to convert_change_free).  CONVOY_ERROR_CONVERT on a rule failure
 * naming the rule's file:line. */
bool convert_apply_rules(xmlDoc *doc, struct rule_set *const *sets,
                         size_t n_sets, GPtrArray *explain, GError **error);
/* The same; with count_only, explain gets a NULL per change instead (a
 * plan only counts them, and naming every node was 4 % of its time). */
bool convert_apply_rules_counted(xmlDoc *doc, struct rule_set *const *sets,
                                 size_t n_sets, GPtrArray *explain,
                                 bool count_only, GError **error);
/* The same; warnings (may be NULL) gets "PATH: REASON" (new strings) for
 * every node a rule with warn: selects, whether or not it changes it. */
bool convert_apply_rules_warn(xmlDoc *doc, struct rule_set *const *sets,
                              size_t n_sets, GPtrArray *explain, bool count_only,
                              GPtrArray *warnings, GError **error);

/* ------------------------------------------------------------------ */
/* mapping.c */

enum convert_net_from {
    CONVERT_NET_FROM_BRIDGE,
    CONVERT_NET_FROM_NETWORK,
    CONVERT_NET_FROM_MAC,
    CONVERT_NET_FROM_ANY,
    CONVERT_NET_FROM_LAST,
};

enum convert_net_to {
    CONVERT_NET_TO_NETWORK,
    CONVERT_NET_TO_BRIDGE,
    CONVERT_NET_TO_LAST,
};

/* One mapping; all borrowed.  The first matching mapping wins, in this
 * precedence: MAC, then NETWORK, then BRIDGE, then ANY (as virt-v2v's
 * --mac / --network / --bridge). */
struct convert_netmap {
    enum convert_net_from from;
    const char *from_value;   /* NULL for ANY */
    enum convert_net_to to;
    const char *to_value;
};

/* Rewrite every <interface> of doc: type network|bridge with the mapped
 * source, keeping the MAC; drops <script>, <target dev> (vif names) and
 * <ip>.  xen_networks maps a lower-case MAC to the Xen network name_label
 * (may be NULL).  An interface no mapping matches fails with
 * CONVOY_ERROR_CONVERT naming its MAC and bridge/network.  explain (may be
 * NULL) gets a change per interface, as for convert_explain(). */
bool convert_map_networks(xmlDoc *doc, const struct convert_netmap *maps,
                          size_t n_maps, GHashTable *xen_networks,
                          GPtrArray *explain, GError **error);

/* Point the disk whose <target dev> is dev at a file with the given format
 * (<disk type='file'>, <driver name='qemu' type=FORMAT/>, <source
 * file=PATH/>).  CONVOY_ERROR_CONVERT if there is no such disk. */
bool convert_set_disk_file(xmlDoc *doc, const char *dev, const char *path,
                           const char *format, GError **error);

/* The disks of doc (device='disk' only), in document order: GPtrArray of
 * struct convert_disk*, caller frees. */
struct convert_disk {
    char *dev;            /* target dev, "vda" */
    char *source;         /* source file/dev/volume text, may be NULL */
    char *format;         /* driver type ("raw", "qcow2"), may be NULL */
    bool network;         /* <disk type='network'>: source is the protocol's
                           * name (rbd pool/image); the data stays there */
};
GPtrArray *convert_list_disks(xmlDoc *doc);

/* ------------------------------------------------------------------ */
/* domain.c */

/* A storage mapping: a disk whose source path is FROM, or lies under the
 * directory FROM, lands in pool TO (volume named after the file); FROM
 * "*" matches every disk.  The longest matching FROM wins.  Borrowed. */
struct convert_poolmap {
    const char *from;
    const char *to;
};

/* Rewrite every disk (device='disk') to <disk type='volume'> <source
 * pool=TO volume=BASENAME/>.  A disk no mapping matches fails with
 * CONVOY_ERROR_CONVERT naming its source. */
bool convert_map_pools(xmlDoc *doc, const struct convert_poolmap *maps, size_t n_maps,
                       GPtrArray *explain, GError **error);

/* An ISO image for a CD-ROM drive, by its converted target dev ("sdc").
 * Borrowed. */
struct convert_cdmap {
    const char *dev;
    const char *iso;
};

/* What to convert with; everything borrowed. */
struct convert_request {
    const char *input_name;             /* FILE in messages (NULL: "domain XML") */
    bool count_changes;                 /* explain gets NULL entries: only
                                         * the number of changes */
    struct rule_set *const *sets;       /* applied in order */
    size_t n_sets;
    bool map_networks;                  /* apply netmaps (an unmapped NIC fails) */
    const struct convert_netmap *netmaps;
    size_t n_netmaps;
    GHashTable *xen_networks;           /* lower-case MAC → Xen network, may be NULL */
    const struct convert_poolmap *poolmaps; /* none: disks keep their source */
    size_t n_poolmaps;
    /* Where the guest's direct-boot kernel and initrd are on the KVM host
     * (same file names as on Xen), or NULL: then a <kernel> of the source,
     * which names a file on the Xen host, is dropped by the rules and the
     * guest boots from its disk.  With it, <kernel>/<initrd> point into
     * boot_dir and <cmdline> is kept with console=hvc0 → ttyS0 and
     * /dev/xvdX → /dev/vdX. */
    const char *boot_dir;
    /* Read the first bytes of every disk image that is readable here and
     * set <driver type> to its real format (qcow2, vpc, raw), with a note
     * when the source configuration said otherwise. */
    bool probe_formats;
    /* ISOs for CD-ROM drives (the rules empty them, as their Xen paths
     * would dangle); a dev with no such drive is CONVOY_ERROR_CONVERT. */
    const struct convert_cdmap *cdmaps;
    size_t n_cdmaps;
};

/* Convert doc in place: check it is a Xen domain whose disks all have a
 * source (CONVOY_ERROR_INVALID "NAME: error: …" otherwise), apply the rule sets (changes
 * into explain, as convert_apply_rules), keep a direct-kernel boot when
 * boot_dir says where the kernel is, then the network and pool
 * mappings.  A domain of type kvm or qemu is left alone and a note
 * ("NAME: note: …", a new string) is added to notes (may be NULL).  On failure
 * doc may be half converted: callers print nothing of it. */
bool convert_domain(xmlDoc *doc, const struct convert_request *req, GPtrArray *explain,
                    GPtrArray *notes, GError **error);
