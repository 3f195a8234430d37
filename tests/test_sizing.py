"""Workers follow the task's CPU: one uvicorn worker per whole vCPU, at least one."""

import json
import re
from pathlib import Path

from .conftest import bake


def dockerfile_cmd(project: Path) -> list[str]:
    return json.loads(re.search(r"^CMD (\[.*\])$", (project / "Dockerfile").read_text(), re.MULTILINE).group(1))


def workers(project: Path) -> int:
    command = dockerfile_cmd(project)
    return int(command[command.index("--workers") + 1])


def final_stage_env(project: Path) -> dict[str, str]:
    final_stage = (project / "Dockerfile").read_text().replace("\\\n", " ").split("\nFROM ")[-1]
    return dict(re.findall(r"(\w+)=(\S+)", " ".join(re.findall(r"^ENV (.*)$", final_stage, re.MULTILINE))))


def test_default_half_vcpu_task_runs_one_worker_with_one_model_thread(default_project):
    assert workers(default_project) == 1
    env = final_stage_env(default_project)
    assert [env[name] for name in ("MODEL_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")] == ["1", "1", "1"]


def test_four_vcpu_task_runs_four_workers(cookies):
    result = bake(cookies, task_cpu="4096", task_memory="8192")
    assert result.exit_code == 0, result.exception
    assert workers(Path(result.project_path)) == 4
