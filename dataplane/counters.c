#include <stddef.h>
#include <string.h>

#include "counters.h"
#include "frame.h"

static const char *const drop_names[DP_DROP_MAX] = {
#define X(id, name, help) [DP_DROP_##id] = (name),
	LW_DROP_TABLE(X)
#undef X
};

const struct dp_counter_desc dp_counter_descs[] = {
#define S(m, stat, tel, log, flags, help) \
	{ stat, tel, log, flags, offsetof(struct dp_counters, m) },
#define E(a, i, stat, tel, log, flags, help) \
	{ stat, tel, log, flags, offsetof(struct dp_counters, a) + (i) * sizeof(uint64_t) },
	LW_COUNTER_TABLE(S, E)
#undef S
#undef E
};

const size_t dp_counter_n_descs = sizeof(dp_counter_descs) / sizeof(dp_counter_descs[0]);

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
	case DP_FE_ICMP_OTHER: return DP_DROP_ICMP_OTHER;
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
