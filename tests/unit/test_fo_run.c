/*
 * Unit tests of the control plane's failover (failover.c, fo_run_*.c) with no worker and no
 * DPDK: binding changes go to a fake lease-op sink the test plays as the worker, durable
 * changes come from a real committer driven by hand (its tap), and the partner is an fo_link
 * of failover/ on loopback (127.0.0.2 -> 127.0.0.1, as test_fo_link does) that the test
 * drives, PRIMARY to our SECONDARY.
 *
 * Inbound: a BNDUPD from the partner is decided, handed to the owner worker, and its BNDACK
 * leaves only once the worker's change is durable. Outbound: changes the committer made
 * durable are marked, sent as BNDUPDs no more than the partner's window at a time, and
 * forgotten (unacked 0) once acked.
 *
 * Every wait is a bounded loop of 2 ms rounds.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <arpa/inet.h>

#include "apply.h"
#include "byteorder.h"
#include "committer.h"
#include "config.h"
#include "failover.h"
#include "fmt.h"
#include "fo_audit.h"
#include "persist.h"
#include "fo_lease.h"
#include "fo_link.h"
#include "fo_msg.h"
#include "leaseop.h"
#include "port_fix.h"
#include "store.h"
#include "worker.h"

#define ROUNDS	1500
/* What wait_for() and wait_up() give an awaited event, at ROUNDS rounds at least: a liveness
 * bound, not a speed (a BNDACK waits for a store commit, and a loaded machine's disk has held
 * one fdatasync for seconds). */
#define WAIT_MS	30000
#define ADDR(x)	(0xc6120000u | (x))	/* 198.18.0.x */

/* --- the disk ------------------------------------------------------------------------ */

/* fdatasync() fails with EIO while set: this executable's definition takes LMDB's calls (its
 * commits in strict mode), as in test_store_faults. Passes through otherwise. */
static bool fail_fdatasync;

int fdatasync(int fd)
{
	if (fail_fdatasync) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fdatasync, fd);
}

/* --- the fake worker ------------------------------------------------------------------ */

struct fake_sink {
	unsigned n_sub;
	struct dp_lease_op *sub[64];
	uint32_t sub_worker[64];
	uint64_t durable;
	struct committer *cm;	/* set: durable() is this committer's (real workers) */
};

static int fake_submit(void *ctx, uint32_t worker, struct dp_lease_op *op)
{
	struct fake_sink *s = ctx;

	assert_true(s->n_sub < 64);
	s->sub_worker[s->n_sub] = worker;
	s->sub[s->n_sub++] = op;
	return 0;
}

static bool fake_done(void *ctx, const struct dp_lease_op *op)
{
	(void)ctx;
	return atomic_load(&op->done) != 0;
}

static uint64_t fake_durable(void *ctx, uint32_t worker)
{
	const struct fake_sink *s = ctx;

	return s->cm != NULL ? committer_ops.durable(s->cm, worker) : s->durable;
}

static const struct cp_leaseop_sink_ops fake_ops = {
	.submit = fake_submit, .done = fake_done, .durable = fake_durable,
};

/* --- the daemon's side and the partner ----------------------------------------------- */

struct t {
	char dir[64];
	struct store *st;
	struct committer *cm;
	struct dp_runtime rt;
	struct cp_apply apply;
	struct fake_sink sink;
	struct cp_fo *fo;
	struct fo_link *partner;
	struct port_fix held[2];	/* ours and the partner's port (port_fix.h) */
	struct fo_link_event ev[16];
	bool up;
	/* bindings the test puts in the table, as a worker would have written them */
	struct bt_writer w;
	bool w_init;
	struct bt_writer w1;	/* worker 1's, for tests with two workers */
	bool w1_init;
	/* real workers (two engines posting to the committer), for the tests that run the
	 * ops the control thread hands over instead of playing the worker */
	struct dp_engine e[2];
	struct dp_counters ctr[2];
	bool e_init;
	/* the partner: its clock ahead of ours by partner_clock seconds; the STATE it sends
	 * once up (0: NORMAL, since now) */
	int32_t partner_clock;
	uint8_t partner_state;
	uint32_t partner_stos;
	/* what the partner received */
	unsigned n_bndupd, n_bndack;
	uint32_t bndupd_xid[16], bndupd_addr[16];
	uint8_t bndupd_status[16];
	uint32_t bndupd_pet[16];		/* its potential-expiration-time, 0 absent */
	struct dp_client_info bndupd_info[16];	/* its client-request-options, decoded */
	uint32_t bndack_xid, bndack_addr;
	bool bndack_reject;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint32_t wall(void)
{
	return (uint32_t)time(NULL);
}

static void start_fo(struct t *t)
{
	int rc = cp_fo_start(&(struct cp_fo_env){
			.rt = &t->rt, .store = t->st, .committer = t->cm, .apply = &t->apply,
			.sink = {.ops = &fake_ops, .ctx = &t->sink}}, &t->fo);

	assert_int_equal(rc, 0);
	assert_non_null(t->fo);
}

/* setup() makes us the relationship's primary (the partner link the secondary) when set. */
static bool as_primary;
/* setup() gives the committer two rings (workers 0 and 1) when set. */
static bool two_rings;
/* Set: setup() makes the relationship hot standby, this our server-role, with the scope
 * policies of @c scope_extra (NULL: load balance, no policy). */
static const char *hs_role;
static const char *scope_extra;
/* setup() adds a relationship "other" (its scope lab1, 198.18.1.0/24, and a partner that never
 * answers) BEFORE fotest in the relationships when set: fotest is then the second. */
static bool rel_other;

static int setup(void **state)
{
	static char json[3072];
	char mode[128], other[512];
	struct t *t = calloc(1, sizeof(*t));
	struct store_opts so = {.sync = STORE_SYNC_STRICT};
	struct committer_opts co = {.n_workers = two_rings ? 2 : 1};
	uint16_t port, pport;
	struct fo_link_cfg lc;
	struct dp_config *cfg;
	char err[512];
	int rc;

	assert_non_null(t);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(port_fix_take(&t->held[i]), 0);
	}
	port = t->held[0].port;
	pport = t->held[1].port;
	snprintf(t->dir, sizeof(t->dir), "/tmp/lw-forun.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(mode, sizeof(mode), hs_role == NULL ? "load-balance\"" :
		 "hot-standby\", \"server-role\": \"%s\", \"reserve-percent\": 5", hs_role);
	other[0] = '\0';
	if (rel_other) {
		/* The same listening address and port as fotest (one shared listener). */
		snprintf(other, sizeof(other),
			 "{\"name\": \"other\", \"role\": \"secondary\","
			 " \"mode\": \"load-balance\", \"local-address\": \"127.0.0.1\","
			 " \"partner-address\": \"127.0.0.3\", \"port\": %d,"
			 " \"partner-port\": %d, \"mclt\": 60, \"scopes\": [\"lab1\"]},",
			 port, pport);
	}
	snprintf(json, sizeof(json),
		 "{\"server\": {\"workers\": 1, \"store\": \"%s\"},"
		 " \"ports\": [{\"name\": \"p0\", \"device\": \"net_ring0\","
		 "   \"interfaces\": [{\"address\": \"198.18.0.1/24\"}]}],"
		 " \"scopes\": [{\"name\": \"lab\", \"subnet\": \"198.18.0.0/24\","
		 "   \"pools\": [\"198.18.0.100 - 198.18.0.109\"], \"lease-time\": 600%s}%s],"
		 " \"relationships\": [%s{\"name\": \"fotest\", \"role\": \"%s\","
		 "   \"mode\": \"%s, \"local-address\": \"127.0.0.1\","
		 "   \"partner-address\": \"127.0.0.2\", \"port\": %d, \"partner-port\": %d,"
		 "   \"mclt\": 60, \"max-response-delay\": 30, \"max-unacked\": 10,"
		 "   \"scopes\": [\"lab\"]}]}", t->dir,
		 scope_extra != NULL ? scope_extra : "",
		 rel_other ? ", {\"name\": \"lab1\", \"subnet\": \"198.18.1.0/24\","
			     " \"pools\": [\"198.18.1.100 - 198.18.1.109\"]}" : "",
		 other, as_primary ? "primary" : "secondary", mode, port, pport);
	cfg = cp_config_parse(json, err, sizeof(err));
	if (cfg == NULL) {
		fail_msg("config: %s", err);
	}
	t->st = store_open(t->dir, &so, err, sizeof(err));
	assert_non_null(t->st);
	t->cm = committer_new(t->st, &co);
	assert_non_null(t->cm);
	assert_int_equal(committer_tap_enable(t->cm, 64), 0);

	urcu_qsbr_register_thread();
	urcu_qsbr_thread_offline();	/* as the control thread: online only inside */
	t->rt.n_workers = 1;
	t->rt.table = bt_table_new(dp_config_capacity(cfg));
	assert_non_null(t->rt.table);
	assert_null(dp_runtime_publish(&t->rt, cfg, dp_pools_new(cfg, 1), &rc));
	assert_int_equal(rc, 0);
	t->apply.rt = &t->rt;
	start_fo(t);

	memset(&lc, 0, sizeof(lc));
	lc.name = "fotest";
	lc.role = as_primary ? FO_LINK_SECONDARY : FO_LINK_PRIMARY;
	inet_pton(AF_INET, "127.0.0.2", &lc.local_addr);
	inet_pton(AF_INET, "127.0.0.1", &lc.partner_addr);
	lc.local_port = pport;
	lc.partner_port = port;
	lc.receive_timer = 30;
	lc.max_unacked = 2;	/* our window for the outbound test */
	lc.mclt = 60;
	memset(lc.hba, 0xff, 16);
	t->partner = fo_link_new(&lc, err, sizeof(err));
	if (t->partner == NULL) {
		fail_msg("partner link: %s", err);
	}
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	char cmd[128];

	cp_fo_stop(t->fo);
	fo_link_free(t->partner);
	urcu_qsbr_barrier();
	urcu_qsbr_thread_online();
	bt_table_free(t->rt.table);
	urcu_qsbr_thread_offline();
	if (t->w_init) {
		bt_writer_deinit(&t->w);
	}
	if (t->w1_init) {
		bt_writer_deinit(&t->w1);
	}
	for (int i = 0; t->e_init && i < 2; i++) {
		bt_writer_deinit(&t->e[i].writer);
	}
	dp_snapshot_free(t->rt.snap);
	committer_free(t->cm);
	store_close(t->st);
	urcu_qsbr_unregister_thread();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	if (system(cmd) != 0) {
		print_message("could not remove %s\n", t->dir);
	}
	for (int i = 0; i < 2; i++) {
		port_fix_drop(&t->held[i]);
	}
	free(t);
	return 0;
}

/* One round: our failover, then the partner (it answers STATE once up). */
static void round_once(struct t *t)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 2000000};
	int n;

	cp_fo_poll(t->fo);
	n = fo_link_poll(t->partner, mono_ms(), wall() + (uint32_t)t->partner_clock, t->ev, 16);
	for (int i = 0; i < n; i++) {
		const struct fo_link_event *e = &t->ev[i];
		const struct fo_msg *m = &e->msg;

		if (e->type == FO_LINK_UP) {
			struct fo_msg s;

			t->up = true;
			fo_msg_init(&s, FO_MSG_STATE, 0, 0);
			s.server_state = t->partner_state ? t->partner_state : FO_SS_NORMAL;
			s.server_flags = 0;
			s.stos = t->partner_stos ? t->partner_stos :
				 wall() + (uint32_t)t->partner_clock;
			s.present |= FO_BIT(FO_OPT_SERVER_STATE) | FO_BIT(FO_OPT_SERVER_FLAGS) |
				     FO_BIT(FO_OPT_STOS);
			assert_int_equal(fo_link_send(t->partner, &s), 0);
		} else if (e->type == FO_LINK_MESSAGE && m->type == FO_MSG_BNDUPD) {
			assert_true(t->n_bndupd < 16);
			t->bndupd_xid[t->n_bndupd] = m->xid;
			t->bndupd_addr[t->n_bndupd] = m->assigned_addr;
			memset(&t->bndupd_info[t->n_bndupd], 0, sizeof(t->bndupd_info[0]));
			if (fo_msg_has(m, FO_OPT_REQUEST_OPTIONS)) {
				fo_lease_info_decode(m->request_options.ptr,
						     m->request_options.len,
						     &t->bndupd_info[t->n_bndupd]);
			}
			t->bndupd_pet[t->n_bndupd] = fo_msg_has(m, FO_OPT_POTENTIAL_EXPIRY) ?
						     m->potential_expiry : 0;
			t->bndupd_status[t->n_bndupd++] = m->binding_status;
		} else if (e->type == FO_LINK_MESSAGE && m->type == FO_MSG_BNDACK) {
			t->n_bndack++;
			t->bndack_xid = m->xid;
			t->bndack_addr = m->assigned_addr;
			t->bndack_reject = fo_msg_has(m, FO_OPT_REJECT_REASON);
		}
	}
	nanosleep(&ts, NULL);
}

/* Poll until *@p v reaches @p want (or fail). */
/* Whether a wait that has run @p i rounds since @p t0 (mono_ms()) may run another. */
static bool may_wait(int i, uint64_t t0)
{
	return i < ROUNDS || mono_ms() - t0 < WAIT_MS;
}

static void wait_for(struct t *t, const unsigned *v, unsigned want, const char *what)
{
	uint64_t t0 = mono_ms();

	for (int i = 0; may_wait(i, t0) && *v < want; i++) {
		round_once(t);
	}
	if (*v < want) {
		fail_msg("timed out waiting for %s (%u of %u)", what, *v, want);
	}
}

static void wait_up(struct t *t)
{
	unsigned up = 0;
	uint64_t t0 = mono_ms();

	for (int i = 0; may_wait(i, t0) && !up; i++) {
		round_once(t);
		up = t->up;
	}
	assert_true(up);
	/* Let our side take the partner's STATE (communications ok). */
	for (int i = 0; i < 20; i++) {
		round_once(t);
	}
}

/* A status figure of the relationship. */
static json_int_t status_int(struct t *t, const char *key)
{
	json_t *l = cp_fo_status(t->fo, "fotest");
	json_int_t v;

	assert_non_null(l);
	v = json_integer_value(json_object_get(json_array_get(l, 0), key));
	json_decref(l);
	return v;
}

/* The partner's BNDUPD of an ACTIVE lease is applied through the owner worker, and the BNDACK
 * leaves only once the worker's change is durable. */
static void test_inbound_ack_after_durable(void **state)
{
	static const uint8_t hw[7] = {1, 0x02, 0xfa, 0x6d, 0, 0, 0x42};
	/* What the partner remembers of the client: host name and vendor class. */
	static const uint8_t ropt[] = {99, 130, 83, 99, 12, 7, 'p', 'h', 'o', 'n', 'e', '-', 'b',
				       60, 3, 'i', 'o', 't'};
	struct t *t = *state;
	struct dp_lease_op *op;
	struct fo_msg m;
	uint32_t now = wall();

	wait_up(t);
	fo_msg_init(&m, FO_MSG_BNDUPD, 0, 0);
	m.assigned_addr = ADDR(105);
	m.binding_status = FO_LEASE_ACTIVE;
	m.chaddr.ptr = hw;
	m.chaddr.len = sizeof(hw);
	m.cltt = now;
	m.stos = now;
	m.lease_expiry = now + 600;
	m.potential_expiry = now + 900;
	m.request_options.ptr = ropt;
	m.request_options.len = sizeof(ropt);
	m.present |= FO_BIT(FO_OPT_ASSIGNED_IP_ADDRESS) | FO_BIT(FO_OPT_BINDING_STATUS) |
		     FO_BIT(FO_OPT_CHADDR) | FO_BIT(FO_OPT_CLTT) | FO_BIT(FO_OPT_STOS) |
		     FO_BIT(FO_OPT_LEASE_EXPIRY) | FO_BIT(FO_OPT_POTENTIAL_EXPIRY) |
		     FO_BIT(FO_OPT_REQUEST_OPTIONS);
	assert_int_equal(fo_link_send(t->partner, &m), 0);

	wait_for(t, &t->sink.n_sub, 1, "the worker op");
	op = t->sink.sub[0];
	assert_int_equal(t->sink.sub_worker[0], 0);
	assert_int_equal(op->kind, DP_OP_PEER);
	assert_int_equal(op->addr, ADDR(105));
	assert_int_equal(op->state, BT_ACTIVE);
	assert_true(op->from_peer);
	assert_true(op->expect && op->expect_none);	/* decided against "no binding" */
	assert_int_equal(op->ends, (uint64_t)now + 600);
	assert_int_equal(op->info.host_len, 7);		/* the worker stores it */
	assert_memory_equal(op->info.host, "phone-b", 7);
	assert_int_equal(op->info.vendor_len, 3);
	assert_memory_equal(op->info.vendor, "iot", 3);
	/* The worker's change carries the partner's PET: durable before the BNDACK. */
	assert_int_equal(op->pet, now + 900);
	assert_int_equal(t->n_bndack, 0);	/* not before the worker is done */

	/* The worker is done; its change (seq 7) is not durable yet: still no BNDACK. */
	t->sink.durable = 6;
	op->result = 0;
	op->seq = 7;
	atomic_store(&op->done, 1);
	for (int i = 0; i < 100; i++) {
		round_once(t);
	}
	assert_int_equal(t->n_bndack, 0);

	t->sink.durable = 7;
	wait_for(t, &t->n_bndack, 1, "the BNDACK");
	assert_int_equal(t->bndack_xid, m.xid);
	assert_int_equal(t->bndack_addr, ADDR(105));
	assert_false(t->bndack_reject);
	assert_int_equal(t->sink.n_sub, 1);	/* one step: no other writer held it */
}

/* Our durable changes (the committer's tap) go out as BNDUPDs, at most the partner's window
 * in flight; each BNDACK lets the next go, and once all are acked nothing is unacked. */
static void test_outbound_window_and_ack(void **state)
{
	struct t *t = *state;
	uint32_t now = wall();

	wait_up(t);
	for (uint32_t i = 0; i < 3; i++) {
		struct dp_change c = {
			.seq = i + 1, .addr = ADDR(107 + i), .scope = 0, .state = BT_FREE,
			.worker = 0, .start = now, .ends = now, .flags = DP_CHANGE_FO,
		};

		assert_int_equal(committer_ops.post(t->cm, &c), 0);
	}
	assert_int_equal(status_int(t, "unacked"), 0);
	assert_int_equal(committer_round(t->cm), 3);	/* durable: the tap has them */

	wait_for(t, &t->n_bndupd, 2, "two BNDUPDs");
	for (int i = 0; i < 50; i++) {
		round_once(t);
	}
	assert_int_equal(t->n_bndupd, 2);		/* the window (max-unacked 2) is full */
	assert_int_equal(status_int(t, "unacked"), 3);
	assert_int_equal(status_int(t, "in-flight"), 2);
	assert_int_equal(t->bndupd_addr[0], ADDR(107));
	assert_int_equal(t->bndupd_addr[1], ADDR(108));
	assert_int_equal(t->bndupd_status[0], FO_LEASE_FREE);	/* no binding in the table */

	for (unsigned i = 0; i < 3; i++) {
		struct fo_msg a;

		if (i == 2) {
			wait_for(t, &t->n_bndupd, 3, "the third BNDUPD");
			assert_int_equal(t->bndupd_addr[2], ADDR(109));
		}
		fo_msg_init(&a, FO_MSG_BNDACK, 0, 0);
		a.assigned_addr = t->bndupd_addr[i];
		a.present |= FO_BIT(FO_OPT_ASSIGNED_IP_ADDRESS);
		assert_int_equal(fo_link_send_xid(t->partner, &a, t->bndupd_xid[i]), 0);
	}
	for (int i = 0; i < ROUNDS && status_int(t, "unacked") != 0; i++) {
		round_once(t);
	}
	assert_int_equal(status_int(t, "unacked"), 0);
	assert_int_equal(status_int(t, "in-flight"), 0);
	assert_int_equal(t->n_bndupd, 3);		/* each sent once */
}

/* A figure of the relationship's "messages" status. */
static json_int_t status_msg(struct t *t, const char *key)
{
	json_t *l = cp_fo_status(t->fo, "fotest");
	json_int_t v;

	assert_non_null(l);
	v = json_integer_value(json_object_get(json_object_get(json_array_get(l, 0), "messages"),
					       key));
	json_decref(l);
	return v;
}

/* The partner acks our update @p i (its xid) naming address @p addr (0: no address). */
static void partner_bndack(struct t *t, unsigned i, uint32_t addr)
{
	struct fo_msg a;

	fo_msg_init(&a, FO_MSG_BNDACK, 0, 0);
	if (addr != 0) {
		a.assigned_addr = addr;
		a.present |= FO_BIT(FO_OPT_ASSIGNED_IP_ADDRESS);
	}
	assert_int_equal(fo_link_send_xid(t->partner, &a, t->bndupd_xid[i]), 0);
}

/*
 * Issue 11 item 9: a BNDACK is matched by xid AND address. xids restart with each connection,
 * so a BNDACK replayed from a recorded session (or a confused partner) can carry the xid of
 * an update in flight: if it names another address, or none, it is counted and ignored, and
 * the update stays in flight and unacked until its true BNDACK.
 */
static void test_bndack_address_must_match(void **state)
{
	struct t *t = *state;
	uint32_t now = wall();

	wait_up(t);
	for (uint32_t i = 0; i < 2; i++) {
		struct dp_change c = {
			.seq = i + 1, .addr = ADDR(107 + i), .scope = 0, .state = BT_FREE,
			.worker = 0, .start = now, .ends = now, .flags = DP_CHANGE_FO,
		};

		assert_int_equal(committer_ops.post(t->cm, &c), 0);
	}
	assert_int_equal(committer_round(t->cm), 2);
	wait_for(t, &t->n_bndupd, 2, "two BNDUPDs");
	assert_int_equal(status_int(t, "unacked"), 2);

	partner_bndack(t, 0, t->bndupd_addr[1]);	/* xid of the first, address of the 2nd */
	partner_bndack(t, 1, 0);			/* no address at all */
	partner_bndack(t, 1, ADDR(50));			/* an address we never sent */
	for (int i = 0; i < ROUNDS && status_msg(t, "bndack-received") < 3; i++) {
		round_once(t);
	}
	assert_int_equal(status_msg(t, "bndack-received"), 3);
	assert_int_equal(status_msg(t, "bndack-mismatched"), 3);
	assert_int_equal(status_int(t, "unacked"), 2);
	assert_int_equal(status_int(t, "in-flight"), 2);

	partner_bndack(t, 0, t->bndupd_addr[0]);
	partner_bndack(t, 1, t->bndupd_addr[1]);
	for (int i = 0; i < ROUNDS && status_int(t, "unacked") != 0; i++) {
		round_once(t);
	}
	assert_int_equal(status_int(t, "unacked"), 0);
	assert_int_equal(status_int(t, "in-flight"), 0);
	assert_int_equal(status_msg(t, "bndack-mismatched"), 3);
}

/* A status string of the relationship (compared, then freed). */
static void assert_status_str(struct t *t, const char *key, const char *want)
{
	json_t *l = cp_fo_status(t->fo, "fotest");

	assert_non_null(l);
	assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), key)), want);
	json_decref(l);
}

/*
 * Issue 11 item 11: the partner's start time of state is moved onto our clock by the skew
 * measured at CONNECT. A start time earlier than the skew (stos 10, partner clock 30 s ahead)
 * wrapped to about 2^64 - 20: a partner in PARTNER-DOWN then looked as if it went down after
 * we last served (RECOVER). It is the earliest time instead: we served after it, so
 * POTENTIAL-CONFLICT.
 */
static void test_state_start_time_does_not_wrap(void **state)
{
	struct t *t = *state;
	uint64_t now = wall();
	uint8_t b[64];
	size_t len = 0;

	/* We were in NORMAL and served until 100 s ago. The stored state record is
	 * failover.c's (persist_state): byte 1 the state, 4 storage lost, 24..31 last_op. */
	cp_fo_stop(t->fo);
	t->fo = NULL;
	assert_int_equal(store_fo_get(t->st, "fotest", b, sizeof(b), &len), 0);
	assert_true(len >= 40);
	b[1] = FO_STATE_NORMAL;
	b[4] = 0;
	lw_put64(b + 24, now - 100);
	assert_int_equal(store_fo_put(t->st, "fotest", b, len), 0);
	start_fo(t);

	t->partner_clock = 30;
	t->partner_state = FO_SS_PARTNER_DOWN;
	t->partner_stos = 10;
	wait_up(t);
	/* the partner stamps wall() + 30 when it sends; we read wall() when it arrives,
	 * which may be the next second on a loaded machine */
	assert_in_range(status_int(t, "skew"), 29, 30);
	assert_status_str(t, "partner-state", "partner-down");
	assert_true(status_int(t, "partner-state-since") >= 0);	/* not wrapped */
	assert_status_str(t, "state", "potential-conflict");
}

/* Apply @p j (consumed) as the running configuration. @return cp_apply_config()'s code. */
static int apply_doc(struct t *t, json_t *j, char *err, size_t errlen)
{
	char *text = json_dumps(j, JSON_COMPACT);
	struct dp_config *c;

	json_decref(j);
	assert_non_null(text);
	c = cp_config_parse_replacing(text, t->rt.snap->cfg, err, errlen);
	free(text);
	if (c == NULL) {
		fail_msg("config: %s", err);
	}
	return cp_apply_config(&t->apply, c, "test", err, errlen);
}

/*
 * Issue 12 item 1: a relationship is removed, added and changed live. Without a follower
 * (the daemon before this) the change is refused as needing a restart; with the failover
 * runtime as follower, removal withdraws the view and the scope is served alone, a new one
 * runs and publishes its view, a changed one restarts its link, and the partner links up
 * again each time.
 */
static void test_live_relationships(void **state)
{
	struct t *t = *state;
	struct cp_persist none = {0};
	json_t *j, *saved, *rels;
	char err[512];
	json_t *audit;

	t->apply.persist = &none;
	wait_up(t);
	assert_non_null(t->rt.fo[0]);
	j = cp_config_to_json(t->rt.snap->cfg);
	saved = json_deep_copy(json_array_get(json_object_get(j, "relationships"), 0));
	json_object_set_new(j, "relationships", json_array());
	assert_int_equal(apply_doc(t, json_incref(j), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "needs a restart"));

	t->apply.follower = &cp_fo_follower;
	t->apply.follower_ctx = t->fo;
	assert_int_equal(apply_doc(t, j, err, sizeof(err)), 0);
	assert_int_equal(t->rt.snap->cfg->n_relationships, 0);
	assert_int_equal(t->rt.snap->cfg->scopes[0].fo_rel, 0);
	assert_null(t->rt.fo[0]);
	assert_null(cp_fo_status(t->fo, "fotest"));
	assert_false(cp_fo_active(t->fo));

	/* Back, as a new relationship: it runs, and the partner links up again. */
	t->up = false;
	j = cp_config_to_json(t->rt.snap->cfg);
	json_object_set_new(j, "relationships", json_pack("[O]", saved));
	assert_int_equal(apply_doc(t, j, err, sizeof(err)), 0);
	assert_int_equal(t->rt.snap->cfg->scopes[0].fo_rel, 1);
	assert_non_null(t->rt.fo[0]);
	wait_up(t);
	assert_status_str(t, "link", "up");

	/* A changed setting restarts the relationship, and its audit event names the values. */
	j = cp_config_to_json(t->rt.snap->cfg);
	rels = json_object_get(j, "relationships");
	json_object_set_new(json_array_get(rels, 0), "max-response-delay", json_integer(20));
	{
		char *text = json_dumps(j, JSON_COMPACT);
		struct dp_config *c = cp_config_parse(text, err, sizeof(err));

		free(text);
		assert_non_null(c);
		audit = cp_fo_audit(t->rt.snap->cfg, c);
		dp_config_free(c);
	}
	assert_int_equal(json_array_size(audit), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(audit, 0),
							      "setting")), "max-response-delay");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(audit, 0), "old")),
			 30);
	json_decref(audit);
	t->up = false;
	assert_int_equal(apply_doc(t, j, err, sizeof(err)), 0);
	assert_int_equal(t->rt.snap->cfg->relationships[0].max_response_delay, 20);
	wait_up(t);
	assert_status_str(t, "link", "up");
	json_decref(saved);
	cp_apply_deinit(&t->apply);	/* the requeue job each apply started */
}

/* Put a binding of client @p hw in the table, as a worker would have written it. */
static void put_binding_info(struct t *t, uint32_t addr, uint8_t state, uint64_t start,
			     uint64_t ends, const uint8_t *hw, size_t hw_len,
			     const struct dp_client_info *in)
{
	struct bt_binding *b;

	if (!t->w_init) {
		assert_int_equal(bt_writer_init(&t->w, t->rt.table, 0, 8), 0);
		t->w_init = true;
	}
	urcu_qsbr_thread_online();
	b = bt_record_get(&t->w);
	assert_non_null(b);
	b->addr = addr;
	b->scope = 0;
	b->state = state;
	b->owner = 0;
	b->start = start;
	b->ends = ends;
	memset(&b->key, 0, sizeof(b->key));
	b->key.type = DP_KEY_HWADDR;
	b->key.len = (uint8_t)hw_len;
	memcpy(b->key.data, hw, hw_len);
	b->hw_len = (uint8_t)hw_len;
	memcpy(b->hw, hw, hw_len);
	assert_int_equal(bt_info_set(b, in), 0);
	assert_int_equal(bt_publish(&t->w, bt_lookup_addr(t->rt.table, addr), b), 0);
	urcu_qsbr_thread_offline();
}

static void put_binding(struct t *t, uint32_t addr, uint8_t state, uint64_t start,
			uint64_t ends, const uint8_t *hw, size_t hw_len)
{
	put_binding_info(t, addr, state, start, ends, hw, hw_len, NULL);
}

/* The partner sends a BNDUPD of @p addr for client @p hw (times on its clock, ours here). */
static void partner_bndupd(struct t *t, uint32_t addr, uint8_t status, uint32_t cltt,
			   uint32_t ends, const uint8_t *hw, size_t hw_len)
{
	struct fo_msg m;

	fo_msg_init(&m, FO_MSG_BNDUPD, 0, 0);
	m.assigned_addr = addr;
	m.binding_status = status;
	m.chaddr.ptr = hw;
	m.chaddr.len = hw_len;
	m.cltt = cltt;
	m.stos = status == FO_LEASE_ACTIVE ? cltt : ends;
	m.lease_expiry = ends;
	m.potential_expiry = ends + 30;
	m.present |= FO_BIT(FO_OPT_ASSIGNED_IP_ADDRESS) | FO_BIT(FO_OPT_BINDING_STATUS) |
		     FO_BIT(FO_OPT_CHADDR) | FO_BIT(FO_OPT_CLTT) | FO_BIT(FO_OPT_STOS) |
		     FO_BIT(FO_OPT_LEASE_EXPIRY) | FO_BIT(FO_OPT_POTENTIAL_EXPIRY);
	assert_int_equal(fo_link_send(t->partner, &m), 0);
}

/*
 * Chaos soak finding 1, first half: a client renewed its lease with us (60 s, under ISC's
 * 65 s of slack) while the failover link was down; the partner, which last saw the lease
 * before the renewal, let it expire and sends EXPIRED. Time(2) (D12 §7.1.3): our lease has
 * not ended, so the update is rejected (15) and nothing is handed to the worker; with the
 * 65 s slack it was accepted and the live lease went back to the pool.
 */
static void test_partner_expiry_keeps_live_lease(void **state)
{
	static const uint8_t hw[7] = {1, 0x02, 0x5a, 0x23, 0, 0, 0x01};
	struct t *t = *state;
	uint32_t now = wall();

	put_binding(t, ADDR(103), BT_ACTIVE, now - 2, now + 58, hw, sizeof(hw));
	wait_up(t);
	partner_bndupd(t, ADDR(103), FO_LEASE_EXPIRED, now - 20, now - 12, hw, sizeof(hw));
	wait_for(t, &t->n_bndack, 1, "the BNDACK");
	assert_int_equal(t->bndack_addr, ADDR(103));
	assert_true(t->bndack_reject);
	assert_int_equal(t->sink.n_sub, 0);	/* the worker was never asked */
}

/*
 * Chaos soak finding 1, second half: the partner renewed a client's lease while cut off
 * from us; we let our older view of it expire meanwhile (the EXPIRED record starts at the
 * expiry, after the renewal's CLTT). The expiry is no client transaction: the partner's
 * ACTIVE is later (time(1)) and is applied. Taking the expiry as the CLTT rejected it.
 */
static void test_partner_renewal_beats_our_expiry(void **state)
{
	static const uint8_t hw[7] = {1, 0x02, 0x5a, 0x23, 0, 0, 0x02};
	struct t *t = *state;
	uint32_t now = wall();

	put_binding(t, ADDR(104), BT_EXPIRED, now - 2, now - 2, hw, sizeof(hw));
	wait_up(t);
	partner_bndupd(t, ADDR(104), FO_LEASE_ACTIVE, now - 6, now + 54, hw, sizeof(hw));
	for (int i = 0; i < ROUNDS && t->sink.n_sub == 0 && t->n_bndack == 0; i++) {
		round_once(t);
	}
	assert_int_equal(t->n_bndack, 0);	/* not rejected */
	assert_int_equal(t->sink.n_sub, 1);
	assert_int_equal(t->sink.sub[0]->addr, ADDR(104));
	assert_int_equal(t->sink.sub[0]->state, BT_ACTIVE);
	/* moved onto our clock by the skew measured at CONNECT: 0, or 1 across a second */
	assert_in_range(t->sink.sub[0]->ends, (uint64_t)now + 53, (uint64_t)now + 55);
}

/* A binding that remembers its client sends it in its BNDUPD (client-request-options: host
 * name, vendor class, circuit id; not the policy); one that knows nothing sends no option 8. */
static void test_bndupd_carries_client_info(void **state)
{
	static const uint8_t hw[7] = {1, 0x02, 0x5a, 0x23, 0, 0, 0x07};
	static const uint8_t hw2[7] = {1, 0x02, 0x5a, 0x23, 0, 0, 0x08};
	struct t *t = *state;
	struct dp_client_info in = {0};
	uint32_t now = wall();

	memcpy(in.host, "printer-3", in.host_len = 9);
	memcpy(in.vendor, "MSFT 5.0", in.vendor_len = 8);
	memcpy(in.circuit, "\x00\x05", in.circuit_len = 2);
	memcpy(in.policy, "printers", in.policy_len = 8);
	put_binding_info(t, ADDR(100), BT_ACTIVE, now, now + 600, hw, sizeof(hw), &in);
	put_binding(t, ADDR(101), BT_ACTIVE, now, now + 600, hw2, sizeof(hw2));
	wait_up(t);
	for (uint32_t i = 0; i < 2; i++) {
		struct dp_change c = {
			.seq = i + 1, .addr = ADDR(100 + i), .scope = 0, .state = BT_ACTIVE,
			.worker = 0, .start = now, .ends = now + 600, .flags = DP_CHANGE_FO,
		};

		c.key.type = DP_KEY_HWADDR;
		c.key.len = 7;
		memcpy(c.key.data, i == 0 ? hw : hw2, 7);
		assert_int_equal(committer_ops.post(t->cm, &c), 0);
	}
	assert_int_equal(committer_round(t->cm), 2);
	wait_for(t, &t->n_bndupd, 2, "two BNDUPDs");
	for (unsigned i = 0; i < 2; i++) {
		const struct dp_client_info *got = &t->bndupd_info[i];

		assert_int_equal(t->bndupd_status[i], FO_LEASE_ACTIVE);
		if (t->bndupd_addr[i] == ADDR(101)) {
			assert_true(dp_info_empty(got));
			continue;
		}
		assert_int_equal(t->bndupd_addr[i], ADDR(100));
		assert_int_equal(got->host_len, 9);
		assert_memory_equal(got->host, "printer-3", 9);
		assert_int_equal(got->vendor_len, 8);
		assert_memory_equal(got->vendor, "MSFT 5.0", 8);
		assert_int_equal(got->circuit_len, 2);
		assert_memory_equal(got->circuit, "\x00\x05", 2);
		assert_int_equal(got->policy_len, 0);
	}
}

/*
 * Issue 11: the PET the partner acknowledged goes to the store, with the binding, in the
 * transaction that forgets the unacked mark: a restart finds it (persist.c).
 */
static void test_acked_pet_is_stored(void **state)
{
	static const uint8_t hw[7] = {1, 0x02, 0x5a, 0x23, 0, 0, 0x09};
	struct t *t = *state;
	uint32_t now = wall();
	struct store_binding b;
	struct dp_change c = {
		.seq = 1, .addr = ADDR(102), .scope = 0, .state = BT_ACTIVE, .worker = 0,
		.start = now, .ends = now + 600, .flags = DP_CHANGE_FO,
	};

	put_binding(t, ADDR(102), BT_ACTIVE, now, now + 600, hw, sizeof(hw));
	wait_up(t);
	c.key.type = DP_KEY_HWADDR;
	c.key.len = 7;
	memcpy(c.key.data, hw, 7);
	assert_int_equal(committer_ops.post(t->cm, &c), 0);
	assert_int_equal(committer_round(t->cm), 1);
	wait_for(t, &t->n_bndupd, 1, "the BNDUPD");
	assert_int_equal(t->bndupd_addr[0], ADDR(102));
	assert_true(t->bndupd_pet[0] >= now + 600);
	assert_int_equal(store_get(t->st, ADDR(102), &b), 0);
	assert_int_equal(b.pet, 0);			/* not acked yet */

	partner_bndack(t, 0, ADDR(102));
	for (int i = 0; i < ROUNDS && store_unacked_count(t->st) != 0; i++) {
		round_once(t);
	}
	assert_int_equal(store_unacked_count(t->st), 0);
	assert_int_equal(store_get(t->st, ADDR(102), &b), 0);
	assert_int_equal(b.pet, t->bndupd_pet[0]);
	assert_true(b.ends == now + 600);		/* the binding otherwise as it was */
}

/* The partner sends STATE NORMAL again: one message timed by its clock as it is now. */
static void partner_state_again(struct t *t)
{
	struct fo_msg s;

	round_once(t);		/* the partner's link takes its clock (the time it sends) */
	fo_msg_init(&s, FO_MSG_STATE, 0, 0);
	s.server_state = FO_SS_NORMAL;
	s.server_flags = 0;
	s.stos = wall() + (uint32_t)t->partner_clock;
	s.present |= FO_BIT(FO_OPT_SERVER_STATE) | FO_BIT(FO_OPT_SERVER_FLAGS) |
		     FO_BIT(FO_OPT_STOS);
	assert_int_equal(fo_link_send(t->partner, &s), 0);
	for (int i = 0; i < 20; i++) {
		round_once(t);
	}
}

/* Rounds until the update is handed to the worker or answered. */
static void wait_decided(struct t *t)
{
	for (int i = 0; i < ROUNDS && t->sink.n_sub == 0 && t->n_bndack == 0; i++) {
		round_once(t);
	}
}

/*
 * Chaos soak finding 3 (README "open finding 1"): a RELEASE stamped while the partner's clock
 * was 50 s ahead reaches us after that clock was put right. Moved onto our clock by the skew
 * of now (0) its CLTT is 45 s in our future, later than the ACK we gave the same client one
 * second ago, and time(1) let the stale RELEASE end the live lease. Its stamp predates a
 * clock step of 50 s, so it is "later" only by more than 50 s: rejected (15), the worker
 * never asked.
 */
static void test_stale_release_after_partner_step(void **state)
{
	static const uint8_t hw[7] = {1, 0x02, 0x5a, 0x23, 0, 0, 0x03};
	struct t *t = *state;
	uint32_t now = wall();

	put_binding(t, ADDR(105), BT_ACTIVE, now - 1, now + 599, hw, sizeof(hw));
	t->partner_clock = 50;
	wait_up(t);
	t->partner_clock = 0;	/* NTP puts the partner's clock right */
	partner_state_again(t);
	assert_true(labs((long)status_int(t, "skew")) <= 1);
	/* released 5 s ago on the partner, by its clock then */
	partner_bndupd(t, ADDR(105), FO_LEASE_RELEASED, now + 50 - 5, now + 50 - 5, hw,
		       sizeof(hw));
	wait_decided(t);
	assert_int_equal(t->sink.n_sub, 0);	/* the live lease stays */
	assert_int_equal(t->n_bndack, 1);
	assert_int_equal(t->bndack_addr, ADDR(105));
	assert_true(t->bndack_reject);
}

/*
 * The mirror: the partner's clock was 50 s behind when it granted a client 600 s (stamped
 * CLTT now - 55, end now + 545 by that clock); the update reaches us after the clock was
 * put right. By the skew of now the lease would end 50 s before the client's does and we
 * would give the address to another client while it still holds it. A stamp from before a
 * step keeps the address at least until the latest end it may mean: now + 595 or later.
 */
static void test_stale_lease_end_after_partner_step(void **state)
{
	static const uint8_t hw[7] = {1, 0x02, 0x5a, 0x23, 0, 0, 0x04};
	struct t *t = *state;
	uint32_t now = wall();

	t->partner_clock = -50;
	wait_up(t);
	t->partner_clock = 0;
	partner_state_again(t);
	partner_bndupd(t, ADDR(106), FO_LEASE_ACTIVE, now - 55, now + 545, hw, sizeof(hw));
	wait_decided(t);
	assert_int_equal(t->n_bndack, 0);
	assert_int_equal(t->sink.n_sub, 1);
	assert_int_equal(t->sink.sub[0]->state, BT_ACTIVE);
	assert_true(t->sink.sub[0]->ends >= (uint64_t)now + 594);
}

/*
 * Our own clock steps forward by 50 s after we granted a lease (stamped by the clock of then:
 * 150 s ago, ending 10 s ago by the numbers, 40 s from now in truth). The partner's EXPIRED
 * for it must not end it: time(2) judges a lease end written before the step by its latest
 * meaning. Without that the live lease went back to the pool.
 */
static void test_own_forward_step_keeps_lease(void **state)
{
	static const uint8_t hw[7] = {1, 0x02, 0x5a, 0x23, 0, 0, 0x05};
	struct t *t = *state;
	uint32_t now = wall();

	put_binding(t, ADDR(107), BT_ACTIVE, now - 150, now - 10, hw, sizeof(hw));
	wait_up(t);
	cp_fo_clock_step(t->fo, 50);
	partner_bndupd(t, ADDR(107), FO_LEASE_EXPIRED, now - 160, now - 10, hw, sizeof(hw));
	wait_decided(t);
	assert_int_equal(t->sink.n_sub, 0);
	assert_int_equal(t->n_bndack, 1);
	assert_true(t->bndack_reject);
}

/*
 * A restart between the partner's step and its stale update: the steps (and the skew they
 * were measured from) are kept in the stored state record, so the restarted server still
 * sees that the partner's clock moved by 50 s since it last heard it, here while we were
 * down, and the stale RELEASE is still rejected. Forgotten, the new skew looked like the
 * only one and the live lease was released.
 */
static void test_step_seen_across_restart(void **state)
{
	static const uint8_t hw[7] = {1, 0x02, 0x5a, 0x23, 0, 0, 0x06};
	struct t *t = *state;
	uint32_t now = wall();

	put_binding(t, ADDR(108), BT_ACTIVE, now - 1, now + 599, hw, sizeof(hw));
	t->partner_clock = 50;
	wait_up(t);
	cp_fo_stop(t->fo);	/* saves the state record */
	t->fo = NULL;
	t->partner_clock = 0;	/* put right while we are down */
	for (int i = 0; i < 50; i++) {
		round_once(t);	/* the partner sees the link go */
	}
	t->up = false;
	start_fo(t);
	wait_up(t);
	partner_bndupd(t, ADDR(108), FO_LEASE_RELEASED, now + 50 - 5, now + 50 - 5, hw,
		       sizeof(hw));
	wait_decided(t);
	assert_int_equal(t->sink.n_sub, 0);
	assert_int_equal(t->n_bndack, 1);
	assert_true(t->bndack_reject);
}

/* Worker 1 writes an ACTIVE binding of client @p hw (two-worker tests). */
static void put_binding_w1(struct t *t, uint32_t addr, uint64_t start, uint64_t ends,
			   const uint8_t *hw, size_t hw_len)
{
	struct bt_binding *b;

	if (!t->w1_init) {
		assert_int_equal(bt_writer_init(&t->w1, t->rt.table, 1, 8), 0);
		t->w1_init = true;
	}
	urcu_qsbr_thread_online();
	b = bt_record_get(&t->w1);
	assert_non_null(b);
	b->addr = addr;
	b->scope = 0;
	b->state = BT_ACTIVE;
	b->start = start;
	b->ends = ends;
	memset(&b->key, 0, sizeof(b->key));
	b->key.type = DP_KEY_HWADDR;
	b->key.len = (uint8_t)hw_len;
	memcpy(b->key.data, hw, hw_len);
	b->hw_len = (uint8_t)hw_len;
	memcpy(b->hw, hw, hw_len);
	assert_int_equal(bt_publish(&t->w1, bt_lookup_addr(t->rt.table, addr), b), 0);
	urcu_qsbr_thread_offline();
}

/*
 * Two workers. The partner's BACKUP for an address we hold no binding of is accepted and
 * handed to the address's worker (0), decided against "no binding". Before that worker's
 * turn, a client C of worker 1 takes the address (ACKed by us): the op finds another
 * writer's record and answers -EAGAIN. The update was decided against nothing; C's live
 * lease is a new fact and the update must be decided again (time(2): rejected while C's
 * lease runs). Rerouted as it was, the op became a FREE of C's record on worker 1 (its
 * expectation taken from the table as it is now), then the BACKUP: C's ACKed lease silently
 * destroyed, the address in a pool while C uses it.
 */
static void test_inbound_not_applied_to_a_record_it_was_not_decided_on(void **state)
{
	static const uint8_t hw_a[7] = {1, 0x02, 0x5a, 0x23, 0, 0, 0x09};
	uint8_t hw_c[7] = {1, 0x02, 0x5a, 0x23, 0, 1, 0};
	struct t *t = *state;
	struct dp_client_key kc = {.type = DP_KEY_HWADDR, .len = 7};
	struct dp_lease_op *op;
	uint32_t now = wall();

	/* C is worker 1's client; the address is worker 0's (the pools' only slice). */
	t->rt.n_workers = 2;
	do {
		hw_c[6]++;
		memcpy(kc.data, hw_c, 7);
	} while (bt_key_owner(t->rt.table, &kc, 2) != 1);
	wait_up(t);
	partner_bndupd(t, ADDR(109), FO_LEASE_BACKUP, now - 20, now - 10, hw_a, sizeof(hw_a));
	wait_for(t, &t->sink.n_sub, 1, "the worker op");
	op = t->sink.sub[0];
	assert_int_equal(op->state, BT_BACKUP);
	assert_true(op->expect && op->expect_none);
	assert_int_equal(t->sink.sub_worker[0], 0);

	/* Client C takes the address on worker 1; worker 0 then finds worker 1's record. */
	put_binding_w1(t, ADDR(109), now, now + 600, hw_c, sizeof(hw_c));
	op->result = -EAGAIN;
	atomic_store(&op->done, 1);
	for (int i = 0; i < ROUNDS && t->sink.n_sub == 1 && t->n_bndack == 0; i++) {
		round_once(t);
	}
	for (unsigned i = 1; i < t->sink.n_sub; i++) {
		/* Nothing may touch C's record on the strength of the old decision. */
		assert_false(t->sink.sub[i]->expect && !t->sink.sub[i]->expect_none &&
			     t->sink.sub[i]->expect_state == BT_ACTIVE);
	}
	assert_int_equal(t->sink.n_sub, 1);
	assert_int_equal(t->n_bndack, 1);	/* decided again: time(2), C's lease runs */
	assert_int_equal(t->bndack_addr, ADDR(109));
	assert_true(t->bndack_reject);
}

/*
 * We are the secondary. The primary's EXPIRED (or RELEASED) of its client's lease: once we
 * ack it, the primary frees the address (fo_run_on_bndack's F_TOFREE) and may give it to
 * anyone. Stored here as the client's ended lease, our engine gave it back to that client
 * (its own ended lease: test_engine fo_expired_address_stays_with_its_client) in NORMAL
 * before the primary's FREE arrived, and, with the link cut just after our ack, for the
 * whole partition: the address leased by both servers, and the primary's ACTIVE for its
 * new client then overwrote (secondary accepts) the lease we had ACKed. The address must
 * be FREE here too: nothing for the worker when we hold no binding of it, a FREE when we do.
 */
static void test_primary_expiry_frees_the_address(void **state)
{
	static const uint8_t hw[7] = {1, 0x02, 0x5a, 0x23, 0, 0, 0x0a};
	struct t *t = *state;
	uint32_t now = wall();

	put_binding(t, ADDR(101), BT_ACTIVE, now - 700, now - 100, hw, sizeof(hw));
	wait_up(t);
	/* No binding of .100 here: acked at once, nothing stored of the client. */
	partner_bndupd(t, ADDR(100), FO_LEASE_EXPIRED, now - 700, now - 100, hw, sizeof(hw));
	wait_decided(t);
	assert_int_equal(t->sink.n_sub, 0);
	assert_int_equal(t->n_bndack, 1);
	assert_false(t->bndack_reject);
	/* Our ended ACTIVE of .101: time(2) accepts; the worker makes it FREE. */
	partner_bndupd(t, ADDR(101), FO_LEASE_RELEASED, now - 50, now - 50, hw, sizeof(hw));
	wait_for(t, &t->sink.n_sub, 1, "the worker op");
	assert_int_equal(t->sink.sub[0]->addr, ADDR(101));
	assert_int_equal(t->sink.sub[0]->state, BT_FREE);
}

/* The partner-known PET of @p addr (dp_pool.peer_pet) in the running snapshot. */
static _Atomic uint32_t *pet_slot(struct t *t, uint32_t addr)
{
	const struct dp_pool *p = &t->rt.snap->pools->pools[0];
	uint64_t rank;

	assert_non_null(p->peer_pet);
	assert_true(dp_pool_rank(p, addr, &rank));
	return &p->peer_pet[rank];
}

/*
 * review17 (tests/review17/fo_pet_renewal.c): once an address has no client (the partner's
 * RELEASED of our ended lease made it FREE here, as a FREE of ours or a BACKUP would), the
 * PET the partner acknowledged for that lease is no one's: 0, as the store drops it with the
 * binding. Kept (it only ever rose), it stretched the renewal of the address's next lease,
 * of another client or the same one, which the partner knew nothing of.
 */
static void test_pet_cleared_when_the_address_is_free(void **state)
{
	static const uint8_t hw[7] = {1, 0x02, 0x5a, 0x23, 0, 0, 0x0a};
	struct t *t = *state;
	uint32_t now = wall();
	struct dp_lease_op *op;

	put_binding(t, ADDR(101), BT_ACTIVE, now - 700, now - 100, hw, sizeof(hw));
	atomic_store(pet_slot(t, ADDR(101)), now + 100000);	/* acked for that lease */
	atomic_store(pet_slot(t, ADDR(102)), now + 100000);	/* an ended lease's */
	wait_up(t);
	partner_bndupd(t, ADDR(101), FO_LEASE_RELEASED, now - 50, now - 50, hw, sizeof(hw));
	wait_for(t, &t->sink.n_sub, 1, "the worker op");
	op = t->sink.sub[0];
	assert_int_equal(op->state, BT_FREE);
	t->sink.durable = 1;
	op->result = 0;
	op->seq = 1;
	atomic_store(&op->done, 1);
	wait_for(t, &t->n_bndack, 1, "the BNDACK");
	assert_false(t->bndack_reject);
	assert_int_equal(atomic_load(pet_slot(t, ADDR(101))), 0);
	/* The partner's FREE of an address we hold nothing of: nothing to write, no PET. */
	partner_bndupd(t, ADDR(102), FO_LEASE_FREE, now - 40, now - 40, hw, sizeof(hw));
	wait_for(t, &t->n_bndack, 2, "the second BNDACK");
	assert_int_equal(t->sink.n_sub, 1);
	assert_int_equal(atomic_load(pet_slot(t, ADDR(102))), 0);
}

static int setup_primary(void **state)
{
	as_primary = true;
	return setup(state);
}

static int teardown_primary(void **state)
{
	as_primary = false;
	hs_role = NULL;
	scope_extra = NULL;
	return teardown(state);
}

/* Two policies: p2's range .104-.105 (two addresses), p1's .107 alone. */
#define HS_POLICIES ", \"policies\": [" \
	"{\"name\": \"p1\", \"ranges\": [\"198.18.0.107 - 198.18.0.107\"]}," \
	"{\"name\": \"p2\", \"ranges\": [\"198.18.0.104 - 198.18.0.105\"]}]"

static int setup_hs_active(void **state)
{
	hs_role = "active";
	scope_extra = HS_POLICIES;
	return setup_primary(state);
}

static int setup_hs_standby(void **state)
{
	hs_role = "standby";
	scope_extra = HS_POLICIES;
	return setup_primary(state);
}

/* We are the primary: wait for the pool balance's FREE -> BACKUP conversions (done and
 * written as a worker would), @p want of them, and a while more; @return the addresses given
 * to the secondary as a bit set of .100-.109. */
static unsigned balanced(struct t *t, unsigned want)
{
	uint32_t now = wall();
	unsigned given = 0, seen = 0;
	uint8_t rec[64];
	size_t len = 0;

	/* We were in NORMAL (the stored state record as in test_state_start_time_does_not_wrap):
	 * back to NORMAL at once, where the primary balances. */
	cp_fo_stop(t->fo);
	t->fo = NULL;
	assert_int_equal(store_fo_get(t->st, "fotest", rec, sizeof(rec), &len), 0);
	assert_true(len >= 40);
	rec[1] = FO_STATE_NORMAL;
	rec[4] = 0;
	lw_put64(rec + 24, now - 100);
	assert_int_equal(store_fo_put(t->st, "fotest", rec, len), 0);
	start_fo(t);
	assert_int_equal(bt_writer_init(&t->w, t->rt.table, 0, 32), 0);
	t->w_init = true;
	wait_up(t);
	for (int i = 0; i < ROUNDS && (seen < want || i < 100); i++) {
		round_once(t);
		for (; seen < t->sink.n_sub; seen++) {
			struct dp_lease_op *op = t->sink.sub[seen];
			struct bt_binding *b;

			assert_int_equal(op->state, BT_BACKUP);
			assert_true(op->addr >= ADDR(100) && op->addr <= ADDR(109));
			given |= 1u << (op->addr - ADDR(100));
			urcu_qsbr_thread_online();
			b = bt_record_get(&t->w);
			assert_non_null(b);
			b->addr = op->addr;
			b->state = BT_BACKUP;
			b->start = b->ends = now;
			assert_int_equal(bt_publish(&t->w, NULL, b), 0);
			urcu_qsbr_thread_offline();
			op->result = 0;
			op->seq = seen + 1;
			t->sink.durable = seen + 1;
			atomic_store(&op->done, 1);
		}
	}
	assert_int_equal(seen, want);
	return given;
}

/*
 * Hot standby, reserve-percent 5, with policy ranges (each balanced on its own, the share
 * rounded up so that a range of two has one on each server): the standby's reserve must
 * never take the only address of a range. In NORMAL only the active server leases; a
 * one-address range held by the standby answered none of that policy's clients
 * (drop_policy_range_exhausted on the active) until the partner went down.
 * We are the active primary: the standby gets one of p2's two, none of p1's one, none of
 * the 7 others (5 % of 7, rounded down).
 */
static void test_hot_standby_reserve_leaves_the_active_one(void **state)
{
	unsigned given = balanced(*state, 1);

	assert_true(given == 1u << 4 || given == 1u << 5);	/* one of .104-.105 */
}

/* The same with us the standby primary: the active secondary gets all but the reserve, p1's
 * only address included. */
static void test_hot_standby_active_secondary_gets_single_range(void **state)
{
	unsigned given = balanced(*state, 9);

	assert_true(given & (1u << 7));				/* p1's .107 */
	assert_int_equal(__builtin_popcount(given & (3u << 4)), 1);	/* one of p2's */
}

/* How many lines of stderr, written while @p run ran, have @p what. */
static unsigned stderr_lines_with(void (*run)(struct t *), struct t *t, const char *what)
{
	static char out[65536];
	FILE *f = tmpfile();
	int saved = dup(2);
	unsigned n = 0;
	size_t len;

	assert_non_null(f);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_true(dup2(fileno(f), 2) >= 0);
	run(t);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	len = fread(out, 1, sizeof(out) - 1, f);
	out[len] = '\0';
	fclose(f);
	for (const char *p = strstr(out, what); p != NULL; p = strstr(p + 1, what)) {
		n++;
	}
	return n;
}

/* A figure of the relationship's `counters` (failover status). */
static json_int_t counter_int(struct t *t, const char *key)
{
	json_t *l = cp_fo_status(t->fo, "fotest");
	json_int_t v;

	assert_non_null(l);
	v = json_integer_value(json_object_get(json_object_get(json_array_get(l, 0),
							       "counters"), key));
	json_decref(l);
	return v;
}

/* We are the primary, two workers; every pool address is the secondary's (a BACKUP record of
 * its slice owner, worker 0). Client C is a client of our worker 1. */
static void primary_with_backup_pool(struct t *t, uint8_t tag, struct dp_client_key *kc,
				     uint8_t hw_c[7])
{
	uint32_t now = wall();

	t->rt.n_workers = 2;
	hw_c[0] = 1;
	hw_c[1] = 0x02;
	hw_c[2] = 0x5a;
	hw_c[3] = 0x23;
	hw_c[4] = 0;
	hw_c[5] = tag;
	hw_c[6] = 0;
	kc->type = DP_KEY_HWADDR;
	kc->len = 7;
	do {
		hw_c[6]++;
		memcpy(kc->data, hw_c, 7);
	} while (bt_key_owner(t->rt.table, kc, 2) != 1);
	assert_int_equal(bt_writer_init(&t->w, t->rt.table, 0, 32), 0);
	t->w_init = true;
	urcu_qsbr_thread_online();
	for (uint32_t a = ADDR(100); a <= ADDR(109); a++) {
		struct bt_binding *b = bt_record_get(&t->w);

		assert_non_null(b);
		b->addr = a;
		b->state = BT_BACKUP;	/* no client: key.len 0 */
		b->start = b->ends = now - 100;
		assert_int_equal(bt_publish(&t->w, NULL, b), 0);
	}
	urcu_qsbr_thread_offline();
}

/* The worker answers every hand-over of the move in flight -ENOBUFS, for 300 ms. */
static void no_room_for_300ms(struct t *t)
{
	uint64_t t0 = mono_ms();

	do {
		struct dp_lease_op *op = t->sink.sub[t->sink.n_sub - 1];
		unsigned n = t->sink.n_sub;

		op->result = -ENOBUFS;
		atomic_store(&op->done, 1);
		for (int i = 0; i < ROUNDS && t->sink.n_sub == n && t->n_bndack == 0; i++) {
			round_once(t);
		}
		assert_int_equal(t->n_bndack, 0);		/* not rejected */
		assert_int_equal(t->sink.n_sub, n + 1);		/* the same step again */
		assert_int_equal(t->sink.sub_worker[n], 1);
		assert_true(t->sink.sub[n]->take);
		assert_int_equal(t->sink.sub[n]->state, BT_ACTIVE);
	} while (mono_ms() < t0 + 300);
}

/*
 * The secondary gives .100 to its client C, a client of our worker 1, and sends the ACTIVE:
 * the binding moves from worker 0 (the BACKUP record's writer) to worker 1, in one step that
 * takes the record over (the address held meanwhile, dp_pool.fo_hold). Worker 1 answers
 * -ENOBUFS (its commit ring full, or no record, or no spill record for C's long host name:
 * all pass), then -EBUSY (worker 0's last change not durable yet). Rejected, the update would
 * be forgotten by the secondary (D12 §7.2: no resend) while C holds the address. The step
 * must be handed over again, the address held and the BNDACK withheld until it is done;
 * each -ENOBUFS counted (moves-no-room), and the retries spaced (backoff), not one per poll.
 */
static void test_inbound_move_without_room_is_retried(void **state)
{
	uint8_t hw_c[7];
	struct t *t = *state;
	struct dp_client_key kc;
	const struct dp_pool *pool;
	struct dp_lease_op *op;
	uint32_t now = wall();
	uint64_t rank;
	unsigned n;

	primary_with_backup_pool(t, 2, &kc, hw_c);
	pool = &t->rt.snap->pools->pools[0];
	assert_true(dp_pool_rank(pool, ADDR(100), &rank));
	wait_up(t);
	assert_int_equal(counter_int(t, "moves-no-room"), 0);
	partner_bndupd(t, ADDR(100), FO_LEASE_ACTIVE, now, now + 600, hw_c, sizeof(hw_c));

	/* One step: C's binding on worker 1, taking worker 0's BACKUP record over. */
	wait_for(t, &t->sink.n_sub, 1, "the move");
	op = t->sink.sub[0];
	assert_int_equal(t->sink.sub_worker[0], 1);
	assert_int_equal(op->state, BT_ACTIVE);
	assert_true(op->take);
	assert_true(op->expect && !op->expect_none);
	assert_int_equal(op->expect_state, BT_BACKUP);
	assert_int_equal(op->expect_owner, 0);
	assert_int_not_equal(atomic_load(&pool->fo_hold[rank]), 0);

	/* No room, again and again for 300 ms: counted each time, logged once (at most one
	 * line per 10 s), and spaced: 1, 2, 4 ... 100 ms apart, not one per 2 ms poll (~150). */
	assert_int_equal(stderr_lines_with(no_room_for_300ms, t,
					   "event=failover-move-no-room"), 1);
	assert_int_equal(counter_int(t, "moves-no-room"), t->sink.n_sub - 1);
	assert_true(t->sink.n_sub - 1 >= 3);
	assert_true(t->sink.n_sub - 1 <= 15);
	assert_int_not_equal(atomic_load(&pool->fo_hold[rank]), 0);	/* still held */

	/* Worker 0's last change is still on its way: handed over again, not counted. */
	n = t->sink.n_sub;
	op = t->sink.sub[n - 1];
	op->result = -EBUSY;
	atomic_store(&op->done, 1);
	wait_for(t, &t->sink.n_sub, n + 1, "the move after -EBUSY");
	assert_int_equal(t->n_bndack, 0);
	assert_int_equal(counter_int(t, "moves-no-room"), n - 1);

	/* Room again: done and durable, the update is acked and the address let go. */
	op = t->sink.sub[n];
	op->result = 0;
	op->seq = 1;
	t->sink.durable = 1;
	atomic_store(&op->done, 1);
	wait_for(t, &t->n_bndack, 1, "the BNDACK");
	assert_false(t->bndack_reject);
	assert_int_equal(t->bndack_addr, ADDR(100));
	assert_int_equal(atomic_load(&pool->fo_hold[rank]), 0);
	assert_int_equal(t->sink.n_sub, n + 1);
}

/*
 * The same move, with a configuration change applied while it is in flight (a new lease
 * time: the relationship unchanged). The new snapshot's pools must hold the address as the
 * old ones did until the move is done, else a worker on the new pools could change it under
 * the move; and the end of the move must let go of the hold where it now is, not write into
 * the old pools' fo_hold, which the apply has unmapped with the old snapshot (a SIGSEGV, or a
 * write into whatever was mapped there since).
 */
static void test_move_hold_survives_config_change(void **state)
{
	uint8_t hw_c[7];
	struct t *t = *state;
	struct dp_client_key kc;
	struct cp_persist none = {0};
	const struct dp_pool *pool;
	struct dp_lease_op *op;
	uint32_t now = wall();
	uint64_t rank;
	char err[512];
	json_t *j;

	primary_with_backup_pool(t, 3, &kc, hw_c);
	wait_up(t);
	partner_bndupd(t, ADDR(100), FO_LEASE_ACTIVE, now, now + 600, hw_c, sizeof(hw_c));
	wait_for(t, &t->sink.n_sub, 1, "the move");
	op = t->sink.sub[0];
	assert_int_equal(op->state, BT_ACTIVE);
	assert_true(op->take);

	/* A configuration change while the move is on its way. */
	t->apply.persist = &none;
	j = cp_config_to_json(t->rt.snap->cfg);
	json_object_set_new(json_array_get(json_object_get(j, "scopes"), 0), "lease-time",
			    json_integer(900));
	assert_int_equal(apply_doc(t, j, err, sizeof(err)), 0);
	assert_int_equal(t->rt.snap->cfg->scopes[0].lease_time, 900);
	pool = &t->rt.snap->pools->pools[0];
	assert_true(dp_pool_rank(pool, ADDR(100), &rank));
	assert_int_not_equal(atomic_load(&pool->fo_hold[rank]), 0);	/* still held */

	/* The move done and durable: acked, and the address let go in the new pools. */
	op->result = 0;
	op->seq = 1;
	t->sink.durable = 1;
	atomic_store(&op->done, 1);
	wait_for(t, &t->n_bndack, 1, "the BNDACK");
	assert_false(t->bndack_reject);
	assert_int_equal(atomic_load(&pool->fo_hold[rank]), 0);
	cp_apply_deinit(&t->apply);	/* the requeue job the apply started */
}

static int setup_primary2(void **state)
{
	as_primary = true;
	two_rings = true;
	return setup(state);
}

static int teardown_primary2(void **state)
{
	as_primary = false;
	two_rings = false;
	return teardown(state);
}

/* Workers 0 and 1 as real engines on the test's table and pools, posting to the committer;
 * the ops the control thread hands over are run by run_op(). */
static void real_workers(struct t *t)
{
	t->rt.n_workers = 2;
	for (uint32_t i = 0; i < 2; i++) {
		struct dp_engine *e = &t->e[i];

		assert_int_equal(bt_writer_init(&e->writer, t->rt.table, (uint8_t)i, 64), 0);
		e->id = i;
		e->n_workers = 2;
		e->table = t->rt.table;
		e->pools = t->rt.snap->pools;
		e->ctr = &t->ctr[i];
		e->commit.ops = &committer_ops;
		e->commit.ctx = t->cm;
	}
	t->e_init = true;
	t->sink.cm = t->cm;
}

/* Worker @p w runs @p op, then the committer writes what it posted. */
static void run_op(struct t *t, uint32_t w, struct dp_lease_op *op)
{
	urcu_qsbr_thread_online();
	dp_engine_apply_op(&t->e[w], t->rt.snap->cfg, op, wall());
	urcu_qsbr_thread_offline();
	assert_true(committer_round(t->cm) >= 0);
}

struct loaded {
	uint32_t addr;
	bool found;
	struct store_binding b;
};

static int load_cb(const struct store_binding *b, void *arg)
{
	struct loaded *l = arg;

	if (b->addr == l->addr) {
		l->found = true;
		l->b = *b;
	}
	return 0;
}

/*
 * We are the primary, with real workers, committer and store. Every pool address is the
 * secondary's (BACKUP records worker 0 wrote, durable). The secondary gives .100 to its client
 * C, a client of our worker 1: the binding moves from worker 0 to worker 1. The daemon is
 * killed right after the move's first step is durable: the store it restarts from must hold
 * the address as BACKUP (the secondary's, which we do not allocate) or as C's lease, never
 * without a record. A FREE on worker 0 first, then C's binding on worker 1, left the store
 * with no record of .100 there: after a restart the address was free in our pool, offered to
 * our next client while C held it (the secondary resends only once the link is up again).
 */
static void test_move_between_writers_survives_a_crash(void **state)
{
	uint8_t hw_c[7] = {1, 0x02, 0x5a, 0x23, 0, 4, 0};
	struct t *t = *state;
	struct dp_client_key kc = {.type = DP_KEY_HWADDR, .len = 7};
	struct store_opts so = {.sync = STORE_SYNC_STRICT};
	struct loaded l = {.addr = ADDR(100)};
	struct store_binding sb;
	struct dp_lease_op *op;
	uint32_t now = wall(), w;
	char err[256];
	int rc;

	real_workers(t);
	do {
		hw_c[6]++;
		memcpy(kc.data, hw_c, 7);
	} while (bt_key_owner(t->rt.table, &kc, 2) != 1);
	for (uint32_t a = ADDR(100); a <= ADDR(109); a++) {
		struct dp_lease_op b = {.kind = DP_OP_PEER, .addr = a, .state = BT_BACKUP,
					.start = now - 100, .ends = now - 100, .from_peer = true};

		run_op(t, 0, &b);
		assert_int_equal(b.result, 0);
	}
	assert_int_equal(store_get(t->st, ADDR(100), &sb), 0);
	assert_int_equal(sb.state, BT_BACKUP);
	wait_up(t);
	partner_bndupd(t, ADDR(100), FO_LEASE_ACTIVE, now, now + 600, hw_c, sizeof(hw_c));

	/* The move's first step, run by the worker it was handed to, and made durable. */
	wait_for(t, &t->sink.n_sub, 1, "the move's first step");
	op = t->sink.sub[0];
	w = t->sink.sub_worker[0];
	run_op(t, w, op);
	assert_int_equal(op->result, 0);
	assert_true(committer_ops.durable(t->cm, w) >= op->seq);

	/* kill -9 now: nothing more reaches the store. Then the restart reads it. */
	cp_fo_stop(t->fo);
	t->fo = NULL;
	committer_free(t->cm);
	t->cm = NULL;
	store_close(t->st);
	t->st = store_open(t->dir, &so, err, sizeof(err));
	assert_non_null(t->st);
	rc = store_load(t->st, load_cb, &l);
	assert_int_equal(rc, 0);
	if (!l.found) {
		fail_msg("after a crash in the move, the store has no record of %s: a free "
			 "address of our pool while the partner's client holds it",
			 lw_ip4_fmt(ADDR(100)).s);
	}
	assert_true(l.b.state == BT_BACKUP ||
		    (l.b.state == BT_ACTIVE && bt_key_equal(&l.b.key, &kc)));
	/* The move is one step: C's lease is what the store holds. */
	assert_int_equal(l.b.state, BT_ACTIVE);
}

static int setup_other(void **state)
{
	rel_other = true;
	return setup(state);
}

static int teardown_other(void **state)
{
	rel_other = false;
	fail_fdatasync = false;
	return teardown(state);
}

/*
 * review17: the stop of two relationships, the second still holding a forget of the store's
 * unacked mark that an earlier flush could not write (the store failed), while the applier
 * has fed the tap meanwhile (in journal mode it does for up to 50 ms after the last control
 * loop turn). The second's flush drains the tap, and each address drained was looked up in
 * every relationship of the handle, the first included: stopped and freed a moment before
 * (heap-use-after-free in the ASan build, scripts/test.sh; a write into the freed flags when
 * the address is the first's). Every relationship must be off the list before it stops,
 * and the forget must reach the store. By the daemon's stop (cp_fo_stop()) or by a
 * configuration that removes both (cp_fo_prepare()).
 */
static void stop_both_with_a_forget_queued(struct t *t, bool live)
{
	uint32_t now = wall();
	struct dp_change c = {
		.seq = 1, .addr = ADDR(107), .scope = 0, .state = BT_FREE, .worker = 0,
		.start = now, .ends = now, .flags = DP_CHANGE_FO,
	};
	struct cp_persist none = {0};
	char err[512];
	json_t *j;

	wait_up(t);
	assert_int_equal(committer_ops.post(t->cm, &c), 0);
	assert_int_equal(committer_round(t->cm), 1);
	wait_for(t, &t->n_bndupd, 1, "the BNDUPD");
	assert_int_equal(store_unacked_count(t->st), 1);

	/* Acked while the disk fails: the flush of the forget fails, it stays queued. */
	fail_fdatasync = true;
	partner_bndack(t, 0, ADDR(107));
	for (int i = 0; i < ROUNDS && status_msg(t, "bndack-received") == 0; i++) {
		round_once(t);
	}
	assert_int_equal(status_msg(t, "bndack-received"), 1);
	fail_fdatasync = false;
	assert_int_equal(store_unacked_count(t->st), 1);

	/* A change of the other relationship's scope (198.18.1.105) in the tap, not drained. */
	c.seq = 2;
	c.addr = 0xc6120169u;
	c.scope = 1;
	assert_int_equal(committer_ops.post(t->cm, &c), 0);
	assert_int_equal(committer_round(t->cm), 1);

	if (live) {
		t->apply.persist = &none;
		t->apply.follower = &cp_fo_follower;
		t->apply.follower_ctx = t->fo;
		j = cp_config_to_json(t->rt.snap->cfg);
		json_object_set_new(j, "relationships", json_array());
		assert_int_equal(apply_doc(t, j, err, sizeof(err)), 0);
		assert_false(cp_fo_active(t->fo));
		cp_apply_deinit(&t->apply);
	} else {
		cp_fo_stop(t->fo);
		t->fo = NULL;
	}
	/* fotest's forget went (its mark of generation 1), the other's change is kept. */
	assert_int_equal(store_unacked_count(t->st), 1);
}

static void test_stop_flushes_without_the_stopped(void **state)
{
	stop_both_with_a_forget_queued(*state, false);
}

static void test_removal_flushes_without_the_removed(void **state)
{
	stop_both_with_a_forget_queued(*state, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inbound_ack_after_durable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbound_window_and_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_start_time_does_not_wrap, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bndack_address_must_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acked_pet_is_stored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_relationships, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partner_expiry_keeps_live_lease, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bndupd_carries_client_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partner_renewal_beats_our_expiry, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stale_release_after_partner_step, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stale_lease_end_after_partner_step, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_own_forward_step_keeps_lease, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_step_seen_across_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_inbound_not_applied_to_a_record_it_was_not_decided_on, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_primary_expiry_frees_the_address, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pet_cleared_when_the_address_is_free, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_inbound_move_without_room_is_retried,
						setup_primary, teardown_primary),
		cmocka_unit_test_setup_teardown(test_hot_standby_reserve_leaves_the_active_one,
						setup_hs_active, teardown_primary),
		cmocka_unit_test_setup_teardown(test_hot_standby_active_secondary_gets_single_range,
						setup_hs_standby, teardown_primary),
		cmocka_unit_test_setup_teardown(test_move_hold_survives_config_change,
						setup_primary, teardown_primary),
		cmocka_unit_test_setup_teardown(test_move_between_writers_survives_a_crash,
						setup_primary2, teardown_primary2),
		cmocka_unit_test_setup_teardown(test_stop_flushes_without_the_stopped, setup_other,
						teardown_other),
		cmocka_unit_test_setup_teardown(test_removal_flushes_without_the_removed,
						setup_other, teardown_other),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
