/*
 * ctlc_transport: control socket client (contract in ctlc_transport.h).
 *
 * One request per connection. The socket is connected blocking with SO_SNDTIMEO (an AF_UNIX
 * connect cannot be polled for: a full backlog makes a non-blocking connect fail with EAGAIN
 * at once), then switched to non-blocking so that writing and reading share one monotonic
 * deadline through poll(). If the server closes while we still write (it refuses an
 * oversized request and hangs up), we still read: its answer explains why.
 */
#include "ctlc_transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

#include "ctlc_impl.h"

#define READ_CHUNK	65536


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
		ctlc_errf(err, errlen, "cannot connect to %s: the server accepts no connection "
			  "(timed out after %g s)", path, timeout_s);
		return -ETIMEDOUT;
	}
	if (e == ENOENT || e == ECONNREFUSED) {
		hint = " (is leasewired running?)";
	} else if (e == EACCES || e == EPERM) {
		hint = " (root or the group server.control-socket-group may use it)";
	}
	ctlc_errf(err, errlen, "cannot connect to %s: %s%s", path, strerror(e), hint);
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

static int recv_all(int fd, struct ctlc_buf *in, double deadline)
{
	for (;;) {
		ssize_t n;
		int ret;

		if (in->len >= CTLC_MAX_ANSWER) {
			return -EMSGSIZE;
		}
		ret = ctlc_buf_reserve(in, READ_CHUNK);
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
	struct ctlc_buf in = { 0 };
	struct ctlc_buf out = { 0 };
	json_error_t je;
	double deadline;
	char *text = NULL;
	json_t *a = NULL;
	int send_err = 0;
	int fd = -1;
	int ret;

	*answer = NULL;
	if (!json_is_object(request)) {
		ctlc_errf(err, errlen, "the request is not a JSON object");
		return -EINVAL;
	}
	if (!(timeout_s > 0 && timeout_s <= 1e6)) {
		ctlc_errf(err, errlen, "the timeout must be more than 0 s and at most 1000000 s");
		return -EINVAL;
	}
	if (strlen(socket_path) >= sizeof(sa.sun_path)) {
		ctlc_errf(err, errlen, "socket path too long (at most %zu bytes): %s",
			  sizeof(sa.sun_path) - 1, socket_path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
	deadline = mono_now() + timeout_s;

	text = json_dumps(request, JSON_COMPACT);
	if (text == NULL || ctlc_buf_printf(&out, "%s\n", text) != 0) {
		ret = -ENOMEM;
		ctlc_errf(err, errlen, "out of memory");
		goto out;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		ctlc_errf(err, errlen, "cannot create a unix socket: %s", strerror(errno));
		goto out;
	}
	ret = connect_unix(fd, &sa, socket_path, timeout_s, err, errlen);
	if (ret != 0) {
		goto out;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
		ret = -errno;
		ctlc_errf(err, errlen, "cannot make the socket non-blocking: %s", strerror(errno));
		goto out;
	}
	ret = send_all(fd, out.data, out.len, deadline);
	if (ret == -ETIMEDOUT) {
		ctlc_errf(err, errlen, "%s did not read the request within %g s", socket_path,
			  timeout_s);
		goto out;
	}
	if (ret != 0) {
		/* Read anyway: a server that hangs up early says why first. */
		send_err = -ret;
	} else if (shutdown(fd, SHUT_WR) != 0 && errno != ENOTCONN) {
		ret = -errno;
		ctlc_errf(err, errlen, "cannot half-close the connection to %s: %s", socket_path,
			  strerror(errno));
		goto out;
	}
	ret = recv_all(fd, &in, deadline);
	if (ret == -ETIMEDOUT) {
		ctlc_errf(err, errlen, "%s did not answer within %g s", socket_path, timeout_s);
		goto out;
	}
	if (ret == -EMSGSIZE) {
		ctlc_errf(err, errlen, "the answer from %s is larger than %u bytes", socket_path,
			  CTLC_MAX_ANSWER);
		goto out;
	}
	if (ret == -ENOMEM) {
		ctlc_errf(err, errlen, "out of memory");
		goto out;
	}
	if (ret != 0 && in.len == 0) {
		ctlc_errf(err, errlen, "connection to %s lost: %s", socket_path, strerror(-ret));
		goto out;
	}
	if (in.len == 0) {
		if (send_err != 0) {
			ret = -send_err;
			ctlc_errf(err, errlen, "connection to %s lost while sending the request: "
				  "%s",
				  socket_path, strerror(send_err));
		} else {
			ret = -ENODATA;
			ctlc_errf(err, errlen, "%s closed the connection without answering",
				  socket_path);
		}
		goto out;
	}
	a = json_loadb(in.data, in.len, 0, &je);
	if (a == NULL) {
		ret = -EBADMSG;
		ctlc_errf(err, errlen, "bad answer from %s: line %d column %d: %s", socket_path,
			  je.line, je.column, je.text);
		goto out;
	}
	if (!json_is_object(a) || !json_is_integer(json_object_get(a, "result"))) {
		ret = -EBADMSG;
		ctlc_errf(err, errlen, "bad answer from %s: not an object with an integer "
			  "\"result\"",
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

	if (ctlc_parse_ipv4(a, &x) && ctlc_parse_ipv4(b, &y)) {
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
			ctlc_errf(err, errlen, "bad answer from %s: lease4-get-page without a "
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
			ctlc_errf(err, errlen, "bad answer from %s: the page after %s does not "
				  "move "
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
	ctlc_errf(err, errlen, "out of memory");
out:
	json_decref(page);
	json_decref(all);
	json_decref(req);
	free(from);
	return ret;
}
