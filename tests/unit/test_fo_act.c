/*
 * fo_act: each action of the state machine, carried out through recording ops, has exactly the
 * effect fo_act.h states (the daemon and fuzz_fo_seq both run this dispatch), in the order of
 * the actions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fo_act.h"

enum eff { E_PERSIST = 1, E_SEND, E_UPDATES, E_DISCONNECT, E_ALARM };

struct rec {
	unsigned n;
	struct {
		enum eff e;
		uint8_t type;		/* E_SEND: the message's */
		uint8_t value;		/* E_SEND STATE: server-state; E_DISCONNECT: reason */
		uint8_t flags;
		uint32_t stos;
		uint64_t present;
	} ev[32];
	uint32_t next_xid;
};

static struct rec *add(void *ctx, enum eff e)
{
	struct rec *r = ctx;

	assert_true(r->n < 32);
	r->ev[r->n].e = e;
	r->n++;
	return r;
}

static void r_persist(void *ctx)
{
	add(ctx, E_PERSIST);
}

static void r_send(void *ctx, struct fo_msg *m)
{
	struct rec *r = add(ctx, E_SEND);

	r->ev[r->n - 1].type = m->type;
	r->ev[r->n - 1].value = m->server_state;
	r->ev[r->n - 1].flags = m->server_flags;
	r->ev[r->n - 1].stos = m->stos;
	r->ev[r->n - 1].present = m->present;
	m->xid = ++r->next_xid;		/* as the link does */
}

static void r_updates(void *ctx)
{
	add(ctx, E_UPDATES);
}

static void r_disconnect(void *ctx, uint8_t reason)
{
	struct rec *r = add(ctx, E_DISCONNECT);

	r->ev[r->n - 1].value = reason;
}

static void r_alarm(void *ctx)
{
	add(ctx, E_ALARM);
}

static const struct fo_act_ops ops = {
	.persist = r_persist,
	.send = r_send,
	.send_updates = r_updates,
	.disconnect = r_disconnect,
	.alarm = r_alarm,
};

static void act(struct fo_state_output *o, enum fo_state_action_type t)
{
	assert_true(o->n_actions < FO_STATE_MAX_ACTIONS);
	memset(&o->actions[o->n_actions], 0, sizeof(o->actions[0]));
	o->actions[o->n_actions++].type = t;
}

/* Every action type once, in enum order: one effect each (CONNECT, CONTACT and SERVICE none). */
static void test_every_action(void **state)
{
	struct fo_state_output o = {0};
	struct fo_act_updreq u = {0};
	struct rec r = {0};
	bool service;

	(void)state;
	for (int t = 0; t < FO_ACT_COUNT; t++) {
		act(&o, (enum fo_state_action_type)t);
	}
	o.actions[FO_ACT_SEND_STATE].wire_state = FO_SS_PARTNER_DOWN;
	o.actions[FO_ACT_SEND_STATE].flags = FO_SERVER_FLAG_STARTUP;
	o.actions[FO_ACT_SEND_STATE].stos = 1700000123u;
	o.actions[FO_ACT_SEND_DISCONNECT].reject_reason = FO_RR_NO_TRAFFIC;
	service = fo_act_run(&o, &ops, &r, &u);

	assert_true(service);
	assert_int_equal(r.n, 9);
	assert_int_equal(r.ev[0].e, E_PERSIST);
	assert_int_equal(r.ev[1].e, E_SEND);
	assert_int_equal(r.ev[1].type, FO_MSG_STATE);
	assert_int_equal(r.ev[1].value, FO_SS_PARTNER_DOWN);
	assert_int_equal(r.ev[1].flags, FO_SERVER_FLAG_STARTUP);
	assert_int_equal(r.ev[1].stos, 1700000123u);
	assert_true(r.ev[1].present & FO_BIT(FO_OPT_SERVER_STATE));
	assert_true(r.ev[1].present & FO_BIT(FO_OPT_SERVER_FLAGS));
	assert_true(r.ev[1].present & FO_BIT(FO_OPT_STOS));
	assert_int_equal(r.ev[2].e, E_SEND);
	assert_int_equal(r.ev[2].type, FO_MSG_UPDREQ);
	assert_int_equal(r.ev[3].e, E_SEND);
	assert_int_equal(r.ev[3].type, FO_MSG_UPDREQALL);
	assert_int_equal(r.ev[4].e, E_UPDATES);
	assert_int_equal(r.ev[5].e, E_SEND);
	assert_int_equal(r.ev[5].type, FO_MSG_POOLREQ);
	assert_int_equal(r.ev[5].present, 0);
	assert_int_equal(r.ev[6].e, E_DISCONNECT);
	assert_int_equal(r.ev[6].value, FO_RR_NO_TRAFFIC);
	assert_int_equal(r.ev[7].e, E_DISCONNECT);
	assert_int_equal(r.ev[7].value, 0);
	assert_int_equal(r.ev[8].e, E_ALARM);
	/* The last UPDREQ(ALL) is the one an UPDDONE must answer. */
	assert_true(u.pending);
	assert_int_equal(u.type, FO_MSG_UPDREQALL);
	assert_int_equal(u.xid, 3);
}

/* No SERVICE action: not reported; no UPDREQ: the record is left alone. */
static void test_no_service(void **state)
{
	struct fo_state_output o = {0};
	struct fo_act_updreq u = {.xid = 77, .type = FO_MSG_UPDREQ};
	struct rec r = {0};

	(void)state;
	act(&o, FO_ACT_SEND_UPDATES);
	act(&o, FO_ACT_PERSIST);
	assert_false(fo_act_run(&o, &ops, &r, &u));
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[0].e, E_UPDATES);
	assert_int_equal(r.ev[1].e, E_PERSIST);
	assert_false(u.pending);
	assert_int_equal(u.xid, 77);
	assert_int_equal(u.type, FO_MSG_UPDREQ);
	/* Nothing at all. */
	o.n_actions = 0;
	assert_false(fo_act_run(&o, &ops, &r, &u));
	assert_int_equal(r.n, 2);
}

/* fo_act_send_updreq() (the daemon's RECOVER asking again) records what it sent. */
static void test_send_updreq(void **state)
{
	struct fo_act_updreq u = {0};
	struct rec r = {.next_xid = 41};

	(void)state;
	fo_act_send_updreq(FO_MSG_UPDREQ, &ops, &r, &u);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].type, FO_MSG_UPDREQ);
	assert_true(u.pending);
	assert_int_equal(u.type, FO_MSG_UPDREQ);
	assert_int_equal(u.xid, 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_action),
		cmocka_unit_test(test_no_service),
		cmocka_unit_test(test_send_updreq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
