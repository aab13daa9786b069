import dns, { type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { ServiceError } from './errors.js';

/**
 * Webhook targets must not reach into the service's own network (SSRF): loopback, private,
 * link-local, CGNAT, documentation, benchmarking, multicast, reserved and unspecified addresses
 * (and IPv6 forms that embed or tunnel to one) are refused unless WEBHOOK_ALLOW lists the host
 * or a CIDR containing the address. Checked when the URL is accepted, and again on every
 * address a delivery connects to (`guardedLookup`): DNS can answer differently each time, so
 * only the check made by the connection itself counts.
 */

/** Resolves a host name to every address it has. A seam: tests answer with what they need. */
export type HostResolver = (host: string) => Promise<LookupAddress[]>;

/**
 * The system resolver, read from the `dns` module at call time (not bound at import) so that a
 * test replacing `dns.promises.lookup` exercises the same path a real rebinding resolver would.
 */
export const systemResolver: HostResolver = (host) => dns.promises.lookup(host, { all: true });

const BLOCKED = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, including 255.255.255.255
] as const) {
  BLOCKED.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 96], // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
  ['64:ff9b:1::', 48], // local-use NAT64: translates into the local network, embedding varies
  ['100::', 64], // discard-only
  ['2001::', 32], // Teredo: a tunnel whose far end the address holder chooses
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fec0::', 10], // site-local (deprecated, still routed by some stacks)
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  BLOCKED.addSubnet(net, bits, 'ipv6');
}

/**
 * IPv6 ranges that carry an IPv4 address, with the 16-bit word it starts at. They lead where
 * that IPv4 address leads (mapped and translated ones reach it from this very host), so they
 * are judged by it: `::ffff:127.0.0.1` is loopback, `64:ff9b::808:808` is as public as 8.8.8.8.
 */
const EMBEDDING: { range: BlockList; word: number }[] = [
  ['::ffff:0:0', 96, 6], // IPv4-mapped, in every notation once parsed
  ['::ffff:0:0:0', 96, 6], // IPv4-translated (SIIT)
  ['64:ff9b::', 96, 6], // well-known NAT64 prefix (DNS64 on IPv6-only networks)
  ['2002::', 16, 1], // 6to4: 2002:AABB:CCDD::/48 routes to A.B.C.D
].map(([net, bits, word]) => {
  const range = new BlockList();
  range.addSubnet(net as string, bits as number, 'ipv6');
  return { range, word: word as number };
});

/** The eight 16-bit words of an IPv6 address (already known valid by `isIP`), zone removed. */
function ipv6Words(address: string): number[] {
  let text = address.replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parts = (s: string) => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  const left = parts(head);
  const right = tail === undefined ? [] : parts(tail);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}

const familyOf = (address: string) => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

/** Why `address` is not a place webhooks may go ("10.0.0.1, a private... address"), or undefined when it is public. */
export function forbiddenReason(address: string): string | undefined {
  const family = familyOf(address);
  const bare = address.replace(/%.*$/, ''); // a zone id makes BlockList miss the range
  if (BLOCKED.check(bare, family)) return `${address}, a loopback/private/reserved address`;
  if (family === 'ipv4') return undefined;
  for (const { range, word } of EMBEDDING) {
    if (!range.check(bare, 'ipv6')) continue;
    const words = ipv6Words(bare);
    const hi = words[word] ?? 0;
    const lo = words[word + 1] ?? 0;
    const v4 = `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
    if (BLOCKED.check(v4, 'ipv4'))
      return `${address}, which embeds ${v4}, a loopback/private/reserved address`;
  }
  return undefined;
}

/** WEBHOOK_ALLOW: host names (exact, case-insensitive) and addresses/CIDRs. */
class AllowList {
  private readonly hosts = new Set<string>();
  private readonly nets = new BlockList();
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [addr, bits] = entry.split('/');
      const family = addr ? isIP(addr) : 0;
      if (addr && family && bits) this.nets.addSubnet(addr, Number(bits), familyOf(addr));
      else if (addr && family) this.nets.addAddress(addr, familyOf(addr));
      else this.hosts.add(entry.toLowerCase());
    }
  }
  host(name: string): boolean {
    return this.hosts.has(name.toLowerCase());
  }
  /** The reason to refuse `address`, unless it is public or allowed. */
  refuse(address: string): string | undefined {
    const why = forbiddenReason(address);
    return why && !this.nets.check(address.replace(/%.*$/, ''), familyOf(address)) ? why : undefined;
  }
}

const refused = (why: string) =>
  new ServiceError('INVALID_REQUEST', `webhook_url ${why}`, { field: 'webhook_url' });

/** Throws INVALID_REQUEST (field `webhook_url`) unless the URL is http(s) to an allowed address. */
export async function assertWebhookTarget(
  raw: string,
  allow: readonly string[],
  resolve: HostResolver = systemResolver,
): Promise<URL> {
  let url: URL;
  try {
    // The WHATWG parser turns 2130706433, 0x7f.1 and 127.1 into 127.0.0.1 before we look.
    url = new URL(raw);
  } catch {
    throw refused('is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refused('must be http or https');
  if (url.username || url.password) throw refused('must not contain credentials');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const rules = new AllowList(allow);
  if (rules.host(host)) return url;
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await resolve(host)).map((a) => a.address);
  } catch {
    throw refused(`host ${host} does not resolve`);
  }
  for (const a of addresses) {
    const why = rules.refuse(a);
    if (why) throw refused(`resolves to ${why} (allow it with WEBHOOK_ALLOW)`);
  }
  return url;
}

/**
 * A `lookup` for net/tls connections that resolves with `resolve` and refuses the connection
 * (INVALID_REQUEST) when any answer is forbidden, so the address actually connected to is the
 * one checked. Node calls it for every new connection to a host name; an IP literal skips
 * lookup altogether, so callers must check literals themselves (`assertLiteralTarget`).
 */
export function guardedLookup(
  allow: readonly string[],
  resolve: HostResolver = systemResolver,
): LookupFunction {
  const rules = new AllowList(allow);
  return (hostname, options, callback) => {
    resolve(hostname)
      .then((all) => {
        if (!rules.host(hostname)) {
          for (const { address } of all) {
            const why = rules.refuse(address);
            if (why) throw refused(`host ${hostname} resolved at connect time to ${why}`);
          }
        }
        const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
        const usable = all.filter((a) => !wanted || a.family === wanted);
        const [first] = usable;
        if (!first)
          throw Object.assign(new Error(`${hostname} has no IPv${wanted} address`), { code: 'ENOTFOUND' });
        if (options.all) callback(null, usable);
        else callback(null, first.address, first.family);
      })
      .catch((err: Error) => callback(err, ''));
  };
}

/** For a URL whose host is an IP literal (which never goes through lookup): refuse it if forbidden. */
export function assertLiteralTarget(url: URL, allow: readonly string[]): void {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!isIP(host)) return;
  const why = new AllowList(allow).refuse(host);
  if (why) throw refused(`resolves to ${why} (allow it with WEBHOOK_ALLOW)`);
}
