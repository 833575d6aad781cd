import type { SchemaChange } from '../errors/index.js';
import { displayPointer } from './json-value.js';

/** A breaking change found by `readerCanRead`; the compatibility mode adds `against`. */
export type SchemaDifference = Omit<SchemaChange, 'against'>;

/**
 * Which side of the comparison is the newer version. It does not change what breaks, only
 * how a change is named: kinds and messages always describe the evolution from the older
 * schema to the newer one (`enum-narrowed`, not "reader enum smaller than writer enum").
 */
export type ReaderAge = 'newer' | 'older';

/** Where a sub-schema sits in the data, for messages. */
export type Place = 'data' | 'property' | 'items' | 'values';

/** What a difference finder needs about the location being compared. */
export interface DiffContext {
  /** JSON Pointer into the data; `''` is the root, `*` any array item or map value. */
  readonly path: string;
  readonly place: Place;
  readonly readerAge: ReaderAge;
  readonly out: SchemaDifference[];
}

/** Record one difference at the context's location, with a self-contained message. */
export function report(context: DiffContext, kind: string, text: string): void {
  const path = displayPointer(context.path);
  const where = context.place === 'data' ? 'data' : `${context.place} ${path}`;
  context.out.push({ path, kind, message: `${where}: ${text}` });
}
