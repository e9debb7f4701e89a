/*
 * fo_lease: binding rules of the failover protocol (see fo_lease.h for the sources).
 */
#include <string.h>

#include "fo_lease.h"

static const char *const status_names[] = {
	[FO_LEASE_FREE] = "free",
	[FO_LEASE_ACTIVE] = "active",
	[FO_LEASE_EXPIRED] = "expired",
	[FO_LEASE_RELEASED] = "released",
	[FO_LEASE_ABANDONED] = "abandoned",
	[FO_LEASE_RESET] = "reset",
	[FO_LEASE_BACKUP] = "backup",
};

static const char *const rule_names[FO_LEASE_RULE_COUNT] = {
	[FO_LEASE_RULE_ACCEPT] = "accept",
	[FO_LEASE_RULE_MISSING_INFO] = "missing-information",
	[FO_LEASE_RULE_NOT_IN_POOL] = "not-in-pool",
	[FO_LEASE_RULE_NOT_RESERVED] = "not-reserved",
	[FO_LEASE_RULE_DUELING] = "dueling-updates",
	[FO_LEASE_RULE_TIME1] = "time(1)",
	[FO_LEASE_RULE_TIME2] = "time(2)",
	[FO_LEASE_RULE_TIME3] = "time(3)",
	[FO_LEASE_RULE_CLIENTS_DIFFER] = "clients-differ",
	[FO_LEASE_RULE_ABANDONED] = "abandoned",
};

#define NAME(tab, i) ((i) < sizeof(tab) / sizeof((tab)[0]) && (tab)[i] ? (tab)[i] : "unknown")

const char *fo_lease_status_str(unsigned status)
{
	return NAME(status_names, status);
}

const char *fo_lease_rule_str(unsigned rule)
{
	return NAME(rule_names, rule);
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* ---------------------------------------------------------------------------------------- */
/* MCLT                                                                                       */

uint32_t fo_lease_mclt_limit(uint32_t desired, uint64_t partner_pet, uint32_t mclt, uint64_t now)
{
	uint64_t limit;

	/* ISC: "Lease times less than MCLT are not a concern." */
	if (desired <= mclt) {
		return desired;
	}
	if (partner_pet <= now) {
		return mclt;	/* nothing (still) known to the partner: MCLT */
	}
	limit = partner_pet - now + mclt;
	return limit < desired ? (uint32_t)limit : desired;
}

uint32_t fo_lease_time(const struct fo_lease_times *t, uint32_t desired, uint32_t mclt,
		       uint64_t now)
{
	return fo_lease_mclt_limit(desired, max64(t->acked_pet, t->recv_pet), mclt, now);
}

uint64_t fo_lease_pet(uint64_t now, uint32_t desired, uint32_t granted)
{
	uint64_t pet;

	if (desired == FO_LEASE_INFINITE || granted == FO_LEASE_INFINITE) {
		return FO_LEASE_TIME_MAX;	/* ISC: MAX_TIME */
	}
	pet = now + desired + granted / 2;
	return pet > FO_LEASE_TIME_MAX ? FO_LEASE_TIME_MAX : pet;
}

/* ---------------------------------------------------------------------------------------- */
/* Allocation                                                                                 */

/* The status an address settles in once both servers agree (D12 §5.11: EXPIRED, RELEASED and
 * RESET become FREE, i.e. the primary's, when acked). */
static uint8_t settled(uint8_t s)
{
	switch (s) {
	case FO_LEASE_EXPIRED:
	case FO_LEASE_RELEASED:
	case FO_LEASE_RESET:
		return FO_LEASE_FREE;
	default:
		return s;
	}
}

uint64_t fo_lease_reclaim_time(const struct fo_lease_ctx *ctx, const struct fo_lease_addr *a)
{
	uint64_t t;

	if (a->issued_in_pd) {
		return a->t.ends;
	}
	t = max64(max64(a->t.ends, a->t.sent_pet), max64(a->t.acked_pet, a->t.recv_pet));
	/* "If this time would be earlier than ... the time the server entered PARTNER-DOWN
	 * state plus the MCLT is used" (D12 §9.4.2). */
	return add_sat(max64(t, ctx->pd_start), ctx->mclt);
}

bool fo_lease_may_allocate(const struct fo_lease_ctx *ctx, const struct fo_lease_addr *a,
			   bool same_client)
{
	uint8_t own = ctx->role == FO_ROLE_PRIMARY ? FO_LEASE_FREE : FO_LEASE_BACKUP;
	bool pd_ok = ctx->partner_down && ctx->now >= fo_lease_reclaim_time(ctx, a);

	switch (a->status) {
	case FO_LEASE_FREE:
	case FO_LEASE_BACKUP:
		if (a->status == own) {
			return true;	/* D12 §5.4 */
		}
		/* The partner's pool: PARTNER-DOWN + MCLT (D12 §9.4.2), never for BOOTP
		 * (§5.14: infinite leases defeat the MCLT). */
		return pd_ok && !a->bootp_pool;
	case FO_LEASE_EXPIRED:
	case FO_LEASE_RELEASED:
	case FO_LEASE_RESET:
		/* D12 §9.8.3: the same client again if no BNDUPD reported the change. */
		if (same_client && !a->sent && a->status != FO_LEASE_RESET) {
			return true;
		}
		/*
		 * D12 §5.2.2, §9.8.3: another client only once the partner has acked the change.
		 * Unsent, the partner's view is the agreed status; when that is our own pool the
		 * address never left it (ISC lease_mine_to_reallocate "rewind").
		 */
		if (a->sent ? (a->agreed == a->status && settled(a->status) == own)
			    : settled(a->agreed) == own) {
			return true;
		}
		return pd_ok;
	case FO_LEASE_ACTIVE:
		if (same_client) {
			return true;	/* a renewal; fo_lease_time() bounds it */
		}
		return pd_ok && ctx->now >= a->t.ends;
	case FO_LEASE_ABANDONED:
	default:
		return false;
	}
}

/* ---------------------------------------------------------------------------------------- */
/* Conflict resolution                                                                        */

bool fo_lease_same_client(const struct fo_lease_client *a, const struct fo_lease_client *b)
{
	if (a->id_len || b->id_len) {
		return a->id_len == b->id_len && memcmp(a->id, b->id, a->id_len) == 0;
	}
	return a->hw_len == b->hw_len && (a->hw_len == 0 || memcmp(a->hw, b->hw, a->hw_len) == 0);
}

/* "If a BNDUPD doesn't have a client-last-transaction-time value, then it MUST NOT be
 * considered later ...; if the BNDUPD contains one and the receiving server's binding does
 * not, then [it] MUST be considered later" (D12 §7.1.3). */
static bool later(uint64_t received, uint64_t local)
{
	if (!received) {
		return false;
	}
	return !local || received > local;
}

/* Column of Figure 7.1.3-1. */
enum col { C_ACTIVE, C_EXPIRED, C_RELEASED, C_FREE_BACKUP, C_RESET_ABANDONED, C_N };
/* Row of Figure 7.1.3-1. */
enum row { R_ACTIVE, R_EXPIRED, R_RELEASED, R_FREE_BACKUP, R_RESET, R_ABANDONED, R_N };

enum cell { ACCEPT, TIME1, TIME2, TIME3, ACCEPT5, REJECT4 };

/* D12 Figure 7.1.3-1 "Accepting BNDUPD messages", row = our status, column = received. */
static const uint8_t fig_7_1_3_1[R_N][C_N] = {
	/*                 ACTIVE   EXPIRED  RELEASED  FREE/BACKUP  RESET/ABANDONED */
	[R_ACTIVE] =      {ACCEPT5, TIME2,   TIME1,    TIME2,       ACCEPT},
	[R_EXPIRED] =     {TIME1,   ACCEPT,  ACCEPT,   ACCEPT,      ACCEPT},
	[R_RELEASED] =    {TIME1,   TIME1,   ACCEPT,   ACCEPT,      ACCEPT},
	[R_FREE_BACKUP] = {ACCEPT,  ACCEPT,  ACCEPT,   ACCEPT,      ACCEPT},
	[R_RESET] =       {TIME3,   ACCEPT,  ACCEPT,   ACCEPT,      ACCEPT},
	[R_ABANDONED] =   {REJECT4, REJECT4, REJECT4,  REJECT4,     ACCEPT},
};

static enum col col_of(uint8_t s)
{
	switch (s) {
	case FO_LEASE_ACTIVE:
		return C_ACTIVE;
	case FO_LEASE_EXPIRED:
		return C_EXPIRED;
	case FO_LEASE_RELEASED:
		return C_RELEASED;
	case FO_LEASE_FREE:
	case FO_LEASE_BACKUP:
		return C_FREE_BACKUP;
	default:
		return C_RESET_ABANDONED;
	}
}

static enum row row_of(uint8_t s)
{
	switch (s) {
	case FO_LEASE_ACTIVE:
		return R_ACTIVE;
	case FO_LEASE_EXPIRED:
		return R_EXPIRED;
	case FO_LEASE_RELEASED:
		return R_RELEASED;
	case FO_LEASE_RESET:
		return R_RESET;
	case FO_LEASE_ABANDONED:
		return R_ABANDONED;
	default:
		return R_FREE_BACKUP;
	}
}

static bool valid_status(uint8_t s)
{
	return s >= FO_LEASE_FREE && s <= FO_LEASE_BACKUP;
}

static struct fo_lease_verdict verdict(bool accept, uint8_t reason, enum fo_lease_rule rule)
{
	struct fo_lease_verdict v = {.accept = accept, .reject_reason = accept ? 0 : reason,
				     .rule = rule};

	return v;
}

static struct fo_lease_verdict timed(bool ok, enum fo_lease_rule rule)
{
	return verdict(ok, FO_LEASE_REJECT_OUTDATED, rule);	/* (1,2,3): reason 15 */
}

/*
 * ISC failover_lease_is_better(): with our own update for the address still unacked, is ours
 * the one to keep? ACTIVE against ACTIVE: the later CLTT, the primary on a tie; a received
 * EXPIRED beats our ACTIVE; anything received ACTIVE beats our non-ACTIVE; otherwise the
 * primary's update wins.
 */
static bool ours_is_better(const struct fo_lease_update_ctx *ctx,
			   const struct fo_lease_binding *local, const struct fo_lease_update *upd)
{
	if (local->status == FO_LEASE_ACTIVE) {
		if (upd->status == FO_LEASE_ACTIVE) {
			if (upd->cltt != local->cltt) {
				return upd->cltt < local->cltt;
			}
			return ctx->role == FO_ROLE_PRIMARY;
		}
		if (upd->status == FO_LEASE_EXPIRED) {
			return false;
		}
	}
	if (upd->status == FO_LEASE_ACTIVE) {
		return false;
	}
	return ctx->role == FO_ROLE_PRIMARY;
}

struct fo_lease_verdict fo_lease_check_update(const struct fo_lease_update_ctx *ctx,
					      const struct fo_lease_binding *local,
					      const struct fo_lease_update *upd)
{
	bool hw = upd->client.hw && upd->client.hw_len;
	uint64_t m = ctx->stamp_margin;
	uint8_t mine;

	/* §7.1.3: insufficient information -> 3; not ours -> 1. */
	if (!valid_status(upd->status)) {
		return verdict(false, FO_LEASE_REJECT_MISSING_INFO, FO_LEASE_RULE_MISSING_INFO);
	}
	if (!local->in_pool) {
		return verdict(false, FO_LEASE_REJECT_ILLEGAL_IP, FO_LEASE_RULE_NOT_IN_POOL);
	}
	if ((upd->status == FO_LEASE_ACTIVE && (!hw || !upd->ends || !upd->pet)) ||
	    ((upd->status == FO_LEASE_EXPIRED || upd->status == FO_LEASE_RELEASED) && !hw)) {
		return verdict(false, FO_LEASE_REJECT_MISSING_INFO, FO_LEASE_RULE_MISSING_INFO);
	}
	/* §7.1.3: a reserved BACKUP for an address we do not reserve -> 19 (SHOULD). */
	if (upd->status == FO_LEASE_BACKUP && (upd->ip_flags & FO_LEASE_IP_FLAG_RESERVED) &&
	    !local->reserved) {
		return verdict(false, FO_LEASE_REJECT_NOT_RESERVED, FO_LEASE_RULE_NOT_RESERVED);
	}
	/* ISC: crossed updates; the less critical one is NAKed with 16 (startup capture). */
	if (ctx->outgoing_unacked && ours_is_better(ctx, local, upd)) {
		return verdict(false, FO_LEASE_REJECT_LESS_CRITICAL, FO_LEASE_RULE_DUELING);
	}

	mine = valid_status(local->status) ? local->status : FO_LEASE_FREE;
	switch (fig_7_1_3_1[row_of(mine)][col_of(upd->status)]) {
	case TIME1:
		/* Across a clock step (ctx->stamp_margin) the live lease gets the benefit of
		 * the doubt: a received ACTIVE is later unless ours is later by more than the
		 * margin; a received end of our ACTIVE must be later by more than it. */
		if (upd->status == FO_LEASE_ACTIVE) {
			return timed(later(upd->cltt ? add_sat(upd->cltt, m) : 0, local->cltt),
				     FO_LEASE_RULE_TIME1);
		}
		if (mine == FO_LEASE_ACTIVE) {
			return timed(later(upd->cltt, local->cltt ? add_sat(local->cltt, m) : 0),
				     FO_LEASE_RULE_TIME1);
		}
		return timed(later(upd->cltt, local->cltt), FO_LEASE_RULE_TIME1);
	case TIME2:
		return timed(ctx->now + ctx->slack > add_sat(local->ends, m), FO_LEASE_RULE_TIME2);
	case TIME3:
		return timed(later(upd->cltt ? add_sat(upd->cltt, m) : 0, local->stos),
			     FO_LEASE_RULE_TIME3);
	case ACCEPT5:
		if (fo_lease_same_client(&upd->client, &local->client)) {
			return verdict(true, 0, FO_LEASE_RULE_ACCEPT);
		}
		return verdict(ctx->role == FO_ROLE_SECONDARY, FO_LEASE_REJECT_FATAL_CONFLICT,
			       FO_LEASE_RULE_CLIENTS_DIFFER);
	case REJECT4:
		return verdict(false, FO_LEASE_REJECT_LESS_CRITICAL, FO_LEASE_RULE_ABANDONED);
	case ACCEPT:
	default:
		return verdict(true, 0, FO_LEASE_RULE_ACCEPT);
	}
}

/* --- client-request-options ------------------------------------------------------------ */

static const uint8_t dhcp_cookie[4] = {99, 130, 83, 99};

enum { OPT_PAD = 0, OPT_HOSTNAME = 12, OPT_VENDOR_CLASS = 60, OPT_RELAY = 82, OPT_END = 255 };

static size_t put_opt(uint8_t *buf, uint8_t code, const void *v, uint8_t len)
{
	buf[0] = code;
	buf[1] = len;
	memcpy(buf + 2, v, len);
	return 2u + len;
}

size_t fo_lease_info_encode(const struct dp_client_info *in, uint8_t *buf)
{
	size_t n = sizeof(dhcp_cookie);
	uint8_t host = in->host_len < DP_INFO_HOST_MAX ? in->host_len : DP_INFO_HOST_MAX;
	uint8_t vendor = in->vendor_len < DP_INFO_VENDOR_MAX ? in->vendor_len : DP_INFO_VENDOR_MAX;
	uint8_t circuit = in->circuit_len < DP_INFO_CIRCUIT_MAX ? in->circuit_len :
			  DP_INFO_CIRCUIT_MAX;

	if (host == 0 && vendor == 0 && circuit == 0) {
		return 0;
	}
	memcpy(buf, dhcp_cookie, sizeof(dhcp_cookie));
	if (host != 0) {
		n += put_opt(buf + n, OPT_HOSTNAME, in->host, host);
	}
	if (vendor != 0) {
		n += put_opt(buf + n, OPT_VENDOR_CLASS, in->vendor, vendor);
	}
	if (circuit != 0) {
		buf[n++] = OPT_RELAY;
		buf[n++] = (uint8_t)(2u + circuit);
		n += put_opt(buf + n, 1, in->circuit, circuit);
	}
	return n;
}

void fo_lease_info_decode(const uint8_t *p, size_t len, struct dp_client_info *out)
{
	size_t i = sizeof(dhcp_cookie);

	memset(out, 0, sizeof(*out));
	if (p == NULL || len < sizeof(dhcp_cookie) || memcmp(p, dhcp_cookie, 4) != 0) {
		return;
	}
	while (i < len && p[i] != OPT_END) {
		const uint8_t *v;
		uint8_t l;

		if (p[i] == OPT_PAD) {
			i++;
			continue;
		}
		if (i + 2 > len || i + 2u + p[i + 1] > len) {
			return;
		}
		v = p + i + 2;
		l = p[i + 1];
		if (p[i] == OPT_HOSTNAME) {
			out->host_len = dp_info_text_set(out->host, DP_INFO_HOST_MAX, v, l);
		} else if (p[i] == OPT_VENDOR_CLASS) {
			out->vendor_len = dp_info_text_set(out->vendor, DP_INFO_VENDOR_MAX, v, l);
		} else if (p[i] == OPT_RELAY) {
			for (uint8_t j = 0; j + 2u <= l && j + 2u + v[j + 1] <= l;
			     j = (uint8_t)(j + 2u + v[j + 1])) {
				if (v[j] == 1) {
					out->circuit_len = v[j + 1] < DP_INFO_CIRCUIT_MAX ?
							   v[j + 1] : DP_INFO_CIRCUIT_MAX;
					memcpy(out->circuit, v + j + 2, out->circuit_len);
					break;
				}
			}
		}
		i += 2u + l;
	}
}
