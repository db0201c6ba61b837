#!/usr/bin/env python3
"""Validate a JSON document against a JSON Schema (draft 2020-12 or draft-07).

    tests/tools/validate_json_schema.py SCHEMA DOCUMENT

Exits 0 when DOCUMENT is valid; 1 when it is not, printing the first error
(in document order) with its JSON path, e.g.
    result.json: $.steps[0].iterations: 12 is not of type 'string'
2 on a usage error or an unreadable file or schema; 77 (the "skipped" code
of meson and automake) when python3-jsonschema is not installed.
Works with python3-jsonschema 4.10 (Debian 12) and newer.
"""
import json
import sys


def json_path(path):
    text = "$"
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def main(argv):
    if len(argv) != 3:
        print(f"usage: {argv[0]} SCHEMA DOCUMENT", file=sys.stderr)
        return 2
    try:
        import jsonschema
    except ImportError:
        print("python3-jsonschema is not installed (apt-get install python3-jsonschema)", file=sys.stderr)
        return 77
    schema_path, document_path = argv[1], argv[2]
    try:
        with open(schema_path, encoding="utf-8") as f:
            schema = json.load(f)
        with open(document_path, encoding="utf-8") as f:
            document = json.load(f)
    except (OSError, ValueError) as error:
        print(f"cannot read: {error}", file=sys.stderr)
        return 2
    validator_class = jsonschema.validators.validator_for(schema)
    try:
        validator_class.check_schema(schema)
    except jsonschema.exceptions.SchemaError as error:
        print(f"{schema_path}: not a valid schema: {error.message}", file=sys.stderr)
        return 2
    errors = sorted(validator_class(schema).iter_errors(document),
                    key=lambda e: [(0, p, "") if isinstance(p, int) else (1, 0, str(p))
                                   for p in e.absolute_path])
    if not errors:
        return 0
    # The most specific cause of the first error: for anyOf/oneOf the
    # sub-error deepest in the document says what is actually wrong.
    first = errors[0]
    best = jsonschema.exceptions.best_match([first])
    print(f"{document_path}: {json_path(best.absolute_path)}: {best.message}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
