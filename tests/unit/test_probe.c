/*
 * Unit tests of dataplane/probe: the probe table, the ARP and ICMP probe builders (checked
 * by the frame parser and by hand), the recognition of answers (good and malformed), the
 * conflict event queue.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "byteorder.h"
#include "probe.h"

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

static const uint8_t our_mac[6] = {0x02, 0xaa, 0, 0, 0, 1};
static const uint8_t relay_mac[6] = {0x02, 0xbb, 0, 0, 0, 2};
static const uint8_t host_mac[6] = {0x02, 0xcc, 0, 0, 0, 3};

static void table_alloc_find_full(void **state)
{
	static struct dp_probe_table t;
	int i;

	(void)state;
	memset(&t, 0, sizeof(t));
	assert_int_equal(dp_probe_find(&t, IP4(198, 18, 0, 10)), -1);
	assert_false(dp_probe_published(&t, IP4(198, 18, 0, 10)));
	assert_int_equal(dp_probe_alloc(&t, 0), -1);	/* 0 is "free" */
	for (uint32_t k = 0; k < DP_PROBE_MAX; k++) {
		assert_true(dp_probe_alloc(&t, IP4(198, 18, 1, 0) + k) >= 0);
	}
	assert_int_equal(t.n, DP_PROBE_MAX);
	assert_int_equal(dp_probe_alloc(&t, IP4(198, 18, 2, 0)), -1);	/* full */
	i = dp_probe_find(&t, IP4(198, 18, 1, 7));
	assert_true(i >= 0);
	assert_true(dp_probe_published(&t, IP4(198, 18, 1, 7)));
	dp_probe_release(&t, i);
	assert_int_equal(dp_probe_find(&t, IP4(198, 18, 1, 7)), -1);
	assert_false(dp_probe_published(&t, IP4(198, 18, 1, 7)));
	assert_int_equal(t.n, DP_PROBE_MAX - 1);
	dp_probe_release(&t, i);	/* twice: nothing */
	assert_int_equal(t.n, DP_PROBE_MAX - 1);
	assert_int_equal(dp_probe_alloc(&t, IP4(198, 18, 2, 0)), i);	/* the freed slot */
}

static void arp_probe_is_rfc5227(void **state)
{
	uint8_t buf[128];
	uint16_t tpid[2] = {0, 0}, tci[2] = {100, 0};
	struct dp_frame f;
	size_t n;

	(void)state;
	n = dp_probe_build_arp(buf, sizeof(buf), our_mac, 0, tpid, tci, IP4(198, 18, 0, 10));
	assert_int_equal(n, 42);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FRAME_ARP);	/* a request */
	assert_memory_equal(f.dst_mac, "\xff\xff\xff\xff\xff\xff", 6);
	assert_memory_equal(f.arp_sha, our_mac, 6);
	assert_int_equal(f.arp_spa, 0);			/* sender IP 0 */
	assert_int_equal(f.arp_tpa, IP4(198, 18, 0, 10));
	assert_memory_equal(buf + 32, "\0\0\0\0\0\0", 6);	/* target MAC 0 */
	/* Tagged: the tag is kept. */
	n = dp_probe_build_arp(buf, sizeof(buf), our_mac, 1, tpid, tci, IP4(198, 18, 0, 10));
	assert_int_equal(n, 46);
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FRAME_ARP);
	assert_int_equal(dp_frame_vlan(&f), 100);
	/* Too small a buffer, too many tags. */
	assert_int_equal(dp_probe_build_arp(buf, 41, our_mac, 0, tpid, tci, 1), 0);
	assert_int_equal(dp_probe_build_arp(buf, sizeof(buf), our_mac, 3, tpid, tci, 1), 0);
}

static void icmp_probe_is_an_echo_request(void **state)
{
	uint8_t buf[128];
	uint16_t tpid[2] = {0}, tci[2] = {0};
	struct dp_frame f;
	size_t n;

	(void)state;
	n = dp_probe_build_icmp(buf, sizeof(buf), relay_mac, our_mac, 0, tpid, tci,
				IP4(198, 18, 0, 1), IP4(198, 19, 5, 10), 77);
	assert_int_equal(n, 14 + 20 + 16);
	/* The parser takes it for what it is (checksums included). */
	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FRAME_ICMP_ECHO);
	assert_memory_equal(f.dst_mac, relay_mac, 6);
	assert_int_equal(f.ip_src, IP4(198, 18, 0, 1));
	assert_int_equal(f.ip_dst, IP4(198, 19, 5, 10));
	assert_int_equal(lw_get16(buf + 34 + 4), DP_PROBE_IDENT);
	assert_int_equal(lw_get16(buf + 34 + 6), 77);
	assert_int_equal(dp_probe_build_icmp(buf, 49, relay_mac, our_mac, 0, tpid, tci, 1, 2, 3),
			 0);
}

/* The answer a host gives an ARP probe: a reply to our MAC, target IP 0. */
static size_t arp_reply(uint8_t *buf, uint32_t spa)
{
	memset(buf, 0, 60);
	memcpy(buf, our_mac, 6);
	memcpy(buf + 6, host_mac, 6);
	lw_put16(buf + 12, 0x0806);
	lw_put16(buf + 14, 1);
	lw_put16(buf + 16, 0x0800);
	buf[18] = 6;
	buf[19] = 4;
	lw_put16(buf + 20, 2);
	memcpy(buf + 22, host_mac, 6);
	lw_put32(buf + 28, spa);
	memcpy(buf + 32, our_mac, 6);
	lw_put32(buf + 38, 0);
	return 60;
}

/* The reply a host sends to our echo request: the request, turned into its reply by the
 * frame module's own responder. */
static size_t echo_reply(uint8_t *buf, uint16_t seq)
{
	uint16_t tpid[2] = {0}, tci[2] = {0};
	struct dp_frame f;
	size_t n = dp_probe_build_icmp(buf, 128, relay_mac, our_mac, 0, tpid, tci,
				       IP4(198, 18, 0, 1), IP4(198, 19, 5, 10), seq);

	assert_int_equal(dp_frame_parse(buf, n, &f), DP_FRAME_ICMP_ECHO);
	return dp_frame_icmp_echo_reply(buf, &f, relay_mac);
}

static void answers_are_recognised(void **state)
{
	uint8_t buf[128];
	struct dp_probe_answer a;
	struct dp_frame f;
	size_t n;
	int kind;

	(void)state;
	/* ARP reply: refused by the parser (it answers requests only), an answer here. */
	n = arp_reply(buf, IP4(198, 18, 0, 10));
	kind = dp_frame_parse(buf, n, &f);
	assert_int_equal(kind, DP_FE_ARP);
	assert_true(dp_probe_answer_parse(buf, n, kind, &f, &a));
	assert_int_equal(a.how, DP_PROBE_ARP);
	assert_int_equal(a.addr, IP4(198, 18, 0, 10));
	assert_memory_equal(a.mac, host_mac, 6);

	/* ARP request from the address (the host asks for someone): an answer too. */
	n = arp_reply(buf, IP4(198, 18, 0, 10));
	lw_put16(buf + 20, 1);
	kind = dp_frame_parse(buf, n, &f);
	assert_int_equal(kind, DP_FRAME_ARP);
	assert_true(dp_probe_answer_parse(buf, n, kind, &f, &a));
	assert_int_equal(a.addr, IP4(198, 18, 0, 10));

	/* An ARP probe of someone else (sender 0) answers nothing. */
	lw_put32(buf + 28, 0);
	kind = dp_frame_parse(buf, n, &f);
	assert_false(dp_probe_answer_parse(buf, n, kind, &f, &a));

	/* Echo reply: well-formed ICMP, not malformed. */
	n = echo_reply(buf, 9);
	kind = dp_frame_parse(buf, n, &f);
	assert_int_equal(kind, DP_FE_ICMP_OTHER);
	assert_true(dp_probe_answer_parse(buf, n, kind, &f, &a));
	assert_int_equal(a.how, DP_PROBE_ICMP);
	assert_int_equal(a.addr, IP4(198, 19, 5, 10));
	assert_int_equal(a.dst, IP4(198, 18, 0, 1));
	assert_int_equal(a.ident, DP_PROBE_IDENT);
	assert_int_equal(a.seq, 9);
}

static void malformed_answers_are_not_answers(void **state)
{
	uint8_t buf[128];
	struct dp_probe_answer a;
	struct dp_frame f;
	size_t n;
	int kind;

	(void)state;
	/* ARP reply with a wrong hardware length, wrong protocol type, unknown op. */
	n = arp_reply(buf, IP4(198, 18, 0, 10));
	buf[18] = 8;
	kind = dp_frame_parse(buf, n, &f);
	assert_false(dp_probe_answer_parse(buf, n, kind, &f, &a));
	n = arp_reply(buf, IP4(198, 18, 0, 10));
	lw_put16(buf + 16, 0x86dd);
	kind = dp_frame_parse(buf, n, &f);
	assert_false(dp_probe_answer_parse(buf, n, kind, &f, &a));
	n = arp_reply(buf, IP4(198, 18, 0, 10));
	lw_put16(buf + 20, 3);
	kind = dp_frame_parse(buf, n, &f);
	assert_false(dp_probe_answer_parse(buf, n, kind, &f, &a));
	/* Truncated ARP. */
	n = arp_reply(buf, IP4(198, 18, 0, 10));
	kind = dp_frame_parse(buf, 30, &f);
	assert_int_equal(kind, DP_FE_TRUNCATED);
	assert_false(dp_probe_answer_parse(buf, 30, kind, &f, &a));

	/* Echo reply with a bad ICMP checksum, with a code, too short. */
	n = echo_reply(buf, 9);
	buf[n - 1] ^= 1;
	kind = dp_frame_parse(buf, n, &f);
	assert_int_equal(kind, DP_FE_ICMP);
	assert_false(dp_probe_answer_parse(buf, n, kind, &f, &a));
	n = echo_reply(buf, 9);
	buf[35] = 1;
	kind = dp_frame_parse(buf, n, &f);
	assert_false(dp_probe_answer_parse(buf, n, kind, &f, &a));
	/* Destination unreachable (type 3) is no echo reply. */
	n = echo_reply(buf, 9);
	buf[34] = 3;
	lw_put16(buf + 36, 0);
	lw_put16(buf + 36, dp_csum_finish(dp_csum_partial(buf + 34, n - 34, 0)));
	kind = dp_frame_parse(buf, n, &f);
	assert_int_equal(kind, DP_FE_ICMP_OTHER);
	assert_false(dp_probe_answer_parse(buf, n, kind, &f, &a));
	/* A malformed frame is never an answer, even one that would be an echo reply. */
	n = echo_reply(buf, 9);
	kind = dp_frame_parse(buf, n, &f);
	assert_true(dp_probe_answer_parse(buf, n, kind, &f, &a));
	assert_false(dp_probe_answer_parse(buf, n, DP_FE_ICMP, &f, &a));
	/* Anything else the parser refused is never an answer. */
	assert_false(dp_probe_answer_parse(buf, n, DP_FE_IP_CSUM, &f, &a));
	assert_false(dp_probe_answer_parse(buf, n, DP_FRAME_DHCP, &f, &a));
}

static void events_queue_is_bounded(void **state)
{
	static struct dp_conflict_events q;
	struct dp_conflict_event ev = {.how = DP_PROBE_ARP}, out;

	(void)state;
	memset(&q, 0, sizeof(q));
	assert_false(dp_conflict_event_pop(&q, &out));
	for (uint32_t i = 0; i < DP_PROBE_EVENTS; i++) {
		ev.addr = i + 1;
		assert_true(dp_conflict_event_push(&q, &ev));
	}
	ev.addr = 999;
	assert_false(dp_conflict_event_push(&q, &ev));	/* full: lost */
	for (uint32_t i = 0; i < DP_PROBE_EVENTS; i++) {
		assert_true(dp_conflict_event_pop(&q, &out));
		assert_int_equal(out.addr, i + 1);
	}
	assert_false(dp_conflict_event_pop(&q, &out));
	assert_true(dp_conflict_event_push(&q, &ev));
	assert_string_equal(dp_probe_how_str(DP_PROBE_ICMP), "icmp");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_alloc_find_full),
		cmocka_unit_test(arp_probe_is_rfc5227),
		cmocka_unit_test(icmp_probe_is_an_echo_request),
		cmocka_unit_test(answers_are_recognised),
		cmocka_unit_test(malformed_answers_are_not_answers),
		cmocka_unit_test(events_queue_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
