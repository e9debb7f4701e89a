/*
 * flood.c: the bounded tables of flood.h. Open addressing over a window of DP_FLOOD_PROBE
 * slots from the key's home slot; an absent key takes an empty slot of the window, else the
 * one that counts nothing and was used least recently, else the least recently used one.
 */
#include <string.h>

#include "flood.h"
#include "lw_hash.h"

struct dp_flood_slot *dp_flood_find(struct dp_flood_slot *t, uint32_t size, uint64_t key,
				    bool create)
{
	uint32_t home = (uint32_t)lw_mix64(key) & (size - 1);
	struct dp_flood_slot *empty = NULL, *old = NULL, *s;

	for (uint32_t i = 0; i < DP_FLOOD_PROBE; i++) {
		s = &t[(home + i) & (size - 1)];
		if (s->key == key) {
			return s;
		}
		if (s->key == 0) {
			empty = empty != NULL ? empty : s;
		} else if (old == NULL || (s->count == 0 && old->count != 0) ||
			   ((s->count == 0) == (old->count == 0) && s->stamp < old->stamp)) {
			old = s;
		}
	}
	if (!create) {
		return NULL;
	}
	s = empty != NULL ? empty : old;
	memset(s, 0, sizeof(*s));
	s->key = key;
	return s;
}

bool dp_flood_peek(struct dp_flood_slot *s, uint64_t rate_m, uint64_t burst_m, uint64_t now)
{
	if (s->stamp == 0) {
		s->tokens = burst_m;
		s->stamp = now;
	} else if (now > s->stamp) {
		uint64_t add = (now - s->stamp) * rate_m;

		s->tokens = add >= burst_m || s->tokens + add >= burst_m ? burst_m : s->tokens + add;
		s->stamp = now;
	}
	return s->tokens >= 1000;
}

uint64_t dp_flood_circuit_hash(uint64_t seed, uint32_t giaddr, const uint8_t *id, uint32_t len)
{
	uint64_t h = lw_hash_bytes(seed ^ ((uint64_t)giaddr << 16), id, len);

	return h != 0 ? h : 1;
}
