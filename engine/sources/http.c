/* HTTP(S) for sources through libcurl: TLS settings and credentials of a
 * source, small POSTs (XML-RPC), and GETs whose body streams into a socket
 * that an XVA reader reads like a file, so an export is never stored. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <curl/curl.h>
#include <glib.h>

#include "sources/sources.h"
#include "sources/sources-priv.h"
#include "util/error.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(CURL, curl_easy_cleanup)

struct http_client {
    char *source_name;
    char *ca_file;
    bool insecure;
    char *username;       /* basic auth, or NULL */
    char *password;       /* secret */
    char *bearer;         /* "Authorization: Bearer …" header; secret */
};

static gsize curl_ready;

static void
http_global_init(void)
{
    if (g_once_init_enter(&curl_ready)) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        g_once_init_leave(&curl_ready, 1);
    }
}

struct http_client *
http_client_new(const struct manifest_source *ms, unsigned flags,
                GError **error)
{
    g_autoptr(http_client) c = g_new0(struct http_client, 1);

    http_global_init();
    c->source_name = g_strdup(ms->name);
    c->ca_file = g_strdup(ms->ca_file);
    c->insecure = ms->insecure;
    if ((flags & HTTP_CLIENT_AUTH) == 0)
        return g_steal_pointer(&c);
    if (ms->token_file != NULL) {
        char *tok = secret_read_file(ms->name, "token_file", ms->token_file,
                                     error);
        if (tok == NULL)
            return NULL;
        c->bearer = g_strconcat("Authorization: Bearer ", tok, NULL);
        secret_free(tok);
    } else if (ms->username != NULL) {
        c->username = g_strdup(ms->username);
        c->password = secret_read_password(ms, error);
        if (c->password == NULL)
            return NULL;
    }
    return g_steal_pointer(&c);
}

void
http_client_free(struct http_client *c)
{
    if (c == NULL)
        return;
    g_free(c->source_name);
    g_free(c->ca_file);
    g_free(c->username);
    secret_free(c->password);
    secret_free(c->bearer);
    g_free(c);
}

char *
http_url_for_display(const char *url)
{
    g_autoptr(GUri) u = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);

    if (u == NULL)
        return g_strdup("(unparsable URL)");
    return g_uri_join(G_URI_FLAGS_NONE, g_uri_get_scheme(u), NULL,
                      g_uri_get_host(u), g_uri_get_port(u), g_uri_get_path(u),
                      NULL, NULL);
}

/* The common options of every request. */
static struct curl_slist *
http_setup(struct http_client *c, CURL *h, const char *url,
           char *errbuf)
{
    struct curl_slist *hdrs = NULL;

    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    /* A stalled transfer (no byte for two minutes) is a dropped one. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 120L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "convoy/" PACKAGE_VERSION);
    if (c->ca_file != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    if (c->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->username != NULL) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, c->username);
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->password);
    }
    if (c->bearer != NULL)
        hdrs = curl_slist_append(hdrs, c->bearer);
    return hdrs;
}

static bool
curl_code_is_transient(CURLcode rc, long status)
{
    /* An if chain: CURLcode has ~100 members, a switch would list them. */
    if (rc == CURLE_HTTP_RETURNED_ERROR)
        return status >= 500;
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_PARTIAL_FILE ||
           rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR ||
           rc == CURLE_SEND_ERROR || rc == CURLE_OPERATION_TIMEDOUT;
}

/* The error of a failed request: "curl: LABEL: what" (CONVOY_ERROR_IO);
 * *transient says whether a retry may help. */
static void
http_set_error(GError **error, bool *transient, CURLcode rc, long status,
               const char *label, const char *errbuf)
{
    const char *why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);

    if (transient != NULL)
        *transient = curl_code_is_transient(rc, status);
    if (rc == CURLE_HTTP_RETURNED_ERROR)
        /* A client error will not go away by asking again (except a
         * timeout or rate limit): not an I/O error, so no step retries. */
        g_set_error(error, CONVOY_ERROR,
                    status == 404 ? CONVOY_ERROR_NOT_FOUND
                    : status >= 400 && status < 500 && status != 408 && status != 429
                        ? CONVOY_ERROR_FAILED : CONVOY_ERROR_IO,
                    "curl: %s: the server answered HTTP %ld", label, status);
    else
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO, "curl: %s: %s",
                    label, why);
}

static unsigned
env_uint(const char *name, unsigned dflt, unsigned max)
{
    const char *v = g_getenv(name);
    guint64 n = 0;

    if (v == NULL || !g_ascii_string_to_unsigned(v, 10, 0, max, &n, NULL))
        return dflt;
    return (unsigned)n;
}

unsigned
http_max_attempts(void)
{
    unsigned n = env_uint("CONVOY_HTTP_ATTEMPTS", 5, 100);
    return n == 0 ? 1 : n;
}

void
http_backoff(unsigned attempt)
{
    guint64 ms = env_uint("CONVOY_HTTP_RETRY_MS", 500, 60000);

    for (unsigned i = 1; i < attempt && ms < 30000; i++)
        ms *= 2;
    if (ms > 30000)
        ms = 30000;
    g_usleep(ms * 1000);
}

static size_t
collect_body(char *ptr, size_t size, size_t nmemb, void *opaque)
{
    GByteArray *b = opaque;
    size_t n = size * nmemb;

    if (b->len + n > 256u * 1024 * 1024)
        return 0;  /* no XML-RPC answer is that big */
    g_byte_array_append(b, (const guint8 *)ptr, (guint)n);
    return n;
}

GBytes *
http_post(struct http_client *c, const char *url, const char *label,
          const char *content_type, const char *body, long timeout_s,
          bool *transient, GError **error)
{
    g_autoptr(CURL) h = curl_easy_init();
    g_autoptr(GByteArray) resp = g_byte_array_new();
    g_autofree char *ct = g_strdup_printf("Content-Type: %s", content_type);
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs;
    long status = 0;
    CURLcode rc;

    if (h == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "curl: %s: cannot create a handle", label);
        return NULL;
    }
    hdrs = http_setup(c, h, url, errbuf);
    hdrs = curl_slist_append(hdrs, ct);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    if (timeout_s > 0)
        curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK) {
        http_set_error(error, transient, rc, status, label, errbuf);
        return NULL;
    }
    return g_byte_array_free_to_bytes(g_steal_pointer(&resp));
}

/* ---- streamed GETs ---- */

struct http_stream {
    CURL *h;
    struct curl_slist *hdrs;
    char *label;
    int fds[2];           /* [0] read end (caller's), [1] written here */
    bool fd_taken;
    GThread *thread;
    CURLcode rc;
    long status;
    bool reader_gone;     /* the reader closed its end: not an error */
    char errbuf[CURL_ERROR_SIZE];
    GMutex lock;          /* guards the header fields below */
    char *content_length;
    char *etag;
    char *last_modified;
};

static size_t
stream_body(char *ptr, size_t size, size_t nmemb, void *opaque)
{
    struct http_stream *s = opaque;
    size_t n = size * nmemb;
    size_t done = 0;

    while (done < n) {
        ssize_t w = send(s->fds[1], ptr + done, n - done, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            s->reader_gone = errno == EPIPE || errno == ECONNRESET;
            return 0;
        }
        done += (size_t)w;
    }
    return n;
}

static void
keep_header(char **slot, const char *v, size_t len)
{
    while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
        len--;
    while (len > 0 && *v == ' ') {
        v++;
        len--;
    }
    g_free(*slot);
    *slot = g_strndup(v, len);
}

static size_t
stream_header(char *ptr, size_t size, size_t nmemb, void *opaque)
{
    struct http_stream *s = opaque;
    size_t n = size * nmemb;
    static const struct {
        const char *name;
        size_t off;
    } keep[] = {
        {"content-length:", G_STRUCT_OFFSET(struct http_stream, content_length)},
        {"etag:", G_STRUCT_OFFSET(struct http_stream, etag)},
        {"last-modified:", G_STRUCT_OFFSET(struct http_stream, last_modified)},
    };

    g_mutex_lock(&s->lock);
    if (n > 5 && g_ascii_strncasecmp(ptr, "HTTP/", 5) == 0) {
        /* A new response (after a redirect): forget the last one's. */
        g_clear_pointer(&s->content_length, g_free);
        g_clear_pointer(&s->etag, g_free);
        g_clear_pointer(&s->last_modified, g_free);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(keep); i++) {
        size_t l = strlen(keep[i].name);
        if (n > l && g_ascii_strncasecmp(ptr, keep[i].name, l) == 0)
            keep_header(G_STRUCT_MEMBER_P(s, keep[i].off), ptr + l, n - l);
    }
    g_mutex_unlock(&s->lock);
    return n;
}

static gpointer
stream_thread(gpointer opaque)
{
    struct http_stream *s = opaque;

    s->rc = curl_easy_perform(s->h);
    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->status);
    /* EOF for the reader: a short stream is then its format error, and
     * http_stream_finish() says why. */
    shutdown(s->fds[1], SHUT_WR);
    return NULL;
}

struct http_stream *
http_stream_open(struct http_client *c, const char *url, const char *label,
                 GError **error)
{
    g_autoptr(http_stream) s = g_new0(struct http_stream, 1);

    g_mutex_init(&s->lock);
    s->fds[0] = s->fds[1] = -1;
    s->label = g_strdup(label);
    s->h = curl_easy_init();
    if (s->h == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FAILED,
                    "curl: %s: cannot create a handle", label);
        return NULL;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s->fds) < 0) {
        int e = errno;
        g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(e),
                    "%s: socketpair: %s", label, g_strerror(e));
        return NULL;
    }
    s->hdrs = http_setup(c, s->h, url, s->errbuf);
    if (s->hdrs != NULL)
        curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, s->hdrs);
    curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, stream_body);
    curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->h, CURLOPT_HEADERFUNCTION, stream_header);
    curl_easy_setopt(s->h, CURLOPT_HEADERDATA, s);
    s->thread = g_thread_new("convoy-http", stream_thread, s);
    return g_steal_pointer(&s);
}

int
http_stream_take_fd(struct http_stream *s)
{
    s->fd_taken = true;
    return s->fds[0];
}

bool
http_stream_finish(struct http_stream *s, bool *transient, GError **error)
{
    if (s->thread != NULL) {
        g_thread_join(s->thread);
        s->thread = NULL;
    }
    if (s->rc == CURLE_OK)
        return true;
    if (s->rc == CURLE_WRITE_ERROR && s->reader_gone)
        return true;
    http_set_error(error, transient, s->rc, s->status, s->label, s->errbuf);
    return false;
}

char *
http_stream_identity(struct http_stream *s)
{
    GString *id = g_string_new(NULL);

    g_mutex_lock(&s->lock);
    if (s->content_length != NULL)
        g_string_append_printf(id, "http_content_length=%s\n", s->content_length);
    if (s->etag != NULL)
        g_string_append_printf(id, "http_etag=%s\n", s->etag);
    if (s->last_modified != NULL)
        g_string_append_printf(id, "http_last_modified=%s\n", s->last_modified);
    g_mutex_unlock(&s->lock);
    return g_string_free(id, FALSE);
}

void
http_stream_free(struct http_stream *s)
{
    if (s == NULL)
        return;
    if (s->thread != NULL) {
        /* Stop a transfer nobody reads any more. */
        if (!s->fd_taken && s->fds[0] >= 0) {
            close(s->fds[0]);
            s->fd_taken = true;
        }
        g_thread_join(s->thread);
    }
    if (!s->fd_taken && s->fds[0] >= 0)
        close(s->fds[0]);
    if (s->fds[1] >= 0)
        close(s->fds[1]);
    if (s->h != NULL)
        curl_easy_cleanup(s->h);
    curl_slist_free_all(s->hdrs);
    g_free(s->label);
    g_free(s->content_length);
    g_free(s->etag);
    g_free(s->last_modified);
    g_mutex_clear(&s->lock);
    g_free(s);
}

bool
source_http_post_json(const char *name, const char *url,
                      const char *token_file, const char *ca_file,
                      bool insecure, const char *body, long timeout_s,
                      GError **error)
{
    /* A webhook is a source-like endpoint: the same TLS and token rules. */
    struct manifest_source ms = {
        .name = (char *)name,
        .url = (char *)url,
        .token_file = (char *)token_file,
        .ca_file = (char *)ca_file,
        .insecure = insecure,
    };
    g_autoptr(http_client) c = http_client_new(&ms, token_file != NULL ? HTTP_CLIENT_AUTH : 0,
                                               error);
    g_autofree char *label = NULL;
    g_autoptr(GBytes) reply = NULL;

    if (c == NULL)
        return false;
    label = http_url_for_display(url);
    reply = http_post(c, url, label, "application/json", body, timeout_s, NULL, error);
    return reply != NULL;
}
