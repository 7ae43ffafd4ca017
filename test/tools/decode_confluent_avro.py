#!/usr/bin/python3
"""Independent decoder for the cross-check: Apache Avro's Python implementation (Debian's python3-avro).

Reads one Confluent-framed Avro value (magic byte 0, 4-byte big-endian schema id, Avro binary) on stdin,
fetches the writer schema by id from the registry given as argv[1], decodes and prints the datum as JSON.
A registry behind HTTPS and basic auth is reached with the services' settings: SCHEMA_REGISTRY_USERNAME,
SCHEMA_REGISTRY_PASSWORD_FILE and SCHEMA_REGISTRY_CA_FILE.
"""
import base64
import io
import json
import os
import ssl
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
request = urllib.request.Request(f"{registry_url}/schemas/ids/{schema_id}")
if os.environ.get("SCHEMA_REGISTRY_USERNAME"):
    with open(os.environ["SCHEMA_REGISTRY_PASSWORD_FILE"], encoding="utf-8") as secret:
        credentials = f"{os.environ['SCHEMA_REGISTRY_USERNAME']}:{secret.read().strip()}"
    request.add_header("Authorization", "Basic " + base64.b64encode(credentials.encode()).decode())
context = ssl.create_default_context(cafile=os.environ.get("SCHEMA_REGISTRY_CA_FILE"))
with urllib.request.urlopen(request, timeout=10, context=context) as response:
    schema = avro.schema.parse(json.load(response)["schema"])
decoder = avro.io.BinaryDecoder(io.BytesIO(framed[5:]))
datum = avro.io.DatumReader(schema).read(decoder)
json.dump({"schemaId": schema_id, "value": datum}, sys.stdout, sort_keys=True)
