import io
import logging
import os
import tempfile

import pytest

from ravebox.service import logs


@pytest.fixture
def restore_root():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_journal_lines_carry_syslog_priority_and_stay_on_one_line(restore_root):
    out = io.StringIO()
    logs.configure("INFO", stream=out, journal=True)
    log = logging.getLogger("ravebox.host")
    log.debug("not shown")
    log.info("connected to JACK\nserver default")
    log.warning("xruns +2")
    log.error("worker stalled")
    assert out.getvalue().splitlines() == [
        "<6>ravebox.host: connected to JACK | server default",
        "<4>ravebox.host: xruns +2",
        "<3>ravebox.host: worker stalled",
    ]


def test_traceback_lines_keep_the_priority(restore_root):
    out = io.StringIO()
    logs.configure("INFO", stream=out, journal=True)
    try:
        raise ValueError("bad block")
    except ValueError:
        logging.getLogger("ravebox.engine").exception("model raised")
    lines = out.getvalue().splitlines()
    assert lines[0] == "<3>ravebox.engine: model raised"
    assert lines[-1] == "<3>  ValueError: bad block"
    assert all(line.startswith("<3>  ") for line in lines[1:])


def test_console_format_has_level_and_one_line(restore_root):
    out = io.StringIO()
    logs.configure("DEBUG", stream=out, journal=False)
    logging.getLogger("ravebox.x").debug("a\nb")
    assert out.getvalue().rstrip().endswith("DEBUG   ravebox.x: a | b")


def test_level_from_environment_and_bad_level(restore_root):
    logs.configure(stream=io.StringIO(), env={"RAVEBOX_LOG_LEVEL": "warning"}, journal=False)
    assert logging.getLogger().level == logging.WARNING
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        logs.configure("loud", stream=io.StringIO(), journal=False)


def test_under_journal_matches_the_stream_device_and_inode():
    with tempfile.TemporaryFile("w") as stream:
        st = os.fstat(stream.fileno())
        assert logs.under_journal(stream, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
        assert not logs.under_journal(stream, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino + 1}"})
        assert not logs.under_journal(stream, {})


def test_counter_summary_reports_only_increments():
    summary = logs.CounterSummary()
    assert summary.summarize({"xruns": 0, "late_blocks": 0}) is None
    assert summary.summarize({"xruns": 2, "late_blocks": 0}) == "xruns +2 (total 2)"
    assert summary.summarize({"xruns": 2, "late_blocks": 0}) is None
    assert summary.summarize({"xruns": 3, "late_blocks": 1.5}) == "late_blocks +1.5 (total 1.5), xruns +1 (total 3)"
