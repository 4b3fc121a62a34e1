/* Store locations: "PATH", "SCHEME:PATH" or "SCHEME://…", split and
 * resolved against a manifest's folder (see location.h). */
#include "config.h"

#include <string.h>

#include "util/location.h"

void
location_split(const char *loc, char **scheme, const char **rest)
{
    size_t n = 0;

    *scheme = NULL;
    *rest = loc;
    if (!g_ascii_isalpha(loc[0]))
        return;
    while (g_ascii_isalnum(loc[n]) || loc[n] == '+' || loc[n] == '-' ||
           loc[n] == '.')
        n++;
    if (n < 2 || loc[n] != ':')
        return;
    *scheme = g_ascii_strdown(loc, (gssize)n);
    *rest = loc + n + 1;
}

bool
location_rest_is_url(const char *rest)
{
    return g_str_has_prefix(rest, "//");
}

char *
location_resolve(const char *loc, const char *base_dir, const char **problem)
{
    g_autofree char *scheme = NULL;
    const char *rest = NULL;

    location_split(loc, &scheme, &rest);
    if (scheme != NULL && location_rest_is_url(rest))
        return g_strdup(loc);
    if (scheme != NULL && rest[0] == '\0') {
        *problem = "expected a path after the scheme";
        return NULL;
    }
    g_autofree char *path = g_canonicalize_filename(rest, base_dir);
    if (scheme == NULL)
        return g_steal_pointer(&path);
    return g_strdup_printf("%.*s:%s", (int)(rest - 1 - loc), loc, path);
}

char *
location_display(const char *loc)
{
    g_autofree char *scheme = NULL;
    const char *rest = NULL;

    location_split(loc, &scheme, &rest);
    if (scheme == NULL || !location_rest_is_url(rest))
        return g_strdup(loc);
    g_autoptr(GUri) uri = g_uri_parse(loc, G_URI_FLAGS_HAS_PASSWORD, NULL);
    if (uri == NULL)
        return g_strdup_printf("%s://…", scheme);
    return g_uri_to_string_partial(uri, G_URI_HIDE_PASSWORD);
}
