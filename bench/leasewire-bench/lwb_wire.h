/*
 * lwb_wire: the frames of leasewire-bench, built and parsed on plain byte buffers.
 *
 * Pure C, no DPDK types, no allocation, no global state: callable from any thread, and unit
 * tested on plain arrays (tests/unit/test_lwb_wire.c). It is deliberately NOT the server's
 * codec (dataplane/dhcp4_wire, frame): a load generator that shared the server's parser would
 * share its bugs, and this one must also drive Kea or ISC dhcpd, so it is written from the
 * RFCs (951, 2131, 2132, 3046) on its own and kept to what a client sends and must read.
 *
 * Frames are untagged Ethernet II / IPv4 (20-byte header) / UDP / BOOTP, the BOOTP payload
 * padded to the classic 300 bytes (a 342-byte frame), as real clients send them. The IPv4
 * header checksum is always computed; the UDP checksum too, unless the frame is to leave it
 * to the port (lwb_req.csum_offload: the field then holds the pseudo-header sum).
 *
 * A client's identity derives from its index: chaddr = 02:42:ii:ii:ii:ii (the index, big
 * endian, in bytes 2..5), so a reply names its client by its chaddr too. The xid carries the
 * index in its low LWB_XID_INDEX_BITS bits and an exchange sequence in the high bits (see
 * lwb_xid()), so a reply finds its client in O(1) and a late reply to an earlier exchange of
 * the same client is told apart.
 *
 * Addresses are host byte order (uint32_t); MACs are 6-byte arrays.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LWB_FRAME_LEN		342	/**< every frame we build: 14 + 20 + 8 + 300 */
#define LWB_BOOTP_LEN		300
#define LWB_HDR_LEN		42	/**< Ethernet + IPv4 + UDP */
#define LWB_XID_INDEX_BITS	24
#define LWB_MAX_CLIENTS		(1u << LWB_XID_INDEX_BITS)	/**< 16 777 216 */
#define LWB_PORT_SERVER		67
#define LWB_PORT_CLIENT		68

/** DHCP message types (option 53). */
enum lwb_msg {
	LWB_DISCOVER = 1,
	LWB_OFFER = 2,
	LWB_REQUEST = 3,
	LWB_DECLINE = 4,
	LWB_ACK = 5,
	LWB_NAK = 6,
	LWB_RELEASE = 7,
	LWB_INFORM = 8,
};

/** Everything one message of one client needs. Zero fields are left out of the frame. */
struct lwb_req {
	uint8_t type;			/**< enum lwb_msg: DISCOVER, REQUEST or RELEASE */
	uint32_t xid;
	uint32_t index;			/**< client index: chaddr 02:42:<index> */
	bool broadcast;			/**< BOOTP broadcast flag */
	bool client_id;			/**< send option 61 = 01:<chaddr> */
	uint32_t ciaddr;		/**< renewing or releasing: the client's address */
	uint32_t giaddr;		/**< relayed: the relay's address (the frame's IP source) */
	uint32_t requested_ip;		/**< option 50 (SELECTING) */
	uint32_t server_id;		/**< option 54 (SELECTING, RELEASE) */
	bool opt82;			/**< relayed: option 82 circuit-id and remote-id */
	uint8_t src_mac[6];		/**< Ethernet source (the client's chaddr when direct) */
	uint8_t dst_mac[6];		/**< Ethernet destination (ff:.. when broadcast) */
	uint32_t ip_src, ip_dst;	/**< IPv4 source and destination */
	uint16_t sport, dport;		/**< UDP ports */
	/** Leave the UDP checksum to the port (RTE_MBUF_F_TX_UDP_CKSUM, set by the caller):
	 *  the field holds the pseudo-header sum, folded and not complemented
	 *  (rte_ipv4_phdr_cksum()), for the port to add the datagram to. */
	bool csum_offload;
};

/** What a received reply says, as far as a client needs to know. */
struct lwb_reply {
	uint8_t type;			/**< option 53 (enum lwb_msg), 0 when absent */
	uint8_t op;			/**< BOOTP op: 1 request, 2 reply */
	uint32_t xid;
	uint32_t index;			/**< from chaddr; valid when chaddr_ours */
	bool chaddr_ours;		/**< chaddr is 02:42:xx:xx:xx:xx, hlen 6 */
	uint32_t ciaddr, yiaddr, giaddr;
	uint32_t server_id;		/**< option 54, else 0 */
	uint32_t ip_src, ip_dst;
	uint16_t sport, dport;
	uint8_t src_mac[6];
	uint16_t payload_off, payload_len;	/**< the BOOTP message within the frame */
};

/** Why lwb_parse() refused a frame (negative). */
enum lwb_parse_err {
	LWB_E_SHORT = -1,	/**< shorter than the headers or than its own length fields */
	LWB_E_NOT_UDP = -2,	/**< not Ethernet II / IPv4 / UDP (ARP, VLAN, IPv6...) */
	LWB_E_IP_CSUM = -3,	/**< bad IPv4 header checksum */
	LWB_E_UDP_CSUM = -4,	/**< bad non-zero UDP checksum (only when asked to check) */
	LWB_E_NOT_DHCP = -5,	/**< UDP but not port 67/68, or no magic cookie */
	LWB_E_OPTIONS = -6,	/**< an option runs past the end of the message */
};

/** chaddr of client @p index: 02:42 then the index big endian. */
void lwb_chaddr(uint32_t index, uint8_t mac[6]);

/** The xid of exchange @p seq of client @p index (index < LWB_MAX_CLIENTS). */
static inline uint32_t lwb_xid(uint32_t index, uint8_t seq)
{
	return (uint32_t)seq << LWB_XID_INDEX_BITS | (index & (LWB_MAX_CLIENTS - 1));
}

/** The client index an xid carries. */
static inline uint32_t lwb_xid_index(uint32_t xid)
{
	return xid & (LWB_MAX_CLIENTS - 1);
}

/** The exchange sequence an xid carries. */
static inline uint8_t lwb_xid_seq(uint32_t xid)
{
	return (uint8_t)(xid >> LWB_XID_INDEX_BITS);
}

/**
 * Build the frame of @p r into @p buf.
 * @param buf  at least LWB_FRAME_LEN bytes; the whole frame is written (padding zeroed).
 * @return LWB_FRAME_LEN (every message we send fits in the 300-byte payload).
 */
size_t lwb_build(uint8_t *buf, const struct lwb_req *r);

/**
 * What the port said of a received frame's UDP checksum: DPDK's RTE_MBUF_F_RX_L4_CKSUM_*
 * verdicts, mapped by the caller (no DPDK types here).
 */
enum lwb_rx_l4 {
	LWB_RX_L4_UNKNOWN = 0,	/**< nothing said: summed here when asked to check */
	LWB_RX_L4_BAD,		/**< the port found it wrong */
	LWB_RX_L4_GOOD,		/**< the port verified it */
	/** "the L4 checksum is not correct in the packet data, but the integrity of the L4
	 *  data is verified" (rte_mbuf_core.h): a sender on the same host (vhost/virtio
	 *  VIRTIO_NET_HDR_F_NEEDS_CSUM) left the sum to be done; the field holds only the
	 *  pseudo-header part, so it must not be summed. Accepted when that part is right. */
	LWB_RX_L4_NONE,
};

/**
 * Parse a received frame.
 * @param check_udp_csum  also verify a non-zero UDP checksum (the IPv4 one is always checked).
 * @return 0 and @p out filled, or a negative enum lwb_parse_err.
 */
__attribute__((warn_unused_result))
int lwb_parse(const uint8_t *buf, size_t len, bool check_udp_csum, struct lwb_reply *out);

/**
 * lwb_parse() of a frame the port has given a UDP checksum verdict @p l4: when asked to
 * check, GOOD is taken as it is, NONE when its field is the pseudo-header's sum (the seed a
 * sender's port would complete; the data are not summed), BAD is LWB_E_UDP_CSUM, UNKNOWN is
 * summed. Not asked, the verdict is ignored.
 */
__attribute__((warn_unused_result))
int lwb_parse_rx(const uint8_t *buf, size_t len, bool check_udp_csum, enum lwb_rx_l4 l4,
		 struct lwb_reply *out);

/**
 * The reflect mode's whole "server": turn a client's DHCP frame, in place, into its echo.
 * Swaps the Ethernet addresses (source becomes @p our_mac), sends from @p server_ip to the
 * relay's port 67 when giaddr is set, else to the broadcast address port 68; sets op 2,
 * yiaddr (ciaddr when set, else 198.18.0.0/15 + the index from chaddr), turns the option-53
 * value DISCOVER into OFFER and REQUEST into ACK where option 53 is the first option (as
 * lwb_build() writes it), recomputes both checksums (with @p csum_offload the UDP one is left
 * to the port, as lwb_req.csum_offload). No DHCP logic, no state: the cost of a responder that
 * touches each frame once, i.e. the transport's ceiling.
 * @param buf  the frame, as parsed into @p in by lwb_parse() (op 1, to port 67).
 * @return the reply's length, or 0 when the frame is not one to answer (op 2, other port,
 *         or an option 53 that is not DISCOVER or REQUEST: RELEASE gets nothing back).
 */
size_t lwb_reflect(uint8_t *buf, const struct lwb_reply *in,
		   const uint8_t our_mac[6], uint32_t server_ip, bool csum_offload);

/**
 * Answer an ARP request in place: "@p ip_target is at @p our_mac". A kernel-socket server
 * (Kea, ISC dhcpd) resolves the relay's address before it unicasts a relayed reply, and a
 * renewing client's address before it answers it: on a lab link the generator answers for
 * all of them with its port's MAC (a reply finds its client by xid and chaddr, never by the
 * Ethernet destination).
 * @param buf,len  a received frame.
 * @return the reply's length (42, Ethernet II + ARP), or 0 when the frame is not an
 *         Ethernet/IPv4 ARP request.
 */
size_t lwb_arp_reply(uint8_t *buf, size_t len, const uint8_t our_mac[6]);

/** RFC 1071 sum of @p len bytes added to @p sum (not folded, not complemented). */
uint32_t lwb_csum_add(const void *data, size_t len, uint32_t sum);

/** Fold and complement: the value to store, host order. */
uint16_t lwb_csum_fold(uint32_t sum);

/** Name of a negative enum lwb_parse_err (static string). */
const char *lwb_parse_err_str(int err);
