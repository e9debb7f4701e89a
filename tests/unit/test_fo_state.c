/*
 * fo_state: every rule of the state machine as a table row (from-state, event, to-state,
 * actions), then the ISC lab scenarios (reference/isc-peer/captures/, the events.log and
 * dhcpN.log files) replayed with their timings on two machines wired to each other.
 *
 * Citations: "§x.y" = draft-ietf-dhc-failover-12; "ISC" = dhcpd 4.4.3 server/failover.c;
 * "capture HH:MM:SS" = the line of the lab logs the row reproduces.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fo_state.h"

#if defined(__has_include)
#if __has_include("fo_msg.h")
#include "fo_msg.h"
/* The codec's server-state values are our wire values (D12 §12.24, ISC 254). */
#define SAME(a, b) ((int)(a) == (int)(b))
_Static_assert(SAME(FO_SS_STARTUP, FO_STATE_STARTUP) && SAME(FO_SS_NORMAL, FO_STATE_NORMAL) &&
	       SAME(FO_SS_COMM_INTERRUPTED, FO_STATE_COMM_INT) &&
	       SAME(FO_SS_PARTNER_DOWN, FO_STATE_PARTNER_DOWN) &&
	       SAME(FO_SS_POTENTIAL_CONFLICT, FO_STATE_POTENTIAL_CONFLICT) &&
	       SAME(FO_SS_RECOVER, FO_STATE_RECOVER) && SAME(FO_SS_PAUSED, FO_STATE_PAUSED) &&
	       SAME(FO_SS_SHUTDOWN, FO_STATE_SHUTDOWN) &&
	       SAME(FO_SS_RECOVER_DONE, FO_STATE_RECOVER_DONE) &&
	       SAME(FO_SS_RESOLUTION_INTERRUPTED, FO_STATE_RESOLUTION_INT) &&
	       SAME(FO_SS_CONFLICT_DONE, FO_STATE_CONFLICT_DONE) &&
	       SAME(FO_SS_RECOVER_WAIT, FO_STATE_WIRE_RECOVER_WAIT), "server-state codes");
_Static_assert(SAME(FO_SERVER_FLAG_STARTUP, FO_STATE_FLAG_STARTUP), "server-flags");
_Static_assert(SAME(FO_RR_NO_TRAFFIC, FO_STATE_DISCONNECT_NO_TRAFFIC), "reject-reason 17");
#endif
#endif

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Lab time: 1795382575 is 21:22:55 UTC (STATE start-time-of-state in startup-fo.msgs.txt). */
#define HMS(h, m, s) (1795382575ULL + (h) * 3600 + (m) * 60 + (s) - (21 * 3600 + 22 * 60 + 55))
#define T0 HMS(21, 30, 0)

#define STAY FO_STATE_UNKNOWN
#define ST(x) FO_STATE_##x
#define PRI FO_ROLE_PRIMARY
#define SEC FO_ROLE_SECONDARY

/* Action masks. */
#define A(x) (1u << FO_ACT_##x)
#define PS (A(PERSIST) | A(SEND_STATE))
#define Q A(SEND_UPDREQ)
#define QA A(SEND_UPDREQALL)
#define U A(SEND_UPDATES)
#define PR A(SEND_POOLREQ)
#define V A(SERVICE)
#define AL A(ALARM)
#define PE A(PERSIST)

/* The lab configuration (conf/dhcp1.conf): mclt 60, auto-partner-down 20,
 * max-response-delay 15; ISC's 15-s startup timer. */
static struct fo_state_config cfg_of(enum fo_role role)
{
	struct fo_state_config c = {
		.role = role, .mode = FO_MODE_LOAD_BALANCE, .mclt = 60, .safe_period = 20,
		.max_response_delay = 15, .startup_time = 15};

	return c;
}

static unsigned mask_of(const struct fo_state_output *o)
{
	unsigned m = 0, i;

	for (i = 0; i < o->n_actions; i++) {
		m |= 1u << o->actions[i].type;
	}
	return m;
}

static const struct fo_state_action *find(const struct fo_state_output *o,
					  enum fo_state_action_type t, unsigned nth)
{
	unsigned i;

	for (i = 0; i < o->n_actions; i++) {
		if (o->actions[i].type == t && nth-- == 0) {
			return &o->actions[i];
		}
	}
	return NULL;
}

static char *mask_str(unsigned m, char *buf, size_t n)
{
	unsigned t;

	buf[0] = 0;
	for (t = 0; t < FO_ACT_COUNT; t++) {
		if (m & (1u << t)) {
			strncat(buf, fo_state_action_str(t), n - strlen(buf) - 2);
			strncat(buf, " ", n - strlen(buf) - 1);
		}
	}
	return buf;
}

/*
 * A machine in `state` since T0 - 1000 whose link is connected (CONNECT/CONNECTACK done).
 * comm_ok: a STATE has been received already (the partner is in `partner`).
 */
static void mk(struct fo_state *st, enum fo_role role, enum fo_endpoint_state state,
	       enum fo_endpoint_state partner, bool comm_ok)
{
	struct fo_state_config cfg = cfg_of(role);
	struct fo_state_record rec = {.state = ST(NORMAL), .stos = T0 - 1000};
	struct fo_state_output out;

	assert_int_equal(fo_state_init(st, &cfg, &rec, T0 - 1000, &out), 0);
	st->state = state;
	st->since = st->stos = T0 - 1000;
	st->partner = partner;
	st->partner_stos = T0 - 1000;
	st->link_up = st->connected = true;
	st->comm_ok = comm_ok;
	st->last_rx = st->last_tx = T0;
	st->partner_receive_timer = 15;
}

static int send_state(struct fo_state *st, enum fo_endpoint_state s, uint8_t flags,
		      uint64_t stos, uint64_t now, struct fo_state_output *out)
{
	struct fo_state_event ev = {.type = FO_EV_PARTNER_STATE, .now = now,
				    .wire_state = fo_state_to_wire(s), .flags = flags,
				    .stos = stos};

	return fo_state_handle(st, &ev, out);
}

static int event(struct fo_state *st, enum fo_state_event_type type, uint64_t now,
		 struct fo_state_output *out)
{
	struct fo_state_event ev = {.type = type, .now = now};

	return fo_state_handle(st, &ev, out);
}

/* ---------------------------------------------------------------------------------------- */
/* The partner-state table                                                                    */

struct prow {
	uint8_t me, partner;	/* our state, the state the partner announces */
	uint8_t to;		/* STAY = no transition */
	unsigned pa, sa;	/* actions as primary, as secondary */
	const char *cite;
};

/* Entering NORMAL: persist, STATE, unacked updates (+ POOLREQ as secondary), service. */
#define N_P (PS | U | V)
#define N_S (PS | U | PR | V)
/* Entering POTENTIAL-CONFLICT: the primary sends UPDREQ. */
#define PC_P (PS | Q | V)
#define PC_S (PS | V)

static const struct prow peer_rows[] = {
	/* NORMAL: §9.8.4 (changes "from that expected" go through COMM-INT, §9.9.3) */
	{ST(NORMAL), ST(STARTUP), STAY, 0, 0, "§9.8.4: STARTUP is never a server-state"},
	{ST(NORMAL), ST(NORMAL), STAY, 0, 0, "§9.8.4: expected"},
	{ST(NORMAL), ST(COMM_INT), STAY, 0, 0, "§9.8.4 -> §9.9.3 back to NORMAL; ISC stays"},
	{ST(NORMAL), ST(PARTNER_DOWN), ST(POTENTIAL_CONFLICT), PC_P, PC_S, "§9.8.4 -> §9.9.3"},
	{ST(NORMAL), ST(POTENTIAL_CONFLICT), ST(POTENTIAL_CONFLICT), PC_P, PC_S,
	 "§9.8.4 -> §9.9.3 (ISC: shutdown)"},
	{ST(NORMAL), ST(RECOVER), ST(PARTNER_DOWN), PS | V, PS | V,
	 "ISC: amnesic partner -> PARTNER-DOWN (D12 detour: COMM-INT)"},
	{ST(NORMAL), ST(PAUSED), ST(COMM_INT), PS | AL | V, PS | AL | V, "§9.8.4, §9.9.1 alarm"},
	{ST(NORMAL), ST(SHUTDOWN), ST(PARTNER_DOWN), PS | V, PS | V, "§9.8.4"},
	{ST(NORMAL), ST(RECOVER_DONE), STAY, 0, 0, "§9.8.4 -> §9.9.3 back to NORMAL"},
	{ST(NORMAL), ST(RESOLUTION_INT), ST(POTENTIAL_CONFLICT), PC_P, PC_S,
	 "§9.8.4 -> §9.9.3 (ISC: shutdown)"},
	{ST(NORMAL), ST(CONFLICT_DONE), ST(POTENTIAL_CONFLICT), PC_P, PC_S,
	 "§9.8.4 -> §9.9.3 (ISC: shutdown)"},
	{ST(NORMAL), ST(RECOVER_WAIT), ST(COMM_INT), PS | AL | V, PS | AL | V,
	 "§9.8.4 -> §9.9.3 stays COMM-INT (ISC stays NORMAL)"},
	/* COMMUNICATIONS-INTERRUPTED: §9.9.3 */
	{ST(COMM_INT), ST(STARTUP), STAY, 0, 0, "§9.9.3: not a state"},
	{ST(COMM_INT), ST(NORMAL), ST(NORMAL), N_P, N_S, "§9.9.3"},
	{ST(COMM_INT), ST(COMM_INT), ST(NORMAL), N_P, N_S, "§9.9.3, Figure 9.9.3-1"},
	{ST(COMM_INT), ST(PARTNER_DOWN), ST(POTENTIAL_CONFLICT), PC_P, PC_S, "§9.9.3"},
	{ST(COMM_INT), ST(POTENTIAL_CONFLICT), ST(POTENTIAL_CONFLICT), PC_P, PC_S, "§9.9.3"},
	{ST(COMM_INT), ST(RECOVER), ST(PARTNER_DOWN), PS | V, PS | V,
	 "ISC, capture amnesia 21:26:20.303 (D12: stay)"},
	{ST(COMM_INT), ST(PAUSED), STAY, 0, 0, "§9.9.3"},
	{ST(COMM_INT), ST(SHUTDOWN), ST(PARTNER_DOWN), PS | V, PS | V, "§9.9.3"},
	{ST(COMM_INT), ST(RECOVER_DONE), ST(NORMAL), N_P, N_S, "§9.9.3"},
	{ST(COMM_INT), ST(RESOLUTION_INT), ST(POTENTIAL_CONFLICT), PC_P, PC_S, "§9.9.3"},
	{ST(COMM_INT), ST(CONFLICT_DONE), ST(POTENTIAL_CONFLICT), PC_P, PC_S, "§9.9.3"},
	{ST(COMM_INT), ST(RECOVER_WAIT), STAY, 0, 0, "Figure 9.2-1 (ISC: NORMAL)"},
	/* PARTNER-DOWN: §9.4.3 = ISC */
	{ST(PARTNER_DOWN), ST(STARTUP), STAY, 0, 0, "§9.4.3"},
	{ST(PARTNER_DOWN), ST(NORMAL), ST(POTENTIAL_CONFLICT), PC_P, PC_S, "§9.4.3"},
	{ST(PARTNER_DOWN), ST(COMM_INT), ST(POTENTIAL_CONFLICT), PC_P, PC_S, "§9.4.3"},
	{ST(PARTNER_DOWN), ST(PARTNER_DOWN), ST(POTENTIAL_CONFLICT), PC_P, PC_S,
	 "§9.4.3, capture partition 21:32:32"},
	{ST(PARTNER_DOWN), ST(POTENTIAL_CONFLICT), ST(POTENTIAL_CONFLICT), PC_P, PC_S,
	 "§9.4.3"},
	{ST(PARTNER_DOWN), ST(RECOVER), STAY, 0, 0, "§9.4.3, capture fault 21:25:15"},
	{ST(PARTNER_DOWN), ST(PAUSED), STAY, 0, 0, "§9.4.3"},
	{ST(PARTNER_DOWN), ST(SHUTDOWN), STAY, 0, 0, "§9.4.3, capture omshell 21:25:53"},
	{ST(PARTNER_DOWN), ST(RECOVER_DONE), ST(NORMAL), N_P, N_S,
	 "§9.4.3, capture fault 21:25:17"},
	{ST(PARTNER_DOWN), ST(RESOLUTION_INT), ST(POTENTIAL_CONFLICT), PC_P, PC_S, "§9.4.3"},
	{ST(PARTNER_DOWN), ST(CONFLICT_DONE), ST(POTENTIAL_CONFLICT), PC_P, PC_S, "§9.4.3"},
	{ST(PARTNER_DOWN), ST(RECOVER_WAIT), STAY, 0, 0, "§9.4.3, capture amnesia 21:26:22"},
	/* POTENTIAL-CONFLICT: §9.10.3 + ISC */
	{ST(POTENTIAL_CONFLICT), ST(STARTUP), STAY, 0, 0, "§9.10.3"},
	{ST(POTENTIAL_CONFLICT), ST(NORMAL), ST(SHUTDOWN), PS, PS,
	 "ISC 'moves to normal during conflict resolution - panic' (D12 silent)"},
	{ST(POTENTIAL_CONFLICT), ST(COMM_INT), STAY, 0, 0, "§9.10.3, ISC"},
	{ST(POTENTIAL_CONFLICT), ST(PARTNER_DOWN), STAY, 0, 0, "§9.10.3, ISC"},
	{ST(POTENTIAL_CONFLICT), ST(POTENTIAL_CONFLICT), STAY, 0, 0,
	 "§9.10.3, capture partition 21:32:32.547"},
	{ST(POTENTIAL_CONFLICT), ST(RECOVER), STAY, 0, 0,
	 "§9.5.2: the partner joins us (ISC: we go RECOVER)"},
	{ST(POTENTIAL_CONFLICT), ST(PAUSED), STAY, 0, 0, "§9.10.3, ISC"},
	{ST(POTENTIAL_CONFLICT), ST(SHUTDOWN), ST(PARTNER_DOWN), PS | V, PS | V, "ISC"},
	{ST(POTENTIAL_CONFLICT), ST(RECOVER_DONE), STAY, 0, 0, "§9.10.3, ISC"},
	{ST(POTENTIAL_CONFLICT), ST(RESOLUTION_INT), STAY, 0, 0, "§9.10.3, ISC"},
	{ST(POTENTIAL_CONFLICT), ST(CONFLICT_DONE), STAY, 0, Q,
	 "§9.10.3: secondary sends UPDREQ; capture partition 21:32:32.549"},
	{ST(POTENTIAL_CONFLICT), ST(RECOVER_WAIT), STAY, 0, 0, "§9.10.3, ISC"},
	/* RECOVER: §9.5.2 */
	{ST(RECOVER), ST(STARTUP), STAY, Q, Q, "§9.5.2: any other state: UPDREQ"},
	{ST(RECOVER), ST(NORMAL), STAY, Q, Q, "§9.5.2 (ISC: POTENTIAL-CONFLICT)"},
	{ST(RECOVER), ST(COMM_INT), STAY, Q, Q, "§9.5.2, capture amnesia 21:26:20.304"},
	{ST(RECOVER), ST(PARTNER_DOWN), STAY, Q, Q, "§9.5.2, capture fault 21:25:15.853"},
	{ST(RECOVER), ST(POTENTIAL_CONFLICT), ST(POTENTIAL_CONFLICT), PS | Q, PS, "§9.5.2"},
	{ST(RECOVER), ST(RECOVER), STAY, Q, Q, "§9.5.2, capture startup 21:22:55.529"},
	{ST(RECOVER), ST(PAUSED), STAY, Q, Q, "§9.5.2"},
	{ST(RECOVER), ST(SHUTDOWN), STAY, Q, Q, "§9.5.2 (ISC: PARTNER-DOWN)"},
	{ST(RECOVER), ST(RECOVER_DONE), STAY, Q, Q, "§9.5.2"},
	{ST(RECOVER), ST(RESOLUTION_INT), ST(POTENTIAL_CONFLICT), PS | Q, PS, "§9.5.2"},
	{ST(RECOVER), ST(CONFLICT_DONE), ST(POTENTIAL_CONFLICT), PS | Q, PS, "§9.5.2"},
	{ST(RECOVER), ST(RECOVER_WAIT), STAY, Q, Q, "§9.5.2"},
	/* RECOVER-WAIT: §9.6.2, ISC "make no transitions while in recover_wait" */
	{ST(RECOVER_WAIT), ST(STARTUP), STAY, 0, 0, "§9.6.2"},
	{ST(RECOVER_WAIT), ST(NORMAL), STAY, 0, 0, "§9.6.2"},
	{ST(RECOVER_WAIT), ST(COMM_INT), STAY, 0, 0, "§9.6.2"},
	{ST(RECOVER_WAIT), ST(PARTNER_DOWN), STAY, 0, 0, "§9.6.2"},
	{ST(RECOVER_WAIT), ST(POTENTIAL_CONFLICT), STAY, 0, 0, "§9.6.2"},
	{ST(RECOVER_WAIT), ST(RECOVER), STAY, 0, 0, "§9.6.2"},
	{ST(RECOVER_WAIT), ST(PAUSED), STAY, 0, 0, "§9.6.2"},
	{ST(RECOVER_WAIT), ST(SHUTDOWN), STAY, 0, 0, "§9.6.2"},
	{ST(RECOVER_WAIT), ST(RECOVER_DONE), STAY, 0, 0, "§9.6.2"},
	{ST(RECOVER_WAIT), ST(RESOLUTION_INT), STAY, 0, 0, "§9.6.2"},
	{ST(RECOVER_WAIT), ST(CONFLICT_DONE), STAY, 0, 0, "§9.6.2"},
	{ST(RECOVER_WAIT), ST(RECOVER_WAIT), STAY, 0, 0, "§9.6.2"},
	/* RECOVER-DONE: §9.7.2 */
	{ST(RECOVER_DONE), ST(STARTUP), STAY, 0, 0, "§9.7.2"},
	{ST(RECOVER_DONE), ST(NORMAL), ST(NORMAL), N_P, N_S, "§9.7.2, capture fault 21:25:17"},
	{ST(RECOVER_DONE), ST(COMM_INT), STAY, 0, 0, "§9.7.2"},
	{ST(RECOVER_DONE), ST(PARTNER_DOWN), STAY, 0, 0, "§9.7.2, capture amnesia 21:27:20"},
	{ST(RECOVER_DONE), ST(POTENTIAL_CONFLICT), STAY, 0, 0, "§9.7.2"},
	{ST(RECOVER_DONE), ST(RECOVER), STAY, 0, 0, "§9.7.2"},
	{ST(RECOVER_DONE), ST(PAUSED), STAY, 0, 0, "§9.7.2"},
	{ST(RECOVER_DONE), ST(SHUTDOWN), ST(PARTNER_DOWN), PS | V, PS | V, "ISC"},
	{ST(RECOVER_DONE), ST(RECOVER_DONE), ST(NORMAL), N_P, N_S,
	 "§9.7.2, capture startup 21:22:55.547 'Both servers have entered recover-done'"},
	{ST(RECOVER_DONE), ST(RESOLUTION_INT), STAY, 0, 0, "§9.7.2"},
	{ST(RECOVER_DONE), ST(CONFLICT_DONE), STAY, 0, 0, "§9.7.2"},
	{ST(RECOVER_DONE), ST(RECOVER_WAIT), STAY, 0, 0, "§9.7.2"},
	/* RESOLUTION-INTERRUPTED: §9.11.3 + ISC */
	{ST(RESOLUTION_INT), ST(STARTUP), STAY, 0, 0, "ISC"},
	{ST(RESOLUTION_INT), ST(NORMAL), ST(POTENTIAL_CONFLICT), PC_P, PC_S, "§9.11.3"},
	{ST(RESOLUTION_INT), ST(COMM_INT), ST(POTENTIAL_CONFLICT), PC_P, PC_S, "§9.11.3"},
	{ST(RESOLUTION_INT), ST(PARTNER_DOWN), ST(POTENTIAL_CONFLICT), PC_P, PC_S, "§9.11.3"},
	{ST(RESOLUTION_INT), ST(POTENTIAL_CONFLICT), ST(POTENTIAL_CONFLICT), PC_P, PC_S,
	 "§9.11.3"},
	{ST(RESOLUTION_INT), ST(RECOVER), ST(POTENTIAL_CONFLICT), PC_P, PC_S, "§9.11.3"},
	{ST(RESOLUTION_INT), ST(PAUSED), STAY, 0, 0, "ISC"},
	{ST(RESOLUTION_INT), ST(SHUTDOWN), ST(PARTNER_DOWN), PS | V, PS | V, "ISC"},
	{ST(RESOLUTION_INT), ST(RECOVER_DONE), ST(POTENTIAL_CONFLICT), PC_P, PC_S, "§9.11.3"},
	{ST(RESOLUTION_INT), ST(RESOLUTION_INT), ST(POTENTIAL_CONFLICT), PC_P, PC_S,
	 "§9.11.3"},
	{ST(RESOLUTION_INT), ST(CONFLICT_DONE), ST(POTENTIAL_CONFLICT), PC_P, PC_S,
	 "§9.11.3"},
	{ST(RESOLUTION_INT), ST(RECOVER_WAIT), ST(POTENTIAL_CONFLICT), PC_P, PC_S, "§9.11.3"},
	/* CONFLICT-DONE: §9.12.3 */
	{ST(CONFLICT_DONE), ST(STARTUP), STAY, 0, 0, "§9.12.3"},
	{ST(CONFLICT_DONE), ST(NORMAL), ST(NORMAL), N_P, N_S,
	 "§9.12.3, capture partition 21:32:32.552"},
	{ST(CONFLICT_DONE), ST(COMM_INT), STAY, 0, 0, "§9.12.3 (ISC exits)"},
	{ST(CONFLICT_DONE), ST(PARTNER_DOWN), STAY, 0, 0, "§9.12.3 (ISC exits)"},
	{ST(CONFLICT_DONE), ST(POTENTIAL_CONFLICT), STAY, 0, 0, "§9.12.3"},
	{ST(CONFLICT_DONE), ST(RECOVER), STAY, 0, 0, "§9.12.3 (ISC exits)"},
	{ST(CONFLICT_DONE), ST(PAUSED), STAY, 0, 0, "§9.12.3 (ISC exits)"},
	{ST(CONFLICT_DONE), ST(SHUTDOWN), ST(PARTNER_DOWN), PS | V, PS | V,
	 "§9.14 (ISC enters SHUTDOWN itself)"},
	{ST(CONFLICT_DONE), ST(RECOVER_DONE), STAY, 0, 0, "§9.12.3 (ISC exits)"},
	{ST(CONFLICT_DONE), ST(RESOLUTION_INT), STAY, 0, 0, "§9.12.3"},
	{ST(CONFLICT_DONE), ST(CONFLICT_DONE), STAY, 0, 0, "§9.12.1 (ISC exits)"},
	{ST(CONFLICT_DONE), ST(RECOVER_WAIT), STAY, 0, 0, "§9.12.3 (ISC exits)"},
	/* SHUTDOWN: §9.14.2; PAUSED: §9.13.2 - no automatic transitions */
	{ST(SHUTDOWN), ST(STARTUP), STAY, 0, 0, "§9.14.3"},
	{ST(SHUTDOWN), ST(NORMAL), STAY, 0, 0, "§9.14.3"},
	{ST(SHUTDOWN), ST(COMM_INT), STAY, 0, 0, "§9.14.3"},
	{ST(SHUTDOWN), ST(PARTNER_DOWN), STAY, PE, PE,
	 "§9.14.2: record RECOVER as the restart state"},
	{ST(SHUTDOWN), ST(POTENTIAL_CONFLICT), STAY, 0, 0, "§9.14.3"},
	{ST(SHUTDOWN), ST(RECOVER), STAY, 0, 0, "§9.14.3"},
	{ST(SHUTDOWN), ST(PAUSED), STAY, 0, 0, "§9.14.3"},
	{ST(SHUTDOWN), ST(SHUTDOWN), STAY, 0, 0, "§9.14.3"},
	{ST(SHUTDOWN), ST(RECOVER_DONE), STAY, 0, 0, "§9.14.3"},
	{ST(SHUTDOWN), ST(RESOLUTION_INT), STAY, 0, 0, "§9.14.3"},
	{ST(SHUTDOWN), ST(CONFLICT_DONE), STAY, 0, 0, "§9.14.3"},
	{ST(SHUTDOWN), ST(RECOVER_WAIT), STAY, 0, 0, "§9.14.3"},
	{ST(PAUSED), ST(STARTUP), STAY, 0, 0, "§9.13.2"},
	{ST(PAUSED), ST(NORMAL), STAY, 0, 0, "§9.13.2"},
	{ST(PAUSED), ST(COMM_INT), STAY, 0, 0, "§9.13.2"},
	{ST(PAUSED), ST(PARTNER_DOWN), STAY, 0, 0, "§9.13.2"},
	{ST(PAUSED), ST(POTENTIAL_CONFLICT), STAY, 0, 0, "§9.13.2"},
	{ST(PAUSED), ST(RECOVER), STAY, 0, 0, "§9.13.2"},
	{ST(PAUSED), ST(PAUSED), STAY, 0, 0, "§9.13.2"},
	{ST(PAUSED), ST(SHUTDOWN), STAY, 0, 0, "§9.13.2"},
	{ST(PAUSED), ST(RECOVER_DONE), STAY, 0, 0, "§9.13.2"},
	{ST(PAUSED), ST(RESOLUTION_INT), STAY, 0, 0, "§9.13.2"},
	{ST(PAUSED), ST(CONFLICT_DONE), STAY, 0, 0, "§9.13.2"},
	{ST(PAUSED), ST(RECOVER_WAIT), STAY, 0, 0, "§9.13.2"},
};

static void check_peer_row(const struct prow *r, enum fo_role role, bool restored)
{
	struct fo_state st;
	struct fo_state_output out;
	unsigned want = role == PRI ? r->pa : r->sa, got;
	enum fo_endpoint_state final = r->to != STAY ? r->to : r->me;
	char b1[256], b2[256];

	/* "restored": the first STATE on a new connection; else a change while connected. */
	mk(&st, role, r->me, ST(UNKNOWN), !restored);
	assert_int_equal(send_state(&st, r->partner, 0, T0 - 5, T0, &out), 0);
	got = mask_of(&out);
	if (st.state != final || got != want) {
		fail_msg("%s + partner %s (%s, %s, %s): -> %s [%s], want %s [%s]",
			 fo_state_str(r->me), fo_state_str(r->partner), fo_role_str(role),
			 restored ? "restored" : "changed", r->cite, fo_state_str(st.state),
			 mask_str(got, b1, sizeof(b1)), fo_state_str(final),
			 mask_str(want, b2, sizeof(b2)));
	}
	assert_int_equal(out.n_transitions, r->to != STAY);
	if (r->to != STAY) {
		assert_int_equal(out.transitions[0].from, r->me);
		assert_int_equal(out.transitions[0].to, r->to);
		assert_int_equal(out.transitions[0].at, T0);
		assert_int_equal(out.transitions[0].reason,
				 r->to == ST(SHUTDOWN) ? FO_REASON_PROTOCOL_ERROR
				 : restored	       ? FO_REASON_COMM_OK
							 : FO_REASON_PARTNER_STATE);
		/* D12 §9.2: persisted first, then announced with the new state. */
		assert_int_equal(out.actions[0].type, FO_ACT_PERSIST);
		assert_int_equal(out.actions[1].type, FO_ACT_SEND_STATE);
		assert_int_equal(out.actions[1].state, r->to);
		assert_int_equal(out.actions[1].stos, (uint32_t)T0);
	}
	assert_false(out.overflow);
	assert_true(st.comm_ok);
	assert_int_equal(st.partner, r->partner);
}

static void test_peer_table(void **state)
{
	bool seen[FO_STATE_COUNT][FO_STATE_COUNT] = {{false}};
	size_t i;
	unsigned me, p;

	(void)state;
	for (i = 0; i < N_OF(peer_rows); i++) {
		const struct prow *r = &peer_rows[i];

		seen[r->me][r->partner] = true;
		check_peer_row(r, PRI, true);
		check_peer_row(r, PRI, false);
		check_peer_row(r, SEC, true);
		check_peer_row(r, SEC, false);
	}
	/* every (our state, partner state) pair has its row */
	for (me = ST(NORMAL); me < FO_STATE_COUNT; me++) {
		for (p = ST(STARTUP); p < FO_STATE_COUNT; p++) {
			if (!seen[me][p]) {
				fail_msg("no row for %s + partner %s", fo_state_str(me),
					 fo_state_str(p));
			}
		}
	}
	assert_int_equal(N_OF(peer_rows), 11 * 12);
}

/* §9.4.3: a server in PARTNER-DOWN ignores every STATE with the STARTUP flag, then acts on
 * the same state once the flag is clear (capture fault 21:25:15.847, ISC the same). */
static void test_partner_down_ignores_startup(void **state)
{
	struct fo_state st;
	struct fo_state_output out;
	unsigned p;

	(void)state;
	for (p = ST(STARTUP); p < FO_STATE_COUNT; p++) {
		mk(&st, PRI, ST(PARTNER_DOWN), ST(UNKNOWN), false);
		assert_int_equal(send_state(&st, p, FO_STATE_FLAG_STARTUP, T0 - 5, T0, &out), 0);
		assert_int_equal(st.state, ST(PARTNER_DOWN));
		assert_int_equal(out.n_actions, 0);
		assert_true(st.comm_ok && st.partner_startup);
	}
	/* same state, flag cleared: now it counts */
	mk(&st, PRI, ST(PARTNER_DOWN), ST(UNKNOWN), false);
	assert_int_equal(send_state(&st, ST(NORMAL), FO_STATE_FLAG_STARTUP, T0 - 5, T0, &out), 0);
	assert_int_equal(st.state, ST(PARTNER_DOWN));
	assert_int_equal(send_state(&st, ST(NORMAL), 0, T0 - 5, T0 + 1, &out), 0);
	assert_int_equal(st.state, ST(POTENTIAL_CONFLICT));
	/* other states act on a STARTUP-flagged STATE (ISC: amnesia 21:26:20.303) */
	mk(&st, PRI, ST(COMM_INT), ST(UNKNOWN), false);
	assert_int_equal(send_state(&st, ST(RECOVER), FO_STATE_FLAG_STARTUP, T0, T0, &out), 0);
	assert_int_equal(st.state, ST(PARTNER_DOWN));
}

/* A repeated STATE changes nothing; RECOVER does not repeat its UPDREQ on one link. */
static void test_repeated_state(void **state)
{
	struct fo_state st;
	struct fo_state_output out;

	(void)state;
	mk(&st, SEC, ST(COMM_INT), ST(UNKNOWN), false);
	assert_int_equal(send_state(&st, ST(NORMAL), 0, T0, T0, &out), 0);
	assert_int_equal(st.state, ST(NORMAL));
	assert_int_equal(send_state(&st, ST(NORMAL), 0, T0, T0 + 1, &out), 0);
	assert_int_equal(out.n_actions + out.n_transitions, 0);

	mk(&st, PRI, ST(RECOVER), ST(UNKNOWN), false);
	assert_int_equal(send_state(&st, ST(PARTNER_DOWN), 0, T0, T0, &out), 0);
	assert_int_equal(mask_of(&out), Q);
	assert_int_equal(send_state(&st, ST(RECOVER_DONE), 0, T0, T0 + 1, &out), 0);
	assert_int_equal(out.n_actions, 0);	/* ISC would send a second UPDREQALL */
	/* a new link asks again (§9.5.2 "re-issue ... when communications are re-established") */
	assert_int_equal(event(&st, FO_EV_LINK_DOWN, T0 + 2, &out), 0);
	assert_int_equal(out.n_transitions, 0);	/* RECOVER stays */
	assert_int_equal(event(&st, FO_EV_LINK_UP, T0 + 3, &out), 0);
	assert_int_equal(event(&st, FO_EV_CONNECT_OK, T0 + 3, &out), 0);
	assert_int_equal(send_state(&st, ST(PARTNER_DOWN), 0, T0, T0 + 3, &out), 0);
	assert_int_equal(mask_of(&out), Q);
}

/* A secondary that leaves RECOVER for POTENTIAL-CONFLICT asks anew once the primary is in
 * CONFLICT-DONE (§9.10.3); the RECOVER phase's request does not count any more. */
static void test_recover_to_conflict(void **state)
{
	struct fo_state st;
	struct fo_state_output out;

	(void)state;
	mk(&st, SEC, ST(RECOVER), ST(UNKNOWN), false);
	assert_int_equal(send_state(&st, ST(PARTNER_DOWN), 0, T0, T0, &out), 0);
	assert_int_equal(mask_of(&out), Q);
	assert_true(st.upd_requested);
	assert_int_equal(send_state(&st, ST(POTENTIAL_CONFLICT), 0, T0, T0 + 1, &out), 0);
	assert_int_equal(st.state, ST(POTENTIAL_CONFLICT));
	assert_false(st.upd_requested);
	/* the RECOVER request's UPDDONE arriving now is spurious */
	assert_int_equal(event(&st, FO_EV_UPDDONE_RECEIVED, T0 + 2, &out), 0);
	assert_int_equal(st.state, ST(POTENTIAL_CONFLICT));
	assert_int_equal(st.n_spurious, 1);
	assert_int_equal(send_state(&st, ST(CONFLICT_DONE), 0, T0, T0 + 3, &out), 0);
	assert_int_equal(mask_of(&out), Q);
	assert_int_equal(event(&st, FO_EV_UPDDONE_RECEIVED, T0 + 4, &out), 0);
	assert_int_equal(st.state, ST(NORMAL));
}

/* ISC shuts down on an unknown server-state; we ignore the message. */
static void test_unknown_partner_state(void **state)
{
	static const uint8_t bad[] = {0, 12, 13, 100, 253, 255};
	struct fo_state st;
	struct fo_state_output out;
	struct fo_state_event ev = {.type = FO_EV_PARTNER_STATE, .now = T0};
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(bad); i++) {
		mk(&st, PRI, ST(NORMAL), ST(NORMAL), true);
		ev.wire_state = bad[i];
		assert_int_equal(fo_state_handle(&st, &ev, &out), 0);
		assert_int_equal(st.state, ST(NORMAL));
		assert_int_equal(st.partner, ST(NORMAL));
		assert_int_equal(out.n_actions, 0);
		assert_int_equal(st.n_spurious, 1);
	}
}

/* ---------------------------------------------------------------------------------------- */
/* Leaving STARTUP                                                                            */

struct srow {
	const char *cite;
	uint8_t role;
	uint8_t rec;			/* recorded state; 0 = no record */
	uint8_t restart;		/* recorded restart state (SHUTDOWN/PAUSED) */
	int64_t rec_stos, last_op;	/* relative to T0; last_op 0 = never served */
	uint8_t opts;
	uint8_t announce;		/* server-state we send while in STARTUP */
	uint8_t partner, pflags;
	int64_t pstos;
	uint8_t path[3];		/* states entered after the partner's STATE */
	unsigned must;			/* actions that must be among the output */
};

#define O_LOST 0x01		/* record.storage_lost */
#define O_STICKY 0x02		/* cfg.shutdown_persists (ISC) */
#define SF FO_STATE_FLAG_STARTUP

static const struct srow startup_rows[] = {
	{"§9.3.2 step 2+5, capture partition 21:31:43: saved NORMAL, partner COMM-INT",
	 PRI, ST(NORMAL), 0, -1000, -60, 0, ST(NORMAL), ST(COMM_INT), 0, -30,
	 {ST(COMM_INT), ST(NORMAL)}, U},
	{"§9.3.2 step 2+5: saved NORMAL, partner NORMAL (both restarted)",
	 SEC, ST(NORMAL), 0, -1000, -60, 0, ST(NORMAL), ST(NORMAL), SF, -1000,
	 {ST(COMM_INT), ST(NORMAL)}, U | PR},
	{"§9.3.2 step 5, capture fault 21:25:15: partner PD since after our last operation",
	 SEC, ST(NORMAL), 0, -1000, -100, 0, ST(NORMAL), ST(PARTNER_DOWN), 0, -50,
	 {ST(RECOVER)}, Q},
	{"§9.3.2 step 5: partner PD since before our last operation -> POTENTIAL-CONFLICT",
	 PRI, ST(NORMAL), 0, -1000, -10, 0, ST(NORMAL), ST(PARTNER_DOWN), 0, -50,
	 {ST(POTENTIAL_CONFLICT)}, Q},
	{"§9.3.2 step 5: same second counts as later (the SHUTDOWN handshake)",
	 PRI, ST(COMM_INT), 0, -1000, -50, 0, ST(COMM_INT), ST(PARTNER_DOWN), 0, -50,
	 {ST(RECOVER)}, Q},
	{"§9.3.2 step 1, ISC, capture amnesia 21:26:20: no record, partner COMM-INT",
	 SEC, 0, 0, 0, 0, 0, ST(RECOVER), ST(COMM_INT), 0, -4, {ST(RECOVER)}, QA},
	{"§9.3.2 step 1, capture startup 21:22:55: no record, partner RECOVER + STARTUP",
	 PRI, 0, 0, 0, 0, 0, ST(RECOVER), ST(RECOVER), SF, 0, {ST(RECOVER)}, QA},
	{"§9.3.2 step 5: no record, partner PD: we never served -> RECOVER",
	 PRI, 0, 0, 0, 0, 0, ST(RECOVER), ST(PARTNER_DOWN), 0, -5000, {ST(RECOVER)}, QA},
	{"§9.3.2 step 1: a configured loss: RECOVER, UPDREQALL",
	 PRI, ST(NORMAL), 0, -500, -500, O_LOST, ST(RECOVER), ST(NORMAL), 0, -1000,
	 {ST(RECOVER)}, QA},
	{"§9.3.2 step 2, §9.4.3: saved PD, partner NORMAL -> POTENTIAL-CONFLICT",
	 PRI, ST(PARTNER_DOWN), 0, -1000, -10, 0, ST(PARTNER_DOWN), ST(NORMAL), 0, -5000,
	 {ST(PARTNER_DOWN), ST(POTENTIAL_CONFLICT)}, Q},
	{"§9.3.2 step 5: saved PD, partner PD earlier than our last operation",
	 SEC, ST(PARTNER_DOWN), 0, -1000, -10, 0, ST(PARTNER_DOWN), ST(PARTNER_DOWN), 0, -500,
	 {ST(POTENTIAL_CONFLICT)}, 0},
	{"§9.3.2 step 2: saved POTENTIAL-CONFLICT restarts as RESOLUTION-INTERRUPTED",
	 PRI, ST(POTENTIAL_CONFLICT), 0, -1000, -900, 0, ST(POTENTIAL_CONFLICT),
	 ST(POTENTIAL_CONFLICT), 0, -900, {ST(RESOLUTION_INT), ST(POTENTIAL_CONFLICT)}, Q},
	{"§9.3.2 step 2, §9.11.3: saved RESOLUTION-INT, partner PD -> POTENTIAL-CONFLICT",
	 PRI, ST(RESOLUTION_INT), 0, -1000, -10, 0, ST(RESOLUTION_INT), ST(PARTNER_DOWN), 0,
	 -500, {ST(POTENTIAL_CONFLICT)}, Q},
	{"§9.6.2: saved RECOVER-WAIT keeps waiting with the partner in PD",
	 SEC, ST(RECOVER_WAIT), 0, -10, 0, 0, FO_STATE_WIRE_RECOVER_WAIT, ST(PARTNER_DOWN),
	 0, -500, {ST(RECOVER_WAIT)}, 0},
	{"§9.6.2, ISC: saved RECOVER-WAIT past MCLT -> RECOVER-DONE at once",
	 SEC, ST(RECOVER_WAIT), 0, -100, 0, 0, FO_STATE_WIRE_RECOVER_WAIT, ST(PARTNER_DOWN),
	 0, -500, {ST(RECOVER_WAIT), ST(RECOVER_DONE)}, 0},
	{"§9.7.2: saved RECOVER-DONE, partner NORMAL -> NORMAL",
	 SEC, ST(RECOVER_DONE), 0, -100, 0, 0, ST(RECOVER_DONE), ST(NORMAL), 0, -50,
	 {ST(RECOVER_DONE), ST(NORMAL)}, U | PR},
	{"§9.5.2: saved RECOVER, partner POTENTIAL-CONFLICT",
	 SEC, ST(RECOVER), 0, -100, 0, 0, ST(RECOVER), ST(POTENTIAL_CONFLICT), 0, -50,
	 {ST(RECOVER), ST(POTENTIAL_CONFLICT)}, 0},
	{"§9.14.2: saved SHUTDOWN, the partner took over: restart in RECOVER",
	 SEC, ST(SHUTDOWN), ST(RECOVER), -60, -60, 0, ST(RECOVER), ST(PARTNER_DOWN), 0, -60,
	 {ST(RECOVER)}, Q},
	{"ISC, capture omshell 21:25:53: a SHUTDOWN set by the operator persists",
	 SEC, ST(SHUTDOWN), ST(RECOVER), -60, -60, O_STICKY, ST(SHUTDOWN), ST(PARTNER_DOWN), 0,
	 -60, {ST(SHUTDOWN)}, 0},
	{"§9.13.2: saved PAUSED restarts in the state before it",
	 PRI, ST(PAUSED), ST(NORMAL), -30, -30, 0, ST(NORMAL), ST(COMM_INT), 0, -30,
	 {ST(COMM_INT), ST(NORMAL)}, U},
	{"§9.12.3: saved CONFLICT-DONE, partner NORMAL",
	 PRI, ST(CONFLICT_DONE), 0, -100, -5, 0, ST(CONFLICT_DONE), ST(NORMAL), 0, -50,
	 {ST(CONFLICT_DONE), ST(NORMAL)}, U},
	{"ISC: saved COMM-INT, partner RECOVER -> PARTNER-DOWN",
	 PRI, ST(COMM_INT), 0, -100, -5, 0, ST(COMM_INT), ST(RECOVER), SF, 0,
	 {ST(COMM_INT), ST(PARTNER_DOWN)}, 0},
};

static void test_leave_startup(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(startup_rows); i++) {
		const struct srow *r = &startup_rows[i];
		struct fo_state_config cfg = cfg_of(r->role);
		struct fo_state_record rec = {
			.state = r->rec, .stos = T0 + r->rec_stos, .restart_state = r->restart,
			.last_op = r->last_op ? T0 + r->last_op : 0,
			.storage_lost = r->opts & O_LOST};
		struct fo_state st;
		struct fo_state_output out;
		const struct fo_state_action *a;
		unsigned j, n = 0;

		cfg.shutdown_persists = r->opts & O_STICKY;
		assert_int_equal(fo_state_init(&st, &cfg, r->rec ? &rec : NULL, T0 - 10, &out), 0);
		assert_int_equal(st.state, ST(STARTUP));
		assert_int_equal(out.n_transitions, 1);
		assert_int_equal(out.transitions[0].to, ST(STARTUP));
		assert_int_equal(out.transitions[0].reason, FO_REASON_START);
		assert_int_equal(fo_state_service(&st), FO_SERVICE_NONE);

		assert_int_equal(event(&st, FO_EV_LINK_UP, T0 - 1, &out), 0);
		assert_int_equal(mask_of(&out), r->role == PRI ? A(SEND_CONNECT) : 0);
		assert_int_equal(event(&st, FO_EV_CONNECT_OK, T0 - 1, &out), 0);
		/* §9.3.1: the recorded state with the STARTUP flag */
		a = find(&out, FO_ACT_SEND_STATE, 0);
		assert_non_null(a);
		if (a->wire_state != r->announce || a->flags != FO_STATE_FLAG_STARTUP) {
			fail_msg("%s: announced %u/%u", r->cite, a->wire_state, a->flags);
		}
		assert_int_equal(a->stos, (uint32_t)(r->rec ? T0 + r->rec_stos : T0 - 10));

		assert_int_equal(send_state(&st, r->partner, r->pflags, T0 + r->pstos, T0, &out),
				 0);
		for (j = 0; j < N_OF(r->path) && r->path[j]; j++) {
			n++;
		}
		if (out.n_transitions != n) {
			fail_msg("%s: %u transitions, want %u (now %s)", r->cite,
				 out.n_transitions, n, fo_state_str(st.state));
		}
		for (j = 0; j < n; j++) {
			if (out.transitions[j].to != r->path[j]) {
				fail_msg("%s: step %u -> %s, want %s", r->cite, j,
					 fo_state_str(out.transitions[j].to),
					 fo_state_str(r->path[j]));
			}
		}
		assert_int_equal(out.transitions[0].from, ST(STARTUP));
		assert_int_equal(out.transitions[0].reason, FO_REASON_COMM_OK);
		if ((mask_of(&out) & r->must) != r->must) {
			fail_msg("%s: actions lack some of %#x", r->cite, r->must);
		}
		/* leaving STARTUP keeps the recorded start-time-of-state (ISC) */
		a = find(&out, FO_ACT_SEND_STATE, 0);
		assert_non_null(a);
		assert_int_equal(a->flags, 0);
		if (n == 1 && r->path[0] != ST(RECOVER_DONE)) {
			assert_int_equal(a->stos, (uint32_t)(r->rec ? T0 + r->rec_stos : T0 - 10));
		}
		assert_false(out.overflow);
	}
}

/* §9.3.2 step 6: the STARTUP timer. */
static void test_startup_timeout(void **state)
{
	static const struct {
		const char *cite;
		uint8_t rec, restart;
		int64_t rec_stos;
		uint8_t opts;		/* O_STICKY; 0x80: startup_partner_down */
		uint8_t path[2];
	} rows[] = {
		{"§9.3.2 step 6, ISC: no record -> RECOVER", 0, 0, 0, 0, {ST(RECOVER)}},
		{"§9.3.2 step 1: a new server may go to PARTNER-DOWN", 0, 0, 0, 0x80,
		 {ST(PARTNER_DOWN)}},
		{"§9.3.2 step 1: only a new one", ST(NORMAL), 0, -99, 0x80, {ST(COMM_INT)}},
		{"§9.3.2 step 2+6: saved NORMAL -> COMM-INT", ST(NORMAL), 0, -99, 0,
		 {ST(COMM_INT)}},
		{"§9.3.2 step 2+6: saved POTENTIAL-CONFLICT -> RES-INT", ST(POTENTIAL_CONFLICT),
		 0, -99, 0, {ST(RESOLUTION_INT)}},
		{"§9.3.2 step 6: saved PARTNER-DOWN", ST(PARTNER_DOWN), 0, -99, 0,
		 {ST(PARTNER_DOWN)}},
		{"§9.6.2: saved RECOVER-WAIT whose MCLT passed", ST(RECOVER_WAIT), 0, -99, 0,
		 {ST(RECOVER_WAIT), ST(RECOVER_DONE)}},
		{"§9.13.2: saved PAUSED -> state before it", ST(PAUSED), ST(NORMAL), -99, 0,
		 {ST(COMM_INT)}},
		{"ISC: sticky SHUTDOWN", ST(SHUTDOWN), ST(NORMAL), -99, O_STICKY,
		 {ST(SHUTDOWN)}},
		{"§9.14.1: SHUTDOWN restarts in its recorded state", ST(SHUTDOWN), ST(NORMAL),
		 -99, 0, {ST(COMM_INT)}},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(rows); i++) {
		struct fo_state_config cfg = cfg_of(PRI);
		struct fo_state_record rec = {.state = rows[i].rec, .stos = T0 + rows[i].rec_stos,
					      .restart_state = rows[i].restart};
		struct fo_state st;
		struct fo_state_output out;
		unsigned j;

		cfg.shutdown_persists = rows[i].opts & O_STICKY;
		cfg.startup_partner_down = rows[i].opts & 0x80;
		assert_int_equal(fo_state_init(&st, &cfg, rows[i].rec ? &rec : NULL, T0, &out), 0);
		assert_int_equal(fo_state_next_deadline(&st), T0 + 15);
		fo_state_tick(&st, T0 + 14, &out);
		assert_int_equal(st.state, ST(STARTUP));
		fo_state_tick(&st, T0 + 15, &out);
		for (j = 0; j < 2 && rows[i].path[j]; j++) {
			if (j >= out.n_transitions || out.transitions[j].to != rows[i].path[j]) {
				fail_msg("%s: step %u is %s", rows[i].cite, j,
					 j < out.n_transitions
						 ? fo_state_str(out.transitions[j].to)
						 : "missing");
			}
		}
		assert_int_equal(out.n_transitions, j);
		assert_int_equal(out.transitions[0].reason, FO_REASON_STARTUP_TIMEOUT);
	}
}

/* ---------------------------------------------------------------------------------------- */
/* Communications failed                                                                      */

static void test_comm_failed_table(void **state)
{
	static const struct {
		uint8_t me, to;
		unsigned acts;
		const char *cite;
	} rows[] = {
		{ST(NORMAL), ST(COMM_INT), PS | AL | V, "§9.8.4, §9.9.1 alarm"},
		{ST(COMM_INT), STAY, 0, "§9.9 (already)"},
		{ST(PARTNER_DOWN), STAY, 0, "§9.4"},
		{ST(POTENTIAL_CONFLICT), ST(RESOLUTION_INT), PS | AL | V, "§9.10.3, §9.11.1"},
		{ST(RECOVER), STAY, 0, "§9.5.2"},
		{ST(PAUSED), STAY, 0, "§9.13"},
		{ST(SHUTDOWN), STAY, 0, "§9.14"},
		{ST(RECOVER_DONE), STAY, 0, "§9.7.2"},
		{ST(RESOLUTION_INT), STAY, 0, "§9.11 (already)"},
		{ST(CONFLICT_DONE), STAY, 0, "§9.12.3"},
		{ST(RECOVER_WAIT), STAY, 0, "§9.6.2: the timer keeps running"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(rows); i++) {
		struct fo_state st;
		struct fo_state_output out;
		enum fo_endpoint_state final = rows[i].to != STAY ? rows[i].to : rows[i].me;

		mk(&st, PRI, rows[i].me, ST(NORMAL), true);
		st.upd_requested = true;
		assert_int_equal(event(&st, FO_EV_LINK_DOWN, T0, &out), 0);
		unsigned want = rows[i].to ? rows[i].acts & ~A(SEND_STATE) : 0;

		if (st.state != final || mask_of(&out) != want) {
			fail_msg("%s: -> %s %#x", rows[i].cite, fo_state_str(st.state),
				 mask_of(&out));
		}
		assert_int_equal(out.n_transitions, rows[i].to != STAY);
		if (rows[i].to != STAY) {
			assert_int_equal(out.transitions[0].reason, FO_REASON_COMM_FAILED);
		}
		assert_false(st.link_up || st.connected || st.comm_ok || st.upd_requested);
		/* a second LINK_DOWN is a no-op */
		assert_int_equal(event(&st, FO_EV_LINK_DOWN, T0 + 1, &out), 0);
		assert_int_equal(out.n_actions + out.n_transitions, 0);

		/* a link that never got to "communications ok" changes nothing (§8.3) */
		mk(&st, PRI, rows[i].me, ST(NORMAL), false);
		assert_int_equal(event(&st, FO_EV_LINK_DOWN, T0, &out), 0);
		assert_int_equal(st.state, rows[i].me);
		assert_int_equal(out.n_transitions, 0);
	}
}

/* ---------------------------------------------------------------------------------------- */
/* UPDDONE                                                                                    */

static void test_upddone_table(void **state)
{
	static const struct {
		const char *cite;
		uint8_t role, me, partner;
		int64_t stos;		/* our STOS relative to T0 (MCLT is 60) */
		bool requested;
		uint8_t path[2];
	} rows[] = {
		{"§9.5.2, capture amnesia 21:26:22: RECOVER -> RECOVER-WAIT", SEC, ST(RECOVER),
		 ST(PARTNER_DOWN), -2, true, {ST(RECOVER_WAIT)}},
		{"ISC, capture fault 21:25:17: time-of-failure + MCLT passed -> RECOVER-DONE", SEC,
		 ST(RECOVER), ST(PARTNER_DOWN), -142, true, {ST(RECOVER_DONE)}},
		{"ISC: exactly MCLT after -> RECOVER-DONE", SEC, ST(RECOVER), ST(PARTNER_DOWN),
		 -60, true, {ST(RECOVER_DONE)}},
		{"ISC, §9.6.2, capture startup 21:22:55.546: partner recovering too: no wait", PRI,
		 ST(RECOVER), ST(RECOVER), -2, true, {ST(RECOVER_DONE)}},
		{"ISC, §9.6.2, §9.7.2: partner in RECOVER-DONE: no wait, then NORMAL", SEC,
		 ST(RECOVER), ST(RECOVER_DONE), -2, true, {ST(RECOVER_DONE), ST(NORMAL)}},
		{"§9.5.2: partner NORMAL, MCLT running -> RECOVER-WAIT", PRI, ST(RECOVER),
		 ST(NORMAL), -2, true, {ST(RECOVER_WAIT)}},
		{"§9.10.3, capture partition 21:32:32.548: primary -> CONFLICT-DONE", PRI,
		 ST(POTENTIAL_CONFLICT), ST(POTENTIAL_CONFLICT), -2, true, {ST(CONFLICT_DONE)}},
		{"§9.10.3, capture partition 21:32:32.550: secondary -> NORMAL", SEC,
		 ST(POTENTIAL_CONFLICT), ST(CONFLICT_DONE), -2, true, {ST(NORMAL)}},
		{"ISC: the secondary's UPDDONE before the primary's CONFLICT-DONE is spurious", SEC,
		 ST(POTENTIAL_CONFLICT), ST(POTENTIAL_CONFLICT), -2, true, {0}},
		{"§9.12.1, ISC: a secondary in CONFLICT-DONE is illegal; ignored", PRI,
		 ST(POTENTIAL_CONFLICT), ST(CONFLICT_DONE), -2, true, {0}},
		{"ISC 'shouldn't happen': NORMAL", PRI, ST(NORMAL), ST(NORMAL), -2, true, {0}},
		{"ISC 'shouldn't happen': PARTNER-DOWN", PRI, ST(PARTNER_DOWN), ST(RECOVER), -2,
		 true, {0}},
		{"ISC 'spurious update-done': CONFLICT-DONE", PRI, ST(CONFLICT_DONE), ST(NORMAL),
		 -2, true, {0}},
		{"ISC: RECOVER-WAIT ignores it", SEC, ST(RECOVER_WAIT), ST(PARTNER_DOWN), -2, true,
		 {0}},
		{"an UPDDONE we did not ask for is ignored", SEC, ST(RECOVER), ST(PARTNER_DOWN),
		 -2, false, {0}},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(rows); i++) {
		struct fo_state st;
		struct fo_state_output out;
		unsigned j, n = 0;

		mk(&st, rows[i].role, rows[i].me, rows[i].partner, true);
		st.stos = T0 + rows[i].stos;
		st.upd_requested = rows[i].requested;
		assert_int_equal(event(&st, FO_EV_UPDDONE_RECEIVED, T0, &out), 0);
		for (j = 0; j < 2 && rows[i].path[j]; j++) {
			n++;
			if (j >= out.n_transitions || out.transitions[j].to != rows[i].path[j]) {
				fail_msg("%s: step %u", rows[i].cite, j);
			}
		}
		if (out.n_transitions != n) {
			fail_msg("%s: %u transitions", rows[i].cite, out.n_transitions);
		}
		if (n) {
			assert_int_equal(out.transitions[0].reason, FO_REASON_UPDDONE);
			assert_false(st.upd_requested);
		} else {
			assert_int_equal(st.n_spurious, 1);
			assert_int_equal(out.n_actions, 0);
		}
		if (rows[i].path[0] == ST(RECOVER_WAIT)) {
			/* ISC: RECOVER-WAIT keeps RECOVER's STOS and is 254 on the wire */
			const struct fo_state_action *a = find(&out, FO_ACT_SEND_STATE, 0);

			assert_non_null(a);
			assert_int_equal(a->wire_state, 254);
			assert_int_equal(a->stos, (uint32_t)(T0 + rows[i].stos));
			assert_int_equal(st.stos + st.mclt, T0 + rows[i].stos + 60);
		}
	}
	/* without a link there is nothing to receive */
	{
		struct fo_state st;
		struct fo_state_output out;

		mk(&st, SEC, ST(RECOVER), ST(PARTNER_DOWN), false);
		st.link_up = st.connected = false;
		assert_int_equal(event(&st, FO_EV_UPDDONE_RECEIVED, T0, &out), -ENOTCONN);
		assert_int_equal(event(&st, FO_EV_UPDDONE_SENT, T0, &out), -ENOTCONN);
		mk(&st, SEC, ST(POTENTIAL_CONFLICT), ST(POTENTIAL_CONFLICT), true);
		assert_int_equal(event(&st, FO_EV_UPDDONE_SENT, T0, &out), 0);
		assert_int_equal(out.n_actions + out.n_transitions, 0);	/* D12 §7.5, ISC */
	}
}

/* ---------------------------------------------------------------------------------------- */
/* Operator commands                                                                          */

static void test_commands(void **state)
{
	static const struct {
		enum fo_state_event_type cmd;
		enum fo_endpoint_state to;
		enum fo_state_reason why;
		unsigned allowed;		/* bit per state */
		const char *cite;
	} cmds[] = {
		{FO_EV_CMD_PARTNER_DOWN, ST(PARTNER_DOWN), FO_REASON_CMD_PARTNER_DOWN,
		 1u << ST(NORMAL) | 1u << ST(COMM_INT) | 1u << ST(RESOLUTION_INT),
		 "§9.8.4, §9.9.3, §9.11.3; Windows -PartnerDown"},
		{FO_EV_CMD_SHUTDOWN, ST(SHUTDOWN), FO_REASON_CMD_SHUTDOWN,
		 ((1u << FO_STATE_COUNT) - 1) & ~(1u << ST(SHUTDOWN)) & ~1u,
		 "§9.14; ISC OMAPI local-state 8"},
		{FO_EV_CMD_PAUSE, ST(PAUSED), FO_REASON_CMD_PAUSE,
		 ((1u << FO_STATE_COUNT) - 1) & ~(1u << ST(SHUTDOWN)) & ~(1u << ST(PAUSED)) & ~1u,
		 "§9.13"},
		{FO_EV_CMD_RECOVER, ST(RECOVER), FO_REASON_CMD_RECOVER,
		 1u << ST(SHUTDOWN) | 1u << ST(PAUSED),
		 "ISC OMAPI local-state 6, capture omshell 21:26:02"},
	};
	size_t c;
	unsigned s;

	(void)state;
	for (c = 0; c < N_OF(cmds); c++) {
		for (s = ST(STARTUP); s < FO_STATE_COUNT; s++) {
			struct fo_state st;
			struct fo_state_output out;
			int rc;

			mk(&st, PRI, s, ST(NORMAL), true);
			st.restart_state = ST(COMM_INT);
			if (s == ST(STARTUP)) {
				st.resume = ST(COMM_INT);
			}
			rc = event(&st, cmds[c].cmd, T0, &out);
			if (!(cmds[c].allowed & (1u << s))) {
				if (rc != -EPERM || st.state != s || out.n_actions) {
					fail_msg("%s in %s: %d", fo_state_event_str(cmds[c].cmd),
						 fo_state_str(s), rc);
				}
				continue;
			}
			assert_int_equal(rc, 0);
			if (st.state != cmds[c].to) {
				fail_msg("%s in %s -> %s (%s)", fo_state_event_str(cmds[c].cmd),
					 fo_state_str(s), fo_state_str(st.state), cmds[c].cite);
			}
			assert_int_equal(out.transitions[0].from, s);
			assert_int_equal(out.transitions[0].reason, cmds[c].why);
			/* §9.13.1, §9.14.1: the state to restart in */
			if (cmds[c].cmd == FO_EV_CMD_SHUTDOWN || cmds[c].cmd == FO_EV_CMD_PAUSE) {
				enum fo_endpoint_state want =
					s == ST(STARTUP) || s == ST(PAUSED) ? ST(COMM_INT) : s;

				assert_int_equal(st.restart_state, want);
				assert_true(mask_of(&out) & A(SEND_STATE));
			}
			if (cmds[c].cmd == FO_EV_CMD_PAUSE) {
				/* §9.13: announce, then close */
				assert_int_equal(out.actions[1].type, FO_ACT_SEND_STATE);
				assert_int_equal(out.actions[1].wire_state, ST(PAUSED));
				assert_non_null(find(&out, FO_ACT_CLOSE_LINK, 0));
				assert_false(st.link_up);
			}
			if (cmds[c].cmd == FO_EV_CMD_RECOVER) {
				assert_non_null(find(&out, FO_ACT_SEND_UPDREQ, 0));
			}
		}
	}
}

/* ISC (capture omshell 21:26:02.168): SHUTDOWN -> RECOVER with the partner in PARTNER-DOWN
 * and nothing pending back-dates STOS by MCLT, so no RECOVER-WAIT follows. */
static void test_recover_command_backdate(void **state)
{
	struct fo_state st;
	struct fo_state_output out;
	struct fo_state_event ev = {.type = FO_EV_CMD_RECOVER, .now = T0};

	(void)state;
	mk(&st, SEC, ST(SHUTDOWN), ST(PARTNER_DOWN), true);
	assert_int_equal(fo_state_handle(&st, &ev, &out), 0);
	assert_int_equal(st.stos, T0 - 60);
	assert_int_equal(find(&out, FO_ACT_SEND_STATE, 0)->stos, (uint32_t)(T0 - 60));
	assert_non_null(find(&out, FO_ACT_SEND_UPDREQ, 0));	/* D12; ISC: UPDREQALL */

	/* updates pending: no back-dating */
	mk(&st, SEC, ST(SHUTDOWN), ST(PARTNER_DOWN), true);
	ev.updates_pending = true;
	assert_int_equal(fo_state_handle(&st, &ev, &out), 0);
	assert_int_equal(st.stos, T0);
	/* the partner not in PARTNER-DOWN: no back-dating */
	mk(&st, SEC, ST(SHUTDOWN), ST(NORMAL), true);
	ev.updates_pending = false;
	assert_int_equal(fo_state_handle(&st, &ev, &out), 0);
	assert_int_equal(st.stos, T0);
	/* from PAUSED: no back-dating; a declared loss asks for everything */
	mk(&st, SEC, ST(PAUSED), ST(PARTNER_DOWN), true);
	ev.storage_lost = true;
	assert_int_equal(fo_state_handle(&st, &ev, &out), 0);
	assert_int_equal(st.stos, T0);
	assert_non_null(find(&out, FO_ACT_SEND_UPDREQALL, 0));
}

/* ---------------------------------------------------------------------------------------- */
/* Timers                                                                                     */

static void test_safe_period(void **state)
{
	struct fo_state st;
	struct fo_state_output out;

	(void)state;
	/* ISC auto-partner-down 20, capture fault 21:24:44.640 -> 21:25:04.643 */
	mk(&st, PRI, ST(NORMAL), ST(NORMAL), true);
	assert_int_equal(event(&st, FO_EV_LINK_DOWN, HMS(21, 24, 44), &out), 0);
	assert_int_equal(st.state, ST(COMM_INT));
	assert_int_equal(fo_state_next_deadline(&st), HMS(21, 25, 4));
	fo_state_tick(&st, HMS(21, 25, 3), &out);
	assert_int_equal(st.state, ST(COMM_INT));
	fo_state_tick(&st, HMS(21, 25, 4), &out);
	assert_int_equal(st.state, ST(PARTNER_DOWN));
	assert_int_equal(out.transitions[0].reason, FO_REASON_SAFE_PERIOD);
	assert_int_equal(mask_of(&out), PE | V);	/* no link: no STATE */
	assert_int_equal(st.stos, HMS(21, 25, 4));
	assert_int_equal(fo_state_next_deadline(&st), UINT64_MAX);
	/* §9.4.2: the partner's pool after MCLT */
	assert_false(fo_state_may_use_partner_pool(&st, HMS(21, 26, 3)));
	assert_true(fo_state_may_use_partner_pool(&st, HMS(21, 26, 4)));

	/* 0 = no safe period (D12 §10 optional; Windows default off) */
	mk(&st, PRI, ST(NORMAL), ST(NORMAL), true);
	st.cfg.safe_period = 0;
	assert_int_equal(event(&st, FO_EV_LINK_DOWN, T0, &out), 0);
	assert_int_equal(fo_state_next_deadline(&st), UINT64_MAX);
	fo_state_tick(&st, T0 + 365 * 86400, &out);
	assert_int_equal(st.state, ST(COMM_INT));
	/* the safe period runs only in COMM-INT (ISC: not in RESOLUTION-INTERRUPTED) */
	mk(&st, PRI, ST(RESOLUTION_INT), ST(NORMAL), false);
	st.link_up = st.connected = false;
	fo_state_tick(&st, T0 + 86400, &out);
	assert_int_equal(st.state, ST(RESOLUTION_INT));
}

static void test_recover_wait_timer(void **state)
{
	struct fo_state st;
	struct fo_state_output out;

	(void)state;
	/* §9.6.2: fires with communications down too */
	mk(&st, SEC, ST(RECOVER_WAIT), ST(PARTNER_DOWN), false);
	st.link_up = st.connected = false;
	st.stos = T0;
	assert_int_equal(fo_state_next_deadline(&st), T0 + 60);
	fo_state_tick(&st, T0 + 59, &out);
	assert_int_equal(st.state, ST(RECOVER_WAIT));
	fo_state_tick(&st, T0 + 60, &out);
	assert_int_equal(st.state, ST(RECOVER_DONE));
	assert_int_equal(out.transitions[0].reason, FO_REASON_MCLT_ELAPSED);
	assert_int_equal(mask_of(&out), PE | V);
	assert_int_equal(fo_state_service(&st), FO_SERVICE_RENEW_ONLY);
	/* connected, partner NORMAL: straight on to NORMAL (§9.7.2) */
	mk(&st, SEC, ST(RECOVER_WAIT), ST(NORMAL), true);
	st.stos = T0;
	st.last_rx = st.last_tx = T0 + 60;	/* the link is alive */
	fo_state_tick(&st, T0 + 60, &out);
	assert_int_equal(out.n_transitions, 2);
	assert_int_equal(st.state, ST(NORMAL));
}

/* D12 §8.3, ISC: tReceive = our max-response-delay; tSend = partner's receive-timer / 3. */
static void test_link_timers(void **state)
{
	struct fo_state st;
	struct fo_state_output out;
	const struct fo_state_action *a;

	(void)state;
	mk(&st, PRI, ST(NORMAL), ST(NORMAL), true);
	assert_int_equal(fo_state_next_deadline(&st), T0 + 5);
	fo_state_tick(&st, T0 + 4, &out);
	assert_int_equal(out.n_actions, 0);
	fo_state_tick(&st, T0 + 5, &out);	/* capture startup: a CONTACT every 5.0 s */
	assert_int_equal(mask_of(&out), A(SEND_CONTACT));
	fo_state_tick(&st, T0 + 6, &out);
	assert_int_equal(out.n_actions, 0);
	assert_int_equal(fo_state_next_deadline(&st), T0 + 10);
	/* any message sent by the caller restarts tSend */
	assert_int_equal(event(&st, FO_EV_MSG_SENT, T0 + 9, &out), 0);
	fo_state_tick(&st, T0 + 10, &out);
	assert_int_equal(out.n_actions, 0);
	/* received messages restart tReceive */
	assert_int_equal(event(&st, FO_EV_MSG_RECEIVED, T0 + 10, &out), 0);
	assert_int_equal(fo_state_next_deadline(&st), T0 + 14);
	fo_state_tick(&st, T0 + 24, &out);
	assert_int_equal(st.state, ST(NORMAL));
	fo_state_tick(&st, T0 + 25, &out);	/* 15 s of silence */
	assert_int_equal(st.state, ST(COMM_INT));
	a = find(&out, FO_ACT_SEND_DISCONNECT, 0);
	assert_non_null(a);
	assert_int_equal(a->reject_reason, 17);
	assert_non_null(find(&out, FO_ACT_CLOSE_LINK, 0));
	assert_int_equal(out.transitions[0].reason, FO_REASON_RECEIVE_TIMEOUT);
	assert_false(st.link_up);

	/* without the partner's receive-timer we pace on our own */
	mk(&st, PRI, ST(NORMAL), ST(NORMAL), true);
	st.partner_receive_timer = 0;
	st.cfg.max_response_delay = 30;
	assert_int_equal(fo_state_next_deadline(&st), T0 + 10);
	st.cfg.max_response_delay = 2;
	assert_int_equal(fo_state_next_deadline(&st), T0 + 1);

	/* ISC "link startup timeout": no CONNECT/CONNECTACK within 15 s (capture probe) */
	mk(&st, SEC, ST(PARTNER_DOWN), ST(NORMAL), false);
	st.link_up = st.connected = false;
	assert_int_equal(event(&st, FO_EV_LINK_UP, T0, &out), 0);
	assert_int_equal(out.n_actions, 0);	/* a secondary never sends CONNECT */
	assert_int_equal(fo_state_next_deadline(&st), T0 + 15);
	fo_state_tick(&st, T0 + 14, &out);
	assert_true(st.link_up);
	fo_state_tick(&st, T0 + 15, &out);
	assert_int_equal(mask_of(&out), A(CLOSE_LINK));
	assert_false(st.link_up);
	assert_int_equal(st.state, ST(PARTNER_DOWN));
}

/* A step of our own wall clock (issue 12 item 6, seed 003) changes no state: the caller
 * reports it (fo_state_clock_step) and the elapsed-time timers move with it. Without that, a
 * forward step reads as the partner's silence (receive-timeout, COMMUNICATIONS-INTERRUPTED)
 * and a backward one stops our CONTACTs until the clock catches up (the partner's tReceive
 * then expires), or cuts a safe period short. */
static void test_clock_step(void **state)
{
	struct fo_state st;
	struct fo_state_output out;

	(void)state;
	/* Forward 90 s at T0 + 3: the next tick reads T0 + 93. */
	mk(&st, PRI, ST(NORMAL), ST(NORMAL), true);
	fo_state_clock_step(&st, 90);
	fo_state_tick(&st, T0 + 93, &out);
	assert_int_equal(st.state, ST(NORMAL));
	assert_int_equal(out.n_transitions, 0);
	assert_true(st.connected);
	assert_int_equal(fo_state_next_deadline(&st), T0 + 95);	/* tSend, moved */
	fo_state_tick(&st, T0 + 95, &out);
	assert_int_equal(mask_of(&out), A(SEND_CONTACT));
	/* Real silence still counts: 15 s after the (moved) last message. */
	fo_state_tick(&st, T0 + 104, &out);
	assert_int_equal(st.state, ST(NORMAL));
	fo_state_tick(&st, T0 + 105, &out);
	assert_int_equal(st.state, ST(COMM_INT));
	assert_int_equal(out.transitions[0].reason, FO_REASON_RECEIVE_TIMEOUT);

	/* Backward 90 s: CONTACTs keep their pace (the partner must not hear silence). */
	mk(&st, PRI, ST(NORMAL), ST(NORMAL), true);
	fo_state_clock_step(&st, -90);
	assert_int_equal(fo_state_next_deadline(&st), T0 - 85);
	fo_state_tick(&st, T0 - 85, &out);
	assert_int_equal(mask_of(&out), A(SEND_CONTACT));
	assert_int_equal(st.stos, T0 - 1000);		/* a date on the wire: unchanged */

	/* The safe period measures time spent in COMMUNICATIONS-INTERRUPTED, not the date. */
	mk(&st, PRI, ST(NORMAL), ST(NORMAL), true);
	assert_int_equal(event(&st, FO_EV_LINK_DOWN, T0, &out), 0);
	assert_int_equal(st.state, ST(COMM_INT));
	fo_state_clock_step(&st, 90);
	fo_state_tick(&st, T0 + 95, &out);
	assert_int_equal(st.state, ST(COMM_INT));
	fo_state_tick(&st, T0 + 110, &out);
	assert_int_equal(st.state, ST(PARTNER_DOWN));
	fo_state_clock_step(&st, 0);	/* no-op */
}

/* ---------------------------------------------------------------------------------------- */
/* Link events                                                                                */

static void test_link_events(void **state)
{
	struct fo_state st;
	struct fo_state_output out;
	struct fo_state_event ev = {.type = FO_EV_CONNECT_OK, .now = T0};
	const struct fo_state_action *a;

	(void)state;
	/* D12 §8.2: only the primary sends CONNECT; STATE follows CONNECT/CONNECTACK */
	mk(&st, PRI, ST(COMM_INT), ST(NORMAL), false);
	st.link_up = st.connected = false;
	assert_int_equal(event(&st, FO_EV_LINK_UP, T0, &out), 0);
	assert_int_equal(mask_of(&out), A(SEND_CONNECT));
	assert_int_equal(event(&st, FO_EV_LINK_UP, T0, &out), -EALREADY);
	ev.partner_receive_timer = 30;
	ev.mclt = 999;	/* a primary keeps its own MCLT */
	assert_int_equal(fo_state_handle(&st, &ev, &out), 0);
	a = find(&out, FO_ACT_SEND_STATE, 0);
	assert_non_null(a);
	assert_int_equal(a->wire_state, ST(COMM_INT));
	assert_int_equal(a->flags, 0);
	assert_int_equal(st.mclt, 60);
	assert_int_equal(st.partner_receive_timer, 30);
	assert_int_equal(fo_state_handle(&st, &ev, &out), -EALREADY);

	/* ISC/D12 §7.8: the secondary adopts the primary's MCLT (and persists it) */
	mk(&st, SEC, ST(COMM_INT), ST(NORMAL), false);
	st.link_up = st.connected = false;
	assert_int_equal(event(&st, FO_EV_LINK_UP, T0, &out), 0);
	ev.mclt = 600;
	assert_int_equal(fo_state_handle(&st, &ev, &out), 0);
	assert_int_equal(st.mclt, 600);
	assert_int_equal(mask_of(&out), PE | A(SEND_STATE));
	{
		struct fo_state_record rec;

		fo_state_record(&st, &rec);
		assert_int_equal(rec.mclt, 600);
	}
	/* MCLT 0 (absent): keep ours (ISC would adopt 0) */
	mk(&st, SEC, ST(COMM_INT), ST(NORMAL), false);
	st.link_up = st.connected = false;
	assert_int_equal(event(&st, FO_EV_LINK_UP, T0, &out), 0);
	ev.mclt = 0;
	assert_int_equal(fo_state_handle(&st, &ev, &out), 0);
	assert_int_equal(st.mclt, 60);

	/* CONNECTACK reject (capture reject: reason 8): close, no state change */
	mk(&st, PRI, ST(COMM_INT), ST(NORMAL), false);
	st.link_up = st.connected = false;
	assert_int_equal(event(&st, FO_EV_LINK_UP, T0, &out), 0);
	ev.type = FO_EV_CONNECT_REJECTED;
	ev.reject_reason = 8;
	assert_int_equal(fo_state_handle(&st, &ev, &out), 0);
	assert_int_equal(mask_of(&out), A(CLOSE_LINK));
	assert_int_equal(st.last_reject, 8);
	assert_false(st.link_up);
	assert_int_equal(st.state, ST(COMM_INT));

	/* protocol events without a link */
	assert_int_equal(send_state(&st, ST(NORMAL), 0, T0, T0, &out), -ENOTCONN);
	assert_int_equal(event(&st, FO_EV_MSG_RECEIVED, T0, &out), -ENOTCONN);
	assert_int_equal(event(&st, FO_EV_MSG_SENT, T0, &out), -ENOTCONN);
	assert_int_equal(event(&st, FO_EV_CONNECT_OK, T0, &out), -ENOTCONN);
	/* a STATE before CONNECT/CONNECTACK is not communications ok */
	assert_int_equal(event(&st, FO_EV_LINK_UP, T0, &out), 0);
	assert_int_equal(send_state(&st, ST(NORMAL), 0, T0, T0, &out), -ENOTCONN);
	assert_false(st.comm_ok);

	/* PAUSED refuses new links */
	mk(&st, PRI, ST(PAUSED), ST(NORMAL), false);
	st.link_up = st.connected = false;
	assert_int_equal(event(&st, FO_EV_LINK_UP, T0, &out), 0);
	assert_int_equal(mask_of(&out), A(CLOSE_LINK));
	assert_false(st.link_up);

	/* unknown event */
	ev.type = FO_EV_COUNT;
	assert_int_equal(fo_state_handle(&st, &ev, &out), -EINVAL);
}

static void test_init_validation(void **state)
{
	struct fo_state st;
	struct fo_state_output out;
	struct fo_state_config cfg = cfg_of(PRI);
	struct fo_state_record rec = {.state = ST(STARTUP), .stos = T0};

	(void)state;
	assert_int_equal(fo_state_init(&st, &cfg, &rec, T0, &out), -EINVAL);
	rec.state = ST(UNKNOWN);
	assert_int_equal(fo_state_init(&st, &cfg, &rec, T0, &out), -EINVAL);
	rec.state = FO_STATE_COUNT;
	assert_int_equal(fo_state_init(&st, &cfg, &rec, T0, &out), -EINVAL);
	rec.state = ST(NORMAL);
	cfg.mclt = 0;	/* the primary must have an MCLT (Windows: cannot be 0) */
	assert_int_equal(fo_state_init(&st, &cfg, &rec, T0, &out), -EINVAL);
	cfg = cfg_of(SEC);
	cfg.mclt = 0;	/* the secondary learns it at CONNECT */
	assert_int_equal(fo_state_init(&st, &cfg, &rec, T0, &out), 0);
	cfg.max_response_delay = 0;
	assert_int_equal(fo_state_init(&st, &cfg, &rec, T0, &out), -EINVAL);
	cfg = cfg_of(SEC);
	cfg.startup_time = 0;
	assert_int_equal(fo_state_init(&st, &cfg, &rec, T0, &out), -EINVAL);
	cfg = cfg_of(SEC);
	cfg.role = 0;
	assert_int_equal(fo_state_init(&st, &cfg, &rec, T0, &out), -EINVAL);
	cfg = cfg_of(SEC);
	cfg.mode = 7;
	assert_int_equal(fo_state_init(&st, &cfg, &rec, T0, &out), -EINVAL);
	assert_int_equal(out.n_actions + out.n_transitions, 0);
	/* the secondary's learned MCLT survives a restart */
	cfg = cfg_of(SEC);
	rec.mclt = 300;
	assert_int_equal(fo_state_init(&st, &cfg, &rec, T0, &out), 0);
	assert_int_equal(st.mclt, 300);
	cfg = cfg_of(PRI);
	assert_int_equal(fo_state_init(&st, &cfg, &rec, T0, &out), 0);
	assert_int_equal(st.mclt, 60);
}

static void test_record_roundtrip(void **state)
{
	struct fo_state st, st2;
	struct fo_state_output out;
	struct fo_state_record rec;
	struct fo_state_config cfg = cfg_of(SEC);

	(void)state;
	/* a fresh server persisted while still in STARTUP keeps "storage lost" */
	assert_int_equal(fo_state_init(&st, &cfg, NULL, T0, &out), 0);
	fo_state_record(&st, &rec);
	assert_int_equal(rec.state, ST(RECOVER));
	assert_int_equal(rec.stos, T0);
	assert_true(rec.storage_lost);
	assert_int_equal(fo_state_init(&st2, &cfg, &rec, T0 + 5, &out), 0);
	assert_true(st2.updreqall);
	assert_int_equal(st2.stos, T0);

	/* NORMAL with partner info and last operation time */
	mk(&st, SEC, ST(NORMAL), ST(NORMAL), true);
	assert_int_equal(event(&st, FO_EV_MSG_RECEIVED, T0 + 7, &out), 0);
	fo_state_record(&st, &rec);
	assert_int_equal(rec.state, ST(NORMAL));
	assert_int_equal(rec.last_op, T0 + 7);	/* served until the last event */
	assert_int_equal(rec.partner, ST(NORMAL));
	assert_false(rec.storage_lost);
	assert_int_equal(fo_state_init(&st2, &cfg, &rec, T0 + 100, &out), 0);
	assert_int_equal(st2.resume, ST(COMM_INT));
	assert_int_equal(st2.last_op, T0 + 7);
	assert_int_equal(out.transitions[0].from, ST(NORMAL));
	fo_state_record(&st2, &rec);
	assert_int_equal(rec.state, ST(NORMAL));	/* STARTUP is never recorded */
}

/* ---------------------------------------------------------------------------------------- */
/* Service, wire values, names                                                                */

static void test_service(void **state)
{
	/* D12 §9.3.1, §9.8.2, §9.9.2, §9.4.2, §9.10.2, §9.5.1, §9.13, §9.14.2, §9.7.1, §9.11.2,
	 * §9.12.2, §9.6.1; hot standby (Windows): the active primary serves all in NORMAL. */
	static const struct {
		uint8_t s;
		uint8_t lb, hs_pri, hs_sec;
	} rows[] = {
#define SV(x) FO_SERVICE_##x
		{ST(STARTUP), SV(NONE), SV(NONE), SV(NONE)},
		{ST(NORMAL), SV(BALANCED), SV(ALL), SV(NONE)},
		{ST(COMM_INT), SV(ALL), SV(ALL), SV(ALL)},
		{ST(PARTNER_DOWN), SV(PARTNER_DOWN), SV(PARTNER_DOWN), SV(PARTNER_DOWN)},
		{ST(POTENTIAL_CONFLICT), SV(NONE), SV(NONE), SV(NONE)},
		{ST(RECOVER), SV(NONE), SV(NONE), SV(NONE)},
		{ST(PAUSED), SV(NONE), SV(NONE), SV(NONE)},
		{ST(SHUTDOWN), SV(NONE), SV(NONE), SV(NONE)},
		{ST(RECOVER_DONE), SV(RENEW_ONLY), SV(RENEW_ONLY), SV(RENEW_ONLY)},
		{ST(RESOLUTION_INT), SV(ALL), SV(ALL), SV(ALL)},
		{ST(CONFLICT_DONE), SV(ALL), SV(ALL), SV(ALL)},
		{ST(RECOVER_WAIT), SV(NONE), SV(NONE), SV(NONE)},
#undef SV
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(rows); i++) {
		struct fo_state st;

		mk(&st, PRI, rows[i].s, ST(NORMAL), true);
		assert_int_equal(fo_state_service(&st), rows[i].lb);
		st.cfg.mode = FO_MODE_HOT_STANDBY;	/* Windows: the active is the primary */
		assert_int_equal(fo_state_service(&st), rows[i].hs_pri);
		mk(&st, SEC, rows[i].s, ST(NORMAL), true);
		assert_int_equal(fo_state_service(&st), rows[i].lb);
		st.cfg.mode = FO_MODE_HOT_STANDBY;
		assert_int_equal(fo_state_service(&st), rows[i].hs_sec);
		assert_false(fo_state_may_use_partner_pool(&st, T0 + 86400) &&
			     rows[i].s != ST(PARTNER_DOWN));
	}
}

/*
 * Hot standby honours the server role whichever side is primary (issue 12 item 5; Windows
 * -ServerRole): the active serves all in NORMAL, the standby none; in
 * COMMUNICATIONS-INTERRUPTED the standby serves from its own pool (the reserve), in
 * PARTNER-DOWN both serve everyone. A standby primary used to serve everyone in NORMAL.
 */
static void test_service_server_role(void **state)
{
	static const enum fo_role roles[] = { PRI, SEC };
	struct fo_state_output out;
	struct fo_state st;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct fo_state_config cfg = cfg_of(roles[i]);

		mk(&st, roles[i], ST(NORMAL), ST(NORMAL), true);
		st.cfg.mode = FO_MODE_HOT_STANDBY;
		st.cfg.server_role = FO_SERVER_ROLE_ACTIVE;
		assert_true(fo_state_active(&st.cfg));
		assert_int_equal(fo_state_service(&st), FO_SERVICE_ALL);
		st.state = ST(COMM_INT);
		assert_int_equal(fo_state_service(&st), FO_SERVICE_ALL);
		st.state = ST(PARTNER_DOWN);
		assert_int_equal(fo_state_service(&st), FO_SERVICE_PARTNER_DOWN);

		mk(&st, roles[i], ST(NORMAL), ST(NORMAL), true);
		st.cfg.mode = FO_MODE_HOT_STANDBY;
		st.cfg.server_role = FO_SERVER_ROLE_STANDBY;
		assert_false(fo_state_active(&st.cfg));
		assert_int_equal(fo_state_service(&st), FO_SERVICE_NONE);
		st.state = ST(COMM_INT);
		assert_int_equal(fo_state_service(&st), FO_SERVICE_ALL);
		st.state = ST(PARTNER_DOWN);
		assert_int_equal(fo_state_service(&st), FO_SERVICE_PARTNER_DOWN);
		st.state = ST(RECOVER_DONE);
		assert_int_equal(fo_state_service(&st), FO_SERVICE_RENEW_ONLY);

		/* Load balance ignores the server role. */
		mk(&st, roles[i], ST(NORMAL), ST(NORMAL), true);
		st.cfg.server_role = FO_SERVER_ROLE_STANDBY;
		assert_int_equal(fo_state_service(&st), FO_SERVICE_BALANCED);

		/* Not given: the primary is the active one (the behaviour before server_role). */
		cfg.server_role = FO_SERVER_ROLE_DEFAULT;
		assert_int_equal(fo_state_active(&cfg), roles[i] == PRI);
		/* An unknown value is refused. */
		cfg.server_role = (enum fo_server_role)7;
		assert_int_equal(fo_state_init(&st, &cfg, NULL, T0, &out), -EINVAL);
		cfg.server_role = FO_SERVER_ROLE_STANDBY;
		cfg.mode = FO_MODE_HOT_STANDBY;
		assert_int_equal(fo_state_init(&st, &cfg, NULL, T0, &out), 0);
	}
}

static void test_wire_and_names(void **state)
{
	static const char *const isc_names[] = {
		"unknown-state", "startup", "normal", "communications-interrupted",
		"partner-down", "potential-conflict", "recover", "paused", "shutdown",
		"recover-done", "resolution-interrupted", "conflict-done", "recover-wait"};
	unsigned s, v;
	uint8_t ws, fl;
	uint32_t stos;
	struct fo_state st;

	(void)state;
	for (s = 0; s < FO_STATE_COUNT; s++) {
		/* dhcpd's dhcp_failover_state_name_print() spelling */
		assert_string_equal(fo_state_str(s), isc_names[s]);
	}
	assert_string_equal(fo_state_str(FO_STATE_COUNT), "unknown");
	/* D12 §12.24 values, RECOVER-WAIT = 254 (ISC, capture amnesia 21:26:22.313) */
	for (s = ST(STARTUP); s <= ST(CONFLICT_DONE); s++) {
		assert_int_equal(fo_state_to_wire(s), s);
	}
	assert_int_equal(fo_state_to_wire(ST(RECOVER_WAIT)), 254);
	assert_int_equal(fo_state_to_wire(FO_STATE_COUNT), 0);
	for (v = 0; v < 256; v++) {
		enum fo_endpoint_state e = fo_state_from_wire((uint8_t)v);

		if (v >= 1 && v <= 11) {
			assert_int_equal(e, v);
		} else if (v == 254) {
			assert_int_equal(e, ST(RECOVER_WAIT));
		} else {
			assert_int_equal(e, ST(UNKNOWN));
		}
	}
	mk(&st, PRI, ST(RECOVER_WAIT), ST(NORMAL), true);
	fo_state_wire(&st, &ws, &fl, &stos);
	assert_int_equal(ws, 254);
	assert_int_equal(fl, 0);
	assert_int_equal(stos, (uint32_t)(T0 - 1000));

	assert_string_equal(fo_state_reason_str(FO_REASON_SAFE_PERIOD), "safe-period");
	assert_string_equal(fo_state_reason_str(FO_REASON_COUNT), "unknown");
	assert_string_equal(fo_state_action_str(FO_ACT_SEND_UPDREQALL), "send-updreqall");
	assert_string_equal(fo_state_action_str(FO_ACT_COUNT), "unknown");
	assert_string_equal(fo_state_event_str(FO_EV_TICK), "tick");
	assert_string_equal(fo_state_event_str(FO_EV_COUNT), "unknown");
	assert_string_equal(fo_service_str(FO_SERVICE_RENEW_ONLY), "renew-only");
	assert_string_equal(fo_service_str(99), "unknown");
	assert_string_equal(fo_role_str(PRI), "primary");
	assert_string_equal(fo_role_str(SEC), "secondary");
	assert_string_equal(fo_role_str(0), "unknown");
	assert_string_equal(fo_mode_str(FO_MODE_HOT_STANDBY), "hot-standby");
	assert_string_equal(fo_mode_str(FO_MODE_LOAD_BALANCE), "load-balance");
	assert_string_equal(fo_mode_str(9), "unknown");
	for (s = 0; s < FO_REASON_COUNT; s++) {
		assert_string_not_equal(fo_state_reason_str(s), "unknown");
	}
	for (s = 0; s < FO_ACT_COUNT; s++) {
		assert_string_not_equal(fo_state_action_str(s), "unknown");
	}
	for (s = 0; s < FO_EV_COUNT; s++) {
		assert_string_not_equal(fo_state_event_str(s), "unknown");
	}
}

/* ---------------------------------------------------------------------------------------- */
/* The ISC lab, replayed: two machines wired to each other                                    */

struct msg {
	int to;				/* peer index */
	enum fo_state_action_type type;
	uint8_t wire_state, flags;
	uint32_t stos;
};

struct sent_state {
	uint64_t at;
	uint8_t wire_state, flags;
	uint32_t stos;
};

struct peer {
	const char *name;
	struct fo_state st;
	bool alive;
	struct fo_state_transition log[32];
	unsigned n_log;
	struct sent_state states[32];
	unsigned n_states;
	unsigned n_updreq, n_updreqall, n_poolreq, n_contact;
	bool owes_upddone;		/* the partner asked for updates */
};

struct lab {
	struct peer p[2];		/* 0 = primary (dhcp1), 1 = secondary (dhcp2) */
	bool wire;			/* packets pass */
	struct msg q[64];
	unsigned nq;
	bool auto_upddone;		/* answer UPDREQ at once (nothing to send) */
};

static void lab_apply(struct lab *lab, int i, const struct fo_state_output *out, uint64_t now);

static void lab_deliver(struct lab *lab, uint64_t now)
{
	while (lab->nq) {
		struct msg m = lab->q[0];
		struct peer *p = &lab->p[m.to];
		struct fo_state_output out;
		struct fo_state_event ev = {.now = now};

		memmove(lab->q, lab->q + 1, --lab->nq * sizeof(lab->q[0]));
		if (!lab->wire || !p->alive || !p->st.connected) {
			continue;
		}
		switch (m.type) {
		case FO_ACT_SEND_STATE:
			ev.type = FO_EV_PARTNER_STATE;
			ev.wire_state = m.wire_state;
			ev.flags = m.flags;
			ev.stos = m.stos;
			break;
		case FO_ACT_SEND_UPDREQ:
		case FO_ACT_SEND_UPDREQALL:
			p->owes_upddone = true;
			ev.type = FO_EV_MSG_RECEIVED;
			break;
		default:
			ev.type = FO_EV_MSG_RECEIVED;
			break;
		}
		assert_int_equal(fo_state_handle(&p->st, &ev, &out), 0);
		lab_apply(lab, m.to, &out, now);
		if (p->owes_upddone && lab->auto_upddone) {
			struct peer *o = &lab->p[!m.to];

			p->owes_upddone = false;
			ev.type = FO_EV_UPDDONE_SENT;
			assert_int_equal(fo_state_handle(&p->st, &ev, &out), 0);
			ev.type = FO_EV_UPDDONE_RECEIVED;
			assert_int_equal(fo_state_handle(&o->st, &ev, &out), 0);
			lab_apply(lab, !m.to, &out, now);
		}
	}
}

static void lab_apply(struct lab *lab, int i, const struct fo_state_output *out, uint64_t now)
{
	struct peer *p = &lab->p[i];
	unsigned k;

	assert_false(out->overflow);
	for (k = 0; k < out->n_transitions; k++) {
		assert_true(p->n_log < N_OF(p->log));
		p->log[p->n_log++] = out->transitions[k];
	}
	for (k = 0; k < out->n_actions; k++) {
		const struct fo_state_action *a = &out->actions[k];
		struct msg m = {.to = !i, .type = a->type, .wire_state = a->wire_state,
				.flags = a->flags, .stos = a->stos};

		switch (a->type) {
		case FO_ACT_SEND_STATE:
			p->states[p->n_states++] = (struct sent_state){now, a->wire_state,
								       a->flags, a->stos};
			break;
		case FO_ACT_SEND_UPDREQ:
			p->n_updreq++;
			break;
		case FO_ACT_SEND_UPDREQALL:
			p->n_updreqall++;
			break;
		case FO_ACT_SEND_POOLREQ:
			p->n_poolreq++;
			break;
		case FO_ACT_SEND_CONTACT:
			p->n_contact++;
			break;
		case FO_ACT_CLOSE_LINK:
			/* TCP FIN reaches the partner only when packets pass */
			if (lab->wire && lab->p[!i].alive && lab->p[!i].st.link_up) {
				struct fo_state_output o2;

				assert_int_equal(event(&lab->p[!i].st, FO_EV_LINK_DOWN, now, &o2),
						 0);
				lab_apply(lab, !i, &o2, now);
			}
			continue;
		default:
			break;
		}
		if (a->type >= FO_ACT_SEND_CONNECT && a->type <= FO_ACT_SEND_DISCONNECT &&
		    a->type != FO_ACT_SEND_CONNECT && a->type != FO_ACT_SEND_UPDATES) {
			assert_true(lab->nq < N_OF(lab->q));
			lab->q[lab->nq++] = m;
		}
	}
}

static void lab_start(struct lab *lab, int i, const struct fo_state_config *cfg,
		      const struct fo_state_record *rec, uint64_t now)
{
	struct peer *p = &lab->p[i];
	struct fo_state_output out;

	p->name = i ? "dhcp2" : "dhcp1";
	p->alive = true;
	p->owes_upddone = false;
	assert_int_equal(fo_state_init(&p->st, cfg, rec, now, &out), 0);
	lab_apply(lab, i, &out, now);
}

/* TCP up, CONNECT (from the primary) and CONNECTACK, then the STATE exchange. */
static void lab_connect(struct lab *lab, uint64_t now)
{
	struct fo_state_event ev = {.type = FO_EV_CONNECT_OK, .now = now,
				    .partner_receive_timer = 15, .mclt = 60};
	struct fo_state_output out;
	int i;

	lab->wire = true;
	for (i = 0; i < 2; i++) {
		assert_int_equal(event(&lab->p[i].st, FO_EV_LINK_UP, now, &out), 0);
		assert_int_equal(mask_of(&out), i == 0 ? A(SEND_CONNECT) : 0);
	}
	for (i = 0; i < 2; i++) {
		assert_int_equal(fo_state_handle(&lab->p[i].st, &ev, &out), 0);
		lab_apply(lab, i, &out, now);
	}
	lab_deliver(lab, now);
}

static void lab_tick(struct lab *lab, uint64_t now)
{
	int i;

	for (i = 0; i < 2; i++) {
		struct fo_state_output out;

		if (!lab->p[i].alive) {
			continue;
		}
		fo_state_tick(&lab->p[i].st, now, &out);
		lab_apply(lab, i, &out, now);
	}
	lab_deliver(lab, now);
}

static void lab_run(struct lab *lab, uint64_t from, uint64_t to)
{
	uint64_t t;

	for (t = from; t <= to; t++) {
		lab_tick(lab, t);
	}
}

/* The partner's UPDDONE reaches peer i (the requester). */
static void lab_upddone(struct lab *lab, int i, uint64_t now)
{
	struct fo_state_event ev = {.type = FO_EV_UPDDONE_SENT, .now = now};
	struct fo_state_output out;

	assert_true(lab->p[!i].owes_upddone);
	lab->p[!i].owes_upddone = false;
	assert_int_equal(fo_state_handle(&lab->p[!i].st, &ev, &out), 0);
	ev.type = FO_EV_UPDDONE_RECEIVED;
	assert_int_equal(fo_state_handle(&lab->p[i].st, &ev, &out), 0);
	lab_apply(lab, i, &out, now);
	lab_deliver(lab, now);
}

/* A process dies: its partner sees the FIN. */
static void lab_kill(struct lab *lab, int i, uint64_t now)
{
	struct fo_state_output out;

	lab->p[i].alive = false;
	lab->nq = 0;
	assert_int_equal(event(&lab->p[!i].st, FO_EV_LINK_DOWN, now, &out), 0);
	lab_apply(lab, !i, &out, now);
}

struct step {
	uint8_t from, to;
	uint64_t at;
};

/* Compare a peer's transitions (from index `first` on) with the capture's log lines. */
static void expect_log(const struct peer *p, unsigned first, const struct step *s, unsigned n)
{
	unsigned k;

	if (p->n_log - first != n) {
		for (k = first; k < p->n_log; k++) {
			print_message("%s: %s -> %s at %llu\n", p->name,
				      fo_state_str(p->log[k].from), fo_state_str(p->log[k].to),
				      (unsigned long long)p->log[k].at);
		}
		fail_msg("%s: %u transitions, capture has %u", p->name, p->n_log - first, n);
	}
	for (k = 0; k < n; k++) {
		const struct fo_state_transition *t = &p->log[first + k];

		if (t->from != s[k].from || t->to != s[k].to || t->at != s[k].at) {
			fail_msg("%s step %u: %s -> %s at %llu, capture %s -> %s at %llu", p->name,
				 k, fo_state_str(t->from), fo_state_str(t->to),
				 (unsigned long long)t->at, fo_state_str(s[k].from),
				 fo_state_str(s[k].to), (unsigned long long)s[k].at);
		}
	}
}

/* Compare the STATE messages a peer sent (from index `first` on) with the capture. */
static void expect_states(const struct peer *p, unsigned first, const struct sent_state *s,
			  unsigned n)
{
	unsigned k;

	if (p->n_states - first != n) {
		fail_msg("%s: %u STATE messages, capture has %u", p->name, p->n_states - first, n);
	}
	for (k = 0; k < n; k++) {
		const struct sent_state *m = &p->states[first + k];

		if (m->wire_state != s[k].wire_state || m->flags != s[k].flags ||
		    m->stos != s[k].stos || m->at != s[k].at) {
			fail_msg("%s STATE %u: state %u flags %u stos %u at %llu; capture %u %u %u "
				 "%llu", p->name, k, m->wire_state, m->flags, m->stos,
				 (unsigned long long)m->at, s[k].wire_state, s[k].flags, s[k].stos,
				 (unsigned long long)s[k].at);
		}
	}
}

#define TT(h, m, s) ((uint32_t)HMS(h, m, s))

/* capture startup (startup.events.log, startup.dhcp{1,2}.log, startup-fo.msgs.txt): both
 * lease files empty; P starts 21:22:53, S 21:22:55; NORMAL 24 ms after the connect. */
static void bring_up(struct lab *lab)
{
	struct fo_state_config c1 = cfg_of(PRI), c2 = cfg_of(SEC);

	memset(lab, 0, sizeof(*lab));
	lab_start(lab, 0, &c1, NULL, HMS(21, 22, 53));
	lab_run(lab, HMS(21, 22, 53), HMS(21, 22, 55));	/* P stays in STARTUP (15 s) */
	lab_start(lab, 1, &c2, NULL, HMS(21, 22, 55));
	lab_connect(lab, HMS(21, 22, 55));
	/* S's UPDDONE for P's UPDREQALL came first (21:22:55.541), then P's (.546) */
	lab_upddone(lab, 0, HMS(21, 22, 55));
	lab_upddone(lab, 1, HMS(21, 22, 55));
}

static void test_scenario_startup(void **state)
{
	struct lab lab;
	const uint64_t t53 = HMS(21, 22, 53), t55 = HMS(21, 22, 55);
	const struct step p_log[] = {
		{ST(RECOVER), ST(STARTUP), t53},	  /* "I move from recover to startup" */
		{ST(STARTUP), ST(RECOVER), t55},	  /* "I move from startup to recover" */
		{ST(RECOVER), ST(RECOVER_DONE), t55},	  /* after S's UPDDONE */
		{ST(RECOVER_DONE), ST(NORMAL), t55},	  /* "Both servers have entered ..." */
	};
	const struct step s_log[] = {
		{ST(RECOVER), ST(STARTUP), t55},
		{ST(STARTUP), ST(RECOVER), t55},
		{ST(RECOVER), ST(RECOVER_DONE), t55},
		{ST(RECOVER_DONE), ST(NORMAL), t55},
	};
	/* startup-fo.msgs.txt 21:22:55.528-.552 */
	const struct sent_state p_states[] = {
		{t55, 6, 1, TT(21, 22, 53)}, {t55, 6, 0, TT(21, 22, 53)},
		{t55, 9, 0, TT(21, 22, 55)}, {t55, 2, 0, TT(21, 22, 55)},
	};
	const struct sent_state s_states[] = {
		{t55, 6, 1, TT(21, 22, 55)}, {t55, 6, 0, TT(21, 22, 55)},
		{t55, 9, 0, TT(21, 22, 55)}, {t55, 2, 0, TT(21, 22, 55)},
	};

	(void)state;
	bring_up(&lab);
	expect_log(&lab.p[0], 0, p_log, N_OF(p_log));
	expect_log(&lab.p[1], 0, s_log, N_OF(s_log));
	expect_states(&lab.p[0], 0, p_states, N_OF(p_states));
	expect_states(&lab.p[1], 0, s_states, N_OF(s_states));
	/* one UPDREQALL each (ISC sent two each and discarded the first: "old update still
	 * flying"); the secondary asks for addresses on entering NORMAL (D12 §9.8.1) */
	assert_int_equal(lab.p[0].n_updreqall, 1);
	assert_int_equal(lab.p[1].n_updreqall, 1);
	assert_int_equal(lab.p[0].n_updreq + lab.p[1].n_updreq, 0);
	assert_int_equal(lab.p[0].n_poolreq, 0);
	assert_int_equal(lab.p[1].n_poolreq, 1);
	assert_int_equal(fo_state_service(&lab.p[0].st), FO_SERVICE_BALANCED);
	assert_int_equal(fo_state_service(&lab.p[1].st), FO_SERVICE_BALANCED);

	/* idle link: a CONTACT every 5 s each way (partner's receive-timer 15 / 3) */
	lab_run(&lab, t55 + 1, t55 + 20);
	assert_int_equal(lab.p[0].n_contact, 4);
	assert_int_equal(lab.p[1].n_contact, 4);
	assert_int_equal(lab.p[0].st.state, ST(NORMAL));
	assert_int_equal(lab.p[1].st.state, ST(NORMAL));
}

/* capture fault: SIGKILL S 21:24:44.630, auto-partner-down 20 s, restart 21:25:15 with S's
 * database intact, NORMAL 2.2 s later (fault.events.log, fault.dhcp{1,2}.log). */
static void test_scenario_fault(void **state)
{
	struct lab lab;
	struct fo_state_config c2 = cfg_of(SEC);
	struct fo_state_record rec;
	unsigned p0, s0, ps0, ss0;
	const struct step p_log[] = {
		{ST(NORMAL), ST(COMM_INT), HMS(21, 24, 44)},
		{ST(COMM_INT), ST(PARTNER_DOWN), HMS(21, 25, 4)},
		{ST(PARTNER_DOWN), ST(NORMAL), HMS(21, 25, 17)},
	};
	const struct step s_log[] = {
		{ST(NORMAL), ST(STARTUP), HMS(21, 25, 15)},
		{ST(STARTUP), ST(RECOVER), HMS(21, 25, 15)},
		{ST(RECOVER), ST(RECOVER_DONE), HMS(21, 25, 17)},
		{ST(RECOVER_DONE), ST(NORMAL), HMS(21, 25, 17)},
	};
	/* fault-fo.msgs.txt */
	const struct sent_state p_states[] = {
		{HMS(21, 25, 15), 4, 0, TT(21, 25, 4)},
		{HMS(21, 25, 17), 2, 0, TT(21, 25, 17)},
	};
	const struct sent_state s_states[] = {
		{HMS(21, 25, 15), 2, 1, TT(21, 22, 55)},	/* saved state + STARTUP */
		{HMS(21, 25, 15), 6, 0, TT(21, 22, 55)},	/* RECOVER keeps the old STOS */
		{HMS(21, 25, 17), 9, 0, TT(21, 25, 17)},
		{HMS(21, 25, 17), 2, 0, TT(21, 25, 17)},
	};

	(void)state;
	bring_up(&lab);
	lab_run(&lab, HMS(21, 22, 56), HMS(21, 24, 43));
	p0 = lab.p[0].n_log;
	ps0 = lab.p[0].n_states;
	assert_int_equal(lab.p[0].st.state, ST(NORMAL));

	fo_state_record(&lab.p[1].st, &rec);	/* what S had on disk */
	assert_int_equal(rec.state, ST(NORMAL));
	assert_int_equal(rec.stos, HMS(21, 22, 55));
	lab_kill(&lab, 1, HMS(21, 24, 44));
	assert_int_equal(lab.p[0].st.state, ST(COMM_INT));
	/* c2 (bucket 247) DISCOVERs at 21:24:45: P answers everyone, from its own pool */
	assert_int_equal(fo_state_service(&lab.p[0].st), FO_SERVICE_ALL);
	lab_run(&lab, HMS(21, 24, 44), HMS(21, 25, 14));
	assert_int_equal(lab.p[0].st.state, ST(PARTNER_DOWN));
	/* the renewal at 21:25:10 comes before MCLT ran out in PARTNER-DOWN */
	assert_false(fo_state_may_use_partner_pool(&lab.p[0].st, HMS(21, 25, 10)));

	s0 = lab.p[1].n_log;
	ss0 = lab.p[1].n_states;
	assert_int_equal(lab.p[1].n_updreq, 0);
	lab_start(&lab, 1, &c2, &rec, HMS(21, 25, 15));
	lab_connect(&lab, HMS(21, 25, 15));
	assert_int_equal(lab.p[1].st.state, ST(RECOVER));
	assert_int_equal(lab.p[0].st.state, ST(PARTNER_DOWN));
	/* D12 §9.5.2: S kept its database, so UPDREQ (ISC sends UPDREQALL) */
	assert_int_equal(lab.p[1].n_updreq, 1);
	lab_run(&lab, HMS(21, 25, 16), HMS(21, 25, 16));
	lab_upddone(&lab, 1, HMS(21, 25, 17));	/* 21:25:17.925 */

	expect_log(&lab.p[0], p0, p_log, N_OF(p_log));
	expect_log(&lab.p[1], s0, s_log, N_OF(s_log));
	expect_states(&lab.p[0], ps0, p_states, N_OF(p_states));
	expect_states(&lab.p[1], ss0, s_states, N_OF(s_states));
	assert_int_equal(lab.p[0].log[p0].reason, FO_REASON_COMM_FAILED);
	assert_int_equal(lab.p[0].log[p0 + 1].reason, FO_REASON_SAFE_PERIOD);
}

/* capture amnesia: SIGKILL S 21:26:16, lease file deleted, restart 21:26:20, RECOVER-WAIT
 * 21:26:22 -> 21:27:20 (= S's STOS + MCLT), both NORMAL at 21:27:20. */
static void test_scenario_amnesia(void **state)
{
	struct lab lab;
	struct fo_state_config c2 = cfg_of(SEC);
	unsigned p0, s0, ps0, ss0, q0;
	const struct step p_log[] = {
		{ST(NORMAL), ST(COMM_INT), HMS(21, 26, 16)},
		{ST(COMM_INT), ST(PARTNER_DOWN), HMS(21, 26, 20)},	/* at once (ISC) */
		{ST(PARTNER_DOWN), ST(NORMAL), HMS(21, 27, 20)},
	};
	const struct step s_log[] = {
		{ST(RECOVER), ST(STARTUP), HMS(21, 26, 20)},
		{ST(STARTUP), ST(RECOVER), HMS(21, 26, 20)},
		{ST(RECOVER), ST(RECOVER_WAIT), HMS(21, 26, 22)},
		{ST(RECOVER_WAIT), ST(RECOVER_DONE), HMS(21, 27, 20)},
		{ST(RECOVER_DONE), ST(NORMAL), HMS(21, 27, 20)},
	};
	/* amnesia-fo.msgs.txt */
	const struct sent_state p_states[] = {
		{HMS(21, 26, 20), 3, 0, TT(21, 26, 16)},
		{HMS(21, 26, 20), 4, 0, TT(21, 26, 20)},
		{HMS(21, 27, 20), 2, 0, TT(21, 27, 20)},
	};
	const struct sent_state s_states[] = {
		{HMS(21, 26, 20), 6, 1, TT(21, 26, 20)},
		{HMS(21, 26, 20), 6, 0, TT(21, 26, 20)},
		{HMS(21, 26, 22), 254, 0, TT(21, 26, 20)},
		{HMS(21, 27, 20), 9, 0, TT(21, 27, 20)},
		{HMS(21, 27, 20), 2, 0, TT(21, 27, 20)},
	};

	(void)state;
	bring_up(&lab);
	lab_run(&lab, HMS(21, 22, 56), HMS(21, 26, 15));
	p0 = lab.p[0].n_log;
	ps0 = lab.p[0].n_states;
	lab_kill(&lab, 1, HMS(21, 26, 16));

	s0 = lab.p[1].n_log;
	ss0 = lab.p[1].n_states;
	lab_run(&lab, HMS(21, 26, 17), HMS(21, 26, 19));
	q0 = lab.p[1].n_updreqall;
	lab_start(&lab, 1, &c2, NULL, HMS(21, 26, 20));	/* no lease file */
	lab_connect(&lab, HMS(21, 26, 20));
	assert_int_equal(lab.p[1].n_updreqall - q0, 1);	/* ISC sent two */
	lab_run(&lab, HMS(21, 26, 21), HMS(21, 26, 21));
	lab_upddone(&lab, 1, HMS(21, 26, 22));
	assert_int_equal(lab.p[1].st.state, ST(RECOVER_WAIT));
	/* next: a CONTACT 5 s after the STATE(recover-wait) */
	assert_int_equal(fo_state_next_deadline(&lab.p[1].st), HMS(21, 26, 27));
	lab_run(&lab, HMS(21, 26, 22), HMS(21, 27, 19));
	assert_int_equal(lab.p[1].st.state, ST(RECOVER_WAIT));
	lab_run(&lab, HMS(21, 27, 20), HMS(21, 27, 20));

	expect_log(&lab.p[0], p0, p_log, N_OF(p_log));
	expect_log(&lab.p[1], s0, s_log, N_OF(s_log));
	expect_states(&lab.p[0], ps0, p_states, N_OF(p_states));
	expect_states(&lab.p[1], ss0, s_states, N_OF(s_states));
}

/* capture partition: S's bridge port down 21:31:49.879; both COMM-INT at 21:32:03 (15 s after
 * the last CONTACT), PARTNER-DOWN at 21:32:23 (20 s), link up 21:32:29, reconnect 21:32:32,
 * POTENTIAL-CONFLICT -> (P) CONFLICT-DONE -> NORMAL within 12 ms. */
static void test_scenario_partition(void **state)
{
	struct lab lab;
	struct fo_state_config c1 = cfg_of(PRI), c2 = cfg_of(SEC);
	struct fo_state_record r1, r2;
	unsigned p0, s0, ps0, ss0;
	const uint64_t t32 = HMS(21, 32, 32);
	const struct step p_log[] = {
		{ST(NORMAL), ST(COMM_INT), HMS(21, 32, 3)},
		{ST(COMM_INT), ST(PARTNER_DOWN), HMS(21, 32, 23)},
		{ST(PARTNER_DOWN), ST(POTENTIAL_CONFLICT), t32},
		{ST(POTENTIAL_CONFLICT), ST(CONFLICT_DONE), t32},
		{ST(CONFLICT_DONE), ST(NORMAL), t32},
	};
	const struct step s_log[] = {
		{ST(NORMAL), ST(COMM_INT), HMS(21, 32, 3)},
		{ST(COMM_INT), ST(PARTNER_DOWN), HMS(21, 32, 23)},
		{ST(PARTNER_DOWN), ST(POTENTIAL_CONFLICT), t32},
		{ST(POTENTIAL_CONFLICT), ST(NORMAL), t32},
	};
	/* partition-fo.msgs.txt 21:32:32.540-.552 */
	const struct sent_state p_states[] = {
		{t32, 4, 0, TT(21, 32, 23)}, {t32, 5, 0, TT(21, 32, 32)},
		{t32, 11, 0, TT(21, 32, 32)}, {t32, 2, 0, TT(21, 32, 32)},
	};
	const struct sent_state s_states[] = {
		{t32, 4, 0, TT(21, 32, 23)}, {t32, 5, 0, TT(21, 32, 32)},
		{t32, 2, 0, TT(21, 32, 32)},
	};

	(void)state;
	/* a pair in NORMAL since 21:31:43 (partition.dhcp{1,2}.log) */
	memset(&lab, 0, sizeof(lab));
	r1 = (struct fo_state_record){.state = ST(NORMAL), .stos = HMS(21, 31, 0)};
	r2 = r1;
	lab_start(&lab, 0, &c1, &r1, HMS(21, 31, 41));
	lab_start(&lab, 1, &c2, &r2, HMS(21, 31, 43));
	lab_connect(&lab, HMS(21, 31, 43));
	assert_int_equal(lab.p[0].st.state, ST(NORMAL));
	assert_int_equal(lab.p[1].st.state, ST(NORMAL));
	lab_run(&lab, HMS(21, 31, 44), HMS(21, 31, 49));	/* CONTACTs at :48 */
	p0 = lab.p[0].n_log;
	s0 = lab.p[1].n_log;
	lab.wire = false;					/* 21:31:49.879 */
	lab_run(&lab, HMS(21, 31, 50), HMS(21, 32, 2));
	assert_int_equal(lab.p[0].st.state, ST(NORMAL));
	/* "timeout waiting for failover peer iscfo" */
	lab_run(&lab, HMS(21, 32, 3), HMS(21, 32, 3));
	assert_int_equal(lab.p[0].st.state, ST(COMM_INT));
	assert_int_equal(lab.p[1].st.state, ST(COMM_INT));
	assert_int_equal(lab.p[0].log[p0].reason, FO_REASON_RECEIVE_TIMEOUT);
	lab_run(&lab, HMS(21, 32, 4), HMS(21, 32, 31));
	assert_int_equal(lab.p[0].st.state, ST(PARTNER_DOWN));
	assert_int_equal(lab.p[1].st.state, ST(PARTNER_DOWN));
	ps0 = lab.p[0].n_states;
	ss0 = lab.p[1].n_states;
	lab.auto_upddone = true;	/* "Update request from iscfo: nothing pending" */
	lab_connect(&lab, t32);

	expect_log(&lab.p[0], p0, p_log, N_OF(p_log));
	expect_log(&lab.p[1], s0, s_log, N_OF(s_log));
	expect_states(&lab.p[0], ps0, p_states, N_OF(p_states));
	expect_states(&lab.p[1], ss0, s_states, N_OF(s_states));
	/* the primary resolves first, the secondary asks after CONFLICT-DONE (§9.10.3) */
	assert_int_equal(lab.p[0].n_updreq, 1);
	assert_int_equal(lab.p[1].n_updreq, 1);
}

/* capture omshell: S set to SHUTDOWN over OMAPI 21:25:44, SIGTERM :47, restart :53 stays in
 * SHUTDOWN (ISC), set to RECOVER 21:26:02 with STOS back-dated by MCLT, NORMAL at 21:26:04. */
static void test_scenario_omshell(void **state)
{
	struct lab lab;
	struct fo_state_config c2 = cfg_of(SEC);
	struct fo_state_record rec;
	struct fo_state_output out;
	unsigned p0, s0, ss0;
	const struct step p_log[] = {
		{ST(NORMAL), ST(PARTNER_DOWN), HMS(21, 25, 44)},
		{ST(PARTNER_DOWN), ST(NORMAL), HMS(21, 26, 4)},
	};
	const struct step s_log[] = {
		{ST(NORMAL), ST(SHUTDOWN), HMS(21, 25, 44)},
		{ST(SHUTDOWN), ST(STARTUP), HMS(21, 25, 53)},
		{ST(STARTUP), ST(SHUTDOWN), HMS(21, 25, 53)},
		{ST(SHUTDOWN), ST(RECOVER), HMS(21, 26, 2)},
		{ST(RECOVER), ST(RECOVER_DONE), HMS(21, 26, 4)},
		{ST(RECOVER_DONE), ST(NORMAL), HMS(21, 26, 4)},
	};
	const struct sent_state s_states[] = {
		{HMS(21, 25, 53), 8, 1, TT(21, 25, 44)},	/* ISC sent flags 0 here */
		{HMS(21, 25, 53), 8, 0, TT(21, 25, 44)},
		{HMS(21, 26, 2), 6, 0, TT(21, 25, 2)},		/* "stos = now - 60" */
		{HMS(21, 26, 4), 9, 0, TT(21, 26, 4)},
		{HMS(21, 26, 4), 2, 0, TT(21, 26, 4)},
	};
	struct fo_state_event cmd = {.type = FO_EV_CMD_SHUTDOWN, .now = HMS(21, 25, 44)};

	(void)state;
	bring_up(&lab);
	lab.p[1].st.cfg.shutdown_persists = true;	/* ISC */
	c2.shutdown_persists = true;
	lab_run(&lab, HMS(21, 22, 56), HMS(21, 25, 43));
	p0 = lab.p[0].n_log;
	s0 = lab.p[1].n_log;

	assert_int_equal(fo_state_handle(&lab.p[1].st, &cmd, &out), 0);
	lab_apply(&lab, 1, &out, HMS(21, 25, 44));
	lab_deliver(&lab, HMS(21, 25, 44));
	assert_int_equal(lab.p[0].st.state, ST(PARTNER_DOWN));	/* 3 ms later */
	assert_int_equal(lab.p[1].st.restart_state, ST(RECOVER));	/* D12 §9.14.2 */
	lab_run(&lab, HMS(21, 25, 45), HMS(21, 25, 46));
	fo_state_record(&lab.p[1].st, &rec);
	lab_kill(&lab, 1, HMS(21, 25, 47));		/* SIGTERM: just a FIN */
	assert_int_equal(lab.p[0].st.state, ST(PARTNER_DOWN));

	ss0 = lab.p[1].n_states;
	lab_start(&lab, 1, &c2, &rec, HMS(21, 25, 53));
	lab_connect(&lab, HMS(21, 25, 53));
	assert_int_equal(lab.p[1].st.state, ST(SHUTDOWN));
	assert_int_equal(fo_state_service(&lab.p[1].st), FO_SERVICE_NONE);
	lab_run(&lab, HMS(21, 25, 54), HMS(21, 26, 1));

	cmd.type = FO_EV_CMD_RECOVER;
	cmd.now = HMS(21, 26, 2);
	assert_int_equal(fo_state_handle(&lab.p[1].st, &cmd, &out), 0);
	lab_apply(&lab, 1, &out, HMS(21, 26, 2));
	lab_deliver(&lab, HMS(21, 26, 2));
	lab_run(&lab, HMS(21, 26, 3), HMS(21, 26, 3));
	lab_upddone(&lab, 1, HMS(21, 26, 4));

	expect_log(&lab.p[0], p0, p_log, N_OF(p_log));
	expect_log(&lab.p[1], s0, s_log, N_OF(s_log));
	expect_states(&lab.p[1], ss0, s_states, N_OF(s_states));
}

/* The draft's SHUTDOWN instead (shutdown_persists off): the restart goes to RECOVER by itself
 * (§9.14.2) and RECOVER-WAIT runs MCLT from the SHUTDOWN (§9.6.2). */
static void test_scenario_shutdown_draft(void **state)
{
	struct lab lab;
	struct fo_state_config c2 = cfg_of(SEC);
	struct fo_state_record rec;
	struct fo_state_output out;
	unsigned s0;
	const struct step s_log[] = {
		{ST(NORMAL), ST(SHUTDOWN), HMS(21, 25, 44)},
		{ST(RECOVER), ST(STARTUP), HMS(21, 25, 53)},
		{ST(STARTUP), ST(RECOVER), HMS(21, 25, 53)},
		{ST(RECOVER), ST(RECOVER_WAIT), HMS(21, 25, 55)},
		{ST(RECOVER_WAIT), ST(RECOVER_DONE), HMS(21, 26, 44)},
		{ST(RECOVER_DONE), ST(NORMAL), HMS(21, 26, 44)},
	};
	struct fo_state_event cmd = {.type = FO_EV_CMD_SHUTDOWN, .now = HMS(21, 25, 44)};

	(void)state;
	bring_up(&lab);
	lab_run(&lab, HMS(21, 22, 56), HMS(21, 25, 43));
	s0 = lab.p[1].n_log;
	assert_int_equal(fo_state_handle(&lab.p[1].st, &cmd, &out), 0);
	lab_apply(&lab, 1, &out, HMS(21, 25, 44));
	lab_deliver(&lab, HMS(21, 25, 44));
	fo_state_record(&lab.p[1].st, &rec);
	assert_int_equal(rec.state, ST(SHUTDOWN));
	assert_int_equal(rec.restart_state, ST(RECOVER));
	lab_kill(&lab, 1, HMS(21, 25, 47));
	lab_run(&lab, HMS(21, 25, 48), HMS(21, 25, 52));
	lab_start(&lab, 1, &c2, &rec, HMS(21, 25, 53));
	lab_connect(&lab, HMS(21, 25, 53));
	lab_run(&lab, HMS(21, 25, 54), HMS(21, 25, 54));
	lab_upddone(&lab, 1, HMS(21, 25, 55));
	lab_run(&lab, HMS(21, 25, 55), HMS(21, 26, 44));
	expect_log(&lab.p[1], s0, s_log, N_OF(s_log));
	assert_int_equal(lab.p[0].st.state, ST(NORMAL));
}

/* capture reject: S comes back with another relationship name; every 5 s CONNECTACK reject 8;
 * P stays COMM-INT and goes PARTNER-DOWN 20 s after 21:27:31 (21:27:51.738). */
static void test_scenario_reject(void **state)
{
	struct lab lab;
	struct fo_state_output out;
	struct fo_state_event rej = {.type = FO_EV_CONNECT_REJECTED, .reject_reason = 8};
	uint64_t t;
	unsigned p0;

	(void)state;
	bring_up(&lab);
	lab_run(&lab, HMS(21, 22, 56), HMS(21, 27, 30));
	p0 = lab.p[0].n_log;
	lab_kill(&lab, 1, HMS(21, 27, 31));
	for (t = HMS(21, 27, 32); t <= HMS(21, 27, 52); t++) {
		if (t >= HMS(21, 27, 34) && (t - HMS(21, 27, 34)) % 5 == 0) {
			assert_int_equal(event(&lab.p[0].st, FO_EV_LINK_UP, t, &out), 0);
			assert_int_equal(mask_of(&out), A(SEND_CONNECT));
			rej.now = t;
			assert_int_equal(fo_state_handle(&lab.p[0].st, &rej, &out), 0);
			assert_int_equal(mask_of(&out), A(CLOSE_LINK));
		}
		lab_tick(&lab, t);
	}
	assert_int_equal(lab.p[0].n_log - p0, 2);
	assert_int_equal(lab.p[0].log[p0 + 1].to, ST(PARTNER_DOWN));
	assert_int_equal(lab.p[0].log[p0 + 1].at, HMS(21, 27, 51));
	assert_int_equal(lab.p[0].st.last_reject, 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer_table),
		cmocka_unit_test(test_partner_down_ignores_startup),
		cmocka_unit_test(test_repeated_state),
		cmocka_unit_test(test_recover_to_conflict),
		cmocka_unit_test(test_unknown_partner_state),
		cmocka_unit_test(test_leave_startup),
		cmocka_unit_test(test_startup_timeout),
		cmocka_unit_test(test_comm_failed_table),
		cmocka_unit_test(test_upddone_table),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_recover_command_backdate),
		cmocka_unit_test(test_safe_period),
		cmocka_unit_test(test_recover_wait_timer),
		cmocka_unit_test(test_link_timers),
		cmocka_unit_test(test_clock_step),
		cmocka_unit_test(test_link_events),
		cmocka_unit_test(test_init_validation),
		cmocka_unit_test(test_record_roundtrip),
		cmocka_unit_test(test_service),
		cmocka_unit_test(test_service_server_role),
		cmocka_unit_test(test_wire_and_names),
		cmocka_unit_test(test_scenario_startup),
		cmocka_unit_test(test_scenario_fault),
		cmocka_unit_test(test_scenario_amnesia),
		cmocka_unit_test(test_scenario_partition),
		cmocka_unit_test(test_scenario_omshell),
		cmocka_unit_test(test_scenario_shutdown_draft),
		cmocka_unit_test(test_scenario_reject),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
