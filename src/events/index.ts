/**
 * Wharf's event log (issue 12): Docker's /events messages as JSON Lines in `<root>/events.log`, appended by every
 * Wharf process (the services of the library and CLI, and each container's monitor, native/monitor/events.c), read
 * and followed by `wharf events`. docs/events.md has the format and its rules.
 */
export * from './types.js';
export * from './codec.js';
export * from './log.js';
export * from './reader.js';
export * from './filter.js';
export * from './format.js';
