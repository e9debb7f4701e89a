/*
 * fo_state: the failover endpoint state machine (D12 = draft-ietf-dhc-failover-12 §9;
 * ISC = dhcpd 4.4.3 server/failover.c, as captured in reference/isc-peer/captures/).
 *
 * Design
 * ------
 * The machine keeps the draft's model: an endpoint state, the partner's last known state, and
 * "communications ok" (D12 §8.3: TCP up, CONNECT/CONNECTACK exchanged, a STATE received).
 * Four tables hold the rules that depend only on states:
 *   peer_rules[me][partner]  what a STATE from the partner does (comms restored, or the partner
 *                            changed state while connected): D12 §9.4.3, §9.5.2, §9.6.2,
 *                            §9.7.2, §9.8.4, §9.9.3, §9.10.3, §9.11.3, §9.12.3, with ISC's
 *                            refinements where the draft is silent;
 *   commfail_to[me]          the communications-failed transition (D12 Figure 9.2-1);
 *   service_of[me]           how DHCP clients are served (D12 §9.x.2 "Operation in ...");
 *   cmd_allowed[cmd]         which states accept which operator command.
 * Everything with a time (STARTUP timer, safe period, RECOVER-WAIT, tReceive/tSend, the link
 * start-up timeout) is in run_timers() and fo_state_next_deadline().
 *
 * The draft says a partner state change while connected goes "through the communications-
 * failed transition and then the communications-ok one" (§9.2), but only for changes "from
 * that expected" (§9.8.4): applied literally it would bounce POTENTIAL-CONFLICT through
 * RESOLUTION-INTERRUPTED every time the partner joins it. Like ISC, the table is therefore
 * written per (our state, partner state), with the draft's detour already resolved.
 *
 * start-time-of-state (STOS) follows ISC's dhcp_failover_set_state() because it is visible on
 * the wire and RECOVER-WAIT is timed from it: STOS becomes the time of the transition, except
 * that it is kept when entering RECOVER-WAIT, when entering STARTUP and when leaving STARTUP;
 * and an operator's SHUTDOWN -> RECOVER with the partner in PARTNER-DOWN and nothing pending
 * back-dates it by MCLT. `since` keeps the real time of entry for the timers that ISC runs
 * from the transition (safe period, STARTUP).
 */
#include <errno.h>
#include <string.h>

#include "fo_state.h"

/* ---------------------------------------------------------------------------------------- */
/* Names                                                                                      */

static const char *const state_names[FO_STATE_COUNT] = {
	[FO_STATE_UNKNOWN] = "unknown-state",
	[FO_STATE_STARTUP] = "startup",
	[FO_STATE_NORMAL] = "normal",
	[FO_STATE_COMM_INT] = "communications-interrupted",
	[FO_STATE_PARTNER_DOWN] = "partner-down",
	[FO_STATE_POTENTIAL_CONFLICT] = "potential-conflict",
	[FO_STATE_RECOVER] = "recover",
	[FO_STATE_PAUSED] = "paused",
	[FO_STATE_SHUTDOWN] = "shutdown",
	[FO_STATE_RECOVER_DONE] = "recover-done",
	[FO_STATE_RESOLUTION_INT] = "resolution-interrupted",
	[FO_STATE_CONFLICT_DONE] = "conflict-done",
	[FO_STATE_RECOVER_WAIT] = "recover-wait",
};

static const char *const reason_names[FO_REASON_COUNT] = {
	[FO_REASON_START] = "start",
	[FO_REASON_STARTUP_TIMEOUT] = "startup-timeout",
	[FO_REASON_COMM_OK] = "communications-ok",
	[FO_REASON_PARTNER_STATE] = "partner-state",
	[FO_REASON_COMM_FAILED] = "communications-failed",
	[FO_REASON_RECEIVE_TIMEOUT] = "receive-timeout",
	[FO_REASON_SAFE_PERIOD] = "safe-period",
	[FO_REASON_UPDDONE] = "update-done",
	[FO_REASON_MCLT_ELAPSED] = "mclt-elapsed",
	[FO_REASON_CMD_PARTNER_DOWN] = "command-partner-down",
	[FO_REASON_CMD_SHUTDOWN] = "command-shutdown",
	[FO_REASON_CMD_PAUSE] = "command-pause",
	[FO_REASON_CMD_RECOVER] = "command-recover",
	[FO_REASON_PROTOCOL_ERROR] = "protocol-error",
};

static const char *const action_names[FO_ACT_COUNT] = {
	[FO_ACT_PERSIST] = "persist",
	[FO_ACT_SEND_CONNECT] = "send-connect",
	[FO_ACT_SEND_STATE] = "send-state",
	[FO_ACT_SEND_UPDREQ] = "send-updreq",
	[FO_ACT_SEND_UPDREQALL] = "send-updreqall",
	[FO_ACT_SEND_UPDATES] = "send-updates",
	[FO_ACT_SEND_POOLREQ] = "send-poolreq",
	[FO_ACT_SEND_CONTACT] = "send-contact",
	[FO_ACT_SEND_DISCONNECT] = "send-disconnect",
	[FO_ACT_CLOSE_LINK] = "close-link",
	[FO_ACT_SERVICE] = "service",
	[FO_ACT_ALARM] = "alarm",
};

static const char *const event_names[FO_EV_COUNT] = {
	[FO_EV_LINK_UP] = "link-up",
	[FO_EV_CONNECT_OK] = "connect-ok",
	[FO_EV_CONNECT_REJECTED] = "connect-rejected",
	[FO_EV_LINK_DOWN] = "link-down",
	[FO_EV_PARTNER_STATE] = "partner-state",
	[FO_EV_MSG_RECEIVED] = "message-received",
	[FO_EV_MSG_SENT] = "message-sent",
	[FO_EV_UPDDONE_RECEIVED] = "upddone-received",
	[FO_EV_UPDDONE_SENT] = "upddone-sent",
	[FO_EV_CMD_PARTNER_DOWN] = "command-partner-down",
	[FO_EV_CMD_SHUTDOWN] = "command-shutdown",
	[FO_EV_CMD_PAUSE] = "command-pause",
	[FO_EV_CMD_RECOVER] = "command-recover",
	[FO_EV_TICK] = "tick",
};

static const char *const service_names[] = {
	[FO_SERVICE_NONE] = "none",
	[FO_SERVICE_RENEW_ONLY] = "renew-only",
	[FO_SERVICE_BALANCED] = "balanced",
	[FO_SERVICE_ALL] = "all",
	[FO_SERVICE_PARTNER_DOWN] = "partner-down",
};

#define NAME(tab, i) ((i) < sizeof(tab) / sizeof((tab)[0]) && (tab)[i] ? (tab)[i] : "unknown")

const char *fo_state_str(unsigned s)
{
	return NAME(state_names, s);
}

const char *fo_state_reason_str(unsigned r)
{
	return NAME(reason_names, r);
}

const char *fo_state_action_str(unsigned a)
{
	return NAME(action_names, a);
}

const char *fo_state_event_str(unsigned e)
{
	return NAME(event_names, e);
}

const char *fo_service_str(unsigned s)
{
	return NAME(service_names, s);
}

const char *fo_role_str(unsigned r)
{
	switch (r) {
	case FO_ROLE_PRIMARY:
		return "primary";
	case FO_ROLE_SECONDARY:
		return "secondary";
	default:
		return "unknown";
	}
}

const char *fo_mode_str(unsigned m)
{
	switch (m) {
	case FO_MODE_LOAD_BALANCE:
		return "load-balance";
	case FO_MODE_HOT_STANDBY:
		return "hot-standby";
	default:
		return "unknown";
	}
}

/* ---------------------------------------------------------------------------------------- */
/* Wire values                                                                                */

uint8_t fo_state_to_wire(enum fo_endpoint_state s)
{
	if (s == FO_STATE_RECOVER_WAIT) {
		return FO_STATE_WIRE_RECOVER_WAIT;	/* ISC; D12 §9.6 has no code for it */
	}
	if ((unsigned)s >= FO_STATE_COUNT) {
		return 0;
	}
	return (uint8_t)s;
}

enum fo_endpoint_state fo_state_from_wire(uint8_t v)
{
	if (v == FO_STATE_WIRE_RECOVER_WAIT) {
		return FO_STATE_RECOVER_WAIT;
	}
	/* 12 is our internal RECOVER-WAIT, not a wire value: nobody sends it. */
	if (v >= FO_STATE_RECOVER_WAIT) {
		return FO_STATE_UNKNOWN;
	}
	return (enum fo_endpoint_state)v;
}

/* ---------------------------------------------------------------------------------------- */
/* The tables                                                                                 */

#define STAY FO_STATE_UNKNOWN	/* a rule target of 0 means "no transition" */

/* Extra actions of a peer rule. */
#define R_UPDREQ 0x01		/* RECOVER: send UPDREQ(ALL) unless one is outstanding (§9.5.2) */
#define R_SEC_UPDREQ 0x02	/* secondary in POTENTIAL-CONFLICT: UPDREQ (§9.10.3) */

struct peer_rule {
	uint8_t to;		/* enum fo_endpoint_state, STAY = none */
	uint8_t act;		/* R_* */
};

#define ST(x) FO_STATE_##x

/*
 * peer_rules[our state][partner state]: what a STATE from the partner does while
 * communications are ok (first STATE on a connection, or a changed one). Missing entries
 * are STAY. STARTUP never looks here (leave_startup() first resolves it), nor does UNKNOWN.
 */
static const struct peer_rule peer_rules[FO_STATE_COUNT][FO_STATE_COUNT] = {
	/*
	 * NORMAL (D12 §9.8.4): PAUSED -> COMM-INT, SHUTDOWN -> PARTNER-DOWN; any other unexpected
	 * change goes through COMM-INT and its comms-ok rule, written out here. NORMAL,
	 * COMM-INT and RECOVER-DONE come back to NORMAL that way, i.e. stay.
	 */
	[ST(NORMAL)] = {
		[ST(PARTNER_DOWN)] = {ST(POTENTIAL_CONFLICT), 0},
		/* ISC goes to SHUTDOWN on these three ("should never occur"). */
		[ST(POTENTIAL_CONFLICT)] = {ST(POTENTIAL_CONFLICT), 0},
		[ST(RESOLUTION_INT)] = {ST(POTENTIAL_CONFLICT), 0},
		[ST(CONFLICT_DONE)] = {ST(POTENTIAL_CONFLICT), 0},
		/* ISC: an amnesic partner sends us to PARTNER-DOWN (D12 detour: stay COMM-INT). */
		[ST(RECOVER)] = {ST(PARTNER_DOWN), 0},
		/* D12 detour ends in COMM-INT; ISC stays NORMAL. */
		[ST(RECOVER_WAIT)] = {ST(COMM_INT), 0},
		[ST(PAUSED)] = {ST(COMM_INT), 0},
		[ST(SHUTDOWN)] = {ST(PARTNER_DOWN), 0},
	},
	/* COMMUNICATIONS-INTERRUPTED (D12 §9.9.3). */
	[ST(COMM_INT)] = {
		[ST(NORMAL)] = {ST(NORMAL), 0},
		[ST(COMM_INT)] = {ST(NORMAL), 0},
		[ST(RECOVER_DONE)] = {ST(NORMAL), 0},
		[ST(PARTNER_DOWN)] = {ST(POTENTIAL_CONFLICT), 0},
		[ST(POTENTIAL_CONFLICT)] = {ST(POTENTIAL_CONFLICT), 0},
		[ST(CONFLICT_DONE)] = {ST(POTENTIAL_CONFLICT), 0},
		[ST(RESOLUTION_INT)] = {ST(POTENTIAL_CONFLICT), 0},
		/*
		 * ISC (amnesia capture 21:26:20.303): partner in RECOVER -> PARTNER-DOWN at once.
		 * D12 says stay. The partner is unresponsive in RECOVER, so the move is safe, and
		 * it is what an ISC partner expects of us.
		 */
		[ST(RECOVER)] = {ST(PARTNER_DOWN), 0},
		[ST(SHUTDOWN)] = {ST(PARTNER_DOWN), 0},
		/* PAUSED: stay (D12, ISC). RECOVER-WAIT: stay (D12; ISC goes NORMAL). */
	},
	/* PARTNER-DOWN (D12 §9.4.3 = ISC). A STATE with the STARTUP flag is ignored (code). */
	[ST(PARTNER_DOWN)] = {
		[ST(NORMAL)] = {ST(POTENTIAL_CONFLICT), 0},
		[ST(COMM_INT)] = {ST(POTENTIAL_CONFLICT), 0},
		[ST(PARTNER_DOWN)] = {ST(POTENTIAL_CONFLICT), 0},
		[ST(POTENTIAL_CONFLICT)] = {ST(POTENTIAL_CONFLICT), 0},
		[ST(RESOLUTION_INT)] = {ST(POTENTIAL_CONFLICT), 0},
		[ST(CONFLICT_DONE)] = {ST(POTENTIAL_CONFLICT), 0},
		[ST(RECOVER_DONE)] = {ST(NORMAL), 0},
		/* RECOVER, RECOVER-WAIT, SHUTDOWN, PAUSED: stay. */
	},
	/* POTENTIAL-CONFLICT (D12 §9.10.3, completed from ISC). */
	[ST(POTENTIAL_CONFLICT)] = {
		/* Impossible during resolution: ISC shuts down ("panic"), D12 is silent. */
		[ST(NORMAL)] = {ST(SHUTDOWN), 0},
		/* The primary finished its half: the secondary asks for the primary's updates. */
		[ST(CONFLICT_DONE)] = {STAY, R_SEC_UPDREQ},
		[ST(SHUTDOWN)] = {ST(PARTNER_DOWN), 0},
		/*
		 * RECOVER: stay; the partner joins us (D12 §9.5.2). ISC moves to RECOVER itself.
		 * Everything else: stay.
		 */
	},
	/* RECOVER (D12 §9.5.2). Every other partner state: ask for the updates and wait. */
	[ST(RECOVER)] = {
		[ST(STARTUP)] = {STAY, R_UPDREQ},
		/* ISC: NORMAL -> POTENTIAL-CONFLICT. */
		[ST(NORMAL)] = {STAY, R_UPDREQ},
		[ST(COMM_INT)] = {STAY, R_UPDREQ},
		[ST(PARTNER_DOWN)] = {STAY, R_UPDREQ},
		[ST(POTENTIAL_CONFLICT)] = {ST(POTENTIAL_CONFLICT), 0},
		[ST(RECOVER)] = {STAY, R_UPDREQ},
		[ST(PAUSED)] = {STAY, R_UPDREQ},
		/* ISC: SHUTDOWN -> PARTNER-DOWN, with an incomplete database; we first recover. */
		[ST(SHUTDOWN)] = {STAY, R_UPDREQ},
		[ST(RECOVER_DONE)] = {STAY, R_UPDREQ},
		[ST(RESOLUTION_INT)] = {ST(POTENTIAL_CONFLICT), 0},
		[ST(CONFLICT_DONE)] = {ST(POTENTIAL_CONFLICT), 0},
		[ST(RECOVER_WAIT)] = {STAY, R_UPDREQ},
	},
	/* RECOVER-WAIT (D12 §9.6.2, ISC): only the timer moves it. */
	[ST(RECOVER_WAIT)] = {{0, 0}},
	/* RECOVER-DONE (D12 §9.7.2); SHUTDOWN -> PARTNER-DOWN from ISC. */
	[ST(RECOVER_DONE)] = {
		[ST(NORMAL)] = {ST(NORMAL), 0},
		[ST(RECOVER_DONE)] = {ST(NORMAL), 0},
		[ST(SHUTDOWN)] = {ST(PARTNER_DOWN), 0},
	},
	/* RESOLUTION-INTERRUPTED (D12 §9.11.3: comms restored -> POTENTIAL-CONFLICT; ISC keeps
	 * PAUSED as stay and SHUTDOWN -> PARTNER-DOWN). */
	[ST(RESOLUTION_INT)] = {
		[ST(NORMAL)] = {ST(POTENTIAL_CONFLICT), 0},
		[ST(COMM_INT)] = {ST(POTENTIAL_CONFLICT), 0},
		[ST(PARTNER_DOWN)] = {ST(POTENTIAL_CONFLICT), 0},
		[ST(POTENTIAL_CONFLICT)] = {ST(POTENTIAL_CONFLICT), 0},
		[ST(RECOVER)] = {ST(POTENTIAL_CONFLICT), 0},
		[ST(SHUTDOWN)] = {ST(PARTNER_DOWN), 0},
		[ST(RECOVER_DONE)] = {ST(POTENTIAL_CONFLICT), 0},
		[ST(RESOLUTION_INT)] = {ST(POTENTIAL_CONFLICT), 0},
		[ST(CONFLICT_DONE)] = {ST(POTENTIAL_CONFLICT), 0},
		[ST(RECOVER_WAIT)] = {ST(POTENTIAL_CONFLICT), 0},
	},
	/*
	 * CONFLICT-DONE (D12 §9.12.3): the secondary reaching NORMAL ends it. SHUTDOWN ->
	 * PARTNER-DOWN as everywhere else (ISC moves to SHUTDOWN itself, and exits on any other
	 * partner state; we wait, the partner's own rules bring it to POTENTIAL-CONFLICT).
	 */
	[ST(CONFLICT_DONE)] = {
		[ST(NORMAL)] = {ST(NORMAL), 0},
		[ST(SHUTDOWN)] = {ST(PARTNER_DOWN), 0},
	},
	/* SHUTDOWN, PAUSED: no automatic transitions (D12 §9.13.2, §9.14.3, ISC). */
	[ST(SHUTDOWN)] = {{0, 0}},
	[ST(PAUSED)] = {{0, 0}},
};

/*
 * The communications-failed transition (D12 Figure 9.2-1; §9.3.2 step 2 uses it for the
 * previous-state at start-up). States not listed keep their state: RECOVER (§9.5.2),
 * RECOVER-WAIT (§9.6.2, the timer keeps running), RECOVER-DONE (§9.7.2), CONFLICT-DONE
 * (§9.12.3) and the states that are already "communications failed".
 */
static const uint8_t commfail_to[FO_STATE_COUNT] = {
	[ST(NORMAL)] = ST(COMM_INT),
	[ST(POTENTIAL_CONFLICT)] = ST(RESOLUTION_INT),
};

/*
 * DHCP service per state (D12 §9.x.2). ISC answers nobody in RECOVER-DONE, RESOLUTION-
 * INTERRUPTED and CONFLICT-DONE and stops answering when the partner is in PARTNER-DOWN or
 * resolving conflicts ("peer demands"); we follow the draft, whose states make those cases
 * safe already. Hot standby: fo_state_service().
 */
static const uint8_t service_of[FO_STATE_COUNT] = {
	[ST(NORMAL)] = FO_SERVICE_BALANCED,
	[ST(COMM_INT)] = FO_SERVICE_ALL,
	[ST(PARTNER_DOWN)] = FO_SERVICE_PARTNER_DOWN,
	[ST(RECOVER_DONE)] = FO_SERVICE_RENEW_ONLY,
	[ST(RESOLUTION_INT)] = FO_SERVICE_ALL,
	[ST(CONFLICT_DONE)] = FO_SERVICE_ALL,
};

#define BIT(s) (1u << (s))

/* States that accept an operator command. */
static const unsigned cmd_allowed[FO_EV_COUNT] = {
	/* D12 §9.8.4, §9.9.3, §9.11.3; Windows -PartnerDown (from COMM-INT). */
	[FO_EV_CMD_PARTNER_DOWN] = BIT(ST(NORMAL)) | BIT(ST(COMM_INT)) | BIT(ST(RESOLUTION_INT)),
	/* Any state but the target (ISC's OMAPI local-state accepts anything). */
	[FO_EV_CMD_SHUTDOWN] = (BIT(FO_STATE_COUNT) - 1) & ~BIT(ST(SHUTDOWN)) & ~BIT(ST(UNKNOWN)),
	[FO_EV_CMD_PAUSE] = (BIT(FO_STATE_COUNT) - 1) & ~BIT(ST(SHUTDOWN)) & ~BIT(ST(PAUSED)) &
			    ~BIT(ST(UNKNOWN)),
	/* ISC omshell "local-state = 6" out of SHUTDOWN (captures, omshell). */
	[FO_EV_CMD_RECOVER] = BIT(ST(SHUTDOWN)) | BIT(ST(PAUSED)),
};

/* ---------------------------------------------------------------------------------------- */
/* Output                                                                                     */

struct run {
	struct fo_state *st;
	struct fo_state_output *out;
	uint64_t now;
};

static void out_reset(struct fo_state_output *out)
{
	memset(out, 0, sizeof(*out));
}

static bool is_send(enum fo_state_action_type t)
{
	return t >= FO_ACT_SEND_CONNECT && t <= FO_ACT_SEND_DISCONNECT && t != FO_ACT_SEND_UPDATES;
}

static void add(struct run *r, const struct fo_state_action *a)
{
	struct fo_state_output *out = r->out;

	if (out->n_actions >= FO_STATE_MAX_ACTIONS) {
		out->overflow = true;
		return;
	}
	out->actions[out->n_actions++] = *a;
	if (is_send(a->type)) {
		r->st->last_tx = r->now;
	}
}

static void act(struct run *r, enum fo_state_action_type t)
{
	struct fo_state_action a = {.type = t};

	add(r, &a);
}

static void act_state(struct run *r)
{
	struct fo_state_action a = {.type = FO_ACT_SEND_STATE, .state = r->st->state};

	fo_state_wire(r->st, &a.wire_state, &a.flags, &a.stos);
	add(r, &a);
}

static void act_service(struct run *r, enum fo_service s)
{
	struct fo_state_action a = {.type = FO_ACT_SERVICE, .service = s};

	add(r, &a);
}

static void act_disconnect(struct run *r, uint8_t reason)
{
	struct fo_state_action a = {.type = FO_ACT_SEND_DISCONNECT, .reject_reason = reason};

	add(r, &a);
}

static void note(struct run *r, enum fo_endpoint_state from, enum fo_endpoint_state to,
		 enum fo_state_reason why)
{
	struct fo_state_output *out = r->out;

	if (out->n_transitions >= FO_STATE_MAX_TRANSITIONS) {
		out->overflow = true;
		return;
	}
	out->transitions[out->n_transitions++] = (struct fo_state_transition){
		.from = from, .to = to, .reason = why, .at = r->now};
}

/* ---------------------------------------------------------------------------------------- */
/* Transitions                                                                                */

bool fo_state_active(const struct fo_state_config *cfg)
{
	switch (cfg->server_role) {
	case FO_SERVER_ROLE_ACTIVE:
		return true;
	case FO_SERVER_ROLE_STANDBY:
		return false;
	default:
		return cfg->role == FO_ROLE_PRIMARY;
	}
}

enum fo_service fo_state_service(const struct fo_state *st)
{
	if ((unsigned)st->state >= FO_STATE_COUNT) {
		return FO_SERVICE_NONE;
	}
	/*
	 * Hot standby (Windows): in NORMAL the active server serves everyone and the standby
	 * nobody, whichever is the primary; the other states are as in load balance.
	 */
	if (st->state == FO_STATE_NORMAL && st->cfg.mode == FO_MODE_HOT_STANDBY) {
		return fo_state_active(&st->cfg) ? FO_SERVICE_ALL : FO_SERVICE_NONE;
	}
	return (enum fo_service)service_of[st->state];
}

static void request_updates(struct run *r, bool all)
{
	act(r, all ? FO_ACT_SEND_UPDREQALL : FO_ACT_SEND_UPDREQ);
	r->st->upd_requested = true;
}

static void go(struct run *r, enum fo_endpoint_state to, enum fo_state_reason why)
{
	struct fo_state *st = r->st;
	enum fo_endpoint_state from = st->state;
	enum fo_service old_svc = fo_state_service(st), new_svc;
	bool backdate = st->backdate_ok;

	st->backdate_ok = false;
	if (to == from || to == STAY) {
		return;
	}
	if (old_svc != FO_SERVICE_NONE) {
		st->last_op = r->now;
	}

	/* STOS, as ISC dhcp_failover_set_state() (see the design note). */
	if (to != ST(RECOVER_WAIT) && to != ST(STARTUP) && from != ST(STARTUP)) {
		st->stos = r->now;
	}
	if (to == ST(RECOVER) && from == ST(SHUTDOWN) && st->partner == ST(PARTNER_DOWN) &&
	    backdate) {
		/* ISC: an administratively stopped server with nothing pending skips the wait. */
		st->stos = r->now > st->mclt ? r->now - st->mclt : 0;
	}
	st->state = to;
	st->since = r->now;
	note(r, from, to, why);

	/* D12 §9.2: record the state in stable storage, then tell the partner. */
	act(r, FO_ACT_PERSIST);
	if (st->connected) {
		act_state(r);
	}

	switch (to) {
	case ST(NORMAL):
		/* D12 §9.8.1: send every unacked update, then (secondary) ask for addresses. */
		act(r, FO_ACT_SEND_UPDATES);
		if (st->cfg.role == FO_ROLE_SECONDARY) {
			act(r, FO_ACT_SEND_POOLREQ);
		}
		break;
	case ST(COMM_INT):
		if (from == ST(NORMAL)) {
			act(r, FO_ACT_ALARM);	/* D12 §9.9.1 */
		}
		break;
	case ST(RESOLUTION_INT):
		act(r, FO_ACT_ALARM);		/* D12 §9.11.1 */
		break;
	case ST(POTENTIAL_CONFLICT):
		/*
		 * D12 §9.10.1: the primary asks first, the secondary waits (ISC the same). A
		 * request of an earlier phase (RECOVER) no longer counts.
		 */
		st->upd_requested = false;
		if (st->cfg.role == FO_ROLE_PRIMARY && st->comm_ok) {
			request_updates(r, false);
		}
		break;
	case ST(RECOVER):
		/*
		 * D12 §9.5.2: UPDREQALL when the storage was lost (or never existed), else
		 * UPDREQ. ISC always sends UPDREQALL; both are valid to every peer.
		 */
		if (st->comm_ok) {
			request_updates(r, st->updreqall);
		}
		break;
	case ST(PAUSED):
		/* D12 §9.13: announce (done above), then close the connection. */
		if (st->link_up) {
			act(r, FO_ACT_CLOSE_LINK);
			st->link_up = st->connected = st->comm_ok = st->upd_requested = false;
		}
		break;
	default:
		break;
	}

	new_svc = fo_state_service(st);
	if (new_svc != old_svc) {
		act_service(r, new_svc);
	}

	/* Conditions that already hold on entry. */
	if (to == ST(RECOVER_WAIT) && st->stos + st->mclt <= r->now) {
		go(r, ST(RECOVER_DONE), FO_REASON_MCLT_ELAPSED);	/* ISC */
	} else if (to == ST(RECOVER_DONE) && st->comm_ok &&
		   (st->partner == ST(NORMAL) || st->partner == ST(RECOVER_DONE))) {
		go(r, ST(NORMAL), FO_REASON_PARTNER_STATE);		/* D12 §9.7.2 */
	}
}

static void apply_peer_rule(struct run *r, enum fo_state_reason why)
{
	struct fo_state *st = r->st;
	const struct peer_rule *rule;

	if (st->state == ST(SHUTDOWN) && st->partner == ST(PARTNER_DOWN)) {
		/* D12 §9.14.2: restart in RECOVER, since the partner has taken over. */
		if (st->restart_state != ST(RECOVER)) {
			st->restart_state = ST(RECOVER);
			act(r, FO_ACT_PERSIST);
		}
		return;
	}
	if (st->state == ST(PARTNER_DOWN) && st->partner_startup) {
		return;	/* D12 §9.4.3: ignore STATE with the STARTUP flag */
	}
	rule = &peer_rules[st->state][st->partner];
	if ((rule->act & R_UPDREQ) && !st->upd_requested) {
		request_updates(r, st->updreqall);
	}
	if ((rule->act & R_SEC_UPDREQ) && st->cfg.role == FO_ROLE_SECONDARY &&
	    !st->upd_requested) {
		request_updates(r, false);
	}
	if (rule->to != STAY) {
		go(r, (enum fo_endpoint_state)rule->to,
		   rule->to == ST(SHUTDOWN) ? FO_REASON_PROTOCOL_ERROR : why);
	}
}

/*
 * D12 §9.3.2 step 5: communications are ok; resume previous-state, except that a partner in
 * PARTNER-DOWN decides between RECOVER (it went down after we last served) and
 * POTENTIAL-CONFLICT (we served after it went down). ISC makes that choice only for a saved
 * NORMAL state and always picks RECOVER; the draft's comparison covers ISC's captured cases
 * and the partition one. A server that was recovering (RECOVER-WAIT, RECOVER-DONE) carries on,
 * and a sticky SHUTDOWN (ISC) stays.
 */
static void leave_startup(struct run *r, enum fo_state_reason why)
{
	struct fo_state *st = r->st;
	enum fo_endpoint_state cur = st->resume;

	if (st->partner == ST(PARTNER_DOWN) && cur != ST(SHUTDOWN) &&
	    cur != ST(RECOVER_WAIT) && cur != ST(RECOVER_DONE)) {
		/* last_op 0: never served. Equal times count as "later": the partner entering
		 * PARTNER-DOWN in the second we stopped is our SHUTDOWN handshake. */
		cur = st->partner_stos >= st->last_op ? ST(RECOVER) : ST(POTENTIAL_CONFLICT);
	}
	go(r, cur, why);
	apply_peer_rule(r, why);
}

static void link_lost(struct run *r, enum fo_state_reason why)
{
	struct fo_state *st = r->st;
	bool was_ok = st->comm_ok;

	st->link_up = st->connected = st->comm_ok = false;
	st->upd_requested = false;
	st->partner_startup = false;
	if (was_ok && commfail_to[st->state] != STAY) {
		go(r, (enum fo_endpoint_state)commfail_to[st->state], why);
	}
}

static uint32_t tsend_interval(const struct fo_state *st)
{
	/* ISC: a third of the partner's receive-timer (D12: 33 % / 20 %); Windows: a third. */
	uint32_t t = st->partner_receive_timer ? st->partner_receive_timer
					       : st->cfg.max_response_delay;

	return t / 3 ? t / 3 : 1;
}

static void run_timers(struct run *r)
{
	struct fo_state *st = r->st;
	uint64_t now = r->now;

	if (st->link_up && !st->connected && now >= st->link_deadline) {
		act(r, FO_ACT_CLOSE_LINK);	/* ISC "link startup timeout" */
		link_lost(r, FO_REASON_COMM_FAILED);
	}
	if (st->connected) {
		if (now >= st->last_rx + st->cfg.max_response_delay) {
			/* D12 §8.3: tReceive expired, DISCONNECT with reason 17 and drop. */
			act_disconnect(r, FO_STATE_DISCONNECT_NO_TRAFFIC);
			act(r, FO_ACT_CLOSE_LINK);
			link_lost(r, FO_REASON_RECEIVE_TIMEOUT);
		} else if (now >= st->last_tx + tsend_interval(st)) {
			act(r, FO_ACT_SEND_CONTACT);
		}
	}

	switch (st->state) {
	case ST(STARTUP):
		if (now >= st->since + st->cfg.startup_time) {
			/* D12 §9.3.2 step 6: go to previous-state (ISC does); a new server may
			 * be configured to go to PARTNER-DOWN instead (step 1). */
			enum fo_endpoint_state to = st->resume;

			if (st->cfg.startup_partner_down && st->fresh) {
				to = ST(PARTNER_DOWN);
			}
			go(r, to, FO_REASON_STARTUP_TIMEOUT);
			if (to == ST(PARTNER_DOWN) && st->state == to) {
				/* Not a resumed state: PARTNER-DOWN (and its MCLT) starts now. */
				st->stos = now;
			}
		}
		break;
	case ST(COMM_INT):
		if (st->cfg.safe_period && now >= st->since + st->cfg.safe_period) {
			go(r, ST(PARTNER_DOWN), FO_REASON_SAFE_PERIOD);	/* D12 §10 */
		}
		break;
	case ST(RECOVER_WAIT):
		/* D12 §9.6.2, ISC: time-of-failure (STOS) + MCLT; runs with comms down too. */
		if (now >= st->stos + st->mclt) {
			go(r, ST(RECOVER_DONE), FO_REASON_MCLT_ELAPSED);
		}
		break;
	default:
		break;
	}
}

uint64_t fo_state_next_deadline(const struct fo_state *st)
{
	uint64_t d = UINT64_MAX;

#define EARLIER(t) do { if ((t) < d) { d = (t); } } while (0)
	if (st->link_up && !st->connected) {
		EARLIER(st->link_deadline);
	}
	if (st->connected) {
		EARLIER(st->last_rx + st->cfg.max_response_delay);
		EARLIER(st->last_tx + tsend_interval(st));
	}
	switch (st->state) {
	case ST(STARTUP):
		EARLIER(st->since + st->cfg.startup_time);
		break;
	case ST(COMM_INT):
		if (st->cfg.safe_period) {
			EARLIER(st->since + st->cfg.safe_period);
		}
		break;
	case ST(RECOVER_WAIT):
		EARLIER(st->stos + st->mclt);
		break;
	default:
		break;
	}
#undef EARLIER
	return d;
}

/* ---------------------------------------------------------------------------------------- */
/* Events                                                                                     */

static int on_partner_state(struct run *r, const struct fo_state_event *ev)
{
	struct fo_state *st = r->st;
	enum fo_endpoint_state p = fo_state_from_wire(ev->wire_state);
	bool startup = ev->flags & FO_STATE_FLAG_STARTUP;
	bool first = !st->comm_ok;
	bool changed;

	if (!st->connected) {
		return -ENOTCONN;
	}
	if (p == ST(UNKNOWN)) {
		/* ISC shuts down on an unknown state; we ignore the message (and count it). */
		st->n_spurious++;
		return 0;
	}
	changed = first || p != st->partner || (st->partner_startup && !startup);
	st->comm_ok = true;
	st->partner = p;
	st->partner_stos = ev->stos;
	st->partner_startup = startup;
	if (!changed) {
		return 0;
	}
	if (st->state == ST(STARTUP)) {
		leave_startup(r, first ? FO_REASON_COMM_OK : FO_REASON_PARTNER_STATE);
	} else {
		apply_peer_rule(r, first ? FO_REASON_COMM_OK : FO_REASON_PARTNER_STATE);
	}
	return 0;
}

static int on_upddone(struct run *r)
{
	struct fo_state *st = r->st;

	if (!st->connected) {
		return -ENOTCONN;
	}
	if (!st->upd_requested) {
		st->n_spurious++;
		return 0;
	}
	st->upd_requested = false;
	switch (st->state) {
	case ST(RECOVER):
		st->updreqall = false;
		/*
		 * D12 §9.5.2 -> RECOVER-WAIT. ISC goes straight to RECOVER-DONE when
		 * time-of-failure + MCLT has passed, or when the partner is recovering too (a new
		 * pair: D12 §9.6.2 lets the partner's information skip the wait).
		 */
		if (st->stos + st->mclt > r->now && st->partner != ST(RECOVER) &&
		    st->partner != ST(RECOVER_DONE)) {
			go(r, ST(RECOVER_WAIT), FO_REASON_UPDDONE);
		} else {
			go(r, ST(RECOVER_DONE), FO_REASON_UPDDONE);
		}
		break;
	case ST(POTENTIAL_CONFLICT):
		/*
		 * D12 §9.10.3: primary -> CONFLICT-DONE, secondary -> NORMAL. As ISC, the
		 * secondary's UPDDONE counts only once the primary is in CONFLICT-DONE, and a
		 * "secondary in CONFLICT-DONE" is ignored (ISC shuts down).
		 */
		if (st->cfg.role == FO_ROLE_PRIMARY && st->partner != ST(CONFLICT_DONE)) {
			go(r, ST(CONFLICT_DONE), FO_REASON_UPDDONE);
		} else if (st->cfg.role == FO_ROLE_SECONDARY &&
			   st->partner == ST(CONFLICT_DONE)) {
			go(r, ST(NORMAL), FO_REASON_UPDDONE);
		} else {
			st->n_spurious++;
		}
		break;
	default:
		st->n_spurious++;	/* ISC: "shouldn't happen" */
		break;
	}
	return 0;
}

static int on_command(struct run *r, const struct fo_state_event *ev)
{
	struct fo_state *st = r->st;
	enum fo_endpoint_state before = st->state == ST(STARTUP) ? st->resume : st->state;

	if (!(cmd_allowed[ev->type] & BIT(st->state))) {
		return -EPERM;
	}
	switch (ev->type) {
	case FO_EV_CMD_PARTNER_DOWN:
		go(r, ST(PARTNER_DOWN), FO_REASON_CMD_PARTNER_DOWN);
		break;
	case FO_EV_CMD_SHUTDOWN:
		/* D12 §9.14.1: remember the state to restart in. */
		st->restart_state = st->state == ST(PAUSED) ? st->restart_state : before;
		go(r, ST(SHUTDOWN), FO_REASON_CMD_SHUTDOWN);
		break;
	case FO_EV_CMD_PAUSE:
		st->restart_state = before;	/* D12 §9.13.1 */
		go(r, ST(PAUSED), FO_REASON_CMD_PAUSE);
		break;
	case FO_EV_CMD_RECOVER:
		st->updreqall = ev->storage_lost;
		st->backdate_ok = !ev->updates_pending;
		go(r, ST(RECOVER), FO_REASON_CMD_RECOVER);
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

int fo_state_handle(struct fo_state *st, const struct fo_state_event *ev,
		    struct fo_state_output *out)
{
	struct run r = {.st = st, .out = out, .now = ev->now};

	out_reset(out);
	if ((unsigned)ev->type >= FO_EV_COUNT) {
		return -EINVAL;
	}
	if (fo_state_service(st) != FO_SERVICE_NONE) {
		st->last_op = r.now;	/* served until now */
	}

	switch (ev->type) {
	case FO_EV_LINK_UP:
		if (st->link_up) {
			return -EALREADY;
		}
		if (st->state == ST(PAUSED)) {
			act(&r, FO_ACT_CLOSE_LINK);	/* going down: no new links */
			return 0;
		}
		st->link_up = true;
		st->connected = st->comm_ok = st->upd_requested = false;
		st->link_deadline = r.now + FO_STATE_LINK_TIMEOUT;
		st->last_rx = st->last_tx = r.now;
		if (st->cfg.role == FO_ROLE_PRIMARY) {
			act(&r, FO_ACT_SEND_CONNECT);	/* D12 §8.2: only the primary */
		}
		return 0;
	case FO_EV_CONNECT_OK:
		if (!st->link_up) {
			return -ENOTCONN;
		}
		if (st->connected) {
			return -EALREADY;	/* ISC answers a second CONNECT with reject 7 */
		}
		st->connected = true;
		st->last_rx = r.now;
		if (ev->partner_receive_timer) {
			st->partner_receive_timer = ev->partner_receive_timer;
		}
		if (st->cfg.role == FO_ROLE_SECONDARY && ev->mclt && ev->mclt != st->mclt) {
			/* D12 §7.8, ISC: the secondary uses the primary's MCLT. Windows keeps its
			 * own (it must be equal). ISC also adopts 0; we keep ours then. */
			st->mclt = ev->mclt;
			act(&r, FO_ACT_PERSIST);
		}
		act_state(&r);	/* D12 §8.2: STATE is the second message on a connection */
		return 0;
	case FO_EV_CONNECT_REJECTED:
		st->last_reject = ev->reject_reason;
		if (st->link_up) {
			act(&r, FO_ACT_CLOSE_LINK);
			link_lost(&r, FO_REASON_COMM_FAILED);
		}
		return 0;
	case FO_EV_LINK_DOWN:
		if (st->link_up) {
			link_lost(&r, FO_REASON_COMM_FAILED);
		}
		return 0;
	case FO_EV_PARTNER_STATE:
		if (st->connected) {
			st->last_rx = r.now;
		}
		return on_partner_state(&r, ev);
	case FO_EV_MSG_RECEIVED:
		if (!st->link_up) {
			return -ENOTCONN;
		}
		st->last_rx = r.now;
		return 0;
	case FO_EV_MSG_SENT:
		if (!st->link_up) {
			return -ENOTCONN;
		}
		st->last_tx = r.now;
		return 0;
	case FO_EV_UPDDONE_RECEIVED:
		if (st->connected) {
			st->last_rx = r.now;
		}
		return on_upddone(&r);
	case FO_EV_UPDDONE_SENT:
		/* No state depends on it (D12 §7.5, ISC); accepted for the record. */
		return st->connected ? 0 : -ENOTCONN;
	case FO_EV_CMD_PARTNER_DOWN:
	case FO_EV_CMD_SHUTDOWN:
	case FO_EV_CMD_PAUSE:
	case FO_EV_CMD_RECOVER:
		return on_command(&r, ev);
	case FO_EV_TICK:
		run_timers(&r);
		return 0;
	default:
		return -EINVAL;
	}
}

/* A time of ours moved by a step of the wall clock (never below 1: 0 means unset). */
static void shift(uint64_t *t, int64_t step)
{
	if (*t == 0) {
		return;
	}
	*t = step < 0 && (uint64_t)-step >= *t ? 1 : (uint64_t)((int64_t)*t + step);
}

void fo_state_clock_step(struct fo_state *st, int64_t step)
{
	if (step == 0) {
		return;
	}
	shift(&st->last_rx, step);
	shift(&st->last_tx, step);
	shift(&st->link_deadline, step);
	shift(&st->since, step);
}

void fo_state_tick(struct fo_state *st, uint64_t now, struct fo_state_output *out)
{
	struct fo_state_event ev = {.type = FO_EV_TICK, .now = now};

	(void)!fo_state_handle(st, &ev, out);	/* a tick cannot fail */
}

/* ---------------------------------------------------------------------------------------- */
/* Start-up, record, queries                                                                  */

static bool valid_state(enum fo_endpoint_state s)
{
	return (unsigned)s < FO_STATE_COUNT && s != ST(UNKNOWN) && s != ST(STARTUP);
}

int fo_state_init(struct fo_state *st, const struct fo_state_config *cfg,
		  const struct fo_state_record *rec, uint64_t now, struct fo_state_output *out)
{
	struct run r = {.st = st, .out = out, .now = now};

	out_reset(out);
	if ((cfg->role != FO_ROLE_PRIMARY && cfg->role != FO_ROLE_SECONDARY) ||
	    (cfg->mode != FO_MODE_LOAD_BALANCE && cfg->mode != FO_MODE_HOT_STANDBY) ||
	    (unsigned)cfg->server_role > FO_SERVER_ROLE_STANDBY ||
	    (cfg->role == FO_ROLE_PRIMARY && cfg->mclt == 0) || cfg->max_response_delay == 0 ||
	    cfg->startup_time == 0) {
		return -EINVAL;
	}
	if (rec && !rec->storage_lost && !valid_state(rec->state)) {
		return -EINVAL;
	}

	memset(st, 0, sizeof(*st));
	st->cfg = *cfg;
	st->mclt = cfg->mclt;

	if (!rec || rec->storage_lost) {
		/*
		 * D12 §9.3.2 step 1: no record (or a configured loss) -> previous-state RECOVER.
		 * The draft suggests time-of-failure 0 for a server with no record; ISC uses the
		 * start time, which makes an amnesic server wait MCLT unless the partner shows it
		 * is new too (see on_upddone()). We do as ISC. A configured loss uses its time.
		 */
		st->recorded = st->resume = ST(RECOVER);
		st->stos = rec ? rec->stos : now;
		st->updreqall = true;
		st->fresh = !rec;
		if (rec) {
			st->partner = valid_state(rec->partner) ? rec->partner : ST(UNKNOWN);
			st->partner_stos = rec->partner_stos;
			st->last_op = rec->last_op;
		}
	} else {
		enum fo_endpoint_state s;

		st->stos = rec->stos;
		st->last_op = rec->last_op;
		st->partner = valid_state(rec->partner) ? rec->partner : ST(UNKNOWN);
		st->partner_stos = rec->partner_stos;
		st->restart_state = rec->restart_state;
		if (cfg->role == FO_ROLE_SECONDARY && rec->mclt) {
			st->mclt = rec->mclt;
		}
		s = rec->state;
		if (s == ST(PAUSED) || (s == ST(SHUTDOWN) && !cfg->shutdown_persists)) {
			/* D12 §9.13.2, §9.14.1: restart in the state recorded for it. */
			s = rec->restart_state;
			if (!valid_state(s) || s == ST(PAUSED) || s == ST(SHUTDOWN)) {
				s = ST(RECOVER);	/* nothing usable: the safe choice */
			}
		}
		st->recorded = s;
		/* D12 §9.3.2 step 2: a comms-ok state becomes its comms-failed form. */
		st->resume = commfail_to[s] != STAY ? (enum fo_endpoint_state)commfail_to[s] : s;
		if (s == ST(SHUTDOWN)) {
			st->restart_state = valid_state(rec->restart_state) ? rec->restart_state
									   : ST(RECOVER);
		}
	}

	st->state = ST(STARTUP);
	st->since = now;
	note(&r, st->recorded, ST(STARTUP), FO_REASON_START);
	act_service(&r, FO_SERVICE_NONE);
	return 0;
}

void fo_state_record(const struct fo_state *st, struct fo_state_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	/* D12 §9.3.1: STARTUP is never recorded; the previous state stays. */
	rec->state = st->state == ST(STARTUP) ? st->recorded : st->state;
	rec->stos = st->stos;
	rec->restart_state = st->restart_state;
	rec->last_op = st->last_op;
	rec->partner = st->partner;
	rec->partner_stos = st->partner_stos;
	rec->mclt = st->mclt;
	rec->storage_lost = st->updreqall && rec->state == ST(RECOVER);
}

void fo_state_wire(const struct fo_state *st, uint8_t *wire_state, uint8_t *flags,
		   uint32_t *stos)
{
	if (st->state == ST(STARTUP)) {
		/* D12 §9.3.1: the recorded state with the STARTUP flag. */
		*wire_state = fo_state_to_wire(st->recorded);
		*flags = FO_STATE_FLAG_STARTUP;
	} else {
		*wire_state = fo_state_to_wire(st->state);
		*flags = 0;
	}
	*stos = (uint32_t)st->stos;
}

bool fo_state_may_use_partner_pool(const struct fo_state *st, uint64_t now)
{
	/* D12 §9.4.2: MCLT after entry into PARTNER-DOWN (ISC uses its STOS the same way). */
	return st->state == ST(PARTNER_DOWN) && now >= st->stos + st->mclt;
}
