/*
 * lease: the binding types every layer shares: the client key, the binding states and the
 * limits the change record is sized by. The data plane's tables (dataplane/bindings.h), the
 * configuration (dataplane/dp_config.h), the store (lmdb-store/) and failover's control code
 * all speak these; keeping them here lets lmdb-store/ build without the data plane.
 *
 * Plain types and constants only: header only, no dependency. Addresses are host byte order
 * and times are unix seconds everywhere they appear with these types.
 */
#pragma once

#include <stdint.h>

#define DP_KEY_MAX	64	/**< longest client key (client id or htype+chaddr) */
#define DP_HW_MAX	17	/**< htype + chaddr (up to 16 bytes): failover option 5 */
#define DP_MAX_WORKERS	64	/**< worker lcores, so the writers of bindings (a worker id
				 *   fits the uint8_t of struct dp_change) */

/** How a client is identified: option 61 when present, else htype + chaddr (RFC 2131 §4.2). */
enum dp_key_type {
	DP_KEY_HWADDR = 1,	/**< data = htype, chaddr[0..hlen) */
	DP_KEY_CLIENT_ID = 2,	/**< data = option 61 value */
};

struct dp_client_key {
	uint8_t type;		/**< enum dp_key_type */
	uint8_t len;
	uint8_t data[DP_KEY_MAX];
};

/** Binding states: the draft-ietf-dhc-failover-12 states, plus OFFERED (ours, not on disk). */
enum bt_state {
	BT_FREE = 1,
	BT_ACTIVE = 2,
	BT_EXPIRED = 3,
	BT_RELEASED = 4,
	BT_ABANDONED = 5,
	BT_RESET = 6,
	BT_BACKUP = 7,
	BT_OFFERED = 16,	/**< held for its client after an OFFER, until offer_hold ends */
};

/** Lease end meaning "never" (BOOTP and infinite leases). */
#define BT_INFINITE UINT64_MAX
