/**
 * Vega-Lite charts (declared plots: confusion matrices, ROC/PR curves, scatters) through vega-embed.
 * Its three builds (~830 KB) load on the first page that needs them, not with the app.
 */
type Embed = (el: HTMLElement, spec: unknown, options: Record<string, unknown>) => Promise<unknown>;

let loading: Promise<Embed> | undefined;

function script(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error(`${src} did not load`));
    document.head.append(s);
  });
}

export function vegaEmbed(): Promise<Embed> {
  loading ??= (async () => {
    // In order: vega-lite and vega-embed find the libraries before them as globals.
    for (const f of ['vega.min.js', 'vega-lite.min.js', 'vega-embed.min.js']) await script(`/vendor/${f}`);
    return (window as unknown as { vegaEmbed: Embed }).vegaEmbed;
  })();
  return loading;
}

export async function drawSpec(target: HTMLElement, spec: unknown): Promise<void> {
  const embed = await vegaEmbed();
  await embed(target, spec, { actions: false, renderer: 'svg' });
  target.dataset.drawn = '1';
}
