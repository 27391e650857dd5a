// The monitor's tests against the Node monitor (src/runtime/monitor-process.ts) alone, as where the native monitor
// is not built or WHARF_MONITOR=node turns it off.
process.env.WHARF_MONITOR = 'node';
await import('./monitor-suite.js');
