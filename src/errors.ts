/**
 * Domain errors. Services throw these; one middleware (src/http/errors.ts) maps them to HTTP.
 * `messageKey` names a sentence in the shopper's dictionaries (src/i18n); `params` fill it.
 */
export abstract class DomainError extends Error {
  abstract readonly kind: 'not_found' | 'invalid' | 'conflict' | 'unauthorized' | 'forbidden' | 'unavailable' | 'upstream';
  constructor(
    message: string,
    readonly messageKey: string = 'error.generic',
    readonly params: Record<string, string | number> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFound extends DomainError {
  readonly kind = 'not_found';
  constructor(message = 'not found', messageKey = 'error.notFound', params: Record<string, string | number> = {}) {
    super(message, messageKey, params);
  }
}

export class Invalid extends DomainError {
  readonly kind = 'invalid';
  constructor(message: string, messageKey = 'error.invalid', params: Record<string, string | number> = {}) {
    super(message, messageKey, params);
  }
}

export class Conflict extends DomainError {
  readonly kind = 'conflict';
  constructor(message: string, messageKey = 'error.conflict', params: Record<string, string | number> = {}) {
    super(message, messageKey, params);
  }
}

export class Unauthorized extends DomainError {
  readonly kind = 'unauthorized';
  constructor(message = 'login required', messageKey = 'error.unauthorized') {
    super(message, messageKey);
  }
}

export class Forbidden extends DomainError {
  readonly kind = 'forbidden';
  constructor(message = 'forbidden', messageKey = 'error.forbidden', params: Record<string, string | number> = {}) {
    super(message, messageKey, params);
  }
}

/** We cannot serve this now (a bound is reached, the database is away); try again later. */
export class Unavailable extends DomainError {
  readonly kind = 'unavailable';
  constructor(
    message: string,
    readonly retryAfterSeconds = 5,
    messageKey = 'error.unavailable',
  ) {
    super(message, messageKey);
  }
}

/** WeChat Pay (or the simulator) failed or refused; the shopper may retry. */
export class UpstreamFailed extends DomainError {
  readonly kind = 'upstream';
  constructor(message: string, messageKey = 'error.upstream', params: Record<string, string | number> = {}) {
    super(message, messageKey, params);
  }
}
