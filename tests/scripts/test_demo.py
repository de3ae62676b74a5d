"""Smoke tests of the end-to-end demo (``python -m scripts.demo``)."""

from pathlib import Path

import pytest

from scripts import demo


def test_sample_workload_offers_its_share_of_the_cluster() -> None:
    devices = demo.sample_cluster()
    services = demo.sample_workload(devices)
    total = sum(d.effective_speed for d in devices)
    for sr, (name, _, share, _) in zip(services, demo.WORKLOAD):
        assert sr.name == name and set(sr.splits) == {"layer", "semantic"}
        assert sr.arrival_rate * sr.profile.total_macs / total == pytest.approx(share)
        assert sr.sla > 0


def test_demo_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = demo.main(["--out", str(tmp_path), "--num_samples", "4", "--bandit_steps", "4",
                    "--sections", "simulator"])
    assert rc == 0
    text = capsys.readouterr().out
    for step in ("[demo 1/5]", "[demo 2/5]", "[demo 3/5]", "[demo 4/5]", "[demo 5/5]"):
        assert step in text
    assert "Report: " in text
    report = tmp_path / "report" / "report.md"
    assert report.is_file() and str(report.resolve()) in text
    assert "(a) Simulator" in report.read_text()


def test_demo_rejects_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        demo.main(["--out", str(tmp_path), "--num_samples", "0"])
    with pytest.raises(SystemExit):  # the old spelling still parses, with a note
        demo.main(["--out", str(tmp_path), "--samples", "0", "--bandit-steps", "1"])
    err = capsys.readouterr().err
    assert "note: python -m scripts.demo: --samples is deprecated; use --num_samples" in err
    assert "--bandit-steps is deprecated; use --bandit_steps" in err


@pytest.mark.slow
def test_demo_full_defaults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main(["--out", str(tmp_path)]) == 0
    text = (tmp_path / "report" / "report.md").read_text()
    for key in ("(a)", "(b)", "(c)", "(d)", "(e)"):
        assert f"## {key}" in text
