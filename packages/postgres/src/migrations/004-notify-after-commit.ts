/**
 * Take NOTIFY out of the writers' commits. Released: never edit; add a new migration
 * instead. `s` is the quoted schema name, `name` the bare one.
 *
 * The `events_in_flight` trigger function keeps taking the transaction-scoped shared
 * advisory lock that gap-safe `$all` reads rely on (unchanged from 001), but no longer calls
 * `pg_notify`: a commit carrying a notification takes a database-wide lock through its WAL
 * flush, so concurrent appends could not share a flush. The store now notifies
 * `<schema>_events` itself after each append commits (see `append-notifier.ts`); an insert
 * made outside the store is seen by subscribers at their safety tick.
 */
export function migration004(s: string, name: string): string {
  const namespace = `(hashtext(${literal(name)}) & 32767)::bigint`;
  return `
    CREATE OR REPLACE FUNCTION ${s}.eventfabric_before_insert() RETURNS trigger
    LANGUAGE plpgsql AS $fn$
    BEGIN
      PERFORM pg_advisory_xact_lock_shared(
        (${namespace} << 48) | (${s}.eventfabric_last_position() & 281474976710655));
      RETURN NULL;
    END
    $fn$;
  `;
}

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
