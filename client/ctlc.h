/*
 * ctlc: the client side of the leasewired control socket (doc/control-protocol.md).
 *
 * Four independent pieces, each with its own header, so that each can be tested alone and
 * reused by integration tests; this header includes them all:
 *
 *   - ctlc_transport.h: ctlc_call() sends one request and returns the parsed answer;
 *     ctlc_call_all() does the same but follows lease4-get-page until the server says there
 *     is no more;
 *   - ctlc_argv.h: ctlc_parse_argv() turns the operator's words ("lease add 198.18.0.9
 *     --mac 02:00:5e:12:00:05") into one protocol request, without any I/O except reading
 *     the JSON files the command names; the words, help and completion come from the
 *     client's command rows and the protocol table (common/ctl_proto.h);
 *   - ctlc_render.h: ctlc_render() prints an answer as tables or "key: value" lines;
 *   - ctlc_prom.h: ctlc_render_prometheus() prints statistics or failover status in the
 *     text exposition format 0.0.4.
 *
 * Nothing here keeps state between calls and nothing is thread-local: every function may be
 * called from any thread, on distinct arguments. Errors are negative errno values with one
 * NUL-terminated, human-readable message in the caller's buffer (never a trailing newline).
 * The client links nothing of the daemon but common/ctl_proto and jansson.
 */
#pragma once

#include "ctlc_argv.h"
#include "ctlc_prom.h"
#include "ctlc_render.h"
#include "ctlc_transport.h"

/** Process exit status when the server could not be reached or its answer was unusable. */
#define CTLC_EXIT_FAILURE	5
/** Process exit status for a command-line error (sysexits EX_USAGE). */
#define CTLC_EXIT_USAGE		64
