#!/usr/bin/python3
"""pb_oracle: the protocol's messages in the proto3 JSON mapping, by the
Protocol Buffers project's own Python library (Debian python3-protobuf), as
an oracle independent of wnd's: what a method's JSON over HTTP must equal.

    pb_oracle.py DIR request|reply /Service/Method encode JSON   -> hex
    pb_oracle.py DIR request|reply /Service/Method decode HEX    -> JSON

DIR holds whatsnext_pb2.py (protoc --python_out=DIR proto/whatsnext.proto).
The JSON printed is compact with sorted keys, so equal messages print equal.
"""
import json
import sys

sys.path.insert(0, sys.argv[1])
import whatsnext_pb2  # noqa: E402
from google.protobuf import json_format  # noqa: E402

side, path, verb, arg = sys.argv[2:6]
service, method = path.strip("/").split("/")
m = whatsnext_pb2.DESCRIPTOR.services_by_name[service].methods_by_name[method]
desc = m.input_type if side == "request" else m.output_type
cls = json_format.symbol_database.Default().GetPrototype(desc)
if verb == "encode":
    msg = json_format.Parse(arg, cls())
    print(msg.SerializeToString().hex())
else:
    msg = cls.FromString(bytes.fromhex(arg))
    print(json.dumps(json_format.MessageToDict(msg), sort_keys=True, separators=(",", ":"), ensure_ascii=False))
