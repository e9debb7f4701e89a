/*
 * fo_act: carrying out the failover state machine's actions (struct fo_state_output) for one
 * relationship: which message each action sends, and what the relationship remembers of its
 * own UPDREQ(ALL). The effects outside (the link, stable storage, the queue of updates, the
 * operator's log) go through a struct fo_act_ops the caller supplies.
 *
 * The daemon (controlplane/failover.c) and the sequence fuzzer (tests/fuzz/fuzz_fo_seq.c) both
 * run this one dispatch, so that the fuzzer exercises the product's and cannot drift from it.
 * What the daemon does on a transition besides the actions (logs, the workers' view, pool
 * balancing) stays in failover.c.
 *
 * Threads: pure C over caller memory, no allocation, no globals, no I/O of its own. The ops are
 * called synchronously on the caller's thread (the daemon's control thread), in the order of
 * the actions; nothing is kept across calls.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "fo_msg.h"
#include "fo_state.h"

/**
 * The effects of the actions, each called with the @p ctx given to fo_act_run(). Every member
 * must be set. None returns an error: a send that fails is the link's business (a full buffer
 * or a dead partner drops the link, which the state machine hears of as LINK_DOWN).
 */
struct fo_act_ops {
	/** FO_ACT_PERSIST: write fo_state_record() of the relationship to stable storage. */
	void (*persist)(void *ctx);
	/**
	 * Send @p m on the link, which chooses its xid and writes it into m->xid.
	 * @p m is the caller's (fo_act's stack): valid for the call only, not to be kept.
	 */
	void (*send)(void *ctx, struct fo_msg *m);
	/** FO_ACT_SEND_UPDATES: queue every unacked binding to be sent to the partner again. */
	void (*send_updates)(void *ctx);
	/** FO_ACT_SEND_DISCONNECT (@p reject_reason of the action) and FO_ACT_CLOSE_LINK (0):
	 *  end the partner connection. */
	void (*disconnect)(void *ctx, uint8_t reject_reason);
	/** FO_ACT_ALARM: tell the operator (D12 §9.9.1, §9.11.1). */
	void (*alarm)(void *ctx);
};

/** Our last UPDREQ or UPDREQALL (kept by the caller per relationship; zero to start). */
struct fo_act_updreq {
	uint32_t xid;		/**< the xid the link gave it: its UPDDONE carries it */
	uint8_t type;		/**< FO_MSG_UPDREQ or FO_MSG_UPDREQALL; 0 before the first */
	bool pending;		/**< sent, its UPDDONE not received (the caller clears it when
				 *   the UPDDONE comes or the link goes down) */
};

/**
 * @brief Carry out every action of @p out, in order, through @p ops.
 *
 * SEND_STATE sends STATE with the action's server-state, server-flags and start-time-of-state;
 * SEND_UPDREQ(ALL) is fo_act_send_updreq(); SEND_POOLREQ sends POOLREQ. SEND_CONNECT and
 * SEND_CONTACT do nothing: the link does the handshake and the keepalives itself.
 *
 * @param out  the state machine's output (read only).
 * @param ops  the effects; @p ctx is passed to each.
 * @param u    the relationship's UPDREQ record, updated by SEND_UPDREQ(ALL).
 * @return whether @p out has a FO_ACT_SERVICE action (the service level changed).
 */
bool fo_act_run(const struct fo_state_output *out, const struct fo_act_ops *ops, void *ctx,
		struct fo_act_updreq *u);

/**
 * @brief Send an UPDREQ or UPDREQALL (@p type) through @p ops and record it in @p u: its type,
 * the xid the link gave it, pending. It is recorded whether or not the send succeeded: a link
 * that is down leaves the xid 0 (no UPDDONE answers it), and one that fails to send goes down;
 * the caller clears pending when the link goes down.
 */
void fo_act_send_updreq(uint8_t type, const struct fo_act_ops *ops, void *ctx,
			struct fo_act_updreq *u);
