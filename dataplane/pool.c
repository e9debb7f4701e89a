#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bindings.h"
#include "commit.h"
#include "pool.h"

bool dp_pool_rank(const struct dp_pool *p, uint32_t addr, uint64_t *rank)
{
	int64_t i = dp_range_find(p->ranges, p->n_ranges, addr);

	if (i < 0) {
		return false;
	}
	*rank = p->before[i] + (addr - p->ranges[i].first);
	return true;
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

bool dp_slice_pop(struct dp_pools *p, uint32_t w, uint32_t scope, uint32_t *addr)
{
	struct dp_slice *s = dp_pools_slice(p, w, scope);
	uint32_t idx;

	if (s->count == 0) {
		return false;
	}
	*addr = s->fifo[s->head];
	s->head = s->head + 1 == s->cap ? 0 : s->head + 1;
	__atomic_store_n(&s->count, s->count - 1, __ATOMIC_RELAXED);	/* dp_slice_count */
	idx = slice_index(p, scope, *addr);
	/* Relaxed atomic stores: the control thread reads the bitmap (dp_slice_queued). */
	__atomic_store_n(&s->queued[idx / 64], s->queued[idx / 64] & ~(1ULL << (idx % 64)),
			 __ATOMIC_RELAXED);
	return true;
}

bool dp_slice_queued(struct dp_pools *p, uint32_t w, uint32_t scope, uint32_t addr)
{
	struct dp_slice *s = dp_pools_slice(p, w, scope);
	uint32_t idx = slice_index(p, scope, addr);

	if (dp_pool_lent(p, scope, addr)) {
		return true;
	}
	return idx < s->size && ((__atomic_load_n(&s->queued[idx / 64], __ATOMIC_RELAXED) >>
				  (idx % 64)) & 1);
}

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

bool dp_slice_push(struct dp_pools *p, uint32_t w, uint32_t scope, uint32_t addr)
{
	struct dp_slice *s = dp_pools_slice(p, w, scope);
	uint32_t idx = slice_index(p, scope, addr);
	uint32_t tail;

	if (idx >= s->size || (s->queued[idx / 64] >> (idx % 64)) & 1) {
		return false;
	}
	tail = s->head + s->count;
	if (tail >= s->cap) {
		tail -= s->cap;
	}
	s->fifo[tail] = addr;
	__atomic_store_n(&s->count, s->count + 1, __ATOMIC_RELAXED);	/* dp_slice_count */
	__atomic_store_n(&s->queued[idx / 64], s->queued[idx / 64] | 1ULL << (idx % 64),
			 __ATOMIC_RELAXED);
	return true;
}

bool dp_slice_unpop(struct dp_pools *p, uint32_t w, uint32_t scope, uint32_t addr)
{
	struct dp_slice *s = dp_pools_slice(p, w, scope);
	uint32_t idx = slice_index(p, scope, addr);

	if (idx >= s->size || (s->queued[idx / 64] >> (idx % 64)) & 1) {
		return false;
	}
	s->head = s->head == 0 ? s->cap - 1 : s->head - 1;
	s->fifo[s->head] = addr;
	__atomic_store_n(&s->count, s->count + 1, __ATOMIC_RELAXED);	/* dp_slice_count */
	__atomic_store_n(&s->queued[idx / 64], s->queued[idx / 64] | 1ULL << (idx % 64),
			 __ATOMIC_RELAXED);
	return true;
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
	return 0;
}

static bool allocatable(const struct dp_scope *s, uint32_t addr)
{
	return dp_scope_in_pool(s, addr) && dp_scope_find_reservation_addr(s, addr) == NULL;
}

static int slices_init(struct dp_pools *p, uint32_t scope)
{
	const struct dp_pool *pool = &p->pools[scope];
	uint32_t nw = p->n_workers;

	for (uint32_t w = 0; w < nw; w++) {
		struct dp_slice *s = dp_pools_slice(p, w, scope);
		uint64_t size = pool->total / nw + (w < pool->total % nw ? 1 : 0);

		s->size = (uint32_t)size;
		s->cap = s->size ? s->size : 1;
		s->fifo = malloc(sizeof(*s->fifo) * s->cap);
		s->queued = calloc(s->cap / 64 + 1, sizeof(*s->queued));
		s->borrowed = malloc(sizeof(*s->borrowed) * DP_BORROW_MAX);
		if (s->fifo == NULL || s->queued == NULL || s->borrowed == NULL) {
			return -1;
		}
	}
	for (uint32_t i = 0; i < pool->n_ranges; i++) {
		const struct dp_range *r = &pool->ranges[i];

		for (uint64_t a = r->first; a <= r->last; a++) {
			uint64_t rank = pool->before[i] + (a - r->first);

			if (allocatable(pool->scope, (uint32_t)a)) {
				(void)dp_slice_push(p, (uint32_t)(rank % nw), scope, (uint32_t)a);
			}
		}
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
		if (pool_init(&p->pools[i], &c->scopes[i]) != 0 || slices_init(p, i) != 0) {
			goto fail;
		}
		/* All-zero bytes are a valid 0 for a lock-free atomic. */
		p->pools[i].lent = calloc(p->pools[i].total / 64 + 1, sizeof(*p->pools[i].lent));
		p->pools[i].freed_by = calloc(p->pools[i].total ? p->pools[i].total : 1,
					      sizeof(*p->pools[i].freed_by));
		p->pools[i].freed_other = calloc((size_t)DP_FREED_OTHER * n_workers,
						 sizeof(*p->pools[i].freed_other));
		if (p->pools[i].lent == NULL || p->pools[i].freed_by == NULL ||
		    p->pools[i].freed_other == NULL) {
			goto fail;
		}
		if (c->scopes[i].fo_rel != 0) {
			/* All-zero bytes are a valid 0 for a lock-free atomic. */
			p->pools[i].peer_pet = calloc(p->pools[i].total ? p->pools[i].total : 1,
						      sizeof(*p->pools[i].peer_pet));
			p->pools[i].fo_hold = calloc(p->pools[i].total ? p->pools[i].total : 1,
						     sizeof(*p->pools[i].fo_hold));
			if (p->pools[i].peer_pet == NULL || p->pools[i].fo_hold == NULL) {
				goto fail;
			}
		}
	}
	return p;
fail:
	dp_pools_free(p);
	return NULL;
}

void dp_pools_free(struct dp_pools *p)
{
	if (p == NULL) {
		return;
	}
	if (p->slices != NULL) {
		for (uint64_t i = 0; i < (uint64_t)p->n_workers * p->n_scopes; i++) {
			free(p->slices[i].fifo);
			free(p->slices[i].queued);
			free(p->slices[i].borrowed);
		}
	}
	if (p->pools != NULL) {
		for (uint32_t i = 0; i < p->n_scopes; i++) {
			free(p->pools[i].before);
			free((void *)p->pools[i].peer_pet);
			free((void *)p->pools[i].fo_hold);
			free((void *)p->pools[i].lent);
			free((void *)p->pools[i].freed_by);
			free((void *)p->pools[i].freed_other);
		}
	}
	free(p->pools);
	free(p->slices);
	free(p);
}

struct ended {
	uint64_t ends;
	uint32_t addr;
};

static int by_end(const void *a, const void *b)
{
	const struct ended *x = a, *y = b;

	if (x->ends != y->ends) {
		return x->ends < y->ends ? -1 : 1;
	}
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void slice_clear(struct dp_slice *s)
{
	s->head = s->count = 0;
	s->b_head = s->b_count = 0;
	s->asking = false;
	memset(s->queued, 0, sizeof(*s->queued) * (s->cap / 64 + 1));
}

int dp_pools_requeue(struct dp_pools *p, struct bt_table *t)
{
	for (uint32_t sc = 0; sc < p->n_scopes; sc++) {
		const struct dp_pool *pool = &p->pools[sc];
		struct ended *late = malloc(sizeof(*late) * (pool->total ? pool->total : 1));
		uint64_t n_late = 0;

		if (late == NULL) {
			return -ENOMEM;
		}
		for (uint32_t w = 0; w < p->n_workers; w++) {
			slice_clear(dp_pools_slice(p, w, sc));
		}
		for (uint64_t i = 0; i <= pool->total / 64; i++) {
			atomic_store_explicit(&pool->lent[i], 0, memory_order_relaxed);
		}
		for (uint32_t i = 0; i < pool->n_ranges; i++) {
			const struct dp_range *r = &pool->ranges[i];

			for (uint64_t a = r->first; a <= r->last; a++) {
				uint64_t rank = pool->before[i] + (a - r->first);
				const struct bt_binding *b;

				if ((a & 1023) == 0) {
					/* No record pointer is kept across addresses: let the
					 * workers' record recycling go on (issue 11 item 10). */
					urcu_qsbr_quiescent_state();
				}
				if (!allocatable(pool->scope, (uint32_t)a)) {
					continue;
				}
				b = bt_lookup_addr(t, (uint32_t)a);
				/* BACKUP: free too, for the failover secondary (the engine
				 * decides who may take it). */
				if (b == NULL || b->state == BT_BACKUP) {
					(void)dp_slice_push(p, (uint32_t)(rank % p->n_workers), sc,
							    (uint32_t)a);
				} else if (b->state == BT_EXPIRED || b->state == BT_RELEASED) {
					late[n_late++] = (struct ended){b->ends, (uint32_t)a};
				}
			}
		}
		qsort(late, n_late, sizeof(*late), by_end);
		for (uint64_t i = 0; i < n_late; i++) {
			int w = dp_pool_owner(p, sc, late[i].addr);

			(void)dp_slice_push(p, (uint32_t)w, sc, late[i].addr);
		}
		free(late);
	}
	return 0;
}

/* Has the FREE that @p mark (dp_pool.freed_by) remembers reached the store? */
static bool mark_settled(uint64_t mark, const struct dp_commit *c)
{
	uint32_t w = (uint32_t)(mark >> DP_FREED_SEQ_BITS) - 1;

	return mark == 0 || (mark & DP_FREED_SEQ_MASK) <= c->ops->durable(c->ctx, w);
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

				if (mark_settled(m, c)) {
					continue;	/* nothing to wait for */
				}
				for (uint32_t ts = 0; ts < to->n_scopes; ts++) {
					struct dp_pool *tp = &to->pools[ts];

					if (dp_pool_rank(tp, (uint32_t)a, &rank)) {
						if (mark_settled(atomic_load_explicit(
							&tp->freed_by[rank], memory_order_relaxed), c)) {
							atomic_store_explicit(&tp->freed_by[rank], m,
									      memory_order_relaxed);
						}
						break;
					}
				}
			}
		}
	}
}
