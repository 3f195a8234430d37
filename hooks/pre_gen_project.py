"""Before anything is written: the cookiecutter version, then every answer again.

The answers were checked when the last question was answered (hooks/answers.py); this
runs the same checks for runs that skip the questions (`--replay`) and refuses a
cookiecutter too old for this template. A non-zero exit makes cookiecutter remove the
half-made output.
"""

import json
import re
import sys
from importlib.metadata import PackageNotFoundError, version

MIN_COOKIECUTTER = (2, 7)
ANSWERS = json.loads(r"""{{ cookiecutter | jsonify }}""")


def require_cookiecutter():
    try:
        found = version("cookiecutter")
    except PackageNotFoundError:
        return []
    if tuple(int(part) for part in re.findall(r"\d+", found)[:2]) < MIN_COOKIECUTTER:
        return [
            f"cookiecutter: version {found} is too old for this template; it needs 2.7 or "
            "newer (JSON booleans and labelled prompts). Upgrade with: "
            "pip install 'cookiecutter>=2.7'"
        ]
    return []


def main():
    errors = require_cookiecutter()
    if errors:
        print("\n" + errors[0], file=sys.stderr)
        sys.exit(1)
    if "_repo_dir" not in ANSWERS:  # cruft: it always asks (or takes) the questions, so they were checked
        return
    sys.path.insert(0, ANSWERS["_repo_dir"])  # hooks cannot import their neighbours otherwise
    from hooks.answers import problems, report

    errors = problems(ANSWERS)
    if errors:
        print("\n" + report(errors), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
