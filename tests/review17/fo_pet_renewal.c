/*
 * review17 reproducer (not in any suite; tests/review17/fo_pet_renewal.sh BUILD_DIR builds
 * and runs it): a renewal of a failover scope's lease is stretched by the PET the partner
 * acknowledged for ANOTHER client's (or an ended) lease of the same address.
 *
 * dp_pool.peer_pet is per address and only ever raised while leasewired runs
 * (fo_run_peer_pet_raise(), max()): nothing lowers it when the address's lease ends or the
 * address goes FREE, BACKUP or to another client (the store drops it with the binding, so a
 * restart does). client_pet() (engine.c) hands it to whichever client's ACTIVE binding the
 * address has. test_engine fo_pet_of_another_client_is_no_cap checks the new client's OFFER
 * and first ACK (capped at MCLT: its binding is not ACTIVE yet), not its renewal: at T1 the
 * binding is client 2's ACTIVE, and client 1's PET, far ahead, lets it have the whole lease
 * although the partner knows nothing of it (the link may be down: COMMUNICATIONS-
 * INTERRUPTED; the partner, later in PARTNER-DOWN, reuses the address MCLT after it took
 * over, while client 2 still holds it). The same for client 1 itself, back on the address
 * after its released lease was freed: the PET of the ended lease stretches the new one.
 * Expected: 60 (MCLT) at both renewals; main gives 600 (0x258 != 0x3c).
 */
#define main test_engine_main
#include "../unit/test_engine.c"
#undef main

static void fo_pet_of_another_client_no_cap_at_renewal(void **state)
{
	struct env *v = *state;
	const struct dp_pool *pool = &v->pools->pools[0];
	struct dp_lease_op op;
	struct reqbuf r;
	uint64_t rank;
	uint32_t a;

	v->view.mclt = 60;
	a = dora(v, 1, T0);
	assert_true(dp_pool_rank(pool, a, &rank));
	/* The partner acked client 1's lease with a PET far ahead. */
	atomic_store(&pool->peer_pet[rank], (uint32_t)(T0 + 100000));
	/* It releases; the partner acks, the address goes back to the pool (FREE). */
	rb_begin(&r, 1, 11);
	rb_ciaddr(&r, a);
	rb_type(&r, DHCP4_RELEASE);
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, SRV);
	rb_end(&r);
	assert_false(send_req(v, &r, SRV, T0 + 20));
	assert_int_equal(peer_op(v, a, BT_FREE, 0, false, &op), 0);
	assert_null(binding(v, a));
	/* Client 2 gets it: MCLT (checked by test_engine already). */
	rb_begin(&r, 2, 12);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, a);
	rb_end(&r);
	assert_true(send_req(v, &r, UINT32_MAX, T0 + 30));
	request_selecting(&r, 2, SRV, a);
	assert_true(send_req(v, &r, UINT32_MAX, T0 + 30));
	assert_int_equal(v->rep.type, DHCP4_ACK);
	assert_int_equal(v->d.lease, 60);
	/* Client 2 renews at T1; the partner acked nothing of its lease: still MCLT. */
	request_renew(&r, 2, a);
	assert_true(send_req(v, &r, SRV, T0 + 60));
	assert_int_equal(v->rep.type, DHCP4_ACK);
	assert_int_equal(v->d.lease, 60);
}

/* The same client, back after its lease ended (released, acked, freed): a new lease the
 * partner knows nothing of, and the PET of the ended one stretches its renewal. */
static void fo_pet_of_an_ended_lease_no_cap_at_renewal(void **state)
{
	struct env *v = *state;
	const struct dp_pool *pool = &v->pools->pools[0];
	struct dp_lease_op op;
	struct reqbuf r;
	uint64_t rank;
	uint32_t a;

	v->view.mclt = 60;
	a = dora(v, 1, T0);
	assert_true(dp_pool_rank(pool, a, &rank));
	atomic_store(&pool->peer_pet[rank], (uint32_t)(T0 + 100000));
	rb_begin(&r, 1, 11);
	rb_ciaddr(&r, a);
	rb_type(&r, DHCP4_RELEASE);
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, SRV);
	rb_end(&r);
	assert_false(send_req(v, &r, SRV, T0 + 20));
	assert_int_equal(peer_op(v, a, BT_FREE, 0, false, &op), 0);
	rb_begin(&r, 1, 12);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, a);
	rb_end(&r);
	assert_true(send_req(v, &r, UINT32_MAX, T0 + 30));
	assert_int_equal(v->rep.yiaddr, a);
	request_selecting(&r, 1, SRV, a);
	assert_true(send_req(v, &r, UINT32_MAX, T0 + 30));
	assert_int_equal(v->rep.type, DHCP4_ACK);
	assert_int_equal(v->d.lease, 60);
	request_renew(&r, 1, a);
	assert_true(send_req(v, &r, SRV, T0 + 60));
	assert_int_equal(v->rep.type, DHCP4_ACK);
	assert_int_equal(v->d.lease, 60);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FO(fo_pet_of_another_client_no_cap_at_renewal),
		FO(fo_pet_of_an_ended_lease_no_cap_at_renewal),
	};

	(void)test_engine_main;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
