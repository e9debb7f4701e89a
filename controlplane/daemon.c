#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sched.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "daemon.h"
#include "log.h"
#include "persist.h"
#include "worker.h"

#define TICK_MS 100

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static bool port_is_pci(const struct dp_port *p)
{
	return strncmp(p->device, "net_", 4) != 0 && strncmp(p->device, "eth_", 4) != 0;
}

static unsigned free_hugepages(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	unsigned n = 0;

	if (f == NULL) {
		return 0;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "HugePages_Free: %u", &n) == 1) {
			break;
		}
	}
	fclose(f);
	return n;
}

int cp_default_eal_args(const struct dp_config *cfg, const char *prog, char **argv, char *buf,
			size_t buflen)
{
	int argc = 0, ncpu = 0;
	bool pci = false;
	size_t off = 0;
	cpu_set_t set;
	int cpus[CPU_SETSIZE];

	argv[argc++] = (char *)prog;
	if (free_hugepages() >= 64) {
		argv[argc++] = (char *)"--in-memory";
	} else {
		argv[argc++] = (char *)"--no-huge";
		argv[argc++] = (char *)"-m";
		argv[argc++] = (char *)"512";
		argv[argc++] = (char *)"--no-shconf";
	}
	for (uint32_t i = 0; i < cfg->n_ports; i++) {
		pci |= port_is_pci(&cfg->ports[i]);
	}
	if (!pci) {
		argv[argc++] = (char *)"--no-pci";
	}
	argv[argc++] = (char *)"--log-level=*:warning";

	/* lcore 0 (control) and the workers, over the CPUs this process may use. */
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		for (int c = 0; c < CPU_SETSIZE; c++) {
			if (CPU_ISSET(c, &set)) {
				cpus[ncpu++] = c;
			}
		}
	}
	if (ncpu == 0) {
		cpus[ncpu++] = 0;
	}
	off += (size_t)snprintf(buf + off, buflen - off, "--lcores=");
	for (uint32_t l = 0; l <= cfg->workers && off < buflen; l++) {
		/* Workers take the CPUs from the last one down, the control lcore the first. */
		int cpu = l == 0 ? cpus[0] : cpus[(ncpu - 1 - (int)((l - 1) % (uint32_t)ncpu) +
						   ncpu) % ncpu];

		off += (size_t)snprintf(buf + off, buflen - off, "%s%u@%d", l ? "," : "", l, cpu);
	}
	argv[argc++] = buf;
	argv[argc] = NULL;
	return argc;
}

/* --- periodic work ------------------------------------------------------------------ */

struct reclaim_scan {
	struct dp_runtime *rt;
	uint64_t now;
	uint32_t queued, full;
};

static bool reclaim_cb(const struct bt_binding *b, void *arg)
{
	struct reclaim_scan *rs = arg;

	if ((b->state == BT_ACTIVE || b->state == BT_OFFERED || b->state == BT_ABANDONED) &&
	    b->ends <= rs->now && b->owner < rs->rt->n_workers) {
		if (dp_worker_command(&rs->rt->workers[b->owner], DP_CMD_RECLAIM, b->addr) != 0) {
			rs->full++;
			return false;	/* the rest waits for the next scan */
		}
		rs->queued++;
	}
	return true;
}

static void reclaim_scan(struct dp_runtime *rt)
{
	struct reclaim_scan rs = {.rt = rt, .now = dp_runtime_now(rt)};

	urcu_qsbr_thread_online();
	bt_foreach(rt->table, reclaim_cb, &rs);
	urcu_qsbr_thread_offline();
	if (rs.queued != 0 || rs.full != 0) {
		cp_log(CP_LOG_DEBUG, "reclaim scan: %u bindings ended%s", rs.queued,
		       rs.full ? " (command ring full, rest next scan)" : "");
	}
}

static void sum_counters(const struct dp_runtime *rt, struct dp_counters *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (uint32_t i = 0; i < rt->n_workers; i++) {
		dp_counters_add(sum, &rt->workers[i].ctr);
	}
}

static void log_counters(const char *what, const struct dp_counters *c)
{
	char drops[1024];
	size_t off = 0;

	drops[0] = '\0';
	for (unsigned i = 0; i < DP_DROP_MAX && off < sizeof(drops); i++) {
		if (c->drop[i] != 0) {
			off += (size_t)snprintf(drops + off, sizeof(drops) - off, " drop_%s=%llu",
						dp_drop_str(i), (unsigned long long)c->drop[i]);
		}
	}
	cp_log(CP_LOG_INFO,
	       "%s rx=%llu tx=%llu discover=%llu offer=%llu request=%llu ack=%llu nak=%llu "
	       "decline=%llu release=%llu inform=%llu bootp=%llu arp=%llu icmp=%llu "
	       "reclaimed=%llu drops=%llu%s", what,
	       (unsigned long long)c->rx, (unsigned long long)c->tx,
	       (unsigned long long)c->rx_dhcp[DHCP4_DISCOVER],
	       (unsigned long long)c->tx_dhcp[DHCP4_OFFER],
	       (unsigned long long)c->rx_dhcp[DHCP4_REQUEST],
	       (unsigned long long)c->tx_dhcp[DHCP4_ACK],
	       (unsigned long long)c->tx_dhcp[DHCP4_NAK],
	       (unsigned long long)c->rx_dhcp[DHCP4_DECLINE],
	       (unsigned long long)c->rx_dhcp[DHCP4_RELEASE],
	       (unsigned long long)c->rx_dhcp[DHCP4_INFORM],
	       (unsigned long long)c->rx_dhcp[DHCP4_BOOTP],
	       (unsigned long long)c->arp_replies, (unsigned long long)c->icmp_replies,
	       (unsigned long long)c->leases_reclaimed,
	       (unsigned long long)dp_counters_drops(c), drops);
}

static void control_loop(struct dp_runtime *rt, struct cp_persist *persist, double run_seconds)
{
	const struct dp_config *cfg = rt->cfg;
	uint64_t start = rte_get_timer_cycles(), hz = rte_get_timer_hz();
	uint64_t next_log = start + hz * cfg->log_interval;
	uint64_t next_reclaim = start + hz * cfg->reclaim_interval;
	uint64_t exhausted = 0;
	struct dp_counters sum;

	while (!got_signal) {
		struct timespec ts = {.tv_sec = 0, .tv_nsec = TICK_MS * 1000000L};
		uint64_t t;

		nanosleep(&ts, NULL);
		t = rte_get_timer_cycles();
		if (run_seconds > 0 && (double)(t - start) / (double)hz >= run_seconds) {
			break;
		}
		cp_persist_check(persist);
		if (t >= next_reclaim) {
			reclaim_scan(rt);
			next_reclaim = t + hz * cfg->reclaim_interval;
		}
		if (cfg->log_interval != 0 && t >= next_log) {
			sum_counters(rt, &sum);
			log_counters("counters", &sum);
			if (sum.drop[DP_DROP_POOL_EXHAUSTED] > exhausted) {
				cp_log(CP_LOG_WARN, "pool exhausted: %llu requests got no offer in "
				       "the last %us", (unsigned long long)
				       (sum.drop[DP_DROP_POOL_EXHAUSTED] - exhausted),
				       cfg->log_interval);
				exhausted = sum.drop[DP_DROP_POOL_EXHAUSTED];
			}
			next_log = t + hz * cfg->log_interval;
		}
	}
	if (got_signal) {
		cp_log(CP_LOG_INFO, "signal %d: stopping", (int)got_signal);
	}
}

/* --- start and stop ----------------------------------------------------------------- */

static void log_config(const struct dp_config *cfg, const struct dp_runtime *rt)
{
	for (uint32_t i = 0; i < cfg->n_ports; i++) {
		char mac[RTE_ETHER_ADDR_FMT_SIZE];

		rte_ether_format_addr(mac, sizeof(mac), &rt->ports[i].mac);
		cp_log(CP_LOG_INFO, "port %s: %s driver=%s mac=%s queues=%u", cfg->ports[i].name,
		       cfg->ports[i].device, rt->ports[i].driver, mac, rt->n_workers);
	}
	for (uint32_t i = 0; i < cfg->n_scopes; i++) {
		const struct dp_scope *s = &cfg->scopes[i];

		cp_log(CP_LOG_INFO, "scope %s: %u.%u.%u.%u/%u, %llu dynamic addresses, "
		       "%u reservations, lease %us%s", s->name, s->subnet >> 24,
		       (s->subnet >> 16) & 255, (s->subnet >> 8) & 255, s->subnet & 255,
		       s->prefix_len, (unsigned long long)rt->pools->pools[i].total,
		       s->n_reservations, s->lease_time, s->active ? "" : " (inactive)");
	}
}

static int launch_workers(struct dp_runtime *rt)
{
	unsigned lcore, i = 0;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (i == rt->n_workers) {
			break;
		}
		rt->workers[i].lcore = lcore;
		if (rte_eal_remote_launch(dp_worker_main, &rt->workers[i], lcore) != 0) {
			return -EBUSY;
		}
		i++;
	}
	return 0;
}

int cp_daemon_run(struct dp_config *cfg, const struct cp_daemon_args *args)
{
	static struct dp_runtime rt;
	static struct cp_persist persist;
	char *argv[24], lcores[256], err[512];
	int argc = args->eal_argc, rc, status = 1;
	struct dp_counters sum;
	struct timespec now;
	struct sigaction sa;

	if (argc == 0) {
		argc = cp_default_eal_args(cfg, args->prog, argv, lcores, sizeof(lcores));
	} else {
		argv[0] = (char *)args->prog;
		if (argc > (int)(sizeof(argv) / sizeof(argv[0])) - 2) {
			cp_log(CP_LOG_ERR, "too many EAL arguments");
			dp_config_free(cfg);
			return 1;
		}
		memcpy(argv + 1, args->eal_argv, sizeof(char *) * (size_t)argc);
		argc++;
		argv[argc] = NULL;
	}
	rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		cp_log(CP_LOG_ERR, "EAL init failed: %s", rte_strerror(rte_errno));
		dp_config_free(cfg);
		return 1;
	}
	if (rte_lcore_count() < cfg->workers + 1) {
		cp_log(CP_LOG_ERR, "server.workers is %u but the EAL has %u lcores: give it %u "
		       "(one control lcore and one per worker)", cfg->workers, rte_lcore_count(),
		       cfg->workers + 1);
		goto out_eal;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	urcu_qsbr_register_thread();
	urcu_qsbr_thread_offline();	/* online only around table operations */
	rt.cfg = cfg;
	rt.n_ports = cfg->n_ports;
	rt.tsc_hz = rte_get_tsc_hz();
	rt.tsc_base = rte_rdtsc();
	clock_gettime(CLOCK_REALTIME, &now);
	rt.unix_base = (uint64_t)now.tv_sec;
	if (cp_persist_open(&persist, cfg) != 0) {
		goto out;
	}
	rt.commit = persist.sink;
	rt.crdp = urcu_qsbr_create_call_rcu_data(URCU_CALL_RCU_RT, -1);
	rt.mp = rte_pktmbuf_pool_create("lw_mbufs", cfg->mbufs, 256, 0,
					RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	rt.table = bt_table_new(dp_config_capacity(cfg));
	rt.pools = dp_pools_new(cfg, cfg->workers);
	if (rt.crdp == NULL || rt.mp == NULL || rt.table == NULL || rt.pools == NULL) {
		cp_log(CP_LOG_ERR, "out of memory at start-up (mbufs=%u, %llu addresses)",
		       cfg->mbufs, (unsigned long long)dp_config_capacity(cfg));
		goto out;
	}
	rc = dp_workers_init(&rt, cfg->workers);
	if (rc != 0) {
		cp_log(CP_LOG_ERR, "cannot set up workers: %s", strerror(-rc));
		goto out;
	}
	/* Every stored binding is in the tables before a single frame is read. */
	if (cp_persist_load(&persist, &rt, rt.unix_base) != 0 || cp_persist_start(&persist) != 0) {
		goto out;
	}
	rc = dp_ports_start(cfg, (uint16_t)cfg->workers, rt.mp, rt.ports, err, sizeof(err));
	if (rc != 0) {
		cp_log(CP_LOG_ERR, "%s", err);
		goto out;
	}
	log_config(cfg, &rt);
	if (launch_workers(&rt) != 0) {
		cp_log(CP_LOG_ERR, "cannot launch workers");
		atomic_store(&rt.stop, true);
		rte_eal_mp_wait_lcore();
		goto out_ports;
	}
	cp_log(CP_LOG_INFO, "leasewired ready: %u worker(s), %u port(s), %u scope(s)",
	       cfg->workers, cfg->n_ports, cfg->n_scopes);

	control_loop(&rt, &persist, args->run_seconds);

	atomic_store(&rt.stop, true);
	rte_eal_mp_wait_lcore();
	sum_counters(&rt, &sum);
	log_counters("final", &sum);
	status = 0;
out_ports:
	dp_ports_stop(cfg, rt.ports);
out:
	cp_persist_close(&persist);
	/* Retired records go back to their writers' stocks: wait for that before the
	 * writers' memory goes. */
	urcu_qsbr_barrier();
	urcu_qsbr_thread_online();
	bt_table_free(rt.table);
	urcu_qsbr_thread_offline();
	dp_workers_deinit(&rt);
	dp_pools_free(rt.pools);
	if (rt.crdp != NULL) {
		urcu_qsbr_call_rcu_data_free(rt.crdp);
	}
	rte_mempool_free(rt.mp);
	urcu_qsbr_unregister_thread();
out_eal:
	rte_eal_cleanup();
	dp_config_free(cfg);
	cp_log(CP_LOG_INFO, "leasewired stopped");
	return status;
}
