/*
 * ctl: the control socket's transport, with no knowledge of commands.
 *
 * A unix stream socket served by an epoll loop on the control thread. Each connection
 * carries one request (one JSON object) and gets one answer (one JSON object and "\n"), then
 * is closed. Everything is non-blocking: a slow, silent or hostile client costs a file
 * descriptor and at most max_request bytes, never a stall. Requests that are too large,
 * malformed, or not answered... are answered here with result 1 and a precise text; only
 * well-formed objects reach the dispatch callback.
 *
 * The dispatch callback may answer at once (return the answer) or later (return NULL and
 * keep the struct ctl_conn to call ctl_conn_answer() on a later loop iteration), which is
 * how commands that wait for a worker or for durability answer without blocking the loop.
 *
 * Control thread only.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lw_attr.h"

/** Answer result codes (as Kea's). */
enum ctl_result {
	CTL_OK = 0,
	CTL_ERROR = 1,
	CTL_UNSUPPORTED = 2,
	CTL_EMPTY = 3,
	CTL_CONFLICT = 4,
};

struct ctl_server;
struct ctl_conn;

/**
 * Handle one request. @p req is the parsed object (borrowed, valid during the call).
 * @return the answer (ownership passes to ctl), or NULL to answer later through
 *         ctl_conn_answer(@p conn); the connection stays open until then.
 */
typedef json_t *(*ctl_dispatch_fn)(void *arg, struct ctl_conn *conn, json_t *req);

struct ctl_opts {
	const char *path;		/**< socket path; its directory is created (0750) */
	const char *group;		/**< group name for mode 0660, or NULL/"" for 0600 */
	size_t max_request;		/**< bytes; 0 = 1 MiB */
	unsigned timeout_ms;		/**< a request must be complete within; 0 = 10000 */
	unsigned max_conns;		/**< concurrent connections; 0 = 64 */
};

/**
 * Create the socket (an existing socket file at the path is replaced only when nothing
 * listens on it) and an epoll instance.
 * @return the server, or NULL with a message in @p err.
 */
struct ctl_server *ctl_server_open(const struct ctl_opts *o, ctl_dispatch_fn fn, void *arg,
				   char *err, size_t errlen);

/** The transport's counters (statistic-get's control-* rows, LW_CTL_COUNTER_TABLE). */
struct ctl_stats {
	uint64_t write_timeouts;	/**< connections closed: the answer was not read in time */
	uint64_t read_timeouts;		/**< requests not complete in time (answered so) */
	uint64_t refused_busy;		/**< connections refused: max_conns were open */
};

/**
 * The counters. A client that never reads its answer costs one buffered answer until the
 * timeout (ctl_opts.timeout_ms, counted from when the answer was ready), then its connection
 * is closed and write_timeouts grows; max_conns bounds how many can do so at once. The loop
 * never waits for a client. Control thread.
 */
const struct ctl_stats *ctl_server_stats(const struct ctl_server *s);

/** The epoll descriptor: readable when ctl_server_poll() has work (for a caller that waits
 *  on more descriptors than the socket's). */
int ctl_server_fd(const struct ctl_server *s);

/** Close every connection, remove the socket file, free. NULL is a no-op. */
void ctl_server_close(struct ctl_server *s);

/**
 * Wait up to @p timeout_ms for socket activity and handle all of it: accept, read, answer,
 * expire connections past their timeout. Blocks only in epoll_wait.
 * @return the number of requests dispatched, or a negative errno on a fatal error.
 */
int ctl_server_poll(struct ctl_server *s, int timeout_ms);

/** Answer a request that the dispatch callback deferred. Takes ownership of @p answer (may
 *  be NULL when the connection is gone). Frees the connection once it is written, at once
 *  when the client has gone (ctl_conn_gone()). */
void ctl_conn_answer(struct ctl_conn *c, json_t *answer);

/**
 * Has the client of a deferred request hung up? Then nobody will read its answer: a command
 * that is still working for it (a table walk over several loop iterations) may stop and
 * release the connection with ctl_conn_answer(@p c, NULL). Seen at the server's last
 * ctl_server_poll(). Control thread.
 */
bool ctl_conn_gone(const struct ctl_conn *c);

/** Build an answer object: {"result": r, "text": text (printf), "arguments": args}.
 *  @p args may be NULL; its reference is stolen. */
_printf_(3, 4)
json_t *ctl_answer(int result, json_t *args, const char *fmt, ...);

/**
 * Parse one request from a complete buffer (exposed for the fuzz harness and tests): the
 * same checks the server applies.
 * @return the request object (new reference), or NULL and *answer set to the error answer.
 */
json_t *ctl_parse_request(const char *buf, size_t len, size_t max_request, json_t **answer);

/**
 * Does @p buf hold a complete JSON value yet? 1 yes, 0 not yet, -1 it never will (the
 * bytes so far are not a JSON prefix); used while reading.
 */
int ctl_request_complete(const char *buf, size_t len);
