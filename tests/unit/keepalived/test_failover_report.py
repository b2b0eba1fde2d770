"""The drill's measuring core: outage per trial, percentiles, two-holder samples."""

import json
import sys
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "playbooks" / "files"))

import failover_report  # noqa: E402


def probes(start, end, ok_between=None, name="a", step=0.01):
    """Probe samples every STEP seconds; failures inside the (lo, hi) gap."""
    out, t = [], start
    while t < end:
        ok = not (ok_between and ok_between[0] < t < ok_between[1])
        out.append([round(t, 6), ok, name if ok else "timeout"])
        t += step
    return out


def test_percentile_and_median():
    values = list(range(1, 21))
    assert failover_report.percentile(values, 95) == 19
    assert failover_report.percentile(values, 100) == 20
    assert failover_report.median(values) == 10.5
    assert failover_report.median([3, 1, 2]) == 2
    # The mean of two samples prints as they do (0.1 ms), not as 121.80000000000001.
    assert repr(failover_report.median([121.7, 121.9])) == "121.8"


def test_outage_is_the_longest_gap_between_answers():
    samples = probes(100.0, 102.0, ok_between=(100.5, 100.8))
    gap = failover_report.outage(samples, 100.0, 102.0)
    assert 0.3 <= gap <= 0.32


def test_double_holders_found_and_classified():
    run = {
        "label": "t", "settle": 1.0,
        "samples": probes(100.0, 110.0),
        "trials": [{"trial": 1, "mode": "network_cut", "active": "a", "standby": "b",
                    "t_break": 101.0, "t_recovered": 101.2, "recovered": True,
                    "t_repaired": 102.0, "t_settled": 103.0}],
        # b takes the vip at 101.1 while a still has it until 101.15 (inside the
        # trial), and again 105.0-105.05 long after it settled.
        "holder_events": [[100.0, "a", True], [100.0, "b", False], [101.1, "b", True],
                          [101.15, "a", False], [105.0, "a", True], [105.05, "a", False]],
    }
    result = failover_report.measure(run)
    summary = result["summary"]
    assert summary["double_holder_samples"] == 10
    assert summary["double_holder_samples_after_settling"] == 5
    assert all(d["holders"] == ["a", "b"] for d in result["double_holder_samples"])


def test_report_files_written(tmp_path, capsys):
    run = {"label": "defaults", "settle": 1.0, "samples": probes(100.0, 103.0, (101.0, 101.2)),
           "trials": [{"trial": 1, "mode": "keepalived_killed", "active": "a", "standby": "b",
                       "t_break": 101.0, "t_recovered": 101.25, "recovered": True,
                       "t_repaired": 102.0, "t_settled": 102.5}],
           "holder_events": [[100.0, "a", True]]}
    raw = tmp_path / "run.json"
    raw.write_text(json.dumps(run))
    out_json, out_svg = tmp_path / "report.json", tmp_path / "report.svg"
    assert failover_report.main(["x", str(out_json), str(out_svg), str(raw)]) == 0
    report = json.loads(out_json.read_text())
    assert report["runs"][0]["summary"]["trials"] == 1
    assert 190 <= report["runs"][0]["summary"]["max_ms"] <= 215
    assert out_svg.read_text().startswith("<svg")
    ElementTree.parse(out_svg)  # well-formed, so a browser shows it
    assert "median" in capsys.readouterr().out


def test_a_late_answer_counts_when_it_arrived_not_when_it_was_sent():
    # Answers every 10 ms until 101.0; one request sent at 101.05 waits for ARP
    # and is answered 0.2 s later; regular answers again from 101.3.
    samples = [s + [0.001] for s in probes(100.0, 101.0)]
    samples.append([101.05, True, "b", 0.2])
    samples += [s + [0.001] for s in probes(101.3, 102.0, name="b")]
    gap = failover_report.outage(samples, 100.0, 102.0)
    # By send time the longest gap would be 0.25 s; by arrival it is 0.26 s
    # (100.991 -> 101.25) and then 101.25 -> 101.301.
    assert 0.255 <= gap <= 0.265


def test_planned_switchovers_are_summarised_apart_from_failures():
    def trial(number, mode, start, gap):
        return {"trial": number, "mode": mode, "active": "a", "standby": "b", "t_break": start,
                "t_recovered": start + gap, "recovered": True, "t_repaired": start + 1.0, "t_settled": start + 1.5}
    # A 300 ms hole for the failure at 101, a 50 ms one for the planned move at 104.
    samples = probes(100.0, 101.0) + probes(101.3, 104.0) + probes(104.05, 106.0)
    run = {"label": "t", "settle": 0.5, "samples": samples, "holder_events": [[100.0, "a", True]],
           "trials": [trial(1, "instance_stopped", 101.0, 0.3), trial(2, "planned_switchover", 104.0, 0.05)]}
    result = failover_report.measure(run)
    assert result["summary"]["trials"] == 1
    assert 295 <= result["summary"]["max_ms"] <= 315
    assert result["planned_summary"]["trials"] == 1
    assert 45 <= result["planned_summary"]["max_ms"] <= 65


def test_runs_with_and_without_the_data_volume_side_by_side(tmp_path, capsys):
    def run(label, path, gap, extra=None):
        out = {"label": label, "advert_int": 0.05, "settle": 0.5, "holder_events": [[100.0, "a", True]],
               "samples": probes(100.0, 101.0) + probes(101.0 + gap, 103.0),
               "trials": [{"trial": 1, "mode": "instance_stopped", "active": "a", "standby": "b", "t_break": 101.0,
                           "t_recovered": 101.0 + gap, "recovered": True, "t_repaired": 102.0, "t_settled": 102.5}]}
        out.update(extra or {})
        path_file = tmp_path / ("%s.json" % label)
        path_file.write_text(json.dumps(out))
        return str(path_file)
    # A run recorded before the probe took a path asked GET /.
    plain = run("defaults", None, 0.15)
    data = run("defaults_data", "/data/probe", 0.4, {"path": "/data/probe", "provider": "docker", "cpus": 2})
    out_json = tmp_path / "report.json"
    assert failover_report.main(["x", str(out_json), str(tmp_path / "r.svg"), plain, data]) == 0
    runs = json.loads(out_json.read_text())["runs"]
    assert [r["path"] for r in runs] == ["/", "/data/probe"]
    assert 395 <= runs[1]["by_mode"]["instance_stopped"]["median_ms"] <= 415
    text = capsys.readouterr().out.splitlines()
    table = text[text.index(next(line for line in text if line.startswith("== side by side"))):]
    assert "docker provider, 2 CPUs" in table[0]
    assert table[2].split()[:3] == ["defaults", "GET", "/"]
    assert table[3].split()[:3] == ["defaults_data", "GET", "/data/probe"]
    assert "instance_stopped" in table[3]
