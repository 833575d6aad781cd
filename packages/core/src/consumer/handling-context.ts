import type { Span } from '@opentelemetry/api';
import { createEvent, type CloudEvent } from '../envelope/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { AppendOptions, AppendResult, EventStore } from '../event-store/index.js';
import type { Transport } from '../transport/index.js';
import type { FollowUpEvent, HandlerContext, Logger } from './handler.js';

/** What a context needs from its consumer. */
export interface ContextServices {
  source: string;
  transport: Transport;
  store: EventStore | undefined;
  validate: ((event: CloudEvent) => CloudEvent) | undefined;
}

/**
 * The context of one handling. Middleware derives variants with {@link HandlingContext.with}
 * (a new trace span, a transaction), and the methods read the derived values, so a
 * follow-up event always carries the span and trace the handler actually ran in.
 */
export class HandlingContext implements HandlerContext {
  span: Span | undefined = undefined;
  tx: unknown = undefined;

  constructor(
    readonly handler: string,
    readonly group: string,
    readonly origin: string,
    readonly attempt: number,
    readonly parent: CloudEvent,
    public traceparent: string,
    public logger: Logger,
    readonly signal: AbortSignal,
    private readonly services: ContextServices,
  ) {}

  /** A copy with some fields replaced; the original is untouched. */
  with(
    fields: Partial<Pick<HandlingContext, 'span' | 'tx' | 'traceparent' | 'logger'>>,
  ): HandlingContext {
    return Object.assign(Object.create(this) as HandlingContext, fields);
  }

  createEvent<T>(event: FollowUpEvent<T>): CloudEvent<T> {
    if (typeof event !== 'object' || event === null) {
      throw new InvalidArgumentError('a follow-up event must be an object');
    }
    const created = createEvent<T>({
      type: event.type,
      subject: event.subject,
      data: event.data,
      source: event.source ?? this.services.source,
      partitionkey: event.partitionkey,
      parent: { ...this.parent, traceparent: this.traceparent },
    });
    return this.services.validate ? (this.services.validate(created) as CloudEvent<T>) : created;
  }

  async publish(events: readonly FollowUpEvent[]): Promise<void> {
    await this.services.transport.publish(events.map((e) => this.createEvent(e)));
  }

  async append(
    streamId: string,
    events: readonly FollowUpEvent[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    const store = this.services.store;
    if (!store) {
      throw new InvalidArgumentError(
        'no event store to append to here: the consumer was created without `store`, or this is a replay, which never re-appends follow-up events',
        { handler: this.handler },
      );
    }
    return store.appendToStream(
      streamId,
      events.map((e) => this.createEvent({ ...e, subject: streamId })),
      options,
    );
  }
}
