/*
 * lw_copy: copies and comparisons of a few bytes whose length is known only at run time, for
 * the per-packet path.
 *
 * Why not memcpy(): when the compiler can bound the length (a uint8_t option length, a
 * hardware address length), gcc expands memcpy() inline as `rep movsq` with a head and a tail,
 * and on the machines we run on a `rep movs` costs tens of cycles to start whatever it then
 * copies (perf of the worker: the option copies of dhcp4_parse() alone took 4 % of its time,
 * for values of 1 to 20 bytes; callgrind counts the same `rep movsq` as a few instructions, so
 * instruction counts do not show it). meson.build makes gcc call memcpy() instead; for the
 * shortest and most frequent copies lw_copy_short() saves the call too: two overlapping
 * fixed-size moves for up to 32 bytes (what glibc's memcpy does for short copies), a call to
 * memcpy() beyond. lw_equal_short() does the same for a comparison: client keys (7 bytes for
 * a hardware address) are compared at every lookup that reaches them, and memcmp() is a call.
 *
 * Header only; any thread. The regions must not overlap (as for memcpy()).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/** memcpy(@p dst, @p src, @p n), inline for @p n up to 32 (any n is correct). Reads and
 *  writes exactly the @p n bytes, no more. */
static inline void lw_copy_short(void *restrict dst, const void *restrict src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	if (n > 32) {
		memcpy(d, s, n);	/* a call (meson.build's string strategy) */
	} else if (n >= 16) {
		memcpy(d, s, 16);
		memcpy(d + n - 16, s + n - 16, 16);
	} else if (n >= 8) {
		memcpy(d, s, 8);
		memcpy(d + n - 8, s + n - 8, 8);
	} else if (n >= 4) {
		memcpy(d, s, 4);
		memcpy(d + n - 4, s + n - 4, 4);
	} else if (n > 0) {
		/* 1 to 3 bytes: first, middle, last (some the same byte). */
		d[0] = s[0];
		d[n / 2] = s[n / 2];
		d[n - 1] = s[n - 1];
	}
}

/** memcmp(@p a, @p b, @p n) == 0, inline for @p n up to 16 (any n is correct). Reads exactly
 *  the @p n bytes of each. */
static inline bool lw_equal_short(const void *a, const void *b, size_t n)
{
	const uint8_t *p = a, *q = b;

	if (n > 16) {
		return memcmp(p, q, n) == 0;
	}
	if (n >= 8) {
		uint64_t x0, y0, x1, y1;

		memcpy(&x0, p, 8);
		memcpy(&y0, q, 8);
		memcpy(&x1, p + n - 8, 8);
		memcpy(&y1, q + n - 8, 8);
		return ((x0 ^ y0) | (x1 ^ y1)) == 0;
	}
	if (n >= 4) {
		uint32_t x0, y0, x1, y1;

		memcpy(&x0, p, 4);
		memcpy(&y0, q, 4);
		memcpy(&x1, p + n - 4, 4);
		memcpy(&y1, q + n - 4, 4);
		return ((x0 ^ y0) | (x1 ^ y1)) == 0;
	}
	if (n > 0) {
		return p[0] == q[0] && p[n / 2] == q[n / 2] && p[n - 1] == q[n - 1];
	}
	return true;
}
