/*
 * Conflict detection (dataplane/probe.h) in a real worker: an EAL without hugepages, a
 * net_ring loopback port (what the worker transmits comes back on the port's RX queue, where
 * the test reads it), an LMDB store and the committer driven by hand. Time is the TSC the test
 * hands to dp_worker_probe_poll(). Two workers: the clients are worker 0's (the port has one
 * queue, which worker 0 transmits on); worker 1 only receives answers to worker 0's probes,
 * which it must steer to worker 0.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "committer.h"
#include "config.h"
#include "reqbuild.h"
#include "store.h"
#include "worker.h"
#include "worker_fix.h"

/* direct: ARP probes, 1 attempt; relayed: ICMP, 2 attempts; plain: no conflict detection. */
static const char *cfg_json =
	"{\"server\": {\"workers\": 1, \"mbufs\": 2047},"
	" \"ports\": [{\"name\": \"p0\", \"device\": \"net_ring0\","
	"   \"interfaces\": [{\"address\": \"198.18.0.1/22\"}]}],"
	" \"scopes\": [{\"name\": \"direct\", \"subnet\": \"198.18.0.0/22\","
	"   \"pools\": [\"198.18.0.100 - 198.18.3.200\"], \"decline-hold\": 3600,"
	"   \"conflict-detection-attempts\": 1, \"conflict-detection-timeout\": 100},"
	"  {\"name\": \"relayed\", \"subnet\": \"198.18.4.0/24\","
	"   \"pools\": [\"198.18.4.100 - 198.18.4.120\"],"
	"   \"conflict-detection-attempts\": 2, \"conflict-detection-timeout\": 100},"
	"  {\"name\": \"plain\", \"subnet\": \"198.18.8.0/24\","
	"   \"pools\": [\"198.18.8.100 - 198.18.8.120\"]}]}";

#define OUR_IP IP4(198, 18, 0, 1)

static const uint8_t relay_mac[6] = {0x02, 0xbb, 0, 0, 0, 2};
static const uint8_t host_mac[6] = {0x02, 0xcc, 0, 0, 0, 3};

static struct dp_runtime rt;
static struct store *st;
static struct committer *cm;
static char dir[64];

static int setup(void **state)
{
	char *eal[] = {"test_conflict", "--no-huge", "-m", "256", "--no-shconf", "--no-pci",
		       "--log-level=*:error", "--lcores=0@0", NULL};
	struct store_opts so = {.sync = STORE_SYNC_STRICT};
	struct committer_opts co = {.n_workers = 2};
	char err[512];
	struct dp_config *cfg;
	int rc;

	(void)state;
	if (rte_eal_init(8, eal) < 0) {
		fail_msg("EAL init failed");
	}
	urcu_qsbr_register_thread();
	cfg = cp_config_parse(cfg_json, err, sizeof(err));
	if (cfg == NULL) {
		fail_msg("config: %s", err);
	}
	rt.n_ports = 1;
	rt.tsc_hz = rte_get_tsc_hz();
	rt.tsc_base = rte_rdtsc();
	rt.unix_base = 1700000000;
	snprintf(dir, sizeof(dir), "/tmp/lw-conflict.XXXXXX");
	assert_non_null(mkdtemp(dir));
	st = store_open(dir, &so, err, sizeof(err));
	assert_non_null(st);
	cm = committer_new(st, &co);
	assert_non_null(cm);
	rt.commit.ops = &committer_ops;
	rt.commit.ctx = cm;
	rt.crdp = urcu_qsbr_create_call_rcu_data(URCU_CALL_RCU_RT, -1);
	urcu_qsbr_set_thread_call_rcu_data(rt.crdp);
	rt.mp = rte_pktmbuf_pool_create("t_mbufs", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	assert_non_null(rt.mp);
	rt.table = bt_table_new(dp_config_capacity(cfg));
	assert_null(dp_runtime_publish(&rt, cfg, dp_pools_new(cfg, 2), &rc));
	assert_int_equal(rc, 0);
	assert_int_equal(dp_workers_init(&rt, 2), 0);
	if (dp_ports_start(rt.snap->cfg, 1, rt.mp, rt.ports, err, sizeof(err)) != 0) {
		fail_msg("ports: %s", err);
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	wf_runtime_stop(&rt);
	committer_free(cm);
	store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0) {
		return -1;
	}
	wf_runtime_release(&rt);
	return 0;
}

static struct rte_mbuf *frame_of(const uint8_t *p, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(rt.mp);

	assert_non_null(m);
	memcpy(rte_pktmbuf_mtod(m, uint8_t *), p, len);
	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	m->port = 0;
	return m;
}

/* The first client from @p base on (chaddr 02:00:00:00:hi:lo) that worker 0 owns. */
static uint16_t mac(uint16_t base)
{
	for (uint16_t lo = base;; lo++) {
		struct reqbuf r;
		struct dhcp4_msg msg;
		struct dp_client_key key;

		rb_begin(&r, lo, lo);
		rb_type(&r, DHCP4_DISCOVER);
		rb_end(&r);
		assert_int_equal(dhcp4_parse(&msg, r.b, r.len), DHCP4_OK);
		assert_int_equal(dp_engine_client_key(rt.snap->cfg, &msg, 0, &key), 0);
		if (bt_key_owner(rt.table, &key, rt.n_workers) == 0) {
			return lo;
		}
	}
}

/* A DISCOVER from client @p mac_lo, direct (giaddr 0) or through the relay @p giaddr. */
static void discover(uint16_t mac_lo, uint32_t giaddr)
{
	struct dp_worker *w = &rt.workers[0];
	struct reqbuf r;
	struct dp_udp_dst d = {
		.dst_mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		.ip_src = giaddr, .ip_dst = giaddr ? OUR_IP : UINT32_MAX,
		.sport = giaddr ? 67 : 68, .dport = 67,
	};
	uint8_t buf[1500];
	struct rte_mbuf *m;
	size_t len;

	rb_begin(&r, mac_lo, mac_lo);
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_giaddr(&r, giaddr);
	rb_type(&r, DHCP4_DISCOVER);
	rb_end(&r);
	if (giaddr != 0) {
		memcpy(d.src_mac, relay_mac, 6);
	} else {
		memcpy(d.src_mac, (uint8_t[6]){0x02, 0, 0, 0, r.b[32], r.b[33]}, 6);
	}
	memcpy(buf + dp_frame_udp_hdr_len(0), r.b, r.len);
	len = dp_frame_build_udp(buf, sizeof(buf), &d, r.len);
	assert_true(len > 0);
	m = frame_of(buf, len);
	dp_worker_handle_burst(w, &m, 1);
	dp_worker_flush(w);
}

/* A direct, broadcast DHCP message of type @p type from client @p mac_lo, with a server id and a
 * requested address when not 0. */
static void direct_msg(uint16_t mac_lo, uint8_t type, uint32_t server_id, uint32_t requested)
{
	struct dp_worker *w = &rt.workers[0];
	struct reqbuf r;
	struct dp_udp_dst d = {
		.dst_mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		.ip_src = 0, .ip_dst = UINT32_MAX, .sport = 68, .dport = 67,
	};
	uint8_t buf[1500];
	struct rte_mbuf *m;
	size_t len;

	rb_begin(&r, mac_lo, mac_lo);
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_type(&r, type);
	if (server_id != 0) {
		rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, server_id);
	}
	if (requested != 0) {
		rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, requested);
	}
	rb_end(&r);
	memcpy(d.src_mac, (uint8_t[6]){0x02, 0, 0, 0, r.b[32], r.b[33]}, 6);
	memcpy(buf + dp_frame_udp_hdr_len(0), r.b, r.len);
	len = dp_frame_build_udp(buf, sizeof(buf), &d, r.len);
	assert_true(len > 0);
	m = frame_of(buf, len);
	dp_worker_handle_burst(w, &m, 1);
	dp_worker_flush(w);
}

/* What the worker transmitted since the last call. */
struct sent {
	unsigned arp, icmp, offer, other;
	uint32_t arp_tpa, arp_spa, icmp_dst, icmp_src, yiaddr;
	uint16_t icmp_seq;
	uint8_t icmp_dst_mac[6];
};

static struct sent collect(void)
{
	struct sent s;
	struct rte_mbuf *pk[32];
	uint16_t n;

	memset(&s, 0, sizeof(s));
	while ((n = rte_eth_rx_burst(rt.ports[0].port_id, 0, pk, 32)) > 0) {
		for (uint16_t i = 0; i < n; i++) {
			const uint8_t *p = rte_pktmbuf_mtod(pk[i], const uint8_t *);
			size_t off = dp_frame_udp_hdr_len(0);
			struct dhcp4_msg msg;
			struct dp_frame f;
			int kind = dp_frame_parse(p, pk[i]->data_len, &f);

			if (kind == DP_FRAME_ARP) {
				s.arp++;
				s.arp_tpa = f.arp_tpa;
				s.arp_spa = f.arp_spa;
			} else if (kind == DP_FRAME_ICMP_ECHO) {
				s.icmp++;
				s.icmp_dst = f.ip_dst;
				s.icmp_src = f.ip_src;
				s.icmp_seq = lw_get16(p + f.l4_off + 6);
				memcpy(s.icmp_dst_mac, f.dst_mac, 6);
			} else if (dhcp4_parse(&msg, p + off, pk[i]->pkt_len - off) == DHCP4_OK &&
				   msg.type == DHCP4_OFFER) {
				s.offer++;
				s.yiaddr = msg.yiaddr;
			} else {
				s.other++;
			}
			rte_pktmbuf_free(pk[i]);
		}
	}
	return s;
}

/* Let every pending probe time out (the TSC well past any deadline). */
static uint64_t later(void)
{
	static uint64_t t;

	t = (t > rte_rdtsc() ? t : rte_rdtsc()) + rt.tsc_hz * 10;
	return t;
}

#define time_out() do { \
	assert_true(dp_worker_probe_poll(&rt.workers[0], later()) > 0); \
	dp_worker_flush(&rt.workers[0]); \
} while (0)

/* What a host that owns @p spa answers to an ARP probe, received by worker @p w. */
static void inject_arp_reply_on(struct dp_worker *w, uint32_t spa, const uint8_t sha[6],
				uint8_t hlen)
{
	uint8_t b[60] = {0};
	struct rte_mbuf *m;

	memcpy(b, rt.ports[0].mac.addr_bytes, 6);
	memcpy(b + 6, host_mac, 6);
	lw_put16(b + 12, 0x0806);
	lw_put16(b + 14, 1);
	lw_put16(b + 16, 0x0800);
	b[18] = hlen;
	b[19] = 4;
	lw_put16(b + 20, 2);
	memcpy(b + 22, sha, 6);
	lw_put32(b + 28, spa);
	memcpy(b + 32, rt.ports[0].mac.addr_bytes, 6);
	m = frame_of(b, sizeof(b));
	dp_worker_handle_burst(w, &m, 1);
	dp_worker_flush(w);
}

static void inject_arp_reply(uint32_t spa, const uint8_t sha[6], uint8_t hlen)
{
	inject_arp_reply_on(&rt.workers[0], spa, sha, hlen);
}

/* The echo reply of @p from (through the relay) to our probe with sequence @p seq. */
static void inject_echo_reply(uint32_t from, uint16_t ident, uint16_t seq)
{
	uint16_t tpid[2] = {0}, tci[2] = {0};
	uint8_t b[128];
	struct dp_frame f;
	struct rte_mbuf *m;
	size_t n = dp_probe_build_icmp(b, sizeof(b), relay_mac, rt.ports[0].mac.addr_bytes, 0,
				       tpid, tci, OUR_IP, from, seq);

	lw_put16(b + 34 + 4, ident);
	lw_put16(b + 34 + 2, 0);
	lw_put16(b + 34 + 2, dp_csum_finish(dp_csum_partial(b + 34, 16, 0)));
	assert_int_equal(dp_frame_parse(b, n, &f), DP_FRAME_ICMP_ECHO);
	n = dp_frame_icmp_echo_reply(b, &f, relay_mac);
	m = frame_of(b, n);
	dp_worker_handle_burst(&rt.workers[0], &m, 1);
	dp_worker_flush(&rt.workers[0]);
}

static void arp_probe_then_offer(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	uint64_t sent0 = w->ctr.probes_sent;
	const struct bt_binding *b;
	uint16_t c = mac(0x10);
	struct sent s;
	uint32_t x;

	(void)state;
	discover(c, 0);
	s = collect();
	assert_int_equal(s.arp, 1);			/* the probe, not the OFFER */
	assert_int_equal(s.offer, 0);
	assert_int_equal(s.arp_spa, 0);			/* RFC 5227 probe */
	x = s.arp_tpa;
	assert_true(x >= IP4(198, 18, 0, 100) && x <= IP4(198, 18, 3, 200));
	assert_int_equal(w->ctr.probes_sent, sent0 + 1);
	b = bt_lookup_addr(rt.table, x);
	assert_non_null(b);
	assert_int_equal(b->state, BT_OFFERED);		/* held while probed */

	/* Not yet timed out: nothing. */
	assert_int_equal(dp_worker_probe_poll(w, rte_rdtsc()), 0);
	/* A copy of the DISCOVER meanwhile is dropped: the first is answered. */
	discover(c, 0);
	s = collect();
	assert_int_equal(s.arp + s.offer, 0);
	assert_int_equal(w->ctr.drop[DP_DROP_PROBE_PENDING], 1);

	time_out();
	s = collect();
	assert_int_equal(s.offer, 1);
	assert_int_equal(s.yiaddr, x);
	assert_int_equal(s.arp, 0);
	assert_int_equal(w->probes.n, 0);

	/* A repeated DISCOVER within the hold is not probed again. */
	discover(c, 0);
	s = collect();
	assert_int_equal(s.offer, 1);
	assert_int_equal(s.arp, 0);
}

static void arp_answer_abandons_and_probes_next(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	struct dp_conflict_event ev;
	const struct bt_binding *b;
	struct store_binding sb;
	uint64_t discovers;
	struct sent s;
	uint32_t x, y;

	(void)state;
	while (dp_worker_conflict_pop(w, &ev)) {
	}
	discovers = w->ctr.rx_dhcp[DHCP4_DISCOVER];
	discover(mac(0x20), 0);
	s = collect();
	assert_int_equal(s.arp, 1);
	x = s.arp_tpa;

	inject_arp_reply(x, host_mac, 6);
	s = collect();
	assert_int_equal(s.offer, 0);
	assert_int_equal(s.arp, 1);			/* the next candidate, probed */
	y = s.arp_tpa;
	assert_int_not_equal(y, x);
	assert_int_equal(w->ctr.conflicts, 1);

	b = bt_lookup_addr(rt.table, x);
	assert_non_null(b);
	assert_int_equal(b->state, BT_ABANDONED);
	assert_true(b->ends >= b->start + 3600);	/* decline-hold */
	assert_true(dp_worker_conflict_pop(w, &ev));
	assert_int_equal(ev.addr, x);
	assert_int_equal(ev.how, DP_PROBE_ARP);
	assert_memory_equal(ev.mac, host_mac, 6);
	assert_string_equal(ev.scope, "direct");
	assert_false(dp_worker_conflict_pop(w, &ev));

	/* Durable, as a DECLINE is. */
	assert_true(committer_round(cm) >= 1);
	assert_int_equal(store_get(st, x, &sb), 0);
	assert_int_equal(sb.state, BT_ABANDONED);

	time_out();
	s = collect();
	assert_int_equal(s.offer, 1);
	assert_int_equal(s.yiaddr, y);
	/* One DISCOVER received, however often it was decided. */
	assert_int_equal(w->ctr.rx_dhcp[DHCP4_DISCOVER], discovers + 1);
}

static void bad_answers_are_ignored(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	uint64_t malformed = w->ctr.drop[DP_DROP_ARP_MALFORMED];
	uint64_t ignored = w->ctr.probe_replies_ignored, conflicts = w->ctr.conflicts;
	struct sent s;
	uint32_t x;

	(void)state;
	discover(mac(0x30), 0);
	s = collect();
	assert_int_equal(s.arp, 1);
	x = s.arp_tpa;
	/* Malformed (hardware length 8): not an answer, dropped as before. */
	inject_arp_reply(x, host_mac, 8);
	assert_int_equal(w->ctr.drop[DP_DROP_ARP_MALFORMED], malformed + 1);
	/* Our own MAC as the sender: a loop, not a host. */
	inject_arp_reply(x, rt.ports[0].mac.addr_bytes, 6);
	assert_int_equal(w->ctr.probe_replies_ignored, ignored + 1);
	/* An answer from another address: nothing to do with the probe. */
	inject_arp_reply(x + 1000, host_mac, 6);
	assert_int_equal(w->ctr.conflicts, conflicts);
	s = collect();
	assert_int_equal(s.arp + s.offer, 0);
	time_out();
	s = collect();
	assert_int_equal(s.offer, 1);
	assert_int_equal(s.yiaddr, x);
}

static void icmp_probe_through_a_relay(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	uint64_t ignored = w->ctr.probe_replies_ignored, conflicts = w->ctr.conflicts;
	uint64_t icmp_bad = w->ctr.drop[DP_DROP_ICMP_MALFORMED];
	uint64_t icmp_other = w->ctr.drop[DP_DROP_ICMP_OTHER];
	const struct bt_binding *b;
	struct dp_conflict_event ev;
	struct sent s;
	uint32_t x;
	uint16_t seq;

	(void)state;
	discover(mac(0x40), IP4(198, 18, 4, 1));
	s = collect();
	assert_int_equal(s.icmp, 1);
	assert_int_equal(s.arp + s.offer, 0);
	assert_int_equal(s.icmp_src, OUR_IP);
	assert_memory_equal(s.icmp_dst_mac, relay_mac, 6);	/* through the relay */
	x = s.icmp_dst;
	assert_true(x >= IP4(198, 18, 4, 100) && x <= IP4(198, 18, 4, 120));
	seq = s.icmp_seq;

	/* Wrong sequence, wrong identifier: ignored and counted. */
	inject_echo_reply(x, DP_PROBE_IDENT, (uint16_t)(seq + 1));
	inject_echo_reply(x, 0x1234, seq);
	assert_int_equal(w->ctr.probe_replies_ignored, ignored + 2);
	assert_int_equal(w->ctr.conflicts, conflicts);
	/* Counted as well-formed ICMP with nothing to answer, never as malformed. */
	assert_int_equal(w->ctr.drop[DP_DROP_ICMP_OTHER], icmp_other + 2);
	assert_int_equal(w->ctr.drop[DP_DROP_ICMP_MALFORMED], icmp_bad);

	/* Two attempts: a second probe, then the offer. */
	time_out();
	s = collect();
	assert_int_equal(s.icmp, 1);
	assert_int_equal(s.icmp_dst, x);
	assert_int_equal(s.offer, 0);
	time_out();
	s = collect();
	assert_int_equal(s.offer, 1);
	assert_int_equal(s.yiaddr, x);

	/* Another client; its candidate answers. */
	while (dp_worker_conflict_pop(w, &ev)) {
	}
	discover(mac(0x50), IP4(198, 18, 4, 1));
	s = collect();
	assert_int_equal(s.icmp, 1);
	x = s.icmp_dst;
	inject_echo_reply(x, DP_PROBE_IDENT, s.icmp_seq);
	s = collect();
	assert_int_equal(w->ctr.conflicts, conflicts + 1);
	assert_int_equal(s.icmp, 1);
	assert_int_not_equal(s.icmp_dst, x);
	b = bt_lookup_addr(rt.table, x);
	assert_non_null(b);
	assert_int_equal(b->state, BT_ABANDONED);
	assert_true(dp_worker_conflict_pop(w, &ev));
	assert_int_equal(ev.how, DP_PROBE_ICMP);
	assert_string_equal(ev.scope, "relayed");
	time_out();
	time_out();
	s = collect();
	assert_int_equal(s.offer, 1);
}

static void no_attempts_no_probe(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	uint64_t sent0 = w->ctr.probes_sent;
	struct sent s;

	(void)state;
	discover(mac(0x60), IP4(198, 18, 8, 1));
	s = collect();
	assert_int_equal(s.offer, 1);
	assert_int_equal(s.arp + s.icmp, 0);
	assert_int_equal(w->ctr.probes_sent, sent0);
	assert_int_equal(w->probes.n, 0);
}

static void candidates_are_bounded(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	uint64_t conflicts = w->ctr.conflicts;
	struct dp_conflict_event ev;
	uint16_t c = mac(0x70);
	struct sent s;

	(void)state;
	discover(c, 0);
	s = collect();
	for (unsigned k = 0; k < DP_PROBE_CANDIDATES; k++) {
		assert_int_equal(s.arp, 1);
		inject_arp_reply(s.arp_tpa, host_mac, 6);
		assert_int_equal(bt_lookup_addr(rt.table, s.arp_tpa)->state, BT_ABANDONED);
		s = collect();
	}
	/* Every candidate answered: dropped, nothing offered unprobed. */
	assert_int_equal(s.arp + s.offer, 0);
	assert_int_equal(w->ctr.conflicts, conflicts + DP_PROBE_CANDIDATES);
	assert_int_equal(w->ctr.drop[DP_DROP_CONFLICT_CANDIDATES], 1);
	assert_int_equal(w->probes.n, 0);
	while (dp_worker_conflict_pop(w, &ev)) {
	}
	/* The retransmission starts over. */
	discover(c, 0);
	s = collect();
	assert_int_equal(s.arp, 1);
	time_out();
	s = collect();
	assert_int_equal(s.offer, 1);
}

static void answer_on_another_queue_reaches_the_prober(void **state)
{
	struct dp_worker *w0 = &rt.workers[0], *w1 = &rt.workers[1];
	uint64_t conflicts = w0->ctr.conflicts, steered = w1->ctr.steered;
	struct rte_mbuf *m;
	struct sent s;
	uint32_t x;

	(void)state;
	discover(mac(0x80), 0);
	s = collect();
	assert_int_equal(s.arp, 1);
	x = s.arp_tpa;
	/* The host's answer lands on worker 1's queue: steered to worker 0, the prober. */
	inject_arp_reply_on(w1, x, host_mac, 6);
	assert_int_equal(w1->ctr.steered, steered + 1);
	assert_int_equal(w1->ctr.conflicts, 0);
	assert_int_equal(rte_ring_count(w0->steer), 1);
	assert_int_equal(w0->ctr.conflicts, conflicts);
	/* Worker 0 takes it from its steering ring. */
	assert_int_equal(rte_ring_sc_dequeue(w0->steer, (void **)&m), 0);
	dp_worker_handle_burst(w0, &m, 1);
	dp_worker_flush(w0);
	assert_int_equal(w0->ctr.conflicts, conflicts + 1);
	assert_int_equal(bt_lookup_addr(rt.table, x)->state, BT_ABANDONED);
	s = collect();
	assert_int_equal(s.arp, 1);			/* the next candidate */
	assert_int_not_equal(s.arp_tpa, x);
	time_out();
	s = collect();
	assert_int_equal(s.offer, 1);
	/* Once no worker probes, an answer is a frame like any other (counted as before). */
	steered = w1->ctr.steered;
	inject_arp_reply_on(w1, x, host_mac, 6);
	assert_int_equal(w1->ctr.steered, steered);
	assert_int_equal(w1->ctr.drop[DP_DROP_ARP_MALFORMED], 1);
}

static void table_full_offers_unprobed(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	uint64_t skipped = w->ctr.probes_skipped;
	struct sent s;
	unsigned arps = 0, offers = 0;
	uint16_t c = 0x1000;

	(void)state;
	for (unsigned k = 0; k < DP_PROBE_MAX; k++) {
		c = mac((uint16_t)(c + 1));
		discover(c, 0);
		s = collect();
		arps += s.arp;
		offers += s.offer;
	}
	assert_int_equal(arps, DP_PROBE_MAX);
	assert_int_equal(offers, 0);
	assert_int_equal(w->probes.n, DP_PROBE_MAX);
	discover(mac((uint16_t)(c + 1)), 0);
	s = collect();
	assert_int_equal(s.offer, 1);			/* unprobed, counted */
	assert_int_equal(s.arp, 0);
	assert_int_equal(w->ctr.probes_skipped, skipped + 1);
	time_out();
	s = collect();
	assert_int_equal(w->probes.n, 0);
	assert_int_equal(s.offer, DP_PROBE_MAX);
}

/*
 * A probe outlives its client's hold: client 1 takes another server's offer while we probe
 * (its REQUEST names that server: our offer is withdrawn, the address is free again), and
 * client 2 asks for the address, which is probed anew for it. A host answers: that is a
 * conflict for client 2's offer. The answer went to client 1's stale slot (the first for
 * the address), whose hold was gone, so it was dropped with client 1's DISCOVER; client 2's
 * probe then timed out unanswered and the address a host had just claimed was offered.
 */
static void answer_reaches_the_live_probe_of_an_address(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	uint64_t conflicts = w->ctr.conflicts;
	uint16_t c1 = mac(0x90), c2 = mac((uint16_t)(c1 + 1));
	struct dp_conflict_event ev;
	struct sent s;
	uint32_t x;

	(void)state;
	while (dp_worker_conflict_pop(w, &ev)) {
	}
	discover(c1, 0);
	s = collect();
	assert_int_equal(s.arp, 1);
	x = s.arp_tpa;
	/* Client 1 chose another server's offer: ours is withdrawn. */
	direct_msg(c1, DHCP4_REQUEST, IP4(198, 18, 0, 2), IP4(198, 18, 0, 99));
	assert_null(bt_lookup_addr(rt.table, x));
	/* Client 2 asks for that address: probed for it. */
	direct_msg(c2, DHCP4_DISCOVER, 0, x);
	s = collect();
	assert_int_equal(s.arp, 1);
	assert_int_equal(s.arp_tpa, x);
	/* A host owns it and answers. */
	inject_arp_reply(x, host_mac, 6);
	assert_int_equal(w->ctr.conflicts, conflicts + 1);
	assert_int_equal(bt_lookup_addr(rt.table, x)->state, BT_ABANDONED);
	s = collect();
	assert_int_equal(s.arp, 1);		/* client 2's next candidate */
	assert_int_not_equal(s.arp_tpa, x);
	time_out();
	s = collect();
	assert_true(s.offer >= 1);
	assert_int_not_equal(s.yiaddr, x);	/* never the claimed address */
	while (dp_worker_probe_poll(w, later()) > 0) {
		dp_worker_flush(w);
		s = collect();
		assert_int_not_equal(s.yiaddr, x);
	}
	assert_int_equal(w->probes.n, 0);
	while (dp_worker_conflict_pop(w, &ev)) {
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(arp_probe_then_offer),
		cmocka_unit_test(arp_answer_abandons_and_probes_next),
		cmocka_unit_test(bad_answers_are_ignored),
		cmocka_unit_test(icmp_probe_through_a_relay),
		cmocka_unit_test(no_attempts_no_probe),
		cmocka_unit_test(candidates_are_bounded),
		cmocka_unit_test(answer_on_another_queue_reaches_the_prober),
		cmocka_unit_test(answer_reaches_the_live_probe_of_an_address),
		cmocka_unit_test(table_full_offers_unprobed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
