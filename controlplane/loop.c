#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>

#include "apply.h"
#include "ctl.h"
#include "ctl_cmds.h"
#include "failover.h"
#include "fmt.h"
#include "fo_link.h"
#include "log.h"
#include "loop.h"
#include "mgmt_link.h"
#include "mgmt_run.h"
#include "persist.h"
#include "stats.h"
#include "walk.h"
#include "worker.h"

#define TICK_MS 100

/* Set by the handler: the one mutable global here (a handler has no argument to use). */
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

void cp_loop_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

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

/*
 * One slice of the reclaim scan (issue 11 item 10): at most RECLAIM_SLICE addresses per
 * control-loop tick, by address from where the last slice stopped (walk.h), with quiescent
 * states inside, so that a /8 pool neither holds the workers' record recycling nor the
 * control loop (failover keepalives, the socket). A full command ring stops the slice: the
 * scan goes on from that binding at the next tick.
 * @return true when the scan is over.
 */
#define RECLAIM_SLICE 65536

static bool reclaim_scan(struct dp_runtime *rt, struct cp_walk *w)
{
	struct reclaim_scan rs = {.rt = rt, .now = dp_runtime_now(rt)};
	bool done;

	urcu_qsbr_thread_online();
	done = cp_walk_step(w, rt->snap->cfg, rt->table, RECLAIM_SLICE, reclaim_cb, &rs);
	urcu_qsbr_thread_offline();
	if (rs.queued != 0 || rs.full != 0) {
		cp_log(CP_LOG_DEBUG, "reclaim scan: %u bindings ended%s", rs.queued,
		       rs.full ? " (command ring full, rest next tick)" : "");
	}
	return done;
}

/* Binding records and table buckets follow the bindings in use (dp_workers_grow). */
static void grow_records(struct dp_runtime *rt)
{
	int rc;

	urcu_qsbr_thread_online();
	rc = dp_workers_grow(rt);
	urcu_qsbr_thread_offline();
	if (rc != 0) {
		cp_log(CP_LOG_WARN, "out of memory for more binding records: %s", strerror(-rc));
	}
}

/* Sleep until the control socket or a failover link has work, or @p wait_ms; then serve
 * the socket. */
static void control_wait(const struct cp_loop_env *d, int wait_ms)
{
	struct pollfd pfd[1 + 8 * (FO_LINK_MAX_CONN + 1) + 1 + MGMT_LINK_MAX_CONN];
	int n = 0, t = cp_fo_timeout_ms(d->fo), tm = cp_mgmt_timeout_ms(d->mgmt);

	if (t >= 0 && t < wait_ms) {
		wait_ms = t;
	}
	if (tm >= 0 && tm < wait_ms) {
		wait_ms = tm;
	}
	if (d->ctl != NULL) {
		pfd[n].fd = ctl_server_fd(d->ctl);
		pfd[n].events = POLLIN;
		pfd[n++].revents = 0;
	}
	n += cp_fo_fds(d->fo, pfd + n, (int)(sizeof(pfd) / sizeof(pfd[0])) - n);
	n += cp_mgmt_fds(d->mgmt, pfd + n, (int)(sizeof(pfd) / sizeof(pfd[0])) - n);
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

/* The workers' address conflicts (conflict detection, dataplane/probe.h), one line each. */
static void log_conflicts(struct dp_runtime *rt)
{
	struct dp_conflict_event ev;
	char mac[LW_HEX_BUFLEN(DP_ETHER_ADDR_LEN)];

	for (uint32_t i = 0; i < rt->n_workers; i++) {
		while (dp_worker_conflict_pop(&rt->workers[i], &ev)) {
			lw_hex_fmt(mac, sizeof(mac), ev.mac, DP_ETHER_ADDR_LEN, ':');
			cp_log(CP_LOG_WARN, "event=address-conflict scope=%s ip-address=%s "
			       "detected-by=%s mac=%s (abandoned for the scope's decline-hold)",
			       ev.scope, lw_ip4_fmt(ev.addr).s, dp_probe_how_str(ev.how), mac);
		}
	}
}

void cp_loop_run(const struct cp_loop_env *d)
{
	struct dp_runtime *rt = d->rt;
	uint64_t start = rte_get_timer_cycles(), hz = rte_get_timer_hz();
	uint64_t next_log = start, next_reclaim = start, next_watch = start;
	uint64_t exhausted = 0;
	double run_seconds = d->run_seconds;
	struct dp_counters sum;
	struct cp_walk reclaim = {.next = CP_WALK_END};
	bool busy = false, shutdown = false;
	int exit_value;

	while (!got_signal && !shutdown) {
		const struct dp_config *cfg;
		int wait_ms = busy ? 1 : TICK_MS;
		int64_t step;
		uint64_t t;

		control_wait(d, wait_ms);
		step = dp_runtime_clock_tick(rt);	/* workers follow the wall clock */
		if (step != 0) {
			cp_log(CP_LOG_WARN, "event=clock-step seconds=%lld (%s: %s)", (long long)step,
			       step > 0 ? "forward" : "backward", step > 0 ?
			       "followed; reclaims judge older leases later by the step" :
			       "the workers' clock runs at half speed until the wall clock catches "
			       "up; lease ends are judged by the wall clock");
			cp_fo_clock_step(d->fo, step);
		}
		if (step > 0) {
			cp_persist_clock_grace(d->persist, rt);	/* a restart keeps the grace */
		}
		log_conflicts(rt);
		cp_fo_poll(d->fo);
		cp_mgmt_poll(d->mgmt);
		busy = false;
		if (d->cmds != NULL) {
			busy = cp_cmd_progress(d->cmds);
			shutdown = cp_cmds_shutdown(d->cmds, &exit_value);
		}
		if (d->apply != NULL && cp_apply_progress(d->apply)) {
			busy = true;	/* the requeue scan, a slice per turn */
		}
		/* A command may just have replaced the snapshot (and freed the old one). */
		cfg = rt->snap->cfg;
		t = rte_get_timer_cycles();
		if (run_seconds > 0 && (double)(t - start) / (double)hz >= run_seconds) {
			break;
		}
		cp_persist_check(d->persist);
		grow_records(rt);
		if (t >= next_watch) {
			cp_stats_watch(d->stats, (t - start) / (hz / 1000 ? hz / 1000 : 1));
			next_watch = t + hz;
		}
		if (!cp_walk_done(&reclaim)) {
			(void)reclaim_scan(rt, &reclaim);
		} else if (t >= next_reclaim) {
			if (next_reclaim != start) {
				cp_walk_init(&reclaim, 0, NULL);
				(void)reclaim_scan(rt, &reclaim);
				cp_requeue_lost(d->apply);
			}
			next_reclaim = t + hz * cfg->reclaim_interval;
		}
		if (t >= next_log) {
			if (next_log != start && cfg->log_interval != 0) {
				cp_stats_sum(d->stats, &sum, false);
				cp_stats_log("counters", &sum);
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
	} else if (shutdown) {
		cp_log(CP_LOG_INFO, "event=shutdown by=control-socket");
	}
}
