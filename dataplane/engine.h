/*
 * engine: the DHCP server's decisions (RFC 2131 §4.3, RFC 1534 for BOOTP), on plain structs.
 *
 * Input: a parsed frame and message, the interface it came in on, and the time. Output: a
 * decision (what to answer, to whom, with which lease) and, when the decision changes a
 * binding, the change posted to the commit sink with its sequence number. The engine never
 * touches DPDK; dp_reply_build() turns a decision into a frame in any buffer.
 *
 * Threads: one struct dp_engine per worker, used only by that worker, inside its QSBR
 * read-side (online). The engine writes only bindings its worker owns: bindings of clients
 * steered to it (bt_key_owner()) and addresses of its pool slices (pool.h).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "bindings.h"
#include "commit.h"
#include "counters.h"
#include "dhcp4_wire.h"
#include "dp_config.h"
#include "frame.h"
#include "pool.h"

struct dp_engine {
	uint32_t id;			/**< worker id */
	uint32_t n_workers;
	struct bt_table *table;
	struct bt_writer writer;
	struct dp_pools *pools;
	struct dp_commit commit;
	struct dp_counters *ctr;
	uint64_t seq;			/**< last change sequence posted */
};

/** What to send back. */
struct dp_decision {
	uint8_t reply;			/**< enum dhcp4_type to send; DHCP4_BOOTP = BOOTREPLY;
					 *   0xff = nothing */
	bool commit;			/**< a change was posted: park until seq is durable */
	uint64_t seq;
	uint32_t yiaddr, ciaddr;
	uint32_t server_id;		/**< our address on the ingress interface */
	uint32_t lease, t1, t2;		/**< seconds; lease 0xffffffff = infinite */
	const struct dp_scope *scope;	/**< options and mask come from here; may be NULL
					 *   for NAK */
	const struct dp_reservation *res;
	const char *message;		/**< option 56 for NAK, or NULL */
};

#define DP_NO_REPLY 0xff

/** The ingress context of one request. */
struct dp_ingress {
	const struct dp_config *cfg;	/**< snapshot in force (RCU-protected) */
	const struct dp_frame *frame;
	const struct dhcp4_msg *msg;
	int iface;			/**< index in cfg->ifaces, -1 when none */
	uint64_t now;			/**< unix seconds */
};

/**
 * Derive the client key (option 61, else htype + chaddr).
 * @return 0, or -EINVAL when option 61 is empty or longer than DP_KEY_MAX.
 */
__attribute__((warn_unused_result))
int dp_client_key_of(const struct dhcp4_msg *m, struct dp_client_key *k);

/**
 * Decide the answer to one request and apply its binding change.
 * @return true when a reply is to be sent (d filled); false when the request is dropped or
 *         left unanswered (the reason has been counted).
 */
bool dp_engine_handle(struct dp_engine *e, const struct dp_ingress *in,
		      struct dp_decision *d);

/**
 * Reclaim @p addr if its binding (owned by this worker) has ended by @p now: an expired
 * lease becomes EXPIRED, an untaken offer or a finished decline hold becomes FREE, and the
 * address returns to the worker's free list. The change is posted like any other.
 * @return true when something was reclaimed.
 */
bool dp_engine_reclaim(struct dp_engine *e, const struct dp_config *cfg, uint32_t addr,
		       uint64_t now);

/** Where the reply to a request goes (RFC 2131 §4.1), and through which source address. */
void dp_reply_dest(const struct dp_frame *f, const struct dhcp4_msg *m,
		   const struct dp_decision *d, const uint8_t our_mac[6], struct dp_udp_dst *dst);

/**
 * Build the whole reply frame into @p buf.
 * @param ctr  options_dropped is counted here when configured options do not fit.
 * @return the frame length, or 0 when it does not fit in @p cap.
 */
size_t dp_reply_build(uint8_t *buf, size_t cap, const struct dp_frame *f,
		      const struct dhcp4_msg *m, const struct dp_decision *d,
		      const uint8_t our_mac[6], struct dp_counters *ctr);
