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
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
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
#include "port_fix.h"
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

/* Our listener's port: picked by the kernel and held for the test (port_fix.h), from set-up
 * to teardown, so that no other test program running beside this one is given it between
 * the pick and our bind (a port closed after the pick could go to anyone's bind(0) or
 * connect()). The crash test's restart binds it again. */
static struct port_fix held;

static int hold_port(void **state)
{
	(void)state;
	return port_fix_take(&held) == 0 ? 0 : -1;
}

static int drop_port(void **state)
{
	(void)state;
	port_fix_drop(&held);
	return 0;
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
	uint16_t peer_port, our_port = held.port;
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

/* Review 6 (suspected): this server dies between the partner's "ok" to create-relationship
 * and its own apply of failover-add. It restarts without relationship "r" (never applied
 * here), and the partner holds "r" and its scopes alone. The child process plays this server
 * up to the request, the test (the partner) takes the request and SIGKILLs it before any
 * answer; this server is then started again on the same store: it must tell the partner to
 * delete "r". */
static void test_create_crash_before_local_apply(void **state)
{
	char dir[] = "/tmp/lw-test-mgmt-run-XXXXXX", err[512], path[256];
	uint16_t peer_port, our_port = held.port;
	int lfd = peer_listen(&peer_port), status;
	struct fake f;

	(void)state;
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
	json_decref(j);
	if (cfg == NULL) {
		fail_msg("%s", err);
	}
	struct dp_snapshot snap = {.cfg = cfg};
	struct dp_runtime rt = {.snap = &snap};
	struct cp_mgmt_env env = {.rt = &rt};
	struct cp_mgmt *m;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		/* This server: failover-add of "r" with scope "relayed", then serve the channel
		 * until killed (no cmocka in here: exit codes only). */
		struct done_state done = {0};
		json_t *doc;

		if (cp_mgmt_start(&env, &m) != 0) {
			_exit(2);
		}
		doc = cp_config_to_json(cfg);
		json_object_set_new(doc, "relationships",
				    json_pack("[{s:s,s:s,s:s,s:s,s:s,s:[s]}]", "name", "r", "role",
					      "primary", "mode", "hot-standby", "local-address", US,
					      "partner-address", PEER, "scopes", "relayed"));
		if (cp_mgmt_create(m, ip(PEER), doc, "r", on_done, &done, err, sizeof(err)) != 0) {
			_exit(3);
		}
		for (uint64_t end = now_ms() + 10000; now_ms() < end && done.calls == 0;) {
			cp_mgmt_poll(m);
			usleep(2000);
		}
		_exit(4);
	}
	/* The partner: it takes the request (and would apply it now); this server dies before
	 * the answer is read. */
	int fd = fake_accept(NULL, lfd, 5000);
	assert_true(fd >= 0);
	json_t *req = fake_request(NULL, &f, fd);
	assert_string_equal(json_string_value(json_object_get(req, "op")),
			    "create-relationship");
	json_decref(req);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	close(fd);
	mgmt_session_wipe(&f.s);

	/* Started again on the same store, without "r". */
	assert_int_equal(cp_mgmt_start(&env, &m), 0);
	fd = fake_accept(m, lfd, 4000);
	if (fd < 0) {
		fail_msg("this server died between the partner's ok to create-relationship and its "
			 "own apply, and after its restart nothing tells the partner to delete "
			 "relationship r: the partner keeps it alone");
	}
	req = fake_request(m, &f, fd);
	assert_string_equal(json_string_value(json_object_get(req, "op")),
			    "delete-relationship");
	assert_string_equal(json_string_value(json_object_get(req, "name")), "r");
	fake_send(&f, MGMT_ANSWER, json_pack("{s:b,s:O}", "ok", 1, "id",
					     json_object_get(req, "id")));
	json_decref(req);
	/* Delivered: it leaves the queue, and nothing more is sent. */
	for (uint64_t end = now_ms() + 500; now_ms() < end;) {
		cp_mgmt_poll(m);
		usleep(2000);
	}
	close(fd);
	mgmt_session_wipe(&f.s);
	assert_int_equal(fake_accept(m, lfd, 1500), -1);
	cp_mgmt_stop(m);
	close(lfd);
	dp_config_free(cfg);
	snprintf(path, sizeof(path), "%s/mgmt-queue.json", dir);
	(void)unlink(path);
	(void)rmdir(dir);
}

/* A running cp_mgmt on US whose relationship "r" with PEER (secondary, load balance) shares
 * scope "relayed" only; "lab" is this server's alone. */
struct responder {
	char dir[32];
	uint16_t port;
	struct dp_runtime rt;
	struct cp_persist persist;
	struct cp_apply apply;
	struct cp_mgmt *m;
};

static void responder_start(struct responder *t)
{
	char err[512];

	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/lw-test-mgmt-run-XXXXXX");
	t->port = held.port;
	assert_non_null(mkdtemp(t->dir));
	urcu_qsbr_register_thread();
	json_t *j = json_loads(cp_config_default_json(), 0, NULL);
	assert_non_null(j);
	json_object_set_new(json_object_get(j, "server"), "store", json_string(t->dir));
	json_object_set_new(json_object_get(j, "server"), "management",
			    json_pack("{s:s,s:i,s:[{s:s,s:s}]}", "address", US, "port", t->port,
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
	t->rt.n_workers = 1;
	t->apply = (struct cp_apply){.rt = &t->rt, .persist = &t->persist};
	t->rt.snap = calloc(1, sizeof(*t->rt.snap));
	assert_non_null(t->rt.snap);
	t->rt.snap->cfg = cfg;
	t->rt.snap->pools = dp_pools_new(cfg, t->rt.n_workers);
	assert_non_null(t->rt.snap->pools);
	t->rt.workers = aligned_alloc(64, 64 * ((sizeof(*t->rt.workers) + 63) / 64));
	assert_non_null(t->rt.workers);
	memset(t->rt.workers, 0, sizeof(*t->rt.workers));
	t->rt.table = bt_table_new(dp_config_capacity(cfg));
	assert_non_null(t->rt.table);
	urcu_qsbr_thread_offline();

	struct cp_mgmt_env env = {.rt = &t->rt, .apply = &t->apply};

	assert_int_equal(cp_mgmt_start(&env, &t->m), 0);
}

static void responder_stop(struct responder *t)
{
	char path[256];

	cp_mgmt_stop(t->m);
	cp_apply_deinit(&t->apply);
	urcu_qsbr_thread_online();
	dp_snapshot_free(t->rt.snap);
	bt_table_free(t->rt.table);
	free(t->rt.workers);
	urcu_qsbr_unregister_thread();
	snprintf(path, sizeof(path), "%s/mgmt-queue.json", t->dir);
	(void)unlink(path);
	(void)rmdir(t->dir);
}

/* Play the initiator from the partner's address @p from: connect, handshake, send request
 * @p req (consumed, "id" 1 added) and return the ANSWER's body (the caller's). */
static json_t *ask(struct responder *t, const char *from, json_t *req)
{
	struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(ip(from))};
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(t->port),
				  .sin_addr.s_addr = htonl(ip(US))};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	static uint8_t calls;
	uint8_t nonce[MGMT_NONCE_LEN] = {1, 2, 3, 4};
	struct fake f;
	uint8_t type;

	nonce[15] = ++calls;	/* a fresh HELLO each time: the same nonce is a replay */
	assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&dst, sizeof(dst)), 0);
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	memset(&f, 0, sizeof(f));
	f.fd = fd;
	mgmt_session_init(&f.s, true, SECRET, strlen(SECRET), nonce);
	fake_send(&f, MGMT_HELLO, mgmt_hello_new(&f.s, NULL));
	json_t *b = fake_recv(t->m, &f, &type);

	assert_non_null(b);
	assert_int_equal(type, MGMT_WELCOME);
	json_decref(b);
	json_object_set_new(req, "id", json_integer(1));
	fake_send(&f, MGMT_REQUEST, req);
	b = fake_recv(t->m, &f, &type);
	assert_non_null(b);
	assert_int_equal(type, MGMT_ANSWER);
	close(fd);
	mgmt_session_wipe(&f.s);
	return b;
}

/* Review 6: the responder (request_cb) deletes the scope a scope-remove names once the
 * relationship lets it go ("second step", as Windows). It did so even when the scope was never
 * in that relationship: a partner could delete any scope this server serves alone. The test
 * plays the initiator, from the partner's address, against a running cp_mgmt whose
 * relationship "r" with it shares "relayed" only; it asks to remove "lab". */
static void test_scope_remove_foreign(void **state)
{
	struct responder t;

	(void)state;
	responder_start(&t);
	json_decref(ask(&t, PEER, json_pack("{s:s,s:s,s:s}", "op", "scope-remove", "name", "r",
					    "scope", "lab")));

	bool has_lab = false;
	const struct dp_config *c = t.rt.snap->cfg;

	for (uint32_t i = 0; i < c->n_scopes; i++) {
		has_lab |= strcmp(c->scopes[i].name, "lab") == 0;
	}
	responder_stop(&t);
	if (!has_lab) {
		fail_msg("a scope-remove of \"lab\", never in relationship r, deleted this server's "
			 "own scope lab");
	}
}

/* Review 6: scope-digest answered for any scope name, so a management partner learnt the
 * digest of scopes it does not share (and, by trying settings, what they hold). It answers
 * for "relayed" (shared with PEER) and refuses "lab" (ours alone) and an unknown name with
 * the same words. */
static void test_scope_digest_not_shared(void **state)
{
	struct responder t;
	json_t *a;

	(void)state;
	responder_start(&t);
	a = ask(&t, PEER, json_pack("{s:s,s:s}", "op", "scope-digest", "scope", "relayed"));
	assert_true(json_is_true(json_object_get(a, "ok")));
	assert_int_equal(strlen(json_string_value(json_object_get(a, "digest"))), 64);
	json_decref(a);

	json_t *lab = ask(&t, PEER, json_pack("{s:s,s:s}", "op", "scope-digest", "scope", "lab"));
	json_t *none = ask(&t, PEER, json_pack("{s:s,s:s}", "op", "scope-digest", "scope", "zz"));
	bool leaked = !json_is_false(json_object_get(lab, "ok")) ||
		      json_object_get(lab, "digest") != NULL;
	const char *e1 = json_string_value(json_object_get(lab, "error"));
	const char *e2 = json_string_value(json_object_get(none, "error"));
	/* The same words but for the name: "... \"lab\" ..." and "... \"zz\" ...". */
	const char *t1 = e1 != NULL ? strstr(e1, "\"lab\"") : NULL;
	const char *t2 = e2 != NULL ? strstr(e2, "\"zz\"") : NULL;
	bool same = t1 != NULL && t2 != NULL && t1 - e1 == t2 - e2 &&
		    strncmp(e1, e2, (size_t)(t1 - e1)) == 0 && strcmp(t1 + 5, t2 + 4) == 0;

	json_decref(lab);
	json_decref(none);
	responder_stop(&t);
	if (leaked) {
		fail_msg("scope-digest answered for scope lab, which is not shared with the asking "
			 "partner");
	}
	assert_true(same);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_answer_lost, hold_port, drop_port),
		cmocka_unit_test_setup_teardown(test_create_refused, hold_port, drop_port),
		cmocka_unit_test_setup_teardown(test_create_crash_before_local_apply, hold_port,
						drop_port),
		cmocka_unit_test_setup_teardown(test_scope_remove_foreign, hold_port, drop_port),
		cmocka_unit_test_setup_teardown(test_scope_digest_not_shared, hold_port, drop_port),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
