"""One error policy for every command (pssnmf.commands): the installed ``pssnmf`` and each
``python -m pssnmf.<stage>`` the workflow runs, as a user or a rule would run them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from _workflow import PROJECT


def _commands(tmp: Path) -> dict[str, tuple[list[str], Path]]:
    """Each command with an input file that is not what it expects, and that file."""
    bad = tmp / "not a table.tsv"
    bad.write_text("this is not\x00a table\n")
    missing = tmp / "missing.tsv"
    out = tmp / "out"
    py = [sys.executable, "-m"]
    return {
        "pssnmf predict": (["pssnmf", "predict", "--model", str(missing), "--catalog", str(bad), "--out", str(out)],
                           missing),
        "python -m pssnmf.data": (py + ["pssnmf.data", "cosmic", "--input", str(bad), "--out", str(out / "c.tsv")],
                                  bad),
        "python -m pssnmf.experiment": (py + ["pssnmf.experiment", "select", "--metrics", str(missing),
                                              "--summary-out", str(out / "s.tsv"), "--chosen-out",
                                              str(out / "c.tsv")], missing),
        "python -m pssnmf.figures": (py + ["pssnmf.figures", "table2", "--ddr-status", str(missing),
                                           "--out-stem", str(out / "table2")], missing),
        "python -m pssnmf.opportunity": (py + ["pssnmf.opportunity", "--genome", str(bad), "--exome", str(bad),
                                               "--out", str(out / "ratio.tsv")], bad),
        "python -m pssnmf.screening": (py + ["pssnmf.screening", "table", "--predictions", str(missing), "--pools",
                                             str(missing), "--folds", str(tmp), "--cosmic", str(bad),
                                             "--out-tsv", str(out / "s.tsv"), "--out-md", str(out / "s.md")],
                                       missing),
        "python -m pssnmf.release": (py + ["pssnmf.release", "--spec", "{}", "--catalog", str(missing), "--samples",
                                           str(missing), "--n-folds", "3", "--per-class", "10", "--out",
                                           str(out / "r.npz")], "--spec"),
    }


PROGRAMS = ["pssnmf predict", "python -m pssnmf.data", "python -m pssnmf.experiment", "python -m pssnmf.figures",
    "python -m pssnmf.opportunity", "python -m pssnmf.screening", "python -m pssnmf.release"]


@pytest.mark.parametrize("prog", PROGRAMS)
def test_bad_input_is_one_line_naming_the_file_and_exit_2(prog, tmp_path):
    cmd, named = _commands(tmp_path)[prog]
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert "Traceback" not in run.stderr, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith(f"{prog}: error: ")]
    assert len(errors) == 1 and str(named) in errors[0], run.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir()), "output written on bad input"

    # --debug, after the subcommand or before it: the same line and exit status, with the traceback.
    for debug in (cmd + ["--debug"], _before_subcommand(cmd, "--debug")):
        run = subprocess.run(debug, capture_output=True, text=True, cwd=tmp_path)
        assert run.returncode == 2 and "Traceback (most recent call last)" in run.stderr, (debug, run.stderr)
        assert run.stderr.rstrip().splitlines()[-1].startswith(f"{prog}: error: "), run.stderr


def _before_subcommand(cmd: list[str], option: str) -> list[str]:
    """``option`` right after the program (``pssnmf --debug predict ...``)."""
    at = 1 if cmd[0] == "pssnmf" else 3
    return cmd[:at] + [option] + cmd[at:]


def test_every_stage_module_of_the_rules_runs_under_the_policy():
    """Every ``python -m pssnmf.<module>`` in the rule files has a main() that goes through
    pssnmf.commands.run, so the test above covers each command a rule runs."""
    rules = "\n".join(path.read_text() for path in (PROJECT / "workflow" / "rules").glob("*.smk"))
    modules = set(re.findall(r"python -m (pssnmf(?:\.\w+)+)", rules))
    assert modules == {"pssnmf.data", "pssnmf.experiment", "pssnmf.figures", "pssnmf.opportunity",
                       "pssnmf.screening", "pssnmf.release"}, modules
    for module in modules:
        path = PROJECT / "src" / Path(*module.split("."))
        source = (path / "__main__.py" if path.is_dir() else path.with_suffix(".py")).read_text()
        main = source[source.index("def main("):]
        assert "commands.run(" in main.split("\ndef ", 1)[0], module


@pytest.mark.parametrize("entry", [["pssnmf"], [sys.executable, "-m", "pssnmf"]])
def test_one_command_reaches_every_stage(entry, tmp_path):
    """``pssnmf <stage> ...`` (and ``python -m pssnmf <stage> ...``) is the stage's own command."""
    listed = subprocess.run(entry + ["--help"], capture_output=True, text=True)
    assert listed.returncode == 0
    for stage in ("data", "experiment", "figures", "opportunity", "screening", "release"):
        assert f"pssnmf {stage} --help" in listed.stdout, listed.stdout
    missing = tmp_path / "missing.tsv"
    run = subprocess.run(entry + ["experiment", "select", "--metrics", str(missing), "--summary-out",
                                  str(tmp_path / "s.tsv"), "--chosen-out", str(tmp_path / "c.tsv")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert f"error: [Errno 2] No such file or directory: '{missing}'" in run.stderr
    usage = subprocess.run(entry + ["data", "--help"], capture_output=True, text=True)
    assert usage.returncode == 0 and "cancer-type-task" in usage.stdout
