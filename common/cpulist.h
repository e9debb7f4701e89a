/*
 * cpulist: the "0,2-3" CPU list syntax of taskset(1) and the kernel's cpulist files.
 */
#pragma once

#include <sched.h>

#include "lw_attr.h"

/**
 * Parse @p s, a comma-separated list of CPU numbers and ranges "a-b" (a <= b, each
 * < CPU_SETSIZE; no spaces), into @p set (cleared first). Pure, any thread.
 * @return 0, or -EINVAL for an empty list or anything else that is not such a list (then
 *         @p set is unspecified).
 */
_mustcheck_
int lw_cpulist_parse(const char *s, cpu_set_t *set);
