import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { pipelineJsonSchema } from './jsonschema.js';
import { pipelineSchema } from './schema.js';

const root = new URL('../../../', import.meta.url);
const readText = (rel: string) => readFileSync(new URL(rel, root), 'utf8');

describe('published JSON Schema of mlo.yaml', () => {
  it('matches the zod schema (regenerate with npm run build && node schema/generate.mjs)', () => {
    const committed = JSON.parse(readText('schema/mlo.schema.json'));
    expect(committed).toEqual(pipelineJsonSchema());
  });

  it('describes stages strictly, for editor completion', () => {
    const schema = pipelineJsonSchema() as any;
    expect(schema).toMatchObject({ $schema: 'http://json-schema.org/draft-07/schema#', title: 'mlo.yaml', additionalProperties: false });
    const stage = schema.properties.stages.additionalProperties;
    expect(stage.additionalProperties).toBe(false);
    expect(Object.keys(stage.properties)).toEqual(
      expect.arrayContaining(['cmd', 'deps', 'outs', 'params', 'metrics', 'foreach', 'do', 'matrix', 'frozen', 'always_changed']),
    );
    expect(stage.properties.deps.description).toBe('files and directories the command reads');
    expect(stage.properties.do.additionalProperties).toBe(false);
    expect(schema.properties.stages.propertyNames.pattern).toBeTruthy();
  });
});

/**
 * A validator for the draft-07 keywords the generated schema uses (no validator package is installed);
 * a keyword it does not know fails the test rather than being skipped.
 */
function validate(schema: any, value: unknown, at = '$'): string[] {
  const errors: string[] = [];
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  for (const [key, rule] of Object.entries(schema) as [string, any][]) {
    switch (key) {
      case '$schema':
      case 'title':
      case 'description':
      case 'default':
        break;
      case 'type': {
        const types: string[] = Array.isArray(rule) ? rule : [rule];
        const ok = types.some((t) => t === type || (t === 'integer' && Number.isInteger(value)));
        if (!ok) errors.push(`${at}: ${type} is not ${types.join(' or ')}`);
        break;
      }
      case 'enum':
        if (!rule.includes(value)) errors.push(`${at}: not one of ${rule.join(', ')}`);
        break;
      case 'const':
        if (value !== rule) errors.push(`${at}: not ${rule}`);
        break;
      case 'minLength':
        if (typeof value === 'string' && value.length < rule) errors.push(`${at}: shorter than ${rule}`);
        break;
      case 'pattern':
        if (typeof value === 'string' && !new RegExp(rule, 'u').test(value)) errors.push(`${at}: does not match ${rule}`);
        break;
      case 'minItems':
        if (Array.isArray(value) && value.length < rule) errors.push(`${at}: fewer than ${rule} items`);
        break;
      case 'items':
        if (Array.isArray(value)) value.forEach((v, i) => errors.push(...validate(rule, v, `${at}[${i}]`)));
        break;
      case 'anyOf':
        if (!rule.some((s: unknown) => validate(s, value, at).length === 0)) errors.push(`${at}: matches none of anyOf`);
        break;
      case 'required':
        if (type === 'object') for (const k of rule) if (!(k in (value as object))) errors.push(`${at}: ${k} is required`);
        break;
      case 'properties':
        if (type === 'object') {
          for (const [k, v] of Object.entries(value as object)) if (k in rule) errors.push(...validate(rule[k], v, `${at}.${k}`));
        }
        break;
      case 'additionalProperties':
        if (type === 'object') {
          for (const [k, v] of Object.entries(value as object)) {
            if (schema.properties && k in schema.properties) continue;
            if (rule === false) errors.push(`${at}: unknown key ${k}`);
            else if (rule !== true) errors.push(...validate(rule, v, `${at}.${k}`));
          }
        }
        break;
      case 'propertyNames':
        if (type === 'object') for (const k of Object.keys(value as object)) errors.push(...validate(rule, k, `${at} key ${k}`));
        break;
      default:
        throw new Error(`validate() does not know the JSON Schema keyword ${key} (at ${at})`);
    }
  }
  return errors;
}

/** The pipelines the test suites write: string literals holding a `stages:` map that zod accepts. */
function testPipelines(): { where: string; doc: unknown }[] {
  const found: { where: string; doc: unknown }[] = [];
  const dir = new URL('test/pipeline/', root);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.test.ts'))) {
    const source = readFileSync(new URL(file, dir), 'utf8');
    const literals = [...source.matchAll(/`((?:[^`\\]|\\.)*)`|'((?:[^'\\\n]|\\.)*)'/g)];
    for (const [, template, quoted] of literals) {
      const raw = template ?? quoted;
      if (!/^(?:#.*\n)*stages:/m.test(raw.replaceAll('\\n', '\n')) || /(?<!\\)\$\{/.test(raw)) continue;
      const text = raw.replaceAll('\\n', '\n').replaceAll('\\${', '${').replaceAll("\\'", "'");
      let doc: unknown;
      try {
        doc = parse(text);
      } catch {
        continue;
      }
      if (pipelineSchema.safeParse(doc).success) found.push({ where: file, doc });
    }
  }
  return found;
}

describe('pipelines validate against the published JSON Schema', () => {
  const schema = JSON.parse(readText('schema/mlo.schema.json'));

  it('accepts the example pipeline and the documented examples', () => {
    const docs = [readText('templates/example/mlo.yaml')];
    for (const [, block] of readText('docs/pipelines.md').matchAll(/```yaml\n([\s\S]*?)```/g))
      if (/^stages:/m.test(block) && !/^schema:/m.test(block)) docs.push(block);
    expect(docs.length).toBeGreaterThan(2);
    for (const text of docs) {
      const doc = parse(text);
      expect(pipelineSchema.safeParse(doc).success, text).toBe(true);
      expect(validate(schema, doc), text).toEqual([]);
    }
  });

  it('accepts every pipeline of the test suites that zod accepts', () => {
    const pipelines = testPipelines();
    expect(pipelines.length).toBeGreaterThan(20);
    for (const { where, doc } of pipelines) expect(validate(schema, doc), `${where}: ${JSON.stringify(doc)}`).toEqual([]);
  });

  it('rejects, as zod does, unknown keys, bad stage names and empty commands', () => {
    const bad = [
      { stages: { train: { cmd: 'x', outz: ['a'] } } },
      { stages: { 'a@b': { cmd: 'x' } } },
      { stages: { train: { cmd: '' } } },
      { stages: { train: { cmd: 'x', outs: [{ 'a.txt': { cache: 'no' } }] } } },
      { stage: {} },
    ];
    for (const doc of bad) {
      expect(pipelineSchema.safeParse(doc).success, JSON.stringify(doc)).toBe(false);
      expect(validate(schema, doc), JSON.stringify(doc)).not.toEqual([]);
    }
  });
});
