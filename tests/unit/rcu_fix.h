/*
 * rcu_fix.h: waiting out RCU in a test whose own thread is a registered QSBR reader (the
 * binding tables' tests, the engine's, the control plane's). Header-only, for the unit and
 * fuzz tests.
 */
#pragma once

#include <urcu/urcu-qsbr.h>

/**
 * Wait until every call_rcu callback queued so far has run (records retired to RCU are
 * back with their writers, old snapshots freed): offline, since urcu_qsbr_barrier() waits
 * for grace periods that an online reader would hold up, then online again. The calling
 * thread is a registered QSBR reader, online, holding no pointer read under RCU.
 */
static inline void rcu_fix_barrier(void)
{
	urcu_qsbr_thread_offline();
	urcu_qsbr_barrier();
	urcu_qsbr_thread_online();
}
