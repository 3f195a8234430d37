"""A local statsd receiver that prints every metric it gets, one line per packet line.

    ecs-model-tools statsd-console [--host 127.0.0.1] [--port 8125]

Stands in for the CloudWatch agent on a laptop: run it beside the service (`make run`
does) to watch the valuation timer and request counters move.
"""

import argparse
import contextlib
import socket


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8125)
    args = parser.parse_args(argv)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((args.host, args.port))
        print(f"statsd: listening on {args.host}:{args.port}/udp", flush=True)
        while True:
            data, _ = sock.recvfrom(65535)
            for line in data.decode(errors="replace").splitlines():
                print(f"statsd: {line}", flush=True)


def run(argv: list[str] | None = None) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        main(argv)
    return 0
