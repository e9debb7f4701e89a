/*
 * policy: Windows-style policies and the link-layer (MAC) filter, decided per request on the
 * worker's hot path.
 *
 * Everything here reads one configuration snapshot (dp_config.h: struct dp_policy, the
 * compiled dp_scope.pol_ranges, dp_config.mac_allow/mac_deny), built and checked by the
 * control plane when the configuration is applied, and never modified afterwards. No
 * function allocates, takes a lock or loops over anything but the snapshot's small lists and
 * the request's options. Threads: any worker, inside the snapshot's RCU read side.
 *
 * Which policy decides. The scope's enabled policies in processing order, then the server's:
 * the first whose conditions hold is the request's policy (Windows evaluates scope policies
 * before server policies, in processing order). A condition holds when its field equals one
 * of its values (a value ending in "*" matches any field it starts); a not-equals condition
 * holds when none matches, including when the request has no such field. An AND policy needs
 * every condition, an OR policy one. A policy with no conditions matches every client.
 *
 * What the policy changes (engine.c): deny drops the request (DP_DROP_POLICY_DENIED), except
 * for a client with a reservation; its lease time replaces the scope's default; its options
 * override the scope's (policy.h's layering is in engine.c put_options); and its ranges. The
 * pool side is an address filter at pick time (dp_policy_addr_ok), not a sub-pool: a policy
 * range stays part of its scope's pool, ranked, sliced among workers and lent like any other
 * address (pool.h is untouched), and the engine skips (and re-queues at the back) the
 * candidates the client may not have. A client of a policy with ranges gets addresses of
 * those ranges only; every other client gets addresses outside all policy ranges. The cost
 * is the candidates skipped: at worst one pass over the worker's free list of the scope when
 * the client's part of it is empty (the pass is bounded, as before, by the list's length).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "dhcp4_wire.h"
#include "dp_config.h"

/**
 * @brief The policy that decides for request @p m in scope @p s.
 * @return the first enabled policy of @p s whose conditions hold, in processing order, else
 *         the first such of the server (@p c), else NULL. Points into the snapshot.
 * @note Worker thread, under the snapshot's RCU read side; no allocation.
 */
const struct dp_policy *dp_policy_match(const struct dp_config *c, const struct dp_scope *s,
					const struct dhcp4_msg *m);

/** @brief Do the conditions of @p p hold for @p m (enabled or not)? */
bool dp_policy_holds(const struct dp_policy *p, const struct dhcp4_msg *m);

/**
 * @brief May a client whose policy is @p pol (NULL: none) be given pool address @p addr of
 *        @p s? Addresses of a policy's ranges go to that policy's clients only; clients of
 *        a policy with ranges get nothing else.
 */
static inline bool dp_policy_addr_ok(const struct dp_scope *s, const struct dp_policy *pol,
				     uint32_t addr)
{
	const struct dp_policy *want = pol != NULL && pol->n_ranges != 0 ? pol : NULL;
	int64_t i;

	if (s->n_pol_ranges == 0) {
		return true;
	}
	i = dp_range_find(s->pol_ranges, s->n_pol_ranges, addr);
	if (i < 0) {
		return want == NULL;
	}
	return &s->policies[s->pol_of_range[i]] == want;
}

/** @brief Does @p mac (6 bytes) match pattern @p p? */
static inline bool dp_mac_match(const struct dp_mac_pattern *p, const uint8_t *mac)
{
	for (int i = 0; i < 6; i++) {
		if ((mac[i] & p->mask[i]) != p->value[i]) {
			return false;
		}
	}
	return true;
}

/**
 * @brief The server's link-layer filter (Windows' MAC filter): a client matching a deny
 *        pattern is refused; when the allow list is not empty, a client matching no allow
 *        pattern is refused too. Deny wins. A client without an Ethernet address (htype 1,
 *        hlen 6) matches no pattern.
 * @return 0 when the client may be served, else the drop reason (DP_DROP_MAC_DENIED,
 *         DP_DROP_MAC_NOT_ALLOWED) for the caller to count.
 */
int dp_mac_filter(const struct dp_config *c, const struct dhcp4_msg *m);
