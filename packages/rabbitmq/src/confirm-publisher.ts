import type { ConfirmChannel, Message, Options } from 'amqplib';
import type { RecoveringConnection } from './connection.js';
import { declareExchange } from './topology.js';

/** One message to publish: where, and its encoded content. */
export interface OutgoingMessage {
  exchange: string;
  routingKey: string;
  body: Buffer;
  properties: Options.Publish & { messageId: string };
}

/** How the broker settled one message. */
export type Outcome = 'confirmed' | 'returned';

interface Pending {
  settle(outcome: Outcome): void;
  fail(error: Error): void;
}

/**
 * Publishes through one confirm channel, pipelined: up to `window` messages await their
 * confirm at once, over all callers, and nobody awaits a confirm before sending the next
 * message. Every message ends confirmed, returned (mandatory, nothing bound) or failed: a
 * nack, or a connection lost before its confirm, fails it, so nothing is lost silently.
 */
export class ConfirmPublisher {
  private channel: Promise<ConfirmChannel> | undefined;
  private channelGeneration = -1;
  private readonly pending = new Set<Pending>();
  private readonly returned = new Map<string, number>();
  private readonly exchanges = new Map<string, Promise<void>>();
  private slotWaiters: (() => void)[] = [];
  /** Messages published and not yet confirmed, returned or failed. */
  inflight = 0;
  /** How every message published so far ended, for metrics. */
  readonly settled = { confirmed: 0, returned: 0, failed: 0 };

  constructor(
    private readonly connection: RecoveringConnection,
    private readonly window: number,
  ) {
    connection.onLost((error) => this.failAll(error));
  }

  /** Make sure the exchange exists (once per connection), so a publish never hits a 404. */
  async ensureExchange(exchange: string): Promise<void> {
    let declared = this.exchanges.get(exchange);
    if (!declared) {
      declared = this.connection.current().then((model) => declareExchange(model, exchange));
      this.exchanges.set(exchange, declared);
      declared.catch(() => this.exchanges.delete(exchange));
    }
    await declared;
  }

  /**
   * Publish every message; resolves with each one's outcome, in order. Once one fails (a
   * nack, a lost connection), the rest are not sent and the call fails with that error: the
   * caller publishes the batch again.
   */
  async publish(messages: readonly OutgoingMessage[]): Promise<Outcome[]> {
    const outcomes: Promise<Outcome>[] = [];
    let failure: Error | undefined;
    try {
      for (const message of messages) {
        if (this.inflight >= this.window) await this.slot();
        if (failure) break;
        const channel = await this.confirmChannel();
        if (failure) break;
        const outcome = this.send(channel, message);
        // Heard at once: the loop may wait (a slot, a reconnect) long after a rejection,
        // which must never count as unhandled (Node ends the process on one).
        outcome.catch((error: Error) => (failure ??= error));
        outcomes.push(outcome);
      }
    } catch (error) {
      // The messages already sent still settle; nobody is left with an unheard rejection.
      await Promise.allSettled(outcomes);
      throw error;
    }
    if (failure) {
      await Promise.allSettled(outcomes);
      throw failure;
    }
    return Promise.all(outcomes);
  }

  /**
   * Publish every message, in order, and report each one's outcome on its own: a failure
   * (a nack, a lost connection) fails that message and those not yet sent, never the others.
   */
  async publishEach(
    messages: readonly OutgoingMessage[],
  ): Promise<PromiseSettledResult<Outcome>[]> {
    const outcomes: Promise<Outcome>[] = [];
    let failure: Error | undefined;
    for (const message of messages) {
      // After a failure to send, later messages are not sent: they must not overtake it.
      if (failure === undefined) {
        try {
          if (this.inflight >= this.window) await this.slot();
          const channel = await this.confirmChannel();
          const outcome = this.send(channel, message);
          outcome.catch(() => undefined);
          outcomes.push(outcome);
          continue;
        } catch (error) {
          failure = error as Error;
        }
      }
      outcomes.push(Promise.reject(failure));
    }
    return Promise.allSettled(outcomes);
  }

  /** Fail what is still pending, and drop the channel. */
  close(error: Error): void {
    this.failAll(error);
  }

  private send(channel: ConfirmChannel, message: OutgoingMessage): Promise<Outcome> {
    this.inflight++;
    return new Promise<Outcome>((resolve, reject) => {
      let done = false;
      const pending: Pending = {
        settle: (outcome) => {
          if (done) return;
          done = true;
          this.settled[outcome]++;
          this.release(pending);
          resolve(outcome);
        },
        fail: (error) => {
          if (done) return;
          done = true;
          this.settled.failed++;
          this.release(pending);
          reject(error);
        },
      };
      this.pending.add(pending);
      const id = message.properties.messageId;
      try {
        channel.publish(
          message.exchange,
          message.routingKey,
          message.body,
          message.properties,
          (error: unknown) => {
            if (error) {
              pending.fail(
                this.connection.unavailable(
                  'the broker did not confirm a publish',
                  error instanceof Error ? error : new Error(String(error)),
                ),
              );
              return;
            }
            // The broker sends basic.return before the ack of the same message.
            const returns = this.returned.get(id) ?? 0;
            if (returns > 0) {
              if (returns === 1) this.returned.delete(id);
              else this.returned.set(id, returns - 1);
              pending.settle('returned');
            } else pending.settle('confirmed');
          },
        );
      } catch (error) {
        pending.fail(this.connection.unavailable('publish failed', error));
      }
    });
  }

  private release(pending: Pending): void {
    this.pending.delete(pending);
    this.inflight--;
    const next = this.slotWaiters.shift();
    next?.();
  }

  private slot(): Promise<void> {
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  private async confirmChannel(): Promise<ConfirmChannel> {
    const model = await this.connection.current();
    if (this.channel && this.channelGeneration === this.connection.generation) return this.channel;
    this.channelGeneration = this.connection.generation;
    this.exchanges.clear();
    const opening = model.createConfirmChannel().then((channel) => {
      channel.on('error', () => undefined);
      channel.on('return', (message: Message) => {
        const id = String(message.properties.messageId);
        this.returned.set(id, (this.returned.get(id) ?? 0) + 1);
      });
      channel.on('close', () => {
        if (this.channel === opening) this.channel = undefined;
        this.failAll(new Error('the publishing channel closed'));
      });
      return channel;
    });
    this.channel = opening;
    opening.catch(() => {
      if (this.channel === opening) this.channel = undefined;
    });
    return opening;
  }

  private failAll(cause: Error): void {
    this.channel = undefined;
    this.exchanges.clear();
    const error = this.connection.unavailable('connection lost before the broker confirmed', cause);
    for (const pending of [...this.pending]) pending.fail(error);
    for (const wake of this.slotWaiters.splice(0)) wake();
  }
}
