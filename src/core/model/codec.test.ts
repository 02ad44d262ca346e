import { describe, expect, it } from 'vitest';
import { decodeExample, decodeInvocations, decodeV2, encodeFlat, encodeNested, parseJson, type Signature } from './codec.js';
import { InputError, toNested, toTensorValue } from './runtime.js';

const sig: Signature = {
  inputs: [{ name: 'x', type: 'float32', shape: ['batch', 3] }],
  outputs: [{ name: 'y', type: 'float32', shape: ['batch', 1] }],
};
const two: Signature = {
  inputs: [
    { name: 'age', type: 'float32', shape: ['batch'] },
    { name: 'plan', type: 'int64', shape: ['batch', 1] },
  ],
  outputs: [{ name: 'y', type: 'float32', shape: ['batch'] }],
};

const rows = (f: ReturnType<typeof decodeInvocations>, name = 'x') => ({ dims: f[name].dims, data: [...(f[name].data as Float32Array)] });

describe('MLflow /invocations payloads', () => {
  it('inputs as an array, as a map, instances, dataframe_split and dataframe_records agree', () => {
    const want = { dims: [2, 3], data: [1, 2, 3, 4, 5, 6] };
    expect(
      rows(
        decodeInvocations(sig, {
          inputs: [
            [1, 2, 3],
            [4, 5, 6],
          ],
        }),
      ),
    ).toEqual(want);
    expect(
      rows(
        decodeInvocations(sig, {
          inputs: {
            x: [
              [1, 2, 3],
              [4, 5, 6],
            ],
          },
        }),
      ),
    ).toEqual(want);
    expect(
      rows(
        decodeInvocations(sig, {
          instances: [
            [1, 2, 3],
            [4, 5, 6],
          ],
        }),
      ),
    ).toEqual(want);
    expect(
      rows(
        decodeInvocations(sig, {
          dataframe_split: {
            columns: ['a', 'b', 'c'],
            data: [
              [1, 2, 3],
              [4, 5, 6],
            ],
          },
        }),
      ),
    ).toEqual(want);
    expect(
      rows(
        decodeInvocations(sig, {
          dataframe_records: [
            { a: 1, b: 2, c: 3 },
            { a: 4, b: 5, c: 6 },
          ],
        }),
      ),
    ).toEqual(want);
  });

  it('maps named columns to several inputs, and uses the signature columns when given', () => {
    const f = decodeInvocations(two, {
      dataframe_split: {
        columns: ['plan', 'age'],
        data: [
          [1, 30],
          [2, 40],
        ],
      },
    });
    expect(f.age.dims).toEqual([2]);
    expect([...(f.plan.data as BigInt64Array)]).toEqual([1n, 2n]);
    expect(f.plan.dims).toEqual([2, 1]);
    const withCols = { ...sig, columns: ['c', 'a', 'b'] };
    expect(rows(decodeInvocations(withCols, { dataframe_records: [{ a: 1, b: 2, c: 3 }] }))).toEqual({ dims: [1, 3], data: [3, 1, 2] });
    expect(() => decodeInvocations(withCols, { dataframe_records: [{ a: 1, b: 2 }] })).toThrow("missing feature column c; input 'x' takes c, a, b (got a, b)");
  });

  it('names the input and what was expected on every bad request', () => {
    const bad = (body: unknown) => {
      try {
        decodeInvocations(sig, body);
      } catch (err) {
        expect(err).toBeInstanceOf(InputError);
        return (err as Error).message;
      }
      throw new Error('no error');
    };
    expect(bad({ inputs: [[1, 2]] })).toBe("input 'x' has shape [1, 2]; expected [batch, 3] (dimension 1 must be 3)");
    expect(bad({ inputs: [[1, 2, 'a']] })).toBe(`input 'x' holds "a" at flat index 2; expected finite float32 numbers`);
    expect(bad({ inputs: [[1, 2, null]] })).toBe("input 'x' holds null at flat index 2; expected finite float32 numbers");
    expect(
      bad({
        inputs: [
          [1, 2, 3],
          [4, 5],
        ],
      }),
    ).toMatch(/input 'x' is ragged/);
    expect(bad({ inputs: [[[1, 2, 3]]] })).toMatch(/input 'x' has shape \[1, 1, 3\] \(rank 3\); expected \[batch, 3\] \(rank 2\)/);
    expect(bad({ inputs: { y: [[1, 2, 3]] } })).toMatch(/input 'x' is missing/);
    expect(bad({})).toMatch(/needs one of inputs, instances/);
    expect(bad({ inputs: [], instances: [] })).toMatch(/exactly one of/);
    expect(bad({ inputs: [[1, 2, 1e999]] })).toMatch(/holds NaN or Infinity at flat index 2/);
  });

  it('accepts a single row without the batch dimension', () => {
    expect(rows(decodeInvocations(sig, { inputs: [1, 2, 3] }))).toEqual({ dims: [1, 3], data: [1, 2, 3] });
  });
});

describe('Open Inference Protocol v2', () => {
  it('reads flat and nested data with shape and datatype', () => {
    const r = decodeV2(sig, { id: 'r1', inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] }], outputs: [{ name: 'y' }] });
    expect(r.id).toBe('r1');
    expect(r.outputs).toEqual(['y']);
    expect(rows(r.feeds)).toEqual({ dims: [2, 3], data: [1, 2, 3, 4, 5, 6] });
    expect(rows(decodeV2(sig, { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [[1, 2, 3]] }] }).feeds).data).toEqual([1, 2, 3]);
  });

  it('rejects wrong datatype, shape, size, unknown and missing inputs', () => {
    const one = (t: Record<string, unknown>) => () => decodeV2(sig, { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3], ...t }] });
    expect(one({ datatype: 'INT64' })).toThrow("input 'x' has datatype INT64; expected FP32");
    expect(one({ shape: [1, 4], data: [1, 2, 3, 4] })).toThrow('dimension 1 must be 3');
    expect(one({ data: [1, 2] })).toThrow("input 'x' has 2 values but its shape needs 3");
    expect(one({ name: 'z' })).toThrow("unknown input 'z'");
    expect(() => decodeV2(sig, { inputs: [] })).toThrow("input 'x' is missing");
    expect(one({ shape: 'x' })).toThrow("needs a 'shape'");
  });
});

describe('JSON edge cases', () => {
  it('reports NaN and Infinity tokens as such, not as a syntax error', () => {
    const body = parseJson('{"inputs": [[1, NaN, -Infinity]], "note": "NaN stays a string"}') as Record<string, unknown>;
    expect(body.note).toBe('NaN stays a string');
    expect(() => decodeInvocations(sig, body)).toThrow("input 'x' holds NaN or Infinity at flat index 1");
    expect(() => parseJson('{"inputs": [[1, 2')).toThrow(/^malformed JSON/);
  });

  it('checks integer ranges and booleans', () => {
    expect(() => toTensorValue({ name: 'i', type: 'int8', shape: [2] }, [1, 300])).toThrow("input 'i' holds 300 at flat index 1; expected int8 integers");
    expect(() => toTensorValue({ name: 'i', type: 'int32', shape: [1] }, [1.5])).toThrow('expected int32 integers');
    expect([...(toTensorValue({ name: 'b', type: 'bool', shape: [2] }, [true, false]).data as Uint8Array)]).toEqual([1, 0]);
  });

  it('input examples may be a bare array, an input map or a request body', () => {
    expect(rows(decodeExample(sig, [[1, 2, 3]])).dims).toEqual([1, 3]);
    expect(rows(decodeExample(sig, { x: [[1, 2, 3]] })).dims).toEqual([1, 3]);
    expect(rows(decodeExample(sig, { instances: [[1, 2, 3]] })).dims).toEqual([1, 3]);
  });
});

describe('encoding', () => {
  it('nests by dims, writes null for NaN, numbers for int64', () => {
    const f = Float32Array.from([1, 2, NaN, 4, 5, 6]);
    expect(encodeNested('float32', f, [2, 3])).toBe('[[1,2,null],[4,5,6]]');
    expect(encodeNested('float32', f, [3, 1, 2])).toBe('[[[1,2]],[[null,4]],[[5,6]]]');
    expect(encodeFlat('int64', BigInt64Array.from([1n, -2n]))).toBe('[1,-2]');
    expect(encodeFlat('bool', Uint8Array.from([1, 0]))).toBe('[true,false]');
    expect(JSON.parse(encodeNested('float32', Float32Array.from([0.1]), [1, 1]))[0][0]).toBeCloseTo(0.1, 6);
    expect(toNested('int64', BigInt64Array.from([1n, 2n, 3n, 4n]), [2, 2])).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });
});
