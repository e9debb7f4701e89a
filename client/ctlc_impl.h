/*
 * ctlc_impl: helpers shared by the client's own modules (ctlc_transport.c, ctlc_argv.c,
 * ctlc_render.c, ctlc_prom.c). Private to client/: never included from another folder.
 *
 * No state; every function may be called from any thread on distinct arguments.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lw_attr.h"

#define INFINITE_LFT	4294967295LL	/* valid-lft of a BOOTP (infinite) lease */

/**
 * @brief printf into @p err (of @p errlen bytes); nothing when @p err is NULL or empty.
 */
_printf_(3, 4)
void ctlc_errf(char *err, size_t errlen, const char *fmt, ...);

/** Growable byte buffer; the data is always NUL-terminated once anything was added. The
 *  owner frees @c data with free(); a zeroed struct is an empty buffer. */
struct ctlc_buf {
	char *data;
	size_t len;
	size_t cap;
};

/** @brief Make room for @p more bytes and the NUL. @return 0 or -ENOMEM. */
_mustcheck_
int ctlc_buf_reserve(struct ctlc_buf *b, size_t more);

/** @brief Append printf output. @return 0 or -ENOMEM (the buffer is then unchanged). */
_printf_(2, 3)
int ctlc_buf_printf(struct ctlc_buf *b, const char *fmt, ...);

/**
 * @brief A copy of @p s in which every byte outside printable ASCII is '?', so that a
 *        server string (a client-chosen hostname) cannot drive the terminal.
 * @return the copy (free() it), or NULL when out of memory.
 */
char *ctlc_sanitize(const char *s);

/** @brief Parse a dotted quad into host order (@p out may be NULL). @return whether it is one. */
bool ctlc_parse_ipv4(const char *s, uint32_t *out);

/**
 * @brief Hex bytes: "02:00:5e:12:00:05", "2:0:5e:12:0:5", "02-00-5e-12-00-05" or
 *        "02005e120005".
 * @param sep set to whether the bytes were separated (the MAC form needs separators).
 * @return the byte count, 0 when @p s is not of that form or longer than @p max bytes.
 */
size_t ctlc_parse_hex(const char *s, uint8_t *out, size_t max, bool *sep);

/**
 * @brief The number in a statistic: a plain number as the protocol says, or Kea's
 *        [[value, time], ...] history, of which the newest (first) entry counts.
 * @return a borrowed reference into @p v, or NULL when there is no number.
 */
json_t *ctlc_stat_value(json_t *v);

/** @brief Length of "bndupd" in "bndupd-sent" or "bndupd-received"; 0 for any other key. */
size_t ctlc_pair_prefix(const char *key);
