#include <stdio.h>

#include "fmt.h"

struct lw_ip4_str lw_ip4_fmt(uint32_t addr)
{
	struct lw_ip4_str r;

	snprintf(r.s, sizeof(r.s), "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xffu,
		 (addr >> 8) & 0xffu, addr & 0xffu);
	return r;
}

size_t lw_hex_fmt(char *buf, size_t cap, const uint8_t *p, size_t n, char sep)
{
	static const char digit[] = "0123456789abcdef";
	size_t o = 0;

	if (cap == 0) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		size_t need = (i > 0 && sep != 0) ? 3 : 2;

		if (o + need + 1 > cap) {
			break;
		}
		if (i > 0 && sep != 0) {
			buf[o++] = sep;
		}
		buf[o++] = digit[p[i] >> 4];
		buf[o++] = digit[p[i] & 0xf];
	}
	buf[o] = '\0';
	return o;
}
