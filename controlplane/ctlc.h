/*
 * ctlc: the client side of the leasewired control socket (doc/control-protocol.md).
 *
 * Four independent pieces, so that each can be tested alone and reused by integration tests:
 *
 *   - transport: ctlc_call() sends one request and returns the parsed answer; ctlc_call_all()
 *     does the same but follows lease4-get-page until the server says there is no more;
 *   - command line: ctlc_parse_argv() turns the operator's words ("lease add 198.18.0.9
 *     --mac 02:00:5e:12:00:05") into one protocol request, without any I/O except reading
 *     the JSON files the command names;
 *   - human output: ctlc_render() prints an answer as tables or "key: value" lines;
 *   - Prometheus output: ctlc_render_prometheus() prints statistics or failover status in
 *     the text exposition format 0.0.4.
 *
 * Nothing here keeps state between calls and nothing is thread-local: every function may be
 * called from any thread, on distinct arguments. Errors are negative errno values with one
 * NUL-terminated, human-readable message in the caller's buffer (never a trailing newline).
 */
#pragma once

#include <stdio.h>
#include <time.h>

#include <jansson.h>

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

/** Process exit status when the server could not be reached or its answer was unusable. */
#define CTLC_EXIT_FAILURE	5
/** Process exit status for a command-line error (sysexits EX_USAGE). */
#define CTLC_EXIT_USAGE		64

/* struct ctlc_cmd.flags and struct ctlc_view.flags */
/** The request is a lease4-get-page request: fetch every page with ctlc_call_all(). */
#define CTLC_F_PAGED		(1u << 0)
/** Print the statistics (or failover status) in the Prometheus text format, not a table. */
#define CTLC_F_PROMETHEUS	(1u << 1)
/** Show everything, including the zero drop-* counters a table normally hides. */
#define CTLC_F_ALL		(1u << 2)
/** Print the answer as JSON whatever the command (the "raw" command sets this). */
#define CTLC_F_JSON		(1u << 3)

/**
 * One parsed command line: the request to send and how to show its answer.
 *
 * Initialise with `struct ctlc_cmd c = {0};` and release with ctlc_cmd_deinit().
 */
struct ctlc_cmd {
	json_t *request;	/**< {"command": ..., "arguments"?: ...}; owned, NULL on error */
	const char *synopsis;	/**< static usage line of the command, without the program
				     name; set as soon as the command words were recognised
				     (also when its arguments were wrong), else NULL */
	unsigned int flags;	/**< CTLC_F_* */
};

/** How ctlc_render_view() shows an answer. */
struct ctlc_view {
	unsigned int flags;	/**< CTLC_F_ALL is the only flag the renderer reads */
	time_t now;		/**< "now" for relative times; 0 means time(NULL) */
};

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
__attribute__((warn_unused_result))
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
__attribute__((warn_unused_result))
int ctlc_call_all(const char *socket_path, json_t *request, double timeout_s, json_t **answer,
		  char *err, size_t errlen);

/**
 * @brief Turn a leasewirectl command line into a protocol request.
 *
 * @p argv starts with the command word (the global options have been taken off already):
 * `{"lease", "show", "02:00:5e:12:00:05"}` gives `{"command": "lease4-get", "arguments":
 * {"hw-address": "02:00:5e:12:00:05"}}`. Addresses, MAC addresses, client ids, lifetimes,
 * states and ranges are checked and normalised here; FILE arguments are read ("-" is
 * standard input) and must hold one JSON object.
 *
 * @param argc   number of words in @p argv.
 * @param argv   the words; not modified.
 * @param cmd    receives the request, the command's synopsis and its CTLC_F_* flags. Must be
 *               zeroed (or deinitialised) by the caller; on failure cmd->request is NULL but
 *               cmd->synopsis may be set.
 * @param err    receives the message on failure, without the program name, for instance
 *               `lease add: missing --mac or --client-id`.
 * @param errlen size of @p err.
 * @return 0, or
 *         -EINVAL  the command line is wrong (a usage error);
 *         -EBADMSG a FILE (or "-" input) is not valid JSON or not a JSON object; the message
 *                  is "PATH:LINE:COLUMN: invalid JSON: reason" or "PATH: ...";
 *         -ENOMEM;
 *         another negative errno when a FILE cannot be read ("cannot read PATH: reason").
 * @note Any thread, but reading "-" consumes standard input.
 */
__attribute__((warn_unused_result))
int ctlc_parse_argv(int argc, char **argv, struct ctlc_cmd *cmd, char *err, size_t errlen);

/**
 * @brief Release what ctlc_parse_argv() stored in @p cmd and zero it.
 * @param cmd may be NULL; a zeroed @p cmd is fine.
 */
void ctlc_cmd_deinit(struct ctlc_cmd *cmd);

/**
 * @brief The request part of ctlc_parse_argv(), for callers that need nothing else.
 *
 * @param req receives the request (new reference, release with json_decref()) or NULL.
 * @return as ctlc_parse_argv().
 */
__attribute__((warn_unused_result))
int ctlc_request_from_argv(int argc, char **argv, json_t **req, char *err, size_t errlen);

/**
 * @brief Print every command's synopsis and a one-line description, for --help.
 * @param out stream to write to.
 */
void ctlc_usage_commands(FILE *out);

/**
 * @brief Print an answer for a human.
 *
 * Lists become tables with a header and aligned columns (lease4-get-page / lease4-get-all:
 * ADDRESS STATE CLIENT SCOPE EXPIRES; scope-list: NAME SUBNET ACTIVE TOTAL ASSIGNED FREE
 * OFFERED DECLINED; reservation-list: ADDRESS CLIENT HOSTNAME; statistics: NAME VALUE sorted
 * by name, zero drop-* counters hidden unless CTLC_F_ALL), single objects become "key: value"
 * lines (status-get, version-get, lease4-get/add/update), configurations and scopes are
 * printed as indented JSON, and everything else prints the server's text. status-get's
 * "failover" list becomes one "failover NAME: STATE, partner STATE, link LINK" line per
 * relationship (none for an empty list). failover-status prints one block per relationship:
 * "key: value" lines (the two states with "since <UTC time> (<duration> ago)") and a
 * MESSAGE SENT RECEIVED table of the message counters; failover-partner-down, -shutdown,
 * -recover and -resync print the server's text, then the same blocks. An answer whose
 * result is not 0 prints its text only. Any byte outside printable ASCII in a server string
 * is shown as '?', so a client-chosen hostname cannot drive the terminal.
 *
 * @param out     stream to write to.
 * @param command the protocol command that was sent ("lease4-get-page", ...).
 * @param answer  the answer (not modified).
 * @param view    flags and the time used for "in 9m 58s" / "7m ago"; NULL = defaults.
 * @return 0, or -ENOMEM (part of the output may have been written).
 * @note Output errors are left in @p out's error indicator for the caller to check.
 */
__attribute__((warn_unused_result))
int ctlc_render_view(FILE *out, const char *command, json_t *answer,
		     const struct ctlc_view *view);

/**
 * @brief ctlc_render_view() with the default view (tables hide zero drops, now = time(NULL)).
 */
__attribute__((warn_unused_result))
int ctlc_render(FILE *out, const char *command, json_t *answer);

/**
 * @brief Print statistics in the Prometheus text exposition format (version 0.0.4).
 *
 * `pkt4-received` becomes the counter `leasewire_pkt4_received`; every `drop-<reason>`
 * becomes a sample of the counter `leasewire_drops_total{reason="<reason>"}` (with '-'
 * turned into '_'); `scope[<name>].<kind>-addresses` becomes the gauge
 * `leasewire_scope_<kind>_addresses{scope="<name>"}` with the label value escaped. Families
 * are sorted by name and each has exactly one "# HELP" and one "# TYPE" line, before its
 * samples. Members whose value is not a number are skipped.
 *
 * A failover-status list gives, per relationship (label `relationship="<name>"`), the gauges
 * `leasewire_failover_state` and `leasewire_failover_partner_state` (the draft's state codes:
 * startup 1, normal 2, communications-interrupted 3, partner-down 4, potential-conflict 5,
 * recover 6, paused 7, shutdown 8, recover-done 9, resolution-interrupted 10, conflict-done
 * 11, recover-wait 254, unknown-state 0), `leasewire_failover_communications_ok` (1/0),
 * `leasewire_failover_state_since_seconds`, `_addresses`, `_unacked`, `_queued` and
 * `_in_flight`; the counter `leasewire_failover_messages_total{relationship, message,
 * direction}` for every "<message>-sent"/"<message>-received" member of "messages";
 * `leasewire_failover_<member>_total` for the other members of "messages"
 * (addresses-given); and `leasewire_failover_link_<member>_total` for "link-counters".
 *
 * @param out   stream to write to.
 * @param stats the "arguments" object of a statistic-get-all or statistic-get answer, the
 *              "arguments" list of a failover-status answer, or the whole answer (its
 *              "arguments" member is then used). Not modified.
 * @return 0, -EINVAL when @p stats is neither an object nor a list of objects, or -ENOMEM.
 */
__attribute__((warn_unused_result))
int ctlc_render_prometheus(FILE *out, json_t *stats);
