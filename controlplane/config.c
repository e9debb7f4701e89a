/*
 * config: JSON file -> validated struct dp_config, and back.
 *
 * The parser walks the document once, top down, carrying the JSON path of the value it is
 * looking at ("scopes[1].pools[0]"). The first problem found writes one message
 * "<path>: <reason>" into the caller's buffer and unwinds through goto-fail; everything built
 * so far hangs off the half-built snapshot, which dp_config_free() accepts.
 *
 * Order of checks inside one object: unknown keys first (a typo should be reported as a typo,
 * not as the missing key it caused), then each member in schema order, then the rules that
 * relate members. Rules that relate whole lists (overlapping pools, duplicate reservations,
 * overlapping subnets) sort a copy of the list that remembers file positions, so they cost
 * O(n log n) and the message can still name both offending entries.
 *
 * jansson keeps object members in file order (2.8+), so "the first unknown key" and "the first
 * duplicate option" mean first in the file.
 */
#include "config.h"
#include "dhcp4_opts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#define PATH_LEN	192		/* longest JSON path we print */
#define GOT_LEN		56		/* longest echo of an offending value */
#define OPT_VALUE_MAX	1024		/* longest option value, bytes */
#define TIME_MAX	4294967294u	/* 0xffffffff means "infinite" on the wire */
#define LEASE_MIN	60u
#define FILE_MAX	(64u << 20)	/* refuse absurd files before reading them */
#define SUN_PATH_MAX	(sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

#define PREFIX_LIKE	"an address with prefix length like \"198.18.0.0/24\""
#define RANGE_OBJ	"{\"first\": ..., \"last\": ...}"

#define DEFAULT_CONTROL_SOCKET	"/run/leasewire/leasewire.sock"

/* Parser state: the error sink plus what cross-object rules need. */
struct pctx {
	char *err;
	size_t errlen;
	bool failed;
	int32_t iface_owner[DP_MAX_IFACES];	/* scope bound to each interface, or -1 */
};

/* ------------------------------------------------------------------------------------------ */
/* Messages                                                                                    */

static int __attribute__((format(printf, 3, 4)))
fail(struct pctx *p, const char *path, const char *fmt, ...)
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

static int oom(struct pctx *p, const char *path)
{
	fail(p, path, "out of memory");
	return -ENOMEM;
}

/* A short printable echo of a JSON value, for "got ..." and quoting user strings. */
struct got {
	char s[GOT_LEN];
};

static struct got describe(const json_t *v)
{
	struct got g;
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

static int fail_got(struct pctx *p, const char *path, const char *what, const json_t *v)
{
	return fail(p, path, "%s, got %s", what, describe(v).s);
}

struct ipstr {
	char s[16];
};

static struct ipstr ipfmt(uint32_t a)
{
	struct ipstr r;

	snprintf(r.s, sizeof(r.s), "%u.%u.%u.%u", (a >> 24) & 0xffu, (a >> 16) & 0xffu,
		 (a >> 8) & 0xffu, a & 0xffu);
	return r;
}

/* "a" for a single address, "a-b" otherwise. */
struct rangestr {
	char s[40];
};

static struct rangestr rangefmt(const struct dp_range *r)
{
	struct rangestr o;

	if (r->first == r->last) {
		snprintf(o.s, sizeof(o.s), "%s", ipfmt(r->first).s);
	} else {
		snprintf(o.s, sizeof(o.s), "%s-%s", ipfmt(r->first).s, ipfmt(r->last).s);
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

static const char *path_key(char *buf, const char *parent, const char *key)
{
	if (parent[0] == '\0') {
		return path_done(buf, snprintf(buf, PATH_LEN, "%s", key));
	}
	return path_done(buf, snprintf(buf, PATH_LEN, "%s.%s", parent, key));
}

static const char *path_idx(char *buf, const char *parent, size_t i)
{
	return path_done(buf, snprintf(buf, PATH_LEN, "%s[%zu]", parent, i));
}

/* ------------------------------------------------------------------------------------------ */
/* Keys                                                                                        */

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

static int fail_unknown(struct pctx *p, const char *path, const char *key,
			const struct suggest *sg)
{
	if (sg->best != NULL) {
		return fail(p, path, "unknown key \"%s\" (did you mean \"%s\"?)", key, sg->best);
	}
	return fail(p, path, "unknown key \"%s\"", key);
}

/* Refuse any member of @obj that is not in the NULL-terminated @allowed. */
static int check_keys(struct pctx *p, const char *path, json_t *obj, const char *const *allowed)
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
static int need_object(struct pctx *p, const char *path, const json_t *v)
{
	if (!json_is_object(v)) {
		return fail_got(p, path, "must be an object", v);
	}
	return 0;
}

/* Member @key of @obj, which must be present; NULL after writing the message. */
static json_t *need(struct pctx *p, const char *path, const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL) {
		fail(p, path, "\"%s\" is missing", key);
	}
	return v;
}

/* ------------------------------------------------------------------------------------------ */
/* Scalars                                                                                     */

static int int_value(struct pctx *p, const char *path, const json_t *v, long long min,
		     long long max, long long *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		char what[80];

		snprintf(what, sizeof(what), "must be an integer %lld..%lld", min, max);
		return fail_got(p, path, what, v);
	}
	*out = json_integer_value(v);
	return 0;
}

/* Optional unsigned member; @def when absent. */
static int get_u32(struct pctx *p, const char *path, const json_t *obj, const char *key,
		   uint32_t min, uint32_t max, uint32_t def, uint32_t *out)
{
	char sub[PATH_LEN];
	json_t *v = json_object_get(obj, key);
	long long x = 0;

	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (int_value(p, path_key(sub, path, key), v, min, max, &x) != 0) {
		return -EINVAL;
	}
	*out = (uint32_t)x;
	return 0;
}

static int get_bool(struct pctx *p, const char *path, const json_t *obj, const char *key,
		    bool def, bool *out)
{
	char sub[PATH_LEN];
	json_t *v = json_object_get(obj, key);

	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (!json_is_boolean(v)) {
		return fail_got(p, path_key(sub, path, key), "must be true or false", v);
	}
	*out = json_is_true(v);
	return 0;
}

/* A string of @minlen..(@size - 1) bytes without NUL, copied into @dst. */
static int str_value(struct pctx *p, const char *path, const json_t *v, char *dst, size_t size,
		     size_t minlen)
{
	const char *s;
	size_t n;

	if (!json_is_string(v)) {
		return fail_got(p, path, "must be a string", v);
	}
	s = json_string_value(v);
	n = json_string_length(v);
	if (memchr(s, '\0', n) != NULL) {
		return fail(p, path, "must not contain a NUL character");
	}
	if (n < minlen) {
		return fail(p, path, "must not be empty");
	}
	if (n >= size) {
		return fail(p, path, "must be at most %zu characters, got %zu", size - 1, n);
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
			return fail(p, path, "name %s may only contain letters, digits, "
				    "'.', '-' and '_'", describe(v).s);
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

static int ipv4_value(struct pctx *p, const char *path, const json_t *v, uint32_t *out)
{
	if (!json_is_string(v)) {
		return fail_got(p, path, "must be an IPv4 address like \"198.18.0.1\"", v);
	}
	if (!ip_parse(json_string_value(v), json_string_length(v), out)) {
		return fail(p, path, "%s is not an IPv4 address", describe(v).s);
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
		return fail_got(p, path, "must be " PREFIX_LIKE, v);
	}
	s = json_string_value(v);
	slash = strchr(s, '/');
	if (slash == NULL || !ip_parse(s, (size_t)(slash - s), addr)) {
		return fail(p, path, "%s is not " PREFIX_LIKE, describe(v).s);
	}
	d = slash + 1;
	if (d[0] < '0' || d[0] > '9' || (d[1] != '\0' && (d[1] < '0' || d[1] > '9' ||
							   d[2] != '\0'))) {
		return fail(p, path, "%s is not " PREFIX_LIKE, describe(v).s);
	}
	for (; *d != '\0'; d++) {
		n = n * 10 + (unsigned int)(*d - '0');
	}
	if (n < 1 || n > 30) {
		return fail(p, path, "prefix length /%u is out of range 1..30", n);
	}
	*len = (uint8_t)n;
	return 0;
}

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
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
		int hi = hexdigit(s[0]), lo;

		if (hi < 0) {
			return -1;
		}
		lo = hexdigit(s[1]);
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
		return fail_got(p, path, "must be hex bytes like \"01:02:03\" or \"010203\"", v);
	}
	n = cp_hex_parse(json_string_value(v), out, max);
	if (n == -2) {
		return fail(p, path, "must be at most %zu bytes", max);
	}
	if (n < 0 || memchr(json_string_value(v), '\0', json_string_length(v)) != NULL) {
		return fail(p, path, "%s is not hex bytes like \"01:02:03\" or \"010203\"",
			    describe(v).s);
	}
	if ((size_t)n < minlen) {
		return fail(p, path, "must not be empty");
	}
	*len = (size_t)n;
	return 0;
}

static int mac_value(struct pctx *p, const char *path, const json_t *v, uint8_t mac[6])
{
	const char *s;

	if (!json_is_string(v)) {
		return fail_got(p, path, "must be a MAC address like \"02:00:5e:12:00:05\"", v);
	}
	s = json_string_value(v);
	if (json_string_length(v) != 17 || s[2] != ':' || cp_hex_parse(s, mac, 6) != 6) {
		return fail(p, path, "%s is not a MAC address like \"02:00:5e:12:00:05\"",
			    describe(v).s);
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
static int range_value(struct pctx *p, const char *path, json_t *v, bool single_ok,
		       struct dp_range *r)
{
	static const char *const keys[] = { "first", "last", NULL };
	char sub[PATH_LEN];

	if (json_is_object(v)) {
		json_t *f, *l;

		if (check_keys(p, path, v, keys) != 0 ||
		    (f = need(p, path, v, "first")) == NULL ||
		    (l = need(p, path, v, "last")) == NULL ||
		    ipv4_value(p, path_key(sub, path, "first"), f, &r->first) != 0 ||
		    ipv4_value(p, path_key(sub, path, "last"), l, &r->last) != 0) {
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
			return fail(p, path, "%s is not %s like \"198.18.0.100 - 198.18.0.200\"",
				    describe(v).s, single_ok ? "an address or a range" : "a range");
		}
	} else {
		return fail_got(p, path, single_ok ?
				"must be an address, a range \"first - last\" or " RANGE_OBJ :
				"must be a range \"first - last\" or " RANGE_OBJ, v);
	}
	if (r->first > r->last) {
		return fail(p, path, "range %s-%s is reversed", ipfmt(r->first).s,
			    ipfmt(r->last).s);
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Options                                                                                     */

static void put_be16(uint8_t *b, uint32_t x)
{
	b[0] = (uint8_t)(x >> 8);
	b[1] = (uint8_t)x;
}

static void put_be32(uint8_t *b, uint32_t x)
{
	b[0] = (uint8_t)(x >> 24);
	b[1] = (uint8_t)(x >> 16);
	b[2] = (uint8_t)(x >> 8);
	b[3] = (uint8_t)x;
}

static uint32_t get_be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
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
		if (ipv4_value(p, path, v, &a) != 0) {
			return -EINVAL;
		}
		put_be32(buf, a);
		*len = 4;
		return 0;
	case DHCP4_OT_IPV4_LIST:
		if (!json_is_array(v) || json_array_size(v) == 0 ||
		    json_array_size(v) > OPT_VALUE_MAX / 4) {
			return fail_got(p, path, "must be a list of 1..256 IPv4 addresses", v);
		}
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (ipv4_value(p, path_idx(sub, path, i), json_array_get(v, i), &a) != 0) {
				return -EINVAL;
			}
			put_be32(buf + 4 * i, a);
		}
		*len = 4 * json_array_size(v);
		return 0;
	case DHCP4_OT_STRING:
		if (!json_is_string(v)) {
			return fail_got(p, path, "must be a string", v);
		}
		*len = json_string_length(v);
		if (*len == 0) {
			return fail(p, path, "must not be empty");
		}
		if (*len > OPT_VALUE_MAX) {
			return fail(p, path, "must be at most %d bytes, got %zu", OPT_VALUE_MAX,
				    *len);
		}
		if (memchr(json_string_value(v), '\0', *len) != NULL) {
			return fail(p, path, "must not contain a NUL character");
		}
		memcpy(buf, json_string_value(v), *len);
		return 0;
	case DHCP4_OT_BOOL:
		if (!json_is_boolean(v)) {
			return fail_got(p, path, "must be true or false", v);
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
		put_be16(buf, (uint32_t)x);
		*len = 2;
		return 0;
	case DHCP4_OT_UINT32:
		if (int_value(p, path, v, 0, UINT32_MAX, &x) != 0) {
			return -EINVAL;
		}
		put_be32(buf, (uint32_t)x);
		*len = 4;
		return 0;
	case DHCP4_OT_INT32:
		if (int_value(p, path, v, INT32_MIN, INT32_MAX, &x) != 0) {
			return -EINVAL;
		}
		put_be32(buf, (uint32_t)(int32_t)x);
		*len = 4;
		return 0;
	case DHCP4_OT_HEX:
		return hex_value(p, path, v, buf, OPT_VALUE_MAX, 0, len);
	case DHCP4_OT_NONE:
	case DHCP4_OT_COUNT:
		break;
	}
	return fail(p, path, "internal error: option type %d", (int)type);
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
	return fail(p, path, "option %u is already set by %s", code, prev);
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
		return oom(p, path);
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
		return fail_got(p, path, "must be a list of {\"code\", \"type\", \"value\"}", a);
	}
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *e = json_array_get(a, i), *jc, *jt, *jv;
		enum dhcp4_opt_type type = DHCP4_OT_NONE;
		long long code = 0;

		path_idx(epath, path, i);
		if (need_object(p, epath, e) != 0 || check_keys(p, epath, e, keys) != 0 ||
		    (jc = need(p, epath, e, "code")) == NULL ||
		    (jt = need(p, epath, e, "type")) == NULL ||
		    (jv = need(p, epath, e, "value")) == NULL ||
		    int_value(p, path_key(sub, epath, "code"), jc, 1, 254, &code) != 0) {
			return -EINVAL;
		}
		if (dhcp4_opts_owned((uint8_t)code) != NULL) {
			return fail(p, sub, "option %lld is written by the server: %s", code,
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
						       at != 0 ? ", " : "", dhcp4_opts_type_name(t));
			}
			return fail(p, path_key(sub, epath, "type"), "unknown type %s; use one of %s",
				    describe(jt).s, names);
		}
		if (optset_add(p, path_key(sub, epath, "value"), o, (uint8_t)code,
			       (int16_t)(i + 1), type, jv) != 0) {
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_options(struct pctx *p, const char *path, json_t *obj, struct dp_optlist *out)
{
	char sub[PATH_LEN];
	struct optset *o;
	const char *key;
	json_t *v;
	uint32_t n = 0;
	int ret = -EINVAL;

	if (need_object(p, path, obj) != 0) {
		return -EINVAL;
	}
	o = calloc(1, sizeof(*o));
	if (o == NULL) {
		return oom(p, path);
	}
	json_object_foreach(obj, key, v) {
		struct suggest sg = { NULL, 0 };
		const struct dhcp4_opt_def *d;

		path_key(sub, path, key);
		if (strcmp(key, "custom") == 0) {
			if (parse_custom(p, sub, o, v) != 0) {
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
			ret = oom(p, path);
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

/* ------------------------------------------------------------------------------------------ */
/* server                                                                                      */

static int parse_server(struct pctx *p, json_t *v, struct dp_config *c)
{
	static const char *const keys[] = {
		"workers", "log-interval", "idle-sleep-us", "reclaim-interval", "mbufs",
		"durability", "store", "store-map-size", "store-max-size", "control-socket",
		"control-socket-group", "control-max-request", NULL
	};
	const char *path = "server";
	json_t *x;

	if (need_object(p, path, v) != 0 || check_keys(p, path, v, keys) != 0 ||
	    get_u32(p, path, v, "workers", 1, DP_MAX_WORKERS, 1, &c->workers) != 0 ||
	    get_u32(p, path, v, "log-interval", 0, 86400, 10, &c->log_interval) != 0 ||
	    get_u32(p, path, v, "idle-sleep-us", 0, 100000, 50, &c->idle_sleep_us) != 0 ||
	    get_u32(p, path, v, "reclaim-interval", 1, 3600, 5, &c->reclaim_interval) != 0 ||
	    get_u32(p, path, v, "mbufs", 1023, 1048575, 8191, &c->mbufs) != 0 ||
	    get_u32(p, path, v, "store-map-size", 1, 1048576, 64, &c->store_map_mb) != 0 ||
	    get_u32(p, path, v, "store-max-size", 1, 1048576, 65536, &c->store_max_mb) != 0 ||
	    get_u32(p, path, v, "control-max-request", 1024, 64u << 20, 1u << 20,
		    &c->control_max_request) != 0) {
		return -EINVAL;
	}
	if (c->store_map_mb > c->store_max_mb) {
		return fail(p, "server.store-map-size", "is larger than server.store-max-size");
	}
	x = json_object_get(v, "durability");
	if (x != NULL) {
		if (json_is_string(x) && strcmp(json_string_value(x), "strict") == 0) {
			c->durability = DP_DURABILITY_STRICT;
		} else if (json_is_string(x) && strcmp(json_string_value(x), "relaxed") == 0) {
			c->durability = DP_DURABILITY_RELAXED;
		} else {
			return fail_got(p, "server.durability",
					"must be \"strict\" or \"relaxed\"", x);
		}
	}
	x = json_object_get(v, "store");
	if (x != NULL &&
	    str_value(p, "server.store", x, c->store_path, sizeof(c->store_path), 0) != 0) {
		return -EINVAL;
	}
	x = json_object_get(v, "control-socket");
	if (x != NULL && str_value(p, "server.control-socket", x, c->control_socket,
				   SUN_PATH_MAX + 1, 1) != 0) {
		return -EINVAL;
	}
	x = json_object_get(v, "control-socket-group");
	if (x != NULL && str_value(p, "server.control-socket-group", x, c->control_group,
				   sizeof(c->control_group), 0) != 0) {
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* ports and interfaces                                                                        */

/* Where interface i was declared, for messages: ports[port].interfaces[where[i]]. */
static void iface_path(char *buf, const struct dp_config *c, const uint16_t *where, uint32_t i)
{
	snprintf(buf, PATH_LEN, "ports[%u].interfaces[%u]", c->ifaces[i].port, where[i]);
}

static int parse_iface(struct pctx *p, struct dp_config *c, uint16_t port, size_t j, json_t *v,
		       uint16_t *where)
{
	static const char *const keys[] = { "name", "vlan", "address", NULL };
	char path[PATH_LEN], npath[PATH_LEN], apath[PATH_LEN], prev[PATH_LEN];
	struct dp_iface *f = &c->ifaces[c->n_ifaces];
	const struct dp_port *pt = &c->ports[port];
	uint32_t vlan, bcast, mask;
	json_t *x;

	snprintf(path, sizeof(path), "ports[%u].interfaces[%zu]", port, j);
	if (need_object(p, path, v) != 0 || check_keys(p, path, v, keys) != 0 ||
	    get_u32(p, path, v, "vlan", 0, 4094, 0, &vlan) != 0) {
		return -EINVAL;
	}
	f->port = port;
	f->vlan = (uint16_t)vlan;
	x = json_object_get(v, "name");
	if (x != NULL) {
		if (name_value(p, path_key(npath, path, "name"), x, f->name) != 0) {
			return -EINVAL;
		}
	} else {
		/* The default name; a clash is reported on the interface itself. */
		char def[DP_NAME_MAX + 8];
		int n;

		if (vlan == 0) {
			n = snprintf(def, sizeof(def), "%s", pt->name);
		} else {
			n = snprintf(def, sizeof(def), "%s.%u", pt->name, vlan);
		}
		if (n < 0 || n >= DP_NAME_MAX) {
			return fail(p, path, "default name \"%s\" is longer than %d characters; "
				    "set \"name\"", def, DP_NAME_MAX - 1);
		}
		memcpy(f->name, def, (size_t)n + 1);
		snprintf(npath, sizeof(npath), "%s", path);
	}
	path_key(apath, path, "address");
	if ((x = need(p, path, v, "address")) == NULL ||
	    prefix_value(p, apath, x, &f->addr, &f->prefix_len) != 0) {
		return -EINVAL;
	}
	mask = prefix_mask(f->prefix_len);
	bcast = (f->addr & mask) | ~mask;
	if (f->addr == (f->addr & mask)) {
		return fail(p, apath, "%s/%u is a network address, not a host address",
			    ipfmt(f->addr).s, f->prefix_len);
	}
	if (f->addr == bcast) {
		return fail(p, apath, "%s/%u is a broadcast address, not a host address",
			    ipfmt(f->addr).s, f->prefix_len);
	}
	where[c->n_ifaces] = (uint16_t)j;
	for (uint32_t k = 0; k < c->n_ifaces; k++) {
		const struct dp_iface *g = &c->ifaces[k];

		iface_path(prev, c, where, k);
		if (strcmp(g->name, f->name) == 0) {
			return fail(p, npath, "interface name \"%s\" is already used by %s",
				    f->name, prev);
		}
		if (g->port == f->port && g->vlan == f->vlan) {
			return fail(p, path, "vlan %u on port \"%s\" is already used by %s",
				    f->vlan, pt->name, prev);
		}
		if (g->addr == f->addr) {
			return fail(p, apath, "address %s is already used by %s",
				    ipfmt(f->addr).s, prev);
		}
	}
	c->n_ifaces++;
	return 0;
}

static int parse_port(struct pctx *p, struct dp_config *c, uint16_t i, json_t *v,
		      uint16_t *where)
{
	static const char *const keys[] = { "name", "device", "interfaces", NULL };
	char path[PATH_LEN], sub[PATH_LEN];
	struct dp_port *pt = &c->ports[i];
	json_t *x, *ifs;

	snprintf(path, sizeof(path), "ports[%u]", i);
	if (need_object(p, path, v) != 0 || check_keys(p, path, v, keys) != 0 ||
	    (x = need(p, path, v, "name")) == NULL ||
	    name_value(p, path_key(sub, path, "name"), x, pt->name) != 0) {
		return -EINVAL;
	}
	for (uint16_t k = 0; k < i; k++) {
		if (strcmp(c->ports[k].name, pt->name) == 0) {
			return fail(p, sub, "port name \"%s\" is already used by ports[%u]",
				    pt->name, k);
		}
	}
	if ((x = need(p, path, v, "device")) == NULL ||
	    str_value(p, path_key(sub, path, "device"), x, pt->device, sizeof(pt->device),
		      1) != 0 ||
	    (ifs = need(p, path, v, "interfaces")) == NULL) {
		return -EINVAL;
	}
	if (!json_is_array(ifs) || json_array_size(ifs) == 0) {
		return fail_got(p, path_key(sub, path, "interfaces"),
				"must be a list of at least one interface", ifs);
	}
	for (size_t j = 0; j < json_array_size(ifs); j++) {
		if (parse_iface(p, c, i, j, json_array_get(ifs, j), where) != 0) {
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_ports(struct pctx *p, json_t *root, struct dp_config *c)
{
	uint16_t *where = NULL;
	json_t *a = need(p, "", root, "ports");
	size_t n, total = 0;
	int ret = -EINVAL;

	if (a == NULL) {
		return -EINVAL;
	}
	n = json_array_size(a);
	if (!json_is_array(a) || n == 0 || n > DP_MAX_PORTS) {
		char what[64];

		snprintf(what, sizeof(what), "must be a list of 1..%d ports", DP_MAX_PORTS);
		return fail_got(p, "ports", what, a);
	}
	for (size_t i = 0; i < n; i++) {
		json_t *ifs = json_object_get(json_array_get(a, i), "interfaces");

		total += json_array_size(ifs);	/* 0 for a non-array: reported below */
	}
	if (total > DP_MAX_IFACES) {
		return fail(p, "ports", "at most %d interfaces in all, got %zu", DP_MAX_IFACES,
			    total);
	}
	c->ports = calloc(n, sizeof(*c->ports));
	c->ifaces = calloc(total != 0 ? total : 1, sizeof(*c->ifaces));
	where = calloc(total != 0 ? total : 1, sizeof(*where));
	if (c->ports == NULL || c->ifaces == NULL || where == NULL) {
		ret = oom(p, "ports");
		goto out;
	}
	c->n_ports = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		if (parse_port(p, c, (uint16_t)i, json_array_get(a, i), where) != 0) {
			goto out;
		}
	}
	ret = 0;
out:
	free(where);
	return ret;
}

/* ------------------------------------------------------------------------------------------ */
/* scopes                                                                                      */

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
static int parse_ranges(struct pctx *p, const char *path, json_t *obj, struct dp_scope *s,
			bool excl)
{
	const char *key = excl ? "exclusions" : "pools";
	char lpath[PATH_LEN], epath[PATH_LEN], other[PATH_LEN];
	json_t *a = json_object_get(obj, key);
	struct span *sp = NULL;
	struct dp_range *out;
	uint32_t bcast = s->subnet | ~s->mask;
	size_t n;
	int ret = -EINVAL;

	if (a == NULL) {
		return 0;
	}
	path_key(lpath, path, key);
	if (!json_is_array(a)) {
		return fail_got(p, lpath, excl ? "must be a list of addresses or ranges" :
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
		ret = oom(p, lpath);
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

		path_idx(epath, lpath, i);
		if (range_value(p, epath, json_array_get(a, i), excl, &r) != 0) {
			goto out;
		}
		if (excl) {
			if (!range_search(s->ranges, s->n_ranges, r.first, &at) ||
			    r.last > s->ranges[at].last) {
				fail(p, epath, "%s is not inside a single pool range",
				     rangefmt(&r).s);
				goto out;
			}
		} else if ((r.first & s->mask) != s->subnet || (r.last & s->mask) != s->subnet) {
			fail(p, epath, "range %s is outside subnet %s/%u", rangefmt(&r).s,
			     ipfmt(s->subnet).s, s->prefix_len);
			goto out;
		} else if (r.first == s->subnet) {
			fail(p, epath, "range %s includes the network address %s", rangefmt(&r).s,
			     ipfmt(s->subnet).s);
			goto out;
		} else if (r.last == bcast) {
			fail(p, epath, "range %s includes the broadcast address %s",
			     rangefmt(&r).s, ipfmt(bcast).s);
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

			path_idx(epath, lpath, late->idx);
			path_idx(other, key, early->idx);
			fail(p, epath, "%s%s overlaps %s %s", excl ? "" : "range ", rangefmt(&rl).s,
			     other, rangefmt(&re).s);
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

static void key_fmt(char *buf, size_t size, const struct dp_client_key *k)
{
	size_t o = 0;
	size_t start = k->type == DP_KEY_HWADDR ? 1 : 0;

	buf[0] = '\0';
	for (size_t i = start; i < k->len && o + 4 <= size; i++) {
		o += (size_t)snprintf(buf + o, size - o, "%s%02x", i > start ? ":" : "",
				      k->data[i]);
	}
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

static int parse_reservation(struct pctx *p, const struct dp_config *c, struct dp_scope *s,
			     const char *path, json_t *v, struct dp_reservation *r)
{
	static const char *const keys[] = {
		"hw-address", "client-id", "ip-address", "hostname", "options", NULL
	};
	char sub[PATH_LEN];
	json_t *hw, *cid, *x;
	const char *ifname;
	uint32_t at;

	if (need_object(p, path, v) != 0 || check_keys(p, path, v, keys) != 0) {
		return -EINVAL;
	}
	hw = json_object_get(v, "hw-address");
	cid = json_object_get(v, "client-id");
	if (hw != NULL && cid != NULL) {
		return fail(p, path, "has both \"hw-address\" and \"client-id\"; use one");
	}
	if (hw == NULL && cid == NULL) {
		return fail(p, path, "needs \"hw-address\" or \"client-id\"");
	}
	if (hw != NULL) {
		if (mac_value(p, path_key(sub, path, "hw-address"), hw, r->key.data + 1) != 0) {
			return -EINVAL;
		}
		r->key.type = DP_KEY_HWADDR;
		r->key.data[0] = 1;	/* htype Ethernet */
		r->key.len = 7;
	} else {
		size_t len = 0;

		if (hex_value(p, path_key(sub, path, "client-id"), cid, r->key.data, DP_KEY_MAX,
			      1, &len) != 0) {
			return -EINVAL;
		}
		r->key.type = DP_KEY_CLIENT_ID;
		r->key.len = (uint8_t)len;
	}
	if ((x = need(p, path, v, "ip-address")) == NULL ||
	    ipv4_value(p, path_key(sub, path, "ip-address"), x, &r->addr) != 0) {
		return -EINVAL;
	}
	if ((r->addr & s->mask) != s->subnet) {
		return fail(p, sub, "%s is outside subnet %s/%u", ipfmt(r->addr).s,
			    ipfmt(s->subnet).s, s->prefix_len);
	}
	if (!dp_scope_contains(s, r->addr)) {
		return fail(p, sub, "%s is the %s address of subnet %s/%u", ipfmt(r->addr).s,
			    r->addr == s->subnet ? "network" : "broadcast", ipfmt(s->subnet).s,
			    s->prefix_len);
	}
	if (range_search(s->exclusions, s->n_exclusions, r->addr, &at)) {
		return fail(p, sub, "%s is reserved but excluded by %s", ipfmt(r->addr).s,
			    rangefmt(&s->exclusions[at]).s);
	}
	if (is_iface_addr(c, r->addr, &ifname)) {
		return fail(p, sub, "%s is the address of interface \"%s\"", ipfmt(r->addr).s,
			    ifname);
	}
	x = json_object_get(v, "hostname");
	if (x != NULL) {
		if (str_value(p, path_key(sub, path, "hostname"), x, r->hostname,
			      sizeof(r->hostname), 1) != 0) {
			return -EINVAL;
		}
		for (const char *ch = r->hostname; *ch != '\0'; ch++) {
			if (!((*ch >= 'a' && *ch <= 'z') || (*ch >= 'A' && *ch <= 'Z') ||
			      (*ch >= '0' && *ch <= '9') || *ch == '-' || *ch == '.')) {
				return fail(p, sub, "hostname %s may only contain letters, digits, "
					    "'-' and '.'", describe(x).s);
			}
		}
	}
	x = json_object_get(v, "options");
	if (x != NULL && parse_options(p, path_key(sub, path, "options"), x, &r->opts) != 0) {
		return -EINVAL;
	}
	return 0;
}

static int parse_reservations(struct pctx *p, const struct dp_config *c, const char *path,
			      json_t *obj, struct dp_scope *s)
{
	char lpath[PATH_LEN], epath[PATH_LEN];
	json_t *a = json_object_get(obj, "reservations");
	struct rkey *k = NULL;
	struct span *ad = NULL;
	struct dp_reservation *sorted;
	size_t n;
	int ret = -EINVAL;

	if (a == NULL) {
		return 0;
	}
	path_key(lpath, path, "reservations");
	if (!json_is_array(a)) {
		return fail_got(p, lpath, "must be a list of reservations", a);
	}
	n = json_array_size(a);
	if (n == 0) {
		return 0;
	}
	s->reservations = calloc(n, sizeof(*s->reservations));
	if (s->reservations == NULL) {
		return oom(p, lpath);
	}
	s->n_reservations = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		if (parse_reservation(p, c, s, path_idx(epath, lpath, i), json_array_get(a, i),
				      &s->reservations[i]) != 0) {
			return -EINVAL;
		}
	}

	k = calloc(n, sizeof(*k));
	ad = calloc(n, sizeof(*ad));
	sorted = calloc(n, sizeof(*sorted));
	s->res_by_addr = calloc(n, sizeof(*s->res_by_addr));
	if (k == NULL || ad == NULL || sorted == NULL || s->res_by_addr == NULL) {
		free(sorted);
		ret = oom(p, lpath);
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

			key_fmt(ks, sizeof(ks), &k[i].r->key);
			path_idx(epath, lpath, k[i].orig);
			fail(p, path_key(sub, epath, hw ? "hw-address" : "client-id"),
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

			path_idx(epath, lpath, ad[i].last);
			fail(p, path_key(sub, epath, "ip-address"),
			     "%s is already reserved by reservations[%u]", ipfmt(ad[i].first).s,
			     ad[i - 1].last);
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

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int parse_relays(struct pctx *p, const char *path, json_t *obj, struct dp_scope *s)
{
	char lpath[PATH_LEN], epath[PATH_LEN];
	json_t *a = json_object_get(obj, "relay-addresses");
	size_t n;

	if (a == NULL) {
		return 0;
	}
	path_key(lpath, path, "relay-addresses");
	if (!json_is_array(a)) {
		return fail_got(p, lpath, "must be a list of IPv4 addresses", a);
	}
	n = json_array_size(a);
	if (n == 0) {
		return 0;
	}
	s->relays = calloc(n, sizeof(*s->relays));
	if (s->relays == NULL) {
		return oom(p, lpath);
	}
	s->n_relays = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		path_idx(epath, lpath, i);
		if (ipv4_value(p, epath, json_array_get(a, i), &s->relays[i]) != 0) {
			return -EINVAL;
		}
		if (s->relays[i] == 0) {
			return fail(p, epath, "0.0.0.0 is not a relay address");
		}
		/* Relay lists are short; a scan keeps the message's index exact. */
		for (size_t j = 0; j < i; j++) {
			if (s->relays[j] == s->relays[i]) {
				return fail(p, epath,
					    "%s is already listed at relay-addresses[%zu]",
					    ipfmt(s->relays[i]).s, j);
			}
		}
	}
	qsort(s->relays, n, sizeof(*s->relays), u32_cmp);
	return 0;
}

static int parse_times(struct pctx *p, const char *path, const json_t *v, struct dp_scope *s)
{
	char sub[PATH_LEN];
	uint64_t derived;

	if (get_u32(p, path, v, "lease-time", LEASE_MIN, TIME_MAX, 3600, &s->lease_time) != 0 ||
	    get_u32(p, path, v, "min-lease-time", LEASE_MIN, TIME_MAX, 60,
		    &s->min_lease_time) != 0 ||
	    get_u32(p, path, v, "max-lease-time", LEASE_MIN, TIME_MAX, 86400,
		    &s->max_lease_time) != 0 ||
	    get_u32(p, path, v, "renew-time", 0, TIME_MAX, 0, &s->renew_time) != 0 ||
	    get_u32(p, path, v, "rebind-time", 0, TIME_MAX, 0, &s->rebind_time) != 0 ||
	    get_u32(p, path, v, "offer-hold", 1, 3600, 30, &s->offer_hold) != 0 ||
	    get_u32(p, path, v, "decline-hold", 1, TIME_MAX, 3600, &s->decline_hold) != 0) {
		return -EINVAL;
	}
	if (s->min_lease_time > s->lease_time) {
		return fail(p, path_key(sub, path, "min-lease-time"),
			    "%s%u is greater than lease-time %u",
			    json_object_get(v, "min-lease-time") ? "" : "the default ",
			    s->min_lease_time, s->lease_time);
	}
	if (s->max_lease_time < s->lease_time) {
		return fail(p, path_key(sub, path, "max-lease-time"),
			    "%s%u is less than lease-time %u",
			    json_object_get(v, "max-lease-time") ? "" : "the default ",
			    s->max_lease_time, s->lease_time);
	}
	if (s->renew_time != 0 && s->rebind_time != 0 && s->renew_time >= s->rebind_time) {
		return fail(p, path_key(sub, path, "renew-time"),
			    "%u must be less than rebind-time %u", s->renew_time, s->rebind_time);
	}
	if (s->rebind_time != 0 && s->rebind_time >= s->lease_time) {
		return fail(p, path_key(sub, path, "rebind-time"),
			    "%u must be less than lease-time %u", s->rebind_time, s->lease_time);
	}
	derived = (uint64_t)s->lease_time * 7 / 8;
	if (s->renew_time != 0 && s->rebind_time == 0 && s->renew_time >= derived) {
		return fail(p, path_key(sub, path, "renew-time"),
			    "%u must be less than the derived rebind-time %u (lease-time * 7 / 8)",
			    s->renew_time, (uint32_t)derived);
	}
	derived = s->lease_time / 2;
	if (s->rebind_time != 0 && s->renew_time == 0 && s->rebind_time <= derived) {
		return fail(p, path_key(sub, path, "rebind-time"),
			    "%u must be greater than the derived renew-time %u (lease-time / 2)",
			    s->rebind_time, (uint32_t)derived);
	}
	return 0;
}

static int parse_scope(struct pctx *p, struct dp_config *c, uint32_t idx, json_t *v)
{
	static const char *const keys[] = {
		"name", "subnet", "active", "pools", "exclusions", "reservations",
		"relay-addresses", "interface", "lease-time", "min-lease-time", "max-lease-time",
		"renew-time", "rebind-time", "offer-hold", "decline-hold", "bootp", "next-server",
		"boot-file", "options", NULL
	};
	char path[PATH_LEN], sub[PATH_LEN];
	struct dp_scope *s = &c->scopes[idx];
	const char *ifname;
	json_t *x;

	s->index = idx;
	s->interface = -1;
	snprintf(path, sizeof(path), "scopes[%u]", idx);
	if (need_object(p, path, v) != 0 || check_keys(p, path, v, keys) != 0 ||
	    (x = need(p, path, v, "name")) == NULL ||
	    name_value(p, path_key(sub, path, "name"), x, s->name) != 0 ||
	    (x = need(p, path, v, "subnet")) == NULL ||
	    prefix_value(p, path_key(sub, path, "subnet"), x, &s->subnet, &s->prefix_len) != 0) {
		return -EINVAL;
	}
	s->mask = prefix_mask(s->prefix_len);
	if ((s->subnet & s->mask) != s->subnet) {
		return fail(p, sub, "%s/%u has host bits set; the network is %s/%u",
			    ipfmt(s->subnet).s, s->prefix_len, ipfmt(s->subnet & s->mask).s,
			    s->prefix_len);
	}
	if (get_bool(p, path, v, "active", true, &s->active) != 0 ||
	    parse_ranges(p, path, v, s, false) != 0 ||
	    parse_ranges(p, path, v, s, true) != 0) {
		return -EINVAL;
	}
	for (uint32_t i = 0; i < c->n_ifaces; i++) {
		if (dp_scope_in_pool(s, c->ifaces[i].addr)) {
			return fail(p, path_key(sub, path, "pools"),
				    "%s, the address of interface \"%s\", is in a pool; exclude it "
				    "or shrink the range", ipfmt(c->ifaces[i].addr).s,
				    c->ifaces[i].name);
		}
	}
	if (parse_reservations(p, c, path, v, s) != 0 || parse_relays(p, path, v, s) != 0) {
		return -EINVAL;
	}
	x = json_object_get(v, "interface");
	if (x != NULL) {
		path_key(sub, path, "interface");
		if (!json_is_string(x)) {
			return fail_got(p, sub, "must be an interface name", x);
		}
		ifname = json_string_value(x);
		for (uint32_t i = 0; i < c->n_ifaces; i++) {
			if (strcmp(c->ifaces[i].name, ifname) == 0) {
				s->interface = (int32_t)i;
			}
		}
		if (s->interface < 0) {
			return fail(p, sub, "no interface named %s", describe(x).s);
		}
		if (p->iface_owner[s->interface] >= 0) {
			return fail(p, sub, "interface %s is already bound to scope \"%s\"",
				    describe(x).s, c->scopes[p->iface_owner[s->interface]].name);
		}
		p->iface_owner[s->interface] = (int32_t)idx;
	}
	if (parse_times(p, path, v, s) != 0 ||
	    get_bool(p, path, v, "bootp", false, &s->bootp) != 0) {
		return -EINVAL;
	}
	x = json_object_get(v, "next-server");
	if (x != NULL && ipv4_value(p, path_key(sub, path, "next-server"), x,
				    &s->next_server) != 0) {
		return -EINVAL;
	}
	x = json_object_get(v, "boot-file");
	if (x != NULL && str_value(p, path_key(sub, path, "boot-file"), x, s->boot_file,
				   sizeof(s->boot_file), 1) != 0) {
		return -EINVAL;
	}
	x = json_object_get(v, "options");
	if (x != NULL && parse_options(p, path_key(sub, path, "options"), x, &s->opts) != 0) {
		return -EINVAL;
	}
	return 0;
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
		ret = oom(p, "scopes");
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
			fail(p, path, "scope name \"%s\" is already used by scopes[%u]",
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
			fail(p, path, "%s/%u overlaps subnet %s/%u of scope \"%s\"",
			     ipfmt(a->subnet).s, a->prefix_len, ipfmt(b->subnet).s, b->prefix_len,
			     b->name);
			goto out;
		}
	}
	qsort(rel, nrel, sizeof(*rel), span_cmp);
	for (uint32_t i = 1; i < nrel; i++) {
		if (rel[i].first == rel[i - 1].first) {
			snprintf(path, sizeof(path), "scopes[%u].relay-addresses", rel[i].idx);
			fail(p, path, "%s is already a relay address of scope \"%s\"",
			     ipfmt(rel[i].first).s, c->scopes[rel[i - 1].idx].name);
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

static int parse_scopes(struct pctx *p, json_t *root, struct dp_config *c)
{
	json_t *a = need(p, "", root, "scopes");
	size_t n;

	if (a == NULL) {
		return -EINVAL;
	}
	n = json_array_size(a);
	if (!json_is_array(a) || n == 0 || n > DP_MAX_SCOPES) {
		char what[64];

		snprintf(what, sizeof(what), "must be a list of 1..%d scopes", DP_MAX_SCOPES);
		return fail_got(p, "scopes", what, a);
	}
	c->scopes = calloc(n, sizeof(*c->scopes));
	if (c->scopes == NULL) {
		return oom(p, "scopes");
	}
	c->n_scopes = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		c->scopes[i].interface = -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (parse_scope(p, c, (uint32_t)i, json_array_get(a, i)) != 0) {
			return -EINVAL;
		}
	}
	return check_scopes(p, c);
}

/* ------------------------------------------------------------------------------------------ */
/* failover relationships                                                                      */

static int enum_value(struct pctx *p, const char *path, const json_t *obj, const char *key,
		      const char *const *names, int def, int *out)
{
	char sub[PATH_LEN], what[128];
	json_t *v = json_object_get(obj, key);

	*out = def;
	if (v == NULL) {
		return 0;
	}
	for (int i = 0; names[i] != NULL && json_is_string(v); i++) {
		if (strcmp(json_string_value(v), names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	snprintf(what, sizeof(what), "must be \"%s\" or \"%s\"", names[0], names[1]);
	return fail_got(p, path_key(sub, path, key), what, v);
}

static int parse_relationship(struct pctx *p, struct dp_config *c, uint32_t idx, json_t *v,
			      int *owner)
{
	static const char *const keys[] = {
		"name", "role", "mode", "local-address", "partner-address", "port", "partner-port",
		"load-balance-percent", "server-role", "reserve-percent", "mclt",
		"max-response-delay", "max-unacked", "auto-state-transition",
		"state-switch-interval", "load-balance-max-seconds", "shared-secret", "scopes", NULL
	};
	static const char *const roles[] = { "primary", "secondary", NULL };
	static const char *const modes[] = { "load-balance", "hot-standby", NULL };
	static const char *const sroles[] = { "active", "standby", NULL };
	struct dp_relationship *r = &c->relationships[idx];
	char path[PATH_LEN], sub[PATH_LEN];
	uint32_t lb, rp, port, pport;
	int role, mode, srole;
	json_t *x, *list;
	size_t i;

	snprintf(path, sizeof(path), "relationships[%u]", idx);
	if (need_object(p, path, v) != 0 || check_keys(p, path, v, keys) != 0) {
		return -EINVAL;
	}
	x = need(p, path, v, "name");
	if (x == NULL || name_value(p, path_key(sub, path, "name"), x, r->name) != 0) {
		return -EINVAL;
	}
	for (uint32_t j = 0; j < idx; j++) {
		if (strcmp(c->relationships[j].name, r->name) == 0) {
			return fail(p, path_key(sub, path, "name"), "\"%s\" is already the name of "
				    "relationships[%u]", r->name, j);
		}
	}
	if (json_object_get(v, "role") == NULL) {
		return fail(p, path, "\"role\" is missing (\"primary\" opens the connection)");
	}
	if (enum_value(p, path, v, "role", roles, 0, &role) != 0 ||
	    enum_value(p, path, v, "mode", modes, 0, &mode) != 0 ||
	    enum_value(p, path, v, "server-role", sroles, 0, &srole) != 0) {
		return -EINVAL;
	}
	r->role = role == 0 ? DP_FO_PRIMARY : DP_FO_SECONDARY;
	r->mode = mode == 0 ? DP_FO_LOAD_BALANCE : DP_FO_HOT_STANDBY;
	r->standby = srole == 1;
	if (mode == 0 && (json_object_get(v, "server-role") || json_object_get(v, "reserve-percent"))) {
		return fail(p, path, "server-role and reserve-percent apply to mode "
			    "\"hot-standby\" only");
	}
	if (mode == 1 && json_object_get(v, "load-balance-percent")) {
		return fail(p, path, "load-balance-percent applies to mode \"load-balance\" only");
	}
	x = need(p, path, v, "local-address");
	if (x == NULL || ipv4_value(p, path_key(sub, path, "local-address"), x,
				    &r->local_addr) != 0) {
		return -EINVAL;
	}
	x = need(p, path, v, "partner-address");
	if (x == NULL || ipv4_value(p, path_key(sub, path, "partner-address"), x,
				    &r->partner_addr) != 0) {
		return -EINVAL;
	}
	if (r->partner_addr == r->local_addr) {
		return fail(p, path_key(sub, path, "partner-address"), "is the local address");
	}
	if (get_u32(p, path, v, "port", 1, 65535, 647, &port) != 0 ||
	    get_u32(p, path, v, "partner-port", 1, 65535, 647, &pport) != 0 ||
	    get_u32(p, path, v, "load-balance-percent", 0, 100, 50, &lb) != 0 ||
	    get_u32(p, path, v, "reserve-percent", 0, 100, 5, &rp) != 0 ||
	    get_u32(p, path, v, "mclt", 1, 86400 * 7, 3600, &r->mclt) != 0 ||
	    get_u32(p, path, v, "max-response-delay", 1, 3600, 60, &r->max_response_delay) != 0 ||
	    get_u32(p, path, v, "max-unacked", 1, 65535, 10, &r->max_unacked) != 0 ||
	    get_u32(p, path, v, "state-switch-interval", 1, 86400 * 7, 3600,
		    &r->state_switch_interval) != 0 ||
	    get_u32(p, path, v, "load-balance-max-seconds", 0, 65535, 3,
		    &r->load_balance_max_seconds) != 0 ||
	    get_bool(p, path, v, "auto-state-transition",
		     json_object_get(v, "state-switch-interval") != NULL,
		     &r->auto_state_transition) != 0) {
		return -EINVAL;
	}
	r->port = (uint16_t)port;
	r->partner_port = (uint16_t)pport;
	r->load_balance_percent = (uint8_t)lb;
	r->reserve_percent = (uint8_t)rp;
	/*
	 * The HMAC-MD5 key of D12 §11.1 (fo_link_cfg.shared_secret): 1..127 bytes, the size of
	 * dp_relationship.shared_secret and FO_LINK_SECRET_MAX - 1; "" (or absent) = none.
	 */
	x = json_object_get(v, "shared-secret");
	if (x != NULL && str_value(p, path_key(sub, path, "shared-secret"), x, r->shared_secret,
				   sizeof(r->shared_secret), 0) != 0) {
		return -EINVAL;
	}
	list = need(p, path, v, "scopes");
	if (list == NULL) {
		return -EINVAL;
	}
	if (!json_is_array(list) || json_array_size(list) == 0) {
		return fail_got(p, path_key(sub, path, "scopes"), "must be a list of scope names",
				list);
	}
	r->scopes = calloc(json_array_size(list), sizeof(*r->scopes));
	if (r->scopes == NULL) {
		return oom(p, path);
	}
	json_array_foreach(list, i, x) {
		char ipath[PATH_LEN];
		uint32_t s;

		path_idx(ipath, path_key(sub, path, "scopes"), i);
		for (s = 0; s < c->n_scopes; s++) {
			if (json_is_string(x) && strcmp(c->scopes[s].name, json_string_value(x)) == 0) {
				break;
			}
		}
		if (s == c->n_scopes) {
			return fail_got(p, ipath, "must name a scope", x);
		}
		if (owner[s] >= 0) {
			return fail(p, ipath, "scope \"%s\" is already in relationships[%d] (a scope "
				    "belongs to one relationship)", c->scopes[s].name, owner[s]);
		}
		owner[s] = (int)idx;
		c->scopes[s].fo_rel = (uint8_t)(idx + 1);
		r->scopes[r->n_scopes++] = s;
	}
	qsort(r->scopes, r->n_scopes, sizeof(*r->scopes), u32_cmp);
	return 0;
}

static int parse_relationships(struct pctx *p, json_t *root, struct dp_config *c)
{
	json_t *a = json_object_get(root, "relationships");
	int *owner;
	size_t n;
	int rc = 0;

	if (a == NULL) {
		return 0;
	}
	n = json_array_size(a);
	if (!json_is_array(a) || n > DP_MAX_RELATIONSHIPS) {
		char what[64];

		snprintf(what, sizeof(what), "must be a list of 0..%d relationships",
			 DP_MAX_RELATIONSHIPS);
		return fail_got(p, "relationships", what, a);
	}
	if (n == 0) {
		return 0;
	}
	c->relationships = calloc(n, sizeof(*c->relationships));
	owner = malloc(sizeof(*owner) * c->n_scopes);
	if (c->relationships == NULL || owner == NULL) {
		free(owner);
		return oom(p, "relationships");
	}
	for (uint32_t s = 0; s < c->n_scopes; s++) {
		owner[s] = -1;
	}
	c->n_relationships = (uint32_t)n;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = parse_relationship(p, c, (uint32_t)i, json_array_get(a, i), owner);
	}
	free(owner);
	if (rc == 0 && c->store_path[0] == '\0') {
		/* The partner protocol's promises (unacked updates, the state and its start time,
		 * D12 §9.2) must survive a restart: no failover on an in-memory server. */
		rc = fail(p, "relationships", "need server.store: failover state and unacked "
			  "binding updates must be durable");
	}
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Entry points                                                                                */

static struct dp_config *parse_root(struct pctx *p, json_t *root)
{
	static const char *const keys[] = { "server", "ports", "scopes", "relationships", NULL };
	struct dp_config *c;
	json_t *x;

	for (size_t i = 0; i < DP_MAX_IFACES; i++) {
		p->iface_owner[i] = -1;
	}
	if (need_object(p, "", root) != 0 || check_keys(p, "", root, keys) != 0) {
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		oom(p, "");
		return NULL;
	}
	c->workers = 1;
	c->log_interval = 10;
	c->idle_sleep_us = 50;
	c->reclaim_interval = 5;
	c->mbufs = 8191;
	c->store_map_mb = 64;
	c->control_max_request = 1u << 20;
	c->store_max_mb = 65536;
	c->durability = DP_DURABILITY_STRICT;
	snprintf(c->control_socket, sizeof(c->control_socket), "%s", DEFAULT_CONTROL_SOCKET);

	x = json_object_get(root, "server");
	if (x != NULL && parse_server(p, x, c) != 0) {
		goto fail;
	}
	if (parse_ports(p, root, c) != 0 || parse_scopes(p, root, c) != 0 ||
	    parse_relationships(p, root, c) != 0) {
		goto fail;
	}
	return c;
fail:
	dp_config_free(c);
	return NULL;
}

static struct dp_config *parse_buffer(const char *buf, size_t len, char *err, size_t errlen)
{
	struct pctx *p;
	struct dp_config *c;
	json_error_t je;
	json_t *root;

	if (errlen != 0) {
		err[0] = '\0';
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		if (errlen != 0) {
			snprintf(err, errlen, "line %d column %d: JSON syntax error: %s", je.line,
				 je.column, je.text);
		}
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		if (errlen != 0) {
			snprintf(err, errlen, "out of memory");
		}
		json_decref(root);
		return NULL;
	}
	p->err = err;
	p->errlen = errlen;
	c = parse_root(p, root);
	free(p);
	json_decref(root);
	return c;
}

struct dp_config *cp_config_parse(const char *json_text, char *err, size_t errlen)
{
	return parse_buffer(json_text, strlen(json_text), err, errlen);
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
	c = parse_buffer(buf != NULL ? buf : "", len, err, errlen);
out:
	free(buf);
	fclose(f);
	return c;
}

/* ------------------------------------------------------------------------------------------ */
/* Snapshot -> JSON                                                                            */

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

static json_t *ip_json(uint32_t a)
{
	return json_string(ipfmt(a).s);
}

static json_t *prefix_json(uint32_t a, uint8_t len)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%s/%u", ipfmt(a).s, len);
	return json_string(buf);
}

static json_t *range_json(const struct dp_range *r, bool single_ok)
{
	char buf[40];

	if (single_ok && r->first == r->last) {
		return ip_json(r->first);
	}
	snprintf(buf, sizeof(buf), "%s - %s", ipfmt(r->first).s, ipfmt(r->last).s);
	return json_string(buf);
}

static json_t *hex_json(const uint8_t *d, size_t n)
{
	char *s = malloc(n * 3 + 1);
	json_t *j;

	if (s == NULL) {
		return NULL;
	}
	s[0] = '\0';
	for (size_t i = 0, o = 0; i < n; i++) {
		o += (size_t)snprintf(s + o, n * 3 + 1 - o, "%s%02x", i != 0 ? ":" : "", d[i]);
	}
	j = json_string(s);
	free(s);
	return j;
}

/* @o's value as a JSON value of @type, or NULL when its bytes do not fit that type. */
static json_t *typed_json(enum dhcp4_opt_type type, const struct dp_option *o)
{
	json_t *a;

	switch (type) {
	case DHCP4_OT_IPV4:
		return o->len == 4 ? ip_json(get_be32(o->data)) : NULL;
	case DHCP4_OT_IPV4_LIST:
		if (o->len == 0 || o->len % 4 != 0) {
			return NULL;
		}
		a = json_array();
		for (size_t i = 0; a != NULL && i < o->len; i += 4) {
			if (json_array_append_new(a, ip_json(get_be32(o->data + i))) != 0) {
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
		return o->len == 4 ? json_integer(get_be32(o->data)) : NULL;
	case DHCP4_OT_INT32:
		return o->len == 4 ? json_integer((int32_t)get_be32(o->data)) : NULL;
	case DHCP4_OT_HEX:
	case DHCP4_OT_NONE:
	case DHCP4_OT_COUNT:
		break;
	}
	return NULL;
}

static json_t *options_json(const struct dp_optlist *l, bool *ok)
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
			v = hex_json(op->data, op->len);
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
	return o;
}

static json_t *reservation_json(const struct dp_reservation *r, bool *ok)
{
	json_t *o = json_object();

	if (r->key.type == DP_KEY_HWADDR) {
		char mac[18];

		if (r->key.len != 7 || r->key.data[0] != 1) {
			*ok = false;
			return o;
		}
		key_fmt(mac, sizeof(mac), &r->key);
		put(o, "hw-address", json_string(mac), ok);
	} else {
		put(o, "client-id", hex_json(r->key.data, r->key.len), ok);
	}
	put(o, "ip-address", ip_json(r->addr), ok);
	if (r->hostname[0] != '\0') {
		put(o, "hostname", json_string(r->hostname), ok);
	}
	if (r->opts.n != 0) {
		put(o, "options", options_json(&r->opts, ok), ok);
	}
	return o;
}

static json_t *scope_json(const struct dp_config *c, const struct dp_scope *s, bool *ok)
{
	json_t *o = json_object(), *a;

	put(o, "name", json_string(s->name), ok);
	put(o, "subnet", prefix_json(s->subnet, s->prefix_len), ok);
	put(o, "active", json_boolean(s->active), ok);
	a = json_array();
	for (uint32_t i = 0; i < s->n_ranges; i++) {
		push(a, range_json(&s->ranges[i], false), ok);
	}
	put(o, "pools", a, ok);
	if (s->n_exclusions != 0) {
		a = json_array();
		for (uint32_t i = 0; i < s->n_exclusions; i++) {
			push(a, range_json(&s->exclusions[i], true), ok);
		}
		put(o, "exclusions", a, ok);
	}
	if (s->n_reservations != 0) {
		a = json_array();
		for (uint32_t i = 0; i < s->n_reservations; i++) {
			push(a, reservation_json(&s->reservations[i], ok), ok);
		}
		put(o, "reservations", a, ok);
	}
	if (s->n_relays != 0) {
		a = json_array();
		for (uint32_t i = 0; i < s->n_relays; i++) {
			push(a, ip_json(s->relays[i]), ok);
		}
		put(o, "relay-addresses", a, ok);
	}
	if (s->interface >= 0 && (uint32_t)s->interface < c->n_ifaces) {
		put(o, "interface", json_string(c->ifaces[s->interface].name), ok);
	}
	put(o, "lease-time", json_integer(s->lease_time), ok);
	put(o, "min-lease-time", json_integer(s->min_lease_time), ok);
	put(o, "max-lease-time", json_integer(s->max_lease_time), ok);
	put(o, "renew-time", json_integer(s->renew_time), ok);
	put(o, "rebind-time", json_integer(s->rebind_time), ok);
	put(o, "offer-hold", json_integer(s->offer_hold), ok);
	put(o, "decline-hold", json_integer(s->decline_hold), ok);
	put(o, "bootp", json_boolean(s->bootp), ok);
	if (s->next_server != 0) {
		put(o, "next-server", ip_json(s->next_server), ok);
	}
	if (s->boot_file[0] != '\0') {
		put(o, "boot-file", json_string(s->boot_file), ok);
	}
	if (s->opts.n != 0) {
		put(o, "options", options_json(&s->opts, ok), ok);
	}
	return o;
}

json_t *cp_config_to_json(const struct dp_config *c)
{
	json_t *root = json_object(), *srv = json_object(), *ports = json_array();
	json_t *scopes = json_array();
	bool ok = true;

	put(srv, "workers", json_integer(c->workers), &ok);
	put(srv, "log-interval", json_integer(c->log_interval), &ok);
	put(srv, "idle-sleep-us", json_integer(c->idle_sleep_us), &ok);
	put(srv, "reclaim-interval", json_integer(c->reclaim_interval), &ok);
	put(srv, "mbufs", json_integer(c->mbufs), &ok);
	put(srv, "durability", json_string(c->durability == DP_DURABILITY_RELAXED ?
					   "relaxed" : "strict"), &ok);
	put(srv, "store", json_string(c->store_path), &ok);
	put(srv, "store-map-size", json_integer(c->store_map_mb), &ok);
	put(srv, "store-max-size", json_integer(c->store_max_mb), &ok);
	put(srv, "control-socket", json_string(c->control_socket), &ok);
	put(srv, "control-socket-group", json_string(c->control_group), &ok);
	put(srv, "control-max-request", json_integer(c->control_max_request), &ok);
	put(root, "server", srv, &ok);

	for (uint32_t i = 0; i < c->n_ports; i++) {
		json_t *pt = json_object(), *ifs = json_array();

		put(pt, "name", json_string(c->ports[i].name), &ok);
		put(pt, "device", json_string(c->ports[i].device), &ok);
		for (uint32_t j = 0; j < c->n_ifaces; j++) {
			const struct dp_iface *f = &c->ifaces[j];
			json_t *fo;

			if (f->port != i) {
				continue;
			}
			fo = json_object();
			put(fo, "name", json_string(f->name), &ok);
			put(fo, "vlan", json_integer(f->vlan), &ok);
			put(fo, "address", prefix_json(f->addr, f->prefix_len), &ok);
			push(ifs, fo, &ok);
		}
		put(pt, "interfaces", ifs, &ok);
		push(ports, pt, &ok);
	}
	put(root, "ports", ports, &ok);

	for (uint32_t i = 0; i < c->n_scopes; i++) {
		push(scopes, scope_json(c, &c->scopes[i], &ok), &ok);
	}
	put(root, "scopes", scopes, &ok);

	if (c->n_relationships != 0) {
		json_t *rels = json_array();

		for (uint32_t i = 0; i < c->n_relationships; i++) {
			const struct dp_relationship *r = &c->relationships[i];
			json_t *ro = json_object(), *sl = json_array();
			bool hs = r->mode == DP_FO_HOT_STANDBY;

			put(ro, "name", json_string(r->name), &ok);
			put(ro, "role", json_string(r->role == DP_FO_PRIMARY ? "primary" : "secondary"),
			    &ok);
			put(ro, "mode", json_string(hs ? "hot-standby" : "load-balance"), &ok);
			put(ro, "local-address", ip_json(r->local_addr), &ok);
			put(ro, "partner-address", ip_json(r->partner_addr), &ok);
			put(ro, "port", json_integer(r->port), &ok);
			put(ro, "partner-port", json_integer(r->partner_port), &ok);
			if (hs) {
				put(ro, "server-role", json_string(r->standby ? "standby" : "active"),
				    &ok);
				put(ro, "reserve-percent", json_integer(r->reserve_percent), &ok);
			} else {
				put(ro, "load-balance-percent", json_integer(r->load_balance_percent),
				    &ok);
			}
			put(ro, "mclt", json_integer(r->mclt), &ok);
			put(ro, "max-response-delay", json_integer(r->max_response_delay), &ok);
			put(ro, "max-unacked", json_integer(r->max_unacked), &ok);
			put(ro, "auto-state-transition", json_boolean(r->auto_state_transition), &ok);
			put(ro, "state-switch-interval", json_integer(r->state_switch_interval), &ok);
			put(ro, "load-balance-max-seconds", json_integer(r->load_balance_max_seconds),
			    &ok);
			put(ro, "shared-secret", json_string(r->shared_secret), &ok);
			for (uint32_t k = 0; k < r->n_scopes; k++) {
				push(sl, json_string(c->scopes[r->scopes[k]].name), &ok);
			}
			put(ro, "scopes", sl, &ok);
			push(rels, ro, &ok);
		}
		put(root, "relationships", rels, &ok);
	}

	if (!ok) {
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
