/* File helpers: durable atomic replacement of small files. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

/* Write len bytes to path atomically and durably: a temporary file in the
 * same directory, fsync, rename over path, fsync the directory.  mode is
 * the new file's permission bits.  Errors: CONVOY_ERROR_IO / _NOSPACE
 * naming path. */
bool file_write_atomic(const char *path, const void *data, size_t len,
                       int mode, GError **error);
/* fsync a directory (after creating or renaming entries in it). */
bool file_sync_dir(const char *dir, GError **error);
