/*
 * The LMDB store: record round trips (version 2 with the hardware address, and version 1
 * records still read), batches, the client index, BACKUP bindings without a client, refusal
 * of foreign environments (which must stay untouched), corrupt records, map growth and
 * "store full", fault injection, the relaxed sync mode, the unacked set and the failover
 * records.
 *
 * Each test gets its own mkdtemp() directory under /tmp; the store lives in its "db"
 * subdirectory, which store_open() creates. Foreign or damaged environments are made with raw
 * LMDB calls, as another program would.
 */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <lmdb.h>

#include "byteorder.h"
#include "fmt.h"
#include "lease.h"
#include "store.h"
#include "store_fix.h"

#define BASE 0xc0000200u	/* 192.0.2.0 */

static int setup(void **state)
{
	return store_fix_setup(state, "store");
}

static int teardown(void **state)
{
	return store_fix_teardown(state);
}

static struct store *open_store(struct store_fix *f, enum store_sync sync)
{
	struct store_opts o = { .sync = sync };

	return store_fix_open(f, &o);
}

static void hw_key(struct dp_client_key *k, unsigned n)
{
	memset(k, 0, sizeof(*k));
	k->type = DP_KEY_HWADDR;
	k->len = 7;
	k->data[0] = 1;
	k->data[1] = 0x02;
	k->data[5] = (uint8_t)(n >> 8);
	k->data[6] = (uint8_t)n;
}

static void cid_key(struct dp_client_key *k, unsigned len, unsigned seed)
{
	unsigned i;

	memset(k, 0, sizeof(*k));
	k->type = DP_KEY_CLIENT_ID;
	k->len = (uint8_t)len;
	for (i = 0; i < len; i++) {
		k->data[i] = (uint8_t)(seed * 31 + i * 7);
	}
}

static struct dp_change change(uint32_t addr, uint8_t state, const struct dp_client_key *k,
			       uint64_t start, uint64_t ends)
{
	struct dp_change c;

	memset(&c, 0, sizeof(c));
	c.addr = addr;
	c.state = state;
	c.start = start;
	c.ends = ends;
	if (k) {
		c.key = *k;
	}
	return c;
}

/* htype + chaddr of @p len bytes (1 = Ethernet, then the address bytes). */
static void set_hw(struct dp_change *c, unsigned len, unsigned seed)
{
	unsigned i;

	c->hw_len = (uint8_t)len;
	for (i = 0; i < len; i++) {
		c->hw[i] = i == 0 ? 1 : (uint8_t)(seed * 13 + i);
	}
}

static void assert_binding(const struct store_binding *b, const struct dp_change *c)
{
	assert_int_equal(b->addr, c->addr);
	assert_int_equal(b->state, c->state);
	assert_true(b->start == c->start);
	assert_true(b->ends == c->ends);
	assert_int_equal(b->key.type, c->key.type);
	assert_int_equal(b->key.len, c->key.len);
	assert_memory_equal(b->key.data, c->key.data, c->key.len);
	assert_int_equal(b->hw_len, c->hw_len);
	assert_memory_equal(b->hw, c->hw, c->hw_len);
	assert_int_equal(b->info.host_len, c->info.host_len);
	assert_memory_equal(b->info.host, c->info.host, c->info.host_len);
	assert_int_equal(b->info.vendor_len, c->info.vendor_len);
	assert_memory_equal(b->info.vendor, c->info.vendor, c->info.vendor_len);
	assert_int_equal(b->info.circuit_len, c->info.circuit_len);
	assert_memory_equal(b->info.circuit, c->info.circuit, c->info.circuit_len);
	assert_int_equal(b->info.policy_len, c->info.policy_len);
	assert_memory_equal(b->info.policy, c->info.policy, c->info.policy_len);
	assert_int_equal(b->pet, c->pet);
}

struct collect {
	struct store_binding b[64];
	unsigned n;
};

static int collect_cb(const struct store_binding *b, void *arg)
{
	struct collect *c = arg;

	assert_true(c->n < 64);
	c->b[c->n++] = *b;
	return 0;
}

/* Every stored state, both key types, a 64-byte key, infinite ends; written out of order. */
static unsigned sample(struct dp_change *c)
{
	struct dp_client_key k;
	unsigned n = 0;

	hw_key(&k, 1);
	c[n] = change(BASE + 9, BT_ACTIVE, &k, 1700000000, 1700003600);
	set_hw(&c[n++], 7, 1);
	cid_key(&k, DP_KEY_MAX, 2);
	c[n] = change(BASE + 3, BT_EXPIRED, &k, 0, 0x0102030405060708ull);
	set_hw(&c[n++], DP_HW_MAX, 2);
	hw_key(&k, 3);
	c[n++] = change(BASE + 1, BT_RELEASED, &k, 1, 2);
	cid_key(&k, 1, 4);
	c[n++] = change(BASE + 200, BT_ABANDONED, &k, 1700000000, 1700086400);
	hw_key(&k, 5);
	c[n++] = change(BASE + 4, BT_RESET, &k, UINT64_MAX - 1, 1700000000);
	cid_key(&k, DP_KEY_MAX, 6);
	c[n++] = change(BASE + 2, BT_BACKUP, &k, 1700000000, BT_INFINITE);
	return n;
}

static void check_sample(struct store *s, const struct dp_change *c, unsigned n)
{
	struct store_binding b;
	struct collect col = { .n = 0 };
	uint32_t prev = 0;
	unsigned i, j;

	assert_int_equal(store_count(s), n);
	for (i = 0; i < n; i++) {
		assert_int_equal(store_get(s, c[i].addr, &b), 0);
		assert_binding(&b, &c[i]);
	}
	assert_int_equal(store_load(s, collect_cb, &col), 0);
	assert_int_equal(col.n, n);
	for (i = 0; i < col.n; i++) {
		assert_true(i == 0 || col.b[i].addr > prev);	/* address order */
		prev = col.b[i].addr;
		for (j = 0; j < n && c[j].addr != col.b[i].addr; j++) {
		}
		assert_true(j < n);
		assert_binding(&col.b[i], &c[j]);
	}
}

static void test_round_trip(void **state)
{
	struct store_fix *f = *state;
	struct dp_change c[8];
	struct store_binding b;
	struct stat st;
	unsigned n = sample(c);
	struct store *s = open_store(f, STORE_SYNC_STRICT);

	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(store_count(s), 0);
	assert_int_equal(store_get(s, BASE, &b), -ENOENT);
	assert_int_equal(store_write_batch(s, c, n), 0);
	check_sample(s, c, n);
	store_close(s);
}

static void test_reopen(void **state)
{
	struct store_fix *f = *state;
	struct dp_change c[8];
	unsigned n = sample(c);
	struct store *s = open_store(f, STORE_SYNC_STRICT);

	assert_int_equal(store_write_batch(s, c, n), 0);
	store_close(s);
	s = open_store(f, STORE_SYNC_STRICT);
	check_sample(s, c, n);
	store_close(s);
	store_close(NULL);
}

static void test_free_deletes(void **state)
{
	struct store_fix *f = *state;
	struct dp_client_key k1, k2;
	struct dp_change c[3];
	struct store_binding b;
	struct store *s = open_store(f, STORE_SYNC_STRICT);

	hw_key(&k1, 1);
	cid_key(&k2, 9, 2);
	c[0] = change(BASE + 1, BT_ACTIVE, &k1, 10, 20);
	c[1] = change(BASE + 2, BT_ACTIVE, &k2, 10, 20);
	assert_int_equal(store_write_batch(s, c, 2), 0);

	/* A FREE change needs no key. */
	c[0] = change(BASE + 1, BT_FREE, NULL, 30, 0);
	assert_int_equal(store_write_batch(s, c, 1), 0);
	assert_int_equal(store_get(s, BASE + 1, &b), -ENOENT);
	assert_int_equal(store_count(s), 1);

	/* k2 moves to .3 and .2 is freed in the same batch. */
	c[0] = change(BASE + 3, BT_ACTIVE, &k2, 40, 50);
	c[1] = change(BASE + 2, BT_FREE, &k2, 40, 0);
	assert_int_equal(store_write_batch(s, c, 2), 0);
	assert_int_equal(store_get(s, BASE + 2, &b), -ENOENT);
	assert_int_equal(store_get(s, BASE + 3, &b), 0);
	assert_binding(&b, &c[0]);

	/* Freeing an address that holds nothing is fine. */
	c[0] = change(BASE + 77, BT_FREE, NULL, 0, 0);
	assert_int_equal(store_write_batch(s, c, 1), 0);
	assert_int_equal(store_count(s), 1);
	store_close(s);
}

static void test_later_change_wins(void **state)
{
	struct store_fix *f = *state;
	struct dp_client_key k1, k2, k3;
	struct dp_change c[6];
	struct store_binding b;
	struct store *s = open_store(f, STORE_SYNC_STRICT);

	hw_key(&k1, 1);
	hw_key(&k2, 2);
	hw_key(&k3, 3);
	c[0] = change(BASE + 1, BT_ACTIVE, &k1, 10, 100);
	c[1] = change(BASE + 1, BT_RELEASED, &k1, 50, 200);
	c[2] = change(BASE + 2, BT_ACTIVE, &k2, 10, 100);
	c[3] = change(BASE + 2, BT_FREE, NULL, 60, 0);
	c[4] = change(BASE + 3, BT_FREE, NULL, 10, 0);
	c[5] = change(BASE + 3, BT_ACTIVE, &k3, 70, 300);
	assert_int_equal(store_write_batch(s, c, 6), 0);

	assert_int_equal(store_get(s, BASE + 1, &b), 0);
	assert_binding(&b, &c[1]);
	assert_int_equal(store_get(s, BASE + 2, &b), -ENOENT);
	assert_int_equal(store_get(s, BASE + 3, &b), 0);
	assert_binding(&b, &c[5]);
	assert_int_equal(store_count(s), 2);
	store_close(s);
}

/* Raw LMDB, as another program would write: put key/val into @p db (NULL: main database). */
static void raw_put(const char *dir, const char *db, const void *key, size_t klen,
		    const void *val, size_t vlen)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { .mv_size = klen, .mv_data = (void *)key };
	MDB_val v = { .mv_size = vlen, .mv_data = (void *)val };

	assert_int_equal(mkdir(dir, 0700) == 0 || errno == EEXIST, 1);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, MDB_CREATE, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* Raw read of @p key in @p db into @p buf. @return its length, or -1 when missing. */
static long raw_get(const char *dir, const char *db, const char *key, void *buf, size_t len)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { .mv_size = strlen(key), .mv_data = (void *)key };
	MDB_val v;
	long ret = -1;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	if (mdb_dbi_open(txn, db, 0, &dbi) == 0 && mdb_get(txn, dbi, &k, &v) == 0) {
		assert_true(v.mv_size <= len);
		memcpy(buf, v.mv_data, v.mv_size);
		ret = (long)v.mv_size;
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return ret;
}

static void *read_file(const char *dir, const char *name, size_t *len)
{
	char path[160];
	FILE *fp;
	void *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n > 0);
	rewind(fp);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* store_open must refuse @p f's environment with a message containing @p want, and not
 * change a byte of its data file. */
static void assert_refused(struct store_fix *f, const char *want)
{
	struct store_opts o = { .sync = STORE_SYNC_STRICT };
	size_t len0, len1;
	void *before = read_file(f->dir, "data.mdb", &len0);
	void *after;
	struct store *s;

	s = store_open(f->dir, &o, f->err, sizeof(f->err));
	assert_null(s);
	if (!strstr(f->err, want)) {
		print_error("message \"%s\" lacks \"%s\"\n", f->err, want);
		fail();
	}
	assert_non_null(strstr(f->err, f->dir));
	assert_non_null(strstr(f->err, "refusing to open it"));

	after = read_file(f->dir, "data.mdb", &len1);
	assert_int_equal(len0, len1);
	assert_memory_equal(before, after, len0);
	free(before);
	free(after);
}

static void make_store(struct store_fix *f)
{
	struct dp_change c[8];
	unsigned n = sample(c);
	struct store *s = open_store(f, STORE_SYNC_STRICT);

	assert_int_equal(store_write_batch(s, c, n), 0);
	store_close(s);
}

static void test_schema_refused(void **state)
{
	struct store_fix *f = *state;
	uint8_t v[8] = { 0, 0, 0, 7 };
	char want[256];

	make_store(f);
	assert_int_equal(raw_get(f->dir, "meta", "schema", v + 4, 4), 4);
	assert_memory_equal(v + 4, "\0\0\0\1", 4);	/* big endian 1 */

	raw_put(f->dir, "meta", "schema", 6, v, 4);
	snprintf(want, sizeof(want), "%s: store schema 7 is not 1 (written by another leasewire "
		 "version); refusing to open it", f->dir);
	assert_refused(f, want);
	assert_int_equal(raw_get(f->dir, "meta", "schema", v + 4, 4), 4);
	assert_memory_equal(v + 4, "\0\0\0\7", 4);

	/* A schema value of the wrong size is refused too. */
	raw_put(f->dir, "meta", "schema", 6, "\1", 1);
	assert_refused(f, "schema version has 1 bytes");
}

static void test_layout_refused(void **state)
{
	struct store_fix *f = *state;
	char buf[128];
	long n;

	make_store(f);
	n = raw_get(f->dir, "meta", "layout", buf, sizeof(buf));
	assert_int_equal(n, strlen("meta,bindings,config,failover,unacked"));
	assert_memory_equal(buf, "meta,bindings,config,failover,unacked", (size_t)n);

	raw_put(f->dir, "meta", "layout", 6, "meta,bindings,clients,leases", 28);
	assert_refused(f, "store layout \"meta,bindings,clients,leases\" is not");
	n = raw_get(f->dir, "meta", "layout", buf, sizeof(buf));
	assert_memory_equal(buf, "meta,bindings,clients,leases", (size_t)n);
}

static void test_meta_missing_refused(void **state)
{
	struct store_fix *f = *state;

	/* Somebody else's environment: a named database but no meta. */
	raw_put(f->dir, "foo", "k", 1, "v", 1);
	assert_refused(f, "no leasewire meta");
}

static void test_meta_without_schema_refused(void **state)
{
	struct store_fix *f = *state;

	raw_put(f->dir, "meta", "other", 5, "v", 1);
	assert_refused(f, "meta has no schema version");
}

static void test_empty_env_is_fresh(void **state)
{
	struct store_fix *f = *state;
	MDB_env *env;
	uint8_t v[4];
	struct store *s;

	/* An environment with no database at all (created, never written) is fresh. */
	assert_int_equal(mkdir(f->dir, 0700), 0);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
	mdb_env_close(env);

	s = open_store(f, STORE_SYNC_STRICT);
	assert_int_equal(store_count(s), 0);
	store_close(s);
	assert_int_equal(raw_get(f->dir, "meta", "schema", v, 4), 4);
	assert_memory_equal(v, "\0\0\0\1", 4);
}

/* The record encodings of store.c, written independently of it (big endian throughout). */
static void enc_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++) {
		p[i] = (uint8_t)(v >> (56 - 8 * i));
	}
}

/* Version 1: 20 bytes of header, then the key. @return the record length. */
static size_t enc_v1(uint8_t *buf, uint8_t state, uint64_t start, uint64_t ends,
		     const struct dp_client_key *k)
{
	buf[0] = 1;
	buf[1] = state;
	enc_be64(buf + 2, start);
	enc_be64(buf + 10, ends);
	buf[18] = k->type;
	buf[19] = k->len;
	memcpy(buf + 20, k->data, k->len);
	return 20 + (size_t)k->len;
}

/* Version 2: 21 bytes of header (the 21st is hw_len), then the key, then hw. */
static size_t enc_v2(uint8_t *buf, const struct dp_change *c)
{
	buf[0] = 2;
	buf[1] = c->state;
	enc_be64(buf + 2, c->start);
	enc_be64(buf + 10, c->ends);
	buf[18] = c->key.type;
	buf[19] = c->key.len;
	buf[20] = c->hw_len;
	memcpy(buf + 21, c->key.data, c->key.len);
	memcpy(buf + 21 + c->key.len, c->hw, c->hw_len);
	return 21 + (size_t)c->key.len + c->hw_len;
}

/* Version 3: version 2, then four lengths and host, vendor, circuit, policy. */
static size_t enc_v3(uint8_t *buf, const struct dp_change *c)
{
	const struct dp_client_info *in = &c->info;
	size_t n = enc_v2(buf, c);

	buf[0] = 3;
	buf[n++] = in->host_len;
	buf[n++] = in->vendor_len;
	buf[n++] = in->circuit_len;
	buf[n++] = in->policy_len;
	memcpy(buf + n, in->host, in->host_len);
	n += in->host_len;
	memcpy(buf + n, in->vendor, in->vendor_len);
	n += in->vendor_len;
	memcpy(buf + n, in->circuit, in->circuit_len);
	n += in->circuit_len;
	memcpy(buf + n, in->policy, in->policy_len);
	return n + in->policy_len;
}

/* Version 4: version 3 with the PET (u32) after the 21-byte header. */
static size_t enc_v4(uint8_t *buf, const struct dp_change *c)
{
	size_t n = enc_v3(buf, c);

	memmove(buf + 25, buf + 21, n - 21);
	buf[0] = 4;
	buf[21] = (uint8_t)(c->pet >> 24);
	buf[22] = (uint8_t)(c->pet >> 16);
	buf[23] = (uint8_t)(c->pet >> 8);
	buf[24] = (uint8_t)c->pet;
	return n + 4;
}

/* Raw read of the binding of @p addr. @return its length, or -1 when missing. */
static long raw_get_binding(const char *dir, uint32_t addr, uint8_t *buf, size_t len)
{
	uint8_t akey[4];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { .mv_size = 4, .mv_data = akey }, v;
	long ret = -1;

	lw_put32(akey, addr);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "bindings", 0, &dbi), 0);
	if (mdb_get(txn, dbi, &k, &v) == 0) {
		assert_true(v.mv_size <= len);
		memcpy(buf, v.mv_data, v.mv_size);
		ret = (long)v.mv_size;
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return ret;
}

/* Number of entries of database @p db, read raw; -1 when there is no such database. */
static long raw_db_entries(const char *dir, const char *db)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat st;
	int rc;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	rc = mdb_dbi_open(txn, db, 0, &dbi);
	assert_true(rc == 0 || rc == MDB_NOTFOUND);
	if (rc == 0) {
		assert_int_equal(mdb_stat(txn, dbi, &st), 0);
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc == 0 ? (long)st.ms_entries : -1;
}

static size_t raw_entries(const char *dir, const char *db)
{
	long n = raw_db_entries(dir, db);

	assert_true(n >= 0);
	return (size_t)n;
}

static bool raw_has_db(const char *dir, const char *db)
{
	return raw_db_entries(dir, db) >= 0;
}

/* @p rec at BASE + 5 must be reported corrupt by load and get; rewriting @p heal heals it. */
static void expect_corrupt(struct store_fix *f, const char *name, const uint8_t *rec, size_t len,
			   const struct dp_change *heal)
{
	uint8_t akey[4] = { 0xc0, 0x00, 0x02, 0x05 };	/* BASE + 5 */
	struct store_binding b;
	struct collect col;
	struct store *s;

	raw_put(f->dir, "bindings", akey, 4, rec, len);
	s = open_store(f, STORE_SYNC_STRICT);
	col.n = 0;
	if (store_load(s, collect_cb, &col) != STORE_E_CORRUPT) {
		print_error("case \"%s\" not reported\n", name);
		fail();
	}
	assert_int_equal(col.n, 1);	/* .1 came before the bad .5 */
	assert_non_null(strstr(store_errmsg(s), "192.0.2.5"));
	assert_int_equal(store_get(s, BASE + 5, &b), STORE_E_CORRUPT);
	assert_int_equal(store_get(s, BASE + 1, &b), 0);

	/* Rewriting the address heals it. */
	assert_int_equal(store_write_batch(s, heal, 1), 0);
	assert_int_equal(store_get(s, BASE + 5, &b), 0);
	assert_binding(&b, heal);
	store_close(s);
}

static void test_corrupt_record(void **state)
{
	/* Changes to the good version 2 record of .5 (21 + 7 key + 7 hw = 35 bytes). */
	static const struct {
		const char *name;
		int off;		/* byte to change, or -1 */
		uint8_t val;
		int dlen;		/* added to the record length */
	} bad[] = {
		{ "empty", -1, 0, -35 },
		{ "short header", -1, 0, -15 },
		{ "version 3", 0, 3, 0 },
		{ "version 4", 0, 4, 0 },
		{ "version 5", 0, 5, 0 },
		{ "version 0", 0, 0, 0 },
		{ "state FREE", 1, BT_FREE, 0 },
		{ "state OFFERED", 1, BT_OFFERED, 0 },
		{ "state 8", 1, 8, 0 },
		{ "key type 0", 18, 0, 0 },
		{ "key type 3", 18, 3, 0 },
		{ "key len 65", 19, 65, 0 },
		{ "key len 6", 19, 6, 0 },
		{ "key len 0", 19, 0, 0 },
		{ "hw len 18", 20, 18, 0 },
		{ "hw len 6", 20, 6, 0 },
		{ "trailing byte", -1, 0, 1 },
		{ "missing byte", -1, 0, -1 },
	};
	struct store_fix *f = *state;
	struct dp_client_key k;
	struct dp_change c[2], x;
	struct collect col;
	uint8_t good[128], rec[128];
	struct store *s;
	unsigned i;
	size_t len;

	hw_key(&k, 1);
	c[0] = change(BASE + 1, BT_ACTIVE, &k, 10, 100);
	hw_key(&k, 2);
	c[1] = change(BASE + 5, BT_ACTIVE, &k, 10, 100);
	set_hw(&c[1], 7, 5);
	s = open_store(f, STORE_SYNC_STRICT);
	assert_int_equal(store_write_batch(s, c, 2), 0);
	store_close(s);

	/* The encoding is the documented one: version 4, 21 bytes of header, the PET (0 here),
	 * key, hw, four information lengths (all 0 here). */
	{
		uint8_t expect[43] = { 4, BT_ACTIVE, 0, 0, 0, 0, 0, 0, 0, 10,
				       0, 0, 0, 0, 0, 0, 0, 100, DP_KEY_HWADDR, 7, 7,
				       0, 0, 0, 0,
				       1, 2, 0, 0, 0, 0, 2,
				       1, 66, 67, 68, 69, 70, 71, 0, 0, 0, 0 };

		assert_int_equal(raw_get_binding(f->dir, BASE + 5, good, sizeof(good)), 43);
		assert_memory_equal(good, expect, 43);
		assert_int_equal(enc_v4(rec, &c[1]), 43);
		assert_memory_equal(rec, expect, 43);
	}
	/* Version 2 (still read) is checked field by field as before. */
	assert_int_equal(enc_v2(good, &c[1]), 35);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(rec, good, sizeof(rec));
		if (bad[i].off >= 0) {
			rec[bad[i].off] = bad[i].val;
		}
		expect_corrupt(f, bad[i].name, rec, 35 + (size_t)bad[i].dlen, &c[1]);
	}

	/* Version 3's information lengths are checked against their fields and the record. */
	len = enc_v3(rec, &c[1]);
	rec[35] = DP_INFO_HOST_MAX + 1;
	expect_corrupt(f, "v3 host len 33", rec, len + DP_INFO_HOST_MAX + 1, &c[1]);
	len = enc_v3(rec, &c[1]);
	rec[38] = 1;
	expect_corrupt(f, "v3 policy byte missing", rec, len, &c[1]);
	expect_corrupt(f, "v3 lengths missing", rec, len - 2, &c[1]);
	/* Version 4's too, after its PET. */
	len = enc_v4(rec, &c[1]);
	rec[39] = DP_INFO_HOST_MAX + 1;
	expect_corrupt(f, "v4 host len 33", rec, len + DP_INFO_HOST_MAX + 1, &c[1]);
	len = enc_v4(rec, &c[1]);
	expect_corrupt(f, "v4 trailing byte", rec, len + 1, &c[1]);
	expect_corrupt(f, "v4 lengths missing", rec, len - 2, &c[1]);

	/* An empty key is only for BACKUP, and then without a key type. */
	x = c[1];
	x.key.type = 0;
	x.key.len = 0;
	expect_corrupt(f, "empty key in ACTIVE", rec, enc_v2(rec, &x), &c[1]);
	x.state = BT_BACKUP;
	x.key.type = DP_KEY_HWADDR;
	expect_corrupt(f, "empty key with a type", rec, enc_v2(rec, &x), &c[1]);

	/* Version 1 records are checked as strictly. */
	len = enc_v1(rec, BT_ACTIVE, 10, 100, &c[1].key);
	rec[18] = 0;
	expect_corrupt(f, "v1 key type 0", rec, len, &c[1]);
	len = enc_v1(rec, BT_ACTIVE, 10, 100, &c[1].key);
	expect_corrupt(f, "v1 trailing byte", rec, len + 1, &c[1]);
	expect_corrupt(f, "v1 missing byte", rec, len - 1, &c[1]);
	rec[1] = BT_OFFERED;
	expect_corrupt(f, "v1 state OFFERED", rec, len, &c[1]);

	/* A key that is not a 4-byte address. */
	raw_put(f->dir, "bindings", "abc", 3, good, 35);
	s = open_store(f, STORE_SYNC_STRICT);
	col.n = 0;
	assert_int_equal(store_load(s, collect_cb, &col), STORE_E_CORRUPT);
	store_close(s);
}

/* Version 2 carries hw (0 to DP_HW_MAX bytes) through a write, a reopen and a load. */
static void test_hw_round_trip(void **state)
{
	struct store_fix *f = *state;
	struct dp_client_key k;
	struct dp_change c[4];
	struct store_binding b;
	struct collect col = { .n = 0 };
	uint8_t rec[128], want[128];
	struct store *s = open_store(f, STORE_SYNC_STRICT);
	unsigned i;

	for (i = 0; i < 3; i++) {
		cid_key(&k, 3 + i * 20, i);
		c[i] = change(BASE + 10 + i, BT_ACTIVE, &k, 1000 + i, 2000 + i);
	}
	set_hw(&c[0], DP_HW_MAX, 1);	/* the longest: htype + 16 bytes of chaddr */
	set_hw(&c[1], 0, 0);		/* unknown */
	set_hw(&c[2], 1, 3);		/* htype alone */
	assert_int_equal(store_write_batch(s, c, 3), 0);
	store_close(s);

	for (i = 0; i < 3; i++) {
		long n = raw_get_binding(f->dir, c[i].addr, rec, sizeof(rec));

		assert_int_equal(n, (long)enc_v4(want, &c[i]));
		assert_memory_equal(rec, want, (size_t)n);
	}

	s = open_store(f, STORE_SYNC_STRICT);
	assert_int_equal(store_load(s, collect_cb, &col), 0);
	assert_int_equal(col.n, 3);
	for (i = 0; i < 3; i++) {
		assert_binding(&col.b[i], &c[i]);
		assert_int_equal(store_get(s, c[i].addr, &b), 0);
		assert_binding(&b, &c[i]);
	}

	/* A renewal that changes only hw replaces it. */
	set_hw(&c[1], 7, 9);
	assert_int_equal(store_write_batch(s, &c[1], 1), 0);
	assert_int_equal(store_get(s, c[1].addr, &b), 0);
	assert_binding(&b, &c[1]);

	/* More than DP_HW_MAX bytes is refused, and nothing of the batch is written. */
	c[3] = c[0];
	c[3].addr = BASE + 20;
	c[3].hw_len = DP_HW_MAX + 1;
	assert_false(store_change_valid(&c[3]));
	assert_int_equal(store_write_batch(s, &c[2], 2), -EINVAL);
	assert_non_null(strstr(store_errmsg(s), "hardware address"));
	assert_int_equal(store_get(s, BASE + 20, &b), -ENOENT);
	/* A FREE change ignores hw. */
	c[3].state = BT_FREE;
	assert_true(store_change_valid(&c[3]));
	store_close(s);
}

/* A store written before version 2 still loads (hw_len 0), and is rewritten as version 2. */
/* Walk @p db with LMDB's default key order: every key must follow the one before it, and
 * be found by a default-order lookup. @return the entries seen. */
static unsigned raw_check_order(const char *dir, const char *db)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v, prev = { 0, NULL }, v2;
	uint8_t last[1 + DP_KEY_MAX];
	unsigned n = 0;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
	assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
	while (mdb_cursor_get(cur, &k, &v, n == 0 ? MDB_FIRST : MDB_NEXT) == 0) {
		if (n > 0) {
			size_t m = prev.mv_size < k.mv_size ? prev.mv_size : k.mv_size;
			int c = memcmp(last, k.mv_data, m);

			assert_true(c < 0 || (c == 0 && prev.mv_size < k.mv_size));
		}
		assert_int_equal(mdb_get(txn, dbi, &k, &v2), 0);
		assert_true(k.mv_size <= sizeof(last));
		memcpy(last, k.mv_data, k.mv_size);
		prev.mv_size = k.mv_size;
		n++;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return n;
}

/* The store compares keys itself (store.c key_cmp) in LMDB's default order: what it writes
 * reads in order with LMDB's own comparison, and what LMDB's order wrote it finds. Client
 * ids that share prefixes and differ in length, addresses that differ in every byte. */
static void test_key_order_is_lmdb_default(void **state)
{
	struct store_fix *f = *state;
	struct dp_change c[97];
	struct dp_client_key k;
	struct store_binding b;
	uint8_t akey[4], rec[128];
	struct store *s;
	unsigned i;

	for (i = 0; i < 96; i++) {
		cid_key(&k, 1 + (i * 37) % DP_KEY_MAX, i % 3);
		c[i] = change(0x01020304u * (i + 1) + (i << 24), BT_ACTIVE, &k, 1700000000,
			      1700003600);
	}
	s = open_store(f, STORE_SYNC_STRICT);
	assert_int_equal(store_write_batch(s, c, 48), 0);
	assert_int_equal(store_write_batch(s, c + 48, 48), 0);
	store_close(s);
	assert_int_equal(raw_check_order(f->dir, "bindings"), 96);

	/* Written in LMDB's order, found by the store. */
	cid_key(&k, 5, 9);
	c[96] = change(0x0a000001u, BT_ACTIVE, &k, 1700000000, 1700003600);
	lw_put32(akey, c[96].addr);
	raw_put(f->dir, "bindings", akey, 4, rec, enc_v4(rec, &c[96]));
	s = open_store(f, STORE_SYNC_STRICT);
	for (i = 0; i < 97; i++) {
		assert_int_equal(store_get(s, c[i].addr, &b), 0);
		assert_binding(&b, &c[i]);
	}
	store_close(s);
	assert_int_equal(raw_check_order(f->dir, "bindings"), 97);
}

static void test_v1_record_loads(void **state)
{
	struct store_fix *f = *state;
	struct dp_client_key k1, k2;
	struct dp_change c[3];
	struct store_binding b;
	struct collect col = { .n = 0 };
	uint8_t rec[128], akey[4];
	struct store *s;
	size_t len;

	hw_key(&k1, 1);
	cid_key(&k2, DP_KEY_MAX, 2);
	c[0] = change(BASE + 7, BT_ACTIVE, &k1, 1700000000, 1700003600);
	c[1] = change(BASE + 8, BT_BACKUP, &k2, 1700000000, BT_INFINITE);
	make_store(f);

	/* As the version 1 code wrote them. */
	for (int i = 0; i < 2; i++) {
		akey[0] = 0xc0;
		akey[1] = 0x00;
		akey[2] = 0x02;
		akey[3] = (uint8_t)(c[i].addr & 0xff);
		len = enc_v1(rec, c[i].state, c[i].start, c[i].ends, &c[i].key);
		raw_put(f->dir, "bindings", akey, 4, rec, len);
	}

	s = open_store(f, STORE_SYNC_STRICT);
	assert_int_equal(store_get(s, BASE + 7, &b), 0);
	assert_binding(&b, &c[0]);
	assert_int_equal(b.hw_len, 0);
	assert_int_equal(store_get(s, BASE + 8, &b), 0);
	assert_binding(&b, &c[1]);
	assert_int_equal(b.hw_len, 0);
	assert_int_equal(store_load(s, collect_cb, &col), 0);
	assert_int_equal(col.n, 8);	/* the 6 of the sample and these 2 */

	/* The next change to .7 writes version 4, with hw. */
	c[2] = c[0];
	c[2].start = 1700003000;
	set_hw(&c[2], 7, 7);
	assert_int_equal(store_write_batch(s, &c[2], 1), 0);
	assert_int_equal(store_get(s, BASE + 7, &b), 0);
	assert_binding(&b, &c[2]);
	/* .8 goes to a BACKUP without a client. */
	c[2] = change(BASE + 8, BT_BACKUP, NULL, 1700000000, BT_INFINITE);
	assert_int_equal(store_write_batch(s, &c[2], 1), 0);
	assert_int_equal(store_get(s, BASE + 8, &b), 0);
	assert_int_equal(b.key.len, 0);
	store_close(s);

	assert_int_equal(raw_get_binding(f->dir, BASE + 7, rec, sizeof(rec)),
			 21 + 4 + 7 + 7 + 4);
	assert_int_equal(rec[0], 4);
}

/* Version 4 carries what the lease remembers of its client through a write, a reopen and
 * a load; a version 2 record next to it loads with none; a client byte that is not
 * printable ASCII, written by anyone, is read as '?'. */
static void test_info_round_trip(void **state)
{
	struct store_fix *f = *state;
	struct dp_client_key k;
	struct dp_change c[2];
	struct store_binding b;
	struct collect col = {.n = 0};
	uint8_t rec[256], akey[4] = {192, 0, 2, 2};
	size_t len;
	struct store *s;

	hw_key(&k, 1);
	c[0] = change(BASE + 1, BT_ACTIVE, &k, 10, 100);
	set_hw(&c[0], 7, 1);
	memcpy(c[0].info.host, "printer-2nd-floor", c[0].info.host_len = 17);
	memcpy(c[0].info.vendor, "MSFT 5.0", c[0].info.vendor_len = 8);
	memcpy(c[0].info.circuit, "\x00\x01\xff", c[0].info.circuit_len = 3);
	memset(c[0].info.policy, 'p', c[0].info.policy_len = DP_INFO_POLICY_MAX);
	s = open_store(f, STORE_SYNC_STRICT);
	assert_int_equal(store_write_batch(s, c, 1), 0);
	store_close(s);
	assert_int_equal(raw_get_binding(f->dir, BASE + 1, rec, sizeof(rec)),
			 (long)enc_v4(rec + 128, &c[0]));
	assert_memory_equal(rec, rec + 128, enc_v4(rec + 128, &c[0]));

	hw_key(&k, 2);
	c[1] = change(BASE + 2, BT_ACTIVE, &k, 10, 100);
	set_hw(&c[1], 7, 2);
	raw_put(f->dir, "bindings", akey, 4, rec, enc_v2(rec, &c[1]));
	s = open_store(f, STORE_SYNC_STRICT);
	assert_int_equal(store_get(s, BASE + 1, &b), 0);
	assert_binding(&b, &c[0]);
	assert_int_equal(store_get(s, BASE + 2, &b), 0);
	assert_binding(&b, &c[1]);
	assert_int_equal(b.info.host_len + b.info.vendor_len + b.info.policy_len, 0);
	store_close(s);

	c[1].info.host_len = 3;
	memcpy(c[1].info.host, "a\nb", 3);
	len = enc_v3(rec, &c[1]);
	raw_put(f->dir, "bindings", akey, 4, rec, len);
	s = open_store(f, STORE_SYNC_STRICT);
	assert_int_equal(store_load(s, collect_cb, &col), 0);
	assert_int_equal(col.n, 2);
	assert_int_equal(store_get(s, BASE + 2, &b), 0);
	assert_int_equal(b.info.host_len, 3);
	assert_memory_equal(b.info.host, "a?b", 3);
	store_close(s);
}

/* A BACKUP binding may have no client: stored with an empty key. */
static void test_backup_empty_key(void **state)
{
	struct store_fix *f = *state;
	struct dp_client_key k1, k2;
	struct dp_change c[3];
	struct store_binding b;
	struct collect col = { .n = 0 };
	struct store *s = open_store(f, STORE_SYNC_STRICT);

	hw_key(&k1, 1);
	hw_key(&k2, 2);
	c[0] = change(BASE + 1, BT_BACKUP, NULL, 100, BT_INFINITE);
	c[1] = change(BASE + 2, BT_BACKUP, NULL, 100, BT_INFINITE);
	c[1].key.type = DP_KEY_HWADDR;	/* an empty key's type is ignored */
	set_hw(&c[1], 7, 2);		/* a BACKUP binding may still know the hw */
	c[2] = change(BASE + 3, BT_ACTIVE, &k1, 100, 200);
	assert_true(store_change_valid(&c[0]));
	assert_true(store_change_valid(&c[1]));
	assert_int_equal(store_write_batch(s, c, 3), 0);
	store_close(s);

	s = open_store(f, STORE_SYNC_STRICT);
	assert_int_equal(store_load(s, collect_cb, &col), 0);
	assert_int_equal(col.n, 3);
	c[1].key.type = 0;		/* as it reads back */
	assert_binding(&col.b[0], &c[0]);
	assert_binding(&col.b[1], &c[1]);
	assert_int_equal(col.b[1].key.len, 0);
	assert_int_equal(col.b[1].key.type, 0);
	assert_binding(&col.b[2], &c[2]);

	/* .3 turns BACKUP without a client. */
	c[0] = change(BASE + 3, BT_BACKUP, NULL, 300, BT_INFINITE);
	assert_int_equal(store_write_batch(s, c, 1), 0);
	assert_int_equal(store_get(s, BASE + 3, &b), 0);
	assert_int_equal(b.key.len, 0);
	/* And back to a client. */
	c[0] = change(BASE + 3, BT_ACTIVE, &k2, 400, 500);
	assert_int_equal(store_write_batch(s, c, 1), 0);
	assert_int_equal(store_get(s, BASE + 3, &b), 0);
	assert_binding(&b, &c[0]);
	/* FREE of a BACKUP binding. */
	c[0] = change(BASE + 1, BT_FREE, NULL, 500, 0);
	assert_int_equal(store_write_batch(s, c, 1), 0);
	assert_int_equal(store_get(s, BASE + 1, &b), -ENOENT);
	assert_int_equal(store_count(s), 2);
	store_close(s);
}

#define OLD_LAYOUT "meta,bindings,clients,config,failover,unacked"

/* @p f's store as the binaries until 2026-12-08 left it: the sample's bindings, the old
 * layout in "meta" and a "clients" index entry per client (type byte + key -> address). */
static void make_old_store(struct store_fix *f, struct dp_change *c, unsigned *n)
{
	uint8_t ckey[1 + DP_KEY_MAX], akey[4];

	*n = sample(c);
	make_store(f);
	raw_put(f->dir, "meta", "layout", 6, OLD_LAYOUT, strlen(OLD_LAYOUT));
	for (unsigned i = 0; i < *n; i++) {
		ckey[0] = c[i].key.type;
		memcpy(ckey + 1, c[i].key.data, c[i].key.len);
		lw_put32(akey, c[i].addr);
		raw_put(f->dir, "clients", ckey, 1 + (size_t)c[i].key.len, akey, 4);
	}
	assert_int_equal(raw_entries(f->dir, "clients"), *n);
}

/* An owner's open drops the old layout's "clients" index and writes the new layout, and
 * says so once; every binding is still there, and the store takes changes. */
static void test_old_layout_upgraded(void **state)
{
	struct store_fix *f = *state;
	struct dp_change c[8];
	char buf[128], want[128];
	struct store *s;
	unsigned n;
	long len;

	make_old_store(f, c, &n);
	s = open_store(f, STORE_SYNC_STRICT);
	snprintf(want, sizeof(want), "(\"clients\", %u entries) dropped", n);
	if (strstr(store_open_note(s), want) == NULL) {
		fail_msg("open note \"%s\" lacks \"%s\"", store_open_note(s), want);
	}
	check_sample(s, c, n);
	c[0].ends += 100;
	assert_int_equal(store_write_batch(s, c, 1), 0);
	store_close(s);
	assert_false(raw_has_db(f->dir, "clients"));
	len = raw_get(f->dir, "meta", "layout", buf, sizeof(buf));
	assert_int_equal(len, strlen("meta,bindings,config,failover,unacked"));
	assert_memory_equal(buf, "meta,bindings,config,failover,unacked", (size_t)len);

	/* Once: the next open has nothing to say and changes nothing. */
	s = open_store(f, STORE_SYNC_STRICT);
	assert_string_equal(store_open_note(s), "");
	check_sample(s, c, n);
	store_close(s);

	/* The old layout without a "clients" database (nothing to drop) upgrades too. */
	raw_put(f->dir, "meta", "layout", 6, OLD_LAYOUT, strlen(OLD_LAYOUT));
	s = open_store(f, STORE_SYNC_RELAXED);
	assert_non_null(strstr(store_open_note(s), "no \"clients\" database"));
	store_close(s);
	len = raw_get(f->dir, "meta", "layout", buf, sizeof(buf));
	assert_int_equal(len, strlen("meta,bindings,config,failover,unacked"));
}

/* The upgrade of a store whose map its data fills (LMDB takes the data's size as the map
 * when the map asked for is smaller): the drop needs new pages, the map grows, the upgrade
 * is done. Seen at 1 M bindings filled by the old binary: "commit: MDB_MAP_FULL". */
static void test_old_layout_upgraded_in_a_full_map(void **state)
{
	struct store_fix *f = *state;
	struct store_opts o = {.sync = STORE_SYNC_STRICT, .map_size = 64u << 10};
	uint8_t ckey[1 + 8], akey[4];
	struct dp_change c[8];
	struct store *s;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	unsigned n;

	make_old_store(f, c, &n);
	/* Many more index entries, raw, in one transaction: ~2 MiB of "clients". */
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "clients", 0, &dbi), 0);
	for (uint32_t i = 0; i < 40000; i++) {
		MDB_val k = {.mv_size = sizeof(ckey), .mv_data = ckey};
		MDB_val v = {.mv_size = 4, .mv_data = akey};

		ckey[0] = DP_KEY_HWADDR;
		lw_put32(ckey + 1, i);
		lw_put32(ckey + 5, ~i);
		lw_put32(akey, 0x0a000000u + i);
		assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	s = store_open(f->dir, &o, f->err, sizeof(f->err));
	if (s == NULL) {
		fail_msg("store_open: %s", f->err);
	}
	assert_non_null(strstr(store_open_note(s), "entries) dropped"));
	check_sample(s, c, n);
	store_close(s);
	assert_false(raw_has_db(f->dir, "clients"));
}

/* A reader (leasewired --dump-store beside a daemon that may be an older binary still
 * running) opens the old layout as it is: it reads every binding and drops nothing. */
static void test_old_layout_reader_leaves_it(void **state)
{
	struct store_fix *f = *state;
	struct store_opts o = {.sync = STORE_SYNC_STRICT, .reader = true};
	struct dp_change c[8];
	char buf[128];
	struct store *s;
	unsigned n;
	long len;

	make_old_store(f, c, &n);
	s = store_open(f->dir, &o, f->err, sizeof(f->err));
	assert_non_null(s);
	assert_string_equal(store_open_note(s), "");
	check_sample(s, c, n);
	store_close(s);
	assert_int_equal(raw_entries(f->dir, "clients"), n);
	len = raw_get(f->dir, "meta", "layout", buf, sizeof(buf));
	assert_int_equal(len, strlen(OLD_LAYOUT));
	assert_memory_equal(buf, OLD_LAYOUT, (size_t)len);
}

/* Every other stored state needs a client. */
static void test_empty_key_refused(void **state)
{
	static const uint8_t states[] = { BT_ACTIVE, BT_EXPIRED, BT_RELEASED, BT_ABANDONED,
					  BT_RESET };
	struct store_fix *f = *state;
	struct dp_client_key k;
	struct dp_change c[2];
	struct store_binding b;
	struct store *s = open_store(f, STORE_SYNC_STRICT);
	unsigned i;

	hw_key(&k, 1);
	c[0] = change(BASE + 1, BT_BACKUP, NULL, 10, 20);
	for (i = 0; i < sizeof(states); i++) {
		c[1] = change(BASE + 2, states[i], NULL, 10, 20);
		assert_false(store_change_valid(&c[1]));
		c[1].key.type = DP_KEY_HWADDR;	/* a type does not make an empty key valid */
		assert_false(store_change_valid(&c[1]));
		assert_int_equal(store_write_batch(s, c, 2), -EINVAL);
		assert_non_null(strstr(store_errmsg(s), "only BACKUP"));
	}
	/* BACKUP with a client is fine too, but not with a bad key. */
	c[1] = change(BASE + 2, BT_BACKUP, &k, 10, 20);
	assert_true(store_change_valid(&c[1]));
	c[1].key.type = 0;
	assert_false(store_change_valid(&c[1]));
	assert_int_equal(store_write_batch(s, c, 2), -EINVAL);
	assert_int_equal(store_get(s, BASE + 1, &b), -ENOENT);
	assert_int_equal(store_count(s), 0);
	store_close(s);
}

struct addrs {
	uint32_t a[64];
	uint64_t gen[64];
	unsigned n;
	unsigned stop_at;	/* 0: never */
};

static int addr_cb(uint32_t addr, uint64_t gen, void *arg)
{
	struct addrs *l = arg;

	assert_true(l->n < 64);
	l->gen[l->n] = gen;
	l->a[l->n++] = addr;
	return l->n == l->stop_at ? 7 : 0;
}

static void assert_unacked(struct store *s, const uint32_t *want, unsigned n)
{
	struct addrs l = { .n = 0 };
	unsigned i;

	assert_int_equal(store_unacked_load(s, addr_cb, &l), 0);
	assert_int_equal(l.n, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(l.a[i], want[i]);
	}
	assert_int_equal(store_unacked_count(s), n);
}

/* DP_CHANGE_FO changes enter "unacked" with their binding, atomically; others never. */
static void test_unacked(void **state)
{
	struct store_fix *f = *state;
	struct dp_client_key k;
	struct dp_change c[8];
	struct store_binding b;
	struct addrs l = { .n = 0, .stop_at = 2 };
	struct store *s = open_store(f, STORE_SYNC_STRICT);
	unsigned i;

	assert_int_equal(store_unacked_count(s), 0);
	assert_unacked(s, NULL, 0);
	for (i = 0; i < 6; i++) {
		hw_key(&k, i);
		c[i] = change(BASE + 60 - i * 10, BT_ACTIVE, &k, 10, 20);	/* .60 down to .10 */
	}
	c[0].flags = DP_CHANGE_FO;			/* .60 */
	c[1].flags = DP_CHANGE_PEER;			/* .50: the partner's: never */
	c[2].flags = 0;					/* .40: no failover scope */
	c[3].flags = DP_CHANGE_FO | DP_CHANGE_PEER;	/* .30: PEER wins */
	c[4].flags = DP_CHANGE_FO;			/* .20 */
	c[5] = change(BASE + 10, BT_BACKUP, NULL, 10, BT_INFINITE);
	c[5].flags = DP_CHANGE_FO;			/* .10 */
	assert_int_equal(store_write_batch(s, c, 6), 0);
	{
		const uint32_t want[] = { BASE + 10, BASE + 20, BASE + 60 };

		assert_unacked(s, want, 3);		/* address order */
	}

	/* A FREE flagged FO is news for the partner too. */
	c[0] = change(BASE + 40, BT_FREE, NULL, 30, 0);
	c[0].flags = DP_CHANGE_FO;
	assert_int_equal(store_write_batch(s, c, 1), 0);
	{
		const uint32_t want[] = { BASE + 10, BASE + 20, BASE + 40, BASE + 60 };

		assert_unacked(s, want, 4);
	}

	/* A failed batch writes neither the bindings nor their unacked marks. */
	hw_key(&k, 70);
	c[0] = change(BASE + 70, BT_ACTIVE, &k, 10, 20);
	c[0].flags = DP_CHANGE_FO;
	hw_key(&k, 5);
	c[1] = change(BASE + 5, BT_ACTIVE, &k, 10, 20);
	c[1].flags = DP_CHANGE_FO;
	store_inject_failure(s, 1, -EIO);
	assert_int_equal(store_write_batch(s, c, 2), -EIO);
	assert_int_equal(store_get(s, BASE + 70, &b), -ENOENT);
	assert_int_equal(store_unacked_count(s), 4);
	/* So does a batch refused for one bad change. */
	c[2] = change(BASE + 80, BT_OFFERED, &k, 10, 20);
	assert_int_equal(store_write_batch(s, c, 3), -EINVAL);
	assert_int_equal(store_get(s, BASE + 5, &b), -ENOENT);
	assert_int_equal(store_unacked_count(s), 4);
	/* The retry writes both. */
	assert_int_equal(store_write_batch(s, c, 2), 0);
	{
		const uint32_t want[] = { BASE + 5, BASE + 10, BASE + 20, BASE + 40, BASE + 60,
					  BASE + 70 };

		assert_unacked(s, want, 6);
	}
	assert_int_equal(store_unacked_load(s, addr_cb, &l), 7);	/* the callback stops it */
	assert_int_equal(l.n, 2);

	/* The partner acknowledges: absent addresses are fine, an empty list too. */
	{
		const uint32_t ack[] = { BASE + 60, BASE + 99, BASE + 5, BASE + 60 };
		const uint32_t want[] = { BASE + 10, BASE + 20, BASE + 40, BASE + 70 };

		assert_int_equal(store_unacked_del(s, ack, NULL, 4), 0);
		assert_int_equal(store_unacked_del(s, NULL, NULL, 0), 0);
		assert_unacked(s, want, 4);
	}
	/* A later FO change of an acknowledged address is unacked again. */
	hw_key(&k, 60);
	c[0] = change(BASE + 60, BT_RELEASED, &k, 40, 40);
	c[0].flags = DP_CHANGE_FO;
	assert_int_equal(store_write_batch(s, c, 1), 0);
	assert_int_equal(store_unacked_count(s), 5);
	store_close(s);

	/* It survives a restart: the control thread resends these. */
	s = open_store(f, STORE_SYNC_STRICT);
	{
		const uint32_t want[] = { BASE + 10, BASE + 20, BASE + 40, BASE + 60, BASE + 70 };

		assert_unacked(s, want, 5);
		assert_int_equal(store_unacked_del(s, want, NULL, 5), 0);
	}
	assert_unacked(s, NULL, 0);
	store_close(s);
}

/*
 * Issue 11 item 14: the unacked mark carries a generation, one more with each change, so that
 * an acknowledgement deletes exactly the mark it saw: a change committed between the control
 * thread's tap drain and its delete keeps its mark (before, the delete took it, and a crash
 * then forgot to tell the partner). A store of before generations (empty values) loads as
 * generation 0 and goes on from there.
 */
static void test_unacked_generation(void **state)
{
	struct store_fix *f = *state;
	struct dp_client_key k;
	struct dp_change c[3];
	uint64_t gens[3] = {9, 9, 9};
	struct addrs l = { .n = 0 };
	uint8_t akey[4];
	struct store *s;
	const uint32_t a = BASE + 60, old = BASE + 7;

	/* An old store: its mark of .7 has an empty value. */
	s = open_store(f, STORE_SYNC_STRICT);
	store_close(s);
	lw_put32(akey, old);
	raw_put(f->dir, "unacked", akey, sizeof(akey), "", 0);

	s = open_store(f, STORE_SYNC_STRICT);
	assert_int_equal(store_unacked_load(s, addr_cb, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.a[0], old);
	assert_int_equal(l.gen[0], 0);

	hw_key(&k, 60);
	c[0] = change(a, BT_ACTIVE, &k, 10, 20);
	c[0].flags = DP_CHANGE_FO;
	c[1] = change(old, BT_ACTIVE, &k, 10, 20);
	c[1].flags = DP_CHANGE_FO;
	c[2] = change(BASE + 61, BT_ACTIVE, &k, 10, 20);	/* not failover: no mark */
	assert_int_equal(store_write_batch_gen(s, c, 3, gens), 0);
	assert_int_equal(gens[0], 1);
	assert_int_equal(gens[1], 1);		/* the empty value was generation 0 */
	assert_int_equal(gens[2], 0);
	/* Two changes of one address in one batch: the later has the next generation. */
	c[0].start = c[1].start = 11;
	c[1].addr = a;
	assert_int_equal(store_write_batch_gen(s, c, 2, gens), 0);
	assert_int_equal(gens[0], 2);
	assert_int_equal(gens[1], 3);

	/* The partner acked what was sent for generation 1 of each: .7 goes, .60 (at 3 now,
	 * changed since) stays. */
	{
		const uint32_t ack[] = { a, old };
		const uint64_t ack_gen[] = { 1, 1 };
		const uint32_t want[] = { a };

		assert_int_equal(store_unacked_del(s, ack, ack_gen, 2), 0);
		assert_unacked(s, want, 1);
	}
	{
		const uint32_t ack[] = { a };
		const uint64_t stale[] = { 2 }, cur[] = { 3 };

		assert_int_equal(store_unacked_del(s, ack, stale, 1), 0);
		assert_int_equal(store_unacked_count(s), 1);
		assert_int_equal(store_unacked_del(s, ack, cur, 1), 0);
		assert_int_equal(store_unacked_count(s), 0);
	}
	/* The next mark of an acknowledged address starts over; it survives a restart with
	 * its generation. */
	c[0].start = 12;
	assert_int_equal(store_write_batch(s, c, 1), 0);
	store_close(s);
	s = open_store(f, STORE_SYNC_STRICT);
	l.n = 0;
	assert_int_equal(store_unacked_load(s, addr_cb, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.a[0], a);
	assert_int_equal(l.gen[0], 1);
	/* A value that is no generation is reported, never misread. */
	store_close(s);
	raw_put(f->dir, "unacked", akey, sizeof(akey), "xyz", 3);
	s = open_store(f, STORE_SYNC_STRICT);
	assert_int_equal(store_unacked_load(s, addr_cb, &l), STORE_E_CORRUPT);
	store_close(s);
}

static void test_fo_records(void **state)
{
	struct store_fix *f = *state;
	static uint8_t big[4097];
	char name[80], buf[8];
	size_t len = 0;
	struct store *s = open_store(f, STORE_SYNC_STRICT);
	unsigned i;

	for (i = 0; i < sizeof(big); i++) {
		big[i] = (uint8_t)(i * 7);
	}
	assert_int_equal(store_fo_get(s, "dhcp-pair", buf, sizeof(buf), &len), -ENOENT);
	assert_int_equal(store_fo_put(s, "dhcp-pair", "abc", 3), 0);
	assert_int_equal(store_fo_get(s, "dhcp-pair", buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "abc", 3);
	/* Replaced, not appended. */
	assert_int_equal(store_fo_put(s, "dhcp-pair", "wxyz", 4), 0);
	assert_int_equal(store_fo_put(s, "other", "1", 1), 0);
	assert_int_equal(store_fo_get(s, "dhcp-pair", buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(buf, "wxyz", 4);
	/* A name is its bytes: a prefix is another name. */
	assert_int_equal(store_fo_get(s, "dhcp", buf, sizeof(buf), &len), -ENOENT);

	/* The largest record; a buffer too small says how much is needed. */
	assert_int_equal(store_fo_put(s, "dhcp-pair", big, 4096), 0);
	len = 0;
	assert_int_equal(store_fo_get(s, "dhcp-pair", buf, sizeof(buf), &len), -ENOSPC);
	assert_int_equal(len, 4096);
	len = 0;
	assert_int_equal(store_fo_get(s, "dhcp-pair", NULL, 0, &len), -ENOSPC);
	assert_int_equal(len, 4096);
	{
		static uint8_t out[4096];

		assert_int_equal(store_fo_get(s, "dhcp-pair", out, sizeof(out), &len), 0);
		assert_int_equal(len, 4096);
		assert_memory_equal(out, big, 4096);
	}

	/* Lengths: name 1..63, value 1..4096. */
	memset(name, 'n', sizeof(name));
	name[63] = '\0';
	assert_int_equal(store_fo_put(s, name, "v", 1), 0);
	assert_int_equal(store_fo_get(s, name, buf, sizeof(buf), &len), 0);
	name[63] = 'n';
	name[64] = '\0';
	assert_int_equal(store_fo_put(s, name, "v", 1), -EINVAL);
	assert_non_null(strstr(store_errmsg(s), "name"));
	assert_int_equal(store_fo_get(s, name, buf, sizeof(buf), &len), -EINVAL);
	assert_int_equal(store_fo_put(s, "", "v", 1), -EINVAL);
	assert_int_equal(store_fo_get(s, "", buf, sizeof(buf), &len), -EINVAL);
	assert_int_equal(store_fo_put(s, NULL, "v", 1), -EINVAL);
	assert_int_equal(store_fo_put(s, "x", "v", 0), -EINVAL);
	assert_int_equal(store_fo_put(s, "x", NULL, 1), -EINVAL);
	assert_int_equal(store_fo_put(s, "x", big, 4097), -EINVAL);
	assert_non_null(strstr(store_errmsg(s), "4097 bytes"));
	assert_int_equal(store_fo_get(s, "x", buf, sizeof(buf), &len), -ENOENT);
	store_close(s);

	/* Durable, and beside the bindings without touching them. */
	s = open_store(f, STORE_SYNC_STRICT);
	assert_int_equal(store_fo_get(s, "other", buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(store_count(s), 0);
	store_close(s);
	assert_int_equal(raw_entries(f->dir, "failover"), 3);
}

static int stop_cb(const struct store_binding *b, void *arg)
{
	unsigned *n = arg;

	(void)b;
	return ++*n == 2 ? 42 : 0;
}

static int count_cb(const struct store_binding *b, void *arg)
{
	unsigned *n = arg;

	(void)b;
	++*n;
	return 0;
}

static void test_load_stops(void **state)
{
	struct store_fix *f = *state;
	struct dp_change c[8];
	unsigned n = sample(c), seen = 0;
	struct store *s = open_store(f, STORE_SYNC_STRICT);

	assert_int_equal(store_write_batch(s, c, n), 0);
	assert_int_equal(store_load(s, stop_cb, &seen), 42);
	assert_int_equal(seen, 2);
	store_close(s);
}

static void test_map_full(void **state)
{
	struct store_fix *f = *state;
	struct store_opts o = {
		.sync = STORE_SYNC_STRICT,
		.map_size = 64 << 10,
		.max_map_size = 256 << 10,
	};
	struct dp_change c[16];
	struct dp_client_key k;
	struct store *s;
	MDB_envinfo info;
	MDB_stat est;
	MDB_env *env;
	uint64_t before = 0;
	unsigned batch, i, next = 0;
	int ret = 0;

	s = store_open(f->dir, &o, f->err, sizeof(f->err));
	assert_non_null(s);
	for (batch = 0; batch < 10000; batch++) {
		for (i = 0; i < 16; i++) {
			cid_key(&k, DP_KEY_MAX, next + i);
			c[i] = change(BASE + next + i, BT_ACTIVE, &k, 10, 20);
			c[i].flags = DP_CHANGE_FO;
		}
		before = store_count(s);
		ret = store_write_batch(s, c, 16);
		if (ret) {
			break;
		}
		next += 16;
		assert_int_equal(store_count(s), before + 16);
	}
	assert_int_equal(ret, STORE_E_FULL);
	/* The failed batch wrote nothing, unacked marks included, though it failed midway. */
	assert_int_equal(store_count(s), before);
	assert_int_equal(store_count(s), next);
	assert_int_equal(store_unacked_count(s), next);
	for (i = 0; i < 16; i++) {
		struct store_binding b;

		assert_int_equal(store_get(s, c[i].addr, &b), -ENOENT);
	}
	assert_non_null(strstr(store_errmsg(s), "store full"));
	assert_non_null(strstr(store_errmsg(s), "262144"));
	/* What was written before is all there. */
	{
		unsigned seen = 0;

		assert_int_equal(store_load(s, count_cb, &seen), 0);
		assert_int_equal(seen, next);
	}
	store_close(s);

	/* The map grew before failing: the committed data needs more than 64 KiB. */
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, f->dir, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_env_info(env, &info), 0);
	assert_int_equal(mdb_env_stat(env, &est), 0);
	assert_true(info.me_mapsize > (64 << 10));
	assert_true(info.me_mapsize <= (256 << 10));
	assert_true((info.me_last_pgno + 1) * est.ms_psize > (64 << 10));
	mdb_env_close(env);

	/* It reopens (at the recorded size) and reads. */
	s = store_open(f->dir, &o, f->err, sizeof(f->err));
	assert_non_null(s);
	assert_int_equal(store_count(s), next);
	store_close(s);
}

static void test_bad_opts(void **state)
{
	struct store_fix *f = *state;
	struct store_opts o = { .map_size = 1 << 20, .max_map_size = 1 << 19 };

	assert_null(store_open(f->dir, &o, f->err, sizeof(f->err)));
	assert_non_null(strstr(f->err, "max_map_size"));

	/* A directory whose parent is missing. */
	snprintf(f->err, sizeof(f->err), "%s", "");
	{
		char dir[160];

		snprintf(dir, sizeof(dir), "%s/no/such", f->tmp);
		assert_null(store_open(dir, NULL, f->err, sizeof(f->err)));
		assert_non_null(strstr(f->err, dir));
	}
}

static void test_inject_failure(void **state)
{
	struct store_fix *f = *state;
	struct dp_client_key k;
	struct dp_change c[3];
	struct store_binding b;
	struct store *s = open_store(f, STORE_SYNC_STRICT);
	unsigned i;

	for (i = 0; i < 3; i++) {
		hw_key(&k, i);
		c[i] = change(BASE + i, BT_ACTIVE, &k, 10, 20);
	}
	assert_int_equal(store_write_batch(s, c, 1), 0);

	store_inject_failure(s, 1, -EIO);
	assert_int_equal(store_write_batch(s, c + 1, 2), -EIO);
	assert_non_null(strstr(store_errmsg(s), "injected"));
	assert_int_equal(store_count(s), 1);
	assert_int_equal(store_get(s, BASE + 1, &b), -ENOENT);
	assert_int_equal(store_write_batch(s, c + 1, 2), 0);
	assert_int_equal(store_count(s), 3);

	store_inject_failure(s, 2, STORE_E_IO);
	assert_int_equal(store_write_batch(s, c, 1), STORE_E_IO);
	store_inject_failure(s, 0, 0);
	assert_int_equal(store_write_batch(s, c, 1), 0);
	store_close(s);
}

static void test_invalid_change(void **state)
{
	struct store_fix *f = *state;
	struct dp_client_key k;
	struct dp_change c[2];
	struct store *s = open_store(f, STORE_SYNC_STRICT);

	hw_key(&k, 1);
	c[0] = change(BASE + 1, BT_ACTIVE, &k, 10, 20);
	c[1] = change(BASE + 2, BT_OFFERED, &k, 10, 20);
	assert_int_equal(store_write_batch(s, c, 2), -EINVAL);
	assert_non_null(strstr(store_errmsg(s), "never stored"));
	c[1] = change(BASE + 2, BT_ACTIVE, &k, 10, 20);
	c[1].key.len = DP_KEY_MAX + 1;
	assert_int_equal(store_write_batch(s, c, 2), -EINVAL);
	c[1].key.len = 6;
	c[1].key.type = 0;
	assert_int_equal(store_write_batch(s, c, 2), -EINVAL);
	assert_int_equal(store_count(s), 0);
	assert_int_equal(store_write_batch(s, c, 0), 0);
	store_close(s);
}

static void test_relaxed(void **state)
{
	struct store_fix *f = *state;
	struct dp_change c[8];
	unsigned n = sample(c);
	struct store *s = open_store(f, STORE_SYNC_RELAXED);

	assert_int_equal(store_write_batch(s, c, n), 0);
	check_sample(s, c, n);
	store_close(s);
	s = open_store(f, STORE_SYNC_STRICT);
	check_sample(s, c, n);
	store_close(s);
}

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(store_strerror(STORE_E_FULL), "store full");
	assert_non_null(strstr(store_strerror(STORE_E_SCHEMA), "schema"));
	assert_non_null(strstr(store_strerror(STORE_E_CORRUPT), "corrupt"));
	assert_string_equal(store_strerror(-ENOENT), strerror(ENOENT));
	assert_string_equal(store_strerror(0), "success");
	assert_string_equal(store_errmsg(NULL), "no store");
}

/*
 * Random batches against a model of the store's rules (the previous holder of an address
 * loses its index entry if it still points there, a FREE drops both the binding and any
 * entry pointing at it, a client's entry follows it): thousands of addresses and clients of
 * every key length, so that pages split, merge and empty while a batch's cursors are
 * reused, with records that change size (client information) and batches that move one
 * address or client several times. Checked whole after every batch.
 */
#define M_ADDRS		1500
#define M_KEYS		1200

struct model {
	struct dp_client_key key[M_KEYS];
	int bound[M_ADDRS];		/* key index of the address's binding, -1 free, -2 no key */
	uint8_t state[M_ADDRS];
	uint8_t host_len[M_ADDRS];
};

static uint32_t m_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return (uint32_t)(*x >> 11);
}

static void model_apply(struct model *m, const struct dp_change *c, int key)
{
	int a = (int)(c->addr - BASE);

	if (c->state == BT_FREE) {
		m->bound[a] = -1;
		return;
	}
	m->bound[a] = key < 0 ? -2 : key;
	m->state[a] = c->state;
	m->host_len[a] = c->info.host_len;
}

static void model_check(struct store *s, const struct model *m)
{
	struct store_binding b;
	uint64_t n = 0;
	int a, ret;

	for (a = 0; a < M_ADDRS; a++) {
		ret = store_get(s, BASE + (uint32_t)a, &b);
		if (m->bound[a] == -1) {
			assert_int_equal(ret, -ENOENT);
			continue;
		}
		n++;
		assert_int_equal(ret, 0);
		assert_int_equal(b.state, m->state[a]);
		assert_int_equal(b.info.host_len, m->host_len[a]);
		if (m->bound[a] == -2) {
			assert_int_equal(b.key.len, 0);
		} else {
			assert_int_equal(b.key.len, m->key[m->bound[a]].len);
			assert_memory_equal(b.key.data, m->key[m->bound[a]].data, b.key.len);
		}
	}
	assert_int_equal(store_count(s), n);
}

static void run_model(struct store_fix *f, const struct store_opts *o, uint64_t seed,
		      unsigned batches)
{
	static struct model m;
	static struct dp_change c[400];
	int keys[400];
	struct store *s;
	uint64_t x = seed;
	unsigned bt, i, n;
	int ret;

	memset(&m, 0, sizeof(m));
	for (i = 0; i < M_KEYS; i++) {
		struct dp_client_key *k = &m.key[i];
		unsigned j;

		k->type = i % 3 == 0 ? DP_KEY_HWADDR : DP_KEY_CLIENT_ID;
		k->len = (uint8_t)(k->type == DP_KEY_HWADDR ? 7 : 1 + m_rand(&x) % DP_KEY_MAX);
		for (j = 0; j < k->len; j++) {
			k->data[j] = (uint8_t)m_rand(&x);
		}
		/* distinct: the index in the first bytes when the key is long enough */
		if (k->len >= 3) {
			k->data[0] = (uint8_t)(i >> 8);
			k->data[1] = (uint8_t)i;
			k->data[2] = 0xee;
		}
	}
	/* short keys may repeat: keep only the first of equal ones */
	for (i = 0; i < M_KEYS; i++) {
		for (unsigned j = 0; j < i; j++) {
			if (m.key[j].type == m.key[i].type && m.key[j].len == m.key[i].len &&
			    memcmp(m.key[j].data, m.key[i].data, m.key[i].len) == 0) {
				m.key[i].len = 3;
				m.key[i].data[0] = (uint8_t)(i >> 8);
				m.key[i].data[1] = (uint8_t)i;
				m.key[i].data[2] = 0xee;
				break;
			}
		}
	}
	for (i = 0; i < M_ADDRS; i++) {
		m.bound[i] = -1;
	}
	s = store_open(f->dir, o, f->err, sizeof(f->err));
	assert_non_null(s);
	for (bt = 0; bt < batches; bt++) {
		n = 1 + m_rand(&x) % (bt % 4 == 0 ? 400 : 40);
		for (i = 0; i < n; i++) {
			/* a narrow window of addresses now and then: one address several times */
			uint32_t a = bt % 5 == 1 ? m_rand(&x) % 8 : m_rand(&x) % M_ADDRS;
			unsigned r = m_rand(&x) % 16;
			int key = (int)(m_rand(&x) % M_KEYS);
			uint8_t st;

			if (bt % 7 == 3) {
				key = (int)(m_rand(&x) % 6);	/* a few clients moving about */
			}
			st = r < (bt % 3 == 0 ? 9u : 4u) ? BT_FREE :
			     r < 12 ? BT_ACTIVE : r < 14 ? BT_EXPIRED : BT_BACKUP;
			if (st == BT_BACKUP && m_rand(&x) % 2 == 0) {
				key = -1;
			}
			if (st == BT_FREE && m_rand(&x) % 2 == 0) {
				key = -1;
			}
			c[i] = change(BASE + a, st, key >= 0 ? &m.key[key] : NULL, 1, 2);
			if (st != BT_FREE) {
				c[i].info.host_len = (uint8_t)(m_rand(&x) % DP_INFO_HOST_MAX);
				memset(c[i].info.host, 'h', c[i].info.host_len);
				c[i].flags = m_rand(&x) % 4 == 0 ? DP_CHANGE_FO : 0;
			}
			keys[i] = key;
		}
		if (o->journal) {
			/* appended, then applied in rounds of another size than the batch's */
			static struct dp_change out[64];
			long got;

			ret = store_journal_append(s, c, n);
			if (ret != 0) {
				fail_msg("append %u: %s", bt, store_errmsg(s));
			}
			do {
				got = store_journal_apply(s, out, NULL, 1 + m_rand(&x) % 64);
				if (got < 0) {
					fail_msg("apply %u: %s", bt, store_errmsg(s));
				}
			} while (got > 0);
		} else {
			ret = store_write_batch(s, c, n);
			if (ret != 0) {
				fail_msg("batch %u: %s", bt, store_errmsg(s));
			}
		}
		for (i = 0; i < n; i++) {
			model_apply(&m, &c[i], keys[i]);
		}
		model_check(s, &m);
	}
	store_close(s);
	/* and the same after a reopen */
	s = store_open(f->dir, o, f->err, sizeof(f->err));
	assert_non_null(s);
	model_check(s, &m);
	store_close(s);
}

static void test_random_batches_match_model(void **state)
{
	struct store_opts o = { .sync = STORE_SYNC_RELAXED };

	run_model(*state, &o, 0x9e3779b97f4a7c15ull, 300);
}

/* The same with a map that starts small: batches hit MDB_MAP_FULL part way and run again. */
static void test_random_batches_map_full(void **state)
{
	struct store_opts o = {
		.sync = STORE_SYNC_RELAXED,
		.map_size = 32 << 10,
		.max_map_size = 64 << 20,
	};

	run_model(*state, &o, 0x51ed27a3c9b0d1f3ull, 200);
}

/* The same through the journal: the applier's transactions take the same cursors' path. */
static void test_random_journal_matches_model(void **state)
{
	struct store_opts o = {
		.sync = STORE_SYNC_RELAXED,
		.map_size = 32 << 10,
		.max_map_size = 64 << 20,
		.journal = true,
	};

	run_model(*state, &o, 0x2545f4914f6cdd1dull, 200);
}

/* The PET of @p addr as stored, read through the store. */
static uint32_t pet_of(struct store *s, uint32_t addr)
{
	struct store_binding b;

	assert_int_equal(store_get(s, addr, &b), 0);
	return b.pet;
}

/*
 * Version 4 keeps the failover PET through a write, a reopen and a load; a version 3 record
 * reads with PET 0; a failover change never lowers it, any other change writes its own;
 * store_unacked_del_pet() raises it (never lowers it, creates no binding) in the
 * transaction that deletes the acknowledged marks.
 */
static void test_pet_round_trip(void **state)
{
	struct store_fix *f = *state;
	struct dp_client_key k;
	struct dp_change c[3];
	struct collect col = {.n = 0};
	uint8_t rec[256], akey[4] = {192, 0, 2, 3};
	struct store *s;

	hw_key(&k, 1);
	c[0] = change(BASE + 1, BT_ACTIVE, &k, 10, 100);
	c[0].flags = DP_CHANGE_FO;
	c[0].pet = 1700001234u;
	hw_key(&k, 2);
	c[1] = change(BASE + 2, BT_EXPIRED, &k, 10, 100);
	c[1].flags = DP_CHANGE_PEER;
	c[1].pet = 0xfffffffeu;
	hw_key(&k, 3);
	c[2] = change(BASE + 3, BT_ACTIVE, &k, 10, 100);
	c[2].pet = 77;
	s = open_store(f, STORE_SYNC_STRICT);
	assert_int_equal(store_write_batch(s, c, 2), 0);
	store_close(s);
	assert_int_equal(raw_get_binding(f->dir, BASE + 1, rec, sizeof(rec)),
			 (long)enc_v4(rec + 128, &c[0]));
	assert_memory_equal(rec, rec + 128, enc_v4(rec + 128, &c[0]));

	/* A version 3 record (an older binary's) reads with no PET. */
	raw_put(f->dir, "bindings", akey, 4, rec, enc_v3(rec, &c[2]));
	c[2].pet = 0;
	s = open_store(f, STORE_SYNC_STRICT);
	assert_int_equal(store_load(s, collect_cb, &col), 0);
	assert_int_equal(col.n, 3);
	assert_binding(&col.b[0], &c[0]);
	assert_binding(&col.b[1], &c[1]);
	assert_binding(&col.b[2], &c[2]);

	/* A failover change (ours or the partner's) written with a lower PET, as a worker
	 * that read it before an acknowledgement raised it would: the stored one stays. A
	 * higher one wins. */
	c[0].pet = 5;
	c[0].ends = 200;
	assert_int_equal(store_write_batch(s, c, 1), 0);
	assert_int_equal(pet_of(s, BASE + 1), 1700001234u);
	c[1].pet = 0;
	assert_int_equal(store_write_batch(s, &c[1], 1), 0);
	assert_int_equal(pet_of(s, BASE + 2), 0xfffffffeu);
	c[0].pet = 1700005000u;
	assert_int_equal(store_write_batch(s, c, 1), 0);
	assert_int_equal(pet_of(s, BASE + 1), 1700005000u);
	/* review17: another client's binding of the address (the partner's update), or a
	 * BACKUP, starts from its own PET: the stored one was acknowledged for the previous
	 * client's lease. */
	{
		struct dp_change o = c[1];

		o.addr = BASE + 2;
		o.state = BT_ACTIVE;
		hw_key(&o.key, 4);
		o.pet = 300;
		assert_int_equal(store_write_batch(s, &o, 1), 0);
		assert_int_equal(pet_of(s, BASE + 2), 300);
		o.pet = 0xfffffffeu;
		assert_int_equal(store_write_batch(s, &o, 1), 0);
		o.state = BT_BACKUP;
		o.key.len = 0;
		o.key.type = 0;
		o.pet = 0;
		assert_int_equal(store_write_batch(s, &o, 1), 0);
		assert_int_equal(pet_of(s, BASE + 2), 0);
		o = c[1];
		o.pet = 0xfffffffeu;
		assert_int_equal(store_write_batch(s, &o, 1), 0);	/* as before, for below */
	}
	/* A change of a scope without failover writes its own. */
	c[0].flags = 0;
	c[0].pet = 0;
	assert_int_equal(store_write_batch(s, c, 1), 0);
	assert_int_equal(pet_of(s, BASE + 1), 0);

	/* Acknowledged PETs: raised with the unacked deletes, in one transaction. .3 is a
	 * version 3 record: rewritten as version 4 with everything else kept. */
	c[0].flags = DP_CHANGE_FO;
	assert_int_equal(store_write_batch(s, c, 1), 0);
	assert_int_equal(store_unacked_count(s), 1);
	{
		const uint32_t ack[] = { BASE + 1 };
		const struct store_pet pets[] = {
			{ BASE + 1, 1700009000u }, { BASE + 2, 1000 }, { BASE + 3, 1700007000u },
			{ BASE + 9, 1700007000u },
		};
		struct store_binding b;

		assert_int_equal(store_unacked_del_pet(s, ack, NULL, 1, pets, 4), 0);
		assert_int_equal(store_unacked_count(s), 0);
		assert_int_equal(pet_of(s, BASE + 1), 1700009000u);
		assert_int_equal(pet_of(s, BASE + 2), 0xfffffffeu);	/* never lowered */
		c[2].pet = 1700007000u;
		assert_int_equal(store_get(s, BASE + 3, &b), 0);
		assert_binding(&b, &c[2]);
		assert_int_equal(store_get(s, BASE + 9, &b), -ENOENT);	/* none made */
		assert_int_equal(store_unacked_del_pet(s, NULL, NULL, 0, pets, 0), 0);
		assert_int_equal(store_unacked_del_pet(s, NULL, NULL, 0, NULL, 1), -EINVAL);
	}
	store_close(s);
	assert_int_equal(raw_get_binding(f->dir, BASE + 3, rec, sizeof(rec)),
			 (long)enc_v4(rec + 128, &c[2]));
	assert_memory_equal(rec, rec + 128, enc_v4(rec + 128, &c[2]));
	s = open_store(f, STORE_SYNC_STRICT);
	assert_int_equal(pet_of(s, BASE + 1), 1700009000u);
	store_close(s);
}

/*
 * Through the journal: an entry carries its PET to the bindings, and an acknowledgement's
 * PET written while an older entry of the address still waits in the journal survives that
 * entry's apply (and the replay of a restart).
 */
static void test_pet_journal(void **state)
{
	struct store_fix *f = *state;
	struct store_opts o = { .sync = STORE_SYNC_STRICT, .journal = true };
	struct dp_change c[2], out[4];
	struct dp_client_key k;
	struct store *s = store_fix_open(f, &o);
	const struct store_pet raise = { BASE + 1, 1700009000u };

	hw_key(&k, 1);
	c[0] = change(BASE + 1, BT_ACTIVE, &k, 10, 100);
	c[0].flags = DP_CHANGE_FO;
	c[0].pet = 1700001234u;
	assert_int_equal(store_journal_append(s, c, 1), 0);
	assert_int_equal(store_journal_apply(s, out, NULL, 4), 1);
	assert_int_equal(out[0].pet, 1700001234u);
	assert_int_equal(pet_of(s, BASE + 1), 1700001234u);

	/* A renewal read the PET before the ack raised it; the ack is written first. */
	c[1] = c[0];
	c[1].ends = 300;
	assert_int_equal(store_journal_append(s, &c[1], 1), 0);
	assert_int_equal(store_unacked_del_pet(s, NULL, NULL, 0, &raise, 1), 0);
	assert_int_equal(pet_of(s, BASE + 1), 1700009000u);
	assert_int_equal(store_journal_apply(s, out, NULL, 4), 1);
	assert_int_equal(pet_of(s, BASE + 1), 1700009000u);

	/* The same, the entry applied by the replay of the next open. */
	c[1].ends = 400;
	assert_int_equal(store_journal_append(s, &c[1], 1), 0);
	assert_int_equal(store_journal_sync(s), 0);
	assert_int_equal(store_unacked_del_pet(s, NULL, NULL, 0,
					       &(struct store_pet){ BASE + 1, 1700009500u }, 1),
			 0);
	store_close(s);
	s = store_fix_open(f, &o);
	{
		struct store_binding b;

		assert_int_equal(store_get(s, BASE + 1, &b), 0);
		assert_true(b.ends == 400);
		assert_int_equal(b.pet, 1700009500u);
	}
	store_close(s);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_round_trip),
		T(test_reopen),
		T(test_free_deletes),
		T(test_later_change_wins),
		T(test_old_layout_upgraded),
		T(test_old_layout_upgraded_in_a_full_map),
		T(test_old_layout_reader_leaves_it),
		T(test_schema_refused),
		T(test_layout_refused),
		T(test_meta_missing_refused),
		T(test_meta_without_schema_refused),
		T(test_empty_env_is_fresh),
		T(test_corrupt_record),
		T(test_hw_round_trip),
		T(test_v1_record_loads),
		T(test_key_order_is_lmdb_default),
		T(test_info_round_trip),
		T(test_pet_round_trip),
		T(test_pet_journal),
		T(test_backup_empty_key),
		T(test_empty_key_refused),
		T(test_unacked),
		T(test_unacked_generation),
		T(test_fo_records),
		T(test_load_stops),
		T(test_map_full),
		T(test_bad_opts),
		T(test_inject_failure),
		T(test_invalid_change),
		T(test_relaxed),
		T(test_strerror),
		T(test_random_batches_match_model),
		T(test_random_batches_map_full),
		T(test_random_journal_matches_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
