/*
 * frame: Ethernet/VLAN/IPv4/UDP/ARP/ICMP parse and build.
 *
 * All multi-byte fields are read and written a byte at a time: mbuf data need not be aligned
 * and the frame may start at any offset. Bounds come from the IPv4 total length, not from the
 * frame length, because Ethernet pads short frames to 60 bytes and the padding is not part of
 * the datagram.
 */
#include <string.h>

#include "byteorder.h"
#include "frame.h"

enum {
	ETHERTYPE_IPV4 = 0x0800,
	ETHERTYPE_ARP = 0x0806,
	ETHERTYPE_VLAN = 0x8100,
	ETHERTYPE_QINQ = 0x88a8,
};

enum { PROTO_ICMP = 1, PROTO_UDP = 17 };
enum { ICMP_ECHO_REPLY = 0, ICMP_ECHO_REQUEST = 8 };

#define ARP_LEN			28
#define ICMP_HDR_LEN		8
#define IP_FLAG_DF		0x4000
#define IP_FLAG_MF		0x2000
#define IP_FRAG_OFF_MASK	0x1fff
#define DEFAULT_TTL		64


/*
 * Add @p len bytes at @p p to the native-order accumulator @p acc, unfolded.
 *
 * The one's complement sum does not depend on byte order (RFC 1071 2.B): add native 32-bit
 * words (a 32-bit word is two 16-bit ones modulo 0xffff) and swap once at the end. The 64-bit
 * accumulator cannot overflow for any buffer we could be handed. Chunks added one after the
 * other must each start at an even offset of the data summed; all but the last must have an
 * even length.
 */
static inline uint64_t csum_add(const uint8_t *p, size_t len, uint64_t acc)
{
	uint32_t w32;
	uint16_t w16;

	/* 16 bytes a round into two accumulators: independent adds the CPU can overlap (the
	 * checksum of every request and reply goes through here). */
	{
		uint64_t acc2 = 0, a, b;

		for (; len >= 16; p += 16, len -= 16) {
			memcpy(&a, p, sizeof(a));
			memcpy(&b, p + 8, sizeof(b));
			acc += (a & 0xffffffffu) + (a >> 32);
			acc2 += (b & 0xffffffffu) + (b >> 32);
		}
		acc += acc2;
	}
	/* The tail: at most one 8-byte word, then 4-byte ones (the 44-byte start of a reply
	 * leaves 12 bytes here). */
	if (len >= 8) {
		uint64_t a;

		memcpy(&a, p, sizeof(a));
		acc += (a & 0xffffffffu) + (a >> 32);
		p += 8;
		len -= 8;
	}
	for (; len >= 4; p += 4, len -= 4) {
		memcpy(&w32, p, sizeof(w32));
		acc += w32;
	}
	if (len >= 2) {
		memcpy(&w16, p, sizeof(w16));
		acc += w16;
		p += 2;
		len -= 2;
	}
	if (len) {
		/* A last odd byte is the high half of a zero-padded word. */
		const uint8_t last[2] = { p[0], 0 };

		memcpy(&w16, last, sizeof(w16));
		acc += w16;
	}
	return acc;
}

/* Fold the native accumulator @p acc, swap it to host order and add @p sum. */
static inline uint32_t csum_fold(uint64_t acc, uint32_t sum)
{
	while (acc >> 16) {
		acc = (acc & 0xffff) + (acc >> 16);
	}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	acc = (uint16_t)(acc << 8 | acc >> 8);
#endif
	acc += sum;
	while (acc >> 16) {
		acc = (acc & 0xffff) + (acc >> 16);
	}
	return (uint32_t)acc;
}

uint32_t dp_csum_partial(const void *data, size_t len, uint32_t sum)
{
	return csum_fold(csum_add(data, len, 0), sum);
}

uint32_t dp_csum_partial2(const void *a, size_t alen, const void *b, size_t blen, uint32_t sum)
{
	return csum_fold(csum_add(b, blen, csum_add(a, alen, 0)), sum);
}

uint16_t dp_csum_finish(uint32_t sum)
{
	while (sum >> 16) {
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return (uint16_t)~sum;
}

/* Sum of the IPv4 pseudo-header of a UDP datagram (RFC 768). */
static uint32_t pseudo_sum(uint32_t src, uint32_t dst, uint16_t udp_len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + PROTO_UDP +
	       udp_len;
}

/*
 * Does an IPv4 header of @p ihl bytes verify? A header without options (every DHCP request
 * we see) is summed inline as five native 32-bit words: the folded sum is 0xffff in either
 * byte order, so no swap is needed for the test.
 */
static inline bool ipv4_csum_ok(const uint8_t *ip, size_t ihl)
{
	uint64_t acc = 0;
	uint32_t w;

	if (ihl != DP_IPV4_HDR_LEN) {
		return dp_csum_finish(dp_csum_partial(ip, ihl, 0)) == 0;
	}
	for (unsigned i = 0; i < DP_IPV4_HDR_LEN; i += 4) {
		memcpy(&w, ip + i, sizeof(w));
		acc += w;
	}
	acc = (acc >> 32) + (acc & 0xffffffffu);
	while (acc >> 16) {
		acc = (acc & 0xffff) + (acc >> 16);
	}
	return acc == 0xffff;
}

static int udp_parse(const uint8_t *buf, struct dp_frame *f, unsigned verified)
{
	const uint8_t *u = buf + f->l4_off;
	uint16_t ulen, csum;

	if (f->l4_len < DP_UDP_HDR_LEN) {
		return DP_FE_TRUNCATED;
	}
	ulen = lw_get16(u + 4);
	/* Like Linux, accept a UDP length shorter than the IP payload and ignore the rest. */
	if (ulen < DP_UDP_HDR_LEN || ulen > f->l4_len) {
		return DP_FE_UDP_LEN;
	}
	f->sport = lw_get16(u);
	f->dport = lw_get16(u + 2);
	/* Before the checksum: most UDP we see is not for us and not worth summing. */
	if (f->dport != DP_DHCP_SERVER_PORT) {
		return DP_FE_UDP_PORT;
	}
	csum = lw_get16(u + 6);
	/* NONE: the port vouches for the data, and the field holds only the pseudo-header's
	 * part of the sum (a virtual peer's partial checksum), so summing it would fail. */
	if (csum != 0 && !(verified & (DP_RX_UDP_CSUM_GOOD | DP_RX_UDP_CSUM_NONE)) &&
	    dp_csum_finish(dp_csum_partial(u, ulen, pseudo_sum(f->ip_src, f->ip_dst, ulen))) != 0) {
		return DP_FE_UDP_CSUM;
	}
	f->l4_len = ulen;
	f->payload_off = (uint16_t)(f->l4_off + DP_UDP_HDR_LEN);
	f->payload_len = (uint16_t)(ulen - DP_UDP_HDR_LEN);
	return DP_FRAME_DHCP;
}

static int icmp_parse(const uint8_t *buf, const struct dp_frame *f)
{
	const uint8_t *icmp = buf + f->l4_off;

	if (f->l4_len < ICMP_HDR_LEN ||
	    dp_csum_finish(dp_csum_partial(icmp, f->l4_len, 0)) != 0) {
		return DP_FE_ICMP;
	}
	if (icmp[0] != ICMP_ECHO_REQUEST) {
		return DP_FE_ICMP_OTHER;	/* valid, nothing to answer */
	}
	return icmp[1] == 0 ? DP_FRAME_ICMP_ECHO : DP_FE_ICMP;
}

static int ipv4_parse(const uint8_t *buf, size_t len, struct dp_frame *f, unsigned verified)
{
	const uint8_t *ip = buf + f->l3_off;
	size_t avail = len - f->l3_off;
	size_t ihl;
	uint16_t tot, frag;

	if (avail < DP_IPV4_HDR_LEN) {
		return DP_FE_TRUNCATED;
	}
	ihl = (size_t)(ip[0] & 0x0f) * 4;
	if ((ip[0] >> 4) != 4 || ihl < DP_IPV4_HDR_LEN) {
		return DP_FE_IP_HDR;
	}
	tot = lw_get16(ip + 2);
	if (tot < ihl) {
		return DP_FE_IP_HDR;
	}
	if (tot > avail) {
		return DP_FE_TRUNCATED;
	}
	if (!(verified & DP_RX_IP_CSUM_GOOD) && !ipv4_csum_ok(ip, ihl)) {
		return DP_FE_IP_CSUM;
	}
	frag = lw_get16(ip + 6);
	if (frag & (IP_FLAG_MF | IP_FRAG_OFF_MASK)) {
		return DP_FE_IP_FRAGMENT;
	}
	f->ip_tos = ip[1];
	f->ip_src = lw_get32(ip + 12);
	f->ip_dst = lw_get32(ip + 16);
	f->l4_off = (uint16_t)(f->l3_off + ihl);
	f->l4_len = (uint16_t)(tot - ihl);

	switch (ip[9]) {
	case PROTO_UDP:
		return udp_parse(buf, f, verified);
	case PROTO_ICMP:
		return icmp_parse(buf, f);
	default:
		return DP_FE_IP_PROTO;
	}
}

static int arp_parse(const uint8_t *buf, size_t len, struct dp_frame *f)
{
	const uint8_t *a = buf + f->l3_off;

	if (len - f->l3_off < ARP_LEN) {
		return DP_FE_TRUNCATED;
	}
	/* htype Ethernet, ptype IPv4, hlen 6, plen 4, op request. */
	if (lw_get16(a) != 1 || lw_get16(a + 2) != ETHERTYPE_IPV4 || a[4] != DP_ETHER_ADDR_LEN ||
	    a[5] != 4 || lw_get16(a + 6) != 1) {
		return DP_FE_ARP;
	}
	memcpy(f->arp_sha, a + 8, DP_ETHER_ADDR_LEN);
	f->arp_spa = lw_get32(a + 14);
	f->arp_tpa = lw_get32(a + 24);
	return DP_FRAME_ARP;
}

int dp_frame_parse_rx(const uint8_t *buf, size_t len, unsigned verified, struct dp_frame *f)
{
	size_t off = DP_ETHER_HDR_LEN;
	uint16_t type;

	memset(f, 0, sizeof(*f));
	if (len < DP_ETHER_HDR_LEN) {
		return DP_FE_TRUNCATED;
	}
	memcpy(f->dst_mac, buf, DP_ETHER_ADDR_LEN);
	memcpy(f->src_mac, buf + DP_ETHER_ADDR_LEN, DP_ETHER_ADDR_LEN);
	type = lw_get16(buf + 12);
	while (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ) {
		if (f->nvlan == DP_MAX_VLAN) {
			return DP_FE_ETHERTYPE;
		}
		if (len - off < DP_VLAN_HDR_LEN) {
			return DP_FE_TRUNCATED;
		}
		f->vlan_tpid[f->nvlan] = type;
		f->vlan_tci[f->nvlan] = lw_get16(buf + off);
		f->nvlan++;
		type = lw_get16(buf + off + 2);
		off += DP_VLAN_HDR_LEN;
	}
	f->l3_off = (uint16_t)off;

	switch (type) {
	case ETHERTYPE_IPV4:
		return ipv4_parse(buf, len, f, verified);
	case ETHERTYPE_ARP:
		return arp_parse(buf, len, f);
	default:
		return DP_FE_ETHERTYPE;
	}
}

const char *dp_frame_err_str(int err)
{
	switch (err) {
	case DP_FE_TRUNCATED:
		return "truncated";
	case DP_FE_ETHERTYPE:
		return "bad_ethertype";
	case DP_FE_IP_HDR:
		return "bad_ip_hdr";
	case DP_FE_IP_CSUM:
		return "bad_ip_csum";
	case DP_FE_IP_FRAGMENT:
		return "ip_fragment";
	case DP_FE_IP_PROTO:
		return "bad_ip_proto";
	case DP_FE_UDP_LEN:
		return "bad_udp_len";
	case DP_FE_UDP_CSUM:
		return "bad_udp_csum";
	case DP_FE_UDP_PORT:
		return "bad_udp_port";
	case DP_FE_ARP:
		return "bad_arp";
	case DP_FE_ICMP:
		return "bad_icmp";
	case DP_FE_ICMP_OTHER:
		return "icmp_other";
	default:
		return "unknown";
	}
}

/* Write the Ethernet header and tags; returns where the L3 header starts. */
static size_t eth_build(uint8_t *buf, const uint8_t *dst, const uint8_t *src, unsigned nvlan,
			const uint16_t *tpid, const uint16_t *tci, uint16_t type)
{
	size_t off = 2 * DP_ETHER_ADDR_LEN;
	unsigned i;

	/* The addresses come from the caller's struct dp_udp_dst, never from @p buf. */
	memcpy(buf, dst, DP_ETHER_ADDR_LEN);
	memcpy(buf + DP_ETHER_ADDR_LEN, src, DP_ETHER_ADDR_LEN);
	for (i = 0; i < nvlan; i++) {
		lw_put16(buf + off, tpid[i] ? tpid[i] : ETHERTYPE_VLAN);
		lw_put16(buf + off + 2, tci[i]);
		off += DP_VLAN_HDR_LEN;
	}
	lw_put16(buf + off, type);
	return off + 2;
}

/* Recompute the checksum of an IPv4 header in place. */
static void ipv4_csum_set(uint8_t *ip, size_t ihl)
{
	lw_put16(ip + 10, 0);
	lw_put16(ip + 10, dp_csum_finish(dp_csum_partial(ip, ihl, 0)));
}

size_t dp_frame_build_udp(uint8_t *buf, size_t cap, const struct dp_udp_dst *d,
			  size_t payload_len)
{
	size_t hdr = dp_frame_udp_hdr_len(d->nvlan);

	if (d->nvlan > DP_MAX_VLAN || payload_len > 0xffff - DP_IPV4_HDR_LEN - DP_UDP_HDR_LEN ||
	    hdr + payload_len > cap) {
		return 0;
	}
	return dp_frame_build_udp_summed(buf, cap, d, payload_len,
					 dp_csum_partial(buf + hdr, payload_len, 0));
}

size_t dp_frame_build_udp_summed(uint8_t *buf, size_t cap, const struct dp_udp_dst *d,
				 size_t payload_len, uint32_t payload_sum)
{
	size_t hdr, l3;
	uint16_t udp_len, tot_len, csum;
	uint8_t ttl = d->ttl ? d->ttl : DEFAULT_TTL;
	uint8_t *ip, *u;
	uint32_t sum;

	if (d->nvlan > DP_MAX_VLAN || payload_len > 0xffff - DP_IPV4_HDR_LEN - DP_UDP_HDR_LEN) {
		return 0;
	}
	hdr = dp_frame_udp_hdr_len(d->nvlan);
	if (hdr + payload_len > cap) {
		return 0;
	}
	udp_len = (uint16_t)(DP_UDP_HDR_LEN + payload_len);
	tot_len = (uint16_t)(DP_IPV4_HDR_LEN + udp_len);
	l3 = eth_build(buf, d->dst_mac, d->src_mac, d->nvlan, d->vlan_tpid, d->vlan_tci,
		       ETHERTYPE_IPV4);
	ip = buf + l3;
	ip[0] = 0x45;
	ip[1] = 0;
	lw_put16(ip + 2, tot_len);
	/* id 0 with DF: an atomic datagram (RFC 6864); replies are never fragmented. */
	lw_put16(ip + 4, 0);
	lw_put16(ip + 6, IP_FLAG_DF);
	ip[8] = ttl;
	ip[9] = PROTO_UDP;
	lw_put32(ip + 12, d->ip_src);
	lw_put32(ip + 16, d->ip_dst);
	/* The header's checksum from its fields: the words we just wrote, without reading
	 * them back (the sum of 16-bit words in any grouping is the same RFC 1071 sum). */
	sum = 0x4500u + tot_len + IP_FLAG_DF + ((uint32_t)ttl << 8 | PROTO_UDP) +
	      (d->ip_src >> 16) + (d->ip_src & 0xffff) + (d->ip_dst >> 16) + (d->ip_dst & 0xffff);
	lw_put16(ip + 10, d->tx_csum & DP_TX_CSUM_IP ? 0 : dp_csum_finish(sum));

	u = ip + DP_IPV4_HDR_LEN;
	lw_put16(u, d->sport);
	lw_put16(u + 2, d->dport);
	lw_put16(u + 4, udp_len);
	sum = pseudo_sum(d->ip_src, d->ip_dst, udp_len);
	if (d->tx_csum & DP_TX_CSUM_UDP) {
		/* The port sums the datagram over this seed (dp_frame_udp_csum_offload()). */
		lw_put16(u + 6, (uint16_t)~dp_csum_finish(sum));
		return hdr + payload_len;
	}
	sum += (uint32_t)d->sport + d->dport + udp_len + payload_sum;
	csum = dp_csum_finish(sum);
	/* 0 means "no checksum" in UDP; the same sum in one's complement is 0xffff. */
	lw_put16(u + 6, csum ? csum : 0xffff);
	return hdr + payload_len;
}

void dp_frame_udp_csum_offload(uint8_t *buf, size_t l3_off, unsigned tx_csum)
{
	uint8_t *ip = buf + l3_off, *u = ip + DP_IPV4_HDR_LEN;
	uint32_t sum;

	if (tx_csum & DP_TX_CSUM_IP) {
		lw_put16(ip + 10, 0);
	}
	if (tx_csum & DP_TX_CSUM_UDP) {
		sum = pseudo_sum(lw_get32(ip + 12), lw_get32(ip + 16), lw_get16(u + 4));
		/* Folded, not complemented: the port adds the datagram and complements. */
		lw_put16(u + 6, (uint16_t)~dp_csum_finish(sum));
	}
}

size_t dp_frame_arp_reply(uint8_t *buf, const struct dp_frame *f, const uint8_t mac[6],
			  uint32_t ip)
{
	uint8_t *a = buf + f->l3_off;

	/* f is a copy of what the request said, so the frame can be rewritten freely. */
	memcpy(buf, f->src_mac, DP_ETHER_ADDR_LEN);
	memmove(buf + DP_ETHER_ADDR_LEN, mac, DP_ETHER_ADDR_LEN);
	lw_put16(a + 6, 2);
	memmove(a + 8, mac, DP_ETHER_ADDR_LEN);
	lw_put32(a + 14, ip);
	memcpy(a + 18, f->arp_sha, DP_ETHER_ADDR_LEN);
	lw_put32(a + 24, f->arp_spa);
	return (size_t)f->l3_off + ARP_LEN;
}

size_t dp_frame_icmp_echo_reply(uint8_t *buf, const struct dp_frame *f, const uint8_t mac[6])
{
	uint8_t *ip = buf + f->l3_off;
	uint8_t *icmp = buf + f->l4_off;
	size_t ihl = (size_t)f->l4_off - f->l3_off;

	memcpy(buf, f->src_mac, DP_ETHER_ADDR_LEN);
	memmove(buf + DP_ETHER_ADDR_LEN, mac, DP_ETHER_ADDR_LEN);
	/* A reply is a new datagram: it starts with a fresh TTL, not the request's leftover. */
	ip[8] = DEFAULT_TTL;
	lw_put32(ip + 12, f->ip_dst);
	lw_put32(ip + 16, f->ip_src);
	ipv4_csum_set(ip, ihl);
	icmp[0] = ICMP_ECHO_REPLY;
	lw_put16(icmp + 2, 0);
	lw_put16(icmp + 2, dp_csum_finish(dp_csum_partial(icmp, f->l4_len, 0)));
	return (size_t)f->l4_off + f->l4_len;
}
