# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The compliance probe's reading of what the host's tools print, with the tools' output stood in."""

from __future__ import annotations

import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SPEC = importlib.util.spec_from_file_location(
    "compliance_probe", os.path.join(ROOT, "roles", "compliance", "files", "compliance_probe.py"))
probe = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(probe)

HARDENED_RULESET = """table inet secure_cloud_filter {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established,related accept
\t}
\tchain forward {
\t\ttype filter hook forward priority filter; policy drop;
\t}
}
"""
OPEN_RULESET = """table inet filter {
\tchain input {
\t\ttype filter hook input priority filter; policy accept;
\t}
}
"""


def stand_in(monkeypatch, outputs):
    """run() answers from outputs: {program: (rc, text)}; others are missing."""
    monkeypatch.setattr(probe, "run", lambda argv, timeout=120: outputs.get(argv[0], (127, "%s is not installed" % argv[0])))


@pytest.mark.parametrize("outputs, status, evidence", [
    ({"nft": (0, HARDENED_RULESET)}, "pass", "policy drop on the input hook: inet secure_cloud_filter chain input"),
    ({"nft": (0, OPEN_RULESET)}, "fail", "no input chain with policy drop (inbound accepted)"),
    ({"nft": (0, "")}, "fail", "no input chain with policy drop (empty ruleset)"),
    ({}, "fail", "nftables is not installed: no host firewall"),
])
def test_firewall_default_deny(monkeypatch, outputs, status, evidence):
    stand_in(monkeypatch, outputs)
    result = probe.firewall_check()
    assert (result["status"], result["evidence"]) == (status, evidence)


@pytest.mark.parametrize("sshd, keys_only, root", [
    ("passwordauthentication no\nkbdinteractiveauthentication no\npubkeyauthentication yes\npermitrootlogin no\n",
     "pass", "pass"),
    ("passwordauthentication yes\nkbdinteractiveauthentication no\npubkeyauthentication yes\n"
     "permitrootlogin prohibit-password\n", "fail", "fail"),
    ("passwordauthentication no\nkbdinteractiveauthentication yes\npubkeyauthentication yes\npermitrootlogin no\n",
     "fail", "pass"),
])
def test_ssh_key_only_and_root_login(monkeypatch, sshd, keys_only, root):
    stand_in(monkeypatch, {"sshd": (0, sshd)})
    got = probe.ssh_checks()
    assert [(c["id"], c["status"]) for c in got] == [("CMP-SSH-01", keys_only), ("CMP-SSH-02", root)]


def test_auditd_not_applicable_only_where_hardening_said_so(monkeypatch):
    stand_in(monkeypatch, {"systemctl": (3, "inactive\n")})
    fact = dict(not_applicable=[dict(control="OSH-AUD-03", reason="kernel audit is not available")])
    assert probe.auditd_check(fact)["status"] == "not_applicable"
    assert probe.auditd_check(fact)["evidence"] == "OSH-AUD-03: kernel audit is not available"
    assert probe.auditd_check(None) == dict(id="CMP-AUD-01", title="auditd records security events",
                                            status="fail", evidence="auditd.service inactive")


def test_openscap_without_content_says_so_and_gives_no_score(monkeypatch, tmp_path):
    monkeypatch.setattr(probe, "SCAP_DIRS", (str(tmp_path),))
    (tmp_path / "ssg-debian11-ds.xml").write_text("<x/>")
    result = probe.openscap("debian", "12", "", "profile", str(tmp_path / "results.xml"))
    assert result == dict(status="no_content", message="no SCAP content for debian 12")


def scap_results(tmp_path, rule_results, score):
    """A datastream for Debian 12 in the SCAP directories and an oscap results file; its path."""
    (tmp_path / "ssg-debian12-ds.xml").write_text("<x/>")
    results = tmp_path / "results.xml"
    results.write_text('<TestResult xmlns="http://checklists.nist.gov/xccdf/1.2">'
                       + "".join("<rule-result><result>%s</result></rule-result>" % r for r in rule_results)
                       + '<score system="urn:xccdf:scoring:default" maximum="100">%s</score></TestResult>' % score)
    return results


def test_openscap_profile_that_evaluates_nothing_is_not_a_perfect_score(monkeypatch, tmp_path):
    monkeypatch.setattr(probe, "SCAP_DIRS", (str(tmp_path),))
    results = scap_results(tmp_path, ["notapplicable"], "100.000000")
    stand_in(monkeypatch, {"oscap": (0, "")})
    result = probe.openscap("debian", "12", "", "p", str(results))
    assert result["status"] == "no_content" and "score" not in result


def test_openscap_score_and_counts(monkeypatch, tmp_path):
    monkeypatch.setattr(probe, "SCAP_DIRS", (str(tmp_path),))
    results = scap_results(tmp_path, ["pass"] * 3 + ["fail"], "81.123")
    stand_in(monkeypatch, {"oscap": (2, "")})
    result = probe.openscap("debian", "12", "", "p", str(results))
    assert (result["status"], result["score"], result["passed"], result["failed"]) == ("scored", 81.1, 3, 1)


def test_lynis_index_from_its_report(monkeypatch, tmp_path):
    report = tmp_path / "lynis-report.dat"
    report.write_text("lynis_version=3.0.8\nhardening_index=67\nwarning[]=A|x\nsuggestion[]=B|y\nsuggestion[]=C|z\n")
    stand_in(monkeypatch, {"lynis": (0, "")})
    assert probe.lynis(str(report)) == dict(status="scored", hardening_index=67, warnings=1, suggestions=2,
                                            version="3.0.8")


@pytest.mark.parametrize("given, expected_ds", [
    ("", "ssg-debian12-ds.xml"),          # found in the SCAP directories
    ("copied-ds.xml", "copied-ds.xml"),   # copied from the controller (compliance_openscap_datastream)
])
def test_openscap_command_line(monkeypatch, tmp_path, given, expected_ds):
    """oscap is asked to evaluate the chosen profile of the chosen datastream, results to the given file."""
    (tmp_path / "copied-ds.xml").write_text("<x/>")
    monkeypatch.setattr(probe, "SCAP_DIRS", (str(tmp_path),))
    results = scap_results(tmp_path, ["pass"], "100")
    calls = []

    def fake_run(argv, timeout=120):
        calls.append((argv, timeout))
        return 0, ""
    monkeypatch.setattr(probe, "run", fake_run)
    profile = "xccdf_org.ssgproject.content_profile_anssi_bp28_intermediary"
    result = probe.openscap("debian", "12", str(tmp_path / given) if given else "", profile, str(results))
    assert calls == [(["oscap", "xccdf", "eval", "--profile", profile, "--results", str(results),
                       str(tmp_path / expected_ds)], 1800)]
    assert (result["status"], result["datastream"], result["profile"]) == ("scored", str(tmp_path / expected_ds), profile)


def test_openscap_profile_and_results_reach_oscap_from_the_command_line(monkeypatch, tmp_path):
    """main() passes --scap-profile, --scap-datastream and --scap-results through to oscap unchanged."""
    (tmp_path / "given-ds.xml").write_text("<x/>")
    seen = {}

    def fake_openscap(distro, major, given, profile, results):
        seen.update(distro=distro, major=major, given=given, profile=profile, results=results)
        return dict(status="off", message="stood in")
    monkeypatch.setattr(probe, "openscap", fake_openscap)
    monkeypatch.setattr(probe, "os_release", lambda: ("debian", "12"))
    monkeypatch.setattr(probe, "hardening_fact", lambda: None)
    monkeypatch.setattr(probe, "run", lambda argv, timeout=120: (127, "missing"))
    monkeypatch.setattr("sys.argv", ["compliance_probe.py", "--host", "h", "--openscap", "--scap-profile", "p1",
                                     "--scap-datastream", str(tmp_path / "given-ds.xml"),
                                     "--scap-results", str(tmp_path / "r.xml")])
    probe.main()
    assert seen == dict(distro="debian", major="12", given=str(tmp_path / "given-ds.xml"), profile="p1",
                        results=str(tmp_path / "r.xml"))
