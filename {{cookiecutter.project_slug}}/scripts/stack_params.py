"""Parameters of one stack: a section of infra/params/<env>.json, checked against the template.

    python scripts/stack_params.py infra/params/dev.json api infra/api.yaml [Key=Value ...]

Prints one Key=Value line per parameter (the file's section, then the arguments) for
`aws cloudformation deploy --parameter-overrides`. Before anything reaches AWS it fails,
naming the parameter, when a key is not in the template, a parameter without a default is
missing, or a value breaks the template's AllowedValues, AllowedPattern or MinValue/MaxValue.
"""

import json
import re
import sys
from pathlib import Path

import cross_stack  # scripts/cross_stack.py: CloudFormation-aware YAML


def problems(template: dict, values: dict[str, str]) -> list[str]:
    declared = template.get("Parameters") or {}
    found = [f"{key}: not a parameter of the template" for key in values if key not in declared]
    for key, spec in declared.items():
        if key not in values:
            if "Default" not in spec:
                found.append(f"{key}: required by the template but not given")
            continue
        value = values[key]
        allowed = [str(v) for v in spec.get("AllowedValues", [])]
        if allowed and value not in allowed:
            found.append(f"{key}: {value!r} is not one of {', '.join(allowed)}")
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, value):
            found.append(f"{key}: {value!r} does not match {pattern}")
        if spec.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                found.append(f"{key}: {value!r} is not a number")
                continue
            if "MinValue" in spec and number < float(spec["MinValue"]):
                found.append(f"{key}: {value} is below the minimum {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                found.append(f"{key}: {value} is above the maximum {spec['MaxValue']}")
    return found


def as_text(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def main(argv: list[str]) -> int:
    params_file, section, template_file, *extra = argv
    try:
        given = json.loads(Path(params_file).read_text())[section]
    except (OSError, ValueError, KeyError) as error:
        print(f"error: {params_file}: no readable section {section!r} ({error})", file=sys.stderr)
        return 1
    values = {key: as_text(value) for key, value in given.items()}
    values.update(pair.split("=", 1) for pair in extra)
    found = problems(cross_stack.load(Path(template_file)), values)
    if found:
        print(f"error: parameters for {template_file} ({params_file}, {section!r}) are wrong:", file=sys.stderr)
        for problem in found:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    for key, value in values.items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
