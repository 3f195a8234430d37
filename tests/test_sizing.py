"""Workers follow the task's CPU at run time: one uvicorn worker per whole vCPU, at least one.

The image runs one worker unless told otherwise (make run, docker compose); the task
definition tells it, through WEB_CONCURRENCY, from the same TaskCpu parameter that sizes
the task, so changing the task size in a parameter file changes the worker count with it.
"""

import json
import re
from pathlib import Path

from .cfn_values import load_template
from .conftest import bake

TASK_CPUS = [256, 512, 1024, 2048, 4096]  # every CPU size Fargate allows


def dockerfile_command(project: Path) -> tuple[list[str], dict[str, str]]:
    """The final stage's CMD (exec form) and ENV, as the container runs them."""
    final_stage = (project / "Dockerfile").read_text().replace("\\\n", " ").split("\nFROM ")[-1]
    command = json.loads(re.search(r"^CMD (\[.*\])$", final_stage, re.MULTILINE).group(1))
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(re.findall(r"^ENV (.*)$", final_stage, re.MULTILINE))))
    return command, env


def api_stack(project: Path) -> dict:
    return load_template(project / "infra" / "api.yaml")


def task_workers(project: Path) -> dict[int, int]:
    """WEB_CONCURRENCY as the task definition sets it, for each TaskCpu the stack allows."""
    api = api_stack(project)
    [container] = [
        c for c in api["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"] if c["Name"] == "api"
    ]
    value = {item["Name"]: item["Value"] for item in container["Environment"]}["WEB_CONCURRENCY"]
    mapping, parameter, key = value["Fn::FindInMap"]
    assert parameter == {"Ref": "TaskCpu"}, "the worker count must come from the parameter that sizes the task"
    assert api["Resources"]["TaskDefinition"]["Properties"]["Cpu"] == {"Ref": "TaskCpu"}
    allowed = api["Parameters"]["TaskCpu"]["AllowedValues"]
    return {cpu: int(api["Mappings"][mapping][str(cpu)][key]) for cpu in allowed}


def test_default_bake_runs_one_worker_with_one_model_thread_unless_the_task_says_otherwise(default_project):
    command, env = dockerfile_command(default_project)
    assert "--workers" not in command, "a fixed --workers would override the task definition's WEB_CONCURRENCY"
    assert env["WEB_CONCURRENCY"] == "1"  # make run, docker compose
    assert [env[name] for name in ("MODEL_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")] == ["1", "1", "1"]


def test_the_task_definition_runs_one_worker_per_whole_vcpu(default_project):
    assert task_workers(default_project) == {cpu: max(1, cpu // 1024) for cpu in TASK_CPUS}


def test_a_four_vcpu_bake_differs_only_in_the_default_task_size(cookies):
    result = bake(cookies, task_cpu="4096", task_memory="8192")
    assert result.exit_code == 0, result.exception
    project = Path(result.project_path)
    assert task_workers(project)[4096] == 4
    assert api_stack(project)["Parameters"]["TaskCpu"]["Default"] == 4096
    assert "--workers" not in dockerfile_command(project)[0]
