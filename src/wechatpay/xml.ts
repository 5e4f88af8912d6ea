import { WxXmlError } from './errors';
import type { Fields } from './sign';

/**
 * Larger bodies are refused before parsing. API answers are bounded by this (a refundquery of a
 * trade with 50 partial refunds lists ~500 indexed fields, ~30 KiB); notifies by NOTIFY_MAX_BYTES.
 */
export const MAX_XML_BYTES = 64 * 1024;

/**
 * What a webhook reads at most. A payment notify has ~22 fields (~1 KiB with CDATA), plus three
 * per coupon used; a refund notify is ~10 outer fields and a req_info of ~1 KiB. 8 KiB is four
 * times the largest real one and keeps a hostile body's cost small.
 */
export const NOTIFY_MAX_BYTES = 8 * 1024;

/** Fields a notify may carry: ~22 known ones, 3 per coupon, and room for fields WeChat adds. */
export const NOTIFY_MAX_FIELDS = 64;

/** Fields any message may carry (a refundquery answer with 50 refunds has ~500). */
export const MAX_XML_FIELDS = 1024;

/** Names that must never become keys of an object we hand out. */
const FORBIDDEN_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

/** WeChat's field names are snake_case ASCII; anything else is refused rather than guessed at. */
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export interface XmlOptions {
  /** The root element: `xml` for WeChat's messages, `root` for a refund notify's decrypted req_info. */
  root?: string;
  /** Refuse a larger body (bytes, UTF-8); default MAX_XML_BYTES. */
  maxBytes?: number;
  /** Refuse more fields than this; default MAX_XML_FIELDS. */
  maxFields?: number;
}

/** What a webhook's body is parsed with: small, flat, few fields. */
export const NOTIFY_XML_OPTIONS: Readonly<XmlOptions> = { maxBytes: NOTIFY_MAX_BYTES, maxFields: NOTIFY_MAX_FIELDS };

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

function decode(body: unknown, maxBytes: number): string {
  if (typeof body === 'string') {
    if (body.length > maxBytes || Buffer.byteLength(body, 'utf8') > maxBytes) {
      throw new WxXmlError('too_large', `the body is larger than ${maxBytes} bytes`);
    }
    return body.startsWith('\uFEFF') ? body.slice(1) : body;
  }
  if (Buffer.isBuffer(body)) {
    if (body.length > maxBytes) throw new WxXmlError('too_large', `the body is larger than ${maxBytes} bytes`);
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

/** Characters XML 1.0 does not allow anywhere in a document (NUL among them). */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
const ENTITY = /&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|lt|gt|amp|quot|apos);/g;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function isSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\n' || ch === '\r' || ch === '\t';
}

function decodeText(chunk: string): string {
  if (!chunk.includes('&')) return chunk;
  if (chunk.replace(ENTITY, '').includes('&')) throw new WxXmlError('malformed', 'an undefined entity or a bare "&" in a value');
  return chunk.replace(ENTITY, (_all, ref: string) => {
    if (ref[0] !== '#') return PREDEFINED[ref] as string;
    const code = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
    if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) || NOT_XML_CHAR.test(String.fromCodePoint(code))) {
      throw new WxXmlError('malformed', `character reference &${ref}; is not an XML character`);
    }
    return String.fromCodePoint(code);
  });
}

/**
 * A scanner for WeChat's one shape, `<root><name>text</name>...</root>`: it moves forward only
 * (every step an indexOf from the current position), so its time is linear in the body, and it
 * refuses depth, attributes, repeats and excess fields where it meets them, before any object for
 * a refused body is built. No DTD, no entities beyond XML's five and character references.
 */
class FlatScanner {
  private at = 0;

  constructor(private readonly text: string) {}

  private startsWith(prefix: string): boolean {
    return this.text.startsWith(prefix, this.at);
  }

  private skipSpace(): void {
    while (isSpace(this.text[this.at])) this.at += 1;
  }

  private skipPast(terminator: string, what: string): void {
    const end = this.text.indexOf(terminator, this.at);
    if (end < 0) throw new WxXmlError('malformed', `an unterminated ${what}`);
    this.at = end + terminator.length;
  }

  /** Whitespace, comments and processing instructions (the XML declaration) before or after the root. */
  skipMisc(): void {
    for (;;) {
      this.skipSpace();
      if (this.startsWith('<!--')) this.skipPast('-->', 'comment');
      else if (this.startsWith('<?')) this.skipPast('?>', 'processing instruction');
      else return;
    }
  }

  atEnd(): boolean {
    return this.at >= this.text.length;
  }

  /** The name of the tag at `<` (or `</`), leaving the position after it. */
  private name(): string {
    const from = this.at;
    let end = from;
    while (end < this.text.length) {
      const ch = this.text[end];
      if (ch === '>' || ch === '/' || isSpace(ch) || ch === '<') break;
      end += 1;
    }
    if (end === from) throw new WxXmlError('malformed', 'a tag without a name');
    this.at = end;
    return this.text.slice(from, end);
  }

  /** At `<`: reads the start tag's name, leaving the position after it. */
  openName(): string {
    if (this.text[this.at] !== '<') throw new WxXmlError('malformed', this.atEnd() ? 'no root element' : 'text where an element was expected');
    this.at += 1;
    return this.name();
  }

  /** After a start tag's name: `>` (returns false) or `/>` (self-closing, returns true); anything else is an attribute. */
  openEnd(name: string): boolean {
    const hadSpace = isSpace(this.text[this.at]);
    this.skipSpace();
    if (this.startsWith('/>')) {
      this.at += 2;
      return true;
    }
    if (this.text[this.at] === '>') {
      this.at += 1;
      return false;
    }
    if (hadSpace && !this.atEnd()) throw new WxXmlError('attributes', `<${name}> carries attributes`);
    throw new WxXmlError('malformed', `an unterminated <${name}> tag`);
  }

  /** At `</`: the end tag of `name`. */
  close(name: string): void {
    this.at += 2;
    const found = this.name();
    if (found !== name) throw new WxXmlError('malformed', `</${found.slice(0, 64)}> closes <${name}>`);
    this.skipSpace();
    if (this.text[this.at] !== '>') throw new WxXmlError('malformed', `an unterminated </${name}> tag`);
    this.at += 1;
  }

  /** A field's text up to its end tag: character data, entity references and CDATA sections. */
  content(name: string): string {
    let value = '';
    for (;;) {
      const lt = this.text.indexOf('<', this.at);
      if (lt < 0) throw new WxXmlError('malformed', `<${name}> is never closed`);
      value += decodeText(this.text.slice(this.at, lt));
      this.at = lt;
      if (this.startsWith('<![CDATA[')) {
        this.at += 9;
        const end = this.text.indexOf(']]>', this.at);
        if (end < 0) throw new WxXmlError('malformed', 'an unterminated CDATA section');
        value += this.text.slice(this.at, end);
        this.at = end + 3;
      } else if (this.startsWith('</')) {
        this.close(name);
        return value;
      } else if (this.startsWith('<!--')) {
        this.skipPast('-->', 'comment');
      } else {
        throw new WxXmlError('nested', `field ${name} holds elements instead of text`);
      }
    }
  }

  /** Inside the root: the text up to the next `<`, which must be only whitespace. */
  gapBeforeTag(root: string): void {
    const lt = this.text.indexOf('<', this.at);
    if (lt < 0) throw new WxXmlError('malformed', `<${root}> is never closed`);
    for (let k = this.at; k < lt; k += 1) {
      if (!isSpace(this.text[k])) throw new WxXmlError('text_in_root', `<${root}> holds text beside its fields`);
    }
    this.at = lt;
  }

  /** What is at the position, inside the root. */
  peekKind(): 'close' | 'comment' | 'cdata' | 'other_markup' | 'element' {
    if (this.startsWith('</')) return 'close';
    if (this.startsWith('<!--')) return 'comment';
    if (this.startsWith('<![CDATA[')) return 'cdata';
    if (this.startsWith('<!') || this.startsWith('<?')) return 'other_markup';
    return 'element';
  }

  skipComment(): void {
    this.skipPast('-->', 'comment');
  }
}

function parseFlat(text: string, root: string, maxFields: number): Record<string, string> {
  if (NOT_XML_CHAR.test(text)) throw new WxXmlError('malformed', 'the body holds characters XML does not allow (NUL, control characters)');
  const scan = new FlatScanner(text);
  scan.skipMisc();
  const rootName = scan.openName();
  if (rootName !== root) throw new WxXmlError('bad_root', `the root element must be <${root}>, not <${rootName}>`);
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  let count = 0;
  if (!scan.openEnd(root)) {
    for (;;) {
      scan.gapBeforeTag(root);
      const kind = scan.peekKind();
      if (kind === 'close') {
        scan.close(root);
        break;
      }
      if (kind === 'comment') {
        scan.skipComment();
        continue;
      }
      if (kind === 'cdata') throw new WxXmlError('text_in_root', `<${root}> holds text beside its fields`);
      if (kind === 'other_markup') throw new WxXmlError('malformed', `unexpected markup in <${root}>`);
      const name = scan.openName();
      if (FORBIDDEN_NAMES.has(name)) throw new WxXmlError('forbidden_name', `a field is named ${name}`);
      if (!FIELD_NAME.test(name)) throw new WxXmlError('bad_field_name', `a field is named ${JSON.stringify(name.slice(0, 64))}`);
      if (name in fields) throw new WxXmlError('repeated', `field ${name} appears more than once`);
      count += 1;
      if (count > maxFields) throw new WxXmlError('too_many_fields', `more than ${maxFields} fields`);
      const empty = scan.openEnd(name);
      fields[name] = empty ? '' : scan.content(name);
    }
  }
  scan.skipMisc();
  if (!scan.atEnd()) throw new WxXmlError('malformed', `text or a second root after </${root}>`);
  return fields;
}

/**
 * Parses WeChat's flat XML into an object without a prototype (`Object.create(null)`), field name
 * to raw text ('' for an empty element), in one forward pass (time linear in the body). Refuses,
 * with a WxXmlError and never anything else: a body over `maxBytes` (MAX_XML_BYTES), any DOCTYPE or
 * ENTITY declaration, another root than `<xml>` (or `options.root`), attributes, nested elements,
 * repeated fields, more than `maxFields` fields, `__proto__`/`constructor`/`prototype` fields, text
 * beside the fields, a second root or text after it, an empty body and malformed XML.
 */
export async function parseXml(body: string | Buffer, options: XmlOptions = {}): Promise<Record<string, string>> {
  return parseXmlSync(body, options);
}

/** parseXml without the promise (the work is synchronous and bounded). */
export function parseXmlSync(body: string | Buffer, options: XmlOptions = {}): Record<string, string> {
  const root = options.root ?? 'xml';
  const text = decode(body, options.maxBytes ?? MAX_XML_BYTES);
  if (text.trim() === '') throw new WxXmlError('empty', 'the body is empty: is a text parser for text/xml mounted?');
  // XXE and entity expansion live in the DTD: a WeChat message never has one, so refuse it unread.
  if (/<!DOCTYPE/i.test(text)) throw new WxXmlError('doctype', 'DOCTYPE declarations are refused (XXE)');
  if (/<!ENTITY/i.test(text)) throw new WxXmlError('doctype', 'ENTITY declarations are refused (XXE)');
  return parseFlat(text, root, options.maxFields ?? MAX_XML_FIELDS);
}
