#!/usr/bin/python3
"""Independent decoder for the cross-check: Apache Avro's Python implementation (Debian's python3-avro).

Reads one Confluent-framed Avro value (magic byte 0, 4-byte big-endian schema id, Avro binary) on stdin,
fetches the writer schema by id from the registry given as argv[1], decodes and prints the datum as JSON.
"""
import io
import json
import struct
import sys
import urllib.request

import avro.io
import avro.schema

registry_url = sys.argv[1].rstrip("/")
framed = sys.stdin.buffer.read()
if len(framed) < 5 or framed[0] != 0:
    sys.exit(f"not Confluent-framed: {len(framed)} bytes, first byte {framed[:1]!r}")
(schema_id,) = struct.unpack(">I", framed[1:5])
with urllib.request.urlopen(f"{registry_url}/schemas/ids/{schema_id}", timeout=10) as response:
    schema = avro.schema.parse(json.load(response)["schema"])
decoder = avro.io.BinaryDecoder(io.BytesIO(framed[5:]))
datum = avro.io.DatumReader(schema).read(decoder)
json.dump({"schemaId": schema_id, "value": datum}, sys.stdout, sort_keys=True)
