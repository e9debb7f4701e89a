/*
 * counter_table: every counter leasewire shows, described once (X-macros).
 *
 * A row gives a counter's member of struct dp_counters, its name in statistic-get and the
 * client's Prometheus output, its DPDK telemetry name, its name in the periodic log line
 * (NULL: not logged), flags and a one-line help. From these rows come the struct's fields
 * (dataplane/counters.h), the name/offset table the control plane reads
 * (dp_counter_descs[]), the telemetry endpoints (controlplane/telemetry.c), statistic-get
 * (controlplane/ctl_cmds.c), the log line and leasewirectl's Prometheus HELP texts
 * (client/ctlc_prom.c). Adding a counter is adding one row; a drop reason, one row of
 * LW_DROP_TABLE.
 *
 * Header only, no types: the rows are expanded by the includer, so the client reads the
 * names and help without the data plane (the member tokens are never compiled there).
 */
#pragma once

/** LW_COUNTER_TABLE flag: also shown per worker (telemetry /leasewire/worker). */
#define LW_CTR_WORKER	(1u << 0)

/*
 * S(member, stat, telemetry, log, flags, help): a uint64_t member of struct dp_counters.
 * E(array, index, stat, telemetry, log, flags, help): element @index of the per-message-type
 * arrays rx_dhcp / tx_dhcp (indexed by enum dhcp4_type; 0 = BOOTP without option 53).
 * Rows are in statistic-get's order.
 */
#define LW_COUNTER_TABLE(S, E) \
	S(rx, "pkt4-received", "rx", "rx", LW_CTR_WORKER, \
	  "DHCPv4 and BOOTP packets received.") \
	S(tx, "pkt4-sent", "tx", "tx", LW_CTR_WORKER, \
	  "DHCPv4 and BOOTP packets sent.") \
	E(rx_dhcp, DHCP4_BOOTP, "pkt4-bootp-received", "bootp_received", "bootp", LW_CTR_WORKER, \
	  "BOOTREQUEST messages without a DHCP message type received.") \
	E(rx_dhcp, DHCP4_DISCOVER, "pkt4-discover-received", "discover_received", "discover", \
	  LW_CTR_WORKER, "DHCPDISCOVER messages received.") \
	E(tx_dhcp, DHCP4_OFFER, "pkt4-offer-sent", "offer_sent", "offer", LW_CTR_WORKER, \
	  "DHCPOFFER messages sent.") \
	E(rx_dhcp, DHCP4_REQUEST, "pkt4-request-received", "request_received", "request", \
	  LW_CTR_WORKER, "DHCPREQUEST messages received.") \
	E(rx_dhcp, DHCP4_DECLINE, "pkt4-decline-received", "decline_received", "decline", \
	  LW_CTR_WORKER, "DHCPDECLINE messages received.") \
	E(tx_dhcp, DHCP4_ACK, "pkt4-ack-sent", "ack_sent", "ack", LW_CTR_WORKER, \
	  "DHCPACK messages sent.") \
	E(tx_dhcp, DHCP4_NAK, "pkt4-nak-sent", "nak_sent", "nak", LW_CTR_WORKER, \
	  "DHCPNAK messages sent.") \
	E(rx_dhcp, DHCP4_RELEASE, "pkt4-release-received", "release_received", "release", \
	  LW_CTR_WORKER, "DHCPRELEASE messages received.") \
	E(rx_dhcp, DHCP4_INFORM, "pkt4-inform-received", "inform_received", "inform", \
	  LW_CTR_WORKER, "DHCPINFORM messages received.") \
	E(tx_dhcp, DHCP4_BOOTP, "pkt4-bootreply-sent", "bootreply_sent", NULL, LW_CTR_WORKER, \
	  "BOOTREPLY messages without a DHCP message type sent.") \
	S(arp_replies, "arp-replies", "arp_replies", "arp", 0, \
	  "ARP replies sent for the server's addresses.") \
	S(icmp_replies, "icmp-replies", "icmp_replies", "icmp", 0, \
	  "ICMP echo replies sent for the server's addresses.") \
	S(steered, "steered", "steered", "steered", LW_CTR_WORKER, \
	  "Frames handed to the worker that owns their client.") \
	S(parked, "parked", "parked", "parked", LW_CTR_WORKER, \
	  "Replies held back until their binding was durable.") \
	S(leases_reclaimed, "leases-reclaimed", "leases_reclaimed", "reclaimed", 0, \
	  "Expired leases reclaimed.") \
	S(options_dropped, "options-dropped", "options_dropped", NULL, 0, \
	  "Configured options left out of a reply for lack of room.") \
	S(handoff_overflow, "handoff-overflow", "handoff_overflow", NULL, 0, \
	  "Freed addresses left to the requeue scan: hand-off FIFO full.") \
	S(lent, "addresses-lent", "addresses_lent", NULL, LW_CTR_WORKER, \
	  "Free addresses a worker lent from its pool share to another.") \
	S(borrowed, "addresses-borrowed", "addresses_borrowed", NULL, LW_CTR_WORKER, \
	  "Free addresses a worker received from another's pool share.") \
	S(superseded, "bindings-superseded", "bindings_superseded", NULL, 0, \
	  "Client bindings freed because the client took another address in the scope.") \
	S(duplicate_requests, "duplicate-requests", "duplicate_requests", NULL, 0, \
	  "REQUESTs answered with the lease an earlier copy of them (same client and xid) " \
	  "was ACKed: redundant relays, retransmits.") \
	S(probes_sent, "conflict-probes-sent", "conflict_probes_sent", NULL, LW_CTR_WORKER, \
	  "Conflict-detection probes sent (ARP to direct clients' links, ICMP echo through " \
	  "relays) for addresses about to be offered.") \
	S(conflicts, "address-conflicts", "address_conflicts", "conflicts", 0, \
	  "Addresses a conflict-detection probe found in use: abandoned for decline-hold " \
	  "(event=address-conflict), the next one probed.") \
	S(probes_skipped, "conflict-probes-skipped", "conflict_probes_skipped", NULL, \
	  LW_CTR_WORKER, "Offers sent without the probe their scope asks for: the worker's " \
	  "probe table was full, or no mbuf for the probe.") \
	S(probe_replies_ignored, "conflict-probe-replies-ignored", \
	  "conflict_probe_replies_ignored", NULL, 0, "ARP or ICMP echo replies from an " \
	  "address being probed that do not answer our probe (wrong identifier or sequence, " \
	  "our own MAC), or that arrived after their probe ended.") \
	S(conflict_events_lost, "conflict-events-lost", "conflict_events_lost", NULL, 0, \
	  "Address conflicts not logged: the worker's event queue to the control thread " \
	  "was full (each is still counted in address-conflicts).")

/*
 * X(ID, name, help): why a frame or request was dropped or left unanswered. ID gives
 * DP_DROP_<ID>; name (snake_case) is the telemetry and log name ("drop_" + name in the log),
 * "drop-" + name with '-' for '_' the statistic, and the reason label of the Prometheus
 * family leasewire_drops_total.
 */
#define LW_DROP_TABLE(X) \
	/* frame layer (enum dp_frame_err) */ \
	X(FRAME_TRUNCATED, "frame_truncated", "Frame shorter than its headers.") \
	X(ETHERTYPE, "ethertype", "Neither IPv4 nor ARP.") \
	X(IP_HEADER, "ip_header", "Malformed IPv4 header.") \
	X(IP_CHECKSUM, "ip_checksum", "Wrong IPv4 header checksum.") \
	X(IP_FRAGMENT, "ip_fragment", "IPv4 fragment.") \
	X(IP_PROTO, "ip_proto", "Neither UDP nor ICMP.") \
	X(UDP_LENGTH, "udp_length", "UDP length does not fit the packet.") \
	X(UDP_CHECKSUM, "udp_checksum", "Wrong UDP checksum.") \
	X(UDP_PORT, "udp_port", "Not to the DHCP server port.") \
	X(ARP_MALFORMED, "arp_malformed", "Malformed ARP packet.") \
	X(ICMP_MALFORMED, "icmp_malformed", "Malformed ICMP packet (too short, wrong checksum, " \
	  "an echo request of code != 0).") \
	X(ICMP_OTHER, "icmp_not_echo_request", "Valid ICMP other than an echo request (an echo " \
	  "reply that answers no probe, an error such as port unreachable): nothing to answer.") \
	/* BOOTP/DHCP codec (enum dhcp4_err) */ \
	X(BOOTP_TRUNCATED, "bootp_truncated", "BOOTP message shorter than its fixed part.") \
	X(BAD_COOKIE, "bad_cookie", "Wrong DHCP magic cookie.") \
	X(BAD_HLEN, "bad_hlen", "Hardware address length out of range.") \
	X(OPTION_OVERRUN, "option_overrun", "An option runs past the message.") \
	X(BAD_OVERLOAD, "bad_overload", "Invalid option overload.") \
	X(BAD_OPTION_SIZE, "bad_option_size", "An option of the wrong size.") \
	X(BAD_OP, "bad_op", "Neither BOOTREQUEST nor BOOTREPLY.") \
	X(BAD_MSG_TYPE, "bad_msg_type", "Unknown DHCP message type.") \
	/* decisions */ \
	X(NOT_FOR_US, "not_for_us", "ARP/ICMP for an address that is not ours.") \
	X(BOOTREPLY, "bootreply_received", "A BOOTREPLY or server message type received.") \
	X(NO_INTERFACE, "no_interface", "Arrived on a port/VLAN with no interface.") \
	X(NO_SCOPE, "no_scope", "No scope serves the client's network.") \
	X(RELAY_NOT_ALLOWED, "relay_not_allowed", "A request with a giaddr from an IP source " \
	  "not in server.relay-allow.") \
	X(SCOPE_INACTIVE, "scope_inactive", "The client's scope is deactivated.") \
	X(POOL_EXHAUSTED, "pool_exhausted", "No free address in the scope.") \
	X(NO_RECORD, "no_binding_record", "Binding record stock empty.") \
	X(KEY_TOO_LONG, "client_id_too_long", "Client id longer than DP_KEY_MAX.") \
	X(BAD_REQUEST, "bad_request", "Fields RFC 2131 requires are missing.") \
	X(BOOTP_NO_RESERVATION, "bootp_no_reservation", "BOOTP client without a reservation.") \
	X(COMMIT_FULL, "commit_ring_full", "Change ring to the committer full.") \
	X(PARK_FULL, "park_full", "Too many replies waiting for durability.") \
	X(DELAY_FULL, "offer_delay_full", "Too many OFFERs waiting out a scope's offer-delay.") \
	X(STEER_FULL, "steer_ring_full", "Owner worker's steering ring full.") \
	X(REPLY_SPACE, "reply_space", "Reply frame could not be built (mbuf too small).") \
	X(TX_FULL, "tx_full", "The NIC queue refused the frame (a parked ACK waits for the next turn).") \
	X(NOMBUF, "no_mbuf", "No mbuf for the reply.") \
	X(WRITE_CONFLICT, "write_conflict", "The binding belongs to another worker's writer.") \
	X(RESERVED_IN_USE, "reserved_in_use", \
	  "The client's reserved address is bound to another.") \
	X(STALE_PARKED, "stale_parked", "A parked reply whose binding changed before it was " \
	  "durable (e.g. reclaimed during a long store outage).") \
	/* silences RFC 2131 asks for (not errors, but counted with the drops) */ \
	X(OTHER_SERVER, "other_server", "REQUEST for another server's offer.") \
	X(UNKNOWN_CLIENT, "unknown_client", \
	  "INIT-REBOOT/REBINDING from a client we do not know.") \
	X(NOT_BOUND, "not_bound", "RELEASE/DECLINE of an address not bound to the client.") \
	X(NOT_OFFERED, "not_offered", "SELECTING REQUEST for a free address never offered " \
	  "to the client (RFC 2131 4.3.2: silence, as a server with no record of it).") \
	/* flood control (engine.c): limits on what unknown clients may take */ \
	X(RATE_RELAY, "rate_limited_relay", "New binding refused: the relay's rate " \
	  "(server.flood-control.relay-rate) is spent.") \
	X(RATE_CIRCUIT, "rate_limited_circuit", "New binding refused: the relay circuit's rate " \
	  "(server.flood-control.circuit-rate) is spent.") \
	X(RATE_PORT, "rate_limited_port", "New binding refused: the port's rate " \
	  "(server.flood-control.port-rate) is spent.") \
	X(CIRCUIT_CAP, "circuit_cap", "New binding refused: the relay circuit holds " \
	  "server.flood-control.circuit-bindings addresses.") \
	X(OFFER_HOLDS_FULL, "offer_holds_full", "New binding refused: offers hold " \
	  "server.flood-control.offer-holds-percent of the pool.") \
	X(DECLINE_LIMITED, "decline_limited", "DECLINE ignored: the client declined " \
	  "server.flood-control.client-declines times in the window.") \
	X(DUPLICATE_DECLINE, "duplicate_decline", "DECLINE of an address already abandoned " \
	  "for the client: a copy (redundant relays, retransmits).") \
	X(OVERLOAD, "overload_discover", "DISCOVER dropped under overload (full receive " \
	  "bursts or steering ring) so that renewals go first.") \
	/* failover (fo_view.h): the partner answers, not us */ \
	X(FO_NOT_SERVING, "failover_not_serving", "The failover service level forbids an " \
	  "answer (NONE; RENEW_ONLY but for a renewal; relationship not running).") \
	X(FO_PARTNER_CLIENT, "failover_partner_client", \
	  "BALANCED: the client hashes to the partner.") \
	/* policies and the link-layer filter (dataplane/policy.h) */ \
	X(POLICY_DENIED, "policy_denied", "The client's policy denies it service (deny).") \
	X(POLICY_EXHAUSTED, "policy_range_exhausted", "No free address in the ranges of the " \
	  "client's policy.") \
	X(MAC_DENIED, "mac_denied", "The client's MAC address matches the server's deny " \
	  "filter (server.mac-filter.deny).") \
	X(MAC_NOT_ALLOWED, "mac_not_allowed", "The server's allow filter is in use and the " \
	  "client's MAC address matches none of it (server.mac-filter.allow).") \
	/* conflict detection (dataplane/probe.h) */ \
	X(PROBE_PENDING, "probe_pending", "A copy of a DISCOVER whose address is being " \
	  "probed (retransmit, redundant relays): the first copy is answered.") \
	X(PROBE_STALE, "probe_stale", "A DISCOVER held for a probe whose address went to " \
	  "another client meanwhile (its client took another server's offer, or its hold " \
	  "ended): the probe goes on for the new client; the old one retransmits.") \
	X(CONFLICT_CANDIDATES, "conflict_candidates", "DISCOVER dropped after " \
	  "DP_PROBE_CANDIDATES addresses in a row were found in use (all abandoned); the " \
	  "client's retransmission starts over.")

/*
 * X(member, stat, help): the store committer's counters (struct committer_stats, summed by
 * the committer itself); shown by statistic-get when there is a store.
 */
#define LW_STORE_COUNTER_TABLE(X) \
	X(batches, "store-commits", "Store transactions committed.") \
	X(changes, "store-changes", "Binding changes written to the store.") \
	X(failures, "store-commit-failures", "Store transactions that failed.") \
	X(full_failures, "store-full-failures", "Of store-commit-failures, the map was at " \
	  "server.store-max-size (event=store-unavailable reason=full).") \
	X(io_failures, "store-io-failures", "Of store-commit-failures, any other error: " \
	  "disk I/O, no space (event=store-unavailable reason=io).") \
	X(store_reopens, "store-reopens", "Store environment reopened after a failed meta " \
	  "page write (event=store-reopened).") \
	X(commit_ns_total, "store-commit-ns", "Wall time spent writing batches (ns).") \
	X(apply_ns_total, "store-apply-ns", \
	  "Of store-commit-ns, applying changes before the commit's write-out and sync (ns).") \
	X(cpu_ns_total, "store-committer-cpu-ns", "Committer thread CPU time in busy rounds (ns).") \
	X(max_batch_seen, "store-batch-max", "Largest batch committed (changes).") \
	X(apply_rounds, "store-apply-commits", \
	  "Journal mode: transactions bringing the bindings up to date from the journal.") \
	X(applied, "store-applied", "Journal mode: changes written to the bindings from it.") \
	X(apply_failures, "store-apply-failures", "Journal mode: such transactions that failed.") \
	X(journal_lag_max, "store-journal-lag-max", \
	  "Journal mode: most changes journaled and not yet applied.") \
	X(lag_stalls, "store-journal-stalls", \
	  "Journal mode: committer rounds held back because the bindings lagged too far.") \
	X(prefill_extensions, "store-prefills", "Strict mode: data files (bindings, journal) " \
	  "extended with written zeros ahead of the store's use (doc/durable-path.md).") \
	X(prefill_bytes, "store-prefill-bytes", "Strict mode: zeros written ahead.") \
	X(prefill_ns, "store-prefill-ns", "Strict mode: wall time of those extensions (ns).") \
	X(prefill_failures, "store-prefill-failures", "Strict mode: extensions that failed " \
	  "(event=store-prefill-failed; nothing stored is affected).")

/*
 * X(member, stat, help): the control socket's counters (struct ctl_stats, controlplane/ctl.h);
 * shown by statistic-get when the socket is open.
 */
#define LW_CTL_COUNTER_TABLE(X) \
	X(write_timeouts, "control-write-timeouts", "Control connections closed because the " \
	  "client did not read its answer within the timeout.") \
	X(read_timeouts, "control-read-timeouts", "Control requests not complete within the " \
	  "timeout.") \
	X(refused_busy, "control-refused-busy", "Control connections refused: " \
	  "too many were open.")

/*
 * X(member, name, tel, bucket, help): the committer's histograms (fixed buckets, struct
 * committer_stats member[COMMITTER_HIST_BUCKETS]). status-get shows each as an object
 * "<bucket><bound>" -> count (the last bucket "inf"); telemetry /leasewire/store as rows
 * "<tel>_<bucket>_<bound>" and "<tel>_inf". bucket is "lt" (exclusive upper bound) or "le".
 */
#define LW_STORE_HIST_TABLE(X) \
	X(commit_hist, "commit-latency-us", "commit_latency_us", "lt", \
	  "Drain-to-publish time of a batch, microseconds.") \
	X(batch_hist, "batch-size", "batch_size", "le", "Changes per committed batch.")

/*
 * X(ID, kind, help): the address gauges of every scope, statistic "scope[NAME].<kind>-
 * addresses", Prometheus leasewire_scope_<kind>_addresses{scope="NAME"}; in statistic-get's
 * order.
 */
#define LW_SCOPE_GAUGE_TABLE(X) \
	X(TOTAL, "total", "Addresses in the scope's pools.") \
	X(ASSIGNED, "assigned", "Addresses of the scope bound to a client.") \
	X(OFFERED, "offered", "Addresses of the scope held for an outstanding offer.") \
	X(DECLINED, "declined", "Addresses of the scope abandoned after a DHCPDECLINE.") \
	X(FREE, "free", "Addresses of the scope free to offer.")
