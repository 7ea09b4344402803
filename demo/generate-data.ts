// Writes the retail demo's reference data: demo/catalog.csv (the SKUs of two retail brands) and
// demo/stores.csv (their stores and fitting rooms). Deterministic: the same seed gives the same
// files byte for byte, so the committed CSVs are this script's output and can be made again with
//
//   npx tsx demo/generate-data.ts
//
// Each brand has its own SKU prefix (NV-, SL-) and store prefix, so a row of the other brand is
// recognisable at a glance, and by the `tenant` column.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A retail brand of the demo: one tenant of the platform. */
interface BrandSpec {
  readonly tenant: string;
  readonly skuPrefix: string;
  readonly skuStart: number;
  /** The product brands (labels) the retailer sells. */
  readonly labels: readonly string[];
  readonly adjectives: readonly string[];
  /** Per category: what it is made of, what it is, and its price range. */
  readonly categories: Readonly<Record<string, { readonly materials: readonly string[]; readonly items: readonly string[]; readonly price: readonly [number, number] }>>;
  readonly skus: number;
  readonly stores: readonly (readonly [id: string, name: string, city: string, fittingRooms: number])[];
}

const BRANDS: readonly BrandSpec[] = [
  {
    tenant: 'nordvik',
    skuPrefix: 'NV',
    skuStart: 10_001,
    labels: ['Nordvik', 'Nordvik Trail', 'Fjellstad', 'Havbris'],
    adjectives: ['Fjord', 'Polar', 'Birch', 'Granite', 'Aurora', 'Skerry', 'Tundra', 'Glacier', 'Lofoten', 'Moss'],
    categories: {
      jackets: { materials: ['Down', 'Gore', 'Loden', 'Waxed', 'Insulated'], items: ['Parka', 'Anorak', 'Shell Jacket', 'Puffer', 'Field Jacket'], price: [149, 449] },
      knitwear: { materials: ['Merino', 'Lambswool', 'Alpaca', 'Cotton'], items: ['Crew Sweater', 'Cardigan', 'Turtleneck', 'Zip Sweater'], price: [69, 189] },
      shirts: { materials: ['Flannel', 'Oxford', 'Merino', 'Chambray'], items: ['Shirt', 'Overshirt', 'Base Layer'], price: [39, 99] },
      trousers: { materials: ['Stretch', 'Cord', 'Softshell', 'Twill'], items: ['Hiking Trousers', 'Chinos', 'Pants'], price: [59, 159] },
      footwear: { materials: ['Leather', 'Suede', 'Waterproof', 'Lightweight'], items: ['Hiking Boot', 'Trail Runner', 'Winter Boot'], price: [89, 229] },
      accessories: { materials: ['Wool', 'Knitted', 'Canvas', 'Fleece'], items: ['Beanie', 'Scarf', 'Gloves', 'Backpack'], price: [19, 119] },
    },
    skus: 156,
    stores: [
      ['NV-OSL-01', 'Nordvik Karl Johan', 'Oslo', 8],
      ['NV-BGO-01', 'Nordvik Bryggen', 'Bergen', 5],
      ['NV-STO-01', 'Nordvik Drottninggatan', 'Stockholm', 10],
      ['NV-CPH-01', 'Nordvik Strøget', 'Copenhagen', 6],
      ['NV-HEL-01', 'Nordvik Esplanadi', 'Helsinki', 4],
    ],
  },
  {
    tenant: 'solenne',
    skuPrefix: 'SL',
    skuStart: 20_001,
    labels: ['Solenne', 'Solenne Atelier', 'Maison Clair', 'Riviera Lin'],
    adjectives: ['Azur', 'Lavande', 'Marais', 'Soleil', 'Camargue', 'Opale', 'Provence', 'Ivoire', 'Corail', 'Sable'],
    categories: {
      dresses: { materials: ['Linen', 'Silk', 'Crepe', 'Jersey'], items: ['Wrap Dress', 'Slip Dress', 'Shirt Dress', 'Midi Dress'], price: [89, 289] },
      tops: { materials: ['Cotton', 'Silk', 'Linen', 'Poplin'], items: ['Blouse', 'Camisole', 'Tee', 'Tunic'], price: [35, 119] },
      skirts: { materials: ['Satin', 'Linen', 'Tweed', 'Denim'], items: ['Pleated Skirt', 'Midi Skirt', 'Mini Skirt'], price: [55, 149] },
      tailoring: { materials: ['Wool', 'Tweed', 'Gabardine', 'Linen'], items: ['Blazer', 'Trench Coat', 'Wide Trousers', 'Waistcoat'], price: [119, 389] },
      shoes: { materials: ['Leather', 'Suede', 'Canvas', 'Raffia'], items: ['Espadrilles', 'Ballet Flats', 'Mules', 'Ankle Boots'], price: [69, 219] },
      accessories: { materials: ['Straw', 'Silk', 'Leather', 'Woven'], items: ['Hat', 'Scarf', 'Tote Bag', 'Belt'], price: [25, 159] },
    },
    skus: 148,
    stores: [
      ['SL-PAR-01', 'Solenne Le Marais', 'Paris', 9],
      ['SL-PAR-02', 'Solenne Saint-Germain', 'Paris', 6],
      ['SL-LYS-01', 'Solenne Presqu\'île', 'Lyon', 5],
      ['SL-BOD-01', 'Solenne Sainte-Catherine', 'Bordeaux', 4],
      ['SL-MRS-01', 'Solenne Vieux-Port', 'Marseille', 5],
    ],
  },
];

/** mulberry32: a small deterministic PRNG, enough for made-up data. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** A price as retail writes them: ending in .95 or .00. */
function retailPrice(random: () => number, [low, high]: readonly [number, number]): string {
  const whole = Math.round(low + random() * (high - low));
  return random() < 0.6 ? `${whole - 1}.95` : `${whole}.00`;
}

export interface CatalogRow { sku: string; name: string; category: string; brand: string; price: string; tenant: string }
export interface StoreRow { store: string; name: string; city: string; tenant: string; fittingRooms: string }

export function generateCatalog(seed = 20_250_501): CatalogRow[] {
  const random = prng(seed);
  const rows: CatalogRow[] = [];
  for (const brand of BRANDS) {
    const names = new Set<string>();
    const categories = Object.keys(brand.categories);
    for (let i = 0; rows.filter((r) => r.tenant === brand.tenant).length < brand.skus; i++) {
      const category = categories[i % categories.length]!;
      const spec = brand.categories[category]!;
      const name = `${pick(random, brand.adjectives)} ${pick(random, spec.materials)} ${pick(random, spec.items)}`;
      if (names.has(name)) continue;
      names.add(name);
      rows.push({
        sku: `${brand.skuPrefix}-${brand.skuStart + names.size - 1}`,
        name,
        category,
        brand: pick(random, brand.labels),
        price: retailPrice(random, spec.price),
        tenant: brand.tenant,
      });
    }
  }
  return rows;
}

export function generateStores(): StoreRow[] {
  return BRANDS.flatMap((b) => b.stores.map(([store, name, city, fittingRooms]) => ({ store, name, city, tenant: b.tenant, fittingRooms: String(fittingRooms) })));
}

function csv<T extends object>(columns: readonly (keyof T & string)[], rows: readonly T[]): string {
  const cell = (v: unknown): string => {
    const text = String(v);
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return `${columns.join(',')}\n${rows.map((r) => columns.map((c) => cell(r[c])).join(',')).join('\n')}\n`;
}

/** The text of demo/catalog.csv and demo/stores.csv. */
export function renderDemoData(): { readonly catalog: string; readonly stores: string } {
  return {
    catalog: csv<CatalogRow>(['sku', 'name', 'category', 'brand', 'price', 'tenant'], generateCatalog()),
    stores: csv<StoreRow>(['store', 'name', 'city', 'tenant', 'fittingRooms'], generateStores()),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { catalog, stores } = renderDemoData();
  writeFileSync(new URL('./catalog.csv', import.meta.url), catalog);
  writeFileSync(new URL('./stores.csv', import.meta.url), stores);
  process.stdout.write(`demo/catalog.csv: ${generateCatalog().length} SKUs; demo/stores.csv: ${generateStores().length} stores\n`);
}
