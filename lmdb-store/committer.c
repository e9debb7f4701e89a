/*
 * The committer and its failover tap.
 *
 * The tap is a second single-producer/single-consumer ring, in the other direction: the
 * committer thread produces, the control thread consumes. Only indices cross threads. The
 * producer writes the slots, then publishes head with release; the consumer reads head with
 * acquire, so the slots below it are visible, copies them, then gives them back by storing
 * tail with release, which the producer reads with acquire before reusing a slot. The ring is
 * allocated once, before the thread starts (pthread_create orders that for the thread), and
 * never again: when it is full an address is dropped and counted, the committer never waits
 * for the control thread.
 *
 * Addresses are pushed only after store_write_batch() returned 0 and the durable sequences
 * were published, so whatever the control thread drains is durable, and the partner never
 * hears of a binding that a crash could take back.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "committer.h"

struct spsc {
	_Alignas(64) _Atomic uint64_t head;	/* next slot the worker writes */
	_Alignas(64) _Atomic uint64_t tail;	/* next slot the committer reads */
	_Alignas(64) uint64_t last_seq;		/* committer-private: newest seq drained */
	struct dp_change *slots;
};

/* The failover tap: committer thread produces, control thread consumes. */
struct tap {
	_Alignas(64) _Atomic uint64_t head;	/* next slot the committer writes */
	_Alignas(64) _Atomic uint64_t tail;	/* next slot the control thread reads */
	_Alignas(64) _Atomic uint64_t lost;	/* addresses dropped: the ring was full */
	uint32_t *slots;			/* NULL: the tap is off */
	uint64_t *gens;				/* unacked generation of slots[i] */
	uint64_t mask;
};

struct committer {
	struct store *store;
	struct committer_opts o;
	uint64_t mask;
	struct spsc *rings;			/* [n_workers] */
	_Alignas(64) _Atomic uint64_t durable[DP_MAX_WORKERS];

	/* committer-thread state */
	struct dp_change *batch;
	uint64_t *batch_gen;			/* [max_batch]: store_write_batch_gen() */
	size_t n_batch;
	uint64_t batch_seq[DP_MAX_WORKERS];	/* newest seq per worker in the pending batch */
	uint32_t next_first;			/* drain() fairness */
	pthread_t thread;
	bool started;
	_Atomic bool stop;
	unsigned stop_max_ms;
	int stop_result;
	struct committer_stats st;
	struct tap tap;

	/* journal mode: the second stage (applier thread) */
	struct dp_change *abuf;			/* [apply_max] */
	uint64_t *agen;				/* [apply_max] */
	pthread_t athread;
	bool astarted;
	_Atomic bool astop;
	int astop_result;
};

static int post(void *ctx, const struct dp_change *c)
{
	struct committer *cm = ctx;
	struct spsc *r = &cm->rings[c->worker];
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);

	/* What the store would refuse must not enter a batch: one bad change would block it
	 * (and every reply parked behind it) for good. */
	if (!store_change_valid(c)) {
		return -EINVAL;
	}
	if (h - atomic_load_explicit(&r->tail, memory_order_acquire) > cm->mask) {
		return -ENOBUFS;
	}
	r->slots[h & cm->mask] = *c;
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return 0;
}

static uint64_t durable(void *ctx, uint32_t worker)
{
	struct committer *cm = ctx;

	return atomic_load_explicit(&cm->durable[worker], memory_order_acquire);
}

/* Every post adds one to the head and carries the worker's next sequence number, so the
 * head is the newest sequence posted. */
static uint64_t posted(void *ctx, uint32_t worker)
{
	struct committer *cm = ctx;

	return atomic_load_explicit(&cm->rings[worker].head, memory_order_acquire);
}

static bool room(void *ctx, uint32_t worker)
{
	struct committer *cm = ctx;
	struct spsc *r = &cm->rings[worker];

	return atomic_load_explicit(&r->head, memory_order_relaxed) -
	       atomic_load_explicit(&r->tail, memory_order_acquire) <= cm->mask;
}

const struct dp_commit_ops committer_ops = {
	.post = post,
	.durable = durable,
	.posted = posted,
	.room = room,
};

struct committer *committer_new(struct store *s, const struct committer_opts *o)
{
	struct committer *c;
	uint32_t size = o->ring_size ? o->ring_size : 65536;

	if (o->n_workers == 0 || o->n_workers > DP_MAX_WORKERS || (size & (size - 1)) != 0 ||
	    (o->journal && !store_has_journal(s))) {
		return NULL;
	}
	c = aligned_alloc(64, (sizeof(*c) + 63) & ~(size_t)63);
	if (c == NULL) {
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	c->store = s;
	c->o = *o;
	c->o.ring_size = size;
	c->o.max_batch = o->max_batch ? o->max_batch : 16384;
	c->o.idle_us = o->idle_us ? o->idle_us : 20;
	c->o.max_lag = o->max_lag ? o->max_lag : 1u << 20;
	c->o.apply_max = o->apply_max ? o->apply_max : 65536;
	c->o.apply_gap_us = o->apply_gap_us ? o->apply_gap_us : COMMITTER_APPLY_GAP_US;
	if (c->o.journal) {
		c->abuf = calloc(c->o.apply_max, sizeof(*c->abuf));
		c->agen = calloc(c->o.apply_max, sizeof(*c->agen));
		if (c->abuf == NULL || c->agen == NULL) {
			goto fail;
		}
	}
	c->mask = size - 1;
	c->rings = aligned_alloc(64, sizeof(*c->rings) * o->n_workers);
	if (c->rings != NULL) {
		memset(c->rings, 0, sizeof(*c->rings) * o->n_workers);
	}
	c->batch = calloc(c->o.max_batch, sizeof(*c->batch));
	c->batch_gen = calloc(c->o.max_batch, sizeof(*c->batch_gen));
	if (c->rings == NULL || c->batch == NULL || c->batch_gen == NULL) {
		goto fail;
	}
	for (uint32_t w = 0; w < o->n_workers; w++) {
		c->rings[w].slots = calloc(size, sizeof(struct dp_change));
		if (c->rings[w].slots == NULL) {
			goto fail;
		}
	}
	return c;
fail:
	committer_free(c);
	return NULL;
}

void committer_free(struct committer *c)
{
	if (c == NULL) {
		return;
	}
	for (uint32_t w = 0; c->rings != NULL && w < c->o.n_workers; w++) {
		free(c->rings[w].slots);
	}
	free(c->rings);
	free(c->batch);
	free(c->batch_gen);
	free(c->abuf);
	free(c->agen);
	free(c->tap.slots);
	free(c->tap.gens);
	free(c);
}

const struct committer_stats *committer_stats(const struct committer *c)
{
	return &c->st;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Move what the rings hold into the pending batch (up to max_batch), starting with a
 * different worker each round so that one busy worker cannot starve the others. */
static void drain(struct committer *c)
{
	uint32_t first = c->next_first++ % c->o.n_workers;

	for (uint32_t i = 0; i < c->o.n_workers && c->n_batch < c->o.max_batch; i++) {
		uint32_t w = (first + i) % c->o.n_workers;
		struct spsc *r = &c->rings[w];
		uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
		uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);

		for (; t != h && c->n_batch < c->o.max_batch; t++) {
			const struct dp_change *ch = &r->slots[t & c->mask];

			c->batch[c->n_batch++] = *ch;
			c->batch_seq[w] = ch->seq;
		}
		/* The slots are copied: give them back to the worker now. */
		atomic_store_explicit(&r->tail, t, memory_order_release);
	}
}

/* The partner hears of our changes only; one that applies its own update is not sent back. */
static bool change_is_fo(const struct dp_change *ch)
{
	return (ch->flags & (DP_CHANGE_FO | DP_CHANGE_PEER)) == DP_CHANGE_FO;
}

/* After @p n changes are in the bindings (committer thread, or the applier in journal
 * mode: the single producer either way). One release per call. */
static void tap_push(struct committer *c, const struct dp_change *ch, const uint64_t *gens,
		     size_t n)
{
	struct tap *t = &c->tap;
	uint64_t h, room;
	uint64_t lost = 0;

	if (t->slots == NULL) {
		return;
	}
	h = atomic_load_explicit(&t->head, memory_order_relaxed);
	room = t->mask + 1 - (h - atomic_load_explicit(&t->tail, memory_order_acquire));
	for (size_t i = 0; i < n; i++) {
		if (!change_is_fo(&ch[i])) {
			continue;
		}
		if (room == 0) {
			lost++;
			continue;
		}
		t->gens[h & t->mask] = gens[i];
		t->slots[h++ & t->mask] = ch[i].addr;
		room--;
	}
	atomic_store_explicit(&t->head, h, memory_order_release);
	if (lost) {
		atomic_fetch_add_explicit(&t->lost, lost, memory_order_relaxed);
	}
}

int committer_tap_enable(struct committer *c, uint32_t size)
{
	uint32_t *slots;
	uint64_t *gens;

	if (size == 0 || (size & (size - 1)) != 0) {
		return -EINVAL;
	}
	if (c->started) {
		return -EBUSY;
	}
	slots = calloc(size, sizeof(*slots));
	gens = calloc(size, sizeof(*gens));
	if (slots == NULL || gens == NULL) {
		free(slots);
		free(gens);
		return -ENOMEM;
	}
	/* Not started: nobody else touches the tap, a second call just replaces it. */
	free(c->tap.slots);
	free(c->tap.gens);
	c->tap.slots = slots;
	c->tap.gens = gens;
	c->tap.mask = size - 1;
	atomic_store_explicit(&c->tap.head, 0, memory_order_relaxed);
	atomic_store_explicit(&c->tap.tail, 0, memory_order_relaxed);
	return 0;
}

size_t committer_tap_drain(struct committer *c, uint32_t *addrs, uint64_t *gens, size_t max)
{
	struct tap *t = &c->tap;
	uint64_t tl, h;
	size_t n = 0;

	if (t->slots == NULL) {
		return 0;
	}
	tl = atomic_load_explicit(&t->tail, memory_order_relaxed);
	h = atomic_load_explicit(&t->head, memory_order_acquire);
	for (; tl != h && n < max; tl++) {
		if (gens != NULL) {
			gens[n] = t->gens[tl & t->mask];
		}
		addrs[n++] = t->slots[tl & t->mask];
	}
	atomic_store_explicit(&t->tail, tl, memory_order_release);
	return n;
}

uint64_t committer_tap_lost(const struct committer *c)
{
	return atomic_load_explicit(&c->tap.lost, memory_order_relaxed);
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Bucket of @p v for buckets whose bounds double from @p first: 0 when v < first. */
static unsigned hist_bucket(uint64_t v, uint64_t first)
{
	unsigned b = 0;

	while (b < COMMITTER_HIST_BUCKETS - 1 && v >= first << b) {
		b++;
	}
	return b;
}

static void stat_add(_Atomic uint64_t *ctr, uint64_t v)
{
	/* Single writer (this thread): a load and a store, no locked instruction. */
	atomic_store_explicit(ctr, atomic_load_explicit(ctr, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

static void publish(struct committer *c, const uint64_t *seq)
{
	for (uint32_t w = 0; w < c->o.n_workers; w++) {
		if (seq[w] > atomic_load_explicit(&c->durable[w], memory_order_relaxed)) {
			atomic_store_explicit(&c->durable[w], seq[w], memory_order_release);
		}
	}
}

/* A store call on the ACK path starts at @p now (CLOCK_MONOTONIC ns, read by the caller):
 * when, and on which thread (the watchdog reads its state, cp_persist_check). The thread id
 * is asked of the kernel once per thread. */
static void busy_begin(struct committer *c, uint64_t now)
{
	static _Thread_local int tid;

	if (tid == 0) {
		tid = (int)gettid();
	}
	atomic_store_explicit(&c->st.tid, tid, memory_order_relaxed);
	atomic_store_explicit(&c->st.busy_since_ns, now, memory_order_relaxed);
}

int committer_round(struct committer *c)
{
	uint64_t t0, t1, cpu0, lag;
	int rc;
	size_t n;

	stat_add(&c->st.rounds, 1);
	if (c->o.journal) {
		/* Back-pressure: a second stage that fell this far behind stops the drain, so
		 * the rings fill and the workers drop requests instead of the journal growing
		 * without bound. */
		lag = store_journal_lag(c->store);
		if (lag > atomic_load_explicit(&c->st.journal_lag_max, memory_order_relaxed)) {
			atomic_store_explicit(&c->st.journal_lag_max, lag, memory_order_relaxed);
		}
		if (lag >= c->o.max_lag && c->n_batch == 0) {
			stat_add(&c->st.lag_stalls, 1);
			return 0;
		}
	}
	drain(c);
	if (c->n_batch == 0) {
		return 0;
	}
	/* Timed from here: an idle poll costs no clock read (the thread CPU clock is a
	 * system call). */
	cpu0 = thread_cpu_ns();
	t0 = now_ns();
	busy_begin(c, t0);
	if (c->o.journal) {
		rc = store_journal_append(c->store, c->batch, c->n_batch);
	} else {
		rc = store_write_batch_gen(c->store, c->batch, c->n_batch, c->batch_gen);
	}
	atomic_store_explicit(&c->st.busy_since_ns, 0, memory_order_relaxed);
	t1 = now_ns();
	stat_add(&c->st.commit_ns_total, t1 - t0);
	if (!c->o.journal) {
		stat_add(&c->st.apply_ns_total, store_last_apply_ns(c->store));
	}
	atomic_store_explicit(&c->st.store_reopens, store_reopens(c->store), memory_order_relaxed);
	if (rc != 0) {
		/* Keep the batch; publish nothing. */
		atomic_fetch_add_explicit(&c->st.failures, 1, memory_order_relaxed);
		stat_add(rc == STORE_E_FULL ? &c->st.full_failures : &c->st.io_failures, 1);
		atomic_store_explicit(&c->st.last_error, rc, memory_order_relaxed);
		atomic_store_explicit(&c->st.failing, true, memory_order_relaxed);
		return rc;
	}
	atomic_store_explicit(&c->st.failing, false, memory_order_relaxed);
	/* Durable now (the journal: one pwrite and one fdatasync, journal.h): the ACKs may
	 * leave. Without a journal the partner may hear of the changes too; with one, the
	 * applier feeds the tap once the bindings hold them. */
	publish(c, c->batch_seq);
	if (!c->o.journal) {
		tap_push(c, c->batch, c->batch_gen, c->n_batch);
	}
	n = c->n_batch;
	c->n_batch = 0;
	atomic_fetch_add_explicit(&c->st.batches, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->st.changes, n, memory_order_relaxed);
	stat_add(&c->st.commit_hist[hist_bucket((t1 - t0) / 1000, COMMITTER_LAT_US(0))], 1);
	stat_add(&c->st.batch_hist[n <= 1 ? 0 : hist_bucket(n - 1, 1) ], 1);
	stat_add(&c->st.cpu_ns_total, thread_cpu_ns() - cpu0);
	if (n > atomic_load_explicit(&c->st.max_batch_seen, memory_order_relaxed)) {
		atomic_store_explicit(&c->st.max_batch_seen, n, memory_order_relaxed);
	}
	return (int)n;
}

/* Between the applier's transactions, off the ACK path: extend the data files ahead of
 * LMDB's use (store.h, "Prefilled data files"), and publish what that did so far. */
static void prefill(struct committer *c)
{
	struct store_prefill_stats ps;

	/* Counted by the store, with any extension made before the start (store_open's
	 * caller): copied every round, the result itself says nothing more. */
	(void)!store_prefill(c->store, STORE_PREFILL_STEP);
	store_prefill_stats(c->store, &ps);
	atomic_store_explicit(&c->st.prefill_extensions, ps.extensions, memory_order_relaxed);
	atomic_store_explicit(&c->st.prefill_bytes, ps.bytes, memory_order_relaxed);
	atomic_store_explicit(&c->st.prefill_ns, ps.ns, memory_order_relaxed);
	atomic_store_explicit(&c->st.prefill_error, ps.last_error, memory_order_relaxed);
	atomic_store_explicit(&c->st.prefill_failures, ps.failures, memory_order_release);
}

long committer_apply_round(struct committer *c)
{
	uint64_t t0, cpu0;
	long n;

	if (!c->o.journal) {
		return 0;
	}
	/* Once the stop has begun nothing will take a spare: a drain that wrote one (16 MiB
	 * of zeros and their flush) would only make the stop wait for it. */
	if (!atomic_load_explicit(&c->astop, memory_order_acquire)) {
		prefill(c);
	}
	if (store_journal_lag(c->store) == 0) {
		return 0;
	}
	cpu0 = thread_cpu_ns();
	t0 = now_ns();
	n = store_journal_apply(c->store, c->abuf, c->agen, c->o.apply_max);
	if (n < 0) {
		/* The bindings cannot take the journal's changes (map at its limit, disk): the
		 * ACKs stay honest (the journal holds them), the lag grows until the committer
		 * stalls, and the control thread reports the outage as for a direct write. */
		atomic_fetch_add_explicit(&c->st.apply_failures, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&c->st.failures, 1, memory_order_relaxed);
		stat_add(n == STORE_E_FULL ? &c->st.full_failures : &c->st.io_failures, 1);
		atomic_store_explicit(&c->st.last_error, (int)n, memory_order_relaxed);
		atomic_store_explicit(&c->st.apply_failing, true, memory_order_relaxed);
		return n;
	}
	atomic_store_explicit(&c->st.apply_failing, false, memory_order_relaxed);
	stat_add(&c->st.apply_wall_ns_total, now_ns() - t0);
	stat_add(&c->st.apply_ns_total, store_last_apply_ns(c->store));
	/* In the bindings now, unacked marks included: the partner may hear of them. */
	tap_push(c, c->abuf, c->agen, (size_t)n);
	stat_add(&c->st.apply_rounds, 1);
	stat_add(&c->st.applied, (uint64_t)n);
	stat_add(&c->st.apply_cpu_ns_total, thread_cpu_ns() - cpu0);
	return n;
}

static bool rings_empty(struct committer *c)
{
	for (uint32_t w = 0; w < c->o.n_workers; w++) {
		if (atomic_load_explicit(&c->rings[w].head, memory_order_acquire) !=
		    atomic_load_explicit(&c->rings[w].tail, memory_order_relaxed)) {
			return false;
		}
	}
	return c->n_batch == 0;
}

static void sleep_us(unsigned us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};

	nanosleep(&ts, NULL);
}

static void *run(void *arg)
{
	struct committer *c = arg;
	unsigned backoff = 0, idle = 0;
	uint64_t stop_deadline = 0;

	/* Named before any store call: a committer that never gets to one is watched too. */
	atomic_store_explicit(&c->st.tid, (int)gettid(), memory_order_relaxed);
	for (;;) {
		int rc = committer_round(c);

		if (atomic_load_explicit(&c->stop, memory_order_acquire)) {
			/* Finish what was posted; give up on a store that keeps failing. */
			if (stop_deadline == 0) {
				stop_deadline = now_ns() + (uint64_t)c->stop_max_ms * 1000000ULL;
			}
			if (rings_empty(c)) {
				c->stop_result = 0;
				break;
			}
			if (now_ns() >= stop_deadline) {
				c->stop_result = rc < 0 ? rc : -ETIMEDOUT;
				break;
			}
		}
		if (rc < 0) {
			backoff = backoff ? (backoff * 2 > 100000 ? 100000 : backoff * 2) : 1000;
			sleep_us(backoff);
		} else if (rc == 0) {
			/* Idle: poll fast for a while (an ACK waits at most one poll), then
			 * slower so an idle daemon does not spin the control CPU. */
			backoff = 0;
			sleep_us(++idle < 1000 ? c->o.idle_us : 500);
		} else {
			backoff = 0;
			idle = 0;
		}
	}
	return NULL;
}

/* The second stage: bring the bindings up to date from the journal, off the ACK path. */
static void *run_apply(void *arg)
{
	struct committer *c = arg;
	unsigned backoff = 0, idle = 0;
	uint64_t stop_deadline = 0;

	for (;;) {
		long n = committer_apply_round(c);

		if (atomic_load_explicit(&c->astop, memory_order_acquire)) {
			/* The appender has stopped: apply what it journaled, then leave. */
			if (stop_deadline == 0) {
				stop_deadline = now_ns() + (uint64_t)c->stop_max_ms * 1000000ULL;
			}
			if (store_journal_lag(c->store) == 0) {
				c->astop_result = 0;
				break;
			}
			if (now_ns() >= stop_deadline) {
				c->astop_result = n < 0 ? (int)n : -ETIMEDOUT;
				break;
			}
		}
		if (n < 0) {
			backoff = backoff ? (backoff * 2 > 100000 ? 100000 : backoff * 2) : 1000;
			sleep_us(backoff);
		} else if (n == 0) {
			/* Nothing journaled: the bindings may lag, so no hurry; but a large
			 * group per transaction is what makes this stage cheap. */
			backoff = 0;
			sleep_us(++idle < 1000 ? c->o.idle_us * 10 : 2000);
		} else {
			backoff = 0;
			idle = 0;
			/* Let the next group grow: a larger transaction touches each binding page
			 * once for many changes, and its flush competes less with the journal's. */
			if ((uint32_t)n < c->o.apply_max &&
			    !atomic_load_explicit(&c->astop, memory_order_acquire)) {
				sleep_us(c->o.apply_gap_us);
			}
		}
	}
	return NULL;
}

/* Start @p fn on a thread named @p name (top -H, /proc/PID/task/TID/comm: what an operator
 * and bench/lwbench.sh's CPU figures tell the committer and the applier by).
 * @return 0 or a positive pthread error. */
static int spawn(struct committer *c, pthread_t *th, void *(*fn)(void *), const char *name)
{
	pthread_attr_t attr;
	int rc = pthread_attr_init(&attr);

	if (rc != 0) {
		return rc;
	}
	if (c->o.pin) {
		rc = pthread_attr_setaffinity_np(&attr, sizeof(c->o.cpus), &c->o.cpus);
	}
	if (rc == 0) {
		rc = pthread_create(th, &attr, fn, c);
	}
	if (rc == 0) {
		(void)pthread_setname_np(*th, name);	/* a name only: nothing depends on it */
	}
	pthread_attr_destroy(&attr);
	return rc;
}

int committer_start(struct committer *c)
{
	int rc = spawn(c, &c->thread, run, "lw-committer");

	if (rc != 0) {
		return -rc;
	}
	c->started = true;
	if (c->o.journal) {
		rc = spawn(c, &c->athread, run_apply, "lw-applier");
		if (rc != 0) {
			(void)committer_stop(c, 0);
			return -rc;
		}
		c->astarted = true;
	}
	return 0;
}

int committer_stop(struct committer *c, unsigned max_ms)
{
	int ret = 0;

	if (c->started) {
		c->stop_max_ms = max_ms;
		atomic_store_explicit(&c->stop, true, memory_order_release);
		pthread_join(c->thread, NULL);
		c->started = false;
		ret = c->stop_result;
	}
	if (c->astarted) {
		c->stop_max_ms = max_ms;
		atomic_store_explicit(&c->astop, true, memory_order_release);
		pthread_join(c->athread, NULL);
		c->astarted = false;
		if (ret == 0) {
			ret = c->astop_result;
		}
		/* A clean stop leaves an empty journal; a failed trim costs only space (the
		 * next start replays nothing twice: the applied mark says where it stands). */
		if (ret == 0 && store_journal_trim(c->store) != 0) {
			atomic_fetch_add_explicit(&c->st.apply_failures, 1, memory_order_relaxed);
		}
	} else {
		/* No applier thread (never started, or a hand-driven committer): the rounds
		 * run from now on drain, as the thread's would. */
		atomic_store_explicit(&c->astop, true, memory_order_release);
	}
	return ret;
}
