/*
 * mgmt_ops: see mgmt_ops.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dp_config.h"
#include "fo_digest.h"
#include "mgmt_ops.h"

/* Scope keys that stay local. */
static bool local_key(const char *k)
{
	return strcmp(k, "interface") == 0;
}

static json_t *find_named(const json_t *arr, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		const char *n = json_string_value(json_object_get(v, "name"));
		if (n != NULL && strcmp(n, name) == 0) {
			return v;
		}
	}
	return NULL;
}

json_t *mgmt_scope_settings(const json_t *cfg, const char *name)
{
	json_t *s = find_named(json_object_get(cfg, "scopes"), name);
	if (s == NULL) {
		return NULL;
	}
	json_t *out = json_deep_copy(s);
	if (out == NULL) {
		return NULL;
	}
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(out, tmp, k, v) {
		if (local_key(k)) {
			(void)json_object_del(out, k);
		}
	}
	return out;
}

int mgmt_scope_digest(const json_t *cfg, const char *name, char hex[MGMT_DIGEST_HEX])
{
	json_t *s = mgmt_scope_settings(cfg, name);
	if (s == NULL) {
		return find_named(json_object_get(cfg, "scopes"), name) ? -ENOMEM : -ENOENT;
	}
	char *text = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(s);
	if (text == NULL) {
		return -ENOMEM;
	}
	uint8_t d[FO_SHA256_LEN];
	fo_sha256(text, strlen(text), d);
	free(text);
	for (size_t i = 0; i < FO_SHA256_LEN; i++) {
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	}
	return 0;
}

json_t *mgmt_create_body(const json_t *cfg, const char *rel)
{
	json_t *r = find_named(json_object_get(cfg, "relationships"), rel);
	if (r == NULL) {
		return NULL;
	}
	json_t *body = json_pack("{s:O,s:[]}", "relationship", r, "scopes");
	if (body == NULL) {
		return NULL;
	}
	json_t *arr = json_object_get(body, "scopes");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(r, "scopes"), i, v) {
		json_t *s = mgmt_scope_settings(cfg, json_string_value(v) ? json_string_value(v)
									   : "");
		if (s == NULL || json_array_append_new(arr, s) != 0) {
			json_decref(body);
			return NULL;
		}
	}
	return body;
}

static bool addr_is(const json_t *v, uint32_t a)
{
	struct in_addr in;
	const char *s = json_string_value(v);
	return s != NULL && inet_pton(AF_INET, s, &in) == 1 && ntohl(in.s_addr) == a;
}

static const char *addr_str(uint32_t a, char buf[INET_ADDRSTRLEN])
{
	struct in_addr in = { .s_addr = htonl(a) };
	return inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

/* Swap two keys' values (either may be absent). */
static int swap_keys(json_t *o, const char *a, const char *b)
{
	json_t *va = json_object_get(o, a), *vb = json_object_get(o, b);
	json_incref(va);
	json_incref(vb);
	int rc = 0;
	(void)json_object_del(o, a);
	(void)json_object_del(o, b);
	if (vb != NULL) {
		rc |= json_object_set_new(o, a, vb);
	}
	if (va != NULL) {
		rc |= json_object_set_new(o, b, va);
	}
	return rc;
}

/* The relationship as the partner sees it. */
static json_t *mirror(const json_t *r)
{
	json_t *m = json_deep_copy(r);
	if (m == NULL) {
		return NULL;
	}
	int rc = swap_keys(m, "local-address", "partner-address");
	rc |= swap_keys(m, "port", "partner-port");
	const char *role = json_string_value(json_object_get(m, "role"));
	if (role != NULL) {
		rc |= json_object_set_new(m, "role", json_string(strcmp(role, "primary") == 0
								 ? "secondary" : "primary"));
	}
	const char *srole = json_string_value(json_object_get(m, "server-role"));
	if (srole != NULL) {
		rc |= json_object_set_new(m, "server-role",
					  json_string(strcmp(srole, "active") == 0 ? "standby"
										   : "active"));
	}
	json_t *lb = json_object_get(m, "load-balance-percent");
	if (json_is_integer(lb)) {
		rc |= json_object_set_new(m, "load-balance-percent",
					  json_integer(100 - json_integer_value(lb)));
	}
	if (rc != 0) {
		json_decref(m);
		return NULL;
	}
	return m;
}

/* Check @p doc is a valid configuration; on failure set @p err and free it. */
static json_t *validated(json_t *doc, const char *what, char *err, size_t errlen)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	char msg[512];
	if (text == NULL) {
		json_decref(doc);
		snprintf(err, errlen, "%s: out of memory", what);
		return NULL;
	}
	struct dp_config *c = cp_config_parse(text, msg, sizeof(msg));
	free(text);
	if (c == NULL) {
		json_decref(doc);
		snprintf(err, errlen, "%s: the result is not a valid configuration: %s", what, msg);
		return NULL;
	}
	dp_config_free(c);
	return doc;
}

json_t *mgmt_apply_create(const json_t *cfg, const json_t *req, uint32_t from, char *err,
			  size_t errlen)
{
	const json_t *rel = json_object_get(req, "relationship");
	const json_t *scopes = json_object_get(req, "scopes");
	const char *name = json_string_value(json_object_get(rel, "name"));
	char a[INET_ADDRSTRLEN];

	if (name == NULL || !json_is_array(scopes)) {
		snprintf(err, errlen, "create-relationship: no relationship name or scopes");
		return NULL;
	}
	if (!addr_is(json_object_get(rel, "local-address"), from)) {
		snprintf(err, errlen, "create-relationship: relationship \"%.63s\" does not come "
			 "from its own local address (request from %s)", name, addr_str(from, a));
		return NULL;
	}
	if (find_named(json_object_get(cfg, "relationships"), name) != NULL) {
		snprintf(err, errlen, "create-relationship: relationship \"%.63s\" already exists "
			 "here", name);
		return NULL;
	}
	size_t i;
	json_t *s;
	json_array_foreach(scopes, i, s) {
		const char *sn = json_string_value(json_object_get(s, "name"));
		if (sn == NULL) {
			snprintf(err, errlen, "create-relationship: scopes[%zu] has no name", i);
			return NULL;
		}
		if (find_named(json_object_get(cfg, "scopes"), sn) != NULL) {
			snprintf(err, errlen, "create-relationship: scope \"%.63s\" already exists "
				 "here", sn);
			return NULL;
		}
	}
	/* Every scope the relationship names comes with its settings: one named only in the
	 * list would take a scope of ours (or refer to none) instead of creating it. */
	json_array_foreach(json_object_get(rel, "scopes"), i, s) {
		const char *sn = json_string_value(s);
		if (sn != NULL && find_named(scopes, sn) == NULL) {
			snprintf(err, errlen, "create-relationship: scope \"%.63s\" is in the "
				 "relationship but its settings were not sent%s", sn,
				 find_named(json_object_get(cfg, "scopes"), sn) != NULL ?
				 " (it already exists here)" : "");
			return NULL;
		}
	}
	json_t *doc = json_deep_copy(cfg);
	json_t *m = mirror(rel);
	if (doc == NULL || m == NULL) {
		json_decref(doc);
		json_decref(m);
		snprintf(err, errlen, "create-relationship: out of memory");
		return NULL;
	}
	if (json_object_get(doc, "scopes") == NULL) {
		(void)json_object_set_new(doc, "scopes", json_array());
	}
	if (json_object_get(doc, "relationships") == NULL) {
		(void)json_object_set_new(doc, "relationships", json_array());
	}
	int rc = 0;
	json_array_foreach(scopes, i, s) {
		json_t *c = json_deep_copy(s);
		if (c != NULL) {
			(void)json_object_del(c, "interface");
		}
		rc |= json_array_append_new(json_object_get(doc, "scopes"), c);
	}
	rc |= json_array_append_new(json_object_get(doc, "relationships"), m);
	if (rc != 0) {
		json_decref(doc);
		snprintf(err, errlen, "create-relationship: out of memory");
		return NULL;
	}
	return validated(doc, "create-relationship", err, errlen);
}

/* The relationship of scope @p name in @p cfg, or NULL. */
static const json_t *rel_of_scope(const json_t *cfg, const char *name)
{
	size_t i, j;
	json_t *r, *s;

	json_array_foreach(json_object_get(cfg, "relationships"), i, r) {
		json_array_foreach(json_object_get(r, "scopes"), j, s) {
			if (json_is_string(s) && strcmp(json_string_value(s), name) == 0) {
				return r;
			}
		}
	}
	return NULL;
}

json_t *mgmt_apply_replicate(const json_t *cfg, const json_t *scope, uint32_t from, char *err,
			     size_t errlen)
{
	const char *name = json_string_value(json_object_get(scope, "name"));
	char a[INET_ADDRSTRLEN];

	if (name == NULL) {
		snprintf(err, errlen, "replicate-scope: the scope has no name");
		return NULL;
	}
	if (find_named(json_object_get(cfg, "scopes"), name) == NULL) {
		snprintf(err, errlen, "replicate-scope: no scope \"%.63s\" here", name);
		return NULL;
	}
	const json_t *r = rel_of_scope(cfg, name);
	if (r == NULL || !addr_is(json_object_get(r, "partner-address"), from)) {
		snprintf(err, errlen, "replicate-scope: scope \"%.63s\" is not shared with %s",
			 name, addr_str(from, a));
		return NULL;
	}
	json_t *doc = json_deep_copy(cfg);
	json_t *c = json_deep_copy(scope);
	if (doc == NULL || c == NULL) {
		json_decref(doc);
		json_decref(c);
		snprintf(err, errlen, "replicate-scope: out of memory");
		return NULL;
	}
	json_t *mine = find_named(json_object_get(doc, "scopes"), name);
	(void)json_object_del(c, "interface");
	json_t *iface = json_object_get(mine, "interface");
	if (iface != NULL && json_object_set(c, "interface", iface) != 0) {
		json_decref(doc);
		json_decref(c);
		snprintf(err, errlen, "replicate-scope: out of memory");
		return NULL;
	}
	/* Replace the object in place, keeping the scope's position (its index). */
	json_object_clear(mine);
	if (json_object_update(mine, c) != 0) {
		json_decref(doc);
		json_decref(c);
		snprintf(err, errlen, "replicate-scope: out of memory");
		return NULL;
	}
	json_decref(c);
	return validated(doc, "replicate-scope", err, errlen);
}

/* --- later changes of a relationship made on the partner --------------------------------- */

/* Our relationship @p name in @p doc whose partner is @p from, or NULL with @p err. */
static json_t *own_rel(json_t *doc, const char *op, const char *name, uint32_t from, char *err,
		       size_t errlen)
{
	json_t *r = find_named(json_object_get(doc, "relationships"), name);
	char a[INET_ADDRSTRLEN];

	if (r == NULL) {
		snprintf(err, errlen, "%s: no relationship \"%.63s\" here", op, name);
		return NULL;
	}
	if (!addr_is(json_object_get(r, "partner-address"), from)) {
		snprintf(err, errlen, "%s: relationship \"%.63s\" is not with %s", op, name,
			 addr_str(from, a));
		return NULL;
	}
	return r;
}

/* Remove the string @p name from array @p a. @return whether it was there. */
static bool drop_name(json_t *a, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v) {
		if (json_is_string(v) && strcmp(json_string_value(v), name) == 0) {
			(void)json_array_remove(a, i);
			return true;
		}
	}
	return false;
}

static void drop_scope(json_t *doc, const char *name)
{
	json_t *scopes = json_object_get(doc, "scopes"), *v;
	size_t i;

	json_array_foreach(scopes, i, v) {
		const char *n = json_string_value(json_object_get(v, "name"));

		if (n != NULL && strcmp(n, name) == 0) {
			(void)json_array_remove(scopes, i);
			return;
		}
	}
}

json_t *mgmt_apply_set(const json_t *cfg, const json_t *req, uint32_t from, char *err,
		       size_t errlen)
{
	const json_t *rel = json_object_get(req, "relationship");
	const char *name = json_string_value(json_object_get(rel, "name"));
	json_t *doc, *mine, *m, *scopes;

	if (name == NULL) {
		snprintf(err, errlen, "set-relationship: no relationship name");
		return NULL;
	}
	doc = json_deep_copy(cfg);
	if (doc == NULL) {
		snprintf(err, errlen, "set-relationship: out of memory");
		return NULL;
	}
	mine = own_rel(doc, "set-relationship", name, from, err, errlen);
	if (mine == NULL) {
		json_decref(doc);
		return NULL;
	}
	m = mirror(rel);
	if (m == NULL) {
		json_decref(doc);
		snprintf(err, errlen, "set-relationship: out of memory");
		return NULL;
	}
	/* The relationship stays between the same two servers: its partner is still @p from
	 * and its local address still ours (own_rel() checked the relationship as it was). */
	if (!addr_is(json_object_get(m, "partner-address"), from) ||
	    !json_equal(json_object_get(m, "local-address"), json_object_get(mine,
									     "local-address"))) {
		char a[INET_ADDRSTRLEN];

		snprintf(err, errlen, "set-relationship: relationship \"%.63s\" would no longer be "
			 "between this server and %s: the addresses of a relationship do not change "
			 "(remove and add it)", name, addr_str(from, a));
		json_decref(m);
		json_decref(doc);
		return NULL;
	}
	/* Scopes are ours: scope-add and scope-remove change them, in their own order. */
	scopes = json_object_get(mine, "scopes");
	if (scopes != NULL) {
		(void)json_object_set(m, "scopes", scopes);
	} else {
		(void)json_object_del(m, "scopes");
	}
	json_object_clear(mine);
	if (json_object_update(mine, m) != 0) {
		json_decref(m);
		json_decref(doc);
		snprintf(err, errlen, "set-relationship: out of memory");
		return NULL;
	}
	json_decref(m);
	return validated(doc, "set-relationship", err, errlen);
}

json_t *mgmt_apply_delete(const json_t *cfg, const json_t *req, uint32_t from, json_t **scopes,
			  char *err, size_t errlen)
{
	const char *name = json_string_value(json_object_get(req, "name"));
	json_t *doc = json_deep_copy(cfg), *rels, *mine, *list;
	size_t i;
	json_t *v;

	*scopes = NULL;
	if (doc == NULL || name == NULL) {
		json_decref(doc);
		snprintf(err, errlen, "delete-relationship: %s", name == NULL ? "no name" :
			 "out of memory");
		return NULL;
	}
	mine = own_rel(doc, "delete-relationship", name, from, err, errlen);
	if (mine == NULL) {
		json_decref(doc);
		return NULL;
	}
	/* As Windows, the scopes go from the partner too: mgmt_drop_scopes(), once this (their
	 * leaving the relationship) is applied, as the configuration rules ask. */
	list = json_object_get(mine, "scopes");
	list = list != NULL ? json_deep_copy(list) : json_array();
	if (list == NULL) {
		json_decref(doc);
		snprintf(err, errlen, "delete-relationship: out of memory");
		return NULL;
	}
	rels = json_object_get(doc, "relationships");
	json_array_foreach(rels, i, v) {
		if (v == mine) {
			(void)json_array_remove(rels, i);
			break;
		}
	}
	doc = validated(doc, "delete-relationship", err, errlen);
	if (doc == NULL) {
		json_decref(list);
		return NULL;
	}
	*scopes = list;
	return doc;
}

json_t *mgmt_apply_scope_add(const json_t *cfg, const json_t *req, uint32_t from, char *err,
			     size_t errlen)
{
	const char *name = json_string_value(json_object_get(req, "name"));
	const json_t *scope = json_object_get(req, "scope");
	const char *sn = json_string_value(json_object_get(scope, "name"));
	const json_t *other;
	json_t *doc, *mine, *list;

	if (name == NULL || sn == NULL) {
		snprintf(err, errlen, "scope-add: no relationship or scope name");
		return NULL;
	}
	doc = json_deep_copy(cfg);
	if (doc == NULL) {
		snprintf(err, errlen, "scope-add: out of memory");
		return NULL;
	}
	mine = own_rel(doc, "scope-add", name, from, err, errlen);
	if (mine == NULL) {
		json_decref(doc);
		return NULL;
	}
	other = rel_of_scope(doc, sn);
	if (other == mine) {
		return validated(doc, "scope-add", err, errlen);	/* delivered twice */
	}
	if (other != NULL) {
		snprintf(err, errlen, "scope-add: scope \"%.63s\" is in relationship \"%.63s\" here",
			 sn, json_string_value(json_object_get(other, "name")));
		json_decref(doc);
		return NULL;
	}
	if (find_named(json_object_get(doc, "scopes"), sn) != NULL) {
		/* A scope of this server alone of that name: shared as it is only when it holds
		 * the settings sent (typed twice alike); otherwise the replication that follows
		 * could not change its pools, so refused as create-relationship refuses it. */
		char here[MGMT_DIGEST_HEX], sent[MGMT_DIGEST_HEX];
		json_t *tmp = json_pack("{s:[O]}", "scopes", scope);

		if (tmp == NULL || mgmt_scope_digest(doc, sn, here) != 0 ||
		    mgmt_scope_digest(tmp, sn, sent) != 0) {
			json_decref(tmp);
			json_decref(doc);
			snprintf(err, errlen, "scope-add: out of memory");
			return NULL;
		}
		json_decref(tmp);
		if (strcmp(here, sent) != 0) {
			snprintf(err, errlen, "scope-add: scope \"%.63s\" already exists here with "
				 "other settings (digest %.12s here, %.12s sent): delete it here or "
				 "make it alike first", sn, here, sent);
			json_decref(doc);
			return NULL;
		}
	} else {
		json_t *c = json_deep_copy(scope);

		if (c != NULL) {
			(void)json_object_del(c, "interface");
		}
		if (json_object_get(doc, "scopes") == NULL) {
			(void)json_object_set_new(doc, "scopes", json_array());
		}
		if (json_array_append_new(json_object_get(doc, "scopes"), c) != 0) {
			json_decref(doc);
			snprintf(err, errlen, "scope-add: out of memory");
			return NULL;
		}
	}
	list = json_object_get(mine, "scopes");
	if (list == NULL) {
		list = json_array();
		(void)json_object_set_new(mine, "scopes", list);
	}
	if (json_array_append_new(list, json_string(sn)) != 0) {
		json_decref(doc);
		snprintf(err, errlen, "scope-add: out of memory");
		return NULL;
	}
	return validated(doc, "scope-add", err, errlen);
}

json_t *mgmt_drop_scopes(const json_t *cfg, const json_t *names, char *err, size_t errlen)
{
	json_t *doc = json_deep_copy(cfg), *v;
	size_t i;

	if (doc == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	json_array_foreach(names, i, v) {
		if (json_is_string(v) && rel_of_scope(doc, json_string_value(v)) == NULL) {
			drop_scope(doc, json_string_value(v));
		}
	}
	return validated(doc, "scope deletion", err, errlen);
}

json_t *mgmt_apply_scope_remove(const json_t *cfg, const json_t *req, uint32_t from, char *err,
				size_t errlen)
{
	const char *name = json_string_value(json_object_get(req, "name"));
	const char *sn = json_string_value(json_object_get(req, "scope"));
	json_t *doc, *mine;

	if (name == NULL || sn == NULL) {
		snprintf(err, errlen, "scope-remove: no relationship or scope name");
		return NULL;
	}
	doc = json_deep_copy(cfg);
	if (doc == NULL) {
		snprintf(err, errlen, "scope-remove: out of memory");
		return NULL;
	}
	mine = own_rel(doc, "scope-remove", name, from, err, errlen);
	if (mine == NULL) {
		json_decref(doc);
		return NULL;
	}
	/* Not in the relationship: delivered twice, nothing to do. The scope itself goes next
	 * (mgmt_drop_scopes()). */
	(void)drop_name(json_object_get(mine, "scopes"), sn);
	return validated(doc, "scope-remove", err, errlen);
}
