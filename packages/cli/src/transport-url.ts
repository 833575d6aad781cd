import { InvalidConfigError } from '@eventfabric/core';

/** Environment variable naming the broker. */
export const TRANSPORT_ENV = 'EVENTFABRIC_TRANSPORT';

/** A broker named by `--transport` or EVENTFABRIC_TRANSPORT. */
export interface BrokerLocation {
  kind: 'amqp' | 'nats';
  /** The URL as given, credentials included: for the driver only. */
  url: string;
  /** The URL with its password masked: for messages and `--json` output. */
  redacted: string;
}

/** `amqp://user:secret@host` → `amqp://user:***@host`. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

/**
 * The broker a command runs against: `--transport`, then EVENTFABRIC_TRANSPORT. Undefined
 * when neither names one, so the command runs on the store's own log.
 * @throws InvalidConfigError when the URL is neither amqp(s):// nor nats://
 */
export function resolveBroker(
  flag: string | undefined,
  command: string,
): BrokerLocation | undefined {
  const url = flag ?? process.env[TRANSPORT_ENV];
  if (url === undefined || url === '') return undefined;
  const match = /^(amqps?|nats):\/\//.exec(url);
  if (match === null) {
    throw new InvalidConfigError(
      `${command}: --transport must be amqp://user:password@host:port/vhost (RabbitMQ) or ` +
        `nats://host:port (NATS JetStream) (or ${TRANSPORT_ENV})`,
      { transport: redactUrl(url) },
    );
  }
  return { kind: match[1] === 'nats' ? 'nats' : 'amqp', url, redacted: redactUrl(url) };
}

/**
 * Like {@link resolveBroker}, for commands that only run against a broker.
 * @throws InvalidConfigError when no broker is named
 */
export function requireBroker(flag: string | undefined, command: string): BrokerLocation {
  const broker = resolveBroker(flag, command);
  if (broker === undefined) {
    throw new InvalidConfigError(
      `${command} needs a broker: --transport amqp://user:password@host:port/vhost or ` +
        `nats://host:port (or ${TRANSPORT_ENV})`,
      { transport: null },
    );
  }
  return broker;
}
