"""Before anything is written: the cookiecutter version, then every answer again.

The answers were checked when the last question was answered (hooks/answers.py); this
runs the same checks for runs that skip the questions (`--replay`) and refuses a
cookiecutter too old for this template. A non-zero exit makes cookiecutter remove the
half-made output.
"""

import json
import os
import re
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

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
    # The template as cookiecutter was given it, relative to where it ran (hooks run inside the
    # project). cruft gives none, but it always asks (or takes) the questions: they were checked.
    template = Path(os.environ.get("PWD", "."), ANSWERS.get("_repo_dir", "")).resolve()
    if not (template / "hooks" / "answers.py").is_file():
        return
    sys.path.insert(0, str(template))  # hooks cannot import their neighbours otherwise
    from hooks.answers import problems, report

    errors = problems(ANSWERS)
    if errors:
        print("\n" + report(errors), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
