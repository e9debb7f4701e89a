/*
 * bt_fix.h: the client keys of the binding tables' tests (test_bindings,
 * test_bindings_retire). Header-only, test code only.
 */
#pragma once

#include <stdint.h>
#include <string.h>

#include "lease.h"

/** The key of client number @p client (0..65535): a 7-byte hardware-address key, type 1
 *  (Ethernet), the number in its last two bytes. Pure; writes all of @p k. */
static inline void bt_fix_key(struct dp_client_key *k, unsigned client)
{
	memset(k, 0, sizeof(*k));
	k->type = DP_KEY_HWADDR;
	k->len = 7;
	k->data[0] = 1;
	k->data[5] = (uint8_t)(client >> 8);
	k->data[6] = (uint8_t)client;
}
