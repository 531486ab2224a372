"""Every start-up failure is one `closer:` line naming what to fix, exit 2, nothing secret.

Each case runs the real `closer` command in a subprocess (an environment without Closer's
variables, an empty working folder), as an operator would meet it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import socketserver
import struct
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.standin import TelegramStandIn, serve_http
from tests.processes import Run, run_async
from tests.test_config import environment_without_settings

TOKEN = "7012345678:AAE-closer_test_token_0123456789abcdefgh"
OTHER_TOKEN = "7098765432:AAF-someone_elses_token_9876543210zyxwvu"
PASSWORD = "zq-s3cret-pw-41"
pytestmark = pytest.mark.slow  # every test here runs `closer` in a process of its own

TIMEOUT = 60.0  # a hang guard only
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def freeze(path: Path) -> None:
    """Make ``path`` read-only even for root (whom permission bits do not stop): the immutable
    attribute as root, permission bits otherwise."""
    if IS_ROOT:
        subprocess.run(["chattr", "+i", str(path)], check=True)
    else:
        path.chmod(0o555 if path.is_dir() else 0o444)


def thaw(folder: Path) -> None:
    if IS_ROOT:
        subprocess.run(["chattr", "-R", "-i", str(folder)], check=False, capture_output=True)
    for path in [folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o700)


async def run_closer(cwd: Path, *args: str, **settings: str) -> Run:
    """`closer <args>` with only ``settings`` in its environment (the event loop keeps serving
    any stand-in while it runs)."""
    return await run_async(
        cwd, *args, env=environment_without_settings(**settings), timeout=TIMEOUT
    )


def one_line(run: Run, *secrets: str) -> str:
    """Exit 2, nothing on stdout, one `closer: ...` line on stderr, no secret anywhere."""
    assert run.returncode == 2, run
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("closer: ")
    for secret in (TOKEN, TOKEN.split(":")[1], OTHER_TOKEN, OTHER_TOKEN.split(":")[1], *secrets):
        assert secret not in run.stdout + run.stderr
    print(lines[0])
    return lines[0]


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """An empty working folder, made writable again afterwards."""
    folder = tmp_path / "work"
    folder.mkdir()
    try:
        yield folder
    finally:
        thaw(folder)
        shutil.rmtree(folder)


@pytest.fixture
async def standin_url() -> AsyncIterator[str]:
    standin = TelegramStandIn(TOKEN)
    runner, url_root = await serve_http(standin, "127.0.0.1", 0)
    try:
        yield url_root
    finally:
        await runner.cleanup()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _db(folder: Path) -> str:
    return f"sqlite:///{(folder / 'closer.sqlite3').as_posix()}"


# -- Telegram ---------------------------------------------------------------------------------


async def test_a_token_the_server_rejects_is_one_line_without_the_token(
    workdir: Path, standin_url: str
) -> None:
    run = await run_closer(
        workdir,
        "run",
        TELEGRAM_BOT_TOKEN=OTHER_TOKEN,
        TELEGRAM_BASE_URL=standin_url,
        DATABASE_URL=_db(workdir),
    )
    line = one_line(run)
    assert "rejected TELEGRAM_BOT_TOKEN" in line
    assert "@BotFather" in line


async def test_a_dead_telegram_base_url_is_one_line(workdir: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    run = await run_closer(
        workdir,
        "run",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=url,
        DATABASE_URL=_db(workdir),
    )
    line = one_line(run)
    assert "TELEGRAM_BASE_URL" in line
    assert "connection refused" in line


async def test_https_to_a_plain_http_server_is_one_line(workdir: Path, standin_url: str) -> None:
    url = standin_url.replace("http://", "https://")
    run = await run_closer(
        workdir,
        "run",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=url,
        DATABASE_URL=_db(workdir),
    )
    line = one_line(run)
    assert "TELEGRAM_BASE_URL" in line
    assert "http://" in line  # the hint: it may be http:// rather than https://


async def test_a_server_that_does_not_speak_http_is_one_line(workdir: Path) -> None:
    # A TCP server that answers every connection with bytes that are not HTTP.
    async def not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(b"\x00\x01 this is not HTTP\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(not_http, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        run = await run_closer(
            workdir,
            "run",
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_BASE_URL=f"http://127.0.0.1:{port}",
            DATABASE_URL=_db(workdir),
        )
    finally:
        server.close()
    assert "TELEGRAM_BASE_URL" in one_line(run)


# -- PostgreSQL -------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "migrate"])
async def test_postgresql_unreachable_is_one_line(workdir: Path, command: str) -> None:
    url = f"postgresql://closer:{PASSWORD}@127.0.0.1:{_free_port()}/closer"
    run = await run_closer(workdir, command, TELEGRAM_BOT_TOKEN=TOKEN, DATABASE_URL=url)
    line = one_line(run, PASSWORD)
    assert "PostgreSQL at 127.0.0.1" in line
    assert "connection refused" in line
    assert "DATABASE_URL" in line


@pytest.mark.postgres
@pytest.mark.parametrize("command", ["run", "migrate"])
async def test_a_missing_postgresql_database_is_one_line(
    workdir: Path, command: str, postgres_url: str
) -> None:
    from sqlalchemy.engine import make_url

    url = (
        make_url(postgres_url)
        .set(database="closer_no_such_database", password=PASSWORD)
        .render_as_string(hide_password=False)
    )
    run = await run_closer(workdir, command, TELEGRAM_BOT_TOKEN=TOKEN, DATABASE_URL=url)
    line = one_line(run, PASSWORD)
    assert "closer_no_such_database" in line
    assert "createdb" in line


class _PasswordRefusingPostgres(socketserver.BaseRequestHandler):
    """Speaks just enough of PostgreSQL's protocol to ask for a password and refuse it, as a
    server with password authentication does (SQLSTATE 28P01)."""

    def _read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.request.recv(size - len(data))
            if not chunk:
                raise ConnectionError
            data += chunk
        return data

    def handle(self) -> None:
        try:
            length, code = struct.unpack("!ii", self._read(8))
            if code == 80877103:  # SSLRequest: no TLS here
                self.request.sendall(b"N")
                length, code = struct.unpack("!ii", self._read(8))
            self._read(length - 8)  # the rest of the StartupMessage
            self.request.sendall(b"R" + struct.pack("!ii", 8, 3))  # cleartext password, please
            kind = self._read(1)
            (size,) = struct.unpack("!i", self._read(4))
            self._read(size - 4)
            assert kind == b"p"
            fields = b"".join(
                key + value.encode() + b"\0"
                for key, value in (
                    (b"S", "FATAL"),
                    (b"V", "FATAL"),
                    (b"C", "28P01"),
                    (b"M", 'password authentication failed for user "closer"'),
                )
            )
            body = fields + b"\0"
            self.request.sendall(b"E" + struct.pack("!i", len(body) + 4) + body)
        except (ConnectionError, AssertionError, struct.error):
            pass


@pytest.fixture
def password_refusing_postgres() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _PasswordRefusingPostgres)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("command", ["run", "migrate"])
async def test_a_wrong_postgresql_password_is_one_line_without_the_password(
    workdir: Path, command: str, password_refusing_postgres: int
) -> None:
    url = f"postgresql://closer:{PASSWORD}@127.0.0.1:{password_refusing_postgres}/closer"
    run = await run_closer(workdir, command, TELEGRAM_BOT_TOKEN=TOKEN, DATABASE_URL=url)
    line = one_line(run, PASSWORD)
    assert "password" in line
    assert "'closer'" in line


# -- SQLite files and folders -----------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "migrate"])
async def test_a_data_folder_that_is_a_file_is_one_line(workdir: Path, command: str) -> None:
    (workdir / "not-a-folder").write_text("x")
    run = await run_closer(
        workdir, command, TELEGRAM_BOT_TOKEN=TOKEN, DATA_DIR=str(workdir / "not-a-folder")
    )
    line = one_line(run)
    assert "not-a-folder" in line
    assert "DATA_DIR" in line


@pytest.mark.parametrize("command", ["run", "migrate"])
async def test_a_data_folder_closer_may_not_write_is_one_line(workdir: Path, command: str) -> None:
    locked = workdir / "locked"
    locked.mkdir()
    freeze(locked)
    run = await run_closer(
        workdir,
        command,
        TELEGRAM_BOT_TOKEN=TOKEN,
        DATA_DIR=str(locked / "data"),
    )
    line = one_line(run)
    assert "DATA_DIR" in line


@pytest.mark.parametrize("command", ["run", "migrate"])
async def test_a_read_only_database_file_is_one_line(workdir: Path, command: str) -> None:
    migrated = await run_closer(workdir, "migrate", DATABASE_URL=_db(workdir))
    assert migrated.returncode == 0, migrated
    freeze(workdir / "closer.sqlite3")
    run = await run_closer(
        workdir,
        command,
        TELEGRAM_BOT_TOKEN=TOKEN,
        DATABASE_URL=_db(workdir),
    )
    line = one_line(run)
    assert "closer.sqlite3" in line
    assert "write" in line
