import { afterAll } from 'vitest';
import { describeTransportConformance } from '@eventfabric/conformance';
import { deleteStreams, describeWithNats, uniqueToken } from './nats-available.js';
import { natsConformanceOptions } from './nats-conformance-options.js';

const ns = uniqueToken('conf');

// Every feature but `restartBroker`: restarting the shared server here would break the NATS
// tests running beside this file. The fault tier runs the same suite with it declared
// (`nats-restart.fault.test.ts`), alone.
describeWithNats('NATS JetStream transport', () => {
  afterAll(() => deleteStreams([`${ns}_`]));

  describeTransportConformance('nats-jetstream', natsConformanceOptions(ns));
});
