import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parsePointerFast } from './fastparse.js';
import { pointerSchema } from './schema.js';

const HASH = 'ab'.repeat(32);
const text = (fields: Record<string, unknown>) => `# Tracked by mlo\n${stringify(fields)}`;
/** What the full reader makes of the same text (undefined when it is invalid). */
const slow = (t: string) => {
  const r = pointerSchema.safeParse(parse(t));
  return r.success ? r.data : undefined;
};

describe('parsePointerFast', () => {
  it('reads what writePointer writes, as the YAML reader does', () => {
    for (const fields of [
      { path: 'data', hash: `${HASH}.dir`, algo: 'blake3', size: 1234, files: 3 },
      { path: 'models/model.onnx', hash: HASH, algo: 'blake3', size: 0 },
      { path: 'a_b-c.d', hash: HASH, algo: 'blake3', size: 9007199254740991 },
    ]) {
      const t = text(fields);
      expect(parsePointerFast(t)).toEqual(slow(t));
      expect(parsePointerFast(t)).toEqual(fields);
    }
  });

  it('declines whatever YAML could read differently, leaving it to the full reader', () => {
    const declined = [
      text({ path: 'data', hash: HASH, algo: 'blake3', size: 1, desc: 'a note' }),
      text({ path: 'my data', hash: HASH, algo: 'blake3', size: 1 }),
      text({ path: '2024', hash: HASH, algo: 'blake3', size: 1 }),
      text({ path: 'true', hash: HASH, algo: 'blake3', size: 1 }),
      text({ path: 'x', hash: '1'.repeat(64), algo: 'blake3', size: 1 }),
      text({ path: 'x', hash: `${'1'.repeat(30)}e${'2'.repeat(33)}`, algo: 'blake3', size: 1 }),
      text({ path: '../escape', hash: HASH, algo: 'blake3', size: 1 }),
      text({ path: 'x', hash: HASH, algo: 'md5', size: 1 }),
      text({ path: 'x', hash: HASH, algo: 'blake3', size: 1.5 }),
      text({ path: 'x', hash: HASH, algo: 'blake3', size: 1, extra: 1 }),
      `path: x\npath: y\nhash: ${HASH}\nalgo: blake3\nsize: 1\n`,
      `path: x\r\nhash: ${HASH}\r\nalgo: blake3\r\nsize: 1\r\n`,
      `path: x # comment\nhash: ${HASH}\nalgo: blake3\nsize: 1\n`,
      `hash: ${HASH}\nalgo: blake3\nsize: 1\n`,
    ];
    for (const t of declined) expect(parsePointerFast(t), t).toBeUndefined();
  });
});
