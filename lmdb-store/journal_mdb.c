/*
 * journal_mdb: reading (and, for the tests, writing) the LMDB journal of the previous
 * binaries (journal_mdb.h). Entries decode with journal_entry_decode() (journal.h), which
 * reads every entry version ever written (1..3).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "byteorder.h"
#include "dirsync.h"
#include "journal.h"
#include "journal_mdb.h"
#include "mdb_err.h"
#include "store.h"

#define JMDB_MAP_SIZE	(4ull << 30)	/* what the previous binaries used */
#define SEQ_LEN		8

struct jmdb {
	MDB_env *env;
	MDB_dbi dbi;
	char *dir;
	char errmsg[512];
};

_printf_(3, 4)
static int fail(struct jmdb *j, int rc, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(j->errmsg, sizeof(j->errmsg), "%s: %s: %s", j->dir, what, mdb_strerror(rc));
	return store_mdb_err(rc);
}

static int dir_file(const char *dir, const char *name, char *path, size_t len)
{
	return snprintf(path, len, "%s/%s", dir, name) >= (int)len ? -ENAMETOOLONG : 0;
}

bool jmdb_exists(const char *dir)
{
	char path[4096];

	return dir_file(dir, "data.mdb", path, sizeof(path)) == 0 && access(path, F_OK) == 0;
}

bool jmdb_in_use(const char *dir)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	char path[4096];
	bool busy;
	int fd;

	/* LMDB's openers hold a shared lock on byte 0 of lock.mdb (mdb_env_excl_lock()). */
	if (dir_file(dir, "lock.mdb", path, sizeof(path)) != 0 ||
	    (fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		return false;
	}
	busy = fcntl(fd, F_SETLK, &fl) != 0;
	close(fd);	/* releases the lock */
	return busy;
}

struct jmdb *jmdb_open(const char *dir, char *err, size_t errlen)
{
	struct jmdb *j = calloc(1, sizeof(*j));
	MDB_txn *txn;
	int rc;

	if (j == NULL || (j->dir = strdup(dir)) == NULL) {
		free(j);
		snprintf(err, errlen, "%s: out of memory", dir);
		return NULL;
	}
	rc = mdb_env_create(&j->env);
	if (rc != MDB_SUCCESS) {
		j->env = NULL;
		fail(j, rc, "create the environment");
		goto fail;
	}
	rc = mdb_env_set_mapsize(j->env, JMDB_MAP_SIZE);
	if (rc == MDB_SUCCESS) {
		rc = mdb_env_open(j->env, dir, MDB_NOTLS, 0600);
	}
	if (rc != MDB_SUCCESS) {
		fail(j, rc, "open the environment");
		goto fail;
	}
	rc = mdb_txn_begin(j->env, NULL, 0, &txn);
	if (rc == MDB_SUCCESS) {
		rc = mdb_dbi_open(txn, NULL, 0, &j->dbi);
		rc = rc == MDB_SUCCESS ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
	}
	if (rc != MDB_SUCCESS) {
		fail(j, rc, "open the journal database");
		goto fail;
	}
	return j;
fail:
	snprintf(err, errlen, "%s", j->errmsg);
	jmdb_close(j);
	return NULL;
}

void jmdb_close(struct jmdb *j)
{
	if (j == NULL) {
		return;
	}
	if (j->env != NULL) {
		mdb_env_close(j->env);
	}
	free(j->dir);
	free(j);
}

long jmdb_read(struct jmdb *j, uint64_t after, struct dp_change *out, uint64_t *seqs,
	       size_t max)
{
	uint8_t kbuf[SEQ_LEN];
	MDB_val k = {.mv_size = SEQ_LEN, .mv_data = kbuf}, v;
	MDB_cursor *cur;
	MDB_txn *txn;
	size_t n = 0;
	long ret;
	int rc;

	if (max == 0) {
		return 0;
	}
	rc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn);
	if (rc != MDB_SUCCESS) {
		return fail(j, rc, "begin a read");
	}
	rc = mdb_cursor_open(txn, j->dbi, &cur);
	if (rc != MDB_SUCCESS) {
		mdb_txn_abort(txn);
		return fail(j, rc, "open a cursor");
	}
	lw_put64(kbuf, after + 1);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS && n < max;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != SEQ_LEN ||
		    !journal_entry_decode(v.mv_data, v.mv_size, &out[n])) {
			ret = fail(j, MDB_CORRUPTED, "entry %llu (%zu bytes) does not decode",
				   k.mv_size == SEQ_LEN ?
				   (unsigned long long)lw_get64(k.mv_data) : 0ull, v.mv_size);
			goto out;
		}
		seqs[n++] = lw_get64(k.mv_data);
	}
	ret = rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? (long)n :
	      fail(j, rc, "read entries after %llu", (unsigned long long)after);
out:
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return ret;
}

int jmdb_put_raw(struct jmdb *j, uint64_t seq, const void *v, size_t len)
{
	uint8_t kbuf[SEQ_LEN];
	MDB_val k = {.mv_size = SEQ_LEN, .mv_data = kbuf};
	MDB_val val = {.mv_size = len, .mv_data = (void *)v};
	MDB_txn *txn;
	int rc;

	lw_put64(kbuf, seq);
	rc = mdb_txn_begin(j->env, NULL, 0, &txn);
	if (rc == MDB_SUCCESS) {
		rc = mdb_put(txn, j->dbi, &k, &val, 0);
		rc = rc == MDB_SUCCESS ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
	}
	return rc == MDB_SUCCESS ? 0 : fail(j, rc, "put entry %llu", (unsigned long long)seq);
}

int jmdb_append(struct jmdb *j, const struct dp_change *c, size_t n)
{
	uint8_t kbuf[SEQ_LEN], vbuf[JOURNAL_ENTRY_MAX_LEN];
	MDB_val k = {.mv_size = SEQ_LEN, .mv_data = kbuf}, v = {.mv_data = vbuf};
	MDB_cursor *cur;
	MDB_txn *txn;
	uint64_t seq = 0;
	int rc;

	rc = mdb_txn_begin(j->env, NULL, 0, &txn);
	if (rc != MDB_SUCCESS) {
		return fail(j, rc, "begin an append");
	}
	rc = mdb_cursor_open(txn, j->dbi, &cur);
	if (rc == MDB_SUCCESS) {
		rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
		if (rc == MDB_SUCCESS) {
			seq = lw_get64(k.mv_data);
		}
		mdb_cursor_close(cur);
		rc = rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
	}
	k.mv_data = kbuf;
	for (size_t i = 0; i < n && rc == MDB_SUCCESS; i++) {
		lw_put64(kbuf, seq + 1 + i);
		v.mv_data = vbuf;
		v.mv_size = journal_entry_encode(&c[i], vbuf);
		rc = mdb_put(txn, j->dbi, &k, &v, MDB_APPEND);
	}
	rc = rc == MDB_SUCCESS ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
	return rc == MDB_SUCCESS ? 0 : fail(j, rc, "append %zu entries", n);
}

int jmdb_remove(const char *dir)
{
	static const char *const names[] = {"data.mdb", "lock.mdb"};
	char path[4096];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (dir_file(dir, names[i], path, sizeof(path)) != 0) {
			return -ENAMETOOLONG;
		}
		if (unlink(path) != 0 && errno != ENOENT) {
			return -errno;
		}
	}
	return store_dir_sync(dir);
}

const char *jmdb_errmsg(const struct jmdb *j)
{
	return j->errmsg[0] ? j->errmsg : "no error";
}
