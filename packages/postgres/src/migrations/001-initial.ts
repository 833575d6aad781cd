/**
 * Events, snapshots, schemas and the in-flight writer guard. Released: never edit; add a
 * new migration instead. `s` is the quoted schema name, `name` the bare one.
 *
 * The statement-level trigger runs before any row of an insert takes its position: it
 * takes a transaction-scoped shared advisory lock keyed by the last position handed out so
 * far, so readers can see, outside any snapshot, the lowest position a running transaction
 * may still commit (see `eventfabric_safe_position` and docs/architecture.md).
 */
export function migration001(s: string, name: string): string {
  const namespace = `(hashtext(${literal(name)}) & 32767)::bigint`;
  return `
    CREATE TABLE ${s}.events (
      position        bigserial   PRIMARY KEY,
      transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
      event_id        text        NOT NULL UNIQUE,
      stream_id       text        NOT NULL,
      stream_version  bigint      NOT NULL,
      type            text        NOT NULL,
      category        text        NOT NULL,
      correlation_id  text        NOT NULL,
      recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
      body            text        NOT NULL,
      UNIQUE (stream_id, stream_version)
    );
    CREATE INDEX events_by_correlation ON ${s}.events (correlation_id, position);

    CREATE TABLE ${s}.snapshots (
      stream_id       text   NOT NULL,
      name            text   NOT NULL,
      stream_version  bigint NOT NULL,
      position        bigint NOT NULL,
      state           text   NOT NULL,
      PRIMARY KEY (stream_id, name)
    );

    CREATE TABLE ${s}.schemas (
      base            text      NOT NULL,
      version         integer   NOT NULL,
      schema          text      NOT NULL,
      compatibility   text      NOT NULL,
      registered_at   text      NOT NULL,
      seq             bigserial NOT NULL,
      PRIMARY KEY (base, version)
    );

    CREATE FUNCTION ${s}.eventfabric_last_position() RETURNS bigint
    LANGUAGE sql VOLATILE AS $fn$
      SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END
      FROM ${s}.events_position_seq
    $fn$;

    CREATE FUNCTION ${s}.eventfabric_before_insert() RETURNS trigger
    LANGUAGE plpgsql AS $fn$
    BEGIN
      PERFORM pg_advisory_xact_lock_shared(
        (${namespace} << 48) | (${s}.eventfabric_last_position() & 281474976710655));
      PERFORM pg_notify(${literal(`${name}_events`)}, '');
      RETURN NULL;
    END
    $fn$;

    CREATE TRIGGER events_in_flight BEFORE INSERT ON ${s}.events
      FOR EACH STATEMENT EXECUTE FUNCTION ${s}.eventfabric_before_insert();

    CREATE FUNCTION ${s}.eventfabric_safe_position() RETURNS bigint
    LANGUAGE plpgsql VOLATILE AS $fn$
    DECLARE
      last_position bigint;
      held bigint;
    BEGIN
      -- Read the sequence first, then the locks: a writer missed by the lock scan takes
      -- its positions after this read, so above last_position.
      last_position := ${s}.eventfabric_last_position();
      SELECT min(((l.classid::bigint & 65535) << 32) | l.objid::bigint) INTO held
      FROM pg_locks l
      WHERE l.locktype = 'advisory' AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND (l.classid::bigint >> 16) = ${namespace};
      RETURN least(last_position, held);
    END
    $fn$;
  `;
}

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
