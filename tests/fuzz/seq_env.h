/*
 * seq_env: what the sequence harnesses (fuzz_engine_seq, fuzz_ctl_seq, fuzz_fo_seq) share:
 * the libFuzzer entry point's prototype, NOCOV for the harness's own bookkeeping, and CHECK,
 * which aborts with a message (libFuzzer reports it; the replay test fails).
 *
 * Define SEQ_HARNESS (the harness's name, a string literal) before including it: CHECK's
 * messages start with it. Test code only; single-threaded harnesses.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef SEQ_HARNESS
#error "define SEQ_HARNESS (the harness's name) before including seq_env.h"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The harness's own bookkeeping and checks: no coverage feedback (they would only slow the
 * fuzzer and reward nothing of the code under test). */
#if defined(__clang__)
#define NOCOV __attribute__((no_sanitize("coverage")))
#else
#define NOCOV
#endif

/* An invariant of the harness: on failure print SEQ_HARNESS, the condition and the message
 * (printf format), and abort. */
#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, SEQ_HARNESS ": %s: ", #cond);          \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			abort();                                               \
		}                                                              \
	} while (0)
