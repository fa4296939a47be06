"""Validates Airbyte protocol messages against the official models.

Reads JSON lines from the files named on the command line (or stdin), parses
each with `airbyte_protocol.models.AirbyteMessage` (PyPI
`airbyte-protocol-models`), and prints one line per invalid message. Exits 1
when any line is invalid, 0 otherwise.
"""
import json
import sys

from airbyte_protocol.models import AirbyteMessage


def validate(stream, name):
    bad = 0
    for n, line in enumerate(stream, 1):
        line = line.rstrip("\n")
        if not line.strip():
            print(f"{name}:{n}: empty line on stdout")
            bad += 1
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            print(f"{name}:{n}: not JSON ({e}): {line[:200]}")
            bad += 1
            continue
        if not isinstance(obj, dict):
            print(f"{name}:{n}: not a JSON object: {line[:200]}")
            bad += 1
            continue
        try:
            if hasattr(AirbyteMessage, "model_validate"):
                AirbyteMessage.model_validate(obj)
            else:
                AirbyteMessage.parse_obj(obj)
        except Exception as e:  # pydantic's ValidationError, whichever version
            msg = str(e).replace("\n", " | ")
            print(f"{name}:{n}: invalid Airbyte message ({msg}): {line[:300]}")
            bad += 1
    return bad


def main():
    bad = 0
    if len(sys.argv) > 1:
        for path in sys.argv[1:]:
            with open(path, encoding="utf-8") as f:
                bad += validate(f, path)
    else:
        bad += validate(sys.stdin, "stdin")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
