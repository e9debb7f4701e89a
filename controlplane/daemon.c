#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sched.h>
#include <sys/stat.h>
#include <poll.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "apply.h"
#include "ctl.h"
#include "ctl_cmds.h"
#include "daemon.h"
#include "failover.h"
#include "fmt.h"
#include "leaseop_dp.h"
#include "log.h"
#include "loop.h"
#include "mgmt_run.h"
#include "persist.h"
#include "privdrop.h"
#include "stats.h"
#include "telemetry.h"
#include "worker.h"

/* What one running leasewired holds, private to this file: each module gets the pointers it
 * needs (its env), not this struct. Allocated by cp_daemon_run(), freed when it returns. */
struct cp_daemon {
	struct dp_runtime rt;
	struct cp_persist persist;
	struct cp_stats stats;
	struct cp_apply apply;
	struct ctl_server *ctl;
	struct cp_cmds *cmds;
	struct cp_fo *fo;
	struct cp_mgmt *mgmt;
	const char *config_path;	/* NULL when running the built-in configuration */
	char config_dir[4096];		/* where config-write may write (realpath) */
	uint64_t started;		/* unix seconds */
};

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

		cp_log(CP_LOG_INFO, "scope %s: %s/%u, %llu dynamic addresses, %u reservations, "
		       "lease %us%s", s->name, lw_ip4_fmt(s->subnet).s,
		       s->prefix_len, (unsigned long long)rt->snap->pools->pools[i].total,
		       s->n_reservations, s->lease_time, s->active ? "" : " (inactive)");
	}
}

/*
 * Mbufs that can be held at once: every RX and TX descriptor ring full, every park full,
 * every steering ring full (several workers), and the mempool's per-lcore caches, with
 * conflict detection each worker's probe table (DP_PROBE_MAX DISCOVERs and as many probes),
 * with an offer-delay each worker's delay queue (dp_mbuf_need()). Fewer, and under load RX can
 * run short of buffers. The parks are capped at half the pool (dp_park_max()), so a slow or
 * failed store never takes the other half. What the probe table and the delay queue add is
 * refused outright (cp_apply_check_mbufs(), before this); the rest is warned about.
 */
static void check_mbufs(const struct dp_config *cfg)
{
	struct dp_mbuf_need n;
	uint64_t need;

	dp_mbuf_need(cfg, &n);
	need = n.parks + n.rings + n.caches + n.steer + n.probes + n.delay;
	if (cfg->mbufs < need) {
		cp_log(CP_LOG_WARN, "server.mbufs is %u but %u worker(s) on %u port(s) can hold "
		       "%llu at once (descriptor rings, parked replies, steering, probes, delayed "
		       "offers): under load RX may run out of buffers; set server.mbufs to at least "
		       "%llu", cfg->mbufs, cfg->workers, cfg->n_ports, (unsigned long long)need,
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
	d->ctl = ctl_server_open(&o, cp_cmd_dispatch, d->cmds, err, sizeof(err));
	if (d->ctl == NULL) {
		cp_log(CP_LOG_ERR, "server.control-socket: %s", err);
		return -1;
	}
	d->stats.ctl = d->ctl;
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
	int rc, status = 1, exit_value;
	bool ports_up = false;

	clock_gettime(CLOCK_REALTIME, &now);
	d->started = d->apply.applied = (uint64_t)now.tv_sec;
	d->apply.rt = rt;
	d->apply.persist = &d->persist;
	cp_stats_init(&d->stats, rt);
	rt->tsc_hz = rte_get_tsc_hz();
	/* The workers' clock (dp_runtime_now) ticks over with the wall clock's seconds, not
	 * up to a second behind: back-date the TSC base by the nanoseconds already gone. */
	rt->tsc_base = rte_rdtsc() - (uint64_t)now.tv_nsec * rt->tsc_hz / 1000000000u;
	rt->unix_base = (uint64_t)now.tv_sec;
	if (cp_persist_open(&d->persist, cfg) != 0 ||
	    cp_persist_pick_config(&d->persist, &cfg, d->config_path) != 0) {
		goto out;
	}
	if (cp_apply_check_mbufs(cfg, err, sizeof(err)) != 0) {
		cp_log(CP_LOG_ERR, "%s", err);
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
	if (d->persist.committer != NULL) {
		/* Durable changes of shared scopes go to the partner: see failover.c. With a
		 * store, whatever the relationships now: one added live (failover add,
		 * config-set) needs the tap, which only a committer not yet started can get
		 * (review17). Without a shared scope nothing is pushed: the applier (or the
		 * committer) only tests each change's flags. */
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
	if (cp_telemetry_register(rt, d->persist.committer) != 0) {
		cp_log(CP_LOG_WARN, "DPDK telemetry: cannot register /leasewire/ endpoints");
	}
	/* Failover first: the commands answer for it. */
	if (cp_fo_start(&(struct cp_fo_env){
			.rt = rt, .store = d->persist.store, .committer = d->persist.committer,
			.apply = &d->apply, .sink = cp_leaseop_dp_sink(rt)}, &d->fo) != 0) {
		goto out;
	}
	/* Relationships change live from here on. */
	d->apply.follower = &cp_fo_follower;
	d->apply.follower_ctx = d->fo;
	if (cp_mgmt_start(&(struct cp_mgmt_env){.rt = rt, .apply = &d->apply}, &d->mgmt) != 0) {
		goto out;
	}
	d->cmds = cp_cmds_new(&(struct cp_cmds_env){
			.rt = rt, .persist = &d->persist, .apply = &d->apply, .stats = &d->stats,
			.fo = d->fo, .mgmt = d->mgmt, .config_path = d->config_path,
			.config_dir = d->config_dir,
			.started = d->started, .sink = cp_leaseop_dp_sink(rt)});
	if (d->cmds == NULL) {
		cp_log(CP_LOG_ERR, "out of memory at start-up");
		goto out;
	}
	if (open_control_socket(d, rt->snap->cfg) != 0) {
		goto out;
	}
	/* Every port, listener, socket and store file is open: drop what is left. */
	rc = cp_priv_drop(&(struct cp_priv_opts){
			.keep = cp_priv_keep(rt->snap->cfg), .user = rt->snap->cfg->user,
			.store_dir = rt->snap->cfg->store_path,
			.socket = d->ctl != NULL ? rt->snap->cfg->control_socket : NULL},
			err, sizeof(err));
	if (rc != 0) {
		cp_log(CP_LOG_ERR, "%s", err);
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

	cp_loop_run(&(struct cp_loop_env){
			.rt = rt, .persist = &d->persist, .ctl = d->ctl, .cmds = d->cmds,
			.fo = d->fo, .mgmt = d->mgmt, .stats = &d->stats, .apply = &d->apply,
			.run_seconds = args->run_seconds});

	atomic_store(&rt->stop, true);
	rte_eal_mp_wait_lcore();
	cp_stats_sum(&d->stats, &sum, false);
	cp_stats_log("final", &sum);
	status = cp_cmds_shutdown(d->cmds, &exit_value) ? exit_value : 0;
out:
	cp_telemetry_detach();
	cp_mgmt_stop(d->mgmt);
	d->mgmt = NULL;
	d->apply.follower = NULL;
	cp_fo_stop(d->fo);
	d->fo = NULL;
	cp_cmds_free(d->cmds);
	d->cmds = NULL;
	d->stats.ctl = NULL;
	cp_apply_deinit(&d->apply);
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
	struct cp_daemon *d = calloc(1, sizeof(*d));
	char *argv[64], lcores[256];
	int argc, status = 1;

	if (d == NULL) {
		cp_log(CP_LOG_ERR, "out of memory");
		dp_config_free(cfg);
		return 1;
	}
	d->config_path = args->config_path;
	/* What leasewired creates (DPDK's run-time files, the store) is not for others. */
	umask(0027);
	/* config-write stays inside the configuration's own directory. */
	snprintf(d->config_dir, sizeof(d->config_dir), "/etc/leasewire");
	if (args->config_path != NULL) {
		char dir[sizeof(d->config_dir)];
		const char *slash = strrchr(args->config_path, '/');

		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - args->config_path) : 1,
			 slash ? args->config_path : ".");
		if (realpath(dir[0] ? dir : "/", d->config_dir) == NULL) {
			snprintf(d->config_dir, sizeof(d->config_dir), "%s", dir);
		}
	}
	argc = build_eal_args(cfg, args, argv, sizeof(argv) / sizeof(argv[0]), lcores,
			      sizeof(lcores));
	if (argc < 0) {
		dp_config_free(cfg);
		free(d);
		return 1;
	}
	if (rte_eal_init(argc, argv) < 0) {
		cp_log(CP_LOG_ERR, "EAL init failed: %s", rte_strerror(rte_errno));
		dp_config_free(cfg);
		free(d);
		return 1;
	}
	if (rte_lcore_count() < cfg->workers + 1) {
		cp_log(CP_LOG_ERR, "server.workers is %u but the EAL has %u lcores: give it %u "
		       "(one control lcore and one per worker)", cfg->workers, rte_lcore_count(),
		       cfg->workers + 1);
		dp_config_free(cfg);
	} else {
		cp_loop_catch_signals();
		urcu_qsbr_register_thread();
		urcu_qsbr_thread_offline();	/* online only around table operations */
		status = run(d, cfg, args);
		urcu_qsbr_unregister_thread();
	}
	rte_eal_cleanup();
	free(d);
	cp_log(CP_LOG_INFO, "leasewired stopped");
	return status;
}
