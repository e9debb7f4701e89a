/*
 * The worker's park, with DPDK for real: an EAL without hugepages, a net_ring loopback port
 * (what the worker transmits comes back on the port's RX queue, where the test reads it), an
 * LMDB store and the committer driven by hand. A DHCPACK must not leave the worker before the
 * committer has made its binding durable, even while commits fail.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "byteorder.h"
#include "committer.h"
#include "config.h"
#include "reqbuild.h"
#include "store.h"
#include "worker.h"
#include "worker_fix.h"

static const char *cfg_json =
	"{\"server\": {\"workers\": 1, \"mbufs\": 1023},"
	" \"ports\": [{\"name\": \"p0\", \"device\": \"net_ring0\","
	"   \"interfaces\": [{\"address\": \"198.18.0.1/24\"},"
	"                  {\"address\": \"198.18.1.1/24\", \"vlan\": 10}]}],"
	" \"scopes\": [{\"name\": \"lab\", \"subnet\": \"198.18.0.0/24\","
	"   \"pools\": [\"198.18.0.100 - 198.18.0.120\"], \"lease-time\": 600},"
	"  {\"name\": \"lab10\", \"subnet\": \"198.18.1.0/24\","
	"   \"pools\": [\"198.18.1.100 - 198.18.1.110\"], \"lease-time\": 600,"
	"   \"policies\": [{\"name\": \"long\", \"lease-time\": 200000, \"conditions\":"
	"     [{\"type\": \"vendor-class\", \"values\": [\"long-lease\"]}]}]}]}";

static struct dp_runtime rt;
static struct store *st;
static struct committer *cm;
static char dir[64];

static int setup(void **state)
{
	char *eal[] = {"test_worker", "--no-huge", "-m", "128", "--no-shconf", "--no-pci",
		       "--log-level=*:error", "--lcores=0@0", NULL};
	struct store_opts so = {.sync = STORE_SYNC_STRICT};
	struct committer_opts co = {.n_workers = 1};
	char err[512];

	(void)state;
	if (rte_eal_init(8, eal) < 0) {
		fail_msg("EAL init failed");
	}
	urcu_qsbr_register_thread();
	struct dp_config *cfg = cp_config_parse(cfg_json, err, sizeof(err));
	int rc;

	assert_non_null(cfg);
	rt.n_ports = 1;
	rt.tsc_hz = rte_get_tsc_hz();
	rt.tsc_base = rte_rdtsc();
	rt.unix_base = 1700000000;
	snprintf(dir, sizeof(dir), "/tmp/lw-worker.XXXXXX");
	assert_non_null(mkdtemp(dir));
	st = store_open(dir, &so, err, sizeof(err));
	assert_non_null(st);
	cm = committer_new(st, &co);
	assert_non_null(cm);
	rt.commit.ops = &committer_ops;
	rt.commit.ctx = cm;
	rt.crdp = urcu_qsbr_create_call_rcu_data(URCU_CALL_RCU_RT, -1);
	urcu_qsbr_set_thread_call_rcu_data(rt.crdp);
	rt.mp = rte_pktmbuf_pool_create("t_mbufs", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	rt.table = bt_table_new(dp_config_capacity(cfg));
	assert_null(dp_runtime_publish(&rt, cfg, dp_pools_new(cfg, 1), &rc));
	assert_int_equal(rc, 0);
	assert_non_null(rt.mp);
	assert_int_equal(dp_workers_init(&rt, 1), 0);
	/* The engine reads the failover views where the control thread publishes them. */
	assert_ptr_equal(rt.workers[0].eng.fo, rt.fo);
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

/* A client frame carrying @p r with @p nvlan tags (VLAN 10 innermost; QinQ: S-tag 5 outside
 * it), as the worker receives it. */
static struct rte_mbuf *client_frame_tagged(const struct reqbuf *r, unsigned nvlan)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(rt.mp);
	struct dp_udp_dst d = {
		.dst_mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		.src_mac = {0x02, 0, 0, 0, r->b[32], r->b[33]},
		.nvlan = (uint8_t)nvlan,
		.vlan_tpid = {nvlan == 2 ? 0x88a8 : 0x8100, 0x8100},
		.vlan_tci = {nvlan == 2 ? 5 : 10, 10},
		.ip_src = 0, .ip_dst = UINT32_MAX, .sport = 68, .dport = 67,
	};
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	size_t hdr = dp_frame_udp_hdr_len(nvlan), len;

	memcpy(p + hdr, r->b, r->len);
	len = dp_frame_build_udp(p, m->buf_len - m->data_off, &d, r->len);
	assert_true(len > 0);
	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	m->port = 0;	/* config port index */
	return m;
}

/* A client frame carrying @p r, untagged, as the worker receives it. */
static struct rte_mbuf *client_frame(const struct reqbuf *r)
{
	return client_frame_tagged(r, 0);
}

/* Frames the worker has transmitted (looped back by net_ring): their DHCP types. */
static unsigned transmitted(uint8_t *types, unsigned max)
{
	struct rte_mbuf *pk[32];
	uint16_t n = rte_eth_rx_burst(rt.ports[0].port_id, 0, pk, 32);
	unsigned k = 0;

	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *p = rte_pktmbuf_mtod(pk[i], const uint8_t *);
		struct dhcp4_msg msg;
		size_t off = dp_frame_udp_hdr_len(0);

		assert_int_equal(dhcp4_parse(&msg, p + off, pk[i]->pkt_len - off), DHCP4_OK);
		if (k < max) {
			types[k++] = msg.type;
		}
		rte_pktmbuf_free(pk[i]);
	}
	return n;
}

static uint64_t cm_ops_posted(uint32_t worker)
{
	return committer_ops.posted(cm, worker);
}

static void ack_waits_for_durability(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	struct rte_mbuf *m;
	struct reqbuf r;
	uint8_t types[8];
	uint32_t offered;
	struct store_binding sb;

	(void)state;
	rb_begin(&r, 1, 1);
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_type(&r, DHCP4_DISCOVER);
	rb_end(&r);
	m = client_frame(&r);
	dp_worker_handle_burst(w, &m, 1);
	dp_worker_flush(w);
	assert_int_equal(transmitted(types, 8), 1);	/* an OFFER commits nothing: sent */
	assert_int_equal(types[0], DHCP4_OFFER);
	offered = bt_lookup_addr(rt.table, IP4(198, 18, 0, 100)) ? IP4(198, 18, 0, 100) : 0;
	assert_int_not_equal(offered, 0);

	rb_begin(&r, 1, 2);
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_type(&r, DHCP4_REQUEST);
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, IP4(198, 18, 0, 1));
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, offered);
	rb_end(&r);
	m = client_frame(&r);
	store_inject_failure(st, 3, STORE_E_IO);
	dp_worker_handle_burst(w, &m, 1);
	dp_worker_flush(w);
	assert_int_equal(w->park_count, 1);
	assert_int_equal(transmitted(types, 8), 0);	/* parked */

	for (int i = 0; i < 3; i++) {
		assert_true(committer_round(cm) < 0);	/* the store refuses the batch */
		dp_worker_flush(w);
		assert_int_equal(transmitted(types, 8), 0);
	}
	assert_int_equal(store_get(st, offered, &sb), -ENOENT);

	assert_int_equal(committer_round(cm), 1);	/* durable now */
	assert_int_equal(store_get(st, offered, &sb), 0);
	assert_int_equal(sb.state, BT_ACTIVE);
	dp_worker_flush(w);
	assert_int_equal(transmitted(types, 8), 1);
	assert_int_equal(types[0], DHCP4_ACK);
	assert_int_equal(w->park_count, 0);
	assert_int_equal(w->ctr.parked, 1);
}

/* A store outage outlasts the lease: the binding is reclaimed while its ACK is parked. When
 * the store comes back the stale ACK must not go out (the address may be someone else's). */
static void stale_parked_ack_is_dropped(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	struct rte_mbuf *m;
	struct reqbuf r;
	uint8_t types[8];
	uint32_t addr = IP4(198, 18, 0, 105);

	(void)state;
	rb_begin(&r, 2, 3);	/* offered first: a SELECTING REQUEST needs our offer */
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, addr);
	rb_end(&r);
	m = client_frame(&r);
	dp_worker_handle_burst(w, &m, 1);
	dp_worker_flush(w);
	assert_int_equal(transmitted(types, 8), 1);
	assert_int_equal(types[0], DHCP4_OFFER);
	assert_int_equal(bt_lookup_addr(rt.table, addr)->state, BT_OFFERED);
	rb_begin(&r, 2, 3);
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_type(&r, DHCP4_REQUEST);
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, IP4(198, 18, 0, 1));
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, addr);
	rb_end(&r);
	m = client_frame(&r);
	store_inject_failure(st, 1, STORE_E_IO);
	dp_worker_handle_burst(w, &m, 1);
	dp_worker_flush(w);
	assert_int_equal(w->park_count, 1);
	assert_true(committer_round(cm) < 0);
	/* Much later, still not durable: the lease has ended and is reclaimed. */
	assert_true(dp_engine_reclaim(&w->eng, rt.snap->cfg, addr, dp_runtime_now(&rt) + 10000));
	assert_int_equal(committer_round(cm), 2);	/* ACTIVE then EXPIRED, one batch */
	dp_worker_flush(w);
	assert_int_equal(transmitted(types, 8), 0);
	assert_int_equal(w->ctr.drop[DP_DROP_STALE_PARKED], 1);
	assert_int_equal(w->park_count, 0);
}

/* A REQUEST that arrives with the park full is refused before the engine runs: no change is
 * posted for a reply that could not be parked (the committer would write it for nothing). */
static void park_full_posts_nothing(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	struct rte_mbuf *m;
	struct reqbuf r;
	uint8_t types[8];
	uint32_t addr = IP4(198, 18, 0, 110);
	uint64_t posted = cm_ops_posted(w->id);

	(void)state;
	rb_begin(&r, 3, 4);
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_type(&r, DHCP4_REQUEST);
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, IP4(198, 18, 0, 1));
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, addr);
	rb_end(&r);
	m = client_frame(&r);
	/* Stand-in for a full park; the slots are never read (no flush while it is full). */
	w->park_count = DP_PARK_MAX;
	dp_worker_handle_burst(w, &m, 1);
	w->park_count = 0;
	assert_int_equal(w->ctr.drop[DP_DROP_PARK_FULL], 1);
	assert_int_equal(cm_ops_posted(w->id), posted);
	assert_null(bt_lookup_addr(rt.table, addr));
	assert_int_equal(committer_round(cm), 0);
	dp_worker_flush(w);
	assert_int_equal(transmitted(types, 8), 0);
}

/*
 * The workers' clock follows the wall clock (worker.h): it started at unix_base (2023) while
 * the wall clock says otherwise, as after a step; the control thread's tick brings it to the
 * wall clock at once. Leases granted before the step are judged by the old clock for a while;
 * a backward step never takes a worker's clock back.
 */
static void clock_follows_wall_clock_steps(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	uint64_t before = dp_worker_now(w), t, floor, max, wall;
	struct timespec ts;
	int64_t step;

	(void)state;
	assert_true(before >= 1700000000 && before < 1700000000 + 60);
	assert_int_equal(dp_runtime_reclaim_now(&rt, before), before);
	step = dp_runtime_clock_tick(&rt);
	clock_gettime(CLOCK_REALTIME, &ts);
	assert_true(step > 0);
	t = dp_worker_now(w);
	assert_true(t + 1 >= (uint64_t)ts.tv_sec && t <= (uint64_t)ts.tv_sec + 1);
	/* A lease granted just before the step (ends before + 600) is not ended to a reclaim
	 * for the longest lease time a client may get (here lab10's policy "long", longer
	 * than any max-lease-time); after that the grace is gone. */
	assert_true(dp_runtime_reclaim_now(&rt, t) < before + 600);
	max = rt.snap->cfg->scopes[1].policies[0].lease_time;
	assert_true(max > rt.snap->cfg->scopes[0].max_lease_time);
	assert_true(dp_runtime_reclaim_now(&rt, t + max - 2) < before + max);
	assert_int_equal(dp_runtime_reclaim_now(&rt, t + max + 1), t + max + 1);
	assert_int_equal(dp_runtime_clock_tick(&rt), 0);	/* no step: nothing new */
	/* The clock had been read an hour ahead (and the forward grace is over); the next tick
	 * steps it back. */
	atomic_store(&rt.grace_s, 0);
	atomic_store(&rt.grace_until, 0);
	atomic_store(&rt.wall_off_ns, atomic_load(&rt.wall_off_ns) + 3600 * 1000000000LL);
	floor = dp_worker_now(w);
	assert_true(floor >= t + 3599);
	assert_true(dp_runtime_clock_tick(&rt) <= -3599);
	wall = dp_runtime_now(&rt);
	assert_true(wall < floor);
	t = dp_worker_now(w);
	assert_true(t >= floor && t <= floor + 1);	/* never goes back */
	/* A lease the wall clock wrote (an operator's, ending in 10 s) is not judged ended by
	 * the worker's clock, an hour ahead. */
	assert_true(dp_worker_ended_by(w, t) < wall + 10);
	/* 100 s pass (the TSC's origin moved back by 100 s): the worker's clock runs on at
	 * half speed, it does not stand still for the hour. */
	rt.tsc_base -= 100 * rt.tsc_hz;
	t = dp_worker_now(w);
	assert_true(dp_runtime_now(&rt) >= wall + 99 && dp_runtime_now(&rt) <= wall + 101);
	assert_true(t >= floor + 49 && t <= floor + 51);
	assert_true(dp_worker_ended_by(w, t) <= dp_runtime_now(&rt));
	/* Two hours on, it has caught up with the wall clock and follows it again. */
	rt.tsc_base -= 7200 * rt.tsc_hz;
	(void)dp_worker_now(w);
	rt.tsc_base -= 10 * rt.tsc_hz;
	t = dp_worker_now(w);
	assert_true(t + 1 >= dp_runtime_now(&rt) && t <= dp_runtime_now(&rt) + 1);
	(void)dp_runtime_clock_tick(&rt);	/* back to the real wall clock for what follows */
}

/* Run @p r through the worker, committing what it posts: the DHCP types it sent. */
static unsigned exchange(struct dp_worker *w, const struct reqbuf *r, uint8_t *types)
{
	struct rte_mbuf *m = client_frame(r);

	dp_worker_handle_burst(w, &m, 1);
	dp_worker_flush(w);
	(void)committer_round(cm);
	dp_worker_flush(w);
	return transmitted(types, 8);
}

/*
 * The wall clock steps forward by two hours (it was behind): a lease granted just before the
 * step carries an end two hours early in wall terms, while its client still holds it for ten
 * minutes. No other client may be given the address meanwhile, asking for it by name
 * (SELECTING with option 50) included: it is judged with the same grace as the reclaims.
 */
/* The wall clock two hours ahead of the runtime's, as at boot before NTP: the next
 * dp_runtime_clock_tick() is a forward step of 7 200 s. No grace from earlier tests. */
static void clock_behind(struct dp_worker *w)
{
	(void)dp_runtime_clock_tick(&rt);
	atomic_store(&rt.grace_s, 0);
	atomic_store(&rt.grace_until, 0);
	atomic_store(&rt.wall_off_ns, atomic_load(&rt.wall_off_ns) - 7200 * 1000000000LL);
	w->clk_ns = 0;
}

/* Undo the @p later seconds a test let pass (rt.tsc_base) and its grace: back to the real
 * clock for the next test. */
static void clock_restore(struct dp_worker *w, uint64_t later)
{
	rt.tsc_base += later * rt.tsc_hz;
	atomic_store(&rt.grace_s, 0);
	atomic_store(&rt.grace_until, 0);
	w->clk_ns = 0;
	(void)dp_runtime_clock_tick(&rt);
}

static void forward_step_never_gives_a_live_lease_away(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	uint32_t addr = IP4(198, 18, 0, 108);
	const struct bt_binding *b;
	struct reqbuf r;
	uint8_t types[8];

	(void)state;
	/* The previous test left the clock ahead and a floor: start from a clock two hours
	 * behind the wall clock, as at boot before NTP. */
	clock_behind(w);

	/* The first client: DISCOVER for the address, then SELECTING (flood control answers no
	 * SELECTING REQUEST for an address never offered to the client). */
	rb_begin(&r, 5, 9);
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, addr);
	rb_end(&r);
	assert_int_equal(exchange(w, &r, types), 1);
	assert_int_equal(types[0], DHCP4_OFFER);
	rb_begin(&r, 5, 10);
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_type(&r, DHCP4_REQUEST);
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, IP4(198, 18, 0, 1));
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, addr);
	rb_end(&r);
	assert_int_equal(exchange(w, &r, types), 1);
	assert_int_equal(types[0], DHCP4_ACK);
	b = bt_lookup_addr(rt.table, addr);
	assert_non_null(b);
	assert_int_equal(b->state, BT_ACTIVE);

	assert_true(dp_runtime_clock_tick(&rt) >= 7199);	/* NTP steps the clock */

	/* Another client asks for the address by name: never an ACK. */
	rb_begin(&r, 6, 11);
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_type(&r, DHCP4_REQUEST);
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, IP4(198, 18, 0, 1));
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, addr);
	rb_end(&r);
	if (exchange(w, &r, types) == 1) {
		assert_int_not_equal(types[0], DHCP4_ACK);
	}
	/* Nor INIT-REBOOT (no server id: flood control's offer rule does not apply). */
	rb_begin(&r, 6, 13);
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_type(&r, DHCP4_REQUEST);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, addr);
	rb_end(&r);
	if (exchange(w, &r, types) == 1) {
		assert_int_not_equal(types[0], DHCP4_ACK);
	}
	/* Nor an offer of it. */
	rb_begin(&r, 6, 12);
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, addr);
	rb_end(&r);
	assert_int_equal(exchange(w, &r, types), 1);
	assert_int_equal(types[0], DHCP4_OFFER);
	b = bt_lookup_addr(rt.table, addr);
	assert_non_null(b);
	assert_int_equal(b->state, BT_ACTIVE);
	assert_int_equal(b->key.data[6], 5);	/* still the first client's */
}

/*
 * A store that commits nothing (a failed or stalled disk) must not take every mbuf with
 * parked ACKs: past the worker's share of half the pool (dp_park_max()) a REQUEST is dropped
 * before the engine runs, so the rest of the service, which needs no store (here an OFFER),
 * still has buffers. When the store is back the parked ACKs go out.
 */
static void store_outage_leaves_mbufs_for_the_rest(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	uint32_t addr = IP4(198, 18, 0, 103);
	uint64_t park_full = w->ctr.drop[DP_DROP_PARK_FULL], tx_full;
	unsigned acks = 0, n = 0;
	struct rte_mbuf *m;
	struct reqbuf r;
	uint8_t types[32];

	(void)state;
	assert_int_equal(w->park_max, 1023 / 2);
	rb_begin(&r, 20, 40);
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, addr);
	rb_end(&r);
	m = client_frame(&r);
	dp_worker_handle_burst(w, &m, 1);
	dp_worker_flush(w);
	assert_int_equal(transmitted(types, 8), 1);
	assert_int_equal(types[0], DHCP4_OFFER);

	/* The client asks again and again while every commit fails. */
	store_inject_failure(st, 1000, STORE_E_IO);
	rb_begin(&r, 20, 41);
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_type(&r, DHCP4_REQUEST);
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, IP4(198, 18, 0, 1));
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, addr);
	rb_end(&r);
	for (unsigned i = 0; i < 2 * 1023; i++) {
		m = client_frame(&r);
		dp_worker_handle_burst(w, &m, 1);
		dp_worker_flush(w);
		if (i % 64 == 0) {
			assert_true(committer_round(cm) < 0);
		}
	}
	assert_int_equal(transmitted(types, 8), 0);	/* no ACK before it is durable */
	assert_int_equal(w->park_count, w->park_max);
	assert_int_equal(w->ctr.drop[DP_DROP_PARK_FULL] - park_full, 2 * 1023 - w->park_max);
	assert_true(rte_mempool_avail_count(rt.mp) >= 1023 - w->park_max - 64);

	/* Another client is still offered an address. */
	rb_begin(&r, 21, 42);
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_type(&r, DHCP4_DISCOVER);
	rb_end(&r);
	m = client_frame(&r);
	dp_worker_handle_burst(w, &m, 1);
	dp_worker_flush(w);
	assert_int_equal(transmitted(types, 8), 1);
	assert_int_equal(types[0], DHCP4_OFFER);

	/* The disk is back: every parked ACK leaves, none of the dropped requests is answered.
	 * There are more of them than the port's ring holds: what it does not take in one turn
	 * stays parked for the next, none is lost as tx_full. */
	store_inject_failure(st, 0, 0);
	assert_true(committer_round(cm) > 0);
	tx_full = w->ctr.drop[DP_DROP_TX_FULL];
	/* The port's ring (1023 frames) already holds 700 others (one mbuf, referenced 700
	 * times), so it has room for fewer than the parked ACKs. */
	m = client_frame(&r);
	rte_mbuf_refcnt_update(m, 699);
	for (unsigned i = 0; i < 700; i++) {
		assert_int_equal(rte_eth_tx_burst(rt.ports[0].port_id, 0, &m, 1), 1);
	}
	for (unsigned turn = 0; turn < 1000 && (w->park_count > 0 || n > 0); turn++) {
		dp_worker_flush(w);
		if (turn == 0) {
			assert_true(w->park_count > 0);	/* the ring took only part of them */
		}
		while ((n = transmitted(types, 32)) > 0) {
			for (unsigned i = 0; i < n && i < 32; i++) {
				acks += types[i] == DHCP4_ACK;
			}
		}
	}
	assert_int_equal(acks, w->park_max);
	assert_int_equal(w->ctr.drop[DP_DROP_TX_FULL], tx_full);
	assert_int_equal(w->park_count, 0);
}

/* A scope's offer-delay holds the OFFER in the worker's delay queue, not the worker: the
 * flush right after sends nothing, a flush once the delay is over sends it. */
static void offer_waits_out_the_scope_delay(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	struct dp_scope *sc = &rt.snap->cfg->scopes[0];
	struct rte_mbuf *m;
	struct reqbuf r;
	uint8_t types[8];
	uint64_t t0, waited;
	unsigned n = 0;

	(void)state;
	sc->offer_delay_ms = 40;
	rb_begin(&r, 77, 1);
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_type(&r, DHCP4_DISCOVER);
	rb_end(&r);
	m = client_frame(&r);
	t0 = rte_rdtsc();
	dp_worker_handle_burst(w, &m, 1);
	dp_worker_flush(w);
	assert_int_equal(w->delay_count, 1);
	assert_int_equal(transmitted(types, 8), 0);
	/* Poll as the loop does, for at most 2 s. */
	while (n == 0 && rte_rdtsc() - t0 < 2 * rt.tsc_hz) {
		dp_worker_flush(w);
		n = transmitted(types, 8);
	}
	waited = (rte_rdtsc() - t0) * 1000 / rt.tsc_hz;
	assert_int_equal(n, 1);
	assert_int_equal(types[0], DHCP4_OFFER);
	assert_int_equal(w->delay_count, 0);
	assert_true(waited >= 40);
	sc->offer_delay_ms = 0;
}

/*
 * review12 reproducer: dp_worker_handle_burst() takes any n (worker.h says nothing of a
 * limit), but warm_burst() keeps a key and a hash per DISCOVER in arrays of DP_BURST: a
 * burst of more than DP_BURST DISCOVERs writes past them (ASan: stack-buffer-overflow).
 */
static void burst_longer_than_dp_burst(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	enum { N = DP_BURST + 16 };
	struct rte_mbuf *m[N];
	uint8_t types[32];

	(void)state;
	for (unsigned i = 0; i < N; i++) {
		struct reqbuf r;

		rb_begin(&r, (uint16_t)(0x100 + i), 1000 + i);
		rb_flags(&r, DHCP4_FLAG_BROADCAST);
		rb_type(&r, DHCP4_DISCOVER);
		rb_end(&r);
		m[i] = client_frame(&r);
	}
	dp_worker_handle_burst(w, m, N);
	dp_worker_flush(w);
	while (transmitted(types, 32) != 0) {
	}
}

/* One DORA of client @p mac (its ACK made durable and sent): the ACK's publish retires the
 * offer's record. */
static void dora(uint16_t mac)
{
	struct dp_worker *w = &rt.workers[0];
	const struct bt_binding *b;
	struct rte_mbuf *m;
	struct reqbuf r;
	uint8_t types[8];
	struct dp_client_key k = {.type = DP_KEY_HWADDR, .len = 7};

	rb_begin(&r, mac, 7);
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_type(&r, DHCP4_DISCOVER);
	rb_end(&r);
	m = client_frame(&r);
	dp_worker_handle_burst(w, &m, 1);
	dp_worker_flush(w);
	assert_int_equal(transmitted(types, 8), 1);
	assert_int_equal(types[0], DHCP4_OFFER);
	k.data[0] = 1;			/* htype ethernet, then reqbuild's chaddr */
	memcpy(k.data + 1, r.b + 28, 6);
	b = bt_lookup_key(rt.table, &k);
	assert_non_null(b);
	assert_int_equal(b->state, BT_OFFERED);
	rb_begin(&r, mac, 8);
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_type(&r, DHCP4_REQUEST);
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, IP4(198, 18, 0, 1));
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, b->addr);
	rb_end(&r);
	m = client_frame(&r);
	dp_worker_handle_burst(w, &m, 1);
	assert_int_equal(committer_round(cm), 1);
	dp_worker_flush(w);
	assert_int_equal(transmitted(types, 8), 1);
	assert_int_equal(types[0], DHCP4_ACK);
}

/* The frame of a RELEASE of client @p mac, for its lease on @p addr. */
static struct rte_mbuf *release_frame(uint16_t mac, uint32_t addr)
{
	struct reqbuf r;

	rb_begin(&r, mac, 9);
	rb_ciaddr(&r, addr);
	rb_type(&r, DHCP4_RELEASE);
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, IP4(198, 18, 0, 1));
	rb_end(&r);
	return client_frame(&r);
}

static struct rte_mbuf *discover_frame(uint16_t mac, uint32_t xid)
{
	struct reqbuf r;

	rb_begin(&r, mac, xid);
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_type(&r, DHCP4_DISCOVER);
	rb_end(&r);
	return client_frame(&r);
}

/*
 * The warm pass looks the burst's DISCOVER clients up before the frames are handled, and the
 * engine starts from what it found (dp_ingress.key_hint). A burst holding a RELEASE of a client
 * and then its DISCOVERs: the RELEASE replaces the client's record before they are handled,
 * so the record found is stale by then. The DISCOVER must decide from the RELEASED binding
 * and its offer take the client's place in by_key (from the stale place, the replace in
 * by_key failed and the offer was left out of it); the second DISCOVER (a copy) finds that
 * offer and is offered the same address.
 */
static void warm_hint_of_a_client_changed_in_the_burst(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	struct dp_client_key k = {.type = DP_KEY_HWADDR, .len = 7};
	const struct bt_binding *b;
	struct rte_mbuf *m[3];
	uint8_t types[8];
	uint32_t addr;

	(void)state;
	k.data[0] = 1;				/* htype, then chaddr 02:00:00:00:05:00 */
	k.data[1] = 0x02;
	k.data[5] = 0x05;
	b = bt_lookup_key(rt.table, &k);
	if (b == NULL || b->state != BT_ACTIVE) {
		dora(0x500);			/* no lease left by the test before */
		b = bt_lookup_key(rt.table, &k);
	}
	assert_non_null(b);
	assert_int_equal(b->state, BT_ACTIVE);
	addr = b->addr;
	m[0] = release_frame(0x500, addr);
	m[1] = discover_frame(0x500, 21);
	m[2] = discover_frame(0x500, 22);	/* two DISCOVERs: the warm pass runs */
	dp_worker_handle_burst(w, m, 3);
	assert_int_equal(committer_round(cm), 1);	/* the RELEASE */
	dp_worker_flush(w);
	assert_int_equal(transmitted(types, 8), 2);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(types[i], DHCP4_OFFER);
	}
	b = bt_lookup_key(rt.table, &k);
	assert_non_null(b);
	assert_int_equal(b->state, BT_OFFERED);
	assert_int_equal(b->addr, addr);
	assert_ptr_equal(bt_lookup_addr(rt.table, addr), b);
	assert_null(w->warm_key);
	assert_null(w->warm_addr);
}

/*
 * The same for a REQUEST's address (dp_ingress.addr_hint): the warm pass found the client's
 * ACTIVE record of the address, the RELEASE before it in the burst replaced that record. The
 * INIT-REBOOT REQUESTs (and the copy) must be ACKed from the RELEASED binding, not refused as
 * a write conflict on the stale record's place.
 */
static void warm_addr_hint_of_an_address_changed_in_the_burst(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	struct dp_client_key k = {.type = DP_KEY_HWADDR, .len = 7};
	uint64_t conflicts = w->ctr.drop[DP_DROP_WRITE_CONFLICT];
	const struct bt_binding *b;
	struct rte_mbuf *m[3];
	struct reqbuf r;
	uint8_t types[8];
	uint32_t addr;

	(void)state;
	dora(0x500);
	k.data[0] = 1;				/* htype, then chaddr 02:00:00:00:05:00 */
	k.data[1] = 0x02;
	k.data[5] = 0x05;
	b = bt_lookup_key(rt.table, &k);
	assert_non_null(b);
	assert_int_equal(b->state, BT_ACTIVE);
	addr = b->addr;
	m[0] = release_frame(0x500, addr);
	for (unsigned i = 1; i < 3; i++) {
		rb_begin(&r, 0x500, 31);	/* the second: a copy */
		rb_flags(&r, DHCP4_FLAG_BROADCAST);
		rb_type(&r, DHCP4_REQUEST);
		rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, addr);
		rb_end(&r);
		m[i] = client_frame(&r);
	}
	dp_worker_handle_burst(w, m, 3);
	assert_int_equal(committer_round(cm), 2);	/* the RELEASE and the ACK */
	dp_worker_flush(w);
	assert_int_equal(w->ctr.drop[DP_DROP_WRITE_CONFLICT], conflicts);
	assert_int_equal(transmitted(types, 8), 2);
	assert_int_equal(types[0], DHCP4_ACK);
	assert_int_equal(types[1], DHCP4_ACK);
	b = bt_lookup_addr(rt.table, addr);
	assert_non_null(b);
	assert_int_equal(b->state, BT_ACTIVE);
	assert_ptr_equal(bt_lookup_key(rt.table, &k), b);
	assert_null(w->warm_addr);
}

/*
 * review15: the same with a DECLINE before the DISCOVERs in the burst (the brief's "DECLINE"
 * case). The warm pass found the client's ACTIVE record of @c a as the DISCOVER's key hint;
 * the DECLINE abandons @c a before the DISCOVERs are handled. They must decide from the
 * binding the DECLINE left, not from the stale hint (whose address is the client's own, and
 * would be offered again): both are offered another address, whose record is the client's in
 * by_key and the address's in by_addr, and @c a stays abandoned.
 */
static void warm_hint_of_a_client_that_declined_in_the_burst(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	struct dp_client_key k = {.type = DP_KEY_HWADDR, .len = 7};
	uint64_t conflicts = w->ctr.drop[DP_DROP_WRITE_CONFLICT];
	const struct bt_binding *b;
	struct rte_mbuf *m[3], *pk[8];
	struct reqbuf r;
	uint16_t n;
	uint32_t addr;

	(void)state;
	dora(0x700);
	k.data[0] = 1;				/* htype, then chaddr 02:00:00:00:07:00 */
	k.data[1] = 0x02;
	k.data[5] = 0x07;
	b = bt_lookup_key(rt.table, &k);
	assert_non_null(b);
	assert_int_equal(b->state, BT_ACTIVE);
	addr = b->addr;
	rb_begin(&r, 0x700, 51);
	rb_type(&r, DHCP4_DECLINE);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, addr);
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, IP4(198, 18, 0, 1));
	rb_end(&r);
	m[0] = client_frame(&r);
	m[1] = discover_frame(0x700, 52);
	m[2] = discover_frame(0x700, 53);	/* two DISCOVERs: the warm pass runs */
	dp_worker_handle_burst(w, m, 3);
	(void)committer_round(cm);		/* the DECLINE's change, if posted */
	dp_worker_flush(w);
	n = rte_eth_rx_burst(rt.ports[0].port_id, 0, pk, 8);
	assert_int_equal(n, 2);
	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *p = rte_pktmbuf_mtod(pk[i], const uint8_t *);
		size_t off = dp_frame_udp_hdr_len(0);
		struct dhcp4_msg msg;

		assert_int_equal(dhcp4_parse(&msg, p + off, pk[i]->pkt_len - off), DHCP4_OK);
		assert_int_equal(msg.type, DHCP4_OFFER);
		assert_int_not_equal(msg.yiaddr, addr);
		b = bt_lookup_key(rt.table, &k);
		assert_non_null(b);
		assert_int_equal(b->state, BT_OFFERED);
		assert_int_equal(b->addr, msg.yiaddr);
		assert_ptr_equal(bt_lookup_addr(rt.table, msg.yiaddr), b);
		rte_pktmbuf_free(pk[i]);
	}
	b = bt_lookup_addr(rt.table, addr);
	assert_non_null(b);
	assert_int_equal(b->state, BT_ABANDONED);
	assert_int_equal(w->ctr.drop[DP_DROP_WRITE_CONFLICT], conflicts);
}

/*
 * The records a worker retires wait in its writer for a batch (bindings.c "Retiring in
 * batches"); the loop's dp_worker_retire_flush() bounds that wait: they go to RCU
 * DP_RETIRE_FLUSH_US after it first saw them (not before: then they would never batch), or
 * at once when the loop is about to sleep; then the grace period brings them home.
 */
static void retired_records_leave_within_the_bound(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	struct bt_writer *wr = &w->eng.writer;
	uint64_t t0, free0, waited_us;
	uint32_t held;

	(void)state;
	dp_worker_retire_flush(w, true);	/* what earlier tests retired: home first */
	assert_int_equal(bt_writer_held(wr), 0);
	urcu_qsbr_thread_offline();
	urcu_qsbr_barrier();
	urcu_qsbr_thread_online();
	dora(0x300);
	held = bt_writer_held(wr);
	assert_true(held >= 1);
	free0 = bt_writer_free(wr);
	t0 = rte_rdtsc();
	dp_worker_retire_flush(w, false);	/* first seen: kept */
	assert_int_equal(bt_writer_held(wr), held);
	while (bt_writer_held(wr) != 0 && rte_rdtsc() - t0 < rt.tsc_hz) {
		dp_worker_retire_flush(w, false);
	}
	waited_us = (rte_rdtsc() - t0) * 1000000 / rt.tsc_hz;
	assert_int_equal(bt_writer_held(wr), 0);
	assert_true(waited_us >= DP_RETIRE_FLUSH_US);
	urcu_qsbr_thread_offline();
	urcu_qsbr_barrier();
	urcu_qsbr_thread_online();
	assert_int_equal(bt_writer_free(wr), free0 + held);

	/* Going to sleep: at once. */
	dora(0x301);
	assert_true(bt_writer_held(wr) >= 1);
	dp_worker_retire_flush(w, true);
	assert_int_equal(bt_writer_held(wr), 0);
}

/*
 * What the port says of a request's checksums: GOOD, and for UDP NONE, skip the worker's
 * own sum. The DISCOVER's UDP checksum is wrong; with the port's L4 verdict BAD or UNKNOWN
 * it is dropped as bad_udp_csum, with GOOD it is answered (the NIC is trusted), and with
 * NONE too ("the L4 checksum is not correct in the packet data, but the integrity of the L4
 * data is verified": a virtual peer's partial checksum, whose field is no checksum). Likewise
 * GOOD for the IPv4 header checksum; NONE says nothing of it.
 */
static void rx_checksum_flags(void **state)
{
	static const struct {
		uint64_t flags;
		bool ip_bad;		/* corrupt the IPv4 header checksum, not the UDP one */
		bool answered;
	} cases[] = {
		{ 0, false, false },				/* UNKNOWN */
		{ RTE_MBUF_F_RX_L4_CKSUM_BAD, false, false },
		{ RTE_MBUF_F_RX_L4_CKSUM_NONE, false, true },
		{ RTE_MBUF_F_RX_L4_CKSUM_NONE, true, false },	/* says nothing of IPv4 */
		{ RTE_MBUF_F_RX_IP_CKSUM_GOOD, false, false },	/* says nothing of UDP */
		{ RTE_MBUF_F_RX_L4_CKSUM_GOOD, false, true },
		{ RTE_MBUF_F_RX_IP_CKSUM_BAD, true, false },
		{ RTE_MBUF_F_RX_L4_CKSUM_GOOD, true, false },	/* says nothing of IPv4 */
		{ RTE_MBUF_F_RX_IP_CKSUM_GOOD, true, true },
	};
	struct dp_worker *w = &rt.workers[0];
	uint8_t types[8];
	struct reqbuf r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t udp0 = w->ctr.drop[DP_DROP_UDP_CHECKSUM];
		uint64_t ip0 = w->ctr.drop[DP_DROP_IP_CHECKSUM];
		struct rte_mbuf *m;
		uint8_t *p;

		rb_begin(&r, (uint16_t)(0x400 + i), 1);
		rb_flags(&r, DHCP4_FLAG_BROADCAST);
		rb_type(&r, DHCP4_DISCOVER);
		rb_end(&r);
		m = client_frame(&r);
		p = rte_pktmbuf_mtod(m, uint8_t *);
		p[cases[i].ip_bad ? 14 + 10 : 14 + 20 + 6] ^= 0x01;
		m->ol_flags = cases[i].flags;
		dp_worker_handle_burst(w, &m, 1);
		dp_worker_flush(w);
		if (cases[i].answered) {
			assert_int_equal(transmitted(types, 8), 1);
			assert_int_equal(types[0], DHCP4_OFFER);
			assert_int_equal(w->ctr.drop[DP_DROP_UDP_CHECKSUM], udp0);
			assert_int_equal(w->ctr.drop[DP_DROP_IP_CHECKSUM], ip0);
		} else {
			assert_int_equal(transmitted(types, 8), 0);
			assert_int_equal(w->ctr.drop[DP_DROP_UDP_CHECKSUM],
					 udp0 + !cases[i].ip_bad);
			assert_int_equal(w->ctr.drop[DP_DROP_IP_CHECKSUM], ip0 + cases[i].ip_bad);
		}
	}
}

/* The one's complement sum of @p n bytes at @p p added to @p sum, folded (RFC 1071). */
static uint32_t ref_sum(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i < n; i++) {
		sum += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return sum;
}

/*
 * A reply's checksums on a port that computes them (rt.ports[0].tx_csum set as port.c sets
 * it from the port's TX offloads; net_ring hands the mbuf back as sent, flags included):
 * untagged, 802.1Q and QinQ, the UDP checksum left to the port (RTE_MBUF_F_TX_IPV4 |
 * _UDP_CKSUM, l2_len over the tags, l3_len 20, the field seeded with the pseudo-header sum,
 * which the port's sum over the datagram turns into the right checksum), and the IPv4 one
 * too when offered (_IP_CKSUM, field 0). Without the capability the reply is as it always
 * was: no flags, both checksums in the frame.
 */
static void tx_checksum_offload(void **state)
{
	static const uint8_t caps[] = { 0, DP_TX_CSUM_UDP, DP_TX_CSUM_UDP | DP_TX_CSUM_IP };
	struct dp_worker *w = &rt.workers[0];
	struct reqbuf r;

	(void)state;
	for (unsigned nvlan = 0; nvlan <= DP_MAX_VLAN; nvlan++) {
		for (size_t c = 0; c < sizeof(caps); c++) {
			size_t l3 = DP_ETHER_HDR_LEN + nvlan * DP_VLAN_HDR_LEN;
			struct rte_mbuf *m, *pk[4];
			struct dhcp4_msg msg;
			uint16_t ulen, seed;
			uint32_t ps;
			uint8_t *p, *ip, *u;

			/* One client per tag count: its DISCOVERs get the same offer again. */
			rb_begin(&r, (uint16_t)(0x500 + nvlan), (uint32_t)c + 1);
			rb_flags(&r, DHCP4_FLAG_BROADCAST);
			rb_type(&r, DHCP4_DISCOVER);
			rb_end(&r);
			m = client_frame_tagged(&r, nvlan);
			rt.ports[0].tx_csum = caps[c];
			dp_worker_handle_burst(w, &m, 1);
			dp_worker_flush(w);
			rt.ports[0].tx_csum = 0;
			assert_int_equal(rte_eth_rx_burst(rt.ports[0].port_id, 0, pk, 4), 1);
			m = pk[0];
			p = rte_pktmbuf_mtod(m, uint8_t *);
			ip = p + l3;
			u = ip + DP_IPV4_HDR_LEN;
			ulen = lw_get16(u + 4);
			assert_int_equal(dhcp4_parse(&msg, u + DP_UDP_HDR_LEN,
						     ulen - DP_UDP_HDR_LEN), DHCP4_OK);
			assert_int_equal(msg.type, DHCP4_OFFER);
			/* The reply keeps the request's tags. */
			assert_int_equal(lw_get16(p + 12), nvlan == 0 ? 0x0800 :
					 nvlan == 1 ? 0x8100 : 0x88a8);
			assert_int_equal(lw_get16(p + l3 - 2), 0x0800);
			ps = (ip[12] << 8 | ip[13]) + (ip[14] << 8 | ip[15]) +
			     (ip[16] << 8 | ip[17]) + (ip[18] << 8 | ip[19]) + 17u + ulen;
			ps = (ps & 0xffff) + (ps >> 16);
			ps = (ps & 0xffff) + (ps >> 16);
			if (caps[c] == 0) {
				assert_int_equal(m->ol_flags, 0);
				assert_int_equal(ref_sum(ip, DP_IPV4_HDR_LEN, 0), 0xffff);
				assert_int_equal(ref_sum(u, ulen, ps), 0xffff);
				rte_pktmbuf_free(m);
				continue;
			}
			assert_int_equal(m->ol_flags, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM |
					 (caps[c] & DP_TX_CSUM_IP ? RTE_MBUF_F_TX_IP_CKSUM : 0));
			assert_int_equal(m->l2_len, l3);
			assert_int_equal(m->l3_len, DP_IPV4_HDR_LEN);
			seed = lw_get16(u + 6);
			assert_int_equal(seed, ps);
			if (caps[c] & DP_TX_CSUM_IP) {
				assert_int_equal(lw_get16(ip + 10), 0);
				lw_put16(ip + 10, (uint16_t)~ref_sum(ip, DP_IPV4_HDR_LEN, 0));
			}
			assert_int_equal(ref_sum(ip, DP_IPV4_HDR_LEN, 0), 0xffff);
			/* What the port does: sum the datagram over the seed, complement. */
			lw_put16(u + 6, (uint16_t)~ref_sum(u, ulen, 0));
			assert_int_equal(ref_sum(u, ulen, ps), 0xffff);
			rte_pktmbuf_free(m);
		}
	}
}

/*
 * review18: a policy's lease-time may be longer than its scope's max-lease-time (it is
 * checked against nothing; the clamp applies to a client's option 51 only). The grace after
 * a forward step of the wall clock must cover the longest lease a client may have been given
 * before the step (worker.h "Time"), the policy's too: a client of the policy holds its
 * address for its whole lease, and no other client may be offered it meanwhile. With the
 * grace bounded by the scopes' lease times alone (86 400 s here), the lease looked ended
 * once the grace was over, 5 000 s before its client's end.
 */
/* A client (chaddr from @p client, VLAN 10: scope lab10) of the "long-lease" policy gets its
 * 200 000 s lease through a full DORA, durable; @p xid for the DISCOVER, + 1 for the
 * REQUEST. @return the address. */
static uint32_t policy_lease(struct dp_worker *w, uint32_t client, uint32_t xid)
{
	static const char vendor[] = "long-lease";
	const struct bt_binding *b;
	struct rte_mbuf *m, *pk[4];
	struct dhcp4_msg msg;
	struct reqbuf r;
	uint32_t addr;

	rb_begin(&r, client, xid);
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt(&r, DHCP4_OPT_VENDOR_CLASS, vendor, sizeof(vendor) - 1);
	rb_end(&r);
	m = client_frame_tagged(&r, 1);
	dp_worker_handle_burst(w, &m, 1);
	dp_worker_flush(w);
	assert_int_equal(rte_eth_rx_burst(rt.ports[0].port_id, 0, pk, 4), 1);
	assert_int_equal(dhcp4_parse(&msg, rte_pktmbuf_mtod(pk[0], uint8_t *) +
				     dp_frame_udp_hdr_len(1),
				     pk[0]->pkt_len - dp_frame_udp_hdr_len(1)), DHCP4_OK);
	assert_int_equal(msg.type, DHCP4_OFFER);
	addr = msg.yiaddr;
	rte_pktmbuf_free(pk[0]);
	rb_begin(&r, client, xid + 1);
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_type(&r, DHCP4_REQUEST);
	rb_opt(&r, DHCP4_OPT_VENDOR_CLASS, vendor, sizeof(vendor) - 1);
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, IP4(198, 18, 1, 1));
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, addr);
	rb_end(&r);
	m = client_frame_tagged(&r, 1);
	dp_worker_handle_burst(w, &m, 1);
	assert_int_equal(committer_round(cm), 1);
	dp_worker_flush(w);
	assert_int_equal(rte_eth_rx_burst(rt.ports[0].port_id, 0, pk, 4), 1);
	rte_pktmbuf_free(pk[0]);
	b = bt_lookup_addr(rt.table, addr);
	assert_non_null(b);
	assert_int_equal(b->state, BT_ACTIVE);
	assert_int_equal(b->ends - b->start, 200000);
	return addr;
}

static void forward_step_grace_covers_policy_leases(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	const uint64_t later = 195000;	/* > the scope's max-lease-time, < the policy's lease */
	const struct bt_binding *b;
	struct rte_mbuf *m, *pk[4];
	struct dhcp4_msg msg;
	struct reqbuf r;
	uint32_t addr;
	uint16_t n;

	(void)state;
	/* As forward_step_never_gives_a_live_lease_away: the clock two hours behind. */
	clock_behind(w);

	/* A client of the policy (VLAN 10: scope lab10) gets its long lease. */
	addr = policy_lease(w, 0x900, 61);
	b = bt_lookup_addr(rt.table, addr);

	assert_true(dp_runtime_clock_tick(&rt) >= 7199);	/* NTP steps the clock */
	rt.tsc_base -= later * rt.tsc_hz;			/* and time passes */

	/* Another client asks for the address: its holder has ~5 000 s of its lease left. */
	rb_begin(&r, 0x901, 63);
	rb_flags(&r, DHCP4_FLAG_BROADCAST);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, addr);
	rb_end(&r);
	m = client_frame_tagged(&r, 1);
	dp_worker_handle_burst(w, &m, 1);
	dp_worker_flush(w);
	n = rte_eth_rx_burst(rt.ports[0].port_id, 0, pk, 4);
	for (uint16_t i = 0; i < n; i++) {
		assert_int_equal(dhcp4_parse(&msg, rte_pktmbuf_mtod(pk[i], uint8_t *) +
					     dp_frame_udp_hdr_len(1),
					     pk[i]->pkt_len - dp_frame_udp_hdr_len(1)), DHCP4_OK);
		assert_int_not_equal(msg.yiaddr, addr);
		rte_pktmbuf_free(pk[i]);
	}
	b = bt_lookup_addr(rt.table, addr);
	assert_non_null(b);
	assert_int_equal(b->state, BT_ACTIVE);
	assert_int_equal(b->key.data[6], 0x00);		/* chaddr 02:00:00:00:09:00 */
	assert_int_equal(b->key.data[5], 0x09);
	/* Nor does the reclaim take it. */
	assert_false(dp_engine_reclaim(&w->eng, rt.snap->cfg, addr,
				       dp_worker_ended_by(w, dp_worker_now(w))));

	/* Back to the real clock. */
	clock_restore(w, later);
}

/*
 * review18: an operator's lease4-add (DP_OP_SET) may set any lease (valid-lft up to 2^32 - 2
 * s), longer than every configured lease time. One added before a forward step of the wall
 * clock ends D early in wall terms, like any lease granted before it; the grace after the
 * step lasted the longest configured lease only (200 000 s here: lab10's policy), after
 * which the operator's lease looked ended to the reclaims (and to another client's
 * DISCOVER) while its client still held it. Now the op raises dp_runtime.longest_set_s and
 * the grace covers it (fails with dp_runtime_clock_tick() ignoring it).
 */
static void forward_step_grace_covers_operator_leases(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	const uint64_t lft = 400000, later = 395000;	/* > every configured lease */
	uint32_t addr = IP4(198, 18, 0, 50);
	struct dp_lease_op op;
	const struct bt_binding *b;
	uint64_t now;

	(void)state;
	clock_behind(w);
	now = dp_runtime_now(&rt);	/* what the control thread stamps an operator's lease with */

	memset(&op, 0, sizeof(op));
	op.kind = DP_OP_SET;
	op.addr = addr;
	op.key = (struct dp_client_key){.type = DP_KEY_HWADDR, .len = 7,
					.data = {1, 2, 0, 0, 0, 0x0a, 0x00}};
	op.state = BT_ACTIVE;
	op.start = now;
	op.ends = now + lft;
	op.add = true;
	op.take = true;
	dp_engine_apply_op(&w->eng, rt.snap->cfg, &op, now);
	assert_int_equal(op.result, 0);
	(void)committer_round(cm);
	b = bt_lookup_addr(rt.table, addr);
	assert_non_null(b);
	assert_int_equal(b->state, BT_ACTIVE);

	assert_true(dp_runtime_clock_tick(&rt) >= 7199);	/* NTP steps the clock */
	rt.tsc_base -= later * rt.tsc_hz;			/* and time passes */

	/* Its holder has ~5 000 s left: the reclaim (and another client's DISCOVER, were the
	 * address in a pool) must not take it. */
	assert_false(dp_engine_reclaim(&w->eng, rt.snap->cfg, addr,
				       dp_worker_ended_by(w, dp_worker_now(w))));
	clock_restore(w, later);
}

/*
 * review19: a lease the engine gave under an older configuration may be longer than any the
 * configuration now gives: a reload that shortens lease times (here the policy's 200 000 s
 * to 600 s) left the forward-step grace at the new longest lease, after which the lease
 * given before the reload looked ended to the reclaims while its client still held it.
 * The publish of a new configuration now raises dp_runtime.longest_set_s to the old one's
 * longest lease (fails with dp_runtime_publish() not noting it).
 */
static void forward_step_grace_covers_leases_of_an_older_config(void **state)
{
	struct dp_worker *w = &rt.workers[0];
	const uint64_t later = 195000;	/* < the old policy's lease, > the new one's */
	struct dp_snapshot *old, *mine;
	struct dp_config *shorter;
	char json[2048], err[256], *at;
	uint32_t addr;
	int rc;

	(void)state;
	atomic_store(&rt.longest_set_s, 0);
	clock_behind(w);

	/* A client of the policy gets its 200 000 s lease. */
	addr = policy_lease(w, 0x902, 71);

	/* The operator reloads with the policy's lease time cut to 600 s. */
	assert_true(strlen(cfg_json) < sizeof(json));
	strcpy(json, cfg_json);
	at = strstr(json, "200000");
	assert_non_null(at);
	memcpy(at, "600   ", 6);
	shorter = cp_config_parse(json, err, sizeof(err));
	assert_non_null(shorter);
	old = dp_runtime_publish(&rt, shorter, rt.snap->pools, &rc);
	assert_non_null(old);
	assert_int_equal(rc, 0);

	assert_true(dp_runtime_clock_tick(&rt) >= 7199);	/* NTP steps the clock */
	rt.tsc_base -= later * rt.tsc_hz;			/* and time passes */

	/* Its holder has ~5 000 s left: the reclaim must not take it. */
	assert_false(dp_engine_reclaim(&w->eng, rt.snap->cfg, addr,
				       dp_worker_ended_by(w, dp_worker_now(w))));

	/* Back to the first configuration and the real clock. */
	mine = dp_runtime_publish(&rt, old->cfg, old->pools, &rc);
	assert_non_null(mine);
	free(old);
	dp_config_free(mine->cfg);
	free(mine);
	clock_restore(w, later);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ack_waits_for_durability),
		cmocka_unit_test(stale_parked_ack_is_dropped),
		cmocka_unit_test(park_full_posts_nothing),
		cmocka_unit_test(offer_waits_out_the_scope_delay),
		cmocka_unit_test(clock_follows_wall_clock_steps),
		cmocka_unit_test(forward_step_never_gives_a_live_lease_away),
		cmocka_unit_test(store_outage_leaves_mbufs_for_the_rest),
		cmocka_unit_test(retired_records_leave_within_the_bound),
		cmocka_unit_test(rx_checksum_flags),
		cmocka_unit_test(warm_addr_hint_of_an_address_changed_in_the_burst),
		cmocka_unit_test(warm_hint_of_a_client_changed_in_the_burst),
		cmocka_unit_test(warm_hint_of_a_client_that_declined_in_the_burst),
		cmocka_unit_test(tx_checksum_offload),
		cmocka_unit_test(burst_longer_than_dp_burst),
		cmocka_unit_test(forward_step_grace_covers_policy_leases),
		cmocka_unit_test(forward_step_grace_covers_operator_leases),
		cmocka_unit_test(forward_step_grace_covers_leases_of_an_older_config),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
