/*
 * fo_state: the failover endpoint state machine of draft-ietf-dhc-failover-12 §9, as ISC dhcpd
 * 4.4 runs it on the wire.
 *
 * The machine is a plain struct driven by events that carry the time. It does no I/O, calls no
 * clock and allocates nothing: each call fills a caller-provided struct fo_state_output with
 *   - the transitions it made (from, to, reason, time), for logs and events;
 *   - the actions the caller must perform, in order: persist the record, send STATE (with the
 *     exact server-state, server-flags and start-time-of-state to put on the wire), send
 *     UPDREQ/UPDREQALL/POOLREQ/CONTACT/DISCONNECT, send the unacked BNDUPDs, close the link,
 *     change the DHCP service level, raise an alarm.
 * Every rule of the draft that depends only on states and times lives here; the rules over
 * individual bindings live in fo_lease.h, the load-balancing hash in fo_hash.h and the wire
 * codec in fo_msg.h.
 *
 * Where the draft and ISC differ, the choice is written next to the rule in fo_state.c
 * ("D12" = the draft, "ISC" = dhcpd 4.4.3 as captured in reference/isc-peer/). In short:
 *   - RECOVER-WAIT is 254 on the wire (ISC); the draft gives it no code.
 *   - start-time-of-state follows ISC: kept across STARTUP and into RECOVER-WAIT, back-dated by
 *     MCLT when an operator moves a SHUTDOWN server with nothing pending to RECOVER while the
 *     partner is in PARTNER-DOWN.
 *   - A server with no stored state starts as RECOVER with time-of-failure = now (ISC), and
 *     skips RECOVER-WAIT when the partner is itself in RECOVER or RECOVER-DONE (ISC's reading
 *     of "first time this server runs failover, as the partner tells", D12 §9.6.2).
 *   - COMMUNICATIONS-INTERRUPTED or NORMAL seeing the partner in RECOVER go to PARTNER-DOWN
 *     at once (ISC, captured in the amnesia scenario; D12 §9.9.3 says stay).
 *
 * Threads: a struct fo_state belongs to one thread (the control lcore's failover loop); no
 * function here takes a lock or may be called concurrently on the same object. Objects are
 * independent: one per relationship.
 *
 * Ownership: the caller owns struct fo_state and struct fo_state_output (both plain memory, usually
 * embedded or on the stack). Nothing here keeps a pointer to caller memory after returning.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lw_attr.h"

/**
 * Failover endpoint states. Values 1..11 equal the server-state option codes of D12 §12.24;
 * RECOVER-WAIT has no code in the draft, so it is 12 here and 254 on the wire (ISC). Use
 * fo_state_to_wire()/fo_state_from_wire() at the codec boundary.
 */
enum fo_endpoint_state {
	FO_STATE_UNKNOWN = 0,			/**< no state known (partner before any STATE) */
	FO_STATE_STARTUP = 1,
	FO_STATE_NORMAL = 2,
	FO_STATE_COMM_INT = 3,			/**< COMMUNICATIONS-INTERRUPTED */
	FO_STATE_PARTNER_DOWN = 4,
	FO_STATE_POTENTIAL_CONFLICT = 5,
	FO_STATE_RECOVER = 6,
	FO_STATE_PAUSED = 7,
	FO_STATE_SHUTDOWN = 8,
	FO_STATE_RECOVER_DONE = 9,
	FO_STATE_RESOLUTION_INT = 10,		/**< RESOLUTION-INTERRUPTED */
	FO_STATE_CONFLICT_DONE = 11,
	FO_STATE_RECOVER_WAIT = 12,		/**< 254 on the wire (ISC) */
	FO_STATE_COUNT
};

/** server-state value ISC (and therefore every peer we know) uses for RECOVER-WAIT. */
#define FO_STATE_WIRE_RECOVER_WAIT 254
/** server-flags bit 0 (D12 §12.23): the sender is in STARTUP. */
#define FO_STATE_FLAG_STARTUP 0x01
/** reject-reason 17 (D12 §12.21): no traffic within sufficient time. */
#define FO_STATE_DISCONNECT_NO_TRAFFIC 17
/** ISC closes a link that brings no CONNECT/CONNECTACK within 15 s (captures, probe). */
#define FO_STATE_LINK_TIMEOUT 15

/**
 * Role in the relationship (D12 §2.2): who sends CONNECT, who owns FREE (primary) or BACKUP
 * (secondary) addresses, who sends UPDREQ first. It says nothing about who serves in hot
 * standby: that is enum fo_server_role.
 */
enum fo_role {
	FO_ROLE_PRIMARY = 1,
	FO_ROLE_SECONDARY = 2,
};

/** Relationship mode, with Windows' DHCP_FAILOVER_MODE values (windows-failover.md §1). */
enum fo_mode {
	FO_MODE_LOAD_BALANCE = 0,
	FO_MODE_HOT_STANDBY = 1,
};

/**
 * Server role in hot standby (Windows `-ServerRole Active|Standby`), independent of
 * primary/secondary: Windows calls the server where the relationship was created the primary,
 * and either side may be the active one.
 */
enum fo_server_role {
	FO_SERVER_ROLE_DEFAULT = 0,	/**< not given: the primary is the active server */
	FO_SERVER_ROLE_ACTIVE,		/**< serves every client in NORMAL */
	FO_SERVER_ROLE_STANDBY,		/**< serves none in NORMAL; its reserve when the
					 *   partner is out of contact */
};

/**
 * How a server treats DHCP clients in its current state (D12 §9.2 "responsive", "balanced",
 * "unresponsive"; §9.7.1 RECOVER-DONE).
 */
enum fo_service {
	FO_SERVICE_NONE = 0,		/**< answer no client */
	FO_SERVICE_RENEW_ONLY,		/**< only DHCPREQUEST RENEWING/REBINDING (RECOVER-DONE) */
	FO_SERVICE_BALANCED,		/**< NORMAL: every RENEWING/REBINDING, others per fo_hash */
	FO_SERVICE_ALL,			/**< every client, new leases from the own pool only */
	FO_SERVICE_PARTNER_DOWN,	/**< every client; partner's pool once MCLT has passed */
};

/** Why a transition happened. */
enum fo_state_reason {
	FO_REASON_START = 0,		/**< the server started: recorded state -> STARTUP */
	FO_REASON_STARTUP_TIMEOUT,	/**< STARTUP ended alone (D12 §9.3.2 step 6) */
	FO_REASON_COMM_OK,		/**< first STATE from the partner on a new connection */
	FO_REASON_PARTNER_STATE,	/**< the partner changed state while connected */
	FO_REASON_COMM_FAILED,		/**< the link went down */
	FO_REASON_RECEIVE_TIMEOUT,	/**< nothing received for max-response-delay (D12 §8.3) */
	FO_REASON_SAFE_PERIOD,		/**< safe period / auto-partner-down expired (D12 §10) */
	FO_REASON_UPDDONE,		/**< UPDDONE received (D12 §9.5.2, §9.10.3) */
	FO_REASON_MCLT_ELAPSED,		/**< RECOVER-WAIT timer (D12 §9.6.2) */
	FO_REASON_CMD_PARTNER_DOWN,	/**< operator: the partner is down */
	FO_REASON_CMD_SHUTDOWN,		/**< operator: shut down (D12 §9.14) */
	FO_REASON_CMD_PAUSE,		/**< operator: pause (D12 §9.13) */
	FO_REASON_CMD_RECOVER,		/**< operator: leave SHUTDOWN/PAUSED into RECOVER */
	FO_REASON_PROTOCOL_ERROR,	/**< the partner made an impossible move (ISC: shutdown) */
	FO_REASON_COUNT
};

/** What the caller must do, in the order listed in struct fo_state_output. */
enum fo_state_action_type {
	FO_ACT_PERSIST = 0,	/**< write fo_state_record() to stable storage (D12 §9.2) */
	FO_ACT_SEND_CONNECT,	/**< primary: send CONNECT on the new link (D12 §8.2) */
	FO_ACT_SEND_STATE,	/**< send STATE with wire_state, flags, stos of the action */
	FO_ACT_SEND_UPDREQ,	/**< send UPDREQ; UPDDONE expected (event FO_EV_UPDDONE_RECEIVED) */
	FO_ACT_SEND_UPDREQALL,	/**< send UPDREQALL; UPDDONE expected */
	FO_ACT_SEND_UPDATES,	/**< send every unacked BNDUPD (D12 §9.8.1 entering NORMAL) */
	FO_ACT_SEND_POOLREQ,	/**< secondary entering NORMAL (D12 §9.8.1) */
	FO_ACT_SEND_CONTACT,	/**< nothing sent for the partner's receive-timer / 3 */
	FO_ACT_SEND_DISCONNECT,	/**< send DISCONNECT with reject_reason, then close */
	FO_ACT_CLOSE_LINK,	/**< close the TCP connection (already counted as down) */
	FO_ACT_SERVICE,		/**< the DHCP service level changed to .service */
	FO_ACT_ALARM,		/**< raise an operator alarm (D12 §9.9.1, §9.11.1) */
	FO_ACT_COUNT
};

struct fo_state_action {
	enum fo_state_action_type type;
	enum fo_endpoint_state state;	/**< SEND_STATE: the state announced */
	uint8_t wire_state;		/**< SEND_STATE: server-state option value */
	uint8_t flags;			/**< SEND_STATE: server-flags option value */
	uint32_t stos;			/**< SEND_STATE: start-time-of-state option value */
	uint8_t reject_reason;		/**< SEND_DISCONNECT */
	enum fo_service service;	/**< SERVICE */
};

struct fo_state_transition {
	enum fo_endpoint_state from;
	enum fo_endpoint_state to;
	enum fo_state_reason reason;
	uint64_t at;			/**< the event's time */
};

#define FO_STATE_MAX_ACTIONS 32
#define FO_STATE_MAX_TRANSITIONS 6

/** Everything one call produced. Reset by every call that takes it. */
struct fo_state_output {
	unsigned n_actions;
	struct fo_state_action actions[FO_STATE_MAX_ACTIONS];
	unsigned n_transitions;
	struct fo_state_transition transitions[FO_STATE_MAX_TRANSITIONS];
	bool overflow;			/**< a bound was hit (a bug: never seen in the tests) */
};

/** Inputs. Every event carries its time (unix seconds). */
enum fo_state_event_type {
	FO_EV_LINK_UP = 0,		/**< a TCP connection to/from the partner is up */
	FO_EV_CONNECT_OK,		/**< CONNECT/CONNECTACK exchanged without reject */
	FO_EV_CONNECT_REJECTED,		/**< CONNECTACK (or our answer) carried reject-reason */
	FO_EV_LINK_DOWN,		/**< the TCP connection closed (FIN, RST, DISCONNECT) */
	FO_EV_PARTNER_STATE,		/**< STATE received: wire_state, flags, stos */
	FO_EV_MSG_RECEIVED,		/**< any message received (restarts tReceive) */
	FO_EV_MSG_SENT,			/**< the caller sent a message itself (tSend) */
	FO_EV_UPDDONE_RECEIVED,		/**< UPDDONE answering the latest UPDREQ/UPDREQALL
					 *   asked for by an action (match its xid) */
	FO_EV_UPDDONE_SENT,		/**< we answered the partner's UPDREQ/UPDREQALL */
	FO_EV_CMD_PARTNER_DOWN,		/**< operator: the partner is down */
	FO_EV_CMD_SHUTDOWN,		/**< operator: enter SHUTDOWN */
	FO_EV_CMD_PAUSE,		/**< operator: enter PAUSED (a short stop follows) */
	FO_EV_CMD_RECOVER,		/**< operator: SHUTDOWN/PAUSED -> RECOVER */
	FO_EV_TICK,			/**< timers only */
	FO_EV_COUNT
};

struct fo_state_event {
	enum fo_state_event_type type;
	uint64_t now;			/**< unix seconds */
	/* FO_EV_PARTNER_STATE */
	uint8_t wire_state;		/**< server-state option as received */
	uint8_t flags;			/**< server-flags option as received */
	uint64_t stos;			/**< start-time-of-state as received (skew-corrected) */
	/* FO_EV_CONNECT_OK */
	uint32_t partner_receive_timer;	/**< the partner's receive-timer; 0 = absent (keep) */
	uint32_t mclt;			/**< secondary: MCLT from CONNECT; 0 = absent (keep) */
	/* FO_EV_CONNECT_REJECTED */
	uint8_t reject_reason;
	/* FO_EV_CMD_RECOVER */
	bool updates_pending;		/**< BNDUPDs not yet acked by the partner exist */
	bool storage_lost;		/**< the binding database was lost: use UPDREQALL */
};

/** Configuration of one relationship endpoint. */
struct fo_state_config {
	enum fo_role role;
	enum fo_mode mode;
	/**
	 * Hot standby only (ignored in load balance): whether this server is the active or the
	 * standby one. FO_SERVER_ROLE_DEFAULT makes the primary the active server.
	 */
	enum fo_server_role server_role;
	uint32_t mclt;			/**< seconds; the secondary adopts the primary's */
	uint32_t safe_period;		/**< COMM-INT -> PARTNER-DOWN after this; 0 = never.
					 *   ISC auto-partner-down, Windows StateSwitchInterval */
	uint32_t max_response_delay;	/**< our receive-timer (tReceive), seconds, > 0 */
	uint32_t startup_time;		/**< seconds in STARTUP without the partner, > 0 */
	bool startup_partner_down;	/**< a server with no stored state goes to PARTNER-DOWN
					 *   when STARTUP ends alone (D12 §9.3.2 step 1) */
	bool shutdown_persists;		/**< ISC: restart in SHUTDOWN until an operator moves
					 *   the server (D12: restart in the previous state) */
};

/** Defaults: ISC's timers where ISC was captured, Windows' MCLT (1 h). */
#define FO_STATE_DEFAULT_MCLT 3600
#define FO_STATE_DEFAULT_MAX_RESPONSE_DELAY 20
#define FO_STATE_DEFAULT_STARTUP_TIME 15

/**
 * What survives a restart (D12 §9.2: state and time of entry; §9.13.1/§9.14.1: the state to
 * restart in; §9.3.2 step 5: the last time of operation).
 */
struct fo_state_record {
	enum fo_endpoint_state state;	/**< never STARTUP */
	uint64_t stos;			/**< start-time-of-state (ISC semantics, see fo_state.c) */
	enum fo_endpoint_state restart_state; /**< SHUTDOWN/PAUSED: the state to restart in */
	uint64_t last_op;		/**< last time this server served clients; 0 = unknown */
	enum fo_endpoint_state partner;	/**< partner's last known state */
	uint64_t partner_stos;
	uint32_t mclt;			/**< MCLT in force (secondary: learned from CONNECT) */
	bool storage_lost;		/**< set by the operator: start as RECOVER, UPDREQALL, and
					 *   time-of-failure = stos (D12 §9.3.2 step 1) */
};

/**
 * One failover endpoint. Plain memory: the fields are public so that status commands can read
 * them, but only fo_state_*() may write them.
 */
struct fo_state {
	struct fo_state_config cfg;
	uint32_t mclt;			/**< in force */

	enum fo_endpoint_state state;
	uint64_t stos;			/**< start-time-of-state as sent on the wire */
	uint64_t since;			/**< when `state` was actually entered */
	enum fo_endpoint_state recorded; /**< STARTUP: the recorded state (on the wire) */
	enum fo_endpoint_state resume;	/**< STARTUP: previous-state after D12 §9.3.2 step 2 */
	enum fo_endpoint_state restart_state; /**< SHUTDOWN/PAUSED: state for the next start */
	uint64_t last_op;		/**< last time we served clients */
	bool fresh;			/**< started with no stored state */
	bool updreqall;			/**< RECOVER must use UPDREQALL (storage lost) */
	bool backdate_ok;		/**< CMD_RECOVER: nothing pending (ISC STOS back-dating) */

	enum fo_endpoint_state partner;	/**< last known; stale while !comm_ok */
	uint64_t partner_stos;
	bool partner_startup;		/**< partner's last STATE had the STARTUP flag */

	bool link_up;			/**< TCP up */
	bool connected;			/**< CONNECT/CONNECTACK done on it */
	bool comm_ok;			/**< and a STATE received: D12 §8.3 "communications ok" */
	bool upd_requested;		/**< UPDREQ/UPDREQALL sent on this link, UPDDONE pending */
	uint64_t link_deadline;		/**< CONNECT must complete by then */
	uint64_t last_rx, last_tx;
	uint32_t partner_receive_timer;

	uint32_t n_spurious;		/**< events ignored as out of place (UPDDONE, STATE) */
	uint8_t last_reject;		/**< last CONNECT reject-reason seen */
};

/**
 * @brief Set up an endpoint at start-up and enter STARTUP (D12 §9.3.2 steps 1–3).
 * @param st   the object to fill (caller-owned; previous contents are ignored)
 * @param cfg  configuration, copied
 * @param rec  the stored record, or NULL when none exists (a new server, or one that lost its
 *             storage without being told: previous-state RECOVER, time-of-failure = now)
 * @param now  unix seconds
 * @param out  filled with the transition into STARTUP and the SERVICE action
 * @return 0, or -EINVAL when cfg or rec is invalid (out is then empty).
 */
_mustcheck_
int fo_state_init(struct fo_state *st, const struct fo_state_config *cfg,
		  const struct fo_state_record *rec, uint64_t now, struct fo_state_output *out);

/**
 * @brief Feed one event.
 * @param ev   the event; ev->now is its time
 * @param out  reset, then filled with the transitions and the actions, in order
 * @return 0; -EINVAL for an unknown event type;
 *         -EALREADY for FO_EV_LINK_UP while a link is up, or FO_EV_CONNECT_OK on a
 *         connected link (ignored);
 *         -EPERM for an operator command the current state does not allow (nothing changes);
 *         -ENOTCONN for a protocol event without a connected link (ignored).
 */
_mustcheck_
int fo_state_handle(struct fo_state *st, const struct fo_state_event *ev,
		    struct fo_state_output *out);

/**
 * @brief Run the timers: STARTUP, safe period, RECOVER-WAIT, tReceive/tSend, link start-up.
 * @param now  unix seconds; call at fo_state_next_deadline() or later (earlier is harmless)
 * @param out  filled as by fo_state_handle()
 * @note Cannot fail (an FO_EV_TICK event).
 */
void fo_state_tick(struct fo_state *st, uint64_t now, struct fo_state_output *out);

/**
 * @brief The local wall clock stepped by @p step seconds (NTP at boot, `date -s`, a resumed
 *        VM; the caller sees it against a monotonic clock). The timers that measure elapsed
 *        time move with it: tReceive and tSend (last_rx, last_tx), the link start-up timeout,
 *        and the STARTUP and safe-period timers (since). So a forward step is not taken for
 *        the partner's silence, nor a backward one for a reason to stop sending CONTACTs,
 *        and neither shortens a safe period: the failover state does not change because of
 *        the local clock (seed 003). Times the wire carries and the protocol reads as dates
 *        (STOS, RECOVER-WAIT's STOS + MCLT, last_op) are left alone.
 * @param step  seconds, either sign; 0 does nothing
 * @note Cannot fail. Same thread as fo_state_tick(). Call it before the next tick.
 */
void fo_state_clock_step(struct fo_state *st, int64_t step);

/**
 * @brief When the timers next need fo_state_tick().
 * @return unix seconds, or UINT64_MAX when no timer runs.
 * @note The deadline moves with every event: ask again after each call.
 */
uint64_t fo_state_next_deadline(const struct fo_state *st);

/**
 * @brief The record to write for FO_ACT_PERSIST (fills the caller's @p rec).
 * @note Also write it now and then while serving: last_op moves with every event, and the
 *       choice between RECOVER and POTENTIAL-CONFLICT after a restart depends on it
 *       (D12 §9.3.2 step 5).
 */
void fo_state_record(const struct fo_state *st, struct fo_state_record *rec);

/**
 * @return the DHCP service level in the current state, for this mode and role. In hot
 *         standby (Windows), NORMAL gives FO_SERVICE_ALL to the active server and
 *         FO_SERVICE_NONE to the standby, whichever of them is the primary
 *         (fo_state_config.server_role); every other state serves as in load balance, so the
 *         standby serves from its own pool (its reserve) in COMMUNICATIONS-INTERRUPTED and
 *         both serve everyone in PARTNER-DOWN.
 */
enum fo_service fo_state_service(const struct fo_state *st);

/**
 * @return whether @p cfg makes this server the active one of a hot-standby pair (the
 *         explicit server_role, else the primary); meaningless in load balance. The caller
 *         uses the same answer for the HBA it sends (all buckets to the active server) and
 *         for the pool split (the standby holds the reserve).
 */
bool fo_state_active(const struct fo_state_config *cfg);

/**
 * @return in PARTNER-DOWN, whether the partner's available addresses may be allocated yet
 *         (MCLT after entering PARTNER-DOWN, D12 §9.4.2); false in every other state.
 */
bool fo_state_may_use_partner_pool(const struct fo_state *st, uint64_t now);

/**
 * @brief What to put in our STATE message now: in STARTUP the recorded state with the
 *        STARTUP flag (D12 §9.3.1), otherwise the current state.
 * @param wire_state, flags, stos  filled with the option values
 */
void fo_state_wire(const struct fo_state *st, uint8_t *wire_state, uint8_t *flags,
		   uint32_t *stos);

/** @return the server-state option value of @p s (RECOVER-WAIT -> 254); 0 if invalid. */
uint8_t fo_state_to_wire(enum fo_endpoint_state s);

/** @return the state of a server-state value; FO_STATE_UNKNOWN for values no peer sends. */
enum fo_endpoint_state fo_state_from_wire(uint8_t v);

/**
 * @return static names for logs: states as ISC prints them ("normal",
 *         "communications-interrupted", ...); "unknown" for out-of-range values.
 */
const char *fo_state_str(unsigned s);
const char *fo_state_reason_str(unsigned r);
const char *fo_state_action_str(unsigned a);
const char *fo_state_event_str(unsigned e);
const char *fo_service_str(unsigned s);
const char *fo_role_str(unsigned r);
const char *fo_mode_str(unsigned m);
