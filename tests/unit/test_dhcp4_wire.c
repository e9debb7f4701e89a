/*
 * Unit tests of dataplane/dhcp4_wire: parse, option overload and RFC 3396 concatenation,
 * every error code, the writer's bounds, and every DHCP message of two real captures
 * (ISC dhcpd and dhclient, shared/reference/isc-peer/captures).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "byteorder.h"
#include "dhcp4_wire.h"
#include "frame.h"

#ifndef LW_SRCDIR
#error "LW_SRCDIR must name the project source root"
#endif
#define CAPTURES LW_SRCDIR "/../shared/reference/isc-peer/captures/"

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const uint8_t test_chaddr[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01 };

/* A request being assembled byte by byte, so that malformed ones can be made too. */
struct tmsg {
	uint8_t b[4096];
	size_t len;
};

static void tm_init(struct tmsg *t, uint8_t op)
{
	memset(t->b, 0, sizeof(t->b));
	t->b[0] = op;
	t->b[1] = 1;
	t->b[2] = 6;
	t->b[3] = 1;					/* hops */
	memcpy(t->b + 4, "\x12\x34\x56\x78", 4);	/* xid */
	memcpy(t->b + 8, "\x00\x05", 2);		/* secs */
	memcpy(t->b + 10, "\x80\x00", 2);		/* flags: broadcast */
	memcpy(t->b + 12, "\x0a\x00\x00\x01", 4);	/* ciaddr 10.0.0.1 */
	memcpy(t->b + 16, "\x0a\x00\x00\x02", 4);	/* yiaddr */
	memcpy(t->b + 20, "\x0a\x00\x00\x03", 4);	/* siaddr */
	memcpy(t->b + 24, "\x0a\x00\x00\x04", 4);	/* giaddr */
	memcpy(t->b + 28, test_chaddr, sizeof(test_chaddr));
	memcpy(t->b + 236, "\x63\x82\x53\x63", 4);
	t->len = DHCP4_HDR_LEN;
}

static void tm_raw(struct tmsg *t, const void *p, size_t n)
{
	assert_true(t->len + n <= sizeof(t->b));
	memcpy(t->b + t->len, p, n);
	t->len += n;
}

/* Append literal bytes: TM_BYTES(&t, 53, 1, 1). */
#define TM_BYTES(t, ...)                                                                   \
	do {                                                                               \
		static const uint8_t bytes_[] = { __VA_ARGS__ };                           \
		tm_raw((t), bytes_, sizeof(bytes_));                                       \
	} while (0)

static void tm_opt(struct tmsg *t, uint8_t code, uint8_t len, const void *val)
{
	tm_raw(t, &code, 1);
	tm_raw(t, &len, 1);
	tm_raw(t, val, len);
}

static int tm_parse(struct tmsg *t, struct dhcp4_msg *m)
{
	return dhcp4_parse(m, t->b, t->len);
}

/* Assert that option @p code has exactly the value @p val. */
static void assert_opt(const struct dhcp4_msg *m, uint8_t code, const void *val, uint16_t len)
{
	uint16_t got_len = 0xffff;
	const uint8_t *got = dhcp4_opt(m, code, &got_len);

	assert_non_null(got);
	assert_true(dhcp4_has(m, code));
	assert_int_equal(got_len, len);
	if (len) {
		assert_memory_equal(got, val, len);
	}
}

static void test_parse_discover(void **state)
{
	struct tmsg t;
	struct dhcp4_msg m;
	uint32_t v;

	(void)state;
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 53, 1, 1, 50, 4, 10, 0, 0, 99, 57, 2, 0x05, 0xdc, 61, 3, 1, 2, 3, 255);
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_int_equal(m.op, DHCP4_BOOTREQUEST);
	assert_int_equal(m.htype, 1);
	assert_int_equal(m.hlen, 6);
	assert_int_equal(m.hops, 1);
	assert_memory_equal(&m.xid, "\x12\x34\x56\x78", 4);
	assert_int_equal(m.secs, 5);
	assert_int_equal(m.flags, DHCP4_FLAG_BROADCAST);
	assert_int_equal(m.ciaddr, IP4(10, 0, 0, 1));
	assert_int_equal(m.yiaddr, IP4(10, 0, 0, 2));
	assert_int_equal(m.siaddr, IP4(10, 0, 0, 3));
	assert_int_equal(m.giaddr, IP4(10, 0, 0, 4));
	assert_memory_equal(m.chaddr, test_chaddr, 6);
	assert_int_equal(m.type, DHCP4_DISCOVER);
	assert_int_equal(m.overload, 0);
	assert_int_equal(m.max_size, 1500);
	assert_true(dhcp4_opt_u32(&m, DHCP4_OPT_REQUESTED_IP, &v));
	assert_int_equal(v, IP4(10, 0, 0, 99));
	assert_false(dhcp4_opt_u32(&m, DHCP4_OPT_CLIENT_ID, &v));	/* length 3 */
	assert_false(dhcp4_opt_u32(&m, DHCP4_OPT_SERVER_ID, &v));	/* absent */
	assert_opt(&m, DHCP4_OPT_CLIENT_ID, "\x01\x02\x03", 3);
	assert_null(dhcp4_opt(&m, DHCP4_OPT_SERVER_ID, NULL));
	assert_false(dhcp4_has(&m, DHCP4_OPT_END));
	assert_false(dhcp4_has(&m, DHCP4_OPT_PAD));
}

/* A reused struct must not keep options of the previous message. */
static void test_parse_reuse(void **state)
{
	struct tmsg t;
	struct dhcp4_msg m;

	(void)state;
	memset(&m, 0xa5, sizeof(m));
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 53, 1, 3, 54, 4, 1, 2, 3, 4, 52, 1, 1, 57, 2, 2, 64, 255);
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_true(dhcp4_has(&m, DHCP4_OPT_SERVER_ID));
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 255);
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_int_equal(m.type, DHCP4_BOOTP);
	assert_int_equal(m.overload, 0);
	assert_int_equal(m.max_size, 0);
	assert_int_equal(m.data_len, 0);
	for (unsigned c = 0; c < 256; c++) {
		assert_false(dhcp4_has(&m, (uint8_t)c));
	}
}

static void test_parse_bootp(void **state)
{
	struct tmsg t;
	struct dhcp4_msg m;

	(void)state;
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 1, 4, 255, 255, 255, 0, 255);
	t.len = DHCP4_MIN_REPLY_LEN;			/* BOOTP pads its vendor area */
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_int_equal(m.type, DHCP4_BOOTP);
	assert_opt(&m, DHCP4_OPT_SUBNET_MASK, "\xff\xff\xff\x00", 4);

	/* Only the header and cookie: still a (BOOTP) message. */
	tm_init(&t, DHCP4_BOOTREPLY);
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_int_equal(m.type, DHCP4_BOOTP);
	assert_int_equal(m.op, DHCP4_BOOTREPLY);
}

static void test_parse_pad_and_no_end(void **state)
{
	struct tmsg t;
	struct dhcp4_msg m;

	(void)state;
	/* Pads before, between and after options; no END; the last option ends at len. */
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 0, 0, 53, 1, 3, 0, 0, 0, 12, 3, 'a', 'b', 'c', 0, 61, 2, 0xaa, 0xbb);
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_int_equal(m.type, DHCP4_REQUEST);
	assert_opt(&m, DHCP4_OPT_HOSTNAME, "abc", 3);
	assert_opt(&m, DHCP4_OPT_CLIENT_ID, "\xaa\xbb", 2);
	assert_int_equal(m.data_len, 6);

	/* Nothing but pads. */
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_int_equal(m.type, DHCP4_BOOTP);

	/* Whatever follows END is ignored, even garbage. */
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 53, 1, 1, 255, 12, 200, 1);
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_false(dhcp4_has(&m, DHCP4_OPT_HOSTNAME));

	/* An empty option is present with length 0. */
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 80, 0, 255);
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_opt(&m, 80, NULL, 0);
}

static void test_parse_overload(void **state)
{
	struct tmsg t;
	struct dhcp4_msg m;

	(void)state;
	/* 1: more options in file. */
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 52, 1, 1, 255);
	memcpy(t.b + 108, "\x35\x01\x03\x0c\x02hi\xff", 8);
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_int_equal(m.overload, 1);
	assert_int_equal(m.type, DHCP4_REQUEST);
	assert_opt(&m, DHCP4_OPT_HOSTNAME, "hi", 2);
	assert_opt(&m, DHCP4_OPT_OVERLOAD, "\x01", 1);
	assert_memory_equal(m.file, t.b + 108, DHCP4_FILE_LEN);

	/* 2: in sname, and file is not read. */
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 52, 1, 2, 255);
	memcpy(t.b + 44, "\x35\x01\x01\xff", 4);
	memcpy(t.b + 108, "\x0c\x02hi\xff", 5);
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_int_equal(m.type, DHCP4_DISCOVER);
	assert_false(dhcp4_has(&m, DHCP4_OPT_HOSTNAME));

	/* 3: both, without END in either field (they end at the field's last byte). */
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 52, 1, 3, 255);
	memset(t.b + 44, 0, 64);
	t.b[44 + 60] = 15;
	t.b[44 + 61] = 2;
	t.b[44 + 62] = 'e';
	t.b[44 + 63] = 'x';
	memcpy(t.b + 108 + 124, "\x35\x01\x08", 3);
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_int_equal(m.overload, 3);
	assert_int_equal(m.type, DHCP4_INFORM);
	assert_opt(&m, DHCP4_OPT_DOMAIN_NAME, "ex", 2);

	/* The same option in all three areas: options field, then file, then sname. */
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 12, 2, 'o', 'p', 52, 1, 3, 12, 1, 't', 255);
	memcpy(t.b + 44, "\x0c\x02sn\xff", 5);
	memcpy(t.b + 108, "\x0c\x02" "fi\xff", 5);
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_opt(&m, DHCP4_OPT_HOSTNAME, "optfisn", 7);

	/* A repeated option 52 that agrees is accepted and not concatenated. */
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 52, 1, 1, 53, 1, 1, 52, 1, 1, 255);
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_int_equal(m.overload, 1);
	assert_opt(&m, DHCP4_OPT_OVERLOAD, "\x01", 1);
}

static void test_parse_concat(void **state)
{
	struct tmsg t;
	struct dhcp4_msg m;
	uint8_t big[600];
	uint32_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++) {
		big[i] = (uint8_t)(i * 7);
	}
	/* Adjacent instances: a 600-byte value split 255 + 255 + 90. */
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 53, 1, 1);
	tm_opt(&t, 43, 255, big);
	tm_opt(&t, 43, 255, big + 255);
	tm_opt(&t, 43, 90, big + 510);
	TM_BYTES(&t, 255);
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_opt(&m, 43, big, sizeof(big));

	/* Instances interleaved with other options are laid out contiguously all the same. */
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 61, 2, 'a', 'b', 53, 1, 3, 12, 1, 'x', 61, 1, 'c', 0, 12, 0, 50, 2, 10, 0,
		 12, 2, 'y', 'z', 61, 3, 'd', 'e', 'f', 50, 2, 0, 7, 255);
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_int_equal(m.type, DHCP4_REQUEST);
	assert_opt(&m, DHCP4_OPT_CLIENT_ID, "abcdef", 6);
	assert_opt(&m, DHCP4_OPT_HOSTNAME, "xyz", 3);
	assert_opt(&m, DHCP4_OPT_MSG_TYPE, "\x03", 1);
	/* A fixed-size option may be split too (RFC 3396 applies to all options). */
	assert_true(dhcp4_opt_u32(&m, DHCP4_OPT_REQUESTED_IP, &v));
	assert_int_equal(v, IP4(10, 0, 0, 7));
	assert_int_equal(m.data_len, 6 + 3 + 1 + 4);

	/* Interleaved across the options field and file. */
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 12, 1, 'a', 52, 1, 1, 15, 1, 'q', 255);
	memcpy(t.b + 108, "\x0f\x01r\x0c\x01" "b\xff", 7);
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_opt(&m, DHCP4_OPT_HOSTNAME, "ab", 2);
	assert_opt(&m, DHCP4_OPT_DOMAIN_NAME, "qr", 2);
	assert_opt(&m, DHCP4_OPT_OVERLOAD, "\x01", 1);
}

/* The option data area holds exactly DHCP4_OPTDATA_MAX bytes, and not one more. */
static void test_parse_optdata_max(void **state)
{
	struct tmsg t;
	struct dhcp4_msg m;
	uint8_t val[255];
	size_t total = 0;
	uint8_t code = 100;

	(void)state;
	memset(val, 0x5a, sizeof(val));
	tm_init(&t, DHCP4_BOOTREQUEST);
	while (total + 255 <= DHCP4_OPTDATA_MAX) {
		tm_opt(&t, code++, 255, val);
		total += 255;
	}
	tm_opt(&t, code, (uint8_t)(DHCP4_OPTDATA_MAX - total), val);
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_int_equal(m.data_len, DHCP4_OPTDATA_MAX);

	TM_BYTES(&t, 99, 1, 0);
	assert_int_equal(tm_parse(&t, &m), DHCP4_E_OPT_SIZE);
}

static void test_parse_errors_header(void **state)
{
	struct tmsg t;
	struct dhcp4_msg m;

	(void)state;
	tm_init(&t, DHCP4_BOOTREQUEST);
	assert_int_equal(dhcp4_parse(&m, t.b, DHCP4_HDR_LEN - 1), DHCP4_E_TRUNCATED);
	assert_int_equal(dhcp4_parse(&m, t.b, 0), DHCP4_E_TRUNCATED);
	assert_int_equal(dhcp4_parse(&m, t.b, DHCP4_FIXED_LEN), DHCP4_E_TRUNCATED);

	t.b[239] = 0x64;
	assert_int_equal(tm_parse(&t, &m), DHCP4_E_COOKIE);

	tm_init(&t, 3);
	assert_int_equal(tm_parse(&t, &m), DHCP4_E_OP);
	tm_init(&t, 0);
	assert_int_equal(tm_parse(&t, &m), DHCP4_E_OP);

	tm_init(&t, DHCP4_BOOTREQUEST);
	t.b[2] = 17;
	assert_int_equal(tm_parse(&t, &m), DHCP4_E_HLEN);
	t.b[2] = 16;
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	t.b[2] = 0;
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
}

static void test_parse_errors_overrun(void **state)
{
	struct tmsg t;
	struct dhcp4_msg m;

	(void)state;
	/* The value runs one byte past the end. */
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 53, 1, 1, 12, 4, 'a', 'b', 'c');
	assert_int_equal(tm_parse(&t, &m), DHCP4_E_OPT_OVERRUN);

	/* The length byte itself is past the end. */
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 53, 1, 1, 12);
	assert_int_equal(tm_parse(&t, &m), DHCP4_E_OPT_OVERRUN);

	/* In file: an option running past the field, although the buffer goes on. */
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 52, 1, 1, 255, 0, 0, 0, 0, 0, 0, 0, 0);
	t.b[108 + 126] = 12;
	t.b[108 + 127] = 1;
	assert_int_equal(tm_parse(&t, &m), DHCP4_E_OPT_OVERRUN);

	/* In sname: the length byte would be the first byte of file. */
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 52, 1, 2, 255);
	t.b[44 + 63] = 12;
	t.b[108] = 0;
	assert_int_equal(tm_parse(&t, &m), DHCP4_E_OPT_OVERRUN);
}

static void test_parse_errors_overload(void **state)
{
	struct tmsg t;
	struct dhcp4_msg m;

	(void)state;
	/* Option 52 inside file. */
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 52, 1, 1, 255);
	memcpy(t.b + 108, "\x34\x01\x01\xff", 4);
	assert_int_equal(tm_parse(&t, &m), DHCP4_E_OVERLOAD);

	/* Option 52 inside sname. */
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 52, 1, 2, 255);
	memcpy(t.b + 44, "\x34\x01\x02\xff", 4);
	assert_int_equal(tm_parse(&t, &m), DHCP4_E_OVERLOAD);

	/* Twice with different values. */
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 52, 1, 1, 52, 1, 2, 255);
	assert_int_equal(tm_parse(&t, &m), DHCP4_E_OVERLOAD);

	/* Values outside 1..3 and wrong lengths. */
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 52, 1, 0, 255);
	assert_int_equal(tm_parse(&t, &m), DHCP4_E_OVERLOAD);
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 52, 1, 4, 255);
	assert_int_equal(tm_parse(&t, &m), DHCP4_E_OVERLOAD);
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 52, 2, 1, 1, 255);
	assert_int_equal(tm_parse(&t, &m), DHCP4_E_OVERLOAD);
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 52, 0, 255);
	assert_int_equal(tm_parse(&t, &m), DHCP4_E_OVERLOAD);
}

static void test_parse_errors_fixed_size(void **state)
{
	static const struct {
		uint8_t code;
		uint8_t good;
	} fixed[] = {
		{ DHCP4_OPT_MSG_TYPE, 1 },	{ DHCP4_OPT_REQUESTED_IP, 4 },
		{ DHCP4_OPT_LEASE_TIME, 4 },	{ DHCP4_OPT_SERVER_ID, 4 },
		{ DHCP4_OPT_MAX_SIZE, 2 },
	};
	static const uint8_t val[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct tmsg t;
	struct dhcp4_msg m;

	(void)state;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		for (uint8_t l = 0; l <= 5; l++) {
			tm_init(&t, DHCP4_BOOTREQUEST);
			tm_opt(&t, fixed[i].code, l, val);
			TM_BYTES(&t, 255);
			assert_int_equal(tm_parse(&t, &m),
					 l == fixed[i].good ? DHCP4_OK : DHCP4_E_OPT_SIZE);
		}
	}
	/* Two option 53 concatenate to a 2-byte value. */
	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 53, 1, 1, 53, 1, 1, 255);
	assert_int_equal(tm_parse(&t, &m), DHCP4_E_OPT_SIZE);
}

static void test_parse_errors_msg_type(void **state)
{
	struct tmsg t;
	struct dhcp4_msg m;

	(void)state;
	for (unsigned v = 0; v < 256; v++) {
		uint8_t opt[3] = { 53, 1, (uint8_t)v };

		tm_init(&t, DHCP4_BOOTREQUEST);
		tm_raw(&t, opt, sizeof(opt));
		if (v >= DHCP4_DISCOVER && v <= DHCP4_INFORM) {
			assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
			assert_int_equal(m.type, v);
		} else {
			assert_int_equal(tm_parse(&t, &m), DHCP4_E_MSG_TYPE);
		}
	}
}

static void test_reply_cap(void **state)
{
	struct tmsg t;
	struct dhcp4_msg m;

	(void)state;
	tm_init(&t, DHCP4_BOOTREQUEST);
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_int_equal(dhcp4_reply_cap(&m, 1500), 548);
	assert_int_equal(dhcp4_reply_cap(&m, 400), 400);

	TM_BYTES(&t, 57, 2, 0x05, 0xdc);		/* 1500 */
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_int_equal(dhcp4_reply_cap(&m, 2048), 1472);
	assert_int_equal(dhcp4_reply_cap(&m, 1000), 1000);

	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 57, 2, 0x01, 0x2c);		/* 300: below the legal minimum */
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_int_equal(m.max_size, 300);
	assert_int_equal(dhcp4_reply_cap(&m, 1500), 548);

	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 57, 2, 0x00, 0x00);
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_int_equal(dhcp4_reply_cap(&m, 1500), 548);

	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 57, 2, 0x02, 0x41);		/* 577 */
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_int_equal(dhcp4_reply_cap(&m, 1500), 549);

	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 57, 2, 0xff, 0xff);
	assert_int_equal(tm_parse(&t, &m), DHCP4_OK);
	assert_int_equal(dhcp4_reply_cap(&m, 9000), 9000);
	assert_int_equal(dhcp4_reply_cap(&m, 100000), 65535 - 28);
}

/* A request to answer, as the engine would have it. */
static void parsed_request(struct dhcp4_msg *m)
{
	struct tmsg t;

	tm_init(&t, DHCP4_BOOTREQUEST);
	TM_BYTES(&t, 53, 1, 1, 82, 4, 1, 2, 'a', 'b', 255);
	assert_int_equal(tm_parse(&t, m), DHCP4_OK);
}

static void test_build_roundtrip(void **state)
{
	struct dhcp4_msg req, m;
	struct dhcp4_writer w;
	uint8_t buf[1024];
	uint8_t big[600];
	const uint8_t *relay;
	uint16_t relay_len = 0;
	uint32_t v;
	int n;

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++) {
		big[i] = (uint8_t)(i ^ 0x3c);
	}
	parsed_request(&req);
	relay = dhcp4_opt(&req, DHCP4_OPT_RELAY_AGENT, &relay_len);
	assert_non_null(relay);

	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(dhcp4_build_begin(&w, buf, sizeof(buf), &req, 0, IP4(10, 0, 0, 50),
					   IP4(10, 0, 0, 1), "server", "boot/pxe.0"),
			 DHCP4_OK);
	assert_int_equal(w.len, DHCP4_HDR_LEN);
	assert_int_equal(w.reserve, 1);
	w.reserve += 2 + relay_len;
	assert_int_equal(dhcp4_put_u8(&w, DHCP4_OPT_MSG_TYPE, DHCP4_OFFER), DHCP4_OK);
	assert_int_equal(dhcp4_put_u32(&w, DHCP4_OPT_SERVER_ID, IP4(10, 0, 0, 1)), DHCP4_OK);
	assert_int_equal(dhcp4_put_u32(&w, DHCP4_OPT_LEASE_TIME, 3600), DHCP4_OK);
	assert_int_equal(dhcp4_put(&w, 43, big, sizeof(big)), DHCP4_OK);
	assert_int_equal(dhcp4_put(&w, 80, NULL, 0), DHCP4_OK);
	w.reserve -= 2 + relay_len;
	assert_int_equal(dhcp4_put(&w, DHCP4_OPT_RELAY_AGENT, relay, relay_len), DHCP4_OK);
	n = dhcp4_build_end(&w);
	assert_int_equal(n, DHCP4_HDR_LEN + 3 + 6 + 6 + (600 + 3 * 2) + 2 + 6 + 1);
	assert_int_equal(buf[n], 0xee);

	/* dhcp4_put split the long value: 255, 255, 90. */
	assert_memory_equal(buf + DHCP4_HDR_LEN + 15, "\x2b\xff", 2);
	assert_memory_equal(buf + DHCP4_HDR_LEN + 15 + 257, "\x2b\xff", 2);
	assert_memory_equal(buf + DHCP4_HDR_LEN + 15 + 514, "\x2b\x5a", 2);

	assert_int_equal(dhcp4_parse(&m, buf, (size_t)n), DHCP4_OK);
	assert_int_equal(m.op, DHCP4_BOOTREPLY);
	assert_int_equal(m.htype, 1);
	assert_int_equal(m.hlen, 6);
	assert_int_equal(m.hops, 0);
	assert_int_equal(m.secs, 0);
	assert_memory_equal(&m.xid, &req.xid, 4);
	assert_int_equal(m.flags, DHCP4_FLAG_BROADCAST);
	assert_int_equal(m.ciaddr, 0);
	assert_int_equal(m.yiaddr, IP4(10, 0, 0, 50));
	assert_int_equal(m.siaddr, IP4(10, 0, 0, 1));
	assert_int_equal(m.giaddr, IP4(10, 0, 0, 4));
	assert_memory_equal(m.chaddr, test_chaddr, 6);
	assert_memory_equal(m.chaddr + 6, "\0\0\0\0\0\0\0\0\0\0", 10);
	assert_string_equal((const char *)m.sname, "server");
	assert_string_equal((const char *)m.file, "boot/pxe.0");
	assert_int_equal(m.type, DHCP4_OFFER);
	assert_true(dhcp4_opt_u32(&m, DHCP4_OPT_SERVER_ID, &v));
	assert_int_equal(v, IP4(10, 0, 0, 1));
	assert_true(dhcp4_opt_u32(&m, DHCP4_OPT_LEASE_TIME, &v));
	assert_int_equal(v, 3600);
	assert_opt(&m, 43, big, sizeof(big));
	assert_opt(&m, 80, NULL, 0);
	assert_opt(&m, DHCP4_OPT_RELAY_AGENT, "\x01\x02" "ab", 4);
}

static void test_build_pad_to_300(void **state)
{
	struct dhcp4_msg req, m;
	struct dhcp4_writer w;
	uint8_t buf[400];
	int n;

	(void)state;
	parsed_request(&req);
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(dhcp4_build_begin(&w, buf, sizeof(buf), &req, 0, 0, 0, NULL, NULL),
			 DHCP4_OK);
	assert_int_equal(dhcp4_put_u8(&w, DHCP4_OPT_MSG_TYPE, DHCP4_NAK), DHCP4_OK);
	n = dhcp4_build_end(&w);
	assert_int_equal(n, DHCP4_MIN_REPLY_LEN);
	assert_int_equal(buf[DHCP4_HDR_LEN + 3], DHCP4_OPT_END);
	for (int i = DHCP4_HDR_LEN + 4; i < n; i++) {
		assert_int_equal(buf[i], 0);
	}
	assert_int_equal(buf[n], 0xee);
	for (int i = 44; i < 236; i++) {
		assert_int_equal(buf[i], 0);		/* NULL sname/file: zeroed */
	}
	assert_int_equal(dhcp4_parse(&m, buf, (size_t)n), DHCP4_OK);
	assert_int_equal(m.type, DHCP4_NAK);

	/* A cap below 300 pads up to the cap only. */
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(dhcp4_build_begin(&w, buf, 260, &req, 0, 0, 0, NULL, NULL), DHCP4_OK);
	assert_int_equal(dhcp4_build_end(&w), 260);
	assert_int_equal(buf[260], 0xee);
}

static void test_build_strings(void **state)
{
	struct dhcp4_msg req;
	struct dhcp4_writer w;
	uint8_t buf[300];
	char longname[200];

	(void)state;
	parsed_request(&req);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(dhcp4_build_begin(&w, buf, sizeof(buf), &req, 0, 0, 0, longname,
					   longname), DHCP4_OK);
	/* Cut so that each field keeps its NUL. */
	assert_int_equal(buf[44 + 62], 'n');
	assert_int_equal(buf[44 + 63], 0);
	assert_int_equal(buf[108 + 126], 'n');
	assert_int_equal(buf[108 + 127], 0);
	assert_memory_equal(buf + 236, "\x63\x82\x53\x63", 4);
}

static void test_build_chaddr_hlen(void **state)
{
	struct tmsg t;
	struct dhcp4_msg req;
	struct dhcp4_writer w;
	uint8_t buf[300];

	(void)state;
	tm_init(&t, DHCP4_BOOTREQUEST);
	memset(t.b + 28 + 6, 0x77, 10);			/* junk past hlen */
	assert_int_equal(tm_parse(&t, &req), DHCP4_OK);
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(dhcp4_build_begin(&w, buf, sizeof(buf), &req, 0, 0, 0, NULL, NULL),
			 DHCP4_OK);
	assert_memory_equal(buf + 28, test_chaddr, 6);
	assert_memory_equal(buf + 34, "\0\0\0\0\0\0\0\0\0\0", 10);
}

static void test_build_bounds(void **state)
{
	enum { CAP = 270, CANARY = 64 };
	struct dhcp4_msg req;
	struct dhcp4_writer w;
	uint8_t buf[CAP + CANARY];
	uint8_t val[300];
	size_t before;
	int n;

	(void)state;
	parsed_request(&req);
	memset(val, 0x11, sizeof(val));

	assert_int_equal(dhcp4_build_begin(&w, buf, DHCP4_HDR_LEN, &req, 0, 0, 0, NULL, NULL),
			 DHCP4_E_NOSPACE);
	assert_int_equal(dhcp4_build_begin(&w, buf, DHCP4_HDR_LEN + 1, &req, 0, 0, 0, NULL, NULL),
			 DHCP4_OK);
	assert_int_equal(dhcp4_put_u8(&w, DHCP4_OPT_MSG_TYPE, 2), DHCP4_E_NOSPACE);
	assert_int_equal(dhcp4_build_end(&w), DHCP4_HDR_LEN + 1);

	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(dhcp4_build_begin(&w, buf, CAP, &req, 0, 0, 0, NULL, NULL), DHCP4_OK);
	/* 30 bytes are left, one of them reserved for END. */
	assert_int_equal(dhcp4_put(&w, 43, val, 300), DHCP4_E_NOSPACE);
	assert_int_equal(dhcp4_put(&w, 43, val, 28), DHCP4_E_NOSPACE);
	assert_int_equal(w.len, DHCP4_HDR_LEN);
	assert_int_equal(dhcp4_put(&w, 43, val, 20), DHCP4_OK);	/* 22 bytes, 7 left */
	/* Reserve 6 for a last option: a 3-byte value (5) no longer fits, a 0-byte one does. */
	w.reserve += 6;
	before = w.len;
	assert_int_equal(dhcp4_put(&w, 44, val, 3), DHCP4_E_NOSPACE);
	assert_int_equal(w.len, before);
	w.reserve -= 6;
	assert_int_equal(dhcp4_put(&w, 44, val, 3), DHCP4_OK);	/* 5 bytes, 2 left */
	assert_int_equal(dhcp4_put_u8(&w, 46, 1), DHCP4_E_NOSPACE);	/* would eat END */
	assert_int_equal(dhcp4_put(&w, 45, NULL, 0), DHCP4_OK);	/* 2 bytes, 0 left */
	assert_int_equal(dhcp4_put(&w, 45, NULL, 0), DHCP4_E_NOSPACE);
	assert_int_equal(w.len, CAP - 1);
	n = dhcp4_build_end(&w);
	assert_int_equal(n, CAP);
	for (size_t i = CAP; i < sizeof(buf); i++) {
		assert_int_equal(buf[i], 0xee);
	}

	/* Exactly full: END needs the reserve, and without it there is no room. */
	assert_int_equal(dhcp4_build_begin(&w, buf, CAP, &req, 0, 0, 0, NULL, NULL), DHCP4_OK);
	assert_int_equal(dhcp4_put(&w, 43, val, CAP - DHCP4_HDR_LEN - 3), DHCP4_OK);
	assert_int_equal(w.len, CAP - 1);
	w.reserve = 0;
	assert_int_equal(dhcp4_put(&w, 45, NULL, 0), DHCP4_E_NOSPACE);
	w.len = CAP;
	assert_int_equal(dhcp4_build_end(&w), DHCP4_E_NOSPACE);
	for (size_t i = CAP; i < sizeof(buf); i++) {
		assert_int_equal(buf[i], 0xee);
	}

	/* PAD and END cannot be written as options. */
	assert_int_equal(dhcp4_build_begin(&w, buf, CAP, &req, 0, 0, 0, NULL, NULL), DHCP4_OK);
	assert_int_equal(dhcp4_put(&w, DHCP4_OPT_PAD, NULL, 0), DHCP4_E_OPT_SIZE);
	assert_int_equal(dhcp4_put_u8(&w, DHCP4_OPT_END, 0), DHCP4_E_OPT_SIZE);
	assert_int_equal(w.len, DHCP4_HDR_LEN);
}

/* A put writes all of its instances, or fails when they would not fit; nothing else. */
static void put_checked(struct dhcp4_writer *w, uint8_t code, const uint8_t *val, size_t len)
{
	size_t need = len + 2 * (len ? (len + 254) / 255 : 1);
	size_t before = w->len;
	bool fits = before + w->reserve + need <= w->cap;

	assert_int_equal(dhcp4_put(w, code, val, len), fits ? DHCP4_OK : DHCP4_E_NOSPACE);
	assert_int_equal(w->len, fits ? before + need : before);
	assert_true(w->len + w->reserve <= w->cap);
}

/* Every cap from the smallest to beyond the message: never a byte past cap. */
static void test_build_every_cap(void **state)
{
	enum { MAXCAP = 1200 };
	static const uint8_t ack = DHCP4_ACK;
	static uint8_t buf[MAXCAP + 16];
	struct dhcp4_msg req, m;
	struct dhcp4_writer w;
	uint8_t val[700];

	(void)state;
	parsed_request(&req);
	memset(val, 0x42, sizeof(val));
	for (size_t cap = DHCP4_HDR_LEN + 1; cap <= MAXCAP; cap++) {
		int n;

		memset(buf, 0xee, sizeof(buf));
		assert_int_equal(dhcp4_build_begin(&w, buf, cap, &req, 0, 0, 0, NULL, NULL),
				 DHCP4_OK);
		put_checked(&w, DHCP4_OPT_MSG_TYPE, &ack, 1);
		put_checked(&w, 43, val, sizeof(val));
		put_checked(&w, 44, val, 100);
		put_checked(&w, DHCP4_OPT_LEASE_TIME, val, 4);
		put_checked(&w, 45, val, 1);
		n = dhcp4_build_end(&w);
		assert_true(n > 0 && (size_t)n <= cap);
		assert_int_equal(buf[cap], 0xee);
		assert_int_equal(dhcp4_parse(&m, buf, (size_t)n), DHCP4_OK);
	}
}

/* dhcp4_put_room(): room for several options with one check, the same bytes and the same
 * all-or-nothing result as the puts one by one; never past cap or into the reserve. */
static void test_put_room(void **state)
{
	enum { MAXCAP = DHCP4_HDR_LEN + 40 };
	uint8_t buf[MAXCAP + 16], ref[MAXCAP + 16];
	struct dhcp4_msg req;
	struct dhcp4_writer w, wr;

	(void)state;
	parsed_request(&req);
	for (size_t cap = DHCP4_HDR_LEN + 1; cap <= MAXCAP; cap++) {
		for (size_t reserve = 0; reserve < 8; reserve++) {
			bool ok = true;
			uint8_t *p;

			memset(buf, 0xee, sizeof(buf));
			memset(ref, 0xee, sizeof(ref));
			assert_int_equal(dhcp4_build_begin(&w, buf, cap, &req, 0, 0, 0, NULL, NULL),
					 DHCP4_OK);
			assert_int_equal(dhcp4_build_begin(&wr, ref, cap, &req, 0, 0, 0, NULL, NULL),
					 DHCP4_OK);
			w.reserve = wr.reserve = reserve;
			p = dhcp4_put_room(&w, 3 + 6 + 6);
			ok = dhcp4_put_u8(&wr, DHCP4_OPT_MSG_TYPE, DHCP4_ACK) == DHCP4_OK;
			ok = ok && dhcp4_put_u32(&wr, DHCP4_OPT_SERVER_ID, 0x0a000001) == DHCP4_OK;
			ok = ok && dhcp4_put_u32(&wr, DHCP4_OPT_LEASE_TIME, 3600) == DHCP4_OK;
			assert_int_equal(p != NULL, ok);
			if (p == NULL) {
				assert_int_equal(w.len, DHCP4_HDR_LEN);
			} else {
				assert_ptr_equal(p, buf + DHCP4_HDR_LEN);
				p = dhcp4_enc_u8(p, DHCP4_OPT_MSG_TYPE, DHCP4_ACK);
				p = dhcp4_enc_u32(p, DHCP4_OPT_SERVER_ID, 0x0a000001);
				p = dhcp4_enc_u32(p, DHCP4_OPT_LEASE_TIME, 3600);
				assert_ptr_equal(p, buf + w.len);
				assert_int_equal(w.len, wr.len);
				assert_memory_equal(buf, ref, sizeof(buf));
				assert_true(w.len + w.reserve <= cap);
			}
			assert_int_equal(buf[cap], 0xee);
		}
	}
}

static void test_strings(void **state)
{
	(void)state;
	assert_string_equal(dhcp4_err_str(DHCP4_OK), "ok");
	assert_string_equal(dhcp4_err_str(DHCP4_E_TRUNCATED), "truncated");
	assert_string_equal(dhcp4_err_str(DHCP4_E_COOKIE), "bad_cookie");
	assert_string_equal(dhcp4_err_str(DHCP4_E_HLEN), "bad_hlen");
	assert_string_equal(dhcp4_err_str(DHCP4_E_OPT_OVERRUN), "opt_overrun");
	assert_string_equal(dhcp4_err_str(DHCP4_E_OVERLOAD), "bad_overload");
	assert_string_equal(dhcp4_err_str(DHCP4_E_OPT_SIZE), "bad_opt_size");
	assert_string_equal(dhcp4_err_str(DHCP4_E_OP), "bad_op");
	assert_string_equal(dhcp4_err_str(DHCP4_E_MSG_TYPE), "bad_msg_type");
	assert_string_equal(dhcp4_err_str(DHCP4_E_NOSPACE), "no_space");
	assert_string_equal(dhcp4_err_str(-1000), "unknown");
	assert_string_equal(dhcp4_err_str(1), "unknown");

	assert_string_equal(dhcp4_type_str(DHCP4_BOOTP), "BOOTP");
	assert_string_equal(dhcp4_type_str(DHCP4_DISCOVER), "DISCOVER");
	assert_string_equal(dhcp4_type_str(DHCP4_OFFER), "OFFER");
	assert_string_equal(dhcp4_type_str(DHCP4_REQUEST), "REQUEST");
	assert_string_equal(dhcp4_type_str(DHCP4_DECLINE), "DECLINE");
	assert_string_equal(dhcp4_type_str(DHCP4_ACK), "ACK");
	assert_string_equal(dhcp4_type_str(DHCP4_NAK), "NAK");
	assert_string_equal(dhcp4_type_str(DHCP4_RELEASE), "RELEASE");
	assert_string_equal(dhcp4_type_str(DHCP4_INFORM), "INFORM");
	assert_string_equal(dhcp4_type_str(DHCP4_TYPE_MAX), "UNKNOWN");
	assert_string_equal(dhcp4_type_str(1000), "UNKNOWN");
}

/*
 * Real captures. The expected values are what
 *   tshark -r FILE -T fields -e frame.number -e dhcp.option.dhcp -e dhcp.id
 *          -e dhcp.hw.mac_addr -e dhcp.option.requested_ip_address
 *          -e dhcp.option.dhcp_server_id
 * prints (tshark 4.0, Debian 12). The last column is what dp_frame_parse must say about the
 * frame once an Ethernet header is put back in front: to port 68 (server to client) it is
 * not for us; dhclient's unicast RENEW/RELEASE were captured on the sending host before
 * checksum offload filled in the UDP checksum, which tshark -o udp.check_checksum:TRUE also
 * reports as bad.
 */
enum pcap_frame_expect { OK = DP_FRAME_DHCP, TO_CLIENT = DP_FE_UDP_PORT,
			 BAD_CSUM = DP_FE_UDP_CSUM };

struct pcap_expect {
	unsigned frame;
	unsigned type;
	uint32_t xid;
	const char *chaddr;
	const char *requested;
	const char *server_id;
	int frame_kind;
};

static const struct pcap_expect startup_expect[] = {
	{  1, 1, 0xcacb0464, "02:00:5e:12:00:05", "",             "",           OK },
	{  2, 1, 0xcacb0464, "02:00:5e:12:00:05", "",             "",           OK },
	{  3, 1, 0x0af5ff66, "02:00:5e:12:00:01", "",             "",           OK },
	{  4, 1, 0x0af5ff66, "02:00:5e:12:00:01", "",             "",           OK },
	{  5, 2, 0xcacb0464, "02:00:5e:12:00:05", "",             "198.18.0.1", TO_CLIENT },
	{  6, 2, 0x0af5ff66, "02:00:5e:12:00:01", "",             "198.18.0.2", TO_CLIENT },
	{  7, 3, 0xcacb0464, "02:00:5e:12:00:05", "198.18.0.150", "198.18.0.1", OK },
	{  8, 3, 0xcacb0464, "02:00:5e:12:00:05", "198.18.0.150", "198.18.0.1", OK },
	{  9, 3, 0x0af5ff66, "02:00:5e:12:00:01", "198.18.0.149", "198.18.0.2", OK },
	{ 10, 3, 0x0af5ff66, "02:00:5e:12:00:01", "198.18.0.149", "198.18.0.2", OK },
	{ 11, 5, 0xcacb0464, "02:00:5e:12:00:05", "",             "198.18.0.1", TO_CLIENT },
	{ 12, 5, 0x0af5ff66, "02:00:5e:12:00:01", "",             "198.18.0.2", TO_CLIENT },
	{ 13, 1, 0x51000000, "02:00:5e:13:00:02", "",             "",           OK },
	{ 14, 1, 0x51000000, "02:00:5e:13:00:02", "",             "",           OK },
	{ 15, 2, 0x51000000, "02:00:5e:13:00:02", "",             "198.18.0.2", TO_CLIENT },
	{ 16, 2, 0x51000000, "02:00:5e:13:00:02", "",             "198.18.0.2", TO_CLIENT },
	{ 17, 3, 0x51000000, "02:00:5e:13:00:02", "198.18.0.148", "198.18.0.2", OK },
	{ 18, 3, 0x51000000, "02:00:5e:13:00:02", "198.18.0.148", "198.18.0.2", OK },
	{ 19, 5, 0x51000000, "02:00:5e:13:00:02", "",             "198.18.0.2", TO_CLIENT },
	{ 20, 5, 0x51000000, "02:00:5e:13:00:02", "",             "198.18.0.2", TO_CLIENT },
	{ 21, 1, 0x51000001, "02:00:5e:13:00:03", "",             "",           OK },
	{ 22, 1, 0x51000001, "02:00:5e:13:00:03", "",             "",           OK },
	{ 23, 2, 0x51000001, "02:00:5e:13:00:03", "",             "198.18.0.2", TO_CLIENT },
	{ 24, 2, 0x51000001, "02:00:5e:13:00:03", "",             "198.18.0.2", TO_CLIENT },
	{ 25, 3, 0x51000001, "02:00:5e:13:00:03", "198.18.0.147", "198.18.0.2", OK },
	{ 26, 3, 0x51000001, "02:00:5e:13:00:03", "198.18.0.147", "198.18.0.2", OK },
	{ 27, 5, 0x51000001, "02:00:5e:13:00:03", "",             "198.18.0.2", TO_CLIENT },
	{ 28, 5, 0x51000001, "02:00:5e:13:00:03", "",             "198.18.0.2", TO_CLIENT },
	{ 29, 1, 0x51000002, "02:00:5e:13:00:09", "",             "",           OK },
	{ 30, 1, 0x51000002, "02:00:5e:13:00:09", "",             "",           OK },
	{ 31, 2, 0x51000002, "02:00:5e:13:00:09", "",             "198.18.0.2", TO_CLIENT },
	{ 32, 2, 0x51000002, "02:00:5e:13:00:09", "",             "198.18.0.2", TO_CLIENT },
	{ 33, 3, 0x51000002, "02:00:5e:13:00:09", "198.18.0.146", "198.18.0.2", OK },
	{ 34, 3, 0x51000002, "02:00:5e:13:00:09", "198.18.0.146", "198.18.0.2", OK },
	{ 35, 5, 0x51000002, "02:00:5e:13:00:09", "",             "198.18.0.2", TO_CLIENT },
	{ 36, 5, 0x51000002, "02:00:5e:13:00:09", "",             "198.18.0.2", TO_CLIENT },
	{ 37, 1, 0x51000003, "02:00:5e:13:00:0a", "",             "",           OK },
	{ 38, 1, 0x51000003, "02:00:5e:13:00:0a", "",             "",           OK },
	{ 39, 2, 0x51000003, "02:00:5e:13:00:0a", "",             "198.18.0.2", TO_CLIENT },
	{ 40, 2, 0x51000003, "02:00:5e:13:00:0a", "",             "198.18.0.2", TO_CLIENT },
	{ 41, 3, 0x51000003, "02:00:5e:13:00:0a", "198.18.0.145", "198.18.0.2", OK },
	{ 42, 3, 0x51000003, "02:00:5e:13:00:0a", "198.18.0.145", "198.18.0.2", OK },
	{ 43, 5, 0x51000003, "02:00:5e:13:00:0a", "",             "198.18.0.2", TO_CLIENT },
	{ 44, 5, 0x51000003, "02:00:5e:13:00:0a", "",             "198.18.0.2", TO_CLIENT },
	{ 45, 1, 0x51000004, "02:00:5e:13:00:0b", "",             "",           OK },
	{ 46, 1, 0x51000004, "02:00:5e:13:00:0b", "",             "",           OK },
	{ 47, 2, 0x51000004, "02:00:5e:13:00:0b", "",             "198.18.0.2", TO_CLIENT },
	{ 48, 2, 0x51000004, "02:00:5e:13:00:0b", "",             "198.18.0.2", TO_CLIENT },
	{ 49, 3, 0x51000004, "02:00:5e:13:00:0b", "198.18.0.144", "198.18.0.2", OK },
	{ 50, 3, 0x51000004, "02:00:5e:13:00:0b", "198.18.0.144", "198.18.0.2", OK },
	{ 51, 5, 0x51000004, "02:00:5e:13:00:0b", "",             "198.18.0.2", TO_CLIENT },
	{ 52, 5, 0x51000004, "02:00:5e:13:00:0b", "",             "198.18.0.2", TO_CLIENT },
	{ 53, 1, 0x51000005, "02:00:5e:13:00:0f", "",             "",           OK },
	{ 54, 1, 0x51000005, "02:00:5e:13:00:0f", "",             "",           OK },
	{ 55, 2, 0x51000005, "02:00:5e:13:00:0f", "",             "198.18.0.2", TO_CLIENT },
	{ 56, 2, 0x51000005, "02:00:5e:13:00:0f", "",             "198.18.0.2", TO_CLIENT },
	{ 57, 3, 0x51000005, "02:00:5e:13:00:0f", "198.18.0.143", "198.18.0.2", OK },
	{ 58, 3, 0x51000005, "02:00:5e:13:00:0f", "198.18.0.143", "198.18.0.2", OK },
	{ 59, 5, 0x51000005, "02:00:5e:13:00:0f", "",             "198.18.0.2", TO_CLIENT },
	{ 60, 5, 0x51000005, "02:00:5e:13:00:0f", "",             "198.18.0.2", TO_CLIENT },
	{ 61, 1, 0x51000006, "02:00:5e:13:00:11", "",             "",           OK },
	{ 62, 1, 0x51000006, "02:00:5e:13:00:11", "",             "",           OK },
	{ 63, 2, 0x51000006, "02:00:5e:13:00:11", "",             "198.18.0.2", TO_CLIENT },
	{ 64, 2, 0x51000006, "02:00:5e:13:00:11", "",             "198.18.0.2", TO_CLIENT },
	{ 65, 3, 0x51000006, "02:00:5e:13:00:11", "198.18.0.142", "198.18.0.2", OK },
	{ 66, 3, 0x51000006, "02:00:5e:13:00:11", "198.18.0.142", "198.18.0.2", OK },
	{ 67, 5, 0x51000006, "02:00:5e:13:00:11", "",             "198.18.0.2", TO_CLIENT },
	{ 68, 5, 0x51000006, "02:00:5e:13:00:11", "",             "198.18.0.2", TO_CLIENT },
	{ 69, 1, 0x51000007, "02:00:5e:13:00:14", "",             "",           OK },
	{ 70, 1, 0x51000007, "02:00:5e:13:00:14", "",             "",           OK },
	{ 71, 2, 0x51000007, "02:00:5e:13:00:14", "",             "198.18.0.2", TO_CLIENT },
	{ 72, 2, 0x51000007, "02:00:5e:13:00:14", "",             "198.18.0.2", TO_CLIENT },
	{ 73, 3, 0x51000007, "02:00:5e:13:00:14", "198.18.0.141", "198.18.0.2", OK },
	{ 74, 3, 0x51000007, "02:00:5e:13:00:14", "198.18.0.141", "198.18.0.2", OK },
	{ 75, 5, 0x51000007, "02:00:5e:13:00:14", "",             "198.18.0.2", TO_CLIENT },
	{ 76, 5, 0x51000007, "02:00:5e:13:00:14", "",             "198.18.0.2", TO_CLIENT },
	{ 77, 3, 0x0af5ff66, "02:00:5e:12:00:01", "",             "",           BAD_CSUM },
	{ 78, 5, 0x0af5ff66, "02:00:5e:12:00:01", "",             "198.18.0.2", TO_CLIENT },
	{ 79, 3, 0xcacb0464, "02:00:5e:12:00:05", "",             "",           BAD_CSUM },
	{ 80, 5, 0xcacb0464, "02:00:5e:12:00:05", "",             "198.18.0.1", TO_CLIENT },
	{ 81, 7, 0x94ee783b, "02:00:5e:12:00:05", "",             "198.18.0.1", BAD_CSUM },
	{ 82, 7, 0xcdc2c321, "02:00:5e:12:00:01", "",             "198.18.0.2", BAD_CSUM },
};

static const struct pcap_expect fault_expect[] = {
	{  1, 1, 0x9aba4207, "02:00:5e:12:00:01", "198.18.0.149", "",           OK },
	{  2, 1, 0x9aba4207, "02:00:5e:12:00:01", "198.18.0.149", "",           OK },
	{  3, 2, 0x9aba4207, "02:00:5e:12:00:01", "",             "198.18.0.1", TO_CLIENT },
	{  4, 3, 0x9aba4207, "02:00:5e:12:00:01", "198.18.0.152", "198.18.0.1", OK },
	{  5, 3, 0x9aba4207, "02:00:5e:12:00:01", "198.18.0.152", "198.18.0.1", OK },
	{  6, 5, 0x9aba4207, "02:00:5e:12:00:01", "",             "198.18.0.1", TO_CLIENT },
	{  7, 3, 0x9aba4207, "02:00:5e:12:00:01", "",             "",           BAD_CSUM },
	{  8, 5, 0x9aba4207, "02:00:5e:12:00:01", "",             "198.18.0.1", TO_CLIENT },
	{  9, 7, 0xee53bc2e, "02:00:5e:12:00:01", "",             "198.18.0.1", BAD_CSUM },
};

/* Room for either capture (28 KB and 3 KB). */
static uint8_t pcap_buf[1 << 20];

static uint32_t pcap_u32(const uint8_t *p, bool swap)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return swap ? __builtin_bswap32(v) : v;
}

static uint32_t ip_of(const char *s)
{
	struct in_addr a;

	if (s[0] == '\0') {
		return 0;
	}
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return ntohl(a.s_addr);
}

/* Compare one parsed message with its line of the tshark table. */
static void check_msg(const struct dhcp4_msg *m, const struct pcap_expect *e)
{
	uint8_t mac[6];
	uint8_t xid[4];
	uint32_t v;

	assert_int_equal(m->type, e->type);
	memcpy(xid, &m->xid, 4);
	assert_int_equal(lw_get32(xid), e->xid);
	assert_int_equal(sscanf(e->chaddr, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1],
				&mac[2], &mac[3], &mac[4], &mac[5]), 6);
	assert_int_equal(m->hlen, 6);
	assert_memory_equal(m->chaddr, mac, 6);
	if (e->requested[0]) {
		assert_true(dhcp4_opt_u32(m, DHCP4_OPT_REQUESTED_IP, &v));
		assert_int_equal(v, ip_of(e->requested));
	} else {
		assert_false(dhcp4_has(m, DHCP4_OPT_REQUESTED_IP));
	}
	if (e->server_id[0]) {
		assert_true(dhcp4_opt_u32(m, DHCP4_OPT_SERVER_ID, &v));
		assert_int_equal(v, ip_of(e->server_id));
	} else {
		assert_false(dhcp4_has(m, DHCP4_OPT_SERVER_ID));
	}
}

/*
 * One captured packet: @p l3 is its IPv4 header, @p eth the same packet as an Ethernet frame.
 * The DHCP payload is found by hand here, independently of dp_frame_parse.
 */
static void check_packet(const uint8_t *l3, size_t l3_len, const uint8_t *eth, size_t eth_len,
			 const struct pcap_expect *e)
{
	struct dhcp4_msg m;
	struct dp_frame f;
	size_t ihl, ulen;
	int kind;

	assert_true(l3_len >= 28);
	assert_int_equal(l3[0] >> 4, 4);
	assert_int_equal(l3[9], 17);
	ihl = (size_t)(l3[0] & 15) * 4;
	assert_true(l3_len >= ihl + 8);
	ulen = (size_t)l3[ihl + 4] << 8 | l3[ihl + 5];
	assert_true(ulen >= 8 && ihl + ulen <= l3_len);
	assert_int_equal(dhcp4_parse(&m, l3 + ihl + 8, ulen - 8), DHCP4_OK);
	check_msg(&m, e);

	kind = dp_frame_parse(eth, eth_len, &f);
	if (kind != e->frame_kind) {
		fail_msg("frame %u: dp_frame_parse %d (%s), expected %d", e->frame, kind,
			 dp_frame_err_str(kind), e->frame_kind);
	}
	if (kind == DP_FRAME_DHCP) {
		assert_int_equal(f.payload_off, eth_len - l3_len + ihl + 8);
		assert_int_equal(f.payload_len, ulen - 8);
	}
}

static size_t pcap_load(const char *path)
{
	FILE *fp = fopen(path, "rb");
	size_t n;

	if (!fp) {
		fail_msg("cannot open %s: the reference captures are part of the test", path);
	}
	n = fread(pcap_buf, 1, sizeof(pcap_buf), fp);
	assert_true(feof(fp));
	fclose(fp);
	return n;
}

/*
 * Walk a classic pcap file. Ethernet frames are taken as they are; Linux cooked captures
 * (SLL, SLL2) get an Ethernet header rebuilt from the link-layer source and protocol.
 */
static void check_pcap(const char *path, const struct pcap_expect *exp, size_t nexp)
{
	static uint8_t eth[65536 + 14];
	size_t len = pcap_load(path);
	size_t off = 24, count = 0;
	uint32_t magic, linktype;
	bool swap;

	assert_true(len >= 24);
	memcpy(&magic, pcap_buf, 4);
	swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
	assert_true(swap || magic == 0xa1b2c3d4 || magic == 0xa1b23c4d);
	linktype = pcap_u32(pcap_buf + 20, swap) & 0xffff;

	while (off < len) {
		const uint8_t *pkt = pcap_buf + off + 16;
		const uint8_t *l3;
		size_t incl, l3_len, eth_len;
		uint16_t proto;

		assert_true(len - off >= 16);
		incl = pcap_u32(pcap_buf + off + 8, swap);
		assert_int_equal(incl, pcap_u32(pcap_buf + off + 12, swap));	/* not snapped */
		assert_true(incl <= len - off - 16 && incl <= 65536);
		off += 16 + incl;

		switch (linktype) {
		case 1:		/* Ethernet */
			assert_true(incl >= 14);
			memcpy(eth, pkt, incl);
			eth_len = incl;
			proto = (uint16_t)(pkt[12] << 8 | pkt[13]);
			l3 = pkt + 14;
			l3_len = incl - 14;
			break;
		case 113:	/* SLL: type, hatype, halen, 8-byte address, protocol */
			assert_true(incl >= 16);
			proto = (uint16_t)(pkt[14] << 8 | pkt[15]);
			memset(eth, 0xff, 6);
			memcpy(eth + 6, pkt + 6, 6);
			l3 = pkt + 16;
			l3_len = incl - 16;
			break;
		case 276:	/* SLL2: protocol first, 20 bytes, address at 12 */
			assert_true(incl >= 20);
			proto = (uint16_t)(pkt[0] << 8 | pkt[1]);
			memset(eth, 0xff, 6);
			memcpy(eth + 6, pkt + 12, 6);
			l3 = pkt + 20;
			l3_len = incl - 20;
			break;
		default:
			fail_msg("%s: link type %u not handled", path, (unsigned)linktype);
			return;
		}
		if (linktype != 1) {
			eth[12] = (uint8_t)(proto >> 8);
			eth[13] = (uint8_t)proto;
			memcpy(eth + 14, l3, l3_len);
			eth_len = 14 + l3_len;
		}
		assert_int_equal(proto, 0x0800);
		assert_true(count < nexp);
		check_packet(l3, l3_len, eth, eth_len, &exp[count]);
		count++;
	}
	assert_int_equal(off, len);
	assert_int_equal(count, nexp);
}

static void test_pcap_startup(void **state)
{
	(void)state;
	check_pcap(CAPTURES "startup-dhcp.pcap", startup_expect,
		   sizeof(startup_expect) / sizeof(startup_expect[0]));
}

static void test_pcap_fault(void **state)
{
	(void)state;
	check_pcap(CAPTURES "fault-dhcp.pcap", fault_expect,
		   sizeof(fault_expect) / sizeof(fault_expect[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_discover),
		cmocka_unit_test(test_parse_reuse),
		cmocka_unit_test(test_parse_bootp),
		cmocka_unit_test(test_parse_pad_and_no_end),
		cmocka_unit_test(test_parse_overload),
		cmocka_unit_test(test_parse_concat),
		cmocka_unit_test(test_parse_optdata_max),
		cmocka_unit_test(test_parse_errors_header),
		cmocka_unit_test(test_parse_errors_overrun),
		cmocka_unit_test(test_parse_errors_overload),
		cmocka_unit_test(test_parse_errors_fixed_size),
		cmocka_unit_test(test_parse_errors_msg_type),
		cmocka_unit_test(test_reply_cap),
		cmocka_unit_test(test_build_roundtrip),
		cmocka_unit_test(test_build_pad_to_300),
		cmocka_unit_test(test_build_strings),
		cmocka_unit_test(test_build_chaddr_hlen),
		cmocka_unit_test(test_build_bounds),
		cmocka_unit_test(test_build_every_cap),
		cmocka_unit_test(test_put_room),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_pcap_startup),
		cmocka_unit_test(test_pcap_fault),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
