/* lwb_wire: the generator's frames (see lwb_wire.h). */
#include "lwb_wire.h"

#include <string.h>

/* Offsets of the BOOTP fixed part (RFC 951/2131), from the start of the BOOTP message. */
enum {
	B_OP = 0, B_HTYPE = 1, B_HLEN = 2, B_HOPS = 3, B_XID = 4, B_SECS = 8, B_FLAGS = 10,
	B_CIADDR = 12, B_YIADDR = 16, B_SIADDR = 20, B_GIADDR = 24, B_CHADDR = 28,
	B_COOKIE = 236, B_OPTIONS = 240,
};

static const uint8_t cookie[4] = {99, 130, 83, 99};

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t lwb_csum_add(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	uint64_t acc = 0;
	uint32_t w;
	uint16_t h;

	/* RFC 1071 1.2: the one's complement sum does not depend on byte order, so add native
	 * 32-bit words into 64 bits (a frame is 342 bytes: no overflow), fold, and swap to the
	 * big-endian reading once at the end. */
	for (; len >= 4; len -= 4, p += 4) {
		memcpy(&w, p, 4);
		acc += w;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		acc += h;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = {p[0], 0};

		memcpy(&h, last, 2);
		acc += h;
	}
	while (acc >> 16) {
		acc = (acc & 0xffff) + (acc >> 16);
	}
	h = (uint16_t)acc;
	if (*(const uint8_t *)&(uint16_t){1} == 1) {	/* little-endian host */
		h = (uint16_t)(h << 8 | h >> 8);
	}
	return sum + h;
}

uint16_t lwb_csum_fold(uint32_t sum)
{
	while (sum >> 16) {
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return (uint16_t)~sum;
}

void lwb_chaddr(uint32_t index, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x42;
	put32(mac + 2, index);
}

/* IPv4 and UDP headers plus both checksums, for a UDP payload of @p plen bytes at l3 + 28.
 * @p psum: the payload's lwb_csum_add() sum when the caller knows it cheaper, else NULL.
 * @p offload: the UDP field gets the pseudo-header sum alone, for the port to complete. */
static void put_ip_udp(uint8_t *l3, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
		       size_t plen, const uint32_t *psum, bool offload)
{
	uint8_t *udp = l3 + 20;
	uint16_t ulen = (uint16_t)(8 + plen);
	uint32_t sum;

	l3[0] = 0x45;
	l3[1] = 0;
	put16(l3 + 2, (uint16_t)(20 + ulen));
	put16(l3 + 4, 0);		/* id */
	put16(l3 + 6, 0x4000);		/* DF */
	l3[8] = 64;
	l3[9] = 17;
	put16(l3 + 10, 0);
	put32(l3 + 12, src);
	put32(l3 + 16, dst);
	put16(l3 + 10, lwb_csum_fold(lwb_csum_add(l3, 20, 0)));

	put16(udp, sport);
	put16(udp + 2, dport);
	put16(udp + 4, ulen);
	put16(udp + 6, 0);
	/* Pseudo-header: addresses, protocol, UDP length; then the datagram. */
	sum = lwb_csum_add(l3 + 12, 8, 17u + ulen);
	if (offload) {
		/* Folded, not complemented: rte_ipv4_phdr_cksum(). */
		put16(udp + 6, (uint16_t)~lwb_csum_fold(sum));
		return;
	}
	if (psum != NULL) {
		sum = lwb_csum_fold(lwb_csum_add(udp, 8, sum + *psum));
	} else {
		sum = lwb_csum_fold(lwb_csum_add(udp, ulen, sum));
	}
	put16(udp + 6, sum == 0 ? 0xffff : (uint16_t)sum);
}

static uint8_t *opt_u32(uint8_t *o, uint8_t code, uint32_t v)
{
	o[0] = code;
	o[1] = 4;
	put32(o + 2, v);
	return o + 6;
}

size_t lwb_build(uint8_t *buf, const struct lwb_req *r)
{
	static const uint8_t prl[] = {1, 3, 6, 15, 51, 54, 58, 59};
	uint8_t *b = buf + LWB_HDR_LEN, *o;
	uint8_t chaddr[6];
	uint32_t psum;

	memset(buf, 0, LWB_FRAME_LEN);
	memcpy(buf, r->dst_mac, 6);
	memcpy(buf + 6, r->src_mac, 6);
	put16(buf + 12, 0x0800);

	lwb_chaddr(r->index, chaddr);
	b[B_OP] = 1;
	b[B_HTYPE] = 1;
	b[B_HLEN] = 6;
	b[B_HOPS] = r->giaddr ? 1 : 0;
	put32(b + B_XID, r->xid);
	put16(b + B_FLAGS, r->broadcast ? 0x8000 : 0);
	put32(b + B_CIADDR, r->ciaddr);
	put32(b + B_GIADDR, r->giaddr);
	memcpy(b + B_CHADDR, chaddr, 6);
	memcpy(b + B_COOKIE, cookie, 4);

	/* Option 53 first: lwb_reflect() relies on it. */
	o = b + B_OPTIONS;
	*o++ = 53;
	*o++ = 1;
	*o++ = r->type;
	if (r->client_id) {
		*o++ = 61;
		*o++ = 7;
		*o++ = 1;
		memcpy(o, chaddr, 6);
		o += 6;
	}
	if (r->requested_ip) {
		o = opt_u32(o, 50, r->requested_ip);
	}
	if (r->server_id) {
		o = opt_u32(o, 54, r->server_id);
	}
	if (r->type != LWB_RELEASE) {
		*o++ = 55;
		*o++ = sizeof(prl);
		memcpy(o, prl, sizeof(prl));
		o += sizeof(prl);
	}
	if (r->opt82) {
		/* RFC 3046: circuit-id (one "port" per 256 clients), remote-id (the chaddr). */
		*o++ = 82;
		*o++ = 14;
		*o++ = 1;
		*o++ = 4;
		put32(o, r->index >> 8);
		o += 4;
		*o++ = 2;
		*o++ = 6;
		memcpy(o, chaddr, 6);
		o += 6;
	}
	*o = 255;

	/* Zeros add nothing to a checksum: sum only what may be non-zero, the fixed fields up to
	 * chaddr and the cookie plus options (sname, file and the padding are zero). Both parts
	 * start at an even offset, as chaining lwb_csum_add() requires. */
	psum = 0;
	if (!r->csum_offload) {
		psum = lwb_csum_add(b, B_CHADDR + 16, 0);
		psum = lwb_csum_add(b + B_COOKIE, (size_t)(o + 1 - (b + B_COOKIE)), psum);
	}
	put_ip_udp(buf + 14, r->ip_src, r->ip_dst, r->sport, r->dport, LWB_BOOTP_LEN, &psum,
		   r->csum_offload);
	return LWB_FRAME_LEN;
}

int lwb_parse(const uint8_t *buf, size_t len, bool check_udp_csum, struct lwb_reply *out)
{
	return lwb_parse_rx(buf, len, check_udp_csum, LWB_RX_L4_UNKNOWN, out);
}

int lwb_parse_rx(const uint8_t *buf, size_t len, bool check_udp_csum, enum lwb_rx_l4 l4,
		 struct lwb_reply *out)
{
	const uint8_t *l3, *udp, *b, *o, *end;
	size_t ihl, iplen, ulen, blen;

	if (len < 14 + 20) {
		return LWB_E_SHORT;
	}
	if (get16(buf + 12) != 0x0800) {
		return LWB_E_NOT_UDP;
	}
	l3 = buf + 14;
	ihl = (size_t)(l3[0] & 0x0f) * 4;
	iplen = get16(l3 + 2);
	if ((l3[0] >> 4) != 4 || ihl < 20) {
		return LWB_E_NOT_UDP;
	}
	if (iplen < ihl + 8 || 14 + iplen > len) {
		return LWB_E_SHORT;
	}
	if (lwb_csum_fold(lwb_csum_add(l3, ihl, 0)) != 0) {
		return LWB_E_IP_CSUM;
	}
	if (l3[9] != 17 || (get16(l3 + 6) & 0x3fff) != 0) {
		return LWB_E_NOT_UDP;	/* not UDP, or a fragment */
	}
	udp = l3 + ihl;
	ulen = get16(udp + 4);
	if (ulen < 8 || ihl + ulen > iplen) {
		return LWB_E_SHORT;
	}
	if (check_udp_csum && l4 == LWB_RX_L4_BAD) {
		return LWB_E_UDP_CSUM;
	}
	if (check_udp_csum && l4 == LWB_RX_L4_UNKNOWN && get16(udp + 6) != 0) {
		uint32_t sum = lwb_csum_add(l3 + 12, 8, 17u + (uint32_t)ulen);

		if (lwb_csum_fold(lwb_csum_add(udp, ulen, sum)) != 0) {
			return LWB_E_UDP_CSUM;
		}
	}
	if (check_udp_csum && l4 == LWB_RX_L4_NONE) {
		/* A partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM): the data are intact, the
		 * field must hold the seed the sender's port would have completed, the
		 * pseudo-header's sum (folded, not complemented); anything else would have
		 * gone out wrong on a wire. */
		uint16_t seed = (uint16_t)~lwb_csum_fold(lwb_csum_add(l3 + 12, 8,
								      17u + (uint32_t)ulen));

		if (get16(udp + 6) != seed) {
			return LWB_E_UDP_CSUM;
		}
	}
	memset(out, 0, sizeof(*out));
	memcpy(out->src_mac, buf + 6, 6);
	out->ip_src = get32(l3 + 12);
	out->ip_dst = get32(l3 + 16);
	out->sport = get16(udp);
	out->dport = get16(udp + 2);
	if ((out->dport != LWB_PORT_SERVER && out->dport != LWB_PORT_CLIENT)) {
		return LWB_E_NOT_DHCP;
	}
	b = udp + 8;
	blen = ulen - 8;
	if (blen < B_OPTIONS || memcmp(b + B_COOKIE, cookie, 4) != 0) {
		return LWB_E_NOT_DHCP;
	}
	out->payload_off = (uint16_t)(b - buf);
	out->payload_len = (uint16_t)blen;
	out->op = b[B_OP];
	out->xid = get32(b + B_XID);
	out->ciaddr = get32(b + B_CIADDR);
	out->yiaddr = get32(b + B_YIADDR);
	out->giaddr = get32(b + B_GIADDR);
	out->chaddr_ours = b[B_HLEN] == 6 && b[B_CHADDR] == 0x02 && b[B_CHADDR + 1] == 0x42;
	out->index = get32(b + B_CHADDR + 2);

	/* Options: only the main field (we never ask for overload, and neither option we read
	 * may be put in sname/file by a server answering a 300-byte request... but if it is,
	 * the reply is simply not ours to complete and times out, which is counted). */
	o = b + B_OPTIONS;
	end = b + blen;
	while (o < end && *o != 255) {
		if (*o == 0) {
			o++;
			continue;
		}
		if (o + 2 > end || o + 2 + o[1] > end) {
			return LWB_E_OPTIONS;
		}
		if (o[0] == 53 && o[1] == 1) {
			out->type = o[2];
		} else if (o[0] == 54 && o[1] == 4) {
			out->server_id = get32(o + 2);
		}
		o += 2 + o[1];
	}
	return 0;
}

size_t lwb_reflect(uint8_t *buf, const struct lwb_reply *in,
		   const uint8_t our_mac[6], uint32_t server_ip, bool csum_offload)
{
	uint8_t *b = buf + in->payload_off, *l3 = buf + 14;
	size_t ihl = (size_t)(l3[0] & 0x0f) * 4;
	uint32_t yiaddr;

	if (in->op != 1 || in->dport != LWB_PORT_SERVER || in->payload_len < B_OPTIONS + 3 ||
	    b[B_OPTIONS] != 53 || b[B_OPTIONS + 1] != 1) {
		return 0;
	}
	if (b[B_OPTIONS + 2] != LWB_DISCOVER && b[B_OPTIONS + 2] != LWB_REQUEST) {
		return 0;
	}
	/* The reply has a 20-byte IPv4 header: move the payload up if the request had IP
	 * options (ours never has). */
	if (ihl != 20) {
		memmove(l3 + 28, b, in->payload_len);
		b = l3 + 28;
	}
	if (b[B_OPTIONS + 2] == LWB_DISCOVER) {
		b[B_OPTIONS + 2] = LWB_OFFER;
	} else {
		b[B_OPTIONS + 2] = LWB_ACK;
	}
	memcpy(buf, buf + 6, 6);
	memcpy(buf + 6, our_mac, 6);
	b[B_OP] = 2;
	yiaddr = in->ciaddr ? in->ciaddr : 0xc6120000u | (in->index & 0x1ffff);
	put32(b + B_YIADDR, yiaddr);
	if (in->giaddr) {
		put_ip_udp(l3, server_ip, in->giaddr, LWB_PORT_SERVER, LWB_PORT_SERVER,
			   in->payload_len, NULL, csum_offload);
	} else {
		put_ip_udp(l3, server_ip, UINT32_MAX, LWB_PORT_SERVER, LWB_PORT_CLIENT,
			   in->payload_len, NULL, csum_offload);
	}
	return 14 + 28 + (size_t)in->payload_len;
}

size_t lwb_arp_reply(uint8_t *buf, size_t len, const uint8_t our_mac[6])
{
	uint8_t *a = buf + 14, tpa[4];

	/* htype 1, ptype IPv4, hlen 6, plen 4, op 1 (request) */
	if (len < 42 || get16(buf + 12) != 0x0806 || get16(a) != 1 || get16(a + 2) != 0x0800 ||
	    a[4] != 6 || a[5] != 4 || get16(a + 6) != 1) {
		return 0;
	}
	memcpy(tpa, a + 24, 4);
	memcpy(buf, a + 8, 6);		/* to the asker's hardware address */
	memcpy(buf + 6, our_mac, 6);
	put16(a + 6, 2);		/* reply */
	memcpy(a + 18, a + 8, 10);	/* target = the asker (sha, spa) */
	memcpy(a + 8, our_mac, 6);	/* sender = us, at the address asked for */
	memcpy(a + 14, tpa, 4);
	return 42;
}

const char *lwb_parse_err_str(int err)
{
	switch (err) {
	case LWB_E_SHORT:
		return "short";
	case LWB_E_NOT_UDP:
		return "not_udp";
	case LWB_E_IP_CSUM:
		return "ip_csum";
	case LWB_E_UDP_CSUM:
		return "udp_csum";
	case LWB_E_NOT_DHCP:
		return "not_dhcp";
	case LWB_E_OPTIONS:
		return "options";
	default:
		return "?";
	}
}
