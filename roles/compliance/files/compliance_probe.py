# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs inside an instance: the collection's compliance checks and, optionally, Lynis and OpenSCAP.

Prints one JSON document: {host, distribution, checks, scanners, hardening, summary}.
Each check is {id, title, status (pass|fail|not_applicable), evidence}. It changes
nothing but the scanners' own report files. Run as root through the role.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

HARDENING_FACT = "/etc/ansible/facts.d/secure_cloud_hardening.fact"
SCAP_DIRS = ("/usr/share/xml/scap/ssg/content", "/usr/share/scap-security-guide", "/usr/local/share/xml/scap/ssg/content")
XCCDF_NS = "{http://checklists.nist.gov/xccdf/1.2}"


def run(argv, timeout=120):
    """(rc, stdout+stderr); rc 127 when the program is missing."""
    if not shutil.which(argv[0]):
        return 127, "%s is not installed" % argv[0]
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, check=False,
                              universal_newlines=True, env=dict(os.environ, LC_ALL="C"))
    except subprocess.TimeoutExpired:
        return 124, "%s did not finish within %ss" % (argv[0], timeout)
    return proc.returncode, proc.stdout


def check(cid, title, status, evidence):
    return dict(id=cid, title=title, status=status, evidence=evidence)


def os_release():
    info = {}
    try:
        with open("/etc/os-release") as handle:
            for line in handle:
                if "=" in line:
                    key, value = line.rstrip("\n").split("=", 1)
                    info[key] = value.strip('"')
    except OSError:
        pass
    return info.get("ID", "unknown"), info.get("VERSION_ID", "").split(".")[0]


def hardening_fact():
    try:
        with open(HARDENING_FACT) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def na_reason(fact, control):
    for item in (fact or {}).get("not_applicable") or []:
        if item.get("control") == control:
            return "%s: %s" % (control, item.get("reason"))
    return None


def sshd_settings():
    rc, out = run(["sshd", "-T"])
    if rc != 0:
        return None, out.strip().splitlines()[-1:] or ["sshd -T failed"]
    settings = {}
    for line in out.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2:
            settings.setdefault(parts[0].lower(), parts[1].strip())
    return settings, None


def ssh_checks():
    settings, error = sshd_settings()
    title_keys, title_root = "SSH accepts keys only", "SSH refuses root login"
    if settings is None:
        if error and "not installed" in error[0]:
            return [check("CMP-SSH-01", title_keys, "not_applicable", "no SSH server installed"),
                    check("CMP-SSH-02", title_root, "not_applicable", "no SSH server installed")]
        return [check("CMP-SSH-01", title_keys, "fail", "sshd -T: %s" % error[0]),
                check("CMP-SSH-02", title_root, "fail", "sshd -T: %s" % error[0])]
    password = settings.get("passwordauthentication", "yes")
    kbd = settings.get("kbdinteractiveauthentication", settings.get("challengeresponseauthentication", "yes"))
    pubkey = settings.get("pubkeyauthentication", "yes")
    keys_only = password == "no" and kbd == "no" and pubkey == "yes"
    root = settings.get("permitrootlogin", "prohibit-password")
    return [
        check("CMP-SSH-01", title_keys, "pass" if keys_only else "fail",
              "passwordauthentication %s, kbdinteractiveauthentication %s, pubkeyauthentication %s"
              % (password, kbd, pubkey)),
        check("CMP-SSH-02", title_root, "pass" if root == "no" else "fail", "permitrootlogin %s" % root),
    ]


def firewall_check():
    title = "Host firewall drops inbound traffic by default"
    rc, out = run(["nft", "list", "ruleset"])
    if rc == 127:
        return check("CMP-FW-01", title, "fail", "nftables is not installed: no host firewall")
    if rc != 0:
        return check("CMP-FW-01", title, "fail", "nft list ruleset failed: %s" % out.strip()[:200])
    table, chain, denying = None, None, []
    for line in out.splitlines():
        text = line.strip()
        match = re.match(r"^table (\S+) (\S+)", text)
        if match:
            table = "%s %s" % match.groups()
        match = re.match(r"^chain (\S+)", text)
        if match:
            chain = match.group(1)
        if "hook input" in text and re.search(r"policy drop", text):
            denying.append("%s chain %s" % (table, chain))
    if denying:
        return check("CMP-FW-01", title, "pass", "policy drop on the input hook: %s" % ", ".join(denying))
    return check("CMP-FW-01", title, "fail",
                 "no input chain with policy drop (%s)" % ("empty ruleset" if not out.strip() else "inbound accepted"))


def update_checks():
    pending_title, auto_title = "No security updates pending", "Security updates install automatically"
    rc, out = run(["apt-get", "-s", "-o", "Debug::NoLocking=1", "upgrade"], timeout=300)
    if rc == 127:
        return [check("CMP-UPD-01", pending_title, "not_applicable", "not an apt system"),
                check("CMP-UPD-02", auto_title, "not_applicable", "not an apt system")]
    pending = sorted(set(m.group(1) for m in re.finditer(r"^Inst (\S+) .*?[-/]security", out, re.MULTILINE)))
    lists = "/var/lib/apt/lists"
    stamps = [os.path.getmtime(os.path.join(lists, f)) for f in os.listdir(lists) if f.endswith("Release")] \
        if os.path.isdir(lists) else []
    age = "package lists never fetched" if not stamps else None
    if rc != 0:
        first = check("CMP-UPD-01", pending_title, "fail", "apt-get -s upgrade failed: %s" % out.strip()[-200:])
    elif age:
        first = check("CMP-UPD-01", pending_title, "fail", age)
    elif pending:
        first = check("CMP-UPD-01", pending_title, "fail", "%d pending: %s" % (len(pending), ", ".join(pending[:15])))
    else:
        first = check("CMP-UPD-01", pending_title, "pass", "none pending")
    rc, out = run(["apt-config", "dump"])
    periodic = re.search(r'^APT::Periodic::Unattended-Upgrade "(\d+)";', out, re.MULTILINE)
    installed = shutil.which("unattended-upgrade") is not None
    on = installed and periodic is not None and periodic.group(1) != "0"
    evidence = "unattended-upgrades %s, APT::Periodic::Unattended-Upgrade %s" % (
        "installed" if installed else "not installed", periodic.group(1) if periodic else "unset")
    return [first, check("CMP-UPD-02", auto_title, "pass" if on else "fail", evidence)]


def aide_check():
    title = "File integrity baseline (AIDE) exists"
    for path in ("/var/lib/aide/aide.db", "/var/lib/aide/aide.db.gz"):
        if os.path.isfile(path):
            return check("CMP-AIDE-01", title, "pass", "%s (%d bytes)" % (path, os.path.getsize(path)))
    installed = shutil.which("aide") is not None
    return check("CMP-AIDE-01", title, "fail",
                 "aide is installed but has no baseline database" if installed else "aide is not installed")


def auditd_check(fact):
    title = "auditd records security events"
    rc, out = run(["systemctl", "is-active", "auditd.service"])
    state = out.strip() or "unknown"
    if state == "active":
        return check("CMP-AUD-01", title, "pass", "auditd.service active")
    reason = na_reason(fact, "OSH-AUD-03")
    if reason:
        return check("CMP-AUD-01", title, "not_applicable", reason)
    return check("CMP-AUD-01", title, "fail", "auditd.service %s" % state)


def encryption_check(fact):
    title = "Data at rest is encrypted"
    method = (fact or {}).get("encryption_method") or "off"
    rc, out = run(["findmnt", "-rn", "-o", "TARGET,FSTYPE"])
    mounts = [line.split() for line in out.splitlines() if len(line.split()) == 2]
    encrypted = [target for target, fstype in mounts if fstype in ("fuse.gocryptfs", "crypto_LUKS")]
    rc, out = run(["lsblk", "-rn", "-o", "NAME,TYPE"])
    crypt = [line.split()[0] for line in out.splitlines() if line.split()[1:] == ["crypt"]] if rc == 0 else []
    if encrypted or crypt:
        return check("CMP-ENC-01", title, "pass", "method %s; encrypted: %s" % (method, ", ".join(encrypted + crypt)))
    reason = na_reason(fact, "OSH-ENC-06")
    if reason:
        return check("CMP-ENC-01", title, "not_applicable", reason)
    return check("CMP-ENC-01", title, "fail", "no encrypted volume or directory is mounted (method %s)" % method)


def hardening_check(fact):
    title = "Hardening baseline applied (secure_cloud.iaas.os_hardening)"
    if fact is None:
        return check("CMP-HRD-01", title, "fail", "%s is missing: os_hardening never ran here" % HARDENING_FACT)
    areas = sorted(k for k, v in (fact.get("areas") or {}).items() if v)
    return check("CMP-HRD-01", title, "pass", "areas on: %s; %d control(s) not applicable"
                 % (", ".join(areas) or "none", len(fact.get("not_applicable") or [])))


def lynis(report):
    rc, out = run(["lynis", "audit", "system", "--quick", "--no-colors", "--report-file", report,
                   "--logfile", "/var/log/lynis.log"], timeout=900)
    if rc == 127:
        return dict(status="not_installed", message="lynis is not installed")
    values = {}
    try:
        with open(report) as handle:
            for line in handle:
                key, _sep, value = line.rstrip("\n").partition("=")
                values.setdefault(key, []).append(value)
    except OSError:
        return dict(status="error", message="lynis wrote no report (exit %d): %s" % (rc, out.strip()[-200:]))
    index = (values.get("hardening_index") or [None])[0]
    if index is None or not index.isdigit():
        return dict(status="error", message="no hardening_index in %s" % report)
    return dict(status="scored", hardening_index=int(index), warnings=len(values.get("warning[]", [])),
                suggestions=len(values.get("suggestion[]", [])), version=(values.get("lynis_version") or [""])[0])


def find_datastream(distro, major, given):
    if given:
        return given if os.path.isfile(given) else None
    name = "ssg-%s%s-ds.xml" % (distro, major)
    for directory in SCAP_DIRS:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    return None


def openscap(distro, major, given, profile, results):
    label = "%s %s" % (distro, major)
    datastream = find_datastream(distro, major, given)
    if datastream is None:
        if given:
            return dict(status="no_content", message="SCAP content %s is not on the host" % given)
        return dict(status="no_content", message="no SCAP content for %s" % label)
    rc, out = run(["oscap", "xccdf", "eval", "--profile", profile, "--results", results, datastream], timeout=1800)
    if rc == 127:
        return dict(status="not_installed", message="oscap (openscap-scanner) is not installed")
    if rc not in (0, 2) or not os.path.isfile(results):
        return dict(status="error", datastream=datastream, profile=profile,
                    message="oscap exit %d: %s" % (rc, out.strip().splitlines()[-1] if out.strip() else ""))
    root = ET.parse(results).getroot()
    counts = {}
    for result in root.iter(XCCDF_NS + "rule-result"):
        value = result.findtext(XCCDF_NS + "result")
        counts[value] = counts.get(value, 0) + 1
    score = None
    for element in root.iter(XCCDF_NS + "score"):
        if element.get("system", "").endswith("default"):
            score = round(float(element.text), 1)
    if not counts.get("pass") and not counts.get("fail"):
        # Content that matches nothing here would score 100: say so instead.
        return dict(status="no_content", datastream=datastream, profile=profile,
                    message="profile %s evaluated no rule on %s" % (profile, label))
    return dict(status="scored", score=score, datastream=datastream, profile=profile,
                passed=counts.get("pass", 0), failed=counts.get("fail", 0),
                not_applicable=counts.get("notapplicable", 0))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--lynis", action="store_true")
    parser.add_argument("--lynis-report", default="/var/log/lynis-report.dat")
    parser.add_argument("--openscap", action="store_true")
    parser.add_argument("--scap-datastream", default="")
    parser.add_argument("--scap-profile", default="xccdf_org.ssgproject.content_profile_anssi_bp28_intermediary")
    parser.add_argument("--scap-results", default="/var/log/secure-cloud-oscap-results.xml")
    args = parser.parse_args()
    distro, major = os_release()
    fact = hardening_fact()
    checks = ssh_checks() + [firewall_check()] + update_checks() + [
        aide_check(), auditd_check(fact), encryption_check(fact), hardening_check(fact)]
    scanners = {}
    scanners["lynis"] = lynis(args.lynis_report) if args.lynis else dict(status="off", message="not run")
    scanners["openscap"] = (openscap(distro, major, args.scap_datastream, args.scap_profile, args.scap_results)
                            if args.openscap else dict(status="off", message="not run"))
    summary = dict((s, sum(1 for c in checks if c["status"] == s)) for s in ("pass", "fail", "not_applicable"))
    print(json.dumps(dict(
        host=args.host, distribution="%s %s" % (distro, major), checks=checks, scanners=scanners,
        hardening=dict(applied=fact is not None, not_applicable=(fact or {}).get("not_applicable") or []),
        summary=summary), sort_keys=True))


if __name__ == "__main__":
    main()
