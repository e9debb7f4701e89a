/*
 * fo_audit.c: relationship changes as audit events (contract in fo_audit.h). Both snapshots
 * are written with the configuration writer, so every key the schema knows is compared and
 * a new key needs no code here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fo_audit.h"
#include "log.h"

static json_t *rel_named(json_t *rels, const char *name)
{
	size_t i;
	json_t *r;

	json_array_foreach(rels, i, r) {
		if (strcmp(json_string_value(json_object_get(r, "name")), name) == 0) {
			return r;
		}
	}
	return NULL;
}

static bool has_string(json_t *list, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v) {
		if (strcmp(json_string_value(v), s) == 0) {
			return true;
		}
	}
	return false;
}

/* The relationships of @p c, each secret replaced by "none" or "set". */
static json_t *rels_of(const struct dp_config *c)
{
	json_t *j = cp_config_to_json(c), *rels;
	size_t i;
	json_t *r;

	if (j == NULL) {
		return NULL;
	}
	rels = json_object_get(j, "relationships");
	rels = rels != NULL ? json_incref(rels) : json_array();
	json_decref(j);
	json_array_foreach(rels, i, r) {
		json_t *sec = json_object_get(r, "shared-secret");
		bool set = json_is_string(sec) && json_string_length(sec) > 0;

		json_object_set_new(r, "shared-secret", json_string(set ? "set" : "none"));
	}
	return rels;
}

static void push(json_t *ev, json_t *e)
{
	if (e != NULL) {
		json_array_append_new(ev, e);
	}
}

/* Settings of a kept relationship, key by key (both sides have every key the writer
 * writes; a key only one side has is a change too). */
static void settings(json_t *ev, const char *name, json_t *a, json_t *b,
		     const struct dp_relationship *ra, const struct dp_relationship *rb)
{
	const char *k;
	json_t *va, *vb;

	json_object_foreach(a, k, va) {
		if (strcmp(k, "scopes") == 0 || strcmp(k, "name") == 0) {
			continue;
		}
		vb = json_object_get(b, k);
		if (strcmp(k, "shared-secret") == 0 && vb != NULL &&
		    strcmp(ra->shared_secret, rb->shared_secret) != 0) {
			push(ev, json_pack("{s:s,s:s,s:s,s:O,s:O}", "action", "set", "relationship",
					   name, "setting", k, "old", va, "new", vb));
			continue;
		}
		if (vb == NULL || !json_equal(va, vb)) {
			push(ev, json_pack("{s:s,s:s,s:s,s:O,s:O}", "action", "set", "relationship",
					   name, "setting", k, "old", va,
					   "new", vb != NULL ? vb : json_null()));
		}
	}
	json_object_foreach(b, k, vb) {
		if (json_object_get(a, k) == NULL) {
			push(ev, json_pack("{s:s,s:s,s:s,s:n,s:O}", "action", "set", "relationship",
					   name, "setting", k, "old", "new", vb));
		}
	}
}

static const struct dp_relationship *cfg_rel(const struct dp_config *c, const char *name)
{
	for (uint32_t i = 0; i < c->n_relationships; i++) {
		if (strcmp(c->relationships[i].name, name) == 0) {
			return &c->relationships[i];
		}
	}
	return NULL;
}

json_t *cp_fo_audit(const struct dp_config *cur, const struct dp_config *nc)
{
	json_t *a = rels_of(cur), *b = rels_of(nc), *ev = json_array(), *r;
	json_t *empty = json_array();
	size_t i, j;

	if (a == NULL || b == NULL || ev == NULL || empty == NULL) {
		json_decref(a);
		json_decref(b);
		json_decref(ev);
		json_decref(empty);
		return NULL;
	}
	json_array_foreach(a, i, r) {
		const char *name = json_string_value(json_object_get(r, "name"));
		json_t *sc = json_object_get(r, "scopes");

		if (rel_named(b, name) == NULL) {
			push(ev, json_pack("{s:s,s:s,s:O}", "action", "delete", "relationship", name,
					   "scopes", sc != NULL ? sc : empty));
		}
	}
	json_array_foreach(b, i, r) {
		const char *name = json_string_value(json_object_get(r, "name"));
		json_t *sc = json_object_get(r, "scopes"), *o = rel_named(a, name), *osc, *s;

		if (o == NULL) {
			push(ev, json_pack("{s:s,s:s,s:O,s:O}", "action", "create", "relationship",
					   name, "partner", json_object_get(r, "partner-address"),
					   "scopes", sc != NULL ? sc : empty));
			continue;
		}
		settings(ev, name, o, r, cfg_rel(cur, name), cfg_rel(nc, name));
		osc = json_object_get(o, "scopes");
		json_array_foreach(osc, j, s) {
			if (!has_string(sc, json_string_value(s))) {
				push(ev, json_pack("{s:s,s:s,s:O}", "action", "scope-remove",
						   "relationship", name, "scope", s));
			}
		}
		json_array_foreach(sc, j, s) {
			if (!has_string(osc, json_string_value(s))) {
				push(ev, json_pack("{s:s,s:s,s:O}", "action", "scope-add",
						   "relationship", name, "scope", s));
			}
		}
	}
	json_decref(a);
	json_decref(b);
	json_decref(empty);
	return ev;
}

void cp_fo_audit_log(const json_t *events, const char *source)
{
	size_t i;
	json_t *e;

	json_array_foreach(events, i, e) {
		const char *action = json_string_value(json_object_get(e, "action"));
		const char *rel = json_string_value(json_object_get(e, "relationship"));
		char *old = json_dumps(json_object_get(e, "old"), JSON_ENCODE_ANY | JSON_COMPACT);
		char *nw = json_dumps(json_object_get(e, "new"), JSON_ENCODE_ANY | JSON_COMPACT);
		char *sc = json_dumps(json_object_get(e, "scopes"), JSON_ENCODE_ANY | JSON_COMPACT);

		if (strcmp(action, "set") == 0) {
			cp_log(CP_LOG_INFO, "event=failover-audit action=set relationship=%s "
			       "setting=%s old=%s new=%s by=%s", rel,
			       json_string_value(json_object_get(e, "setting")), old ? old : "?",
			       nw ? nw : "?", source);
		} else if (strcmp(action, "create") == 0 || strcmp(action, "delete") == 0) {
			cp_log(CP_LOG_INFO, "event=failover-audit action=%s relationship=%s%s%s "
			       "scopes=%s by=%s", action, rel,
			       json_object_get(e, "partner") ? " partner=" : "",
			       json_object_get(e, "partner") ?
			       json_string_value(json_object_get(e, "partner")) : "",
			       sc ? sc : "[]", source);
		} else {
			cp_log(CP_LOG_INFO, "event=failover-audit action=%s relationship=%s scope=%s "
			       "by=%s", action, rel,
			       json_string_value(json_object_get(e, "scope")), source);
		}
		free(old);
		free(nw);
		free(sc);
	}
}
