/*
 * fmt: the one formatter of IPv4 addresses and of hex bytes, for logs, error messages, JSON
 * answers and dumps (and the hex digit reader of the parsers).
 *
 * Pure functions on the caller's memory or a returned value; any thread; no allocation.
 * Not for the hot path (workers do not format).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/** Room for the longest dotted quad, "255.255.255.255", with its NUL. */
#define LW_IP4_STRLEN	16

/** A formatted IPv4 address, returned by value so that it can go straight into a printf
 *  argument list: `printf("%s-%s", lw_ip4_fmt(a).s, lw_ip4_fmt(b).s)` (C11 keeps the
 *  returned object alive until the end of the full expression). */
struct lw_ip4_str {
	char s[LW_IP4_STRLEN];
};

/**
 * Format an IPv4 address as a dotted quad ("192.0.2.1").
 * @param addr  the address in host byte order (as every address in leasewire is).
 * @return the text, NUL-terminated, by value.
 */
struct lw_ip4_str lw_ip4_fmt(uint32_t addr);

/** Buffer size that holds @p n bytes formatted by lw_hex_fmt(), with or without a
 *  separator, and the NUL. */
#define LW_HEX_BUFLEN(n)	((size_t)(n) * 3 + 1)

/**
 * Format bytes as lowercase hex, two digits per byte: "02:00:5e:00:53:01" with @p sep ':',
 * "02005e005301" with @p sep 0.
 * Only whole bytes are written: when @p cap is too small the text stops after the last byte
 * (and its separator) that fits; LW_HEX_BUFLEN(@p n) always suffices. The text is always
 * NUL-terminated when @p cap > 0.
 * @param buf,cap  the caller's buffer and its size in bytes.
 * @param p,n      the bytes (@p p may be NULL when @p n is 0).
 * @param sep      the character between two bytes, or 0 for none.
 * @return the length of the text written (without the NUL).
 */
size_t lw_hex_fmt(char *buf, size_t cap, const uint8_t *p, size_t n, char sep);

/** The value of hex digit @p c (0-9, a-f, A-F), or -1: the one digit reader of the hex
 *  parsers (configuration, leasewirectl). */
static inline int lw_hex_digit(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}
