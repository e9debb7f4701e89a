/*
 * reqbuild.h: build client-side BOOTP/DHCP requests as raw bytes for tests, independently of
 * the server's own writer (so a bug in dhcp4_build_* cannot hide a bug in dhcp4_parse).
 */
#pragma once

#include <stdint.h>
#include <string.h>

#include "byteorder.h"

struct reqbuf {
	uint8_t b[1024];
	size_t len;
};

/** Start a BOOTREQUEST from chaddr 02:00:00:00:<a>:<b>. */
static inline void rb_begin(struct reqbuf *r, uint16_t mac_lo, uint32_t xid)
{
	memset(r, 0, sizeof(*r));
	r->b[0] = 1;	/* BOOTREQUEST */
	r->b[1] = 1;	/* ethernet */
	r->b[2] = 6;
	lw_put32(r->b + 4, xid);
	r->b[28] = 0x02;
	r->b[32] = (uint8_t)(mac_lo >> 8);
	r->b[33] = (uint8_t)mac_lo;
	r->b[236] = 99;
	r->b[237] = 130;
	r->b[238] = 83;
	r->b[239] = 99;
	r->len = 240;
}

static inline void rb_ciaddr(struct reqbuf *r, uint32_t a) { lw_put32(r->b + 12, a); }
static inline void rb_giaddr(struct reqbuf *r, uint32_t a) { lw_put32(r->b + 24, a); }
static inline void rb_flags(struct reqbuf *r, uint16_t f)
{
	r->b[10] = (uint8_t)(f >> 8);
	r->b[11] = (uint8_t)f;
}

static inline void rb_opt(struct reqbuf *r, uint8_t code, const void *v, uint8_t len)
{
	r->b[r->len++] = code;
	r->b[r->len++] = len;
	memcpy(r->b + r->len, v, len);
	r->len += len;
}

static inline void rb_opt_u32(struct reqbuf *r, uint8_t code, uint32_t v)
{
	uint8_t b[4];

	lw_put32(b, v);
	rb_opt(r, code, b, 4);
}

static inline void rb_type(struct reqbuf *r, uint8_t t) { rb_opt(r, 53, &t, 1); }

/** Finish: END and pad to 300. */
static inline void rb_end(struct reqbuf *r)
{
	r->b[r->len++] = 255;
	if (r->len < 300) {
		r->len = 300;
	}
}

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))
