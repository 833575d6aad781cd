import type Database from 'better-sqlite3';
import {
  createRelay,
  createSchemaRegistry,
  type DeadLetterStore,
  type ProcessedEvents,
  type ProjectionStorage,
  type SagaStorage,
  type SchemaRegistry,
  type Transport,
} from '@eventfabric/core';
import {
  connectionLock,
  createSqliteDeadLetterStore,
  createSqliteEventStore,
  createSqliteTransport,
  SqliteProcessedEvents,
  SqliteProjectionStorage,
  SqliteSagaStorage,
  type SqliteEventStore,
} from '@eventfabric/sqlite';
import {
  createPostgresDeadLetterStore,
  createPostgresEventStore,
  PostgresProcessedEvents,
  PostgresProjectionStorage,
  PostgresRelayCheckpoints,
  PostgresSagaStorage,
  PostgresTransaction,
  withTransaction,
  type PostgresEventStore,
} from '@eventfabric/postgres';
import { createRabbitMqTransport } from '@eventfabric/rabbitmq';
import { GroupCommit } from './group-commit.js';
import { loadHabitatSchemas } from './schemas.js';
import { numberPlaceholders, type SqlExecutor, type SqlTransaction } from './sql.js';

/**
 * Where Habitat runs: one event store (the log every context appends to and reads from),
 * the database the contexts keep their tables in (the store's own, so a state change and
 * its events commit in one transaction), and the transport that carries events to the
 * contexts' handlers.
 */
export interface Backend {
  readonly kind: 'embedded' | 'postgres';
  readonly store: SqliteEventStore | PostgresEventStore;
  readonly schemas: SchemaRegistry;
  /** Reads outside a unit of work (queries over projections). */
  readonly sql: SqlExecutor;
  /** A unit of work: its writes and appended events commit together, or neither does. */
  transaction<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  /** The transaction a transactional handler or a projection is given, as Habitat's SQL. */
  wrap(tx: unknown): SqlTransaction;
  readonly processed: ProcessedEvents;
  readonly deadLetters: DeadLetterStore;
  readonly projectionStorage: ProjectionStorage<unknown>;
  readonly sagaStorage: SagaStorage<unknown>;
  /** A transport for the handlers of one service. */
  transport(): Promise<Transport>;
  /**
   * Forward the log to the transport, when the transport is not the log itself (RabbitMQ):
   * only the types some handler consumes, so nothing is unroutable.
   */
  startRelay(transport: Transport, topics: readonly string[]): Promise<{ stop(): Promise<void> }>;
  close(): Promise<void>;
}

/** Options for the embedded backend. */
export interface EmbeddedBackendOptions {
  /** The SQLite file. */
  path: string;
  /**
   * Types without a schema: Habitat's own all have one; `allow` lets the same store take
   * other applications' events (the server's routes). @defaultValue 'reject'
   */
  unknownTypes?: 'reject' | 'allow';
}

/** The embedded default: one SQLite file holds the log, the queue and every table. */
export async function openEmbeddedBackend(options: EmbeddedBackendOptions): Promise<Backend> {
  const store = createSqliteEventStore({ path: options.path });
  try {
    const schemas = await createSchemaRegistry({
      storage: store,
      unknownTypes: options.unknownTypes ?? 'reject',
    });
    await loadHabitatSchemas(schemas);
    store.useSchemas(schemas);
    const db = store.db;
    const lock = connectionLock(db);
    const statements = new Map<string, Database.Statement>();
    const prepare = (sql: string): Database.Statement => {
      let statement = statements.get(sql);
      if (statement === undefined) {
        statement = db.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    };
    const inTx = (connection: Database.Database): SqlTransaction => ({
      dialect: 'sqlite',
      table: (name) => name,
      all: async <T>(sql: string, params: readonly unknown[] = []) =>
        (connection === db ? prepare(sql) : connection.prepare(sql)).all(...params) as T[],
      run: async (sql, params = []) =>
        (connection === db ? prepare(sql) : connection.prepare(sql)).run(...params).changes,
      // The store shares the connection, and the lock lets work started inside a held
      // transaction through: the append joins the transaction.
      append: async (streamId, events, appendOptions) => {
        return (await store.appendToStream(streamId, events, appendOptions)).positions;
      },
    });
    const transports: Transport[] = [];
    const committer = new GroupCommit(db, lock, () => inTx(db));
    return {
      kind: 'embedded',
      store,
      schemas,
      sql: {
        dialect: 'sqlite',
        table: (name) => name,
        all: async <T>(sql: string, params: readonly unknown[] = []) =>
          (await lock.run(() => prepare(sql).all(...params))) as T[],
        run: async (sql, params = []) =>
          (await lock.run(() => prepare(sql).run(...params))).changes,
      },
      transaction: (work) => committer.run(work),
      wrap: (tx) => inTx(tx as Database.Database),
      processed: new SqliteProcessedEvents(store),
      deadLetters: createSqliteDeadLetterStore(store),
      projectionStorage: new SqliteProjectionStorage(store) as ProjectionStorage<unknown>,
      sagaStorage: new SqliteSagaStorage(store) as SagaStorage<unknown>,
      transport: async () => {
        const transport = createSqliteTransport({ store });
        transports.push(transport);
        return transport;
      },
      // The embedded transport reads the log itself: nothing to forward.
      startRelay: async () => ({ stop: async () => undefined }),
      close: async () => {
        for (const transport of transports) await transport.close();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** Options for the PostgreSQL and RabbitMQ backend. */
export interface PostgresBackendOptions {
  /** e.g. `postgres://root@127.0.0.1:5432/test` */
  connectionString: string;
  /** @defaultValue `habitat` */
  schema?: string;
  /** e.g. `amqp://guest:guest@127.0.0.1:5672` */
  amqpUrl: string;
  /** @defaultValue 'reject' (see {@link EmbeddedBackendOptions.unknownTypes}) */
  unknownTypes?: 'reject' | 'allow';
}

/**
 * PostgreSQL holds the log and the tables (transactional outbox); a relay forwards the log
 * to RabbitMQ, whose queues feed the handlers.
 */
export async function openPostgresBackend(options: PostgresBackendOptions): Promise<Backend> {
  const schema = options.schema ?? 'habitat';
  const store = await createPostgresEventStore({
    connectionString: options.connectionString,
    schema,
    poolSize: 20,
  });
  try {
    const schemas = await createSchemaRegistry({
      storage: store,
      unknownTypes: options.unknownTypes ?? 'reject',
    });
    await loadHabitatSchemas(schemas);
    store.useSchemas(schemas);
    const qualified = (name: string): string => `"${schema}".${name}`;
    const inTx = (tx: PostgresTransaction): SqlTransaction => ({
      dialect: 'postgres',
      table: qualified,
      all: async <T>(sql: string, params: readonly unknown[] = []) =>
        (await tx.query(numberPlaceholders(sql), params)).rows as T[],
      run: async (sql, params = []) =>
        (await tx.query(numberPlaceholders(sql), params)).rowCount ?? 0,
      append: async (streamId, events, appendOptions) => {
        return (await tx.appendToStream(streamId, events, appendOptions)).positions;
      },
    });
    const transports: Transport[] = [];
    return {
      kind: 'postgres',
      store,
      schemas,
      sql: {
        dialect: 'postgres',
        table: qualified,
        all: async <T>(sql: string, params: readonly unknown[] = []) =>
          (await store.pool.query(numberPlaceholders(sql), params as unknown[])).rows as T[],
        run: async (sql, params = []) =>
          (await store.pool.query(numberPlaceholders(sql), params as unknown[])).rowCount ?? 0,
      },
      transaction: (work) => withTransaction(store, (tx) => work(inTx(tx))),
      wrap: (tx) => {
        if (!(tx instanceof PostgresTransaction)) throw new Error('expected a PostgresTransaction');
        return inTx(tx);
      },
      processed: new PostgresProcessedEvents(store),
      deadLetters: createPostgresDeadLetterStore(store),
      projectionStorage: new PostgresProjectionStorage(store) as ProjectionStorage<unknown>,
      sagaStorage: new PostgresSagaStorage(store) as SagaStorage<unknown>,
      transport: async () => {
        const transport = await createRabbitMqTransport({ url: options.amqpUrl });
        transports.push(transport);
        return transport;
      },
      startRelay: async (transport, topics) => {
        const relay = await createRelay({
          name: `habitat-${schema}`,
          store,
          checkpoints: new PostgresRelayCheckpoints(store),
          topics,
          forward: (events) => transport.publish(events),
        });
        return { stop: () => relay.stop() };
      },
      close: async () => {
        for (const transport of transports) await transport.close();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
