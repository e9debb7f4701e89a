/*
 * ctlc_prom: Prometheus text format 0.0.4 (contract in ctlc_prom.h).
 *
 * Families are collected, sorted by family name and label value, and printed so that each
 * family's HELP and TYPE come once, before its samples; failover samples, which carry
 * several labels, are sorted by their whole label text.
 */
#include "ctlc_prom.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter_table.h"
#include "ctlc_impl.h"


enum metric_type { M_COUNTER, M_GAUGE };

struct sample {
	char *family;		/* "leasewire_drops_total" */
	enum metric_type type;
	const char *label;	/* "reason", "scope" or NULL */
	char *label_value;	/* unescaped; NULL without a label */
	const char *stat;	/* the statistic's own name (for HELP of unknown families) */
	json_t *value;		/* borrowed */
};

/* The HELP of every leasewired counter, from the rows that name it in the server. */
static const struct {
	const char *stat;
	const char *help;
} counter_help[] = {
#define S(member, stat, tel, log, flags, help) { stat, help },
#define E(array, index, stat, tel, log, flags, help) { stat, help },
#define X(member, stat, help) { stat, help },
	LW_COUNTER_TABLE(S, E)
	LW_STORE_COUNTER_TABLE(X)
	LW_CTL_COUNTER_TABLE(X)
#undef S
#undef E
#undef X
};

static const struct {
	const char *kind;	/* "assigned" in scope[x].assigned-addresses */
	const char *help;
} scope_help[] = {
#define X(id, kind, help) { kind, help },
	LW_SCOPE_GAUGE_TABLE(X)
#undef X
};

/* "leasewire_" + @name with every character outside [A-Za-z0-9_] as '_'. */
static char *metric_name(const char *prefix, const char *name, size_t len, const char *suffix)
{
	struct ctlc_buf b = { 0 };

	if (ctlc_buf_printf(&b, "%s%.*s%s", prefix, (int)len, name, suffix) != 0) {
		return NULL;
	}
	for (char *p = b.data + strlen(prefix); *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_')) {
			*p = '_';
		}
	}
	return b.data;
}

/* Decide the family, type and label of one statistic. */
static int classify(const char *stat, json_t *value, struct sample *s)
{
	size_t len = strlen(stat);
	const char *close;

	memset(s, 0, sizeof(*s));
	s->stat = stat;
	s->value = value;
	if (strncmp(stat, "drop-", 5) == 0 && len > 5) {
		s->type = M_COUNTER;
		s->family = strdup("leasewire_drops_total");
		s->label = "reason";
		s->label_value = metric_name("", stat + 5, len - 5, "");
		return s->family != NULL && s->label_value != NULL ? 0 : -ENOMEM;
	}
	close = strrchr(stat, ']');
	if (strncmp(stat, "scope[", 6) == 0 && close != NULL && close[1] == '.' &&
	    close[2] != '\0') {
		s->type = M_GAUGE;
		s->family = metric_name("leasewire_scope_", close + 2, strlen(close + 2), "");
		s->label = "scope";
		s->label_value = strndup(stat + 6, (size_t)(close - (stat + 6)));
		return s->family != NULL && s->label_value != NULL ? 0 : -ENOMEM;
	}
	s->type = M_COUNTER;
	s->family = metric_name("leasewire_", stat, len, "");
	return s->family != NULL ? 0 : -ENOMEM;
}

static int cmp_sample(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;
	int c = strcmp(x->family, y->family);

	if (c != 0) {
		return c;
	}
	return strcmp(x->label_value != NULL ? x->label_value : "",
		      y->label_value != NULL ? y->label_value : "");
}

static const char *help_of(const struct sample *s)
{
	if (strcmp(s->family, "leasewire_drops_total") == 0) {
		return "Packets dropped, by reason.";
	}
	if (s->label != NULL && strcmp(s->label, "scope") == 0) {
		const char *kind = strrchr(s->stat, ']') + 2;

		for (size_t i = 0; i < sizeof(scope_help) / sizeof(scope_help[0]); i++) {
			size_t n = strlen(scope_help[i].kind);

			if (strncmp(kind, scope_help[i].kind, n) == 0 &&
			    strcmp(kind + n, "-addresses") == 0) {
				return scope_help[i].help;
			}
		}
		return NULL;
	}
	for (size_t i = 0; i < sizeof(counter_help) / sizeof(counter_help[0]); i++) {
		if (strcmp(counter_help[i].stat, s->stat) == 0) {
			return counter_help[i].help;
		}
	}
	return NULL;
}

/* Label values escape backslash, double quote and newline; HELP text only the first and last. */
static void put_escaped(FILE *out, const char *s, bool quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\') {
			fputs("\\\\", out);
		} else if (*s == '\n') {
			fputs("\\n", out);
		} else if (*s == '"' && quote) {
			fputs("\\\"", out);
		} else {
			fputc(*s, out);
		}
	}
}

/*
 * Failover: a sample has several labels, written (escaped) into one string, so that sorting
 * by family and then by that string keeps a relationship's samples together.
 */
struct fo_sample {
	char *family;
	const char *help;
	enum metric_type type;
	char *labels;		/* relationship="x",message="bndupd",direction="sent" */
	json_int_t value;
};

/* draft-ietf-dhc-failover-12 server-state codes; RECOVER-WAIT has none there, ISC uses 254. */
static const struct {
	const char *name;
	int code;
} fo_state_codes[] = {
	{ "unknown-state", 0 }, { "startup", 1 }, { "normal", 2 },
	{ "communications-interrupted", 3 }, { "partner-down", 4 },
	{ "potential-conflict", 5 }, { "recover", 6 }, { "paused", 7 }, { "shutdown", 8 },
	{ "recover-done", 9 }, { "resolution-interrupted", 10 }, { "conflict-done", 11 },
	{ "recover-wait", 254 },
};

static const struct {
	const char *key;	/* top-level member (gauges), or "messages."/"link-counters." key */
	const char *family;
	const char *help;
} fo_help[] = {
	{ "state", "leasewire_failover_state",
	  "Failover state of this server (draft-ietf-dhc-failover-12 code; recover-wait 254)." },
	{ "partner-state", "leasewire_failover_partner_state",
	  "Failover state of the partner as it last reported it (same codes)." },
	{ "communications-ok", "leasewire_failover_communications_ok",
	  "1 while the link is up and the partner's state is known." },
	{ "state-since", "leasewire_failover_state_since_seconds",
	  "Unix time this server entered its failover state." },
	{ "addresses", "leasewire_failover_addresses",
	  "Addresses covered by the relationship." },
	{ "unacked", "leasewire_failover_unacked",
	  "Bindings the partner has not acknowledged yet." },
	{ "queued", "leasewire_failover_queued",
	  "Bindings waiting to be sent to the partner." },
	{ "in-flight", "leasewire_failover_in_flight",
	  "Binding updates sent and waiting for their BNDACK." },
	{ "pending", "leasewire_failover_pending",
	  "Binding updates pending: queued and in flight (Windows' BndUpd pending)." },
	{ "counters.transitions-communications-interrupted", NULL,
	  "Entries into COMMUNICATIONS-INTERRUPTED." },
	{ "counters.transitions-partner-down", NULL, "Entries into PARTNER-DOWN." },
	{ "counters.transitions-recover", NULL, "Entries into RECOVER." },
	{ "counters.bndupd-queue-high", NULL,
	  "Times the outbound binding-update queue reached 90 % of its size." },
	{ "counters.bndupd-dropped", NULL,
	  "Partner binding updates refused: the inbound queue was full." },
	{ "counters.time-out-of-sync-episodes", NULL,
	  "Times the partner's clock went beyond 60 s of skew." },
	{ "counters.moves-no-room", NULL,
	  "Moves of a binding between workers handed back: the new writer had no room." },
	{ "messages.addresses-given", NULL,
	  "Addresses given to the partner in answer to its POOLREQ." },
	{ "link-counters.connects", NULL, "Connections made to the partner." },
	{ "link-counters.accepts", NULL, "Connections accepted from the partner." },
	{ "link-counters.refused-source", NULL,
	  "Connections closed: not from the partner's address." },
	{ "link-counters.refused-duplicate", NULL,
	  "Connections closed: another link to the partner was up." },
	{ "link-counters.startup-timeouts", NULL,
	  "Connections closed without a handshake." },
	{ "link-counters.messages-received", NULL,
	  "Failover messages received from the partner, of any type." },
	{ "link-counters.messages-sent", NULL,
	  "Failover messages sent to the partner, of any type." },
};

/* The HELP text of member @key of @group ("messages", "link-counters"), or NULL. */
static const char *fo_help_of(const char *group, const char *key)
{
	size_t g = strlen(group);

	for (size_t i = 0; i < sizeof(fo_help) / sizeof(fo_help[0]); i++) {
		const char *k = fo_help[i].key;

		if (strncmp(k, group, g) == 0 && k[g] == '.' && strcmp(k + g + 1, key) == 0) {
			return fo_help[i].help;
		}
	}
	return NULL;
}

/* Label values escape backslash, double quote and newline. */
static int buf_put_label(struct ctlc_buf *b, const char *name, const char *value)
{
	int ret = ctlc_buf_printf(b, "%s%s=\"", b->len != 0 ? "," : "", name);

	for (const char *c = value; *c != '\0' && ret == 0; c++) {
		ret = *c == '\\' ? ctlc_buf_printf(b, "\\\\") :
		      *c == '"' ? ctlc_buf_printf(b, "\\\"") :
		      *c == '\n' ? ctlc_buf_printf(b, "\\n") : ctlc_buf_printf(b, "%c", *c);
	}
	return ret == 0 ? ctlc_buf_printf(b, "\"") : ret;
}

/* A growable array of samples. */
struct fo_samples {
	struct fo_sample *s;
	size_t n;
	size_t cap;
};

/*
 * Add one sample of @family for relationship @rel (with message/direction labels when
 * @message is not NULL). Takes ownership of @family.
 */
static int fo_add(struct fo_samples *v, char *family, const char *help, enum metric_type type,
		  const char *rel, const char *message, const char *direction, json_int_t value)
{
	struct ctlc_buf labels = { 0 };
	struct fo_sample *s;
	int ret;

	if (family == NULL) {
		return -ENOMEM;
	}
	if (v->n == v->cap) {
		size_t cap = v->cap != 0 ? v->cap * 2 : 32;

		s = realloc(v->s, cap * sizeof(*s));
		if (s == NULL) {
			free(family);
			return -ENOMEM;
		}
		v->s = s;
		v->cap = cap;
	}
	ret = buf_put_label(&labels, "relationship", rel);
	if (ret == 0 && message != NULL) {
		ret = buf_put_label(&labels, "message", message);
	}
	if (ret == 0 && direction != NULL) {
		ret = buf_put_label(&labels, "direction", direction);
	}
	if (ret != 0) {
		free(labels.data);
		free(family);
		return -ENOMEM;
	}
	v->s[v->n++] = (struct fo_sample){
		.family = family, .help = help, .type = type, .labels = labels.data,
		.value = value,
	};
	return 0;
}

static int cmp_fo_sample(const void *a, const void *b)
{
	const struct fo_sample *x = a, *y = b;
	int c = strcmp(x->family, y->family);

	return c != 0 ? c : strcmp(x->labels, y->labels);
}

/* A gauge's value: an integer, a boolean (1/0) or a failover state's code. */
static bool fo_gauge_value(const char *key, json_t *v, json_int_t *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_boolean(v)) {
		*out = json_is_true(v) ? 1 : 0;
		return true;
	}
	if (json_is_string(v) && (strcmp(key, "state") == 0 ||
				  strcmp(key, "partner-state") == 0)) {
		for (size_t i = 0; i < sizeof(fo_state_codes) / sizeof(fo_state_codes[0]); i++) {
			if (strcmp(fo_state_codes[i].name, json_string_value(v)) == 0) {
				*out = fo_state_codes[i].code;
				return true;
			}
		}
	}
	return false;
}

/* The samples of one relationship. */
static int fo_collect(struct fo_samples *v, json_t *r)
{
	const char *rel = json_string_value(json_object_get(r, "name"));
	json_t *msgs = json_object_get(r, "messages");
	json_t *link = json_object_get(r, "link-counters");
	const char *key;
	json_t *x;
	int ret = 0;

	if (rel == NULL) {
		return 0;
	}
	for (size_t i = 0; i < sizeof(fo_help) / sizeof(fo_help[0]) && ret == 0; i++) {
		json_int_t n;

		if (fo_help[i].family != NULL &&
		    fo_gauge_value(fo_help[i].key, json_object_get(r, fo_help[i].key), &n)) {
			ret = fo_add(v, strdup(fo_help[i].family), fo_help[i].help, M_GAUGE, rel,
				     NULL, NULL, n);
		}
	}
	json_object_foreach(msgs, key, x) {
		size_t plen = ctlc_pair_prefix(key);
		char *type;

		if (ret != 0 || !json_is_integer(x)) {
			continue;
		}
		if (plen == 0) {
			ret = fo_add(v, metric_name("leasewire_failover_", key, strlen(key),
						    "_total"), fo_help_of("messages", key),
				     M_COUNTER, rel, NULL, NULL, json_integer_value(x));
			continue;
		}
		type = strndup(key, plen);
		ret = type == NULL ? -ENOMEM :
		      fo_add(v, strdup("leasewire_failover_messages_total"),
			     "Failover messages, by type and direction.", M_COUNTER, rel, type,
			     key[plen + 1] == 's' ? "sent" : "received", json_integer_value(x));
		free(type);
	}
	json_object_foreach(link, key, x) {
		if (ret == 0 && json_is_integer(x)) {
			ret = fo_add(v, metric_name("leasewire_failover_link_", key, strlen(key),
						    "_total"), fo_help_of("link-counters", key),
				     M_COUNTER, rel, NULL, NULL, json_integer_value(x));
		}
	}
	/* Windows' failover counters (transitions, queue, skew): leasewire_failover_KEY_total. */
	json_object_foreach(json_object_get(r, "counters"), key, x) {
		if (ret == 0 && json_is_integer(x)) {
			ret = fo_add(v, metric_name("leasewire_failover_", key, strlen(key),
						    "_total"), fo_help_of("counters", key),
				     M_COUNTER, rel, NULL, NULL, json_integer_value(x));
		}
	}
	return ret;
}

/* failover-status: gauges per relationship, counters per relationship and message. */
static int render_prometheus_failover(FILE *out, json_t *list)
{
	struct fo_samples v = { 0 };
	size_t i;
	json_t *r;
	int ret = 0;

	json_array_foreach(list, i, r) {
		if (!json_is_object(r)) {
			return -EINVAL;
		}
	}
	json_array_foreach(list, i, r) {
		ret = fo_collect(&v, r);
		if (ret != 0) {
			goto out;
		}
	}
	if (v.n > 0) {
		qsort(v.s, v.n, sizeof(*v.s), cmp_fo_sample);
	}
	for (i = 0; i < v.n; i++) {
		struct fo_sample *s = &v.s[i];

		if (i == 0 || strcmp(s->family, v.s[i - 1].family) != 0) {
			fprintf(out, "# HELP %s ", s->family);
			if (s->help != NULL) {
				fputs(s->help, out);
			} else {
				fprintf(out, "leasewired failover counter %s.", s->family);
			}
			fprintf(out, "\n# TYPE %s %s\n", s->family,
				s->type == M_COUNTER ? "counter" : "gauge");
		}
		fprintf(out, "%s{%s} %" JSON_INTEGER_FORMAT "\n", s->family, s->labels, s->value);
	}
out:
	for (i = 0; i < v.n; i++) {
		free(v.s[i].family);
		free(v.s[i].labels);
	}
	free(v.s);
	return ret;
}

int ctlc_render_prometheus(FILE *out, json_t *stats)
{
	struct sample *s = NULL;
	const char *key;
	size_t n = 0;
	json_t *v;
	int ret = 0;

	if (json_is_object(stats) && json_is_integer(json_object_get(stats, "result")) &&
	    json_object_get(stats, "arguments") != NULL) {
		stats = json_object_get(stats, "arguments");
	}
	if (json_is_array(stats)) {
		return render_prometheus_failover(out, stats);
	}
	if (!json_is_object(stats)) {
		return -EINVAL;
	}
	s = calloc(json_object_size(stats) + 1, sizeof(*s));
	if (s == NULL) {
		return -ENOMEM;
	}
	json_object_foreach(stats, key, v) {
		json_t *num = ctlc_stat_value(v);

		if (num == NULL) {
			continue;
		}
		ret = classify(key, num, &s[n]);
		n++;
		if (ret != 0) {
			goto out;
		}
	}
	qsort(s, n, sizeof(*s), cmp_sample);
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || strcmp(s[i].family, s[i - 1].family) != 0) {
			const char *help = help_of(&s[i]);

			fprintf(out, "# HELP %s ", s[i].family);
			if (help != NULL) {
				fputs(help, out);
			} else {
				fputs("leasewired statistic ", out);
				put_escaped(out, s[i].label != NULL ? s[i].family : s[i].stat,
					    false);
				fputs(".", out);
			}
			fprintf(out, "\n# TYPE %s %s\n", s[i].family,
				s[i].type == M_COUNTER ? "counter" : "gauge");
		}
		fputs(s[i].family, out);
		if (s[i].label != NULL) {
			fprintf(out, "{%s=\"", s[i].label);
			put_escaped(out, s[i].label_value, true);
			fputs("\"}", out);
		}
		if (json_is_integer(s[i].value)) {
			fprintf(out, " %" JSON_INTEGER_FORMAT "\n", json_integer_value(s[i].value));
		} else {
			fprintf(out, " %.17g\n", json_real_value(s[i].value));
		}
	}
out:
	for (size_t i = 0; i < n; i++) {
		free(s[i].family);
		free(s[i].label_value);
	}
	free(s);
	return ret;
}

