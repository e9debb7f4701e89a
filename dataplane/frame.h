/*
 * frame: Ethernet (with up to two 802.1Q/802.1ad tags), IPv4, UDP, ARP and ICMP echo,
 * parsed and built on plain byte buffers.
 *
 * Pure C, no DPDK types, no allocation; callable from any thread. Parsing validates every
 * header length and checksum before anything behind it is trusted: the IPv4 header checksum
 * is always checked, the UDP checksum when it is non-zero; fragments are refused (a DHCP
 * message never needs one). Fuzzed together with the DHCP codec.
 *
 * Addresses are host byte order (uint32_t); MACs are 6-byte arrays.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lw_attr.h"

#define DP_ETHER_ADDR_LEN	6
#define DP_MAX_VLAN		2
#define DP_ETHER_HDR_LEN	14
#define DP_VLAN_HDR_LEN		4
#define DP_IPV4_HDR_LEN		20	/**< the header we build (no options) */
#define DP_UDP_HDR_LEN		8
#define DP_DHCP_SERVER_PORT	67
#define DP_DHCP_CLIENT_PORT	68

/** What a frame turned out to be. */
enum dp_frame_kind {
	DP_FRAME_DHCP = 1,	/**< IPv4/UDP to port 67: a DHCP/BOOTP message for the server */
	DP_FRAME_ARP = 2,	/**< an ARP request (Ethernet/IPv4) */
	DP_FRAME_ICMP_ECHO = 3,	/**< an ICMP echo request */
};

/**
 * Why a frame was dropped. Negative, so parse functions can return either a kind or a
 * reason; dp_frame_err_str() names them (counter names).
 */
enum dp_frame_err {
	DP_FE_TRUNCATED = -100,		/**< shorter than the headers it claims */
	DP_FE_ETHERTYPE = -101,		/**< neither IPv4 nor ARP (also: more than 2 VLAN tags) */
	DP_FE_IP_HDR = -102,		/**< version != 4, IHL < 5, total length inconsistent */
	DP_FE_IP_CSUM = -103,		/**< bad IPv4 header checksum */
	DP_FE_IP_FRAGMENT = -104,	/**< MF set or fragment offset != 0 */
	DP_FE_IP_PROTO = -105,		/**< not UDP, and not an ICMP echo request */
	DP_FE_UDP_LEN = -106,		/**< UDP length inconsistent with the IP length */
	DP_FE_UDP_CSUM = -107,		/**< non-zero UDP checksum that does not verify */
	DP_FE_UDP_PORT = -108,		/**< UDP, but not to port 67 */
	DP_FE_ARP = -109,		/**< ARP that is not an Ethernet/IPv4 request */
	DP_FE_ICMP = -110,		/**< ICMP too short, bad checksum, or an echo request of
					     code != 0 */
	/** Well-formed ICMP (length, checksum) that is not an echo request: an echo reply
	 *  (probe.c looks at it for conflict detection), an error such as port unreachable. Not
	 *  malformed, only nothing for the server to answer. */
	DP_FE_ICMP_OTHER = -111,
};

/** The parsed headers of one received frame. Offsets are from the start of the frame. */
struct dp_frame {
	uint8_t dst_mac[DP_ETHER_ADDR_LEN];
	uint8_t src_mac[DP_ETHER_ADDR_LEN];
	uint8_t nvlan;				/**< 0..2 tags, outermost first */
	uint16_t vlan_tpid[DP_MAX_VLAN];	/**< 0x8100 or 0x88a8 */
	uint16_t vlan_tci[DP_MAX_VLAN];		/**< host order, PCP/DEI/VID */
	uint16_t l3_off;			/**< start of the IPv4 or ARP header */

	/* IPv4 (DHCP and ICMP) */
	uint32_t ip_src, ip_dst;		/**< host order */
	uint8_t ip_tos;
	uint16_t l4_off;			/**< start of the UDP or ICMP header */
	uint16_t l4_len;			/**< UDP datagram or ICMP message length */

	/* UDP */
	uint16_t sport, dport;
	uint16_t payload_off, payload_len;	/**< the BOOTP message */

	/* ARP request */
	uint8_t arp_sha[DP_ETHER_ADDR_LEN];
	uint32_t arp_spa, arp_tpa;		/**< host order */

	/** Not parsed (0 after a parse): the checksums the port a reply to this frame leaves
	 *  by computes itself (enum dp_tx_csum), set by the worker; a reply builder copies it
	 *  to dp_udp_dst.tx_csum and need not sum what the port will. */
	uint8_t tx_csum;
};

/** VLAN id (12 bits) of the innermost tag, 0 when untagged. */
static inline uint16_t dp_frame_vlan(const struct dp_frame *f)
{
	return f->nvlan ? (uint16_t)(f->vlan_tci[f->nvlan - 1] & 0x0fff) : 0;
}

/** What the port already verified of a received frame (dp_frame_parse_rx()). */
enum dp_rx_verified {
	DP_RX_IP_CSUM_GOOD = 1u << 0,	/**< the IPv4 header checksum is correct */
	DP_RX_UDP_CSUM_GOOD = 1u << 1,	/**< the UDP checksum is correct (TCP/UDP only: an
					     ICMP message's is always summed here) */
	/** The UDP data is known intact but its checksum field holds no checksum: DPDK's
	 *  RTE_MBUF_F_RX_L4_CKSUM_NONE, "the L4 checksum is not correct in the packet data,
	 *  but the integrity of the L4 data is verified" (rte_mbuf_core.h). A virtual peer on
	 *  the same host (virtio's VIRTIO_NET_HDR_F_NEEDS_CSUM) left the sum to be done: the
	 *  field holds only its pseudo-header part. Accepted as DP_RX_UDP_CSUM_GOOD is. */
	DP_RX_UDP_CSUM_NONE = 1u << 2,
};

/**
 * dp_frame_parse() of a frame some of whose checksums the NIC has verified: a checksum
 * named in @p verified (enum dp_rx_verified bits) is not summed again; every other check is
 * the same. The caller sets a bit only when the port says the checksum is GOOD (DPDK's
 * RTE_MBUF_F_RX_*_CKSUM_GOOD) or, for UDP, NONE (DP_RX_UDP_CSUM_NONE); UNKNOWN and BAD
 * leave it clear, and the frame is then summed here as by dp_frame_parse(), which drops a
 * bad one.
 * @return as dp_frame_parse().
 */
_mustcheck_
int dp_frame_parse_rx(const uint8_t *buf, size_t len, unsigned verified, struct dp_frame *f);

/**
 * Parse a received frame.
 * @param buf,len  the frame, from the destination MAC, without FCS.
 * @param f        filled on success.
 * @return an enum dp_frame_kind (> 0), or a negative enum dp_frame_err.
 */
_mustcheck_
static inline int dp_frame_parse(const uint8_t *buf, size_t len, struct dp_frame *f)
{
	return dp_frame_parse_rx(buf, len, 0, f);
}

/** Counter name of a negative enum dp_frame_err (static string). */
const char *dp_frame_err_str(int err);

/** Length of the Ethernet + VLAN + IPv4 + UDP headers dp_frame_build_udp() writes. */
static inline size_t dp_frame_udp_hdr_len(unsigned nvlan)
{
	return DP_ETHER_HDR_LEN + nvlan * DP_VLAN_HDR_LEN + DP_IPV4_HDR_LEN + DP_UDP_HDR_LEN;
}

/** Where a built UDP datagram goes. */
struct dp_udp_dst {
	uint8_t dst_mac[DP_ETHER_ADDR_LEN];
	uint8_t src_mac[DP_ETHER_ADDR_LEN];
	uint8_t nvlan;
	uint16_t vlan_tpid[DP_MAX_VLAN];
	uint16_t vlan_tci[DP_MAX_VLAN];
	uint32_t ip_src, ip_dst;		/**< host order */
	uint16_t sport, dport;
	uint8_t ttl;				/**< 0 means 64 */
	/** enum dp_tx_csum: checksums left to the port. Their fields are written as
	 *  dp_frame_udp_csum_offload() writes them (UDP: the pseudo-header sum; IPv4: 0). */
	uint8_t tx_csum;
};

/**
 * Write Ethernet, VLAN, IPv4 and UDP headers in front of a payload that the caller has
 * already written at buf + dp_frame_udp_hdr_len(d->nvlan). Computes the IPv4 header checksum
 * and the UDP checksum (never sends 0: a computed 0 goes out as 0xffff). The IPv4 header has
 * TOS 0, id 0 and DF set; a vlan_tpid of 0 is written as 0x8100. @p d must not point into
 * @p buf.
 * @return total frame length, or 0 when it does not fit in @p cap, when the IPv4 datagram
 *         would exceed 65535 bytes, or when d->nvlan > DP_MAX_VLAN.
 */
size_t dp_frame_build_udp(uint8_t *buf, size_t cap, const struct dp_udp_dst *d,
			  size_t payload_len);

/**
 * dp_frame_build_udp() when the caller already has the payload's checksum: the payload is
 * not read again. Writes the same bytes as dp_frame_build_udp().
 * @param payload_sum  dp_csum_partial() of the payload's @p payload_len bytes (a chain of
 *                     partial sums over them, where runs of zero bytes of even length at
 *                     even offsets may be left out: zeros add nothing), at most 0xffff;
 *                     not used when d->tx_csum has DP_TX_CSUM_UDP (pass 0).
 * @return as dp_frame_build_udp().
 */
size_t dp_frame_build_udp_summed(uint8_t *buf, size_t cap, const struct dp_udp_dst *d,
				 size_t payload_len, uint32_t payload_sum);

/** What a port computes of a frame it transmits (its TX checksum offloads, enabled at
 *  set-up: port.c). */
enum dp_tx_csum {
	DP_TX_CSUM_UDP = 1u << 0,	/**< the UDP checksum (RTE_ETH_TX_OFFLOAD_UDP_CKSUM) */
	DP_TX_CSUM_IP = 1u << 1,	/**< the IPv4 header checksum (..._IPV4_CKSUM) */
};

/**
 * Leave the checksums of a frame built by dp_frame_build_udp*() (IPv4 header of 20 bytes at
 * @p l3_off, UDP behind it) to the port that transmits it. With DP_TX_CSUM_UDP in
 * @p tx_csum the UDP checksum field is set to the sum of the pseudo-header alone (source,
 * destination, protocol, UDP length: folded, NOT complemented), which is what DPDK asks of
 * an application that sets RTE_MBUF_F_TX_UDP_CKSUM (rte_ipv4_phdr_cksum(); testpmd's csum
 * engine and rte_net_intel_cksum_prepare() write the same): the port adds the datagram to
 * it and stores the complement. With DP_TX_CSUM_IP the IPv4 header checksum is set to 0 for
 * the port to fill in. The caller sets the mbuf's ol_flags, l2_len and l3_len to match.
 * Reads the addresses and the UDP length from the frame; any thread.
 */
void dp_frame_udp_csum_offload(uint8_t *buf, size_t l3_off, unsigned tx_csum);

/**
 * Turn a received ARP request (already parsed into @p f, frame in @p buf) into the reply
 * "@p ip is at @p mac", in place. VLAN tags are kept. The Ethernet destination is the
 * request's Ethernet source.
 * @return the reply's length (l3_off + 28: no padding is added; the NIC pads to 60).
 */
size_t dp_frame_arp_reply(uint8_t *buf, const struct dp_frame *f, const uint8_t mac[6],
			  uint32_t ip);

/**
 * Turn a received ICMP echo request (parsed into @p f) into the echo reply, in place:
 * swaps MACs and addresses, sets TTL to 64, rewrites type and both checksums. Trailing bytes
 * after the IP datagram are not part of the reply. IP options are kept as received.
 * @note The caller checks that f->ip_dst is one of our unicast addresses: the reply's source
 *       is the request's destination.
 * @return the reply's length.
 */
size_t dp_frame_icmp_echo_reply(uint8_t *buf, const struct dp_frame *f, const uint8_t mac[6]);

/**
 * Internet checksum (RFC 1071) over @p len bytes, folded, NOT complemented, host order.
 * Bytes are summed as big-endian 16-bit words and added to @p sum; when chaining calls, every
 * chunk but the last must have an even length.
 */
uint32_t dp_csum_partial(const void *data, size_t len, uint32_t sum);

/**
 * dp_csum_partial() of @p alen bytes at @p a followed by @p blen bytes at @p b, in one call
 * (one fold): the same value as dp_csum_partial(b, blen, dp_csum_partial(a, alen, sum)).
 * @p alen must be even; @p b may be anywhere (its bytes count from an even offset).
 */
uint32_t dp_csum_partial2(const void *a, size_t alen, const void *b, size_t blen, uint32_t sum);

/** Fold a partial sum to 16 bits and complement it: the value to store (host order). */
uint16_t dp_csum_finish(uint32_t sum);
