/*
 * ctlc_render: answers for a human (tables, "key: value" lines, indented JSON).
 *
 * Any thread; no state. Every server string is printed as printable ASCII only.
 */
#pragma once

#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "lw_attr.h"

#include "ctlc_argv.h"	/* CTLC_F_ALL */

/** How ctlc_render_view() shows an answer. */
struct ctlc_view {
	unsigned int flags;	/**< CTLC_F_ALL is the only flag the renderer reads */
	time_t now;		/**< "now" for relative times; 0 means time(NULL) */
};

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
_mustcheck_
int ctlc_render_view(FILE *out, const char *command, json_t *answer,
		     const struct ctlc_view *view);

/**
 * @brief ctlc_render_view() with the default view (tables hide zero drops, now = time(NULL)).
 */
_mustcheck_
int ctlc_render(FILE *out, const char *command, json_t *answer);
