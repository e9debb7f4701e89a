/*
 * Unit tests of failover/fo_msg: framing, round trips of every message type with every option
 * it carries, a table of malformed inputs with their exact error codes, the name tables, and
 * every failover message of the ISC lab captures (shared/reference/isc-peer/captures).
 *
 * The capture tests read each *-fo.pcap with a small pcap + IPv4 + TCP reader that reassembles
 * each direction, frame the streams with fo_frame_len(), and compare each message with the
 * line tools/fodecode.py wrote for it in *-fo.msgs.txt: header fields, every option's bytes
 * (rebuilt from the text, so the expected values come from the ISC decode and not from our
 * decoder), and the verdict ISC's rules give for it. Those rules (which options a message type
 * carries, fixed sizes, duplicates, unknown types) are written here a second time, from ISC
 * 4.4.3 server/stables.c and failover.c, independently of fo_msg.c's tables.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "fmt.h"
#include "fo_msg.h"

#ifndef LW_SRCDIR
#error "LW_SRCDIR must name the project source root"
#endif
#define CAPTURES LW_SRCDIR "/../shared/reference/isc-peer/captures/"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * ISC 4.4.3's view of the options, written from server/stables.c: the fto_allowed set of each
 * message type, and the fixed size of each option (ft_sizes[type] * num_present). DDNS is 0 in
 * ISC's table; fo_msg decodes it as D12 says (at least 2 bytes), see fo_msg.h.
 */
#define B(c) (UINT32_C(1) << (c))
#define ISC_BND (B(2) | B(3) | B(4) | B(5) | B(9) | B(12) | B(13) | B(18) | B(25) | B(6) | \
		 B(8) | B(7))
static const uint32_t isc_allowed[13] = {
	[1] = 0,
	[2] = B(1),
	[3] = ISC_BND,
	[4] = ISC_BND | B(21) | B(16),
	[5] = B(22) | B(14) | B(19) | B(28) | B(20) | B(27) | B(15) | B(11),
	[6] = B(22) | B(14) | B(19) | B(28) | B(20) | B(26) | B(21) | B(16),
	[10] = B(24) | B(23) | B(25),
	[12] = B(21) | B(16),
};

static const uint8_t isc_size[30] = {
	[1] = 4, [2] = 4, [3] = 1, [6] = 4, [10] = 1, [12] = 2, [13] = 4, [14] = 4, [15] = 4,
	[18] = 4, [19] = 4, [20] = 1, [21] = 1, [23] = 1, [24] = 1, [25] = 4, [26] = 1, [27] = 1,
};

/* The order in which ISC writes each type's options (as seen in the captures). */
static const uint8_t isc_order_bnd[] = { 2, 3, 4, 5, 13, 18, 25, 6, 12 };
static const uint8_t isc_order_connect[] = { 22, 14, 19, 28, 20, 27, 15, 11 };
static const uint8_t isc_order_connectack[] = { 22, 14, 19, 28, 20, 26, 21, 16 };
static const uint8_t isc_order_state[] = { 24, 23, 25 };

/* ------------------------------------------------------------------------------------------ */
/* Comparing decoded messages, field by field. */

/* @p wild marks bytes that the text could not show (non-ASCII in a string); may be NULL. */
static bool bytes_eq(const struct fo_bytes *b, const uint8_t *v, const uint8_t *wild,
		     uint16_t len)
{
	if (b->len != len) {
		return false;
	}
	for (uint16_t i = 0; i < len; i++) {
		if (wild && wild[i] ? b->ptr[i] < 0x80 : b->ptr[i] != v[i]) {
			return false;
		}
	}
	return true;
}

/* The value of a 4-byte option of @p m, by field name. */
static bool field_u32(const struct fo_msg *m, unsigned int code, uint32_t *u)
{
	switch (code) {
	case 1:
		*u = m->addresses_transferred;
		return true;
	case 2:
		*u = m->assigned_addr;
		return true;
	case 6:
		*u = m->cltt;
		return true;
	case 13:
		*u = m->lease_expiry;
		return true;
	case 14:
		*u = m->max_unacked;
		return true;
	case 15:
		*u = m->mclt;
		return true;
	case 18:
		*u = m->potential_expiry;
		return true;
	case 19:
		*u = m->receive_timer;
		return true;
	case 25:
		*u = m->stos;
		return true;
	default:
		return false;
	}
}

/* The value of a 1-byte option of @p m, by field name. */
static bool field_u8(const struct fo_msg *m, unsigned int code, uint8_t *u)
{
	switch (code) {
	case 3:
		*u = m->binding_status;
		return true;
	case 20:
		*u = m->protocol_version;
		return true;
	case 21:
		*u = m->reject_reason;
		return true;
	case 23:
		*u = m->server_flags;
		return true;
	case 24:
		*u = m->server_state;
		return true;
	case 26:
		*u = m->tls_reply;
		return true;
	case 27:
		*u = m->tls_request;
		return true;
	default:
		return false;
	}
}

/* The view of a variable-length option of @p m, by field name. */
static const struct fo_bytes *field_view(const struct fo_msg *m, unsigned int code)
{
	switch (code) {
	case 4:
		return &m->client_id;
	case 5:
		return &m->chaddr;
	case 7:
		return &m->reply_options;
	case 8:
		return &m->request_options;
	case 11:
		return &m->hba;
	case 16:
		return &m->message;
	case 17:
		return &m->digest;
	case 22:
		return &m->relationship_name;
	case 28:
		return &m->vendor_class;
	default:
		return NULL;
	}
}

/* Serialise option @p code of @p m as the wire value, into @p out; returns its length. */
static uint16_t field_bytes(const struct fo_msg *m, unsigned int code, uint8_t *out)
{
	const struct fo_bytes *b = field_view(m, code);
	uint32_t u;
	uint8_t u8;

	if (field_u32(m, code, &u)) {
		lw_put32(out, u);
		return 4;
	}
	if (field_u8(m, code, &u8)) {
		out[0] = u8;
		return 1;
	}
	if (code == 12) {
		lw_put16(out, m->ip_flags);
		return 2;
	}
	if (code == 9) {
		lw_put16(out, m->ddns_flags);
		if (m->ddns_name.len) {
			memcpy(out + 2, m->ddns_name.ptr, m->ddns_name.len);
		}
		return (uint16_t)(2 + m->ddns_name.len);
	}
	if (!b) {
		fail_msg("option %u cannot be held", code);
		return 0;
	}
	if (b->len) {
		memcpy(out, b->ptr, b->len);
	}
	return b->len;
}

/*
 * Check that option @p code of @p m holds the wire value @p v (of @p len bytes). Written per
 * field, by name, so that it does not share the codec's offset table.
 */
static void check_field(const struct fo_msg *m, unsigned int code, const uint8_t *v,
			const uint8_t *wild, uint16_t len)
{
	const struct fo_bytes *b = field_view(m, code);
	uint32_t u;
	uint8_t u8;

	if (field_u32(m, code, &u)) {
		assert_int_equal(len, 4);
		assert_int_equal(u, lw_get32(v));
	} else if (field_u8(m, code, &u8)) {
		assert_int_equal(len, 1);
		assert_int_equal(u8, v[0]);
	} else if (code == 12) {
		assert_int_equal(m->ip_flags, len == 1 ? v[0] : lw_get16(v));
	} else if (code == 9) {
		assert_true(len >= 2);
		assert_int_equal(m->ddns_flags, lw_get16(v));
		assert_true(bytes_eq(&m->ddns_name, v + 2, wild ? wild + 2 : NULL,
				     (uint16_t)(len - 2)));
	} else if (!b) {
		fail_msg("option %u cannot be held", code);
	} else if (!bytes_eq(b, v, wild, len)) {
		fail_msg("option %u (%s): %u bytes, expected %u", code, fo_opt_str(code), b->len,
			 len);
	}
}

/* Same header and same options with the same values (views compared by content). */
static void assert_msg_equal(const struct fo_msg *a, const struct fo_msg *b)
{
	uint8_t va[FO_MSG_MAX_LEN];

	assert_int_equal(a->type, b->type);
	assert_int_equal(a->time, b->time);
	assert_int_equal(a->xid, b->xid);
	assert_int_equal(a->present, b->present);
	for (unsigned int code = 1; code < FO_OPT_MAX; code++) {
		if (a->present & FO_BIT(code)) {
			uint16_t l = field_bytes(a, code, va);

			check_field(b, code, va, NULL, l);
		}
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Messages built byte by byte, so that malformed ones can be made too. */

struct raw {
	uint8_t b[8192];
	size_t len;
};

static void raw_put(struct raw *r, const void *p, size_t n)
{
	assert_true(r->len + n <= sizeof(r->b));
	if (n) {
		memcpy(r->b + r->len, p, n);
	}
	r->len += n;
}

/* Header with time 0x6b035f92 and xid 0x1000; @p payoff - 12 zero bytes of extra header. */
static void raw_init(struct raw *r, uint8_t type, uint8_t payoff)
{
	static const uint8_t tx[8] = { 0x6b, 0x03, 0x5f, 0x92, 0x00, 0x00, 0x10, 0x00 };

	memset(r, 0, sizeof(*r));
	r->b[2] = type;
	r->b[3] = payoff;
	memcpy(r->b + 4, tx, sizeof(tx));
	r->len = payoff > FO_MSG_HDR_LEN ? payoff : FO_MSG_HDR_LEN;
}

/* An option of @p len bytes: @p val, or a 0x11, 0x22 ... pattern when @p val is NULL. */
static void raw_opt(struct raw *r, uint16_t code, uint16_t len, const void *val)
{
	uint8_t h[4] = { (uint8_t)(code >> 8), (uint8_t)code, (uint8_t)(len >> 8), (uint8_t)len };

	raw_put(r, h, sizeof(h));
	if (val) {
		raw_put(r, val, len);
	} else {
		for (uint16_t i = 0; i < len; i++) {
			uint8_t x = (uint8_t)(0x11 * (i + 1));

			raw_put(r, &x, 1);
		}
	}
}

static void raw_u32(struct raw *r, uint16_t code, uint32_t v)
{
	uint8_t b[4];

	lw_put32(b, v);
	raw_opt(r, code, 4, b);
}

static void raw_u8(struct raw *r, uint16_t code, uint8_t v)
{
	raw_opt(r, code, 1, &v);
}

/* Set the length field to the bytes written so far. */
static void raw_fix(struct raw *r)
{
	lw_put16(r->b, (uint16_t)r->len);
}

static int raw_decode(struct raw *r, struct fo_msg *m, unsigned int flags)
{
	raw_fix(r);
	return fo_msg_decode(m, r->b, r->len, flags);
}

/* ------------------------------------------------------------------------------------------ */
/* Framing. */

static void test_frame(void **state)
{
	uint8_t b[3 * 2048];

	(void)state;
	memset(b, 0, sizeof(b));
	assert_int_equal(fo_frame_len(NULL, 0, FO_MSG_MAX_LEN), 0);
	b[0] = 0;
	assert_int_equal(fo_frame_len(b, 1, FO_MSG_MAX_LEN), 0);	/* need the length */
	b[1] = 12;
	assert_int_equal(fo_frame_len(b, 2, FO_MSG_MAX_LEN), 0);
	assert_int_equal(fo_frame_len(b, 11, FO_MSG_MAX_LEN), 0);
	assert_int_equal(fo_frame_len(b, 12, FO_MSG_MAX_LEN), 12);
	assert_int_equal(fo_frame_len(b, 100, FO_MSG_MAX_LEN), 12);
	/* Refused as soon as the length is readable, as ISC does. */
	b[1] = 11;
	assert_int_equal(fo_frame_len(b, 2, FO_MSG_MAX_LEN), FO_E_LEN_SMALL);
	b[1] = 0;
	assert_int_equal(fo_frame_len(b, 2, FO_MSG_MAX_LEN), FO_E_LEN_SMALL);
	b[0] = 0x08;	/* 2048 */
	assert_int_equal(fo_frame_len(b, 2, FO_MSG_MAX_LEN), 0);
	assert_int_equal(fo_frame_len(b, 2047, FO_MSG_MAX_LEN), 0);
	assert_int_equal(fo_frame_len(b, 2048, FO_MSG_MAX_LEN), 2048);
	b[1] = 1;	/* 2049 */
	assert_int_equal(fo_frame_len(b, 2, FO_MSG_MAX_LEN), FO_E_LEN_BIG);
	b[0] = 0x0b;	/* 3000, as fo_probe sent */
	b[1] = 0xb8;
	assert_int_equal(fo_frame_len(b, 3000, FO_MSG_MAX_LEN), FO_E_LEN_BIG);
	b[0] = 0xff;
	b[1] = 0xff;
	assert_int_equal(fo_frame_len(b, 2, FO_MSG_MAX_LEN), FO_E_LEN_BIG);
	/* A configured maximum below ISC's, and one above it (clamped). */
	b[0] = 0;
	b[1] = 101;
	assert_int_equal(fo_frame_len(b, 200, 100), FO_E_LEN_BIG);
	b[1] = 100;
	assert_int_equal(fo_frame_len(b, 99, 100), 0);
	assert_int_equal(fo_frame_len(b, 200, 100), 100);
	b[0] = 0x08;
	b[1] = 1;
	assert_int_equal(fo_frame_len(b, 4096, 65535), FO_E_LEN_BIG);
	assert_int_equal(fo_frame_len(b, 4096, SIZE_MAX), FO_E_LEN_BIG);
	assert_int_equal(fo_frame_len(b, 4096, 11), FO_E_INVAL);
	assert_int_equal(fo_frame_len(b, 4096, 0), FO_E_INVAL);
	b[0] = 0;
	b[1] = 12;
	assert_int_equal(fo_frame_len(b, 12, 12), 12);

	/* A stream of three messages, cut at every point. */
	{
		struct raw r;
		uint8_t s[256];
		size_t slen = 0, lens[3];

		for (int i = 0; i < 3; i++) {
			raw_init(&r, FO_MSG_STATE, 12);
			raw_u8(&r, FO_OPT_SERVER_STATE, (uint8_t)(2 + i));
			for (int j = 0; j < i; j++) {
				raw_u8(&r, 200, 0);
			}
			raw_fix(&r);
			memcpy(s + slen, r.b, r.len);
			lens[i] = r.len;
			slen += r.len;
		}
		for (size_t cut = 0; cut <= slen; cut++) {
			size_t off = 0;
			int i = 0, n;

			while ((n = fo_frame_len(s + off, cut - off, FO_MSG_MAX_LEN)) > 0) {
				struct fo_msg m;

				assert_int_equal(n, lens[i]);
				assert_int_equal(fo_msg_decode(&m, s + off, (size_t)n, 0), FO_OK);
				assert_int_equal(m.server_state, 2 + i);
				off += (size_t)n;
				i++;
			}
			assert_int_equal(n, 0);
			assert_true(cut - off < (i < 3 ? lens[i] : 1));
		}
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Round trips. */

/* Give every option of @p type (and a digest) a value that depends on @p seed. */
static void fill_all(struct fo_msg *m, unsigned int type, uint8_t seed)
{
	static uint8_t bufs[8][64];
	uint32_t opts = isc_allowed[type] | B(17);

	fo_msg_init(m, (uint8_t)type, 0x6b000000u + seed, 0x1000u + seed);
	for (int i = 0; i < 8; i++) {
		for (int j = 0; j < 64; j++) {
			bufs[i][j] = (uint8_t)(seed + 16 * i + j);
		}
	}
	m->addresses_transferred = 0x01020304u + seed;
	m->assigned_addr = 0xc6120064u + seed;
	m->binding_status = FO_BS_ACTIVE;
	m->client_id = (struct fo_bytes){ bufs[0], 7 };
	m->chaddr = (struct fo_bytes){ bufs[1], 7 };
	m->cltt = 0x6b000010u + seed;
	m->reply_options = (struct fo_bytes){ bufs[2], 12 };
	m->request_options = (struct fo_bytes){ bufs[3], 20 };
	m->ddns_flags = FO_DDNS_FLAG_C | FO_DDNS_FLAG_P;
	m->ddns_name = (struct fo_bytes){ bufs[4], 17 };
	m->hba = (struct fo_bytes){ bufs[5], FO_HBA_LEN };
	m->ip_flags = FO_IP_FLAG_RESERVED | FO_IP_FLAG_BOOTP | 0x8000u;
	m->lease_expiry = 0x6b000020u + seed;
	m->max_unacked = 10 + seed;
	m->mclt = 3600 + seed;
	m->message = (struct fo_bytes){ (const uint8_t *)"time offset too large", 21 };
	m->digest = (struct fo_bytes){ bufs[6], 17 };
	m->potential_expiry = 0x6b000030u + seed;
	m->receive_timer = 15 + seed;
	m->protocol_version = FO_PROTOCOL_VERSION;
	m->reject_reason = FO_RR_LESS_CRIT_BIND_INFO;
	m->relationship_name = (struct fo_bytes){ (const uint8_t *)"iscfo", 5 };
	m->server_flags = FO_SERVER_FLAG_STARTUP;
	m->server_state = FO_SS_RECOVER_WAIT;
	m->stos = 0x6b000040u + seed;
	m->tls_reply = 0;
	m->tls_request = 2;
	m->vendor_class = (struct fo_bytes){ (const uint8_t *)"isc-4.4.3-P1", 12 };
	m->present = opts;
}

/* Walk the options of an encoded message: their codes, in order. */
static size_t wire_codes(const uint8_t *b, size_t len, uint16_t *codes)
{
	size_t off = b[3], n = 0;

	while (off < len) {
		assert_true(len - off >= 4);
		codes[n++] = lw_get16(b + off);
		off += 4u + lw_get16(b + off + 2);
	}
	assert_int_equal(off, len);
	return n;
}

static void check_order(const uint16_t *codes, size_t n, const uint8_t *order, size_t norder)
{
	size_t k = 0;

	for (size_t i = 0; i < norder; i++) {
		if (k < n && codes[k] == order[i]) {
			k++;
		}
	}
	assert_int_equal(k, n);
}

static void test_roundtrip_all_types(void **state)
{
	(void)state;
	for (unsigned int type = FO_MSG_POOLREQ; type <= FO_MSG_DISCONNECT; type++) {
		for (uint8_t seed = 0; seed < 3; seed++) {
			uint8_t buf[FO_MSG_MAX_LEN];
			uint16_t codes[64];
			struct fo_msg m, d;
			size_t expect = FO_MSG_HDR_LEN, n;
			int len;

			fill_all(&m, type, seed);
			if (seed == 1) {
				m.present &= ~B(17);	/* without digest */
			}
			if (seed == 2) {
				/* Empty variable-length options. */
				m.client_id = (struct fo_bytes){ NULL, 0 };
				m.message = (struct fo_bytes){ NULL, 0 };
				m.relationship_name = (struct fo_bytes){ NULL, 0 };
				m.ddns_name = (struct fo_bytes){ NULL, 0 };
			}
			for (unsigned int c = 1; c < FO_OPT_MAX; c++) {
				if (m.present & B(c)) {
					expect += 4u + field_bytes(&m, c, buf);
				}
			}
			len = fo_msg_encode(&m, buf, sizeof(buf));
			assert_int_equal(len, expect);
			assert_int_equal(lw_get16(buf), expect);
			assert_int_equal(buf[2], type);
			assert_int_equal(buf[3], 12);
			assert_int_equal(fo_msg_decode(&d, buf, (size_t)len, 0), FO_OK);
			assert_int_equal(d.len, len);
			assert_int_equal(d.payoff, 12);
			assert_int_equal(d.n_skipped, 0);
			assert_int_equal(d.err_opt, 0);
			assert_msg_equal(&m, &d);
			assert_int_equal(d.present, isc_allowed[type] | (seed == 1 ? 0 : B(17)));

			/* ISC's order, digest last. */
			n = wire_codes(buf, (size_t)len, codes);
			if (seed != 1) {
				assert_int_equal(codes[n - 1], 17);
				n--;
			}
			switch (type) {
			case FO_MSG_BNDUPD:
			case FO_MSG_BNDACK:
				check_order(codes, 9, isc_order_bnd, ARRAY_SIZE(isc_order_bnd));
				break;
			case FO_MSG_CONNECT:
				check_order(codes, n, isc_order_connect,
					    ARRAY_SIZE(isc_order_connect));
				break;
			case FO_MSG_CONNECTACK:
				check_order(codes, n, isc_order_connectack,
					    ARRAY_SIZE(isc_order_connectack));
				break;
			case FO_MSG_STATE:
				check_order(codes, n, isc_order_state,
					    ARRAY_SIZE(isc_order_state));
				break;
			default:
				break;
			}
		}
	}
}

/* The exact bytes of a message ISC sent (probe capture, 21:33:06 STATE), built by hand. */
static void test_encode_exact(void **state)
{
	static const uint8_t want[] = {
		0x00, 0x1e, 0x0a, 0x0c, 0x6b, 0x03, 0x5f, 0x92, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x18, 0x00, 0x01, 0x03,
		0x00, 0x17, 0x00, 0x01, 0x00,
		0x00, 0x19, 0x00, 0x04, 0x6b, 0x03, 0x5f, 0x8e,
	};
	uint8_t buf[64];
	struct fo_msg m;

	(void)state;
	fo_msg_init(&m, FO_MSG_STATE, 1795383186, 0);
	m.stos = 1795383182;
	m.server_flags = 0;
	m.server_state = FO_SS_COMM_INTERRUPTED;
	m.present = FO_BIT(FO_OPT_STOS) | FO_BIT(FO_OPT_SERVER_STATE) |
		    FO_BIT(FO_OPT_SERVER_FLAGS);
	assert_int_equal(fo_msg_encode(&m, buf, sizeof(buf)), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));

	/* Header-only types. */
	fo_msg_init(&m, FO_MSG_CONTACT, 1, 2);
	assert_int_equal(fo_msg_encode(&m, buf, 12), 12);
	assert_memory_equal(buf, "\x00\x0c\x0b\x0c\x00\x00\x00\x01\x00\x00\x00\x02", 12);
}

static void test_encode_errors(void **state)
{
	static uint8_t big[FO_MSG_MAX_LEN + 16];
	uint8_t buf[FO_MSG_MAX_LEN + 16];
	struct fo_msg m, d;
	int len;

	(void)state;
	fo_msg_init(&m, 0, 0, 0);
	assert_int_equal(fo_msg_encode(&m, buf, sizeof(buf)), FO_E_MSG_TYPE);
	m.type = FO_MSG_TYPE_MAX;
	assert_int_equal(fo_msg_encode(&m, buf, sizeof(buf)), FO_E_MSG_TYPE);
	m.type = 255;
	assert_int_equal(fo_msg_encode(&m, buf, sizeof(buf)), FO_E_MSG_TYPE);

	/* An option outside the type's set; delayed-service and vendor options in any type. */
	for (unsigned int type = FO_MSG_POOLREQ; type <= FO_MSG_DISCONNECT; type++) {
		for (unsigned int c = 1; c < 32; c++) {
			fo_msg_init(&m, (uint8_t)type, 0, 0);
			m.present = UINT32_C(1) << c;
			len = fo_msg_encode(&m, buf, sizeof(buf));
			if (c == 17 || (c < 30 && (isc_allowed[type] & B(c)))) {
				assert_true(len > 0);
			} else {
				assert_int_equal(len, FO_E_OPT_NOT_ALLOWED);
			}
		}
	}

	/* A view with a length but no data. */
	fo_msg_init(&m, FO_MSG_DISCONNECT, 0, 0);
	m.message = (struct fo_bytes){ NULL, 3 };
	m.present = FO_BIT(FO_OPT_MESSAGE);
	assert_int_equal(fo_msg_encode(&m, buf, sizeof(buf)), FO_E_INVAL);
	fo_msg_init(&m, FO_MSG_BNDUPD, 0, 0);
	m.ddns_name = (struct fo_bytes){ NULL, 1 };
	m.present = FO_BIT(FO_OPT_DDNS);
	assert_int_equal(fo_msg_encode(&m, buf, sizeof(buf)), FO_E_INVAL);

	/* Exactly the maximum, then one byte more. */
	memset(big, 'x', sizeof(big));
	fo_msg_init(&m, FO_MSG_DISCONNECT, 0, 0);
	m.message = (struct fo_bytes){ big, FO_MSG_MAX_LEN - FO_MSG_HDR_LEN - 4 };
	m.present = FO_BIT(FO_OPT_MESSAGE);
	assert_int_equal(fo_msg_encode(&m, buf, sizeof(buf)), FO_MSG_MAX_LEN);
	assert_int_equal(fo_msg_decode(&d, buf, FO_MSG_MAX_LEN, 0), FO_OK);
	assert_msg_equal(&m, &d);
	m.message.len++;
	assert_int_equal(fo_msg_encode(&m, buf, sizeof(buf)), FO_E_LEN_BIG);
	m.message.len = 60000;
	assert_int_equal(fo_msg_encode(&m, buf, sizeof(buf)), FO_E_LEN_BIG);

	/* Every cap short of the length: refused, and nothing written. */
	fill_all(&m, FO_MSG_BNDACK, 7);
	len = fo_msg_encode(&m, buf, sizeof(buf));
	assert_true(len > 100);
	for (int cap = 0; cap < len; cap++) {
		memset(buf, 0xa5, sizeof(buf));
		assert_int_equal(fo_msg_encode(&m, buf, (size_t)cap), FO_E_NOSPACE);
		for (size_t i = 0; i < sizeof(buf); i++) {
			assert_int_equal(buf[i], 0xa5);
		}
	}
	assert_int_equal(fo_msg_encode(&m, buf, (size_t)len), len);
}

/* ------------------------------------------------------------------------------------------ */
/* Malformed input, each with its exact error. */

#define T32 0x6b, 0x03, 0x5f, 0x92
#define X32 0x00, 0x00, 0x10, 0x00
/* A message of @p type without its length (filled in by the test unless told otherwise). */
#define MSG(type, payoff, ...) { 0, 0, (type), (payoff), T32, X32, __VA_ARGS__ }
#define O8(c, v) 0, (c), 0, 1, (v)
#define O32(c, v) 0, (c), 0, 4, (uint8_t)((v) >> 24), (uint8_t)((v) >> 16), \
	(uint8_t)((v) >> 8), (uint8_t)(v)
#define OHDR(c, l) (uint8_t)((c) >> 8), (uint8_t)(c), (uint8_t)((l) >> 8), (uint8_t)(l)

struct bad_case {
	const char *what;
	const uint8_t *b;
	size_t size;
	int buf_len;		/* bytes handed to decode; -1 = size */
	int len_field;		/* -1 = the bytes handed to decode; -2 = leave as is */
	unsigned int flags;
	int err;
	uint16_t err_opt;
	uint16_t n_skipped;	/* when FO_OK */
};

#define CASE(what_, bytes_, buf_len_, len_field_, flags_, err_, err_opt_, skipped_)            \
	{ what_, (const uint8_t[])bytes_, sizeof((const uint8_t[])bytes_), buf_len_, len_field_, \
	  flags_, err_, err_opt_, skipped_ }
#define BYTES(...) { __VA_ARGS__ }

static const struct bad_case bad_cases[] = {
	/* Header. */
	CASE("empty", BYTES(0), 0, -2, 0, FO_E_SHORT, 0, 0),
	CASE("one byte", BYTES(0), 1, -2, 0, FO_E_SHORT, 0, 0),
	CASE("11-byte header", MSG(11, 12), 11, -1, 0, FO_E_SHORT, 0, 0),
	CASE("length field 11", MSG(11, 12), -1, 11, 0, FO_E_LEN_SMALL, 0, 0),
	CASE("length field 0", MSG(11, 12), -1, 0, 0, FO_E_LEN_SMALL, 0, 0),
	CASE("length field 2049", MSG(11, 12), -1, 2049, 0, FO_E_LEN_BIG, 0, 0),
	CASE("length field 3000", MSG(11, 12), -1, 3000, 0, FO_E_LEN_BIG, 0, 0),
	CASE("length field 65535", MSG(11, 12), -1, 65535, 0, FO_E_LEN_BIG, 0, 0),
	CASE("length field above the bytes", MSG(11, 12), -1, 13, 0, FO_E_LEN_MISMATCH, 0, 0),
	CASE("length field below the bytes", MSG(11, 12, 0, 0, 0, 0), -1, 12, 0,
	     FO_E_LEN_MISMATCH, 0, 0),
	CASE("payload offset 0", MSG(11, 0), -1, -1, 0, FO_E_PAYOFF, 0, 0),
	CASE("payload offset 8 (Windows)", MSG(11, 8), -1, -1, 0, FO_E_PAYOFF, 0, 0),
	CASE("payload offset 11", MSG(11, 11), -1, -1, 0, FO_E_PAYOFF, 0, 0),
	CASE("payload offset past the end", MSG(11, 13), -1, -1, 0, FO_E_PAYOFF, 0, 0),
	CASE("payload offset 255", MSG(11, 255, 0, 0, 0, 0), -1, -1, 0, FO_E_PAYOFF, 0, 0),
	CASE("payload offset 8 with MS quirks", MSG(10, 8, O8(24, 2)), -1, -1,
	     FO_DECODE_MS_QUIRKS, FO_OK, 0, 0),
	CASE("payload offset 0 with MS quirks", MSG(11, 0), -1, -1, FO_DECODE_MS_QUIRKS, FO_OK,
	     0, 0),
	CASE("payload offset = length", MSG(11, 16, 0, 0, 0, 0), -1, -1, 0, FO_OK, 0, 0),
	CASE("payload offset 16, options after", MSG(10, 16, 1, 2, 3, 4, O8(24, 2)), -1, -1, 0,
	     FO_OK, 0, 0),
	CASE("payload offset 13, option misaligned by it", MSG(10, 13, 0, O8(24, 2)), -1, -1, 0,
	     FO_OK, 0, 0),

	/* Option framing: checked before anything else, whatever the code. */
	CASE("1 byte after the header", MSG(11, 12, 0), -1, -1, 0, FO_E_OPT_TRUNC, 0, 0),
	CASE("2 bytes after the header", MSG(11, 12, 0, 24), -1, -1, 0, FO_E_OPT_TRUNC, 0, 0),
	CASE("3 bytes after the header", MSG(11, 12, 0, 24, 0), -1, -1, 0, FO_E_OPT_TRUNC, 0, 0),
	CASE("3 bytes after an option", MSG(10, 12, O8(24, 2), 0, 23, 0), -1, -1, 0,
	     FO_E_OPT_TRUNC, 0, 0),
	CASE("option data past the end", MSG(10, 12, OHDR(24, 2), 2), -1, -1, 0,
	     FO_E_OPT_OVERRUN, 0, 0),
	CASE("option length 65535", MSG(10, 12, OHDR(200, 65535), 1, 2, 3), -1, -1, 0,
	     FO_E_OPT_OVERRUN, 0, 0),
	CASE("unknown option past the end", MSG(10, 12, O8(24, 2), OHDR(300, 5), 1, 2, 3, 4),
	     -1, -1, 0, FO_E_OPT_OVERRUN, 0, 0),
	CASE("overrun in an unknown type", MSG(99, 12, OHDR(16, 3), 'a'), -1, -1, 0,
	     FO_E_OPT_OVERRUN, 0, 0),
	CASE("truncated option in type 0", MSG(0, 12, 0, 16), -1, -1, 0, FO_E_OPT_TRUNC, 0, 0),

	/* Fixed sizes (every fixed option of every type is also tried in test_fixed_sizes). */
	CASE("MCLT of 2 bytes (fo_probe)",
	     MSG(5, 12, OHDR(22, 5), 'i', 's', 'c', 'f', 'o', OHDR(15, 2), 0, 60), -1, -1, 0,
	     FO_E_OPT_SIZE, 15, 0),
	CASE("server-state of 0 bytes", MSG(10, 12, OHDR(24, 0)), -1, -1, 0, FO_E_OPT_SIZE, 24,
	     0),
	CASE("IP-flags of 1 byte (Windows)", MSG(3, 12, O32(2, 0xc6120064u), O8(12, 1)), -1, -1,
	     0, FO_E_OPT_SIZE, 12, 0),
	CASE("IP-flags of 1 byte with MS quirks", MSG(3, 12, O32(2, 0xc6120064u), O8(12, 1)), -1,
	     -1, FO_DECODE_MS_QUIRKS, FO_OK, 0, 0),
	CASE("IP-flags of 3 bytes with MS quirks", MSG(3, 12, OHDR(12, 3), 0, 0, 1), -1, -1,
	     FO_DECODE_MS_QUIRKS, FO_E_OPT_SIZE, 12, 0),
	CASE("DDNS of 0 bytes", MSG(3, 12, OHDR(9, 0)), -1, -1, 0, FO_E_OPT_SIZE, 9, 0),
	CASE("DDNS of 1 byte", MSG(3, 12, OHDR(9, 1), 5), -1, -1, 0, FO_E_OPT_SIZE, 9, 0),
	CASE("DDNS of 2 bytes", MSG(3, 12, OHDR(9, 2), 0, 5), -1, -1, 0, FO_OK, 0, 0),
	CASE("HBA of 16 bytes (ISC checks it at CONNECT)", MSG(5, 12, OHDR(11, 16), 0xff, 0xff,
	     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
	     -1, -1, 0, FO_OK, 0, 0),
	CASE("chaddr of 0 bytes", MSG(3, 12, OHDR(5, 0)), -1, -1, 0, FO_OK, 0, 0),

	/* Duplicates: an error within the type's set, as ISC; checked before the size. */
	CASE("relationship-name twice (fo_probe)", MSG(5, 12, OHDR(22, 1), 'a', OHDR(22, 1),
						       'a'), -1, -1, 0, FO_E_OPT_DUP, 22, 0),
	CASE("assigned-IP-address twice (a batched BNDUPD)", MSG(3, 12, O32(2, 1), O8(3, 1),
								 O32(2, 2), O8(3, 1)), -1, -1, 0,
	     FO_E_OPT_DUP, 2, 0),
	CASE("binding-status twice, the second of the wrong size", MSG(3, 12, O8(3, 1),
								       OHDR(3, 2), 1, 1),
	     -1, -1, 0, FO_E_OPT_DUP, 3, 0),
	CASE("wrong size first, then the same option", MSG(3, 12, OHDR(3, 2), 1, 1, O8(3, 1)),
	     -1, -1, 0, FO_E_OPT_SIZE, 3, 0),
	CASE("reject-reason twice in DISCONNECT", MSG(12, 12, O8(21, 8), O8(21, 8)), -1, -1, 0,
	     FO_E_OPT_DUP, 21, 0),
	CASE("empty message twice in BNDACK", MSG(4, 12, OHDR(16, 0), OHDR(16, 0)), -1, -1, 0,
	     FO_E_OPT_DUP, 16, 0),

	/* Known options the type does not carry: skipped unchecked (ISC fto_allowed). */
	CASE("MCLT twice in BNDUPD", MSG(3, 12, O32(15, 60), O32(15, 60)), -1, -1, 0, FO_OK, 0,
	     2),
	CASE("MCLT of 2 bytes in BNDUPD", MSG(3, 12, OHDR(15, 2), 0, 60), -1, -1, 0, FO_OK, 0, 1),
	CASE("server-state in CONNECT", MSG(5, 12, O8(24, 2)), -1, -1, 0, FO_OK, 0, 1),
	CASE("delayed-service in CONNECT (D12 allows, ISC skips)", MSG(5, 12, O8(10, 3),
								      OHDR(10, 7), 1, 2, 3, 4, 5, 6,
								      7), -1, -1, 0, FO_OK, 0, 2),
	CASE("vendor-specific-options in CONNECT", MSG(5, 12, OHDR(29, 2), 1, 0), -1, -1, 0,
	     FO_OK, 0, 1),
	CASE("reject-reason in BNDUPD", MSG(3, 12, O8(21, 3)), -1, -1, 0, FO_OK, 0, 1),
	CASE("assigned-IP-address in POOLREQ", MSG(1, 12, O32(2, 1)), -1, -1, 0, FO_OK, 0, 1),

	/* Unknown codes: skipped, repeated or not, whatever their length. */
	CASE("option 200 (fo_probe)", MSG(5, 12, OHDR(200, 3), 'a', 'b', 'c'), -1, -1, 0, FO_OK,
	     0, 1),
	CASE("option 0 three times", MSG(11, 12, OHDR(0, 0), OHDR(0, 0), OHDR(0, 1), 9), -1, -1,
	     0, FO_OK, 0, 3),
	CASE("options 30 and 65535", MSG(9, 12, OHDR(30, 4), 1, 2, 3, 4, OHDR(65535, 0)), -1, -1,
	     0, FO_OK, 0, 2),

	/* message-digest: kept (first one), never checked, not required to be last. */
	CASE("message-digest not last (fo_probe)", MSG(5, 12, OHDR(17, 2), 1, 0x5a,
						       OHDR(200, 1), 'x'), -1, -1, 0, FO_OK, 0, 1),
	CASE("message-digest twice", MSG(11, 12, OHDR(17, 2), 1, 0x5a, OHDR(17, 0)), -1, -1, 0,
	     FO_OK, 0, 1),

	/* Unknown message types, as ISC: ignored without options, fatal with a known one. */
	CASE("type 99 without options (fo_probe)", MSG(99, 12), -1, -1, 0, FO_OK, 0, 0),
	CASE("type 99 with a message (fo_probe)", MSG(99, 12, OHDR(16, 2), 'h', 'i'), -1, -1, 0,
	     FO_E_MSG_TYPE, 16, 0),
	CASE("type 99 with an unknown option", MSG(99, 12, OHDR(200, 1), 0), -1, -1, 0, FO_OK, 0,
	     1),
	CASE("type 99 with option 0 (unknown to ISC too)", MSG(99, 12, OHDR(0, 1), 0), -1, -1, 0,
	     FO_OK, 0, 1),
	CASE("type 13 with a digest", MSG(13, 12, OHDR(17, 1), 1), -1, -1, 0, FO_E_MSG_TYPE, 17,
	     0),
	CASE("type 255 with delayed-service", MSG(255, 12, O8(10, 1)), -1, -1, 0, FO_E_MSG_TYPE,
	     10, 0),
	CASE("type 255: type checked before size", MSG(255, 12, OHDR(15, 2), 0, 1), -1, -1, 0,
	     FO_E_MSG_TYPE, 15, 0),
	CASE("type 0 with options (ISC's empty entry)", MSG(0, 12, O32(15, 60), O32(15, 60),
							    OHDR(17, 1), 1, OHDR(24, 3), 0, 0, 0),
	     -1, -1, 0, FO_OK, 0, 4),
};

static void test_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		uint8_t *b;
		size_t n = c->buf_len < 0 ? c->size : (size_t)c->buf_len;
		struct fo_msg m;
		int ret;

		/* Exactly @n bytes on the heap, so that a read past them is caught by ASan. */
		b = malloc(n ? n : 1);
		assert_non_null(b);
		if (n) {
			memcpy(b, c->b, n);
		}
		if (c->len_field != -2 && n >= 2) {
			size_t lf = c->len_field == -1 ? n : (size_t)c->len_field;

			b[0] = (uint8_t)(lf >> 8);
			b[1] = (uint8_t)lf;
		}
		ret = fo_msg_decode(&m, b, n, c->flags);
		if (ret != c->err) {
			fail_msg("%s: got %d (%s), expected %d (%s)", c->what, ret, fo_err_str(ret),
				 c->err, fo_err_str(c->err));
		}
		if (ret == FO_OK) {
			if (m.n_skipped != c->n_skipped) {
				fail_msg("%s: %u skipped, expected %u", c->what, m.n_skipped,
					 c->n_skipped);
			}
			assert_int_equal(m.err_opt, 0);
		} else {
			if (m.err_opt != c->err_opt) {
				fail_msg("%s: err_opt %u, expected %u", c->what, m.err_opt,
					 c->err_opt);
			}
			assert_int_equal(m.present, 0);
		}
		free(b);
	}
}

/* The values behind some of the table's FO_OK cases. */
static void test_decode_details(void **state)
{
	struct fo_msg m;
	struct raw r;

	(void)state;
	/* Extra header bytes are skipped; the payload offset is reported as received. */
	raw_init(&r, FO_MSG_STATE, 16);
	r.b[12] = 0xee;
	raw_u8(&r, FO_OPT_SERVER_STATE, FO_SS_PARTNER_DOWN);
	assert_int_equal(raw_decode(&r, &m, 0), FO_OK);
	assert_int_equal(m.payoff, 16);
	assert_int_equal(m.server_state, FO_SS_PARTNER_DOWN);
	assert_int_equal(m.time, 0x6b035f92u);
	assert_int_equal(m.xid, 0x1000);
	assert_int_equal(m.present, FO_BIT(FO_OPT_SERVER_STATE));

	/* Windows-style header: offset 8 read as 12; 1-byte IP-flags. */
	raw_init(&r, FO_MSG_BNDUPD, 8);
	raw_u32(&r, FO_OPT_ASSIGNED_IP_ADDRESS, 0xc6120064u);
	raw_u8(&r, FO_OPT_IP_FLAGS, 0x03);
	assert_int_equal(raw_decode(&r, &m, 0), FO_E_PAYOFF);
	assert_int_equal(raw_decode(&r, &m, FO_DECODE_MS_QUIRKS), FO_OK);
	assert_int_equal(m.payoff, 8);
	assert_int_equal(m.assigned_addr, 0xc6120064u);
	assert_int_equal(m.ip_flags, 0x0003);

	/* DDNS: flags, then the name; a view into the buffer. */
	raw_init(&r, FO_MSG_BNDUPD, 12);
	raw_opt(&r, FO_OPT_DDNS, 2 + 4, "\x00\x05\x03" "abc");
	assert_int_equal(raw_decode(&r, &m, 0), FO_OK);
	assert_int_equal(m.ddns_flags, FO_DDNS_FLAG_C | FO_DDNS_FLAG_D);
	assert_int_equal(m.ddns_name.len, 4);
	assert_ptr_equal(m.ddns_name.ptr, r.b + 12 + 4 + 2);

	/* The first digest is kept. */
	raw_init(&r, FO_MSG_CONTACT, 12);
	raw_opt(&r, FO_OPT_MESSAGE_DIGEST, 3, "\x01\xaa\xbb");
	raw_opt(&r, FO_OPT_MESSAGE_DIGEST, 1, "\x02");
	assert_int_equal(raw_decode(&r, &m, 0), FO_OK);
	assert_int_equal(m.digest.len, 3);
	assert_ptr_equal(m.digest.ptr, r.b + 16);
	assert_int_equal(m.n_skipped, 1);

	/* An unknown type decodes, for the caller to ignore; type 0 keeps nothing. */
	raw_init(&r, 99, 12);
	assert_int_equal(raw_decode(&r, &m, 0), FO_OK);
	assert_int_equal(m.type, 99);
	assert_false(fo_msg_type_known(m.type));
	raw_init(&r, 0, 12);
	raw_opt(&r, FO_OPT_MESSAGE_DIGEST, 1, "\x01");
	raw_u32(&r, FO_OPT_MCLT, 60);
	assert_int_equal(raw_decode(&r, &m, 0), FO_OK);
	assert_int_equal(m.present, 0);
	assert_int_equal(m.n_skipped, 2);

	/* A decode error clears what was decoded before it. */
	raw_init(&r, FO_MSG_STATE, 12);
	raw_u8(&r, FO_OPT_SERVER_STATE, 2);
	raw_u8(&r, FO_OPT_SERVER_STATE, 2);
	assert_int_equal(raw_decode(&r, &m, 0), FO_E_OPT_DUP);
	assert_int_equal(m.present, 0);
	assert_int_equal(m.err_opt, FO_OPT_SERVER_STATE);
	assert_int_equal(m.type, FO_MSG_STATE);
}

/* Every fixed-size option of every type: the right size passes, any other is FO_E_OPT_SIZE. */
static void test_fixed_sizes(void **state)
{
	(void)state;
	for (unsigned int type = 1; type <= 12; type++) {
		for (unsigned int code = 1; code < 30; code++) {
			unsigned int size = isc_size[code];
			uint16_t lens[] = { 0, 1, 2, 3, 4, 5, 8, 100 };

			if (!(isc_allowed[type] & B(code)) || size == 0) {
				continue;
			}
			for (size_t k = 0; k < ARRAY_SIZE(lens); k++) {
				struct fo_msg m;
				struct raw r;
				int ret;

				raw_init(&r, (uint8_t)type, 12);
				raw_opt(&r, (uint16_t)code, lens[k], NULL);
				ret = raw_decode(&r, &m, 0);
				if (lens[k] == size) {
					assert_int_equal(ret, FO_OK);
					assert_int_equal(m.present, B(code));
					check_field(&m, code, r.b + 16, NULL, lens[k]);
				} else {
					assert_int_equal(ret, FO_E_OPT_SIZE);
					assert_int_equal(m.err_opt, code);
				}
			}
		}
	}
}

/* Every option of every type's set, twice: FO_E_OPT_DUP. */
static void test_duplicates(void **state)
{
	(void)state;
	for (unsigned int type = 1; type <= 12; type++) {
		for (unsigned int code = 1; code < 30; code++) {
			uint16_t len = isc_size[code] ? isc_size[code] : (code == 9 ? 2 : 3);
			struct fo_msg m;
			struct raw r;

			raw_init(&r, (uint8_t)type, 12);
			raw_opt(&r, (uint16_t)code, len, NULL);
			raw_opt(&r, (uint16_t)code, len, NULL);
			if (isc_allowed[type] & B(code)) {
				assert_int_equal(raw_decode(&r, &m, 0), FO_E_OPT_DUP);
				assert_int_equal(m.err_opt, code);
			} else {
				assert_int_equal(raw_decode(&r, &m, 0), FO_OK);
				assert_int_equal(m.n_skipped, code == 17 ? 1 : 2);
			}
		}
	}
}

/* The codec's tables against ISC's, written independently above. */
static void test_tables(void **state)
{
	(void)state;
	for (unsigned int type = 0; type < 256; type++) {
		assert_int_equal(fo_msg_type_opts(type), type < 13 ? isc_allowed[type] : 0);
		assert_int_equal(fo_msg_type_known(type), type >= 1 && type <= 12);
	}
	for (unsigned int code = 0; code < 70000; code++) {
		unsigned int want = code < 30 ? isc_size[code] : 0;

		assert_int_equal(fo_opt_size(code), want);
	}
	for (unsigned int type = 0; type < 256; type++) {
		const char *s = fo_msg_type_str(type);

		assert_non_null(s);
		assert_int_equal(strcmp(s, "UNKNOWN") != 0, type >= 1 && type <= 12);
	}
	assert_string_equal(fo_msg_type_str(FO_MSG_UPDREQALL), "UPDREQALL");
	assert_string_equal(fo_msg_type_str(FO_MSG_UPDREQ), "UPDREQ");
	assert_string_equal(fo_msg_type_str(FO_MSG_DISCONNECT), "DISCONNECT");
	for (unsigned int code = 0; code < 300; code++) {
		const char *s = fo_opt_str(code);

		assert_int_equal(strcmp(s, "unknown") != 0, code >= 1 && code < 30);
		for (unsigned int other = 1; other < code && code < 30; other++) {
			assert_true(strcmp(s, fo_opt_str(other)) != 0);
		}
	}
	assert_string_equal(fo_opt_str(FO_OPT_HBA), "hash-bucket-assignment");
	for (unsigned int v = 0; v < 300; v++) {
		assert_int_equal(strcmp(fo_binding_status_str(v), "unknown") != 0,
				 v >= 1 && v <= 7);
		assert_int_equal(strcmp(fo_server_state_str(v), "unknown") != 0,
				 (v >= 1 && v <= 11) || v == 254);
		assert_int_equal(strcmp(fo_reject_reason_str(v), "unknown reject reason") != 0,
				 (v >= 1 && v <= 21) || v == 254);
	}
	assert_string_equal(fo_binding_status_str(FO_BS_BACKUP), "backup");
	assert_string_equal(fo_server_state_str(FO_SS_RECOVER_WAIT), "recover-wait");
	assert_string_equal(fo_server_state_str(FO_SS_COMM_INTERRUPTED),
			    "communications-interrupted");
	assert_string_equal(fo_reject_reason_str(FO_RR_HBA_CONFLICT),
			    "Hash bucket assignment conflict");
	/* Every error code: distinct, named, in the project range. */
	{
		static const int errs[] = {
			FO_E_SHORT, FO_E_LEN_SMALL, FO_E_LEN_BIG, FO_E_LEN_MISMATCH, FO_E_PAYOFF,
			FO_E_MSG_TYPE, FO_E_OPT_TRUNC, FO_E_OPT_OVERRUN, FO_E_OPT_SIZE,
			FO_E_OPT_DUP, FO_E_NOSPACE, FO_E_OPT_NOT_ALLOWED, FO_E_INVAL,
		};

		assert_string_equal(fo_err_str(FO_OK), "ok");
		assert_string_equal(fo_err_str(-1), "unknown");
		assert_string_equal(fo_err_str(1), "unknown");
		for (size_t i = 0; i < ARRAY_SIZE(errs); i++) {
			assert_true(errs[i] <= -1100 && errs[i] > -1200);
			assert_true(strcmp(fo_err_str(errs[i]), "unknown") != 0);
			for (size_t j = 0; j < i; j++) {
				assert_int_not_equal(errs[i], errs[j]);
				assert_true(strcmp(fo_err_str(errs[i]), fo_err_str(errs[j])) != 0);
			}
		}
	}
}

/* ------------------------------------------------------------------------------------------ */
/* The ISC captures. */

/* One direction of one TCP connection, reassembled. */
struct stream {
	char key[80];		/* "198.18.0.1:647 > 198.18.0.2:36993" as fodecode.py has it */
	uint32_t isn;		/* sequence number of the first data byte */
	bool syn;		/* isn comes from a SYN */
	uint8_t *data;
	size_t len, cap;
	size_t off;		/* bytes consumed by the comparison */
	bool stopped;		/* framing refused the next message */
};

struct capture {
	struct stream *s;
	size_t n, cap;
	size_t frames;
};

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf;
	long size;

	if (!fp) {
		fail_msg("%s: missing (the capture tests need shared/reference)", path);
	}
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	size = ftell(fp);
	assert_true(size >= 0);
	assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
	buf = malloc((size_t)size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)size, fp), (size_t)size);
	fclose(fp);
	*len = (size_t)size;
	return buf;
}

static struct stream *stream_find_last(struct capture *c, const char *key)
{
	for (size_t i = c->n; i > 0; i--) {
		if (strcmp(c->s[i - 1].key, key) == 0) {
			return &c->s[i - 1];
		}
	}
	return NULL;
}

static struct stream *stream_new(struct capture *c, const char *key, uint32_t isn, bool syn)
{
	struct stream *s;

	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 32;
		c->s = realloc(c->s, c->cap * sizeof(*c->s));
		assert_non_null(c->s);
	}
	s = &c->s[c->n++];
	memset(s, 0, sizeof(*s));
	snprintf(s->key, sizeof(s->key), "%s", key);
	s->isn = isn;
	s->syn = syn;
	return s;
}

static void stream_add(struct stream *s, uint32_t seq, const uint8_t *p, size_t n)
{
	uint32_t rel = seq - s->isn;	/* modulo 2^32 */

	if ((uint64_t)rel + n <= s->len) {
		return;			/* retransmission */
	}
	if (rel > s->len) {
		fail_msg("%s: %zu bytes missing before seq %u", s->key, (size_t)(rel - s->len),
			 seq);
	}
	p += s->len - rel;
	n -= s->len - rel;
	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2;
		s->data = realloc(s->data, s->cap);
		assert_non_null(s->data);
	}
	memcpy(s->data + s->len, p, n);
	s->len += n;
}

static void tcp_segment(struct capture *c, const uint8_t *ip, size_t caplen)
{
	unsigned int ihl, doff, sport, dport, flags;
	size_t tot;
	const uint8_t *tcp;
	struct stream *s;
	uint32_t seq;
	char key[80];

	assert_true(caplen >= 20);
	assert_int_equal(ip[0] >> 4, 4);
	ihl = (ip[0] & 15u) * 4;
	tot = lw_get16(ip + 2);
	assert_true(ihl >= 20 && tot >= ihl && tot <= caplen);
	if (ip[9] != 6) {
		return;
	}
	if (lw_get16(ip + 6) & 0x3fff) {
		fail_msg("IP fragment: not handled by this reader");
	}
	tcp = ip + ihl;
	assert_true(tot - ihl >= 20);
	sport = lw_get16(tcp);
	dport = lw_get16(tcp + 2);
	seq = lw_get32(tcp + 4);
	doff = (tcp[12] >> 4) * 4u;
	flags = tcp[13];
	assert_true(doff >= 20 && doff <= tot - ihl);
	snprintf(key, sizeof(key), "%s:%u > %s:%u", lw_ip4_fmt(lw_get32(ip + 12)).s, sport,
		 lw_ip4_fmt(lw_get32(ip + 16)).s, dport);
	s = stream_find_last(c, key);
	if (flags & 0x02) {	/* SYN: a new connection, unless it is a retransmitted SYN */
		if (!s || !s->syn || s->isn != seq + 1) {
			stream_new(c, key, seq + 1, true);
		}
		return;
	}
	if (tot - ihl == doff) {
		return;
	}
	if (!s) {
		s = stream_new(c, key, seq, false);
	}
	stream_add(s, seq, tcp + doff, tot - ihl - doff);
}

/* Read a classic pcap (either byte order, us or ns) into per-direction TCP streams. */
static void pcap_read(const char *path, struct capture *c)
{
	size_t len, off = 24;
	uint8_t *buf = read_file(path, &len);
	uint32_t magic, linktype;
	bool swap;

	memset(c, 0, sizeof(*c));
	assert_true(len >= 24);
	magic = lw_get32(buf);
	swap = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u;
	if (!swap && magic != 0xa1b2c3d4u && magic != 0xa1b23c4du) {
		fail_msg("%s: not a classic pcap file", path);
	}
#define RD32(p) (swap ? (uint32_t)(p)[0] | (uint32_t)(p)[1] << 8 | (uint32_t)(p)[2] << 16 | \
		 (uint32_t)(p)[3] << 24 : lw_get32(p))
	linktype = RD32(buf + 20) & 0xffff;
	while (off < len) {
		const uint8_t *pkt;
		uint32_t incl, orig;
		size_t l2;

		assert_true(len - off >= 16);
		incl = RD32(buf + off + 8);
		orig = RD32(buf + off + 12);
		assert_true(incl <= len - off - 16);
		assert_int_equal(incl, orig);	/* nothing snapped */
		pkt = buf + off + 16;
		off += 16 + incl;
		c->frames++;
		switch (linktype) {
		case 1:		/* Ethernet, with up to two VLAN tags */
			l2 = 12;
			while (l2 + 2 <= incl && (lw_get16(pkt + l2) == 0x8100 ||
						  lw_get16(pkt + l2) == 0x88a8)) {
				l2 += 4;
			}
			assert_true(l2 + 2 <= incl);
			if (lw_get16(pkt + l2) != 0x0800) {
				continue;
			}
			l2 += 2;
			break;
		case 113:	/* Linux cooked (SLL) */
			assert_true(incl >= 16);
			if (lw_get16(pkt + 14) != 0x0800) {
				continue;
			}
			l2 = 16;
			break;
		case 101:	/* raw IP */
		case 228:	/* raw IPv4 */
			l2 = 0;
			break;
		default:
			fail_msg("%s: link type %u not handled", path, (unsigned int)linktype);
			return;
		}
		tcp_segment(c, pkt + l2, incl - l2);
	}
#undef RD32
	free(buf);
}

static void capture_free(struct capture *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->s[i].data);
	}
	free(c->s);
}

/* One message line of *-fo.msgs.txt. */
struct exp_opt {
	uint16_t code;
	uint16_t len;
	size_t off;		/* of the value in exp_msg.data */
};

struct exp_msg {
	char key[80];
	int type;		/* -1 when the line is not a message */
	unsigned int len, payoff;
	uint32_t xid, time;
	size_t nopt;
	struct exp_opt opt[1024];
	size_t dlen;
	uint8_t data[8192];
	uint8_t wild[8192];
};

/* fodecode.py's option names (OPT table); others are printed "opt<code>". */
static const char *const fd_opt_names[30] = {
	[1] = "addresses-transferred", [2] = "assigned-IP-address", [3] = "binding-status",
	[4] = "client-identifier", [5] = "client-hardware-address", [6] = "cltt",
	[7] = "client-reply-options", [8] = "client-request-options", [9] = "DDNS",
	[10] = "delayed-service", [11] = "hba", [12] = "IP-flags",
	[13] = "lease-expiration-time", [14] = "max-unacked-bndupd", [15] = "MCLT",
	[16] = "message", [17] = "message-digest", [18] = "potential-expiration-time",
	[19] = "receive-timer", [20] = "protocol-version", [21] = "reject-reason",
	[22] = "relationship-name", [23] = "server-flags", [24] = "server-state",
	[25] = "start-time-of-state", [26] = "TLS-reply", [27] = "TLS-request",
	[28] = "vendor-class", [29] = "vendor-options",
};

static const char *const fd_msg_names[13] = {
	[1] = "POOLREQ", [2] = "POOLRESP", [3] = "BNDUPD", [4] = "BNDACK", [5] = "CONNECT",
	[6] = "CONNECTACK", [7] = "UPDREQALL", [8] = "UPDDONE", [9] = "UPDREQ", [10] = "STATE",
	[11] = "CONTACT", [12] = "DISCONNECT",
};

/*
 * Next "name=value" (or bare word) of a line: a value runs to the next space outside
 * parentheses, brackets and a leading quote.
 */
static const char *next_token(const char *p, char *name, size_t nsz, char *val, size_t vsz)
{
	size_t n = 0, v = 0;
	int depth = 0;
	char quote = 0;

	while (*p == ' ') {
		p++;
	}
	if (!*p || *p == '\n') {
		return NULL;
	}
	while (*p && *p != ' ' && *p != '=' && *p != '\n') {
		assert_true(n + 1 < nsz);
		name[n++] = *p++;
	}
	name[n] = 0;
	if (*p == '=') {
		p++;
		if (*p == '\'' || *p == '"') {
			quote = *p;
			val[v++] = *p++;
		}
		while (*p && *p != '\n' && (quote || depth > 0 || *p != ' ')) {
			assert_true(v + 2 < vsz);
			if (quote && *p == '\\') {
				val[v++] = *p++;
			} else if (quote && *p == quote) {
				quote = 0;
			} else if (!quote && (*p == '(' || *p == '[')) {
				depth++;
			} else if (!quote && (*p == ')' || *p == ']')) {
				depth--;
			}
			val[v++] = *p++;
		}
	}
	val[v] = 0;
	return p;
}

static void exp_push(struct exp_msg *e, uint8_t byte, bool wild)
{
	assert_true(e->dlen < sizeof(e->data));
	e->wild[e->dlen] = wild;
	e->data[e->dlen++] = byte;
}

static unsigned int hexval(char ch)
{
	if (ch >= '0' && ch <= '9') {
		return (unsigned int)(ch - '0');
	}
	if (ch >= 'a' && ch <= 'f') {
		return (unsigned int)(ch - 'a' + 10);
	}
	if (ch >= 'A' && ch <= 'F') {
		return (unsigned int)(ch - 'A' + 10);
	}
	fail_msg("not a hex digit: %c", ch);
	return 0;
}

/* A Python repr() of bytes.decode('ascii', 'replace'): U+FFFD stands for a byte >= 0x80. */
static void parse_pystr(struct exp_msg *e, const char *v)
{
	char q = *v++;

	while (*v != q) {
		unsigned int cp;

		assert_true(*v != 0);
		if (*v == '\\') {
			v++;
			switch (*v) {
			case 'n':
				cp = '\n';
				v++;
				break;
			case 'r':
				cp = '\r';
				v++;
				break;
			case 't':
				cp = '\t';
				v++;
				break;
			case '\\':
			case '\'':
			case '"':
				cp = (uint8_t)*v++;
				break;
			case 'x':
				cp = hexval(v[1]) << 4 | hexval(v[2]);
				v += 3;
				break;
			case 'u':
				cp = hexval(v[1]) << 12 | hexval(v[2]) << 8 | hexval(v[3]) << 4 |
				     hexval(v[4]);
				v += 5;
				break;
			default:
				fail_msg("escape \\%c not handled", *v);
				return;
			}
		} else if ((uint8_t)v[0] == 0xef && (uint8_t)v[1] == 0xbf &&
			   (uint8_t)v[2] == 0xbd) {
			cp = 0xfffd;
			v += 3;
		} else {
			cp = (uint8_t)*v++;
			assert_true(cp < 0x80);
		}
		if (cp == 0xfffd) {
			exp_push(e, 0, true);
		} else {
			assert_true(cp < 0x80);
			exp_push(e, (uint8_t)cp, false);
		}
	}
	assert_int_equal(v[1], 0);
}

static void push_be(struct exp_msg *e, unsigned long v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		exp_push(e, (uint8_t)(v >> (8 * i)), false);
	}
}

/* Turn one option as fodecode.py printed it (fmt_opt) back into its wire bytes. */
static void parse_value(struct exp_msg *e, unsigned int code, const char *v)
{
	static const uint32_t u32 = B(1) | B(6) | B(13) | B(14) | B(15) | B(18) | B(19) | B(25);
	static const uint32_t u8 = B(3) | B(10) | B(20) | B(21) | B(23) | B(24) | B(26) | B(27);
	const char *lenp = strstr(v, "(len");
	char *end;

	if (code == 16 || code == 22 || code == 28) {
		parse_pystr(e, v);
	} else if (v[0] == '0' && v[1] == 'x' && lenp) {
		size_t before = e->dlen;

		for (v += 2; v < lenp; v += 2) {
			exp_push(e, (uint8_t)(hexval(v[0]) << 4 | hexval(v[1])), false);
		}
		assert_int_equal(e->dlen - before, strtoul(lenp + 4, NULL, 10));
	} else if (code == 5 && strncmp(v, "htype", 5) == 0) {
		exp_push(e, (uint8_t)strtoul(v + 5, &end, 10), false);
		assert_true(*end == ':');
		for (v = end + 1; *v; v += v[2] == ':' ? 3 : 2) {
			exp_push(e, (uint8_t)(hexval(v[0]) << 4 | hexval(v[1])), false);
		}
	} else if (code == 2) {
		for (int i = 0; i < 4; i++) {
			exp_push(e, (uint8_t)strtoul(v, &end, 10), false);
			assert_true(i == 3 ? *end == 0 : *end == '.');
			v = end + 1;
		}
	} else if (code == 12) {
		assert_true(v[0] == '0' && v[1] == 'x');
		push_be(e, strtoul(v, NULL, 16), 2);
	} else if (code < 30 && (u32 & B(code))) {
		push_be(e, strtoul(v, &end, 10), 4);
		assert_true(*end == 0 || *end == '(');
	} else if (code < 30 && (u8 & B(code))) {
		push_be(e, strtoul(v, &end, 10), 1);
		assert_true(*end == 0 || *end == '(');
	} else {
		fail_msg("option %u: value %s not understood", code, v);
	}
}

/* Parse one line; returns false for a TCP event line. */
static bool parse_line(const char *line, struct exp_msg *e)
{
	static char name[64], val[16384];
	char src[32], dst[32], kind[32];
	const char *p;

	memset(e, 0, offsetof(struct exp_msg, data));
	e->dlen = 0;
	if (sscanf(line, "%*s %31s > %31s %31s", src, dst, kind) != 3) {
		fail_msg("line not understood: %s", line);
	}
	if (strcmp(kind, "TCP") == 0) {
		return false;
	}
	snprintf(e->key, sizeof(e->key), "%s > %s", src, dst);
	e->type = -1;
	for (int t = 1; t < 13; t++) {
		if (strcmp(kind, fd_msg_names[t]) == 0) {
			e->type = t;
		}
	}
	if (e->type < 0) {
		assert_int_equal(strncmp(kind, "TYPE", 4), 0);
		e->type = atoi(kind + 4);
	}
	p = strstr(line, kind) + strlen(kind);
	while ((p = next_token(p, name, sizeof(name), val, sizeof(val))) != NULL) {
		unsigned int code = 0;
		struct exp_opt *o;

		if (strcmp(name, "len") == 0) {
			e->len = (unsigned int)strtoul(val, NULL, 10);
			continue;
		}
		if (strcmp(name, "payoff") == 0) {
			e->payoff = (unsigned int)strtoul(val, NULL, 10);
			continue;
		}
		if (strcmp(name, "xid") == 0) {
			e->xid = (uint32_t)strtoul(val, NULL, 16);
			continue;
		}
		if (strcmp(name, "time") == 0) {
			e->time = (uint32_t)strtoul(val, NULL, 10);
			continue;
		}
		for (unsigned int c = 1; c < 30; c++) {
			if (strcmp(name, fd_opt_names[c]) == 0) {
				code = c;
			}
		}
		if (code == 0) {
			if (strncmp(name, "opt", 3) != 0) {
				fail_msg("option name %s not understood", name);
			}
			code = (unsigned int)strtoul(name + 3, NULL, 10);
		}
		assert_true(e->nopt < ARRAY_SIZE(e->opt));
		o = &e->opt[e->nopt++];
		o->code = (uint16_t)code;
		o->off = e->dlen;
		parse_value(e, code, val);
		o->len = (uint16_t)(e->dlen - o->off);
	}
	return true;
}

struct verdict {
	int err;
	uint16_t err_opt;
	uint16_t n_skipped;
	uint32_t present;
	int held[30];		/* index in exp_msg.opt of the value held, -1 if none */
};

/* What ISC 4.4.3's rules make of the message (see the file comment). */
static void isc_verdict(const struct exp_msg *e, struct verdict *v)
{
	uint32_t carried = e->type >= 1 && e->type <= 12 ? isc_allowed[e->type] : 0;

	memset(v, 0, sizeof(*v));
	for (int c = 0; c < 30; c++) {
		v->held[c] = -1;
	}
	for (size_t i = 0; i < e->nopt; i++) {
		unsigned int code = e->opt[i].code, len = e->opt[i].len;

		if (code == 0 || code >= 30) {
			v->n_skipped++;
			continue;
		}
		if (e->type > 12) {
			v->err = FO_E_MSG_TYPE;
			v->err_opt = (uint16_t)code;
			return;
		}
		if (code == 17 && e->type != 0) {
			if (v->present & B(17)) {
				v->n_skipped++;
			} else {
				v->present |= B(17);
				v->held[17] = (int)i;
			}
			continue;
		}
		if (!(carried & B(code))) {
			v->n_skipped++;
			continue;
		}
		if (v->present & B(code)) {
			v->err = FO_E_OPT_DUP;
			v->err_opt = (uint16_t)code;
			return;
		}
		if ((isc_size[code] && len != isc_size[code]) || (code == 9 && len < 2)) {
			v->err = FO_E_OPT_SIZE;
			v->err_opt = (uint16_t)code;
			return;
		}
		v->present |= B(code);
		v->held[code] = (int)i;
	}
}

struct cap_stats {
	unsigned int msgs, ok, ignored, refused, exact, frames_txt;
	unsigned int by_err[16];
};

/* Compare one framed message with its line. */
static void check_message(const struct exp_msg *e, const uint8_t *raw, size_t n,
			  bool isc_only, struct cap_stats *st)
{
	struct verdict v;
	struct fo_msg m, d;
	uint8_t out[FO_MSG_MAX_LEN];
	size_t off;
	int ret, len;

	/* The bytes themselves, rebuilt from the text (the extra header is not printed). */
	assert_int_equal(n, e->len);
	assert_int_equal(lw_get16(raw), e->len);
	assert_int_equal(raw[2], e->type);
	assert_int_equal(raw[3], e->payoff);
	assert_int_equal(lw_get32(raw + 4), e->time);
	assert_int_equal(lw_get32(raw + 8), e->xid);
	off = e->payoff;
	for (size_t i = 0; i < e->nopt; i++) {
		const struct exp_opt *o = &e->opt[i];

		assert_true(off + 4 + o->len <= n);
		assert_int_equal(lw_get16(raw + off), o->code);
		assert_int_equal(lw_get16(raw + off + 2), o->len);
		for (uint16_t k = 0; k < o->len; k++) {
			if (e->wild[o->off + k]) {
				assert_true(raw[off + 4 + k] >= 0x80);
			} else {
				assert_int_equal(raw[off + 4 + k], e->data[o->off + k]);
			}
		}
		off += 4u + o->len;
	}
	assert_int_equal(off, n);

	/* The verdict and every value. */
	isc_verdict(e, &v);
	ret = fo_msg_decode(&m, raw, n, 0);
	if (ret != v.err) {
		fail_msg("%s %s xid 0x%x: decode %d (%s), expected %d (%s)", e->key,
			 fo_msg_type_str((unsigned int)e->type), e->xid, ret, fo_err_str(ret),
			 v.err, fo_err_str(v.err));
	}
	st->msgs++;
	if (ret != FO_OK) {
		st->refused++;
		st->by_err[-ret - 1100]++;
		assert_int_equal(m.err_opt, v.err_opt);
		return;
	}
	assert_int_equal(m.len, e->len);
	assert_int_equal(m.type, e->type);
	assert_int_equal(m.payoff, e->payoff);
	assert_int_equal(m.time, e->time);
	assert_int_equal(m.xid, e->xid);
	assert_int_equal(m.present, v.present);
	assert_int_equal(m.n_skipped, v.n_skipped);
	for (unsigned int code = 1; code < 30; code++) {
		if (v.held[code] >= 0) {
			const struct exp_opt *o = &e->opt[v.held[code]];

			check_field(&m, code, e->data + o->off, e->wild + o->off, o->len);
		}
	}
	if (!fo_msg_type_known(m.type)) {
		st->ignored++;
		assert_int_equal(fo_msg_encode(&m, out, sizeof(out)), FO_E_MSG_TYPE);
		return;
	}
	st->ok++;

	/* Encode it back: same message; from ISC, the same bytes. */
	len = fo_msg_encode(&m, out, sizeof(out));
	assert_true(len >= FO_MSG_HDR_LEN);
	assert_int_equal(fo_msg_decode(&d, out, (size_t)len, 0), FO_OK);
	assert_msg_equal(&m, &d);
	if (e->payoff == FO_MSG_HDR_LEN && m.n_skipped == 0 && (size_t)len == n &&
	    memcmp(out, raw, n) == 0) {
		st->exact++;
	} else if (isc_only) {
		fail_msg("%s %s xid 0x%x: re-encoded bytes differ from ISC's", e->key,
			 fo_msg_type_str(m.type), e->xid);
	}
}

static void check_capture(const char *name, bool isc_only)
{
	char path[512];
	struct capture c;
	struct cap_stats st;
	struct exp_msg *e = malloc(sizeof(*e));
	char *line = NULL;
	size_t cap = 0;
	FILE *fp;

	assert_non_null(e);
	memset(&st, 0, sizeof(st));
	snprintf(path, sizeof(path), CAPTURES "%s-fo.pcap", name);
	pcap_read(path, &c);

	/* The pcap reader saw every frame tshark listed. */
	snprintf(path, sizeof(path), CAPTURES "%s-fo.frames.txt", name);
	fp = fopen(path, "r");
	if (!fp) {
		fail_msg("%s: missing", path);
	}
	while (getline(&line, &cap, fp) > 0) {
		st.frames_txt += line[0] != '\n';
	}
	fclose(fp);
	assert_int_equal(st.frames_txt, c.frames);

	snprintf(path, sizeof(path), CAPTURES "%s-fo.msgs.txt", name);
	fp = fopen(path, "r");
	if (!fp) {
		fail_msg("%s: missing", path);
	}
	while (getline(&line, &cap, fp) > 0) {
		struct stream *s = NULL;
		int n;

		if (!parse_line(line, e)) {
			continue;
		}
		/* The first stream of that direction with bytes left. */
		for (size_t i = 0; i < c.n && !s; i++) {
			if (strcmp(c.s[i].key, e->key) == 0 && !c.s[i].stopped &&
			    c.s[i].off < c.s[i].len) {
				s = &c.s[i];
			}
		}
		if (!s) {
			fail_msg("%s: no bytes left for: %s", name, line);
		}
		n = fo_frame_len(s->data + s->off, s->len - s->off, FO_MSG_MAX_LEN);
		if (e->len > FO_MSG_MAX_LEN) {
			/* ISC: "message length wait: unexpected error", then FIN. */
			assert_int_equal(n, FO_E_LEN_BIG);
			assert_true(s->len - s->off >= e->len);
			s->stopped = true;
			st.msgs++;
			st.refused++;
			st.by_err[-FO_E_LEN_BIG - 1100]++;
			continue;
		}
		if (n <= 0) {
			fail_msg("%s: framing gave %d for: %s", name, n, line);
		}
		check_message(e, s->data + s->off, (size_t)n, isc_only, &st);
		s->off += (size_t)n;
	}
	free(line);
	fclose(fp);

	/* Nothing left over that the text did not show. */
	for (size_t i = 0; i < c.n; i++) {
		if (!c.s[i].stopped && c.s[i].off != c.s[i].len) {
			fail_msg("%s: %s: %zu bytes not matched by any line", name, c.s[i].key,
				 c.s[i].len - c.s[i].off);
		}
	}
	print_message("%s: %zu frames, %u messages: %u decoded and compared (%u re-encoded "
		      "byte for byte), %u of unknown type ignored, %u refused "
		      "(length-too-big %u, invalid-message-type %u, option-size %u, "
		      "duplicate-option %u)\n", name, c.frames, st.msgs, st.ok, st.exact,
		      st.ignored, st.refused, st.by_err[2], st.by_err[5], st.by_err[8],
		      st.by_err[9]);
	capture_free(&c);
	free(e);
}

static void test_capture_startup(void **state)
{
	(void)state;
	check_capture("startup", true);
}

static void test_capture_fault(void **state)
{
	(void)state;
	check_capture("fault", true);
}

static void test_capture_omshell(void **state)
{
	(void)state;
	check_capture("omshell", true);
}

static void test_capture_amnesia(void **state)
{
	(void)state;
	check_capture("amnesia", true);
}

static void test_capture_partition(void **state)
{
	(void)state;
	check_capture("partition", true);
}

static void test_capture_reject(void **state)
{
	(void)state;
	check_capture("reject", true);
}

/* fo_probe.py stood in for one peer: its messages are not in ISC's order, some malformed. */
static void test_capture_probe(void **state)
{
	(void)state;
	check_capture("probe", false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_roundtrip_all_types),
		cmocka_unit_test(test_encode_exact),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_decode_details),
		cmocka_unit_test(test_fixed_sizes),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_capture_startup),
		cmocka_unit_test(test_capture_fault),
		cmocka_unit_test(test_capture_omshell),
		cmocka_unit_test(test_capture_amnesia),
		cmocka_unit_test(test_capture_partition),
		cmocka_unit_test(test_capture_reject),
		cmocka_unit_test(test_capture_probe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
