/*
 * journal_mdb: the journal as the previous binaries wrote it, an LMDB environment in
 * "<store>/journal" (data.mdb, lock.mdb): one unnamed database, key = a sequence number (u64
 * big endian), value = one encoded change (journal.h, journal_entry_decode()).
 *
 * Kept only to upgrade a store: a binary before the segment journal (journal.h) may have
 * left acknowledged entries there after a crash. store_open() replays every entry after the
 * store's applied mark into the bindings, syncs them, then removes the two files
 * (jmdb_remove()) before it opens the segment journal in the same directory. Nothing else
 * writes an LMDB journal; jmdb_append() exists so that the tests can write one as the old
 * binary did.
 *
 * Private to lmdb-store (store.c and the unit tests). One thread at a time per handle.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "commit.h"
#include "lw_attr.h"

struct jmdb;

/** Does directory @p dir hold an LMDB journal (a file "data.mdb")? */
bool jmdb_exists(const char *dir);

/** Has another process the LMDB journal in @p dir open (an old binary's daemon)? */
bool jmdb_in_use(const char *dir);

/**
 * Open the LMDB journal in @p dir (it must exist: jmdb_exists(); a test may create one).
 * @param err,errlen  on failure, a message naming the path and the reason.
 * @return the handle (caller owns it: jmdb_close()), or NULL.
 */
struct jmdb *jmdb_open(const char *dir, char *err, size_t errlen);

/** Close. NULL is a no-op. */
void jmdb_close(struct jmdb *j);

/**
 * Read up to @p max entries with sequence numbers > @p after, oldest first, into @p out and
 * their sequence numbers into @p seqs (caller's arrays of @p max).
 * @return how many (0: none left), or a negative enum store_err (STORE_E_CORRUPT: an entry
 *         that does not decode; never skipped). The message: jmdb_errmsg().
 */
_mustcheck_
long jmdb_read(struct jmdb *j, uint64_t after, struct dp_change *out, uint64_t *seqs,
	       size_t max);

/**
 * Tests only: append @p n changes as the next sequence numbers (the newest + 1 on), in one
 * synced transaction, as the previous binaries did. @return 0 or a negative enum store_err.
 */
_mustcheck_
int jmdb_append(struct jmdb *j, const struct dp_change *c, size_t n);

/** Tests only: put the raw value @p v (@p len bytes) at sequence @p seq (a damaged or older
 *  entry). @return 0 or a negative enum store_err. */
_mustcheck_
int jmdb_put_raw(struct jmdb *j, uint64_t seq, const void *v, size_t len);

/**
 * Remove the LMDB journal's files from @p dir (data.mdb, lock.mdb) and sync the directory,
 * so that the removal is durable before the caller writes anything in its place. No handle
 * on it may be open. @return 0 or a negative errno.
 */
_mustcheck_
int jmdb_remove(const char *dir);

/** Message for the last error on @p j (valid until the next call on @p j). */
const char *jmdb_errmsg(const struct jmdb *j);
