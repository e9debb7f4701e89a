#include <string.h>

#include "counters.h"
#include "frame.h"

static const char *const drop_names[DP_DROP_MAX] = {
	[DP_DROP_FRAME_TRUNCATED] = "frame_truncated",
	[DP_DROP_ETHERTYPE] = "ethertype",
	[DP_DROP_IP_HEADER] = "ip_header",
	[DP_DROP_IP_CHECKSUM] = "ip_checksum",
	[DP_DROP_IP_FRAGMENT] = "ip_fragment",
	[DP_DROP_IP_PROTO] = "ip_proto",
	[DP_DROP_UDP_LENGTH] = "udp_length",
	[DP_DROP_UDP_CHECKSUM] = "udp_checksum",
	[DP_DROP_UDP_PORT] = "udp_port",
	[DP_DROP_ARP_MALFORMED] = "arp_malformed",
	[DP_DROP_ICMP_MALFORMED] = "icmp_malformed",
	[DP_DROP_BOOTP_TRUNCATED] = "bootp_truncated",
	[DP_DROP_BAD_COOKIE] = "bad_cookie",
	[DP_DROP_BAD_HLEN] = "bad_hlen",
	[DP_DROP_OPTION_OVERRUN] = "option_overrun",
	[DP_DROP_BAD_OVERLOAD] = "bad_overload",
	[DP_DROP_BAD_OPTION_SIZE] = "bad_option_size",
	[DP_DROP_BAD_OP] = "bad_op",
	[DP_DROP_BAD_MSG_TYPE] = "bad_msg_type",
	[DP_DROP_NOT_FOR_US] = "not_for_us",
	[DP_DROP_BOOTREPLY] = "bootreply_received",
	[DP_DROP_NO_INTERFACE] = "no_interface",
	[DP_DROP_NO_SCOPE] = "no_scope",
	[DP_DROP_SCOPE_INACTIVE] = "scope_inactive",
	[DP_DROP_POOL_EXHAUSTED] = "pool_exhausted",
	[DP_DROP_NO_RECORD] = "no_binding_record",
	[DP_DROP_KEY_TOO_LONG] = "client_id_too_long",
	[DP_DROP_BAD_REQUEST] = "bad_request",
	[DP_DROP_BOOTP_NO_RESERVATION] = "bootp_no_reservation",
	[DP_DROP_COMMIT_FULL] = "commit_ring_full",
	[DP_DROP_PARK_FULL] = "park_full",
	[DP_DROP_STEER_FULL] = "steer_ring_full",
	[DP_DROP_REPLY_SPACE] = "reply_space",
	[DP_DROP_TX_FULL] = "tx_full",
	[DP_DROP_NOMBUF] = "no_mbuf",
	[DP_DROP_WRITE_CONFLICT] = "write_conflict",
	[DP_DROP_RESERVED_IN_USE] = "reserved_in_use",
	[DP_DROP_STALE_PARKED] = "stale_parked",
	[DP_DROP_OTHER_SERVER] = "other_server",
	[DP_DROP_UNKNOWN_CLIENT] = "unknown_client",
	[DP_DROP_NOT_BOUND] = "not_bound",
	[DP_DROP_FO_NOT_SERVING] = "failover_not_serving",
	[DP_DROP_FO_PARTNER_CLIENT] = "failover_partner_client",
};

const char *dp_drop_str(unsigned reason)
{
	return reason < DP_DROP_MAX && drop_names[reason] ? drop_names[reason] : "unknown";
}

enum dp_drop dp_drop_from_err(int err)
{
	switch (err) {
	case DP_FE_TRUNCATED: return DP_DROP_FRAME_TRUNCATED;
	case DP_FE_ETHERTYPE: return DP_DROP_ETHERTYPE;
	case DP_FE_IP_HDR: return DP_DROP_IP_HEADER;
	case DP_FE_IP_CSUM: return DP_DROP_IP_CHECKSUM;
	case DP_FE_IP_FRAGMENT: return DP_DROP_IP_FRAGMENT;
	case DP_FE_IP_PROTO: return DP_DROP_IP_PROTO;
	case DP_FE_UDP_LEN: return DP_DROP_UDP_LENGTH;
	case DP_FE_UDP_CSUM: return DP_DROP_UDP_CHECKSUM;
	case DP_FE_UDP_PORT: return DP_DROP_UDP_PORT;
	case DP_FE_ARP: return DP_DROP_ARP_MALFORMED;
	case DP_FE_ICMP: return DP_DROP_ICMP_MALFORMED;
	case DHCP4_E_TRUNCATED: return DP_DROP_BOOTP_TRUNCATED;
	case DHCP4_E_COOKIE: return DP_DROP_BAD_COOKIE;
	case DHCP4_E_HLEN: return DP_DROP_BAD_HLEN;
	case DHCP4_E_OPT_OVERRUN: return DP_DROP_OPTION_OVERRUN;
	case DHCP4_E_OVERLOAD: return DP_DROP_BAD_OVERLOAD;
	case DHCP4_E_OPT_SIZE: return DP_DROP_BAD_OPTION_SIZE;
	case DHCP4_E_OP: return DP_DROP_BAD_OP;
	case DHCP4_E_MSG_TYPE: return DP_DROP_BAD_MSG_TYPE;
	default: return DP_DROP_BAD_REQUEST;
	}
}

void dp_counters_add(struct dp_counters *acc, const struct dp_counters *c)
{
	/* Every field is a uint64_t: add them as an array. */
	uint64_t *a = (uint64_t *)acc;
	const uint64_t *b = (const uint64_t *)c;

	_Static_assert(sizeof(struct dp_counters) % sizeof(uint64_t) == 0, "counters are u64");
	for (size_t i = 0; i < sizeof(*acc) / sizeof(uint64_t); i++) {
		a[i] += b[i];
	}
}

uint64_t dp_counters_drops(const struct dp_counters *c)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < DP_DROP_MAX; i++) {
		n += c->drop[i];
	}
	return n;
}
