#!/usr/bin/env python3
"""Holds N idle PostgreSQL sessions open, for bench/seed_vs_psql.sh (a benchmark, not a test).

    python3 bench/idle_sessions.py --host 127.0.0.1 --port 5432 --user postgres \
        --dbname rbk_bench --count 50 --application rbk-bench-idle

Standard library only: it speaks just enough of the frontend/backend protocol (v3) for a
server that trusts the user (no password). Each session sends its startup message with
`application_name` set, runs `SELECT 1` once, and then sends nothing: `pg_stat_activity` shows
it as `idle` from then on. When all sessions are idle it prints `ready N` on stdout, then waits
until its stdin is closed or it gets SIGTERM/SIGINT, and then closes every socket (a session
the server has already terminated is simply gone).
"""

import argparse
import signal
import socket
import struct
import sys


def read_message(sock):
    header = b""
    while len(header) < 5:
        chunk = sock.recv(5 - len(header))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        header += chunk
    kind, length = header[:1], struct.unpack("!I", header[1:])[0]
    body = b""
    while len(body) < length - 4:
        chunk = sock.recv(length - 4 - len(body))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        body += chunk
    return kind, body


def until_ready(sock):
    """Reads messages up to ReadyForQuery; fails on ErrorResponse or an auth request."""
    while True:
        kind, body = read_message(sock)
        if kind == b"E":
            raise RuntimeError("server error: " + body.replace(b"\0", b" ").decode(errors="replace"))
        if kind == b"R" and struct.unpack("!I", body[:4])[0] != 0:
            raise RuntimeError("the server asks for a password; this helper needs trust auth")
        if kind == b"Z":
            return


def open_session(host, port, user, dbname, application):
    sock = socket.create_connection((host, port), timeout=10)
    params = b""
    for key, value in (("user", user), ("database", dbname), ("application_name", application)):
        params += key.encode() + b"\0" + value.encode() + b"\0"
    params += b"\0"
    sock.sendall(struct.pack("!II", 8 + len(params), 196608) + params)
    until_ready(sock)
    query = b"SELECT 1\0"
    sock.sendall(b"Q" + struct.pack("!I", 4 + len(query)) + query)
    until_ready(sock)
    sock.settimeout(None)
    return sock


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--dbname", required=True)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--application", default="rbk-bench-idle")
    args = parser.parse_args()

    sessions = [
        open_session(args.host, args.port, args.user, args.dbname, args.application)
        for _ in range(args.count)
    ]
    print(f"ready {len(sessions)}", flush=True)

    def close_all(*_):
        for sock in sessions:
            try:
                sock.sendall(b"X\0\0\0\4")
            except OSError:
                pass
            sock.close()
        sys.exit(0)

    signal.signal(signal.SIGTERM, close_all)
    signal.signal(signal.SIGINT, close_all)
    sys.stdin.read()  # until the caller closes our stdin
    close_all()


if __name__ == "__main__":
    main()
