/*
 * leaseop_dp: the lease-operation engine's sink on the real workers (leaseop.h): an op goes
 * into the owner worker's command ring (dp_worker_op), done is the worker's release store of
 * op->done, durability is the commit sink's durable sequence of that worker.
 *
 * Threads: the control thread (the command rings' only producer of lease ops).
 */
#pragma once

#include "leaseop.h"

struct dp_runtime;

/**
 * The sink for @p rt. @p rt is kept (not copied): it must outlive every engine using the sink,
 * and its workers and commit sink must be set up before the first op is started.
 */
struct cp_leaseop_sink cp_leaseop_dp_sink(struct dp_runtime *rt);
