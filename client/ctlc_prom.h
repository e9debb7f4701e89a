/*
 * ctlc_prom: statistics and failover status in the Prometheus text exposition format 0.0.4.
 *
 * The HELP text of every leasewired counter comes from the counter table
 * (common/counter_table.h), the same rows that name it in the server. Any thread; no state.
 */
#pragma once

#include <stdio.h>

#include <jansson.h>

#include "lw_attr.h"

/**
 * @brief Print statistics in the Prometheus text exposition format (version 0.0.4).
 *
 * `pkt4-received` becomes the counter `leasewire_pkt4_received`; every `drop-<reason>`
 * becomes a sample of the counter `leasewire_drops_total{reason="<reason>"}` (with '-'
 * turned into '_'); `scope[<name>].<kind>-addresses` becomes the gauge
 * `leasewire_scope_<kind>_addresses{scope="<name>"}` with the label value escaped. Families
 * are sorted by name and each has exactly one "# HELP" and one "# TYPE" line, before its
 * samples. Members whose value is not a number are skipped.
 *
 * A failover-status list gives, per relationship (label `relationship="<name>"`), the gauges
 * `leasewire_failover_state` and `leasewire_failover_partner_state` (the draft's state codes:
 * startup 1, normal 2, communications-interrupted 3, partner-down 4, potential-conflict 5,
 * recover 6, paused 7, shutdown 8, recover-done 9, resolution-interrupted 10, conflict-done
 * 11, recover-wait 254, unknown-state 0), `leasewire_failover_communications_ok` (1/0),
 * `leasewire_failover_state_since_seconds`, `_addresses`, `_unacked`, `_queued` and
 * `_in_flight`; the counter `leasewire_failover_messages_total{relationship, message,
 * direction}` for every "<message>-sent"/"<message>-received" member of "messages";
 * `leasewire_failover_<member>_total` for the other members of "messages"
 * (addresses-given); and `leasewire_failover_link_<member>_total` for "link-counters".
 *
 * @param out   stream to write to.
 * @param stats the "arguments" object of a statistic-get-all or statistic-get answer, the
 *              "arguments" list of a failover-status answer, or the whole answer (its
 *              "arguments" member is then used). Not modified.
 * @return 0, -EINVAL when @p stats is neither an object nor a list of objects, or -ENOMEM.
 */
_mustcheck_
int ctlc_render_prometheus(FILE *out, json_t *stats);
