// Versioned schemas of the PostgreSQL state adapters, on the real server: a fresh schema is brought
// to the current version of every component, a second start changes nothing, processes starting
// together migrate once, a failed migration leaves nothing behind, a newer database is refused,
// and an unreachable one is named without its password.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KEY_STORE_SCHEMA, PostgresKeyStore } from '../../src/auth/postgres-key-store.js';
import { OmniError } from '../../src/core/errors.js';
import { JOB_STORE_SCHEMA, PostgresJobStore } from '../../src/jobs/postgres-job-store.js';
import { CONSUMER_GROUP_SCHEMA, PostgresConsumerGroupStore } from '../../src/log/postgres-consumer-group-store.js';
import { PostgresDatabase, type PostgresTarget } from '../../src/postgres/postgres-database.js';
import { latestVersion, migrate, schemaComponent, type SchemaComponent } from '../../src/postgres/schema-migrations.js';
import { PostgresReferenceVersionStore, REFERENCE_VERSION_SCHEMA } from '../../src/reference/postgres-reference-version-store.js';
import { PostgresRegistry, REGISTRY_SCHEMA } from '../../src/registry/postgres-registry.js';
import { createSchema, PG_URL, skipWithoutPostgres, type TestSchema } from '../helpers/postgres.js';

/** Every adapter, by the component its tables belong to. */
const ADAPTERS: { component: SchemaComponent; open: (target: PostgresTarget) => Promise<{ close(): Promise<void> }> }[] = [
  { component: REGISTRY_SCHEMA, open: (t) => PostgresRegistry.open(t) },
  { component: KEY_STORE_SCHEMA, open: (t) => PostgresKeyStore.open(t) },
  { component: CONSUMER_GROUP_SCHEMA, open: (t) => PostgresConsumerGroupStore.open(t) },
  { component: JOB_STORE_SCHEMA, open: (t) => PostgresJobStore.open(t) },
  { component: REFERENCE_VERSION_SCHEMA, open: (t) => PostgresReferenceVersionStore.open(t) },
];

async function withSchema(body: (schema: TestSchema) => Promise<void>): Promise<void> {
  const schema = await createSchema();
  try {
    await body(schema);
  } finally {
    await schema.drop();
  }
}

async function withDatabase(schema: string, body: (db: PostgresDatabase) => Promise<void>): Promise<void> {
  const db = PostgresDatabase.connect({ url: PG_URL, schema }, 'the test');
  try {
    await body(db);
  } finally {
    await db.close();
  }
}

const openAll = async (schema: string): Promise<void> => {
  for (const a of ADAPTERS) await (await a.open({ url: PG_URL, schema })).close();
};

const recorded = (schema: TestSchema) =>
  schema.query<{ component: string; version: number; applied_at: Date }>('SELECT component, version, applied_at FROM schema_migrations ORDER BY component, version');

/** A component of two steps, the second creating what it is told. */
const twoSteps = (second: string): SchemaComponent => schemaComponent('demo', [
  { version: 1, description: 'a table', statements: (s) => [`CREATE TABLE ${s}.demo (id integer PRIMARY KEY)`] },
  { version: 2, description: 'a second step', statements: (s) => [second.replaceAll('$schema', s)] },
]);

test('every adapter brings a fresh schema to its current version, all five in one schema; a second start changes nothing', async (t) => {
  if (await skipWithoutPostgres(t)) return;
  await withSchema(async (schema) => {
    await openAll(schema.name);
    const first = await recorded(schema);
    for (const { component } of ADAPTERS) {
      assert.deepEqual(first.filter((r) => r.component === component.name).map((r) => r.version),
        Array.from({ length: latestVersion(component) }, (_, i) => i + 1), `${component.name}: every migration once, in order`);
    }
    await openAll(schema.name);
    assert.deepEqual(await recorded(schema), first, 'nothing applied again');
  });
});

test('migrate applies only what is pending, and returns the version it found', async (t) => {
  if (await skipWithoutPostgres(t)) return;
  await withSchema((schema) => withDatabase(schema.name, async (db) => {
    const v2 = twoSteps('CREATE TABLE $schema.demo_two (id integer)');
    const v1 = schemaComponent('demo', v2.migrations.slice(0, 1));
    assert.equal(await migrate(db, v1), 0);
    assert.equal(await migrate(db, v2), 1);
    assert.equal(await migrate(db, v2), 2, 'a second run is a no-op');
    assert.deepEqual((await recorded(schema)).map((r) => [r.component, r.version]), [['demo', 1], ['demo', 2]]);
    await schema.query('SELECT * FROM demo_two');
  }));
});

test('a migration that fails leaves the schema as it was', async (t) => {
  if (await skipWithoutPostgres(t)) return;
  await withSchema((schema) => withDatabase(schema.name, async (db) => {
    await assert.rejects(migrate(db, twoSteps('CREATE TABLE $schema.demo (id integer)')), /already exists/);
    assert.deepEqual(await schema.query("SELECT to_regclass('demo') IS NULL AS absent"), [{ absent: true }], 'step 1 was rolled back with step 2');
    assert.equal(await migrate(db, twoSteps('CREATE TABLE $schema.demo_two (id integer)')), 0);
  }));
});

test('processes starting together migrate once', async (t) => {
  if (await skipWithoutPostgres(t)) return;
  await withSchema(async (schema) => {
    // A schema that does not exist yet: creating it is part of the race.
    const name = `${schema.name}_new`;
    try {
      const opened = await Promise.all(Array.from({ length: 3 }, () => ADAPTERS.map((a) => a.open({ url: PG_URL, schema: name }))).flat());
      for (const store of opened) await store.close();
      const rows = await schema.query<{ component: string; n: number }>(`SELECT component, count(*)::int AS n FROM ${name}.schema_migrations GROUP BY component ORDER BY component`);
      assert.deepEqual(rows, ADAPTERS.map((a) => ({ component: a.component.name, n: latestVersion(a.component) })).sort((x, y) => (x.component < y.component ? -1 : 1)));
    } finally {
      await schema.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
    }
  });
});

test('a schema migrated by a newer Omnistream is refused with an error saying so, untouched', async (t) => {
  if (await skipWithoutPostgres(t)) return;
  await withSchema(async (schema) => {
    await openAll(schema.name);
    await schema.query("INSERT INTO schema_migrations (component, version, description) VALUES ('registry', 99, 'from the future')");
    await assert.rejects(PostgresRegistry.open({ url: PG_URL, schema: schema.name }), (e) => e instanceof OmniError
      && /registry/.test(e.message) && /version 99/.test(e.message) && e.message.includes(`newer than this Omnistream knows (${latestVersion(REGISTRY_SCHEMA)})`) && e.message.includes(schema.name));
    assert.equal((await recorded(schema)).filter((r) => r.component === 'registry').length, latestVersion(REGISTRY_SCHEMA) + 1);
    // Other components of the schema are not held back by it.
    await (await PostgresJobStore.open({ url: PG_URL, schema: schema.name })).close();
  });
});

test('an unreachable database: every adapter rejects naming what and where, never the password', async (t) => {
  if (await skipWithoutPostgres(t)) return;
  const server = new URL(PG_URL);
  const targets = [
    // Nothing listens on port 1.
    { url: `postgres://omni:s3cret-pw@127.0.0.1:1/statedb`, where: '127.0.0.1:1/statedb' },
    // The real server, a database it does not have.
    { url: `postgres://${server.username || 'postgres'}:s3cret-pw@${server.host}/omnistream_no_such_db`, where: `${server.hostname}:${server.port || 5432}/omnistream_no_such_db` },
  ];
  for (const target of targets) {
    for (const a of ADAPTERS) {
      await assert.rejects(a.open({ url: target.url, schema: 'anywhere' }), (e) => {
        assert.ok(e instanceof OmniError, String(e));
        assert.equal(e.code, 'unavailable');
        assert.ok(e.message.includes(target.where), e.message);
        assert.match(e.message, /^the [a-z -]+ cannot (reach|use) its database, PostgreSQL at /);
        assert.ok(!e.message.includes('s3cret'), e.message);
        assert.ok(!JSON.stringify(e, Object.getOwnPropertyNames(e)).includes('s3cret'));
        return true;
      });
    }
  }
});

test('migrations must be numbered in order; a schema name must be an identifier; a URL must parse, and is not repeated', () => {
  assert.throws(() => PostgresDatabase.connect({ url: 'postgres://omni:s3cret@[oops/db', schema: 's' }, 'the test'),
    (e) => e instanceof OmniError && e.code === 'invalid_argument' && !e.message.includes('s3cret'));
  assert.throws(() => schemaComponent('bad', [{ version: 2, description: '', statements: () => [] }]), /numbered 1, 2, 3/);
  assert.throws(() => PostgresDatabase.connect({ url: PG_URL, schema: 'x; DROP TABLE y' }, 'the test'), (e) => e instanceof OmniError && e.code === 'invalid_argument');
});
