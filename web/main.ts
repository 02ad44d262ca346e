/**
 * The page's shell: navigation, a hash router (#/runs, #/compare?runs=..., #/revisions, #/models,
 * #/pipeline, #/monitor), the error banner, and polling: every 2 s the store's fingerprint (/api/stamp) is read,
 * and when it changed (a run started, logged a point or ended) the open page redraws its data.
 */
import { api, ApiError } from './api.js';
import { h } from './dom.js';
import { comparePage } from './compare.js';
import { modelsPage } from './models.js';
import { monitorPage } from './monitor.js';
import { pipelinePage } from './pipeline.js';
import { revisionsPage } from './revisions.js';
import { runsPage } from './runs.js';

/** A page draws into `root`; it returns a refresh function when it keeps up with new runs. */
export type Page = (root: HTMLElement, query: URLSearchParams) => Promise<(() => Promise<void>) | undefined>;

const PAGES: Record<string, { title: string; page: Page; nav?: boolean }> = {
  runs: { title: 'Runs', page: runsPage, nav: true },
  compare: { title: 'Compare', page: comparePage },
  revisions: { title: 'Revisions', page: revisionsPage, nav: true },
  models: { title: 'Models', page: modelsPage, nav: true },
  pipeline: { title: 'Pipeline & data', page: pipelinePage, nav: true },
  monitor: { title: 'Monitoring', page: monitorPage, nav: true },
};

const banner = h('div', { id: 'banner', role: 'alert', hidden: true });
const main = h('main', { id: 'page' });
const nav = h(
  'nav',
  {},
  h('strong', {}, 'mlo'),
  ...Object.entries(PAGES)
    .filter(([, p]) => p.nav)
    .map(([name, p]) => h('a', { href: `#/${name}`, 'data-page': name }, p.title)),
);

export function showError(err: unknown): void {
  const e = err instanceof ApiError ? err : new ApiError('MLO_INTERNAL', err instanceof Error ? err.message : String(err));
  banner.replaceChildren(h('strong', {}, e.code), ` ${e.message}`, e.hint ? h('div', { class: 'hint' }, e.hint) : '');
  banner.hidden = false;
}

function clearError(): void {
  banner.hidden = true;
  banner.replaceChildren();
}

let refresh: (() => Promise<void>) | undefined;
let rendering = 0;

async function route(): Promise<void> {
  const hash = location.hash.replace(/^#\/?/, '') || 'runs';
  const [name, qs] = hash.split('?');
  const entry = PAGES[name] ?? PAGES.runs;
  for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.dataset.page === name);
  document.title = `mlo: ${entry.title}`;
  const mine = ++rendering;
  refresh = undefined;
  clearError();
  const root = h('div', { class: 'page', 'data-page': name });
  main.replaceChildren(root);
  try {
    const r = await entry.page(root, new URLSearchParams(qs ?? ''));
    if (mine === rendering) refresh = r;
  } catch (err) {
    showError(err);
  } finally {
    if (mine === rendering) root.dataset.ready = '1';
  }
}

let lastStamp: string | undefined;

async function poll(): Promise<void> {
  try {
    const stamp = JSON.stringify(await api('/api/stamp'));
    if (lastStamp !== undefined && stamp !== lastStamp && refresh) {
      clearError();
      await refresh();
    }
    lastStamp = stamp;
  } catch (err) {
    showError(err);
  } finally {
    setTimeout(poll, 2000);
  }
}

document.body.append(h('header', {}, nav), banner, main);
window.addEventListener('hashchange', () => void route());
void route();
// The first poll waits: the page's own first requests go first.
setTimeout(poll, 2000);
