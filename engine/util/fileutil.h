/* File helpers: durable atomic replacement of small files; outputs that
 * never go through a symbolic link. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

/* Write len bytes to path atomically and durably: a temporary file in the
 * same directory, fsync, rename over path, fsync the directory.  mode is
 * the new file's permission bits.  Errors: CONVOY_ERROR_IO / _NOSPACE
 * naming path; CONVOY_ERROR_CONFLICT when path is a symbolic link (it is
 * never replaced nor followed). */
bool file_write_atomic(const char *path, const void *data, size_t len,
                       int mode, GError **error);
/* fsync a directory (after creating or renaming entries in it). */
bool file_sync_dir(const char *dir, GError **error);

/* Refuse a symbolic link at path: convoy never writes an output through
 * one, nor replaces one.  CONVOY_ERROR_CONFLICT naming it; true when path
 * is absent or anything else. */
bool file_refuse_symlink(const char *path, GError **error);
/* The error for an output open() that failed with errno e (ELOOP from
 * O_NOFOLLOW: path is a symbolic link).  what: "create", "open". */
void file_set_open_error(GError **error, const char *what, const char *path,
                         int e);
/* Create path as a new empty file (O_CREAT | O_EXCL | O_NOFOLLOW) with
 * mode.  CONVOY_ERROR_CONFLICT when something is already there (a file,
 * a symbolic link, dangling or not); CONVOY_ERROR_IO otherwise. */
bool file_create_new(const char *path, int mode, GError **error);
