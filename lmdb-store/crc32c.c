#include <pthread.h>
#include <string.h>

#include "crc32c.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "store_crc32c() loads words "
	       "little-endian");

#define CRC32C_POLY	0x82f63b78u	/* reflected */

/* tab[k][i] = the CRC of byte i followed by k zero bytes (slicing by 8), built once. */
static uint32_t tab[8][256];
static pthread_once_t tab_once = PTHREAD_ONCE_INIT;

static void tab_build(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int bit = 0; bit < 8; bit++) {
			c = c & 1 ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		}
		tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++) {
		for (int k = 1; k < 8; k++) {
			tab[k][i] = (tab[k - 1][i] >> 8) ^ tab[0][tab[k - 1][i] & 0xff];
		}
	}
}

uint32_t store_crc32c(uint32_t crc, const void *p, size_t len)
{
	const uint8_t *b = p;

	pthread_once(&tab_once, tab_build);
	crc = ~crc;
	while (len >= 8) {
		uint32_t lo, hi;

		/* Little-endian loads: every target we build for (x86-64, aarch64). */
		memcpy(&lo, b, 4);
		memcpy(&hi, b + 4, 4);
		lo ^= crc;
		crc = tab[7][lo & 0xff] ^ tab[6][(lo >> 8) & 0xff] ^ tab[5][(lo >> 16) & 0xff] ^
		      tab[4][lo >> 24] ^ tab[3][hi & 0xff] ^ tab[2][(hi >> 8) & 0xff] ^
		      tab[1][(hi >> 16) & 0xff] ^ tab[0][hi >> 24];
		b += 8;
		len -= 8;
	}
	while (len-- > 0) {
		crc = (crc >> 8) ^ tab[0][(crc ^ *b++) & 0xff];
	}
	return ~crc;
}
