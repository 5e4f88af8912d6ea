/**
 * The catalog's words (issue 25), apart from the older dictionaries so that merges do not collide:
 * the shopper's catalog (catalog., cart.), the admin's products, stock, images, import and shop
 * settings (products., stock., media., import., settings., search.). Same keys in catalog-en.ts.
 */
export const catalogZh = {
  'catalog.search': '搜索',
  'catalog.searchPlaceholder': '搜索商品名称',
  'catalog.searchTitle': '搜索“{query}”',
  'catalog.noMatch': '没有找到与“{query}”相关的商品。',
  'catalog.categories': '商品分类',
  'catalog.all': '全部商品',
  'catalog.priceFrom': '{price} 起',
  'catalog.hasOptions': '多种规格可选',
  'catalog.chooseOptions': '选择规格',
  'catalog.pages': '翻页',
  'catalog.prevPage': '上一页',
  'catalog.nextPage': '下一页',
  'catalog.pageN': '第 {page} 页',
  'catalog.breadcrumb': '所在位置',
  'catalog.description': '商品详情',
  'catalog.error.noCategory': '没有这个商品分类。',
  'catalog.error.noPage': '没有这一页。',
  'cart.chooseOption': '“{title}”有多种规格，请先在商品页选择规格。',
  'products.error.stockNegative': '库存不能小于零。',
} as const;
