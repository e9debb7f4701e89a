/*
 * The start-up load (controlplane/persist.c) after a forward step of the wall clock: a
 * running server that saw the step judges lease ends written before it later by the step
 * (dataplane/worker.h, "Time"); the store keeps that grace, so a restart inside the window
 * judges the same way and reclaims no lease its client still holds. Found by the chaos soak
 * (tests/e2e/test_soak.py, seed 3 of the short form): a server whose clock stepped forward
 * by 186 s was killed and restarted, and its start-up reclaim expired every live lease it
 * had granted, in its store and, by failover, in its partner's.
 *
 * Real EAL (no hugepages, no ports), real tables and a real LMDB store; the clock is set by
 * hand (unix_base) and the store filled by store_write_batch().
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

#include "config.h"
#include "persist.h"
#include "store.h"
#include "worker.h"

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

static const char *cfg_json =
	"{\"server\": {\"workers\": 1, \"mbufs\": 1023},"
	" \"ports\": [{\"name\": \"p0\", \"device\": \"net_ring0\","
	"   \"interfaces\": [{\"address\": \"198.18.0.1/24\"}]}],"
	" \"scopes\": [{\"name\": \"lab\", \"subnet\": \"198.18.0.0/24\","
	"   \"pools\": [\"198.18.0.100 - 198.18.0.110\"], \"lease-time\": 600,"
	"   \"max-lease-time\": 3600}]}";

#define NOW	1700000000ull	/* the wall clock at the restart */
#define STEP	7200ull		/* the forward step the running server saw */

static struct dp_runtime rt;
static struct store *st;
static char dir[64];

static void put_binding(uint32_t addr, uint8_t id, uint64_t start, uint64_t ends)
{
	struct dp_change c = {.seq = 1, .addr = addr, .state = BT_ACTIVE, .start = start,
			      .ends = ends};

	c.key.type = DP_KEY_HWADDR;
	c.key.len = 7;
	c.key.data[0] = 1;
	c.key.data[6] = id;
	assert_int_equal(store_write_batch(st, &c, 1), 0);
}

static int setup(void **state)
{
	char *eal[] = {"test_persist", "--no-huge", "-m", "64", "--no-shconf", "--no-pci",
		       "--log-level=*:error", "--lcores=0@0", NULL};
	struct store_opts so = {.sync = STORE_SYNC_STRICT};
	char err[512];
	struct dp_config *cfg;
	int rc;

	(void)state;
	if (rte_eal_init(8, eal) < 0) {
		fail_msg("EAL init failed");
	}
	urcu_qsbr_register_thread();
	cfg = cp_config_parse(cfg_json, err, sizeof(err));
	assert_non_null(cfg);
	rt.n_ports = 1;
	rt.tsc_hz = rte_get_tsc_hz();
	rt.tsc_base = rte_rdtsc();
	rt.unix_base = NOW;
	snprintf(dir, sizeof(dir), "/tmp/lw-persist.XXXXXX");
	assert_non_null(mkdtemp(dir));
	st = store_open(dir, &so, err, sizeof(err));
	assert_non_null(st);
	rt.crdp = urcu_qsbr_create_call_rcu_data(URCU_CALL_RCU_RT, -1);
	urcu_qsbr_set_thread_call_rcu_data(rt.crdp);
	rt.table = bt_table_new(dp_config_capacity(cfg));
	assert_null(dp_runtime_publish(&rt, cfg, dp_pools_new(cfg, 1), &rc));
	assert_int_equal(rc, 0);
	assert_int_equal(dp_workers_init(&rt, 1), 0);
	urcu_qsbr_thread_offline();
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	urcu_qsbr_barrier();
	urcu_qsbr_thread_online();
	bt_table_free(rt.table);
	dp_workers_deinit(&rt);
	store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0) {
		return -1;
	}
	urcu_qsbr_set_thread_call_rcu_data(NULL);
	urcu_qsbr_call_rcu_data_free(rt.crdp);
	dp_snapshot_free(rt.snap);
	urcu_qsbr_unregister_thread();
	rte_eal_cleanup();
	return 0;
}

static uint8_t state_of(uint32_t addr)
{
	const struct bt_binding *b;
	uint8_t s;

	urcu_qsbr_thread_online();
	b = bt_lookup_addr(rt.table, addr);
	s = b != NULL ? b->state : BT_FREE;
	urcu_qsbr_thread_offline();
	return s;
}

static uint8_t stored_state(uint32_t addr)
{
	struct store_binding b;
	int rc = store_get(st, addr, &b);

	if (rc == -ENOENT) {
		return BT_FREE;
	}
	assert_int_equal(rc, 0);
	return b.state;
}

/*
 * The running server's clock was two hours behind and stepped forward; it kept the grace
 * (STEP seconds until NOW + 3000) in its store and was killed. The restart at NOW (by the
 * stepped clock) must keep a lease granted just before the step (ends NOW - STEP + 600: its
 * client holds it for ten more minutes) and reclaim only one that had ended even by the old
 * clock (ends NOW - STEP - 10).
 */
static void restart_keeps_leases_a_forward_step_made_look_ended(void **state)
{
	uint32_t live = IP4(198, 18, 0, 101), ended = IP4(198, 18, 0, 102);
	struct cp_persist p = {.store = st};
	uint64_t g, u;

	(void)state;
	put_binding(live, 1, NOW - STEP - 10, NOW - STEP + 600);
	put_binding(ended, 2, NOW - STEP - 610, NOW - STEP - 10);
	assert_int_equal(store_clock_grace_put(st, STEP, NOW + 3000), 0);
	assert_int_equal(store_clock_grace_get(st, &g, &u), 0);
	assert_int_equal(g, STEP);
	assert_int_equal(u, NOW + 3000);

	assert_int_equal(cp_persist_load(&p, &rt, NOW), 0);
	assert_int_equal(state_of(live), BT_ACTIVE);
	assert_int_equal(stored_state(live), BT_ACTIVE);
	assert_int_equal(state_of(ended), BT_EXPIRED);
	assert_int_equal(stored_state(ended), BT_EXPIRED);
	/* The running reclaims go on judging with the grace until it ends. */
	assert_int_equal(atomic_load(&rt.grace_s), STEP);
	assert_int_equal(atomic_load(&rt.grace_until), NOW + 3000);
	assert_int_equal(dp_runtime_reclaim_now(&rt, NOW), NOW - STEP);
	assert_int_equal(dp_runtime_reclaim_now(&rt, NOW + 3000), NOW + 3000);
}

/* A grace that ended before the restart changes nothing: ends are judged by the wall clock
 * (and a store that never saw a step reads as no grace). */
static void ended_grace_is_ignored(void **state)
{
	uint64_t g = 1, u = 1;
	uint32_t addr = IP4(198, 18, 0, 103);
	struct cp_persist p = {.store = st};

	(void)state;
	put_binding(addr, 3, NOW - 700, NOW - 100);
	assert_int_equal(store_clock_grace_put(st, STEP, NOW), 0);
	atomic_store(&rt.grace_s, 0);
	atomic_store(&rt.grace_until, 0);
	assert_int_equal(cp_persist_load(&p, &rt, NOW), 0);
	assert_int_equal(state_of(addr), BT_EXPIRED);
	assert_int_equal(atomic_load(&rt.grace_s), 0);
	assert_int_equal(store_clock_grace_put(st, 0, 0), 0);
	assert_int_equal(store_clock_grace_get(st, &g, &u), 0);
	assert_int_equal(g, 0);
	assert_int_equal(u, 0);
}

/*
 * review18: a stored lease longer than any the configuration gives (an operator's, the
 * partner's, or one of an older configuration) sets the bound of the next forward-step grace:
 * the load raises dp_runtime.longest_set_s to its length; an ended one does not count.
 */
static void loaded_leases_bound_the_grace(void **state)
{
	uint32_t longl = IP4(198, 18, 0, 104), gone = IP4(198, 18, 0, 105);
	struct cp_persist p = {.store = st};

	(void)state;
	atomic_store(&rt.grace_s, 0);
	atomic_store(&rt.grace_until, 0);
	atomic_store(&rt.longest_set_s, 0);
	put_binding(longl, 4, NOW - 100, NOW - 100 + 400000);
	put_binding(gone, 5, NOW - 900000, NOW - 10);
	assert_int_equal(cp_persist_load(&p, &rt, NOW), 0);
	assert_int_equal(state_of(longl), BT_ACTIVE);
	assert_int_equal(atomic_load(&rt.longest_set_s), 400000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(restart_keeps_leases_a_forward_step_made_look_ended),
		cmocka_unit_test(ended_grace_is_ignored),
		cmocka_unit_test(loaded_leases_bound_the_grace),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
