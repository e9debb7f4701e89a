/*
 * Unit tests for common/dhcp4_opts.c: the option table's lookups, ownership and rendering.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dhcp4_opts.h"

static void test_lookup(void **state)
{
	const struct dhcp4_opt_def *d;
	unsigned int keys = 0, rows = 0;

	(void)state;
	d = dhcp4_opts_by_code(3);
	assert_non_null(d);
	assert_string_equal(d->name, "routers");
	assert_int_equal(d->type, DHCP4_OT_IPV4_LIST);
	assert_true(d->flags & DHCP4_OPTF_CONFIG_KEY);
	assert_ptr_equal(dhcp4_opts_by_name("routers"), d);
	assert_int_equal(dhcp4_opts_by_name("domain-name")->code, 15);
	assert_null(dhcp4_opts_by_name("Routers"));
	assert_null(dhcp4_opts_by_code(0));
	assert_null(dhcp4_opts_by_code(255));
	assert_null(dhcp4_opts_by_code(56));
	/* Every row is at its own index, has a type, and names are unique. */
	for (d = dhcp4_opts_next(-1); d != NULL; d = dhcp4_opts_next(d->code)) {
		assert_ptr_equal(dhcp4_opts_by_code(d->code), d);
		assert_ptr_equal(dhcp4_opts_by_name(d->name), d);
		assert_true(d->type > DHCP4_OT_NONE && d->type < DHCP4_OT_COUNT);
		assert_true((d->owner != NULL) ==
			    ((d->flags & (DHCP4_OPTF_SERVER | DHCP4_OPTF_CLIENT)) != 0));
		keys += (d->flags & DHCP4_OPTF_CONFIG_KEY) != 0;
		rows++;
	}
	assert_int_equal(keys, 14);
	assert_true(rows > 60);
}

static void test_ownership(void **state)
{
	static const uint8_t server[] = { 1, 12, 51, 52, 53, 54, 58, 59, 61, 82 };
	static const uint8_t client[] = { 50, 55, 57 };
	unsigned int n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(server); i++) {
		assert_true(dhcp4_opts_server_writes(server[i]));
		assert_non_null(dhcp4_opts_owned(server[i]));
	}
	for (size_t i = 0; i < sizeof(client); i++) {
		assert_false(dhcp4_opts_server_writes(client[i]));
		assert_non_null(dhcp4_opts_owned(client[i]));
	}
	for (unsigned int c = 0; c < 256; c++) {
		n += dhcp4_opts_owned((uint8_t)c) != NULL;
	}
	assert_int_equal(n, sizeof(server) + sizeof(client));
	assert_string_equal(dhcp4_opts_owned(54), "the server identifier is the interface address");
	assert_false(dhcp4_opts_server_writes(3));
	assert_false(dhcp4_opts_server_writes(56));
	assert_null(dhcp4_opts_owned(3));
}

static void test_types(void **state)
{
	(void)state;
	for (int t = DHCP4_OT_IPV4; t < DHCP4_OT_COUNT; t++) {
		assert_int_equal(dhcp4_opts_type_by_name(dhcp4_opts_type_name(t)), t);
	}
	assert_int_equal(dhcp4_opts_type_by_name("ipv6"), DHCP4_OT_NONE);
	assert_null(dhcp4_opts_type_name(DHCP4_OT_NONE));
	assert_null(dhcp4_opts_type_name(DHCP4_OT_COUNT));
	assert_true(dhcp4_opts_fits(DHCP4_OT_IPV4_LIST, (const uint8_t *)"\1\2\3\4\5\6\7\10", 8));
	assert_false(dhcp4_opts_fits(DHCP4_OT_IPV4_LIST, (const uint8_t *)"\1\2\3", 3));
	assert_false(dhcp4_opts_fits(DHCP4_OT_IPV4_LIST, NULL, 0));
	assert_false(dhcp4_opts_fits(DHCP4_OT_STRING, (const uint8_t *)"a\0b", 3));
	assert_false(dhcp4_opts_fits(DHCP4_OT_BOOL, (const uint8_t *)"\2", 1));
	assert_true(dhcp4_opts_fits(DHCP4_OT_HEX, NULL, 0));
	assert_false(dhcp4_opts_fits(DHCP4_OT_NONE, NULL, 0));
}

static void test_format(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(dhcp4_opts_format(3, (const uint8_t *)"\xc6\x12\0\1\xc6\x12\0\2", 8, buf,
					   sizeof(buf)), 22);
	assert_string_equal(buf, "198.18.0.1, 198.18.0.2");
	dhcp4_opts_format(15, (const uint8_t *)"lab.test", 8, buf, sizeof(buf));
	assert_string_equal(buf, "lab.test");
	dhcp4_opts_format(2, (const uint8_t *)"\xff\xff\xf1\xf0", 4, buf, sizeof(buf));
	assert_string_equal(buf, "-3600");
	dhcp4_opts_format(26, (const uint8_t *)"\x05\xdc", 2, buf, sizeof(buf));
	assert_string_equal(buf, "1500");
	dhcp4_opts_format(19, (const uint8_t *)"\1", 1, buf, sizeof(buf));
	assert_string_equal(buf, "true");
	dhcp4_opts_format(24, (const uint8_t *)"\0\1\0\0", 4, buf, sizeof(buf));
	assert_string_equal(buf, "65536");
	dhcp4_opts_format(23, (const uint8_t *)"\100", 1, buf, sizeof(buf));
	assert_string_equal(buf, "64");
	/* Bytes that do not fit the type, and unknown codes, render as hex. */
	dhcp4_opts_format(15, (const uint8_t *)"\xff\0", 2, buf, sizeof(buf));
	assert_string_equal(buf, "ff:00");
	dhcp4_opts_format(43, (const uint8_t *)"\1\2\3", 3, buf, sizeof(buf));
	assert_string_equal(buf, "01:02:03");
	assert_int_equal(dhcp4_opts_format(43, NULL, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	/* Truncation: the full length is returned, the buffer stays terminated. */
	assert_int_equal(dhcp4_opts_format(3, (const uint8_t *)"\xc6\x12\0\1\xc6\x12\0\2", 8,
					   buf, 8), 22);
	assert_string_equal(buf, "198.18.");
	assert_int_equal(dhcp4_opts_format(15, (const uint8_t *)"lab.test", 8, buf, 4), 8);
	assert_string_equal(buf, "lab");
	assert_int_equal(dhcp4_opts_format(43, (const uint8_t *)"\1\2\3", 3, buf, 0), 8);
	/* The list types (issue 14): routes, domain names, sub-options; malformed: hex. */
	dhcp4_opts_format(121, (const uint8_t *)"\x18\xc6\x12\5\xc6\x12\0\1\0\xc6\x12\0\xfe", 13,
			  buf, sizeof(buf));
	assert_string_equal(buf, "198.18.5.0/24 198.18.0.1, 0.0.0.0/0 198.18.0.254");
	assert_false(dhcp4_opts_fits(DHCP4_OT_ROUTES, (const uint8_t *)"\x21\1\2\3\4", 5));
	dhcp4_opts_format(119, (const uint8_t *)"\3lab\4test\0\1x\0", 13, buf, sizeof(buf));
	assert_string_equal(buf, "lab.test, x");
	assert_false(dhcp4_opts_fits(DHCP4_OT_DOMAINS, (const uint8_t *)"\3lab", 4));
	dhcp4_opts_format(43, (const uint8_t *)"\1\2\xbe\xef\2\0", 6, buf, sizeof(buf));
	assert_string_equal(buf, "1=be:ef, 2=");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_ownership),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
