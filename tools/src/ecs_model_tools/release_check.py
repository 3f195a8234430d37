"""The release check: ECS's lifecycle hook for canary and linear releases (infra/api.yaml).

ECS calls `handler` once the test listener rule points at the new revision and before any
production traffic moves to it (POST_TEST_TRAFFIC_SHIFT). It sends each documented example that
model.json records to the single-prediction route through the test listener rule (the header
X-Release-Check) and compares each answer with the recorded one: every number within
model.json's "tolerance", every other value equal, and model_version equal to model.json's
"version" (so the answer came from the model being released). A different answer, an error
status, an unreadable answer or a timeout returns FAILED: ECS then rolls the release back
before production sees it. Standard library only: the deploy packages this file, as it is, with
the project's model/artifacts/model.json beside it (`package`, run by scripts/deploy-api.sh as
`ecs-model-tools release-check FOLDER MODEL_JSON`).
"""

import json
import math
import os
import shutil
import sys
import urllib.error
import urllib.request
from pathlib import Path

EXPECTED = Path(__file__).with_name("model.json")
HEADER = "X-Release-Check"  # the test listener rule's condition (infra/routing.yaml)
SPARE_SECONDS = 2  # stop asking this long before Lambda's own timeout, to answer FAILED in time


def load(path: Path | None = None) -> dict:
    """model.json (the one packaged beside this file by default), with the keys the check reads."""
    path = Path(path or EXPECTED)
    model = json.loads(path.read_text())
    missing = [key for key in ("version", "tolerance", "examples") if key not in model]
    if missing:
        raise ValueError(f"{path.name} records no {', '.join(missing)} (make train writes them)")
    if not model["examples"]:
        raise ValueError(f"{path.name} records no documented example")
    return model


def is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def differences(expected, served, tolerance: float, where: str) -> list[str]:
    """Where `served` differs from `expected`: numbers by more than `tolerance`, anything else at all."""
    if is_number(expected):
        if is_number(served) and math.isfinite(served) and abs(served - expected) <= tolerance:
            return []
        return [f"{where}: {served!r}, expected {expected!r} within {tolerance}"]
    if isinstance(expected, dict) and isinstance(served, dict):
        if set(expected) != set(served):
            return [f"{where}: keys {sorted(served)}, expected {sorted(expected)}"]
        return [d for key in expected for d in differences(expected[key], served[key], tolerance, f"{where}.{key}")]
    if isinstance(expected, list) and isinstance(served, list) and len(expected) == len(served):
        return [
            d
            for i, pair in enumerate(zip(expected, served, strict=True))
            for d in differences(*pair, tolerance, f"{where}[{i}]")
        ]
    return [] if served == expected else [f"{where}: {served!r}, expected {expected!r}"]


def ask(url: str, body: dict, header_value: str, timeout: float) -> dict:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"PREDICTION_URL {url!r} is not an http(s) URL")
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", HEADER: header_value},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.loads(response.read())


def check(url: str, model: dict, header_value: str, timeout: float, seconds_left=lambda: math.inf) -> list[str]:
    """What is wrong with the revision's answers to the documented examples; empty if nothing."""
    problems = []
    for number, example in enumerate(model["examples"], 1):
        where = f"example {number}"
        if seconds_left() < timeout + SPARE_SECONDS:
            return [*problems, f"{where} and after: not asked, the check ran out of time"]
        try:
            answer = ask(url, example["request"], header_value, timeout)
        except urllib.error.HTTPError as error:
            problems.append(f"{where}: HTTP {error.code} {error.read()[:300].decode(errors='replace')}")
            continue
        except (OSError, ValueError) as error:  # refused, timed out, not JSON
            problems.append(f"{where}: no answer ({error})")
            continue
        if not isinstance(answer, dict):
            problems.append(f"{where}: {answer!r} is not a JSON object")
            continue
        version = answer.pop("model_version", None)
        if version != model["version"]:
            problems.append(
                f"{where}: model_version {version!r}, expected {model['version']!r} (another model answered)"
            )
        problems += differences(example["response"], answer, float(model["tolerance"]), where)
    return problems


def handler(event, context) -> dict:
    """ECS's lifecycle hook: {"hookStatus": "SUCCEEDED"} when every answer matches, else FAILED."""
    revision = (event or {}).get("targetServiceRevisionArn", "the new revision")
    try:
        model = load()
        problems = check(
            os.environ["PREDICTION_URL"],
            model,
            os.environ["RELEASE_CHECK_HEADER"],
            float(os.environ.get("REQUEST_TIMEOUT_SECONDS", "5")),
            (lambda: context.get_remaining_time_in_millis() / 1000) if context else (lambda: math.inf),
        )
    except Exception as error:  # whatever stops the check fails the release, with its reason
        problems = [f"the check could not run: {error!r}"]
    for problem in problems:
        print(json.dumps({"revision": revision, "problem": problem}))
    status = "FAILED" if problems else "SUCCEEDED"
    print(json.dumps({"revision": revision, "hookStatus": status, "problems": len(problems)}))
    return {"hookStatus": status}


def package(argv: list[str]) -> int:
    """release-check FOLDER MODEL_JSON: FOLDER becomes the function's code, this file and the
    model.json it compares answers with. Exit 1 if that model.json cannot check a release."""
    if len(argv) != 2:
        print("usage: ecs-model-tools release-check FOLDER MODEL_JSON", file=sys.stderr)
        return 2
    folder, expected = Path(argv[0]), Path(argv[1])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copyfile(__file__, folder / "release_check.py")
    try:
        shutil.copyfile(expected, folder / "model.json")
        model = load(folder / "model.json")
    except (OSError, ValueError) as error:
        print(f"release check: {error}", file=sys.stderr)
        return 1
    print(f"release check: {len(model['examples'])} documented examples, tolerance {model['tolerance']}")
    return 0
