import { isIP } from 'node:net';
import { InvalidArgumentError } from '@eventfabric/core';

/** An address range: `10.0.0.0/8`, `::1/128`, or a single address. */
interface Range {
  bytes: Uint8Array;
  prefix: number;
}

/**
 * Ranges a webhook may not reach unless allowlisted: this host, private networks, link-local,
 * unique-local, multicast, and other special-purpose blocks (RFC 6890). IPv4-mapped and
 * NAT64 IPv6 addresses are judged by the IPv4 address they carry.
 */
const BLOCKED = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.88.99.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/128',
  '::1/128',
  '100::/64',
  '2001::/23',
  '2001:db8::/32',
  'fc00::/7',
  'fe80::/10',
  'fec0::/10',
  'ff00::/8',
].map((cidr) => parseRange(cidr));

/**
 * The 16 bytes of an IPv6 address, or the 4 of an IPv4 one; undefined for anything else.
 * IPv6 zone ids (`fe80::1%eth0`) are dropped.
 */
export function addressBytes(address: string): Uint8Array | undefined {
  const plain = address.replace(/%.*$/, '');
  const kind = isIP(plain);
  if (kind === 4) return Uint8Array.from(plain.split('.').map(Number));
  if (kind !== 6) return undefined;
  // A dotted IPv4 tail (::ffff:1.2.3.4) becomes two hex groups (::ffff:102:304).
  const text = plain.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a, b, c, d) =>
    [((+a << 8) | +b).toString(16), ((+c << 8) | +d).toString(16)].join(':'),
  );
  const [head, rest] = text.split('::') as [string, string | undefined];
  const parse = (part: string | undefined): number[] =>
    part === undefined || part === '' ? [] : part.split(':').map((h) => parseInt(h, 16));
  const left = parse(head);
  const right = parse(rest);
  const groups =
    rest === undefined
      ? left
      : [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  return bytes;
}

/** The IPv4 address an IPv6 one carries (IPv4-mapped `::ffff:a.b.c.d` or NAT64 `64:ff9b::`). */
function embeddedIpv4(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length !== 16) return undefined;
  const mapped =
    bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  const nat64 =
    bytes[0] === 0x00 &&
    bytes[1] === 0x64 &&
    bytes[2] === 0xff &&
    bytes[3] === 0x9b &&
    bytes.slice(4, 12).every((b) => b === 0);
  // IPv4-compatible (::a.b.c.d, deprecated), but not :: and ::1.
  const compatible = bytes.slice(0, 12).every((b) => b === 0) && (bytes[12]! | bytes[13]!) !== 0;
  return mapped || nat64 || compatible ? bytes.slice(12) : undefined;
}

function parseRange(cidr: string): Range {
  const [address, prefixText] = cidr.split('/') as [string, string | undefined];
  const bytes = addressBytes(address);
  const max = bytes?.length === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (bytes === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw new InvalidArgumentError(`"${cidr}" is not an IP address or CIDR range`, {
      allow: cidr,
    });
  }
  return { bytes, prefix };
}

function inRange(bytes: Uint8Array, range: Range): boolean {
  if (bytes.length !== range.bytes.length) return false;
  let bits = range.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i]! & mask) !== (range.bytes[i]! & mask)) return false;
  }
  return true;
}

/** Decides which resolved addresses deliveries may connect to. */
export class AddressPolicy {
  private readonly allowed: Range[];

  /**
   * @param allow the operator's allowlist: addresses or CIDR ranges that may be reached even
   *   though they are private (`127.0.0.1/32` in tests, `10.1.2.0/24` for an internal service)
   * @throws InvalidArgumentError for an entry that is not an address or range
   */
  constructor(allow: readonly string[] = []) {
    if (!Array.isArray(allow))
      throw new InvalidArgumentError('allow must be an array of CIDR ranges');
    this.allowed = allow.map((cidr) => parseRange(cidr));
  }

  /** Why `address` is refused (`private`, `invalid`), or undefined when it may be reached. */
  refusal(address: string): string | undefined {
    const bytes = addressBytes(address);
    if (bytes === undefined) return 'invalid';
    const candidates = [bytes];
    const v4 = embeddedIpv4(bytes);
    if (v4 !== undefined) candidates.push(v4);
    if (candidates.some((b) => this.allowed.some((range) => inRange(b, range)))) return undefined;
    return candidates.some((b) => BLOCKED.some((range) => inRange(b, range)))
      ? 'private'
      : undefined;
  }
}
