import { InvalidArgumentError, StoreClosedError } from '@eventfabric/core';
import type { NatsTransport } from './nats-transport.js';

/**
 * The stores on JetStream share their transport's connection.
 * @throws InvalidArgumentError unless given a NATS transport; StoreClosedError once it is closed
 */
export function assertUsable(transport: NatsTransport): void {
  if (typeof (transport as Partial<NatsTransport> | undefined)?.isClosed !== 'function') {
    throw new InvalidArgumentError('a NATS store opens on a transport from createNatsTransport');
  }
  if (transport.isClosed()) throw new StoreClosedError();
}
