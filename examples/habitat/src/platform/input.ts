import { randomUUID } from 'node:crypto';
import { InvalidArgumentError } from '@eventfabric/core';

/** A fresh id with the prefix Habitat's schemas expect (`m-`, `a-`, `c-`). */
export function newId(prefix: string): string {
  return `${prefix}${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

const ID_BODY = /^[A-Za-z0-9_-]{1,64}$/;
const PERIOD = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
const EMAIL = /^[^@\s]+@[^@\s]+$/;

/** An id given by a client: `prefix` followed by 1–64 letters, digits, `_` or `-`. */
export function requireId(value: unknown, prefix: string, field: string): string {
  if (
    typeof value !== 'string' ||
    !value.startsWith(prefix) ||
    !ID_BODY.test(value.slice(prefix.length))
  ) {
    throw new InvalidArgumentError(
      `${field} must be "${prefix}" followed by 1 to 64 letters, digits, _ or -`,
      { field, value: String(value) },
    );
  }
  return value;
}

export function requirePeriodId(value: unknown, field = 'periodId'): string {
  if (typeof value !== 'string' || !PERIOD.test(value)) {
    throw new InvalidArgumentError(
      `${field} must be 1 to 32 letters, digits, _, . or -, starting with a letter or digit`,
      { field, value: String(value) },
    );
  }
  return value;
}

/** Non-empty text of at most `max` characters, trimmed. */
export function requireText(value: unknown, field: string, max: number): string {
  const text = typeof value === 'string' ? value.trim() : '';
  if (text === '' || text.length > max) {
    throw new InvalidArgumentError(`${field} must be non-empty text of at most ${max} characters`, {
      field,
    });
  }
  return text;
}

export function requireEmail(value: unknown, field = 'email'): string {
  if (typeof value !== 'string' || !EMAIL.test(value) || value.length > 320) {
    throw new InvalidArgumentError(`${field} must be an e-mail address`, {
      field,
      value: String(value),
    });
  }
  return value;
}

/** Money: a whole number of cents in [min, max]. */
export function requireCents(
  value: unknown,
  field: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(
      `${field} must be a whole number of cents from ${min} to ${max}`,
      { field, value: String(value) },
    );
  }
  return value;
}
