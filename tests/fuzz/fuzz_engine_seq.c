/*
 * fuzz_engine_seq: the DHCP engine (dataplane/engine.c) over message SEQUENCES, with the real
 * binding table, pools and two workers, a scripted clock and a commit sink whose rings the
 * input drains in any order (as the committer may).
 *
 * The input is a list of 6-byte records {op, client, address, flags, time step, arg}, some
 * followed by raw option bytes. Ops: DISCOVER, REQUEST (selecting / init-reboot / renewing),
 * RELEASE, DECLINE, INFORM, BOOTP from eight clients (client 0 has a reservation, odd
 * clients send option 61), directly or through a relay; the control thread's reclaim of
 * ended bindings; draining some changes of one worker's commit ring; delivering the
 * commands workers send each other; operator lease4-add / lease4-del (DP_OP_SET / DP_OP_DEL).
 * Requests run on their client's owner worker, as worker.c steers them. A request with flag
 * 0x40 is handled in a burst, as worker.c handles a burst: the engine is given the hints of
 * the burst's warm pass (dp_ingress.key_hint, addr_hint: every client's and picked address's
 * record, looked up when the burst began), and no quiescent state follows it, so those
 * records stay valid while the requests after it change the tables.
 *
 * After every step:
 *  - no address is held by two clients: a client holds an address from the ACK (or
 *    successful lease4-add) until the lease ends, it releases or declines it, it is NAKed
 *    or given another address in that scope, or an operator deletes the lease;
 *  - a request the engine leaves unanswered has been counted (a drop reason), and every
 *    request handled is counted by type;
 *  - the tables are whole: each record is found by its address, and its key finds no other
 *    client's record.
 * When every ring is drained and every command delivered (a "settle" op):
 *  - every pool address with no record, or an EXPIRED or RELEASED one, is queued in its
 *    slice owner's free list (or lent): free list + bindings = pool (after the control
 *    thread's requeue scan when a hand-over was reported lost: a full command ring);
 *  - the store, as the committed changes built it in the order the rings were drained,
 *    holds what the table holds (OFFERED aside: offers are not committed).
 * A violation aborts (libFuzzer reports it; the replay test fails).
 *
 * State is reset between inputs without freeing the table (records are removed and come
 * back through call_rcu; a barrier runs only when a writer's stock runs low), so one input
 * costs microseconds. The key hash seed is fixed, so an input replays identically.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "engine.h"
#include "../unit/rcu_fix.h"
#include "../unit/reqbuild.h"

#define SEQ_HARNESS "fuzz_engine_seq"
#include "seq_env.h"
#include "seq_engines.h"


#define SRV IP4(198, 18, 0, 1)
#define RELAY IP4(198, 18, 5, 1)
#define T0 1700000000ULL
#define N_WORKERS 2
#define N_CLIENTS 8
#define RING_CAP 16
#define MAX_STEPS 400
#define STOCK 4096
#define STOCK_LOW 1536	/* > MAX_STEPS * the records one step may take (3) */
#define MAX_TOLD 512
#define MAX_ADDRS 64

static const char *cfg_json =
	"{\"server\": {\"workers\": 2},"
	" \"ports\": [{\"name\": \"p0\", \"device\": \"net_ring0\","
	"   \"interfaces\": [{\"address\": \"198.18.0.1/24\"}]}],"
	" \"scopes\": ["
	"  {\"name\": \"lab\", \"subnet\": \"198.18.0.0/24\","
	"   \"pools\": [\"198.18.0.100 - 198.18.0.107\"], \"exclusions\": [\"198.18.0.103\"],"
	"   \"lease-time\": 600, \"min-lease-time\": 120, \"max-lease-time\": 3600,"
	"   \"offer-hold\": 30, \"decline-hold\": 900, \"bootp\": true,"
	"   \"reservations\": [{\"hw-address\": \"02:00:00:00:00:01\","
	"                       \"ip-address\": \"198.18.0.50\"},"
	"                      {\"hw-address\": \"02:00:00:00:00:7f\","
	"                       \"ip-address\": \"198.18.0.101\"}]},"
	"  {\"name\": \"far\", \"subnet\": \"198.18.5.0/24\","
	"   \"pools\": [\"198.18.5.10 - 198.18.5.13\"], \"lease-time\": 300,"
	"   \"offer-hold\": 10}"
	" ]}";

/* Addresses the input picks from: both pools, the reservations, ours, outside any pool. */
static const uint32_t pick_addrs[] = {
	IP4(198, 18, 0, 100), IP4(198, 18, 0, 101), IP4(198, 18, 0, 102), IP4(198, 18, 0, 103),
	IP4(198, 18, 0, 104), IP4(198, 18, 0, 105), IP4(198, 18, 0, 106), IP4(198, 18, 0, 107),
	IP4(198, 18, 0, 50), IP4(198, 18, 5, 10), IP4(198, 18, 5, 11), IP4(198, 18, 5, 12),
	IP4(198, 18, 5, 13), IP4(198, 18, 0, 1), IP4(198, 18, 0, 200), 0, IP4(198, 18, 9, 9),
};
#define N_PICK (sizeof(pick_addrs) / sizeof(pick_addrs[0]))

struct ring {
	struct dp_change c[RING_CAP];
	uint32_t head, n;
	uint64_t durable, posted;
};

struct stored {
	bool used;
	uint32_t addr;
	uint8_t state;
	uint64_t ends;
	struct dp_client_key key;
};

struct told {
	uint32_t worker, scope, addr;
	enum dp_cmd_type type;
};

struct hold {
	uint32_t addr;			/* 0: none */
	uint64_t ends;
};

struct env {
	bool ready;
	struct dp_config *cfg;
	struct bt_table *table;
	struct dp_pools *pools;
	struct dp_counters ctr[N_WORKERS];
	struct dp_engine *e[N_WORKERS];
	struct ring ring[N_WORKERS];
	struct stored store[MAX_ADDRS];
	struct told told[MAX_TOLD];
	uint32_t n_told, told_head;
	struct hold holds[N_CLIENTS][2];	/* [client][scope] */
	uint32_t last_offer[N_CLIENTS];
	uint64_t now;
	uint64_t handled;		/* requests given to the engine */
	_Atomic uint64_t requeue_lost;	/* dp_runtime.requeue_lost: a hand-over was lost */
	struct dhcp4_msg msg;
	struct dp_frame frame;
	/* The warm pass of worker.c: what by_key held for each client and by_addr for each
	 * address the input picks, looked up at the start of a "burst" (hints_valid), kept
	 * until the next quiescent state and handed to the engine as dp_ingress hints. */
	bool hints_valid;
	const struct bt_binding *hint_key[N_CLIENTS];
	const struct bt_binding *hint_addr[N_PICK];
};

static struct env env;

/* A quiescent state: the hints of the burst are no longer valid. */
static void quiescent(struct env *v)
{
	urcu_qsbr_quiescent_state();
	v->hints_valid = false;
}

/* FUZZ_TRACE set: print each step (to read a reproducer). */
static bool trace;

/* --- the commit sink: a bounded ring per worker, drained by the input ---------------- */

NOCOV static int sink_post(void *ctx, const struct dp_change *c)
{
	struct ring *r = &((struct env *)ctx)->ring[c->worker];

	if (r->n == RING_CAP) {
		return -ENOBUFS;
	}
	CHECK(c->seq == r->posted + 1, "worker %u posted seq %llu after %llu", c->worker,
	      (unsigned long long)c->seq, (unsigned long long)r->posted);
	if (trace) {
		fprintf(stderr, "  post w%u seq %llu addr %08x state %u\n", c->worker,
			(unsigned long long)c->seq, c->addr, c->state);
	}
	r->c[(r->head + r->n++) % RING_CAP] = *c;
	r->posted = c->seq;
	return 0;
}

NOCOV static uint64_t sink_durable(void *ctx, uint32_t w)
{
	return ((struct env *)ctx)->ring[w].durable;
}

NOCOV static uint64_t sink_posted(void *ctx, uint32_t w)
{
	return ((struct env *)ctx)->ring[w].posted;
}

NOCOV static bool sink_room(void *ctx, uint32_t w)
{
	return ((struct env *)ctx)->ring[w].n < RING_CAP;
}

static const struct dp_commit_ops sink_ops = {
	.post = sink_post, .durable = sink_durable, .posted = sink_posted, .room = sink_room,
};

NOCOV static struct stored *store_slot(struct env *v, uint32_t addr, bool create)
{
	struct stored *free_slot = NULL;

	for (unsigned i = 0; i < MAX_ADDRS; i++) {
		if (v->store[i].used && v->store[i].addr == addr) {
			return &v->store[i];
		}
		if (!v->store[i].used && free_slot == NULL) {
			free_slot = &v->store[i];
		}
	}
	if (create) {
		CHECK(free_slot != NULL, "store model full");
		free_slot->used = true;
		free_slot->addr = addr;
	}
	return create ? free_slot : NULL;
}

/* The committer writes @p n changes of worker @p w's ring (store.c: FREE deletes). */
NOCOV static void drain(struct env *v, uint32_t w, uint32_t n)
{
	struct ring *r = &v->ring[w];

	while (n-- > 0 && r->n > 0) {
		const struct dp_change *c = &r->c[r->head];
		struct stored *s;

		if (c->state == BT_FREE) {
			s = store_slot(v, c->addr, false);
			if (s != NULL) {
				s->used = false;
			}
		} else {
			s = store_slot(v, c->addr, true);
			s->state = c->state;
			s->ends = c->ends;
			s->key = c->key;
		}
		if (trace) {
			fprintf(stderr, "  commit w%u seq %llu addr %08x state %u\n", w,
				(unsigned long long)c->seq, c->addr, c->state);
		}
		r->durable = c->seq;
		r->head = (r->head + 1) % RING_CAP;
		r->n--;
	}
}

/* --- commands between workers ------------------------------------------------------- */

NOCOV static int tell(void *ctx, uint32_t worker, enum dp_cmd_type type, uint32_t scope, uint32_t addr)
{
	struct env *v = ctx;

	CHECK(worker < N_WORKERS, "tell to worker %u", worker);
	if (v->n_told == MAX_TOLD) {
		/* A full command ring: worker.c counts it for the requeue scan. */
		if (trace) {
			fprintf(stderr, "  tell to w%u refused: command %d addr %08x\n", worker,
				(int)type, addr);
		}
		atomic_fetch_add_explicit(&v->requeue_lost, 1, memory_order_relaxed);
		return -ENOBUFS;
	}
	v->told[(v->told_head + v->n_told++) % MAX_TOLD] = (struct told){worker, scope, addr, type};
	return 0;
}

/* Each worker's loop: hand-offs of what is durable, then up to @p max commands. */
static void deliver(struct env *v, uint32_t max)
{
	for (uint32_t i = 0; i < N_WORKERS; i++) {
		dp_engine_handoff(v->e[i], v->ring[i].durable);
	}
	while (max-- > 0 && v->n_told > 0) {
		struct told t = v->told[v->told_head];
		struct dp_engine *e = v->e[t.worker];

		v->told_head = (v->told_head + 1) % MAX_TOLD;
		v->n_told--;
		if (trace) {
			fprintf(stderr, "  deliver to w%u: command %d addr %08x\n", t.worker,
				(int)t.type, t.addr);
		}
		switch (t.type) {
		case DP_CMD_RECLAIM:
			(void)dp_engine_reclaim(e, v->cfg, t.addr, v->now);
			break;
		case DP_CMD_REQUEUE:
			dp_engine_requeue(e, t.scope, t.addr);
			break;
		case DP_CMD_RELEASE_ENDED:
			dp_engine_release_ended(e, v->cfg, t.addr, v->now);
			break;
		case DP_CMD_LEND:
			dp_engine_lend(e, t.scope, t.addr, v->now);
			break;
		case DP_CMD_LENT:
			dp_engine_borrowed(e, t.scope, t.addr);
			break;
		case DP_CMD_LEND_DONE:
			dp_engine_lend_done(e, t.scope);
			break;
		case DP_CMD_END_MOVED:
			dp_engine_end_moved(e, v->cfg, t.addr, v->now);
			break;
		case DP_CMD_UNCOUNT:
			dp_engine_uncount(e, t.scope, t.addr);
			break;
		}
		quiescent(v);
	}
}

/* --- set-up and reset --------------------------------------------------------------- */

static void setup_once(struct env *v)
{
	char err[256];

	v->cfg = cp_config_parse(cfg_json, err, sizeof(err));
	CHECK(v->cfg != NULL, "config: %s", err);
	v->table = seq_engines_new(v->cfg, 8, v->e, N_WORKERS, STOCK);
	v->pools = dp_pools_new(v->cfg, N_WORKERS);
	CHECK(v->pools != NULL, "pools");
	v->ready = true;
}

NOCOV static void reset(struct env *v)
{
	if (seq_table_clear(v->table, v->e, N_WORKERS, STOCK_LOW)) {
		/* Wait for every removed record (seq_engines.h). Rare (once per STOCK - STOCK_LOW
		 * records), and every input then starts with at least STOCK_LOW free records: more
		 * than MAX_STEPS can use. */
		rcu_fix_barrier();
		for (uint32_t i = 0; i < N_WORKERS; i++) {
			uint64_t n = bt_writer_free(&v->e[i]->writer);

			CHECK(n >= STOCK_LOW, "records lost: %llu free", (unsigned long long)n);
		}
	}
	dp_pools_reset(v->pools);	/* as dp_pools_new() built it in setup_once() */
	for (uint32_t i = 0; i < N_WORKERS; i++) {
		struct dp_engine *e = v->e[i];

		seq_engine_wire(e, i, N_WORKERS, v->table, v->pools, &v->ctr[i], &sink_ops, v);
		e->tell = tell;
		e->tell_ctx = v;
		e->requeue_lost = &v->requeue_lost;
	}
	memset(v->ctr, 0, sizeof(v->ctr));
	memset(v->ring, 0, sizeof(v->ring));
	memset(v->store, 0, sizeof(v->store));
	memset(v->holds, 0, sizeof(v->holds));
	memset(v->last_offer, 0, sizeof(v->last_offer));
	v->n_told = v->told_head = 0;
	v->now = T0;
	v->handled = 0;
	v->hints_valid = false;
	v->requeue_lost = 0;
}

/* --- clients ------------------------------------------------------------------------ */

static uint8_t client_mac_lo(uint32_t c)
{
	return (uint8_t)(c + 1);	/* client 0 is 02:00:00:00:00:01, reserved */
}

/* Client @p c's own key (option 61 for odd clients, else htype + chaddr): what the warm
 * pass of worker.c reads from the raw frame, reservations aside. */
static void client_key(uint32_t c, struct dp_client_key *key)
{
	memset(key, 0, sizeof(*key));
	if (c & 1) {
		uint8_t cid[5] = {'c', 'i', 'd', '-', (uint8_t)('0' + c)};

		key->type = DP_KEY_CLIENT_ID;
		key->len = sizeof(cid);
		memcpy(key->data, cid, sizeof(cid));
	} else {
		key->type = DP_KEY_HWADDR;
		key->len = 7;
		memcpy(key->data, (uint8_t[]){1, 2, 0, 0, 0, 0, client_mac_lo(c)}, 7);
	}
}

/* The warm pass (worker.c warm_burst()) at the start of a burst: every client's record in
 * by_key and every picked address's in by_addr, valid until the next quiescent state. */
static void warm(struct env *v)
{
	for (uint32_t o = 0; o < N_CLIENTS; o++) {
		struct dp_client_key key;

		client_key(o, &key);
		v->hint_key[o] = bt_warm_key_found(v->table, &key, bt_key_hash(v->table, &key));
	}
	for (unsigned i = 0; i < N_PICK; i++) {
		v->hint_addr[i] = pick_addrs[i] != 0 ? bt_warm_addr_found(v->table, pick_addrs[i]) :
			NULL;
	}
	v->hints_valid = true;
}

/* The hint the warm pass found for address @p a (NULL: none, or not a picked address). */
static const struct bt_binding *addr_hint(const struct env *v, uint32_t a)
{
	for (unsigned i = 0; i < N_PICK; i++) {
		if (pick_addrs[i] == a && a != 0) {
			return v->hint_addr[i];
		}
	}
	return NULL;
}

static void client_begin(struct reqbuf *r, uint32_t c, uint32_t xid, uint8_t type)
{
	rb_begin(r, client_mac_lo(c), xid);
	rb_type(r, type);
	if (c & 1) {
		uint8_t cid[5] = {'c', 'i', 'd', '-', (uint8_t)('0' + c)};

		rb_opt(r, DHCP4_OPT_CLIENT_ID, cid, sizeof(cid));
	}
}

static int scope_idx(uint32_t a)
{
	return (a >> 8) == (IP4(198, 18, 5, 0) >> 8) ? 1 : 0;
}

/* Client @p c now holds @p a until @p ends: nobody else may. */
NOCOV static void take(struct env *v, uint32_t c, uint32_t a, uint64_t ends, const char *how)
{
	for (uint32_t o = 0; o < N_CLIENTS; o++) {
		for (int s = 0; s < 2; s++) {
			const struct hold *h = &v->holds[o][s];

			if (o == c || h->addr != a) {
				continue;
			}
			CHECK(h->ends <= v->now,
			      "%s gives %08x to client %u at %llu while client %u holds it "
			      "until %llu", how, a, c, (unsigned long long)v->now, o,
			      (unsigned long long)h->ends);
		}
	}
	v->holds[c][scope_idx(a)] = (struct hold){a, ends};
}

NOCOV static void drop_hold(struct env *v, uint32_t c, uint32_t a)
{
	for (int s = 0; s < 2; s++) {
		if (v->holds[c][s].addr == a) {
			v->holds[c][s].addr = 0;
		}
	}
}

NOCOV static uint64_t drops_of(const struct env *v)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < N_WORKERS; i++) {
		n += dp_counters_drops(&v->ctr[i]);
	}
	return n;
}

/*
 * One request from client @p c. @p kind: 0 DISCOVER, 1 REQUEST selecting, 2 init-reboot,
 * 3 renewing, 4 RELEASE, 5 DECLINE, 6 INFORM, 7 BOOTP.
 */
static void request(struct env *v, unsigned kind, uint32_t c, uint32_t a, uint8_t flags,
		    const uint8_t *raw, size_t raw_len)
{
	static const uint8_t types[] = {DHCP4_DISCOVER, DHCP4_REQUEST, DHCP4_REQUEST,
					DHCP4_REQUEST, DHCP4_RELEASE, DHCP4_DECLINE,
					DHCP4_INFORM, 0};
	uint32_t sid = (flags & 3) == 1 ? SRV : (flags & 3) == 2 ? IP4(198, 18, 0, 254) : 0;
	bool relayed = flags & 4;
	struct dp_client_key key;
	struct dp_decision d;
	struct dp_ingress in;
	struct reqbuf r;
	uint32_t w, req_addr = a;
	uint64_t drops, rx;
	bool answered;
	int rc;

	if (kind == 7) {
		rb_begin(&r, client_mac_lo(c), 0x1000 + c);
	} else {
		client_begin(&r, c, 0x1000 + c, types[kind]);
	}
	if (relayed) {
		rb_giaddr(&r, RELAY);
	}
	switch (kind) {
	case 1:
		if (flags & 8) {
			req_addr = v->last_offer[c] ? v->last_offer[c] : a;
		}
		if (sid == 0) {
			sid = SRV;
		}
		rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, sid);
		rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, req_addr);
		break;
	case 2:
		rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, a);
		break;
	case 3:
	case 6:
		if ((flags & 8) && v->holds[c][relayed].addr != 0) {
			req_addr = v->holds[c][relayed].addr;
		}
		rb_ciaddr(&r, req_addr);
		break;
	case 4:
		if ((flags & 8) && v->holds[c][relayed].addr != 0) {
			req_addr = v->holds[c][relayed].addr;
		}
		rb_ciaddr(&r, req_addr);
		if (sid != 0) {
			rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, sid);
		}
		break;
	case 5:
		if ((flags & 8) && v->holds[c][relayed].addr != 0) {
			req_addr = v->holds[c][relayed].addr;
		}
		rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, req_addr);
		if (sid != 0) {
			rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, sid);
		}
		break;
	default:
		break;
	}
	if (kind != 7 && raw_len > 0 && r.len + raw_len + 1 < sizeof(r.b)) {
		memcpy(r.b + r.len, raw, raw_len);
		r.len += raw_len;
	}
	if (kind != 7) {
		rb_end(&r);
	} else if (r.len < 300) {
		r.len = 300;
	}
	if (flags & 0x10) {
		rb_flags(&r, 0x8000);
	}
	if (dhcp4_parse(&v->msg, r.b, r.len) != DHCP4_OK) {
		return;
	}
	memset(&v->frame, 0, sizeof(v->frame));
	memcpy(v->frame.src_mac, r.b + 28, 6);
	v->frame.ip_src = relayed ? RELAY : 0;
	v->frame.ip_dst = relayed || kind == 3 || kind == 4 ? SRV : UINT32_MAX;
	v->frame.dport = 67;
	/* Steering, as worker.c: the client key's owner worker handles the request. */
	if (dp_engine_client_key(v->cfg, &v->msg, 0, &key) != 0) {
		w = 0;
	} else {
		w = bt_key_owner(v->table, &key, N_WORKERS);
	}
	in = (struct dp_ingress){
		.cfg = v->cfg, .frame = &v->frame, .msg = &v->msg, .iface = 0, .now = v->now,
	};
	if (flags & 0x40) {
		/* In a burst: the hints of its warm pass, however stale by now. */
		uint32_t want;

		if (!v->hints_valid) {
			warm(v);
		}
		if (v->msg.type == DHCP4_DISCOVER) {
			in.key_hint = v->hint_key[c];
		} else if (v->msg.type == DHCP4_REQUEST) {
			in.addr_hint = addr_hint(v, dhcp4_opt_u32(&v->msg, DHCP4_OPT_REQUESTED_IP,
								  &want) ? want : v->msg.ciaddr);
		}
	}
	drops = drops_of(v);
	rx = 0;
	for (uint32_t i = 0; i < N_WORKERS; i++) {
		for (unsigned t = 0; t < DHCP4_TYPE_MAX; t++) {
			rx += v->ctr[i].rx_dhcp[t];
		}
	}
	answered = dp_engine_handle(v->e[w], &in, &d);
	if (!(flags & 0x40)) {
		quiescent(v);	/* else the burst goes on */
	}
	v->handled++;
	{
		uint64_t rx2 = 0;

		for (uint32_t i = 0; i < N_WORKERS; i++) {
			for (unsigned t = 0; t < DHCP4_TYPE_MAX; t++) {
				rx2 += v->ctr[i].rx_dhcp[t];
			}
		}
		CHECK(rx2 == rx + 1, "request of kind %u not counted by type", kind);
	}
	if (!answered && trace) {
		fprintf(stderr, "t=%llu client %u kind %u addr %08x worker %u: no reply\n",
			(unsigned long long)(v->now - T0), c, kind, req_addr, w);
	}
	if (!answered) {
		CHECK(kind == 4 || kind == 5 || drops_of(v) > drops,
		      "request of kind %u from client %u left unanswered and uncounted", kind,
		      c);
		if (kind == 4 && v->msg.ciaddr != 0) {
			drop_hold(v, c, v->msg.ciaddr);
		} else if (kind == 5) {
			drop_hold(v, c, req_addr);
		}
		return;
	}
	if (trace) {
		fprintf(stderr, "t=%llu client %u kind %u addr %08x worker %u: reply %u yiaddr %08x "
			"seq %llu\n", (unsigned long long)(v->now - T0), c, kind, req_addr, w,
			d.reply, d.yiaddr, (unsigned long long)d.seq);
	}
	CHECK(kind != 4 && kind != 5, "RELEASE/DECLINE answered");
	if (d.reply == DHCP4_OFFER) {
		CHECK(d.yiaddr != 0, "OFFER of 0.0.0.0");
		v->last_offer[c] = d.yiaddr;
	} else if (d.reply == DHCP4_NAK) {
		/* The client goes back to INIT: it drops what it held in that scope. */
		v->holds[c][relayed].addr = 0;
	} else if ((d.reply == DHCP4_ACK && kind != 6) || (d.reply == DHCP4_BOOTP && kind == 7)) {
		uint64_t ends = d.lease == UINT32_MAX ? BT_INFINITE : v->now + d.lease;

		CHECK(d.yiaddr != 0, "ACK of 0.0.0.0");
		CHECK(d.commit, "ACK of %08x without a commit", d.yiaddr);
		rc = scope_idx(d.yiaddr);
		if (v->holds[c][rc].addr != d.yiaddr) {
			v->holds[c][rc].addr = 0;
		}
		take(v, c, d.yiaddr, ends, "ACK");
	}
}

/* Operator lease4-add (add: refuse what is taken) or lease4-del of @p a. */
static void lease_op(struct env *v, uint32_t c, uint32_t a, bool del, uint8_t arg)
{
	struct dp_lease_op op;
	struct dp_client_key key;
	uint32_t w;

	memset(&op, 0, sizeof(op));
	if (del && trace) {
		fprintf(stderr, "t=%llu lease4-del %08x\n", (unsigned long long)(v->now - T0), a);
	}
	if (del) {
		uint32_t count = 0;

		op.kind = DP_OP_DEL;
		op.addrs = &a;
		op.n_addrs = 1;
		for (w = 0; w < N_WORKERS; w++) {
			dp_engine_apply_op(v->e[w], v->cfg, &op, v->now);
			quiescent(v);
			if (op.result == 0) {
				count += op.count;
			}
		}
		if (count > 0) {
			for (uint32_t o = 0; o < N_CLIENTS; o++) {
				drop_hold(v, o, a);
			}
		}
		return;
	}
	if (c & 1) {
		uint8_t cid[5] = {'c', 'i', 'd', '-', (uint8_t)('0' + c)};

		key.type = DP_KEY_CLIENT_ID;
		key.len = sizeof(cid);
		memcpy(key.data, cid, sizeof(cid));
	} else {
		key.type = DP_KEY_HWADDR;
		key.len = 7;
		memcpy(key.data, (uint8_t[]){1, 2, 0, 0, 0, 0, client_mac_lo(c)}, 7);
	}
	op.kind = DP_OP_SET;
	op.addr = a;
	op.key = key;
	op.state = BT_ACTIVE;
	op.start = v->now;
	op.ends = v->now + 60 + arg * 10;
	op.add = true;
	w = bt_key_owner(v->table, &key, N_WORKERS);
	dp_engine_apply_op(v->e[w], v->cfg, &op, v->now);
	quiescent(v);
	if (trace) {
		fprintf(stderr, "t=%llu lease4-add %08x client %u worker %u: %d\n",
			(unsigned long long)(v->now - T0), a, c, w, op.result);
	}
	if (op.result == 0) {
		if (v->holds[c][scope_idx(a)].addr != a) {
			v->holds[c][scope_idx(a)].addr = 0;
		}
		take(v, c, a, op.ends, "lease4-add");
	}
}

/* The control thread's reclaim scan (loop.c): ended bindings to their writer. */
NOCOV static bool reclaim_cb(const struct bt_binding *b, void *arg)
{
	struct env *v = arg;

	if ((b->state == BT_ACTIVE || b->state == BT_OFFERED || b->state == BT_ABANDONED) &&
	    b->ends <= v->now) {
		(void)tell(v, b->owner, DP_CMD_RECLAIM, 0, b->addr);
	}
	return true;
}

/* --- invariants --------------------------------------------------------------------- */

NOCOV static bool table_cb(const struct bt_binding *b, void *arg)
{
	struct env *v = arg;

	seq_check_record(v->table, b);
	CHECK(b->state >= BT_FREE && (b->state <= BT_BACKUP || b->state == BT_OFFERED) &&
	      b->state != BT_FREE, "record of %08x in state %u", b->addr, b->state);
	return true;
}

/* Free addresses (no record, EXPIRED, RELEASED) that are in no free list, lent or not. */
NOCOV static void requeue_scan(struct env *v)
{
	for (uint32_t si = 0; si < v->cfg->n_scopes; si++) {
		const struct dp_scope *s = &v->cfg->scopes[si];

		for (uint32_t ri = 0; ri < s->n_ranges; ri++) {
			for (uint32_t a = s->ranges[ri].first; a <= s->ranges[ri].last; a++) {
				const struct bt_binding *b = bt_lookup_addr(v->table, a);
				int owner = dp_pool_owner(v->pools, si, a);

				if (dp_range_find(s->exclusions, s->n_exclusions, a) >= 0 ||
				    dp_scope_find_reservation_addr(s, a) != NULL) {
					continue;
				}
				if (owner >= 0 && (b == NULL || b->state == BT_EXPIRED ||
						   b->state == BT_RELEASED) &&
				    !dp_slice_queued(v->pools, (uint32_t)owner, si, a)) {
					if (trace) {
						fprintf(stderr, "  requeue scan: %08x to w%d\n", a,
							owner);
					}
					dp_engine_requeue(v->e[owner], si, a);
				}
			}
		}
	}
}

/* Everything drained and delivered: the pool and the store add up. */
NOCOV static void settle(struct env *v)
{
	for (int round = 0; round < 8; round++) {
		for (uint32_t i = 0; i < N_WORKERS; i++) {
			drain(v, i, RING_CAP);
		}
		deliver(v, MAX_TOLD);
		if (v->n_told == 0 && v->ring[0].n == 0 && v->ring[1].n == 0 &&
		    v->e[0]->ho_count == 0 && v->e[1]->ho_count == 0) {
			break;
		}
	}
	if (v->n_told != 0 || v->e[0]->ho_count != 0 || v->e[1]->ho_count != 0) {
		return;		/* still moving (a lend chain): checked at a later settle */
	}
	if (v->requeue_lost != 0) {
		/* The control thread's requeue scan (apply.c cp_requeue_lost), everything
		 * being durable: free addresses in no free list go back to their owner. Run
		 * only when a hand-over was reported lost, so that a silent loss still fails. */
		requeue_scan(v);
		v->requeue_lost = 0;
	}
	for (uint32_t si = 0; si < v->cfg->n_scopes; si++) {
		const struct dp_scope *s = &v->cfg->scopes[si];

		for (uint32_t ri = 0; ri < s->n_ranges; ri++) {
			for (uint32_t a = s->ranges[ri].first; a <= s->ranges[ri].last; a++) {
				const struct bt_binding *b = bt_lookup_addr(v->table, a);
				int owner = dp_pool_owner(v->pools, si, a);

				if (dp_range_find(s->exclusions, s->n_exclusions, a) >= 0 ||
				    dp_scope_find_reservation_addr(s, a) != NULL) {
					continue;
				}
				CHECK(owner >= 0, "pool address %08x has no owner", a);
				if (b == NULL || b->state == BT_EXPIRED ||
				    b->state == BT_RELEASED) {
					CHECK(dp_slice_queued(v->pools, (uint32_t)owner, si, a),
					      "free address %08x (state %u) is in no free list",
					      a, b != NULL ? (unsigned)b->state : 0u);
				}
			}
		}
	}
	for (unsigned i = 0; i < N_PICK; i++) {
		uint32_t a = pick_addrs[i];
		const struct bt_binding *b = bt_lookup_addr(v->table, a);
		const struct stored *st = store_slot(v, a, false);

		if (b != NULL && b->state == BT_OFFERED) {
			continue;
		}
		if (b == NULL) {
			CHECK(st == NULL,
			      "store holds %08x (state %u, ends %llu), the table nothing", a,
			      st->state, (unsigned long long)st->ends);
			continue;
		}
		CHECK(st != NULL, "table holds %08x (state %u), the store nothing", a, b->state);
		CHECK(st->state == b->state && bt_key_equal(&st->key, &b->key),
		      "store and table differ on %08x: state %u / %u", a, st->state, b->state);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct env *v = &env;
	unsigned steps = 0;

	if (!v->ready) {
		setup_once(v);
		trace = getenv("FUZZ_TRACE") != NULL;
	}
	reset(v);
	while (size >= 6 && steps++ < MAX_STEPS) {
		uint8_t op = data[0], c = data[1] % N_CLIENTS, flags = data[3], arg = data[5];
		uint32_t a = pick_addrs[data[2] % N_PICK];
		const uint8_t *raw = NULL;
		size_t raw_len = 0;

		v->now += data[4] < 200 ? data[4] / 8 : (uint64_t)(data[4] - 199) * 60;
		data += 6;
		size -= 6;
		if (flags & 0x80) {
			raw_len = arg % 32 < size ? arg % 32 : size;
			raw = data;
			data += raw_len;
			size -= raw_len;
		}
		switch (op % 16) {
		case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7:
			request(v, op % 8, c, a, flags, raw, raw_len);
			break;
		case 8:
			request(v, 0, c, a, flags, raw, raw_len);
			break;
		case 9:
			request(v, 1, c, a, flags | 8, raw, raw_len);
			break;
		case 10:
			drain(v, arg & 1, 1 + (arg >> 1) % RING_CAP);
			break;
		case 11:
			deliver(v, 1 + arg % 8);
			break;
		case 12:
			bt_foreach(v->table, reclaim_cb, v);
			break;
		case 13:
			lease_op(v, c, a, arg & 1, arg >> 1);
			break;
		case 14:
			settle(v);
			break;
		default:
			request(v, 3, c, a, flags | 8, raw, raw_len);
			break;
		}
		bt_foreach(v->table, table_cb, v);
	}
	settle(v);
	return 0;
}
