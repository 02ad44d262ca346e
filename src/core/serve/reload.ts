/**
 * Reload when a served registry alias moves: a target that follows an alias (or a bare name, meaning
 * the latest version) watches its registry file and is swapped for the new version when that changes.
 */
import { unwatchFile, watchFile } from 'node:fs';
import { join } from 'node:path';
import { aliasesFile, registryDir, type ModelRef } from '../registry/registry.js';
import type { Repo } from '../repo/repo.js';
import type { Endpoint, EndpointSource, LoadTarget } from './endpoints.js';
import { resolveRegistered } from './sources.js';

export interface ReloadOptions {
  repo: Repo;
  sources: EndpointSource[];
  endpoints: Map<string, Endpoint>;
  load: LoadTarget;
  /** Seconds between checks of the watched files. */
  interval: number;
  /** Checks stop once the server is closing. */
  state: { readonly closing: boolean };
  event: (message: string) => void;
}

/** Starts watching; returns the function that stops it. */
export function watchMovingRefs(options: ReloadOptions): () => void {
  const watched: string[] = [];
  for (const s of options.sources) {
    s.resolved.forEach((r, i) => {
      if (!r.moving) return;
      const file = watchedFile(options.repo, r.moving);
      const check = reloader(options, { endpoint: s.name, index: i, ref: r.moving, display: r.ref });
      watchFile(file, { interval: Math.round(options.interval * 1000), persistent: false }, () => void check());
      watched.push(file);
    });
  }
  return () => {
    for (const f of watched) unwatchFile(f);
  };
}

/** An alias lives in the model's aliases file; the latest version moves with its versions folder. */
function watchedFile(repo: Repo, ref: ModelRef): string {
  return ref.selector && ref.selector !== 'latest' ? aliasesFile(repo, ref.name) : join(registryDir(repo, ref.name), 'versions');
}

/**
 * One check of one target: resolve the reference again and swap the target when the version or the
 * model changed. A failed reload keeps the old version serving. Checks never overlap.
 */
function reloader(options: ReloadOptions, slot: { endpoint: string; index: number; ref: ModelRef; display: string }): () => Promise<void> {
  const { repo, endpoints, load, state, event } = options;
  const target = () => endpoints.get(slot.endpoint)!.targets[slot.index];
  let reloading = false;
  return async () => {
    if (reloading || state.closing) return;
    reloading = true;
    try {
      const next = await resolveRegistered(repo, slot.ref, slot.display);
      const current = target();
      if (next.version === current.version && next.hash === current.hash) return;
      const fresh = await load(next);
      endpoints.get(slot.endpoint)!.targets[slot.index] = fresh;
      event(`reloaded ${slot.display}: version ${current.versionText} -> ${fresh.versionText}`);
      void current.runner.release();
    } catch (err) {
      event(`could not reload ${slot.display}: ${(err as Error).message}; still serving version ${target().versionText}`);
    } finally {
      reloading = false;
    }
  };
}
