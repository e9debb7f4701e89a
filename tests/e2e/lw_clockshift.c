/*
 * lw_clockshift: an LD_PRELOAD module for end-to-end tests that shifts the process's wall
 * clock (CLOCK_REALTIME and its variants, gettimeofday(), time()) by an offset read from a
 * file, and leaves every other clock alone. It is what a `date -s`, a resumed VM or an NTP step
 * does to one machine, without touching the host's clock (network namespaces do not separate
 * CLOCK_REALTIME, and time namespaces shift only the monotonic clocks).
 *
 *     LD_PRELOAD=liblw_clockshift.so LW_CLOCKSHIFT_FILE=/path/offset leasewired ...
 *
 * The file holds a signed number of seconds ("+90", "-5", "0"); it is read again at most every
 * 100 ms of monotonic time, so a test moves the clock at run time by rewriting it (rename a
 * new file over it). A missing or unreadable file means no shift.
 *
 * Why not Debian's libfaketime: leasewired links jemalloc, whose initialisation calls
 * clock_gettime(); libfaketime's wrapper then initialises itself, which allocates, and it
 * aborts with "Unexpected recursive calls to clock_gettime()" (libfaketime 0.9.10, both the
 * plain and the MT library), before main(). This module never allocates and never calls
 * dlsym(): it reads the clocks with the raw system call, so it works under any allocator.
 * The raw call is slower than the vDSO (about a microsecond): fine for a test daemon.
 *
 * Test code only: built in tests/e2e, never installed, never linked into leasewired.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define RECHECK_NS 100000000LL	/* re-read the offset file at most every 100 ms */

static _Atomic int64_t shift_s;		/* seconds added to the wall clock */
static _Atomic int64_t next_check_ns;	/* monotonic time of the next re-read */

static long raw_clock(clockid_t id, struct timespec *ts)
{
	return syscall(SYS_clock_gettime, id, ts);
}

static int64_t parse(const char *p)
{
	int64_t v = 0, sign = 1;

	while (*p == ' ' || *p == '\t') {
		p++;
	}
	if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
	}
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (*p++ - '0');
	}
	return sign * v;
}

static int64_t offset(void)
{
	struct timespec now;
	int64_t t;
	const char *path;
	char buf[32];
	ssize_t n;
	int fd;

	if (raw_clock(CLOCK_MONOTONIC, &now) != 0) {
		return atomic_load(&shift_s);
	}
	t = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
	if (t < atomic_load(&next_check_ns)) {
		return atomic_load(&shift_s);
	}
	atomic_store(&next_check_ns, t + RECHECK_NS);
	path = getenv("LW_CLOCKSHIFT_FILE");
	if (path == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		atomic_store(&shift_s, 0);
		return 0;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	atomic_store(&shift_s, parse(buf));
	return atomic_load(&shift_s);
}

static int is_wall(clockid_t id)
{
	return id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE || id == CLOCK_TAI;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	if (raw_clock(id, ts) != 0) {
		return -1;
	}
	if (is_wall(id)) {
		ts->tv_sec += offset();
	}
	return 0;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;

	(void)tz;	/* glibc declares tv nonnull */
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
		return -1;
	}
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

time_t time(time_t *out)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
		return (time_t)-1;
	}
	if (out != NULL) {
		*out = ts.tv_sec;
	}
	return ts.tv_sec;
}
