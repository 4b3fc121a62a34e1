/* A raw file's block-aligned writes, queued and written by writer
 * threads so that reading and checksumming the source overlaps with the
 * disk.  Contiguous writes are gathered into aligned slots of
 * DIRECT_SLOT bytes; a slot goes to a writer thread when it is full or
 * when the next write is not contiguous.  The first failure is kept and
 * reported by the next call; disk_direct_drain waits for every queued
 * write, so a flush after it covers them all.  Writes land in the order
 * given: one that goes back behind the highest offset handed over waits
 * for the queue to empty first (the copy writes in increasing order; a
 * resume's rewrites come after a read, which drains). */
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
#define DIRECT_THREADS 2

struct slot {
    unsigned char *buf;         /* DIRECT_SLOT bytes, DISK_DIRECT_ALIGN aligned */
    uint64_t offset;
    size_t len;
};

struct disk_direct {
    int dfd;                    /* O_DIRECT descriptor, or -1 */
    int fd;                     /* buffered descriptor (fallback) */

    /* pthread rather than GMutex: ThreadSanitizer sees these. */
    pthread_mutex_t lock;
    pthread_cond_t cond;        /* any change below */
    struct slot slots[DIRECT_SLOTS];
    struct slot *free[DIRECT_SLOTS];
    unsigned nfree;
    struct slot *ready[DIRECT_SLOTS];   /* FIFO */
    unsigned ready_head, nready;
    unsigned busy;              /* slots being written */
    bool quit;
    gint direct_off;            /* the file system refused a direct write */
    int err;                    /* first failure's errno, 0 if none */
    uint64_t err_offset;        /* and the offset it failed at */

    struct slot *fill;          /* being filled by the caller, or NULL */
    uint64_t front;             /* end of the highest byte handed over */
    GThread *threads[DIRECT_THREADS];
    unsigned nthreads;
};

/* Write all of s (no lock held).  0 or an errno; *at is where it failed. */
static int
write_slot(struct disk_direct *q, const struct slot *s, uint64_t *at)
{
    const unsigned char *p = s->buf;
    size_t len = s->len;
    uint64_t offset = s->offset;
    while (len > 0) {
        int fd = q->dfd >= 0 && !g_atomic_int_get(&q->direct_off) ? q->dfd : q->fd;
        ssize_t r = pwrite(fd, p, len, (off_t)offset);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && fd == q->dfd && errno == EINVAL) {
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
check_locked(struct disk_direct *q, const char *path, GError **error)
{
    if (q->err == 0)
        return true;
    disk_set_write_error(error, path, q->err, q->err_offset);
    return false;
}

struct disk_direct *
disk_direct_new(int dfd, int fd, const char *path, GError **error)
{
    struct disk_direct *q = g_new0(struct disk_direct, 1);
    q->dfd = dfd;
    q->fd = fd;
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
    for (unsigned i = 0; i < DIRECT_THREADS && terr == NULL; i++) {
        q->threads[i] = g_thread_try_new("convoy-write", writer_thread, q, &terr);
        if (q->threads[i] != NULL)
            q->nthreads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (terr != NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO,
                    "cannot start a writer thread for '%s': %s", path,
                    terr->message);
        g_error_free(terr);
        disk_direct_free(q);
        return NULL;
    }
    return q;
}

bool
disk_direct_write(struct disk_direct *q, uint64_t offset, const void *buf,
                  size_t len, const char *path, GError **error)
{
    const unsigned char *p = buf;
    pthread_mutex_lock(&q->lock);
    while (len > 0) {
        if (!check_locked(q, path, error)) {
            pthread_mutex_unlock(&q->lock);
            return false;
        }
        struct slot *s = q->fill;
        if (s != NULL && (s->offset + s->len != offset || s->len == DIRECT_SLOT)) {
            submit_locked(q);
            s = NULL;
        }
        if (s == NULL) {
            /* Behind the front, this may overwrite a queued write that
             * another thread could send later: let them all land first. */
            while (offset < q->front && (q->nready > 0 || q->busy > 0) &&
                   q->err == 0)
                pthread_cond_wait(&q->cond, &q->lock);
            while (q->nfree == 0 && q->err == 0)
                pthread_cond_wait(&q->cond, &q->lock);
            if (q->err != 0)
                continue;
            s = q->fill = q->free[--q->nfree];
            s->offset = offset;
            s->len = 0;
        }
        size_t n = MIN(len, (size_t)DIRECT_SLOT - s->len);
        /* The copy is the caller's, the lock only guards the lists. */
        pthread_mutex_unlock(&q->lock);
        memcpy(s->buf + s->len, p, n);
        pthread_mutex_lock(&q->lock);
        s->len += n;
        p += n;
        len -= n;
        offset += n;
        q->front = MAX(q->front, offset);
        if (s->len == DIRECT_SLOT)
            submit_locked(q);
    }
    pthread_mutex_unlock(&q->lock);
    return true;
}

bool
disk_direct_drain(struct disk_direct *q, const char *path, GError **error)
{
    pthread_mutex_lock(&q->lock);
    submit_locked(q);
    while (q->nready > 0 || q->busy > 0)
        pthread_cond_wait(&q->cond, &q->lock);
    bool ok = check_locked(q, path, error);
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
    for (unsigned i = 0; i < q->nthreads; i++)
        g_thread_join(q->threads[i]);
    for (unsigned i = 0; i < DIRECT_SLOTS; i++)
        free(q->slots[i].buf);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
    g_free(q);
}
