/*
 * info_codec: the client information's encoding in LMDB (info_codec.h).
 */
#include <string.h>

#include "info_codec.h"

size_t store_info_put(const struct dp_client_info *in, uint8_t *buf)
{
	size_t off = 4;
	uint8_t lens[4] = {
		in->host_len < DP_INFO_HOST_MAX ? in->host_len : DP_INFO_HOST_MAX,
		in->vendor_len < DP_INFO_VENDOR_MAX ? in->vendor_len : DP_INFO_VENDOR_MAX,
		in->circuit_len < DP_INFO_CIRCUIT_MAX ? in->circuit_len : DP_INFO_CIRCUIT_MAX,
		in->policy_len < DP_INFO_POLICY_MAX ? in->policy_len : DP_INFO_POLICY_MAX,
	};

	memcpy(buf, lens, 4);
	memcpy(buf + off, in->host, lens[0]);
	off += lens[0];
	memcpy(buf + off, in->vendor, lens[1]);
	off += lens[1];
	memcpy(buf + off, in->circuit, lens[2]);
	off += lens[2];
	memcpy(buf + off, in->policy, lens[3]);
	return off + lens[3];
}

bool store_info_get(const uint8_t *p, size_t len, struct dp_client_info *in)
{
	const uint8_t *q = p + 4;

	if (len < 4 || p[0] > DP_INFO_HOST_MAX || p[1] > DP_INFO_VENDOR_MAX ||
	    p[2] > DP_INFO_CIRCUIT_MAX || p[3] > DP_INFO_POLICY_MAX ||
	    len != 4 + (size_t)p[0] + p[1] + p[2] + p[3]) {
		return false;
	}
	in->host_len = dp_info_text_set(in->host, DP_INFO_HOST_MAX, q, p[0]);
	q += p[0];
	in->vendor_len = dp_info_text_set(in->vendor, DP_INFO_VENDOR_MAX, q, p[1]);
	q += p[1];
	in->circuit_len = p[2];
	memcpy(in->circuit, q, p[2]);
	q += p[2];
	in->policy_len = dp_info_text_set(in->policy, DP_INFO_POLICY_MAX, q, p[3]);
	return true;
}
