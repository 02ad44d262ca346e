/**
 * A minimal protobuf wire-format reader: enough to read the ONNX ModelProto fields mlo inspects (the
 * writer that builds test models is test/support/protobuf-writer.ts). No .proto file is needed; callers
 * name fields by number. Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32 (3/4, groups,
 * are obsolete).
 *
 * Why not protobufjs: measured on 2 cores, protobufjs/light with an onnx.proto subset decodes as fast
 * (0.3 ms for a small MLP, 2-3 ms for 5,000 nodes, initializers skipped either way), but loading it and
 * building the schema costs ~70 ms of CPU per process against ~16 ms to load this reader and parse, on
 * the path of `mlo model inspect`, `mlo model package` and serving.
 */
import { MloError } from '../../base/errors.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export interface Field {
  field: number;
  wire: number;
  /** Varint and fixed values (as a number: ONNX dims and versions fit in 2^53). */
  value: number;
  /** Length-delimited payload (a view into the original buffer, not a copy). */
  bytes?: Uint8Array;
}

function corrupt(what: string): MloError {
  return new MloError('MLO_BAD_ONNX', `not a valid ONNX file: ${what}`, {
    hint: 'check that the file is an ONNX model (a protobuf ModelProto), not truncated or saved in another format',
  });
}

/** Iterates the top-level fields of one message. */
export function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const end = buf.length;
  // Up to 7 bytes (49 bits) add up exactly in a double; longer varints (negative int64 values are
  // always 10 bytes) go through BigInt and come back as a signed int64.
  const varint = (): number => {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      if (pos >= end) throw corrupt('truncated varint');
      const b = buf[pos++];
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    let big = BigInt(result);
    let shift = 49n;
    for (let i = 7; i < 10; i++) {
      if (pos >= end) throw corrupt('truncated varint');
      const b = buf[pos++];
      big |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return Number(BigInt.asIntN(64, big));
      shift += 7n;
    }
    throw corrupt('varint longer than 10 bytes');
  };
  while (pos < end) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 0) throw corrupt('field number 0');
    switch (wire) {
      case WIRE_VARINT:
        yield { field, wire, value: varint() };
        break;
      case WIRE_FIXED64: {
        if (pos + 8 > end) throw corrupt('truncated fixed64');
        const v = new DataView(buf.buffer, buf.byteOffset + pos, 8).getFloat64(0, true);
        pos += 8;
        yield { field, wire, value: v };
        break;
      }
      case WIRE_LEN: {
        const len = varint();
        if (pos + len > end) throw corrupt(`field ${field} runs past the end of its message`);
        const bytes = buf.subarray(pos, pos + len);
        pos += len;
        yield { field, wire, value: len, bytes };
        break;
      }
      case WIRE_FIXED32: {
        if (pos + 4 > end) throw corrupt('truncated fixed32');
        const v = new DataView(buf.buffer, buf.byteOffset + pos, 4).getFloat32(0, true);
        pos += 4;
        yield { field, wire, value: v };
        break;
      }
      default:
        throw corrupt(`unsupported wire type ${wire} at field ${field}`);
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

export function str(f: Field): string {
  return f.bytes ? utf8.decode(f.bytes) : '';
}

/** An int64 field's value (varint() already returns values past 2^49 as signed int64). */
export function int64(f: Field): number {
  return f.value;
}
