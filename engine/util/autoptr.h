/* g_autoptr() cleanup functions for the C libraries convoy wraps. */
#pragma once

#include <glib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <sqlite3.h>
#include <yaml.h>
#include <archive.h>
#include <libvirt/libvirt.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlXPathContext, xmlXPathFreeContext)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlXPathObject, xmlXPathFreeObject)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlBuffer, xmlBufferFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sqlite3_stmt, sqlite3_finalize)

static inline void
convoy_sqlite3_close(sqlite3 *db)
{
    sqlite3_close_v2(db);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sqlite3, convoy_sqlite3_close)

static inline void
convoy_archive_free(struct archive *a)
{
    archive_read_free(a);
}
/* struct archive is read-side only in convoy. */
typedef struct archive convoy_archive_read;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(convoy_archive_read, convoy_archive_free)

static inline void
convoy_yaml_parser_free(yaml_parser_t *p)
{
    yaml_parser_delete(p);
    g_free(p);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(yaml_parser_t, convoy_yaml_parser_free)


/* libvirt handles: virConnect, virDomain, virStoragePool, virStorageVol,
 * virStream, virNetwork, virInterface (the *Ptr typedefs are pointers,
 * so the struct names are used). */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virConnect, virConnectClose)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virDomain, virDomainFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virStoragePool, virStoragePoolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virStorageVol, virStorageVolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virStream, virStreamFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virNetwork, virNetworkFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virInterface, virInterfaceFree)
