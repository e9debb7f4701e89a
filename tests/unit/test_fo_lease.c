/*
 * fo_lease as tables: every row names the rule it checks ("§x.y" = draft-ietf-dhc-failover-12,
 * "ISC" = dhcpd 4.4.3 server/failover.c or dhcp.c, "capture" = reference/isc-peer/captures) in
 * its first field, which is also what a failing row prints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fo_lease.h"

#if defined(__has_include)
#if __has_include("fo_msg.h")
#include "fo_msg.h"
/* The codec's values must be ours (both are D12 §12.3, §12.12, §12.21). */
#define SAME(a, b) ((int)(a) == (int)(b))
_Static_assert(SAME(FO_BS_FREE, FO_LEASE_FREE) && SAME(FO_BS_ACTIVE, FO_LEASE_ACTIVE) &&
	       SAME(FO_BS_EXPIRED, FO_LEASE_EXPIRED) && SAME(FO_BS_RELEASED, FO_LEASE_RELEASED) &&
	       SAME(FO_BS_ABANDONED, FO_LEASE_ABANDONED) && SAME(FO_BS_RESET, FO_LEASE_RESET) &&
	       SAME(FO_BS_BACKUP, FO_LEASE_BACKUP), "binding-status codes");
_Static_assert(SAME(FO_RR_FATAL_CONFLICT, FO_LEASE_REJECT_FATAL_CONFLICT) &&
	       SAME(FO_RR_OUTDATED_BIND_INFO, FO_LEASE_REJECT_OUTDATED) &&
	       SAME(FO_RR_LESS_CRIT_BIND_INFO, FO_LEASE_REJECT_LESS_CRITICAL) &&
	       SAME(FO_RR_IP_NOT_RESERVED, FO_LEASE_REJECT_NOT_RESERVED) &&
	       SAME(FO_RR_MISSING_BINDINFO, FO_LEASE_REJECT_MISSING_INFO) &&
	       SAME(FO_RR_ILLEGAL_IP_ADDR, FO_LEASE_REJECT_ILLEGAL_IP), "reject-reason codes");
_Static_assert(SAME(FO_IP_FLAG_RESERVED, FO_LEASE_IP_FLAG_RESERVED) &&
	       SAME(FO_IP_FLAG_BOOTP, FO_LEASE_IP_FLAG_BOOTP), "IP-flags");
#endif
#endif

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define NOW 1795382600ULL	/* 2026-11-23 21:23:20 UTC, inside the lab's capture window */
#define T(x) (NOW + (x))	/* a time relative to NOW */
#define DAY 86400u
#define HOUR 3600u
#define MCLT HOUR

#define PRI FO_ROLE_PRIMARY
#define SEC FO_ROLE_SECONDARY

#define FRE FO_LEASE_FREE
#define ACT FO_LEASE_ACTIVE
#define EXP FO_LEASE_EXPIRED
#define REL FO_LEASE_RELEASED
#define ABN FO_LEASE_ABANDONED
#define RST FO_LEASE_RESET
#define BAK FO_LEASE_BACKUP

/* ---------------------------------------------------------------------------------------- */
/* MCLT rule                                                                                  */

static void test_mclt_limit(void **state)
{
	static const struct {
		const char *cite;
		uint32_t desired;
		uint64_t partner_pet;	/* 0 = the partner knows nothing */
		uint32_t mclt;
		uint32_t want;
	} rows[] = {
		{"ISC ack_lease: lease times below MCLT are not a concern", 600, 0, MCLT, 600},
		{"§5.2.1: a lease equal to MCLT needs nothing from the partner", MCLT, 0, MCLT,
		 MCLT},
		{"§5.2.1: first lease, acked PET 0 -> MCLT", 3 * DAY, 0, MCLT, MCLT},
		{"§5.2.1 example: renewal at T1, acked PET = t0+½h+3d -> full 3 days",
		 3 * DAY, T(3 * DAY), MCLT, 3 * DAY},
		{"§7.1.5: MCLT beyond what the partner knows", 3 * DAY, T(100), MCLT, 100 + MCLT},
		{"§7.1.5: a PET in the past gives MCLT", 3 * DAY, T(-50), MCLT, MCLT},
		{"§7.1.5: a PET of now gives MCLT", 3 * DAY, T(0), MCLT, MCLT},
		{"§5.14: an infinite lease is bounded like any other", FO_LEASE_INFINITE, 0, MCLT,
		 MCLT},
		{"§7.1.5: infinite, partner knows 10 days", FO_LEASE_INFINITE, T(10 * DAY), MCLT,
		 10 * DAY + MCLT},
		{"capture startup 21:23:17: first DORA, desired 300, MCLT 60 -> 60", 300, 0, 60,
		 60},
		{"capture startup 21:23:47: renewal 30 s later, acked PET t0+330 -> 300", 300,
		 T(300), 60, 300},
		{"§7.1.5: desired below the bound is given", 1000, T(2 * DAY), MCLT, 1000},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(rows); i++) {
		uint32_t got = fo_lease_mclt_limit(rows[i].desired, rows[i].partner_pet,
						   rows[i].mclt, NOW);

		if (got != rows[i].want) {
			fail_msg("%s: got %u want %u", rows[i].cite, got, rows[i].want);
		}
	}
}

static void test_lease_time(void **state)
{
	static const struct {
		const char *cite;
		struct fo_lease_times t;
		uint32_t desired;
		uint32_t want;
	} rows[] = {
		{"§7.1.5: nothing acked or received -> MCLT", {0, 0, 0, 0}, DAY, MCLT},
		{"§7.1.5: acked PET counts", {0, T(DAY), T(DAY), 0}, 2 * DAY, DAY + MCLT},
		{"§7.1.5: received PET counts (secondary renewing the primary's client)",
		 {T(600), 0, 0, T(2 * DAY)}, DAY, DAY},
		{"§7.1.5: the later of acked and received", {0, 0, T(100), T(200)}, DAY,
		 200 + MCLT},
		{"§7.1.5: sent-but-unacked PET does not count", {0, T(DAY), 0, 0}, DAY, MCLT},
		{"§9.9.2 not used: the lease end alone does not extend", {T(DAY), 0, 0, 0}, DAY,
		 MCLT},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(rows); i++) {
		uint32_t got = fo_lease_time(&rows[i].t, rows[i].desired, MCLT, NOW);

		if (got != rows[i].want) {
			fail_msg("%s: got %u want %u", rows[i].cite, got, rows[i].want);
		}
	}
}

static void test_pet(void **state)
{
	static const struct {
		const char *cite;
		uint64_t now;
		uint32_t desired, granted;
		uint64_t want;
	} rows[] = {
		{"capture startup 21:23:17: lease 60, PET now+330", NOW, 300, 60, T(330)},
		{"capture startup 21:23:47: lease 300, PET now+450", NOW, 300, 300, T(450)},
		{"§5.2.1 example: first lease 1h of 3d -> now + ½h + 3d", NOW, 3 * DAY, HOUR,
		 T(3 * DAY + HOUR / 2)},
		{"§5.2.1 example: later renewals -> now + ½·3d + 3d", NOW, 3 * DAY, 3 * DAY,
		 T(3 * DAY + 3 * DAY / 2)},
		{"ISC: infinite lease -> the latest time", NOW, FO_LEASE_INFINITE, MCLT,
		 FO_LEASE_TIME_MAX},
		{"ISC: infinite granted -> the latest time", NOW, DAY, FO_LEASE_INFINITE,
		 FO_LEASE_TIME_MAX},
		{"§6.2: absolute times are 32-bit, clamp", 0xfffff000ULL, DAY, DAY,
		 FO_LEASE_TIME_MAX},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(rows); i++) {
		uint64_t got = fo_lease_pet(rows[i].now, rows[i].desired, rows[i].granted);

		if (got != rows[i].want) {
			fail_msg("%s: got %llu want %llu", rows[i].cite, (unsigned long long)got,
				 (unsigned long long)rows[i].want);
		}
		/* §9.8.3: the PET is at least the lease end. */
		if (rows[i].granted != FO_LEASE_INFINITE) {
			assert_true(got >= rows[i].now + rows[i].granted ||
				    got == FO_LEASE_TIME_MAX);
		}
	}
}

/* ---------------------------------------------------------------------------------------- */
/* Allocation                                                                                 */

struct arow {
	const char *cite;
	uint8_t role;
	uint8_t pd;			/* in PARTNER-DOWN */
	int64_t pd_start;		/* relative to NOW */
	uint8_t status, agreed;
	uint8_t sent, in_pd, bootp;
	int64_t ends, sent_pet, acked_pet, recv_pet;	/* relative; 0 = none */
	uint8_t same;
	uint8_t want;
};

/* A relative time of a row: 0 = none, AT_NOW = exactly NOW. */
#define AT_NOW INT64_MIN
#define REL_T(x) ((x) == AT_NOW ? NOW : (x) ? (uint64_t)(NOW + (x)) : 0)

static const struct arow alloc_rows[] = {
	/*	 role pd pd_start status agreed sent in_pd bootp
	 *	 ends sent_pet acked_pet recv_pet same_client -> may allocate */
	{"§5.4: FREE is the primary's pool",
	 PRI, 0, 0, FRE, FRE, 0, 0, 0, 0, 0, 0, 0, 0, 1},
	{"§5.4, §9.9.2: the secondary never allocates FREE",
	 SEC, 0, 0, FRE, FRE, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	{"§5.4: BACKUP is the secondary's pool",
	 SEC, 0, 0, BAK, BAK, 0, 0, 0, 0, 0, 0, 0, 0, 1},
	{"§5.4: once sent BACKUP the primary must not use it",
	 PRI, 0, 0, BAK, BAK, 1, 0, 0, 0, 0, 0, 0, 0, 0},
	{"§5.2.2: EXPIRED acked by the partner -> FREE, primary's",
	 PRI, 0, 0, EXP, EXP, 1, 0, 0, -9, 0, 0, 0, 0, 1},
	{"§5.11: an acked EXPIRED returns to the primary, not us",
	 SEC, 0, 0, EXP, EXP, 1, 0, 0, -9, 0, 0, 0, 0, 0},
	{"§9.8.3: sent, no BNDACK yet: not to another client",
	 PRI, 0, 0, EXP, ACT, 1, 0, 0, -9, 0, 0, 0, 0, 0},
	{"§9.8.3: sent: not even to the same client again",
	 PRI, 0, 0, EXP, ACT, 1, 0, 0, -9, 0, 0, 0, 1, 0},
	{"§9.8.3: not sent yet: the same client may have it again",
	 PRI, 0, 0, EXP, ACT, 0, 0, 0, -9, 0, 0, 0, 1, 1},
	{"§9.8.3: not sent, partner knows it ACTIVE: no other client",
	 PRI, 0, 0, EXP, ACT, 0, 0, 0, -9, 0, 0, 0, 0, 0},
	{"ISC rewind: never told, partner still sees FREE: primary",
	 PRI, 0, 0, EXP, FRE, 0, 0, 0, -9, 0, 0, 0, 0, 1},
	{"ISC rewind: never told, partner still sees BACKUP: second.",
	 SEC, 0, 0, EXP, BAK, 0, 0, 0, -9, 0, 0, 0, 0, 1},
	{"ISC rewind: the partner's view FREE is not the secondary's",
	 SEC, 0, 0, EXP, FRE, 0, 0, 0, -9, 0, 0, 0, 0, 0},
	{"§5.2.2: RELEASED acked -> FREE, primary's",
	 PRI, 0, 0, REL, REL, 1, 0, 0, -9, 0, 0, 0, 0, 1},
	{"§5.2.2: RELEASED unacked: not to another client",
	 PRI, 0, 0, REL, ACT, 1, 0, 0, -9, 0, 0, 0, 0, 0},
	{"§5.11: RESET acked -> FREE",
	 PRI, 0, 0, RST, RST, 1, 0, 0, 0, 0, 0, 0, 0, 1},
	{"§5.11: RESET is an operator's, not a client's, status",
	 PRI, 0, 0, RST, ACT, 0, 0, 0, 0, 0, 0, 0, 1, 0},
	{"§9.8.3: ACTIVE, same client: a renewal",
	 SEC, 0, 0, ACT, ACT, 1, 0, 0, 600, 0, 0, 0, 1, 1},
	{"§5.2.2: ACTIVE never moves to another client",
	 PRI, 0, 0, ACT, ACT, 1, 0, 0, -600, 0, 0, 0, 0, 0},
	{"§5.11: ABANDONED is unusable until RESET (ISC: last resort)",
	 PRI, 0, 0, ABN, ABN, 1, 0, 0, 0, 0, 0, 0, 0, 0},
	{"§12.3: an unknown status is never allocated",
	 PRI, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	/* PARTNER-DOWN */
	{"§9.4.2: own pool at once",
	 PRI, 1, -10, FRE, FRE, 0, 0, 0, 0, 0, 0, 0, 0, 1},
	{"§9.4.2: partner's pool not before PD + MCLT",
	 PRI, 1, -3599, BAK, BAK, 1, 0, 0, 0, 0, 0, 0, 0, 0},
	{"§9.4.2: partner's pool from PD + MCLT",
	 PRI, 1, -3600, BAK, BAK, 1, 0, 0, 0, 0, 0, 0, 0, 1},
	{"§9.4.2: the secondary takes FREE after PD + MCLT",
	 SEC, 1, -4000, FRE, FRE, 0, 0, 0, 0, 0, 0, 0, 0, 1},
	{"§9.4.2, ISC tsfp+MCLT: a recent acked PET still waits",
	 PRI, 1, -9000, BAK, BAK, 1, 0, 0, 0, 0, -100, 0, 0, 0},
	{"§9.4.2, ISC tsfp+MCLT: MCLT after the acked PET",
	 PRI, 1, -9000, BAK, BAK, 1, 0, 0, 0, 0, -3600, 0, 0, 1},
	{"§5.14: never the partner's pool of a BOOTP pool",
	 PRI, 1, -9000, BAK, BAK, 1, 0, 1, 0, 0, 0, 0, 0, 0},
	{"§5.14: the own pool of a BOOTP pool is fine",
	 PRI, 1, -9000, FRE, FRE, 0, 0, 1, 0, 0, 0, 0, 0, 1},
	{"§9.4.2: unacked EXPIRED waits MCLT past the sent PET",
	 PRI, 1, -7200, EXP, ACT, 1, 0, 0, -5000, -1000, 0, 0, 0, 0},
	{"§9.4.2: ... and is reclaimed after it",
	 PRI, 1, -7200, EXP, ACT, 1, 0, 0, -5000, -3600, 0, 0, 0, 1},
	{"§9.4.2: ... never before PD + MCLT",
	 PRI, 1, -100, EXP, ACT, 1, 0, 0, -9000, 0, 0, 0, 0, 0},
	{"§9.4.2: an ACTIVE lease that has not ended stays",
	 PRI, 1, -9000, ACT, ACT, 1, 0, 0, 10, 0, 0, 0, 0, 0},
	{"§9.4.2: ended ACTIVE, MCLT past every time: reclaim",
	 PRI, 1, -7200, ACT, ACT, 1, 0, 0, -3600, 0, 0, -3600, 0, 1},
	{"§9.4.2: ended ACTIVE, received PET recent: wait",
	 PRI, 1, -7200, ACT, ACT, 1, 0, 0, -3600, 0, 0, -10, 0, 0},
	{"§9.4.2: ended ACTIVE, PD + MCLT not reached: wait",
	 PRI, 1, -100, ACT, ACT, 1, 0, 0, -9000, 0, 0, 0, 0, 0},
	{"§9.4.2: leased by us in PD, partner never knew: its end",
	 PRI, 1, -100, ACT, FRE, 1, 1, 0, -1, 600, 0, 0, 0, 1},
	{"§9.4.2: leased by us in PD, not ended: stays",
	 PRI, 1, -100, ACT, FRE, 1, 1, 0, 5, 600, 0, 0, 0, 0},
	{"§5.11: ABANDONED stays unusable in PD",
	 PRI, 1, -9999, ABN, ABN, 1, 0, 0, 0, 0, 0, 0, 0, 0},
	{"§9.4.2 not in PD: the partner's pool stays the partner's",
	 SEC, 0, -9999, FRE, FRE, 0, 0, 0, 0, 0, 0, 0, 0, 0},
};

static void test_may_allocate(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(alloc_rows); i++) {
		const struct arow *r = &alloc_rows[i];
		struct fo_lease_ctx ctx = {
			.role = r->role, .partner_down = r->pd, .pd_start = NOW + r->pd_start,
			.mclt = MCLT, .now = NOW};
		struct fo_lease_addr a = {
			.status = r->status, .agreed = r->agreed, .sent = r->sent,
			.issued_in_pd = r->in_pd, .bootp_pool = r->bootp,
			.t = {REL_T(r->ends), REL_T(r->sent_pet), REL_T(r->acked_pet),
			      REL_T(r->recv_pet)}};
		bool got = fo_lease_may_allocate(&ctx, &a, r->same);

		if (got != r->want) {
			fail_msg("row %zu %s: got %d want %d", i, r->cite, got, r->want);
		}
	}
}

static void test_reclaim_time(void **state)
{
	static const struct {
		const char *cite;
		int64_t pd_start, ends, sent, acked, recv;
		uint8_t in_pd;
		uint64_t want;
	} rows[] = {
		{"§9.4.2: nothing known -> PD start + MCLT", -100, 0, 0, 0, 0, 0, T(-100 + MCLT)},
		{"§9.4.2: MCLT beyond the lease end", -9000, -10, 0, 0, 0, 0, T(-10 + MCLT)},
		{"§9.4.2: MCLT beyond the sent PET", -9000, -10, 500, 0, 0, 0, T(500 + MCLT)},
		{"§9.4.2: MCLT beyond the acked PET", -9000, -10, 0, 700, 0, 0, T(700 + MCLT)},
		{"§9.4.2: MCLT beyond the received PET", -9000, -10, 0, 0, 900, 0, T(900 + MCLT)},
		{"§9.4.2: never earlier than PD start + MCLT", 50, -10, -20, -30, -40, 0,
		 T(50 + MCLT)},
		{"§9.4.2: our own PD lease: its end", -100, 300, 1000, 0, 0, 1, T(300)},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(rows); i++) {
		struct fo_lease_ctx ctx = {.role = PRI, .partner_down = true,
					   .pd_start = NOW + rows[i].pd_start, .mclt = MCLT,
					   .now = NOW};
		struct fo_lease_addr a = {
			.status = ACT, .issued_in_pd = rows[i].in_pd,
			.t = {REL_T(rows[i].ends), REL_T(rows[i].sent), REL_T(rows[i].acked),
			      REL_T(rows[i].recv)}};
		uint64_t got = fo_lease_reclaim_time(&ctx, &a);

		if (got != rows[i].want) {
			fail_msg("%s: got %llu want %llu", rows[i].cite, (unsigned long long)got,
				 (unsigned long long)rows[i].want);
		}
	}
}

/* ---------------------------------------------------------------------------------------- */
/* Received BNDUPD                                                                            */

/* Clients. */
enum { CN, CA, CB, CIA, CIA_HB, CIB_HA };	/* none; hw A; hw B; id A + hw A; id A + hw B;
						 * id B + hw A */

static const uint8_t hw_a[] = {1, 0x02, 0x00, 0x5e, 0x12, 0x00, 0x05};
static const uint8_t hw_b[] = {1, 0x02, 0x00, 0x5e, 0x12, 0x00, 0x01};
static const uint8_t id_a[] = {1, 0x02, 0x00, 0x5e, 0x12, 0x00, 0x05};
static const uint8_t id_b[] = {0, 'h', 'o', 's', 't', 'b'};

static struct fo_lease_client client(int c)
{
	struct fo_lease_client x = {0};

	switch (c) {
	case CA:
		x.hw = hw_a;
		x.hw_len = sizeof(hw_a);
		break;
	case CB:
		x.hw = hw_b;
		x.hw_len = sizeof(hw_b);
		break;
	case CIA:
		x.id = id_a;
		x.id_len = sizeof(id_a);
		x.hw = hw_a;
		x.hw_len = sizeof(hw_a);
		break;
	case CIA_HB:
		x.id = id_a;
		x.id_len = sizeof(id_a);
		x.hw = hw_b;
		x.hw_len = sizeof(hw_b);
		break;
	case CIB_HA:
		x.id = id_b;
		x.id_len = sizeof(id_b);
		x.hw = hw_a;
		x.hw_len = sizeof(hw_a);
		break;
	default:
		break;
	}
	return x;
}

/* Options of a row. */
#define O_NOT_IN_POOL 0x01	/* the address is not ours */
#define O_RESERVED 0x02		/* we reserve the address */
#define O_RFLAG 0x04		/* the update has IP-flags R */
#define O_UNACKED 0x08		/* our own update for the address is unacked (ISC dueling) */
#define O_SLACK 0x10		/* ISC's 65 s of slack in time(2) */

struct urow {
	const char *cite;
	uint8_t role;
	struct {
		uint8_t status;
		int64_t cltt, stos, ends;	/* relative; 0 = none */
		uint8_t client;
	} l;
	struct {
		uint8_t status;
		int64_t cltt, ends, pet;	/* relative; 0 = option absent */
		uint8_t client;
	} u;
	uint8_t accept, reason, rule;
	uint8_t opts;
};

#define ACCEPT 1, 0
#define REJECT(r) 0, (r)
#define OK_ FO_LEASE_RULE_ACCEPT
#define R_T1 FO_LEASE_RULE_TIME1
#define R_T2 FO_LEASE_RULE_TIME2
#define R_T3 FO_LEASE_RULE_TIME3
#define R_CD FO_LEASE_RULE_CLIENTS_DIFFER
#define R_AB FO_LEASE_RULE_ABANDONED
#define R_MI FO_LEASE_RULE_MISSING_INFO
#define R_NP FO_LEASE_RULE_NOT_IN_POOL
#define R_NR FO_LEASE_RULE_NOT_RESERVED
#define R_DU FO_LEASE_RULE_DUELING

/* An ACTIVE binding of ours: client A, last seen 100 s ago, lease ends in 500 s. */
#define L_ACT {ACT, -100, -100, 500, CA}
/* A valid received ACTIVE for client A/B, newer than ours. */
#define U_ACT_A {ACT, -5, 600, 900, CA}
#define U_ACT_B {ACT, -5, 600, 900, CB}
#define L_EXP {EXP, -1000, -500, -500, CA}
#define L_REL {REL, -1000, -500, -500, CA}
#define L_RST {RST, 0, -300, 0, CN}
#define L_ABN {ABN, 0, -300, 0, CN}
#define L_FRE {FRE, 0, -300, 0, CN}
#define L_BAK {BAK, 0, -300, 0, CN}

static const struct urow update_rows[] = {
	/* Figure 7.1.3-1, our ACTIVE row */
	{"§7.1.3 ACTIVE/ACTIVE, same client: accept(5)", PRI, L_ACT, U_ACT_A, ACCEPT, OK_, 0},
	{"§7.1.3 ACTIVE/ACTIVE (5): clients differ, primary rejects 2", PRI, L_ACT, U_ACT_B,
	 REJECT(2), R_CD, 0},
	{"§7.1.3 ACTIVE/ACTIVE (5): clients differ, secondary accepts", SEC, L_ACT, U_ACT_B,
	 ACCEPT, R_CD, 0},
	{"§7.1.3 ACTIVE/ACTIVE (5): same client-id, other hw: same client", PRI,
	 {ACT, -100, -100, 500, CIA}, {ACT, -5, 600, 900, CIA_HB}, ACCEPT, OK_, 0},
	{"§7.1.3 ACTIVE/ACTIVE (5): other client-id, same hw: clients differ", PRI,
	 {ACT, -100, -100, 500, CIA}, {ACT, -5, 600, 900, CIB_HA}, REJECT(2), R_CD, 0},
	{"§7.1.3 ACTIVE/EXPIRED time(2): our lease runs, reject 15", PRI, L_ACT,
	 {EXP, -5, 0, 0, CA}, REJECT(15), R_T2, 0},
	{"§7.1.3 ACTIVE/EXPIRED time(2): our lease ended, accept", PRI,
	 {ACT, -900, -900, -1, CA}, {EXP, -5, 0, 0, CA}, ACCEPT, R_T2, 0},
	{"§7.1.3 ACTIVE/EXPIRED time(2): ending now is not 'later', reject", PRI,
	 {ACT, -900, -900, AT_NOW, CA}, {EXP, -5, 0, 0, CA}, REJECT(15), R_T2, 0},
	{"ISC 65 s slack: a lease ending in 30 s counts as ended", PRI,
	 {ACT, -900, -900, 30, CA}, {EXP, -5, 0, 0, CA}, ACCEPT, R_T2, O_SLACK},
	{"ISC 65 s slack: a lease ending in 65 s does not", PRI,
	 {ACT, -900, -900, 65, CA}, {EXP, -5, 0, 0, CA}, REJECT(15), R_T2, O_SLACK},
	{"§7.1.3 ACTIVE/RELEASED time(1): newer CLTT, accept", SEC, L_ACT,
	 {REL, -5, 0, 0, CA}, ACCEPT, R_T1, 0},
	{"§7.1.3 ACTIVE/RELEASED time(1): older CLTT, reject 15", SEC, L_ACT,
	 {REL, -200, 0, 0, CA}, REJECT(15), R_T1, 0},
	{"§7.1.3 ACTIVE/RELEASED time(1): equal CLTT is not later", SEC, L_ACT,
	 {REL, -100, 0, 0, CA}, REJECT(15), R_T1, 0},
	{"§7.1.3: a BNDUPD without CLTT is never later", SEC, L_ACT, {REL, 0, 0, 0, CA},
	 REJECT(15), R_T1, 0},
	{"§7.1.3 ACTIVE/FREE time(2): our lease runs, reject 15", SEC, L_ACT,
	 {FRE, 0, 0, 0, CN}, REJECT(15), R_T2, 0},
	{"§7.1.3 ACTIVE/FREE time(2): our lease ended, accept", SEC,
	 {ACT, -900, -900, -60, CA}, {FRE, 0, 0, 0, CN}, ACCEPT, R_T2, 0},
	{"§7.1.3 ACTIVE/BACKUP time(2): our lease ended, accept", PRI,
	 {ACT, -900, -900, -60, CA}, {BAK, 0, 0, 0, CN}, ACCEPT, R_T2, 0},
	{"§7.1.3 ACTIVE/BACKUP time(2): our lease runs, reject 15", PRI, L_ACT,
	 {BAK, 0, 0, 0, CN}, REJECT(15), R_T2, 0},
	{"§7.1.3 ACTIVE/RESET: accept", PRI, L_ACT, {RST, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	{"§7.1.3 ACTIVE/ABANDONED: accept", PRI, L_ACT, {ABN, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	/* our EXPIRED row */
	{"§7.1.3 EXPIRED/ACTIVE time(1): newer CLTT, accept", PRI, L_EXP, U_ACT_B, ACCEPT,
	 R_T1, 0},
	{"§7.1.3 EXPIRED/ACTIVE time(1): older CLTT, reject 15", PRI, L_EXP,
	 {ACT, -2000, 600, 900, CB}, REJECT(15), R_T1, 0},
	{"§7.1.3 EXPIRED/ACTIVE time(1): no CLTT in the BNDUPD, reject 15", PRI, L_EXP,
	 {ACT, 0, 600, 900, CB}, REJECT(15), R_T1, 0},
	{"§7.1.3: CLTT in the BNDUPD but none of ours is later", PRI,
	 {EXP, 0, -500, -500, CA}, {ACT, -2000, 600, 900, CB}, ACCEPT, R_T1, 0},
	{"§7.1.3 EXPIRED/EXPIRED: accept", PRI, L_EXP, {EXP, -2000, 0, 0, CA}, ACCEPT, OK_, 0},
	{"§7.1.3 EXPIRED/RELEASED: accept", PRI, L_EXP, {REL, -2000, 0, 0, CA}, ACCEPT, OK_, 0},
	{"§7.1.3 EXPIRED/FREE: accept", SEC, L_EXP, {FRE, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	{"§7.1.3 EXPIRED/BACKUP: accept", PRI, L_EXP, {BAK, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	{"§7.1.3 EXPIRED/RESET: accept", PRI, L_EXP, {RST, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	{"§7.1.3 EXPIRED/ABANDONED: accept", PRI, L_EXP, {ABN, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	/* our RELEASED row */
	{"§7.1.3 RELEASED/ACTIVE time(1): newer CLTT, accept", SEC, L_REL, U_ACT_A, ACCEPT,
	 R_T1, 0},
	{"§7.1.3 RELEASED/ACTIVE time(1): older CLTT, reject 15", SEC, L_REL,
	 {ACT, -1500, 600, 900, CA}, REJECT(15), R_T1, 0},
	{"§7.1.3 RELEASED/EXPIRED time(1): newer CLTT, accept", SEC, L_REL,
	 {EXP, -10, 0, 0, CA}, ACCEPT, R_T1, 0},
	{"§7.1.3 RELEASED/EXPIRED time(1): older CLTT, reject 15", SEC, L_REL,
	 {EXP, -5000, 0, 0, CA}, REJECT(15), R_T1, 0},
	{"§7.1.3 RELEASED/RELEASED: accept", SEC, L_REL, {REL, -5000, 0, 0, CA}, ACCEPT, OK_,
	 0},
	{"§7.1.3 RELEASED/FREE: accept", SEC, L_REL, {FRE, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	{"§7.1.3 RELEASED/BACKUP: accept", PRI, L_REL, {BAK, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	{"§7.1.3 RELEASED/RESET: accept", PRI, L_REL, {RST, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	{"§7.1.3 RELEASED/ABANDONED: accept", PRI, L_REL, {ABN, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	/* our FREE/BACKUP row */
	{"§7.1.3 FREE/ACTIVE: accept", SEC, L_FRE, U_ACT_A, ACCEPT, OK_, 0},
	{"§7.1.3 FREE/EXPIRED: accept", SEC, L_FRE, {EXP, -9, 0, 0, CA}, ACCEPT, OK_, 0},
	{"§7.1.3 FREE/RELEASED: accept", SEC, L_FRE, {REL, -9, 0, 0, CA}, ACCEPT, OK_, 0},
	{"§7.1.3 FREE/FREE: accept", SEC, L_FRE, {FRE, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	{"§7.1.3 FREE/BACKUP: accept (the primary gives it away)", SEC, L_FRE,
	 {BAK, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	{"§7.1.3 FREE/RESET: accept", SEC, L_FRE, {RST, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	{"§7.1.3 FREE/ABANDONED: accept", SEC, L_FRE, {ABN, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	{"§7.1.3 BACKUP/ACTIVE: accept", PRI, L_BAK, U_ACT_B, ACCEPT, OK_, 0},
	{"§7.1.3 BACKUP/EXPIRED: accept", PRI, L_BAK, {EXP, -9, 0, 0, CB}, ACCEPT, OK_, 0},
	{"§7.1.3 BACKUP/RELEASED: accept", PRI, L_BAK, {REL, -9, 0, 0, CB}, ACCEPT, OK_, 0},
	{"§7.1.3 BACKUP/FREE: accept (the primary takes it back)", SEC, L_BAK,
	 {FRE, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	{"§7.1.3 BACKUP/BACKUP: accept", SEC, L_BAK, {BAK, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	{"§7.1.3 BACKUP/RESET: accept", PRI, L_BAK, {RST, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	{"§7.1.3 BACKUP/ABANDONED: accept", PRI, L_BAK, {ABN, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	{"§7.1.3: no binding of ours yet counts as FREE", PRI, {0, 0, 0, 0, CN}, U_ACT_B,
	 ACCEPT, OK_, 0},
	/* our RESET row */
	{"§7.1.3 RESET/ACTIVE time(3): CLTT after our STOS, accept", PRI, L_RST, U_ACT_A,
	 ACCEPT, R_T3, 0},
	{"§7.1.3 RESET/ACTIVE time(3): CLTT before our STOS, reject 15", PRI, L_RST,
	 {ACT, -400, 600, 900, CA}, REJECT(15), R_T3, 0},
	{"§7.1.3 RESET/ACTIVE time(3): no CLTT, reject 15", PRI, L_RST,
	 {ACT, 0, 600, 900, CA}, REJECT(15), R_T3, 0},
	{"§7.1.3 RESET/EXPIRED: accept", PRI, L_RST, {EXP, -9, 0, 0, CA}, ACCEPT, OK_, 0},
	{"§7.1.3 RESET/RELEASED: accept", PRI, L_RST, {REL, -9, 0, 0, CA}, ACCEPT, OK_, 0},
	{"§7.1.3 RESET/FREE: accept", PRI, L_RST, {FRE, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	{"§7.1.3 RESET/BACKUP: accept", PRI, L_RST, {BAK, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	{"§7.1.3 RESET/RESET: accept", PRI, L_RST, {RST, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	{"§7.1.3 RESET/ABANDONED: accept", PRI, L_RST, {ABN, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	/* our ABANDONED row */
	{"§7.1.3 ABANDONED/ACTIVE (4): reject 16", PRI, L_ABN, U_ACT_A, REJECT(16), R_AB, 0},
	{"§7.1.3 ABANDONED/EXPIRED (4): reject 16", PRI, L_ABN, {EXP, -9, 0, 0, CA},
	 REJECT(16), R_AB, 0},
	{"§7.1.3 ABANDONED/RELEASED (4): reject 16", PRI, L_ABN, {REL, -9, 0, 0, CA},
	 REJECT(16), R_AB, 0},
	{"§7.1.3 ABANDONED/FREE (4): reject 16", SEC, L_ABN, {FRE, 0, 0, 0, CN}, REJECT(16),
	 R_AB, 0},
	{"§7.1.3 ABANDONED/BACKUP (4): reject 16", PRI, L_ABN, {BAK, 0, 0, 0, CN}, REJECT(16),
	 R_AB, 0},
	{"§7.1.3 ABANDONED/RESET: accept", PRI, L_ABN, {RST, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	{"§7.1.3 ABANDONED/ABANDONED: accept", PRI, L_ABN, {ABN, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	/* before the table */
	{"§12.3: binding-status 0 is missing information, reject 3", PRI, L_FRE,
	 {0, 0, 0, 0, CN}, REJECT(3), R_MI, 0},
	{"§12.3: binding-status 8 is missing information, reject 3", PRI, L_FRE,
	 {8, 0, 0, 0, CN}, REJECT(3), R_MI, 0},
	{"§7.1.3, Table 7.1-1: ACTIVE without chaddr, reject 3 (ISC too)", PRI, L_FRE,
	 {ACT, -5, 600, 900, CN}, REJECT(3), R_MI, 0},
	{"§7.1.3, Table 7.1-1: ACTIVE without lease-expiration, reject 3", PRI, L_FRE,
	 {ACT, -5, 0, 900, CA}, REJECT(3), R_MI, 0},
	{"§7.1.3, Table 7.1-1: ACTIVE without potential-expiration, reject 3", PRI, L_FRE,
	 {ACT, -5, 600, 0, CA}, REJECT(3), R_MI, 0},
	{"§7.1.3, Table 7.1-1: EXPIRED without chaddr, reject 3", PRI, L_FRE,
	 {EXP, -5, 0, 0, CN}, REJECT(3), R_MI, 0},
	{"§7.1.3, Table 7.1-1: RELEASED without chaddr, reject 3", PRI, L_FRE,
	 {REL, -5, 0, 0, CN}, REJECT(3), R_MI, 0},
	{"Table 7.1-1: FREE may come without client", SEC, L_BAK, {FRE, 0, 0, 0, CN}, ACCEPT,
	 OK_, 0},
	{"§7.1.3: not one of our addresses, reject 1", PRI, L_FRE, U_ACT_A, REJECT(1), R_NP,
	 O_NOT_IN_POOL},
	{"§7.1.3: missing information is checked first", PRI, L_FRE, {0, 0, 0, 0, CN},
	 REJECT(3), R_MI, O_NOT_IN_POOL},
	{"§7.1.3: reserved BACKUP for an address we do not reserve, reject 19", SEC, L_FRE,
	 {BAK, 0, 0, 0, CN}, REJECT(19), R_NR, O_RFLAG},
	{"§5.13: reserved BACKUP for an address we reserve too: accept", SEC, L_FRE,
	 {BAK, 0, 0, 0, CN}, ACCEPT, OK_, O_RFLAG | O_RESERVED},
	{"§7.1.3: the R flag rule is about BACKUP only", SEC, L_BAK, {FRE, 0, 0, 0, CN}, ACCEPT,
	 OK_, O_RFLAG},
	/* ISC dueling updates (failover_lease_is_better), with our update unacked */
	{"ISC dueling, capture startup: crossed FREE, primary keeps its own, 16", PRI, L_FRE,
	 {FRE, 0, 0, 0, CN}, REJECT(16), R_DU, O_UNACKED},
	{"ISC dueling: crossed FREE, the secondary takes the primary's", SEC, L_BAK,
	 {FRE, 0, 0, 0, CN}, ACCEPT, OK_, O_UNACKED},
	{"D12 has no dueling rule: the same crossing without it is accepted", PRI, L_FRE,
	 {FRE, 0, 0, 0, CN}, ACCEPT, OK_, 0},
	{"ISC dueling: ACTIVE/ACTIVE, the later CLTT wins (theirs)", PRI, L_ACT, U_ACT_A,
	 ACCEPT, OK_, O_UNACKED},
	{"ISC dueling: ACTIVE/ACTIVE, the later CLTT wins (ours), 16", SEC,
	 {ACT, -1, -1, 500, CA}, U_ACT_A, REJECT(16), R_DU, O_UNACKED},
	{"ISC dueling: ACTIVE/ACTIVE equal CLTT, the primary's wins, 16", PRI,
	 {ACT, -5, -5, 500, CA}, U_ACT_A, REJECT(16), R_DU, O_UNACKED},
	{"ISC dueling: ACTIVE/ACTIVE equal CLTT, secondary yields", SEC,
	 {ACT, -5, -5, 500, CA}, U_ACT_A, ACCEPT, OK_, O_UNACKED},
	{"ISC dueling: their EXPIRED beats our ACTIVE; then time(2)", PRI, L_ACT,
	 {EXP, -5, 0, 0, CA}, REJECT(15), R_T2, O_UNACKED},
	{"ISC dueling: their ACTIVE beats our EXPIRED; then time(1)", PRI, L_EXP, U_ACT_B,
	 ACCEPT, R_T1, O_UNACKED},
	{"ISC dueling: primary's RELEASED beats the secondary's FREE, 16", PRI, L_REL,
	 {FRE, 0, 0, 0, CN}, REJECT(16), R_DU, O_UNACKED},
};

static void test_check_update(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(update_rows); i++) {
		const struct urow *r = &update_rows[i];
		struct fo_lease_update_ctx ctx = {
			.role = r->role, .now = NOW, .slack = (r->opts & O_SLACK) ? 65 : 0,
			.outgoing_unacked = r->opts & O_UNACKED};
		struct fo_lease_binding l = {
			.in_pool = !(r->opts & O_NOT_IN_POOL), .status = r->l.status,
			.reserved = r->opts & O_RESERVED, .cltt = REL_T(r->l.cltt),
			.stos = REL_T(r->l.stos), .ends = REL_T(r->l.ends),
			.client = client(r->l.client)};
		struct fo_lease_update u = {
			.status = r->u.status,
			.ip_flags = (r->opts & O_RFLAG) ? FO_LEASE_IP_FLAG_RESERVED : 0,
			.cltt = REL_T(r->u.cltt), .ends = REL_T(r->u.ends),
			.pet = REL_T(r->u.pet), .client = client(r->u.client)};
		struct fo_lease_verdict v = fo_lease_check_update(&ctx, &l, &u);

		if (v.accept != r->accept || v.reject_reason != r->reason || v.rule != r->rule) {
			fail_msg("row %zu %s: got %s %u (%s), want %s %u (%s)", i, r->cite,
				 v.accept ? "accept" : "reject", v.reject_reason,
				 fo_lease_rule_str(v.rule), r->accept ? "accept" : "reject",
				 r->reason, fo_lease_rule_str(r->rule));
		}
	}
}

/* Every cell of Figure 7.1.3-1 (6 local rows x 7 received statuses) has a row above. */
static void test_figure_covered(void **state)
{
	unsigned seen[8][8] = {{0}};
	size_t i;
	unsigned l, u;

	(void)state;
	for (i = 0; i < N_OF(update_rows); i++) {
		const struct urow *r = &update_rows[i];

		if (r->opts & (O_NOT_IN_POOL | O_UNACKED | O_RFLAG) || r->rule == R_MI) {
			continue;
		}
		seen[r->l.status & 7][r->u.status & 7]++;
	}
	for (l = FO_LEASE_FREE; l <= FO_LEASE_BACKUP; l++) {
		for (u = FO_LEASE_FREE; u <= FO_LEASE_BACKUP; u++) {
			if (!seen[l][u]) {
				fail_msg("no row for ours %s, received %s", fo_lease_status_str(l),
					 fo_lease_status_str(u));
			}
		}
	}
}

/*
 * Across a clock step (ctx.stamp_margin, chaos soak finding 3) the time rules give the
 * live lease the benefit of the doubt: a received end of our ACTIVE must be later by more
 * than the margin (time(1)) or come once our end plus the margin has passed (time(2)); a
 * received ACTIVE wins unless ours is later by more than the margin (time(1), time(3)).
 */
static void test_stamp_margin(void **state)
{
	struct fo_lease_update_ctx ctx = {.role = FO_ROLE_SECONDARY, .now = NOW};
	struct fo_lease_binding act = {
		.in_pool = true, .status = FO_LEASE_ACTIVE, .cltt = NOW - 1, .stos = NOW - 1,
		.ends = NOW + 599, .client = client(CA)};
	struct fo_lease_binding rel = {
		.in_pool = true, .status = FO_LEASE_RELEASED, .cltt = NOW, .stos = NOW,
		.client = client(CA)};
	struct fo_lease_binding rst = {
		.in_pool = true, .status = FO_LEASE_RESET, .stos = NOW};
	struct fo_lease_update urel = {
		.status = FO_LEASE_RELEASED, .cltt = NOW + 45, .stos = NOW + 45,
		.client = client(CA)};
	struct fo_lease_update uexp = {
		.status = FO_LEASE_EXPIRED, .cltt = NOW - 160, .client = client(CA)};
	struct fo_lease_update uact = {
		.status = FO_LEASE_ACTIVE, .cltt = NOW - 30, .ends = NOW + 570, .pet = NOW + 870,
		.client = client(CA)};
	struct fo_lease_verdict v;

	(void)state;
	/* time(1), ours ACTIVE, theirs RELEASED 46 s later by the numbers */
	assert_true(fo_lease_check_update(&ctx, &act, &urel).accept);
	ctx.stamp_margin = 50;
	v = fo_lease_check_update(&ctx, &act, &urel);
	assert_false(v.accept);
	assert_int_equal(v.reject_reason, FO_LEASE_REJECT_OUTDATED);
	assert_int_equal(v.rule, FO_LEASE_RULE_TIME1);
	urel.cltt = NOW + 50;	/* later by more than the margin */
	assert_true(fo_lease_check_update(&ctx, &act, &urel).accept);

	/* time(2), ours ACTIVE ending 10 s ago by the numbers: EXPIRED only past end + margin */
	act.ends = NOW - 10;
	ctx.stamp_margin = 0;
	assert_true(fo_lease_check_update(&ctx, &act, &uexp).accept);
	ctx.stamp_margin = 50;
	v = fo_lease_check_update(&ctx, &act, &uexp);
	assert_false(v.accept);
	assert_int_equal(v.rule, FO_LEASE_RULE_TIME2);
	act.ends = NOW - 51;
	assert_true(fo_lease_check_update(&ctx, &act, &uexp).accept);

	/* time(1), ours RELEASED, theirs ACTIVE 30 s earlier by the numbers */
	ctx.stamp_margin = 0;
	assert_false(fo_lease_check_update(&ctx, &rel, &uact).accept);
	ctx.stamp_margin = 50;
	assert_true(fo_lease_check_update(&ctx, &rel, &uact).accept);
	uact.cltt = NOW - 51;	/* ours later by more than the margin */
	assert_false(fo_lease_check_update(&ctx, &rel, &uact).accept);

	/* time(3), ours RESET */
	uact.cltt = NOW - 30;
	ctx.stamp_margin = 0;
	assert_false(fo_lease_check_update(&ctx, &rst, &uact).accept);
	ctx.stamp_margin = 50;
	v = fo_lease_check_update(&ctx, &rst, &uact);
	assert_true(v.accept);
	assert_int_equal(v.rule, FO_LEASE_RULE_TIME3);
}

static void test_same_client(void **state)
{
	static const struct {
		const char *cite;
		int a, b;
		bool same;
	} rows[] = {
		{"§7.1.1: same chaddr, no client-id", CA, CA, true},
		{"§7.1.1: other chaddr, no client-id", CA, CB, false},
		{"§7.1.1: client-id decides over chaddr", CIA, CIA_HB, true},
		{"§7.1.1: other client-id, same chaddr", CIA, CIB_HA, false},
		{"§7.1.1: one with client-id, one without", CIA, CA, false},
		{"§7.1.1: no identity at all on either side", CN, CN, true},
		{"§7.1.1: identity against none", CA, CN, false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(rows); i++) {
		struct fo_lease_client a = client(rows[i].a), b = client(rows[i].b);

		if (fo_lease_same_client(&a, &b) != rows[i].same ||
		    fo_lease_same_client(&b, &a) != rows[i].same) {
			fail_msg("%s", rows[i].cite);
		}
	}
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(fo_lease_status_str(FO_LEASE_FREE), "free");
	assert_string_equal(fo_lease_status_str(FO_LEASE_BACKUP), "backup");
	assert_string_equal(fo_lease_status_str(0), "unknown");
	assert_string_equal(fo_lease_status_str(99), "unknown");
	assert_string_equal(fo_lease_rule_str(FO_LEASE_RULE_TIME3), "time(3)");
	assert_string_equal(fo_lease_rule_str(FO_LEASE_RULE_COUNT), "unknown");
}

/* client-request-options: what a binding remembers of its client, in DHCP option format
 * after the magic cookie; read back field by field; malformed input read up to the fault. */
static void test_info_options(void **state)
{
	struct dp_client_info in = {0}, out;
	uint8_t buf[FO_LEASE_INFO_MAX + 8];
	static const uint8_t want[] = {
		99, 130, 83, 99, 12, 7, 'p', 'h', 'o', 'n', 'e', '-', 'a',
		60, 8, 'M', 'S', 'F', 'T', ' ', '5', '.', '0', 82, 5, 1, 3, 0, 1, 0xff,
	};
	/* Pad, an unknown option, 82 with a remote id before the circuit, a control
	 * character in the host name, then END and bytes after it. */
	static const uint8_t theirs[] = {
		99, 130, 83, 99, 0, 0, 77, 3, 'e', 'n', 'g', 12, 3, 'a', '\n', 'b',
		82, 7, 2, 1, 9, 1, 2, 0xca, 0xfe, 255, 12, 1, 'x',
	};
	static const uint8_t cut[] = {99, 130, 83, 99, 60, 2, 'a', 'b', 12, 9, 'h'};
	static const uint8_t no_cookie[] = {12, 1, 'h'};
	uint8_t big[4 + 2 + 200];
	size_t n;

	(void)state;
	assert_int_equal(fo_lease_info_encode(&in, buf), 0);	/* nothing known: no option */
	memcpy(in.policy, "phones", in.policy_len = 6);
	assert_int_equal(fo_lease_info_encode(&in, buf), 0);	/* the policy is ours alone */
	memcpy(in.host, "phone-a", in.host_len = 7);
	memcpy(in.vendor, "MSFT 5.0", in.vendor_len = 8);
	memcpy(in.circuit, "\x00\x01\xff", in.circuit_len = 3);
	n = fo_lease_info_encode(&in, buf);
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	fo_lease_info_decode(buf, n, &out);
	assert_int_equal(out.host_len, 7);
	assert_memory_equal(out.host, "phone-a", 7);
	assert_int_equal(out.vendor_len, 8);
	assert_memory_equal(out.vendor, "MSFT 5.0", 8);
	assert_int_equal(out.circuit_len, 3);
	assert_memory_equal(out.circuit, "\x00\x01\xff", 3);
	assert_int_equal(out.policy_len, 0);

	/* Full fields: the largest encoding fits FO_LEASE_INFO_MAX. */
	memset(in.host, 'h', in.host_len = DP_INFO_HOST_MAX);
	memset(in.vendor, 'v', in.vendor_len = DP_INFO_VENDOR_MAX);
	memset(in.circuit, 'c', in.circuit_len = DP_INFO_CIRCUIT_MAX);
	assert_int_equal(fo_lease_info_encode(&in, buf), FO_LEASE_INFO_MAX);

	fo_lease_info_decode(theirs, sizeof(theirs), &out);
	assert_int_equal(out.host_len, 3);
	assert_memory_equal(out.host, "a?b", 3);		/* after END: not read */
	assert_int_equal(out.vendor_len, 0);
	assert_int_equal(out.circuit_len, 2);
	assert_memory_equal(out.circuit, "\xca\xfe", 2);

	fo_lease_info_decode(cut, sizeof(cut), &out);		/* 12 runs past the end */
	assert_int_equal(out.vendor_len, 2);
	assert_int_equal(out.host_len, 0);
	fo_lease_info_decode(no_cookie, sizeof(no_cookie), &out);
	assert_true(dp_info_empty(&out));
	fo_lease_info_decode(NULL, 0, &out);
	assert_true(dp_info_empty(&out));

	/* A host name longer than the field is cut to it. */
	memcpy(big, want, 4);
	big[4] = 12;
	big[5] = 200;
	memset(big + 6, 'n', 200);
	fo_lease_info_decode(big, sizeof(big), &out);
	assert_int_equal(out.host_len, DP_INFO_HOST_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mclt_limit),
		cmocka_unit_test(test_lease_time),
		cmocka_unit_test(test_pet),
		cmocka_unit_test(test_may_allocate),
		cmocka_unit_test(test_reclaim_time),
		cmocka_unit_test(test_check_update),
		cmocka_unit_test(test_stamp_margin),
		cmocka_unit_test(test_figure_covered),
		cmocka_unit_test(test_same_client),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_info_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
