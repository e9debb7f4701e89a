/*
 * info_codec: what a binding remembers of its client (struct dp_client_info, lease.h) as
 * binding record versions 3-4 (store.c) and journal entry versions 2-3 (journal.c) carry it: u8
 * host, vendor, circuit and policy lengths, then their bytes. Below both so that neither
 * takes it from the other. Private to lmdb-store: never included from another folder.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lease.h"

/** Bytes of the largest store_info_put() output. */
#define STORE_INFO_MAX_LEN	(4 + DP_INFO_HOST_MAX + DP_INFO_VENDOR_MAX + \
				 DP_INFO_CIRCUIT_MAX + DP_INFO_POLICY_MAX)

/**
 * Write @p in's encoding at @p buf: at most STORE_INFO_MAX_LEN bytes (longer fields are cut).
 * @return the length written. Pure; any thread.
 */
size_t store_info_put(const struct dp_client_info *in, uint8_t *buf);

/**
 * Read store_info_put()'s encoding: exactly @p len bytes at @p p. Text is read as printable
 * ASCII (any other byte '?'). @return false (and @p in untouched) when the lengths exceed
 * their fields or do not add up to @p len. Pure; any thread.
 */
bool store_info_get(const uint8_t *p, size_t len, struct dp_client_info *in);
