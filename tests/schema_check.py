"""tests/schema_check.py -- validates maproot's JSON reports against
doc/schema/maproot.schema.json (the schema the man pages document).

The test scripts that read maproot's JSON call validate(doc, what) on every
report they read, so that every JSON output of the suite is checked; it
raises AssertionError naming the report, the path of the bad field and the
schema's complaint. It needs Python's jsonschema (Debian: python3-jsonschema,
installed by scripts/install-deps).

A report of tens of thousands of map entries takes jsonschema a minute
(its cost is per node of the document); fastjsonschema (Debian:
python3-fastjsonschema, also installed by scripts/install-deps) compiles
the schema to Python code that checks the same rules some fifteen times
faster. When it is there every report goes through it first, and only a
report it rejects goes through jsonschema, whose messages name every bad
field; without it jsonschema checks everything, as before.
"""
import copy
import json
import os
import sys

try:
    import jsonschema
except ImportError:  # pragma: no cover - a message rather than a traceback
    raise SystemExit("tests/schema_check.py: Python's jsonschema is missing "
                     "(scripts/install-deps installs python3-jsonschema)")


def _import_fastjsonschema():
    """fastjsonschema, from this Python's packages or, when python3 is not
    the system's own (pyenv, a venv), from the system's Debian package (pure
    Python, so any Python 3 of the machine can load it); None without."""
    try:
        import fastjsonschema
        return fastjsonschema
    except ImportError:
        pass
    d = "/usr/lib/python3/dist-packages"
    if os.path.isdir(os.path.join(d, "fastjsonschema")):
        sys.path.append(d)
        try:
            import fastjsonschema
            return fastjsonschema
        except ImportError:
            pass
        finally:
            sys.path.remove(d)
    return None


_fast = _import_fastjsonschema()

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "doc", "schema",
                           "maproot.schema.json")
_validator = None
_fast_validate = None


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


def as_draft7(s):
    """The schema in the draft fastjsonschema knows (7): the same rules, the
    one keyword of a later draft it uses (dependentRequired) spelt as draft 7
    spells it (dependencies with a list of names)."""
    s = copy.deepcopy(s)

    def walk(x):
        if isinstance(x, dict):
            if "dependentRequired" in x:
                x.setdefault("dependencies", {}).update(x.pop("dependentRequired"))
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(s)
    s["$schema"] = "http://json-schema.org/draft-07/schema#"
    return s


def _get_fast():
    global _fast_validate
    if _fast_validate is None and _fast is not None:
        _get()  # the schema itself is checked by jsonschema
        _fast_validate = _fast.compile(as_draft7(schema()))
    return _fast_validate


def errors(doc):
    """Every way doc breaks the schema, as 'path: message' lines."""
    out = []
    for e in sorted(_get().iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(str(p) for p in e.absolute_path) or "(top)"
        out.append("%s: %s" % (where, e.message[:300]))
    return out


def fast_errors(doc):
    """What the compiled schema says of doc: [] when it passes, else its one
    message; None when fastjsonschema is not installed."""
    v = _get_fast()
    if v is None:
        return None
    try:
        v(doc)
    except _fast.JsonSchemaException as e:
        return ["%s (fastjsonschema)" % e.message[:300]]
    return []


def validate(doc, what="report"):
    fast = fast_errors(doc)
    if fast == []:
        return doc
    bad = errors(doc) or fast  # jsonschema names every bad field
    if bad:
        raise AssertionError("%s does not follow doc/schema/maproot.schema.json:\n  %s" %
                             (what, "\n  ".join(bad[:10])))
    return doc


def load(path, what=None):
    """Reads a JSON report from path and validates it."""
    with open(path, encoding="utf-8") as f:
        return validate(json.load(f), what or path)
