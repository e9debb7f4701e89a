/*
 * ctlc_util: the small helpers the client's modules share (contract in ctlc_impl.h): the
 * error message buffer, a growable string, printable-ASCII copies, address and hex-byte
 * parsing, and the two readings of statistics both renderers need.
 */
#include "ctlc_impl.h"
#include "fmt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ctlc_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int ctlc_buf_reserve(struct ctlc_buf *b, size_t more)
{
	size_t cap = b->cap != 0 ? b->cap : 256;
	char *p;

	if (b->len + more + 1 <= b->cap) {
		return 0;
	}
	while (cap < b->len + more + 1) {
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (p == NULL) {
		return -ENOMEM;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

int ctlc_buf_printf(struct ctlc_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || ctlc_buf_reserve(b, (size_t)n) != 0) {
		return -ENOMEM;
	}
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *ctlc_sanitize(const char *s)
{
	char *c = strdup(s);

	if (c == NULL) {
		return NULL;
	}
	for (char *p = c; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) {
			*p = '?';
		}
	}
	return c;
}

bool ctlc_parse_ipv4(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		return false;
	}
	if (out != NULL) {
		*out = ntohl(a.s_addr);
	}
	return true;
}

size_t ctlc_parse_hex(const char *s, uint8_t *out, size_t max, bool *sep)
{
	char sc = '\0';
	size_t n = 0;

	if (strchr(s, ':') != NULL) {
		sc = ':';
	} else if (strchr(s, '-') != NULL) {
		sc = '-';
	}

	*sep = sc != 0;
	if (sc != 0) {
		for (;;) {
			int digits = 0;
			int v = 0;

			while (lw_hex_digit(*s) >= 0 && digits < 3) {
				v = v * 16 + lw_hex_digit(*s);
				s++;
				digits++;
			}
			if (digits == 0 || digits > 2 || n == max) {
				return 0;
			}
			out[n++] = (uint8_t)v;
			if (*s == '\0') {
				return n;
			}
			if (*s != sc) {
				return 0;
			}
			s++;
		}
	}
	while (*s != '\0') {
		int hi = lw_hex_digit(s[0]);
		int lo = hi >= 0 ? lw_hex_digit(s[1]) : -1;

		if (lo < 0 || n == max) {
			return 0;
		}
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	return n;
}

json_t *ctlc_stat_value(json_t *v)
{
	while (json_is_array(v)) {
		v = json_array_get(v, 0);
	}
	return json_is_number(v) ? v : NULL;
}

size_t ctlc_pair_prefix(const char *key)
{
	size_t n = strlen(key);

	if (n > 5 && strcmp(key + n - 5, "-sent") == 0) {
		return n - 5;
	}
	if (n > 9 && strcmp(key + n - 9, "-received") == 0) {
		return n - 9;
	}
	return 0;
}
