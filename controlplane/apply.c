/*
 * apply.c: make a new configuration the running one, with no restart and no lost lease.
 *
 * Bindings live in the lease tables, not in the snapshot, so a new snapshot only changes what
 * the workers read per packet (scopes, options, interfaces) and where they allocate (pools).
 * The pools of the new snapshot are built here from the tables as they are now (free
 * addresses first, then ended bindings, as at start-up), then configuration and pools are
 * published together by one RCU pointer swap. Workers pick the new snapshot up at their next
 * loop iteration.
 *
 * An address freed into the OLD pools between that build and the swap would be missing from
 * the new free lists; after the grace period (no worker uses the old pools any more) a scan
 * collects every free address that is not queued in the new pools, waits until everything
 * the workers posted is durable (a FREE must be on disk before another worker may reuse the
 * address), checks again, and sends each to its owner worker (DP_CMD_REQUEUE), in slices over
 * the control loop's next turns (the requeue scan below). The scan
 * reads the workers' queued bitmaps while they run: a stale bit either makes us skip an
 * address the worker has just taken (it is bound: right to skip) or send one it has just
 * queued (the worker ignores duplicates), so that race is harmless.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply.h"
#include "config.h"
#include "fo_audit.h"
#include "log.h"
#include "persist.h"
#include "worker.h"

static bool ranges_equal(const struct dp_scope *a, const struct dp_scope *b)
{
	return a->n_ranges == b->n_ranges &&
	       memcmp(a->ranges, b->ranges, sizeof(*a->ranges) * a->n_ranges) == 0;
}

/*
 * Failover relationships run on the control thread with an index of their scopes' ranges
 * (failover.c). Without a follower they, and every shared scope, change only with a restart.
 * With one, relationships come, go and change live (the follower stops and restarts them),
 * but a scope that stays shared by the same relationship keeps its position and its ranges:
 * the partner agreed on those addresses. Everything else of a shared scope (options, lease
 * times, reservations, exclusions) may change live.
 */
static bool rels_differ(const struct dp_config *cur, const struct dp_config *nc)
{
	if (nc->n_relationships != cur->n_relationships) {
		return true;
	}
	for (uint32_t i = 0; i < nc->n_relationships; i++) {
		const struct dp_relationship *a = &cur->relationships[i], *b = &nc->relationships[i];

		if (memcmp(a, b, offsetof(struct dp_relationship, scopes)) != 0 ||
		    a->n_scopes != b->n_scopes ||
		    (a->n_scopes != 0 && /* no scopes: both lists may be NULL */
		     memcmp(a->scopes, b->scopes, sizeof(*a->scopes) * a->n_scopes) != 0)) {
			return true;
		}
	}
	return false;
}

/* The name of the relationship sharing scope @p s of @p c ("" when none). */
static const char *rel_name_of(const struct dp_config *c, const struct dp_scope *s)
{
	return s->fo_rel != 0 && s->fo_rel <= c->n_relationships ?
	       c->relationships[s->fo_rel - 1].name : "";
}

static bool relationships_changed(const struct cp_apply *ap, const struct dp_config *cur,
				  const struct dp_config *nc, char *buf, size_t len)
{
	if (ap->follower == NULL && rels_differ(cur, nc)) {
		snprintf(buf, len, "relationships: adding, removing or changing a failover "
			 "relationship needs a restart");
		return true;
	}
	for (uint32_t i = 0; i < cur->n_scopes; i++) {
		const struct dp_scope *a = &cur->scopes[i];
		bool moved;

		if (a->fo_rel == 0) {
			continue;
		}
		moved = i >= nc->n_scopes || strcmp(nc->scopes[i].name, a->name) != 0;
		if (ap->follower != NULL) {
			/* Still shared, by the same relationship? */
			const struct dp_scope *b = NULL;

			for (uint32_t j = 0; j < nc->n_scopes && b == NULL; j++) {
				b = strcmp(nc->scopes[j].name, a->name) == 0 ? &nc->scopes[j] : NULL;
			}
			if (b == NULL && a->fo_rel != 0) {
				snprintf(buf, len, "scopes[%u] (%s): the scope is shared with a failover "
					 "partner: take it out of relationship %s first", i, a->name,
					 rel_name_of(cur, a));
				return true;
			}
			if (b->fo_rel == 0 || strcmp(rel_name_of(nc, b), rel_name_of(cur, a)) != 0) {
				continue;	/* leaves its relationship (or moves to another) */
			}
		}
		if (moved || !ranges_equal(a, &nc->scopes[i])) {
			snprintf(buf, len, "scopes[%u] (%s): the scope is shared with a failover "
				 "partner; removing it, moving it or changing its pools needs a "
				 "restart", i, a->name);
			return true;
		}
	}
	return false;
}

int cp_apply_check_mbufs(const struct dp_config *cfg, char *err, size_t errlen)
{
	char what[160] = "", held[96] = "";
	struct dp_mbuf_need n;
	uint64_t need, rest, least;
	int off = 0;

	dp_mbuf_need(cfg, &n);
	need = n.parks + n.rings + n.caches + n.probes + n.delay;
	if ((n.probes == 0 && n.delay == 0) || need <= cfg->mbufs) {
		return 0;
	}
	/* The parks' cap grows with the pool: the least pool that holds the rest beside it. */
	rest = need - n.parks;
	for (least = cfg->mbufs + 1; least < 2 * rest + 2 * DP_PARK_MAX * (uint64_t)cfg->workers;
	     least++) {
		if (least >= rest + cfg->workers * (uint64_t)dp_park_max((uint32_t)least,
									 cfg->workers)) {
			break;
		}
	}
	if (n.probes != 0) {
		off = snprintf(what, sizeof(what), "conflict detection (scope \"%s\")",
			       n.probe_scope);
		snprintf(held, sizeof(held), ", probe table %llu", (unsigned long long)n.probes);
	}
	if (n.delay != 0) {
		size_t h = strlen(held);

		snprintf(what + off, sizeof(what) - (size_t)off, "%san offer-delay (scope \"%s\")",
			 off ? " and " : "", n.delay_scope);
		snprintf(held + h, sizeof(held) - h, ", offer-delay queue %llu",
			 (unsigned long long)n.delay);
	}
	snprintf(err, errlen, "server.mbufs: %u is too few: with %s, %u worker(s) on %u port(s) "
		 "may hold %llu at once (parked replies %llu, descriptor rings %llu, caches "
		 "%llu%s); set server.mbufs to at least %llu (a restart), or turn %s off",
		 cfg->mbufs, what, cfg->workers, cfg->n_ports, (unsigned long long)need,
		 (unsigned long long)n.parks, (unsigned long long)n.rings,
		 (unsigned long long)n.caches, held, (unsigned long long)least,
		 n.probes && n.delay ? "them" : "it");
	return -1;
}

/* What only a restart can change. @return NULL or the reason. */
static const char *needs_restart(const struct cp_apply *ap, const struct dp_config *cur,
				 const struct dp_config *nc, char *buf, size_t len)
{
	if (nc->workers != cur->workers) {
		snprintf(buf, len, "server.workers: changing it (%u -> %u) needs a restart",
			 cur->workers, nc->workers);
		return buf;
	}
	if (nc->mbufs != cur->mbufs) {
		return "server.mbufs: changing it needs a restart";
	}
	if (strcmp(nc->store_path, cur->store_path) != 0 || nc->durability != cur->durability ||
	    nc->store_map_mb != cur->store_map_mb) {
		return "server.store/durability: changing the store needs a restart";
	}
	if (strcmp(nc->control_socket, cur->control_socket) != 0 ||
	    strcmp(nc->control_group, cur->control_group) != 0) {
		return "server.control-socket: changing the socket needs a restart";
	}
	if (strcmp(nc->user, cur->user) != 0) {
		return "server.user: changing the user needs a restart";
	}
	if (nc->mgmt_addr != cur->mgmt_addr || nc->mgmt_port != cur->mgmt_port) {
		return "server.management: changing its address or port needs a restart (its "
		       "partners may change live)";
	}
	if (relationships_changed(ap, cur, nc, buf, len)) {
		return buf;
	}
	if (cp_apply_check_mbufs(nc, buf, len) != 0) {
		return buf;
	}
	if (nc->n_ports != cur->n_ports) {
		return "ports: adding or removing ports needs a restart";
	}
	for (uint32_t i = 0; i < nc->n_ports; i++) {
		if (strcmp(nc->ports[i].name, cur->ports[i].name) != 0 ||
		    strcmp(nc->ports[i].device, cur->ports[i].device) != 0) {
			snprintf(buf, len, "ports[%u]: changing a port's name or device needs a "
				 "restart", i);
			return buf;
		}
	}
	return NULL;
}

/*
 * The requeue scan (issue 11 item 10): it looks up every address of every pool, so on a /8 it
 * must neither hold the RCU read side nor the control loop for its whole length. It runs as a
 * job of three phases, a slice per loop turn (cp_apply_progress()):
 *   COLLECT  RQ_SLICE addresses per turn from a cursor (scope, range, address), online only
 *            during the slice, a quiescent state every 1024 lookups; no record pointer is
 *            kept between addresses;
 *   DURABLE  until everything the workers had posted when COLLECT ended is durable (checked
 *            once per turn, never slept on), or RQ_DURABLE_MS have passed: then the store is
 *            not keeping up and the scan is retried at the next reclaim tick;
 *   SEND     RQ_SLICE candidates per turn, each looked up again (taken meanwhile: skipped).
 * A configuration applied meanwhile (new pools) starts the scan again; a scan asked for while
 * one runs is run again after it.
 */
#define RQ_SLICE 65536
#define RQ_DURABLE_MS 2000

enum rq_phase { RQ_IDLE, RQ_COLLECT, RQ_DURABLE, RQ_SEND };

struct candidate {
	uint32_t addr, scope, worker;
};

struct cp_requeue {
	enum rq_phase phase;
	bool again;			/* asked for again while running */
	const char *why;		/* for the log (a static string) */
	uint64_t gen;			/* cp_apply.reloads when it started */
	uint32_t sc, ri;		/* COLLECT cursor: scope, range ... */
	uint64_t a;			/* ... and address (0: the range's first) */
	struct candidate *v;
	size_t n, cap, next;		/* SEND cursor: next */
	uint64_t want[DP_MAX_WORKERS];	/* what must be durable before SEND */
	uint64_t since_ms;		/* DURABLE began */
	uint64_t sent, lost, qs, slices;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool add_candidate(struct cp_requeue *rq, struct candidate c)
{
	if (rq->n == rq->cap) {
		size_t cap = rq->cap ? rq->cap * 2 : 256;
		struct candidate *nv = realloc(rq->v, cap * sizeof(*nv));

		if (nv == NULL) {
			return false;
		}
		rq->v = nv;
		rq->cap = cap;
	}
	rq->v[rq->n++] = c;
	return true;
}

/*
 * COLLECT, one slice: every free address of the pools that no free list holds. Online (RCU
 * read side). @return true when every pool has been looked at.
 */
static bool collect_free(struct cp_apply *ap, struct cp_requeue *rq, uint64_t budget)
{
	struct dp_pools *p = ap->rt->snap->pools;


	for (; rq->sc < p->n_scopes; rq->sc++, rq->ri = 0, rq->a = 0) {
		const struct dp_pool *pool = &p->pools[rq->sc];
		const struct dp_scope *s = pool->scope;

		for (; rq->ri < pool->n_ranges; rq->ri++, rq->a = 0) {
			const struct dp_range *r = &pool->ranges[rq->ri];

			if (rq->a < r->first) {
				rq->a = r->first;
			}
			for (; rq->a <= r->last; rq->a++) {
				uint32_t a = (uint32_t)rq->a;
				const struct bt_binding *b;
				int w;

				if (budget-- == 0) {
					return false;
				}
				if ((budget & 1023) == 0) {
					/* No pointer is held across addresses: let grace periods
					 * (and so the workers' record recycling) go on. */
					urcu_qsbr_quiescent_state();
					rq->qs++;
				}
				b = bt_lookup_addr(ap->rt->table, a);
				if ((b != NULL && b->state != BT_EXPIRED && b->state != BT_RELEASED &&
				     b->state != BT_RESET && b->state != BT_BACKUP) ||
				    !dp_scope_in_pool(s, a) ||
				    dp_scope_find_reservation_addr(s, a) != NULL) {
					continue;
				}
				w = dp_pool_owner(p, rq->sc, a);
				if (dp_slice_queued(p, (uint32_t)w, rq->sc, a)) {
					continue;
				}
				if (!add_candidate(rq, (struct candidate){a, rq->sc, (uint32_t)w})) {
					rq->lost++;	/* out of memory: the next scan */
				}
			}
		}
	}
	return true;
}

/* SEND, one slice: queue each candidate with its owner worker (DP_CMD_REQUEUE). Online.
 * @return true when all are sent. */
static bool send_free(struct cp_apply *a, struct cp_requeue *rq, uint64_t budget)
{
	size_t end = rq->n - rq->next > budget ? rq->next + budget : rq->n;

	for (; rq->next < end; rq->next++) {
		const struct candidate *c = &rq->v[rq->next];
		const struct bt_binding *b = bt_lookup_addr(a->rt->table, c->addr);

		/* Taken meanwhile: its new holder's worker hands it back when it is freed. Free
		 * as collect_free() judged: no record, or an ended or BACKUP one. */
		if (b != NULL && b->state != BT_EXPIRED && b->state != BT_RELEASED &&
		    b->state != BT_RESET && b->state != BT_BACKUP) {
			continue;
		}
		if (dp_worker_command(&a->rt->workers[c->worker], DP_CMD_REQUEUE, c->scope,
				      c->addr) == 0) {
			rq->sent++;
		} else {
			rq->lost++;
		}
	}
	return rq->next == rq->n;
}

static void rq_restart(struct cp_apply *a, struct cp_requeue *rq)
{
	rq->phase = RQ_COLLECT;
	rq->again = false;
	rq->gen = a->reloads;
	rq->sc = rq->ri = 0;
	rq->a = 0;
	rq->n = rq->next = 0;
	rq->sent = rq->lost = 0;
}

/* Ask for a scan: start one, or have the running one run again after it (@p restart: start
 * it again now, the pools having changed). */
static void requeue_start(struct cp_apply *a, const char *why, bool restart)
{
	struct cp_requeue *rq = a->rq;

	if (rq == NULL) {
		rq = a->rq = calloc(1, sizeof(*rq));
		if (rq == NULL) {
			/* The next reclaim tick asks again (cp_requeue_lost). */
			atomic_fetch_add_explicit(&a->rt->requeue_lost, 1, memory_order_relaxed);
			return;
		}
	}
	if (rq->phase != RQ_IDLE && !restart) {
		rq->again = true;
		return;
	}
	rq->why = why;
	rq_restart(a, rq);
}

static void rq_finish(struct cp_apply *a, struct cp_requeue *rq)
{
	cp_log(CP_LOG_INFO, "requeue scan (%s): %llu free address(es) handed to their workers%s",
	       rq->why, (unsigned long long)rq->sent,
	       rq->lost ? " (rings full or store behind: again at the next reclaim tick)" : "");
	if (rq->lost) {
		atomic_fetch_add_explicit(&a->rt->requeue_lost, 1, memory_order_relaxed);
	}
	rq->phase = RQ_IDLE;
	if (rq->again) {
		rq_restart(a, rq);
	}
}

/* The pool rebuild of a change being applied (see "The pool rebuild" below). */
struct cp_rebuild {
	struct dp_config *cfg;		/* owned until published */
	struct dp_pools *pools;		/* owned until published */
	struct dp_requeue *scan;	/* owned */
	const struct dp_snapshot *base;	/* the running snapshot it was validated against */
	char source[64];
	cp_apply_done_fn done;
	void *ctx;
	bool scanned;			/* every address looked up: linking the free lists */
};

static bool rebuild_progress(struct cp_apply *a, uint64_t budget);
static void rebuild_free(struct cp_apply *a);
#define RB_SLICE 65536

bool cp_apply_progress(struct cp_apply *a)
{
	struct cp_requeue *rq = a->rq;
	const struct dp_commit *c = &a->rt->commit;
	uint64_t slice = a->requeue_slice ? a->requeue_slice : RQ_SLICE;
	uint32_t w = 0;

	if (a->rb != NULL) {
		/* A configuration's pools being built: one slice per turn, and nothing else
		 * (the requeue scan goes on after it, on the pools then in force). */
		(void)rebuild_progress(a, a->rebuild_slice ? a->rebuild_slice : RB_SLICE);
		return true;
	}
	if (rq == NULL || rq->phase == RQ_IDLE) {
		return false;
	}
	if (rq->gen != a->reloads) {
		rq_restart(a, rq);	/* new pools */
	}
	switch (rq->phase) {
	case RQ_COLLECT:
		rq->slices++;
		urcu_qsbr_thread_online();
		if (collect_free(a, rq, slice)) {
			for (w = 0; w < a->rt->n_workers; w++) {
				rq->want[w] = c->ops->posted(c->ctx, w);
			}
			rq->phase = RQ_DURABLE;
			rq->since_ms = mono_ms();
		}
		urcu_qsbr_thread_offline();
		if (rq->phase == RQ_DURABLE && rq->n == 0) {
			rq_finish(a, rq);
		}
		break;
	case RQ_DURABLE:
		/* An address one worker freed must not reach another before its FREE is on
		 * disk: the other's next change to it comes through another ring, and the
		 * committer does not order rings. */
		while (w < a->rt->n_workers && c->ops->durable(c->ctx, w) >= rq->want[w]) {
			w++;
		}
		if (w == a->rt->n_workers) {
			rq->phase = RQ_SEND;
		} else if (mono_ms() - rq->since_ms > RQ_DURABLE_MS) {
			rq->lost += rq->n;	/* store not keeping up: next time */
			rq_finish(a, rq);
		}
		break;
	case RQ_SEND:
		rq->slices++;
		urcu_qsbr_thread_online();
		if (send_free(a, rq, slice)) {
			urcu_qsbr_thread_offline();
			rq_finish(a, rq);
			break;
		}
		urcu_qsbr_thread_offline();
		break;
	case RQ_IDLE:
		break;
	}
	return rq->phase != RQ_IDLE;
}

void cp_apply_requeue_counts(const struct cp_apply *a, uint64_t *slices, uint64_t *qs)
{
	*slices = a->rq ? a->rq->slices : 0;
	*qs = a->rq ? a->rq->qs : 0;
}

void cp_apply_abort(struct cp_apply *a)
{
	if (a->rb != NULL) {
		cp_apply_done_fn done = a->rb->done;
		void *ctx = a->rb->ctx;

		rebuild_free(a);
		if (done != NULL) {
			done(ctx, -1, "leasewired is stopping: the configuration was not applied");
		}
	}
}

void cp_apply_deinit(struct cp_apply *a)
{
	cp_apply_abort(a);
	if (a->rq != NULL) {
		free(a->rq->v);
		free(a->rq);
		a->rq = NULL;
	}
}

void cp_requeue_lost(struct cp_apply *a)
{
	uint64_t lost = atomic_load_explicit(&a->rt->requeue_lost, memory_order_relaxed);

	if (lost == a->requeue_lost_seen) {
		return;
	}
	/* A worker could not hand a freed address to its owner (command ring full): find it,
	 * and any other address missing from the free lists, again. */
	a->requeue_lost_seen = lost;
	requeue_start(a, "lost", false);
}

void cp_requeue_all(struct cp_apply *a, const char *why)
{
	requeue_start(a, why, false);
}

/*
 * The pool rebuild of a configuration being applied (issue 11 item 10). The new pools are
 * built from the lease tables by looking up every allocatable address (dp_requeue_scan()); on
 * a /8 that is 16 M lookups, seconds to tens of seconds of one control-loop turn (quiescent
 * states inside, but neither failover keepalives nor the control socket nor the reclaim
 * served meanwhile). So the lookups run in slices of RB_SLICE, one per loop turn
 * (cp_apply_progress()), online only during the slice, a quiescent state every 1024 lookups;
 * then the free lists are linked from what they found, RB_SLICE ranks per turn
 * (dp_requeue_build(): offline, the new pools are nobody else's yet). The turn that publishes
 * still carries the FREE marks over the whole old pools twice (dp_pools_carry_freed(), about
 * a third of a slice's time) and sorts the ended bindings. The running configuration and
 * pools stay in force meanwhile: the workers go on serving from them, and the new ones are
 * published at the end, as before:
 *   - packets during the rebuild change the tables behind the cursor: an address bound after
 *     it was looked up sits in the new free lists (the engine looks every popped address up
 *     and skips it); one freed after it was looked up is missing from them until the requeue
 *     scan that follows every publication hands it to its owner (as for a FREE posted between
 *     the build and the swap before). Neither gives an address twice nor loses one for good.
 *   - FREEs not yet durable are carried to the new pools before and after the swap, as before;
 *     from the publishing turn on, a FREE is also marked in the new pools as it is posted
 *     (dp_pools_set_next(): a worker on them must not write what one on the old just freed).
 *   - one rebuild at a time: the running configuration must not change under it (the new
 *     one was derived from it and validated against it). cp_apply_busy() tells the callers;
 *     the control commands wait for it (ctl_cmds.c), a partner's request settles it first
 *     (cp_apply_settle()), and a start while one runs is refused. The rebuild checks at its
 *     end that the snapshot it started from is still the running one.
 */
static void rebuild_free(struct cp_apply *a)
{
	struct cp_rebuild *rb = a->rb;

	if (rb == NULL) {
		return;
	}
	dp_requeue_abort(rb->scan);
	dp_pools_free(rb->pools);
	dp_config_free(rb->cfg);
	free(rb);
	a->rb = NULL;
}

/*
 * The partner-acked PETs (dp_pool.peer_pet) of the running pools, carried to the new pools
 * for each scope that stays shared with the same relationship: they are the partner's
 * knowledge, not ours, and a new snapshot that forgot them would let PARTNER-DOWN give an
 * ended lease's address away at its end + MCLT instead of MCLT past the later of its end and
 * the PET (D12 9.4.2). A scope moved to another relationship starts from 0 (the old partner's
 * PET says nothing of the new one's leases). Only the control thread writes peer_pet, so
 * nothing is missed between this and the swap. O(addresses of the shared scopes).
 *
 * The same for the hold marks (dp_pool.fo_hold) of moves between writers in flight
 * (fo_run_ops.c): until the move is done, no worker may change the address, and the
 * workers on the new pools read the new marks. The op lets go of the mark in the pools then
 * running (fo_run_hold_slot()); the control thread alone writes them too.
 */
static void carry_fo_marks(struct dp_pools *to, const struct dp_config *nc,
			   const struct dp_pools *from, const struct dp_config *oc)
{
	for (uint32_t i = 0; i < nc->n_scopes && i < to->n_scopes; i++) {
		const struct dp_scope *ns = &nc->scopes[i];
		const struct dp_pool *np = &to->pools[i];

		if (ns->fo_rel == 0 || np->peer_pet == NULL || np->fo_hold == NULL) {
			continue;
		}
		for (uint32_t j = 0; j < oc->n_scopes && j < from->n_scopes; j++) {
			const struct dp_scope *os = &oc->scopes[j];
			const struct dp_pool *op = &from->pools[j];

			if (os->fo_rel == 0 || op->peer_pet == NULL || op->fo_hold == NULL ||
			    strcmp(os->name, ns->name) != 0 ||
			    strcmp(rel_name_of(oc, os), rel_name_of(nc, ns)) != 0) {
				continue;
			}
			for (uint32_t r = 0; r < op->n_ranges; r++) {
				for (uint64_t a = op->ranges[r].first; a <= op->ranges[r].last; a++) {
					uint64_t at = op->before[r] + a - op->ranges[r].first, rank;
					uint32_t pet = atomic_load_explicit(&op->peer_pet[at],
									    memory_order_relaxed);
					uint8_t hold = atomic_load_explicit(&op->fo_hold[at],
									    memory_order_relaxed);

					if ((pet != 0 || hold != 0) &&
					    dp_pool_rank(np, (uint32_t)a, &rank)) {
						atomic_store_explicit(&np->peer_pet[rank], pet,
								      memory_order_relaxed);
						atomic_store_explicit(&np->fo_hold[rank], hold,
								      memory_order_release);
					}
				}
			}
		}
	}
}

/* The new pools will not be published after all: the running ones name them no more, and no
 * worker marks a FREE there once a grace period has passed (then they may be freed). */
static void unset_next(struct cp_apply *a)
{
	dp_pools_set_next(a->rt->snap->pools, NULL);
	urcu_qsbr_synchronize_rcu();
}

/* The scan is done: rebuild the free lists, publish configuration and pools, save. Takes
 * the rebuild's cfg and pools. @return as cp_apply_config(). */
static int rebuild_publish(struct cp_apply *a, char *err, size_t errlen)
{
	struct cp_rebuild *rb = a->rb;
	const struct dp_config *cur = a->rt->snap->cfg;
	struct dp_config *cfg = rb->cfg;
	struct dp_pools *pools = rb->pools;
	struct dp_snapshot *old;
	struct timespec now;
	json_t *audit;
	const char *source = rb->source;
	bool saved, follow;
	int rc;

	if (a->rt->snap != rb->base) {
		snprintf(err, errlen, "the running configuration changed while this one was being "
			 "applied: nothing changed, try again");
		return -1;
	}
	rc = dp_requeue_end(rb->scan);
	rb->scan = NULL;
	if (rc != 0) {
		snprintf(err, errlen, "out of memory building the pools");
		return -1;
	}
	if (dp_config_capacity(cfg) > 2 * a->rt->table->capacity + 1024) {
		cp_log(CP_LOG_WARN, "the new configuration has %llu addresses, the lease tables "
		       "were sized for %llu: lookups slow down until the next restart",
		       (unsigned long long)dp_config_capacity(cfg),
		       (unsigned long long)a->rt->table->capacity);
	}
	/* FREEs not yet durable must still be waited for under the new pools (engine.c): those
	 * posted from now on are remembered there at once (a worker may run on the new pools
	 * while another still frees on these), the earlier ones carried. */
	dp_pools_set_next(a->rt->snap->pools, pools);
	dp_pools_carry_freed(pools, a->rt->snap->pools, &a->rt->commit);
	carry_fo_marks(pools, cfg, a->rt->snap->pools, cur);
	follow = a->follower != NULL && rels_differ(cur, cfg);
	if (follow && a->follower->prepare(a->follower_ctx, cfg, err, errlen) != 0) {
		unset_next(a);
		return -1;
	}
	audit = follow ? cp_fo_audit(cur, cfg) : NULL;
	old = dp_runtime_publish(a->rt, cfg, pools, &rc);
	if (rc != 0) {
		snprintf(err, errlen, "out of memory publishing the configuration");
		if (follow) {
			a->follower->commit(a->follower_ctx);	/* what prepare() stopped, again */
		}
		json_decref(audit);
		unset_next(a);
		return -1;
	}
	rb->cfg = NULL;		/* published: the snapshot owns them */
	rb->pools = NULL;
	/* Wait until no worker reads the old snapshot, then free it. */
	urcu_qsbr_synchronize_rcu();
	dp_pools_carry_freed(pools, old->pools, &a->rt->commit);	/* posted meanwhile */
	dp_snapshot_free(old);
	if (follow) {
		/* Only now: a worker still on the old snapshot would read a view published at
		 * a moved index as its scope's. Until here, prepare() left the moved and new
		 * ones NULL: their scopes answered nobody for one grace period. */
		a->follower->commit(a->follower_ctx);
	}
	cp_fo_audit_log(audit, source);
	json_decref(audit);
	a->reloads++;
	requeue_start(a, "config-applied", true);	/* over the loop's next turns */

	clock_gettime(CLOCK_REALTIME, &now);
	a->applied = (uint64_t)now.tv_sec;
	/* Before the save: a store held full by the old limit takes the configuration too. */
	cp_persist_reconfigure(a->persist, a->rt->snap->cfg);
	saved = cp_persist_save_config(a->persist, a->rt->snap->cfg) == 0;
	if (!saved) {
		snprintf(err, errlen, "the store refused it (see the log); it will not survive a "
			 "restart");
	}
	cp_log(CP_LOG_INFO, "event=config-applied source=%s scopes=%u interfaces=%u", source,
	       a->rt->snap->cfg->n_scopes, a->rt->snap->cfg->n_ifaces);
	return saved ? 0 : CP_APPLIED_NOT_SAVED;
}

/* One slice of the rebuild (@p budget lookups); at the end, publish. @return true when the
 * rebuild is over (*rc and @p err then say how; a->rb is gone). */
static bool rebuild_step(struct cp_apply *a, uint64_t budget, int *rc, char *err,
			 size_t errlen)
{
	bool done;

	a->rb_slices++;
	if (!a->rb->scanned) {
		urcu_qsbr_thread_online();
		done = dp_requeue_scan(a->rb->scan, a->rt->table, budget, &a->rb_qs);
		urcu_qsbr_thread_offline();
		if (!done) {
			return false;
		}
		a->rb->scanned = true;
	}
	/* Then the lists themselves, as long as a big pool's (a rank per lookup's worth). */
	if (!dp_requeue_build(a->rb->scan, budget)) {
		return false;
	}
	*rc = rebuild_publish(a, err, errlen);
	rebuild_free(a);
	return true;
}

int cp_apply_config_start(struct cp_apply *a, struct dp_config *cfg, const char *source,
			  cp_apply_done_fn done, void *ctx, char *err, size_t errlen)
{
	const struct dp_config *cur = a->rt->snap->cfg;
	struct cp_rebuild *rb;
	const char *why;
	char buf[512];
	int rc;

	if (a->rb != NULL) {
		snprintf(err, errlen, "another configuration change is being applied (its pools "
			 "are being built): try again when it is done");
		dp_config_free(cfg);
		return -1;
	}
	why = needs_restart(a, cur, cfg, buf, sizeof(buf));
	if (why != NULL) {
		snprintf(err, errlen, "%s", why);
		dp_config_free(cfg);
		return -1;
	}
	rb = a->rb = calloc(1, sizeof(*rb));
	if (rb == NULL) {
		snprintf(err, errlen, "out of memory building the pools");
		dp_config_free(cfg);
		return -1;
	}
	rb->cfg = cfg;
	rb->base = a->rt->snap;
	rb->done = done;
	rb->ctx = ctx;
	snprintf(rb->source, sizeof(rb->source), "%s", source);
	rb->pools = dp_pools_new(cfg, a->rt->n_workers);
	rb->scan = rb->pools != NULL ? dp_requeue_begin(rb->pools) : NULL;
	if (rb->scan == NULL) {
		snprintf(err, errlen, "out of memory building the pools");
		rebuild_free(a);
		return -1;
	}
	/* The first slice now: a pool that fits in it is applied before the answer. */
	if (rebuild_step(a, a->rebuild_slice ? a->rebuild_slice : RB_SLICE, &rc, err, errlen)) {
		return rc;
	}
	return CP_APPLY_PENDING;
}

/* One slice; when that ends the rebuild, tell its starter. @return true when it ended. */
static bool rebuild_progress(struct cp_apply *a, uint64_t budget)
{
	cp_apply_done_fn done = a->rb->done;
	void *ctx = a->rb->ctx;
	char err[512] = "";
	int rc;

	if (!rebuild_step(a, budget, &rc, err, sizeof(err))) {
		return false;
	}
	if (done != NULL) {
		done(ctx, rc, err);
	}
	return true;
}

int cp_apply_config(struct cp_apply *a, struct dp_config *cfg, const char *source, char *err,
		    size_t errlen)
{
	int rc = cp_apply_config_start(a, cfg, source, NULL, NULL, err, errlen);

	/* The caller cannot wait over loop turns: the rest of the rebuild in this one. */
	while (rc == CP_APPLY_PENDING) {
		(void)rebuild_step(a, UINT64_MAX, &rc, err, errlen);
	}
	return rc;
}

bool cp_apply_busy(const struct cp_apply *a)
{
	return a->rb != NULL;
}

void cp_apply_settle(struct cp_apply *a)
{
	while (a->rb != NULL) {
		(void)rebuild_progress(a, UINT64_MAX);
	}
}

void cp_apply_rebuild_counts(const struct cp_apply *a, uint64_t *slices, uint64_t *qs)
{
	*slices = a->rb_slices;
	*qs = a->rb_qs;
}
