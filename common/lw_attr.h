/*
 * lw_attr: the compiler attributes leasewire uses, under short names (Knot's _mustcheck_,
 * DPDK's __rte_unused / likely). GCC and clang both understand every one of them; no other
 * compiler is supported.
 *
 * Header only; no dependency but the compiler.
 */
#pragma once

/** The caller must look at the return value (every fallible function: STYLE.md, ERRORS). */
#define _mustcheck_		__attribute__((warn_unused_result))

/** The parameter or variable may be unused (a callback's fixed signature, a debug-only
 *  value). */
#define _unused_		__attribute__((unused))

/** printf-style format checking: argument @p f is the format, arguments from @p a on are
 *  checked against it (use 0 for a va_list function). */
#define _printf_(f, a)		__attribute__((format(printf, f, a)))

/* Branch hints: only where a benchmark shows a gain (STYLE.md, HOT PATH). DPDK's
 * rte_branch_prediction.h defines the same two macros, identically and also guarded, so
 * either header may come first. */
#ifndef likely
#define likely(x)		__builtin_expect(!!(x), 1)
#endif
#ifndef unlikely
#define unlikely(x)		__builtin_expect(!!(x), 0)
#endif
