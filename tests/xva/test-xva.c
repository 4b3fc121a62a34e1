/* Unit tests of engine/xva: ova.xml parsing and the stream reader, over
 * XVA files that tests/tools/mkxva.py writes at test time, plus the real
 * files of the shared corpus.  Run as "test-xva CASE" (one meson test per
 * case) or with no argument for all cases. */
#include "config.h"

#undef NDEBUG
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "util/error.h"
#include "xva/xva.h"

#define CASE_ROOT ABS_BUILDDIR "/xva-cases"

enum open_mode {
    OPEN_PATH,
    OPEN_STDIN,
    OPEN_MEMORY,
};

struct xva_case {
    const char *name;
    /* mkxva.py arguments (shell words; @DIR@ is the case's folder), or
     * NULL to use file as is. */
    const char *mkxva;
    const char *file;          /* the XVA; default @DIR@/x.xva */
    unsigned flags;            /* XVA_OPEN_* */
    enum open_mode mode;
    const char *only_ref;
    int open_code;             /* expected error code of the open, or 0 */
    int stream_code;           /* expected error code of the stream, or 0 */
    /* Expected message (after @DIR@ substitution); a trailing '*' makes
     * it a prefix. */
    const char *message;
    /* Disks expected, in delivery order: "REF=RAW REF=RAW", RAW relative
     * to the case folder ("" for an empty disk). */
    const char *disks;
    void (*check_meta)(const struct xva_meta *m);
};

/* ---- meta checks of generated files ---- */

static const struct xva_vbd *
find_vbd(const struct xva_meta *m, const char *device)
{
    for (guint i = 0; i < m->vm.vbds->len; i++) {
        const struct xva_vbd *b = m->vm.vbds->pdata[i];
        if (strcmp(b->device, device) == 0)
            return b;
    }
    fprintf(stderr, "no VBD '%s'\n", device);
    abort();
}

static void
meta_basic(const struct xva_meta *m)
{
    const struct xva_vm *vm = &m->vm;
    const struct xva_vbd *b = find_vbd(m, "xvda");
    const struct xva_vif *f;

    assert(m->version_major == 2);
    assert(strcmp(vm->name_label, "web1") == 0);
    assert(strcmp(vm->uuid, "5b1f4a3e-1111-2222-3333-444455556666") == 0);
    assert(vm->memory_static_max == 512ull << 20);
    assert(vm->vcpus_max == 2 && vm->vcpus_at_startup == 2);
    assert(strcmp(vm->hvm_boot_policy, "") == 0);
    assert(strcmp(vm->pv_bootloader, "pygrub") == 0);
    assert(strcmp(vm->pv_args, "console=hvc0 root=/dev/xvda1") == 0);
    assert(strcmp(vm->domain_type, "pv") == 0);
    assert(!vm->firmware_uefi);
    assert(strcmp(vm->platform_viridian, "false") == 0);
    assert(vm->vbds->len == 1);
    assert(b != NULL && strcmp(b->userdevice, "0") == 0 && !b->is_cd &&
           b->bootable && !b->empty);
    assert(b->vdi != NULL && strcmp(b->vdi->ref, "Ref:20") == 0);
    assert(b->vdi->virtual_size == 5ull << 20 && b->vdi->has_data);
    assert(b->vdi->sr_ref != NULL);
    assert(m->vdis->len == 1 && m->vdis->pdata[0] == b->vdi);
    assert(xva_meta_find_vdi(m, "Ref:20") == b->vdi);
    assert(xva_meta_find_vdi(m, "Ref:21") == NULL);
    assert(vm->vifs->len == 2);
    f = vm->vifs->pdata[0];
    assert(strcmp(f->device, "0") == 0);
    assert(strcmp(f->mac, "aa:bb:cc:00:00:01") == 0);
    assert(strcmp(f->bridge, "xenbr0") == 0);
    assert(strcmp(f->network_name, "Pool-wide network associated with eth0") == 0);
    f = vm->vifs->pdata[1];
    assert(strcmp(f->device, "10") == 0);
    assert(strcmp(f->mac, "aa:bb:cc:00:00:0a") == 0);
    assert(strcmp(f->bridge, "xenbr1") == 0);
    assert(strcmp(f->network_name, "VLAN 20") == 0);
}

static void
meta_two_disks(const struct xva_meta *m)
{
    const struct xva_vdi *a = m->vdis->pdata[0];
    const struct xva_vdi *b = m->vdis->pdata[1];

    assert(m->vdis->len == 2);
    assert(strcmp(a->ref, "Ref:10") == 0 && strcmp(b->ref, "Ref:9") == 0);
    assert(strcmp(find_vbd(m, "xvda")->vdi->ref, "Ref:9") == 0);
    assert(strcmp(find_vbd(m, "xvdb")->vdi->ref, "Ref:10") == 0);
    assert(strcmp(m->vm.hvm_boot_policy, "BIOS order") == 0);
    assert(strcmp(m->vm.hvm_boot_order, "dc") == 0);
    assert(m->vm.firmware_uefi);
}

static void
meta_cd_empty(const struct xva_meta *m)
{
    const struct xva_vbd *cd = find_vbd(m, "hdd");

    assert(cd != NULL && cd->is_cd && cd->empty && cd->vdi == NULL);
    assert(strcmp(cd->userdevice, "3") == 0);
    assert(m->vdis->len == 1);
}

static void
meta_cd_iso(const struct xva_meta *m)
{
    const struct xva_vbd *cd = find_vbd(m, "hdc");

    assert(cd != NULL && cd->is_cd && !cd->empty && cd->vdi != NULL);
    assert(!cd->vdi->has_data);
    assert(strcmp(cd->vdi->name_label, "debian.iso") == 0);
    assert(m->vdis->len == 2);
    /* Data-carrying VDIs first. */
    assert(((struct xva_vdi *)m->vdis->pdata[0])->has_data);
    assert(m->vdis->pdata[1] == cd->vdi);
}

static void
meta_template(const struct xva_meta *m)
{
    assert(strcmp(m->vm.name_label, "web1") == 0);
}

static void
meta_zero_size(const struct xva_meta *m)
{
    const struct xva_vbd *b = find_vbd(m, "xvdb");

    assert(b->vdi->virtual_size == 0 && b->vdi->has_data);
}

static void
meta_lenient_empty(const struct xva_meta *m)
{
    assert(strcmp(m->vm.name_label, "") == 0);
    assert(m->vm.vbds->len == 0 && m->vm.vifs->len == 0);
    assert(m->vdis->len == 0);
}

/* VBDs listed xvdc, CD hdd, xvdb, xvda, a userdevice 10 and a 2: the
 * meta has them by userdevice (0 1 2 3 10), export order among equals. */
static void
meta_vbd_order(const struct xva_meta *m)
{
    static const char *const want[] = {"xvda", "xvdb", "xvdc", "hdd", "xvdk"};
    struct xva_vm vm = {0};
    static const struct {
        const char *device;
        const char *userdevice;
    } made[] = {
        /* As the xenserver source builds them: device may be "" (never
         * plugged) or a partition name; userdevice decides. */
        {"", "10"}, {"xvda2", "1"}, {"", "2"}, {"xvda1", "0"}, {"xvdc", ""}, {"xvdb", ""},
    };
    static const char *const made_want[] = {"xvda1", "xvda2", "xvdb", "", "xvdc", ""};

    assert(m->vm.vbds->len == G_N_ELEMENTS(want));
    for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
        const struct xva_vbd *b = m->vm.vbds->pdata[i];
        if (strcmp(b->device, want[i]) != 0) {
            fprintf(stderr, "VBD %u is '%s', expected '%s'\n", i, b->device, want[i]);
            abort();
        }
    }
    assert(strcmp(find_vbd(m, "xvda")->vdi->ref, "Ref:30") == 0);

    vm.vbds = g_ptr_array_new_with_free_func(xva_vbd_free);
    for (guint i = 0; i < G_N_ELEMENTS(made); i++) {
        struct xva_vbd *b = g_new0(struct xva_vbd, 1);
        b->ref = g_strdup_printf("OpaqueRef:%u", i);
        b->device = g_strdup(made[i].device);
        b->userdevice = g_strdup(made[i].userdevice);
        g_ptr_array_add(vm.vbds, b);
    }
    xva_vm_sort_vbds(&vm);
    for (guint i = 0; i < G_N_ELEMENTS(made_want); i++) {
        const struct xva_vbd *b = vm.vbds->pdata[i];
        if (strcmp(b->device, made_want[i]) != 0) {
            fprintf(stderr, "built VBD %u is '%s' (%s), expected '%s'\n", i, b->device,
                    b->ref, made_want[i]);
            abort();
        }
    }
    /* The two with userdevice 2 and "" + xvdc (index 2): export order. */
    assert(strcmp(((struct xva_vbd *)vm.vbds->pdata[3])->ref, "OpaqueRef:2") == 0);
    assert(strcmp(((struct xva_vbd *)vm.vbds->pdata[5])->ref, "OpaqueRef:0") == 0);
    g_ptr_array_unref(vm.vbds);
}

/* ---- the cases ---- */

#define BASIC "--name web1 --uuid 5b1f4a3e-1111-2222-3333-444455556666 " \
    "--memory 512M --vcpus 2 --pv --pv-args 'console=hvc0 root=/dev/xvda1' " \
    "--vif 10=AA:BB:CC:00:00:0A,bridge=xenbr1,network='VLAN 20' " \
    "--vif 0=aa:bb:cc:00:00:01 "
#define D20 "--disk xvda=size:5M,pattern=3,ref=Ref:20,save=@DIR@/a.raw "
#define TWO "--hvm --uefi --boot-order dc " \
    "--disk xvda=size:3M,pattern=5,ref=Ref:9,save=@DIR@/a.raw " \
    "--disk xvdb=size:4194305,pattern=6,ref=Ref:10,save=@DIR@/b.raw "
#define ONE_MIB "--disk xvda=size:1M,pattern=2,ref=Ref:20,save=@DIR@/a.raw "

static const struct xva_case cases[] = {
    /* Good streams: the bytes delivered are the source image's. */
    {"basic", BASIC D20, .disks = "Ref:20=a.raw", .check_meta = meta_basic},
    {"keepalive", BASIC D20 "--keepalive 2", .disks = "Ref:20=a.raw"},
    {"keepalive-every", BASIC D20 "--keepalive 1", .disks = "Ref:20=a.raw"},
    {"short-last", "--disk xvda=size:3145729,pattern=4,ref=Ref:20,save=@DIR@/a.raw",
     .disks = "Ref:20=a.raw"},
    {"tiny", "--disk xvda=size:1000,pattern=4,ref=Ref:20,save=@DIR@/a.raw",
     .disks = "Ref:20=a.raw"},
    {"two-disks", TWO, .disks = "Ref:10=b.raw Ref:9=a.raw",
     .check_meta = meta_two_disks},
    {"vbd-order",
     "--pv --disk xvdc=size:1M,pattern=1,ref=Ref:32,save=@DIR@/c.raw --cd hdd "
     "--disk xvdb=size:1M,pattern=2,ref=Ref:31,save=@DIR@/b.raw "
     "--disk xvda=size:1M,pattern=3,ref=Ref:30,save=@DIR@/a.raw "
     "--disk xvdk=size:1M,pattern=4,ref=Ref:33,save=@DIR@/k.raw,userdevice=10",
     .disks = "Ref:30=a.raw Ref:31=b.raw Ref:32=c.raw Ref:33=k.raw",
     .check_meta = meta_vbd_order},
    {"sha1", D20 "--checksum sha1", .disks = "Ref:20=a.raw"},
    {"mixed", TWO "--checksum mixed", .disks = "Ref:10=b.raw Ref:9=a.raw"},
    {"v7", D20 "--tar-format v7", .disks = "Ref:20=a.raw"},
    {"ustar", D20 "--tar-format ustar", .disks = "Ref:20=a.raw"},
    {"gnu", D20 "--tar-format gnu --dir-entries", .disks = "Ref:20=a.raw"},
    {"pax", TWO "--tar-format pax", .disks = "Ref:10=b.raw Ref:9=a.raw"},
    {"gzip", TWO "--compress gzip", .disks = "Ref:10=b.raw Ref:9=a.raw"},
    {"zstd", TWO "--compress zstd --tar-format gnu",
     .disks = "Ref:10=b.raw Ref:9=a.raw"},
    {"cd-empty", D20 "--cd hdd", .disks = "Ref:20=a.raw",
     .check_meta = meta_cd_empty},
    {"cd-iso", D20 "--cd hdc=iso:debian.iso", .disks = "Ref:20=a.raw",
     .check_meta = meta_cd_iso},
    {"raw-image", "--disk xvda=@DIR@/src.raw,ref=Ref:20",
     .disks = "Ref:20=src.raw"},
    {"dir-entries", TWO "--dir-entries", .disks = "Ref:10=b.raw Ref:9=a.raw"},
    {"wide-numbers", D20 "--chunk-width 12", .disks = "Ref:20=a.raw"},
    {"pad-last-zero", "--disk xvda=size:1572864,pattern=2,ref=Ref:20,save=@DIR@/a.raw --pad-last zero",
     .disks = "Ref:20=a.raw"},
    {"zero-size", D20 "--disk xvdb=size:0,ref=Ref:30,save=@DIR@/z.raw",
     .disks = "Ref:20=a.raw Ref:30=z.raw", .check_meta = meta_zero_size},
    {"template", BASIC D20 "--extra-vm template", .disks = "Ref:20=a.raw",
     .check_meta = meta_template},
    {"snapshot", BASIC D20 "--extra-vm snapshot", .disks = "Ref:20=a.raw",
     .check_meta = meta_template},
    {"only-second", TWO, .only_ref = "Ref:9", .disks = "Ref:9=a.raw"},
    {"only-first", TWO, .only_ref = "Ref:10", .disks = "Ref:10=b.raw"},
    {"only-first-damaged-second", TWO "--corrupt-chunk Ref:9/0",
     .only_ref = "Ref:10", .disks = "Ref:10=b.raw"},
    {"only-unknown", TWO, .only_ref = "Ref:11", .stream_code = CONVOY_ERROR_NOT_FOUND,
     .message = "disk 'Ref:11' is not a data-carrying VDI of the export"},
    {"stdin", TWO "--compress gzip", .mode = OPEN_STDIN,
     .disks = "Ref:10=b.raw Ref:9=a.raw"},
    {"memory", TWO "--compress zstd", .mode = OPEN_MEMORY,
     .disks = "Ref:10=b.raw Ref:9=a.raw"},

    /* Bad streams. */
    {"corrupt-xxhash", D20 "--corrupt-chunk 1", .stream_code = CONVOY_ERROR_CHECKSUM,
     .message = "disk 'Ref:20' chunk 00000001: checksum mismatch (xxhash: expected *"},
    {"corrupt-sha1", TWO "--checksum sha1 --corrupt-chunk Ref:9/2",
     .stream_code = CONVOY_ERROR_CHECKSUM,
     .message = "disk 'Ref:9' chunk 00000002: checksum mismatch (sha1: expected *"},
    {"bad-entry", D20 "--bad-entry etc/passwd", .stream_code = CONVOY_ERROR_FORMAT,
     .message = "unexpected entry 'etc/passwd' (expected 'REF/NUMBER' chunks, each followed by 'REF/NUMBER.xxhash' or 'REF/NUMBER.checksum')"},
    {"bad-extension", D20 "--bad-entry Ref:20/00000001.md5", .stream_code = CONVOY_ERROR_FORMAT,
     .message = "unexpected entry 'Ref:20/00000001.md5' (expected 'REF/NUMBER' chunks, each followed by 'REF/NUMBER.xxhash' or 'REF/NUMBER.checksum')"},
    {"stray-checksum", D20 "--bad-entry Ref:20/00000007.xxhash=0000000000000000",
     .stream_code = CONVOY_ERROR_FORMAT,
     .message = "checksum entry 'Ref:20/00000007.xxhash' does not follow its chunk"},
    {"unknown-folder", ONE_MIB "--bad-entry Ref:30/00000000", .stream_code = CONVOY_ERROR_FORMAT,
     .message = "entry 'Ref:30/00000000' belongs to 'Ref:30', which is not a data-carrying VDI of ova.xml"},
    {"unknown-folder-lenient", ONE_MIB "--bad-entry Ref:30/00000000", .flags = XVA_OPEN_LENIENT,
     .stream_code = CONVOY_ERROR_FORMAT,
     .message = "disk 'Ref:30' chunk 00000000 has no checksum entry (the archive ends)"},
    {"decreasing", D20 "--decreasing", .stream_code = CONVOY_ERROR_FORMAT,
     .message = "disk 'Ref:20' chunk 00000001: chunk numbers must increase (previous chunk 00000003)"},
    {"oversize", D20 "--oversize-chunk", .stream_code = CONVOY_ERROR_FORMAT,
     .message = "disk 'Ref:20' chunk 00000000: 1049088 bytes, more than the 1048576-byte limit"},
    {"no-checksum", D20 "--no-checksum 1", .stream_code = CONVOY_ERROR_FORMAT,
     .message = "disk 'Ref:20' chunk 00000001 has no checksum entry (next entry is 'Ref:20/00000003')"},
    {"no-checksum-last", D20 "--no-checksum 4", .stream_code = CONVOY_ERROR_FORMAT,
     .message = "disk 'Ref:20' chunk 00000004 has no checksum entry (the archive ends)"},
    {"wrong-order", TWO "--wrong-order", .stream_code = CONVOY_ERROR_FORMAT,
     .message = "disk 'Ref:10' (4194305 bytes) is missing from the stream: disk 'Ref:9' comes first, but disks come in string order of their refs"},
    {"missing-disk", TWO "--omit-disk Ref:9", .stream_code = CONVOY_ERROR_FORMAT,
     .message = "disk 'Ref:9' (3145728 bytes) is missing from the stream"},
    {"pad-last-garbage", "--disk xvda=size:1572864,pattern=2,ref=Ref:20 --pad-last garbage",
     .stream_code = CONVOY_ERROR_FORMAT,
     .message = "disk 'Ref:20' chunk 00000001: data runs past the end of the disk (virtual_size 1572864)"},
    {"truncated", D20 "--truncate -3000", .stream_code = CONVOY_ERROR_FORMAT,
     .message = "disk 'Ref:20' chunk 00000004: archive: truncated tar archive*"},
    {"truncated-entry-boundary", TWO "--truncate -1051136", .stream_code = CONVOY_ERROR_FORMAT,
     .message = "disk 'Ref:9' ends at 2097152 bytes, expected 3145728"},
    {"truncated-gzip", TWO "--compress gzip --truncate -100", .stream_code = CONVOY_ERROR_FORMAT,
     .message = "disk 'Ref:9' *"},
    /* The compressed stream's own checksums, at the end of the stream. */
    {"gzip-bad-crc", TWO "--compress gzip --flip-byte -8",
     .stream_code = CONVOY_ERROR_CHECKSUM,
     .message = "'@DIR@/x.xva': gzip checksum mismatch: the CRC-32 of the decompressed data differs from the one in the gzip trailer"},
    {"gzip-bad-isize", TWO "--compress gzip --flip-byte -1",
     .stream_code = CONVOY_ERROR_CHECKSUM,
     .message = "'@DIR@/x.xva': gzip checksum mismatch: the length of the decompressed data differs from the one in the gzip trailer"},
    {"gzip-bad-crc-memory", TWO "--compress gzip --flip-byte -8", .mode = OPEN_MEMORY,
     .stream_code = CONVOY_ERROR_CHECKSUM,
     .message = "'<memory>': gzip checksum mismatch: *"},
    {"zstd-bad-checksum", TWO "--compress zstd --flip-byte -1",
     .stream_code = CONVOY_ERROR_CHECKSUM,
     .message = "'@DIR@/x.xva': zstd checksum mismatch: the checksum of the decompressed data differs from the one in the zstd frame"},
    {"truncated-zstd", TWO "--compress zstd --truncate -100", .stream_code = CONVOY_ERROR_FORMAT,
     .message = "disk 'Ref:9' *"},
    {"ova-too-big", D20 "--ova-pad 17M", .open_code = CONVOY_ERROR_FORMAT,
     .message = "'@DIR@/x.xva': ova.xml: 17825792 bytes, more than the 16777216-byte limit"},
    {"ova-doctype", D20 "--ova-doctype", .open_code = CONVOY_ERROR_FORMAT,
     .message = "'@DIR@/x.xva': ova.xml: DOCTYPE and entity declarations are not allowed"},
    {"ova-not-first", D20 "--first-entry Ref:20/00000000", .open_code = CONVOY_ERROR_FORMAT,
     .message = "'@DIR@/x.xva': first entry is 'Ref:20/00000000', expected 'ova.xml'"},
    {"not-tar", NULL, .file = "@DIR@/not-tar.xva", .open_code = CONVOY_ERROR_FORMAT,
     .message = "'@DIR@/not-tar.xva': archive: unrecognized archive format"},
    {"no-file", NULL, .file = "@DIR@/absent.xva", .open_code = CONVOY_ERROR_NOT_FOUND,
     .message = "cannot open '@DIR@/absent.xva': No such file or directory"},

    /* The shared corpus (skipped when absent). */
    {"corpus-small-strict", NULL, .file = SHARED_CORPUS "/xva/small.xva",
     .open_code = CONVOY_ERROR_FORMAT,
     .message = "'" SHARED_CORPUS "/xva/small.xva': ova.xml: expected an XML-RPC <value> holding a <struct>"},
    {"corpus-small-lenient", NULL, .file = SHARED_CORPUS "/xva/small.xva",
     .flags = XVA_OPEN_LENIENT, .disks = "Ref:4=", .check_meta = meta_lenient_empty},
    {"corpus-smallko-lenient", NULL, .file = SHARED_CORPUS "/xva/smallko.xva",
     .flags = XVA_OPEN_LENIENT, .stream_code = CONVOY_ERROR_CHECKSUM,
     .message = "disk 'Ref:4' chunk 00000000: checksum mismatch (sha1: expected da39a3ee5e6b4b0d3255bfef95601890afd80709, got 12039d6dd9a7e27622301e935b6eefc78846802e)"},
    {NULL, NULL},
};

/* ---- helpers ---- */

static char *
subst_dir(const char *s, const char *dir)
{
    g_auto(GStrv) parts = g_strsplit(s, "@DIR@", -1);

    return g_strjoinv(dir, parts);
}

static void
check_message(const GError *err, const char *want, const char *dir)
{
    g_autofree char *w = subst_dir(want, dir);
    size_t n = strlen(w);

    if (n > 0 && w[n - 1] == '*') {
        if (strncmp(err->message, w, n - 1) != 0) {
            fprintf(stderr, "message: %s\nexpected prefix: %.*s\n",
                    err->message, (int)(n - 1), w);
            abort();
        }
    } else if (strcmp(err->message, w) != 0) {
        fprintf(stderr, "message: %s\nexpected: %s\n", err->message, w);
        abort();
    }
}

/* A deterministic raw image with data, holes and a short tail. */
static void
write_src_raw(const char *path)
{
    size_t size = 3 * 1024 * 1024 + 4096 + 17;
    g_autofree unsigned char *buf = g_malloc0(size);
    uint32_t x = 12345;

    for (size_t i = 0; i < size; i++) {
        bool hole = (i >= 1048576 && i < 2097152) || (i >= 2200000 && i < 2300000);
        x = x * 1103515245 + 12345;
        buf[i] = hole ? 0 : (unsigned char)(x >> 16);
    }
    assert(g_file_set_contents(path, (const char *)buf, (gssize)size, NULL));
}

static void
run_mkxva(const struct xva_case *c, const char *dir, const char *out)
{
    g_autofree char *words = subst_dir(c->mkxva, dir);
    g_auto(GStrv) argv = NULL;
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    g_autoptr(GError) err = NULL;
    g_autofree char *errout = NULL;
    int status = 0;

    if (!g_shell_parse_argv(words, NULL, &argv, &err) && *words != '\0') {
        fprintf(stderr, "bad mkxva arguments: %s\n", err->message);
        exit(99);
    }
    g_clear_error(&err);
    g_ptr_array_add(args, (char *)PYTHON3);
    g_ptr_array_add(args, (char *)MKXVA);
    g_ptr_array_add(args, (char *)"-o");
    g_ptr_array_add(args, (char *)out);
    for (char **a = argv; a != NULL && *a != NULL; a++)
        g_ptr_array_add(args, *a);
    g_ptr_array_add(args, NULL);
    if (!g_spawn_sync(NULL, (char **)args->pdata, NULL, G_SPAWN_DEFAULT,
                      NULL, NULL, NULL, &errout, &status, &err) ||
        !g_spawn_check_wait_status(status, NULL)) {
        fprintf(stderr, "mkxva.py failed: %s%s\n",
                err != NULL ? err->message : "", errout != NULL ? errout : "");
        exit(99);
    }
}

/* What the ops saw, checked against the raw images as it goes. */
struct check {
    const char *dir;
    GHashTable *expect;        /* ref → raw file name */
    GString *order;
    int fd;
    bool damaged;              /* no image for this disk */
    uint64_t size;
    uint64_t next;
    unsigned char *tmp;
};

static bool
ck_begin(void *opaque, const struct xva_vdi *vdi, GError **error)
{
    struct check *k = opaque;
    const char *raw = g_hash_table_lookup(k->expect, vdi->ref);
    struct stat st;

    if (k->order->len > 0)
        g_string_append_c(k->order, ' ');
    g_string_append(k->order, vdi->ref);
    assert(k->fd < 0);
    k->next = 0;
    k->size = 0;
    k->damaged = false;
    if (raw == NULL) {
        /* A damaged stream: no image to compare with, but offsets must
         * still be contiguous and within the disk. */
        k->fd = open("/dev/zero", O_RDONLY);
        k->size = vdi->virtual_size != 0 ? vdi->virtual_size : UINT64_MAX / 2;
        k->damaged = true;
        return true;
    }
    if (*raw != '\0') {
        g_autofree char *path = g_build_filename(k->dir, raw, NULL);

        k->fd = open(path, O_RDONLY);
        assert(k->fd >= 0);
        assert(fstat(k->fd, &st) == 0);
        k->size = (uint64_t)st.st_size;
    } else {
        k->fd = open("/dev/null", O_RDONLY);
    }
    if (vdi->virtual_size != 0 || (g_strcmp0(vdi->name_label, "") != 0))
        assert(vdi->virtual_size == k->size);
    return true;
}

static bool
ck_data(void *opaque, const struct xva_vdi *vdi, uint64_t off, const void *buf,
        size_t len, GError **error)
{
    struct check *k = opaque;

    assert(len > 0 && len <= XVA_CHUNK_MAX);
    assert(off == k->next);
    assert(off + len <= k->size);
    if (!k->damaged) {
        assert(pread(k->fd, k->tmp, len, (off_t)off) == (ssize_t)len);
        assert(memcmp(k->tmp, buf, len) == 0);
    }
    k->next += len;
    return true;
}

static bool
ck_zero(void *opaque, const struct xva_vdi *vdi, uint64_t off, uint64_t len,
        GError **error)
{
    struct check *k = opaque;

    assert(len > 0);
    assert(off == k->next);
    assert(off + len <= k->size);
    if (k->damaged) {
        k->next += len;
        return true;
    }
    while (len > 0) {
        size_t n = len < XVA_CHUNK_MAX ? (size_t)len : XVA_CHUNK_MAX;

        assert(pread(k->fd, k->tmp, n, (off_t)off) == (ssize_t)n);
        for (size_t i = 0; i < n; i++)
            assert(k->tmp[i] == 0);
        off += n;
        len -= n;
        k->next += n;
    }
    return true;
}

static bool
ck_end(void *opaque, const struct xva_vdi *vdi, GError **error)
{
    struct check *k = opaque;

    assert(k->fd >= 0);
    assert(k->next == vdi->virtual_size);
    assert(k->damaged || vdi->virtual_size == k->size);
    close(k->fd);
    k->fd = -1;
    return true;
}

static const struct xva_stream_ops check_ops = {
    .begin_disk = ck_begin,
    .data = ck_data,
    .zero = ck_zero,
    .end_disk = ck_end,
};

static struct xva_reader *
open_case(const struct xva_case *c, const char *file, char **mem,
          GError **error)
{
    switch (c->mode) {
    case OPEN_PATH:
        return xva_reader_open_flags(file, c->flags, error);
    case OPEN_STDIN: {
        int fd = open(file, O_RDONLY);
        struct xva_reader *r;

        assert(fd >= 0);
        assert(dup2(fd, STDIN_FILENO) == STDIN_FILENO);
        close(fd);
        r = xva_reader_open_flags("-", c->flags, error);
        close(STDIN_FILENO);
        return r;
    }
    case OPEN_MEMORY: {
        size_t len = 0;

        assert(g_file_get_contents(file, mem, &len, NULL));
        return xva_reader_open_memory(*mem, len, c->flags, error);
    }
    }
    return NULL;
}

static int
run_case(const struct xva_case *c)
{
    g_autofree char *dir = g_build_filename(CASE_ROOT, c->name, NULL);
    g_autofree char *file = NULL;
    g_autofree char *mem = NULL;
    g_autoptr(xva_reader) r = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(GHashTable) expect = g_hash_table_new_full(g_str_hash, g_str_equal,
                                                         g_free, g_free);
    struct check k = {.fd = -1};
    bool ok;

    if (g_str_has_prefix(c->name, "corpus-") &&
        !g_file_test(SHARED_CORPUS "/xva", G_FILE_TEST_IS_DIR)) {
        fprintf(stderr, "%s: skipped, no shared corpus at %s\n", c->name,
                SHARED_CORPUS);
        return 77;
    }
    if (g_mkdir_with_parents(dir, 0755) < 0) {
        fprintf(stderr, "cannot create '%s': %s\n", dir, g_strerror(errno));
        return 99;
    }
    file = subst_dir(c->file != NULL ? c->file : "@DIR@/x.xva", dir);
    if (strcmp(c->name, "raw-image") == 0) {
        g_autofree char *src = g_build_filename(dir, "src.raw", NULL);
        write_src_raw(src);
    }
    if (strcmp(c->name, "not-tar") == 0)
        assert(g_file_set_contents(file, "this is not an archive\n", -1, NULL));
    if (c->mkxva != NULL)
        run_mkxva(c, dir, file);

    r = open_case(c, file, &mem, &err);
    if (c->open_code != 0) {
        assert(r == NULL);
        assert(err != NULL && err->domain == CONVOY_ERROR);
        if (err->code != c->open_code) {
            fprintf(stderr, "open: code %d (%s), expected %d\n", err->code,
                    err->message, c->open_code);
            return 1;
        }
        check_message(err, c->message, dir);
        printf("%s: ok (%s)\n", c->name, err->message);
        return 0;
    }
    if (r == NULL) {
        fprintf(stderr, "open failed: %s\n", err->message);
        return 1;
    }
    if (c->check_meta != NULL)
        c->check_meta(xva_reader_meta(r));
    {
        size_t len = 0;
        const char *x = xva_reader_ova_xml(r, &len);

        assert(x != NULL && len > 0 && x[len] == '\0');
    }

    if (c->disks != NULL) {
        g_auto(GStrv) pairs = g_strsplit(c->disks, " ", -1);

        for (char **p = pairs; *p != NULL; p++) {
            char *eq = strchr(*p, '=');

            assert(eq != NULL);
            g_hash_table_insert(expect, g_strndup(*p, eq - *p), g_strdup(eq + 1));
        }
    }
    k.dir = dir;
    k.expect = expect;
    k.order = g_string_new(NULL);
    k.tmp = g_malloc(XVA_CHUNK_MAX);
    ok = xva_reader_stream(r, c->only_ref, &check_ops, &k, &err);
    g_free(k.tmp);
    if (k.fd >= 0)
        close(k.fd);
    if (c->stream_code != 0) {
        assert(!ok);
        assert(err != NULL && err->domain == CONVOY_ERROR);
        if (err->code != c->stream_code) {
            fprintf(stderr, "stream: code %d (%s), expected %d\n", err->code,
                    err->message, c->stream_code);
            return 1;
        }
        check_message(err, c->message, dir);
        printf("%s: ok (%s)\n", c->name, err->message);
        g_string_free(k.order, TRUE);
        return 0;
    }
    if (!ok) {
        fprintf(stderr, "stream failed: %s\n", err->message);
        return 1;
    }
    {
        g_autofree char *want = NULL;
        g_auto(GStrv) pairs = g_strsplit(c->disks, " ", -1);

        for (char **p = pairs; *p != NULL; p++)
            *strchr(*p, '=') = '\0';
        want = g_strjoinv(" ", pairs);
        if (strcmp(k.order->str, want) != 0) {
            fprintf(stderr, "disks delivered: '%s', expected '%s'\n",
                    k.order->str, want);
            return 1;
        }
    }
    assert(xva_reader_bytes_read(r) > 0);
    /* A reader streams once. */
    assert(!xva_reader_stream(r, NULL, &check_ops, &k, NULL));
    printf("%s: ok (%s, %" PRIu64 " bytes read)\n", c->name, k.order->str,
           xva_reader_bytes_read(r));
    g_string_free(k.order, TRUE);
    return 0;
}

/* ---- ova.xml parsing, on in-memory documents ---- */

#define OBJ(cls, id, fields) \
    "<value><struct><member><name>class</name><value>" cls "</value></member>" \
    "<member><name>id</name><value>" id "</value></member>" \
    "<member><name>snapshot</name><value><struct>" fields \
    "</struct></value></member></struct></value>"
#define M(name, value) "<member><name>" name "</name>" value "</member>"
#define S(text) "<value>" text "</value>"
#define DOC(objects) \
    "<value><struct>" M("version", "<value><struct>" M("export_vsn", S("2")) \
    "</struct></value>") M("objects", "<value><array><data>" objects \
    "</data></array></value>") "</struct></value>"
#define VM_(extra) OBJ("VM", "Ref:1", M("name_label", S("vm1")) \
    M("memory_static_max", S("1073741824")) M("VCPUs_max", S("2")) extra)
#define REFS(name, refs) M(name, "<value><array><data>" refs "</data></array></value>")

struct ova_case {
    const char *name;
    const char *xml;
    unsigned flags;
    const char *error;         /* expected FORMAT message, or NULL */
    const char *vm_name;       /* expected name_label when ok */
};

static const struct ova_case ova_cases[] = {
    {"minimal", DOC(VM_("")), 0, NULL, "vm1"},
    {"typed-values",
     DOC(OBJ("VM", "Ref:1",
             M("name_label", "<value><string>typed &amp; tagged</string></value>")
             M("memory_static_max", "<value><string>2147483648</string></value>")
             M("VCPUs_max", "<value><i4>4</i4></value>")
             M("is_a_template", "<value><boolean>0</boolean></value>")
             M("HVM_shadow_multiplier", "<value><double>1.0</double></value>")))
     , 0, NULL, "typed & tagged"},
    {"pretty-printed",
     "<?xml version=\"1.0\"?>\n<value>\n <struct>\n  <member>\n   <name>objects</name>\n"
     "   <value>\n    <array>\n     <data>\n" VM_("") "\n     </data>\n    </array>\n"
     "   </value>\n  </member>\n </struct>\n</value>\n", 0, NULL, "vm1"},
    {"dom0-skipped",
     DOC(OBJ("VM", "Ref:0", M("name_label", S("dom0"))
             M("is_control_domain", "<value><boolean>1</boolean></value>")
             M("memory_static_max", S("1"))) VM_("")), 0, NULL, "vm1"},
    {"template-skipped",
     DOC(OBJ("VM", "Ref:0", M("name_label", S("tmpl"))
             M("is_a_template", "<value><boolean>1</boolean></value>")
             M("memory_static_max", S("1"))) VM_("")), 0, NULL, "vm1"},
    {"only-template",
     DOC(OBJ("VM", "Ref:0", M("name_label", S("tmpl"))
             M("is_a_template", "<value><boolean>1</boolean></value>")
             M("memory_static_max", S("1")))), 0, NULL, "tmpl"},
    {"unknown-classes", DOC(OBJ("PVS_site", "Ref:7", "") VM_("")
                            OBJ("host", "Ref:8", "")), 0, NULL, "vm1"},
    {"two-vms", DOC(VM_("") OBJ("VM", "Ref:2", M("memory_static_max", S("1")))), 0,
     "ova.xml: the export holds 2 VMs and 2 of them are neither templates nor snapshots; expected exactly one"},
    {"no-vm", DOC(OBJ("SR", "Ref:1", "")), 0, "ova.xml: the export holds no VM"},
    {"no-objects", "<value><struct></struct></value>", 0, "ova.xml: no 'objects' member"},
    {"not-struct", "<value>\r\n  \r\n</value>", 0,
     "ova.xml: expected an XML-RPC <value> holding a <struct>"},
    {"not-struct-lenient", "<value>\r\n  \r\n</value>", XVA_OPEN_LENIENT, NULL, ""},
    {"not-xml", "<value><struct>", 0, "ova.xml:1: xml: *"},
    {"not-xml-lenient", "<value><struct>", XVA_OPEN_LENIENT, "ova.xml:1: xml: *"},
    {"doctype",
     "<!DOCTYPE value [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><value>&b;</value>",
     XVA_OPEN_LENIENT, "ova.xml: DOCTYPE and entity declarations are not allowed"},
    {"external-entity",
     "<!DOCTYPE value SYSTEM \"http://example.com/x.dtd\"><value/>", 0,
     "ova.xml: DOCTYPE and entity declarations are not allowed"},
    {"vbd-names-missing-vdi",
     DOC(VM_(REFS("VBDs", S("Ref:5")))
         OBJ("VBD", "Ref:5", M("device", S("xvda")) M("VDI", S("Ref:99")))), 0,
     "ova.xml: VBD 'Ref:5' names VDI 'Ref:99', which is not in the export"},
    {"vm-names-missing-vbd", DOC(VM_(REFS("VBDs", S("Ref:5")))), 0,
     "ova.xml: VM 'Ref:1' names VBD 'Ref:5', which is not in the export"},
    {"vbd-names-a-vif",
     DOC(VM_(REFS("VBDs", S("Ref:5"))) OBJ("VIF", "Ref:5", "")), 0,
     "ova.xml: VM 'Ref:1' names VBD 'Ref:5', which is a VIF"},
    {"bad-virtual-size",
     DOC(VM_(REFS("VBDs", S("Ref:5")))
         OBJ("VBD", "Ref:5", M("device", S("xvda")) M("VDI", S("Ref:6")))
         OBJ("VDI", "Ref:6", M("virtual_size", S("12abc")))), 0,
     "ova.xml: VDI 'Ref:6' field 'virtual_size': expected a decimal number, got '12abc'"},
    {"no-virtual-size",
     DOC(VM_(REFS("VBDs", S("Ref:5")))
         OBJ("VBD", "Ref:5", M("device", S("xvda")) M("VDI", S("Ref:6")))
         OBJ("VDI", "Ref:6", "")), 0,
     "ova.xml: VDI 'Ref:6' has no field 'virtual_size'"},
    {"no-memory", DOC(OBJ("VM", "Ref:1", "")), 0,
     "ova.xml: VM 'Ref:1' has no field 'memory_static_max'"},
    {"bad-bool",
     DOC(OBJ("VM", "Ref:1", M("is_a_template", "<value><boolean>maybe</boolean></value>"))),
     0, "ova.xml: VM 'Ref:1' field 'is_a_template': expected a boolean, got 'maybe'"},
    {"struct-for-string",
     DOC(OBJ("VM", "Ref:1", M("memory_static_max", S("1"))
             M("name_label", "<value><struct/></value>"))), 0,
     "ova.xml: VM 'Ref:1' field 'name_label': expected a string, got a struct or an array"},
    {"duplicate-id", DOC(VM_("") VM_("")), 0, "ova.xml: object id 'Ref:1' appears twice"},
    {"object-without-id", DOC("<value><struct></struct></value>"), 0,
     "ova.xml: object 1: expected a struct with 'class', 'id' and a 'snapshot' struct"},
    {"objects-not-array", "<value><struct>" M("objects", S("x")) "</struct></value>", 0,
     "ova.xml: 'objects' is not an array"},
    {NULL, NULL},
};

static int
run_ova_cases(void)
{
    for (const struct ova_case *c = ova_cases; c->name != NULL; c++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(xva_meta) m = xva_meta_parse_flags(c->xml, strlen(c->xml),
                                                     c->flags, &err);

        if (c->error != NULL) {
            if (m != NULL) {
                fprintf(stderr, "ova %s: parsed, expected '%s'\n", c->name, c->error);
                return 1;
            }
            assert(err->domain == CONVOY_ERROR && err->code == CONVOY_ERROR_FORMAT);
            check_message(err, c->error, "");
        } else {
            if (m == NULL) {
                fprintf(stderr, "ova %s: %s\n", c->name, err->message);
                return 1;
            }
            assert(strcmp(m->vm.name_label, c->vm_name) == 0);
        }
        printf("ova %s: ok\n", c->name);
    }
    /* The size bound holds before any parsing. */
    {
        g_autoptr(GError) err = NULL;
        size_t n = XVA_OVA_XML_MAX + 1;
        g_autofree char *big = g_malloc(n);

        memset(big, ' ', n);
        assert(xva_meta_parse(big, n, &err) == NULL);
        check_message(err, "ova.xml: 16777217 bytes, more than the 16777216-byte limit", "");
    }
    return 0;
}

/* The real XenServer 7.0 ova.xml of the shared corpus. */
static int
run_ova_real(void)
{
    g_autofree char *xml = NULL;
    size_t len = 0;
    g_autoptr(GError) err = NULL;
    g_autoptr(xva_meta) m = NULL;
    const struct xva_vm *vm;
    const struct xva_vbd *b;
    const struct xva_vif *f;

    if (!g_file_get_contents(SHARED_CORPUS "/xva/ova.xml", &xml, &len, NULL)) {
        fprintf(stderr, "ova-real: skipped, no %s/xva/ova.xml\n", SHARED_CORPUS);
        return 77;
    }
    m = xva_meta_parse(xml, len, &err);
    if (m == NULL) {
        fprintf(stderr, "ova-real: %s\n", err->message);
        return 1;
    }
    vm = &m->vm;
    assert(m->version_major == 2);
    assert(strcmp(vm->name_label, "citrix-vpx-xcm-20161117110611") == 0);
    assert(strcmp(vm->uuid, "7b9e7e56-fa35-ca26-6a70-c033a80ee571") == 0);
    assert(vm->memory_static_max == 6979321856ull);
    assert(vm->memory_dynamic_max == 6979321856ull);
    assert(vm->vcpus_max == 1 && vm->vcpus_at_startup == 1);
    assert(strcmp(vm->hvm_boot_policy, "BIOS order") == 0);
    assert(strcmp(vm->hvm_boot_order, "cd") == 0);
    assert(strcmp(vm->pv_bootloader, "") == 0);
    assert(strcmp(vm->pv_args, "") == 0);
    assert(strcmp(vm->domain_type, "") == 0);
    assert(!vm->firmware_uefi);
    assert(strcmp(vm->platform_viridian, "false") == 0);
    assert(vm->vbds->len == 1);
    b = vm->vbds->pdata[0];
    assert(strcmp(b->ref, "Ref:1735") == 0);
    assert(strcmp(b->device, "xvda") == 0 && strcmp(b->userdevice, "0") == 0);
    assert(!b->is_cd && !b->bootable && !b->empty);
    assert(b->vdi != NULL);
    assert(strcmp(b->vdi->ref, "Ref:1736") == 0);
    assert(strcmp(b->vdi->uuid, "68ca36e1-557e-42f8-882d-d4e474cdcb9b") == 0);
    assert(strcmp(b->vdi->name_label, "Packer-disk") == 0);
    assert(b->vdi->virtual_size == 32212254720ull);
    assert(strcmp(b->vdi->sr_ref, "Ref:1737") == 0);
    assert(b->vdi->has_data);
    assert(m->vdis->len == 1);
    assert(vm->vifs->len == 2);
    f = vm->vifs->pdata[0];
    assert(strcmp(f->ref, "Ref:1733") == 0 && strcmp(f->device, "0") == 0);
    assert(strcmp(f->mac, "1e:28:cc:01:0e:9e") == 0);
    assert(strcmp(f->bridge, "xenapi") == 0);
    assert(strcmp(f->network_name, "Host internal management network") == 0);
    f = vm->vifs->pdata[1];
    assert(strcmp(f->ref, "Ref:1731") == 0 && strcmp(f->device, "1") == 0);
    assert(strcmp(f->mac, "a2:1a:7a:7c:81:96") == 0);
    assert(strcmp(f->bridge, "xapi1") == 0);
    assert(strcmp(f->network_name, "Bond 0+1") == 0);
    printf("ova-real: ok\n");
    return 0;
}

static int
run_named(const char *name)
{
    if (strcmp(name, "ova") == 0)
        return run_ova_cases();
    if (strcmp(name, "ova-real") == 0)
        return run_ova_real();
    for (const struct xva_case *c = cases; c->name != NULL; c++) {
        if (strcmp(c->name, name) == 0)
            return run_case(c);
    }
    fprintf(stderr, "test-xva: no case '%s'\n", name);
    return 99;
}

/* Every case of the tables is listed in tests/xva/meson.build and back. */
static int
check_listed(int argc, char **argv)
{
    g_autoptr(GHashTable) listed = g_hash_table_new(g_str_hash, g_str_equal);
    unsigned n = 2;
    int rc = 0;

    for (int i = 0; i < argc; i++)
        g_hash_table_add(listed, argv[i]);
    if (!g_hash_table_contains(listed, "ova") ||
        !g_hash_table_contains(listed, "ova-real")) {
        fprintf(stderr, "'ova' and 'ova-real' must be listed\n");
        rc = 1;
    }
    for (const struct xva_case *c = cases; c->name != NULL; c++, n++) {
        if (!g_hash_table_contains(listed, c->name)) {
            fprintf(stderr, "case '%s' is not listed in tests/xva/meson.build\n",
                    c->name);
            rc = 1;
        }
    }
    if (n != g_hash_table_size(listed)) {
        fprintf(stderr, "tests/xva/meson.build lists %u cases, the table has %u\n",
                g_hash_table_size(listed), n);
        rc = 1;
    }
    return rc;
}

int
main(int argc, char **argv)
{
    int worst = 0;

    if (argc > 1 && strcmp(argv[1], "--check-listed") == 0)
        return check_listed(argc - 2, argv + 2);
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            int rc = run_named(argv[i]);

            if (rc != 0 && rc != 77)
                return rc;
            worst = rc > worst ? rc : worst;
        }
        return worst;
    }
    if (run_named("ova") != 0)
        return 1;
    if (run_named("ova-real") == 1)
        return 1;
    for (const struct xva_case *c = cases; c->name != NULL; c++) {
        int rc = run_case(c);

        if (rc != 0 && rc != 77)
            return rc;
    }
    return 0;
}
