/*
 * journal: the append-only log of binding changes that strict durability commits first.
 *
 * Private to lmdb-store (included by store.c and the unit tests, never from another folder):
 * the public face is store_journal_*() in store.h.
 *
 * A journal is an LMDB environment of its own (a directory, "<store>/journal"), holding one
 * unnamed database: key = a sequence number (u64, big endian, from 1, never reused), value =
 * one encoded struct dp_change (see journal.c). A group of changes is appended with
 * MDB_APPEND in ONE write transaction and committed with one flush (journal_open()): it
 * touches only the last leaf pages of one B-tree and its fdatasync flushes only this small
 * file, not the binding database. The binding database is brought up to date from the journal later, by
 * store_journal_apply(); the journal's oldest entries are deleted (trimmed) by a later append
 * once store.c says the bindings holding them are durable.
 *
 * Threads: one appender (journal_append, journal_sync, journal_raise) and any number of
 * readers (journal_read, journal_last, journal_count, journal_reopens) at the same time; LMDB
 * orders them (MDB_NOTLS readers, one writer). When a commit could not write its meta page
 * (EIO), LMDB gives the environment up (MDB_PANIC); the appender's next append closes and
 * reopens it (readers wait on a lock meanwhile), which keeps every append that returned 0.
 * journal_open/journal_close: no other call may run.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "commit.h"
#include "lw_attr.h"

struct journal;

/**
 * Open (creating if needed) the journal in directory @p dir (created mode 0700).
 * @param sync  true: one flush per append (MDB_NOMETASYNC): an append is on stable storage
 *              once the NEXT append or journal_sync() has returned (see journal.c); false:
 *              MDB_NOSYNC (relaxed: a power cut may lose the latest appends).
 * @param map_size  the map's fixed size in bytes (address space, not disk; 0 = 4 GiB). The
 *              map is never grown, so that readers on other threads never see it move: a
 *              full journal fails appends with STORE_E_FULL until it is trimmed.
 * @param err,errlen  on failure, a message naming the path and the reason.
 * @return the journal (caller owns it: journal_close()), or NULL.
 */
struct journal *journal_open(const char *dir, bool sync, uint64_t map_size, char *err,
			     size_t errlen);

/** Close. NULL is a no-op. No other call on @p j may be running. */
void journal_close(struct journal *j);

/** Does directory @p dir hold a journal (a file "data.mdb")? */
bool journal_exists(const char *dir);

/**
 * Append @p n changes (n may be 0) as the next sequence numbers, after deleting up to
 * @p trim_max of the oldest entries whose sequence is <= @p trim_upto, in ONE write
 * transaction, and commit it. The appender thread.
 * @param[out] last  the sequence number of the last change appended (the previous last when
 *              n is 0). May be NULL.
 * @return 0, or a negative enum store_err and nothing of it is written (the sequence numbers
 *         are not used up). After 0, every earlier append is durable, and this one will be
 *         after the next append or journal_sync() returns 0 (sync mode). An append that
 *         finds the environment given up (MDB_PANIC, after a failed meta page write) reopens
 *         it first (journal_reopens()).
 */
_mustcheck_
int journal_append(struct journal *j, const struct dp_change *c, size_t n, uint64_t trim_upto,
		   size_t trim_max, uint64_t *last);

/**
 * Flush: every append that returned before is on stable storage when this returns 0
 * (no-op without sync). The appender thread. @return 0 or a negative enum store_err.
 */
_mustcheck_
int journal_sync(struct journal *j);

/**
 * Read up to @p max changes with sequence numbers > @p after, oldest first, into @p out
 * (caller's array); seqs[i] (caller's array of @p max, may be NULL) gets each one's sequence
 * number. One read transaction. Any thread.
 * @return how many (0: nothing after @p after), or a negative enum store_err
 *         (STORE_E_CORRUPT: an entry that does not decode; never skipped).
 */
_mustcheck_
long journal_read(struct journal *j, uint64_t after, struct dp_change *out, uint64_t *seqs,
		  size_t max);

/** The sequence number of the newest entry ever appended (0 for an empty new journal).
 *  Any thread. */
uint64_t journal_last(const struct journal *j);

/** Make the next append use sequences above @p seq (no-op when the journal's newest is
 *  already >= @p seq): an emptied journal must not reuse numbers that the store's applied
 *  mark has seen. The appender, or before it starts. */
void journal_raise(struct journal *j, uint64_t seq);

/**
 * Keep the journal's data file written ahead of its use (prefill.h, doc/durable-path.md
 * "Prefilled data files"): when fewer than @p ahead bytes of the file lie beyond LMDB's last
 * used page, write zeros up to 2 x @p ahead beyond it (at most @p max_step bytes per call; 0:
 * no bound; never beyond the map), then fdatasync. LMDB (not MDB_WRITEMAP) writes pages past
 * the file's end only inside a commit, under its writer lock; the zeros are written holding
 * that lock (a write transaction begun and aborted around them), so no append, of this
 * process or another, can be writing past the end meanwhile: the appender waits for it at
 * its next begin, for at most one step. Any thread but the appender itself while it holds a
 * transaction (in the daemon: the applier, between its transactions; store_open()).
 * @param[out] ext_ns  wall time of the extension, lock wait included (0 when none). May be
 *              NULL.
 * @return the bytes written (0: the file was far enough ahead), or a negative errno / enum
 *         store_err (message recorded): the journal's entries are untouched either way.
 */
_mustcheck_
int64_t journal_prefill(struct journal *j, uint64_t ahead, uint64_t max_step, uint64_t *ext_ns);

struct store_env_file;

/** The journal's data file (prefill.h, store_env_file()). Any thread.
 *  @return 0 or a negative enum store_err / errno (message recorded). */
_mustcheck_
int journal_file(struct journal *j, struct store_env_file *out);

/** Entries in the journal now (appended and not trimmed). Any thread; 0 after an error. */
uint64_t journal_count(struct journal *j);

/** How many times the appender reopened the environment after LMDB gave it up (MDB_PANIC:
 *  a commit could not write its meta page). Any thread. */
uint64_t journal_reopens(const struct journal *j);

/** What the appender is doing now (journal_phase()): a watchdog on another thread names the
 *  step of a commit that takes too long (waiting for LMDB's writer lock, or the commit and
 *  its fdatasync). */
enum journal_phase {
	JOURNAL_IDLE,
	JOURNAL_BEGIN,		/**< mdb_txn_begin: LMDB's writer lock, a reopen */
	JOURNAL_TRIM,		/**< deleting applied entries */
	JOURNAL_PUT,		/**< appending the entries */
	JOURNAL_COMMIT,		/**< mdb_txn_commit: pages written and fdatasync'd */
	JOURNAL_SYNC,		/**< journal_sync(): the flush of the last append */
};

/** The appender's current step. Any thread. */
enum journal_phase journal_phase(const struct journal *j);

/** "idle", "begin", "trim", "put", "commit" or "sync". Pure. */
const char *journal_phase_name(enum journal_phase ph);

/** Fault injection for tests: the next append sleeps @p ms in its JOURNAL_COMMIT step, as a
 *  stalled fdatasync would. Any thread. */
void journal_inject_delay(struct journal *j, unsigned ms);

/** Message for the last error on @p j (the appender's or a reader's; copied under a lock,
 *  thread-local, valid until the calling thread's next call). */
const char *journal_errmsg(struct journal *j);
