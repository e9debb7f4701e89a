/*
 * ctlc_transport: one request, one answer over the control socket (doc/control-protocol.md).
 *
 * One request per connection: the request is written as one line of compact JSON, the
 * connection is half-closed and the answer read until the server closes it. Any thread; no
 * state.
 */
#pragma once

#include <stddef.h>

#include <jansson.h>

#include "lw_attr.h"

/** Socket used when neither -s nor $LEASEWIRE_SOCKET names one. */
#define CTLC_DEFAULT_SOCKET	"/run/leasewire/leasewire.sock"
/** Environment variable that overrides CTLC_DEFAULT_SOCKET. */
#define CTLC_SOCKET_ENV		"LEASEWIRE_SOCKET"
/** Seconds leasewirectl waits for each answer unless told otherwise. */
#define CTLC_DEFAULT_TIMEOUT	10.0
/** Leases asked for per lease4-get-page request. */
#define CTLC_PAGE_LIMIT		1000
/** Largest answer ctlc_call() accepts, bytes (a full lease table is well below this). */
#define CTLC_MAX_ANSWER		(256u << 20)

/**
 * @brief Send one request to the control socket and read the answer.
 *
 * Connects to @p socket_path (AF_UNIX, SOCK_STREAM), writes @p request as compact JSON
 * followed by a newline, half-closes the connection (shutdown(SHUT_WR)) and reads until the
 * server closes it. Connecting, writing and reading together take at most @p timeout_s.
 *
 * @param socket_path path of the server's socket.
 * @param request     a JSON object (not modified; the caller keeps its reference).
 * @param timeout_s   deadline for the whole exchange, seconds (> 0).
 * @param answer      receives the answer on success: a JSON object whose "result" member
 *                    is an integer (the value itself is not checked). New reference, release
 *                    with json_decref(). Set to NULL on failure.
 * @param err         receives the reason on failure, for instance "cannot connect to
 *                    /run/leasewire/leasewire.sock: No such file or directory (is leasewired
 *                    running?)".
 * @param errlen      size of @p err.
 * @return 0 on success, or
 *         -EINVAL       @p request is not an object or @p timeout_s is not positive;
 *         -ENAMETOOLONG @p socket_path does not fit in a sockaddr_un;
 *         -ETIMEDOUT    no complete answer within @p timeout_s;
 *         -ENODATA      the server closed the connection without answering;
 *         -EBADMSG      the answer is not JSON, or not an object with an integer "result";
 *         -EMSGSIZE     the answer is larger than CTLC_MAX_ANSWER;
 *         -ENOMEM;
 *         another negative errno from socket(), connect(), send() or recv().
 * @note Any thread. SIGPIPE is never raised (MSG_NOSIGNAL).
 */
_mustcheck_
int ctlc_call(const char *socket_path, json_t *request, double timeout_s, json_t **answer,
	      char *err, size_t errlen);

/**
 * @brief ctlc_call(), following lease4-get-page until the server answers result 3.
 *
 * When @p request is a lease4-get-page request, asks for page after page (each with the
 * "from" member set to the last address of the previous page, each with its own
 * @p timeout_s) and returns one answer that holds them all:
 * `{"result": 0, "text": "N leases", "arguments": {"leases": [...], "count": N}}`, or the
 * server's result 3 answer when the first page is already empty. An answer other than 0 or
 * 3 stops the walk and is returned as it is. Any other request is passed to ctlc_call().
 *
 * @return as ctlc_call(); also -EBADMSG when a page does not hold a "leases" array or does
 *         not move past the previous page (a server bug that would loop forever).
 * @note Any thread. Ownership of @p answer as for ctlc_call().
 */
_mustcheck_
int ctlc_call_all(const char *socket_path, json_t *request, double timeout_s, json_t **answer,
		  char *err, size_t errlen);
