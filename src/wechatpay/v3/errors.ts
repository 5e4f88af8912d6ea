/** The v3 call did not complete, or its answer did not prove itself: nothing is known of its outcome. */
export class WxV3TransportError extends Error {
  override readonly name = 'WxV3TransportError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
