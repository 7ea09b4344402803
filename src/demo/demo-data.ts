// Where the retail demo lives (demo/ at the package root: its config, queries, catalogue and
// stores) and its brands as the simulator uses them, read from the same CSV files the jobs join.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseCsvRows } from '../reference/reference-rows.js';
import type { Brand, Product, Store } from './shopper-journeys.js';

// src/demo/ under tsx and dist/demo/ once built both sit two levels below the package root.
export const DEMO_DIR = fileURLToPath(new URL('../../demo/', import.meta.url));
export const DEMO_CONFIG = `${DEMO_DIR}omnistream.yaml`;
/** The dashboard the demo prints links to. */
export const DEMO_DASHBOARD = 'retail';

const text = (row: Record<string, unknown>, column: string, file: string): string => {
  const value = row[column];
  if (typeof value !== 'string' || value === '') throw new Error(`${file}: a row has no ${column}`);
  return value;
};

/** The brands of the demo's catalogue and store list, in the order the files first name them. */
export async function readDemoBrands(dir = DEMO_DIR): Promise<Brand[]> {
  const catalogFile = `${dir}catalog.csv`;
  const storesFile = `${dir}stores.csv`;
  const [catalog, stores] = await Promise.all([
    readFile(catalogFile, 'utf8').then((t) => parseCsvRows(t, catalogFile)),
    readFile(storesFile, 'utf8').then((t) => parseCsvRows(t, storesFile)),
  ]);
  const brands = new Map<string, { products: Product[]; stores: Store[] }>();
  const brand = (tenant: string) => {
    let b = brands.get(tenant);
    if (!b) brands.set(tenant, (b = { products: [], stores: [] }));
    return b;
  };
  for (const row of catalog) {
    const price = Number(text(row, 'price', catalogFile));
    if (!Number.isFinite(price)) throw new Error(`${catalogFile}: ${String(row.sku)} has no price`);
    brand(text(row, 'tenant', catalogFile)).products.push({ sku: text(row, 'sku', catalogFile), name: text(row, 'name', catalogFile), category: text(row, 'category', catalogFile), price });
  }
  for (const row of stores) {
    const rooms = Number(text(row, 'fittingRooms', storesFile));
    brand(text(row, 'tenant', storesFile)).stores.push({ store: text(row, 'store', storesFile), name: text(row, 'name', storesFile), fittingRooms: Number.isInteger(rooms) && rooms > 0 ? rooms : 1 });
  }
  return [...brands].filter(([, b]) => b.products.length > 0).map(([tenant, b]) => ({ tenant, ...b }));
}
