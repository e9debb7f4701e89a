/*
 * The control socket's transport: request framing and validation as a table of inputs, and
 * a real socket served by ctl_server_poll() against clients that split their request, send
 * too much, send garbage, say nothing, or come many at once.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "ctl.h"

static void request_complete_cases(void **state)
{
	static const struct {
		const char *in;
		int want;
	} t[] = {
		{"", 0},
		{"   \n", 0},
		{"{", 0},
		{"{\"command\": \"x\"", 0},
		{"{\"command\": \"x\"}", 1},
		{"  {\"a\": {\"b\": [1, 2, {}]}}", 1},
		{"{\"a\": \"}\"", 0},		/* brace inside a string */
		{"{\"a\": \"\\\"}\"", 0},		/* escaped quote inside a string */
		{"{\"a\": \"\\\\\"}", 1},	/* escaped backslash ends the string */
		{"[1]", -1},
		{"x", -1},
		{"{]}", 1},		/* "complete": the parser then refuses it */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int got = ctl_request_complete(t[i].in, strlen(t[i].in));

		if (got != t[i].want) {
			fail_msg("ctl_request_complete(%s) = %d, want %d", t[i].in, got, t[i].want);
		}
	}
}

static void parse_request_errors(void **state)
{
	static const struct {
		const char *in;
		const char *text;	/* NULL: accepted */
	} t[] = {
		{"{\"command\": \"status-get\"}", NULL},
		{"{\"command\": \"lease4-get\", \"arguments\": {\"ip-address\": \"198.18.0.1\"}}",
		 NULL},
		{"{\"command\": \"x\", \"arguments\": []}", NULL},
		{"{\"command\": ", "malformed JSON: "},
		{"{\"command\": \"a\", \"command\": \"b\"}", "malformed JSON: duplicate object key"},
		{"[\"command\"]", "a request must be a JSON object"},
		{"{\"arguments\": {}}", "request: \"command\" must be a non-empty string"},
		{"{\"command\": \"\"}", "request: \"command\" must be a non-empty string"},
		{"{\"command\": 7}", "request: \"command\" must be a non-empty string"},
		{"{\"command\": \"x\", \"arguments\": 7}", "request: \"arguments\" must be an object"},
		{"{\"command\": \"x\", \"service\": [\"dhcp4\"]}",
		 "request: unknown key \"service\" (expected \"command\" and \"arguments\")"},
		{"{\"command\": \"x\"} trailing", NULL},	/* the first object is the request */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		json_t *answer = NULL;
		json_t *req = ctl_parse_request(t[i].in, strlen(t[i].in), 1024, &answer);

		if (t[i].text == NULL) {
			if (req == NULL) {
				fail_msg("refused %s: %s", t[i].in, json_string_value(
						 json_object_get(answer, "text")));
			}
			json_decref(req);
			continue;
		}
		assert_null(req);
		assert_non_null(answer);
		assert_int_equal(json_integer_value(json_object_get(answer, "result")), CTL_ERROR);
		if (strncmp(json_string_value(json_object_get(answer, "text")), t[i].text,
			    strlen(t[i].text)) != 0) {
			fail_msg("%s: text \"%s\", want \"%s...\"", t[i].in,
				 json_string_value(json_object_get(answer, "text")), t[i].text);
		}
		json_decref(answer);
	}
	{
		json_t *answer = NULL;

		assert_null(ctl_parse_request("{\"command\": \"xxxxxxxx\"}", 23, 10, &answer));
		assert_string_equal(json_string_value(json_object_get(answer, "text")),
				    "request larger than 10 bytes");
		json_decref(answer);
	}
}

/* --- a real server --------------------------------------------------------------------- */

struct srv {
	char dir[64], path[108];
	struct ctl_server *s;
	struct ctl_conn *deferred;
	unsigned dispatched;
};

static json_t *dispatch(void *arg, struct ctl_conn *conn, json_t *req)
{
	struct srv *sv = arg;
	const char *cmd = json_string_value(json_object_get(req, "command"));

	sv->dispatched++;
	if (strcmp(cmd, "later") == 0) {
		sv->deferred = conn;
		return NULL;
	}
	if (strcmp(cmd, "big") == 0) {
		/* Larger than the socket buffers of both ends: it cannot all be sent unread. */
		static char text[8 << 20];

		memset(text, 'x', sizeof(text) - 1);
		return ctl_answer(CTL_OK, json_pack("{s:s}", "big", text), "done");
	}
	return ctl_answer(CTL_OK, json_pack("{s:s}", "echo", cmd), "done");
}

static int srv_setup(void **state)
{
	struct srv *sv = calloc(1, sizeof(*sv));
	struct ctl_opts o = {.max_request = 4096, .timeout_ms = 300};
	char err[256];

	snprintf(sv->dir, sizeof(sv->dir), "/tmp/lw-ctl.XXXXXX");
	assert_non_null(mkdtemp(sv->dir));
	snprintf(sv->path, sizeof(sv->path), "%s/sub/ctl.sock", sv->dir);
	o.path = sv->path;
	sv->s = ctl_server_open(&o, dispatch, sv, err, sizeof(err));
	if (sv->s == NULL) {
		fail_msg("ctl_server_open: %s", err);
	}
	*state = sv;
	return 0;
}

static int srv_teardown(void **state)
{
	struct srv *sv = *state;
	char cmd[128];

	ctl_server_close(sv->s);
	assert_int_not_equal(access(sv->path, F_OK), 0);	/* socket file removed */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sv->dir);
	assert_int_equal(system(cmd), 0);
	free(sv);
	return 0;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Serve until @p fd has a complete answer (or the deadline): returns the parsed answer. */
static json_t *answer_of(struct srv *sv, int fd)
{
	char buf[8192];
	size_t len = 0;

	for (int i = 0; i < 400; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		(void)ctl_server_poll(sv->s, 5);
		if (poll(&p, 1, 0) <= 0) {
			continue;
		}
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0) {
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return json_loads(buf, 0, NULL);
}

static int result_of(json_t *a)
{
	return (int)json_integer_value(json_object_get(a, "result"));
}

static void split_request_is_assembled(void **state)
{
	struct srv *sv = *state;
	const char *req = "{\"command\": \"status-get\", \"arguments\": {}}";
	int fd = connect_to(sv->path);
	json_t *a;

	/* One byte at a time, no EOF, no newline: answered when the object is whole. */
	for (size_t i = 0; i < strlen(req); i++) {
		assert_int_equal(write(fd, req + i, 1), 1);
		(void)ctl_server_poll(sv->s, 0);
	}
	a = answer_of(sv, fd);
	assert_non_null(a);
	assert_int_equal(result_of(a), CTL_OK);
	assert_string_equal(json_string_value(json_object_get(json_object_get(a, "arguments"),
							      "echo")), "status-get");
	json_decref(a);
}

static void bad_requests_get_errors(void **state)
{
	struct srv *sv = *state;
	char big[6000];
	json_t *a;
	int fd;

	fd = connect_to(sv->path);
	assert_int_equal(write(fd, "{\"command\": nope}", 17), 17);
	a = answer_of(sv, fd);
	assert_int_equal(result_of(a), CTL_ERROR);
	assert_non_null(strstr(json_string_value(json_object_get(a, "text")), "malformed JSON"));
	json_decref(a);

	fd = connect_to(sv->path);
	memset(big, ' ', sizeof(big));
	big[0] = '{';
	(void)!write(fd, big, sizeof(big));
	a = answer_of(sv, fd);
	assert_int_equal(result_of(a), CTL_ERROR);
	assert_string_equal(json_string_value(json_object_get(a, "text")),
			    "request larger than 4096 bytes");
	json_decref(a);

	fd = connect_to(sv->path);
	assert_int_equal(write(fd, "hello", 5), 5);
	a = answer_of(sv, fd);
	assert_int_equal(result_of(a), CTL_ERROR);
	json_decref(a);
	assert_int_equal(sv->dispatched, 0);	/* none of them reached a command */
}

static void silent_client_times_out(void **state)
{
	struct srv *sv = *state;
	int fd = connect_to(sv->path);
	json_t *a;

	assert_int_equal(write(fd, "{\"command\"", 10), 10);
	a = answer_of(sv, fd);		/* 300 ms timeout in srv_setup */
	assert_non_null(a);
	assert_string_equal(json_string_value(json_object_get(a, "text")), "request timed out");
	json_decref(a);
}

static void half_close_ends_request(void **state)
{
	struct srv *sv = *state;
	int fd = connect_to(sv->path);
	json_t *a;

	/* Not a complete object yet, then EOF: parsed as is (and refused precisely). */
	assert_int_equal(write(fd, "{\"command\": \"x\"", 15), 15);
	shutdown(fd, SHUT_WR);
	a = answer_of(sv, fd);
	assert_int_equal(result_of(a), CTL_ERROR);
	assert_non_null(strstr(json_string_value(json_object_get(a, "text")), "malformed JSON"));
	json_decref(a);
}

static void deferred_answer_and_concurrency(void **state)
{
	struct srv *sv = *state;
	int slow = connect_to(sv->path), fds[20];
	json_t *a;

	assert_int_equal(write(slow, "{\"command\": \"later\"}", 20), 20);
	for (int i = 0; i < 30 && sv->deferred == NULL; i++) {
		(void)ctl_server_poll(sv->s, 5);
	}
	assert_non_null(sv->deferred);
	/* While that one waits, twenty others are served. */
	for (int i = 0; i < 20; i++) {
		fds[i] = connect_to(sv->path);
		assert_int_equal(write(fds[i], "{\"command\": \"quick\"}", 20), 20);
	}
	for (int i = 0; i < 20; i++) {
		a = answer_of(sv, fds[i]);
		assert_int_equal(result_of(a), CTL_OK);
		json_decref(a);
	}
	ctl_conn_answer(sv->deferred, ctl_answer(CTL_EMPTY, NULL, "finally"));
	a = answer_of(sv, slow);
	assert_int_equal(result_of(a), CTL_EMPTY);
	assert_string_equal(json_string_value(json_object_get(a, "text")), "finally");
	json_decref(a);
}

/* The client hangs up while its command is still running: the late answer goes nowhere,
 * without a crash, and the connection does not stay counted. */
static void client_gone_before_answer(void **state)
{
	struct srv *sv = *state;
	int fd = connect_to(sv->path);
	int polled = 0;

	assert_int_equal(write(fd, "{\"command\": \"later\"}", 20), 20);
	for (int i = 0; i < 30 && sv->deferred == NULL; i++) {
		(void)ctl_server_poll(sv->s, 5);
	}
	assert_non_null(sv->deferred);
	close(fd);
	/* HUP is seen once and the fd leaves epoll: later polls are idle, not spinning. */
	for (int i = 0; i < 5; i++) {
		polled += ctl_server_poll(sv->s, 10);
	}
	assert_int_equal(polled, 0);
	ctl_conn_answer(sv->deferred, ctl_answer(CTL_OK, NULL, "too late"));
	/* The server still serves. */
	fd = connect_to(sv->path);
	assert_int_equal(write(fd, "{\"command\": \"quick\"}", 20), 20);
	{
		json_t *a = answer_of(sv, fd);

		assert_int_equal(result_of(a), CTL_OK);
		json_decref(a);
	}
}

/*
 * A client asks for a large answer and never reads it: the loop goes on serving others (it
 * never waits for a client), and once the timeout has passed the connection is closed, its
 * buffer freed, and write_timeouts counts it.
 */
static void never_reading_client_is_dropped(void **state)
{
	struct srv *sv = *state;
	int lazy = connect_to(sv->path), buf = 4096;
	unsigned served = 0;
	json_t *a;

	assert_int_equal(setsockopt(lazy, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf)), 0);
	assert_int_equal(write(lazy, "{\"command\": \"big\"}", 18), 18);
	for (int i = 0; i < 10; i++) {
		int fd = connect_to(sv->path);

		assert_int_equal(write(fd, "{\"command\": \"quick\"}", 20), 20);
		a = answer_of(sv, fd);
		served += result_of(a) == CTL_OK;
		json_decref(a);
	}
	assert_int_equal(served, 10);
	assert_int_equal(ctl_server_stats(sv->s)->write_timeouts, 0);
	for (int i = 0; i < 100 && ctl_server_stats(sv->s)->write_timeouts == 0; i++) {
		(void)ctl_server_poll(sv->s, 10);	/* 300 ms timeout in srv_setup */
	}
	assert_int_equal(ctl_server_stats(sv->s)->write_timeouts, 1);
	/* The server closed it: what the client reads ends (short of the whole answer). */
	{
		static char sink[1 << 16];
		size_t got = 0;
		ssize_t n;

		while ((n = read(lazy, sink, sizeof(sink))) > 0) {
			got += (size_t)n;
		}
		assert_true(got < (8u << 20));
	}
	close(lazy);
}

static void second_server_refused(void **state)
{
	struct srv *sv = *state;
	struct ctl_opts o = {.path = sv->path};
	char err[256];

	assert_null(ctl_server_open(&o, dispatch, sv, err, sizeof(err)));
	assert_non_null(strstr(err, "another process is listening"));
	assert_int_equal(access(sv->path, F_OK), 0);	/* the first one's socket survives */
}

#define S(f) cmocka_unit_test_setup_teardown(f, srv_setup, srv_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(request_complete_cases),
		cmocka_unit_test(parse_request_errors),
		S(split_request_is_assembled),
		S(bad_requests_get_errors),
		S(silent_client_times_out),
		S(half_close_ends_request),
		S(deferred_answer_and_concurrency),
		S(client_gone_before_answer),
		S(never_reading_client_is_dropped),
		S(second_server_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
