/*
 * fo_act: the state machine's actions carried out through the caller's ops (fo_act.h).
 */
#include "fo_act.h"

/* A message of @p type without options. @return the xid the link gave it (0: none). */
static uint32_t send_simple(uint8_t type, const struct fo_act_ops *ops, void *ctx)
{
	struct fo_msg m;

	fo_msg_init(&m, type, 0, 0);
	ops->send(ctx, &m);
	return m.xid;
}

void fo_act_send_updreq(uint8_t type, const struct fo_act_ops *ops, void *ctx,
			struct fo_act_updreq *u)
{
	u->xid = send_simple(type, ops, ctx);
	u->type = type;
	u->pending = true;
}

bool fo_act_run(const struct fo_state_output *out, const struct fo_act_ops *ops, void *ctx,
		struct fo_act_updreq *u)
{
	bool service = false;

	for (unsigned i = 0; i < out->n_actions; i++) {
		const struct fo_state_action *a = &out->actions[i];
		struct fo_msg m;

		switch (a->type) {
		case FO_ACT_PERSIST:
			ops->persist(ctx);
			break;
		case FO_ACT_SEND_STATE:
			fo_msg_init(&m, FO_MSG_STATE, 0, 0);
			m.server_state = a->wire_state;
			m.server_flags = a->flags;
			m.stos = a->stos;
			m.present |= FO_BIT(FO_OPT_SERVER_STATE) | FO_BIT(FO_OPT_SERVER_FLAGS) |
				     FO_BIT(FO_OPT_STOS);
			ops->send(ctx, &m);
			break;
		case FO_ACT_SEND_UPDREQ:
			fo_act_send_updreq(FO_MSG_UPDREQ, ops, ctx, u);
			break;
		case FO_ACT_SEND_UPDREQALL:
			fo_act_send_updreq(FO_MSG_UPDREQALL, ops, ctx, u);
			break;
		case FO_ACT_SEND_UPDATES:
			ops->send_updates(ctx);
			break;
		case FO_ACT_SEND_POOLREQ:
			(void)send_simple(FO_MSG_POOLREQ, ops, ctx);
			break;
		case FO_ACT_SEND_DISCONNECT:
			ops->disconnect(ctx, a->reject_reason);
			break;
		case FO_ACT_CLOSE_LINK:
			ops->disconnect(ctx, 0);
			break;
		case FO_ACT_SERVICE:
			service = true;
			break;
		case FO_ACT_ALARM:
			ops->alarm(ctx);
			break;
		case FO_ACT_SEND_CONNECT:	/* fo_link does the handshake */
		case FO_ACT_SEND_CONTACT:	/* and the keepalives */
		default:
			break;
		}
	}
	return service;
}
