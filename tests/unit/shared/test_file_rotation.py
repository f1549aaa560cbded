"""TRACE_FILE and LOG_FILE rotate by size and keep N older files.

Measured before: the demo's TRACE_FILE had reached 7.9 MB after 30 minutes and the services'
logs under .cache/logs grew for as long as the services ran, never rotated.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from shared.settings import CommonSettings
from shared.telemetry import JsonLinesSpanExporter, configure_logging

REPO = Path(__file__).resolve().parents[3]


def spans_to(path: Path, count: int, *, max_bytes: int, backups: int, tag: str = "t") -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "test"}))
    exporter = JsonLinesSpanExporter(str(path), max_bytes=max_bytes, backups=backups)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    for i in range(count):
        with tracer.start_as_current_span(f"{tag}-{i}", attributes={"dv.pad": "x" * 100}):
            pass
    provider.shutdown()


def files_of(path: Path) -> list[Path]:
    return sorted(p for p in path.parent.iterdir() if p.name.startswith(path.name) and "lock" not in p.name)


def lines_of(files: list[Path]) -> list[dict[str, object]]:
    return [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines()]


def test_the_trace_file_rotates_at_its_size_and_keeps_n_files(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    spans_to(path, 200, max_bytes=4000, backups=2)
    files = files_of(path)
    assert [f.name for f in files] == ["traces.jsonl", "traces.jsonl.1", "traces.jsonl.2"]
    for f in files:
        assert f.stat().st_size <= 4000 + 1000  # at most one span past the limit
    spans = lines_of(files)  # every line is a whole span: rotation never cuts one
    kept = {s["name"] for s in spans}
    assert "t-199" in kept and "t-0" not in kept  # the newest kept, the oldest rotated away


def test_without_a_limit_the_trace_file_is_one_file(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    spans_to(path, 50, max_bytes=0, backups=2)
    assert files_of(path) == [path]
    assert len(lines_of([path])) == 50


def test_several_processes_share_one_rotating_trace_file_without_losing_a_span(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    code = (
        "import sys; from pathlib import Path; from tests.unit.shared.test_file_rotation import spans_to; "
        "spans_to(Path(sys.argv[1]), 150, max_bytes=6000, backups=100, tag=sys.argv[2])"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), f"p{n}"], cwd=REPO) for n in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    files = files_of(path)
    assert len(files) > 3, "the writers rotated the file"
    names = [str(s["name"]) for s in lines_of(files)]
    assert sorted(names) == sorted(f"p{n}-{i}" for n in range(3) for i in range(150))


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = {name: (lg.handlers[:], lg.propagate) for name, lg in _loggers().items()}
    root_saved, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        if handler not in root_saved:
            handler.close()
    root.handlers[:] = root_saved
    root.setLevel(level)
    for name, (handlers, propagate) in saved.items():
        lg = logging.getLogger(name)
        lg.handlers[:] = handlers
        lg.propagate = propagate


def _loggers() -> dict[str, logging.Logger]:
    return {n: lg for n, lg in logging.Logger.manager.loggerDict.items() if isinstance(lg, logging.Logger)}


def test_log_file_is_written_instead_of_stderr_and_rotates(
    tmp_path: Path, restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    console = logging.getLogger("dv-test-console")  # a library logger with a console handler of its own
    console.propagate = False
    console.addHandler(logging.StreamHandler(sys.stderr))
    path = tmp_path / "logs" / "tasks.log"
    settings = CommonSettings.model_validate(
        {"LOG_FILE": str(path), "LOG_FILE_MAX_BYTES": 3000, "LOG_FILE_BACKUPS": 2}
    )
    configure_logging("tasks", settings)
    log = logging.getLogger("tasks.test")
    for i in range(200):
        log.info("dòng nhật ký số %d", i)
    console.warning("from the library's own handler")
    files = files_of(path)
    assert [f.name for f in files] == ["tasks.log", "tasks.log.1", "tasks.log.2"]
    assert all(f.stat().st_size <= 3000 + 200 for f in files)  # at most one line past the limit
    text = path.read_text(encoding="utf-8")
    assert "dòng nhật ký số 199" in text and "[tasks]" in text
    assert "from the library's own handler" in text
    assert capsys.readouterr().err == ""


def test_without_log_file_the_log_goes_to_stderr(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("tasks", CommonSettings())
    logging.getLogger("tasks.test").warning("to stderr")
    assert "to stderr" in capsys.readouterr().err
