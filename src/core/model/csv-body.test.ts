import { describe, expect, it } from 'vitest';
import { parseCsvBody } from './csv-body.js';

describe('parseCsvBody', () => {
  it('reads a header and rows: quotes, doubled quotes, CRLF, numbers, empty cells and a blank last line', () => {
    expect(parseCsvBody('id,"name, full",x\r\n1,"a ""b""",2.5e1\r\n2,,-.5\r\n\r\n')).toEqual({
      columns: ['id', 'name, full', 'x'],
      rows: [
        [1, 'a "b"', 25],
        [2, null, -0.5],
      ],
    });
  });

  it('refuses what pandas.read_csv would not read as a table', () => {
    expect(() => parseCsvBody('')).toThrow('the CSV body is empty');
    expect(() => parseCsvBody('a,b\n')).toThrow('the CSV body has a header but no rows');
    expect(() => parseCsvBody('a,,b\n1,2,3\n')).toThrow('the CSV header has an empty column name');
    expect(() => parseCsvBody('a,b\n1,2\n3\n')).toThrow('row 2 of the CSV body has 1 values; the header names 2 columns');
    expect(() => parseCsvBody('a,b\n1,"2\n')).toThrow('the CSV body has an unclosed quote in row 2');
  });
});
