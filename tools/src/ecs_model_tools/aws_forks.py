"""The rehearsal's AWS CLI, imported once and forked for every call.

A rehearsal runs the project's `aws` about 150 times, and most of each call's CPU time (about
0.25 of 0.4 s here) is Python importing the CLI and its plugins. `serving(bin_dir)` starts a process that
imports the CLI once and forks itself for each call, and gives the deploy scripts an `aws`
(a bash function, from BASH_ENV) that hands the call over: its arguments, environment,
working directory and standard streams (as file descriptors, over a Unix socket). The child
runs the CLI's own `main()` with them, as the `aws` script would, and sends back its exit status.

Used when the project's `aws` runs on this interpreter (.venv/bin). Otherwise, or if the
server cannot start or be reached, the scripts run `aws` itself.
"""

import contextlib
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path

# What the scripts' `aws` function runs: standard library only, started without site packages.
# If the call cannot be handed over, the real `aws` runs instead; once it has been, never twice.
CLIENT = """#!__PYTHON__ -IS
import json, os, socket, sys
server = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
try:
    server.connect(__SOCKET__)
    request = {"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}
    socket.send_fds(server, [json.dumps(request).encode()], [0, 1, 2])
except OSError:
    os.execv(__AWS__, [__AWS__, *sys.argv[1:]])
status = server.recv(16)
sys.exit(int(status) if status else "aws: the rehearsal's AWS CLI process ended without an exit status")
"""


def call(connection: socket.socket, aws: str) -> None:
    """In the forked child: one `aws` call, as the caller made it. Never returns."""
    status = 255
    try:
        message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
        request = json.loads(message)
        for fd, standard in zip(fds, (0, 1, 2), strict=True):
            os.dup2(fd, standard)
            os.close(fd)
        sys.stdin, sys.stdout = open(0, closefd=False), open(1, "w", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", 1, errors="backslashreplace", closefd=False)  # noqa: SIM115
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        if os.environ.get("LC_CTYPE", "") == "UTF-8":  # as the aws script does
            os.environ["LC_CTYPE"] = "en_US.UTF-8"
        sys.argv = [aws, *request["argv"]]
        import awscli
        import awscli.clidriver

        importlib.reload(awscli)  # its import reads the environment (AWS_DATA_PATH): the caller's now
        status = awscli.clidriver.main()
    except SystemExit as exit:
        status = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
            connection.send(str(status or 0).encode())
        os._exit(0)


def serve(path: str, aws: str) -> None:
    """Import the CLI's core, then fork once per connection on the socket at `path` (no threads here).
    Its plugins (awscli.handlers) are left to each call: some keep paths from the environment they
    are imported in (the role credentials' cache under HOME), and each pipeline step has its own."""
    import awscli.clidriver  # noqa: F401

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    parent = os.getppid()
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as server:
        server.bind(f"{path}.new")
        server.listen(64)
        server.settimeout(2)
        os.rename(f"{path}.new", path)  # the socket appears once it accepts
        while True:
            try:
                connection, _ = server.accept()
            except TimeoutError:
                if os.getppid() != parent:  # the rehearsal is gone, however it ended
                    return
                continue
            connection.setblocking(True)
            if os.fork() == 0:
                server.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                call(connection, aws)
            connection.close()


@contextlib.contextmanager
def serving(bin_dir: Path):
    """While in the block, bash scripts given BASH_ENV=<bin_dir>/aws.bash call `aws` through a CLI
    process forked per call: a shell function, since the Makefile puts .venv/bin first on PATH."""
    aws = Path(sys.executable).with_name("aws")  # the project's AWS CLI, beside this interpreter
    if not aws.is_file() or aws.read_bytes().split(b"\n", 1)[0] != f"#!{sys.executable}".encode():
        yield
        return
    socket_path = bin_dir / "aws.sock"
    # HOME: an empty folder, as each step's own (the core keeps ~/.aws/models from its import)
    env = {**os.environ, "HOME": str(bin_dir)}
    server = subprocess.Popen([sys.executable, "-m", "ecs_model_tools.aws_forks", str(socket_path), str(aws)], env=env)
    try:
        deadline = time.monotonic() + 30
        while not socket_path.exists() and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if socket_path.exists():
            client = CLIENT.replace("__PYTHON__", sys.executable)
            client = client.replace("__SOCKET__", repr(str(socket_path))).replace("__AWS__", repr(str(aws)))
            fork = bin_dir / "aws-fork"
            fork.write_text(client)
            fork.chmod(0o755)
            (bin_dir / "aws.bash").write_text(f'aws() {{ "{fork}" "$@"; }}\n')
        yield
    finally:
        (bin_dir / "aws.bash").unlink(missing_ok=True)
        server.kill()
        server.wait()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
