/* Source secrets (passwords, tokens) from a file or the environment.  A
 * secret is read only when a driver needs it, never copied into an error
 * message, and wiped when freed. */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "sources/sources-priv.h"
#include "util/error.h"

void
secret_free(char *s)
{
    if (s == NULL)
        return;
    memset(s, 0, strlen(s));
    g_free(s);
}

char *
secret_read_file(const char *source_name, const char *what, const char *path,
                 GError **error)
{
    g_autoptr(GError) err = NULL;
    char *data = NULL;
    size_t len = 0;

    if (!g_file_get_contents(path, &data, &len, &err)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO,
                    "source '%s': cannot read %s '%s': %s", source_name, what,
                    path, err->message);
        return NULL;
    }
    /* The first line: files written by `echo` end with a newline. */
    char *nl = memchr(data, '\n', len);
    if (nl != NULL) {
        memset(nl, 0, len - (size_t)(nl - data));
        len = (size_t)(nl - data);
    }
    if (len > 0 && data[len - 1] == '\r')
        data[--len] = '\0';
    if (len == 0 || strlen(data) != len) {
        secret_free(data);
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID,
                    "source '%s': %s file '%s' is empty or holds a NUL byte",
                    source_name, what, path);
        return NULL;
    }
    return data;
}

char *
secret_read_env(const char *source_name, const char *what, const char *var,
                GError **error)
{
    const char *v = g_getenv(var);

    if (v == NULL || *v == '\0') {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID,
                    "source '%s': environment variable %s (%s) is not set or empty",
                    source_name, var, what);
        return NULL;
    }
    return g_strdup(v);
}

char *
secret_read_password(const struct manifest_source *ms, GError **error)
{
    if (ms->password_file != NULL)
        return secret_read_file(ms->name, "password_file", ms->password_file,
                                error);
    if (ms->password_env != NULL)
        return secret_read_env(ms->name, "password_env", ms->password_env,
                               error);
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID,
                "source '%s': no password_file or password_env", ms->name);
    return NULL;
}
