#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bindings.h"
#include "commit.h"
#include "pool.h"

/* --- lazily backed arrays ------------------------------------------------------------
 * Anonymous private mappings: the kernel maps the shared zero page on a read and a page of
 * its own on the first write, so an array indexed by address costs memory only where
 * addresses were used. MAP_NORESERVE: a /8 reserves no swap for the untouched rest. */

static void *zmap(size_t bytes)
{
	void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void zunmap(const volatile void *p, size_t bytes)
{
	if (p != NULL) {
		(void)munmap((void *)(uintptr_t)p, bytes ? bytes : 1);
	}
}

/* All zero again, and the pages given back. Only on arrays no other thread uses. */
static void zreset(const volatile void *p, size_t bytes)
{
	if (p != NULL && bytes != 0) {
		(void)madvise((void *)(uintptr_t)p, bytes, MADV_DONTNEED);
	}
}

/* All zero again, with no other thread using the array: a small one by a write (its pages
 * stay mapped, no system call nor page fault), a big one by zreset(). */
#define ZCLEAR_WRITE_MAX (64 * 1024)

static void zclear(const volatile void *p, size_t bytes)
{
	if (p != NULL && bytes <= ZCLEAR_WRITE_MAX) {
		memset((void *)(uintptr_t)p, 0, bytes);
	} else {
		zreset(p, bytes);
	}
}

static size_t lent_bytes(const struct dp_pool *pool)
{
	return (pool->total / 64 + 1) * sizeof(uint64_t);
}

static size_t link_bytes(const struct dp_slice *s)
{
	return (size_t)(s->size ? s->size : 1) * sizeof(*s->link);
}

/* --- ranks --------------------------------------------------------------------------- */

bool dp_pool_rank(const struct dp_pool *p, uint32_t addr, uint64_t *rank)
{
	int64_t i = dp_range_find(p->ranges, p->n_ranges, addr);

	if (i < 0) {
		return false;
	}
	*rank = p->before[i] + (addr - p->ranges[i].first);
	return true;
}

/* The address of rank @p rank (< total). */
static uint32_t rank_addr(const struct dp_pool *p, uint64_t rank)
{
	uint32_t lo = 0, hi = p->n_ranges;

	/* The last range whose first rank is <= rank. */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (p->before[mid] <= rank) {
			lo = mid;
		} else {
			hi = mid;
		}
	}
	return p->ranges[lo].first + (uint32_t)(rank - p->before[lo]);
}

/* Is rank @p rank allocatable (in a run)? */
static bool rank_in_runs(const struct dp_pool *p, uint64_t rank)
{
	uint32_t lo = 0, hi = p->n_runs;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (rank < p->runs[mid].first) {
			hi = mid;
		} else if (rank > p->runs[mid].last) {
			lo = mid + 1;
		} else {
			return true;
		}
	}
	return false;
}

/* Ranks r in [0, x] with r % nw == w; x may be -1. */
static uint64_t upto(int64_t x, uint32_t w, uint32_t nw)
{
	return x < (int64_t)w ? 0 : (uint64_t)(x - w) / nw + 1;
}

/* Allocatable indexes >= @p next of slice @p w, and the first run that can hold one. */
static uint32_t slice_left(const struct dp_pool *pool, uint32_t w, uint32_t nw, uint32_t next,
			   uint32_t *run)
{
	uint64_t from = (uint64_t)next * nw + w, n = 0;
	uint32_t i = 0;

	while (i < pool->n_runs && pool->runs[i].last < from) {
		i++;
	}
	*run = i;
	for (; i < pool->n_runs; i++) {
		uint64_t a = pool->runs[i].first > from ? pool->runs[i].first : from;

		n += upto((int64_t)pool->runs[i].last, w, nw) - upto((int64_t)a - 1, w, nw);
	}
	return (uint32_t)n;
}

int dp_pool_owner(const struct dp_pools *p, uint32_t scope, uint32_t addr)
{
	uint64_t rank;

	if (scope >= p->n_scopes || !dp_pool_rank(&p->pools[scope], addr, &rank)) {
		return -1;
	}
	return (int)(rank % p->n_workers);
}

static uint32_t slice_index(const struct dp_pools *p, uint32_t scope, uint32_t addr)
{
	uint64_t rank = 0;

	(void)dp_pool_rank(&p->pools[scope], addr, &rank);
	return (uint32_t)(rank / p->n_workers);
}

/* --- the slice's lists ---------------------------------------------------------------- */

static void list_push(struct dp_slice *s, struct dp_slice_list *l, uint32_t idx)
{
	/* Relaxed atomic stores: the control thread reads link (dp_slice_queued). */
	__atomic_store_n(&s->link[idx], DP_SLICE_END, __ATOMIC_RELAXED);
	if (l->count == 0) {
		l->head = idx;
	} else {
		__atomic_store_n(&s->link[l->tail], idx + 1, __ATOMIC_RELAXED);
	}
	l->tail = idx;
	l->count++;
}

static uint32_t list_pop(struct dp_slice *s, struct dp_slice_list *l)
{
	uint32_t idx = l->head, nx = s->link[idx];

	__atomic_store_n(&s->link[idx], 0, __ATOMIC_RELAXED);
	l->head = nx - 1;	/* DP_SLICE_END: the list is empty now, head unused */
	l->count--;
	return idx;
}

/* At the front (dp_slice_unpop). */
static void list_push_front(struct dp_slice *s, struct dp_slice_list *l, uint32_t idx)
{
	__atomic_store_n(&s->link[idx], l->count == 0 ? DP_SLICE_END : l->head + 1,
			 __ATOMIC_RELAXED);
	if (l->count == 0) {
		l->tail = idx;
	}
	l->head = idx;
	l->count++;
}

/* The next allocatable index at or above the cursor (s->left > 0). Bounded: the cursor only
 * moves forward, over each run once in the slice's life. */
static uint32_t cursor_pop(const struct dp_pool *pool, struct dp_slice *s, uint32_t w,
			   uint32_t nw)
{
	for (;;) {
		const struct dp_rank_run *r = &pool->runs[s->run];
		uint64_t rank = (uint64_t)s->next * nw + w;

		if (rank < r->first) {
			s->next = (uint32_t)((r->first - w + nw - 1) / nw);
			rank = (uint64_t)s->next * nw + w;
		}
		if (rank <= r->last) {
			uint32_t idx = s->next;

			__atomic_store_n(&s->next, idx + 1, __ATOMIC_RELAXED);
			s->left--;
			return idx;
		}
		s->run++;
	}
}

bool dp_slice_pop(struct dp_pools *p, uint32_t w, uint32_t scope, uint32_t *addr)
{
	const struct dp_pool *pool = &p->pools[scope];
	struct dp_slice *s = dp_pools_slice(p, w, scope);
	uint32_t idx;

	if (s->holes.count != 0) {
		idx = list_pop(s, &s->holes);
	} else if (s->left != 0) {
		idx = cursor_pop(pool, s, w, p->n_workers);
	} else if (s->back.count != 0) {
		idx = list_pop(s, &s->back);
	} else {
		return false;
	}
	__atomic_store_n(&s->count, s->count - 1, __ATOMIC_RELAXED);	/* dp_slice_count */
	*addr = rank_addr(pool, (uint64_t)idx * p->n_workers + w);
	return true;
}

/* Queued: in a list, or allocatable at or above the cursor. */
static bool idx_queued(const struct dp_pools *p, const struct dp_slice *s, uint32_t w,
		       uint32_t scope, uint32_t idx)
{
	return __atomic_load_n(&s->link[idx], __ATOMIC_RELAXED) != 0 ||
	       (idx >= __atomic_load_n(&s->next, __ATOMIC_RELAXED) &&
		rank_in_runs(&p->pools[scope], (uint64_t)idx * p->n_workers + w));
}

bool dp_slice_queued(struct dp_pools *p, uint32_t w, uint32_t scope, uint32_t addr)
{
	struct dp_slice *s = dp_pools_slice(p, w, scope);
	uint32_t idx = slice_index(p, scope, addr);

	if (dp_pool_lent(p, scope, addr)) {
		return true;
	}
	return idx < s->size && idx_queued(p, s, w, scope, idx);
}

bool dp_slice_push(struct dp_pools *p, uint32_t w, uint32_t scope, uint32_t addr)
{
	struct dp_slice *s = dp_pools_slice(p, w, scope);
	uint32_t idx = slice_index(p, scope, addr);

	if (idx >= s->size || idx_queued(p, s, w, scope, idx)) {
		return false;
	}
	list_push(s, &s->back, idx);
	__atomic_store_n(&s->count, s->count + 1, __ATOMIC_RELAXED);	/* dp_slice_count */
	return true;
}

bool dp_slice_unpop(struct dp_pools *p, uint32_t w, uint32_t scope, uint32_t addr)
{
	struct dp_slice *s = dp_pools_slice(p, w, scope);
	uint32_t idx = slice_index(p, scope, addr);

	if (idx >= s->size || idx_queued(p, s, w, scope, idx)) {
		return false;
	}
	/* Holes are popped first: at their front it is the next one out, whichever list it
	 * came from (an address popped from the cursor is below it now, so it cannot be
	 * queued twice). Given back in reverse order of popping, the pop order is as before. */
	list_push_front(s, &s->holes, idx);
	__atomic_store_n(&s->count, s->count + 1, __ATOMIC_RELAXED);	/* dp_slice_count */
	return true;
}

/* --- lending ------------------------------------------------------------------------- */

bool dp_pool_set_lent(struct dp_pools *p, uint32_t scope, uint32_t addr, bool on)
{
	uint64_t rank, bit, old;

	if (scope >= p->n_scopes || !dp_pool_rank(&p->pools[scope], addr, &rank)) {
		return false;
	}
	bit = 1ULL << (rank % 64);
	if (on) {
		old = atomic_fetch_or_explicit(&p->pools[scope].lent[rank / 64], bit,
					       memory_order_relaxed);
	} else {
		old = atomic_fetch_and_explicit(&p->pools[scope].lent[rank / 64], ~bit,
						memory_order_relaxed);
	}
	return (old & bit) != 0;
}

bool dp_pool_lent(const struct dp_pools *p, uint32_t scope, uint32_t addr)
{
	uint64_t rank;

	if (scope >= p->n_scopes || !dp_pool_rank(&p->pools[scope], addr, &rank)) {
		return false;
	}
	return (atomic_load_explicit(&p->pools[scope].lent[rank / 64], memory_order_relaxed) >>
		(rank % 64)) & 1;
}

bool dp_slice_borrow_push(struct dp_pools *p, uint32_t w, uint32_t scope, uint32_t addr)
{
	struct dp_slice *s = dp_pools_slice(p, w, scope);

	if (s->b_count == DP_BORROW_MAX) {
		return false;
	}
	s->borrowed[(s->b_head + s->b_count++) % DP_BORROW_MAX] = addr;
	return true;
}

bool dp_slice_borrow_pop(struct dp_pools *p, uint32_t w, uint32_t scope, uint32_t *addr)
{
	struct dp_slice *s = dp_pools_slice(p, w, scope);

	if (s->b_count == 0) {
		return false;
	}
	*addr = s->borrowed[s->b_head];
	s->b_head = (s->b_head + 1) % DP_BORROW_MAX;
	s->b_count--;
	return true;
}

/* --- building ------------------------------------------------------------------------ */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The allocatable runs: each range minus the exclusions and reserved addresses in it. */
static int runs_init(struct dp_pool *pool, const struct dp_scope *s)
{
	uint32_t *res = malloc(sizeof(*res) * (s->n_reservations ? s->n_reservations : 1));
	uint32_t n_res = 0, cap = s->n_ranges + s->n_exclusions + s->n_reservations + 1;
	uint32_t x = 0, y = 0;

	pool->runs = malloc(sizeof(*pool->runs) * cap);
	if (res == NULL || pool->runs == NULL) {
		free(res);
		return -1;
	}
	for (uint32_t j = 0; j < s->n_reservations; j++) {
		if (dp_range_find(s->ranges, s->n_ranges, s->reservations[j].addr) >= 0) {
			res[n_res++] = s->reservations[j].addr;
		}
	}
	qsort(res, n_res, sizeof(*res), cmp_u32);
	pool->n_runs = 0;
	for (uint32_t i = 0; i < s->n_ranges; i++) {
		uint64_t cur = s->ranges[i].first, last = s->ranges[i].last;

		/* Exclusions and reservations are sorted: one merge over both. */
		for (;;) {
			uint64_t cf, cl;

			while (x < s->n_exclusions && s->exclusions[x].last < cur) {
				x++;
			}
			while (y < n_res && res[y] < cur) {
				y++;
			}
			if (x < s->n_exclusions &&
			    (y == n_res || s->exclusions[x].first <= res[y])) {
				cf = s->exclusions[x].first;
				cl = s->exclusions[x].last;
			} else if (y < n_res) {
				cf = cl = res[y];
			} else {
				cf = cl = UINT64_MAX;
			}
			if (cf > last) {
				cf = last + 1;
			}
			if (cf > cur) {
				pool->runs[pool->n_runs++] = (struct dp_rank_run){
					pool->before[i] + (cur - s->ranges[i].first),
					pool->before[i] + (cf - 1 - s->ranges[i].first),
					(uint32_t)cur};
			}
			if (cf > last || cl >= last) {
				break;
			}
			cur = cl + 1 > cur ? cl + 1 : cur;
		}
	}
	free(res);
	return 0;
}

static int pool_init(struct dp_pool *pool, const struct dp_scope *s)
{
	uint64_t n = 0;

	pool->scope = s;
	pool->ranges = s->ranges;
	pool->n_ranges = s->n_ranges;
	pool->before = calloc(s->n_ranges + 1, sizeof(*pool->before));
	if (pool->before == NULL) {
		return -1;
	}
	for (uint32_t i = 0; i < s->n_ranges; i++) {
		pool->before[i] = n;
		n += (uint64_t)s->ranges[i].last - s->ranges[i].first + 1;
	}
	pool->before[s->n_ranges] = n;
	pool->total = n;
	return runs_init(pool, s);
}

/* Slice @p w of @p scope as built: every allocatable index at or above the cursor (0), no
 * list, nothing borrowed. Its link array is all zero. */
static void slice_start(struct dp_pools *p, uint32_t scope, uint32_t w)
{
	struct dp_slice *s = dp_pools_slice(p, w, scope);

	s->next = 0;
	s->holes = s->back = (struct dp_slice_list){0};
	s->b_head = s->b_count = 0;
	s->ask_wait = 0;
	s->asking = false;
	s->left = slice_left(&p->pools[scope], w, p->n_workers, 0, &s->run);
	s->count = s->left;
}

static int slices_init(struct dp_pools *p, uint32_t scope)
{
	const struct dp_pool *pool = &p->pools[scope];
	uint32_t nw = p->n_workers;

	for (uint32_t w = 0; w < nw; w++) {
		struct dp_slice *s = dp_pools_slice(p, w, scope);

		s->size = (uint32_t)(pool->total / nw + (w < pool->total % nw ? 1 : 0));
		s->link = zmap(link_bytes(s));
		s->borrowed = malloc(sizeof(*s->borrowed) * DP_BORROW_MAX);
		if (s->link == NULL || s->borrowed == NULL) {
			return -1;
		}
		slice_start(p, scope, w);
	}
	return 0;
}

struct dp_pools *dp_pools_new(const struct dp_config *c, uint32_t n_workers)
{
	struct dp_pools *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		return NULL;
	}
	p->n_workers = n_workers;
	p->n_scopes = c->n_scopes;
	p->pools = calloc(c->n_scopes ? c->n_scopes : 1, sizeof(*p->pools));
	p->slices = calloc((size_t)n_workers * (c->n_scopes ? c->n_scopes : 1),
			   sizeof(*p->slices));
	if (p->pools == NULL || p->slices == NULL) {
		goto fail;
	}
	for (uint32_t i = 0; i < c->n_scopes; i++) {
		struct dp_pool *pool = &p->pools[i];
		size_t n;

		if (pool_init(pool, &c->scopes[i]) != 0 || slices_init(p, i) != 0) {
			goto fail;
		}
		n = pool->total ? pool->total : 1;
		/* Zero pages are a valid 0 for a lock-free atomic. */
		pool->lent = zmap(lent_bytes(pool));
		pool->freed_by = zmap(n * sizeof(*pool->freed_by));
		pool->freed_other = calloc((size_t)DP_FREED_OTHER * n_workers,
					   sizeof(*pool->freed_other));
		if (pool->lent == NULL || pool->freed_by == NULL || pool->freed_other == NULL) {
			goto fail;
		}
		if (c->scopes[i].fo_rel != 0) {
			pool->peer_pet = zmap(n * sizeof(*pool->peer_pet));
			pool->fo_hold = zmap(n * sizeof(*pool->fo_hold));
			if (pool->peer_pet == NULL || pool->fo_hold == NULL) {
				goto fail;
			}
		}
	}
	return p;
fail:
	dp_pools_free(p);
	return NULL;
}

void dp_pools_reset(struct dp_pools *p)
{
	for (uint32_t i = 0; i < p->n_scopes; i++) {
		struct dp_pool *pool = &p->pools[i];
		size_t n = pool->total ? pool->total : 1;

		zclear(pool->lent, lent_bytes(pool));
		zclear(pool->freed_by, n * sizeof(*pool->freed_by));
		zclear(pool->freed_other,
		       (size_t)DP_FREED_OTHER * p->n_workers * sizeof(*pool->freed_other));
		zclear(pool->peer_pet, n * sizeof(*pool->peer_pet));	/* NULL: no-op */
		zclear(pool->fo_hold, n * sizeof(*pool->fo_hold));
		for (uint32_t w = 0; w < p->n_workers; w++) {
			const struct dp_slice *s = dp_pools_slice(p, w, i);

			zclear(s->link, link_bytes(s));
			slice_start(p, i, w);
		}
	}
}

void dp_pools_free(struct dp_pools *p)
{
	if (p == NULL) {
		return;
	}
	if (p->slices != NULL) {
		for (uint64_t i = 0; i < (uint64_t)p->n_workers * p->n_scopes; i++) {
			zunmap(p->slices[i].link, link_bytes(&p->slices[i]));
			free(p->slices[i].borrowed);
		}
	}
	if (p->pools != NULL) {
		for (uint32_t i = 0; i < p->n_scopes; i++) {
			struct dp_pool *pool = &p->pools[i];
			size_t n = pool->total ? pool->total : 1;

			free(pool->before);
			free(pool->runs);
			zunmap(pool->peer_pet, n * sizeof(*pool->peer_pet));
			zunmap(pool->fo_hold, n * sizeof(*pool->fo_hold));
			zunmap(pool->lent, lent_bytes(pool));
			zunmap(pool->freed_by, n * sizeof(*pool->freed_by));
			free((void *)pool->freed_other);
		}
	}
	free(p->pools);
	free(p->slices);
	free(p);
}

/* --- requeue ------------------------------------------------------------------------- */

struct ended {
	uint64_t ends;
	uint32_t addr;
	uint32_t scope;
};

static int by_end(const void *a, const void *b)
{
	const struct ended *x = a, *y = b;

	if (x->ends != y->ends) {
		return x->ends < y->ends ? -1 : 1;
	}
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* A pool range, for finding the scope of an address whatever snapshot wrote its binding. */
struct span {
	uint32_t first, last, scope;
};

static int by_first(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

struct dp_requeue {
	struct dp_pools *p;
	struct span *spans;
	uint64_t n_spans;
	uint64_t **used;	/* [scope]: bit per rank, a binding other than BACKUP */
	int64_t *top;		/* [scope * n_workers + w]: highest such index, -1 none */
	struct ended *late;
	uint64_t n_late, cap_late;
	bool nomem;
	/* dp_requeue_scan()'s cursor: the next rank to look up is runs[run].first + at of
	 * pools[scope]. */
	uint32_t scope, run;
	uint64_t at;
	uint64_t lookups;
	/* dp_requeue_build()'s cursor: slice (b_scope, b_w), run b_run, next rank b_rank;
	 * b_open: that slice has been reset and its cursor set. */
	uint32_t b_scope, b_w, b_run;
	uint64_t b_rank;
	bool b_open, built;
	bool sorted;		/* late is sorted; late[0..late_at) are queued */
	uint64_t late_at;
};

static const struct span *span_of(const struct dp_requeue *sc, uint32_t addr)
{
	uint64_t lo = 0, hi = sc->n_spans;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (addr < sc->spans[mid].first) {
			hi = mid;
		} else if (addr > sc->spans[mid].last) {
			lo = mid + 1;
		} else {
			return &sc->spans[mid];
		}
	}
	return NULL;
}

void dp_requeue_add(struct dp_requeue *sc, uint32_t addr, uint8_t state, uint64_t ends)
{
	const struct span *sp = span_of(sc, addr);
	const struct dp_pool *pool;
	uint64_t rank;
	uint32_t nw = sc->p->n_workers;
	int64_t *top;

	if (sp == NULL || state == BT_BACKUP) {
		return;	/* outside the pools, or free for the failover secondary */
	}
	pool = &sc->p->pools[sp->scope];
	if (!dp_pool_rank(pool, addr, &rank) || !rank_in_runs(pool, rank)) {
		return;	/* excluded or reserved: never in a free list */
	}
	sc->used[sp->scope][rank / 64] |= 1ULL << (rank % 64);
	top = &sc->top[(uint64_t)sp->scope * nw + rank % nw];
	if ((int64_t)(rank / nw) > *top) {
		*top = (int64_t)(rank / nw);
	}
	/* Ended for good, free for anyone (engine.c free_for): queued after the never-used
	 * ones. RESET too: nothing else would ever queue it (no reclaim frees an ended
	 * record). */
	if (state == BT_EXPIRED || state == BT_RELEASED || state == BT_RESET) {
		if (sc->n_late == sc->cap_late) {
			uint64_t cap = sc->cap_late ? sc->cap_late * 2 : 1024;
			struct ended *v = realloc(sc->late, cap * sizeof(*v));

			if (v == NULL) {
				sc->nomem = true;
				return;
			}
			sc->late = v;
			sc->cap_late = cap;
		}
		sc->late[sc->n_late++] = (struct ended){ends, addr, sp->scope};
	}
}

/* Slice (sc->b_scope, sc->b_w) from the scan, at most *@p budget ranks looked at (taken from
 * it): cursor past its top index, the free indexes below it linked as holes, in order.
 * @return true when the slice is done. */
static bool slice_rebuild(struct dp_pools *p, struct dp_requeue *sc, uint64_t *budget)
{
	uint32_t scope = sc->b_scope, w = sc->b_w, nw = p->n_workers;
	const struct dp_pool *pool = &p->pools[scope];
	struct dp_slice *s = dp_pools_slice(p, w, scope);
	uint32_t next = (uint32_t)(sc->top[(uint64_t)scope * nw + w] + 1);
	uint64_t end = (uint64_t)next * nw;	/* ranks below the cursor: < end */

	if (!sc->b_open) {
		if (w == 0) {
			zreset(pool->lent, lent_bytes(pool));
		}
		zreset(s->link, link_bytes(s));
		s->holes = s->back = (struct dp_slice_list){0};
		s->b_head = s->b_count = 0;
		s->asking = false;
		s->next = next;
		sc->b_open = true;
		sc->b_run = 0;
		sc->b_rank = UINT64_MAX;
	}
	for (; sc->b_run < pool->n_runs && pool->runs[sc->b_run].first < end;
	     sc->b_run++, sc->b_rank = UINT64_MAX) {
		const struct dp_rank_run *r = &pool->runs[sc->b_run];

		if (sc->b_rank == UINT64_MAX) {
			sc->b_rank = r->first + (w + nw - r->first % nw) % nw;
		}
		for (; sc->b_rank <= r->last && sc->b_rank < end; sc->b_rank += nw) {
			uint64_t rank = sc->b_rank;

			if (*budget == 0) {
				return false;
			}
			--*budget;
			if (!((sc->used[scope][rank / 64] >> (rank % 64)) & 1)) {
				list_push(s, &s->holes, (uint32_t)(rank / nw));
			}
		}
	}
	s->left = slice_left(pool, w, nw, next, &s->run);
	s->count = s->holes.count + s->left;
	sc->b_open = false;
	return true;
}

static void requeue_free(struct dp_requeue *sc)
{
	for (uint32_t i = 0; sc->used != NULL && i < sc->p->n_scopes; i++) {
		free(sc->used[i]);
	}
	free(sc->used);
	free(sc->top);
	free(sc->spans);
	free(sc->late);
	free(sc);
}

void dp_requeue_abort(struct dp_requeue *rq)
{
	if (rq != NULL) {
		requeue_free(rq);
	}
}

struct dp_requeue *dp_requeue_begin(struct dp_pools *p)
{
	struct dp_requeue *sc = calloc(1, sizeof(*sc));

	if (sc == NULL) {
		return NULL;
	}
	sc->p = p;
	sc->used = calloc(p->n_scopes ? p->n_scopes : 1, sizeof(*sc->used));
	sc->top = malloc(sizeof(*sc->top) * ((uint64_t)p->n_scopes * p->n_workers + 1));
	for (uint32_t i = 0; i < p->n_scopes; i++) {
		sc->n_spans += p->pools[i].n_ranges;
	}
	sc->spans = malloc(sizeof(*sc->spans) * (sc->n_spans + 1));
	if (sc->used == NULL || sc->top == NULL || sc->spans == NULL) {
		goto fail;
	}
	sc->n_spans = 0;
	for (uint32_t i = 0; i < p->n_scopes; i++) {
		const struct dp_pool *pool = &p->pools[i];

		sc->used[i] = calloc(pool->total / 64 + 1, sizeof(uint64_t));
		if (sc->used[i] == NULL) {
			goto fail;
		}
		for (uint32_t j = 0; j < pool->n_ranges; j++) {
			sc->spans[sc->n_spans++] = (struct span){pool->ranges[j].first,
								 pool->ranges[j].last, i};
		}
	}
	for (uint64_t i = 0; i < (uint64_t)p->n_scopes * p->n_workers; i++) {
		sc->top[i] = -1;
	}
	qsort(sc->spans, sc->n_spans, sizeof(*sc->spans), by_first);
	return sc;
fail:
	requeue_free(sc);
	return NULL;
}

bool dp_requeue_build(struct dp_requeue *sc, uint64_t budget)
{
	struct dp_pools *p = sc->p;

	if (sc->nomem) {
		return true;	/* dp_requeue_end() says so */
	}
	for (; sc->b_scope < p->n_scopes; sc->b_scope++, sc->b_w = 0) {
		for (; sc->b_w < p->n_workers; sc->b_w++) {
			if (!slice_rebuild(p, sc, &budget)) {
				return false;
			}
		}
	}
	/* Then the ended ones, the longest-ended first. */
	if (!sc->sorted && sc->n_late > 0) {
		qsort(sc->late, sc->n_late, sizeof(*sc->late), by_end);	/* late may be NULL */
	}
	sc->sorted = true;
	for (; sc->late_at < sc->n_late; sc->late_at++) {
		const struct ended *e = &sc->late[sc->late_at];
		int w = dp_pool_owner(p, e->scope, e->addr);

		if (budget == 0) {
			return false;
		}
		budget--;
		(void)dp_slice_push(p, (uint32_t)w, e->scope, e->addr);
	}
	sc->built = true;
	return true;
}

int dp_requeue_end(struct dp_requeue *sc)
{
	if (sc->nomem) {
		requeue_free(sc);
		return -ENOMEM;
	}
	if (!sc->built) {
		(void)dp_requeue_build(sc, UINT64_MAX);
	}
	requeue_free(sc);
	return 0;
}

bool dp_requeue_scan(struct dp_requeue *sc, struct bt_table *t, uint64_t budget, uint64_t *qs)
{
	const struct dp_pools *p = sc->p;

	/* By address, not by bt_foreach(): a cds_lfht iteration cannot go on after a quiescent
	 * state, and this runs online while the workers serve (a configuration change), so it
	 * must let their record recycling go on (issue 11 item 10). Only allocatable
	 * addresses: dp_requeue_add() ignores the others. */
	for (; sc->scope < p->n_scopes; sc->scope++, sc->run = 0, sc->at = 0) {
		const struct dp_pool *pool = &p->pools[sc->scope];

		for (; sc->run < pool->n_runs; sc->run++, sc->at = 0) {
			const struct dp_rank_run *r = &pool->runs[sc->run];

			for (; r->first + sc->at <= r->last; sc->at++) {
				uint32_t a = r->addr + (uint32_t)sc->at;
				const struct bt_binding *b;

				if (budget-- == 0) {
					return false;
				}
				if ((++sc->lookups & 1023) == 0) {
					/* No record pointer is kept across addresses. */
					urcu_qsbr_quiescent_state();
					if (qs != NULL) {
						(*qs)++;
					}
				}
				b = bt_lookup_addr(t, a);
				if (b != NULL) {
					dp_requeue_add(sc, a, b->state, b->ends);
				}
			}
		}
	}
	return true;
}

int dp_pools_requeue(struct dp_pools *p, struct bt_table *t)
{
	struct dp_requeue *sc = dp_requeue_begin(p);

	if (sc == NULL) {
		return -ENOMEM;
	}
	(void)dp_requeue_scan(sc, t, UINT64_MAX, NULL);
	return dp_requeue_end(sc);
}

/* Has the FREE that @p mark (dp_pool.freed_by) remembers reached the store? */
static bool mark_settled(uint64_t mark, const struct dp_commit *c)
{
	uint32_t w = (uint32_t)(mark >> DP_FREED_SEQ_BITS) - 1;

	return mark == 0 || (mark & DP_FREED_SEQ_MASK) <= c->ops->durable(c->ctx, w);
}

/* Worker @p w's FREE @p seq (not durable) of an address of @p bucket, into that bucket of
 * every scope of @p to (freed_other), unless a later one of @p w is there. */
static void carry_other(struct dp_pools *to, uint32_t bucket, uint32_t w, uint64_t seq)
{
	if (w >= to->n_workers) {
		return;
	}
	for (uint32_t ts = 0; ts < to->n_scopes; ts++) {
		_Atomic uint64_t *o = &to->pools[ts].freed_other[(size_t)bucket * to->n_workers + w];
		uint64_t cur = atomic_load_explicit(o, memory_order_relaxed);

		/* A compare-and-swap: after the swap, worker w may write its entry meanwhile
		 * (a later FREE of its own, which covers this one). */
		if (cur < seq) {
			(void)atomic_compare_exchange_strong_explicit(o, &cur, seq,
								      memory_order_relaxed,
								      memory_order_relaxed);
		}
	}
}

void dp_pools_set_next(struct dp_pools *from, struct dp_pools *to)
{
	/* Sequentially consistent, as the worker's side (engine.c mark_freed()): a FREE either
	 * sees @p to or is in @p from before the carry that follows reads it. */
	atomic_store_explicit(&from->next, to, memory_order_seq_cst);
	atomic_thread_fence(memory_order_seq_cst);	/* before the carry's loads */
}

void dp_pools_mark_next(struct dp_pools *to, uint32_t addr, uint32_t w, uint64_t seq)
{
	uint64_t rank;

	for (uint32_t ts = 0; ts < to->n_scopes; ts++) {
		struct dp_pool *tp = &to->pools[ts];

		if (dp_pool_rank(tp, addr, &rank)) {
			/* The control thread's carry may write this mark too: each writes a
			 * FREE not yet durable, and either must be waited for. */
			atomic_store_explicit(&tp->freed_by[rank],
					      (uint64_t)(w + 1) << DP_FREED_SEQ_BITS |
					      (seq & DP_FREED_SEQ_MASK), memory_order_relaxed);
			return;
		}
	}
	carry_other(to, dp_freed_other_bucket(addr), w, seq);
}

void dp_pools_carry_freed(struct dp_pools *to, const struct dp_pools *from,
			  const struct dp_commit *c)
{
	for (uint32_t sc = 0; sc < from->n_scopes; sc++) {
		const struct dp_pool *fp = &from->pools[sc];

		for (uint32_t i = 0; i < fp->n_ranges; i++) {
			for (uint64_t a = fp->ranges[i].first; a <= fp->ranges[i].last; a++) {
				uint64_t m = atomic_load_explicit(&fp->freed_by[fp->before[i] + a -
									  fp->ranges[i].first],
								  memory_order_relaxed);
				uint64_t rank;
				uint32_t ts;

				if (mark_settled(m, c)) {
					continue;	/* nothing to wait for */
				}
				for (ts = 0; ts < to->n_scopes; ts++) {
					struct dp_pool *tp = &to->pools[ts];

					if (dp_pool_rank(tp, (uint32_t)a, &rank)) {
						uint64_t t = atomic_load_explicit(
							&tp->freed_by[rank], memory_order_relaxed);

						/* A compare-and-swap: a worker may mark a
						 * later FREE here meanwhile (mark_next), which
						 * needed ours durable and must stay. */
						if (mark_settled(t, c)) {
							(void)atomic_compare_exchange_strong_explicit(
								&tp->freed_by[rank], &t, m,
								memory_order_relaxed,
								memory_order_relaxed);
						}
						break;
					}
				}
				if (ts == to->n_scopes) {
					/* Outside every range of @p to now. */
					carry_other(to, dp_freed_other_bucket((uint32_t)a),
						    (uint32_t)(m >> DP_FREED_SEQ_BITS) - 1,
						    m & DP_FREED_SEQ_MASK);
				}
			}
		}
		for (uint32_t b = 0; b < DP_FREED_OTHER; b++) {
			for (uint32_t w = 0; w < from->n_workers; w++) {
				uint64_t v = atomic_load_explicit(
					&fp->freed_other[(size_t)b * from->n_workers + w],
					memory_order_relaxed);

				if (v != 0 && v > c->ops->durable(c->ctx, w)) {
					carry_other(to, b, w, v);
				}
			}
		}
	}
}
