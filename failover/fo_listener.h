/*
 * fo_listener: one TCP listening socket on a local address:port shared by every failover
 * relationship there (issue 12 item 4: a hub with several branch partners on port 647).
 *
 * Links created with fo_link_cfg.shared_listener bind nothing; they are registered here with
 * fo_listener_add(). For each accepted connection the listener finds whose it is, as ISC does
 * (reference/isc-peer/README.md §5.1), by the partner's address and then by the relationship
 * name of the partner's CONNECT:
 *   - no registered link has the source address as its partner: closed at once with no
 *     message (ISC "listener: no matching state"), counted in refused_src;
 *   - only PRIMARY links have it (the partner is a secondary, which connects as a stimulus
 *     and sends nothing, D12 §8.2): handed at once to the first of them that takes it
 *     (fo_link_adopt()), which sends its CONNECT;
 *   - otherwise the listener reads, without blocking, until the first whole message, at most
 *     FO_MSG_MAX_LEN bytes of it and only within the handshake time (cfg of fo_listener_new);
 *     messages other than CONNECT before it are skipped (ISC ignores CONTACT before CONNECT),
 *     up to FO_LISTENER_READ_MAX bytes in all. A CONNECT whose relationship-name is a
 *     registered SECONDARY link whose partner is the source goes to that link with its bytes
 *     (fo_link_adopt()): the link checks and answers it as if it had accepted it itself.
 *     An unknown name, a missing name, a name registered for ANOTHER partner address, or a
 *     name for which we are primary too: CONNECTACK with reject-reason 8 (ISC's layout: the
 *     name received, vendor-class, protocol-version, TLS-reply, reject-reason, message) and
 *     close. The message on the wire is "unknown failover relationship name" (or "missing
 *     relationship-name") in every case, so a configured partner cannot learn the names of
 *     other relationships; the event for the log says what really happened.
 *   - garbage (a bad length, an undecodable frame), too many bytes, or no CONNECT in time:
 *     closed with no message, and an event.
 * A half-sent CONNECT holds only its own slot: every socket is non-blocking and polled with
 * the others, so it delays nobody.
 *
 * Threads: control thread only, like fo_link; nothing blocks. Ownership: the listener owns its
 * listening socket and the connections it has not handed over; a link owns what it adopted.
 * Registered links are not owned: remove a link (fo_listener_remove()) before freeing it,
 * and free every registered link before the listener.
 */
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fo_link.h"

#define FO_LISTENER_MAX_LINKS	32	/**< relationships per listener (Windows: 31 per server) */
#define FO_LISTENER_MAX_PENDING	16	/**< connections waiting for their first CONNECT */
#define FO_LISTENER_READ_MAX	(4 * FO_MSG_MAX_LEN) /**< bytes read before a CONNECT */
#define FO_LISTENER_HANDSHAKE_MS 15000	/**< default wait for the CONNECT (ISC: 15 s) */

/** Event kinds returned by fo_listener_poll(). */
enum fo_listener_ev_type {
	FO_LISTENER_REFUSED = 1,	/**< a connection was refused; @c reason says why */
};

/** One event, for the log. */
struct fo_listener_event {
	enum fo_listener_ev_type type;
	struct in_addr from;		/**< the connection's source address */
	uint8_t reject_reason;		/**< sent in a CONNECTACK; 0 = closed with no message */
	char name[FO_LINK_NAME_MAX];	/**< relationship-name received ("" if none) */
	char reason[FO_LINK_REASON_MAX];	/**< what happened, for the operator */
};

/** Counters; monotonic over the life of the listener. */
struct fo_listener_stats {
	uint64_t accepts;	/**< connections accepted */
	uint64_t handed;	/**< given to a link (fo_link_adopt()) */
	uint64_t refused_src;	/**< source is no registered link's partner: closed at once */
	uint64_t refused_name;	/**< CONNECTACK reject 8: unknown or missing name */
	uint64_t refused_addr;	/**< CONNECTACK reject 8: a known name from another address */
	uint64_t refused_busy;	/**< the link or the listener had no room */
	uint64_t garbage;	/**< closed: undecodable, too long, or too many bytes */
	uint64_t timeouts;	/**< closed: no CONNECT within the handshake time */
};

struct fo_listener;

/**
 * Bind and listen on @p addr:@p port.
 *
 * @param port          host order; 0 = FO_PORT (647).
 * @param handshake_ms  how long an accepted connection may take to bring its CONNECT;
 *                      0 = FO_LISTENER_HANDSHAKE_MS.
 * @param err, errlen   on failure, a message for the operator (may be NULL).
 * @return the listener (fo_listener_free()), or NULL on a socket error (bind: address in use).
 */
__attribute__((warn_unused_result))
struct fo_listener *fo_listener_new(struct in_addr addr, uint16_t port, uint32_t handshake_ms,
				    char *err, size_t errlen);

/** Close the listening socket and every connection not handed over; NULL is a no-op. */
void fo_listener_free(struct fo_listener *ls);

/**
 * Register @p l (created with shared_listener) to receive its connections.
 * @return 0; -EEXIST when a registered link has the same relationship name (names are
 *         unique per listener, as per server on Windows) or @p l is registered already;
 *         -ENOSPC beyond FO_LISTENER_MAX_LINKS.
 */
__attribute__((warn_unused_result))
int fo_listener_add(struct fo_listener *ls, struct fo_link *l);

/** Unregister @p l (no-op if it is not registered). Call before fo_link_free(l). */
void fo_listener_remove(struct fo_listener *ls, struct fo_link *l);

/** The sockets to wait on (as fo_link_fds()); FO_LISTENER_MAX_PENDING + 1 is enough. */
int fo_listener_fds(const struct fo_listener *ls, struct pollfd *out, int max);

/** Milliseconds from @p now_ms until the next timer of @p ls (at most 1000). */
int fo_listener_timeout_ms(const struct fo_listener *ls, uint64_t now_ms);

/**
 * Accept, read the first messages, hand connections to their links, refuse the others, run
 * the handshake timers. Call it in the same loop as fo_link_poll() of the registered links
 * (before them, so a handed CONNECT is answered in the same iteration).
 *
 * @param now_ms  monotonic milliseconds.
 * @param wall_s  wall clock, the time field of the CONNECTACK rejects.
 * @param ev      @p max_ev events, filled from the start; refusals beyond @p max_ev are only
 *                counted.
 * @return the number of events written.
 */
__attribute__((warn_unused_result))
int fo_listener_poll(struct fo_listener *ls, uint64_t now_ms, uint32_t wall_s,
		     struct fo_listener_event *ev, int max_ev);

/** @return the counters of @p ls (valid until fo_listener_free()). */
const struct fo_listener_stats *fo_listener_stats(const struct fo_listener *ls);
