import type { Handler } from './context.js';
import * as a from './archive.js';
import { authHandler } from './auth.js';
import * as c from './containers.js';
import * as cf from './container-files.js';
import * as h from './hijacked.js';
import * as i from './images.js';
import * as ia from './image-archives.js';
import * as n from './networks.js';
import * as p from './prune.js';
import * as s from './system.js';
import * as v from './volumes.js';
import { eventsHandler } from './events.js';
import { buildHandler } from './build.js';
import { statsHandler } from './stats.js';
import { attachWsHandler } from './attach-ws.js';
import { updateHandler } from './container-update.js';
import { distributionHandler, searchHandler } from './registry-queries.js';

/**
 * The route table: method, path pattern (after the `/v1.xx` prefix) and handler. Image names are matched with `.+`
 * because the docker CLI sends them unescaped (`/images/127.0.0.1:5000/x/web/json`); the table is tried in order.
 */
const TABLE: Array<[string, RegExp, readonly string[], Handler]> = [
  ['GET', /^\/_ping$/, [], s.pingHandler],
  ['HEAD', /^\/_ping$/, [], s.pingHandler],
  ['GET', /^\/version$/, [], s.versionHandler],
  ['GET', /^\/info$/, [], s.infoHandler],
  ['GET', /^\/events$/, [], eventsHandler],
  ['POST', /^\/auth$/, [], authHandler],
  ['GET', /^\/system\/df$/, [], s.diskUsageHandler],
  ['GET', /^\/volumes$/, [], v.listVolumesHandler],
  ['POST', /^\/volumes\/create$/, [], v.createVolumeHandler],
  ['POST', /^\/volumes\/prune$/, [], v.pruneVolumesHandler],
  ['GET', /^\/volumes\/([^/]+)$/, ['name'], v.inspectVolumeHandler],
  ['DELETE', /^\/volumes\/([^/]+)$/, ['name'], v.removeVolumeHandler],
  ['GET', /^\/networks$/, [], n.listNetworksHandler],
  ['POST', /^\/networks\/create$/, [], n.createNetworkHandler],
  ['POST', /^\/networks\/prune$/, [], n.pruneNetworksHandler],
  ['GET', /^\/networks\/([^/]+)$/, ['id'], n.inspectNetworkHandler],
  ['DELETE', /^\/networks\/([^/]+)$/, ['id'], n.removeNetworkHandler],
  ['POST', /^\/networks\/([^/]+)\/connect$/, ['id'], n.connectNetworkHandler],
  ['POST', /^\/networks\/([^/]+)\/disconnect$/, ['id'], n.disconnectNetworkHandler],
  ['POST', /^\/build$/, [], buildHandler],
  ['GET', /^\/images\/json$/, [], i.listImagesHandler],
  ['GET', /^\/images\/search$/, [], searchHandler],
  ['GET', /^\/distribution\/(.+)\/json$/, ['name'], distributionHandler],
  ['POST', /^\/images\/create$/, [], i.createImageHandler],
  ['POST', /^\/images\/prune$/, [], p.pruneImagesHandler],
  ['GET', /^\/images\/get$/, [], ia.saveImagesHandler],
  ['POST', /^\/images\/load$/, [], ia.loadImagesHandler],
  ['GET', /^\/images\/(.+)\/get$/, ['name'], ia.saveImagesHandler],
  ['GET', /^\/images\/(.+)\/json$/, ['name'], i.inspectImageHandler],
  ['GET', /^\/images\/(.+)\/history$/, ['name'], i.historyHandler],
  ['POST', /^\/images\/(.+)\/tag$/, ['name'], i.tagHandler],
  ['POST', /^\/images\/(.+)\/push$/, ['name'], i.pushImageHandler],
  ['DELETE', /^\/images\/(.+)$/, ['name'], i.removeImageHandler],
  ['GET', /^\/containers\/json$/, [], c.listContainersHandler],
  ['POST', /^\/containers\/create$/, [], c.createContainerHandler],
  ['POST', /^\/containers\/prune$/, [], p.pruneContainersHandler],
  ['GET', /^\/containers\/([^/]+)\/json$/, ['id'], c.inspectContainerHandler],
  ['POST', /^\/containers\/([^/]+)\/start$/, ['id'], c.startHandler],
  ['POST', /^\/containers\/([^/]+)\/stop$/, ['id'], c.stopHandler],
  ['POST', /^\/containers\/([^/]+)\/restart$/, ['id'], c.restartHandler],
  ['POST', /^\/containers\/([^/]+)\/kill$/, ['id'], c.killHandler],
  ['POST', /^\/containers\/([^/]+)\/pause$/, ['id'], c.pauseHandler],
  ['POST', /^\/containers\/([^/]+)\/unpause$/, ['id'], c.unpauseHandler],
  ['POST', /^\/containers\/([^/]+)\/rename$/, ['id'], c.renameHandler],
  ['POST', /^\/containers\/([^/]+)\/wait$/, ['id'], c.waitHandler],
  ['POST', /^\/containers\/([^/]+)\/attach$/, ['id'], h.attachHandler],
  ['GET', /^\/containers\/([^/]+)\/logs$/, ['id'], c.logsHandler],
  ['GET', /^\/containers\/([^/]+)\/changes$/, ['id'], cf.changesHandler],
  ['GET', /^\/containers\/([^/]+)\/export$/, ['id'], cf.exportHandler],
  ['GET', /^\/containers\/([^/]+)\/top$/, ['id'], cf.topHandler],
  ['POST', /^\/commit$/, [], cf.commitHandler],
  ['HEAD', /^\/containers\/([^/]+)\/archive$/, ['id'], a.statArchiveHandler],
  ['GET', /^\/containers\/([^/]+)\/archive$/, ['id'], a.getArchiveHandler],
  ['PUT', /^\/containers\/([^/]+)\/archive$/, ['id'], a.putArchiveHandler],
  ['POST', /^\/containers\/([^/]+)\/resize$/, ['id'], h.resizeHandler],
  ['GET', /^\/containers\/([^/]+)\/stats$/, ['id'], statsHandler],
  ['GET', /^\/containers\/([^/]+)\/attach\/ws$/, ['id'], attachWsHandler],
  ['POST', /^\/containers\/([^/]+)\/update$/, ['id'], updateHandler],
  ['DELETE', /^\/containers\/([^/]+)$/, ['id'], c.removeContainerHandler],
  ['POST', /^\/containers\/([^/]+)\/exec$/, ['id'], h.execCreateHandler],
  ['POST', /^\/exec\/([^/]+)\/start$/, ['id'], h.execStartHandler],
  ['POST', /^\/exec\/([^/]+)\/resize$/, ['id'], h.execResizeHandler],
  ['GET', /^\/exec\/([^/]+)\/json$/, ['id'], h.execInspectHandler],
];

export type RouteMatch = { handler: Handler; params: Record<string, string> } | { allowed: string[] } | undefined;

/** The handler for a method and path, the methods the path allows (405), or undefined (404). */
export function matchRoute(method: string, path: string): RouteMatch {
  const allowed: string[] = [];
  for (const [m, re, names, handler] of TABLE) {
    const found = re.exec(path);
    if (!found) continue;
    if (m !== method) {
      allowed.push(m);
      continue;
    }
    const params: Record<string, string> = {};
    names.forEach((n, k) => {
      params[n] = decodeURIComponent(found[k + 1]!);
    });
    return { handler, params };
  }
  return allowed.length ? { allowed } : undefined;
}
