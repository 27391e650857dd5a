export * from './db.js';
export * from './intents.js';
