/*
 * The LMDB store: record round trips, batches, the client index, refusal of foreign
 * environments (which must stay untouched), corrupt records, map growth and "store full",
 * fault injection and the relaxed sync mode.
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

#include "bindings.h"
#include "store.h"

#define BASE 0xc0000200u	/* 192.0.2.0 */

struct fix {
	char tmp[64];
	char dir[96];
	char err[512];
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->tmp, "/tmp/lw-store-XXXXXX");
	assert_non_null(mkdtemp(f->tmp));
	snprintf(f->dir, sizeof(f->dir), "%s/db", f->tmp);
	*state = f;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fix *f = *state;

	assert_int_equal(nftw(f->tmp, rm_one, 8, FTW_DEPTH | FTW_PHYS), 0);
	free(f);
	return 0;
}

static struct store *open_store(struct fix *f, enum store_sync sync)
{
	struct store_opts o = { .sync = sync };
	struct store *s = store_open(f->dir, &o, f->err, sizeof(f->err));

	if (!s) {
		print_error("store_open: %s\n", f->err);
	}
	assert_non_null(s);
	return s;
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

static void assert_binding(const struct store_binding *b, const struct dp_change *c)
{
	assert_int_equal(b->addr, c->addr);
	assert_int_equal(b->state, c->state);
	assert_true(b->start == c->start);
	assert_true(b->ends == c->ends);
	assert_int_equal(b->key.type, c->key.type);
	assert_int_equal(b->key.len, c->key.len);
	assert_memory_equal(b->key.data, c->key.data, c->key.len);
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
	c[n++] = change(BASE + 9, BT_ACTIVE, &k, 1700000000, 1700003600);
	cid_key(&k, DP_KEY_MAX, 2);
	c[n++] = change(BASE + 3, BT_EXPIRED, &k, 0, 0x0102030405060708ull);
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
	uint32_t addr, prev = 0;
	unsigned i, j;

	assert_int_equal(store_count(s), n);
	for (i = 0; i < n; i++) {
		assert_int_equal(store_get(s, c[i].addr, &b), 0);
		assert_binding(&b, &c[i]);
		assert_int_equal(store_get_client(s, &c[i].key, &addr), 0);
		assert_int_equal(addr, c[i].addr);
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
	struct fix *f = *state;
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
	struct fix *f = *state;
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
	struct fix *f = *state;
	struct dp_client_key k1, k2;
	struct dp_change c[3];
	struct store_binding b;
	uint32_t addr;
	struct store *s = open_store(f, STORE_SYNC_STRICT);

	hw_key(&k1, 1);
	cid_key(&k2, 9, 2);
	c[0] = change(BASE + 1, BT_ACTIVE, &k1, 10, 20);
	c[1] = change(BASE + 2, BT_ACTIVE, &k2, 10, 20);
	assert_int_equal(store_write_batch(s, c, 2), 0);

	/* A FREE change with no key still drops the stored client's index entry. */
	c[0] = change(BASE + 1, BT_FREE, NULL, 30, 0);
	assert_int_equal(store_write_batch(s, c, 1), 0);
	assert_int_equal(store_get(s, BASE + 1, &b), -ENOENT);
	assert_int_equal(store_get_client(s, &k1, &addr), -ENOENT);
	assert_int_equal(store_count(s), 1);

	/* k2 moves to .3: freeing .2 keeps k2's entry, which points at .3. */
	c[0] = change(BASE + 3, BT_ACTIVE, &k2, 40, 50);
	c[1] = change(BASE + 2, BT_FREE, &k2, 40, 0);
	assert_int_equal(store_write_batch(s, c, 2), 0);
	assert_int_equal(store_get(s, BASE + 2, &b), -ENOENT);
	assert_int_equal(store_get_client(s, &k2, &addr), 0);
	assert_int_equal(addr, BASE + 3);

	/* Freeing an address that holds nothing is fine. */
	c[0] = change(BASE + 77, BT_FREE, NULL, 0, 0);
	assert_int_equal(store_write_batch(s, c, 1), 0);
	assert_int_equal(store_count(s), 1);
	store_close(s);
}

static void test_later_change_wins(void **state)
{
	struct fix *f = *state;
	struct dp_client_key k1, k2, k3;
	struct dp_change c[6];
	struct store_binding b;
	uint32_t addr;
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
	assert_int_equal(store_get_client(s, &k2, &addr), -ENOENT);
	assert_int_equal(store_get(s, BASE + 3, &b), 0);
	assert_binding(&b, &c[5]);
	assert_int_equal(store_get_client(s, &k3, &addr), 0);
	assert_int_equal(addr, BASE + 3);
	assert_int_equal(store_count(s), 2);
	store_close(s);
}

static void test_client_index_follows(void **state)
{
	struct fix *f = *state;
	struct dp_client_key k1, k2;
	struct dp_change c[2];
	struct store_binding b;
	uint32_t addr;
	struct store *s = open_store(f, STORE_SYNC_STRICT);

	cid_key(&k1, 12, 1);
	cid_key(&k2, 12, 2);
	c[0] = change(BASE + 1, BT_ACTIVE, &k1, 10, 100);
	assert_int_equal(store_write_batch(s, c, 1), 0);
	c[0] = change(BASE + 1, BT_EXPIRED, &k1, 100, 100);
	c[1] = change(BASE + 2, BT_ACTIVE, &k1, 110, 200);
	assert_int_equal(store_write_batch(s, c, 2), 0);
	assert_int_equal(store_get_client(s, &k1, &addr), 0);
	assert_int_equal(addr, BASE + 2);
	assert_int_equal(store_get(s, BASE + 1, &b), 0);	/* the old binding stays */
	assert_int_equal(b.state, BT_EXPIRED);

	/* .2 goes to k2: k1's entry pointed at .2 and must go; k2 points at .2. */
	c[0] = change(BASE + 2, BT_ACTIVE, &k2, 300, 400);
	assert_int_equal(store_write_batch(s, c, 1), 0);
	assert_int_equal(store_get_client(s, &k1, &addr), -ENOENT);
	assert_int_equal(store_get_client(s, &k2, &addr), 0);
	assert_int_equal(addr, BASE + 2);

	/* Same bytes, other key type: another client. */
	k1.type = DP_KEY_HWADDR;
	assert_int_equal(store_get_client(s, &k1, &addr), -ENOENT);
	k1.type = 9;
	assert_int_equal(store_get_client(s, &k1, &addr), -EINVAL);
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
static void assert_refused(struct fix *f, const char *want)
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

static void make_store(struct fix *f)
{
	struct dp_change c[8];
	unsigned n = sample(c);
	struct store *s = open_store(f, STORE_SYNC_STRICT);

	assert_int_equal(store_write_batch(s, c, n), 0);
	store_close(s);
}

static void test_schema_refused(void **state)
{
	struct fix *f = *state;
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
	struct fix *f = *state;
	char buf[128];
	long n;

	make_store(f);
	n = raw_get(f->dir, "meta", "layout", buf, sizeof(buf));
	assert_int_equal(n, strlen("meta,bindings,clients,config,failover,unacked"));
	assert_memory_equal(buf, "meta,bindings,clients,config,failover,unacked", (size_t)n);

	raw_put(f->dir, "meta", "layout", 6, "meta,bindings,clients,leases", 28);
	assert_refused(f, "store layout \"meta,bindings,clients,leases\" is not");
	n = raw_get(f->dir, "meta", "layout", buf, sizeof(buf));
	assert_memory_equal(buf, "meta,bindings,clients,leases", (size_t)n);
}

static void test_meta_missing_refused(void **state)
{
	struct fix *f = *state;

	/* Somebody else's environment: a named database but no meta. */
	raw_put(f->dir, "foo", "k", 1, "v", 1);
	assert_refused(f, "no leasewire meta");
}

static void test_meta_without_schema_refused(void **state)
{
	struct fix *f = *state;

	raw_put(f->dir, "meta", "other", 5, "v", 1);
	assert_refused(f, "meta has no schema version");
}

static void test_empty_env_is_fresh(void **state)
{
	struct fix *f = *state;
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

static void test_corrupt_record(void **state)
{
	static const struct {
		const char *name;
		int off;		/* byte to change, or -1 */
		uint8_t val;
		int dlen;		/* added to the record length */
	} bad[] = {
		{ "empty", -1, 0, -27 },
		{ "short header", -1, 0, -16 },
		{ "version 2", 0, 2, 0 },
		{ "version 0", 0, 0, 0 },
		{ "state FREE", 1, BT_FREE, 0 },
		{ "state OFFERED", 1, BT_OFFERED, 0 },
		{ "state 8", 1, 8, 0 },
		{ "key type 0", 18, 0, 0 },
		{ "key type 3", 18, 3, 0 },
		{ "key len 65", 18 + 1, 65, 0 },
		{ "key len 6", 18 + 1, 6, 0 },
		{ "trailing byte", -1, 0, 1 },
		{ "missing byte", -1, 0, -1 },
	};
	struct fix *f = *state;
	struct dp_client_key k;
	struct dp_change c[2];
	struct store_binding b;
	struct collect col;
	uint8_t akey[4] = { 0xc0, 0x00, 0x02, 0x05 };	/* BASE + 5 */
	uint8_t good[32], rec[32];
	struct store *s;
	unsigned i;

	hw_key(&k, 1);
	c[0] = change(BASE + 1, BT_ACTIVE, &k, 10, 100);
	hw_key(&k, 2);
	c[1] = change(BASE + 5, BT_ACTIVE, &k, 10, 100);
	s = open_store(f, STORE_SYNC_STRICT);
	assert_int_equal(store_write_batch(s, c, 2), 0);
	store_close(s);

	/* The encoding is the documented one: 20 bytes of header, then the 6+1 key bytes. */
	memset(good, 0, sizeof(good));
	{
		uint8_t expect[27] = { 1, BT_ACTIVE, 0, 0, 0, 0, 0, 0, 0, 10,
				       0, 0, 0, 0, 0, 0, 0, 100, DP_KEY_HWADDR, 7,
				       1, 2, 0, 0, 0, 0, 2 };
		MDB_env *env;
		MDB_txn *txn;
		MDB_dbi dbi;
		MDB_val kv = { .mv_size = 4, .mv_data = akey }, v;

		assert_int_equal(mdb_env_create(&env), 0);
		assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
		assert_int_equal(mdb_env_open(env, f->dir, MDB_RDONLY, 0600), 0);
		assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
		assert_int_equal(mdb_dbi_open(txn, "bindings", 0, &dbi), 0);
		assert_int_equal(mdb_get(txn, dbi, &kv, &v), 0);
		assert_int_equal(v.mv_size, 27);
		assert_memory_equal(v.mv_data, expect, 27);
		memcpy(good, v.mv_data, 27);
		mdb_txn_abort(txn);
		mdb_env_close(env);
	}

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = (size_t)(27 + bad[i].dlen);

		memcpy(rec, good, sizeof(rec));
		if (bad[i].off >= 0) {
			rec[bad[i].off] = bad[i].val;
		}
		raw_put(f->dir, "bindings", akey, 4, rec, len);

		s = open_store(f, STORE_SYNC_STRICT);
		col.n = 0;
		if (store_load(s, collect_cb, &col) != STORE_E_CORRUPT) {
			print_error("case \"%s\" not reported\n", bad[i].name);
			fail();
		}
		assert_int_equal(col.n, 1);	/* .1 came before the bad .5 */
		assert_non_null(strstr(store_errmsg(s), "192.0.2.5"));
		assert_int_equal(store_get(s, BASE + 5, &b), STORE_E_CORRUPT);
		assert_int_equal(store_get(s, BASE + 1, &b), 0);

		/* Rewriting the address heals it. */
		assert_int_equal(store_write_batch(s, &c[1], 1), 0);
		assert_int_equal(store_get(s, BASE + 5, &b), 0);
		assert_binding(&b, &c[1]);
		store_close(s);
	}

	/* A key that is not a 4-byte address. */
	raw_put(f->dir, "bindings", "abc", 3, good, 27);
	s = open_store(f, STORE_SYNC_STRICT);
	assert_int_equal(store_load(s, collect_cb, &col), STORE_E_CORRUPT);
	store_close(s);
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
	struct fix *f = *state;
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
	struct fix *f = *state;
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
	/* The failed batch wrote nothing. */
	assert_int_equal(store_count(s), before);
	assert_int_equal(store_count(s), next);
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
	struct fix *f = *state;
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
	struct fix *f = *state;
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
	struct fix *f = *state;
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
	struct fix *f = *state;
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

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_round_trip),
		T(test_reopen),
		T(test_free_deletes),
		T(test_later_change_wins),
		T(test_client_index_follows),
		T(test_schema_refused),
		T(test_layout_refused),
		T(test_meta_missing_refused),
		T(test_meta_without_schema_refused),
		T(test_empty_env_is_fresh),
		T(test_corrupt_record),
		T(test_load_stops),
		T(test_map_full),
		T(test_bad_opts),
		T(test_inject_failure),
		T(test_invalid_change),
		T(test_relaxed),
		T(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
