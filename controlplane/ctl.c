/*
 * ctl.c: non-blocking unix-socket transport for the control channel.
 *
 * Each connection has a read buffer that grows up to max_request. After every read a small
 * scanner (ctl_request_complete) tells whether a whole JSON object has arrived: it tracks
 * strings, escapes and bracket depth, so a request split across many writes is assembled and
 * a request followed by nothing (no EOF, no newline) is still answered. A half-close (EOF)
 * also ends the request. The answer is written non-blocking from an output buffer; the
 * connection closes once it is flushed.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

enum conn_state { READING, WAITING, WRITING };

struct ctl_conn {
	struct ctl_server *srv;
	int fd;
	enum conn_state state;
	bool gone;		/* WAITING, and the peer hung up: answer nobody */
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off;
	uint64_t deadline_ms;
	struct ctl_conn *next;
};

struct ctl_server {
	struct ctl_opts o;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd, efd;
	ctl_dispatch_fn fn;
	void *arg;
	struct ctl_conn *conns;
	unsigned n_conns;
	struct ctl_stats st;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

json_t *ctl_answer(int result, json_t *args, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	json_t *a;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* Texts quote what clients sent (e.g. jansson's error near a bad byte); the answer must
	 * still be valid JSON, so anything but printable ASCII becomes '?'. */
	for (char *c = text; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f) {
			*c = '?';
		}
	}
	a = json_pack("{s:i, s:s}", "result", result, "text", text);
	if (a != NULL && args != NULL) {
		json_object_set_new(a, "arguments", args);
	} else if (args != NULL) {
		json_decref(args);
	}
	return a;
}

int ctl_request_complete(const char *buf, size_t len)
{
	size_t i = 0;
	int depth = 0;
	bool in_str = false, esc = false;

	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r')) {
		i++;
	}
	if (i == len) {
		return 0;
	}
	if (buf[i] != '{') {
		return -1;
	}
	for (; i < len; i++) {
		char c = buf[i];

		if (in_str) {
			if (esc) {
				esc = false;
			} else if (c == '\\') {
				esc = true;
			} else if (c == '"') {
				in_str = false;
			}
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth == 0) {
				return 1;
			}
			if (depth < 0) {
				return -1;
			}
		}
	}
	return 0;
}

json_t *ctl_parse_request(const char *buf, size_t len, size_t max_request, json_t **answer)
{
	json_error_t jerr;
	json_t *req, *cmd, *args;
	const char *key;
	json_t *v;

	*answer = NULL;
	if (len > max_request) {
		*answer = ctl_answer(CTL_ERROR, NULL, "request larger than %zu bytes", max_request);
		return NULL;
	}
	req = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL) {
		*answer = ctl_answer(CTL_ERROR, NULL, "malformed JSON: %s at line %d column %d",
				     jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(req)) {
		*answer = ctl_answer(CTL_ERROR, NULL, "a request must be a JSON object");
		goto bad;
	}
	json_object_foreach(req, key, v) {
		if (strcmp(key, "command") != 0 && strcmp(key, "arguments") != 0) {
			*answer = ctl_answer(CTL_ERROR, NULL, "request: unknown key \"%s\" "
					     "(expected \"command\" and \"arguments\")", key);
			goto bad;
		}
	}
	cmd = json_object_get(req, "command");
	if (!json_is_string(cmd) || json_string_length(cmd) == 0) {
		*answer = ctl_answer(CTL_ERROR, NULL, "request: \"command\" must be a non-empty "
				     "string");
		goto bad;
	}
	args = json_object_get(req, "arguments");
	if (args != NULL && !json_is_object(args) && !json_is_array(args)) {
		*answer = ctl_answer(CTL_ERROR, NULL, "request: \"arguments\" must be an object");
		goto bad;
	}
	return req;
bad:
	json_decref(req);
	return NULL;
}

/* --- connections -------------------------------------------------------------------- */

static void conn_free(struct ctl_conn *c)
{
	struct ctl_server *s = c->srv;
	struct ctl_conn **pp;

	for (pp = &s->conns; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	if (!c->gone) {
		s->n_conns--;
		epoll_ctl(s->efd, EPOLL_CTL_DEL, c->fd, NULL);
	}
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

static void conn_flush(struct ctl_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				return;	/* EPOLLOUT brings us back */
			}
			break;		/* peer gone: nothing more to do */
		}
		if (n == 0) {
			break;
		}
		c->out_off += (size_t)n;
	}
	conn_free(c);
}

void ctl_conn_answer(struct ctl_conn *c, json_t *answer)
{
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
	char *text;

	if (c->gone) {
		json_decref(answer);	/* the client left while its command ran */
		conn_free(c);
		return;
	}
	if (answer == NULL) {
		answer = ctl_answer(CTL_ERROR, NULL, "internal error: no answer");
	}
	text = json_dumps(answer, JSON_COMPACT);
	json_decref(answer);
	if (text == NULL) {
		conn_free(c);
		return;
	}
	c->out_len = strlen(text) + 1;
	c->out = malloc(c->out_len);
	if (c->out == NULL) {
		free(text);
		conn_free(c);
		return;
	}
	memcpy(c->out, text, c->out_len - 1);
	free(text);
	c->out[c->out_len - 1] = '\n';
	c->out_off = 0;
	c->state = WRITING;
	c->deadline_ms = now_ms() + c->srv->o.timeout_ms;	/* to deliver the answer */
	epoll_ctl(c->srv->efd, EPOLL_CTL_MOD, c->fd, &ev);
	conn_flush(c);
}

bool ctl_conn_gone(const struct ctl_conn *c)
{
	return c->gone;
}

/* A whole request is in: parse, dispatch, and answer now or later. */
static int conn_request(struct ctl_conn *c)
{
	struct epoll_event ev = {.events = 0, .data.ptr = c};
	json_t *answer, *req;

	req = ctl_parse_request(c->in, c->in_len, c->srv->o.max_request, &answer);
	if (req == NULL) {
		ctl_conn_answer(c, answer);
		return 0;
	}
	c->state = WAITING;
	epoll_ctl(c->srv->efd, EPOLL_CTL_MOD, c->fd, &ev);
	answer = c->srv->fn(c->srv->arg, c, req);
	json_decref(req);
	if (answer != NULL) {
		ctl_conn_answer(c, answer);
	}
	return 1;
}

static int conn_read(struct ctl_conn *c)
{
	for (;;) {
		ssize_t n;
		int done;

		if (c->in_len == c->in_cap) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 4096;
			char *in;

			if (c->in_cap > c->srv->o.max_request) {
				ctl_conn_answer(c, ctl_answer(CTL_ERROR, NULL, "request larger "
							      "than %zu bytes",
							      c->srv->o.max_request));
				return 0;
			}
			in = realloc(c->in, cap + 1);
			if (in == NULL) {
				conn_free(c);
				return 0;
			}
			c->in = in;
			c->in_cap = cap;
		}
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				return 0;
			}
			conn_free(c);
			return 0;
		}
		if (n == 0) {
			/* EOF: whatever arrived is the whole request. */
			if (c->in_len == 0) {
				conn_free(c);
				return 0;
			}
			return conn_request(c);
		}
		c->in_len += (size_t)n;
		if (c->in_len > c->srv->o.max_request) {
			ctl_conn_answer(c, ctl_answer(CTL_ERROR, NULL, "request larger than %zu "
						      "bytes", c->srv->o.max_request));
			return 0;
		}
		done = ctl_request_complete(c->in, c->in_len);
		if (done != 0) {
			/* A complete object, or bytes that can never be one: parse now (the
			 * parser writes the precise error). */
			return conn_request(c);
		}
	}
}

static void accept_all(struct ctl_server *s)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};
		struct ctl_conn *c;

		if (fd < 0) {
			return;
		}
		if (s->n_conns >= s->o.max_conns) {
			static const char busy[] =
				"{\"result\":1,\"text\":\"too many control connections\"}\n";

			(void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			s->st.refused_busy++;
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->srv = s;
		c->fd = fd;
		c->deadline_ms = now_ms() + s->o.timeout_ms;
		ev.data.ptr = c;
		if (epoll_ctl(s->efd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = s->conns;
		s->conns = c;
		s->n_conns++;
	}
}

static void expire(struct ctl_server *s)
{
	uint64_t t = now_ms();
	struct ctl_conn *c = s->conns, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		if (c->state == READING && t >= c->deadline_ms) {
			s->st.read_timeouts++;
			ctl_conn_answer(c, ctl_answer(CTL_ERROR, NULL, "request timed out"));
		} else if (c->state == WRITING && t >= c->deadline_ms) {
			s->st.write_timeouts++;
			conn_free(c);	/* a client that never reads its answer */
		}
	}
}

const struct ctl_stats *ctl_server_stats(const struct ctl_server *s)
{
	return &s->st;
}

int ctl_server_fd(const struct ctl_server *s)
{
	return s->efd;
}

int ctl_server_poll(struct ctl_server *s, int timeout_ms)
{
	struct epoll_event ev[32];
	int n = epoll_wait(s->efd, ev, 32, timeout_ms), dispatched = 0;

	if (n < 0) {
		return errno == EINTR ? 0 : -errno;
	}
	for (int i = 0; i < n; i++) {
		struct ctl_conn *c = ev[i].data.ptr;

		if (c == NULL) {
			accept_all(s);
		} else if (c->state == READING) {
			dispatched += conn_read(c);
		} else if (c->state == WRITING) {
			conn_flush(c);
		} else if (ev[i].events & (EPOLLHUP | EPOLLERR)) {
			/* WAITING: the command owns the answer and will still give it; the peer
			 * is gone, so stop watching (epoll reports HUP whatever we ask) and let
			 * the connection stop counting against max_conns. */
			epoll_ctl(s->efd, EPOLL_CTL_DEL, c->fd, NULL);
			c->gone = true;
			s->n_conns--;
		}
	}
	expire(s);
	return dispatched;
}

/* --- the listening socket ----------------------------------------------------------- */

/*
 * Create the socket's directory (its parents 0755, itself 0750) if missing. With a control
 * group (@p gid not -1) the directory must let that group through, or the socket's 0660 is
 * useless: a directory that is ours and 0750 (as made here, now or at an earlier start) gets
 * the group; one made otherwise by the administrator is left as it is.
 */
static int make_dir(const char *path, gid_t gid, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir) {
		return 0;
	}
	*slash = '\0';
	for (char *p = dir + 1; *p != '\0'; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(dir, 0755) == 0) {
				(void)chmod(dir, 0755);	/* whatever the umask */
			}
			*p = '/';
		}
	}
	if (mkdir(dir, 0750) == 0) {
		(void)chmod(dir, 0750);	/* whatever the umask */
	} else if (errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (gid != (gid_t)-1) {
		struct stat st;

		if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
		    (st.st_mode & 07777) == 0750 && st.st_gid != gid &&
		    chown(dir, (uid_t)-1, gid) != 0) {
			snprintf(err, errlen, "cannot give %s to the control group: %s", dir,
				 strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* Is something listening on the socket file? Then it is not ours to remove. */
static bool in_use(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool used;

	if (fd < 0) {
		return false;
	}
	used = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return used;
}

struct ctl_server *ctl_server_open(const struct ctl_opts *o, ctl_dispatch_fn fn, void *arg,
				   char *err, size_t errlen)
{
	struct ctl_server *s = calloc(1, sizeof(*s));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	mode_t mode = 0600;
	gid_t gid = (gid_t)-1;

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->lfd = s->efd = -1;
	s->o = *o;
	s->o.max_request = o->max_request ? o->max_request : 1u << 20;
	s->o.timeout_ms = o->timeout_ms ? o->timeout_ms : 10000;
	s->o.max_conns = o->max_conns ? o->max_conns : 64;
	s->fn = fn;
	s->arg = arg;
	if (strlen(o->path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: path longer than %zu characters", o->path,
			 sizeof(sa.sun_path) - 1);
		goto fail;
	}
	snprintf(s->path, sizeof(s->path), "%s", o->path);
	memcpy(sa.sun_path, o->path, strlen(o->path) + 1);
	if (o->group != NULL && o->group[0] != '\0') {
		struct group *g = getgrnam(o->group);

		if (g == NULL) {
			snprintf(err, errlen, "control socket group \"%s\" does not exist",
				 o->group);
			goto fail;
		}
		gid = g->gr_gid;
		mode = 0660;
	}
	if (make_dir(o->path, gid, err, errlen) != 0) {
		goto fail;
	}
	if (in_use(&sa)) {
		snprintf(err, errlen, "%s: another process is listening on it (is leasewired "
			 "already running?)", o->path);
		s->path[0] = '\0';	/* not ours: never unlink it */
		goto fail;
	}
	{
		struct stat st;

		if (lstat(o->path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket: refusing to replace it",
				 o->path);
			s->path[0] = '\0';
			goto fail;
		}
	}
	(void)unlink(o->path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(o->path, mode) != 0 || (gid != (gid_t)-1 && chown(o->path, (uid_t)-1, gid) != 0) ||
	    listen(s->lfd, 64) != 0) {
		snprintf(err, errlen, "%s: %s", o->path, strerror(errno));
		goto fail;
	}
	s->efd = epoll_create1(EPOLL_CLOEXEC);
	if (s->efd < 0 || epoll_ctl(s->efd, EPOLL_CTL_ADD, s->lfd, &ev) != 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		goto fail;
	}
	return s;
fail:
	ctl_server_close(s);
	return NULL;
}

void ctl_server_close(struct ctl_server *s)
{
	if (s == NULL) {
		return;
	}
	while (s->conns != NULL) {
		conn_free(s->conns);
	}
	if (s->efd >= 0) {
		close(s->efd);
	}
	if (s->lfd >= 0) {
		close(s->lfd);
		if (s->path[0] != '\0') {
			(void)unlink(s->path);
		}
	}
	free(s);
}
