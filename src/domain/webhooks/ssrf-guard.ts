import { lookup } from "node:dns/promises";
import ipaddr from "ipaddr.js";

/**
 * Webhook targets must be public addresses unless WEBHOOK_ALLOW_PRIVATE_NETWORKS is set:
 * loopback, private, link-local (incl. cloud metadata 169.254.169.254), unique-local, CGNAT,
 * multicast, reserved and unspecified ranges are refused, for IPv4, IPv6 and IPv4-mapped IPv6.
 * Only ipaddr.js's "unicast" range (public) passes.
 *
 * DNS rebinding: the name is resolved once per attempt (`resolveTarget`) and the connection is
 * made to that checked address (the sender's pinned lookup), so a second, different DNS answer
 * is never asked for and can't redirect the request inside.
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

/** A DNS resolver: every address of a name. Injectable so tests can play a rebinding DNS server. */
export type Resolver = (host: string) => Promise<{ address: string; family: number }[]>;

export const systemResolver: Resolver = (host) => lookup(host, { all: true, verbatim: true });

/**
 * Resolves the URL's host once and returns the address to connect to (the first answer). Unless
 * `allowPrivate`, throws BlockedAddressError if any answer is not public (a name with one private
 * answer among public ones is refused whole: the client might pick any of them).
 */
export async function resolveTarget(
  url: URL,
  opts: { resolve?: Resolver; allowPrivate?: boolean } = {},
): Promise<{ address: string; family: 4 | 6 }> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const addrs = ipaddr.isValid(host)
    ? [{ address: host, family: ipaddr.parse(host).kind() === "ipv6" ? 6 : 4 }]
    : await (opts.resolve ?? systemResolver)(host);
  if (addrs.length === 0) throw new BlockedAddressError(`${host} did not resolve`);
  if (!opts.allowPrivate) {
    const bad = addrs.find((a) => !isPublicAddress(a.address));
    if (bad) throw new BlockedAddressError(`${host} resolves to non-public address ${bad.address}`);
  }
  const first = addrs[0]!;
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** Resolves the URL's host and throws BlockedAddressError if any address is not public. */
export async function assertPublicTarget(url: URL, resolve?: Resolver): Promise<void> {
  await resolveTarget(url, { resolve });
}

/** Cheap check at request time for literal IPs (names are checked at delivery). */
export function isLiteralPrivateHost(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return (ipaddr.isValid(host) && !isPublicAddress(host)) || host === "localhost" || host.endsWith(".localhost");
}
