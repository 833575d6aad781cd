import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { WebhookTargetRefusedError } from '@eventfabric/core';
import type { AddressPolicy } from './address-policy.js';

/** A checked target: the URL, and the one address every connection for it must use. */
export interface ResolvedTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to its addresses (all of them). */
export type Resolve = (host: string) => Promise<{ address: string; family: number }[]>;

const systemResolve: Resolve = (host) => lookup(host, { all: true, verbatim: true });

/**
 * Check a webhook URL and resolve its host: http or https only, no credentials in it, and
 * every address the host resolves to allowed by the policy (a host with one private address
 * among public ones is refused, so a resolver cannot pick the private one later). The caller
 * connects to the returned address, never resolving again: no DNS-rebinding window.
 * @throws WebhookTargetRefusedError
 */
export async function resolveTarget(
  rawUrl: string,
  policy: AddressPolicy,
  resolve: Resolve = systemResolve,
): Promise<ResolvedTarget> {
  const url = checkUrl(rawUrl);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  let addresses: { address: string; family: number }[];
  if (isIP(host) !== 0) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    try {
      addresses = await resolve(host);
    } catch (error) {
      throw new WebhookTargetRefusedError(
        `webhook host ${host} does not resolve`,
        { url: url.href, reason: 'unresolvable' },
        { cause: error },
      );
    }
  }
  if (addresses.length === 0) {
    throw new WebhookTargetRefusedError(`webhook host ${host} does not resolve`, {
      url: url.href,
      reason: 'unresolvable',
    });
  }
  for (const { address } of addresses) {
    const refusal = policy.refusal(address);
    if (refusal !== undefined) {
      throw new WebhookTargetRefusedError(
        `webhook URL ${url.href} resolves to ${address}, a ${refusal} address the allowlist does not permit`,
        { url: url.href, address, reason: refusal },
      );
    }
  }
  const first = addresses[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/**
 * A webhook URL's syntax: absolute http(s), no user info.
 * @throws WebhookTargetRefusedError
 */
export function checkUrl(rawUrl: string): URL {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch (error) {
    throw new WebhookTargetRefusedError(
      `"${rawUrl}" is not an absolute URL`,
      { url: rawUrl, reason: 'malformed' },
      { cause: error },
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new WebhookTargetRefusedError(`webhook URLs must be http or https, not ${url.protocol}`, {
      url: rawUrl,
      reason: 'scheme',
    });
  }
  if (url.username !== '' || url.password !== '') {
    throw new WebhookTargetRefusedError('webhook URLs may not carry credentials', {
      url: rawUrl,
      reason: 'credentials',
    });
  }
  return url;
}
