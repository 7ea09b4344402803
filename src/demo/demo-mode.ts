// `omnistream start --demo`: each demo brand gets an app key (its apps and readers register with
// it) and a viewer key (its dashboard link) unless it has them already, so the links stay the same
// from one start to the next; the console says where to look; the simulator sends the shoppers.
import { relative, isAbsolute } from 'node:path';
import type { KeyStore } from '../auth/key-store.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../telemetry/logger.js';
import { DEMO_DASHBOARD, readDemoBrands } from './demo-data.js';
import { ShopperSimulator } from './shopper-simulator.js';
import type { Brand } from './shopper-journeys.js';

export interface DemoBrandKeys {
  readonly tenant: string;
  readonly appKey: string;
  readonly viewerKey: string;
}

/** The brand's oldest live app key and tenant-bound viewer key, each made only when it has none. */
export async function ensureDemoKeys(keys: KeyStore, tenants: readonly string[]): Promise<DemoBrandKeys[]> {
  const result: DemoBrandKeys[] = [];
  for (const tenant of tenants) {
    const appKey = keys.appKeys().find((k) => k.tenant === tenant) ?? await keys.addAppKey(tenant);
    const viewerKey = keys.viewerKeys().find((k) => k.tenant === tenant) ?? await keys.addViewerKey(tenant);
    result.push({ tenant, appKey: appKey.key, viewerKey: viewerKey.key });
  }
  return result;
}

export interface DemoLinks {
  /** Where a person opens the server: localhost rather than a loopback or wildcard address. */
  readonly base: string;
  readonly brands: readonly { readonly tenant: string; readonly dashboard: string; readonly events: string }[];
}

/** The page the banner links to: the demo's dashboard, else the first one configured, else the landing page. */
function dashboardPath(config: Config): string {
  const names = Object.keys(config.dashboards);
  const name = names.includes(DEMO_DASHBOARD) ? DEMO_DASHBOARD : names[0];
  return name === undefined ? '/' : `/dashboards/${encodeURIComponent(name)}`;
}

export function demoLinks(config: Config, serverUrl: string, keys: readonly DemoBrandKeys[]): DemoLinks {
  const url = new URL(serverUrl);
  if (url.hostname === '127.0.0.1' || url.hostname === '[::1]') url.hostname = 'localhost';
  const base = url.origin;
  const path = dashboardPath(config);
  return {
    base,
    brands: keys.map((k) => ({
      tenant: k.tenant,
      dashboard: `${base}${path}?key=${encodeURIComponent(k.viewerKey)}`,
      events: `${base}/events?key=${encodeURIComponent(k.viewerKey)}`,
    })),
  };
}

/** How the person who ran `start` runs another command of the same installation. */
export function cliInvocation(argv1: string | undefined = process.argv[1], cwd = process.cwd()): string {
  if (argv1 === undefined || !/\.[cm]?js$/.test(argv1) || /[\\/]\.bin[\\/]/.test(argv1)) return 'omnistream';
  const rel = relative(cwd, argv1);
  return rel.startsWith('..') || isAbsolute(rel) ? 'omnistream' : `node ${rel}`;
}

/** The lines printed first: plain text a newcomer reads before any log line. */
export function demoBanner(links: DemoLinks, options: { readonly rate: number; readonly dataDir: string; readonly cli: string; readonly cwd?: string }): string {
  const rel = relative(options.cwd ?? process.cwd(), options.dataDir);
  const data = rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? options.dataDir : `./${rel}`;
  const width = Math.max(...links.brands.map((b) => b.tenant.length), 5);
  const lines = [
    '',
    `Omnistream retail demo: ${links.brands.length} brands, ${options.rate > 0 ? `shoppers simulated at ${options.rate} events/s (--rate N to change)` : 'no simulated shoppers (--rate 0)'}`,
    '',
  ];
  for (const b of links.brands) {
    lines.push(`  ${b.tenant.padEnd(width)}  dashboard    ${b.dashboard}`);
    lines.push(`  ${''.padEnd(width)}  live events  ${b.events}`);
  }
  lines.push(
    '',
    `  Connection strings, app keys and viewer keys:  ${options.cli} keys --data ${data}`,
    `  Data is kept in ${data} for the next start. Stop with Ctrl+C.`,
    '',
    '',
  );
  return lines.join('\n');
}

export interface RunningDemo {
  readonly keys: readonly DemoBrandKeys[];
  readonly banner: string;
  readonly simulator: ShopperSimulator | undefined;
  stop(): Promise<void>;
}

/** Sets up the demo brands' keys on a started server, and starts the simulator against `url`. */
export async function startDemo(options: { readonly config: Config; readonly keys: KeyStore; readonly url: string; readonly logger: Logger; readonly brands?: readonly Brand[] }): Promise<RunningDemo> {
  const { config, logger } = options;
  const brands = options.brands ?? await readDemoBrands();
  const keys = await ensureDemoKeys(options.keys, brands.map((b) => b.tenant));
  const banner = demoBanner(demoLinks(config, options.url, keys), { rate: config.demoRate, dataDir: config.dataDir, cli: cliInvocation() });
  const simulator = config.demoRate > 0
    ? new ShopperSimulator({
      url: options.url,
      rate: config.demoRate,
      brands: brands.map((brand) => ({ brand, appKey: keys.find((k) => k.tenant === brand.tenant)!.appKey })),
      logger: logger.child({ component: 'simulator' }),
    })
    : undefined;
  return { keys, banner, simulator, stop: async () => { await simulator?.stop(); } };
}
