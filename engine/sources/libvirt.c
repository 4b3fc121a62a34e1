/* The libvirt source: any libvirt URI (xen:///system, xen+ssh://…, even
 * qemu+ssh:// for KVM re-homing).  Discovery reads the domain's
 * persistent XML (never the secure one); a disk is read by its local path
 * or, on a remote connection (disk_access: auto) or with disk_access:
 * stream, as its storage volume through virStorageVolDownload sparse
 * streams, which can start at any offset (a resume starts at its
 * checkpoint); shutdown is virDomainShutdown polled up to
 * shutdown_timeout, then virDomainDestroy with hard_shutdown_after. */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "disk/disk.h"
#include "sources/sources.h"
#include "sources/sources-priv.h"
#include "util/autoptr.h"
#include "util/error.h"
#include "util/virt.h"

extern const struct source_ops source_libvirt_ops;

#define LV_SHUTDOWN_DEFAULT 600
/* Bytes gathered from a download before they go to the sink. */
#define LV_BLOCK (1u << 20)
/* How often a dropped connection is reopened before a copy gives up
 * (the step and the job retry on top). */
#define LV_RECONNECTS 5

enum lv_sparse {
    LV_SPARSE_UNKNOWN,
    LV_SPARSE_YES,        /* the server takes VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM */
    LV_SPARSE_NO,
};

struct lv_source {
    GMutex lock;          /* guards conn, rw and sparse across workers */
    virConnectPtr conn;   /* owned; read-only until a download or a
                           * shutdown needs a read-write one */
    bool read_write;
    bool remote;          /* the URI names a transport or a host */
    enum lv_sparse sparse;
};

static void
lv_error(GError **error, const char *source_name, const char *what)
{
    const char *msg = virGetLastErrorMessage();

    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                "libvirt: source '%s': %s: %s", source_name, what,
                msg != NULL ? msg : "unknown error");
}

static struct source *
lv_open(const struct manifest_source *ms, GError **error)
{
    struct lv_source *ls = g_new0(struct lv_source, 1);
    struct source *s;

    virt_init();
    ls->conn = virConnectOpenReadOnly(ms->uri);
    if (ls->conn == NULL) {
        lv_error(error, ms->name, "cannot connect");
        g_free(ls);
        return NULL;
    }
    g_mutex_init(&ls->lock);
    /* Local: no transport and no host in the URI, the libvirt target's
     * rule; qemu+unix:///system is remote, so its disks stream. */
    ls->remote = virt_uri_is_remote(ms->uri);
    /* Keepalive: a dead peer is noticed in about 30 s, not at the TCP
     * timeout, and a stream waiting on it fails (and is retried). */
    s = g_new0(struct source, 1);
    if (ls->remote)
        s->note = virt_keepalive(ls->conn, ms->uri);
    s->ops = &source_libvirt_ops;
    s->ms = ms;
    s->priv = ls;
    return s;
}

static void
lv_close(struct source *s)
{
    struct lv_source *ls = s->priv;

    if (ls->conn != NULL)
        virConnectClose(ls->conn);
    g_mutex_clear(&ls->lock);
    g_free(ls);
    g_free(s);
}

/* A new reference to a live read-write connection: volume downloads and
 * shutdowns need one (libvirt refuses them read-only); convoy still never
 * changes a source's data.  A dropped connection is reopened, up to
 * LV_RECONNECTS times with backoff.  CONVOY_ERROR_LIBVIRT on failure. */
static virConnectPtr
lv_rw_conn(struct source *s, GError **error)
{
    struct lv_source *ls = s->priv;
    g_autoptr(GMutexLocker) locker G_GNUC_UNUSED = g_mutex_locker_new(&ls->lock);
    gulong delay = 250000;

    if (ls->read_write && virConnectIsAlive(ls->conn) == 1) {
        virConnectRef(ls->conn);
        return ls->conn;
    }
    for (unsigned i = 0;; i++) {
        virConnectPtr rw = virConnectOpenAuth(s->ms->uri, virConnectAuthPtrDefault, 0);

        if (rw != NULL) {
            if (ls->remote)
                g_free(virt_keepalive(rw, "(read-write)"));
            virConnectClose(ls->conn);
            ls->conn = rw;
            ls->read_write = true;
            virConnectRef(rw);
            return rw;
        }
        if (i + 1 >= LV_RECONNECTS || !ls->read_write) {
            lv_error(error, s->ms->name, "cannot connect read-write");
            if (error != NULL && *error != NULL)
                (*error)->code = CONVOY_ERROR_LIBVIRT;
            return NULL;
        }
        g_usleep(delay);
        delay *= 2;
    }
}

static virDomainPtr
lv_lookup(struct source *s, virConnectPtr conn, const char *name,
          GError **error)
{
    virDomainPtr dom = virDomainLookupByName(conn, name);

    /* A domain whose name a manifest cannot hold is named by its uuid
     * (convoy discover writes it so). */
    if (dom == NULL && g_uuid_string_is_valid(name))
        dom = virDomainLookupByUUIDString(conn, name);
    if (dom == NULL) {
        g_autofree char *what = g_strdup_printf("domain '%s'", name);
        lv_error(error, s->ms->name, what);
        if (error != NULL && *error != NULL)
            (*error)->code = CONVOY_ERROR_NOT_FOUND;
    }
    return dom;
}

/* target/timestamps/mtime of a volume's XML, or NULL. */
static char *
vol_mtime(virStorageVolPtr vol)
{
    g_autofree char *xml = virStorageVolGetXMLDesc(vol, 0);
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(xmlXPathContext) ctx = NULL;
    g_autoptr(xmlXPathObject) obj = NULL;
    xmlChar *t;
    char *out;

    if (xml == NULL)
        return NULL;
    doc = xmlReadMemory(xml, (int)strlen(xml), "volume.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL)
        return NULL;
    ctx = xmlXPathNewContext(doc);
    if (ctx == NULL)
        return NULL;
    obj = xmlXPathEvalExpression((const xmlChar *)"string(/volume/target/timestamps/mtime)", ctx);
    if (obj == NULL)
        return NULL;
    t = xmlXPathCastToString(obj);
    out = t != NULL && *t != '\0' ? g_strdup((const char *)t) : NULL;
    xmlFree(t);
    return out;
}

/* The first up to len bytes of a volume (a header probe). */
static bool
vol_head(virConnectPtr conn, virStorageVolPtr vol, unsigned char *buf,
         size_t len, size_t *got)
{
    g_autoptr(virStream) st = virStreamNew(conn, 0);

    *got = 0;
    if (st == NULL || virStorageVolDownload(vol, st, 0, len, 0) < 0)
        return false;
    while (*got < len) {
        int r = virStreamRecv(st, (char *)buf + *got, len - *got);
        if (r < 0) {
            virStreamAbort(st);
            return false;
        }
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return virStreamFinish(st) == 0;
}

/* Resolve a listed disk as its storage volume: size, format from its
 * content (a qcow2 is refused: a download gives its file bytes, not the
 * guest's disk), identity. */
static bool
resolve_volume(struct source *s, struct source_disk *d, const char *why, GString *id,
               GPtrArray *warnings, GError **error)
{
    g_autoptr(virConnect) conn = lv_rw_conn(s, error);
    g_autoptr(virStorageVol) vol = NULL;
    g_autofree char *mtime = NULL;
    g_autofree char *what = NULL;
    unsigned char head[512];
    struct disk_image_info info;
    virStorageVolInfo vi;
    size_t got = 0;
    enum disk_format declared = d->format;

    if (conn == NULL)
        return false;
    vol = virStorageVolLookupByPath(conn, d->id);
    if (vol == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                    "source '%s': disk %s ('%s'): no libvirt storage volume has this path (%s); a disk read over the connection must be in a libvirt storage pool (define a pool over its directory or volume group, or refresh it)",
                    s->ms->name, d->xen_dev, d->id, why);
        return false;
    }
    what = g_strdup_printf("disk %s: volume '%s'", d->xen_dev, d->id);
    if (virStorageVolGetInfo(vol, &vi) < 0) {
        lv_error(error, s->ms->name, what);
        return false;
    }
    /* Never ask for more than the volume holds. */
    if (vi.capacity > 0 &&
        !vol_head(conn, vol, head, (size_t)MIN((unsigned long long)sizeof head, vi.capacity), &got)) {
        g_autofree char *w = g_strdup_printf("%s: cannot download its header", what);
        lv_error(error, s->ms->name, w);
        return false;
    }
    disk_image_header(head, got, vi.capacity, &info);
    if (info.format == DISK_FORMAT_QCOW2) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "source '%s': disk %s ('%s') is a qcow2 image; a volume download stream (%s) carries its qcow2 file bytes, not the guest's disk, so convoy refuses it: read it by path on the host that has it (a local URI, disk_access: path) or convert it to raw at the source",
                    s->ms->name, d->xen_dev, d->id, why);
        return false;
    }
    if (info.unsupported != NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "source '%s': disk %s ('%s') is a %s image; only raw volumes can be streamed",
                    s->ms->name, d->xen_dev, d->id, info.unsupported);
        return false;
    }
    if (declared != DISK_FORMAT_RAW)
        g_ptr_array_add(warnings,
                        g_strdup_printf("disk %s ('%s'): the domain XML says %s but the volume is raw; it is read as raw",
                                        d->xen_dev, d->id, disk_format_name(declared)));
    d->size = vi.capacity;
    d->format = DISK_FORMAT_RAW;
    d->seekable = true;
    d->volume = virStorageVolGetKey(vol) != NULL ? g_strdup(virStorageVolGetKey(vol))
                                                 : g_strdup(d->id);
    mtime = vol_mtime(vol);
    g_string_append_printf(id, "volume=%s:%" G_GUINT64_FORMAT ":%s\n", d->volume,
                           d->size, mtime != NULL ? mtime : "");
    return true;
}

/* A <disk type='volume'>: the path of volume d->id in pool d->pool
 * becomes the disk's id, as if the XML had named the file. */
static bool
resolve_pool_volume(struct source *s, struct source_disk *d, GError **error)
{
    struct lv_source *ls = s->priv;
    g_autoptr(virStoragePool) pool = NULL;
    g_autoptr(virStorageVol) vol = NULL;
    char *path;

    {
        g_autoptr(GMutexLocker) locker G_GNUC_UNUSED = g_mutex_locker_new(&ls->lock);
        pool = virStoragePoolLookupByName(ls->conn, d->pool);
    }
    if (pool != NULL)
        vol = virStorageVolLookupByName(pool, d->id);
    path = vol != NULL ? virStorageVolGetPath(vol) : NULL;
    if (path == NULL) {
        g_autofree char *what = g_strdup_printf("disk %s: volume '%s' of pool '%s'",
                                                d->xen_dev, d->id, d->pool);
        lv_error(error, s->ms->name, what);
        if (error != NULL && *error != NULL)
            (*error)->code = CONVOY_ERROR_NOT_FOUND;
        return false;
    }
    g_free(d->id);
    d->id = path;
    g_free(d->storage);
    d->storage = g_strdup(path);
    g_clear_pointer(&d->pool, g_free);
    return true;
}

/* The power state in convoy's words (those of XenAPI, lower case). */
static const char *
lv_state_name(int state)
{
    switch (state) {
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED:
        return "running";
    case VIR_DOMAIN_PAUSED:
        return "paused";
    case VIR_DOMAIN_SHUTDOWN:
        return "shutting down";
    case VIR_DOMAIN_SHUTOFF:
        return "halted";
    case VIR_DOMAIN_CRASHED:
        return "crashed";
    case VIR_DOMAIN_PMSUSPENDED:
        return "suspended";
    case VIR_DOMAIN_NOSTATE:
    default:
        return "unknown";
    }
}

static struct source_vm *
lv_describe(struct source *s, const struct manifest_vm *vm, GError **error)
{
    struct lv_source *ls = s->priv;
    virDomainPtr dom;
    g_autofree char *where = NULL;
    g_autoptr(GString) id = NULL;
    g_autoptr(source_vm) v = NULL;
    char *xml;
    int state = 0;

    {
        g_autoptr(GMutexLocker) locker G_GNUC_UNUSED = g_mutex_locker_new(&ls->lock);
        dom = lv_lookup(s, ls->conn, vm->name, error);
    }
    if (dom == NULL)
        return NULL;
    /* INACTIVE: the persistent definition, stable across boots; never
     * VIR_DOMAIN_XML_SECURE, which would bring passwords along. */
    xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    if (xml == NULL) {
        g_autofree char *what = g_strdup_printf("domain '%s': virDomainGetXMLDesc", vm->name);
        lv_error(error, s->ms->name, what);
        virDomainFree(dom);
        return NULL;
    }
    if (virDomainGetState(dom, &state, NULL, 0) < 0)
        state = VIR_DOMAIN_NOSTATE;
    virDomainFree(dom);
    where = g_strdup_printf("%s domain %s", s->ms->uri, vm->name);
    v = source_vm_from_domain_xml(xml, strlen(xml), where, SOURCE_XML_DISKS_LIST, error);
    free(xml);
    if (v == NULL)
        return NULL;
    id = g_string_new(NULL);
    g_string_append_printf(id, "libvirt_uri=%s\n%s", s->ms->uri, v->identity);
    for (guint i = 0; i < v->disks->len; i++) {
        struct source_disk *d = v->disks->pdata[i];
        enum manifest_disk_access mode = s->ms->disk_access;
        const char *why = "disk_access: stream";
        struct disk_image_info info;
        struct source_disk *local;

        if (d->pool != NULL && !resolve_pool_volume(s, d, error))
            return NULL;
        if (mode == MANIFEST_DISK_ACCESS_AUTO) {
            if (ls->remote) {
                mode = MANIFEST_DISK_ACCESS_STREAM;
                why = "the connection is remote";
            } else if (access(d->id, R_OK) != 0) {
                mode = MANIFEST_DISK_ACCESS_STREAM;
                why = "the path cannot be read on this host";
            } else {
                mode = MANIFEST_DISK_ACCESS_PATH;
            }
        }
        if (mode == MANIFEST_DISK_ACCESS_STREAM) {
            if (!resolve_volume(s, d, why, id, v->warnings, error))
                return NULL;
            continue;
        }
        local = source_local_disk(where, d->xen_dev, d->id,
                                  disk_format_name(d->format), v->warnings,
                                  &info, error);
        if (local == NULL)
            return NULL;
        /* What the domain XML names (a volume's name for type='volume'). */
        g_free(local->xml_source);
        local->xml_source = g_strdup(d->xml_source);
        g_string_append_printf(id, "disk=%s:%" G_GUINT64_FORMAT ":%lld%s\n",
                               local->id, local->size, (long long)info.mtime,
                               local->format == DISK_FORMAT_QCOW2 ? ":qcow2" : "");
        v->disks->pdata[i] = local;
        source_disk_free(d);
    }
    g_free(v->identity);
    v->identity = g_string_free(g_steal_pointer(&id), FALSE);
    v->powered_on = state == VIR_DOMAIN_RUNNING || state == VIR_DOMAIN_PAUSED ||
                    state == VIR_DOMAIN_BLOCKED || state == VIR_DOMAIN_PMSUSPENDED;
    v->power_state = g_strdup(lv_state_name(state));
    return g_steal_pointer(&v);
}

/* Every domain of the connection, persistent or not. */
static GPtrArray *
lv_list(struct source *s, GError **error)
{
    struct lv_source *ls = s->priv;
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(source_entry_free);
    virDomainPtr *doms = NULL;
    int n;

    {
        g_autoptr(GMutexLocker) locker G_GNUC_UNUSED = g_mutex_locker_new(&ls->lock);
        n = virConnectListAllDomains(ls->conn, &doms, 0);
    }
    if (n < 0) {
        lv_error(error, s->ms->name, "virConnectListAllDomains");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        const char *name = virDomainGetName(doms[i]);
        struct source_entry *e = g_new0(struct source_entry, 1);

        e->name = g_strdup(name != NULL ? name : "");
        e->key = g_strdup(e->name);
        g_ptr_array_add(out, e);
        virDomainFree(doms[i]);
    }
    free(doms);
    g_ptr_array_sort(out, source_entry_cmp);
    return g_steal_pointer(&out);
}

/* One download into the sink: data gathered in LV_BLOCK pieces (all-zero
 * pieces go as zeros), holes as zeros. */
struct lv_recv {
    const struct source_disk *d;
    const struct source_sink *sink;
    void *opaque;
    uint64_t pos;         /* offset of buf[0] */
    unsigned char *buf;
    size_t fill;
    GError *err;          /* the sink's error (not libvirt's) */
};

static bool
recv_flush(struct lv_recv *r)
{
    bool ok;

    if (r->fill == 0)
        return true;
    if (disk_is_zero(r->buf, r->fill))
        ok = r->sink->zero(r->opaque, r->pos, r->fill, &r->err);
    else
        ok = r->sink->data(r->opaque, r->pos, r->buf, r->fill, &r->err);
    if (!ok)
        return false;
    r->pos += r->fill;
    r->fill = 0;
    if (r->sink->progress != NULL)
        r->sink->progress(r->opaque, r->pos);
    return true;
}

static int
recv_data(virStreamPtr st, const char *data, size_t nbytes, void *opaque)
{
    struct lv_recv *r = opaque;
    size_t done = 0;

    if (r->pos + r->fill + nbytes > r->d->size) {
        g_set_error(&r->err, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "volume '%s' sent more than its %" G_GUINT64_FORMAT " bytes",
                    r->d->id, r->d->size);
        return -1;
    }
    while (done < nbytes) {
        size_t n = MIN(nbytes - done, LV_BLOCK - r->fill);
        memcpy(r->buf + r->fill, data + done, n);
        r->fill += n;
        done += n;
        if (r->fill == LV_BLOCK && !recv_flush(r))
            return -1;
    }
    return (int)nbytes;
}

static int
recv_hole(virStreamPtr st, long long length, void *opaque)
{
    struct lv_recv *r = opaque;

    if (length < 0 || r->pos + r->fill + (uint64_t)length > r->d->size) {
        g_set_error(&r->err, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "volume '%s' sent a hole past its %" G_GUINT64_FORMAT " bytes",
                    r->d->id, r->d->size);
        return -1;
    }
    if (!recv_flush(r))
        return -1;
    if (length == 0)
        return 0;
    if (!r->sink->zero(r->opaque, r->pos, (uint64_t)length, &r->err))
        return -1;
    r->pos += (uint64_t)length;
    if (r->sink->progress != NULL)
        r->sink->progress(r->opaque, r->pos);
    return 0;
}

static bool
stream_error(GError **error, struct source *s, const struct source_disk *d,
             const char *what, struct lv_recv *r)
{
    if (r != NULL && r->err != NULL) {
        g_propagate_error(error, g_steal_pointer(&r->err));
        return false;
    }
    /* LIBVIRT: a dropped connection, which the step retries. */
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_LIBVIRT,
                "libvirt: source '%s': volume '%s': %s: %s", s->ms->name, d->id,
                what, virGetLastErrorMessage());
    return false;
}

/* Stream a volume from start to its end through virStorageVolDownload,
 * sparse when the server supports it (holes arrive as zero runs). */
static bool
stream_volume(struct source *s, const struct source_disk *d, uint64_t start,
              const struct source_sink *sink, void *opaque, GError **error)
{
    struct lv_source *ls = s->priv;
    g_autoptr(virConnect) conn = lv_rw_conn(s, error);
    g_autoptr(virStorageVol) vol = NULL;
    g_autoptr(virStream) st = NULL;
    g_autofree unsigned char *buf = g_malloc(LV_BLOCK);
    struct lv_recv r = {
        .d = d, .sink = sink, .opaque = opaque, .pos = start, .buf = buf,
    };
    bool sparse;
    int rc;

    if (conn == NULL)
        return false;
    vol = virStorageVolLookupByKey(conn, d->volume);
    if (vol == NULL)
        return stream_error(error, s, d, "cannot find the volume", NULL);
    if (start >= d->size)
        return true;
    g_mutex_lock(&ls->lock);
    sparse = ls->sparse != LV_SPARSE_NO;
    g_mutex_unlock(&ls->lock);
    st = virStreamNew(conn, 0);
    if (st == NULL)
        return stream_error(error, s, d, "creating a stream", NULL);
    rc = virStorageVolDownload(vol, st, start, d->size - start,
                               sparse ? VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM : 0);
    if (rc < 0 && sparse) {
        virErrorPtr e = virGetLastError();
        if (e != NULL && (e->code == VIR_ERR_INVALID_ARG || e->code == VIR_ERR_NO_SUPPORT)) {
            /* An older server: plain streams, zeros found by scanning. */
            g_mutex_lock(&ls->lock);
            ls->sparse = LV_SPARSE_NO;
            g_mutex_unlock(&ls->lock);
            sparse = false;
            virStreamFree(g_steal_pointer(&st));
            st = virStreamNew(conn, 0);
            if (st == NULL)
                return stream_error(error, s, d, "creating a stream", NULL);
            rc = virStorageVolDownload(vol, st, start, d->size - start, 0);
        }
    }
    if (rc < 0)
        return stream_error(error, s, d, "starting the download", NULL);
    if (sparse) {
        rc = virStreamSparseRecvAll(st, recv_data, recv_hole, &r);
    } else {
        for (;;) {
            int n = virStreamRecv(st, (char *)buf + r.fill, LV_BLOCK - r.fill);
            if (n <= 0) {
                rc = n;
                break;
            }
            r.fill += (size_t)n;
            if ((r.fill == LV_BLOCK || r.pos + r.fill == d->size) && !recv_flush(&r)) {
                rc = -1;
                break;
            }
        }
    }
    if (rc < 0 || !recv_flush(&r)) {
        virStreamAbort(st);
        return stream_error(error, s, d, "downloading", &r);
    }
    if (virStreamFinish(st) < 0)
        return stream_error(error, s, d, "finishing the download", NULL);
    if (r.pos != d->size) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_LIBVIRT,
                    "libvirt: source '%s': volume '%s': the download ended at %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes",
                    s->ms->name, d->id, r.pos, d->size);
        return false;
    }
    return true;
}

static bool
lv_copy_disk_from(struct source *s, const struct source_vm *v,
                  const struct source_disk *d, uint64_t start,
                  const struct source_sink *sink, void *opaque,
                  GError **error)
{
    if (d->volume != NULL)
        return stream_volume(s, d, start, sink, opaque, error);
    if (start != 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: disk '%s' cannot be read from an offset", d->id);
        return false;
    }
    return source_copy_local_disk(d, sink, opaque, error);
}

static bool
lv_copy_disk(struct source *s, const struct source_vm *v,
             const struct source_disk *d, const struct source_sink *sink,
             void *opaque, GError **error)
{
    return lv_copy_disk_from(s, v, d, 0, sink, opaque, error);
}

static bool
lv_shutdown(struct source *s, const struct source_vm *v, char **how,
            GError **error)
{
    const struct manifest_source *ms = s->ms;
    guint64 timeout = ms->shutdown_timeout != 0 ? ms->shutdown_timeout
                                                : LV_SHUTDOWN_DEFAULT;
    guint64 wait = ms->hard_shutdown_after != 0 ? ms->hard_shutdown_after : timeout;
    g_autoptr(virConnect) conn = lv_rw_conn(s, error);
    gint64 deadline;
    virDomainPtr dom;
    int state = 0;

    if (conn == NULL) {
        g_prefix_error(error, "to shut down: ");
        return false;
    }
    dom = lv_lookup(s, conn, v->name, error);
    if (dom == NULL)
        return false;
    if (virDomainGetState(dom, &state, NULL, 0) == 0 && state == VIR_DOMAIN_SHUTOFF) {
        virDomainFree(dom);
        *how = g_strdup("already shut off");
        return true;
    }
    if (virDomainShutdown(dom) < 0) {
        g_autofree char *what = g_strdup_printf("domain '%s': virDomainShutdown", v->name);
        lv_error(error, ms->name, what);
        virDomainFree(dom);
        return false;
    }
    deadline = g_get_monotonic_time() + (gint64)wait * G_USEC_PER_SEC;
    while (virDomainGetState(dom, &state, NULL, 0) == 0 &&
           state != VIR_DOMAIN_SHUTOFF && g_get_monotonic_time() < deadline)
        g_usleep(200 * 1000);
    if (state == VIR_DOMAIN_SHUTOFF) {
        virDomainFree(dom);
        *how = g_strdup("clean");
        return true;
    }
    if (ms->hard_shutdown_after == 0) {
        virDomainFree(dom);
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "source '%s': domain '%s' did not shut down within %" G_GUINT64_FORMAT " s and is left running; shut it down, or set hard_shutdown_after to force it off",
                    ms->name, v->name, wait);
        return false;
    }
    if (virDomainDestroy(dom) < 0 &&
        !(virDomainGetState(dom, &state, NULL, 0) == 0 && state == VIR_DOMAIN_SHUTOFF)) {
        g_autofree char *what = g_strdup_printf("domain '%s': virDomainDestroy after %" G_GUINT64_FORMAT " s", v->name, wait);
        lv_error(error, ms->name, what);
        virDomainFree(dom);
        return false;
    }
    virDomainFree(dom);
    *how = g_strdup_printf("hard (clean shutdown did not finish within %" G_GUINT64_FORMAT " s)", wait);
    return true;
}

const struct source_ops source_libvirt_ops = {
    .kind = "libvirt",
    .open = lv_open,
    .describe = lv_describe,
    .list = lv_list,
    .copy_disk = lv_copy_disk,
    .copy_disk_from = lv_copy_disk_from,
    .shutdown = lv_shutdown,
    .close = lv_close,
};
