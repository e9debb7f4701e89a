/*
 * store_bench: how fast bindings become durable, and what that costs an ACK.
 *
 *   leasewire-store-bench [DIR] [SECONDS-PER-POINT]
 *
 * DIR (default /tmp) must exist; the bench works in a directory of its own that it makes in
 * DIR (lw-store-bench.XXXXXX, mkdtemp) and removes at the end, with every file in it: it
 * never removes anything it did not create, so DIR may be any directory (a store's parent,
 * the disk to measure), and a mistyped option is a usage error, not a directory name.
 *
 * For each durability mode (strict: fsync per commit; relaxed: MDB_NOSYNC) and each batch
 * size (1, 16, 256, 4096), the bench stands in for a worker: it posts exactly one batch of
 * changes, waits until the real committer thread has made them durable, and repeats (closed
 * loop, so every transaction has that size and nothing queues). The time from post to
 * "durable" (the committer publishing the sequence) is what a parked ACK waits. Printed:
 * committed bindings/s, mean batch, that wait's p50 and p99.
 *
 *   leasewire-store-bench --cpu [DIR] [SECONDS-PER-POINT]
 *
 * The committer's CPU per change, free of scheduling: one thread posts a group of changes
 * shaped like lwbench's (100 000 clients taken in turn, each with its own address, key and
 * hardware address, as a full DORA leaves them) and runs committer_round() itself, for
 * relaxed (the binding database written directly, MDB_NOSYNC), for the journal (strict's
 * ACK path: the append plus its flush; the applier then runs on the same thread, reported
 * apart) and for "jrelaxed", the journal without its flush over a MDB_NOSYNC store (what
 * relaxed would cost if it went through the journal: not what the daemon does). Printed per
 * group size: thread CPU time per change of the round, and of the applier per change. The
 * strict journal's appends go into a spare segment written ahead (store_prefill() before
 * the point), as the daemon's do: a segment created on the ACK path and grown by each
 * append costs its flush a metadata update, and loses what O_DIRECT saves.
 *
 *   leasewire-store-bench --apply DIR [CHANGES]
 *
 * What the journal's second stage asks of the disk per change, by the size of its
 * transactions: for each apply group (256 to 65536 changes) a fresh strict store gets the
 * 100 000 lwbench clients bound (applied, not measured), then CHANGES (default 200 000) of
 * their renewals journaled in groups of 64, then applied by committer_apply_round() with
 * apply_max = the group. Printed per group: the block device's writes, KiB written and
 * flushes per 1 000 changes applied (/sys/dev/block/MAJ:MIN/stat, or its disk's for a
 * partition; the whole machine's:
 * run it on a quiet one), and wall and CPU time per change. The daemon's applier pauses
 * apply_gap_us after a partial group, so its groups are the changes journaled meanwhile.
 *
 *   leasewire-store-bench --flush DIR [COUNT] [BYTES]
 *
 * The disk's own floor under a strict ACK: COUNT (default 64) rounds of a BYTES (default
 * 8192, a journal group of ~80 changes) pwrite into a file in DIR written whole and synced
 * first (as a journal segment is), each followed by fdatasync(), one at a time. Prints one
 * line: the fdatasync latency's p50, p90, p99 and max. bench/lwbench.sh runs it around its
 * strict cases. On the 2-vCPU VM the disk has two states: a flush of ~0.1 ms, and spells
 * where nearly every flush takes 4.0 ms, whoever writes (doc/durable-path.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "byteorder.h"
#include "lease.h"
#include "committer.h"
#include "store.h"

#define MAX_SAMPLES (1u << 22)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The bench's own directory (main: mkdtemp in the DIR given) and what it holds. */
static char scratch[4096];

/* Remove one entry of a tree under nftw(FTW_DEPTH | FTW_PHYS): files first, then their
 * directory; a symlink is removed, never followed. */
static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0 && errno != ENOENT) {
		fprintf(stderr, "cannot remove %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Remove @p path and everything under it (a directory this program made). @return 0. */
static int rm_tree(const char *path)
{
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT ? -1 : 0;
}

/* atexit: a failed point exits; its directory goes with the rest. */
static void rm_scratch(void)
{
	if (scratch[0] != '\0' && rm_tree(scratch) != 0) {
		fprintf(stderr, "cannot remove %s\n", scratch);
	}
	scratch[0] = '\0';
}

/* A fresh store at @p dir (a new directory under the scratch one) and its committer;
 * exits on failure. */
static void open_fresh(const char *dir, const struct store_opts *so,
		       const struct committer_opts *co, struct store **s, struct committer **c)
{
	char err[512];

	if (mkdir(dir, 0700) != 0) {
		fprintf(stderr, "cannot make %s: %s\n", dir, strerror(errno));
		exit(1);
	}
	*s = store_open(dir, so, err, sizeof(err));
	*c = *s != NULL ? committer_new(*s, co) : NULL;
	if (*c == NULL) {
		fprintf(stderr, "store_open/committer_new: %s\n", *s == NULL ? err : "failed");
		exit(1);
	}
}

/* Close what open_fresh() opened and remove its directory. */
static void close_fresh(const char *dir, struct store *s, struct committer *c)
{
	committer_free(c);
	store_close(s);
	if (rm_tree(dir) != 0) {
		fprintf(stderr, "cannot remove %s\n", dir);
	}
}

static void run_point(const char *dir, enum store_sync sync, uint32_t batch, double secs)
{
	struct store_opts so = {.sync = sync, .map_size = 256u << 20};
	struct committer_opts co = {.n_workers = 1, .ring_size = 1u << 16, .max_batch = 65536};
	static uint64_t posted_at[MAX_SAMPLES], lat[MAX_SAMPLES];
	struct store *s;
	struct committer *c;
	uint64_t seq = 0, done = 0, n_lat = 0, t0, t_end, el_ns;

	open_fresh(dir, &so, &co, &s, &c);
	if (committer_start(c) != 0) {
		fprintf(stderr, "committer failed\n");
		exit(1);
	}
	/* Closed loop: post one batch of exactly `batch` changes, wait until the committer has
	 * made all of them durable, repeat. Each round is one transaction of that size. */
	t0 = now_ns();
	t_end = t0 + (uint64_t)(secs * 1e9);
	while (now_ns() < t_end && seq + batch < MAX_SAMPLES) {
		uint64_t target = seq + batch, t_post;

		t_post = now_ns();
		while (seq < target) {
			struct dp_change ch;

			memset(&ch, 0, sizeof(ch));
			ch.seq = seq + 1;
			ch.addr = 0xc6120000u + (uint32_t)(ch.seq % 100000);
			ch.state = BT_ACTIVE;
			ch.start = 1700000000;
			ch.ends = 1700003600;
			ch.key.type = DP_KEY_HWADDR;
			ch.key.len = 7;
			ch.key.data[0] = 1;
			memcpy(ch.key.data + 3, &ch.seq, 4);
			if (committer_ops.post(c, &ch) != 0) {
				fprintf(stderr, "ring full\n");
				exit(1);
			}
			posted_at[++seq] = t_post;
		}
		while (committer_ops.durable(c, 0) < target) {
			struct timespec ts = {0, 2000};

			nanosleep(&ts, NULL);
		}
		{
			uint64_t t = now_ns();

			for (uint64_t i = done + 1; i <= target; i++) {
				lat[n_lat++] = t - posted_at[i];
			}
			done = target;
		}
	}
	el_ns = now_ns() - t0;
	(void)committer_stop(c, 10000);
	{
		const struct committer_stats *st = committer_stats(c);
		double el = (double)el_ns / 1e9;
		uint64_t b = atomic_load(&st->batches), n = atomic_load(&st->changes);

		qsort(lat, n_lat, sizeof(*lat), cmp_u64);
		printf("%-8s batch<=%-5u %10.0f bindings/s  mean batch %7.1f  ACK wait p50 %8.3f ms"
		       "  p99 %8.3f ms  (%llu commits)\n",
		       sync == STORE_SYNC_STRICT ? "strict" : "relaxed", batch, (double)n / el,
		       b ? (double)n / (double)b : 0.0,
		       /* NOLINTNEXTLINE(bugprone-integer-division): the divisions are indexes */
		       n_lat ? (double)lat[n_lat / 2] / 1e6 : 0.0,
		       /* NOLINTNEXTLINE(bugprone-integer-division): as above */
		       n_lat ? (double)lat[n_lat * 99 / 100] / 1e6 : 0.0, (unsigned long long)b);
	}
	close_fresh(dir, s, c);
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#define CPU_CLIENTS 100000u

/* Client @p i's change as a worker posts it for a DORA's ACK (lwbench's population). */
static void dora_change(struct dp_change *ch, uint64_t seq, uint32_t i)
{
	memset(ch, 0, sizeof(*ch));
	ch->seq = seq;
	ch->addr = 0xc6120100u + i;
	ch->state = BT_ACTIVE;
	ch->start = 1700000000 + seq / 100000;
	ch->ends = ch->start + 3600;
	ch->key.type = DP_KEY_HWADDR;
	ch->key.len = 7;
	ch->key.data[0] = 1;
	ch->key.data[1] = 0x02;
	ch->key.data[2] = 0x42;
	lw_put32(ch->key.data + 3, i);
	ch->hw_len = 7;
	memcpy(ch->hw, ch->key.data, 7);
}

/* Post @p n DORA changes of the next clients in turn (lwbench's population); exits when
 * the ring is full. */
static void post_doras(struct committer *c, uint64_t *seq, uint32_t *next, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++) {
		struct dp_change ch;

		dora_change(&ch, ++*seq, *next);
		*next = *next + 1 == CPU_CLIENTS ? 0 : *next + 1;
		if (committer_ops.post(c, &ch) != 0) {
			fprintf(stderr, "ring full\n");
			exit(1);
		}
	}
}

/* One point of --cpu: the committer's ACK path at groups of @p group, the binding database
 * written directly (!journal, relaxed) or through the journal (@p sync says whether its
 * appends flush), and the applier's share in journal mode. */
static void cpu_point(const char *dir, bool journal, enum store_sync sync, uint32_t group,
		      double secs)
{
	bool spare = journal && sync == STORE_SYNC_STRICT;
	struct store_opts so = {.sync = sync, .map_size = 256u << 20, .journal = journal,
				.prefill_ahead = spare ? 8u << 20 : 0};
	struct committer_opts co = {.n_workers = 1, .ring_size = 1u << 16, .max_batch = 65536,
				    .journal = journal, .apply_max = 65536};
	uint64_t seq = 0, c_ns = 0, a_ns = 0, n_c = 0, n_a = 0, t_end, groups = 0;
	uint32_t next = 0;
	struct committer *c;
	struct store *s;

	open_fresh(dir, &so, &co, &s, &c);
	if (spare && store_prefill(s, 0) < 0) {
		fprintf(stderr, "store_prefill: %s\n", store_prefill_errmsg(s));
		exit(1);
	}
	t_end = now_ns() + (uint64_t)(secs * 1e9);
	while (now_ns() < t_end) {
		uint64_t t;
		int rc;
		long na;

		post_doras(c, &seq, &next, group);
		t = cpu_ns();
		rc = committer_round(c);
		if (journal && sync == STORE_SYNC_STRICT && rc > 0) {
			rc = committer_round(c) < 0 ? -1 : rc;	/* the flush: durable now */
		}
		c_ns += cpu_ns() - t;
		if (rc != (int)group) {
			fprintf(stderr, "committer_round: %d\n", rc);
			exit(1);
		}
		n_c += group;
		/* The applier's share, in groups as large as the daemon's (it pauses for them). */
		if (journal && (++groups % 64 == 0 || now_ns() >= t_end)) {
			t = cpu_ns();
			while ((na = committer_apply_round(c)) > 0) {
				n_a += (uint64_t)na;
			}
			a_ns += cpu_ns() - t;
		}
	}
	printf("%-8s group %5u  %8.0f ns CPU per change on the ACK path",
	       !journal ? "relaxed" : sync == STORE_SYNC_STRICT ? "journal" : "jrelaxed", group,
	       n_c ? (double)c_ns / (double)n_c : 0.0);
	if (journal) {
		printf(", %6.0f ns applier", n_a ? (double)a_ns / (double)n_a : 0.0);
	}
	printf("  (%llu changes)\n", (unsigned long long)n_c);
	(void)committer_stop(c, 10000);
	close_fresh(dir, s, c);
}

/* The block device's I/O counters (Documentation/block/stat.rst): fields 5 (writes), 7
 * (sectors written) and 16 (flushes) of /sys/dev/block/MAJ:MIN/stat. */
struct disk_io {
	uint64_t writes, sectors, flushes;
};

static int disk_io_read(const char *statpath, struct disk_io *d)
{
	uint64_t f[17] = {0};
	FILE *fp = fopen(statpath, "r");
	int n = 0;

	if (fp == NULL) {
		return -1;
	}
	while (n < 17 && fscanf(fp, "%" SCNu64, &f[n]) == 1) {
		n++;
	}
	fclose(fp);
	if (n < 17) {
		return -1;
	}
	d->writes = f[4];
	d->sectors = f[6];
	d->flushes = f[15];
	return 0;
}

static void apply_point(const char *dir, const char *statpath, uint32_t group, uint32_t changes)
{
	struct store_opts so = {.sync = STORE_SYNC_STRICT, .map_size = 256u << 20,
				.journal = true};
	struct committer_opts co = {.n_workers = 1, .ring_size = 1u << 16, .max_batch = 65536,
				    .journal = true, .apply_max = group};
	struct disk_io d0, d1;
	uint64_t seq = 0, n_a = 0, t0, c0, wall, cpu;
	uint32_t next = 0;
	struct committer *c;
	struct store *s;
	long na;

	open_fresh(dir, &so, &co, &s, &c);
	/* Bind every client, then journal the renewals; both through the committer. */
	for (int phase = 0; phase < 2; phase++) {
		uint64_t total = phase == 0 ? CPU_CLIENTS : changes;

		for (uint64_t done = 0; done < total;) {
			uint32_t k = total - done < 64 ? (uint32_t)(total - done) : 64;

			post_doras(c, &seq, &next, k);
			done += k;
			if (committer_round(c) != (int)k) {
				fprintf(stderr, "committer_round failed\n");
				exit(1);
			}
		}
		if (phase == 0) {
			while (committer_apply_round(c) > 0) {
			}
		}
	}
	/* Spares and data file extensions written now, not during the measured applies. */
	for (int i = 0; i < 8 && store_prefill(s, STORE_PREFILL_STEP) > 0; i++) {
	}
	if (disk_io_read(statpath, &d0) != 0) {
		fprintf(stderr, "cannot read %s\n", statpath);
		exit(1);
	}
	t0 = now_ns();
	c0 = cpu_ns();
	while (store_journal_lag(s) > 0 && (na = committer_apply_round(c)) > 0) {
		n_a += (uint64_t)na;
	}
	cpu = cpu_ns() - c0;
	wall = now_ns() - t0;
	if (disk_io_read(statpath, &d1) != 0 || n_a == 0) {
		fprintf(stderr, "apply or %s failed\n", statpath);
		exit(1);
	}
	printf("apply group %6u: per 1000 changes %7.1f writes, %8.1f KiB, %6.2f flushes; "
	       "%6.0f ns wall, %5.0f ns CPU per change (%" PRIu64 " changes)\n", group,
	       1000.0 * (double)(d1.writes - d0.writes) / (double)n_a,
	       1000.0 * (double)(d1.sectors - d0.sectors) / 2.0 / (double)n_a,
	       1000.0 * (double)(d1.flushes - d0.flushes) / (double)n_a,
	       (double)wall / (double)n_a, (double)cpu / (double)n_a, n_a);
	(void)committer_stop(c, 10000);
	close_fresh(dir, s, c);
}

/* --apply: see the top comment; @p dir is the bench's own directory. @return the exit
 * status. */
static int apply_bench(const char *dir, const char *store_dir, uint32_t changes)
{
	static const uint32_t groups[] = {256, 1024, 4096, 16384, 65536};
	char statpath[128];
	struct stat st;

	if (stat(dir, &st) != 0) {
		fprintf(stderr, "--apply: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	/* A partition's stat counts no flushes (the kernel accounts them on the whole disk):
	 * read its disk's, the directory above it in sysfs. */
	snprintf(statpath, sizeof(statpath), "/sys/dev/block/%u:%u/partition", major(st.st_dev),
		 minor(st.st_dev));
	snprintf(statpath, sizeof(statpath), "/sys/dev/block/%u:%u/%sstat", major(st.st_dev),
		 minor(st.st_dev), access(statpath, F_OK) == 0 ? "../" : "");
	printf("leasewire store benchmark: the applier's disk I/O per change, LMDB in %s (%s), "
	       "%u clients, %u renewals\n", dir, statpath, CPU_CLIENTS, changes);
	for (unsigned i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		apply_point(store_dir, statpath, groups[i], changes);
	}
	return 0;
}

#define FLUSH_FILE	(4u << 20)	/* the probe's file: written whole, then synced */

/* --flush: see the top comment. @return the exit status. */
static int flush_probe(const char *dir, unsigned count, size_t bytes)
{
	static uint8_t buf[1u << 20];
	uint64_t *lat;
	char path[4096];
	uint64_t off = 0, c0, c_ns;
	int fd, ret = 1;

	if (count == 0 || bytes == 0 || bytes > sizeof(buf)) {
		fprintf(stderr, "--flush: COUNT must be > 0 and BYTES 1-%zu\n", sizeof(buf));
		return 2;
	}
	lat = calloc(count, sizeof(*lat));
	snprintf(path, sizeof(path), "%s/flush-probe.XXXXXX", dir);
	fd = lat != NULL ? mkstemp(path) : -1;
	if (fd < 0) {
		fprintf(stderr, "--flush: cannot create a file in %s: %s\n", dir, strerror(errno));
		free(lat);
		return 1;
	}
	memset(buf, 0xa5, sizeof(buf));
	for (uint64_t o = 0; o < FLUSH_FILE; o += sizeof(buf)) {
		if (pwrite(fd, buf, sizeof(buf), (off_t)o) != (ssize_t)sizeof(buf)) {
			goto out;
		}
	}
	if (fsync(fd) != 0) {
		goto out;
	}
	c0 = cpu_ns();
	for (unsigned i = 0; i < count; i++) {
		uint64_t t0 = now_ns();

		if (off + bytes > FLUSH_FILE) {
			off = 0;
		}
		if (pwrite(fd, buf, bytes, (off_t)off) != (ssize_t)bytes || fdatasync(fd) != 0) {
			goto out;
		}
		lat[i] = now_ns() - t0;
		off += (bytes + 4095) & ~(uint64_t)4095;
	}
	c_ns = cpu_ns() - c0;
	qsort(lat, count, sizeof(*lat), cmp_u64);
	{
		unsigned i50 = count / 2, i90 = count * 9 / 10, i99 = count * 99 / 100;

		printf("fdatasync after a %zu-byte pwrite, %u in a row: p50 %.0f us, p90 %.0f us, "
		       "p99 %.0f us, max %.0f us; %.1f us CPU a round\n", bytes, count,
		       (double)lat[i50] / 1e3, (double)lat[i90] / 1e3, (double)lat[i99] / 1e3,
		       (double)lat[count - 1] / 1e3, (double)c_ns / 1e3 / count);
	}
	ret = 0;
out:
	if (ret != 0) {
		fprintf(stderr, "--flush: %s: %s\n", path, strerror(errno));
	}
	close(fd);
	unlink(path);
	free(lat);
	return ret;
}

static void usage(FILE *to, const char *prog)
{
	fprintf(to, "usage: %s [DIR] [SECONDS-PER-POINT]\n"
		"       %s --cpu [DIR] [SECONDS-PER-POINT]\n"
		"       %s --apply DIR [CHANGES]\n"
		"       %s --flush DIR [COUNT] [BYTES]\n"
		"DIR (default /tmp) must exist: the bench works in a directory of its own made in\n"
		"it and removed at the end (--flush: one file). See the top of bench/store_bench.c.\n",
		prog, prog, prog, prog);
}

/* A positive number from @p arg, or 0 when it is not one (a usage error). */
static double positive(const char *arg)
{
	char *end;
	double v = strtod(arg, &end);

	return end != arg && *end == '\0' && v > 0 ? v : 0;
}

int main(int argc, char **argv)
{
	static const uint32_t batches[] = {1, 16, 256, 4096};
	static const uint32_t groups[] = {16, 64, 224, 1024};
	const char *mode = argc > 1 && argv[1][0] == '-' ? argv[1] : "";
	int first = mode[0] != '\0' ? 2 : 1, nargs = argc - first, ret = 0;
	const char *dir = nargs > 0 ? argv[first] : "/tmp";
	double secs = 2.0, n2 = 0, n3 = 0;
	char store_dir[4200];

	if (strcmp(mode, "--help") == 0 || strcmp(mode, "-h") == 0) {
		usage(stdout, argv[0]);
		return 0;
	}
	/* Every numeric argument is checked before anything is made or measured. */
	if (nargs > 1) {
		n2 = positive(argv[first + 1]);
	}
	if (nargs > 2) {
		n3 = positive(argv[first + 2]);
	}
	if ((mode[0] != '\0' && strcmp(mode, "--cpu") != 0 && strcmp(mode, "--apply") != 0 &&
	     strcmp(mode, "--flush") != 0) ||
	    ((strcmp(mode, "--apply") == 0 || strcmp(mode, "--flush") == 0) && nargs < 1) ||
	    nargs > (strcmp(mode, "--flush") == 0 ? 3 : 2) || (nargs > 1 && n2 == 0) ||
	    (nargs > 2 && n3 == 0) || dir[0] == '-') {
		usage(stderr, argv[0]);
		return 2;
	}
	if (strcmp(mode, "--flush") == 0) {
		return flush_probe(dir, nargs > 1 ? (unsigned)n2 : 64, nargs > 2 ? (size_t)n3 : 8192);
	}
	snprintf(scratch, sizeof(scratch), "%s/lw-store-bench.XXXXXX", dir);
	if (mkdtemp(scratch) == NULL) {
		fprintf(stderr, "cannot make a directory in %s: %s\n", dir, strerror(errno));
		return 1;
	}
	atexit(rm_scratch);
	snprintf(store_dir, sizeof(store_dir), "%s/store", scratch);
	if (nargs > 1 && strcmp(mode, "--apply") != 0) {
		secs = n2;
	}
	if (strcmp(mode, "--apply") == 0) {
		ret = apply_bench(scratch, store_dir, nargs > 1 ? (uint32_t)n2 : 200000);
	} else if (strcmp(mode, "--cpu") == 0) {
		printf("leasewire store benchmark: committer CPU per change, LMDB in %s, %.2f s "
		       "per point, %u clients\n", scratch, secs, CPU_CLIENTS);
		for (int m = 0; m < 3; m++) {
			for (unsigned i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
				cpu_point(store_dir, m > 0, m == 1 ? STORE_SYNC_STRICT :
					  STORE_SYNC_RELAXED, groups[i], secs);
			}
		}
	} else {
		printf("leasewire store benchmark: LMDB in %s, %.2f s per point, 1 producer\n",
		       scratch, secs);
		for (int m = 0; m < 2; m++) {
			for (unsigned i = 0; i < sizeof(batches) / sizeof(batches[0]); i++) {
				run_point(store_dir, m == 0 ? STORE_SYNC_STRICT : STORE_SYNC_RELAXED,
					  batches[i], secs);
			}
		}
	}
	rm_scratch();
	return ret;
}
