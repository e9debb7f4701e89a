/*
 * fo_run.h: what the files of the control plane's failover share (failover.c, fo_run_in.c,
 * fo_run_out.c, fo_run_ops.c, fo_run_pool.c). Never included outside them; the contract for
 * the rest of the daemon is failover.h.
 *
 * Per relationship (struct rel): its link, its state machine, the flags of each of its
 * addresses, the window of our BNDUPDs in flight and the queue of the partner's. All of it
 * hangs off the daemon's struct cp_fo handle.
 *
 * Threads: control thread only. Functions that say "RCU online" must be called with the RCU
 * read side online; the others go online themselves around table lookups.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bindings.h"
#include "committer.h"
#include "failover.h"
#include "fo_act.h"
#include "fo_hash.h"
#include "fo_lease.h"
#include "fo_link.h"
#include "fo_listener.h"
#include "fo_msg.h"
#include "fo_state.h"
#include "leaseop.h"
#include "pool.h"
#include "store.h"
#include "worker.h"

#define F_DIRTY		0x01
#define F_INFLIGHT	0x02
#define F_UNACKED	0x04
#define F_BUSY		0x08
#define F_TOFREE	0x10	/* acked as ended: to return to the primary's pool */
#define F_SKEWHELD	0x20	/* BNDACK reject 4 (time mismatch): still UNACKED, sent again
				 * once the clocks agree (failover.c skew_release()) */

#define OUT_MAX		256	/* BNDUPDs in flight at most (and the partner's window) */
#define IN_MAX		512	/* partner's BNDUPDs queued at most */
#define OPS_MAX		256	/* worker ops in flight at most */
#define EV_MAX		16
#define UNACK_DEL_MAX	1024
#define REC_VERSION	1
#define REC_LEN		40
#define PERSIST_EVERY	30	/* seconds: last_op moves while serving */
#define TAP_BATCH	1024
#define BALANCE_EVERY	60	/* seconds: ISC min-balance */

#define STEP_LOG_MAX	8	/* clock steps remembered per relationship (merged beyond) */
#define STEP_MIN	3	/* s: a change of the partner's measured skew this large is a
				 * clock step (less is the jitter of one-second message times) */

/* A clock step seen on a relationship, ours or the partner's (fo_run_in.c, "Stamps across a
 * clock step"). */
struct fo_step {
	uint64_t at;			/* unix s by our clock as it is now, when seen */
	uint64_t size;			/* s, absolute */
};

struct fo_scope {
	uint32_t scope;
	uint64_t base, total;
};

/* One BNDUPD of ours waiting for its BNDACK. */
struct fo_out {
	bool used;
	uint32_t xid;
	uint32_t addr;			/* the update's assigned-IP-address (its BNDACK's) */
	uint32_t idx;
	uint8_t status;
	uint32_t pet;
};

/* One received BNDUPD, copied out of the link's buffer. */
struct fo_upd {
	uint32_t xid;
	uint32_t addr;
	uint64_t idx;			/* UINT64_MAX: not one of ours */
	uint8_t status;
	uint16_t ip_flags;
	uint64_t cltt, ends, pet, stos;
	bool has_cid, has_hw;
	uint8_t cid_len, hw_len;
	uint8_t cid[DP_KEY_MAX];
	uint8_t hw[DP_HW_MAX];
	struct dp_client_info info;	/* from client-request-options; empty without */
};

enum op_kind {
	OPK_INBOUND = 1,	/* the partner's update: BNDACK when durable */
	OPK_LOCAL,		/* our own conversion: the tap reports it */
};

struct fo_op {
	struct cp_leaseop lo;		/* first member: the step in flight (leaseop.h) */
	struct cp_fo *f;
	bool used;
	enum op_kind kind;
	struct rel *rel;
	uint64_t idx;
	uint32_t addr, xid, pet;
	uint8_t tries;
	bool no_ack;			/* OPK_INBOUND whose link went down: no BNDACK */
	bool held;			/* o->addr's dp_pool.fo_hold set for a move between
					 * writers (fo_run_hold_slot(), looked up each time) */
	bool waiting;			/* a move handed back (-ENOBUFS, -EBUSY): out of the
					 * lease-op engine until retry_at */
	uint64_t retry_at;		/* CLOCK_MONOTONIC ms */
	uint32_t backoff_ms;		/* the last wait; doubles up to a loop tick */
	struct dp_lease_op want;	/* the binding to make */
	struct fo_upd upd;		/* OPK_INBOUND: the update, decided again on -ESTALE */
};

struct rel_stats {
	uint64_t bndupd_tx, bndupd_rx, bndack_tx, bndack_rx, reject_tx, reject_rx;
	uint64_t updreq_rx, updreqall_rx, upddone_tx, upddone_rx, poolreq_rx, poolresp_rx;
	uint64_t pool_given, to_free, tap_lost_resends, op_failures, in_overflow;
	/* Windows' failover counters (reference/windows-failover.md §5). */
	uint64_t to_comm_int, to_partner_down, to_recover;	/* entries into the state */
	uint64_t queue_high;		/* times the outbound queue reached 90 % of its size */
	uint64_t skew_held;		/* our BNDUPDs the partner rejected with reason 4 */
	uint64_t upddone_deferred;	/* UPDDONEs not taken in RECOVER: clocks out of sync */
	uint64_t bndack_mismatch;	/* BNDACKs whose address is not their update's */
	uint64_t move_no_room;		/* moves between writers handed back: no room */
};

struct rel {
	uint32_t index;			/* in dp_config.relationships */
	char name[DP_NAME_MAX];
	enum fo_role role;
	enum fo_mode mode;
	uint8_t hba[FO_HBA_LEN];	/* the primary's buckets */
	struct fo_link *link;
	struct fo_state st;
	bool published_pp;		/* partner_pool in the published view */
	enum fo_service published_svc;
	uint64_t last_persist;

	struct fo_scope *scopes;
	uint32_t n_scopes;
	uint64_t n_addr;
	uint8_t *af;			/* [n_addr] flags */
	uint64_t *dirtyq;		/* [n_addr] ring of indexes */
	uint64_t dq_head, dq_count;
	uint64_t *tofree;		/* [n_addr] ring: F_TOFREE addresses */
	uint64_t tf_head, tf_count;

	struct fo_out out[OUT_MAX];
	uint32_t n_out, window;
	int32_t skew;			/* partner clock - ours, seconds (the last message's) */
	uint32_t updreq_xid;		/* the partner's UPDREQ(ALL) we are answering */
	bool answering;
	struct fo_act_updreq my_updreq;	/* our UPDREQ(ALL), pending: waiting for UPDDONE */

	struct fo_upd *inq;		/* [IN_MAX] FIFO */
	uint32_t in_head, in_count;
	uint32_t pool_pending;		/* POOLREQ being answered: addresses still to give */
	/* What pool_pending is made of, per balance group (fo_run_pool.c): [n_pool_groups]
	 * addresses still to give, and [n_scopes + 1] the first group of each scope; valid
	 * while fo_run_pool_sig() is pool_sig. Owned; freed with the relationship. */
	uint32_t *pool_gpending;
	uint32_t *pool_goff;
	uint32_t n_pool_groups;
	uint64_t pool_sig;		/* fo_run_pool_sig() at the last balance */
	uint64_t last_balance;		/* primary: last pool_balance(), unix seconds */
	uint64_t pool_cursor;		/* pool_progress() goes on from here */

	uint64_t *ugen;			/* [n_addr] generation of the newest unacked mark the
					 * store or the tap told of (0: none seen) */
	uint32_t unack_del[UNACK_DEL_MAX];
	uint64_t unack_gen[UNACK_DEL_MAX];	/* the generation acknowledged: deleted only
						 * if the store's mark still has it */
	uint32_t n_unack_del;
	struct store_pet pet_put[UNACK_DEL_MAX];	/* fo_run_pet_keep(): to the store */
	uint32_t n_pet_put;
	struct rel_stats s;

	struct fo_listener *ls;		/* shared with the relationships on our address:port */
	struct fo_link_skew sk;		/* the link's skew condition at the last poll */
	uint64_t n_skewheld;		/* addresses with F_SKEWHELD */
	uint64_t skew_retry;		/* unix s: next release of held updates while in sync */
	bool recover_redo;		/* RECOVER: UPDDONE came out of sync; ask again later */
	bool queue_high_now;		/* the outbound queue is at 90 % (edge for queue_high) */
	enum fo_endpoint_state partner_logged;	/* the partner's state last logged */
	bool keep;			/* cp_fo_prepare(): survives the change unchanged */
	bool reload_unacked;		/* (re)started live: take the store's unacked marks */
	struct fo_step steps[STEP_LOG_MAX];	/* oldest first */
	uint32_t n_steps;
	int32_t skew_ref;		/* the skew the last step was measured from */
	bool skew_ref_set;
	bool move_logged;		/* event=failover-move-no-room logged once ... */
	uint64_t move_log_ms;		/* ... last at this CLOCK_MONOTONIC ms */
};

/* One listening socket, shared by every relationship on its address and port. */
struct fo_lsock {
	struct fo_listener *ls;
	uint32_t addr;			/* host order */
	uint16_t port;
	uint32_t n_rels;
};

struct cp_fo {
	struct dp_runtime *rt;		/* the env's (failover.h) */
	struct store *store;
	struct committer *committer;
	struct cp_apply *apply;
	struct rel *rels[DP_MAX_RELATIONSHIPS];	/* each its own allocation: an op's rel
						 * pointer survives a live change of others */
	uint32_t n;
	struct cp_leaseop_engine lops;	/* the ops' steps in flight */
	struct fo_op ops[OPS_MAX];
	uint32_t n_ops;
	uint32_t n_waiting;		/* ops with `waiting` set */
	uint64_t tap_lost_seen;
	struct fo_link_event ev[EV_MAX];
	struct fo_lsock lsock[DP_MAX_RELATIONSHIPS];
	uint32_t n_lsock;
	struct fo_listener_event lev[EV_MAX];
	/* Live changes (cp_fo_prepare/commit): relationships stopped because their settings
	 * changed restart from their stored state; any other new one starts fresh. */
	char restarting[DP_MAX_RELATIONSHIPS][DP_NAME_MAX];
	uint32_t n_restarting;
};

/* fo_run_base.c: the clock, the address index, sending. */
uint64_t fo_run_wall_s(void);
uint32_t fo_run_clamp32(uint64_t t);
uint64_t fo_run_addr_index(struct cp_fo *f, const struct rel *r, uint32_t addr);
uint32_t fo_run_index_addr(struct cp_fo *f, const struct rel *r, uint64_t idx, uint32_t *k);
/* The dp_pool.fo_hold slot of @p addr in the running snapshot's pools, or NULL. Never kept
 * across loop turns: a configuration applied meanwhile frees those pools (apply.c carries
 * the marks to the new ones). Control thread. */
_Atomic uint8_t *fo_run_hold_slot(struct cp_fo *f, uint32_t addr);
/* Raise the partner-known PET of @p idx to @p pet (clamped). @return whether it rose. */
bool fo_run_peer_pet_raise(struct cp_fo *f, const struct rel *r, uint64_t idx, uint64_t pet);
/* No client holds @p idx any more (a FREE or BACKUP of ours or the partner's is durable): its
 * partner-known PET goes to 0, as the store drops it with the binding, so that no later
 * lease of the address is stretched by the one that ended (engine.c client_pet()). */
void fo_run_peer_pet_clear(struct cp_fo *f, const struct rel *r, uint64_t idx);
void fo_run_send_or_log(struct rel *r, struct fo_msg *m, bool xid_given, uint32_t xid);
void fo_run_send_bndack(struct rel *r, uint32_t xid, uint32_t addr, uint8_t reject,
			const char *text);

/* fo_run_out.c: outbound updates. */
void fo_run_mark_dirty(struct rel *r, uint64_t idx);
void fo_run_mark_all_dirty(struct rel *r, uint8_t only);
int fo_run_unacked_flush(struct cp_fo *f, struct rel *r);
/* A PET acknowledged with no binding write of its own (the partner's BNDACK of our update,
 * or its update that changed nothing here): raise peer_pet and, when it rose, queue it for
 * the store (written by the next fo_run_unacked_flush()). */
void fo_run_pet_keep(struct cp_fo *f, struct rel *r, uint64_t idx, uint64_t pet);
uint8_t fo_run_stored_status(const struct bt_binding *b);
void fo_run_send_updates(struct cp_fo *f, struct rel *r);
void fo_run_out_reset(struct rel *r);
void fo_run_on_bndack(struct cp_fo *f, struct rel *r, const struct fo_msg *m);
int fo_run_unacked_cb(uint32_t addr, uint64_t gen, void *arg);
void fo_run_drain_tap(struct cp_fo *f);

/* fo_run_in.c: inbound updates. fo_run_partner_time(): a partner's time @p v (not 0) moved
 * onto our clock (minus r->skew), never below 1 however early @p v is. */
uint64_t fo_run_partner_time(const struct rel *r, uint32_t v);
/* Stamps across a clock step (fo_run_in.c): the partner's skew measured on a message (every
 * message, before it is handled), our own wall clock's step (cp_fo_clock_step()), and the
 * margin by which a time stamped at @p stamp (our clock; 0: unknown) may be wrong. */
void fo_run_skew_seen(struct rel *r, int32_t skew, uint64_t now);
void fo_run_own_step(struct rel *r, int64_t step, uint64_t now);
uint64_t fo_run_stamp_margin(struct cp_fo *f, const struct rel *r, uint64_t stamp,
			     uint64_t now);
/* The steps in 7 bytes of the stored state record (@p b: skew reference, whether it is
 * set, and the margin still relevant, which a restart takes as one step seen at its start). */
void fo_run_steps_save(struct cp_fo *f, const struct rel *r, uint8_t b[7]);
void fo_run_steps_load(struct rel *r, const uint8_t b[7], uint64_t now);
void fo_run_in_reset(struct cp_fo *f, struct rel *r);
void fo_run_inq_progress(struct cp_fo *f, struct rel *r);
void fo_run_on_bndupd(struct cp_fo *f, struct rel *r, const struct fo_msg *m);

/* fo_run_ops.c: worker ops. */
int fo_run_op_start(struct cp_fo *f, struct rel *r, uint64_t idx, uint32_t addr,
		    enum op_kind kind, const struct dp_lease_op *want, const struct fo_upd *u);
/* Hand the moves whose wait is over to their workers again (after cp_leaseop_poll()). */
void fo_run_ops_progress(struct cp_fo *f);

/* fo_run_pool.c: pool balancing. */
void fo_run_tofree_progress(struct cp_fo *f, struct rel *r);
void fo_run_pool_balance(struct cp_fo *f, struct rel *r);
/* A hash of the policy ranges of @p r's scopes (its balance groups): a change asks for a new
 * balance. */
uint64_t fo_run_pool_sig(struct cp_fo *f, const struct rel *r);
void fo_run_pool_progress(struct cp_fo *f, struct rel *r);
