import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ServiceError } from './errors.js';

/**
 * Webhook targets must not reach into the service's own network (SSRF): loopback, private,
 * link-local, CGNAT and unspecified addresses are refused unless the config allows the host
 * or a CIDR containing it. Checked when the URL is accepted and again at each delivery,
 * because DNS can change in between.
 */
const BLOCKED = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['224.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  BLOCKED.addSubnet(net, bits, 'ipv6');
}

function allowList(allow: readonly string[]): { hosts: Set<string>; nets: BlockList } {
  const nets = new BlockList();
  const hosts = new Set<string>();
  for (const entry of allow) {
    const [addr, bits] = entry.split('/');
    const family = addr ? isIP(addr) : 0;
    if (addr && family && bits) nets.addSubnet(addr, Number(bits), family === 6 ? 'ipv6' : 'ipv4');
    else if (addr && family) nets.addAddress(addr, family === 6 ? 'ipv6' : 'ipv4');
    else hosts.add(entry.toLowerCase());
  }
  return { hosts, nets };
}

const family = (a: string) => (isIP(a) === 6 ? 'ipv6' : 'ipv4');

/** Throws INVALID_REQUEST (field `webhook_url`) unless the URL is http(s) to an allowed address. */
export async function assertWebhookTarget(raw: string, allow: readonly string[]): Promise<URL> {
  const bad = (why: string) =>
    new ServiceError('INVALID_REQUEST', `webhook_url ${why}`, { field: 'webhook_url' });
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw bad('is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad('must be http or https');
  if (url.username || url.password) throw bad('must not contain credentials');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const { hosts, nets } = allowList(allow);
  if (hosts.has(host.toLowerCase())) return url;
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    throw bad(`host ${host} does not resolve`);
  }
  for (const a of addresses) {
    if (BLOCKED.check(a, family(a)) && !nets.check(a, family(a))) {
      throw bad(`resolves to ${a}, a loopback/private/link-local address (allow it with WEBHOOK_ALLOW)`);
    }
  }
  return url;
}
