import type { FastifyInstance } from 'fastify';
import { MalformedBodyError } from '@eventfabric/core';

/** CloudEvents structured mode: one event as JSON. */
export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json';
/** CloudEvents batch mode: a JSON array of events. */
export const BATCH_CONTENT_TYPE = 'application/cloudevents-batch+json';
/** Plain JSON: binary-mode data, schemas, DLQ commands, or events for convenience. */
export const JSON_CONTENT_TYPE = 'application/json';

export const ACCEPTED_CONTENT_TYPES: readonly string[] = [
  STRUCTURED_CONTENT_TYPE,
  BATCH_CONTENT_TYPE,
  JSON_CONTENT_TYPE,
];

/**
 * Accept only JSON bodies, parsed with `JSON.parse` (prototype keys are plain data: nothing
 * here assigns a parsed object onto another). A body that does not parse is MALFORMED_BODY,
 * and nothing further runs for it.
 */
export function installBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    [...ACCEPTED_CONTENT_TYPES],
    { parseAs: 'string' },
    (request, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch (error) {
        const contentType = request.headers['content-type'];
        const reason = body === '' ? 'the body is empty' : (error as Error).message;
        done(
          new MalformedBodyError(
            `the request body is not valid JSON: ${reason}`,
            {
              contentType,
              reason,
            },
            { cause: error },
          ),
          undefined,
        );
      }
    },
  );
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaType(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const essence = header.split(';', 1)[0]!.trim().toLowerCase();
  return essence === '' ? undefined : essence;
}
