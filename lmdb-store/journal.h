/*
 * journal: the append-only log of binding changes that strict durability commits first.
 *
 * Private to lmdb-store (included by store.c and the unit tests, never from another folder):
 * the public face is store_journal_*() in store.h.
 *
 * A journal is a directory ("<store>/journal") of segment files "NNNNNNNNNNNNNNNN.wal" (the
 * file number, 16 hex digits, increasing, never reused), each a header and then records of
 * consecutive sequence numbers (u64, from 1, never reused), one record per encoded struct
 * dp_change, each with its CRC-32C (journal.c has the layout). A group of changes is ONE
 * pwrite of consecutive records at the current segment's end and ONE fdatasync (in sync
 * mode the pwrite is O_DIRECT where the file system allows it: the block holding the end
 * rewritten as it was, the records, zeros to the block's end; journal.c, "Direct
 * appends"): when
 * journal_append() returns 0 in sync mode the group is on stable storage (no later flush is
 * needed, unlike the LMDB journal this replaces, journal_mdb.h). Segments are written with
 * zeros and synced, their directory entry too, before the appender uses them
 * (journal_prefill(), off the ACK path), so an append's fdatasync flushes data only. A spare
 * the last run wrote and never used is taken again (read whole, not written) when it is
 * provably one (journal.c, "Spares across a restart").
 *
 * journal_open() scans the segments: a torn tail (a record whose checksum or sequence does
 * not follow) ends a segment, and a later segment whose first sequence is not above an
 * earlier segment's last wins from that sequence on (it was written after a failed append,
 * whose sequence numbers were reused). The appender never writes after a tail it did not
 * write itself: after an open, and after a write or flush that failed, its next append
 * starts a new segment (journal_reopens() counts the latter).
 *
 * Threads and locks:
 *  - one appender thread: journal_append(), journal_sync(), journal_raise(); it owns the
 *    current segment's tail and takes the index lock (a mutex, held for a few stores) only
 *    to publish a durable group and to take the next segment;
 *  - any number of readers on other threads: journal_read(), journal_count(),
 *    journal_file(); readers are serialised among themselves by a reader lock (which also
 *    guards the read cursor and buffer) and see a group only once its append has returned
 *    0 (after its fdatasync in sync mode): entries not yet durable are never returned;
 *  - journal_trim() and journal_prefill(): any thread but the appender's (in the daemon the
 *    applier, between its transactions); they take the reader lock, so a reader never
 *    sees a segment's descriptor closed under it;
 *  - journal_last(), journal_reopens(), journal_phase(), journal_errmsg(): any thread;
 *  - journal_open() / journal_close(): no other call may run.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "commit.h"
#include "info_codec.h"
#include "lw_attr.h"

struct journal;

/** Default segment size (bytes). */
#define JOURNAL_SEG_SIZE	(16ull << 20)

/** The longest encoded change (journal_entry_encode()). */
#define JOURNAL_ENTRY_MAX_LEN	(26 + DP_KEY_MAX + DP_HW_MAX + STORE_INFO_MAX_LEN + 4)

/**
 * Open (creating if needed) the journal in directory @p dir (created mode 0700), scanning
 * every segment (above). The next append starts a new segment.
 * @param sync  true: each append ends with an fdatasync and is durable when it returns 0;
 *              false: no flush (relaxed: a power cut may lose the latest appends;
 *              journal_sync() flushes).
 * @param max_bytes  the bound on the segments' bytes on disk (0 = 4 GiB): an append that
 *              needs a new segment beyond it fails with STORE_E_FULL until trimmed.
 * @param seg_size  bytes per segment (0 = JOURNAL_SEG_SIZE); a group larger than a whole
 *              segment still goes into one (which then grows past it).
 * @param err,errlen  on failure, a message naming the path and the reason.
 * @return the journal (caller owns it: journal_close()), or NULL.
 */
struct journal *journal_open(const char *dir, bool sync, uint64_t max_bytes, uint64_t seg_size,
			     char *err, size_t errlen);

/**
 * Create the journal directory @p dir (mode 0700) unless it exists. Its entry is made
 * durable by journal_open(), which fsyncs the parent directory at every open (not only
 * after a mkdir of its own: a run killed between the mkdir and the sync left an entry of
 * unknown durability), before anything is written in it. The store calls it first (it
 * locks the directory before the open). Any thread.
 * @param err,errlen  on failure, a message naming the path and the step.
 * @return 1 (created), 0 (it existed), or a negative errno.
 */
_mustcheck_
int journal_mkdir(const char *dir, char *err, size_t errlen);

/** Close (nothing is written or deleted). NULL is a no-op. No other call may be running. */
void journal_close(struct journal *j);

/** Does directory @p dir hold a segment journal (a file "*.wal")? */
bool journal_exists(const char *dir);

/**
 * Append @p n changes (n may be 0: nothing is written) as the next sequence numbers: one
 * pwrite, then (sync mode) one fdatasync. The appender thread.
 * @param[out] last  the sequence number of the last change appended (the previous last when
 *              n is 0). May be NULL.
 * @return 0: the group is durable (sync mode); or a negative enum store_err / errno and the
 *         group is not durable, not visible to readers, and its sequence numbers are not
 *         used up (the next append reuses them, in a new segment). STORE_E_FULL: a new
 *         segment would pass max_bytes.
 */
_mustcheck_
int journal_append(struct journal *j, const struct dp_change *c, size_t n, uint64_t *last);

/**
 * Flush: every append that returned before is on stable storage when this returns 0. In
 * sync mode there is nothing to do (each append flushed). The appender thread.
 * @return 0 or a negative enum store_err.
 */
_mustcheck_
int journal_sync(struct journal *j);

/**
 * Read up to @p max changes with sequence numbers > @p after, oldest first, into @p out (caller's array); seqs[i] (caller's array of @p max, may be NULL) gets
 * each one's sequence number. pread()s from the segment files; sequential calls resume
 * where the previous one stopped (a cursor). Any thread but the appender's need not be.
 * @return how many (0: nothing after @p after), or a negative enum store_err
 *         (STORE_E_CORRUPT: a record that does not check or decode, or a missing sequence:
 *         never skipped).
 */
_mustcheck_
long journal_read(struct journal *j, uint64_t after, struct dp_change *out, uint64_t *seqs,
		  size_t max);

/** The sequence number of the newest entry appended (0 for an empty new journal). Any
 *  thread. */
uint64_t journal_last(const struct journal *j);

/** Make the next append use sequences above @p seq (no-op when the journal's newest is
 *  already >= @p seq): an emptied journal must not reuse numbers that the store's applied
 *  mark has seen. The appender, or before it starts. */
void journal_raise(struct journal *j, uint64_t seq);

/**
 * Trim: every segment whose entries are all <= @p upto is deleted, or renamed to become the next spare
 * segment (recycled) when none is ready. @p all: the appender's current segment too (then
 * the next append starts a new one); only when no append can run (the appender itself, or
 * none). Otherwise any thread but the appender's. The caller must know @p upto is durable
 * elsewhere (the bindings). @return 0 or a negative errno (message recorded): a segment that
 * could not be deleted stays, nothing is lost.
 */
_mustcheck_
int journal_trim(struct journal *j, uint64_t upto, bool all);

/**
 * Prepare the next segment ahead of the appender (off the ACK path): when no spare segment
 * is ready, take the spare the last run left unused if journal_open() found one (read whole
 * to check it holds nothing but its mark and zeros, the directory synced; deleted when it
 * does not), else write zeros into a new one (at most @p max_step bytes per call, 0: no
 * bound), and once it has its full size, fdatasync it, mark it as written (a small write
 * and a second fdatasync) and sync the directory, then hand it to the appender. The zeros
 * count against the free space as prefill.h says (ENOSPC). Any thread but the appender's;
 * one at a time.
 * @param[out] ext_ns  wall time spent (0 when nothing was due). May be NULL.
 * @return the bytes written (0: a spare was ready, or the last run's was taken), or a
 *         negative errno (message recorded): the appender then creates its next segment
 *         itself, on the ACK path (journal_path_creates()).
 */
_mustcheck_
int64_t journal_prefill(struct journal *j, uint64_t max_step, uint64_t *ext_ns);

/** The journal's files, as store_data_files() reports them. */
struct journal_files {
	uint64_t used;		/**< bytes of headers and durable records */
	uint64_t size;		/**< bytes of the segment files, the spare included */
	uint64_t segments;	/**< segment files, the spare included */
};

/** Look at the journal's files. Any thread but the appender's need not be. */
void journal_files(struct journal *j, struct journal_files *out);

/** Entries in the journal's segments now (appended, and not trimmed with their segment).
 *  Any thread. */
uint64_t journal_count(struct journal *j);

/** How many times the appender gave its segment up after a write or flush that failed and
 *  continued in a new one. Any thread. */
uint64_t journal_reopens(const struct journal *j);

/** How many segments the appender had to create itself (no spare was ready: the file
 *  creation and a directory sync were on the ACK path). Any thread. */
uint64_t journal_path_creates(const struct journal *j);

/** How many strict-mode appends were written with O_DIRECT (journal.c, "Direct appends").
 *  Any thread. */
uint64_t journal_direct_appends(const struct journal *j);

/** How many segments the appender wrote through the page cache in strict mode because
 *  O_DIRECT was refused (at the open, e.g. a file system without it, or at a write). Any
 *  thread. */
uint64_t journal_direct_fallbacks(const struct journal *j);

/** What the appender is doing now (journal_phase()): a watchdog on another thread names the
 *  step of an append that takes too long. */
enum journal_phase {
	JOURNAL_IDLE,
	JOURNAL_BEGIN,		/**< taking the next segment (creating one: no spare) */
	JOURNAL_PUT,		/**< the pwrite of the group's records */
	JOURNAL_COMMIT,		/**< the fdatasync that makes the group durable */
	JOURNAL_SYNC,		/**< journal_sync() (no-sync mode only) */
};

/** The appender's current step. Any thread. */
enum journal_phase journal_phase(const struct journal *j);

/** "idle", "begin", "put", "commit" or "sync". Pure. */
const char *journal_phase_name(enum journal_phase ph);

/** Fault injection for tests: the next append sleeps @p ms in its JOURNAL_COMMIT step, as a
 *  stalled fdatasync would. Any thread. */
void journal_inject_delay(struct journal *j, unsigned ms);

/**
 * Fault injection for tests: the next append fails in step @p ph (JOURNAL_PUT: after
 * writing the first half of its bytes, whole 4 KiB blocks of them when O_DIRECT, as a short
 * write then an error; JOURNAL_COMMIT: its pwrite done, instead of its fdatasync) with
 * -@p err (a positive errno). JOURNAL_BEGIN: the O_DIRECT open of the next segment the
 * appender takes in sync mode fails with @p err instead, as on a file system without
 * O_DIRECT (the append goes on, buffered, journal_direct_fallbacks()). Any thread.
 */
void journal_inject_fault(struct journal *j, enum journal_phase ph, int err);

/** Message for the last error on @p j (the appender's or a reader's; copied under a lock,
 *  thread-local, valid until the calling thread's next call). */
const char *journal_errmsg(struct journal *j);

/**
 * Encode @p c into @p buf (JOURNAL_ENTRY_MAX_LEN bytes at least), version 3 of the entry
 * layout (journal.c). @return the length. Pure.
 */
size_t journal_entry_encode(const struct dp_change *c, uint8_t *buf);

/** Decode an entry of any version (1..3) of @p size bytes at @p p into @p c. Pure.
 *  @return true when well formed. */
bool journal_entry_decode(const uint8_t *p, size_t size, struct dp_change *c);
