/*
 * prefill: extend a data file with written zeros ahead of LMDB's use of it.
 *
 * Why (doc/durable-path.md, "Prefilled data files"): a write into a part of a file that holds
 * no block yet makes the file system allocate one (ext4, XFS: a metadata change, committed by
 * the next fdatasync), and on a thin-provisioned VM disk the host backs the block on its first
 * write too. LMDB grows its data file by writing pages past its end inside a commit, so a
 * store that grows puts an allocation under the flush that an ACK waits for: measured here,
 * 2.8 ms per flush instead of 0.06 ms. Zeros written (and synced) ahead, off the ACK path,
 * take that cost out of the commit; fallocate() would not: an unwritten extent still costs a
 * metadata change at its first write. PostgreSQL fills its WAL segments with zeros for the
 * same reason.
 *
 * This file is the bare operation on a file descriptor; which files, how far ahead and under
 * which lock is the store's business (store.h, store_prefill()).
 */
#pragma once

#include <stdint.h>

#include "lw_attr.h"

struct MDB_env;

/** Bytes written per pwrite(). */
#define STORE_PREFILL_CHUNK	(1u << 20)

/** An extension takes at most 1/4 of the free space (store_prefill_fd()). */
#define STORE_PREFILL_FREE_SHARE	4

/**
 * Make the file @p fd at least @p want bytes long by writing zeros from its current size
 * (fstat) up to @p want, in pwrites of STORE_PREFILL_CHUNK bytes, then fdatasync it.
 * Never shrinks the file and never writes below its current size, so it cannot touch data
 * that is there; but a writer that extends the same file concurrently could be overwritten:
 * the caller must exclude every such writer (for LMDB: hold the environment's write lock).
 * Zeros ahead must not take the room that real writes (the journal's appends) need: an
 * extension that would use more than a STORE_PREFILL_FREE_SHARE-th of the space the file
 * system has free for this user (fstatvfs f_bavail) is refused with -ENOSPC, nothing
 * written; the store then works as without the prefill.
 * Any thread; blocks for the writes and the flush.
 * @return the bytes written (0 when the file already had @p want bytes or more: nothing
 *         written, no flush), or a negative errno (EBADF for a read-only @p fd, EFBIG, ENOSPC
 *         also for the rule above, EIO...). After an error the file may have grown by part of the zeros, unsynced;
 *         what was below its former size is untouched.
 */
_mustcheck_
int64_t store_prefill_fd(int fd, uint64_t want);

/**
 * The size to extend a data file of @p size bytes to, when LMDB uses its first @p used bytes
 * and the file must stay @p ahead bytes ahead of that: 0 (no extension due) while at least
 * @p ahead bytes lie beyond @p used; otherwise used + 2 x ahead, so that extensions are rare
 * and each at least @p ahead long, but never beyond @p limit (the map: zeros LMDB cannot use
 * yet are not written) and at most @p max_step bytes beyond @p size (0: no bound). Pure.
 */
static inline uint64_t store_prefill_target(uint64_t used, uint64_t size, uint64_t ahead,
					    uint64_t limit, uint64_t max_step)
{
	uint64_t want = used + 2 * ahead;

	if (ahead == 0 || size >= used + ahead || size >= limit) {
		return 0;
	}
	if (want > limit) {
		want = limit;
	}
	if (max_step != 0 && want - size > max_step) {
		want = size + max_step;
	}
	return want > size ? want : 0;
}

/** An LMDB environment's data file, as store_prefill() looks at it. */
struct store_env_file {
	uint64_t used;		/**< bytes up to the end of LMDB's last used page (its newest
				 *   meta) */
	uint64_t size;		/**< the file's size */
	uint64_t map;		/**< the map's size */
	int fd;			/**< the data file (mdb_env_get_fd(): LMDB's own) */
};

/**
 * Look at the data file of @p env (open; no transaction needed: the newest meta is read as
 * mdb_env_info() does). The caller keeps @p env open meanwhile.
 * @return 0, or an MDB code / positive errno (mdb_strerror() names both).
 */
_mustcheck_
int store_env_file(struct MDB_env *env, struct store_env_file *out);
