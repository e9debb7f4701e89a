/*
 * mgmt_link: the sockets of the management channel between leasewire partners
 * (mgmt_proto.h is the codec, mgmt_proto.c the design).
 *
 * One listener on the configured address and port, and outgoing connections to partners,
 * all non-blocking and driven by the control loop: mgmt_link_fds() adds them to its poll
 * set, mgmt_link_timeout_ms() bounds its sleep, mgmt_link_poll() does the work. Nothing here
 * ever blocks.
 *
 * Connections. The side with something to say connects (from the configured address, so
 * the partner can match it against its own list), sends HELLO, waits for WELCOME, sends one
 * REQUEST, waits for its ANSWER, reports it through ops->answer and closes: one request per
 * connection, at most one in flight per partner, which keeps order trivially. The listener
 * accepts only configured partners' addresses (anyone else gets a REFUSE "peer" and is
 * closed), checks HELLO against the listener's nonce cache, answers each REQUEST through
 * ops->request, and closes an idle connection after MGMT_LINK_IDLE_MS.
 *
 * Bounds. A read buffer grows to the frame being read and never beyond MGMT_FRAME_MAX; a
 * write buffer holds the frames of one exchange: a responder reads its partner's next
 * request only once the last answer is written, so a partner that never reads cannot grow
 * it. A frame half-read or half-written, or an
 * answer not received, within MGMT_LINK_TIMEOUT_MS closes the connection (an initiator's
 * request is then reported as failed with MGMT_E_TIMEOUT's reason). At most
 * MGMT_LINK_MAX_CONN connections exist; more are accepted and closed at once.
 *
 * Threads: control thread only. Callbacks run inside mgmt_link_poll().
 */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "lw_attr.h"

#define MGMT_LINK_MAX_CONN	16		/**< connections, both directions */
#define MGMT_LINK_TIMEOUT_MS	10000		/**< a frame or an answer takes longer: closed */
#define MGMT_LINK_IDLE_MS	30000		/**< an accepted connection with nothing to do */

/** What the link asks of its owner. Every callback runs on the control thread. */
struct mgmt_link_ops {
	void *arg;
	/** The shared secret of partner @p addr (host order), or NULL: not a partner. */
	const char *(*secret)(void *arg, uint32_t addr);
	/** A REQUEST from partner @p addr (checked against the field tables and authentic).
	 *  @return the ANSWER's body ("ok", "error"?, "digest"?; the link adds "id"), a new
	 *  reference the link takes; NULL = out of memory (the connection closes). */
	json_t *(*request)(void *arg, uint32_t addr, const json_t *req);
	/** The outcome of the request mgmt_link_send() sent to @p addr: @p ans is the ANSWER
	 *  body (borrowed), or NULL when none came (@p err says why: unreachable, refused with
	 *  its code, timed out, closed). With no answer, @p sent says whether the REQUEST had
	 *  been handed to the connection (the handshake passed and the partner did not refuse
	 *  it): the partner may then have applied it, the outcome is unknown. Called exactly
	 *  once per accepted send. */
	void (*answer)(void *arg, uint32_t addr, const json_t *ans, bool sent, const char *err);
};

struct mgmt_link;

/**
 * Listen on @p addr:@p port (host order).
 * @param ops  copied.
 * @return the link (close it with mgmt_link_close()), or NULL with the reason in @p err.
 */
struct mgmt_link *mgmt_link_open(uint32_t addr, uint16_t port, const struct mgmt_link_ops *ops,
				 char *err, size_t errlen);

/** Close every connection and the listener; requests in flight are reported failed. NULL:
 *  no-op. */
void mgmt_link_close(struct mgmt_link *l);

/**
 * Send request @p req (its "op" and fields; the link adds "id") to partner @p peer on
 * @p port: connect, handshake, request; the outcome comes through ops->answer.
 * @param req  a reference the link takes, whatever the result.
 * @return 0, -EBUSY (a request to @p peer is in flight), -EPERM (@p peer has no secret),
 *         -ENOSPC (no free connection slot), or a negative errno of socket()/connect().
 */
_mustcheck_
int mgmt_link_send(struct mgmt_link *l, uint32_t peer, uint16_t port, json_t *req);

/** @return true while a request to @p peer is in flight. */
bool mgmt_link_busy(const struct mgmt_link *l, uint32_t peer);

/** Put the link's fds (at most @p max) in @p pfd. @return how many. */
int mgmt_link_fds(const struct mgmt_link *l, struct pollfd *pfd, int max);

/** Milliseconds until the next deadline, or -1 when none. */
int mgmt_link_timeout_ms(const struct mgmt_link *l);

/** Replace MGMT_LINK_TIMEOUT_MS and MGMT_LINK_IDLE_MS for the connections' next deadlines
 *  (tests: the bounds in milliseconds rather than seconds). */
void mgmt_link_set_timeouts(struct mgmt_link *l, unsigned timeout_ms, unsigned idle_ms);

/** Accept, read, write, time out: everything that can be done now, without blocking. */
void mgmt_link_poll(struct mgmt_link *l);
