import { MAX_XML_BYTES, NOTIFY_MAX_BYTES, NOTIFY_XML_OPTIONS, WxXmlError, buildXml, parseXml } from '../../../src/wechatpay';
import type { XmlOptions, XmlRejectReason } from '../../../src/wechatpay';

async function rejection(body: unknown, options?: XmlOptions): Promise<WxXmlError> {
  try {
    await parseXml(body as string, options);
  } catch (err) {
    if (err instanceof WxXmlError) return err;
    throw new Error(`expected a WxXmlError, got ${String(err)}`, { cause: err });
  }
  throw new Error('expected a WxXmlError, but the body was accepted');
}

describe('buildXml', () => {
  it('when given strings, numbers and missing values, it writes CDATA strings, bare numbers and skips the missing', () => {
    expect(buildXml({ return_code: 'SUCCESS', total_fee: 1234, attach: undefined, openid: null, empty: '' })).toBe(
      '<xml><return_code><![CDATA[SUCCESS]]></return_code><total_fee>1234</total_fee><empty><![CDATA[]]></empty></xml>',
    );
  });

  it('when a value holds "]]>", it splits the CDATA section so that the text survives', () => {
    const xml = buildXml({ body: 'a]]>b' });
    expect(xml).toBe('<xml><body><![CDATA[a]]]]><![CDATA[>b]]></body></xml>');
  });

  it('when asked for another root, it writes that root', () => {
    expect(buildXml({ a: '1' }, { root: 'root' })).toBe('<root><a><![CDATA[1]]></a></root>');
  });

  it.each(['__proto__', 'constructor', 'a b', '<x>', '', '1abc'])('when a field is named %j, it throws a TypeError', (name) => {
    expect(() => buildXml({ [name]: '1' })).toThrow(TypeError);
  });

  it('when a number is not finite, it throws a TypeError', () => {
    expect(() => buildXml({ total_fee: Number.NaN })).toThrow(TypeError);
  });
});

describe('parseXml round trip', () => {
  it('when values hold Chinese, markup characters, "]]>", line breaks and nothing, they come back unchanged', async () => {
    const fields = {
      body: '测试商品-腾讯充值中心',
      attach: '<b>&amp; "quoted" \'single\'</b>',
      tricky: ']]>]]]]>x]]',
      lines: 'one\ntwo\tthree',
      empty: '',
      emoji: '支付 😀',
    };
    expect({ ...(await parseXml(buildXml(fields))) }).toEqual(fields);
  });

  it('when a number was written bare, it comes back as its text', async () => {
    const fields = await parseXml(buildXml({ total_fee: 1 }));
    expect(fields.total_fee).toBe('1');
  });

  it('when elements are empty or self-closing, they become empty strings', async () => {
    const fields = await parseXml('<xml><a></a><b/><c><![CDATA[]]></c></xml>');
    expect({ ...fields }).toEqual({ a: '', b: '', c: '' });
  });

  it('when text uses the predefined and numeric entities, they are decoded', async () => {
    const fields = await parseXml('<xml><a>&lt;&#x41;&#66;&amp;&gt;</a></xml>');
    expect(fields.a).toBe('<AB&>');
  });

  it('when the body is a UTF-8 Buffer with a BOM and an XML declaration, it is parsed', async () => {
    const body = Buffer.from(`\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<xml>\n  <body>支付</body>\n</xml>\n`, 'utf8');
    expect({ ...(await parseXml(body)) }).toEqual({ body: '支付' });
  });

  it('when parsed, the result has no prototype, so no field can reach Object.prototype', async () => {
    const fields = await parseXml('<xml><toString>x</toString><hasOwnProperty>y</hasOwnProperty></xml>');
    expect(Object.getPrototypeOf(fields)).toBeNull();
    expect(fields.toString).toBe('x');
    expect(fields.hasOwnProperty).toBe('y');
  });

  it('when the root is <root> and the caller asked for it, it is parsed', async () => {
    expect({ ...(await parseXml('<root><a>1</a></root>', { root: 'root' })) }).toEqual({ a: '1' });
  });

  it('when the root is <xml> with no fields, the result is empty', async () => {
    expect(Object.keys(await parseXml('<xml></xml>'))).toEqual([]);
    expect(Object.keys(await parseXml('<xml/>'))).toEqual([]);
  });

  it('when the body is exactly MAX_XML_BYTES long, it is still accepted', async () => {
    const prefix = '<xml><a>';
    const suffix = '</a></xml>';
    const body = prefix + 'x'.repeat(MAX_XML_BYTES - prefix.length - suffix.length) + suffix;
    expect(Buffer.byteLength(body)).toBe(MAX_XML_BYTES);
    expect((await parseXml(body)).a).toHaveLength(MAX_XML_BYTES - prefix.length - suffix.length);
  });
});

describe('parseXml refuses hostile and broken bodies with a WxXmlError', () => {
  const XXE =
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><return_code>&xxe;</return_code></xml>';
  const BILLION_LAUGHS =
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><xml><a>&lol3;</a></xml>';
  const PARAMETER_ENTITY =
    '<!doctype xml [<!ENTITY % remote SYSTEM "http://127.0.0.1:1/evil.dtd"> %remote;]><xml><a>1</a></xml>';

  const cases: Array<[string, unknown, XmlRejectReason]> = [
    ['an XXE payload with an external entity', XXE, 'doctype'],
    ['the billion laughs', BILLION_LAUGHS, 'doctype'],
    ['a lower-case doctype with a parameter entity', PARAMETER_ENTITY, 'doctype'],
    ['an ENTITY declaration without a DOCTYPE', '<xml><!ENTITY a "b"><a>1</a></xml>', 'doctype'],
    ['a field named __proto__', '<xml><__proto__>1</__proto__></xml>', 'forbidden_name'],
    ['a field named constructor', '<xml><constructor>1</constructor></xml>', 'forbidden_name'],
    ['a field named prototype', '<xml><prototype>1</prototype></xml>', 'forbidden_name'],
    ['a nested element', '<xml><a><b>1</b></a></xml>', 'nested'],
    ['a nested __proto__ element', '<xml><a><__proto__><polluted>1</polluted></__proto__></a></xml>', 'nested'],
    ['a repeated field', '<xml><total_fee>1</total_fee><total_fee>100</total_fee></xml>', 'repeated'],
    ['an attribute on a field', '<xml><a x="1">1</a></xml>', 'attributes'],
    ['an attribute on the root', '<xml xmlns="urn:x"><a>1</a></xml>', 'attributes'],
    ['another root element', '<html><a>1</a></html>', 'bad_root'],
    ['a namespaced root', '<x:xml xmlns:x="urn:x"><a>1</a></x:xml>', 'bad_root'],
    ['a namespaced field', '<xml><x:a>1</x:a></xml>', 'bad_field_name'],
    ['text beside the fields', '<xml>junk<a>1</a></xml>', 'text_in_root'],
    ['text instead of fields', '<xml>junk</xml>', 'text_in_root'],
    ['text after the root', '<xml><a>1</a></xml>junk', 'malformed'],
    ['a second root', '<xml><a>1</a></xml><xml><a>2</a></xml>', 'malformed'],
    ['an unclosed root', '<xml><a>1</a>', 'malformed'],
    ['a mismatched close tag', '<xml><a>1</b></xml>', 'malformed'],
    ['an undefined entity', '<xml><a>&xxe;</a></xml>', 'malformed'],
    ['plain text', 'SUCCESS', 'malformed'],
    ['JSON', '{"return_code":"SUCCESS"}', 'malformed'],
    ['a lone angle bracket', '<', 'malformed'],
    ['a NUL byte before the root', '\u0000<xml/>', 'malformed'],
    ['an empty string', '', 'empty'],
    ['only whitespace', ' \r\n\t ', 'empty'],
    ['undefined (no text parser mounted)', undefined, 'empty'],
    ['null', null, 'empty'],
    ['an object (a JSON parser ran instead)', {}, 'empty'],
    ['a body over 64 KiB', `<xml><a>${'x'.repeat(MAX_XML_BYTES)}</a></xml>`, 'too_large'],
    ['a Buffer over 64 KiB', Buffer.alloc(MAX_XML_BYTES + 1, 0x20), 'too_large'],
    ['a Buffer that is not UTF-8', Buffer.from([0x3c, 0x78, 0x6d, 0x6c, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x78, 0x6d, 0x6c, 0x3e]), 'bad_encoding'],
  ];

  it.each(cases)('when the body is %s, it is refused', async (_name, body, reason) => {
    const err = await rejection(body);
    expect(err.reason).toBe(reason);
    expect(err.code).toBe('bad_xml');
  });

  it('when a string is over 64 KiB only once encoded (Chinese is 3 bytes), it is refused', async () => {
    const body = `<xml><a>${'支'.repeat(Math.ceil(MAX_XML_BYTES / 3))}</a></xml>`;
    expect(body.length).toBeLessThan(MAX_XML_BYTES);
    expect((await rejection(body)).reason).toBe('too_large');
  });

  it('when an XXE payload is refused, nothing of the entity reaches a result', async () => {
    await expect(parseXml(XXE)).rejects.toThrow(/DOCTYPE/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('when the root is <xml> but the caller asked for <root>, it is refused', async () => {
    expect((await rejection('<xml><a>1</a></xml>', { root: 'root' })).reason).toBe('bad_root');
  });

  it('when the body is random bytes or a mangled message, it never crashes: it parses or throws WxXmlError', async () => {
    // A seeded generator keeps the run reproducible.
    let seed = 20240601;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const valid = buildXml({ return_code: 'SUCCESS', total_fee: 1, body: '测试]]>', sign: 'ABC' });
    const alphabet = '<>/![]&;#x"\'=?-CDATA xml 支\u0000\uFEFF';
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 600; i++) {
      let body: string | Buffer;
      if (i % 3 === 0) {
        body = Buffer.from(Array.from({ length: random(80) }, () => random(256)));
      } else {
        const chars = [...valid];
        for (let k = 0, edits = 1 + random(4); k < edits; k++) {
          const at = random(chars.length + 1);
          const ch = alphabet[random(alphabet.length)] as string;
          const op = random(3);
          if (op === 0) chars.splice(at, 1);
          else if (op === 1) chars.splice(at, 0, ch);
          else chars[at] = ch;
        }
        body = chars.join('');
      }
      try {
        const fields = await parseXml(body);
        expect(Object.getPrototypeOf(fields)).toBeNull();
        for (const value of Object.values(fields)) expect(typeof value).toBe('string');
        accepted++;
      } catch (err) {
        expect(err).toBeInstanceOf(WxXmlError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect(accepted).toBeGreaterThan(0);
  });
});

describe('parseXml does bounded work before anything is trusted', () => {
  it('when a body nests the same element thousands of times, it is refused at the first nesting, in time linear in the body', async () => {
    const deep = `<xml><a>${'<a>'.repeat(20_000)}</xml>`;
    expect((await rejection(deep)).reason).toBe('nested');
    const wide = `<xml>${'<a>'.repeat(20_000)}</xml>`;
    expect((await rejection(wide)).reason).toBe('nested');
  });

  it('when a body has more fields than allowed, it is refused with too_many_fields before the rest is read', async () => {
    const fields = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`f${i}`, 'x']));
    await expect(parseXml(buildXml(fields))).resolves.toBeDefined();
    const err = await rejection(buildXml(fields), { maxFields: 64 });
    expect(err.reason).toBe('too_many_fields');
  });

  it('when a body is over the notify limit, it is refused as too large by the notify options', async () => {
    const body = `<xml><a>${'x'.repeat(NOTIFY_MAX_BYTES)}</a></xml>`;
    await expect(parseXml(body, NOTIFY_XML_OPTIONS)).rejects.toMatchObject({ reason: 'too_large' });
    await expect(parseXml(body)).resolves.toBeDefined();
  });

  it('when a second root or a repeated field hides behind a valid message, the whole body is refused', async () => {
    expect((await rejection('<xml><a>1</a></xml>\n<xml><a>2</a></xml>')).reason).toBe('malformed');
    expect((await rejection('<xml><a>1</a><b>2</b><a>3</a></xml>')).reason).toBe('repeated');
  });

  it('when comments surround or sit between the fields, they are skipped', async () => {
    expect({ ...(await parseXml('<!-- a --><xml><!-- b --><a>1<!-- c --></a></xml><!-- d -->')) }).toEqual({ a: '1' });
  });
});
