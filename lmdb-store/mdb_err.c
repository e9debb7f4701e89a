/*
 * mdb_err: LMDB's return codes become lmdb-store's (see mdb_err.h).
 */
#include <errno.h>

#include <lmdb.h>

#include "mdb_err.h"
#include "store.h"

int store_mdb_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_MAP_FULL:
		return STORE_E_FULL;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
		return STORE_E_CORRUPT;
	case MDB_INCOMPATIBLE:
		return STORE_E_SCHEMA;
	default:
		return rc > 0 ? -rc : STORE_E_IO;
	}
}
