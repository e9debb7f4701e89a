/* leasewire-bench's frames: what lwb_build() writes, read back byte by byte and by
 * lwb_parse(); checksums; lwb_reflect(); refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lwb_wire.h"

#define BOOTP	42		/* BOOTP payload offset in our untagged frames */
#define OPTS	(BOOTP + 240)

static const uint8_t our_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
static const uint8_t srv_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
static uint8_t buf[LWB_FRAME_LEN + 64];

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Option @p code of the frame in buf (walking the options independently), or NULL. */
static const uint8_t *find_opt(uint8_t code, uint8_t *len)
{
	const uint8_t *o = buf + OPTS, *end = buf + LWB_FRAME_LEN;

	while (o < end && *o != 255) {
		if (*o == 0) {
			o++;
			continue;
		}
		if (*o == code) {
			*len = o[1];
			return o + 2;
		}
		o += 2 + o[1];
	}
	return NULL;
}

static struct lwb_req direct(uint8_t type, uint32_t index, uint8_t seq)
{
	struct lwb_req r;

	memset(&r, 0, sizeof(r));
	r.type = type;
	r.index = index;
	r.xid = lwb_xid(index, seq);
	r.broadcast = true;
	lwb_chaddr(index, r.src_mac);
	memset(r.dst_mac, 0xff, 6);
	r.ip_dst = UINT32_MAX;
	r.sport = 68;
	r.dport = 67;
	return r;
}

static void test_xid_and_chaddr(void **state)
{
	uint8_t mac[6];

	(void)state;
	assert_int_equal(lwb_xid(0x123456, 0xab), 0xab123456u);
	assert_int_equal(lwb_xid_index(0xab123456u), 0x123456);
	assert_int_equal(lwb_xid_seq(0xab123456u), 0xab);
	lwb_chaddr(0x01020304, mac);
	assert_memory_equal(mac, ((uint8_t[]){0x02, 0x42, 1, 2, 3, 4}), 6);
}

/* RFC 1071 section 3's example, an odd tail, and a chained sum of two chunks. */
static void test_csum_vectors(void **state)
{
	static const uint8_t rfc[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	static const uint8_t odd[3] = {0x01, 0x02, 0x03};
	uint32_t sum;

	(void)state;
	assert_int_equal(lwb_csum_fold(lwb_csum_add(rfc, 8, 0)), (uint16_t)~0xddf2);
	assert_int_equal(lwb_csum_fold(lwb_csum_add(odd, 3, 0)), (uint16_t)~0x0402);
	sum = lwb_csum_add(rfc, 4, 0);
	sum = lwb_csum_add(rfc + 4, 4, sum);
	assert_int_equal(lwb_csum_fold(sum), (uint16_t)~0xddf2);
	assert_int_equal(lwb_csum_fold(lwb_csum_add(rfc, 8, 0x10000)), (uint16_t)~0xddf3);
}

static void test_discover_bytes(void **state)
{
	struct lwb_req r = direct(LWB_DISCOVER, 0x00abcdef, 7);
	uint8_t len;
	const uint8_t *o;

	(void)state;
	assert_int_equal(lwb_build(buf, &r), 342);
	assert_memory_equal(buf, ((uint8_t[]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), 6);
	assert_memory_equal(buf + 6, ((uint8_t[]){0x02, 0x42, 0, 0xab, 0xcd, 0xef}), 6);
	assert_int_equal(be16(buf + 12), 0x0800);
	assert_int_equal(buf[14], 0x45);
	assert_int_equal(be16(buf + 16), 328);		/* IP total length */
	assert_int_equal(buf[23], 17);
	assert_int_equal(be32(buf + 26), 0);		/* 0.0.0.0 */
	assert_int_equal(be32(buf + 30), 0xffffffffu);
	assert_int_equal(be16(buf + 34), 68);
	assert_int_equal(be16(buf + 36), 67);
	assert_int_equal(be16(buf + 38), 308);		/* UDP length */
	assert_int_not_equal(be16(buf + 40), 0);	/* UDP checksum always computed */
	assert_int_equal(buf[BOOTP], 1);		/* op */
	assert_int_equal(buf[BOOTP + 1], 1);		/* htype */
	assert_int_equal(buf[BOOTP + 2], 6);		/* hlen */
	assert_int_equal(be32(buf + BOOTP + 4), 0x07abcdefu);
	assert_int_equal(be16(buf + BOOTP + 10), 0x8000);
	assert_memory_equal(buf + BOOTP + 28, buf + 6, 6);
	assert_memory_equal(buf + BOOTP + 236, ((uint8_t[]){99, 130, 83, 99}), 4);
	/* option 53 is the first option */
	assert_memory_equal(buf + OPTS, ((uint8_t[]){53, 1, LWB_DISCOVER}), 3);
	assert_null(find_opt(50, &len));
	assert_null(find_opt(54, &len));
	assert_null(find_opt(61, &len));
	assert_null(find_opt(82, &len));
	o = find_opt(55, &len);
	assert_non_null(o);
	assert_true(len >= 4);
}

static void test_selecting_request_relayed(void **state)
{
	struct lwb_req r = direct(LWB_REQUEST, 258, 1);
	struct lwb_reply p;
	const uint8_t *o;
	uint8_t len;

	(void)state;
	r.requested_ip = 0xc6130a05u;
	r.server_id = 0xc6120001u;
	r.client_id = true;
	r.giaddr = 0xc613ff02u;
	r.opt82 = true;
	r.ip_src = r.giaddr;
	r.ip_dst = 0xc6120001u;
	r.sport = 67;
	memcpy(r.src_mac, our_mac, 6);
	memcpy(r.dst_mac, srv_mac, 6);
	assert_int_equal(lwb_build(buf, &r), 342);
	assert_int_equal(buf[BOOTP + 3], 1);		/* hops */
	assert_int_equal(be32(buf + BOOTP + 24), 0xc613ff02u);
	o = find_opt(50, &len);
	assert_non_null(o);
	assert_int_equal(len, 4);
	assert_int_equal(be32(o), 0xc6130a05u);
	o = find_opt(54, &len);
	assert_non_null(o);
	assert_int_equal(be32(o), 0xc6120001u);
	o = find_opt(61, &len);
	assert_non_null(o);
	assert_int_equal(len, 7);
	assert_memory_equal(o, ((uint8_t[]){1, 0x02, 0x42, 0, 0, 1, 2}), 7);
	o = find_opt(82, &len);
	assert_non_null(o);
	assert_int_equal(len, 14);
	assert_memory_equal(o, ((uint8_t[]){1, 4, 0, 0, 0, 1, 2, 6, 0x02, 0x42, 0, 0, 1, 2}), 14);

	assert_int_equal(lwb_parse(buf, 342, true, &p), 0);
	assert_int_equal(p.op, 1);
	assert_int_equal(p.type, LWB_REQUEST);
	assert_int_equal(p.xid, lwb_xid(258, 1));
	assert_true(p.chaddr_ours);
	assert_int_equal(p.index, 258);
	assert_int_equal(p.giaddr, 0xc613ff02u);
	assert_int_equal(p.server_id, 0xc6120001u);
	assert_int_equal(p.sport, 67);
	assert_int_equal(p.dport, 67);
	assert_int_equal(p.payload_off, BOOTP);
	assert_int_equal(p.payload_len, 300);
}

static void test_checksums_checked(void **state)
{
	struct lwb_req r = direct(LWB_DISCOVER, 5, 0);
	struct lwb_reply p;

	(void)state;
	lwb_build(buf, &r);
	assert_int_equal(lwb_parse(buf, 342, true, &p), 0);
	buf[OPTS + 20] ^= 0x40;				/* payload byte */
	assert_int_equal(lwb_parse(buf, 342, true, &p), LWB_E_UDP_CSUM);
	assert_int_equal(lwb_parse(buf, 342, false, &p), 0);	/* unchecked when not asked */
	buf[40] = buf[41] = 0;				/* UDP checksum 0: not computed, OK */
	assert_int_equal(lwb_parse(buf, 342, true, &p), 0);
	buf[22] ^= 1;					/* TTL: IP header checksum */
	assert_int_equal(lwb_parse(buf, 342, false, &p), LWB_E_IP_CSUM);
}

/* The port's completion of a partial checksum: the datagram (seed in its field) summed and
 * complemented, as a NIC or virtio does for RTE_MBUF_F_TX_UDP_CKSUM. */
static void complete_udp(uint8_t *f)
{
	uint16_t c;

	c = lwb_csum_fold(lwb_csum_add(f + 34, be16(f + 38), 0));
	f[40] = (uint8_t)(c >> 8);
	f[41] = (uint8_t)c;
}

/*
 * A frame whose UDP checksum is left to the port (csum_offload): the field holds the
 * pseudo-header sum (folded, not complemented), which the port's completion turns into the
 * checksum the software build writes; everything else is the same frame. Received so, its
 * verdict is NONE: accepted when checking if the field is the seed (not summed), refused
 * when the verdict is UNKNOWN (summed: no checksum) or BAD.
 */
static void test_csum_offload(void **state)
{
	struct lwb_req r = direct(LWB_REQUEST, 0x10203, 4);
	uint8_t full[LWB_FRAME_LEN];
	struct lwb_reply p, q;
	uint32_t seed;

	(void)state;
	r.requested_ip = 0xc6130a05u;
	lwb_build(full, &r);
	r.csum_offload = true;
	lwb_build(buf, &r);
	assert_memory_equal(buf, full, 40);
	assert_memory_equal(buf + 42, full + 42, LWB_FRAME_LEN - 42);
	seed = be16(buf + 26) + be16(buf + 28) + be16(buf + 30) + be16(buf + 32) + 17u + 308u;
	seed = (seed & 0xffff) + (seed >> 16);
	assert_int_equal(be16(buf + 40), seed);

	assert_int_equal(lwb_parse(buf, 342, false, &p), 0);
	assert_int_equal(lwb_parse_rx(buf, 342, true, LWB_RX_L4_NONE, &p), 0);
	assert_int_equal(lwb_parse_rx(buf, 342, true, LWB_RX_L4_GOOD, &q), 0);
	assert_memory_equal(&p, &q, sizeof(p));
	assert_int_equal(lwb_parse_rx(buf, 342, true, LWB_RX_L4_UNKNOWN, &q), LWB_E_UDP_CSUM);
	assert_int_equal(lwb_parse(buf, 342, true, &q), LWB_E_UDP_CSUM);
	assert_int_equal(lwb_parse_rx(buf, 342, false, LWB_RX_L4_BAD, &q), 0);
	/* A NONE frame's field must be the seed: another value (one off, or the full sum)
	 * would go out wrong once completed. */
	buf[41] ^= 1;
	assert_int_equal(lwb_parse_rx(buf, 342, true, LWB_RX_L4_NONE, &q), LWB_E_UDP_CSUM);
	assert_int_equal(lwb_parse_rx(buf, 342, false, LWB_RX_L4_NONE, &q), 0);
	buf[41] ^= 1;
	complete_udp(buf);
	assert_memory_equal(buf, full, LWB_FRAME_LEN);
	assert_int_equal(lwb_parse_rx(buf, 342, true, LWB_RX_L4_NONE, &q), LWB_E_UDP_CSUM);
	assert_int_equal(lwb_parse_rx(buf, 342, true, LWB_RX_L4_BAD, &q), LWB_E_UDP_CSUM);
	assert_int_equal(lwb_parse_rx(buf, 342, true, LWB_RX_L4_UNKNOWN, &q), 0);
	/* The IPv4 header is checked whatever the UDP verdict. */
	buf[22] ^= 1;
	assert_int_equal(lwb_parse_rx(buf, 342, true, LWB_RX_L4_NONE, &q), LWB_E_IP_CSUM);

	/* The reflector leaves its reply's UDP checksum to the port the same way. */
	r.csum_offload = false;
	lwb_build(buf, &r);
	assert_int_equal(lwb_parse(buf, 342, true, &p), 0);
	assert_int_equal(lwb_reflect(buf, &p, our_mac, 0xc6120001u, false), 342);
	memcpy(full, buf, LWB_FRAME_LEN);
	lwb_build(buf, &r);
	assert_int_equal(lwb_parse(buf, 342, true, &p), 0);
	assert_int_equal(lwb_reflect(buf, &p, our_mac, 0xc6120001u, true), 342);
	assert_int_equal(lwb_parse_rx(buf, 342, true, LWB_RX_L4_UNKNOWN, &q), LWB_E_UDP_CSUM);
	assert_int_equal(lwb_parse_rx(buf, 342, true, LWB_RX_L4_NONE, &q), 0);
	complete_udp(buf);
	assert_memory_equal(buf, full, LWB_FRAME_LEN);
}

static void test_refusals(void **state)
{
	struct lwb_req r = direct(LWB_DISCOVER, 5, 0);
	struct lwb_reply p;

	(void)state;
	lwb_build(buf, &r);
	assert_int_equal(lwb_parse(buf, 20, false, &p), LWB_E_SHORT);
	assert_int_equal(lwb_parse(buf, 300, false, &p), LWB_E_SHORT);	/* IP length beyond */
	buf[12] = 0x08;
	buf[13] = 0x06;						/* ARP */
	assert_int_equal(lwb_parse(buf, 342, false, &p), LWB_E_NOT_UDP);
	lwb_build(buf, &r);
	buf[BOOTP + 236] = 0;					/* magic cookie */
	assert_int_equal(lwb_parse(buf, 342, false, &p), LWB_E_NOT_DHCP);
	lwb_build(buf, &r);
	buf[OPTS + 1] = 250;				/* option 53 overruns */
	assert_int_equal(lwb_parse(buf, 342, false, &p), LWB_E_OPTIONS);
}

static void test_reflect_direct_discover(void **state)
{
	struct lwb_req r = direct(LWB_DISCOVER, 0x10203, 9);
	struct lwb_reply in, out;

	(void)state;
	lwb_build(buf, &r);
	assert_int_equal(lwb_parse(buf, 342, true, &in), 0);
	assert_int_equal(lwb_reflect(buf, &in, our_mac, 0xc6120001u, false), 342);
	assert_int_equal(lwb_parse(buf, 342, true, &out), 0);	/* checksums valid */
	assert_memory_equal(buf, r.src_mac, 6);			/* back to the client */
	assert_memory_equal(buf + 6, our_mac, 6);
	assert_int_equal(out.op, 2);
	assert_int_equal(out.type, LWB_OFFER);
	assert_int_equal(out.xid, r.xid);
	assert_int_equal(out.index, 0x10203);
	assert_int_equal(out.ip_src, 0xc6120001u);
	assert_int_equal(out.ip_dst, 0xffffffffu);
	assert_int_equal(out.sport, 67);
	assert_int_equal(out.dport, 68);
	assert_int_equal(out.yiaddr, 0xc6120000u | 0x10203);
}

static void test_reflect_relayed_request_and_release(void **state)
{
	struct lwb_req r = direct(LWB_REQUEST, 7, 2);
	struct lwb_reply in, out;

	(void)state;
	r.giaddr = r.ip_src = 0xc613ff02u;
	r.sport = 67;
	lwb_build(buf, &r);
	assert_int_equal(lwb_parse(buf, 342, true, &in), 0);
	assert_int_equal(lwb_reflect(buf, &in, our_mac, 0xc6120001u, false), 342);
	assert_int_equal(lwb_parse(buf, 342, true, &out), 0);
	assert_int_equal(out.type, LWB_ACK);
	assert_int_equal(out.ip_dst, 0xc613ff02u);
	assert_int_equal(out.dport, 67);

	r = direct(LWB_RELEASE, 7, 3);
	lwb_build(buf, &r);
	assert_int_equal(lwb_parse(buf, 342, true, &in), 0);
	assert_int_equal(lwb_reflect(buf, &in, our_mac, 0xc6120001u, false), 0);
	/* and a reply (op 2) is never reflected */
	r = direct(LWB_DISCOVER, 7, 3);
	lwb_build(buf, &r);
	assert_int_equal(lwb_parse(buf, 342, true, &in), 0);
	assert_int_equal(lwb_reflect(buf, &in, our_mac, 0xc6120001u, false), 342);
	assert_int_equal(lwb_parse(buf, 342, true, &in), 0);
	assert_int_equal(lwb_reflect(buf, &in, our_mac, 0xc6120001u, false), 0);
}

static void test_arp_reply(void **state)
{
	static const uint8_t asker[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
	uint8_t *a = buf + 14;

	(void)state;
	memset(buf, 0, sizeof(buf));
	memset(buf, 0xff, 6);
	memcpy(buf + 6, asker, 6);
	buf[12] = 0x08;
	buf[13] = 0x06;
	a[1] = 1;			/* htype Ethernet */
	a[2] = 0x08;			/* ptype IPv4 */
	a[4] = 6;
	a[5] = 4;
	a[7] = 1;			/* request */
	memcpy(a + 8, asker, 6);
	memcpy(a + 14, ((uint8_t[]){198, 18, 0, 1}), 4);	/* who asks */
	memcpy(a + 24, ((uint8_t[]){198, 18, 0, 2}), 4);	/* who has 198.18.0.2? */
	assert_int_equal(lwb_arp_reply(buf, 60, our_mac), 42);
	assert_memory_equal(buf, asker, 6);
	assert_memory_equal(buf + 6, our_mac, 6);
	assert_int_equal(be16(a + 6), 2);
	assert_memory_equal(a + 8, our_mac, 6);
	assert_memory_equal(a + 14, ((uint8_t[]){198, 18, 0, 2}), 4);
	assert_memory_equal(a + 18, asker, 6);
	assert_memory_equal(a + 24, ((uint8_t[]){198, 18, 0, 1}), 4);
	/* a reply, and a DHCP frame, are not answered */
	assert_int_equal(lwb_arp_reply(buf, 60, our_mac), 0);
	{
		struct lwb_req r = direct(LWB_DISCOVER, 1, 1);

		lwb_build(buf, &r);
		assert_int_equal(lwb_arp_reply(buf, 342, our_mac), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xid_and_chaddr),
		cmocka_unit_test(test_csum_vectors),
		cmocka_unit_test(test_discover_bytes),
		cmocka_unit_test(test_selecting_request_relayed),
		cmocka_unit_test(test_checksums_checked),
		cmocka_unit_test(test_csum_offload),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_reflect_direct_discover),
		cmocka_unit_test(test_reflect_relayed_request_and_release),
		cmocka_unit_test(test_arp_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
