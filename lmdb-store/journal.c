/*
 * journal: an append-only LMDB log of binding changes (see journal.h for the contract).
 *
 * Why a separate environment rather than a database in the store's: an LMDB commit flushes
 * the whole data file and holds the environment's single writer lock. In the store's own
 * environment the journal's fsync would also write out every binding page the second stage
 * dirtied, and the second stage's long transactions would stall the appends; here the
 * journal's commit writes and syncs a few sequential pages of its own small file, and the
 * binding database is written by another thread under another lock.
 *
 * An entry, value of key = sequence (u64 big endian). Version 3 is written; versions 2 and 1
 * (a journal written by an older binary) are still read, what they lack read as 0 or empty:
 *
 *   offset  size  field                                          versions
 *        0  u8    entry version (1..3)                           all
 *        1  u8    flags (DP_CHANGE_*)                            all
 *        2  u32   address                                        all
 *        6  u8    state (enum bt_state)                          all
 *        7  u64   start                                          all
 *       15  u64   ends                                           all
 *       23  u8    key type                                       all
 *       24  u8    key length (<= DP_KEY_MAX)                     all
 *       25  u8    hw length (<= DP_HW_MAX)                       all
 *       26  ...   key bytes, then hw bytes                       all
 *      ...  ...   what the binding remembers of its client, in   2, 3
 *                 the store's encoding (info_codec.h
 *                 store_info_put(): four lengths, then host,
 *                 vendor, circuit and policy bytes)
 *      ...  u32   PET (dp_change.pet; 0: none)                   3
 *
 * and the entry ends exactly there (version 1 after the hw bytes).
 *
 * The worker and its sequence number are not kept: they mean nothing after a restart.
 *
 * Durability with one flush per append. In strict mode the environment is opened with
 * MDB_NOMETASYNC: a commit writes its pages, fdatasyncs them, then writes its meta page
 * without a flush. So an append is durable, not when it returns, but once a later flush
 * covers that meta page: the next append's fdatasync (it comes before that append's own meta
 * write) or journal_sync(). LMDB keeps the environment intact either way (a crash only takes
 * back the last commit whose meta page was not flushed; pages reachable from the two newest
 * metas are never reused). Each append thus costs one flush, where LMDB's full sync costs
 * two (the data, then the meta page); the price is that a group's replies leave one commit
 * later, or after an extra flush when nothing follows it (committer.c).
 *
 * A commit whose meta page cannot be written (EIO) makes LMDB refuse every later transaction
 * of the environment (MDB_PANIC), as in the store (store.c). The appender then reopens it
 * (journal_reopen()): the newest meta that reached the disk holds every append that returned
 * 0 and nothing of the failed one, whose sequence numbers were never used up. Readers run
 * under env_lock (read side) so that the reopen, which holds it for writing, never closes
 * the environment under them; the appender's own calls need no lock, since only it reopens.
 *
 * The map has a fixed size and is never grown: mdb_env_set_mapsize() is legal only while
 * this process has no transaction open on the environment, and the reader (the second
 * stage) is another thread. The default 4 GiB is address space, not disk (the data file
 * grows with what is written), and holds some 25 M entries, far more than the bounded lag
 * between appends and the second stage (committer.h).
 *
 * Prefill (journal_prefill(), prefill.h). A commit that writes pages past the data file's
 * end makes its fdatasync pay for their allocation. Zeros are written ahead, off the ACK
 * path, by another thread (the applier) holding LMDB's writer lock: the appender is the only
 * writer of this process, but the lock also shuts out another process's writers (a store
 * opened for a dump replays and trims), and it costs an append at most one wait of one
 * step (STORE_PREFILL_JOURNAL_STEP), which happens only when the journal outgrows its largest size so far (it reuses its
 * freed pages: ~220 KB under lwbench). Not the appender itself between its commits: that
 * would put the whole extension on the ACK path of the group behind it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "byteorder.h"
#include "info_codec.h"
#include "journal.h"
#include "mdb_err.h"
#include "prefill.h"
#include "store.h"

#define JOURNAL_MAP_SIZE	(4ull << 30)
#define ENTRY_V1		1
#define ENTRY_V2		2
#define ENTRY_V3		3
#define ENTRY_HDR_LEN		26	/* every version's */
#define ENTRY_PET_LEN		4	/* version 3 */
#define ENTRY_MAX_LEN		(ENTRY_HDR_LEN + DP_KEY_MAX + DP_HW_MAX + STORE_INFO_MAX_LEN + \
				 ENTRY_PET_LEN)
#define SEQ_LEN			8
#define ERRMSG_LEN		512

struct journal {
	MDB_env *env;			/* NULL after a reopen that failed: the next append retries */
	bool sync;
	MDB_dbi dbi;
	uint64_t map_size;
	_Atomic uint64_t last;		/* newest sequence appended */
	_Atomic uint64_t reopens;	/* journal_reopens() */
	_Atomic int phase;		/* enum journal_phase: the appender's step */
	_Atomic unsigned delay_ms;	/* journal_inject_delay() */
	pthread_rwlock_t env_lock;	/* readers: read side; journal_reopen(): write side */
	pthread_mutex_t err_lock;	/* errmsg: the appender and readers both set it */
	char *dir;
	char errmsg[ERRMSG_LEN];
};

_printf_(3, 4)
static int fail(struct journal *j, int rc, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&j->err_lock);
	snprintf(j->errmsg, sizeof(j->errmsg), "%s: %s: %s", j->dir, what, mdb_strerror(rc));
	pthread_mutex_unlock(&j->err_lock);
	return store_mdb_err(rc);
}

static size_t entry_encode(const struct dp_change *c, uint8_t *buf)
{
	size_t off;

	buf[0] = ENTRY_V3;
	buf[1] = c->flags;
	lw_put32(buf + 2, c->addr);
	buf[6] = c->state;
	lw_put64(buf + 7, c->start);
	lw_put64(buf + 15, c->ends);
	buf[23] = c->key.type;
	buf[24] = c->key.len;
	buf[25] = c->hw_len;
	memcpy(buf + ENTRY_HDR_LEN, c->key.data, c->key.len);
	memcpy(buf + ENTRY_HDR_LEN + c->key.len, c->hw, c->hw_len);
	off = ENTRY_HDR_LEN + (size_t)c->key.len + c->hw_len;
	off += store_info_put(&c->info, buf + off);
	lw_put32(buf + off, c->pet);
	return off + ENTRY_PET_LEN;
}

/* @return true when @p v is a well-formed entry (then *c holds it). */
static bool entry_decode(const MDB_val *v, struct dp_change *c)
{
	const uint8_t *p = v->mv_data;
	size_t end, size = v->mv_size;

	if (size < ENTRY_HDR_LEN || p[0] < ENTRY_V1 || p[0] > ENTRY_V3 ||
	    p[24] > DP_KEY_MAX || p[25] > DP_HW_MAX) {
		return false;
	}
	end = ENTRY_HDR_LEN + (size_t)p[24] + p[25];
	memset(c, 0, sizeof(*c));
	if (p[0] == ENTRY_V3) {
		if (size < end + ENTRY_PET_LEN) {
			return false;
		}
		size -= ENTRY_PET_LEN;
		c->pet = lw_get32(p + size);
	}
	if (p[0] == ENTRY_V1 ? size != end :
	    size < end || !store_info_get(p + end, size - end, &c->info)) {
		return false;
	}
	c->flags = p[1];
	c->addr = lw_get32(p + 2);
	c->state = p[6];
	c->start = lw_get64(p + 7);
	c->ends = lw_get64(p + 15);
	c->key.type = p[23];
	c->key.len = p[24];
	c->hw_len = p[25];
	memcpy(c->key.data, p + ENTRY_HDR_LEN, c->key.len);
	memcpy(c->hw, p + ENTRY_HDR_LEN + c->key.len, c->hw_len);
	return true;
}

bool journal_exists(const char *dir)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/data.mdb", dir) >= (int)sizeof(path)) {
		return false;
	}
	return access(path, F_OK) == 0;
}

/* Find the newest sequence, open (creating) the database: the first transaction. */
static int open_db(struct journal *j)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	rc = mdb_txn_begin(j->env, NULL, 0, &txn);
	if (rc != MDB_SUCCESS) {
		return fail(j, rc, "begin the first transaction");
	}
	rc = mdb_dbi_open(txn, NULL, 0, &j->dbi);
	if (rc == MDB_SUCCESS) {
		rc = mdb_cursor_open(txn, j->dbi, &cur);
	}
	if (rc != MDB_SUCCESS) {
		mdb_txn_abort(txn);
		return fail(j, rc, "open the journal database");
	}
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == MDB_SUCCESS && k.mv_size != SEQ_LEN) {
		mdb_txn_abort(txn);
		return fail(j, MDB_CORRUPTED, "newest key has %zu bytes, not a sequence",
			    k.mv_size);
	}
	if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return fail(j, rc, "find the newest entry");
	}
	/* An empty journal knows no sequence: store.c raises it to its "applied" mark
	 * (journal_raise()), so that numbers are never reused; a reopen keeps what was raised. */
	journal_raise(j, rc == MDB_SUCCESS ? lw_get64(k.mv_data) : 0);
	rc = mdb_txn_commit(txn);
	return rc == MDB_SUCCESS ? 0 : fail(j, rc, "commit the first transaction");
}

/* Create and open the environment of j->dir, then its database. @return 0, or a store
 * error with j->env NULL (the message set). No other call may use j->env meanwhile. */
static int env_open(struct journal *j)
{
	int rc;

	rc = mdb_env_create(&j->env);
	if (rc != MDB_SUCCESS) {
		j->env = NULL;
		return fail(j, rc, "create the environment");
	}
	rc = mdb_env_set_mapsize(j->env, (size_t)j->map_size);
	if (rc == MDB_SUCCESS) {
		/* Strict: MDB_NOMETASYNC, one fdatasync per append (journal.h). */
		rc = mdb_env_open(j->env, j->dir,
				  MDB_NOTLS | (j->sync ? MDB_NOMETASYNC : MDB_NOSYNC), 0600);
	}
	if (rc != MDB_SUCCESS) {
		rc = fail(j, rc, "open the environment");
	} else {
		rc = open_db(j);
	}
	if (rc != 0) {
		mdb_env_close(j->env);
		j->env = NULL;
	}
	return rc;
}

struct journal *journal_open(const char *dir, bool sync, uint64_t map_size, char *err,
			     size_t errlen)
{
	struct journal *j = calloc(1, sizeof(*j));
	pthread_rwlockattr_t attr;

	if (j == NULL || (j->dir = strdup(dir)) == NULL) {
		free(j);
		snprintf(err, errlen, "%s: out of memory", dir);
		return NULL;
	}
	pthread_mutex_init(&j->err_lock, NULL);
	/* A reopen must not wait behind a stream of readers. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&j->env_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	j->sync = sync;
	j->map_size = map_size ? map_size : JOURNAL_MAP_SIZE;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create the directory: %s", dir, strerror(errno));
		journal_close(j);
		return NULL;
	}
	if (env_open(j) != 0) {
		snprintf(err, errlen, "%s", j->errmsg);
		journal_close(j);
		return NULL;
	}
	return j;
}

void journal_close(struct journal *j)
{
	if (j == NULL) {
		return;
	}
	if (j->env != NULL) {
		mdb_env_close(j->env);
	}
	pthread_rwlock_destroy(&j->env_lock);
	pthread_mutex_destroy(&j->err_lock);
	free(j->dir);
	free(j);
}

/*
 * Close the environment and open it again: after MDB_PANIC (a commit could not write its
 * meta page), or when an earlier reopen failed (j->env NULL). The appender thread.
 * @return 0, or a store error (j->env NULL; the next append tries again).
 */
static int journal_reopen(struct journal *j)
{
	int ret;

	pthread_rwlock_wrlock(&j->env_lock);
	if (j->env != NULL) {
		mdb_env_close(j->env);
		j->env = NULL;
	}
	atomic_fetch_add_explicit(&j->reopens, 1, memory_order_relaxed);
	ret = env_open(j);
	pthread_rwlock_unlock(&j->env_lock);
	return ret;
}

uint64_t journal_reopens(const struct journal *j)
{
	return atomic_load_explicit(&j->reopens, memory_order_relaxed);
}

/* Begin the appender's write transaction, reopening the environment once if LMDB gave it
 * up (MDB_PANIC) or an earlier reopen failed. @return an MDB code, or a store error from
 * the reopen (*reopen_err set, the message recorded). */
static int begin_append(struct journal *j, MDB_txn **txn, int *reopen_err)
{
	int rc;

	*reopen_err = 0;
	if (j->env == NULL) {
		*reopen_err = journal_reopen(j);
		if (*reopen_err != 0) {
			return MDB_PANIC;
		}
	}
	rc = mdb_txn_begin(j->env, NULL, 0, txn);
	if (rc == MDB_PANIC) {
		*reopen_err = journal_reopen(j);
		if (*reopen_err != 0) {
			return MDB_PANIC;
		}
		rc = mdb_txn_begin(j->env, NULL, 0, txn);
	}
	return rc;
}

/* Delete up to @p max entries <= @p upto from the front. @return an MDB code. */
static int trim(MDB_txn *txn, MDB_dbi dbi, uint64_t upto, size_t max)
{
	MDB_cursor *cur;
	MDB_val k, v;
	size_t n = 0;
	int rc;

	rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc != MDB_SUCCESS) {
		return rc;
	}
	while (n < max && (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == MDB_SUCCESS &&
	       k.mv_size == SEQ_LEN && lw_get64(k.mv_data) <= upto) {
		rc = mdb_cursor_del(cur, 0);
		if (rc != MDB_SUCCESS) {
			break;
		}
		n++;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
}

static void set_phase(struct journal *j, enum journal_phase ph)
{
	atomic_store_explicit(&j->phase, (int)ph, memory_order_relaxed);
}

enum journal_phase journal_phase(const struct journal *j)
{
	return (enum journal_phase)atomic_load_explicit(&j->phase, memory_order_relaxed);
}

const char *journal_phase_name(enum journal_phase ph)
{
	static const char *const names[] = {
		[JOURNAL_IDLE] = "idle", [JOURNAL_BEGIN] = "begin", [JOURNAL_TRIM] = "trim",
		[JOURNAL_PUT] = "put", [JOURNAL_COMMIT] = "commit", [JOURNAL_SYNC] = "sync",
	};

	return (unsigned)ph < sizeof(names) / sizeof(names[0]) ? names[ph] : "?";
}

void journal_inject_delay(struct journal *j, unsigned ms)
{
	atomic_store_explicit(&j->delay_ms, ms, memory_order_relaxed);
}

static void injected_delay(struct journal *j)
{
	unsigned ms = atomic_exchange_explicit(&j->delay_ms, 0, memory_order_relaxed);
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	if (ms != 0) {
		nanosleep(&ts, NULL);
	}
}

static int append(struct journal *j, const struct dp_change *c, size_t n, uint64_t trim_upto,
		  size_t trim_max, uint64_t *last)
{
	uint64_t seq = atomic_load_explicit(&j->last, memory_order_relaxed);
	uint8_t kbuf[SEQ_LEN], vbuf[ENTRY_MAX_LEN];
	MDB_val k = {.mv_size = SEQ_LEN, .mv_data = kbuf};
	MDB_val v = {.mv_data = vbuf};
	MDB_txn *txn;
	size_t i;
	int rc, reopen_err;

	set_phase(j, JOURNAL_BEGIN);
	rc = begin_append(j, &txn, &reopen_err);
	if (reopen_err != 0) {
		return reopen_err;	/* the reopen's message is recorded */
	}
	if (rc != MDB_SUCCESS) {
		return fail(j, rc, "begin an append");
	}
	if (trim_upto > 0 && trim_max > 0) {
		set_phase(j, JOURNAL_TRIM);
		rc = trim(txn, j->dbi, trim_upto, trim_max);
		if (rc != MDB_SUCCESS) {
			mdb_txn_abort(txn);
			return fail(j, rc, "trim entries up to %llu", (unsigned long long)trim_upto);
		}
	}
	set_phase(j, JOURNAL_PUT);
	for (i = 0; i < n; i++) {
		lw_put64(kbuf, seq + 1 + i);
		v.mv_size = entry_encode(&c[i], vbuf);
		/* Keys only grow: MDB_APPEND skips the search and fills leaves completely. */
		rc = mdb_put(txn, j->dbi, &k, &v, MDB_APPEND);
		if (rc != MDB_SUCCESS) {
			mdb_txn_abort(txn);
			return fail(j, rc, "append entry %llu",
				    (unsigned long long)seq + 1 + (unsigned long long)i);
		}
	}
	set_phase(j, JOURNAL_COMMIT);
	injected_delay(j);
	rc = mdb_txn_commit(txn);	/* frees the transaction, even when it fails */
	if (rc != MDB_SUCCESS) {
		return fail(j, rc, "commit %zu entries", n);
	}
	atomic_store_explicit(&j->last, seq + n, memory_order_release);
	if (last != NULL) {
		*last = seq + n;
	}
	return 0;
}

int journal_append(struct journal *j, const struct dp_change *c, size_t n, uint64_t trim_upto,
		   size_t trim_max, uint64_t *last)
{
	int rc = append(j, c, n, trim_upto, trim_max, last);

	set_phase(j, JOURNAL_IDLE);
	return rc;
}

long journal_read(struct journal *j, uint64_t after, struct dp_change *out, uint64_t *seqs,
		  size_t max)
{
	uint8_t kbuf[SEQ_LEN];
	MDB_val k = {.mv_size = SEQ_LEN, .mv_data = kbuf};
	MDB_cursor *cur = NULL;
	MDB_txn *txn;
	MDB_val v;
	size_t n = 0;
	long ret;
	int rc;

	if (max == 0) {
		return 0;
	}
	pthread_rwlock_rdlock(&j->env_lock);
	if (j->env == NULL) {
		pthread_rwlock_unlock(&j->env_lock);
		return fail(j, MDB_PANIC, "read: the environment could not be reopened");
	}
	rc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn);
	if (rc != MDB_SUCCESS) {
		pthread_rwlock_unlock(&j->env_lock);
		return fail(j, rc, "begin a read");
	}
	rc = mdb_cursor_open(txn, j->dbi, &cur);
	if (rc != MDB_SUCCESS) {
		ret = fail(j, rc, "open a cursor");
		goto out;
	}
	lw_put64(kbuf, after + 1);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS && n < max;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != SEQ_LEN || !entry_decode(&v, &out[n])) {
			ret = fail(j, MDB_CORRUPTED, "entry %llu (%zu bytes) does not decode",
				   k.mv_size == SEQ_LEN ?
				   (unsigned long long)lw_get64(k.mv_data) : 0ull, v.mv_size);
			goto out;
		}
		if (seqs != NULL) {
			seqs[n] = lw_get64(k.mv_data);
		}
		n++;
	}
	if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
		ret = fail(j, rc, "read entries after %llu", (unsigned long long)after);
		goto out;
	}
	ret = (long)n;
out:
	if (cur != NULL) {
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&j->env_lock);
	return ret;
}

int journal_sync(struct journal *j)
{
	int rc;

	if (!j->sync) {
		return 0;
	}
	if (j->env == NULL) {
		return fail(j, MDB_PANIC, "sync: the environment could not be reopened");
	}
	set_phase(j, JOURNAL_SYNC);
	rc = mdb_env_sync(j->env, 1);
	set_phase(j, JOURNAL_IDLE);
	return rc == MDB_SUCCESS ? 0 : fail(j, rc, "sync");
}

uint64_t journal_last(const struct journal *j)
{
	return atomic_load_explicit(&j->last, memory_order_acquire);
}

void journal_raise(struct journal *j, uint64_t seq)
{
	if (atomic_load_explicit(&j->last, memory_order_relaxed) < seq) {
		atomic_store_explicit(&j->last, seq, memory_order_release);
	}
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* How far the journal's data file must be extended: 0, or the size (prefill.h). The caller
 * holds env_lock (read side); *fd gets the data file. @return an MDB code or a positive
 * errno. */
static int prefill_due(MDB_env *env, uint64_t ahead, uint64_t max_step, int *fd,
		       uint64_t *want)
{
	struct store_env_file f;
	int rc = store_env_file(env, &f);

	*want = 0;
	if (rc != 0) {
		return rc;
	}
	*fd = f.fd;
	*want = store_prefill_target(f.used, f.size, ahead, f.map, max_step);
	return MDB_SUCCESS;
}

int64_t journal_prefill(struct journal *j, uint64_t ahead, uint64_t max_step, uint64_t *ext_ns)
{
	uint64_t want, t0;
	MDB_txn *txn;
	int64_t ret;
	int fd, rc;

	if (ext_ns != NULL) {
		*ext_ns = 0;
	}
	pthread_rwlock_rdlock(&j->env_lock);
	if (j->env == NULL) {
		pthread_rwlock_unlock(&j->env_lock);
		return 0;	/* the appender reopens it; the next call extends it */
	}
	/* A first look without LMDB's lock: only the appender moves the end, and only up. */
	rc = prefill_due(j->env, ahead, max_step, &fd, &want);
	if (rc != MDB_SUCCESS || want == 0) {
		pthread_rwlock_unlock(&j->env_lock);
		return rc == MDB_SUCCESS ? 0 : fail(j, rc, "prefill: read the data file's size");
	}
	t0 = mono_ns();
	rc = mdb_txn_begin(j->env, NULL, 0, &txn);
	if (rc != MDB_SUCCESS) {
		pthread_rwlock_unlock(&j->env_lock);
		return fail(j, rc, "prefill: begin a write transaction");
	}
	/* Under the writer lock no commit is writing past the end: look again, then extend. */
	rc = prefill_due(j->env, ahead, max_step, &fd, &want);
	if (rc != MDB_SUCCESS) {
		ret = fail(j, rc, "prefill: read the data file's size");
	} else {
		ret = want != 0 ? store_prefill_fd(fd, want) : 0;
		if (ret < 0) {
			ret = fail(j, (int)-ret, "prefill: extend the data file to %llu bytes",
				   (unsigned long long)want);
		}
	}
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&j->env_lock);
	if (ext_ns != NULL) {
		*ext_ns = mono_ns() - t0;
	}
	return ret;
}

int journal_file(struct journal *j, struct store_env_file *out)
{
	int rc;

	pthread_rwlock_rdlock(&j->env_lock);
	rc = j->env != NULL ? store_env_file(j->env, out) : MDB_PANIC;
	pthread_rwlock_unlock(&j->env_lock);
	return rc == 0 ? 0 : fail(j, rc, "look at the data file");
}

uint64_t journal_count(struct journal *j)
{
	MDB_txn *txn;
	MDB_stat st;
	uint64_t n = 0;

	pthread_rwlock_rdlock(&j->env_lock);
	if (j->env != NULL && mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn) == MDB_SUCCESS) {
		if (mdb_stat(txn, j->dbi, &st) == MDB_SUCCESS) {
			n = st.ms_entries;
		}
		mdb_txn_abort(txn);
	}
	pthread_rwlock_unlock(&j->env_lock);
	return n;
}

const char *journal_errmsg(struct journal *j)
{
	static _Thread_local char copy[ERRMSG_LEN];

	pthread_mutex_lock(&j->err_lock);
	snprintf(copy, sizeof(copy), "%s", j->errmsg[0] ? j->errmsg : "no error");
	pthread_mutex_unlock(&j->err_lock);
	return copy;
}
