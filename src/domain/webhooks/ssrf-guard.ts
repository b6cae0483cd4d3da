import { lookup } from "node:dns/promises";
import ipaddr from "ipaddr.js";

/**
 * Webhook targets must be public addresses unless WEBHOOK_ALLOW_PRIVATE_NETWORKS is set:
 * loopback, private, link-local (incl. cloud metadata 169.254.169.254), unique-local, CGNAT,
 * multicast, reserved and unspecified ranges are refused, for IPv4, IPv6 and IPv4-mapped IPv6.
 * Only ipaddr.js's "unicast" range (public) passes.
 *
 * Known limit: the name is resolved here and again by fetch, so a DNS answer that changes in
 * between (rebinding) is not caught; pinning the IP would need a custom HTTPS agent.
 */
export function isPublicAddress(ip: string): boolean {
  if (!ipaddr.isValid(ip)) return false;
  const addr = ipaddr.process(ip); // unwraps ::ffff:a.b.c.d to IPv4
  // Deprecated IPv4-compatible addresses (::a.b.c.d) count as "unicast" in ipaddr.js but can reach
  // IPv4 hosts: refuse the whole ::/96.
  if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).parts.slice(0, 6).every((p) => p === 0)) return false;
  return addr.range() === "unicast";
}

export class BlockedAddressError extends Error {
  override name = "BlockedAddressError";
}

/** Resolves the URL's host and throws BlockedAddressError if any address is not public. */
export async function assertPublicTarget(url: URL): Promise<void> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const addrs = ipaddr.isValid(host)
    ? [host]
    : (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
  if (addrs.length === 0) throw new BlockedAddressError(`${host} did not resolve`);
  const bad = addrs.find((a) => !isPublicAddress(a));
  if (bad) throw new BlockedAddressError(`${host} resolves to non-public address ${bad}`);
}

/** Cheap check at request time for literal IPs (names are checked at delivery). */
export function isLiteralPrivateHost(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return (ipaddr.isValid(host) && !isPublicAddress(host)) || host === "localhost" || host.endsWith(".localhost");
}
