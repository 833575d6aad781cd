import { EventFabricError, type ErrorDetails } from '@eventfabric/core';

/** The command does not fit the current state (approving a rejected contribution, say). */
export class HabitatConflictError extends EventFabricError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('HABITAT_CONFLICT', message, details);
  }
}
