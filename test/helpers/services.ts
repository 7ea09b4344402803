// Tests that need something outside the process (root, a service, a browser) skip when it is
// missing, unless OMNISTREAM_REQUIRE_SERVICES=1 (CI), where a missing dependency is a failure.
import type { TestContext } from 'node:test';

export const servicesRequired = process.env.OMNISTREAM_REQUIRE_SERVICES === '1';

/** Returns true when the test should stop here (skipped); throws in CI. */
export function requireOrSkip(t: TestContext, missing: string | undefined): boolean {
  if (!missing) return false;
  if (servicesRequired) throw new Error(`required by OMNISTREAM_REQUIRE_SERVICES=1: ${missing}`);
  t.skip(missing);
  return true;
}
