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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_KEY_MAX	64	/**< longest client key (client id or htype+chaddr) */
#define DP_HW_MAX	17	/**< htype + chaddr (up to 16 bytes): failover option 5 */
#define DP_MAX_WORKERS	64	/**< worker lcores, so the writers of bindings (a worker id
				 *   fits the uint8_t of struct dp_change) */

/*
 * What a lease remembers of its client besides its key (issue 14 item 6): captured by the
 * worker when it OFFERs (from the DISCOVER, held by the offer) and when it ACKs (what the
 * REQUEST carries replaces it field by field), stored with the binding (lmdb-store record
 * version 3), shown by the control commands. Fixed, bounded fields (longer values are cut),
 * 112 bytes.
 *
 * host, vendor and policy hold printable ASCII only (0x20..0x7e): the worker replaces every
 * other byte of what the client sent with '?' when it captures it (dp_info_text_set), so no
 * log line, table or JSON string ever carries a control character or invalid UTF-8 from a
 * client. circuit is raw bytes (option 82 sub-option 1), shown as hex. Not NUL-terminated.
 */
#define DP_INFO_HOST_MAX	32	/**< option 12 (host name) */
#define DP_INFO_VENDOR_MAX	32	/**< option 60 (vendor class identifier) */
#define DP_INFO_CIRCUIT_MAX	16	/**< option 82 sub-option 1 (circuit id) */
#define DP_INFO_POLICY_MAX	28	/**< name of the policy that matched */

struct dp_client_info {
	uint8_t host_len, vendor_len, circuit_len, policy_len;
	char host[DP_INFO_HOST_MAX];
	char vendor[DP_INFO_VENDOR_MAX];
	uint8_t circuit[DP_INFO_CIRCUIT_MAX];
	char policy[DP_INFO_POLICY_MAX];
};

/** @return true when @p in knows nothing of its client (all lengths 0). Any thread. */
static inline bool dp_info_empty(const struct dp_client_info *in)
{
	return (in->host_len | in->vendor_len | in->circuit_len | in->policy_len) == 0;
}

/** Copy at most @p max bytes of @p src into @p dst as printable ASCII ('?' for any other
 *  byte). @return the length written. Any thread; never allocates. */
static inline uint8_t dp_info_text_set(char *dst, uint8_t max, const void *src, size_t len)
{
	const uint8_t *p = src;
	uint8_t n = len < max ? (uint8_t)len : max;

	for (uint8_t i = 0; i < n; i++) {
		char ch = '?';

		if (p[i] >= 0x20 && p[i] < 0x7f) {
			ch = (char)p[i];
		}
		dst[i] = ch;
	}
	return n;
}

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
