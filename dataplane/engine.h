/*
 * engine: the DHCP server's decisions (RFC 2131 §4.3, RFC 1534 for BOOTP), on plain structs.
 *
 * Input: a parsed frame and message, the interface it came in on, and the time. Output: a
 * decision (what to answer, to whom, with which lease) and, when the decision changes a
 * binding, the change posted to the commit sink with its sequence number. The engine never
 * touches DPDK; dp_reply_build() turns a decision into a frame in any buffer.
 *
 * Threads: one struct dp_engine per worker, used only by that worker, inside its QSBR
 * read-side (online). The engine writes only bindings its worker owns: bindings of clients
 * steered to it (bt_key_owner()) and addresses of its pool slices (pool.h), or lent to it
 * from another worker's slice (DP_CMD_LEND, engine.c).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "bindings.h"
#include "commit.h"
#include "counters.h"
#include "dhcp4_wire.h"
#include "dp_config.h"
#include "flood.h"
#include "fo_view.h"
#include "frame.h"
#include "lw_attr.h"
#include "pool.h"

/** What one worker asks of another (through the other's command ring). */
enum dp_cmd_type {
	DP_CMD_RECLAIM = 1,		/**< reclaim the binding of addr if it has ended */
	DP_CMD_REQUEUE = 2,		/**< addr (of scope) is free again: queue it in your slice */
	DP_CMD_RELEASE_ENDED = 3,	/**< free your ended binding of addr: my slice needs it */
	DP_CMD_LEND = 4,		/**< lend free addresses of scope to worker addr */
	DP_CMD_LENT = 5,		/**< addr (of scope) is lent to you: allocate it */
	DP_CMD_LEND_DONE = 6,		/**< answer to DP_CMD_LEND: that is all for now */
	DP_CMD_END_MOVED = 7,		/**< the holder of your binding of addr, an address now
					 *   reserved for another client, was NAKed: end it */
	DP_CMD_UNCOUNT = 8,		/**< I replaced a record of yours (a take): count it
					 *   out of your flood counts (dp_engine_uncount();
					 *   scope | DP_UNCOUNT_OFFERED, addr: its circuit) */
};

/** DP_CMD_UNCOUNT: the record taken was an offer (else an ACTIVE binding of a circuit). */
#define DP_UNCOUNT_OFFERED 0x800000u

/** Send a command to another worker. @return 0, or -ENOBUFS (not sent: ring full). */
typedef int (*dp_tell_fn)(void *ctx, uint32_t worker, enum dp_cmd_type type, uint32_t scope,
			  uint32_t addr);

/**
 * An address freed by this worker that another worker's slice owns. It is handed over
 * (DP_CMD_REQUEUE) only once the change that freed it is durable: the new owner's next
 * change to the address comes through another ring, and the committer orders rings by
 * nothing, so a FREE still in our ring could otherwise be written after it.
 */
struct dp_handoff {
	uint64_t seq;			/**< our change that freed the address */
	uint32_t worker, scope, addr;
	uint8_t type;			/**< DP_CMD_REQUEUE, or DP_CMD_LENT / DP_CMD_LEND_DONE
					 *   (borrowing, pool.h) */
};

#define DP_HANDOFF_MAX 4096

struct dp_engine {
	uint32_t id;			/**< worker id */
	uint32_t n_workers;
	struct bt_table *table;
	struct bt_writer writer;
	struct dp_pools *pools;		/**< of the snapshot in force (set by the worker) */
	struct dp_commit commit;
	struct dp_counters *ctr;
	uint64_t seq;			/**< last change sequence posted */
	dp_tell_fn tell;		/**< may be NULL (single worker, tests) */
	void *tell_ctx;
	/** dp_runtime.fo (RCU pointers, [DP_MAX_RELATIONSHIPS]); NULL when there is none:
	 *  then failover scopes answer nobody. */
	struct dp_fo_view *const *fo;
	struct dp_handoff handoff[DP_HANDOFF_MAX];	/**< FIFO by seq */
	uint32_t ho_head, ho_count;
	/**
	 * dp_runtime.requeue_lost (may be NULL: tests, single worker): bumped when a freed
	 * address cannot be handed over (hand-off FIFO full, counted as handoff_overflow), so
	 * the control thread's requeue scan, which waits for durability itself, finds the
	 * address again (cp_requeue_lost). Relaxed atomic, shared by all workers.
	 */
	_Atomic uint64_t *requeue_lost;
	/** dp_runtime.longest_set_s (may be NULL: tests of the engine alone): raised to the
	 *  length of every lease an operator's or the partner's op writes (dp_engine_apply_op),
	 *  which the configured lease times do not bound. Relaxed atomic max, all workers. */
	_Atomic uint64_t *longest_set;
	/** Flood-control state (flood.h, engine.c "Flood control"); zeroed at start. */
	struct dp_flood flood;
};

/**
 * An operator's change to a lease (control socket), executed by the client's owner worker so
 * that every binding keeps a single writer. Filled by the control thread, which keeps it
 * alive until `done`; the worker writes only the result fields.
 */
enum dp_op_kind {
	/**
	 * Bind addr to key (lease4-add / lease4-update), on the key's owner worker. A record
	 * another worker wrote is -EEXIST, or with `take` is replaced in one step once its
	 * writer's changes to it are durable (-EAGAIN before that, or when the writer changed
	 * it meanwhile: try again).
	 */
	DP_OP_SET = 1,
	DP_OP_DEL = 2,		/**< free every address in addrs[] whose binding we own */
	/**
	 * Make the binding of addr exactly {state, key, hw, start, ends}: the failover partner's
	 * binding update (from_peer), or the control thread's own failover change (an acked
	 * EXPIRED/RELEASED back to FREE, FREE given to the secondary as BACKUP). The control
	 * thread has already decided with fo_lease; the worker only checks ownership. state FREE
	 * removes the binding (the address is queued again, or handed to its slice owner once
	 * durable); BACKUP writes a record with an empty key (never in by_key), queued in its
	 * slice when this worker owns it (else handed over like FREE: the slice owner may take a
	 * BACKUP record whoever wrote it). It runs on the writer of the current record, or, when
	 * there is none, on the key's owner (keyed states) or the address's slice owner (FREE,
	 * BACKUP); anywhere else it fails with -EAGAIN and changes nothing. With `take` (a
	 * keyed or BACKUP state), the worker that would write the binding (the key's owner, or
	 * the slice owner for BACKUP) replaces a record another worker wrote, in one
	 * compare-and-swap, once that writer's changes to it are durable (-EBUSY before that:
	 * hand it over again later): the store goes from the old binding straight to the new
	 * one. A take anywhere else is -EAGAIN. The change is posted with DP_CHANGE_PEER when
	 * from_peer, DP_CHANGE_FO otherwise. -EINVAL: address in no scope, state not 1..7, or
	 * a keyed state with an empty key.
	 */
	DP_OP_PEER = 3,
};

struct dp_lease_op {
	enum dp_op_kind kind;
	uint32_t addr;			/**< SET */
	struct dp_client_key key;	/**< SET */
	uint8_t state;			/**< SET: enum bt_state, never OFFERED or FREE */
	uint64_t start, ends;		/**< SET */
	bool add;			/**< SET: refuse (-EEXIST) if the address or the client is
					 *   taken; otherwise update: overwrite */
	bool take;			/**< SET, PEER: take over a record another worker
					 *   wrote, in one compare-and-swap (the control
					 *   thread's lease4-add/-update, failover's move of a
					 *   binding between writers: no window in which the
					 *   address is free for a third writer or, after a
					 *   crash, in the store) */
	bool may_create;		/**< SET update: create when there is no binding */
	uint8_t hw_len;			/**< SET, PEER: htype + chaddr (0 = unknown) */
	uint8_t hw[DP_HW_MAX];
	bool from_peer;			/**< PEER: the partner's update (not sent back) */
	/** PEER: what the partner's update says of the client (its client-request-options);
	 *  each field it has replaces ours, the others (the policy) stay as the same
	 *  client's binding had them. All lengths 0: nothing said. */
	struct dp_client_info info;
	/** PEER: the potential expiration time of the partner's update (0: none). The change
	 *  written carries it when higher than the address's dp_pool.peer_pet, so that it is
	 *  durable before the control thread raises peer_pet and acknowledges the update. */
	uint32_t pet;
	/**
	 * PEER: the binding the control thread decided against. When @c expect is set and the
	 * address's record is no longer that one (none, or another state, writer, sequence or
	 * start), nothing is done and the result is -ESTALE: the control thread decides again.
	 */
	bool expect;
	bool expect_none;		/**< no record was there */
	uint8_t expect_state, expect_owner;
	uint64_t expect_seq, expect_start;
	/**
	 * PEER take over a record with no sequence of its own (seq 0: an offer, or what an
	 * untaken offer restored, never posted): the old writer's changes up to this sequence
	 * must be durable, taken by the control thread from the writer's posted sequence after
	 * it saw the record (every change of that writer to the address came before). 0: all
	 * the writer has posted, which a busy writer may never let become durable at once.
	 */
	uint64_t settle_seq;
	const uint32_t *addrs;		/**< DEL */
	uint32_t n_addrs;
	/* written by the worker */
	int result;			/**< 0, -EEXIST, -ENOENT, -EINVAL, -ENOBUFS, -EAGAIN,
					 *   -ESTALE, -EBUSY (PEER take: not yet) */
	uint32_t count;			/**< DEL: bindings freed */
	uint64_t seq;			/**< newest change posted: answer once durable */
	_Atomic int done;
};

/** What to send back. */
struct dp_decision {
	uint8_t reply;			/**< enum dhcp4_type to send; DHCP4_BOOTP = BOOTREPLY;
					 *   0xff = nothing */
	bool commit;			/**< a change was posted: park until seq is durable */
	/** An OFFER of an address new to the client in a scope with conflict detection
	 *  (dp_scope.conflict_attempts): probe it before the OFFER goes out (probe.h). */
	bool probe;
	uint64_t seq;
	uint64_t key_hash;		/**< commit: bt_key_hash() of the client's key */
	uint32_t yiaddr, ciaddr;
	uint32_t server_id;		/**< our address on the ingress interface */
	uint32_t lease, t1, t2;		/**< seconds; lease 0xffffffff = infinite */
	const struct dp_scope *scope;	/**< options and mask come from here; may be NULL
					 *   for NAK */
	const struct dp_reservation *res;
	const char *message;		/**< option 56 for NAK, or NULL */
	const struct dp_policy *policy;	/**< the request's policy (policy.h), or NULL */
	const struct dp_optlist *server_opts;	/**< server-level options, or NULL */
	uint64_t cfg_gen;		/**< dp_config.generation of the snapshot the lists
					 *   above belong to (dp_rcache) */
};

#define DP_NO_REPLY 0xff

/** The ingress context of one request. */
struct dp_ingress {
	const struct dp_config *cfg;	/**< snapshot in force (RCU-protected) */
	const struct dp_frame *frame;
	const struct dhcp4_msg *msg;
	int iface;			/**< index in cfg->ifaces, -1 when none */
	uint64_t now;			/**< unix seconds */
	/**
	 * The time other clients' lease ends are judged by (is their address free?):
	 * dp_runtime_reclaim_now(), later than @p now for a while after a forward step of
	 * the wall clock (worker.h). 0, or anything not below @p now: @p now.
	 */
	uint64_t ended_by;
	/** A DISCOVER decided again after a conflict-detection probe (probe.c): already
	 *  counted as received. */
	bool again;
	/**
	 * Hints from the worker's warm pass, earlier in this RCU read-side section (NULL:
	 * none, or no warm pass). @c key_hint: the record by_key held for a DISCOVER's client
	 * (bt_warm_key_found()), where the engine's by_key lookup of the client starts
	 * (bt_lookup_key_hinted()). @c addr_hint: the record by_addr held for a REQUEST's
	 * requested address or ciaddr (bt_warm_addr_found()), where its by_addr lookup starts
	 * (bt_lookup_addr_hinted()). Both are checked to be still the key's or address's
	 * record, so a stale one only costs the lookup.
	 */
	const struct bt_binding *key_hint;
	const struct bt_binding *addr_hint;
};

/**
 * Derive the client key (option 61, else htype + chaddr).
 * @return 0, or -EINVAL when option 61 is empty or longer than DP_KEY_MAX.
 */
_mustcheck_
int dp_client_key_of(const struct dhcp4_msg *m, struct dp_client_key *k);

/**
 * The key a client's bindings are filed under: option 61, else htype + chaddr; but when the
 * client matches a reservation (by either), the reservation's key, so that a PXE ROM and the
 * OS behind one NIC are one client. Workers steer by it: the client's owner is
 * bt_key_owner() of this key.
 * @return 0, or -EINVAL (option 61 empty or longer than DP_KEY_MAX).
 */
_mustcheck_
int dp_engine_client_key(const struct dp_config *cfg, const struct dhcp4_msg *m, int iface,
			 struct dp_client_key *k);

/**
 * Decide the answer to one request and apply its binding change.
 * @return true when a reply is to be sent (d filled); false when the request is dropped or
 *         left unanswered (the reason has been counted).
 */
bool dp_engine_handle(struct dp_engine *e, const struct dp_ingress *in,
		      struct dp_decision *d);

/**
 * A conflict-detection probe found @p addr in use (probe.h): abandon it as a DECLINE does,
 * for its scope's decline-hold, filed under the client of the DISCOVER @p in (which must be
 * the one the probe was for: its OFFERED hold of @p addr, written by this worker). Posted.
 * Worker thread, online.
 * @return true when the address is now abandoned; false when the hold is no longer the
 *         client's (nothing written) or the write failed (counted).
 */
bool dp_engine_conflict(struct dp_engine *e, const struct dp_ingress *in, uint32_t addr);

/**
 * Reclaim @p addr if its binding (owned by this worker) has ended by @p now: an expired
 * lease becomes EXPIRED, an untaken offer or a finished decline hold becomes FREE, and the
 * address returns to the worker's free list. The change is posted like any other.
 * @return true when something was reclaimed.
 */
bool dp_engine_reclaim(struct dp_engine *e, const struct dp_config *cfg, uint32_t addr,
		       uint64_t now);

/**
 * Raise @p longest (NULL: nothing) to the length of the lease @p start .. @p ends, unless it is
 * infinite or empty: an atomic max (relaxed), any thread. What dp_runtime.longest_set_s keeps.
 */
void dp_note_lease(_Atomic uint64_t *longest, uint64_t start, uint64_t ends);

/**
 * Execute an operator's lease change (see struct dp_lease_op). Worker thread, online.
 * Sets op->result, op->count, op->seq, then op->done (release).
 */
void dp_engine_apply_op(struct dp_engine *e, const struct dp_config *cfg, struct dp_lease_op *op,
			uint64_t now);

/**
 * Hand over the freed addresses whose freeing change is durable (@p durable: this worker's
 * durable sequence). Worker thread, once per loop.
 */
void dp_engine_handoff(struct dp_engine *e, uint64_t durable);

/**
 * Free this worker's binding of @p addr if it has ended (DP_CMD_RELEASE_ENDED: the address's
 * slice owner wants it back). Worker thread.
 */
void dp_engine_release_ended(struct dp_engine *e, const struct dp_config *cfg, uint32_t addr,
			     uint64_t now);

/**
 * DP_CMD_END_MOVED: the operator moved the reservation of @p addr to another client and the
 * holder of our ACTIVE binding of it was NAKed (engine.c on_request): the binding becomes
 * EXPIRED now (posted), so that the reserved client's worker may take the address over once
 * that is durable. Nothing is done unless the binding is still ours, ACTIVE, unended, and not
 * the reservation's client's. Worker thread, online.
 */
void dp_engine_end_moved(struct dp_engine *e, const struct dp_config *cfg, uint32_t addr,
			 uint64_t now);

/**
 * DP_CMD_UNCOUNT: another worker replaced a record this worker wrote and counted (an offer of
 * scope index @p scope when @p scope has DP_UNCOUNT_OFFERED, and/or a binding of relay
 * circuit @p circuit, 0: none): count it out of the offer holds and circuit bindings, as
 * removing it ourselves would have (engine.c flood_track()). Worker thread.
 */
void dp_engine_uncount(struct dp_engine *e, uint32_t scope, uint32_t circuit);

/**
 * Queue @p addr as a free candidate again if it is in a pool slice of this worker (used for
 * addresses handed back by other workers). Worker thread.
 */
void dp_engine_requeue(struct dp_engine *e, uint32_t scope, uint32_t addr);

/**
 * DP_CMD_LEND: worker @p to ran low in @p scope. Lend it up to half of our queued addresses
 * of the scope (those with no binding at all, among the first 2 * DP_BORROW_MAX of our FIFO),
 * marked lent (pool.h), through the hand-off FIFO: they reach it (DP_CMD_LENT, then
 * DP_CMD_LEND_DONE) once every change we made so far is durable, so its first change to one
 * of them cannot reach the store before ours. The addresses kept stay in our FIFO in their
 * order, and a loan that never reaches the borrower goes back to the front in its order.
 * Worker thread.
 */
void dp_engine_lend(struct dp_engine *e, uint32_t scope, uint32_t to, uint64_t now);

/** DP_CMD_LENT: keep @p addr, lent to us, in our borrowed list. Worker thread. */
void dp_engine_borrowed(struct dp_engine *e, uint32_t scope, uint32_t addr);

/** DP_CMD_LEND_DONE: our lend request for @p scope is answered. Worker thread. */
void dp_engine_lend_done(struct dp_engine *e, uint32_t scope);

/** Where the reply to a request goes (RFC 2131 §4.1), and through which source address. */
void dp_reply_dest(const struct dp_frame *f, const struct dhcp4_msg *m,
		   const struct dp_decision *d, const uint8_t our_mac[6], struct dp_udp_dst *dst);

/**
 * Build the whole reply frame into @p buf.
 * @param ctr  options_dropped is counted here when configured options do not fit.
 * @return the frame length, or 0 when it does not fit in @p cap.
 */
size_t dp_reply_build(uint8_t *buf, size_t cap, const struct dp_frame *f,
		      const struct dhcp4_msg *m, const struct dp_decision *d,
		      const uint8_t our_mac[6], struct dp_counters *ctr);

/*
 * The configured options of a reply (every option 55 asks for, from the reservation, policy,
 * scope and server lists, and the always-send ones) are the same bytes for every client that
 * asks the same way in the same place: a worker keeps the last few encodings and copies them
 * instead of looking each code up through the lists and encoding it again.
 *
 * An entry is keyed by the snapshot's generation (dp_config.generation: a new snapshot, even
 * at the address of a freed one, misses), the four lists' owners and the request's option 55
 * bytes. Only an encoding that dropped nothing is kept; a hit that does not fit the room this
 * reply has goes the long way, which drops and counts as it always did. So the bytes on the
 * wire are the same with or without the cache (test_engine reply_cache_*).
 */
#define DP_RCACHE_WAYS 64	/**< direct-mapped entries */
#define DP_RCACHE_PRL 48	/**< longest option 55 kept; longer ones go the long way */
#define DP_RCACHE_BYTES 384	/**< longest encoding kept */

struct dp_rcache_ent {
	uint64_t gen;			/**< dp_config.generation; 0 = empty */
	const void *res, *policy, *scope, *server;
	int16_t prl_n;			/**< bytes of option 55; -1 when the request had none */
	uint16_t len;			/**< bytes of @c bytes */
	uint8_t prl[DP_RCACHE_PRL];
	uint8_t bytes[DP_RCACHE_BYTES];
};

/** One worker's cache: owned by that worker's thread alone, never shared. */
struct dp_rcache {
	struct dp_rcache_ent ent[DP_RCACHE_WAYS];
	uint64_t hits, fills;
};

/** dp_reply_build() with the worker's cache @p cache (NULL: none). Thread of @p cache. */
size_t dp_reply_build_cached(uint8_t *buf, size_t cap, const struct dp_frame *f,
			     const struct dhcp4_msg *m, const struct dp_decision *d,
			     const uint8_t our_mac[6], struct dp_counters *ctr,
			     struct dp_rcache *cache);
