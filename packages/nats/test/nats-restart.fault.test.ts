import { afterAll } from 'vitest';
import { describeTransportConformance } from '@eventfabric/conformance';
import {
  deleteStreams,
  describeWithNats,
  restartNatsServer,
  uniqueToken,
} from './nats-available.js';
import { natsConformanceOptions } from './nats-conformance-options.js';

const ns = uniqueToken('conffault');

// The whole transport suite with `restartBroker` declared: its reconnect test stops the
// local nats-server with DEVELOPERS.md's command and starts it again (also when the stop
// fails), and every test after it runs against the restarted server.
describeWithNats('NATS JetStream transport, with broker restarts', () => {
  afterAll(() => deleteStreams([`${ns}_`]));

  const options = natsConformanceOptions(ns);
  describeTransportConformance('nats-jetstream', {
    ...options,
    features: { ...options.features, restartBroker: restartNatsServer },
  });
});
