// Types of scripts/test-timeout.mjs, for the unit tests (test/unit/runner-timeout.test.ts).
export const DEFAULT_TEST_TIMEOUT_MS: number;
export function testTimeoutFromEnv(env: NodeJS.ProcessEnv): number;
export function withTestTimeout(args: unknown[], ms: number): [unknown, Record<string, unknown> | undefined, unknown];
export function withHookTimeout(options: unknown, ms: number): Record<string, unknown>;
export function installTestTimeout(Test: unknown, ms: number): boolean;
