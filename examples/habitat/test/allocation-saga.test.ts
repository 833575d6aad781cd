import { describe } from 'vitest';
import { onSqlite, sagaSuite } from './saga-suite.js';

describe('the allocation saga on SQLite compensates, in reverse order, whichever step fails', () =>
  sagaSuite(onSqlite));
