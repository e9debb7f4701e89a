/*
 * store_impl: what lmdb-store's own files share. Never included from another folder.
 */
#pragma once

/**
 * The one mapping of LMDB's return codes (and the errno values it passes through) to ours:
 * MDB_SUCCESS 0, MDB_NOTFOUND -ENOENT, MDB_MAP_FULL STORE_E_FULL, MDB_CORRUPTED and
 * MDB_PAGE_NOTFOUND STORE_E_CORRUPT, MDB_INCOMPATIBLE STORE_E_SCHEMA, an errno -errno, any
 * other STORE_E_IO. Pure; any thread.
 */
int store_mdb_err(int rc);
