/*
 * dirsync: make directory entries durable. A file's own fsync()/fdatasync() flushes its data
 * and inode, not the entry that names it: POSIX leaves that to an fsync() of the directory
 * that holds it, and until then a power cut can take back a new file or directory with all
 * that was synced into it (doc/durable-path.md, "Directory entries"). The store (its own
 * directory, LMDB's files) and the journal (its directory, its segments) both need it; it
 * lives below both so that neither takes it from the other. Private to lmdb-store: never
 * included from another folder.
 */
#pragma once

#include <stddef.h>

#include "lw_attr.h"

/**
 * fsync() the directory @p dir: the entries created, renamed or removed in it become
 * durable. Any thread; blocks for the flush (about 0.1 ms on this VM's ext4 when there is
 * little to write).
 * @return 0, or the negative errno of open() or fsync().
 */
_mustcheck_
int store_dir_sync(const char *dir);

/**
 * Write into @p out (@p outlen bytes) the directory that holds the entry of @p path:
 * "a/b" for "a/b/c", "." for a bare name, "/" for "/c". Trailing slashes of @p path are
 * not a name ("a/b/" is held by "a"). Pure.
 * @return 0, or -ENAMETOOLONG (@p out too small; it holds "" then).
 */
_mustcheck_
int store_dir_parent(const char *path, char *out, size_t outlen);
