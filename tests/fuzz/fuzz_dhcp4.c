/*
 * libFuzzer harness for the frame and DHCP codecs (dataplane/frame.c, dataplane/dhcp4_wire.c).
 *
 * The input is tried twice: as an Ethernet frame, following the worker's path (frame parse,
 * DHCP parse, build a reply that echoes some request options, wrap it in UDP/IPv4/Ethernet;
 * ARP and ICMP replies in place), and as a bare BOOTP payload. Beyond memory safety it checks
 * properties the dataplane relies on and aborts when one breaks:
 *   - a reply written by the builder stays within its cap and parses back, with the echoed
 *     options intact;
 *   - a built UDP frame parses back as DHCP with the same payload;
 *   - ARP and ICMP replies carry valid checksums and stay within the received frame;
 *   - a frame taken for the answer to a conflict-detection probe (dataplane/probe.c) names a
 *     sender and a way it was probed, and a probe built for that sender parses back.
 * Without -fsanitize=fuzzer it is linked with replay_main.c and replays the corpus.
 */
#include <stdlib.h>
#include <string.h>

#include "dhcp4_wire.h"
#include "frame.h"
#include "probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLY_MAX 1500

/* Static like a worker's per-slot state: parse must not depend on what a previous run left. */
static struct dhcp4_msg req, back;
static uint8_t frame[65536 + 64];
static uint8_t payload_copy[REPLY_MAX];

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* Options the server writes itself, or that change how a message parses: never echoed. */
static bool echo_ok(uint8_t code)
{
	switch (code) {
	case DHCP4_OPT_PAD:
	case DHCP4_OPT_END:
	case DHCP4_OPT_REQUESTED_IP:
	case DHCP4_OPT_LEASE_TIME:
	case DHCP4_OPT_OVERLOAD:
	case DHCP4_OPT_MSG_TYPE:
	case DHCP4_OPT_SERVER_ID:
	case DHCP4_OPT_MAX_SIZE:
	case DHCP4_OPT_RELAY_AGENT:
		return false;
	default:
		return true;
	}
}

/* An echoed option that was written must come back byte for byte. */
static void check_echo(const struct dhcp4_msg *m, uint8_t code, const uint8_t *v, uint16_t l)
{
	uint16_t got_len;
	const uint8_t *got = dhcp4_opt(m, code, &got_len);

	CHECK(got != NULL && got_len == l && memcmp(got, v, l) == 0);
}

/* Bytes dhcp4_put() needs for a value of @p len bytes (RFC 3396 split included). */
static size_t put_size(size_t len)
{
	return len + 2 * (len ? (len + 254) / 255 : 1);
}

/* A put that may fail for lack of room: the engine then leaves the option out. */
static bool try_put(struct dhcp4_writer *w, uint8_t code, const void *v, size_t len)
{
	return dhcp4_put(w, code, v, len) == DHCP4_OK;
}

static bool try_put_u32(struct dhcp4_writer *w, uint8_t code, uint32_t v)
{
	return dhcp4_put_u32(w, code, v) == DHCP4_OK;
}

/*
 * Answer like the engine: message type, fixed options, what the client asked for in option
 * 55, and the relay agent option echoed last into room reserved for it from the start.
 */
static size_t build_reply(const struct dhcp4_msg *m, uint8_t *out)
{
	static bool echoed[256];
	struct dhcp4_writer w;
	const uint8_t *prl, *relay, *v;
	uint16_t prl_len = 0, relay_len = 0, l = 0;
	size_t cap = dhcp4_reply_cap(m, REPLY_MAX);
	size_t relay_need = 0;
	uint32_t yiaddr = 0x0a000064;
	int n;

	CHECK(cap >= DHCP4_DEFAULT_MAX_MSG - 28 && cap <= REPLY_MAX);
	CHECK(strcmp(dhcp4_type_str(m->type), "UNKNOWN") != 0);
	/* Offer what the client asked for, as a lenient server would. */
	if (dhcp4_opt_u32(m, DHCP4_OPT_REQUESTED_IP, &yiaddr)) {
		CHECK(dhcp4_has(m, DHCP4_OPT_REQUESTED_IP));
	}
	if (dhcp4_build_begin(&w, out, cap, m, m->ciaddr, yiaddr, 0x0a000001, "leasewire",
			      m->type == DHCP4_BOOTP ? "pxelinux.0" : NULL) != DHCP4_OK) {
		abort();
	}
	/* An option 82 too big to echo beside the message type is left out. */
	relay = dhcp4_opt(m, DHCP4_OPT_RELAY_AGENT, &relay_len);
	if (relay && w.len + w.reserve + put_size(relay_len) + 3 <= w.cap) {
		relay_need = put_size(relay_len);
		w.reserve += relay_need;
	} else {
		relay = NULL;
	}
	memset(echoed, 0, sizeof(echoed));
	if (m->type != DHCP4_BOOTP) {
		CHECK(dhcp4_put_u8(&w, DHCP4_OPT_MSG_TYPE, DHCP4_OFFER) == DHCP4_OK);
	}
	(void)try_put_u32(&w, DHCP4_OPT_SERVER_ID, 0x0a000001);
	(void)try_put(&w, DHCP4_OPT_LEASE_TIME, "\x00\x00\x0e\x10", 4);
	prl = dhcp4_opt(m, DHCP4_OPT_PRL, &prl_len);
	for (uint16_t i = 0; prl && i < prl_len; i++) {
		uint8_t code = prl[i];

		v = dhcp4_opt(m, code, &l);
		if (v && echo_ok(code) && !echoed[code]) {
			echoed[code] = try_put(&w, code, v, l);
		}
	}
	CHECK(w.len + w.reserve <= w.cap);
	if (relay) {
		w.reserve -= relay_need;
		CHECK(dhcp4_put(&w, DHCP4_OPT_RELAY_AGENT, relay, relay_len) == DHCP4_OK);
	}
	n = dhcp4_build_end(&w);
	CHECK(n >= DHCP4_HDR_LEN + 1 && (size_t)n <= cap);

	/* The reply must be something we can parse ourselves. */
	CHECK(dhcp4_parse(&back, out, (size_t)n) == DHCP4_OK);
	CHECK(back.op == DHCP4_BOOTREPLY && memcmp(&back.xid, &m->xid, 4) == 0);
	CHECK(back.yiaddr == yiaddr && back.giaddr == m->giaddr && back.flags == m->flags);
	CHECK(back.overload == 0);
	if (relay) {
		check_echo(&back, DHCP4_OPT_RELAY_AGENT, relay, relay_len);
	}
	for (unsigned code = 1; code < 255; code++) {
		if (echoed[code]) {
			v = dhcp4_opt(m, (uint8_t)code, &l);
			check_echo(&back, (uint8_t)code, v, l);
		}
	}
	return (size_t)n;
}

/* Wrap the reply in UDP/IPv4/Ethernet, with the request's tags, and parse that again. */
static void wrap_reply(const struct dp_frame *f, const uint8_t *payload, size_t len)
{
	static uint8_t out[REPLY_MAX + 64];
	struct dp_udp_dst d;
	struct dp_frame g;
	size_t hdr, n;

	memset(&d, 0, sizeof(d));
	memcpy(d.dst_mac, f->src_mac, DP_ETHER_ADDR_LEN);
	memcpy(d.src_mac, f->dst_mac, DP_ETHER_ADDR_LEN);
	d.nvlan = f->nvlan;
	memcpy(d.vlan_tpid, f->vlan_tpid, sizeof(d.vlan_tpid));
	memcpy(d.vlan_tci, f->vlan_tci, sizeof(d.vlan_tci));
	d.ip_src = f->ip_dst;
	d.ip_dst = f->ip_src;
	/* Addressed to port 67 so that our own parser accepts it. */
	d.sport = DP_DHCP_CLIENT_PORT;
	d.dport = DP_DHCP_SERVER_PORT;
	hdr = dp_frame_udp_hdr_len(d.nvlan);
	memcpy(out + hdr, payload, len);
	n = dp_frame_build_udp(out, sizeof(out), &d, len);
	CHECK(n == hdr + len);
	CHECK(dp_frame_parse(out, n, &g) == DP_FRAME_DHCP);
	CHECK(g.payload_off == hdr && g.payload_len == len && g.nvlan == f->nvlan);
	CHECK(dp_frame_vlan(&g) == dp_frame_vlan(f));
}

/* dhcp4_parse: OK, or one of the documented reasons (each has a counter name). */
static bool parse_request(const uint8_t *buf, size_t len)
{
	int ret = dhcp4_parse(&req, buf, len);

	CHECK(ret == DHCP4_OK || (ret < 0 && strcmp(dhcp4_err_str(ret), "unknown") != 0));
	return ret == DHCP4_OK;
}

static void run_dhcp(const struct dp_frame *f, const uint8_t *data)
{
	size_t n;

	if (!parse_request(data + f->payload_off, f->payload_len)) {
		return;
	}
	n = build_reply(&req, payload_copy);
	wrap_reply(f, payload_copy, n);
}

static void run_arp(const struct dp_frame *f, size_t size)
{
	static const uint8_t mac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	struct dp_frame g;
	size_t n = dp_frame_arp_reply(frame, f, mac, f->arp_tpa);

	CHECK(n <= size);
	/* A reply is not a request. */
	CHECK(dp_frame_parse(frame, n, &g) == DP_FE_ARP);
}

static void run_icmp(const struct dp_frame *f, size_t size)
{
	static const uint8_t mac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	size_t n = dp_frame_icmp_echo_reply(frame, f, mac);

	CHECK(n <= size && n == (size_t)f->l4_off + f->l4_len);
	CHECK(dp_csum_finish(dp_csum_partial(frame + f->l3_off, f->l4_off - f->l3_off, 0)) == 0);
	CHECK(dp_csum_finish(dp_csum_partial(frame + f->l4_off, f->l4_len, 0)) == 0);
}

/* Answers to conflict-detection probes are looked for among what the parser refuses. */
static void run_probe_answer(const uint8_t *data, size_t size, int kind, const struct dp_frame *f)
{
	static const uint8_t mac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	struct dp_probe_answer a;
	struct dp_frame g;
	uint8_t probe[128];
	size_t n;

	if (!dp_probe_answer_parse(data, size, kind, f, &a)) {
		return;
	}
	CHECK(a.addr != 0 && (a.how == DP_PROBE_ARP || a.how == DP_PROBE_ICMP));
	CHECK(kind == DP_FRAME_ARP || kind == DP_FE_ARP || kind == DP_FE_ICMP_OTHER);
	n = a.how == DP_PROBE_ARP ?
	    dp_probe_build_arp(probe, sizeof(probe), mac, f->nvlan, f->vlan_tpid, f->vlan_tci,
			       a.addr) :
	    dp_probe_build_icmp(probe, sizeof(probe), a.mac, mac, f->nvlan, f->vlan_tpid,
				f->vlan_tci, a.dst, a.addr, a.seq);
	CHECK(n > 0);
	CHECK(dp_frame_parse(probe, n, &g) ==
	      (a.how == DP_PROBE_ARP ? DP_FRAME_ARP : DP_FRAME_ICMP_ECHO));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_frame f;
	int kind = dp_frame_parse(data, size, &f);

	CHECK(kind > 0 || strcmp(dp_frame_err_str(kind), "unknown") != 0);
	switch (kind) {
	case DP_FRAME_DHCP:
		CHECK((size_t)f.payload_off + f.payload_len <= size);
		run_dhcp(&f, data);
		break;
	case DP_FRAME_ARP:
		if (size <= sizeof(frame)) {
			memcpy(frame, data, size);
			run_arp(&f, size);
		}
		break;
	case DP_FRAME_ICMP_ECHO:
		if (size <= sizeof(frame)) {
			memcpy(frame, data, size);
			run_icmp(&f, size);
		}
		break;
	default:
		break;
	}
	run_probe_answer(data, size, kind, &f);

	/* The same bytes as a bare BOOTP message, as a relay or a test tool would hand it. */
	if (parse_request(data, size)) {
		(void)build_reply(&req, payload_copy);
	}
	return 0;
}
