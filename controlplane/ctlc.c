/*
 * ctlc: control socket client (doc/control-protocol.md).
 *
 * Transport. One request per connection. The socket is connected blocking with SO_SNDTIMEO
 * (an AF_UNIX connect cannot be polled for: a full backlog makes a non-blocking connect fail
 * with EAGAIN at once), then switched to non-blocking so that writing and reading share one
 * monotonic deadline through poll(). If the server closes while we still write (it refuses an
 * oversized request and hangs up), we still read: its answer explains why.
 *
 * Command line. One designated-initializer table maps the operator's words to a protocol
 * command: the words, the synopsis shown in errors and --help, the positional arguments, a
 * bitmask of the options the command accepts and a builder that turns the checked words into
 * the "arguments" object. Options and positional arguments may come in any order; "--" ends
 * the options. Every message names the command first ("lease add: ...") so that a script's
 * log says which call was wrong.
 *
 * Output. Tables are built in memory (every cell a sanitised copy) and printed once the
 * column widths are known. Prometheus families are collected, sorted by family name and label
 * value, and printed so that each family's HELP and TYPE come once, before its samples;
 * failover samples, which carry several labels, are sorted by their whole label text.
 */
#include "ctlc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define INFINITE_LFT	4294967295LL	/* valid-lft of a BOOTP (infinite) lease */
#define CID_MAX		255		/* option 61 length limit; the server has its own */
#define ECHO_MAX	"64"		/* longest echo of an operator's word in a message */
#define MAX_POS		4		/* positional arguments of the widest command */
#define READ_CHUNK	65536
#define WHEN_LEN	128		/* "2026-11-23 02:23:18 UTC (in 9m 58s)" and more */
#define REL_NAME_MAX	63		/* failover relationship names (DP_NAME_MAX - 1) */

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                               */

__attribute__((format(printf, 3, 4)))
static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Growable byte buffer; the data is always NUL-terminated once anything was added. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

static int buf_reserve(struct buf *b, size_t more)
{
	size_t cap = b->cap != 0 ? b->cap : 256;
	char *p;

	if (b->len + more + 1 <= b->cap) {
		return 0;
	}
	while (cap < b->len + more + 1) {
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (p == NULL) {
		return -ENOMEM;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

__attribute__((format(printf, 2, 3)))
static int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n) != 0) {
		return -ENOMEM;
	}
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

/* A copy of @s in which every byte outside printable ASCII is '?'. */
static char *sanitize(const char *s)
{
	char *c = strdup(s);

	if (c == NULL) {
		return NULL;
	}
	for (char *p = c; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) {
			*p = '?';
		}
	}
	return c;
}

static bool parse_ipv4(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		return false;
	}
	if (out != NULL) {
		*out = ntohl(a.s_addr);
	}
	return true;
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
 * Hex bytes: "02:00:5e:12:00:05", "2:0:5e:12:0:5", "02-00-5e-12-00-05" or "02005e120005".
 * Returns the byte count, 0 when @s is not of that form or longer than @max bytes. @sep tells
 * whether the bytes were separated (the MAC form needs separators).
 */
static size_t parse_hex(const char *s, uint8_t *out, size_t max, bool *sep)
{
	char sc = strchr(s, ':') != NULL ? ':' : strchr(s, '-') != NULL ? '-' : 0;
	size_t n = 0;

	*sep = sc != 0;
	if (sc != 0) {
		for (;;) {
			int digits = 0;
			int v = 0;

			while (hexdigit(*s) >= 0 && digits < 3) {
				v = v * 16 + hexdigit(*s);
				s++;
				digits++;
			}
			if (digits == 0 || digits > 2 || n == max) {
				return 0;
			}
			out[n++] = (uint8_t)v;
			if (*s == '\0') {
				return n;
			}
			if (*s != sc) {
				return 0;
			}
			s++;
		}
	}
	while (*s != '\0') {
		int hi = hexdigit(s[0]);
		int lo = hi >= 0 ? hexdigit(s[1]) : -1;

		if (lo < 0 || n == max) {
			return 0;
		}
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	return n;
}

/* "02:00:5e:12:00:05": lowercase, two digits per byte, colons. @out holds 3 * n bytes. */
static void format_hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		sprintf(out + 3 * i, "%02x%s", b[i], i + 1 < n ? ":" : "");
	}
	if (n == 0) {
		out[0] = '\0';
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Transport                                                                                   */

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait until @fd is ready for @events or @deadline (monotonic seconds) has passed. */
static int wait_fd(int fd, short events, double deadline)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		double left = deadline - mono_now();
		int n;

		if (left <= 0) {
			return -ETIMEDOUT;
		}
		/* Round up: a poll that wakes a little early would only spin. */
		n = poll(&p, 1, (int)(left * 1000.0) + 1);
		if (n > 0) {
			return 0;
		}
		if (n < 0 && errno != EINTR) {
			return -errno;
		}
	}
}

static int connect_unix(int fd, const struct sockaddr_un *sa, const char *path, double timeout_s,
			char *err, size_t errlen)
{
	struct timeval tv = {
		.tv_sec = (time_t)timeout_s,
		.tv_usec = (suseconds_t)((timeout_s - (double)(time_t)timeout_s) * 1e6),
	};
	const char *hint = "";
	int e;

	if (tv.tv_sec == 0 && tv.tv_usec == 0) {
		tv.tv_usec = 1;
	}
	/* Bounds a connect() that waits for room in a full listen backlog. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	do {
		if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0) {
			return 0;
		}
		e = errno;
	} while (e == EINTR);
	if (e == EISCONN) {
		return 0;	/* an interrupted connect() that completed meanwhile */
	}
	if (e == EAGAIN || e == EINPROGRESS) {
		errf(err, errlen, "cannot connect to %s: the server accepts no connection "
		     "(timed out after %g s)", path, timeout_s);
		return -ETIMEDOUT;
	}
	if (e == ENOENT || e == ECONNREFUSED) {
		hint = " (is leasewired running?)";
	} else if (e == EACCES || e == EPERM) {
		hint = " (root or the group server.control-socket-group may use it)";
	}
	errf(err, errlen, "cannot connect to %s: %s%s", path, strerror(e), hint);
	return -e;
}

/* Send all of @data; stops early (returning the errno) when the server hangs up. */
static int send_all(int fd, const char *data, size_t len, double deadline)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, data + off, len - off, MSG_NOSIGNAL);
		int ret;

		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR) {
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			return -errno;
		}
		ret = wait_fd(fd, POLLOUT, deadline);
		if (ret != 0) {
			return ret;
		}
	}
	return 0;
}

static int recv_all(int fd, struct buf *in, double deadline)
{
	for (;;) {
		ssize_t n;
		int ret;

		if (in->len >= CTLC_MAX_ANSWER) {
			return -EMSGSIZE;
		}
		ret = buf_reserve(in, READ_CHUNK);
		if (ret != 0) {
			return ret;
		}
		n = recv(fd, in->data + in->len, READ_CHUNK, 0);
		if (n > 0) {
			in->len += (size_t)n;
			in->data[in->len] = '\0';
			continue;
		}
		if (n == 0) {
			return 0;
		}
		if (errno == EINTR) {
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			return -errno;
		}
		ret = wait_fd(fd, POLLIN, deadline);
		if (ret != 0) {
			return ret;
		}
	}
}

int ctlc_call(const char *socket_path, json_t *request, double timeout_s, json_t **answer,
	      char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct buf in = { 0 };
	struct buf out = { 0 };
	json_error_t je;
	double deadline;
	char *text = NULL;
	json_t *a = NULL;
	int send_err = 0;
	int fd = -1;
	int ret;

	*answer = NULL;
	if (!json_is_object(request)) {
		errf(err, errlen, "the request is not a JSON object");
		return -EINVAL;
	}
	if (!(timeout_s > 0 && timeout_s <= 1e6)) {
		errf(err, errlen, "the timeout must be more than 0 s and at most 1000000 s");
		return -EINVAL;
	}
	if (strlen(socket_path) >= sizeof(sa.sun_path)) {
		errf(err, errlen, "socket path too long (at most %zu bytes): %s",
		     sizeof(sa.sun_path) - 1, socket_path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
	deadline = mono_now() + timeout_s;

	text = json_dumps(request, JSON_COMPACT);
	if (text == NULL || buf_printf(&out, "%s\n", text) != 0) {
		ret = -ENOMEM;
		errf(err, errlen, "out of memory");
		goto out;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		errf(err, errlen, "cannot create a unix socket: %s", strerror(errno));
		goto out;
	}
	ret = connect_unix(fd, &sa, socket_path, timeout_s, err, errlen);
	if (ret != 0) {
		goto out;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
		ret = -errno;
		errf(err, errlen, "cannot make the socket non-blocking: %s", strerror(errno));
		goto out;
	}
	ret = send_all(fd, out.data, out.len, deadline);
	if (ret == -ETIMEDOUT) {
		errf(err, errlen, "%s did not read the request within %g s", socket_path,
		     timeout_s);
		goto out;
	}
	if (ret != 0) {
		/* Read anyway: a server that hangs up early says why first. */
		send_err = -ret;
	} else if (shutdown(fd, SHUT_WR) != 0 && errno != ENOTCONN) {
		ret = -errno;
		errf(err, errlen, "cannot half-close the connection to %s: %s", socket_path,
		     strerror(errno));
		goto out;
	}
	ret = recv_all(fd, &in, deadline);
	if (ret == -ETIMEDOUT) {
		errf(err, errlen, "%s did not answer within %g s", socket_path, timeout_s);
		goto out;
	}
	if (ret == -EMSGSIZE) {
		errf(err, errlen, "the answer from %s is larger than %u bytes", socket_path,
		     CTLC_MAX_ANSWER);
		goto out;
	}
	if (ret == -ENOMEM) {
		errf(err, errlen, "out of memory");
		goto out;
	}
	if (ret != 0 && in.len == 0) {
		errf(err, errlen, "connection to %s lost: %s", socket_path, strerror(-ret));
		goto out;
	}
	if (in.len == 0) {
		if (send_err != 0) {
			ret = -send_err;
			errf(err, errlen, "connection to %s lost while sending the request: %s",
			     socket_path, strerror(send_err));
		} else {
			ret = -ENODATA;
			errf(err, errlen, "%s closed the connection without answering",
			     socket_path);
		}
		goto out;
	}
	a = json_loadb(in.data, in.len, 0, &je);
	if (a == NULL) {
		ret = -EBADMSG;
		errf(err, errlen, "bad answer from %s: line %d column %d: %s", socket_path,
		     je.line, je.column, je.text);
		goto out;
	}
	if (!json_is_object(a) || !json_is_integer(json_object_get(a, "result"))) {
		ret = -EBADMSG;
		errf(err, errlen, "bad answer from %s: not an object with an integer \"result\"",
		     socket_path);
		goto out;
	}
	*answer = a;
	a = NULL;
	ret = 0;
out:
	json_decref(a);
	if (fd >= 0) {
		close(fd);
	}
	free(in.data);
	free(out.data);
	free(text);
	return ret;
}

/* Whether address @b is after address @a (numerically; text order if either is not IPv4). */
static bool addr_after(const char *a, const char *b)
{
	uint32_t x, y;

	if (parse_ipv4(a, &x) && parse_ipv4(b, &y)) {
		return y > x;
	}
	return strcmp(b, a) > 0;
}

int ctlc_call_all(const char *socket_path, json_t *request, double timeout_s, json_t **answer,
		  char *err, size_t errlen)
{
	const char *command = json_string_value(json_object_get(request, "command"));
	json_t *req = NULL, *args, *all = NULL, *page = NULL, *res = NULL;
	char *from = NULL;
	char text[64];
	size_t n;
	int ret;

	*answer = NULL;
	if (command == NULL || strcmp(command, "lease4-get-page") != 0) {
		return ctlc_call(socket_path, request, timeout_s, answer, err, errlen);
	}
	req = json_deep_copy(request);
	all = json_array();
	if (req == NULL || all == NULL) {
		goto nomem;
	}
	args = json_object_get(req, "arguments");
	if (!json_is_object(args)) {
		args = json_object();
		if (json_object_set_new(req, "arguments", args) != 0) {
			goto nomem;
		}
	}
	for (;;) {
		json_int_t result;
		json_t *leases;
		const char *last;

		ret = ctlc_call(socket_path, req, timeout_s, &page, err, errlen);
		if (ret != 0) {
			goto out;
		}
		result = json_integer_value(json_object_get(page, "result"));
		if (result == 3 && json_array_size(all) == 0) {
			break;	/* nothing at all: the server's own answer says so */
		}
		if (result != 0) {
			if (result == 3) {
				json_decref(page);
				page = NULL;
			}
			break;
		}
		leases = json_object_get(json_object_get(page, "arguments"), "leases");
		if (!json_is_array(leases)) {
			ret = -EBADMSG;
			errf(err, errlen, "bad answer from %s: lease4-get-page without a "
			     "\"leases\" array", socket_path);
			goto out;
		}
		n = json_array_size(leases);
		if (n == 0) {
			json_decref(page);
			page = NULL;
			break;
		}
		last = json_string_value(json_object_get(json_array_get(leases, n - 1),
							 "ip-address"));
		if (last == NULL || (from != NULL && !addr_after(from, last))) {
			ret = -EBADMSG;
			errf(err, errlen, "bad answer from %s: the page after %s does not move "
			     "forward", socket_path, from != NULL ? from : "start");
			goto out;
		}
		free(from);
		from = strdup(last);
		if (from == NULL || json_array_extend(all, leases) != 0 ||
		    json_object_set_new(args, "from", json_string(from)) != 0) {
			goto nomem;
		}
		json_decref(page);
		page = NULL;
	}
	if (page != NULL) {
		*answer = page;
		page = NULL;
		ret = 0;
		goto out;
	}
	n = json_array_size(all);
	snprintf(text, sizeof(text), "%zu lease%s", n, n == 1 ? "" : "s");
	res = json_pack("{s:i, s:s, s:{s:O, s:I}}", "result", 0, "text", text, "arguments",
			"leases", all, "count", (json_int_t)n);
	if (res == NULL) {
		goto nomem;
	}
	*answer = res;
	ret = 0;
	goto out;
nomem:
	ret = -ENOMEM;
	errf(err, errlen, "out of memory");
out:
	json_decref(page);
	json_decref(all);
	json_decref(req);
	free(from);
	return ret;
}

/* ------------------------------------------------------------------------------------------ */
/* Command line                                                                                */

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

struct cmd_def {
	const char *word;	/* first word */
	const char *sub;	/* second word, or NULL */
	const char *synopsis;
	const char *help;
	const char *command;	/* protocol command */
	const char *pos[MAX_POS];	/* names of the positional arguments, for messages */
	int min_pos;
	int max_pos;
	unsigned int opts;	/* OB(O_*) the command accepts */
	unsigned int repeat;	/* OB(O_*) that may be given more than once */
	unsigned int flags;	/* CTLC_F_* for the caller, CMD_* for the builder */
	build_fn build;
};

__attribute__((format(printf, 4, 5)))
static int usage_err(const struct cmd_def *d, char *err, size_t errlen, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d->sub != NULL) {
		errf(err, errlen, "%s %s: %s", d->word, d->sub, msg);
	} else {
		errf(err, errlen, "%s: %s", d->word, msg);
	}
	return -EINVAL;
}

static int set_str(json_t *o, const char *key, const char *value)
{
	return json_object_set_new(o, key, json_string(value)) != 0 ? -ENOMEM : 0;
}

static int nomem(char *err, size_t errlen)
{
	errf(err, errlen, "out of memory");
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

		errf(err, errlen, "cannot read %s: %s", path, strerror(e));
		return -e;
	}
	v = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
	if (v == NULL && ferror(f)) {
		int e = errno != 0 ? errno : EIO;

		errf(err, errlen, "cannot read %s: %s", name, strerror(e));
		if (!is_stdin) {
			fclose(f);
		}
		return -e;
	}
	if (!is_stdin) {
		fclose(f);
	}
	if (v == NULL) {
		errf(err, errlen, "%s:%d:%d: invalid JSON: %s", name, je.line, je.column, je.text);
		return -EBADMSG;
	}
	if (!json_is_object(v)) {
		errf(err, errlen, "%s: expected a JSON object ({...})", name);
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

static int put_mac(const struct cmd_def *d, json_t *o, const char *w, char *err, size_t errlen)
{
	uint8_t b[6];
	char s[3 * 6];
	bool sep;

	if (parse_hex(w, b, sizeof(b), &sep) != 6 || !sep) {
		return usage_err(d, err, errlen, "--mac \"%." ECHO_MAX "s\" is not a MAC address "
				 "(aa:bb:cc:dd:ee:ff)", w);
	}
	format_hex(b, 6, s);
	return set_str(o, "hw-address", s) != 0 ? nomem(err, errlen) : 0;
}

static int put_client_id(const struct cmd_def *d, json_t *o, const char *w, char *err,
			 size_t errlen)
{
	uint8_t b[CID_MAX];
	char s[3 * CID_MAX];
	size_t n;
	bool sep;

	n = parse_hex(w, b, sizeof(b), &sep);
	if (n == 0) {
		return usage_err(d, err, errlen, "--client-id \"%." ECHO_MAX "s\" is not hex "
				 "bytes (01:02:03 or 010203)", w);
	}
	format_hex(b, n, s);
	return set_str(o, "client-id", s) != 0 ? nomem(err, errlen) : 0;
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
	if (parse_ipv4(w, NULL)) {
		return set_str(o, "ip-address", w) != 0 ? nomem(err, errlen) : 0;
	}
	n = parse_hex(w, b, sizeof(b), &sep);
	if (n == 0) {
		return usage_err(d, err, errlen, "\"%." ECHO_MAX "s\" is not an IPv4 address, a "
				 "MAC address or a client id", w);
	}
	format_hex(b, n, s);
	if (n == 6 && sep) {
		return set_str(o, "hw-address", s) != 0 ? nomem(err, errlen) : 0;
	}
	return set_str(o, "client-id", s) != 0 ? nomem(err, errlen) : 0;
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
	struct buf path = { 0 };
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
		return set_str(*arguments, "filename", f) != 0 ? nomem(err, errlen) : 0;
	}
	cwd = getcwd(NULL, 0);
	if (cwd == NULL) {
		ret = -errno;
		errf(err, errlen, "cannot make %s absolute: %s", f, strerror(errno));
		return ret;
	}
	ret = buf_printf(&path, "%s%s%s", cwd, strcmp(cwd, "/") == 0 ? "" : "/", f);
	if (ret == 0) {
		ret = set_str(*arguments, "filename", path.data);
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
	if (set_str(*arguments, "from", "start") != 0 ||
	    json_object_set_new(*arguments, "limit", json_integer(CTLC_PAGE_LIMIT)) != 0 ||
	    (a->scopes != NULL && json_object_set(*arguments, "scopes", a->scopes) != 0)) {
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
	if (!parse_ipv4(addr, NULL)) {
		return usage_err(d, err, errlen, "ADDRESS \"%." ECHO_MAX "s\" is not an IPv4 "
				 "address", addr);
	}
	if (set_str(o, "ip-address", addr) != 0) {
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
		if (json_object_set_new(o, "valid-lft", json_integer((json_int_t)v)) != 0) {
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
		if (set_str(o, "state", lease_states[i]) != 0) {
			return nomem(err, errlen);
		}
	}
	if (a->opt[O_FORCE_CREATE] != NULL &&
	    json_object_set_new(o, "force-create", json_true()) != 0) {
		return nomem(err, errlen);
	}
	return 0;
}

static int b_lease_wipe(const struct cmd_def *d, struct args *a, const char **command,
			json_t **arguments, char *err, size_t errlen)
{
	int ret;

	(void)command;
	if (a->opt[O_SCOPE] == NULL) {
		return 0;
	}
	ret = check_name(d, a->opt[O_SCOPE], "--scope", err, errlen);
	if (ret != 0) {
		return ret;
	}
	return set_str(*arguments, "scope", a->opt[O_SCOPE]) != 0 ? nomem(err, errlen) : 0;
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
	if (set_str(*arguments, "name", a->pos[0]) != 0 ||
	    (a->opt[O_FORCE] != NULL &&
	     json_object_set_new(*arguments, "force", json_true()) != 0)) {
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
	return set_file(*arguments, "scope", a->pos[0], err, errlen);
}

static int b_scope_update(const struct cmd_def *d, struct args *a, const char **command,
			  json_t **arguments, char *err, size_t errlen)
{
	int ret;

	ret = b_name(d, a, command, arguments, err, errlen);
	if (ret != 0) {
		return ret;
	}
	return set_file(*arguments, "scope", a->pos[1], err, errlen);
}

/* The first positional argument is a scope name: "scope": SCOPE. */
static int put_scope(const struct cmd_def *d, struct args *a, json_t *o, char *err,
		     size_t errlen)
{
	int ret;

	ret = check_name(d, a->pos[0], "SCOPE", err, errlen);
	if (ret != 0) {
		return ret;
	}
	return set_str(o, "scope", a->pos[0]) != 0 ? nomem(err, errlen) : 0;
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
	return set_file(*arguments, "reservation", a->pos[1], err, errlen);
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
		if (!parse_ipv4(joined, NULL)) {
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
		if (!parse_ipv4(first, NULL) || !parse_ipv4(last, NULL)) {
			goto bad;
		}
		snprintf(range, sizeof(range), "%s - %s", first, last);
	}
	return set_str(*arguments, "range", range) != 0 ? nomem(err, errlen) : 0;
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
	int ret;

	if (a->pos[0] == NULL) {
		return 0;
	}
	ret = check_name(d, a->pos[0], "NAME", err, errlen);
	if (ret != 0) {
		return ret;
	}
	return set_str(*arguments, "name", a->pos[0]) != 0 ? nomem(err, errlen) : 0;
}

static int b_stats(const struct cmd_def *d, struct args *a, const char **command,
		   json_t **arguments, char *err, size_t errlen)
{
	if (a->pos[0] != NULL) {
		*command = "statistic-get";	/* one statistic instead of all */
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
	return set_str(*arguments, "name", a->pos[0]) != 0 ? nomem(err, errlen) : 0;
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
			errf(err, errlen, "<stdin>:%d:%d: invalid JSON: %s", je.line, je.column,
			     je.text);
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
		.word = "status", .synopsis = "status", .command = "status-get",
		.help = "pid, uptime, workers, ports, counts",
		.build = b_plain,
	}, {
		.word = "version", .synopsis = "version", .command = "version-get",
		.help = "versions of leasewired and its libraries", .build = b_plain,
	}, {
		.word = "commands", .synopsis = "commands", .command = "list-commands",
		.help = "the protocol commands the server knows", .build = b_plain,
	}, {
		.word = "config", .sub = "get", .synopsis = "config get",
		.command = "config-get", .help = "print the running configuration",
		.build = b_plain,
	}, {
		.word = "config", .sub = "test", .synopsis = "config test FILE|-",
		.command = "config-test", .help = "check a configuration; change nothing",
		.pos = { "FILE" }, .min_pos = 1, .max_pos = 1, .flags = CMD_KEEP_ARGS,
		.build = b_config_file,
	}, {
		.word = "config", .sub = "set", .synopsis = "config set FILE|-",
		.command = "config-set", .help = "check and apply a configuration",
		.pos = { "FILE" }, .min_pos = 1, .max_pos = 1, .flags = CMD_KEEP_ARGS,
		.build = b_config_file,
	}, {
		.word = "config", .sub = "reload", .synopsis = "config reload",
		.command = "config-reload", .help = "re-read leasewired's configuration file",
		.build = b_plain,
	}, {
		.word = "config", .sub = "write", .synopsis = "config write [FILE]",
		.command = "config-write",
		.help = "save the running configuration",
		.pos = { "FILE" }, .max_pos = 1, .build = b_config_write,
	}, {
		.word = "shutdown", .synopsis = "shutdown", .command = "shutdown",
		.help = "stop leasewired", .build = b_plain,
	}, {
		.word = "lease", .sub = "show",
		.synopsis = "lease show ADDRESS|MAC|CLIENT-ID | --mac MAC | --client-id ID",
		.command = "lease4-get", .help = "one lease, by address or client",
		.pos = { "ADDRESS" }, .max_pos = 1, .opts = KEY_OPTS, .build = b_lease_key,
	}, {
		.word = "lease", .sub = "list", .synopsis = "lease list [--scope NAME]...",
		.command = "lease4-get-page", .help = "every lease (of some scopes), by address",
		.opts = OB(O_SCOPE), .repeat = OB(O_SCOPE), .flags = CTLC_F_PAGED,
		.build = b_lease_list,
	}, {
		.word = "lease", .sub = "add",
		.synopsis = "lease add ADDRESS (--mac MAC | --client-id ID) [--lifetime SECONDS] "
			    "[--state STATE]",
		.command = "lease4-add", .help = "create a lease",
		.pos = { "ADDRESS" }, .min_pos = 1, .max_pos = 1, .opts = SET_OPTS,
		.build = b_lease_set,
	}, {
		.word = "lease", .sub = "update",
		.synopsis = "lease update ADDRESS (--mac MAC | --client-id ID) "
			    "[--lifetime SECONDS] [--state STATE] [--force-create]",
		.command = "lease4-update", .help = "change a lease (or create it, if forced)",
		.pos = { "ADDRESS" }, .min_pos = 1, .max_pos = 1,
		.opts = SET_OPTS | OB(O_FORCE_CREATE), .build = b_lease_set,
	}, {
		.word = "lease", .sub = "del",
		.synopsis = "lease del ADDRESS|MAC|CLIENT-ID | --mac MAC | --client-id ID",
		.command = "lease4-del", .help = "delete one lease",
		.pos = { "ADDRESS" }, .max_pos = 1, .opts = KEY_OPTS, .build = b_lease_key,
	}, {
		.word = "lease", .sub = "wipe", .synopsis = "lease wipe [--scope NAME]",
		.command = "lease4-wipe", .help = "delete every lease (of one scope)",
		.opts = OB(O_SCOPE), .build = b_lease_wipe,
	}, {
		.word = "scope", .sub = "list", .synopsis = "scope list",
		.command = "scope-list", .help = "scopes and their address counts",
		.build = b_plain,
	}, {
		.word = "scope", .sub = "show", .synopsis = "scope show NAME",
		.command = "scope-get", .help = "one scope, as in the configuration file",
		.pos = { "NAME" }, .min_pos = 1, .max_pos = 1, .build = b_name,
	}, {
		.word = "scope", .sub = "add", .synopsis = "scope add FILE|-",
		.command = "scope-add", .help = "add the scope held in FILE",
		.pos = { "FILE" }, .min_pos = 1, .max_pos = 1, .build = b_scope_add,
	}, {
		.word = "scope", .sub = "update", .synopsis = "scope update NAME FILE|-",
		.command = "scope-update", .help = "replace scope NAME by the one in FILE",
		.pos = { "NAME", "FILE" }, .min_pos = 2, .max_pos = 2, .build = b_scope_update,
	}, {
		.word = "scope", .sub = "del", .synopsis = "scope del NAME [--force]",
		.command = "scope-del", .help = "delete a scope (--force: even if in use)",
		.pos = { "NAME" }, .min_pos = 1, .max_pos = 1, .opts = OB(O_FORCE),
		.build = b_name,
	}, {
		.word = "scope", .sub = "activate", .synopsis = "scope activate NAME",
		.command = "scope-activate", .help = "serve a scope again",
		.pos = { "NAME" }, .min_pos = 1, .max_pos = 1, .build = b_name,
	}, {
		.word = "scope", .sub = "deactivate", .synopsis = "scope deactivate NAME",
		.command = "scope-deactivate", .help = "stop serving a scope; keep its leases",
		.pos = { "NAME" }, .min_pos = 1, .max_pos = 1, .build = b_name,
	}, {
		.word = "reservation", .sub = "list", .synopsis = "reservation list SCOPE",
		.command = "reservation-list", .help = "the reservations of a scope",
		.pos = { "SCOPE" }, .min_pos = 1, .max_pos = 1, .build = b_resv_list,
	}, {
		.word = "reservation", .sub = "add", .synopsis = "reservation add SCOPE FILE|-",
		.command = "reservation-add", .help = "add the reservation held in FILE",
		.pos = { "SCOPE", "FILE" }, .min_pos = 2, .max_pos = 2, .build = b_resv_add,
	}, {
		.word = "reservation", .sub = "del",
		.synopsis = "reservation del SCOPE ADDRESS|MAC|CLIENT-ID | --mac MAC | "
			    "--client-id ID",
		.command = "reservation-del", .help = "delete a reservation",
		.pos = { "SCOPE", "ADDRESS" }, .min_pos = 1, .max_pos = 2, .opts = KEY_OPTS,
		.build = b_resv_del,
	}, {
		.word = "exclusion", .sub = "add", .synopsis = "exclusion add SCOPE RANGE",
		.command = "exclusion-add", .help = "never hand out the addresses of RANGE",
		.pos = { "SCOPE", "RANGE", "RANGE", "RANGE" }, .min_pos = 2, .max_pos = 4,
		.build = b_exclusion,
	}, {
		.word = "exclusion", .sub = "del", .synopsis = "exclusion del SCOPE RANGE",
		.command = "exclusion-del", .help = "remove an exclusion",
		.pos = { "SCOPE", "RANGE", "RANGE", "RANGE" }, .min_pos = 2, .max_pos = 4,
		.build = b_exclusion,
	}, {
		.word = "stats", .sub = "reset", .synopsis = "stats reset [NAME]",
		.command = "statistic-reset", .help = "restart the counters from zero",
		.pos = { "NAME" }, .max_pos = 1, .build = b_stats_reset,
	}, {
		.word = "stats", .synopsis = "stats [NAME] [-a|--all] [--prometheus]",
		.command = "statistic-get-all",
		.help = "counters, as a table or for Prometheus",
		.pos = { "NAME" }, .max_pos = 1, .opts = OB(O_ALL) | OB(O_PROMETHEUS),
		.build = b_stats,
	}, {
		.word = "failover", .sub = "status",
		.synopsis = "failover status [NAME] [--prometheus]",
		.command = "failover-status",
		.help = "states, link, queues and message counts",
		.pos = { "NAME" }, .max_pos = 1, .opts = OB(O_PROMETHEUS), .build = b_failover,
	}, {
		.word = "failover", .sub = "partner-down", .synopsis = "failover partner-down NAME",
		.command = "failover-partner-down",
		.help = "the partner is down: serve all clients",
		.pos = { "NAME" }, .min_pos = 1, .max_pos = 1, .build = b_failover,
	}, {
		.word = "failover", .sub = "shutdown", .synopsis = "failover shutdown NAME",
		.command = "failover-shutdown",
		.help = "stop serving; let the partner take over",
		.pos = { "NAME" }, .min_pos = 1, .max_pos = 1, .build = b_failover,
	}, {
		.word = "failover", .sub = "recover", .synopsis = "failover recover NAME",
		.command = "failover-recover",
		.help = "leave shutdown or paused, then resync",
		.pos = { "NAME" }, .min_pos = 1, .max_pos = 1, .build = b_failover,
	}, {
		.word = "failover", .sub = "resync", .synopsis = "failover resync NAME",
		.command = "failover-resync",
		.help = "send every binding to the partner again",
		.pos = { "NAME" }, .min_pos = 1, .max_pos = 1, .build = b_failover,
	}, {
		.word = "raw", .synopsis = "raw COMMAND [JSON-ARGUMENTS|-]",
		.help = "send any command, print the JSON answer",
		.pos = { "COMMAND", "JSON-ARGUMENTS" }, .min_pos = 1, .max_pos = 2,
		.flags = CTLC_F_JSON | CMD_KEEP_ARGS, .build = b_raw,
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
		errf(err, errlen, "unknown command \"%." ECHO_MAX "s\"", argv[0]);
		return NULL;
	}
	list_subs(argv[0], subs, sizeof(subs));
	if (argc == 1) {
		errf(err, errlen, "%s: missing subcommand (%s)", argv[0], subs);
	} else {
		errf(err, errlen, "%s: unknown subcommand \"%." ECHO_MAX "s\" (%s)", argv[0],
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
		errf(err, errlen, "missing command");
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
	command = d->command;
	arguments = json_object();
	if (arguments == NULL) {
		ret = nomem(err, errlen);
		goto out;
	}
	ret = d->build(d, &a, &command, &arguments, err, errlen);
	if (ret != 0) {
		goto out;
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
	cmd->request = req;
	req = NULL;
	cmd->flags = d->flags & (CTLC_F_PAGED | CTLC_F_JSON);
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

void ctlc_usage_commands(FILE *out)
{
	for (size_t i = 0; i < N_CMDS; i++) {
		const struct cmd_def *d = &cmd_defs[i];

		size_t col = print_wrapped(out, d->synopsis);

		if (col <= 2 + USAGE_SYN) {
			fprintf(out, "%*s%s\n", (int)(2 + USAGE_SYN + 2 - col), "", d->help);
		} else {
			fprintf(out, "\n%*s%s\n", 2 + USAGE_SYN + 2, "", d->help);
		}
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Human output                                                                                */

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
		cells[c] = sanitize(row[c] != NULL ? row[c] : "-");
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

/* "9m 58s", "7m", "3d 4h": the largest unit and, when not zero, the next one. */
static void fmt_duration(long long s, char *out, size_t len)
{
	static const struct {
		long long secs;
		char unit;
	} units[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' } };

	if (s < 0) {
		s = -s;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		long long v = s / units[i].secs;
		long long rest;

		if (v == 0 && units[i].secs != 1) {
			continue;
		}
		if (i + 1 == sizeof(units) / sizeof(units[0])) {
			snprintf(out, len, "%llds", v);
			return;
		}
		rest = (s % units[i].secs) / units[i + 1].secs;
		if (rest != 0) {
			snprintf(out, len, "%lld%c %lld%c", v, units[i].unit, rest,
				 units[i + 1].unit);
		} else {
			snprintf(out, len, "%lld%c", v, units[i].unit);
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
	fmt_duration(t - (long long)now, rel, sizeof(rel));
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
	struct buf b = { 0 };
	size_t i;
	json_t *e;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return strdup(json_string_value(v));
	case JSON_INTEGER:
		buf_printf(&b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return b.data;
	case JSON_REAL:
		buf_printf(&b, "%g", json_real_value(v));
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
			int ret = buf_printf(&b, "%s", "");

			json_array_foreach(v, i, e) {
				s = value_text(e);
				if (s == NULL || ret != 0) {
					free(s);
					free(b.data);
					return NULL;
				}
				ret = buf_printf(&b, "%s%s", i != 0 ? ", " : "", s);
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
		char *s = sanitize(kv->key[i]);
		char *v = sanitize(kv->val[i]);

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
		fmt_when(json_integer_value(cltt) + json_integer_value(lft), now, out, len);
	} else {
		snprintf(out, len, "-");
	}
}

static int render_leases(FILE *out, json_t *leases, time_t now)
{
	struct table t = {
		.ncols = 5, .head = { "ADDRESS", "STATE", "CLIENT", "SCOPE", "EXPIRES" },
	};
	size_t i;
	json_t *l;
	int ret = 0;

	json_array_foreach(leases, i, l) {
		char expires[WHEN_LEN];
		const char *client = str_or(l, "hw-address", str_or(l, "client-id", NULL));
		const char *row[5] = {
			str_or(l, "ip-address", NULL), str_or(l, "state", NULL), client,
			str_or(l, "scope", NULL), expires,
		};

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
		"ip-address", "state", "hw-address", "client-id", "scope", NULL
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
	struct buf b = { 0 };

	if (!json_is_integer(v)) {
		return NULL;
	}
	buf_printf(&b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
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
			str_or(r, "ip-address", NULL),
			str_or(r, "hw-address", str_or(r, "client-id", NULL)),
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

/*
 * The number in a statistic: a plain number as the protocol says, or Kea's [[value, time],
 * ...] history, of which the newest (first) entry counts.
 */
static json_t *stat_value(json_t *v)
{
	while (json_is_array(v)) {
		v = json_array_get(v, 0);
	}
	return json_is_number(v) ? v : NULL;
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
		json_t *num = stat_value(json_object_get(stats, names[i]));
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
	struct buf b = { 0 };
	char when[WHEN_LEN];

	if (s == NULL || !json_is_integer(t) || json_integer_value(t) <= 0) {
		return s;
	}
	fmt_when(json_integer_value(t), now, when, sizeof(when));
	buf_printf(&b, "%s since %s", s, when);
	free(s);
	return b.data;
}

/* Length of "bndupd" in "bndupd-sent" or "bndupd-received"; 0 for any other key. */
static size_t pair_prefix(const char *key)
{
	size_t n = strlen(key);

	if (n > 5 && strcmp(key + n - 5, "-sent") == 0) {
		return n - 5;
	}
	if (n > 9 && strcmp(key + n - 9, "-received") == 0) {
		return n - 9;
	}
	return 0;
}

/* The count in @msgs under "<prefix>-<dir>", as text, or NULL ("-") when there is none. */
static int pair_cell(json_t *msgs, const char *key, size_t plen, const char *dir, char **out)
{
	struct buf k = { 0 };

	*out = NULL;
	if (buf_printf(&k, "%.*s-%s", (int)plen, key, dir) != 0) {
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
		size_t plen = pair_prefix(key);
		char *name, *sent = NULL, *recv = NULL;
		bool seen = false;

		if (plen == 0) {
			continue;
		}
		json_object_foreach(msgs, k2, v2) {
			if (k2 == key) {
				break;
			}
			if (pair_prefix(k2) == plen && strncmp(k2, key, plen) == 0) {
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
		"link-counters", NULL
	};
	json_t *msgs = json_object_get(r, "messages");
	json_t *link = json_object_get(r, "link-counters");
	struct kv kv = { .n = 0 };
	const char *key;
	json_t *v;
	int ret = 0;

	for (const char *const *k = order; *k != NULL && ret == 0; k++) {
		struct buf b = { 0 };
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
			buf_printf(&b, "%" JSON_INTEGER_FORMAT " s (%s)", json_integer_value(v), d);
		} else if (json_is_integer(v) && strcmp(*k, "skew") == 0) {
			buf_printf(&b, "%" JSON_INTEGER_FORMAT " s", json_integer_value(v));
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
		if (ret == 0 && pair_prefix(key) == 0) {
			ret = kv_add(&kv, key, value_text(v));
		}
	}
	json_object_foreach(link, key, v) {
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
		struct buf b = { 0 };
		char *s;

		if (buf_printf(&b, "failover %s: %s, partner %s, link %s", str_or(r, "name", "-"),
			       str_or(r, "state", "-"), str_or(r, "partner-state", "-"),
			       str_or(r, "link", "-")) != 0) {
			free(b.data);
			return -ENOMEM;
		}
		s = sanitize(b.data);
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
	struct table t = { .ncols = 4, .head = { "PORT", "DEVICE", "DRIVER", "MAC" } };
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
			fmt_utc((long long)now - s, at, sizeof(at));
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
		const char *row[4] = {
			str_or(p, "name", NULL), str_or(p, "device", NULL),
			str_or(p, "driver", NULL), str_or(p, "mac", NULL),
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
	s = sanitize(text);
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
		if (json_is_object(args) && json_object_get(args, "ip-address") != NULL) {
			return render_lease(out, args, now);
		}
	} else if (strcmp(command, "scope-list") == 0) {
		list = list_of(args, "scopes");
		if (json_is_array(list)) {
			return render_scopes(out, list);
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
				char *z = s != NULL ? sanitize(s) : NULL;

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

/* ------------------------------------------------------------------------------------------ */
/* Prometheus text format 0.0.4                                                                */

enum metric_type { M_COUNTER, M_GAUGE };

struct sample {
	char *family;		/* "leasewire_drops_total" */
	enum metric_type type;
	const char *label;	/* "reason", "scope" or NULL */
	char *label_value;	/* unescaped; NULL without a label */
	const char *stat;	/* the statistic's own name (for HELP of unknown families) */
	json_t *value;		/* borrowed */
};

static const struct {
	const char *stat;
	const char *help;
} counter_help[] = {
	{ "pkt4-received", "DHCPv4 and BOOTP packets received." },
	{ "pkt4-sent", "DHCPv4 and BOOTP packets sent." },
	{ "pkt4-discover-received", "DHCPDISCOVER messages received." },
	{ "pkt4-request-received", "DHCPREQUEST messages received." },
	{ "pkt4-decline-received", "DHCPDECLINE messages received." },
	{ "pkt4-release-received", "DHCPRELEASE messages received." },
	{ "pkt4-inform-received", "DHCPINFORM messages received." },
	{ "pkt4-bootp-received", "BOOTREQUEST messages without a DHCP message type received." },
	{ "pkt4-offer-sent", "DHCPOFFER messages sent." },
	{ "pkt4-ack-sent", "DHCPACK messages sent." },
	{ "pkt4-nak-sent", "DHCPNAK messages sent." },
	{ "pkt4-bootreply-sent", "BOOTREPLY messages without a DHCP message type sent." },
	{ "arp-replies", "ARP replies sent for the server's addresses." },
	{ "icmp-replies", "ICMP echo replies sent for the server's addresses." },
	{ "steered", "Frames handed to the worker that owns their client." },
	{ "parked", "Replies held back until their binding was durable." },
	{ "leases-reclaimed", "Expired leases reclaimed." },
	{ "options-dropped", "Configured options left out of a reply for lack of room." },
	{ "handoff-overflow", "Freed addresses left to the requeue scan: hand-off FIFO full." },
	{ "addresses-lent", "Free addresses a worker lent from its pool share to another." },
	{ "addresses-borrowed", "Free addresses a worker received from another's pool share." },
	{ "store-commits", "Store transactions committed." },
	{ "store-changes", "Binding changes written to the store." },
	{ "store-commit-failures", "Store transactions that failed." },
};

static const struct {
	const char *kind;	/* "assigned" in scope[x].assigned-addresses */
	const char *help;
} scope_help[] = {
	{ "total", "Addresses in the scope's pools." },
	{ "assigned", "Addresses of the scope bound to a client." },
	{ "free", "Addresses of the scope free to offer." },
	{ "declined", "Addresses of the scope abandoned after a DHCPDECLINE." },
	{ "offered", "Addresses of the scope held for an outstanding offer." },
};

/* "leasewire_" + @name with every character outside [A-Za-z0-9_] as '_'. */
static char *metric_name(const char *prefix, const char *name, size_t len, const char *suffix)
{
	struct buf b = { 0 };

	if (buf_printf(&b, "%s%.*s%s", prefix, (int)len, name, suffix) != 0) {
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
static int buf_put_label(struct buf *b, const char *name, const char *value)
{
	int ret = buf_printf(b, "%s%s=\"", b->len != 0 ? "," : "", name);

	for (const char *c = value; *c != '\0' && ret == 0; c++) {
		ret = *c == '\\' ? buf_printf(b, "\\\\") : *c == '"' ? buf_printf(b, "\\\"") :
		      *c == '\n' ? buf_printf(b, "\\n") : buf_printf(b, "%c", *c);
	}
	return ret == 0 ? buf_printf(b, "\"") : ret;
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
	struct buf labels = { 0 };
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
		size_t plen = pair_prefix(key);
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
		json_t *num = stat_value(v);

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
