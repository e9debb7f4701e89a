/*
 * The store and the committer when the disk fails or the map is full (issue 11, "exhausted
 * resources"), with LMDB's own error paths:
 *
 *   - fdatasync() fails (EIO): the commit fails, nothing of the batch is written, nothing is
 *     published; the retry succeeds once the disk does.
 *   - the meta page write fails (EIO): LMDB marks the environment unusable (MDB_PANIC); the
 *     store reopens it on the next transaction and keeps what was committed before.
 *   - the map is full at its limit (a real MDB_MAP_FULL, with a tiny map): the batch fails
 *     as "store full", nothing is published, and raising the limit lets the same batch in.
 *   - strict journal mode (the journal is the commit an ACK waits for): an append that fails
 *     (store_inject_failure() reaches it) publishes nothing and counts an outage until an
 *     append succeeds; a failed flush of the journal's segment is survived by going on in a
 *     new segment.
 *   - the journal directory's entry: its parent is synced at every open, and an open whose
 *     sync fails fails.
 *   - the store's own entries: its directory's parent is synced at every open, and so is
 *     the directory after LMDB created its files there; an open whose sync fails fails.
 *     store_dir_parent() finds the directory to sync for an entry.
 *
 * The seam is symbol interposition, which costs production code nothing: this executable
 * defines fdatasync(), fsync() and pwrite(), so LMDB's calls (liblmdb.so or .a) land here.
 * They pass through to the kernel (syscall()) unless a test arms a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "committer.h"
#include "dirsync.h"
#include "journal.h"
#include "lease.h"
#include "store.h"
#include "store_fix.h"

#define BASE 0xc0000200u	/* 192.0.2.0 */

/* --- the interposed system calls ------------------------------------------------------ */

static unsigned fail_sync;	/* the next n fdatasync()/fsync() calls fail with EIO */
static unsigned fail_meta;	/* the next n pwrite()s into the two meta pages fail */
static unsigned syncs;		/* fdatasync()/fsync() calls seen */
static struct stat watch;	/* fsync()s of this directory (st_ino != 0) are counted... */
static unsigned watch_syncs;
static unsigned pass_watch;	/* ...the next n pass... */
static unsigned fail_watch;	/* ...and the next n after them fail with EIO */
static const char *watch_needs;	/* a file that must exist at a counted sync (or NULL)... */
static unsigned watch_early;	/* ...counted syncs that came before it */

int fdatasync(int fd)
{
	syncs++;
	if (fail_sync > 0) {
		fail_sync--;
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fdatasync, fd);
}

int fsync(int fd)
{
	struct stat st;

	syncs++;
	if (watch.st_ino != 0 && fstat(fd, &st) == 0 && st.st_ino == watch.st_ino &&
	    st.st_dev == watch.st_dev) {
		watch_syncs++;
		if (watch_needs != NULL && access(watch_needs, F_OK) != 0) {
			watch_early++;
		}
		if (pass_watch > 0) {
			pass_watch--;
		} else if (fail_watch > 0) {
			fail_watch--;
			errno = EIO;
			return -1;
		}
	}
	if (fail_sync > 0) {
		fail_sync--;
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fsync, fd);
}

/* LMDB writes a meta page (pages 0 and 1, 4 KiB each here) with one small pwrite() at the
 * end of a commit; data pages lie beyond them (written with writev). */
static ssize_t meta_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	if (fail_meta > 0 && off < 2 * 4096 && len < 4096) {
		fail_meta--;
		errno = EIO;
		return -1;
	}
	return (ssize_t)syscall(SYS_pwrite64, fd, buf, len, off);
}

/* Both names: this file is built with _FILE_OFFSET_BITS=64 (pwrite is pwrite64 here), a
 * library may call either. off_t is 64 bits on every target we build for. */
ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return meta_pwrite(fd, buf, len, off);
}

ssize_t lw_pwrite_plain(int fd, const void *buf, size_t len, off_t off) __asm__("pwrite");
ssize_t lw_pwrite_plain(int fd, const void *buf, size_t len, off_t off)
{
	return meta_pwrite(fd, buf, len, off);
}

/* --- fixture -------------------------------------------------------------------------- */

static struct store *open_store(struct store_fix *e, uint64_t map, uint64_t max)
{
	struct store_opts so = {.sync = STORE_SYNC_STRICT, .map_size = map, .max_map_size = max};

	return store_fix_open(e, &so);
}

/* Strict, with a journal; a committer in journal mode over it (driven by hand). */
static void open_journaled(struct store_fix *e)
{
	struct store_opts so = {.sync = STORE_SYNC_STRICT, .journal = true};
	struct committer_opts o = {.n_workers = 1, .journal = true};

	e->s = store_fix_open(e, &so);
	e->c = committer_new(e->s, &o);
	assert_non_null(e->c);
}

/* Close the committer and the store and open both again: what a restart finds. */
static void restart_journaled(struct store_fix *e)
{
	committer_free(e->c);
	e->c = NULL;
	store_close(e->s);
	e->s = NULL;
	open_journaled(e);
}

/*
 * A journal alone (no store) in the fixture's store directory, made by the first call: @p sync
 * as journal_open()'s, segments of @p seg_size bytes, no bound. Never NULL: a failed open
 * fails the test with journal_open()'s message. The caller closes it.
 */
static struct journal *journal_fix_open(struct store_fix *e, bool sync, uint64_t seg_size)
{
	struct journal *j;

	if (mkdir(e->dir, 0700) != 0) {
		assert_int_equal(errno, EEXIST);
	}
	j = journal_open(e->jdir, sync, 0, seg_size, e->err, sizeof(e->err));
	if (j == NULL) {
		fail_msg("journal_open(%s): %s", e->jdir, e->err);
	}
	return j;
}

static int setup(void **state)
{
	fail_sync = 0;
	fail_meta = 0;
	memset(&watch, 0, sizeof(watch));
	watch_syncs = 0;
	pass_watch = 0;
	fail_watch = 0;
	watch_needs = NULL;
	watch_early = 0;
	return store_fix_setup(state, "faults");
}

static int teardown(void **state)
{
	fail_sync = 0;
	fail_meta = 0;
	watch_needs = NULL;
	return store_fix_teardown(state);
}

static struct dp_change change(uint8_t worker, uint64_t seq, uint32_t addr)
{
	struct dp_change c;

	memset(&c, 0, sizeof(c));
	c.worker = worker;
	c.seq = seq;
	c.addr = addr;
	c.state = BT_ACTIVE;
	c.start = 1000;
	c.ends = 2000;
	c.key.type = DP_KEY_CLIENT_ID;
	c.key.len = DP_KEY_MAX;		/* big records: a small map fills quickly */
	memset(c.key.data, 0x5a, DP_KEY_MAX);
	c.key.data[0] = (uint8_t)(addr >> 24);
	c.key.data[1] = (uint8_t)(addr >> 16);
	c.key.data[2] = (uint8_t)(addr >> 8);
	c.key.data[3] = (uint8_t)addr;
	return c;
}

static void post(struct committer *c, const struct dp_change *ch)
{
	assert_int_equal(committer_ops.post(c, ch), 0);
}

/* --- tests ---------------------------------------------------------------------------- */

/* fdatasync() fails once: the batch fails, is not visible, and the retry writes it. */
static void sync_eio_fails_the_batch_then_recovers(void **state)
{
	struct store_fix *e = *state;
	struct dp_change c[2] = {change(0, 1, BASE + 1), change(0, 2, BASE + 2)};
	struct store_binding b;

	e->s = open_store(e, 0, 0);
	assert_int_equal(store_write_batch(e->s, &c[0], 1), 0);
	syncs = 0;
	fail_sync = 1;
	assert_int_equal(store_write_batch(e->s, &c[1], 1), -EIO);
	assert_true(syncs >= 1);		/* LMDB's own sync failed, nothing injected above */
	assert_int_equal(store_get(e->s, BASE + 2, &b), -ENOENT);
	assert_int_equal(store_get(e->s, BASE + 1, &b), 0);
	assert_int_equal(store_write_batch(e->s, &c[1], 1), 0);
	assert_int_equal(store_reopens(e->s), 0);	/* a failed data sync is no panic */
	store_close(e->s);
	e->s = open_store(e, 0, 0);
	assert_int_equal(store_get(e->s, BASE + 1, &b), 0);
	assert_int_equal(store_get(e->s, BASE + 2, &b), 0);
}

/*
 * The meta page write fails: LMDB refuses the handle from then on (MDB_PANIC). Without the
 * reopen every later batch would fail for good; with it the next one succeeds, and what was
 * committed before the failure is still there (also after a restart).
 */
static void meta_eio_reopens_the_environment(void **state)
{
	struct store_fix *e = *state;
	struct dp_change c[3] = {change(0, 1, BASE + 1), change(0, 2, BASE + 2),
				 change(0, 3, BASE + 3)};
	struct store_binding b;

	e->s = open_store(e, 0, 0);
	assert_int_equal(store_write_batch(e->s, &c[0], 1), 0);
	fail_meta = 1;
	assert_int_equal(store_write_batch(e->s, &c[1], 1), -EIO);
	assert_int_equal(fail_meta, 0);
	/* The disk works again. The failed batch is not there; the next ones are written. */
	assert_int_equal(store_get(e->s, BASE + 2, &b), -ENOENT);
	assert_int_equal(store_reopens(e->s), 1);
	assert_int_equal(store_get(e->s, BASE + 1, &b), 0);
	assert_int_equal(store_write_batch(e->s, &c[1], 2), 0);
	assert_int_equal(store_reopens(e->s), 1);
	store_close(e->s);
	e->s = open_store(e, 0, 0);
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(store_get(e->s, BASE + (uint32_t)i, &b), 0);
	}
}

/*
 * Over the committer: while the disk fails nothing is published (a parked ACK stays parked)
 * and the failures are counted by kind; the first good round publishes and ends the outage.
 */
static void committer_counts_io_failures_and_recovers(void **state)
{
	struct store_fix *e = *state;
	struct committer_opts o = {.n_workers = 1};
	const struct committer_stats *st;
	struct dp_change ch = change(0, 1, BASE + 7);

	e->s = open_store(e, 0, 0);
	e->c = committer_new(e->s, &o);
	assert_non_null(e->c);
	st = committer_stats(e->c);
	post(e->c, &ch);
	fail_sync = 2;
	assert_int_equal(committer_round(e->c), -EIO);
	assert_int_equal(committer_ops.durable(e->c, 0), 0);
	assert_true(atomic_load(&st->failing));
	fail_meta = 1;
	assert_int_equal(committer_round(e->c), -EIO);	/* the second sync fails */
	assert_int_equal(committer_round(e->c), -EIO);	/* the meta write fails: panic */
	assert_int_equal(committer_ops.durable(e->c, 0), 0);
	assert_int_equal(atomic_load(&st->io_failures), 3);
	assert_int_equal(atomic_load(&st->full_failures), 0);
	assert_true(atomic_load(&st->failing));
	assert_int_equal(committer_round(e->c), 1);	/* reopened, committed */
	assert_int_equal(committer_ops.durable(e->c, 0), 1);
	assert_false(atomic_load(&st->failing));
	assert_int_equal(atomic_load(&st->store_reopens), 1);
	assert_int_equal(atomic_load(&st->failures), 3);
}

/*
 * A real MDB_MAP_FULL: a 64 KiB map that may not grow. Batches fill it until one fails as
 * "store full"; that batch is not published (its ACKs stay parked) and stays queued, the
 * failure is counted as "full"; raising the limit on the open store lets it in.
 */
static void map_full_holds_the_batch_until_the_limit_rises(void **state)
{
	struct store_fix *e = *state;
	struct committer_opts o = {.n_workers = 1, .max_batch = 16};
	const struct committer_stats *st;
	struct store_binding b;
	uint64_t seq = 0, durable;
	int rc = 0;

	e->s = open_store(e, 64 << 10, 64 << 10);
	e->c = committer_new(e->s, &o);
	assert_non_null(e->c);
	st = committer_stats(e->c);
	for (int i = 0; i < 1000; i++) {
		for (int k = 0; k < 16; k++) {
			struct dp_change ch;

			seq++;
			ch = change(0, seq, BASE + (uint32_t)seq);
			post(e->c, &ch);
		}
		rc = committer_round(e->c);
		if (rc < 0) {
			break;
		}
	}
	assert_int_equal(rc, STORE_E_FULL);
	durable = committer_ops.durable(e->c, 0);
	assert_true(durable < seq);
	assert_int_equal(store_get(e->s, BASE + (uint32_t)seq, &b), -ENOENT);
	assert_int_equal(committer_round(e->c), STORE_E_FULL);	/* still full: held */
	assert_int_equal(committer_ops.durable(e->c, 0), durable);
	assert_int_equal(atomic_load(&st->full_failures), 2);
	assert_int_equal(atomic_load(&st->io_failures), 0);
	assert_true(atomic_load(&st->failing));

	store_set_max_map_size(e->s, 1 << 20);
	assert_true(committer_round(e->c) > 0);
	assert_int_equal(committer_ops.durable(e->c, 0), seq);
	assert_false(atomic_load(&st->failing));
	assert_int_equal(store_get(e->s, BASE + (uint32_t)seq, &b), 0);
}

/*
 * Journal mode, appends fail (injected, as a disk error): the change is not journaled and
 * its ACK stays parked (nothing durable is published) while the outage lasts, the failures
 * are counted as I/O and "failing" is on (what persist.c turns into event=store-unavailable);
 * the first good append ends the outage, its flush publishes the change, and the bindings
 * and a restart hold it.
 */
static void journal_append_failure_holds_the_ack(void **state)
{
	struct store_fix *e = *state;
	const struct committer_stats *st;
	struct dp_change ch = change(0, 1, BASE + 11);
	struct store_binding b;

	open_journaled(e);
	st = committer_stats(e->c);
	post(e->c, &ch);
	store_inject_failure(e->s, 2, -EIO);
	for (int i = 1; i <= 2; i++) {
		assert_int_equal(committer_round(e->c), -EIO);
		assert_int_equal(committer_ops.durable(e->c, 0), 0);	/* no ACK leaves */
		assert_int_equal(store_journal_count(e->s), 0);		/* nothing journaled */
		assert_true(atomic_load(&st->failing));
		assert_int_equal(atomic_load(&st->io_failures), (uint64_t)i);
		assert_int_equal(atomic_load(&st->last_error), -EIO);
	}
	assert_non_null(strstr(store_errmsg(e->s), "journal: injected failure"));
	assert_int_equal(committer_round(e->c), 1);		/* the disk is back */
	assert_false(atomic_load(&st->failing));
	assert_int_equal(committer_ops.durable(e->c, 0), 1);	/* its flush returned */
	assert_int_equal(atomic_load(&st->failures), 2);
	assert_int_equal(committer_apply_round(e->c), 1);
	assert_int_equal(store_get(e->s, BASE + 11, &b), 0);
	restart_journaled(e);
	assert_int_equal(store_get(e->s, BASE + 11, &b), 0);
}

/*
 * Journal mode, the journal's fdatasync fails (EIO): the group is not durable, nothing is
 * published, and the appender never trusts that segment's tail again (after a failed flush
 * Linux may have dropped the dirty pages): the next append goes to a new segment, counted
 * as a reopen (store_reopens(), the committer's store_reopens: event=store-reopened). The
 * failed group was not journaled twice, what was journaled before is still there, and a
 * restart replays each change once, though the failed group's bytes are in the old
 * segment's file (the new segment wins from the reused sequence numbers on).
 */
static void journal_sync_eio_takes_a_new_segment(void **state)
{
	struct store_fix *e = *state;
	const struct committer_stats *st;
	struct dp_change c[3] = {change(0, 1, BASE + 31), change(0, 2, BASE + 32),
				 change(0, 3, BASE + 33)};
	struct store_binding b;

	open_journaled(e);
	st = committer_stats(e->c);
	post(e->c, &c[0]);
	assert_int_equal(committer_round(e->c), 1);
	assert_int_equal(committer_ops.durable(e->c, 0), 1);
	post(e->c, &c[1]);
	fail_sync = 1;
	assert_int_equal(committer_round(e->c), -EIO);		/* the flush fails */
	assert_int_equal(fail_sync, 0);
	assert_int_equal(committer_ops.durable(e->c, 0), 1);
	assert_true(atomic_load(&st->failing));
	assert_int_equal(store_journal_count(e->s), 1);		/* not readable */
	assert_int_equal(store_reopens(e->s), 1);
	/* The disk works again: the next append takes the batch, in a new segment. */
	post(e->c, &c[2]);
	assert_int_equal(committer_round(e->c), 2);
	assert_int_equal(atomic_load(&st->store_reopens), 1);
	assert_false(atomic_load(&st->failing));
	assert_int_equal(committer_ops.durable(e->c, 0), 3);
	assert_int_equal(store_journal_count(e->s), 3);		/* each change once */
	assert_int_equal(committer_apply_round(e->c), 3);
	assert_int_equal(store_reopens(e->s), 1);
	/* A restart without the apply's marks in the bindings: the journal alone. */
	restart_journaled(e);
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(store_get(e->s, BASE + 30 + (uint32_t)i, &b), 0);
	}
}

/*
 * No-sync mode (review13): journal_sync() flushes every segment appended to since the last
 * call, not only the current one, and the directory that got new segments; it used to flush
 * the current segment alone. Segments of one byte: each group in a segment of its own.
 */
static void journal_sync_flushes_every_segment(void **state)
{
	struct store_fix *e = *state;
	struct dp_change c[3] = {change(0, 1, BASE + 41), change(0, 2, BASE + 42),
				 change(0, 3, BASE + 43)};
	struct journal *j;
	unsigned before;

	j = journal_fix_open(e, false, 1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(journal_append(j, &c[i], 1, NULL), 0);
	}
	before = syncs;
	assert_int_equal(journal_sync(j), 0);
	assert_int_equal(syncs - before, 3 + 1);	/* three segments and the directory */
	before = syncs;
	assert_int_equal(journal_sync(j), 0);
	assert_int_equal(syncs - before, 0);		/* nothing new */
	journal_close(j);
}

/*
 * The journal directory's entry is made durable: the store's directory (its parent) is
 * fsynced at every open, before anything is written in it, so that a directory whose
 * creation was never synced (a failed sync, a run killed after its mkdir, an older binary)
 * is synced by the next open. When that sync fails the open fails with a message naming
 * the step.
 */
static void journal_dir_entry_is_synced(void **state)
{
	struct store_fix *e = *state;
	struct store_opts so = {.sync = STORE_SYNC_STRICT, .journal = true};

	assert_int_equal(mkdir(e->dir, 0700), 0);
	assert_int_equal(stat(e->dir, &watch), 0);

	pass_watch = 1;					/* the store's (data.mdb) */
	fail_watch = 1;					/* the journal's */
	assert_null(store_fix_try_open(e, &so));
	assert_non_null(strstr(e->err, "cannot sync"));
	assert_non_null(strstr(e->err, "journal"));
	assert_int_equal(watch_syncs, 2);

	watch_syncs = 0;
	e->s = store_fix_open(e, &so);			/* the directory existed: synced */
	assert_int_equal(watch_syncs, 2);		/* the store's and the journal's */
	assert_int_equal(access(e->jdir, F_OK), 0);
	store_close(e->s);
	e->s = store_fix_open(e, &so);
	assert_int_equal(watch_syncs, 4);		/* at every open */
}

/* Open the store strict, relaxed, then strict with the watched directory's sync failing:
 * one sync of it at each open, and the last open fails with @p msg in its message. */
static void watched_dir_synced_per_open(struct store_fix *e, const char *msg)
{
	struct store_opts so = {.sync = STORE_SYNC_STRICT};
	struct store_opts relaxed = {.sync = STORE_SYNC_RELAXED};

	watch_syncs = 0;
	e->s = store_fix_open(e, &so);
	assert_int_equal(watch_syncs, 1);
	store_close(e->s);
	e->s = store_fix_open(e, &relaxed);
	assert_int_equal(watch_syncs, 2);
	store_close(e->s);
	e->s = NULL;
	fail_watch = 1;
	assert_null(store_fix_try_open(e, &so));
	assert_non_null(strstr(e->err, "cannot sync"));
	assert_non_null(strstr(e->err, msg));
	assert_int_equal(watch_syncs, 3);
}

/*
 * The store's own entries are made durable at every open, in both sync modes, before
 * anything is committed: its directory's entry (the parent is fsynced) and the entries of
 * LMDB's files (the directory is fsynced after mdb_env_open() created data.mdb there, not
 * before). A failed sync fails the open with a message naming the directory synced.
 */
static void store_dir_entries_are_synced(void **state)
{
	struct store_fix *e = *state;
	char data[160];

	/* The store's directory's entry: its parent, at its creation (the first open) and at
	 * every open after. */
	assert_int_equal(stat(e->tmp, &watch), 0);
	watched_dir_synced_per_open(e, "the directory's entry");
	assert_non_null(strstr(e->err, e->tmp));

	/* data.mdb's entry: the store's directory, after LMDB created the file. A directory
	 * made beforehand (by an operator, by a run killed before mdb_env_open()) is empty. */
	assert_int_equal(nftw(e->dir, store_fix_rm_one, 8, FTW_DEPTH | FTW_PHYS), 0);
	assert_int_equal(mkdir(e->dir, 0700), 0);
	assert_int_equal(stat(e->dir, &watch), 0);
	snprintf(data, sizeof(data), "%s/data.mdb", e->dir);
	watch_needs = data;
	watched_dir_synced_per_open(e, "the directory, the entries of data.mdb");
	assert_int_equal(watch_early, 0);		/* not before mdb_env_open() */
	assert_non_null(strstr(e->err, e->dir));
}

/*
 * review16: a reader (leasewired --dump-store) makes the store's entries durable only before
 * a replay of its own. Not when there is no journal, nor beside a process that holds the
 * journal (a running daemon): it commits nothing that matters then, and its user may not be
 * allowed to open the store's parent (tests/review16/dump_store_parent_unreadable.sh). Alone
 * with a journal it applies it and trims it: the parent is synced before.
 */
static void reader_syncs_entries_before_its_replay_only(void **state)
{
	struct store_fix *e = *state;
	struct store_opts so = {.sync = STORE_SYNC_STRICT, .journal = true};
	struct store_opts rd = {.sync = STORE_SYNC_STRICT, .reader = true};
	struct dp_change c = change(0, 1, BASE + 51);
	struct store_binding b;
	int fd;

	assert_int_equal(stat(e->tmp, &watch), 0);
	e->s = store_fix_open(e, &rd);			/* makes an empty store */
	store_close(e->s);
	assert_int_equal(watch_syncs, 0);
	e->s = store_fix_open(e, &so);			/* the owner */
	assert_int_equal(watch_syncs, 1);
	assert_int_equal(store_journal_append(e->s, &c, 1), 0);
	store_close(e->s);				/* not applied: in the journal only */
	e->s = NULL;

	fd = open(e->jdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);	/* a daemon runs */
	watch_syncs = 0;
	e->s = store_fix_open(e, &rd);
	assert_int_equal(watch_syncs, 0);
	assert_int_not_equal(store_get(e->s, BASE + 51, &b), 0);	/* journal left alone */
	store_close(e->s);
	e->s = NULL;
	close(fd);

	fail_watch = 1;					/* alone: it must sync, and fails */
	assert_null(store_fix_try_open(e, &rd));
	assert_non_null(strstr(e->err, "cannot sync"));
	assert_int_equal(watch_syncs, 1);
	e->s = store_fix_open(e, &rd);			/* replays, after the sync */
	assert_int_equal(watch_syncs, 2);
	assert_int_equal(store_get(e->s, BASE + 51, &b), 0);
}

/*
 * review17: a reader alone with a journal that holds nothing to replay syncs nothing either.
 * A strict daemon's clean stop leaves its journal directory with spare segments in it
 * (recycled or prefilled, "*.wal" files without a header) and every entry applied; so does
 * a stop whose trim failed, with applied segments. A dump run by the store's owner after
 * such a stop commits nothing, and its user may not be allowed to open the store's parent
 * (mode 0711): it must not sync it (tests/review17/dump_store_after_clean_stop.sh).
 */
static void reader_with_nothing_to_replay_syncs_nothing(void **state)
{
	struct store_fix *e = *state;
	struct store_opts so = {.sync = STORE_SYNC_STRICT, .journal = true,
				.prefill_ahead = 1u << 20, .journal_segment = 64u << 10};
	struct store_opts rd = {.sync = STORE_SYNC_STRICT, .reader = true};
	struct dp_change c = change(0, 1, BASE + 52), out[4];
	struct store_binding b;

	e->s = store_fix_open(e, &so);			/* the daemon: append, apply, stop */
	assert_int_equal(store_journal_append(e->s, &c, 1), 0);
	assert_int_equal(store_journal_apply(e->s, out, NULL, 4), 1);
	assert_true(store_prefill(e->s, 0) > 0);	/* a spare is ready */
	assert_int_equal(store_journal_trim(e->s), 0);
	store_close(e->s);
	e->s = NULL;
	assert_true(journal_exists(e->jdir));		/* the spare */

	assert_int_equal(stat(e->tmp, &watch), 0);
	watch_syncs = 0;
	fail_watch = 1;					/* as a 0711 parent would */
	e->s = store_fix_open(e, &rd);
	assert_int_equal(watch_syncs, 0);
	assert_int_equal(store_get(e->s, BASE + 52, &b), 0);
}

/* The directory that holds a path's entry: the one whose fsync makes the entry durable. */
static void dir_parent_of_paths(void **state)
{
	static const char *const cases[][2] = {
		{"/var/lib/lw/store", "/var/lib/lw"}, {"db/journal", "db"}, {"db", "."},
		{"/db", "/"}, {"/", "/"}, {"", "."}, {"a/b/", "a"}, {"a//b", "a"},
		{"a/b//", "a"}, {"//a", "/"}, {"./db", "."},
	};
	char out[32], small[4];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(store_dir_parent(cases[i][0], out, sizeof(out)), 0);
		assert_string_equal(out, cases[i][1]);
	}
	assert_int_equal(store_dir_parent("abcd/e", small, sizeof(small)), -ENAMETOOLONG);
	assert_string_equal(small, "");
	assert_int_equal(store_dir_parent("abc/e", small, sizeof(small)), 0);
	assert_string_equal(small, "abc");
}

/*
 * A spare of the last run whose check cannot be finished (the directory sync fails) is
 * deleted, not kept for ever as a candidate: the prefill fails once, counted as any
 * prefill failure, and the next one writes a new spare.
 */
static void spare_of_last_run_failing_sync_is_dropped(void **state)
{
	struct store_fix *e = *state;
	const uint64_t seg = 64u << 10;
	struct journal_files jf;
	struct journal *j;

	j = journal_fix_open(e, true, seg);
	assert_true(journal_prefill(j, 0, NULL) == (int64_t)seg);
	journal_close(j);

	j = journal_fix_open(e, true, seg);
	assert_int_equal(stat(e->jdir, &watch), 0);
	fail_watch = 1;
	assert_true(journal_prefill(j, 0, NULL) == -EIO);
	assert_non_null(strstr(journal_errmsg(j), "sync the directory"));
	journal_files(j, &jf);
	assert_true(jf.segments == 0);
	assert_true(journal_prefill(j, 0, NULL) == (int64_t)seg);	/* a new one */
	journal_files(j, &jf);
	assert_true(jf.segments == 1 && jf.size == seg);
	journal_close(j);
}

/*
 * A prefill whose flush of the zeros failed: this run may still use the spare (the retry
 * finds it written to its size), but it never gets the spare mark, so a later run does not
 * take it for one written and flushed: it writes its own.
 */
static void spare_whose_flush_failed_is_not_marked(void **state)
{
	struct store_fix *e = *state;
	const uint64_t seg = 64u << 10;
	struct journal_files jf;
	struct journal *j;

	j = journal_fix_open(e, true, seg);
	fail_sync = 1;
	assert_true(journal_prefill(j, 0, NULL) == -EIO);
	assert_true(journal_prefill(j, 0, NULL) == 0);	/* the retry: nothing left to write */
	journal_files(j, &jf);
	assert_true(jf.segments == 1 && jf.size == seg);	/* this run's spare all the same */
	journal_close(j);

	j = journal_fix_open(e, true, seg);
	assert_true(journal_prefill(j, 0, NULL) == (int64_t)seg);	/* not taken again */
	journal_close(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(sync_eio_fails_the_batch_then_recovers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(meta_eio_reopens_the_environment, setup,
						teardown),
		cmocka_unit_test_setup_teardown(committer_counts_io_failures_and_recovers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(map_full_holds_the_batch_until_the_limit_rises,
						setup, teardown),
		cmocka_unit_test_setup_teardown(journal_append_failure_holds_the_ack, setup,
						teardown),
		cmocka_unit_test_setup_teardown(journal_sync_flushes_every_segment, setup,
						teardown),
		cmocka_unit_test_setup_teardown(journal_sync_eio_takes_a_new_segment, setup,
						teardown),
		cmocka_unit_test_setup_teardown(journal_dir_entry_is_synced, setup, teardown),
		cmocka_unit_test_setup_teardown(store_dir_entries_are_synced, setup, teardown),
		cmocka_unit_test_setup_teardown(reader_syncs_entries_before_its_replay_only,
						setup, teardown),
		cmocka_unit_test_setup_teardown(reader_with_nothing_to_replay_syncs_nothing,
						setup, teardown),
		cmocka_unit_test(dir_parent_of_paths),
		cmocka_unit_test_setup_teardown(spare_of_last_run_failing_sync_is_dropped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(spare_whose_flush_failed_is_not_marked, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
