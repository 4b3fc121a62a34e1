/* Store locations: the syntax of a state store's location (manifest
 * "state:", --state), without knowing which backends exist.  A location
 * is a plain path, "SCHEME:PATH" (a file named by path, PATH relative to
 * whoever resolves it) or "SCHEME://…" (a server URL, taken verbatim).
 * SCHEME is RFC 3986's (a letter, then letters, digits, '+', '-', '.'),
 * at least two characters; a path whose first component has a ':' is
 * written "./a:b".  engine/state maps schemes to backends. */
#pragma once

#include <stdbool.h>
#include <glib.h>

/* Split loc: *scheme gets the lowercased scheme (a new string, caller
 * frees) or NULL for a plain path; *rest points into loc after "SCHEME:"
 * (loc itself for a plain path). */
void location_split(const char *loc, char **scheme, const char **rest);

/* Whether a rest of location_split is a URL's ("//…"), not a path. */
bool location_rest_is_url(const char *rest);

/* loc with its path made absolute against base_dir (a plain path or
 * "SCHEME:PATH"); a URL as it is.  Returns a new string, caller frees, or
 * NULL with *problem (static text) for "SCHEME:" with no path. */
char *location_resolve(const char *loc, const char *base_dir,
                       const char **problem);

/* loc for messages: a URL without its password.  Returns a new string,
 * caller frees. */
char *location_display(const char *loc);
