/*
 * Unit tests for controlplane/config.c (JSON -> struct dp_config -> JSON) and for the lookups
 * of dataplane/dp_config.c.
 *
 * Most refusals are one table: a valid base document, one or two changes to it (JSON path ->
 * new value, or deletion), and the exact message the parser must give. Adding a rule to the
 * parser means adding a row here.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "dp_config.h"

#ifndef LW_SRCDIR
#error "LW_SRCDIR must name the source tree (tests/meson.build defines it)"
#endif

#define EXAMPLE_PATH LW_SRCDIR "/etc/leasewire.json"

static uint32_t ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return ntohl(a.s_addr);
}

/* ------------------------------------------------------------------------------------------ */
/* Deep comparison                                                                             */

static void assert_optlist_equal(const struct dp_optlist *a, const struct dp_optlist *b)
{
	assert_int_equal(a->n, b->n);
	for (uint32_t i = 0; i < a->n; i++) {
		assert_int_equal(a->v[i].code, b->v[i].code);
		assert_int_equal(a->v[i].len, b->v[i].len);
		if (a->v[i].len != 0) {
			assert_memory_equal(a->v[i].data, b->v[i].data, a->v[i].len);
		}
	}
}

static void assert_ranges_equal(const struct dp_range *a, const struct dp_range *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(a[i].first, b[i].first);
		assert_int_equal(a[i].last, b[i].last);
	}
}

static void assert_scope_equal(const struct dp_scope *a, const struct dp_scope *b)
{
	assert_string_equal(a->name, b->name);
	assert_int_equal(a->index, b->index);
	assert_int_equal(a->subnet, b->subnet);
	assert_int_equal(a->mask, b->mask);
	assert_int_equal(a->prefix_len, b->prefix_len);
	assert_int_equal(a->active, b->active);
	assert_int_equal(a->n_ranges, b->n_ranges);
	assert_ranges_equal(a->ranges, b->ranges, a->n_ranges);
	assert_int_equal(a->n_exclusions, b->n_exclusions);
	assert_ranges_equal(a->exclusions, b->exclusions, a->n_exclusions);
	assert_int_equal(a->n_reservations, b->n_reservations);
	for (uint32_t i = 0; i < a->n_reservations; i++) {
		const struct dp_reservation *x = &a->reservations[i], *y = &b->reservations[i];

		assert_int_equal(dp_client_key_cmp(&x->key, &y->key), 0);
		assert_int_equal(x->addr, y->addr);
		assert_string_equal(x->hostname, y->hostname);
		assert_optlist_equal(&x->opts, &y->opts);
		assert_int_equal(a->res_by_addr[i], b->res_by_addr[i]);
	}
	assert_int_equal(a->n_relays, b->n_relays);
	for (uint32_t i = 0; i < a->n_relays; i++) {
		assert_int_equal(a->relays[i], b->relays[i]);
	}
	assert_int_equal(a->interface, b->interface);
	assert_int_equal(a->lease_time, b->lease_time);
	assert_int_equal(a->min_lease_time, b->min_lease_time);
	assert_int_equal(a->max_lease_time, b->max_lease_time);
	assert_int_equal(a->renew_time, b->renew_time);
	assert_int_equal(a->rebind_time, b->rebind_time);
	assert_int_equal(a->offer_hold, b->offer_hold);
	assert_int_equal(a->decline_hold, b->decline_hold);
	assert_int_equal(a->conflict_attempts, b->conflict_attempts);
	assert_int_equal(a->conflict_timeout_ms, b->conflict_timeout_ms);
	assert_int_equal(a->conflict_own, b->conflict_own);
	assert_int_equal(a->bootp, b->bootp);
	assert_int_equal(a->next_server, b->next_server);
	assert_string_equal(a->boot_file, b->boot_file);
	assert_optlist_equal(&a->opts, &b->opts);
}

static void assert_config_equal(const struct dp_config *a, const struct dp_config *b)
{
	assert_int_equal(a->workers, b->workers);
	assert_int_equal(a->log_interval, b->log_interval);
	assert_int_equal(a->idle_sleep_us, b->idle_sleep_us);
	assert_int_equal(a->reclaim_interval, b->reclaim_interval);
	assert_int_equal(a->mbufs, b->mbufs);
	assert_int_equal(a->durability, b->durability);
	assert_string_equal(a->store_path, b->store_path);
	assert_int_equal(a->store_map_mb, b->store_map_mb);
	assert_int_equal(a->store_max_mb, b->store_max_mb);
	assert_string_equal(a->control_socket, b->control_socket);
	assert_string_equal(a->control_group, b->control_group);
	assert_int_equal(a->control_max_request, b->control_max_request);
	assert_int_equal(a->n_relay_allow, b->n_relay_allow);
	assert_ranges_equal(a->relay_allow, b->relay_allow, a->n_relay_allow);
	assert_int_equal(a->n_ports, b->n_ports);
	assert_int_equal(a->n_relationships, b->n_relationships);
	for (uint32_t i = 0; i < a->n_relationships; i++) {
		const struct dp_relationship *x = &a->relationships[i], *y = &b->relationships[i];

		assert_string_equal(x->name, y->name);
		assert_int_equal(x->role, y->role);
		assert_int_equal(x->mode, y->mode);
		assert_int_equal(x->standby, y->standby);
		assert_int_equal(x->load_balance_percent, y->load_balance_percent);
		assert_int_equal(x->reserve_percent, y->reserve_percent);
		assert_int_equal(x->local_addr, y->local_addr);
		assert_int_equal(x->partner_addr, y->partner_addr);
		assert_int_equal(x->port, y->port);
		assert_int_equal(x->partner_port, y->partner_port);
		assert_int_equal(x->mclt, y->mclt);
		assert_int_equal(x->max_response_delay, y->max_response_delay);
		assert_int_equal(x->max_unacked, y->max_unacked);
		assert_int_equal(x->auto_state_transition, y->auto_state_transition);
		assert_int_equal(x->state_switch_interval, y->state_switch_interval);
		assert_int_equal(x->load_balance_max_seconds, y->load_balance_max_seconds);
		assert_string_equal(x->shared_secret, y->shared_secret);
		assert_int_equal(x->digest, y->digest);
		assert_int_equal(x->n_scopes, y->n_scopes);
		assert_memory_equal(x->scopes, y->scopes, sizeof(*x->scopes) * x->n_scopes);
	}
	assert_int_equal(a->n_superscopes, b->n_superscopes);
	for (uint32_t i = 0; i < a->n_superscopes; i++) {
		const struct dp_superscope *x = &a->superscopes[i], *y = &b->superscopes[i];

		assert_string_equal(x->name, y->name);
		assert_int_equal(x->n_members, y->n_members);
		assert_memory_equal(x->members, y->members, sizeof(*x->members) * x->n_members);
	}
	for (uint32_t i = 0; i < a->n_ports; i++) {
		assert_string_equal(a->ports[i].name, b->ports[i].name);
		assert_string_equal(a->ports[i].device, b->ports[i].device);
	}
	assert_int_equal(a->n_ifaces, b->n_ifaces);
	for (uint32_t i = 0; i < a->n_ifaces; i++) {
		assert_string_equal(a->ifaces[i].name, b->ifaces[i].name);
		assert_int_equal(a->ifaces[i].port, b->ifaces[i].port);
		assert_int_equal(a->ifaces[i].vlan, b->ifaces[i].vlan);
		assert_int_equal(a->ifaces[i].addr, b->ifaces[i].addr);
		assert_int_equal(a->ifaces[i].prefix_len, b->ifaces[i].prefix_len);
	}
	assert_int_equal(a->n_scopes, b->n_scopes);
	for (uint32_t i = 0; i < a->n_scopes; i++) {
		assert_scope_equal(&a->scopes[i], &b->scopes[i]);
	}
}

/* parse(dump(to_json(c))) must equal c. */
static void assert_round_trip(const struct dp_config *c)
{
	char err[512] = "";
	json_t *j = cp_config_to_json(c);
	struct dp_config *back;
	char *text;

	assert_non_null(j);
	text = json_dumps(j, JSON_INDENT(2));
	assert_non_null(text);
	back = cp_config_parse(text, err, sizeof(err));
	if (back == NULL) {
		print_error("round trip refused: %s\n%s\n", err, text);
	}
	assert_non_null(back);
	assert_config_equal(c, back);
	dp_config_free(back);
	free(text);
	json_decref(j);
}

/* Sorted-order invariants the data plane relies on (dp_config.h). */
static void assert_invariants(const struct dp_config *c)
{
	for (uint32_t i = 0; i < c->n_scopes; i++) {
		const struct dp_scope *s = &c->scopes[i];

		assert_int_equal(s->index, i);
		assert_int_equal(s->subnet & s->mask, s->subnet);
		for (uint32_t j = 1; j < s->n_ranges; j++) {
			assert_true(s->ranges[j - 1].last < s->ranges[j].first);
		}
		for (uint32_t j = 1; j < s->n_exclusions; j++) {
			assert_true(s->exclusions[j - 1].last < s->exclusions[j].first);
		}
		for (uint32_t j = 1; j < s->n_reservations; j++) {
			assert_true(dp_client_key_cmp(&s->reservations[j - 1].key,
						      &s->reservations[j].key) < 0);
			assert_true(s->reservations[s->res_by_addr[j - 1]].addr <
				    s->reservations[s->res_by_addr[j]].addr);
		}
		for (uint32_t j = 1; j < s->n_relays; j++) {
			assert_true(s->relays[j - 1] < s->relays[j]);
		}
		for (uint32_t j = 1; j < s->opts.n; j++) {
			assert_true(s->opts.v[j - 1].code < s->opts.v[j].code);
		}
	}
}

/* ------------------------------------------------------------------------------------------ */
/* The base document and its mutations                                                         */

static const char base_json[] =
	"{"
	" \"server\": { \"workers\": 2 },"
	" \"ports\": ["
	"  { \"name\": \"p0\", \"device\": \"net_null0\", \"interfaces\": ["
	"     { \"address\": \"198.18.0.1/24\" },"
	"     { \"vlan\": 10, \"address\": \"198.18.10.1/24\" } ] },"
	"  { \"name\": \"p1\", \"device\": \"net_null1\", \"interfaces\": ["
	"     { \"address\": \"198.18.20.1/24\" } ] }"
	" ],"
	" \"scopes\": ["
	"  { \"name\": \"a\", \"subnet\": \"198.18.0.0/24\","
	"    \"pools\": [ \"198.18.0.100 - 198.18.0.200\" ],"
	"    \"exclusions\": [ \"198.18.0.150\" ],"
	"    \"reservations\": ["
	"      { \"hw-address\": \"02:00:00:00:00:01\", \"ip-address\": \"198.18.0.50\" },"
	"      { \"client-id\": \"01:02\", \"ip-address\": \"198.18.0.51\" } ],"
	"    \"options\": { \"routers\": [ \"198.18.0.1\" ] } },"
	"  { \"name\": \"b\", \"subnet\": \"198.18.1.0/24\","
	"    \"pools\": [ \"198.18.1.10 - 198.18.1.250\" ],"
	"    \"relay-addresses\": [ \"198.18.0.2\" ], \"interface\": \"p1\" }"
	" ]"
	"}";

struct bad {
	const char *path;	/* change at this JSON path; NULL: value is the whole document */
	const char *value;	/* new JSON value; NULL deletes; "@long:N", "@hex:N" generate */
	const char *path2;	/* optional second change */
	const char *value2;
	const char *expect;	/* must occur in the error message */
};

#define X31 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define X62 X31 X31
#define S0 "scopes[0]"
#define S1 "scopes[1]"
#define CUSTOM(c, t, v) "[{\"code\": " #c ", \"type\": \"" t "\", \"value\": " v "}]"

static const struct bad bad[] = {
	/* management channel */
	{ "server.management", "[]", NULL, NULL,
	  "server.management: must be an object, got []" },
	{ "server.management", "{\"address\": \"0.0.0.0\", \"partners\": [{\"address\": \"198.18.0.2\", \"shared-secret\": \"k\"}]}", NULL, NULL,
	  "server.management: address 0.0.0.0: name this server's own address" },
	{ "server.management", "{\"address\": \"198.18.0.1\"}", NULL, NULL,
	  "server.management: \"partners\" is missing" },
	{ "server.management", "{\"address\": \"198.18.0.1\", \"partners\": []}", NULL, NULL,
	  "server.management.partners: must be a list of 1..31 partners, got []" },
	{ "server.management", "{\"address\": \"198.18.0.1\", \"partners\": [{\"address\": \"198.18.0.2\"}]}", NULL, NULL,
	  "server.management.partners[0]: \"shared-secret\" is missing" },
	{ "server.management", "{\"address\": \"198.18.0.1\", \"partners\": [{\"address\": \"198.18.0.2\", \"shared-secret\": \"\"}]}", NULL, NULL,
	  "server.management.partners[0].shared-secret: must not be empty" },
	{ "server.management", "{\"address\": \"198.18.0.1\", \"partners\": [{\"address\": \"198.18.0.2\", \"shared-secret\": \"k\"}, {\"address\": \"198.18.0.2\", \"shared-secret\": \"j\"}]}", NULL, NULL,
	  "server.management.partners[1]: address 198.18.0.2 is already partners[0]" },
	/* failover relationships */
	{ "relationships", "[1]", NULL, NULL,
	  "relationships[0]: must be an object, got 1" },
	{ "relationships", "{}", NULL, NULL,
	  "relationships: must be a list of 0..31 relationships, got {}" },
	{ "relationships", "[{\"name\": \"pair\", \"local-address\": \"198.18.0.1\", \"partner-address\": \"198.18.0.2\", \"scopes\": [\"a\"]}]", NULL, NULL,
	  "relationships[0]: \"role\" is missing" },
	{ "relationships", "[{\"name\": \"pair\", \"role\": \"master\", \"local-address\": \"198.18.0.1\", \"partner-address\": \"198.18.0.2\", \"scopes\": [\"a\"]}]", NULL, NULL,
	  "relationships[0].role: must be \"primary\" or \"secondary\", got \"master\"" },
	{ "relationships", "[{\"name\": \"pair\", \"role\": \"primary\", \"local-address\": \"198.18.0.1\", \"partner-address\": \"198.18.0.2\", \"scopes\": [\"a\"], \"split\": 128}]", NULL, NULL,
	  "relationships[0]: unknown key \"split\"" },
	{ "relationships", "[{\"name\": \"pair\", \"role\": \"primary\", \"local-address\": \"198.18.0.1\", \"partner-address\": \"198.18.0.1\", \"scopes\": [\"a\"]}]", NULL, NULL,
	  "relationships[0].partner-address: is the local address" },
	{ "relationships", "[{\"name\": \"pair\", \"role\": \"primary\", \"local-address\": \"198.18.0.1\", \"partner-address\": \"198.18.0.2\", \"scopes\": [\"a\"], \"load-balance-percent\": 101}]", NULL, NULL,
	  "relationships[0].load-balance-percent: must be an integer 0..100, got 101" },
	{ "relationships", "[{\"name\": \"pair\", \"role\": \"primary\", \"local-address\": \"198.18.0.1\", \"partner-address\": \"198.18.0.2\", \"scopes\": [\"a\"], \"reserve-percent\": 10}]", NULL, NULL,
	  "relationships[0]: server-role and reserve-percent apply to mode \"hot-standby\" only" },
	{ "relationships", "[{\"name\": \"pair\", \"role\": \"primary\", \"local-address\": \"198.18.0.1\", \"partner-address\": \"198.18.0.2\", \"scopes\": [\"a\"], \"mode\": \"hot-standby\", \"load-balance-percent\": 60}]", NULL, NULL,
	  "relationships[0]: load-balance-percent applies to mode \"load-balance\" only" },
	{ "relationships", "[{\"name\": \"pair\", \"role\": \"primary\", \"local-address\": \"198.18.0.1\", \"partner-address\": \"198.18.0.2\", \"scopes\": [\"zz\"]}]", NULL, NULL,
	  "relationships[0].scopes[0]: must name a scope, got \"zz\"" },
	{ "relationships", "[{\"name\": \"pair\", \"role\": \"primary\", \"local-address\": \"198.18.0.1\", \"partner-address\": \"198.18.0.2\", \"scopes\": [\"a\"]}, {\"name\": \"other\", \"role\": \"primary\", \"local-address\": \"198.18.0.1\", \"partner-address\": \"198.18.0.2\", \"scopes\": [\"a\"]}]", NULL, NULL,
	  "relationships[1].scopes[0]: scope \"a\" is already in relationships[0]" },
	{ "relationships", "[{\"name\": \"pair\", \"role\": \"primary\", \"local-address\": \"198.18.0.1\", \"partner-address\": \"198.18.0.2\", \"scopes\": [\"a\"]}, {\"name\": \"pair\", \"role\": \"primary\", \"local-address\": \"198.18.0.1\", \"partner-address\": \"198.18.0.2\", \"scopes\": [\"b\"]}]", NULL, NULL,
	  "relationships[1].name: \"pair\" is already the name of relationships[0]" },
	{ "relationships", "[{\"name\": \"pair\", \"role\": \"primary\", \"local-address\": \"198.18.0.1\", \"partner-address\": \"198.18.0.2\", \"scopes\": [\"a\"], \"mclt\": 0}]", NULL, NULL,
	  "relationships[0].mclt: must be an integer 1..604800, got 0" },
	{ "relationships", "[{\"name\": \"pair\", \"role\": \"primary\", \"local-address\": \"198.18.0.1\", \"partner-address\": \"198.18.0.2\", \"scopes\": \"a\"}]", NULL, NULL,
	  "relationships[0].scopes: must be a list of scope names, got \"a\"" },
	{ "relationships", "[{\"name\": \"pair\", \"role\": \"primary\", \"local-address\": \"198.18.0.1\", \"partner-address\": \"198.18.0.2\", \"scopes\": [\"a\"], \"shared-secret-algorithm\": \"sha1\"}]", NULL, NULL,
	  "relationships[0].shared-secret-algorithm: must be \"hmac-sha256\" or \"hmac-md5\", got \"sha1\"" },
	{ "relationships", "[{\"name\": \"pair\", \"role\": \"primary\", \"local-address\": \"198.18.0.1\", \"partner-address\": \"198.18.0.2\", \"scopes\": [\"a\"], \"server-role\": \"passive\", \"mode\": \"hot-standby\"}]", NULL, NULL,
	  "relationships[0].server-role: must be \"active\" or \"standby\", got \"passive\"" },
	{ "relationships", "[{\"name\": \"pair\", \"role\": \"primary\", \"local-address\": \"198.18.0.1\", \"partner-address\": \"198.18.0.2\", \"scopes\": [\"a\"]}]", NULL, NULL,
	  "relationships: need server.store: failover state and unacked binding updates must be durable" },
	/* syntax and top level */
	{ NULL, "{\n  \"server\": {\n    \"workers\": 1,\n  }\n}", NULL, NULL,
	  "line 4 column 3: JSON syntax error: " },
	{ NULL, "{ \"ports\": [], \"ports\": [] }", NULL, NULL,
	  "line 1 column 22: JSON syntax error: duplicate object key near '\"ports\"'" },
	{ NULL, "", NULL, NULL, "line 1 column 0: JSON syntax error: " },
	{ NULL, "\"x\"", NULL, NULL, "line 1 column 3: JSON syntax error: '[' or '{' expected" },
	{ NULL, "[1]", NULL, NULL, "top level: must be an object, got [1]" },
	{ NULL, "{\"a\\\nb\": 1}", NULL, NULL,
	  "JSON syntax error: invalid escape near '\"a\\\\u000a'" },
	{ NULL, "{} {}", NULL, NULL, "line 1 column 4: JSON syntax error: end of file expected" },
	{ "scope", "[]", NULL, NULL,
	  "top level: unknown key \"scope\" (did you mean \"scopes\"?)" },
	{ "comment", "\"x\"", NULL, NULL, "top level: unknown key \"comment\"" },
	{ "com\nment\"", "1", NULL, NULL, "top level: unknown key \"com\\u000ament\\\"\"" },
	{ "ports", NULL, NULL, NULL, "top level: \"ports\" is missing" },
	{ "scopes", NULL, NULL, NULL, "top level: \"scopes\" is missing" },

	/* server */
	{ "server", "[]", NULL, NULL, "server: must be an object, got []" },
	{ "server.relay-allow", "\"198.18.0.2\"", NULL, NULL,
	  "server.relay-allow: must be a list of IPv4 addresses or prefixes" },
	{ "server.relay-allow", "[\"198.18.0.5/24\"]", NULL, NULL,
	  "server.relay-allow[0]: \"198.18.0.5/24\": the address has bits set beyond the /24 "
	  "prefix (the network is 198.18.0.0/24)" },
	{ "server.relay-allow", "[\"198.18.0.0/33\"]", NULL, NULL,
	  "server.relay-allow[0]: \"198.18.0.0/33\" is not an IPv4 address or prefix" },
	{ "server.relay-allow", "[\"198.18.0.0/\"]", NULL, NULL,
	  "server.relay-allow[0]: \"198.18.0.0/\" is not an IPv4 address or prefix" },
	{ "server.relay-allow", "[\"relay-1\"]", NULL, NULL, "server.relay-allow[0]: " },
	{ "server.relay-allow", "[7]", NULL, NULL,
	  "server.relay-allow[0]: must be an IPv4 address or prefix" },
	{ "server.relay-allow", "[\"198.18.0.0/24\", \"198.18.0.7\"]", NULL, NULL,
	  "server.relay-allow[1]: overlaps relay-allow[0]" },
	/* The checks of scopes[].relay-addresses (one parser for both lists): no 0.0.0.0, and
	 * a repeated entry named as such. */
	{ "server.relay-allow", "[\"198.18.0.9\", \"0.0.0.0\"]", NULL, NULL,
	  "server.relay-allow[1]: 0.0.0.0 is not a relay address" },
	{ "server.relay-allow", "[\"198.18.0.0/24\", \"198.18.0.0/24\"]", NULL, NULL,
	  "server.relay-allow[1]: 198.18.0.0/24 is already listed at relay-allow[0]" },
	{ "server.workers", "\"two\"", NULL, NULL,
	  "server.workers: must be an integer 1..64, got \"two\"" },
	{ "server.workers", "0", NULL, NULL, "server.workers: must be an integer 1..64, got 0" },
	{ "server.workers", "65", NULL, NULL, "server.workers: must be an integer 1..64, got 65" },
	{ "server.workers", "1.5", NULL, NULL,
	  "server.workers: must be an integer 1..64, got 1.5" },
	{ "server.wrokers", "1", NULL, NULL,
	  "server: unknown key \"wrokers\" (did you mean \"workers\"?)" },
	{ "server.log-interval", "-1", NULL, NULL,
	  "server.log-interval: must be an integer 0..86400, got -1" },
	{ "server.idle-sleep-us", "100001", NULL, NULL,
	  "server.idle-sleep-us: must be an integer 0..100000, got 100001" },
	{ "server.reclaim-interval", "0", NULL, NULL,
	  "server.reclaim-interval: must be an integer 1..3600, got 0" },
	{ "server.reclaim-interval", "3601", NULL, NULL,
	  "server.reclaim-interval: must be an integer 1..3600, got 3601" },
	{ "server.mbufs", "512", NULL, NULL,
	  "server.mbufs: must be an integer 1023..1048575, got 512" },
	{ "server.mbufs", "1048576", NULL, NULL,
	  "server.mbufs: must be an integer 1023..1048575, got 1048576" },
	{ "server.durability", "\"fast\"", NULL, NULL,
	  "server.durability: must be \"strict\" or \"relaxed\", got \"fast\"" },
	{ "server.control-max-request", "100", NULL, NULL,
	  "server.control-max-request: must be an integer 1024..67108864, got 100" },
	{ "server.store-map-size", "0", NULL, NULL,
	  "server.store-map-size: must be an integer 1..1048576, got 0" },
	{ "server.store-map-size", "70000", NULL, NULL,
	  "server.store-map-size: is larger than server.store-max-size" },
	{ "server.store", "@long:256", NULL, NULL,
	  "server.store: must be at most 255 characters, got 256" },
	{ "server.store", "false", NULL, NULL, "server.store: must be a string, got false" },
	{ "server.control-socket", "@long:108", NULL, NULL,
	  "server.control-socket: must be at most 107 characters, got 108" },

	/* ports and interfaces */
	{ "ports", "[]", NULL, NULL, "ports: must be a list of 1..16 ports, got []" },
	{ "ports", "{}", NULL, NULL, "ports: must be a list of 1..16 ports, got {}" },
	{ "ports[0].nmae", "\"x\"", NULL, NULL,
	  "ports[0]: unknown key \"nmae\" (did you mean \"name\"?)" },
	{ "ports[0].name", NULL, NULL, NULL, "ports[0]: \"name\" is missing" },
	{ "ports[1].name", "\"p0\"", NULL, NULL,
	  "ports[1].name: port name \"p0\" is already used by ports[0]" },
	{ "ports[0].name", "\"p 0\"", NULL, NULL,
	  "ports[0].name: name \"p 0\" may only contain letters, digits, '.', '-' and '_'" },
	{ "ports[0].name", "@long:64", NULL, NULL,
	  "ports[0].name: must be at most 63 characters, got 64" },
	{ "ports[0].name", "@long:62", NULL, NULL,
	  "ports[0].interfaces[1]: default name \"" X62 ".10\" is longer than 63 characters; "
	  "set \"name\"" },
	{ "ports[0].device", NULL, NULL, NULL, "ports[0]: \"device\" is missing" },
	{ "ports[0].device", "\"\"", NULL, NULL, "ports[0].device: must not be empty" },
	{ "ports[0].device", "@long:256", NULL, NULL,
	  "ports[0].device: must be at most 255 characters, got 256" },
	{ "ports[0].interfaces", "[]", NULL, NULL,
	  "ports[0].interfaces: must be a list of at least one interface, got []" },
	{ "ports[1].interfaces[0].adress", "\"198.18.20.1/24\"", NULL, NULL,
	  "ports[1].interfaces[0]: unknown key \"adress\" (did you mean \"address\"?)" },
	{ "ports[1].interfaces[0].address", NULL, NULL, NULL,
	  "ports[1].interfaces[0]: \"address\" is missing" },
	{ "ports[0].interfaces[1].vlan", "4095", NULL, NULL,
	  "ports[0].interfaces[1].vlan: must be an integer 0..4094, got 4095" },
	{ "ports[0].interfaces[1]",
	  "{\"name\": \"x\", \"vlan\": 0, \"address\": \"198.18.10.1/24\"}", NULL, NULL,
	  "ports[0].interfaces[1]: vlan 0 on port \"p0\" is already used by "
	  "ports[0].interfaces[0]" },
	{ "ports[1].interfaces[0].name", "\"p0\"", NULL, NULL,
	  "ports[1].interfaces[0].name: interface name \"p0\" is already used by "
	  "ports[0].interfaces[0]" },
	{ "ports[0].interfaces[1].vlan", "0", NULL, NULL,
	  "ports[0].interfaces[1]: interface name \"p0\" is already used by "
	  "ports[0].interfaces[0]" },
	{ "ports[1].interfaces[0].address", "\"198.18.0.1/24\"", NULL, NULL,
	  "ports[1].interfaces[0].address: address 198.18.0.1 is already used by "
	  "ports[0].interfaces[0]" },
	{ "ports[1].interfaces[0].address", "\"198.18.20.1/31\"", NULL, NULL,
	  "ports[1].interfaces[0].address: prefix length /31 is out of range 1..30" },
	{ "ports[1].interfaces[0].address", "\"198.18.20.1/0\"", NULL, NULL,
	  "ports[1].interfaces[0].address: prefix length /0 is out of range 1..30" },
	{ "ports[1].interfaces[0].address", "\"198.18.20.1\"", NULL, NULL,
	  "ports[1].interfaces[0].address: \"198.18.20.1\" is not an address with prefix length "
	  "like \"198.18.0.0/24\"" },
	{ "ports[1].interfaces[0].address", "\"198.18.20.1/24x\"", NULL, NULL,
	  "ports[1].interfaces[0].address: \"198.18.20.1/24x\" is not an address with prefix" },
	{ "ports[1].interfaces[0].address", "\"198.18.20.0/24\"", NULL, NULL,
	  "ports[1].interfaces[0].address: 198.18.20.0/24 is a network address, not a host "
	  "address" },
	{ "ports[1].interfaces[0].address", "\"198.18.20.255/24\"", NULL, NULL,
	  "ports[1].interfaces[0].address: 198.18.20.255/24 is a broadcast address, not a host "
	  "address" },

	/* scopes */
	{ "scopes", "[]", NULL, NULL, "scopes: must be a list of 1..4096 scopes, got []" },
	{ "scopes[2]", "7", NULL, NULL, "scopes[2]: must be an object, got 7" },
	{ S0 ".lease-tme", "600", NULL, NULL,
	  "scopes[0]: unknown key \"lease-tme\" (did you mean \"lease-time\"?)" },
	{ S0 ".name", NULL, NULL, NULL, "scopes[0]: \"name\" is missing" },
	{ S0 ".subnet", NULL, NULL, NULL, "scopes[0]: \"subnet\" is missing" },
	{ S1 ".name", "\"a\"", NULL, NULL,
	  "scopes[1].name: scope name \"a\" is already used by scopes[0]" },
	{ S0 ".name", "\"\"", NULL, NULL, "scopes[0].name: must not be empty" },
	{ S0 ".name", "@long:64", NULL, NULL,
	  "scopes[0].name: must be at most 63 characters, got 64" },
	{ S0 ".subnet", "\"198.18.0.1/24\"", NULL, NULL,
	  "scopes[0].subnet: 198.18.0.1/24 has host bits set; the network is 198.18.0.0/24" },
	{ S0 ".subnet", "\"198.18.0.0/31\"", NULL, NULL,
	  "scopes[0].subnet: prefix length /31 is out of range 1..30" },
	{ S0 ".subnet", "\"198.18.0/24\"", NULL, NULL,
	  "scopes[0].subnet: \"198.18.0/24\" is not an address with prefix length" },
	{ S1 ".subnet", "\"198.18.0.0/16\"", S1 ".pools", "[]",
	  "scopes[1].subnet: 198.18.0.0/16 overlaps subnet 198.18.0.0/24 of scope \"a\"" },
	{ S0 ".active", "\"yes\"", NULL, NULL,
	  "scopes[0].active: must be true or false, got \"yes\"" },

	/* pools */
	{ S1 ".pools[0]", "\"198.18.1.250 - 198.18.1.10\"", NULL, NULL,
	  "scopes[1].pools[0]: range 198.18.1.250-198.18.1.10 is reversed" },
	{ S1 ".pools[1]", "\"198.18.1.100-198.18.1.120\"", NULL, NULL,
	  "scopes[1].pools[1]: range 198.18.1.100-198.18.1.120 overlaps pools[0] "
	  "198.18.1.10-198.18.1.250" },
	{ S1 ".pools[0]", "\"198.18.1.200 - 198.18.1.220\"", S1 ".pools[1]",
	  "\"198.18.1.10 - 198.18.1.200\"",
	  "scopes[1].pools[1]: range 198.18.1.10-198.18.1.200 overlaps pools[0] "
	  "198.18.1.200-198.18.1.220" },
	{ S1 ".pools[0]", "\"198.18.2.10 - 198.18.2.20\"", NULL, NULL,
	  "scopes[1].pools[0]: range 198.18.2.10-198.18.2.20 is outside subnet 198.18.1.0/24" },
	{ S1 ".pools[0]", "\"198.18.1.0 - 198.18.1.20\"", NULL, NULL,
	  "scopes[1].pools[0]: range 198.18.1.0-198.18.1.20 includes the network address "
	  "198.18.1.0" },
	{ S1 ".pools[0]", "\"198.18.1.200 - 198.18.1.255\"", NULL, NULL,
	  "scopes[1].pools[0]: range 198.18.1.200-198.18.1.255 includes the broadcast address "
	  "198.18.1.255" },
	{ S1 ".pools[0]", "\"198.18.1.10 to 198.18.1.20\"", NULL, NULL,
	  "scopes[1].pools[0]: \"198.18.1.10 to 198.18.1.20\" is not a range like "
	  "\"198.18.0.100 - 198.18.0.200\"" },
	{ S1 ".pools[0]", "\"198.18.1.10\"", NULL, NULL,
	  "scopes[1].pools[0]: \"198.18.1.10\" is not a range like" },
	{ S1 ".pools[0]", "{\"first\": \"198.18.1.10\", \"lst\": \"198.18.1.20\"}", NULL, NULL,
	  "scopes[1].pools[0]: unknown key \"lst\" (did you mean \"last\"?)" },
	{ S1 ".pools[0]", "{\"first\": \"198.18.1.10\"}", NULL, NULL,
	  "scopes[1].pools[0]: \"last\" is missing" },
	{ S1 ".pools[0]", "{\"first\": \"198.18.1.10\", \"last\": \"198.18.1.\"}", NULL, NULL,
	  "scopes[1].pools[0].last: \"198.18.1.\" is not an IPv4 address" },
	{ S1 ".pools", "\"198.18.1.10 - 198.18.1.20\"", NULL, NULL,
	  "scopes[1].pools: must be a list of ranges, got \"198.18.1.10 - 198.18.1.20\"" },
	{ S0 ".pools[0]", "\"198.18.0.1 - 198.18.0.200\"", NULL, NULL,
	  "scopes[0].pools: 198.18.0.1, the address of interface \"p0\", is in a pool; exclude it "
	  "or shrink the range" },

	/* exclusions */
	{ S0 ".exclusions[1]", "\"198.18.0.10\"", NULL, NULL,
	  "scopes[0].exclusions[1]: 198.18.0.10 is not inside a single pool range" },
	{ S0 ".exclusions[1]", "\"198.18.0.190 - 198.18.0.210\"", NULL, NULL,
	  "scopes[0].exclusions[1]: 198.18.0.190-198.18.0.210 is not inside a single pool range" },
	{ S0 ".exclusions[1]", "\"198.18.0.160 - 198.18.0.155\"", NULL, NULL,
	  "scopes[0].exclusions[1]: range 198.18.0.160-198.18.0.155 is reversed" },
	{ S0 ".exclusions[1]", "\"198.18.0.140 - 198.18.0.155\"", NULL, NULL,
	  "scopes[0].exclusions[1]: 198.18.0.140-198.18.0.155 overlaps exclusions[0] "
	  "198.18.0.150" },
	{ S0 ".exclusions[1]", "true", NULL, NULL,
	  "scopes[0].exclusions[1]: must be an address, a range \"first - last\" or" },

	/* reservations */
	{ S0 ".reservations[0].client-id", "\"01:02:03\"", NULL, NULL,
	  "scopes[0].reservations[0]: has both \"hw-address\" and \"client-id\"; use one" },
	{ S0 ".reservations[0].hw-address", NULL, NULL, NULL,
	  "scopes[0].reservations[0]: needs \"hw-address\" or \"client-id\"" },
	{ S0 ".reservations[0].hw-address", "\"02:00:00:00:01\"", NULL, NULL,
	  "scopes[0].reservations[0].hw-address: \"02:00:00:00:01\" is not a MAC address like "
	  "\"02:00:5e:12:00:05\"" },
	{ S0 ".reservations[0].hw-address", "\"02-00-00-00-00-01\"", NULL, NULL,
	  "scopes[0].reservations[0].hw-address: \"02-00-00-00-00-01\" is not a MAC address" },
	{ S0 ".reservations[1].client-id", "\"0g\"", NULL, NULL,
	  "scopes[0].reservations[1].client-id: \"0g\" is not hex bytes like \"01:02:03\" or "
	  "\"010203\"" },
	{ S0 ".reservations[1].client-id", "\"01:2\"", NULL, NULL,
	  "scopes[0].reservations[1].client-id: \"01:2\" is not hex bytes" },
	{ S0 ".reservations[1].client-id", "\"\"", NULL, NULL,
	  "scopes[0].reservations[1].client-id: must not be empty" },
	{ S0 ".reservations[1].client-id", "@hex:65", NULL, NULL,
	  "scopes[0].reservations[1].client-id: must be at most 64 bytes" },
	{ S0 ".reservations[0].ip-address", NULL, NULL, NULL,
	  "scopes[0].reservations[0]: \"ip-address\" is missing" },
	{ S0 ".reservations[0].ip-address", "\"198.18.9.4\"", NULL, NULL,
	  "scopes[0].reservations[0].ip-address: 198.18.9.4 is outside subnet 198.18.0.0/24" },
	{ S0 ".reservations[0].ip-address", "\"198.18.0.255\"", NULL, NULL,
	  "scopes[0].reservations[0].ip-address: 198.18.0.255 is the broadcast address of subnet "
	  "198.18.0.0/24" },
	{ S0 ".reservations[0].ip-address", "\"198.18.0.150\"", NULL, NULL,
	  "scopes[0].reservations[0].ip-address: 198.18.0.150 is reserved but excluded by "
	  "198.18.0.150" },
	{ S0 ".reservations[0].ip-address", "\"198.18.0.1\"", NULL, NULL,
	  "scopes[0].reservations[0].ip-address: 198.18.0.1 is the address of interface \"p0\"" },
	{ S0 ".reservations[1].ip-address", "\"198.18.0.50\"", NULL, NULL,
	  "scopes[0].reservations[1].ip-address: 198.18.0.50 is already reserved by "
	  "reservations[0]" },
	{ S0 ".reservations[2]", "{\"hw-address\": \"02:00:00:00:00:01\", "
	  "\"ip-address\": \"198.18.0.52\"}", NULL, NULL,
	  "scopes[0].reservations[2].hw-address: hw-address 02:00:00:00:00:01 already has a "
	  "reservation (reservations[0])" },
	{ S0 ".reservations[2]", "{\"client-id\": \"0102\", \"ip-address\": \"198.18.0.52\"}",
	  NULL, NULL,
	  "scopes[0].reservations[2].client-id: client-id 01:02 already has a reservation "
	  "(reservations[1])" },
	{ S0 ".reservations[0].hostname", "\"my printer\"", NULL, NULL,
	  "scopes[0].reservations[0].hostname: hostname \"my printer\" may only contain letters, "
	  "digits, '-' and '.'" },
	{ S0 ".reservations[0].hostname", "@long:64", NULL, NULL,
	  "scopes[0].reservations[0].hostname: must be at most 63 characters, got 64" },
	{ S0 ".reservations[0].hostnme", "\"x\"", NULL, NULL,
	  "scopes[0].reservations[0]: unknown key \"hostnme\" (did you mean \"hostname\"?)" },
	{ S0 ".reservations[0].options", "{\"custom\": " CUSTOM(51, "uint32", "60") "}", NULL, NULL,
	  "scopes[0].reservations[0].options.custom[0].code: option 51 is written by the server: "
	  "the lease time comes from lease-time, min-lease-time and max-lease-time" },
	{ S0 ".reservations", "{}", NULL, NULL,
	  "scopes[0].reservations: must be a list of reservations, got {}" },

	/* relay addresses */
	{ S1 ".relay-addresses[1]", "\"198.18.0.2\"", NULL, NULL,
	  "scopes[1].relay-addresses[1]: 198.18.0.2 is already listed at relay-addresses[0]" },
	{ S0 ".relay-addresses", "[\"198.18.0.2\"]", NULL, NULL,
	  "scopes[1].relay-addresses: 198.18.0.2 is already a relay address of scope \"a\"" },
	{ S1 ".relay-addresses[0]", "\"0.0.0.0\"", NULL, NULL,
	  "scopes[1].relay-addresses[0]: 0.0.0.0 is not a relay address" },
	{ S1 ".relay-addresses[0]", "\"198.18.0.256\"", NULL, NULL,
	  "scopes[1].relay-addresses[0]: \"198.18.0.256\" is not an IPv4 address" },
	{ S1 ".relay-addresses[0]", "3323068418", NULL, NULL,
	  "scopes[1].relay-addresses[0]: must be an IPv4 address like \"198.18.0.1\", "
	  "got 3323068418" },

	/* interface binding */
	{ S1 ".interface", "\"p9\"", NULL, NULL, "scopes[1].interface: no interface named \"p9\"" },
	{ S1 ".interface", "2", NULL, NULL,
	  "scopes[1].interface: must be an interface name, got 2" },
	{ S0 ".interface", "\"p1\"", NULL, NULL,
	  "scopes[1].interface: interface \"p1\" is already bound to scope \"a\"" },

	/* times */
	{ S0 ".lease-time", "59", NULL, NULL,
	  "scopes[0].lease-time: must be an integer 60..4294967294, got 59" },
	{ S0 ".lease-time", "4294967295", NULL, NULL,
	  "scopes[0].lease-time: must be an integer 60..4294967294, got 4294967295" },
	{ S0 ".min-lease-time", "7200", NULL, NULL,
	  "scopes[0].min-lease-time: 7200 is greater than lease-time 3600" },
	{ S0 ".max-lease-time", "600", NULL, NULL,
	  "scopes[0].max-lease-time: 600 is less than lease-time 3600" },
	{ S0 ".lease-time", "100000", NULL, NULL,
	  "scopes[0].max-lease-time: the default 86400 is less than lease-time 100000" },
	{ S0 ".renew-time", "3000", S0 ".rebind-time", "2000",
	  "scopes[0].renew-time: 3000 must be less than rebind-time 2000" },
	{ S0 ".rebind-time", "3600", NULL, NULL,
	  "scopes[0].rebind-time: 3600 must be less than lease-time 3600" },
	{ S0 ".renew-time", "3200", NULL, NULL,
	  "scopes[0].renew-time: 3200 must be less than the derived rebind-time 3150 "
	  "(lease-time * 7 / 8)" },
	{ S0 ".rebind-time", "1000", NULL, NULL,
	  "scopes[0].rebind-time: 1000 must be greater than the derived renew-time 1800 "
	  "(lease-time / 2)" },
	{ S0 ".offer-hold", "0", NULL, NULL,
	  "scopes[0].offer-hold: must be an integer 1..3600, got 0" },
	{ S0 ".decline-hold", "0", NULL, NULL,
	  "scopes[0].decline-hold: must be an integer 1..4294967294, got 0" },
	{ "server.conflict-detection-attempts", "6", NULL, NULL,
	  "server.conflict-detection-attempts: must be an integer 0..5, got 6" },
	{ "server.conflict-detection-timeout", "5000.5", NULL, NULL,
	  "server.conflict-detection-timeout: must be an integer 10..5000, got 5000.5" },
	{ S0 ".conflict-detection-attempts", "6", NULL, NULL,
	  "scopes[0].conflict-detection-attempts: must be an integer 0..5, got 6" },
	{ S0 ".conflict-detection-timeout", "5", NULL, NULL,
	  "scopes[0].conflict-detection-timeout: must be an integer 10..5000, got 5" },
	/* The offer hold must outlast the probes and the offer-delay (issue 11). */
	{ S0 ".conflict-detection-attempts", "3", S0 ".offer-hold", "1",
	  "scopes[0].offer-hold: 1 s does not outlast the wait before the OFFER is sent (3 "
	  "conflict-detection probe(s) of 500 ms and an offer-delay of 0 ms: 1500 ms)" },
	{ "server.conflict-detection-attempts", "4", S0 ".offer-hold", "2",
	  "scopes[0].offer-hold: 2 s does not outlast the wait before the OFFER is sent (4 "
	  "conflict-detection probe(s) of 500 ms and an offer-delay of 0 ms: 2000 ms)" },
	{ S0 ".offer-delay", "1000", S0 ".offer-hold", "1",
	  "scopes[0].offer-hold: 1 s does not outlast the wait before the OFFER is sent (0 "
	  "conflict-detection probe(s) of 500 ms and an offer-delay of 1000 ms: 1000 ms): the "
	  "address would be free for another client meanwhile; make offer-hold longer than that" },
	{ S0 ".bootp", "1", NULL, NULL, "scopes[0].bootp: must be true or false, got 1" },
	{ S0 ".next-server", "\"tftp\"", NULL, NULL,
	  "scopes[0].next-server: \"tftp\" is not an IPv4 address" },
	{ S0 ".boot-file", "@long:128", NULL, NULL,
	  "scopes[0].boot-file: must be at most 127 characters, got 128" },
	{ S0 ".boot-file", "\"\"", NULL, NULL, "scopes[0].boot-file: must not be empty" },

	/* options */
	{ S0 ".options", "[]", NULL, NULL, "scopes[0].options: must be an object, got []" },
	{ S0 ".options.routrs", "[]", NULL, NULL,
	  "scopes[0].options: unknown key \"routrs\" (did you mean \"routers\"?)" },
	{ S0 ".options.routers", "\"198.18.0.1\"", NULL, NULL,
	  "scopes[0].options.routers: must be a list of 1..256 IPv4 addresses, got "
	  "\"198.18.0.1\"" },
	{ S0 ".options.routers", "[]", NULL, NULL,
	  "scopes[0].options.routers: must be a list of 1..256 IPv4 addresses, got []" },
	{ S0 ".options.routers[1]", "\"1.2.3\"", NULL, NULL,
	  "scopes[0].options.routers[1]: \"1.2.3\" is not an IPv4 address" },
	{ S0 ".options.domain-name", "\"\"", NULL, NULL,
	  "scopes[0].options.domain-name: must not be empty" },
	{ S0 ".options.domain-name", "@long:1025", NULL, NULL,
	  "scopes[0].options.domain-name: must be at most 1024 bytes, got 1025" },
	{ S0 ".options.interface-mtu", "65536", NULL, NULL,
	  "scopes[0].options.interface-mtu: must be an integer 0..65535, got 65536" },
	{ S0 ".options.broadcast-address", "[\"198.18.0.255\"]", NULL, NULL,
	  "scopes[0].options.broadcast-address: must be an IPv4 address like \"198.18.0.1\", got "
	  "[\"198.18.0.255\"]" },
	{ S0 ".options.custom", CUSTOM(1, "ipv4", "\"255.255.255.0\""), NULL, NULL,
	  "scopes[0].options.custom[0].code: option 1 is written by the server: the subnet mask is "
	  "derived from the scope's subnet" },
	{ S0 ".options.custom", CUSTOM(53, "uint8", "1"), NULL, NULL,
	  "scopes[0].options.custom[0].code: option 53 is written by the server" },
	{ S0 ".options.custom", CUSTOM(54, "ipv4", "\"198.18.0.1\""), NULL, NULL,
	  "scopes[0].options.custom[0].code: option 54 is written by the server: the server "
	  "identifier is the interface address" },
	{ S0 ".options.custom", CUSTOM(58, "uint32", "100"), NULL, NULL,
	  "scopes[0].options.custom[0].code: option 58 is written by the server: the renewal time "
	  "(T1) comes from renew-time" },
	{ S0 ".options.custom", CUSTOM(82, "hex", "\"01\""), NULL, NULL,
	  "scopes[0].options.custom[0].code: option 82 is written by the server" },
	{ S0 ".options.custom", CUSTOM(0, "hex", "\"01\""), NULL, NULL,
	  "scopes[0].options.custom[0].code: must be an integer 1..254, got 0" },
	{ S0 ".options.custom", CUSTOM(255, "hex", "\"01\""), NULL, NULL,
	  "scopes[0].options.custom[0].code: must be an integer 1..254, got 255" },
	{ S0 ".options.custom", CUSTOM(3, "ipv4-list", "[\"198.18.0.1\"]"), NULL, NULL,
	  "scopes[0].options.custom[0].code: option 3 is already set by \"routers\"" },
	{ S0 ".options", "{\"custom\": " CUSTOM(3, "ipv4-list", "[\"198.18.0.1\"]") ", "
	  "\"routers\": [\"198.18.0.1\"]}", NULL, NULL,
	  "scopes[0].options.routers: option 3 is already set by custom[0]" },
	{ S0 ".options.custom", "[{\"code\": 66, \"type\": \"string\", \"value\": \"a\"}, "
	  "{\"code\": 66, \"type\": \"string\", \"value\": \"b\"}]", NULL, NULL,
	  "scopes[0].options.custom[1].code: option 66 is already set by custom[0]" },
	{ S0 ".options.custom", CUSTOM(66, "ipv6", "\"::1\""), NULL, NULL,
	  "scopes[0].options.custom[0].type: unknown type \"ipv6\"; use one of ipv4, ipv4-list, "
	  "string, bool, uint8, uint16, uint32, int32, hex" },
	{ S0 ".options.custom", CUSTOM(23, "uint8", "300"), NULL, NULL,
	  "scopes[0].options.custom[0].value: must be an integer 0..255, got 300" },
	{ S0 ".options.custom", CUSTOM(26, "uint16", "-1"), NULL, NULL,
	  "scopes[0].options.custom[0].value: must be an integer 0..65535, got -1" },
	{ S0 ".options.custom", CUSTOM(24, "uint32", "4294967296"), NULL, NULL,
	  "scopes[0].options.custom[0].value: must be an integer 0..4294967295, got 4294967296" },
	{ S0 ".options.custom", CUSTOM(2, "int32", "2147483648"), NULL, NULL,
	  "scopes[0].options.custom[0].value: must be an integer -2147483648..2147483647, got "
	  "2147483648" },
	{ S0 ".options.custom", CUSTOM(19, "bool", "\"no\""), NULL, NULL,
	  "scopes[0].options.custom[0].value: must be true or false, got \"no\"" },
	{ S0 ".options.custom", CUSTOM(43, "hex", "\"01:02:3\""), NULL, NULL,
	  "scopes[0].options.custom[0].value: \"01:02:3\" is not hex bytes" },
	{ S0 ".options.custom", "[{\"code\": 43, \"type\": \"hex\"}]",
	  S0 ".options.custom[0].value", "@hex:1025",
	  "scopes[0].options.custom[0].value: must be at most 1024 bytes" },
	{ S0 ".options.custom", "[{\"code\": 43, \"type\": \"hex\"}]", NULL, NULL,
	  "scopes[0].options.custom[0]: \"value\" is missing" },
	{ S0 ".options.custom", "[{\"code\": 43, \"type\": \"hex\", \"value\": \"01\", "
	  "\"vaule\": 1}]", NULL, NULL,
	  "scopes[0].options.custom[0]: unknown key \"vaule\" (did you mean \"value\"?)" },
	{ S0 ".options.custom", "{}", NULL, NULL,
	  "scopes[0].options.custom: must be a list of {\"code\", \"type\", \"value\"}, got {}" },
	{ S0 ".options.custom", CUSTOM(150, "ipv4-list", "[\"198.18.0.1\", 7]"), NULL, NULL,
	  "scopes[0].options.custom[0].value[1]: must be an IPv4 address like \"198.18.0.1\", "
	  "got 7" },
	/* superscopes */
	{ "superscopes", "{}", NULL, NULL, "superscopes: must be a list of superscopes, got {}" },
	{ "superscopes", "[{\"name\": \"s\", \"scopes\": []}]", NULL, NULL,
	  "superscopes[0].scopes: must be a list of 1.. scope names, got []" },
	{ "superscopes", "[{\"name\": \"s\", \"scopes\": [\"a\", \"c\"]}]", NULL, NULL,
	  "superscopes[0].scopes[1]: must name a scope, got \"c\"" },
	{ "superscopes", "[{\"scopes\": [\"a\"]}]", NULL, NULL,
	  "superscopes[0]: \"name\" is missing" },
	{ "superscopes", "[{\"name\": \"s\", \"scopes\": [\"a\", \"b\"]}, "
	  "{\"name\": \"t\", \"scopes\": [\"b\"]}]", NULL, NULL,
	  "superscopes[1].scopes[0]: scope \"b\" is already in superscopes[0] (a scope belongs "
	  "to one superscope)" },
	{ "superscopes", "[{\"name\": \"s\", \"scopes\": [\"a\", \"a\"]}]", NULL, NULL,
	  "superscopes[0].scopes[1]: scope \"a\" is already in superscopes[0]" },
	{ "superscopes", "[{\"name\": \"s\", \"scopes\": [\"a\"]}, "
	  "{\"name\": \"s\", \"scopes\": [\"b\"]}]", NULL, NULL,
	  "superscopes[1].name: \"s\" is already the name of superscopes[0]" },
};

#define N_BAD (sizeof(bad) / sizeof(bad[0]))

static json_t *make_value(const char *v)
{
	char *s;
	json_t *j;
	size_t n;

	if (strncmp(v, "@long:", 6) == 0 || strncmp(v, "@hex:", 5) == 0) {
		bool hex = v[1] == 'h';

		n = strtoul(strchr(v, ':') + 1, NULL, 10) * (hex ? 2 : 1);
		s = malloc(n + 1);
		assert_non_null(s);
		memset(s, hex ? 'a' : 'x', n);
		s[n] = '\0';
		j = json_string(s);
		free(s);
		return j;
	}
	j = json_loads(v, JSON_DECODE_ANY, NULL);
	assert_non_null(j);
	return j;
}

/* Set (or delete, when @val is NULL) the value at a path like "scopes[1].pools[0]". */
static void set_path(json_t *root, const char *path, json_t *val)
{
	json_t *cur = root;
	const char *s = path;

	for (;;) {
		char key[64];
		size_t idx = 0;
		bool is_idx = *s == '[';

		if (is_idx) {
			char *end;

			idx = strtoul(s + 1, &end, 10);
			assert_int_equal(*end, ']');
			s = end + 1;
		} else {
			size_t n = strcspn(s, ".[");

			assert_true(n < sizeof(key));
			memcpy(key, s, n);
			key[n] = '\0';
			s += n;
		}
		if (*s == '.') {
			s++;
		}
		if (*s == '\0') {
			if (is_idx && val == NULL) {
				assert_int_equal(json_array_remove(cur, idx), 0);
			} else if (is_idx && idx < json_array_size(cur)) {
				assert_int_equal(json_array_set_new(cur, idx, val), 0);
			} else if (is_idx) {
				assert_int_equal(json_array_append_new(cur, val), 0);
			} else if (val == NULL) {
				assert_int_equal(json_object_del(cur, key), 0);
			} else {
				assert_int_equal(json_object_set_new(cur, key, val), 0);
			}
			return;
		}
		cur = is_idx ? json_array_get(cur, idx) : json_object_get(cur, key);
		assert_non_null(cur);
	}
}

static char *build(const struct bad *b)
{
	json_t *root;
	char *text;

	if (b->path == NULL) {
		text = strdup(b->value);
		assert_non_null(text);
		return text;
	}
	root = json_loads(base_json, 0, NULL);
	assert_non_null(root);
	set_path(root, b->path, b->value != NULL ? make_value(b->value) : NULL);
	if (b->path2 != NULL) {
		set_path(root, b->path2, b->value2 != NULL ? make_value(b->value2) : NULL);
	}
	text = json_dumps(root, JSON_INDENT(1));
	assert_non_null(text);
	json_decref(root);
	return text;
}

/* ------------------------------------------------------------------------------------------ */
/* Tests                                                                                       */

static struct dp_config *parse_ok(const char *text)
{
	char err[512] = "";
	struct dp_config *c = cp_config_parse(text, err, sizeof(err));

	if (c == NULL) {
		print_error("refused: %s\n", err);
	}
	assert_non_null(c);
	assert_invariants(c);
	return c;
}

static void test_bad_table(void **state)
{
	unsigned int failures = 0;

	(void)state;
	assert_true(N_BAD >= 40);
	for (size_t i = 0; i < N_BAD; i++) {
		char err[512] = "";
		char *text = build(&bad[i]);
		struct dp_config *c = cp_config_parse(text, err, sizeof(err));

		if (c != NULL || strstr(err, bad[i].expect) == NULL || strchr(err, '\n') != NULL) {
			print_error("bad[%zu] %s: expected \"%s\"\n            got %s\"%s\"\n", i,
				    bad[i].path != NULL ? bad[i].path : "(text)", bad[i].expect,
				    c != NULL ? "a valid config, " : "", err);
			failures++;
		}
		dp_config_free(c);
		free(text);
	}
	print_message("%zu refusals checked\n", N_BAD);
	assert_int_equal(failures, 0);
}

static void test_relationships(void **state)
{
	json_t *root = json_loads(base_json, 0, NULL), *again;
	struct dp_config *c, *c2;
	const struct dp_relationship *r;
	char *text;

	(void)state;
	json_object_set_new(json_object_get(root, "server"), "store",
			    json_string("/var/lib/leasewire"));
	json_object_set_new(root, "relationships", json_loads(
		"[{\"name\": \"pair\", \"role\": \"secondary\", \"mode\": \"hot-standby\","
		"  \"server-role\": \"standby\", \"reserve-percent\": 10,"
		"  \"local-address\": \"198.18.0.1\", \"partner-address\": \"198.18.0.2\","
		"  \"mclt\": 60, \"state-switch-interval\": 20, \"shared-secret\": \"s3cret\","
		"  \"scopes\": [\"b\", \"a\"]},"
		" {\"name\": \"lb\", \"role\": \"primary\", \"local-address\": \"198.18.20.1\","
		"  \"partner-address\": \"198.18.20.2\", \"scopes\": []},"
		" {\"role\": \"primary\", \"local-address\": \"198.18.20.1\","
		"  \"partner-address\": \"198.18.20.3\", \"shared-secret-algorithm\": \"hmac-md5\"}]",
		0, NULL));
	json_object_set_new(json_object_get(root, "server"), "name", json_string("hub"));
	text = json_dumps(root, 0);
	c = parse_ok(text);
	/* A relationship with no scopes is kept (seed 001), with or without "scopes": []. */
	assert_int_equal(c->n_relationships, 3);
	assert_string_equal(c->relationships[1].name, "lb");
	assert_int_equal(c->relationships[1].n_scopes, 0);
	/* No name: "<this server>-<partner>", as Windows' wizard. */
	assert_string_equal(c->relationships[2].name, "hub-198.18.20.3");
	assert_int_equal(c->relationships[2].n_scopes, 0);
	assert_int_equal(c->relationships[2].digest, DP_FO_DIGEST_HMAC_MD5);
	assert_int_equal(c->relationships[1].digest, DP_FO_DIGEST_HMAC_SHA256);	/* default */
	r = &c->relationships[0];
	assert_string_equal(r->name, "pair");
	assert_int_equal(c->scopes[0].fo_rel, 1);	/* a and b: relationships[0] + 1 */
	assert_int_equal(c->scopes[1].fo_rel, 1);
	for (uint32_t i = 2; i < c->n_scopes; i++) {
		assert_int_equal(c->scopes[i].fo_rel, 0);
	}
	assert_int_equal(r->role, DP_FO_SECONDARY);
	assert_int_equal(r->mode, DP_FO_HOT_STANDBY);
	assert_true(r->standby);
	assert_int_equal(r->reserve_percent, 10);
	assert_int_equal(r->load_balance_percent, 50);	/* default, unused in hot-standby */
	assert_int_equal(r->port, 647);
	assert_int_equal(r->mclt, 60);
	assert_int_equal(r->max_unacked, 10);
	assert_int_equal(r->max_response_delay, 60);
	assert_true(r->auto_state_transition);		/* implied by state-switch-interval */
	assert_int_equal(r->state_switch_interval, 20);
	assert_int_equal(r->n_scopes, 2);
	assert_int_equal(r->scopes[0], 0);		/* sorted: a, b */
	assert_int_equal(r->scopes[1], 1);
	/* Round trip through the JSON writer. */
	again = cp_config_to_json(c);
	free(text);
	text = json_dumps(again, 0);
	c2 = parse_ok(text);
	assert_config_equal(c, c2);
	dp_config_free(c2);
	dp_config_free(c);
	json_decref(again);
	json_decref(root);
	free(text);
}

/* A base document with relationship "pair" whose secret is @secret (a JSON string literal). */
static char *with_secret(const char *secret)
{
	json_t *root = json_loads(base_json, 0, NULL);
	char rel[512];
	char *text;

	snprintf(rel, sizeof(rel),
		 "[{\"name\": \"pair\", \"role\": \"primary\", \"local-address\": \"198.18.0.1\","
		 "  \"partner-address\": \"198.18.0.2\", \"shared-secret\": %s,"
		 "  \"scopes\": [\"a\"]}]", secret);
	json_object_set_new(json_object_get(root, "server"), "store",
			    json_string("/var/lib/leasewire"));
	json_object_set_new(root, "relationships", json_loads(rel, 0, NULL));
	text = json_dumps(root, 0);
	json_decref(root);
	assert_non_null(text);
	return text;
}

/* config-get shows a mask for the secret; config-set/-test read the mask back as "keep". */
static void test_secret_mask(void **state)
{
	char *text = with_secret("\"s3cret\""), *shown, *full, *other, err[512];
	struct dp_config *c, *c2, *none;
	json_t *masked, *clear;

	(void)state;
	c = parse_ok(text);
	assert_string_equal(c->relationships[0].shared_secret, "s3cret");

	/* The answer never holds the secret; the file writer keeps it. */
	masked = cp_config_to_json_masked(c);
	assert_non_null(masked);
	shown = json_dumps(masked, 0);
	assert_null(strstr(shown, "s3cret"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		json_object_get(masked, "relationships"), 0), "shared-secret")),
		CP_CONFIG_SECRET_MASK);
	clear = cp_config_to_json(c);
	full = json_dumps(clear, 0);
	assert_non_null(strstr(full, "\"s3cret\""));

	/* The mask sent back keeps the running secret of the relationship of that name. */
	c2 = cp_config_parse_replacing(shown, c, err, sizeof(err));
	if (c2 == NULL) {
		print_error("refused: %s\n", err);
	}
	assert_non_null(c2);
	assert_config_equal(c, c2);
	dp_config_free(c2);

	/* Without a running configuration (a file) the mask is refused, never taken as a key. */
	assert_null(cp_config_parse(shown, err, sizeof(err)));
	assert_string_equal(err, "relationships[0].shared-secret: \"********\" is the mask "
			    "config-get shows in place of the secret: write the secret itself");

	/* A running configuration without a relationship of that name has nothing to keep. */
	none = parse_ok(base_json);
	assert_null(cp_config_parse_replacing(shown, none, err, sizeof(err)));
	assert_string_equal(err, "relationships[0].shared-secret: \"********\" keeps the "
			    "running secret, but none of that name is running: write the secret "
			    "itself");

	/* A new clear secret replaces the running one. */
	other = with_secret("\"n3w-secret\"");
	c2 = cp_config_parse_replacing(other, c, err, sizeof(err));
	assert_non_null(c2);
	assert_string_equal(c2->relationships[0].shared_secret, "n3w-secret");
	dp_config_free(c2);
	free(other);

	/* No secret is shown as none: "" is not masked. */
	other = with_secret("\"\"");
	c2 = parse_ok(other);
	json_decref(masked);
	masked = cp_config_to_json_masked(c2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		json_object_get(masked, "relationships"), 0), "shared-secret")), "");
	dp_config_free(c2);
	free(other);

	json_decref(masked);
	json_decref(clear);
	dp_config_free(none);
	dp_config_free(c);
	free(shown);
	free(full);
	free(text);
}

static void test_management(void **state)
{
	json_t *root = json_loads(base_json, 0, NULL), *again, *m;
	struct dp_config *c, *c2;
	char *text, err[256];

	(void)state;
	c = parse_ok(base_json);
	assert_int_equal(c->mgmt_addr, 0);		/* off unless configured */
	assert_int_equal(c->mgmt_port, 6470);
	again = cp_config_to_json(c);
	assert_null(json_object_get(json_object_get(again, "server"), "management"));
	json_decref(again);
	dp_config_free(c);

	json_object_set_new(json_object_get(root, "server"), "management", json_loads(
		"{\"address\": \"198.18.0.1\", \"partners\": [{\"address\": \"198.18.0.2\","
		" \"shared-secret\": \"k1\"}, {\"address\": \"198.18.0.3\", \"port\": 7000,"
		" \"shared-secret\": \"k2\"}]}", 0, NULL));
	text = json_dumps(root, 0);
	c = parse_ok(text);
	free(text);
	assert_int_equal(c->mgmt_addr, 0xc6120001);
	assert_int_equal(c->mgmt_port, 6470);
	assert_int_equal(c->n_mgmt_partners, 2);
	assert_int_equal(c->mgmt_partners[0].addr, 0xc6120002);
	assert_int_equal(c->mgmt_partners[0].port, 6470);
	assert_string_equal(c->mgmt_partners[0].secret, "k1");
	assert_int_equal(c->mgmt_partners[1].port, 7000);
	again = cp_config_to_json(c);
	m = json_object_get(json_object_get(again, "server"), "management");
	assert_non_null(m);
	assert_int_equal(json_array_size(json_object_get(m, "partners")), 2);
	text = json_dumps(again, 0);
	c2 = parse_ok(text);
	assert_int_equal(c2->n_mgmt_partners, 2);
	assert_string_equal(c2->mgmt_partners[1].secret, "k2");
	assert_int_equal(c2->mgmt_partners[1].addr, 0xc6120003);
	dp_config_free(c2);
	free(text);

	/* config-get masks the partners' secrets; the mask sent back keeps them (by address). */
	json_decref(again);
	again = cp_config_to_json_masked(c);
	m = json_object_get(json_object_get(again, "server"), "management");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		json_object_get(m, "partners"), 1), "shared-secret")), CP_CONFIG_SECRET_MASK);
	text = json_dumps(again, 0);
	assert_null(strstr(text, "\"k2\""));
	c2 = cp_config_parse_replacing(text, c, err, sizeof(err));
	assert_non_null(c2);
	assert_string_equal(c2->mgmt_partners[0].secret, "k1");
	assert_string_equal(c2->mgmt_partners[1].secret, "k2");
	dp_config_free(c2);
	dp_config_free(c);
	json_decref(again);
	json_decref(root);
	free(text);
}

static void test_base(void **state)
{
	struct dp_config *c;

	(void)state;
	c = parse_ok(base_json);
	assert_int_equal(c->workers, 2);
	assert_int_equal(c->log_interval, 10);
	assert_int_equal(c->idle_sleep_us, 50);
	assert_int_equal(c->reclaim_interval, 5);
	assert_int_equal(c->mbufs, 8191);
	assert_int_equal(c->durability, DP_DURABILITY_STRICT);
	assert_string_equal(c->store_path, "");
	assert_string_equal(c->control_socket, "/run/leasewire/leasewire.sock");
	assert_int_equal(c->n_ports, 2);
	assert_int_equal(c->n_ifaces, 3);
	assert_string_equal(c->ifaces[0].name, "p0");
	assert_string_equal(c->ifaces[1].name, "p0.10");
	assert_int_equal(c->ifaces[1].vlan, 10);
	assert_int_equal(c->ifaces[1].port, 0);
	assert_int_equal(c->ifaces[2].port, 1);
	assert_int_equal(c->ifaces[2].addr, ip("198.18.20.1"));
	assert_int_equal(c->ifaces[2].prefix_len, 24);
	assert_int_equal(c->n_scopes, 2);
	assert_int_equal(c->scopes[0].mask, 0xffffff00u);
	assert_int_equal(c->scopes[0].interface, -1);
	assert_int_equal(c->scopes[1].interface, 2);
	assert_true(c->scopes[0].active);
	assert_int_equal(c->scopes[0].lease_time, 3600);
	assert_int_equal(c->scopes[0].min_lease_time, 60);
	assert_int_equal(c->scopes[0].max_lease_time, 86400);
	assert_int_equal(c->scopes[0].offer_hold, 30);
	assert_int_equal(c->scopes[0].decline_hold, 3600);
	assert_int_equal(c->scopes[0].conflict_attempts, 0);	/* off by default */
	assert_int_equal(c->scopes[0].conflict_timeout_ms, 500);
	assert_false(c->scopes[0].bootp);
	assert_round_trip(c);
	dp_config_free(c);
}

/* An offer hold just longer than the probes and the offer-delay is accepted (the refusals,
 * hold <= wait, are rows of bad[]). */
static void test_offer_hold_outlasts_probes(void **state)
{
	static const char text[] =
		"{\"ports\": [{\"name\": \"p0\", \"device\": \"net_null0\","
		"   \"interfaces\": [{\"address\": \"198.18.0.1/24\"}]}],"
		" \"scopes\": [{\"name\": \"a\", \"subnet\": \"198.18.0.0/24\","
		"   \"pools\": [\"198.18.0.10 - 198.18.0.11\"], \"offer-hold\": 2,"
		"   \"conflict-detection-attempts\": 3, \"conflict-detection-timeout\": 600,"
		"   \"offer-delay\": 199}]}";
	struct dp_config *c = parse_ok(text);

	(void)state;
	assert_int_equal(c->scopes[0].offer_hold, 2);	/* 3 x 600 + 199 = 1999 ms < 2 s */
	dp_config_free(c);
}

/* Conflict detection: a scope that sets neither key follows the server's defaults, also
 * after the written configuration is edited and read back (the keys it does not set stay
 * out of it). */
static void test_conflict_server_default(void **state)
{
	static const char text[] =
		"{\"server\": {\"conflict-detection-attempts\": 2,"
		"  \"conflict-detection-timeout\": 200},"
		" \"ports\": [{\"name\": \"p0\", \"device\": \"net_null0\","
		"   \"interfaces\": [{\"address\": \"198.18.0.1/24\"}]}],"
		" \"scopes\": ["
		"  {\"name\": \"a\", \"subnet\": \"198.18.0.0/24\", \"pools\": [\"198.18.0.10 - 198.18.0.11\"]},"
		"  {\"name\": \"b\", \"subnet\": \"198.18.1.0/24\", \"pools\": [\"198.18.1.10 - 198.18.1.11\"],"
		"   \"relay-addresses\": [\"198.18.1.1\"], \"conflict-detection-attempts\": 0},"
		"  {\"name\": \"c\", \"subnet\": \"198.18.2.0/24\", \"pools\": [\"198.18.2.10 - 198.18.2.11\"],"
		"   \"relay-addresses\": [\"198.18.2.1\"], \"conflict-detection-timeout\": 1000}]}";
	struct dp_config *c = parse_ok(text), *c2;
	json_t *j, *scopes;
	char *again, err[512];

	(void)state;
	assert_int_equal(c->conflict_attempts, 2);
	assert_int_equal(c->conflict_timeout_ms, 200);
	assert_int_equal(c->scopes[0].conflict_attempts, 2);
	assert_int_equal(c->scopes[0].conflict_timeout_ms, 200);
	assert_int_equal(c->scopes[1].conflict_attempts, 0);	/* its own: off */
	assert_int_equal(c->scopes[1].conflict_timeout_ms, 200);
	assert_int_equal(c->scopes[2].conflict_attempts, 2);
	assert_int_equal(c->scopes[2].conflict_timeout_ms, 1000);
	assert_round_trip(c);

	/* Written back: only what each scope sets. The server's default then changes. */
	j = cp_config_to_json(c);
	scopes = json_object_get(j, "scopes");
	assert_null(json_object_get(json_array_get(scopes, 0), "conflict-detection-attempts"));
	assert_null(json_object_get(json_array_get(scopes, 0), "conflict-detection-timeout"));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(scopes, 1),
							   "conflict-detection-attempts")), 0);
	assert_null(json_object_get(json_array_get(scopes, 1), "conflict-detection-timeout"));
	assert_null(json_object_get(json_array_get(scopes, 2), "conflict-detection-attempts"));
	json_object_set_new(json_object_get(j, "server"), "conflict-detection-attempts",
			    json_integer(4));
	json_object_set_new(json_object_get(j, "server"), "conflict-detection-timeout",
			    json_integer(50));
	again = json_dumps(j, 0);
	json_decref(j);
	c2 = cp_config_parse(again, err, sizeof(err));
	free(again);
	assert_non_null(c2);
	assert_int_equal(c2->scopes[0].conflict_attempts, 4);
	assert_int_equal(c2->scopes[0].conflict_timeout_ms, 50);
	assert_int_equal(c2->scopes[1].conflict_attempts, 0);
	assert_int_equal(c2->scopes[1].conflict_timeout_ms, 50);
	assert_int_equal(c2->scopes[2].conflict_attempts, 4);
	assert_int_equal(c2->scopes[2].conflict_timeout_ms, 1000);
	dp_config_free(c2);
	dp_config_free(c);
}

static void test_default(void **state)
{
	struct dp_config *c;
	const struct dp_scope *lab, *relayed;

	(void)state;
	c = parse_ok(cp_config_default_json());
	assert_int_equal(c->workers, 1);
	assert_string_equal(c->store_path, "");
	assert_string_equal(c->control_socket, "/run/leasewire/leasewire.sock");
	assert_int_equal(c->n_ports, 1);
	assert_string_equal(c->ports[0].name, "lab0");
	assert_string_equal(c->ports[0].device, "net_af_packet0,iface=lw-srv0");
	assert_int_equal(c->n_ifaces, 1);
	assert_int_equal(c->ifaces[0].addr, ip("198.18.0.1"));
	assert_int_equal(c->ifaces[0].prefix_len, 24);
	assert_int_equal(c->n_scopes, 2);
	lab = &c->scopes[0];
	relayed = &c->scopes[1];
	assert_string_equal(lab->name, "lab");
	assert_int_equal(lab->subnet, ip("198.18.0.0"));
	assert_int_equal(lab->n_ranges, 1);
	assert_int_equal(lab->ranges[0].first, ip("198.18.0.100"));
	assert_int_equal(lab->ranges[0].last, ip("198.18.0.199"));
	assert_int_equal(lab->lease_time, 600);
	assert_non_null(dp_optlist_find(&lab->opts, 3));
	assert_non_null(dp_optlist_find(&lab->opts, 6));
	assert_int_equal(dp_optlist_find(&lab->opts, 15)->len, strlen("lab.leasewire.test"));
	assert_memory_equal(dp_optlist_find(&lab->opts, 15)->data, "lab.leasewire.test", 18);
	assert_string_equal(relayed->name, "relayed");
	assert_int_equal(relayed->prefix_len, 16);
	assert_int_equal(relayed->ranges[0].first, ip("198.19.0.10"));
	assert_int_equal(relayed->ranges[0].last, ip("198.19.255.250"));
	assert_int_equal(relayed->lease_time, 600);
	/* perfdhcp relays from 198.18.0.2, inside "lab": the explicit relay address wins. */
	assert_ptr_equal(dp_config_scope_by_relay(c, ip("198.18.0.2")), relayed);
	assert_ptr_equal(dp_config_scope_by_relay(c, ip("198.18.0.3")), lab);
	assert_ptr_equal(dp_config_scope_by_iface(c, 0), lab);
	assert_int_equal(dp_config_capacity(c), 100 + (65536 - 10 - 5));
	assert_round_trip(c);
	dp_config_free(c);
}

static void test_example_file(void **state)
{
	char err[512] = "";
	struct dp_config *c;
	const struct dp_scope *lab, *voice, *branch;
	const struct dp_reservation *r;
	struct dp_client_key k = { .type = DP_KEY_HWADDR, .len = 7,
				   .data = { 1, 0x02, 0x00, 0x5e, 0x12, 0x00, 0x05 } };

	(void)state;
	c = cp_config_load(EXAMPLE_PATH, err, sizeof(err));
	if (c == NULL) {
		print_error("%s: %s\n", EXAMPLE_PATH, err);
	}
	assert_non_null(c);
	assert_invariants(c);
	assert_int_equal(c->workers, 2);
	assert_int_equal(c->n_ports, 2);
	assert_int_equal(c->n_ifaces, 3);
	assert_string_equal(c->ifaces[1].name, "lab0.20");
	assert_int_equal(c->n_scopes, 3);
	assert_int_equal(c->n_relationships, 1);
	assert_string_equal(c->relationships[0].name, "branch-pair");
	assert_int_equal(c->relationships[0].n_scopes, 1);
	assert_int_equal(c->relationships[0].scopes[0], 2);
	assert_int_equal(c->scopes[2].fo_rel, 1);
	assert_int_equal(c->scopes[0].fo_rel, 0);
	lab = &c->scopes[0];
	voice = &c->scopes[1];
	branch = &c->scopes[2];
	assert_int_equal(voice->interface, 1);
	assert_int_equal(lab->n_ranges, 2);
	assert_int_equal(lab->n_exclusions, 2);
	assert_int_equal(lab->n_reservations, 3);
	assert_true(lab->bootp);
	assert_int_equal(lab->next_server, ip("198.18.0.1"));
	assert_string_equal(lab->boot_file, "pxelinux.0");
	r = dp_scope_find_reservation_key(lab, &k);
	assert_non_null(r);
	assert_string_equal(r->hostname, "printer");
	assert_int_equal(r->addr, ip("198.18.0.50"));
	assert_non_null(dp_optlist_find(&r->opts, 6));
	assert_null(dp_optlist_find(&r->opts, 3));
	r = dp_scope_find_reservation_addr(lab, ip("198.18.0.51"));
	assert_non_null(r);
	assert_string_equal(r->hostname, "nas");
	assert_int_equal(dp_optlist_find(&lab->opts, 23)->data[0], 64);
	assert_int_equal(dp_optlist_find(&lab->opts, 26)->len, 2);
	assert_ptr_equal(dp_config_scope_by_relay(c, ip("198.19.255.2")), branch);
	assert_ptr_equal(dp_config_scope_by_relay(c, ip("198.19.0.1")), branch);
	assert_ptr_equal(dp_config_scope_by_iface(c, 1), voice);
	assert_null(dp_config_scope_by_iface(c, 2));
	assert_round_trip(c);
	dp_config_free(c);
}

static void test_load_errors(void **state)
{
	char err[512] = "";
	char path[] = "/tmp/lw_test_config_XXXXXX";
	int fd;

	(void)state;
	assert_null(cp_config_load("/nonexistent/leasewire.json", err, sizeof(err)));
	assert_string_equal(err, "/nonexistent/leasewire.json: No such file or directory");

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\n\"ports\": [\x01]}", 15), 15);
	close(fd);
	assert_null(cp_config_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "line 2 column"));
	assert_non_null(strstr(err, "JSON syntax error"));
	unlink(path);

	/* A tiny buffer truncates; no buffer at all is allowed. */
	assert_null(cp_config_parse("{", err, 8));
	assert_int_equal(strlen(err), 7);
	assert_null(cp_config_parse("{\"x\": 1}", NULL, 0));
}

/* Ranges listed out of order, reservations in no order: stored sorted either way. */
static void test_sorting(void **state)
{
	static const char doc[] =
		"{ \"ports\": [ { \"name\": \"p\", \"device\": \"d\", \"interfaces\": ["
		"   { \"address\": \"198.18.0.1/24\" } ] } ],"
		"  \"scopes\": [ { \"name\": \"s\", \"subnet\": \"198.18.0.0/24\","
		"   \"pools\": [ \"198.18.0.200-198.18.0.210\", \"198.18.0.10 - 198.18.0.20\","
		"                { \"first\": \"198.18.0.100\", \"last\": \"198.18.0.110\" } ],"
		"   \"exclusions\": [ \"198.18.0.205\", \"198.18.0.12-198.18.0.13\" ],"
		"   \"relay-addresses\": [ \"198.18.3.3\", \"198.18.2.2\" ],"
		"   \"reservations\": ["
		"     { \"hw-address\": \"02:00:00:00:00:09\", \"ip-address\": \"198.18.0.5\" },"
		"     { \"client-id\": \"ff\", \"ip-address\": \"198.18.0.3\" },"
		"     { \"hw-address\": \"02:00:00:00:00:01\", \"ip-address\": \"198.18.0.9\" },"
		"     { \"client-id\": \"00aabb\", \"ip-address\": \"198.18.0.7\" } ],"
		"   \"options\": { \"custom\": ["
		"     { \"code\": 150, \"type\": \"ipv4\", \"value\": \"198.18.0.1\" },"
		"     { \"code\": 2, \"type\": \"int32\", \"value\": -3600 },"
		"     { \"code\": 19, \"type\": \"bool\", \"value\": true },"
		"     { \"code\": 80, \"type\": \"hex\", \"value\": \"\" },"
		"     { \"code\": 15, \"type\": \"hex\", \"value\": \"ff00\" },"
		"     { \"code\": 3, \"type\": \"hex\", \"value\": \"0102\" } ] } } ] }";
	struct dp_config *c;
	const struct dp_scope *s;
	const struct dp_option *o;

	(void)state;
	c = parse_ok(doc);
	s = &c->scopes[0];
	assert_int_equal(s->n_ranges, 3);
	assert_int_equal(s->ranges[0].first, ip("198.18.0.10"));
	assert_int_equal(s->ranges[1].first, ip("198.18.0.100"));
	assert_int_equal(s->ranges[2].last, ip("198.18.0.210"));
	assert_int_equal(s->exclusions[0].first, ip("198.18.0.12"));
	assert_int_equal(s->exclusions[1].first, ip("198.18.0.205"));
	assert_int_equal(s->relays[0], ip("198.18.2.2"));
	/* HWADDR (1) sorts before CLIENT_ID (2); then shorter keys first. */
	assert_int_equal(s->reservations[0].key.type, DP_KEY_HWADDR);
	assert_int_equal(s->reservations[0].key.data[6], 0x01);
	assert_int_equal(s->reservations[2].key.len, 1);
	assert_int_equal(s->reservations[3].key.len, 3);
	assert_int_equal(s->reservations[s->res_by_addr[0]].addr, ip("198.18.0.3"));
	assert_int_equal(s->reservations[s->res_by_addr[3]].addr, ip("198.18.0.9"));
	assert_int_equal(s->opts.n, 6);
	assert_int_equal(s->opts.v[0].code, 2);
	o = dp_optlist_find(&s->opts, 2);
	assert_memory_equal(o->data, "\xff\xff\xf1\xf0", 4);
	assert_int_equal(dp_optlist_find(&s->opts, 80)->len, 0);
	assert_int_equal(dp_optlist_find(&s->opts, 150)->len, 4);
	assert_null(dp_optlist_find(&s->opts, 4));
	assert_null(dp_optlist_find(&s->opts, 255));
	/* Values that do not fit their named type survive the round trip as hex. */
	assert_round_trip(c);
	dp_config_free(c);
}

static void test_lookups(void **state)
{
	struct dp_config *c;
	const struct dp_scope *a, *b;
	struct dp_client_key hw = { .type = DP_KEY_HWADDR, .len = 7,
				    .data = { 1, 2, 0, 0, 0, 0, 1 } };
	struct dp_client_key cid = { .type = DP_KEY_CLIENT_ID, .len = 2, .data = { 1, 2 } };
	struct dp_client_key other = { .type = DP_KEY_CLIENT_ID, .len = 2, .data = { 1, 3 } };
	struct dp_client_key shorter = { .type = DP_KEY_CLIENT_ID, .len = 1, .data = { 1 } };

	(void)state;
	c = parse_ok(base_json);
	a = &c->scopes[0];
	b = &c->scopes[1];

	/* pool membership: ranges minus exclusions */
	assert_true(dp_scope_in_pool(a, ip("198.18.0.100")));
	assert_true(dp_scope_in_pool(a, ip("198.18.0.149")));
	assert_false(dp_scope_in_pool(a, ip("198.18.0.150")));
	assert_true(dp_scope_in_pool(a, ip("198.18.0.151")));
	assert_true(dp_scope_in_pool(a, ip("198.18.0.200")));
	assert_false(dp_scope_in_pool(a, ip("198.18.0.201")));
	assert_false(dp_scope_in_pool(a, ip("198.18.0.99")));
	assert_false(dp_scope_in_pool(a, ip("198.18.0.50")));
	assert_false(dp_scope_in_pool(b, ip("198.18.0.150")));

	/* subnet membership excludes network and broadcast */
	assert_true(dp_scope_contains(a, ip("198.18.0.1")));
	assert_true(dp_scope_contains(a, ip("198.18.0.254")));
	assert_false(dp_scope_contains(a, ip("198.18.0.0")));
	assert_false(dp_scope_contains(a, ip("198.18.0.255")));
	assert_false(dp_scope_contains(a, ip("198.18.1.1")));

	/* reservations */
	assert_int_equal(dp_scope_find_reservation_key(a, &hw)->addr, ip("198.18.0.50"));
	assert_int_equal(dp_scope_find_reservation_key(a, &cid)->addr, ip("198.18.0.51"));
	assert_null(dp_scope_find_reservation_key(a, &other));
	assert_null(dp_scope_find_reservation_key(a, &shorter));
	assert_null(dp_scope_find_reservation_key(b, &hw));
	assert_int_equal(dp_scope_find_reservation_addr(a, ip("198.18.0.51"))->key.type,
			 DP_KEY_CLIENT_ID);
	assert_int_equal(dp_scope_find_reservation_addr(a, ip("198.18.0.50"))->key.type,
			 DP_KEY_HWADDR);
	assert_null(dp_scope_find_reservation_addr(a, ip("198.18.0.52")));
	assert_null(dp_scope_find_reservation_addr(b, ip("198.18.0.50")));
	assert_true(dp_client_key_cmp(&cid, &other) < 0);
	assert_true(dp_client_key_cmp(&other, &cid) > 0);
	assert_true(dp_client_key_cmp(&shorter, &cid) < 0);
	assert_true(dp_client_key_cmp(&hw, &shorter) < 0);

	/* options */
	assert_int_equal(dp_optlist_find(&a->opts, 3)->len, 4);
	assert_null(dp_optlist_find(&a->opts, 6));
	assert_null(dp_optlist_find(&b->opts, 3));

	/* relayed requests: explicit relay address first, then subnet containment */
	assert_ptr_equal(dp_config_scope_by_relay(c, ip("198.18.0.2")), b);
	assert_ptr_equal(dp_config_scope_by_relay(c, ip("198.18.0.77")), a);
	assert_ptr_equal(dp_config_scope_by_relay(c, ip("198.18.1.1")), b);
	assert_null(dp_config_scope_by_relay(c, ip("198.19.0.1")));

	/* direct clients: explicit interface binding, then the interface's subnet */
	assert_ptr_equal(dp_config_scope_by_iface(c, 0), a);
	assert_null(dp_config_scope_by_iface(c, 1));
	assert_ptr_equal(dp_config_scope_by_iface(c, 2), b);
	assert_null(dp_config_scope_by_iface(c, 3));
	assert_null(dp_config_scope_by_iface(c, UINT32_MAX));
	/* A parsed snapshot answers from its index (dp_config_index()), the same as the scan
	 * of a hand-built one (generation 0). */
	assert_int_not_equal(c->generation, 0);
	assert_int_equal(c->iface_scope[0], a - c->scopes);
	assert_int_equal(c->iface_scope[1], -1);
	assert_int_equal(c->iface_scope[2], b - c->scopes);
	assert_int_equal(c->iface_scope[3], -1);
	{
		uint64_t gen = c->generation;

		c->generation = 0;
		assert_ptr_equal(dp_config_scope_by_iface(c, 0), a);
		assert_null(dp_config_scope_by_iface(c, 1));
		assert_ptr_equal(dp_config_scope_by_iface(c, 2), b);
		c->iface_scope[0] = -1;		/* not read for a hand-built one */
		assert_ptr_equal(dp_config_scope_by_iface(c, 0), a);
		c->generation = gen;
		assert_null(dp_config_scope_by_iface(c, 0));	/* read for a parsed one */
		c->iface_scope[0] = (int32_t)(a - c->scopes);
	}

	assert_int_equal(dp_config_iface_find(c, 0, 0), 0);
	assert_int_equal(dp_config_iface_find(c, 0, 10), 1);
	assert_int_equal(dp_config_iface_find(c, 1, 0), 2);
	assert_int_equal(dp_config_iface_find(c, 1, 10), -1);
	assert_int_equal(dp_config_iface_find(c, 7, 0), -1);

	/* a: 101 in the range, 1 excluded, 2 reservations outside it; b: 241 */
	assert_int_equal(dp_config_capacity(c), 101 - 1 + 2 + 241);

	dp_config_free(c);
	dp_config_free(NULL);
}

/* An inactive scope is still selected (the engine counts and drops), and it round-trips. */
static void test_inactive(void **state)
{
	struct bad b = { S1 ".active", "false", NULL, NULL, NULL };
	char *text;
	struct dp_config *c;

	(void)state;
	text = build(&b);
	c = parse_ok(text);
	assert_false(c->scopes[1].active);
	assert_ptr_equal(dp_config_scope_by_relay(c, ip("198.18.1.5")), &c->scopes[1]);
	assert_round_trip(c);
	dp_config_free(c);
	free(text);
}

/* server.relay-allow: addresses and prefixes, kept sorted, written back as given; empty or
 * absent = any source (issue 11 item 6). */
static void test_relay_allow(void **state)
{
	struct bad b = { "server.relay-allow",
			 "[\"198.19.0.0/16\", \"198.18.0.3\", \"198.18.0.2\", \"198.20.0.0/31\"]",
			 NULL, NULL, NULL };
	struct bad all = { "server.relay-allow", "[\"0.0.0.0/0\"]", NULL, NULL, NULL };
	struct bad none = { "server.relay-allow", "[]", NULL, NULL, NULL };
	struct dp_config *c;
	char *text;
	json_t *j;

	(void)state;
	text = build(&b);
	c = parse_ok(text);
	free(text);
	assert_int_equal(c->n_relay_allow, 4);
	assert_int_equal(c->relay_allow[0].first, ip("198.18.0.2"));
	assert_int_equal(c->relay_allow[0].last, ip("198.18.0.2"));
	assert_int_equal(c->relay_allow[2].first, ip("198.19.0.0"));
	assert_int_equal(c->relay_allow[2].last, ip("198.19.255.255"));
	assert_true(dp_config_relay_allowed(c, ip("198.18.0.2")));
	assert_true(dp_config_relay_allowed(c, ip("198.18.0.3")));
	assert_false(dp_config_relay_allowed(c, ip("198.18.0.4")));
	assert_true(dp_config_relay_allowed(c, ip("198.19.77.1")));
	assert_true(dp_config_relay_allowed(c, ip("198.20.0.1")));
	assert_false(dp_config_relay_allowed(c, ip("198.20.0.2")));
	assert_false(dp_config_relay_allowed(c, ip("198.17.255.255")));
	j = cp_config_to_json(c);
	text = json_dumps(json_object_get(json_object_get(j, "server"), "relay-allow"),
			  JSON_COMPACT);
	assert_string_equal(text, "[\"198.18.0.2\",\"198.18.0.3\",\"198.19.0.0/16\","
			    "\"198.20.0.0/31\"]");
	free(text);
	json_decref(j);
	assert_round_trip(c);
	dp_config_free(c);

	text = build(&all);
	c = parse_ok(text);
	free(text);
	assert_true(dp_config_relay_allowed(c, ip("198.18.0.4")));
	assert_true(dp_config_relay_allowed(c, UINT32_MAX));
	assert_round_trip(c);
	dp_config_free(c);
	text = build(&none);
	c = parse_ok(text);
	free(text);
	assert_int_equal(c->n_relay_allow, 0);
	assert_true(dp_config_relay_allowed(c, ip("198.18.0.4")));
	j = cp_config_to_json(c);
	assert_null(json_object_get(json_object_get(j, "server"), "relay-allow"));
	json_decref(j);
	dp_config_free(c);
}

/* A superscope keeps its members in the order written, marks each, and round-trips. */
static void test_superscope(void **state)
{
	struct bad b = { "superscopes", "[{\"name\": \"floor1\", \"scopes\": [\"b\", \"a\"]}]",
			 NULL, NULL, NULL };
	char *text;
	struct dp_config *c;

	(void)state;
	text = build(&b);
	c = parse_ok(text);
	assert_int_equal(c->n_superscopes, 1);
	assert_string_equal(c->superscopes[0].name, "floor1");
	assert_int_equal(c->superscopes[0].n_members, 2);
	assert_int_equal(c->superscopes[0].members[0], 1);
	assert_int_equal(c->superscopes[0].members[1], 0);
	assert_int_equal(c->scopes[0].superscope, 1);
	assert_int_equal(c->scopes[1].superscope, 1);
	assert_round_trip(c);
	dp_config_free(c);
	free(text);
}

/* server.control-socket "" means no control socket (the daemon logs it and opens none). */
static void test_no_control_socket(void **state)
{
	struct bad b = { "server.control-socket", "\"\"", NULL, NULL, NULL };
	char *text;
	struct dp_config *c;

	(void)state;
	text = build(&b);
	c = parse_ok(text);
	assert_string_equal(c->control_socket, "");
	assert_round_trip(c);
	dp_config_free(c);
	free(text);
}

/* Appends printf output to a growing buffer. */
struct sbuf {
	char *s;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3))) sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap * 2 + (size_t)n + 1;
		b->s = realloc(b->s, b->cap);
		assert_non_null(b->s);
	}
}

static char *gen_doc(unsigned int ports, unsigned int ifaces_per_port, unsigned int scopes)
{
	struct sbuf b = { NULL, 0, 0 };

	b.cap = 1024;
	b.s = malloc(b.cap);
	assert_non_null(b.s);
	sb_printf(&b, "{ \"ports\": [");
	for (unsigned int i = 0; i < ports; i++) {
		sb_printf(&b, "%s{ \"name\": \"p%u\", \"device\": \"d%u\", \"interfaces\": [",
			  i ? "," : "", i, i);
		for (unsigned int j = 0; j < ifaces_per_port; j++) {
			sb_printf(&b, "%s{ \"vlan\": %u, \"address\": \"198.18.%u.%u/24\" }",
				  j ? "," : "", j, i, j + 100);
		}
		sb_printf(&b, "] }");
	}
	sb_printf(&b, "], \"scopes\": [");
	for (unsigned int i = 0; i < scopes; i++) {
		sb_printf(&b, "%s{ \"name\": \"s%u\", \"subnet\": \"198.%u.%u.0/24\", "
			  "\"pools\": [\"198.%u.%u.10 - 198.%u.%u.20\"] }", i ? "," : "", i,
			  18 + i / 256, i % 256, 18 + i / 256, i % 256, 18 + i / 256, i % 256);
	}
	sb_printf(&b, "] }");
	return b.s;
}

static void test_limits(void **state)
{
	char err[512];
	char *doc;
	struct dp_config *c;

	(void)state;
	doc = gen_doc(DP_MAX_PORTS, 16, DP_MAX_SCOPES);
	c = parse_ok(doc);
	assert_int_equal(c->n_ports, DP_MAX_PORTS);
	assert_int_equal(c->n_ifaces, DP_MAX_IFACES);
	assert_int_equal(c->n_scopes, DP_MAX_SCOPES);
	assert_ptr_equal(dp_config_scope_by_relay(c, ip("198.33.255.1")), &c->scopes[4095]);
	dp_config_free(c);
	free(doc);

	doc = gen_doc(DP_MAX_PORTS + 1, 1, 1);
	assert_null(cp_config_parse(doc, err, sizeof(err)));
	assert_non_null(strstr(err, "ports: must be a list of 1..16 ports, got ["));
	free(doc);

	doc = gen_doc(DP_MAX_PORTS, 17, 1);
	assert_null(cp_config_parse(doc, err, sizeof(err)));
	assert_string_equal(err, "ports: at most 256 interfaces in all, got 272");
	free(doc);

	doc = gen_doc(1, 1, DP_MAX_SCOPES + 1);
	assert_null(cp_config_parse(doc, err, sizeof(err)));
	assert_non_null(strstr(err, "scopes: must be a list of 1..4096 scopes, got ["));
	free(doc);

	/* Seed 001: at most 31 relationships per server, the error names the limit. */
	for (int n = DP_MAX_RELATIONSHIPS; n <= DP_MAX_RELATIONSHIPS + 1; n++) {
		json_t *root = json_loads(base_json, 0, NULL), *rels = json_array();

		json_object_set_new(json_object_get(root, "server"), "store",
				    json_string("/var/lib/leasewire"));
		for (int i = 0; i < n; i++) {
			char name[16];

			snprintf(name, sizeof(name), "r%d", i);
			json_array_append_new(rels, json_pack(
				"{s:s, s:s, s:s, s:s, s:[]}", "name", name, "role", "primary",
				"local-address", "198.18.0.1", "partner-address", "198.18.0.2",
				"scopes"));
		}
		json_object_set_new(root, "relationships", rels);
		doc = json_dumps(root, 0);
		c = cp_config_parse(doc, err, sizeof(err));
		if (n == DP_MAX_RELATIONSHIPS) {
			assert_non_null(c);
			assert_int_equal(c->n_relationships, DP_MAX_RELATIONSHIPS);
			dp_config_free(c);
		} else {
			assert_null(c);
			assert_string_equal(err, "relationships: 32 relationships: a server holds at "
					    "most 31 failover relationships (Windows' limit)");
		}
		free(doc);
		json_decref(root);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base),
		cmocka_unit_test(test_relationships),
		cmocka_unit_test(test_secret_mask),
		cmocka_unit_test(test_management),
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_conflict_server_default),
		cmocka_unit_test(test_offer_hold_outlasts_probes),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_bad_table),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_sorting),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_inactive),
		cmocka_unit_test(test_relay_allow),
		cmocka_unit_test(test_superscope),
		cmocka_unit_test(test_no_control_socket),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
