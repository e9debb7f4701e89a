/*
 * dp_config: the configuration model the data plane runs on.
 *
 * One struct dp_config is one immutable snapshot: built and validated by the control plane
 * (controlplane/config.c turns the JSON file into it), then published to the workers by an
 * RCU pointer swap and never modified afterwards. Everything a snapshot points to is owned by
 * it and freed by dp_config_free(), on the control thread, after a grace period.
 *
 * Addresses are host byte order. Times are seconds.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lease.h"	/* struct dp_client_key, DP_KEY_MAX, DP_HW_MAX, DP_MAX_WORKERS */

#define DP_NAME_MAX	64	/**< scope, port and interface names, with the NUL */
#define DP_MAX_PORTS	16
#define DP_MAX_IFACES	256
#define DP_MAX_SCOPES	4096

/** One option value, already in wire form (code and value; no length byte). */
struct dp_option {
	uint8_t code;
	uint16_t len;		/**< may exceed 255: the writer splits it (RFC 3396) */
	uint8_t *data;		/**< owned by the snapshot */
};

/** A list of options; at most one entry per code, kept sorted by code. */
struct dp_optlist {
	struct dp_option *v;
	uint32_t n;
	/** Bit per code: always-send, sent even when the client's parameter request list
	 *  (option 55) leaves it out. The value may come from this list or any list it
	 *  overrides (engine.c put_options). */
	uint64_t always[4];
};

/** @return true when @p l has no option and no always-send code. */
static inline bool dp_optlist_is_empty(const struct dp_optlist *l)
{
	return l->n == 0 && (l->always[0] | l->always[1] | l->always[2] | l->always[3]) == 0;
}

/** Inclusive address range. */
struct dp_range {
	uint32_t first, last;
};

/*
 * Policies (Windows' policy-based assignment; dataplane/policy.h decides with them).
 *
 * A policy is a name, a processing order, enabled or not, and conditions combined with one
 * operator (AND or OR, as Windows: one operator per policy). Each condition compares one field
 * of the request with a list of values (the condition holds when any value matches, or, for
 * not-equals, when none does). A policy of a scope may carry address ranges inside the scope's
 * pools: its clients get addresses from those ranges only, and clients of no such policy never
 * get them. It may carry options, a lease time, and deny (no answer at all).
 */
enum dp_cond_type {
	DP_COND_VENDOR_CLASS = 0,	/**< option 60, bytes */
	DP_COND_USER_CLASS,		/**< option 77, bytes */
	DP_COND_CLIENT_ID,		/**< option 61, bytes (hex in the configuration) */
	DP_COND_MAC,			/**< chaddr of an Ethernet client, byte pattern */
	DP_COND_CIRCUIT_ID,		/**< option 82 sub-option 1, bytes (hex) */
	DP_COND_REMOTE_ID,		/**< option 82 sub-option 2, bytes (hex) */
	DP_COND_FQDN,			/**< option 81's name, dotted, case-insensitive */
	DP_COND_CLIENT_ARCH,		/**< option 93: one of its 16-bit types (PXE) */
	DP_COND_COUNT
};

#define DP_COND_VALUE_MAX	64	/**< bytes a condition value compares */
#define DP_COND_TEXT_MAX	200	/**< the value as configured, with the NUL */

/**
 * One value of a condition. Byte types: @c data[0..len) equals the field, or starts it when
 * @c prefix (a trailing "*" in the configuration). MAC: the first six bytes of @c data under
 * @c mask ("*" bytes are 0 in the mask; a trailing "*" masks the rest).
 */
struct dp_cond_value {
	uint8_t len;
	bool prefix;
	uint8_t mask[6];
	uint8_t data[DP_COND_VALUE_MAX];	/* after the length: a short compare reads one line */
	char text[DP_COND_TEXT_MAX];	/**< as configured (written back) */
};

struct dp_condition {
	uint8_t type;			/**< enum dp_cond_type */
	bool negate;			/**< operator not-equals */
	struct dp_cond_value *values;	/**< 1.. values, any of which matches */
	uint32_t n_values;
};

struct dp_policy {
	char name[DP_NAME_MAX];
	uint32_t order;			/**< processing order, unique in its list, from 1 */
	bool enabled;
	bool match_all;			/**< AND over the conditions; false: OR */
	bool deny;			/**< matching clients get no answer (counted) */
	uint32_t lease_time;		/**< 0 = the scope's */
	struct dp_condition *conds;
	uint32_t n_conds;
	struct dp_range *ranges;	/**< scope policies only; sorted, inside the pools */
	uint32_t n_ranges;
	struct dp_optlist opts;		/**< override the scope's (and server's) options */
	uint32_t next_server;		/**< siaddr for its clients, 0 = the scope's */
	char boot_file[128];		/**< "file" for its clients, "" = the scope's */
};

/** A MAC address pattern (server.mac-filter): a byte matches when (mac & mask) == value. */
struct dp_mac_pattern {
	uint8_t value[6], mask[6];
	char text[24];			/**< as configured (written back) */
};

/** A reservation: this client always gets this address (and may be a BOOTP client). */
struct dp_reservation {
	struct dp_client_key key;
	uint32_t addr;
	char hostname[DP_NAME_MAX];	/**< sent as option 12 when set, "" otherwise */
	struct dp_optlist opts;		/**< override the scope's options with the same code */
};

struct dp_scope {
	char name[DP_NAME_MAX];
	uint32_t index;			/**< position in dp_config.scopes */
	uint32_t subnet, mask;		/**< subnet == subnet & mask */
	uint8_t prefix_len;
	bool active;			/**< an inactive scope answers nothing (counted) */

	struct dp_range *ranges;	/**< dynamic pool; sorted, non-overlapping */
	uint32_t n_ranges;
	struct dp_range *exclusions;	/**< sorted, non-overlapping, inside the ranges */
	uint32_t n_exclusions;
	struct dp_reservation *reservations;	/**< sorted by key (dp_client_key_cmp) */
	uint32_t n_reservations;
	uint32_t *res_by_addr;		/**< indexes into reservations, sorted by address */

	uint32_t *relays;		/**< extra giaddrs that select this scope, sorted */
	uint32_t n_relays;
	int32_t interface;		/**< index into dp_config.ifaces, or -1: which interface's
					 *   directly attached clients this scope serves when the
					 *   interface address is not inside the subnet */

	uint32_t lease_time;		/**< default lease, seconds */
	uint32_t min_lease_time;	/**< client's option 51 is clamped to [min, max] */
	uint32_t max_lease_time;
	uint32_t renew_time;		/**< T1 seconds; 0 = lease / 2 */
	uint32_t rebind_time;		/**< T2 seconds; 0 = lease * 7 / 8 */
	uint32_t offer_hold;		/**< how long an offered address is held for its client */
	uint32_t decline_hold;		/**< how long a declined address stays abandoned */
	/** Conflict detection (probe.h): probes sent for an address before it is first
	 *  offered, 0 = none (Windows' "conflict detection attempts", 0..5). */
	uint8_t conflict_attempts;
	uint32_t conflict_timeout_ms;	/**< how long each probe waits for an answer */
	/** DP_CONFLICT_OWN_* bits: which of the two the scope sets itself; the others are the
	 *  server's (dp_config.conflict_attempts / _timeout_ms, copied in by the parser), and
	 *  the configuration written back leaves them out so that they follow the server's. */
	uint8_t conflict_own;
	uint32_t offer_delay_ms;	/**< OFFERs wait this long before they go out, so that a
					 *   partner answers first (Windows "delay in offer");
					 *   0 = at once (worker.h, the delay queue) */
	bool bootp;			/**< answer BOOTP clients that have a reservation */

	uint8_t fo_rel;			/**< 0: not shared; else 1 + the index into
					 *   dp_config.relationships of the failover relationship
					 *   that shares this scope with a partner */
	uint32_t superscope;		/**< 0: in none; else 1 + the index into
					 *   dp_config.superscopes of the superscope it is in */

	uint32_t next_server;		/**< siaddr, 0 if unset */
	char boot_file[128];		/**< "file", "" if unset */
	struct dp_optlist opts;

	struct dp_policy *policies;	/**< sorted by processing order */
	uint32_t n_policies;
	/* Compiled at parse time: every range of every policy, sorted and non-overlapping,
	 * and the index into policies of the policy each belongs to (policy.h). */
	struct dp_range *pol_ranges;
	uint32_t *pol_of_range;
	uint32_t n_pol_ranges;
};

/**
 * A superscope (Windows; ISC's shared-network): scopes served on one link or through one relay.
 * A request selects one member (by giaddr or ingress, as any scope); when that member has no
 * address to offer, the next members in @c members order give one, each with its own options.
 * A scope is in at most one superscope; all members share one failover relationship (or none).
 */
struct dp_superscope {
	char name[DP_NAME_MAX];
	uint32_t *members;		/**< indexes into dp_config.scopes, in configured order */
	uint32_t n_members;		/**< 1.. */
};

/** An address the server owns on a port (optionally on a VLAN): answers ARP/ICMP, is the
 *  server identifier for clients reached through it. */
struct dp_iface {
	char name[DP_NAME_MAX];
	uint16_t port;			/**< index into dp_config.ports */
	uint16_t vlan;			/**< 0 = untagged */
	uint32_t addr;
	uint8_t prefix_len;
};

struct dp_port {
	char name[DP_NAME_MAX];
	char device[256];		/**< PCI address (0000:01:00.0) or vdev string
					 *   ("net_af_packet0,iface=veth0") */
};

/** Failover relationship (draft-ietf-dhc-failover-12 on the wire, Windows' terms for people). */
enum dp_fo_role {
	DP_FO_PRIMARY = 1,	/**< opens the TCP connection and sends CONNECT */
	DP_FO_SECONDARY = 2,
};

enum dp_fo_mode {
	DP_FO_LOAD_BALANCE = 0,	/**< both serve; RFC 3074 hash split by load-balance-percent */
	DP_FO_HOT_STANDBY = 1,	/**< the active serves; the standby holds reserve-percent */
};

#define DP_MAX_RELATIONSHIPS 31	/**< as Windows: a server holds up to 31 relationships */

/** Message-digest algorithm of a relationship with a shared secret (failover/fo_digest.h). */
enum dp_fo_digest {
	DP_FO_DIGEST_HMAC_SHA256 = 0,	/**< type 240, between leasewire partners (default) */
	DP_FO_DIGEST_HMAC_MD5 = 1,	/**< type 1, draft-12's, for peers that need it */
};

/** A leasewire partner allowed on the management channel (server.management.partners[]). */
struct dp_mgmt_partner {
	uint32_t addr;			/**< its address, host order: the only one it may use */
	uint32_t port;			/**< its management port (we connect there) */
	char secret[128];		/**< HMAC-SHA-256 key, 1..127 bytes (MGMT_SECRET_MAX) */
};

struct dp_relationship {
	char name[DP_NAME_MAX];
	uint8_t role;			/**< enum dp_fo_role */
	uint8_t mode;			/**< enum dp_fo_mode */
	bool standby;			/**< hot-standby: this server is the standby */
	uint8_t load_balance_percent;	/**< load-balance: share this server serves, 0..100 */
	uint8_t reserve_percent;	/**< hot-standby: free addresses the standby holds */
	uint32_t local_addr, partner_addr;	/**< host order; TCP over the kernel stack */
	uint16_t port, partner_port;
	uint32_t mclt;			/**< maximum client lead time, seconds */
	uint32_t max_response_delay;	/**< seconds of silence before the link is dropped */
	uint32_t max_unacked;		/**< BNDUPDs the partner may have outstanding */
	bool auto_state_transition;	/**< COMM-INTERRUPTED -> PARTNER-DOWN after the interval */
	uint32_t state_switch_interval;	/**< seconds */
	uint32_t load_balance_max_seconds;	/**< ISC: secs >= this overrides the hash */
	char shared_secret[128];	/**< "" = no message authentication */
	uint8_t digest;			/**< enum dp_fo_digest: the HMAC with a shared secret */
	uint32_t *scopes;		/**< indexes into dp_config.scopes, sorted */
	uint32_t n_scopes;
};

enum dp_durability {
	DP_DURABILITY_STRICT = 0,
	DP_DURABILITY_RELAXED = 1,
};

/**
 * Flood control (server.flood-control, engine.c "Flood control"): limits on what unknown
 * clients may take. Rates are new bindings (offers to a client with no binding in the
 * scope) per second, each with its burst; 0 turns a limit off. Each worker enforces
 * rate / workers of every rate (its own buckets, no shared state).
 */
struct dp_flood_limits {
	uint32_t relay_rate, relay_burst;	/**< per giaddr (relayed requests) */
	uint32_t circuit_rate, circuit_burst;	/**< per giaddr + option 82 circuit id */
	uint32_t port_rate, port_burst;		/**< per ingress port */
	uint32_t circuit_bindings;		/**< offered + bound addresses per circuit */
	uint32_t client_declines;		/**< DECLINEs heeded per client per window */
	uint32_t decline_window;		/**< seconds */
	uint32_t offer_holds_percent;		/**< share of a pool that offers may hold */
	uint32_t overload_bursts;		/**< full rx bursts in a row that mean overload:
						 *   DISCOVERs are then dropped first */
};

#define DP_CONFLICT_OWN_ATTEMPTS	0x01	/**< dp_scope.conflict_own */
#define DP_CONFLICT_OWN_TIMEOUT		0x02

struct dp_config {
	/** Different for every snapshot the parser makes (never reused, never 0), so that a
	 *  worker can tell a snapshot from an earlier one at the same address (dp_rcache);
	 *  0 for one built by hand, which nothing caches. */
	uint64_t generation;
	/* daemon */
	uint32_t workers;		/**< worker lcores, 1..DP_MAX_WORKERS */
	uint32_t log_interval;		/**< seconds between counter log lines; 0 = never */
	uint32_t idle_sleep_us;		/**< worker back-off when idle; 0 = pure busy poll */
	uint32_t reclaim_interval;	/**< seconds between expiry scans */
	uint32_t mbufs;			/**< mbufs in the packet pool */
	enum dp_durability durability;
	char store_path[256];		/**< LMDB directory, "" = in-memory only */
	uint32_t store_map_mb;		/**< initial LMDB map size, MiB */
	uint32_t store_max_mb;		/**< the map grows up to this, MiB */
	char committer_cpus[128];	/**< CPU list of the store's threads, "" = control's */
	char control_socket[256];	/**< unix control socket path, "" = none */
	char control_group[64];		/**< group for a 0660 socket, "" = 0600 */
	uint32_t control_max_request;	/**< bytes */
	char server_name[DP_NAME_MAX];	/**< this server's name ("" = the host name) */
	char user[64];			/**< run as this user once started, "" = stay root */
	/** Conflict detection's server-level defaults: every scope that does not set its own
	 *  takes them (dp_scope.conflict_attempts / conflict_timeout_ms hold the result). */
	uint8_t conflict_attempts;
	uint32_t conflict_timeout_ms;
	/* management channel between leasewire partners (controlplane/mgmt_link.h) */
	uint32_t mgmt_addr;		/**< listen address, host order; 0 = channel off */
	uint32_t mgmt_port;		/**< listen port */
	struct dp_mgmt_partner *mgmt_partners;
	uint32_t n_mgmt_partners;
	struct dp_flood_limits flood;
	/* server-level options, policies (no ranges) and link-layer filter */
	struct dp_optlist opts;		/**< under every scope's options */
	struct dp_policy *policies;	/**< sorted by processing order, after the scope's */
	uint32_t n_policies;
	struct dp_mac_pattern *mac_allow;	/**< non-empty: only these clients are served */
	uint32_t n_mac_allow;
	struct dp_mac_pattern *mac_deny;	/**< these clients are never served (wins) */
	uint32_t n_mac_deny;
	/** server.relay-allow: IP sources a request with a giaddr may come from, sorted and
	 *  disjoint (prefixes as ranges); none = any (dp_config_relay_allowed()) */
	struct dp_range *relay_allow;
	uint32_t n_relay_allow;

	struct dp_port *ports;
	uint32_t n_ports;
	struct dp_iface *ifaces;
	uint32_t n_ifaces;
	struct dp_scope *scopes;
	uint32_t n_scopes;
	struct dp_relationship *relationships;
	uint32_t n_relationships;
	struct dp_superscope *superscopes;
	uint32_t n_superscopes;
	/** dp_config_index(): index in scopes[] of dp_config_scope_by_iface() of each
	 *  interface, -1 for none. Valid only when generation != 0 (a parsed snapshot, which
	 *  nothing changes after); a hand-built one is scanned. */
	int32_t iface_scope[DP_MAX_IFACES];
};

/** Free a snapshot and everything it owns. NULL is a no-op. Control thread only. */
void dp_config_free(struct dp_config *c);

/**
 * Number of addresses the snapshot can ever bind: dynamic range addresses plus reservation
 * addresses outside the ranges. Sizes the binding tables.
 */
uint64_t dp_config_capacity(const struct dp_config *c);

/**
 * May a relayed request (giaddr set) whose IP source is @p src be served (server.relay-allow)?
 * @return true when the list is empty or holds @p src. Any thread holding the snapshot.
 */
bool dp_config_relay_allowed(const struct dp_config *c, uint32_t src);

/** @return true when @p addr is in one of the scope's ranges and no exclusion. */
bool dp_scope_in_pool(const struct dp_scope *s, uint32_t addr);

/** @return true when @p addr is inside the scope's subnet (and is not its network or
 *  broadcast address). */
bool dp_scope_contains(const struct dp_scope *s, uint32_t addr);

/** Reservation of @p key in @p s, or NULL. */
const struct dp_reservation *dp_scope_find_reservation_key(const struct dp_scope *s,
							   const struct dp_client_key *key);

/** Reservation of @p addr in @p s, or NULL. */
const struct dp_reservation *dp_scope_find_reservation_addr(const struct dp_scope *s,
							    uint32_t addr);

/**
 * Index of the range containing @p addr in @p v (sorted, non-overlapping, inclusive), or -1.
 */
int64_t dp_range_find(const struct dp_range *v, uint32_t n, uint32_t addr);

/** Option @p code from @p l, or NULL. */
const struct dp_option *dp_optlist_find(const struct dp_optlist *l, uint8_t code);

/**
 * The scope for a relayed request: the scope listing @p giaddr in its relays (an explicit
 * relay address wins, since it often lies inside another served subnet), else the scope,
 * active or not, whose subnet contains @p giaddr. NULL when none. The parser guarantees
 * both answers are unique.
 */
const struct dp_scope *dp_config_scope_by_relay(const struct dp_config *c, uint32_t giaddr);

/**
 * The scope for a directly connected client that arrived on interface @p iface: a scope bound
 * to that interface, else the scope whose subnet contains the interface address. NULL if none.
 */
const struct dp_scope *dp_config_scope_by_iface(const struct dp_config *c, uint32_t iface);

/**
 * Fill @p c's per-snapshot answers (iface_scope[]) from its interfaces and scopes, once the
 * parser has finished them: every request asks for its interface's scope, and the answer is
 * a scan of the scopes. Control thread, before the snapshot is published.
 */
void dp_config_index(struct dp_config *c);

/**
 * The scope whose subnet contains @p addr, or NULL. Bindings do not keep a scope index
 * across configuration changes; this is how the owner of an address is found again.
 */
const struct dp_scope *dp_config_scope_of(const struct dp_config *c, uint32_t addr);

/** The interface on @p port / @p vlan, or -1. */
int dp_config_iface_find(const struct dp_config *c, uint16_t port, uint16_t vlan);

/** Compare keys: <0, 0, >0. */
int dp_client_key_cmp(const struct dp_client_key *a, const struct dp_client_key *b);
