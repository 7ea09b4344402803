// Help, version and suggestions through the real process; the parser's rules in-process.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { COMMANDS, findCommand } from '../../src/cli/commands.js';
import { UsageError } from '../../src/cli/common.js';
import { parseCommandLine } from '../../src/cli/parse-command-line.js';
import { omnistream } from './run-cli.js';

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function command(name: string) {
  const found = COMMANDS.find((c) => c.name === name);
  assert.ok(found, name);
  return found;
}

describe('omnistream help', () => {
  test('--help lists every command with its flags and an example, on stdout, exit 0', async () => {
    const r = await omnistream(['--help']);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, new RegExp(`^omnistream ${version.replaceAll('.', '\\.')}: `));
    for (const c of COMMANDS) {
      assert.match(r.stdout, new RegExp(`^  ${c.name} +${c.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), c.name);
      for (const flag of Object.keys(c.flags)) assert.ok(r.stdout.includes(`--${flag}`), `${c.name} --${flag}`);
      assert.ok(r.stdout.includes(`e.g.   ${c.examples[0]}`), c.name);
    }
  });

  test('start --help lists start\'s flags, those of the settings included', async () => {
    const r = await omnistream(['start', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^usage: omnistream start \[--config FILE\] \[--data DIR\] \[--host-name NAME\] \[--http-port N\] \[--https-port N\] \[--tls-cert FILE\] \[--tls-key FILE\] \[--mqtts-port N\] \[--mqtt-port N\] \[--log nats:\/\/HOST:PORT\] \[--log-stream NAME\] \[--db postgres:\/\/USER@HOST:PORT\/DB\] \[--db-schema NAME\] \[--role ROLE\] \[--demo\] \[--rate N\]$/m);
    for (const flag of ['--config FILE', '--data DIR', '--http-port N', '--https-port N', '--mqtts-port N', '--mqtt-port N', '--host-name NAME', '--demo', '--tls-cert FILE', '--tls-key FILE', '--log nats://HOST:PORT', '--db postgres://USER@HOST:PORT/DB', '--role ROLE', '-h, --help']) {
      assert.match(r.stdout, new RegExp(`^  ${flag} `, 'm'), flag);
    }
    assert.match(r.stdout, /--http-port N +plain HTTP listen port.*\(setting http\.port; env OMNISTREAM_HTTP_PORT; default 8080\)/);
    assert.match(r.stdout, /--mqtts-port N +MQTT over TLS.*\(setting mqtt\.tlsPort; env OMNISTREAM_MQTTS_PORT; default none\)/);
    assert.match(r.stdout, /--role ROLE +what this process runs: `gateway`.*\(setting role; env OMNISTREAM_ROLE; default all\)/);
    assert.match(r.stdout, /^examples:\n {2}omnistream start --demo$/m);
  });

  test('help COMMAND and COMMAND --help print the same page; help of an unknown command suggests one', async () => {
    const [viaHelp, viaFlag, typo] = await Promise.all([omnistream(['help', 'query', 'run']), omnistream(['query', 'run', '--input', 'x', '--help']), omnistream(['help', 'tokn'])]);
    assert.equal(viaHelp.code, 0);
    assert.equal(viaHelp.stdout, viaFlag.stdout);
    assert.match(viaHelp.stdout, /^ {2}--input NAME=FILE +the events of input NAME: a JSON array or JSON lines; repeatable$/m);
    assert.equal(typo.code, 64);
    assert.match(typo.stderr, /^omnistream: unknown command 'tokn'; did you mean 'token'\?$/m);
  });

  test('--version prints package.json\'s version', async () => {
    const r = await omnistream(['--version']);
    assert.deepEqual(r, { code: 0, stdout: `${version}\n`, stderr: '' });
  });

  test('an unknown command or flag suggests the nearest, exit 64 with the usage on stderr', async () => {
    const [command, flag, action, none, query] = await Promise.all([
      omnistream(['strat']), omnistream(['start', '--htpp-port', '0']), omnistream(['device', 'craete', 'x']), omnistream([]), omnistream(['query']),
    ]);
    assert.equal(command.code, 64);
    assert.equal(command.stdout, '');
    assert.match(command.stderr, /^omnistream: unknown command 'strat'; did you mean 'start'\?\nusage: omnistream COMMAND/);
    assert.equal(flag.code, 64);
    assert.match(flag.stderr, /^omnistream: unknown flag '--htpp-port'; did you mean '--http-port'\?\nusage: omnistream start \[--config FILE\]/);
    assert.match(flag.stderr, /see 'omnistream help start'\n$/);
    assert.equal(action.code, 64);
    assert.match(action.stderr, /^omnistream: unknown device action 'craete'; did you mean 'create'\?\n/);
    assert.equal(none.code, 64);
    assert.match(none.stderr, /^omnistream: missing command\n/);
    assert.match(query.stderr, /^omnistream: unknown command 'query'; did you mean 'query run'\?/);
  });

  test('query run goes through the same parser: its usage mistakes exit 64 with its usage', async () => {
    const [missing, typo, badChoice] = await Promise.all([
      omnistream(['query', 'run']),
      omnistream(['query', 'run', 'q.saql', '--inptu', 'a=b']),
      omnistream(['query', 'run', 'q.saql', '--input', 'a=b', '--on-bad-line', 'ignore']),
    ]);
    for (const r of [missing, typo, badChoice]) {
      assert.equal(r.code, 64);
      assert.match(r.stderr, /\nusage: omnistream query run FILE\.saql --input NAME=FILE/);
    }
    assert.match(missing.stderr, /^omnistream: missing the query file\n/);
    assert.match(typo.stderr, /^omnistream: unknown flag '--inptu'; did you mean '--input'\?\n/);
    assert.match(badChoice.stderr, /^omnistream: --on-bad-line takes skip or fail, not 'ignore'\n/);
  });
});

describe('the command-line parser', () => {
  const parse = (name: string, args: string[]) => parseCommandLine(args, command(name));
  const mistake = (name: string, args: string[], message: RegExp) =>
    assert.throws(() => parse(name, args), (e: unknown) => e instanceof UsageError && message.test(e.message));

  test('repeatable flags collect, --flag=value works, choices ignore case, -1 is a value', () => {
    const { values, positionals } = parse('query run', ['q.saql', '--input', 'A=a.json', '--input=B=b.json', '--out-of-order-action', 'DROP', '--late-arrival-tolerance', '-1']);
    assert.deepEqual(values.input, ['A=a.json', 'B=b.json']);
    assert.deepEqual(values.reference, []);
    assert.equal(values['out-of-order-action'], 'drop');
    assert.equal(values['late-arrival-tolerance'], '-1');
    assert.deepEqual(positionals, ['q.saql']);
  });

  test('flags that set settings arrive by setting path', () => {
    const { values, settings } = parse('start', ['--http-port', '0', '--demo', '--config', 'omni.yaml']);
    assert.deepEqual(settings, { 'http.port': '0', demo: true });
    assert.equal(values.config, 'omni.yaml');
  });

  test('mistakes are usage errors', () => {
    mistake('keys', ['--tenant'], /^--tenant needs a value: --tenant NAME$/);
    mistake('keys', ['--tenant', 'a', '--tenant', 'b'], /^--tenant is given twice$/);
    mistake('keys', ['--json=yes'], /^--json takes no value$/);
    mistake('start', ['now'], /^unexpected argument 'now'$/);
    mistake('token', ['-x'], /^unknown flag '-x'$/);
    assert.deepEqual(parse('device', ['get', '--', '--odd-id']).positionals, ['get', '--odd-id']);
  });

  test('the longest command name wins, and what follows it is its arguments', () => {
    const found = findCommand(['query', 'run', 'q.saql']);
    assert.equal(found?.command.name, 'query run');
    assert.deepEqual(found?.rest, ['q.saql']);
    assert.equal(findCommand(['query']), undefined);
  });
});
