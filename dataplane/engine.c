/*
 * engine.c: RFC 2131 decisions.
 *
 * How an address is chosen for a DISCOVER, in order:
 *   1. the client's reservation in the scope, when no other client holds it;
 *   2. the client's previous binding in the scope (offered, active, expired or released),
 *      unless it declined that address;
 *   3. the address it asks for (option 50), when this worker owns it and it is free;
 *   4. the oldest candidate of this worker's free list (pool.h);
 *   5. an address another worker lent us (below).
 * The chosen address is held as OFFERED for offer_hold seconds, so a repeated DISCOVER gets
 * the same answer and no other client is offered it meanwhile. An OFFER commits nothing.
 *
 * Borrowing between pool shares. A free address (no record) may be written only by the one
 * worker whose free list holds it: normally its slice owner, which never races anyone for
 * it. When a worker's share of a scope runs low (LEND_LOW) and another worker holds more
 * than twice as many, it asks that one (DP_CMD_LEND; one request out at a time). The lender
 * pops up to half of its queued addresses that have no record, marks them lent and passes
 * them on through its hand-off FIFO, so they arrive (DP_CMD_LENT) only once every change the
 * lender made is durable: the borrower's first change to an address can never reach the
 * store before the lender's last one (rings are not ordered between workers). From then on
 * the borrower is the address's writer, as for any address it binds; a lent address is still
 * its slice owner's, and give_back() returns it there once freed and durable. The only other
 * way to the address is the slice owner's option-50 path (a client asking for it by name):
 * the table's compare-and-swap settles that race, and the loser drops the address. Nothing
 * is rebalanced on the control thread and slices never change owner; the ownership rules
 * above (writable(), may_write()) are unchanged.
 *
 * Order between rings. The committer drains the workers' rings in no particular order, so a
 * change to an address must not be posted while another worker's change to it is still in
 * that worker's ring. A record tells its writer and sequence (writable() waits for BACKUP
 * records); a FREE leaves no record, so each FREE is remembered per address
 * (dp_pool.freed_by) and a write over no record waits until that FREE is durable
 * (free_settled(): the request is dropped as a write conflict, the client asks again). The
 * hand-off and the lending above wait for durability for the same reason. Addresses outside
 * every range (reservations, operators' leases) have more than one writer too (the lease an
 * operator gave a reserved address to another client is freed by that client's worker):
 * their FREEs are remembered per worker in a few hashed buckets (dp_pool.freed_other), which
 * may make a write wait for an unrelated FREE, never less than needed. A new snapshot's pools
 * carry over the marks not yet durable, freed_by and freed_other (dp_pools_carry_freed()),
 * so a FREE posted just before a configuration change is still waited for.
 *
 * Reservations over leases (issue 11 item 3). An operator may reserve an address a client
 * holds, for that client or for another. The reserved client's worker (the owner of the
 * reservation's key) is the address's writer from then on: it takes the record over from
 * whoever wrote it once that writer's changes are durable (writable()). The reserved client's
 * own lease, filed under its other key, is its own (reserved_own()): renewed, not NAKed. The
 * lease of a client the reservation moved away from is its client's until that client is
 * told: its next request for the address is NAKed and the binding ends (EXPIRED, posted by
 * its writer: dp_engine_end_moved()), after which the reserved client may have it.
 *
 * REQUEST follows RFC 2131 §4.3.2 by client state: SELECTING (server id present),
 * INIT-REBOOT (requested address, no ciaddr), RENEWING (ciaddr, unicast to us) and
 * REBINDING (ciaddr, broadcast). We NAK what we know to be wrong, stay silent where the
 * RFC says the client may belong to another server, and ACK only addresses this worker may
 * write. Every ACK, RELEASE and DECLINE posts its change before the binding is published;
 * when the sink refuses, nothing is published and nothing is answered.
 *
 * Flood control (issue 11 item 4; server.flood-control, flood.h). What one host may take:
 *   - One binding per client per scope. A SELECTING REQUEST is ACKed only for the client's
 *     own record of the address (our offer, or its earlier lease that the offer repeated):
 *     a free address we never offered it is met with silence (drop_not_offered), as RFC 2131
 *     §4.3.2 has a server with no record of the client do; an address another client holds
 *     still gets the NAK of §3.1 step 4. So a new address always costs an offer, and an offer
 *     goes to a client that holds no address of the scope, except when its live lease can no
 *     longer be offered (an operator's change): the new offer then names that lease
 *     (bt_binding.supersedes) and its ACK frees it. The client index holds a client's latest
 *     binding only, so a lease left in another scope meanwhile is not seen (it ends).
 *   - New bindings (an offer to a client with no binding in the scope) pass token buckets per
 *     ingress port, per relay (giaddr) and per relay circuit (giaddr + option 82 circuit id),
 *     then a cap of offered + bound addresses per circuit and a cap of the pool share
 *     outstanding offers may hold; renewals and known clients are never charged. Each worker
 *     keeps its own buckets and counts (no shared cache line) and enforces 1/workers of each
 *     configured rate, burst and cap: clients are spread over workers by a seeded hash, so a
 *     relay's or circuit's clients, legitimate or random, reach each worker in about equal
 *     shares and the sum is about the configured figure (a circuit with fewer clients than
 *     workers gets less than its cap; rounding is up for caps). Relay and circuit entries live
 *     in small tables (flood.h) that forget the least recently used key: forgetting errs
 *     towards serving, and the port bucket bounds what any number of keys can take. Counts
 *     of offers and circuits follow every record this worker publishes or removes
 *     (flood_track()), and another worker that takes a record over tells its writer to
 *     count it out (DP_CMD_UNCOUNT); records loaded at start count nothing, and a new
 *     snapshot starts the offer counts afresh (its scopes are numbered anew).
 *   - A client's DECLINEs past client-declines per decline-window are ignored (it keeps the
 *     address): one host cannot abandon a pool with a DECLINE sweep.
 *   - Under overload (worker.c: overload-bursts more full receive bursts than partial ones,
 *     or a steering ring more than half full) three DISCOVERs in four are dropped before
 *     they are decided (before they are parsed when option 53 comes first), so that the
 *     time goes to REQUESTs, renewals among them.
 * Defaults: only client-declines is on. The rates and caps depend on the site (one relay may
 * carry thousands of clients that all reboot at once), and overload-bursts slows a site
 * booting at once, so an operator turns them on for the network they run.
 *
 * Duplicate requests (issue 12 item 9). Redundant relay agents (VRRP/HSRP, two ip
 * helper-addresses, seed 003) deliver each broadcast of a client twice or more, each copy with
 * its own giaddr and option 82, and a client that lost an answer retransmits with the same
 * xid. The copies meet on one worker: the client's key, which steers it, does not depend on
 * the giaddr (only on the scope it selects, and every relay of a subnet selects the same one).
 * A copy of a DISCOVER gets the offer the first copy got (the client's previous binding,
 * step 2 above). A copy of a REQUEST already ACKed (same client, xid and kind of request,
 * before that ACK's T1 and within DUP_WINDOW seconds, binding unchanged since; dup_request())
 * is answered with that ACK's lease: same address, same end, nothing written, nothing posted
 * (so no second store write nor binding update). Deciding it
 * afresh would renew the lease from now, and in a failover scope the partner's ack of the
 * first ACK's update lifts the MCLT cap: the copies would carry different lease lengths, the
 * fault seed 003 describes. A copy of a DECLINE finds the address abandoned already and is
 * dropped without extending the hold or counting against the client's declines. A copy of
 * a RELEASE finds nothing bound.
 *
 * Failover (fo_view.h), for scopes shared with a partner (dp_scope.fo_rel != 0) only; every
 * other scope pays one branch on fo_rel and runs exactly the rules above.
 *   - The relationship's view is read once per request. Without one, or when its service
 *     level or the load-balancing hash gives the client to the partner, the request is
 *     dropped and counted before anything is looked at (fo_answers).
 *   - Addresses are split between the servers by binding state, not by range: a primary
 *     allocates addresses with no binding, a secondary those with a BACKUP record (no client,
 *     in by_addr only); partner_pool lifts the split, and an ended lease of another client
 *     becomes allocatable MCLT after its end. An ended lease stays its client's otherwise:
 *     only the control thread, once the partner has acked it, makes it FREE (DP_OP_PEER).
 *     Reservations are outside the split: each server gives them to their client only.
 *     Free lists may hold addresses of either kind: a popped address the split forbids is
 *     dropped like a taken one (keeping it would make every allocation walk the partner's
 *     pool); it comes back when its state changes (DP_OP_PEER FREE/BACKUP queues it, the
 *     control thread's requeue scan, a new snapshot). So when partner_pool turns on, the
 *     control thread must requeue the partner's free addresses (DP_CMD_REQUEUE). Only an
 *     ended lease waiting out MCLT in PARTNER-DOWN stays in line: time alone frees it.
 *   - A BACKUP record has no client, so it belongs to the address's slice owner whoever
 *     wrote it (an operator or partner update run on another worker): the slice owner may
 *     replace it once the writer's change is durable (writable()); the table's
 *     compare-and-swap settles a race with its writer.
 *   - An offer is a memory-only overlay (never posted): the OFFERED record remembers what it
 *     covers (bt_binding.under), and an untaken offer restores exactly that without posting,
 *     so the store and the partner never see it (restore_offer). Only an offer of another
 *     client's ended lease (PARTNER-DOWN) ends as a real, posted FREE.
 *   - Lease time: the MCLT rule over the partner's potential-expiration time of the address
 *     (dp_pool.peer_pet), T1/T2 from the capped lease. BOOTP leases (reservations only) stay
 *     infinite.
 *   - Every change in the scope is posted with DP_CHANGE_FO (the partner must hear of it),
 *     with the client's htype + chaddr; a change that applies the partner's own update is
 *     posted with DP_CHANGE_PEER instead (DP_OP_PEER from_peer).
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "dhcp4_opts.h"
#include "engine.h"
#include "fo_hash.h"
#include "fo_lease.h"
#include "lw_copy.h"
#include "lw_hash.h"
#include "policy.h"

/* Seconds after an ACK during which a REQUEST with its xid is a copy ("Duplicate requests"):
 * copies from redundant relays arrive within milliseconds, and a client that lost the ACK
 * retransmits 3 to 5 s after its request (RFC 2131 4.1); a new exchange, a renewal at T1,
 * comes much later and with a new xid. */
#define DUP_WINDOW 8

_Static_assert(DP_FO_HBA_LEN == FO_HASH_HBA_SIZE, "fo_view hba is the failover HBA");
_Static_assert(DP_HW_MAX == 1 + FO_HASH_CHADDR_MAX, "hw is htype + a whole chaddr");

/* --- client keys and reservations -------------------------------------------------- */

int dp_client_key_of(const struct dhcp4_msg *m, struct dp_client_key *k)
{
	uint16_t len;
	const uint8_t *id = dhcp4_opt(m, DHCP4_OPT_CLIENT_ID, &len);

	if (id != NULL) {
		if (len == 0 || len > DP_KEY_MAX) {
			return -EINVAL;
		}
		k->type = DP_KEY_CLIENT_ID;
		k->len = (uint8_t)len;
		lw_copy_short(k->data, id, len);
		return 0;
	}
	k->type = DP_KEY_HWADDR;
	k->len = (uint8_t)(1 + m->hlen);
	k->data[0] = m->htype;
	lw_copy_short(k->data + 1, m->chaddr, m->hlen);
	return 0;
}

/* A reservation matches the client id, or the hardware address whatever the client id. */
static const struct dp_reservation *reservation_of(const struct dp_scope *s,
						    const struct dhcp4_msg *m,
						    const struct dp_client_key *k)
{
	const struct dp_reservation *r;
	struct dp_client_key hw;

	if (s->n_reservations == 0) {
		return NULL;
	}
	r = dp_scope_find_reservation_key(s, k);
	if (r != NULL || k->type == DP_KEY_HWADDR) {
		return r;
	}
	hw.type = DP_KEY_HWADDR;
	hw.len = (uint8_t)(1 + m->hlen);
	hw.data[0] = m->htype;
	lw_copy_short(hw.data + 1, m->chaddr, m->hlen);
	return dp_scope_find_reservation_key(s, &hw);
}

/*
 * Superscopes: a client reserved in another member of the superscope of *@p sp (the scope
 * its request selected) is that member's on the whole link. The reservation, with *@p sp set
 * to its member, or NULL (*@p sp unchanged). Bounded: each member once.
 */
static __attribute__((noinline)) const struct dp_reservation *
member_reservation(const struct dp_config *cfg, const struct dp_scope **sp,
		   const struct dhcp4_msg *m, const struct dp_client_key *k)
{
	const struct dp_superscope *u = &cfg->superscopes[(*sp)->superscope - 1];

	for (uint32_t i = 0; i < u->n_members; i++) {
		const struct dp_scope *t = &cfg->scopes[u->members[i]];
		const struct dp_reservation *r;

		if (t == *sp) {
			continue;
		}
		r = reservation_of(t, m, k);
		if (r != NULL) {
			*sp = t;
			return r;
		}
	}
	return NULL;
}

/* Is @p b a record of @p res's client: by key, or, for a reservation by hardware address,
 * by the chaddr it was written for (a reservation by hardware address is whatever client
 * sends that chaddr)? */
static bool res_client(const struct bt_binding *b, const struct dp_reservation *res)
{
	return bt_key_equal(&b->key, &res->key) ||
	       (res->key.type == DP_KEY_HWADDR && b->hw_len == res->key.len &&
		memcmp(b->hw, res->key.data, b->hw_len) == 0);
}

/*
 * Is @p b, the record of @p res's address, the reserved client's own binding filed under
 * another key? The lease a client held before the operator reserved its address for it is
 * filed under its own key (option 61, else htype + chaddr), while the client is now filed
 * under the reservation's. Converting a lease into a reservation must keep the client on its
 * address (issue 11 item 3).
 */
static bool reserved_own(const struct bt_binding *b, const struct dhcp4_msg *m,
			 const struct dp_reservation *res)
{
	struct dp_client_key own;

	if (b == NULL || res == NULL || b->addr != res->addr || b->key.len == 0) {
		return false;
	}
	return res_client(b, res) ||
	       (dp_client_key_of(m, &own) == 0 && bt_key_equal(&b->key, &own));
}

/* Is @p b (a record) the binding of the client that sent @p m, filed under @p key (its own:
 * no reservation matches it) or under its hardware address (a reservation by hardware
 * address it had, or a time it sent no option 61)? */
static bool holds(const struct bt_binding *b, const struct dhcp4_msg *m,
		  const struct dp_client_key *key)
{
	struct dp_client_key hw;

	if (b == NULL || b->key.len == 0) {
		return false;
	}
	if (bt_key_equal(&b->key, key)) {
		return true;
	}
	hw.type = DP_KEY_HWADDR;
	hw.len = (uint8_t)(1 + m->hlen);
	hw.data[0] = m->htype;
	lw_copy_short(hw.data + 1, m->chaddr, m->hlen);
	return bt_key_equal(&b->key, &hw);
}

/* The key @p b is judged against for a client filed under @p key: its own when it is the
 * reserved client's earlier binding (reserved_own()). */
static const struct dp_client_key *key_for(const struct bt_binding *b, const struct dhcp4_msg *m,
					   const struct dp_reservation *res,
					   const struct dp_client_key *key)
{
	return reserved_own(b, m, res) ? &b->key : key;
}

/* --- binding state helpers ---------------------------------------------------------- */

/* The partner-known PET of @p b's address (dp_pool.peer_pet; 0: none). */
static uint64_t binding_pet(const struct dp_engine *e, const struct bt_binding *b)
{
	const struct dp_pool *p;
	uint64_t rank;

	if (e == NULL || b->scope >= e->pools->n_scopes ||
	    (p = &e->pools->pools[b->scope])->peer_pet == NULL ||
	    !dp_pool_rank(p, b->addr, &rank)) {
		return 0;
	}
	return atomic_load_explicit(&p->peer_pet[rank], memory_order_relaxed);
}

/*
 * PARTNER-DOWN: when another client's ended lease on @p b's address may be given to anyone
 * (D12 §9.4.2): MCLT beyond the latest of its end (@p ended) and the partner-known PET. The
 * partner may have renewed the lease up to that PET + MCLT (the MCLT rule) in an update
 * that never reached us. The address's PET may be an older client's: later, never less
 * safe. UINT64_MAX: never (an infinite lease).
 */
static uint64_t pd_free_at(const struct dp_engine *e, const struct dp_fo_view *fo,
			   const struct bt_binding *b, uint64_t ended)
{
	uint64_t pet = binding_pet(e, b);

	if (ended == BT_INFINITE) {
		return UINT64_MAX;
	}
	return (ended > pet ? ended : pet) + fo->mclt;
}

/* Failover: may this server give the address whose binding is @p b to @p key? The split of
 * fo_view.h; an OFFERED record whose hold has ended is judged by what it covers. */
static bool fo_free_for(const struct dp_engine *e, const struct dp_fo_view *fo,
			const struct bt_binding *b, const struct dp_client_key *key, uint64_t now)
{
	uint64_t ended;

	if (b == NULL) {
		return fo->primary || fo->partner_pool;		/* FREE */
	}
	if (b->key.len == 0) {
		return !fo->primary || fo->partner_pool;	/* BACKUP */
	}
	/*
	 * The same client's binding is its own, except an ended one on a secondary: D12 §5.11
	 * lets a server give an EXPIRED, RELEASED or RESET address back to its client only
	 * before the BNDUPD reporting that state was sent, and ours leaves as soon as the
	 * change is durable. The address is the primary's then, and an ISC primary frees it as
	 * it processes that BNDUPD (it may lease it to another client at once): judged as
	 * another client's (PARTNER-DOWN, MCLT past its end), until the primary gives it back
	 * as BACKUP. A primary's own ended lease stays its client's: the secondary never
	 * leases a FREE or ended address outside PARTNER-DOWN.
	 */
	if (bt_key_equal(&b->key, key) &&
	    (fo->primary || (b->state != BT_EXPIRED && b->state != BT_RELEASED &&
			     b->state != BT_RESET))) {
		return b->state != BT_ABANDONED && b->state != BT_BACKUP;
	}
	switch (b->state) {
	case BT_FREE:
		return fo->primary || fo->partner_pool;
	case BT_OFFERED:
		if (b->ends > now) {
			return false;
		}
		if (b->under == 0) {
			return fo->primary || fo->partner_pool;
		}
		if (b->under == BT_BACKUP) {
			return !fo->primary || fo->partner_pool;
		}
		ended = b->start;	/* a lease that had ended by the time of the offer */
		break;
	case BT_EXPIRED:
	case BT_RELEASED:
	case BT_RESET:
		ended = b->ends;
		break;
	case BT_ACTIVE:
	case BT_ABANDONED:
		if (b->ends > now) {
			return false;
		}
		ended = b->ends;
		break;
	default:
		return false;
	}
	/* Another client's ended lease: PARTNER-DOWN only, once the partner can no longer
	 * have extended it (D12 §9.4.2). */
	return fo->partner_pool && pd_free_at(e, fo, b, ended) <= now;
}

/* Failover, PARTNER-DOWN: another client's ended lease that becomes ours once MCLT has
 * passed since its end and its PET (pd_free_at()), by time alone. */
static bool fo_pending(const struct dp_engine *e, const struct dp_fo_view *fo,
		       const struct bt_binding *b, uint64_t now)
{
	if (!fo->partner_pool || b == NULL || b->key.len == 0) {
		return false;
	}
	return (b->state == BT_EXPIRED || b->state == BT_RELEASED || b->state == BT_RESET) &&
	       b->ends != BT_INFINITE && pd_free_at(e, fo, b, b->ends) > now;
}

/* May @p key be given the address @p b is the binding of (NULL: no binding)? @p fo is the
 * failover view of a shared scope, NULL otherwise (and for reservations, which both servers
 * give to their client only). @p e: the partner-known PETs (NULL: none). */
static bool free_for(const struct dp_engine *e, const struct dp_fo_view *fo,
		     const struct bt_binding *b, const struct dp_client_key *key, uint64_t now)
{
	if (fo != NULL) {
		return fo_free_for(e, fo, b, key, now);
	}
	if (b == NULL) {
		return true;
	}
	if (bt_key_equal(&b->key, key)) {
		return b->state != BT_ABANDONED && b->state != BT_BACKUP;
	}
	switch (b->state) {
	case BT_FREE:
	case BT_EXPIRED:
	case BT_RELEASED:
	case BT_RESET:
		return true;
	case BT_ACTIVE:
	case BT_OFFERED:
	case BT_ABANDONED:
		return b->ends <= now;
	default:
		return false;	/* BACKUP and anything unknown belong to someone else */
	}
}

/* May this worker replace @p b, the record of an address of scope @p scope? Its writer may;
 * so may the address's slice owner when the record has no client (BACKUP, written by the
 * worker that ran an operator's or the partner's change), once that change is durable: a
 * change of ours to the address must not reach the store before it (rings are not ordered
 * between workers). */
static bool writable(const struct dp_engine *e, const struct bt_binding *b, uint32_t scope)
{
	const struct dp_reservation *r;

	if (b == NULL || b->owner == e->id) {
		return true;
	}
	if (b->key.len == 0 && dp_pool_owner(e->pools, scope, b->addr) == (int)e->id &&
	    b->seq <= e->commit.ops->durable(e->commit.ctx, b->owner)) {
		return true;
	}
	/*
	 * A reserved address is its reserved client's worker's to write (issue 11 item 3),
	 * whoever wrote the record: the lease the client held before the operator reserved the
	 * address for it (filed under its other key, so written by another worker), or the
	 * last lease of the client the reservation moved away from. Taken over once everything
	 * its writer posted is durable (an unposted offer has no sequence of its own).
	 */
	if (scope >= e->pools->n_scopes ||
	    (r = dp_scope_find_reservation_addr(e->pools->pools[scope].scope, b->addr)) == NULL ||
	    bt_key_owner(e->table, &r->key, e->n_workers) != e->id) {
		return false;
	}
	return (b->seq != 0 ? b->seq : e->commit.ops->posted(e->commit.ctx, b->owner)) <=
	       e->commit.ops->durable(e->commit.ctx, b->owner);
}

/*
 * May an operator's change (DP_OP_SET, run on the client's worker) replace @p b, which
 * another worker may have written? Yes once everything its writer posted for it is durable
 * (an unposted offer has no sequence of its own: all that writer posted), so our change,
 * through our ring, cannot reach the store before the writer's last one. The record is then
 * replaced in one compare-and-swap (bt_publish), which loses to the writer if it changes the
 * binding meanwhile: the address is never free in between, so no third writer can take it
 * (a DEL on the old writer, then the SET, left it free between the two).
 */
static bool settled_elsewhere(const struct dp_engine *e, const struct bt_binding *b)
{
	if (b == NULL || b->owner == e->id) {
		return true;
	}
	return (b->seq != 0 ? b->seq : e->commit.ops->posted(e->commit.ctx, b->owner)) <=
	       e->commit.ops->durable(e->commit.ctx, b->owner);
}

/* dp_pool.freed_other: the entries of @p addr's bucket, one per worker. */
static _Atomic uint64_t *freed_other(const struct dp_engine *e, uint32_t scope, uint32_t addr)
{
	return &e->pools->pools[scope].freed_other[(size_t)dp_freed_other_bucket(addr) *
						   e->pools->n_workers];
}

/* Remember that this worker posted a FREE of @p addr (dp_pool.freed_by, freed_other). */
static void mark_freed(struct dp_engine *e, uint32_t scope, uint32_t addr)
{
	struct dp_pools *next;
	uint64_t rank;

	if (scope >= e->pools->n_scopes) {
		return;
	}
	if (dp_pool_rank(&e->pools->pools[scope], addr, &rank)) {
		atomic_store_explicit(&e->pools->pools[scope].freed_by[rank],
				      (uint64_t)(e->id + 1) << DP_FREED_SEQ_BITS |
				      (e->seq & DP_FREED_SEQ_MASK), memory_order_relaxed);
	} else if (e->id < e->pools->n_workers) {
		atomic_store_explicit(&freed_other(e, scope, addr)[e->id], e->seq,
				      memory_order_relaxed);
	}
	/* A configuration change under way: the workers already on its pools must wait for
	 * this FREE too (dp_pools_set_next()). The fence orders the mark above before the
	 * load, against the control thread's store of next before its carry. */
	atomic_thread_fence(memory_order_seq_cst);
	next = atomic_load_explicit(&e->pools->next, memory_order_acquire);
	if (unlikely(next != NULL)) {
		dp_pools_mark_next(next, addr, e->id, e->seq);
	}
}

/*
 * May this worker write @p addr, which has no record? Not while another worker's FREE of it
 * is still on its way to the store: our change would go through our ring, the committer may
 * drain that one first, and the FREE would then delete what we wrote (issue 11 item 2). The
 * mark keeps 56 bits of the sequence, which never wrap: a mark left there for as long as the
 * address stays free must still read as durable (a 24-bit one read "not durable" again
 * 2^23 changes later, refusing the address to everyone and losing it from the free lists).
 */
static bool free_settled(const struct dp_engine *e, uint32_t scope, uint32_t addr)
{
	uint64_t rank, v;
	uint32_t w;

	if (scope >= e->pools->n_scopes) {
		return true;
	}
	if (!dp_pool_rank(&e->pools->pools[scope], addr, &rank)) {
		/* Outside the ranges: a reserved address is written by its client's worker, but
		 * the lease an operator gave it to another client, or that client's before the
		 * reservation, by another one (fuzz_engine_seq found the FREE of such a lease
		 * committed after the reserved client's ACK). */
		const _Atomic uint64_t *o = freed_other(e, scope, addr);

		for (w = 0; w < e->pools->n_workers; w++) {
			v = atomic_load_explicit(&o[w], memory_order_relaxed);
			if (w != e->id && v != 0 && v > e->commit.ops->durable(e->commit.ctx, w)) {
				return false;
			}
		}
		return true;
	}
	v = atomic_load_explicit(&e->pools->pools[scope].freed_by[rank], memory_order_relaxed);
	w = (uint32_t)(v >> DP_FREED_SEQ_BITS) - 1;
	if (v == 0 || w == e->id) {
		return true;	/* none, or ours: our ring keeps our order */
	}
	return (v & DP_FREED_SEQ_MASK) <= e->commit.ops->durable(e->commit.ctx, w);
}

/* Failover: is the control thread moving the binding of @p addr between writers
 * (dp_pool.fo_hold)? Then nobody takes or renews it. Costs one branch outside shared
 * scopes (fo_hold is NULL there). */
static bool fo_held(const struct dp_engine *e, uint32_t scope, uint32_t addr)
{
	const struct dp_pool *p;
	uint64_t rank;

	if (scope >= e->pools->n_scopes || (p = &e->pools->pools[scope])->fo_hold == NULL ||
	    !dp_pool_rank(p, addr, &rank)) {
		return false;
	}
	return atomic_load_explicit(&p->fo_hold[rank], memory_order_acquire) != 0;
}

/* May this worker give @p addr, whose binding is @p b, to @p key? Free for it, writable by
 * this worker (single writer), and not held by a failover move. */
static bool takeable(const struct dp_engine *e, const struct dp_scope *s,
		     const struct dp_fo_view *fo, const struct bt_binding *b,
		     const struct dp_client_key *key, uint64_t now, uint32_t addr)
{
	return free_for(e, fo, b, key, now) && writable(e, b, s->index) &&
	       !fo_held(e, s->index, addr);
}

/* May this worker write the binding of @p addr for a client it owns? */
static bool may_write(const struct dp_engine *e, const struct dp_scope *s, uint32_t addr,
		      const struct dp_reservation *res)
{
	if (res != NULL && res->addr == addr) {
		return true;
	}
	if (dp_scope_find_reservation_addr(s, addr) != NULL || !dp_scope_in_pool(s, addr)) {
		return false;
	}
	return dp_pool_owner(e->pools, s->index, addr) == (int)e->id;
}

/* The partner's potential-expiration time of @p addr (0: none, or outside the ranges). */
static uint32_t peer_pet(const struct dp_engine *e, const struct dp_scope *s, uint32_t addr)
{
	const struct dp_pool *p;
	uint64_t rank;

	if (s->index >= e->pools->n_scopes) {
		return 0;
	}
	p = &e->pools->pools[s->index];
	if (p->peer_pet == NULL || !dp_pool_rank(p, addr, &rank)) {
		return 0;
	}
	return atomic_load_explicit(&p->peer_pet[rank], memory_order_relaxed);
}

/*
 * The partner-known PET that may stretch @p key's lease on @p addr: the address's only while
 * its binding is @p key's live lease (ACTIVE, or our offer over it). The PET the partner
 * acked or sent is a client's lease's (D12 §7.1.5: a new lease has none): once that lease
 * ended or the address went to another client, the partner may free the address on the end
 * it was told of and, in PARTNER-DOWN, reuse it MCLT after the link went, so a lease
 * stretched by the old client's PET would outlive the partner's wait.
 */
static uint32_t client_pet(const struct dp_engine *e, const struct dp_scope *s, uint32_t addr,
			   const struct dp_client_key *key)
{
	const struct bt_binding *b = bt_lookup_addr(e->table, addr);
	uint8_t st;

	if (b == NULL || key == NULL || !bt_key_equal(&b->key, key)) {
		return 0;
	}
	st = b->state == BT_OFFERED ? b->under : b->state;
	return st == BT_ACTIVE ? peer_pet(e, s, addr) : 0;
}

static void renewal_times(const struct dp_scope *s, uint32_t lease, struct dp_decision *d);

/* Lease, T1 and T2 for @p addr given to @p key; in a failover scope (@p fo) the lease is cut
 * to what the MCLT rule allows before T1 and T2 are derived from it. */
static void lease_times(const struct dp_engine *e, const struct dp_scope *s,
			const struct dp_fo_view *fo, const struct dhcp4_msg *m, uint32_t addr,
			const struct dp_client_key *key, uint64_t now, struct dp_decision *d)
{
	uint32_t lease = d->policy != NULL && d->policy->lease_time != 0 ?
			 d->policy->lease_time : s->lease_time, asked;

	if (dhcp4_opt_u32(m, DHCP4_OPT_LEASE_TIME, &asked)) {
		lease = asked < s->min_lease_time ? s->min_lease_time :
			asked > s->max_lease_time ? s->max_lease_time : asked;
	}
	if (fo != NULL) {
		lease = fo_lease_mclt_limit(lease, client_pet(e, s, addr, key), fo->mclt, now);
	}
	renewal_times(s, lease, d);
}

/* d->lease = @p lease, and T1 and T2 derived from it. */
static void renewal_times(const struct dp_scope *s, uint32_t lease, struct dp_decision *d)
{
	d->lease = lease;
	d->t1 = s->renew_time && s->renew_time < lease ? s->renew_time : lease / 2;
	d->t2 = s->rebind_time && s->rebind_time < lease ? s->rebind_time :
		(uint32_t)((uint64_t)lease * 7 / 8);
	if (d->t2 <= d->t1) {
		d->t2 = (uint32_t)((uint64_t)lease * 7 / 8);
		d->t1 = lease / 2;
	}
}

/* DP_CHANGE_FO for a change of ours in a scope shared with a partner. */
static uint8_t scope_flags(const struct dp_scope *s)
{
	return s != NULL && s->fo_rel != 0 ? DP_CHANGE_FO : 0;
}

/* scope_flags() of the scope with index @p scope in the snapshot in force. */
static uint8_t index_flags(const struct dp_engine *e, uint32_t scope)
{
	return scope < e->pools->n_scopes ? scope_flags(e->pools->pools[scope].scope) : 0;
}

/* Post the change that made @p nb. @p info: what it remembers of its client (a published
 * record's bt_info_get()), or NULL for none (a FREE change, from a copy of the record).
 * A failover change carries the address's partner-known PET, or @p pet when higher (the
 * partner's update being applied): the store keeps it with the binding, so that neither a
 * rewrite of the binding nor a restart loses it. */
static int post_change(struct dp_engine *e, const struct bt_binding *nb,
		       const struct dp_client_info *info, uint8_t flags, uint32_t pet)
{
	struct dp_change c = {
		.seq = e->seq + 1,
		.addr = nb->addr,
		.scope = nb->scope,
		.state = nb->state,
		.worker = (uint8_t)e->id,
		.start = nb->start,
		.ends = nb->ends,
		.key = nb->key,
		.flags = flags,
		.hw_len = nb->hw_len,
	};
	int rc;

	memcpy(c.hw, nb->hw, nb->hw_len);
	if (info != NULL) {
		c.info = *info;
	}
	if (flags & (DP_CHANGE_FO | DP_CHANGE_PEER)) {
		uint64_t known = binding_pet(e, nb);

		c.pet = known > pet ? (uint32_t)known : pet;
	}
	rc = e->commit.ops->post(e->commit.ctx, &c);
	if (rc == 0) {
		e->seq = c.seq;
	}
	return rc;
}

/* htype + chaddr of a request (bt_binding.hw). @return its length. */
static uint8_t hw_of(const struct dhcp4_msg *m, uint8_t hw[DP_HW_MAX])
{
	uint8_t n = m->hlen < DP_HW_MAX - 1 ? m->hlen : DP_HW_MAX - 1;

	hw[0] = m->htype;
	memcpy(hw + 1, m->chaddr, n);
	return (uint8_t)(1 + n);
}

/* --- flood control (see the top comment) -------------------------------------------- */

/* The relay circuit of a request: its giaddr and the circuit id of its option 82 (RFC 3046
 * sub-option 1), as a seeded hash; 0 when it has none. A relay-less option 82 (inserted by
 * an L2 switch) counts as a circuit of giaddr 0. */
static uint32_t circuit_of(const struct dp_engine *e, const struct dhcp4_msg *m)
{
	uint16_t len;
	const uint8_t *o = dhcp4_opt(m, DHCP4_OPT_RELAY_AGENT, &len);
	uint32_t h;

	for (uint32_t i = 0; o != NULL && i + 2 <= len && i + 2u + o[i + 1] <= len;
	     i += 2u + o[i + 1]) {
		if (o[i] == 1) {
			h = (uint32_t)dp_flood_circuit_hash(e->table->seed, m->giaddr, o + i + 2,
							    o[i + 1]);
			return h != 0 ? h : 1;
		}
	}
	return 0;
}

static inline uint32_t step(uint32_t n, int d)
{
	return d > 0 ? n + 1 : n > 0 ? n - 1 : 0;
}

/* Count @p b in (d = 1) or out of (d = -1) the offers of its scope and its circuit. */
static __attribute__((noinline)) void flood_count(struct dp_engine *e, const struct bt_binding *b,
						  int d)
{
	struct dp_flood_slot *c;

	if (b->state == BT_OFFERED && b->scope < DP_MAX_SCOPES) {
		e->flood.offers[b->scope] = step(e->flood.offers[b->scope], d);
	}
	if (b->circuit != 0 && (b->state == BT_OFFERED || b->state == BT_ACTIVE)) {
		c = dp_flood_find(e->flood.circuits, DP_FLOOD_CIRCUITS, b->circuit, d > 0);
		if (c != NULL) {
			c->count = step(c->count, d);
		}
	}
}

/*
 * Another worker's record @p old, which it counted, was replaced by ours (a take: op_set(),
 * op_peer(), writable()): that worker counts it out (DP_CMD_UNCOUNT), or it would hold the
 * offer or the circuit's binding for as long as its counts live and, at the cap, refuse new
 * clients. A full command ring loses the message (the count errs towards refusing, as a
 * take is rare); tell() then also has the control thread's requeue scan run once, harmless.
 */
static __attribute__((noinline, cold)) void uncount_elsewhere(struct dp_engine *e,
							      const struct bt_binding *old)
{
	bool offered = old->state == BT_OFFERED;

	if (e->tell != NULL && (offered || (old->state == BT_ACTIVE && old->circuit != 0))) {
		(void)e->tell(e->tell_ctx, old->owner, DP_CMD_UNCOUNT,
			      old->scope | (offered ? DP_UNCOUNT_OFFERED : 0), old->circuit);
	}
}

void dp_engine_uncount(struct dp_engine *e, uint32_t scope, uint32_t circuit)
{
	struct bt_binding b = {.scope = scope & ~DP_UNCOUNT_OFFERED, .circuit = circuit};

	b.state = scope & DP_UNCOUNT_OFFERED ? BT_OFFERED : BT_ACTIVE;
	flood_count(e, &b, -1);
}

/* The record @p old is replaced by @p nb (either may be NULL): keep the counts, ours and,
 * when @p old is another worker's (a take), its writer's. */
static inline void flood_track(struct dp_engine *e, const struct bt_binding *old,
			       const struct bt_binding *nb)
{
	if (old != NULL && (old->state == BT_OFFERED || old->circuit != 0)) {
		if (old->owner == e->id) {
			flood_count(e, old, -1);
		} else {
			uncount_elsewhere(e, old);
		}
	}
	if (nb != NULL && (nb->state == BT_OFFERED || nb->circuit != 0)) {
		flood_count(e, nb, 1);
	}
}

/*
 * May a client with no binding in scope @p s (from @p circuit, 0 = none) be offered a new
 * address? Checks the offer holds of the scope, the circuit's bindings, then the port, relay
 * and circuit buckets, and takes a token from each bucket only when all of them have one.
 * @return 0, or the drop reason.
 */
static int flood_admit(struct dp_engine *e, const struct dp_ingress *in, const struct dp_scope *s,
		       uint32_t circuit)
{
	const struct dp_flood_limits *l = &in->cfg->flood;
	struct dp_flood_slot *port = NULL, *relay = NULL, *circ = NULL;
	uint32_t n = e->n_workers, giaddr = in->msg->giaddr;
	uint64_t cap;

	if (l->offer_holds_percent < 100 && s->index < e->pools->n_scopes &&
	    s->index < DP_MAX_SCOPES) {
		cap = e->pools->pools[s->index].total * l->offer_holds_percent / 100 / n;
		if (e->flood.offers[s->index] >= (cap != 0 ? cap : 1)) {
			return DP_DROP_OFFER_HOLDS_FULL;
		}
	}
	if (circuit != 0 && l->circuit_bindings != 0) {
		circ = dp_flood_find(e->flood.circuits, DP_FLOOD_CIRCUITS, circuit, false);
		if (circ != NULL && circ->count >= (l->circuit_bindings + n - 1) / n) {
			return DP_DROP_CIRCUIT_CAP;
		}
	}
	if (l->port_rate != 0) {
		port = &e->flood.ports[in->cfg->ifaces[in->iface].port % DP_MAX_PORTS];
		if (!dp_flood_peek(port, dp_flood_share(l->port_rate, n, 1),
				   dp_flood_share(l->port_burst, n, 1000), in->now)) {
			return DP_DROP_RATE_PORT;
		}
	}
	if (l->relay_rate != 0 && giaddr != 0) {
		relay = dp_flood_find(e->flood.relays, DP_FLOOD_RELAYS, (uint64_t)giaddr | 1ull << 32,
				      true);
		if (!dp_flood_peek(relay, dp_flood_share(l->relay_rate, n, 1),
				   dp_flood_share(l->relay_burst, n, 1000), in->now)) {
			return DP_DROP_RATE_RELAY;
		}
	}
	circ = NULL;
	if (l->circuit_rate != 0 && circuit != 0) {
		circ = dp_flood_find(e->flood.circuits, DP_FLOOD_CIRCUITS, circuit, true);
		if (!dp_flood_peek(circ, dp_flood_share(l->circuit_rate, n, 1),
				   dp_flood_share(l->circuit_burst, n, 1000), in->now)) {
			return DP_DROP_RATE_CIRCUIT;
		}
	}
	if (port != NULL) {
		dp_flood_take(port);
	}
	if (relay != NULL) {
		dp_flood_take(relay);
	}
	if (circ != NULL) {
		dp_flood_take(circ);
	}
	return 0;
}

/* May the client @p key decline one more address (server.flood-control.client-declines per
 * decline-window)? Counts the decline when it may. */
static bool decline_allowed(struct dp_engine *e, const struct dp_ingress *in,
			    const struct dp_client_key *key)
{
	const struct dp_flood_limits *l = &in->cfg->flood;
	struct dp_flood_slot *c;

	if (l->client_declines == 0) {
		return true;
	}
	c = dp_flood_find(e->flood.clients, DP_FLOOD_CLIENTS, bt_key_hash(e->table, key) | 1,
			  true);
	if (c->stamp == 0 || in->now >= c->stamp + l->decline_window) {
		c->stamp = in->now;
		c->count = 0;
	}
	if (c->count >= l->client_declines) {
		return false;
	}
	c->count++;
	return true;
}

/* What an offer replacing @p old covers (bt_binding.under). */
static uint8_t offer_under(const struct bt_binding *old, const struct dp_client_key *key)
{
	if (old == NULL) {
		return 0;
	}
	if (old->key.len == 0) {
		return BT_BACKUP;
	}
	if (old->state == BT_OFFERED) {
		/* A new offer over an old one covers what the old one did; seen from another
		 * client, the old client's lease is just another client's. */
		if (bt_key_equal(&old->key, key) || old->under == 0 || old->under == BT_BACKUP) {
			return old->under;
		}
		return BT_FREE;
	}
	return bt_key_equal(&old->key, key) ? old->state : BT_FREE;
}

/* A binding as it is to be written: the payload of a struct bt_binding. */
/*
 * The binding of an address as the engine found it in by_addr (NULL: none) and where, and
 * likewise the client's key in by_key, so that write_rec() walks neither chain again nor
 * hashes the key again. Only for lookups made earlier in the same request with nothing
 * written in between: the publish is then the compare-and-swap on what was read, as after
 * write_rec()'s own lookup (another writer in between makes it fail).
 */
struct found {
	uint32_t addr;
	bool valid;				/* b and pos are addr's */
	const struct bt_binding *b;
	struct bt_addr_pos pos;
	const struct dp_client_key *key;	/* kpos is this key's (the same object as
						 * rec.key), or NULL */
	struct bt_key_pos kpos;
};

/* bt_lookup_addr() that remembers what it found in @p f. */
static const struct bt_binding *lookup_found(struct dp_engine *e, uint32_t addr,
					     struct found *f)
{
	f->addr = addr;
	f->valid = true;
	f->b = bt_lookup_addr_at(e->table, addr, &f->pos);
	return f->b;
}

/* lookup_found() starting from @p hint (dp_ingress.addr_hint; NULL: none). */
static const struct bt_binding *lookup_found_hinted(struct dp_engine *e, uint32_t addr,
						    const struct bt_binding *hint,
						    struct found *f)
{
	f->addr = addr;
	f->valid = true;
	f->b = bt_lookup_addr_hinted(e->table, addr, hint, &f->pos);
	return f->b;
}

struct rec {
	uint32_t addr, scope;
	uint8_t state;
	uint64_t start, ends;
	const struct dp_client_key *key;	/* NULL: no client (BACKUP) */
	const uint8_t *hw;			/* NULL: keep the old record's (same client) */
	uint8_t hw_len;
	uint32_t circuit;			/* 0: the same client's old one, if any */
	uint32_t supersedes;			/* OFFERED: bt_binding.supersedes */
	const struct dhcp4_msg *info_msg;	/* ACK: capture the client's information */
	const struct dp_policy *policy;		/* with info_msg: the policy that matched */
	const struct dp_client_info *peer_info;	/* PEER: the partner's word on the client */
	uint32_t pet;				/* PEER: the PET of the partner's update */
	bool take;				/* an operator's change (op_set) or a
						 * failover move (op_peer): a record
						 * another worker wrote is taken over
						 * (settled_elsewhere()) */
	const struct bt_binding *over;		/* set: the record the caller checked
						 * (op_peer's take); replaced only if it
						 * is still the address's record */
	uint8_t acked;				/* ACTIVE: our ACK of a REQUEST of this
						 * req_kind() with @c xid; 0 = none */
	uint32_t xid;
	const struct found *found;		/* addr's binding as found (struct found),
						 * or NULL: write_rec() looks it up */
};

/* The same client's binding goes on from @p old (settled, or our offer to it, which holds
 * what its DISCOVER said): what we know of the client goes on with it. */
static bool info_kept(const struct bt_binding *old, const struct dp_client_key *key)
{
	return old != NULL && key != NULL && bt_key_equal(&old->key, key);
}

/* What the new binding knows of its client before its request adds to it: what @p old knew
 * when @p kept (info_kept()), else nothing. */
static void info_start(struct dp_client_info *in, const struct bt_binding *old, bool kept)
{
	if (kept) {
		bt_info_get(old, in);
	} else {
		in->host_len = in->vendor_len = in->circuit_len = in->policy_len = 0;
	}
}

/* Each field the partner's update @p p has replaces ours in @p in (fo_lease_info_decode()
 * made its text printable already). */
static void info_merge(struct dp_client_info *in, const struct dp_client_info *p)
{
	if (p->host_len != 0) {
		in->host_len = p->host_len;
		memcpy(in->host, p->host, sizeof(in->host));
	}
	if (p->vendor_len != 0) {
		in->vendor_len = p->vendor_len;
		memcpy(in->vendor, p->vendor, sizeof(in->vendor));
	}
	if (p->circuit_len != 0) {
		in->circuit_len = p->circuit_len;
		memcpy(in->circuit, p->circuit, sizeof(in->circuit));
	}
	if (p->policy_len != 0) {
		in->policy_len = p->policy_len;
		memcpy(in->policy, p->policy, sizeof(in->policy));
	}
}

/* What an ACK learns of its client: host name, vendor class, relay circuit id (each kept
 * from @p in when the request does not carry it: a renewal is unicast, without option 82,
 * and often without 60) and the policy that matched now. Bounded copies, no allocation. */
static void info_capture(struct dp_client_info *in, const struct dhcp4_msg *m,
			 const struct dp_policy *p)
{
	uint16_t len;
	const uint8_t *o = dhcp4_opt(m, DHCP4_OPT_HOSTNAME, &len);

	if (o != NULL) {
		in->host_len = dp_info_text_set(in->host, DP_INFO_HOST_MAX, o, len);
	}
	o = dhcp4_opt(m, DHCP4_OPT_VENDOR_CLASS, &len);
	if (o != NULL) {
		in->vendor_len = dp_info_text_set(in->vendor, DP_INFO_VENDOR_MAX, o, len);
	}
	o = dhcp4_opt(m, DHCP4_OPT_RELAY_AGENT, &len);
	if (o == NULL) {
		len = 0;
	}
	for (uint32_t i = 0; i + 2 <= len && i + 2u + o[i + 1] <= len; i += 2u + o[i + 1]) {
		if (o[i] == 1) {
			in->circuit_len = o[i + 1] < DP_INFO_CIRCUIT_MAX ? o[i + 1] :
					  DP_INFO_CIRCUIT_MAX;
			memcpy(in->circuit, o + i + 2, in->circuit_len);
			break;
		}
	}
	in->policy_len = p != NULL ? dp_info_text_set(in->policy, DP_INFO_POLICY_MAX, p->name,
						      strlen(p->name)) : 0;
}

/*
 * Write a new binding for r->addr and, when @p durable, post it to the commit sink with
 * @p flags. Only an address with no binding, or with one this worker may replace
 * (writable()), is written: every binding has a single writer (ARCHITECTURE.md).
 *
 * Order: make sure the sink has room, publish (a compare-and-swap that may lose to another
 * writer, when ownership is broken), then post. So the store never receives a change that
 * memory does not hold, and a lost race costs nothing but the request.
 * @return 0 and *out; -EAGAIN (another writer's record) or -ENOBUFS (no room, no record),
 *         counted as drops.
 */
static int write_rec(struct dp_engine *e, const struct rec *r, uint8_t flags, bool durable,
		     struct bt_binding **out)
{
	struct bt_addr_pos pos;
	const struct bt_key_pos *kpos;
	const struct bt_binding *old;
	struct dp_client_info known;
	struct bt_binding *nb;
	bool info_ok = true, same;

	if (r->found != NULL && r->found->valid && r->found->addr == r->addr) {
		old = r->found->b;
		pos = r->found->pos;
	} else {
		old = bt_lookup_addr_at(e->table, r->addr, &pos);
	}
	kpos = r->found != NULL && r->found->key != NULL && r->found->key == r->key ?
	       &r->found->kpos : NULL;
	if ((r->over != NULL ? old != r->over :
	     !(r->take ? settled_elsewhere(e, old) : writable(e, old, r->scope))) ||
	    (old == NULL && !free_settled(e, r->scope, r->addr))) {
		e->ctr->drop[DP_DROP_WRITE_CONFLICT]++;
		return -EAGAIN;
	}
	if (durable && !e->commit.ops->room(e->commit.ctx, e->id)) {
		e->ctr->drop[DP_DROP_COMMIT_FULL]++;
		return -ENOBUFS;
	}
	nb = bt_record_get(&e->writer);
	if (nb == NULL) {
		e->ctr->drop[DP_DROP_NO_RECORD]++;
		return -ENOBUFS;
	}
	same = info_kept(old, r->key);	/* the same client's binding goes on */
	nb->addr = r->addr;
	nb->scope = r->scope;
	nb->state = r->state;
	nb->start = r->start;
	if (old != NULL && r->state != BT_OFFERED && old->state != BT_OFFERED &&
	    nb->start <= old->start && durable && !(flags & DP_CHANGE_PEER)) {
		/* The start of a committed state is the client-last-transaction-time the
		 * failover partner compares (D12 §7.1.3 time(1): the later wins, a tie loses):
		 * a change in the same second as the one before it counts one second later. */
		nb->start = old->start + 1;
	}
	nb->ends = r->ends;
	if (r->key != NULL) {
		nb->key = *r->key;
	}
	if (r->state == BT_OFFERED) {
		nb->under = offer_under(old, &nb->key);
		nb->supersedes = r->supersedes;
	} else if (r->state == BT_ACTIVE && r->acked != 0) {
		nb->acked = r->acked;
		nb->xid = r->xid;
	}
	if (r->state == BT_OFFERED || r->state == BT_ACTIVE) {
		/* A renewal comes without the relay (unicast): the binding keeps its circuit. */
		nb->circuit = r->circuit != 0 || !same ? r->circuit : old->circuit;
	}
	if (r->hw != NULL) {
		nb->hw_len = r->hw_len < DP_HW_MAX ? r->hw_len : DP_HW_MAX;
		memcpy(nb->hw, r->hw, nb->hw_len);
	} else if (same) {
		nb->hw_len = old->hw_len;
		memcpy(nb->hw, old->hw, old->hw_len);
	}
	if (r->info_msg != NULL) {
		struct dp_client_info in;

		info_start(&in, old, same);
		info_capture(&in, r->info_msg, r->policy);
		info_ok = bt_info_set(nb, &in) == 0;
	} else if (r->peer_info != NULL && !dp_info_empty(r->peer_info)) {
		struct dp_client_info in;

		info_start(&in, old, same);
		info_merge(&in, r->peer_info);
		info_ok = bt_info_set(nb, &in) == 0;
	} else if (same) {
		struct dp_client_info in;

		/* The same client's binding goes on: so does what we know of it. */
		bt_info_get(old, &in);
		info_ok = bt_info_set(nb, &in) == 0;
	}
	if (!info_ok) {
		/* Its information needs a spill record (bindings.h) and the stock is empty:
		 * the same answer as no record at all. */
		bt_record_put(&e->writer, nb);
		e->ctr->drop[DP_DROP_NO_RECORD]++;
		return -ENOBUFS;
	}
	nb->seq = durable ? e->seq + 1 : 0;
	if (bt_publish_found(&e->writer, old, &pos, kpos, nb) != 0) {
		/* Another writer took the address between our lookup and now. */
		bt_record_put(&e->writer, nb);
		e->ctr->drop[DP_DROP_WRITE_CONFLICT]++;
		return -EAGAIN;
	}
	flood_track(e, old, nb);
	if (durable) {
		bt_info_get(nb, &known);
	}
	if (durable && post_change(e, nb, &known, flags, r->pet) != 0) {
		/* Room was there: only a change the store would refuse gets here, which the
		 * engine does not make. Memory is ahead of the store; nothing is answered. */
		e->ctr->drop[DP_DROP_COMMIT_FULL]++;
		return -ENOBUFS;
	}
	*out = nb;
	return 0;
}

/* What a REQUEST is, as far as its copies must agree: 1 SELECTING (server id), 2 INIT-REBOOT
 * (requested address), 3 RENEWING or REBINDING (ciaddr). A client's next exchange may reuse
 * its xid (ISC dhclient renews with the xid it was ACKed with) but comes in another state,
 * or after T1. */
static uint8_t req_kind(const struct dhcp4_msg *m)
{
	return dhcp4_has(m, DHCP4_OPT_SERVER_ID) ? 1 : dhcp4_has(m, DHCP4_OPT_REQUESTED_IP) ? 2 : 3;
}

/*
 * write_rec() for a client's binding: hw from the request @p m, or, without one (reclaim),
 * kept from the client's old record of the address.
 * @return the record, or NULL when the request must be dropped (counted).
 */
static struct bt_binding *write_binding_sup(struct dp_engine *e, const struct dhcp4_msg *m,
					    uint32_t addr, uint32_t scope,
					    const struct dp_client_key *key, uint8_t state,
					    uint64_t now, uint64_t ends, bool durable,
					    uint32_t supersedes, const struct found *found)
{
	struct rec r = {
		.addr = addr, .scope = scope, .state = state, .start = now, .ends = ends,
		.key = key, .supersedes = supersedes, .found = found,
	};
	uint8_t hw[DP_HW_MAX];
	struct bt_binding *nb = NULL;

	if (m != NULL) {
		r.hw_len = hw_of(m, hw);
		r.hw = hw;
		r.circuit = circuit_of(e, m);
		/* An ACK: remembered for the copies of its REQUEST (dup_request()). */
		r.acked = state == BT_ACTIVE && m->type == DHCP4_REQUEST ? req_kind(m) : 0;
		r.xid = m->xid;
		/* An offer keeps what the DISCOVER said of the client (host name, vendor class,
		 * circuit) for the ACK, whose REQUEST need not say it again (RFC 2131 leaves
		 * options 12 and 60 of a REQUEST to the client). The policy is the ACK's. */
		if (state == BT_OFFERED) {
			r.info_msg = m;
		}
	}
	(void)write_rec(e, &r, index_flags(e, scope), durable, &nb);
	return nb;
}

static struct bt_binding *write_binding(struct dp_engine *e, const struct dhcp4_msg *m,
					uint32_t addr, uint32_t scope,
					const struct dp_client_key *key, uint8_t state,
					uint64_t now, uint64_t ends, bool durable)
{
	return write_binding_sup(e, m, addr, scope, key, state, now, ends, durable, 0, NULL);
}

/* write_binding() of an ACKed (or BOOTP) binding: durable, capturing the client's
 * information from @p m and the policy @p p that matched. */
static struct bt_binding *write_active(struct dp_engine *e, const struct dhcp4_msg *m,
				       uint32_t addr, uint32_t scope,
				       const struct dp_client_key *key, uint64_t now,
				       uint64_t ends, const struct dp_policy *p,
				       const struct found *found)
{
	struct rec r = {
		.addr = addr, .scope = scope, .state = BT_ACTIVE, .start = now, .ends = ends,
		.key = key, .info_msg = m, .policy = p, .found = found,
	};
	uint8_t hw[DP_HW_MAX];
	struct bt_binding *nb = NULL;

	r.hw_len = hw_of(m, hw);
	r.hw = hw;
	r.circuit = circuit_of(e, m);
	/* As write_binding_sup(): remembered for the copies of its REQUEST (dup_request()). */
	r.acked = m->type == DHCP4_REQUEST ? req_kind(m) : 0;
	r.xid = m->xid;
	(void)write_rec(e, &r, index_flags(e, scope), true, &nb);
	return nb;
}

static uint64_t lease_end(uint64_t now, uint32_t lease)
{
	return lease == UINT32_MAX ? BT_INFINITE : now + lease;
}

static bool is_our_address(const struct dp_config *c, uint32_t a)
{
	for (uint32_t i = 0; i < c->n_ifaces; i++) {
		if (c->ifaces[i].addr == a) {
			return true;
		}
	}
	return false;
}

/* A free address left every free list (cold): have the control thread's requeue scan find
 * it again. */
static __attribute__((cold, noinline)) void handoff_lost(struct dp_engine *e)
{
	e->ctr->handoff_overflow++;
	if (e->requeue_lost != NULL) {
		atomic_fetch_add_explicit(e->requeue_lost, 1, memory_order_relaxed);
	}
}

/* An address is free again: back to the free list of the worker that owns its slice. */
static void give_back(struct dp_engine *e, const struct dp_config *cfg, uint32_t addr)
{
	const struct dp_scope *s = dp_config_scope_of(cfg, addr);
	int owner;

	if (s == NULL) {
		return;
	}
	owner = dp_pool_owner(e->pools, s->index, addr);
	if (owner == (int)e->id) {
		(void)dp_slice_push(e->pools, e->id, s->index, addr);
	} else if (owner >= 0 && e->tell != NULL) {
		if (e->ho_count < DP_HANDOFF_MAX) {
			e->handoff[(e->ho_head + e->ho_count++) % DP_HANDOFF_MAX] =
				(struct dp_handoff){e->seq, (uint32_t)owner, s->index, addr,
						    DP_CMD_REQUEUE};
			return;
		}
		/* Full (thousands of cross-worker frees within one commit): the control
		 * thread's requeue scan, which waits for durability itself, finds the address
		 * again; until then it is in no free list. */
		handoff_lost(e);
	}
}

void dp_engine_handoff(struct dp_engine *e, uint64_t durable)
{
	struct dp_handoff back[DP_BORROW_MAX];
	uint32_t n_back = 0;

	while (e->ho_count > 0 && e->handoff[e->ho_head].seq <= durable) {
		const struct dp_handoff *h = &e->handoff[e->ho_head];

		if (e->tell(e->tell_ctx, h->worker, (enum dp_cmd_type)h->type, h->scope,
			    h->addr) != 0 && h->type == DP_CMD_LENT) {
			/* Never reached the borrower: still ours (and marked lent, which would
			 * hide it from the requeue scan). Back where it was, at the front of
			 * our FIFO (below), or at the back when too many came back at once. */
			(void)dp_pool_set_lent(e->pools, h->scope, h->addr, false);
			if (n_back < DP_BORROW_MAX) {
				back[n_back++] = *h;
			} else {
				dp_engine_requeue(e, h->scope, h->addr);
			}
		}
		e->ho_head = (e->ho_head + 1) % DP_HANDOFF_MAX;
		e->ho_count--;
	}
	/* In reverse: the FIFO's order is as before the loan (pool.h: oldest first). */
	while (n_back > 0) {
		n_back--;
		(void)dp_slice_unpop(e->pools, e->id, back[n_back].scope, back[n_back].addr);
	}
}

void dp_engine_requeue(struct dp_engine *e, uint32_t scope, uint32_t addr)
{
	if (scope < e->pools->n_scopes && dp_pool_owner(e->pools, scope, addr) == (int)e->id) {
		(void)dp_slice_push(e->pools, e->id, scope, addr);
	}
}

/* --- borrowing between pool shares (pool.h) ------------------------------------------ */

static const struct dp_fo_view *fo_view_of(const struct dp_engine *e, const struct dp_scope *s);

/* Ask for a loan when our share of @p s runs low (below LEND_LOW queued and borrowed) and
 * another worker holds more than twice what we have. At most one request is out per scope;
 * an answer lost to a full ring is given up after LEND_RETRY allocations. Costs a look at
 * each worker's count (relaxed loads) per allocation while the share is low. */
#define LEND_LOW 16
#define LEND_RETRY 256
#define LEND_LOOK (2 * DP_BORROW_MAX)	/* queued addresses a lender looks at, at most */

static __attribute__((cold, noinline)) void ask_loan(struct dp_engine *e, uint32_t scope)
{
	struct dp_slice *sl = dp_pools_slice(e->pools, e->id, scope);
	uint32_t have = sl->count + sl->b_count, best = 0, from = 0;

	if (sl->asking && ++sl->ask_wait < LEND_RETRY) {
		return;
	}
	sl->asking = false;
	for (uint32_t w = 0; w < e->n_workers; w++) {
		uint32_t n = w == e->id ? 0 : dp_slice_count(e->pools, w, scope);

		if (n > best) {
			best = n;
			from = w;
		}
	}
	if (best <= 2 * have || e->tell(e->tell_ctx, from, DP_CMD_LEND, scope, e->id) != 0) {
		return;
	}
	sl->asking = true;
	sl->ask_wait = 0;
}

static inline void maybe_borrow(struct dp_engine *e, uint32_t scope)
{
	const struct dp_slice *sl = dp_pools_slice(e->pools, e->id, scope);

	if (e->tell != NULL && sl->count + sl->b_count < LEND_LOW) {
		ask_loan(e, scope);
	}
}

void dp_engine_lend(struct dp_engine *e, uint32_t scope, uint32_t to, uint64_t now)
{
	static const struct dp_client_key nobody;
	const struct dp_scope *s;
	const struct dp_fo_view *fo = NULL;
	uint32_t have, want, lent = 0, a, kept[LEND_LOOK], n_kept = 0;

	if (scope >= e->pools->n_scopes || to >= e->n_workers || to == e->id) {
		return;
	}
	s = e->pools->pools[scope].scope;
	have = dp_slice_count(e->pools, e->id, scope);
	want = have / 2 ? have / 2 : have;
	if (want > DP_BORROW_MAX / 2) {
		want = DP_BORROW_MAX / 2;
	}
	if (s->fo_rel != 0) {
		/* Failover: lend only what the split lets us give (addresses with no record). */
		fo = fo_view_of(e, s);
		if (fo == NULL || !free_for(e, fo, NULL, &nobody, now)) {
			want = 0;
		}
	}
	/* Bounded: at most LEND_LOOK queued addresses are looked at, from the front; the
	 * hand-off FIFO keeps room for the answer. Addresses with a record (ended leases,
	 * BACKUP) stay: only their writer or slice owner may replace them. They go back to the
	 * front in their order (the FIFO's order is the pool's promise: oldest free first). */
	for (uint32_t n = have < LEND_LOOK ? have : LEND_LOOK;
	     n > 0 && lent < want && e->ho_count + 1 < DP_HANDOFF_MAX; n--) {
		if (!dp_slice_pop(e->pools, e->id, scope, &a)) {
			break;
		}
		if (bt_lookup_addr(e->table, a) != NULL || fo_held(e, scope, a)) {
			kept[n_kept++] = a;
			continue;
		}
		(void)dp_pool_set_lent(e->pools, scope, a, true);
		e->handoff[(e->ho_head + e->ho_count++) % DP_HANDOFF_MAX] =
			(struct dp_handoff){e->seq, to, scope, a, DP_CMD_LENT};
		lent++;
	}
	while (n_kept > 0) {
		(void)dp_slice_unpop(e->pools, e->id, scope, kept[--n_kept]);
	}
	if (e->ho_count < DP_HANDOFF_MAX) {
		e->handoff[(e->ho_head + e->ho_count++) % DP_HANDOFF_MAX] =
			(struct dp_handoff){e->seq, to, scope, 0, DP_CMD_LEND_DONE};
	}
	e->ctr->lent += lent;
}

void dp_engine_borrowed(struct dp_engine *e, uint32_t scope, uint32_t addr)
{
	int owner;

	if (scope >= e->pools->n_scopes || !dp_pool_lent(e->pools, scope, addr)) {
		/* Lent from pools a new snapshot replaced: the requeue scan after the change
		 * may have run before this arrived. Have it look again. */
		handoff_lost(e);
		return;
	}
	if (dp_slice_borrow_push(e->pools, e->id, scope, addr)) {
		e->ctr->borrowed++;
		return;
	}
	/* Full: give it back (its owner's changes are durable; we never wrote it). */
	(void)dp_pool_set_lent(e->pools, scope, addr, false);
	owner = dp_pool_owner(e->pools, scope, addr);
	if (owner < 0 || e->tell(e->tell_ctx, (uint32_t)owner, DP_CMD_REQUEUE, scope, addr) != 0) {
		handoff_lost(e);
	}
}

void dp_engine_lend_done(struct dp_engine *e, uint32_t scope)
{
	if (scope < e->pools->n_scopes) {
		dp_pools_slice(e->pools, e->id, scope)->asking = false;
	}
}

/* --- failover: whom we answer ------------------------------------------------------- */

enum req_state { SELECTING, INIT_REBOOT, RENEWING, REBINDING, REQ_INVALID };

/* The client state a DHCPREQUEST comes from (RFC 2131 §4.3.2). */
static enum req_state req_state_of(const struct dp_ingress *in)
{
	const struct dhcp4_msg *m = in->msg;
	uint32_t v;

	if (dhcp4_opt_u32(m, DHCP4_OPT_SERVER_ID, &v)) {
		return SELECTING;
	}
	if (dhcp4_opt_u32(m, DHCP4_OPT_REQUESTED_IP, &v)) {
		return INIT_REBOOT;
	}
	if (m->ciaddr == 0) {
		return REQ_INVALID;
	}
	/* RENEWING is unicast straight to us; REBINDING is broadcast, which a relay forwards to
	 * us (giaddr set). */
	return in->frame->ip_dst == UINT32_MAX || m->giaddr != 0 ? REBINDING : RENEWING;
}

/* The view of the relationship sharing @p s (fo_rel != 0), read once per request; NULL when
 * the relationship does not run. */
static const struct dp_fo_view *fo_view_of(const struct dp_engine *e, const struct dp_scope *s)
{
	if (e->fo == NULL || s->fo_rel > DP_MAX_RELATIONSHIPS) {
		return NULL;
	}
	return rcu_dereference(e->fo[s->fo_rel - 1]);
}

/*
 * Failover: does this server answer the request at all (fo_view.h)? Counted when not.
 * The load-balancing bucket is ISC's: over option 61 as the client sent it (not the
 * reservation key the client may be filed under), else chaddr. The view's hba already says
 * which buckets are ours, whatever our role.
 */
static bool fo_answers(struct dp_engine *e, const struct dp_ingress *in,
		       const struct dp_fo_view *fo, const struct dp_client_key *key)
{
	const struct dhcp4_msg *m = in->msg;
	const struct bt_binding *b;
	const uint8_t *id;
	uint16_t id_len = 0;
	enum req_state st;
	uint8_t bucket;
	uint32_t sid;

	switch (fo == NULL ? DP_FO_SVC_NONE : fo->service) {
	case DP_FO_SVC_ALL:
	case DP_FO_SVC_PARTNER_DOWN:
		return true;
	case DP_FO_SVC_BALANCED:
		/*
		 * Every message goes by the hash, RENEWING included (Windows, seed 002: "only one
		 * server responds for a specific client"): draft-12 §5.3 has a server answer every
		 * RENEWING, which would keep a client on the server it renews with forever, so a
		 * changed load-balance percent (or a client we served while the partner was
		 * away) would never move. Ignored, the client rebinds at T2 and its hash owner,
		 * which holds the binding from our BNDUPD, answers it.
		 */
		if (fo->lb_max_secs != 0 && m->secs > fo->lb_max_secs) {
			return true;
		}
		/*
		 * A RELEASE or DECLINE that names us (option 54) ends a lease we gave, whoever's
		 * bucket the client is in now: one we gave while the partner was away, or before
		 * the split changed. Dropped by the hash, a RELEASE would leave the lease running
		 * to its end and a DECLINE leave a conflicting address in the pool. ISC applies
		 * its load balancing to DISCOVER and REQUEST only. A copy the partner receives
		 * names us, not it, so it is not processed twice.
		 */
		if ((m->type == DHCP4_RELEASE || m->type == DHCP4_DECLINE) &&
		    dhcp4_opt_u32(m, DHCP4_OPT_SERVER_ID, &sid) && is_our_address(in->cfg, sid)) {
			return true;
		}
		id = dhcp4_opt(m, DHCP4_OPT_CLIENT_ID, &id_len);
		bucket = fo_hash_client_bucket(id, id != NULL ? id_len : 0, m->chaddr, m->hlen);
		if ((fo->hba[bucket >> 3] >> (bucket & 7)) & 1) {
			return true;
		}
		e->ctr->drop[DP_DROP_FO_PARTNER_CLIENT]++;
		return false;
	case DP_FO_SVC_RENEW_ONLY:
		st = m->type == DHCP4_REQUEST ? req_state_of(in) : REQ_INVALID;
		if (st == RENEWING || st == REBINDING) {
			b = bt_lookup_addr(e->table, m->ciaddr);
			if (b != NULL && bt_key_equal(&b->key, key)) {
				return true;
			}
		}
		break;
	default:
		break;
	}
	e->ctr->drop[DP_DROP_FO_NOT_SERVING]++;
	return false;
}

/* --- DISCOVER ----------------------------------------------------------------------- */

/*
 * Our own share is empty: an address another worker lent us (pool.h), if one is still free.
 * Its lender's changes to it are durable (it came through the lender's hand-off), so we may
 * write it; once freed it goes back to its slice owner (give_back).
 */
static bool pick_borrowed(struct dp_engine *e, const struct dp_scope *s,
			  const struct dp_fo_view *fo, const struct dp_policy *pol,
			  const struct dp_client_key *key, uint64_t now, uint32_t *out)
{
	const struct bt_binding *b;
	uint32_t a, n = dp_pools_slice(e->pools, e->id, s->index)->b_count;
	int owner;

	/* Bounded: each address leaves the list once per pass. */
	for (; n > 0 && dp_slice_borrow_pop(e->pools, e->id, s->index, &a); n--) {
		if (!dp_policy_addr_ok(s, pol, a)) {
			/* For another policy's clients (policy.h): to the back (room: we just
			 * took one out). */
			(void)dp_slice_borrow_push(e->pools, e->id, s->index, a);
			continue;
		}
		(void)dp_pool_set_lent(e->pools, s->index, a, false);
		if (!dp_scope_in_pool(s, a) || dp_scope_find_reservation_addr(s, a) != NULL) {
			continue;
		}
		b = bt_lookup_addr(e->table, a);
		if (takeable(e, s, fo, b, key, now, a)) {
			*out = a;
			return true;
		}
		/* Taken meanwhile (by a request for it on its slice owner): back when freed.
		 * Still free (failover split, fo_held): back to its owner now. */
		owner = dp_pool_owner(e->pools, s->index, a);
		if (b == NULL && owner >= 0 &&
		    e->tell(e->tell_ctx, (uint32_t)owner, DP_CMD_REQUEUE, s->index, a) != 0) {
			handoff_lost(e);
		}
	}
	return false;
}

/* The time by which another client's lease end is judged (dp_ingress.ended_by): after a
 * forward step of the wall clock, a lease granted before it ends later than its stored end
 * says, and its address must not go to someone else before then. */
static uint64_t ended_by(const struct dp_ingress *in)
{
	return in->ended_by != 0 && in->ended_by < in->now ? in->ended_by : in->now;
}

/*
 * Choose the address to offer.
 * @return 0 and *out, or the drop reason.
 */
static int pick_address(struct dp_engine *e, const struct dp_scope *s,
			const struct dp_fo_view *fo, const struct dp_policy *pol,
			const struct dhcp4_msg *m, const struct dp_client_key *key,
			const struct dp_reservation *res, const struct bt_binding *prev,
			uint64_t now, uint32_t *out, struct found *found)
{
	const struct bt_binding *b;
	uint32_t want, a;

	if (res != NULL) {
		/* A reserved client gets its address or nothing: anything else would be
		 * NAKed at its REQUEST (RFC 2131 gives it no way out of that loop). */
		b = bt_lookup_addr(e->table, res->addr);
		if (!takeable(e, s, NULL, b, key_for(b, m, res, key), now, res->addr)) {
			return DP_DROP_RESERVED_IN_USE;
		}
		*out = res->addr;
		return 0;
	}
	if (prev != NULL && prev->owner == e->id && dp_scope_contains(s, prev->addr) &&
	    prev->state != BT_ABANDONED && (fo == NULL || fo_free_for(e, fo, prev, key, now)) &&
	    (may_write(e, s, prev->addr, NULL) || (prev->state == BT_OFFERED &&
						    dp_scope_in_pool(s, prev->addr))) &&
	    !fo_held(e, s->index, prev->addr) && dp_policy_addr_ok(s, pol, prev->addr)) {
		/* (Our own offer of an address of another slice, one we borrowed: the repeated
		 * DISCOVER gets it again rather than one more.) */
		*out = prev->addr;
		return 0;
	}
	if (dhcp4_opt_u32(m, DHCP4_OPT_REQUESTED_IP, &want) && dp_policy_addr_ok(s, pol, want) &&
	    may_write(e, s, want, NULL) &&
	    takeable(e, s, fo, bt_lookup_addr(e->table, want), key, now, want)) {
		*out = want;
		return 0;
	}
	if (s->index >= e->pools->n_scopes) {
		return DP_DROP_POOL_EXHAUSTED;	/* pools of another snapshot: never, by design */
	}
	/* Bounded: each candidate leaves the FIFO once per pass. */
	for (uint32_t n = dp_slice_count(e->pools, e->id, s->index); n > 0; n--) {
		if (!dp_slice_pop(e->pools, e->id, s->index, &a)) {
			break;
		}
		if (!dp_scope_in_pool(s, a) || dp_scope_find_reservation_addr(s, a) != NULL) {
			continue;
		}
		if (!dp_policy_addr_ok(s, pol, a)) {
			/* For another policy's clients (policy.h): to the back, still queued. */
			(void)dp_slice_push(e->pools, e->id, s->index, a);
			continue;
		}
		b = lookup_found(e, a, found);
		if (takeable(e, s, fo, b, key, now, a)) {
			*out = a;
			maybe_borrow(e, s->index);	/* a request to another worker only */
			return 0;
		}
		if (b != NULL && b->owner != e->id && b->key.len != 0 &&
		    free_for(e, fo, b, key, now) && e->tell != NULL) {
			/* Ended, but written by another worker (its client moved, or the worker
			 * count changed): ask it to free the address; it comes back to us. */
			e->tell(e->tell_ctx, b->owner, DP_CMD_RELEASE_ENDED, s->index, a);
		}
		if (fo != NULL && fo_pending(e, fo, b, now)) {
			/* Ours by time alone: keep it in line (this pass does not see it
			 * again). */
			(void)dp_slice_push(e->pools, e->id, s->index, a);
		}
		/* Otherwise taken meanwhile, or the partner's (failover): it re-enters the list
		 * when freed, or when the control thread requeues the partner's addresses. */
	}
	if (pick_borrowed(e, s, fo, pol, key, now, out)) {
		maybe_borrow(e, s->index);
		return 0;
	}
	maybe_borrow(e, s->index);
	return pol != NULL && pol->n_ranges != 0 ? DP_DROP_POLICY_EXHAUSTED :
						   DP_DROP_POOL_EXHAUSTED;
}

/*
 * Superscopes (dp_superscope): the scopes of one link. The member of the superscope of @p s
 * whose subnet holds @p addr: @p s itself when its subnet does, NULL when no member's does.
 */
static const struct dp_scope *link_scope(const struct dp_config *cfg, const struct dp_scope *s,
					 uint32_t addr)
{
	const struct dp_superscope *u;

	if (dp_scope_contains(s, addr)) {
		return s;
	}
	if (s->superscope == 0) {
		return NULL;
	}
	u = &cfg->superscopes[s->superscope - 1];
	for (uint32_t i = 0; i < u->n_members; i++) {
		const struct dp_scope *t = &cfg->scopes[u->members[i]];

		if (dp_scope_contains(t, addr)) {
			return t;
		}
	}
	return NULL;
}

/* The client's policy in member @p t of a superscope (policy.h), found as policy_admit does. */
static const struct dp_policy *member_policy(const struct dp_ingress *in,
					     const struct dp_scope *t)
{
	return (t->n_policies | in->cfg->n_policies) != 0 ? dp_policy_match(in->cfg, t, in->msg) :
							     NULL;
}

/*
 * The scope the request selected has no address for the client (@p why): the other active
 * members of its superscope give one, in configured order, each under the client's policy
 * there (a member whose policy denies the client is passed over). Members share the failover
 * relationship of the selected scope (config.c), so @p fo is theirs too. Bounded: members are
 * scopes, each visited once.
 * @return 0 with *sp the member, d->policy its policy and *out the address; else @p why.
 */
static __attribute__((noinline)) int superscope_pick(struct dp_engine *e,
						     const struct dp_ingress *in,
						     const struct dp_scope **sp,
						     const struct dp_fo_view *fo,
						     const struct dp_client_key *key,
						     const struct bt_binding *prev,
						     struct dp_decision *d, int why, uint32_t *out,
						     struct found *found)
{
	const struct dp_superscope *u = &in->cfg->superscopes[(*sp)->superscope - 1];

	for (uint32_t i = 0; i < u->n_members; i++) {
		const struct dp_scope *t = &in->cfg->scopes[u->members[i]];
		const struct dp_policy *pol;

		if (t == *sp || !t->active) {
			continue;
		}
		pol = member_policy(in, t);
		if (pol != NULL && pol->deny) {
			continue;
		}
		if (pick_address(e, t, fo, pol, in->msg, key, NULL, prev, ended_by(in), out,
				 found) == 0) {
			*sp = t;
			d->policy = pol;
			return 0;
		}
	}
	return why;
}

/*
 * The offer of @p addr could not be written (no record left, a write conflict): pick_address()
 * may have taken the address out of its free list, and it is still free (no record, or still
 * the ended one @p cur it had), so nothing else would ever queue it again. Back to the free
 * list of its slice owner (give_back: ours at the back, another worker's through the
 * hand-off); queued already, it stays where it is.
 */
static __attribute__((cold, noinline)) void offer_failed(struct dp_engine *e,
							 const struct dp_config *cfg,
							 const struct dp_scope *s, uint32_t addr,
							 const struct bt_binding *cur)
{
	if (bt_lookup_addr(e->table, addr) != cur ||
	    (cur != NULL && cur->state != BT_EXPIRED && cur->state != BT_RELEASED &&
	     cur->state != BT_BACKUP) ||
	    !dp_scope_in_pool(s, addr) || dp_scope_find_reservation_addr(s, addr) != NULL) {
		return;
	}
	give_back(e, cfg, addr);
}

static bool on_discover(struct dp_engine *e, const struct dp_ingress *in,
			const struct dp_scope *s, const struct dp_fo_view *fo,
			const struct dp_client_key *key, struct dp_decision *d)
{
	const struct dp_reservation *res = reservation_of(s, in->msg, key);
	struct found found = { .valid = false, .key = key };
	const struct bt_binding *cur, *prev = in->key_hint != NULL ?
		bt_lookup_key_hinted(e->table, key, in->key_hint, &found.kpos) :
		bt_lookup_key_at(e->table, key, &found.kpos);
	uint32_t addr, sup = 0;
	int why = 0;

	if (res == NULL && s->superscope != 0) {
		res = member_reservation(in->cfg, &s, in->msg, key);
		if (res != NULL) {
			d->policy = member_policy(in, s);
		}
	}

	/* A client with no binding in the scope (none, or only a declined address) asks for a
	 * new one: flood control decides first, before an address leaves the free list. */
	if (res == NULL && (prev == NULL || prev->state == BT_ABANDONED ||
			    link_scope(in->cfg, s, prev->addr) == NULL)) {
		why = flood_admit(e, in, s, circuit_of(e, in->msg));
	}
	if (why == 0) {
		why = pick_address(e, s, fo, d->policy, in->msg, key, res, prev, ended_by(in),
				   &addr, &found);
		if ((why == DP_DROP_POOL_EXHAUSTED || why == DP_DROP_POLICY_EXHAUSTED) &&
		    s->superscope != 0) {
			why = superscope_pick(e, in, &s, fo, key, prev, d, why, &addr, &found);
		}
	}
	if (why != 0) {
		e->ctr->drop[why]++;
		return false;
	}
	if (prev != NULL && prev->addr != addr && prev->state == BT_ACTIVE &&
	    prev->ends > in->now && prev->owner == e->id &&
	    link_scope(in->cfg, s, prev->addr) != NULL) {
		/* The client's live lease in the scope (or another member of its superscope),
		 * which it may not keep (an operator's change made it unallocatable): it is
		 * freed when the new address is ACKed. */
		sup = prev->addr;
	}
	lease_times(e, s, fo, in->msg, addr, key, in->now, d);
	/* pick_address() may have looked the address up already (nothing written since); or
	 * it is the client's own address, and its record is the one by_key gave, while that
	 * is still in by_addr (a returning client): no walk. */
	if (found.valid && found.addr == addr) {
		cur = found.b;
	} else if (prev != NULL && prev->addr == addr && bt_addr_pos_of(prev, &found.pos)) {
		found.addr = addr;
		found.valid = true;
		found.b = prev;
		cur = prev;
	} else {
		cur = lookup_found(e, addr, &found);
	}
	/* A client that already holds the address keeps its ACTIVE binding (also one filed
	 * under its key from before its reservation): only a REQUEST changes what is durable.
	 * Otherwise hold the address for it. */
	if (cur == NULL || !bt_key_equal(&cur->key, key_for(cur, in->msg, res, key)) ||
	    cur->state != BT_ACTIVE || cur->ends <= in->now) {
		uint64_t hold = in->now + s->offer_hold;
		/* Conflict detection (probe.c): only an address new to the client is probed;
		 * the client may still answer for its own, and a reserved one is its own. */
		bool fresh = cur == NULL || !bt_key_equal(&cur->key, key);

		if (cur != NULL && bt_key_equal(&cur->key, key) && cur->state == BT_OFFERED &&
		    cur->ends >= hold) {
			goto answer;	/* repeated DISCOVER within the hold */
		}
		if (write_binding_sup(e, in->msg, addr, s->index, key, BT_OFFERED, in->now, hold,
				      false, sup, &found) == NULL) {
			offer_failed(e, in->cfg, s, addr, cur);
			return false;
		}
		d->probe = s->conflict_attempts != 0 && fresh && res == NULL;
	}
answer:
	d->reply = DHCP4_OFFER;
	d->yiaddr = addr;
	d->scope = s;
	d->res = res;
	return true;
}

/* --- REQUEST ------------------------------------------------------------------------ */

static bool nak(struct dp_decision *d, const struct dp_scope *s, const char *why)
{
	d->reply = DHCP4_NAK;
	d->scope = s;
	d->message = why;
	return true;
}

static bool ack(struct dp_engine *e, const struct dp_ingress *in, const struct dp_scope *s,
		const struct dp_fo_view *fo, const struct dp_client_key *key,
		const struct dp_reservation *res, uint32_t addr, const struct found *found,
		struct dp_decision *d)
{
	struct bt_binding *nb;

	lease_times(e, s, fo, in->msg, addr, key, in->now, d);
	nb = write_active(e, in->msg, addr, s->index, key, in->now, lease_end(in->now, d->lease),
			  d->policy, found);
	if (nb == NULL) {
		return false;
	}
	d->reply = DHCP4_ACK;
	d->commit = true;
	d->seq = nb->seq;
	d->key_hash = nb->key_hash;
	d->yiaddr = addr;
	d->ciaddr = in->msg->ciaddr;
	d->scope = s;
	d->res = res;
	return true;
}

static int free_binding(struct dp_engine *e, const struct dp_config *cfg,
			const struct bt_binding *b, uint64_t now, uint8_t flags);
static int restore_offer(struct dp_engine *e, const struct dp_config *cfg,
			 const struct bt_binding *b, uint64_t now);

/* Forget our offer to a client that chose another server. */
static void withdraw_offer(struct dp_engine *e, const struct dp_ingress *in,
			   const struct dp_client_key *key)
{
	const struct bt_binding *b = bt_lookup_key(e->table, key);
	const struct dp_scope *s;

	if (b != NULL && b->state == BT_OFFERED && b->owner == e->id) {
		uint32_t addr = b->addr;

		s = dp_config_scope_of(in->cfg, addr);
		if (s != NULL && s->fo_rel != 0) {
			(void)restore_offer(e, in->cfg, b, in->now);
		} else if (b->under != 0) {
			/* The offer covered a stored binding (an ended lease), whose change may
			 * still be in its writer's ring: free it as a reclaim does, posted, so
			 * that the store follows and the next writer waits for that FREE
			 * (free_settled()). Removed silently, another worker could write the
			 * address at once and see its change overwritten by the old one
			 * (fuzz_engine_seq, crash-withdraw-offer-order). No room: the offer
			 * stays until its hold ends. */
			(void)free_binding(e, in->cfg, b, in->now, scope_flags(s));
		} else if (bt_remove(&e->writer, b) == 0) {
			flood_track(e, b, NULL);
			give_back(e, in->cfg, addr);
		}
	}
}

/* Failover: is the address another client's, in use (what earns a NAK)? An address that is
 * only not ours to give (the partner's pool, an ended lease) is not. */
static bool in_use(const struct bt_binding *b, const struct dp_client_key *key, uint64_t now)
{
	if (b == NULL || b->key.len == 0 || bt_key_equal(&b->key, key)) {
		return false;
	}
	return (b->state == BT_ACTIVE || b->state == BT_OFFERED || b->state == BT_ABANDONED) &&
	       b->ends > now;
}

/*
 * The client @p key took another address in the scope than @p addr, its live lease there
 * (bt_binding.supersedes): free @p addr, so that a client holds one binding per scope. Its
 * FREE follows the ACK in our ring; if the ring refuses it, the lease simply runs out.
 */
static __attribute__((cold, noinline)) void supersede(struct dp_engine *e,
						      const struct dp_ingress *in,
						      const struct dp_client_key *key, uint32_t addr)
{
	const struct bt_binding *old = bt_lookup_addr(e->table, addr);

	if (old != NULL && old->owner == e->id && old->state == BT_ACTIVE &&
	    bt_key_equal(&old->key, key) &&
	    free_binding(e, in->cfg, old, in->now, scope_flags(dp_config_scope_of(in->cfg, addr)))
	    == 0) {
		e->ctr->superseded++;
	}
}

/*
 * Is the request in @p in a copy of the one our ACK that wrote @p b (the client's record of
 * the address) answered: the same xid and kind of request (req_kind()), before that ACK's T1
 * and within DUP_WINDOW seconds of it, the binding still ours and active (see the top
 * comment, "Duplicate requests")? A renewal comes at T1 or later, so it is never taken for a
 * copy even when the client keeps its xid. The ACK's change must have been posted
 * (b->seq <= e->seq): a record whose post failed is decided afresh, so that no reply ever
 * waits for a sequence number the next, unrelated change will take.
 */
static bool dup_request(const struct dp_engine *e, const struct dp_ingress *in,
			const struct dp_scope *s, const struct bt_binding *b)
{
	struct dp_decision t;
	uint64_t window = DUP_WINDOW;

	if (b->state != BT_ACTIVE || b->acked != req_kind(in->msg) || b->xid != in->msg->xid ||
	    b->owner != e->id || b->seq == 0 || b->seq > e->seq || b->ends <= in->now) {
		return false;
	}
	if (b->ends != BT_INFINITE && b->ends > b->start) {
		renewal_times(s, b->ends - b->start < UINT32_MAX ?
				 (uint32_t)(b->ends - b->start) : UINT32_MAX - 1, &t);
		window = t.t1 < window ? t.t1 : window;
	}
	return in->now < b->start + window;
}

/* Answer a copy of an ACKed request with the lease @p b, that ACK's binding, holds: the same
 * address and end, nothing written or posted. The reply waits for b->seq, like the first. */
static bool ack_again(struct dp_engine *e, const struct dp_ingress *in, const struct dp_scope *s,
		      const struct dp_reservation *res, const struct bt_binding *b,
		      struct dp_decision *d)
{
	uint64_t left = b->ends - in->now;

	renewal_times(s, b->ends == BT_INFINITE ? UINT32_MAX :
			 left < UINT32_MAX ? (uint32_t)left : UINT32_MAX - 1, d);
	e->ctr->duplicate_requests++;
	d->reply = DHCP4_ACK;
	d->commit = true;
	d->seq = b->seq;
	d->key_hash = b->key_hash;
	d->yiaddr = b->addr;
	d->ciaddr = in->msg->ciaddr;
	d->scope = s;
	d->res = res;
	return true;
}

/*
 * A REQUEST for an address of another member of the selected scope's superscope (one link):
 * the member decides, under the client's policy there (policy_admit's rules).
 * @return false when that policy denies the client (counted).
 */
static __attribute__((noinline)) bool request_member(struct dp_engine *e,
						     const struct dp_ingress *in,
						     const struct dp_scope **sp,
						     const struct dp_client_key *key,
						     struct dp_decision *d, uint32_t addr)
{
	const struct dp_scope *t = link_scope(in->cfg, *sp, addr);

	if (t == NULL) {
		return true;	/* not on this link: NAKed as any foreign address */
	}
	*sp = t;
	d->policy = member_policy(in, t);
	if (d->policy != NULL && d->policy->deny && reservation_of(t, in->msg, key) == NULL) {
		e->ctr->drop[DP_DROP_POLICY_DENIED]++;
		return false;
	}
	return true;
}

static bool on_request(struct dp_engine *e, const struct dp_ingress *in,
		       const struct dp_scope *s, const struct dp_fo_view *fo,
		       const struct dp_client_key *key, struct dp_decision *d)
{
	const struct dhcp4_msg *m = in->msg;
	const struct dp_reservation *res;
	const struct bt_binding *b;
	struct found found = { .valid = false, .key = NULL };
	enum req_state st = req_state_of(in);
	uint32_t sid = 0, sup, addr = m->ciaddr;	/* sid: option 54, 4 bytes when present */
	bool mine, avail;

	if (st == SELECTING) {
		(void)dhcp4_opt_u32(m, DHCP4_OPT_SERVER_ID, &sid);
		if (!is_our_address(in->cfg, sid)) {
			withdraw_offer(e, in, key);
			e->ctr->drop[DP_DROP_OTHER_SERVER]++;
			return false;
		}
		if (!dhcp4_opt_u32(m, DHCP4_OPT_REQUESTED_IP, &addr)) {
			e->ctr->drop[DP_DROP_BAD_REQUEST]++;
			return false;
		}
	} else if (st == INIT_REBOOT) {
		(void)dhcp4_opt_u32(m, DHCP4_OPT_REQUESTED_IP, &addr);
	} else if (st == REQ_INVALID) {
		e->ctr->drop[DP_DROP_BAD_REQUEST]++;
		return false;
	}

	if (s->superscope != 0 && !dp_scope_contains(s, addr) &&
	    !request_member(e, in, &s, key, d, addr)) {
		return false;
	}
	res = reservation_of(s, m, key);
	if (res == NULL && s->superscope != 0) {
		const struct dp_scope *t = s;

		/* Reserved in another member: any other address of the link is NAKed below. */
		res = member_reservation(in->cfg, &t, m, key);
	}
	if (!dp_scope_contains(s, addr)) {
		if (st == REBINDING) {
			e->ctr->drop[DP_DROP_UNKNOWN_CLIENT]++;
			return false;
		}
		return nak(d, s, "address not on this network");
	}
	if (res != NULL && res->addr != addr) {
		return nak(d, s, "client has a reserved address");
	}
	if (res == NULL && dp_scope_in_pool(s, addr) && !dp_policy_addr_ok(s, d->policy, addr)) {
		/* The address belongs to another policy's range (or the client's policy has
		 * ranges and this is not in them): the client starts over and gets one of its
		 * own (policy.h). */
		return nak(d, s, "address not allowed for this client");
	}
	b = lookup_found_hinted(e, addr, in->addr_hint, &found);
	if (fo != NULL && fo_held(e, s->index, addr)) {
		/* The control thread is moving this binding between writers: for a few
		 * milliseconds nobody answers for it (the client asks again). */
		e->ctr->drop[DP_DROP_FO_NOT_SERVING]++;
		return false;
	}
	if (res == NULL && holds(b, m, key) && dp_scope_find_reservation_addr(s, addr) != NULL) {
		/* The operator moved the reservation of this address to another client: this
		 * one is told, and its binding ends by its writer, so that the address becomes
		 * the new client's (whose worker then takes the record over, writable()). */
		if (b->owner == e->id) {
			dp_engine_end_moved(e, in->cfg, addr, in->now);
		} else if (e->tell != NULL) {
			(void)e->tell(e->tell_ctx, b->owner, DP_CMD_END_MOVED, s->index, addr);
		}
		return nak(d, s, "address reserved for another client");
	}
	mine = b != NULL && bt_key_equal(&b->key, key_for(b, m, res, key));
	if (mine) {
		if (b->state == BT_ABANDONED || b->state == BT_BACKUP) {
			return nak(d, s, "address not available");
		}
		if (fo != NULL && res == NULL && !fo_free_for(e, fo, b, key, ended_by(in))) {
			/* A secondary's ended lease: the primary's address now (fo_free_for). */
			return nak(d, s, "address not available");
		}
		if (dup_request(e, in, s, b)) {
			return ack_again(e, in, s, res, b, d);
		}
		sup = b->state == BT_OFFERED ? b->supersedes : 0;
		/* Nothing written since the lookup: the ACK replaces what it found. */
		if (!ack(e, in, s, fo, key, res, addr, &found, d)) {
			return false;
		}
		if (sup != 0 && sup != addr) {
			supersede(e, in, key, sup);
		}
		return true;
	}
	/* Failover: a reserved address is its client's on both servers, outside the split. */
	avail = free_for(e, res != NULL ? NULL : fo, b, key, ended_by(in));
	if (!avail && (fo == NULL || in_use(b, key, ended_by(in)))) {
		return nak(d, s, "address in use by another client");
	}
	/* Free, or another client's finished binding: no record of this client on it. (In a
	 * failover scope, possibly the partner's to give: then the client is not ours.) */
	if (st == SELECTING && avail && (res == NULL || res->addr != addr)) {
		/* We hold no offer of this address for this client (we never made one, or its
		 * hold ended and the address went back): RFC 2131 4.3.2 has a server with no
		 * record of the client remain silent. ACKing would give any free address to
		 * anyone who names it, one binding per packet; a NAK would tell a client whose
		 * offer we merely forgot to start over, which silence also does (it retransmits,
		 * then falls back to INIT). An address another client holds still gets the NAK
		 * below (RFC 2131 3.1 step 4: "already allocated"). */
		e->ctr->drop[DP_DROP_NOT_OFFERED]++;
		return false;
	}
	if (st == SELECTING || (res != NULL && res->addr == addr)) {
		if (avail && may_write(e, s, addr, res)) {
			return ack(e, in, s, fo, key, res, addr, NULL, d);
		}
		return nak(d, s, "address not available");
	}
	if (st == RENEWING) {
		return nak(d, s, "no binding for this client");
	}
	e->ctr->drop[DP_DROP_UNKNOWN_CLIENT]++;	/* RFC 2131 4.3.2: remain silent */
	return false;
}

/* --- DECLINE, RELEASE, INFORM, BOOTP ------------------------------------------------ */

static bool on_decline(struct dp_engine *e, const struct dp_ingress *in,
		       const struct dp_scope *s, const struct dp_client_key *key)
{
	const struct bt_binding *b;
	uint32_t sid, addr;

	if (dhcp4_opt_u32(in->msg, DHCP4_OPT_SERVER_ID, &sid) && !is_our_address(in->cfg, sid)) {
		e->ctr->drop[DP_DROP_OTHER_SERVER]++;
		return false;
	}
	if (!dhcp4_opt_u32(in->msg, DHCP4_OPT_REQUESTED_IP, &addr)) {
		e->ctr->drop[DP_DROP_BAD_REQUEST]++;
		return false;
	}
	b = bt_lookup_addr(e->table, addr);
	if (b == NULL || !bt_key_equal(&b->key, key) || b->owner != e->id) {
		e->ctr->drop[DP_DROP_NOT_BOUND]++;
		return false;
	}
	if (b->state == BT_ABANDONED && b->ends > in->now) {
		/* Already declined by this client: a copy (redundant relays, a retransmit). It
		 * neither extends the hold nor counts against the client's declines. */
		e->ctr->drop[DP_DROP_DUPLICATE_DECLINE]++;
		return false;
	}
	if (!decline_allowed(e, in, key)) {
		/* One client sweeping the pool with DECLINEs: it keeps its address. */
		e->ctr->drop[DP_DROP_DECLINE_LIMITED]++;
		return false;
	}
	if (s->superscope != 0 && link_scope(in->cfg, s, addr) != NULL) {
		s = link_scope(in->cfg, s, addr);	/* another member's address (one link) */
	}
	/* Someone else answers ARP for it: keep it out of every pool for decline_hold. */
	(void)write_binding(e, in->msg, addr, s->index, key, BT_ABANDONED, in->now,
			    in->now + s->decline_hold, true);
	return false;
}

bool dp_engine_conflict(struct dp_engine *e, const struct dp_ingress *in, uint32_t addr)
{
	const struct bt_binding *b = bt_lookup_addr(e->table, addr);
	const struct dp_scope *s = dp_config_scope_of(in->cfg, addr);
	struct dp_client_key key;

	if (dp_engine_client_key(in->cfg, in->msg, in->iface, &key) != 0 || s == NULL ||
	    b == NULL || b->owner != e->id || b->state != BT_OFFERED ||
	    !bt_key_equal(&b->key, &key)) {
		return false;
	}
	/* Someone answers for it: as a DECLINE, out of every pool for decline_hold (the
	 * client's next DISCOVER skips an abandoned previous binding: pick_address()). */
	return write_binding(e, in->msg, addr, s->index, &key, BT_ABANDONED, in->now,
			     in->now + s->decline_hold, true) != NULL;
}

static bool on_release(struct dp_engine *e, const struct dp_ingress *in,
		       const struct dp_scope *s, const struct dp_client_key *key)
{
	const struct bt_binding *b = bt_lookup_addr(e->table, in->msg->ciaddr);
	uint32_t addr = in->msg->ciaddr;

	if (b == NULL || !bt_key_equal(&b->key, key) || b->owner != e->id ||
	    b->state != BT_ACTIVE) {
		e->ctr->drop[DP_DROP_NOT_BOUND]++;
		return false;
	}
	if (write_binding(e, in->msg, addr, s->index, key, BT_RELEASED, in->now, in->now,
			  true) != NULL) {
		give_back(e, in->cfg, addr);
	}
	return false;	/* RELEASE gets no answer */
}

static bool on_inform(struct dp_engine *e, const struct dp_ingress *in,
		      const struct dp_scope *s, const struct dp_client_key *key,
		      struct dp_decision *d)
{
	if (in->msg->ciaddr == 0) {
		/* RFC 2131 4.3.5: the answer goes to ciaddr, which the client MUST fill in. */
		e->ctr->drop[DP_DROP_BAD_REQUEST]++;
		return false;
	}
	d->reply = DHCP4_ACK;
	d->ciaddr = in->msg->ciaddr;
	d->scope = s;
	d->res = reservation_of(s, in->msg, key);
	d->lease = 0;	/* RFC 2131 §4.3.5: no lease time in the answer to an INFORM */
	return true;
}

static bool on_bootp(struct dp_engine *e, const struct dp_ingress *in,
		     const struct dp_scope *s, const struct dp_client_key *key,
		     struct dp_decision *d)
{
	const struct dp_reservation *res = s->bootp ? reservation_of(s, in->msg, key) : NULL;
	struct bt_binding *nb;

	if (res == NULL ||
	    !free_for(e, NULL, bt_lookup_addr(e->table, res->addr), key, ended_by(in))) {
		e->ctr->drop[DP_DROP_BOOTP_NO_RESERVATION]++;
		return false;
	}
	nb = write_active(e, in->msg, res->addr, s->index, key, in->now, BT_INFINITE, d->policy,
			  NULL);
	if (nb == NULL) {
		return false;
	}
	d->reply = DHCP4_BOOTP;
	d->commit = true;
	d->seq = nb->seq;
	d->key_hash = nb->key_hash;
	d->yiaddr = res->addr;
	d->scope = s;
	d->res = res;
	d->lease = UINT32_MAX;
	return true;
}

/* --- policies and the MAC filter (policy.h) ------------------------------------------ */

static __attribute__((noinline)) bool mac_filter_pass(struct dp_engine *e,
						      const struct dp_ingress *in)
{
	int why = dp_mac_filter(in->cfg, in->msg);

	if (why != 0) {
		e->ctr->drop[why]++;
		return false;
	}
	return true;
}

/*
 * Find the request's policy (d->policy) and apply its deny. A client with a reservation is
 * named by the operator: a deny does not apply to it (its policy's options and lease time
 * do). RELEASE and DECLINE are heeded whatever the policy says: they only give back.
 */
static __attribute__((noinline)) bool policy_admit(struct dp_engine *e,
						   const struct dp_ingress *in,
						   const struct dp_scope *s,
						   const struct dp_client_key *key,
						   struct dp_decision *d)
{
	const struct dhcp4_msg *m = in->msg;

	d->policy = dp_policy_match(in->cfg, s, m);
	if (d->policy == NULL || !d->policy->deny || m->type == DHCP4_RELEASE ||
	    m->type == DHCP4_DECLINE || reservation_of(s, m, key) != NULL) {
		return true;
	}
	e->ctr->drop[DP_DROP_POLICY_DENIED]++;
	return false;
}

/* --- entry points ------------------------------------------------------------------- */

/*
 * May a request pick its scope by ciaddr? RFC 2131 table 5: ciaddr is 0 in DHCPDISCOVER and
 * DHCPDECLINE, and in a DHCPREQUEST from SELECTING or INIT-REBOOT (which carry a server
 * identifier or a requested address, §4.3.2); only a RENEWING or REBINDING REQUEST, RELEASE
 * and INFORM fill it with the address the client holds. Anything else with a ciaddr is not
 * believed: a host on one segment must not reach (and empty) another segment's scope by
 * writing an address of it there. BOOTP goes by its ingress too (only reservations).
 */
static bool scope_by_ciaddr(const struct dhcp4_msg *m)
{
	switch (m->type) {
	case DHCP4_RELEASE:
	case DHCP4_INFORM:
		return true;
	case DHCP4_REQUEST:
		return !dhcp4_has(m, DHCP4_OPT_SERVER_ID) && !dhcp4_has(m, DHCP4_OPT_REQUESTED_IP);
	default:
		return false;
	}
}

/*
 * The scope a request belongs to: the relay's (giaddr); else, for a client that already has
 * an address and may say so (scope_by_ciaddr: RENEWING, REBINDING, INFORM, RELEASE), the
 * scope of that address, which may be a relayed scope the client now reaches us directly
 * from; else the ingress interface's.
 */
static const struct dp_scope *select_scope(const struct dp_config *cfg,
					   const struct dhcp4_msg *m, int iface)
{
	const struct dp_scope *s;

	if (m->giaddr != 0) {
		return dp_config_scope_by_relay(cfg, m->giaddr);
	}
	if (m->ciaddr != 0 && scope_by_ciaddr(m)) {
		s = dp_config_scope_of(cfg, m->ciaddr);
		if (s != NULL) {
			return s;
		}
	}
	return iface < 0 ? NULL : dp_config_scope_by_iface(cfg, (uint32_t)iface);
}

/* dp_engine_client_key(), also giving the request's scope (select_scope(), NULL: none) in
 * @p sp when it returns 0: dp_engine_handle() needs both. */
static int client_key_scoped(const struct dp_config *cfg, const struct dhcp4_msg *m, int iface,
			     struct dp_client_key *k, const struct dp_scope **sp)
{
	const struct dp_scope *s;
	const struct dp_reservation *res;
	int rc = dp_client_key_of(m, k);

	if (rc != 0) {
		return rc;
	}
	s = select_scope(cfg, m, iface);
	*sp = s;
	if (s == NULL) {
		return 0;
	}
	res = s->n_reservations != 0 ? reservation_of(s, m, k) : NULL;
	if (res == NULL && s->superscope != 0) {
		res = member_reservation(cfg, &s, m, k);
	}
	if (res != NULL) {
		*k = res->key;	/* one client, one key, one worker, one writer */
	}
	return 0;
}

int dp_engine_client_key(const struct dp_config *cfg, const struct dhcp4_msg *m, int iface,
			 struct dp_client_key *k)
{
	const struct dp_scope *s;

	return client_key_scoped(cfg, m, iface, k, &s);
}

bool dp_engine_handle(struct dp_engine *e, const struct dp_ingress *in, struct dp_decision *d)
{
	const struct dhcp4_msg *m = in->msg;
	const struct dp_fo_view *fo = NULL;
	const struct dp_scope *s;
	struct dp_client_key key;

	memset(d, 0, sizeof(*d));
	d->reply = DP_NO_REPLY;
	d->cfg_gen = in->cfg->generation;
	if (unlikely(e->flood.pools != e->pools)) {
		/* A new snapshot numbers its scopes afresh: offer counts start again. */
		memset(e->flood.offers, 0, sizeof(e->flood.offers));
		e->flood.pools = e->pools;
	}
	if (m->op != DHCP4_BOOTREQUEST || m->type == DHCP4_OFFER || m->type == DHCP4_ACK ||
	    m->type == DHCP4_NAK) {
		e->ctr->drop[DP_DROP_BOOTREPLY]++;
		return false;
	}
	if (likely(!in->again)) {
		e->ctr->rx_dhcp[m->type]++;
	}
	if (in->iface < 0) {
		e->ctr->drop[DP_DROP_NO_INTERFACE]++;
		return false;
	}
	if (m->giaddr != 0 && !dp_config_relay_allowed(in->cfg, in->frame->ip_src)) {
		/* Only the relays the operator listed may pick a scope by giaddr (issue 11
		 * item 6): a host must not reach another segment's scope by writing a giaddr. */
		e->ctr->drop[DP_DROP_RELAY_NOT_ALLOWED]++;
		return false;
	}
	if ((in->cfg->n_mac_allow | in->cfg->n_mac_deny) != 0 && !mac_filter_pass(e, in)) {
		return false;
	}
	if (client_key_scoped(in->cfg, m, in->iface, &key, &s) != 0) {
		e->ctr->drop[DP_DROP_KEY_TOO_LONG]++;
		return false;
	}
	if (s == NULL) {
		e->ctr->drop[DP_DROP_NO_SCOPE]++;
		return false;
	}
	if (!s->active) {
		e->ctr->drop[DP_DROP_SCOPE_INACTIVE]++;
		return false;
	}
	if (s->fo_rel != 0) {
		fo = fo_view_of(e, s);
		if (!fo_answers(e, in, fo, &key)) {
			return false;
		}
	}
	d->server_id = in->cfg->ifaces[in->iface].addr;
	d->server_opts = &in->cfg->opts;
	if ((s->n_policies | in->cfg->n_policies) != 0 && !policy_admit(e, in, s, &key, d)) {
		return false;
	}

	switch (m->type) {
	case DHCP4_DISCOVER:
		return on_discover(e, in, s, fo, &key, d);
	case DHCP4_REQUEST:
		return on_request(e, in, s, fo, &key, d);
	case DHCP4_DECLINE:
		return on_decline(e, in, s, &key);
	case DHCP4_RELEASE:
		return on_release(e, in, s, &key);
	case DHCP4_INFORM:
		return on_inform(e, in, s, &key, d);
	case DHCP4_BOOTP:
		return on_bootp(e, in, s, &key, d);
	default:
		e->ctr->drop[DP_DROP_BAD_MSG_TYPE]++;
		return false;
	}
}

bool dp_engine_reclaim(struct dp_engine *e, const struct dp_config *cfg, uint32_t addr,
		       uint64_t now)
{
	const struct bt_binding *b = bt_lookup_addr(e->table, addr);
	const struct dp_scope *s = dp_config_scope_of(cfg, addr);
	struct dp_client_key key;

	if (b == NULL || b->owner != e->id || b->ends > now) {
		return false;
	}
	if (b->state == BT_OFFERED && s != NULL && s->fo_rel != 0) {
		if (restore_offer(e, cfg, b, now) != 0) {
			return false;
		}
	} else if (b->state == BT_OFFERED || b->state == BT_ABANDONED) {
		/* The address goes back to FREE: it leaves the tables, and the store. */
		if (free_binding(e, cfg, b, now, scope_flags(s)) != 0) {
			e->ctr->drop[DP_DROP_COMMIT_FULL]++;
			return false;
		}
	} else if (b->state == BT_ACTIVE) {
		/* The client keeps its affinity: EXPIRED stays indexed by its key. */
		key = b->key;
		if (write_binding(e, NULL, addr, s != NULL ? s->index : b->scope, &key, BT_EXPIRED,
				  now, now, true) == NULL) {
			return false;
		}
		give_back(e, cfg, addr);
	} else {
		return false;
	}
	e->ctr->leases_reclaimed++;
	return true;
}

void dp_engine_release_ended(struct dp_engine *e, const struct dp_config *cfg, uint32_t addr,
			     uint64_t now)
{
	const struct bt_binding *b = bt_lookup_addr(e->table, addr);
	const struct dp_scope *s;
	const struct dp_fo_view *fo;
	static const struct dp_client_key nobody;
	bool ended;

	if (b == NULL || b->owner != e->id) {
		return;
	}
	s = dp_config_scope_of(cfg, addr);
	if (s != NULL && s->fo_rel != 0) {
		/* Failover: an untaken offer goes back to what it covered; any other ended
		 * lease is freed only when anyone may have it (PARTNER-DOWN, MCLT after its
		 * end); before that it is its client's, or the partner's. */
		if (b->state == BT_OFFERED && b->ends <= now) {
			(void)restore_offer(e, cfg, b, now);
			return;
		}
		fo = fo_view_of(e, s);
		if (fo == NULL || b->key.len == 0 || !fo->partner_pool ||
		    !fo_free_for(e, fo, b, &nobody, now)) {
			return;
		}
	}
	ended = b->state == BT_EXPIRED || b->state == BT_RELEASED || b->state == BT_FREE ||
		b->state == BT_RESET || b->ends <= now;
	if (ended && b->state != BT_BACKUP && free_binding(e, cfg, b, now, scope_flags(s)) != 0) {
		/* Not freed (our commit ring is full): the slice owner dropped the address from
		 * its free list when it asked, so nothing would bring it back (the reclaim scan
		 * skips ended records). The requeue scan does (fuzz_engine_seq,
		 * crash-release-ended-ring-full). */
		handoff_lost(e);
	}
}

void dp_engine_end_moved(struct dp_engine *e, const struct dp_config *cfg, uint32_t addr,
			 uint64_t now)
{
	const struct bt_binding *b = bt_lookup_addr(e->table, addr);
	const struct dp_scope *s = dp_config_scope_of(cfg, addr);
	const struct dp_reservation *r;
	struct dp_client_key key;

	if (b == NULL || b->owner != e->id || b->state != BT_ACTIVE || b->ends <= now ||
	    s == NULL || (r = dp_scope_find_reservation_addr(s, addr)) == NULL ||
	    res_client(b, r)) {
		return;	/* not (or no longer) another client's lease of a reserved address */
	}
	key = b->key;
	(void)write_binding(e, NULL, addr, s->index, &key, BT_EXPIRED, now, now, true);
}

/* --- operator and failover changes -------------------------------------------------- */

/* Free an address's binding (it leaves the tables and the store). */
static int free_binding(struct dp_engine *e, const struct dp_config *cfg,
			const struct bt_binding *b, uint64_t now, uint8_t flags)
{
	struct bt_binding gone = *b;
	uint32_t addr = b->addr;
	const struct dp_scope *s;

	gone.state = BT_FREE;
	gone.start = gone.ends = now;
	/* As write_rec: room first, then the compare-and-swap, then the post. */
	if (!e->commit.ops->room(e->commit.ctx, e->id)) {
		return -ENOBUFS;
	}
	if (bt_remove(&e->writer, b) != 0) {
		return -EAGAIN;
	}
	flood_track(e, b, NULL);
	if (post_change(e, &gone, NULL, flags, 0) != 0) {
		return -ENOBUFS;	/* not reached: room was there and FREE is always valid */
	}
	if ((s = dp_config_scope_of(cfg, addr)) != NULL) {
		mark_freed(e, s->index, addr);
	}
	give_back(e, cfg, addr);
	return 0;
}

/*
 * An offer in a failover scope that was not taken (hold over, or the client chose another
 * server): the address goes back to what the offer covered (bt_binding.under). The offer
 * was never posted, so the store still holds that: the restored record is not posted either
 * (its times are the offer's start: the old ones are not kept, and later is the cautious
 * side for the MCLT rule). Another client's ended lease (PARTNER-DOWN) becomes FREE, posted.
 * A FREE or BACKUP address is queued again; an ended lease of the same client is found by
 * its key.
 */
static int restore_offer(struct dp_engine *e, const struct dp_config *cfg,
			 const struct bt_binding *b, uint64_t now)
{
	const struct dp_scope *s = dp_config_scope_of(cfg, b->addr);
	struct rec r = {
		.addr = b->addr, .scope = s != NULL ? s->index : b->scope, .state = b->under,
		.start = b->start, .ends = b->start, .key = &b->key,
	};
	uint8_t under = b->under;
	struct bt_binding *nb;
	int rc;

	if (under == BT_FREE) {
		return free_binding(e, cfg, b, now, scope_flags(s));
	}
	if (under == 0) {
		rc = bt_remove(&e->writer, b);
		if (rc == 0) {
			flood_track(e, b, NULL);
		}
	} else {
		r.key = under == BT_BACKUP ? NULL : &b->key;
		rc = write_rec(e, &r, 0, false, &nb);
	}
	if (rc == 0 && (under == 0 || under == BT_BACKUP)) {
		give_back(e, cfg, r.addr);
	}
	return rc;
}

void dp_note_lease(_Atomic uint64_t *longest, uint64_t start, uint64_t ends)
{
	uint64_t len = ends - start, cur;

	if (longest == NULL || ends == BT_INFINITE || ends <= start) {
		return;
	}
	cur = atomic_load_explicit(longest, memory_order_relaxed);
	while (len > cur && !atomic_compare_exchange_weak_explicit(longest, &cur, len,
								      memory_order_relaxed,
								      memory_order_relaxed)) {
	}
}

static int op_set(struct dp_engine *e, const struct dp_config *cfg, struct dp_lease_op *op,
		  uint64_t now)
{
	const struct dp_scope *s = dp_config_scope_of(cfg, op->addr);
	const struct bt_binding *b = bt_lookup_addr(e->table, op->addr);
	const struct bt_binding *prev = bt_lookup_key(e->table, &op->key);
	bool theirs = b != NULL && !bt_key_equal(&b->key, &op->key);
	struct bt_binding *nb;
	struct rec r;
	int rc;

	if (s == NULL || !dp_scope_contains(s, op->addr)) {
		return -EINVAL;
	}
	if (b != NULL && b->owner != e->id && !op->take) {
		return -EEXIST;		/* written by another worker */
	}
	if (!settled_elsewhere(e, b)) {
		return -EAGAIN;		/* its writer's last change is not durable yet */
	}
	if (op->add) {
		if (theirs && !free_for(e, NULL, b, &op->key, now)) {
			return -EEXIST;
		}
		if (prev != NULL && prev->addr != op->addr && prev->state == BT_ACTIVE &&
		    prev->ends > now && dp_scope_contains(s, prev->addr)) {
			return -EEXIST;	/* the client holds another address in the scope */
		}
	} else if ((b == NULL || b->state == BT_FREE) && !op->may_create) {
		return -ENOENT;
	}
	r = (struct rec){
		.addr = op->addr, .scope = s->index, .state = op->state, .start = op->start,
		.ends = op->ends, .key = &op->key, .hw = op->hw_len != 0 ? op->hw : NULL,
		.hw_len = op->hw_len, .take = true,
	};
	/* Noted before the write makes it visible: a clock tick between the two would miss
	 * it (review19); a write that fails only leaves the bound higher. */
	dp_note_lease(e->longest_set, op->start, op->ends);
	rc = write_rec(e, &r, scope_flags(s), true, &nb);
	if (rc == 0 && (op->state == BT_EXPIRED || op->state == BT_RELEASED ||
			op->state == BT_RESET || op->state == BT_BACKUP)) {
		/* Free for others now (free_for): queued as a reclaim queues the address it
		 * ends, which nothing else would do for an ended record. */
		give_back(e, cfg, op->addr);
	}
	return rc == 0 || rc == -EAGAIN ? rc : -ENOBUFS;	/* -EAGAIN: lost the race */
}

/*
 * DP_OP_PEER (engine.h): make the binding of op->addr exactly what the control thread
 * decided. Only ownership is checked here; -EAGAIN tells the control thread to run it on
 * the right worker. With `take`, the binding's new writer replaces the record another worker
 * wrote in one compare-and-swap, once everything that writer posted for it is durable
 * (-EBUSY until then), as op_set() does: the address never leaves the store nor the table in
 * between (a FREE on the old writer first left the store with no record of it, which a crash
 * before the second write turned into a free address of the primary's pool).
 */
static int op_peer(struct dp_engine *e, const struct dp_config *cfg, struct dp_lease_op *op,
		   uint64_t now)
{
	const struct dp_scope *s = dp_config_scope_of(cfg, op->addr);
	const struct bt_binding *b = bt_lookup_addr(e->table, op->addr);
	uint8_t flags = op->from_peer ? DP_CHANGE_PEER : DP_CHANGE_FO;
	bool keyed = op->state != BT_FREE && op->state != BT_BACKUP;
	struct bt_binding *nb;
	struct bt_binding gone;
	struct rec r;
	uint32_t owner, writer;
	bool taking;
	int slice, rc;

	if (s == NULL || !dp_scope_contains(s, op->addr) || op->state < BT_FREE ||
	    op->state > BT_BACKUP || (keyed && op->key.len == 0)) {
		return -EINVAL;
	}
	slice = dp_pool_owner(e->pools, s->index, op->addr);
	writer = keyed ? bt_key_owner(e->table, &op->key, e->n_workers) :
		 slice >= 0 ? (uint32_t)slice : 0;
	owner = b != NULL ? b->owner : writer;
	/* A FREE is always its writer's: it has nothing to take over. A take runs on the new
	 * binding's writer only (the old one would write a binding that is not its own). */
	taking = op->take && b != NULL && b->owner != e->id && op->state != BT_FREE;
	if ((owner != e->id && !taking) || (op->take && op->state != BT_FREE && writer != e->id)) {
		return -EAGAIN;
	}
	if (op->expect && (op->expect_none ? b != NULL :
			   b == NULL || b->state != op->expect_state ||
			   b->owner != op->expect_owner || b->seq != op->expect_seq ||
			   b->start != op->expect_start)) {
		return -ESTALE;	/* a client changed it since the decision */
	}
	if (taking && (b->seq != 0 || op->settle_seq == 0 ? !settled_elsewhere(e, b) :
		       op->settle_seq > e->commit.ops->durable(e->commit.ctx, b->owner))) {
		return -EBUSY;	/* its writer's last change is on its way to the store */
	}
	if (op->state == BT_FREE) {
		if (b != NULL) {
			return free_binding(e, cfg, b, now, flags);
		}
		/* Already free here: the change is still posted (the store and, for our own
		 * change, the partner follow), and the address queued. */
		if (!e->commit.ops->room(e->commit.ctx, e->id)) {
			return -ENOBUFS;
		}
		memset(&gone, 0, sizeof(gone));
		gone.addr = op->addr;
		gone.scope = s->index;
		gone.state = BT_FREE;
		gone.start = gone.ends = now;
		if (post_change(e, &gone, NULL, flags, 0) != 0) {
			return -ENOBUFS;
		}
		mark_freed(e, s->index, op->addr);
		give_back(e, cfg, op->addr);
		return 0;
	}
	r = (struct rec){
		.addr = op->addr, .scope = s->index, .state = op->state, .start = op->start,
		.ends = op->ends, .key = keyed ? &op->key : NULL,
		.hw = keyed && op->hw_len != 0 ? op->hw : NULL, .hw_len = op->hw_len,
		.peer_info = keyed ? &op->info : NULL, .pet = op->pet, .take = taking,
		.over = taking ? b : NULL,
	};
	dp_note_lease(e->longest_set, op->start, op->ends);	/* before: as op_set() */
	rc = write_rec(e, &r, flags, true, &nb);
	if (rc == 0 && op->state == BT_BACKUP) {
		give_back(e, cfg, op->addr);	/* the secondary's to give: its slice owner's */
	}
	return rc;
}

void dp_engine_apply_op(struct dp_engine *e, const struct dp_config *cfg, struct dp_lease_op *op,
			uint64_t now)
{
	int rc = 0;

	op->count = 0;
	if (op->kind == DP_OP_SET) {
		rc = op_set(e, cfg, op, now);
	} else if (op->kind == DP_OP_DEL) {
		for (uint32_t i = 0; i < op->n_addrs && rc == 0; i++) {
			const struct bt_binding *b = bt_lookup_addr(e->table, op->addrs[i]);

			if (b == NULL || b->owner != e->id) {
				continue;
			}
			rc = free_binding(e, cfg, b, now,
					  scope_flags(dp_config_scope_of(cfg, op->addrs[i])));
			op->count += rc == 0;
		}
	} else if (op->kind == DP_OP_PEER) {
		rc = op_peer(e, cfg, op, now);
	} else {
		rc = -EINVAL;
	}
	op->result = rc;
	op->seq = e->seq;
	atomic_store_explicit(&op->done, 1, memory_order_release);
}

/* --- replies ------------------------------------------------------------------------ */

void dp_reply_dest(const struct dp_frame *f, const struct dhcp4_msg *m,
		   const struct dp_decision *d, const uint8_t our_mac[6], struct dp_udp_dst *dst)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	memset(dst, 0, sizeof(*dst));
	memcpy(dst->src_mac, our_mac, 6);
	dst->nvlan = f->nvlan;
	memcpy(dst->vlan_tpid, f->vlan_tpid, sizeof(dst->vlan_tpid));
	memcpy(dst->vlan_tci, f->vlan_tci, sizeof(dst->vlan_tci));
	dst->ip_src = d->server_id;
	dst->sport = DP_DHCP_SERVER_PORT;
	dst->dport = DP_DHCP_CLIENT_PORT;

	if (m->giaddr != 0) {
		/* Relayed: back to the relay's server port, through the hop it came from. */
		dst->ip_dst = m->giaddr;
		dst->dport = DP_DHCP_SERVER_PORT;
		memcpy(dst->dst_mac, f->src_mac, 6);
	} else if (d->reply == DHCP4_NAK) {
		dst->ip_dst = UINT32_MAX;
		memcpy(dst->dst_mac, bcast, 6);
	} else if (m->ciaddr != 0) {
		dst->ip_dst = m->ciaddr;
		memcpy(dst->dst_mac, f->src_mac, 6);
	} else if ((m->flags & DHCP4_FLAG_BROADCAST) || m->htype != 1 || m->hlen != 6) {
		dst->ip_dst = UINT32_MAX;
		memcpy(dst->dst_mac, bcast, 6);
	} else {
		/* The client has no address yet but can take a unicast to chaddr. */
		dst->ip_dst = d->yiaddr;
		memcpy(dst->dst_mac, m->chaddr, 6);
	}
}

static void put_configured(struct dhcp4_writer *w, const struct dp_option *o,
			   struct dp_counters *ctr)
{
	if (dhcp4_put(w, o->code, o->data, o->len) != DHCP4_OK) {
		ctr->options_dropped++;
	}
}

/* The option of @p code from the most specific of @p layer[0..n) that has it, or NULL. */
static const struct dp_option *opt_of(const struct dp_optlist *const *layer, uint32_t n,
				      uint8_t code)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct dp_option *o = dp_optlist_find(layer[i], code);

		if (o != NULL) {
			return o;
		}
	}
	return NULL;
}

/* Options the client asked for (option 55, in its order), or all of them if it did not ask.
 * Options inherit: a code comes from the most specific list that has it, the reservation's,
 * then the policy's, the scope's, the server's. Codes the server writes itself (the option
 * table's DHCP4_OPTF_SERVER rows) are never taken from the lists. */
static void put_options(struct dhcp4_writer *w, const struct dhcp4_msg *m,
			const struct dp_decision *d, struct dp_counters *ctr)
{
	const struct dp_optlist *layer[4];
	uint32_t nl = 0;
	uint16_t n;
	const uint8_t *prl = dhcp4_opt(m, DHCP4_OPT_PRL, &n);

	if (d->res != NULL) {
		layer[nl++] = &d->res->opts;
	}
	if (d->policy != NULL) {
		layer[nl++] = &d->policy->opts;
	}
	layer[nl++] = &d->scope->opts;
	if (d->server_opts != NULL) {
		layer[nl++] = d->server_opts;
	}
	if (prl != NULL) {
		uint64_t done[4] = {0, 0, 0, 0};	/* codes already written */
		uint64_t always[4] = {0, 0, 0, 0};

		for (uint16_t i = 0; i < n; i++) {
			const struct dp_option *o;

			if (dhcp4_opts_server_writes(prl[i]) || (done[prl[i] >> 6] >> (prl[i] & 63)) & 1) {
				continue;
			}
			done[prl[i] >> 6] |= 1ULL << (prl[i] & 63);
			o = opt_of(layer, nl, prl[i]);
			if (o != NULL) {
				put_configured(w, o, ctr);
			}
		}
		/* always-send: after the requested ones, in code order, from any level. */
		for (uint32_t l = 0; l < nl; l++) {
			for (int k = 0; k < 4; k++) {
				always[k] |= layer[l]->always[k] & ~done[k];
			}
		}
		for (int k = 0; k < 4; k++) {
			while (always[k] != 0) {
				uint8_t code = (uint8_t)(k * 64 + __builtin_ctzll(always[k]));
				const struct dp_option *o = opt_of(layer, nl, code);

				always[k] &= always[k] - 1;
				if (o != NULL) {
					put_configured(w, o, ctr);
				}
			}
		}
		return;
	}
	for (uint32_t l = 0; l < nl; l++) {
		for (uint32_t i = 0; i < layer[l]->n; i++) {
			if (opt_of(layer, l, layer[l]->v[i].code) == NULL) {
				put_configured(w, &layer[l]->v[i], ctr);
			}
		}
	}
}

/* Option 55 lists up to this long are keyed and compared as two zero-padded words. */
#define PRL_SHORT 16
_Static_assert(PRL_SHORT == 2 * sizeof(uint64_t) && PRL_SHORT <= DP_RCACHE_PRL,
	       "a short option 55 is two words of dp_rcache_ent.prl");

/* Option 55 of a request as the cache keys it: the list, its length, and for a short one
 * (the usual: a few to a dozen codes) its bytes in two zero-padded words. */
struct prl_key {
	const uint8_t *prl;	/* NULL when the request had no option 55 */
	uint16_t n;
	bool small;
	uint64_t w[2];
};

/* The entry of dp_rcache for the lists of @p d and option 55 @p k. */
static struct dp_rcache_ent *rcache_slot(struct dp_rcache *rc, const struct dp_decision *d,
					 const struct prl_key *k)
{
	/* Not the generation: a snapshot's entry then takes the place of the one its
	 * predecessor left at the same key, and rcache_match() tells them apart. */
	uint64_t h = (uint64_t)(uintptr_t)d->scope ^ (uint64_t)(uintptr_t)d->policy << 1 ^
		     (uint64_t)(uintptr_t)d->res << 2;

	/* Only picks a slot (rcache_match() decides): a short list's two words, else a
	 * multiply-add per byte of the list, then one mix, rather than lw_hash_chain()'s
	 * tail copy and three. */
	if (k->prl != NULL) {
		if (k->small) {
			h ^= k->w[0] * 0x9e3779b97f4a7c15ull + k->w[1];
		} else {
			for (uint16_t i = 0; i < k->n; i++) {
				h = h * 31 + k->prl[i];
			}
		}
		h ^= k->n + 1u;
	}
	h = lw_mix64(h);
	return &rc->ent[h % DP_RCACHE_WAYS];
}

static bool rcache_match(const struct dp_rcache_ent *c, const struct dp_decision *d,
			 const struct prl_key *k)
{
	uint64_t w[2];

	if (c->gen != d->cfg_gen || c->scope != d->scope || c->policy != d->policy ||
	    c->res != d->res || c->server != d->server_opts ||
	    c->prl_n != (int16_t)(k->prl != NULL ? k->n : -1)) {
		return false;
	}
	if (k->prl == NULL) {
		return true;
	}
	if (!k->small) {
		return memcmp(c->prl, k->prl, k->n) == 0;
	}
	/* A filled entry's prl[] is zero after its list (put_options_cached()). */
	memcpy(w, c->prl, sizeof(w));
	return w[0] == k->w[0] && w[1] == k->w[1];
}

/* put_options() through the worker's cache @p rc (see engine.h). */
static void put_options_cached(struct dhcp4_writer *w, const struct dhcp4_msg *m,
			       const struct dp_decision *d, struct dp_counters *ctr,
			       struct dp_rcache *rc)
{
	uint16_t n = 0;
	const uint8_t *prl = dhcp4_opt(m, DHCP4_OPT_PRL, &n);
	struct prl_key k = { .prl = prl, .n = n, .small = n <= PRL_SHORT, .w = { 0, 0 } };
	struct dp_rcache_ent *c;
	uint64_t dropped;
	size_t from;

	if (rc == NULL || d->cfg_gen == 0 || n > DP_RCACHE_PRL) {
		put_options(w, m, d, ctr);
		return;
	}
	if (prl != NULL && k.small) {
		memcpy(k.w, prl, n);
	}
	c = rcache_slot(rc, d, &k);
	if (rcache_match(c, d, &k) &&
	    dhcp4_put_encoded(w, c->bytes, c->len) == DHCP4_OK) {
		rc->hits++;
		return;
	}
	dropped = ctr->options_dropped;
	from = w->len;
	put_options(w, m, d, ctr);
	if (ctr->options_dropped != dropped || w->len - from > DP_RCACHE_BYTES) {
		return;		/* not the whole encoding, or too long to keep */
	}
	c->gen = d->cfg_gen;
	c->scope = d->scope;
	c->policy = d->policy;
	c->res = d->res;
	c->server = d->server_opts;
	c->prl_n = (int16_t)(prl != NULL ? n : -1);
	memset(c->prl, 0, sizeof(c->prl));	/* rcache_match() reads a short list's words */
	if (prl != NULL) {
		memcpy(c->prl, prl, n);
	}
	c->len = (uint16_t)(w->len - from);
	memcpy(c->bytes, w->buf + from, c->len);
	rc->fills++;
}

/* siaddr and file: the policy's when it sets them (PXE boot by client architecture), else the
 * scope's. */
static uint32_t reply_siaddr(const struct dp_decision *d)
{
	return d->policy != NULL && d->policy->next_server != 0 ? d->policy->next_server :
								   d->scope->next_server;
}

static const char *reply_file(const struct dp_decision *d)
{
	const char *f = d->policy != NULL && d->policy->boot_file[0] ? d->policy->boot_file :
								       d->scope->boot_file;

	return f[0] != '\0' ? f : NULL;
}

/*
 * The lease time, T1 and T2 (when @p lease: not for a BOOTP reply; T1 and T2 not for an
 * infinite lease) and the subnet mask, in that order, with one bounds check: a reply that
 * has no room for one of them is not sent at all, so all or none is the same result.
 */
static int put_lease_mask(struct dhcp4_writer *w, const struct dp_decision *d, bool lease)
{
	bool times = lease && d->lease != UINT32_MAX;
	uint8_t *p = dhcp4_put_room(w, (lease ? 6u : 0u) + (times ? 12u : 0u) + 6u);

	if (p == NULL) {
		return DHCP4_E_NOSPACE;
	}
	if (lease) {
		p = dhcp4_enc_u32(p, DHCP4_OPT_LEASE_TIME, d->lease);
	}
	if (times) {
		p = dhcp4_enc_u32(p, DHCP4_OPT_T1, d->t1);
		p = dhcp4_enc_u32(p, DHCP4_OPT_T2, d->t2);
	}
	(void)dhcp4_enc_u32(p, DHCP4_OPT_SUBNET_MASK, d->scope->mask);
	return DHCP4_OK;
}

/*
 * The UDP checksum's sum of a reply's BOOTP message @p p: dhcp4_build_begin() zeroed the
 * fixed header before writing op .. chaddr, the file field when @p file (sname never is
 * written here) and the cookie, and dhcp4_build_end() padded with zeros after END
 * (@p used bytes before the padding). Zeros add nothing to the sum, so only the bytes
 * written are read: about a third of a 300-byte reply. Both pieces start at an even offset
 * and the first has an even length, as dp_csum_partial2() needs.
 */
static uint32_t reply_sum(const uint8_t *p, size_t used, bool file)
{
	/* file runs into the cookie: two pieces either way, summed in one call. */
	size_t from = file ? DHCP4_OFF_FILE : DHCP4_FIXED_LEN;

	return dp_csum_partial2(p, DHCP4_OFF_SNAME, p + from, used - from, 0);
}

size_t dp_reply_build(uint8_t *buf, size_t cap, const struct dp_frame *f,
		      const struct dhcp4_msg *m, const struct dp_decision *d,
		      const uint8_t our_mac[6], struct dp_counters *ctr)
{
	return dp_reply_build_cached(buf, cap, f, m, d, our_mac, ctr, NULL);
}

size_t dp_reply_build_cached(uint8_t *buf, size_t cap, const struct dp_frame *f,
			     const struct dhcp4_msg *m, const struct dp_decision *d,
			     const uint8_t our_mac[6], struct dp_counters *ctr,
			     struct dp_rcache *cache)
{
	struct dp_udp_dst dst;
	struct dhcp4_writer w;
	size_t hdr = dp_frame_udp_hdr_len(f->nvlan);
	const struct dp_scope *s = d->scope;
	bool nak = d->reply == DHCP4_NAK;
	bool bootp = d->reply == DHCP4_BOOTP;
	uint16_t len82 = 0;
	const uint8_t *opt82 = m->giaddr ? dhcp4_opt(m, DHCP4_OPT_RELAY_AGENT, &len82) : NULL;
	size_t echo82 = opt82 ? len82 + 2u * (len82 ? (len82 + 254u) / 255u : 1u) : 0, room;
	size_t used;
	const char *file;
	int rc, len;

	if (cap <= hdr) {
		return 0;
	}
	/* The relay strips option 82 before the client sees the reply (RFC 3046 2.2): the
	 * client's size limit applies to the rest. */
	room = dhcp4_reply_cap(m, cap - hdr) + echo82;
	if (bootp && !dhcp4_has(m, DHCP4_OPT_MAX_SIZE) && room > DHCP4_MIN_REPLY_LEN + echo82) {
		/* RFC 951 clients have a 64-byte vendor area: a BOOTREPLY is 300 bytes, as ISC
		 * dhcpd sends it; options that do not fit are left out (and counted). */
		room = DHCP4_MIN_REPLY_LEN + echo82;
	}
	if (room > cap - hdr) {
		room = cap - hdr;
	}
	file = nak || s == NULL ? NULL : reply_file(d);
	rc = dhcp4_build_begin(&w, buf + hdr, room, m,
			       nak ? 0 : d->ciaddr, nak ? 0 : d->yiaddr,
			       nak || s == NULL ? 0 : reply_siaddr(d), NULL, file);
	if (rc != DHCP4_OK) {
		return 0;
	}
	if (nak && m->giaddr != 0) {
		/* RFC 2131 4.3.2: a NAK through a relay goes out with the broadcast bit. */
		buf[hdr + 10] |= 0x80;
	}
	/* END, and the relay agent's option 82 echoed last (RFC 3046 2.2). */
	w.reserve = 1 + echo82;

	if (!bootp) {
		/* Message type and server identifier: one bounds check (all or no reply). */
		uint8_t *p = dhcp4_put_room(&w, 3 + 6);

		if (p == NULL) {
			return 0;
		}
		p = dhcp4_enc_u8(p, DHCP4_OPT_MSG_TYPE, d->reply);
		(void)dhcp4_enc_u32(p, DHCP4_OPT_SERVER_ID, d->server_id);
	}
	if (rc == DHCP4_OK && !bootp && dhcp4_has(m, DHCP4_OPT_CLIENT_ID)) {
		/* RFC 6842: a client identifier comes back unchanged in OFFER, ACK and NAK. */
		uint16_t n;
		const uint8_t *id = dhcp4_opt(m, DHCP4_OPT_CLIENT_ID, &n);

		rc = dhcp4_put(&w, DHCP4_OPT_CLIENT_ID, id, n);
	}
	if (rc == DHCP4_OK && !nak) {
		rc = put_lease_mask(&w, d, d->lease != 0 && !bootp);
		if (rc == DHCP4_OK && d->res != NULL && d->res->hostname[0]) {
			rc = dhcp4_put(&w, DHCP4_OPT_HOSTNAME, d->res->hostname,
				       strlen(d->res->hostname));
		}
		if (rc == DHCP4_OK) {
			put_options_cached(&w, m, d, ctr, cache);
		}
	} else if (rc == DHCP4_OK && d->message != NULL) {
		if (dhcp4_put(&w, DHCP4_OPT_MESSAGE, d->message, strlen(d->message)) != DHCP4_OK) {
			ctr->options_dropped++;
		}
	}
	if (rc != DHCP4_OK) {
		return 0;
	}
	if (opt82 != NULL) {
		w.reserve = 1;
		if (dhcp4_put(&w, DHCP4_OPT_RELAY_AGENT, opt82, len82) != DHCP4_OK) {
			return 0;
		}
	}
	w.reserve = 0;
	used = w.len + 1;	/* with END; dhcp4_build_end() pads with zeros after it */
	len = dhcp4_build_end(&w);
	if (len < 0) {
		return 0;
	}
	dp_reply_dest(f, m, d, our_mac, &dst);
	/* Checksums the port computes (f->tx_csum, the worker's) are not summed here. */
	dst.tx_csum = f->tx_csum;
	return dp_frame_build_udp_summed(buf, cap, &dst, (size_t)len,
					 f->tx_csum & DP_TX_CSUM_UDP ? 0 :
					 reply_sum(buf + hdr, used, file != NULL));
}
