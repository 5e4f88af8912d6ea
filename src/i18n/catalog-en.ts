import type { catalogZh } from './catalog-zh';

/** The catalog's words in English: the same keys as catalog-zh.ts. */
export const catalogEn: Record<keyof typeof catalogZh, string> = {
  'catalog.search': 'Search',
  'catalog.searchPlaceholder': 'Search products',
  'catalog.searchTitle': 'Search: “{query}”',
  'catalog.noMatch': 'No product matches “{query}”.',
  'catalog.categories': 'Categories',
  'catalog.all': 'All products',
  'catalog.priceFrom': 'from {price}',
  'catalog.hasOptions': 'Several options',
  'catalog.chooseOptions': 'Choose options',
  'catalog.pages': 'Pages',
  'catalog.prevPage': 'Previous page',
  'catalog.nextPage': 'Next page',
  'catalog.pageN': 'Page {page}',
  'catalog.breadcrumb': 'You are here',
  'catalog.description': 'Details',
  'catalog.error.noCategory': 'There is no such category.',
  'catalog.error.noPage': 'There is no such page.',
  'cart.chooseOption': '“{title}” comes in several options: choose one on its page first.',
  'products.error.stockNegative': 'Stock cannot go below zero.',
};
