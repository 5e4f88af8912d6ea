/**
 * WeChat Pay APIv3 (JSON + RSA): request signing, answer and notify verification with one
 * serial->key lookup, AEAD_AES_256_GCM, key material, and the HTTP client. No Express, no database.
 */
export * from './sign';
export * from './verify';
export * from './aead';
export * from './keys';
export * from './client';
export * from './errors';
