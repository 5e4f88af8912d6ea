/**
 * The payment provider port (port.ts) and its adapters: the shop speaks to WeChat Pay only through
 * a PaymentProvider; wechat-v2.ts is API v2.
 */
export * from './port';
