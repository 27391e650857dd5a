export { Wharf, type WharfOptions } from './wharf.js';
export { collectInfo, versionLine, type InfoOptions } from './info.js';
