/*
 * ctlc_render: human output (contract in ctlc_render.h).
 *
 * Tables are built in memory (every cell a sanitised copy) and printed once the column
 * widths are known.
 */
#include "ctlc_render.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_proto.h"	/* CTL_KEY_*: the answer's lease members */
#include "ctlc_impl.h"

#define WHEN_LEN	128		/* "2026-11-23 02:23:18 UTC (in 9m 58s)" and more */


#define TABLE_MAX_COLS	8

struct table {
	size_t ncols;
	const char *head[TABLE_MAX_COLS];
	unsigned int right;	/* bit i: column i is right-aligned (numbers) */
	char **cells;		/* nrows * ncols sanitised copies */
	size_t nrows;
	size_t cap;
};

/* Append one row of t->ncols strings (NULL prints as "-"). */
static int table_add(struct table *t, const char *const *row)
{
	char **cells;

	if (t->nrows == t->cap) {
		size_t cap = t->cap != 0 ? t->cap * 2 : 16;

		cells = realloc(t->cells, cap * t->ncols * sizeof(*cells));
		if (cells == NULL) {
			return -ENOMEM;
		}
		t->cells = cells;
		t->cap = cap;
	}
	cells = t->cells + t->nrows * t->ncols;
	for (size_t c = 0; c < t->ncols; c++) {
		cells[c] = ctlc_sanitize(row[c] != NULL ? row[c] : "-");
		if (cells[c] == NULL) {
			for (size_t k = 0; k < c; k++) {
				free(cells[k]);
			}
			return -ENOMEM;
		}
	}
	t->nrows++;
	return 0;
}

static void table_print(FILE *out, const struct table *t)
{
	size_t width[TABLE_MAX_COLS];

	for (size_t c = 0; c < t->ncols; c++) {
		width[c] = strlen(t->head[c]);
		for (size_t r = 0; r < t->nrows; r++) {
			size_t w = strlen(t->cells[r * t->ncols + c]);

			if (w > width[c]) {
				width[c] = w;
			}
		}
	}
	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = r == 0 ? t->head[c] : t->cells[(r - 1) * t->ncols + c];
			bool last = c + 1 == t->ncols;
			int w = (int)width[c];

			if (t->right & (1u << c)) {
				fprintf(out, "%*s%s", w, s, last ? "\n" : "  ");
			} else if (last) {
				fprintf(out, "%s\n", s);
			} else {
				fprintf(out, "%-*s  ", w, s);
			}
		}
	}
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++) {
		free(t->cells[i]);
	}
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
	t->cap = 0;
}

/*
 * Every number below comes from the server's answer and may be anything a JSON integer can
 * be (INT64_MIN included): sums and differences saturate instead of overflowing, and a
 * duration is printed from its unsigned magnitude, so no answer is undefined behaviour.
 */
static long long sat_add(long long a, long long b)
{
	long long r;

	if (__builtin_add_overflow(a, b, &r)) {
		return b > 0 ? LLONG_MAX : LLONG_MIN;
	}
	return r;
}

static long long sat_sub(long long a, long long b)
{
	long long r;

	if (__builtin_sub_overflow(a, b, &r)) {
		return b < 0 ? LLONG_MAX : LLONG_MIN;
	}
	return r;
}

/* "9m 58s", "7m", "3d 4h": the largest unit and, when not zero, the next one; no sign. */
static void fmt_duration(long long s, char *out, size_t len)
{
	static const struct {
		unsigned long long secs;
		char unit;
	} units[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' } };
	/* |s| without negating LLONG_MIN. */
	unsigned long long m = s < 0 ? 0ULL - (unsigned long long)s : (unsigned long long)s;

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		unsigned long long v = m / units[i].secs;
		unsigned long long rest;

		if (v == 0 && units[i].secs != 1) {
			continue;
		}
		if (i + 1 == sizeof(units) / sizeof(units[0])) {
			snprintf(out, len, "%llus", v);
			return;
		}
		rest = (m % units[i].secs) / units[i + 1].secs;
		if (rest != 0) {
			snprintf(out, len, "%llu%c %llu%c", v, units[i].unit, rest,
				 units[i + 1].unit);
		} else {
			snprintf(out, len, "%llu%c", v, units[i].unit);
		}
		return;
	}
}

static void fmt_utc(long long t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
		snprintf(out, len, "%lld", t);
	}
}

/* "2026-11-21 10:15:00 UTC (in 9m 58s)" or "... (7m ago)". */
static void fmt_when(long long t, time_t now, char *out, size_t len)
{
	char abs[48], rel[48];

	fmt_utc(t, abs, sizeof(abs));
	fmt_duration(sat_sub(t, (long long)now), rel, sizeof(rel));
	if (t > (long long)now) {
		snprintf(out, len, "%s (in %s)", abs, rel);
	} else if (t < (long long)now) {
		snprintf(out, len, "%s (%s ago)", abs, rel);
	} else {
		snprintf(out, len, "%s (now)", abs);
	}
}

/* A scalar as text; objects and arrays of non-scalars as compact JSON. Owned by the caller. */
static char *value_text(json_t *v)
{
	struct ctlc_buf b = { 0 };
	size_t i;
	json_t *e;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return strdup(json_string_value(v));
	case JSON_INTEGER:
		ctlc_buf_printf(&b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return b.data;
	case JSON_REAL:
		ctlc_buf_printf(&b, "%g", json_real_value(v));
		return b.data;
	case JSON_TRUE:
		return strdup("true");
	case JSON_FALSE:
		return strdup("false");
	case JSON_NULL:
		return strdup("-");
	case JSON_ARRAY:
		json_array_foreach(v, i, e) {
			if (json_is_object(e) || json_is_array(e)) {
				break;
			}
		}
		if (i == json_array_size(v)) {
			char *s;
			int ret = ctlc_buf_printf(&b, "%s", "");

			json_array_foreach(v, i, e) {
				s = value_text(e);
				if (s == NULL || ret != 0) {
					free(s);
					free(b.data);
					return NULL;
				}
				ret = ctlc_buf_printf(&b, "%s%s", i != 0 ? ", " : "", s);
				free(s);
			}
			if (ret != 0) {
				free(b.data);
				return NULL;
			}
			return b.data;
		}
		return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	case JSON_OBJECT:
	default:
		return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	}
}

/*
 * "key: value" lines, values aligned. More than 64 members are not expected; extras are left
 * out rather than failing the whole answer.
 */
struct kv {
	const char *key[64];
	char *val[64];
	size_t n;
};

/* Takes ownership of @val (which may be NULL after an allocation failure). */
static int kv_add(struct kv *kv, const char *key, char *val)
{
	if (val == NULL) {
		return -ENOMEM;
	}
	if (kv->n == sizeof(kv->key) / sizeof(kv->key[0])) {
		free(val);
		return 0;
	}
	kv->key[kv->n] = key;
	kv->val[kv->n++] = val;
	return 0;
}

static void kv_print_free(FILE *out, struct kv *kv)
{
	size_t w = 0;

	for (size_t i = 0; i < kv->n; i++) {
		if (strlen(kv->key[i]) > w) {
			w = strlen(kv->key[i]);
		}
	}
	for (size_t i = 0; i < kv->n; i++) {
		char *s = ctlc_sanitize(kv->key[i]);
		char *v = ctlc_sanitize(kv->val[i]);

		if (s != NULL && v != NULL) {
			fprintf(out, "%s:%*s %s\n", s, (int)(w - strlen(s)), "", v);
		}
		free(s);
		free(v);
		free(kv->val[i]);
	}
	kv->n = 0;
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list != NULL; list++) {
		if (strcmp(*list, s) == 0) {
			return true;
		}
	}
	return false;
}

/* Every member of @o as "key: value", @first in that order, then the rest in object order. */
static int render_kv(FILE *out, json_t *o, const char *const *first, const char *const *skip)
{
	static const char *const none[] = { NULL };
	struct kv kv = { .n = 0 };
	const char *key;
	json_t *v;
	int ret = 0;

	first = first != NULL ? first : none;
	skip = skip != NULL ? skip : none;
	for (const char *const *k = first; *k != NULL && ret == 0; k++) {
		v = json_object_get(o, *k);
		if (v != NULL) {
			ret = kv_add(&kv, *k, value_text(v));
		}
	}
	json_object_foreach(o, key, v) {
		if (ret == 0 && !in_list(key, first) && !in_list(key, skip)) {
			ret = kv_add(&kv, key, value_text(v));
		}
	}
	kv_print_free(out, &kv);
	return ret;
}

static int render_json(FILE *out, json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);

	if (s == NULL) {
		return -ENOMEM;
	}
	fprintf(out, "%s\n", s);
	free(s);
	return 0;
}

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : dflt;
}

/* When the lease ends: "never", an absolute time with a relative one, or "-". */
static void lease_expires(json_t *l, time_t now, char *out, size_t len)
{
	json_t *exp = json_object_get(l, "expire");
	json_t *lft = json_object_get(l, "valid-lft");
	json_t *cltt = json_object_get(l, "cltt");

	if (json_integer_value(lft) == INFINITE_LFT || (exp != NULL && json_is_null(exp))) {
		snprintf(out, len, "never");
	} else if (json_is_integer(exp)) {
		fmt_when(json_integer_value(exp), now, out, len);
	} else if (json_is_integer(cltt) && json_is_integer(lft)) {
		fmt_when(sat_add(json_integer_value(cltt), json_integer_value(lft)), now, out, len);
	} else {
		snprintf(out, len, "-");
	}
}

/* The lease table; a HOSTNAME column (the client's option 12) when any lease has one. */
static int render_leases(FILE *out, json_t *leases, time_t now)
{
	struct table t = {
		.ncols = 5, .head = { "ADDRESS", "STATE", "CLIENT", "SCOPE", "EXPIRES" },
	};
	size_t i;
	json_t *l;
	int ret = 0;
	bool host = false;

	json_array_foreach(leases, i, l) {
		host |= json_object_get(l, CTL_KEY_HOSTNAME) != NULL;
	}
	if (host) {
		static const char *const head[] = {
			"ADDRESS", "STATE", "CLIENT", "HOSTNAME", "SCOPE", "EXPIRES"
		};

		t.ncols = 6;
		memcpy(t.head, head, sizeof(head));
	}
	json_array_foreach(leases, i, l) {
		char expires[WHEN_LEN];
		const char *client = str_or(l, CTL_KEY_HW_ADDRESS,
					    str_or(l, CTL_KEY_CLIENT_ID, NULL));
		const char *row[6] = {
			str_or(l, CTL_KEY_IP_ADDRESS, NULL), str_or(l, "state", NULL), client,
			str_or(l, "scope", NULL), expires, NULL,
		};

		if (host) {
			row[3] = str_or(l, CTL_KEY_HOSTNAME, NULL);
			row[4] = str_or(l, "scope", NULL);
			row[5] = expires;
		}
		lease_expires(l, now, expires, sizeof(expires));
		ret = table_add(&t, row);
		if (ret != 0) {
			break;
		}
	}
	table_print(out, &t);
	table_free(&t);
	return ret;
}

static int render_lease(FILE *out, json_t *l, time_t now)
{
	static const char *const order[] = {
		CTL_KEY_IP_ADDRESS, "state", CTL_KEY_HW_ADDRESS, CTL_KEY_CLIENT_ID, "scope", NULL
	};
	static const char *const timed[] = { "cltt", "valid-lft", "expire", NULL };
	struct kv kv = { .n = 0 };
	const char *key;
	json_t *v;
	char buf[WHEN_LEN];
	int ret = 0;

	for (const char *const *k = order; *k != NULL && ret == 0; k++) {
		v = json_object_get(l, *k);
		if (v != NULL) {
			ret = kv_add(&kv, *k, value_text(v));
		}
	}
	if (ret == 0 && json_is_integer(json_object_get(l, "cltt"))) {
		fmt_when(json_integer_value(json_object_get(l, "cltt")), now, buf, sizeof(buf));
		ret = kv_add(&kv, "cltt", strdup(buf));
	}
	v = json_object_get(l, "valid-lft");
	if (ret == 0 && json_is_integer(v)) {
		if (json_integer_value(v) == INFINITE_LFT) {
			snprintf(buf, sizeof(buf), "infinite");
		} else {
			char d[48];

			fmt_duration(json_integer_value(v), d, sizeof(d));
			snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT " s (%s)",
				 json_integer_value(v), d);
		}
		ret = kv_add(&kv, "valid-lft", strdup(buf));
	}
	if (ret == 0) {
		lease_expires(l, now, buf, sizeof(buf));
		ret = kv_add(&kv, "expire", strdup(buf));
	}
	json_object_foreach(l, key, v) {
		if (ret == 0 && !in_list(key, order) && !in_list(key, timed)) {
			ret = kv_add(&kv, key, value_text(v));
		}
	}
	kv_print_free(out, &kv);
	return ret;
}

static char *int_text(json_t *v)
{
	struct ctlc_buf b = { 0 };

	if (!json_is_integer(v)) {
		return NULL;
	}
	ctlc_buf_printf(&b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return b.data;
}

static int render_scopes(FILE *out, json_t *scopes)
{
	static const char *const nums[] = {
		"total", "assigned", "free", "offered", "declined"
	};
	struct table t = {
		.ncols = 8,
		.head = { "NAME", "SUBNET", "ACTIVE", "TOTAL", "ASSIGNED", "FREE", "OFFERED",
			  "DECLINED" },
		.right = 0xf8,
	};
	size_t i;
	json_t *s;
	int ret = 0;

	json_array_foreach(scopes, i, s) {
		char *n[5] = { NULL };
		json_t *act = json_object_get(s, "active");
		const char *row[8] = {
			str_or(s, "name", NULL), str_or(s, "subnet", NULL),
			json_is_boolean(act) ? (json_is_true(act) ? "yes" : "no") : NULL,
		};

		for (size_t k = 0; k < 5; k++) {
			n[k] = int_text(json_object_get(s, nums[k]));
			row[3 + k] = n[k];
		}
		ret = table_add(&t, row);
		for (size_t k = 0; k < 5; k++) {
			free(n[k]);
		}
		if (ret != 0) {
			break;
		}
	}
	table_print(out, &t);
	table_free(&t);
	return ret;
}

static int render_reservations(FILE *out, json_t *list)
{
	struct table t = { .ncols = 3, .head = { "ADDRESS", "CLIENT", "HOSTNAME" } };
	size_t i;
	json_t *r;
	int ret = 0;

	json_array_foreach(list, i, r) {
		const char *row[3] = {
			str_or(r, CTL_KEY_IP_ADDRESS, NULL),
			str_or(r, CTL_KEY_HW_ADDRESS, str_or(r, CTL_KEY_CLIENT_ID, NULL)),
			str_or(r, "hostname", NULL),
		};

		ret = table_add(&t, row);
		if (ret != 0) {
			break;
		}
	}
	table_print(out, &t);
	table_free(&t);
	return ret;
}


/* Superscopes (one object, or a list of them): NAME and the member scopes, in order. */
static int render_superscopes(FILE *out, json_t *v)
{
	struct table t = { .ncols = 2, .head = { "NAME", "SCOPES" } };
	json_t *list = json_is_array(v) ? json_incref(v) : json_pack("[O]", v);
	size_t i, k;
	json_t *u, *m;
	int ret = list == NULL ? -ENOMEM : 0;

	json_array_foreach(list, i, u) {
		char scopes[1024] = "";
		size_t off = 0;
		const char *row[2];

		json_array_foreach(json_object_get(u, "scopes"), k, m) {
			int n = snprintf(scopes + off, sizeof(scopes) - off, "%s%s", k ? ", " : "",
					 json_is_string(m) ? json_string_value(m) : "?");

			if (n < 0 || (size_t)n >= sizeof(scopes) - off) {
				break;
			}
			off += (size_t)n;
		}
		row[0] = str_or(u, "name", NULL);
		row[1] = scopes;
		ret = table_add(&t, row);
		if (ret != 0) {
			break;
		}
	}
	json_decref(list);
	table_print(out, &t);
	table_free(&t);
	return ret;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int render_stats(FILE *out, json_t *stats, bool all)
{
	struct table t = { .ncols = 2, .head = { "NAME", "VALUE" }, .right = 0x2 };
	size_t n = json_object_size(stats), k = 0;
	const char **names;
	const char *key;
	json_t *v;
	int ret = 0;

	names = calloc(n + 1, sizeof(*names));
	if (names == NULL) {
		return -ENOMEM;
	}
	json_object_foreach(stats, key, v) {
		names[k++] = key;
	}
	qsort(names, k, sizeof(*names), cmp_str);
	for (size_t i = 0; i < k && ret == 0; i++) {
		json_t *num = ctlc_stat_value(json_object_get(stats, names[i]));
		char *val;

		if (!all && strncmp(names[i], "drop-", 5) == 0 && num != NULL &&
		    json_number_value(num) == 0) {
			continue;
		}
		val = value_text(num != NULL ? num : json_object_get(stats, names[i]));
		if (val == NULL) {
			ret = -ENOMEM;
			break;
		}
		ret = table_add(&t, (const char *const[]){ names[i], val });
		free(val);
	}
	table_print(out, &t);
	table_free(&t);
	free(names);
	return ret;
}

/* "normal since 2026-11-23 00:10:16 UTC (2h 3m ago)", or the state alone without a time. */
static char *state_text(json_t *r, const char *key, const char *since_key, time_t now)
{
	json_t *t = json_object_get(r, since_key);
	char *s = value_text(json_object_get(r, key));
	struct ctlc_buf b = { 0 };
	char when[WHEN_LEN];

	if (s == NULL || !json_is_integer(t) || json_integer_value(t) <= 0) {
		return s;
	}
	fmt_when(json_integer_value(t), now, when, sizeof(when));
	ctlc_buf_printf(&b, "%s since %s", s, when);
	free(s);
	return b.data;
}

/* The count in @msgs under "<prefix>-<dir>", as text, or NULL ("-") when there is none. */
static int pair_cell(json_t *msgs, const char *key, size_t plen, const char *dir, char **out)
{
	struct ctlc_buf k = { 0 };

	*out = NULL;
	if (ctlc_buf_printf(&k, "%.*s-%s", (int)plen, key, dir) != 0) {
		return -ENOMEM;
	}
	*out = int_text(json_object_get(msgs, k.data));
	free(k.data);
	return 0;
}

/*
 * The message counters: "X-sent" / "X-received" pairs become the rows of a MESSAGE SENT
 * RECEIVED table, in the order the server lists them.
 */
static int render_fo_messages(FILE *out, json_t *msgs)
{
	struct table t = {
		.ncols = 3, .head = { "MESSAGE", "SENT", "RECEIVED" }, .right = 0x6,
	};
	const char *key, *k2;
	json_t *v, *v2;
	int ret = 0;

	json_object_foreach(msgs, key, v) {
		size_t plen = ctlc_pair_prefix(key);
		char *name, *sent = NULL, *recv = NULL;
		bool seen = false;

		if (plen == 0) {
			continue;
		}
		json_object_foreach(msgs, k2, v2) {
			if (k2 == key) {
				break;
			}
			if (ctlc_pair_prefix(k2) == plen && strncmp(k2, key, plen) == 0) {
				seen = true;	/* the row was made from its other half */
				break;
			}
		}
		if (seen) {
			continue;
		}
		name = strndup(key, plen);
		ret = name == NULL ? -ENOMEM : pair_cell(msgs, key, plen, "sent", &sent);
		if (ret == 0) {
			ret = pair_cell(msgs, key, plen, "received", &recv);
		}
		if (ret == 0) {
			ret = table_add(&t, (const char *const[]){ name, sent, recv });
		}
		free(name);
		free(sent);
		free(recv);
		if (ret != 0) {
			break;
		}
	}
	if (ret == 0 && t.nrows > 0) {
		fputc('\n', out);
		table_print(out, &t);
	}
	table_free(&t);
	return ret;
}

/*
 * One failover relationship: its state as "key: value" lines (the protocol's names, the two
 * states with the time they were entered), the other counters, then the message table.
 */
static int render_relationship(FILE *out, json_t *r, time_t now)
{
	static const char *const order[] = {
		"name", "role", "mode", "state", "partner-state", "link", "service", "mclt",
		"skew", "addresses", "unacked", "queued", "in-flight", "window", NULL
	};
	static const char *const skip[] = {
		"state-since", "partner-state-since", "communications-ok", "messages",
		"link-counters", "counters", NULL
	};
	json_t *msgs = json_object_get(r, "messages");
	json_t *link = json_object_get(r, "link-counters");
	struct kv kv = { .n = 0 };
	const char *key;
	json_t *v;
	int ret = 0;

	for (const char *const *k = order; *k != NULL && ret == 0; k++) {
		struct ctlc_buf b = { 0 };
		char d[48];

		v = json_object_get(r, *k);
		if (v == NULL) {
			continue;
		}
		if (strcmp(*k, "state") == 0 || strcmp(*k, "partner-state") == 0) {
			b.data = state_text(r, *k, strcmp(*k, "state") == 0 ? "state-since" :
					    "partner-state-since", now);
		} else if (json_is_integer(v) && strcmp(*k, "mclt") == 0) {
			fmt_duration(json_integer_value(v), d, sizeof(d));
			ctlc_buf_printf(&b, "%" JSON_INTEGER_FORMAT " s (%s)",
					json_integer_value(v), d);
		} else if (json_is_integer(v) && strcmp(*k, "skew") == 0) {
			ctlc_buf_printf(&b, "%" JSON_INTEGER_FORMAT " s", json_integer_value(v));
		} else {
			b.data = value_text(v);
		}
		ret = kv_add(&kv, *k, b.data);
	}
	json_object_foreach(r, key, v) {
		if (ret == 0 && !in_list(key, order) && !in_list(key, skip)) {
			ret = kv_add(&kv, key, value_text(v));
		}
	}
	/* Message counters that are not sent/received pairs (addresses-given), link counters. */
	json_object_foreach(msgs, key, v) {
		if (ret == 0 && ctlc_pair_prefix(key) == 0) {
			ret = kv_add(&kv, key, value_text(v));
		}
	}
	json_object_foreach(link, key, v) {
		if (ret == 0) {
			ret = kv_add(&kv, key, value_text(v));
		}
	}
	json_object_foreach(json_object_get(r, "counters"), key, v) {
		if (ret == 0) {
			ret = kv_add(&kv, key, value_text(v));
		}
	}
	kv_print_free(out, &kv);
	if (ret == 0 && json_is_object(msgs)) {
		ret = render_fo_messages(out, msgs);
	}
	return ret;
}

/* failover-status and the failover commands' answers: one block per relationship. */
static int render_relationships(FILE *out, json_t *list, time_t now)
{
	size_t i;
	json_t *r;
	int ret = 0;

	json_array_foreach(list, i, r) {
		if (i != 0) {
			fputc('\n', out);
		}
		ret = json_is_object(r) ? render_relationship(out, r, now) : render_json(out, r);
		if (ret != 0) {
			break;
		}
	}
	return ret;
}

/* status-get's "failover" list: "failover NAME: STATE, partner STATE, link up" lines. */
static int render_fo_summary(FILE *out, json_t *list)
{
	size_t i;
	json_t *r;

	json_array_foreach(list, i, r) {
		struct ctlc_buf b = { 0 };
		char *s;

		if (ctlc_buf_printf(&b, "failover %s: %s, partner %s, link %s",
				    str_or(r, "name", "-"),
				    str_or(r, "state", "-"), str_or(r, "partner-state", "-"),
				    str_or(r, "link", "-")) != 0) {
			free(b.data);
			return -ENOMEM;
		}
		s = ctlc_sanitize(b.data);
		free(b.data);
		if (s == NULL) {
			return -ENOMEM;
		}
		fprintf(out, "%s\n", s);
		free(s);
	}
	return 0;
}

static int render_status(FILE *out, json_t *st, time_t now)
{
	static const char *const order[] = {
		"pid", "uptime", "reload", "workers", "durability", "store", "dhcp-state",
		"scopes", "bindings", NULL
	};
	static const char *const skip[] = { "ports", NULL };
	struct kv kv = { .n = 0 };
	/* LINK and TX-CSUM: "-" from a daemon older than them. */
	struct table t = {
		.ncols = 6, .head = { "PORT", "DEVICE", "DRIVER", "MAC", "LINK", "TX-CSUM" }
	};
	json_t *ports = json_object_get(st, "ports");
	json_t *failover = json_object_get(st, "failover");
	const char *key;
	json_t *v, *p;
	size_t i;
	int ret = 0;

	for (const char *const *k = order; *k != NULL && ret == 0; k++) {
		char buf[160], d[48], at[48];

		v = json_object_get(st, *k);
		if (v == NULL) {
			continue;
		}
		if (json_is_integer(v) && (strcmp(*k, "uptime") == 0 ||
					   strcmp(*k, "reload") == 0)) {
			json_int_t s = json_integer_value(v);

			fmt_duration(s, d, sizeof(d));
			fmt_utc(sat_sub((long long)now, s), at, sizeof(at));
			if (strcmp(*k, "uptime") == 0) {
				snprintf(buf, sizeof(buf), "%s (since %s)", d, at);
			} else {
				snprintf(buf, sizeof(buf), "%s ago (%s)", d, at);
			}
			ret = kv_add(&kv, *k, strdup(buf));
		} else {
			ret = kv_add(&kv, *k, value_text(v));
		}
	}
	json_object_foreach(st, key, v) {
		if (ret == 0 && !in_list(key, order) && !in_list(key, skip) &&
		    !(json_is_array(v) && strcmp(key, "failover") == 0)) {
			ret = kv_add(&kv, key, value_text(v));
		}
	}
	kv_print_free(out, &kv);
	if (ret == 0 && json_is_array(failover)) {
		ret = render_fo_summary(out, failover);
	}
	if (ret != 0 || json_array_size(ports) == 0) {
		return ret;
	}
	json_array_foreach(ports, i, p) {
		const char *row[6] = {
			str_or(p, "name", NULL), str_or(p, "device", NULL),
			str_or(p, "driver", NULL), str_or(p, "mac", NULL),
			str_or(p, "link", NULL), str_or(p, "tx-csum", NULL),
		};

		ret = table_add(&t, row);
		if (ret != 0) {
			break;
		}
	}
	fprintf(out, "\n");
	table_print(out, &t);
	table_free(&t);
	return ret;
}

/* The answer's text on a line of its own; nothing (and false) when it has none. */
static int put_text(FILE *out, json_t *answer, bool *printed)
{
	const char *text = json_string_value(json_object_get(answer, "text"));
	char *s;

	*printed = false;
	if (text == NULL || text[0] == '\0') {
		return 0;
	}
	s = ctlc_sanitize(text);
	if (s == NULL) {
		return -ENOMEM;
	}
	fprintf(out, "%s\n", s);
	free(s);
	*printed = true;
	return 0;
}

/* The server's text, or (without one) the answer's arguments. */
static int render_text(FILE *out, json_t *answer)
{
	json_t *args = json_object_get(answer, "arguments");
	bool printed;
	int ret;

	ret = put_text(out, answer, &printed);
	if (ret != 0 || printed) {
		return ret;
	}
	if (json_is_object(args) && json_object_size(args) > 0) {
		return render_kv(out, args, NULL, NULL);
	}
	if (json_is_array(args) && json_array_size(args) > 0) {
		return render_json(out, args);
	}
	return 0;
}

/* An array itself, or the array under @key of an object. */
static json_t *list_of(json_t *args, const char *key)
{
	return json_is_array(args) ? args : json_object_get(args, key);
}

int ctlc_render_view(FILE *out, const char *command, json_t *answer,
		     const struct ctlc_view *view)
{
	json_t *args = json_object_get(answer, "arguments");
	time_t now = view != NULL && view->now != 0 ? view->now : time(NULL);
	bool all = view != NULL && (view->flags & CTLC_F_ALL);
	json_t *list;

	if (json_integer_value(json_object_get(answer, "result")) != 0 || command == NULL) {
		return render_text(out, answer);
	}
	if (strcmp(command, "lease4-get-page") == 0 || strcmp(command, "lease4-get-all") == 0) {
		list = list_of(args, "leases");
		if (json_is_array(list)) {
			return render_leases(out, list, now);
		}
	} else if (strcmp(command, "lease4-get") == 0 || strcmp(command, "lease4-add") == 0 ||
		   strcmp(command, "lease4-update") == 0) {
		if (json_is_object(args) && json_object_get(args, CTL_KEY_IP_ADDRESS) != NULL) {
			return render_lease(out, args, now);
		}
	} else if (strcmp(command, "scope-list") == 0) {
		list = list_of(args, "scopes");
		if (json_is_array(list)) {
			return render_scopes(out, list);
		}
	} else if (strcmp(command, "superscope-get") == 0) {
		if (json_is_array(args) || json_is_object(args)) {
			return render_superscopes(out, args);
		}
	} else if (strcmp(command, "reservation-list") == 0) {
		list = list_of(args, "reservations");
		if (json_is_array(list)) {
			return render_reservations(out, list);
		}
	} else if (strcmp(command, "statistic-get-all") == 0 ||
		   strcmp(command, "statistic-get") == 0) {
		if (json_is_object(args)) {
			return render_stats(out, args, all);
		}
	} else if (strcmp(command, "status-get") == 0) {
		if (json_is_object(args)) {
			return render_status(out, args, now);
		}
	} else if (strcmp(command, "failover-status") == 0) {
		if (json_is_array(args)) {
			return render_relationships(out, args, now);
		}
	} else if (strncmp(command, "failover-", 9) == 0) {
		/* partner-down, shutdown, recover, resync: what was done, then the new state. */
		if (json_is_array(args)) {
			bool printed;
			int ret = put_text(out, answer, &printed);

			if (ret != 0 || json_array_size(args) == 0) {
				return ret;
			}
			if (printed) {
				fputc('\n', out);
			}
			return render_relationships(out, args, now);
		}
	} else if (strcmp(command, "version-get") == 0) {
		if (json_is_object(args)) {
			static const char *const order[] = { "version", NULL };

			return render_kv(out, args, order, NULL);
		}
	} else if (strcmp(command, "list-commands") == 0) {
		if (json_is_array(args)) {
			size_t i;
			json_t *c;

			json_array_foreach(args, i, c) {
				char *s = value_text(c);
				char *z = s != NULL ? ctlc_sanitize(s) : NULL;

				if (z == NULL) {
					free(s);
					return -ENOMEM;
				}
				fprintf(out, "%s\n", z);
				free(z);
				free(s);
			}
			return 0;
		}
	} else if (strcmp(command, "config-get") == 0 || strcmp(command, "scope-get") == 0) {
		if (args != NULL) {
			return render_json(out, args);
		}
	}
	return render_text(out, answer);
}

int ctlc_render(FILE *out, const char *command, json_t *answer)
{
	return ctlc_render_view(out, command, answer, NULL);
}
