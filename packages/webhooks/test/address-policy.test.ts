import { describe, expect, it } from 'vitest';
import { ErrorCodes, isEventFabricError } from '@eventfabric/core';
import { AddressPolicy, resolveTarget } from '../src/index.js';

const policy = new AddressPolicy();

describe('SSRF address policy', () => {
  it.each([
    ['127.0.0.1'],
    ['127.255.0.9'],
    ['10.1.2.3'],
    ['172.16.0.1'],
    ['172.31.255.255'],
    ['192.168.1.1'],
    ['169.254.169.254'],
    ['100.64.0.1'],
    ['0.0.0.0'],
    ['224.0.0.1'],
    ['255.255.255.255'],
    ['::1'],
    ['::'],
    ['fe80::1'],
    ['fe80::1%eth0'],
    ['fc00::1'],
    ['fd12:3456::1'],
    ['ff02::1'],
    ['::ffff:127.0.0.1'],
    ['::ffff:7f00:1'],
    ['::ffff:10.0.0.1'],
    ['::ffff:169.254.169.254'],
    ['64:ff9b::a00:1'],
    ['::127.0.0.1'],
  ])('given %s, then it is refused as private', (address) => {
    expect(policy.refusal(address)).toBe('private');
  });

  it.each([
    ['93.184.216.34'],
    ['8.8.8.8'],
    ['172.32.0.1'],
    ['2606:4700::1111'],
    ['::ffff:8.8.8.8'],
  ])('given the public %s, then it is allowed', (address) => {
    expect(policy.refusal(address)).toBeUndefined();
  });

  it('given an allowlist, then only its ranges are let through, mapped forms included', () => {
    const allow = new AddressPolicy(['127.0.0.1/32', 'fd00::/8']);
    expect(allow.refusal('127.0.0.1')).toBeUndefined();
    expect(allow.refusal('::ffff:127.0.0.1')).toBeUndefined();
    expect(allow.refusal('127.0.0.2')).toBe('private');
    expect(allow.refusal('fd12::1')).toBeUndefined();
    expect(allow.refusal('10.0.0.1')).toBe('private');
    expect(() => new AddressPolicy(['nonsense'])).toThrow(/not an IP address/);
  });

  it('given a host resolving to one private address among public ones, then the target is refused', async () => {
    const resolve = () =>
      Promise.resolve([
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.7', family: 4 },
      ]);
    const refused = await resolveTarget('https://hooks.example.com/x', policy, resolve).catch(
      (e: unknown) => e,
    );
    expect(isEventFabricError(refused, ErrorCodes.WEBHOOK_TARGET_REFUSED)).toBe(true);
    expect((refused as { details: unknown }).details).toEqual({
      url: 'https://hooks.example.com/x',
      address: '10.0.0.7',
      reason: 'private',
    });
    const ok = await resolveTarget('https://hooks.example.com/x', policy, () =>
      Promise.resolve([{ address: '93.184.216.34', family: 4 }]),
    );
    expect([ok.address, ok.family, ok.url.hostname]).toEqual([
      '93.184.216.34',
      4,
      'hooks.example.com',
    ]);
  });

  it.each([
    ['ftp://example.com/x', 'scheme'],
    ['https://user:pw@example.com/x', 'credentials'],
    ['not a url', 'malformed'],
    ['http://[::1]:8080/x', 'private'],
    ['http://169.254.169.254/latest/meta-data', 'private'],
  ])('given %s, then it is refused (%s)', async (url, reason) => {
    const refused = await resolveTarget(url, policy).catch((e: unknown) => e);
    expect(isEventFabricError(refused, ErrorCodes.WEBHOOK_TARGET_REFUSED)).toBe(true);
    expect((refused as { details: { reason: string } }).details.reason).toBe(reason);
  });
});
