"""Workers follow the task's CPU: one uvicorn worker per whole vCPU, at least one."""

from pathlib import Path

from bench.run import dockerfile_command  # the final stage's CMD and ENV, as the benchmark runs them

from .conftest import bake


def workers(project: Path) -> int:
    command, _ = dockerfile_command(project)
    return int(command[command.index("--workers") + 1])


def test_default_half_vcpu_task_runs_one_worker_with_one_model_thread(default_project):
    assert workers(default_project) == 1
    _, env = dockerfile_command(default_project)
    assert [env[name] for name in ("MODEL_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")] == ["1", "1", "1"]


def test_four_vcpu_task_runs_four_workers(cookies):
    result = bake(cookies, task_cpu="4096", task_memory="8192")
    assert result.exit_code == 0, result.exception
    assert workers(Path(result.project_path)) == 4
