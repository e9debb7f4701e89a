/*
 * Unit tests of common/: the byte-order helpers, the address and hex formatters, the CPU
 * list parser, the short copy and compare, and the byte-string hash.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "byteorder.h"
#include "cpulist.h"
#include "fmt.h"
#include "lw_copy.h"
#include "lw_hash.h"

static void test_byteorder(void **state)
{
	uint8_t b[10];

	(void)state;
	memset(b, 0xee, sizeof(b));
	lw_put16(b + 1, 0x0102);
	assert_memory_equal(b, ((uint8_t[]){ 0xee, 0x01, 0x02, 0xee }), 4);
	assert_int_equal(lw_get16(b + 1), 0x0102);

	memset(b, 0xee, sizeof(b));
	lw_put32(b + 1, 0xc0000201u);
	assert_memory_equal(b, ((uint8_t[]){ 0xee, 0xc0, 0x00, 0x02, 0x01, 0xee }), 6);
	assert_int_equal(lw_get32(b + 1), 0xc0000201u);

	memset(b, 0xee, sizeof(b));
	lw_put64(b + 1, 0x8877665544332211ull);
	assert_memory_equal(b, ((uint8_t[]){ 0xee, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22,
					     0x11, 0xee }), 10);
	assert_true(lw_get64(b + 1) == 0x8877665544332211ull);
	/* High bits survive the shifts (no sign extension through int promotion). */
	lw_put32(b, 0xffffffffu);
	assert_int_equal(lw_get32(b), 0xffffffffu);
	assert_int_equal(lw_get16(b), 0xffff);
}

static void test_ip4(void **state)
{
	(void)state;
	assert_string_equal(lw_ip4_fmt(0).s, "0.0.0.0");
	assert_string_equal(lw_ip4_fmt(0xc6120001u).s, "198.18.0.1");
	assert_string_equal(lw_ip4_fmt(0xffffffffu).s, "255.255.255.255");
	assert_string_equal(lw_ip4_fmt(0x0a00ff01u).s, "10.0.255.1");
}

static void test_hex(void **state)
{
	const uint8_t mac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x53, 0xaf };
	char buf[LW_HEX_BUFLEN(6)];

	(void)state;
	assert_int_equal(lw_hex_fmt(buf, sizeof(buf), mac, 6, ':'), 17);
	assert_string_equal(buf, "02:00:5e:00:53:af");
	assert_int_equal(lw_hex_fmt(buf, sizeof(buf), mac, 6, 0), 12);
	assert_string_equal(buf, "02005e0053af");
	assert_int_equal(lw_hex_fmt(buf, sizeof(buf), NULL, 0, ':'), 0);
	assert_string_equal(buf, "");
	/* Too small: whole bytes only, always terminated. "02:00" needs 6 with the NUL. */
	assert_int_equal(lw_hex_fmt(buf, 8, mac, 6, ':'), 5);
	assert_string_equal(buf, "02:00");
	assert_int_equal(lw_hex_fmt(buf, 3, mac, 6, ':'), 2);
	assert_string_equal(buf, "02");
	assert_int_equal(lw_hex_fmt(buf, 2, mac, 6, ':'), 0);
	assert_string_equal(buf, "");
	assert_int_equal(lw_hex_fmt(buf, 0, mac, 6, ':'), 0);
	/* The exact size: 3n - 1 characters and the NUL. */
	assert_int_equal(lw_hex_fmt(buf, 18, mac, 6, ':'), 17);
	assert_int_equal(lw_hex_fmt(buf, 17, mac, 6, ':'), 14);
}

/* server.committer-cpus: the taskset(1) list syntax, and nothing else. */
static void test_cpulist(void **state)
{
	static const char *const bad[] = {
		"", ",", "1,", ",1", "1-", "-1", "3-1", "a", "1 2", " 1", "1,,2", "1-2-3",
		"99999", "0x1", "1;2",
	};
	cpu_set_t set;

	(void)state;
	assert_int_equal(lw_cpulist_parse("0", &set), 0);
	assert_int_equal(CPU_COUNT(&set), 1);
	assert_true(CPU_ISSET(0, &set));
	assert_int_equal(lw_cpulist_parse("0,2-4,7", &set), 0);
	assert_int_equal(CPU_COUNT(&set), 5);
	assert_true(CPU_ISSET(2, &set) && CPU_ISSET(3, &set) && CPU_ISSET(4, &set));
	assert_true(CPU_ISSET(7, &set) && !CPU_ISSET(1, &set) && !CPU_ISSET(5, &set));
	assert_int_equal(lw_cpulist_parse("5-5", &set), 0);
	assert_int_equal(CPU_COUNT(&set), 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (lw_cpulist_parse(bad[i], &set) != -EINVAL) {
			fail_msg("\"%s\" was taken as a CPU list", bad[i]);
		}
	}
}

/* lw_copy_short(): every length from 0 to 300, at every alignment of either end within 16,
 * copies exactly the bytes asked and touches no byte beside them. */
static void test_copy_short(void **state)
{
	uint8_t src[340], dst[340], want[340];

	(void)state;
	for (size_t i = 0; i < sizeof(src); i++) {
		src[i] = (uint8_t)(i * 7 + 1);
	}
	for (size_t n = 0; n <= 300; n++) {
		for (size_t so = 0; so < 16; so += 3) {
			for (size_t doff = 0; doff < 16; doff += 5) {
				memset(dst, 0xee, sizeof(dst));
				memset(want, 0xee, sizeof(want));
				memcpy(want + doff, src + so, n);
				lw_copy_short(dst + doff, src + so, n);
				if (memcmp(dst, want, sizeof(dst)) != 0) {
					fail_msg("lw_copy_short: n %zu, source +%zu, destination +%zu",
						 n, so, doff);
				}
			}
		}
	}
}

/* lw_equal_short(): for every length 0-40, equal bytes compare equal, and a difference in
 * any one byte (any bit) is seen; bytes beside the n are never read as part of them. */
static void test_equal_short(void **state)
{
	uint8_t a[48], b[48];

	(void)state;
	for (size_t i = 0; i < sizeof(a); i++) {
		a[i] = (uint8_t)(i * 13 + 5);
	}
	for (size_t n = 0; n <= 40; n++) {
		memcpy(b, a, sizeof(b));
		b[n] ^= 0x5a;	/* the byte after: not compared */
		if (!lw_equal_short(a, b, n)) {
			fail_msg("lw_equal_short: length %zu, equal bytes differ", n);
		}
		for (size_t k = 0; k < n; k++) {
			for (int bit = 0; bit < 8; bit++) {
				memcpy(b, a, sizeof(b));
				b[k] ^= (uint8_t)(1u << bit);
				if (lw_equal_short(a, b, n)) {
					fail_msg("lw_equal_short: length %zu, byte %zu bit %d missed", n, k,
						 bit);
				}
			}
		}
	}
}

/* lw_hash_chain() as it was written first: the tail zero-padded through memcpy(). */
static uint64_t hash_chain_ref(uint64_t h, const uint8_t *p, uint32_t len)
{
	uint32_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t v;

		memcpy(&v, p + i, 8);
		h = lw_mix64(h ^ v) * 0x9e3779b97f4a7c15ULL;
	}
	if (i < len) {
		uint64_t v = 0;

		memcpy(&v, p + i, len - i);
		h = lw_mix64(h ^ v) * 0x9e3779b97f4a7c15ULL;
	}
	return lw_mix64(h);
}

/* lw_tail64() gives the zero-padded tail word, so the hash is the same function: every
 * length 0-40, bytes with every bit pattern in every position, several states. */
static void test_hash_tail(void **state)
{
	uint8_t b[48];
	uint64_t x = 0x0123456789abcdefULL;

	(void)state;
	for (int round = 0; round < 64; round++) {
		for (size_t i = 0; i < sizeof(b); i++) {
			x = lw_mix64(x + i);
			b[i] = (uint8_t)x;
		}
		for (uint32_t n = 0; n <= 40; n++) {
			uint64_t h = lw_mix64(x ^ n);

			if (lw_hash_chain(h, b, n) != hash_chain_ref(h, b, n)) {
				fail_msg("lw_hash_chain differs from the zero-padded tail, length %u", n);
			}
		}
	}
	for (uint32_t n = 1; n < 8; n++) {
		uint8_t t[7] = {0};
		uint64_t want = 0;

		for (uint32_t k = 0; k < n; k++) {
			t[k] = (uint8_t)(0x11 * (k + 1));
			want |= (uint64_t)t[k] << (8 * k);
		}
		assert_int_equal(lw_tail64(t, n), want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_byteorder),
		cmocka_unit_test(test_ip4),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_cpulist),
		cmocka_unit_test(test_copy_short),
		cmocka_unit_test(test_equal_short),
		cmocka_unit_test(test_hash_tail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
