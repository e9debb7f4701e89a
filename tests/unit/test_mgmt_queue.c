/*
 * Unit tests of controlplane/mgmt_queue: order, coalescing, acknowledgement, sync status,
 * survival across a reopen, refusal of a damaged file, and a failed write changing nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mgmt_queue.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/lw-mgmtq-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char p[128];
	(void)state;
	snprintf(p, sizeof(p), "%s/%s", dir, MGMT_QUEUE_FILE);
	unlink(p);
	return rmdir(dir);
}

static struct mgmt_queue *open_q(void)
{
	char err[256];
	struct mgmt_queue *q = mgmt_queue_open(dir, err, sizeof(err));
	if (q == NULL) {
		fail_msg("%s", err);
	}
	return q;
}

static void expect_head(struct mgmt_queue *q, const char *rel, uint64_t seq, const char *scope)
{
	struct mgmt_qentry e;
	assert_int_equal(mgmt_queue_peek(q, rel, &e), 0);
	assert_int_equal(e.seq, seq);
	assert_string_equal(e.scope, scope);
}

static void test_order_ack_reopen(void **state)
{
	struct mgmt_queue *q = open_q();
	uint64_t s1, s2, s3, s4;
	struct mgmt_qentry e;

	(void)state;
	assert_int_equal(mgmt_queue_push(q, "r1", "lab", "replicate-scope", &s1), 0);
	assert_int_equal(mgmt_queue_push(q, "r1", "voice", "replicate-scope", &s2), 0);
	assert_int_equal(mgmt_queue_push(q, "r2", "branch", "replicate-scope", &s3), 0);
	assert_true(s1 < s2 && s2 < s3);
	assert_int_equal(mgmt_queue_status(q, "lab", NULL), MGMT_SYNC_PENDING);
	assert_int_equal(mgmt_queue_status(q, "other", NULL), MGMT_SYNC_IN_SYNC);
	/* Another change to "lab": coalesced, moved behind "voice". */
	assert_int_equal(mgmt_queue_push(q, "r1", "lab", "replicate-scope", &s4), 0);
	assert_int_equal(mgmt_queue_len(q), 3);
	expect_head(q, "r1", s2, "voice");
	expect_head(q, "r2", s3, "branch");
	expect_head(q, NULL, s2, "voice");
	mgmt_queue_close(q);

	/* A restart: the same entries, in the same order, and sequence numbers go on. */
	q = open_q();
	assert_int_equal(mgmt_queue_len(q), 3);
	expect_head(q, "r1", s2, "voice");
	assert_int_equal(mgmt_queue_ack(q, s2), 0);
	assert_int_equal(mgmt_queue_ack(q, s2), -ENOENT);
	assert_int_equal(mgmt_queue_status(q, "voice", NULL), MGMT_SYNC_IN_SYNC);
	expect_head(q, "r1", s4, "lab");
	uint64_t s5;
	assert_int_equal(mgmt_queue_push(q, "r1", "voice", "replicate-scope", &s5), 0);
	assert_true(s5 > s4);
	mgmt_queue_close(q);

	q = open_q();
	assert_int_equal(mgmt_queue_ack(q, s4), 0);
	assert_int_equal(mgmt_queue_ack(q, s3), 0);
	assert_int_equal(mgmt_queue_ack(q, s5), 0);
	assert_int_equal(mgmt_queue_len(q), 0);
	assert_int_equal(mgmt_queue_peek(q, NULL, &e), -ENOENT);
	mgmt_queue_close(q);
	q = open_q();
	assert_int_equal(mgmt_queue_len(q), 0);
	mgmt_queue_close(q);
}

static void test_status(void **state)
{
	struct mgmt_queue *q = open_q();
	const char *why;
	uint64_t s;

	(void)state;
	assert_int_equal(mgmt_queue_set_status(q, "lab", MGMT_SYNC_ERROR, "scope exists"), 0);
	assert_int_equal(mgmt_queue_push(q, "r1", "lab", "replicate-scope", &s), 0);
	/* An error stays visible while a new change waits, and after it is acknowledged. */
	assert_int_equal(mgmt_queue_status(q, "lab", &why), MGMT_SYNC_ERROR);
	assert_string_equal(why, "scope exists");
	assert_int_equal(mgmt_queue_ack(q, s), 0);
	mgmt_queue_close(q);
	q = open_q();
	assert_int_equal(mgmt_queue_status(q, "lab", &why), MGMT_SYNC_ERROR);
	assert_string_equal(why, "scope exists");
	assert_int_equal(mgmt_queue_set_status(q, "lab", MGMT_SYNC_IN_SYNC, NULL), 0);
	assert_int_equal(mgmt_queue_status(q, "lab", NULL), MGMT_SYNC_IN_SYNC);
	/* A drift ends when the partner acknowledges our settings. */
	assert_int_equal(mgmt_queue_set_status(q, "lab", MGMT_SYNC_DRIFT, "digest differs"), 0);
	assert_int_equal(mgmt_queue_push(q, "r1", "lab", "replicate-scope", &s), 0);
	assert_int_equal(mgmt_queue_status(q, "lab", NULL), MGMT_SYNC_DRIFT);
	assert_int_equal(mgmt_queue_ack(q, s), 0);
	assert_int_equal(mgmt_queue_status(q, "lab", NULL), MGMT_SYNC_IN_SYNC);
	assert_int_equal(mgmt_queue_set_status(q, "lab", MGMT_SYNC_PENDING, NULL), -EINVAL);
	assert_string_equal(mgmt_sync_str(MGMT_SYNC_DRIFT), "drift");
	mgmt_queue_close(q);
}

/* A write that fails changes nothing, in memory or on disk. A directory where the temporary
 * file goes makes every write fail, for root too. */
static void test_failed_write(void **state)
{
	struct mgmt_queue *q = open_q();
	char tmp[128];
	uint64_t s;

	(void)state;
	assert_int_equal(mgmt_queue_push(q, "r1", "lab", "replicate-scope", &s), 0);
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, MGMT_QUEUE_FILE);
	assert_int_equal(mkdir(tmp, 0700), 0);
	assert_int_equal(mgmt_queue_push(q, "r1", "voice", "replicate-scope", NULL), -EISDIR);
	assert_int_equal(mgmt_queue_push(q, "r1", "lab", "replicate-scope", NULL), -EISDIR);
	assert_int_equal(mgmt_queue_ack(q, s), -EISDIR);
	assert_int_equal(mgmt_queue_set_status(q, "lab", MGMT_SYNC_ERROR, "x"), -EISDIR);
	assert_int_equal(mgmt_queue_status(q, "lab", NULL), MGMT_SYNC_PENDING);
	assert_int_equal(mgmt_queue_len(q), 1);
	expect_head(q, "r1", s, "lab");
	mgmt_queue_close(q);
	q = open_q();
	assert_int_equal(mgmt_queue_len(q), 1);
	expect_head(q, "r1", s, "lab");
	assert_int_equal(rmdir(tmp), 0);
	assert_int_equal(mgmt_queue_ack(q, s), 0);
	mgmt_queue_close(q);
}

static void test_damaged_file(void **state)
{
	char p[128], err[256];
	(void)state;
	snprintf(p, sizeof(p), "%s/%s", dir, MGMT_QUEUE_FILE);
	FILE *f = fopen(p, "w");
	fputs("{\"version\":1,\"next-seq\":2,\"status\":{},\"entries\":[{\"seq\":5,"
	      "\"relationship\":\"r\",\"scope\":\"s\",\"op\":\"replicate-scope\"}]}", f);
	fclose(f);
	assert_null(mgmt_queue_open(dir, err, sizeof(err)));
	assert_non_null(strstr(err, "entries[0]"));
	f = fopen(p, "w");
	fputs("{\"version\":", f);
	fclose(f);
	assert_null(mgmt_queue_open(dir, err, sizeof(err)));
	unlink(p);
}

/* Memory only: works, and writes nothing. */
static void test_memory_only(void **state)
{
	char err[64];
	struct mgmt_queue *q = mgmt_queue_open(NULL, err, sizeof(err));
	uint64_t s;

	(void)state;
	assert_non_null(q);
	assert_int_equal(mgmt_queue_push(q, "r1", "lab", "create-relationship", &s), 0);
	assert_int_equal(mgmt_queue_ack(q, s), 0);
	mgmt_queue_close(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_ack_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_file, setup, teardown),
		cmocka_unit_test(test_memory_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
