/**
 * Monitoring (#/monitor?log=serve.log&reference=train.csv&current=serve.log): serving health per
 * arm (model version; the arms of an A/B split apart) from a serve log (`mlo monitor status`), with
 * the distribution of each arm's predictions, and a drift report between two files
 * (`mlo monitor drift`), each file a path inside the repository.
 */
import { api } from './api.js';
import { empty, fmt, h, table } from './dom.js';

interface StatusReport {
  log: string;
  models: {
    arm: string;
    current: boolean;
    model: string;
    version: string | number | null;
    requests: number;
    errors: number;
    errorRate: number;
    latencyMs: { p50: number; p90: number; p99: number } | null;
    lastRequest: string | null;
    ageDays: number;
    ok: boolean;
    problems: string[];
    predictions: Record<string, Prediction>;
  }[];
}

/** One output column of an arm's predictions: numbers (mean, deciles) or labels (counts). */
interface Prediction {
  count: number;
  mean?: number;
  p10?: number;
  p50?: number;
  p90?: number;
  values?: Record<string, number>;
}

const labels = (values: Record<string, number> | undefined) =>
  values
    ? Object.entries(values)
        .map(([v, n]) => `${v}: ${n}`)
        .join(', ')
    : '';

interface DriftReport {
  reference: { file: string; rows: number };
  current: { file: string; rows: number };
  features: {
    column: string;
    role: string;
    type: string;
    psi?: number;
    js?: number;
    ks?: { pvalue: number };
    chi2?: { pvalue: number };
    drifted: boolean;
    reasons: string[];
  }[];
  skipped: { column: string; reason: string }[];
  drifted: number;
  compared: number;
  drift: boolean;
}

export async function monitorPage(root: HTMLElement, query: URLSearchParams): Promise<undefined> {
  const input = (name: string, placeholder: string) => h('input', { name, placeholder, value: query.get(name) ?? '', 'data-testid': `monitor-${name}` });
  const log = input('log', 'serve log, e.g. serve.log');
  const reference = input('reference', 'reference, e.g. data/train.csv');
  const current = input('current', 'current, e.g. serve.log');
  const go = h('button', { 'data-testid': 'monitor-go' }, 'Show');
  go.addEventListener('click', () => {
    const q = new URLSearchParams();
    for (const box of [log, reference, current]) if (box.value) q.set(box.name, box.value);
    location.hash = `#/monitor?${q}`;
  });
  root.append(h('div', { class: 'toolbar' }, log, reference, current, go));

  const logPath = query.get('log');
  root.append(h('h2', {}, 'Serving'));
  if (!logPath) root.append(empty('Name a serve log (mlo serve --log FILE) to see requests, errors, latency and predictions per model version.'));
  else {
    const s = await api<StatusReport>('/api/monitor/status', { log: logPath });
    root.append(
      table(
        ['arm', 'model', 'version', 'requests', 'errors', 'error rate', 'p50 ms', 'p90 ms', 'p99 ms', 'last request', 'age (days)', 'state'],
        s.models.map((m) => [
          m.arm,
          m.model,
          String(m.version ?? ''),
          String(m.requests),
          String(m.errors),
          `${(m.errorRate * 100).toFixed(1)}%`,
          fmt(m.latencyMs?.p50),
          fmt(m.latencyMs?.p90),
          fmt(m.latencyMs?.p99),
          m.lastRequest ?? '',
          fmt(m.ageDays),
          // A replaced version (a later one took over) is listed but not held to the limits.
          m.ok ? (m.current ? 'ok' : 'replaced') : m.problems.join('; '),
        ]),
        { 'data-testid': 'serving-table' },
      ),
    );
    const predictions = s.models.flatMap((m) => Object.entries(m.predictions).map(([output, p]) => ({ arm: m.arm, output, p })));
    root.append(h('h3', {}, 'Predictions by arm'));
    if (!predictions.length) root.append(empty('No successful request in the log recorded its outputs.'));
    else
      root.append(
        table(
          ['arm', 'output', 'count', 'mean', 'p10', 'p50', 'p90', 'values'],
          predictions.map(({ arm, output, p }) => [arm, output, String(p.count), fmt(p.mean), fmt(p.p10), fmt(p.p50), fmt(p.p90), labels(p.values)]),
          { 'data-testid': 'predictions-table' },
        ),
      );
  }

  const [ref, cur] = [query.get('reference'), query.get('current')];
  root.append(h('h2', {}, 'Drift'));
  if (!ref || !cur) root.append(empty('Name a reference and a current file (CSV, JSON lines or a serve log) to compare them.'));
  else {
    const d = await api<DriftReport>('/api/monitor/drift', { reference: ref, current: cur });
    root.append(
      h(
        'p',
        { class: d.drift ? 'error' : '' },
        `${d.drifted} of ${d.compared} columns drifted (${d.reference.file}: ${d.reference.rows} rows; ${d.current.file}: ${d.current.rows} rows)`,
      ),
      table(
        ['column', 'role', 'type', 'PSI', 'KS p', 'chi2 p', 'JS', 'drift'],
        d.features.map((f) => [
          f.column,
          f.role,
          f.type,
          fmt(f.psi),
          fmt(f.ks?.pvalue),
          fmt(f.chi2?.pvalue),
          fmt(f.js),
          f.drifted ? f.reasons.join('; ') : 'no',
        ]),
        { 'data-testid': 'drift-table' },
      ),
      ...d.skipped.map((s) => h('p', { class: 'muted' }, `${s.column}: ${s.reason}`)),
    );
  }
  return undefined;
}
