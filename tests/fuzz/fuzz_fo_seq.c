/*
 * fuzz_fo_seq: the failover partner link (failover/fo_link.c) and state machine (fo_state.c)
 * driven by a fuzzed partner, as controlplane/failover.c wires them: link events become state
 * events (LINK_UP + CONNECT_OK, MSG_RECEIVED, PARTNER_STATE, UPDDONE_RECEIVED, LINK_DOWN),
 * the state machine's actions are carried out by the daemon's own dispatch (failover/fo_act.c)
 * with ops that act on the link (STATE, UPDREQ(ALL), POOLREQ, DISCONNECT, close) and log
 * every effect (PERSIST, SEND_UPDATES and ALARM are only logged: no store, no bindings).
 *
 * The partner is the other end of a socketpair the link adopts (fo_link_adopt(), as
 * fo_listener hands over a connection). The input: a first byte choosing role, mode and the
 * stored state to start from, then 8-byte records: a message the partner sends (type,
 * options, xid and clock chosen by the input, encoded by fo_msg_encode), raw bytes, time
 * passing (monotonic and wall clocks), the partner hanging up and connecting again,
 * operator commands (partner-down, shutdown, pause, recover), timer ticks.
 *
 * After every step:
 *  - the state machine: no output overflow; each transition starts where the previous one
 *    ended and the last ends in the current state; no state change without a transition;
 *    comm_ok implies connected implies link_up; the start time of the state is never in the
 *    future; the partner's pool is used only in PARTNER-DOWN; never PARTNER-DOWN while
 *    communicating with a partner that is up (not in STARTUP) and that moved to NORMAL or
 *    PARTNER-DOWN after we entered it (both would serve the partner's addresses). A
 *    partner that only repeats the state it had (an operator's partner-down in NORMAL: a
 *    conforming partner answers our STATE with POTENTIAL-CONFLICT, a STATE crossing ours
 *    repeats the old one) does not count: fo_state acts on changes (peer_rules).
 *  - the dispatch: each action had the one effect fo_act.h gives it (a STATE with the action's
 *    values, DISCONNECT with its reason), in order, SERVICE is reported, and the UPDREQ record
 *    is the last UPDREQ(ALL) sent.
 *  - the link: every byte it writes to the partner decodes as a known message, and the xids
 *    it chooses itself on the up link (D12 §11.1: the ones a partner with a secret checks)
 *    increase on a connection.
 * A violation aborts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "fo_act.h"
#include "fo_link.h"
#include "fo_msg.h"
#include "fo_state.h"

#define SEQ_HARNESS "fuzz_fo_seq"
#include "seq_env.h"


#define WALL0 1700000000u
#define MAX_STEPS 300
#define N_EV 8
#define MAX_EFF FO_STATE_MAX_ACTIONS

/* One effect of the dispatch (fo_act_ops), as the harness's ops saw it. */
enum effect_kind { EFF_NONE = 0, EFF_PERSIST, EFF_SEND, EFF_UPDATES, EFF_DISCONNECT, EFF_ALARM };

struct effect {
	enum effect_kind kind;
	uint8_t type;			/* EFF_SEND: the message's */
	uint8_t value;			/* EFF_SEND: server-state; EFF_DISCONNECT: the reason */
	uint8_t flags;			/* EFF_SEND: server-flags */
	uint32_t stos;			/* EFF_SEND */
	uint32_t xid;			/* EFF_SEND: the one the link gave */
};

/* FUZZ_TRACE set: print each state event (to read a reproducer). */
static bool trace;

struct env {
	struct fo_link *link;
	struct fo_state st;
	enum fo_role role;
	int peer;			/* the partner's end, -1 when hung up */
	uint64_t now_ms;
	uint32_t wall;
	uint32_t peer_xid;		/* last xid the partner chose */
	struct fo_act_updreq my_updreq;	/* as failover.c's struct rel has it */
	/* what the link wrote to the partner, not yet decoded */
	uint8_t rx[4 * FO_MSG_MAX_LEN];
	size_t rx_len;
	bool seen_xid;
	uint32_t last_xid;		/* last xid the link chose on this connection */
	/* changes of state the partner announced, and how many when we entered PARTNER-DOWN */
	uint64_t pstate_seq, pd_seq;
	struct fo_link_event ev[N_EV];
	/* the effects of one fo_act_run(), and how many of each action this input ran */
	struct effect eff[MAX_EFF];
	unsigned n_eff;
	unsigned n_act[FO_ACT_COUNT];
};

/* --- checks ------------------------------------------------------------------------- */

NOCOV static void check_state(struct env *v, enum fo_endpoint_state before,
			const struct fo_state_output *out)
{
	const struct fo_state *st = &v->st;
	enum fo_endpoint_state at = before;

	CHECK(!out->overflow, "output overflow");
	CHECK(out->n_transitions <= FO_STATE_MAX_TRANSITIONS, "transitions");
	for (unsigned i = 0; i < out->n_transitions; i++) {
		if (out->transitions[i].to == FO_STATE_PARTNER_DOWN) {
			v->pd_seq = v->pstate_seq;
		}
		CHECK(out->transitions[i].from == at, "transition %u from %s, was in %s", i,
		      fo_state_str(out->transitions[i].from), fo_state_str(at));
		CHECK(out->transitions[i].to != at, "transition to the same state %s",
		      fo_state_str(at));
		at = out->transitions[i].to;
	}
	CHECK(at == st->state, "transitions end in %s, state is %s", fo_state_str(at),
	      fo_state_str(st->state));
	CHECK(st->state > FO_STATE_UNKNOWN && st->state < FO_STATE_COUNT, "state %d",
	      (int)st->state);
	CHECK(!st->comm_ok || st->connected, "comm_ok without connected");
	CHECK(!st->connected || st->link_up, "connected without link_up");
	CHECK(st->stos <= v->wall && st->since <= v->wall,
	      "state %s starts in the future: stos %llu since %llu now %u",
	      fo_state_str(st->state), (unsigned long long)st->stos,
	      (unsigned long long)st->since, v->wall);
	CHECK(!fo_state_may_use_partner_pool(st, v->wall) || st->state == FO_STATE_PARTNER_DOWN,
	      "partner's pool used in %s", fo_state_str(st->state));
	CHECK(!(st->comm_ok && !st->partner_startup && st->state == FO_STATE_PARTNER_DOWN &&
		v->pstate_seq > v->pd_seq &&
		(st->partner == FO_STATE_NORMAL || st->partner == FO_STATE_PARTNER_DOWN)),
	      "PARTNER-DOWN while communicating with a partner in %s",
	      fo_state_str(st->partner));
}

/* Decode everything the link wrote to the partner. */
NOCOV static void drain_peer(struct env *v)
{
	ssize_t n;

	if (v->peer < 0) {
		return;
	}
	for (;;) {
		if (v->rx_len == sizeof(v->rx)) {
			v->rx_len = 0;	/* cannot happen: each message is decoded at once */
		}
		n = read(v->peer, v->rx + v->rx_len, sizeof(v->rx) - v->rx_len);
		if (n <= 0) {
			break;
		}
		v->rx_len += (size_t)n;
		for (;;) {
			struct fo_msg m;
			int len = fo_frame_len(v->rx, v->rx_len, FO_MSG_MAX_LEN);

			CHECK(len >= 0, "the link wrote a bad frame: %s", fo_err_str(len));
			if (len == 0) {
				break;
			}
			CHECK(fo_msg_decode(&m, v->rx, (size_t)len, 0) == 0,
			      "the link wrote a message that does not decode");
			CHECK(fo_msg_type_known(m.type), "the link wrote type %u", m.type);
			/* Sent only on the up link; a DISCONNECT also ends a handshake (with
			 * the handshake's xid), so it is checked only after one of those. */
			if (m.type == FO_MSG_POOLREQ || m.type == FO_MSG_BNDUPD ||
			    m.type == FO_MSG_UPDREQALL || m.type == FO_MSG_UPDREQ ||
			    m.type == FO_MSG_STATE || m.type == FO_MSG_CONTACT ||
			    (m.type == FO_MSG_DISCONNECT && v->seen_xid)) {
				CHECK(!v->seen_xid || (int32_t)(m.xid - v->last_xid) > 0,
				      "the link chose xid %u after %u (%s)", m.xid, v->last_xid,
				      fo_msg_type_str(m.type));
				v->seen_xid = true;
				v->last_xid = m.xid;
			}
			memmove(v->rx, v->rx + len, v->rx_len - (size_t)len);
			v->rx_len -= (size_t)len;
		}
	}
}

/* --- the control plane's wiring (failover.c) ----------------------------------------- */

/*
 * The state machine's actions go through the daemon's own dispatch (fo_act_run()) with ops
 * that act on the link as failover.c's do, and log each effect so that check_effects() can
 * hold the dispatch to fo_act.h (a planted bug there fails the corpus replay).
 */
static struct effect *effect_add(struct env *v, enum effect_kind k)
{
	struct effect *e;

	CHECK(v->n_eff < MAX_EFF, "more effects than actions");
	e = &v->eff[v->n_eff++];
	memset(e, 0, sizeof(*e));
	e->kind = k;
	return e;
}

static void fx_persist(void *ctx)
{
	(void)effect_add(ctx, EFF_PERSIST);
}

static void fx_send(void *ctx, struct fo_msg *m)
{
	struct env *v = ctx;
	struct effect *e = effect_add(v, EFF_SEND);

	e->type = m->type;
	e->value = m->server_state;
	e->flags = m->server_flags;
	e->stos = m->stos;
	(void)!fo_link_send(v->link, m);	/* a full buffer drops the link */
	e->xid = m->xid;
}

static void fx_send_updates(void *ctx)
{
	(void)effect_add(ctx, EFF_UPDATES);	/* no bindings here: the call is all */
}

static void fx_disconnect(void *ctx, uint8_t reject_reason)
{
	struct env *v = ctx;

	effect_add(v, EFF_DISCONNECT)->value = reject_reason;
	fo_link_disconnect(v->link, reject_reason, "failover state machine");
}

static void fx_alarm(void *ctx)
{
	(void)effect_add(ctx, EFF_ALARM);
}

static const struct fo_act_ops fx_ops = {
	.persist = fx_persist,
	.send = fx_send,
	.send_updates = fx_send_updates,
	.disconnect = fx_disconnect,
	.alarm = fx_alarm,
};

/* What fo_act.h says each action does: one effect (a message of .type), or none. */
static const struct {
	enum effect_kind kind;
	uint8_t type;
} act_effect[FO_ACT_COUNT] = {
	[FO_ACT_PERSIST] = {EFF_PERSIST, 0},
	[FO_ACT_SEND_STATE] = {EFF_SEND, FO_MSG_STATE},
	[FO_ACT_SEND_UPDREQ] = {EFF_SEND, FO_MSG_UPDREQ},
	[FO_ACT_SEND_UPDREQALL] = {EFF_SEND, FO_MSG_UPDREQALL},
	[FO_ACT_SEND_UPDATES] = {EFF_UPDATES, 0},
	[FO_ACT_SEND_POOLREQ] = {EFF_SEND, FO_MSG_POOLREQ},
	[FO_ACT_SEND_DISCONNECT] = {EFF_DISCONNECT, 0},
	[FO_ACT_CLOSE_LINK] = {EFF_DISCONNECT, 0},
	[FO_ACT_ALARM] = {EFF_ALARM, 0},
};

NOCOV static void check_effects(struct env *v, const struct fo_state_output *out, bool service,
				const struct fo_act_updreq *before)
{
	const struct effect *last_updreq = NULL;
	bool want_service = false;
	unsigned k = 0;

	for (unsigned i = 0; i < out->n_actions; i++) {
		const struct fo_state_action *a = &out->actions[i];
		const struct effect *e;

		v->n_act[a->type]++;
		want_service |= a->type == FO_ACT_SERVICE;
		if (act_effect[a->type].kind == EFF_NONE) {
			continue;
		}
		CHECK(k < v->n_eff, "action %d (#%u) had no effect", (int)a->type, i);
		e = &v->eff[k++];
		CHECK(e->kind == act_effect[a->type].kind && e->type == act_effect[a->type].type,
		      "action %d (#%u): effect %d type %u", (int)a->type, i, (int)e->kind, e->type);
		if (a->type == FO_ACT_SEND_STATE) {
			CHECK(e->value == a->wire_state && e->flags == a->flags && e->stos == a->stos,
			      "STATE %u/%u/%u for an action of %u/%u/%u", e->value, e->flags,
			      e->stos, a->wire_state, a->flags, a->stos);
		} else if (a->type == FO_ACT_SEND_DISCONNECT) {
			CHECK(e->value == a->reject_reason, "DISCONNECT reason %u for %u", e->value,
			      a->reject_reason);
		} else if (a->type == FO_ACT_SEND_UPDREQ || a->type == FO_ACT_SEND_UPDREQALL) {
			last_updreq = e;
		}
	}
	CHECK(k == v->n_eff, "%u effects for %u actions", v->n_eff, k);
	CHECK(service == want_service, "service %d, SERVICE action %d", service, want_service);
	if (last_updreq != NULL) {
		CHECK(v->my_updreq.pending && v->my_updreq.type == last_updreq->type &&
		      v->my_updreq.xid == last_updreq->xid, "UPDREQ record %d/%u/%u, sent %u/%u",
		      v->my_updreq.pending, v->my_updreq.type, v->my_updreq.xid, last_updreq->type,
		      last_updreq->xid);
	} else {
		CHECK(v->my_updreq.pending == before->pending && v->my_updreq.xid == before->xid &&
		      v->my_updreq.type == before->type, "UPDREQ record changed without an UPDREQ");
	}
}

static void run_actions(struct env *v, const struct fo_state_output *out)
{
	struct fo_act_updreq before = v->my_updreq;
	bool service;

	v->n_eff = 0;
	service = fo_act_run(out, &fx_ops, v, &v->my_updreq);
	check_effects(v, out, service, &before);
}

static void feed(struct env *v, const struct fo_state_event *ev)
{
	struct fo_state_output out;
	enum fo_endpoint_state before = v->st.state;
	int rc = fo_state_handle(&v->st, ev, &out);

	if (rc != 0 && rc != -EALREADY && rc != -ENOTCONN) {
		/* Refused: nothing may have changed (failover.c logs it and goes on). */
		CHECK(v->st.state == before, "event %s refused (%d) but state moved",
		      fo_state_event_str(ev->type), rc);
		return;
	}
	if (trace) {
		fprintf(stderr, "t=%u %s(%u) rc=%d: %s -> %s, partner %s%s, comm_ok %d\n", v->wall,
			fo_state_event_str(ev->type), ev->wire_state, rc, fo_state_str(before),
			fo_state_str(v->st.state), fo_state_str(v->st.partner),
			v->st.partner_startup ? " (startup)" : "", v->st.comm_ok);
	}
	check_state(v, before, &out);
	run_actions(v, &out);
}

static void on_message(struct env *v, const struct fo_msg *m)
{
	struct fo_state_event ev = {.now = v->wall, .type = FO_EV_MSG_RECEIVED};

	feed(v, &ev);
	switch (m->type) {
	case FO_MSG_STATE:
		if (!fo_msg_has(m, FO_OPT_SERVER_STATE)) {
			break;
		}
		ev.type = FO_EV_PARTNER_STATE;
		if (fo_state_from_wire(m->server_state) != v->st.partner &&
		    fo_state_from_wire(m->server_state) != FO_STATE_UNKNOWN) {
			v->pstate_seq++;	/* a change of the partner's state */
		}
		ev.wire_state = m->server_state;
		ev.flags = fo_msg_has(m, FO_OPT_SERVER_FLAGS) ? m->server_flags : 0;
		ev.stos = fo_msg_has(m, FO_OPT_STOS) && m->stos != 0 ? m->stos : ev.now;
		feed(v, &ev);
		break;
	case FO_MSG_UPDDONE:
		if (!v->my_updreq.pending || m->xid != v->my_updreq.xid) {
			break;
		}
		v->my_updreq.pending = false;
		ev.type = FO_EV_UPDDONE_RECEIVED;
		feed(v, &ev);
		break;
	default:
		break;
	}
}

static void poll_link(struct env *v)
{
	for (int round = 0; round < 8; round++) {
		int n = fo_link_poll(v->link, v->now_ms, v->wall, v->ev, N_EV);

		drain_peer(v);
		for (int i = 0; i < n; i++) {
			const struct fo_link_event *e = &v->ev[i];
			struct fo_state_event ev = {.now = v->wall};

			switch (e->type) {
			case FO_LINK_UP:
				/* As failover.c: only the link going down clears my_updreq. */
				ev.type = FO_EV_LINK_UP;
				feed(v, &ev);
				ev.type = FO_EV_CONNECT_OK;
				ev.partner_receive_timer = e->partner_receive_timer;
				ev.mclt = v->role == FO_ROLE_SECONDARY ? e->partner_mclt : 0;
				feed(v, &ev);
				break;
			case FO_LINK_DOWN:
				v->my_updreq.pending = false;
				ev.type = FO_EV_LINK_DOWN;
				feed(v, &ev);
				break;
			case FO_LINK_MESSAGE:
				on_message(v, &e->msg);
				break;
			default:
				break;
			}
		}
		drain_peer(v);
		if (n < N_EV && n == 0) {
			break;
		}
	}
}

static void tick(struct env *v)
{
	struct fo_state_output out;
	enum fo_endpoint_state before = v->st.state;

	fo_state_tick(&v->st, v->wall, &out);
	check_state(v, before, &out);
	run_actions(v, &out);
}

/* --- the partner ---------------------------------------------------------------------- */

static void hang_up(struct env *v)
{
	if (v->peer >= 0) {
		close(v->peer);
		v->peer = -1;
	}
}

static void connect_peer(struct env *v)
{
	int sv[2];

	hang_up(v);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) {
		return;
	}
	if (fo_link_adopt(v->link, sv[0], NULL, 0, v->now_ms, v->wall) != 0) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	v->peer = sv[1];
	v->rx_len = 0;
	v->seen_xid = false;
	v->peer_xid = 0;
}

static void peer_write(struct env *v, const uint8_t *b, size_t n)
{
	if (v->peer >= 0 && n > 0) {
		(void)!send(v->peer, b, n, MSG_NOSIGNAL);
	}
}

static const uint8_t wire_states[] = {
	FO_SS_STARTUP, FO_SS_NORMAL, FO_SS_COMM_INTERRUPTED, FO_SS_PARTNER_DOWN,
	FO_SS_POTENTIAL_CONFLICT, FO_SS_RECOVER, FO_SS_PAUSED, FO_SS_SHUTDOWN,
	FO_SS_RECOVER_DONE, FO_SS_RESOLUTION_INTERRUPTED, FO_SS_CONFLICT_DONE,
	FO_SS_RECOVER_WAIT, 0, 99,
};

/*
 * A message from the partner: r[1] type, r[2..3] which options, r[4] a value, r[5] clock
 * skew, r[6] xid mode, r[7] another value.
 */
static void peer_message(struct env *v, const uint8_t *r)
{
	static const uint8_t hba[FO_HBA_LEN] = {0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
		0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
		0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55};
	static const uint8_t name[] = "rel", wrong[] = "other", chaddr[] = {1, 2, 0, 0, 0, 0, 9};
	uint8_t buf[FO_MSG_MAX_LEN];
	uint16_t sel = (uint16_t)(r[2] | r[3] << 8);
	uint8_t type = r[1] % 14;
	struct fo_msg m;
	uint32_t xid;
	int len;

	switch (r[6] & 3) {
	case 0:
	case 1:
		xid = ++v->peer_xid;
		break;
	case 2:
		xid = v->peer_xid;
		break;
	default:
		xid = (uint32_t)r[7] << 8 | r[6];
		break;
	}
	fo_msg_init(&m, type, v->wall + (uint32_t)(int32_t)(int8_t)r[5] * ((r[6] & 4) ? 8 : 1),
		    xid);
	if (type == FO_MSG_CONNECT || type == FO_MSG_CONNECTACK) {
		/* The handshake's usual options unless the input says otherwise. */
		sel ^= 0x0f;
	}
	if (sel & 0x01) {
		m.relationship_name.ptr = (r[7] & 1) ? wrong : name;
		m.relationship_name.len = (r[7] & 1) ? 5 : 3;
		m.present |= FO_BIT(FO_OPT_RELATIONSHIP_NAME);
	}
	if (sel & 0x02) {
		m.receive_timer = r[4] % 40;
		m.max_unacked = r[7] % 20;
		m.present |= FO_BIT(FO_OPT_RECEIVE_TIMER) | FO_BIT(FO_OPT_MAX_UNACKED);
	}
	if (sel & 0x04) {
		m.protocol_version = (r[7] & 2) ? 2 : FO_PROTOCOL_VERSION;
		m.tls_request = m.tls_reply = 0;
		m.present |= FO_BIT(FO_OPT_PROTOCOL_VERSION) | FO_BIT(FO_OPT_TLS_REQUEST) |
			     FO_BIT(FO_OPT_TLS_REPLY);
	}
	if (sel & 0x08) {
		m.mclt = r[4] * 10u;
		m.hba.ptr = hba;
		m.hba.len = (r[7] & 4) ? 31 : FO_HBA_LEN;
		m.present |= FO_BIT(FO_OPT_MCLT) | FO_BIT(FO_OPT_HBA);
	}
	if (sel & 0x10) {
		m.server_state = wire_states[r[4] % sizeof(wire_states)];
		m.present |= FO_BIT(FO_OPT_SERVER_STATE);
	}
	if (sel & 0x20) {
		m.server_flags = r[7] & 1;
		m.present |= FO_BIT(FO_OPT_SERVER_FLAGS);
	}
	if (sel & 0x40) {
		/* A start time anywhere from far before our epoch to a little ahead. */
		m.stos = (r[7] & 8) ? (uint32_t)r[4] : v->wall - r[4] * 97u + 30u;
		m.present |= FO_BIT(FO_OPT_STOS);
	}
	if (sel & 0x80) {
		m.reject_reason = r[4] % 23;
		m.present |= FO_BIT(FO_OPT_REJECT_REASON);
	}
	if (sel & 0x100) {
		m.message.ptr = (const uint8_t *)"hello\nevent=forged";
		m.message.len = 18;
		m.present |= FO_BIT(FO_OPT_MESSAGE);
	}
	if (sel & 0x200) {
		m.assigned_addr = 0xc6120000u | r[4];
		m.binding_status = 1 + r[7] % 7;
		m.chaddr.ptr = chaddr;
		m.chaddr.len = sizeof(chaddr);
		m.lease_expiry = v->wall + r[4] * 10u;
		m.potential_expiry = m.lease_expiry + 60;
		m.cltt = v->wall;
		m.present |= FO_BIT(FO_OPT_ASSIGNED_IP_ADDRESS) | FO_BIT(FO_OPT_BINDING_STATUS) |
			     FO_BIT(FO_OPT_CHADDR) | FO_BIT(FO_OPT_LEASE_EXPIRY) |
			     FO_BIT(FO_OPT_POTENTIAL_EXPIRY) | FO_BIT(FO_OPT_CLTT);
	}
	if (sel & 0x400) {
		m.addresses_transferred = r[4];
		m.present |= FO_BIT(FO_OPT_ADDRESSES_TRANSFERRED);
	}
	if (sel & 0x800) {
		m.vendor_class.ptr = (const uint8_t *)"isc";
		m.vendor_class.len = 3;
		m.present |= FO_BIT(FO_OPT_VENDOR_CLASS);
	}
	/* Only the options the type carries: the encoder refuses the others. */
	m.present &= fo_msg_type_known(type) ? fo_msg_type_opts(type) : 0;
	len = fo_msg_encode(&m, buf, sizeof(buf));
	if (len > 0) {
		peer_write(v, buf, (size_t)len);
	}
}

/* --- the run -------------------------------------------------------------------------- */

static const enum fo_endpoint_state rec_states[] = {
	FO_STATE_NORMAL, FO_STATE_COMM_INT, FO_STATE_PARTNER_DOWN, FO_STATE_POTENTIAL_CONFLICT,
	FO_STATE_RECOVER, FO_STATE_PAUSED, FO_STATE_SHUTDOWN, FO_STATE_RECOVER_DONE,
	FO_STATE_RESOLUTION_INT, FO_STATE_CONFLICT_DONE, FO_STATE_RECOVER_WAIT,
};

static bool setup(struct env *v, uint8_t b0, uint8_t b1)
{
	struct fo_link_cfg lc;
	struct fo_state_config sc;
	struct fo_state_record rec;
	struct fo_state_output out;
	char err[128];

	memset(&lc, 0, sizeof(lc));
	lc.name = "rel";
	lc.role = (b0 & 1) ? FO_LINK_SECONDARY : FO_LINK_PRIMARY;
	lc.local_addr.s_addr = htonl(0x7f000001);
	lc.partner_addr.s_addr = htonl(0x7f000002);
	lc.partner_port = 1;	/* nothing listens: outgoing connects are refused */
	lc.receive_timer = 20;
	lc.max_unacked = 10;
	lc.mclt = 300;
	memset(lc.hba, 0x55, sizeof(lc.hba));
	lc.shared_listener = true;
	v->link = fo_link_new(&lc, err, sizeof(err));
	CHECK(v->link != NULL, "fo_link_new: %s", err);

	memset(&sc, 0, sizeof(sc));
	v->role = sc.role = (b0 & 1) ? FO_ROLE_SECONDARY : FO_ROLE_PRIMARY;
	sc.mode = (b0 & 2) ? FO_MODE_HOT_STANDBY : FO_MODE_LOAD_BALANCE;
	sc.server_role = (enum fo_server_role)((b0 >> 2) % 3);
	sc.mclt = 300;
	sc.safe_period = (b0 & 0x20) ? 600 : 0;
	sc.max_response_delay = 20;
	sc.startup_time = 15;
	sc.startup_partner_down = b0 & 0x40;
	sc.shutdown_persists = b0 & 0x80;
	memset(&rec, 0, sizeof(rec));
	rec.state = rec_states[b1 % (sizeof(rec_states) / sizeof(rec_states[0]))];
	rec.stos = WALL0 - (b1 >> 4) * 200u;
	rec.restart_state = FO_STATE_NORMAL;
	rec.partner = rec_states[(b1 >> 3) % (sizeof(rec_states) / sizeof(rec_states[0]))];
	rec.partner_stos = rec.stos;
	rec.mclt = 300;
	rec.storage_lost = (b1 & 0x80) && (b0 & 0x10);
	v->now_ms = 1000000;
	v->wall = WALL0;
	if (fo_state_init(&v->st, &sc, (b0 & 0x10) ? &rec : NULL, v->wall, &out) != 0) {
		fo_link_free(v->link);
		return false;
	}
	CHECK(!out.overflow, "init output overflow");
	v->peer = -1;
	memset(&v->my_updreq, 0, sizeof(v->my_updreq));
	memset(v->n_act, 0, sizeof(v->n_act));
	v->pstate_seq = v->pd_seq = 0;
	run_actions(v, &out);
	connect_peer(v);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct env env;
	struct env *v = &env;
	unsigned steps = 0;

	if (size < 2) {
		return 0;
	}
	trace = getenv("FUZZ_TRACE") != NULL;
	if (!setup(v, data[0], data[1])) {
		return 0;
	}
	data += 2;
	size -= 2;
	poll_link(v);
	while (size >= 8 && steps++ < MAX_STEPS) {
		const uint8_t *r = data;
		struct fo_state_event ev = {0};
		size_t n;

		data += 8;
		size -= 8;
		switch (r[0] % 8) {
		case 0:
		case 1:
		case 2:
			peer_message(v, r);
			break;
		case 3:
			/* raw bytes: the next r[1] % 64 bytes of the input */
			n = r[1] % 64 < size ? r[1] % 64 : size;
			peer_write(v, data, n);
			data += n;
			size -= n;
			break;
		case 4:
			v->now_ms += (uint64_t)r[1] * 100 + (uint64_t)r[2] * 10000;
			v->wall = WALL0 + (uint32_t)((v->now_ms - 1000000) / 1000);
			break;
		case 5:
			if (r[1] & 1) {
				hang_up(v);
			} else {
				connect_peer(v);
			}
			break;
		case 6:
			ev.now = v->wall;
			ev.type = (enum fo_state_event_type)(FO_EV_CMD_PARTNER_DOWN + r[1] % 4);
			ev.updates_pending = r[2] & 1;
			ev.storage_lost = r[2] & 2;
			if (r[1] & 0x80) {
				ev.type = FO_EV_UPDDONE_SENT;
			}
			feed(v, &ev);
			break;
		default:
			tick(v);
			break;
		}
		poll_link(v);
		tick(v);
	}
	if (trace) {
		/* Which actions this input ran through the dispatch (a seed's coverage). */
		for (unsigned a = 0; a < FO_ACT_COUNT; a++) {
			fprintf(stderr, "%s%s=%u", a ? " " : "actions: ", fo_state_action_str(a),
				v->n_act[a]);
		}
		fputc('\n', stderr);
	}
	hang_up(v);
	fo_link_free(v->link);
	return 0;
}
