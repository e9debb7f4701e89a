/*
 * child.h: a test's work in a child process (what a limit or a crash must not do to the
 * test runner): fork with stdio flushed, optionally under a file-size limit, and wait for
 * the child's exit status. Header-only, for the unit tests.
 */
#pragma once

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/** The exit status of a child whose file-size limit could not be set. */
#define CHILD_NO_LIMIT 255

/**
 * Fork, stdio flushed first (so nothing buffered is written twice). In the child, with
 * @p fsize_limit != 0, RLIMIT_FSIZE is set to that many bytes and SIGXFSZ ignored, so that a
 * write past it fails with EFBIG; a child that cannot set it exits CHILD_NO_LIMIT.
 * @return the child's pid in the parent, 0 in the child, -1 if fork() failed.
 */
static inline pid_t child_fork(uint64_t fsize_limit)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0 && fsize_limit != 0) {
		struct rlimit rl = {.rlim_cur = fsize_limit, .rlim_max = RLIM_INFINITY};

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0) {
			_exit(CHILD_NO_LIMIT);
		}
	}
	return pid;
}

/**
 * Wait for the child @p pid. @return its exit status, or -1 when it did not exit (a
 * signal) or could not be waited for: a caller that asserts the status fails either way.
 */
static inline int child_wait(pid_t pid)
{
	int status = 0;

	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		return -1;
	}
	return WEXITSTATUS(status);
}
