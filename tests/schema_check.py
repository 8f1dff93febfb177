"""tests/schema_check.py -- validates maproot's JSON reports against
doc/schema/maproot.schema.json (the schema the man pages document).

The test scripts that read maproot's JSON call validate(doc, what) on every
report they read, so that every JSON output of the suite is checked; it
raises AssertionError naming the report, the path of the bad field and the
schema's complaint. It needs Python's jsonschema (Debian: python3-jsonschema,
installed by scripts/install-deps).
"""
import json
import os

try:
    import jsonschema
except ImportError:  # pragma: no cover - a message rather than a traceback
    raise SystemExit("tests/schema_check.py: Python's jsonschema is missing "
                     "(scripts/install-deps installs python3-jsonschema)")

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "doc", "schema",
                           "maproot.schema.json")
_validator = None


def schema():
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        return json.load(f)


def _get():
    global _validator
    if _validator is None:
        s = schema()
        cls = jsonschema.validators.validator_for(s)
        cls.check_schema(s)
        _validator = cls(s)
    return _validator


def errors(doc):
    """Every way doc breaks the schema, as 'path: message' lines."""
    out = []
    for e in sorted(_get().iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(str(p) for p in e.absolute_path) or "(top)"
        out.append("%s: %s" % (where, e.message[:300]))
    return out


def validate(doc, what="report"):
    bad = errors(doc)
    if bad:
        raise AssertionError("%s does not follow doc/schema/maproot.schema.json:\n  %s" %
                             (what, "\n  ".join(bad[:10])))
    return doc


def load(path, what=None):
    """Reads a JSON report from path and validates it."""
    with open(path, encoding="utf-8") as f:
        return validate(json.load(f), what or path)
