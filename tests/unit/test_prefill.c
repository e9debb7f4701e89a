/*
 * prefill (lmdb-store/prefill.h): a file extended with written zeros from its size up to the
 * size asked, never shrunk, never written below its size; the target rule; errors (a
 * read-only descriptor, a file size limit) reported as negative errno with the data below
 * the former size untouched. The store's use of it (files kept ahead, crash and reopen, a
 * failing prefill) is in test_journal.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "child.h"
#include "prefill.h"

#define HEAD	"leasewire"
#define MIB	(1ull << 20)

struct fix {
	char path[64];
	int fd;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->path, sizeof(f->path), "/tmp/lw-prefill-XXXXXX");
	f->fd = mkstemp(f->path);
	assert_true(f->fd >= 0);
	assert_int_equal(write(f->fd, HEAD, strlen(HEAD)), (ssize_t)strlen(HEAD));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	close(f->fd);
	unlink(f->path);
	free(f);
	return 0;
}

static uint64_t file_size(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return (uint64_t)st.st_size;
}

/* The head is intact and every byte after it up to @p size is a written zero. */
static void assert_filled(int fd, uint64_t size)
{
	static uint8_t buf[1 << 16];
	uint64_t off;

	assert_true(file_size(fd) == size);
	assert_int_equal(pread(fd, buf, strlen(HEAD), 0), (ssize_t)strlen(HEAD));
	assert_memory_equal(buf, HEAD, strlen(HEAD));
	for (off = strlen(HEAD); off < size;) {
		ssize_t n = pread(fd, buf, sizeof(buf), (off_t)off);

		assert_true(n > 0);
		for (ssize_t i = 0; i < n; i++) {
			assert_int_equal(buf[i], 0);
		}
		off += (uint64_t)n;
	}
	/* Written, not a hole: the first hole is the end of the file. */
	assert_true((uint64_t)lseek(fd, 0, SEEK_HOLE) == size);
}

static void test_extend(void **state)
{
	struct fix *f = *state;
	uint64_t want = 3 * MIB + 5;

	assert_true(store_prefill_fd(f->fd, want) == (int64_t)(want - strlen(HEAD)));
	assert_filled(f->fd, want);
	/* Already long enough, or asked for less: nothing written, never shrunk. */
	assert_true(store_prefill_fd(f->fd, want) == 0);
	assert_true(store_prefill_fd(f->fd, MIB) == 0);
	assert_true(file_size(f->fd) == want);
	/* Extended from its size, not from 0: a chunk that is not 1 MiB-aligned. */
	assert_true(store_prefill_fd(f->fd, want + 4096) == 4096);
	assert_filled(f->fd, want + 4096);
}

static void test_read_only_fd(void **state)
{
	struct fix *f = *state;
	int ro = open(f->path, O_RDONLY);

	assert_true(ro >= 0);
	assert_true(store_prefill_fd(ro, MIB) == -EBADF);
	close(ro);
	assert_true(store_prefill_fd(-1, MIB) == -EBADF);
	assert_filled(f->fd, strlen(HEAD));
}

/* Zeros ahead never take more than a STORE_PREFILL_FREE_SHARE-th of the free space (the
 * journal's appends need it): refused before anything is written. In a child with a 2 MiB
 * file-size limit, so that a broken rule fails at once (EFBIG) instead of filling the disk. */
static void test_free_space_share(void **state)
{
	struct fix *f = *state;
	pid_t pid = child_fork(2 * MIB);

	assert_true(pid >= 0);
	if (pid == 0) {
		struct statvfs vfs;
		uint64_t share;

		if (fstatvfs(f->fd, &vfs) != 0) {
			_exit(2);
		}
		share = (uint64_t)vfs.f_bavail * vfs.f_frsize / STORE_PREFILL_FREE_SHARE;
		if (share < MIB) {
			_exit(3);	/* the file system must have 4 MiB free for this test */
		}
		if (store_prefill_fd(f->fd, strlen(HEAD) + share + MIB) != -ENOSPC) {
			_exit(1);
		}
		/* Within the share: written. */
		_exit(store_prefill_fd(f->fd, MIB) == (int64_t)(MIB - strlen(HEAD)) ? 0 : 4);
	}
	assert_int_equal(child_wait(pid), 0);
	assert_true(file_size(f->fd) == MIB);
	assert_filled(f->fd, MIB);
}

/* In a child (the limit is the process's): writes past RLIMIT_FSIZE fail with EFBIG. */
static void test_file_size_limit(void **state)
{
	struct fix *f = *state;
	pid_t pid = child_fork(MIB + MIB / 2);

	assert_true(pid >= 0);
	if (pid == 0) {
		_exit(store_prefill_fd(f->fd, 4 * MIB) == -EFBIG ? 0 : 1);
	}
	assert_int_equal(child_wait(pid), 0);
	/* What it wrote before the limit is zeros; the head is untouched. */
	assert_filled(f->fd, MIB + MIB / 2);
}

static void test_target(void **state)
{
	(void)state;
	/* Far enough ahead: nothing. */
	assert_true(store_prefill_target(MIB, 2 * MIB, MIB, 64 * MIB, 0) == 0);
	/* Less than ahead: to used + 2 x ahead. */
	assert_true(store_prefill_target(MIB, 2 * MIB - 1, MIB, 64 * MIB, 0) == 3 * MIB);
	/* Bounded by the map, and by the step. */
	assert_true(store_prefill_target(MIB, MIB, MIB, 2 * MIB, 0) == 2 * MIB);
	assert_true(store_prefill_target(MIB, 2 * MIB, 4 * MIB, 2 * MIB, 0) == 0);
	assert_true(store_prefill_target(MIB, MIB, 8 * MIB, 64 * MIB, 4 * MIB) == 5 * MIB);
	/* Off. */
	assert_true(store_prefill_target(MIB, 0, 0, 64 * MIB, 0) == 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_extend),
		T(test_read_only_fd),
		T(test_file_size_limit),
		T(test_free_space_share),
		cmocka_unit_test(test_target),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
