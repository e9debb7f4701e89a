/*
 * mdb_err: the one mapping of LMDB's return codes to lmdb-store's own (STYLE.md: "convert
 * foreign error codes in exactly one function per library"). The binding store (store.c) and
 * the journal (journal.c) both use it; it lives below both so that neither takes it from the
 * other. Private to lmdb-store: never included from another folder.
 */
#pragma once

/**
 * Map an LMDB return code (or an errno value LMDB passes through) to ours:
 * MDB_SUCCESS 0, MDB_NOTFOUND -ENOENT, MDB_MAP_FULL STORE_E_FULL, MDB_CORRUPTED and
 * MDB_PAGE_NOTFOUND STORE_E_CORRUPT, MDB_INCOMPATIBLE STORE_E_SCHEMA, a positive errno
 * -errno, any other STORE_E_IO (enum store_err, store.h).
 * @note Pure; any thread. The caller records its own message (mdb_strerror()).
 */
int store_mdb_err(int rc);
