#include <errno.h>
#include <stdlib.h>

#include "cpulist.h"

/* A CPU number at *p: digits only, below CPU_SETSIZE. @return it or -1. */
static long cpu_num(const char **p)
{
	char *end;
	long v;

	if (**p < '0' || **p > '9') {
		return -1;
	}
	v = strtol(*p, &end, 10);
	if (v < 0 || v >= CPU_SETSIZE) {
		return -1;
	}
	*p = end;
	return v;
}

int lw_cpulist_parse(const char *s, cpu_set_t *set)
{
	const char *p = s;
	long a, b;

	CPU_ZERO(set);
	for (;;) {
		a = cpu_num(&p);
		if (a < 0) {
			return -EINVAL;
		}
		b = a;
		if (*p == '-') {
			p++;
			b = cpu_num(&p);
			if (b < a) {
				return -EINVAL;
			}
		}
		for (long c = a; c <= b; c++) {
			CPU_SET((int)c, set);
		}
		if (*p == '\0') {
			return 0;
		}
		if (*p++ != ',') {
			return -EINVAL;
		}
	}
}
