/*
 * The journal (lmdb-store/journal.c) and strict mode's two-stage commit path through it
 * (store_journal_*, committer journal mode): round trips, sequence numbers across reopen and
 * trim, the committer publishing on the journal's commit and the applier feeding the
 * bindings and the failover tap, back-pressure, and crashes between the journal's commit and
 * the end of the second stage.
 *
 * A crash is a child process that _exit()s at the fault point, with its transactions as
 * they are (an open one is lost, as with kill -9): after the journal's commit and before any
 * apply, within the first apply transaction (from the store's apply hook), within a second
 * one after a first was committed, and after every apply but before the journal was trimmed.
 * The parent then opens the store as a restart would and checks that every journaled change
 * is in the bindings, exactly once: each FO-flagged change raises its address's unacked
 * generation by one, so a change applied twice would show.
 *
 * Prefilled data files (store_prefill()): both files stay written ahead of LMDB's use through
 * growth, a store whose files have a prefilled tail crashes and reopens with every binding and
 * entry, and a prefill that fails (a file size limit: EFBIG) is reported and loses nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <lmdb.h>

#include "child.h"
#include "committer.h"
#include "crc32c.h"
#include "journal.h"
#include "journal_mdb.h"
#include "lease.h"
#include "store.h"
#include "store_fix.h"

#define BASE	0xc0000200u	/* 192.0.2.0 */
#define N_ADDR	300
#define ROUNDS	3
#define N_CHG	(N_ADDR * ROUNDS)
#define GROUP	100
#define CRASHED	42

static int setup(void **state)
{
	return store_fix_setup(state, "journal");
}

static int teardown(void **state)
{
	return store_fix_teardown(state);
}

/* NULL on failure (the message in f->err): usable in a child, where cmocka cannot assert. */
static struct store *try_open(struct store_fix *f, bool journal)
{
	struct store_opts o = {.sync = STORE_SYNC_STRICT, .journal = journal};

	return store_fix_try_open(f, &o);
}

static struct store *open_store(struct store_fix *f, bool journal)
{
	struct store_opts o = {.sync = STORE_SYNC_STRICT, .journal = journal};

	return store_fix_open(f, &o);
}

/*
 * The workload: ROUNDS rounds over N_ADDR addresses, each client on its own address; every
 * third address's changes carry DP_CHANGE_FO, and in the last round every seventh address is
 * freed.
 */
static struct dp_change workload(unsigned i)
{
	unsigned r = i / N_ADDR, a = i % N_ADDR;
	struct dp_change c;

	memset(&c, 0, sizeof(c));
	c.addr = BASE + a;
	c.state = r == ROUNDS - 1 && a % 7 == 0 ? BT_FREE : BT_ACTIVE;
	c.start = 1700000000 + r;
	c.ends = 1700003600 + r;
	c.key.type = DP_KEY_HWADDR;
	c.key.len = 7;
	c.key.data[0] = 1;
	c.key.data[5] = (uint8_t)(a >> 8);
	c.key.data[6] = (uint8_t)a;
	c.hw_len = 7;
	memcpy(c.hw, c.key.data, 7);
	c.flags = a % 3 == 0 ? DP_CHANGE_FO : 0;
	return c;
}

/* Journal the first @p n changes of the workload, in groups. @return 0 or an error. */
static int journal_workload(struct store *s, unsigned n)
{
	struct dp_change g[GROUP];

	for (unsigned i = 0; i < n; i += GROUP) {
		unsigned k = n - i < GROUP ? n - i : GROUP;
		int rc;

		for (unsigned j = 0; j < k; j++) {
			g[j] = workload(i + j);
		}
		rc = store_journal_append(s, g, k);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

struct gens {
	uint64_t gen[N_ADDR];
	unsigned n;
};

static int gen_cb(uint32_t addr, uint64_t gen, void *arg)
{
	struct gens *g = arg;

	assert_true(addr >= BASE && addr < BASE + N_ADDR);
	g->gen[addr - BASE] = gen;
	g->n++;
	return 0;
}

/* The bindings hold exactly the first @p n changes of the workload, each applied once. */
static void assert_workload(struct store *s, unsigned n)
{
	struct gens g = {.n = 0};
	unsigned fo = 0, bound = 0;

	assert_int_equal(store_unacked_load(s, gen_cb, &g), 0);
	for (unsigned a = 0; a < N_ADDR; a++) {
		struct store_binding b;
		struct dp_change last = {0};
		uint64_t want_gen = 0;
		bool seen = false;

		for (unsigned i = a; i < n; i += N_ADDR) {
			last = workload(i);
			seen = true;
			want_gen += (last.flags & DP_CHANGE_FO) != 0;
		}
		fo += want_gen != 0;
		assert_true(g.gen[a] == want_gen);
		if (!seen || last.state == BT_FREE) {
			assert_int_equal(store_get(s, BASE + a, &b), -ENOENT);
			continue;
		}
		bound++;
		assert_int_equal(store_get(s, BASE + a, &b), 0);
		assert_int_equal(b.state, last.state);
		assert_true(b.start == last.start);
		assert_true(b.ends == last.ends);
		assert_int_equal(b.key.len, last.key.len);
		assert_memory_equal(b.key.data, last.key.data, last.key.len);
	}
	assert_int_equal(g.n, fo);
	assert_int_equal(store_count(s), bound);
}

static void test_append_read(void **state)
{
	struct store_fix *f = *state;
	struct dp_change in[5], out[8];
	uint64_t seqs[8], last = 0;
	struct journal *j;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	/* Segments of 1 byte: every group in a segment of its own. */
	j = journal_open(f->jdir, true, 0, 1, f->err, sizeof(f->err));
	assert_non_null(j);
	assert_int_equal(journal_last(j), 0);
	for (unsigned i = 0; i < 5; i++) {
		in[i] = workload(i * 7);
	}
	in[1].key.type = DP_KEY_CLIENT_ID;
	in[1].key.len = DP_KEY_MAX;
	memset(in[1].key.data, 0xab, DP_KEY_MAX);
	in[1].hw_len = DP_HW_MAX;
	in[2].hw_len = 0;
	/* What bindings remember of their clients (entry version 2): some, and every field
	 * full. */
	memcpy(in[0].info.host, "phone-a", in[0].info.host_len = 7);
	memcpy(in[0].info.policy, "phones", in[0].info.policy_len = 6);
	memset(in[1].info.host, 'h', in[1].info.host_len = DP_INFO_HOST_MAX);
	memset(in[1].info.vendor, 'v', in[1].info.vendor_len = DP_INFO_VENDOR_MAX);
	memset(in[1].info.circuit, 0xc1, in[1].info.circuit_len = DP_INFO_CIRCUIT_MAX);
	memset(in[1].info.policy, 'p', in[1].info.policy_len = DP_INFO_POLICY_MAX);
	/* The failover PET (entry version 3): some, the largest, none. */
	in[0].pet = 1700000123u;
	in[1].pet = UINT32_MAX;
	assert_int_equal(journal_append(j, in, 3, &last), 0);
	assert_true(last == 3);
	assert_int_equal(journal_append(j, in + 3, 2, &last), 0);
	assert_true(last == 5);
	assert_int_equal(journal_read(j, 0, out, seqs, 8), 5);
	for (unsigned i = 0; i < 5; i++) {
		assert_true(seqs[i] == i + 1);
		assert_int_equal(out[i].addr, in[i].addr);
		assert_int_equal(out[i].state, in[i].state);
		assert_int_equal(out[i].flags, in[i].flags);
		assert_true(out[i].start == in[i].start && out[i].ends == in[i].ends);
		assert_int_equal(out[i].key.type, in[i].key.type);
		assert_int_equal(out[i].key.len, in[i].key.len);
		assert_memory_equal(out[i].key.data, in[i].key.data, in[i].key.len);
		assert_int_equal(out[i].hw_len, in[i].hw_len);
		assert_memory_equal(out[i].hw, in[i].hw, in[i].hw_len);
		assert_memory_equal(&out[i].info, &in[i].info, sizeof(in[i].info));
		assert_int_equal(out[i].pet, in[i].pet);
	}
	assert_int_equal(journal_read(j, 3, out, seqs, 8), 2);
	assert_true(seqs[0] == 4);
	assert_int_equal(journal_read(j, 5, out, seqs, 8), 0);

	/* Appending nothing; trimming goes by whole segments: up to 2 leaves the first (1-3),
	 * up to 4 takes it, and never the appender's current one (4-5) unless asked to. */
	assert_int_equal(journal_append(j, NULL, 0, &last), 0);
	assert_true(last == 5);
	assert_int_equal(journal_trim(j, 2, false), 0);
	assert_int_equal(journal_count(j), 5);
	assert_int_equal(journal_trim(j, 5, false), 0);
	assert_int_equal(journal_count(j), 2);
	assert_true(journal_read(j, 0, out, seqs, 8) == STORE_E_CORRUPT);	/* 1 is gone */
	assert_int_equal(journal_read(j, 3, out, seqs, 8), 2);
	assert_true(seqs[0] == 4 && seqs[1] == 5);
	journal_close(j);

	/* Numbers go on after a reopen, and after raising an emptied journal's base. */
	j = journal_open(f->jdir, true, 0, 1, f->err, sizeof(f->err));
	assert_non_null(j);
	assert_true(journal_last(j) == 5);
	assert_int_equal(journal_trim(j, 5, true), 0);
	assert_int_equal(journal_count(j), 0);
	journal_close(j);
	j = journal_open(f->jdir, true, 0, 1, f->err, sizeof(f->err));
	assert_non_null(j);
	assert_true(journal_last(j) == 0);	/* empty: store.c raises it */
	journal_raise(j, 5);
	assert_int_equal(journal_append(j, in, 1, &last), 0);
	assert_true(last == 6);
	journal_close(j);
}

/* An LMDB journal (journal_mdb.h) written before entry version 2 (version 1: no client
 * information) is read, with none; a version 2 entry whose information lengths do not add up
 * is not. */
static void test_read_version_1(void **state)
{
	struct store_fix *f = *state;
	struct dp_change out[4];
	uint64_t seqs[4];
	struct jmdb *j;
	/* v1: ACTIVE 198.18.0.7, start 10, ends 20, hw key of 7 bytes, no hw */
	uint8_t v1[26 + 7] = {1, 0, 0xc6, 0x12, 0, 7, BT_ACTIVE, 0, 0, 0, 0, 0, 0, 0, 10,
			      0, 0, 0, 0, 0, 0, 0, 20, DP_KEY_HWADDR, 7, 0,
			      1, 2, 3, 4, 5, 6, 7};
	uint8_t v2[26 + 7 + 4 + 2];

	assert_int_equal(mkdir(f->dir, 0700), 0);
	assert_int_equal(mkdir(f->jdir, 0700), 0);
	j = jmdb_open(f->jdir, f->err, sizeof(f->err));
	assert_non_null(j);
	assert_int_equal(jmdb_put_raw(j, 1, v1, sizeof(v1)), 0);
	assert_int_equal(jmdb_read(j, 0, out, seqs, 4), 1);
	assert_int_equal(out[0].addr, 0xc6120007u);
	assert_int_equal(out[0].state, BT_ACTIVE);
	assert_int_equal(out[0].key.len, 7);
	assert_true(dp_info_empty(&out[0].info));

	/* Version 2 with a host length of 2 but 1 byte of host: refused. */
	memcpy(v2, v1, sizeof(v1));
	v2[0] = 2;
	memcpy(v2 + sizeof(v1), "\x02\x00\x00\x00" "a", 5);
	assert_int_equal(jmdb_put_raw(j, 2, v2, sizeof(v1) + 5), 0);
	assert_true(jmdb_read(j, 1, out, seqs, 4) < 0);
	jmdb_close(j);
}

/* An LMDB journal written before entry version 3 (version 2: no PET) is read with PET 0; a
 * version 3 entry short of its PET is not. */
static void test_read_version_2(void **state)
{
	struct store_fix *f = *state;
	struct dp_change out[4];
	uint64_t seqs[4];
	struct jmdb *j;
	/* v2: ACTIVE 198.18.0.7, start 10, ends 20, hw key of 7 bytes, no hw, host "ab" */
	uint8_t v[26 + 7 + 4 + 2 + 4] = {2, DP_CHANGE_FO, 0xc6, 0x12, 0, 7, BT_ACTIVE,
					 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 20,
					 DP_KEY_HWADDR, 7, 0, 1, 2, 3, 4, 5, 6, 7,
					 2, 0, 0, 0, 'a', 'b', 0x65, 0x5f, 0x5e, 0x10};

	assert_int_equal(mkdir(f->dir, 0700), 0);
	assert_int_equal(mkdir(f->jdir, 0700), 0);
	j = jmdb_open(f->jdir, f->err, sizeof(f->err));
	assert_non_null(j);
	assert_int_equal(jmdb_put_raw(j, 1, v, sizeof(v) - 4), 0);
	assert_int_equal(jmdb_read(j, 0, out, seqs, 4), 1);
	assert_int_equal(out[0].addr, 0xc6120007u);
	assert_int_equal(out[0].flags, DP_CHANGE_FO);
	assert_int_equal(out[0].info.host_len, 2);
	assert_int_equal(out[0].pet, 0);

	/* The same as version 3, with its PET. */
	v[0] = 3;
	assert_int_equal(jmdb_put_raw(j, 2, v, sizeof(v)), 0);
	assert_int_equal(jmdb_read(j, 1, out, seqs, 4), 1);
	assert_int_equal(out[0].info.host_len, 2);
	assert_int_equal(out[0].pet, 0x655f5e10u);

	/* Version 3 without the last byte of its PET: refused. */
	assert_int_equal(jmdb_put_raw(j, 3, v, sizeof(v) - 1), 0);
	assert_true(jmdb_read(j, 2, out, seqs, 4) < 0);
	jmdb_close(j);
}

static void test_store_apply(void **state)
{
	struct store_fix *f = *state;
	struct dp_change out[N_CHG];
	uint64_t gens[N_CHG];
	struct store *s = open_store(f, true);
	struct dp_change bad = workload(0);

	assert_true(store_has_journal(s));
	bad.state = BT_OFFERED;
	assert_int_equal(store_journal_append(s, &bad, 1), -EINVAL);
	assert_int_equal(journal_workload(s, N_CHG), 0);
	assert_true(store_journal_lag(s) == N_CHG);
	assert_true(store_count(s) == 0);	/* journaled, not yet applied */
	assert_int_equal(store_journal_apply(s, out, gens, N_ADDR), N_ADDR);
	assert_int_equal(out[3].addr, BASE + 3);
	assert_true(gens[3] == 1 && gens[4] == 0);
	assert_workload(s, N_ADDR);
	assert_int_equal(store_journal_apply(s, out, gens, N_CHG), N_CHG - N_ADDR);
	assert_true(gens[3] == 2);		/* BASE + 3's second FO change */
	assert_int_equal(store_journal_apply(s, out, gens, N_CHG), 0);
	assert_true(store_journal_lag(s) == 0);
	assert_workload(s, N_CHG);
	/* An apply trims whole segments only, never the appender's; a trim takes the rest. */
	assert_true(store_journal_count(s) == N_CHG);
	assert_int_equal(store_journal_append(s, NULL, 0), 0);
	assert_int_equal(store_journal_trim(s), 0);
	assert_true(store_journal_count(s) == 0);
	store_close(s);

	/* A store without a journal refuses the calls; one with an empty journal opens too. */
	s = open_store(f, false);
	assert_false(store_has_journal(s));
	assert_int_equal(store_journal_append(s, out, 1), -EINVAL);
	assert_int_equal(store_journal_apply(s, out, gens, 1), -EINVAL);
	assert_workload(s, N_CHG);
	store_close(s);
}

enum crash_at {
	CRASH_BEFORE_APPLY,	/* journaled, nothing applied */
	CRASH_IN_APPLY,		/* within the first apply transaction */
	CRASH_IN_SECOND_APPLY,	/* one apply committed, the next one under way */
	CRASH_BEFORE_TRIM,	/* everything applied, the journal still full */
};

static void die(void *arg, size_t i)
{
	if (i == (size_t)(uintptr_t)arg) {
		_exit(CRASHED);
	}
}

/* The child: journal the workload, bring part of it into the bindings, die at @p at. */
static void crash_child(struct store_fix *f, enum crash_at at)
{
	static struct dp_change out[N_CHG];
	struct store *s = try_open(f, true);

	if (s == NULL || journal_workload(s, N_CHG) != 0) {
		_exit(1);
	}
	switch (at) {
	case CRASH_BEFORE_APPLY:
		break;
	case CRASH_IN_APPLY:
		store_inject_apply_hook(s, die, (void *)(uintptr_t)150);
		(void)!store_journal_apply(s, out, NULL, N_CHG);
		_exit(1);	/* the hook did not fire */
	case CRASH_IN_SECOND_APPLY:
		if (store_journal_apply(s, out, NULL, 400) != 400) {
			_exit(1);
		}
		store_inject_apply_hook(s, die, (void *)(uintptr_t)100);
		(void)!store_journal_apply(s, out, NULL, N_CHG);
		_exit(1);
	case CRASH_BEFORE_TRIM:
		if (store_journal_apply(s, out, NULL, N_CHG) != N_CHG ||
		    store_journal_lag(s) != 0 || store_journal_count(s) != N_CHG) {
			_exit(1);
		}
		break;
	}
	_exit(CRASHED);
}

static void crash_and_recover(struct store_fix *f, enum crash_at at, bool journal)
{
	struct store *s;
	pid_t pid = child_fork(0);

	assert_true(pid >= 0);
	if (pid == 0) {
		crash_child(f, at);
	}
	assert_int_equal(child_wait(pid), CRASHED);

	/* The restart: every journaled change is in the bindings, once; the journal empty. */
	s = open_store(f, journal);
	assert_workload(s, N_CHG);
	assert_true(store_journal_lag(s) == 0);
	assert_true(!journal || store_journal_count(s) == 0);
	store_close(s);
	if (!journal) {
		s = open_store(f, true);
		assert_true(store_journal_count(s) == 0);
		store_close(s);
	}
}

static void test_crash_before_apply(void **state)
{
	crash_and_recover(*state, CRASH_BEFORE_APPLY, true);
}

static void test_crash_in_apply(void **state)
{
	crash_and_recover(*state, CRASH_IN_APPLY, true);
}

static void test_crash_in_second_apply(void **state)
{
	crash_and_recover(*state, CRASH_IN_SECOND_APPLY, true);
}

static void test_crash_before_trim(void **state)
{
	crash_and_recover(*state, CRASH_BEFORE_TRIM, true);
}

/* A restart in relaxed mode, or a dump, opens without asking for the journal: it replays. */
static void test_crash_reopen_without_journal(void **state)
{
	crash_and_recover(*state, CRASH_IN_SECOND_APPLY, false);
}

static void test_committer_journal(void **state)
{
	struct store_fix *f = *state;
	struct store *s = open_store(f, true);
	struct committer_opts o = {.n_workers = 1, .ring_size = 64, .journal = true,
				   .max_lag = 8};
	struct committer *c = committer_new(s, &o);
	struct store_binding b;
	uint32_t addrs[16];
	uint64_t gens[16];

	assert_non_null(c);
	assert_int_equal(committer_tap_enable(c, 16), 0);
	for (unsigned i = 0; i < 9; i++) {
		struct dp_change ch = workload(i);

		ch.seq = i + 1;
		assert_int_equal(committer_ops.post(c, &ch), 0);
	}
	/* Journaled is durable (one pwrite and one fdatasync): published at once, though the
	 * bindings do not have it yet. */
	assert_int_equal(committer_round(c), 9);
	assert_true(committer_ops.durable(c, 0) == 9);
	assert_int_equal(committer_round(c), 0);
	assert_true(committer_ops.durable(c, 0) == 9);
	assert_int_equal(store_get(s, BASE + 1, &b), -ENOENT);
	assert_int_equal(committer_tap_drain(c, addrs, gens, 16), 0);

	/* 9 behind, max_lag 8: the committer leaves the ring alone (the idle round above was
	 * held back too). */
	assert_true(atomic_load(&committer_stats(c)->lag_stalls) == 1);
	{
		struct dp_change ch = workload(N_ADDR + 3);

		ch.seq = 10;
		assert_int_equal(committer_ops.post(c, &ch), 0);
	}
	assert_int_equal(committer_round(c), 0);
	assert_true(committer_ops.durable(c, 0) == 9);
	assert_true(atomic_load(&committer_stats(c)->lag_stalls) == 2);

	/* The second stage: bindings, then the tap with the generations it assigned. */
	assert_int_equal(committer_apply_round(c), 9);
	assert_int_equal(store_get(s, BASE + 1, &b), 0);
	assert_int_equal(committer_tap_drain(c, addrs, gens, 16), 3);	/* 0, 3, 6 */
	assert_int_equal(addrs[1], BASE + 3);
	assert_true(gens[1] == 1);
	assert_int_equal(committer_round(c), 1);
	assert_true(committer_ops.durable(c, 0) == 10);
	{
		struct dp_change ch = workload(N_ADDR + 4);

		ch.seq = 11;
		assert_int_equal(committer_ops.post(c, &ch), 0);
	}
	assert_int_equal(committer_round(c), 1);
	assert_true(committer_ops.durable(c, 0) == 11);
	assert_int_equal(committer_round(c), 0);
	assert_true(committer_ops.durable(c, 0) == 11);
	assert_int_equal(committer_apply_round(c), 2);
	assert_int_equal(committer_tap_drain(c, addrs, gens, 16), 1);
	assert_int_equal(addrs[0], BASE + 3);
	assert_true(gens[0] == 2);
	assert_int_equal(committer_apply_round(c), 0);

	/* The threads: everything posted before the stop is applied and the journal trimmed. */
	assert_int_equal(committer_start(c), 0);
	for (unsigned i = 9; i < 40; i++) {
		struct dp_change ch = workload(i);

		ch.seq = i + 3;
		while (committer_ops.post(c, &ch) == -ENOBUFS) {
			usleep(100);
		}
	}
	assert_int_equal(committer_stop(c, 5000), 0);
	assert_true(store_journal_lag(s) == 0);
	assert_true(store_journal_count(s) == 0);
	assert_int_equal(store_get(s, BASE + 39, &b), 0);
	committer_free(c);

	/* Journal mode needs a store with a journal. */
	store_close(s);
	s = open_store(f, false);
	assert_null(committer_new(s, &o));
	store_close(s);
}

/* --- prefilled data files --- */

#define PF_AHEAD	(256u << 10)
#define PF_ADDRS	20000
#define PF_GROUP	1000

static struct store *try_open_prefill(struct store_fix *f, uint64_t ahead)
{
	struct store_opts o = {.sync = STORE_SYNC_STRICT, .journal = true,
			       .prefill_ahead = ahead};

	return store_fix_try_open(f, &o);
}

/* Written (no hole) from the start of @p path up to at least @p upto. */
static void assert_no_hole_below(const char *path, uint64_t upto)
{
	int fd = open(path, O_RDONLY);
	off_t hole;

	assert_true(fd >= 0);
	hole = lseek(fd, 0, SEEK_HOLE);
	close(fd);
	assert_true(hole >= 0 && (uint64_t)hole >= upto);
}

/* A segment file of the journal has its full size, written (no hole): the spare. */
static void assert_spare_written(struct store_fix *f)
{
	DIR *d = opendir(f->jdir);
	struct dirent *de;
	bool found = false;

	assert_non_null(d);
	while (!found && (de = readdir(d)) != NULL) {
		char path[512];
		struct stat st;

		if (strstr(de->d_name, ".wal") == NULL) {
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", f->jdir, de->d_name);
		assert_int_equal(stat(path, &st), 0);
		if ((uint64_t)st.st_size == JOURNAL_SEG_SIZE) {
			assert_no_hole_below(path, JOURNAL_SEG_SIZE);
			found = true;
		}
	}
	closedir(d);
	assert_true(found);
}

/* Both data files at least as far ahead of their use as store.h promises. */
static void assert_ahead(struct store_fix *f, struct store *s)
{
	struct store_data_file b, j;
	char path[160];
	uint64_t ahead;

	assert_int_equal(store_data_files(s, &b, &j), 0);
	ahead = b.used / 8 > PF_AHEAD ? b.used / 8 : PF_AHEAD;
	assert_true(b.size >= b.used + ahead);
	/* The journal: a spare segment written whole beside the ones in use. */
	assert_true(j.size >= j.used + JOURNAL_SEG_SIZE);
	snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
	assert_no_hole_below(path, b.used + ahead);
	assert_spare_written(f);
}

/* Change @p i of a workload of PF_ADDRS clients, one address each. */
static struct dp_change pf_change(unsigned i)
{
	struct dp_change c = workload(i % N_ADDR);

	c.addr = BASE + i;
	c.key.data[4] = (uint8_t)(i >> 16);
	c.key.data[5] = (uint8_t)(i >> 8);
	c.key.data[6] = (uint8_t)i;
	memcpy(c.hw, c.key.data, 7);
	c.flags = 0;
	c.state = BT_ACTIVE;
	return c;
}

static void test_prefill_ahead(void **state)
{
	struct store_fix *f = *state;
	static struct dp_change g[PF_GROUP], out[PF_GROUP];
	struct store_prefill_stats ps;
	struct store_data_file b0, j0, b, j;
	struct committer_opts o = {.n_workers = 1, .ring_size = 64, .journal = true};
	struct store *s;
	struct committer *c;
	uint64_t grown = 0;

	/* Without prefill_ahead nothing is written ahead. */
	s = open_store(f, true);
	assert_int_equal(store_data_files(s, &b0, &j0), 0);
	assert_true(store_prefill(s, 0) == 0);
	assert_int_equal(store_data_files(s, &b, &j), 0);
	assert_true(b.size == b0.size && j.size == j0.size);
	assert_true(b.size < b.used + PF_AHEAD && j.size < j.used + PF_AHEAD);
	store_close(s);

	/* At open (the daemon's first call): both files, in one go. */
	s = try_open_prefill(f, PF_AHEAD);
	assert_non_null(s);
	assert_true(store_prefill(s, 0) > 0);
	assert_ahead(f, s);
	store_prefill_stats(s, &ps);
	assert_true(ps.extensions == 2 && ps.failures == 0 && ps.bytes >= 4 * PF_AHEAD);
	assert_true(store_prefill(s, 0) == 0);	/* far enough ahead: nothing */

	/* The applier's rounds (committer_apply_round: prefill, then apply) keep them ahead
	 * as the bindings grow well past the first extension. */
	c = committer_new(s, &o);
	assert_non_null(c);
	for (unsigned i = 0; i < PF_ADDRS; i += PF_GROUP) {
		for (unsigned k = 0; k < PF_GROUP; k++) {
			g[k] = pf_change(i + k);
		}
		assert_int_equal(store_journal_append(s, g, PF_GROUP), 0);
		assert_true(store_journal_apply(s, out, NULL, PF_GROUP) == PF_GROUP);
		assert_int_equal(committer_apply_round(c), 0);
		assert_ahead(f, s);
	}
	assert_int_equal(store_data_files(s, &b, &j), 0);
	assert_true(b.used > 4 * PF_AHEAD);	/* it did grow past the first extension */
	store_prefill_stats(s, &ps);
	grown = ps.extensions;
	assert_true(grown > 2 && ps.failures == 0 && ps.ns > 0);
	assert_true(atomic_load(&committer_stats(c)->prefill_extensions) == grown);
	assert_true(atomic_load(&committer_stats(c)->prefill_bytes) == ps.bytes);
	committer_free(c);
	store_close(s);

	/* Reopened: every binding reads back from a file with a prefilled tail. */
	s = open_store(f, true);
	assert_true(store_count(s) == PF_ADDRS);
	for (unsigned i = 0; i < PF_ADDRS; i += 97) {
		struct store_binding sb;
		struct dp_change want = pf_change(i);

		assert_int_equal(store_get(s, BASE + i, &sb), 0);
		assert_memory_equal(sb.key.data, want.key.data, want.key.len);
	}
	store_close(s);
}

/* A restart of a strict store writes no spare: the one its last run prefilled and never
 * used is taken again (journal.c, "Spares across a restart"), and the first appends go
 * there, not into a file created on the ACK path. */
static void test_restart_takes_the_spare(void **state)
{
	struct store_fix *f = *state;
	struct store_prefill_stats ps;
	struct store *s;

	s = try_open_prefill(f, PF_AHEAD);
	assert_non_null(s);
	assert_true(store_prefill(s, 0) > 0);
	store_prefill_stats(s, &ps);
	assert_true(ps.extensions == 2 && ps.bytes >= JOURNAL_SEG_SIZE);
	store_close(s);

	s = try_open_prefill(f, PF_AHEAD);
	assert_non_null(s);
	assert_true(store_prefill(s, 0) == 0);		/* nothing written */
	store_prefill_stats(s, &ps);
	assert_true(ps.extensions == 0 && ps.failures == 0);
	assert_ahead(f, s);
	assert_int_equal(journal_workload(s, N_CHG), 0);
	assert_true(store_journal_path_creates(s) == 0);
	store_close(s);
	s = open_store(f, true);
	assert_workload(s, N_CHG);
	store_close(s);
}

/* The child: a prefilled store, the workload journaled and partly applied, files extended
 * again, then death without a close or a sync of the bindings (kill -9). */
static void prefill_crash_child(struct store_fix *f)
{
	static struct dp_change out[N_CHG];
	struct store *s = try_open_prefill(f, PF_AHEAD);

	if (s == NULL || store_prefill(s, 0) <= 0 || journal_workload(s, N_CHG) != 0 ||
	    store_journal_apply(s, out, NULL, 400) != 400 || store_prefill(s, 0) < 0) {
		_exit(1);
	}
	_exit(CRASHED);
}

static void test_prefill_crash(void **state)
{
	struct store_fix *f = *state;
	struct store_data_file b, j;
	struct store *s;
	pid_t pid = child_fork(0);

	assert_true(pid >= 0);
	if (pid == 0) {
		prefill_crash_child(f);
	}
	assert_int_equal(child_wait(pid), CRASHED);
	/* The restart (prefilling as the daemon does): every journaled change, once. */
	s = try_open_prefill(f, PF_AHEAD);
	assert_non_null(s);
	assert_int_equal(store_data_files(s, &b, &j), 0);
	assert_true(b.size >= b.used + PF_AHEAD);
	assert_workload(s, N_CHG);
	assert_true(store_journal_lag(s) == 0 && store_journal_count(s) == 0);
	/* The segments found at open were deleted, not recycled (their tails are not known):
	 * the daemon's prefill after open has a spare again (the one the child prefilled last,
	 * checked whole, or a new one). */
	assert_true(store_prefill(s, 0) >= 0);
	assert_int_equal(store_data_files(s, &b, &j), 0);
	assert_true(j.size >= j.used + PF_AHEAD);
	store_close(s);
	s = open_store(f, false);
	assert_workload(s, N_CHG);
	store_close(s);
}

/* The child, forked with a 128 KiB file-size limit (child_fork()): every prefill fails
 * (EFBIG) while LMDB's own writes fit. Exit codes say which check failed. */
static void prefill_fail_child(struct store_fix *f)
{
	static struct dp_change out[N_CHG];
	struct committer_opts o = {.n_workers = 1, .ring_size = 64, .journal = true};
	struct store_prefill_stats ps;
	struct committer *c;
	struct store *s;

	s = try_open_prefill(f, PF_AHEAD);
	if (s == NULL) {
		_exit(3);
	}
	if (store_prefill(s, 0) != -EFBIG || strstr(store_prefill_errmsg(s), "prefill") == NULL) {
		_exit(4);
	}
	store_prefill_stats(s, &ps);
	if (ps.failures == 0 || ps.last_error != -EFBIG) {
		_exit(5);
	}
	/* The committer counts it and goes on: the apply is not failed by it. */
	c = committer_new(s, &o);
	if (c == NULL || journal_workload(s, N_CHG) != 0 || committer_apply_round(c) != N_CHG ||
	    atomic_load(&committer_stats(c)->prefill_failures) <= ps.failures ||
	    atomic_load(&committer_stats(c)->prefill_error) != -EFBIG ||
	    atomic_load(&committer_stats(c)->apply_failures) != 0) {
		_exit(6);
	}
	if (journal_workload(s, N_CHG) != 0 || store_journal_apply(s, out, NULL, 400) != 400) {
		_exit(7);
	}
	_exit(CRASHED);
}

static void test_prefill_failure(void **state)
{
	struct store_fix *f = *state;
	struct store *s;
	pid_t pid = child_fork(128u << 10);

	assert_true(pid >= 0);
	if (pid == 0) {
		prefill_fail_child(f);
	}
	assert_int_equal(child_wait(pid), CRASHED);
	/* Nothing lost: the workload twice over (the second pass partly applied at the crash,
	 * the rest replayed), each FO change raising its generation once. */
	s = open_store(f, true);
	assert_true(store_journal_lag(s) == 0);
	{
		struct gens g = {.n = 0};

		assert_int_equal(store_unacked_load(s, gen_cb, &g), 0);
		for (unsigned a = 0; a < N_ADDR; a++) {
			struct dp_change last = workload((ROUNDS - 1) * N_ADDR + a);
			struct store_binding b;

			assert_true(g.gen[a] == ((last.flags & DP_CHANGE_FO) ? 2 * ROUNDS : 0));
			assert_int_equal(store_get(s, BASE + a, &b),
					 last.state == BT_FREE ? -ENOENT : 0);
			assert_true(last.state == BT_FREE || b.ends == last.ends);
		}
	}
	store_close(s);
}

/*
 * The applier's drain at stop prepares nothing for later: no spare segment, no extension of
 * the bindings' file (nothing will use them; a 16 MiB spare made every stop wait for its
 * zeros and their flush). It still applies everything, and the next start finds it all.
 */
static void test_stop_drains_without_prefill(void **state)
{
	struct store_fix *f = *state;
	struct committer_opts o = {.n_workers = 1, .ring_size = 64, .journal = true};
	struct store_prefill_stats ps;
	struct store_data_file b, j;
	struct committer *c;
	struct store *s;

	/* Opened without the daemon's first prefill: both files are due for one. */
	s = try_open_prefill(f, PF_AHEAD);
	assert_non_null(s);
	assert_int_equal(journal_workload(s, N_CHG), 0);
	c = committer_new(s, &o);
	assert_non_null(c);
	assert_int_equal(committer_stop(c, 0), 0);	/* never started: marks the stop */
	assert_int_equal(committer_apply_round(c), N_CHG);
	assert_int_equal(committer_apply_round(c), 0);
	store_prefill_stats(s, &ps);
	assert_true(ps.extensions == 0 && ps.bytes == 0 && ps.failures == 0);
	assert_true(atomic_load(&committer_stats(c)->prefill_extensions) == 0);
	assert_int_equal(store_data_files(s, &b, &j), 0);
	assert_true(j.size < j.used + JOURNAL_SEG_SIZE);	/* no spare beside the segment */
	committer_free(c);
	store_close(s);
	s = open_store(f, true);
	assert_true(store_journal_lag(s) == 0);
	assert_workload(s, N_CHG);
	store_close(s);
}

/* --- the segment journal's own cases (journal.h) --- */

/* The standard check value, continuation, and a bitwise reference on odd lengths. */
static uint32_t crc32c_bitwise(const uint8_t *p, size_t len)
{
	uint32_t crc = ~0u;

	while (len-- > 0) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++) {
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
		}
	}
	return ~crc;
}

static void test_crc32c(void **state)
{
	uint8_t buf[67];

	(void)state;
	assert_int_equal(store_crc32c(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(store_crc32c(store_crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
	assert_int_equal(store_crc32c(0, "", 0), 0);
	for (size_t i = 0; i < sizeof(buf); i++) {
		buf[i] = (uint8_t)(i * 37 + 11);
	}
	for (size_t len = 0; len <= sizeof(buf) - 3; len++) {
		assert_int_equal(store_crc32c(0, buf + 3, len), crc32c_bitwise(buf + 3, len));
	}
}

/* How many segment files "*.wal" @p dir holds; *newest gets the last name in order. */
static unsigned wal_files(const char *dir, char *newest, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned n = 0;

	assert_non_null(d);
	if (newest != NULL) {
		newest[0] = 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, ".wal") == NULL) {
			continue;
		}
		n++;
		if (newest != NULL && strcmp(de->d_name, newest) > 0 &&
		    strlen(de->d_name) < len) {
			memcpy(newest, de->d_name, strlen(de->d_name) + 1);
		}
	}
	closedir(d);
	return n;
}

/* journal_read from 0 returns exactly seqs 1..@p n, whose addresses are @p addr(seq). */
static void assert_reads(struct journal *j, uint64_t n, uint32_t (*addr)(uint64_t seq))
{
	static struct dp_change out[4096];
	static uint64_t seqs[4096];
	uint64_t after = 0;
	long got;

	while ((got = journal_read(j, after, out, seqs, 4096)) > 0) {
		for (long i = 0; i < got; i++) {
			assert_true(seqs[i] == after + 1);
			assert_int_equal(out[i].addr, addr(seqs[i]));
			after = seqs[i];
		}
	}
	assert_int_equal(got, 0);
	assert_true(after == n);
	assert_true(journal_last(j) == n);
}

static uint32_t addr_of(uint64_t seq)
{
	return BASE + (uint32_t)seq;
}

/* Records 8 and up were written again after a torn tail: their addresses differ. */
static uint32_t addr_rewritten(uint64_t seq)
{
	return seq < 7 ? BASE + (uint32_t)seq : BASE + 1000 + (uint32_t)seq;
}

static struct dp_change seq_change(uint64_t seq, uint32_t addr)
{
	struct dp_change c = workload((unsigned)seq % N_ADDR);

	c.addr = addr;
	return c;
}

enum tear { TEAR_TRUNCATE, TEAR_FLIP, TEAR_ZERO_HEADER };

/*
 * A torn tail: record 7 of 10 (one per append) cut in the middle, one byte of its entry
 * flipped, or its header zeroed. The reopened journal holds exactly 1..6 (never 8..10, which
 * are intact behind it); appends go on in a new segment from 7 and replay after another
 * reopen.
 */
static void torn_tail(struct store_fix *f, enum tear how)
{
	char name[64], path[300];
	struct journal *j;
	struct stat st;
	uint64_t off = 32;	/* the segment header */
	int fd;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	j = journal_open(f->jdir, true, 0, 0, f->err, sizeof(f->err));
	assert_non_null(j);
	for (uint64_t q = 1; q <= 10; q++) {
		struct dp_change c = seq_change(q, addr_of(q));

		assert_int_equal(journal_append(j, &c, 1, NULL), 0);
	}
	journal_close(j);
	assert_int_equal(wal_files(f->jdir, name, sizeof(name)), 1);
	snprintf(path, sizeof(path), "%s/%s", f->jdir, name);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	/* Find record 7: each is 16 bytes of header and its length. */
	for (int r = 1; r < 7; r++) {
		uint8_t h[16];

		assert_int_equal(pread(fd, h, 16, (off_t)off), 16);
		off += 16 + ((uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | h[6] << 8 | h[7]);
	}
	if (how == TEAR_TRUNCATE) {
		assert_int_equal(ftruncate(fd, (off_t)off + 20), 0);
	} else if (how == TEAR_FLIP) {
		uint8_t b;

		assert_int_equal(pread(fd, &b, 1, (off_t)off + 16 + 5), 1);
		b ^= 0x10;
		assert_int_equal(pwrite(fd, &b, 1, (off_t)off + 16 + 5), 1);
	} else {
		static const uint8_t zero[16];

		assert_int_equal(pwrite(fd, zero, 16, (off_t)off), 16);
	}
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);

	j = journal_open(f->jdir, true, 0, 0, f->err, sizeof(f->err));
	assert_non_null(j);
	assert_true(journal_count(j) == 6);
	assert_reads(j, 6, addr_of);
	for (uint64_t q = 7; q <= 9; q++) {
		struct dp_change c = seq_change(q, addr_rewritten(q));

		assert_int_equal(journal_append(j, &c, 1, NULL), 0);
	}
	assert_int_equal(wal_files(f->jdir, NULL, 0), 2);	/* never after the torn tail */
	assert_reads(j, 9, addr_rewritten);
	journal_close(j);
	j = journal_open(f->jdir, true, 0, 0, f->err, sizeof(f->err));
	assert_non_null(j);
	assert_reads(j, 9, addr_rewritten);
	journal_close(j);
	/* The old segment's file is as it was left (the scan writes nothing). */
	assert_int_equal(stat(path, &st), 0);
}

static void test_torn_tail_truncated(void **state)
{
	torn_tail(*state, TEAR_TRUNCATE);
}

static void test_torn_tail_flipped(void **state)
{
	torn_tail(*state, TEAR_FLIP);
}

static void test_torn_tail_zeroed(void **state)
{
	torn_tail(*state, TEAR_ZERO_HEADER);
}

struct append_arg {
	struct journal *j;
	struct dp_change c[5];
	int rc;
};

static void *append_thread(void *arg)
{
	struct append_arg *a = arg;

	a->rc = journal_append(a->j, a->c, 5, NULL);
	return NULL;
}

/*
 * A crash between a group's pwrite and its fdatasync (the child _exits while the append
 * sleeps in its commit step): the acknowledged groups replay; the last one, never
 * acknowledged, replays whole or not at all (here whole: the page cache survives a process's
 * death), never in part; the next append starts a new segment.
 */
static void test_crash_between_write_and_flush(void **state)
{
	struct store_fix *f = *state;
	struct journal *j;
	pid_t pid;
	uint64_t last;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	pid = child_fork(0);
	assert_true(pid >= 0);
	if (pid == 0) {
		static struct append_arg a;
		pthread_t th;

		j = journal_open(f->jdir, true, 0, 0, f->err, sizeof(f->err));
		if (j == NULL) {
			_exit(1);
		}
		for (uint64_t q = 1; q <= 20; q++) {
			struct dp_change c = seq_change(q, addr_of(q));

			if (journal_append(j, &c, 1, NULL) != 0) {
				_exit(2);
			}
		}
		a.j = j;
		for (unsigned i = 0; i < 5; i++) {
			a.c[i] = seq_change(21 + i, addr_of(21 + i));
		}
		journal_inject_delay(j, 10000);
		if (pthread_create(&th, NULL, append_thread, &a) != 0) {
			_exit(3);
		}
		while (journal_phase(j) != JOURNAL_COMMIT) {
			usleep(100);
		}
		_exit(CRASHED);		/* written, not flushed, not acknowledged */
	}
	assert_int_equal(child_wait(pid), CRASHED);
	j = journal_open(f->jdir, true, 0, 0, f->err, sizeof(f->err));
	assert_non_null(j);
	last = journal_last(j);
	assert_true(last == 20 || last == 25);
	assert_reads(j, last, addr_of);
	{
		struct dp_change c = seq_change(last + 1, addr_of(last + 1));

		assert_int_equal(journal_append(j, &c, 1, NULL), 0);
	}
	assert_int_equal(wal_files(f->jdir, NULL, 0), 2);
	journal_close(j);
	j = journal_open(f->jdir, true, 0, 0, f->err, sizeof(f->err));
	assert_non_null(j);
	assert_reads(j, last + 1, addr_of);
	journal_close(j);
}

/* Sequences 4-6 of the failed groups had other addresses than the ones that replaced them. */
static uint32_t addr_after_failures(uint64_t seq)
{
	return seq <= 3 ? addr_of(seq) : BASE + 500 + (uint32_t)seq;
}

/*
 * A pwrite that fails half-way and an fdatasync that fails: each append returns the error,
 * publishes nothing (journal_last, journal_read, journal_count unchanged), reuses no
 * sequence, and the next append goes to a new segment. The failed groups' bytes are in the
 * abandoned segments' files (the failed flush's whole group): the reopened journal still
 * replays exactly the appends that returned 0, once.
 */
static void test_failed_write_and_flush(void **state)
{
	struct store_fix *f = *state;
	struct dp_change g[3], out[8];
	uint64_t seqs[8], last;
	struct journal *j;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	j = journal_open(f->jdir, true, 0, 0, f->err, sizeof(f->err));
	assert_non_null(j);
	for (unsigned i = 0; i < 3; i++) {
		g[i] = seq_change(1 + i, addr_of(1 + i));
	}
	assert_int_equal(journal_append(j, g, 3, &last), 0);
	assert_true(last == 3);

	for (int round = 0; round < 2; round++) {
		enum journal_phase ph = round == 0 ? JOURNAL_COMMIT : JOURNAL_PUT;
		uint64_t q = 4 + (uint64_t)round;

		for (unsigned i = 0; i < 3; i++) {
			g[i] = seq_change(q + i, addr_of(q + i));	/* the failing content */
		}
		journal_inject_fault(j, ph, EIO);
		assert_int_equal(journal_append(j, g, 3, &last), -EIO);
		assert_true(journal_last(j) == q - 1);
		assert_true(journal_count(j) == q - 1);
		assert_int_equal(journal_read(j, q - 1, out, seqs, 8), 0);
		assert_true(journal_reopens(j) == (uint64_t)round + 1);
		assert_non_null(strstr(journal_errmsg(j), round == 0 ? "flush" : "write"));
		g[0] = seq_change(q, addr_after_failures(q));
		assert_int_equal(journal_append(j, g, 1, &last), 0);
		assert_true(last == q);
		assert_int_equal(wal_files(f->jdir, NULL, 0), (unsigned)round + 2);
	}
	assert_reads(j, 5, addr_after_failures);
	journal_close(j);
	j = journal_open(f->jdir, true, 0, 0, f->err, sizeof(f->err));
	assert_non_null(j);
	assert_reads(j, 5, addr_after_failures);
	assert_true(journal_count(j) == 5);
	journal_close(j);
}

#define RO_TOTAL	20000

struct reader_arg {
	struct journal *j;
	uint64_t got;
	int bad;
};

static void *reader_thread(void *arg)
{
	static struct dp_change out[512];
	static uint64_t seqs[512];
	struct reader_arg *r = arg;

	while (r->got < RO_TOTAL && r->bad == 0) {
		long n = journal_read(r->j, r->got, out, seqs, 1 + r->got % 512);
		uint64_t last = journal_last(r->j);

		if (n < 0) {
			r->bad = 1;
		}
		for (long i = 0; i < n && r->bad == 0; i++) {
			if (seqs[i] != r->got + 1 || out[i].addr != addr_of(seqs[i]) ||
			    seqs[i] > last) {
				r->bad = 2;	/* out of order, wrong, or not yet durable */
			}
			r->got = seqs[i];
		}
	}
	return NULL;
}

/* RO_TOTAL changes appended to @p j in groups of 1 .. @p group_mod while reader_thread()
 * reads behind them: it must see every sequence once, in order, with its content. */
static void append_while_reading(struct journal *j, unsigned group_mod)
{
	static struct dp_change g[64];
	struct reader_arg r = {.got = 0};
	pthread_t th;
	uint64_t q = 0;

	assert_true(group_mod <= 64);
	r.j = j;
	assert_int_equal(pthread_create(&th, NULL, reader_thread, &r), 0);
	while (q < RO_TOTAL) {
		unsigned n = 1 + (unsigned)(q % group_mod);

		if (q + n > RO_TOTAL) {
			n = (unsigned)(RO_TOTAL - q);
		}
		for (unsigned i = 0; i < n; i++) {
			g[i] = seq_change(q + 1 + i, addr_of(q + 1 + i));
		}
		assert_int_equal(journal_append(j, g, n, NULL), 0);
		q += n;
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(r.bad, 0);
	assert_true(r.got == RO_TOTAL);
}

/*
 * Many appends roll over many small segments (8 KiB) while another thread reads behind
 * them: it sees every sequence once, in order, with its content, and never one that its
 * append had not made durable; a reopen reads them all back.
 */
static void test_rollover_concurrent_read(void **state)
{
	struct store_fix *f = *state;
	struct journal *j;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	/* No flush (what is tested is the readers' view, not the disk): fast. */
	j = journal_open(f->jdir, false, 0, 8192, f->err, sizeof(f->err));
	assert_non_null(j);
	append_while_reading(j, 61);
	assert_true(wal_files(f->jdir, NULL, 0) > 100);
	assert_true(journal_path_creates(j) == wal_files(f->jdir, NULL, 0));	/* no spare */
	journal_close(j);
	j = journal_open(f->jdir, true, 0, 8192, f->err, sizeof(f->err));
	assert_non_null(j);
	assert_reads(j, RO_TOTAL, addr_of);
	journal_close(j);
}

/*
 * review19: as test_rollover_concurrent_read, in strict mode: the appender rewrites the
 * block holding each segment's end through its O_DIRECT descriptor while another thread
 * reads the same blocks through the buffered one (the page cache). The reader never sees
 * a stale block: every sequence once, in order, with its content.
 */
static void test_direct_concurrent_read(void **state)
{
	struct store_fix *f = *state;
	struct journal *j;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	j = journal_open(f->jdir, true, 0, 65536, f->err, sizeof(f->err));
	assert_non_null(j);
	append_while_reading(j, 7);
	assert_true(journal_direct_appends(j) > 0);
	journal_close(j);
	j = journal_open(f->jdir, true, 0, 65536, f->err, sizeof(f->err));
	assert_non_null(j);
	assert_reads(j, RO_TOTAL, addr_of);
	journal_close(j);
}

/*
 * Trim deletes (or recycles) only segments whose every entry is applied, never the
 * appender's; a prepared spare is taken by the next new segment (no file created on the
 * append's path), and a trimmed segment of full size becomes the next spare.
 */
static void test_trim_segments(void **state)
{
	struct store_fix *f = *state;
	struct dp_change g[40], out[8];
	struct journal_files jf;
	uint64_t seqs[8];
	struct journal *j;
	/* Not a multiple of 4 KiB: a segment created on the path, its last block padded with
	 * zeros by a direct append (journal.c, "Direct appends"), stays below the segment size
	 * and is deleted when trimmed, not recycled; the spare is recycled. */
	const uint64_t seg = 5000;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	j = journal_open(f->jdir, true, 0, seg, f->err, sizeof(f->err));
	assert_non_null(j);
	/* Groups of 40 (~2.5 KiB): one segment each. */
	for (uint64_t k = 0; k < 4; k++) {
		for (unsigned i = 0; i < 40; i++) {
			g[i] = seq_change(k * 40 + 1 + i, addr_of(k * 40 + 1 + i));
		}
		assert_int_equal(journal_append(j, g, 40, NULL), 0);
	}
	assert_int_equal(wal_files(f->jdir, NULL, 0), 4);
	assert_true(journal_path_creates(j) == 4);
	/* Up to 79: the first segment (1-40) goes, not the second (41-80). */
	assert_int_equal(journal_trim(j, 79, false), 0);
	assert_int_equal(wal_files(f->jdir, NULL, 0), 3);
	assert_true(journal_count(j) == 120);
	assert_int_equal(journal_read(j, 79, out, seqs, 8), 8);
	assert_true(seqs[0] == 80);
	assert_int_equal(journal_read(j, 40, out, seqs, 1), 1);
	assert_true(seqs[0] == 41);
	/* Everything applied: all but the appender's current segment. */
	assert_int_equal(journal_trim(j, 160, false), 0);
	assert_int_equal(wal_files(f->jdir, NULL, 0), 1);
	assert_true(journal_count(j) == 40);

	/* A spare: written whole, taken by the next new segment; no creation on the path. */
	assert_true(journal_prefill(j, 0, NULL) == (int64_t)seg);
	assert_true(journal_prefill(j, 0, NULL) == 0);		/* ready */
	journal_files(j, &jf);
	assert_true(jf.segments == 2 && jf.size >= seg);
	for (unsigned i = 0; i < 40; i++) {
		g[i] = seq_change(161 + i, addr_of(161 + i));
	}
	assert_int_equal(journal_append(j, g, 40, NULL), 0);
	assert_true(journal_path_creates(j) == 4);
	/* The full-size segment (161-200) trimmed while no spare is ready: recycled. */
	for (unsigned i = 0; i < 40; i++) {
		g[i] = seq_change(201 + i, addr_of(201 + i));
	}
	assert_int_equal(journal_append(j, g, 40, NULL), 0);	/* created: no spare */
	assert_true(journal_path_creates(j) == 5);
	assert_int_equal(journal_trim(j, 200, false), 0);
	journal_files(j, &jf);
	assert_true(jf.segments == 2);				/* 201-240 and the spare */
	assert_true(journal_prefill(j, 0, NULL) == 0);		/* the recycled one is ready */
	/* 30 entries: too many for the current segment, fewer than the recycled file held,
	 * whose old records (191-200) follow them there. */
	for (unsigned i = 0; i < 30; i++) {
		g[i] = seq_change(241 + i, addr_of(241 + i));
	}
	assert_int_equal(journal_append(j, g, 30, NULL), 0);
	assert_int_equal(wal_files(f->jdir, NULL, 0), 2);
	assert_true(journal_path_creates(j) == 5);		/* it took the recycled one */
	journal_close(j);
	/* The recycled file's old records never pass for new ones. */
	j = journal_open(f->jdir, true, 0, seg, f->err, sizeof(f->err));
	assert_non_null(j);
	assert_true(journal_count(j) == 70);
	assert_int_equal(journal_read(j, 200, out, seqs, 8), 8);
	assert_true(seqs[0] == 201 && out[0].addr == addr_of(201));
	assert_true(journal_last(j) == 270);
	/* Segments found at open may hide a torn group past their last record: trimmed, they
	 * are deleted, never recycled. */
	assert_int_equal(journal_trim(j, 270, true), 0);
	assert_int_equal(wal_files(f->jdir, NULL, 0), 0);
	journal_close(j);
}

/* --- spares across a restart (journal.c, "Spares across a restart") --- */

#define SP_SEG	(64u << 10)

/* Write the spare mark of file @p name (number @p fileno) over its first bytes, as
 * journal_prefill() writes it; @p size is the segment size it claims. */
static void put_mark(struct store_fix *f, const char *name, uint64_t fileno, uint64_t size)
{
	uint8_t m[32] = {0};
	char path[256];
	int fd;

	m[0] = 'L', m[1] = 'W', m[2] = 'J', m[3] = 'S';
	m[7] = 1;
	for (unsigned b = 0; b < 8; b++) {
		m[8 + b] = (uint8_t)(fileno >> (56 - 8 * b));
		m[16 + b] = (uint8_t)(size >> (56 - 8 * b));
	}
	{
		uint32_t crc = store_crc32c(0, m, 28);

		m[28] = (uint8_t)(crc >> 24), m[29] = (uint8_t)(crc >> 16);
		m[30] = (uint8_t)(crc >> 8), m[31] = (uint8_t)crc;
	}
	snprintf(path, sizeof(path), "%s/%s", f->jdir, name);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, m, sizeof(m), 0), (ssize_t)sizeof(m));
	close(fd);
}

/* Open the journal of @p f in sync mode with SP_SEG segments. */
static struct journal *sp_open(struct store_fix *f)
{
	struct journal *j = journal_open(f->jdir, true, 0, SP_SEG, f->err, sizeof(f->err));

	if (j == NULL) {
		fail_msg("journal_open: %s", f->err);
	}
	return j;
}

/* Append changes @p from..@p to (sequence numbers), addresses by @p addr. */
static void sp_append(struct journal *j, uint64_t from, uint64_t to, uint32_t (*addr)(uint64_t))
{
	struct dp_change g[64];
	uint64_t last;

	assert_true(to - from < 64);
	for (uint64_t q = from; q <= to; q++) {
		g[q - from] = seq_change(q, addr(q));
	}
	assert_int_equal(journal_append(j, g, to - from + 1, &last), 0);
	assert_true(last == to);
}

/*
 * A spare written by the last run and never used is taken again at the next start: the
 * prefill reads it instead of writing one, the appender takes it (no file created on the
 * ACK path), and what is appended there replays after another restart.
 */
static void test_spare_taken_after_restart(void **state)
{
	struct store_fix *f = *state;
	struct journal_files jf;
	char name[64], now[64];
	uint64_t ns;
	struct journal *j;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	j = sp_open(f);
	assert_true(journal_prefill(j, 0, NULL) == (int64_t)SP_SEG);
	assert_int_equal(wal_files(f->jdir, name, sizeof(name)), 1);
	journal_close(j);

	j = sp_open(f);
	journal_files(j, &jf);
	assert_true(jf.segments == 0);			/* a candidate until checked */
	assert_true(journal_prefill(j, 0, &ns) == 0);	/* checked: the spare, no zeros */
	assert_true(ns > 0);
	journal_files(j, &jf);
	assert_true(jf.segments == 1 && jf.size == SP_SEG && jf.used == 0);
	assert_true(journal_prefill(j, 0, NULL) == 0);	/* ready */
	assert_int_equal(wal_files(f->jdir, now, sizeof(now)), 1);
	assert_string_equal(now, name);
	sp_append(j, 1, 40, addr_of);
	assert_true(journal_path_creates(j) == 0);
	assert_int_equal(wal_files(f->jdir, now, sizeof(now)), 1);
	assert_string_equal(now, name);			/* it went there */
	journal_close(j);

	j = sp_open(f);
	assert_reads(j, 40, addr_of);
	journal_close(j);
}

enum spare_damage {
	SPARE_NO_MARK,		/* zeros flushed, the mark never written (a crash before it) */
	SPARE_SHORT,		/* cut short, the mark kept */
	SPARE_TAKEN,		/* an appender's first group whose header sector was lost */
	SPARE_OLDER,		/* below a segment that holds records */
};

/*
 * A file that is not provably a spare of the last run is never taken for one: without its
 * mark (a prefill that a crash cut after its zeros), cut short, holding records behind an
 * intact mark (the first group of an appender that took it, torn: its header's sector
 * lost, its records kept, and their sequence numbers reused by the next run), or older
 * than a segment with records. The prefill writes a new spare, the file is deleted, and
 * nothing of it ever reads back.
 */
static void spare_damaged(struct store_fix *f, enum spare_damage how)
{
	char name[64], path[256], now[64];
	uint64_t fileno;
	struct journal *j;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	j = sp_open(f);
	assert_true(journal_prefill(j, 0, NULL) == (int64_t)SP_SEG);
	assert_int_equal(wal_files(f->jdir, name, sizeof(name)), 1);
	fileno = strtoull(name, NULL, 16);
	if (how == SPARE_TAKEN || how == SPARE_OLDER) {
		journal_close(j);
		j = sp_open(f);
		if (how == SPARE_OLDER) {
			/* Before the prefill checks it: the appender creates a segment. */
			sp_append(j, 1, 40, addr_of);
			assert_true(journal_path_creates(j) == 1);
		} else {
			assert_true(journal_prefill(j, 0, NULL) == 0);
			sp_append(j, 1, 40, addr_of);	/* into the spare */
			assert_true(journal_path_creates(j) == 0);
		}
	}
	journal_close(j);
	snprintf(path, sizeof(path), "%s/%s", f->jdir, name);
	switch (how) {
	case SPARE_NO_MARK:
		put_mark(f, name, fileno, SP_SEG);
		{
			static const uint8_t zero[32];
			int fd = open(path, O_WRONLY);

			assert_true(fd >= 0);
			assert_int_equal(pwrite(fd, zero, sizeof(zero), 0), 32);
			close(fd);
		}
		break;
	case SPARE_SHORT:
		assert_int_equal(truncate(path, SP_SEG / 2), 0);
		break;
	case SPARE_TAKEN:
		put_mark(f, name, fileno, SP_SEG);	/* the header's sector lost */
		break;
	case SPARE_OLDER:
		break;
	}

	j = sp_open(f);
	assert_true(journal_last(j) == (how == SPARE_OLDER ? 40 : 0));
	assert_true(journal_prefill(j, 0, NULL) == (int64_t)SP_SEG);	/* a new one */
	assert_int_equal(access(path, F_OK), -1);			/* deleted */
	assert_int_equal(wal_files(f->jdir, now, sizeof(now)), how == SPARE_OLDER ? 2 : 1);
	assert_true(strcmp(now, name) > 0);
	if (how == SPARE_OLDER) {
		assert_int_equal(journal_trim(j, 40, true), 0);
		journal_raise(j, 40);
	}
	/* Ten changes, other addresses: exactly those read back, never the old records. */
	{
		uint64_t base = how == SPARE_OLDER ? 40 : 0;
		struct dp_change out[64];
		uint64_t seqs[64];
		long n;

		sp_append(j, base + 1, base + 10, addr_rewritten);
		journal_close(j);
		j = sp_open(f);
		n = journal_read(j, base, out, seqs, 64);
		assert_int_equal(n, 10);
		for (long i = 0; i < n; i++) {
			assert_true(seqs[i] == base + 1 + (uint64_t)i);
			assert_int_equal(out[i].addr, addr_rewritten(seqs[i]));
		}
		assert_true(journal_last(j) == base + 10);
	}
	journal_close(j);
}

static void test_spare_without_mark(void **state)
{
	spare_damaged(*state, SPARE_NO_MARK);
}

static void test_spare_cut_short(void **state)
{
	spare_damaged(*state, SPARE_SHORT);
}

static void test_spare_with_records(void **state)
{
	spare_damaged(*state, SPARE_TAKEN);
}

static void test_spare_older_than_a_segment(void **state)
{
	spare_damaged(*state, SPARE_OLDER);
}

/* A prefill killed half way (the zeros half written, no mark): the next start writes its
 * own spare and deletes the torn one. */
static void test_spare_torn_by_a_crash(void **state)
{
	struct store_fix *f = *state;
	char name[64], now[64];
	struct journal *j;
	pid_t pid;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	pid = child_fork(0);
	assert_true(pid >= 0);
	if (pid == 0) {
		j = journal_open(f->jdir, true, 0, SP_SEG, f->err, sizeof(f->err));
		_exit(j != NULL && journal_prefill(j, SP_SEG / 2, NULL) == SP_SEG / 2 ?
		      CRASHED : 1);
	}
	assert_int_equal(child_wait(pid), CRASHED);
	assert_int_equal(wal_files(f->jdir, name, sizeof(name)), 1);
	j = sp_open(f);
	assert_true(journal_prefill(j, 0, NULL) == (int64_t)SP_SEG);
	assert_int_equal(wal_files(f->jdir, now, sizeof(now)), 1);
	assert_true(strcmp(now, name) > 0);
	journal_close(j);
}

/*
 * The bound on the segments' bytes (max_bytes): an append that needs a segment beyond it
 * fails with STORE_E_FULL, publishing nothing, until a trim makes room; then the same
 * sequences go on.
 */
static void test_full_until_trimmed(void **state)
{
	struct store_fix *f = *state;
	struct dp_change g[40];
	uint64_t last;
	struct journal *j;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	j = journal_open(f->jdir, true, 3 * 4096, 4096, f->err, sizeof(f->err));
	assert_non_null(j);
	for (uint64_t k = 0; k < 4; k++) {
		for (unsigned i = 0; i < 40; i++) {
			g[i] = seq_change(k * 40 + 1 + i, addr_of(k * 40 + 1 + i));
		}
		assert_int_equal(journal_append(j, g, 40, &last), k < 3 ? 0 : STORE_E_FULL);
	}
	assert_true(journal_last(j) == 120 && journal_count(j) == 120);
	assert_non_null(strstr(journal_errmsg(j), "applier must catch up"));
	assert_int_equal(journal_trim(j, 40, false), 0);
	assert_int_equal(journal_append(j, g, 40, &last), 0);
	assert_true(last == 160);
	journal_close(j);
}

/*
 * One owner at a time (review13): a second process that opens the store without a journal
 * (`leasewired --dump-store` beside the daemon) must leave the daemon's journal alone. It
 * used to trim (unlink) the daemon's current segment at open: the daemon went on appending
 * into the unlinked file, its fdatasyncs succeeded and ACKs left, and a crash then lost
 * them (or, after a segment switch, left a gap that refused the restart). A second owner
 * is refused. The owner is a child that crashes (_exit, as kill -9) after its last append;
 * small segments, so that it switches segments after the dump.
 */
static void test_second_opener_leaves_the_journal(void **state)
{
	struct store_fix *f = *state;
	struct store_opts own = {.sync = STORE_SYNC_STRICT, .journal = true,
				 .journal_segment = 8192};
	struct store_opts dump = {.sync = STORE_SYNC_STRICT};
	int to_parent[2], to_child[2];
	struct store *s;
	char b = 0;
	pid_t pid;

	assert_int_equal(pipe(to_parent), 0);
	assert_int_equal(pipe(to_child), 0);
	pid = child_fork(0);
	assert_true(pid >= 0);
	if (pid == 0) {
		struct dp_change g[GROUP];
		int rc = 0;

		close(to_parent[0]);
		close(to_child[1]);
		s = store_open(f->dir, &own, f->err, sizeof(f->err));
		for (unsigned i = 0; s != NULL && rc == 0 && i < N_CHG; i += GROUP) {
			if (i == N_CHG / 2 / GROUP * GROUP) {	/* about half journaled */
				rc = write(to_parent[1], "h", 1) == 1 &&
				     read(to_child[0], &b, 1) == 1 ? 0 : -1;
			}
			for (unsigned k = 0; k < GROUP && i + k < N_CHG; k++) {
				g[k] = workload(i + k);
			}
			if (rc == 0) {
				rc = store_journal_append(s, g, N_CHG - i < GROUP ? N_CHG - i : GROUP);
			}
		}
		_exit(s == NULL ? 2 : rc == 0 ? 0 : 1);	/* a crash: nothing applied */
	}
	close(to_parent[1]);	/* a child that dies early: EOF here, not a hang */
	close(to_child[0]);
	assert_int_equal(read(to_parent[0], &b, 1), 1);
	/* A second owner is refused while the first runs. */
	s = store_open(f->dir, &own, f->err, sizeof(f->err));
	assert_null(s);
	assert_non_null(strstr(f->err, "in use by another process"));
	/* A dump opens, reads and closes beside it. */
	s = store_open(f->dir, &dump, f->err, sizeof(f->err));
	assert_non_null(s);
	store_close(s);
	assert_int_equal(write(to_child[1], "g", 1), 1);
	assert_int_equal(child_wait(pid), 0);
	close(to_parent[0]);
	close(to_child[1]);
	/* The restart replays every change the crashed owner journaled, once. */
	f->s = store_open(f->dir, &own, f->err, sizeof(f->err));
	assert_non_null(f->s);
	assert_workload(f->s, N_CHG);
}

/*
 * Failed appends must not fill the journal (review13): each failure gives up its segment
 * and the retry takes a new one; a given-up segment that holds nothing durable used to stay
 * counted against the size bound until an apply trimmed it, and with nothing new durable no
 * apply runs: after bound / segment failures every append answered STORE_E_FULL, forever.
 */
static void test_failures_do_not_fill_it(void **state)
{
	struct store_fix *f = *state;
	struct dp_change g[4];
	uint64_t last;
	struct journal *j;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	j = journal_open(f->jdir, true, 4 * 4096, 4096, f->err, sizeof(f->err));
	assert_non_null(j);
	for (unsigned i = 0; i < 4; i++) {
		g[i] = seq_change(1 + i, addr_of(1 + i));
	}
	assert_int_equal(journal_append(j, g, 4, &last), 0);
	for (unsigned round = 0; round < 20; round++) {
		journal_inject_fault(j, round % 2 ? JOURNAL_PUT : JOURNAL_COMMIT, EIO);
		assert_int_equal(journal_append(j, g, 4, &last), -EIO);
	}
	/* The disk is back: the append goes through, and the files left are few. */
	for (unsigned i = 0; i < 4; i++) {
		g[i] = seq_change(5 + i, addr_of(5 + i));
	}
	assert_int_equal(journal_append(j, g, 4, &last), 0);
	assert_true(last == 8);
	assert_true(wal_files(f->jdir, NULL, 0) <= 3);
	assert_reads(j, 8, addr_of);
	journal_close(j);
}

/*
 * A prefill that fails (here EFBIG: a child under a 2 MiB file-size limit) records its
 * message apart (store_prefill_errmsg()): it must not replace the message of a failed
 * journal append that the control thread has yet to log as the outage's (review12: both
 * wrote store_errmsg(), from the applier's and the committer's threads).
 */
static void test_prefill_failure_keeps_the_store_message(void **state)
{
	struct store_fix *f = *state;
	pid_t pid = child_fork(2ull << 20);

	assert_true(pid >= 0);
	if (pid == 0) {
		struct store_opts o = {.sync = STORE_SYNC_STRICT, .journal = true,
				       .prefill_ahead = 8ull << 20};
		struct dp_change c = workload(0);
		struct store *s = store_open(f->dir, &o, f->err, sizeof(f->err));

		if (s == NULL) {
			_exit(2);
		}
		store_inject_failure(s, 1, STORE_E_IO);
		if (store_journal_append(s, &c, 1) == 0 ||
		    strstr(store_errmsg(s), "injected") == NULL) {
			_exit(3);
		}
		if (store_prefill(s, 0) >= 0) {
			_exit(4);		/* the limit must make it fail */
		}
		if (strstr(store_errmsg(s), "injected") == NULL) {
			_exit(1);		/* the append's message was replaced */
		}
		_exit(strstr(store_prefill_errmsg(s), "prefill") != NULL ||
		      strstr(store_prefill_errmsg(s), "journal") != NULL ? 0 : 5);
	}
	assert_int_equal(child_wait(pid), 0);
}

/*
 * Upgrade: a store whose journal is still the previous binaries' LMDB environment (written
 * by journal_mdb, as they did) opens with every entry applied once, the LMDB files removed,
 * and the segment journal going on above them.
 */
static void test_upgrade_from_lmdb(void **state)
{
	struct store_fix *f = *state;
	static struct dp_change g[GROUP];
	struct store *s;
	struct jmdb *m;
	char path[300];

	/* A store with bindings of its own and an empty applied mark, as the old binary left
	 * it after a crash: the whole workload journaled, nothing applied. */
	s = open_store(f, false);
	store_close(s);
	assert_int_equal(mkdir(f->jdir, 0700), 0);
	m = jmdb_open(f->jdir, f->err, sizeof(f->err));
	assert_non_null(m);
	for (unsigned i = 0; i < N_CHG; i += GROUP) {
		for (unsigned k = 0; k < GROUP; k++) {
			g[k] = workload(i + k);
		}
		assert_int_equal(jmdb_append(m, g, GROUP), 0);
	}
	jmdb_close(m);
	assert_true(jmdb_exists(f->jdir));

	s = open_store(f, true);
	assert_workload(s, N_CHG);
	assert_false(jmdb_exists(f->jdir));
	snprintf(path, sizeof(path), "%s/lock.mdb", f->jdir);
	assert_int_equal(access(path, F_OK), -1);
	assert_true(store_journal_lag(s) == 0);
	/* New appends are numbered above the old journal's. */
	assert_int_equal(store_journal_append(s, g, 1), 0);
	assert_true(store_journal_lag(s) == 1);
	store_close(s);
	s = open_store(f, false);
	assert_workload(s, N_CHG);	/* g[0] repeats the last group's first change */
	assert_true(store_journal_lag(s) == 0);
	store_close(s);
}

/* --- direct appends (journal.c, "Direct appends") --- */

#define DIO_BLK	4096u

/* Append sequences @p from .. @p to in one group, addresses addr_of(). */
static void dio_group(struct journal *j, uint64_t from, uint64_t to)
{
	static struct dp_change g[512];
	uint64_t last;

	assert_true(to - from < 512);
	for (uint64_t q = from; q <= to; q++) {
		g[q - from] = seq_change(q, addr_of(q));
	}
	assert_int_equal(journal_append(j, g, (size_t)(to - from + 1), &last), 0);
	assert_true(last == to);
}

/* The whole of file @p path into a malloc'd buffer; *len its size. */
static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *b;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	*len = (size_t)st.st_size;
	b = malloc(*len + 1);
	assert_non_null(b);
	assert_true(pread(fd, b, *len, 0) == (ssize_t)*len);
	close(fd);
	return b;
}

/* The offset just past record @p n of a segment file's image (records from 1 in it). */
static size_t rec_end(const uint8_t *b, uint64_t n)
{
	size_t off = 32;

	for (uint64_t r = 0; r < n; r++) {
		const uint8_t *h = b + off;

		off += 16 + ((size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7]);
	}
	return off;
}

/*
 * Groups that end in the middle of a 4 KiB block, written with O_DIRECT (this test's
 * directory is on a disk file system): each rewrites the block that holds the segment's end
 * with the earlier records in it as they were. Readers (buffered) see every record while the
 * journal is open, a reopen replays every one, and the bytes past the end are zeros. Fails
 * with the copy of the tail bytes taken out of append() (the block's earlier records are
 * written as zeros), or with j->tail not updated after an append.
 */
static void test_direct_mid_block(void **state)
{
	static const unsigned sizes[] = {1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 1, 1, 7};
	struct store_fix *f = *state;
	char name[64], path[300];
	struct journal *j;
	uint64_t q = 0;
	uint8_t *b;
	size_t len, end;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	j = journal_open(f->jdir, true, 0, 0, f->err, sizeof(f->err));
	assert_non_null(j);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		dio_group(j, q + 1, q + sizes[i]);
		q += sizes[i];
		assert_reads(j, q, addr_of);	/* the readers' page cache sees each block */
	}
	assert_true(journal_direct_appends(j) == sizeof(sizes) / sizeof(sizes[0]));
	assert_true(journal_direct_fallbacks(j) == 0);
	journal_close(j);

	assert_int_equal(wal_files(f->jdir, name, sizeof(name)), 1);
	snprintf(path, sizeof(path), "%s/%s", f->jdir, name);
	b = slurp(path, &len);
	end = rec_end(b, q);
	assert_true(end % DIO_BLK != 0);	/* it ends mid-block, and the block is zeros on */
	for (size_t k = end; k < (end + DIO_BLK - 1) / DIO_BLK * DIO_BLK; k++) {
		assert_int_equal(b[k], 0);
	}
	free(b);
	j = journal_open(f->jdir, true, 0, 0, f->err, sizeof(f->err));
	assert_non_null(j);
	assert_true(journal_count(j) == q);
	assert_reads(j, q, addr_of);
	journal_close(j);
}

/*
 * A crash in the middle of the direct write of a group: the device kept any subset of the
 * rewritten block's 512-byte sectors (the first one, which holds earlier records and the
 * group's first ones, old or new; the rest in patterns). Every record acknowledged before
 * replays; of the torn group, a prefix or nothing. The rewritten earlier bytes are the
 * ones on disk, so no pattern can lose them. Fails with the tail copy taken out of
 * append(), or with j->tail left as the block was before the previous append.
 */
static void test_direct_torn_block(void **state)
{
	/* which sectors of the new write are kept: bit i, sector i of the range (first: the
	 * one with the group's first record) */
	uint64_t keep[7];
	unsigned first;
	struct store_fix *f = *state;
	char name[64], path[300];
	struct journal *j;
	uint8_t *old, *new;
	size_t olen, nlen, from, to;
	const uint64_t k = 40, m = 90;	/* acknowledged 1..k, then the torn group */

	assert_int_equal(mkdir(f->dir, 0700), 0);
	j = journal_open(f->jdir, true, 0, 64u << 10, f->err, sizeof(f->err));
	assert_non_null(j);
	assert_true(journal_prefill(j, 0, NULL) == 64 << 10);	/* as in steady state */
	dio_group(j, 1, 17);
	dio_group(j, 18, k);
	assert_int_equal(wal_files(f->jdir, name, sizeof(name)), 1);
	snprintf(path, sizeof(path), "%s/%s", f->jdir, name);
	old = slurp(path, &olen);
	dio_group(j, k + 1, k + m);
	assert_true(journal_direct_appends(j) == 3);
	journal_close(j);
	new = slurp(path, &nlen);
	assert_true(olen == nlen);	/* a written spare or a file of the segment size */
	from = rec_end(new, k) / DIO_BLK * DIO_BLK;
	to = (rec_end(new, k + m) + DIO_BLK - 1) / DIO_BLK * DIO_BLK;
	assert_true(rec_end(new, k) % DIO_BLK != 0 && to - from >= 2 * DIO_BLK);
	assert_true(to - from <= 64 * 512);
	first = (unsigned)((rec_end(new, k) - from) / 512);
	keep[0] = 1ull << first;
	keep[1] = ~keep[0];
	keep[2] = 0x5555555555555555ull;
	keep[3] = ~keep[2];
	keep[4] = 1ull << ((to - from) / 512 - 1);
	keep[5] = 0;
	keep[6] = ~0ull;

	for (size_t p = 0; p < sizeof(keep) / sizeof(keep[0]); p++) {
		int fd = open(path, O_WRONLY);
		uint64_t last;

		assert_true(fd >= 0);
		assert_true(pwrite(fd, old, olen, 0) == (ssize_t)olen);
		for (size_t sec = 0; sec < (to - from) / 512; sec++) {
			size_t at = from + sec * 512;

			if (keep[p] >> sec & 1) {
				assert_true(pwrite(fd, new + at, 512, (off_t)at) == 512);
			}
		}
		close(fd);
		j = journal_open(f->jdir, true, 0, 64u << 10, f->err, sizeof(f->err));
		assert_non_null(j);
		last = journal_last(j);
		assert_true(last >= k && last <= k + m);
		assert_reads(j, last, addr_of);
		if ((keep[p] >> first & 1) == 0) {
			assert_true(last == k);
		}
		if (keep[p] == ~0ull) {
			assert_true(last == k + m);
		}
		journal_close(j);
	}
	free(old);
	free(new);
}

/*
 * A file system that refuses O_DIRECT (an injected failure of the O_DIRECT open; tmpfs
 * accepts it since Linux 6.6): that segment is written through the page cache, counted,
 * and nothing is lost; the next segment tries O_DIRECT again. The relaxed mode never uses
 * it. Fails when a refused open fails the append, or is not counted.
 */
static void test_direct_fallback(void **state)
{
	struct store_fix *f = *state;
	struct journal *j;
	const uint64_t seg = 8192;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	j = journal_open(f->jdir, true, 0, seg, f->err, sizeof(f->err));
	assert_non_null(j);
	journal_inject_fault(j, JOURNAL_BEGIN, EINVAL);
	dio_group(j, 1, 3);
	dio_group(j, 4, 10);
	assert_true(journal_direct_fallbacks(j) == 1);
	assert_true(journal_direct_appends(j) == 0);
	assert_reads(j, 10, addr_of);
	dio_group(j, 11, 130);		/* ~7.5 KiB: the next segment */
	dio_group(j, 131, 132);
	assert_int_equal(wal_files(f->jdir, NULL, 0), 2);
	assert_true(journal_direct_fallbacks(j) == 1);
	assert_true(journal_direct_appends(j) == 2);
	journal_close(j);
	j = journal_open(f->jdir, true, 0, seg, f->err, sizeof(f->err));
	assert_non_null(j);
	assert_reads(j, 132, addr_of);
	journal_close(j);

	j = journal_open(f->jdir, false, 0, seg, f->err, sizeof(f->err));
	assert_non_null(j);
	dio_group(j, 133, 160);
	assert_int_equal(journal_sync(j), 0);
	assert_true(journal_direct_appends(j) == 0 && journal_direct_fallbacks(j) == 0);
	journal_close(j);
	j = journal_open(f->jdir, true, 0, seg, f->err, sizeof(f->err));
	assert_non_null(j);
	assert_reads(j, 160, addr_of);
	journal_close(j);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_append_read),
		T(test_read_version_1),
		T(test_read_version_2),
		T(test_store_apply),
		T(test_crash_before_apply),
		T(test_crash_in_apply),
		T(test_crash_in_second_apply),
		T(test_crash_before_trim),
		T(test_crash_reopen_without_journal),
		T(test_committer_journal),
		T(test_prefill_ahead),
		T(test_restart_takes_the_spare),
		T(test_prefill_crash),
		T(test_prefill_failure),
		T(test_stop_drains_without_prefill),
		T(test_crc32c),
		T(test_torn_tail_truncated),
		T(test_torn_tail_flipped),
		T(test_torn_tail_zeroed),
		T(test_crash_between_write_and_flush),
		T(test_failed_write_and_flush),
		T(test_rollover_concurrent_read),
		T(test_direct_concurrent_read),
		T(test_trim_segments),
		T(test_spare_taken_after_restart),
		T(test_spare_without_mark),
		T(test_spare_cut_short),
		T(test_spare_with_records),
		T(test_spare_older_than_a_segment),
		T(test_spare_torn_by_a_crash),
		T(test_full_until_trimmed),
		T(test_upgrade_from_lmdb),
		T(test_second_opener_leaves_the_journal),
		T(test_failures_do_not_fill_it),
		T(test_prefill_failure_keeps_the_store_message),
		T(test_direct_mid_block),
		T(test_direct_torn_block),
		T(test_direct_fallback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
