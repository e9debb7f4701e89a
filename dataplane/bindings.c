/*
 * bindings.c: copy-on-write lease records in two rculfhash tables (see bindings.h).
 *
 * Record recycling: a retired record waits out a grace period, then goes back to its home
 * writer's lock-free stack `returned` (its chunk's writer; cds_lfs pushes are safe against the
 * owner's concurrent pop_all). The owner refills its private stock from that stack only when
 * the stock runs dry, so the common path touches no shared cache line.
 *
 * Retiring in batches. One urcu_qsbr_call_rcu() per record cost, at ~360 k DORA/s a worker,
 * ~720 k enqueues a second, and the call_rcu thread (on CPU 0, beside the load generator)
 * then touched every record (its slot, its link), pushed each with a cmpxchg and added to
 * n_back with an atomic: 12-13 ms of CPU 0 a second, and every record went to CPU 0's cache
 * and back before its reuse. Instead, the writer that retires a record (the owner thread of
 * the struct bt_writer passed to bt_publish*() or bt_remove(); the record may be another
 * writer's, its "home", when an address changed hands) links it, and its spill record, on an
 * owner-only list, one per home (bt_writer.open[], direct-mapped by the home's id), through
 * the records' free_node: readers never read that word, so it may be written during the
 * grace period. A list goes to RCU as one batch, one call_rcu whose rcu_head is in a
 * descriptor of the retiring writer (bt_writer.desc[], a ring), when it reaches
 * BT_RETIRE_BATCH records, when a record for another home needs its slot, and on
 * bt_writer_flush(): the worker calls it before it sleeps, at least every millisecond while
 * it holds records, and before it stops (worker.c). After the grace period the callback
 * (batch_retired) pushes the whole chain on the home's `returned` stack with one cmpxchg
 * (its last record's link is the only record word it writes), adds the batch's count to
 * n_back once and frees the descriptor (busy cleared last, release; the owner's acquire load
 * before reuse). refill() then takes chains whose links the retiring worker wrote itself.
 *
 * When no batch can take a record (its slot holds another home's list and every descriptor is
 * out), it goes alone through call_rcu (retired()), as every record did before. Accounting:
 * a held record counts as in use for bt_writer_free() (n_taken - n_back) until its batch is
 * back, like a record in a grace period; held records are never lost: they stay in their
 * chunks, which bt_writer_deinit() frees.
 *
 * The writer's records come in chunks: one at start-up, more from the control thread
 * (bt_writer_grow) pushed on the same lock-free stack, so the memory follows the bindings in
 * use and the worker never allocates. When the stock runs out before the control thread
 * adds to it, bt_record_get() says so and the caller drops the request (counted), which is
 * the right answer under a flood: never block, never allocate.
 *
 * The tables grow the same way: the control thread resizes them (bt_table_reserve) as the
 * records grow; rculfhash lets lookups, adds and removes go on during a resize.
 */
#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#include "bindings.h"
#include "lw_hash.h"

static inline uint64_t addr_hash(uint32_t addr)
{
	return lw_mix64((uint64_t)addr + 0x9e3779b97f4a7c15ULL);
}

uint64_t bt_key_hash(const struct bt_table *t, const struct dp_client_key *k)
{
	/* The seed enters before the first block, so the whole chain depends on it. */
	uint64_t h = lw_mix64(t->seed ^ 0x243f6a8885a308d3ULL) ^ ((uint64_t)k->type << 56) ^ k->len;

	return lw_hash_chain(h, k->data, k->len);
}

static inline uint32_t keyed_slot(uint32_t addr)
{
	return addr & (BT_KEYED_SLOTS - 1);
}

static int match_addr(struct cds_lfht_node *node, const void *key)
{
	const struct bt_binding *b = caa_container_of(node, struct bt_binding, addr_node);

	return b->addr == *(const uint32_t *)key;
}

static int match_key(struct cds_lfht_node *node, const void *key)
{
	const struct bt_binding *b = caa_container_of(node, struct bt_binding, key_node);

	return bt_key_equal(&b->key, key);
}

static unsigned long pow2_at_least(uint64_t n)
{
	unsigned long p = 64;

	while (p < n && p < (1UL << 30)) {
		p <<= 1;
	}
	return p;
}

static uint64_t random_seed(void)
{
	uint64_t seed = 0;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed)) {
		return seed;
	}
	/* No entropy yet (early boot): still different per start (clock to the nanosecond,
	 * address space layout). */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	seed = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec;
	return lw_mix64(seed ^ lw_mix64((uint64_t)(uintptr_t)&seed));
}

/* Buckets to start with: the tables grow from there (bt_table_reserve). */
#define BT_MIN_BUCKETS 4096UL

struct bt_table *bt_table_new(uint64_t capacity)
{
	struct bt_table *t = calloc(1, sizeof(*t));
	unsigned long max = pow2_at_least(capacity);
	unsigned long init = max < BT_MIN_BUCKETS ? max : BT_MIN_BUCKETS;

	if (t == NULL) {
		return NULL;
	}
	t->capacity = capacity;
	t->buckets = init;
	t->max_buckets = max;
	t->seed = random_seed();
	/* No CDS_LFHT_AUTO_RESIZE: a resize allocates on the thread that triggers it, and that
	 * would be a worker. The control thread grows them instead. The mmap layout is what
	 * cds_lfht_new_flavor() picks on 64-bit for tables of at most 2^32 buckets; named here
	 * because bt_warm_key_*() index its bucket array (one array, reserved for max buckets
	 * at creation, bucket i at [i]). */
	t->by_addr = _cds_lfht_new(init, init, max, 0, &cds_lfht_mm_mmap, &urcu_qsbr_flavor, NULL);
	t->by_key = _cds_lfht_new(init, init, max, 0, &cds_lfht_mm_mmap, &urcu_qsbr_flavor, NULL);
	if (t->by_addr == NULL || t->by_key == NULL) {
		bt_table_free(t);
		return NULL;
	}
	t->addr_buckets = cds_lfht_mm_mmap.bucket_at(t->by_addr, 0);
	t->key_buckets = cds_lfht_mm_mmap.bucket_at(t->by_key, 0);
	return t;
}

void bt_table_reserve(struct bt_table *t, uint64_t n)
{
	unsigned long want = pow2_at_least(n) / 2;

	if (want > t->max_buckets) {
		want = t->max_buckets;
	}
	if (want <= t->buckets) {
		return;
	}
	cds_lfht_resize(t->by_addr, want);
	cds_lfht_resize(t->by_key, want);
	__atomic_store_n(&t->buckets, want, __ATOMIC_RELEASE);	/* bt_warm_key_*() */
}

static void drain(struct cds_lfht *ht)
{
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;

	cds_lfht_for_each(ht, &iter, node) {
		(void)cds_lfht_del(ht, node);
	}
}

void bt_table_free(struct bt_table *t)
{
	if (t == NULL) {
		return;
	}
	/* Records belong to their writers' slabs: unlink them, never free them here. */
	if (t->by_addr != NULL) {
		drain(t->by_addr);
		(void)cds_lfht_destroy(t->by_addr, NULL);
	}
	if (t->by_key != NULL) {
		drain(t->by_key);
		(void)cds_lfht_destroy(t->by_key, NULL);
	}
	free(t);
}

int bt_writer_init(struct bt_writer *w, struct bt_table *t, uint8_t id, uint32_t n_records)
{
	memset(w, 0, sizeof(*w));
	w->table = t;
	w->id = id;
	cds_lfs_init(&w->returned);
	return n_records == 0 ? 0 : bt_writer_grow(w, n_records);
}

/* Open-addressing slots of a writer's intern index: at most half full. */
#define INTERN_SLOTS 8192u
static_assert(INTERN_SLOTS >= 2 * (BT_INTERN_MAX + 1), "intern index at most half full");
static_assert(BT_INTERN_LEN >= DP_INFO_VENDOR_MAX && BT_INTERN_LEN >= DP_INFO_POLICY_MAX,
	      "interned strings hold a vendor class and a policy name");
static_assert(sizeof(struct bt_info_slot) == 32, "the slot is 32 bytes (doc/performance.md)");
static_assert(BT_INFO_INLINE >= sizeof(uintptr_t), "a slot holds a spill pointer");
static_assert(sizeof(struct bt_retire_desc) == 64, "a batch descriptor is 64 bytes");
static_assert(BT_RETIRE_BATCH >= 2, "a batch holds a record and its spill record");
/* Every record of a chunk starts a cache line, and its first line holds what a by_addr insert
 * reads (the bulk load's prefetch of one line per record: bt_bulk_publish). */
static_assert(offsetof(struct bt_chunk, rec) % 64 == 0 && sizeof(struct bt_binding) % 64 == 0,
	      "records are whole cache lines, the first at a line's start");
static_assert(offsetof(struct bt_binding, addr) + sizeof(uint32_t) <= 64 &&
	      offsetof(struct bt_binding, key_hash) + sizeof(uint64_t) <= 64,
	      "a record's address and key hash are on its first line");
/* A spill record keeps its chunk pointer (its way home); the information goes from addr on
 * (spill_info()), clear of it: the pointer before addr or after the information. */
static_assert(sizeof(struct bt_binding) - offsetof(struct bt_binding, addr) >=
	      sizeof(struct dp_client_info), "a spill record holds a struct dp_client_info");
static_assert(offsetof(struct bt_binding, chunk) + sizeof(struct bt_chunk *) <=
	      offsetof(struct bt_binding, addr) ||
	      offsetof(struct bt_binding, chunk) >=
	      offsetof(struct bt_binding, addr) + sizeof(struct dp_client_info),
	      "a spill record's information leaves its chunk pointer whole");

static int intern_init(struct bt_intern *in)
{
	if (in->ent != NULL) {
		return 0;
	}
	/* calloc: the pages of entries never used are never touched. */
	in->ent = calloc(BT_INTERN_MAX + 1, sizeof(in->ent[0]));
	in->index = calloc(INTERN_SLOTS, sizeof(in->index[0]));
	if (in->ent == NULL || in->index == NULL) {
		free(in->ent);
		free(in->index);
		in->ent = NULL;
		in->index = NULL;
		return -ENOMEM;
	}
	in->n = 0;
	return 0;
}

struct bt_chunk *bt_chunk_new(struct bt_writer *w, uint32_t n)
{
	/* Straight from the kernel: slot[] must read as empty, and fresh pages are zero
	 * already, so the ones no binding writes are never touched. No transparent huge
	 * pages: measured on the development VM, zeroing fresh 2 MiB pages cost 12 s of CPU
	 * at a 10 M-binding start (doc/performance.md), far more than the TLB misses they
	 * save. */
	size_t bytes = sizeof(struct bt_chunk) + (size_t)n * (sizeof(struct bt_binding) +
							     sizeof(struct bt_info_slot));
	struct bt_chunk *c;

	c = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED) {
		return NULL;
	}
	c->bytes = bytes;
	c->w = w;
	c->n = n;
	c->slot = (struct bt_info_slot *)&c->rec[n];
	for (uint32_t i = 0; i < n; i++) {
		c->rec[i].chunk = c;
		cds_lfs_node_init(&c->rec[i].free_node);
	}
	return c;
}

void bt_chunk_free(struct bt_chunk *c)
{
	munmap(c, c->bytes);
}

int bt_writer_add_chunk(struct bt_writer *w, struct bt_chunk *c)
{
	if (intern_init(&w->intern) != 0) {
		return -ENOMEM;
	}
	c->next = w->chunks;
	w->chunks = c;
	w->n_records += c->n;
	return 0;
}

void bt_chunk_release_from(struct bt_chunk *c, uint32_t from)
{
	/* Pushed from the last: the owner's refill() takes the stack as it is, so the records
	 * are taken in address order. */
	for (uint32_t i = c->n; i-- > from;) {
		cds_lfs_push(&c->w->returned, &c->rec[i].free_node);
	}
}

void bt_chunk_release(struct bt_chunk *c)
{
	bt_chunk_release_from(c, 0);
}

int bt_writer_grow(struct bt_writer *w, uint32_t n)
{
	struct bt_chunk *c = bt_chunk_new(w, n);

	if (c == NULL) {
		return -ENOMEM;
	}
	if (bt_writer_add_chunk(w, c) != 0) {
		bt_chunk_free(c);
		return -ENOMEM;
	}
	bt_chunk_release(c);
	return 0;
}

void bt_writer_deinit(struct bt_writer *w)
{
	while (w->chunks != NULL) {
		struct bt_chunk *c = w->chunks;

		w->chunks = c->next;
		munmap(c, c->bytes);
	}
	free(w->intern.ent);
	free(w->intern.index);
	w->intern.ent = NULL;
	w->intern.index = NULL;
	w->intern.n = 0;
	w->stock = NULL;
	w->n_records = w->n_taken = w->n_back = 0;
	/* Held records went with their chunks; no batch is out (after rcu_barrier). */
	memset(w->open, 0, sizeof(w->open));
	memset(w->desc, 0, sizeof(w->desc));
	w->n_held = w->desc_next = 0;
	w->n_batches = 0;
}

/* The stock is empty (take() refills only then): what came back becomes the stock as it
 * is, linked as it was pushed. Not walked: a walk missed on every record in a row (tens of
 * thousands at a time; when records were retired one by one, the call_rcu thread wrote each
 * link last, on another core; now the retiring worker writes them, but long ago); take()
 * fetches them two ahead instead. */
static void refill(struct bt_writer *w)
{
	struct cds_lfs_head *head = __cds_lfs_pop_all(&w->returned);

	assert(w->stock == NULL);
	w->stock = head != NULL ? &head->node : NULL;
}

static inline struct bt_info_slot *slot_of(const struct bt_binding *b)
{
	return &b->chunk->slot[b - b->chunk->rec];
}

static inline struct bt_binding *spill_of(const struct bt_info_slot *s)
{
	uintptr_t sp;

	memcpy(&sp, s->bytes, sizeof(sp));
	return (struct bt_binding *)sp;
}

/* The struct dp_client_info a spill record holds: after its chunk pointer, which keeps
 * telling retired() and bt_record_put() where the record goes home. */
static inline struct dp_client_info *spill_info(struct bt_binding *sp)
{
	return (struct dp_client_info *)(void *)&sp->addr;
}

/* Take a record from the stock, its slot empty. */
static struct bt_binding *take(struct bt_writer *w)
{
	struct bt_binding *b;
	struct bt_info_slot *s;

	if (w->stock == NULL) {
		refill(w);
		if (w->stock == NULL) {
			return NULL;
		}
	}
	b = caa_container_of(w->stock, struct bt_binding, free_node);
	w->stock = w->stock->next;
	if (w->stock != NULL) {
		/* Ahead of the caller, in two steps: the previous take() brought the next
		 * record's lines (its link on the first, its chunk pointer on the third), so
		 * this one reads that link and chunk pointer without a miss and fetches the next
		 * record's slot and the record after it, all three lines. Lines no one used
		 * since they were freed (a batch's last, by the call_rcu thread). The chunk
		 * pointer is not on the first line: the key hash is, for the bulk load. */
		const struct bt_binding *nx = caa_container_of(w->stock, struct bt_binding,
							       free_node);
		const struct cds_lfs_node *after = w->stock->next;

		__builtin_prefetch(slot_of(nx), 1);
		if (after != NULL) {
			const char *a = (const char *)caa_container_of(after, struct bt_binding,
								       free_node);

			__builtin_prefetch(a, 1);
			__builtin_prefetch(a + 64, 1);
			__builtin_prefetch(a + 128, 1);
		}
	}
	__atomic_store_n(&w->n_taken, w->n_taken + 1, __ATOMIC_RELAXED);	/* bt_writer_free */
	s = slot_of(b);
	if ((s->vendor | s->policy | s->host_len | s->circuit_len) != 0) {
		/* Only when the record's last use knew its client: a read of a page no binding
		 * ever wrote costs no memory (the zero page), a write would. (A spill record
		 * went home with its binding already.) */
		s->vendor = s->policy = 0;
		s->host_len = s->circuit_len = 0;
	}
	return b;
}

/* A record just taken, made ready for its writer @p w. */
static struct bt_binding *fresh(struct bt_writer *w, struct bt_binding *b)
{
	/* Not a memset of the whole record: the hash nodes are set up by bt_publish() and the
	 * key is overwritten by the caller; this runs once per ACK. */
	b->addr = 0;
	b->scope = 0;
	b->state = 0;
	b->circuit = 0;
	b->supersedes = 0;
	b->under = 0;
	b->acked = 0;
	b->start = b->ends = b->seq = 0;
	b->key.type = b->key.len = 0;
	b->hw_len = 0;
	b->owner = w->id;
	return b;
}

struct bt_binding *bt_record_get(struct bt_writer *w)
{
	struct bt_binding *b = take(w);

	return b != NULL ? fresh(w, b) : NULL;
}

struct bt_binding *bt_chunk_take(struct bt_chunk *c, uint32_t i)
{
	struct bt_writer *w = c->w;

	/* Never released, never taken: its slot is as the kernel gave it (zero). */
	__atomic_store_n(&w->n_taken, w->n_taken + 1, __ATOMIC_RELAXED);	/* bt_writer_free */
	return fresh(w, &c->rec[i]);
}

static void put(struct bt_writer *w, struct bt_binding *b)
{
	b->free_node.next = w->stock;
	w->stock = &b->free_node;
	__atomic_store_n(&w->n_taken, w->n_taken - 1, __ATOMIC_RELAXED);	/* bt_writer_free */
}

void bt_record_put(struct bt_writer *w, struct bt_binding *b)
{
	struct bt_info_slot *s = slot_of(b);

	if (s->host_len == BT_INFO_SPILLED) {
		put(w, spill_of(s));
		s->host_len = 0;
	}
	put(w, b);
}

static uint64_t intern_hash(const struct bt_writer *w, const uint8_t *p, uint8_t len)
{
	return lw_hash_bytes(w->table->seed, p, len);
}

/* The id of string @p p in the writer's table, added if new. @return 0 for an empty string
 * or a full table. Owner thread. */
static uint16_t intern(struct bt_writer *w, const void *p, uint8_t len)
{
	struct bt_intern *in = &w->intern;
	uint32_t i;

	if (len == 0 || len > BT_INTERN_LEN || in->ent == NULL) {
		return 0;
	}
	for (i = (uint32_t)intern_hash(w, p, len) & (INTERN_SLOTS - 1);;
	     i = (i + 1) & (INTERN_SLOTS - 1)) {
		uint16_t id = in->index[i];

		if (id == 0) {
			break;
		}
		if (in->ent[id].len == len && memcmp(in->ent[id].s, p, len) == 0) {
			return id;
		}
	}
	if (in->n >= BT_INTERN_MAX) {
		return 0;
	}
	in->n++;
	in->ent[in->n].len = len;
	memcpy(in->ent[in->n].s, p, len);
	in->index[i] = (uint16_t)in->n;
	return (uint16_t)in->n;
}

/* *@p dst = the fields of @p src by their lengths, every byte past them zero (what a caller
 * left there is not kept: bt_info_get() promises zeros, spilled or not). */
static void info_copy(struct dp_client_info *dst, const struct dp_client_info *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->host_len = src->host_len;
	dst->vendor_len = src->vendor_len;
	dst->circuit_len = src->circuit_len;
	dst->policy_len = src->policy_len;
	memcpy(dst->host, src->host, src->host_len);
	memcpy(dst->vendor, src->vendor, src->vendor_len);
	memcpy(dst->circuit, src->circuit, src->circuit_len);
	memcpy(dst->policy, src->policy, src->policy_len);
}

int bt_info_set(struct bt_binding *b, const struct dp_client_info *in)
{
	struct bt_writer *w = b->chunk->w;
	struct bt_info_slot *s = slot_of(b);
	struct bt_binding *sp;
	uint16_t vendor = 0, policy = 0;

	if (in == NULL || dp_info_empty(in)) {
		return 0;
	}
	if (s->host_len == BT_INFO_SPILLED) {
		put(w, spill_of(s));	/* set twice: the last one counts */
		s->host_len = 0;
	}
	if ((in->vendor_len == 0 || (vendor = intern(w, in->vendor, in->vendor_len)) != 0) &&
	    (in->policy_len == 0 || (policy = intern(w, in->policy, in->policy_len)) != 0) &&
	    in->host_len + in->circuit_len <= BT_INFO_INLINE) {
		s->vendor = vendor;
		s->policy = policy;
		s->host_len = in->host_len;
		s->circuit_len = in->circuit_len;
		memcpy(s->bytes, in->host, in->host_len);
		memcpy(s->bytes + in->host_len, in->circuit, in->circuit_len);
		return 0;
	}
	/* Long names, or a full intern table: the whole information in a spill record. */
	sp = take(w);
	if (sp == NULL) {
		return -ENOBUFS;
	}
	info_copy(spill_info(sp), in);
	s->vendor = s->policy = 0;
	s->circuit_len = 0;
	s->host_len = BT_INFO_SPILLED;
	memcpy(s->bytes, &(uintptr_t){(uintptr_t)sp}, sizeof(uintptr_t));
	return 0;
}

void bt_info_get(const struct bt_binding *b, struct dp_client_info *out)
{
	const struct bt_info_slot *s = slot_of(b);
	const struct bt_intern *in = &b->chunk->w->intern;

	if (s->host_len == BT_INFO_SPILLED) {
		*out = *spill_info(spill_of(s));
		return;
	}
	memset(out, 0, sizeof(*out));
	if ((s->vendor | s->policy | s->host_len | s->circuit_len) == 0) {
		return;
	}
	out->host_len = s->host_len;
	memcpy(out->host, s->bytes, s->host_len);
	out->circuit_len = s->circuit_len;
	memcpy(out->circuit, s->bytes + s->host_len, s->circuit_len);
	if (s->vendor != 0) {
		out->vendor_len = in->ent[s->vendor].len;
		memcpy(out->vendor, in->ent[s->vendor].s, out->vendor_len);
	}
	if (s->policy != 0) {
		out->policy_len = in->ent[s->policy].len;
		memcpy(out->policy, in->ent[s->policy].s, out->policy_len);
	}
}

static void retired(struct rcu_head *head)
{
	struct bt_binding *b = caa_container_of(head, struct bt_binding, rcu);
	const struct bt_info_slot *s = slot_of(b);
	struct bt_writer *home = b->chunk->w;
	unsigned back = 1;

	if (s->host_len == BT_INFO_SPILLED) {
		/* Its spill record was read under the same grace period: home with it. */
		struct bt_binding *sp = spill_of(s);

		cds_lfs_node_init(&sp->free_node);
		cds_lfs_push(&home->returned, &sp->free_node);
		back++;
	}
	cds_lfs_node_init(&b->free_node);
	cds_lfs_push(&home->returned, &b->free_node);
	__atomic_fetch_add(&home->n_back, back, __ATOMIC_RELAXED);	/* bt_writer_free */
}

/* Push the chain @p first .. @p last on @p home's returned stack at once: cds_lfs_push() of
 * a chain (its last link written before the cmpxchg publishes it, whose barrier orders it). */
static void push_chain(struct bt_writer *home, struct cds_lfs_node *first,
		       struct cds_lfs_node *last)
{
	struct cds_lfs_head *head = __atomic_load_n(&home->returned.head, __ATOMIC_RELAXED);
	struct cds_lfs_head *nh = caa_container_of(first, struct cds_lfs_head, node);

	do {
		last->next = head != NULL ? &head->node : NULL;
	} while (!__atomic_compare_exchange_n(&home->returned.head, &head, nh, false,
					      __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
}

/* A batch's grace period is over (call_rcu thread): its records go home in O(1). */
static void batch_retired(struct rcu_head *head)
{
	struct bt_retire_desc *d = caa_container_of(head, struct bt_retire_desc, rcu);
	struct bt_writer *home = d->home;
	uint32_t n = d->n;

	push_chain(home, d->first, d->last);
	__atomic_fetch_add(&home->n_back, n, __ATOMIC_RELAXED);	/* bt_writer_free */
	__atomic_store_n(&d->busy, 0, __ATOMIC_RELEASE);		/* d is the owner's again */
}

/* Hand the list @p o of writer @p w to RCU as one batch. @return false when no descriptor is
 * free (all out): the list stays held. Owner thread. */
static bool hand(struct bt_writer *w, struct bt_retire_open *o)
{
	struct bt_retire_desc *d = &w->desc[w->desc_next % BT_RETIRE_DESC];

	if (__atomic_load_n(&d->busy, __ATOMIC_ACQUIRE) != 0) {
		return false;
	}
	d->home = o->home;
	d->first = o->first;
	d->last = o->last;
	d->n = o->n;
	__atomic_store_n(&d->busy, 1, __ATOMIC_RELAXED);
	w->desc_next++;
	w->n_held -= o->n;
	w->n_batches++;
	o->n = 0;
	urcu_qsbr_call_rcu(&d->rcu, batch_retired);
	return true;
}

/* Link @p b at the head of the list @p o of writer @p w. */
static inline void hold(struct bt_writer *w, struct bt_retire_open *o, struct bt_binding *b)
{
	if (o->n == 0) {
		b->free_node.next = NULL;
		o->last = &b->free_node;
	} else {
		b->free_node.next = o->first;
	}
	o->first = &b->free_node;
	o->n++;
	w->n_held++;
}

/* retire() when @p b's list is another home's, @p b has a spill record, or @p b fills the
 * list: a batch to hand over, or a record to link besides @p b. */
static __attribute__((noinline)) void retire_slow(struct bt_writer *w, struct bt_retire_open *o,
						  struct bt_binding *b)
{
	struct bt_writer *home = b->chunk->w;
	const struct bt_info_slot *s = slot_of(b);

	if (o->n != 0 && o->home != home && !hand(w, o)) {
		urcu_qsbr_call_rcu(&b->rcu, retired);	/* no batch for it: alone */
		return;
	}
	o->home = home;
	if (s->host_len == BT_INFO_SPILLED) {
		/* Read under the same grace period as its binding: home with it. */
		hold(w, o, spill_of(s));
	}
	hold(w, o, b);
	if (o->n >= BT_RETIRE_BATCH) {
		(void)hand(w, o);
	}
}

/* Retire @p b (unlinked from both tables by @p w's owner, the calling thread): held in @p w's
 * list for b's home writer, with its spill record, until the list goes to RCU. Inline: the
 * common case (a record of the list's home, no spill record, the list not full) is a few
 * stores to lines in cache (the record's first, the writer's list). */
static inline void retire(struct bt_writer *w, struct bt_binding *b)
{
	struct bt_writer *home = b->chunk->w;
	struct bt_retire_open *o = &w->open[home->id % BT_RETIRE_OPEN];
	uint32_t n = o->n;

	if (n == 0 || o->home != home || n + 1 >= BT_RETIRE_BATCH ||
	    slot_of(b)->host_len == BT_INFO_SPILLED) {
		retire_slow(w, o, b);
		return;
	}
	b->free_node.next = o->first;
	o->first = &b->free_node;
	o->n = n + 1;
	w->n_held++;
}

uint32_t bt_writer_flush(struct bt_writer *w)
{
	for (unsigned i = 0; i < BT_RETIRE_OPEN && w->n_held != 0; i++) {
		if (w->open[i].n != 0) {
			(void)hand(w, &w->open[i]);
		}
	}
	return w->n_held;
}

/* An empty key is no client (a BACKUP record): never in by_key, never found there. */
static struct bt_binding *lookup_key_hashed(struct bt_table *t, const struct dp_client_key *k,
					    uint64_t hash, struct cds_lfht_iter *iter)
{
	struct cds_lfht_node *node;

	if (k->len == 0) {
		return NULL;
	}
	cds_lfht_lookup(t->by_key, hash, match_key, k, iter);
	node = cds_lfht_iter_get_node(iter);
	return node ? caa_container_of(node, struct bt_binding, key_node) : NULL;
}

/* A publish that replaces @p n (cds_lfht_replace(), then rculfhash's walk that unlinks it)
 * reads the node after it in its chain, which the lookup that found @p n did not: fetch it
 * now, while the engine decides. The pointer carries rculfhash's flags in its low bits (its
 * nodes are 8-byte aligned); a prefetch never faults, whatever the word points to. */
static inline void prefetch_after(const struct cds_lfht_node *n)
{
	uintptr_t next = (uintptr_t)__atomic_load_n(&n->next, __ATOMIC_RELAXED);

	__builtin_prefetch((const void *)(next & ~(uintptr_t)7));
}

/* The bucket node of @p hash in the array @p a (struct bt_table addr_buckets, key_buckets):
 * rculfhash's lookup_bucket(). Never past the buckets allocated (bt_table.buckets). */
static inline const struct cds_lfht_node *bucket_of(const struct bt_table *t,
						    const struct cds_lfht_node *a, uint64_t hash)
{
	return &a[hash & (__atomic_load_n(&t->buckets, __ATOMIC_RELAXED) - 1)];
}

void bt_warm_key_bucket(const struct bt_table *t, uint64_t hash)
{
	__builtin_prefetch(bucket_of(t, t->key_buckets, hash));
}

void bt_warm_key_chain(const struct bt_table *t, uint64_t hash)
{
	const struct cds_lfht_node *b = bucket_of(t, t->key_buckets, hash);
	uintptr_t first = (uintptr_t)__atomic_load_n(&b->next, __ATOMIC_RELAXED) & ~(uintptr_t)7;

	/* A record's key_node, or the next bucket's node: the line of the node, and the
	 * record's second line, where its key is. */
	__builtin_prefetch((const void *)first);
	__builtin_prefetch((const void *)(first + 64));
}

const struct bt_binding *bt_warm_key_found(struct bt_table *t, const struct dp_client_key *k,
					   uint64_t hash)
{
	struct cds_lfht_iter iter;
	const struct bt_binding *b = lookup_key_hashed(t, k, hash, &iter);

	if (b == NULL) {
		return NULL;
	}
	__builtin_prefetch(bucket_of(t, t->addr_buckets, addr_hash(b->addr)));
	__builtin_prefetch((const char *)b + 128);
	prefetch_after(&b->key_node);
	prefetch_after(&b->addr_node);
	return b;
}

void bt_warm_addr_bucket(const struct bt_table *t, uint32_t addr)
{
	__builtin_prefetch(bucket_of(t, t->addr_buckets, addr_hash(addr)));
}

void bt_warm_addr_chain(const struct bt_table *t, uint32_t addr)
{
	const struct cds_lfht_node *b = bucket_of(t, t->addr_buckets, addr_hash(addr));
	uintptr_t first = (uintptr_t)__atomic_load_n(&b->next, __ATOMIC_RELAXED) & ~(uintptr_t)7;

	/* A record's addr_node (its address on the same line), or the next bucket's node. */
	__builtin_prefetch((const void *)first);
}

const struct bt_binding *bt_warm_addr_found(struct bt_table *t, uint32_t addr)
{
	const struct bt_binding *b = bt_lookup_addr(t, addr);

	if (b == NULL) {
		return NULL;
	}
	/* What a REQUEST's ACK reads next: the record's key and last lines, the node after
	 * it in each chain and the by_key bucket its replace's unlink walk starts from. */
	__builtin_prefetch((const char *)b + 64);
	__builtin_prefetch((const char *)b + 128);
	__builtin_prefetch(bucket_of(t, t->key_buckets, b->key_hash));
	prefetch_after(&b->addr_node);
	prefetch_after(&b->key_node);
	return b;
}

/* rculfhash's REMOVED_FLAG: bit 0 of a node's next pointer (rculfhash.c; rculfhash.h lays the
 * word out as "ptr | REMOVAL_OWNER_FLAG | BUCKET_FLAG | REMOVED_FLAG"): what
 * cds_lfht_is_node_deleted() tests (test_bindings removed_flag_is_rculfhash_s). */
#define LFHT_REMOVED_FLAG	((uintptr_t)1)

/* What cds_lfht_lookup() leaves in an iterator that found @p n: the node, and its next
 * pointer as read (rculfhash's replace and delete retry from a newer one, and refuse when it
 * carries the removed flag). One load, as the lookup's: the flag tested and the value kept
 * are the same snapshot (two loads let a replace in between mark the node after the test).
 * @return false when @p n is marked removed from its table. */
static inline bool iter_at(struct cds_lfht_node *n, struct cds_lfht_iter *iter)
{
	struct cds_lfht_node *next = __atomic_load_n(&n->next, __ATOMIC_RELAXED);

	if (((uintptr_t)next & LFHT_REMOVED_FLAG) != 0) {
		return false;
	}
	iter->node = n;
	iter->next = next;
	return true;
}

const struct bt_binding *bt_lookup_key_hinted(struct bt_table *t, const struct dp_client_key *k,
					      const struct bt_binding *hint,
					      struct bt_key_pos *pos)
{
	struct bt_binding *b = (struct bt_binding *)hint;	/* its node: not written here */

	/* Still the key's node: a record that is in by_key and not marked removed is the one
	 * a lookup finds (one node a key; a replace marks the old one removed in the same
	 * cmpxchg that links the new one). The record's key, not the warm pass's guess, is
	 * compared: the engine's key may differ (a reservation's). */
	if (b != NULL && k->len != 0 && bt_key_equal(&b->key, k) && iter_at(&b->key_node,
									  &pos->iter)) {
		pos->hash = b->key_hash;
		return b;
	}
	return bt_lookup_key_at(t, k, pos);
}

bool bt_addr_pos_of(const struct bt_binding *b, struct bt_addr_pos *pos)
{
	return iter_at(&((struct bt_binding *)b)->addr_node, &pos->iter);
}

const struct bt_binding *bt_lookup_addr_hinted(struct bt_table *t, uint32_t addr,
					       const struct bt_binding *hint,
					       struct bt_addr_pos *pos)
{
	if (hint != NULL && hint->addr == addr && bt_addr_pos_of(hint, pos)) {
		return hint;
	}
	return bt_lookup_addr_at(t, addr, pos);
}

const struct bt_binding *bt_lookup_addr(struct bt_table *t, uint32_t addr)
{
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;

	cds_lfht_lookup(t->by_addr, addr_hash(addr), match_addr, &addr, &iter);
	node = cds_lfht_iter_get_node(&iter);
	return node ? caa_container_of(node, struct bt_binding, addr_node) : NULL;
}

const struct bt_binding *bt_lookup_addr_at(struct bt_table *t, uint32_t addr,
					   struct bt_addr_pos *pos)
{
	struct cds_lfht_node *node;

	cds_lfht_lookup(t->by_addr, addr_hash(addr), match_addr, &addr, &pos->iter);
	node = cds_lfht_iter_get_node(&pos->iter);
	if (node == NULL) {
		return NULL;
	}
	prefetch_after(node);
	return caa_container_of(node, struct bt_binding, addr_node);
}

const struct bt_binding *bt_lookup_key(struct bt_table *t, const struct dp_client_key *k)
{
	struct cds_lfht_iter iter;

	return lookup_key_hashed(t, k, bt_key_hash(t, k), &iter);
}

const struct bt_binding *bt_lookup_key_at(struct bt_table *t, const struct dp_client_key *k,
					  struct bt_key_pos *pos)
{
	const struct bt_binding *b;

	pos->hash = bt_key_hash(t, k);
	memset(&pos->iter, 0, sizeof(pos->iter));	/* an empty key: no node */
	b = lookup_key_hashed(t, k, pos->hash, &pos->iter);
	if (b != NULL) {
		prefetch_after(&b->key_node);
	}
	return b;
}

/* Take @p b out of by_key if it is the node there for its key. */
static void unlink_key(struct bt_table *t, struct bt_binding *b)
{
	struct cds_lfht_iter iter;

	if (b->key.len != 0 && lookup_key_hashed(t, &b->key, b->key_hash, &iter) == b) {
		(void)cds_lfht_del(t->by_key, &b->key_node);
	}
}

/* bt_publish() and bt_publish_found(): @p pos is where @p cold was found in
 * by_addr, @p kpos where nb->key was in by_key, or NULL to find them again. */
static int publish(struct bt_writer *w, const struct bt_binding *cold, struct bt_addr_pos *pos,
		   const struct bt_key_pos *kpos, struct bt_binding *nb)
{
	struct bt_table *t = w->table;
	struct bt_binding *old = (struct bt_binding *)cold;	/* ours: we are its writer */
	struct bt_binding *cur;
	struct cds_lfht_iter iter;
	uint64_t ha = addr_hash(nb->addr);
	bool same = kpos == NULL && old != NULL && bt_key_equal(&old->key, &nb->key);
	bool linked = false;

	nb->owner = w->id;
	/* once: both tables and readers use it. The record replaced usually has the same key
	 * (an ACK after its offer, a renewal): its hash, taken in this table, is the one. */
	if (kpos != NULL) {
		nb->key_hash = kpos->hash;
	} else if (same) {
		nb->key_hash = old->key_hash;
	} else {
		nb->key_hash = bt_key_hash(t, &nb->key);
	}
	cds_lfht_node_init(&nb->addr_node);
	cds_lfht_node_init(&nb->key_node);

	/* by_addr first, as a compare-and-swap: replace exactly the record the caller read,
	 * or add where there was none. If another writer got there first (a broken ownership
	 * rule, or an operator's change racing an allocation), nothing is changed: from a
	 * fresh walk the node found is another one; from the caller's place, rculfhash's
	 * replace fails on the old node's removed flag. */
	if (old != NULL) {
		if (pos != NULL) {
			iter = pos->iter;
		} else {
			cds_lfht_lookup(t->by_addr, ha, match_addr, &nb->addr, &iter);
		}
		if (cds_lfht_iter_get_node(&iter) != &old->addr_node ||
		    cds_lfht_replace(t->by_addr, &iter, ha, match_addr, &nb->addr,
				     &nb->addr_node) != 0) {
			return -EAGAIN;
		}
	} else if (cds_lfht_add_unique(t->by_addr, ha, match_addr, &nb->addr, &nb->addr_node) !=
		   &nb->addr_node) {
		return -EAGAIN;
	}

	/* by_key: the client's latest binding. Keys have one writer (the client's worker). A
	 * record with no client (BACKUP) is not indexed there: cur is NULL for it.
	 *
	 * An ACK replaces its offer, which this writer linked into by_key when it published
	 * it (w->keyed says so): its node is there, or marked removed if a later binding of the
	 * client took its place. Replace it where it is, as a lookup would have found it; if
	 * it was removed, rculfhash refuses and the walk below finds the client's node. */
	cur = NULL;
	if (same && nb->key.len != 0 && w->keyed[keyed_slot(old->addr)] == old) {
		/* What cds_lfht_lookup() leaves in an iterator that found the node: the node
		 * and its next pointer as read (rculfhash's replace retries on a newer one). */
		iter.node = &old->key_node;
		iter.next = __atomic_load_n(&old->key_node.next, __ATOMIC_RELAXED);
		if (cds_lfht_replace(t->by_key, &iter, nb->key_hash, match_key, &nb->key,
				     &nb->key_node) == 0) {
			cur = old;
			linked = true;
		}
	}
	if (linked) {
		/* done */
	} else if (kpos != NULL) {
		struct cds_lfht_node *node;

		iter = kpos->iter;
		node = nb->key.len != 0 ? cds_lfht_iter_get_node(&iter) : NULL;
		cur = node != NULL ? caa_container_of(node, struct bt_binding, key_node) : NULL;
	} else {
		cur = lookup_key_hashed(t, &nb->key, nb->key_hash, &iter);
	}
	if (linked || nb->key.len == 0) {
		/* done, or not for by_key */
	} else if (cur != NULL && cds_lfht_replace(t->by_key, &iter, nb->key_hash, match_key,
						   &nb->key, &nb->key_node) == 0) {
		linked = true;
	} else {
		linked = cds_lfht_add_unique(t->by_key, nb->key_hash, match_key, &nb->key,
					     &nb->key_node) == &nb->key_node;
	}
	w->keyed[keyed_slot(nb->addr)] = linked && nb->chunk->w == w ? nb : NULL;
	if (old != NULL) {
		if (old != cur) {
			unlink_key(t, old);	/* the address changed hands */
		}
		retire(w, old);
	}
	return 0;
}

int bt_publish(struct bt_writer *w, const struct bt_binding *old, struct bt_binding *nb)
{
	return publish(w, old, NULL, NULL, nb);
}

int bt_publish_found(struct bt_writer *w, const struct bt_binding *old, struct bt_addr_pos *pos,
		     const struct bt_key_pos *kpos, struct bt_binding *nb)
{
	return publish(w, old, pos, kpos, nb);
}

int bt_publish_loaded(struct bt_writer *w, struct bt_binding *nb)
{
	struct bt_table *t = w->table;
	struct bt_binding *cur;
	struct cds_lfht_node *node;
	uint64_t ha = addr_hash(nb->addr);

	nb->owner = w->id;
	nb->key_hash = bt_key_hash(t, &nb->key);
	cds_lfht_node_init(&nb->addr_node);
	cds_lfht_node_init(&nb->key_node);
	if (cds_lfht_add_unique(t->by_addr, ha, match_addr, &nb->addr, &nb->addr_node) !=
	    &nb->addr_node) {
		return -EAGAIN;
	}
	if (nb->key.len == 0) {
		return 0;	/* no client: by_addr only */
	}
	/* One walk: take the key's place, and give it back in the rare case the record there
	 * started later (a client whose address changed). Nothing reads the tables while the
	 * store loads, so the record put back can be reused at once. */
	node = cds_lfht_add_replace(t->by_key, nb->key_hash, match_key, &nb->key, &nb->key_node);
	if (nb->chunk->w == w) {
		w->keyed[keyed_slot(nb->addr)] = nb;	/* linked, even if put out again below */
	}
	if (node != NULL) {
		cur = caa_container_of(node, struct bt_binding, key_node);
		if (cur->start > nb->start) {
			cds_lfht_node_init(&cur->key_node);
			node = cds_lfht_add_replace(t->by_key, nb->key_hash, match_key, &nb->key,
						    &cur->key_node);
		}
	}
	return 0;
}

/* The bits of a hash that order the split-ordered list of rculfhash first (its reverse
 * hash's top bits: the low bits reversed), 20 of them: a sort key that keeps runs of at most
 * a few buckets (at 10 M bindings) together. */
static inline uint64_t split_order20(uint64_t h)
{
	uint32_t v = (uint32_t)h;

	v = ((v >> 1) & 0x55555555u) | ((v & 0x55555555u) << 1);
	v = ((v >> 2) & 0x33333333u) | ((v & 0x33333333u) << 2);
	v = ((v >> 4) & 0x0f0f0f0fu) | ((v & 0x0f0f0f0fu) << 4);
	return __builtin_bswap32(v) >> 12;	/* the low 20 bits, reversed */
}

/* A sort element: the split-order key above the record's address (8-byte aligned, below
 * 2^47 in user space: 44 bits). */
#define PTR_BITS 44
#define PTR_MASK ((1ULL << PTR_BITS) - 1)

static inline uint64_t elem(uint64_t hash, const struct bt_binding *b)
{
	return split_order20(hash) << PTR_BITS | (uint64_t)(uintptr_t)b >> 3;
}

static inline struct bt_binding *elem_rec(uint64_t e)
{
	return (struct bt_binding *)(uintptr_t)((e & PTR_MASK) << 3);
}

/* The two 10-bit digits of a sort element's split-order key, low first. */
#define DIGIT(e, d) ((size_t)((e) >> (PTR_BITS + 10 * (d))) & 1023)

/* Sort @p v by its top 20 bits: two LSD radix passes of 10 bits, with @p count the counts of
 * each digit's values (bt_bulk_add() counts them as elements come; taken over here).
 * @p tmp: as large as @p v. The sorted entries end up in @p v. */
static void sort_split(uint64_t *v, uint64_t *tmp, size_t n, size_t count[2][1024])
{
	for (unsigned d = 0; d < 2; d++) {
		size_t sum = 0;
		uint64_t *swap;

		for (size_t x = 0; x < 1024; x++) {
			size_t c = count[d][x];

			count[d][x] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++) {
			tmp[count[d][DIGIT(v[i], d)]++] = v[i];
		}
		swap = v;
		v = tmp;
		tmp = swap;
	}
}

/* Prefetch distances of the bulk inserts, in sort elements: a record's lines, then (from
 * what that record holds, in cache by then) the bucket nodes its insert reads. */
#define BULK_AHEAD 16
#define BULK_BUCKET_AHEAD 8

static inline uint64_t rev64(uint64_t v)
{
	v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
	v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
	v = ((v >> 4) & 0x0f0f0f0f0f0f0f0fULL) | ((v & 0x0f0f0f0f0f0f0f0fULL) << 4);
	return __builtin_bswap64(v);
}

/*
 * Prefetch the bucket node an insert of @p hash starts from, and the bucket node after it in
 * the split-ordered list (the node its walk reads last when the bucket has no record yet).
 * At 10 M bindings the two tables have 8 M buckets each (128 MiB of bucket nodes): the
 * split order visits them in bit-reversed index order, one cache and TLB miss each, 40 % of
 * the bulk inserts' time before this prefetch (doc/performance.md).
 *
 * A bucket's address is what the mmap allocator of rculfhash returns for its index
 * (cds_lfht_mm_mmap.bucket_at: the bucket array base plus the index, arithmetic only), the
 * allocator rculfhash 0.13 picks for a table whose maximum is at most 2^32 buckets on a
 * 64-bit machine, as ours (pow2_at_least() stops at 2^30). Only a hint: were the table's
 * allocator another, the address would be wrong and a prefetch never faults.
 */
static inline void prefetch_buckets(struct cds_lfht *ht, unsigned long buckets, uint64_t hash)
{
	unsigned shift = 64 - (unsigned)__builtin_ctzl(buckets);
	uint64_t b = hash & (buckets - 1), r;

	__builtin_prefetch(cds_lfht_mm_mmap.bucket_at(ht, b), 1);
	if (buckets < 2) {
		return;
	}
	r = (rev64(b) >> shift) + 1;	/* the next bucket in split order */
	if (r < buckets) {
		__builtin_prefetch(cds_lfht_mm_mmap.bucket_at(ht, rev64(r) >> shift), 0);
	}
}

/* Work units of bt_bulk_publish(): this many sort elements, the boundaries moved to where
 * the split-order key changes (so a client's bindings, which share their hash, stay in one
 * unit: one thread decides which of them is the latest). */
#define BULK_UNIT 4096

/* bt_bulk.sorted[]: */
enum { SORT_TODO, SORT_RUNNING, SORT_DONE };

struct bt_bulk {
	struct bt_table *t;
	uint64_t *by_addr;		/* sort elements (elem()), one per record added */
	uint64_t *by_key;		/* one per record added with a key */
	uint64_t *tmp_addr;		/* sort scratch of by_addr; then the records by_addr
					 * refused in parallel mode (bt_bulk_end) */
	uint64_t *tmp_key;		/* sort scratch of by_key */
	size_t cap, n, n_key, bytes;
	uint32_t last_addr;
	bool ordered;			/* addresses strictly increasing in the order added */
	/* Shared by the publishing threads: */
	_Atomic int sorted[2];		/* by_addr, by_key: SORT_* */
	_Atomic size_t next_unit;	/* by_addr's units, then by_key's */
	_Atomic size_t n_refused;
	size_t count[2][2][1024];	/* by_addr, by_key: counts of each digit's values */
};

struct bt_bulk *bt_bulk_new(struct bt_table *t, size_t cap)
{
	struct bt_bulk *bk;
	void *m;

	if (cap == 0 || cap > SIZE_MAX / (4 * sizeof(uint64_t))) {
		return NULL;
	}
	bk = calloc(1, sizeof(*bk));
	if (bk == NULL) {
		return NULL;
	}
	bk->bytes = 4 * cap * sizeof(uint64_t);
	m = mmap(NULL, bk->bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		free(bk);
		return NULL;
	}
	bk->t = t;
	bk->cap = cap;
	bk->by_addr = m;
	bk->by_key = bk->by_addr + cap;
	bk->tmp_addr = bk->by_key + cap;
	bk->tmp_key = bk->tmp_addr + cap;
	bk->ordered = true;
	return bk;
}

int bt_bulk_add(struct bt_bulk *bk, struct bt_binding *nb)
{
	uint64_t e;

	if (bk->n == bk->cap || (uintptr_t)nb >> (PTR_BITS + 3) != 0) {
		return -ENOSPC;
	}
	if (bk->n != 0 && nb->addr <= bk->last_addr) {
		bk->ordered = false;
	}
	bk->last_addr = nb->addr;
	/* Whether the bulk links it into by_key is not told back: no fast replace for it. */
	nb->chunk->w->keyed[keyed_slot(nb->addr)] = NULL;
	nb->owner = nb->chunk->w->id;
	nb->key_hash = bt_key_hash(bk->t, &nb->key);
	cds_lfht_node_init(&nb->addr_node);
	cds_lfht_node_init(&nb->key_node);
	e = elem(addr_hash(nb->addr), nb);
	bk->by_addr[bk->n++] = e;
	bk->count[0][0][DIGIT(e, 0)]++;
	bk->count[0][1][DIGIT(e, 1)]++;
	if (nb->key.len != 0) {
		e = elem(nb->key_hash, nb);
		bk->by_key[bk->n_key++] = e;
		bk->count[1][0][DIGIT(e, 0)]++;
		bk->count[1][1][DIGIT(e, 1)]++;
	}
	return 0;
}

size_t bt_bulk_count(const struct bt_bulk *bk)
{
	return bk->n;
}

bool bt_bulk_parallel(const struct bt_bulk *bk)
{
	return bk->ordered;
}

/* Sort table @p which's elements unless another thread took it. */
static void bulk_sort(struct bt_bulk *bk, int which)
{
	int todo = SORT_TODO;

	if (atomic_compare_exchange_strong(&bk->sorted[which], &todo, SORT_RUNNING)) {
		if (which == 0) {
			sort_split(bk->by_addr, bk->tmp_addr, bk->n, bk->count[0]);
		} else {
			sort_split(bk->by_key, bk->tmp_key, bk->n_key, bk->count[1]);
		}
		atomic_store_explicit(&bk->sorted[which], SORT_DONE, memory_order_release);
	}
}

/* Where unit @p u of @p n sorted elements @p v starts: at u * BULK_UNIT, moved on past
 * elements of the same split-order key as the one before. */
static size_t unit_start(const uint64_t *v, size_t n, size_t u)
{
	size_t i = u * BULK_UNIT;

	if (i == 0) {
		return 0;
	}
	while (i < n && v[i] >> PTR_BITS == v[i - 1] >> PTR_BITS) {
		i++;
	}
	return i < n ? i : n;
}

static void insert_addr(struct bt_bulk *bk, size_t from, size_t to)
{
	struct bt_table *t = bk->t;

	for (size_t i = from; i < to; i++) {
		struct bt_binding *nb = elem_rec(bk->by_addr[i]);

		if (i + BULK_AHEAD < to) {
			__builtin_prefetch(elem_rec(bk->by_addr[i + BULK_AHEAD]), 1);
		}
		if (i + BULK_BUCKET_AHEAD < to) {
			const struct bt_binding *ahead = elem_rec(bk->by_addr[i + BULK_BUCKET_AHEAD]);

			prefetch_buckets(t->by_addr, t->buckets, addr_hash(ahead->addr));
		}
		if (cds_lfht_add_unique(t->by_addr, addr_hash(nb->addr), match_addr, &nb->addr,
					&nb->addr_node) == &nb->addr_node) {
			continue;
		}
		/* The address has a record. */
		if (bk->ordered) {
			/* by_key may be taking it right now: bt_bulk_end() takes it out. */
			bk->tmp_addr[atomic_fetch_add(&bk->n_refused, 1)] = bk->by_addr[i];
		} else {
			nb->key.len = 0;		/* not for by_key */
			bt_record_put(nb->chunk->w, nb);
			atomic_fetch_add(&bk->n_refused, 1);
		}
	}
}

static void insert_key(struct bt_bulk *bk, size_t from, size_t to)
{
	struct bt_table *t = bk->t;

	for (size_t i = from; i < to; i++) {
		struct bt_binding *nb = elem_rec(bk->by_key[i]), *cur;
		struct cds_lfht_node *node;

		if (i + BULK_AHEAD < to) {
			const struct bt_binding *ahead = elem_rec(bk->by_key[i + BULK_AHEAD]);

			/* The node and the hash (one line); the key's length only when
			 * by_addr may have refused the record (below). A key itself is read
			 * only when two hashes are equal. */
			__builtin_prefetch(ahead, 1);
			if (!bk->ordered) {
				__builtin_prefetch(&ahead->key, 0);
			}
		}
		if (i + BULK_BUCKET_AHEAD < to) {
			const struct bt_binding *ahead = elem_rec(bk->by_key[i + BULK_BUCKET_AHEAD]);

			prefetch_buckets(t->by_key, t->buckets, ahead->key_hash);
		}
		if (!bk->ordered && nb->key.len == 0) {
			continue;			/* refused by by_addr (not parallel) */
		}
		/* A key's latest binding wins, as in bt_publish_loaded(), but no node is ever
		 * taken out and put back: the other thread may be walking the same chain (at a
		 * unit boundary), and a node reused before a grace period could send its walk
		 * astray. Every record of one key is in this thread's unit, so the lookup and
		 * the replace below race with no other change of this key. */
		node = cds_lfht_add_unique(t->by_key, nb->key_hash, match_key, &nb->key,
					   &nb->key_node);
		if (node != &nb->key_node) {
			struct cds_lfht_iter iter;

			cur = caa_container_of(node, struct bt_binding, key_node);
			if (cur->start <= nb->start) {
				cds_lfht_lookup(t->by_key, nb->key_hash, match_key, &nb->key,
						&iter);
				(void)cds_lfht_replace(t->by_key, &iter, nb->key_hash, match_key,
						       &nb->key, &nb->key_node);
			}
		}
	}
}

void bt_bulk_publish(struct bt_bulk *bk, bool builder)
{
	size_t units_addr = (bk->n + BULK_UNIT - 1) / BULK_UNIT;
	size_t units = units_addr + (bk->n_key + BULK_UNIT - 1) / BULK_UNIT;
	size_t u;

	/* The builder sorts by_addr, and by_key unless a helper has begun it: both sorts at
	 * once when a helper is there, without waiting for one that is not. */
	if (builder) {
		bulk_sort(bk, 0);
	}
	bulk_sort(bk, 1);
	while ((u = atomic_fetch_add(&bk->next_unit, 1)) < units) {
		int which = u < units_addr ? 0 : 1;

		/* Another thread may still be sorting this table. */
		while (atomic_load_explicit(&bk->sorted[which], memory_order_acquire) !=
		       SORT_DONE) {
			caa_cpu_relax();
		}
		if (which == 0) {
			insert_addr(bk, unit_start(bk->by_addr, bk->n, u),
				    unit_start(bk->by_addr, bk->n, u + 1));
		} else {
			u -= units_addr;
			insert_key(bk, unit_start(bk->by_key, bk->n_key, u),
				   unit_start(bk->by_key, bk->n_key, u + 1));
		}
	}
}

size_t bt_bulk_end(struct bt_bulk *bk)
{
	size_t refused = atomic_load(&bk->n_refused);

	for (size_t i = 0; bk->ordered && i < refused; i++) {
		/* Refused by by_addr while by_key went on: never when the caller kept the
		 * contract (addresses distinct from any published). The record must not stay
		 * in by_key without being in by_addr; the binding it displaced there (one
		 * published before the bulk) has lost its by_key place. */
		struct bt_binding *nb = elem_rec(bk->tmp_addr[i]);
		struct cds_lfht_iter iter;

		if (lookup_key_hashed(bk->t, &nb->key, nb->key_hash, &iter) == nb) {
			(void)cds_lfht_del(bk->t->by_key, &nb->key_node);
		}
		nb->key.len = 0;
		bt_record_put(nb->chunk->w, nb);
	}
	munmap(bk->by_addr, bk->bytes);
	free(bk);
	return refused;
}

void bt_bulk_abort(struct bt_bulk *bk)
{
	for (size_t i = 0; i < bk->n; i++) {
		struct bt_binding *nb = elem_rec(bk->by_addr[i]);

		bt_record_put(nb->chunk->w, nb);
	}
	munmap(bk->by_addr, bk->bytes);
	free(bk);
}

size_t bt_publish_loaded_bulk(struct bt_table *t, struct bt_binding **recs, size_t n)
{
	struct bt_bulk *bk = n != 0 ? bt_bulk_new(t, n) : NULL;
	size_t refused = 0, i = 0;

	/* In the order given (the order the records were taken: their memory's), what each
	 * insert needs, and the two lists to sort. */
	for (; bk != NULL && i < n; i++) {
		if (bt_bulk_add(bk, recs[i]) != 0) {
			break;	/* an address beyond 47 bits: the rest one by one */
		}
	}
	if (bk != NULL) {
		bk->ordered = false;	/* one thread: by_key skips what by_addr refused */
		bt_bulk_publish(bk, true);
		refused = bt_bulk_end(bk);
	}
	/* No room to sort: one by one, as given. */
	for (; i < n; i++) {
		if (bt_publish_loaded(recs[i]->chunk->w, recs[i]) != 0) {
			bt_record_put(recs[i]->chunk->w, recs[i]);
			refused++;
		}
	}
	return refused;
}

int bt_remove(struct bt_writer *w, const struct bt_binding *cold)
{
	struct bt_binding *old = (struct bt_binding *)cold;	/* ours: we are its writer */

	if (cds_lfht_del(w->table->by_addr, &old->addr_node) != 0) {
		return -EAGAIN;		/* someone else replaced or removed it */
	}
	unlink_key(w->table, old);
	retire(w, old);
	return 0;
}

void bt_foreach(struct bt_table *t, bool (*cb)(const struct bt_binding *b, void *arg), void *arg)
{
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;

	/* Not cds_lfht_for_each_entry: its last step takes container_of(NULL), which UBSan
	 * rightly flags as pointer arithmetic on a null pointer. */
	cds_lfht_for_each(t->by_addr, &iter, node) {
		if (!cb(caa_container_of(node, struct bt_binding, addr_node), arg)) {
			return;
		}
	}
}

const char *bt_state_str(unsigned state)
{
	switch (state) {
	case BT_FREE: return "free";
	case BT_ACTIVE: return "active";
	case BT_EXPIRED: return "expired";
	case BT_RELEASED: return "released";
	case BT_ABANDONED: return "abandoned";
	case BT_RESET: return "reset";
	case BT_BACKUP: return "backup";
	case BT_OFFERED: return "offered";
	default: return "unknown";
	}
}
