import {
  TransportUnavailableError,
  type Logger,
  type RelayCheckpointStore,
  type Transport,
} from '@eventfabric/core';
import { NatsTransport } from '@eventfabric/nats';
import { PostgresRelayCheckpoints } from '@eventfabric/postgres';
import { createRabbitMqTransport } from '@eventfabric/rabbitmq';
import type { TransportConnectionStatus, TransportHealth } from '@eventfabric/server';
import { SqliteRelayCheckpoints } from '@eventfabric/sqlite';
import type { StoreBackend } from './store.js';
import type { BrokerLocation } from './transport-url.js';

/** A connected broker transport with its health, for `serve` and `doctor`. */
export interface OpenedBroker {
  transport: Transport;
  health: TransportHealth;
  close(): Promise<void>;
}

/**
 * Connect to the broker `--transport` names: RabbitMQ (`amqp://`) or NATS JetStream
 * (`nats://`). Reconnects are the transport's own; `health` reports them.
 * @throws TransportUnavailableError when the broker does not answer
 */
export async function openBroker(location: BrokerLocation, logger?: Logger): Promise<OpenedBroker> {
  if (location.kind === 'amqp') {
    const transport = await createRabbitMqTransport({
      url: location.url,
      ...(logger === undefined ? {} : { logger }),
    });
    const health: TransportHealth = {
      kind: 'amqp',
      location: location.redacted,
      status: () => {
        const status = transport.status();
        return {
          connected: status.connection === 'open',
          reconnects: status.reconnects,
          unconfirmed: status.unconfirmed,
        };
      },
      ready: async () => {
        const status = transport.status();
        if (status.connection !== 'open') {
          throw new TransportUnavailableError(
            `the RabbitMQ connection to ${location.redacted} is ${status.connection}`,
            { transport: location.redacted, connection: status.connection },
          );
        }
        return { connection: 'open', reconnects: status.reconnects };
      },
    };
    return { transport, health, close: () => transport.close() };
  }
  const transport = await NatsTransport.connect({
    servers: location.url,
    ...(logger === undefined ? {} : { logger }),
  });
  const connection: TransportConnectionStatus = { connected: true, reconnects: 0 };
  void (async () => {
    for await (const status of transport.nc.status()) {
      if (status.type === 'disconnect') connection.connected = false;
      else if (status.type === 'reconnect') {
        connection.connected = true;
        connection.reconnects++;
      }
    }
  })().catch(() => undefined);
  const health: TransportHealth = {
    kind: 'nats',
    location: location.redacted,
    status: () => ({ ...connection, connected: connection.connected && !transport.isClosed() }),
    ready: async () => {
      if (!connection.connected || transport.isClosed()) {
        throw new TransportUnavailableError(
          `the NATS connection to ${location.redacted} is ${transport.isClosed() ? 'closed' : 'lost; reconnecting'}`,
          {
            transport: location.redacted,
            connection: transport.isClosed() ? 'closed' : 'reconnecting',
          },
        );
      }
      // A round trip: a connection that looks open but no longer answers is not ready.
      const rttMs = await transport.nc.rtt();
      return { connection: 'open', reconnects: connection.reconnects, rttMs };
    },
  };
  return { transport, health, close: () => transport.close() };
}

/** The durable relay checkpoints in the store's own database. */
export function relayCheckpointsOf(backend: StoreBackend): RelayCheckpointStore {
  return backend.kind === 'sqlite'
    ? new SqliteRelayCheckpoints(backend.store)
    : new PostgresRelayCheckpoints(backend.store);
}
