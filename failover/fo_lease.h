/*
 * fo_lease: the failover rules over single bindings (D12 = draft-ietf-dhc-failover-12), as pure
 * functions over plain structs:
 *   - the MCLT rule: the lease time a server may give (D12 §5.2.1, §7.1.5; ISC ack_lease);
 *   - the potential-expiration-time to send in BNDUPD (D12 §5.2.1 example = ISC);
 *   - when an address may go to a (different) client: both servers agree it is available to
 *     us (D12 §5.2.2, §5.4, §9.8.3), or PARTNER-DOWN timing (D12 §9.4.2);
 *   - whether to accept a received binding update transaction (D12 §7.1.2, §7.1.3), with
 *     ISC's "dueling updates" rule as an option.
 *
 * Times are unix seconds; 0 means "absent / never" for every absolute time below (no real
 * lease or transaction happened at the epoch). Absolute times on the wire are 32-bit: callers
 * clamp with FO_LEASE_TIME_MAX.
 *
 * Binding-status values equal the draft's codes (D12 §12.3), so they also equal enum
 * bt_state (dataplane/bindings.h) and enum fo_binding_status (fo_msg.h) for 1..7.
 *
 * Threads: pure functions, no state; callable from any thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fo_state.h"
#include "lease.h"	/* struct dp_client_info */

/** Binding status (D12 §5.11, §12.3). */
enum fo_lease_status {
	FO_LEASE_FREE = 1,		/**< available to the primary */
	FO_LEASE_ACTIVE = 2,
	FO_LEASE_EXPIRED = 3,
	FO_LEASE_RELEASED = 4,
	FO_LEASE_ABANDONED = 5,
	FO_LEASE_RESET = 6,
	FO_LEASE_BACKUP = 7,		/**< available to the secondary */
};

/** A lease time meaning "infinite" (DHCP option 51 0xffffffff, BOOTP). */
#define FO_LEASE_INFINITE UINT32_MAX
/** The latest absolute time a failover option can carry. */
#define FO_LEASE_TIME_MAX ((uint64_t)UINT32_MAX)

/** IP-flags bits (D12 §12.12). */
#define FO_LEASE_IP_FLAG_RESERVED 0x0001
#define FO_LEASE_IP_FLAG_BOOTP 0x0002

/** reject-reason values this module produces (D12 §12.21). */
#define FO_LEASE_REJECT_ILLEGAL_IP 1
#define FO_LEASE_REJECT_FATAL_CONFLICT 2
#define FO_LEASE_REJECT_MISSING_INFO 3
#define FO_LEASE_REJECT_OUTDATED 15
#define FO_LEASE_REJECT_LESS_CRITICAL 16
#define FO_LEASE_REJECT_NOT_RESERVED 19

/** Name of a binding status ("free", "active", ...). */
const char *fo_lease_status_str(unsigned status);

/* ---------------------------------------------------------------------------------------- */
/* MCLT                                                                                       */

/**
 * The per-address times of D12 §7.1.5.
 */
struct fo_lease_times {
	uint64_t ends;		/**< lease-expiration-time given to the client */
	uint64_t sent_pet;	/**< latest potential-expiration-time sent to the partner */
	uint64_t acked_pet;	/**< latest potential-expiration-time the partner acked */
	uint64_t recv_pet;	/**< latest potential-expiration-time received and acked by us */
};

/**
 * The MCLT rule: the longest lease a server may give now (D12 §5.2.1, §7.1.5; the same
 * arithmetic as ISC ack_lease):
 *   desired <= MCLT                 -> desired
 *   otherwise                       -> min(desired, max(partner_pet - now, 0) + MCLT)
 * @param desired      the lease the server would give without failover; FO_LEASE_INFINITE ok
 * @param partner_pet  what the partner knows: max(acked PET, received PET); 0 = nothing
 * @return seconds; never more than desired, never less than min(desired, MCLT)
 */
uint32_t fo_lease_mclt_limit(uint32_t desired, uint64_t partner_pet, uint32_t mclt, uint64_t now);

/**
 * fo_lease_mclt_limit() with partner_pet = max(acked_pet, recv_pet) of @p t (D12 §7.1.5).
 * @note Applied in every state, PARTNER-DOWN included (D12 §9.4.2 first option; ISC). D12
 *       §9.9.2 would also let COMMUNICATIONS-INTERRUPTED count the current lease-expiration
 *       time; we do not (ISC does not either): shorter leases, never a longer one.
 */
uint32_t fo_lease_time(const struct fo_lease_times *t, uint32_t desired, uint32_t mclt,
		       uint64_t now);

/**
 * potential-expiration-time to send in the BNDUPD for a lease granted now: now + desired +
 * granted / 2 (D12 §5.2.1 example: "now + ½·MCLT + 3 days"; ISC dhcp.c tstp). It is at least
 * the lease end, so the partner's ack of it lets the next renewal get the desired time.
 * @return absolute time, clamped to FO_LEASE_TIME_MAX (also for infinite leases)
 */
uint64_t fo_lease_pet(uint64_t now, uint32_t desired, uint32_t granted);

/* ---------------------------------------------------------------------------------------- */
/* Allocation and reallocation                                                                */

struct fo_lease_ctx {
	enum fo_role role;
	bool partner_down;	/**< this server is in PARTNER-DOWN */
	uint64_t pd_start;	/**< its start-time-of-state */
	uint32_t mclt;
	uint64_t now;
};

/** What this server knows of one address. */
struct fo_lease_addr {
	uint8_t status;		/**< enum fo_lease_status, local */
	uint8_t agreed;		/**< the last status both servers agree on: the partner acked our
				 *   BNDUPD with it, or we acked the partner's; 0 = none */
	bool sent;		/**< a BNDUPD carrying `status` was sent (acked or not) */
	bool issued_in_pd;	/**< we leased it in PARTNER-DOWN; the partner never heard of it */
	bool bootp_pool;	/**< its pool serves dynamic BOOTP (D12 §5.14) */
	struct fo_lease_times t;
};

/**
 * May this server give the address to a client now?
 * @param same_client  the client is the one the address was last bound to
 *
 * Outside PARTNER-DOWN (D12 §5.4, §5.2.2, §9.8.3):
 *   FREE (primary) / BACKUP (secondary) of our own pool: yes;
 *   EXPIRED/RELEASED/RESET: to the same client when no BNDUPD reported the change yet; to
 *   another client once the partner agrees it is available to us (it acked the change, which
 *   returns the address to the primary's FREE; or, never told, its agreed view is our pool:
 *   ISC's "rewind");
 *   ACTIVE: only the same client (a renewal); ABANDONED: never (ISC: FREE as a last resort).
 * In PARTNER-DOWN (D12 §9.4.2) additionally: the partner's pool and any address whose lease
 * has ended, once now >= fo_lease_reclaim_time(); never the partner's pool of a BOOTP pool.
 */
bool fo_lease_may_allocate(const struct fo_lease_ctx *ctx, const struct fo_lease_addr *a,
			   bool same_client);

/**
 * PARTNER-DOWN: the time from which the address may go to a client other than its last one
 * (D12 §9.4.2): MCLT beyond max(lease-expiration, sent PET, acked PET, received PET), and not
 * before PARTNER-DOWN start + MCLT. Addresses we leased in PARTNER-DOWN are ours alone: their
 * lease end. The partner's available addresses get pd_start + MCLT the same way (no times).
 * @return absolute time (saturating)
 */
uint64_t fo_lease_reclaim_time(const struct fo_lease_ctx *ctx, const struct fo_lease_addr *a);

/* ---------------------------------------------------------------------------------------- */
/* Conflict resolution of a received BNDUPD (D12 §7.1.2, §7.1.3)                              */

/** A client identity as carried by options 4 (client-identifier) and 5 (htype + chaddr). */
struct fo_lease_client {
	const uint8_t *id;	/**< client-identifier, or NULL */
	size_t id_len;
	const uint8_t *hw;	/**< htype + chaddr, or NULL */
	size_t hw_len;
};

/**
 * Whether two identities are the same client (D12 §7.1.1 "identifying the client"): by
 * client-identifier when both have one, by hardware address when neither has; one with and
 * one without a client-identifier are different clients.
 */
bool fo_lease_same_client(const struct fo_lease_client *a, const struct fo_lease_client *b);

/** This server's binding of the address in the update. */
struct fo_lease_binding {
	bool in_pool;		/**< the address belongs to this relationship's pools */
	uint8_t status;		/**< enum fo_lease_status */
	bool reserved;		/**< reserved on this server (D12 §5.13) */
	uint64_t cltt;		/**< client-last-transaction-time; 0 = none */
	uint64_t stos;		/**< start time of the current status */
	uint64_t ends;		/**< lease-expiration-time */
	struct fo_lease_client client;
};

/** One received binding update transaction (times skew-corrected by the caller). */
struct fo_lease_update {
	uint8_t status;		/**< binding-status as received */
	uint16_t ip_flags;	/**< FO_LEASE_IP_FLAG_* */
	uint64_t cltt;		/**< 0 = option absent */
	uint64_t ends;		/**< 0 = option absent */
	uint64_t pet;		/**< 0 = option absent */
	uint64_t stos;		/**< 0 = option absent */
	struct fo_lease_client client;	/**< hw NULL = option 5 absent */
};

struct fo_lease_update_ctx {
	enum fo_role role;
	uint64_t now;
	uint32_t slack;		/**< time(2) accepts when now + slack > local lease end: 0 = D12;
				 *   ISC allows 65 s for clock skew */
	bool outgoing_unacked;	/**< a BNDUPD of ours for this address awaits its BNDACK: apply
				 *   ISC's dueling-updates rule before the table */
	uint64_t stamp_margin;	/**< s by which the times compared may be wrong because one of
				 *   them was stamped before a clock step (ours or the partner's):
				 *   the time rules then judge in favour of the live lease. An
				 *   ACTIVE received wins time(1)/(3) unless our stamp is later by
				 *   more than the margin; anything else received beats our ACTIVE
				 *   by time(1) only if later by more than it, by time(2) only once
				 *   our lease end plus it has passed. 0: the D12 rules as written */
};

/** Which rule decided, for logs and tests. */
enum fo_lease_rule {
	FO_LEASE_RULE_ACCEPT = 0,	/**< Figure 7.1.3-1 "accept" */
	FO_LEASE_RULE_MISSING_INFO,	/**< §7.1.3: reject 3 */
	FO_LEASE_RULE_NOT_IN_POOL,	/**< §7.1.3: reject 1 */
	FO_LEASE_RULE_NOT_RESERVED,	/**< §7.1.3: R flag + BACKUP, reject 19 */
	FO_LEASE_RULE_DUELING,		/**< ISC failover_lease_is_better: reject 16 */
	FO_LEASE_RULE_TIME1,		/**< received CLTT later than ours */
	FO_LEASE_RULE_TIME2,		/**< now later than our lease end */
	FO_LEASE_RULE_TIME3,		/**< received CLTT later than our start-time-of-state */
	FO_LEASE_RULE_CLIENTS_DIFFER,	/**< (5): secondary accepts, primary rejects 2 */
	FO_LEASE_RULE_ABANDONED,	/**< (4): reject 16 */
	FO_LEASE_RULE_COUNT
};

struct fo_lease_verdict {
	bool accept;
	uint8_t reject_reason;		/**< FO_LEASE_REJECT_*, 0 when accepted */
	enum fo_lease_rule rule;
};

/** Name of a rule ("time(1)", ...). */
const char *fo_lease_rule_str(unsigned rule);

/**
 * Decide a received binding update transaction (D12 §7.1.3, applied to every BNDUPD, §7.1.2):
 *   1. reject 3 when the status is not 1..7 or information the status needs is missing:
 *      ACTIVE needs client-hardware-address, lease-expiration and potential-expiration;
 *      EXPIRED and RELEASED need client-hardware-address (D12 Table 7.1-1 MUSTs that ISC
 *      also enforces; CLTT is not required: a missing CLTT is simply never "later");
 *   2. reject 1 when the address is not in our pools;
 *   3. reject 19 for BACKUP with the R flag on an address we do not reserve;
 *   4. with ctx->outgoing_unacked, ISC's dueling rule: reject 16 when ours is better;
 *   5. Figure 7.1.3-1 by (our status, received status).
 */
struct fo_lease_verdict fo_lease_check_update(const struct fo_lease_update_ctx *ctx,
					      const struct fo_lease_binding *local,
					      const struct fo_lease_update *upd);

/*
 * What a binding remembers of its client, carried in a BNDUPD (issue 14 item 6). D12 has
 * client-request-options (failover option 8, §12.x "DHCP options from the client request",
 * SHOULD carry 12, 60, 81, 82...): a DHCP magic cookie and options in DHCP's own format. We
 * send the client's host name (12), vendor class (60) and relay circuit id (82 sub-option 1)
 * there; the matched policy is ours alone and not sent. ISC dhcpd 4.4 never sends option 8
 * and parses and drops it on receipt (shared/reference/isc-peer/README.md §5.8).
 */

/** Largest fo_lease_info_encode() output: cookie, 12, 60, and 82 holding sub-option 1. */
#define FO_LEASE_INFO_MAX	(4 + 2 + DP_INFO_HOST_MAX + 2 + DP_INFO_VENDOR_MAX + \
				 2 + 2 + DP_INFO_CIRCUIT_MAX)

/**
 * Encode @p in as client-request-options into @p buf (FO_LEASE_INFO_MAX bytes).
 * @return the bytes written; 0 when @p in knows nothing of the client (send no option 8).
 */
size_t fo_lease_info_encode(const struct dp_client_info *in, uint8_t *buf);

/**
 * Read a received client-request-options (@p len bytes at @p p) into @p out: options 12 and
 * 60 as printable ASCII (dp_info_text_set(), cut to their fields), option 82's sub-option 1,
 * every other option skipped; the policy stays empty. Without the magic cookie, or from the
 * first option that runs past the end, nothing more is read (what came before stays).
 * Never fails, never reads past @p len.
 */
void fo_lease_info_decode(const uint8_t *p, size_t len, struct dp_client_info *out);
