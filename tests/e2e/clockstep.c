/*
 * clockstep: an LD_PRELOAD shim that steps the wall clock of one process (the chaos soak,
 * test_soak.py, runs each leasewired under it).
 *
 *   LW_CLOCKSTEP_FILE=PATH LD_PRELOAD=.../clockstep.so leasewired ...
 *
 * PATH holds a signed number of seconds as text ("+300", "-60"): CLOCK_REALTIME (and
 * CLOCK_REALTIME_COARSE, gettimeofday(), time()) of the process read the real wall clock plus
 * that offset. The file is read again at most every 5 ms of monotonic time, so a new value
 * (written by the harness with rename(), never half written) takes effect at once, as a
 * `date -s` or an NTP step would. Monotonic clocks and the TSC are left alone, as such a step
 * leaves them. A missing or unreadable file keeps the last offset (0 at first).
 *
 * Why not libfaketime (Debian's faketime), which does the same with FAKETIME_TIMESTAMP_FILE
 * and FAKETIME_NO_CACHE: leasewired is linked with jemalloc (meson option malloc), and
 * libfaketime cannot start in a jemalloc process: jemalloc's initialisation reads a clock,
 * libfaketime resolves the real clock_gettime with dlsym(), dlsym() allocates, and the
 * recursion ends with "libfaketime: Cannot recover from unexpected recursive calls to
 * clock_gettime()" and a daemon that never gets ready (libfaketime issue #130, open upstream
 * with no fix). So this shim resolves nothing and allocates nothing at run time: the real
 * clocks come from the clock_gettime system call (the vDSO would need a symbol lookup).
 *
 * Thread-safe (the cached offset is atomic; a torn cache update only re-reads the file), and
 * async-signal-safe for what it calls (open, read, close, syscall).
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define REREAD_NS 5000000LL

static _Atomic int64_t offset_s;
static _Atomic int64_t read_at_ns;	/* monotonic ns of the last file read + 1, 0: never */

static int real_clock_gettime(clockid_t clk, struct timespec *ts)
{
	return (int)syscall(SYS_clock_gettime, clk, ts);
}

static int64_t parse(const char *s, int n, int *ok)
{
	int64_t v = 0;
	int i = 0, neg = 0, digits = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t')) {
		i++;
	}
	if (i < n && (s[i] == '+' || s[i] == '-')) {
		neg = s[i] == '-';
		i++;
	}
	for (; i < n && s[i] >= '0' && s[i] <= '9' && digits < 12; i++, digits++) {
		v = v * 10 + (s[i] - '0');
	}
	*ok = digits > 0;
	return neg ? -v : v;
}

static int64_t offset(void)
{
	struct timespec mono;
	int64_t now, last, v;
	const char *path;
	char buf[32];
	int fd, n, ok;

	if (real_clock_gettime(CLOCK_MONOTONIC, &mono) != 0) {
		return atomic_load(&offset_s);
	}
	now = (int64_t)mono.tv_sec * 1000000000LL + mono.tv_nsec;
	last = atomic_load(&read_at_ns);
	if (last != 0 && now + 1 - last < REREAD_NS) {
		return atomic_load(&offset_s);
	}
	atomic_store(&read_at_ns, now + 1);
	path = getenv("LW_CLOCKSTEP_FILE");
	if (path == NULL) {
		return atomic_load(&offset_s);
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return atomic_load(&offset_s);
	}
	n = (int)read(fd, buf, sizeof(buf));
	close(fd);
	if (n > 0) {
		v = parse(buf, n, &ok);
		if (ok) {
			atomic_store(&offset_s, v);
		}
	}
	return atomic_load(&offset_s);
}

int clock_gettime(clockid_t clk, struct timespec *ts)
{
	int rc = real_clock_gettime(clk, ts);

	if (rc == 0 && (clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE)) {
		ts->tv_sec += (time_t)offset();
	}
	return rc;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;

	(void)tz;	/* (glibc declares tv nonnull) */
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
		return -1;
	}
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

time_t time(time_t *t)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
		return (time_t)-1;
	}
	if (t != NULL) {
		*t = ts.tv_sec;
	}
	return ts.tv_sec;
}
