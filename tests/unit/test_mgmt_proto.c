/*
 * Unit tests of controlplane/mgmt_proto: the management channel's frames, handshake and
 * every refusal (bad digest, replayed sequence, replayed nonce on a new connection, frame of
 * another connection, stale time, unknown field or op, oversized or half frame) and the
 * sealed relationship secret.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "mgmt_proto.h"

#define NOW 1700000000ull
static const char secret[] = "the management secret";

struct pair {
	struct mgmt_session i, r;
	struct mgmt_nonce_cache cache;
	uint8_t *hello;
	size_t hello_len;
};

static void nonce_of(uint8_t n[MGMT_NONCE_LEN], uint8_t seed)
{
	for (size_t k = 0; k < MGMT_NONCE_LEN; k++) {
		n[k] = (uint8_t)(seed + 7 * k);
	}
}

static void send(struct mgmt_session *s, uint8_t type, uint64_t now, json_t *body, uint8_t **f,
		 size_t *len)
{
	assert_int_equal(mgmt_frame_encode(s, type, now, body, f, len), 0);
	json_decref(body);
	assert_int_equal(mgmt_frame_len(*f, *len), (long)*len);
}

static int recv_rc(struct mgmt_session *s, struct mgmt_nonce_cache *c, const uint8_t *f,
		   size_t len, uint64_t now, char *err, size_t errlen)
{
	struct mgmt_msg m;
	int rc = mgmt_session_recv(s, c, f, len, now, &m, err, errlen);
	json_decref(m.body);
	return rc;
}

/* Both sides through HELLO / WELCOME; the HELLO frame is kept for replay tests. */
static void handshake(struct pair *p, uint8_t iseed, uint8_t rseed, const char *rsecret)
{
	uint8_t ni[MGMT_NONCE_LEN], nr[MGMT_NONCE_LEN];
	char err[256];
	uint8_t *f;
	size_t len;

	nonce_of(ni, iseed);
	nonce_of(nr, rseed);
	mgmt_session_init(&p->i, true, secret, strlen(secret), ni);
	mgmt_session_init(&p->r, false, rsecret, strlen(rsecret), nr);
	send(&p->i, MGMT_HELLO, NOW, mgmt_hello_new(&p->i, "a"), &p->hello, &p->hello_len);
	assert_int_equal(recv_rc(&p->r, &p->cache, p->hello, p->hello_len, NOW, err, sizeof(err)),
			 0);
	send(&p->r, MGMT_WELCOME, NOW, mgmt_hello_new(&p->r, NULL), &f, &len);
	assert_int_equal(recv_rc(&p->i, NULL, f, len, NOW, err, sizeof(err)), 0);
	free(f);
	assert_true(p->i.established && p->r.established);
}

static json_t *digest_req(int id)
{
	return json_pack("{s:s,s:i,s:s}", "op", "scope-digest", "id", id, "scope", "lab");
}

static void test_roundtrip(void **state)
{
	struct pair p = { 0 };
	struct mgmt_msg m;
	char err[256];
	uint8_t *f;
	size_t len;

	(void)state;
	handshake(&p, 1, 2, secret);
	for (int id = 1; id <= 3; id++) {
		send(&p.i, MGMT_REQUEST, NOW + 5, digest_req(id), &f, &len);
		assert_int_equal(mgmt_session_recv(&p.r, &p.cache, f, len, NOW, &m, err,
						   sizeof(err)), 0);
		free(f);
		assert_int_equal(m.type, MGMT_REQUEST);
		assert_true(m.authentic);
		assert_int_equal(m.seq, (uint64_t)id + 1);
		assert_int_equal(json_integer_value(json_object_get(m.body, "id")), id);
		json_decref(m.body);
		send(&p.r, MGMT_ANSWER, NOW,
		     json_pack("{s:i,s:b,s:s}", "id", id, "ok", 1, "digest", "00"), &f, &len);
		assert_int_equal(mgmt_session_recv(&p.i, NULL, f, len, NOW - 59, &m, err,
						   sizeof(err)), 0);
		free(f);
		assert_true(json_is_true(json_object_get(m.body, "ok")));
		json_decref(m.body);
	}
	free(p.hello);
	mgmt_session_wipe(&p.i);
	mgmt_session_wipe(&p.r);
}

/* A responder with another secret refuses the HELLO; an altered byte is refused too. */
static void test_bad_digest(void **state)
{
	struct pair p = { 0 };
	uint8_t nr[MGMT_NONCE_LEN], ni[MGMT_NONCE_LEN];
	char err[256];
	uint8_t *f;
	size_t len;

	(void)state;
	nonce_of(ni, 1);
	nonce_of(nr, 2);
	mgmt_session_init(&p.i, true, secret, strlen(secret), ni);
	mgmt_session_init(&p.r, false, "another secret", 14, nr);
	send(&p.i, MGMT_HELLO, NOW, mgmt_hello_new(&p.i, NULL), &f, &len);
	assert_int_equal(recv_rc(&p.r, &p.cache, f, len, NOW, err, sizeof(err)), MGMT_E_DIGEST);
	assert_non_null(strstr(err, "digest"));
	assert_false(p.r.established);
	free(f);

	handshake(&p, 3, 4, secret);
	send(&p.i, MGMT_REQUEST, NOW, digest_req(1), &f, &len);
	f[len - MGMT_MAC_LEN - 3] ^= 1;		/* "lab" -> "lac": still valid JSON */
	assert_int_equal(recv_rc(&p.r, &p.cache, f, len, NOW, err, sizeof(err)), MGMT_E_DIGEST);
	f[len - MGMT_MAC_LEN - 3] ^= 1;
	f[len - 1] ^= 0x80;			/* the MAC itself */
	assert_int_equal(recv_rc(&p.r, &p.cache, f, len, NOW, err, sizeof(err)), MGMT_E_DIGEST);
	f[len - 1] ^= 0x80;
	lw_put64(f + 16, NOW + 1);		/* the time, which the MAC covers */
	assert_int_equal(recv_rc(&p.r, &p.cache, f, len, NOW, err, sizeof(err)), MGMT_E_DIGEST);
	lw_put64(f + 16, NOW);
	assert_int_equal(recv_rc(&p.r, &p.cache, f, len, NOW, err, sizeof(err)), 0);
	free(f);
	free(p.hello);
}

/* The same frame twice on one connection; a frame of one connection on another. */
static void test_replayed_sequence(void **state)
{
	struct pair p = { 0 }, q = { 0 };
	char err[256];
	uint8_t *f, *g;
	size_t len, glen;

	(void)state;
	handshake(&p, 1, 2, secret);
	send(&p.i, MGMT_REQUEST, NOW, digest_req(1), &f, &len);
	assert_int_equal(recv_rc(&p.r, &p.cache, f, len, NOW, err, sizeof(err)), 0);
	assert_int_equal(recv_rc(&p.r, &p.cache, f, len, NOW, err, sizeof(err)),
			 MGMT_E_SEQUENCE);
	assert_non_null(strstr(err, "replayed"));
	/* A skipped frame (the sender's seq 4 arrives where 3 is due) is refused too. */
	send(&p.i, MGMT_REQUEST, NOW, digest_req(2), &g, &glen);
	free(g);
	send(&p.i, MGMT_REQUEST, NOW, digest_req(3), &g, &glen);
	assert_int_equal(recv_rc(&p.r, &p.cache, g, glen, NOW, err, sizeof(err)),
			 MGMT_E_SEQUENCE);
	free(g);

	/* Connection q: other nonces; p's frame (its seq 2 is q's next too) fails the MAC. */
	handshake(&q, 5, 6, secret);
	assert_int_equal(recv_rc(&q.r, &q.cache, f, len, NOW, err, sizeof(err)), MGMT_E_DIGEST);
	free(f);
	free(p.hello);
	free(q.hello);
}

/* A HELLO replayed on a new connection (same listener cache) is refused as a replayed
 * nonce; with a fresh nonce it is accepted. */
static void test_replayed_nonce(void **state)
{
	struct pair p = { 0 };
	struct mgmt_session r2;
	uint8_t nr[MGMT_NONCE_LEN];
	char err[256];

	(void)state;
	handshake(&p, 1, 2, secret);
	nonce_of(nr, 9);
	mgmt_session_init(&r2, false, secret, strlen(secret), nr);
	assert_int_equal(recv_rc(&r2, &p.cache, p.hello, p.hello_len, NOW + 10, err, sizeof(err)),
			 MGMT_E_NONCE);
	assert_non_null(strstr(err, "replayed"));
	/* After the window the time check refuses it (and the cache may forget it). */
	mgmt_session_init(&r2, false, secret, strlen(secret), nr);
	assert_int_equal(recv_rc(&r2, &p.cache, p.hello, p.hello_len, NOW + 200, err,
				 sizeof(err)), MGMT_E_TIME);
	free(p.hello);
	/* A new HELLO from the same initiator secret with a new nonce passes. */
	handshake(&p, 11, 12, secret);
	free(p.hello);
}

static void test_nonce_cache_full(void **state)
{
	static struct mgmt_nonce_cache c;
	uint8_t n[MGMT_NONCE_LEN] = { 0 };

	(void)state;
	for (unsigned k = 0; k < MGMT_NONCE_CACHE; k++) {
		lw_put32(n, k);
		assert_int_equal(mgmt_nonce_cache_add(&c, n, NOW), 0);
	}
	lw_put32(n, 9999);
	assert_int_equal(mgmt_nonce_cache_add(&c, n, NOW + 1), MGMT_E_NONCE);
	/* Old entries expire after twice the window. */
	assert_int_equal(mgmt_nonce_cache_add(&c, n, NOW + 2 * MGMT_TIME_WINDOW), 0);
	lw_put32(n, 0);
	assert_int_equal(mgmt_nonce_cache_add(&c, n, NOW + 2 * MGMT_TIME_WINDOW), 0);
}

/* The refusal names both times. */
static void test_stale_time(void **state)
{
	struct pair p = { 0 };
	char err[256];
	uint8_t *f;
	size_t len;

	(void)state;
	handshake(&p, 1, 2, secret);
	send(&p.i, MGMT_REQUEST, NOW - 61, digest_req(1), &f, &len);
	assert_int_equal(recv_rc(&p.r, &p.cache, f, len, NOW, err, sizeof(err)), MGMT_E_TIME);
	assert_non_null(strstr(err, "1699999939"));
	assert_non_null(strstr(err, "1700000000"));
	free(f);
	send(&p.i, MGMT_REQUEST, NOW + 60, digest_req(2), &f, &len);
	/* Refused frames do not consume the receiver's sequence: this one is seq 3, and 2 is
	 * still due, so it is refused as out of order. */
	assert_int_equal(recv_rc(&p.r, &p.cache, f, len, NOW, err, sizeof(err)),
			 MGMT_E_SEQUENCE);
	free(f);
	free(p.hello);
}

static void test_fields(void **state)
{
	struct pair p = { 0 };
	char err[256];
	uint8_t *f;
	size_t len;
	json_t *b;

	(void)state;
	handshake(&p, 1, 2, secret);
	b = digest_req(1);
	json_object_set_new(b, "colour", json_string("red"));
	send(&p.i, MGMT_REQUEST, NOW, b, &f, &len);
	assert_int_equal(recv_rc(&p.r, &p.cache, f, len, NOW, err, sizeof(err)), MGMT_E_FIELD);
	assert_non_null(strstr(err, "colour"));
	free(f);

	b = json_pack("{s:s,s:i}", "op", "format-disk", "id", 1);
	assert_int_equal(mgmt_body_check(MGMT_REQUEST, b, err, sizeof(err)), MGMT_E_FIELD);
	assert_non_null(strstr(err, "format-disk"));
	json_decref(b);
	b = json_pack("{s:s,s:i}", "op", "scope-digest", "id", 1);
	assert_int_equal(mgmt_body_check(MGMT_REQUEST, b, err, sizeof(err)), MGMT_E_MISSING);
	json_decref(b);
	b = json_pack("{s:s,s:s,s:i}", "op", "scope-digest", "id", "one", "scope", "x");
	assert_int_equal(mgmt_body_check(MGMT_REQUEST, b, err, sizeof(err)), MGMT_E_MISSING);
	json_decref(b);
	b = json_pack("{s:i,s:b}", "id", 1, "ok", 0);
	assert_int_equal(mgmt_body_check(MGMT_ANSWER, b, err, sizeof(err)), 0);
	json_decref(b);
	b = json_array();
	assert_int_equal(mgmt_body_check(MGMT_ANSWER, b, err, sizeof(err)), MGMT_E_PAYLOAD);
	json_decref(b);
	free(p.hello);
}

/* Frame bounds, half frames, wrong version, unexpected type. */
static void test_frame_bounds(void **state)
{
	struct pair p = { 0 };
	char err[256];
	uint8_t *f;
	size_t len;
	uint8_t big[4];

	(void)state;
	handshake(&p, 1, 2, secret);
	lw_put32(big, MGMT_FRAME_MAX + 1);
	assert_int_equal(mgmt_frame_len(big, 4), MGMT_E_LENGTH);
	lw_put32(big, MGMT_FRAME_MIN - 1);
	assert_int_equal(mgmt_frame_len(big, 4), MGMT_E_LENGTH);
	assert_int_equal(mgmt_frame_len(big, 3), 0);

	send(&p.i, MGMT_REQUEST, NOW, digest_req(1), &f, &len);
	/* Half a frame: its declared length says more is to come; handed over anyway, it is
	 * refused by length. */
	assert_int_equal(mgmt_frame_len(f, len / 2), (long)len);
	assert_int_equal(recv_rc(&p.r, &p.cache, f, len / 2, NOW, err, sizeof(err)),
			 MGMT_E_LENGTH);
	f[4] = 2;
	assert_int_equal(recv_rc(&p.r, &p.cache, f, len, NOW, err, sizeof(err)), MGMT_E_VERSION);
	f[4] = MGMT_VERSION;
	f[5] = MGMT_ANSWER;	/* a responder never receives an answer */
	assert_int_equal(recv_rc(&p.r, &p.cache, f, len, NOW, err, sizeof(err)), MGMT_E_TYPE);
	f[5] = MGMT_REQUEST;
	assert_int_equal(recv_rc(&p.r, &p.cache, f, len, NOW, err, sizeof(err)), 0);
	free(f);

	/* A payload too large to frame is refused at encoding, the sequence not consumed. */
	char *s = malloc(MGMT_FRAME_MAX);
	memset(s, 'x', MGMT_FRAME_MAX - 1);
	s[MGMT_FRAME_MAX - 1] = '\0';
	json_t *b = json_pack("{s:s}", "error", s);
	free(s);
	uint64_t seq = p.r.tx_seq;
	assert_int_equal(mgmt_frame_encode(&p.r, MGMT_REFUSE, NOW, b, &f, &len), MGMT_E_LENGTH);
	assert_int_equal(p.r.tx_seq, seq);
	json_decref(b);
	free(p.hello);
}

/* A REFUSE from someone without our secret is delivered, marked not authentic. */
static void test_refuse_unauthenticated(void **state)
{
	struct mgmt_session i, other;
	struct mgmt_msg m;
	uint8_t n[MGMT_NONCE_LEN] = { 0 };
	char err[256];
	uint8_t *f;
	size_t len;

	(void)state;
	mgmt_session_init(&i, true, secret, strlen(secret), n);
	mgmt_session_init(&other, false, "x", 1, n);
	send(&other, MGMT_REFUSE, NOW,
	     json_pack("{s:s,s:s}", "code", "peer", "error", "198.18.0.9 is not a partner"), &f,
	     &len);
	assert_int_equal(mgmt_session_recv(&i, NULL, f, len, NOW, &m, err, sizeof(err)), 0);
	assert_int_equal(m.type, MGMT_REFUSE);
	assert_false(m.authentic);
	json_decref(m.body);
	free(f);
}

/* The relationship's secret never travels in clear: sealed on the wire, opened on receipt,
 * a new ciphertext for every frame, the sender's body unchanged, a bad seal refused. */
static json_t *create_req(int id, const char *rel_secret)
{
	return json_pack("{s:s,s:i,s:{s:s,s:s},s:[]}", "op", "create-relationship", "id", id,
			 "relationship", "name", "r", "shared-secret", rel_secret, "scopes");
}

static const char *sealed_of(const uint8_t *f, size_t len, json_t **keep)
{
	*keep = json_loadb((const char *)f + MGMT_HDR_LEN, len - MGMT_HDR_LEN - MGMT_MAC_LEN, 0,
			   NULL);
	assert_non_null(*keep);
	json_t *rel = json_object_get(*keep, "relationship");
	assert_null(json_object_get(rel, "shared-secret"));
	return json_string_value(json_object_get(rel, "shared-secret-enc"));
}

static void test_sealed_secret(void **state)
{
	static const char rel_secret[] = "rel-secret-XYZ";
	struct pair p = { 0 };
	struct mgmt_msg m;
	json_t *body, *w1, *w2;
	char err[256];
	uint8_t *f, *g;
	size_t len;

	(void)state;
	handshake(&p, 1, 2, secret);
	body = create_req(1, rel_secret);
	assert_int_equal(mgmt_frame_encode(&p.i, MGMT_REQUEST, NOW, body, &f, &len), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(body,
			    "relationship"), "shared-secret")), rel_secret);
	assert_null(memmem(f, len, rel_secret, strlen(rel_secret)));
	const char *c1 = sealed_of(f, len, &w1);
	assert_non_null(c1);
	assert_int_equal(strlen(c1), 2 * strlen(rel_secret));
	assert_int_equal(mgmt_session_recv(&p.r, &p.cache, f, len, NOW, &m, err, sizeof(err)), 0);
	free(f);
	json_t *rel = json_object_get(m.body, "relationship");
	assert_string_equal(json_string_value(json_object_get(rel, "shared-secret")), rel_secret);
	assert_null(json_object_get(rel, "shared-secret-enc"));
	json_decref(m.body);
	send(&p.r, MGMT_ANSWER, NOW, json_pack("{s:i,s:b}", "id", 1, "ok", 1), &f, &len);
	assert_int_equal(recv_rc(&p.i, NULL, f, len, NOW, err, sizeof(err)), 0);
	free(f);

	/* The same body again: another ciphertext (another sequence). */
	assert_int_equal(mgmt_frame_encode(&p.i, MGMT_REQUEST, NOW, body, &f, &len), 0);
	const char *c2 = sealed_of(f, len, &w2);
	assert_string_not_equal(c1, c2);
	/* A sealed value altered is refused by the MAC before it is opened. */
	g = malloc(len);
	assert_non_null(g);
	memcpy(g, f, len);
	uint8_t *at = memmem(g, len, c2, strlen(c2));
	assert_non_null(at);
	at[0] = at[0] == 'a' ? 'b' : 'a';
	assert_int_equal(recv_rc(&p.r, &p.cache, g, len, NOW, err, sizeof(err)), MGMT_E_DIGEST);
	free(g);
	assert_int_equal(recv_rc(&p.r, &p.cache, f, len, NOW, err, sizeof(err)), 0);
	free(f);
	json_decref(w1);
	json_decref(w2);
	json_decref(body);
	send(&p.r, MGMT_ANSWER, NOW, json_pack("{s:i,s:b}", "id", 2, "ok", 1), &f, &len);
	assert_int_equal(recv_rc(&p.i, NULL, f, len, NOW, err, sizeof(err)), 0);
	free(f);

	/* No secret (""): nothing to seal, it arrives as it left. */
	send(&p.i, MGMT_REQUEST, NOW, create_req(3, ""), &f, &len);
	assert_int_equal(mgmt_session_recv(&p.r, &p.cache, f, len, NOW, &m, err, sizeof(err)), 0);
	free(f);
	assert_string_equal(json_string_value(json_object_get(json_object_get(m.body,
			    "relationship"), "shared-secret")), "");
	json_decref(m.body);
	send(&p.r, MGMT_ANSWER, NOW, json_pack("{s:i,s:b}", "id", 3, "ok", 1), &f, &len);
	assert_int_equal(recv_rc(&p.i, NULL, f, len, NOW, err, sizeof(err)), 0);
	free(f);

	/* A signed frame whose sealed value is not one (odd hex): refused, named. */
	body = json_pack("{s:s,s:i,s:{s:s,s:s},s:[]}", "op", "create-relationship", "id", 4,
			 "relationship", "name", "r", "shared-secret-enc", "abc", "scopes");
	send(&p.i, MGMT_REQUEST, NOW, body, &f, &len);
	assert_int_equal(recv_rc(&p.r, &p.cache, f, len, NOW, err, sizeof(err)), MGMT_E_PAYLOAD);
	assert_non_null(strstr(err, "/relationship/shared-secret"));
	free(f);
	free(p.hello);
	mgmt_session_wipe(&p.i);
	mgmt_session_wipe(&p.r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_bad_digest),
		cmocka_unit_test(test_replayed_sequence),
		cmocka_unit_test(test_replayed_nonce),
		cmocka_unit_test(test_nonce_cache_full),
		cmocka_unit_test(test_stale_time),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_frame_bounds),
		cmocka_unit_test(test_refuse_unauthenticated),
		cmocka_unit_test(test_sealed_secret),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
