/*
 * store_impl: what lmdb-store's own files share. Never included from another folder.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lease.h"

/**
 * The one mapping of LMDB's return codes (and the errno values it passes through) to ours:
 * MDB_SUCCESS 0, MDB_NOTFOUND -ENOENT, MDB_MAP_FULL STORE_E_FULL, MDB_CORRUPTED and
 * MDB_PAGE_NOTFOUND STORE_E_CORRUPT, MDB_INCOMPATIBLE STORE_E_SCHEMA, an errno -errno, any
 * other STORE_E_IO. Pure; any thread.
 */
int store_mdb_err(int rc);

/** Bytes of the largest store_info_put() output. */
#define STORE_INFO_MAX_LEN	(4 + DP_INFO_HOST_MAX + DP_INFO_VENDOR_MAX + \
				 DP_INFO_CIRCUIT_MAX + DP_INFO_POLICY_MAX)

/**
 * What a binding remembers of its client, as binding record version 3 and journal entry
 * version 2 carry it (store.c): u8 host, vendor, circuit and policy lengths, then their
 * bytes. Writes at most STORE_INFO_MAX_LEN bytes (longer fields are cut). @return the length
 * written. Pure; any thread.
 */
size_t store_info_put(const struct dp_client_info *in, uint8_t *buf);

/**
 * Read store_info_put()'s encoding: exactly @p len bytes at @p p. Text is read as printable
 * ASCII (any other byte '?'). @return false (and @p in untouched) when the lengths exceed
 * their fields or do not add up to @p len. Pure; any thread.
 */
bool store_info_get(const uint8_t *p, size_t len, struct dp_client_info *in);
