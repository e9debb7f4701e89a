/*
 * worker: the poll-mode lcore loop.
 *
 *   for (;;) {
 *       rx_burst every port's queue <id>    parse, steer to the owner, decide, build in place
 *       dequeue frames steered to us        (same path, we are their owner)
 *       dequeue control commands            (reclaim an expired binding we own)
 *       release parked replies whose change is durable
 *       tx_burst what is ready; free what the NIC refused (counted)
 *       quiescent state                     (no table pointer is held past this point)
 *       idle? go RCU-offline, sleep idle_sleep_us, come back online
 *   }
 *
 * Steering: a client belongs to worker bt_key_owner(key). A frame that arrives on another
 * worker's queue is handed to its owner through the owner's steering ring (multi-producer,
 * single-consumer), so each binding keeps a single writer whatever the NIC's RSS does.
 *
 * Conflict detection (probe.h, design in probe.c): a DISCOVER whose address must be probed
 * waits in the worker's probe table, scanned by TSC once per loop (dp_worker_probe_poll);
 * ARP packets and ICMP echo replies that answer a probe are steered to the worker that
 * probes, like DHCP frames to their client's owner.
 *
 * Parking: a reply that commits a binding waits in the worker's park (a FIFO, bounded) until
 * the commit sink's durable sequence for this worker reaches the reply's change. Sequence
 * numbers grow with the FIFO, so release is a scan from the head.
 *
 * Offer delay: an OFFER of a scope with offer-delay waits in the worker's delay queue (bounded,
 * DP_DELAY_MAX; a full queue drops the OFFER, counted as offer_delay_full, and the client
 * retransmits) until its TSC due time, checked once per poll loop with the parked replies. The
 * worker never waits for it; it only stays out of its idle sleep while the queue is not empty.
 *
 * The hot path takes no lock, makes no system call and never allocates; the only syscall is
 * the idle sleep, taken with the RCU read side offline.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "commit.h"
#include "counters.h"
#include "dhcp4_wire.h"
#include "dp_config.h"
#include "engine.h"
#include "frame.h"
#include "lw_attr.h"
#include "port.h"
#include "probe.h"

#define DP_BURST	32
/* Replies waiting for durability, per worker: rate x the time a change waits for a commit
 * (one commit in flight plus its own). 1 M ACK/s x 8 ms (p99 of a strict commit on a loaded
 * 2-core VM, doc/durable-path.md) = 8192. server.mbufs must cover it (check_mbufs()). */
#define DP_PARK_MAX	8192

/**
 * Replies a worker may park at most: DP_PARK_MAX, but never more than its share of half the
 * packet pool (server.mbufs / 2 / workers, at least DP_BURST). A parked reply holds its mbuf
 * until the binding is durable, so during a store outage (or a slow disk) the parks would
 * otherwise take every mbuf and RX would stop for everything, OFFERs, NAKs, INFORMs, ARP and
 * ICMP included, though none of it needs the store. Past the cap a REQUEST is dropped before
 * the engine runs (drop_park_full) and the other half of the pool keeps serving the rest.
 */
static inline uint32_t dp_park_max(uint32_t mbufs, uint32_t n_workers)
{
	uint32_t share = n_workers ? mbufs / 2 / n_workers : mbufs / 2;

	return share > DP_PARK_MAX ? DP_PARK_MAX : share < DP_BURST ? DP_BURST : share;
}
/* OFFERs waiting out their scope's offer-delay, per worker: 1 M DISCOVER/s would need 1 M x the
 * delay; a delay is for a site whose partner answers first, and past the bound the client's
 * retransmission is as good as our late OFFER. 1024 x 16 B = 16 KiB per worker. */
#define DP_DELAY_MAX	1024
#define DP_STEER_RING	4096
#define DP_CMD_RING	4096

struct dp_parked {
	struct rte_mbuf *m;
	uint64_t seq;
	uint32_t addr;		/**< whose binding the reply commits */
	uint64_t key_hash;	/**< and for which client */
};

/** An OFFER held by offer-delay: sent when the TSC reaches @p due. */
struct dp_delayed {
	struct rte_mbuf *m;
	uint64_t due;		/**< rte_rdtsc() value */
};

struct dp_runtime;

struct __rte_cache_aligned dp_worker {
	uint32_t id;
	unsigned lcore;
	struct dp_runtime *rt;
	struct dp_engine eng;
	struct dp_counters ctr;
	struct rte_ring *steer;		/**< frames from other workers: MP enqueue, SC dequeue */
	struct rte_ring *cmd;		/**< commands (uintptr_t-encoded): SP enqueue, SC dequeue */

	struct dp_parked park[DP_PARK_MAX];
	uint32_t park_head, park_count;
	uint32_t park_max;		/**< dp_park_max() of the start-up configuration */

	struct dp_delayed delay[DP_DELAY_MAX];	/**< unordered (scopes differ in delay) */
	uint32_t delay_count;

	struct rte_mbuf *txb[DP_MAX_PORTS][DP_BURST];
	uint16_t n_txb[DP_MAX_PORTS];

	struct dp_probe_table probes;	/**< conflict detection: DISCOVERs held (probe.h) */
	struct dp_conflict_events conflicts;	/**< to the control thread (event log) */

	struct dhcp4_msg msg;		/**< scratch for the frame being handled */
	struct dp_frame frame;
	struct dp_rcache rcache;	/**< encoded option blocks of replies (engine.h) */
	_Atomic uint64_t loops;		/**< progress, for the control plane's watchdog */
	/* dp_worker_now(): its last value (ns, never goes back), the TSC time (tsc_ns) and
	 * the wall clock (dp_runtime_now, s) at that read. */
	uint64_t clk_ns, clk_t, wall_s;
	/** While handle_burst() or poll_steered() hands its frames over: dp_worker_now() read
	 *  once as the burst began, the time every request of the burst is judged by (they
	 *  were all received by then; the clock counts seconds, a burst takes microseconds,
	 *  and rdtsc costs tens of ns in a VM: 2.5 % of the worker when read per request).
	 *  0 outside them: a DISCOVER decided again after a probe timed out (between
	 *  bursts) reads the clock itself; one decided again on a probe's answer, inside a
	 *  burst, is judged by the burst's time, as is the conflict the answer records.
	 *  Worker thread only. */
	uint64_t rx_now;
	/** Overload (server.flood-control.overload-bursts): full rx bursts (up one per full
	 *  burst, down one per partial one, at most twice the threshold), and
	 *  whether the frames being handled come from a backlog; DISCOVERs are then dropped
	 *  (three in four: drop_overload_discover) so that requests, renewals first, get the
	 *  time. */
	uint32_t full_bursts;
	uint32_t discover_seq;
	bool overload;
	/** While handle_burst() hands one frame of its burst to the engine: the records the
	 *  warm pass found for that frame's client and address (dp_ingress.key_hint,
	 *  addr_hint), else NULL. Valid until the loop's quiescent state, after the burst.
	 *  Worker thread only. */
	const struct bt_binding *warm_key, *warm_addr;
	/** rte_rdtsc() when the loop first saw its writer hold retired records (0: none held);
	 *  the loop hands them to RCU (bt_writer_flush) DP_RETIRE_FLUSH_US later at the most,
	 *  before it sleeps, and at stop. */
	uint64_t held_since;
	/** Most binding records the writer may have (its share of the pools plus headroom for
	 *  records in a grace period); dp_workers_grow adds up to that. Control thread. */
	uint64_t max_records;
};

/** Longest a worker holds retired records before it hands them to RCU (bindings.c
 *  "Retiring in batches"): a batch fills in well under this at full load. */
#define DP_RETIRE_FLUSH_US 1000u

/** Records added to a writer at a time (dp_workers_grow): 12.5 MiB. */
#define DP_RECORD_CHUNK 65536u
/** A writer whose stock is below this gets more records at the next tick (the 100 ms tick
 *  covers 1.3 M new bindings/s per worker). */
#define DP_RECORD_LOW (2 * DP_RECORD_CHUNK)

/**
 * What the workers run on: a configuration and the pools built from it, published together
 * by one RCU pointer swap (dp_runtime_publish) and freed together after a grace period.
 */
struct dp_snapshot {
	struct dp_config *cfg;
	struct dp_pools *pools;
};

/** Everything the workers share; owned by the control thread. */
struct dp_runtime {
	struct dp_snapshot *snap;	/**< RCU-protected: workers rcu_dereference() it; the
					 *   control thread (its only writer) reads it plainly */
	struct dp_port_state ports[DP_MAX_PORTS];
	uint32_t n_ports;
	uint32_t n_workers;
	struct dp_worker *workers;	/**< [n_workers], cache aligned */
	struct rte_mempool *mp;
	struct bt_table *table;
	struct dp_commit commit;
	struct call_rcu_data *crdp;	/**< RT call_rcu thread: no futex wake on the hot path */
	uint64_t tsc_hz, tsc_base, unix_base;	/**< set before dp_workers_init(): the TSC
						 *   at the start of unix second unix_base */
	/** The clock (dp_runtime_now): ns per TSC cycle << 32 (set by dp_workers_init). */
	uint64_t ns_mult;
	/** Wall-clock ns minus TSC ns since tsc_base, as the control thread last read it
	 *  (dp_runtime_clock_tick; its only writer). */
	_Atomic int64_t wall_off_ns;
	/** Seconds by which lease ends are judged later after forward steps of the wall clock,
	 *  until grace_until (unix s); both written by dp_runtime_clock_tick only. */
	_Atomic uint64_t grace_s, grace_until;
	/** The longest lease (ends - start, s; infinite ones left out) given by anything but
	 *  the engine's own decisions, whose lengths the current configuration bounds: an
	 *  operator's or the partner's op (dp_engine_apply_op(), any worker), a binding loaded
	 *  from the store (the control thread, before the workers run) and the longest lease
	 *  of a configuration a reload replaces (dp_runtime_publish()). Only grows (atomic
	 *  max); the forward-step grace covers it too (dp_runtime_clock_tick). */
	_Atomic uint64_t longest_set_s;
	_Atomic bool stop;
	_Atomic uint32_t running;
	_Atomic uint64_t requeue_lost;	/**< requeue commands that found a full ring */
	/** Failover views, one per relationship (fo_view.h): RCU pointers written by the
	 *  control thread, NULL until its relationship runs. */
	struct dp_fo_view *fo[DP_MAX_RELATIONSHIPS];
};

/*
 * Time. Bindings hold absolute unix seconds (start, ends), on disk and on the wire to the
 * failover partner, and the control thread, failover and the start-up reclaim read
 * CLOCK_REALTIME. So the workers follow the wall clock: the control thread reads it every
 * tick (dp_runtime_clock_tick) and publishes its offset from the TSC; between ticks workers
 * extrapolate with the TSC (no system call), so TSC drift never accumulates past a tick.
 *
 * The rule for steps of the wall clock, and why:
 *  - Backward by D (the clock was ahead): a worker's clock never goes back and never stands
 *    still (dp_worker_now): it goes on at half speed until the wall clock has caught up
 *    (2 D later), as ntpd and chrony slew. Durations the engine measures with it (offer and
 *    decline holds, flood-control buckets and windows, T1/T2) keep running, at worst at half
 *    speed, instead of freezing for D (which stopped offer holds from ending and buckets from
 *    refilling, for an hour after a one-hour step). Ends the workers write meanwhile are
 *    later than the client's real lease: held longer, never ended early. Ends written by the
 *    wall clock (an operator's lease4-add, a failover partner's update, the store at start)
 *    are judged by the wall clock, not by the worker's clock that runs ahead of it
 *    (dp_worker_ended_by: the earlier of the two), so no lease looks ended before its end.
 *  - Forward by D (the clock was behind: NTP at boot, a resumed VM, date -s): followed at
 *    the next tick, so every lease granted from then on carries the end the client has, and
 *    the next start-up judges it right. A lease granted before the step carries an end D
 *    early in wall terms; so for the longest lease time after the step, reclaims judge lease
 *    ends D later (dp_runtime_reclaim_now): the step never makes a live lease look ended to
 *    the reclaim, nor to the engine when another client asks for the address (by option
 *    50, or from a free list: dp_ingress.ended_by). The control thread keeps the grace in
 *    the store (cp_persist_clock_grace, store_clock_grace_put) and a restart inside the
 *    window loads it back (cp_persist_load), so the start-up reclaim judges the same way.
 *    (Not covered: a step while leasewired is not running, e.g. NTP at boot before it
 *    starts; nothing sees it. Nor a crash in the same tick as the step, before the grace
 *    is written.)
 */

/** Current unix time in seconds as last published plus the TSC since (no system call). May
 *  go back by a step of the wall clock. Any thread. */
uint64_t dp_runtime_now(const struct dp_runtime *rt);

/** dp_runtime_now() minus the forward-step grace: the time reclaims judge lease ends by.
 *  Any thread. */
uint64_t dp_runtime_reclaim_now(const struct dp_runtime *rt, uint64_t now);

/** The worker's clock: dp_runtime_now(), never less than what it returned before; after a
 *  backward step it runs at half speed until dp_runtime_now() has caught up. Worker thread. */
uint64_t dp_worker_now(struct dp_worker *w);

/** The time by which the worker judges whether a lease (another client's, or one to reclaim)
 *  has ended, at worker time @p now (its last dp_worker_now()): the earlier of @p now and the
 *  wall clock, minus the forward-step grace (dp_runtime_reclaim_now). Worker thread. */
uint64_t dp_worker_ended_by(const struct dp_worker *w, uint64_t now);

/**
 * Read CLOCK_REALTIME and publish it to the workers (see the rule above). A forward step
 * (beyond 2 s of drift) adds to the reclaim grace for the longest lease time of the
 * snapshot in force: its scopes' max-lease-time and lease-time, and its policies' lease-time
 * (which may exceed its scope's max-lease-time). Control thread (the snapshot's writer),
 * once per tick.
 * @return the step seen since the last call, in seconds (positive: forward), 0 if none.
 */
int64_t dp_runtime_clock_tick(struct dp_runtime *rt);

/**
 * Allocate workers, rings, binding writers. Control thread, after the EAL and before ports
 * start. @return 0 or negative errno.
 */
_mustcheck_
int dp_workers_init(struct dp_runtime *rt, uint32_t n_workers);

/**
 * Memory follows the bindings: give each worker whose stock of binding records is below
 * DP_RECORD_LOW one more DP_RECORD_CHUNK (up to its max_records), then grow the binding
 * tables to the records there are (bt_table_reserve). Control thread, online (RCU read
 * side), once per tick and while loading bindings.
 * @return 0, or -ENOMEM (nothing more added; requests are dropped as no_binding_record
 *         if a stock runs out).
 */
_mustcheck_
int dp_workers_grow(struct dp_runtime *rt);

/**
 * Add one DP_RECORD_CHUNK (or what is left up to its max_records) to worker @p w's writer
 * now. Control thread (loading: the stock ran out). @return 0, -ENOSPC at max_records,
 * or -ENOMEM.
 */
_mustcheck_
int dp_worker_grow(struct dp_runtime *rt, uint32_t w);

/** Free what dp_workers_init() made. After the workers have returned. */
void dp_workers_deinit(struct dp_runtime *rt);

/** The lcore entry point (rte_eal_remote_launch); @p arg is a struct dp_worker. */
int dp_worker_main(void *arg);

/**
 * Handle a burst of received frames as worker @p w. Each mbuf's port field must hold the
 * index of its port in the configuration (not the DPDK port id). Frames are consumed:
 * transmitted, parked, steered or freed. Worker thread (or a test standing in for it),
 * RCU online.
 */
void dp_worker_handle_burst(struct dp_worker *w, struct rte_mbuf **pkts, uint16_t n);

/**
 * Conflict detection: act on the probes of worker @p w whose deadline is at or before TSC
 * @p tsc: send the next probe, or, after the last one, decide the held DISCOVER again (and
 * answer it). Worker thread (or a test standing in for it, which may pass any @p tsc),
 * RCU online. Transmits through the TX buffers: dp_worker_flush() sends.
 * @return the probes acted on.
 */
unsigned dp_worker_probe_poll(struct dp_worker *w, uint64_t tsc);

/**
 * Take the oldest conflict event of worker @p w into *ev (event=address-conflict).
 * Control thread. @return false when there is none.
 */
static inline bool dp_worker_conflict_pop(struct dp_worker *w, struct dp_conflict_event *ev)
{
	return dp_conflict_event_pop(&w->conflicts, ev);
}

/** Release parked replies that are durable and delayed OFFERs that are due, and flush TX
 *  buffers. */
void dp_worker_flush(struct dp_worker *w);

/**
 * The loop's bound on the records its writer holds retired (bindings.h bt_writer_flush):
 * hand them to RCU when @p now is true (the loop is about to sleep, or stops) or when the
 * writer has held some for DP_RETIRE_FLUSH_US since a call first saw them held. The loop
 * calls it once per iteration. Worker thread (or a test standing in for it), registered
 * with QSBR.
 */
void dp_worker_retire_flush(struct dp_worker *w, bool now);

/**
 * Queue a command for worker @p w. Any thread (the ring is multi-producer).
 * @param scope  DP_CMD_REQUEUE only.
 * @return 0 or -ENOBUFS.
 */
int dp_worker_command(struct dp_worker *w, enum dp_cmd_type type, uint32_t scope, uint32_t addr);

/**
 * Hand a lease operation to worker @p w (the owner of the client, or of the bindings to
 * delete). The caller keeps @p op alive until op->done. Control thread.
 * @return 0 or -ENOBUFS.
 */
int dp_worker_op(struct dp_worker *w, struct dp_lease_op *op);

/**
 * Make a snapshot (taking ownership of @p cfg and @p pools) and publish it to the workers.
 * The previous snapshot, if any, is returned: free it with dp_snapshot_free() after a grace
 * period (synchronize_rcu). Control thread.
 * @return the previous snapshot, or NULL; *err set to -ENOMEM on allocation failure (then
 *         nothing changed and cfg/pools are still the caller's).
 */
struct dp_snapshot *dp_runtime_publish(struct dp_runtime *rt, struct dp_config *cfg,
				       struct dp_pools *pools, int *err);

/** Free a snapshot and what it owns. NULL is a no-op. */
void dp_snapshot_free(struct dp_snapshot *s);

/**
 * What the workers of a configuration may hold of the packet pool at once, by holder. Each
 * is a bound the worker keeps (a ring, a queue, a table), taken at its full size.
 */
struct dp_mbuf_need {
	uint64_t parks;		/**< parked replies at their cap (dp_park_max()) */
	uint64_t rings;		/**< RX and TX descriptor rings and a burst, per worker and port */
	uint64_t caches;	/**< the mempool's per-lcore caches (workers and control) */
	uint64_t steer;		/**< steering rings, with several workers */
	uint64_t probes;	/**< conflict detection: DP_PROBE_MAX held DISCOVERs and as many
				 *   probes per worker, when a scope has it on (probe.h) */
	uint64_t delay;		/**< offer-delay: the DP_DELAY_MAX queue per worker, when a
				 *   scope delays its OFFERs */
	const char *probe_scope;	/**< a scope with conflict detection on, or NULL (@p cfg's) */
	const char *delay_scope;	/**< a scope with an offer-delay, or NULL (@p cfg's) */
};

/** Fill @p n for @p cfg (its workers, ports, mbufs and scopes). Pure; any thread. */
void dp_mbuf_need(const struct dp_config *cfg, struct dp_mbuf_need *n);
