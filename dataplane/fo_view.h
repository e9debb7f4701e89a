/*
 * fo_view: what a worker must know of a failover relationship to answer a client of a scope
 * it shares with a partner (dp_scope.fo_rel != 0).
 *
 * The control thread (controlplane/failover.c) owns the relationship: it runs the state
 * machine and the partner link, and after every change of service level, HBA or MCLT it
 * builds a fresh struct dp_fo_view and publishes it with rcu_assign_pointer() into
 * dp_runtime.fo[rel] (the old one is freed with call_rcu). Workers rcu_dereference() it
 * inside their QSBR read-side section, once per request, and never write it.
 *
 * A NULL view means the relationship is not running (yet): its scopes answer no client.
 *
 * Rules the engine applies with a view (draft-ietf-dhc-failover-12 §5, §9; ISC 4.4):
 *   - service NONE: no answer. RENEW_ONLY: only DHCPREQUEST from a client in RENEWING or
 *     REBINDING for a binding we hold. BALANCED: every message, RENEWING included (Windows;
 *     draft-12 §5.3 answers every RENEWING), only when fo_hash_bucket() of the client is set
 *     in @c hba, or when secs > lb_max_secs (ISC "load balance max seconds", 0 = off). ALL,
 *     PARTNER_DOWN: every client.
 *   - New addresses: a primary allocates FREE addresses (no binding), a secondary BACKUP
 *     addresses (a record in state BT_BACKUP with an empty key). With @c partner_pool
 *     (PARTNER-DOWN after MCLT) both, and an ended lease of another client once
 *     max(ends, the address's peer_pet) + mclt has passed (D12 §9.4.2). EXPIRED/RELEASED/RESET addresses go back to their last client
 *     only; the control thread turns them FREE once the partner has acked them.
 *   - Lease time: fo_lease_mclt_limit(desired, peer_pet, mclt, now), where peer_pet is the
 *     address's entry in dp_pool.peer_pet (0 for an address outside the pool ranges) while
 *     the address is the same client's live lease (ACTIVE, or an offer over it), else 0:
 *     the partner's PET is that lease's, never a new client's (D12 §7.1.5).
 *
 * Threads: control thread writes (publishes), workers read. Plain data once published.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <urcu/urcu-qsbr.h>

/** Service levels; the same values as enum fo_service (failover/fo_state.h). */
enum dp_fo_service {
	DP_FO_SVC_NONE = 0,
	DP_FO_SVC_RENEW_ONLY = 1,
	DP_FO_SVC_BALANCED = 2,
	DP_FO_SVC_ALL = 3,
	DP_FO_SVC_PARTNER_DOWN = 4,
};

#define DP_FO_HBA_LEN 32	/**< 256 buckets, one bit each (fo_hash.h) */

struct dp_fo_view {
	uint8_t service;		/**< enum dp_fo_service */
	bool primary;			/**< allocate FREE (primary) or BACKUP (secondary) */
	bool partner_pool;		/**< PARTNER-DOWN and MCLT passed: the partner's too */
	uint8_t hba[DP_FO_HBA_LEN];	/**< BALANCED: buckets this server answers */
	uint32_t lb_max_secs;		/**< BALANCED: secs above it overrides the hash; 0 off */
	uint32_t mclt;			/**< seconds */
	struct rcu_head rcu;		/**< the control thread frees it with call_rcu */
};
