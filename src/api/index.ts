/**
 * The Docker Engine API (`wharf system service`): node:http with a route table over the library's services, so the
 * docker CLI and Docker's SDKs drive the same store as `wharf` (docs/engine-api.md).
 */
export { createApiServer, type ApiServerOptions } from './server.js';
export { serveApi, parseListenUri, type ListenAddress, type ServeOptions, type RunningApi } from './listen.js';
export { API_VERSION, MIN_API_VERSION } from './versions.js';
export { muxFrame, demux } from './frames.js';
export { activationFd, inheritedListenFds, readTlsConfig, type TlsConfig, type TlsFiles } from './activation.js';
