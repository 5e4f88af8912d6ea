/** The demo catalog loaded on first start (when `products` is empty). Prices are fen. */
export interface SeedProduct {
  sku: string;
  title: string;
  seller: string;
  price_fen: number;
  stock: number;
}

export const SEED_PRODUCTS: readonly SeedProduct[] = [
  { sku: 'TEA-LJ-250', title: '明前西湖龙井 250g', seller: '山野茶园', price_fen: 16800, stock: 40 },
  { sku: 'TEA-PE-357', title: '云南普洱茶饼 357g', seller: '山野茶园', price_fen: 23900, stock: 25 },
  { sku: 'TEA-MLH-100', title: '茉莉花茶 100g', seller: '山野茶园', price_fen: 3990, stock: 120 },
  { sku: 'TEA-CUP-01', title: '白瓷盖碗茶具套装', seller: '山野茶园', price_fen: 12900, stock: 8 },
  { sku: 'SILK-SCF-01', title: '桑蚕丝印花丝巾', seller: '江南丝绸坊', price_fen: 29900, stock: 30 },
  { sku: 'SILK-PLW-02', title: '真丝枕套（一对）', seller: '江南丝绸坊', price_fen: 19900, stock: 15 },
  { sku: 'SILK-FAN-03', title: '苏绣团扇', seller: '江南丝绸坊', price_fen: 8800, stock: 3 },
  { sku: 'SILK-TIE-04', title: '真丝领带', seller: '江南丝绸坊', price_fen: 15900, stock: 0 },
  { sku: 'GEEK-CBL-01', title: 'USB-C 编织数据线 1m', seller: '极客数码', price_fen: 2990, stock: 500 },
  { sku: 'GEEK-PB-10K', title: '10000mAh 移动电源', seller: '极客数码', price_fen: 9900, stock: 60 },
  { sku: 'GEEK-EAR-02', title: '蓝牙降噪耳机', seller: '极客数码', price_fen: 39900, stock: 12 },
  { sku: 'GEEK-KBD-87', title: '87 键机械键盘', seller: '极客数码', price_fen: 34900, stock: 5 },
  { sku: 'FARM-RICE-5', title: '五常稻花香大米 5kg', seller: '稻香农场', price_fen: 8990, stock: 80 },
  { sku: 'FARM-HNY-500', title: '土蜂蜜 500g', seller: '稻香农场', price_fen: 6800, stock: 45 },
  { sku: 'FARM-DATE-1', title: '新疆红枣 1kg', seller: '稻香农场', price_fen: 4500, stock: 70 },
  { sku: 'FARM-PIN-01', title: '一分钱体验装（测试用）', seller: '稻香农场', price_fen: 1, stock: 999 },
];

export function imagePathFor(sku: string): string {
  return `/img/products/${sku.toLowerCase()}.svg`;
}
