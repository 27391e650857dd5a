// Loaded with --import into every test process by scripts/run-tests.mjs (which also passes --expose-internals, so
// that node:test's Test class can be reached): gives each test and hook the default timeout of
// scripts/test-timeout.mjs (WHARF_TEST_TIMEOUT_MS).
import { createRequire } from 'node:module';
import { installTestTimeout, testTimeoutFromEnv } from './test-timeout.mjs';

let Test;
try {
  ({ Test } = createRequire(import.meta.url)('internal/test_runner/test'));
} catch {
  // Without --expose-internals (a test file run by hand): no default timeout.
}
if (Test !== undefined && !installTestTimeout(Test, testTimeoutFromEnv(process.env))) {
  process.emitWarning(
    'node:test changed shape: tests get no default timeout (only the per-file one)',
    'WharfTestTimeout',
  );
}
