-- leasewire: drive a leasewire box with DHCP frames from pktgen-dpdk (see README.md).
--
--   pktgen -l 0-2 -n 4 -a <PCI> -- -P -m "[1:2].0" -s 0:discover.pcap -f dhcp.lua
--
-- One pcap frame becomes a stream of distinct clients: pktgen's random bit masks rewrite
-- the BOOTP xid, and (for DISCOVERs) the last 4 bytes of chaddr, in every transmitted copy.
-- The pcaps carry UDP checksum 0, so the rewritten bytes need no checksum update, and the
-- masks never touch the IPv4 header, whose checksum stays valid.
-- Stateless: pktgen never turns an OFFER into a REQUEST. Use leasewire-bench for DORA.
package.path = package.path .. ";?.lua;test/?.lua;app/?.lua;"
require "Pktgen"

local port = "0"		-- the pktgen port cabled to leasewired's port
local mode = "discover"		-- "discover" with discover.pcap, "request" with request.pcap
local rate = 10			-- percent of line rate (10 GbE: 10 % = 341 k frames/s)
local seconds = 30

-- Byte offsets in the untagged frames (add 4 per 802.1Q tag in front of the IPv4 header).
-- check_pcaps.py reads these two lines and checks them against the pcaps.
local XID = 46			-- 14 Ethernet + 20 IPv4 + 8 UDP + 4 (op htype hlen hops)
local CHADDR_LOW = 72		-- 14 + 20 + 8 + 28 (chaddr) + 2: keep 02:42, vary the rest
local ALL = "XXXXXXXX_XXXXXXXX_XXXXXXXX_XXXXXXXX"

pktgen.stop(port)
pktgen.clear(port)
pktgen.set(port, "rate", rate)
pktgen.rnd(port, 0, XID, ALL)
if mode == "discover" then
	pktgen.rnd(port, 1, CHADDR_LOW, ALL)
else
	-- request.pcap's clients each ask for their own address: keep their chaddr.
	pktgen.rnd(port, 1, CHADDR_LOW, "off")
end
pktgen.pcap(port, "on")

print(string.format("leasewire: %s frames on port %s at %d%% for %d s", mode, port, rate,
		    seconds))
pktgen.start(port)
pktgen.delay(seconds * 1000)
pktgen.stop(port)
pktgen.delay(500)		-- let the last replies arrive

local s = pktgen.portStats(port)[tonumber(port)].curr
print(string.format("leasewire: sent %d, received %d (OFFERs/ACKs/NAKs), rx missed %d, " ..
		    "rx errors %d", s.opackets, s.ipackets, s.imissed, s.ierrors))
