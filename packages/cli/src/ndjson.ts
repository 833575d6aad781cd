import { createReadStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { EventFabricError, InvalidArgumentError, InvalidEventError } from '@eventfabric/core';

/** One parsed NDJSON record and the 1-based line it came from. */
export interface NdjsonRecord {
  line: number;
  value: unknown;
}

/**
 * Collect a stream to its end. Used for stdin instead of `fs.readFileSync(0)`, which can
 * return before the end of a pipe (see docs/REFERENCES "Reading stdin").
 */
export async function readToEnd(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  }
  return Buffer.concat(chunks);
}

/**
 * The whole text of `file`, or of stdin when no file is named (with a hint on stderr when
 * stdin is a terminal, so a forgotten pipe does not look like a hang).
 * @throws InvalidArgumentError when the file cannot be read
 */
export async function readInput(
  file: string | undefined,
  io: { stdin: Readable; stderr: Writable },
): Promise<string> {
  if (file === undefined) {
    if ((io.stdin as { isTTY?: boolean }).isTTY) {
      io.stderr.write('reading NDJSON events from stdin; end with Ctrl-D (or use --file)\n');
    }
    return (await readToEnd(io.stdin)).toString('utf8');
  }
  try {
    return (await readToEnd(createReadStream(file))).toString('utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new InvalidArgumentError(
      `cannot read ${file}: ${reason}`,
      { file },
      {
        cause: error,
      },
    );
  }
}

/**
 * Parse newline-delimited JSON. Blank lines are skipped; `\r\n` endings and a leading byte
 * order mark are accepted.
 * @throws InvalidEventError naming the first line that is not valid JSON
 */
export function parseNdjson(text: string): NdjsonRecord[] {
  const records: NdjsonRecord[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const source = lines[i]!.trim();
    if (source === '') continue;
    try {
      records.push({ line: i + 1, value: JSON.parse(source) });
    } catch (error) {
      const message = `not valid JSON: ${(error as Error).message}`;
      throw new InvalidEventError(`line ${i + 1}: ${message}`, [{ path: '/', message }], {
        line: i + 1,
      });
    }
  }
  return records;
}

/** Re-raise an error about one input record with its line number in message and details. */
export function atLine(error: unknown, line: number): unknown {
  if (!(error instanceof EventFabricError)) return error;
  return new EventFabricError(
    error.code,
    `line ${line}: ${error.message}`,
    { line, ...error.details },
    {
      cause: error,
    },
  );
}
