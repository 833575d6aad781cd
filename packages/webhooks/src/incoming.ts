import { createHash } from 'node:crypto';
import {
  DuplicateEventIdError,
  InvalidArgumentError,
  InvalidConfigError,
  MalformedBodyError,
  NotFoundError,
  WebhookReplayedError,
  WebhookSignatureInvalidError,
  type AppendManyResult,
} from '@eventfabric/core';
import { verifyGithub, verifyStripe } from './hmac-variants.js';
import { secretKey } from './secrets.js';
import { header, verifyStandardWebhook, type HeaderBag } from './standard-webhooks.js';

/** How a source signs its webhooks. */
export type IncomingScheme = 'standard' | 'github' | 'stripe';

/** One configured source of incoming webhooks (`POST /v1/hooks/<name>`). */
export interface IncomingSourceConfig {
  /** Standard Webhooks, GitHub's `X-Hub-Signature-256` or Stripe's `Stripe-Signature`. */
  scheme: IncomingScheme;
  /** Secrets any of which may sign (several during the sender's rotation). */
  secrets: string[];
  /** The CloudEvent type each payload is stored as, e.g. `github.push.received.v1`. */
  type: string;
  /** The tenant the events belong to. @defaultValue none */
  tenant?: string;
  /** Largest distance of a signed timestamp from now, in s (standard, stripe). @defaultValue 300 */
  toleranceSeconds?: number;
  /** The CloudEvent `source`. @defaultValue `/hooks/<name>` */
  source?: string;
  /** The stream the events go to. @defaultValue `hooks-<name>` */
  subject?: string;
}

/** Where verified webhooks are stored: an event store's `appendMany`. */
export interface IncomingEventSink {
  appendMany(events: readonly unknown[]): Promise<AppendManyResult>;
}

/** What receiving one webhook stored. */
export interface ReceivedWebhook {
  /** The stored event's id: derived from the source and the webhook id. */
  eventId: string;
  webhookId: string;
  position: string;
}

/** Options for {@link IncomingWebhooks}. */
export interface IncomingWebhooksOptions {
  sources: Record<string, IncomingSourceConfig>;
  store: IncomingEventSink;
  now?: () => number;
}

const SOURCE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * Verify incoming webhooks and store each as a CloudEvent. Replay protection is the store's
 * own idempotency: the event id is derived from (source, webhook id), so a replayed webhook
 * finds its event already stored, is refused with WEBHOOK_REPLAYED, and is stored once, for
 * as long as the log keeps it. Verification runs before anything is stored.
 */
export class IncomingWebhooks {
  private readonly sources: Map<string, IncomingSourceConfig>;
  private readonly now: () => number;

  /** @throws InvalidConfigError for a malformed source */
  constructor(private readonly options: IncomingWebhooksOptions) {
    this.sources = new Map(Object.entries(checkSources(options.sources)));
    this.now = options.now ?? Date.now;
  }

  /** True when `name` is a configured source. */
  has(name: string): boolean {
    return this.sources.has(name);
  }

  /**
   * Verify and store one webhook.
   * @throws NotFoundError (unknown source), WebhookSignatureInvalidError,
   *   WebhookTimestampInvalidError, MalformedBodyError (not JSON), WebhookReplayedError,
   *   or the store's own errors; nothing is stored on any of them
   */
  async receive(name: string, headers: HeaderBag, body: Buffer): Promise<ReceivedWebhook> {
    const config = this.sources.get(name);
    if (config === undefined) {
      throw new NotFoundError(`no incoming webhook source ${name}`, {
        resource: 'hook',
        source: name,
      });
    }
    const now = this.now();
    const verify = { toleranceSeconds: config.toleranceSeconds ?? 300, now };
    let webhookId: string | undefined;
    let signedAt: number | undefined;
    try {
      if (config.scheme === 'standard') {
        ({ id: webhookId, timestamp: signedAt } = verifyStandardWebhook(
          config.secrets,
          headers,
          body,
          verify,
        ));
      } else if (config.scheme === 'github') {
        verifyGithub(config.secrets, headers, body);
        webhookId = header(headers, 'x-github-delivery');
      } else {
        signedAt = verifyStripe(config.secrets, headers, body, verify);
      }
    } catch (error) {
      if (error instanceof Error && 'details' in error) {
        Object.assign((error as { details: object }).details, { source: name });
      }
      throw error;
    }
    const data = parseJson(body);
    if (config.scheme === 'stripe') {
      const id = (data as { id?: unknown } | null)?.id;
      webhookId = typeof id === 'string' ? id : undefined;
    }
    if (webhookId === undefined || webhookId === '' || webhookId.length > 200) {
      throw new WebhookSignatureInvalidError(
        `the webhook carries no usable id (${config.scheme === 'github' ? 'X-GitHub-Delivery' : 'body id'})`,
        { source: name, scheme: config.scheme, reason: 'missing_id' },
      );
    }
    const eventId = incomingEventId(name, webhookId);
    const event: Record<string, unknown> = {
      specversion: '1.0',
      id: eventId,
      type: config.type,
      source: config.source ?? `/hooks/${name}`,
      subject: config.subject ?? `hooks-${name}`,
      time: new Date(signedAt === undefined ? now : signedAt * 1000).toISOString(),
      datacontenttype: 'application/json',
      data,
      webhookid: webhookId,
    };
    if (config.tenant !== undefined) event.tenantid = config.tenant;
    let result: AppendManyResult;
    try {
      result = await this.options.store.appendMany([event]);
    } catch (error) {
      if (error instanceof DuplicateEventIdError) throw new WebhookReplayedError(name, webhookId);
      throw error;
    }
    if (result.duplicates > 0) throw new WebhookReplayedError(name, webhookId);
    return { eventId, webhookId, position: result.positions[0]! };
  }
}

/** The id of the event a webhook is stored as: a UUID-shaped hash of (source, webhook id). */
export function incomingEventId(source: string, webhookId: string): string {
  const hex = createHash('sha256').update(`${source}\n${webhookId}`).digest('hex');
  // Version 8 (custom) and the RFC 9562 variant, so it reads as a UUID.
  const v = `8${hex.slice(13, 16)}`;
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16) + hex.slice(17, 20);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${v}-${variant}-${hex.slice(20, 32)}`;
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new MalformedBodyError(
      'the webhook body is not valid JSON',
      { reason: (error as Error).message },
      { cause: error },
    );
  }
}

function checkSources(sources: unknown): Record<string, IncomingSourceConfig> {
  if (typeof sources !== 'object' || sources === null || Array.isArray(sources)) {
    throw new InvalidConfigError('incoming webhook sources must be an object by name', {
      setting: 'sources',
    });
  }
  for (const [name, raw] of Object.entries(sources as Record<string, unknown>)) {
    const config = raw as Partial<IncomingSourceConfig> | null;
    const bad = (what: string): never => {
      throw new InvalidConfigError(`incoming webhook source ${name}: ${what}`, {
        setting: `sources.${name}`,
      });
    };
    if (!SOURCE_NAME.test(name)) bad('the name must be lower-case letters, digits, - and _');
    if (typeof config !== 'object' || config === null) bad('must be an object');
    if (!['standard', 'github', 'stripe'].includes(config!.scheme as string)) {
      bad('scheme must be standard, github or stripe');
    }
    const secrets = config!.secrets;
    if (
      !Array.isArray(secrets) ||
      secrets.length === 0 ||
      secrets.some((s) => typeof s !== 'string' || s === '')
    ) {
      bad('secrets must be a non-empty array of strings');
    }
    if (config!.scheme === 'standard') {
      try {
        for (const secret of secrets!) secretKey(secret);
      } catch (error) {
        if (error instanceof InvalidArgumentError) bad(error.message);
      }
    }
    if (typeof config!.type !== 'string' || config!.type === '') bad('type must be an event type');
    const tolerance = config!.toleranceSeconds;
    if (tolerance !== undefined && (!Number.isSafeInteger(tolerance) || tolerance <= 0)) {
      bad('toleranceSeconds must be a positive integer');
    }
  }
  return sources as Record<string, IncomingSourceConfig>;
}
