/*
 * byteorder: big-endian (network order) loads and stores on unaligned byte pointers: the
 * one set, for every codec and on-disk record (DHCP and frames in dataplane/, failover
 * messages, LMDB keys and records, the configuration's option values).
 *
 * Byte by byte: no alignment assumptions, no strict-aliasing issues, and the compiler turns
 * each into one load or store plus a byte swap. The caller checks the bounds: each function
 * reads or writes exactly 2, 4 or 8 bytes at @p p.
 *
 * Header only; pure; any thread.
 */
#pragma once

#include <stdint.h>

/** @return the 16-bit big-endian value at @p p (2 bytes). */
static inline uint16_t lw_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/** @return the 32-bit big-endian value at @p p (4 bytes). */
static inline uint32_t lw_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/** @return the 64-bit big-endian value at @p p (8 bytes). */
static inline uint64_t lw_get64(const uint8_t *p)
{
	return (uint64_t)lw_get32(p) << 32 | lw_get32(p + 4);
}

/** Store @p v big-endian at @p p (2 bytes). */
static inline void lw_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/** Store @p v big-endian at @p p (4 bytes). */
static inline void lw_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/** Store @p v big-endian at @p p (8 bytes). */
static inline void lw_put64(uint8_t *p, uint64_t v)
{
	lw_put32(p, (uint32_t)(v >> 32));
	lw_put32(p + 4, (uint32_t)v);
}
