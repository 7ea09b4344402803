// The one table of commands. Each declares its usage, flags and examples; parsing, help and
// suggestions all come from here. A new command (jobs, recs) is one more entry and one body module.
import { describeDefault, nearestName, SETTINGS, walkSettings } from '../config/index.js';
import { defineCommand, type Command, type FlagSpec, type FlagSpecs } from './command.js';
import { synopsis } from './help.js';

const CONFIG_FLAG = {
  type: 'string', value: 'FILE', description: 'read settings from FILE, YAML or JSON (docs/operations.md lists every setting)',
} as const satisfies FlagSpec;

/** A flag for every setting that declares one, described by the setting itself. */
const SETTING_FLAGS: Readonly<Record<string, FlagSpec>> = Object.fromEntries([...walkSettings(SETTINGS)].flatMap(({ path, node }) => {
  if (node.kind !== 'setting' || !node.flag) return [];
  const setting = path.join('.');
  const facts = [`setting ${setting}`, ...(node.env ? [`env ${node.env}`] : []), `default ${describeDefault(node)}`].join('; ');
  const spec: FlagSpec = { type: node.type === 'boolean' ? 'boolean' : 'string', value: node.placeholder, description: `${node.doc} (${facts})`, setting };
  return [[node.flag, spec]];
}));

/** --config, --data, and --db/--db-schema: what a command that opens the stores takes. */
const STORAGE_FLAGS = { config: CONFIG_FLAG, data: SETTING_FLAGS.data!, db: SETTING_FLAGS.db!, 'db-schema': SETTING_FLAGS['db-schema']! } satisfies FlagSpecs;

export const START_FLAGS = { config: CONFIG_FLAG, ...SETTING_FLAGS } satisfies FlagSpecs;

export const KEYS_FLAGS = {
  ...STORAGE_FLAGS,
  json: { type: 'boolean', description: 'print JSON: {"hostName","policies":{…},"appKeys":[…],"viewerKeys":[…]}, or the new key' },
  tenant: { type: 'string', value: 'NAME', description: 'the tenant (retail brand) a new app or viewer key belongs to; a viewer key without one sees every tenant' },
} as const satisfies FlagSpecs;

export const DEVICE_FLAGS = {
  ...STORAGE_FLAGS,
  tenant: { type: 'string', value: 'NAME', description: 'the tenant of a new device (default: default)' },
  kind: { type: 'string', value: 'KIND', description: 'what a new device is: browser, app, sensor…' },
  disabled: { type: 'boolean', description: 'create the device disabled' },
} as const satisfies FlagSpecs;

export const TOKEN_FLAGS = {
  ...STORAGE_FLAGS,
  device: { type: 'string', value: 'ID', description: 'a token for this registered device' },
  policy: { type: 'string', value: 'NAME', description: 'a token for this shared access policy (iothubowner, service…)' },
  ttl: { type: 'string', value: 'SECONDS', description: 'lifetime of the token, 1 to 31622400 seconds (default 3600)' },
} as const satisfies FlagSpecs;

export const JOBS_FLAGS = {
  ...STORAGE_FLAGS,
  'host-name': SETTING_FLAGS['host-name']!,
  'http-port': SETTING_FLAGS['http-port']!,
  url: { type: 'string', value: 'URL', description: 'the server\'s address (default: where start with these settings listens, https with TLS)' },
  json: { type: 'boolean', description: 'print the server\'s JSON answer as it came' },
  from: { type: 'string', value: 'POSITION', description: 'replay from: earliest, latest, an ISO time with a zone, or N,N,… a sequence number per partition' },
  limit: { type: 'string', value: 'N', description: 'deadletters: how many of the most recent, 1 to 1000 (default 100)' },
} as const satisfies FlagSpecs;

export const SIMULATE_FLAGS = {
  ...STORAGE_FLAGS,
  'http-port': SETTING_FLAGS['http-port']!,
  url: { type: 'string', value: 'URL', description: 'the server\'s address (default: where start with these settings listens)' },
  rate: SETTING_FLAGS.rate!,
  'app-key': { type: 'string', value: 'TENANT=KEY', repeatable: true, description: 'the app key a demo brand\'s devices register with (default: the data directory\'s app key of each demo brand)' },
  duration: { type: 'string', value: 'SECONDS', description: 'stop after this long (default: at SIGINT or SIGTERM)' },
} as const satisfies FlagSpecs;

export const QUERY_RUN_FLAGS = {
  input: { type: 'string', value: 'NAME=FILE', repeatable: true, description: 'the events of input NAME: a JSON array or JSON lines' },
  reference: { type: 'string', value: 'NAME=FILE', repeatable: true, description: 'reference data NAME: CSV with a header row, or JSON' },
  'late-arrival-tolerance': { type: 'string', value: 'D', description: 'how late an event may arrive (default 5s; -1 waits indefinitely)' },
  'out-of-order-tolerance': { type: 'string', value: 'D', description: 'how far out of order events may come (default 0s)' },
  'out-of-order-action': { type: 'string', value: 'adjust|drop', choices: ['adjust', 'drop'], description: 'what happens to an event beyond the tolerances (default adjust)' },
  'on-bad-line': { type: 'string', value: 'skip|fail', choices: ['skip', 'fail'], description: 'what a malformed input line does (default skip, with a warning)' },
  udf: { type: 'string', value: 'NAME=FILE.js', repeatable: true, description: 'a JavaScript function the query calls as udf.NAME(…): a file holding one function' },
  uda: { type: 'string', value: 'NAME=FILE.js', repeatable: true, description: 'a JavaScript aggregate the query calls as uda.NAME(…): a file holding function main()' },
  'function-time-limit': { type: 'string', value: 'D', description: 'how long one call of a JavaScript function may run before it is stopped (default 100ms)' },
} as const satisfies FlagSpecs;

export const RECS_FLAGS = {
  config: { ...CONFIG_FLAG, description: 'the recommendations settings (events, weights, fields, half-life) from FILE, as the server reads them' },
  input: { type: 'string', value: 'FILE', description: 'the events: JSON lines of feed messages ({"tenant","deviceId","enqueuedTimeUtc","body"}) or of bare event bodies' },
  'test-fraction': { type: 'string', value: 'F', description: 'the last fraction of each shopper\'s events held out for testing (default 0.2)' },
  k: { type: 'string', value: 'N', description: 'the length of each list scored, 1 to 100 (default 10)' },
} as const satisfies FlagSpecs;

export const CONFIG_FLAGS = {
  ...START_FLAGS,
  into: { type: 'string', value: 'FILE', description: 'docs: replace the settings table between its markers in this markdown file' },
} satisfies FlagSpecs;

export const COMMANDS: readonly Command[] = [
  defineCommand({
    name: 'start',
    summary: 'run the platform (gateway, log, feed) until SIGINT or SIGTERM',
    usage: [synopsis(START_FLAGS)],
    details: [
      'Settings: defaults < --config FILE < OMNISTREAM_* variables < flags.',
      'Every setting, its variable and its flag: docs/operations.md, or omnistream config docs.',
      '--demo without --config runs the retail demo (demo/omnistream.yaml): two brands, each with an app key and a viewer key,',
      'and shoppers simulated at --rate events/s through the HTTP routes; it prints each brand\'s dashboard link first.',
      'The plain HTTP port is always on; --https-port, --mqtts-port and --mqtt-port add listeners (IoT Hub\'s are 443 and 8883).',
      'TLS listeners use --tls-cert/--tls-key, or a self-signed certificate generated into DATA/tls/cert.pem for --host-name,',
      'localhost and 127.0.0.1; clients trust it with NODE_EXTRA_CA_CERTS=DATA/tls/cert.pem (docs/mqtt.md).',
    ],
    maxArguments: 0,
    flags: START_FLAGS,
    examples: [
      'omnistream start --demo', 'omnistream start --demo --rate 200 --data /tmp/omnistream-demo', 'omnistream start --config omnistream.yaml --http-port 9000',
      'omnistream start --host-name localhost --https-port 443 --mqtts-port 8883 --mqtt-port 1884',
    ],
    body: async () => (await import('./start.js')).startCommand,
  }),
  defineCommand({
    name: 'keys',
    summary: 'show the policies\' connection strings, the app keys and the dashboard links; add and revoke app and viewer keys',
    usage: ['[--json]', 'add-app --tenant NAME [--json]', 'revoke-app KEY', 'add-viewer [--tenant NAME] [--json]', 'revoke-viewer KEY'],
    details: [
      'App keys are public: pages and apps register devices with them. Viewer keys open the dashboards and the',
      'output APIs read only; a viewer key bound to a tenant sees only that tenant\'s rows.',
    ],
    actions: ['add-app', 'revoke-app', 'add-viewer', 'revoke-viewer'],
    maxArguments: 2,
    flags: KEYS_FLAGS,
    examples: ['omnistream keys --data ./data', 'omnistream keys add-app --tenant brand-b', 'omnistream keys add-viewer --tenant brand-b', 'omnistream keys revoke-app ak_…'],
    body: async () => (await import('./keys.js')).keysCommand,
  }),
  defineCommand({
    name: 'device',
    summary: 'create, read, list, enable, disable and delete devices, as the registry REST API does',
    usage: ['create ID [--tenant NAME] [--kind KIND] [--disabled]', 'get ID', 'list', 'enable ID', 'disable ID', 'delete ID'],
    actions: ['create', 'get', 'list', 'enable', 'disable', 'delete'],
    maxArguments: 2,
    flags: DEVICE_FLAGS,
    examples: ['omnistream device create store-12-rfid --tenant brand-b --kind sensor', 'omnistream device list --data ./data'],
    body: async () => (await import('./device.js')).deviceCommand,
  }),
  defineCommand({
    name: 'token',
    summary: 'mint a SAS token for a device or a shared access policy',
    usage: ['--device ID [--ttl SECONDS]', '--policy NAME [--ttl SECONDS]'],
    maxArguments: 0,
    flags: TOKEN_FLAGS,
    examples: ['omnistream token --device store-12-rfid --ttl 3600', 'omnistream token --policy service'],
    body: async () => (await import('./token.js')).tokenCommand,
  }),
  defineCommand({
    name: 'jobs',
    summary: 'continuous jobs of a running server: state, watermark, lag, counts; stop, start, replay',
    usage: ['list [--json]', 'status NAME [--json]', 'stop NAME', 'start NAME', 'replay NAME --from earliest|latest|ISO-TIME|N,N,…', 'deadletters NAME [--limit N]', 'outputs'],
    details: [
      'Talks to the running server through its jobs API. Its address comes from the settings the server uses',
      '(--config, OMNISTREAM_* variables, --http-port: its plain HTTP port; 0.0.0.0 is reached on 127.0.0.1), or --url; an https --url',
      'trusts the server\'s certificate (http.tlsCert, or the one generated in the data directory).',
      'The token is signed with the data directory\'s service policy key, so on the server\'s machine none is needed.',
      'list shows refused jobs with FILE:LINE:COLUMN; replay recomputes the job\'s rows from that position.',
    ],
    actions: ['list', 'status', 'stop', 'start', 'replay', 'deadletters', 'outputs'],
    maxArguments: 2,
    flags: JOBS_FLAGS,
    examples: [
      'omnistream jobs list --config omnistream.yaml',
      'omnistream jobs status views-by-category --json',
      'omnistream jobs replay views-by-category --from 2025-05-01T09:00:00Z',
      'omnistream jobs deadletters views-by-category --limit 20',
      'omnistream jobs outputs --url https://analytics.example.com:8443 --data /var/lib/omnistream',
    ],
    body: async () => (await import('./jobs.js')).jobsCommand,
  }),
  defineCommand({
    name: 'simulate',
    summary: 'send the retail demo\'s simulated shoppers to a running server, as start --demo does',
    usage: ['[--url URL] [--rate N] [--app-key TENANT=KEY …] [--duration SECONDS]'],
    details: [
      'Registers web, iOS, Android and store RFID devices of each demo brand through POST /api/register, then posts',
      'their events (single and batched, iothub-app-channel, a messageId each) until SIGINT, SIGTERM or --duration.',
      'Failed requests are retried with the same messageId. Exits 1 when the server accepted no event.',
    ],
    maxArguments: 0,
    flags: SIMULATE_FLAGS,
    examples: ['omnistream simulate --url http://127.0.0.1:8080 --rate 100', 'omnistream simulate --url https://hub.example.com --app-key nordvik=ak_… --duration 600'],
    body: async () => (await import('./simulate.js')).simulateCommand,
  }),
  defineCommand({
    name: 'recs',
    summary: 'evaluate the recommender offline against "most popular" on a file of events',
    usage: ['evaluate --input FILE [--config FILE] [--test-fraction F] [--k N]'],
    details: [
      'Splits each shopper\'s events by time (the last fraction held out), trains on the rest with the code the server runs,',
      'and prints {"k","shoppers","precision","recall","ndcg","coverage","baseline":{…}} where the baseline is popularity.',
      'Both lists leave out the items already in the shopper\'s history; docs/recommendations.md explains the measures.',
    ],
    actions: ['evaluate'],
    maxArguments: 1,
    flags: RECS_FLAGS,
    examples: ['omnistream recs evaluate --input events.jsonl --config omnistream.yaml', 'omnistream recs evaluate --input events.jsonl --config demo/omnistream.yaml --test-fraction 0.3 --k 5'],
    body: async () => (await import('./recs.js')).recsCommand,
  }),
  defineCommand({
    name: 'query run',
    summary: 'run a streaming SQL query over files, exactly as a job would',
    usage: ['FILE.saql --input NAME=FILE [--input …] [--reference NAME=FILE …] [--late-arrival-tolerance D] [--out-of-order-tolerance D] [--out-of-order-action adjust|drop] [--on-bad-line skip|fail] [--udf NAME=F.js …] [--uda NAME=F.js …] [--function-time-limit D]'],
    details: [
      'Prints one JSON line {"output","row"} per output row, in emission order; warnings go to stderr.',
      'D is a duration: 15s, 500ms, 2m, 1h or 00:00:15.',
      'A query error exits 2 and names FILE:LINE:COLUMN; so does a function file that cannot be used.',
      'udf.NAME / uda.NAME run isolated (no require, process, timers or network); a call past the time limit is stopped and gives NULL with a warning.',
    ],
    maxArguments: 1,
    flags: QUERY_RUN_FLAGS,
    examples: ['omnistream query run toll.saql --input Entry=entry.jsonl --reference Booths=booths.csv', 'omnistream query run late.saql --input input=late.json --late-arrival-tolerance 15s --out-of-order-action drop', 'omnistream query run basket.saql --input input=events.jsonl --udf hex2int=hex2int.js --uda twa=twa.js'],
    body: async () => (await import('./query-run.js')).queryRun,
  }),
  defineCommand({
    name: 'config',
    summary: 'check the settings start would use, or print the table of every setting',
    usage: ['check [--config FILE] [start\'s flags]', 'docs [--into FILE]'],
    details: [
      'check prints the settings as start would use them, as JSON (durations in milliseconds, the owner key hidden),',
      'or exits 1 naming every wrong setting. docs prints the markdown table of every setting.',
    ],
    actions: ['check', 'docs'],
    maxArguments: 1,
    flags: CONFIG_FLAGS,
    examples: ['omnistream config check --config omnistream.yaml', 'omnistream config docs --into docs/operations.md'],
    body: async () => (await import('./config.js')).configCommand,
  }),
  defineCommand({
    name: 'help',
    summary: 'show every command, or one command\'s flags and examples',
    usage: ['[COMMAND]'],
    maxArguments: 2,
    flags: {},
    examples: ['omnistream help start', 'omnistream help query run'],
    body: async () => (await import('./help-command.js')).helpCommand,
  }),
];

/** The command `args` start with (the longest name that matches) and the arguments after its name. */
export function findCommand(args: readonly string[]): { readonly command: Command; readonly rest: readonly string[] } | undefined {
  let found: Command | undefined;
  for (const command of COMMANDS) {
    const words = command.name.split(' ');
    if (words.every((w, i) => args[i] === w) && (!found || words.length > found.name.split(' ').length)) found = command;
  }
  return found && { command: found, rest: args.slice(found.name.split(' ').length) };
}

/** Why `args` name no command, with the nearest one when it is close. */
export function unknownCommand(args: readonly string[]): string {
  const [first = '', second] = args;
  const byFirstWord = new Map(COMMANDS.map((c) => [c.name.split(' ')[0]!, c.name]));
  const near = nearestName(first, byFirstWord.keys());
  const named = byFirstWord.get(first) === undefined ? first : [first, ...(second && !second.startsWith('-') ? [second] : [])].join(' ');
  return `unknown command '${named}'${near ? `; did you mean '${byFirstWord.get(near)}'?` : ''}`;
}
