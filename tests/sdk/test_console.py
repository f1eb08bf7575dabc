"""Console capture: what a training script prints is stored as timestamped lines, and still reaches the terminal.

Most tests run a training script as a child process with its stdout and stderr captured as pipes (the way a
job runner sees them), because pytest's own capture replaces ``sys.stdout`` in this process.
"""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import textwrap
import time
import warnings
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import runyard
from runyard.runlog import read_all
from runyard.sdk.console import LineSplitter


def run_script(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    """Run ``source`` as ``train.py`` in ``tmp_path`` with this test's runyard environment.

    Its output is decoded without newline translation, so ``\r`` stays ``\r`` as the terminal got it.
    """
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(source), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=dict(os.environ), capture_output=True, timeout=120
    )
    out, err = done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")
    return subprocess.CompletedProcess(done.args, done.returncode, out, err)


def only_run(stored, root: Path, entity: str, project: str):
    store = stored.store(root)
    [record] = store.list_runs(entity, project)
    return store, record


def console_of(stored, root: Path, entity: str, project: str) -> list[tuple[str, str]]:
    store, record = only_run(stored, root, entity, project)
    return [(line.stream, line.text) for line in store.console(entity, project, record.run_id)]


TRAIN = """
    import os, subprocess, sys, time
    from tqdm import tqdm
    import runyard

    run = runyard.init(project="console", settings={CONSOLE})
    print("out-1")
    print("err-1", file=sys.stderr)
    print("out-2")
    sys.stdout.flush()
    subprocess.run(["sh", "-c", "echo from-child"])
    os.write(1, b"raw-fd-line\\n")
    for _ in tqdm(range(300), mininterval=0, miniters=1):
        pass
    print("after-bar")
    print("tail-without-newline", end="")
    run.finish()
    print("after-finish")
"""


def test_redirect_captures_prints_fds_children_and_progress_bars(tmp_path, isolated_root, stored, entity):
    started = time.time()
    done = run_script(tmp_path, TRAIN.replace("{CONSOLE}", "{}"))  # console="auto": redirect here
    assert done.returncode == 0, done.stderr
    ended = time.time()

    # The terminal shows what it showed without runyard, in order.
    assert done.stdout.splitlines() == [
        "out-1",
        "out-2",
        "from-child",
        "raw-fd-line",
        "after-bar",
        "tail-without-newlineafter-finish",
    ]
    assert done.stderr.startswith("err-1\n")
    assert done.stderr.count("\r") > 100  # every redraw of the bar reached the terminal
    assert "300/300" in done.stderr

    store, record = only_run(stored, isolated_root, entity, "console")
    lines = store.console(entity, "console", record.run_id)
    texts = [(line.stream, line.text) for line in lines]
    stdout = [text for stream, text in texts if stream == "stdout"]
    assert stdout == ["out-1", "out-2", "from-child", "raw-fd-line", "after-bar", "tail-without-newline"]
    assert ("stderr", "err-1") in texts
    bars = [text for stream, text in texts if stream == "stderr" and "%|" in text]
    assert len(bars) == 1, bars  # the bar is stored once, in its final state
    assert bars[0].startswith("100%") and "300/300" in bars[0]
    assert [line.line_no for line in lines] == list(range(len(lines)))
    times = [line.t for line in lines]
    assert all(started <= t <= ended for t in times)
    assert times == sorted(times)


def test_wrap_captures_python_writes_only(tmp_path, isolated_root, stored, entity):
    done = run_script(tmp_path, TRAIN.replace("{CONSOLE}", "{'console': 'wrap'}"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "out-1",
        "out-2",
        "from-child",
        "raw-fd-line",
        "after-bar",
        "tail-without-newlineafter-finish",
    ]
    texts = console_of(stored, isolated_root, entity, "console")
    stdout = [text for stream, text in texts if stream == "stdout"]
    assert stdout == ["out-1", "out-2", "after-bar", "tail-without-newline"]  # not the fd writes
    assert ("stderr", "err-1") in texts
    bars = [text for stream, text in texts if "%|" in text]
    assert len(bars) == 1 and bars[0].startswith("100%")


def test_console_off_captures_nothing(tmp_path, isolated_root, stored, entity):
    done = run_script(tmp_path, TRAIN.replace("{CONSOLE}", "{'console': 'off'}"))
    assert done.returncode == 0, done.stderr
    assert "out-1" in done.stdout
    assert console_of(stored, isolated_root, entity, "console") == []


def test_console_setting_from_the_environment(tmp_path, isolated_root, stored, entity, monkeypatch):
    monkeypatch.setenv("WANDB_CONSOLE", "off")
    done = run_script(tmp_path, TRAIN.replace("{CONSOLE}", "{}"))
    assert done.returncode == 0, done.stderr
    assert console_of(stored, isolated_root, entity, "console") == []


def test_redirect_restores_the_file_descriptors(tmp_path, isolated_root, stored, entity):
    done = run_script(
        tmp_path,
        """
        import os, sys
        import runyard

        before = [os.fstat(fd) for fd in (1, 2)]
        run = runyard.init(project="fds", settings={"console": "redirect"})
        during = [os.fstat(fd) for fd in (1, 2)]
        print("captured")
        run.finish()
        after = [os.fstat(fd) for fd in (1, 2)]
        same = lambda a, b: (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
        assert all(same(a, b) for a, b in zip(before, after)), "fds not restored"
        assert not any(same(a, b) for a, b in zip(before, during)), "fds were not redirected"
        print("not-captured")
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["captured", "not-captured"]
    assert console_of(stored, isolated_root, entity, "fds") == [("stdout", "captured")]


def test_a_terminal_stays_a_terminal(tmp_path, isolated_root, stored, entity):
    # On a terminal, redirect uses a pseudo-terminal: the program still sees a tty, and bytes pass unchanged.
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, sys
            import runyard

            run = runyard.init(project="tty")
            print("isatty", sys.stdout.isatty(), os.isatty(1), os.isatty(2))
            print("\\x1b[32mgreen\\x1b[0m")
            print("to-stderr", file=sys.stderr)
            run.finish()
            """
        ),
        encoding="utf-8",
    )
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, str(script)], cwd=tmp_path, env=dict(os.environ), stdout=slave, stderr=slave
    )
    os.close(slave)
    output = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child and everything it started have closed the terminal
                break
            if not chunk:
                break
            output += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    assert proc.wait(30) == 0, output
    terminal = output.decode().replace("\r\n", "\n")
    assert "isatty True True True\n\x1b[32mgreen\x1b[0m\n" in terminal
    assert "to-stderr\n" in terminal
    texts = console_of(stored, isolated_root, entity, "tty")
    assert [text for stream, text in texts if stream == "stdout"] == ["isatty True True True", "\x1b[32mgreen\x1b[0m"]
    assert [text for stream, text in texts if stream == "stderr"] == ["to-stderr"]


def test_uncaught_exception_traceback_is_captured(tmp_path, isolated_root, stored, entity):
    done = run_script(
        tmp_path,
        """
        import runyard

        runyard.init(project="boom")
        print("working")
        raise ValueError("boom")
        """,
    )
    assert done.returncode == 1
    assert "ValueError: boom" in done.stderr
    store, record = only_run(stored, isolated_root, entity, "boom")
    assert record.state == "failed"
    texts = [(line.stream, line.text) for line in store.console(entity, "boom", record.run_id)]
    assert texts[0] == ("stdout", "working")
    assert ("stderr", "ValueError: boom") in texts
    assert ("stderr", "Traceback (most recent call last):") in texts


@pytest.mark.parametrize("console", ["redirect", "wrap"])
def test_forked_children_never_write_to_the_parents_run_log(tmp_path, isolated_root, stored, entity, console):
    done = run_script(
        tmp_path,
        f"""
        import multiprocessing as mp
        import sys
        import runyard

        def child(i):
            for j in range(300):
                sys.stdout.write(f"child-{{i}}-{{j}}\\n")  # one write() per line: the two children never interleave
                sys.stdout.flush()

        if __name__ == "__main__":
            run = runyard.init(project="fork", settings={{"console": "{console}", "keep_run_log": True}})
            print("parent-before", flush=True)
            ctx = mp.get_context("fork")
            procs = [ctx.Process(target=child, args=(i,)) for i in range(2)]
            for p in procs:
                p.start()
            for p in procs:
                p.join()
            print("parent-after")
            run.finish()
            print(run.run_log_path)
        """,
    )
    assert done.returncode == 0, done.stderr
    terminal = done.stdout.splitlines()
    assert terminal[0] == "parent-before"
    assert sum(line.startswith("child-") for line in terminal) == 600
    log_path = Path(terminal[-1])
    seqs = [record[0] for record in read_all(log_path)]
    assert seqs == list(range(1, len(seqs) + 1))  # one writer: no duplicate or missing sequence numbers
    store, record = only_run(stored, isolated_root, entity, "fork")
    assert record.state == "finished"
    texts = [line.text for line in store.console(entity, "fork", record.run_id)]
    assert texts[0] == "parent-before" and texts[-1] == "parent-after"
    children = [t for t in texts if t.startswith("child-")]
    if console == "redirect":  # the children write to the inherited fds: the parent records their lines
        assert sorted(children) == sorted(f"child-{i}-{j}" for i in range(2) for j in range(300))
    else:  # wrap sees only the parent's own writes; a forked child's wrapper only passes text on
        assert children == []


def test_a_forked_child_s_own_run_captures_its_own_output(tmp_path, isolated_root, stored, entity):
    done = run_script(
        tmp_path,
        """
        import multiprocessing as mp
        import runyard

        def child():
            with runyard.init(project="child", settings={"console": "redirect"}):
                print("in-child-run", flush=True)

        if __name__ == "__main__":
            run = runyard.init(project="parent", settings={"console": "redirect"})
            print("in-parent-run", flush=True)
            p = mp.get_context("fork").Process(target=child)
            p.start()
            p.join()
            run.finish()
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["in-parent-run", "in-child-run"]
    assert console_of(stored, isolated_root, entity, "child") == [("stdout", "in-child-run")]
    # The child wrote through the fds it inherited: the parent's console has the line too.
    assert console_of(stored, isolated_root, entity, "parent") == [
        ("stdout", "in-parent-run"),
        ("stdout", "in-child-run"),
    ]


def test_many_lines_are_batched_into_few_records(tmp_path, isolated_root, stored, entity):
    done = run_script(
        tmp_path,
        """
        import runyard

        run = runyard.init(project="many", settings={"keep_run_log": True})
        for i in range(5000):
            print(f"line {i}")
        run.finish()
        print(run.run_log_path)
        """,
    )
    assert done.returncode == 0, done.stderr
    records = read_all(Path(done.stdout.splitlines()[-1]))
    console_records = [body for _, kind, body in records if kind == "console"]
    assert sum(len(body["lines"]) for body in console_records) == 5000
    assert len(console_records) <= 60
    texts = [text for _, text in console_of(stored, isolated_root, entity, "many")]
    assert texts == [f"line {i}" for i in range(5000)]


def test_redirect_works_with_file_descriptors_above_1024(tmp_path):
    # A data loader may hold many files: the capture's own pipes then get fd numbers select() cannot take.
    done = run_script(
        tmp_path,
        """
        import os, resource
        import runyard

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
        held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
        run = runyard.init(project="fds", mode="offline", settings={"console": "redirect"})
        for i in range(3):
            print(f"line {i}")
        run.finish()
        print(run.run_log_path)
        """,
    )
    if "ValueError" in done.stderr and "RLIMIT" in done.stderr:
        pytest.skip("cannot raise the open-file limit here")
    assert done.returncode == 0, done.stderr
    *printed, log_path = done.stdout.splitlines()
    assert printed == ["line 0", "line 1", "line 2"]
    lines = [line for _, kind, body in read_all(Path(log_path)) if kind == "console" for line in body["lines"]]
    assert [(stream, text) for _, stream, text in lines] == [("stdout", f"line {i}") for i in range(3)]


def test_wrap_stores_text_that_is_not_valid_unicode(tmp_path, isolated_root, stored, entity, monkeypatch):
    monkeypatch.setenv("PYTHONIOENCODING", "utf-8:surrogateescape")
    done = run_script(
        tmp_path,
        """
        import runyard

        run = runyard.init(project="bytes", settings={"console": "wrap"})
        print(b"file-\\xff-name".decode("utf-8", "surrogateescape"))  # as os.listdir() gives a non-UTF-8 name
        print("next")
        run.finish()
        """,
    )
    assert done.returncode == 0, done.stderr
    assert console_of(stored, isolated_root, entity, "bytes") == [("stdout", "file-?-name"), ("stdout", "next")]


# -- in this process: pytest's capture and the user's own streams --------------------------------------------


def test_wrap_under_pytest_capture_keeps_it_working(capsys, stored):
    run = runyard.init()  # pytest's capture is not a real fd: auto falls back to wrap
    assert run._console is not None and run._console.mode == "wrap"
    stream = sys.stdout
    print("seen-by-both")
    print("on-stderr", file=sys.stderr)
    run.finish()
    assert sys.stdout is stream
    assert "write" not in vars(stream)  # the wrapper is gone, the stream's own write() is back
    captured = capsys.readouterr()
    assert captured.out == "seen-by-both\n"
    assert captured.err == "on-stderr\n"
    texts = [(line.stream, line.text) for line in stored.store(run).console(run.entity, run.project, run.id)]
    assert texts == [("stdout", "seen-by-both"), ("stderr", "on-stderr")]


def test_a_stdout_the_user_replaced_is_left_alone(stored):
    run = runyard.init(settings={"console": "wrap"})
    mine = io.StringIO()
    with redirect_stdout(mine):
        print("into-my-buffer")
        run.finish()
        assert sys.stdout is mine
        assert "write" not in vars(mine)
    assert mine.getvalue() == "into-my-buffer\n"
    assert stored.store(run).console(run.entity, run.project, run.id) == []


def test_log_with_a_warning_while_capturing_does_not_deadlock(stored, monkeypatch):
    # log() warns while it holds the run's lock, and the warning is written through the captured stderr.
    def show(message, category, filename, lineno, file=None, line=None):
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    monkeypatch.setattr(warnings, "showwarning", show)
    run = runyard.init(settings={"console": "wrap"})
    run.log({"x": 1}, step=5)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        for i in range(300):
            run.log({"x": i}, step=1)
    run.finish()
    lines = stored.store(run).console(run.entity, run.project, run.id)
    assert sum("less than the current step" in line.text for line in lines) == 300


def test_offline_runs_record_the_console_in_their_run_log(tmp_path):
    done = run_script(
        tmp_path,
        """
        import runyard

        run = runyard.init(project="off", mode="offline")
        print("offline-line")
        run.finish()
        print(run.run_log_path)
        """,
    )
    assert done.returncode == 0, done.stderr
    records = read_all(Path(done.stdout.splitlines()[-1]))
    lines = [line for _, kind, body in records if kind == "console" for line in body["lines"]]
    assert [(stream, text) for _, stream, text in lines] == [("stdout", "offline-line")]


def test_disabled_runs_capture_nothing():
    stream = sys.stdout
    run = runyard.init(mode="disabled")
    assert run._console is None
    assert "write" not in vars(stream)
    run.finish()


# -- the line splitter ---------------------------------------------------------------------------------------


def split(text: str, chunks: list[int] | None = None) -> list[str]:
    splitter = LineSplitter()
    lines: list[str] = []
    cuts = sorted(set(chunks or []))
    start = 0
    for cut in [*cuts, len(text)]:
        lines += splitter.feed(text[start:cut])
        start = max(start, cut)
    tail = splitter.flush()
    return [*lines, tail] if tail is not None else lines


def test_splitter_keeps_what_follows_the_last_carriage_return():
    assert split("a\nb\n") == ["a", "b"]
    assert split("\r 10%\r 50%\r100%\n") == ["100%"]
    assert split("windows\r\nline\r\n") == ["windows", "line"]
    assert split("\n\n") == ["", ""]
    assert split("no newline") == ["no newline"]
    assert split("bar\r") == ["bar"]
    assert split("done\r   \r") == []  # a bar that cleared itself leaves nothing


@given(st.text(alphabet="ab \r\n", max_size=60), st.lists(st.integers(0, 60), max_size=8))
def test_splitter_gives_the_same_lines_however_the_text_is_chunked(text, cuts):
    assert split(text, cuts) == split(text)
