"""Parameters of one stack: a section of infra/params/<env>.json, checked against its template.

    ecs-model-tools stack-params ENV SECTION [Key=Value ...]      (SECTION: infra or api)

Prints one Key=Value line per parameter (the file's section, then the arguments) for
`aws cloudformation deploy --parameter-overrides`. Before anything reaches AWS it fails,
naming each parameter, on what cross_stack.py's parameter_problems finds (the check
`make validate` runs), with the values the deploy script passes checked too.
"""

import json
import sys

from . import cross_stack  # the templates, the parameter files and their checks


def main(argv: list[str]) -> int:
    env, section, *extra = argv
    params_file, (template_file, _) = f"infra/params/{env}.json", cross_stack.PARAMETER_FILES[section]
    passed = dict(pair.split("=", 1) for pair in extra)
    try:
        given = json.loads((cross_stack.ROOT / params_file).read_text())[section]
    except (OSError, ValueError, KeyError) as error:
        print(f"error: {params_file}: no readable section {section!r} ({error})", file=sys.stderr)
        return 1
    declared = cross_stack.load(cross_stack.INFRA / template_file).get("Parameters") or {}
    found = cross_stack.parameter_problems(
        f"{params_file}: {section}", f"infra/{template_file}", declared, given, passed
    )
    if found:
        print(f"error: parameters for infra/{template_file} ({params_file}, {section!r}) are wrong:", file=sys.stderr)
        for problem in found:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    for key, value in {**given, **passed}.items():
        print(f"{key}={cross_stack.as_text(value)}")
    return 0
