/*
 * ctlc_argv: the command line (contract in ctlc_argv.h).
 *
 * One designated-initializer table maps the operator's words to a protocol command of
 * common/ctl_proto.h: the words, the synopsis shown in errors and --help, the positional
 * arguments, a bitmask of the options the command accepts and a builder that turns the
 * checked words into the "arguments" object (with the protocol table's key constants).
 * Options and positional arguments may come in any order; "--" ends the options. Every
 * message names the command first ("lease add: ...") so that a script's log says which call
 * was wrong. The help lines and the bash completion script are printed from the same rows.
 */
#include "ctlc_argv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_proto.h"
#include "fmt.h"
#include "ctlc_impl.h"
#include "lw_attr.h"
#include "ctlc_transport.h"	/* CTLC_PAGE_LIMIT */

#define CID_MAX		255		/* option 61 length limit; the server has its own */
#define ECHO_MAX	"64"		/* longest echo of an operator's word in a message */
#define MAX_POS		24		/* positional arguments of the widest command (failover
					 * add/set KEY=VALUE..., failover scope ... SCOPE...) */
#define REL_NAME_MAX	63		/* failover relationship names (DP_NAME_MAX - 1) */


enum opt_id {
	O_MAC,
	O_CLIENT_ID,
	O_LIFETIME,
	O_STATE,
	O_FORCE_CREATE,
	O_SCOPE,
	O_FORCE,
	O_PROMETHEUS,
	O_ALL,
	O_SERVER,
	O_RELATIONSHIP,
	O_HOSTNAME,
	O_POLICY,
	O__COUNT
};

#define OB(o)	(1u << (o))

static const struct opt_def {
	const char *name;	/* long name, without "--" */
	char short_name;	/* 0: none */
	bool has_arg;
} opt_defs[O__COUNT] = {
	[O_MAC] = { .name = "mac", .has_arg = true },
	[O_CLIENT_ID] = { .name = "client-id", .has_arg = true },
	[O_LIFETIME] = { .name = "lifetime", .has_arg = true },
	[O_STATE] = { .name = "state", .has_arg = true },
	[O_FORCE_CREATE] = { .name = "force-create" },
	[O_SCOPE] = { .name = "scope", .has_arg = true },
	[O_FORCE] = { .name = "force" },
	[O_SERVER] = { .name = "server" },
	[O_RELATIONSHIP] = { .name = "relationship", .has_arg = true },
	[O_HOSTNAME] = { .name = "hostname", .has_arg = true },
	[O_POLICY] = { .name = "policy", .has_arg = true },
	[O_PROMETHEUS] = { .name = "prometheus" },
	[O_ALL] = { .name = "all", .short_name = 'a' },
};

/* The checked words of one command line. */
struct args {
	const char *pos[MAX_POS];
	int npos;
	const char *opt[O__COUNT];	/* the value; "" for a flag; NULL when absent */
	json_t *scopes;			/* every --scope of a command that allows several */
};

struct cmd_def;

/*
 * Fills *arguments (an empty object on entry; may be replaced by any JSON value or NULL)
 * and may change *command. An empty object is left out of the request unless the command
 * has CMD_KEEP_ARGS.
 */
typedef int (*build_fn)(const struct cmd_def *d, struct args *a, const char **command,
			json_t **arguments, char *err, size_t errlen);

#define CMD_KEEP_ARGS	(1u << 16)	/* send "arguments" even when it is an empty object */

#define CMD_NONE	CTL_CMD__COUNT	/* a row that sends no protocol command of its own */

struct cmd_def {
	const char *word;	/* first word */
	const char *sub;	/* second word, or NULL */
	const char *synopsis;
	const char *help;	/* NULL: the protocol command's help line (ctl_proto) */
	enum ctl_cmd_id cmd;	/* the protocol command, or CMD_NONE */
	const char *pos[MAX_POS];	/* names of the positional arguments, for messages */
	int min_pos;
	int max_pos;
	unsigned int opts;	/* OB(O_*) the command accepts */
	unsigned int repeat;	/* OB(O_*) that may be given more than once */
	unsigned int flags;	/* CTLC_F_* for the caller, CMD_* for the builder */
	build_fn build;
};

_printf_(4, 5)
static int usage_err(const struct cmd_def *d, char *err, size_t errlen, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d->sub != NULL) {
		ctlc_errf(err, errlen, "%s %s: %s", d->word, d->sub, msg);
	} else {
		ctlc_errf(err, errlen, "%s: %s", d->word, msg);
	}
	return -EINVAL;
}

static int set_str(json_t *o, const char *key, const char *value)
{
	return json_object_set_new(o, key, json_string(value)) != 0 ? -ENOMEM : 0;
}

static int nomem(char *err, size_t errlen)
{
	ctlc_errf(err, errlen, "out of memory");
	return -ENOMEM;
}

/*
 * Read a JSON object from @path ("-": standard input). Duplicate keys are refused, as the
 * server refuses them.
 */
static int load_json_file(const char *path, json_t **out, char *err, size_t errlen)
{
	bool is_stdin = strcmp(path, "-") == 0;
	const char *name = is_stdin ? "<stdin>" : path;
	json_error_t je;
	FILE *f = is_stdin ? stdin : fopen(path, "re");
	json_t *v;

	*out = NULL;
	if (f == NULL) {
		int e = errno;

		ctlc_errf(err, errlen, "cannot read %s: %s", path, strerror(e));
		return -e;
	}
	v = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
	if (v == NULL && ferror(f)) {
		int e = errno != 0 ? errno : EIO;

		ctlc_errf(err, errlen, "cannot read %s: %s", name, strerror(e));
		if (!is_stdin) {
			fclose(f);
		}
		return -e;
	}
	if (!is_stdin) {
		fclose(f);
	}
	if (v == NULL) {
		ctlc_errf(err, errlen, "%s:%d:%d: invalid JSON: %s", name, je.line, je.column,
			  je.text);
		return -EBADMSG;
	}
	if (!json_is_object(v)) {
		ctlc_errf(err, errlen, "%s: expected a JSON object ({...})", name);
		json_decref(v);
		return -EBADMSG;
	}
	*out = v;
	return 0;
}

static int check_name(const struct cmd_def *d, const char *value, const char *what, char *err,
		      size_t errlen)
{
	if (value[0] == '\0') {
		return usage_err(d, err, errlen, "%s must not be empty", what);
	}
	return 0;
}

/* @p value, checked as a name (what: "NAME", "--scope", ...), as @p key of @p o. */
static int put_name(const struct cmd_def *d, json_t *o, const char *key, const char *value,
		    const char *what, char *err, size_t errlen)
{
	int ret = check_name(d, value, what, err, errlen);

	if (ret != 0) {
		return ret;
	}
	return set_str(o, key, value) != 0 ? nomem(err, errlen) : 0;
}

static int put_mac(const struct cmd_def *d, json_t *o, const char *w, char *err, size_t errlen)
{
	uint8_t b[6];
	char s[3 * 6];
	bool sep;

	if (ctlc_parse_hex(w, b, sizeof(b), &sep) != 6 || !sep) {
		return usage_err(d, err, errlen, "--mac \"%." ECHO_MAX "s\" is not a MAC address "
				 "(aa:bb:cc:dd:ee:ff)", w);
	}
	lw_hex_fmt(s, sizeof(s), b, 6, ':');
	return set_str(o, CTL_KEY_HW_ADDRESS, s) != 0 ? nomem(err, errlen) : 0;
}

static int put_client_id(const struct cmd_def *d, json_t *o, const char *w, char *err,
			 size_t errlen)
{
	uint8_t b[CID_MAX];
	char s[3 * CID_MAX];
	size_t n;
	bool sep;

	n = ctlc_parse_hex(w, b, sizeof(b), &sep);
	if (n == 0) {
		return usage_err(d, err, errlen, "--client-id \"%." ECHO_MAX "s\" is not hex "
				 "bytes (01:02:03 or 010203)", w);
	}
	lw_hex_fmt(s, sizeof(s), b, n, ':');
	return set_str(o, CTL_KEY_CLIENT_ID, s) != 0 ? nomem(err, errlen) : 0;
}

/*
 * The client key of show/del commands: an IPv4 address, else six separated hex bytes (a MAC
 * address), else any hex bytes (a client id); --mac and --client-id say it explicitly.
 */
static int put_key(const struct cmd_def *d, struct args *a, const char *w, json_t *o,
		   char *err, size_t errlen)
{
	int given = (w != NULL) + (a->opt[O_MAC] != NULL) + (a->opt[O_CLIENT_ID] != NULL);
	uint8_t b[CID_MAX];
	char s[3 * CID_MAX];
	size_t n;
	bool sep;

	if (given == 0) {
		return usage_err(d, err, errlen, "missing ADDRESS, MAC or CLIENT-ID");
	}
	if (given > 1) {
		return usage_err(d, err, errlen, "give one of ADDRESS|MAC|CLIENT-ID, --mac and "
				 "--client-id");
	}
	if (a->opt[O_MAC] != NULL) {
		return put_mac(d, o, a->opt[O_MAC], err, errlen);
	}
	if (a->opt[O_CLIENT_ID] != NULL) {
		return put_client_id(d, o, a->opt[O_CLIENT_ID], err, errlen);
	}
	if (ctlc_parse_ipv4(w, NULL)) {
		return set_str(o, CTL_KEY_IP_ADDRESS, w) != 0 ? nomem(err, errlen) : 0;
	}
	n = ctlc_parse_hex(w, b, sizeof(b), &sep);
	if (n == 0) {
		return usage_err(d, err, errlen, "\"%." ECHO_MAX "s\" is not an IPv4 address, a "
				 "MAC address or a client id", w);
	}
	lw_hex_fmt(s, sizeof(s), b, n, ':');
	if (n == 6 && sep) {
		return set_str(o, CTL_KEY_HW_ADDRESS, s) != 0 ? nomem(err, errlen) : 0;
	}
	return set_str(o, CTL_KEY_CLIENT_ID, s) != 0 ? nomem(err, errlen) : 0;
}

static int b_plain(const struct cmd_def *d, struct args *a, const char **command,
		   json_t **arguments, char *err, size_t errlen)
{
	(void)d;
	(void)a;
	(void)command;
	(void)arguments;
	(void)err;
	(void)errlen;
	return 0;
}

static int b_config_file(const struct cmd_def *d, struct args *a, const char **command,
			 json_t **arguments, char *err, size_t errlen)
{
	(void)d;
	(void)command;
	json_decref(*arguments);
	return load_json_file(a->pos[0], arguments, err, errlen);
}

/* The server writes the file: a relative name is made absolute here, where the user is. */
static int b_config_write(const struct cmd_def *d, struct args *a, const char **command,
			  json_t **arguments, char *err, size_t errlen)
{
	const char *f = a->pos[0];
	struct ctlc_buf path = { 0 };
	char *cwd;
	int ret;

	(void)command;
	if (f == NULL) {
		return 0;
	}
	ret = check_name(d, f, "FILE", err, errlen);
	if (ret != 0) {
		return ret;
	}
	if (f[0] == '/') {
		return set_str(*arguments, CTL_KEY_FILENAME, f) != 0 ? nomem(err, errlen) : 0;
	}
	cwd = getcwd(NULL, 0);
	if (cwd == NULL) {
		ret = -errno;
		ctlc_errf(err, errlen, "cannot make %s absolute: %s", f, strerror(errno));
		return ret;
	}
	ret = ctlc_buf_printf(&path, "%s%s%s", cwd, strcmp(cwd, "/") == 0 ? "" : "/", f);
	if (ret == 0) {
		ret = set_str(*arguments, CTL_KEY_FILENAME, path.data);
	}
	free(cwd);
	free(path.data);
	return ret != 0 ? nomem(err, errlen) : 0;
}

static int b_lease_key(const struct cmd_def *d, struct args *a, const char **command,
		       json_t **arguments, char *err, size_t errlen)
{
	(void)command;
	return put_key(d, a, a->pos[0], *arguments, err, errlen);
}

static int b_lease_list(const struct cmd_def *d, struct args *a, const char **command,
			json_t **arguments, char *err, size_t errlen)
{
	(void)d;
	(void)command;
	if (set_str(*arguments, CTL_KEY_FROM, "start") != 0 ||
	    json_object_set_new(*arguments, CTL_KEY_LIMIT, json_integer(CTLC_PAGE_LIMIT)) != 0 ||
	    (a->scopes != NULL && json_object_set(*arguments, CTL_KEY_SCOPES, a->scopes) != 0) ||
	    (a->opt[O_HOSTNAME] != NULL &&
	     set_str(*arguments, CTL_KEY_HOSTNAME, a->opt[O_HOSTNAME]) != 0) ||
	    (a->opt[O_POLICY] != NULL &&
	     set_str(*arguments, CTL_KEY_POLICY, a->opt[O_POLICY]) != 0)) {
		return nomem(err, errlen);
	}
	return 0;
}

static const char *const lease_states[] = {
	"active", "offered", "expired", "released", "abandoned", "reset", "backup", NULL
};

static int b_lease_set(const struct cmd_def *d, struct args *a, const char **command,
		       json_t **arguments, char *err, size_t errlen)
{
	const char *addr = a->pos[0];
	json_t *o = *arguments;
	int ret;

	(void)command;
	if (!ctlc_parse_ipv4(addr, NULL)) {
		return usage_err(d, err, errlen, "ADDRESS \"%." ECHO_MAX "s\" is not an IPv4 "
				 "address", addr);
	}
	if (set_str(o, CTL_KEY_IP_ADDRESS, addr) != 0) {
		return nomem(err, errlen);
	}
	if (a->opt[O_MAC] == NULL && a->opt[O_CLIENT_ID] == NULL) {
		return usage_err(d, err, errlen, "missing --mac or --client-id");
	}
	if (a->opt[O_MAC] != NULL && a->opt[O_CLIENT_ID] != NULL) {
		return usage_err(d, err, errlen, "--mac and --client-id are mutually exclusive");
	}
	ret = a->opt[O_MAC] != NULL ? put_mac(d, o, a->opt[O_MAC], err, errlen) :
				      put_client_id(d, o, a->opt[O_CLIENT_ID], err, errlen);
	if (ret != 0) {
		return ret;
	}
	if (a->opt[O_LIFETIME] != NULL) {
		const char *s = a->opt[O_LIFETIME];
		unsigned long long v = 0;
		bool ok = s[0] != '\0';

		if (strcmp(s, "infinite") == 0) {
			v = (unsigned long long)INFINITE_LFT;
		} else {
			for (const char *p = s; *p != '\0' && ok; p++) {
				ok = *p >= '0' && *p <= '9' && v <= (unsigned long long)INFINITE_LFT;
				v = v * 10 + (unsigned long long)(*p - '0');
			}
			ok = ok && v <= (unsigned long long)INFINITE_LFT;
		}
		if (!ok) {
			return usage_err(d, err, errlen, "--lifetime \"%." ECHO_MAX "s\" is not a "
					 "number of seconds (0..4294967295 or infinite)", s);
		}
		if (json_object_set_new(o, CTL_KEY_VALID_LFT, json_integer((json_int_t)v)) != 0) {
			return nomem(err, errlen);
		}
	}
	if (a->opt[O_STATE] != NULL) {
		size_t i = 0;

		while (lease_states[i] != NULL && strcmp(lease_states[i], a->opt[O_STATE]) != 0) {
			i++;
		}
		if (lease_states[i] == NULL) {
			return usage_err(d, err, errlen, "--state \"%." ECHO_MAX "s\" is not one of "
					 "active, offered, expired, released, abandoned, reset, "
					 "backup", a->opt[O_STATE]);
		}
		if (set_str(o, CTL_KEY_STATE, lease_states[i]) != 0) {
			return nomem(err, errlen);
		}
	}
	if (a->opt[O_FORCE_CREATE] != NULL &&
	    json_object_set_new(o, CTL_KEY_FORCE_CREATE, json_true()) != 0) {
		return nomem(err, errlen);
	}
	return 0;
}

static int b_lease_wipe(const struct cmd_def *d, struct args *a, const char **command,
			json_t **arguments, char *err, size_t errlen)
{
	(void)command;
	if (a->opt[O_SCOPE] == NULL) {
		return 0;
	}
	return put_name(d, *arguments, CTL_KEY_SCOPE, a->opt[O_SCOPE], "--scope", err, errlen);
}

/* scope show/del/activate/deactivate NAME */
static int b_name(const struct cmd_def *d, struct args *a, const char **command,
		  json_t **arguments, char *err, size_t errlen)
{
	int ret;

	(void)command;
	ret = check_name(d, a->pos[0], "NAME", err, errlen);
	if (ret != 0) {
		return ret;
	}
	if (set_str(*arguments, CTL_KEY_NAME, a->pos[0]) != 0 ||
	    (a->opt[O_FORCE] != NULL &&
	     json_object_set_new(*arguments, CTL_KEY_FORCE, json_true()) != 0)) {
		return nomem(err, errlen);
	}
	return 0;
}

static int set_file(json_t *o, const char *key, const char *path, char *err, size_t errlen)
{
	json_t *v;
	int ret;

	ret = load_json_file(path, &v, err, errlen);
	if (ret != 0) {
		return ret;
	}
	return json_object_set_new(o, key, v) != 0 ? nomem(err, errlen) : 0;
}

static int b_scope_add(const struct cmd_def *d, struct args *a, const char **command,
		       json_t **arguments, char *err, size_t errlen)
{
	(void)d;
	(void)command;
	return set_file(*arguments, CTL_KEY_SCOPE, a->pos[0], err, errlen);
}

static int b_scope_update(const struct cmd_def *d, struct args *a, const char **command,
			  json_t **arguments, char *err, size_t errlen)
{
	int ret;

	ret = b_name(d, a, command, arguments, err, errlen);
	if (ret != 0) {
		return ret;
	}
	return set_file(*arguments, CTL_KEY_SCOPE, a->pos[1], err, errlen);
}

/* The first positional argument is a scope name: "scope": SCOPE. */
static int put_scope(const struct cmd_def *d, struct args *a, json_t *o, char *err,
		     size_t errlen)
{
	return put_name(d, o, CTL_KEY_SCOPE, a->pos[0], "SCOPE", err, errlen);
}

static int b_resv_list(const struct cmd_def *d, struct args *a, const char **command,
		       json_t **arguments, char *err, size_t errlen)
{
	(void)command;
	return put_scope(d, a, *arguments, err, errlen);
}

static int b_resv_add(const struct cmd_def *d, struct args *a, const char **command,
		      json_t **arguments, char *err, size_t errlen)
{
	int ret;

	(void)command;
	ret = put_scope(d, a, *arguments, err, errlen);
	if (ret != 0) {
		return ret;
	}
	return set_file(*arguments, CTL_KEY_RESERVATION, a->pos[1], err, errlen);
}

/* policy list|show|add|update|del|reorder: NAME, FILE, ORDER by position, --scope. */
static int b_policy(const struct cmd_def *d, struct args *a, const char **command,
		    json_t **arguments, char *err, size_t errlen)
{
	json_t *o = *arguments;
	size_t file = d->cmd == CTL_CMD_POLICY_ADD ? 0 : 1;
	int ret = 0;

	(void)command;
	if (a->opt[O_SCOPE] != NULL) {
		ret = put_name(d, o, CTL_KEY_SCOPE, a->opt[O_SCOPE], "--scope", err, errlen);
	}
	if (ret == 0 && d->cmd != CTL_CMD_POLICY_LIST && d->cmd != CTL_CMD_POLICY_ADD) {
		ret = put_name(d, o, CTL_KEY_NAME, a->pos[0], "NAME", err, errlen);
	}
	if (ret == 0 && (d->cmd == CTL_CMD_POLICY_ADD || d->cmd == CTL_CMD_POLICY_UPDATE)) {
		ret = set_file(o, CTL_KEY_POLICY, a->pos[file], err, errlen);
	}
	if (ret == 0 && d->cmd == CTL_CMD_POLICY_REORDER) {
		char *end = NULL;
		unsigned long v = strtoul(a->pos[1], &end, 10);

		if (end == a->pos[1] || *end != '\0' || v < 1 || v > 100000) {
			return usage_err(d, err, errlen, "ORDER \"%." ECHO_MAX "s\" is not a "
					 "processing order 1..100000", a->pos[1]);
		}
		if (json_object_set_new(o, CTL_KEY_PROCESSING_ORDER,
					json_integer((json_int_t)v)) != 0) {
			return nomem(err, errlen);
		}
	}
	return ret;
}

/* Positional arguments from @p first on, each a scope name, appended to array @p l. */
static int put_scope_names(const struct cmd_def *d, const struct args *a, int first, json_t *l,
			   char *err, size_t errlen)
{
	for (int i = first; i < a->npos; i++) {
		int ret = check_name(d, a->pos[i], "SCOPE", err, errlen);

		if (ret != 0) {
			return ret;
		}
		if (json_array_append_new(l, json_string(a->pos[i])) != 0) {
			return nomem(err, errlen);
		}
	}
	return 0;
}

/* superscope show [NAME] | add NAME SCOPE... | del NAME [SCOPE...] */
static int b_superscope(const struct cmd_def *d, struct args *a, const char **command,
			json_t **arguments, char *err, size_t errlen)
{
	json_t *l;
	int ret;

	(void)command;
	if (a->npos == 0) {
		return 0;
	}
	ret = put_name(d, *arguments, CTL_KEY_NAME, a->pos[0], "NAME", err, errlen);
	if (ret != 0 || a->npos == 1) {
		return ret;
	}
	l = json_array();
	if (l == NULL || json_object_set_new(*arguments, CTL_KEY_SCOPES, l) != 0) {
		return nomem(err, errlen);
	}
	return put_scope_names(d, a, 1, l, err, errlen);
}

/* mac-filter add|del allow|deny PATTERN */
static int b_mac_filter(const struct cmd_def *d, struct args *a, const char **command,
			json_t **arguments, char *err, size_t errlen)
{
	(void)command;
	if (strcmp(a->pos[0], "allow") != 0 && strcmp(a->pos[0], "deny") != 0) {
		return usage_err(d, err, errlen, "\"%." ECHO_MAX "s\" is neither allow nor deny",
				 a->pos[0]);
	}
	if (set_str(*arguments, CTL_KEY_LIST, a->pos[0]) != 0 ||
	    set_str(*arguments, CTL_KEY_PATTERN, a->pos[1]) != 0) {
		return nomem(err, errlen);
	}
	return 0;
}

static int b_resv_del(const struct cmd_def *d, struct args *a, const char **command,
		      json_t **arguments, char *err, size_t errlen)
{
	int ret;

	(void)command;
	ret = put_scope(d, a, *arguments, err, errlen);
	if (ret != 0) {
		return ret;
	}
	return put_key(d, a, a->pos[1], *arguments, err, errlen);
}

/*
 * RANGE: "a", "a-b" or "a - b", as one word or as the three words a shell makes of
 * `198.18.0.10 - 198.18.0.20`. Sent as "a" or "a - b"; whether a <= b is the server's to say.
 */
static int b_exclusion(const struct cmd_def *d, struct args *a, const char **command,
		       json_t **arguments, char *err, size_t errlen)
{
	char joined[128] = "";
	char first[64], last[64];
	char range[140];
	size_t len = 0;
	char *dash;
	int ret;

	(void)command;
	ret = put_scope(d, a, *arguments, err, errlen);
	if (ret != 0) {
		return ret;
	}
	for (int i = 1; i < a->npos; i++) {
		for (const char *p = a->pos[i]; *p != '\0'; p++) {
			if (*p == ' ' || *p == '\t') {
				continue;
			}
			if (len + 1 >= sizeof(joined)) {
				goto bad;
			}
			joined[len++] = *p;
		}
	}
	joined[len] = '\0';
	dash = strchr(joined, '-');
	if (dash == NULL) {
		if (!ctlc_parse_ipv4(joined, NULL)) {
			goto bad;
		}
		snprintf(range, sizeof(range), "%s", joined);
	} else {
		*dash = '\0';
		if (strlen(joined) >= sizeof(first) || strlen(dash + 1) >= sizeof(last)) {
			goto bad;
		}
		strcpy(first, joined);
		strcpy(last, dash + 1);
		*dash = '-';
		if (!ctlc_parse_ipv4(first, NULL) || !ctlc_parse_ipv4(last, NULL)) {
			goto bad;
		}
		snprintf(range, sizeof(range), "%s - %s", first, last);
	}
	return set_str(*arguments, CTL_KEY_RANGE, range) != 0 ? nomem(err, errlen) : 0;
bad:
	{
		char shown[128] = "";
		size_t off = 0;

		for (int i = 1; i < a->npos && off < sizeof(shown); i++) {
			off += (size_t)snprintf(shown + off, sizeof(shown) - off, "%s%s",
						i > 1 ? " " : "", a->pos[i]);
		}
		return usage_err(d, err, errlen, "RANGE \"%." ECHO_MAX "s\" is not an IPv4 "
				 "address or range (a.b.c.d or a.b.c.d - e.f.g.h)", shown);
	}
}

/* An optional NAME argument, checked, into arguments.name (stats, stats reset). */
static int optional_name(const struct cmd_def *d, struct args *a, json_t **arguments, char *err,
			 size_t errlen)
{
	if (a->pos[0] == NULL) {
		return 0;
	}
	return put_name(d, *arguments, CTL_KEY_NAME, a->pos[0], "NAME", err, errlen);
}

static int b_stats(const struct cmd_def *d, struct args *a, const char **command,
		   json_t **arguments, char *err, size_t errlen)
{
	if (a->pos[0] != NULL) {
		/* one statistic instead of all */
		*command = ctl_proto_cmds[CTL_CMD_STATISTIC_GET].name;
	}
	return optional_name(d, a, arguments, err, errlen);
}

static int b_stats_reset(const struct cmd_def *d, struct args *a, const char **command,
			 json_t **arguments, char *err, size_t errlen)
{
	(void)command;
	return optional_name(d, a, arguments, err, errlen);
}

/*
 * A failover relationship's name, as the server's configuration allows it (config.c: letters,
 * digits, '.', '-' and '_', at most REL_NAME_MAX bytes), so that a typo is caught here.
 */
static int check_relationship(const struct cmd_def *d, const char *value, char *err,
			      size_t errlen)
{
	int ret;

	ret = check_name(d, value, "NAME", err, errlen);
	if (ret != 0) {
		return ret;
	}
	for (const char *c = value; *c != '\0'; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' || *c == '_')) {
			return usage_err(d, err, errlen, "NAME \"%." ECHO_MAX "s\" may only "
					 "contain letters, digits, '.', '-' and '_'", value);
		}
	}
	if (strlen(value) > REL_NAME_MAX) {
		return usage_err(d, err, errlen, "NAME is longer than %d characters",
				 REL_NAME_MAX);
	}
	return 0;
}

/* failover status [NAME]; failover partner-down/shutdown/recover/resync NAME */
static int b_failover(const struct cmd_def *d, struct args *a, const char **command,
		      json_t **arguments, char *err, size_t errlen)
{
	int ret;

	(void)command;
	if (a->pos[0] == NULL) {
		return 0;	/* status of every relationship; the others have min_pos 1 */
	}
	ret = check_relationship(d, a->pos[0], err, errlen);
	if (ret != 0) {
		return ret;
	}
	return set_str(*arguments, CTL_KEY_NAME, a->pos[0]) != 0 ? nomem(err, errlen) : 0;
}

/* failover replicate --server | --relationship NAME | --scope SCOPE */
static int b_fo_replicate(const struct cmd_def *d, struct args *a, const char **command,
			  json_t **arguments, char *err, size_t errlen)
{
	int n = (a->opt[O_SERVER] != NULL) + (a->opt[O_RELATIONSHIP] != NULL) +
		(a->opt[O_SCOPE] != NULL);
	int ret;

	(void)command;
	if (n != 1) {
		return usage_err(d, err, errlen, "give exactly one of --server, --relationship "
				 "NAME, --scope SCOPE");
	}
	if (a->opt[O_SERVER] != NULL) {
		return json_object_set_new(*arguments, CTL_KEY_SERVER, json_true()) != 0 ?
		       nomem(err, errlen) : 0;
	}
	if (a->opt[O_RELATIONSHIP] != NULL) {
		ret = check_relationship(d, a->opt[O_RELATIONSHIP], err, errlen);
		if (ret != 0) {
			return ret;
		}
		return set_str(*arguments, CTL_KEY_RELATIONSHIP, a->opt[O_RELATIONSHIP]) != 0 ?
		       nomem(err, errlen) : 0;
	}
	return put_name(d, *arguments, CTL_KEY_SCOPE, a->opt[O_SCOPE], "--scope", err, errlen);
}

/* KEY=VALUE words into @p o: a number, true/false, or a string (the server checks the key
 * against its configuration schema). */
static int put_settings(const struct cmd_def *d, struct args *a, int from, json_t *o,
			char *err, size_t errlen)
{
	for (int i = from; i < a->npos; i++) {
		const char *w = a->pos[i], *eq = strchr(w, '=');
		char key[64], *end;
		json_t *v;
		long n;

		if (eq == NULL || eq == w || (size_t)(eq - w) >= sizeof(key)) {
			return usage_err(d, err, errlen, "\"%." ECHO_MAX "s\" is not KEY=VALUE", w);
		}
		snprintf(key, sizeof(key), "%.*s", (int)(eq - w), w);
		n = strtol(eq + 1, &end, 10);
		if (eq[1] != '\0' && *end == '\0') {
			v = json_integer(n);
		} else if (strcmp(eq + 1, "true") == 0 || strcmp(eq + 1, "false") == 0) {
			v = json_boolean(eq[1] == 't');
		} else {
			v = json_string(eq + 1);
		}
		if (v == NULL || json_object_set_new(o, key, v) != 0) {
			return nomem(err, errlen);
		}
	}
	return 0;
}

/* failover add KEY=VALUE... [--scope SCOPE]... */
static int b_fo_add(const struct cmd_def *d, struct args *a, const char **command,
		    json_t **arguments, char *err, size_t errlen)
{
	json_t *rel = json_object();
	int ret;

	(void)command;
	if (rel == NULL || json_object_set_new(*arguments, CTL_KEY_RELATIONSHIP, rel) != 0) {
		return nomem(err, errlen);
	}
	ret = put_settings(d, a, 0, rel, err, errlen);
	if (ret == 0 && a->scopes != NULL &&
	    json_object_set(rel, "scopes", a->scopes) != 0) {
		return nomem(err, errlen);
	}
	return ret;
}

/* failover set NAME KEY=VALUE... */
static int b_fo_set(const struct cmd_def *d, struct args *a, const char **command,
		    json_t **arguments, char *err, size_t errlen)
{
	json_t *set = json_object();
	int ret = check_relationship(d, a->pos[0], err, errlen);

	(void)command;
	if (ret != 0) {
		json_decref(set);
		return ret;
	}
	if (set == NULL || json_object_set_new(*arguments, CTL_KEY_SETTINGS, set) != 0 ||
	    set_str(*arguments, CTL_KEY_NAME, a->pos[0]) != 0) {
		return nomem(err, errlen);
	}
	return put_settings(d, a, 1, set, err, errlen);
}

/* failover scope add|remove NAME SCOPE... */
static int b_fo_scope(const struct cmd_def *d, struct args *a, const char **command,
		      json_t **arguments, char *err, size_t errlen)
{
	json_t *l = json_array();
	int ret;

	if (strcmp(a->pos[0], "add") == 0) {
		*command = ctl_proto_cmds[CTL_CMD_FAILOVER_SCOPE_ADD].name;
	} else if (strcmp(a->pos[0], "remove") == 0) {
		*command = ctl_proto_cmds[CTL_CMD_FAILOVER_SCOPE_REMOVE].name;
	} else {
		json_decref(l);
		return usage_err(d, err, errlen, "\"%." ECHO_MAX "s\": add or remove", a->pos[0]);
	}
	ret = check_relationship(d, a->pos[1], err, errlen);
	if (ret != 0 || l == NULL) {
		json_decref(l);
		return ret != 0 ? ret : nomem(err, errlen);
	}
	if (json_object_set_new(*arguments, CTL_KEY_SCOPES, l) != 0 ||
	    set_str(*arguments, CTL_KEY_NAME, a->pos[1]) != 0) {
		return nomem(err, errlen);
	}
	return put_scope_names(d, a, 2, l, err, errlen);
}

/* raw COMMAND [JSON-ARGUMENTS|-]: anything, unchecked, so that the server's checks can be tried. */
static int b_raw(const struct cmd_def *d, struct args *a, const char **command,
		 json_t **arguments, char *err, size_t errlen)
{
	json_error_t je;
	int ret;

	ret = check_name(d, a->pos[0], "COMMAND", err, errlen);
	if (ret != 0) {
		return ret;
	}
	*command = a->pos[0];
	json_decref(*arguments);
	*arguments = NULL;
	if (a->pos[1] == NULL) {
		return 0;
	}
	if (strcmp(a->pos[1], "-") == 0) {
		*arguments = json_loadf(stdin, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
		if (*arguments == NULL) {
			ctlc_errf(err, errlen, "<stdin>:%d:%d: invalid JSON: %s", je.line,
				  je.column, je.text);
			return -EBADMSG;
		}
		return 0;
	}
	*arguments = json_loads(a->pos[1], JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (*arguments == NULL) {
		return usage_err(d, err, errlen, "JSON-ARGUMENTS: column %d: %s", je.column,
				 je.text);
	}
	return 0;
}

#define KEY_OPTS	(OB(O_MAC) | OB(O_CLIENT_ID))
#define SET_OPTS	(KEY_OPTS | OB(O_LIFETIME) | OB(O_STATE))

static const struct cmd_def cmd_defs[] = {
	{
		.word = "status", .synopsis = "status", .cmd = CTL_CMD_STATUS_GET, .build = b_plain,
	}, {
		.word = "version", .synopsis = "version", .cmd = CTL_CMD_VERSION_GET,
		.build = b_plain,
	}, {
		.word = "commands", .synopsis = "commands", .cmd = CTL_CMD_LIST_COMMANDS,
		.build = b_plain,
	}, {
		.word = "config", .sub = "get", .synopsis = "config get",
		.cmd = CTL_CMD_CONFIG_GET, .build = b_plain,
	}, {
		.word = "config", .sub = "test", .synopsis = "config test FILE|-",
		.cmd = CTL_CMD_CONFIG_TEST, .pos = { "FILE" }, .min_pos = 1, .max_pos = 1,
		.flags = CMD_KEEP_ARGS, .build = b_config_file,
	}, {
		.word = "config", .sub = "set", .synopsis = "config set FILE|-",
		.cmd = CTL_CMD_CONFIG_SET, .pos = { "FILE" }, .min_pos = 1, .max_pos = 1,
		.flags = CMD_KEEP_ARGS, .build = b_config_file,
	}, {
		.word = "config", .sub = "reload", .synopsis = "config reload",
		.cmd = CTL_CMD_CONFIG_RELOAD, .build = b_plain,
	}, {
		.word = "config", .sub = "write", .synopsis = "config write [FILE]",
		.cmd = CTL_CMD_CONFIG_WRITE, .pos = { "FILE" }, .max_pos = 1,
		.build = b_config_write,
	}, {
		.word = "shutdown", .synopsis = "shutdown", .cmd = CTL_CMD_SHUTDOWN,
		.build = b_plain,
	}, {
		.word = "lease", .sub = "show",
		.synopsis = "lease show ADDRESS|MAC|CLIENT-ID | --mac MAC | --client-id ID",
		.cmd = CTL_CMD_LEASE4_GET, .pos = { "ADDRESS" }, .max_pos = 1, .opts = KEY_OPTS,
		.build = b_lease_key,
	}, {
		.word = "lease", .sub = "list",
		.synopsis = "lease list [--scope NAME]... [--hostname NAME] [--policy NAME]",
		.cmd = CTL_CMD_LEASE4_GET_PAGE, .opts = OB(O_SCOPE) | OB(O_HOSTNAME) | OB(O_POLICY),
		.repeat = OB(O_SCOPE),
		.flags = CTLC_F_PAGED, .build = b_lease_list,
	}, {
		.word = "lease", .sub = "add",
		.synopsis = "lease add ADDRESS (--mac MAC | --client-id ID) [--lifetime SECONDS] "
			    "[--state STATE]",
		.cmd = CTL_CMD_LEASE4_ADD, .pos = { "ADDRESS" }, .min_pos = 1, .max_pos = 1,
		.opts = SET_OPTS, .build = b_lease_set,
	}, {
		.word = "lease", .sub = "update",
		.synopsis = "lease update ADDRESS (--mac MAC | --client-id ID) "
			    "[--lifetime SECONDS] [--state STATE] [--force-create]",
		.cmd = CTL_CMD_LEASE4_UPDATE, .pos = { "ADDRESS" }, .min_pos = 1, .max_pos = 1,
		.opts = SET_OPTS | OB(O_FORCE_CREATE), .build = b_lease_set,
	}, {
		.word = "lease", .sub = "del",
		.synopsis = "lease del ADDRESS|MAC|CLIENT-ID | --mac MAC | --client-id ID",
		.cmd = CTL_CMD_LEASE4_DEL, .pos = { "ADDRESS" }, .max_pos = 1, .opts = KEY_OPTS,
		.build = b_lease_key,
	}, {
		.word = "lease", .sub = "wipe", .synopsis = "lease wipe [--scope NAME]",
		.cmd = CTL_CMD_LEASE4_WIPE, .opts = OB(O_SCOPE), .build = b_lease_wipe,
	}, {
		.word = "scope", .sub = "list", .synopsis = "scope list",
		.cmd = CTL_CMD_SCOPE_LIST, .build = b_plain,
	}, {
		.word = "scope", .sub = "show", .synopsis = "scope show NAME",
		.cmd = CTL_CMD_SCOPE_GET, .pos = { "NAME" }, .min_pos = 1, .max_pos = 1,
		.build = b_name,
	}, {
		.word = "scope", .sub = "add", .synopsis = "scope add FILE|-",
		.cmd = CTL_CMD_SCOPE_ADD, .pos = { "FILE" }, .min_pos = 1, .max_pos = 1,
		.build = b_scope_add,
	}, {
		.word = "scope", .sub = "update", .synopsis = "scope update NAME FILE|-",
		.cmd = CTL_CMD_SCOPE_UPDATE, .pos = { "NAME", "FILE" }, .min_pos = 2, .max_pos = 2,
		.build = b_scope_update,
	}, {
		.word = "scope", .sub = "del", .synopsis = "scope del NAME [--force]",
		.cmd = CTL_CMD_SCOPE_DEL, .pos = { "NAME" }, .min_pos = 1, .max_pos = 1,
		.opts = OB(O_FORCE), .build = b_name,
	}, {
		.word = "scope", .sub = "activate", .synopsis = "scope activate NAME",
		.cmd = CTL_CMD_SCOPE_ACTIVATE, .pos = { "NAME" }, .min_pos = 1, .max_pos = 1,
		.build = b_name,
	}, {
		.word = "scope", .sub = "deactivate", .synopsis = "scope deactivate NAME",
		.cmd = CTL_CMD_SCOPE_DEACTIVATE, .pos = { "NAME" }, .min_pos = 1, .max_pos = 1,
		.build = b_name,
	}, {
		.word = "reservation", .sub = "list", .synopsis = "reservation list SCOPE",
		.cmd = CTL_CMD_RESERVATION_LIST, .pos = { "SCOPE" }, .min_pos = 1, .max_pos = 1,
		.build = b_resv_list,
	}, {
		.word = "reservation", .sub = "add", .synopsis = "reservation add SCOPE FILE|-",
		.cmd = CTL_CMD_RESERVATION_ADD, .pos = { "SCOPE", "FILE" }, .min_pos = 2,
		.max_pos = 2, .build = b_resv_add,
	}, {
		.word = "reservation", .sub = "del",
		.synopsis = "reservation del SCOPE ADDRESS|MAC|CLIENT-ID | --mac MAC | "
			    "--client-id ID",
		.cmd = CTL_CMD_RESERVATION_DEL, .pos = { "SCOPE", "ADDRESS" }, .min_pos = 1,
		.max_pos = 2, .opts = KEY_OPTS, .build = b_resv_del,
	}, {
		.word = "policy", .sub = "list", .synopsis = "policy list [--scope NAME]",
		.cmd = CTL_CMD_POLICY_LIST, .opts = OB(O_SCOPE), .build = b_policy,
	}, {
		.word = "policy", .sub = "show", .synopsis = "policy show NAME [--scope NAME]",
		.cmd = CTL_CMD_POLICY_GET, .pos = { "NAME" }, .min_pos = 1, .max_pos = 1,
		.opts = OB(O_SCOPE), .build = b_policy,
	}, {
		.word = "policy", .sub = "add", .synopsis = "policy add FILE|- [--scope NAME]",
		.cmd = CTL_CMD_POLICY_ADD, .pos = { "FILE" }, .min_pos = 1, .max_pos = 1,
		.opts = OB(O_SCOPE), .build = b_policy,
	}, {
		.word = "policy", .sub = "update",
		.synopsis = "policy update NAME FILE|- [--scope NAME]",
		.cmd = CTL_CMD_POLICY_UPDATE, .pos = { "NAME", "FILE" }, .min_pos = 2,
		.max_pos = 2, .opts = OB(O_SCOPE), .build = b_policy,
	}, {
		.word = "policy", .sub = "del", .synopsis = "policy del NAME [--scope NAME]",
		.cmd = CTL_CMD_POLICY_DEL, .pos = { "NAME" }, .min_pos = 1, .max_pos = 1,
		.opts = OB(O_SCOPE), .build = b_policy,
	}, {
		.word = "policy", .sub = "reorder",
		.synopsis = "policy reorder NAME ORDER [--scope NAME]",
		.cmd = CTL_CMD_POLICY_REORDER, .pos = { "NAME", "ORDER" }, .min_pos = 2,
		.max_pos = 2, .opts = OB(O_SCOPE), .build = b_policy,
	}, {
		.word = "mac-filter", .sub = "show", .synopsis = "mac-filter show",
		.cmd = CTL_CMD_MAC_FILTER_GET, .build = b_plain,
	}, {
		.word = "mac-filter", .sub = "add", .synopsis = "mac-filter add allow|deny PATTERN",
		.cmd = CTL_CMD_MAC_FILTER_ADD, .pos = { "LIST", "PATTERN" }, .min_pos = 2,
		.max_pos = 2, .build = b_mac_filter,
	}, {
		.word = "mac-filter", .sub = "del", .synopsis = "mac-filter del allow|deny PATTERN",
		.cmd = CTL_CMD_MAC_FILTER_DEL, .pos = { "LIST", "PATTERN" }, .min_pos = 2,
		.max_pos = 2, .build = b_mac_filter,
	}, {
		.word = "superscope", .sub = "show", .synopsis = "superscope show [NAME]",
		.cmd = CTL_CMD_SUPERSCOPE_GET, .pos = { "NAME" }, .max_pos = 1,
		.build = b_superscope,
	}, {
		.word = "superscope", .sub = "add", .synopsis = "superscope add NAME SCOPE...",
		.cmd = CTL_CMD_SUPERSCOPE_ADD, .pos = { "NAME", "SCOPE" }, .min_pos = 2,
		.max_pos = MAX_POS, .build = b_superscope,
	}, {
		.word = "superscope", .sub = "del", .synopsis = "superscope del NAME [SCOPE...]",
		.cmd = CTL_CMD_SUPERSCOPE_DEL, .pos = { "NAME", "SCOPE" }, .min_pos = 1,
		.max_pos = MAX_POS, .build = b_superscope,
	}, {
		.word = "exclusion", .sub = "add", .synopsis = "exclusion add SCOPE RANGE",
		.cmd = CTL_CMD_EXCLUSION_ADD, .pos = { "SCOPE", "RANGE", "RANGE", "RANGE" },
		.min_pos = 2, .max_pos = 4, .build = b_exclusion,
	}, {
		.word = "exclusion", .sub = "del", .synopsis = "exclusion del SCOPE RANGE",
		.cmd = CTL_CMD_EXCLUSION_DEL, .pos = { "SCOPE", "RANGE", "RANGE", "RANGE" },
		.min_pos = 2, .max_pos = 4, .build = b_exclusion,
	}, {
		.word = "stats", .sub = "reset", .synopsis = "stats reset [NAME]",
		.cmd = CTL_CMD_STATISTIC_RESET, .pos = { "NAME" }, .max_pos = 1,
		.build = b_stats_reset,
	}, {
		.word = "stats", .synopsis = "stats [NAME] [-a|--all] [--prometheus]",
		.cmd = CTL_CMD_STATISTIC_GET_ALL, .pos = { "NAME" }, .max_pos = 1,
		.opts = OB(O_ALL) | OB(O_PROMETHEUS), .build = b_stats,
	}, {
		.word = "failover", .sub = "status",
		.synopsis = "failover status [NAME] [--prometheus]",
		.cmd = CTL_CMD_FAILOVER_STATUS, .pos = { "NAME" }, .max_pos = 1,
		.opts = OB(O_PROMETHEUS), .build = b_failover,
	}, {
		.word = "failover", .sub = "partner-down", .synopsis = "failover partner-down NAME",
		.cmd = CTL_CMD_FAILOVER_PARTNER_DOWN, .pos = { "NAME" }, .min_pos = 1,
		.max_pos = 1, .build = b_failover,
	}, {
		.word = "failover", .sub = "shutdown", .synopsis = "failover shutdown NAME",
		.cmd = CTL_CMD_FAILOVER_SHUTDOWN, .pos = { "NAME" }, .min_pos = 1, .max_pos = 1,
		.build = b_failover,
	}, {
		.word = "failover", .sub = "recover", .synopsis = "failover recover NAME",
		.cmd = CTL_CMD_FAILOVER_RECOVER, .pos = { "NAME" }, .min_pos = 1, .max_pos = 1,
		.build = b_failover,
	}, {
		.word = "failover", .sub = "resync", .synopsis = "failover resync NAME",
		.cmd = CTL_CMD_FAILOVER_RESYNC, .pos = { "NAME" }, .min_pos = 1, .max_pos = 1,
		.build = b_failover,
	}, {
		.word = "failover", .sub = "replicate",
		.synopsis = "failover replicate --server | --relationship NAME | --scope SCOPE",
		.cmd = CTL_CMD_FAILOVER_REPLICATE,
		.opts = OB(O_SERVER) | OB(O_RELATIONSHIP) | OB(O_SCOPE), .build = b_fo_replicate,
	}, {
		.word = "failover", .sub = "add",
		.synopsis = "failover add KEY=VALUE... [--scope SCOPE]...",
		.cmd = CTL_CMD_FAILOVER_ADD, .pos = { "KEY=VALUE" }, .min_pos = 1,
		.max_pos = MAX_POS, .opts = OB(O_SCOPE), .repeat = OB(O_SCOPE),
		.build = b_fo_add,
	}, {
		.word = "failover", .sub = "get", .synopsis = "failover get [NAME]",
		.cmd = CTL_CMD_FAILOVER_GET, .pos = { "NAME" }, .max_pos = 1,
		.build = b_failover,
	}, {
		.word = "failover", .sub = "set", .synopsis = "failover set NAME KEY=VALUE...",
		.cmd = CTL_CMD_FAILOVER_SET, .pos = { "NAME", "KEY=VALUE" }, .min_pos = 2,
		.max_pos = MAX_POS, .build = b_fo_set,
	}, {
		.word = "failover", .sub = "remove", .synopsis = "failover remove NAME",
		.cmd = CTL_CMD_FAILOVER_REMOVE, .pos = { "NAME" }, .min_pos = 1, .max_pos = 1,
		.build = b_failover,
	}, {
		.word = "failover", .sub = "scope",
		.synopsis = "failover scope add|remove NAME SCOPE...",
		.cmd = CTL_CMD_FAILOVER_SCOPE_ADD, .pos = { "add|remove", "NAME", "SCOPE" },
		.min_pos = 3, .max_pos = MAX_POS, .build = b_fo_scope,
	}, {
		.word = "failover", .sub = "sync-status", .synopsis = "failover sync-status",
		.cmd = CTL_CMD_FAILOVER_SYNC_STATUS, .build = b_plain,
	}, {
		.word = "raw", .synopsis = "raw COMMAND [JSON-ARGUMENTS|-]",
		.help = "send any command, print the JSON answer", .cmd = CMD_NONE,
		.pos = { "COMMAND", "JSON-ARGUMENTS" }, .min_pos = 1, .max_pos = 2,
		.flags = CTLC_F_JSON | CMD_KEEP_ARGS, .build = b_raw,
	}, {
		.word = "completion", .sub = "bash", .synopsis = "completion bash",
		.help = "print a bash completion script for leasewirectl", .cmd = CMD_NONE,
		.flags = CTLC_F_COMPLETION, .build = b_plain,
	},
};

#define N_CMDS	(sizeof(cmd_defs) / sizeof(cmd_defs[0]))

/* The subcommands of @word, for messages: "show, list, add". */
static void list_subs(const char *word, char *out, size_t len)
{
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < N_CMDS && off < len; i++) {
		if (strcmp(cmd_defs[i].word, word) == 0 && cmd_defs[i].sub != NULL) {
			off += (size_t)snprintf(out + off, len - off, "%s%s", off ? ", " : "",
						cmd_defs[i].sub);
		}
	}
}

static const struct cmd_def *find_cmd(int argc, char **argv, int *used, char *err,
				      size_t errlen)
{
	const struct cmd_def *bare = NULL;
	bool known = false;
	char subs[256];

	for (size_t i = 0; i < N_CMDS; i++) {
		const struct cmd_def *d = &cmd_defs[i];

		if (strcmp(d->word, argv[0]) != 0) {
			continue;
		}
		known = true;
		if (d->sub == NULL) {
			bare = d;
		} else if (argc > 1 && strcmp(d->sub, argv[1]) == 0) {
			*used = 2;
			return d;
		}
	}
	if (bare != NULL) {
		*used = 1;
		return bare;
	}
	if (!known) {
		ctlc_errf(err, errlen, "unknown command \"%." ECHO_MAX "s\"", argv[0]);
		return NULL;
	}
	list_subs(argv[0], subs, sizeof(subs));
	if (argc == 1) {
		ctlc_errf(err, errlen, "%s: missing subcommand (%s)", argv[0], subs);
	} else {
		ctlc_errf(err, errlen, "%s: unknown subcommand \"%." ECHO_MAX "s\" (%s)", argv[0],
			  argv[1], subs);
	}
	return NULL;
}

static int parse_words(const struct cmd_def *d, int argc, char **argv, struct args *a,
		       char *err, size_t errlen)
{
	bool only_pos = false;

	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];
		const char *value = NULL;
		size_t nlen;
		int id;

		if (only_pos || w[0] != '-' || w[1] == '\0') {
			if (a->npos >= d->max_pos) {
				return usage_err(d, err, errlen, "unexpected argument \"%."
						 ECHO_MAX "s\"", w);
			}
			a->pos[a->npos++] = w;
			continue;
		}
		if (strcmp(w, "--") == 0) {
			only_pos = true;
			continue;
		}
		for (id = 0; id < O__COUNT; id++) {
			const struct opt_def *o = &opt_defs[id];

			if (w[1] == '-') {
				nlen = strcspn(w + 2, "=");
				if (strlen(o->name) == nlen && strncmp(o->name, w + 2, nlen) == 0) {
					value = w[2 + nlen] == '=' ? w + 3 + nlen : NULL;
					break;
				}
			} else if (o->short_name != 0 && w[1] == o->short_name && w[2] == '\0') {
				break;
			}
		}
		if (id == O__COUNT || !(d->opts & OB(id))) {
			return usage_err(d, err, errlen, "unknown option \"%." ECHO_MAX "s\"", w);
		}
		if (opt_defs[id].has_arg && value == NULL) {
			if (i + 1 == argc) {
				return usage_err(d, err, errlen, "option --%s needs a value",
						 opt_defs[id].name);
			}
			value = argv[++i];
		} else if (!opt_defs[id].has_arg) {
			if (value != NULL) {
				return usage_err(d, err, errlen, "option --%s takes no value",
						 opt_defs[id].name);
			}
			value = "";
		}
		if (a->opt[id] != NULL && !(d->repeat & OB(id))) {
			return usage_err(d, err, errlen, "option --%s given twice",
					 opt_defs[id].name);
		}
		a->opt[id] = value;
		if (id == O_SCOPE && (d->repeat & OB(id))) {
			if (value[0] == '\0') {
				return usage_err(d, err, errlen, "--scope must not be empty");
			}
			if (a->scopes == NULL) {
				a->scopes = json_array();
			}
			if (a->scopes == NULL ||
			    json_array_append_new(a->scopes, json_string(value)) != 0) {
				return nomem(err, errlen);
			}
		}
	}
	if (a->npos < d->min_pos) {
		return usage_err(d, err, errlen, "missing %s", d->pos[a->npos]);
	}
	return 0;
}

/*
 * The request must fit the protocol table's row of its command, as the server will check:
 * a builder that sends a key the table does not know is a bug found here, not in the field.
 */
static int check_request(const struct cmd_def *d, json_t *req, char *err, size_t errlen)
{
	const char *name = json_string_value(json_object_get(req, "command"));
	const struct ctl_proto_cmd *pc = ctl_proto_find(name);
	char msg[256];

	if (pc == NULL) {
		return usage_err(d, err, errlen, "%s is not a protocol command", name);
	}
	if (ctl_proto_check(pc, json_object_get(req, "arguments"), msg, sizeof(msg)) != 0) {
		return usage_err(d, err, errlen, "the request does not fit %s: %s", name, msg);
	}
	return 0;
}

int ctlc_parse_argv(int argc, char **argv, struct ctlc_cmd *cmd, char *err, size_t errlen)
{
	const struct cmd_def *d;
	struct args a = { 0 };
	const char *command;
	json_t *arguments = NULL;
	json_t *req = NULL;
	int used = 0;
	int ret;

	cmd->request = NULL;
	cmd->synopsis = NULL;
	cmd->flags = 0;
	if (argc < 1 || argv[0] == NULL) {
		ctlc_errf(err, errlen, "missing command");
		return -EINVAL;
	}
	d = find_cmd(argc, argv, &used, err, errlen);
	if (d == NULL) {
		return -EINVAL;
	}
	cmd->synopsis = d->synopsis;
	ret = parse_words(d, argc - used, argv + used, &a, err, errlen);
	if (ret != 0) {
		goto out;
	}
	command = d->cmd != CMD_NONE ? ctl_proto_cmds[d->cmd].name : NULL;
	arguments = json_object();
	if (arguments == NULL) {
		ret = nomem(err, errlen);
		goto out;
	}
	ret = d->build(d, &a, &command, &arguments, err, errlen);
	if (ret != 0) {
		goto out;
	}
	cmd->flags = d->flags & (CTLC_F_PAGED | CTLC_F_JSON | CTLC_F_COMPLETION);
	if (command == NULL) {
		goto out;	/* nothing to send (completion) */
	}
	req = json_pack("{s:s}", "command", command);
	if (req == NULL) {
		ret = nomem(err, errlen);
		goto out;
	}
	if (arguments != NULL && (!json_is_object(arguments) || json_object_size(arguments) > 0 ||
				  (d->flags & CMD_KEEP_ARGS))) {
		if (json_object_set(req, "arguments", arguments) != 0) {
			ret = nomem(err, errlen);
			goto out;
		}
	}
	if (d->cmd != CMD_NONE) {
		ret = check_request(d, req, err, errlen);
		if (ret != 0) {
			goto out;
		}
	}
	cmd->request = req;
	req = NULL;
	if (a.opt[O_ALL] != NULL) {
		cmd->flags |= CTLC_F_ALL;
	}
	if (a.opt[O_PROMETHEUS] != NULL) {
		cmd->flags |= CTLC_F_PROMETHEUS;
	}
out:
	json_decref(req);
	json_decref(arguments);
	json_decref(a.scopes);
	return ret;
}

void ctlc_cmd_deinit(struct ctlc_cmd *cmd)
{
	if (cmd == NULL) {
		return;
	}
	json_decref(cmd->request);
	cmd->request = NULL;
	cmd->synopsis = NULL;
	cmd->flags = 0;
}

int ctlc_request_from_argv(int argc, char **argv, json_t **req, char *err, size_t errlen)
{
	struct ctlc_cmd c = { 0 };
	int ret;

	ret = ctlc_parse_argv(argc, argv, &c, err, errlen);
	*req = c.request;
	return ret;
}

#define USAGE_WIDTH	79	/* help fits an 80-column terminal */
#define USAGE_SYN	34	/* synopsis column width; the description follows */

/* Length of the next word of a synopsis: up to a space outside brackets and parentheses. */
static size_t syn_word(const char *s)
{
	size_t n = 0;
	int depth = 0;

	for (; s[n] != '\0' && (s[n] != ' ' || depth > 0); n++) {
		if (s[n] == '[' || s[n] == '(') {
			depth++;
		} else if ((s[n] == ']' || s[n] == ')') && depth > 0) {
			depth--;
		}
	}
	return n;
}

/*
 * A synopsis, wrapped between words to USAGE_WIDTH; continuation lines are indented by 6.
 * Returns the column after the last word.
 */
static size_t print_wrapped(FILE *out, const char *s)
{
	size_t col = 2;

	fputs("  ", out);
	while (*s != '\0') {
		size_t w = syn_word(s);

		if (col > 2) {
			if (col + 1 + w > USAGE_WIDTH) {
				fputs("\n      ", out);
				col = 6;
			} else {
				fputc(' ', out);
				col++;
			}
		}
		fprintf(out, "%.*s", (int)w, s);
		col += w;
		s += w;
		while (*s == ' ') {
			s++;
		}
	}
	return col;
}

static const char *help_of(const struct cmd_def *d)
{
	return d->help != NULL ? d->help : ctl_proto_cmds[d->cmd].help;
}

void ctlc_usage_commands(FILE *out)
{
	for (size_t i = 0; i < N_CMDS; i++) {
		const struct cmd_def *d = &cmd_defs[i];

		size_t col = print_wrapped(out, d->synopsis);

		if (col <= 2 + USAGE_SYN) {
			fprintf(out, "%*s%s\n", (int)(2 + USAGE_SYN + 2 - col), "", help_of(d));
		} else {
			fprintf(out, "\n%*s%s\n", 2 + USAGE_SYN + 2, "", help_of(d));
		}
	}
}

size_t ctlc_cli_count(void)
{
	return N_CMDS;
}

int ctlc_cli_get(size_t i, struct ctlc_cli *out)
{
	const struct cmd_def *d;
	size_t n = 0;

	if (i >= N_CMDS) {
		return -ENOENT;
	}
	d = &cmd_defs[i];
	memset(out, 0, sizeof(*out));
	out->word = d->word;
	out->sub = d->sub;
	out->synopsis = d->synopsis;
	out->help = help_of(d);
	out->command = d->cmd != CMD_NONE ? ctl_proto_cmds[d->cmd].name : NULL;
	for (int o = 0; o < O__COUNT; o++) {
		if (d->opts & OB(o)) {
			out->options[n++] = opt_defs[o].name;
		}
	}
	return 0;
}

/* The words of @d's options, "--mac --client-id", into @b. */
static int put_options(struct ctlc_buf *b, unsigned int opts)
{
	int ret = 0;

	for (int o = 0; o < O__COUNT && ret == 0; o++) {
		if (opts & OB(o)) {
			ret = ctlc_buf_printf(b, "%s--%s", b->len != 0 ? " " : "",
					      opt_defs[o].name);
			if (ret == 0 && opt_defs[o].short_name != 0) {
				ret = ctlc_buf_printf(b, " -%c", opt_defs[o].short_name);
			}
		}
	}
	return ret;
}

/*
 * The script completes, after the global options: the first word, then the subcommand of a
 * word that has some, then the options of the command (after "-") or file names. Every list
 * in it is printed from cmd_defs and opt_defs.
 */
int ctlc_completion_bash(FILE *out)
{
	struct ctlc_buf words = { 0 };
	int ret = 0;

	for (size_t i = 0; i < N_CMDS && ret == 0; i++) {
		bool seen = false;

		for (size_t k = 0; k < i; k++) {
			seen |= strcmp(cmd_defs[k].word, cmd_defs[i].word) == 0;
		}
		if (!seen) {
			ret = ctlc_buf_printf(&words, "%s%s", words.len != 0 ? " " : "",
					      cmd_defs[i].word);
		}
	}
	if (ret != 0) {
		free(words.data);
		return ret;
	}
	fprintf(out,
		"# bash completion for leasewirectl; generated by `leasewirectl completion bash`\n"
		"_leasewirectl()\n"
		"{\n"
		"\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
		"\tlocal i=1 w1= w2= list=\n"
		"\tcase $prev in\n"
		"\t-s|--socket) COMPREPLY=($(compgen -f -- \"$cur\")); return;;\n"
		"\t-t|--timeout) return;;\n"
		"\tesac\n"
		"\twhile [ $i -lt $COMP_CWORD ]; do\n"
		"\t\tcase ${COMP_WORDS[i]} in\n"
		"\t\t-s|--socket|-t|--timeout) i=$((i + 2)); continue;;\n"
		"\t\t-*) ;;\n"
		"\t\t*) if [ -z \"$w1\" ]; then w1=${COMP_WORDS[i]}; "
		"elif [ -z \"$w2\" ]; then w2=${COMP_WORDS[i]}; fi;;\n"
		"\t\tesac\n"
		"\t\ti=$((i + 1))\n"
		"\tdone\n"
		"\tif [ -z \"$w1\" ]; then\n"
		"\t\tcase $cur in\n"
		"\t\t-*) list=\"--socket --json --timeout --help\";;\n"
		"\t\t*) list=\"%s\";;\n"
		"\t\tesac\n"
		"\t\tCOMPREPLY=($(compgen -W \"$list\" -- \"$cur\"))\n"
		"\t\treturn\n"
		"\tfi\n"
		"\tcase $w1 in\n", words.data);
	free(words.data);
	/* Words with subcommands: complete the subcommand first (a bare form may also take
	 * options, as "stats" does). */
	for (size_t i = 0; i < N_CMDS && ret == 0; i++) {
		const struct cmd_def *d = &cmd_defs[i];
		struct ctlc_buf subs = { 0 };
		bool first = true;

		for (size_t k = 0; k < i; k++) {
			first &= strcmp(cmd_defs[k].word, d->word) != 0;
		}
		if (!first) {
			continue;
		}
		for (size_t k = i; k < N_CMDS && ret == 0; k++) {
			if (strcmp(cmd_defs[k].word, d->word) == 0 && cmd_defs[k].sub != NULL) {
				ret = ctlc_buf_printf(&subs, "%s%s", subs.len != 0 ? " " : "",
						      cmd_defs[k].sub);
			}
		}
		if (ret == 0 && subs.len != 0) {
			fprintf(out, "\t%s) if [ -z \"$w2\" ] && [ \"${cur#-}\" = \"$cur\" ]; "
				"then COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); return; fi;;\n",
				d->word, subs.data);
		}
		free(subs.data);
	}
	fprintf(out, "\tesac\n\tcase \"$w1 $w2\" in\n");
	for (size_t i = 0; i < N_CMDS && ret == 0; i++) {
		const struct cmd_def *d = &cmd_defs[i];
		struct ctlc_buf opts = { 0 };

		ret = put_options(&opts, d->opts);
		if (ret == 0) {
			fprintf(out, "\t\"%s %s\"%s) list=\"%s\";;\n", d->word,
				d->sub != NULL ? d->sub : "", d->sub != NULL ? "" : "*",
				opts.data != NULL ? opts.data : "");
		}
		free(opts.data);
	}
	fprintf(out,
		"\tesac\n"
		"\tcase $cur in\n"
		"\t-*) COMPREPLY=($(compgen -W \"$list\" -- \"$cur\"));;\n"
		"\t*) COMPREPLY=($(compgen -f -- \"$cur\"));;\n"
		"\tesac\n"
		"}\n"
		"complete -F _leasewirectl leasewirectl\n");
	return ret;
}
