/*
 * Unit tests of controlplane/mgmt_ops: create-relationship and replicate-scope applied to a
 * configuration document, their refusals, and the scope digest that detects drift.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dp_config.h"
#include "mgmt_ops.h"

#define A_ADDR 0xc6120001u	/* 198.18.0.1 */
#define B_ADDR 0xc6120002u	/* 198.18.0.2 */

static json_t *running(void)
{
	char err[256];
	json_t *d = json_loads(cp_config_default_json(), 0, NULL);
	assert_non_null(d);
	json_object_set_new(json_object_get(d, "server"), "store", json_string("/nonexistent"));
	char *text = json_dumps(d, 0);
	json_decref(d);
	struct dp_config *c = cp_config_parse(text, err, sizeof(err));
	free(text);
	if (c == NULL) {
		fail_msg("%s", err);
	}
	json_t *j = cp_config_to_json(c);
	dp_config_free(c);
	assert_non_null(j);
	return j;
}

/* A: the lab configuration with scope "relayed" shared with B. B: the same without it. */
static void make_pair(json_t **a, json_t **b)
{
	char err[256];
	/* Through the parser, so that defaults are written, as the daemon's running one is. */
	json_t *tmp = running();
	json_object_set_new(tmp, "relationships",
			    json_pack("[{s:s,s:s,s:s,s:i,s:s,s:s,s:[s]}]", "name", "a-b", "role",
				      "primary", "mode", "load-balance", "load-balance-percent",
				      70, "local-address", "198.18.0.1", "partner-address",
				      "198.18.0.2", "scopes", "relayed"));
	char *text = json_dumps(tmp, 0);
	json_decref(tmp);
	struct dp_config *c = cp_config_parse(text, err, sizeof(err));
	free(text);
	if (c == NULL) {
		fail_msg("%s", err);
	}
	*a = cp_config_to_json(c);
	dp_config_free(c);
	*b = running();
	json_t *scopes = json_object_get(*b, "scopes");
	for (size_t i = 0; i < json_array_size(scopes); i++) {
		if (strcmp(json_string_value(json_object_get(json_array_get(scopes, i), "name")),
			   "relayed") == 0) {
			json_array_remove(scopes, i);
			break;
		}
	}
}

static json_t *find(json_t *arr, const char *name)
{
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);
		if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0) {
			return v;
		}
	}
	return NULL;
}

static void test_create(void **state)
{
	json_t *a, *b;
	char err[512], da[MGMT_DIGEST_HEX], db[MGMT_DIGEST_HEX];

	(void)state;
	make_pair(&a, &b);
	json_t *req = mgmt_create_body(a, "a-b");
	assert_non_null(req);
	assert_int_equal(json_array_size(json_object_get(req, "scopes")), 1);

	json_t *b2 = mgmt_apply_create(b, req, A_ADDR, err, sizeof(err));
	if (b2 == NULL) {
		fail_msg("%s", err);
	}
	json_t *r = find(json_object_get(b2, "relationships"), "a-b");
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(r, "role")), "secondary");
	assert_string_equal(json_string_value(json_object_get(r, "local-address")), "198.18.0.2");
	assert_string_equal(json_string_value(json_object_get(r, "partner-address")),
			    "198.18.0.1");
	assert_int_equal(json_integer_value(json_object_get(r, "load-balance-percent")), 30);
	assert_int_equal(mgmt_scope_digest(a, "relayed", da), 0);
	assert_int_equal(mgmt_scope_digest(b2, "relayed", db), 0);
	assert_string_equal(da, db);
	assert_int_equal(mgmt_scope_digest(b, "relayed", db), -ENOENT);

	/* Again: the scope (and the relationship) now exist there: refused. */
	assert_null(mgmt_apply_create(b2, req, A_ADDR, err, sizeof(err)));
	assert_non_null(strstr(err, "already exists"));
	/* A scope that exists, under a new relationship name. */
	json_object_set_new(json_object_get(req, "relationship"), "name", json_string("x"));
	assert_null(mgmt_apply_create(b2, req, A_ADDR, err, sizeof(err)));
	assert_non_null(strstr(err, "scope \"relayed\" already exists"));
	json_object_set_new(json_object_get(req, "relationship"), "name", json_string("a-b"));
	/* From another address than the relationship's: refused. */
	assert_null(mgmt_apply_create(b, req, 0xc6120009u, err, sizeof(err)));
	assert_non_null(strstr(err, "198.18.0.9"));
	/* A scope the partner cannot take (overlapping one it has): refused whole. */
	json_t *bad = json_deep_copy(req);
	json_t *s0 = json_array_get(json_object_get(bad, "scopes"), 0);
	json_object_set_new(s0, "subnet", json_string("198.18.0.0/24"));
	assert_null(mgmt_apply_create(b, bad, A_ADDR, err, sizeof(err)));
	assert_non_null(strstr(err, "not a valid configuration"));
	json_decref(bad);
	json_decref(req);
	json_decref(b2);
	json_decref(a);
	json_decref(b);
}

/* set-relationship, scope-remove, scope-add and delete-relationship from A, applied on B. */
static void test_later_changes(void **state)
{
	json_t *a, *b, *req, *b2, *b3, *r, *deleted;
	char err[512];

	(void)state;
	make_pair(&a, &b);
	req = mgmt_create_body(a, "a-b");
	b2 = mgmt_apply_create(b, req, A_ADDR, err, sizeof(err));
	json_decref(req);
	assert_non_null(b2);

	/* Every setting, mirrored: A 100 % -> B 0 %; B keeps its scopes. */
	r = json_deep_copy(find(json_object_get(a, "relationships"), "a-b"));
	json_object_set_new(r, "load-balance-percent", json_integer(100));
	json_object_set_new(r, "mclt", json_integer(1234));
	json_object_set_new(r, "scopes", json_array());
	req = json_pack("{s:o}", "relationship", r);
	b3 = mgmt_apply_set(b2, req, A_ADDR, err, sizeof(err));
	if (b3 == NULL) {
		fail_msg("%s", err);
	}
	r = find(json_object_get(b3, "relationships"), "a-b");
	assert_int_equal(json_integer_value(json_object_get(r, "load-balance-percent")), 0);
	assert_int_equal(json_integer_value(json_object_get(r, "mclt")), 1234);
	assert_string_equal(json_string_value(json_object_get(r, "role")), "secondary");
	assert_int_equal(json_array_size(json_object_get(r, "scopes")), 1);
	/* Not from the relationship's partner: refused. */
	assert_null(mgmt_apply_set(b2, req, 0xc6120009u, err, sizeof(err)));
	assert_non_null(strstr(err, "is not with 198.18.0.9"));
	json_decref(req);

	/* scope-remove: off the relationship, then deleted; twice: unchanged. */
	req = json_pack("{s:s,s:s}", "name", "a-b", "scope", "relayed");
	json_decref(b2);
	b2 = mgmt_apply_scope_remove(b3, req, A_ADDR, err, sizeof(err));
	assert_non_null(b2);
	assert_int_equal(json_array_size(json_object_get(find(json_object_get(b2,
		"relationships"), "a-b"), "scopes")), 0);
	json_decref(b3);
	b3 = mgmt_apply_scope_remove(b2, req, A_ADDR, err, sizeof(err));
	assert_non_null(b3);
	assert_true(json_equal(b2, b3));
	json_decref(b3);
	deleted = json_pack("[s]", "relayed");
	b3 = mgmt_drop_scopes(b2, deleted, err, sizeof(err));
	json_decref(deleted);
	assert_non_null(b3);
	assert_null(find(json_object_get(b3, "scopes"), "relayed"));
	json_decref(b2);
	b2 = b3;
	json_decref(req);

	/* scope-add: created with A's settings, then shared; twice: unchanged. */
	req = json_pack("{s:s,s:o}", "name", "a-b", "scope", mgmt_scope_settings(a, "relayed"));
	b3 = mgmt_apply_scope_add(b2, req, A_ADDR, err, sizeof(err));
	if (b3 == NULL) {
		fail_msg("%s", err);
	}
	assert_non_null(find(json_object_get(b3, "scopes"), "relayed"));
	assert_int_equal(json_array_size(json_object_get(find(json_object_get(b3,
		"relationships"), "a-b"), "scopes")), 1);
	json_decref(b2);
	b2 = mgmt_apply_scope_add(b3, req, A_ADDR, err, sizeof(err));
	assert_non_null(b2);
	assert_true(json_equal(b2, b3));
	json_decref(req);
	json_decref(b2);

	/* delete-relationship: the relationship goes, then its scopes; they are listed. */
	req = json_pack("{s:s}", "name", "a-b");
	b2 = mgmt_apply_delete(b3, req, A_ADDR, &deleted, err, sizeof(err));
	if (b2 == NULL) {
		fail_msg("%s", err);
	}
	assert_null(find(json_object_get(b2, "relationships"), "a-b"));
	assert_int_equal(json_array_size(deleted), 1);
	assert_string_equal(json_string_value(json_array_get(deleted, 0)), "relayed");
	json_decref(b3);
	b3 = mgmt_drop_scopes(b2, deleted, err, sizeof(err));
	assert_non_null(b3);
	assert_null(find(json_object_get(b3, "scopes"), "relayed"));
	json_decref(deleted);
	assert_null(mgmt_apply_delete(b2, req, A_ADDR, &deleted, err, sizeof(err)));
	assert_non_null(strstr(err, "no relationship \"a-b\""));
	json_decref(req);
	json_decref(b2);
	json_decref(b3);
	json_decref(a);
	json_decref(b);
}

static void test_replicate_and_drift(void **state)
{
	json_t *a, *b;
	char err[512], da[MGMT_DIGEST_HEX], db[MGMT_DIGEST_HEX];

	(void)state;
	make_pair(&a, &b);
	json_t *req = mgmt_create_body(a, "a-b");
	json_t *b2 = mgmt_apply_create(b, req, A_ADDR, err, sizeof(err));
	assert_non_null(b2);
	json_decref(req);

	/* A adds a reservation and changes the lease time: the digests differ (drift). */
	json_t *sa = find(json_object_get(a, "scopes"), "relayed");
	json_object_set_new(sa, "lease-time", json_integer(7200));
	json_t *res = json_object_get(sa, "reservations");
	if (res == NULL) {
		res = json_array();
		json_object_set_new(sa, "reservations", res);
	}
	json_array_append_new(res, json_pack("{s:s,s:s}", "hw-address", "02:00:5e:00:00:64",
					     "ip-address", "198.19.0.100"));
	assert_int_equal(mgmt_scope_digest(a, "relayed", da), 0);
	assert_int_equal(mgmt_scope_digest(b2, "relayed", db), 0);
	assert_string_not_equal(da, db);

	json_t *settings = mgmt_scope_settings(a, "relayed");
	assert_non_null(settings);
	json_t *b3 = mgmt_apply_replicate(b2, settings, A_ADDR, err, sizeof(err));
	if (b3 == NULL) {
		fail_msg("%s", err);
	}
	assert_int_equal(mgmt_scope_digest(b3, "relayed", db), 0);
	assert_string_equal(da, db);

	/* From an address that is not the scope's partner; a scope B does not have. */
	assert_null(mgmt_apply_replicate(b2, settings, 0xc6120009u, err, sizeof(err)));
	assert_non_null(strstr(err, "not shared with 198.18.0.9"));
	json_t *lab = mgmt_scope_settings(a, "lab");
	assert_null(mgmt_apply_replicate(b2, lab, A_ADDR, err, sizeof(err)));
	json_decref(lab);
	/* Settings that are not valid: refused, with the configuration's reason. */
	json_object_set_new(settings, "lease-time", json_string("long"));
	assert_null(mgmt_apply_replicate(b2, settings, A_ADDR, err, sizeof(err)));
	assert_non_null(strstr(err, "lease-time"));
	json_decref(settings);
	json_decref(b3);
	json_decref(b2);
	json_decref(a);
	json_decref(b);
}

/* Issue 14 item 8: a scope's policies are scope settings. A policy added on A changes the
 * scope's digest (drift is seen), is in the settings create-relationship and replicate-scope
 * carry, and is in force in the configuration B parses from them. Server-level policies are
 * not: each server keeps its own (doc/failover.md, "What replicates"). */
static void test_policy_replicated(void **state)
{
	json_t *a, *b;
	char err[512], da[MGMT_DIGEST_HEX], db[MGMT_DIGEST_HEX];

	(void)state;
	make_pair(&a, &b);
	json_t *req = mgmt_create_body(a, "a-b");
	json_t *b2 = mgmt_apply_create(b, req, A_ADDR, err, sizeof(err));
	assert_non_null(b2);
	json_decref(req);

	json_t *sa = find(json_object_get(a, "scopes"), "relayed");
	json_object_set_new(sa, "policies",
			    json_pack("[{s:s,s:[{s:s,s:[s]}],s:[s],s:i,s:{s:s}}]", "name", "phones",
				      "conditions", "type", "vendor-class", "values", "phone*",
				      "ranges", "198.19.1.10 - 198.19.1.20", "lease-time", 300,
				      "options", "domain-name", "phones.test"));
	/* A server-level policy on A is not part of the scope. */
	json_object_set_new(json_object_get(a, "server"), "policies",
			    json_pack("[{s:s,s:b}]", "name", "deny-all", "deny", 1));
	assert_int_equal(mgmt_scope_digest(a, "relayed", da), 0);
	assert_int_equal(mgmt_scope_digest(b2, "relayed", db), 0);
	assert_string_not_equal(da, db);

	/* replicate-scope: B then holds the policy, in force in its parsed configuration. */
	json_t *settings = mgmt_scope_settings(a, "relayed");
	assert_non_null(settings);
	json_t *b3 = mgmt_apply_replicate(b2, settings, A_ADDR, err, sizeof(err));
	if (b3 == NULL) {
		fail_msg("%s", err);
	}
	json_decref(settings);
	assert_int_equal(mgmt_scope_digest(b3, "relayed", db), 0);
	assert_string_equal(da, db);
	assert_int_equal(json_array_size(json_object_get(json_object_get(b3, "server"),
							 "policies")), 0);
	char *text = json_dumps(b3, 0);
	struct dp_config *c = cp_config_parse(text, err, sizeof(err));

	free(text);
	if (c == NULL) {
		fail_msg("%s", err);
	}
	const struct dp_scope *sc = NULL;

	for (uint32_t i = 0; i < c->n_scopes; i++) {
		if (strcmp(c->scopes[i].name, "relayed") == 0) {
			sc = &c->scopes[i];
		}
	}
	assert_non_null(sc);
	assert_int_equal(sc->n_policies, 1);
	assert_string_equal(sc->policies[0].name, "phones");
	assert_int_equal(sc->policies[0].lease_time, 300);
	dp_config_free(c);

	/* create-relationship carries it too (a scope made on the partner with its policies). */
	req = mgmt_create_body(a, "a-b");
	assert_non_null(req);
	assert_int_equal(json_array_size(json_object_get(json_array_get(json_object_get(req,
							"scopes"), 0), "policies")), 1);
	json_t *b4 = mgmt_apply_create(b, req, A_ADDR, err, sizeof(err));

	if (b4 == NULL) {
		fail_msg("%s", err);
	}
	assert_int_equal(mgmt_scope_digest(b4, "relayed", db), 0);
	assert_string_equal(da, db);
	json_decref(b4);
	json_decref(req);
	json_decref(b3);
	json_decref(b2);
	json_decref(a);
	json_decref(b);
}

/* Review 6: create-relationship names its scopes twice, in the relationship's "scopes" list
 * and in the "scopes" settings array. A scope named only in the list, that exists here as a
 * scope of this server alone, must be refused as "already exists" like one in the array: it
 * would otherwise be taken into the partner's relationship with no settings sent. */
static void test_create_scope_named_only_in_list(void **state)
{
	json_t *a, *b;
	char err[512];

	(void)state;
	make_pair(&a, &b);
	json_t *req = mgmt_create_body(a, "a-b");
	assert_non_null(req);
	/* B has its own scope "lab" (in no relationship); the request shares it by name only. */
	assert_non_null(find(json_object_get(b, "scopes"), "lab"));
	json_array_append_new(json_object_get(json_object_get(req, "relationship"), "scopes"),
			      json_string("lab"));
	json_t *b2 = mgmt_apply_create(b, req, A_ADDR, err, sizeof(err));
	if (b2 != NULL) {
		json_t *r = find(json_object_get(b2, "relationships"), "a-b");
		size_t n = json_array_size(json_object_get(r, "scopes"));

		json_decref(b2);
		fail_msg("create-relationship took B's own scope \"lab\" into the relationship "
			 "(%zu scopes)", n);
	}
	assert_non_null(strstr(err, "\"lab\""));
	/* A name in the list that is in neither place: refused too (nothing to create). */
	json_array_remove(json_object_get(json_object_get(req, "relationship"), "scopes"), 1);
	json_array_append_new(json_object_get(json_object_get(req, "relationship"), "scopes"),
			      json_string("nowhere"));
	assert_null(mgmt_apply_create(b, req, A_ADDR, err, sizeof(err)));
	json_decref(req);
	json_decref(a);
	json_decref(b);
}

/* Review 6: set-relationship is checked against the partner that sends it (own_rel), but the
 * mirrored relationship that replaces ours took its addresses from the request: the partner
 * could point our relationship at a third server, or change our local address. */
static void test_set_keeps_addresses(void **state)
{
	json_t *a, *b, *req, *b2, *b3, *r;
	char err[512];

	(void)state;
	make_pair(&a, &b);
	req = mgmt_create_body(a, "a-b");
	b2 = mgmt_apply_create(b, req, A_ADDR, err, sizeof(err));
	json_decref(req);
	assert_non_null(b2);

	/* A says its own address is 198.18.0.9: B's partner would become .9. */
	r = json_deep_copy(find(json_object_get(a, "relationships"), "a-b"));
	json_object_set_new(r, "local-address", json_string("198.18.0.9"));
	req = json_pack("{s:o}", "relationship", r);
	b3 = mgmt_apply_set(b2, req, A_ADDR, err, sizeof(err));
	if (b3 != NULL) {
		const char *pa = json_string_value(json_object_get(
			find(json_object_get(b3, "relationships"), "a-b"), "partner-address"));
		char got[32];

		snprintf(got, sizeof(got), "%s", pa != NULL ? pa : "?");
		json_decref(b3);
		fail_msg("set-relationship from 198.18.0.1 moved the relationship to partner %s",
			 got);
	}
	json_decref(req);

	/* A says B's address is 198.18.0.7: B's local address would change. */
	r = json_deep_copy(find(json_object_get(a, "relationships"), "a-b"));
	json_object_set_new(r, "partner-address", json_string("198.18.0.7"));
	req = json_pack("{s:o}", "relationship", r);
	b3 = mgmt_apply_set(b2, req, A_ADDR, err, sizeof(err));
	if (b3 != NULL) {
		json_decref(b3);
		fail_msg("set-relationship from 198.18.0.1 changed B's local address");
	}
	json_decref(req);
	json_decref(b2);
	json_decref(a);
	json_decref(b);
}

/* Review 6: scope-add of a scope that exists on the partner in no relationship, with other
 * settings (here other pools): refused, as create-relationship refuses a scope that exists
 * there. Accepted before: the partner's own scope joined the relationship with its own
 * settings, and the replication that follows cannot change a shared scope's pools, so both
 * servers served one failover scope over different ranges. The same settings: adopted. */
static void test_scope_add_existing_other_settings(void **state)
{
	json_t *a, *b, *req, *b2, *b3;
	char err[512];

	(void)state;
	make_pair(&a, &b);
	req = mgmt_create_body(a, "a-b");
	b2 = mgmt_apply_create(b, req, A_ADDR, err, sizeof(err));
	json_decref(req);
	assert_non_null(b2);

	/* A's "lab" has other pools than B's "lab" (B's is in no relationship). */
	json_t *sa = mgmt_scope_settings(a, "lab");
	assert_non_null(sa);
	json_object_set_new(sa, "pools", json_pack("[s]", "198.18.0.100 - 198.18.0.101"));
	req = json_pack("{s:s,s:o}", "name", "a-b", "scope", sa);
	b3 = mgmt_apply_scope_add(b2, req, A_ADDR, err, sizeof(err));
	if (b3 != NULL) {
		json_decref(b3);
		fail_msg("scope-add took B's own \"lab\" (other pools) into the relationship");
	}
	assert_non_null(strstr(err, "\"lab\""));
	json_decref(req);

	/* The same settings as B's: B's scope joins the relationship. */
	req = json_pack("{s:s,s:o}", "name", "a-b", "scope", mgmt_scope_settings(b2, "lab"));
	b3 = mgmt_apply_scope_add(b2, req, A_ADDR, err, sizeof(err));
	if (b3 == NULL) {
		fail_msg("%s", err);
	}
	assert_int_equal(json_array_size(json_object_get(find(json_object_get(b3,
		"relationships"), "a-b"), "scopes")), 2);
	json_decref(b3);
	json_decref(req);
	json_decref(b2);
	json_decref(a);
	json_decref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_replicate_and_drift),
		cmocka_unit_test(test_policy_replicated),
		cmocka_unit_test(test_later_changes),
		cmocka_unit_test(test_create_scope_named_only_in_list),
		cmocka_unit_test(test_set_keeps_addresses),
		cmocka_unit_test(test_scope_add_existing_other_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
