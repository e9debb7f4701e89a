/*
 * port_fix.h: TCP ports for tests that listen on loopback (test_fo_link, test_fo_listener,
 * test_fo_run, test_mgmt_link, test_mgmt_run), picked by the kernel and held for the test,
 * so that two test programs running side by side (meson runs them in parallel) never bind
 * the same port.
 * Header-only, test code only.
 */
#pragma once

#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

/** A port held for the test (port_fix_take()). */
struct port_fix {
	int fd;			/**< the holding socket, -1 when none */
	uint16_t port;		/**< host order, 0 when none */
};

/**
 * Take a TCP port the kernel picks as free and hold it until port_fix_drop(): a socket with
 * SO_REUSEADDR bound to 0.0.0.0:port that never listens. Meanwhile a socket that sets
 * SO_REUSEADDR too (the listeners of fo_link and fo_listener, a test's own) may bind and
 * listen on the port, on any address; nothing else is given it (bind() to port 0 and
 * connect() pass over a port that has a bound socket, and a bind without SO_REUSEADDR
 * fails), and a connect to it while none of ours listens is refused.
 * @return 0, or a negative errno (then p->fd == -1, p->port == 0).
 */
static inline int port_fix_take(struct port_fix *p)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int one = 1, err;

	p->port = 0;
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		return -errno;
	}
	if (setsockopt(p->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(p->fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(p->fd, (struct sockaddr *)&a, &len) != 0) {
		err = -errno;
		close(p->fd);
		p->fd = -1;
		return err;
	}
	p->port = ntohs(a.sin_port);
	return 0;
}

/** Let the port go (a no-op on one never taken or already dropped). */
static inline void port_fix_drop(struct port_fix *p)
{
	if (p->fd >= 0) {
		close(p->fd);
	}
	p->fd = -1;
	p->port = 0;
}
