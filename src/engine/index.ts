export { Wharf, type WharfOptions } from './wharf.js';
export { collectInfo, versionLine, type InfoOptions } from './info.js';
export { inspectNetwork, networkFilter } from './network-views.js';
