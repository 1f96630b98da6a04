"""The ``cuiban`` command as a user runs it: real subprocesses, real exit codes."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

YEAR_2027 = """
year = 2027
source = "test notice"

[[holidays]]
name = "元旦"
from = 2027-01-01
to = 2027-01-03
"""


def cuiban(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter running our own CLI
        [sys.executable, "-m", "hub.cli", *args],
        cwd=cwd,
        env={**os.environ, "CUIBAN_CONFIG": "", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# A real clock needs real secrets (hub/secret_policy.py); --demo makes its own.
REAL_SECRETS = (
    '[auth]\napi_keys = ["admin-key-of-the-cli-tests"]\n'
    'callback_token = "callback-token-of-the-cli-tests"\n'
    'link_secret = "link-secret-of-the-cli-tests"\n'
    '[privacy]\ndata_key = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"\n'
)


@pytest.fixture
def bare_config(tmp_path: Path, pg_data_dir: Path) -> Path:
    """No [auth] section: the shipped secrets."""
    path = tmp_path / "bare.toml"
    path.write_text(f'[database]\ndata_dir = "{pg_data_dir / "data"}"\n[http]\nport = 0\n', "utf-8")
    return path


@pytest.fixture
def config(tmp_path: Path, bare_config: Path) -> Path:
    path = tmp_path / "cuiban.toml"
    path.write_text(bare_config.read_text("utf-8") + REAL_SECRETS, "utf-8")
    return path


def test_deadline_prints_json(tmp_path: Path, config: Path) -> None:
    """`cuiban deadline` prints the due date across National Day onto the 调休 Saturday."""
    result = cuiban(
        "deadline",
        "--config",
        str(config),
        "--start",
        "2026-09-28T10:00:00+08:00",
        "--limit",
        "5",
        "--unit",
        "working_days",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["due_date"] == "2026-10-10"
    assert out["due_at"] == "2026-10-10T23:59:59+08:00"
    assert out["warn_at"] == "2026-10-09T09:00:00+08:00"
    assert out["working_days"] == 5


def test_deadline_with_suspension_and_green_channel(tmp_path: Path, config: Path) -> None:
    """Suspensions and the green channel are options of `cuiban deadline`."""
    result = cuiban(
        "deadline",
        "--config",
        str(config),
        "--start",
        "2026-03-02T10:00",
        "--limit",
        "9",
        "--unit",
        "working_days",
        "--green-channel",
        "--suspend",
        "2026-03-04T10:00/2026-03-06T10:00",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    # ceil(9/2) = 5 → 9 March; suspended [4, 6) = 2 working days → 11 March.
    assert out["due_date"] == "2026-03-11"
    assert out["suspended_working_days"] == 2


@pytest.mark.parametrize(
    "args",
    [
        (
            "deadline",
            "--start",
            "2026-12-20T10:00:00+08:00",
            "--limit",
            "20",
            "--unit",
            "working_days",
        ),
        ("deadline", "--start", "yesterday", "--limit", "1", "--unit", "working_days"),
        ("deadline", "--start", "2026-03-02", "--limit", "1", "--unit", "fortnights"),
        ("calendar", "show", "2027"),
        ("nonsense",),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, config: Path, args: tuple[str, ...]
) -> None:
    """Bad input and unknown years exit 2 with a single line on stderr, no traceback."""
    result = cuiban(*args, cwd=tmp_path, env={"CUIBAN_CONFIG": str(config)})
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_year_message_says_what_to_do(tmp_path: Path, config: Path) -> None:
    """Refusing 2027 names the year and the command that fixes it."""
    result = cuiban(
        "deadline",
        "--config",
        str(config),
        "--start",
        "2026-12-20",
        "--limit",
        "20",
        "--unit",
        "working_days",
        cwd=tmp_path,
    )
    assert "2027" in result.stderr and "cuiban calendar import" in result.stderr


def test_provisional_deadline_crosses_into_the_next_year(tmp_path: Path, config: Path) -> None:
    """With --provisional, 2027 is computed from its statutory holidays and says so."""
    args = ("--start", "2026-12-20T10:00+08:00", "--limit", "20", "--unit", "working_days")
    result = cuiban("deadline", "--config", str(config), *args, "--provisional", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    # New Year's Day is the only day off on the way; no 调休 is guessed.
    assert printed["due_date"] == "2027-01-18"
    assert printed["provisional"] is True
    beyond = ("--start", "2027-12-01T10:00+08:00", "--limit", "40", "--unit", "working_days")
    result = cuiban("deadline", "--config", str(config), *beyond, "--provisional", cwd=tmp_path)
    assert result.returncode == 2
    assert "2028" in result.stderr
    result = cuiban(
        "calendar", "show", "2027", "--provisional", "--config", str(config), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "暂按法定节假日推算" in result.stdout
    assert re.search(r"春节\s+2027-02-05 – 2027-02-10\s+共 6 天", result.stdout)


def test_bad_config_names_the_key(tmp_path: Path) -> None:
    """A config with an unknown key or a bad value stops with exit 2 naming the key."""
    bad = tmp_path / "bad.toml"
    bad.write_text('[http]\nprot = 80\n[policy]\nquiet_hours = "late"\n', "utf-8")
    result = cuiban("migrate", "--config", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert "http.prot: unknown key" in result.stderr
    assert "policy.quiet_hours" in result.stderr
    result = cuiban("migrate", cwd=tmp_path, env={"CUIBAN_HTTP__PORT": "eighty"})
    assert result.returncode == 2
    assert "http.port" in result.stderr


def test_calendar_show_lists_holidays_and_make_up_days(tmp_path: Path, config: Path) -> None:
    """`cuiban calendar show 2026` lists the Spring Festival and its 调休 Saturdays."""
    result = cuiban("calendar", "show", "2026", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"春节\s+2026-02-15 – 2026-02-23\s+共 9 天", result.stdout)
    assert "2026-02-14 星期六" in result.stdout
    assert "2026-02-28 星期六" in result.stdout


def test_calendar_import_teaches_a_new_year(tmp_path: Path, config: Path) -> None:
    """After importing a 2027 year file, deadlines into 2027 are computed instead of refused."""
    year_file = tmp_path / "2027.toml"
    year_file.write_text(YEAR_2027, "utf-8")
    args = (
        "deadline",
        "--config",
        str(config),
        "--start",
        "2026-12-30T10:00+08:00",
        "--limit",
        "3",
        "--unit",
        "working_days",
    )
    assert cuiban(*args, cwd=tmp_path).returncode == 2
    result = cuiban("calendar", "import", str(year_file), "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "imported 2027" in result.stdout
    result = cuiban(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # 31 Dec (Thu), then 1–3 Jan 2027 off, then Mon 4 and Tue 5 January.
    assert json.loads(result.stdout)["due_date"] == "2027-01-05"
    # The imported year sits beside the embedded database, which still starts.
    assert cuiban("migrate", "--config", str(config), cwd=tmp_path, timeout=120).returncode == 0


def test_calendar_import_refuses_a_bad_file(tmp_path: Path, config: Path) -> None:
    """A year file with a date outside its year is refused with exit 2 naming the file."""
    bad = tmp_path / "bad.toml"
    bad.write_text(YEAR_2027.replace("2027-01-03", "2028-01-03"), "utf-8")
    result = cuiban("calendar", "import", str(bad), "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert "bad.toml" in result.stderr


def test_migrate_on_the_embedded_database_twice(tmp_path: Path, config: Path) -> None:
    """`cuiban migrate` starts the embedded PostgreSQL and applies the schema, once."""
    first = cuiban("migrate", "--config", str(config), cwd=tmp_path, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "applied migrations 1" in first.stdout
    second = cuiban("migrate", "--config", str(config), cwd=tmp_path, timeout=120)
    assert second.returncode == 0, second.stderr
    assert "nothing to apply" in second.stdout


@pytest.mark.parametrize(
    ("auth", "named"),
    [
        ("", "auth.api_keys[0] is the shipped default"),
        ('api_keys = ["admin-key-of-this-centre"]', "auth.callback_token is the shipped default"),
        (
            'api_keys = ["admin-key-of-this-centre"]\ncallback_token = "callback-token-0001"\n'
            'link_secret = ""',
            "auth.link_secret is empty",
        ),
        (
            'api_keys = ["admin-key-of-this-centre"]\ncallback_token = "short"\n',
            "auth.callback_token is shorter than 16 bytes",
        ),
        (
            'api_keys = ["admin-key-of-this-centre"]\ncallback_token = "callback-token-0001"\n'
            'link_secret = "admin-key-of-this-centre"',
            "auth.link_secret is the same as auth.api_keys[0]",
        ),
    ],
)
def test_serve_refuses_default_short_or_shared_secrets(
    tmp_path: Path, pg_data_dir: Path, auth: str, named: str
) -> None:
    """On the system clock, serve exits 2 with one line naming the weak secret's key."""
    path = tmp_path / "cuiban.toml"
    path.write_text(
        f'[database]\ndata_dir = "{pg_data_dir / "data"}"\n[http]\nport = 0\n[auth]\n{auth}\n',
        "utf-8",
    )
    result = cuiban("serve", "--config", str(path), cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr
    assert "change-me" not in result.stderr  # the key is named, its value is not repeated


def test_serve_refuses_to_start_without_a_data_key(tmp_path: Path, bare_config: Path) -> None:
    """Good secrets but no privacy.data_key on the system clock: exit 2, one line naming it."""
    path = tmp_path / "no-key.toml"
    without_key = REAL_SECRETS.split("[privacy]")[0]
    path.write_text(bare_config.read_text("utf-8") + without_key, "utf-8")
    result = cuiban("serve", "--config", str(path), cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].count("privacy.data_key") == 1, result.stderr


def _get(url: str, token: str | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback only
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback only
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_serve_demo_answers_readyz_and_stops_cleanly(tmp_path: Path, bare_config: Path) -> None:
    """`cuiban serve --demo` comes up on the embedded database, serves cases, exits 0 on SIGTERM."""
    proc = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "hub.cli", "serve", "--demo", "--config", str(bare_config)],
        cwd=tmp_path,
        env={**os.environ, "CUIBAN_CONFIG": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        url = key = None
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if found := re.search(r"Admin API key for this run: (\S+)", line):
                key = found[1]
            match = re.search(r"serving on (http://\S+)/", line)
            if match:
                url = match[1]
                break
        assert url, proc.stderr.read() if proc.stderr else ""
        assert key and len(key) >= 16, "--demo prints the admin key it made"
        assert _get(f"{url}/readyz")[0] == 200
        assert _get(f"{url}/v1/cases", token="change-me")[0] == 401  # the shipped key is no key
        status, page = _get(f"{url}/v1/cases?limit=100", token=key)
        assert status == 200
        # Six open cases at today's levels, after a finished month of sixteen closed ones.
        open_cases = [c for c in page["items"] if c["status"] != "closed"]
        assert len(open_cases) == 6
        assert len(page["items"]) == 6 + 16
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "Cuiban stopped." in out


def test_demo_tours_every_notice_kind_and_exits_0(tmp_path: Path) -> None:
    """`cuiban demo` prints notices of every kind, a supervision table and no logs; exits 0."""
    started = time.monotonic()
    result = cuiban("demo", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    # The hub's logs went to a file, named on screen, leaving the tour alone on the terminal.
    assert result.stderr == ""
    log_file = Path(re.findall(r"日志：(\S+)", result.stdout)[-1])
    assert '"event": "notice_sent"' in log_file.read_text("utf-8")
    log_file.unlink()
    kinds = set(re.findall(r"── (\w+) →", result.stdout))
    assert kinds >= {
        "case_accepted",
        "green_channel",
        "node_due_soon",
        "node_overdue",
        "case_due_soon",
        "case_overdue",
        "urge",
        "case_suspended",
        "case_resumed",
        "pickup_notice",
        "evaluation_prompt",
        "daily_digest",
        "poor_rating",
        "rectification_reply",
    }
    assert "电子监察" in result.stdout and "办结率" in result.stdout
    assert not re.search(r"1[3-9]\d{9}", result.stdout)  # mobiles are masked on screen
    assert time.monotonic() - started < 60


def _one_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The single stderr line of a refused command (and its exit code checked)."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_version_prints_one_line() -> None:
    """`cuiban --version` prints the version and exits 0."""
    result = cuiban("--version", cwd=Path.cwd())
    assert result.returncode == 0
    assert re.fullmatch(r"cuiban \S+\n", result.stdout), result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("deadline", "--start", "2026-03-02", "--limit", "x", "--unit", "working_days"),
            "cuiban: deadline: argument --limit",
        ),
        (
            (
                "deadline",
                "--start",
                "2026-03-02",
                "--limit",
                "3",
                "--unit",
                "working_days",
                "--extend",
                "-3",
            ),
            "cuiban: --extend: must not be negative",
        ),
    ],
)
def test_usage_errors_name_the_command_once_and_the_flag(
    tmp_path: Path, config: Path, args: tuple[str, ...], expected: str
) -> None:
    """A bad argument is one line with no doubled "cuiban: cuiban" prefix, naming the flag."""
    line = _one_line(cuiban(*args, "--config", str(config), cwd=tmp_path), 2)
    assert line.startswith(expected), line
    assert "cuiban: cuiban" not in line


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("CUIBAN_DATABASE__URL", "mysql://root:hunter22@db/cuiban", "database.url"),
        ("CUIBAN_DATABASE__URL", "postgresql://db/cuiban?sslmode=sometimes", "sslmode"),
        ("CUIBAN_HTTP__PROT", "9000", "CUIBAN_HTTP__PROT"),
    ],
)
def test_bad_settings_from_the_environment_are_one_line_naming_the_variable(
    tmp_path: Path, config: Path, variable: str, value: str, named: str
) -> None:
    """A wrong database URL, sslmode or a misspelt variable: exit 2, blamed on the variable."""
    result = cuiban("migrate", "--config", str(config), cwd=tmp_path, env={variable: value})
    line = _one_line(result, 2)
    assert named in line and variable in line
    assert str(config) not in line  # the file is fine: the variable is not
    assert "hunter22" not in line


def test_an_unusable_data_dir_or_report_folder_is_one_line(tmp_path: Path, config: Path) -> None:
    """database.data_dir and report --out that cannot be created: exit 2, naming them."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", "utf-8")
    env = {"CUIBAN_DATABASE__DATA_DIR": str(blocker / "data")}
    assert "database.data_dir" in _one_line(cuiban("migrate", cwd=tmp_path, env=env), 2)
    result = cuiban(
        "report",
        "--month",
        "2026-10",
        "--config",
        str(config),
        "--out",
        str(blocker / "out"),
        cwd=tmp_path,
    )
    assert _one_line(result, 2).startswith("cuiban: --out:")


# Secrets start-up accepts on the system clock (the shipped change-me ones are refused).
STRONG_SECRETS = {
    "CUIBAN_AUTH__API_KEYS": '["cli-test-admin-key-0123456789"]',
    "CUIBAN_AUTH__CALLBACK_TOKEN": "cli-test-callback-token-0123456789",
    "CUIBAN_AUTH__LINK_SECRET": "cli-test-link-secret-0123456789",
    "CUIBAN_PRIVACY__DATA_KEY": "5e" * 32,
}


def test_serve_on_a_port_in_use_is_one_line_and_exit_1(tmp_path: Path, config: Path) -> None:
    """The port is bound before anything starts: a busy one costs one line and exit 1."""
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = str(busy.getsockname()[1])
        result = cuiban(
            "serve",
            "--config",
            str(config),
            cwd=tmp_path,
            env={"CUIBAN_HTTP__PORT": port, **STRONG_SECRETS},
        )
    line = _one_line(result, 1)
    assert f"127.0.0.1:{port}" in line and "in use" in line
    assert result.stdout == ""


def _serve(config: Path, cwd: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "hub.cli", "serve", "--config", str(config), *extra],
        cwd=cwd,
        env={**os.environ, "CUIBAN_CONFIG": "", "CUIBAN_LOGGING__FORMAT": "json", **STRONG_SECRETS},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_start_up_stops_quietly(
    tmp_path: Path, config: Path, sig: signal.Signals
) -> None:
    """Ctrl-C or SIGTERM while the hub starts: it finishes starting, stops, no traceback."""
    proc = _serve(config, tmp_path)
    assert proc.stderr is not None
    proc.stderr.readline()  # the first log line: start-up is under way
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "CancelledError" not in err
    assert "Cuiban stopped." in out


def test_serve_demo_outside_office_hours_says_when_notices_go(tmp_path: Path, config: Path) -> None:
    """Started on a Saturday night, the start-up lines say when and why notices wait."""
    # (The config's data folder is this test's own: the demo's past month is 2026-10.)
    saturday_night = config.read_text("utf-8") + (
        '[clock]\nmode = "manual"\nstart = "2026-11-28T23:10:00+08:00"\n'
    )
    config.write_text(saturday_night, "utf-8")
    proc = _serve(config, tmp_path, "--demo")
    assert proc.stdout is not None
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("It is "):
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    note = lines[-1]
    assert "quiet hours 22:00-07:30" in note, lines
    assert "applicants' notices from Sun 2026-11-29 07:30" in note
    assert "reviewers' reminders from Mon 2026-11-30 09:00" in note
    assert any("16 cases closed in 2026-10" in line for line in lines), lines

    # The README's example: the demo's past month makes a real report, dated by the
    # configured clock (not the machine's).
    result = cuiban(
        "report",
        "--month",
        "2026-10",
        "--config",
        str(config),
        "--out",
        str(tmp_path / "r"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    rows = (tmp_path / "r" / "report-2026-10.csv").read_text("utf-8-sig").splitlines()
    assert rows[-1].startswith(",合计,16,16,")
    assert "2026-11-28 23:10" in (tmp_path / "r" / "report-2026-10.html").read_text("utf-8")


def test_serve_with_an_unreachable_database_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """A database that refuses connections: one line naming PostgreSQL, exit 1, no traceback."""
    result = cuiban(
        "serve",
        cwd=tmp_path,
        env={
            "CUIBAN_DATABASE__URL": "postgresql://cuiban@127.0.0.1:1/cuiban",
            "CUIBAN_HTTP__PORT": "0",
            **STRONG_SECRETS,
        },
    )
    assert "cannot connect to PostgreSQL" in _one_line(result, 1)
    assert result.stdout == ""
