export { Wharf, type WharfOptions } from './wharf.js';
