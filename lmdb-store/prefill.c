#include <errno.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <lmdb.h>

#include "prefill.h"

/* Never written: the kernel reads it from the shared zero page, it costs no memory. */
static uint8_t zeros[STORE_PREFILL_CHUNK];

int64_t store_prefill_fd(int fd, uint64_t want)
{
	struct stat st;
	struct statvfs vfs;
	uint64_t off;

	if (fstat(fd, &st) != 0) {
		return -errno;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size >= want) {
		return 0;
	}
	/* The room the journal's appends need comes first (a nearly full disk). */
	if (fstatvfs(fd, &vfs) != 0) {
		return -errno;
	}
	if ((want - (uint64_t)st.st_size) >
	    (uint64_t)vfs.f_bavail * vfs.f_frsize / STORE_PREFILL_FREE_SHARE) {
		return -ENOSPC;
	}
	for (off = (uint64_t)st.st_size; off < want;) {
		size_t len = want - off < sizeof(zeros) ? (size_t)(want - off) : sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, len, (off_t)off);

		if (w < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		if (w == 0) {
			return -EIO;
		}
		off += (uint64_t)w;
	}
	if (fdatasync(fd) != 0) {
		return -errno;
	}
	return (int64_t)(want - (uint64_t)st.st_size);
}

int store_env_file(struct MDB_env *env, struct store_env_file *out)
{
	MDB_envinfo info;
	MDB_stat st;
	struct stat fst;
	int rc;

	rc = mdb_env_info(env, &info);
	if (rc == MDB_SUCCESS) {
		rc = mdb_env_stat(env, &st);
	}
	if (rc == MDB_SUCCESS) {
		rc = mdb_env_get_fd(env, &out->fd);
	}
	if (rc != MDB_SUCCESS) {
		return rc;
	}
	if (fstat(out->fd, &fst) != 0) {
		return errno;
	}
	out->used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
	out->size = (uint64_t)fst.st_size;
	out->map = info.me_mapsize;
	return 0;
}
