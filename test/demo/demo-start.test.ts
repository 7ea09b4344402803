// `npm start` as a newcomer runs it (start --demo, a fresh data directory, here on a free port): the
// links come first as plain lines, every demo output has rows for both brands within seconds, no
// brand's rows name the other's products or stores, and the next start on the same data
// directory prints the same links (the same keys). `omnistream simulate` feeds a running server.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { FileKeyStore } from '../../src/auth/file-key-store.js';
import { signSasToken } from '../../src/auth/sas.js';
import { loadConfig } from '../../src/config/index.js';
import { DEMO_CONFIG, readDemoBrands } from '../../src/demo/demo-data.js';
import { eventually, type WireRow } from '../helpers/jobs.js';
import { tempDir } from '../helpers/server.js';
import { omnistream } from '../cli/run-cli.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

interface Demo {
  /** stdout up to and including the "omnistream ready" log line. */
  readonly head: string[];
  readonly url: string;
  /** Every stdout line so far. */
  readonly lines: string[];
  stop(): Promise<number | null>;
}

async function startDemo(dataDir: string, extra: string[] = []): Promise<Demo> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'start', '--demo', '--http-port', '0', '--data', dataDir, ...extra], {
    env: { ...process.env, OMNISTREAM_HTTP_HOST: '127.0.0.1', OMNISTREAM_OWNER_KEY: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const lines: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      if (line.startsWith('{') && (JSON.parse(line) as { msg?: string }).msg === 'omnistream ready') resolve((JSON.parse(line) as { url: string }).url);
    });
    void exited.then((code) => reject(new Error(`the demo exited (${String(code)}) before it was ready: ${stderr}`)));
  });
  return {
    head: [...lines], url, lines,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** The links the banner prints, by brand. */
function links(head: readonly string[]): Map<string, { dashboard: string; events: string }> {
  const found = new Map<string, { dashboard: string; events: string }>();
  let brand = '';
  for (const line of head) {
    const m = /^ {2}(\S*)\s+(dashboard|live events)\s+(http\S+)$/.exec(line);
    if (!m) continue;
    if (m[1]) brand = m[1];
    const entry = found.get(brand) ?? { dashboard: '', events: '' };
    entry[m[2] === 'dashboard' ? 'dashboard' : 'events'] = m[3]!;
    found.set(brand, entry);
  }
  return found;
}

test('npm start: the demo prints its links first, fills every demo output for both brands, keeps them apart, and keeps its keys', { timeout: 90_000 }, async (t) => {
  const dataDir = tempDir('omnistream-demo-');
  const brands = await readDemoBrands();
  const outputs = Object.entries(loadConfig({ file: DEMO_CONFIG }).outputs).filter(([, o]) => o.type === 'dashboard').map(([name]) => name);
  assert.ok(outputs.length >= 8, `the demo has its outputs: ${outputs.join(', ')}`);

  const started = Date.now();
  const first = await startDemo(dataDir, ['--rate', '80']);
  let second: Demo | undefined;
  try {
    // Plain lines first: no JSON log line before the links.
    const head = first.head;
    const firstJson = head.findIndex((l) => l.startsWith('{'));
    assert.match(head.slice(0, firstJson).join('\n'), /^\nOmnistream retail demo: 2 brands, shoppers simulated at 80 events\/s/);
    const port = new URL(first.url).port;
    const printed = links(head.slice(0, firstJson));
    assert.deepEqual([...printed.keys()], ['nordvik', 'solenne']);
    const keys = FileKeyStore.open(dataDir);
    for (const [tenant, l] of printed) {
      const m = new RegExp(`^http://localhost:${port}/dashboards/retail\\?key=(vk_[A-Za-z0-9_-]+)$`).exec(l.dashboard);
      assert.ok(m, `${tenant}'s dashboard link on the real port: ${l.dashboard}`);
      assert.equal(l.events, `http://localhost:${port}/events?key=${m[1]}`);
      assert.equal(keys.viewerKey(m[1]!)?.tenant, tenant, 'the key is the brand\'s own viewer key');
      assert.ok(keys.appKeys().some((k) => k.tenant === tenant), `${tenant} has an app key`);
    }
    assert.match(head.join('\n'), new RegExp(`Connection strings, app keys and viewer keys: +omnistream keys --data ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n`));

    const service = keys.policy('service')!;
    const token = signSasToken({ resource: 'localhost', key: service.primaryKey, keyName: 'service', expiry: Math.floor(Date.now() / 1000) + 600 });
    const rowsOf = async (output: string, query = ''): Promise<WireRow[]> => {
      const res = await fetch(`${first.url}/api/outputs/${output}?limit=10000${query}`, { headers: { authorization: token } });
      assert.equal(res.status, 200, output);
      return ((await res.json()) as { rows: WireRow[] }).rows;
    };
    const filled = await eventually('every demo output with rows for both brands', async () => {
      const all = await Promise.all(outputs.map(async (o) => [o, await rowsOf(o)] as const));
      return all.every(([, rows]) => brands.every((b) => rows.some((r) => r.tenant === b.tenant))) ? all : undefined;
    }, 28_000);
    const seconds = (Date.now() - started) / 1000;
    t.diagnostic(`every demo output had rows for both brands ${seconds.toFixed(1)} s after start`);

    // Nothing of one brand in the other's rows: no SKU, product name, store id or store name.
    const names = (tenant: string) => {
      const b = brands.find((x) => x.tenant === tenant)!;
      return new Set([...b.products.flatMap((p) => [p.sku, p.name]), ...b.stores.flatMap((s) => [s.store, s.name])]);
    };
    for (const [output, rows] of filled) {
      for (const r of rows) {
        const other = names(r.tenant === 'nordvik' ? 'solenne' : 'nordvik');
        for (const value of Object.values(r.row)) assert.ok(!(typeof value === 'string' && other.has(value)), `${output}: ${r.tenant}'s row names ${String(value)}`);
      }
    }
    const own = (await rowsOf('TopViewed', '&tenant=solenne')).map((r) => String(r.row.sku));
    assert.ok(own.length > 0 && own.every((sku) => names('solenne').has(sku)), 'solenne\'s top products are solenne\'s');
    // The printed viewer key opens the brand's rows only.
    const viewerKey = new URL(printed.get('nordvik')!.dashboard).searchParams.get('key')!;
    const viewed = await fetch(`${first.url}/api/outputs/Funnel?key=${viewerKey}`);
    assert.equal(viewed.status, 200);
    const funnel = ((await viewed.json()) as { rows: WireRow[] }).rows;
    assert.ok(funnel.length > 0 && funnel.every((r) => r.tenant === 'nordvik'));
    const f = funnel.at(-1)!.row as { viewed: number; triedOn: number; addedToCart: number; bought: number; conversion: number };
    assert.ok(f.viewed > 0 && f.conversion >= 0 && f.conversion <= 1, JSON.stringify(f));

    assert.equal(await first.stop(), 0, 'stops cleanly on SIGTERM');
    const log = first.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: string; msg: string; sent?: number });
    assert.deepEqual(log.filter((e) => e.level === 'error' || e.level === 'warn'), [], 'no warnings or errors');
    const stopped = log.find((e) => e.msg === 'shopper simulator stopped');
    assert.ok(stopped && stopped.sent! > 0, 'the simulator stopped, having sent events');

    // The next start on the same data directory prints the same links (another free port).
    second = await startDemo(dataDir, ['--rate', '0']);
    const again = links(second.head);
    const withoutPort = (l: string) => l.replace(/:\d+\//, ':PORT/');
    assert.deepEqual([...again].map(([t, l]) => [t, withoutPort(l.dashboard), withoutPort(l.events)]), [...printed].map(([t, l]) => [t, withoutPort(l.dashboard), withoutPort(l.events)]));
    assert.match(second.head.join('\n'), /no simulated shoppers \(--rate 0\)/);
    assert.equal(FileKeyStore.open(dataDir).viewerKeys().length, 2, 'no new viewer keys');

    // omnistream simulate feeds a running server with the data directory's app keys.
    const partitions = async () => {
      const res = await fetch(`${second!.url}/api/partitions`, { headers: { authorization: token } });
      return ((await res.json()) as { partitions: { lastEnqueuedSequenceNumber: number }[] }).partitions.reduce((n, p) => n + p.lastEnqueuedSequenceNumber, 0);
    };
    const before = await partitions();
    const simulated = await omnistream(['simulate', '--url', second.url, '--data', dataDir, '--rate', '100', '--duration', '1.5']);
    assert.equal(simulated.code, 0, simulated.stderr);
    assert.match(simulated.stdout, /"msg":"shopper simulator stopped".*"sent":\d+/);
    assert.ok(await partitions() > before + 50, 'the simulated events are in the log');
    const refused = await omnistream(['simulate', '--url', second.url, '--app-key', 'nordvik=ak_nope', '--duration', '1']);
    assert.equal(refused.code, 1, 'nothing accepted with a wrong app key');
    assert.match(refused.stdout, /registration answered 401/);
  } finally {
    await first.stop();
    await second?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
