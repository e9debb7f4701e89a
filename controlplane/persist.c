#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_launch.h>
#include <rte_lcore.h>

#include "config.h"
#include "cpulist.h"
#include "fmt.h"
#include "log.h"
#include "persist.h"

static uint64_t mono_ns(void);

/* Before the committer starts (nothing else writes the store): as far ahead as is due, in
 * one go. A failure costs only speed, the applier tries again; it is logged. */
static void prefill_at_open(struct cp_persist *p)
{
	struct store_prefill_stats ps;
	char msg[CP_LOG_ESC_SIZE(256)];
	int64_t ret = store_prefill(p->store, 0);

	store_prefill_stats(p->store, &ps);
	if (ret > 0) {
		cp_log(CP_LOG_INFO, "store: %llu MiB of zeros written ahead of the data files in "
		       "%.1f ms", (unsigned long long)((uint64_t)ret >> 20), (double)ps.ns / 1e6);
	} else if (ret < 0) {
		cp_log_esc(msg, sizeof(msg), store_prefill_errmsg(p->store), 256);
		cp_log(CP_LOG_WARN, "event=store-prefill-failed error=%s message=\"%s\" (the data "
		       "files could not be written ahead: flushes may pay for block allocations; "
		       "nothing stored is affected)", store_strerror((int)ret), msg);
		p->prefill_failure_logged_ms = mono_ns() / 1000000 | 1;
	}
	p->prefills_seen = ps.extensions;
	p->prefill_failures_seen = ps.failures;
}

int cp_persist_open(struct cp_persist *p, const struct dp_config *cfg)
{
	struct store_opts so = {
		.sync = cfg->durability == DP_DURABILITY_RELAXED ? STORE_SYNC_RELAXED
								  : STORE_SYNC_STRICT,
		.map_size = (uint64_t)cfg->store_map_mb << 20,
		.max_map_size = (uint64_t)cfg->store_max_mb << 20,
	};
	/* Strict: the journal path (committer.h); the ring is sized from the park (the rule in
	 * doc/durable-path.md, "Sizing"). */
	struct committer_opts co = {
		.n_workers = cfg->workers,
		.ring_size = committer_ring_size(DP_PARK_MAX),
		.journal = so.sync == STORE_SYNC_STRICT,
	};
	char err[512];

	memset(p, 0, sizeof(*p));
	if (cfg->store_path[0] == '\0') {
		p->sink.ops = &dp_commit_mem_ops;
		p->sink.ctx = &p->mem;
		cp_log(CP_LOG_WARN, "no store configured (server.store): leases live in memory "
		       "only and are lost at stop");
		return 0;
	}
	if (cfg->committer_cpus[0] != '\0') {
		if (lw_cpulist_parse(cfg->committer_cpus, &co.cpus) != 0) {
			cp_log(CP_LOG_ERR, "server.committer-cpus: \"%s\" is not a CPU list",
			       cfg->committer_cpus);
			return -1;
		}
		co.pin = true;
	}
	so.journal = co.journal;
	/* Strict: the journal's and the bindings' files are written ahead with zeros, so that
	 * no flush pays for a block allocation (store.h, "Prefilled data files"). */
	so.prefill_ahead = co.journal ? CP_PERSIST_PREFILL_AHEAD : 0;
	p->store = store_open(cfg->store_path, &so, err, sizeof(err));
	if (p->store == NULL) {
		cp_log(CP_LOG_ERR, "server.store: %s", err);
		return -1;
	}
	if (store_open_note(p->store)[0] != '\0') {
		cp_log(CP_LOG_INFO, "server.store %s: %s", cfg->store_path,
		       store_open_note(p->store));
	}
	prefill_at_open(p);
	p->committer = committer_new(p->store, &co);
	if (p->committer == NULL) {
		cp_log(CP_LOG_ERR, "cannot create the committer (out of memory)");
		store_close(p->store);
		p->store = NULL;
		return -1;
	}
	p->sink.ops = &committer_ops;
	p->sink.ctx = p->committer;
	p->n_workers = cfg->workers;
	if (so.sync == STORE_SYNC_RELAXED) {
		cp_log(CP_LOG_WARN, "DURABILITY IS RELAXED: commits are not synced to disk; a "
		       "crash or power cut can lose acknowledged leases and hand one address to "
		       "two clients. Labs only: set server.durability to \"strict\" in production");
	} else {
		cp_log(CP_LOG_INFO, "store %s: strict durability (every ACK waits for its "
		       "binding to be journaled and synced)", cfg->store_path);
	}
	return 0;
}

static uint64_t fnv1a(const void *data, size_t len, uint64_t h)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h = (h ^ p[i]) * 0x100000001b3ULL;
	}
	return h;
}

static uint64_t fingerprint_of(const char *path)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	char buf[65536];
	size_t n;
	FILE *f;

	if (path == NULL) {
		const char *text = cp_config_default_json();

		return fnv1a(text, strlen(text), h);
	}
	f = fopen(path, "rb");
	if (f == NULL) {
		return 0;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		h = fnv1a(buf, n, h);
	}
	fclose(f);
	return h;
}

void cp_persist_fingerprint(struct cp_persist *p, const char *path)
{
	p->file_fingerprint = fingerprint_of(path);
}

int cp_persist_save_config(struct cp_persist *p, const struct dp_config *cfg)
{
	int rc = 0;

	if (p->store == NULL) {
		return 0;
	}
	json_t *j = cp_config_to_json(cfg);
	char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;

	if (text == NULL || store_config_put(p->store, text, strlen(text),
					     p->file_fingerprint) != 0) {
		cp_log(CP_LOG_ERR, "store: cannot save the running configuration: %s; it will "
		       "not survive a restart", text ? store_errmsg(p->store) : "out of memory");
		rc = -1;
	}
	free(text);
	json_decref(j);
	return rc;
}

int cp_persist_pick_config(struct cp_persist *p, struct dp_config **cfg, const char *path)
{
	uint64_t stored_fp = 0;
	char *text = NULL, err[512];
	struct dp_config *saved;
	int rc;

	cp_persist_fingerprint(p, path);
	if (p->store == NULL) {
		return 0;
	}
	rc = store_config_get(p->store, &text, &stored_fp);
	if (rc == 0 && stored_fp == p->file_fingerprint) {
		saved = cp_config_parse(text, err, sizeof(err));
		if (saved == NULL) {
			cp_log(CP_LOG_ERR, "store: the saved configuration does not validate (%s); "
			       "refusing to guess: fix or remove the store's configuration", err);
			free(text);
			return -1;
		}
		dp_config_free(*cfg);
		*cfg = saved;
		cp_log(CP_LOG_INFO, "store: running the configuration saved by the control "
		       "socket (%s is unchanged since)", path ? path : "the built-in configuration");
	} else if (rc == 0) {
		cp_log(CP_LOG_WARN, "store: %s changed since the control socket last saved the "
		       "configuration: the file wins, changes made through the socket are "
		       "superseded", path ? path : "the built-in configuration");
	} else if (rc != -ENOENT) {
		cp_log(CP_LOG_ERR, "store: cannot read the saved configuration: %s",
		       store_errmsg(p->store));
		return -1;
	}
	free(text);
	(void)cp_persist_save_config(p, *cfg);
	return 0;
}

/*
 * Loading on two CPUs. The control thread walks the store and fills records; a helper thread
 * (on the first worker lcore, idle until the workers launch; a plain thread without one)
 * meanwhile maps and touches the records the walk will need (bt_chunk_new: the page faults
 * that zero the record memory, a quarter of the load's CPU at 10 M) and hands each chunk to
 * the walk, which takes its records in order (bt_chunk_take: not through the writer's
 * lock-free stack, an atomic push and a miss per record at each end); once the walk is
 * over it shares the table inserts with it (bt_bulk_publish). The control thread never waits
 * for the helper beyond a short step the helper holds (linking a chunk, one unit of
 * inserts), so a helper that gets no CPU slows the load down by little more than that;
 * except at a writer's record limit, where the walk waits for the records of a chunk the
 * helper has linked and not yet handed over (they are counted against the limit). What the
 * walk has not taken of the chunks handed over goes to the stocks at the end.
 */
struct load_helper {
	struct dp_runtime *rt;
	pthread_mutex_t lock;		/* guards the fields below and every writer's
					 * chunks and record count */
	pthread_cond_t cond;
	uint64_t target;		/* records the helper grows each writer's stock to */
	uint64_t in_flight;		/* records of a chunk the helper made a writer's
					 * (counted in its n_records) and has not yet handed
					 * to the walk */
	struct bt_chunk **ready;	/* per writer: the chunks handed to the walk and not
					 * yet taken by it, a queue through load_next */
	struct bt_chunk ***ready_tail;	/* per writer: where the next one goes */
	uint64_t reserve;		/* bindings the tables are to be sized for
					 * (bt_table_reserve), by whichever thread comes
					 * first: the helper once its chunks are made, or the
					 * walk once it is over */
	int reserve_state;		/* RESERVE_* */
	bool walk_done;			/* no more growing: help with @c bulk, or stop */
	struct bt_bulk *bulk;		/* offered for help until the control thread has
					 * finished its own part */
	bool in_bulk;			/* the helper is inside bt_bulk_publish() */
	bool exited;			/* the helper has returned (@c cpu_ns is set) */
	unsigned lcore;			/* RTE_MAX_LCORE: a pthread, @c th */
	pthread_t th;
	uint64_t cpu_ns;		/* the helper's CPU time */
	void (*hook)(void *arg, enum cp_load_at at);	/* cp_persist.load_hook */
	void *hook_arg;
};

/* load_helper.reserve_state: */
enum { RESERVE_TODO, RESERVE_RUNNING, RESERVE_DONE };

/* The bindings come straight from the store's walk (no copy of them all). */
struct loaded {
	struct dp_runtime *rt;
	struct dp_requeue *rq;
	uint64_t now;
	uint64_t judge;			/* stored ends at or before this have ended (the clock
					 * grace of a forward step before this start) */
	size_t n;			/* stored bindings walked */
	struct dp_change *fix;		/* those that ended while we were down */
	size_t n_fix, cap_fix;
	uint64_t skipped;		/* ended or free, in no configured scope */
	uint64_t kept;			/* running, in no configured scope (load_one) */
	struct bt_bulk *bulk;		/* filled records, published at the end (NULL: each
					 * published as it comes) */
	struct load_helper *h;		/* NULL: no helper, this thread grows the stocks */
	struct load_src *src;		/* per writer, with a helper */
};

/* Where the walk takes a writer's records from: a chunk the helper handed over, in order
 * (bt_chunk_take), never released to the stock. */
struct load_src {
	struct bt_chunk *cur;		/* NULL: none */
	uint32_t next;			/* its first record not taken */
};

/* bt_binding.scope of a lease loaded in no configured scope: an index no snapshot has
 * (every reader checks it against n_scopes); its next write names the scope covering it. */
#define LOAD_NO_SCOPE UINT32_MAX

static const struct dp_scope *scope_of(const struct dp_config *c, uint32_t addr)
{
	for (uint32_t i = 0; i < c->n_scopes; i++) {
		if (dp_scope_contains(&c->scopes[i], addr)) {
			return &c->scopes[i];
		}
	}
	return NULL;
}

static uint64_t ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (uint64_t)(t1.tv_sec - t0->tv_sec) * 1000 +
	       (uint64_t)((t1.tv_nsec - t0->tv_nsec) / 1000000);
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/*
 * A record of worker @p w's for the walk: from the chunk the helper handed over last, else
 * from the stock, else from the next chunk handed over; when there is none, the stock
 * grows here.
 */
static struct bt_binding *load_record(struct loaded *l, uint32_t w)
{
	struct bt_writer *wr = &l->rt->workers[w].eng.writer;
	struct load_src *src = l->src != NULL ? &l->src[w] : NULL;
	struct bt_binding *nb;
	int rc;

	for (;;) {
		struct load_helper *h = l->h;

		if (src != NULL && src->cur != NULL && src->next < src->cur->n) {
			return bt_chunk_take(src->cur, src->next++);
		}
		if ((nb = bt_record_get(wr)) != NULL) {
			return nb;
		}
		if (h == NULL) {
			if (dp_worker_grow(l->rt, w) != 0) {
				return NULL;
			}
			continue;
		}
		/* The helper holds the lock for a few stores at a time (helper_grow). */
		pthread_mutex_lock(&h->lock);
		if (h->ready[w] != NULL) {
			src->cur = h->ready[w];
			src->next = 0;
			h->ready[w] = src->cur->load_next;
			if (h->ready[w] == NULL) {
				h->ready_tail[w] = &h->ready[w];
			}
			pthread_mutex_unlock(&h->lock);
			continue;
		}
		rc = dp_worker_grow(l->rt, w);
		if (rc == -ENOSPC && h->in_flight != 0) {
			/* No room left, yet a chunk of the helper's is counted and not handed
			 * over yet: those records are this walk's too (a starved helper holds
			 * them for a while). */
			if (h->hook != NULL) {
				h->hook(h->hook_arg, CP_LOAD_AT_WAIT);
			}
			while (h->in_flight != 0) {
				pthread_cond_wait(&h->cond, &h->lock);
			}
			rc = 0;
		}
		pthread_mutex_unlock(&h->lock);
		if (rc != 0) {
			return NULL;
		}
	}
}

/* The records the walk did not take from the chunks handed over go to their stocks. After
 * the helper has returned (no chunk comes any more). */
static void load_src_release(struct loaded *l)
{
	for (uint32_t w = 0; l->src != NULL && w < l->rt->n_workers; w++) {
		struct bt_chunk *c;

		if (l->src[w].cur != NULL) {
			bt_chunk_release_from(l->src[w].cur, l->src[w].next);
		}
		l->src[w].cur = NULL;
		while (l->h != NULL && (c = l->h->ready[w]) != NULL) {
			l->h->ready[w] = c->load_next;
			bt_chunk_release(c);
		}
	}
}

/* The helper's first part: chunks for the writers below the target while the walk goes on.
 * Only linking a chunk to its writer happens under the lock (the faults and the pushes
 * outside). Lock held on entry and return. */
static void helper_grow(struct load_helper *h)
{
	struct dp_runtime *rt = h->rt;
	bool more = true;

	while (more && !h->walk_done) {
		more = false;
		for (uint32_t i = 0; i < rt->n_workers && !h->walk_done; i++) {
			struct bt_writer *wr = &rt->workers[i].eng.writer;
			struct bt_chunk *c;

			if (wr->n_records >= h->target) {
				continue;
			}
			pthread_mutex_unlock(&h->lock);
			c = bt_chunk_new(wr, DP_RECORD_CHUNK);
			pthread_mutex_lock(&h->lock);
			if (c == NULL) {
				return;
			}
			if (bt_writer_add_chunk(wr, c) != 0) {
				bt_chunk_free(c);
				return;
			}
			h->in_flight += c->n;
			pthread_mutex_unlock(&h->lock);
			if (h->hook != NULL) {
				h->hook(h->hook_arg, CP_LOAD_AT_LINKED);
			}
			pthread_mutex_lock(&h->lock);
			c->load_next = NULL;
			*h->ready_tail[i] = c;		/* the walk's (load_record) */
			h->ready_tail[i] = &c->load_next;
			h->in_flight -= c->n;
			pthread_cond_broadcast(&h->cond);	/* load_record() may wait */
			more = true;
		}
	}
}

/* Size the tables unless the other thread has done it or is doing it (then wait for it).
 * Lock held on entry and return; registered (online or not). */
static void load_reserve(struct load_helper *h)
{
	if (h->reserve_state == RESERVE_TODO) {
		h->reserve_state = RESERVE_RUNNING;
		pthread_mutex_unlock(&h->lock);
		bt_table_reserve(h->rt->table, h->reserve);
		pthread_mutex_lock(&h->lock);
		h->reserve_state = RESERVE_DONE;
		pthread_cond_broadcast(&h->cond);
	}
	while (h->reserve_state != RESERVE_DONE) {
		pthread_cond_wait(&h->cond, &h->lock);
	}
}

/* The helper: grow the stocks while the walk goes on, then size the tables (rculfhash links
 * a bucket node per new bucket: 0.45 s at 10 M, on the helper's CPU beside the walk), then
 * share the inserts. */
static int load_helper_main(void *arg)
{
	struct load_helper *h = arg;

	urcu_qsbr_register_thread();
	urcu_qsbr_thread_offline();
	pthread_mutex_lock(&h->lock);
	helper_grow(h);
	load_reserve(h);
	while (!h->walk_done) {
		pthread_cond_wait(&h->cond, &h->lock);
	}
	if (h->bulk != NULL) {
		struct bt_bulk *bk = h->bulk;

		h->in_bulk = true;
		pthread_mutex_unlock(&h->lock);
		urcu_qsbr_thread_online();
		bt_bulk_publish(bk, false);
		urcu_qsbr_thread_offline();
		pthread_mutex_lock(&h->lock);
		h->in_bulk = false;
	}
	h->cpu_ns = thread_cpu_ns();
	h->exited = true;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	urcu_qsbr_unregister_thread();
	return 0;
}

static void *load_helper_thread(void *arg)
{
	(void)load_helper_main(arg);
	return NULL;
}

/* Start the helper for a load of @p stored bindings, which sizes the tables for @p reserve
 * (0: the caller does): on the first worker lcore when it is free (its CPU idles until the
 * workers launch), else as a thread. @return 0 or -1 (load on this thread alone). */
static int load_helper_start(struct load_helper *h, const struct cp_persist *p,
			     struct dp_runtime *rt, uint64_t stored, uint64_t reserve)
{
	unsigned lcore = rte_get_next_lcore(-1, 1, 0);
	uint64_t most = UINT64_MAX;

	*h = (struct load_helper){.rt = rt, .lcore = RTE_MAX_LCORE, .hook = p->load_hook,
				  .hook_arg = p->load_hook_arg, .reserve = reserve,
				  .reserve_state = reserve != 0 ? RESERVE_TODO : RESERVE_DONE};
	/* What the control loop's first ticks would grow the stocks to anyway
	 * (dp_workers_grow: DP_RECORD_LOW free after the load); two chunks short of the
	 * smallest max_records, so that a chunk the walk adds beside never passes it. */
	for (uint32_t i = 0; i < rt->n_workers; i++) {
		most = RTE_MIN(most, rt->workers[i].max_records);
	}
	h->target = RTE_MIN(stored / rt->n_workers + DP_RECORD_LOW,
			    most > 2 * DP_RECORD_CHUNK ? most - 2 * DP_RECORD_CHUNK : 0);
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	h->ready = calloc(rt->n_workers, sizeof(*h->ready));
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	h->ready_tail = calloc(rt->n_workers, sizeof(*h->ready_tail));
	if (h->ready == NULL || h->ready_tail == NULL) {
		goto fail;
	}
	for (uint32_t i = 0; i < rt->n_workers; i++) {
		h->ready_tail[i] = &h->ready[i];
	}
	if (pthread_mutex_init(&h->lock, NULL) != 0) {
		goto fail;
	}
	if (pthread_cond_init(&h->cond, NULL) != 0) {
		pthread_mutex_destroy(&h->lock);
		goto fail;
	}
	if (lcore < RTE_MAX_LCORE && rte_eal_get_lcore_state(lcore) == WAIT &&
	    rte_eal_remote_launch(load_helper_main, h, lcore) == 0) {
		h->lcore = lcore;
		return 0;
	}
	if (pthread_create(&h->th, NULL, load_helper_thread, h) == 0) {
		return 0;
	}
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
fail:
	free(h->ready);
	free(h->ready_tail);
	return -1;
}

/* The walk is over: stop growing; offer @p bulk (NULL: nothing) to the helper. */
static void load_helper_go(struct load_helper *h, struct bt_bulk *bulk)
{
	pthread_mutex_lock(&h->lock);
	h->walk_done = true;
	h->bulk = bulk;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

/* The control thread has no insert left to take: withdraw the bulk (a helper that has not
 * started on it will not) and wait for the unit the helper has in hand. */
static void load_helper_withdraw(struct load_helper *h)
{
	pthread_mutex_lock(&h->lock);
	h->bulk = NULL;
	while (h->in_bulk) {
		pthread_cond_wait(&h->cond, &h->lock);
	}
	pthread_mutex_unlock(&h->lock);
}

/* Wait for the helper to return (it has nothing left to do but that). */
static void load_helper_join(struct load_helper *h)
{
	pthread_mutex_lock(&h->lock);
	h->walk_done = true;
	h->bulk = NULL;
	pthread_cond_broadcast(&h->cond);
	while (!h->exited) {
		pthread_cond_wait(&h->cond, &h->lock);
	}
	pthread_mutex_unlock(&h->lock);
	if (h->lcore < RTE_MAX_LCORE) {
		(void)rte_eal_wait_lcore(h->lcore);
	} else {
		(void)pthread_join(h->th, NULL);
	}
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
}

/* The helper is no more: wait for it to return, then put the records the walk did not take
 * from the chunks it handed over in their stocks. */
static void load_helper_end(struct loaded *l)
{
	load_helper_join(l->h);
	load_src_release(l);
	free(l->h->ready);
	free(l->h->ready_tail);
	l->h = NULL;
}

/*
 * The partner-known PET a failover scope's binding was stored with goes back to its address
 * (dp_pool.peer_pet): PARTNER-DOWN waits MCLT past the later of a lease's end and it, and
 * the MCLT rule lets its client's lease run to it + MCLT, as before the restart. No worker
 * runs yet: only this thread writes peer_pet.
 */
static void load_pet(const struct dp_runtime *rt, const struct dp_scope *s,
		     const struct store_binding *sb)
{
	const struct dp_pool *p;
	uint64_t rank;

	if (s->fo_rel == 0 || sb->pet == 0 || s->index >= rt->snap->pools->n_scopes) {
		return;
	}
	p = &rt->snap->pools->pools[s->index];
	if (p->peer_pet != NULL && dp_pool_rank(p, sb->addr, &rank) &&
	    sb->pet > atomic_load_explicit(&p->peer_pet[rank], memory_order_relaxed)) {
		atomic_store_explicit(&p->peer_pet[rank], sb->pet, memory_order_relaxed);
	}
}

/*
 * Publish one stored binding; collect the change for one that ended meanwhile. Bindings come
 * in address order: a client's latest (by start) keeps its by_key entry whatever the order
 * (bt_publish_loaded). One that ended is published as stored, so that it competes with its
 * start as stored, and made EXPIRED once all are in (fix_ended).
 */
static int load_one(const struct store_binding *sb, void *arg)
{
	struct loaded *l = arg;
	struct dp_runtime *rt = l->rt;
	const struct dp_scope *s = scope_of(rt->snap->cfg, sb->addr);
	uint8_t hw_len = sb->hw_len < DP_HW_MAX ? sb->hw_len : DP_HW_MAX;
	bool ended = (sb->state == BT_ACTIVE || sb->state == BT_ABANDONED) && sb->ends <= l->judge;
	uint32_t owner;
	struct bt_binding *nb;

	l->n++;
	if (s == NULL && (ended || sb->key.len == 0 ||
			  (sb->state != BT_ACTIVE && sb->state != BT_ABANDONED))) {
		/* Ended, or free (FREE, EXPIRED, RELEASED, RESET, BACKUP): nothing to keep
		 * from a new client, should a scope come to cover it. */
		if (++l->skipped <= 5) {
			cp_log(CP_LOG_WARN, "store: binding of %s is in no configured "
			       "scope; kept on disk, not served", lw_ip4_fmt(sb->addr).s);
		}
		return 0;
	}
	if (s == NULL) {
		/*
		 * A lease still running in no configured scope (its scope removed, then a
		 * restart): kept in the tables as a live scope-del keeps it, under no scope
		 * (LOAD_NO_SCOPE), not served, so that a scope or range added live that covers
		 * it finds the address taken (the pool rebuild and the engine look at the
		 * tables only) instead of giving it to a second client and overwriting the
		 * record (issue 11). Rather than reading the store at that change (a range
		 * read, then a publication through the owner workers, before the new pools go
		 * live): the store is the truth and the tables its copy, as Kea's allocator
		 * consults its lease database whatever the subnets; and a change never waits
		 * on the disk. The cost is a record per such lease, within the headroom each
		 * worker has over its share (dp_workers_init()); it ends as any lease does.
		 */
		if (++l->kept <= 5) {
			cp_log(CP_LOG_WARN, "store: lease of %s (until %llu) is in no configured "
			       "scope; kept, not served, its address taken until it ends",
			       lw_ip4_fmt(sb->addr).s, (unsigned long long)sb->ends);
		}
	} else {
		load_pet(rt, s, sb);
	}
	/* A lease an older configuration, an operator or the partner gave may be longer than
	 * any the configuration gives now: the forward-step grace must cover it (review18). */
	if (!ended) {
		dp_note_lease(&rt->longest_set_s, sb->start, sb->ends);
	}
	if (s == NULL) {
		owner = rt->n_workers == 1 ? 0 : bt_key_owner(rt->table, &sb->key, rt->n_workers);
	} else if (sb->key.len == 0) {
		/* No client (BACKUP): the address's, written by its slice owner. */
		int w = dp_pool_owner(rt->snap->pools, s->index, sb->addr);

		owner = w >= 0 ? (uint32_t)w : 0;
	} else {
		owner = rt->n_workers == 1 ? 0 : bt_key_owner(rt->table, &sb->key, rt->n_workers);
	}
	if (ended) {
		struct dp_change *c;

		if (l->n_fix == l->cap_fix) {
			size_t cap = l->cap_fix ? l->cap_fix * 2 : 256;

			c = realloc(l->fix, cap * sizeof(*c));
			if (c == NULL) {
				return -1;
			}
			l->fix = c;
			l->cap_fix = cap;
		}
		c = &l->fix[l->n_fix++];
		memset(c, 0, sizeof(*c));
		c->addr = sb->addr;
		c->scope = s->index;
		c->state = sb->state == BT_ACTIVE ? BT_EXPIRED : BT_FREE;
		c->start = c->ends = l->now;
		c->key = sb->key;
		c->hw_len = hw_len;
		memcpy(c->hw, sb->hw, hw_len);
		c->info = sb->info;
		/* A shared scope's partner must hear of it (the store keeps it unacked). */
		c->flags = s->fo_rel != 0 ? DP_CHANGE_FO : 0;
		c->pet = s->fo_rel != 0 ? sb->pet : 0;
		if (c->state == BT_FREE) {
			return 0;
		}
	}
	nb = load_record(l, owner);
	if (nb == NULL) {
		cp_log(CP_LOG_ERR, "store: more bindings than records for worker %u", owner);
		return -1;
	}
	nb->addr = sb->addr;
	nb->scope = s != NULL ? s->index : LOAD_NO_SCOPE;
	nb->state = sb->state;
	nb->start = sb->start;
	nb->ends = sb->ends;
	nb->key = sb->key;
	nb->hw_len = hw_len;
	memcpy(nb->hw, sb->hw, hw_len);
	if (bt_info_set(nb, &sb->info) != 0) {
		/* A spill record, and the stock is empty: grow it (a record taken and given
		 * back), then again. */
		struct bt_binding *sp = load_record(l, owner);

		if (sp != NULL) {
			bt_record_put(&rt->workers[owner].eng.writer, sp);
		}
		if (sp == NULL || bt_info_set(nb, &sb->info) != 0) {
			bt_record_put(&rt->workers[owner].eng.writer, nb);
			cp_log(CP_LOG_ERR, "store: more bindings than records for worker %u",
			       owner);
			return -1;
		}
	}
	if (l->bulk != NULL && bt_bulk_add(l->bulk, nb) == 0) {
		/* published at the end */
	} else if (bt_publish_loaded(&rt->workers[owner].eng.writer, nb) != 0) {
		bt_record_put(&rt->workers[owner].eng.writer, nb);	/* cannot happen */
		return 0;
	}
	if (!ended) {
		dp_requeue_add(l->rq, sb->addr, sb->state, sb->ends);
	}
	return 0;
}

/* The bindings that ended while we were down become EXPIRED now. In place: no worker runs
 * yet and nothing else reads the tables, so no reader can see a record change. */
static void fix_ended(struct loaded *l)
{
	for (size_t i = 0; i < l->n_fix; i++) {
		const struct dp_change *c = &l->fix[i];
		struct bt_binding *b;

		if (c->state != BT_EXPIRED) {
			continue;
		}
		b = (struct bt_binding *)bt_lookup_addr(l->rt->table, c->addr);
		if (b == NULL) {
			continue;
		}
		b->state = BT_EXPIRED;
		b->start = b->ends = l->now;
		dp_requeue_add(l->rq, c->addr, BT_EXPIRED, l->now);
	}
}

int cp_persist_load(struct cp_persist *p, struct dp_runtime *rt, uint64_t now)
{
	struct loaded l = {.rt = rt, .now = now};
	struct load_helper h = {.lcore = RTE_MAX_LCORE};
	struct timespec t0;
	uint64_t grace, until, stored, reserve, walk_ms = 0, reserve_ms = 0, wait_ms = 0;
	uint64_t cpu0 = thread_cpu_ns();
	struct timespec tw;
	const char *where;
	int rc = -1;

	if (p->store == NULL) {
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* A forward step of the wall clock shortly before this start: judge stored ends as
	 * the running server did, and go on doing so until the grace ends (worker.h). */
	if (store_clock_grace_get(p->store, &grace, &until) != 0) {
		cp_log(CP_LOG_ERR, "store: cannot read the clock grace: %s", store_errmsg(p->store));
		return -1;
	}
	if (grace != 0 && now < until) {
		atomic_store_explicit(&rt->grace_until, until, memory_order_relaxed);
		atomic_store_explicit(&rt->grace_s, grace, memory_order_relaxed);
		cp_log(CP_LOG_WARN, "event=clock-grace seconds=%llu until=%llu (the wall clock "
		       "stepped forward before this start: stored lease ends are judged later by "
		       "the step)", (unsigned long long)grace, (unsigned long long)until);
	}
	l.judge = dp_runtime_reclaim_now(rt, now);
	l.rq = dp_requeue_begin(rt->snap->pools);
	if (l.rq == NULL) {
		return -1;
	}
	urcu_qsbr_thread_online();
	/* The tables at their size for what is stored, before it is inserted (one resize): by
	 * the helper beside the walk when the records are published after it (bt_bulk), else
	 * now. */
	stored = store_count(p->store);
	reserve = stored + (uint64_t)rt->n_workers * DP_RECORD_LOW;
	/* The records are filled as the store walk gives them and published at the end,
	 * sorted for the tables (bt_bulk), by this thread and the helper. Without room for the
	 * bulk, each is published as it comes. */
	if (stored != 0) {
		l.bulk = bt_bulk_new(rt->table, stored);
		l.src = calloc(rt->n_workers, sizeof(*l.src));
		if (l.src != NULL && load_helper_start(&h, p, rt, stored,
						       l.bulk != NULL ? reserve : 0) == 0) {
			l.h = &h;
		}
	}
	if (l.h == NULL || l.bulk == NULL) {
		bt_table_reserve(rt->table, reserve);
	}
	if (p->load_hook != NULL) {
		p->load_hook(p->load_hook_arg, CP_LOAD_AT_WALK);
	}
	if (store_load(p->store, load_one, &l) != 0) {
		cp_log(CP_LOG_ERR, "store: cannot load bindings: %s", store_errmsg(p->store));
		if (l.h != NULL) {
			load_helper_end(&l);	/* no chunk added once it returns */
		}
		if (l.bulk != NULL) {
			bt_bulk_abort(l.bulk);
		}
		dp_requeue_abort(l.rq);
		urcu_qsbr_thread_offline();
		goto out;
	}
	walk_ms = ms_since(&t0);
	if (l.h != NULL) {
		/* Before any insert: the helper sized the tables beside the walk, or does it
		 * still (then wait), or not yet (then here). */
		clock_gettime(CLOCK_MONOTONIC, &tw);
		pthread_mutex_lock(&h.lock);
		load_reserve(&h);
		pthread_mutex_unlock(&h.lock);
		reserve_ms = ms_since(&tw);
	}
	if (l.bulk != NULL && l.h != NULL && bt_bulk_parallel(l.bulk)) {
		load_helper_go(l.h, l.bulk);
		bt_bulk_publish(l.bulk, true);
		clock_gettime(CLOCK_MONOTONIC, &tw);
		load_helper_withdraw(l.h);
		wait_ms = ms_since(&tw);
	} else {
		if (l.h != NULL) {
			load_helper_go(l.h, NULL);
		}
		if (l.bulk != NULL) {
			bt_bulk_publish(l.bulk, true);
		}
	}
	if (l.bulk != NULL) {
		(void)bt_bulk_end(l.bulk);	/* none refused: the store has one per address */
	}
	fix_ended(&l);
	rc = dp_requeue_end(l.rq);
	urcu_qsbr_thread_offline();
	if (rc != 0) {
		goto out;
	}
	if (l.n_fix != 0 && store_write_batch(p->store, l.fix, l.n_fix) != 0) {
		cp_log(CP_LOG_ERR, "store: cannot write reclaimed bindings: %s",
		       store_errmsg(p->store));
		rc = -1;
		goto out;
	}
	where = l.h == NULL ? "none" : h.lcore < RTE_MAX_LCORE ? "on a worker lcore" :
		"a thread";
	if (l.h != NULL) {
		load_helper_end(&l);
	}
	cp_log(CP_LOG_INFO, "store: loaded %zu bindings in %llu ms (%zu ended while down and "
	       "reclaimed, %llu outside every scope, of which %llu running leases kept; walk "
	       "%llu ms, then %llu ms sizing the tables or waiting for the helper to, %llu ms "
	       "waiting for the helper's last inserts; CPU ms: %llu this thread, %llu the load "
	       "helper (%s))",
	       l.n, (unsigned long long)ms_since(&t0), l.n_fix,
	       (unsigned long long)l.skipped + l.kept, (unsigned long long)l.kept,
	       (unsigned long long)walk_ms, (unsigned long long)reserve_ms,
	       (unsigned long long)wait_ms,
	       (unsigned long long)((thread_cpu_ns() - cpu0) / 1000000),
	       (unsigned long long)(h.cpu_ns / 1000000), where);
out:
	if (l.h != NULL) {
		load_helper_end(&l);	/* its lcore must be free for the workers */
	}
	free(l.src);
	free(l.fix);
	return rc;
}

void cp_persist_clock_grace(struct cp_persist *p, const struct dp_runtime *rt)
{
	uint64_t grace = atomic_load_explicit(&rt->grace_s, memory_order_relaxed);
	uint64_t until = atomic_load_explicit(&rt->grace_until, memory_order_relaxed);

	if (p->store == NULL) {
		return;
	}
	if (store_clock_grace_put(p->store, grace, until) != 0) {
		cp_log(CP_LOG_ERR, "event=store-error store: cannot keep the clock grace (%llu s "
		       "until %llu): %s; a restart before then may reclaim live leases",
		       (unsigned long long)grace, (unsigned long long)until,
		       store_errmsg(p->store));
	}
}

int cp_persist_start(struct cp_persist *p)
{
	if (p->committer == NULL) {
		return 0;
	}
	if (committer_start(p->committer) != 0) {
		cp_log(CP_LOG_ERR, "cannot start the committer thread");
		return -1;
	}
	return 0;
}

/* CLOCK_MONOTONIC in ns: the committer's busy_since_ns is on this clock. */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#define OUTAGE_REMIND_MS 60000

/*
 * A store call on the ACK path (the journal append and its fdatasync, a direct batch write,
 * the flush) that has run for slow_ms: logged once, with the step it is in, and its end
 * logged when a later check finds it over. Replies wait for it meanwhile. Seen in e2e runs on
 * a loaded machine: a single commit of about 15 s, whose cause (disk or lock) the commit
 * latency histogram alone could not tell.
 */
/* Thread @p tid's scheduler state (R running or runnable: starved of CPU; D: in the disk;
 * S: asleep, e.g. on a lock) and the kernel function it waits in, from /proc. */
static void thread_state(int tid, char *state, char *wchan, size_t len)
{
	char path[64], buf[512], *rp;
	FILE *f;

	if (tid <= 0) {
		return;
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	if (f != NULL) {
		if (fgets(buf, sizeof(buf), f) != NULL && (rp = strrchr(buf, ')')) != NULL &&
		    rp[1] == ' ' && rp[2] != '\0') {
			*state = rp[2];
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/wchan", tid);
	f = fopen(path, "r");
	if (f != NULL) {
		if (fgets(buf, sizeof(buf), f) != NULL && buf[0] != '\0') {
			buf[strcspn(buf, " \n")] = '\0';
			snprintf(wchan, len, "%.48s", buf[0] == '0' && buf[1] == '\0' ? "-" : buf);
		}
		fclose(f);
	}
}

static void slow_check(struct cp_persist *p, const struct committer_stats *st)
{
	uint64_t since = atomic_load(&st->busy_since_ns);
	uint64_t limit = (p->slow_ms != 0 ? p->slow_ms : CP_PERSIST_SLOW_MS) * 1000000ULL;
	uint64_t now;

	if (p->slow_logged != 0 && since != p->slow_logged) {
		cp_log(CP_LOG_INFO, "event=store-commit-slow-ended (the slow store commit "
		       "returned; commit latency in status-get)");
		p->slow_logged = 0;
	}
	if (since == 0 || since == p->slow_logged) {
		return;
	}
	now = mono_ns();
	if (now > since && now - since >= limit) {
		char state = '?', wchan[64] = "?";

		thread_state(atomic_load(&st->tid), &state, wchan, sizeof(wchan));
		cp_log(CP_LOG_WARN, "event=store-commit-slow elapsed-ms=%llu phase=%s "
		       "thread-state=%c wchan=%s (replies that commit a binding wait for it)",
		       (unsigned long long)((now - since) / 1000000), store_commit_phase(p->store),
		       state, wchan);
		p->slow_logged = since;
	}
}

/*
 * What a parked reply waits for is its change becoming durable, not only one store call:
 * a committer asleep between rounds, starved of CPU or not running makes no store call at
 * all, and store-commit-slow then sees nothing. So, per worker, the oldest change seen
 * posted and not durable: its age counts from the check that first saw it, never more than
 * it really waited (later than its post by one loop iteration, or by the wait of the
 * older change watched before it), and it is logged once when it reaches slow_ms. A
 * change stalled for about 2 x slow_ms is always logged. rounds= tells the
 * kinds apart: 0, the committer loop did not turn (one call that hangs: store-call-ms and
 * phase; or a thread that does not run: thread-state); many, it turns and does not make
 * the change durable (held back by the applier's lag, or a defect of its own).
 */
static void durable_check(struct cp_persist *p, const struct committer_stats *st)
{
	uint64_t limit = (p->slow_ms != 0 ? p->slow_ms : CP_PERSIST_SLOW_MS) * 1000000ULL;
	uint64_t now = mono_ns();

	for (uint32_t w = 0; w < p->n_workers && w < DP_MAX_WORKERS; w++) {
		struct cp_persist_wait *wt = &p->wait[w];
		uint64_t durable = p->sink.ops->durable(p->sink.ctx, w);
		uint64_t posted = p->sink.ops->posted(p->sink.ctx, w);

		if (wt->seq != 0 && durable >= wt->seq) {
			if (wt->logged) {
				cp_log(CP_LOG_INFO, "event=store-durable-slow-ended worker=%u "
				       "waited-ms=%llu", w,
				       (unsigned long long)((now - wt->since_ns) / 1000000));
			}
			wt->seq = 0;
		}
		if (wt->seq == 0 && posted > durable) {
			*wt = (struct cp_persist_wait){.seq = posted, .since_ns = now,
						       .rounds = atomic_load(&st->rounds)};
		}
		if (wt->seq != 0 && !wt->logged && now - wt->since_ns >= limit) {
			char state = '?', wchan[64] = "?";
			uint64_t since = atomic_load(&st->busy_since_ns);

			thread_state(atomic_load(&st->tid), &state, wchan, sizeof(wchan));
			cp_log(CP_LOG_WARN, "event=store-durable-slow worker=%u waiting-ms=%llu "
			       "posted=%llu durable=%llu rounds=%llu store-call-ms=%llu phase=%s "
			       "thread-state=%c wchan=%s (replies parked behind these changes "
			       "wait)", w, (unsigned long long)((now - wt->since_ns) / 1000000),
			       (unsigned long long)posted, (unsigned long long)durable,
			       (unsigned long long)(atomic_load(&st->rounds) - wt->rounds),
			       (unsigned long long)(since != 0 && now > since ?
						    (now - since) / 1000000 : 0),
			       store_commit_phase(p->store), state, wchan);
			wt->logged = true;
		}
	}
}

/* The applier's extensions of the data files: rare (each one at least
 * CP_PERSIST_PREFILL_AHEAD), so each is logged; a failure is a warning, once and then at most
 * every OUTAGE_REMIND_MS while failures go on (the applier retries every round: a full disk
 * would otherwise log one per control tick). */
static void prefill_check(struct cp_persist *p, const struct committer_stats *st)
{
	uint64_t n = atomic_load(&st->prefill_extensions);
	uint64_t f = atomic_load_explicit(&st->prefill_failures, memory_order_acquire);
	uint64_t now = mono_ns() / 1000000 | 1;
	char msg[CP_LOG_ESC_SIZE(256)];

	if (n > p->prefills_seen) {
		cp_log(CP_LOG_INFO, "event=store-prefill extensions=%llu total-mib=%llu "
		       "total-ms=%.1f (data files written ahead of the store's use)",
		       (unsigned long long)(n - p->prefills_seen),
		       (unsigned long long)(atomic_load(&st->prefill_bytes) >> 20),
		       (double)atomic_load(&st->prefill_ns) / 1e6);
		p->prefills_seen = n;
	}
	if (f > p->prefill_failures_seen && (p->prefill_failure_logged_ms == 0 ||
					     now - p->prefill_failure_logged_ms >= OUTAGE_REMIND_MS)) {
		cp_log_esc(msg, sizeof(msg), store_prefill_errmsg(p->store), 256);
		cp_log(CP_LOG_WARN, "event=store-prefill-failed count=%llu error=%s message=\"%s\" "
		       "(the data files could not be written ahead: flushes may pay for block "
		       "allocations; nothing stored is affected)",
		       (unsigned long long)(f - p->prefill_failures_seen),
		       store_strerror(atomic_load(&st->prefill_error)), msg);
		p->prefill_failures_seen = f;
		p->prefill_failure_logged_ms = now;
	}
}

void cp_persist_check(struct cp_persist *p)
{
	const struct committer_stats *st;
	uint64_t f, now, reopens;
	char msg[CP_LOG_ESC_SIZE(256)];
	bool failing;
	int err;

	if (p->committer == NULL) {
		return;
	}
	st = committer_stats(p->committer);
	f = atomic_load(&st->failures);
	failing = atomic_load(&st->failing) || atomic_load(&st->apply_failing);
	reopens = atomic_load(&st->store_reopens);
	now = mono_ns() / 1000000;
	if (reopens > p->reopens_seen) {
		cp_log(CP_LOG_WARN, "event=store-reopened count=%llu (a commit could not write "
		       "its meta page; the environment was opened again, committed data kept)",
		       (unsigned long long)(reopens - p->reopens_seen));
		p->reopens_seen = reopens;
	}
	prefill_check(p, st);
	if (f > p->failures_seen && failing &&
	    (!p->outage || now - p->outage_logged_ms >= OUTAGE_REMIND_MS)) {
		err = atomic_load(&st->last_error);
		cp_log_esc(msg, sizeof(msg), store_errmsg(p->store), 256);
		cp_log(CP_LOG_ERR, "event=store-unavailable reason=%s error=\"%s\" failed-commits=%llu "
		       "message=\"%s\" (replies that commit a binding wait, none is sent before "
		       "it is durable; the batch is retried%s)",
		       err == STORE_E_FULL ? "full" : "io", store_strerror(err),
		       (unsigned long long)(f - (p->outage ? p->outage_failures : p->failures_seen)),
		       msg, err == STORE_E_FULL ? "; raise server.store-max-size to resume" : "");
		if (!p->outage) {
			p->outage = true;
			p->outage_failures = p->failures_seen;
			p->outage_start_ms = now;
		}
		p->outage_logged_ms = now;
	}
	if (p->outage && !failing) {
		cp_log(CP_LOG_INFO, "event=store-recovered after-ms=%llu failed-commits=%llu",
		       (unsigned long long)(now - p->outage_start_ms),
		       (unsigned long long)(f - p->outage_failures));
		p->outage = false;
	}
	p->failures_seen = f;
	slow_check(p, st);
	durable_check(p, st);
}

void cp_persist_reconfigure(struct cp_persist *p, const struct dp_config *cfg)
{
	if (p->store != NULL) {
		store_set_max_map_size(p->store, (uint64_t)cfg->store_max_mb << 20);
	}
}

/* Append " <label><bound>:<count>" for every non-empty bucket ("more" for the last). */
static void fmt_hist(char *buf, size_t len, const _Atomic uint64_t *h, const char *label,
		     unsigned long long (*bound)(unsigned))
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < COMMITTER_HIST_BUCKETS && off < len; i++) {
		unsigned long long v = (unsigned long long)atomic_load(&h[i]);

		if (v == 0) {
			continue;
		}
		if (i + 1 < COMMITTER_HIST_BUCKETS) {
			off += (size_t)snprintf(buf + off, len - off, " %s%llu:%llu", label,
						bound(i), v);
		} else {
			off += (size_t)snprintf(buf + off, len - off, " more:%llu", v);
		}
	}
}

static unsigned long long lat_bound(unsigned i)
{
	return COMMITTER_LAT_US(i);
}

static unsigned long long batch_bound(unsigned i)
{
	return COMMITTER_BATCH_MAX(i);
}

/* The committer's distributions at stop: the figures a durability bottleneck shows in. */
static void log_histograms(const struct committer_stats *st)
{
	char lat[512], bat[512];
	double n = (double)atomic_load(&st->changes);
	double commit = (double)atomic_load(&st->commit_ns_total);
	double apply = (double)atomic_load(&st->apply_ns_total);

	fmt_hist(lat, sizeof(lat), st->commit_hist, "<", lat_bound);
	fmt_hist(bat, sizeof(bat), st->batch_hist, "<=", batch_bound);
	cp_log(CP_LOG_INFO, "committer: commit latency (us)%s; batch size%s", lat, bat);
	cp_log(CP_LOG_INFO, "committer: per change %.0f ns CPU, %.0f ns apply (B-tree), "
	       "%.0f ns commit incl. sync (wall); apply share of commit time %.0f%%",
	       n > 0 ? (double)atomic_load(&st->cpu_ns_total) / n : 0.0,
	       n > 0 ? apply / n : 0.0, n > 0 ? (commit - apply) / n : 0.0,
	       commit > 0 ? 100.0 * apply / commit : 0.0);
}

/* Strict mode at stop: what the prefill did, and how far ahead the data files are. */
static void log_prefill(struct store *s, const struct committer_stats *st)
{
	struct store_data_file b, j;

	if (store_data_files(s, &b, &j) != 0) {
		memset(&b, 0, sizeof(b));
		memset(&j, 0, sizeof(j));
	}
	cp_log(CP_LOG_INFO, "store: prefill %llu extensions, %llu MiB of zeros in %.1f ms, %llu "
	       "failed; data files: bindings %.1f MiB used of %.1f, journal %.2f MiB used of %.1f "
	       "(%llu segments created on the ACK path, %llu written without O_DIRECT)",
	       (unsigned long long)atomic_load(&st->prefill_extensions),
	       (unsigned long long)(atomic_load(&st->prefill_bytes) >> 20),
	       (double)atomic_load(&st->prefill_ns) / 1e6,
	       (unsigned long long)atomic_load(&st->prefill_failures),
	       (double)b.used / 1048576.0, (double)b.size / 1048576.0,
	       (double)j.used / 1048576.0, (double)j.size / 1048576.0,
	       (unsigned long long)store_journal_path_creates(s),
	       (unsigned long long)store_journal_direct_fallbacks(s));
}

void cp_persist_close(struct cp_persist *p)
{
	if (p->committer != NULL) {
		const struct committer_stats *st = committer_stats(p->committer);
		int rc = committer_stop(p->committer, 5000);
		uint64_t b = atomic_load(&st->batches), n = atomic_load(&st->changes);

		if (rc != 0) {
			cp_log(CP_LOG_ERR, "store: changes still queued at stop could not be "
			       "committed: %s", store_strerror(rc));
		}
		cp_log(CP_LOG_INFO, "store: %llu changes in %llu batches (avg %.1f, max %llu), "
		       "avg commit %.3f ms, %llu failed commits", (unsigned long long)n,
		       (unsigned long long)b, b ? (double)n / (double)b : 0.0,
		       (unsigned long long)atomic_load(&st->max_batch_seen),
		       b ? (double)atomic_load(&st->commit_ns_total) / (double)b / 1e6 : 0.0,
		       (unsigned long long)atomic_load(&st->failures));
		log_histograms(st);
		if (store_has_journal(p->store)) {
			uint64_t ar = atomic_load(&st->apply_rounds);
			uint64_t an = atomic_load(&st->applied);

			cp_log(CP_LOG_INFO, "store: journal applied %llu changes in %llu "
			       "transactions (avg %.1f), %.0f ns wall and %.0f ns CPU per change, "
			       "lag at most %llu, %llu stalls, %llu failed",
			       (unsigned long long)an, (unsigned long long)ar,
			       ar ? (double)an / (double)ar : 0.0,
			       an ? (double)atomic_load(&st->apply_wall_ns_total) / (double)an : 0.0,
			       an ? (double)atomic_load(&st->apply_cpu_ns_total) / (double)an : 0.0,
			       (unsigned long long)atomic_load(&st->journal_lag_max),
			       (unsigned long long)atomic_load(&st->lag_stalls),
			       (unsigned long long)atomic_load(&st->apply_failures));
			log_prefill(p->store, st);
		}
		committer_free(p->committer);
		p->committer = NULL;
	}
	store_close(p->store);
	p->store = NULL;
}
