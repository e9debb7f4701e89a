/*
 * bindings: the lease table, lock-free for readers (liburcu QSBR + rculfhash).
 *
 * Two hash tables index the same records: by address, and by client key. A record
 * (struct bt_binding) is immutable once published: a writer changes a binding by filling a
 * fresh record and replacing the old one in both tables (copy-on-write), then retires the old
 * record: it goes back to its writer's stock after a grace period (in batches: bt_writer_flush).
 * Readers therefore never see a half-written binding, only an old or a new one.
 *
 * Writers: each binding has exactly one writer, the worker that owns its client (see
 * ARCHITECTURE.md), so writers never race each other and take no lock. Each writer has its
 * own struct bt_writer: a preallocated stock of records, refilled by the call_rcu thread
 * through a lock-free stack (a batch of records at a time), so the hot path never calls
 * malloc.
 *
 * The tables are created at their final size (no automatic resize, which would allocate on
 * the caller's thread): the capacity comes from the configuration (dp_config_capacity()).
 *
 * Invariants:
 *  - at most one record per address is in by_addr; a FREE address has none;
 *  - at most one record per client key is in by_key: the client's latest binding;
 *  - a record in by_key is in by_addr too;
 *  - a record with an empty key (key.len 0: no client, failover state BACKUP) is in by_addr
 *    only; a lookup by an empty key finds nothing.
 * Whether a record is in by_key is never stored: it is looked up (the record a lookup of its
 * key returns is itself), so no writer ever touches a record another writer published.
 */
#pragma once

#define URCU_INLINE_SMALL_FUNCTIONS 1
#include <urcu/urcu-qsbr.h>
#include <urcu/rculfhash.h>
#include <urcu/lfstack.h>

#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dp_config.h"
#include "lease.h"	/* enum bt_state, BT_INFINITE */
#include "lw_copy.h"
#include "lw_attr.h"

struct bt_binding {
	struct cds_lfht_node addr_node;
	struct cds_lfht_node key_node;
	union {
		/** Retired alone: waiting out a grace period (call_rcu; only when its
		 *  retiring writer had no batch for it, bindings.c). */
		struct rcu_head rcu;
		/** Retired in a batch (the batch's chain, written by the retiring writer), or
		 *  free: in its writer's stock or on its way there. Readers never read it. */
		struct cds_lfs_node free_node;
	};
	uint64_t key_hash;		/**< bt_key_hash(&key), set by bt_publish(); on the
					 *   first line with the nodes: all a by_key insert
					 *   reads of the record */
	uint32_t addr;
	uint32_t scope;			/**< dp_scope.index when written */
	uint8_t state;			/**< enum bt_state */
	uint8_t owner;			/**< worker id of the writer */
	uint8_t under;			/**< OFFERED only: what the offer covers, so that an
					 *   untaken offer in a failover scope leaves the address
					 *   as it found it: 0 no binding, BT_BACKUP, the state of
					 *   the same client's earlier binding, or BT_FREE when it
					 *   was another client's ended lease (engine.c) */
	uint8_t acked;			/**< ACTIVE only: written by our ACK of a REQUEST of
					 *   this kind (engine.c req_kind()) whose xid is @c xid
					 *   ("Duplicate requests"); 0 for every other write.
					 *   Memory only */
	uint32_t circuit;		/**< OFFERED, ACTIVE: the relay circuit (giaddr + option
					 *   82 circuit id) the client came through, as its
					 *   flood-control hash (engine.c); 0 = none. Memory only */
	uint64_t start;			/**< when the current state began (unix seconds) */
	uint64_t ends;			/**< lease end; for OFFERED the hold end; for ABANDONED
					 *   the end of the decline hold */
	struct dp_client_key key;	/**< len 0: no client (BACKUP), not in by_key */
	uint8_t hw_len;			/**< htype + chaddr of the client, for failover */
	uint8_t hw[DP_HW_MAX];
	union {
		uint32_t supersedes;	/**< OFFERED only: the same client's live binding in
					 *   the scope that this offer replaces once it is ACKed
					 *   (one binding per client per scope, engine.c);
					 *   0 = none */
		uint32_t xid;		/**< ACTIVE with @c acked: the xid of the REQUEST that
					 *   ACK answered. Memory only */
	};
	struct bt_chunk *chunk;		/**< the chunk it lives in, set once by
					 *   bt_writer_grow(): its writer's stock is where it
					 *   returns, its client information is chunk->info[] */
	uint64_t seq;			/**< writer sequence number of the change that made it */
};

struct bt_table {
	struct cds_lfht *by_addr;
	struct cds_lfht *by_key;
	uint64_t capacity;		/**< most bindings it is sized for (its bucket limit) */
	unsigned long buckets;		/**< buckets of each table now (bt_table_reserve; its
					 *   atomic store is after the resize, so a worker's
					 *   relaxed read never exceeds what is allocated) */
	unsigned long max_buckets;
	/** Bucket arrays of by_addr and by_key (rculfhash's mmap layout, chosen explicitly
	 *  at creation: bucket i at [i], the array never moves), for bt_warm_key_*(). */
	const struct cds_lfht_node *addr_buckets, *key_buckets;
	/** Secret of bt_key_hash(): random per bt_table_new() (so per start), read-only after
	 *  it. Nobody outside the box can pick client keys that all hash to one worker (and
	 *  empty its pool share) or into one hash chain. */
	uint64_t seed;
};

/** Bytes of host name and circuit id a binding keeps inline in its bt_info_slot. */
#define BT_INFO_INLINE 26
/** bt_info_slot.host_len of a binding whose information is in a spill record. */
#define BT_INFO_SPILLED 0xff

/**
 * What a binding remembers of its client, packed (32 bytes instead of the 112 of a struct
 * dp_client_info): the vendor class and the policy name are interned in the writer's
 * bt_intern table (few distinct values across millions of clients), the host name and the
 * circuit id (per client) follow each other in @c bytes. When they do not fit, or the intern
 * table is full, the whole struct dp_client_info goes in a spill record: a record of the same
 * writer's stock, never published, whose pointer @c bytes holds (host_len BT_INFO_SPILLED).
 * All zero: nothing known. Written by bt_info_set() only, read by bt_info_get() only.
 */
struct bt_info_slot {
	uint16_t vendor;		/**< intern id of the vendor class; 0 = none */
	uint16_t policy;		/**< intern id of the policy name; 0 = none */
	uint8_t host_len;		/**< or BT_INFO_SPILLED */
	uint8_t circuit_len;
	uint8_t bytes[BT_INFO_INLINE];	/**< host name, then circuit id; or the spill record */
};

/** Distinct strings (vendor classes, policy names) one writer interns; beyond, spill. */
#define BT_INTERN_MAX 4095
#define BT_INTERN_LEN 32		/**< longest interned string */

struct bt_intern_entry {
	uint8_t len;
	uint8_t s[BT_INTERN_LEN];
};

/**
 * A writer's interned strings: append-only, entry 0 unused, ids 1..n. Written by the
 * writer's owner only (bt_info_set; the control thread while the store loads, before the
 * workers start); an entry is complete before any slot names it, and the slot is published
 * with its record (rculfhash's release), so readers on any thread read entries without
 * atomics. Entries are never changed nor freed before bt_writer_deinit(): a reader holding
 * any record of the writer may read them.
 */
struct bt_intern {
	struct bt_intern_entry *ent;	/**< [BT_INTERN_MAX + 1] */
	uint16_t *index;		/**< open addressing over ids, 0 = empty (owner only) */
	uint32_t n;			/**< ids in use */
};

/**
 * The records of one bt_writer_grow(), in one allocation: the chunk, rec[n], then slot[n]
 * (slot[i] belongs to rec[i]). An anonymous mapping (fresh pages from the kernel are zero and
 * not written), and only a binding that learns something of its client writes its slot, so
 * bindings without client information cost no memory for it (bench/bindings.sh).
 * Freed by bt_writer_deinit() only: records never leave their chunk.
 */
struct bt_chunk {
	struct bt_chunk *next;		/**< the writer's other chunks (control thread) */
	struct bt_writer *w;		/**< the writer whose stock the records return to */
	struct bt_info_slot *slot;	/**< n entries, right after rec[n] */
	size_t bytes;			/**< of the mapping (mmap) */
	struct bt_chunk *load_next;	/**< the store load's queue of chunks whose records
					 *   its walk takes in order (controlplane/persist.c) */
	uint32_t n;
	/** On a cache line (the chunk is mmap()ed): a record's hash nodes, key hash and
	 *  address share its first line, so a walk past it in either table, or a bulk insert,
	 *  reads one line (at the header's 40 bytes, key_node straddled two and the address
	 *  was in the second). */
	_Alignas(64) struct bt_binding rec[];
};

/**
 * A writer's private stock of records. Its records come in chunks the control thread
 * allocates as the stock runs low (bt_writer_grow), so memory follows the bindings in use.
 * While the store loads, the load's helper thread adds chunks too (controlplane/persist.c:
 * bt_chunk_new() beside the walk, bt_writer_add_chunk() under the load's lock).
 */
/** Slots of bt_writer.keyed: offers in flight on one worker, at different addresses. */
#define BT_KEYED_SLOTS 1024u

/** Records (spill records included) a writer collects for one home writer before it hands
 *  them to RCU as one batch (bindings.c "Retiring in batches"). */
#define BT_RETIRE_BATCH 128u
/** Batches a writer collects at once, one per home writer (slot: the home's id modulo
 *  this): records of another worker's chunks (an address that changed hands) go home in
 *  batches of their own. */
#define BT_RETIRE_OPEN 4u
/** Batches of a writer that may wait out a grace period at once; when all are out, the
 *  open batch grows until one comes back. At 360 k retires/s a worker and the RT call_rcu
 *  thread's 10 ms sleeps, about 30 batches of 128 are out. */
#define BT_RETIRE_DESC 256u

/**
 * A batch of retired records handed to RCU: one urcu_qsbr_call_rcu() for all of them. Filled
 * and handed over by the owner of the writer it is in; after the grace period the call_rcu
 * thread pushes the chain on @c home's returned stack, adds @c n to home's n_back and clears
 * @c busy last (release), after which the owner may fill it again (acquire).
 */
struct bt_retire_desc {
	struct rcu_head rcu;
	struct bt_writer *home;		/**< the writer whose records these are */
	struct cds_lfs_node *first;	/**< the chain, through the records' free_node */
	struct cds_lfs_node *last;
	uint32_t n;			/**< records in the chain */
	uint32_t busy;			/**< handed to RCU, not back yet */
	uint8_t pad[16];		/**< one descriptor a cache line's worth of bytes */
};

/** Records retired by a writer for one home writer, not yet handed to RCU (owner only). */
struct bt_retire_open {
	struct bt_writer *home;
	struct cds_lfs_node *first;	/**< the latest retired; linked through free_node */
	struct cds_lfs_node *last;	/**< the first retired: the chain's end */
	uint32_t n;
};

struct bt_writer {
	struct bt_table *table;
	struct bt_chunk *chunks;	/**< the records' memory (control thread only, or
					 *   one thread at a time: see above) */
	uint64_t n_records;		/**< records in chunks (same) */
	struct cds_lfs_node *stock;	/**< free records ready for use (LIFO, via free_node) */
	uint64_t n_taken;		/**< records taken minus put back: written by the owner,
					 *   read (relaxed) by the control thread */
	/** The call_rcu thread writes the two fields below once per batch of retired records
	 *  (bindings.c "Retiring in batches"; once per record that went alone), the owner
	 *  reads stock and n_taken once per record it takes: 64 bytes on each side keep them
	 *  off each other's cache lines whatever the struct's own alignment (it sits in a
	 *  worker that is rte_zmalloc()ed, or on a test's stack or heap). */
	uint8_t remote_pad0[64];
	uint64_t n_back;		/**< records retired and returned: atomic adds by the
					 *   call_rcu thread, relaxed reads by the control thread */
	struct cds_lfs_stack returned;	/**< filled by the call_rcu thread and bt_writer_grow */
	uint8_t remote_pad1[64];
	struct bt_intern intern;	/**< allocated by the first bt_writer_grow() */
	uint8_t id;
	/** Owner thread only (bt_bulk_add() clears entries before the workers start): the
	 *  record of this writer's that bt_publish*() last published at an address of this
	 *  slot (address modulo BT_KEYED_SLOTS), when that publish linked it into by_key; NULL
	 *  when it did not. A record found here for its address was linked in its current
	 *  life, so its by_key node is there or marked removed, and an ACK replaces it where
	 *  it is instead of walking by_key to it (bindings.c publish()). */
	struct bt_binding *keyed[BT_KEYED_SLOTS];
	/** Owner thread only: records this writer retired (bt_publish*(), bt_remove()) and
	 *  holds until bt_writer_flush() or a full batch hands them to RCU, by home writer. */
	struct bt_retire_open open[BT_RETIRE_OPEN];
	uint32_t n_held;		/**< records in open[] (owner only) */
	uint32_t desc_next;		/**< the descriptor the next batch takes (owner only) */
	uint64_t n_batches;		/**< batches handed to RCU (owner; tests, benchmarks) */
	/** Batches handed to RCU: the owner fills one, the call_rcu thread empties it. */
	struct bt_retire_desc desc[BT_RETIRE_DESC];
};

/**
 * Create empty tables for at most @p capacity bindings, with a random key hash seed
 * (getrandom; the TSC and the clock if that fails). They start small and grow only through
 * bt_table_reserve() (no automatic resize: that would allocate on a worker).
 * Control thread, before workers start. @return NULL on allocation failure.
 */
struct bt_table *bt_table_new(uint64_t capacity);

/**
 * Grow both tables to hold @p n bindings at two per bucket on average (never beyond the
 * capacity, never smaller). Readers and writers go on meanwhile (rculfhash resize); the
 * caller waits while the new buckets are linked in (about 100 ns each, once per doubling).
 * Control thread, registered, online; or, before the workers start, the store load's helper
 * (registered, online or not), one thread at a time.
 */
void bt_table_reserve(struct bt_table *t, uint64_t n);

/**
 * Free the tables and every record still in them. Call after all writers and readers have
 * stopped and after rcu_barrier(). NULL is a no-op.
 */
void bt_table_free(struct bt_table *t);

/**
 * Set up writer @p id with @p n_records records. Control thread, at start-up.
 * @return 0 or -ENOMEM.
 */
_mustcheck_
int bt_writer_init(struct bt_writer *w, struct bt_table *t, uint8_t id, uint32_t n_records);

/**
 * Give writer @p w @p n more records (one allocation, owned by the writer until
 * bt_writer_deinit). They reach its stock at its next refill, lock-free. Control thread
 * (or any one thread at a time; never the owner's own hot path: it allocates).
 * @return 0 or -ENOMEM.
 */
_mustcheck_
int bt_writer_grow(struct bt_writer *w, uint32_t n);

/**
 * bt_writer_grow() in three steps, so that a second thread can take the costly ones (mapping
 * and touching @p n records' memory: the page faults; pushing them) while the writer's thread
 * goes on: bt_chunk_new() touches nothing of @p w (any thread, any time);
 * bt_writer_add_chunk() makes the chunk the writer's (its list and record count: the thread
 * rules of bt_writer_grow(), a few stores); bt_chunk_release() then puts its records on the
 * writer's lock-free stack (any thread, beside the owner's refills and other releases).
 * bt_chunk_free() drops a chunk never added.
 * @return the chunk, or NULL (no memory).
 */
struct bt_chunk *bt_chunk_new(struct bt_writer *w, uint32_t n);

/** @return 0, or -ENOMEM (the writer's intern table: @p c is still the caller's). */
_mustcheck_
int bt_writer_add_chunk(struct bt_writer *w, struct bt_chunk *c);

void bt_chunk_release(struct bt_chunk *c);

/**
 * The store load's way round the stock: records taken straight from a chunk, in memory order,
 * instead of pushed on the writer's lock-free stack (by the helper that made the chunk) and
 * popped back (by the walk): a miss and an atomic per record less at each end.
 * bt_chunk_take() gives record @p i of @p c as bt_record_get() gives one from the stock
 * (counted as taken); bt_chunk_release_from() puts records @p from to the end in the stock,
 * as bt_chunk_release() does all of them. @p c was made the writer's (bt_writer_add_chunk),
 * and each of its records goes one way only, once: taken, or released. The writer's owner
 * thread (the loading thread while the store loads; release: any thread, as above).
 */
struct bt_binding *bt_chunk_take(struct bt_chunk *c, uint32_t i);

void bt_chunk_release_from(struct bt_chunk *c, uint32_t from);

void bt_chunk_free(struct bt_chunk *c);

/** Records of the writer not in use and not in a grace period (in its stock or on their
 *  way there). A record retired but held for a batch (bt_writer_flush) counts as in use
 *  until its batch comes back. Control thread: a recent value. */
static inline uint64_t bt_writer_free(const struct bt_writer *w)
{
	uint64_t used = __atomic_load_n(&w->n_taken, __ATOMIC_RELAXED) -
			__atomic_load_n(&w->n_back, __ATOMIC_RELAXED);

	return w->n_records > used ? w->n_records - used : 0;
}

/**
 * Hand every record @p w holds retired (bt_writer_held()) to RCU, one batch (one
 * urcu_qsbr_call_rcu()) per home writer. They reach their home's stock after a grace period
 * and the call_rcu thread's callback; bt_writer_free() counts them from then on. Owner
 * thread of @p w (registered with QSBR, online or offline; not in an RCU callback). Call it
 * when the thread goes idle, at least every few milliseconds while it holds records
 * (worker.c), and before it stops (before the urcu_qsbr_barrier() that precedes
 * bt_writer_deinit()); tests call it before the barrier after which they expect records
 * back.
 * @return the records still held: 0, unless all BT_RETIRE_DESC batches of @p w are still
 * out (then call it again later).
 */
uint32_t bt_writer_flush(struct bt_writer *w);

/** Records @p w retired and holds, not yet handed to RCU (bt_writer_flush()). Owner thread. */
static inline uint32_t bt_writer_held(const struct bt_writer *w)
{
	return w->n_held;
}

/** Free the writer's records. After bt_table_free() and rcu_barrier(): no batch of @p w is
 *  out; records still held (never flushed) are simply freed with their chunks. */
void bt_writer_deinit(struct bt_writer *w);

/** Hash of a client key under the table's seed; also used to steer clients to their owner
 *  worker. Any thread. */
uint64_t bt_key_hash(const struct bt_table *t, const struct dp_client_key *k);

/** Owner worker of a client key among @p n_workers (changes with the seed, so per start). */
static inline uint32_t bt_key_owner(const struct bt_table *t, const struct dp_client_key *k,
				    uint32_t n_workers)
{
	return (uint32_t)(bt_key_hash(t, k) % n_workers);
}

/**
 * A burst's client lookups, warmed before the engine makes them one by one (DPDK's bulk
 * lookups with a prefetch pipeline): the caller runs each step over the whole burst before
 * the next, so that the cache misses of the burst's lookups overlap instead of following one
 * another. Hints only: nothing is changed, and a wrong or stale guess (a key the engine will
 * not look up, a table resized meanwhile) costs a fetch for nothing.
 *
 *   1. bt_warm_key_bucket(): the by_key bucket of @p hash (bt_key_hash() of the key).
 *   2. bt_warm_key_chain(): that bucket's first node, and the line of its record that holds
 *      the key a lookup compares.
 *   3. bt_warm_key_found(): the lookup itself, now from lines at hand, then what a DISCOVER
 *      of that client reads next: the record's by_addr bucket and its last line, and the
 *      node after it in each chain (where a publish that replaces it walks to). The record
 *      found is a hint for the engine's own lookup of the key (bt_lookup_key_hinted()),
 *      which then walks nothing again.
 *
 * Worker thread, RCU read side (online) for step 3; steps 1 and 2 read only bucket nodes,
 * which live as long as the table.
 */
void bt_warm_key_bucket(const struct bt_table *t, uint64_t hash);
/** Step 2 of bt_warm_key_bucket(). */
void bt_warm_key_chain(const struct bt_table *t, uint64_t hash);
/**
 * Step 3 of bt_warm_key_bucket(): @p hash is bt_key_hash(@p t, @p k).
 * @return the record by_key holds for @p k now, or NULL: a hint for bt_lookup_key_hinted(),
 * valid (as any record found) until the caller's next quiescent state.
 */
const struct bt_binding *bt_warm_key_found(struct bt_table *t, const struct dp_client_key *k,
					   uint64_t hash);

/**
 * The same three steps for a burst's address lookups (a REQUEST's requested address or
 * ciaddr): by_addr's bucket of @p addr, its first node, then the lookup, which also fetches
 * what an ACK of the record reads next (its other lines, the node after it in each chain, its
 * by_key bucket). Hints only, as above; same thread and RCU rules.
 * @return (step 3) the record of @p addr now, or NULL: a hint for bt_lookup_addr_hinted(),
 * valid until the caller's next quiescent state.
 */
void bt_warm_addr_bucket(const struct bt_table *t, uint32_t addr);
/** Step 2 of bt_warm_addr_bucket(). */
void bt_warm_addr_chain(const struct bt_table *t, uint32_t addr);
/** Step 3 of bt_warm_addr_bucket(). */
const struct bt_binding *bt_warm_addr_found(struct bt_table *t, uint32_t addr);

/**
 * Binding of an address. Call inside an RCU read-side section (QSBR: an online registered
 * thread); the record stays valid until the caller's next quiescent state.
 * @return the record or NULL when the address has none (FREE).
 */
const struct bt_binding *bt_lookup_addr(struct bt_table *t, uint32_t addr);

/**
 * Where bt_lookup_addr_at() found an address's record: its place in by_addr, so that a
 * bt_publish_found() in the same RCU read-side section replaces it without a second walk. Valid
 * until the caller's next quiescent state; a copy on the caller's stack.
 */
struct bt_addr_pos {
	struct cds_lfht_iter iter;
};

/** bt_lookup_addr(), keeping the place found in @p pos for bt_publish_found(). */
const struct bt_binding *bt_lookup_addr_at(struct bt_table *t, uint32_t addr,
					   struct bt_addr_pos *pos);

/** Latest binding of a client. Same rules as bt_lookup_addr(). An empty key (len 0) is no
 *  client: always NULL. */
const struct bt_binding *bt_lookup_key(struct bt_table *t, const struct dp_client_key *k);

/**
 * Where bt_lookup_key_at() found a key's node in by_key (or that it found none), and the
 * key's bt_key_hash(), for bt_publish_found(). Same validity as struct bt_addr_pos.
 */
struct bt_key_pos {
	uint64_t hash;
	struct cds_lfht_iter iter;
};

/** bt_lookup_key(), keeping the key's hash and the place found in @p pos for
 *  bt_publish_found(). */
const struct bt_binding *bt_lookup_key_at(struct bt_table *t, const struct dp_client_key *k,
					  struct bt_key_pos *pos);

/**
 * bt_lookup_key_at() answered from @p hint, a record an earlier lookup by key in this
 * read-side section found (bt_warm_key_found(); NULL: none; never a record found by address
 * only, whose key node may never have been linked): when the hint has key @p k and is still
 * in by_key (not marked removed: nothing replaced or removed it since, on any thread), it is
 * what a lookup finds now, and @p pos is filled from it (its key_hash, its node) without a
 * hash or a walk. Otherwise (no hint, another key, or changed since) a lookup as
 * bt_lookup_key_at(). So a hint is never wrong, only useless: a key published, replaced or
 * unlinked after the hint was taken (a burst holding two frames of one client), or a table
 * resized meanwhile (iterators survive a resize in rculfhash), gives the fresh answer. Same
 * thread and RCU rules as bt_lookup_key().
 */
const struct bt_binding *bt_lookup_key_hinted(struct bt_table *t, const struct dp_client_key *k,
					      const struct bt_binding *hint,
					      struct bt_key_pos *pos);

/**
 * The place in by_addr of record @p b, which a lookup in this read-side section returned
 * (by key or by address; never a record not yet published), if it is still there: it is then
 * the binding of b->addr (one record an address), and @p pos is what bt_lookup_addr_at(
 * b->addr) would give, for bt_publish_found(), without the walk. Same thread and RCU rules.
 * @return false when @p b has left by_addr (replaced or removed since): look the address up.
 */
bool bt_addr_pos_of(const struct bt_binding *b, struct bt_addr_pos *pos);

/**
 * bt_lookup_addr_at() answered from @p hint, a record an earlier lookup (by address, as
 * bt_warm_addr_found(), or by key) in this read-side section returned (NULL: none): when it
 * is @p addr's and still in by_addr (bt_addr_pos_of()), without a walk; otherwise a lookup.
 * Same thread and RCU rules.
 */
const struct bt_binding *bt_lookup_addr_hinted(struct bt_table *t, uint32_t addr,
					       const struct bt_binding *hint,
					       struct bt_addr_pos *pos);

/**
 * Take a fresh record from the writer's stock: scalar fields and the key length zeroed, key
 * bytes not cleared (fill the key whole), no client information (bt_info_get() lengths 0; set it
 * with bt_info_set()). Owner thread only.
 * @return NULL when the stock is empty (records retired but still in a grace period).
 */
struct bt_binding *bt_record_get(struct bt_writer *w);

/**
 * What binding @p b remembers of its client (issue 14 item 6), decoded into @p out (all
 * lengths 0 and every byte zero when nothing is known; unused bytes zero). @p b must be a
 * record of a chunk (from bt_record_get() or a lookup), never a copy of one. The information
 * is as immutable as the record once published and read under the same RCU rules: its slot,
 * its spill record and the writer's interned strings stay valid while the record does (a
 * spill record is retired with its binding, after the same grace period). Any thread.
 */
void bt_info_get(const struct bt_binding *b, struct dp_client_info *out);

/**
 * Give record @p b (between bt_record_get() and its publication) the client information
 * @p in (its lengths within their arrays; bytes past them are not kept). bt_record_get()
 * leaves a record with none, so an empty @p in (or NULL) writes
 * nothing: a binding that knows nothing of its client never touches its slot's page. When
 * @p in does not fit the slot (struct bt_info_slot) a spill record is taken from the stock of
 * @p b's writer; it returns there with @p b (retired after a grace period, or with
 * bt_record_put()). Owner thread of @p b's writer (or the control thread while loading the
 * store); never allocates.
 * @return 0, or -ENOBUFS when a spill record was needed and the stock is empty (nothing
 * written: @p b knows nothing of its client).
 */
_mustcheck_
int bt_info_set(struct bt_binding *b, const struct dp_client_info *in);

/** Give back a record that was never published (with its spill record if it has one).
 *  Owner thread only. */
void bt_record_put(struct bt_writer *w, struct bt_binding *b);

/**
 * Publish @p nb (from bt_record_get(), fields filled) as the binding of nb->addr and of
 * nb->key, replacing @p old: the record of that address the caller looked up, or NULL when
 * there was none. Any other record of the same key loses its place in by_key (it stays in
 * by_addr). A record with an empty key goes in by_addr only. The replaced record is retired
 * after a grace period.
 *
 * The address change is a compare-and-swap: when the address's record is no longer @p old
 * (another writer changed it since the lookup), nothing is published and -EAGAIN is
 * returned; the caller still owns @p nb (give it back with bt_record_put()). With the
 * ownership rules of ARCHITECTURE.md that never happens; this keeps the tables whole if it
 * ever does. The replaced record (of any writer's chunks) is held by @p w until its batch is
 * handed to RCU (full, or bt_writer_flush()), then returns to its own writer's stock after
 * the grace period. Writer thread (the owner of @p w), RCU read side (online).
 * @return 0 or -EAGAIN.
 */
_mustcheck_
int bt_publish(struct bt_writer *w, const struct bt_binding *old, struct bt_binding *nb);

/**
 * bt_publish() where @p old came from bt_lookup_addr_at() with @p pos in this read-side
 * section: the replacement starts from that place instead of walking by_addr again. The same
 * compare-and-swap: if another writer replaced or removed @p old since, rculfhash refuses the
 * replace (the old node is marked removed) and -EAGAIN is returned. When the caller also
 * looked nb->key up with bt_lookup_key_at() (@p kpos; NULL: looked up here) in this
 * read-side section and wrote nothing to by_key since (a key has one writer: the caller's
 * worker), neither the key's hash nor its place in by_key is computed again. Same thread and
 * RCU rules.
 */
_mustcheck_
int bt_publish_found(struct bt_writer *w, const struct bt_binding *old, struct bt_addr_pos *pos,
		     const struct bt_key_pos *kpos, struct bt_binding *nb);

/**
 * Publish @p nb (from bt_record_get(), fields filled) while loading the store: nb->addr has
 * no record yet, and nb takes its key's place in by_key only from a record that started no
 * later (so the bindings may come in any order: a client's latest one wins). Writer thread
 * or, before the workers start, the control thread; online.
 * @return 0 or -EAGAIN (the address has a record: nothing done, the caller owns @p nb).
 */
_mustcheck_
int bt_publish_loaded(struct bt_writer *w, struct bt_binding *nb);

/**
 * bt_publish_loaded() for @p n records at once (each from bt_record_get() of its own writer,
 * fields filled, addresses distinct from any published), inserted in the order of the
 * tables' split-ordered lists (sorted by bit-reversed hash, radix): each insert then walks
 * nodes the previous ones touched instead of missing the cache and the TLB at every node,
 * what a store load in address order does. A client's latest binding (by start) takes its
 * by_key place whatever the order. Control thread, before the workers start (nothing reads
 * the tables); online. Needs 24 bytes per record of scratch (an anonymous mapping, returned
 * before it returns); without it, publishes one by one. @p recs itself is not changed.
 * @return how many were refused (an address that had a record: given back to its writer).
 */
size_t bt_publish_loaded_bulk(struct bt_table *t, struct bt_binding **recs, size_t n);

/**
 * A bulk load built record by record (bt_bulk_add(), while the store is walked, each record
 * still in cache) and published by bt_bulk_publish(), on one thread or on several at once:
 * each table's elements are sorted into split order (what bt_publish_loaded_bulk() does on
 * one thread), then the inserts are shared out in units of a few thousand records, so a
 * thread that gets less CPU does less of them. Then bt_bulk_end(). Before the workers start
 * (nothing reads the tables); every thread that publishes is online (RCU). Memory: 32 bytes
 * per record of @p cap (an anonymous mapping, pages touched as records are added and
 * sorted; returned by bt_bulk_end()/bt_bulk_abort()).
 *
 * The records (each from bt_record_get() of its own writer, fields filled, addresses
 * distinct from any published) belong to the bulk from bt_bulk_add() on.
 */
struct bt_bulk;

/** A bulk of at most @p cap records for table @p t. @return NULL when @p cap is 0 or no
 *  memory: publish one by one (bt_publish_loaded()). */
struct bt_bulk *bt_bulk_new(struct bt_table *t, size_t cap);

/**
 * Add @p nb (its hashes computed and its hash nodes set up here). The thread that builds the
 * bulk; no other thread touches it until bt_bulk_publish().
 * @return 0, or -ENOSPC (full, or a record address beyond 47 bits): @p nb is still the
 * caller's, publish it one by one.
 */
_mustcheck_
int bt_bulk_add(struct bt_bulk *bk, struct bt_binding *nb);

/** Records added. */
size_t bt_bulk_count(const struct bt_bulk *bk);

/**
 * Whether more than one thread may call bt_bulk_publish(): the addresses were added in
 * strictly increasing order (so distinct among themselves: what a store walk gives), and
 * by_addr and by_key can then be filled at the same time. Otherwise one thread publishes
 * (by_addr first; by_key then skips the records whose address by_addr refused).
 */
bool bt_bulk_parallel(const struct bt_bulk *bk);

/**
 * Insert records until none is left to take: every one in by_addr, every one with a key in
 * by_key, a key's latest (by start) winning. @p builder: true for the thread that built the
 * bulk, which sorts by_addr's elements first, then by_key's unless a helper (false) has
 * begun that sort already; a helper sorts by_key's if it is still to do, then takes units
 * of inserts beside the builder (by_addr's first). So the builder never waits for a helper
 * that gets no CPU, beyond the step the helper has in hand: one unit (BULK_UNIT records) of
 * inserts, or by_key's sort (two passes over 8 bytes a record: about 0.1 s at 10 M), which
 * it waits for only once it has done every by_addr insert left. Returns when no unit is
 * left to take; other threads may still be inserting theirs.
 */
void bt_bulk_publish(struct bt_bulk *bk, bool builder);

/**
 * After every bt_bulk_publish() has returned (the caller joined the threads): give back the
 * records whose address already had one (none when the contract above is kept; in parallel,
 * such a record is taken out of by_key again, and a record published before the bulk that it
 * displaced there has lost its by_key place) and free the bulk. The thread that built it.
 * @return how many records were refused.
 */
size_t bt_bulk_end(struct bt_bulk *bk);

/** Give every record added back to its writer (nothing was published) and free the bulk. */
void bt_bulk_abort(struct bt_bulk *bk);

/**
 * Remove the binding of an address (it becomes FREE), if @p old is still its record. The
 * record is retired as by bt_publish(): held by @p w for a batch (bt_writer_flush()).
 * Writer thread (the owner of @p w), online. @return 0 or -EAGAIN (changed by someone else: nothing done).
 */
_mustcheck_
int bt_remove(struct bt_writer *w, const struct bt_binding *old);

/**
 * Iterate over all bindings (control plane: dumps, expiry scans). Online, read-side.
 * The callback returns false to stop.
 */
void bt_foreach(struct bt_table *t, bool (*cb)(const struct bt_binding *b, void *arg), void *arg);

/** Name of an enum bt_state ("active", ...). */
const char *bt_state_str(unsigned state);

/** @return true when key @p a equals key @p b (type, length and bytes). Inline: the engine
 *  compares keys several times a request. */
static inline bool bt_key_equal(const struct dp_client_key *a, const struct dp_client_key *b)
{
	return a->type == b->type && a->len == b->len && lw_equal_short(a->data, b->data, a->len);
}
