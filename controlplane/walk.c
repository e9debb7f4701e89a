/*
 * walk.c: see walk.h. The cursor moves from subnet to subnet by taking, each time it leaves
 * one, the lowest subnet at or above it (scopes are few; subnets never overlap).
 */
#include "walk.h"

void cp_walk_init(struct cp_walk *w, uint64_t from, const struct dp_scope *const *only)
{
	w->next = from;
	w->only = only;
	w->qs = 0;
	w->lookups = 0;
}

static bool walked(const struct cp_walk *w, const struct dp_scope *s)
{
	if (w->only == NULL) {
		return true;
	}
	for (unsigned i = 0; w->only[i] != NULL; i++) {
		if (w->only[i] == s) {
			return true;
		}
	}
	return false;
}

/* The scope whose subnet holds @p a, else the lowest above it; *last = its last address.
 * NULL when none is left. */
static const struct dp_scope *scope_from(const struct cp_walk *w, const struct dp_config *cfg,
					 uint64_t a, uint64_t *last)
{
	const struct dp_scope *best = NULL;

	for (uint32_t i = 0; i < cfg->n_scopes; i++) {
		const struct dp_scope *s = &cfg->scopes[i];
		uint64_t end = (uint64_t)(s->subnet | ~s->mask);

		if (end < a || !walked(w, s) || (best != NULL && s->subnet >= best->subnet)) {
			continue;
		}
		best = s;
		*last = end;
	}
	return best;
}

bool cp_walk_step(struct cp_walk *w, const struct dp_config *cfg, struct bt_table *t,
		  uint64_t budget, bool (*cb)(const struct bt_binding *b, void *arg), void *arg)
{
	while (budget > 0 && !cp_walk_done(w)) {
		uint64_t last;
		const struct dp_scope *s = scope_from(w, cfg, w->next, &last);

		if (s == NULL) {
			w->next = CP_WALK_END;
			break;
		}
		if (w->next < s->subnet) {
			w->next = s->subnet;
		}
		for (; w->next <= last && budget > 0; w->next++, budget--) {
			const struct bt_binding *b;

			if (++w->lookups % CP_WALK_QS == 0) {
				/* No record pointer is held between lookups. */
				urcu_qsbr_quiescent_state();
				w->qs++;
			}
			b = bt_lookup_addr(t, (uint32_t)w->next);
			if (b != NULL && !cb(b, arg)) {
				return false;	/* resumes at this address */
			}
		}
	}
	return cp_walk_done(w);
}
