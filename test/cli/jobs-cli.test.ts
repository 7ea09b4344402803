// `omnistream jobs …` as an operator runs it: real CLI processes against one real running server
// with a job and a refused job, found through the config file the server was started with.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { deviceResource, signSasToken } from '../../src/auth/sas.js';
import { main } from '../../src/cli.js';
import { serverUrl } from '../../src/cli/server-client.js';
import { buildConfig, loadConfig } from '../../src/config/index.js';
import { openKeyStore, openRegistry } from '../../src/storage.js';
import { eventually } from '../helpers/jobs.js';
import { spawnServer, type ServerProcess } from '../helpers/process.js';
import { tempDir } from '../helpers/server.js';
import { omnistream, type CliResult } from './run-cli.js';

interface Status { name: string; state: string; eventsIn: number; rowsOut: number; deadLetters: number }

const VIEWS = 'SELECT COUNT(*) AS n, System.Timestamp() AS t INTO Views FROM events GROUP BY TumblingWindow(second, 1)';

/** A port nothing listens on (taken from the system, then let go). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function usageError(r: CliResult, message: RegExp): void {
  assert.equal(r.code, 64, r.stderr);
  assert.match(r.stderr, message);
  assert.match(r.stderr, /\nusage: omnistream jobs list \[--json\]\n/);
}

describe('omnistream jobs against a running server', () => {
  const dir = tempDir();
  const file = join(dir, 'omnistream.yaml');
  let server: ServerProcess;
  let port: string;
  /** `omnistream jobs ARGS`, the server found from its config file (the port it picked given as a flag). */
  const jobs = (...args: string[]) => omnistream(['jobs', ...args, '--config', file, '--http-port', port]);
  const json = async <T>(...args: string[]): Promise<T> => {
    const r = await jobs(...args, '--json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as T;
  };

  before(async () => {
    writeFileSync(join(dir, 'broken.saql'), 'SELECT n\nINTO Views\nFROM events WHERE n ==== 1\n');
    writeFileSync(file, [
      'dataDir: ./state',
      'outputs:',
      '  Views: {type: dashboard}',
      'jobs:',
      `  views: {query: "${VIEWS}", eventOrdering: {lateArrival: 0s}}`,
      '  broken: {query: ./broken.saql}',
    ].join('\n'));
    server = await spawnServer(['--config', file]);
    port = new URL(server.url).port;
    // Events from a device: three readable ones, and one that is not JSON (a dead letter).
    const config = loadConfig({ file });
    const registry = await openRegistry(config);
    const device = await registry.create({ deviceId: 'web-1' });
    await registry.close();
    const authorization = signSasToken({ resource: deviceResource(config.hostName, 'web-1'), key: device.authentication.symmetricKey.primaryKey, expiry: Math.floor(Date.now() / 1000) + 600 });
    const post = (body: string, type: string) => fetch(`${server.url}/devices/web-1/messages/events`, { method: 'POST', headers: { authorization, 'content-type': type }, body });
    for (const body of ['{"page":"/a"}', '{"page":"/b"}', '{"page":"/c"}']) {
      await eventually('the server to take the event', async () => ((await post(body, 'application/json')).status === 204 ? true : undefined));
    }
    assert.equal((await post('not json at all', 'text/plain')).status, 204);
  });
  after(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  test('list: a table of jobs, and the refused one with FILE:LINE:COLUMN; --json is the API\'s answer; --url names the server', async () => {
    const [table, answer, viaUrl] = await Promise.all([
      jobs('list'),
      json<{ jobs: Status[]; refused: Array<{ job: string; at: string; message: string }>; references: unknown[] }>('list'),
      omnistream(['jobs', 'list', '--url', server.url, '--config', file]),
    ]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^JOB +STATE +WATERMARK +LAG +EVENTS IN +ROWS OUT +DEAD LETTERS +LAST ERROR$/m);
    assert.match(table.stdout, /^views +running +\S+ +\d+ +\d+ +\d+ +\d+ +-$/m);
    const at = `${join(dir, 'broken.saql')}:3:\\d+`;
    assert.match(table.stdout, new RegExp(`^refused at start:\\n {2}broken {2}${at}: SYNTAX_ERROR: .+$`, 'm'));
    assert.deepEqual(answer.jobs.map((j) => [j.name, j.state]), [['views', 'running']]);
    assert.equal(answer.refused[0]!.job, 'broken');
    assert.match(answer.refused[0]!.at, new RegExp(`^${at}$`));
    assert.deepEqual(answer.references, []);
    assert.equal(viaUrl.code, 0, viaUrl.stderr);
    assert.match(viaUrl.stdout, /^views +running /m);
  });

  test('status: the summary, once the job has read the events and closed a window; --json is the status', async () => {
    const status = await eventually('a window row and the dead letter', async () => {
      const s = await json<Status>('status', 'views');
      return s.eventsIn >= 4 && s.rowsOut >= 1 && s.deadLetters >= 1 ? s : undefined;
    }, 20_000);
    assert.equal(status.state, 'running');
    const r = await jobs('status', 'views');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^views: running, per-tenant\n/);
    for (const line of [/^ {2}watermark +\d{4}-\d\d-\d\dT[\d:.]+Z$/m, /^ {2}input lag +\d+ unread$/m, /^ {2}events in +4$/m, /^ {2}rows out +[1-9]\d*$/m, /^ {2}dead letters +1$/m, /^ {2}last error +none$/m]) {
      assert.match(r.stdout, line);
    }
  });

  test('stop, start and replay --from earliest answer with the job\'s status', async () => {
    const stopped = await json<Status>('stop', 'views');
    assert.equal(stopped.state, 'stopped');
    const [listed, shown] = await Promise.all([jobs('list'), jobs('status', 'views')]);
    assert.match(listed.stdout, /^views +stopped /m);
    assert.match(shown.stdout, /^views: stopped, per-tenant\n/);
    const started = await jobs('start', 'views');
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /^views: running, per-tenant\n {2}clock /);
    const replayed = await jobs('replay', 'views', '--from', 'earliest');
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.match(replayed.stdout, /^views replays from earliest\nviews: running, per-tenant\n/);
    await eventually('the replay to read the events again', async () => ((await json<Status>('status', 'views')).eventsIn >= 4 ? true : undefined));
    const again = await json<Status>('replay', 'views', '--from', new Date(Date.now() - 60_000).toISOString());
    assert.equal(again.name, 'views');
  });

  test('deadletters: each with its reason, where it came from and its body; --limit and --json', async () => {
    const [text, page] = await Promise.all([
      jobs('deadletters', 'views'),
      json<{ output: string; deadLetters: Array<Record<string, unknown>> }>('deadletters', 'views', '--limit', '1'),
    ]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^\d+ dead letters? of views \(output \$deadletters\), oldest first:\n/);
    assert.match(text.stdout, /^\d{4}-[\d-]+T[\d:.]+Z {2}tenant default: the body is not JSON/m);
    assert.match(text.stdout, /^ {2}partition \d+ {2}sequenceNumber \d+ .*deviceId web-1/m);
    assert.match(text.stdout, /^ {2}body "not json at all"$/m);
    assert.equal(page.output, '$deadletters');
    assert.equal(page.deadLetters.length, 1);
    assert.equal(page.deadLetters[0]!.deviceId, 'web-1');
  });

  test('outputs: each output, its kind and the jobs writing it', async () => {
    const [text, answer] = await Promise.all([jobs('outputs'), json<{ outputs: Array<{ name: string; kind: string; jobs: string[] }> }>('outputs')]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^OUTPUT +KIND +JOBS +DELIVERED +BACKLOG +FAILURES +LAST ERROR$/m);
    assert.match(text.stdout, /^Views +dashboard +views +- /m);
    assert.deepEqual(answer.outputs.find((o) => o.name === 'Views'), { name: 'Views', kind: 'dashboard', jobs: ['views'], delivery: null });
  });

  test('the server\'s refusals exit 1 with its message', async () => {
    const other = join(dir, 'elsewhere');
    await (await openKeyStore(buildConfig({ dataDir: other }))).close();
    const [unknown, refused, tooMany, wrongKeys] = await Promise.all([
      jobs('status', 'nope'),
      jobs('start', 'broken'),
      jobs('deadletters', 'views', '--limit', '5000'),
      omnistream(['jobs', 'list', '--data', other, '--http-port', port]),
    ]);
    assert.deepEqual(unknown, { code: 1, stdout: '', stderr: 'omnistream: No job named \'nope\'\n' });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`^omnistream: Job 'broken' was refused at start: ${join(dir, 'broken.saql')}:3:\\d+: SYNTAX_ERROR`));
    assert.equal(tooMany.code, 1);
    assert.match(tooMany.stderr, /^omnistream: limit must be an integer from 1 to 1000/);
    assert.equal(wrongKeys.code, 1);
    assert.match(wrongKeys.stderr, /invalid signature/);
    assert.match(wrongKeys.stderr, new RegExp(`^omnistream: the token was signed with the 'service' policy's key in ${other}; is that the data directory of the server at http://127\\.0\\.0\\.1:${port}\\?`, 'm'));
  });

  test('no server at the address: exit 1 naming it; no data directory: exit 1 saying so', async () => {
    const free = await closedPort();
    const missing = join(dir, 'missing');
    const [byUrl, byPort, noData] = await Promise.all([
      omnistream(['jobs', 'list', '--url', `http://127.0.0.1:${free}`, '--config', file]),
      omnistream(['jobs', 'outputs', '--config', file, '--http-port', String(free)]),
      omnistream(['jobs', 'list', '--data', missing, '--http-port', port]),
    ]);
    for (const r of [byUrl, byPort]) {
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, new RegExp(`^omnistream: cannot reach the server at http://127\\.0\\.0\\.1:${free} \\(connection refused\\): is \`omnistream start\` running there\\?`));
    }
    assert.equal(noData.code, 1);
    assert.match(noData.stderr, new RegExp(`^omnistream: no data directory at ${missing}, so no key to sign a token with`));
  });

  test('usage mistakes exit 64 with the usage, before any server is asked', async () => {
    usageError(await jobs('status'), /^omnistream: status needs a job name\n/);
    // The rest in process: the same entry point, without a process each.
    const run = async (...args: string[]): Promise<CliResult> => {
      let stdout = '';
      let stderr = '';
      const sink = (write: (text: string) => void) => new Writable({ write: (chunk: Buffer, _encoding, done) => { write(chunk.toString()); done(); } });
      const code = await main(['jobs', ...args, '--config', file], { stdout: sink((t) => { stdout += t; }), stderr: sink((t) => { stderr += t; }) });
      return { code, stdout, stderr };
    };
    const cases: Array<[string[], RegExp]> = [
      [['replay', 'views'], /^omnistream: replay needs --from earliest\|latest\|ISO-TIME\|N,N,…\n/],
      [['replay', 'views', '--from', 'yesterday'], /^omnistream: --from takes earliest, latest, an ISO 8601 time .* not 'yesterday'\n/],
      [['deadletters', 'views', '--limit', 'ten'], /^omnistream: --limit takes a whole number .* not 'ten'\n/],
      [['list', 'views'], /^omnistream: unexpected argument 'views': list takes no job name\n/],
      [['stat', 'views'], /^omnistream: unknown jobs action 'stat'; did you mean 'start'\?\n/],
      [[], /^omnistream: missing action: list, status/],
      [['status', 'views', '--from', 'earliest'], /^omnistream: --from goes with replay\n/],
      [['list', '--url', 'ftp://x'], /^omnistream: --url takes an http:\/\/ or https:\/\/ address/],
      [['list', '--http-port', '0'], /^omnistream: http\.port is 0, so the server picked a free port; give its address with --url URL\n/],
    ];
    for (const [args, message] of cases) usageError(await run(...args), message);
  });

  test('help: usage, the flags and examples come from the command table', async () => {
    const r = await omnistream(['help', 'jobs']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^usage: omnistream jobs list \[--json\]\n {7}omnistream jobs status NAME/m);
    assert.match(r.stdout, /^ {2}--url URL +the server's address/m);
    assert.match(r.stdout, /^ {2}omnistream jobs replay views-by-category --from 2025-05-01T09:00:00Z$/m);
  });
});

describe('where the jobs command finds the server', () => {
  const dir = tempDir();
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('as start would listen: its plain HTTP port, a wildcard address on 127.0.0.1, a certificate changes nothing; --url as given, under its path', () => {
    mkdirSync(dir, { recursive: true });
    const url = (http: Record<string, unknown>, given?: string) => serverUrl(buildConfig({ dataDir: dir, http }), given).href;
    assert.equal(url({ port: 9000 }), 'http://127.0.0.1:9000/');
    assert.equal(url({ host: '::', port: 9000 }), 'http://127.0.0.1:9000/');
    assert.equal(url({ host: '::1', port: 8080, httpsPort: 443, tlsCert: 'c.pem', tlsKey: 'k.pem' }), 'http://[::1]:8080/');
    assert.equal(url({ host: 'hub.example.com', port: 80, httpsPort: 8443 }), 'http://hub.example.com/');
    assert.equal(url({ port: 0 }, 'https://analytics.example.com/omnistream?x=1'), 'https://analytics.example.com/omnistream/');
  });
});
