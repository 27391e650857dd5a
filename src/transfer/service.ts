import type { RemoteOptions } from '../remote/index.js';
import type { PullOptions, PullResult } from './pull.js';
import type { PushOptions, PushResult } from './push.js';
import type { TransferEngine } from './types.js';
import { familiarString, parseNormalizedNamed } from '../reference/index.js';

/** Registry settings for an opened root (`WharfOptions.registries`): every pull and push starts from them. */
export type RegistrySettings = Omit<RemoteOptions, 'signal'>;

/**
 * `wharf.registries`: pull and push between registries and an opened root, with the root's registry settings
 * (credentials, insecure registries, extra CAs). A call's `remote` options add to them: its insecure registries are
 * added to the root's, its other fields win. The transfer code and the registry client are loaded on the first call,
 * so that opening a root costs nothing for programs that never talk to a registry.
 */
export class Registries {
  constructor(
    private readonly engine: TransferEngine,
    private readonly settings: RegistrySettings = {},
  ) {}

  /** `docker pull`: see transfer/pull.ts. Returns one result per reference pulled (several with `allTags`). */
  async pull(name: string, opts: PullOptions = {}): Promise<PullResult[]> {
    const { pull } = await import('./pull.js');
    const results = await pull(this.engine, name, this.#withSettings(opts));
    // Docker names the pulled reference as the user would (busybox:latest) for both the actor and `name`.
    for (const r of results) {
      const ref = familiarString(parseNormalizedNamed(r.reference));
      this.engine.images.emit('pull', ref, ref, r.imageId);
    }
    return results;
  }

  /** `docker push`: see transfer/push.ts. Returns one result per tag pushed. */
  async push(name: string, opts: PushOptions = {}): Promise<PushResult[]> {
    const { push } = await import('./push.js');
    const results = await push(this.engine, name, this.#withSettings(opts));
    for (const r of results) {
      const ref = familiarString(parseNormalizedNamed(r.reference));
      this.engine.images.emit('push', ref, ref, this.engine.images.tryResolve(r.reference)?.id ?? ref);
    }
    return results;
  }

  #withSettings<O extends { remote?: RemoteOptions }>(opts: O): O {
    const call = opts.remote ?? {};
    const insecure = [...(this.settings.insecureRegistries ?? []), ...(call.insecureRegistries ?? [])];
    return {
      ...opts,
      remote: { ...this.settings, ...call, ...(insecure.length ? { insecureRegistries: insecure } : {}) },
    };
  }
}
