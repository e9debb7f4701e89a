/*
 * Unit tests of controlplane/mgmt_run (the management channel at run time) against a scripted
 * partner on the loopback: the test plays the partner with mgmt_proto, so it can stop at any
 * point of an exchange.
 *
 * Review 6: a failover-add sends create-relationship; when the partner applied it and its
 * ANSWER never arrived (it crashed, the network dropped it, the answer took longer than
 * MGMT_LINK_TIMEOUT_MS), the outcome is unknown: the partner may hold the relationship and
 * its scopes while this server does not. The relationship must then be undone on the partner
 * (a delete-relationship queued, delivered once it is reached), never left half-made.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "bindings.h"
#include "config.h"
#include "dp_config.h"
#include "persist.h"
#include "pool.h"
#include "mgmt_proto.h"
#include "mgmt_run.h"
#include "worker.h"

#define US	"127.0.0.1"
#define PEER	"127.0.0.2"
#define SECRET	"review6-secret"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint32_t ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return ntohl(a.s_addr);
}

/* A listening socket on PEER (an ephemeral port). */
static int peer_listen(uint16_t *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(ip(PEER))};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* A free port on US for our listener. */
static uint16_t free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(ip(US))};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

struct done_state {
	int calls;
	bool ok;
	int undo;
	char err[512];
};

static void on_done(void *arg, bool ok, int undo, const char *err)
{
	struct done_state *d = arg;

	d->calls++;
	d->ok = ok;
	d->undo = undo;
	snprintf(d->err, sizeof(d->err), "%s", err != NULL ? err : "");
}

/* The partner's side of one connection. */
struct fake {
	int fd;
	struct mgmt_session s;
	struct mgmt_nonce_cache cache;
	uint8_t buf[1 << 16];
	size_t n;
};

/* Read one frame (the daemon side is driven by cp_mgmt_poll meanwhile). */
static json_t *fake_recv(struct cp_mgmt *m, struct fake *f, uint8_t *type)
{
	uint64_t end = now_ms() + 5000;

	while (now_ms() < end) {
		long need = mgmt_frame_len(f->buf, f->n);

		assert_true(need >= 0);
		if (need > 0 && f->n >= (size_t)need) {
			struct mgmt_msg msg;
			char err[256];
			int rc = mgmt_session_recv(&f->s, &f->cache, f->buf, (size_t)need,
						   (uint64_t)time(NULL), &msg, err, sizeof(err));

			if (rc != 0) {
				fail_msg("partner: %s", err);
			}
			memmove(f->buf, f->buf + need, f->n - (size_t)need);
			f->n -= (size_t)need;
			*type = msg.type;
			return msg.body;
		}
		cp_mgmt_poll(m);
		ssize_t r = read(f->fd, f->buf + f->n, sizeof(f->buf) - f->n);

		if (r > 0) {
			f->n += (size_t)r;
		} else if (r == 0) {
			return NULL;
		} else {
			usleep(2000);
		}
	}
	fail_msg("partner: no frame within 5 s");
	return NULL;
}

static void fake_send(struct fake *f, uint8_t type, json_t *body)
{
	uint8_t *fr;
	size_t len;

	assert_int_equal(mgmt_frame_encode(&f->s, type, (uint64_t)time(NULL), body, &fr, &len), 0);
	assert_int_equal(write(f->fd, fr, len), (ssize_t)len);
	free(fr);
	json_decref(body);
}

/* Accept the next connection from the daemon within @p ms, or -1. */
static int fake_accept(struct cp_mgmt *m, int lfd, uint64_t ms)
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end) {
		int fd;

		cp_mgmt_poll(m);
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			return fd;
		}
		usleep(2000);
	}
	return -1;
}

/* Handshake as the responder, then read the REQUEST; the caller owns it. */
static json_t *fake_request(struct cp_mgmt *m, struct fake *f, int fd)
{
	uint8_t nonce[MGMT_NONCE_LEN] = {7, 7, 7};
	uint8_t type;
	json_t *b;

	memset(f, 0, sizeof(*f));
	f->fd = fd;
	nonce[15] = (uint8_t)fd;
	mgmt_session_init(&f->s, false, SECRET, strlen(SECRET), nonce);
	b = fake_recv(m, f, &type);
	assert_non_null(b);
	assert_int_equal(type, MGMT_HELLO);
	json_decref(b);
	fake_send(f, MGMT_WELCOME, mgmt_hello_new(&f->s, NULL));
	b = fake_recv(m, f, &type);
	assert_non_null(b);
	assert_int_equal(type, MGMT_REQUEST);
	return b;
}

/* @p refuse: the partner refuses the request (a REFUSE frame) instead of going away. */
static void create_then_fail(bool refuse)
{
	char dir[] = "/tmp/lw-test-mgmt-run-XXXXXX", err[512];
	uint16_t peer_port, our_port = free_port();
	int lfd = peer_listen(&peer_port);
	struct done_state done = {0};
	struct fake f;

	assert_non_null(mkdtemp(dir));
	json_t *j = json_loads(cp_config_default_json(), 0, NULL);
	assert_non_null(j);
	json_object_set_new(json_object_get(j, "server"), "store", json_string(dir));
	json_object_set_new(json_object_get(j, "server"), "management",
			    json_pack("{s:s,s:i,s:[{s:s,s:i,s:s}]}", "address", US, "port",
				      our_port, "partners", "address", PEER, "port", peer_port,
				      "shared-secret", SECRET));
	char *text = json_dumps(j, 0);
	struct dp_config *cfg = cp_config_parse(text, err, sizeof(err));

	free(text);
	if (cfg == NULL) {
		fail_msg("%s", err);
	}
	struct dp_snapshot snap = {.cfg = cfg};
	struct dp_runtime rt = {.snap = &snap};
	struct cp_mgmt_env env = {.rt = &rt};
	struct cp_mgmt *m;

	assert_int_equal(cp_mgmt_start(&env, &m), 0);

	/* failover-add of relationship "r" with scope "relayed": the document it would run. */
	json_t *doc = cp_config_to_json(cfg);
	json_object_set_new(doc, "relationships",
			    json_pack("[{s:s,s:s,s:s,s:s,s:s,s:[s]}]", "name", "r", "role",
				      "primary", "mode", "hot-standby", "local-address", US,
				      "partner-address", PEER, "scopes", "relayed"));
	assert_int_equal(cp_mgmt_create(m, ip(PEER), doc, "r", on_done, &done, err,
					sizeof(err)), 0);
	json_decref(doc);

	/* The partner takes the request (it would apply it now) and goes away unanswered. */
	int fd = fake_accept(m, lfd, 5000);
	assert_true(fd >= 0);
	json_t *req = fake_request(m, &f, fd);
	assert_string_equal(json_string_value(json_object_get(req, "op")),
			    "create-relationship");
	json_decref(req);
	if (refuse) {
		fake_send(&f, MGMT_REFUSE, json_pack("{s:s,s:s}", "code", "field", "error",
						     "create-relationship: unknown field \"x\""));
	}
	close(fd);
	mgmt_session_wipe(&f.s);
	for (uint64_t end = now_ms() + 5000; done.calls == 0 && now_ms() < end;) {
		cp_mgmt_poll(m);
		usleep(2000);
	}
	assert_int_equal(done.calls, 1);
	assert_false(done.ok);
	if (refuse) {
		/* Refused, so not made there: nothing to undo, nothing queued. */
		assert_int_equal(done.undo, 0);
		assert_non_null(strstr(done.err, "unknown field"));
		assert_int_equal(fake_accept(m, lfd, 1500), -1);
		goto out;
	}
	assert_int_equal(done.undo, 1);

	/* The partner may hold "r" now: it must be told to delete it once reachable again. */
	fd = fake_accept(m, lfd, 4000);
	if (fd < 0) {
		fail_msg("create-relationship went unanswered (\"%s\") and nothing tells the "
			 "partner to undo it: it may keep relationship r and its scopes alone",
			 done.err);
	}
	req = fake_request(m, &f, fd);
	assert_string_equal(json_string_value(json_object_get(req, "op")),
			    "delete-relationship");
	assert_string_equal(json_string_value(json_object_get(req, "name")), "r");
	fake_send(&f, MGMT_ANSWER, json_pack("{s:b,s:s,s:O}", "ok", 0, "error",
					     "delete-relationship: no relationship \"r\" here",
					     "id", json_object_get(req, "id")));
	json_decref(req);
	for (uint64_t end = now_ms() + 2000; now_ms() < end;) {
		cp_mgmt_poll(m);
		usleep(2000);
	}
	close(fd);
	mgmt_session_wipe(&f.s);
out:
	cp_mgmt_stop(m);
	close(lfd);
	dp_config_free(cfg);
	json_decref(j);
	char path[256];

	snprintf(path, sizeof(path), "%s/mgmt-queue.json", dir);
	(void)unlink(path);
	(void)rmdir(dir);
}

static void test_create_answer_lost(void **state)
{
	(void)state;
	create_then_fail(false);
}

static void test_create_refused(void **state)
{
	(void)state;
	create_then_fail(true);
}

/* Review 6: the responder (request_cb) deletes the scope a scope-remove names once the
 * relationship lets it go ("second step", as Windows). It did so even when the scope was never
 * in that relationship: a partner could delete any scope this server serves alone. The test
 * plays the initiator, from the partner's address, against a running cp_mgmt whose
 * relationship "r" with it shares "relayed" only; it asks to remove "lab". */
static void test_scope_remove_foreign(void **state)
{
	char dir[] = "/tmp/lw-test-mgmt-run-XXXXXX", err[512];
	uint16_t our_port = free_port();
	struct fake f;
	uint8_t type;

	(void)state;
	assert_non_null(mkdtemp(dir));
	urcu_qsbr_register_thread();
	json_t *j = json_loads(cp_config_default_json(), 0, NULL);
	assert_non_null(j);
	json_object_set_new(json_object_get(j, "server"), "store", json_string(dir));
	json_object_set_new(json_object_get(j, "server"), "management",
			    json_pack("{s:s,s:i,s:[{s:s,s:s}]}", "address", US, "port", our_port,
				      "partners", "address", PEER, "shared-secret", SECRET));
	/* "relayed" first: deleting "lab" then moves no shared scope (which needs a restart
	 * without a follower), so only the deletion itself is tested. */
	json_t *scopes = json_object_get(j, "scopes");

	for (size_t i = 0; i < json_array_size(scopes); i++) {
		json_t *sc = json_array_get(scopes, i);

		if (i > 0 && strcmp(json_string_value(json_object_get(sc, "name")), "relayed") == 0) {
			json_incref(sc);
			json_array_remove(scopes, i);
			json_array_insert_new(scopes, 0, sc);
			break;
		}
	}
	json_object_set_new(j, "relationships",
			    json_pack("[{s:s,s:s,s:s,s:i,s:s,s:s,s:[s]}]", "name", "r", "role",
				      "secondary", "mode", "load-balance", "load-balance-percent",
				      50, "local-address", US, "partner-address", PEER, "scopes",
				      "relayed"));
	char *text = json_dumps(j, 0);
	struct dp_config *cfg = cp_config_parse(text, err, sizeof(err));

	free(text);
	json_decref(j);
	if (cfg == NULL) {
		fail_msg("%s", err);
	}
	struct dp_runtime rt = {.n_workers = 1};
	struct cp_persist persist = {0};
	struct cp_apply apply = {.rt = &rt, .persist = &persist};

	rt.snap = calloc(1, sizeof(*rt.snap));
	assert_non_null(rt.snap);
	rt.snap->cfg = cfg;
	rt.snap->pools = dp_pools_new(cfg, rt.n_workers);
	assert_non_null(rt.snap->pools);
	rt.workers = aligned_alloc(64, 64 * ((sizeof(*rt.workers) + 63) / 64));
	assert_non_null(rt.workers);
	memset(rt.workers, 0, sizeof(*rt.workers));
	rt.table = bt_table_new(dp_config_capacity(cfg));
	assert_non_null(rt.table);
	urcu_qsbr_thread_offline();

	struct cp_mgmt_env env = {.rt = &rt, .apply = &apply};
	struct cp_mgmt *m;

	assert_int_equal(cp_mgmt_start(&env, &m), 0);

	/* The partner connects from its own address. */
	struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(ip(PEER))};
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(our_port),
				  .sin_addr.s_addr = htonl(ip(US))};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint8_t nonce[MGMT_NONCE_LEN] = {1, 2, 3, 4};

	assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&dst, sizeof(dst)), 0);
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	memset(&f, 0, sizeof(f));
	f.fd = fd;
	mgmt_session_init(&f.s, true, SECRET, strlen(SECRET), nonce);
	fake_send(&f, MGMT_HELLO, mgmt_hello_new(&f.s, NULL));
	json_t *b = fake_recv(m, &f, &type);

	assert_non_null(b);
	assert_int_equal(type, MGMT_WELCOME);
	json_decref(b);
	fake_send(&f, MGMT_REQUEST, json_pack("{s:s,s:i,s:s,s:s}", "op", "scope-remove", "id", 1,
					      "name", "r", "scope", "lab"));
	b = fake_recv(m, &f, &type);
	assert_non_null(b);
	assert_int_equal(type, MGMT_ANSWER);
	json_decref(b);
	close(fd);
	mgmt_session_wipe(&f.s);

	bool has_lab = false;
	const struct dp_config *c = rt.snap->cfg;

	for (uint32_t i = 0; i < c->n_scopes; i++) {
		has_lab |= strcmp(c->scopes[i].name, "lab") == 0;
	}
	cp_mgmt_stop(m);
	cp_apply_deinit(&apply);
	urcu_qsbr_thread_online();
	dp_snapshot_free(rt.snap);
	bt_table_free(rt.table);
	free(rt.workers);
	urcu_qsbr_unregister_thread();
	char path[256];

	snprintf(path, sizeof(path), "%s/mgmt-queue.json", dir);
	(void)unlink(path);
	(void)rmdir(dir);
	if (!has_lab) {
		fail_msg("a scope-remove of \"lab\", never in relationship r, deleted this server's "
			 "own scope lab");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_answer_lost),
		cmocka_unit_test(test_create_refused),
		cmocka_unit_test(test_scope_remove_foreign),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
