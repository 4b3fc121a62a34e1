/* Hash helpers: hex SHA-256 of strings, and an incremental XXH64. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Hex SHA-256 of len bytes; returns a new string. */
char *hash_sha256_hex(const void *data, size_t len);
/* Hex SHA-256 of a file's content; NULL (errno set) if unreadable. */
char *hash_sha256_file(const char *path);
/* XXH64 (seed 0) of len bytes. */
uint64_t hash_xxh64(const void *data, size_t len);
