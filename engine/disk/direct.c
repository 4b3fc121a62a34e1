/* A raw file's writes, queued and written by a writer thread so that
 * reading and checksumming the source overlaps with the disk.
 * Contiguous writes are gathered into aligned slots of DIRECT_SLOT
 * bytes; a slot goes to the thread when it is full or when the next
 * write is not contiguous.  One thread takes the slots in order, so
 * writes land in the order given.  Its block-aligned part goes out
 * through the O_DIRECT descriptor, an unaligned head or tail (and
 * everything, where there is no direct I/O) through the buffered one.
 * The first failure is kept and reported by the next call;
 * disk_direct_drain waits for every queued write, so a flush after it
 * covers them all. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "disk/disk-priv.h"
#include "util/error.h"

#define DIRECT_SLOT (4 * 1024 * 1024)
#define DIRECT_SLOTS 4

/* A slot's bytes start at buf + offset % DISK_DIRECT_ALIGN, so that an
 * aligned file offset is an aligned address. */
struct slot {
    unsigned char *buf;         /* DIRECT_SLOT bytes, DISK_DIRECT_ALIGN aligned */
    uint64_t offset;            /* file offset of the first byte */
    size_t len;
};

static unsigned char *
slot_data(const struct slot *s)
{
    return s->buf + s->offset % DISK_DIRECT_ALIGN;
}

static size_t
slot_room(const struct slot *s)
{
    return DIRECT_SLOT - (size_t)(s->offset % DISK_DIRECT_ALIGN) - s->len;
}

struct disk_direct {
    int dfd;                    /* O_DIRECT descriptor, or -1 */
    int fd;                     /* buffered descriptor */
    char *path;                 /* names the file in errors */

    /* pthread rather than GMutex: ThreadSanitizer sees these. */
    pthread_mutex_t lock;
    pthread_cond_t cond;        /* any change below */
    struct slot slots[DIRECT_SLOTS];
    struct slot *free[DIRECT_SLOTS];
    unsigned nfree;
    struct slot *ready[DIRECT_SLOTS];   /* FIFO */
    unsigned ready_head, nready;
    unsigned busy;              /* slots being written (0 or 1) */
    bool quit;
    gint direct_off;            /* the file system refused a direct write */
    int err;                    /* first failure's errno, 0 if none */
    uint64_t err_offset;        /* and the offset it failed at */

    struct slot *fill;          /* being filled by the caller, or NULL */
    GThread *thread;
};

/* Write all of s (no lock held): aligned runs direct where it works,
 * the rest buffered.  0 or an errno; *at is where it failed. */
static int
write_slot(struct disk_direct *q, const struct slot *s, uint64_t *at)
{
    const unsigned char *p = slot_data(s);
    size_t len = s->len;
    uint64_t offset = s->offset;
    while (len > 0) {
        size_t skew = (size_t)(offset % DISK_DIRECT_ALIGN);
        bool direct = q->dfd >= 0 && !g_atomic_int_get(&q->direct_off) &&
                      skew == 0 && len >= DISK_DIRECT_ALIGN;
        size_t n = direct ? len & ~(size_t)(DISK_DIRECT_ALIGN - 1)
                 : skew > 0 ? MIN(len, DISK_DIRECT_ALIGN - skew) : len;
        ssize_t r = pwrite(direct ? q->dfd : q->fd, p, n, (off_t)offset);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && direct && errno == EINVAL) {
            /* Refused as a direct write: buffered from now on. */
            g_atomic_int_set(&q->direct_off, 1);
            continue;
        }
        if (r <= 0) {
            *at = offset;
            return r < 0 ? errno : EIO;
        }
        p += r;
        len -= (size_t)r;
        offset += (uint64_t)r;
    }
    return 0;
}

static gpointer
writer_thread(gpointer data)
{
    struct disk_direct *q = data;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->quit && q->nready == 0)
            pthread_cond_wait(&q->cond, &q->lock);
        if (q->quit)
            break;
        struct slot *s = q->ready[q->ready_head];
        q->ready_head = (q->ready_head + 1) % DIRECT_SLOTS;
        q->nready--;
        q->busy++;
        bool skip = q->err != 0;        /* the copy has failed already */
        pthread_mutex_unlock(&q->lock);

        uint64_t at = 0;
        int e = skip ? 0 : write_slot(q, s, &at);

        pthread_mutex_lock(&q->lock);
        if (e != 0 && q->err == 0) {
            q->err = e;
            q->err_offset = at;
        }
        q->free[q->nfree++] = s;
        q->busy--;
        pthread_cond_broadcast(&q->cond);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

/* Hand the slot being filled to the writers (lock held). */
static void
submit_locked(struct disk_direct *q)
{
    struct slot *s = q->fill;
    q->fill = NULL;
    if (s == NULL)
        return;
    if (s->len == 0) {
        q->free[q->nfree++] = s;
        return;
    }
    q->ready[(q->ready_head + q->nready) % DIRECT_SLOTS] = s;
    q->nready++;
    pthread_cond_broadcast(&q->cond);
}

/* Report the kept failure (lock held). */
static bool
check_locked(struct disk_direct *q, GError **error)
{
    if (q->err == 0)
        return true;
    disk_set_write_error(error, q->path, q->err, q->err_offset);
    return false;
}

struct disk_direct *
disk_direct_new(int dfd, int fd, const char *path, GError **error)
{
    struct disk_direct *q = g_new0(struct disk_direct, 1);
    q->dfd = dfd;
    q->fd = fd;
    q->path = g_strdup(path);
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    for (unsigned i = 0; i < DIRECT_SLOTS; i++) {
        void *p = NULL;
        if (posix_memalign(&p, DISK_DIRECT_ALIGN, DIRECT_SLOT) != 0) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO,
                        "cannot allocate write buffers for '%s'", path);
            disk_direct_free(q);
            return NULL;
        }
        q->slots[i].buf = p;
        q->free[q->nfree++] = &q->slots[i];
    }

    /* Signals are the main thread's business (stop requests). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    GError *terr = NULL;
    q->thread = g_thread_try_new("convoy-write", writer_thread, q, &terr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (terr != NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO,
                    "cannot start the writer thread for '%s': %s", path,
                    terr->message);
        g_error_free(terr);
        disk_direct_free(q);
        return NULL;
    }
    return q;
}

bool
disk_direct_write(struct disk_direct *q, uint64_t offset, const void *buf,
                  size_t len, GError **error)
{
    const unsigned char *p = buf;
    pthread_mutex_lock(&q->lock);
    while (len > 0) {
        if (!check_locked(q, error)) {
            pthread_mutex_unlock(&q->lock);
            return false;
        }
        struct slot *s = q->fill;
        if (s != NULL && (s->offset + s->len != offset || slot_room(s) == 0)) {
            submit_locked(q);
            s = NULL;
        }
        if (s == NULL) {
            while (q->nfree == 0 && q->err == 0)
                pthread_cond_wait(&q->cond, &q->lock);
            if (q->err != 0)
                continue;
            s = q->fill = q->free[--q->nfree];
            s->offset = offset;
            s->len = 0;
        }
        size_t n = MIN(len, slot_room(s));
        /* The copy is the caller's, the lock only guards the lists. */
        pthread_mutex_unlock(&q->lock);
        memcpy(slot_data(s) + s->len, p, n);
        pthread_mutex_lock(&q->lock);
        s->len += n;
        p += n;
        len -= n;
        offset += n;
        if (slot_room(s) == 0)
            submit_locked(q);
    }
    pthread_mutex_unlock(&q->lock);
    return true;
}

bool
disk_direct_drain(struct disk_direct *q, GError **error)
{
    pthread_mutex_lock(&q->lock);
    submit_locked(q);
    while (q->nready > 0 || q->busy > 0)
        pthread_cond_wait(&q->cond, &q->lock);
    bool ok = check_locked(q, error);
    pthread_mutex_unlock(&q->lock);
    return ok;
}

void
disk_direct_free(struct disk_direct *q)
{
    if (q == NULL)
        return;
    pthread_mutex_lock(&q->lock);
    q->quit = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    if (q->thread != NULL)
        g_thread_join(q->thread);
    for (unsigned i = 0; i < DIRECT_SLOTS; i++)
        free(q->slots[i].buf);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
    g_free(q->path);
    g_free(q);
}
