/*
 * flood: one worker's flood-control state (engine.c "Flood control"): token buckets per
 * relay, per relay circuit and per port for new bindings, bindings per circuit, declines
 * per client, and outstanding offers per scope.
 *
 * Threads: a struct dp_flood lives in its worker's struct dp_engine and is used by that
 * worker only, so nothing here is atomic or shared; each worker enforces its share of a
 * configured rate (rate / workers). The tables are fixed arrays sized at compile time: no
 * allocation, and every operation looks at DP_FLOOD_PROBE slots at most.
 *
 * The tables are caches, not ledgers: a key that falls out of one (evicted for a newer key
 * when its probe window is full) comes back as new, with a full bucket and no bindings
 * counted. Eviction prefers slots that count nothing, then the least recently used. So an
 * attacker who cycles through more circuit ids or client keys than a table holds escapes
 * those two limits (not the relay and port buckets, which see every circuit), and a
 * legitimate key is never locked out by a lost count: the error is always towards serving.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "dp_config.h"

#define DP_FLOOD_RELAYS		256	/**< relay (giaddr) buckets, power of 2 */
#define DP_FLOOD_CIRCUITS	4096	/**< circuit buckets and binding counts, power of 2 */
#define DP_FLOOD_CLIENTS	2048	/**< per-client decline counts, power of 2 */
#define DP_FLOOD_PROBE		8	/**< slots looked at per lookup */

/** One slot of a table: key 0 = empty. */
struct dp_flood_slot {
	uint64_t key;
	uint64_t stamp;			/**< bucket: last refill (unix seconds), also the LRU
					 *   age; declines: start of the window */
	uint64_t tokens;		/**< bucket: thousandths of a token */
	uint32_t count;			/**< circuit: offered + bound addresses; client: declines
					 *   in the window */
	uint32_t pad;
};

struct dp_flood {
	struct dp_flood_slot relays[DP_FLOOD_RELAYS];
	struct dp_flood_slot circuits[DP_FLOOD_CIRCUITS];
	struct dp_flood_slot clients[DP_FLOOD_CLIENTS];
	struct dp_flood_slot ports[DP_MAX_PORTS];	/**< by port index, key unused */
	/** OFFERED records this worker wrote, per scope index (of the pools in @c pools). */
	uint32_t offers[DP_MAX_SCOPES];
	const void *pools;		/**< the struct dp_pools offers[] counts for */
};

/**
 * The slot of @p key (non-zero) in table @p t of @p size slots (a power of 2), or, when
 * @p create, a fresh one (zeroed but for the key; it may evict another key). NULL when absent
 * and not created.
 */
struct dp_flood_slot *dp_flood_find(struct dp_flood_slot *t, uint32_t size, uint64_t key,
				    bool create);

/**
 * Token bucket: refill @p s for @p now at @p rate_m thousandths of a token per second up to
 * @p burst_m, starting full when the slot is fresh (stamp 0). @return true when a whole token
 * is there (not taken: dp_flood_take() takes it).
 */
bool dp_flood_peek(struct dp_flood_slot *s, uint64_t rate_m, uint64_t burst_m, uint64_t now);

/** Take one token from a bucket dp_flood_peek() said has one. */
static inline void dp_flood_take(struct dp_flood_slot *s)
{
	s->tokens -= 1000;
}

/**
 * A worker's share of a rate or burst, in thousandths: @p v * 1000 / @p n_workers, at least
 * @p floor_m (a burst below one token would never admit anything).
 */
static inline uint64_t dp_flood_share(uint32_t v, uint32_t n_workers, uint64_t floor_m)
{
	uint64_t m = (uint64_t)v * 1000 / (n_workers != 0 ? n_workers : 1);

	return m < floor_m ? floor_m : m;
}

/**
 * Seeded hash of a relay circuit: @p giaddr and the circuit id @p id (@p len bytes).
 * @return non-zero.
 */
uint64_t dp_flood_circuit_hash(uint64_t seed, uint32_t giaddr, const uint8_t *id, uint32_t len);
