// Contract suites: one suite per port, run against every backend. A backend that needs a server
// (PostgreSQL, NATS) says why it cannot run; the suite is then skipped with that reason, or fails
// under OMNISTREAM_REQUIRE_SERVICES=1 (CI), where a missing server is a broken environment.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { servicesRequired } from './services.js';

export interface Backend<F> {
  readonly name: string;
  /** Why this backend cannot run here (its server is unreachable, say); undefined when it can. */
  readonly unavailable?: () => Promise<string | undefined>;
  /** A fresh fixture with its own storage (a file, a schema, a stream), so cases do not interfere. */
  readonly fixture: () => Promise<F>;
}

/**
 * Declares `port`'s contract for `backend`; `cases` declares the tests, given the fixture factory.
 * Awaited at the top of a test file: whether the backend is there is known before its suite is
 * declared, so two backends' suites never interleave (an async describe let them).
 */
export async function contractSuite<F>(port: string, backend: Backend<F>, cases: (fixture: () => Promise<F>) => void): Promise<void> {
  const missing = await backend.unavailable?.();
  describe(`${port} contract: ${backend.name}`, () => {
    if (missing === undefined) {
      cases(backend.fixture);
    } else if (servicesRequired) {
      test(`${backend.name} is reachable`, () => assert.fail(`required by OMNISTREAM_REQUIRE_SERVICES=1: ${missing}`));
    } else {
      test(`${backend.name} is reachable`, { skip: missing }, () => {});
    }
  });
}
