import { Parser } from 'xml2js';
import { WxXmlError } from './errors';
import type { Fields } from './sign';

/** Larger bodies are refused before parsing: WeChat's messages are a few hundred bytes. */
export const MAX_XML_BYTES = 64 * 1024;

/** Names that must never become keys of an object we hand out. */
const FORBIDDEN_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

/** WeChat's field names are snake_case ASCII; anything else is refused rather than guessed at. */
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * Every tag name is prefixed while parsing so that no field name can collide with xml2js's own keys
 * (`$`, `_`, `cdata`) or with Object.prototype (`__proto__`, `toString`); '@' cannot start an XML name.
 */
const TAG_PREFIX = '@';
const ATTR_KEY = '$';
const CHAR_KEY = '_';

export interface XmlOptions {
  /** The root element: `xml` for WeChat's messages, `root` for a refund notify's decrypted req_info. */
  root?: string;
}

function checkName(name: string, what: string): void {
  if (FORBIDDEN_NAMES.has(name) || !FIELD_NAME.test(name)) {
    throw new TypeError(`${what} ${JSON.stringify(name)} is not a valid WeChat Pay field name`);
  }
}

function cdata(value: string): string {
  // "]]>" cannot appear inside CDATA: close the section after "]]" and open a new one before ">".
  return `<![CDATA[${value.split(']]>').join(']]]]><![CDATA[>')}]]>`;
}

/**
 * `<xml><name><![CDATA[value]]></name>...</xml>` in the fields' order. undefined and null are
 * skipped; numbers are written bare; strings in CDATA, with any `]]>` split safely.
 */
export function buildXml(fields: Fields, options: XmlOptions = {}): string {
  const root = options.root ?? 'xml';
  checkName(root, 'root element');
  let out = `<${root}>`;
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined || value === null) continue;
    checkName(name, 'field');
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new TypeError(`field ${name} is not a finite number (${value})`);
      out += `<${name}>${String(value)}</${name}>`;
    } else if (typeof value === 'string') {
      out += `<${name}>${cdata(value)}</${name}>`;
    } else {
      throw new TypeError(`field ${name} must be a string or a number, not ${typeof value}`);
    }
  }
  return `${out}</${root}>`;
}

function decode(body: unknown): string {
  if (typeof body === 'string') {
    if (Buffer.byteLength(body, 'utf8') > MAX_XML_BYTES) {
      throw new WxXmlError('too_large', `the body is larger than ${MAX_XML_BYTES} bytes`);
    }
    return body.startsWith('\uFEFF') ? body.slice(1) : body;
  }
  if (Buffer.isBuffer(body)) {
    if (body.length > MAX_XML_BYTES) throw new WxXmlError('too_large', `the body is larger than ${MAX_XML_BYTES} bytes`);
    try {
      // fatal: invalid UTF-8 is refused instead of turned into U+FFFD; the BOM is dropped.
      return new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch (cause) {
      throw new WxXmlError('bad_encoding', 'the body is not valid UTF-8', { cause });
    }
  }
  throw new WxXmlError(
    'empty',
    `no XML body (got ${body === null ? 'null' : typeof body}): mount a text parser for text/xml on this route`,
  );
}

function runParser(text: string): unknown {
  const parser = new Parser({
    strict: true,
    async: false,
    explicitRoot: true,
    explicitArray: true,
    explicitCharkey: false,
    attrkey: ATTR_KEY,
    charkey: CHAR_KEY,
    trim: false,
    normalize: false,
    normalizeTags: false,
    emptyTag: '',
    tagNameProcessors: [(name: string) => TAG_PREFIX + name],
  });
  let result: unknown = null;
  let failure: unknown;
  // Listeners instead of the callback: xml2js reports the root's end before it has read the rest,
  // and a later error (text after the root, a second root) must still reject the whole body.
  parser.on('end', (value: unknown) => {
    result = value;
  });
  parser.on('error', (err: unknown) => {
    failure ??= err;
  });
  try {
    parser.parseString(text);
  } catch (err) {
    failure ??= err;
  }
  if (failure !== undefined) {
    const detail = failure instanceof Error ? failure.message.split('\n')[0] : String(failure);
    throw new WxXmlError('malformed', detail ?? 'the parser failed', { cause: failure });
  }
  return result;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function flatten(parsed: unknown, root: string): Record<string, string> {
  if (!isRecord(parsed)) throw new WxXmlError('malformed', 'no root element');
  const keys = Object.keys(parsed);
  const rootKey = keys[0];
  if (keys.length !== 1 || rootKey !== TAG_PREFIX + root) {
    const found = rootKey === undefined ? '(none)' : rootKey.slice(TAG_PREFIX.length);
    throw new WxXmlError('bad_root', `the root element must be <${root}>, not <${found}>`);
  }
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  const body = parsed[rootKey];
  if (body === '' || body === undefined) return fields;
  if (typeof body === 'string') {
    if (body.trim() === '') return fields;
    throw new WxXmlError('text_in_root', `<${root}> holds text instead of fields`);
  }
  if (!isRecord(body)) throw new WxXmlError('malformed', `unexpected content in <${root}>`);
  for (const [key, value] of Object.entries(body)) {
    if (key === ATTR_KEY) throw new WxXmlError('attributes', `<${root}> carries attributes`);
    if (key === CHAR_KEY) throw new WxXmlError('text_in_root', `<${root}> holds text beside its fields`);
    if (!key.startsWith(TAG_PREFIX)) throw new WxXmlError('malformed', `unexpected content in <${root}>`);
    const name = key.slice(TAG_PREFIX.length);
    if (FORBIDDEN_NAMES.has(name)) throw new WxXmlError('forbidden_name', `a field is named ${name}`);
    if (!FIELD_NAME.test(name)) throw new WxXmlError('bad_field_name', `a field is named ${JSON.stringify(name)}`);
    if (!Array.isArray(value) || value.length === 0) throw new WxXmlError('malformed', `field ${name} has no value`);
    if (value.length > 1) throw new WxXmlError('repeated', `field ${name} appears ${value.length} times`);
    const [only] = value as unknown[];
    if (typeof only === 'string') {
      fields[name] = only;
    } else if (isRecord(only) && ATTR_KEY in only) {
      throw new WxXmlError('attributes', `field ${name} carries attributes`);
    } else {
      throw new WxXmlError('nested', `field ${name} holds elements instead of text`);
    }
  }
  return fields;
}

/**
 * Parses WeChat's flat XML into an object without a prototype (`Object.create(null)`), field name
 * to raw text ('' for an empty element). Refuses, with a WxXmlError and never anything else: a body
 * over MAX_XML_BYTES, any DOCTYPE or ENTITY declaration, another root than `<xml>` (or
 * `options.root`), attributes, nested elements, repeated fields, `__proto__`/`constructor`/
 * `prototype` fields, text beside the fields, an empty body and malformed XML.
 */
export async function parseXml(body: string | Buffer, options: XmlOptions = {}): Promise<Record<string, string>> {
  const root = options.root ?? 'xml';
  const text = decode(body);
  if (text.trim() === '') throw new WxXmlError('empty', 'the body is empty: is a text parser for text/xml mounted?');
  // XXE and entity expansion live in the DTD: a WeChat message never has one, so refuse it unread.
  if (/<!DOCTYPE/i.test(text)) throw new WxXmlError('doctype', 'DOCTYPE declarations are refused (XXE)');
  if (/<!ENTITY/i.test(text)) throw new WxXmlError('doctype', 'ENTITY declarations are refused (XXE)');
  return flatten(runParser(text), root);
}
