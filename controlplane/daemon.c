#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sched.h>
#include <poll.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "daemon.h"
#include "daemon_impl.h"
#include "failover.h"
#include "fo_link.h"
#include "log.h"
#include "persist.h"
#include "telemetry.h"
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
		if (dp_worker_command(&rs->rt->workers[b->owner], DP_CMD_RECLAIM, 0, b->addr) != 0) {
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

void cp_counters(const struct cp_daemon *d, struct dp_counters *sum, bool since_reset)
{
	const uint64_t *b = (const uint64_t *)&d->baseline;
	uint64_t *a = (uint64_t *)sum;

	memset(sum, 0, sizeof(*sum));
	for (uint32_t i = 0; i < d->rt.n_workers; i++) {
		dp_counters_add(sum, &d->rt.workers[i].ctr);
	}
	for (size_t i = 0; since_reset && i < sizeof(*sum) / sizeof(uint64_t); i++) {
		a[i] -= b[i];
	}
}

void cp_log_counters(const char *what, const struct dp_counters *c)
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
	       "reclaimed=%llu steered=%llu parked=%llu drops=%llu%s", what,
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
	       (unsigned long long)c->leases_reclaimed, (unsigned long long)c->steered,
	       (unsigned long long)c->parked, (unsigned long long)dp_counters_drops(c), drops);
}

/* Sleep until the control socket or a failover link has work, or @p wait_ms; then serve
 * the socket. */
static void control_wait(struct cp_daemon *d, int wait_ms)
{
	struct pollfd pfd[1 + 8 * (FO_LINK_MAX_CONN + 1)];
	int n = 0, t = cp_fo_timeout_ms(d);

	if (t >= 0 && t < wait_ms) {
		wait_ms = t;
	}
	if (d->ctl != NULL) {
		pfd[n].fd = ctl_server_fd(d->ctl);
		pfd[n].events = POLLIN;
		pfd[n++].revents = 0;
	}
	n += cp_fo_fds(d, pfd + n, (int)(sizeof(pfd) / sizeof(pfd[0])) - n);
	if (n > 0) {
		(void)poll(pfd, (nfds_t)n, wait_ms);
	} else {
		struct timespec ts = {.tv_sec = 0, .tv_nsec = wait_ms * 1000000L};

		nanosleep(&ts, NULL);
	}
	if (d->ctl != NULL) {
		(void)ctl_server_poll(d->ctl, 0);
	}
}

static void control_loop(struct cp_daemon *d, double run_seconds)
{
	struct dp_runtime *rt = &d->rt;
	uint64_t start = rte_get_timer_cycles(), hz = rte_get_timer_hz();
	uint64_t next_log = start, next_reclaim = start;
	uint64_t exhausted = 0;
	struct dp_counters sum;

	while (!got_signal && !d->shutdown) {
		const struct dp_config *cfg;
		int wait_ms = d->pending != NULL ? 1 : TICK_MS;
		uint64_t t;

		control_wait(d, wait_ms);
		(void)dp_runtime_clock_tick(rt);	/* workers follow the wall clock */
		cp_fo_poll(d);
		cp_cmd_progress(d);
		/* A command may just have replaced the snapshot (and freed the old one). */
		cfg = rt->snap->cfg;
		t = rte_get_timer_cycles();
		if (run_seconds > 0 && (double)(t - start) / (double)hz >= run_seconds) {
			break;
		}
		cp_persist_check(&d->persist);
		if (t >= next_reclaim) {
			if (next_reclaim != start) {
				reclaim_scan(rt);
				cp_requeue_lost(d);
			}
			next_reclaim = t + hz * cfg->reclaim_interval;
		}
		if (t >= next_log) {
			if (next_log != start && cfg->log_interval != 0) {
				cp_counters(d, &sum, false);
				cp_log_counters("counters", &sum);
				if (sum.drop[DP_DROP_POOL_EXHAUSTED] > exhausted) {
					cp_log(CP_LOG_WARN, "pool exhausted: %llu requests got no "
					       "offer in the last %us", (unsigned long long)
					       (sum.drop[DP_DROP_POOL_EXHAUSTED] - exhausted),
					       cfg->log_interval);
					exhausted = sum.drop[DP_DROP_POOL_EXHAUSTED];
				}
			}
			next_log = t + hz * (cfg->log_interval ? cfg->log_interval : 1);
		}
	}
	if (got_signal) {
		cp_log(CP_LOG_INFO, "signal %d: stopping", (int)got_signal);
	} else if (d->shutdown) {
		cp_log(CP_LOG_INFO, "event=shutdown by=control-socket");
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
		       s->prefix_len, (unsigned long long)rt->snap->pools->pools[i].total,
		       s->n_reservations, s->lease_time, s->active ? "" : " (inactive)");
	}
}

/*
 * Mbufs that can be held at once: every RX and TX descriptor ring full, every park full,
 * every steering ring full (several workers), and the mempool's per-lcore caches. Fewer, and
 * a slow store can starve RX of buffers.
 */
static void check_mbufs(const struct dp_config *cfg)
{
	uint64_t w = cfg->workers, need;

	need = w * (DP_PARK_MAX + cfg->n_ports * (2048u + DP_BURST)) +
	       (w > 1 ? w * DP_STEER_RING : 0) + 256 * (w + 1);
	if (cfg->mbufs < need) {
		cp_log(CP_LOG_WARN, "server.mbufs is %u but %u worker(s) on %u port(s) can hold "
		       "%llu at once (descriptor rings, parked replies, steering): under load RX "
		       "may run out of buffers; set server.mbufs to at least %llu", cfg->mbufs,
		       cfg->workers, cfg->n_ports, (unsigned long long)need,
		       (unsigned long long)need);
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

static int build_eal_args(const struct dp_config *cfg, const struct cp_daemon_args *args,
			  char **argv, size_t max, char *lcores, size_t lclen)
{
	int argc = args->eal_argc;

	if (argc == 0) {
		return cp_default_eal_args(cfg, args->prog, argv, lcores, lclen);
	}
	if ((size_t)argc > max - 2) {
		cp_log(CP_LOG_ERR, "too many EAL arguments");
		return -1;
	}
	argv[0] = (char *)args->prog;
	memcpy(argv + 1, args->eal_argv, sizeof(char *) * (size_t)argc);
	argv[argc + 1] = NULL;
	return argc + 1;
}

static int open_control_socket(struct cp_daemon *d, const struct dp_config *cfg)
{
	struct ctl_opts o = {
		.path = cfg->control_socket,
		.group = cfg->control_group,
		.max_request = cfg->control_max_request,
	};
	char err[512];

	if (cfg->control_socket[0] == '\0') {
		cp_log(CP_LOG_WARN, "server.control-socket is empty: no control socket");
		return 0;
	}
	d->ctl = ctl_server_open(&o, cp_cmd_dispatch, d, err, sizeof(err));
	if (d->ctl == NULL) {
		cp_log(CP_LOG_ERR, "server.control-socket: %s", err);
		return -1;
	}
	cp_log(CP_LOG_INFO, "control socket %s", cfg->control_socket);
	return 0;
}

/* Everything after the EAL: tables, snapshot, store, workers, ports, then the loop. */
static int run(struct cp_daemon *d, struct dp_config *cfg, const struct cp_daemon_args *args)
{
	struct dp_runtime *rt = &d->rt;
	struct dp_pools *pools = NULL;
	struct dp_counters sum;
	struct timespec now;
	char err[512];
	int rc, status = 1;
	bool ports_up = false;

	clock_gettime(CLOCK_REALTIME, &now);
	d->started = d->applied = (uint64_t)now.tv_sec;
	rt->tsc_hz = rte_get_tsc_hz();
	/* The workers' clock (dp_runtime_now) ticks over with the wall clock's seconds, not
	 * up to a second behind: back-date the TSC base by the nanoseconds already gone. */
	rt->tsc_base = rte_rdtsc() - (uint64_t)now.tv_nsec * rt->tsc_hz / 1000000000u;
	rt->unix_base = (uint64_t)now.tv_sec;
	if (cp_persist_open(&d->persist, cfg) != 0 ||
	    cp_persist_pick_config(&d->persist, &cfg, d->config_path) != 0) {
		goto out;
	}
	rt->n_ports = cfg->n_ports;
	rt->commit = d->persist.sink;
	rt->crdp = urcu_qsbr_create_call_rcu_data(URCU_CALL_RCU_RT, -1);
	rt->mp = rte_pktmbuf_pool_create("lw_mbufs", cfg->mbufs, 256, 0,
					 RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	rt->table = bt_table_new(dp_config_capacity(cfg));
	pools = dp_pools_new(cfg, cfg->workers);
	if (rt->crdp == NULL || rt->mp == NULL || rt->table == NULL || pools == NULL) {
		cp_log(CP_LOG_ERR, "out of memory at start-up (mbufs=%u, %llu addresses)",
		       cfg->mbufs, (unsigned long long)dp_config_capacity(cfg));
		goto out;
	}
	(void)dp_runtime_publish(rt, cfg, pools, &rc);
	if (rc != 0) {
		goto out;
	}
	cfg = NULL;	/* the snapshot owns both now */
	pools = NULL;

	rc = dp_workers_init(rt, rt->snap->cfg->workers);
	if (rc != 0) {
		cp_log(CP_LOG_ERR, "cannot set up workers: %s", strerror(-rc));
		goto out;
	}
	/* Every stored binding is in the tables before a single frame is read. */
	if (cp_persist_load(&d->persist, rt, rt->unix_base) != 0) {
		goto out;
	}
	if (rt->snap->cfg->n_relationships != 0) {
		/* Durable changes of shared scopes go to the partner: see failover.c. */
		rc = committer_tap_enable(d->persist.committer, 1u << 16);
		if (rc != 0) {
			cp_log(CP_LOG_ERR, "failover: cannot set up the committer's tap: %s",
			       strerror(-rc));
			goto out;
		}
	}
	if (cp_persist_start(&d->persist) != 0) {
		goto out;
	}
	rc = dp_ports_start(rt->snap->cfg, (uint16_t)rt->n_workers, rt->mp, rt->ports, err,
			    sizeof(err));
	if (rc != 0) {
		cp_log(CP_LOG_ERR, "%s", err);
		goto out;
	}
	ports_up = true;
	log_config(rt->snap->cfg, rt);
	check_mbufs(rt->snap->cfg);
	if (cp_telemetry_register(rt) != 0) {
		cp_log(CP_LOG_WARN, "DPDK telemetry: cannot register /leasewire/ endpoints");
	}
	if (open_control_socket(d, rt->snap->cfg) != 0 || cp_fo_start(d) != 0) {
		goto out;
	}
	if (launch_workers(rt) != 0) {
		cp_log(CP_LOG_ERR, "cannot launch workers");
		atomic_store(&rt->stop, true);
		rte_eal_mp_wait_lcore();
		goto out;
	}
	cp_log(CP_LOG_INFO, "leasewired ready: %u worker(s), %u port(s), %u scope(s)",
	       rt->n_workers, rt->n_ports, rt->snap->cfg->n_scopes);

	control_loop(d, args->run_seconds);

	atomic_store(&rt->stop, true);
	rte_eal_mp_wait_lcore();
	cp_counters(d, &sum, false);
	cp_log_counters("final", &sum);
	status = d->shutdown ? d->exit_value : 0;
out:
	cp_telemetry_detach();
	cp_fo_stop(d);
	cp_cmd_abort_all(d);
	ctl_server_close(d->ctl);
	d->ctl = NULL;
	if (ports_up) {
		dp_ports_stop(rt->snap->cfg, rt->ports);
	}
	cp_persist_close(&d->persist);
	/* Retired records go back to their writers' stocks: wait for that before the
	 * writers' memory goes. */
	urcu_qsbr_barrier();
	urcu_qsbr_thread_online();
	bt_table_free(rt->table);
	urcu_qsbr_thread_offline();
	dp_workers_deinit(rt);
	dp_snapshot_free(rt->snap);
	rt->snap = NULL;
	dp_pools_free(pools);
	dp_config_free(cfg);
	if (rt->crdp != NULL) {
		urcu_qsbr_call_rcu_data_free(rt->crdp);
	}
	rte_mempool_free(rt->mp);
	return status;
}

int cp_daemon_run(struct dp_config *cfg, const struct cp_daemon_args *args)
{
	static struct cp_daemon d;
	char *argv[64], lcores[256];
	struct sigaction sa;
	int argc, status = 1;

	d.config_path = args->config_path;
	/* config-write stays inside the configuration's own directory. */
	snprintf(d.config_dir, sizeof(d.config_dir), "/etc/leasewire");
	if (args->config_path != NULL) {
		char dir[sizeof(d.config_dir)];
		const char *slash = strrchr(args->config_path, '/');

		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - args->config_path) : 1,
			 slash ? args->config_path : ".");
		if (realpath(dir[0] ? dir : "/", d.config_dir) == NULL) {
			snprintf(d.config_dir, sizeof(d.config_dir), "%s", dir);
		}
	}
	argc = build_eal_args(cfg, args, argv, sizeof(argv) / sizeof(argv[0]), lcores,
			      sizeof(lcores));
	if (argc < 0) {
		dp_config_free(cfg);
		return 1;
	}
	if (rte_eal_init(argc, argv) < 0) {
		cp_log(CP_LOG_ERR, "EAL init failed: %s", rte_strerror(rte_errno));
		dp_config_free(cfg);
		return 1;
	}
	if (rte_lcore_count() < cfg->workers + 1) {
		cp_log(CP_LOG_ERR, "server.workers is %u but the EAL has %u lcores: give it %u "
		       "(one control lcore and one per worker)", cfg->workers, rte_lcore_count(),
		       cfg->workers + 1);
		dp_config_free(cfg);
	} else {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		urcu_qsbr_register_thread();
		urcu_qsbr_thread_offline();	/* online only around table operations */
		status = run(&d, cfg, args);
		urcu_qsbr_unregister_thread();
	}
	rte_eal_cleanup();
	cp_log(CP_LOG_INFO, "leasewired stopped");
	return status;
}
