"""The API's request schema against its committed snapshot (docs/openapi.json): a change that breaks
clients (a new required field, a removed field, a narrowed range or set of values, another type)
is named, with what to do. `make validate` runs it (ecs-model-tools validate, check "openapi").

    ecs-model-tools openapi            # compare, as make validate does
    ecs-model-tools openapi --accept   # write the current schema as the snapshot

The first run writes the snapshot; later ones never change it: accepting is a decision.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path.cwd()  # the project's root: make, the pipeline and the bake run every command there
SNAPSHOT = Path("docs/openapi.json")
ACCEPT = "ecs-model-tools openapi --accept"
WHAT_TO_DO = (
    "clients that send what the snapshot allowed would get a 422. Keep the old field or range in "
    "contract.py, or tell every client and release it as a new contract version (docs/deploying.md); "
    f"then record the new schema: {ACCEPT}"
)


def current_schema(root: Path = ROOT) -> dict:
    """The OpenAPI schema the service publishes, from a fresh interpreter (the package's own app)."""
    [package] = {path.parent.name for path in root.glob("*/contract.py")}
    code = f"import json; from {package}.main import app; print(json.dumps(app.openapi()))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "no output")
    return json.loads(proc.stdout.splitlines()[-1])


def request_schemas(schema: dict) -> dict[str, dict]:
    """The component schemas that request bodies name, and those their properties name in turn."""
    components = schema.get("components", {}).get("schemas", {})
    refs = [
        body["content"]["application/json"]["schema"].get("$ref", "")
        for path in schema.get("paths", {}).values()
        for operation in path.values()
        if isinstance(operation, dict) and (body := operation.get("requestBody"))
    ]
    names, found = [ref.rsplit("/", 1)[-1] for ref in refs if ref], {}
    while names:
        name = names.pop()
        if name in found or name not in components:
            continue
        found[name] = components[name]
        names += [ref.rsplit("/", 1)[-1] for ref in _refs(components[name])]
    return found


def _refs(node) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _value(schema: dict) -> dict:
    """A property's schema without its optional null alternative."""
    options = [option for option in schema.get("anyOf", [schema]) if option.get("type") != "null"]
    value = options[0] if len(options) == 1 else {"anyOf": options}
    return {**value, **{key: item for key, item in schema.items() if key != "anyOf"}}


def narrowed(field: str, old: dict, new: dict) -> list[str]:
    old, new = _value(old), _value(new)
    found = []
    if old.get("type") != new.get("type") or old.get("$ref") != new.get("$ref"):
        found.append(f"{field}: type {old.get('type') or old.get('$ref')} became {new.get('type') or new.get('$ref')}")
    if "enum" in old and set(old["enum"]) - set(new.get("enum", old["enum"])):
        found.append(f"{field}: no longer allows {sorted(set(old['enum']) - set(new['enum']), key=str)}")
    for bound in ("minimum", "exclusiveMinimum", "minLength"):
        if bound in new and (bound not in old or new[bound] > old[bound]):
            found.append(f"{field}: {bound} {old.get(bound, 'none')} became {new[bound]}")
    for bound in ("maximum", "exclusiveMaximum", "maxLength", "maxItems"):
        if bound in new and (bound not in old or new[bound] < old[bound]):
            found.append(f"{field}: {bound} {old.get(bound, 'none')} became {new[bound]}")
    return found


def breaking_changes(old: dict, new: dict) -> list[str]:
    """What a client sending requests that `old` allowed would now be refused for."""
    found = []
    old_schemas, new_schemas = request_schemas(old), request_schemas(new)
    for name, before in old_schemas.items():
        after = new_schemas.get(name)
        if after is None:
            found.append(f"{name}: the request body is gone")
            continue
        fields, new_fields = before.get("properties", {}), after.get("properties", {})
        for field in fields.keys() - new_fields.keys():
            found.append(f"{name}.{field}: removed")
        for field in set(after.get("required", [])) - set(before.get("required", [])):
            found.append(f"{name}.{field}: " + ("now required" if field in fields else "new and required"))
        for field in fields.keys() & new_fields.keys():
            found += [f"{name}.{change}" for change in narrowed(field, fields[field], new_fields[field])]
    return sorted(found)


def check(root: Path = ROOT) -> tuple[str, str, list[str]]:
    """(status, summary, details) for the validator: pass, warn or skip."""
    try:
        schema = current_schema(root)
    except (RuntimeError, ValueError) as error:
        return "skip", f"the service's schema could not be built ({error}): run `make install`", []
    snapshot = root / SNAPSHOT
    if not snapshot.is_file():
        write(snapshot, schema)
        return "pass", f"wrote the first snapshot, {SNAPSHOT}: commit it", []
    breaking = breaking_changes(json.loads(snapshot.read_text()), schema)
    if breaking:
        return (
            "warn",
            f"{len(breaking)} breaking changes to the request schema since {SNAPSHOT}",
            [
                *breaking,
                f"what to do: {WHAT_TO_DO}",
            ],
        )
    return "pass", f"no breaking change to the request schema since {SNAPSHOT}", []


def write(path: Path, schema: dict) -> None:
    path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ecs-model-tools openapi", description=__doc__.splitlines()[0])
    parser.add_argument("--accept", action="store_true", help="write the current schema as the snapshot")
    if parser.parse_args(argv).accept:
        write(ROOT / SNAPSHOT, current_schema())
        print(f"wrote {SNAPSHOT}")
        return 0
    status, summary, details = check()
    print(f"{status}: {summary}", *details, sep="\n  ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
