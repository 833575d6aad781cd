import { ErrorCodes } from './codes.js';
import { EventFabricError, type ErrorDetails } from './event-fabric-error.js';

/** An incoming webhook's signature is missing, malformed or matches none of the secrets. */
export class WebhookSignatureInvalidError extends EventFabricError {
  constructor(message: string, details: ErrorDetails = {}) {
    super(ErrorCodes.WEBHOOK_SIGNATURE_INVALID, message, details);
  }
}

/** An incoming webhook's timestamp is missing, malformed or outside the tolerance. */
export class WebhookTimestampInvalidError extends EventFabricError {
  constructor(message: string, details: ErrorDetails = {}) {
    super(ErrorCodes.WEBHOOK_TIMESTAMP_INVALID, message, details);
  }
}

/** An incoming webhook id was already received from this source: a replay, stored once. */
export class WebhookReplayedError extends EventFabricError {
  constructor(source: string, webhookId: string) {
    super(
      ErrorCodes.WEBHOOK_REPLAYED,
      `webhook ${webhookId} from source ${source} was already received`,
      { source, webhookId },
    );
  }
}

/**
 * A webhook URL points where deliveries may not go: a private, loopback, link-local,
 * unique-local or multicast address not on the operator's allowlist, a host that does not
 * resolve, or a scheme other than http and https.
 */
export class WebhookTargetRefusedError extends EventFabricError {
  constructor(message: string, details: ErrorDetails = {}, options?: ErrorOptions) {
    super(ErrorCodes.WEBHOOK_TARGET_REFUSED, message, details, options);
  }
}
