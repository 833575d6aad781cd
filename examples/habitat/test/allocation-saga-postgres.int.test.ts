import { onPostgres, sagaSuite } from './saga-suite.js';
import { describeWithServices } from './services.js';

describeWithServices(
  'the allocation saga on PostgreSQL and RabbitMQ compensates, in reverse order, whichever step fails',
  () => sagaSuite(onPostgres),
);
