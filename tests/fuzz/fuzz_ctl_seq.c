/*
 * fuzz_ctl_seq: SEQUENCES of control commands (controlplane/ctl_cmds.c) on the lease-op
 * engine (leaseop.c) and two real DHCP engines (dataplane/engine.c) with a real binding table
 * and pools, as test_ctl_cmds runs them, but with the workers played by the input: the fake
 * sink queues each op for its worker (or refuses it, as a full ring), and an input record
 * says when a worker runs what it has queued.
 *
 * The input is a list of records {op, arg...}: a command (lease4-add, -update, -del, -get,
 * -get-all, -get-page, -wipe, reservation-list, scope-get, scope-list, config-get,
 * config-test, list-commands, version-get) with arguments picked by the input (addresses,
 * hardware addresses, client ids, states, lifetimes, scopes, some malformed), a request
 * whose arguments object is the input's raw bytes (JSON or not), a worker running its queue,
 * the sink refusing or accepting, the control loop's progress tick. Commands that need the
 * daemon's other parts (configuration changes, statistics, failover, the management
 * channel, shutdown) are not sent: they take a live runtime with DPDK rings.
 *
 * Checked after every step: an answer, when there is one at once, is an object with an
 * integer result and a string text; each record of the table is found by its address, its
 * key finds no other client's record, and it is in a scope. At the end of the input the
 * workers run everything and the sink accepts: every pending command must then finish
 * within a bounded number of rounds (none is lost or stuck), which the lease-op engine
 * says with cp_cmd_progress().
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "ctl_cmds.h"
#include "engine.h"
#include "leaseop.h"
#include "persist.h"
#include "stats.h"
#include "worker.h"

#define SEQ_HARNESS "fuzz_ctl_seq"
#include "seq_env.h"
#include "seq_engines.h"


#define N_WORKERS 2
#define MAX_STEPS 200
#define MAX_Q 64
#define STOCK 4096
#define STOCK_LOW 1536	/* > what MAX_STEPS commands can take, wipes included */

static const char *cfg_json =
	"{\"server\": {\"workers\": 2},"
	" \"ports\": [{\"name\": \"p0\", \"device\": \"net_ring0\","
	"   \"interfaces\": [{\"address\": \"198.18.0.1/24\"}]}],"
	" \"scopes\": ["
	"  {\"name\": \"lab\", \"subnet\": \"198.18.0.0/24\","
	"   \"pools\": [\"198.18.0.100 - 198.18.0.109\"], \"lease-time\": 600,"
	"   \"reservations\": [{\"hw-address\": \"02:00:00:00:00:01\","
	"                       \"ip-address\": \"198.18.0.50\"}]},"
	"  {\"name\": \"far\", \"subnet\": \"198.18.5.0/24\","
	"   \"pools\": [\"198.18.5.10 - 198.18.5.13\"], \"lease-time\": 300}"
	" ]}";

struct queued {
	uint32_t worker;
	struct dp_lease_op *op;
};

struct env {
	bool ready;
	struct dp_snapshot snap;
	struct dp_runtime rt;
	struct cp_stats stats;		/* scope-get, scope-list sum the workers' counters */
	struct cp_persist persist;	/* no store (statistics read its committer) */
	struct dp_commit_mem mem;
	struct dp_counters ctr[N_WORKERS];
	struct dp_engine *e[N_WORKERS];
	struct queued q[MAX_Q];
	uint32_t nq;
	bool refuse;
	uint64_t now;
	struct cp_cmds *cmds;
};

static struct env env;

/* --- the workers, played by the input -------------------------------------------------- */

static int sink_submit(void *ctx, uint32_t worker, struct dp_lease_op *op)
{
	struct env *v = ctx;

	CHECK(worker < N_WORKERS, "op for worker %u", worker);
	if (v->refuse || v->nq == MAX_Q) {
		return -ENOBUFS;
	}
	v->q[v->nq++] = (struct queued){worker, op};
	return 0;
}

static bool sink_done(void *ctx, const struct dp_lease_op *op)
{
	(void)ctx;
	return atomic_load_explicit(&op->done, memory_order_acquire) != 0;
}

static uint64_t sink_durable(void *ctx, uint32_t worker)
{
	return dp_commit_mem_ops.durable(&((struct env *)ctx)->mem, worker);
}

static const struct cp_leaseop_sink_ops sink_ops = {
	.submit = sink_submit, .done = sink_done, .durable = sink_durable,
};

/* Worker @p w runs the ops queued for it (the control thread is offline meanwhile). */
static void run_worker(struct env *v, uint32_t w)
{
	uint32_t i = 0;

	urcu_qsbr_thread_online();
	while (i < v->nq) {
		if (v->q[i].worker != w) {
			i++;
			continue;
		}
		dp_engine_apply_op(v->e[w], v->snap.cfg, v->q[i].op, v->now);
		CHECK(atomic_load(&v->q[i].op->done) != 0, "op not marked done");
		memmove(&v->q[i], &v->q[i + 1], (v->nq - i - 1) * sizeof(v->q[0]));
		v->nq--;
	}
	urcu_qsbr_quiescent_state();
	urcu_qsbr_thread_offline();
}

/* --- set-up and reset ------------------------------------------------------------------ */

static void setup_once(struct env *v)
{
	char err[256];

	v->snap.cfg = cp_config_parse(cfg_json, err, sizeof(err));
	CHECK(v->snap.cfg != NULL, "config: %s", err);
	v->rt.snap = &v->snap;
	v->rt.n_workers = N_WORKERS;
	v->rt.table = seq_engines_new(v->snap.cfg, 16, v->e, N_WORKERS, STOCK);
	v->snap.pools = dp_pools_new(v->snap.cfg, N_WORKERS);
	CHECK(v->snap.pools != NULL, "pools");
	/* Only their counters are read (cp_stats_sum): zeroes. */
	v->rt.workers = aligned_alloc(64, N_WORKERS * sizeof(*v->rt.workers));
	CHECK(v->rt.workers != NULL, "workers");
	memset(v->rt.workers, 0, N_WORKERS * sizeof(*v->rt.workers));
	cp_stats_init(&v->stats, &v->rt);
	urcu_qsbr_thread_offline();	/* the control thread: online only around table use */
	v->ready = true;
}

NOCOV static void reset(struct env *v)
{
	bool low;

	urcu_qsbr_thread_online();
	low = seq_table_clear(v->rt.table, v->e, N_WORKERS, STOCK_LOW);
	urcu_qsbr_thread_offline();
	if (low) {
		/* As fuzz_engine_seq: wait until every retired record is back with its writer. */
		urcu_qsbr_barrier();
	}
	dp_pools_reset(v->snap.pools);	/* as dp_pools_new() built it in setup_once() */
	memset(&v->mem, 0, sizeof(v->mem));
	memset(v->ctr, 0, sizeof(v->ctr));
	for (uint32_t i = 0; i < N_WORKERS; i++) {
		seq_engine_wire(v->e[i], i, N_WORKERS, v->rt.table, v->snap.pools, &v->ctr[i],
				&dp_commit_mem_ops, &v->mem);
	}
	v->nq = 0;
	v->refuse = false;
	v->now = (uint64_t)time(NULL);
	v->cmds = cp_cmds_new(&(struct cp_cmds_env){.rt = &v->rt, .stats = &v->stats,
			      .persist = &v->persist,
			      .sink = {.ops = &sink_ops, .ctx = v}});
	CHECK(v->cmds != NULL, "cp_cmds_new");
}

/* --- checks ---------------------------------------------------------------------------- */

NOCOV static bool table_cb(const struct bt_binding *b, void *arg)
{
	struct env *v = arg;

	seq_check_record(v->rt.table, b);
	CHECK(dp_config_scope_of(v->snap.cfg, b->addr) != NULL, "record of %08x in no scope",
	      b->addr);
	return true;
}

NOCOV static void check_table(struct env *v)
{
	urcu_qsbr_thread_online();
	bt_foreach(v->rt.table, table_cb, v);
	urcu_qsbr_quiescent_state();
	urcu_qsbr_thread_offline();
}

NOCOV static void check_answer(const json_t *a, const char *cmd)
{
	if (a == NULL) {
		return;		/* answered once the workers have done it */
	}
	CHECK(json_is_object(a) && json_is_integer(json_object_get(a, "result")) &&
	      json_is_string(json_object_get(a, "text")),
	      "%s: malformed answer", cmd);
}

/* --- commands -------------------------------------------------------------------------- */

static const char *const cmd_names[] = {
	"lease4-add", "lease4-update", "lease4-del", "lease4-get", "lease4-get-all",
	"lease4-get-page", "lease4-wipe", "reservation-list", "scope-get", "scope-list",
	"config-get", "config-test", "list-commands", "version-get",
};
#define N_CMDS (sizeof(cmd_names) / sizeof(cmd_names[0]))

static const char *const addrs[] = {
	"198.18.0.100", "198.18.0.101", "198.18.0.102", "198.18.0.109", "198.18.0.50",
	"198.18.0.200", "198.18.5.10", "198.18.5.13", "198.18.9.9", "0.0.0.0",
	"255.255.255.255", "198.18.0", "", "198.18.0.100x",
};
static const char *const hws[] = {
	"02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03", "02:00:00:00:00:04",
	"02:00", "zz:zz:zz:zz:zz:zz", "02:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:01",
	"",
};
/* 65 bytes: one more than DP_KEY_MAX. */
static const char cid_too_long[] =
	"01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:13:14:15:16:17:18:19:1a:1b:1c:"
	"1d:1e:1f:20:21:22:23:24:25:26:27:28:29:2a:2b:2c:2d:2e:2f:30:31:32:33:34:35:36:37:38:"
	"39:3a:3b:3c:3d:3e:3f:40:41";
static const char *const cids[] = {"01:02:03", "61:62", "00", "", "xyz", cid_too_long};
static const char *const states[] = {"active", "expired", "released", "declined", "free",
				     "backup", "offered", "bogus"};
static const char *const scopes[] = {"lab", "far", "nope", ""};

#define PICK(tab, i) ((tab)[(i) % (sizeof(tab) / sizeof((tab)[0]))])

/* Arguments for command @p ci from record bytes @p r[2..7]. */
static json_t *make_args(unsigned ci, const uint8_t *r)
{
	json_t *a = json_object();
	uint8_t pick = r[2];

	if (a == NULL) {
		return NULL;
	}
	switch (ci) {
	case 0: case 1: case 2: case 3:
		if (ci <= 1 || (pick & 1)) {
			json_object_set_new(a, "ip-address", json_string(PICK(addrs, r[3])));
		}
		if (pick & 2) {
			json_object_set_new(a, "hw-address", json_string(PICK(hws, r[4])));
		}
		if (pick & 4) {
			json_object_set_new(a, "client-id", json_string(PICK(cids, r[5])));
		}
		if (ci <= 1 && (pick & 8)) {
			json_object_set_new(a, "valid-lft",
					    json_integer((pick & 0x80) ? -(json_int_t)r[6] :
							 (json_int_t)r[6] * 37));
		}
		if (ci <= 1 && (pick & 0x10)) {
			json_object_set_new(a, "state", json_string(PICK(states, r[7])));
		}
		if (ci == 1 && (pick & 0x20)) {
			json_object_set_new(a, "force-create", json_boolean(r[7] & 0x80));
		}
		if (pick & 0x40) {
			/* A wrong type for a known key. */
			json_object_set_new(a, "ip-address", json_integer(r[3]));
		}
		break;
	case 4:
	case 5:
		if (ci == 5) {
			json_object_set_new(a, "from", json_string(PICK(addrs, r[3])));
			json_object_set_new(a, "limit", json_integer((json_int_t)r[4] - 8));
		}
		if (pick & 1) {
			json_t *l = json_array();

			json_array_append_new(l, json_string(PICK(scopes, r[5])));
			if (pick & 2) {
				json_array_append_new(l, json_string(PICK(scopes, r[6])));
			}
			json_object_set_new(a, "scopes", l);
		}
		break;
	case 6:
	case 7:
		if (ci == 7 || (pick & 1)) {
			json_object_set_new(a, "scope", json_string(PICK(scopes, r[3])));
		}
		break;
	case 8:
		json_object_set_new(a, "name", json_string(PICK(scopes, r[3])));
		break;
	default:
		break;
	}
	if (pick & 0x80 && ci > 1) {
		json_object_set_new(a, "unknown-key", json_true());
	}
	return a;
}

static void dispatch(struct env *v, const char *name, json_t *args)
{
	json_t *req = json_object(), *answer;

	CHECK(req != NULL, "json");
	json_object_set_new(req, "command", json_string(name));
	if (args != NULL) {
		json_object_set_new(req, "arguments", args);
	}
	answer = cp_cmd_dispatch(v->cmds, NULL, req);
	check_answer(answer, name);
	json_decref(answer);
	json_decref(req);
}

/* Run everything: every pending command must end. */
static void finish(struct env *v)
{
	v->refuse = false;
	for (int round = 0; round < 64; round++) {
		for (uint32_t w = 0; w < N_WORKERS; w++) {
			run_worker(v, w);
		}
		if (!cp_cmd_progress(v->cmds) && v->nq == 0) {
			return;
		}
	}
	CHECK(false, "a command is still pending after 64 rounds of the workers");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct env *v = &env;
	unsigned steps = 0;

	if (!v->ready) {
		setup_once(v);
	}
	reset(v);
	while (size >= 8 && steps++ < MAX_STEPS) {
		const uint8_t *r = data;
		size_t n;

		data += 8;
		size -= 8;
		switch (r[0] % 8) {
		case 0: case 1: case 2: case 3:
			dispatch(v, cmd_names[r[1] % N_CMDS], make_args(r[1] % N_CMDS, r));
			break;
		case 4: {
			/* Raw arguments: the next r[2] % 64 bytes, parsed as JSON if they are. */
			json_t *a;

			n = r[2] % 64 < size ? r[2] % 64 : size;
			a = json_loadb((const char *)data, n, JSON_DECODE_ANY, NULL);
			data += n;
			size -= n;
			dispatch(v, cmd_names[r[1] % N_CMDS], a);
			break;
		}
		case 5:
			run_worker(v, r[1] % N_WORKERS);
			break;
		case 6:
			v->refuse = r[1] & 1;
			v->now += r[2] * 10u;
			break;
		default:
			(void)cp_cmd_progress(v->cmds);
			break;
		}
		check_table(v);
	}
	finish(v);
	check_table(v);
	cp_cmds_free(v->cmds);
	v->cmds = NULL;
	return 0;
}
