/*
 * Unit tests of dataplane/frame: Ethernet/VLAN/IPv4/UDP/ARP/ICMP parse, the reply builders,
 * and the checksums. Checksums are verified with an independent reference implementation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "frame.h"

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const uint8_t client_mac[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01 };
static const uint8_t server_mac[6] = { 0x02, 0x00, 0x5e, 0x20, 0x00, 0x02 };
static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* RFC 1071, written out the slow way: the complemented sum; 0 over a region that verifies. */
static uint16_t ref_csum(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i < n; i++) {
		sum += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return (uint16_t)~sum;
}

/* Recompute the IPv4 header checksum of the header at @p ip after a test changed it. */
static void fix_ip_csum(uint8_t *ip)
{
	size_t ihl = (size_t)(ip[0] & 15) * 4;

	lw_put16(ip + 10, 0);
	lw_put16(ip + 10, ref_csum(ip, ihl, 0));
}

static uint32_t pseudo(const uint8_t *ip, uint16_t ulen)
{
	return lw_get16(ip + 12) + lw_get16(ip + 14) + lw_get16(ip + 16) + lw_get16(ip + 18) + 17u + ulen;
}

/* True when the UDP checksum of the datagram at ip + 20 verifies. */
static bool udp_csum_ok(const uint8_t *ip)
{
	const uint8_t *u = ip + (ip[0] & 15) * 4;
	uint16_t ulen = lw_get16(u + 4);

	return ref_csum(u, ulen, pseudo(ip, ulen)) == 0;
}

static void fix_udp_csum(uint8_t *ip)
{
	uint8_t *u = ip + (ip[0] & 15) * 4;
	uint16_t ulen = lw_get16(u + 4);
	uint16_t c;

	lw_put16(u + 6, 0);
	c = ref_csum(u, ulen, pseudo(ip, ulen));
	lw_put16(u + 6, c ? c : 0xffff);
}

static void udp_dst_init(struct dp_udp_dst *d, unsigned nvlan)
{
	memset(d, 0, sizeof(*d));
	memcpy(d->dst_mac, bcast_mac, 6);
	memcpy(d->src_mac, client_mac, 6);
	d->nvlan = (uint8_t)nvlan;
	d->vlan_tpid[0] = nvlan == 2 ? 0x88a8 : 0x8100;
	d->vlan_tci[0] = nvlan == 2 ? 0x0005 : 0xa064;	/* PCP 5, VID 100 */
	d->vlan_tpid[1] = 0x8100;
	d->vlan_tci[1] = 0x0123;
	d->ip_src = 0;
	d->ip_dst = IP4(255, 255, 255, 255);
	d->sport = DP_DHCP_CLIENT_PORT;
	d->dport = DP_DHCP_SERVER_PORT;
}

/* A client's DHCP frame with a @p plen-byte payload; returns its length. */
static size_t make_dhcp(uint8_t *buf, size_t cap, unsigned nvlan, size_t plen)
{
	struct dp_udp_dst d;
	size_t hdr = dp_frame_udp_hdr_len(nvlan);

	udp_dst_init(&d, nvlan);
	for (size_t i = 0; i < plen; i++) {
		buf[hdr + i] = (uint8_t)(i * 13 + 1);
	}
	return dp_frame_build_udp(buf, cap, &d, plen);
}

static void test_csum(void **state)
{
	/* The example of RFC 1071 section 3. */
	static const uint8_t rfc[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint8_t buf[1001];

	(void)state;
	assert_int_equal(dp_csum_partial(rfc, 8, 0), 0xddf2);
	assert_int_equal(dp_csum_finish(0xddf2), 0x220d);
	/* Chained in even chunks, and with a starting sum. */
	assert_int_equal(dp_csum_partial(rfc + 4, 4, dp_csum_partial(rfc, 4, 0)), 0xddf2);
	assert_int_equal(dp_csum_finish(dp_csum_partial(rfc, 8, 0x12345)),
			 ref_csum(rfc, 8, 0x12345));
	/* Odd length: the last byte is the high half of a word. */
	assert_int_equal(dp_csum_partial(rfc, 3, 0), 0xf201);
	for (size_t i = 0; i < sizeof(buf); i++) {
		buf[i] = (uint8_t)(i * 31 + 7);
	}
	/* Every length up to 64 and some longer ones, at every alignment. */
	for (size_t n = 0; n + 3 <= sizeof(buf); n += n < 64 ? 1 : 37) {
		for (size_t a = 0; a < 4; a++) {
			assert_int_equal(dp_csum_finish(dp_csum_partial(buf + a, n, 0)),
					 ref_csum(buf + a, n, 0));
			assert_int_equal(dp_csum_finish(dp_csum_partial(buf + a, n, 0xfffe)),
					 ref_csum(buf + a, n, 0xfffe));
		}
	}
	/* An all-ones buffer folds to 0xffff and finishes to 0. */
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(dp_csum_partial(buf, 1000, 0), 0xffff);
	assert_int_equal(dp_csum_finish(0xffff), 0);
	assert_int_equal(dp_csum_finish(0x1fffe), 0);
}

/* dp_csum_partial2(): two pieces in one call, the same as the chained partial sums. */
static void test_csum_partial2(void **state)
{
	uint8_t buf[700];
	uint32_t x = 7;		/* a fixed xorshift sequence: the same bytes every run */

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)(x >> 24);
	}
	for (size_t alen = 0; alen <= 64; alen += 2) {
		for (size_t boff = 0; boff < 200; boff += 13) {
			for (size_t blen = 0; blen <= 300; blen += 7) {
				const uint8_t *b = buf + 100 + boff;

				assert_int_equal(dp_csum_partial2(buf, alen, b, blen, 0x1234),
						 dp_csum_partial(b, blen,
								 dp_csum_partial(buf, alen, 0x1234)));
			}
		}
	}
}

static void test_build_udp_roundtrip(void **state)
{
	uint8_t buf[600];
	struct dp_udp_dst d;
	struct dp_frame f;
	const uint8_t *ip = buf + 14, *u = buf + 34;
	size_t n;

	(void)state;
	memset(buf, 0xee, sizeof(buf));
	n = make_dhcp(buf, sizeof(buf), 0, 300);
	assert_int_equal(n, 14 + 20 + 8 + 300);
	assert_int_equal(dp_frame_udp_hdr_len(0), 42);
	assert_memory_equal(buf, bcast_mac, 6);
	assert_memory_equal(buf + 6, client_mac, 6);
	assert_int_equal(lw_get16(buf + 12), 0x0800);
	assert_memory_equal(ip, "\x45\x00\x01\x48\x00\x00\x40\x00\x40\x11", 10);
	assert_int_equal(lw_get32(ip + 12), 0);
	assert_int_equal(lw_get32(ip + 16), 0xffffffff);
	assert_int_equal(ref_csum(ip, 20, 0), 0);
	assert_int_equal(lw_get16(u), 68);
	assert_int_equal(lw_get16(u + 2), 67);
	assert_int_equal(lw_get16(u + 4), 308);
	assert_true(udp_csum_ok(ip));
	assert_int_equal(buf[n], 0xee);

	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FRAME_DHCP);
	assert_memory_equal(f.dst_mac, bcast_mac, 6);
	assert_memory_equal(f.src_mac, client_mac, 6);
	assert_int_equal(f.nvlan, 0);
	assert_int_equal(dp_frame_vlan(&f), 0);
	assert_int_equal(f.l3_off, 14);
	assert_int_equal(f.ip_src, 0);
	assert_int_equal(f.ip_dst, IP4(255, 255, 255, 255));
	assert_int_equal(f.ip_tos, 0);
	assert_int_equal(f.l4_off, 34);
	assert_int_equal(f.l4_len, 308);
	assert_int_equal(f.sport, 68);
	assert_int_equal(f.dport, 67);
	assert_int_equal(f.payload_off, 42);
	assert_int_equal(f.payload_len, 300);
	assert_int_equal(buf[f.payload_off + 5], (uint8_t)(5 * 13 + 1));

	/* Unicast with an explicit TTL; the reply direction. */
	udp_dst_init(&d, 0);
	d.ip_src = IP4(192, 0, 2, 1);
	d.ip_dst = IP4(198, 51, 100, 7);
	d.sport = 67;
	d.dport = 68;
	d.ttl = 128;
	n = dp_frame_build_udp(buf, sizeof(buf), &d, 301);	/* odd length */
	assert_int_equal(n, 343);
	assert_int_equal(ip[8], 128);
	assert_int_equal(ref_csum(ip, 20, 0), 0);
	assert_true(udp_csum_ok(ip));
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_UDP_PORT);
	/* Turned around it is for us, and the checksum still holds with the ports swapped. */
	lw_put16(buf + 34, 68);
	lw_put16(buf + 36, 67);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FRAME_DHCP);
	assert_int_equal(f.ip_src, IP4(192, 0, 2, 1));
	assert_int_equal(f.ip_dst, IP4(198, 51, 100, 7));
	assert_int_equal(f.payload_len, 301);
}

static void test_build_udp_zero_csum(void **state)
{
	uint8_t buf[400];
	struct dp_udp_dst d;
	struct dp_frame f;
	uint8_t *ip = buf + 14, *pl = buf + 42;
	uint32_t w;
	size_t n;

	(void)state;
	/* Adding the checksum into a payload word makes the sum come out 0: sent as 0xffff. */
	n = make_dhcp(buf, sizeof(buf), 0, 300);
	w = (uint32_t)lw_get16(pl) + lw_get16(ip + 26);
	lw_put16(pl, (uint16_t)((w & 0xffff) + (w >> 16)));
	udp_dst_init(&d, 0);
	assert_int_equal(dp_frame_build_udp(buf, sizeof(buf), &d, 300), n);
	assert_int_equal(lw_get16(ip + 26), 0xffff);
	assert_true(udp_csum_ok(ip));
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FRAME_DHCP);
}

/* dp_frame_build_udp_summed() with the payload's sum given, zero runs left out, writes the
 * bytes dp_frame_build_udp() writes: any tag count, TTL, odd and even lengths, addresses
 * whose words carry. */
static void test_build_udp_summed(void **state)
{
	static const size_t lens[] = { 0, 1, 2, 43, 300, 301, 548 };
	uint8_t a[700], b[700];
	struct dp_udp_dst d;

	(void)state;
	for (unsigned nvlan = 0; nvlan <= 2; nvlan++) {
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
			size_t hdr = dp_frame_udp_hdr_len(nvlan), plen = lens[k];
			size_t half = plen / 2 & ~1u, q = half / 2 & ~1u;
			uint8_t *pl = b + hdr;
			uint32_t sum;

			udp_dst_init(&d, nvlan);
			d.ip_src = IP4(255, 255, 255, 254);
			d.ip_dst = k & 1 ? IP4(198, 51, 100, 7) : IP4(255, 255, 255, 255);
			d.ttl = (uint8_t)(k * 40);
			memset(b, 0, sizeof(b));
			for (size_t i = 0; i < plen; i++) {
				/* the second quarter zero: left out of the sum below */
				pl[i] = i >= q && i < half ? 0 : (uint8_t)(i * 37 + k + 0xc1);
			}
			memcpy(a, b, sizeof(a));
			sum = dp_csum_partial(pl, q, 0);
			sum = dp_csum_partial(pl + half, plen - half, sum);
			assert_int_equal(dp_frame_build_udp_summed(b, sizeof(b), &d, plen, sum),
					 hdr + plen);
			assert_int_equal(dp_frame_build_udp(a, sizeof(a), &d, plen), hdr + plen);
			assert_memory_equal(a, b, hdr + plen);
			assert_int_equal(ref_csum(b + hdr - 28, 20, 0), 0);
			assert_true(udp_csum_ok(b + hdr - 28));
		}
	}
	udp_dst_init(&d, 0);
	assert_int_equal(dp_frame_build_udp_summed(b, 341, &d, 300, 0), 0);
	d.nvlan = 3;
	assert_int_equal(dp_frame_build_udp_summed(b, sizeof(b), &d, 0, 0), 0);
}

static void test_build_udp_limits(void **state)
{
	static uint8_t big[65535 + 64];
	struct dp_udp_dst d;
	struct dp_frame f;
	size_t n;

	(void)state;
	udp_dst_init(&d, 0);
	assert_int_equal(dp_frame_build_udp(big, 341, &d, 300), 0);
	assert_int_equal(dp_frame_build_udp(big, 342, &d, 300), 342);
	assert_int_equal(dp_frame_build_udp(big, 10, &d, 0), 0);
	assert_int_equal(dp_frame_build_udp(big, 42, &d, 0), 42);
	assert_int_equal(dp_frame_build_udp(big, 100, &d, (size_t)-1), 0);
	assert_int_equal(dp_frame_build_udp(big, sizeof(big), &d, 65536), 0);
	/* The largest IPv4 datagram, and one byte more. */
	assert_int_equal(dp_frame_build_udp(big, sizeof(big), &d, 65508), 0);
	n = dp_frame_build_udp(big, sizeof(big), &d, 65507);
	assert_int_equal(n, 14 + 65535);
	assert_int_equal(dp_frame_parse(big, n, &f), DP_FRAME_DHCP);
	assert_int_equal(f.payload_len, 65507);
	d.nvlan = 3;
	assert_int_equal(dp_frame_build_udp(big, sizeof(big), &d, 300), 0);
}

static void test_vlan(void **state)
{
	uint8_t buf[600];
	struct dp_udp_dst d;
	struct dp_frame f;
	size_t n;

	(void)state;
	n = make_dhcp(buf, sizeof(buf), 1, 300);
	assert_int_equal(n, 18 + 328);
	assert_memory_equal(buf + 12, "\x81\x00\xa0\x64\x08\x00", 6);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FRAME_DHCP);
	assert_int_equal(f.nvlan, 1);
	assert_int_equal(f.vlan_tpid[0], 0x8100);
	assert_int_equal(f.vlan_tci[0], 0xa064);
	assert_int_equal(dp_frame_vlan(&f), 100);
	assert_int_equal(f.l3_off, 18);
	assert_int_equal(f.payload_off, 46);
	assert_true(udp_csum_ok(buf + 18));

	/* QinQ: 802.1ad outer, 802.1Q inner; the VLAN is the inner one. */
	n = make_dhcp(buf, sizeof(buf), 2, 300);
	assert_int_equal(n, 22 + 328);
	assert_memory_equal(buf + 12, "\x88\xa8\x00\x05\x81\x00\x01\x23\x08\x00", 10);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FRAME_DHCP);
	assert_int_equal(f.nvlan, 2);
	assert_int_equal(f.vlan_tpid[0], 0x88a8);
	assert_int_equal(f.vlan_tpid[1], 0x8100);
	assert_int_equal(f.vlan_tci[0], 5);
	assert_int_equal(dp_frame_vlan(&f), 0x123);
	assert_int_equal(f.l3_off, 22);
	assert_int_equal(f.payload_off, 50);
	assert_int_equal(f.payload_len, 300);

	/* Two 802.1Q tags are fine too, and a TPID of 0 is written as 0x8100. */
	udp_dst_init(&d, 2);
	d.vlan_tpid[0] = 0;
	n = dp_frame_build_udp(buf, sizeof(buf), &d, 300);
	assert_memory_equal(buf + 12, "\x81\x00\x00\x05\x81\x00", 6);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FRAME_DHCP);
	assert_int_equal(f.nvlan, 2);

	/* A third tag is refused. */
	n = make_dhcp(buf + 4, sizeof(buf) - 4, 2, 300);
	memmove(buf, buf + 4, 12);
	memcpy(buf + 12, "\x81\x00\x00\x07", 4);
	assert_int_equal(dp_frame_parse(buf, n + 4, &f), DP_FE_ETHERTYPE);
}

static void test_ethertype(void **state)
{
	uint8_t buf[600];
	struct dp_frame f;
	size_t n;

	(void)state;
	n = make_dhcp(buf, sizeof(buf), 0, 300);
	lw_put16(buf + 12, 0x86dd);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_ETHERTYPE);
	n = make_dhcp(buf, sizeof(buf), 1, 300);
	lw_put16(buf + 16, 0x88cc);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_ETHERTYPE);
	assert_int_equal(dp_frame_parse(buf, 0, &f), DP_FE_TRUNCATED);
	assert_int_equal(dp_frame_parse(buf, 13, &f), DP_FE_TRUNCATED);
	/* A tag header cut short. */
	assert_int_equal(dp_frame_parse(buf, 15, &f), DP_FE_TRUNCATED);
	assert_int_equal(dp_frame_parse(buf, 17, &f), DP_FE_TRUNCATED);
}

/* Every proper prefix of a valid frame is refused as truncated; the frame itself is not. */
static void check_prefixes(const uint8_t *frame, size_t n, int kind)
{
	static uint8_t copy[2048];
	struct dp_frame f;

	assert_true(n <= sizeof(copy));
	for (size_t len = 0; len < n; len++) {
		/* A copy of exactly len bytes, so that ASan catches a read past it. */
		uint8_t *p = copy + sizeof(copy) - len;

		memcpy(p, frame, len);
		assert_int_equal(dp_frame_parse(p, len, &f), DP_FE_TRUNCATED);
	}
	assert_int_equal(dp_frame_parse(frame, n, &f), kind);
}

static void test_truncated(void **state)
{
	uint8_t buf[600];
	size_t n;

	(void)state;
	for (unsigned nvlan = 0; nvlan <= 2; nvlan++) {
		n = make_dhcp(buf, sizeof(buf), nvlan, 300);
		check_prefixes(buf, n, DP_FRAME_DHCP);
	}
}

/* The IPv4 header check agrees with the reference sum on headers of random contents, half
 * of them with a valid checksum, some with a random one, some with one bit of a valid header
 * flipped. */
static void test_ip_csum_random(void **state)
{
	uint8_t buf[600];
	uint8_t *ip = buf + 14;
	struct dp_frame f;
	uint32_t x = 12345;
	size_t n;

	(void)state;
	for (int k = 0; k < 4000; k++) {
		n = make_dhcp(buf, sizeof(buf), 0, 300);
		for (int i = 12; i < 20; i++) {		/* addresses: any carries */
			x = x * 1103515245u + 12345u;
			ip[i] = (uint8_t)(x >> 16);
		}
		x = x * 1103515245u + 12345u;
		ip[1] = (uint8_t)(x >> 8);		/* TOS */
		ip[8] = (uint8_t)(x >> 16);		/* TTL */
		lw_put16(ip + 4, (uint16_t)(x >> 3));	/* id */
		fix_ip_csum(ip);
		if (k & 1) {
			x = x * 1103515245u + 12345u;
			lw_put16(ip + 10, (uint16_t)(x >> 16));
		} else if (k & 2) {
			/* not version, IHL or length: checked before the sum */
			x = x * 1103515245u + 12345u;
			ip[4 + (x >> 16) % 16] ^= (uint8_t)(1u << ((x >> 8) & 7));
		}
		assert_int_equal(dp_frame_parse(buf, n, &f) == DP_FE_IP_CSUM,
				 ref_csum(ip, 20, 0) != 0);
	}
}

static void test_ip_errors(void **state)
{
	uint8_t buf[600];
	uint8_t *ip = buf + 14;
	struct dp_frame f;
	size_t n;

	(void)state;
	n = make_dhcp(buf, sizeof(buf), 0, 300);
	ip[10] ^= 1;
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_IP_CSUM);

	n = make_dhcp(buf, sizeof(buf), 0, 300);
	ip[0] = 0x65;
	fix_ip_csum(ip);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_IP_HDR);
	ip[0] = 0x44;
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_IP_HDR);
	ip[0] = 0x40;
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_IP_HDR);

	/* Total length shorter than the header, and longer than the frame. */
	n = make_dhcp(buf, sizeof(buf), 0, 300);
	lw_put16(ip + 2, 19);
	fix_ip_csum(ip);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_IP_HDR);
	lw_put16(ip + 2, 329);
	fix_ip_csum(ip);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_TRUNCATED);
	/* IHL larger than what is there. */
	n = make_dhcp(buf, sizeof(buf), 0, 300);
	ip[0] = 0x4f;
	assert_int_equal(dp_frame_parse(buf, 14 + 40, &f), DP_FE_TRUNCATED);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_IP_CSUM);
	fix_ip_csum(ip);
	/* Now UDP is read 40 bytes further on, inside the payload. */
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_UDP_LEN);
	assert_int_equal(f.l4_off, 14 + 60);

	/* Fragments: MF, an offset, both; DF alone is fine. */
	n = make_dhcp(buf, sizeof(buf), 0, 300);
	lw_put16(ip + 6, 0x2000);
	fix_ip_csum(ip);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_IP_FRAGMENT);
	lw_put16(ip + 6, 0x0001);
	fix_ip_csum(ip);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_IP_FRAGMENT);
	lw_put16(ip + 6, 0x5fff);
	fix_ip_csum(ip);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_IP_FRAGMENT);
	lw_put16(ip + 6, 0x0000);
	fix_ip_csum(ip);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FRAME_DHCP);
	/* The reserved flag is not a fragment. */
	lw_put16(ip + 6, 0x8000);
	fix_ip_csum(ip);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FRAME_DHCP);

	/* Not UDP or ICMP. */
	n = make_dhcp(buf, sizeof(buf), 0, 300);
	ip[9] = 6;
	fix_ip_csum(ip);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_IP_PROTO);

	/* TOS is reported. */
	n = make_dhcp(buf, sizeof(buf), 0, 300);
	ip[1] = 0x10;
	fix_ip_csum(ip);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FRAME_DHCP);
	assert_int_equal(f.ip_tos, 0x10);
}

/* A UDP datagram behind an IPv4 header with 4 bytes of options. */
static void test_ip_options(void **state)
{
	uint8_t buf[600];
	struct dp_frame f;
	uint8_t *ip;
	size_t n;

	(void)state;
	n = make_dhcp(buf, sizeof(buf), 0, 300);
	memmove(buf + 38, buf + 34, n - 34);
	ip = buf + 14;
	ip[0] = 0x46;
	lw_put16(ip + 2, 332);
	memcpy(ip + 20, "\x94\x04\x00\x00", 4);		/* router alert */
	fix_ip_csum(ip);
	assert_true(udp_csum_ok(ip));
	assert_int_equal(dp_frame_parse(buf, n + 4, &f), DP_FRAME_DHCP);
	assert_int_equal(f.l4_off, 38);
	assert_int_equal(f.payload_off, 46);
	assert_int_equal(f.payload_len, 300);
}

static void test_udp_errors(void **state)
{
	uint8_t buf[600];
	uint8_t *ip = buf + 14, *u = buf + 34;
	struct dp_udp_dst d;
	struct dp_frame f;
	size_t n;

	(void)state;
	/* Bad checksum, and the same with checksum 0 (not computed) is accepted. */
	n = make_dhcp(buf, sizeof(buf), 0, 300);
	buf[100] ^= 0x40;
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_UDP_CSUM);
	lw_put16(u + 6, 0);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FRAME_DHCP);
	/* A wrong pseudo-header (address) is caught too. */
	n = make_dhcp(buf, sizeof(buf), 0, 300);
	ip[15] = 1;
	fix_ip_csum(ip);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_UDP_CSUM);

	/* Not to port 67. */
	udp_dst_init(&d, 0);
	d.dport = 68;
	n = dp_frame_build_udp(buf, sizeof(buf), &d, 300);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_UDP_PORT);
	d.dport = 6767;
	n = dp_frame_build_udp(buf, sizeof(buf), &d, 300);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_UDP_PORT);

	/* UDP length below the header, or beyond the IP datagram. */
	n = make_dhcp(buf, sizeof(buf), 0, 300);
	lw_put16(u + 4, 7);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_UDP_LEN);
	lw_put16(u + 4, 309);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_UDP_LEN);
	lw_put16(u + 4, 0);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_UDP_LEN);
	/* Shorter than the IP payload: the rest is ignored (and not summed). */
	lw_put16(u + 4, 250);
	fix_udp_csum(ip);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FRAME_DHCP);
	assert_int_equal(f.payload_len, 242);
	assert_int_equal(f.l4_len, 250);
	/* Exactly a header: an empty payload. */
	lw_put16(u + 4, 8);
	fix_udp_csum(ip);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FRAME_DHCP);
	assert_int_equal(f.payload_len, 0);

	/* An IP datagram too short for the UDP header. */
	n = make_dhcp(buf, sizeof(buf), 0, 300);
	lw_put16(ip + 2, 24);
	fix_ip_csum(ip);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_TRUNCATED);
}

/* A short datagram in a frame padded to 60 bytes with junk. */
static void test_padding(void **state)
{
	uint8_t buf[60];
	struct dp_udp_dst d;
	struct dp_frame f;
	size_t n;

	(void)state;
	memset(buf, 0xa5, sizeof(buf));
	udp_dst_init(&d, 0);
	memcpy(buf + 42, "ping", 4);
	n = dp_frame_build_udp(buf, sizeof(buf), &d, 4);
	assert_int_equal(n, 46);
	assert_int_equal(dp_frame_parse(buf, sizeof(buf), &f), DP_FRAME_DHCP);
	assert_int_equal(f.payload_len, 4);
	assert_int_equal(f.l4_len, 12);
}

/* An ARP request for 192.0.2.1 from 192.0.2.77, padded to 60 bytes. */
static size_t make_arp(uint8_t *buf, unsigned nvlan)
{
	size_t off = 12;

	memset(buf, 0x5a, 64);
	memcpy(buf, bcast_mac, 6);
	memcpy(buf + 6, client_mac, 6);
	for (unsigned i = 0; i < nvlan; i++) {
		memcpy(buf + off, "\x81\x00\x00\x64", 4);
		off += 4;
	}
	memcpy(buf + off, "\x08\x06" "\x00\x01\x08\x00\x06\x04\x00\x01", 10);
	memcpy(buf + off + 10, client_mac, 6);
	memcpy(buf + off + 16, "\xc0\x00\x02\x4d", 4);
	memset(buf + off + 20, 0, 6);
	memcpy(buf + off + 26, "\xc0\x00\x02\x01", 4);
	return 60 + 4 * nvlan;
}

static void test_arp(void **state)
{
	static const uint8_t reply[42] = {
		0x02, 0x00, 0x5e, 0x10, 0x00, 0x01,	/* to the requester */
		0x02, 0x00, 0x5e, 0x20, 0x00, 0x02,	/* from us */
		0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04,
		0x00, 0x02,				/* reply */
		0x02, 0x00, 0x5e, 0x20, 0x00, 0x02,	/* sha: us */
		0xc0, 0x00, 0x02, 0x01,			/* spa: the address asked for */
		0x02, 0x00, 0x5e, 0x10, 0x00, 0x01,	/* tha: the requester */
		0xc0, 0x00, 0x02, 0x4d,			/* tpa */
	};
	uint8_t buf[64];
	struct dp_frame f;
	size_t n;

	(void)state;
	n = make_arp(buf, 0);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FRAME_ARP);
	assert_memory_equal(f.arp_sha, client_mac, 6);
	assert_int_equal(f.arp_spa, IP4(192, 0, 2, 77));
	assert_int_equal(f.arp_tpa, IP4(192, 0, 2, 1));
	assert_int_equal(f.l3_off, 14);
	check_prefixes(buf, 42, DP_FRAME_ARP);

	assert_int_equal(dp_frame_arp_reply(buf, &f, server_mac, IP4(192, 0, 2, 1)), 42);
	assert_memory_equal(buf, reply, sizeof(reply));
	/* The reply is not a request: parsing it again refuses it. */
	assert_int_equal(dp_frame_parse(buf, 42, &f), DP_FE_ARP);

	/* Tagged: the tag stays. */
	n = make_arp(buf, 1);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FRAME_ARP);
	assert_int_equal(dp_frame_vlan(&f), 100);
	assert_int_equal(dp_frame_arp_reply(buf, &f, server_mac, IP4(192, 0, 2, 1)), 46);
	assert_memory_equal(buf, reply, 12);
	assert_memory_equal(buf + 12, "\x81\x00\x00\x64", 4);
	assert_memory_equal(buf + 16, reply + 12, 30);

	/* Not Ethernet/IPv4, or not a request. */
	n = make_arp(buf, 0);
	buf[15] = 6;
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_ARP);
	n = make_arp(buf, 0);
	buf[16] = 0x86;
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_ARP);
	n = make_arp(buf, 0);
	buf[18] = 8;
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_ARP);
	n = make_arp(buf, 0);
	buf[19] = 16;
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_ARP);
	n = make_arp(buf, 0);
	buf[21] = 3;
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_ARP);
}

/*
 * An ICMP echo request from 192.0.2.77 to 192.0.2.1 with @p dlen data bytes and @p ihl
 * header words, in a frame padded with junk to at least 60 bytes. Returns the frame length.
 */
static size_t make_echo(uint8_t *buf, size_t cap, size_t dlen, unsigned ihl)
{
	uint8_t *ip = buf + 14, *icmp;
	size_t tot = ihl * 4 + 8 + dlen;
	size_t n = 14 + tot < 60 ? 60 : 14 + tot;

	assert_true(n <= cap);
	memset(buf, 0xc3, cap);
	memcpy(buf, server_mac, 6);
	memcpy(buf + 6, client_mac, 6);
	lw_put16(buf + 12, 0x0800);
	memset(ip, 0, ihl * 4);
	ip[0] = (uint8_t)(0x40 | ihl);
	lw_put16(ip + 2, (uint16_t)tot);
	lw_put16(ip + 4, 0x1234);
	ip[8] = 57;
	ip[9] = 1;
	lw_put32(ip + 12, IP4(192, 0, 2, 77));
	lw_put32(ip + 16, IP4(192, 0, 2, 1));
	if (ihl > 5) {
		ip[20] = 1;				/* NOP options */
	}
	fix_ip_csum(ip);
	icmp = ip + ihl * 4;
	memcpy(icmp, "\x08\x00\x00\x00\xbe\xef\x00\x01", 8);
	for (size_t i = 0; i < dlen; i++) {
		icmp[8 + i] = (uint8_t)(i + 0x20);
	}
	lw_put16(icmp + 2, ref_csum(icmp, 8 + dlen, 0));
	return n;
}

static void check_echo_reply(uint8_t *buf, size_t n, size_t dlen, unsigned ihl)
{
	static uint8_t req[256];
	struct dp_frame f;
	const uint8_t *ip = buf + 14, *icmp = buf + 14 + ihl * 4;
	size_t len;

	memcpy(req, buf, n);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FRAME_ICMP_ECHO);
	assert_int_equal(f.l4_off, 14 + ihl * 4);
	assert_int_equal(f.l4_len, 8 + dlen);
	len = dp_frame_icmp_echo_reply(buf, &f, server_mac);
	assert_int_equal(len, 14 + ihl * 4 + 8 + dlen);
	assert_memory_equal(buf, client_mac, 6);
	assert_memory_equal(buf + 6, server_mac, 6);
	assert_int_equal(lw_get16(buf + 12), 0x0800);
	assert_int_equal(ref_csum(ip, ihl * 4, 0), 0);
	assert_memory_equal(ip, req + 14, 8);			/* ver, tos, len, id, frag */
	assert_int_equal(ip[8], 64);
	assert_int_equal(ip[9], 1);
	assert_int_equal(lw_get32(ip + 12), IP4(192, 0, 2, 1));
	assert_int_equal(lw_get32(ip + 16), IP4(192, 0, 2, 77));
	assert_memory_equal(ip + 20, req + 34, ihl * 4 - 20);	/* options kept */
	assert_int_equal(icmp[0], 0);
	assert_int_equal(icmp[1], 0);
	assert_int_equal(ref_csum(icmp, 8 + dlen, 0), 0);
	assert_memory_equal(icmp + 4, req + 14 + ihl * 4 + 4, 4 + dlen);	/* id, seq, data */
	/* The padding after the datagram was not touched. */
	assert_memory_equal(buf + len, req + len, n - len);
}

static void test_icmp(void **state)
{
	uint8_t buf[256];
	struct dp_frame f;
	size_t n;

	(void)state;
	/* Short (padded) and long, even and odd data, with and without IP options. */
	n = make_echo(buf, sizeof(buf), 0, 5);
	assert_int_equal(n, 60);
	check_echo_reply(buf, n, 0, 5);
	n = make_echo(buf, sizeof(buf), 5, 5);
	check_echo_reply(buf, n, 5, 5);
	n = make_echo(buf, sizeof(buf), 56, 5);
	check_echo_reply(buf, n, 56, 5);
	n = make_echo(buf, sizeof(buf), 33, 6);
	check_echo_reply(buf, n, 33, 6);
	n = make_echo(buf, sizeof(buf), 56, 5);
	check_prefixes(buf, 14 + 20 + 64, DP_FRAME_ICMP_ECHO);

	/* Malformed: bad checksum (also of another type), an echo request with a code, too
	 * short. */
	n = make_echo(buf, sizeof(buf), 10, 5);
	buf[14 + 20 + 9] ^= 1;
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_ICMP);
	n = make_echo(buf, sizeof(buf), 10, 5);
	buf[34] = 0;
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_ICMP);
	/* Well-formed but not an echo request (an echo reply, a port unreachable): not
	 * malformed, only nothing to answer (issue 11). */
	n = make_echo(buf, sizeof(buf), 10, 5);
	buf[34] = 0;
	lw_put16(buf + 36, 0);
	lw_put16(buf + 36, ref_csum(buf + 34, 18, 0));
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_ICMP_OTHER);
	n = make_echo(buf, sizeof(buf), 10, 5);
	buf[34] = 3;
	buf[35] = 3;
	lw_put16(buf + 36, 0);
	lw_put16(buf + 36, ref_csum(buf + 34, 18, 0));
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_ICMP_OTHER);
	n = make_echo(buf, sizeof(buf), 10, 5);
	buf[35] = 1;
	lw_put16(buf + 36, 0);
	lw_put16(buf + 36, ref_csum(buf + 34, 18, 0));
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_ICMP);
	n = make_echo(buf, sizeof(buf), 0, 5);
	lw_put16(buf + 16, 20 + 7);
	fix_ip_csum(buf + 14);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FE_ICMP);
}

/* dp_frame_parse_rx(): a checksum the port verified is not summed again, and only that one. */
static void test_parse_rx_verified(void **state)
{
	const unsigned both = DP_RX_IP_CSUM_GOOD | DP_RX_UDP_CSUM_GOOD;
	uint8_t buf[600];
	struct dp_frame f, g;
	size_t n;

	(void)state;
	/* Wrong UDP checksum: only DP_RX_UDP_CSUM_GOOD lets it through, parsed as without. */
	n = make_dhcp(buf, sizeof(buf), 1, 300);
	assert_int_equal(dp_frame_parse(buf, n, &g), DP_FRAME_DHCP);
	buf[100] ^= 0x40;
	assert_int_equal(dp_frame_parse_rx(buf, n, 0, &f), DP_FE_UDP_CSUM);
	assert_int_equal(dp_frame_parse_rx(buf, n, DP_RX_IP_CSUM_GOOD, &f), DP_FE_UDP_CSUM);
	assert_int_equal(dp_frame_parse_rx(buf, n, DP_RX_UDP_CSUM_GOOD, &f), DP_FRAME_DHCP);
	assert_memory_equal(&f, &g, sizeof(f));
	/* Wrong IPv4 header checksum: only DP_RX_IP_CSUM_GOOD. */
	n = make_dhcp(buf, sizeof(buf), 0, 300);
	buf[14 + 10] ^= 0x01;
	assert_int_equal(dp_frame_parse_rx(buf, n, 0, &f), DP_FE_IP_CSUM);
	assert_int_equal(dp_frame_parse_rx(buf, n, DP_RX_UDP_CSUM_GOOD, &f), DP_FE_IP_CSUM);
	assert_int_equal(dp_frame_parse_rx(buf, n, DP_RX_IP_CSUM_GOOD, &f), DP_FRAME_DHCP);
	/* Every other check stays: the UDP length, the port. */
	n = make_dhcp(buf, sizeof(buf), 0, 300);
	lw_put16(buf + 34 + 4, 4);
	assert_int_equal(dp_frame_parse_rx(buf, n, both, &f), DP_FE_UDP_LEN);
	n = make_dhcp(buf, sizeof(buf), 0, 300);
	lw_put16(buf + 34 + 2, 68);
	assert_int_equal(dp_frame_parse_rx(buf, n, both, &f), DP_FE_UDP_PORT);
	/* An ICMP message's checksum is summed whatever the port says of UDP. */
	n = make_echo(buf, sizeof(buf), 10, 5);
	buf[14 + 20 + 9] ^= 1;
	assert_int_equal(dp_frame_parse_rx(buf, n, both, &f), DP_FE_ICMP);
	assert_int_equal(dp_frame_parse_rx(buf, n, DP_RX_UDP_CSUM_NONE, &f), DP_FE_ICMP);
}

/*
 * A virtual peer's partial checksum (RTE_MBUF_F_RX_L4_CKSUM_NONE): the UDP field holds the
 * pseudo-header's sum only. With DP_RX_UDP_CSUM_NONE it parses as the whole frame did; without
 * it, it is a bad UDP checksum, as before. The IPv4 header is still summed.
 */
static void test_parse_rx_partial(void **state)
{
	uint8_t buf[600];
	struct dp_frame f, g;
	size_t n;

	(void)state;
	for (unsigned nvlan = 0; nvlan <= DP_MAX_VLAN; nvlan++) {
		n = make_dhcp(buf, sizeof(buf), nvlan, 300);
		assert_int_equal(dp_frame_parse(buf, n, &g), DP_FRAME_DHCP);
		dp_frame_udp_csum_offload(buf, 14 + 4 * nvlan, DP_TX_CSUM_UDP);
		assert_int_equal(dp_frame_parse_rx(buf, n, 0, &f), DP_FE_UDP_CSUM);
		assert_int_equal(dp_frame_parse_rx(buf, n, DP_RX_IP_CSUM_GOOD, &f),
				 DP_FE_UDP_CSUM);
		assert_int_equal(dp_frame_parse_rx(buf, n, DP_RX_UDP_CSUM_NONE, &f),
				 DP_FRAME_DHCP);
		assert_memory_equal(&f, &g, sizeof(f));
		buf[14 + 4 * nvlan + 10] ^= 0x01;
		assert_int_equal(dp_frame_parse_rx(buf, n, DP_RX_UDP_CSUM_NONE, &f),
				 DP_FE_IP_CSUM);
	}
}

/*
 * dp_frame_udp_csum_offload(): the UDP field becomes the pseudo-header's sum, folded and not
 * complemented (rte_ipv4_phdr_cksum()), so that a port that adds the datagram to it and
 * complements (what a NIC or virtio does with RTE_MBUF_F_TX_UDP_CKSUM) writes the checksum
 * the software build wrote; with DP_TX_CSUM_IP the IPv4 header checksum is 0. Untagged,
 * 802.1Q and QinQ, odd and even lengths; nothing else of the frame changes.
 */
static void test_udp_csum_offload(void **state)
{
	static const size_t plens[] = { 300, 301, 548 };
	uint8_t a[700], b[700];

	(void)state;
	for (unsigned nvlan = 0; nvlan <= DP_MAX_VLAN; nvlan++) {
		for (size_t k = 0; k < sizeof(plens) / sizeof(plens[0]); k++) {
			size_t n = make_dhcp(a, sizeof(a), nvlan, plens[k]), l3 = 14 + 4 * nvlan;
			uint8_t *ip = b + l3, *u = ip + 20;
			uint16_t ulen = lw_get16(a + l3 + 24), want = lw_get16(a + l3 + 26), c;
			uint32_t seed;

			assert_true(n > 0);
			memcpy(b, a, n);
			dp_frame_udp_csum_offload(b, l3, DP_TX_CSUM_UDP);
			seed = pseudo(ip, ulen);
			seed = (seed & 0xffff) + (seed >> 16);
			seed = (seed & 0xffff) + (seed >> 16);
			assert_int_equal(lw_get16(u + 6), seed);
			assert_memory_equal(a, b, l3 + 26);
			assert_memory_equal(a + l3 + 28, b + l3 + 28, n - l3 - 28);
			/* The port: the datagram summed over the seed, complemented. */
			c = ref_csum(u, ulen, 0);
			assert_int_equal(c ? c : 0xffff, want);

			memcpy(b, a, n);
			dp_frame_udp_csum_offload(b, l3, DP_TX_CSUM_UDP | DP_TX_CSUM_IP);
			assert_int_equal(lw_get16(ip + 10), 0);
			assert_int_equal(lw_get16(u + 6), seed);
			lw_put16(ip + 10, ref_csum(ip, 20, 0));
			assert_memory_equal(a, b, l3 + 26);

			memcpy(b, a, n);
			dp_frame_udp_csum_offload(b, l3, DP_TX_CSUM_IP);
			assert_int_equal(lw_get16(ip + 10), 0);
			assert_memory_equal(a + l3 + 12, b + l3 + 12, n - l3 - 12);
			memcpy(b, a, n);
			dp_frame_udp_csum_offload(b, l3, 0);
			assert_memory_equal(a, b, n);

			/* A build told to leave them to the port (dp_udp_dst.tx_csum) writes
			 * the same bytes, the payload's sum not needed for UDP. */
			for (unsigned tx = 1; tx <= (DP_TX_CSUM_UDP | DP_TX_CSUM_IP); tx++) {
				struct dp_udp_dst d;
				uint8_t c2[700];
				size_t hdr = dp_frame_udp_hdr_len(nvlan);
				uint32_t ps;

				memcpy(b, a, n);
				dp_frame_udp_csum_offload(b, l3, tx);
				udp_dst_init(&d, nvlan);
				d.tx_csum = (uint8_t)tx;
				memcpy(c2, a, n);
				memset(c2, 0x5a, hdr);
				ps = tx & DP_TX_CSUM_UDP ? 0 :
				     dp_csum_partial(c2 + hdr, plens[k], 0);
				assert_int_equal(dp_frame_build_udp_summed(c2, sizeof(c2), &d,
									   plens[k], ps), n);
				assert_memory_equal(c2, b, n);
				memset(c2, 0x5a, hdr);
				assert_int_equal(dp_frame_build_udp(c2, sizeof(c2), &d, plens[k]),
						 n);
				assert_memory_equal(c2, b, n);
			}
		}
	}
}

static void test_err_str(void **state)
{
	(void)state;
	assert_string_equal(dp_frame_err_str(DP_FE_TRUNCATED), "truncated");
	assert_string_equal(dp_frame_err_str(DP_FE_ETHERTYPE), "bad_ethertype");
	assert_string_equal(dp_frame_err_str(DP_FE_IP_HDR), "bad_ip_hdr");
	assert_string_equal(dp_frame_err_str(DP_FE_IP_CSUM), "bad_ip_csum");
	assert_string_equal(dp_frame_err_str(DP_FE_IP_FRAGMENT), "ip_fragment");
	assert_string_equal(dp_frame_err_str(DP_FE_IP_PROTO), "bad_ip_proto");
	assert_string_equal(dp_frame_err_str(DP_FE_UDP_LEN), "bad_udp_len");
	assert_string_equal(dp_frame_err_str(DP_FE_UDP_CSUM), "bad_udp_csum");
	assert_string_equal(dp_frame_err_str(DP_FE_UDP_PORT), "bad_udp_port");
	assert_string_equal(dp_frame_err_str(DP_FE_ARP), "bad_arp");
	assert_string_equal(dp_frame_err_str(DP_FE_ICMP), "bad_icmp");
	assert_string_equal(dp_frame_err_str(DP_FE_ICMP_OTHER), "icmp_other");
	assert_string_equal(dp_frame_err_str(0), "unknown");
	assert_string_equal(dp_frame_err_str(-99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum),
		cmocka_unit_test(test_csum_partial2),
		cmocka_unit_test(test_build_udp_roundtrip),
		cmocka_unit_test(test_build_udp_zero_csum),
		cmocka_unit_test(test_build_udp_limits),
		cmocka_unit_test(test_build_udp_summed),
		cmocka_unit_test(test_ip_csum_random),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_ethertype),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_ip_errors),
		cmocka_unit_test(test_ip_options),
		cmocka_unit_test(test_udp_errors),
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_parse_rx_verified),
		cmocka_unit_test(test_parse_rx_partial),
		cmocka_unit_test(test_udp_csum_offload),
		cmocka_unit_test(test_err_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
