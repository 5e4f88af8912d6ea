/**
 * The demo catalog, loaded on first start in simulator mode only (when `products` is empty).
 * Prices are fen. A product with `options` is sold by variant (one per combination, each its own
 * SKU code, price and stock); the others are one variant with the product's SKU code.
 */
export interface SeedProduct {
  sku: string;
  title: string;
  seller: string;
  price_fen: number;
  /** the product's own stock (a product without options); 0 for one with options, whose stock is its variants' */
  stock: number;
  category: string;
  description?: string;
  options?: { names: string[]; variants: { sku: string; values: string[]; price_fen: number; stock: number }[] };
}

export const SEED_CATEGORIES: readonly string[] = ['茶叶', '丝绸', '数码', '农产品', '服饰'];

export const SEED_PRODUCTS: readonly SeedProduct[] = [
  { sku: 'TEA-LJ-250', title: '明前西湖龙井 250g', seller: '山野茶园', price_fen: 16800, stock: 40, category: '茶叶' },
  { sku: 'TEA-PE-357', title: '云南普洱茶饼 357g', seller: '山野茶园', price_fen: 23900, stock: 25, category: '茶叶' },
  { sku: 'TEA-MLH-100', title: '茉莉花茶 100g', seller: '山野茶园', price_fen: 3990, stock: 120, category: '茶叶' },
  { sku: 'TEA-CUP-01', title: '白瓷盖碗茶具套装', seller: '山野茶园', price_fen: 12900, stock: 8, category: '茶叶' },
  { sku: 'SILK-SCF-01', title: '桑蚕丝印花丝巾', seller: '江南丝绸坊', price_fen: 29900, stock: 30, category: '丝绸' },
  { sku: 'SILK-PLW-02', title: '真丝枕套（一对）', seller: '江南丝绸坊', price_fen: 19900, stock: 15, category: '丝绸' },
  { sku: 'SILK-FAN-03', title: '苏绣团扇', seller: '江南丝绸坊', price_fen: 8800, stock: 3, category: '丝绸' },
  { sku: 'SILK-TIE-04', title: '真丝领带', seller: '江南丝绸坊', price_fen: 15900, stock: 0, category: '丝绸' },
  { sku: 'GEEK-CBL-01', title: 'USB-C 编织数据线 1m', seller: '极客数码', price_fen: 2990, stock: 500, category: '数码' },
  { sku: 'GEEK-PB-10K', title: '10000mAh 移动电源', seller: '极客数码', price_fen: 9900, stock: 60, category: '数码' },
  { sku: 'GEEK-EAR-02', title: '蓝牙降噪耳机', seller: '极客数码', price_fen: 39900, stock: 12, category: '数码' },
  { sku: 'GEEK-KBD-87', title: '87 键机械键盘', seller: '极客数码', price_fen: 34900, stock: 5, category: '数码' },
  { sku: 'FARM-RICE-5', title: '五常稻花香大米 5kg', seller: '稻香农场', price_fen: 8990, stock: 80, category: '农产品' },
  { sku: 'FARM-HNY-500', title: '土蜂蜜 500g', seller: '稻香农场', price_fen: 6800, stock: 45, category: '农产品' },
  { sku: 'FARM-DATE-1', title: '新疆红枣 1kg', seller: '稻香农场', price_fen: 4500, stock: 70, category: '农产品' },
  {
    sku: 'WEAR-TEE-01',
    title: '纯棉圆领T恤',
    seller: '极客数码',
    price_fen: 7900,
    stock: 0,
    category: '服饰',
    description: '100% 新疆长绒棉，240g 重磅。\n黑色与白色，M / L / XL 三个尺码。',
    options: {
      names: ['颜色', '尺码'],
      variants: [
        { sku: 'WEAR-TEE-01-BK-M', values: ['黑色', 'M'], price_fen: 7900, stock: 10 },
        { sku: 'WEAR-TEE-01-BK-L', values: ['黑色', 'L'], price_fen: 7900, stock: 8 },
        { sku: 'WEAR-TEE-01-BK-XL', values: ['黑色', 'XL'], price_fen: 8900, stock: 5 },
        { sku: 'WEAR-TEE-01-WH-M', values: ['白色', 'M'], price_fen: 7900, stock: 10 },
        { sku: 'WEAR-TEE-01-WH-L', values: ['白色', 'L'], price_fen: 7900, stock: 0 },
        { sku: 'WEAR-TEE-01-WH-XL', values: ['白色', 'XL'], price_fen: 8900, stock: 5 },
      ],
    },
  },
  { sku: 'FARM-PIN-01', title: '一分钱体验装（测试用）', seller: '稻香农场', price_fen: 1, stock: 999, category: '农产品' },
];

/** The stock each SKU code (a variant's) starts with in the demo: what the ledger check starts from. */
export function seedStockBySku(): Record<string, number> {
  return Object.fromEntries(SEED_PRODUCTS.flatMap((p) => (p.options ? p.options.variants.map((v) => [v.sku, v.stock] as const) : [[p.sku, p.stock] as const])));
}

export function imagePathFor(sku: string): string {
  return `/img/products/${sku.toLowerCase()}.svg`;
}
