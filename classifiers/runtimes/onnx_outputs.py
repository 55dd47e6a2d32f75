"""Expose an intermediate value of an ONNX graph as an extra graph output, on the model bytes.

onnxruntime returns only graph outputs, and the base install has no ``onnx``
package; this writes the few protobuf fields by hand (hand-written because the
edit is four length-delimited fields, not worth a 100 MB dependency).
Field numbers from onnx.proto: ModelProto.graph = 7, GraphProto.output = 12,
ValueInfoProto.name = 1, ValueInfoProto.type = 2, TypeProto.tensor_type = 1,
TypeProto.Tensor.elem_type = 1 (FLOAT = 1); wire format from
https://protobuf.dev/programming-guides/encoding/.
"""
from __future__ import annotations

__all__ = ["add_output"]

_FLOAT = 1


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated protobuf varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def add_output(model: bytes, name: str) -> bytes:
    """``model`` (ONNX ModelProto bytes) with value ``name`` (float32) appended to the graph outputs.

    :raises ValueError: when the bytes are not a ModelProto with a graph
    """
    value_info = _field(1, name.encode()) + _field(2, _field(1, _varint(1 << 3 | 0) + _varint(_FLOAT)))
    out = bytearray()
    pos, found = 0, False
    while pos < len(model):
        start = pos
        tag, pos = _read_varint(model, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            _, pos = _read_varint(model, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = _read_varint(model, pos)
            if pos + length > len(model):
                raise ValueError("truncated protobuf message")
            if number == 7:
                graph = model[pos:pos + length] + _field(12, value_info)
                out += _field(7, graph)
                pos += length
                found = True
                continue
            pos += length
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if pos > len(model):
            raise ValueError("truncated protobuf message")
        out += model[start:pos]
    if not found:
        raise ValueError("no graph in the ONNX model")
    return bytes(out)
