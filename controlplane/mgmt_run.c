/*
 * mgmt_run.c: the management channel at run time (contract and behaviour in mgmt_run.h).
 *
 * The running configuration is read from rt->snap->cfg, which only this thread replaces, so
 * the partner list, the relationships and the scopes are always the current ones: a change
 * of server.management.partners applies at once, and a queued entry is sent with the
 * scope's settings as they are when it leaves, never an older copy.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply.h"
#include "config.h"
#include "fmt.h"
#include "log.h"
#include "mgmt_link.h"
#include "mgmt_ops.h"
#include "mgmt_proto.h"
#include "mgmt_queue.h"
#include "mgmt_run.h"
#include "worker.h"

#define RETRY_MIN_MS	1000
#define RETRY_MAX_MS	10000

enum inflight { IF_NONE, IF_ENTRY, IF_DIGEST, IF_CREATE };

/* What we know of one management partner, by address. */
struct peer {
	uint32_t addr;
	enum inflight what;
	uint64_t seq;			/* IF_ENTRY: the queue entry */
	char scope[DP_NAME_MAX];	/* IF_ENTRY, IF_DIGEST */
	uint64_t retry_at;		/* monotonic ms: nothing is sent before */
	uint32_t backoff;		/* ms */
	bool checked;			/* digests compared since it was last reached */
	uint32_t check_next;		/* the next shared scope to compare (an index in order) */
	uint64_t recheck_at;		/* monotonic ms */
	bool down_logged;
	char op[24];			/* IF_ENTRY: its op and relationship */
	char rel[DP_NAME_MAX];
	cp_mgmt_done_fn done;		/* IF_CREATE: whom to tell */
	void *done_arg;
};

/* The digest of a shared scope as last seen here: a change is what makes it differ. */
struct seen {
	char scope[DP_NAME_MAX];
	char digest[MGMT_DIGEST_HEX];
};

struct cp_mgmt {
	struct dp_runtime *rt;
	struct cp_apply *apply;
	struct mgmt_queue *q;
	struct mgmt_link *link;
	struct peer peers[DP_MAX_RELATIONSHIPS];
	uint32_t n_peers;
	struct seen *seen;
	size_t n_seen;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const struct dp_config *running(const struct cp_mgmt *m)
{
	return m->rt->snap->cfg;
}

static const struct dp_mgmt_partner *partner_of(const struct dp_config *c, uint32_t addr)
{
	for (uint32_t i = 0; i < c->n_mgmt_partners; i++) {
		if (c->mgmt_partners[i].addr == addr) {
			return &c->mgmt_partners[i];
		}
	}
	return NULL;
}

static struct peer *peer_get(struct cp_mgmt *m, uint32_t addr)
{
	for (uint32_t i = 0; i < m->n_peers; i++) {
		if (m->peers[i].addr == addr) {
			return &m->peers[i];
		}
	}
	if (m->n_peers == DP_MAX_RELATIONSHIPS) {
		return NULL;
	}
	struct peer *p = &m->peers[m->n_peers++];

	memset(p, 0, sizeof(*p));
	p->addr = addr;
	return p;
}

static const struct dp_relationship *rel_by_name(const struct dp_config *c, const char *name)
{
	for (uint32_t i = 0; i < c->n_relationships; i++) {
		if (strcmp(c->relationships[i].name, name) == 0) {
			return &c->relationships[i];
		}
	}
	return NULL;
}

/* The relationship scope @p name is in, or NULL. */
static const struct dp_relationship *rel_of_scope(const struct dp_config *c, const char *name)
{
	for (uint32_t i = 0; i < c->n_relationships; i++) {
		const struct dp_relationship *r = &c->relationships[i];

		for (uint32_t j = 0; j < r->n_scopes; j++) {
			if (strcmp(c->scopes[r->scopes[j]].name, name) == 0) {
				return r;
			}
		}
	}
	return NULL;
}

static const char *secret_cb(void *arg, uint32_t addr)
{
	const struct dp_mgmt_partner *p = partner_of(running(arg), addr);

	return p != NULL ? p->secret : NULL;
}

/* --- responder ----------------------------------------------------------------------- */

static json_t *refusal(const char *why)
{
	return json_pack("{s:b,s:s}", "ok", 0, "error", why);
}

/* Make @p j (consumed) the running configuration. @return 0 or -1 with @p err. */
static int apply_doc(struct cp_mgmt *m, json_t *j, const char *source, char *err, size_t errlen)
{
	char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	struct dp_config *cfg;
	int rc;

	json_decref(j);
	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	cfg = cp_config_parse(text, err, errlen);
	free(text);
	if (cfg == NULL) {
		return -1;
	}
	rc = cp_apply_config(m->apply, cfg, source, err, errlen);
	if (rc < 0) {
		return -1;
	}
	if (rc == CP_APPLIED_NOT_SAVED) {
		cp_log(CP_LOG_WARN, "event=%s applied but not saved: %s", source, err);
	}
	return 0;
}

static void seen_refresh(struct cp_mgmt *m, bool push, const char *source);
static bool rel_has(const struct dp_config *c, const struct dp_relationship *r,
		    const char *name);

/* The source a partner's request is applied and audited as (fo_audit's "by="). */
static const char *source_of(const char *op)
{
	return strcmp(op, "replicate-scope") == 0 || strcmp(op, "create-relationship") == 0 ?
	       "mgmt-replicate" : "mgmt-partner";
}

static json_t *request_cb(void *arg, uint32_t from, const json_t *req)
{
	struct cp_mgmt *m = arg;
	const char *op = json_string_value(json_object_get(req, "op"));
	json_t *cur, *next = NULL, *ans;
	char err[512], hex[MGMT_DIGEST_HEX], peer[16];
	const char *scope = NULL;
	json_t *deleted = NULL;
	bool was_shared = false;	/* scope-remove: the scope is in the relationship now */

	/* The partner waits for the answer: a local change whose pools are being built is
	 * carried to its end in this turn, so that the request is decided on the final
	 * configuration (the whole rebuild in one turn: a partner's requests are rare). */
	if (m->apply != NULL) {
		cp_apply_settle(m->apply);
	}
	cur = cp_config_to_json(running(m));
	snprintf(peer, sizeof(peer), "%s", lw_ip4_fmt(from).s);
	if (cur == NULL) {
		return NULL;
	}
	if (strcmp(op, "scope-digest") == 0) {
		const struct dp_relationship *r;

		scope = json_string_value(json_object_get(req, "scope"));
		r = rel_of_scope(running(m), scope);
		/* Only a scope shared with the asker: the digest of any other would tell it what
		 * this server serves and, by trying settings, how. One answer for "none" and "not
		 * yours", so that it does not learn which scopes exist either. */
		snprintf(err, sizeof(err), "no scope \"%.64s\" shared with %s on the partner",
			 scope, peer);
		ans = r != NULL && r->partner_addr == from &&
		      mgmt_scope_digest(cur, scope, hex) == 0 ?
		      json_pack("{s:b,s:s}", "ok", 1, "digest", hex) : refusal(err);
		json_decref(cur);
		return ans;
	}
	if (strcmp(op, "replicate-scope") == 0) {
		scope = json_string_value(json_object_get(json_object_get(req, "scope"), "name"));
		next = mgmt_apply_replicate(cur, json_object_get(req, "scope"), from, err,
					    sizeof(err));
	} else if (strcmp(op, "set-relationship") == 0) {
		next = mgmt_apply_set(cur, req, from, err, sizeof(err));
	} else if (strcmp(op, "delete-relationship") == 0) {
		next = mgmt_apply_delete(cur, req, from, &deleted, err, sizeof(err));
	} else if (strcmp(op, "scope-add") == 0) {
		next = mgmt_apply_scope_add(cur, req, from, err, sizeof(err));
	} else if (strcmp(op, "scope-remove") == 0) {
		const struct dp_relationship *r =
			rel_by_name(running(m), json_string_value(json_object_get(req, "name")));

		was_shared = r != NULL && r->partner_addr == from &&
			     rel_has(running(m), r, json_string_value(json_object_get(req,
											"scope")));
		next = mgmt_apply_scope_remove(cur, req, from, err, sizeof(err));
	} else {
		next = mgmt_apply_create(cur, req, from, err, sizeof(err));
	}
	json_decref(cur);
	if (next == NULL || apply_doc(m, next, source_of(op), err, sizeof(err)) != 0) {
		char esc[CP_LOG_ESC_SIZE(200)];

		json_decref(deleted);
		cp_log(CP_LOG_WARN, "event=mgmt-request-refused peer=%s op=%s reason=\"%s\"", peer,
		       op, cp_log_esc(esc, sizeof(esc), err, 200));
		return refusal(err);
	}
	cp_log(CP_LOG_INFO, "event=mgmt-applied peer=%s op=%s", peer, op);
	/* Only a scope this request took out of the relationship goes: never one the partner
	 * did not share (a scope of this server alone), nor one delivered twice. */
	if (strcmp(op, "scope-remove") == 0 && deleted == NULL && was_shared) {
		deleted = json_pack("[s]", json_string_value(json_object_get(req, "scope")));
	}
	if (deleted != NULL) {
		/* Second step: the scopes, now unshared, go from this server (as Windows). */
		cur = cp_config_to_json(running(m));
		next = cur != NULL ? mgmt_drop_scopes(cur, deleted, err, sizeof(err)) : NULL;
		json_decref(cur);
		if (next == NULL || apply_doc(m, next, source_of(op), err, sizeof(err)) != 0) {
			char esc[CP_LOG_ESC_SIZE(200)];

			cp_log(CP_LOG_WARN, "event=mgmt-scope-kept peer=%s op=%s reason=\"%s\" (the "
			       "scopes stay here, unshared)", peer, op,
			       cp_log_esc(esc, sizeof(esc), err, 200));
		}
	}
	/* What the partner sent is what we hold now: no echo back to it, and no drift. */
	seen_refresh(m, false, NULL);
	if (scope != NULL && mgmt_queue_status(m->q, scope, NULL) == MGMT_SYNC_DRIFT &&
	    mgmt_queue_set_status(m->q, scope, MGMT_SYNC_IN_SYNC, NULL) != 0) {
		cp_log(CP_LOG_ERR, "mgmt: cannot save the sync status of %s", scope);
	}
	cur = cp_config_to_json(running(m));
	ans = json_pack("{s:b}", "ok", 1);
	if (scope != NULL && cur != NULL && ans != NULL &&
	    mgmt_scope_digest(cur, scope, hex) == 0) {
		json_object_set_new(ans, "digest", json_string(hex));
	}
	if (deleted != NULL && ans != NULL && strcmp(op, "delete-relationship") == 0) {
		json_object_set_new(ans, "scopes", deleted);
	} else {
		json_decref(deleted);
	}
	json_decref(cur);
	return ans;
}

/* --- sender -------------------------------------------------------------------------- */

/* Our digest of @p scope now ("" when it is gone). */
static void local_digest(const struct cp_mgmt *m, const char *scope, char hex[MGMT_DIGEST_HEX])
{
	json_t *cur = cp_config_to_json(running(m));

	if (cur == NULL || mgmt_scope_digest(cur, scope, hex) != 0) {
		hex[0] = '\0';
	}
	json_decref(cur);
}

static void compare_digest(struct cp_mgmt *m, const char *scope, const char *theirs)
{
	char ours[MGMT_DIGEST_HEX], why[200];

	if (mgmt_queue_status(m->q, scope, NULL) == MGMT_SYNC_PENDING) {
		return;		/* a change is on its way: a difference is expected */
	}
	local_digest(m, scope, ours);
	if (theirs != NULL && strcmp(ours, theirs) == 0) {
		if (mgmt_queue_status(m->q, scope, NULL) != MGMT_SYNC_IN_SYNC &&
		    mgmt_queue_set_status(m->q, scope, MGMT_SYNC_IN_SYNC, NULL) != 0) {
			cp_log(CP_LOG_ERR, "mgmt: cannot save the sync status of %s", scope);
		}
		return;
	}
	if (theirs == NULL) {
		snprintf(why, sizeof(why), "the partner has no scope %s", scope);
	} else {
		snprintf(why, sizeof(why), "settings differ: digest %.12s here, %.12s on the "
			 "partner", ours, theirs);
	}
	if (mgmt_queue_status(m->q, scope, NULL) != MGMT_SYNC_DRIFT) {
		cp_log(CP_LOG_WARN, "event=mgmt-drift scope=%s reason=\"%s\"", scope, why);
	}
	if (mgmt_queue_set_status(m->q, scope, MGMT_SYNC_DRIFT, why) != 0) {
		cp_log(CP_LOG_ERR, "mgmt: cannot save the sync status of %s", scope);
	}
}

/* The create of @p rel towards @p addr is settled: its intent (the delete-relationship queued
 * before the request left, cp_mgmt_create()) goes. */
static void intent_drop(struct cp_mgmt *m, const char *rel, uint32_t addr)
{
	struct mgmt_qentry e;

	for (size_t i = 0; mgmt_queue_at(m->q, i, &e) == 0; i++) {
		if (strcmp(e.op, "delete-relationship") == 0 && e.partner == addr &&
		    strcmp(e.relationship, rel) == 0) {
			if (mgmt_queue_ack(m->q, e.seq) != 0) {
				cp_log(CP_LOG_ERR, "mgmt: cannot update the queue: the partner %s "
				       "will be told to delete relationship %s", lw_ip4_fmt(addr).s,
				       rel);
			}
			return;
		}
	}
}

static void answer_cb(void *arg, uint32_t addr, const json_t *ans, bool sent, const char *err)
{
	struct cp_mgmt *m = arg;
	struct peer *p = peer_get(m, addr);
	enum inflight what;

	if (p == NULL) {
		return;
	}
	what = p->what;
	p->what = IF_NONE;
	if (what == IF_CREATE) {
		bool ok = ans != NULL && json_is_true(json_object_get(ans, "ok"));
		const char *why = ans == NULL ? err : json_string_value(json_object_get(ans,
											"error"));
		cp_mgmt_done_fn done = p->done;
		char msg[512];
		int undo = 0;

		p->done = NULL;
		if (!ok && !(ans == NULL && sent)) {
			/* Refused, or never sent: the partner holds nothing. */
			intent_drop(m, p->rel, addr);
		}
		if (ans == NULL && sent) {
			/* It may have made it: undo it there, in order with what follows. */
			char qerr[256];
			int q = cp_mgmt_queue_change(m, p->rel, NULL, "delete-relationship", addr,
						     qerr, sizeof(qerr));

			undo = q > 0 ? 1 : -1;
			snprintf(msg, sizeof(msg), "%s%s%s", why != NULL ? why : "no answer",
				 q > 0 ? "" : ": ", q > 0 ? "" : q < 0 ? qerr :
				 "the partner is no longer a management partner");
			why = msg;
			cp_log(CP_LOG_WARN, "event=mgmt-create-unanswered peer=%s relationship=%s "
			       "undo=%s", lw_ip4_fmt(addr).s, p->rel, q > 0 ? "queued" : "failed");
		}
		done(p->done_arg, ok, undo, ok ? NULL : why != NULL ? why : "no reason given");
		if (ok) {
			/* done() made it here too, or could not: then the intent is the undo
			 * (fo_add_local()'s delete-relationship coalesces with it). */
			const struct dp_relationship *r = rel_by_name(running(m), p->rel);

			if (r != NULL && r->partner_addr == addr) {
				intent_drop(m, p->rel, addr);
			}
		}
		return;
	}
	if (ans == NULL) {
		/* Not delivered: keep the entry, compare again once reached. */
		if (!p->down_logged) {
			char esc[CP_LOG_ESC_SIZE(200)];

			cp_log(CP_LOG_WARN, "event=mgmt-unreachable peer=%s reason=\"%s\" (retrying)",
			       lw_ip4_fmt(addr).s, cp_log_esc(esc, sizeof(esc), err, 200));
			p->down_logged = true;
		}
		p->backoff = p->backoff == 0 ? RETRY_MIN_MS :
			     p->backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : p->backoff * 2;
		p->retry_at = mono_ms() + p->backoff;
		p->checked = false;
		p->check_next = 0;
		return;
	}
	if (p->down_logged) {
		cp_log(CP_LOG_INFO, "event=mgmt-reachable peer=%s", lw_ip4_fmt(addr).s);
	}
	p->down_logged = false;
	p->backoff = 0;
	bool ok = json_is_true(json_object_get(ans, "ok"));
	const char *why = json_string_value(json_object_get(ans, "error"));
	const char *digest = json_string_value(json_object_get(ans, "digest"));

	if (what == IF_DIGEST) {
		compare_digest(m, p->scope, ok ? digest : NULL);
		p->check_next++;
		return;
	}
	if (what != IF_ENTRY) {
		return;
	}
	if (mgmt_queue_ack(m->q, p->seq) != 0) {
		cp_log(CP_LOG_ERR, "mgmt: cannot remove entry %llu from the queue",
		       (unsigned long long)p->seq);
	}
	if (strcmp(p->op, "replicate-scope") != 0) {
		/* A relationship change (set, delete, scope add/remove): logged; a scope's sync
		 * status follows its settings (replicate-scope and digests) only. */
		char esc[CP_LOG_ESC_SIZE(300)];

		if (ok) {
			cp_log(CP_LOG_INFO, "event=mgmt-delivered peer=%s op=%s relationship=%s%s%s",
			       lw_ip4_fmt(addr).s, p->op, p->rel,
			       strcmp(p->scope, MGMT_QUEUE_REL) != 0 ? " scope=" : "",
			       strcmp(p->scope, MGMT_QUEUE_REL) != 0 ? p->scope : "");
		} else {
			cp_log(CP_LOG_WARN, "event=mgmt-change-refused peer=%s op=%s relationship=%s "
			       "reason=\"%s\"", lw_ip4_fmt(addr).s, p->op, p->rel,
			       cp_log_esc(esc, sizeof(esc), why != NULL ? why : "no reason given",
					  300));
		}
		return;
	}
	if (!ok) {
		char esc[CP_LOG_ESC_SIZE(300)];

		cp_log_esc(esc, sizeof(esc), why != NULL ? why : "no reason given", 300);
		cp_log(CP_LOG_WARN, "event=mgmt-replicate-refused peer=%s scope=%s reason=\"%s\"",
		       lw_ip4_fmt(addr).s, p->scope, esc);
		if (mgmt_queue_set_status(m->q, p->scope, MGMT_SYNC_ERROR, esc) != 0) {
			cp_log(CP_LOG_ERR, "mgmt: cannot save the sync status of %s", p->scope);
		}
		return;
	}
	cp_log(CP_LOG_INFO, "event=mgmt-replicated peer=%s scope=%s", lw_ip4_fmt(addr).s,
	       p->scope);
	if (mgmt_queue_status(m->q, p->scope, NULL) == MGMT_SYNC_ERROR &&
	    mgmt_queue_set_status(m->q, p->scope, MGMT_SYNC_IN_SYNC, NULL) != 0) {
		cp_log(CP_LOG_ERR, "mgmt: cannot save the sync status of %s", p->scope);
	}
	compare_digest(m, p->scope, digest);
}

/* Whether scope @p name is in relationship @p r. */
static bool rel_has(const struct dp_config *c, const struct dp_relationship *r, const char *name)
{
	for (uint32_t j = 0; j < r->n_scopes; j++) {
		if (strcmp(c->scopes[r->scopes[j]].name, name) == 0) {
			return true;
		}
	}
	return false;
}

/* The request for queue entry @p e as the running configuration @p c says it now, or NULL
 * when the entry has nothing left to say (the change was undone or overtaken here). */
static json_t *entry_request(const struct dp_config *c, const struct mgmt_qentry *e)
{
	const struct dp_relationship *r = rel_by_name(c, e->relationship);
	json_t *cur, *req = NULL;

	if (strcmp(e->op, "delete-relationship") == 0) {
		/* Still here with that partner: the local delete failed, or it was made again. */
		if (r != NULL && r->partner_addr == e->partner) {
			return NULL;
		}
		return json_pack("{s:s}", "name", e->relationship);
	}
	if (r == NULL) {
		return NULL;
	}
	if (strcmp(e->op, "scope-remove") == 0) {
		/* Back in the relationship since: nothing to remove there. */
		return rel_has(c, r, e->scope) ? NULL :
		       json_pack("{s:s,s:s}", "name", r->name, "scope", e->scope);
	}
	if ((strcmp(e->op, "scope-add") == 0 || strcmp(e->op, "replicate-scope") == 0) &&
	    !rel_has(c, r, e->scope)) {
		return NULL;	/* no longer shared */
	}
	cur = cp_config_to_json(c);
	if (cur == NULL) {
		return NULL;
	}
	if (strcmp(e->op, "create-relationship") == 0) {
		req = mgmt_create_body(cur, r->name);
	} else if (strcmp(e->op, "set-relationship") == 0) {
		json_t *rel = NULL, *v;
		size_t i;

		json_array_foreach(json_object_get(cur, "relationships"), i, v) {
			if (strcmp(json_string_value(json_object_get(v, "name")), r->name) == 0) {
				rel = v;
			}
		}
		req = rel != NULL ? json_pack("{s:O}", "relationship", rel) : NULL;
	} else {
		json_t *s = mgmt_scope_settings(cur, e->scope);

		if (s == NULL) {
			req = NULL;
		} else if (strcmp(e->op, "scope-add") == 0) {
			req = json_pack("{s:s,s:o}", "name", r->name, "scope", s);
		} else {
			req = json_pack("{s:o}", "scope", s);
		}
	}
	json_decref(cur);
	return req;
}

/* Send the oldest queued entry for @p p. @return true when something was sent. */
static bool send_entry(struct cp_mgmt *m, struct peer *p, const struct dp_mgmt_partner *mp)
{
	const struct dp_config *c = running(m);
	struct mgmt_qentry e;

	for (size_t i = 0; mgmt_queue_at(m->q, i, &e) == 0; i++) {
		const struct dp_relationship *r = rel_by_name(c, e.relationship);
		uint32_t to = e.partner != 0 ? e.partner : r != NULL ? r->partner_addr : 0;
		json_t *req;

		if (to != 0 && to != p->addr) {
			continue;
		}
		req = to != 0 ? entry_request(c, &e) : NULL;
		if (req == NULL) {
			/* Gone, or undone here since: nothing to say. */
			cp_log(CP_LOG_INFO, "mgmt: dropping queued %s of %s/%s (no longer so here)",
			       e.op, e.relationship, e.scope);
			if (mgmt_queue_ack(m->q, e.seq) != 0) {
				cp_log(CP_LOG_ERR, "mgmt: cannot update the queue");
			}
			return false;
		}
		json_object_set_new(req, "op", json_string(e.op));
		p->what = IF_ENTRY;
		p->seq = e.seq;
		snprintf(p->scope, sizeof(p->scope), "%s", e.scope);
		snprintf(p->op, sizeof(p->op), "%s", e.op);
		snprintf(p->rel, sizeof(p->rel), "%s", e.relationship);
		if (mgmt_link_send(m->link, p->addr, (uint16_t)mp->port, req) != 0) {
			p->what = IF_NONE;
			p->retry_at = mono_ms() + RETRY_MIN_MS;
		}
		return true;
	}
	return false;
}

/* Send the next digest comparison of @p p's shared scopes. */
static void send_check(struct cp_mgmt *m, struct peer *p, const struct dp_mgmt_partner *mp)
{
	const struct dp_config *c = running(m);
	uint32_t k = 0;

	for (uint32_t i = 0; i < c->n_relationships; i++) {
		const struct dp_relationship *r = &c->relationships[i];

		if (r->partner_addr != p->addr) {
			continue;
		}
		for (uint32_t j = 0; j < r->n_scopes; j++, k++) {
			if (k != p->check_next) {
				continue;
			}
			const char *name = c->scopes[r->scopes[j]].name;
			json_t *req = json_pack("{s:s,s:s}", "op", "scope-digest", "scope", name);

			p->what = IF_DIGEST;
			snprintf(p->scope, sizeof(p->scope), "%s", name);
			if (req == NULL ||
			    mgmt_link_send(m->link, p->addr, (uint16_t)mp->port, req) != 0) {
				p->what = IF_NONE;
				p->retry_at = mono_ms() + RETRY_MIN_MS;
			}
			return;
		}
	}
	p->checked = true;
	p->recheck_at = mono_ms() + MGMT_RECHECK_S * 1000u;
}

void cp_mgmt_poll(struct cp_mgmt *m)
{
	const struct dp_config *c;
	uint64_t now;

	if (m == NULL || m->link == NULL) {
		return;
	}
	mgmt_link_poll(m->link);
	c = running(m);
	now = mono_ms();
	for (uint32_t i = 0; i < c->n_mgmt_partners; i++) {
		const struct dp_mgmt_partner *mp = &c->mgmt_partners[i];
		struct peer *p = peer_get(m, mp->addr);

		if (p == NULL || p->what != IF_NONE || now < p->retry_at ||
		    mgmt_link_busy(m->link, mp->addr)) {
			continue;
		}
		if (send_entry(m, p, mp)) {
			continue;
		}
		if (p->checked && now >= p->recheck_at) {
			p->checked = false;
			p->check_next = 0;
		}
		if (!p->checked) {
			send_check(m, p, mp);
		}
	}
}

/* --- changes made here ---------------------------------------------------------------- */

/* Recompute the digests of every scope shared with a management partner; with @p push,
 * queue those that changed. */
static void seen_refresh(struct cp_mgmt *m, bool push, const char *source)
{
	const struct dp_config *c = running(m);
	json_t *cur = cp_config_to_json(c);
	struct seen *nv;
	size_t n = 0, cap = 0;

	for (uint32_t i = 0; i < c->n_relationships; i++) {
		cap += c->relationships[i].n_scopes;
	}
	nv = calloc(cap ? cap : 1, sizeof(*nv));
	if (cur == NULL || nv == NULL) {
		cp_log(CP_LOG_ERR, "mgmt: out of memory: changes not queued");
		json_decref(cur);
		free(nv);
		return;
	}
	for (uint32_t i = 0; i < c->n_relationships; i++) {
		const struct dp_relationship *r = &c->relationships[i];
		bool managed = partner_of(c, r->partner_addr) != NULL;

		for (uint32_t j = 0; j < r->n_scopes; j++) {
			struct seen *s = &nv[n++];
			const struct seen *old = NULL;

			snprintf(s->scope, sizeof(s->scope), "%s", c->scopes[r->scopes[j]].name);
			if (mgmt_scope_digest(cur, s->scope, s->digest) != 0) {
				s->digest[0] = '\0';
			}
			for (size_t k = 0; k < m->n_seen; k++) {
				if (strcmp(m->seen[k].scope, s->scope) == 0) {
					old = &m->seen[k];
				}
			}
			if (!push || !managed || (old != NULL &&
						  strcmp(old->digest, s->digest) == 0)) {
				continue;
			}
			int rc = mgmt_queue_push(m->q, r->name, s->scope, "replicate-scope", NULL);

			if (rc != 0) {
				cp_log(CP_LOG_ERR, "mgmt: cannot queue scope %s for %s: %s", s->scope,
				       lw_ip4_fmt(r->partner_addr).s, strerror(-rc));
			} else {
				cp_log(CP_LOG_INFO, "event=mgmt-queued scope=%s relationship=%s by=%s",
				       s->scope, r->name, source);
			}
		}
	}
	json_decref(cur);
	free(m->seen);
	m->seen = nv;
	m->n_seen = n;
}

void cp_mgmt_config_changed(struct cp_mgmt *m, const char *source)
{
	if (m != NULL) {
		seen_refresh(m, true, source);
	}
}

/* --- commands ------------------------------------------------------------------------- */

/* Whether an entry for partner @p addr is queued. */
static bool queued_for(const struct cp_mgmt *m, uint32_t addr)
{
	const struct dp_config *c = running(m);
	struct mgmt_qentry e;

	for (size_t i = 0; mgmt_queue_at(m->q, i, &e) == 0; i++) {
		const struct dp_relationship *r = rel_by_name(c, e.relationship);

		if ((e.partner != 0 ? e.partner : r != NULL ? r->partner_addr : 0) == addr) {
			return true;
		}
	}
	return false;
}

int cp_mgmt_queue_change(struct cp_mgmt *m, const char *rel, const char *scope, const char *op,
			 uint32_t partner, char *err, size_t errlen)
{
	int rc;

	if (!cp_mgmt_managed(m, partner)) {
		return 0;	/* an ISC partner, or the channel off: this server only */
	}
	rc = mgmt_queue_push_to(m->q, rel, scope != NULL ? scope : MGMT_QUEUE_REL, op,
				strcmp(op, "delete-relationship") == 0 ? partner : 0, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot queue %s of %s for the partner %s: %s", op, rel,
			 lw_ip4_fmt(partner).s, strerror(-rc));
		return -1;
	}
	cp_log(CP_LOG_INFO, "event=mgmt-queued op=%s relationship=%s%s%s partner=%s", op, rel,
	       scope != NULL ? " scope=" : "", scope != NULL ? scope : "",
	       lw_ip4_fmt(partner).s);
	return 1;
}

bool cp_mgmt_managed(const struct cp_mgmt *m, uint32_t addr)
{
	return m != NULL && m->link != NULL && partner_of(running(m), addr) != NULL;
}

int cp_mgmt_create(struct cp_mgmt *m, uint32_t addr, const json_t *doc, const char *rel,
		   cp_mgmt_done_fn done, void *arg, char *err, size_t errlen)
{
	const struct dp_mgmt_partner *mp = partner_of(running(m), addr);
	struct peer *p = peer_get(m, addr);
	json_t *req;
	int rc;

	if (m->link == NULL || mp == NULL || p == NULL) {
		snprintf(err, errlen, "the partner %s is not a management partner",
			 lw_ip4_fmt(addr).s);
		return -1;
	}
	if (p->what != IF_NONE || mgmt_link_busy(m->link, addr)) {
		snprintf(err, errlen, "a management request to %s is in flight: try again in a "
			 "moment", lw_ip4_fmt(addr).s);
		return -1;
	}
	if (queued_for(m, addr)) {
		/* A delete of a relationship of the same name may be among them: order first. */
		snprintf(err, errlen, "changes for %s are still queued (failover-sync-status): "
			 "try again once they are delivered", lw_ip4_fmt(addr).s);
		return -1;
	}
	req = mgmt_create_body(doc, rel);
	if (req == NULL || json_object_set_new(req, "op",
					       json_string("create-relationship")) != 0) {
		json_decref(req);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/*
	 * The intent, durable before the request leaves: a delete-relationship of @p rel for the
	 * partner, dropped once the create is settled (refused, or made here too). Should this
	 * server die between the partner's "ok" and its own apply, it restarts without the
	 * relationship and with this entry, which tells the partner to delete what it made
	 * (entry_request() drops it instead if the relationship is here by then).
	 */
	rc = mgmt_queue_push_to(m->q, rel, MGMT_QUEUE_REL, "delete-relationship", addr, NULL);
	if (rc != 0) {
		json_decref(req);
		snprintf(err, errlen, "cannot record the request in the management queue: %s "
			 "(nothing sent)", strerror(-rc));
		return -1;
	}
	p->what = IF_CREATE;
	p->done = done;
	p->done_arg = arg;
	p->scope[0] = '\0';
	snprintf(p->rel, sizeof(p->rel), "%s", rel);
	rc = mgmt_link_send(m->link, addr, (uint16_t)mp->port, req);
	if (rc != 0) {
		p->what = IF_NONE;
		p->done = NULL;
		intent_drop(m, rel, addr);
		snprintf(err, errlen, "cannot reach the partner %s: %s", lw_ip4_fmt(addr).s,
			 strerror(-rc));
		return -1;
	}
	return 0;
}

static int push_rel(struct cp_mgmt *m, const struct dp_config *c,
		    const struct dp_relationship *r, const char *only, json_t *out, char *err,
		    size_t errlen)
{
	if (m->link == NULL || partner_of(c, r->partner_addr) == NULL) {
		snprintf(err, errlen, "relationship %s: the partner %s cannot receive configuration "
			 "(not a leasewire management partner of this server: an ISC server, or "
			 "server.management does not list it)", r->name,
			 lw_ip4_fmt(r->partner_addr).s);
		return -1;
	}
	for (uint32_t j = 0; j < r->n_scopes; j++) {
		const char *name = c->scopes[r->scopes[j]].name;
		int rc;

		if (only != NULL && strcmp(only, name) != 0) {
			continue;
		}
		rc = mgmt_queue_push(m->q, r->name, name, "replicate-scope", NULL);
		if (rc != 0) {
			snprintf(err, errlen, "cannot queue scope %s: %s", name, strerror(-rc));
			return -1;
		}
		json_array_append_new(out, json_string(name));
	}
	return 0;
}

int cp_mgmt_replicate(struct cp_mgmt *m, bool all, const char *rel, const char *scope,
		      json_t **queued, char *err, size_t errlen)
{
	const struct dp_config *c = running(m);
	const struct dp_relationship *r = NULL;
	json_t *out = json_array();
	int rc = 0;

	if (out == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (all) {
		uint32_t managed = 0;

		for (uint32_t i = 0; i < c->n_relationships && rc == 0; i++) {
			if (partner_of(c, c->relationships[i].partner_addr) != NULL) {
				managed++;
				rc = push_rel(m, c, &c->relationships[i], NULL, out, err, errlen);
			}
		}
		if (rc == 0 && managed == 0) {
			snprintf(err, errlen, "no relationship has a partner that can receive "
				 "configuration (server.management lists none of them)");
			rc = -1;
		}
	} else if (rel != NULL) {
		r = rel_by_name(c, rel);
		if (r == NULL) {
			snprintf(err, errlen, "no failover relationship \"%.64s\"", rel);
			rc = -1;
		} else {
			rc = push_rel(m, c, r, NULL, out, err, errlen);
		}
	} else {
		r = scope != NULL ? rel_of_scope(c, scope) : NULL;
		if (r == NULL) {
			snprintf(err, errlen, "\"%.64s\" is not a failover scope (no relationship "
				 "shares it)", scope != NULL ? scope : "");
			rc = -1;
		} else {
			rc = push_rel(m, c, r, scope, out, err, errlen);
		}
	}
	if (rc != 0) {
		json_decref(out);
		return -1;
	}
	*queued = out;
	return 0;
}

json_t *cp_mgmt_sync_status(const struct cp_mgmt *m)
{
	const struct dp_config *c = running(m);
	json_t *l = json_array();

	for (uint32_t i = 0; l != NULL && i < c->n_relationships; i++) {
		const struct dp_relationship *r = &c->relationships[i];
		bool managed = m->link != NULL && partner_of(c, r->partner_addr) != NULL;

		for (uint32_t j = 0; j < r->n_scopes; j++) {
			const char *name = c->scopes[r->scopes[j]].name, *reason = NULL;
			enum mgmt_sync st = mgmt_queue_status(m->q, name, &reason);
			json_t *e = json_pack("{s:s,s:s,s:s,s:s}", "scope", name, "relationship",
					      r->name, "partner", lw_ip4_fmt(r->partner_addr).s,
					      "status", managed ? mgmt_sync_str(st) :
					      "not-replicated");

			if (e != NULL && managed && reason != NULL && reason[0] != '\0') {
				json_object_set_new(e, "reason", json_string(reason));
			}
			if (e == NULL || json_array_append_new(l, e) != 0) {
				json_decref(l);
				return NULL;
			}
		}
	}
	return l;
}

/* --- life ----------------------------------------------------------------------------- */

int cp_mgmt_start(const struct cp_mgmt_env *env, struct cp_mgmt **out)
{
	struct cp_mgmt *m = calloc(1, sizeof(*m));
	const struct dp_config *c = env->rt->snap->cfg;
	struct mgmt_link_ops ops = {.secret = secret_cb, .request = request_cb,
				    .answer = answer_cb};
	char err[512];

	*out = NULL;
	if (m == NULL) {
		cp_log(CP_LOG_ERR, "out of memory at start-up");
		return -1;
	}
	m->rt = env->rt;
	m->apply = env->apply;
	ops.arg = m;
	/* With the channel off no file is made: nothing could ever be delivered. */
	m->q = mgmt_queue_open(c->mgmt_addr != 0 ? c->store_path : NULL, err, sizeof(err));
	if (m->q == NULL) {
		cp_log(CP_LOG_ERR, "management queue: %s", err);
		goto fail;
	}
	if (c->mgmt_addr != 0) {
		m->link = mgmt_link_open(c->mgmt_addr, (uint16_t)c->mgmt_port, &ops, err,
					 sizeof(err));
		if (m->link == NULL) {
			cp_log(CP_LOG_ERR, "server.management: %s", err);
			goto fail;
		}
		cp_log(CP_LOG_INFO, "management channel on %s:%u, %u partner(s), %zu queued",
		       lw_ip4_fmt(c->mgmt_addr).s, c->mgmt_port, c->n_mgmt_partners,
		       mgmt_queue_len(m->q));
	}
	seen_refresh(m, false, NULL);
	*out = m;
	return 0;
fail:
	cp_mgmt_stop(m);
	return -1;
}

void cp_mgmt_stop(struct cp_mgmt *m)
{
	if (m == NULL) {
		return;
	}
	mgmt_link_close(m->link);
	m->link = NULL;
	mgmt_queue_close(m->q);
	free(m->seen);
	free(m);
}

int cp_mgmt_fds(const struct cp_mgmt *m, struct pollfd *pfd, int max)
{
	return m != NULL && m->link != NULL ? mgmt_link_fds(m->link, pfd, max) : 0;
}

int cp_mgmt_timeout_ms(const struct cp_mgmt *m)
{
	return m != NULL && m->link != NULL ? mgmt_link_timeout_ms(m->link) : -1;
}
