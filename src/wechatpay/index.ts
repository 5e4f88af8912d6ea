/**
 * WeChat Pay v2 (XML): signing, XML, notifies, bills and the HTTP client. No Express, no database.
 * Both our client and our simulator use this module, so both sides of the wire speak one dialect.
 */
export * from './errors';
export * from './sign';
export * from './xml';
export * from './time';
export * from './amount';
export * from './notify';
export * from './bill';
export * from './client-types';
export * from './client';
export * from './server';
export * from './text';
export * from './ids';
export * from './jsapi';
export * from './oauth';
