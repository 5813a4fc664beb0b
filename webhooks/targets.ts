/**
 * Where webhooks may go: not to this machine, its network or its cloud's metadata service
 * (server-side request forgery through a partner's subscription URL). Internal addresses are
 * refused unless WEBHOOK_ALLOW_PRIVATE_TARGETS is on: when a subscription is made or changed (the
 * URL's host is an internal address, or resolves only to internal ones), and again on every
 * connection, on the address the socket is about to use (`guardedLookup`), so a name that
 * resolves elsewhere later (DNS rebinding) does not get through either.
 */
import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import net from 'node:net';
import { invalid } from '../domain/refusal';

/** Address blocks that are not the public internet, each with what it is. */
const internalBlocks: [label: string, family: 'ipv4' | 'ipv6', network: string, prefix: number][] =
  [
    ['"this network" (0.0.0.0/8)', 'ipv4', '0.0.0.0', 8],
    ['private (10/8)', 'ipv4', '10.0.0.0', 8],
    ['shared carrier-grade NAT (100.64/10)', 'ipv4', '100.64.0.0', 10],
    ['loopback (127/8)', 'ipv4', '127.0.0.0', 8],
    ['link-local, cloud metadata (169.254/16)', 'ipv4', '169.254.0.0', 16],
    ['private (172.16/12)', 'ipv4', '172.16.0.0', 12],
    ['IETF protocol assignments (192.0.0/24)', 'ipv4', '192.0.0.0', 24],
    ['documentation (192.0.2/24)', 'ipv4', '192.0.2.0', 24],
    ['private (192.168/16)', 'ipv4', '192.168.0.0', 16],
    ['benchmarking (198.18/15)', 'ipv4', '198.18.0.0', 15],
    ['documentation (198.51.100/24)', 'ipv4', '198.51.100.0', 24],
    ['documentation (203.0.113/24)', 'ipv4', '203.0.113.0', 24],
    ['multicast (224/4)', 'ipv4', '224.0.0.0', 4],
    ['reserved (240/4, broadcast)', 'ipv4', '240.0.0.0', 4],
    ['unspecified (::)', 'ipv6', '::', 128],
    ['loopback (::1)', 'ipv6', '::1', 128],
    ['IPv4-compatible (::/96)', 'ipv6', '::', 96],
    ['discard-only (100::/64)', 'ipv6', '100::', 64],
    ['local-use NAT64 (64:ff9b:1::/48)', 'ipv6', '64:ff9b:1::', 48],
    ['documentation (2001:db8::/32)', 'ipv6', '2001:db8::', 32],
    ['unique local (fc00::/7)', 'ipv6', 'fc00::', 7],
    ['link-local (fe80::/10)', 'ipv6', 'fe80::', 10],
    ['site-local (fec0::/10)', 'ipv6', 'fec0::', 10],
    ['multicast (ff00::/8)', 'ipv6', 'ff00::', 8],
  ];

const blocks = internalBlocks.map(([label, family, network, prefix]) => {
  const list = new net.BlockList();
  list.addSubnet(network, prefix, family);
  return { label, list };
});

/** IPv6 with an IPv4 address in its last 32 bits: `::ffff:a.b.c.d` and NAT64's `64:ff9b::a.b.c.d`. */
const embedding = [
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
].map(([network, prefix]) => {
  const list = new net.BlockList();
  list.addSubnet(network as string, prefix as number, 'ipv6');
  return list;
});

/** The IPv4 address in the last 32 bits of an IPv6 one. */
function lastIpv4(address: string): string {
  const [head = '', tail = ''] = address.split('::');
  const groups = (part: string) => (part ? part.split(':') : []);
  const words = [...groups(head), ...groups(tail)].flatMap((g) =>
    net.isIPv4(g) ? [g.split('.').map(Number)] : [[parseInt(g, 16) >> 8, parseInt(g, 16) & 255]],
  );
  return words.flat().slice(-4).join('.');
}

/**
 * What kind of internal address `address` (an IP literal; IPv6 with or without brackets or zone)
 * is, e.g. `loopback (127/8)`; null when it is a public one. Not an IP address at all: null.
 */
export function internalKind(address: string): string | null {
  const ip = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = net.isIP(ip);
  if (family === 0) return null;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (type === 'ipv6' && embedding.some((list) => list.check(ip, 'ipv6'))) {
    const inner = internalKind(lastIpv4(ip));
    return inner && `${inner}, inside an IPv6 address`;
  }
  return blocks.find(({ list }) => list.check(ip, type))?.label ?? null;
}

/** Connecting to an internal address while they are not allowed. */
export class InternalTargetError extends Error {
  readonly code = 'ERR_INTERNAL_TARGET';
  constructor(host: string, address: string, kind: string) {
    super(
      `refused: ${host === address ? address : `${host} resolves to ${address}`}, a ${kind} address (WEBHOOK_ALLOW_PRIVATE_TARGETS is off)`,
    );
    this.name = 'InternalTargetError';
  }
}

export const isInternalTargetError = (err: unknown): err is InternalTargetError =>
  (err as { code?: unknown } | null)?.code === 'ERR_INTERNAL_TARGET';

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * `dns.lookup` for sockets (an http agent's `lookup`): resolves as usual, then fails with an
 * `InternalTargetError` if any address it found is internal. The socket connects to what this
 * answered, so what was checked is what is used.
 */
export function guardedLookup(
  hostname: string,
  options: LookupOptions,
  callback: LookupCallback,
): void {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    for (const { address } of addresses) {
      const kind = internalKind(address);
      if (kind) return callback(new InternalTargetError(hostname, address, kind), []);
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first)
      return callback(
        Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }),
        [],
      );
    callback(null, first.address, first.family);
  });
}

/** Why `url` is not a place for webhooks (its host is or resolves only to internal addresses), or null. */
export async function internalTargetReason(url: string): Promise<string | null> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  const literal = internalKind(host);
  if (literal) return `${host} is a ${literal} address`;
  if (net.isIP(host)) return null;
  const addresses = await dns.promises.lookup(host, { all: true }).catch(() => []);
  if (addresses.length === 0) return null; // unresolvable now: its deliveries fail, and say why
  const kinds = addresses.map((a) => internalKind(a.address));
  if (kinds.every(Boolean))
    return `${host} resolves only to internal addresses (${addresses[0]!.address}: ${kinds[0]})`;
  return null;
}

/** Refuses (422 on `url`) a webhook URL on an internal address, unless those are allowed. */
export async function refuseInternalTarget(url: string, allowPrivate: boolean): Promise<void> {
  if (allowPrivate) return;
  const reason = await internalTargetReason(url);
  if (reason)
    throw invalid(
      'Webhooks may not go to internal addresses.',
      'url',
      `${reason}; webhooks go only to public addresses (WEBHOOK_ALLOW_PRIVATE_TARGETS is off)`,
    );
}
