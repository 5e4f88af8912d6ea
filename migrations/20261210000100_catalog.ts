import type { Knex } from 'knex';

// The catalog a merchant runs from the admin (issue 25):
// - categories; a product gets a category, a plain-text description, a state (on_sale, off_sale,
//   archived: never deleted once sold), option names (规格, e.g. ["颜色", "尺码"]), an uploaded image;
// - product_variants: what is sold and counted. Every product has at least one; a product without
//   options has exactly one with no option values. Each variant has its own SKU code, price and
//   stock. Existing products become their own single variant WITH THE SAME ID, so a cart kept in
//   a session (variant id -> quantity) and old order lines stay right.
// - stock_movements: every change of a variant's stock with its reason and who made it; the
//   stock is always their sum. Existing stock is opened as 'initial' (what the product started
//   with: on the shelf + held + sold by orders), and the units orders took as 'sale' lines, so the
//   ledger check's conservation holds from the first day.
// - order_items name the variant (and keep its SKU code and option label as sold);
// - images: the resized files themselves (bytea), so every instance serves the same ones;
// - search: pg_trgm's trigram index on titles (works on PGlite and a server).
// products.stock moves to the variants and is dropped: a statement still writing it fails loudly
// rather than changing a number nobody reads. products.price_fen stays as the lowest price of the
// product's variants (what a list shows: "from ¥x").
// Landed migrations are never edited: change the schema with a new file.

export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE EXTENSION IF NOT EXISTS pg_trgm');

  await knex.schema.createTable('categories', (t) => {
    t.increments('id').primary();
    t.string('name', 40).notNullable().unique();
    t.integer('position').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.alterTable('products', (t) => {
    t.integer('category_id').references('id').inTable('categories');
    t.text('description').notNullable().defaultTo('');
    t.string('status', 16).notNullable().defaultTo('on_sale');
    t.jsonb('option_names').notNullable().defaultTo('[]');
    t.string('image_key', 64);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check("status IN ('on_sale', 'off_sale', 'archived')", [], 'products_status_known');
    t.check('length(description) <= 5000', [], 'products_description_length');
  });

  await knex.schema.createTable('product_variants', (t) => {
    t.increments('id').primary();
    t.integer('product_id').notNullable().references('id').inTable('products');
    t.string('sku', 64).notNullable().unique();
    // the value of each of the product's option names, in their order ([] for a product without options)
    t.jsonb('option_values').notNullable().defaultTo('[]');
    t.bigInteger('price_fen').notNullable();
    t.integer('stock').notNullable().defaultTo(0);
    // a retired combination stays (orders name it) but is no longer sold
    t.boolean('active').notNullable().defaultTo(true);
    t.integer('position').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check('price_fen > 0', [], 'product_variants_price_positive');
    t.check('stock >= 0', [], 'product_variants_stock_not_negative');
    t.index(['product_id', 'position'], 'product_variants_product_idx');
  });

  await knex.schema.createTable('stock_movements', (t) => {
    t.bigIncrements('id').primary();
    t.integer('variant_id').notNullable().references('id').inTable('product_variants');
    t.integer('delta').notNullable();
    t.integer('stock_after').notNullable();
    t.string('reason', 16).notNullable();
    t.bigInteger('order_id').references('id').inTable('orders');
    t.string('operator', 64).notNullable();
    t.string('note', 200);
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check('delta <> 0', [], 'stock_movements_delta_nonzero');
    t.check('stock_after >= 0', [], 'stock_movements_stock_after_not_negative');
    t.check("reason IN ('initial', 'sale', 'release', 'cancel', 'retake', 'return', 'count', 'import')", [], 'stock_movements_reason_known');
    t.index(['variant_id', 'id'], 'stock_movements_variant_idx');
    t.index(['order_id'], 'stock_movements_order_idx');
  });

  // every existing product becomes its own one variant, with the same id
  await knex.raw(`INSERT INTO product_variants (id, product_id, sku, option_values, price_fen, stock, created_at, updated_at)
                  SELECT id, id, sku, '[]'::jsonb, price_fen, stock, created_at, created_at FROM products`);
  await knex.raw(`SELECT setval(pg_get_serial_sequence('product_variants', 'id'), coalesce((SELECT max(id) FROM product_variants), 0) + 1, false)`);

  await knex.schema.alterTable('order_items', (t) => {
    t.integer('variant_id').references('id').inTable('product_variants');
    t.string('sku', 64);
    t.string('variant_label', 100).notNullable().defaultTo('');
  });
  await knex.raw('UPDATE order_items i SET variant_id = i.product_id, sku = p.sku FROM products p WHERE p.id = i.product_id');
  await knex.raw('ALTER TABLE order_items ALTER COLUMN variant_id SET NOT NULL');
  await knex.schema.alterTable('order_items', (t) => {
    t.index(['variant_id'], 'order_items_variant_idx');
  });

  // the opening stock: on the shelf + what orders hold or sold (less what a late payment could not
  // take again); then one 'sale' line per order line that took units
  const taken = `SELECT i.variant_id, i.order_id, (i.quantity - i.stock_short) AS units
                   FROM order_items i JOIN orders o ON o.id = i.order_id
                  WHERE o.status IN ('unpaid', 'paid', 'refunded') AND i.quantity > i.stock_short`;
  await knex.raw(`INSERT INTO stock_movements (variant_id, delta, stock_after, reason, operator, note, at)
                  SELECT v.id, v.stock + coalesce(t.units, 0), v.stock + coalesce(t.units, 0), 'initial', 'system', 'opening stock (migration)', now()
                    FROM product_variants v LEFT JOIN (SELECT variant_id, sum(units)::int AS units FROM (${taken}) x GROUP BY variant_id) t ON t.variant_id = v.id
                   WHERE v.stock + coalesce(t.units, 0) > 0`);
  await knex.raw(`INSERT INTO stock_movements (variant_id, delta, stock_after, reason, order_id, operator, note, at)
                  SELECT x.variant_id, -x.units, (SELECT v.stock FROM product_variants v WHERE v.id = x.variant_id), 'sale', x.order_id, 'system', 'order placed before stock movements (migration)', now()
                    FROM (SELECT variant_id, order_id, sum(units)::int AS units FROM (${taken}) z GROUP BY variant_id, order_id) x`);

  await knex.schema.alterTable('products', (t) => {
    t.dropChecks(['products_stock_not_negative']);
  });
  await knex.schema.alterTable('products', (t) => {
    t.dropColumn('stock');
    t.index(['status', 'id'], 'products_status_idx');
    t.index(['category_id', 'status', 'id'], 'products_category_idx');
  });
  await knex.raw('CREATE INDEX products_title_trgm_idx ON products USING gin (title gin_trgm_ops)');

  await knex.schema.createTable('images', (t) => {
    // sha-256 of the uploaded file (hex, first 32): the same upload is stored once
    t.string('key', 64).notNullable();
    // the width the page asks for: 'w240', 'w480', 'w960'
    t.string('size', 8).notNullable();
    t.string('content_type', 32).notNullable();
    t.binary('bytes').notNullable();
    t.integer('width').notNullable();
    t.integer('height').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['key', 'size']);
  });

  // a CSV import waits here between its preview and its apply (the lines are applied as previewed)
  await knex.schema.createTable('catalog_imports', (t) => {
    t.string('id', 32).primary();
    t.string('operator', 64).notNullable();
    t.text('csv').notNullable();
    t.integer('lines').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('applied_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('catalog_imports');
  await knex.schema.dropTableIfExists('images');
  await knex.raw('DROP INDEX IF EXISTS products_title_trgm_idx');
  await knex.schema.alterTable('products', (t) => {
    t.integer('stock').notNullable().defaultTo(0);
  });
  await knex.raw('UPDATE products p SET stock = coalesce((SELECT sum(v.stock) FROM product_variants v WHERE v.product_id = p.id), 0)');
  await knex.schema.alterTable('products', (t) => {
    t.check('stock >= 0', [], 'products_stock_not_negative');
    t.dropIndex(['status', 'id'], 'products_status_idx');
    t.dropIndex(['category_id', 'status', 'id'], 'products_category_idx');
  });
  await knex.schema.alterTable('order_items', (t) => {
    t.dropIndex(['variant_id'], 'order_items_variant_idx');
    t.dropColumn('variant_label');
    t.dropColumn('sku');
    t.dropColumn('variant_id');
  });
  await knex.schema.dropTableIfExists('stock_movements');
  await knex.schema.dropTableIfExists('product_variants');
  await knex.schema.alterTable('products', (t) => {
    t.dropChecks(['products_status_known', 'products_description_length']);
    t.dropColumn('updated_at');
    t.dropColumn('image_key');
    t.dropColumn('option_names');
    t.dropColumn('status');
    t.dropColumn('description');
    t.dropColumn('category_id');
  });
  await knex.schema.dropTableIfExists('categories');
}
