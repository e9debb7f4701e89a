/*
 * config: JSON file -> validated struct dp_config, and back.
 *
 * The keys, their types, bounds and defaults are the tables of config_schema.c; this file
 * holds the entry points and what a table row cannot say: the lists, and the rules that
 * relate their entries (unique names, overlapping pools and subnets, duplicate reservations,
 * which scope owns an interface or a relay address, which relationship a scope belongs to).
 *
 * The parser walks the document once, top down, carrying the JSON path of the value it is
 * looking at ("scopes[1].pools[0]"). The first problem found writes one message
 * "<path>: <reason>" into the caller's buffer and unwinds through goto-fail; everything built
 * so far hangs off the half-built snapshot, which dp_config_free() accepts. Rules that relate
 * whole lists sort a copy of the list that remembers file positions, so they cost
 * O(n log n) and the message can still name both offending entries.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_impl.h"

#define FILE_MAX	(64u << 20)	/* refuse absurd files before reading them */

#define DEFAULT_CONTROL_SOCKET	"/run/leasewire/leasewire.sock"

/* A range (or subnet, or relay) remembered with its position in the file. */
struct span {
	uint32_t first, last;
	uint32_t idx;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->first != y->first) {
		return x->first < y->first ? -1 : 1;
	}
	if (x->last != y->last) {
		return x->last < y->last ? -1 : 1;
	}
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void push(json_t *a, json_t *v, bool *ok)
{
	if (json_array_append_new(a, v) != 0) {
		*ok = false;
	}
}

/* ------------------------------------------------------------------------------------------ */
/* ports and interfaces                                                                        */

int cp_ports_parse(struct pctx *p, const char *path, json_t *a, void *obj)
{
	struct dp_config *c = obj;
	size_t n = json_array_size(a), total = 0;
	char epath[PATH_LEN];

	if (!json_is_array(a) || n == 0 || n > DP_MAX_PORTS) {
		char what[64];

		snprintf(what, sizeof(what), "must be a list of 1..%d ports", DP_MAX_PORTS);
		return cs_fail_got(p, path, what, a);
	}
	for (size_t i = 0; i < n; i++) {
		json_t *ifs = json_object_get(json_array_get(a, i), "interfaces");

		total += json_array_size(ifs);	/* 0 for a non-array: reported below */
	}
	if (total > DP_MAX_IFACES) {
		return cs_fail(p, path, "at most %d interfaces in all, got %zu", DP_MAX_IFACES,
			       total);
	}
	c->ports = calloc(n, sizeof(*c->ports));
	c->ifaces = calloc(total != 0 ? total : 1, sizeof(*c->ifaces));
	p->where = calloc(total != 0 ? total : 1, sizeof(*p->where));
	if (c->ports == NULL || c->ifaces == NULL || p->where == NULL) {
		return cs_oom(p, path);
	}
	c->n_ports = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		if (cs_parse_object(p, cs_path_idx(epath, path, i), json_array_get(a, i), &cs_port,
				    &c->ports[i]) != 0) {
			return -EINVAL;
		}
	}
	return 0;
}

json_t *cp_ports_json(const struct dp_config *c, const void *obj, bool *ok)
{
	json_t *a = json_array();

	(void)obj;
	for (uint32_t i = 0; i < c->n_ports; i++) {
		push(a, cs_write_object(c, &cs_port, &c->ports[i], ok), ok);
	}
	return a;
}

int cp_port_name_check(struct pctx *p, const char *path, const json_t *v, void *obj)
{
	const struct dp_port *pt = obj;
	uint32_t i = (uint32_t)(pt - p->c->ports);

	(void)v;
	for (uint32_t k = 0; k < i; k++) {
		if (strcmp(p->c->ports[k].name, pt->name) == 0) {
			return cs_fail(p, path, "port name \"%s\" is already used by ports[%u]",
				       pt->name, k);
		}
	}
	return 0;
}

int cp_ifaces_parse(struct pctx *p, const char *path, json_t *a, void *obj)
{
	struct dp_config *c = p->c;
	uint16_t port = (uint16_t)((struct dp_port *)obj - c->ports);
	char epath[PATH_LEN];

	if (!json_is_array(a) || json_array_size(a) == 0) {
		return cs_fail_got(p, path, "must be a list of at least one interface", a);
	}
	for (size_t j = 0; j < json_array_size(a); j++) {
		struct dp_iface *f = &c->ifaces[c->n_ifaces];

		f->port = port;
		p->where[c->n_ifaces] = (uint16_t)j;
		if (cs_parse_object(p, cs_path_idx(epath, path, j), json_array_get(a, j), &cs_iface,
				    f) != 0) {
			return -EINVAL;
		}
		c->n_ifaces++;
	}
	return 0;
}

json_t *cp_ifaces_json(const struct dp_config *c, const void *obj, bool *ok)
{
	uint32_t port = (uint32_t)((const struct dp_port *)obj - c->ports);
	json_t *a = json_array();

	for (uint32_t j = 0; j < c->n_ifaces; j++) {
		if (c->ifaces[j].port == port) {
			push(a, cs_write_object(c, &cs_iface, &c->ifaces[j], ok), ok);
		}
	}
	return a;
}

/* Where interface i was declared, for messages: ports[port].interfaces[where[i]]. */
static void iface_path(char *buf, const struct pctx *p, uint32_t i)
{
	snprintf(buf, PATH_LEN, "ports[%u].interfaces[%u]", p->c->ifaces[i].port, p->where[i]);
}

/* The default name, then one name, one port/VLAN pair and one address per interface. */
int cp_iface_post(struct pctx *p, const char *path, const json_t *json, void *obj)
{
	struct dp_iface *f = obj;
	const struct dp_config *c = p->c;
	const struct dp_port *pt = &c->ports[f->port];
	char npath[PATH_LEN], apath[PATH_LEN], prev[PATH_LEN];

	if (json_object_get(json, "name") != NULL) {
		cs_path_key(npath, path, "name");
	} else {
		/* The default name; a clash is reported on the interface itself. */
		char def[DP_NAME_MAX + 8];
		int n;

		if (f->vlan == 0) {
			n = snprintf(def, sizeof(def), "%s", pt->name);
		} else {
			n = snprintf(def, sizeof(def), "%s.%u", pt->name, f->vlan);
		}
		if (n < 0 || n >= DP_NAME_MAX) {
			return cs_fail(p, path, "default name \"%s\" is longer than %d characters; "
				       "set \"name\"", def, DP_NAME_MAX - 1);
		}
		memcpy(f->name, def, (size_t)n + 1);
		snprintf(npath, sizeof(npath), "%s", path);
	}
	cs_path_key(apath, path, "address");
	for (uint32_t k = 0; k < c->n_ifaces; k++) {
		const struct dp_iface *g = &c->ifaces[k];

		iface_path(prev, p, k);
		if (strcmp(g->name, f->name) == 0) {
			return cs_fail(p, npath, "interface name \"%s\" is already used by %s",
				       f->name, prev);
		}
		if (g->port == f->port && g->vlan == f->vlan) {
			return cs_fail(p, path, "vlan %u on port \"%s\" is already used by %s",
				       f->vlan, pt->name, prev);
		}
		if (g->addr == f->addr) {
			return cs_fail(p, apath, "address %s is already used by %s",
				       lw_ip4_fmt(f->addr).s, prev);
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* scopes                                                                                      */

static bool range_search(const struct dp_range *v, uint32_t n, uint32_t addr, uint32_t *at)
{
	int64_t i = dp_range_find(v, n, addr);

	if (i < 0) {
		return false;
	}
	*at = (uint32_t)i;
	return true;
}

/*
 * "pools" or "exclusions" of @s: parse every entry, check it against the subnet (pools) or the
 * pools (exclusions), then sort and refuse overlaps naming both entries.
 */
static int parse_ranges(struct pctx *p, const char *lpath, json_t *a, struct dp_scope *s,
			bool excl)
{
	const char *key = excl ? "exclusions" : "pools";
	char epath[PATH_LEN], other[PATH_LEN];
	struct span *sp = NULL;
	struct dp_range *out;
	uint32_t bcast = s->subnet | ~s->mask;
	size_t n;
	int ret = -EINVAL;

	if (a == NULL) {
		return 0;
	}
	if (!json_is_array(a)) {
		return cs_fail_got(p, lpath, excl ? "must be a list of addresses or ranges" :
				   "must be a list of ranges", a);
	}
	n = json_array_size(a);
	if (n == 0) {
		return 0;
	}
	sp = calloc(n, sizeof(*sp));
	out = calloc(n, sizeof(*out));
	if (sp == NULL || out == NULL) {
		free(out);
		ret = cs_oom(p, lpath);
		goto out;
	}
	if (excl) {
		s->exclusions = out;
		s->n_exclusions = (uint32_t)n;
	} else {
		s->ranges = out;
		s->n_ranges = (uint32_t)n;
	}
	for (size_t i = 0; i < n; i++) {
		struct dp_range r = { 0, 0 };
		uint32_t at;

		cs_path_idx(epath, lpath, i);
		if (cs_range_value(p, epath, json_array_get(a, i), excl, &r) != 0) {
			goto out;
		}
		if (excl) {
			if (!range_search(s->ranges, s->n_ranges, r.first, &at) ||
			    r.last > s->ranges[at].last) {
				cs_fail(p, epath, "%s is not inside a single pool range",
					cs_rangefmt(&r).s);
				goto out;
			}
		} else if ((r.first & s->mask) != s->subnet || (r.last & s->mask) != s->subnet) {
			cs_fail(p, epath, "range %s is outside subnet %s/%u", cs_rangefmt(&r).s,
				lw_ip4_fmt(s->subnet).s, s->prefix_len);
			goto out;
		} else if (r.first == s->subnet) {
			cs_fail(p, epath, "range %s includes the network address %s",
				cs_rangefmt(&r).s, lw_ip4_fmt(s->subnet).s);
			goto out;
		} else if (r.last == bcast) {
			cs_fail(p, epath, "range %s includes the broadcast address %s",
				cs_rangefmt(&r).s, lw_ip4_fmt(bcast).s);
			goto out;
		}
		sp[i] = (struct span){ r.first, r.last, (uint32_t)i };
	}
	qsort(sp, n, sizeof(*sp), span_cmp);
	for (size_t i = 1; i < n; i++) {
		if (sp[i].first <= sp[i - 1].last) {
			const struct span *late = sp[i].idx > sp[i - 1].idx ? &sp[i] : &sp[i - 1];
			const struct span *early = late == &sp[i] ? &sp[i - 1] : &sp[i];
			struct dp_range rl = { late->first, late->last };
			struct dp_range re = { early->first, early->last };

			cs_path_idx(epath, lpath, late->idx);
			cs_path_idx(other, key, early->idx);
			cs_fail(p, epath, "%s%s overlaps %s %s", excl ? "" : "range ",
				cs_rangefmt(&rl).s, other, cs_rangefmt(&re).s);
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		out[i] = (struct dp_range){ sp[i].first, sp[i].last };
	}
	ret = 0;
out:
	free(sp);
	return ret;
}

int cp_pools_parse(struct pctx *p, const char *path, json_t *v, void *obj)
{
	return parse_ranges(p, path, v, obj, false);
}

/* Exclusions, then: no interface address may be handed out from a pool. */
int cp_exclusions_parse(struct pctx *p, const char *path, json_t *v, void *obj)
{
	const struct dp_scope *s = obj;
	const struct dp_config *c = p->c;
	char sub[PATH_LEN];

	if (parse_ranges(p, path, v, obj, true) != 0) {
		return -EINVAL;
	}
	for (uint32_t i = 0; i < c->n_ifaces; i++) {
		if (dp_scope_in_pool(s, c->ifaces[i].addr)) {
			snprintf(sub, sizeof(sub), "scopes[%u].pools", s->index);
			return cs_fail(p, sub, "%s, the address of interface \"%s\", is in a pool; "
				       "exclude it or shrink the range",
				       lw_ip4_fmt(c->ifaces[i].addr).s, c->ifaces[i].name);
		}
	}
	return 0;
}

/* Reservations sorted by key, remembering file positions. */
struct rkey {
	const struct dp_reservation *r;
	uint32_t orig;
};

static int rkey_cmp(const void *a, const void *b)
{
	const struct rkey *x = a, *y = b;
	int r = dp_client_key_cmp(&x->r->key, &y->r->key);

	if (r != 0) {
		return r;
	}
	return x->orig < y->orig ? -1 : x->orig > y->orig;
}

static bool is_iface_addr(const struct dp_config *c, uint32_t a, const char **name)
{
	for (uint32_t i = 0; i < c->n_ifaces; i++) {
		if (c->ifaces[i].addr == a) {
			*name = c->ifaces[i].name;
			return true;
		}
	}
	return false;
}

/* A reserved address is a host of the subnet, not excluded, not the server's own. */
int cp_reservation_addr_check(struct pctx *p, const char *path, const json_t *v, void *obj)
{
	const struct dp_reservation *r = obj;
	const struct dp_scope *s = p->scope;
	const char *ifname;
	uint32_t at;

	(void)v;
	if ((r->addr & s->mask) != s->subnet) {
		return cs_fail(p, path, "%s is outside subnet %s/%u", lw_ip4_fmt(r->addr).s,
			       lw_ip4_fmt(s->subnet).s, s->prefix_len);
	}
	if (!dp_scope_contains(s, r->addr)) {
		return cs_fail(p, path, "%s is the %s address of subnet %s/%u",
			       lw_ip4_fmt(r->addr).s, r->addr == s->subnet ? "network" : "broadcast",
			       lw_ip4_fmt(s->subnet).s, s->prefix_len);
	}
	if (range_search(s->exclusions, s->n_exclusions, r->addr, &at)) {
		return cs_fail(p, path, "%s is reserved but excluded by %s", lw_ip4_fmt(r->addr).s,
			       cs_rangefmt(&s->exclusions[at]).s);
	}
	if (is_iface_addr(p->c, r->addr, &ifname)) {
		return cs_fail(p, path, "%s is the address of interface \"%s\"",
			       lw_ip4_fmt(r->addr).s, ifname);
	}
	return 0;
}

/* Each entry, then one reservation per client key and per address; stored in key order. */
int cp_reservations_parse(struct pctx *p, const char *lpath, json_t *a, void *obj)
{
	struct dp_scope *s = obj;
	char epath[PATH_LEN];
	struct rkey *k = NULL;
	struct span *ad = NULL;
	struct dp_reservation *sorted;
	size_t n;
	int ret = -EINVAL;

	if (a == NULL) {
		return 0;
	}
	if (!json_is_array(a)) {
		return cs_fail_got(p, lpath, "must be a list of reservations", a);
	}
	n = json_array_size(a);
	if (n == 0) {
		return 0;
	}
	s->reservations = calloc(n, sizeof(*s->reservations));
	if (s->reservations == NULL) {
		return cs_oom(p, lpath);
	}
	s->n_reservations = (uint32_t)n;
	p->scope = s;
	for (size_t i = 0; i < n; i++) {
		if (cs_parse_object(p, cs_path_idx(epath, lpath, i), json_array_get(a, i),
				    &cs_reservation, &s->reservations[i]) != 0) {
			return -EINVAL;
		}
	}

	k = calloc(n, sizeof(*k));
	ad = calloc(n, sizeof(*ad));
	sorted = calloc(n, sizeof(*sorted));
	s->res_by_addr = calloc(n, sizeof(*s->res_by_addr));
	if (k == NULL || ad == NULL || sorted == NULL || s->res_by_addr == NULL) {
		free(sorted);
		ret = cs_oom(p, lpath);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		k[i] = (struct rkey){ &s->reservations[i], (uint32_t)i };
	}
	qsort(k, n, sizeof(*k), rkey_cmp);
	for (size_t i = 1; i < n; i++) {
		if (dp_client_key_cmp(&k[i].r->key, &k[i - 1].r->key) == 0) {
			char ks[DP_KEY_MAX * 3 + 1], sub[PATH_LEN];
			bool hw = k[i].r->key.type == DP_KEY_HWADDR;

			cs_key_fmt(ks, sizeof(ks), &k[i].r->key);
			cs_path_idx(epath, lpath, k[i].orig);
			cs_fail(p, cs_path_key(sub, epath, hw ? "hw-address" : "client-id"),
				"%s %s already has a reservation (reservations[%u])",
				hw ? "hw-address" : "client-id", ks, k[i - 1].orig);
			free(sorted);
			goto out;
		}
	}
	/* Move the entries into key order; ownership of their option lists moves with them. */
	for (size_t i = 0; i < n; i++) {
		sorted[i] = *k[i].r;
		ad[i] = (struct span){ sorted[i].addr, k[i].orig, (uint32_t)i };
	}
	free(s->reservations);
	s->reservations = sorted;
	/* Sort by address, ties by file position, so the later duplicate is the one named. */
	qsort(ad, n, sizeof(*ad), span_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && ad[i].first == ad[i - 1].first) {
			char sub[PATH_LEN];

			cs_path_idx(epath, lpath, ad[i].last);
			cs_fail(p, cs_path_key(sub, epath, "ip-address"),
				"%s is already reserved by reservations[%u]",
				lw_ip4_fmt(ad[i].first).s, ad[i - 1].last);
			goto out;
		}
		s->res_by_addr[i] = ad[i].idx;
	}
	ret = 0;
out:
	free(k);
	free(ad);
	return ret;
}

json_t *cp_reservations_json(const struct dp_config *c, const void *obj, bool *ok)
{
	const struct dp_scope *s = obj;
	json_t *a;

	if (s->n_reservations == 0) {
		return NULL;
	}
	a = json_array();
	for (uint32_t i = 0; i < s->n_reservations; i++) {
		push(a, cs_write_object(c, &cs_reservation, &s->reservations[i], ok), ok);
	}
	return a;
}

static int range_first_cmp(const void *a, const void *b)
{
	const struct dp_range *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* One entry of server.relay-allow: "a.b.c.d" or "a.b.c.d/len" (the network address). */
static int relay_allow_value(struct pctx *p, const char *path, json_t *v, struct dp_range *r)
{
	const char *s, *slash;
	json_t *addr;
	unsigned long len = 32;
	uint32_t mask;
	char *end;
	int rc;

	if (!json_is_string(v)) {
		return cs_fail_got(p, path, "must be an IPv4 address or prefix", v);
	}
	s = json_string_value(v);
	slash = strchr(s, '/');
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9' ||
		    (len = strtoul(slash + 1, &end, 10), *end != '\0') || len > 32) {
			return cs_fail(p, path, "\"%s\" is not an IPv4 address or prefix "
				       "(\"198.18.0.2\", \"198.18.0.0/24\")", s);
		}
	}
	addr = json_stringn(s, slash != NULL ? (size_t)(slash - s) : strlen(s));
	if (addr == NULL) {
		return cs_oom(p, path);
	}
	rc = cs_ipv4_value(p, path, addr, &r->first);
	json_decref(addr);
	if (rc != 0) {
		return -EINVAL;
	}
	mask = len == 0 ? 0 : UINT32_MAX << (32 - len);
	if ((r->first & ~mask) != 0) {
		return cs_fail(p, path, "\"%s\": the address has bits set beyond the /%lu prefix "
			       "(the network is %s/%lu)", s, len, lw_ip4_fmt(r->first & mask).s,
			       len);
	}
	r->last = r->first | ~mask;
	return 0;
}

/* @p r as server.relay-allow writes it: "a.b.c.d", or "a.b.c.d/len" for a prefix. */
static void relay_range_fmt(char buf[24], const struct dp_range *r)
{
	uint32_t size = r->last - r->first;	/* 2^(32 - len) - 1 */
	unsigned len = 32;

	while (size != 0) {
		size >>= 1;
		len--;
	}
	if (len == 32) {
		snprintf(buf, 24, "%s", lw_ip4_fmt(r->first).s);
	} else {
		snprintf(buf, 24, "%s/%u", lw_ip4_fmt(r->first).s, len);
	}
}

/*
 * A list of relay agents' IPv4 addresses at @p lpath (NULL or [] is none): scopes[].relay-
 * addresses (@p prefixes false) and server.relay-allow (addresses or, @p prefixes, prefixes).
 * Every entry becomes a range (an address is one of one) with the same checks and messages:
 * its own (cs_ipv4_value, relay_allow_value), 0.0.0.0 alone is no relay, an entry already
 * listed or overlapping an earlier one names that one as @p field[j]. Sorted.
 * @param out  set as soon as allocated (freed by the caller, also on failure), with @p n_out.
 */
static int relay_list_parse(struct pctx *p, const char *lpath, json_t *a, const char *field,
			    bool prefixes, struct dp_range **out, uint32_t *n_out)
{
	struct dp_range *v;
	char epath[PATH_LEN], text[24];
	size_t n;

	if (a == NULL) {
		return 0;
	}
	if (!json_is_array(a)) {
		return cs_fail_got(p, lpath, prefixes ? "must be a list of IPv4 addresses or "
				   "prefixes" : "must be a list of IPv4 addresses", a);
	}
	n = json_array_size(a);
	if (n == 0) {
		return 0;
	}
	v = *out = calloc(n, sizeof(*v));
	if (v == NULL) {
		return cs_oom(p, lpath);
	}
	*n_out = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		json_t *x = json_array_get(a, i);

		cs_path_idx(epath, lpath, i);
		if (prefixes ? relay_allow_value(p, epath, x, &v[i]) != 0 :
		    cs_ipv4_value(p, epath, x, &v[i].first) != 0) {
			return -EINVAL;
		}
		if (!prefixes) {
			v[i].last = v[i].first;
		}
		if (v[i].last == 0) {
			return cs_fail(p, epath, "0.0.0.0 is not a relay address");
		}
		/* Short lists; a scan keeps the message's indexes exact. */
		for (size_t j = 0; j < i; j++) {
			if (v[j].first == v[i].first && v[j].last == v[i].last) {
				relay_range_fmt(text, &v[i]);
				return cs_fail(p, epath, "%s is already listed at %s[%zu]", text,
					       field, j);
			}
			if (v[j].first <= v[i].last && v[i].first <= v[j].last) {
				return cs_fail(p, epath, "overlaps %s[%zu]", field, j);
			}
		}
	}
	qsort(v, n, sizeof(*v), range_first_cmp);
	return 0;
}

int cp_relay_allow_parse(struct pctx *p, const char *lpath, json_t *a, void *obj)
{
	struct dp_config *c = obj;

	return relay_list_parse(p, lpath, a, "relay-allow", true, &c->relay_allow,
				&c->n_relay_allow);
}

json_t *cp_relay_allow_json(const struct dp_config *c, const void *obj, bool *ok)
{
	char buf[24];
	json_t *a, *v;

	(void)obj;
	if (c->n_relay_allow == 0) {
		return NULL;
	}
	a = json_array();
	if (a == NULL) {
		*ok = false;
		return NULL;
	}
	for (uint32_t i = 0; i < c->n_relay_allow; i++) {
		relay_range_fmt(buf, &c->relay_allow[i]);
		v = json_string(buf);
		if (v == NULL || json_array_append_new(a, v) != 0) {
			*ok = false;
		}
	}
	return a;
}

/* The dataplane keeps a scope's relays as sorted addresses (dp_scope.relays). */
int cp_relays_parse(struct pctx *p, const char *lpath, json_t *a, void *obj)
{
	struct dp_scope *s = obj;
	struct dp_range *r = NULL;
	uint32_t n = 0;
	int rc = relay_list_parse(p, lpath, a, "relay-addresses", false, &r, &n);

	if (rc == 0 && n > 0) {
		s->relays = calloc(n, sizeof(*s->relays));
		if (s->relays == NULL) {
			rc = cs_oom(p, lpath);
		} else {
			s->n_relays = n;
			for (uint32_t i = 0; i < n; i++) {
				s->relays[i] = r[i].first;
			}
		}
	}
	free(r);
	return rc;
}

/* An interface is bound to at most one scope. */
int cp_scope_iface_parse(struct pctx *p, const char *path, json_t *x, void *obj)
{
	struct dp_scope *s = obj;
	const struct dp_config *c = p->c;
	const char *ifname;

	if (x == NULL) {
		return 0;
	}
	if (!json_is_string(x)) {
		return cs_fail_got(p, path, "must be an interface name", x);
	}
	ifname = json_string_value(x);
	for (uint32_t i = 0; i < c->n_ifaces; i++) {
		if (strcmp(c->ifaces[i].name, ifname) == 0) {
			s->interface = (int32_t)i;
		}
	}
	if (s->interface < 0) {
		return cs_fail(p, path, "no interface named %s", cs_describe(x).s);
	}
	if (p->iface_owner[s->interface] >= 0) {
		return cs_fail(p, path, "interface %s is already bound to scope \"%s\"",
			       cs_describe(x).s, c->scopes[p->iface_owner[s->interface]].name);
	}
	p->iface_owner[s->interface] = (int32_t)s->index;
	return 0;
}

json_t *cp_scope_iface_json(const struct dp_config *c, const void *obj, bool *ok)
{
	const struct dp_scope *s = obj;

	(void)ok;
	if (s->interface < 0 || (uint32_t)s->interface >= c->n_ifaces) {
		return NULL;
	}
	return json_string(c->ifaces[s->interface].name);
}

struct sname {
	const char *name;
	uint32_t idx;
};

static int sname_cmp(const void *a, const void *b)
{
	const struct sname *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r != 0) {
		return r;
	}
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Rules across scopes: unique names, disjoint subnets, each relay address in one scope. */
static int check_scopes(struct pctx *p, struct dp_config *c)
{
	uint32_t n = c->n_scopes, nrel = 0;
	struct sname *names = calloc(n, sizeof(*names));
	struct span *sp = calloc(n, sizeof(*sp));
	struct span *rel = NULL;
	char path[PATH_LEN];
	int ret = -EINVAL;

	for (uint32_t i = 0; i < n; i++) {
		nrel += c->scopes[i].n_relays;
	}
	rel = calloc(nrel != 0 ? nrel : 1, sizeof(*rel));
	if (names == NULL || sp == NULL || rel == NULL) {
		ret = cs_oom(p, "scopes");
		goto out;
	}
	nrel = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct dp_scope *s = &c->scopes[i];

		names[i] = (struct sname){ s->name, i };
		sp[i] = (struct span){ s->subnet, s->subnet | ~s->mask, i };
		for (uint32_t j = 0; j < s->n_relays; j++) {
			rel[nrel++] = (struct span){ s->relays[j], i, i };
		}
	}
	qsort(names, n, sizeof(*names), sname_cmp);
	for (uint32_t i = 1; i < n; i++) {
		if (strcmp(names[i].name, names[i - 1].name) == 0) {
			snprintf(path, sizeof(path), "scopes[%u].name", names[i].idx);
			cs_fail(p, path, "scope name \"%s\" is already used by scopes[%u]",
				names[i].name, names[i - 1].idx);
			goto out;
		}
	}
	qsort(sp, n, sizeof(*sp), span_cmp);
	for (uint32_t i = 1; i < n; i++) {
		if (sp[i].first <= sp[i - 1].last) {
			const struct span *late = sp[i].idx > sp[i - 1].idx ? &sp[i] : &sp[i - 1];
			const struct span *early = late == &sp[i] ? &sp[i - 1] : &sp[i];
			const struct dp_scope *a = &c->scopes[late->idx];
			const struct dp_scope *b = &c->scopes[early->idx];

			snprintf(path, sizeof(path), "scopes[%u].subnet", late->idx);
			cs_fail(p, path, "%s/%u overlaps subnet %s/%u of scope \"%s\"",
				lw_ip4_fmt(a->subnet).s, a->prefix_len, lw_ip4_fmt(b->subnet).s,
				b->prefix_len, b->name);
			goto out;
		}
	}
	qsort(rel, nrel, sizeof(*rel), span_cmp);
	for (uint32_t i = 1; i < nrel; i++) {
		if (rel[i].first == rel[i - 1].first) {
			snprintf(path, sizeof(path), "scopes[%u].relay-addresses", rel[i].idx);
			cs_fail(p, path, "%s is already a relay address of scope \"%s\"",
				lw_ip4_fmt(rel[i].first).s, c->scopes[rel[i - 1].idx].name);
			goto out;
		}
	}
	ret = 0;
out:
	free(names);
	free(sp);
	free(rel);
	return ret;
}


int cp_scopes_parse(struct pctx *p, const char *path, json_t *a, void *obj)
{
	struct dp_config *c = obj;
	char epath[PATH_LEN];
	size_t n = json_array_size(a);

	if (!json_is_array(a) || n == 0 || n > DP_MAX_SCOPES) {
		char what[64];

		snprintf(what, sizeof(what), "must be a list of 1..%d scopes", DP_MAX_SCOPES);
		return cs_fail_got(p, path, what, a);
	}
	c->scopes = calloc(n, sizeof(*c->scopes));
	if (c->scopes == NULL) {
		return cs_oom(p, path);
	}
	c->n_scopes = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		c->scopes[i].interface = -1;
		c->scopes[i].index = (uint32_t)i;
	}
	for (size_t i = 0; i < n; i++) {
		if (cs_parse_object(p, cs_path_idx(epath, path, i), json_array_get(a, i), &cs_scope,
				    &c->scopes[i]) != 0) {
			return -EINVAL;
		}
	}
	return check_scopes(p, c);
}

json_t *cp_scopes_json(const struct dp_config *c, const void *obj, bool *ok)
{
	json_t *a = json_array();

	(void)obj;
	for (uint32_t i = 0; i < c->n_scopes; i++) {
		push(a, cs_write_object(c, &cs_scope, &c->scopes[i], ok), ok);
	}
	return a;
}

/* ------------------------------------------------------------------------------------------ */
/* failover relationships                                                                      */

/*
 * A relationship's or a superscope's name must differ from the names of the @p idx entries of
 * list @p list before it: @p first is the name of entry 0, the next one @p stride bytes on.
 */
static int name_unique(struct pctx *p, const char *path, const char *list, const char *first,
		       size_t stride, uint32_t idx)
{
	const char *name = first + (size_t)idx * stride;

	for (uint32_t j = 0; j < idx; j++) {
		if (strcmp(first + (size_t)j * stride, name) == 0) {
			return cs_fail(p, path, "\"%s\" is already the name of %s[%u]", name, list,
				       j);
		}
	}
	return 0;
}

/*
 * Entry @p i (JSON @p x) of the scope-name list at @p path: the scope it names, in *s, and the
 * entry's own path in @p ipath (PATH_LEN) for the caller's further checks.
 * @return 0, or the failure ("must name a scope").
 */
static int scope_named(struct pctx *p, const char *path, size_t i, const json_t *x,
		       char *ipath, uint32_t *s)
{
	const struct dp_config *c = p->c;

	cs_path_idx(ipath, path, i);
	for (*s = 0; *s < c->n_scopes; (*s)++) {
		if (json_is_string(x) && strcmp(c->scopes[*s].name, json_string_value(x)) == 0) {
			return 0;
		}
	}
	return cs_fail_got(p, ipath, "must name a scope", x);
}

/* The names of @p n scopes, by index into c->scopes, as a JSON list. */
static json_t *scope_names_json(const struct dp_config *c, const uint32_t *idx, uint32_t n,
				bool *ok)
{
	json_t *a = json_array();

	for (uint32_t k = 0; k < n; k++) {
		push(a, json_string(c->scopes[idx[k]].name), ok);
	}
	return a;
}

/* A list of @p n objects described by @p o (NULL when empty: the key is left out). */
static json_t *objects_json(const struct dp_config *c, const struct cs_object *o,
			    const void *first, size_t stride, uint32_t n, bool *ok)
{
	json_t *a;

	if (n == 0) {
		return NULL;
	}
	a = json_array();
	for (uint32_t i = 0; i < n; i++) {
		push(a, cs_write_object(c, o, (const char *)first + (size_t)i * stride, ok), ok);
	}
	return a;
}

int cp_rel_name_check(struct pctx *p, const char *path, const json_t *v, void *obj)
{
	const struct dp_relationship *r = obj;

	(void)v;
	return name_unique(p, path, "relationships", p->c->relationships[0].name,
			   sizeof(*r), (uint32_t)(r - p->c->relationships));
}

/* Scope names; a scope belongs to one relationship. */
int cp_rel_scopes_parse(struct pctx *p, const char *path, json_t *list, void *obj)
{
	struct dp_relationship *r = obj;
	struct dp_config *c = p->c;
	uint32_t idx = (uint32_t)(r - c->relationships);
	json_t *x;
	size_t i;

	if (list == NULL) {
		return 0;	/* no scopes: kept for later use, as Windows keeps it */
	}
	if (!json_is_array(list)) {
		return cs_fail_got(p, path, "must be a list of scope names", list);
	}
	if (json_array_size(list) == 0) {
		return 0;
	}
	r->scopes = calloc(json_array_size(list), sizeof(*r->scopes));
	if (r->scopes == NULL) {
		return cs_oom(p, path);
	}
	json_array_foreach(list, i, x) {
		char ipath[PATH_LEN];
		uint32_t s;

		if (scope_named(p, path, i, x, ipath, &s) != 0) {
			return -EINVAL;
		}
		if (p->owner[s] >= 0) {
			return cs_fail(p, ipath, "scope \"%s\" is already in relationships[%d] (a "
				       "scope belongs to one relationship)", c->scopes[s].name,
				       p->owner[s]);
		}
		p->owner[s] = (int)idx;
		c->scopes[s].fo_rel = (uint8_t)(idx + 1);
		r->scopes[r->n_scopes++] = s;
	}
	qsort(r->scopes, r->n_scopes, sizeof(*r->scopes), u32_cmp);
	return 0;
}

json_t *cp_rel_scopes_json(const struct dp_config *c, const void *obj, bool *ok)
{
	const struct dp_relationship *r = obj;

	return scope_names_json(c, r->scopes, r->n_scopes, ok);
}

/* ------------------------------------------------------------------------------------------ */
/* management channel (server.management)                                                      */

int cp_mgmt_parse(struct pctx *p, const char *path, json_t *v, void *obj)
{
	struct dp_config *c = obj;

	c->mgmt_port = 6470;
	if (v == NULL) {
		return 0;	/* off */
	}
	if (!json_is_object(v)) {
		return cs_fail_got(p, path, "must be an object", v);
	}
	if (cs_parse_object(p, path, v, &cs_mgmt, c) != 0) {
		return -EINVAL;
	}
	if (c->mgmt_addr == 0) {
		return cs_fail(p, path, "address 0.0.0.0: name this server's own address (leave "
			       "\"management\" out to turn the channel off)");
	}
	return 0;
}

json_t *cp_mgmt_json(const struct dp_config *c, const void *obj, bool *ok)
{
	(void)obj;
	if (c->mgmt_addr == 0) {
		return NULL;
	}
	return cs_write_object(c, &cs_mgmt, c, ok);
}

int cp_mgmt_partners_parse(struct pctx *p, const char *path, json_t *a, void *obj)
{
	struct dp_config *c = obj;
	char epath[PATH_LEN];
	size_t n;

	n = json_array_size(a);
	if (!json_is_array(a) || n == 0 || n > DP_MAX_RELATIONSHIPS) {
		char what[64];

		snprintf(what, sizeof(what), "must be a list of 1..%d partners",
			 DP_MAX_RELATIONSHIPS);
		return cs_fail_got(p, path, what, a);
	}
	c->mgmt_partners = calloc(n, sizeof(*c->mgmt_partners));
	if (c->mgmt_partners == NULL) {
		return cs_oom(p, path);
	}
	c->n_mgmt_partners = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		cs_path_idx(epath, path, i);
		if (cs_parse_object(p, epath, json_array_get(a, i), &cs_mgmt_partner,
				    &c->mgmt_partners[i]) != 0) {
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++) {
			if (c->mgmt_partners[j].addr == c->mgmt_partners[i].addr) {
				return cs_fail(p, epath, "address %s is already partners[%zu]",
					       lw_ip4_fmt(c->mgmt_partners[i].addr).s, j);
			}
		}
	}
	return 0;
}

json_t *cp_mgmt_partners_json(const struct dp_config *c, const void *obj, bool *ok)
{
	json_t *a = json_array();

	(void)obj;
	for (uint32_t i = 0; i < c->n_mgmt_partners; i++) {
		push(a, cs_write_object(c, &cs_mgmt_partner, &c->mgmt_partners[i], ok), ok);
	}
	return a;
}

int cp_relationships_parse(struct pctx *p, const char *path, json_t *a, void *obj)
{
	struct dp_config *c = obj;
	char epath[PATH_LEN];
	size_t n;

	if (a == NULL) {
		return 0;
	}
	n = json_array_size(a);
	if (!json_is_array(a)) {
		char what[64];

		snprintf(what, sizeof(what), "must be a list of 0..%d relationships",
			 DP_MAX_RELATIONSHIPS);
		return cs_fail_got(p, path, what, a);
	}
	if (n > DP_MAX_RELATIONSHIPS) {
		return cs_fail(p, path, "%zu relationships: a server holds at most %d failover "
			       "relationships (Windows' limit)", n, DP_MAX_RELATIONSHIPS);
	}
	if (n == 0) {
		return 0;
	}
	c->relationships = calloc(n, sizeof(*c->relationships));
	p->owner = malloc(sizeof(*p->owner) * c->n_scopes);
	if (c->relationships == NULL || p->owner == NULL) {
		return cs_oom(p, path);
	}
	for (uint32_t s = 0; s < c->n_scopes; s++) {
		p->owner[s] = -1;
	}
	c->n_relationships = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		if (cs_parse_object(p, cs_path_idx(epath, path, i), json_array_get(a, i),
				    &cs_relationship, &c->relationships[i]) != 0) {
			return -EINVAL;
		}
	}
	if (c->store_path[0] == '\0') {
		/* The partner protocol's promises (unacked updates, the state and its start time,
		 * D12 §9.2) must survive a restart: no failover on an in-memory server. */
		return cs_fail(p, path, "need server.store: failover state and unacked binding "
			       "updates must be durable");
	}
	return 0;
}

json_t *cp_relationships_json(const struct dp_config *c, const void *obj, bool *ok)
{
	(void)obj;
	return objects_json(c, &cs_relationship, c->relationships, sizeof(*c->relationships),
			    c->n_relationships, ok);
}

/* ------------------------------------------------------------------------------------------ */
/* superscopes                                                                                 */

int cp_sup_name_check(struct pctx *p, const char *path, const json_t *v, void *obj)
{
	const struct dp_superscope *u = obj;

	(void)v;
	return name_unique(p, path, "superscopes", p->c->superscopes[0].name, sizeof(*u),
			   (uint32_t)(u - p->c->superscopes));
}

/*
 * Member scope names, kept in the order written (the order addresses are taken in). A scope is
 * in one superscope; members share one failover relationship, so that whether this server
 * answers a client (fo_answers) does not depend on the member that gives the address.
 */
int cp_sup_scopes_parse(struct pctx *p, const char *path, json_t *list, void *obj)
{
	struct dp_superscope *u = obj;
	struct dp_config *c = p->c;
	uint32_t idx = (uint32_t)(u - c->superscopes);
	json_t *x;
	size_t i;

	if (!json_is_array(list) || json_array_size(list) == 0) {
		return cs_fail_got(p, path, "must be a list of 1.. scope names", list);
	}
	u->members = calloc(json_array_size(list), sizeof(*u->members));
	if (u->members == NULL) {
		return cs_oom(p, path);
	}
	json_array_foreach(list, i, x) {
		char ipath[PATH_LEN];
		uint32_t s;

		if (scope_named(p, path, i, x, ipath, &s) != 0) {
			return -EINVAL;
		}
		if (c->scopes[s].superscope != 0) {
			return cs_fail(p, ipath, "scope \"%s\" is already in superscopes[%u] (a "
				       "scope belongs to one superscope)", c->scopes[s].name,
				       c->scopes[s].superscope - 1);
		}
		if (u->n_members != 0 && c->scopes[s].fo_rel != c->scopes[u->members[0]].fo_rel) {
			return cs_fail(p, ipath, "scope \"%s\" is not in the failover relationship "
				       "of scope \"%s\" (the members of a superscope share one, or "
				       "none)", c->scopes[s].name, c->scopes[u->members[0]].name);
		}
		c->scopes[s].superscope = idx + 1;
		u->members[u->n_members++] = s;
	}
	return 0;
}

json_t *cp_sup_scopes_json(const struct dp_config *c, const void *obj, bool *ok)
{
	const struct dp_superscope *u = obj;

	return scope_names_json(c, u->members, u->n_members, ok);
}

int cp_superscopes_parse(struct pctx *p, const char *path, json_t *a, void *obj)
{
	struct dp_config *c = obj;
	char epath[PATH_LEN];
	size_t n;

	if (a == NULL) {
		return 0;
	}
	if (!json_is_array(a)) {
		return cs_fail_got(p, path, "must be a list of superscopes", a);
	}
	n = json_array_size(a);
	if (n == 0) {
		return 0;
	}
	c->superscopes = calloc(n, sizeof(*c->superscopes));
	if (c->superscopes == NULL) {
		return cs_oom(p, path);
	}
	c->n_superscopes = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		if (cs_parse_object(p, cs_path_idx(epath, path, i), json_array_get(a, i),
				    &cs_superscope, &c->superscopes[i]) != 0) {
			return -EINVAL;
		}
	}
	return 0;
}

json_t *cp_superscopes_json(const struct dp_config *c, const void *obj, bool *ok)
{
	(void)obj;
	return objects_json(c, &cs_superscope, c->superscopes, sizeof(*c->superscopes),
			    c->n_superscopes, ok);
}

/* ------------------------------------------------------------------------------------------ */
/* Entry points                                                                                */

/* jansson's reason, on one line: it may quote a token that holds a newline. */
static void one_line(char *out, size_t size, const char *text)
{
	size_t o = 0;

	for (const unsigned char *t = (const unsigned char *)text; *t != '\0' && o + 7 < size;
	     t++) {
		if (*t < 0x20 || *t == 0x7f) {
			o += (size_t)snprintf(out + o, size - o, "\\u%04x", *t);
		} else {
			out[o++] = (char)*t;
		}
	}
	out[o] = '\0';
}

static struct dp_config *parse_buffer(const char *buf, size_t len,
				      const struct dp_config *running, char *err, size_t errlen)
{
	struct pctx *p;
	struct dp_config *c = NULL;
	json_error_t je;
	json_t *root;

	if (errlen != 0) {
		err[0] = '\0';
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		if (errlen != 0) {
			char text[JSON_ERROR_TEXT_LENGTH * 6];

			one_line(text, sizeof(text), je.text);
			snprintf(err, errlen, "line %d column %d: JSON syntax error: %s", je.line,
				 je.column, text);
		}
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p != NULL) {
		c = calloc(1, sizeof(*c));
	}
	if (c == NULL) {
		if (errlen != 0) {
			snprintf(err, errlen, "out of memory");
		}
		goto out;
	}
	p->err = err;
	p->errlen = errlen;
	p->c = c;
	p->running = running;
	for (size_t i = 0; i < DP_MAX_IFACES; i++) {
		p->iface_owner[i] = -1;
	}
	if (cs_parse_object(p, "", root, &cs_root, c) != 0) {
		dp_config_free(c);
		c = NULL;
	} else {
		static _Atomic uint64_t generations;

		dp_config_index(c);
		c->generation = atomic_fetch_add(&generations, 1) + 1;
	}
out:
	if (p != NULL) {
		free(p->where);
		free(p->owner);
	}
	free(p);
	json_decref(root);
	return c;
}

struct dp_config *cp_config_parse(const char *json_text, char *err, size_t errlen)
{
	return parse_buffer(json_text, strlen(json_text), NULL, err, errlen);
}

struct dp_config *cp_config_parse_replacing(const char *json_text,
					    const struct dp_config *running, char *err,
					    size_t errlen)
{
	return parse_buffer(json_text, strlen(json_text), running, err, errlen);
}

struct dp_config *cp_config_load(const char *path, char *err, size_t errlen)
{
	struct dp_config *c = NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *f;

	f = fopen(path, "rb");
	if (f == NULL) {
		if (errlen != 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		}
		return NULL;
	}
	for (;;) {
		size_t got;

		if (len == cap) {
			char *nb;

			if (cap >= FILE_MAX) {
				if (errlen != 0) {
					snprintf(err, errlen, "%s: larger than %u bytes", path,
						 FILE_MAX);
				}
				goto out;
			}
			cap = cap != 0 ? cap * 2 : 16384;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				if (errlen != 0) {
					snprintf(err, errlen, "%s: out of memory", path);
				}
				goto out;
			}
			buf = nb;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0) {
			break;
		}
	}
	if (ferror(f)) {
		if (errlen != 0) {
			snprintf(err, errlen, "%s: read error", path);
		}
		goto out;
	}
	c = parse_buffer(buf != NULL ? buf : "", len, NULL, err, errlen);
out:
	free(buf);
	fclose(f);
	return c;
}

json_t *cp_config_to_json(const struct dp_config *c)
{
	bool ok = true;
	json_t *root = cs_write_object(c, &cs_root, c, &ok);

	if (!ok) {
		json_decref(root);
		return NULL;
	}
	return root;
}

json_t *cp_config_to_json_masked(const struct dp_config *c)
{
	json_t *root = cp_config_to_json(c);

	if (root != NULL && !cs_mask_secrets(root, &cs_root)) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/* The README quickstart lab. Keep in step with README.md and scripts/. */
static const char default_json[] =
	"{\n"
	"  \"server\": {\n"
	"    \"workers\": 1,\n"
	"    \"store\": \"\",\n"
	"    \"control-socket\": \"" DEFAULT_CONTROL_SOCKET "\"\n"
	"  },\n"
	"  \"ports\": [\n"
	"    {\n"
	"      \"name\": \"lab0\",\n"
	"      \"device\": \"net_af_packet0,iface=lw-srv0\",\n"
	"      \"interfaces\": [ { \"name\": \"lab0\", \"vlan\": 0, "
	"\"address\": \"198.18.0.1/24\" } ]\n"
	"    }\n"
	"  ],\n"
	"  \"scopes\": [\n"
	"    {\n"
	"      \"name\": \"lab\",\n"
	"      \"subnet\": \"198.18.0.0/24\",\n"
	"      \"pools\": [ \"198.18.0.100 - 198.18.0.199\" ],\n"
	"      \"lease-time\": 600,\n"
	"      \"options\": {\n"
	"        \"routers\": [ \"198.18.0.1\" ],\n"
	"        \"domain-name-servers\": [ \"198.18.0.1\" ],\n"
	"        \"domain-name\": \"lab.leasewire.test\"\n"
	"      }\n"
	"    },\n"
	"    {\n"
	"      \"name\": \"relayed\",\n"
	"      \"subnet\": \"198.19.0.0/16\",\n"
	"      \"pools\": [ \"198.19.0.10 - 198.19.255.250\" ],\n"
	"      \"relay-addresses\": [ \"198.18.0.2\" ],\n"
	"      \"lease-time\": 600\n"
	"    }\n"
	"  ]\n"
	"}\n";

const char *cp_config_default_json(void)
{
	return default_json;
}
