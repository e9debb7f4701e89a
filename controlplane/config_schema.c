/*
 * config_schema: the configuration's keys as tables, and the one engine that reads them.
 *
 * Each JSON object of the file is a struct cs_object: its rows (struct cs_item) in file
 * order, with the member each value lands in. cs_parse_object() checks unknown keys first (a
 * typo is reported as a typo, not as the missing key it caused), then takes each row in
 * order: missing required key, type, bounds, default, the row's check hook; then the
 * object's post hook, for rules between its members. cs_write_object() walks the same rows
 * to write a snapshot back, and cp_config_doc() walks them to print the documentation tables
 * of README.md and leasewired(8), which a test compares with those files.
 *
 * What a row cannot say is code: value parsers for the file's little languages (ranges, hex,
 * options) are here, lists and the rules across their entries are in config.c. Options are
 * not rows here: their keys, types and the codes the server owns come from the one option
 * table, common/dhcp4_opts.c.
 *
 * jansson keeps object members in file order (2.8+), so "the first unknown key" and "the first
 * duplicate option" mean first in the file.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "byteorder.h"
#include "config.h"
#include "config_impl.h"
#include "cpulist.h"
#include "dhcp4_opts.h"
#include "fmt.h"

#define OPT_VALUE_MAX	1024		/* longest option value, bytes */
#define TIME_MAX	4294967294u	/* 0xffffffff means "infinite" on the wire */
#define LEASE_MIN	60u
#define WEEK		(86400 * 7)
#define SUN_PATH_MAX	(sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

#define PREFIX_LIKE	"an address with prefix length like \"198.18.0.0/24\""
#define RANGE_OBJ	"{\"first\": ..., \"last\": ...}"

/* ------------------------------------------------------------------------------------------ */
/* Messages, paths, scalar values                                                              */

int cs_fail(struct pctx *p, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed || p->errlen == 0) {
		p->failed = true;
		return -EINVAL;
	}
	p->failed = true;
	n = snprintf(p->err, p->errlen, "%s: ", path[0] != '\0' ? path : "top level");
	if (n < 0 || (size_t)n >= p->errlen) {
		return -EINVAL;
	}
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int cs_oom(struct pctx *p, const char *path)
{
	cs_fail(p, path, "out of memory");
	return -ENOMEM;
}

struct cs_got cs_describe(const json_t *v)
{
	struct cs_got g;
	char *d = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	size_t n;

	if (d == NULL) {
		snprintf(g.s, sizeof(g.s), "%s", "(unprintable value)");
		return g;
	}
	n = strlen(d);
	if (n < sizeof(g.s)) {
		memcpy(g.s, d, n + 1);
	} else {
		memcpy(g.s, d, sizeof(g.s) - 4);
		memcpy(g.s + sizeof(g.s) - 4, "...", 4);
	}
	free(d);
	return g;
}

int cs_fail_got(struct pctx *p, const char *path, const char *what, const json_t *v)
{
	return cs_fail(p, path, "%s, got %s", what, cs_describe(v).s);
}

struct cs_rangestr cs_rangefmt(const struct dp_range *r)
{
	struct cs_rangestr o;

	if (r->first == r->last) {
		snprintf(o.s, sizeof(o.s), "%s", lw_ip4_fmt(r->first).s);
	} else {
		snprintf(o.s, sizeof(o.s), "%s-%s", lw_ip4_fmt(r->first).s, lw_ip4_fmt(r->last).s);
	}
	return o;
}

/* A path that does not fit ends in "..."; the message stays readable. */
static const char *path_done(char *buf, int n)
{
	if (n < 0 || n >= PATH_LEN) {
		memcpy(buf + PATH_LEN - 4, "...", 4);
	}
	return buf;
}

const char *cs_path_key(char *buf, const char *parent, const char *key)
{
	if (parent[0] == '\0') {
		return path_done(buf, snprintf(buf, PATH_LEN, "%s", key));
	}
	return path_done(buf, snprintf(buf, PATH_LEN, "%s.%s", parent, key));
}

const char *cs_path_idx(char *buf, const char *parent, size_t i)
{
	return path_done(buf, snprintf(buf, PATH_LEN, "%s[%zu]", parent, i));
}
/* Optimal string alignment distance: a swap of two neighbours ("nmae") costs one edit. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t rows[3][64];
	size_t la = strlen(a), lb = strlen(b);

	if (la >= 64 || lb >= 64) {
		return SIZE_MAX;
	}
	for (size_t j = 0; j <= lb; j++) {
		rows[0][j] = j;
	}
	for (size_t i = 1; i <= la; i++) {
		size_t *cur = rows[i % 3], *prev = rows[(i - 1) % 3], *prev2 = rows[(i + 1) % 3];

		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t best = prev[j - 1] + (a[i - 1] != b[j - 1]);

			if (prev[j] + 1 < best) {
				best = prev[j] + 1;
			}
			if (cur[j - 1] + 1 < best) {
				best = cur[j - 1] + 1;
			}
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < best) {
				best = prev2[j - 2] + 1;
			}
			cur[j] = best;
		}
	}
	return rows[la % 3][lb];
}

/* Remembers the closest known key to a misspelt one. */
struct suggest {
	const char *best;
	size_t dist;
};

static void suggest_try(struct suggest *sg, const char *key, const char *cand)
{
	size_t d = edit_distance(key, cand);

	/* One edit for any key, two only for keys long enough that two edits are still close. */
	if ((d == 1 || (d == 2 && strlen(key) >= 5)) && (sg->best == NULL || d < sg->dist)) {
		sg->best = cand;
		sg->dist = d;
	}
}

/*
 * An unknown key as the file spells it, but on one line: control characters, '"' and '\\'
 * escaped as in JSON (a key may hold "\n"; the message must stay one line). Truncated at 127.
 */
static const char *key_echo(char *buf, size_t size, const char *key)
{
	size_t o = 0;

	for (const unsigned char *k = (const unsigned char *)key; *k != '\0' && o + 7 < size; k++) {
		if (*k < 0x20 || *k == 0x7f) {
			o += (size_t)snprintf(buf + o, size - o, "\\u%04x", *k);
		} else if (*k == '"' || *k == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)*k;
		} else {
			buf[o++] = (char)*k;
		}
	}
	buf[o] = '\0';
	return buf;
}

static int fail_unknown(struct pctx *p, const char *path, const char *key,
			const struct suggest *sg)
{
	char echo[128];

	key_echo(echo, sizeof(echo), key);
	if (sg->best != NULL) {
		return cs_fail(p, path, "unknown key \"%s\" (did you mean \"%s\"?)", echo,
			       sg->best);
	}
	return cs_fail(p, path, "unknown key \"%s\"", echo);
}

/* Refuse any member of @obj that is not in the NULL-terminated @allowed. */
static int check_keys_list(struct pctx *p, const char *path, json_t *obj,
			   const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		struct suggest sg = { NULL, 0 };
		bool known = false;

		(void)v;
		for (size_t i = 0; allowed[i] != NULL; i++) {
			if (strcmp(key, allowed[i]) == 0) {
				known = true;
				break;
			}
			suggest_try(&sg, key, allowed[i]);
		}
		if (!known) {
			return fail_unknown(p, path, key, &sg);
		}
	}
	return 0;
}

/* The object at @path, or a message. */
int cs_need_object(struct pctx *p, const char *path, const json_t *v)
{
	if (!json_is_object(v)) {
		return cs_fail_got(p, path, "must be an object", v);
	}
	return 0;
}

/* Member @key of @obj, which must be present; NULL after writing the message. */
static json_t *need(struct pctx *p, const char *path, const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL) {
		cs_fail(p, path, "\"%s\" is missing", key);
	}
	return v;
}


static int int_value(struct pctx *p, const char *path, const json_t *v, long long min,
		     long long max, long long *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		char what[80];

		snprintf(what, sizeof(what), "must be an integer %lld..%lld", min, max);
		return cs_fail_got(p, path, what, v);
	}
	*out = json_integer_value(v);
	return 0;
}

/* A string of @minlen..(@size - 1) bytes without NUL, copied into @dst. */
static int str_value(struct pctx *p, const char *path, const json_t *v, char *dst, size_t size,
		     size_t minlen)
{
	const char *s;
	size_t n;

	if (!json_is_string(v)) {
		return cs_fail_got(p, path, "must be a string", v);
	}
	s = json_string_value(v);
	n = json_string_length(v);
	if (memchr(s, '\0', n) != NULL) {
		return cs_fail(p, path, "must not contain a NUL character");
	}
	if (n < minlen) {
		return cs_fail(p, path, "must not be empty");
	}
	if (n >= size) {
		return cs_fail(p, path, "must be at most %zu characters, got %zu", size - 1, n);
	}
	memcpy(dst, s, n + 1);
	return 0;
}

/* Scope, port and interface names: they are typed on the leasewirectl command line. */
static int name_value(struct pctx *p, const char *path, const json_t *v, char *dst)
{
	if (str_value(p, path, v, dst, DP_NAME_MAX, 1) != 0) {
		return -EINVAL;
	}
	for (const char *c = dst; *c != '\0'; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' || *c == '_')) {
			return cs_fail(p, path, "name %s may only contain letters, digits, "
				       "'.', '-' and '_'", cs_describe(v).s);
		}
	}
	return 0;
}

/* Dotted quad in s[0..n) (not NUL-terminated) to host order. */
static bool ip_parse(const char *s, size_t n, uint32_t *out)
{
	char buf[16];
	struct in_addr a;

	if (n == 0 || n >= sizeof(buf)) {
		return false;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1) {
		return false;
	}
	*out = ntohl(a.s_addr);
	return true;
}

int cs_ipv4_value(struct pctx *p, const char *path, const json_t *v, uint32_t *out)
{
	if (!json_is_string(v)) {
		return cs_fail_got(p, path, "must be an IPv4 address like \"198.18.0.1\"", v);
	}
	if (!ip_parse(json_string_value(v), json_string_length(v), out)) {
		return cs_fail(p, path, "%s is not an IPv4 address", cs_describe(v).s);
	}
	return 0;
}

static uint32_t prefix_mask(uint8_t len)
{
	return len == 0 ? 0 : ~0u << (32 - len);
}

/* "a.b.c.d/len" with len 1..30. */
static int prefix_value(struct pctx *p, const char *path, const json_t *v, uint32_t *addr,
			uint8_t *len)
{
	const char *s, *slash, *d;
	unsigned int n = 0;

	if (!json_is_string(v)) {
		return cs_fail_got(p, path, "must be " PREFIX_LIKE, v);
	}
	s = json_string_value(v);
	slash = strchr(s, '/');
	if (slash == NULL || !ip_parse(s, (size_t)(slash - s), addr)) {
		return cs_fail(p, path, "%s is not " PREFIX_LIKE, cs_describe(v).s);
	}
	d = slash + 1;
	if (d[0] < '0' || d[0] > '9' || (d[1] != '\0' && (d[1] < '0' || d[1] > '9' ||
							   d[2] != '\0'))) {
		return cs_fail(p, path, "%s is not " PREFIX_LIKE, cs_describe(v).s);
	}
	for (; *d != '\0'; d++) {
		n = n * 10 + (unsigned int)(*d - '0');
	}
	if (n < 1 || n > 30) {
		return cs_fail(p, path, "prefix length /%u is out of range 1..30", n);
	}
	*len = (uint8_t)n;
	return 0;
}

/*
 * Hex bytes, either "01:02:03" (exactly two digits per byte) or "010203". Returns the byte
 * count, or -1 when malformed, -2 when longer than @max.
 */
long cp_hex_parse(const char *s, uint8_t *out, size_t max)
{
	bool colons = strchr(s, ':') != NULL;
	size_t n = 0;

	while (*s != '\0') {
		int hi = lw_hex_digit(s[0]), lo;

		if (hi < 0) {
			return -1;
		}
		lo = lw_hex_digit(s[1]);
		if (lo < 0) {
			return -1;
		}
		if (n == max) {
			return -2;
		}
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (colons && *s == ':') {
			s++;
			if (*s == '\0') {
				return -1;
			}
		} else if (colons && *s != '\0') {
			return -1;
		}
	}
	return (long)n;
}

static int hex_value(struct pctx *p, const char *path, const json_t *v, uint8_t *out, size_t max,
		     size_t minlen, size_t *len)
{
	long n;

	if (!json_is_string(v)) {
		return cs_fail_got(p, path, "must be hex bytes like \"01:02:03\" or \"010203\"", v);
	}
	n = cp_hex_parse(json_string_value(v), out, max);
	if (n == -2) {
		return cs_fail(p, path, "must be at most %zu bytes", max);
	}
	if (n < 0 || memchr(json_string_value(v), '\0', json_string_length(v)) != NULL) {
		return cs_fail(p, path, "%s is not hex bytes like \"01:02:03\" or \"010203\"",
			       cs_describe(v).s);
	}
	if ((size_t)n < minlen) {
		return cs_fail(p, path, "must not be empty");
	}
	*len = (size_t)n;
	return 0;
}

static int mac_value(struct pctx *p, const char *path, const json_t *v, uint8_t mac[6])
{
	const char *s;

	if (!json_is_string(v)) {
		return cs_fail_got(p, path, "must be a MAC address like \"02:00:5e:12:00:05\"", v);
	}
	s = json_string_value(v);
	if (json_string_length(v) != 17 || s[2] != ':' || cp_hex_parse(s, mac, 6) != 6) {
		return cs_fail(p, path, "%s is not a MAC address like \"02:00:5e:12:00:05\"",
			       cs_describe(v).s);
	}
	return 0;
}

static void trim(const char **b, const char **e)
{
	while (*b < *e && (**b == ' ' || **b == '\t')) {
		(*b)++;
	}
	while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t')) {
		(*e)--;
	}
}

/*
 * A range: "first - last" (spaces optional), {"first": ..., "last": ...}, or when @single_ok a
 * lone address. Must not be reversed.
 */
int cs_range_value(struct pctx *p, const char *path, json_t *v, bool single_ok,
		       struct dp_range *r)
{
	static const char *const keys[] = { "first", "last", NULL };
	char sub[PATH_LEN];

	if (json_is_object(v)) {
		json_t *f, *l;

		if (check_keys_list(p, path, v, keys) != 0 ||
		    (f = need(p, path, v, "first")) == NULL ||
		    (l = need(p, path, v, "last")) == NULL ||
		    cs_ipv4_value(p, cs_path_key(sub, path, "first"), f, &r->first) != 0 ||
		    cs_ipv4_value(p, cs_path_key(sub, path, "last"), l, &r->last) != 0) {
			return -EINVAL;
		}
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		const char *dash = strchr(s, '-');
		const char *b = s, *e;
		bool ok;

		if (dash != NULL) {
			const char *b2 = dash + 1, *e2 = s + json_string_length(v);

			e = dash;
			trim(&b, &e);
			trim(&b2, &e2);
			ok = ip_parse(b, (size_t)(e - b), &r->first) &&
			     ip_parse(b2, (size_t)(e2 - b2), &r->last);
		} else {
			e = s + json_string_length(v);
			trim(&b, &e);
			ok = single_ok && ip_parse(b, (size_t)(e - b), &r->first);
			if (ok) {
				r->last = r->first;
			}
		}
		if (!ok) {
			return cs_fail(p, path, "%s is not %s like \"198.18.0.100 - 198.18.0.200\"",
				       cs_describe(v).s,
				       single_ok ? "an address or a range" : "a range");
		}
	} else {
		return cs_fail_got(p, path, single_ok ?
				   "must be an address, a range \"first - last\" or " RANGE_OBJ :
				   "must be a range \"first - last\" or " RANGE_OBJ, v);
	}
	if (r->first > r->last) {
		return cs_fail(p, path, "range %s-%s is reversed", lw_ip4_fmt(r->first).s,
			       lw_ip4_fmt(r->last).s);
	}
	return 0;
}
/* Check a list value: an array of 1.. entries. */
static int list_value(struct pctx *p, const char *path, const json_t *v, const char *what)
{
	if (!json_is_array(v) || json_array_size(v) == 0) {
		return cs_fail_got(p, path, what, v);
	}
	return 0;
}

/* RFC 3442: "198.18.5.0/24 198.18.0.1" each; the destination's host bits must be 0. */
static int routes_value(struct pctx *p, const char *path, const json_t *v, uint8_t *buf,
			size_t *len)
{
	static const char like[] = "must be a list of routes like \"198.18.5.0/24 198.18.0.1\"";
	char sub[PATH_LEN];
	size_t at = 0;

	if (list_value(p, path, v, like) != 0) {
		return -EINVAL;
	}
	for (size_t i = 0; i < json_array_size(v); i++) {
		const json_t *e = json_array_get(v, i);
		const char *s = json_is_string(e) ? json_string_value(e) : NULL;
		const char *slash = s != NULL ? strchr(s, '/') : NULL;
		char *end = NULL;
		uint32_t dst, gw;
		unsigned long w = 0;
		size_t sig;

		cs_path_idx(sub, path, i);
		if (slash != NULL) {
			w = strtoul(slash + 1, &end, 10);
		}
		if (slash == NULL || end == slash + 1 || *end != ' ' || w > 32 ||
		    !ip_parse(s, (size_t)(slash - s), &dst) ||
		    !ip_parse(end + 1, strlen(end + 1), &gw)) {
			return cs_fail(p, sub, "%s is not a route like "
				       "\"198.18.5.0/24 198.18.0.1\"", cs_describe(e).s);
		}
		if (w < 32 && (dst & ~prefix_mask((uint8_t)w)) != 0) {
			return cs_fail(p, sub, "%s: the destination has bits set beyond /%lu",
				       cs_describe(e).s, w);
		}
		sig = (w + 7) / 8;
		if (at + 1 + sig + 4 > OPT_VALUE_MAX) {
			return cs_fail(p, path, "must be at most %d bytes", OPT_VALUE_MAX);
		}
		buf[at] = (uint8_t)w;
		for (size_t k = 0; k < sig; k++) {
			buf[at + 1 + k] = (uint8_t)(dst >> (24 - 8 * k));
		}
		lw_put32(buf + at + 1 + sig, gw);
		at += 1 + sig + 4;
	}
	*len = at;
	return 0;
}

/* RFC 3397 (RFC 1035 names, no compression): "example.test" each. */
static int domains_value(struct pctx *p, const char *path, const json_t *v, uint8_t *buf,
			 size_t *len)
{
	char sub[PATH_LEN];
	size_t at = 0;

	if (list_value(p, path, v, "must be a list of domain names") != 0) {
		return -EINVAL;
	}
	for (size_t i = 0; i < json_array_size(v); i++) {
		const json_t *e = json_array_get(v, i);
		const char *s = json_is_string(e) ? json_string_value(e) : "";
		size_t n = json_is_string(e) ? json_string_length(e) : 0;

		cs_path_idx(sub, path, i);
		if (n > 0 && s[n - 1] == '.') {
			n--;
		}
		if (n == 0 || n > 253 || at + n + 2 > OPT_VALUE_MAX) {
			return cs_fail(p, sub, "%s is not a domain name of 1..253 characters",
				       cs_describe(e).s);
		}
		for (size_t b = 0; b < n;) {
			size_t l = 0;

			while (b + l < n && s[b + l] != '.') {
				char c = s[b + l];

				if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				      (c >= '0' && c <= '9') || c == '-' || c == '_')) {
					return cs_fail(p, sub, "%s: a label may only contain "
						       "letters, digits, '-' and '_'",
						       cs_describe(e).s);
				}
				l++;
			}
			if (l == 0 || l > 63) {
				return cs_fail(p, sub, "%s: labels are 1..63 characters",
					       cs_describe(e).s);
			}
			buf[at++] = (uint8_t)l;
			memcpy(buf + at, s + b, l);
			at += l;
			b += l + 1;
		}
		buf[at++] = 0;
	}
	*len = at;
	return 0;
}

static int opt_encode(struct pctx *p, const char *path, enum dhcp4_opt_type type, const json_t *v,
		      uint8_t *buf, size_t *len);

/* Encapsulated sub-options (option 43): a list of {code 1..254, type, value}. */
static int subopts_value(struct pctx *p, const char *path, const json_t *v, uint8_t *buf,
			 size_t *len)
{
	static const char *const keys[] = { "code", "type", "value", NULL };
	char epath[PATH_LEN], sub[PATH_LEN];
	uint8_t one[OPT_VALUE_MAX];
	size_t at = 0;

	if (list_value(p, path, v, "must be a list of {\"code\", \"type\", \"value\"}") != 0) {
		return -EINVAL;
	}
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *e = json_array_get(v, i), *jc, *jt, *jv;
		enum dhcp4_opt_type t = DHCP4_OT_NONE;
		long long code = 0;
		size_t n = 0;

		cs_path_idx(epath, path, i);
		if (cs_need_object(p, epath, e) != 0 || check_keys_list(p, epath, e, keys) != 0 ||
		    (jc = need(p, epath, e, "code")) == NULL ||
		    (jt = need(p, epath, e, "type")) == NULL ||
		    (jv = need(p, epath, e, "value")) == NULL ||
		    int_value(p, cs_path_key(sub, epath, "code"), jc, 1, 254, &code) != 0) {
			return -EINVAL;
		}
		if (json_is_string(jt)) {
			t = dhcp4_opts_type_by_name(json_string_value(jt));
		}
		if (t == DHCP4_OT_NONE || t == DHCP4_OT_SUBOPTS) {
			return cs_fail(p, cs_path_key(sub, epath, "type"), "unknown type %s",
				       cs_describe(jt).s);
		}
		if (opt_encode(p, cs_path_key(sub, epath, "value"), t, jv, one, &n) != 0) {
			return -EINVAL;
		}
		if (n > 255 || at + 2 + n > OPT_VALUE_MAX) {
			return cs_fail(p, cs_path_key(sub, epath, "value"), "is too long for a "
				       "sub-option (255 bytes)");
		}
		buf[at++] = (uint8_t)code;
		buf[at++] = (uint8_t)n;
		memcpy(buf + at, one, n);
		at += n;
	}
	*len = at;
	return 0;
}

/* One option value of @type into buf[OPT_VALUE_MAX]. */
static int opt_encode(struct pctx *p, const char *path, enum dhcp4_opt_type type, const json_t *v,
		      uint8_t *buf, size_t *len)
{
	char sub[PATH_LEN];
	uint32_t a;
	long long x = 0;

	switch (type) {
	case DHCP4_OT_IPV4:
		if (cs_ipv4_value(p, path, v, &a) != 0) {
			return -EINVAL;
		}
		lw_put32(buf, a);
		*len = 4;
		return 0;
	case DHCP4_OT_IPV4_LIST:
		if (!json_is_array(v) || json_array_size(v) == 0 ||
		    json_array_size(v) > OPT_VALUE_MAX / 4) {
			return cs_fail_got(p, path, "must be a list of 1..256 IPv4 addresses", v);
		}
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (cs_ipv4_value(p, cs_path_idx(sub, path, i), json_array_get(v, i),
					  &a) != 0) {
				return -EINVAL;
			}
			lw_put32(buf + 4 * i, a);
		}
		*len = 4 * json_array_size(v);
		return 0;
	case DHCP4_OT_STRING:
		if (!json_is_string(v)) {
			return cs_fail_got(p, path, "must be a string", v);
		}
		*len = json_string_length(v);
		if (*len == 0) {
			return cs_fail(p, path, "must not be empty");
		}
		if (*len > OPT_VALUE_MAX) {
			return cs_fail(p, path, "must be at most %d bytes, got %zu", OPT_VALUE_MAX,
				       *len);
		}
		if (memchr(json_string_value(v), '\0', *len) != NULL) {
			return cs_fail(p, path, "must not contain a NUL character");
		}
		memcpy(buf, json_string_value(v), *len);
		return 0;
	case DHCP4_OT_BOOL:
		if (!json_is_boolean(v)) {
			return cs_fail_got(p, path, "must be true or false", v);
		}
		buf[0] = json_is_true(v) ? 1 : 0;
		*len = 1;
		return 0;
	case DHCP4_OT_UINT8:
		if (int_value(p, path, v, 0, UINT8_MAX, &x) != 0) {
			return -EINVAL;
		}
		buf[0] = (uint8_t)x;
		*len = 1;
		return 0;
	case DHCP4_OT_UINT16:
		if (int_value(p, path, v, 0, UINT16_MAX, &x) != 0) {
			return -EINVAL;
		}
		lw_put16(buf, (uint16_t)x);
		*len = 2;
		return 0;
	case DHCP4_OT_UINT32:
		if (int_value(p, path, v, 0, UINT32_MAX, &x) != 0) {
			return -EINVAL;
		}
		lw_put32(buf, (uint32_t)x);
		*len = 4;
		return 0;
	case DHCP4_OT_INT32:
		if (int_value(p, path, v, INT32_MIN, INT32_MAX, &x) != 0) {
			return -EINVAL;
		}
		lw_put32(buf, (uint32_t)(int32_t)x);
		*len = 4;
		return 0;
	case DHCP4_OT_HEX:
		return hex_value(p, path, v, buf, OPT_VALUE_MAX, 0, len);
	case DHCP4_OT_ROUTES:
		return routes_value(p, path, v, buf, len);
	case DHCP4_OT_DOMAINS:
		return domains_value(p, path, v, buf, len);
	case DHCP4_OT_SUBOPTS:
		return subopts_value(p, path, v, buf, len);
	case DHCP4_OT_NONE:
	case DHCP4_OT_COUNT:
		break;
	}
	return cs_fail(p, path, "internal error: option type %d", (int)type);
}

/* Options being collected for one list, indexed by code. */
struct optset {
	uint8_t *data[256];
	uint16_t len[256];
	int16_t who[256];	/* 0 unset; > 0 custom[who - 1]; < 0 its named key */
};

static void optset_free(struct optset *o)
{
	for (size_t i = 0; i < 256; i++) {
		free(o->data[i]);
	}
}

/* Each code at most once per list; the message names the entry that set it first. */
static int optset_dup(struct pctx *p, const char *path, const struct optset *o, uint8_t code)
{
	char prev[48];

	if (o->who[code] == 0) {
		return 0;
	}
	if (o->who[code] > 0) {
		snprintf(prev, sizeof(prev), "custom[%d]", o->who[code] - 1);
	} else {
		snprintf(prev, sizeof(prev), "\"%s\"", dhcp4_opts_by_code(code)->name);
	}
	return cs_fail(p, path, "option %u is already set by %s", code, prev);
}

static int optset_add(struct pctx *p, const char *path, struct optset *o, uint8_t code,
		      int16_t who, enum dhcp4_opt_type type, const json_t *v)
{
	uint8_t buf[OPT_VALUE_MAX];
	size_t len = 0;

	if (optset_dup(p, path, o, code) != 0) {
		return -EINVAL;
	}
	if (opt_encode(p, path, type, v, buf, &len) != 0) {
		return -EINVAL;
	}
	o->data[code] = malloc(len != 0 ? len : 1);
	if (o->data[code] == NULL) {
		return cs_oom(p, path);
	}
	memcpy(o->data[code], buf, len);
	o->len[code] = (uint16_t)len;
	o->who[code] = who;
	return 0;
}

static int parse_custom(struct pctx *p, const char *path, struct optset *o, const json_t *a)
{
	static const char *const keys[] = { "code", "type", "value", NULL };
	char epath[PATH_LEN], sub[PATH_LEN];

	if (!json_is_array(a)) {
		return cs_fail_got(p, path, "must be a list of {\"code\", \"type\", \"value\"}", a);
	}
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *e = json_array_get(a, i), *jc, *jt, *jv;
		enum dhcp4_opt_type type = DHCP4_OT_NONE;
		long long code = 0;

		cs_path_idx(epath, path, i);
		if (cs_need_object(p, epath, e) != 0 || check_keys_list(p, epath, e, keys) != 0 ||
		    (jc = need(p, epath, e, "code")) == NULL ||
		    (jt = need(p, epath, e, "type")) == NULL ||
		    (jv = need(p, epath, e, "value")) == NULL ||
		    int_value(p, cs_path_key(sub, epath, "code"), jc, 1, 254, &code) != 0) {
			return -EINVAL;
		}
		if (dhcp4_opts_owned((uint8_t)code) != NULL) {
			return cs_fail(p, sub, "option %lld is written by the server: %s", code,
				       dhcp4_opts_owned((uint8_t)code));
		}
		if (optset_dup(p, sub, o, (uint8_t)code) != 0) {
			return -EINVAL;
		}
		if (json_is_string(jt)) {
			type = dhcp4_opts_type_by_name(json_string_value(jt));
		}
		if (type == DHCP4_OT_NONE) {
			char names[128];
			size_t at = 0;

			for (int t = DHCP4_OT_NONE + 1; t < DHCP4_OT_COUNT; t++) {
				at += (size_t)snprintf(names + at, sizeof(names) - at, "%s%s",
						       at != 0 ? ", " : "",
						       dhcp4_opts_type_name(t));
			}
			return cs_fail(p, cs_path_key(sub, epath, "type"),
				       "unknown type %s; use one of %s", cs_describe(jt).s, names);
		}
		if (optset_add(p, cs_path_key(sub, epath, "value"), o, (uint8_t)code,
			       (int16_t)(i + 1), type, jv) != 0) {
			return -EINVAL;
		}
	}
	return 0;
}

/* "always-send": option names or codes 1..254 the server does not write itself. */
static int parse_always(struct pctx *p, const char *path, const json_t *a, uint64_t always[4])
{
	char epath[PATH_LEN];

	if (!json_is_array(a)) {
		return cs_fail_got(p, path, "must be a list of option names or codes", a);
	}
	for (size_t i = 0; i < json_array_size(a); i++) {
		const json_t *e = json_array_get(a, i);
		const struct dhcp4_opt_def *d = NULL;
		long long code = 0;

		cs_path_idx(epath, path, i);
		if (json_is_string(e)) {
			d = dhcp4_opts_by_name(json_string_value(e));
			if (d == NULL) {
				return cs_fail(p, epath, "unknown option %s", cs_describe(e).s);
			}
			code = d->code;
		} else if (int_value(p, epath, e, 1, 254, &code) != 0) {
			return -EINVAL;
		}
		if (dhcp4_opts_owned((uint8_t)code) != NULL) {
			return cs_fail(p, epath, "option %lld is written by the server: %s", code,
				       dhcp4_opts_owned((uint8_t)code));
		}
		always[code >> 6] |= 1ULL << (code & 63);
	}
	return 0;
}

int cs_options_parse(struct pctx *p, const char *path, json_t *obj, struct dp_optlist *out)
{
	char sub[PATH_LEN];
	struct optset *o;
	const char *key;
	json_t *v;
	uint32_t n = 0;
	int ret = -EINVAL;

	if (cs_need_object(p, path, obj) != 0) {
		return -EINVAL;
	}
	o = calloc(1, sizeof(*o));
	if (o == NULL) {
		return cs_oom(p, path);
	}
	json_object_foreach(obj, key, v) {
		struct suggest sg = { NULL, 0 };
		const struct dhcp4_opt_def *d;

		cs_path_key(sub, path, key);
		if (strcmp(key, "custom") == 0) {
			if (parse_custom(p, sub, o, v) != 0) {
				goto out;
			}
			continue;
		}
		if (strcmp(key, "always-send") == 0) {
			if (parse_always(p, sub, v, out->always) != 0) {
				goto out;
			}
			continue;
		}
		d = dhcp4_opts_by_name(key);
		if (d == NULL || !(d->flags & DHCP4_OPTF_CONFIG_KEY)) {
			for (d = dhcp4_opts_next(-1); d != NULL; d = dhcp4_opts_next(d->code)) {
				if (d->flags & DHCP4_OPTF_CONFIG_KEY) {
					suggest_try(&sg, key, d->name);
				}
			}
			suggest_try(&sg, key, "custom");
			suggest_try(&sg, key, "always-send");
			fail_unknown(p, path, key, &sg);
			goto out;
		}
		if (optset_add(p, sub, o, d->code, -1, (enum dhcp4_opt_type)d->type, v) != 0) {
			goto out;
		}
	}
	for (size_t c = 0; c < 256; c++) {
		n += o->who[c] != 0;
	}
	if (n != 0) {
		out->v = calloc(n, sizeof(*out->v));
		if (out->v == NULL) {
			ret = cs_oom(p, path);
			goto out;
		}
		for (size_t c = 0; c < 256; c++) {
			if (o->who[c] != 0) {
				struct dp_option *d = &out->v[out->n++];

				d->code = (uint8_t)c;
				d->len = o->len[c];
				d->data = o->data[c];
				o->data[c] = NULL;
			}
		}
	}
	ret = 0;
out:
	optset_free(o);
	free(o);
	return ret;
}
void cs_key_fmt(char *buf, size_t size, const struct dp_client_key *k)
{
	size_t start = k->type == DP_KEY_HWADDR ? 1 : 0;

	lw_hex_fmt(buf, size, k->data + start, k->len > start ? k->len - start : 0, ':');
}

/* Every helper consumes @v, even on failure, and clears *ok when anything went wrong. */
static void put(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (json_object_set_new(o, key, v) != 0) {
		*ok = false;
	}
}

static void push(json_t *a, json_t *v, bool *ok)
{
	if (json_array_append_new(a, v) != 0) {
		*ok = false;
	}
}

json_t *cs_ip_json(uint32_t a)
{
	return json_string(lw_ip4_fmt(a).s);
}

static json_t *prefix_json(uint32_t a, uint8_t len)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%s/%u", lw_ip4_fmt(a).s, len);
	return json_string(buf);
}

json_t *cs_range_json(const struct dp_range *r, bool single_ok)
{
	char buf[40];

	if (single_ok && r->first == r->last) {
		return cs_ip_json(r->first);
	}
	snprintf(buf, sizeof(buf), "%s - %s", lw_ip4_fmt(r->first).s, lw_ip4_fmt(r->last).s);
	return json_string(buf);
}

json_t *cs_hex_json(const uint8_t *d, size_t n)
{
	char *s = malloc(LW_HEX_BUFLEN(n));
	json_t *j;

	if (s == NULL) {
		return NULL;
	}
	lw_hex_fmt(s, LW_HEX_BUFLEN(n), d, n, ':');
	j = json_string(s);
	free(s);
	return j;
}

/* @o's value as a JSON value of @type, or NULL when its bytes do not fit that type. */
/* The list types written back: routes and names as the text dhcp4_opts renders for each
 * item, sub-options as {code, "hex", value}. NULL when the bytes do not fit the type. */
static json_t *list_json(enum dhcp4_opt_type type, const struct dp_option *o)
{
	json_t *a;
	size_t i = 0;

	if (!dhcp4_opts_fits(type, o->data, o->len) || (a = json_array()) == NULL) {
		return NULL;
	}
	while (i < o->len) {
		char text[320];
		size_t n = type == DHCP4_OT_SUBOPTS ? 2u + o->data[i + 1] :
			   type == DHCP4_OT_ROUTES ? 1u + (o->data[i] + 7u) / 8 + 4 : 0;
		json_t *e;

		if (type == DHCP4_OT_DOMAINS) {
			while (o->data[i + n] != 0) {
				n += 1u + o->data[i + n];
			}
			n++;
		}
		if (type == DHCP4_OT_SUBOPTS) {
			e = json_object();
			if (e != NULL &&
			    (json_object_set_new(e, "code", json_integer(o->data[i])) != 0 ||
			     json_object_set_new(e, "type", json_string("hex")) != 0 ||
			     json_object_set_new(e, "value", cs_hex_json(o->data + i + 2,
									 n - 2)) != 0)) {
				json_decref(e);
				e = NULL;
			}
		} else {
			dhcp4_opts_format_as(type, o->data + i, n, text, sizeof(text));
			e = json_string(text);
		}
		if (e == NULL || json_array_append_new(a, e) != 0) {
			json_decref(a);
			return NULL;
		}
		i += n;
	}
	return a;
}

static json_t *typed_json(enum dhcp4_opt_type type, const struct dp_option *o)
{
	json_t *a;

	switch (type) {
	case DHCP4_OT_IPV4:
		return o->len == 4 ? cs_ip_json(lw_get32(o->data)) : NULL;
	case DHCP4_OT_IPV4_LIST:
		if (o->len == 0 || o->len % 4 != 0) {
			return NULL;
		}
		a = json_array();
		for (size_t i = 0; a != NULL && i < o->len; i += 4) {
			if (json_array_append_new(a, cs_ip_json(lw_get32(o->data + i))) != 0) {
				json_decref(a);
				a = NULL;
			}
		}
		return a;
	case DHCP4_OT_STRING:
		if (o->len == 0 || memchr(o->data, '\0', o->len) != NULL) {
			return NULL;
		}
		return json_stringn((const char *)o->data, o->len);	/* NULL if not UTF-8 */
	case DHCP4_OT_BOOL:
		return o->len == 1 && o->data[0] <= 1 ? json_boolean(o->data[0]) : NULL;
	case DHCP4_OT_UINT8:
		return o->len == 1 ? json_integer(o->data[0]) : NULL;
	case DHCP4_OT_UINT16:
		return o->len == 2 ? json_integer(o->data[0] << 8 | o->data[1]) : NULL;
	case DHCP4_OT_UINT32:
		return o->len == 4 ? json_integer(lw_get32(o->data)) : NULL;
	case DHCP4_OT_INT32:
		return o->len == 4 ? json_integer((int32_t)lw_get32(o->data)) : NULL;
	case DHCP4_OT_ROUTES:
	case DHCP4_OT_DOMAINS:
	case DHCP4_OT_SUBOPTS:
		return list_json(type, o);
	case DHCP4_OT_HEX:
	case DHCP4_OT_NONE:
	case DHCP4_OT_COUNT:
		break;
	}
	return NULL;
}

json_t *cs_options_json(const struct dp_optlist *l, bool *ok)
{
	json_t *o = json_object(), *custom = json_array();

	for (uint32_t i = 0; i < l->n; i++) {
		const struct dp_option *op = &l->v[i];
		const struct dhcp4_opt_def *d = dhcp4_opts_by_code(op->code);
		enum dhcp4_opt_type type = DHCP4_OT_HEX;
		json_t *e, *v = NULL;

		if (d != NULL) {
			type = (enum dhcp4_opt_type)d->type;
			v = typed_json(type, op);
		}
		if (v != NULL && (d->flags & DHCP4_OPTF_CONFIG_KEY)) {
			put(o, d->name, v, ok);
			continue;
		}
		if (v == NULL) {
			type = DHCP4_OT_HEX;
			v = cs_hex_json(op->data, op->len);
		}
		e = json_object();
		put(e, "code", json_integer(op->code), ok);
		put(e, "type", json_string(dhcp4_opts_type_name(type)), ok);
		put(e, "value", v, ok);
		push(custom, e, ok);
	}
	if (json_array_size(custom) != 0) {
		put(o, "custom", custom, ok);
	} else {
		json_decref(custom);
	}
	if ((l->always[0] | l->always[1] | l->always[2] | l->always[3]) != 0) {
		json_t *a = json_array();

		for (unsigned int c = 1; c < 255; c++) {
			const struct dhcp4_opt_def *d = dhcp4_opts_by_code((uint8_t)c);

			if ((l->always[c >> 6] >> (c & 63)) & 1) {
				push(a, d != NULL && d->name != NULL ? json_string(d->name) :
					json_integer(c), ok);
			}
		}
		put(o, "always-send", a, ok);
	}
	return o;
}

/* ------------------------------------------------------------------------------------------ */
/* Hooks of single objects                                                                     */

static int server_post(struct pctx *p, const char *path, const json_t *json, void *obj)
{
	const struct dp_config *c = obj;
	cpu_set_t cpus;

	(void)path;
	(void)json;
	if (c->store_map_mb > c->store_max_mb) {
		return cs_fail(p, "server.store-map-size", "is larger than server.store-max-size");
	}
	if (c->committer_cpus[0] != '\0' && lw_cpulist_parse(c->committer_cpus, &cpus) != 0) {
		return cs_fail(p, "server.committer-cpus", "is not a CPU list such as \"0,2-3\" "
			       "(CPUs below %d)", CPU_SETSIZE);
	}
	return 0;
}

static int iface_addr_check(struct pctx *p, const char *path, const json_t *v, void *obj)
{
	const struct dp_iface *f = obj;
	uint32_t mask = prefix_mask(f->prefix_len), bcast = (f->addr & mask) | ~mask;

	(void)v;
	if (f->addr == (f->addr & mask)) {
		return cs_fail(p, path, "%s/%u is a network address, not a host address",
			       lw_ip4_fmt(f->addr).s, f->prefix_len);
	}
	if (f->addr == bcast) {
		return cs_fail(p, path, "%s/%u is a broadcast address, not a host address",
			       lw_ip4_fmt(f->addr).s, f->prefix_len);
	}
	return 0;
}

static int subnet_check(struct pctx *p, const char *path, const json_t *v, void *obj)
{
	struct dp_scope *s = obj;

	(void)v;
	s->mask = prefix_mask(s->prefix_len);
	if ((s->subnet & s->mask) != s->subnet) {
		return cs_fail(p, path, "%s/%u has host bits set; the network is %s/%u",
			       lw_ip4_fmt(s->subnet).s, s->prefix_len,
			       lw_ip4_fmt(s->subnet & s->mask).s, s->prefix_len);
	}
	return 0;
}

/* T1 < T2 < lease, derived values included; min <= lease <= max. */
/* Whether the scope sets conflict detection itself (else it follows the server's, and the
 * configuration written back leaves the key out: scope_post). */
static bool own_conflict_attempts(const void *obj)
{
	return ((const struct dp_scope *)obj)->conflict_own & DP_CONFLICT_OWN_ATTEMPTS;
}

static bool own_conflict_timeout(const void *obj)
{
	return ((const struct dp_scope *)obj)->conflict_own & DP_CONFLICT_OWN_TIMEOUT;
}

static int scope_post(struct pctx *p, const char *path, const json_t *v, void *obj)
{
	struct dp_scope *s = obj;
	char sub[PATH_LEN];
	uint64_t derived;

	/* "server" is parsed before "scopes" (root_items' order). */
	if (json_object_get(v, "conflict-detection-attempts") != NULL) {
		s->conflict_own |= DP_CONFLICT_OWN_ATTEMPTS;
	} else {
		s->conflict_attempts = p->c->conflict_attempts;
	}
	if (json_object_get(v, "conflict-detection-timeout") != NULL) {
		s->conflict_own |= DP_CONFLICT_OWN_TIMEOUT;
	} else {
		s->conflict_timeout_ms = p->c->conflict_timeout_ms;
	}

	if (s->min_lease_time > s->lease_time) {
		return cs_fail(p, cs_path_key(sub, path, "min-lease-time"),
			       "%s%u is greater than lease-time %u",
			       json_object_get(v, "min-lease-time") ? "" : "the default ",
			       s->min_lease_time, s->lease_time);
	}
	if (s->max_lease_time < s->lease_time) {
		return cs_fail(p, cs_path_key(sub, path, "max-lease-time"),
			       "%s%u is less than lease-time %u",
			       json_object_get(v, "max-lease-time") ? "" : "the default ",
			       s->max_lease_time, s->lease_time);
	}
	if (s->renew_time != 0 && s->rebind_time != 0 && s->renew_time >= s->rebind_time) {
		return cs_fail(p, cs_path_key(sub, path, "renew-time"),
			       "%u must be less than rebind-time %u", s->renew_time,
			       s->rebind_time);
	}
	if (s->rebind_time != 0 && s->rebind_time >= s->lease_time) {
		return cs_fail(p, cs_path_key(sub, path, "rebind-time"),
			       "%u must be less than lease-time %u", s->rebind_time,
			       s->lease_time);
	}
	derived = (uint64_t)s->lease_time * 7 / 8;
	if (s->renew_time != 0 && s->rebind_time == 0 && s->renew_time >= derived) {
		return cs_fail(p, cs_path_key(sub, path, "renew-time"),
			       "%u must be less than the derived rebind-time %u "
			       "(lease-time * 7 / 8)", s->renew_time, (uint32_t)derived);
	}
	derived = s->lease_time / 2;
	if (s->rebind_time != 0 && s->renew_time == 0 && s->rebind_time <= derived) {
		return cs_fail(p, cs_path_key(sub, path, "rebind-time"),
			       "%u must be greater than the derived renew-time %u (lease-time / 2)",
			       s->rebind_time, (uint32_t)derived);
	}
	/* The offer hold is written when the address is chosen (engine.c); the probes and the
	 * offer-delay run inside it, so a hold that ends first frees the address for another
	 * client while its OFFER has not even left. Checked after the server's defaults were
	 * copied in, so a scope that follows the server is judged by the server's values. */
	derived = (uint64_t)s->conflict_attempts * s->conflict_timeout_ms + s->offer_delay_ms;
	if ((s->conflict_attempts != 0 || s->offer_delay_ms != 0) &&
	    (uint64_t)s->offer_hold * 1000 <= derived) {
		return cs_fail(p, cs_path_key(sub, path, "offer-hold"),
			       "%u s does not outlast the wait before the OFFER is sent (%u "
			       "conflict-detection probe(s) of %u ms and an offer-delay of %u "
			       "ms: %llu ms): the address would be free for another client "
			       "meanwhile; make offer-hold longer than that", s->offer_hold,
			       s->conflict_attempts, s->conflict_timeout_ms, s->offer_delay_ms,
			       (unsigned long long)derived);
	}
	return 0;
}

static json_t *ranges_json(const struct dp_range *v, uint32_t n, bool single_ok, bool *ok)
{
	json_t *a = json_array();

	for (uint32_t i = 0; i < n; i++) {
		push(a, cs_range_json(&v[i], single_ok), ok);
	}
	return a;
}

static json_t *pools_json(const struct dp_config *c, const void *obj, bool *ok)
{
	const struct dp_scope *s = obj;

	(void)c;
	return ranges_json(s->ranges, s->n_ranges, false, ok);
}

static json_t *exclusions_json(const struct dp_config *c, const void *obj, bool *ok)
{
	const struct dp_scope *s = obj;

	(void)c;
	return s->n_exclusions != 0 ? ranges_json(s->exclusions, s->n_exclusions, true, ok) : NULL;
}

static json_t *relays_json(const struct dp_config *c, const void *obj, bool *ok)
{
	const struct dp_scope *s = obj;
	json_t *a;

	(void)c;
	if (s->n_relays == 0) {
		return NULL;
	}
	a = json_array();
	for (uint32_t i = 0; i < s->n_relays; i++) {
		push(a, cs_ip_json(s->relays[i]), ok);
	}
	return a;
}

static int scope_opts_parse(struct pctx *p, const char *path, json_t *v, void *obj)
{
	return v != NULL ? cs_options_parse(p, path, v, &((struct dp_scope *)obj)->opts) : 0;
}

static json_t *scope_opts_json(const struct dp_config *c, const void *obj, bool *ok)
{
	const struct dp_scope *s = obj;

	(void)c;
	return !dp_optlist_is_empty(&s->opts) ? cs_options_json(&s->opts, ok) : NULL;
}

static int res_opts_parse(struct pctx *p, const char *path, json_t *v, void *obj)
{
	return v != NULL ? cs_options_parse(p, path, v, &((struct dp_reservation *)obj)->opts) : 0;
}

static json_t *res_opts_json(const struct dp_config *c, const void *obj, bool *ok)
{
	const struct dp_reservation *r = obj;

	(void)c;
	return !dp_optlist_is_empty(&r->opts) ? cs_options_json(&r->opts, ok) : NULL;
}

/* A reservation names its client one way: hw-address or client-id. */
static int reservation_pre(struct pctx *p, const char *path, const json_t *v, void *obj)
{
	bool hw = json_object_get(v, "hw-address") != NULL;
	bool cid = json_object_get(v, "client-id") != NULL;

	(void)obj;
	if (hw && cid) {
		return cs_fail(p, path, "has both \"hw-address\" and \"client-id\"; use one");
	}
	if (!hw && !cid) {
		return cs_fail(p, path, "needs \"hw-address\" or \"client-id\"");
	}
	return 0;
}

static int hw_parse(struct pctx *p, const char *path, json_t *v, void *obj)
{
	struct dp_reservation *r = obj;

	if (v == NULL) {
		return 0;
	}
	if (mac_value(p, path, v, r->key.data + 1) != 0) {
		return -EINVAL;
	}
	r->key.type = DP_KEY_HWADDR;
	r->key.data[0] = 1;	/* htype Ethernet */
	r->key.len = 7;
	return 0;
}

static json_t *hw_json(const struct dp_config *c, const void *obj, bool *ok)
{
	const struct dp_reservation *r = obj;
	char mac[18];

	(void)c;
	if (r->key.type != DP_KEY_HWADDR) {
		return NULL;
	}
	if (r->key.len != 7 || r->key.data[0] != 1) {
		*ok = false;	/* not Ethernet: the file cannot say it */
		return NULL;
	}
	cs_key_fmt(mac, sizeof(mac), &r->key);
	return json_string(mac);
}

static int cid_parse(struct pctx *p, const char *path, json_t *v, void *obj)
{
	struct dp_reservation *r = obj;
	size_t len = 0;

	if (v == NULL) {
		return 0;
	}
	if (hex_value(p, path, v, r->key.data, DP_KEY_MAX, 1, &len) != 0) {
		return -EINVAL;
	}
	r->key.type = DP_KEY_CLIENT_ID;
	r->key.len = (uint8_t)len;
	return 0;
}

static json_t *cid_json(const struct dp_config *c, const void *obj, bool *ok)
{
	const struct dp_reservation *r = obj;

	(void)c;
	(void)ok;
	return r->key.type == DP_KEY_CLIENT_ID ? cs_hex_json(r->key.data, r->key.len) : NULL;
}

static int hostname_check(struct pctx *p, const char *path, const json_t *v, void *obj)
{
	const struct dp_reservation *r = obj;

	for (const char *ch = r->hostname; *ch != '\0'; ch++) {
		if (!((*ch >= 'a' && *ch <= 'z') || (*ch >= 'A' && *ch <= 'Z') ||
		      (*ch >= '0' && *ch <= '9') || *ch == '-' || *ch == '.')) {
			return cs_fail(p, path, "hostname %s may only contain letters, digits, "
				       "'-' and '.'", cs_describe(v).s);
		}
	}
	return 0;
}

static int partner_check(struct pctx *p, const char *path, const json_t *v, void *obj)
{
	const struct dp_relationship *r = obj;

	(void)v;
	if (r->partner_addr == r->local_addr) {
		return cs_fail(p, path, "is the local address");
	}
	return 0;
}

static bool rel_hot_standby(const void *obj)
{
	return ((const struct dp_relationship *)obj)->mode == DP_FO_HOT_STANDBY;
}

static bool rel_load_balance(const void *obj)
{
	return ((const struct dp_relationship *)obj)->mode == DP_FO_LOAD_BALANCE;
}

/* The running relationship of the same name ("name" is the first row). */
static const void *relationship_running(const struct pctx *p, const void *obj)
{
	const struct dp_relationship *r = obj;

	for (uint32_t i = 0; i < p->running->n_relationships; i++) {
		if (strcmp(p->running->relationships[i].name, r->name) == 0) {
			return &p->running->relationships[i];
		}
	}
	return NULL;
}

/*
 * The name Windows' wizard gives: "<this server>-<partner>", this server being server.name or
 * else the host name, the partner its address (the only name we know it by). Characters a
 * relationship name may not hold become '_'; the result is cut to DP_NAME_MAX - 1.
 */
static int rel_default_name(struct pctx *p, const char *path, struct dp_relationship *r)
{
	char host[256] = "";
	const char *me = p->c->server_name;
	uint32_t idx = (uint32_t)(r - p->c->relationships);

	if (me[0] == '\0') {
		if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
			snprintf(host, sizeof(host), "leasewire");
		}
		me = host;
	}
	snprintf(r->name, sizeof(r->name), "%.*s-%s", (int)(sizeof(r->name) - 17), me,
		 lw_ip4_fmt(r->partner_addr).s);
	for (char *c = r->name; *c != '\0'; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' || *c == '_')) {
			*c = '_';
		}
	}
	for (uint32_t j = 0; j < idx; j++) {
		if (strcmp(p->c->relationships[j].name, r->name) == 0) {
			return cs_fail(p, path, "the default name \"%s\" is already the name of "
				       "relationships[%u]: give this one a name", r->name, j);
		}
	}
	return 0;
}

/* Keys that belong to the other mode, auto-state-transition's default, the default name. */
static int relationship_post(struct pctx *p, const char *path, const json_t *v, void *obj)
{
	struct dp_relationship *r = obj;

	if (r->mode == DP_FO_LOAD_BALANCE && (json_object_get(v, "server-role") != NULL ||
					      json_object_get(v, "reserve-percent") != NULL)) {
		return cs_fail(p, path, "server-role and reserve-percent apply to mode "
			       "\"hot-standby\" only");
	}
	if (r->mode == DP_FO_HOT_STANDBY && json_object_get(v, "load-balance-percent") != NULL) {
		return cs_fail(p, path,
			       "load-balance-percent applies to mode \"load-balance\" only");
	}
	if (json_object_get(v, "auto-state-transition") == NULL) {
		r->auto_state_transition = json_object_get(v, "state-switch-interval") != NULL;
	}
	if (r->name[0] == '\0') {
		return rel_default_name(p, path, r);
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The tables                                                                                  */

#define AT(T, m)	.off = offsetof(T, m), .size = sizeof(((T *)0)->m)
#define N_ITEMS(a)	(sizeof(a) / sizeof((a)[0]))
#define OBJECT(pfx, rows, ...) { .doc_prefix = (pfx), .items = (rows), \
				 .n_items = N_ITEMS(rows), __VA_ARGS__ }

static const struct cs_enum durabilities[] = {
	{ "strict", DP_DURABILITY_STRICT }, { "relaxed", DP_DURABILITY_RELAXED }, { NULL, 0 }
};
static const struct cs_enum fo_roles[] = {
	{ "primary", DP_FO_PRIMARY }, { "secondary", DP_FO_SECONDARY }, { NULL, 0 }
};
static const struct cs_enum fo_modes[] = {
	{ "load-balance", DP_FO_LOAD_BALANCE }, { "hot-standby", DP_FO_HOT_STANDBY }, { NULL, 0 }
};
static const struct cs_enum fo_digests[] = {
	{ "hmac-sha256", DP_FO_DIGEST_HMAC_SHA256 }, { "hmac-md5", DP_FO_DIGEST_HMAC_MD5 },
	{ NULL, 0 }
};
static const struct cs_enum fo_server_roles[] = {
	{ "active", 0 }, { "standby", 1 }, { NULL, 0 }
};

#define C struct dp_config
#define F(m)	AT(C, flood.m)
static const struct cs_item flood_items[] = {
	{ "relay-rate", CS_INT, 0, F(relay_rate), .min = 0, .max = 10000000, .def = 0,
	  .doc = "new bindings per second per relay (giaddr); 0 = no limit" },
	{ "relay-burst", CS_INT, 0, F(relay_burst), .min = 1, .max = 10000000, .def = 100,
	  .doc = "new bindings a relay may take at once" },
	{ "circuit-rate", CS_INT, 0, F(circuit_rate), .min = 0, .max = 10000000, .def = 0,
	  .doc = "new bindings per second per relay circuit (option 82 circuit id); 0 = no limit" },
	{ "circuit-burst", CS_INT, 0, F(circuit_burst), .min = 1, .max = 10000000, .def = 10,
	  .doc = "new bindings a circuit may take at once" },
	{ "port-rate", CS_INT, 0, F(port_rate), .min = 0, .max = 10000000, .def = 0,
	  .doc = "new bindings per second per port; 0 = no limit" },
	{ "port-burst", CS_INT, 0, F(port_burst), .min = 1, .max = 10000000, .def = 100,
	  .doc = "new bindings a port may take at once" },
	{ "circuit-bindings", CS_INT, 0, F(circuit_bindings), .min = 0, .max = 1000000,
	  .def = 0, .doc = "offered and bound addresses per circuit; 0 = no limit" },
	{ "client-declines", CS_INT, 0, F(client_declines), .min = 0, .max = 1000000, .def = 8,
	  .doc = "DHCPDECLINEs heeded per client per decline window; 0 = no limit" },
	{ "decline-window", CS_INT, 0, F(decline_window), .min = 1, .max = WEEK, .def = 3600,
	  .doc = "seconds over which client-declines counts" },
	{ "offer-holds-percent", CS_INT, 0, F(offer_holds_percent), .min = 1, .max = 100,
	  .def = 100, .doc = "share of a scope's pool that outstanding offers may hold" },
	{ "overload-bursts", CS_INT, 0, F(overload_bursts), .min = 0, .max = 1000000, .def = 0,
	  .doc = "full receive bursts (net of partial ones) after which three DISCOVERs in four "
		 "are dropped unseen, so that requests get the time; 0 = never" },
};
#undef F
static const struct cs_object cs_flood = OBJECT("server.flood-control.", flood_items);

static const struct cs_item mac_filter_items[] = {
	{ "allow", CS_CUSTOM, 0, .parse = cp_mac_allow_parse, .write = cp_mac_allow_json,
	  .doc_type = "list of MAC patterns like `00:1a:2b:*` or `00-1a-*-*-*-01`",
	  .doc = "not empty: only clients matching one of these are served (counted "
		 "`mac_not_allowed` otherwise)" },
	{ "deny", CS_CUSTOM, 0, .parse = cp_mac_deny_parse, .write = cp_mac_deny_json,
	  .doc_type = "list of MAC patterns",
	  .doc = "clients matching one of these are never served, whatever `allow` says "
		 "(counted `mac_denied`)" },
};
static const struct cs_object cs_mac_filter = OBJECT("server.mac-filter.", mac_filter_items);

static const struct cs_item server_items[] = {
	{ "workers", CS_INT, 0, AT(C, workers), .min = 1, .max = DP_MAX_WORKERS, .def = 1,
	  .doc = "worker lcores" },
	{ "log-interval", CS_INT, 0, AT(C, log_interval), .min = 0, .max = 86400, .def = 10,
	  .doc = "seconds between counter log lines, 0 = never" },
	{ "idle-sleep-us", CS_INT, 0, AT(C, idle_sleep_us), .min = 0, .max = 100000, .def = 50,
	  .doc = "worker back-off after 64 empty polls, microseconds; 0 = busy poll" },
	{ "reclaim-interval", CS_INT, 0, AT(C, reclaim_interval), .min = 1, .max = 3600,
	  .def = 5, .doc = "seconds between expiry scans" },
	{ "mbufs", CS_INT, 0, AT(C, mbufs), .min = 1023, .max = 1048575, .def = 8191,
	  .doc = "packet buffers; a pool that the workers' rings, parked replies, conflict-"
		 "detection probes and delayed OFFERs could take whole is refused (at start, "
		 "and when turning either feature on live) with the least that fits" },
	{ "durability", CS_ENUM, 0, AT(C, durability), .enums = durabilities,
	  .def = DP_DURABILITY_STRICT,
	  .doc = "`strict`: fsync per group commit; `relaxed`: no fsync (labs only, logged "
		 "loudly)" },
	{ "store", CS_STR, 0, AT(C, store_path), .min = 0,
	  .doc = "LMDB directory; \"\" = leases in memory only" },
	{ "store-map-size", CS_INT, 0, AT(C, store_map_mb), .min = 1, .max = 1048576, .def = 64,
	  .doc = "LMDB map size at start, MiB" },
	{ "store-max-size", CS_INT, 0, AT(C, store_max_mb), .min = 1, .max = 1048576,
	  .def = 65536, .doc = "how far the LMDB map may grow, MiB (live: raising it "
		 "ends a \"store full\" outage)" },
	{ "committer-cpus", CS_STR, 0, AT(C, committer_cpus), .min = 0,
	  .doc = "CPUs of the store's committer and applier threads, a list such as \"0\" or "
		 "\"0,2-3\"; \"\" = the control lcore's CPU. Keep them off the workers' CPUs "
		 "(doc/durable-path.md)" },
	{ "control-socket", CS_STR, 0, .off = offsetof(C, control_socket),
	  .size = SUN_PATH_MAX + 1, .min = 0, .def_str = "/run/leasewire/leasewire.sock",
	  .doc = "unix control socket path; \"\" = no control socket" },
	{ "control-socket-group", CS_STR, 0, AT(C, control_group), .min = 0,
	  .doc = "group for a 0660 socket; \"\" = 0600, root only" },
	{ "control-max-request", CS_INT, 0, AT(C, control_max_request), .min = 1024,
	  .max = 64 << 20, .def = 1 << 20, .doc = "largest control request, bytes" },
	{ "name", CS_NAME, CS_OMIT_EMPTY, AT(C, server_name), .doc_default = "the host name",
	  .doc = "this server's name: the first half of a default relationship name" },
	{ "user", CS_STR, CS_OMIT_EMPTY, AT(C, user), .min = 0,
	  .doc = "once started, run as this user (the store and control socket become its); "
		 "\"\" = stay root; capabilities are dropped either way (see Privileges)" },
	{ "management", CS_CUSTOM, 0, .sub = &cs_mgmt, .parse = cp_mgmt_parse,
	  .write = cp_mgmt_json, .doc_type = "object", .doc_default = "off",
	  .doc = "the channel that carries configuration between leasewire partners (see "
		 "Failover); left out = off" },
	{ "flood-control", CS_OBJECT, 0, .sub = &cs_flood,
	  .doc = "limits on what unknown clients may take (engine.c, Flood control)" },
	{ "options", CS_CUSTOM, 0, .parse = cp_server_opts_parse, .write = cp_server_opts_json,
	  .doc_type = "options, as a scope's",
	  .doc = "server-level options: every scope's clients get them unless the scope, the "
		 "client's policy or its reservation sets the same code" },
	{ "policies", CS_CUSTOM, 0, .parse = cp_server_policies_parse,
	  .write = cp_server_policies_json, .doc_type = "list of policies",
	  .doc = "server-level policies: as `scopes[].policies[]` without `ranges`, tried "
		 "after the scope's" },
	{ "mac-filter", CS_OBJECT, 0, .sub = &cs_mac_filter,
	  .doc = "the link-layer filter (Windows' MAC filter)" },
	{ "conflict-detection-attempts", CS_INT, 0, AT(C, conflict_attempts), .min = 0, .max = 5,
	  .def = 0, .doc = "the default of `scopes[].conflict-detection-attempts`, for every scope "
			   "that does not set its own; 0 = off" },
	{ "conflict-detection-timeout", CS_INT, 0, AT(C, conflict_timeout_ms), .min = 10,
	  .max = 5000, .def = 500, .doc = "the default of `scopes[].conflict-detection-timeout`, "
					  "milliseconds" },
	{ "relay-allow", CS_CUSTOM, 0, .parse = cp_relay_allow_parse,
	  .write = cp_relay_allow_json, .doc_type = "list of IPv4 addresses or prefixes",
	  .doc_default = "any",
	  .doc = "relay agents whose requests are served: a request with a giaddr is dropped "
		 "(counted as drop-relay-not-allowed) unless its IP source is listed; empty = "
		 "any source" },
};

static const struct cs_object cs_server = OBJECT("server.", server_items, .post = server_post);

static const struct cs_item root_items[] = {
	{ "server", CS_OBJECT, 0, .sub = &cs_server, .doc = "the daemon" },
	{ "ports", CS_CUSTOM, CS_REQUIRED, .sub = &cs_port, .parse = cp_ports_parse,
	  .write = cp_ports_json, .doc_type = "list of 1..16 ports",
	  .doc = "the NICs leasewired drives" },
	{ "scopes", CS_CUSTOM, CS_REQUIRED, .sub = &cs_scope, .parse = cp_scopes_parse,
	  .write = cp_scopes_json, .doc_type = "list of 1..4096 scopes",
	  .doc = "the subnets served" },
	{ "relationships", CS_CUSTOM, 0, .sub = &cs_relationship,
	  .parse = cp_relationships_parse, .write = cp_relationships_json,
	  .doc_type = "list of 0..31 relationships",
	  .doc = "failover partners sharing scopes (see Failover)" },
	{ "superscopes", CS_CUSTOM, 0, .sub = &cs_superscope, .parse = cp_superscopes_parse,
	  .write = cp_superscopes_json, .doc_type = "list of superscopes",
	  .doc = "scopes served on one link or through one relay (ISC: shared-network)" },
};
const struct cs_object cs_root = OBJECT("", root_items);
#undef C

#define C struct dp_port
static const struct cs_item port_items[] = {
	{ "name", CS_NAME, CS_REQUIRED, AT(C, name), .check = cp_port_name_check,
	  .doc = "port name, unique" },
	{ "device", CS_STR, CS_REQUIRED, AT(C, device), .min = 1,
	  .doc = "a PCI address, or a DPDK vdev string (`net_af_packet0,iface=eth1`)" },
	{ "interfaces", CS_CUSTOM, CS_REQUIRED, .sub = &cs_iface, .parse = cp_ifaces_parse,
	  .write = cp_ifaces_json, .doc_type = "list of 1.. interfaces",
	  .doc = "the server's addresses on this port, 256 in all" },
};
const struct cs_object cs_port = OBJECT("ports[].", port_items);
#undef C

#define C struct dp_iface
static const struct cs_item iface_items[] = {
	{ "name", CS_NAME, 0, AT(C, name), .doc_default = "the port's name, `.VLAN` when tagged",
	  .doc = "interface name, unique" },
	{ "vlan", CS_INT, 0, AT(C, vlan), .min = 0, .max = 4094, .def = 0,
	  .doc = "802.1Q VLAN id; 0 = untagged" },
	{ "address", CS_PREFIX, CS_REQUIRED, .off = offsetof(C, addr),
	  .size = sizeof(uint32_t), .off2 = offsetof(C, prefix_len), .check = iface_addr_check,
	  .doc = "the server's own address there: answers ARP and ICMP, and is the server "
		 "identifier for clients reached through it" },
};
const struct cs_object cs_iface = OBJECT("ports[].interfaces[].", iface_items,
					 .post = cp_iface_post);
#undef C

#define C struct dp_reservation
static const struct cs_item reservation_items[] = {
	{ "hw-address", CS_CUSTOM, 0, .parse = hw_parse, .write = hw_json,
	  .doc_type = "MAC like `02:00:5e:12:00:05`",
	  .doc = "the client's Ethernet address (this or `client-id`)" },
	{ "client-id", CS_CUSTOM, 0, .parse = cid_parse, .write = cid_json,
	  .doc_type = "1..64 hex bytes like `01:02:03`",
	  .doc = "the client's option 61 (this or `hw-address`)" },
	{ "ip-address", CS_IPV4, CS_REQUIRED, AT(C, addr), .check = cp_reservation_addr_check,
	  .doc = "the reserved address: in the subnet, not excluded, not the server's" },
	{ "hostname", CS_STR, CS_OMIT_EMPTY, AT(C, hostname), .min = 1,
	  .check = hostname_check, .doc_default = "none",
	  .doc = "sent as option 12 (letters, digits, `-`, `.`)" },
	{ "options", CS_CUSTOM, 0, .parse = res_opts_parse, .write = res_opts_json,
	  .doc_type = "options, as the scope's",
	  .doc = "replace the scope's options with the same code" },
};
const struct cs_object cs_reservation = OBJECT("scopes[].reservations[].", reservation_items,
					       .pre = reservation_pre);
#undef C

#define C struct dp_scope
static const struct cs_item scope_items[] = {
	{ "name", CS_NAME, CS_REQUIRED, AT(C, name), .doc = "scope name, unique" },
	{ "subnet", CS_PREFIX, CS_REQUIRED, .off = offsetof(C, subnet), .size = sizeof(uint32_t),
	  .off2 = offsetof(C, prefix_len), .check = subnet_check,
	  .doc = "the network; subnets do not overlap" },
	{ "active", CS_BOOL, 0, AT(C, active), .def = true,
	  .doc = "an inactive scope answers nobody (counted)" },
	{ "pools", CS_CUSTOM, 0, .parse = cp_pools_parse, .write = pools_json,
	  .doc_type = "list of `\"first - last\"` or `{first, last}`",
	  .doc = "dynamic ranges: inside the subnet, not overlapping" },
	{ "exclusions", CS_CUSTOM, 0, .parse = cp_exclusions_parse, .write = exclusions_json,
	  .doc_type = "list of ranges or single addresses",
	  .doc = "addresses of the pools never handed out" },
	{ "reservations", CS_CUSTOM, 0, .sub = &cs_reservation, .parse = cp_reservations_parse,
	  .write = cp_reservations_json, .doc_type = "list of reservations",
	  .doc = "clients that always get the same address (and may use BOOTP)" },
	{ "relay-addresses", CS_CUSTOM, 0, .parse = cp_relays_parse, .write = relays_json,
	  .doc_type = "list of IPv4 addresses",
	  .doc = "giaddrs that select this scope (besides giaddrs inside the subnet)" },
	{ "interface", CS_CUSTOM, 0, .parse = cp_scope_iface_parse, .write = cp_scope_iface_json,
	  .doc_type = "interface name",
	  .doc = "serve direct clients of this interface though its address is outside the "
		 "subnet" },
	{ "lease-time", CS_INT, 0, AT(C, lease_time), .min = LEASE_MIN, .max = TIME_MAX,
	  .def = 3600, .doc = "default lease, seconds" },
	{ "min-lease-time", CS_INT, 0, AT(C, min_lease_time), .min = LEASE_MIN, .max = TIME_MAX,
	  .def = 60, .doc = "a client's requested lease (option 51) is raised to this" },
	{ "max-lease-time", CS_INT, 0, AT(C, max_lease_time), .min = LEASE_MIN, .max = TIME_MAX,
	  .def = 86400, .doc = "a client's requested lease (option 51) is cut to this" },
	{ "renew-time", CS_INT, 0, AT(C, renew_time), .min = 0, .max = TIME_MAX, .def = 0,
	  .doc = "T1, seconds; 0 = lease / 2" },
	{ "rebind-time", CS_INT, 0, AT(C, rebind_time), .min = 0, .max = TIME_MAX, .def = 0,
	  .doc = "T2, seconds; 0 = lease × 7 / 8" },
	{ "offer-hold", CS_INT, 0, AT(C, offer_hold), .min = 1, .max = 3600, .def = 30,
	  .doc = "seconds an offered address is held for its client, from the moment it is "
		 "chosen: it must be longer than conflict-detection-attempts × "
		 "conflict-detection-timeout + offer-delay (the wait before the OFFER is sent), "
		 "else the configuration is refused" },
	{ "offer-delay", CS_INT, 0, AT(C, offer_delay_ms), .min = 0, .max = 1000, .def = 0,
	  .doc = "milliseconds an OFFER waits before it is sent, so that a partner server "
		 "answers first (Windows' delay in offer); 0 = at once" },
	{ "decline-hold", CS_INT, 0, AT(C, decline_hold), .min = 1, .max = TIME_MAX,
	  .def = 3600, .doc = "seconds a declined address stays abandoned" },
	{ "conflict-detection-attempts", CS_INT, 0, AT(C, conflict_attempts), .min = 0, .max = 5,
	  .when = own_conflict_attempts, .doc_default = "`server.conflict-detection-attempts`",
	  .doc = "probes (ARP for direct clients, ICMP echo through a relay) sent for "
		 "an address before it is first offered; an answered one abandons the "
		 "address for decline-hold (event=address-conflict) and the next is "
		 "probed; 0 = off (Windows' conflict detection attempts)" },
	{ "conflict-detection-timeout", CS_INT, 0, AT(C, conflict_timeout_ms), .min = 10,
	  .max = 5000, .when = own_conflict_timeout,
	  .doc_default = "`server.conflict-detection-timeout`",
	  .doc = "milliseconds each conflict-detection probe waits for an answer" },
	{ "bootp", CS_BOOL, 0, AT(C, bootp), .def = false,
	  .doc = "answer BOOTP clients that have a reservation" },
	{ "next-server", CS_IPV4, CS_OMIT_EMPTY, AT(C, next_server), .doc_default = "none",
	  .doc = "siaddr of the replies (TFTP server)" },
	{ "boot-file", CS_STR, CS_OMIT_EMPTY, AT(C, boot_file), .min = 1, .doc_default = "none",
	  .doc = "file field of the replies" },
	{ "options", CS_CUSTOM, 0, .parse = scope_opts_parse, .write = scope_opts_json,
	  .doc_type = "object", .doc = NULL /* generated from the option table */ },
	{ "policies", CS_CUSTOM, 0, .sub = &cs_policy, .parse = cp_scope_policies_parse,
	  .write = cp_scope_policies_json, .doc_type = "list of policies",
	  .doc = "Windows-style policies: the first enabled one whose conditions hold, in "
		 "processing order, decides (then the server's)" },
};
const struct cs_object cs_scope = OBJECT("scopes[].", scope_items, .post = scope_post);
#undef C

static const struct cs_enum cond_types[] = {
	{ "vendor-class", DP_COND_VENDOR_CLASS }, { "user-class", DP_COND_USER_CLASS },
	{ "client-id", DP_COND_CLIENT_ID }, { "mac-address", DP_COND_MAC },
	{ "circuit-id", DP_COND_CIRCUIT_ID }, { "remote-id", DP_COND_REMOTE_ID },
	{ "fqdn", DP_COND_FQDN }, { "client-arch", DP_COND_CLIENT_ARCH }, { NULL, 0 }
};
static const struct cs_enum cond_operators[] = {
	{ "equals", 0 }, { "not-equals", 1 }, { NULL, 0 }
};
static const struct cs_enum policy_operators[] = {
	{ "and", 1 }, { "or", 0 }, { NULL, 0 }
};

#define C struct dp_condition
static const struct cs_item condition_items[] = {
	{ "type", CS_ENUM, CS_REQUIRED, AT(C, type), .enums = cond_types,
	  .doc = "the field compared: option 60, 77, 61, chaddr, option 82 sub-option 1 or 2, "
		 "option 81's name, option 93 (any of its types)" },
	{ "operator", CS_ENUM, 0, AT(C, negate), .enums = cond_operators, .def = 0,
	  .doc = "`equals`: one of the values matches; `not-equals`: none does (also when "
		 "the field is absent)" },
	{ "values", CS_CUSTOM, CS_REQUIRED, .parse = cp_cond_values_parse,
	  .write = cp_cond_values_json, .doc_type = "list of strings",
	  .doc = "text for vendor-class, user-class and fqdn (fqdn ignores case), hex bytes "
		 "like `01:02:03` for client-id, circuit-id and remote-id, MAC patterns for "
		 "mac-address, numbers like `7` or `0x0007` for client-arch; a trailing `*` "
		 "matches any field the value starts" },
};
const struct cs_object cs_condition = OBJECT("scopes[].policies[].conditions[].",
					     condition_items);
#undef C

#define C struct dp_policy
#define POLICY_ROWS_HEAD \
	{ "name", CS_NAME, CS_REQUIRED, AT(C, name), .doc = "policy name, unique in its list" }, \
	{ "processing-order", CS_INT, 0, AT(C, order), .min = 1, .max = 100000, .def = 0, \
	  .doc_default = "its position, from 1", \
	  .doc = "lower first; unique in its list" }, \
	{ "enabled", CS_BOOL, 0, AT(C, enabled), .def = true, \
	  .doc = "a disabled policy matches nobody" }, \
	{ "condition", CS_ENUM, 0, AT(C, match_all), .enums = policy_operators, .def = 1, \
	  .doc = "`and`: every condition must hold; `or`: one is enough" }, \
	{ "conditions", CS_CUSTOM, 0, .sub = &cs_condition, .parse = cp_conditions_parse, \
	  .write = cp_conditions_json, .doc_type = "list of conditions", \
	  .doc = "none: every client matches" }
#define POLICY_ROWS_TAIL \
	{ "lease-time", CS_INT, 0, AT(C, lease_time), .min = 0, .max = TIME_MAX, .def = 0, \
	  .doc = "lease for its clients, seconds; 0 = the scope's" }, \
	{ "deny", CS_BOOL, 0, AT(C, deny), .def = false, \
	  .doc = "its clients get no answer (counted `policy_denied`), unless reserved" }, \
	{ "options", CS_CUSTOM, 0, .parse = cp_policy_opts_parse, .write = cp_policy_opts_json, \
	  .doc_type = "options, as a scope's", \
	  .doc = "override the scope's and the server's options with the same code" }, \
	{ "next-server", CS_IPV4, CS_OMIT_EMPTY, AT(C, next_server), .doc_default = "the scope's", \
	  .doc = "siaddr for its clients (PXE by client architecture)" }, \
	{ "boot-file", CS_STR, CS_OMIT_EMPTY, AT(C, boot_file), .min = 1, \
	  .doc_default = "the scope's", .doc = "file field for its clients" }
static const struct cs_item policy_items[] = {
	POLICY_ROWS_HEAD,
	{ "ranges", CS_CUSTOM, 0, .parse = cp_policy_ranges_parse, .write = cp_policy_ranges_json,
	  .doc_type = "list of ranges or single addresses",
	  .doc = "addresses for its clients only, each inside one pool range, overlapping no "
		 "other policy's; none: its clients take the scope's other addresses" },
	POLICY_ROWS_TAIL,
};
const struct cs_object cs_policy = OBJECT("scopes[].policies[].", policy_items);
static const struct cs_item server_policy_items[] = {
	POLICY_ROWS_HEAD,
	POLICY_ROWS_TAIL,
};
const struct cs_object cs_server_policy = OBJECT("server.policies[].", server_policy_items);
#undef POLICY_ROWS_HEAD
#undef POLICY_ROWS_TAIL
#undef C

#define C struct dp_relationship
static const struct cs_item relationship_items[] = {
	{ "name", CS_NAME, 0, AT(C, name), .check = cp_rel_name_check,
	  .doc_default = "`THIS-PARTNER`: the first port's `hostname` (else the host's name), "
			 "'-', partner-address",
	  .doc = "relationship name, the same on both servers (checked at CONNECT)" },
	{ "role", CS_ENUM, CS_REQUIRED, AT(C, role), .enums = fo_roles,
	  .missing = " (\"primary\" opens the connection)",
	  .doc = "`primary` connects and sends MCLT and the hash split" },
	{ "mode", CS_ENUM, 0, AT(C, mode), .enums = fo_modes, .def = DP_FO_LOAD_BALANCE,
	  .doc = "both serve, or the active serves and the standby waits" },
	{ "local-address", CS_IPV4, CS_REQUIRED, AT(C, local_addr),
	  .doc = "this server's end of the TCP link (kernel stack)" },
	{ "partner-address", CS_IPV4, CS_REQUIRED, AT(C, partner_addr), .check = partner_check,
	  .doc = "the partner; only it may connect" },
	{ "port", CS_INT, 0, AT(C, port), .min = 1, .max = 65535, .def = 647,
	  .doc = "local TCP port" },
	{ "partner-port", CS_INT, 0, AT(C, partner_port), .min = 1, .max = 65535, .def = 647,
	  .doc = "the partner's TCP port" },
	{ "server-role", CS_ENUM, 0, AT(C, standby), .enums = fo_server_roles, .def = 0,
	  .when = rel_hot_standby, .doc = "hot standby only: this server's part" },
	{ "reserve-percent", CS_INT, 0, AT(C, reserve_percent), .min = 0, .max = 100, .def = 5,
	  .when = rel_hot_standby,
	  .doc = "hot standby only: share of free addresses the standby holds" },
	{ "load-balance-percent", CS_INT, 0, AT(C, load_balance_percent), .min = 0, .max = 100,
	  .def = 50, .when = rel_load_balance,
	  .doc = "load balance only: share of clients this server answers in NORMAL (RFC 3074 "
		 "hash, as ISC)" },
	{ "mclt", CS_INT, 0, AT(C, mclt), .min = 1, .max = WEEK, .def = 3600,
	  .doc = "maximum client lead time, seconds" },
	{ "max-response-delay", CS_INT, 0, AT(C, max_response_delay), .min = 1, .max = 3600,
	  .def = 60, .doc = "seconds of silence before the link is declared down" },
	{ "max-unacked", CS_INT, 0, AT(C, max_unacked), .min = 1, .max = 65535, .def = 10,
	  .doc = "binding updates the partner may have outstanding" },
	{ "auto-state-transition", CS_BOOL, 0, AT(C, auto_state_transition), .def = false,
	  .doc_default = "true when state-switch-interval is set",
	  .doc = "COMMUNICATIONS-INTERRUPTED → PARTNER-DOWN after state-switch-interval" },
	{ "state-switch-interval", CS_INT, 0, AT(C, state_switch_interval), .min = 1,
	  .max = WEEK, .def = 3600, .doc = "seconds" },
	{ "load-balance-max-seconds", CS_INT, 0, AT(C, load_balance_max_seconds), .min = 0,
	  .max = 65535, .def = 3,
	  .doc = "a client retrying this long (secs) is answered whatever its hash" },
	/* The HMAC key of D12 §11.1 (fo_link_cfg.shared_secret): 1..127 bytes, the size of
	 * dp_relationship.shared_secret and FO_LINK_SECRET_MAX - 1; "" (or absent) = none. */
	{ "shared-secret", CS_STR, CS_SECRET, AT(C, shared_secret), .min = 0,
	  .doc = "HMAC key of every message; \"\" = no authentication (ISC: none); config-get "
		 "shows `" CP_CONFIG_SECRET_MASK "`, which config-set reads as the running secret" },
	/* fo_link_cfg.digest: SHA-256 (type 240) as Windows' default algorithm, between
	 * leasewire partners; draft-12's MD5 (type 1) for peers that need it. */
	{ "shared-secret-algorithm", CS_ENUM, 0, AT(C, digest), .enums = fo_digests,
	  .def = DP_FO_DIGEST_HMAC_SHA256,
	  .doc = "`hmac-sha256` (digest type 240, leasewire partners) or `hmac-md5` (type 1, "
		 "draft-12); both partners must agree" },
	{ "scopes", CS_CUSTOM, 0, .parse = cp_rel_scopes_parse,
	  .write = cp_rel_scopes_json, .doc_type = "list of scope names",
	  .doc = "the shared scopes, each in at most one relationship; [] (or absent): a "
		 "relationship kept for later use" },
};
const struct cs_object cs_relationship = OBJECT("relationships[].", relationship_items,
						.post = relationship_post,
						.running = relationship_running);
#undef C

#define C struct dp_superscope
static const struct cs_item superscope_items[] = {
	{ "name", CS_NAME, CS_REQUIRED, AT(C, name), .check = cp_sup_name_check,
	  .doc = "superscope name, unique" },
	{ "scopes", CS_CUSTOM, CS_REQUIRED, .parse = cp_sup_scopes_parse,
	  .write = cp_sup_scopes_json, .doc_type = "list of 1.. scope names",
	  .doc = "the member scopes, each in at most one superscope, all in the same failover "
		 "relationship (or none); when the scope a request selects has no free address, "
		 "the next members in this order give one, with their own options" },
};
const struct cs_object cs_superscope = OBJECT("superscopes[].", superscope_items);
#undef C

#define C struct dp_config
static const struct cs_item mgmt_items[] = {
	{ "address", CS_IPV4, CS_REQUIRED, AT(C, mgmt_addr),
	  .doc = "this server's address for the channel (kernel stack)" },
	{ "port", CS_INT, 0, AT(C, mgmt_port), .min = 1, .max = 65535, .def = 6470,
	  .doc = "TCP port the channel listens on" },
	{ "partners", CS_CUSTOM, CS_REQUIRED, .sub = &cs_mgmt_partner,
	  .parse = cp_mgmt_partners_parse, .write = cp_mgmt_partners_json,
	  .doc_type = "list of 1..31 partners",
	  .doc = "the only leasewire servers that may connect, each with its secret" },
};
const struct cs_object cs_mgmt = OBJECT("server.management.", mgmt_items);
#undef C

#define C struct dp_mgmt_partner
static const struct cs_item mgmt_partner_items[] = {
	{ "address", CS_IPV4, CS_REQUIRED, AT(C, addr),
	  .doc = "the partner's address; connections from any other are refused" },
	{ "port", CS_INT, 0, AT(C, port), .min = 1, .max = 65535, .def = 6470,
	  .doc = "the partner's management port" },
	/* MGMT_SECRET_MAX - 1 bytes at most: the size of dp_mgmt_partner.secret. */
	{ "shared-secret", CS_STR, CS_REQUIRED | CS_SECRET, AT(C, secret), .min = 1,
	  .doc = "HMAC-SHA-256 key both servers configure for each other; config-get shows `"
		 CP_CONFIG_SECRET_MASK "`, which config-set reads as the running secret" },
};

/* The running partner of the same address ("address" is the first row). */
static const void *mgmt_partner_running(const struct pctx *p, const void *obj)
{
	const struct dp_mgmt_partner *m = obj;

	for (uint32_t i = 0; i < p->running->n_mgmt_partners; i++) {
		if (p->running->mgmt_partners[i].addr == m->addr) {
			return &p->running->mgmt_partners[i];
		}
	}
	return NULL;
}

const struct cs_object cs_mgmt_partner = OBJECT("server.management.partners[].",
						mgmt_partner_items,
						.running = mgmt_partner_running);
#undef C

/* ------------------------------------------------------------------------------------------ */
/* The engine                                                                                  */

static void put_uint(void *obj, const struct cs_item *it, uint64_t v)
{
	uint8_t *b = (uint8_t *)obj + it->off;

	if (it->size == 1) {
		*b = (uint8_t)v;
	} else if (it->size == 2) {
		uint16_t x = (uint16_t)v;

		memcpy(b, &x, 2);
	} else {
		uint32_t x = (uint32_t)v;

		memcpy(b, &x, 4);
	}
}

static uint64_t get_uint(const void *obj, const struct cs_item *it)
{
	const uint8_t *b = (const uint8_t *)obj + it->off;
	uint16_t x16;
	uint32_t x32;

	if (it->size == 1) {
		return *b;
	}
	if (it->size == 2) {
		memcpy(&x16, b, 2);
		return x16;
	}
	memcpy(&x32, b, 4);
	return x32;
}

static int enum_value(struct pctx *p, const char *path, const struct cs_item *it,
		      const json_t *v, int *out)
{
	char what[128];
	size_t at = 0;

	for (size_t i = 0; it->enums[i].name != NULL; i++) {
		if (json_is_string(v) && strcmp(json_string_value(v), it->enums[i].name) == 0) {
			*out = it->enums[i].value;
			return 0;
		}
	}
	at += (size_t)snprintf(what, sizeof(what), "must be");
	for (size_t i = 0; it->enums[i].name != NULL && at < sizeof(what); i++) {
		at += (size_t)snprintf(what + at, sizeof(what) - at, "%s\"%s\"",
				       i == 0 ? " " : it->enums[i + 1].name ? ", " : " or ",
				       it->enums[i].name);
	}
	return cs_fail_got(p, path, what, v);
}

/*
 * A CS_SECRET row given as the mask: the value of the same object in the running
 * configuration, if there is one; a mask is never a secret itself.
 */
static int keep_secret(struct pctx *p, const char *path, const struct cs_object *o,
		       const struct cs_item *it, void *obj)
{
	const void *was;

	if (p->running == NULL || o->running == NULL) {
		return cs_fail(p, path, "\"%s\" is the mask config-get shows in place of the "
			       "secret: write the secret itself", CP_CONFIG_SECRET_MASK);
	}
	was = o->running(p, obj);
	if (was == NULL) {
		return cs_fail(p, path, "\"%s\" keeps the running secret, but none of that name "
			       "is running: write the secret itself", CP_CONFIG_SECRET_MASK);
	}
	memcpy((char *)obj + it->off, (const char *)was + it->off, it->size);
	return 0;
}

/* One row of @o: the value @v at @path (NULL when absent) into @obj. */
static int parse_item(struct pctx *p, const char *path, const struct cs_object *o,
		      const struct cs_item *it, json_t *v, void *obj)
{
	char *dst = (char *)obj + it->off;
	long long x = 0;
	int e = 0;

	switch ((enum cs_type)it->type) {
	case CS_INT:
		if (v != NULL && int_value(p, path, v, it->min, it->max, &x) != 0) {
			return -EINVAL;
		}
		put_uint(obj, it, v != NULL ? (uint64_t)x : (uint64_t)it->def);
		return 0;
	case CS_BOOL:
		if (v != NULL && !json_is_boolean(v)) {
			return cs_fail_got(p, path, "must be true or false", v);
		}
		*(bool *)(void *)dst = v != NULL ? json_is_true(v) : it->def != 0;
		return 0;
	case CS_STR:
		if (v == NULL) {
			snprintf(dst, it->size, "%s", it->def_str != NULL ? it->def_str : "");
			return 0;
		}
		if ((it->flags & CS_SECRET) && json_is_string(v) &&
		    strcmp(json_string_value(v), CP_CONFIG_SECRET_MASK) == 0) {
			return keep_secret(p, path, o, it, obj);
		}
		return str_value(p, path, v, dst, it->size, (size_t)it->min);
	case CS_NAME:
		return v != NULL ? name_value(p, path, v, dst) : 0;
	case CS_ENUM:
		if (v != NULL && enum_value(p, path, it, v, &e) != 0) {
			return -EINVAL;
		}
		put_uint(obj, it, (uint64_t)(uint32_t)(v != NULL ? e : (int)it->def));
		return 0;
	case CS_IPV4:
		if (v == NULL) {
			put_uint(obj, it, (uint64_t)it->def);
			return 0;
		}
		return cs_ipv4_value(p, path, v, (uint32_t *)(void *)dst);
	case CS_PREFIX:
		return v != NULL ? prefix_value(p, path, v, (uint32_t *)(void *)dst,
						(uint8_t *)obj + it->off2) : 0;
	case CS_OBJECT:
		/* Absent: every row of the nested object takes its default. */
		return v != NULL ? cs_parse_object(p, path, v, it->sub, obj) : 0;
	case CS_CUSTOM:
		return it->parse(p, path, v, obj);
	}
	return cs_fail(p, path, "internal error: schema type %u", it->type);
}

static int parse_rows(struct pctx *p, const char *path, json_t *v, const struct cs_object *o,
		      void *obj)
{
	for (size_t i = 0; i < o->n_items; i++) {
		const struct cs_item *it = &o->items[i];
		json_t *x = v != NULL ? json_object_get(v, it->key) : NULL;
		char sub[PATH_LEN];

		if (x == NULL && (it->flags & CS_REQUIRED)) {
			return cs_fail(p, path, "\"%s\" is missing%s", it->key,
				       it->missing != NULL ? it->missing : "");
		}
		cs_path_key(sub, path, it->key);
		if (x == NULL && it->type == CS_OBJECT) {
			if (parse_rows(p, sub, NULL, it->sub, obj) != 0) {
				return -EINVAL;
			}
			continue;
		}
		if (parse_item(p, sub, o, it, x, obj) != 0 ||
		    (x != NULL && it->check != NULL && it->check(p, sub, x, obj) != 0)) {
			return -EINVAL;
		}
	}
	return 0;
}

int cs_parse_object(struct pctx *p, const char *path, json_t *v, const struct cs_object *o,
		    void *obj)
{
	const char *key;
	json_t *x;

	if (cs_need_object(p, path, v) != 0) {
		return -EINVAL;
	}
	json_object_foreach(v, key, x) {
		struct suggest sg = { NULL, 0 };
		size_t i;

		for (i = 0; i < o->n_items && strcmp(key, o->items[i].key) != 0; i++) {
			suggest_try(&sg, key, o->items[i].key);
		}
		if (i == o->n_items) {
			return fail_unknown(p, path, key, &sg);
		}
	}
	if ((o->pre != NULL && o->pre(p, path, v, obj) != 0) ||
	    parse_rows(p, path, v, o, obj) != 0 ||
	    (o->post != NULL && o->post(p, path, v, obj) != 0)) {
		return -EINVAL;
	}
	return 0;
}

json_t *cs_write_object(const struct dp_config *c, const struct cs_object *o, const void *obj,
			bool *ok)
{
	json_t *j = json_object();

	if (j == NULL) {
		*ok = false;
		return NULL;
	}
	for (size_t i = 0; i < o->n_items; i++) {
		const struct cs_item *it = &o->items[i];
		const char *src = (const char *)obj + it->off;
		json_t *v = NULL;
		uint64_t x;

		if (it->when != NULL && !it->when(obj)) {
			continue;
		}
		switch ((enum cs_type)it->type) {
		case CS_INT:
		case CS_IPV4:
			x = get_uint(obj, it);
			if (x == 0 && (it->flags & CS_OMIT_EMPTY)) {
				continue;
			}
			v = it->type == CS_INT ? json_integer((json_int_t)x) :
						 cs_ip_json((uint32_t)x);
			break;
		case CS_BOOL:
			v = json_boolean(*(const bool *)(const void *)src);
			break;
		case CS_STR:
		case CS_NAME:
			if (src[0] == '\0' && (it->flags & CS_OMIT_EMPTY)) {
				continue;
			}
			v = json_string(src);
			break;
		case CS_ENUM:
			x = get_uint(obj, it);
			for (size_t k = 0; it->enums[k].name != NULL; k++) {
				if ((uint64_t)(uint32_t)it->enums[k].value == x) {
					v = json_string(it->enums[k].name);
				}
			}
			break;
		case CS_PREFIX:
			v = prefix_json((uint32_t)get_uint(obj, it),
					*((const uint8_t *)obj + it->off2));
			break;
		case CS_OBJECT:
			v = cs_write_object(c, it->sub, obj, ok);
			break;
		case CS_CUSTOM:
			v = it->write(c, obj, ok);
			if (v == NULL) {
				continue;	/* left out, or *ok already cleared */
			}
			break;
		}
		put(j, it->key, v, ok);
	}
	return j;
}

bool cs_mask_secrets(json_t *j, const struct cs_object *o)
{
	for (size_t i = 0; i < o->n_items; i++) {
		const struct cs_item *it = &o->items[i];
		json_t *v = json_object_get(j, it->key), *e;
		size_t k;

		if (v == NULL) {
			continue;
		}
		if ((it->flags & CS_SECRET) && json_is_string(v) && json_string_length(v) != 0) {
			if (json_string_set(v, CP_CONFIG_SECRET_MASK) != 0) {
				return false;
			}
		} else if (it->type == CS_OBJECT) {
			if (!cs_mask_secrets(v, it->sub)) {
				return false;
			}
		} else if (it->type == CS_CUSTOM && it->sub != NULL && json_is_object(v)) {
			if (!cs_mask_secrets(v, it->sub)) {
				return false;
			}
		} else if (it->type == CS_CUSTOM && it->sub != NULL && json_is_array(v)) {
			json_array_foreach(v, k, e) {
				if (!cs_mask_secrets(e, it->sub)) {
					return false;
				}
			}
		}
	}
	return true;
}

/* ------------------------------------------------------------------------------------------ */
/* Documentation                                                                               */

/* Text with `code` spans, for one output format. */
static void doc_text(FILE *out, enum cp_doc_format fmt, const char *s)
{
	bool code = false;

	for (; *s != '\0'; s++) {
		if (fmt == CP_DOC_MARKDOWN) {
			if (*s == '|') {
				fputc('\\', out);
			}
			fputc(*s, out);
			continue;
		}
		if (*s == '`') {
			fputs(code ? "\\fR" : "\\fB", out);
			code = !code;
		} else if (*s == '-' || *s == '\\') {
			fputc('\\', out);
			fputc(*s, out);
		} else {
			fputc(*s, out);
		}
	}
}

static void doc_value(char *buf, size_t size, const struct cs_item *it)
{
	size_t at = 0;

	switch ((enum cs_type)it->type) {
	case CS_INT:
		snprintf(buf, size, "integer %lld..%lld", (long long)it->min, (long long)it->max);
		return;
	case CS_BOOL:
		snprintf(buf, size, "`true` or `false`");
		return;
	case CS_STR:
		snprintf(buf, size, "string, %s%u bytes", it->min != 0 ? "1.." : "up to ",
			 it->size - 1u);
		return;
	case CS_NAME:
		snprintf(buf, size, "1..%u letters, digits, `.`, `-`, `_`", it->size - 1u);
		return;
	case CS_ENUM:
		for (size_t i = 0; it->enums[i].name != NULL && at < size; i++) {
			at += (size_t)snprintf(buf + at, size - at, "%s`%s`",
					       i == 0 ? "" : it->enums[i + 1].name ? ", " : " or ",
					       it->enums[i].name);
		}
		return;
	case CS_IPV4:
		snprintf(buf, size, "IPv4 address");
		return;
	case CS_PREFIX:
		snprintf(buf, size, "`a.b.c.d/len`, len 1..30");
		return;
	case CS_OBJECT:
	case CS_CUSTOM:
		break;
	}
	snprintf(buf, size, "%s", it->doc_type != NULL ? it->doc_type : "object");
}

static void doc_default(char *buf, size_t size, const struct cs_item *it)
{
	buf[0] = '\0';
	if (it->doc_default != NULL) {
		snprintf(buf, size, "%s", it->doc_default);
	} else if (it->flags & CS_REQUIRED) {
		snprintf(buf, size, "required");
	} else if (it->type == CS_INT) {
		snprintf(buf, size, "%lld", (long long)it->def);
	} else if (it->type == CS_BOOL) {
		snprintf(buf, size, "%s", it->def ? "true" : "false");
	} else if (it->type == CS_STR) {
		snprintf(buf, size, "`\"%s\"`", it->def_str != NULL ? it->def_str : "");
	} else if (it->type == CS_ENUM) {
		for (size_t i = 0; it->enums[i].name != NULL; i++) {
			if (it->enums[i].value == it->def) {
				snprintf(buf, size, "`%s`", it->enums[i].name);
			}
		}
	}
}

/* The "options" row's meaning, from the option table. */
static void doc_options(char *buf, size_t size)
{
	const struct dhcp4_opt_def *d;
	size_t at = 0;

	at += (size_t)snprintf(buf, size, "DHCP options sent to clients:");
	for (d = dhcp4_opts_next(-1); d != NULL && at < size; d = dhcp4_opts_next(d->code)) {
		if (d->flags & DHCP4_OPTF_CONFIG_KEY) {
			at += (size_t)snprintf(buf + at, size - at, " `%s` (%u, %s),", d->name,
					       d->code, dhcp4_opts_type_name(d->type));
		}
	}
	if (at < size) {
		at += (size_t)snprintf(buf + at, size - at,
				       " `always-send`: a list of option names or codes sent "
				       "even when the client's option 55 leaves them out; and "
				       "`custom`: a list of `{code, type, value}`, type one of");
	}
	for (int t = DHCP4_OT_NONE + 1; t < DHCP4_OT_COUNT && at < size; t++) {
		at += (size_t)snprintf(buf + at, size - at, " `%s`%s", dhcp4_opts_type_name(t),
				       t + 1 < DHCP4_OT_COUNT ? "," : ".");
	}
	if (at < size) {
		at += (size_t)snprintf(buf + at, size - at, " Codes the server writes itself are "
				       "refused:");
	}
	for (unsigned int c = 0; c < 256 && at < size; c++) {
		if (dhcp4_opts_owned((uint8_t)c) != NULL) {
			at += (size_t)snprintf(buf + at, size - at, " %u", c);
		}
	}
	if (at < size) {
		snprintf(buf + at, size - at, ".");
	}
}

static void doc_row(FILE *out, enum cp_doc_format fmt, const char *key, const struct cs_item *it)
{
	char value[256], def[128], opts[1536];
	const char *doc = it->doc;

	doc_value(value, sizeof(value), it);
	doc_default(def, sizeof(def), it);
	if (doc == NULL) {
		doc_options(opts, sizeof(opts));
		doc = opts;
	}
	if (fmt == CP_DOC_MARKDOWN) {
		fprintf(out, "| `%s` | ", key);
		doc_text(out, fmt, value);
		fputs(" | ", out);
		doc_text(out, fmt, def);
		fputs(" | ", out);
		doc_text(out, fmt, doc);
		fputs(" |\n", out);
		return;
	}
	fputs(".TP\n.B ", out);
	doc_text(out, fmt, key);
	fputc('\n', out);
	doc_text(out, fmt, value);
	if (def[0] != '\0') {
		fputs("; ", out);
		doc_text(out, fmt, strcmp(def, "required") == 0 ? "required" : "default ");
		if (strcmp(def, "required") != 0) {
			doc_text(out, fmt, def);
		}
	}
	fputs(".\n", out);
	doc_text(out, fmt, doc);
	fputc('\n', out);
}

static void doc_object(FILE *out, enum cp_doc_format fmt, const char *prefix,
		       const struct cs_object *o)
{
	for (size_t i = 0; i < o->n_items; i++) {
		const struct cs_item *it = &o->items[i];
		char key[PATH_LEN];

		snprintf(key, sizeof(key), "%s%s", prefix, it->key);
		if (it->type == CS_OBJECT) {
			doc_object(out, fmt, it->sub->doc_prefix, it->sub);
			continue;
		}
		doc_row(out, fmt, key, it);
		if (it->sub != NULL) {
			doc_object(out, fmt, it->sub->doc_prefix, it->sub);
		}
	}
}

int cp_config_doc(FILE *out, enum cp_doc_format fmt, const char *sections)
{
	const char *s = sections;

	if (fmt == CP_DOC_MARKDOWN) {
		fputs("| key | value | default | meaning |\n| --- | --- | --- | --- |\n", out);
	}
	while (*s != '\0') {
		size_t n = strcspn(s, " "), i;

		for (i = 0; i < cs_root.n_items; i++) {
			if (strlen(cs_root.items[i].key) == n &&
			    strncmp(cs_root.items[i].key, s, n) == 0) {
				break;
			}
		}
		if (i == cs_root.n_items) {
			return -1;
		}
		doc_object(out, fmt, "", &(struct cs_object){ .items = &cs_root.items[i],
							      .n_items = 1 });
		s += n;
		s += strspn(s, " ");
	}
	return 0;
}
