"""The rehearsal's forked AWS CLI answers as the CLI itself: output, errors and exit status, in
the caller's working directory and environment; and once its process is gone, the scripts run
`aws` itself."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ecs_model_tools import aws_forks

AWS = Path(sys.executable).with_name("aws")
CALLS = [
    ["--version"],
    ["sts", "no-such-operation"],  # a usage error: exit 252 and a message on stderr
    ["configure", "list"],  # the profile, keys and region as the environment gives them
    ["cloudformation", "package", "--template-file", "missing.yaml", "--s3-bucket", "b"],  # a path from cwd
]


def called(args: list[str], cwd: Path, bash_env: Path | None) -> tuple:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
        "AWS_ACCESS_KEY_ID": "AKIAFORKTEST",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_CONFIG_FILE": os.devnull,
    }
    if bash_env:
        env["BASH_ENV"] = str(bash_env)
    script = 'type -t aws; aws "$@"; echo "exit $?"' if bash_env else f'"{AWS}" "$@"; echo "exit $?"'
    result = subprocess.run(["bash", "-c", script, "bash", *args], cwd=cwd, env=env, capture_output=True, text=True)
    return result.stdout, result.stderr


@pytest.mark.skipif(not AWS.is_file(), reason="the AWS CLI is not installed beside this interpreter")
def test_a_forked_call_answers_as_the_cli_itself_and_falls_back_to_it(tmp_path):
    bin_dir, cwd = tmp_path / "bin", tmp_path / "work"
    bin_dir.mkdir()
    cwd.mkdir()
    with aws_forks.serving(bin_dir):
        client = (bin_dir / "aws-fork").read_text()
        (bin_dir / "aws-fork").write_text(client.replace(repr(str(AWS)), "'/nonexistent/aws'"))  # no way around
        for args in CALLS:
            out, err = called(args, cwd, bin_dir / "aws.bash")
            assert out.startswith("function\n"), err
            assert (out.removeprefix("function\n"), err) == called(args, cwd, None), args
        (bin_dir / "aws-fork").write_text(client)
        (bin_dir / "aws.sock").unlink()  # the process cannot be reached: aws itself runs
        out, err = called(CALLS[0], cwd, bin_dir / "aws.bash")
        assert (out.removeprefix("function\n"), err) == called(CALLS[0], cwd, None)
    assert not (bin_dir / "aws.bash").exists()
