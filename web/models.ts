/**
 * Models (#/models, #/models?name=NAME): the registry (`mlo model list --json`), and one model's
 * versions with their aliases, lineage (commit, params, metrics, data hashes), signature and card, and
 * its audit log (who did what, when and why).
 */
import { api } from './api.js';
import { empty, fmt, h, short, table } from './dom.js';

interface ModelSummary {
  name: string;
  versions: number;
  latest: number;
  aliases: Record<string, number>;
  registered: string;
  danglingAliases: string[];
}

interface TensorSpec {
  name: string;
  type: string;
  shape?: (number | string | null)[];
}

interface Version {
  name: string;
  version: number;
  registered: string;
  by: string | null;
  package: string;
  git?: { commit: string | null; dirty: boolean };
  model: { path: string; hash: string; size?: number };
  signature: { inputs: TensorSpec[]; outputs: TensorSpec[] };
  lineage: Record<string, unknown>;
  card: Record<string, unknown>;
}

interface ModelDoc {
  name: string;
  aliases: Record<string, number>;
  versions: Version[];
  audit: { ts: string; action: string; version: number; alias?: string; previous?: number | null; by: string | null; reason?: string | null }[];
}

const spec = (t: TensorSpec) => `${t.name}: ${t.type}[${(t.shape ?? []).map((d) => d ?? '?').join(', ')}]`;

function keyValues(obj: unknown): HTMLElement {
  if (!obj || typeof obj !== 'object' || !Object.keys(obj).length) return h('span', { class: 'muted' }, 'none');
  return h(
    'dl',
    {},
    ...Object.entries(obj as Record<string, unknown>).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v && typeof v === 'object' ? keyValues(v) : fmt(v))]),
  );
}

function versionCard(v: Version, aliases: string[]): HTMLElement {
  return h(
    'article',
    { class: 'card', 'data-version': v.version },
    h('h4', {}, `${v.name}@${v.version}`, ...aliases.map((a) => h('span', { class: 'alias' }, a))),
    h('p', { class: 'muted' }, `registered ${v.registered} by ${v.by ?? 'unknown'} from ${v.package}`),
    h(
      'p',
      {},
      `commit ${v.git?.commit ? short(v.git.commit, 10) : '(none)'}${v.git?.dirty ? ' with uncommitted changes' : ''}; model ${v.model.path} blake3:${short(v.model.hash, 12)}`,
    ),
    h('h5', {}, 'Signature'),
    h(
      'ul',
      { class: 'sig' },
      ...v.signature.inputs.map((t) => h('li', {}, `in  ${spec(t)}`)),
      ...v.signature.outputs.map((t) => h('li', {}, `out ${spec(t)}`)),
    ),
    h('h5', {}, 'Lineage'),
    keyValues(v.lineage),
    h('h5', {}, 'Model card'),
    keyValues(v.card),
  );
}

export async function modelsPage(root: HTMLElement, query: URLSearchParams): Promise<undefined> {
  const name = query.get('name');
  if (!name) {
    const { models } = await api<{ models: ModelSummary[] }>('/api/models');
    if (!models.length) {
      root.append(empty('No registered models. Register one with `mlo model register models/NAME`.'));
      return undefined;
    }
    root.append(
      table(
        ['model', 'versions', 'latest', 'aliases', 'registered'],
        models.map((m) => [
          h('a', { href: `#/models?name=${encodeURIComponent(m.name)}` }, m.name),
          String(m.versions),
          String(m.latest),
          Object.entries(m.aliases)
            .map(([a, v]) => `${a} \u2192 ${v}${m.danglingAliases.includes(a) ? ' (missing)' : ''}`)
            .join(', '),
          m.registered,
        ]),
        { 'data-testid': 'models-table' },
      ),
    );
    return undefined;
  }
  const doc = await api<ModelDoc>('/api/model', { name });
  const aliasesOf = (v: number) =>
    Object.entries(doc.aliases)
      .filter(([, n]) => n === v)
      .map(([a]) => a);
  root.append(
    h('h2', {}, doc.name),
    table(
      ['version', 'aliases', 'registered', 'by', 'commit'],
      doc.versions.map((v) => [String(v.version), aliasesOf(v.version).join(', '), v.registered, v.by ?? '', short(v.git?.commit, 10)]),
      { 'data-testid': 'versions-table' },
    ),
    h('h3', {}, 'Audit log'),
    doc.audit.length
      ? table(
          ['when', 'action', 'version', 'alias', 'previous', 'by', 'reason'],
          doc.audit.map((e) => [e.ts, e.action, String(e.version), e.alias ?? '', e.previous == null ? '' : String(e.previous), e.by ?? '', e.reason ?? '']),
          { 'data-testid': 'audit-table' },
        )
      : empty('No audit entries.'),
    h('h3', {}, 'Versions'),
    h(
      'div',
      { class: 'cards' },
      ...doc.versions
        .slice()
        .reverse()
        .map((v) => versionCard(v, aliasesOf(v.version))),
    ),
  );
  return undefined;
}
