/*
 * counters: per-worker packet and decision counters.
 *
 * Each worker owns one struct dp_counters (inside its cache-aligned lcore state) and is its
 * only writer; plain increments, no atomics. The control plane reads them at any time and
 * sums them (dp_counters_add()); a reader may see a value one increment old, never a torn one
 * (aligned 64-bit loads on every target we build for).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "dhcp4_wire.h"

/** Why a frame or request was dropped or left unanswered. Names: dp_drop_str(). */
enum dp_drop {
	/* frame layer (enum dp_frame_err) */
	DP_DROP_FRAME_TRUNCATED,
	DP_DROP_ETHERTYPE,
	DP_DROP_IP_HEADER,
	DP_DROP_IP_CHECKSUM,
	DP_DROP_IP_FRAGMENT,
	DP_DROP_IP_PROTO,
	DP_DROP_UDP_LENGTH,
	DP_DROP_UDP_CHECKSUM,
	DP_DROP_UDP_PORT,
	DP_DROP_ARP_MALFORMED,
	DP_DROP_ICMP_MALFORMED,
	/* BOOTP/DHCP codec (enum dhcp4_err) */
	DP_DROP_BOOTP_TRUNCATED,
	DP_DROP_BAD_COOKIE,
	DP_DROP_BAD_HLEN,
	DP_DROP_OPTION_OVERRUN,
	DP_DROP_BAD_OVERLOAD,
	DP_DROP_BAD_OPTION_SIZE,
	DP_DROP_BAD_OP,
	DP_DROP_BAD_MSG_TYPE,
	/* decisions */
	DP_DROP_NOT_FOR_US,		/**< ARP/ICMP for an address that is not ours */
	DP_DROP_BOOTREPLY,		/**< a BOOTREPLY or server message type received */
	DP_DROP_NO_INTERFACE,		/**< arrived on a port/VLAN with no interface */
	DP_DROP_NO_SCOPE,
	DP_DROP_SCOPE_INACTIVE,
	DP_DROP_POOL_EXHAUSTED,
	DP_DROP_NO_RECORD,		/**< binding record stock empty */
	DP_DROP_KEY_TOO_LONG,		/**< client id longer than DP_KEY_MAX */
	DP_DROP_BAD_REQUEST,		/**< fields RFC 2131 requires are missing */
	DP_DROP_BOOTP_NO_RESERVATION,
	DP_DROP_COMMIT_FULL,		/**< change ring to the committer full */
	DP_DROP_PARK_FULL,		/**< too many replies waiting for durability */
	DP_DROP_STEER_FULL,		/**< owner worker's steering ring full */
	DP_DROP_REPLY_SPACE,		/**< reply frame could not be built (mbuf too small) */
	DP_DROP_TX_FULL,		/**< the NIC queue refused the frame */
	DP_DROP_NOMBUF,
	DP_DROP_WRITE_CONFLICT,		/**< the binding belongs to another worker's writer */
	DP_DROP_RESERVED_IN_USE,	/**< the client's reserved address is bound to another */
	DP_DROP_STALE_PARKED,		/**< a parked reply whose binding changed before it was
					 *   durable (e.g. reclaimed during a long store outage) */
	/* silences RFC 2131 asks for (not errors, but counted with the drops) */
	DP_DROP_OTHER_SERVER,		/**< REQUEST for another server's offer */
	DP_DROP_UNKNOWN_CLIENT,		/**< INIT-REBOOT/REBINDING from a client we do not know */
	DP_DROP_NOT_BOUND,		/**< RELEASE/DECLINE of an address not bound to the client */
	/* failover (fo_view.h): the partner answers, not us */
	DP_DROP_FO_NOT_SERVING,		/**< the service level forbids an answer (NONE;
					 *   RENEW_ONLY but for a renewal; relationship not
					 *   running) */
	DP_DROP_FO_PARTNER_CLIENT,	/**< BALANCED: the client hashes to the partner */
	DP_DROP_MAX
};

struct dp_counters {
	uint64_t rx;			/**< frames received */
	uint64_t tx;			/**< frames transmitted */
	uint64_t rx_dhcp[DHCP4_TYPE_MAX];	/**< requests by type (0 = BOOTP) */
	uint64_t tx_dhcp[DHCP4_TYPE_MAX];	/**< replies by type (0 = BOOTREPLY) */
	uint64_t arp_replies;
	uint64_t icmp_replies;
	uint64_t steered;		/**< frames handed to their owner worker */
	uint64_t parked;		/**< replies parked until durable */
	uint64_t options_dropped;	/**< configured options left out: no room in the reply */
	uint64_t leases_reclaimed;
	uint64_t drop[DP_DROP_MAX];
	uint64_t handoff_overflow;	/**< freed addresses another worker owns that did not fit
					 *   the hand-off FIFO: left to the requeue scan */
	uint64_t lent;			/**< addresses of our share lent to another worker */
	uint64_t borrowed;		/**< addresses of other workers' shares received */
};

/** Counter name of a drop reason (static string, snake_case). */
const char *dp_drop_str(unsigned reason);

/** Drop reason of a negative dp_frame_parse() or dhcp4_parse() result. */
enum dp_drop dp_drop_from_err(int err);

/** acc += c, field by field. */
void dp_counters_add(struct dp_counters *acc, const struct dp_counters *c);

/** Sum of all drop reasons. */
uint64_t dp_counters_drops(const struct dp_counters *c);
