/*
 * mdb_err: LMDB's return codes become lmdb-store's (see mdb_err.h), and lmdb-store's codes
 * their names (store_strerror(), declared in store.h): below store.c and journal.c, which
 * both use them, so that neither takes them from the other.
 */
#include <errno.h>
#include <string.h>

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

const char *store_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case STORE_E_SCHEMA:
		return "unknown store schema or layout";
	case STORE_E_FULL:
		return "store full";
	case STORE_E_CORRUPT:
		return "corrupt store record";
	case STORE_E_IO:
		return "store I/O error";
	default:
		break;
	}
	if (err < 0 && err > -4096) {
		return strerror(-err);
	}
	return "unknown error";
}
