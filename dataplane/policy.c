/*
 * policy.c: matching requests against policies and the MAC filter (policy.h).
 *
 * A field is located once per request, on first use (options through the parser's index),
 * and kept for every later condition and policy; then compared with each value. Option 81's
 * name is compared as dotted text: a name the client sent in DNS wire form (the E flag) is
 * decoded into a stack buffer first, bounded by the option's length.
 */
#include <string.h>

#include "counters.h"
#include "policy.h"

#define FQDN_FLAG_E	0x04	/* RFC 4702: the name is in DNS wire form */

/* Option 82 sub-option @sub of @m, or NULL. */
static const uint8_t *relay_sub(const struct dhcp4_msg *m, uint8_t sub, uint16_t *len)
{
	uint16_t n;
	const uint8_t *o = dhcp4_opt(m, DHCP4_OPT_RELAY_AGENT, &n);

	for (uint32_t i = 0; o != NULL && i + 2 <= n && i + 2u + o[i + 1] <= n;
	     i += 2u + o[i + 1]) {
		if (o[i] == sub) {
			*len = o[i + 1];
			return o + i + 2;
		}
	}
	return NULL;
}

/* Option 81's name as dotted text into @buf (no trailing dot), or NULL. */
static const uint8_t *fqdn_name(const struct dhcp4_msg *m, uint8_t buf[256], uint16_t *len)
{
	uint16_t n, at = 0;
	const uint8_t *o = dhcp4_opt(m, 81, &n);

	if (o == NULL || n < 3) {
		return NULL;
	}
	if (!(o[0] & FQDN_FLAG_E)) {
		*len = (uint16_t)(n - 3);
		while (*len > 0 && o[3 + *len - 1] == '.') {
			(*len)--;
		}
		return o + 3;
	}
	for (uint16_t i = 3; i < n && o[i] != 0;) {
		uint8_t l = o[i++];

		if (l > 63 || i + l > n || at + l + 1 > 255) {
			return NULL;
		}
		if (at != 0) {
			buf[at++] = '.';
		}
		memcpy(buf + at, o + i, l);
		at = (uint16_t)(at + l);
		i = (uint16_t)(i + l);
	}
	*len = at;
	return buf;
}

static bool bytes_equal(const uint8_t *a, const uint8_t *b, size_t n, bool fold)
{
	if (!fold) {
		return memcmp(a, b, n) == 0;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t x = a[i], y = b[i];

		x = (uint8_t)(x >= 'A' && x <= 'Z' ? x + 32 : x);
		y = (uint8_t)(y >= 'A' && y <= 'Z' ? y + 32 : y);
		if (x != y) {
			return false;
		}
	}
	return true;
}

static bool value_match(const struct dp_cond_value *v, const uint8_t *f, uint16_t n, bool fold)
{
	if (v->prefix) {
		return n >= v->len && bytes_equal(f, v->data, v->len, fold);
	}
	return n == v->len && bytes_equal(f, v->data, n, fold);
}

static bool mac_value_match(const struct dp_cond_value *v, const uint8_t *mac)
{
	for (int i = 0; i < 6; i++) {
		if ((mac[i] & v->mask[i]) != v->data[i]) {
			return false;
		}
	}
	return true;
}

/* The request's fields, each located on first use and kept for the other policies. */
struct fields {
	const struct dhcp4_msg *m;
	uint32_t got;			/* bit per enum dp_cond_type: located */
	const uint8_t *f[DP_COND_COUNT];
	uint16_t n[DP_COND_COUNT];
	uint8_t name[256];		/* option 81's name in wire form, decoded */
};

static const uint8_t *field(struct fields *x, uint8_t type, uint16_t *n)
{
	const struct dhcp4_msg *m = x->m;
	const uint8_t *f = NULL;

	if ((x->got >> type) & 1) {
		*n = x->n[type];
		return x->f[type];
	}
	*n = 0;
	switch ((enum dp_cond_type)type) {
	case DP_COND_VENDOR_CLASS:
		f = dhcp4_opt(m, 60, n);
		break;
	case DP_COND_USER_CLASS:
		f = dhcp4_opt(m, 77, n);
		break;
	case DP_COND_CLIENT_ID:
		f = dhcp4_opt(m, DHCP4_OPT_CLIENT_ID, n);
		break;
	case DP_COND_CIRCUIT_ID:
		f = relay_sub(m, 1, n);
		break;
	case DP_COND_REMOTE_ID:
		f = relay_sub(m, 2, n);
		break;
	case DP_COND_FQDN:
		f = fqdn_name(m, x->name, n);
		break;
	case DP_COND_CLIENT_ARCH:
		f = dhcp4_opt(m, 93, n);
		break;
	case DP_COND_MAC:
		if (m->htype == 1 && m->hlen == 6) {
			f = m->chaddr;
			*n = 6;
		}
		break;
	case DP_COND_COUNT:
		break;
	}
	x->got |= 1u << type;
	x->f[type] = f;
	x->n[type] = *n;
	return f;
}

static bool cond_holds(const struct dp_condition *c, struct fields *x)
{
	uint16_t n;
	const uint8_t *f = field(x, c->type, &n);
	bool any = false;

	for (uint32_t i = 0; f != NULL && !any && i < c->n_values; i++) {
		const struct dp_cond_value *v = &c->values[i];

		if (c->type == DP_COND_MAC) {
			any = mac_value_match(v, f);
		} else if (c->type == DP_COND_CLIENT_ARCH) {
			for (uint16_t k = 0; !any && k + 2 <= n; k += 2) {
				any = f[k] == v->data[0] && f[k + 1] == v->data[1];
			}
		} else {
			any = value_match(v, f, n, c->type == DP_COND_FQDN);
		}
	}
	return any != c->negate;
}

static bool holds(const struct dp_policy *p, struct fields *x)
{
	for (uint32_t i = 0; i < p->n_conds; i++) {
		bool h = cond_holds(&p->conds[i], x);

		if (h != p->match_all) {
			return h;	/* OR: one holds; AND: one fails */
		}
	}
	return p->n_conds == 0 || p->match_all;
}

bool dp_policy_holds(const struct dp_policy *p, const struct dhcp4_msg *m)
{
	struct fields x = { .m = m };

	return holds(p, &x);
}

static const struct dp_policy *first_match(const struct dp_policy *v, uint32_t n,
					   struct fields *x)
{
	for (uint32_t i = 0; i < n; i++) {
		if (v[i].enabled && holds(&v[i], x)) {
			return &v[i];
		}
	}
	return NULL;
}

const struct dp_policy *dp_policy_match(const struct dp_config *c, const struct dp_scope *s,
					const struct dhcp4_msg *m)
{
	struct fields x;
	const struct dp_policy *p;

	x.m = m;
	x.got = 0;
	p = first_match(s->policies, s->n_policies, &x);
	return p != NULL ? p : first_match(c->policies, c->n_policies, &x);
}

int dp_mac_filter(const struct dp_config *c, const struct dhcp4_msg *m)
{
	bool eth = m->htype == 1 && m->hlen == 6;

	for (uint32_t i = 0; eth && i < c->n_mac_deny; i++) {
		if (dp_mac_match(&c->mac_deny[i], m->chaddr)) {
			return DP_DROP_MAC_DENIED;
		}
	}
	if (c->n_mac_allow == 0) {
		return 0;
	}
	for (uint32_t i = 0; eth && i < c->n_mac_allow; i++) {
		if (dp_mac_match(&c->mac_allow[i], m->chaddr)) {
			return 0;
		}
	}
	return DP_DROP_MAC_NOT_ALLOWED;
}
