import { BODY_MAX_BYTES, truncateUtf8, utf8Bytes } from '../../../src/wechatpay';
import type { OrderItem } from '../../../src/ledger';
import { orderBody } from '../../../src/pay/service';

function orderOf(title: string, quantity: number): { items: OrderItem[] } {
  return { items: [{ product_id: 1, variant_id: 1, sku: null, variant_label: '', title, unit_price_fen: 100, quantity, stock_short: 0 }] };
}

describe('truncateUtf8', () => {
  test('a text within the limit is kept as it is', () => {
    expect(truncateUtf8('茶'.repeat(42), 127)).toBe('茶'.repeat(42));
  });

  test('a longer text is cut at a character boundary, ellipsis included in the limit', () => {
    const cut = truncateUtf8('茶'.repeat(60), 127);
    expect(utf8Bytes(cut)).toBeLessThanOrEqual(127);
    expect(cut).toBe(`${'茶'.repeat(41)}…`);
    const emoji = truncateUtf8('😀'.repeat(40), 10);
    expect(emoji).toBe('😀…');
    expect(utf8Bytes(emoji)).toBe(7);
  });
});

describe('orderBody', () => {
  test('when the first item has a long Chinese title, the body stays within 127 bytes and keeps the count', () => {
    const body = orderBody('示例小店', [orderOf('特级'.repeat(40), 3)]);
    expect(utf8Bytes(body)).toBeLessThanOrEqual(BODY_MAX_BYTES);
    expect(body.startsWith('示例小店-特级特级')).toBe(true);
    expect(body.endsWith('…等3件')).toBe(true);
  });

  test('when the shop name itself is 40 Chinese characters, the body is still within 127 bytes', () => {
    const body = orderBody('店'.repeat(40), [orderOf('茶', 2)]);
    expect(utf8Bytes(body)).toBeLessThanOrEqual(BODY_MAX_BYTES);
  });

  test('a short body is left alone', () => {
    expect(orderBody('示例小店', [orderOf('茉莉花茶', 1)])).toBe('示例小店-茉莉花茶');
  });
});
