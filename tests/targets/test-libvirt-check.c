/* Unit tests of the libvirt target's plan-time check against libvirt's
 * test:///default driver (no daemon): pools, room, networks, bridges,
 * domain and volume conflicts, adopt; and the URI classification. */
#include "config.h"

#undef NDEBUG
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "manifest/manifest.h"
#include "targets/libvirt-priv.h"
#include "targets/targets.h"
#include "util/virt.h"

/* Macros, not variables: printf formats stay string literals. */
#define MANIFEST_TEXT \
    "version: 1\n" \
    "defaults: {target: t}\n" \
    "sources:\n" \
    "  s: {type: xva, path: /nonexistent}\n" \
    "targets:\n" \
    "  t:\n" \
    "    type: libvirt\n" \
    "    uri: test:///default\n" \
    "    pools: {default: %s}\n" \
    "waves:\n" \
    "  - name: w\n" \
    "    vms: [{name: a, source: s}]\n"

#define XML_NET \
    "<domain type='kvm'><name>%s</name><uuid>%s</uuid><devices>" \
    "<interface type='network'><source network='%s'/></interface>" \
    "<interface type='bridge'><source bridge='%s'/></interface>" \
    "</devices></domain>"

struct check_case {
    const char *title;
    const char *pool;         /* pools.default */
    const char *vm;
    const char *uuid;
    const char *network;
    const char *bridge;
    uint64_t size;
    enum disk_allocation allocation;
    bool domain_owned;
    bool adopt;
    const char *problem;      /* expected substring of the problems, or NULL */
    const char *note;         /* expected substring of the notes, or NULL */
    const char *size_xml;     /* <memory>/<vcpu> elements, or NULL */
};

/* test:///default has pool default-pool (active), network default
 * (active) and domain test; "lo" is no bridge, so bridge checks go
 * through a name that cannot exist. */
static const struct check_case cases[] = {
    {"clean", "default-pool", "newvm", "8f2f4b3e-1111-4a4a-9b9b-000000000001",
     "default", NULL, 1 << 20, DISK_ALLOCATION_SPARSE, false, false, NULL, NULL},
    {"missing pool", "nopool", "newvm", "8f2f4b3e-1111-4a4a-9b9b-000000000001",
     "default", NULL, 1 << 20, DISK_ALLOCATION_SPARSE, false, false,
     "storage pool 'nopool' does not exist on 'test:///default' (disk vda)", NULL},
    {"missing network", "default-pool", "newvm", "8f2f4b3e-1111-4a4a-9b9b-000000000001",
     "nonet", NULL, 1 << 20, DISK_ALLOCATION_SPARSE, false, false,
     "network 'nonet' does not exist on 'test:///default'", NULL},
    {"missing bridge", "default-pool", "newvm", "8f2f4b3e-1111-4a4a-9b9b-000000000001",
     "default", "convoy-no-such-br", 1 << 20, DISK_ALLOCATION_SPARSE, false, false,
     "bridge 'convoy-no-such-br' does not exist on this host", NULL},
    {"foreign domain", "default-pool", "test", "8f2f4b3e-1111-4a4a-9b9b-000000000001",
     "default", NULL, 1 << 20, DISK_ALLOCATION_SPARSE, false, false,
     "conflict: domain 'test' already exists on 'test:///default' and convoy did not define it", NULL},
    {"own domain", "default-pool", "test", NULL, "default", NULL, 1 << 20,
     DISK_ALLOCATION_SPARSE, true, false, NULL, NULL},
    {"adopted domain", "default-pool", "test", NULL, "default", NULL, 1 << 20,
     DISK_ALLOCATION_SPARSE, false, true, NULL, NULL},
    {"uuid held by another domain", "default-pool", "newvm", NULL, "default", NULL,
     1 << 20, DISK_ALLOCATION_SPARSE, false, true,
     "conflict: domain 'test' on 'test:///default' already has uuid 6695eb01-f6a4-8304-79aa-97f2502e193f", NULL},
    {"no room preallocated", "default-pool", "newvm", "8f2f4b3e-1111-4a4a-9b9b-000000000001",
     "default", NULL, 1ULL << 50, DISK_ALLOCATION_PREALLOCATED, false, false,
     "storage pool 'default-pool' has", NULL},
    {"no room sparse is a note", "default-pool", "newvm", "8f2f4b3e-1111-4a4a-9b9b-000000000001",
     "default", NULL, 1ULL << 50, DISK_ALLOCATION_SPARSE, false, false, NULL,
     "up to 1.0 PiB sparse"},
    {"memory within the host's", "default-pool", "newvm", "8f2f4b3e-1111-4a4a-9b9b-000000000001",
     "default", NULL, 1 << 20, DISK_ALLOCATION_SPARSE, false, false, NULL, NULL,
     "<memory unit='KiB'>1048576</memory><vcpu>2</vcpu>"},
    /* test:///default has 3 GiB and 32 vcpus */
    {"memory above the host's", "default-pool", "newvm", "8f2f4b3e-1111-4a4a-9b9b-000000000001",
     "default", NULL, 1 << 20, DISK_ALLOCATION_SPARSE, false, false,
     "memory: the vm needs 4.0 GiB, more than the 3.0 GiB that the host of 'test:///default' has; lower 'memory'",
     NULL, "<memory unit='GiB'>4</memory>"},
    {"vcpus above the host's", "default-pool", "newvm", "8f2f4b3e-1111-4a4a-9b9b-000000000001",
     "default", NULL, 1 << 20, DISK_ALLOCATION_SPARSE, false, false,
     "vcpus: the vm has 64, more than the 32 that 'test:///default' allows for a kvm domain; lower 'vcpus'",
     NULL, "<vcpu>64</vcpu>"},
    {NULL},
};

static char *
joined(GPtrArray *a)
{
    GString *s = g_string_new(NULL);

    for (guint i = 0; i < a->len; i++)
        g_string_append_printf(s, "%s%s", i ? "\n" : "", (const char *)a->pdata[i]);
    return g_string_free(s, FALSE);
}

static int
run_case(const struct check_case *c)
{
    g_autofree char *text = g_strdup_printf(MANIFEST_TEXT, c->pool);
    g_autoptr(GError) err = NULL;
    g_autoptr(manifest) m = manifest_load_data("t.yaml", text, strlen(text), &err);
    g_autoptr(target) t = NULL;
    g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *xml = NULL;
    g_autofree char *loc = NULL;
    g_autofree char *p = NULL;
    g_autofree char *n = NULL;
    struct target_disk_req disk = {0};
    struct target_vm_req req = {0};
    int failed = 0;

    if (m == NULL) {
        fprintf(stderr, "%s: manifest: %s\n", c->title, err->message);
        return 1;
    }
    t = target_open(manifest_find_target(m, "t"), &err);
    if (t == NULL) {
        fprintf(stderr, "%s: open: %s\n", c->title, err->message);
        return 1;
    }
    xml = g_strdup_printf(XML_NET, c->vm, c->uuid != NULL ? c->uuid
                          : "6695eb01-f6a4-8304-79aa-97f2502e193f",
                          c->network, c->bridge != NULL ? c->bridge : "virbr-unused");
    if (c->bridge == NULL) {
        /* no bridge interface in this case */
        char *b = strstr(xml, "<interface type='bridge'>");
        char *e = strstr(xml, "</devices>");
        memmove(b, e, strlen(e) + 1);
    }
    if (c->size_xml != NULL) {
        g_autofree char *with = NULL;
        char *dev = strstr(xml, "<devices>");

        *dev = '\0';
        with = g_strdup_printf("%s%s<devices>%s", xml, c->size_xml, dev + strlen("<devices>"));
        g_free(xml);
        xml = g_steal_pointer(&with);
    }
    loc = t->ops->disk_location(t, c->vm, "vda", DISK_FORMAT_RAW, NULL, NULL);
    disk = (struct target_disk_req){
        .dev = "vda", .location = loc, .format = DISK_FORMAT_RAW,
        .allocation = c->allocation, .size = c->size,
    };
    req = (struct target_vm_req){
        .vm = c->vm, .xml = xml, .disks = &disk, .n_disks = 1,
        .domain_owned = c->domain_owned, .adopt = c->adopt,
    };
    t->ops->check(t, &req, problems, notes);
    p = joined(problems);
    n = joined(notes);
    if (c->problem == NULL ? problems->len != 0 : strstr(p, c->problem) == NULL) {
        fprintf(stderr, "FAIL %s: problems:\n%s\nexpected: %s\n", c->title, p,
                c->problem ? c->problem : "(none)");
        failed = 1;
    }
    if (c->note != NULL && strstr(n, c->note) == NULL) {
        fprintf(stderr, "FAIL %s: notes:\n%s\nexpected: %s\n", c->title, n, c->note);
        failed = 1;
    }
    if (!failed)
        printf("ok: %s\n", c->title);
    return failed;
}

static int
test_check(void)
{
    int failed = 0;

    for (size_t i = 0; cases[i].title != NULL; i++)
        failed += run_case(&cases[i]);
    return failed;
}

static const struct {
    const char *uri;
    bool remote;
} uris[] = {
    {"qemu:///system", false},
    {"qemu:///session", false},
    {"test:///default", false},
    {"qemu+ssh://root@kvm1.example/system", true},
    {"qemu+tls://kvm1/system", true},
    {"qemu+unix:///system?socket=/run/libvirt/libvirt-sock", true},
    {"qemu://kvm1.example/system", true},
    {NULL, false},
};

static int
test_uri(void)
{
    int failed = 0;

    for (size_t i = 0; uris[i].uri != NULL; i++) {
        if (virt_uri_is_remote(uris[i].uri) != uris[i].remote) {
            fprintf(stderr, "FAIL %s: remote=%d\n", uris[i].uri, !uris[i].remote);
            failed++;
        }
    }
    return failed;
}

static int
test_location(void)
{
    g_autofree char *pool = NULL;
    g_autofree char *vol = NULL;
    char *p2 = NULL;
    char *v2 = NULL;

    assert(lv_split_location("images/web1-vda.qcow2", &pool, &vol));
    assert(strcmp(pool, "images") == 0 && strcmp(vol, "web1-vda.qcow2") == 0);
    assert(!lv_split_location("novolume/", &p2, &v2));
    assert(!lv_split_location("/vol", &p2, &v2));
    assert(!lv_split_location("plain", &p2, &v2));
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s check|uri|location\n", argv[0]);
        return 99;
    }
    if (strcmp(argv[1], "check") == 0)
        return test_check() ? 1 : 0;
    if (strcmp(argv[1], "uri") == 0)
        return test_uri() ? 1 : 0;
    if (strcmp(argv[1], "location") == 0)
        return test_location();
    return 99;
}
