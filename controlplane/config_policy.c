/*
 * config_policy: the configuration's policies (server.policies, scopes[].policies) and the
 * link-layer filter (server.mac-filter): value parsers for conditions and MAC patterns, the
 * lists and the rules across their entries, and the compiled tables the data plane reads
 * (dp_scope.pol_ranges: every policy range of a scope, sorted, with its policy). The keys
 * themselves are rows of config_schema.c (cs_policy, cs_server_policy, cs_condition).
 *
 * Rules: policy names are unique in their list and so are processing orders (an absent order
 * is the entry's position, from 1); a scope policy's ranges lie each inside one pool range of
 * its scope and overlap no other policy range of the scope; server policies have no ranges
 * (as Windows: a server-level policy sets options and lease time only). Policies are stored
 * in processing order, so the worker takes the first that matches.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_impl.h"

#define MAC_PATTERN_LIKE "a MAC address pattern like \"00:1a:2b:*\" (two hex digits or * per " \
	"byte, a trailing * for the rest)"

/* ------------------------------------------------------------------------------------------ */
/* values                                                                                      */

/*
 * A MAC pattern: up to six bytes, each two hex digits or "*" (any byte), separated by ':' or
 * '-' or nothing; fewer than six only when the last is "*", which then stands for the rest.
 */
static bool mac_pattern_parse(const char *s, uint8_t value[6], uint8_t mask[6])
{
	int n = 0;
	bool last_star = false;

	memset(value, 0, 6);
	memset(mask, 0, 6);
	while (*s != '\0') {
		if (n == 6) {
			return false;
		}
		if (*s == '*') {
			last_star = true;
			n++;
			s++;
		} else {
			int hi = lw_hex_digit(s[0]), lo = hi < 0 ? -1 : lw_hex_digit(s[1]);

			if (lo < 0) {
				return false;
			}
			value[n] = (uint8_t)(hi << 4 | lo);
			mask[n] = 0xff;
			last_star = false;
			n++;
			s += 2;
		}
		if (*s == ':' || *s == '-') {
			s++;
			if (*s == '\0') {
				return false;
			}
		}
	}
	return n == 6 || (n > 0 && last_star);
}

static int mac_pattern_value(struct pctx *p, const char *path, const json_t *v, uint8_t value[6],
			     uint8_t mask[6], char *text, size_t size)
{
	const char *s;

	if (!json_is_string(v)) {
		return cs_fail_got(p, path, "must be " MAC_PATTERN_LIKE, v);
	}
	s = json_string_value(v);
	if (json_string_length(v) >= size || memchr(s, '\0', json_string_length(v)) != NULL ||
	    !mac_pattern_parse(s, value, mask)) {
		return cs_fail(p, path, "%s is not " MAC_PATTERN_LIKE, cs_describe(v).s);
	}
	memcpy(text, s, json_string_length(v) + 1);
	return 0;
}

/* One condition value of @type (text, hex, or a MAC pattern) with its trailing wildcard. */
static int cond_value(struct pctx *p, const char *path, uint8_t type, const json_t *v,
		      struct dp_cond_value *out)
{
	char buf[DP_COND_TEXT_MAX];
	const char *s;
	size_t n;
	long k;

	if (type == DP_COND_CLIENT_ARCH) {
		char *end = NULL;
		unsigned long a = 0;

		if (json_is_string(v)) {
			a = strtoul(json_string_value(v), &end, 0);
		}
		if (end == NULL || end == json_string_value(v) || *end != '\0' || a > 0xffff ||
		    json_string_length(v) >= sizeof(out->text)) {
			return cs_fail(p, path, "%s is not a client architecture type like \"7\" "
				       "or \"0x0007\"", cs_describe(v).s);
		}
		out->data[0] = (uint8_t)(a >> 8);
		out->data[1] = (uint8_t)a;
		out->len = 2;
		memcpy(out->text, json_string_value(v), json_string_length(v) + 1);
		return 0;
	}
	if (type == DP_COND_MAC) {
		out->len = 6;
		return mac_pattern_value(p, path, v, out->data, out->mask, out->text,
					 sizeof(out->text));
	}
	if (!json_is_string(v)) {
		return cs_fail_got(p, path, "must be a string", v);
	}
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n >= sizeof(buf) || memchr(s, '\0', n) != NULL) {
		return cs_fail(p, path, "must be 1..%d characters", DP_COND_TEXT_MAX - 1);
	}
	memcpy(out->text, s, n + 1);
	memcpy(buf, s, n + 1);
	if (buf[n - 1] == '*') {
		out->prefix = true;
		buf[--n] = '\0';
	}
	if (type == DP_COND_CLIENT_ID || type == DP_COND_CIRCUIT_ID || type == DP_COND_REMOTE_ID) {
		k = n == 0 ? 0 : cp_hex_parse(buf, out->data, DP_COND_VALUE_MAX);
		if (k == -2) {
			return cs_fail(p, path, "must be at most %d bytes", DP_COND_VALUE_MAX);
		}
		if (k < 0 || (k == 0 && !out->prefix)) {
			return cs_fail(p, path, "%s is not hex bytes like \"01:02:03\" or "
				       "\"010203\", with an optional trailing *", cs_describe(v).s);
		}
		out->len = (uint8_t)k;
		return 0;
	}
	if (n > DP_COND_VALUE_MAX) {
		return cs_fail(p, path, "must be at most %d characters", DP_COND_VALUE_MAX);
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f) {
			return cs_fail(p, path, "must not contain control characters");
		}
	}
	memcpy(out->data, buf, n);
	out->len = (uint8_t)n;
	return 0;
}

int cp_cond_values_parse(struct pctx *p, const char *lpath, json_t *a, void *obj)
{
	struct dp_condition *c = obj;
	char epath[PATH_LEN];
	size_t n;

	if (!json_is_array(a) || json_array_size(a) == 0) {
		return cs_fail_got(p, lpath, "must be a non-empty list of values", a);
	}
	n = json_array_size(a);
	c->values = calloc(n, sizeof(*c->values));
	if (c->values == NULL) {
		return cs_oom(p, lpath);
	}
	c->n_values = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		if (cond_value(p, cs_path_idx(epath, lpath, i), c->type, json_array_get(a, i),
			       &c->values[i]) != 0) {
			return -EINVAL;
		}
	}
	return 0;
}

json_t *cp_cond_values_json(const struct dp_config *cfg, const void *obj, bool *ok)
{
	const struct dp_condition *c = obj;
	json_t *a = json_array();

	(void)cfg;
	for (uint32_t i = 0; a != NULL && i < c->n_values; i++) {
		if (json_array_append_new(a, json_string(c->values[i].text)) != 0) {
			*ok = false;
		}
	}
	if (a == NULL) {
		*ok = false;
	}
	return a;
}

/* ------------------------------------------------------------------------------------------ */
/* conditions and policies                                                                     */

int cp_conditions_parse(struct pctx *p, const char *lpath, json_t *a, void *obj)
{
	struct dp_policy *pol = obj;
	char epath[PATH_LEN];
	size_t n;

	if (a == NULL) {
		return 0;
	}
	if (!json_is_array(a)) {
		return cs_fail_got(p, lpath, "must be a list of conditions", a);
	}
	n = json_array_size(a);
	if (n == 0) {
		return 0;
	}
	pol->conds = calloc(n, sizeof(*pol->conds));
	if (pol->conds == NULL) {
		return cs_oom(p, lpath);
	}
	pol->n_conds = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		if (cs_parse_object(p, cs_path_idx(epath, lpath, i), json_array_get(a, i),
				    &cs_condition, &pol->conds[i]) != 0) {
			return -EINVAL;
		}
	}
	return 0;
}

json_t *cp_conditions_json(const struct dp_config *c, const void *obj, bool *ok)
{
	const struct dp_policy *pol = obj;
	json_t *a = json_array();

	if (a == NULL) {
		*ok = false;
		return NULL;
	}
	for (uint32_t i = 0; i < pol->n_conds; i++) {
		if (json_array_append_new(a, cs_write_object(c, &cs_condition, &pol->conds[i],
							     ok)) != 0) {
			*ok = false;
		}
	}
	return a;
}

/* A scope policy's ranges: each inside one pool range of the scope (p->scope). */
int cp_policy_ranges_parse(struct pctx *p, const char *lpath, json_t *a, void *obj)
{
	struct dp_policy *pol = obj;
	const struct dp_scope *s = p->scope;
	char epath[PATH_LEN];
	size_t n;

	if (a == NULL) {
		return 0;
	}
	if (!json_is_array(a)) {
		return cs_fail_got(p, lpath, "must be a list of ranges", a);
	}
	n = json_array_size(a);
	if (n == 0) {
		return 0;
	}
	pol->ranges = calloc(n, sizeof(*pol->ranges));
	if (pol->ranges == NULL) {
		return cs_oom(p, lpath);
	}
	pol->n_ranges = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		struct dp_range *r = &pol->ranges[i];
		int64_t at;

		cs_path_idx(epath, lpath, i);
		if (cs_range_value(p, epath, json_array_get(a, i), true, r) != 0) {
			return -EINVAL;
		}
		if ((r->first & s->mask) != s->subnet || (r->last & s->mask) != s->subnet) {
			return cs_fail(p, epath, "range %s is outside the scope's subnet %s/%u",
				       cs_rangefmt(r).s, lw_ip4_fmt(s->subnet).s, s->prefix_len);
		}
		at = dp_range_find(s->ranges, s->n_ranges, r->first);
		if (at < 0 || r->last > s->ranges[at].last) {
			return cs_fail(p, epath, "range %s is not inside a single pool range of "
				       "the scope", cs_rangefmt(r).s);
		}
	}
	return 0;
}

json_t *cp_policy_ranges_json(const struct dp_config *c, const void *obj, bool *ok)
{
	const struct dp_policy *pol = obj;
	json_t *a;

	(void)c;
	if (pol->n_ranges == 0) {
		return NULL;
	}
	a = json_array();
	for (uint32_t i = 0; a != NULL && i < pol->n_ranges; i++) {
		if (json_array_append_new(a, cs_range_json(&pol->ranges[i], true)) != 0) {
			*ok = false;
		}
	}
	if (a == NULL) {
		*ok = false;
	}
	return a;
}

int cp_policy_opts_parse(struct pctx *p, const char *path, json_t *v, void *obj)
{
	return v != NULL ? cs_options_parse(p, path, v, &((struct dp_policy *)obj)->opts) : 0;
}

json_t *cp_policy_opts_json(const struct dp_config *c, const void *obj, bool *ok)
{
	const struct dp_policy *pol = obj;

	(void)c;
	return !dp_optlist_is_empty(&pol->opts) ? cs_options_json(&pol->opts, ok) : NULL;
}

struct prange {
	struct dp_range r;
	uint32_t pol, idx;	/* file positions: policy, and range in it */
};

static int prange_cmp(const void *a, const void *b)
{
	const struct prange *x = a, *y = b;

	if (x->r.first != y->r.first) {
		return x->r.first < y->r.first ? -1 : 1;
	}
	if (x->pol != y->pol) {
		return x->pol < y->pol ? -1 : 1;
	}
	return (x->idx > y->idx) - (x->idx < y->idx);
}

struct porder {
	uint32_t order, idx;
};

static int porder_cmp(const void *a, const void *b)
{
	const struct porder *x = a, *y = b;

	if (x->order != y->order) {
		return x->order < y->order ? -1 : 1;
	}
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/*
 * Compile a scope's policy ranges (already in processing order; @file maps the sorted position
 * back to the file's) into s->pol_ranges, refusing overlaps with both entries named.
 */
static int compile_ranges(struct pctx *p, const char *lpath, struct dp_scope *s,
			  const uint32_t *file)
{
	char epath[PATH_LEN], sub[PATH_LEN];
	struct prange *v;
	uint32_t n = 0, k = 0;
	int ret = -EINVAL;

	for (uint32_t i = 0; i < s->n_policies; i++) {
		n += s->policies[i].n_ranges;
	}
	if (n == 0) {
		return 0;
	}
	v = calloc(n, sizeof(*v));
	s->pol_ranges = calloc(n, sizeof(*s->pol_ranges));
	s->pol_of_range = calloc(n, sizeof(*s->pol_of_range));
	if (v == NULL || s->pol_ranges == NULL || s->pol_of_range == NULL) {
		free(v);
		return cs_oom(p, lpath);
	}
	for (uint32_t i = 0; i < s->n_policies; i++) {
		for (uint32_t r = 0; r < s->policies[i].n_ranges; r++) {
			v[k++] = (struct prange){ s->policies[i].ranges[r], i, r };
		}
	}
	qsort(v, n, sizeof(*v), prange_cmp);
	for (uint32_t i = 0; i < n; i++) {
		if (i > 0 && v[i].r.first <= v[i - 1].r.last) {
			const struct prange *late = file[v[i].pol] > file[v[i - 1].pol] ||
						    (v[i].pol == v[i - 1].pol &&
						     v[i].idx > v[i - 1].idx) ? &v[i] : &v[i - 1];
			const struct prange *early = late == &v[i] ? &v[i - 1] : &v[i];

			cs_path_idx(sub, lpath, file[late->pol]);
			cs_path_key(epath, sub, "ranges");
			cs_path_idx(sub, epath, late->idx);
			cs_fail(p, sub, "range %s overlaps %s of policy \"%s\"",
				cs_rangefmt(&late->r).s, cs_rangefmt(&early->r).s,
				s->policies[early->pol].name);
			goto out;
		}
		s->pol_ranges[i] = v[i].r;
		s->pol_of_range[i] = v[i].pol;
	}
	s->n_pol_ranges = n;
	ret = 0;
out:
	free(v);
	return ret;
}

static int policies_parse(struct pctx *p, const char *lpath, json_t *a,
			  const struct cs_object *o, struct dp_policy **out, uint32_t *n_out,
			  struct dp_scope *s)
{
	char epath[PATH_LEN], sub[PATH_LEN];
	struct porder *ord = NULL;
	struct dp_policy *v, *sorted = NULL;
	uint32_t *file = NULL;
	size_t n;
	int ret = -EINVAL;

	if (a == NULL) {
		return 0;
	}
	if (!json_is_array(a)) {
		return cs_fail_got(p, lpath, "must be a list of policies", a);
	}
	n = json_array_size(a);
	if (n == 0) {
		return 0;
	}
	v = calloc(n, sizeof(*v));
	if (v == NULL) {
		return cs_oom(p, lpath);
	}
	*out = v;
	*n_out = (uint32_t)n;
	p->scope = s;
	for (size_t i = 0; i < n; i++) {
		if (cs_parse_object(p, cs_path_idx(epath, lpath, i), json_array_get(a, i), o,
				    &v[i]) != 0) {
			return -EINVAL;
		}
		if (v[i].order == 0) {
			v[i].order = (uint32_t)i + 1;
		}
		for (size_t k = 0; k < i; k++) {
			if (strcmp(v[k].name, v[i].name) == 0) {
				return cs_fail(p, cs_path_key(sub, epath, "name"),
					       "policy \"%s\" is already defined by policies[%zu]",
					       v[i].name, k);
			}
			if (v[k].order == v[i].order) {
				return cs_fail(p, cs_path_key(sub, epath, "processing-order"),
					       "processing order %u is already policies[%zu]'s",
					       v[i].order, k);
			}
		}
	}
	ord = calloc(n, sizeof(*ord));
	sorted = calloc(n, sizeof(*sorted));
	file = calloc(n, sizeof(*file));
	if (ord == NULL || sorted == NULL || file == NULL) {
		free(sorted);
		ret = cs_oom(p, lpath);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		ord[i] = (struct porder){ v[i].order, (uint32_t)i };
	}
	qsort(ord, n, sizeof(*ord), porder_cmp);
	/* Into processing order; the entries' lists move with them. */
	for (size_t i = 0; i < n; i++) {
		sorted[i] = v[ord[i].idx];
		file[i] = ord[i].idx;
	}
	free(v);
	*out = sorted;
	ret = s != NULL ? compile_ranges(p, lpath, s, file) : 0;
out:
	free(ord);
	free(file);
	return ret;
}

static json_t *policies_json(const struct dp_config *c, const struct cs_object *o,
			     const struct dp_policy *v, uint32_t n, bool *ok)
{
	json_t *a;

	if (n == 0) {
		return NULL;
	}
	a = json_array();
	if (a == NULL) {
		*ok = false;
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (json_array_append_new(a, cs_write_object(c, o, &v[i], ok)) != 0) {
			*ok = false;
		}
	}
	return a;
}

int cp_scope_policies_parse(struct pctx *p, const char *path, json_t *v, void *obj)
{
	struct dp_scope *s = obj;

	return policies_parse(p, path, v, &cs_policy, &s->policies, &s->n_policies, s);
}

json_t *cp_scope_policies_json(const struct dp_config *c, const void *obj, bool *ok)
{
	const struct dp_scope *s = obj;

	return policies_json(c, &cs_policy, s->policies, s->n_policies, ok);
}

int cp_server_policies_parse(struct pctx *p, const char *path, json_t *v, void *obj)
{
	struct dp_config *c = obj;

	return policies_parse(p, path, v, &cs_server_policy, &c->policies, &c->n_policies, NULL);
}

json_t *cp_server_policies_json(const struct dp_config *c, const void *obj, bool *ok)
{
	(void)obj;
	return policies_json(c, &cs_server_policy, c->policies, c->n_policies, ok);
}

int cp_server_opts_parse(struct pctx *p, const char *path, json_t *v, void *obj)
{
	return v != NULL ? cs_options_parse(p, path, v, &((struct dp_config *)obj)->opts) : 0;
}

json_t *cp_server_opts_json(const struct dp_config *c, const void *obj, bool *ok)
{
	(void)obj;
	return !dp_optlist_is_empty(&c->opts) ? cs_options_json(&c->opts, ok) : NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* the link-layer filter                                                                        */

static int mac_list_parse(struct pctx *p, const char *lpath, json_t *a,
			  struct dp_mac_pattern **out, uint32_t *n_out)
{
	char epath[PATH_LEN];
	size_t n;

	if (a == NULL) {
		return 0;
	}
	if (!json_is_array(a)) {
		return cs_fail_got(p, lpath, "must be a list of MAC address patterns", a);
	}
	n = json_array_size(a);
	if (n == 0) {
		return 0;
	}
	*out = calloc(n, sizeof(**out));
	if (*out == NULL) {
		return cs_oom(p, lpath);
	}
	*n_out = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		struct dp_mac_pattern *m = &(*out)[i];

		if (mac_pattern_value(p, cs_path_idx(epath, lpath, i), json_array_get(a, i),
				      m->value, m->mask, m->text, sizeof(m->text)) != 0) {
			return -EINVAL;
		}
	}
	return 0;
}

static json_t *mac_list_json(const struct dp_mac_pattern *v, uint32_t n, bool *ok)
{
	json_t *a;

	if (n == 0) {
		return NULL;
	}
	a = json_array();
	for (uint32_t i = 0; a != NULL && i < n; i++) {
		if (json_array_append_new(a, json_string(v[i].text)) != 0) {
			*ok = false;
		}
	}
	if (a == NULL) {
		*ok = false;
	}
	return a;
}

int cp_mac_allow_parse(struct pctx *p, const char *path, json_t *v, void *obj)
{
	struct dp_config *c = obj;

	return mac_list_parse(p, path, v, &c->mac_allow, &c->n_mac_allow);
}

json_t *cp_mac_allow_json(const struct dp_config *c, const void *obj, bool *ok)
{
	(void)obj;
	return mac_list_json(c->mac_allow, c->n_mac_allow, ok);
}

int cp_mac_deny_parse(struct pctx *p, const char *path, json_t *v, void *obj)
{
	struct dp_config *c = obj;

	return mac_list_parse(p, path, v, &c->mac_deny, &c->n_mac_deny);
}

json_t *cp_mac_deny_json(const struct dp_config *c, const void *obj, bool *ok)
{
	(void)obj;
	return mac_list_json(c->mac_deny, c->n_mac_deny, ok);
}
