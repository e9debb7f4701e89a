/*
 * fo_link: the TCP/647 link to the failover partner (draft-ietf-dhc-failover-12 §7.8, §8),
 * as ISC dhcpd 4.4.3 runs it (reference/isc-peer/README.md §3.7, §4, §5).
 *
 * One struct fo_link per failover relationship. It owns kernel sockets only: a listening
 * socket on the local address:port (unless cfg.shared_listener: then a struct fo_listener
 * shared by every relationship on that address:port accepts, and hands over the link's own
 * connections with fo_link_adopt(); see fo_listener.h), the outgoing connection it opens to
 * the partner every 5 s while the link is down, and the connections it accepted. Everything is non-blocking;
 * the caller sleeps in poll() on fo_link_fds() (at most fo_link_timeout_ms()) and then calls
 * fo_link_poll(), which does all the I/O that is ready and returns events.
 *
 * What the link does on its own, as ISC does:
 *   - Accepts a connection only from the configured partner address; others are closed at
 *     once with no message and counted (stats.refused_src).
 *   - On every established connection the PRIMARY sends CONNECT; the SECONDARY answers
 *     CONNECTACK, or a CONNECTACK with reject-reason + message: 8 "unknown failover
 *     relationship name" (name mismatch), 8 "missing relationship-name", 18 "invalid HBA"
 *     (not 32 bytes), 5 "no MCLT provided", 7 "already connected" (a CONNECT while the link
 *     is up). A primary receiving a CONNECTACK with a reject-reason reports FO_LINK_REJECTED
 *     and closes; one receiving a CONNECTACK with the wrong name sends DISCONNECT (reason 8
 *     "remote failover relationship name NAME does not match") and reports FO_LINK_REJECTED
 *     with @c local set.
 *   - Clock skew (issue 12 item 6; seed 003 "Time synchronization"): the time of EVERY
 *     accepted message, CONNECT and CONNECTACK included, is compared with our wall clock.
 *     Beyond FO_LINK_MAX_SKEW (60 s) the link is "out of sync" until a message comes within
 *     FO_LINK_SKEW_CLEAR (50 s); while it lasts every BNDUPD received is answered by the
 *     link itself with BNDACK reject-reason 4 (time mismatch too great) and a message naming
 *     the skew, and is not reported to the caller. Nothing else changes: the handshake is
 *     NOT refused for skew (it was until issue 12), the link stays up, CONTACT, STATE and
 *     every other message flow, so the failover state does not move because of it. The
 *     caller reads the condition with fo_link_skew() after each fo_link_poll() and logs a
 *     critical event when fo_link_skew.episodes grows. Why 4 and not 15 ("outdated binding
 *     information"): 15 tells the sender its binding lost the D12 §7.1.3 comparison and
 *     should be forgotten, while this one was never compared; 4 names the cause, so a sender
 *     can keep the update and send it again once the clocks agree. ISC logs a rejected
 *     BNDACK whatever its reason. ISC itself still refuses a CONNECT or CONNECTACK more than
 *     60 s off (reject 4 / DISCONNECT 4): that check is on ISC's side and needs nothing from
 *     us, so a skewed ISC partner stays refused while a skewed leasewire partner stays up.
 *   - Only one link is up at a time: when one connection completes the handshake, the others
 *     are closed; a primary closes connections accepted while the link is up, a secondary
 *     answers their CONNECT with reject 7.
 *   - A connection that brings no handshake within our receive-timer is closed (ISC "link
 *     startup timeout"); no event, the link was never up.
 *   - After FO_LINK_UP: CONTACT when nothing was sent for the partner's receive-timer / 3
 *     (our own receive-timer if the partner sent none); FO_LINK_DOWN "timeout waiting for
 *     failover peer" after our receive-timer with nothing received (closed with no
 *     DISCONNECT, as ISC; D12 would send reject 17); FO_LINK_DOWN on any codec error
 *     ("protocol error: " + fo_err_str()), on EOF, on a socket error and on a received
 *     DISCONNECT. After a LINK_DOWN the link connects again at once, then every 5 s; after a
 *     REJECTED it waits 5 s (ISC retries every 5 s as well).
 *   - Bounded memory: one read buffer (2 messages) and one send buffer (FO_LINK_SNDBUF_MAX
 *     bytes) per connection, allocated in fo_link_new(). A partner that does not read until
 *     that buffer is full makes fo_link_send() fail with -ENOBUFS and the link go down
 *     ("send buffer full: failover peer not reading"). A partner that sends faster than we
 *     read is throttled by TCP: fo_link_poll() reads only as much as its event array holds.
 *
 * Time: every timer runs on the caller's monotonic now_ms. The message time field (and the
 * skew check) use the caller's wall clock in seconds, passed to fo_link_poll() and remembered
 * for fo_link_send(). The module reads no clock.
 *
 * Message authentication (D12 §11.1), only when cfg.shared_secret is set; with no secret the
 * link sends exactly the bytes it sent before this existed (ISC never sends a digest):
 *   - Every message we send (CONNECT, CONNECTACK, CONTACT, DISCONNECT and all of
 *     fo_link_send()/fo_link_send_xid()) carries a message-digest of the configured type
 *     (cfg.digest): type 1, HMAC-MD5 (D12; the default), or type 240, HMAC-SHA-256
 *     (leasewire's own, between leasewire partners: fo_digest.h says why 240), keyed with the
 *     secret over the whole message with the MAC bytes zero, written as the last option,
 *     where ISC's parser wants it (D12 says first; see fo_digest.h). Windows' type 2 is not
 *     implemented, so a Windows partner with a secret is refused (reject 12); no Windows
 *     compatibility is claimed.
 *   - Every received CONNECT, CONNECTACK and message on the up link is verified before it is
 *     acted on (constant-time compare). Missing digest: reject 21 "message digest missing";
 *     wrong digest: 20 "message digest failed to compare"; a type other than ours (the
 *     partner signs with the other algorithm, or is Windows): 12 "message digest type N not
 *     supported (HMAC-MD5 only)" / "(HMAC-SHA256 only)". A secondary answers such a CONNECT with a CONNECTACK
 *     reject; a primary answers such a CONNECTACK with DISCONNECT + that reason (REJECTED,
 *     @c local); on the up link we send DISCONNECT + that reason and report FO_LINK_DOWN with
 *     "TEXT: TYPE xid N" as the reason.
 *   - With NO secret, a received digest is reject 13 "message digest not configured", in the
 *     same three places (D12 §11.1). So a pair where one side has a secret fails at CONNECT:
 *     primary with, secondary without: the secondary rejects 13; the other way round: 21.
 *   - A CONNECTACK carrying a reject-reason is reported as the partner's rejection (REJECTED,
 *     not @c local) even when it does not authenticate (the partner may have no secret, or
 *     another one: that is what it is telling us). Acting on it only closes a connection we
 *     could not use, which a forged TCP RST achieves anyway (D12 §11: the digest does not
 *     protect TCP).
 *   - Replays (D12 §11.1). (a) xid: on the up link, the xid of each message whose xid the
 *     sender chose (POOLREQ, BNDUPD, CONNECT, UPDREQALL, UPDREQ, STATE, CONTACT, DISCONNECT)
 *     must be greater (serial arithmetic, RFC 1982, so the 32-bit wrap is not a replay) than
 *     the previous such xid on that connection, the first one greater than 0; otherwise
 *     DISCONNECT reject 6 and FO_LINK_DOWN "replayed message: ...". Responses (POOLRESP,
 *     BNDACK, UPDDONE; CONNECTACK) are exempt: D12 §6.1 makes them copy the REQUEST's xid,
 *     which belongs to our own sequence, so a literal "every message" reading of §11.1 would
 *     fail on the first BNDACK of any real pair. A replayed response is caught by the caller,
 *     which matches responses to the requests it has outstanding. (b) CONNECT time: the
 *     secondary keeps the time of the last authenticated CONNECT and rejects (CONNECTACK
 *     reject 6) one whose time is not later, so a recorded session cannot be replayed on a new
 *     connection (its xids would start over). That time lives in the struct fo_link: it is
 *     lost with it (restart, fo_link_free()).
 *
 * Not done here: the state machine (fo_state), BNDUPD flow control (max-unacked is only
 * reported), TLS (ISC has none; we send TLS-request/TLS-reply 0).
 *
 * Threads: a struct fo_link belongs to one thread, the control thread's failover loop. No
 * function takes a lock or may run concurrently on the same object. No function blocks.
 */
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fo_msg.h"
#include "lw_attr.h"

#define FO_LINK_NAME_MAX	64	/**< longest relationship name accepted in the config */
#define FO_LINK_VENDOR_MAX	64	/**< longest vendor-class accepted in the config */
#define FO_LINK_REASON_MAX	160	/**< size of fo_link_event.reason, with the NUL */
#define FO_LINK_SNDBUF_MAX	65536	/**< bytes queued per connection before -ENOBUFS */
#define FO_LINK_MAX_CONN	4	/**< connections at once: outgoing + accepted */
#define FO_LINK_RETRY_MS	5000	/**< connect retry period while down (ISC: 5 s) */
#define FO_LINK_MAX_SKEW	60	/**< seconds of skew beyond which the link is out of sync
				 *   (ISC's CONNECT limit, Windows' DhcpMsgSyncDeltaTime) */
#define FO_LINK_SKEW_CLEAR	50	/**< out of sync ends at this skew or less (hysteresis) */
#define FO_LINK_SECRET_MAX	128	/**< shared secret: at most this - 1 bytes */

/** Our role in the relationship. */
enum fo_link_role {
	FO_LINK_PRIMARY = 0,
	FO_LINK_SECONDARY = 1,
};

/** Configuration; copied by fo_link_new(), the caller keeps ownership of its strings. */
struct fo_link_cfg {
	const char *name;		/**< relationship name, 1..FO_LINK_NAME_MAX-1 bytes */
	enum fo_link_role role;
	struct in_addr local_addr;	/**< listen on it, and connect from it */
	uint16_t local_port;		/**< host order; 0 = FO_PORT */
	struct in_addr partner_addr;	/**< the only source accepted; connect to it */
	uint16_t partner_port;		/**< host order; 0 = FO_PORT */
	uint32_t receive_timer;		/**< ours, seconds (ISC max-response-delay), >= 1 */
	uint32_t max_unacked;		/**< ours, sent in CONNECT/CONNECTACK, >= 1 */
	uint32_t mclt;			/**< primary only: sent in CONNECT */
	uint8_t hba[FO_HBA_LEN];	/**< primary only: sent in CONNECT */
	const char *vendor_class;	/**< sent in CONNECT/CONNECTACK; NULL = "leasewire" */
	/**
	 * Relationship shared secret (D12 §11.1), 1..FO_LINK_SECRET_MAX-1 bytes, used as the
	 * HMAC key as is; NULL or "" = none (no digest sent, a received one is refused).
	 * Only a keyed hash state derived from it is kept (wiped by fo_link_free()).
	 */
	const char *shared_secret;
	/**
	 * false: the link binds its own listening socket on local_addr:local_port (one
	 * relationship per address and port). true: it binds nothing; a struct fo_listener
	 * shared by every relationship on that address and port (fo_listener.h) hands it the
	 * connections that are its own with fo_link_adopt(). Outgoing connections are the same
	 * either way.
	 */
	bool shared_listener;
	/**
	 * With a secret: the message-digest type, FO_DIGEST_HMAC_SHA256 (240, between leasewire
	 * partners) or FO_DIGEST_HMAC_MD5 (1, D12); 0 = FO_DIGEST_HMAC_MD5. Both partners must
	 * use the same one. Any other value: fo_link_new() fails.
	 */
	uint8_t digest;
};

/** Event kinds returned by fo_link_poll(). */
enum fo_link_ev_type {
	FO_LINK_UP = 1,		/**< handshake done; partner values in the event */
	FO_LINK_DOWN,		/**< the up link is gone; @c reason says why */
	FO_LINK_MESSAGE,	/**< a message other than CONNECT/CONNECTACK/DISCONNECT
				 *   (CONTACT included: the link has already reset its timer) */
	FO_LINK_REJECTED,	/**< a handshake refused by the partner, or by us (@c local) */
};

/**
 * One event. For FO_LINK_MESSAGE, @c msg's views point into @c raw OF THIS EVENT: use them
 * in place (do not copy the struct and keep the copy), and only until the event array is
 * passed to the next fo_link_poll().
 */
struct fo_link_event {
	enum fo_link_ev_type type;
	/* FO_LINK_UP: the partner's values (0 / false when it sent none). */
	uint32_t partner_receive_timer;
	uint32_t partner_max_unacked;
	uint32_t partner_mclt;		/**< secondary only: the primary's MCLT */
	bool partner_has_hba;		/**< secondary only */
	uint8_t partner_hba[FO_HBA_LEN];
	int32_t skew;			/**< UP, MESSAGE: partner's message time - our wall clock,
					 *   s (see fo_link_skew() for the alarm) */
	/* FO_LINK_REJECTED. */
	bool local;			/**< true: we refused the partner's handshake */
	uint8_t reject_reason;		/**< enum fo_reject_reason */
	/*
	 * FO_LINK_DOWN, FO_LINK_REJECTED: text for the log (REJECTED: the message option as
	 * received or sent, else the reject-reason's name). FO_LINK_UP: the partner's
	 * vendor-class.
	 */
	char reason[FO_LINK_REASON_MAX];
	/* FO_LINK_MESSAGE. */
	struct fo_msg msg;
	uint8_t raw[FO_MSG_MAX_LEN];
};

/** Counters; monotonic over the life of the object. */
struct fo_link_stats {
	uint64_t refused_src;	/**< accepted connections closed: wrong source address */
	uint64_t refused_dup;	/**< connections closed because another link was up/busy */
	uint64_t connects;	/**< outgoing connect() attempts */
	uint64_t accepts;	/**< connections accepted from the partner */
	uint64_t startup_timeouts; /**< connections closed without a handshake */
	uint64_t ignored;	/**< messages ignored (unknown type, before handshake, ...) */
	uint64_t rx_msgs;
	uint64_t tx_msgs;
	uint64_t auth_failed;	/**< messages refused: digest missing, wrong, unsupported type,
				 *   or present without a secret */
	uint64_t replayed;	/**< messages refused: xid or CONNECT time not increasing */
};

/** The partner's clock as the link sees it (fo_link_skew()). */
struct fo_link_skew {
	bool out_of_sync;	/**< now: the last message was beyond FO_LINK_MAX_SKEW (or, once
				 *   out, not yet back within FO_LINK_SKEW_CLEAR) */
	int32_t skew;		/**< last accepted message's time - our wall clock, s */
	int32_t worst;		/**< the largest |skew| of the current or last episode (signed) */
	uint64_t episodes;	/**< times out of sync began: a change means "log critical" */
	uint64_t rejected;	/**< BNDUPDs answered with reject 4 because of it */
};

struct fo_link;

/**
 * Create the link and start listening.
 *
 * @param cfg     copied; the strings too.
 * @param err     on failure, a message for the operator (may be NULL).
 * @param errlen  size of @p err.
 * @return the link, owned by the caller (fo_link_free()), or NULL on a bad config (including
 *         a shared secret of FO_LINK_SECRET_MAX bytes or more) or a socket error (bind:
 *         address in use, ...).
 * @note Control thread. Does not connect yet: the first fo_link_poll() does.
 */
_mustcheck_
struct fo_link *fo_link_new(const struct fo_link_cfg *cfg, char *err, size_t errlen);

/**
 * Close every socket, wipe the key and free @p l. NULL is a no-op. Sends nothing (no
 * DISCONNECT).
 */
void fo_link_free(struct fo_link *l);

/**
 * The sockets to wait on and their events.
 *
 * @param out  filled with up to @p max entries (fd, events; revents cleared).
 * @param max  FO_LINK_MAX_CONN + 1 is always enough.
 * @return the number of entries written.
 * @note The set changes after every fo_link_poll()/fo_link_send(): ask again each time.
 *       Sleep at most fo_link_timeout_ms() so the timers run.
 */
int fo_link_fds(const struct fo_link *l, struct pollfd *out, int max);

/**
 * How long the caller may sleep before the next timer of @p l is due.
 *
 * @return milliseconds from @p now_ms (0 = call fo_link_poll() now), at most FO_LINK_RETRY_MS.
 */
int fo_link_timeout_ms(const struct fo_link *l, uint64_t now_ms);

/**
 * Do all I/O that is ready and run the timers: accept, connect (retry every 5 s while no link
 * is up), connect completion, read and handle messages, write, handshake, CONTACT, receive
 * timeout.
 *
 * @param now_ms  monotonic milliseconds (any origin, never going back).
 * @param wall_s  wall clock, seconds since 1970: the time field we send and the reference of
 *                the skew check; remembered for fo_link_send().
 * @param ev      array of @p max_ev events owned by the caller, filled from the start.
 * @param max_ev  >= 2 (below that nothing is done and 0 is returned). When the return value
 *                equals @p max_ev there may be more: call again without sleeping.
 * @return the number of events written.
 * @note Control thread; never blocks. Views in the FO_LINK_MESSAGE events stay valid until
 *       @p ev is passed again.
 */
_mustcheck_
int fo_link_poll(struct fo_link *l, uint64_t now_ms, uint32_t wall_s,
		 struct fo_link_event *ev, int max_ev);

/**
 * Send one message on the up link.
 *
 * @param m  type and options set by the caller; fo_link_send() overwrites m->time (the wall
 *           clock of the last fo_link_poll()) and m->xid (a per-link counter starting at 1 on
 *           every new link). A response that must echo a request's xid (BNDACK, POOLRESP,
 *           UPDDONE) is sent with fo_link_send_xid(). With a shared secret the message is
 *           signed (a message-digest the caller set in @p m is replaced; @p m itself keeps
 *           its options); without one it is sent as given.
 * @return 0 (queued, written as far as the socket takes it), -ENOTCONN when no link is up,
 *         -EINVAL for a handshake type (CONNECT, CONNECTACK), an fo_msg_encode() error
 *         (FO_E_*), or -ENOBUFS when the send buffer is full: then the link is dropped and
 *         the next fo_link_poll() reports FO_LINK_DOWN.
 * @note Control thread; never blocks.
 */
_mustcheck_
int fo_link_send(struct fo_link *l, struct fo_msg *m);

/**
 * As fo_link_send(), with the xid given (the counter is not used or advanced). For responses
 * only: with a shared secret the partner requires the xids of everything else to increase.
 */
_mustcheck_
int fo_link_send_xid(struct fo_link *l, struct fo_msg *m, uint32_t xid);

/**
 * Drop the up link: send DISCONNECT with @p reject_reason first when it is not 0 (best
 * effort: whatever the socket takes now), then close. The next fo_link_poll() reports
 * FO_LINK_DOWN with @p text as the reason, and the link connects again as after any
 * LINK_DOWN. No-op when no link is up.
 */
void fo_link_disconnect(struct fo_link *l, uint8_t reject_reason, const char *text);

/** @return true when a link has completed its handshake and is not down. */
bool fo_link_is_up(const struct fo_link *l);

/**
 * Take over a connection accepted by someone else (struct fo_listener), with the bytes
 * already read from it (for a secondary: the partner's whole CONNECT).
 *
 * @param fd   a connected TCP socket; on success @p l owns it (closes it), on failure the
 *             caller still does.
 * @param buf  bytes read from @p fd, handled by the next fo_link_poll() before anything
 *             else from the socket (answer CONNECTACK, or a reject as for an own accept);
 *             NULL when @p len is 0.
 * @param len  at most 2 * FO_MSG_MAX_LEN.
 * @param now_ms, wall_s  the caller's clocks, as fo_link_poll() takes them: a link not
 *             polled yet (a relationship just started, handed a connection by the listener
 *             polled before it) would otherwise date the connection from time 0, time its
 *             handshake out at its first poll and send a CONNECT stamped 1970. An earlier
 *             time than the link's own is ignored.
 * @return 0; -EBUSY when a primary's link is up or no connection slot is free (the caller
 *         closes @p fd); -EINVAL for @p len too large.
 * @note Control thread. A primary sends its CONNECT on it at once, as on its own accept.
 */
__attribute__((warn_unused_result))
int fo_link_adopt(struct fo_link *l, int fd, const uint8_t *buf, size_t len, uint64_t now_ms,
		  uint32_t wall_s);

/** @return the relationship name of @p l (NUL-terminated, owned by @p l). */
const char *fo_link_name(const struct fo_link *l);

/** @return the role of @p l. */
enum fo_link_role fo_link_role(const struct fo_link *l);

/** @return the partner address of @p l (the only source accepted). */
struct in_addr fo_link_partner_addr(const struct fo_link *l);

/**
 * The clock-skew condition of @p l (copied into @p out). Call after each fo_link_poll():
 * when @c episodes grew, log a critical event naming @c skew ("out of time synchronization
 * with the failover partner by N s"; Windows event 20253); when @c out_of_sync went from
 * true to false, log that the clocks agree again. While @c out_of_sync the link rejects
 * BNDUPDs itself; the caller needs to do nothing else (its state machine must not move).
 * It survives link down/up: a new link's CONNECT/CONNECTACK re-evaluates it.
 */
void fo_link_skew(const struct fo_link *l, struct fo_link_skew *out);

/** @return the counters of @p l (a pointer into it, valid until fo_link_free()). */
const struct fo_link_stats *fo_link_stats(const struct fo_link *l);
