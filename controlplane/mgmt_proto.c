/*
 * mgmt_proto: codec and authentication of the leasewire management channel.
 *
 * Design of the channel (the why is also in doc/failover.md, "Management channel").
 *
 * What it carries. Draft-12 carries bindings, never configuration. Windows carries
 * configuration over its management RPC: creating a relationship creates it and its scopes
 * on the partner, and replication overwrites the partner's scope settings. Between two
 * leasewire servers this channel does the same with create-relationship, replicate-scope and
 * scope-digest, and carries the relationship's later changes with set-relationship,
 * delete-relationship, scope-add and scope-remove (mgmt_ops.h); each request is answered
 * once.
 *
 * Transport. A TCP connection of its own (port 6470 by default, off unless configured) and
 * not draft-12 options: the failover link also talks to ISC dhcpd, which must never see
 * these messages, and a configuration change (a scope with thousands of reservations) does
 * not fit draft-12's 64 KiB messages. One request at a time per connection; the side that
 * has something to send connects, so either server can initiate.
 *
 * Framing. A 4-byte length, a fixed 24-byte header, a JSON object, a 32-byte MAC. JSON
 * because configuration is JSON everywhere else (config.c writes and validates it; the
 * partner applies the exact text we send through the same parser) and jansson is already
 * linked. The length is bounded (MGMT_FRAME_MAX), so a reader's buffer is bounded.
 *
 * Authentication. HMAC-SHA-256 (fo_digest's, no new crypto dependency) with a secret both
 * servers configure for each other, over every byte of the frame, prefixed with a context
 * string, both nonces and the direction. We chose a MAC over TLS-PSK: no OpenSSL/GnuTLS
 * dependency, nothing to configure but the secret failover already asks for, and the whole
 * check is a pure function that is unit-tested and fuzzed. What we give up is
 * confidentiality of the configuration: it travels in clear (as draft-12 bindings do); the
 * management secret itself never travels.
 *
 * Sealed fields. A relationship's shared secret does travel (create-relationship and
 * set-relationship carry the relationship whole, so that the partner holds the same one):
 * that one member is encrypted (mgmt_proto.h, "Sealed fields"). The project links no
 * OpenSSL/libcrypto, so no AES-GCM or ChaCha20-Poly1305 from there: the keystream is
 * HKDF-SHA-256 output (an HMAC-SHA-256 PRF in RFC 5869's expand mode, built on fo_digest as
 * the MAC is), unique per connection, direction, frame and member, and the frame's MAC,
 * computed over the ciphertext, gives the integrity an AEAD would (encrypt-then-MAC).
 *
 * Replay. (1) Each side picks a 16-byte random nonce per connection; every MAC covers both,
 * so a frame recorded on one connection fails on any other. (2) Sequence numbers start at 1
 * per direction and must grow by exactly one (TCP keeps order), so a frame replayed or
 * dropped within a connection is refused. (3) Every frame carries the sender's time and is
 * refused beyond MGMT_TIME_WINDOW (60 s) of ours. (4) The HELLO (signed before the
 * responder's nonce exists) could be replayed whole to open a connection: the responder
 * remembers the initiator nonces it accepted for twice the window, and (3) refuses older
 * ones. A replayed HELLO gets nothing anyway (the replayer cannot sign the next frame), but
 * it is refused and logged as what it is.
 *
 * Decoding validates before trusting (STYLE.md, OpenBSD sync.c): length, version, type,
 * payload syntax and fields, then the MAC, sequence, time. Every refusal has a code and a
 * sentence; a REFUSE frame carries both to the peer before the connection closes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "mgmt_proto.h"

static const char mac_context[] = "LWMGMT1";
static const char field_salt[] = "LWMGMT1 field key";
static const char field_info[] = "LWMGMT1 shared-secret";
static const char field_clear[] = "shared-secret";
static const char field_sealed[] = "shared-secret-enc";

#define SEAL_MAX	1024		/* bytes of a sealed value (a secret is < 128) */
#define SEAL_PATH_MAX	256		/* bytes of a member's JSON path */

void mgmt_session_init(struct mgmt_session *s, bool initiator, const void *secret, size_t len,
		       const uint8_t nonce[MGMT_NONCE_LEN])
{
	uint8_t prk[FO_SHA256_LEN];
	struct fo_hmac_sha256 h;

	memset(s, 0, sizeof(*s));
	fo_hmac_sha256_init(&s->key, secret, len);
	/* HKDF-Extract(salt, IKM = the secret) = HMAC(salt, secret). */
	fo_hmac_sha256_init(&h, field_salt, sizeof(field_salt) - 1);
	fo_hmac_sha256_update(&h, secret, len);
	fo_hmac_sha256_final(&h, prk);
	fo_hmac_sha256_init(&s->field_key, prk, sizeof(prk));
	fo_digest_wipe(&h, sizeof(h));
	fo_digest_wipe(prk, sizeof(prk));
	s->initiator = initiator;
	memcpy(initiator ? s->nonce_i : s->nonce_r, nonce, MGMT_NONCE_LEN);
}

void mgmt_session_wipe(struct mgmt_session *s)
{
	fo_digest_wipe(s, sizeof(*s));
}

long mgmt_frame_len(const uint8_t *buf, size_t n)
{
	if (n < 4) {
		return 0;
	}
	uint32_t l = lw_get32(buf);
	if (l < MGMT_FRAME_MIN || l > MGMT_FRAME_MAX) {
		return MGMT_E_LENGTH;
	}
	return (long)l;
}

/* The MAC of frame bytes 0..n-1 (buf[5] is the type), sent by the initiator when
 * @p from_initiator. A HELLO is signed before the responder's nonce exists: zeros. */
static void frame_mac(const struct mgmt_session *s, bool from_initiator, const uint8_t *buf,
		      size_t n, uint8_t out[MGMT_MAC_LEN])
{
	static const uint8_t zero[MGMT_NONCE_LEN];
	struct fo_hmac_sha256 h = s->key;
	uint8_t dir = from_initiator ? 'I' : 'R';
	bool hello = buf[5] == MGMT_HELLO;

	fo_hmac_sha256_update(&h, mac_context, sizeof(mac_context) - 1);
	fo_hmac_sha256_update(&h, s->nonce_i, MGMT_NONCE_LEN);
	fo_hmac_sha256_update(&h, hello ? zero : s->nonce_r, MGMT_NONCE_LEN);
	fo_hmac_sha256_update(&h, &dir, 1);
	fo_hmac_sha256_update(&h, buf, n);
	fo_hmac_sha256_final(&h, out);
	fo_digest_wipe(&h, sizeof(h));
}

/* ------------------------------------------------------------------------------------------ */
/* Sealed fields (mgmt_proto.h)                                                                 */

/* HKDF-Expand(PRK, info, n) XORed into @p buf: info is field_info | both nonces | direction
 * | sequence | @p path with its NUL. n <= SEAL_MAX < 255 * 32, as RFC 5869 requires. */
static void seal_xor(const struct mgmt_session *s, bool from_initiator, uint64_t seq,
		     const char *path, uint8_t *buf, size_t n)
{
	uint8_t t[FO_SHA256_LEN], seqb[8], dir = from_initiator ? 'I' : 'R';
	size_t tlen = 0;

	lw_put64(seqb, seq);
	for (uint8_t ctr = 1; n > 0; ctr++) {
		struct fo_hmac_sha256 h = s->field_key;
		fo_hmac_sha256_update(&h, t, tlen);
		fo_hmac_sha256_update(&h, field_info, sizeof(field_info) - 1);
		fo_hmac_sha256_update(&h, s->nonce_i, MGMT_NONCE_LEN);
		fo_hmac_sha256_update(&h, s->nonce_r, MGMT_NONCE_LEN);
		fo_hmac_sha256_update(&h, &dir, 1);
		fo_hmac_sha256_update(&h, seqb, sizeof(seqb));
		fo_hmac_sha256_update(&h, path, strlen(path) + 1);
		fo_hmac_sha256_update(&h, &ctr, 1);
		fo_hmac_sha256_final(&h, t);
		fo_digest_wipe(&h, sizeof(h));
		tlen = sizeof(t);
		size_t k = n < tlen ? n : tlen;
		for (size_t i = 0; i < k; i++) {
			buf[i] ^= t[i];
		}
		buf += k;
		n -= k;
	}
	fo_digest_wipe(t, sizeof(t));
}

/* @p path + "/" + @p key (or the array index) into @p out; -1 when too long. */
static int path_join(char out[SEAL_PATH_MAX], const char *path, const char *key, size_t index)
{
	int n = key != NULL ? snprintf(out, SEAL_PATH_MAX, "%s/%s", path, key)
			    : snprintf(out, SEAL_PATH_MAX, "%s/%zu", path, index);
	return n < 0 || n >= SEAL_PATH_MAX ? -1 : 0;
}

/* Does @p v hold a non-empty "shared-secret" string anywhere? */
static bool has_clear_secret(const json_t *v)
{
	const char *k;
	json_t *c;
	size_t i;

	if (json_is_object(v)) {
		c = json_object_get(v, field_clear);
		if (json_is_string(c) && json_string_length(c) > 0) {
			return true;
		}
		json_object_foreach((json_t *)v, k, c) {
			if (has_clear_secret(c)) {
				return true;
			}
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, c) {
			if (has_clear_secret(c)) {
				return true;
			}
		}
	}
	return false;
}

/*
 * Seal (@p open false: every non-empty "shared-secret" becomes "shared-secret-enc") or open
 * (every "shared-secret-enc" becomes "shared-secret") the members of @p v, whose JSON path
 * is @p path. Members are looked up before the walk, which changes no object it iterates.
 * @return 0, -ENOMEM, or -EINVAL with @p err (open: bad hex, both forms, not a string...).
 */
static int seal_walk(const struct mgmt_session *s, bool from_initiator, uint64_t seq, bool open,
		     json_t *v, const char *path, int depth, char *err, size_t errlen)
{
	char sub[SEAL_PATH_MAX];
	uint8_t buf[SEAL_MAX];
	const char *k;
	json_t *c;
	size_t i;
	int rc;

	if (depth > 32) {
		snprintf(err, errlen, "payload nested too deep");
		return -EINVAL;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, c) {
			if (path_join(sub, path, NULL, i) != 0) {
				snprintf(err, errlen, "payload nested too deep");
				return -EINVAL;
			}
			rc = seal_walk(s, from_initiator, seq, open, c, sub, depth + 1, err, errlen);
			if (rc != 0) {
				return rc;
			}
		}
		return 0;
	}
	if (!json_is_object(v)) {
		return 0;
	}
	json_t *clear = json_object_get(v, field_clear);
	json_t *sealed = json_object_get(v, field_sealed);
	if (path_join(sub, path, field_clear, 0) != 0) {
		snprintf(err, errlen, "payload nested too deep");
		return -EINVAL;
	}
	if (!open && json_is_string(clear) && json_string_length(clear) > 0) {
		size_t n = json_string_length(clear);
		char hex[2 * SEAL_MAX + 1];
		if (sealed != NULL || n > SEAL_MAX) {
			snprintf(err, errlen, "%s: cannot seal", sub);
			return -EINVAL;
		}
		memcpy(buf, json_string_value(clear), n);
		seal_xor(s, from_initiator, seq, sub, buf, n);
		for (size_t j = 0; j < n; j++) {
			snprintf(hex + 2 * j, 3, "%02x", buf[j]);
		}
		fo_digest_wipe(buf, n);
		if (json_object_set_new(v, field_sealed, json_stringn(hex, 2 * n)) != 0 ||
		    json_object_del(v, field_clear) != 0) {
			return -ENOMEM;
		}
	} else if (open && sealed != NULL) {
		const char *h = json_string_value(sealed);
		size_t hl = h != NULL ? json_string_length(sealed) : 0;
		if (clear != NULL || h == NULL || hl == 0 || hl % 2 != 0 || hl / 2 > SEAL_MAX) {
			snprintf(err, errlen, "%s: the sealed secret is not valid", sub);
			return -EINVAL;
		}
		for (size_t j = 0; j < hl / 2; j++) {
			unsigned d[2];
			for (int x = 0; x < 2; x++) {
				char ch = h[2 * j + (size_t)x];
				if (ch >= '0' && ch <= '9') {
					d[x] = (unsigned)(ch - '0');
				} else if (ch >= 'a' && ch <= 'f') {
					d[x] = (unsigned)(ch - 'a' + 10);
				} else {
					snprintf(err, errlen, "%s: the sealed secret is not hex", sub);
					return -EINVAL;
				}
			}
			buf[j] = (uint8_t)(d[0] << 4 | d[1]);
		}
		seal_xor(s, from_initiator, seq, sub, buf, hl / 2);
		json_t *str = memchr(buf, 0, hl / 2) == NULL ?
			json_stringn((const char *)buf, hl / 2) : NULL;
		fo_digest_wipe(buf, hl / 2);
		if (str == NULL) {
			snprintf(err, errlen, "%s: the opened secret is not text", sub);
			return -EINVAL;
		}
		if (json_object_set_new(v, field_clear, str) != 0 ||
		    json_object_del(v, field_sealed) != 0) {
			return -ENOMEM;
		}
	}
	json_object_foreach(v, k, c) {
		if (strcmp(k, field_clear) == 0 || strcmp(k, field_sealed) == 0) {
			continue;
		}
		if (path_join(sub, path, k, 0) != 0) {
			snprintf(err, errlen, "payload nested too deep");
			return -EINVAL;
		}
		rc = seal_walk(s, from_initiator, seq, open, c, sub, depth + 1, err, errlen);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

int mgmt_frame_encode(struct mgmt_session *s, uint8_t type, uint64_t now, const json_t *body,
		      uint8_t **out, size_t *len)
{
	json_t *sealed = NULL;
	char err[128];
	char *text;

	if (has_clear_secret(body)) {
		sealed = json_deep_copy(body);
		if (sealed == NULL) {
			return -ENOMEM;
		}
		int rc = seal_walk(s, s->initiator, s->tx_seq + 1, false, sealed, "", 0, err,
				   sizeof(err));
		if (rc != 0) {
			json_decref(sealed);
			return rc;
		}
	}
	text = json_dumps(sealed != NULL ? sealed : body, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(sealed);
	if (text == NULL) {
		return -ENOMEM;
	}
	size_t plen = strlen(text);
	size_t l = MGMT_HDR_LEN + plen + MGMT_MAC_LEN;
	if (l > MGMT_FRAME_MAX) {
		free(text);
		return MGMT_E_LENGTH;
	}
	uint8_t *f = malloc(l);
	if (f == NULL) {
		free(text);
		return -ENOMEM;
	}
	lw_put32(f, (uint32_t)l);
	f[4] = MGMT_VERSION;
	f[5] = type;
	lw_put16(f + 6, 0);
	lw_put64(f + 8, s->tx_seq + 1);
	lw_put64(f + 16, now);
	/* The JSON text without its NUL: the frame carries its length. */
	memcpy(f + MGMT_HDR_LEN, text, plen); /* NOLINT(bugprone-not-null-terminated-result) */
	free(text);
	frame_mac(s, s->initiator, f, l - MGMT_MAC_LEN, f + l - MGMT_MAC_LEN);
	s->tx_seq++;
	*out = f;
	*len = l;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Fields of each payload                                                                      */

struct field {
	const char *name;
	json_type type;		/* JSON_INTEGER, JSON_STRING, JSON_OBJECT, JSON_ARRAY, JSON_TRUE
				 * (meaning either boolean) */
	bool required;
};

#define END { NULL, 0, false }
static const struct field hello_fields[] = {
	{ "nonce", JSON_STRING, true }, { "name", JSON_STRING, false }, END
};
static const struct field refuse_fields[] = {
	{ "code", JSON_STRING, true }, { "error", JSON_STRING, true }, END
};
static const struct field answer_fields[] = {
	{ "id", JSON_INTEGER, true }, { "ok", JSON_TRUE, true },
	{ "error", JSON_STRING, false }, { "digest", JSON_STRING, false },
	{ "scopes", JSON_ARRAY, false }, END
};
static const struct field create_fields[] = {
	{ "op", JSON_STRING, true }, { "id", JSON_INTEGER, true },
	{ "relationship", JSON_OBJECT, true }, { "scopes", JSON_ARRAY, true }, END
};
static const struct field replicate_fields[] = {
	{ "op", JSON_STRING, true }, { "id", JSON_INTEGER, true },
	{ "scope", JSON_OBJECT, true }, END
};
static const struct field digest_fields[] = {
	{ "op", JSON_STRING, true }, { "id", JSON_INTEGER, true },
	{ "scope", JSON_STRING, true }, END
};
static const struct field set_fields[] = {
	{ "op", JSON_STRING, true }, { "id", JSON_INTEGER, true },
	{ "relationship", JSON_OBJECT, true }, END
};
static const struct field delete_fields[] = {
	{ "op", JSON_STRING, true }, { "id", JSON_INTEGER, true },
	{ "name", JSON_STRING, true }, END
};
static const struct field scope_add_fields[] = {
	{ "op", JSON_STRING, true }, { "id", JSON_INTEGER, true },
	{ "name", JSON_STRING, true }, { "scope", JSON_OBJECT, true }, END
};
static const struct field scope_remove_fields[] = {
	{ "op", JSON_STRING, true }, { "id", JSON_INTEGER, true },
	{ "name", JSON_STRING, true }, { "scope", JSON_STRING, true }, END
};
#undef END

/* The requests; mgmt_ops.c implements each. */
static const struct {
	const char *op;
	const struct field *fields;
} ops[] = {
	{ "create-relationship", create_fields },
	{ "replicate-scope", replicate_fields },
	{ "scope-digest", digest_fields },
	{ "set-relationship", set_fields },
	{ "delete-relationship", delete_fields },
	{ "scope-add", scope_add_fields },
	{ "scope-remove", scope_remove_fields },
};

static const char *type_name(json_type t)
{
	switch (t) {
	case JSON_INTEGER: return "an integer";
	case JSON_STRING: return "a string";
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_TRUE: return "a boolean";
	default: return "a value";
	}
}

static bool type_ok(const json_t *v, json_type want)
{
	if (want == JSON_TRUE) {
		return json_is_boolean(v);
	}
	return json_typeof(v) == want;
}

static int check_fields(const struct field *fs, const char *what, const json_t *body, char *err,
			size_t errlen)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)body, k, v) {
		const struct field *f = fs;
		while (f->name != NULL && strcmp(f->name, k) != 0) {
			f++;
		}
		if (f->name == NULL) {
			snprintf(err, errlen, "%s: unknown field \"%.64s\"", what, k);
			return MGMT_E_FIELD;
		}
	}
	for (const struct field *f = fs; f->name != NULL; f++) {
		v = json_object_get(body, f->name);
		if (v == NULL) {
			if (f->required) {
				snprintf(err, errlen, "%s: field \"%s\" is missing", what, f->name);
				return MGMT_E_MISSING;
			}
			continue;
		}
		if (!type_ok(v, f->type)) {
			snprintf(err, errlen, "%s: field \"%s\" must be %s", what, f->name,
				 type_name(f->type));
			return MGMT_E_MISSING;
		}
	}
	return 0;
}

int mgmt_body_check(uint8_t type, const json_t *body, char *err, size_t errlen)
{
	if (!json_is_object(body)) {
		snprintf(err, errlen, "payload is not a JSON object");
		return MGMT_E_PAYLOAD;
	}
	switch (type) {
	case MGMT_HELLO:
		return check_fields(hello_fields, "hello", body, err, errlen);
	case MGMT_WELCOME:
		return check_fields(hello_fields, "welcome", body, err, errlen);
	case MGMT_ANSWER:
		return check_fields(answer_fields, "answer", body, err, errlen);
	case MGMT_REFUSE:
		return check_fields(refuse_fields, "refusal", body, err, errlen);
	case MGMT_REQUEST:
		break;
	default:
		snprintf(err, errlen, "unknown message type %u", type);
		return MGMT_E_TYPE;
	}
	const char *op = json_string_value(json_object_get(body, "op"));
	if (op == NULL) {
		snprintf(err, errlen, "request: field \"op\" is missing or not a string");
		return MGMT_E_MISSING;
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(ops[i].op, op) == 0) {
			return check_fields(ops[i].fields, ops[i].op, body, err, errlen);
		}
	}
	snprintf(err, errlen, "request: unknown op \"%.64s\"", op);
	return MGMT_E_FIELD;
}

/* ------------------------------------------------------------------------------------------ */
/* Receiving                                                                                   */

static int hex_nonce(const char *s, uint8_t out[MGMT_NONCE_LEN])
{
	if (s == NULL || strlen(s) != 2 * MGMT_NONCE_LEN) {
		return -1;
	}
	for (size_t i = 0; i < MGMT_NONCE_LEN; i++) {
		unsigned v = 0;
		for (size_t j = 0; j < 2; j++) {
			char c = s[2 * i + j];
			unsigned d;
			if (c >= '0' && c <= '9') {
				d = (unsigned)(c - '0');
			} else if (c >= 'a' && c <= 'f') {
				d = (unsigned)(c - 'a' + 10);
			} else {
				return -1;
			}
			v = v << 4 | d;
		}
		out[i] = (uint8_t)v;
	}
	return 0;
}

int mgmt_nonce_cache_add(struct mgmt_nonce_cache *c, const uint8_t nonce[MGMT_NONCE_LEN],
			 uint64_t now)
{
	size_t free_slot = MGMT_NONCE_CACHE;

	for (size_t i = 0; i < MGMT_NONCE_CACHE; i++) {
		bool used = c->e[i].time != 0 && c->e[i].time + 2 * MGMT_TIME_WINDOW > now;
		if (used && memcmp(c->e[i].nonce, nonce, MGMT_NONCE_LEN) == 0) {
			return MGMT_E_NONCE;
		}
		if (!used && free_slot == MGMT_NONCE_CACHE) {
			free_slot = i;
		}
	}
	if (free_slot == MGMT_NONCE_CACHE) {
		return MGMT_E_NONCE;
	}
	memcpy(c->e[free_slot].nonce, nonce, MGMT_NONCE_LEN);
	c->e[free_slot].time = now ? now : 1;
	return 0;
}

/* Which types may arrive now. */
static bool type_expected(const struct mgmt_session *s, uint8_t type)
{
	if (type == MGMT_REFUSE) {
		return true;
	}
	if (!s->established) {
		return type == (s->initiator ? MGMT_WELCOME : MGMT_HELLO);
	}
	return type == (s->initiator ? MGMT_ANSWER : MGMT_REQUEST);
}

int mgmt_session_recv(struct mgmt_session *s, struct mgmt_nonce_cache *cache,
		      const uint8_t *buf, size_t len, uint64_t now, struct mgmt_msg *m,
		      char *err, size_t errlen)
{
	uint8_t mac[MGMT_MAC_LEN];
	uint8_t peer_nonce[MGMT_NONCE_LEN];
	json_t *body = NULL;
	int rc;

	memset(m, 0, sizeof(*m));
	if (len < MGMT_FRAME_MIN || len > MGMT_FRAME_MAX || lw_get32(buf) != len) {
		snprintf(err, errlen, "frame length %zu is not valid", len);
		return MGMT_E_LENGTH;
	}
	if (buf[4] != MGMT_VERSION || lw_get16(buf + 6) != 0) {
		snprintf(err, errlen, "version %u is not %u", (unsigned)buf[4], (unsigned)MGMT_VERSION);
		return MGMT_E_VERSION;
	}
	uint8_t type = buf[5];
	if (type < MGMT_HELLO || type > MGMT_REFUSE || !type_expected(s, type)) {
		snprintf(err, errlen, "message type %u not expected now", type);
		return MGMT_E_TYPE;
	}
	size_t plen = len - MGMT_HDR_LEN - MGMT_MAC_LEN;
	json_error_t je;
	body = json_loadb((const char *)buf + MGMT_HDR_LEN, plen,
			  JSON_REJECT_DUPLICATES, &je);
	if (body == NULL || !json_is_object(body)) {
		snprintf(err, errlen, "payload is not a JSON object%s%.80s", body ? "" : ": ",
			 body ? "" : je.text);
		rc = MGMT_E_PAYLOAD;
		goto bad;
	}
	rc = mgmt_body_check(type, body, err, errlen);
	if (rc != 0) {
		goto bad;
	}
	uint64_t seq = lw_get64(buf + 8), t = lw_get64(buf + 16);

	/* The handshake frames bring the peer's nonce, which the MAC covers. */
	bool sets_nonce = !s->established && (type == MGMT_HELLO || type == MGMT_WELCOME);
	if (sets_nonce &&
	    hex_nonce(json_string_value(json_object_get(body, "nonce")), peer_nonce) != 0) {
		snprintf(err, errlen, "nonce must be %d lower-case hex digits", 2 * MGMT_NONCE_LEN);
		rc = MGMT_E_MISSING;
		goto bad;
	}
	struct mgmt_session trial = *s;
	if (sets_nonce) {
		memcpy(s->initiator ? trial.nonce_r : trial.nonce_i, peer_nonce, MGMT_NONCE_LEN);
	}
	frame_mac(&trial, !s->initiator, buf, len - MGMT_MAC_LEN, mac);
	bool mac_ok = fo_digest_equal(mac, buf + len - MGMT_MAC_LEN, MGMT_MAC_LEN);
	if (!mac_ok && type == MGMT_REFUSE) {
		/* Told why the peer closes, by someone who may not hold our secret (an unknown
		 * address, a wrong secret): the caller reports it as unauthenticated. */
		mgmt_session_wipe(&trial);
		m->type = type;
		m->seq = seq;
		m->time = t;
		m->authentic = false;
		m->body = body;
		return 0;
	}
	if (!mac_ok) {
		mgmt_session_wipe(&trial);
		snprintf(err, errlen, "message digest does not match (wrong secret or altered)");
		rc = MGMT_E_DIGEST;
		goto bad;
	}
	if (seq != s->rx_seq + 1) {
		mgmt_session_wipe(&trial);
		snprintf(err, errlen, "sequence %llu replayed or out of order (expected %llu)",
			 (unsigned long long)seq, (unsigned long long)s->rx_seq + 1);
		rc = MGMT_E_SEQUENCE;
		goto bad;
	}
	uint64_t skew = t > now ? t - now : now - t;
	if (skew > MGMT_TIME_WINDOW) {
		mgmt_session_wipe(&trial);
		snprintf(err, errlen,
			 "clocks differ by %llu s (more than %d): partner time %llu, our time %llu",
			 (unsigned long long)skew, MGMT_TIME_WINDOW, (unsigned long long)t,
			 (unsigned long long)now);
		rc = MGMT_E_TIME;
		goto bad;
	}
	if (type == MGMT_HELLO && cache != NULL) {
		rc = mgmt_nonce_cache_add(cache, peer_nonce, now);
		if (rc != 0) {
			mgmt_session_wipe(&trial);
			snprintf(err, errlen, "hello nonce replayed (seen on an earlier connection)");
			goto bad;
		}
	}
	rc = seal_walk(&trial, !s->initiator, seq, true, body, "", 0, err, errlen);
	if (rc != 0) {
		mgmt_session_wipe(&trial);
		if (rc != -ENOMEM) {
			rc = MGMT_E_PAYLOAD;
		}
		goto bad;
	}
	*s = trial;
	mgmt_session_wipe(&trial);
	s->rx_seq = seq;
	if (type == MGMT_WELCOME) {
		s->established = true;
	}
	if (type == MGMT_HELLO) {
		/* The responder's WELCOME (its next frame) completes the handshake. */
		s->established = true;
	}
	m->type = type;
	m->seq = seq;
	m->time = t;
	m->authentic = true;
	m->body = body;
	return 0;
bad:
	json_decref(body);
	return rc;
}

json_t *mgmt_hello_new(const struct mgmt_session *s, const char *name)
{
	const uint8_t *n = s->initiator ? s->nonce_i : s->nonce_r;
	char hex[2 * MGMT_NONCE_LEN + 1];

	for (size_t i = 0; i < MGMT_NONCE_LEN; i++) {
		snprintf(hex + 2 * i, 3, "%02x", n[i]);
	}
	json_t *o = json_pack("{s:s}", "nonce", hex);
	if (o != NULL && name != NULL && json_object_set_new(o, "name", json_string(name)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

const char *mgmt_err_str(int err)
{
	switch (err) {
	case 0: return "ok";
	case MGMT_E_LENGTH: return "length";
	case MGMT_E_VERSION: return "version";
	case MGMT_E_TYPE: return "type";
	case MGMT_E_DIGEST: return "digest";
	case MGMT_E_SEQUENCE: return "sequence";
	case MGMT_E_TIME: return "time";
	case MGMT_E_NONCE: return "nonce";
	case MGMT_E_PAYLOAD: return "payload";
	case MGMT_E_FIELD: return "field";
	case MGMT_E_MISSING: return "missing";
	case MGMT_E_PEER: return "peer";
	case MGMT_E_TIMEOUT: return "timeout";
	case MGMT_E_CLOSED: return "closed";
	default: return "error";
	}
}
