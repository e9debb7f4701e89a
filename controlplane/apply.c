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
 * address), checks again, and sends each to its owner worker (DP_CMD_REQUEUE). The scan
 * reads the workers' queued bitmaps while they run: a stale bit either makes us skip an
 * address the worker has just taken (it is bound: right to skip) or send one it has just
 * queued (the worker ignores duplicates), so that race is harmless.
 */
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
		    memcmp(a->scopes, b->scopes, sizeof(*a->scopes) * a->n_scopes) != 0) {
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
	    nc->store_map_mb != cur->store_map_mb || nc->store_max_mb != cur->store_max_mb) {
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

struct requeue_scan {
	struct cp_apply *a;
	uint64_t sent, lost;
};

struct candidate {
	uint32_t addr, scope, worker;
};

/* Every free address of the pools that no free list holds. Online (RCU read side). */
static size_t collect_free(struct cp_apply *ap, struct candidate **out)
{
	struct dp_pools *p = ap->rt->snap->pools;
	struct candidate *v = NULL;
	size_t n = 0, cap = 0;

	for (uint32_t sc = 0; sc < p->n_scopes; sc++) {
		const struct dp_pool *pool = &p->pools[sc];
		const struct dp_scope *s = pool->scope;

		for (uint32_t i = 0; i < pool->n_ranges; i++) {
			for (uint64_t a = pool->ranges[i].first; a <= pool->ranges[i].last; a++) {
				const struct bt_binding *b;
				int w;

				if ((a & 4095) == 0) {
					/* No pointer is held across addresses: let grace periods
					 * (and so the workers' record recycling) go on. */
					urcu_qsbr_quiescent_state();
				}
				b = bt_lookup_addr(ap->rt->table, (uint32_t)a);
				if ((b != NULL && b->state != BT_EXPIRED && b->state != BT_RELEASED &&
				     b->state != BT_BACKUP) ||
				    !dp_scope_in_pool(s, (uint32_t)a) ||
				    dp_scope_find_reservation_addr(s, (uint32_t)a) != NULL) {
					continue;
				}
				w = dp_pool_owner(p, sc, (uint32_t)a);
				if (dp_slice_queued(p, (uint32_t)w, sc, (uint32_t)a)) {
					continue;
				}
				if (n == cap) {
					struct candidate *nv;

					cap = cap ? cap * 2 : 256;
					nv = realloc(v, cap * sizeof(*v));
					if (nv == NULL) {
						*out = v;
						return n;
					}
					v = nv;
				}
				v[n++] = (struct candidate){(uint32_t)a, sc, (uint32_t)w};
			}
		}
	}
	*out = v;
	return n;
}

/*
 * Wait (bounded) until every change the workers have posted so far is durable. An address
 * one worker freed must not reach another before its FREE is on disk: the other's next change
 * to it comes through another ring, and the committer does not order rings.
 */
static bool all_durable(struct cp_apply *a, unsigned max_ms)
{
	const struct dp_commit *c = &a->rt->commit;
	uint64_t want[DP_MAX_WORKERS];

	for (uint32_t w = 0; w < a->rt->n_workers; w++) {
		want[w] = c->ops->posted(c->ctx, w);
	}
	for (unsigned ms = 0; ms <= max_ms; ms++) {
		uint32_t w = 0;

		while (w < a->rt->n_workers && c->ops->durable(c->ctx, w) >= want[w]) {
			w++;
		}
		if (w == a->rt->n_workers) {
			return true;
		}
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000L};

		nanosleep(&ts, NULL);
	}
	return false;
}

/* Queue every free address that no free list holds with its owner worker (DP_CMD_REQUEUE),
 * once what freed it is durable. */
static void requeue_free(struct cp_apply *a, struct requeue_scan *rs)
{
	struct candidate *v = NULL;
	size_t n;

	urcu_qsbr_thread_online();
	n = collect_free(a, &v);
	urcu_qsbr_thread_offline();
	if (n == 0 || !all_durable(a, 2000)) {
		rs->lost += n;	/* store not keeping up: next time */
		free(v);
		return;
	}
	urcu_qsbr_thread_online();
	for (size_t i = 0; i < n; i++) {
		const struct bt_binding *b = bt_lookup_addr(a->rt->table, v[i].addr);

		/* Taken meanwhile: its new holder's worker hands it back when it is freed. */
		if (b != NULL && b->state != BT_EXPIRED && b->state != BT_RELEASED) {
			continue;
		}
		if (dp_worker_command(&a->rt->workers[v[i].worker], DP_CMD_REQUEUE, v[i].scope,
				      v[i].addr) == 0) {
			rs->sent++;
		} else {
			rs->lost++;
		}
	}
	urcu_qsbr_thread_offline();
	free(v);
}

void cp_requeue_lost(struct cp_apply *a)
{
	uint64_t lost = atomic_load_explicit(&a->rt->requeue_lost, memory_order_relaxed);
	struct requeue_scan rs = {.a = a};

	if (lost == a->requeue_lost_seen) {
		return;
	}
	/* A worker could not hand a freed address to its owner (command ring full): find it,
	 * and any other address missing from the free lists, again. */
	a->requeue_lost_seen = lost;
	requeue_free(a, &rs);
	cp_log(CP_LOG_INFO, "requeue scan: %llu free address(es) handed back to their workers%s",
	       (unsigned long long)rs.sent, rs.lost ? " (rings still full: again next tick)" : "");
	if (rs.lost) {
		a->requeue_lost_seen--;	/* try again at the next tick */
	}
}

void cp_requeue_all(struct cp_apply *a, const char *why)
{
	struct requeue_scan rs = {.a = a};

	requeue_free(a, &rs);
	cp_log(CP_LOG_INFO, "requeue scan (%s): %llu free address(es) handed to their workers%s",
	       why, (unsigned long long)rs.sent, rs.lost ? " (rings full: some left out)" : "");
	if (rs.lost) {
		/* The next reclaim tick scans again (cp_requeue_lost). */
		atomic_fetch_add_explicit(&a->rt->requeue_lost, 1, memory_order_relaxed);
	}
}

int cp_apply_config(struct cp_apply *a, struct dp_config *cfg, const char *source, char *err,
		    size_t errlen)
{
	const struct dp_config *cur = a->rt->snap->cfg;
	struct requeue_scan rs = {.a = a};
	struct dp_snapshot *old;
	struct dp_pools *pools;
	struct timespec now;
	json_t *audit;
	const char *why;
	char buf[256];
	bool saved, follow;
	int rc;

	why = needs_restart(a, cur, cfg, buf, sizeof(buf));
	if (why != NULL) {
		snprintf(err, errlen, "%s", why);
		dp_config_free(cfg);
		return -1;
	}
	pools = dp_pools_new(cfg, a->rt->n_workers);
	if (pools == NULL) {
		snprintf(err, errlen, "out of memory building the pools");
		dp_config_free(cfg);
		return -1;
	}
	urcu_qsbr_thread_online();
	rc = dp_pools_requeue(pools, a->rt->table);
	urcu_qsbr_thread_offline();
	if (rc != 0) {
		snprintf(err, errlen, "out of memory building the pools");
		dp_pools_free(pools);
		dp_config_free(cfg);
		return -1;
	}
	if (dp_config_capacity(cfg) > 2 * a->rt->table->capacity + 1024) {
		cp_log(CP_LOG_WARN, "the new configuration has %llu addresses, the lease tables "
		       "were sized for %llu: lookups slow down until the next restart",
		       (unsigned long long)dp_config_capacity(cfg),
		       (unsigned long long)a->rt->table->capacity);
	}
	follow = a->follower != NULL && rels_differ(cur, cfg);
	if (follow && a->follower->prepare(a->follower_ctx, cfg, err, errlen) != 0) {
		dp_pools_free(pools);
		dp_config_free(cfg);
		return -1;
	}
	audit = follow ? cp_fo_audit(cur, cfg) : NULL;
	old = dp_runtime_publish(a->rt, cfg, pools, &rc);
	if (rc != 0) {
		snprintf(err, errlen, "out of memory publishing the configuration");
		dp_pools_free(pools);
		dp_config_free(cfg);
		if (follow) {
			a->follower->commit(a->follower_ctx);	/* what prepare() stopped, again */
		}
		json_decref(audit);
		return -1;
	}
	/* Wait until no worker reads the old snapshot, then free it. */
	urcu_qsbr_synchronize_rcu();
	dp_snapshot_free(old);
	if (follow) {
		/* Only now: a worker still on the old snapshot would read a view published at
		 * a moved index as its scope's. Until here, prepare() left the moved and new
		 * ones NULL: their scopes answered nobody for one grace period. */
		a->follower->commit(a->follower_ctx);
	}
	cp_fo_audit_log(audit, source);
	json_decref(audit);
	requeue_free(a, &rs);

	clock_gettime(CLOCK_REALTIME, &now);
	a->applied = (uint64_t)now.tv_sec;
	a->reloads++;
	saved = cp_persist_save_config(a->persist, a->rt->snap->cfg) == 0;
	if (!saved) {
		snprintf(err, errlen, "the store refused it (see the log); it will not survive a "
			 "restart");
	}
	cp_log(CP_LOG_INFO, "event=config-applied source=%s scopes=%u interfaces=%u "
	       "requeued=%llu%s", source, a->rt->snap->cfg->n_scopes, a->rt->snap->cfg->n_ifaces,
	       (unsigned long long)rs.sent, rs.lost ? " (some requeues found a full ring)" : "");
	return saved ? 0 : CP_APPLIED_NOT_SAVED;
}
