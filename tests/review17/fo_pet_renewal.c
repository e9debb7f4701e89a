/*
 * review17 reproducer (not in any suite; tests/review17/fo_pet_renewal.sh BUILD_DIR builds
 * and runs it): a renewal of a failover scope's lease is stretched by the PET the partner
 * acknowledged for an ENDED lease of the same address.
 *
 * dp_pool.peer_pet is per address and raised (max) by the control thread; client_pet()
 * (engine.c) hands it to whichever client's ACTIVE binding the address has now. The control
 * thread clears it once the address has no client (a FREE or BACKUP of ours or the
 * partner's, durable: fo_run_ops.c op_pet(), test_fo_run
 * test_pet_cleared_when_the_address_is_free), which covers a new client, or the same one,
 * getting the address after it went back to the pool. Still open, shown here: the primary
 * gives a client its own RELEASED (or EXPIRED) lease back before that FREE, i.e. while the
 * BNDUPD of the end is in flight or before it is sent (D12 §5.11 lets it; the engine judges
 * it the client's). Its first ACK is capped at MCLT (the binding is not ACTIVE at the
 * decision), its renewal at T1 is not: the ended lease's PET, far ahead, gives it the whole
 * lease although the partner was told the lease ended (and, the link down, knows nothing of
 * the new one; in PARTNER-DOWN it reuses the address MCLT after it took over). So is a
 * client the worker gives another client's ended lease in PARTNER-DOWN (the worker posts
 * that FREE itself; the control thread hears of it only through the tap). Expected: 60
 * (MCLT); main, and this branch, give 600 (0x258 != 0x3c).
 *
 * The fix it asks for: client_pet() must use a PET acknowledged for the binding's current
 * ACTIVE episode only (per binding, e.g. the peer_pet value when the episode began, or an
 * epoch the worker bumps when a lease ends, kept with the PET in one 64-bit word so that an
 * acknowledgement of an update built before the end is not counted), while pd_free_at()
 * keeps the per-address maximum it needs to wait out an ended lease in PARTNER-DOWN.
 */
#define main test_engine_main
#include "../unit/test_engine.c"
#undef main

static void fo_pet_of_an_ended_lease_no_cap_at_renewal(void **state)
{
	struct env *v = *state;
	const struct dp_pool *pool = &v->pools->pools[0];
	struct reqbuf r;
	uint64_t rank;
	uint32_t a;

	v->view.mclt = 60;
	a = dora(v, 1, T0);
	assert_true(dp_pool_rank(pool, a, &rank));
	/* The partner acked client 1's lease with a PET far ahead. */
	atomic_store(&pool->peer_pet[rank], (uint32_t)(T0 + 100000));
	/* It releases; before the partner's BNDACK of the RELEASED (and so before the FREE)
	 * it asks for the address again: the primary gives its own client its lease back. */
	rb_begin(&r, 1, 11);
	rb_ciaddr(&r, a);
	rb_type(&r, DHCP4_RELEASE);
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, SRV);
	rb_end(&r);
	assert_false(send_req(v, &r, SRV, T0 + 20));
	assert_int_equal(binding(v, a)->state, BT_RELEASED);
	rb_begin(&r, 1, 12);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, a);
	rb_end(&r);
	assert_true(send_req(v, &r, UINT32_MAX, T0 + 30));
	assert_int_equal(v->rep.yiaddr, a);
	request_selecting(&r, 1, SRV, a);
	assert_true(send_req(v, &r, UINT32_MAX, T0 + 30));
	assert_int_equal(v->rep.type, DHCP4_ACK);
	assert_int_equal(v->d.lease, 60);			/* a new lease: MCLT */
	/* It renews at T1; the partner acked nothing of this lease: still MCLT. */
	request_renew(&r, 1, a);
	assert_true(send_req(v, &r, SRV, T0 + 60));
	assert_int_equal(v->rep.type, DHCP4_ACK);
	assert_int_equal(v->d.lease, 60);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FO(fo_pet_of_an_ended_lease_no_cap_at_renewal),
	};

	(void)test_engine_main;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
