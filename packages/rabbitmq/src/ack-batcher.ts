import type { Channel, Message } from 'amqplib';

/**
 * Settles a channel's deliveries, coalescing the acks of one turn of the event loop: when the
 * oldest unsettled deliveries are all acked, one `multiple` ack covers them; an ack behind a
 * delivery still being handled goes out on its own, so a slow handler never holds others'
 * acks back (a crash would redeliver them).
 */
export class AckBatcher {
  /** Delivery tags received and not yet settled, in delivery order. */
  private readonly unsettled = new Set<number>();
  private readonly acked = new Set<number>();
  private flushing: Promise<void> | undefined;

  constructor(private readonly channel: Channel) {}

  received(message: Message): void {
    this.unsettled.add(message.fields.deliveryTag);
  }

  /** Resolves once the ack is written to the channel. */
  ack(message: Message): Promise<void> {
    this.acked.add(message.fields.deliveryTag);
    this.flushing ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        this.flushing = undefined;
        this.write();
        resolve();
      }),
    );
    return this.flushing;
  }

  /** Return the delivery to the queue now (the broker counts it as redelivered). */
  nack(message: Message): void {
    const tag = message.fields.deliveryTag;
    if (!this.unsettled.delete(tag)) return;
    this.acked.delete(tag);
    try {
      this.channel.nack(message, false, true);
    } catch {
      // The channel is gone, and the broker has returned the message already.
    }
  }

  /** Write acks still waiting for the end of the turn. */
  async flush(): Promise<void> {
    await this.flushing;
  }

  private write(): void {
    let upTo: number | undefined;
    for (const tag of this.unsettled) {
      if (!this.acked.has(tag)) break;
      upTo = tag;
    }
    try {
      if (upTo !== undefined) {
        for (const tag of this.unsettled) {
          this.unsettled.delete(tag);
          this.acked.delete(tag);
          if (tag === upTo) break;
        }
        this.channel.ack(tagged(upTo), true);
      }
      for (const tag of this.acked) {
        this.unsettled.delete(tag);
        this.channel.ack(tagged(tag), false);
      }
    } catch {
      // The channel is gone: the broker redelivers what it had not seen acked.
    } finally {
      this.acked.clear();
    }
  }
}

function tagged(deliveryTag: number): Message {
  return { fields: { deliveryTag } } as Message;
}
