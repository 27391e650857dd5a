export * from './fs.js';
export * from './concurrency.js';
export * from './process.js';
export * from './stream.js';
export * from './time.js';
export * from './sendfile.js';
export * from './watch.js';
export * from './native.js';
