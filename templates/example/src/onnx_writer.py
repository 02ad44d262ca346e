"""Writes a linear classifier as an ONNX model with the Python standard library only.

The graph is probability = Sigmoid(MatMul(input, W) + B): input float[N, F], output float[N, 1]. The
protobuf is encoded by hand (ONNX's onnx.proto field numbers), so the model is a real ONNX file that
onnxruntime, netron and `mlo model inspect` read, even on a machine without the onnx package.
"""
import struct


def _varint(n):
    out = bytearray()
    n &= (1 << 64) - 1  # int64 fields: negative numbers as two's complement
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _int(field, n):
    return _varint(field << 3) + _varint(n)


def _bytes(field, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return _varint((field << 3) | 2) + _varint(len(data)) + data


def _tensor(name, dims, values):
    # TensorProto: dims=1, data_type=2 (1 = FLOAT), name=8, raw_data=9 (little-endian)
    body = b"".join(_int(1, d) for d in dims) + _int(2, 1) + _bytes(8, name)
    return body + _bytes(9, struct.pack("<%df" % len(values), *values))


def _value_info(name, dims):
    # ValueInfoProto{name=1, type=2: TypeProto{tensor_type=1: {elem_type=1, shape=2: {dim=1: {dim_value=1 | dim_param=2}}}}}
    shape = b"".join(_bytes(1, _bytes(2, d) if isinstance(d, str) else _int(1, d)) for d in dims)
    tensor_type = _int(1, 1) + _bytes(2, shape)
    return _bytes(1, name) + _bytes(2, _bytes(1, tensor_type))


def _node(op, inputs, outputs, name):
    # NodeProto: input=1, output=2, name=3, op_type=4
    return b"".join(_bytes(1, i) for i in inputs) + b"".join(_bytes(2, o) for o in outputs) + _bytes(3, name) + _bytes(4, op)


def linear_classifier_onnx(weights, bias, feature_names, doc=""):
    """ONNX bytes of probability = sigmoid(input @ weights + bias)."""
    n = len(weights)
    graph = b"".join(
        [
            _bytes(1, _node("MatMul", ["input", "W"], ["logit_raw"], "matmul")),
            _bytes(1, _node("Add", ["logit_raw", "B"], ["logit"], "add")),
            _bytes(1, _node("Sigmoid", ["logit"], ["probability"], "sigmoid")),
            _bytes(2, "linear_classifier"),
            _bytes(5, _tensor("W", [n, 1], [float(w) for w in weights])),
            _bytes(5, _tensor("B", [1], [float(bias)])),
            _bytes(10, doc),
            _bytes(11, _value_info("input", ["N", n])),
            _bytes(12, _value_info("probability", ["N", 1])),
        ]
    )
    meta = _bytes(1, "features") + _bytes(2, ",".join(feature_names))
    # ModelProto: ir_version=1, producer_name=2, producer_version=3, graph=7, opset_import=8, metadata_props=14
    return b"".join(
        [
            _int(1, 7),
            _bytes(2, "mlo-example"),
            _bytes(3, "1"),
            _bytes(7, graph),
            _bytes(8, _bytes(1, "") + _int(2, 13)),
            _bytes(14, meta),
        ]
    )
