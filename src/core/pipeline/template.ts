/**
 * `${...}` templating in mlo.yaml, as DVC does it: `${a.b}` and `${list[0]}` substitute values from
 * params.yaml, `vars` and the foreach/matrix item; `\${` escapes. A string that is exactly one `${x}`
 * takes x's value with its type (so `foreach: ${models}` gets the list); a map inside `cmd` becomes
 * `--key value` arguments.
 */
import { MloError } from '../../base/errors.js';
import { getKey } from './params.js';

export type Vars = Record<string, unknown>;

const REF = /(\\)?\$\{\s*([^}]*?)\s*\}/g;
const WHOLE = /^\$\{\s*([^}]*?)\s*\}$/;

export interface TemplateSite {
  /** "mlo.yaml:12: stages.train.cmd", for error messages. */
  where: string;
  /** In a cmd, maps unpack into `--key value` arguments. */
  cmd?: boolean;
}

export function hasTemplate(s: string): boolean {
  return s.includes('${');
}

function lookup(vars: Vars, expr: string, site: TemplateSite): unknown {
  const dotted = expr.replace(/\[(\d+)\]/g, '.$1');
  const r = getKey(vars, dotted);
  if (!r.found) {
    const known = Object.keys(vars).sort().slice(0, 12).join(', ');
    throw new MloError('MLO_BAD_TEMPLATE', `${site.where}: \${${expr}} is not defined`, {
      hint: known ? `defined names: ${known} (from params.yaml, vars, item/key)` : 'define it in params.yaml or under vars:',
    });
  }
  return r.value;
}

function toText(value: unknown, expr: string, site: TemplateSite): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (site.cmd && typeof value === 'object' && !Array.isArray(value)) return unpackArgs(value as Record<string, unknown>);
  if (site.cmd && Array.isArray(value)) return value.map((v) => toText(v, expr, site)).join(' ');
  throw new MloError('MLO_BAD_TEMPLATE', `${site.where}: \${${expr}} is a ${Array.isArray(value) ? 'list' : 'map'} and cannot be put inside a string`, {
    hint: 'use a key that holds a single value, e.g. ${train.lr}',
  });
}

/** `{lr: 0.1, fast: true, layers: [2, 3]}` -> `--lr 0.1 --fast --layers 2 3` (false flags are left out). */
function unpackArgs(map: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(map)) {
    if (v === false || v === null || v === undefined) continue;
    if (v === true) parts.push(`--${k}`);
    else if (Array.isArray(v)) parts.push(`--${k}`, ...v.map((x) => quote(String(x))));
    else if (typeof v === 'object') throw new MloError('MLO_BAD_TEMPLATE', `cannot unpack the nested map '${k}' into command arguments`);
    else parts.push(`--${k}`, quote(String(v)));
  }
  return parts.join(' ');
}

function quote(s: string): string {
  return /^[A-Za-z0-9_.,:/=+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Substitutes every `${...}` in a string; a string that is one whole reference keeps the value's type. */
export function interpolateString(s: string, vars: Vars, site: TemplateSite): unknown {
  if (!hasTemplate(s)) return s;
  const whole = WHOLE.exec(s);
  if (whole && !site.cmd) return lookup(vars, whole[1], site);
  return s.replace(REF, (_m, escaped: string | undefined, expr: string) => {
    if (escaped) return `\${${expr}}`;
    return toText(lookup(vars, expr, site), expr, site);
  });
}

/** Interpolates every string inside a value (maps, lists); keys are left as they are except out/param paths. */
export function interpolateDeep(value: unknown, vars: Vars, site: TemplateSite, keyPath: (string | number)[] = []): unknown {
  if (typeof value === 'string') {
    const isCmd = keyPath[0] === 'cmd';
    return interpolateString(value, vars, { ...site, where: `${site.where}${keyPath.length ? `.${keyPath.join('.')}` : ''}`, cmd: isCmd });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateDeep(v, vars, site, [...keyPath, i]));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // Keys of outs/params entries are paths and may be templated too (`${item}/model.onnx: {cache: false}`).
      const key = hasTemplate(k) ? String(interpolateString(k, vars, { ...site, where: `${site.where}.${[...keyPath, k].join('.')}` })) : k;
      out[key] = interpolateDeep(v, vars, site, [...keyPath, k]);
    }
    return out;
  }
  return value;
}

/** Merges maps recursively; later values win. */
export function mergeVars(base: Vars, extra: Vars): Vars {
  const out: Vars = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    const prev = out[k];
    out[k] = isMap(prev) && isMap(v) ? mergeVars(prev, v) : v;
  }
  return out;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
