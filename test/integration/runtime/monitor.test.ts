// The monitor's tests against the container monitor (native/monitor/, build/Release/wharf-monitor);
// monitor-asan.test.ts runs the same tests against its AddressSanitizer/UBSan build.
await import('./monitor-suite.js');
