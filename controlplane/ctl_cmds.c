/*
 * ctl_cmds.c: the control socket's commands (doc/control-protocol.md).
 *
 * A designated-initializer table maps names to handlers. Handlers run on the control thread:
 * they read the lease tables online (RCU read side) and never write them; a lease change is a
 * struct dp_lease_op executed by the owner worker (single writer per binding), and its answer
 * is sent once the worker is done AND the change is durable (the lease-op engine, leaseop.h).
 * Configuration changes (scopes, reservations, exclusions, config-set/reload) are made on the JSON form of
 * the running configuration, validated by the same parser as the file, and applied by
 * cp_apply_config(): one code path, one set of error texts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_version.h>

#include "apply.h"
#include "config.h"
#include "ctl.h"
#include "ctl_cmds.h"
#include "ctl_proto.h"
#include "failover.h"
#include "fmt.h"
#include "log.h"
#include "mgmt_run.h"
#include "persist.h"
#include "stats.h"
#include "walk.h"
#include "worker.h"

#define LW_VERSION "0.1.0"
#define PAGE_MAX 10000

/* The commands' state: the env's pointers (ctl_cmds.h), the lease changes in flight and a
 * shutdown request. */
struct cp_cmds {
	struct dp_runtime *rt;
	struct cp_persist *persist;
	struct cp_apply *apply;
	struct cp_stats *stats;
	struct cp_fo *fo;
	struct cp_mgmt *mgmt;
	const char *config_path;
	const char *config_dir;
	uint64_t started;
	struct cp_leaseop_engine lops;
	struct walk_job *jobs;		/* table walks in progress, one slice per loop turn */
	struct parked *parked;		/* commands waiting for a change being built (FIFO) */
	struct parked **parked_tail;
	uint64_t walk_slice;		/* addresses a walk looks up per slice */
	uint64_t walk_slices, walk_qs;	/* slices run, quiescent states reported */
	bool shutdown;
	int exit_value;
};

typedef json_t *(*cmd_fn)(struct cp_cmds *d, struct ctl_conn *conn, json_t *args);

/* A command that changes the configuration, received while another change's pools were being
 * built (cp_apply_busy()): run when that one has ended, in the order received. */
struct parked {
	struct ctl_conn *conn;
	enum ctl_cmd_id id;
	json_t *args;			/* own reference, or NULL */
	struct parked *next;
};

static bool apply_busy(const struct cp_cmds *d)
{
	return d->apply != NULL && cp_apply_busy(d->apply);
}

static uint64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

/* --- arguments ---------------------------------------------------------------------- */

/* An argument error naming the argument (format checked by the compiler). */
#define bad(fmt, a, b) ctl_answer(CTL_ERROR, NULL, fmt, a, b)

/* A string argument. @return NULL when absent; *err set when present but not a string. */
static const char *arg_str(json_t *args, const char *key, json_t **err)
{
	json_t *v = args ? json_object_get(args, key) : NULL;

	if (v == NULL) {
		return NULL;
	}
	if (!json_is_string(v)) {
		*err = ctl_answer(CTL_ERROR, NULL, "arguments.%s: must be a string", key);
		return NULL;
	}
	return json_string_value(v);
}

static int parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (s == NULL || inet_pton(AF_INET, s, &a) != 1) {
		return -1;
	}
	*out = ntohl(a.s_addr);
	return 0;
}

/* hex bytes ("aa:bb:.." or "aabb.."), as the configuration file takes them. @return length
 * or -1. */
static int parse_hex(const char *s, uint8_t *out, size_t max)
{
	long n = cp_hex_parse(s, out, max);

	return n > 0 ? (int)n : -1;
}

/*
 * The client key named by hw-address or client-id (exactly one).
 * @return 0, 1 when neither is present, or -1 with *err set.
 */
static int arg_key(json_t *args, struct dp_client_key *k, json_t **err)
{
	const char *hw = arg_str(args, CTL_KEY_HW_ADDRESS, err);
	const char *id = *err ? NULL : arg_str(args, CTL_KEY_CLIENT_ID, err);
	int n;

	if (*err != NULL) {
		return -1;
	}
	if (hw != NULL && id != NULL) {
		*err = ctl_answer(CTL_ERROR, NULL, "arguments: give hw-address or client-id, not "
				  "both");
		return -1;
	}
	memset(k, 0, sizeof(*k));
	if (hw != NULL) {
		n = parse_hex(hw, k->data + 1, 16);
		if (n != 6) {
			*err = bad("arguments.hw-address: \"%s\" is not a MAC address%s", hw, "");
			return -1;
		}
		k->type = DP_KEY_HWADDR;
		k->data[0] = 1;
		k->len = 7;
		return 0;
	}
	if (id != NULL) {
		n = parse_hex(id, k->data, DP_KEY_MAX);
		if (n < 1) {
			*err = bad("arguments.client-id: \"%s\" is not 1..64 hex bytes%s", id, "");
			return -1;
		}
		k->type = DP_KEY_CLIENT_ID;
		k->len = (uint8_t)n;
		return 0;
	}
	return 1;
}

/* --- leases ------------------------------------------------------------------------- */

/* What the lease remembers of its client (printable ASCII already: lease.h). */
static void info_json(json_t *j, const struct dp_client_info *in)
{
	char hex[LW_HEX_BUFLEN(DP_INFO_CIRCUIT_MAX)];

	if (in->host_len != 0) {
		json_object_set_new(j, CTL_KEY_HOSTNAME, json_stringn(in->host, in->host_len));
	}
	if (in->vendor_len != 0) {
		json_object_set_new(j, "vendor-class", json_stringn(in->vendor, in->vendor_len));
	}
	if (in->circuit_len != 0) {
		lw_hex_fmt(hex, sizeof(hex), in->circuit, in->circuit_len, ':');
		json_object_set_new(j, "circuit-id", json_string(hex));
	}
	if (in->policy_len != 0) {
		json_object_set_new(j, CTL_KEY_POLICY, json_stringn(in->policy, in->policy_len));
	}
}

/* @p in: what the lease remembers of its client (bt_info_get() of a live record, or the copy
 * taken with a copied record). */
static json_t *lease_json(const struct dp_config *cfg, const struct bt_binding *b,
			  const struct dp_client_info *in)
{
	const struct dp_scope *s = dp_config_scope_of(cfg, b->addr);
	char key[LW_HEX_BUFLEN(DP_KEY_MAX)];
	json_t *j;

	j = json_pack("{s:s, s:s, s:s, s:I}", CTL_KEY_IP_ADDRESS, lw_ip4_fmt(b->addr).s,
		      "scope", s ? s->name : "", "state", bt_state_str(b->state), "cltt",
		      (json_int_t)b->start);
	if (b->key.len == 0) {
		/* BACKUP: an address of the failover secondary's pool, no client. */
	} else if (b->key.type == DP_KEY_HWADDR && b->key.len == 7 && b->key.data[0] == 1) {
		lw_hex_fmt(key, sizeof(key), b->key.data + 1, 6, ':');
		json_object_set_new(j, CTL_KEY_HW_ADDRESS, json_string(key));
	} else {
		lw_hex_fmt(key, sizeof(key), b->key.data, b->key.len, ':');
		json_object_set_new(j, b->key.type == DP_KEY_HWADDR ? "hardware-key" : "client-id",
				    json_string(key));
		if (b->key.type == DP_KEY_CLIENT_ID && b->hw_len == 7 && b->hw[0] == 1) {
			lw_hex_fmt(key, sizeof(key), b->hw + 1, 6, ':');
			json_object_set_new(j, CTL_KEY_HW_ADDRESS, json_string(key));
		}
	}
	if (b->ends == BT_INFINITE) {
		json_object_set_new(j, "valid-lft", json_integer(UINT32_MAX));
		json_object_set_new(j, "expire", json_null());
	} else {
		json_object_set_new(j, "valid-lft", json_integer((json_int_t)(b->ends -
									     b->start)));
		json_object_set_new(j, "expire", json_integer((json_int_t)b->ends));
	}
	info_json(j, in);
	return j;
}

/* Find a lease by ip-address, hw-address or client-id. Online. */
static const struct bt_binding *find_lease(struct cp_cmds *d, json_t *args, json_t **err)
{
	const char *ip = arg_str(args, CTL_KEY_IP_ADDRESS, err);
	struct dp_client_key k;
	const struct bt_binding *b;
	uint32_t addr;
	int rc;

	if (*err != NULL) {
		return NULL;
	}
	if (ip != NULL) {
		if (json_object_size(args) != 1) {
			*err = ctl_answer(CTL_ERROR, NULL, "arguments: give one of ip-address, "
					  "hw-address, client-id");
			return NULL;
		}
		if (parse_ip(ip, &addr) != 0) {
			*err = bad("arguments.ip-address: \"%s\" is not an IPv4 address%s", ip, "");
			return NULL;
		}
		return bt_lookup_addr(d->rt->table, addr);
	}
	rc = arg_key(args, &k, err);
	if (rc != 0) {
		if (rc > 0) {
			*err = ctl_answer(CTL_ERROR, NULL, "arguments: give one of ip-address, "
					  "hw-address, client-id");
		}
		return NULL;
	}
	b = bt_lookup_key(d->rt->table, &k);
	if (b == NULL && k.type == DP_KEY_HWADDR) {
		/* Most clients that send option 61 send 01 + their MAC. */
		k.type = DP_KEY_CLIENT_ID;
		b = bt_lookup_key(d->rt->table, &k);
	}
	return b;
}

static json_t *cmd_lease_get(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *err = NULL, *l = NULL;
	const struct bt_binding *b;
	struct dp_client_info in;

	(void)conn;
	urcu_qsbr_thread_online();
	b = find_lease(d, args, &err);
	if (b != NULL) {
		bt_info_get(b, &in);
		l = lease_json(d->rt->snap->cfg, b, &in);
	}
	urcu_qsbr_thread_offline();
	if (err != NULL) {
		return err;
	}
	if (l == NULL) {
		return ctl_answer(CTL_EMPTY, NULL, "no lease found");
	}
	return ctl_answer(CTL_OK, l, "lease found");
}

/* A binding copied with what it remembers of its client (bt_info_get() needs the live record). */
struct lease_copy {
	struct bt_binding b;
	struct dp_client_info in;
};

struct collect {
	const struct dp_config *cfg;
	const struct dp_scope **only;	/* scope filter, NULL-terminated, or NULL = all */
	uint32_t from;			/* page: addresses > from */
	bool paged;
	struct lease_copy *v;		/* copies: valid after the read side ends */
	size_t n, cap;
	const char *host;		/* only leases of this host name (any case), or NULL */
	const char *policy;		/* only leases of this policy, or NULL */
	size_t limit;			/* page_cb: stop at this many */
	bool oom;
};

/* The host name and policy filters of lease4-get-all and -page. */
static bool info_match(const struct dp_client_info *in, const struct collect *c)
{
	if (c->host != NULL && (strlen(c->host) != in->host_len ||
				strncasecmp(c->host, in->host, in->host_len) != 0)) {
		return false;
	}
	return c->policy == NULL || (strlen(c->policy) == in->policy_len &&
				     memcmp(c->policy, in->policy, in->policy_len) == 0);
}

/* The filters of @p args into @p c. @return NULL or the error answer. */
static json_t *info_filter(struct collect *c, json_t *args)
{
	json_t *err = NULL;

	c->host = arg_str(args, CTL_KEY_HOSTNAME, &err);
	if (err == NULL) {
		c->policy = arg_str(args, CTL_KEY_POLICY, &err);
	}
	return err;
}

static bool collect_cb(const struct bt_binding *b, void *arg)
{
	struct collect *c = arg;
	struct dp_client_info in;

	if (c->paged && b->addr <= c->from) {
		return true;
	}
	if (c->only != NULL) {
		const struct dp_scope *s = dp_config_scope_of(c->cfg, b->addr);
		bool ok = false;

		for (unsigned i = 0; c->only[i] != NULL; i++) {
			ok |= c->only[i] == s;
		}
		if (!ok) {
			return true;
		}
	}
	bt_info_get(b, &in);
	if (!info_match(&in, c)) {
		return true;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct lease_copy *v = realloc(c->v, cap * sizeof(*v));

		if (v == NULL) {
			c->oom = true;
			return false;
		}
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n].b = *b;
	c->v[c->n++].in = in;
	return true;
}

static int by_addr(const void *a, const void *b)
{
	const struct bt_binding *x = &((const struct lease_copy *)a)->b;
	const struct bt_binding *y = &((const struct lease_copy *)b)->b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static const struct dp_scope *scope_named(const struct dp_config *c, const char *name)
{
	for (uint32_t i = 0; name != NULL && i < c->n_scopes; i++) {
		if (strcmp(c->scopes[i].name, name) == 0) {
			return &c->scopes[i];
		}
	}
	return NULL;
}

/* arguments.scopes: [names] -> NULL-terminated scope list (malloc'd), or NULL for all. */
static const struct dp_scope **scope_filter(const struct dp_config *cfg, json_t *args,
					    json_t **err)
{
	json_t *list = args ? json_object_get(args, CTL_KEY_SCOPES) : NULL, *v;
	const struct dp_scope **out;
	size_t i;

	if (list == NULL) {
		return NULL;
	}
	if (!json_is_array(list)) {
		*err = ctl_answer(CTL_ERROR, NULL, "arguments.scopes: must be a list of names");
		return NULL;
	}
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	out = calloc(json_array_size(list) + 1, sizeof(*out));
	if (out == NULL) {
		*err = ctl_answer(CTL_ERROR, NULL, "out of memory");
		return NULL;
	}
	json_array_foreach(list, i, v) {
		out[i] = json_is_string(v) ? scope_named(cfg, json_string_value(v)) : NULL;
		if (out[i] == NULL) {
			*err = ctl_answer(CTL_ERROR, NULL, "arguments.scopes[%zu]: no such scope", i);
			free(out);
			return NULL;
		}
	}
	return out;
}

/* cp_walk callback of lease4-get-page: the walk goes by address and by the scope filter
 * already, so a page is the first @p limit bindings met. */
static bool page_cb(const struct bt_binding *b, void *arg)
{
	struct collect *c = arg;

	if (c->n == c->limit) {
		return false;
	}
	return collect_cb(b, arg);
}

static json_t *leases_answer(struct cp_cmds *d, struct collect *c, size_t limit)
{
	json_t *list = json_array();
	size_t n = c->n < limit ? c->n : limit;

	if (c->n > 1) {
		qsort(c->v, c->n, sizeof(*c->v), by_addr);
	}
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(list, lease_json(d->rt->snap->cfg, &c->v[i].b, &c->v[i].in));
	}
	free(c->v);
	free(c->only);
	if (n == 0) {
		json_decref(list);
		return ctl_answer(CTL_EMPTY, json_pack("{s:[], s:i}", "leases", "count", 0),
				  "0 IPv4 leases found");
	}
	return ctl_answer(CTL_OK, json_pack("{s:o, s:I}", "leases", list, "count",
					    (json_int_t)n), "%zu IPv4 lease(s) found", n);
}

static json_t *cmd_lease_get_page(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	struct collect c = {.cfg = d->rt->snap->cfg, .paged = true};
	struct cp_walk walk;
	json_t *err = NULL, *lim = args ? json_object_get(args, CTL_KEY_LIMIT) : NULL;
	const char *from = arg_str(args, CTL_KEY_FROM, &err);

	(void)conn;
	if (err != NULL) {
		return err;
	}
	if (from == NULL || lim == NULL) {
		return ctl_answer(CTL_ERROR, NULL, "arguments: \"from\" and \"limit\" are required");
	}
	if (!json_is_integer(lim) || json_integer_value(lim) < 1 ||
	    json_integer_value(lim) > PAGE_MAX) {
		return ctl_answer(CTL_ERROR, NULL, "arguments.limit: must be an integer 1..%d",
				  PAGE_MAX);
	}
	if (strcmp(from, "start") == 0) {
		c.paged = false;
	} else if (parse_ip(from, &c.from) != 0) {
		return bad("arguments.from: \"%s\" is neither \"start\" nor an IPv4 address%s",
			   from, "");
	}
	err = info_filter(&c, args);
	if (err != NULL) {
		return err;
	}
	c.only = scope_filter(c.cfg, args, &err);
	if (err != NULL) {
		return err;
	}
	/*
	 * O(page + the free addresses between its leases), not a sort of every binding per
	 * page (issue 11 item 10): the walk looks addresses up in order from "from" across the
	 * (filtered) scopes' subnets, with quiescent states inside (walk.h). Bindings of no
	 * configured scope are not listed.
	 */
	c.limit = (size_t)json_integer_value(lim);
	cp_walk_init(&walk, c.paged ? (uint64_t)c.from + 1 : 0,
		     (const struct dp_scope *const *)c.only);
	urcu_qsbr_thread_online();
	(void)cp_walk_step(&walk, c.cfg, d->rt->table, UINT64_MAX, page_cb, &c);
	urcu_qsbr_thread_offline();
	if (c.oom) {
		free(c.v);
		free(c.only);
		return ctl_answer(CTL_ERROR, NULL, "out of memory");
	}
	return leases_answer(d, &c, c.limit);
}

/* --- lease changes through the owner worker ----------------------------------------- */

/* A lease command in the lease-op engine, answered when its last step is durable. */
struct cp_pending {
	struct cp_leaseop lo;		/* first member: the engine's op is the pending */
	struct cp_cmds *d;
	struct ctl_conn *conn;		/* answered when done (NULL: internal step) */
	const char *what;		/* command name, for the answer and the event log */
	struct cp_pending *next_step;	/* started when this one succeeds (wipe: a DEL per
					 * worker) */
	uint32_t *addrs;		/* owned DEL list */
	uint32_t carried;		/* DEL count of the steps before this one (wipe) */
	unsigned retries;		/* SET handed over again after -EAGAIN */
};

/* A SET over a binding whose writer's change is not durable yet is tried again this many
 * times (about a second of loop turns) before the operator is told to try again. */
#define SET_RETRIES 1000

static void pending_free(struct cp_pending *p)
{
	while (p != NULL) {
		struct cp_pending *next = p->next_step;

		free(p->addrs);
		free(p);
		p = next;
	}
}

static json_t *busy_answer(void)
{
	return ctl_answer(CTL_ERROR, NULL, "server busy: the worker's command ring is full, "
			  "try again");
}

static json_t *op_answer(struct cp_pending *p, int result)
{
	struct cp_cmds *d = p->d;
	const struct dp_lease_op *op = &p->lo.op;
	const struct lw_ip4_str ip = lw_ip4_fmt(op->addr);

	switch (result) {
	case 0:
		break;
	case CP_LEASEOP_E_RING:
		return busy_answer();
	case -EEXIST:
		return ctl_answer(CTL_CONFLICT, NULL, "%s: %s is bound to another client, or the "
				  "client holds another address in the scope", p->what, ip.s);
	case -ENOENT:
		return ctl_answer(CTL_EMPTY, NULL, "%s: no lease for %s", p->what, ip.s);
	case -EINVAL:
		return ctl_answer(CTL_ERROR, NULL, "%s: %s is in no scope", p->what, ip.s);
	case -EAGAIN:
		return ctl_answer(CTL_ERROR, NULL, "%s: %s is being changed by its worker, try "
				  "again", p->what, ip.s);
	default:
		return ctl_answer(CTL_ERROR, NULL, "%s: server busy (commit queue full), try "
				  "again", p->what);
	}
	if (op->kind == DP_OP_DEL) {
		uint32_t n = p->carried + op->count;	/* every worker's share (wipe) */

		cp_log(CP_LOG_INFO, "event=%s deleted=%u by=control-socket", p->what, n);
		if (n == 0) {
			return ctl_answer(CTL_EMPTY, NULL, "no lease deleted");
		}
		return ctl_answer(CTL_OK, json_pack("{s:i}", "deleted", n), "%u lease(s) deleted",
				  n);
	}
	urcu_qsbr_thread_online();
	{
		const struct bt_binding *b = bt_lookup_addr(d->rt->table, op->addr);
		struct dp_client_info in;
		json_t *l = NULL;

		if (b != NULL) {
			bt_info_get(b, &in);
			l = lease_json(d->rt->snap->cfg, b, &in);
		}

		urcu_qsbr_thread_offline();
		cp_log(CP_LOG_INFO, "event=%s ip-address=%s state=%s by=control-socket", p->what,
		       ip.s, bt_state_str(op->state));
		return ctl_answer(CTL_OK, l, "lease %s", strcmp(p->what, "lease4-add") == 0 ?
				  "added" : "updated");
	}
}

/* A step is done and durable (or failed): chain the next step, or answer. */
static enum cp_leaseop_next pending_finished(struct cp_leaseop *o, int result)
{
	struct cp_pending *p = (struct cp_pending *)o, *next = p->next_step;

	if (result == -EAGAIN && p->lo.op.kind == DP_OP_SET && p->retries++ < SET_RETRIES) {
		/* The binding's writer has a change on its way to the store, or changed it
		 * just now: hand the same SET over again (the loop comes back within 1 ms). */
		p->lo.flags |= CP_LEASEOP_RETRY;
		return CP_LEASEOP_NEXT;
	}

	if (result == 0 && next != NULL) {
		/* The next step takes this one's place in the engine, and its connection. */
		p->carried += p->lo.op.count;
		free(p->addrs);
		p->lo.op = next->lo.op;
		p->lo.worker = next->lo.worker;
		p->addrs = next->addrs;
		p->what = next->what;
		p->next_step = next->next_step;
		free(next);
		/* The first step is done and durable (a DEL: the lease is gone from the store):
		 * a full ring delays the rest, never drops it. */
		p->lo.flags |= CP_LEASEOP_RETRY;
		return CP_LEASEOP_NEXT;
	}
	if (p->conn != NULL) {
		ctl_conn_answer(p->conn, op_answer(p, result));
	}
	pending_free(p);
	return CP_LEASEOP_END;
}

/* Workers have stopped: nothing will complete. Connections close with the server. */
static void pending_aborted(struct cp_leaseop *o)
{
	pending_free((struct cp_pending *)o);
}

static const struct cp_leaseop_cb pending_cb = {
	.finished = pending_finished,
	.aborted = pending_aborted,
};

static json_t *start(struct cp_cmds *d, struct cp_pending *p)
{
	if (cp_leaseop_start(&d->lops, &p->lo) != 0) {
		pending_free(p);
		return busy_answer();
	}
	return NULL;	/* answered by pending_finished() */
}

static void walks_progress(struct cp_cmds *d);
static void parked_progress(struct cp_cmds *d);

bool cp_cmd_progress(struct cp_cmds *d)
{
	parked_progress(d);
	walks_progress(d);
	(void)cp_leaseop_poll(&d->lops);
	return cp_leaseop_busy(&d->lops) || d->jobs != NULL || d->parked != NULL;
}

static struct cp_pending *pending_new(struct cp_cmds *d, const char *what, uint32_t worker,
				      struct ctl_conn *conn)
{
	struct cp_pending *p = calloc(1, sizeof(*p));

	if (p != NULL) {
		p->d = d;
		p->what = what;
		p->lo.worker = worker;
		p->lo.cb = &pending_cb;
		p->conn = conn;
	}
	return p;
}

/* A DEL of one address, executed by the binding's writer. */
static struct cp_pending *del_one(struct cp_cmds *d, const char *what,
				  const struct bt_binding *b)
{
	struct cp_pending *p = pending_new(d, what, b->owner, NULL);

	if (p == NULL) {
		return NULL;
	}
	p->addrs = malloc(sizeof(uint32_t));
	if (p->addrs == NULL) {
		free(p);
		return NULL;
	}
	p->addrs[0] = b->addr;
	p->lo.op.kind = DP_OP_DEL;
	p->lo.op.addr = b->addr;
	p->lo.op.addrs = p->addrs;
	p->lo.op.n_addrs = 1;
	return p;
}

static int parse_state(const char *s, uint8_t *state)
{
	static const uint8_t states[] = {BT_ACTIVE, BT_EXPIRED, BT_RELEASED, BT_ABANDONED,
					 BT_RESET, BT_BACKUP};

	if (s == NULL) {
		*state = BT_ACTIVE;
		return 0;
	}
	for (unsigned i = 0; i < sizeof(states); i++) {
		if (strcmp(s, bt_state_str(states[i])) == 0) {
			*state = states[i];
			return 0;
		}
	}
	return -1;
}

static json_t *lease_set(struct cp_cmds *d, struct ctl_conn *conn, json_t *args, bool add)
{
	const char *what = add ? "lease4-add" : "lease4-update";
	const struct dp_config *cfg = d->rt->snap->cfg;
	json_t *err = NULL, *lft = args ? json_object_get(args, CTL_KEY_VALID_LFT) : NULL, *fc;
	const char *ip = arg_str(args, CTL_KEY_IP_ADDRESS, &err);
	const char *st = err ? NULL : arg_str(args, CTL_KEY_STATE, &err);
	const struct dp_scope *s;
	const struct bt_binding *b;
	struct cp_pending *p;
	struct dp_client_key k;
	uint64_t now = now_s(), lease;
	uint32_t addr, owner;
	uint8_t state;

	if (err != NULL) {
		return err;
	}
	if (ip == NULL || parse_ip(ip, &addr) != 0) {
		return ip ? bad("arguments.ip-address: \"%s\" is not an IPv4 address%s", ip, "")
			  : ctl_answer(CTL_ERROR, NULL, "arguments.ip-address: required");
	}
	s = dp_config_scope_of(cfg, addr);
	if (s == NULL || !dp_scope_contains(s, addr)) {
		return bad("arguments.ip-address: %s is in no scope%s", ip, "");
	}
	if (arg_key(args, &k, &err) != 0) {
		return err ? err : ctl_answer(CTL_ERROR, NULL, "arguments: hw-address or client-id "
					      "is required");
	}
	if (lft != NULL && (!json_is_integer(lft) || json_integer_value(lft) < 1 ||
			    json_integer_value(lft) > UINT32_MAX)) {
		return ctl_answer(CTL_ERROR, NULL, "arguments.valid-lft: must be an integer "
				  "1..4294967295 (4294967295 = infinite)");
	}
	if (parse_state(st, &state) != 0) {
		return bad("arguments.state: \"%s\" is not one of active, expired, released, "
			   "abandoned, reset, backup%s", st, "");
	}
	fc = args ? json_object_get(args, CTL_KEY_FORCE_CREATE) : NULL;
	if (fc != NULL && (!json_is_boolean(fc) || add)) {
		return ctl_answer(CTL_ERROR, NULL, add ? "arguments: unknown key \"force-create\"" :
				  "arguments.force-create: must be true or false");
	}
	lease = lft ? (uint64_t)json_integer_value(lft) : s->lease_time;
	owner = bt_key_owner(d->rt->table, &k, d->rt->n_workers);
	p = pending_new(d, what, owner, conn);
	if (p == NULL) {
		return ctl_answer(CTL_ERROR, NULL, "out of memory");
	}
	p->lo.op.kind = DP_OP_SET;
	p->lo.op.addr = addr;
	p->lo.op.key = k;
	p->lo.op.state = state;
	p->lo.op.start = now;
	p->lo.op.ends = lease == UINT32_MAX ? BT_INFINITE : now + lease;
	p->lo.op.add = add;
	p->lo.op.take = true;
	p->lo.op.may_create = fc != NULL && json_is_true(fc);

	/*
	 * A binding another worker wrote (the key hash is seeded per start, an operator's
	 * lease of an address outside its client's slice...) is taken over by the client's
	 * worker in one step, once its writer's changes are durable (engine.h DP_OP_SET): the
	 * address is never free between the old binding and the new one, so no other writer
	 * can take it meanwhile (a DEL on the old writer, then the SET, left that window).
	 */
	urcu_qsbr_thread_online();
	b = bt_lookup_addr(d->rt->table, addr);
	if (add && b != NULL && b->owner != owner) {
		bool theirs = !bt_key_equal(&b->key, &k);
		bool live = (b->state == BT_ACTIVE || b->state == BT_OFFERED ||
			     b->state == BT_ABANDONED || b->state == BT_BACKUP) && b->ends > now;

		if (theirs && live) {
			urcu_qsbr_thread_offline();
			pending_free(p);
			return ctl_answer(CTL_CONFLICT, NULL, "%s: %s is bound to another client",
					  what, ip);
		}
	}
	urcu_qsbr_thread_offline();
	return start(d, p);
}

static json_t *cmd_lease_add(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	return lease_set(d, conn, args, true);
}

static json_t *cmd_lease_update(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	return lease_set(d, conn, args, false);
}

static json_t *cmd_lease_del(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *err = NULL;
	const struct bt_binding *b;
	struct cp_pending *p = NULL;

	urcu_qsbr_thread_online();
	b = find_lease(d, args, &err);
	if (b != NULL) {
		p = del_one(d, "lease4-del", b);
	}
	urcu_qsbr_thread_offline();
	if (err != NULL) {
		return err;
	}
	if (b == NULL) {
		return ctl_answer(CTL_EMPTY, NULL, "no lease found");
	}
	if (p == NULL) {
		return ctl_answer(CTL_ERROR, NULL, "out of memory");
	}
	p->conn = conn;
	return start(d, p);
}

/* --- configuration ------------------------------------------------------------------ */

/* The running configuration with its secrets, for the daemon's own edits and files only. */
static json_t *running_json(struct cp_cmds *d)
{
	return cp_config_to_json(d->rt->snap->cfg);
}

/*
 * A configuration change whose pools are being built over the loop's turns (a big pool:
 * cp_apply_config_start() returned CP_APPLY_PENDING). Its command is answered when it ends
 * (cfg_done()); meanwhile every other command that changes the configuration waits in
 * d->parked (cp_cmd_dispatch()), so that each is derived from the configuration as the one
 * before it left it.
 */
struct cfg_wait {
	struct cp_cmds *d;
	struct ctl_conn *conn;		/* NULL: nobody to answer */
	char source[48];
	char ok[128];
	char event[160];
	bool has_event;
	bool reload;			/* config-reload: its answer, its fingerprint */
	uint64_t fp;			/* config-reload: the fingerprint to restore on failure */
};

/* The answer to a configuration change that ended with @p rc (cp_apply_config()'s). */
static json_t *cfg_answer(struct cfg_wait *w, int rc, const char *err)
{
	struct cp_cmds *d = w->d;

	if (rc < 0) {
		if (w->reload) {
			d->persist->file_fingerprint = w->fp;
		}
		return ctl_answer(CTL_ERROR, NULL, "%s", err);
	}
	cp_mgmt_config_changed(d->mgmt, w->source);
	if (w->has_event) {
		cp_log(CP_LOG_INFO, "event=%s %s by=control-socket", w->source, w->event);
	}
	if (w->reload) {
		if (rc == CP_APPLIED_NOT_SAVED) {
			return ctl_answer(CTL_ERROR, NULL, "configuration reloaded from %s, but NOT "
					  "saved: %s", d->config_path, err);
		}
		return ctl_answer(CTL_OK, NULL, "configuration reloaded from %s", d->config_path);
	}
	if (rc == CP_APPLIED_NOT_SAVED) {
		return ctl_answer(CTL_ERROR, NULL, "%s, but NOT saved: %s", w->ok, err);
	}
	return ctl_answer(CTL_OK, NULL, "%s", w->ok);
}

static void cfg_done(void *ctx, int rc, const char *err)
{
	struct cfg_wait *w = ctx;
	json_t *a = cfg_answer(w, rc, err);

	if (w->conn == NULL) {
		json_decref(a);
	} else if (ctl_conn_gone(w->conn)) {
		json_decref(a);
		ctl_conn_answer(w->conn, NULL);	/* the client left: frees the connection */
	} else {
		ctl_conn_answer(w->conn, a);
	}
	free(w);
}

/* Apply @p cfg (consumed) for @p w (consumed): @return the answer, or NULL when it comes
 * later (cfg_done()). */
static json_t *cfg_start(struct cp_cmds *d, struct cfg_wait *w, struct dp_config *cfg)
{
	char err[512];
	json_t *a;
	int rc = cp_apply_config_start(d->apply, cfg, w->source, cfg_done, w, err, sizeof(err));

	if (rc == CP_APPLY_PENDING) {
		return NULL;
	}
	a = cfg_answer(w, rc, err);
	free(w);
	return a;
}

static struct cfg_wait *cfg_wait_new(struct cp_cmds *d, struct ctl_conn *conn,
				     const char *source, const char *ok, const char *event)
{
	struct cfg_wait *w = calloc(1, sizeof(*w));

	if (w != NULL) {
		w->d = d;
		w->conn = conn;
		snprintf(w->source, sizeof(w->source), "%s", source);
		snprintf(w->ok, sizeof(w->ok), "%s", ok);
		w->has_event = event != NULL;
		snprintf(w->event, sizeof(w->event), "%s", event ? event : "");
	}
	return w;
}

/* Parse @p j (consumed) against the running configuration. */
static struct dp_config *parse_json(struct cp_cmds *d, json_t *j, char *err, size_t errlen)
{
	char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	struct dp_config *cfg;

	json_decref(j);
	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cfg = cp_config_parse_replacing(text, d->rt->snap->cfg, err, errlen);
	free(text);
	return cfg;
}

/* Validate @p j (consumed) and apply it; log @p event (may be NULL) once applied. @return
 * the answer, or NULL when it is sent to @p conn later (a big pool: cfg_done()). */
static json_t *apply_json(struct cp_cmds *d, struct ctl_conn *conn, json_t *j,
			  const char *source, const char *ok, const char *event)
{
	struct cfg_wait *w = cfg_wait_new(d, conn, source, ok, event);
	struct dp_config *cfg;
	char err[512];

	if (w == NULL) {
		json_decref(j);
		return ctl_answer(CTL_ERROR, NULL, "out of memory");
	}
	cfg = parse_json(d, j, err, sizeof(err));
	if (cfg == NULL) {
		free(w);
		return ctl_answer(CTL_ERROR, NULL, "%s", err);
	}
	return cfg_start(d, w, cfg);
}

/* apply_json() carried to its end in this call (the whole pool rebuild in this loop turn),
 * for the failover commands, which answer from what the applied configuration runs. */
static json_t *apply_json_now(struct cp_cmds *d, json_t *j, const char *source,
			      const char *ok, const char *event)
{
	struct cfg_wait w = {.d = d, .has_event = event != NULL};
	struct dp_config *cfg;
	char err[512];
	int rc;

	snprintf(w.source, sizeof(w.source), "%s", source);
	snprintf(w.ok, sizeof(w.ok), "%s", ok);
	snprintf(w.event, sizeof(w.event), "%s", event ? event : "");
	if (d->apply != NULL) {
		cp_apply_settle(d->apply);	/* derive nothing from what is about to change */
	}
	cfg = parse_json(d, j, err, sizeof(err));
	if (cfg == NULL) {
		return ctl_answer(CTL_ERROR, NULL, "%s", err);
	}
	rc = cp_apply_config(d->apply, cfg, source, err, sizeof(err));
	return cfg_answer(&w, rc, err);
}

static json_t *cmd_config_get(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	(void)conn;
	(void)args;
	/* Secrets stay in the daemon: the answer shows the mask, which config-set reads back. */
	return ctl_answer(CTL_OK, cp_config_to_json_masked(d->rt->snap->cfg),
			  "running configuration");
}

static json_t *cmd_config_test(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	char *text, err[512] = "out of memory";
	struct dp_config *cfg;

	(void)conn;
	if (args == NULL) {
		return ctl_answer(CTL_ERROR, NULL, "arguments: the configuration is required");
	}
	text = json_dumps(args, JSON_COMPACT);
	cfg = text ? cp_config_parse_replacing(text, d->rt->snap->cfg, err, sizeof(err)) : NULL;
	free(text);
	if (cfg == NULL) {
		return ctl_answer(CTL_ERROR, NULL, "%s", err);
	}
	dp_config_free(cfg);
	return ctl_answer(CTL_OK, NULL, "configuration is valid");
}

static json_t *cmd_config_set(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	(void)conn;
	if (args == NULL) {
		return ctl_answer(CTL_ERROR, NULL, "arguments: the configuration is required");
	}
	return apply_json(d, conn, json_incref(args), "config-set", "configuration applied", NULL);
}

static json_t *cmd_config_reload(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	struct dp_config *cfg;
	struct cfg_wait *w;
	char err[512];

	(void)args;
	if (d->config_path == NULL) {
		return ctl_answer(CTL_ERROR, NULL, "leasewired runs the built-in configuration: "
				  "there is no file to reload");
	}
	cfg = cp_config_load(d->config_path, err, sizeof(err));
	if (cfg == NULL) {
		return ctl_answer(CTL_ERROR, NULL, "%s: %s", d->config_path, err);
	}
	w = cfg_wait_new(d, conn, "config-reload", "", NULL);
	if (w == NULL) {
		dp_config_free(cfg);
		return ctl_answer(CTL_ERROR, NULL, "out of memory");
	}
	/* What is saved from now on derives from the file as it is now. */
	w->reload = true;
	w->fp = d->persist->file_fingerprint;
	cp_persist_fingerprint(d->persist, d->config_path);
	return cfg_start(d, w, cfg);
}

static int write_atomic(const char *path, const char *text, char *err, size_t errlen)
{
	char tmp[4096 + 8], dir[4096];
	size_t len = strlen(text);
	char *slash;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(err, errlen, "%.400s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) != 0 ||
	    fchmod(fd, 0640) != 0) {
		snprintf(err, errlen, "%.400s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "%.400s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	/* The rename itself must survive a crash: sync the directory. */
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash != NULL) {
		*slash = '\0';
		fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY);
		if (fd >= 0) {
			(void)fsync(fd);
			close(fd);
		}
	}
	return 0;
}

/*
 * config-write may write only the configuration file leasewired was started with, or another
 * *.json file beside it when that directory is leasewire's own (named leasewire*, as
 * /etc/leasewire, owned by leasewired's user and writable by no one else), and never through
 * a symlink: the socket's users (server.control-socket-group) must not be able to make a root
 * daemon write a file they name, such as /etc/ld.so.preload when the configuration sits
 * directly in /etc.
 */
static bool own_config_dir(const char *dir)
{
	const char *base = strrchr(dir, '/');
	struct stat st;

	base = base != NULL ? base + 1 : dir;
	return strncmp(base, "leasewire", 9) == 0 && lstat(dir, &st) == 0 &&
	       S_ISDIR(st.st_mode) && st.st_uid == geteuid() && (st.st_mode & 022) == 0;
}

static json_t *check_write_path(const struct cp_cmds *d, const char *path)
{
	char dir[4096], real[PATH_MAX];
	const char *slash = strrchr(path, '/');
	const char *started = d->config_path != NULL ? strrchr(d->config_path, '/') : NULL;
	const char *name;
	size_t len;
	struct stat st;

	if (path[0] != '/' || slash == NULL || slash[1] == '\0') {
		return bad("arguments.filename: \"%s\" must be an absolute file name%s", path, "");
	}
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (realpath(dir[0] ? dir : "/", real) == NULL || strcmp(real, d->config_dir) != 0) {
		return ctl_answer(CTL_ERROR, NULL, "arguments.filename: %s is not in %s, the "
				  "configuration directory", path, d->config_dir);
	}
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		return bad("arguments.filename: %s is not a regular file%s", path, "");
	}
	name = slash + 1;
	started = started != NULL ? started + 1 : d->config_path;
	if (started != NULL && strcmp(name, started) == 0) {
		return NULL;	/* the file leasewired was started with (same directory) */
	}
	len = strlen(name);
	if (name[0] == '.' || len <= 5 || strcmp(name + len - 5, ".json") != 0) {
		return bad("arguments.filename: %s: only the configuration file leasewired was "
			   "started with or a *.json file beside it may be written%s", path, "");
	}
	if (!own_config_dir(d->config_dir)) {
		return ctl_answer(CTL_ERROR, NULL, "arguments.filename: %s: %s is not a directory "
				  "of leasewire's own (named leasewire*, owned by leasewired's "
				  "user, writable by no one else): only %s may be written there",
				  path, d->config_dir,
				  d->config_path != NULL ? d->config_path : "its configuration file");
	}
	return NULL;
}

static json_t *cmd_config_write(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *e = NULL, *j;
	const char *path = arg_str(args, CTL_KEY_FILENAME, &e);
	char *text, err[512];
	bool saved = true;
	int rc;

	(void)conn;
	if (e != NULL) {
		return e;
	}
	if (path == NULL) {
		path = d->config_path;
	}
	if (path == NULL || path[0] == '\0') {
		return ctl_answer(CTL_ERROR, NULL, "arguments.filename: required (leasewired runs "
				  "the built-in configuration)");
	}
	e = check_write_path(d, path);
	if (e != NULL) {
		return e;
	}
	j = running_json(d);
	text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (text == NULL) {
		return ctl_answer(CTL_ERROR, NULL, "out of memory");
	}
	rc = write_atomic(path, text, err, sizeof(err));
	if (rc == 0) {
		char esc[CP_LOG_ESC_SIZE(256)];

		cp_log(CP_LOG_INFO, "event=config-write filename=\"%s\" by=control-socket",
		       cp_log_esc(esc, sizeof(esc), path, strlen(path)));
		if (d->config_path != NULL && strcmp(path, d->config_path) == 0) {
			/* The file now holds the running configuration: tie the saved one to it. */
			cp_persist_fingerprint(d->persist, d->config_path);
			saved = cp_persist_save_config(d->persist, d->rt->snap->cfg) == 0;
		}
	}
	j = json_pack("{s:s, s:I}", "filename", path, "size", (json_int_t)strlen(text) + 1);
	free(text);
	if (rc != 0) {
		json_decref(j);
		return ctl_answer(CTL_ERROR, NULL, "%s", err);
	}
	if (!saved) {
		return ctl_answer(CTL_ERROR, j, "configuration written to %s, but the store did not "
				  "take it (see the log)", path);
	}
	return ctl_answer(CTL_OK, j, "configuration written to %s", path);
}

/* --- scopes, reservations, exclusions: edits of the running configuration ------------ */

/* The scopes array of @p j and the index of the scope named @p name (-1 if none). */
static json_t *scopes_of(json_t *j, const char *name, ssize_t *idx)
{
	json_t *scopes = json_object_get(j, "scopes"), *s;
	size_t i;

	*idx = -1;
	json_array_foreach(scopes, i, s) {
		json_t *n = json_object_get(s, "name");

		if (name != NULL && json_is_string(n) && strcmp(json_string_value(n), name) == 0) {
			*idx = (ssize_t)i;
		}
	}
	return scopes;
}

static json_t *need_scope(struct cp_cmds *d, json_t *args, const char *key, json_t **j,
			  json_t **scope)
{
	json_t *err = NULL, *scopes;
	const char *name = arg_str(args, key, &err);
	ssize_t idx;

	if (err != NULL) {
		return err;
	}
	if (name == NULL) {
		return bad("arguments.%s: required%s", key, "");
	}
	*j = running_json(d);
	scopes = scopes_of(*j, name, &idx);
	if (idx < 0) {
		json_decref(*j);
		return ctl_answer(CTL_EMPTY, NULL, "no scope \"%s\"", name);
	}
	*scope = json_array_get(scopes, (size_t)idx);
	return NULL;
}

static json_t *cmd_scope_get(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *j, *scope, *err = need_scope(d, args, CTL_KEY_NAME, &j, &scope);

	(void)conn;
	if (err != NULL) {
		return err;
	}
	json_incref(scope);
	json_decref(j);
	return ctl_answer(CTL_OK, scope, "scope found");
}

static json_t *cmd_scope_add(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *scope = args ? json_object_get(args, CTL_KEY_SCOPE) : NULL, *j, *n;
	char ev[128];
	ssize_t idx;

	(void)conn;
	if (!json_is_object(scope)) {
		return ctl_answer(CTL_ERROR, NULL, "arguments.scope: must be a scope object");
	}
	n = json_object_get(scope, "name");
	j = running_json(d);
	(void)scopes_of(j, json_is_string(n) ? json_string_value(n) : NULL, &idx);
	if (idx >= 0) {
		json_decref(j);
		return ctl_answer(CTL_CONFLICT, NULL, "scope \"%s\" exists (use scope-update)",
				  json_string_value(n));
	}
	json_array_append(json_object_get(j, "scopes"), scope);
	snprintf(ev, sizeof(ev), "scope=%s", json_is_string(n) ? json_string_value(n) : "?");
	return apply_json(d, conn, j, "scope-add", "scope added", ev);
}

static json_t *cmd_scope_update(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *nscope = args ? json_object_get(args, CTL_KEY_SCOPE) : NULL, *j, *scope, *err;
	char ev[128];
	ssize_t idx;

	(void)conn;
	if (!json_is_object(nscope)) {
		return ctl_answer(CTL_ERROR, NULL, "arguments.scope: must be a scope object");
	}
	err = need_scope(d, args, CTL_KEY_NAME, &j, &scope);
	if (err != NULL) {
		return err;
	}
	(void)scopes_of(j, json_string_value(json_object_get(args, CTL_KEY_NAME)), &idx);
	json_array_set(json_object_get(j, "scopes"), (size_t)idx, nscope);
	snprintf(ev, sizeof(ev), "scope=%s", json_string_value(json_object_get(args, "name")));
	return apply_json(d, conn, j, "scope-update", "scope updated", ev);
}

struct count_active {
	const struct dp_scope *s;
	uint64_t now, n;
};

static bool count_active_cb(const struct bt_binding *b, void *arg)
{
	struct count_active *c = arg;

	if (b->state == BT_ACTIVE && b->ends > c->now && dp_scope_contains(c->s, b->addr)) {
		c->n++;
	}
	return true;
}

static json_t *set_active(struct cp_cmds *d, struct ctl_conn *conn, json_t *args, bool active)
{
	json_t *j, *scope, *err = need_scope(d, args, CTL_KEY_NAME, &j, &scope);
	char ev[128];

	if (err != NULL) {
		return err;
	}
	json_object_set_new(scope, "active", json_boolean(active));
	snprintf(ev, sizeof(ev), "scope=%s", json_string_value(json_object_get(args, "name")));
	return apply_json(d, conn, j, active ? "scope-activate" : "scope-deactivate",
			  active ? "scope activated" : "scope deactivated", ev);
}

static json_t *cmd_scope_activate(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	(void)conn;
	return set_active(d, conn, args, true);
}

static json_t *cmd_scope_deactivate(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	(void)conn;
	return set_active(d, conn, args, false);
}

static json_t *list_of(json_t *scope, const char *key)
{
	json_t *l = json_object_get(scope, key);

	if (l == NULL) {
		l = json_array();
		json_object_set_new(scope, key, l);
	}
	return l;
}

static json_t *cmd_reservation_add(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *r = args ? json_object_get(args, CTL_KEY_RESERVATION) : NULL, *j, *scope, *err;
	char ev[160];

	(void)conn;
	if (!json_is_object(r)) {
		return ctl_answer(CTL_ERROR, NULL, "arguments.reservation: must be a reservation "
				  "object");
	}
	err = need_scope(d, args, CTL_KEY_SCOPE, &j, &scope);
	if (err != NULL) {
		return err;
	}
	json_array_append(list_of(scope, "reservations"), r);
	snprintf(ev, sizeof(ev), "scope=%s ip-address=%s", json_string_value(json_object_get(args,
										   CTL_KEY_SCOPE)),
		 json_is_string(json_object_get(r, "ip-address")) ?
		 json_string_value(json_object_get(r, "ip-address")) : "?");
	return apply_json(d, conn, j, "reservation-add", "reservation added", ev);
}

/* Does reservation @p r match the ip-address / hw-address / client-id of @p args? */
static bool reservation_matches(json_t *r, json_t *args)
{
	static const char *const keys[] = {"ip-address", "hw-address", "client-id"};

	for (unsigned i = 0; i < 3; i++) {
		json_t *want = json_object_get(args, keys[i]), *have = json_object_get(r, keys[i]);
		uint8_t a[64], b[64];
		int na, nb;

		if (want == NULL || !json_is_string(want) || !json_is_string(have)) {
			continue;
		}
		if (i == 0) {
			return strcmp(json_string_value(want), json_string_value(have)) == 0;
		}
		na = parse_hex(json_string_value(want), a, sizeof(a));
		nb = parse_hex(json_string_value(have), b, sizeof(b));
		return na > 0 && na == nb && memcmp(a, b, (size_t)na) == 0;
	}
	return false;
}

static json_t *cmd_reservation_del(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *j, *scope, *list, *r, *err = need_scope(d, args, CTL_KEY_SCOPE, &j, &scope);
	char ev[128];
	size_t i;

	(void)conn;
	if (err != NULL) {
		return err;
	}
	if (json_object_size(args) != 2) {
		json_decref(j);
		return ctl_answer(CTL_ERROR, NULL, "arguments: give scope and one of ip-address, "
				  "hw-address, client-id");
	}
	list = list_of(scope, "reservations");
	json_array_foreach(list, i, r) {
		if (reservation_matches(r, args)) {
			json_array_remove(list, i);
			snprintf(ev, sizeof(ev), "scope=%s", json_string_value(
					 json_object_get(args, CTL_KEY_SCOPE)));
			return apply_json(d, conn, j, "reservation-del", "reservation deleted", ev);
		}
	}
	json_decref(j);
	return ctl_answer(CTL_EMPTY, NULL, "no such reservation");
}

static json_t *cmd_reservation_list(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *j, *scope, *l, *err = need_scope(d, args, CTL_KEY_SCOPE, &j, &scope);

	(void)conn;
	if (err != NULL) {
		return err;
	}
	l = json_incref(list_of(scope, "reservations"));
	json_decref(j);
	return ctl_answer(json_array_size(l) ? CTL_OK : CTL_EMPTY, l, "%zu reservation(s)",
			  json_array_size(l));
}

/* "a - b", "a-b" or "a" -> the form the configuration file uses. */
static json_t *norm_range(const char *in, char *out, size_t len)
{
	char a[32], b[32];
	uint32_t x, y;

	if (sscanf(in, " %31[0-9.] - %31[0-9.] ", a, b) == 2 ||
	    sscanf(in, " %31[0-9.]-%31[0-9.] ", a, b) == 2) {
		if (parse_ip(a, &x) != 0 || parse_ip(b, &y) != 0) {
			return bad("arguments.range: \"%s\" is not a range%s", in, "");
		}
		/* The form the configuration writer uses, so that a delete finds it. */
		if (x == y) {
			snprintf(out, len, "%s", a);
		} else {
			snprintf(out, len, "%s - %s", a, b);
		}
		return NULL;
	}
	if (parse_ip(in, &x) != 0) {
		return bad("arguments.range: \"%s\" is not an address or a range%s", in, "");
	}
	snprintf(out, len, "%s", in);
	return NULL;
}

static json_t *exclusion(struct cp_cmds *d, struct ctl_conn *conn, json_t *args, bool add)
{
	json_t *j, *scope, *list, *v, *err = NULL;
	const char *range = arg_str(args, CTL_KEY_RANGE, &err);
	char norm[80], ev[200];
	size_t i;

	if (err != NULL) {
		return err;
	}
	if (range == NULL) {
		return ctl_answer(CTL_ERROR, NULL, "arguments.range: required");
	}
	err = norm_range(range, norm, sizeof(norm));
	if (err == NULL) {
		err = need_scope(d, args, CTL_KEY_SCOPE, &j, &scope);
	}
	if (err != NULL) {
		return err;
	}
	list = list_of(scope, "exclusions");
	if (add) {
		json_array_append_new(list, json_string(norm));
	} else {
		bool found = false;

		json_array_foreach(list, i, v) {
			if (json_is_string(v) && strcmp(json_string_value(v), norm) == 0) {
				json_array_remove(list, i);
				found = true;
				break;
			}
		}
		if (!found) {
			json_decref(j);
			return ctl_answer(CTL_EMPTY, NULL, "no exclusion %s", norm);
		}
	}
	snprintf(ev, sizeof(ev), "scope=%s range=\"%s\"",
		 json_string_value(json_object_get(args, CTL_KEY_SCOPE)), norm);
	return apply_json(d, conn, j, add ? "exclusion-add" : "exclusion-del",
			  add ? "exclusion added" : "exclusion deleted", ev);
}

static json_t *cmd_exclusion_add(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	(void)conn;
	return exclusion(d, conn, args, true);
}

static json_t *cmd_exclusion_del(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	(void)conn;
	return exclusion(d, conn, args, false);
}

/* --- statistics --------------------------------------------------------------------- */

struct scope_counts {
	const struct dp_config *cfg;
	uint64_t now;
	uint64_t (*n)[4];	/* per scope: assigned, offered, declined, other-bound */
};

static bool scope_counts_cb(const struct bt_binding *b, void *arg)
{
	struct scope_counts *c = arg;
	const struct dp_scope *s = dp_config_scope_of(c->cfg, b->addr);
	bool live = b->ends > c->now;

	if (s == NULL) {
		return true;
	}
	if (b->state == BT_ACTIVE && live) {
		c->n[s->index][0]++;
	} else if (b->state == BT_OFFERED && live) {
		c->n[s->index][1]++;
	} else if (b->state == BT_ABANDONED && live) {
		c->n[s->index][2]++;
	}
	return true;
}

/* Every address a scope can hand out: its pools minus exclusions, plus reservations. */
static uint64_t scope_total(const struct dp_scope *s)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < s->n_ranges; i++) {
		n += (uint64_t)s->ranges[i].last - s->ranges[i].first + 1;
	}
	for (uint32_t i = 0; i < s->n_exclusions; i++) {
		uint64_t x = (uint64_t)s->exclusions[i].last - s->exclusions[i].first + 1;

		n = n > x ? n - x : 0;	/* exclusions lie inside the pools (validated) */
	}
	for (uint32_t i = 0; i < s->n_reservations; i++) {
		if (!dp_scope_in_pool(s, s->reservations[i].addr)) {
			n++;
		}
	}
	return n;
}

static void stat_name(char *buf, size_t len, const char *prefix, const char *name)
{
	snprintf(buf, len, "%s%s", prefix, name);
	for (char *p = buf; *p != '\0'; p++) {
		if (*p == '_') {
			*p = '-';
		}
	}
}

/* The statistics, with the scopes' counts of @p sc (none when sc->n is NULL: out of memory). */
static json_t *statistics(struct cp_cmds *d, const struct scope_counts *sc)
{
	static const char *const gauges[] = {
#define X(id, kind, help) kind,
		LW_SCOPE_GAUGE_TABLE(X)
#undef X
	};
	enum {
#define X(id, kind, help) G_##id,
		LW_SCOPE_GAUGE_TABLE(X)
#undef X
		G__COUNT
	};
	const struct dp_config *cfg = d->rt->snap->cfg;
	struct dp_counters c;
	json_t *o = json_object();
	char name[128];

	cp_stats_sum(d->stats, &c, true);
	for (size_t i = 0; i < dp_counter_n_descs; i++) {
		const struct dp_counter_desc *cd = &dp_counter_descs[i];

		json_object_set_new(o, cd->stat,
				    json_integer((json_int_t)dp_counter_value(&c, cd)));
	}
	for (unsigned i = 0; i < DP_DROP_MAX; i++) {
		stat_name(name, sizeof(name), "drop-", dp_drop_str(i));
		json_object_set_new(o, name, json_integer((json_int_t)c.drop[i]));
	}
	if (sc->n != NULL) {
		for (uint32_t i = 0; i < cfg->n_scopes; i++) {
			const struct dp_scope *s = &cfg->scopes[i];
			uint64_t total = scope_total(s), used = sc->n[i][0] + sc->n[i][1] + sc->n[i][2];
			uint64_t v[G__COUNT] = {
				[G_TOTAL] = total, [G_ASSIGNED] = sc->n[i][0],
				[G_OFFERED] = sc->n[i][1], [G_DECLINED] = sc->n[i][2],
				[G_FREE] = total > used ? total - used : 0,
			};

			for (unsigned k = 0; k < G__COUNT; k++) {
				snprintf(name, sizeof(name), "scope[%s].%s-addresses", s->name,
					 gauges[k]);
				json_object_set_new(o, name, json_integer((json_int_t)v[k]));
			}
		}
	}
	if (d->persist->committer != NULL) {
		const struct committer_stats *st = committer_stats(d->persist->committer);

#define X(member, stat, help) \
		json_object_set_new(o, stat, json_integer((json_int_t)atomic_load(&st->member)));
		LW_STORE_COUNTER_TABLE(X)
#undef X
	}
	if (d->stats->ctl != NULL) {
		const struct ctl_stats *cs = ctl_server_stats(d->stats->ctl);

#define X(member, stat, help) \
		json_object_set_new(o, stat, json_integer((json_int_t)cs->member));
		LW_CTL_COUNTER_TABLE(X)
#undef X
	}
	return o;
}

/* --- commands that read every binding: table walks over several loop turns ---------- */

/*
 * lease4-get-all, lease4-wipe, the scope statistics (statistic-get, statistic-get-all,
 * scope-list) and scope-del's check read every binding (issue 11 item 10). They walk the
 * table by address (walk.h) in slices of walk_slice lookups: the first slice in the handler,
 * then one per control-loop turn (cp_cmd_progress()), offline in between and with quiescent
 * states inside, so that neither the workers' record recycling (grace periods) nor the loop
 * (failover keepalives, other control clients) waits for a /8 pool. The answer goes out when
 * the walk is done; a walk over small pools ends in its first slice and answers at once, as
 * before. A client that hangs up meanwhile cancels its walk. A configuration applied
 * meanwhile starts the walk again under the new one (the scopes it read may be gone): an
 * answer always comes from one configuration. Each binding is read as it is when the walk
 * passes its address, as a walk of the hash table read it while workers ran.
 *
 * The walk covers the configured scopes' subnets: a binding of an address in no configured
 * subnet (left over from a removed scope) is not listed nor wiped (as lease4-get-page), and
 * never was counted in a scope's statistics.
 */
#define WALK_SLICE 65536	/* lookups per slice (a few ms), as the reclaim scan */

struct walk_job;

struct walk_ops {
	/** (Re)start under the running configuration: resolve the arguments, cp_walk_init(),
	 *  set cb_arg. @return NULL, or the answer that ends the job. */
	json_t *(*begin)(struct walk_job *j);
	bool (*cb)(const struct bt_binding *b, void *arg);
	/** The walk is done: @return the answer, or NULL when the job handed its connection
	 *  on (lease4-wipe: answered once the DELs are durable). */
	json_t *(*end)(struct walk_job *j);
	/** end() applies a configuration: it waits while another one is being built. */
	bool applies;
};

struct walk_job {
	struct cp_cmds *d;
	struct ctl_conn *conn;		/* NULL: nobody to answer (tests) */
	const struct walk_ops *ops;
	json_t *args;			/* the request's arguments (own reference), or NULL */
	uint64_t gen;			/* configuration generation the walk runs under */
	struct cp_walk walk;
	void *cb_arg;
	const struct dp_scope *one[2];	/* a one-scope filter, NULL-terminated */
	struct collect c;		/* lease4-get-all, lease4-wipe */
	struct scope_counts sc;		/* statistics */
	struct count_active ca;		/* scope-del */
	struct walk_job *next;
};

/* Bumped by every configuration applied (cp_apply_config()). */
static uint64_t config_gen(const struct cp_cmds *d)
{
	return d->apply != NULL ? d->apply->reloads : 0;
}

static void job_reset(struct walk_job *j)
{
	free(j->c.v);
	if (j->c.only != j->one) {
		free(j->c.only);
	}
	free(j->sc.n);
	memset(&j->c, 0, sizeof(j->c));
	memset(&j->sc, 0, sizeof(j->sc));
	memset(&j->ca, 0, sizeof(j->ca));
	j->one[0] = j->one[1] = NULL;
}

static void job_free(struct walk_job *j)
{
	job_reset(j);
	json_decref(j->args);
	free(j);
}

/* Start (again) under the running configuration. @return NULL or the final answer. */
static json_t *job_begin(struct walk_job *j)
{
	job_reset(j);
	j->gen = config_gen(j->d);
	return j->ops->begin(j);
}

/*
 * Run one slice. @return true when the job is over, with its answer in *answer (NULL when
 * it handed its connection on).
 */
static bool job_slice(struct walk_job *j, json_t **answer)
{
	struct cp_cmds *d = j->d;
	uint64_t qs = j->walk.qs;
	bool done;

	*answer = NULL;
	if (j->gen != config_gen(d)) {
		*answer = job_begin(j);
		if (*answer != NULL) {
			return true;
		}
	}
	urcu_qsbr_thread_online();
	done = cp_walk_step(&j->walk, d->rt->snap->cfg, d->rt->table, d->walk_slice, j->ops->cb,
			    j->cb_arg);
	urcu_qsbr_thread_offline();
	d->walk_slices++;
	d->walk_qs += j->walk.qs - qs;
	if (j->c.oom) {
		*answer = ctl_answer(CTL_ERROR, NULL, "out of memory");
		return true;
	}
	if (!done || (j->ops->applies && apply_busy(d))) {
		return false;	/* a change being built: its end comes again next turn */
	}
	*answer = j->ops->end(j);
	return true;
}

/* Start a walk for @p conn: @return its answer when it is over in one slice, else NULL (the
 * job answers from cp_cmd_progress()). */
static json_t *walk_start(struct cp_cmds *d, struct ctl_conn *conn, json_t *args,
			  const struct walk_ops *ops)
{
	struct walk_job *j = calloc(1, sizeof(*j));
	json_t *answer;

	if (j == NULL) {
		return ctl_answer(CTL_ERROR, NULL, "out of memory");
	}
	j->d = d;
	j->conn = conn;
	j->ops = ops;
	j->args = json_incref(args);
	answer = job_begin(j);
	if (answer == NULL && !job_slice(j, &answer)) {
		j->next = d->jobs;
		d->jobs = j;
		return NULL;
	}
	job_free(j);
	return answer;
}

/* One slice of every walk in progress; answer those that are over. */
static void walks_progress(struct cp_cmds *d)
{
	struct walk_job **pp = &d->jobs;

	while (*pp != NULL) {
		struct walk_job *j = *pp;
		json_t *answer = NULL;

		if (j->conn != NULL && ctl_conn_gone(j->conn)) {
			ctl_conn_answer(j->conn, NULL);	/* cancelled: frees the connection */
		} else if (job_slice(j, &answer)) {
			if (j->conn != NULL && answer != NULL) {
				ctl_conn_answer(j->conn, answer);
			} else {
				json_decref(answer);
			}
		} else {
			pp = &j->next;
			continue;
		}
		*pp = j->next;
		job_free(j);
	}
}

/* lease4-get-all */

static json_t *get_all_begin(struct walk_job *j)
{
	json_t *err = NULL;

	j->c.cfg = j->d->rt->snap->cfg;
	err = info_filter(&j->c, j->args);
	if (err != NULL) {
		return err;
	}
	j->c.only = scope_filter(j->c.cfg, j->args, &err);
	if (err != NULL) {
		return err;
	}
	cp_walk_init(&j->walk, 0, (const struct dp_scope *const *)j->c.only);
	j->cb_arg = &j->c;
	return NULL;
}

static json_t *get_all_end(struct walk_job *j)
{
	json_t *answer = leases_answer(j->d, &j->c, SIZE_MAX);	/* frees v and only */

	j->c.v = NULL;
	j->c.only = NULL;
	return answer;
}

static const struct walk_ops get_all_ops = {
	.begin = get_all_begin, .cb = collect_cb, .end = get_all_end,
};

static json_t *cmd_lease_get_all(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	return walk_start(d, conn, args, &get_all_ops);
}

/* lease4-wipe: collect by walking, then one DEL per worker. */

static json_t *wipe_begin(struct walk_job *j)
{
	const struct dp_config *cfg = j->d->rt->snap->cfg;
	json_t *err = NULL;
	const char *name = arg_str(j->args, CTL_KEY_SCOPE, &err);

	if (err != NULL) {
		return err;
	}
	j->c.cfg = cfg;
	if (name != NULL) {
		j->one[0] = scope_named(cfg, name);
		if (j->one[0] == NULL) {
			return bad("arguments.scope: no scope \"%s\"%s", name, "");
		}
		j->c.only = j->one;
	}
	cp_walk_init(&j->walk, 0, j->c.only);
	j->cb_arg = &j->c;
	return NULL;
}

static json_t *wipe_end(struct walk_job *j)
{
	struct cp_cmds *d = j->d;
	struct collect *c = &j->c;
	struct cp_pending *head = NULL;

	if (c->n == 0) {
		return ctl_answer(CTL_EMPTY, json_pack("{s:i}", "deleted", 0), "no lease to wipe");
	}
	/* One DEL per worker, each with the addresses that worker writes; chained so the
	 * answer comes once all are durable. */
	for (uint32_t w = 0; w < d->rt->n_workers; w++) {
		struct cp_pending *p = pending_new(d, "lease4-wipe", w, NULL);
		uint32_t n = 0;

		if (p == NULL || (p->addrs = malloc(sizeof(uint32_t) * c->n)) == NULL) {
			free(p);
			pending_free(head);
			return ctl_answer(CTL_ERROR, NULL, "out of memory");
		}
		for (size_t i = 0; i < c->n; i++) {
			if (c->v[i].b.owner == w) {
				p->addrs[n++] = c->v[i].b.addr;
			}
		}
		p->lo.op.kind = DP_OP_DEL;
		p->lo.op.addrs = p->addrs;
		p->lo.op.n_addrs = n;
		p->next_step = head;
		head = p;
	}
	head->conn = j->conn;
	j->conn = NULL;		/* the pending answers it now */
	return start(d, head);
}

static const struct walk_ops wipe_ops = {
	.begin = wipe_begin, .cb = collect_cb, .end = wipe_end,
};

static json_t *cmd_lease_wipe(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	return walk_start(d, conn, args, &wipe_ops);
}

/* scope-del: refused while the scope holds active leases, unless forced. */

static json_t *scope_del_begin(struct walk_job *j)
{
	const char *name = json_string_value(json_object_get(j->args, CTL_KEY_NAME));

	j->ca.s = scope_named(j->d->rt->snap->cfg, name);
	if (j->ca.s == NULL) {
		return ctl_answer(CTL_EMPTY, NULL, "no scope \"%s\"", name);
	}
	j->ca.now = now_s();
	j->one[0] = j->ca.s;
	cp_walk_init(&j->walk, 0, j->one);
	j->cb_arg = &j->ca;
	return NULL;
}

static json_t *scope_del_apply(struct cp_cmds *d, struct ctl_conn *conn, json_t *args,
				 uint64_t active)
{
	json_t *j, *scope, *err = need_scope(d, args, CTL_KEY_NAME, &j, &scope);
	bool force = json_is_true(json_object_get(args, CTL_KEY_FORCE));
	const char *name;
	char ev[128];
	ssize_t idx;

	if (err != NULL) {
		return err;
	}
	name = json_string_value(json_object_get(args, CTL_KEY_NAME));
	if (!force && active != 0) {
		json_decref(j);
		return ctl_answer(CTL_CONFLICT, NULL, "scope \"%s\" holds %llu active lease(s): "
				  "deactivate it first, or give \"force\": true", name,
				  (unsigned long long)active);
	}
	(void)scopes_of(j, name, &idx);
	json_array_remove(json_object_get(j, "scopes"), (size_t)idx);
	snprintf(ev, sizeof(ev), "scope=%s%s", name, force ? " force=true" : "");
	return apply_json(d, conn, j, "scope-del", "scope deleted", ev);
}

static json_t *scope_del_end(struct walk_job *j)
{
	struct ctl_conn *conn = j->conn;
	json_t *a;

	/* The change may be answered later (a big pool): the connection goes with it. */
	j->conn = NULL;
	a = scope_del_apply(j->d, conn, j->args, j->ca.n);
	if (a != NULL) {
		j->conn = conn;
	}
	return a;
}

static const struct walk_ops scope_del_ops = {
	.begin = scope_del_begin, .cb = count_active_cb, .end = scope_del_end, .applies = true,
};

static json_t *cmd_scope_del(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *force = args ? json_object_get(args, CTL_KEY_FORCE) : NULL, *err, *j, *scope;

	if (force != NULL && !json_is_boolean(force)) {
		return ctl_answer(CTL_ERROR, NULL, "arguments.force: must be true or false");
	}
	err = need_scope(d, args, CTL_KEY_NAME, &j, &scope);
	if (err != NULL) {
		return err;
	}
	json_decref(j);
	if (json_is_true(force)) {
		return scope_del_apply(d, conn, args, 0);
	}
	return walk_start(d, conn, args, &scope_del_ops);
}

/* statistic-get-all, statistic-get, scope-list: the scopes' counts by walking. */

static json_t *stats_begin(struct walk_job *j)
{
	const struct dp_config *cfg = j->d->rt->snap->cfg;

	j->sc.cfg = cfg;
	j->sc.now = now_s();
	j->sc.n = calloc(cfg->n_scopes ? cfg->n_scopes : 1, sizeof(*j->sc.n));
	/* Out of memory: the statistics without the scopes' (as before the walks). */
	cp_walk_init(&j->walk, j->sc.n != NULL ? 0 : CP_WALK_END, NULL);
	j->cb_arg = &j->sc;
	return NULL;
}

static json_t *stat_get_all_end(struct walk_job *j)
{
	return ctl_answer(CTL_OK, statistics(j->d, &j->sc), "statistics");
}

static const struct walk_ops stat_get_all_ops = {
	.begin = stats_begin, .cb = scope_counts_cb, .end = stat_get_all_end,
};

static json_t *cmd_stat_get_all(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	return walk_start(d, conn, args, &stat_get_all_ops);
}

static json_t *stat_get_end(struct walk_job *j)
{
	const char *name = json_string_value(json_object_get(j->args, CTL_KEY_NAME));
	json_t *all = statistics(j->d, &j->sc), *v = json_object_get(all, name);

	if (v == NULL) {
		json_decref(all);
		return ctl_answer(CTL_EMPTY, NULL, "no statistic \"%s\"", name);
	}
	v = json_pack("{s:O}", name, v);
	json_decref(all);
	return ctl_answer(CTL_OK, v, "statistic found");
}

static const struct walk_ops stat_get_ops = {
	.begin = stats_begin, .cb = scope_counts_cb, .end = stat_get_end,
};

static json_t *cmd_stat_get(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *err = NULL;
	const char *name = arg_str(args, CTL_KEY_NAME, &err);

	if (err != NULL) {
		return err;
	}
	if (name == NULL) {
		return ctl_answer(CTL_ERROR, NULL, "arguments.name: required");
	}
	return walk_start(d, conn, args, &stat_get_ops);
}

static json_t *scope_list_end(struct walk_job *j)
{
	const struct dp_config *cfg = j->d->rt->snap->cfg;
	json_t *stats = statistics(j->d, &j->sc), *list = json_array();
	char name[128], subnet[24];

	for (uint32_t i = 0; i < cfg->n_scopes; i++) {
		const struct dp_scope *s = &cfg->scopes[i];
		json_t *o;

		snprintf(subnet, sizeof(subnet), "%s/%u", lw_ip4_fmt(s->subnet).s, s->prefix_len);
		o = json_pack("{s:s, s:s, s:b}", "name", s->name, "subnet", subnet, "active",
			      s->active);
		static const char *const keys[][2] = {
			{"total", "total-addresses"}, {"assigned", "assigned-addresses"},
			{"free", "free-addresses"}, {"offered", "offered-addresses"},
			{"declined", "declined-addresses"},
		};
		for (unsigned k = 0; k < 5; k++) {
			snprintf(name, sizeof(name), "scope[%s].%s", s->name, keys[k][1]);
			json_object_set(o, keys[k][0], json_object_get(stats, name));
		}
		json_array_append_new(list, o);
	}
	json_decref(stats);
	return ctl_answer(CTL_OK, list, "%u scope(s)", cfg->n_scopes);
}

static const struct walk_ops scope_list_ops = {
	.begin = stats_begin, .cb = scope_counts_cb, .end = scope_list_end,
};

static json_t *cmd_scope_list(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	return walk_start(d, conn, args, &scope_list_ops);
}

static json_t *cmd_stat_reset(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *err = NULL;
	const char *name = arg_str(args, CTL_KEY_NAME, &err);

	(void)conn;
	if (err != NULL) {
		return err;
	}
	if (name != NULL) {
		return ctl_answer(CTL_ERROR, NULL, "arguments.name: resetting one statistic is "
				  "not supported; reset all (no arguments)");
	}
	cp_stats_reset(d->stats);
	cp_log(CP_LOG_INFO, "event=statistic-reset by=control-socket");
	return ctl_answer(CTL_OK, NULL, "statistics reset");
}

/* --- the rest ----------------------------------------------------------------------- */

static json_t *cmd_version_get(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	(void)d;
	(void)conn;
	(void)args;
	return ctl_answer(CTL_OK, json_pack("{s:s, s:s, s:s, s:s}", "version", LW_VERSION,
					    "dpdk", rte_version(), "lmdb",
					    store_lmdb_version(), "jansson",
					    JANSSON_VERSION), "leasewire " LW_VERSION);
}

/* The committer's histograms (LW_STORE_HIST_TABLE): {} without a store. */
static json_t *store_histograms(struct cp_cmds *d)
{
	json_t *o = json_object();
	const struct committer_stats *st;
	char name[32];

	if (d->persist->committer == NULL) {
		return o;
	}
	st = committer_stats(d->persist->committer);
#define X(member, stat, tel, bucket, help) \
	do { \
		json_t *h = json_object(); \
		for (unsigned i = 0; i < COMMITTER_HIST_BUCKETS; i++) { \
			if (i + 1 < COMMITTER_HIST_BUCKETS) { \
				snprintf(name, sizeof(name), "%s%llu", bucket, \
					 COMMITTER_BOUND_##member(i)); \
			} else { \
				snprintf(name, sizeof(name), "inf"); \
			} \
			json_object_set_new(h, name, \
					    json_integer((json_int_t)atomic_load(&st->member[i]))); \
		} \
		json_object_set_new(o, stat, h); \
	} while (0);
	LW_STORE_HIST_TABLE(X)
#undef X
	return o;
}

static json_t *cmd_status_get(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	const struct dp_config *cfg = d->rt->snap->cfg;
	json_t *ports = json_array();
	uint64_t t = now_s();
	unsigned long bindings;
	long before, after;

	(void)conn;
	(void)args;
	for (uint32_t i = 0; i < d->rt->n_ports; i++) {
		static const char *const tx_csum[] = {"none", "udp", "ip", "udp+ip"};
		const struct dp_port_state *ps = &d->rt->ports[i];
		char mac[RTE_ETHER_ADDR_FMT_SIZE];
		struct rte_eth_link link;
		unsigned tx = atomic_load_explicit(&ps->tx_csum, memory_order_relaxed) & 3u;
		bool up = rte_eth_link_get_nowait(ps->port_id, &link) == 0 &&
			  link.link_status == RTE_ETH_LINK_UP;

		rte_ether_format_addr(mac, sizeof(mac), &ps->mac);
		/* tx-csum: the checksums the workers leave to the port now (port.h: on
		 * net_vhost, while a peer that negotiated GUEST_CSUM is connected). */
		json_array_append_new(ports, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name",
						       cfg->ports[i].name, "device",
						       cfg->ports[i].device, "driver", ps->driver,
						       "mac", mac, "link", up ? "up" : "down",
						       "tx-csum", tx_csum[tx]));
	}
	urcu_qsbr_thread_online();
	cds_lfht_count_nodes(d->rt->table->by_addr, &before, &bindings, &after);
	urcu_qsbr_thread_offline();
	return ctl_answer(CTL_OK,
			  json_pack("{s:I, s:I, s:I, s:I, s:i, s:s, s:s, s:s, s:o, s:i, s:I, s:o, "
				    "s:o}",
				    "pid", (json_int_t)getpid(),
				    "uptime", (json_int_t)(t - d->started),
				    "reload", (json_int_t)(t - d->apply->applied),
				    "reloads", (json_int_t)d->apply->reloads,
				    "workers", (int)d->rt->n_workers,
				    "durability", cfg->store_path[0] == '\0' ? "memory" :
				    cfg->durability == DP_DURABILITY_RELAXED ? "relaxed" : "strict",
				    "store", cfg->store_path,
				    "dhcp-state", "enabled",
				    "ports", ports,
				    "scopes", (int)cfg->n_scopes,
				    "bindings", (json_int_t)bindings,
				    "failover", cp_fo_status(d->fo, NULL),
				    "store-histograms", store_histograms(d)),
			  "leasewired is running");
}

static json_t *cmd_shutdown(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *v = args ? json_object_get(args, CTL_KEY_EXIT_VALUE) : NULL;

	(void)conn;
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0 ||
			  json_integer_value(v) > 255)) {
		return ctl_answer(CTL_ERROR, NULL, "arguments.exit-value: must be an integer "
				  "0..255");
	}
	d->shutdown = true;
	d->exit_value = v ? (int)json_integer_value(v) : 0;
	return ctl_answer(CTL_OK, NULL, "shutting down");
}

/* --- failover ------------------------------------------------------------------------ */

static json_t *cmd_fo_status(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *v = json_object_get(args, CTL_KEY_NAME), *l;

	(void)conn;
	if (v != NULL && !json_is_string(v)) {
		return ctl_answer(CTL_ERROR, NULL, "arguments.name: must be a string");
	}
	l = cp_fo_status(d->fo, v ? json_string_value(v) : NULL);
	if (l == NULL) {
		return ctl_answer(CTL_EMPTY, NULL, "no failover relationship \"%s\"",
				  json_string_value(v));
	}
	if (json_array_size(l) == 0) {
		return ctl_answer(CTL_EMPTY, l, "no failover relationships configured");
	}
	return ctl_answer(CTL_OK, l, "%zu failover relationship(s)", json_array_size(l));
}

static json_t *fo_command(struct cp_cmds *d, json_t *args, enum cp_fo_cmd cmd,
			  const char *done)
{
	json_t *v = json_object_get(args, CTL_KEY_NAME);
	char err[256];

	if (!json_is_string(v)) {
		return ctl_answer(CTL_ERROR, NULL, "arguments.name: the relationship's name is "
				  "required");
	}
	if (cp_fo_command(d->fo, json_string_value(v), cmd, err, sizeof(err)) != 0) {
		return ctl_answer(CTL_ERROR, NULL, "%s", err);
	}
	return ctl_answer(CTL_OK, cp_fo_status(d->fo, json_string_value(v)), "%s: %s",
			  json_string_value(v), done);
}

static json_t *cmd_fo_partner_down(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	(void)conn;
	return fo_command(d, args, CP_FO_CMD_PARTNER_DOWN, "partner down");
}

static json_t *cmd_fo_shutdown(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	(void)conn;
	return fo_command(d, args, CP_FO_CMD_SHUTDOWN, "shut down");
}

static json_t *cmd_fo_recover(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	(void)conn;
	return fo_command(d, args, CP_FO_CMD_RECOVER, "recovering");
}

static json_t *cmd_fo_resync(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	(void)conn;
	return fo_command(d, args, CP_FO_CMD_RESYNC, "every binding queued for the partner");
}

/* failover-replicate: exactly one of server, relationship, scope. */
static json_t *cmd_fo_replicate(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *e = NULL, *queued = NULL;
	const char *rel = arg_str(args, CTL_KEY_RELATIONSHIP, &e);
	const char *scope = e ? NULL : arg_str(args, CTL_KEY_SCOPE, &e);
	bool all = json_is_true(json_object_get(args, CTL_KEY_SERVER));
	char err[512];

	(void)conn;
	if (e != NULL) {
		return e;
	}
	if ((all ? 1 : 0) + (rel != NULL ? 1 : 0) + (scope != NULL ? 1 : 0) != 1) {
		return ctl_answer(CTL_ERROR, NULL, "arguments: exactly one of server (true), "
				  "relationship or scope is required");
	}
	if (cp_mgmt_replicate(d->mgmt, all, rel, scope, &queued, err, sizeof(err)) != 0) {
		return ctl_answer(CTL_ERROR, NULL, "%s", err);
	}
	return ctl_answer(CTL_OK, queued, "%zu scope(s) queued for replication to the partner",
			  json_array_size(queued));
}

static json_t *cmd_fo_sync_status(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *l = cp_mgmt_sync_status(d->mgmt);

	(void)conn;
	(void)args;
	if (l == NULL) {
		return ctl_answer(CTL_ERROR, NULL, "out of memory");
	}
	if (json_array_size(l) == 0) {
		return ctl_answer(CTL_EMPTY, l, "no failover scopes");
	}
	return ctl_answer(CTL_OK, l, "%zu failover scope(s)", json_array_size(l));
}


/* --- failover relationships as live objects -------------------------------------------- */

/* The relationships list of @p j (made when absent) and the index of @p name in it (-1). */
static json_t *rels_of(json_t *j, const char *name, ssize_t *idx)
{
	json_t *rels = json_object_get(j, "relationships"), *r;
	size_t i;

	if (rels == NULL) {
		rels = json_array();
		json_object_set_new(j, "relationships", rels);
	}
	*idx = -1;
	json_array_foreach(rels, i, r) {
		const char *n = json_string_value(json_object_get(r, "name"));

		if (name != NULL && n != NULL && strcmp(n, name) == 0) {
			*idx = (ssize_t)i;
		}
	}
	return rels;
}

/* The running relationship @p name, in JSON (secret included: for edits only). */
static json_t *need_rel(struct cp_cmds *d, json_t *args, json_t **j, json_t **rel)
{
	json_t *err = NULL;
	const char *name = arg_str(args, CTL_KEY_NAME, &err);
	ssize_t idx;
	json_t *rels;

	if (err != NULL) {
		return err;
	}
	*j = running_json(d);
	rels = rels_of(*j, name, &idx);
	if (idx < 0) {
		json_decref(*j);
		return ctl_answer(CTL_EMPTY, NULL, "no failover relationship \"%s\"", name);
	}
	*rel = json_array_get(rels, (size_t)idx);
	return NULL;
}

/* Apply @p j (consumed) and answer with relationship @p name's status. */
static json_t *apply_rel(struct cp_cmds *d, json_t *j, const char *source, const char *name,
			 const char *ok)
{
	json_t *a = apply_json_now(d, j, source, ok, NULL), *st;

	if (json_integer_value(json_object_get(a, "result")) != CTL_OK) {
		return a;
	}
	st = cp_fo_status(d->fo, name);
	if (st != NULL) {
		json_object_set_new(a, "arguments", st);
	}
	return a;
}

/* The partner of running relationship @p name (host order), 0 when there is none. */
static uint32_t rel_partner(const struct cp_cmds *d, const char *name)
{
	const struct dp_config *c = d->rt->snap->cfg;

	for (uint32_t i = 0; i < c->n_relationships; i++) {
		if (strcmp(c->relationships[i].name, name) == 0) {
			return c->relationships[i].partner_addr;
		}
	}
	return 0;
}

/* Queue @p op for the partner of @p name, before the local change is applied (mgmt_run.h).
 * @return 1 queued, 0 local only, or an error answer in @p *ans. */
static int queue_change(struct cp_cmds *d, const char *name, const char *scope, const char *op,
			uint32_t partner, json_t **ans)
{
	char err[256];
	int rc = cp_mgmt_queue_change(d->mgmt, name, scope, op, partner, err, sizeof(err));

	if (rc < 0) {
		*ans = ctl_answer(CTL_ERROR, NULL, "nothing changed: %s", err);
	}
	return rc;
}

/* Add " (the partner follows: queued)" to the text of a successful answer @p a. */
static json_t *note_partner(json_t *a, int queued)
{
	const char *t = json_string_value(json_object_get(a, "text"));

	if (queued > 0 && t != NULL &&
	    json_integer_value(json_object_get(a, "result")) == CTL_OK) {
		json_object_set_new(a, "text", json_sprintf("%s; sent to the partner (queued until "
							    "delivered)", t));
	}
	return a;
}

/* A failover-add waiting for the partner's answer (cp_mgmt_create()). */
struct fo_add_wait {
	struct cp_cmds *d;
	struct ctl_conn *conn;
	json_t *doc;
	char name[DP_NAME_MAX];
	char partner[16];
	uint32_t addr;
};

/* The partner made relationship w->name: make it here too, on the configuration running NOW
 * (it may have changed while the partner worked). When that fails, the partner is told to
 * delete what it made (queued). */
static json_t *fo_add_local(struct fo_add_wait *w)
{
	json_t *j, *rels, *a, *rel = NULL, *v;
	ssize_t idx;
	size_t i;
	int q;

	if (w->d->apply != NULL) {
		cp_apply_settle(w->d->apply);	/* the configuration it derives from is final */
	}
	j = running_json(w->d);

	json_array_foreach(json_object_get(w->doc, "relationships"), i, v) {
		const char *n = json_string_value(json_object_get(v, "name"));

		if (n != NULL && strcmp(n, w->name) == 0) {
			rel = v;
		}
	}
	rels = j != NULL && rel != NULL ? rels_of(j, w->name, &idx) : NULL;
	if (rels != NULL && idx < 0 && json_array_append(rels, rel) == 0) {
		a = apply_rel(w->d, j, "failover-add", w->name,
			      "relationship created here and on the partner");
		j = NULL;
		if (json_integer_value(json_object_get(a, "result")) == CTL_OK) {
			return a;
		}
	} else {
		a = ctl_answer(CTL_CONFLICT, NULL, "relationship \"%s\" was made here meanwhile",
			       w->name);
	}
	json_decref(j);
	/* Undo on the partner: it holds the relationship and the scopes it made for it. */
	q = cp_mgmt_queue_change(w->d->mgmt, w->name, NULL, "delete-relationship", w->addr,
				 NULL, 0);
	cp_log(CP_LOG_WARN, "event=failover-add-undone relationship=%s partner=%s reason=\"%s\"",
	       w->name, w->partner, json_string_value(json_object_get(a, "text")));
	json_object_set_new(a, "text", json_sprintf("relationship %s not created here: %s; the "
						    "partner %s made it and %s", w->name,
						    json_string_value(json_object_get(a, "text")),
						    w->partner, q > 0 ?
						    "is told to delete it (queued until delivered)" :
						    "could NOT be told to delete it (queue full or "
						    "unwritable): remove it there"));
	json_object_set_new(a, "result", json_integer(CTL_ERROR));
	return a;
}

static void fo_add_done(void *arg, bool ok, int undo, const char *why)
{
	struct fo_add_wait *w = arg;
	json_t *a;

	if (!ok) {
		char esc[CP_LOG_ESC_SIZE(300)];

		cp_log(CP_LOG_WARN, "event=failover-add-refused relationship=%s partner=%s "
		       "reason=\"%s\"", w->name, w->partner, cp_log_esc(esc, sizeof(esc), why, 300));
		if (undo == 0) {
			a = ctl_answer(CTL_ERROR, NULL, "relationship %s not created: the partner %s "
				       "refused or could not be reached: %s (nothing changed here "
				       "or there)", w->name, w->partner, why);
		} else {
			a = ctl_answer(CTL_ERROR, NULL, "relationship %s not created here: the "
				       "partner %s got the request but its answer never came: %s; "
				       "it may have made it, and %s", w->name, w->partner, why,
				       undo > 0 ? "is told to delete it (queued until delivered)"
				       : "could NOT be told to delete it: remove it there");
		}
	} else {
		a = fo_add_local(w);
	}
	json_decref(w->doc);
	ctl_conn_answer(w->conn, a);
	free(w);
}

static json_t *cmd_fo_add(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *rel = json_object_get(args, CTL_KEY_RELATIONSHIP), *j, *rels;
	const char *given = json_string_value(json_object_get(rel, "name"));
	char err[512], name[DP_NAME_MAX];
	struct dp_config *cfg;
	uint32_t partner;
	ssize_t idx;
	char *text;

	j = running_json(d);
	rels = rels_of(j, given, &idx);
	if (idx >= 0) {
		json_decref(j);
		return ctl_answer(CTL_CONFLICT, NULL, "relationship \"%s\" exists (use "
				  "failover-set)", given);
	}
	json_array_append(rels, rel);
	/* Checked whole (and its default name learnt) before anything is sent anywhere. */
	text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	cfg = text != NULL ? cp_config_parse_replacing(text, d->rt->snap->cfg, err, sizeof(err))
			   : NULL;
	free(text);
	if (cfg == NULL) {
		json_decref(j);
		return ctl_answer(CTL_ERROR, NULL, "%s", text == NULL ? "out of memory" : err);
	}
	snprintf(name, sizeof(name), "%s", cfg->relationships[cfg->n_relationships - 1].name);
	partner = cfg->relationships[cfg->n_relationships - 1].partner_addr;
	dp_config_free(cfg);
	json_object_set_new(json_array_get(rels, json_array_size(rels) - 1), "name",
			    json_string(name));
	if (cp_mgmt_managed(d->mgmt, partner)) {
		struct fo_add_wait *w = calloc(1, sizeof(*w));

		if (w == NULL) {
			json_decref(j);
			return ctl_answer(CTL_ERROR, NULL, "out of memory");
		}
		*w = (struct fo_add_wait){.d = d, .conn = conn, .doc = j, .addr = partner};
		snprintf(w->name, sizeof(w->name), "%s", name);
		snprintf(w->partner, sizeof(w->partner), "%s", lw_ip4_fmt(partner).s);
		if (cp_mgmt_create(d->mgmt, partner, j, name, fo_add_done, w, err,
				   sizeof(err)) != 0) {
			json_decref(j);
			free(w);
			return ctl_answer(CTL_ERROR, NULL, "relationship %s not created: %s", name,
					  err);
		}
		return NULL;	/* answered by fo_add_done() */
	}
	/* An ISC partner (or one the management channel does not list): this side only. */
	return apply_rel(d, j, "failover-add", name, "relationship created on this server "
			 "only (the partner cannot receive configuration)");
}

static json_t *cmd_fo_get(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	return cmd_fo_status(d, conn, args);
}

/* Keys of one mode that the other refuses (config_schema.c relationship_post). */
static const char *const lb_keys[] = {"load-balance-percent", NULL};
static const char *const hs_keys[] = {"server-role", "reserve-percent", NULL};

static json_t *cmd_fo_set(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *set = json_object_get(args, CTL_KEY_SETTINGS), *j, *rel, *v, *err;
	const char *k, *mode, *name = json_string_value(json_object_get(args, CTL_KEY_NAME));
	int q;

	(void)conn;
	if (json_object_get(set, "name") != NULL || json_object_get(set, "scopes") != NULL) {
		return ctl_answer(CTL_ERROR, NULL, "arguments.settings: name and scopes are not "
				  "settings (remove and add to rename; failover-scope-add/remove)");
	}
	err = need_rel(d, args, &j, &rel);
	if (err != NULL) {
		return err;
	}
	mode = json_string_value(json_object_get(set, "mode"));
	if (mode != NULL) {
		/* A new mode drops the old mode's keys unless they are given too. */
		const char *const *drop = strcmp(mode, "hot-standby") == 0 ? lb_keys : hs_keys;

		for (; *drop != NULL; drop++) {
			(void)json_object_del(rel, *drop);
		}
	}
	json_object_foreach(set, k, v) {
		json_object_set(rel, k, v);
	}
	/* Every setting, the wire's or not (mode, role, percents, secret...), goes to a
	 * management partner; sent as configured here when it leaves the queue. */
	q = queue_change(d, name, NULL, "set-relationship", rel_partner(d, name), &err);
	if (q < 0) {
		json_decref(j);
		return err;
	}
	return note_partner(apply_rel(d, j, "failover-set", name, "relationship changed"), q);
}

static json_t *cmd_fo_remove(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *j, *rel, *err = need_rel(d, args, &j, &rel), *scopes, *a;
	const char *name = json_string_value(json_object_get(args, CTL_KEY_NAME));
	json_t *rels;
	ssize_t idx = -1;
	int q;

	(void)conn;
	if (err != NULL) {
		return err;
	}
	q = queue_change(d, name, NULL, "delete-relationship", rel_partner(d, name), &err);
	if (q < 0) {
		json_decref(j);
		return err;
	}
	scopes = json_object_get(rel, "scopes");
	scopes = scopes != NULL ? json_incref(scopes) : json_array();
	rels = rels_of(j, name, &idx);
	(void)json_array_remove(rels, (size_t)idx);
	a = apply_json_now(d, j, "failover-remove", "relationship removed", NULL);
	if (json_integer_value(json_object_get(a, "result")) != CTL_OK) {
		json_decref(scopes);
		return a;
	}
	json_object_set_new(a, "arguments", json_pack("{s:s,s:o}", "relationship", name,
						      "scopes-unshared", scopes));
	json_object_set_new(a, "text", json_sprintf("relationship %s removed; %zu scope(s) "
						    "kept here, served alone%s", name,
						    json_array_size(scopes), q > 0 ?
						    "; the partner deletes the relationship and "
						    "these scopes (queued until delivered)" : ""));
	return a;
}

static json_t *fo_scopes(struct cp_cmds *d, json_t *args, bool add)
{
	json_t *j, *rel, *err = need_rel(d, args, &j, &rel), *scopes, *v;
	const char *name = json_string_value(json_object_get(args, CTL_KEY_NAME));
	size_t i;
	int q = 0;

	if (err != NULL) {
		return err;
	}
	scopes = json_object_get(rel, "scopes");
	if (scopes == NULL) {
		scopes = json_array();
		json_object_set_new(rel, "scopes", scopes);
	}
	json_array_foreach(json_object_get(args, CTL_KEY_SCOPES), i, v) {
		size_t k, at = SIZE_MAX;
		json_t *s;

		json_array_foreach(scopes, k, s) {
			if (json_equal(s, v)) {
				at = k;
			}
		}
		if (add && at != SIZE_MAX) {
			json_decref(j);
			return ctl_answer(CTL_CONFLICT, NULL, "scope %s is in %s already",
					  json_string_value(v), name);
		}
		if (!add && at == SIZE_MAX) {
			json_decref(j);
			return ctl_answer(CTL_EMPTY, NULL, "scope %s is not in %s",
					  json_string_value(v), name);
		}
		if (add) {
			json_array_append(scopes, v);
		} else {
			(void)json_array_remove(scopes, at);
		}
	}
	/* Checked whole first: a refusal queues nothing. */
	json_array_foreach(json_object_get(args, CTL_KEY_SCOPES), i, v) {
		q = queue_change(d, name, json_string_value(v), add ? "scope-add" : "scope-remove",
				 rel_partner(d, name), &err);
		if (q < 0) {
			json_decref(j);
			return err;
		}
	}
	return note_partner(apply_rel(d, j, add ? "failover-scope-add" : "failover-scope-remove",
				      name, add ? "scopes shared" :
				      "scopes unshared; they stay here, served alone"), q);
}

static json_t *cmd_fo_scope_add(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	(void)conn;
	return fo_scopes(d, args, true);
}

static json_t *cmd_fo_scope_remove(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	(void)conn;
	return fo_scopes(d, args, false);
}

static json_t *cmd_list_commands(struct cp_cmds *d, struct ctl_conn *conn, json_t *args);

/* The handler of each command of common/ctl_proto.c; its arguments were checked against the
 * table's row before it runs. */
/* --- policies and the MAC filter (issue 14) ---------------------------------------------- */

/*
 * The policies list a command edits: the scope's (arguments.scope), else the server's. On
 * success *j is the running configuration (the caller's) and *list a list inside it.
 */
static json_t *policies_of(struct cp_cmds *d, json_t *args, json_t **j, json_t **list)
{
	json_t *err = NULL, *owner;
	const char *scope = arg_str(args, CTL_KEY_SCOPE, &err);

	if (err != NULL) {
		return err;
	}
	if (scope != NULL) {
		err = need_scope(d, args, CTL_KEY_SCOPE, j, &owner);
		if (err != NULL) {
			return err;
		}
	} else {
		*j = running_json(d);
		owner = json_object_get(*j, "server");
		if (!json_is_object(owner)) {
			owner = json_object();
			json_object_set_new(*j, "server", owner);
		}
	}
	*list = list_of(owner, "policies");
	return NULL;
}

static ssize_t name_index(json_t *list, const char *name)
{
	size_t i;
	json_t *p;

	json_array_foreach(list, i, p) {
		json_t *n = json_object_get(p, "name");

		if (name != NULL && json_is_string(n) && strcmp(json_string_value(n), name) == 0) {
			return (ssize_t)i;
		}
	}
	return -1;
}

/* policies_of() and the policy arguments.name names, or the answer to give. */
static json_t *named_policy(struct cp_cmds *d, json_t *args, json_t **j, json_t **list,
			    ssize_t *idx)
{
	json_t *err = NULL;
	const char *name = arg_str(args, CTL_KEY_NAME, &err);

	if (err != NULL) {
		return err;
	}
	err = policies_of(d, args, j, list);
	if (err != NULL) {
		return err;
	}
	*idx = name_index(*list, name);
	if (*idx < 0) {
		json_decref(*j);
		return ctl_answer(CTL_EMPTY, NULL, "no policy \"%s\"", name != NULL ? name : "");
	}
	return NULL;
}

static void policy_event(char *ev, size_t size, json_t *args, const char *name)
{
	json_t *s = json_object_get(args, CTL_KEY_SCOPE);

	snprintf(ev, size, "scope=%s policy=%s", json_is_string(s) ? json_string_value(s) :
		 "(server)", name != NULL ? name : "?");
}

static json_t *cmd_policy_list(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *j, *list, *err = policies_of(d, args, &j, &list);

	(void)conn;
	if (err != NULL) {
		return err;
	}
	json_incref(list);
	json_decref(j);
	if (json_array_size(list) == 0) {
		json_decref(list);
		return ctl_answer(CTL_EMPTY, NULL, "no policies");
	}
	return ctl_answer(CTL_OK, list, "%zu policies", json_array_size(list));
}

static json_t *cmd_policy_get(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *j, *list, *p, *err;
	ssize_t idx;

	(void)conn;
	err = named_policy(d, args, &j, &list, &idx);
	if (err != NULL) {
		return err;
	}
	p = json_array_get(list, (size_t)idx);
	json_incref(p);
	json_decref(j);
	return ctl_answer(CTL_OK, p, "policy found");
}

static json_t *cmd_policy_add(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *p = json_object_get(args, CTL_KEY_POLICY), *n = json_object_get(p, "name");
	json_t *j, *list, *err;
	char ev[192];

	(void)conn;
	err = policies_of(d, args, &j, &list);
	if (err != NULL) {
		return err;
	}
	if (name_index(list, json_string_value(n)) >= 0) {
		json_decref(j);
		return ctl_answer(CTL_CONFLICT, NULL, "policy \"%s\" exists (use policy-update)",
				  json_string_value(n));
	}
	json_array_append(list, p);
	policy_event(ev, sizeof(ev), args, json_string_value(n));
	return apply_json(d, conn, j, "policy-add", "policy added", ev);
}

static json_t *cmd_policy_update(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *j, *list, *err;
	ssize_t idx;
	char ev[192];

	(void)conn;
	err = named_policy(d, args, &j, &list, &idx);
	if (err != NULL) {
		return err;
	}
	json_array_set(list, (size_t)idx, json_object_get(args, CTL_KEY_POLICY));
	policy_event(ev, sizeof(ev), args, json_string_value(json_object_get(args, CTL_KEY_NAME)));
	return apply_json(d, conn, j, "policy-update", "policy updated", ev);
}

static json_t *cmd_policy_del(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *j, *list, *err;
	ssize_t idx;
	char ev[192];

	(void)conn;
	err = named_policy(d, args, &j, &list, &idx);
	if (err != NULL) {
		return err;
	}
	json_array_remove(list, (size_t)idx);
	policy_event(ev, sizeof(ev), args, json_string_value(json_object_get(args, CTL_KEY_NAME)));
	return apply_json(d, conn, j, "policy-del", "policy deleted", ev);
}

struct porder {
	json_int_t order;
	size_t idx;
};

static int porder_cmp(const void *a, const void *b)
{
	const struct porder *x = a, *y = b;

	if (x->order != y->order) {
		return x->order < y->order ? -1 : 1;
	}
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Windows' Set-DhcpServerv4Policy -ProcessingOrder: the policy takes position ORDER (1 =
 * first; past the end = last) and every policy is renumbered 1..n in the new order. */
static json_t *cmd_policy_reorder(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_int_t want = json_integer_value(json_object_get(args, CTL_KEY_PROCESSING_ORDER));
	json_t *j, *list, *err;
	struct porder *v;
	ssize_t idx;
	size_t n, at = 0;
	char ev[192];

	(void)conn;
	if (want < 1) {
		return ctl_answer(CTL_ERROR, NULL, "arguments.processing-order: must be 1 or more");
	}
	err = named_policy(d, args, &j, &list, &idx);
	if (err != NULL) {
		return err;
	}
	n = json_array_size(list);
	v = calloc(n, sizeof(*v));
	if (v == NULL) {
		json_decref(j);
		return ctl_answer(CTL_ERROR, NULL, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object_get(json_array_get(list, i), "processing-order");

		v[i] = (struct porder){ json_is_integer(o) ? json_integer_value(o) :
					(json_int_t)i + 1, i };
	}
	qsort(v, n, sizeof(*v), porder_cmp);
	for (size_t i = 0; i < n; i++) {
		json_int_t pos;

		if (v[i].idx == (size_t)idx) {
			continue;
		}
		pos = (json_int_t)++at;
		if (pos >= want) {
			pos++;	/* the moved policy's place */
		}
		json_object_set_new(json_array_get(list, v[i].idx), "processing-order",
				    json_integer(pos));
	}
	json_object_set_new(json_array_get(list, (size_t)idx), "processing-order",
			    json_integer(want > (json_int_t)n ? (json_int_t)n : want));
	free(v);
	policy_event(ev, sizeof(ev), args, json_string_value(json_object_get(args, CTL_KEY_NAME)));
	return apply_json(d, conn, j, "policy-reorder", "policy reordered", ev);
}

/* server.mac-filter of the running configuration (created when absent). */
static json_t *mac_filter_of(json_t *j)
{
	json_t *server = json_object_get(j, "server"), *f;

	if (!json_is_object(server)) {
		server = json_object();
		json_object_set_new(j, "server", server);
	}
	f = json_object_get(server, "mac-filter");
	if (!json_is_object(f)) {
		json_object_set_new(server, "mac-filter", json_object());
		f = json_object_get(server, "mac-filter");
	}
	return f;
}

static json_t *cmd_mac_filter_get(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *j = running_json(d), *f = mac_filter_of(j), *a;

	(void)conn;
	(void)args;
	a = json_pack("{s:O,s:O}", "allow", list_of(f, "allow"), "deny", list_of(f, "deny"));
	json_decref(j);
	return ctl_answer(CTL_OK, a, "MAC filter");
}

static json_t *mac_filter_edit(struct cp_cmds *d, struct ctl_conn *conn, json_t *args, bool add)
{
	const char *which = json_string_value(json_object_get(args, CTL_KEY_LIST));
	const char *pat = json_string_value(json_object_get(args, CTL_KEY_PATTERN));
	json_t *j, *list, *e;
	char ev[192];
	size_t i;

	if (strcmp(which, "allow") != 0 && strcmp(which, "deny") != 0) {
		return ctl_answer(CTL_ERROR, NULL, "arguments.list: must be \"allow\" or \"deny\"");
	}
	j = running_json(d);
	list = list_of(mac_filter_of(j), which);
	json_array_foreach(list, i, e) {
		if (json_is_string(e) && strcasecmp(json_string_value(e), pat) == 0) {
			break;
		}
	}
	if (add && i < json_array_size(list)) {
		json_decref(j);
		return ctl_answer(CTL_CONFLICT, NULL, "%s is already in the %s list", pat, which);
	}
	if (!add && i == json_array_size(list)) {
		json_decref(j);
		return ctl_answer(CTL_EMPTY, NULL, "%s is not in the %s list", pat, which);
	}
	if (add) {
		json_array_append_new(list, json_string(pat));
	} else {
		json_array_remove(list, i);
	}
	snprintf(ev, sizeof(ev), "list=%s pattern=%s", which, pat);
	return apply_json(d, conn, j, add ? "mac-filter-add" : "mac-filter-del",
			  add ? "pattern added" : "pattern removed", ev);
}

static json_t *cmd_mac_filter_add(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	(void)conn;
	return mac_filter_edit(d, conn, args, true);
}

static json_t *cmd_mac_filter_del(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	(void)conn;
	return mac_filter_edit(d, conn, args, false);
}

/* --- superscopes (issue 14 item 3): Windows' Add/Get/Remove-DhcpServerv4Superscope ------- */

/* The superscope of @p list (the configuration's "superscopes") that lists scope @p scope, or
 * NULL. */
static json_t *superscope_with(json_t *list, const char *scope)
{
	size_t i, k;
	json_t *u, *m;

	json_array_foreach(list, i, u) {
		json_array_foreach(json_object_get(u, "scopes"), k, m) {
			if (json_is_string(m) && strcmp(json_string_value(m), scope) == 0) {
				return u;
			}
		}
	}
	return NULL;
}

static json_t *cmd_superscope_get(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	const char *name = json_string_value(json_object_get(args, CTL_KEY_NAME));
	json_t *j = running_json(d), *list = json_object_get(j, "superscopes"), *a;
	ssize_t idx;

	(void)conn;
	if (name != NULL) {
		idx = name_index(list, name);
		a = idx >= 0 ? json_incref(json_array_get(list, (size_t)idx)) : NULL;
		json_decref(j);
		if (a == NULL) {
			return ctl_answer(CTL_EMPTY, NULL, "no superscope \"%s\"", name);
		}
		return ctl_answer(CTL_OK, a, "superscope found");
	}
	a = json_is_array(list) ? json_incref(list) : json_array();
	json_decref(j);
	if (json_array_size(a) == 0) {
		json_decref(a);
		return ctl_answer(CTL_EMPTY, NULL, "no superscopes");
	}
	return ctl_answer(CTL_OK, a, "%zu superscopes", json_array_size(a));
}

/*
 * Add-DhcpServerv4Superscope: the scopes join superscope NAME, after its members, and NAME is
 * made when it does not exist. A scope that does not exist or is already in a superscope
 * (this one or another) refuses the whole command; what config.c checks besides (the name's
 * form, one failover relationship for all members) refuses it there, the running
 * configuration untouched either way.
 */
static json_t *cmd_superscope_add(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	const char *name = json_string_value(json_object_get(args, CTL_KEY_NAME));
	json_t *want = json_object_get(args, CTL_KEY_SCOPES), *j, *list, *u, *members, *e;
	bool made = false;
	ssize_t idx;
	char ev[192];
	size_t i;

	(void)conn;
	if (json_array_size(want) == 0) {
		return bad("arguments.scopes: must name at least one scope%s%s", "", "");
	}
	j = running_json(d);
	list = list_of(j, "superscopes");
	idx = name_index(list, name);
	if (idx < 0) {
		u = json_pack("{s:s,s:[]}", "name", name, "scopes");
		if (u == NULL || json_array_append_new(list, u) != 0) {
			json_decref(j);
			return ctl_answer(CTL_ERROR, NULL, "out of memory");
		}
		made = true;
	} else {
		u = json_array_get(list, (size_t)idx);
	}
	members = list_of(u, "scopes");
	json_array_foreach(want, i, e) {
		const char *sn = json_string_value(e);
		json_t *other = superscope_with(list, sn);
		ssize_t si;

		(void)scopes_of(j, sn, &si);
		if (si < 0) {
			json_decref(j);
			return ctl_answer(CTL_ERROR, NULL, "arguments.scopes[%zu]: no scope \"%s\"",
					  i, sn);
		}
		if (other != NULL) {
			json_t *a = ctl_answer(other == u ? CTL_CONFLICT : CTL_ERROR, NULL,
					       "arguments.scopes[%zu]: scope \"%s\" is already in "
					       "superscope \"%s\"%s", i, sn,
					       json_string_value(json_object_get(other, "name")),
					       other == u ? "" : " (a scope belongs to one superscope: "
					       "take it out there first)");

			json_decref(j);
			return a;
		}
		json_array_append(members, e);
	}
	snprintf(ev, sizeof(ev), "superscope=%s scopes=%zu", name, json_array_size(want));
	return apply_json(d, conn, j, "superscope-add", made ? "superscope added" :
			  "scopes added to the superscope", ev);
}

/*
 * Remove-DhcpServerv4Superscope: without scopes, the superscope goes; with them, only they
 * leave it (and it goes with its last member). The scopes themselves stay, each on its own.
 */
static json_t *cmd_superscope_del(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	const char *name = json_string_value(json_object_get(args, CTL_KEY_NAME));
	json_t *drop = json_object_get(args, CTL_KEY_SCOPES), *j, *list, *members, *e;
	const char *ok;
	ssize_t idx;
	char ev[192];
	size_t i;

	(void)conn;
	if (drop != NULL && json_array_size(drop) == 0) {
		return bad("arguments.scopes: must name at least one scope (or be left out to "
			   "delete the superscope)%s%s", "", "");
	}
	j = running_json(d);
	list = json_object_get(j, "superscopes");
	idx = name_index(list, name);
	if (idx < 0) {
		json_decref(j);
		return ctl_answer(CTL_EMPTY, NULL, "no superscope \"%s\"", name);
	}
	members = json_object_get(json_array_get(list, (size_t)idx), "scopes");
	json_array_foreach(drop, i, e) {
		size_t k;
		json_t *m;

		json_array_foreach(members, k, m) {
			if (json_equal(m, e)) {
				break;
			}
		}
		if (k == json_array_size(members)) {
			json_decref(j);
			return ctl_answer(CTL_EMPTY, NULL, "arguments.scopes[%zu]: scope \"%s\" is "
					  "not in superscope \"%s\"", i, json_string_value(e),
					  name);
		}
		json_array_remove(members, k);
	}
	ok = drop == NULL ? "superscope deleted" : json_array_size(members) == 0 ?
	     "scopes taken out; the superscope, left empty, deleted" :
	     "scopes taken out of the superscope";
	if (drop == NULL || json_array_size(members) == 0) {
		json_array_remove(list, (size_t)idx);	/* members goes with it */
	}
	snprintf(ev, sizeof(ev), "superscope=%s scopes=%zu", name,
		 drop != NULL ? json_array_size(drop) : (size_t)0);
	return apply_json(d, conn, j, "superscope-del", ok, ev);
}

/* The commands that change (or write, or send) the running configuration: while a change is
 * being built they wait for it (cp_cmd_dispatch()). */
static const bool changes_config[CTL_CMD__COUNT] = {
	[CTL_CMD_CONFIG_RELOAD] = true,
	[CTL_CMD_CONFIG_SET] = true,
	[CTL_CMD_CONFIG_WRITE] = true,
	[CTL_CMD_EXCLUSION_ADD] = true,
	[CTL_CMD_EXCLUSION_DEL] = true,
	[CTL_CMD_FAILOVER_ADD] = true,
	[CTL_CMD_FAILOVER_REMOVE] = true,
	[CTL_CMD_FAILOVER_REPLICATE] = true,
	[CTL_CMD_FAILOVER_SCOPE_ADD] = true,
	[CTL_CMD_FAILOVER_SCOPE_REMOVE] = true,
	[CTL_CMD_FAILOVER_SET] = true,
	[CTL_CMD_MAC_FILTER_ADD] = true,
	[CTL_CMD_MAC_FILTER_DEL] = true,
	[CTL_CMD_POLICY_ADD] = true,
	[CTL_CMD_POLICY_DEL] = true,
	[CTL_CMD_POLICY_REORDER] = true,
	[CTL_CMD_POLICY_UPDATE] = true,
	[CTL_CMD_RESERVATION_ADD] = true,
	[CTL_CMD_RESERVATION_DEL] = true,
	[CTL_CMD_SCOPE_ACTIVATE] = true,
	[CTL_CMD_SCOPE_ADD] = true,
	[CTL_CMD_SCOPE_DEACTIVATE] = true,
	[CTL_CMD_SCOPE_DEL] = true,
	[CTL_CMD_SCOPE_UPDATE] = true,
	[CTL_CMD_SUPERSCOPE_ADD] = true,
	[CTL_CMD_SUPERSCOPE_DEL] = true,
};

static const cmd_fn handlers[CTL_CMD__COUNT] = {
	[CTL_CMD_CONFIG_GET] = cmd_config_get,
	[CTL_CMD_CONFIG_RELOAD] = cmd_config_reload,
	[CTL_CMD_CONFIG_SET] = cmd_config_set,
	[CTL_CMD_CONFIG_TEST] = cmd_config_test,
	[CTL_CMD_CONFIG_WRITE] = cmd_config_write,
	[CTL_CMD_EXCLUSION_ADD] = cmd_exclusion_add,
	[CTL_CMD_EXCLUSION_DEL] = cmd_exclusion_del,
	[CTL_CMD_FAILOVER_ADD] = cmd_fo_add,
	[CTL_CMD_FAILOVER_GET] = cmd_fo_get,
	[CTL_CMD_FAILOVER_PARTNER_DOWN] = cmd_fo_partner_down,
	[CTL_CMD_FAILOVER_RECOVER] = cmd_fo_recover,
	[CTL_CMD_FAILOVER_REMOVE] = cmd_fo_remove,
	[CTL_CMD_FAILOVER_REPLICATE] = cmd_fo_replicate,
	[CTL_CMD_FAILOVER_RESYNC] = cmd_fo_resync,
	[CTL_CMD_FAILOVER_SCOPE_ADD] = cmd_fo_scope_add,
	[CTL_CMD_FAILOVER_SCOPE_REMOVE] = cmd_fo_scope_remove,
	[CTL_CMD_FAILOVER_SET] = cmd_fo_set,
	[CTL_CMD_FAILOVER_SHUTDOWN] = cmd_fo_shutdown,
	[CTL_CMD_FAILOVER_STATUS] = cmd_fo_status,
	[CTL_CMD_FAILOVER_SYNC_STATUS] = cmd_fo_sync_status,
	[CTL_CMD_LEASE4_ADD] = cmd_lease_add,
	[CTL_CMD_LEASE4_DEL] = cmd_lease_del,
	[CTL_CMD_LEASE4_GET] = cmd_lease_get,
	[CTL_CMD_LEASE4_GET_ALL] = cmd_lease_get_all,
	[CTL_CMD_LEASE4_GET_PAGE] = cmd_lease_get_page,
	[CTL_CMD_LEASE4_UPDATE] = cmd_lease_update,
	[CTL_CMD_LEASE4_WIPE] = cmd_lease_wipe,
	[CTL_CMD_LIST_COMMANDS] = cmd_list_commands,
	[CTL_CMD_MAC_FILTER_ADD] = cmd_mac_filter_add,
	[CTL_CMD_MAC_FILTER_DEL] = cmd_mac_filter_del,
	[CTL_CMD_MAC_FILTER_GET] = cmd_mac_filter_get,
	[CTL_CMD_POLICY_ADD] = cmd_policy_add,
	[CTL_CMD_POLICY_DEL] = cmd_policy_del,
	[CTL_CMD_POLICY_GET] = cmd_policy_get,
	[CTL_CMD_POLICY_LIST] = cmd_policy_list,
	[CTL_CMD_POLICY_REORDER] = cmd_policy_reorder,
	[CTL_CMD_POLICY_UPDATE] = cmd_policy_update,
	[CTL_CMD_RESERVATION_ADD] = cmd_reservation_add,
	[CTL_CMD_RESERVATION_DEL] = cmd_reservation_del,
	[CTL_CMD_RESERVATION_LIST] = cmd_reservation_list,
	[CTL_CMD_SCOPE_ACTIVATE] = cmd_scope_activate,
	[CTL_CMD_SCOPE_ADD] = cmd_scope_add,
	[CTL_CMD_SCOPE_DEACTIVATE] = cmd_scope_deactivate,
	[CTL_CMD_SCOPE_DEL] = cmd_scope_del,
	[CTL_CMD_SCOPE_GET] = cmd_scope_get,
	[CTL_CMD_SCOPE_LIST] = cmd_scope_list,
	[CTL_CMD_SCOPE_UPDATE] = cmd_scope_update,
	[CTL_CMD_SHUTDOWN] = cmd_shutdown,
	[CTL_CMD_STATISTIC_GET] = cmd_stat_get,
	[CTL_CMD_STATISTIC_GET_ALL] = cmd_stat_get_all,
	[CTL_CMD_STATISTIC_RESET] = cmd_stat_reset,
	[CTL_CMD_STATUS_GET] = cmd_status_get,
	[CTL_CMD_SUPERSCOPE_ADD] = cmd_superscope_add,
	[CTL_CMD_SUPERSCOPE_DEL] = cmd_superscope_del,
	[CTL_CMD_SUPERSCOPE_GET] = cmd_superscope_get,
	[CTL_CMD_VERSION_GET] = cmd_version_get,
};

static json_t *cmd_list_commands(struct cp_cmds *d, struct ctl_conn *conn, json_t *args)
{
	json_t *l = json_array();

	(void)d;
	(void)conn;
	(void)args;
	for (size_t i = 0; i < CTL_CMD__COUNT; i++) {
		if (handlers[i] != NULL) {
			json_array_append_new(l, json_string(ctl_proto_cmds[i].name));
		}
	}
	return ctl_answer(CTL_OK, l, "%zu commands", json_array_size(l));
}

struct cp_cmds *cp_cmds_new(const struct cp_cmds_env *env)
{
	struct cp_cmds *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		return NULL;
	}
	c->rt = env->rt;
	c->persist = env->persist;
	c->apply = env->apply;
	c->stats = env->stats;
	c->fo = env->fo;
	c->mgmt = env->mgmt;
	c->config_path = env->config_path;
	c->config_dir = env->config_dir;
	c->started = env->started;
	c->walk_slice = env->walk_slice ? env->walk_slice : WALK_SLICE;
	cp_leaseop_init(&c->lops, env->sink);
	return c;
}

void cp_cmds_free(struct cp_cmds *c)
{
	if (c == NULL) {
		return;
	}
	/* Workers have stopped: nothing will complete. Connections close with the server. */
	cp_leaseop_abort_all(&c->lops);
	if (c->apply != NULL) {
		cp_apply_abort(c->apply);	/* its command's answer says so */
	}
	while (c->parked != NULL) {
		struct parked *p = c->parked;

		c->parked = p->next;
		json_decref(p->args);
		free(p);
	}
	while (c->jobs != NULL) {
		struct walk_job *j = c->jobs;

		c->jobs = j->next;
		job_free(j);
	}
	free(c);
}

void cp_cmds_walk_counts(const struct cp_cmds *c, uint64_t *slices, uint64_t *qs)
{
	*slices = c->walk_slices;
	*qs = c->walk_qs;
}

bool cp_cmds_shutdown(const struct cp_cmds *c, int *exit_value)
{
	*exit_value = c->exit_value;
	return c->shutdown;
}

json_t *cp_cmd_dispatch(void *arg, struct ctl_conn *conn, json_t *req)
{
	struct cp_cmds *d = arg;
	const char *name = json_string_value(json_object_get(req, "command"));
	const struct ctl_proto_cmd *pc = ctl_proto_find(name);
	json_t *args = json_object_get(req, "arguments");
	char msg[256];

	if (pc == NULL || handlers[ctl_proto_id(pc)] == NULL) {
		return ctl_answer(CTL_UNSUPPORTED, NULL, "unsupported command \"%s\"", name);
	}
	if (ctl_proto_check(pc, args, msg, sizeof(msg)) != 0) {
		return ctl_answer(CTL_ERROR, NULL, "%s", msg);
	}
	if (changes_config[ctl_proto_id(pc)] && (apply_busy(d) || d->parked != NULL)) {
		struct parked *p = calloc(1, sizeof(*p));

		if (p == NULL) {
			return ctl_answer(CTL_ERROR, NULL, "out of memory");
		}
		*p = (struct parked){.conn = conn, .id = ctl_proto_id(pc),
				     .args = json_incref(args)};
		if (d->parked == NULL) {
			d->parked_tail = &d->parked;
		}
		*d->parked_tail = p;
		d->parked_tail = &p->next;
		return NULL;	/* answered by parked_progress() */
	}
	return handlers[ctl_proto_id(pc)](d, conn, args);
}

/* The commands parked while a change was being built, in order, until one of them starts
 * a change that is built over several turns in its turn. */
static void parked_progress(struct cp_cmds *d)
{
	while (d->parked != NULL && !apply_busy(d)) {
		struct parked *p = d->parked;
		json_t *a;

		d->parked = p->next;
		if (ctl_conn_gone(p->conn)) {
			ctl_conn_answer(p->conn, NULL);	/* the client left: frees it */
		} else {
			a = handlers[p->id](d, p->conn, p->args);
			if (a != NULL) {
				ctl_conn_answer(p->conn, a);
			}
		}
		json_decref(p->args);
		free(p);
	}
}
