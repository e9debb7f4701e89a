/*
 * journal: an append-only file of checksummed records (see journal.h for the contract).
 *
 * Why files and not LMDB (the journal of the previous binaries, journal_mdb.c): an LMDB
 * commit is durable only once its meta page is, and the meta page can be made safe only by
 * a second flush (after the data pages: LMDB relies on that order), or, with MDB_NOMETASYNC,
 * by the NEXT commit's flush; an ACK then waited for about two flushes. A record with its
 * own checksum and sequence number needs no meta page: the recovery scan finds the end of
 * the log by reading records until one does not check. So one pwrite and one fdatasync make
 * a group durable, and an ACK waits for the gathering of its group plus one flush.
 *
 * Layout. A segment file "<dir>/NNNNNNNNNNNNNNNN.wal" (the file number, hex):
 *
 *   offset  size  segment header (SEG_HDR_LEN)
 *        0  u32   magic "LWJ1" (0x4c574a31)
 *        4  u32   format version (1)
 *        8  u64   file number (as in the name: a recycled file's old header does not match)
 *       16  u64   first sequence number in the segment
 *       24  u32   zero
 *       28  u32   CRC-32C of bytes 0..27
 *
 *   then records, one after the other (REC_HDR_LEN + length bytes each):
 *        0  u32   CRC-32C of bytes 4 .. 16 + length
 *        4  u32   length of the entry (1 .. JOURNAL_ENTRY_MAX_LEN)
 *        8  u64   sequence number (the previous record's + 1; the header's first for the
 *                 first record)
 *       16  ...   the entry (journal_entry_encode(), below)
 *
 * All integers big endian (byteorder.h). The header is written with the segment's first
 * group, in the same pwrite: a segment whose header does not check holds nothing.
 *
 * A spare written by journal_prefill() carries, until the appender takes it, a spare mark
 * where the header goes (SPARE_MARK_LEN, written over by the first group's header):
 *
 *        0  u32   magic "LWJS" (0x4c574a53)
 *        4  u32   format version (1)
 *        8  u64   file number (as in the name)
 *       16  u64   the file's size (the segment size it was written for)
 *       24  u32   zero
 *       28  u32   CRC-32C of bytes 0..27
 *
 * and zeros everywhere else.
 *
 * Why a group is durable when its fdatasync returns: the segment's blocks were written
 * (zeros) and synced, its directory entry synced, before the appender took it (a spare
 * from journal_prefill(), or a file created on the ACK path followed by a directory sync);
 * the fdatasync of a write inside the file's size flushes the data, and the data of a write
 * past it together with the size. A crash during a pwrite or before its fdatasync leaves
 * any prefix of the group's bytes (in any order of sectors): the scan stops at the first
 * record that does not check (CRC-32C over length, sequence and entry, and the sequence
 * must follow), so what it keeps is exactly a prefix of records, never a record of the torn
 * group after a missing one. Bytes past the end are zeros (a new file), or records of an
 * older segment (a recycled file), whose sequences are all below the segment's first and so
 * never follow; a zeroed record header does not check (the CRC of zeros is not zero).
 *
 * A failed pwrite or fdatasync: the group is not durable; the call fails and its sequence
 * numbers are reused by the next append. After a failed fdatasync Linux may have dropped
 * the dirty pages and cleared the error ("fsyncgate"): what the file holds past the last
 * good flush is unknown, and a later fdatasync could succeed without writing them. So the
 * appender never trusts that tail again: the segment is closed for appends and the next
 * group goes to a new segment whose first sequence is the failed group's. At the scan such a
 * later segment wins from its first sequence on, over whatever the old segment's tail holds
 * (those records were never acknowledged). If no later append succeeded before a crash, an
 * old tail that reached the disk anyway is replayed: changes the server made and could not
 * acknowledge, as after a crash between a flush and the ACK; never a change twice, never one
 * missing that was acknowledged.
 *
 * After journal_open() the appender starts a new segment too: the tail of the last segment
 * may hold a torn group, and appending after it would let stale bytes further on pass for
 * records after a later crash (a torn record of ours could end where a stale valid one
 * begins).
 *
 * Direct appends (sync mode). A buffered pwrite and its fdatasync cost ~70 us of CPU on a
 * VM, most of it the page cache's dirtying and write-back; the same write with O_DIRECT
 * ~45 us (doc/durable-path.md, last section). So the appender writes through a second
 * descriptor of the segment, opened O_DIRECT when it takes the segment (closed when it
 * leaves it); readers, the scan, prefill and the mark keep the buffered one (the kernel
 * drops cached pages a direct write covers, so a reader's pread sees the new bytes). An
 * O_DIRECT write is of whole blocks (DIO_ALIGN) from an aligned buffer, so an append writes
 * from the start of the block that holds the segment's end: that block's bytes up to the end
 * as they were written (j->tail, the appender's copy), the group's records, zeros to the
 * next block boundary; the header first when it is the segment's first group (offset 0).
 * A crash in that write keeps any subset of its sectors: the earlier bytes are the same in
 * the old and the new sectors, so what was durable stays; of the group, a prefix of records
 * checks, as above. The zeros past the end cover what lay there (zeros, or in a recycled
 * file an older life's records, whose sequences are below the segment's first): a zeroed
 * record header does not check, and what lies past the padding is as before, never
 * following. The next append rewrites that block, its zeros included, identically up to the
 * end. The padding may grow a file past the segment size by less than a block (a group
 * larger than the rest of a segment, a segment size that is not a multiple of DIO_ALIGN);
 * s->size follows, so bytes_locked() and recycling see the file as it is. A failed write or
 * flush abandons the segment as above (j->tail is not trusted either: it is never used for
 * another segment). A file system that refuses O_DIRECT at the open (or any failure of
 * that open: the buffered descriptor still works) leaves that segment buffered, and one
 * that refuses a direct write with EINVAL (an alignment it wants larger) gets the same
 * bytes buffered at once and the segment stays buffered; both are counted
 * (journal_direct_fallbacks()), and the next segment tries again. The relaxed mode stays
 * buffered: without a flush its pwrite only dirties pages, which O_DIRECT would make a
 * device write.
 *
 * Threads (journal.h). The appender owns j->cur and its write offset; readers pread below
 * the published end of a segment, which the appender moves under idx_lock after the flush.
 * Trim and prefill run on another thread (the applier) and take read_lock, so that no
 * reader preads a descriptor they close. The appender never takes read_lock, and holds
 * idx_lock only for a few stores: a reader or the applier never makes an ACK wait.
 *
 * Trim and recycling. A segment whose every sequence is at or below the store's applied
 * mark is no longer needed (the bindings hold its changes durably). It is renamed to a new
 * file number and becomes a spare (its blocks are written already, so it costs no zeros:
 * in steady state no zeros are written at all), or deleted when SPARES_MAX are ready. The rename is followed by a directory sync before
 * the appender may use the file: otherwise a crash could bring the file back under its old
 * name with new records and the old name's header... which would not check and lose them.
 * A deletion needs no sync when the segment's whole content is known (written by this
 * process, never failed): one that comes back after a crash holds only applied sequences,
 * which the store skips. A segment whose tail is unknown (a failed write or flush left it,
 * or it was found at open: a torn group may lie past its last valid record) is never
 * recycled, and its deletion is followed by a directory sync: that tail may hold records
 * with sequence numbers that were reused since, which must not come back once the later
 * segment that overrode them is gone. By induction a recycled file holds only records of
 * its current life and older ones, whose sequences are all below its first.
 *
 * Spares across a restart. A spare the last run wrote and never used is taken again
 * instead of writing 16 MiB anew, when it is provably one: the spare mark is pwritten only
 * after the zeros' fdatasync returned (and is synced itself), so a file that shows the mark
 * had every block written and flushed (a prefill torn by a crash never got one, nor one
 * with a write or flush that failed, even when a retry found nothing left to write). And it must hold nothing but the mark and zeros: an appender that took
 * it writes its header over the mark in the same pwrite as its first records, and a crash
 * may keep any of those sectors and lose the header's; such records (never acknowledged)
 * carry sequence numbers the next run reuses, so a later scan could take them for records
 * that follow. So at open a header-less file of exactly the segment size whose mark checks
 * (the newest such, above every segment that holds records) is only a candidate; the
 * applier's next journal_prefill() reads it whole (a read instead of a write and a flush)
 * and syncs the directory (its name may not have been) before it becomes the spare, and
 * deletes it when one byte is not as written. A recycled spare (old records, no mark) is
 * not taken again: only a read of every record could tell its old records from a torn
 * group's, so it is deleted at open as before.
 *
 * An entry (the record's payload). Version 3 is written; versions 2 and 1 (an LMDB journal
 * written by an older binary, journal_mdb.c) are still read, what they lack read as 0 or
 * empty:
 *
 *   offset  size  field                                          versions
 *        0  u8    entry version (1..3)                           all
 *        1  u8    flags (DP_CHANGE_*)                            all
 *        2  u32   address                                        all
 *        6  u8    state (enum bt_state)                          all
 *        7  u64   start                                          all
 *       15  u64   ends                                           all
 *       23  u8    key type                                       all
 *       24  u8    key length (<= DP_KEY_MAX)                     all
 *       25  u8    hw length (<= DP_HW_MAX)                       all
 *       26  ...   key bytes, then hw bytes                       all
 *      ...  ...   what the binding remembers of its client, in   2, 3
 *                 the store's encoding (info_codec.h
 *                 store_info_put(): four lengths, then host,
 *                 vendor, circuit and policy bytes)
 *      ...  u32   PET (dp_change.pet; 0: none)                   3
 *
 * and the entry ends exactly there (version 1 after the hw bytes). The worker and its
 * sequence number are not kept: they mean nothing after a restart.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "byteorder.h"
#include "crc32c.h"
#include "dirsync.h"
#include "info_codec.h"
#include "journal.h"
#include "prefill.h"
#include "store.h"

#define DEFAULT_MAX_BYTES	(4ull << 30)
#define ENTRY_V1		1
#define ENTRY_V2		2
#define ENTRY_V3		3
#define ENTRY_HDR_LEN		26	/* every version's */
#define ENTRY_PET_LEN		4	/* version 3 */
#define SEG_MAGIC		0x4c574a31u	/* "LWJ1" */
#define SEG_VERSION		1u
#define SEG_HDR_LEN		32
#define REC_HDR_LEN		16
#define REC_MAX_LEN		(REC_HDR_LEN + JOURNAL_ENTRY_MAX_LEN)
#define READ_CHUNK		(256u << 10)
#define SEG_SUFFIX		".wal"
#define ERRMSG_LEN		512
#define SPARES_MAX		2	/* spare segments kept ready, recycled or written */
#define SPARE_MAGIC		0x4c574a53u	/* "LWJS" */
#define SPARE_VERSION		1u
#define SPARE_MARK_LEN		32
#define DIO_ALIGN		4096u	/* O_DIRECT: offsets, lengths and buffer addresses */

_Static_assert(SPARE_MARK_LEN <= SEG_HDR_LEN, "the first group's header covers the mark");

_Static_assert(JOURNAL_ENTRY_MAX_LEN == ENTRY_HDR_LEN + DP_KEY_MAX + DP_HW_MAX +
	       STORE_INFO_MAX_LEN + ENTRY_PET_LEN, "journal.h's bound is the layout's");

struct seg {
	uint64_t fileno;
	uint64_t first;		/* the first sequence it holds (or will) */
	uint64_t last;		/* the newest durable one; first - 1 while empty */
	uint64_t end;		/* bytes of header and durable records */
	uint64_t size;		/* the file's size */
	int fd;			/* buffered: readers, the scan, prefill, the mark */
	int dfd;		/* O_DIRECT, the appender's while it is current (strict
				 * mode); -1: appends go through fd */
	bool unsynced;		/* no-sync mode: appended to since the last journal_sync()
				 * (the appender's, under idx_lock) */
	bool dead;		/* its tail is not known to be ours (a write or flush failed in
				 * it, or it was found at open): never appended to or recycled,
				 * and its deletion is synced (journal.c, "Trim") */
	bool unmarked;		/* a spare being prefilled whose zeros' write or flush failed:
				 * never given the spare mark (journal.c, "Spares across a
				 * restart") */
};

struct journal {
	char *dir;
	int dirfd;
	bool sync;
	uint64_t max_bytes;
	uint64_t seg_size;

	/* idx_lock: the segments (by file number, which is also by sequence) and the spares.
	 * A segment's last and end are written by the appender under it. */
	pthread_mutex_t idx_lock;
	struct seg **segs;
	size_t nseg, segcap;
	struct seg *spares[SPARES_MAX];	/* ready for the appender (written, synced), by
					 * file number */
	size_t nspare;
	uint64_t next_fileno;	/* never reused */
	uint64_t top_fileno;	/* the highest file number in segs */

	/* the appender's own */
	struct seg *cur;	/* in segs; NULL: the next append takes a new segment */
	bool dir_unsynced;	/* no-sync mode: a segment was created since the last
				 * journal_sync() */
	uint8_t *wbuf;		/* DIO_ALIGN-aligned */
	size_t wcap;
	uint8_t tail[DIO_ALIGN];	/* cur's bytes from its last DIO_ALIGN boundary to its
					 * end, as written (cur->dfd >= 0 and cur->end > 0) */

	/* read_lock: readers, trim and prefill; the cursor and the read buffer */
	pthread_mutex_t read_lock;
	struct seg *rc_seg;	/* the cursor: the next record of rc_seg after rc_seq - 1 */
	uint64_t rc_seq, rc_off;
	uint8_t *rbuf;		/* READ_CHUNK + REC_MAX_LEN */
	struct seg *prep;	/* the spare being written by journal_prefill() */
	struct seg *found;	/* a spare of the last run (journal_open()), not yet checked
				 * whole: journal_prefill() takes it or deletes it */

	_Atomic uint64_t last;		/* newest durable sequence (or raised) */
	_Atomic uint64_t reopens;	/* journal_reopens() */
	_Atomic uint64_t path_creates;	/* journal_path_creates() */
	_Atomic uint64_t direct_appends;	/* journal_direct_appends() */
	_Atomic uint64_t direct_fallbacks;	/* journal_direct_fallbacks() */
	_Atomic int phase;		/* enum journal_phase: the appender's step */
	_Atomic unsigned delay_ms;	/* journal_inject_delay() */
	_Atomic int fault_phase;	/* journal_inject_fault() */
	_Atomic int fault_err;
	pthread_mutex_t err_lock;	/* errmsg: the appender and readers both set it */
	char errmsg[ERRMSG_LEN];
};

/* --- entries ---------------------------------------------------------------------------- */

size_t journal_entry_encode(const struct dp_change *c, uint8_t *buf)
{
	size_t off;

	buf[0] = ENTRY_V3;
	buf[1] = c->flags;
	lw_put32(buf + 2, c->addr);
	buf[6] = c->state;
	lw_put64(buf + 7, c->start);
	lw_put64(buf + 15, c->ends);
	buf[23] = c->key.type;
	buf[24] = c->key.len;
	buf[25] = c->hw_len;
	memcpy(buf + ENTRY_HDR_LEN, c->key.data, c->key.len);
	memcpy(buf + ENTRY_HDR_LEN + c->key.len, c->hw, c->hw_len);
	off = ENTRY_HDR_LEN + (size_t)c->key.len + c->hw_len;
	off += store_info_put(&c->info, buf + off);
	lw_put32(buf + off, c->pet);
	return off + ENTRY_PET_LEN;
}

bool journal_entry_decode(const uint8_t *p, size_t size, struct dp_change *c)
{
	size_t end;

	if (size < ENTRY_HDR_LEN || p[0] < ENTRY_V1 || p[0] > ENTRY_V3 ||
	    p[24] > DP_KEY_MAX || p[25] > DP_HW_MAX) {
		return false;
	}
	end = ENTRY_HDR_LEN + (size_t)p[24] + p[25];
	memset(c, 0, sizeof(*c));
	if (p[0] == ENTRY_V3) {
		if (size < end + ENTRY_PET_LEN) {
			return false;
		}
		size -= ENTRY_PET_LEN;
		c->pet = lw_get32(p + size);
	}
	if (p[0] == ENTRY_V1 ? size != end :
	    size < end || !store_info_get(p + end, size - end, &c->info)) {
		return false;
	}
	c->flags = p[1];
	c->addr = lw_get32(p + 2);
	c->state = p[6];
	c->start = lw_get64(p + 7);
	c->ends = lw_get64(p + 15);
	c->key.type = p[23];
	c->key.len = p[24];
	c->hw_len = p[25];
	memcpy(c->key.data, p + ENTRY_HDR_LEN, c->key.len);
	memcpy(c->hw, p + ENTRY_HDR_LEN + c->key.len, c->hw_len);
	return true;
}

/* --- small helpers ---------------------------------------------------------------------- */

_printf_(3, 4)
static int fail(struct journal *j, int ret, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&j->err_lock);
	snprintf(j->errmsg, sizeof(j->errmsg), "%s: %s: %s", j->dir, what, store_strerror(ret));
	pthread_mutex_unlock(&j->err_lock);
	return ret;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void seg_name(uint64_t fileno, char *name, size_t len)
{
	snprintf(name, len, "%016" PRIx64 SEG_SUFFIX, fileno);
}

/* @return the file number of a segment's name, or false when @p name is not one. */
static bool seg_parse(const char *name, uint64_t *fileno)
{
	char *end;

	if (strlen(name) != 16 + strlen(SEG_SUFFIX) || strcmp(name + 16, SEG_SUFFIX) != 0) {
		return false;
	}
	errno = 0;
	*fileno = strtoull(name, &end, 16);
	return errno == 0 && end == name + 16;
}

static void seg_free(struct seg *s)
{
	if (s != NULL) {
		if (s->fd >= 0) {
			close(s->fd);
		}
		if (s->dfd >= 0) {
			close(s->dfd);
		}
		free(s);
	}
}

/* Close and delete segment @p s. @return 0 or a negative errno. */
static int seg_unlink(struct journal *j, struct seg *s)
{
	char name[32];
	int ret = 0;

	seg_name(s->fileno, name, sizeof(name));
	if (unlinkat(j->dirfd, name, 0) != 0 && errno != ENOENT) {
		ret = -errno;
	}
	seg_free(s);
	return ret;
}

static void hdr_encode(const struct seg *s, uint8_t *h)
{
	lw_put32(h, SEG_MAGIC);
	lw_put32(h + 4, SEG_VERSION);
	lw_put64(h + 8, s->fileno);
	lw_put64(h + 16, s->first);
	lw_put32(h + 24, 0);
	lw_put32(h + 28, store_crc32c(0, h, 28));
}

static bool hdr_check(const uint8_t *h, uint64_t fileno, uint64_t *first)
{
	if (lw_get32(h) != SEG_MAGIC || lw_get32(h + 4) != SEG_VERSION ||
	    lw_get64(h + 8) != fileno || lw_get32(h + 28) != store_crc32c(0, h, 28)) {
		return false;
	}
	*first = lw_get64(h + 16);
	return *first > 0;
}

static void mark_encode(uint64_t fileno, uint64_t size, uint8_t *m)
{
	lw_put32(m, SPARE_MAGIC);
	lw_put32(m + 4, SPARE_VERSION);
	lw_put64(m + 8, fileno);
	lw_put64(m + 16, size);
	lw_put32(m + 24, 0);
	lw_put32(m + 28, store_crc32c(0, m, 28));
}

/* Does file @p s (header-less) begin with the spare mark of its name, for the segment size
 * it has? Reads the mark only (journal.c, "Spares across a restart"). */
static bool mark_check(const struct journal *j, const struct seg *s)
{
	uint8_t m[SPARE_MARK_LEN], want[SPARE_MARK_LEN];

	if (s->size != j->seg_size ||
	    pread(s->fd, m, sizeof(m), 0) != (ssize_t)sizeof(m)) {
		return false;
	}
	mark_encode(s->fileno, j->seg_size, want);
	return memcmp(m, want, sizeof(m)) == 0;
}

/* Is spare @p s, from the last run, exactly as journal_prefill() left it: the segment size,
 * its mark, zeros everywhere else? Reads it whole through j->rbuf (read_lock held).
 * @return 1, 0 (not: delete it), or a negative errno. */
static int spare_check(struct journal *j, struct seg *s)
{
	uint8_t want[SPARE_MARK_LEN];
	struct stat st;
	uint64_t off = 0;

	if (fstat(s->fd, &st) != 0) {
		return -errno;
	}
	if ((uint64_t)st.st_size != j->seg_size) {
		return 0;
	}
	mark_encode(s->fileno, j->seg_size, want);
	while (off < j->seg_size) {
		uint64_t left = j->seg_size - off;
		size_t len = left < READ_CHUNK ? (size_t)left : READ_CHUNK, skip = 0;
		ssize_t got = pread(s->fd, j->rbuf, len, (off_t)off);

		if (got < 0 && errno == EINTR) {
			continue;
		}
		if (got <= 0) {
			return got < 0 ? -errno : 0;
		}
		if (off == 0) {
			if ((size_t)got < SPARE_MARK_LEN ||
			    memcmp(j->rbuf, want, SPARE_MARK_LEN) != 0) {
				return 0;
			}
			skip = SPARE_MARK_LEN;
		}
		/* Zeros: the first is, and each equals the next. */
		if ((size_t)got > skip && (j->rbuf[skip] != 0 ||
		    memcmp(j->rbuf + skip, j->rbuf + skip + 1, (size_t)got - skip - 1) != 0)) {
			return 0;
		}
		off += (uint64_t)got;
	}
	return 1;
}

static size_t rec_encode(uint64_t seq, const struct dp_change *c, uint8_t *r)
{
	size_t len = journal_entry_encode(c, r + REC_HDR_LEN);

	lw_put32(r + 4, (uint32_t)len);
	lw_put64(r + 8, seq);
	lw_put32(r, store_crc32c(0, r + 4, REC_HDR_LEN - 4 + len));
	return REC_HDR_LEN + len;
}

/*
 * Sequential reading of records from a file, through a buffer (j->rbuf, read_lock held).
 */
struct rec_it {
	int fd;
	uint64_t off;		/* the next record's offset */
	uint64_t limit;		/* bytes that may be read */
	uint8_t *buf;
	uint64_t boff;		/* file offset of buf[0] */
	size_t blen;		/* bytes in buf */
};

/* Have bytes [off, off + len) of the file in the buffer, when the limit allows.
 * @return 1, 0 (past the limit), or a negative errno. */
static int rec_fill(struct rec_it *it, size_t len)
{
	uint64_t want;
	ssize_t got;

	if (it->off + len > it->limit) {
		return 0;
	}
	if (it->off >= it->boff && it->off + len <= it->boff + it->blen) {
		return 1;
	}
	want = it->limit - it->off;
	if (want > READ_CHUNK + REC_MAX_LEN) {
		want = READ_CHUNK + REC_MAX_LEN;
	}
	do {
		got = pread(it->fd, it->buf, (size_t)want, (off_t)it->off);
	} while (got < 0 && errno == EINTR);
	if (got < 0) {
		return -errno;
	}
	it->boff = it->off;
	it->blen = (size_t)got;
	return (size_t)got >= len;
}

/* The next record, when it checks and has sequence @p seq: its payload at *p (valid until
 * the next call), its length *len. @return 1, 0 (no valid record here: the end), or a
 * negative errno (a read error). */
static int rec_next(struct rec_it *it, uint64_t seq, const uint8_t **p, uint32_t *len)
{
	const uint8_t *r;
	int rc;

	rc = rec_fill(it, REC_HDR_LEN);
	if (rc != 1) {
		return rc;
	}
	*len = lw_get32(it->buf + (it->off - it->boff) + 4);
	if (*len == 0 || *len > JOURNAL_ENTRY_MAX_LEN) {
		return 0;
	}
	rc = rec_fill(it, REC_HDR_LEN + *len);
	if (rc != 1) {
		return rc;
	}
	r = it->buf + (it->off - it->boff);
	if (lw_get64(r + 8) != seq ||
	    lw_get32(r) != store_crc32c(0, r + 4, REC_HDR_LEN - 4 + *len)) {
		return 0;
	}
	*p = r + REC_HDR_LEN;
	it->off += REC_HDR_LEN + *len;
	return 1;
}

/* --- open: the scan --------------------------------------------------------------------- */

static int cmp_seg(const void *a, const void *b)
{
	const struct seg *x = *(struct seg *const *)a, *y = *(struct seg *const *)b;

	return x->fileno < y->fileno ? -1 : x->fileno > y->fileno;
}

static int segs_push(struct journal *j, struct seg *s)
{
	if (j->nseg == j->segcap) {
		size_t cap = j->segcap ? 2 * j->segcap : 16;
		struct seg **n = realloc(j->segs, cap * sizeof(struct seg *));

		if (n == NULL) {
			return -ENOMEM;
		}
		j->segs = n;
		j->segcap = cap;
	}
	j->segs[j->nseg++] = s;
	if (s->fileno > j->top_fileno) {
		j->top_fileno = s->fileno;
	}
	return 0;
}

/* Read segment @p s's header and records: s->first, s->last, s->end. */
static int scan_seg(struct journal *j, struct seg *s)
{
	uint8_t h[SEG_HDR_LEN];
	struct rec_it it = {.fd = s->fd, .off = SEG_HDR_LEN, .limit = s->size, .buf = j->rbuf};
	const uint8_t *p;
	uint32_t len;
	ssize_t got;
	int rc;

	s->first = 0;
	s->last = 0;
	s->end = 0;
	got = pread(s->fd, h, sizeof(h), 0);
	if (got < 0) {
		return -errno;
	}
	if (got != (ssize_t)sizeof(h) || !hdr_check(h, s->fileno, &s->first)) {
		return 0;	/* no header: nothing was ever made durable in it */
	}
	s->last = s->first - 1;
	while ((rc = rec_next(&it, s->last + 1, &p, &len)) == 1) {
		s->last++;
	}
	if (rc < 0) {
		return rc;
	}
	s->end = it.off;
	return 0;
}

/* Open and scan every segment of the directory into j->segs (by file number), resolving a
 * later segment's overlap with earlier ones; delete segments that hold nothing. */
static int scan_dir(struct journal *j)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	uint64_t fileno;
	size_t i, k, keep;
	int ret = 0;

	d = fdopendir(dup(j->dirfd));
	if (d == NULL) {
		return fail(j, -errno, "list the directory");
	}
	while ((de = readdir(d)) != NULL) {
		struct seg *s;

		if (!seg_parse(de->d_name, &fileno)) {
			continue;
		}
		if (fileno >= j->next_fileno) {
			j->next_fileno = fileno + 1;
		}
		s = calloc(1, sizeof(*s));
		if (s == NULL) {
			ret = -ENOMEM;
			break;
		}
		s->fileno = fileno;
		s->dfd = -1;
		s->fd = openat(j->dirfd, de->d_name, O_RDWR | O_CLOEXEC);
		if (s->fd < 0 || fstat(s->fd, &st) != 0) {
			ret = fail(j, -errno, "open %s", de->d_name);
			seg_free(s);
			break;
		}
		s->size = (uint64_t)st.st_size;
		ret = segs_push(j, s);
		if (ret != 0) {
			seg_free(s);
			break;
		}
	}
	closedir(d);
	if (ret != 0) {
		return ret;
	}
	if (j->nseg > 1) {
		qsort(j->segs, j->nseg, sizeof(struct seg *), cmp_seg);
	}
	for (i = 0; i < j->nseg; i++) {
		char name[32];

		seg_name(j->segs[i]->fileno, name, sizeof(name));
		ret = scan_seg(j, j->segs[i]);
		if (ret != 0) {
			return fail(j, ret, "read %s", name);
		}
		if (j->segs[i]->first == 0) {
			continue;
		}
		/* A later segment wins from its first sequence on (journal.c, top). */
		for (k = 0; k < i; k++) {
			struct seg *e = j->segs[k];

			if (e->first != 0 && e->last >= j->segs[i]->first) {
				e->last = j->segs[i]->first - 1;
			}
		}
	}
	/* Keep what holds records; the rest (no header: a spare never used, a torn first
	 * group; or every record overridden) goes, but for the newest file that shows a spare
	 * mark: a candidate spare, checked whole by the next journal_prefill(). */
	for (i = j->nseg, keep = 0; i-- > 0;) {
		struct seg *s = j->segs[i];

		if (s->first != 0 && s->last >= s->first) {
			keep++;
		} else if (keep == 0 && j->found == NULL && s->first == 0 && mark_check(j, s)) {
			j->found = s;
			j->segs[i] = NULL;
		}
	}
	j->top_fileno = 0;
	for (i = 0, keep = 0; i < j->nseg; i++) {
		struct seg *s = j->segs[i];

		if (s == NULL) {
			continue;
		}
		if (s->first != 0 && s->last >= s->first) {
			s->dead = true;	/* what lies past its last record is unknown */
			j->segs[keep++] = s;
			j->top_fileno = s->fileno;
			continue;
		}
		ret = seg_unlink(j, s);
		if (ret != 0) {
			/* The rest stays listed, for journal_close(). */
			for (k = i + 1; k < j->nseg; k++) {
				if (j->segs[k] != NULL) {
					j->segs[keep++] = j->segs[k];
				}
			}
			j->nseg = keep;
			return fail(j, ret, "delete an empty segment");
		}
	}
	j->nseg = keep;
	for (i = 0; i < j->nseg; i++) {
		if (j->segs[i]->last > atomic_load(&j->last)) {
			atomic_store(&j->last, j->segs[i]->last);
		}
	}
	return 0;
}

bool journal_exists(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	uint64_t fileno;
	bool found = false;

	if (d == NULL) {
		return false;
	}
	while (!found && (de = readdir(d)) != NULL) {
		found = seg_parse(de->d_name, &fileno);
	}
	closedir(d);
	return found;
}

int journal_mkdir(const char *dir, char *err, size_t errlen)
{
	if (mkdir(dir, 0700) != 0) {
		int ret = -errno;

		if (ret == -EEXIST) {
			return 0;
		}
		snprintf(err, errlen, "%s: cannot create the directory: %s", dir, strerror(-ret));
		return ret;
	}
	return 1;
}

/* Make @p dir's entry durable: fsync its parent. At every open, not only after a mkdir of
 * this process: a run killed between its mkdir() and that sync, or a previous binary that
 * never synced, left an entry of unknown durability (review14). @return 0 or a negative
 * errno (message in @p err). */
static int sync_parent(const char *dir, char *err, size_t errlen)
{
	char parent[4096];
	int ret = store_dir_parent(dir, parent, sizeof(parent));

	if (ret == 0) {
		ret = store_dir_sync(parent);
	}
	if (ret != 0) {
		snprintf(err, errlen, "%s: cannot sync %s, the directory's entry: %s", dir, parent,
			 strerror(-ret));
	}
	return ret;
}

struct journal *journal_open(const char *dir, bool sync, uint64_t max_bytes, uint64_t seg_size,
			     char *err, size_t errlen)
{
	struct journal *j = calloc(1, sizeof(*j));

	if (j == NULL || (j->dir = strdup(dir)) == NULL ||
	    (j->rbuf = malloc(READ_CHUNK + REC_MAX_LEN)) == NULL) {
		if (j != NULL) {
			free(j->dir);
		}
		free(j);
		snprintf(err, errlen, "%s: out of memory", dir);
		return NULL;
	}
	j->dirfd = -1;
	pthread_mutex_init(&j->err_lock, NULL);
	pthread_mutex_init(&j->idx_lock, NULL);
	pthread_mutex_init(&j->read_lock, NULL);
	j->sync = sync;
	j->max_bytes = max_bytes ? max_bytes : DEFAULT_MAX_BYTES;
	j->seg_size = seg_size ? seg_size : JOURNAL_SEG_SIZE;
	j->next_fileno = 1;
	if (journal_mkdir(dir, err, errlen) < 0 || sync_parent(dir, err, errlen) != 0) {
		goto fail;
	}
	j->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->dirfd < 0) {
		snprintf(err, errlen, "%s: cannot open the directory: %s", dir, strerror(errno));
		goto fail;
	}
	if (scan_dir(j) != 0) {
		snprintf(err, errlen, "%s", j->errmsg);
		goto fail;
	}
	return j;
fail:
	journal_close(j);
	return NULL;
}

void journal_close(struct journal *j)
{
	if (j == NULL) {
		return;
	}
	for (size_t i = 0; i < j->nseg; i++) {
		seg_free(j->segs[i]);
	}
	for (size_t i = 0; i < j->nspare; i++) {
		seg_free(j->spares[i]);
	}
	/* A spare half written: it has no mark, the next open deletes it. A spare of the
	 * last run not yet checked stays for the next open. */
	seg_free(j->prep);
	seg_free(j->found);
	if (j->dirfd >= 0) {
		close(j->dirfd);
	}
	pthread_mutex_destroy(&j->read_lock);
	pthread_mutex_destroy(&j->idx_lock);
	pthread_mutex_destroy(&j->err_lock);
	free(j->segs);
	free(j->wbuf);
	free(j->rbuf);
	free(j->dir);
	free(j);
}

/* --- the appender ----------------------------------------------------------------------- */

static void set_phase(struct journal *j, enum journal_phase ph)
{
	atomic_store_explicit(&j->phase, (int)ph, memory_order_relaxed);
}

enum journal_phase journal_phase(const struct journal *j)
{
	return (enum journal_phase)atomic_load_explicit(&j->phase, memory_order_relaxed);
}

const char *journal_phase_name(enum journal_phase ph)
{
	static const char *const names[] = {
		[JOURNAL_IDLE] = "idle", [JOURNAL_BEGIN] = "begin", [JOURNAL_PUT] = "put",
		[JOURNAL_COMMIT] = "commit", [JOURNAL_SYNC] = "sync",
	};

	return (unsigned)ph < sizeof(names) / sizeof(names[0]) ? names[ph] : "?";
}

void journal_inject_delay(struct journal *j, unsigned ms)
{
	atomic_store_explicit(&j->delay_ms, ms, memory_order_relaxed);
}

void journal_inject_fault(struct journal *j, enum journal_phase ph, int err)
{
	atomic_store_explicit(&j->fault_err, err, memory_order_relaxed);
	atomic_store_explicit(&j->fault_phase, (int)ph, memory_order_release);
}

/* The injected fault for step @p ph, taken once: a positive errno, or 0. */
static int injected_fault(struct journal *j, enum journal_phase ph)
{
	int want = (int)ph;

	if (atomic_compare_exchange_strong(&j->fault_phase, &want, JOURNAL_IDLE)) {
		return atomic_load_explicit(&j->fault_err, memory_order_relaxed);
	}
	return 0;
}

static void injected_delay(struct journal *j)
{
	unsigned ms = atomic_exchange_explicit(&j->delay_ms, 0, memory_order_relaxed);
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	if (ms != 0) {
		nanosleep(&ts, NULL);
	}
}

/* Bytes of the segment files now (idx_lock held). */
static uint64_t bytes_locked(const struct journal *j)
{
	uint64_t b = 0;

	for (size_t i = 0; i < j->nseg; i++) {
		b += j->segs[i]->size > j->seg_size ? j->segs[i]->size : j->seg_size;
	}
	return b;
}

/* Take the spares that can no longer follow the newest segment out (idx_lock held): a
 * prefix, since spares come in file-number order. @return how many went to @p stale. */
static size_t spares_stale(struct journal *j, struct seg **stale)
{
	size_t n = 0;

	while (n < j->nspare && j->spares[n]->fileno <= j->top_fileno) {
		stale[n] = j->spares[n];
		n++;
	}
	memmove(j->spares, j->spares + n, (j->nspare - n) * sizeof(struct seg *));
	j->nspare -= n;
	return n;
}

static void unlink_all(struct journal *j, struct seg **s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		(void)seg_unlink(j, s[i]);
	}
}

/*
 * The appender's O_DIRECT descriptor for segment @p s, just made current (journal.c,
 * "Direct appends"). Strict mode only: a relaxed append is a pwrite into the page cache,
 * which O_DIRECT would make a device write. A file system that refuses O_DIRECT (or any
 * other failure to open: the buffered descriptor works) leaves s->dfd at -1, counted.
 */
static void open_direct(struct journal *j, struct seg *s)
{
	char name[32];
	int err;

	if (!j->sync || s->dfd >= 0) {
		return;
	}
	err = injected_fault(j, JOURNAL_BEGIN);
	seg_name(s->fileno, name, sizeof(name));
	if (err == 0) {
		s->dfd = openat(j->dirfd, name, O_RDWR | O_DIRECT | O_CLOEXEC);
	}
	if (s->dfd < 0) {
		atomic_fetch_add_explicit(&j->direct_fallbacks, 1, memory_order_relaxed);
	}
}

/* Segment @p s is no longer the appender's: its O_DIRECT descriptor goes (a journal of 4 GiB
 * in 16 MiB segments would hold 256 more descriptors). The appender, before it publishes
 * that @p s is not current (trim may then free @p s); or trim, when no append runs. */
static void close_direct(struct seg *s)
{
	if (s->dfd >= 0) {
		close(s->dfd);
		s->dfd = -1;
	}
}

/*
 * Make a new segment current, for sequences from @p first on: a spare when one is ready
 * (newer than every segment: one prepared before a segment created here is too old to come
 * after it), else a file created here, on the ACK path (counted), with a directory sync so
 * that its name is durable before anything in it is.
 */
static int take_segment(struct journal *j, uint64_t first)
{
	struct seg *s = NULL, *stale[SPARES_MAX];
	size_t nstale;
	char name[32];
	int ret;

	pthread_mutex_lock(&j->idx_lock);
	if (bytes_locked(j) + j->seg_size > j->max_bytes) {
		pthread_mutex_unlock(&j->idx_lock);
		return fail(j, STORE_E_FULL, "%" PRIu64 " bytes of segments (at most %" PRIu64
			    "): the applier must catch up", bytes_locked(j), j->max_bytes);
	}
	nstale = spares_stale(j, stale);
	if (j->nspare > 0) {
		s = j->spares[0];
		memmove(j->spares, j->spares + 1, (j->nspare - 1) * sizeof(struct seg *));
		j->nspare--;
	}
	if (s == NULL) {
		uint64_t fileno = j->next_fileno++;

		pthread_mutex_unlock(&j->idx_lock);
		unlink_all(j, stale, nstale);
		nstale = 0;
		atomic_fetch_add_explicit(&j->path_creates, 1, memory_order_relaxed);
		s = calloc(1, sizeof(*s));
		if (s == NULL) {
			return fail(j, -ENOMEM, "a new segment");
		}
		s->fileno = fileno;
		s->dfd = -1;
		seg_name(fileno, name, sizeof(name));
		s->fd = openat(j->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		j->dir_unsynced = !j->sync;
		if (s->fd < 0 || (j->sync && fsync(j->dirfd) != 0)) {
			ret = fail(j, -errno, "create %s", name);
			if (s->fd >= 0) {
				(void)seg_unlink(j, s);
			} else {
				free(s);
			}
			return ret;
		}
		pthread_mutex_lock(&j->idx_lock);
	}
	s->first = first;
	s->last = first - 1;
	s->end = 0;		/* the header goes with the first group */
	ret = segs_push(j, s);
	if (ret == 0) {
		j->cur = s;
	}
	pthread_mutex_unlock(&j->idx_lock);
	unlink_all(j, stale, nstale);
	if (ret != 0) {
		(void)seg_unlink(j, s);
		return fail(j, ret, "a new segment");
	}
	open_direct(j, s);
	return 0;
}

/* Write @p len bytes at @p off, all of them (@p direct: through an O_DIRECT descriptor,
 * @p p, @p len and @p off multiples of DIO_ALIGN). @return 0 or a negative errno. */
static int write_all(struct journal *j, int fd, bool direct, const uint8_t *p, size_t len,
		     uint64_t off)
{
	int err = injected_fault(j, JOURNAL_PUT);

	if (err != 0) {
		len /= 2;	/* a short write, then the error */
		if (direct) {
			len -= len % DIO_ALIGN;	/* as a device would tear it: whole blocks */
		}
	}
	while (len > 0) {
		ssize_t w = pwrite(fd, p, len, (off_t)off);

		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			return w < 0 ? -errno : -EIO;
		}
		p += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return err != 0 ? -err : 0;
}

/* The segment failed a write or a flush: never append to it again (journal.c, top). */
static void abandon(struct journal *j)
{
	struct seg *s = j->cur;
	bool empty;

	close_direct(s);
	pthread_mutex_lock(&j->idx_lock);
	s->dead = true;
	/* Nothing durable in it (its first group failed): no reader ever picks it, and what
	 * it may hold (the failed group) is overridden by the segment of the retry. It goes
	 * now: left in j->segs it would count against max_bytes until an apply trims it,
	 * and at lag 0 none does. */
	empty = s->last < s->first && j->nseg > 0 && j->segs[j->nseg - 1] == s;
	if (empty) {
		j->nseg--;
	}
	j->cur = NULL;
	pthread_mutex_unlock(&j->idx_lock);
	if (empty) {
		(void)seg_unlink(j, s);
		if (j->sync) {
			(void)fsync(j->dirfd);
		}
	}
	atomic_fetch_add_explicit(&j->reopens, 1, memory_order_relaxed);
}

/* Where the records of a group for segment @p s (NULL: a new one) go in j->wbuf: after
 * room for the header in a new segment, after the bytes of its last block (j->tail) in one
 * written with O_DIRECT, else after room for a header that is not written. */
static size_t rec_start(const struct seg *s)
{
	if (s == NULL || s->end == 0 || s->dfd < 0) {
		return SEG_HDR_LEN;
	}
	return (size_t)(s->end % DIO_ALIGN);
}

static int append(struct journal *j, const struct dp_change *c, size_t n, uint64_t *last)
{
	uint64_t seq = atomic_load_explicit(&j->last, memory_order_relaxed);
	/* a block of prefix, the records, the padding of the last block */
	size_t need = (n * REC_MAX_LEN + 2 * DIO_ALIGN + DIO_ALIGN - 1) & ~(size_t)(DIO_ALIGN - 1);
	size_t at, pre, len = 0, wlen;
	const uint8_t *wp;
	struct seg *s;
	uint64_t off, end;
	bool direct;
	int ret;

	if (n == 0) {
		if (last != NULL) {
			*last = seq;
		}
		return 0;
	}
	set_phase(j, JOURNAL_BEGIN);
	if (j->wcap < need) {
		void *buf;

		if (posix_memalign(&buf, DIO_ALIGN, need) != 0) {
			return fail(j, -ENOMEM, "a buffer for %zu entries", n);
		}
		free(j->wbuf);
		j->wbuf = buf;
		j->wcap = need;
	}
	at = rec_start(j->cur);
	for (size_t i = 0; i < n; i++) {
		len += rec_encode(seq + 1 + i, &c[i], j->wbuf + at + len);
	}
	if (j->cur != NULL && j->cur->end + len > j->seg_size && j->cur->end > SEG_HDR_LEN) {
		close_direct(j->cur);
		pthread_mutex_lock(&j->idx_lock);
		j->cur = NULL;	/* full: the group goes whole into the next one */
		pthread_mutex_unlock(&j->idx_lock);
	}
	if (j->cur == NULL) {
		ret = take_segment(j, seq + 1);
		if (ret != 0) {
			return ret;
		}
	}
	s = j->cur;
	pre = rec_start(s);
	if (pre != at) {
		memmove(j->wbuf + pre, j->wbuf + at, len);	/* another segment than planned */
	}
	/* What the file holds from off on once written: wp[0 .. wlen). */
	direct = s->dfd >= 0;
	end = (s->end == 0 ? SEG_HDR_LEN : s->end) + len;
	if (s->end == 0) {
		hdr_encode(s, j->wbuf);
	}
	if (direct) {
		/* The segment's last block rewritten as it is, then the records, then zeros to
		 * the block's end (journal.c, "Direct appends"). */
		if (s->end != 0) {
			memcpy(j->wbuf, j->tail, pre);
		}
		off = s->end == 0 ? 0 : s->end - pre;
		wlen = ((size_t)(end - off) + DIO_ALIGN - 1) & ~(size_t)(DIO_ALIGN - 1);
		memset(j->wbuf + (end - off), 0, wlen - (size_t)(end - off));
		wp = j->wbuf;
	} else {
		off = s->end;
		wp = j->wbuf + (s->end == 0 ? 0 : SEG_HDR_LEN);
		wlen = (size_t)(end - off);
	}
	set_phase(j, JOURNAL_PUT);
	ret = write_all(j, direct ? s->dfd : s->fd, direct, wp, wlen, off);
	if (ret == -EINVAL && direct) {
		/* O_DIRECT refused at the write (an alignment the file system wants larger):
		 * the same bytes through the page cache, and the segment stays buffered. What
		 * the refused write may have put down is these bytes too. */
		close_direct(s);
		atomic_fetch_add_explicit(&j->direct_fallbacks, 1, memory_order_relaxed);
		direct = false;
		ret = write_all(j, s->fd, false, wp, wlen, off);
	}
	if (ret != 0) {
		abandon(j);
		return fail(j, ret, "write %zu entries", n);
	}
	set_phase(j, JOURNAL_COMMIT);
	injected_delay(j);
	ret = -injected_fault(j, JOURNAL_COMMIT);
	if (ret == 0 && j->sync && fdatasync(direct ? s->dfd : s->fd) != 0) {
		ret = -errno;
	}
	if (ret != 0) {
		abandon(j);
		return fail(j, ret, "flush %zu entries", n);
	}
	if (direct) {
		size_t t = (size_t)(end % DIO_ALIGN);

		memcpy(j->tail, j->wbuf + (end - off) - t, t);
		atomic_fetch_add_explicit(&j->direct_appends, 1, memory_order_relaxed);
	}
	/* Durable: journal_last() says so, then readers may have it (never a sequence they
	 * read above journal_last()). */
	atomic_store_explicit(&j->last, seq + n, memory_order_release);
	pthread_mutex_lock(&j->idx_lock);
	s->last = seq + n;
	s->unsynced = !j->sync;
	s->end = end;
	if (off + wlen > s->size) {
		s->size = off + wlen;	/* the file grew (the padding too) */
	}
	pthread_mutex_unlock(&j->idx_lock);
	if (last != NULL) {
		*last = seq + n;
	}
	return 0;
}

int journal_append(struct journal *j, const struct dp_change *c, size_t n, uint64_t *last)
{
	int rc = append(j, c, n, last);

	set_phase(j, JOURNAL_IDLE);
	return rc;
}

/* No-sync mode: every segment appended to since the last call, not only the current one
 * (review13), and the directory when a segment was created. Under idx_lock, so that trim
 * closes none of them meanwhile (readers wait: this mode is for tests and tools). */
int journal_sync(struct journal *j)
{
	struct seg *bad = NULL;
	int ret = 0;

	if (j->sync) {
		return 0;	/* each append flushed */
	}
	set_phase(j, JOURNAL_SYNC);
	pthread_mutex_lock(&j->idx_lock);
	for (size_t i = 0; i < j->nseg && ret == 0; i++) {
		if (j->segs[i]->unsynced) {
			if (fdatasync(j->segs[i]->fd) != 0) {
				ret = -errno;
				bad = j->segs[i];
			} else {
				j->segs[i]->unsynced = false;
			}
		}
	}
	pthread_mutex_unlock(&j->idx_lock);
	if (ret == 0 && j->dir_unsynced) {
		ret = fsync(j->dirfd) != 0 ? -errno : 0;
		j->dir_unsynced = ret != 0;
	}
	set_phase(j, JOURNAL_IDLE);
	if (ret != 0) {
		if (bad != NULL && bad == j->cur) {
			abandon(j);
		}
		return fail(j, ret, "sync");
	}
	return 0;
}

uint64_t journal_last(const struct journal *j)
{
	return atomic_load_explicit(&j->last, memory_order_acquire);
}

void journal_raise(struct journal *j, uint64_t seq)
{
	if (atomic_load_explicit(&j->last, memory_order_relaxed) < seq) {
		atomic_store_explicit(&j->last, seq, memory_order_release);
	}
}

uint64_t journal_reopens(const struct journal *j)
{
	return atomic_load_explicit(&j->reopens, memory_order_relaxed);
}

uint64_t journal_path_creates(const struct journal *j)
{
	return atomic_load_explicit(&j->path_creates, memory_order_relaxed);
}

uint64_t journal_direct_appends(const struct journal *j)
{
	return atomic_load_explicit(&j->direct_appends, memory_order_relaxed);
}

uint64_t journal_direct_fallbacks(const struct journal *j)
{
	return atomic_load_explicit(&j->direct_fallbacks, memory_order_relaxed);
}

/* --- readers ---------------------------------------------------------------------------- */

long journal_read(struct journal *j, uint64_t after, struct dp_change *out, uint64_t *seqs,
		  size_t max)
{
	size_t n = 0;
	long ret = 0;

	pthread_mutex_lock(&j->read_lock);
	while (n < max) {
		struct rec_it it = {.buf = j->rbuf};
		struct seg *s = NULL;
		uint64_t last = 0, next = after + 1;
		bool later = false;
		const uint8_t *p;
		uint32_t len;
		int rc;

		pthread_mutex_lock(&j->idx_lock);
		for (size_t i = 0; i < j->nseg; i++) {
			struct seg *e = j->segs[i];

			if (e->first <= next && next <= e->last) {
				s = e;
				break;
			}
			later |= e->first > next && e->last >= e->first;
		}
		if (s != NULL) {
			last = s->last;
			it.fd = s->fd;
			it.limit = s->end;
		}
		pthread_mutex_unlock(&j->idx_lock);
		if (s == NULL) {
			if (later) {
				/* Entries after @p after exist, but not the next one. */
				ret = fail(j, STORE_E_CORRUPT, "entry %" PRIu64 " is missing", next);
			}
			break;
		}
		/* Resume at the cursor, or find the record from the segment's start. */
		if (j->rc_seg == s && j->rc_seq == next) {
			it.off = j->rc_off;
		} else {
			it.off = SEG_HDR_LEN;
			for (uint64_t q = s->first; q < next; q++) {
				rc = rec_next(&it, q, &p, &len);
				if (rc != 1) {
					goto bad;
				}
			}
		}
		while (n < max && next <= last) {
			rc = rec_next(&it, next, &p, &len);
			if (rc != 1 || !journal_entry_decode(p, len, &out[n])) {
				goto bad;
			}
			if (seqs != NULL) {
				seqs[n] = next;
			}
			n++;
			after = next++;
		}
		j->rc_seg = s;
		j->rc_seq = next;
		j->rc_off = it.off;
		continue;
bad:
		j->rc_seg = NULL;
		ret = fail(j, rc < 0 ? rc : STORE_E_CORRUPT, "entry %" PRIu64 " (file %016"
			   PRIx64 ") does not check or decode", next, s->fileno);
		break;
	}
	pthread_mutex_unlock(&j->read_lock);
	return ret < 0 ? ret : (long)n;
}

uint64_t journal_count(struct journal *j)
{
	uint64_t n = 0;

	pthread_mutex_lock(&j->idx_lock);
	for (size_t i = 0; i < j->nseg; i++) {
		if (j->segs[i]->last >= j->segs[i]->first) {
			n += j->segs[i]->last - j->segs[i]->first + 1;
		}
	}
	pthread_mutex_unlock(&j->idx_lock);
	return n;
}

void journal_files(struct journal *j, struct journal_files *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&j->idx_lock);
	for (size_t i = 0; i < j->nseg; i++) {
		out->used += j->segs[i]->end;
		out->size += j->segs[i]->size;
		out->segments++;
	}
	for (size_t i = 0; i < j->nspare; i++) {
		out->size += j->spares[i]->size;
		out->segments++;
	}
	pthread_mutex_unlock(&j->idx_lock);
}

/* --- trim and the spare ----------------------------------------------------------------- */

/* Give a segment no longer needed the next file number and make it a spare. read_lock
 * held. @return true when it became one (else the caller deletes it). */
static bool recycle(struct journal *j, struct seg *s)
{
	char from[32], to[32];
	uint64_t fileno;

	if (s->dead || s->size < j->seg_size) {
		return false;
	}
	pthread_mutex_lock(&j->idx_lock);
	if (j->nspare >= SPARES_MAX || j->prep != NULL) {
		pthread_mutex_unlock(&j->idx_lock);
		return false;
	}
	fileno = j->next_fileno++;
	pthread_mutex_unlock(&j->idx_lock);
	seg_name(s->fileno, from, sizeof(from));
	seg_name(fileno, to, sizeof(to));
	/* The new name must be durable before the appender writes under it (journal.c). */
	if (renameat(j->dirfd, from, j->dirfd, to) != 0) {
		return false;
	}
	s->fileno = fileno;
	if (fsync(j->dirfd) != 0) {
		return false;	/* deleted under its new name by the caller */
	}
	s->first = s->last = s->end = 0;
	close_direct(s);	/* trim with all: it was current */
	pthread_mutex_lock(&j->idx_lock);
	j->spares[j->nspare++] = s;	/* the newest file number: order kept */
	pthread_mutex_unlock(&j->idx_lock);
	return true;
}

int journal_trim(struct journal *j, uint64_t upto, bool all)
{
	struct seg **gone;
	size_t n = 0, i;
	bool sync_dir = false;
	int ret = 0;

	pthread_mutex_lock(&j->read_lock);
	pthread_mutex_lock(&j->idx_lock);
	gone = malloc((j->nseg + 1) * sizeof(struct seg *));
	if (gone == NULL) {
		pthread_mutex_unlock(&j->idx_lock);
		pthread_mutex_unlock(&j->read_lock);
		return fail(j, -ENOMEM, "trim");
	}
	/* From the front: sequences grow with file numbers. */
	while (n < j->nseg && j->segs[n]->last <= upto && (all || j->segs[n] != j->cur)) {
		gone[n] = j->segs[n];
		if (gone[n] == j->cur) {
			j->cur = NULL;	/* all: no append runs */
		}
		n++;
	}
	if (n > 0) {
		memmove(j->segs, j->segs + n, (j->nseg - n) * sizeof(struct seg *));
		j->nseg -= n;
	}
	pthread_mutex_unlock(&j->idx_lock);
	for (i = 0; i < n; i++) {
		bool dead = gone[i]->dead;

		if (gone[i] == j->rc_seg) {
			j->rc_seg = NULL;
		}
		if (!recycle(j, gone[i])) {
			int rc = seg_unlink(j, gone[i]);

			if (rc != 0 && ret == 0) {
				ret = fail(j, rc, "delete a trimmed segment");
			}
			sync_dir |= dead;
		}
	}
	if (sync_dir && fsync(j->dirfd) != 0 && ret == 0) {
		ret = fail(j, -errno, "sync the directory after a trim");
	}
	pthread_mutex_unlock(&j->read_lock);
	free(gone);
	return ret;
}

/* The mark of a spare whose zeros are flushed, flushed itself. @return 0 or a negative
 * errno. */
static int write_mark(struct journal *j, struct seg *p)
{
	uint8_t m[SPARE_MARK_LEN];
	ssize_t w;

	mark_encode(p->fileno, j->seg_size, m);
	do {
		w = pwrite(p->fd, m, sizeof(m), 0);
	} while (w < 0 && errno == EINTR);
	if (w != (ssize_t)sizeof(m)) {
		return w < 0 ? -errno : -EIO;
	}
	return fdatasync(p->fd) != 0 ? -errno : 0;
}

/* The spare of the last run (j->found), when there is one: checked whole, its name synced,
 * it becomes the spare; else deleted (a read or a sync that fails deletes it too: the
 * next call writes a new spare). read_lock held, no spare ready.
 * @return 1: it is the spare now; 0: none (a new one must be written); or a negative errno
 * (message recorded). */
static int take_found(struct journal *j)
{
	struct seg *s = j->found;
	char name[32];
	bool newest;
	int ret;

	if (s == NULL) {
		return 0;
	}
	j->found = NULL;
	seg_name(s->fileno, name, sizeof(name));
	pthread_mutex_lock(&j->idx_lock);
	newest = s->fileno > j->top_fileno;	/* else the appender created one meanwhile */
	pthread_mutex_unlock(&j->idx_lock);
	ret = newest ? spare_check(j, s) : 0;
	if (ret < 0) {
		ret = fail(j, ret, "prefill: read %s, a spare of the last run", name);
	} else if (ret == 1 && fsync(j->dirfd) != 0) {
		ret = fail(j, -errno, "prefill: sync the directory for %s", name);
	}
	pthread_mutex_lock(&j->idx_lock);
	if (ret == 1 && j->nspare < SPARES_MAX && s->fileno > j->top_fileno) {
		j->spares[j->nspare++] = s;
		s = NULL;
	}
	pthread_mutex_unlock(&j->idx_lock);
	if (s != NULL) {
		(void)seg_unlink(j, s);	/* header-less: nothing in it was ever durable */
		return ret < 0 ? ret : 0;
	}
	return 1;
}

int64_t journal_prefill(struct journal *j, uint64_t max_step, uint64_t *ext_ns)
{
	uint64_t t0 = mono_ns(), want;
	struct seg *p, *stale[SPARES_MAX];
	size_t nstale;
	char name[32];
	int64_t ret;
	int rc;

	if (ext_ns != NULL) {
		*ext_ns = 0;
	}
	pthread_mutex_lock(&j->read_lock);
	pthread_mutex_lock(&j->idx_lock);
	nstale = spares_stale(j, stale);
	if (j->nspare > 0 || !j->sync) {
		pthread_mutex_unlock(&j->idx_lock);
		unlink_all(j, stale, nstale);
		pthread_mutex_unlock(&j->read_lock);
		return 0;
	}
	pthread_mutex_unlock(&j->idx_lock);
	unlink_all(j, stale, nstale);
	ret = take_found(j);
	if (ret != 0) {
		ret = ret > 0 ? 0 : ret;	/* ready: nothing written; or an error */
		goto out;
	}
	pthread_mutex_lock(&j->idx_lock);
	if (j->prep == NULL) {
		p = calloc(1, sizeof(*p));
		if (p != NULL) {
			p->fileno = j->next_fileno++;
			p->fd = -1;
			p->dfd = -1;
		}
		pthread_mutex_unlock(&j->idx_lock);
		if (p == NULL) {
			ret = fail(j, -ENOMEM, "prefill");
			goto out;
		}
		seg_name(p->fileno, name, sizeof(name));
		p->fd = openat(j->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (p->fd < 0) {
			ret = fail(j, -errno, "prefill: create %s", name);
			free(p);
			goto out;
		}
		pthread_mutex_lock(&j->idx_lock);
		j->prep = p;
	}
	p = j->prep;
	pthread_mutex_unlock(&j->idx_lock);
	seg_name(p->fileno, name, sizeof(name));
	want = j->seg_size;
	if (max_step != 0 && want > p->size + max_step) {
		want = p->size + max_step;
	}
	ret = store_prefill_fd(p->fd, want);	/* zeros from its size on, then fdatasync */
	if (ret < 0) {
		/* What it wrote may not be on disk (a failed flush may drop dirty pages and
		 * clear the error): this run may still use it (an append's fdatasync covers
		 * its own blocks), but it never gets the mark a later run trusts. */
		p->unmarked = true;
		ret = fail(j, (int)ret, "prefill: write %s to %" PRIu64 " bytes", name, want);
		goto out;
	}
	p->size = want;
	if (want < j->seg_size) {
		goto out;	/* more next time */
	}
	/* Written and flushed: the mark says so to a later run (journal.c, "Spares across a
	 * restart"); then its name too, and the appender may have it. */
	rc = p->unmarked ? 0 : write_mark(j, p);
	if (rc != 0) {
		ret = fail(j, rc, "prefill: mark %s as written", name);
		goto out;
	}
	if (fsync(j->dirfd) != 0) {
		ret = fail(j, -errno, "prefill: sync the directory");
		goto out;
	}
	pthread_mutex_lock(&j->idx_lock);
	j->prep = NULL;
	if (j->nspare < SPARES_MAX && p->fileno > j->top_fileno) {
		j->spares[j->nspare++] = p;
		p = NULL;
	}
	pthread_mutex_unlock(&j->idx_lock);
	if (p != NULL) {
		(void)seg_unlink(j, p);		/* a segment created meanwhile came first */
	}
out:
	pthread_mutex_unlock(&j->read_lock);
	if (ext_ns != NULL) {
		*ext_ns = mono_ns() - t0;
	}
	return ret;
}

const char *journal_errmsg(struct journal *j)
{
	static _Thread_local char copy[ERRMSG_LEN];

	pthread_mutex_lock(&j->err_lock);
	snprintf(copy, sizeof(copy), "%s", j->errmsg[0] ? j->errmsg : "no error");
	pthread_mutex_unlock(&j->err_lock);
	return copy;
}
