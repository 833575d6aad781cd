import { report, type DiffContext } from './diff-context.js';
import type { JsonObject } from './json-value.js';

/** A lower or upper limit on a value, length or count. */
interface Bound {
  keyword: string;
  value: number;
  exclusive: boolean;
}

type Side = 'lower' | 'upper';

/** Each limit family: its keywords, with whether they exclude the limit itself. */
const FAMILIES: ReadonlyArray<{ side: Side; keywords: ReadonlyArray<[string, boolean]> }> = [
  {
    side: 'lower',
    keywords: [
      ['minimum', false],
      ['exclusiveMinimum', true],
    ],
  },
  {
    side: 'upper',
    keywords: [
      ['maximum', false],
      ['exclusiveMaximum', true],
    ],
  },
  { side: 'lower', keywords: [['minLength', false]] },
  { side: 'upper', keywords: [['maxLength', false]] },
  { side: 'lower', keywords: [['minItems', false]] },
  { side: 'upper', keywords: [['maxItems', false]] },
  { side: 'lower', keywords: [['minProperties', false]] },
  { side: 'upper', keywords: [['maxProperties', false]] },
];

/** True when `a` admits strictly fewer values than `b` on that side. */
function stricter(side: Side, a: Bound | undefined, b: Bound | undefined): boolean {
  if (a === undefined) return false;
  if (b === undefined) return true;
  if (a.value === b.value) return a.exclusive && !b.exclusive;
  return side === 'lower' ? a.value > b.value : a.value < b.value;
}

/** The strictest of a family's keywords present in `schema`. */
function boundOf(
  schema: JsonObject,
  side: Side,
  keywords: ReadonlyArray<[string, boolean]>,
): Bound | undefined {
  let best: Bound | undefined;
  for (const [keyword, exclusive] of keywords) {
    const value = schema[keyword];
    if (typeof value !== 'number') continue;
    const bound = { keyword, value, exclusive };
    if (best === undefined || stricter(side, bound, best)) best = bound;
  }
  return best;
}

function describeChange(older: Bound | undefined, newer: Bound | undefined): string {
  if (older === undefined) return `${newer!.keyword} ${newer!.value} added`;
  if (newer === undefined) return `${older.keyword} ${older.value} removed`;
  if (older.keyword !== newer.keyword) {
    return `${older.keyword} ${older.value} replaced by ${newer.keyword} ${newer.value}`;
  }
  const direction = newer.value > older.value ? 'raised' : 'lowered';
  return `${older.keyword} ${direction} from ${older.value} to ${newer.value}`;
}

/**
 * Report each limit (`minimum`, `maxLength`, `minItems`, …) where the reader is stricter
 * than the writer. `minimum` and `exclusiveMinimum` (and the maximum pair) form one limit:
 * on each side the stricter of the two present is compared, so trading one keyword for the
 * other is judged by the values it admits, not reported as a removal plus an addition.
 */
export function boundDifferences(
  reader: JsonObject,
  writer: JsonObject,
  context: DiffContext,
): void {
  for (const { side, keywords } of FAMILIES) {
    const r = boundOf(reader, side, keywords);
    const w = boundOf(writer, side, keywords);
    if (!stricter(side, r, w)) continue;
    if (context.readerAge === 'newer') {
      report(context, 'bound-narrowed', describeChange(w, r));
    } else {
      report(context, 'bound-widened', describeChange(r, w));
    }
  }
}
