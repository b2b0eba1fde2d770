"""Summarise the hardening bench: Lynis index and OpenSCAP scores before/after."""
import collections
import pathlib
import sys
import xml.etree.ElementTree as ET

out = pathlib.Path(sys.argv[1])
converge, rerun, rerun_changed = sys.argv[2:5]
NS = {"x": "http://checklists.nist.gov/xccdf/1.2"}


def lynis(stage):
    for line in (out / f"lynis-{stage}.dat").read_text().splitlines():
        if line.startswith("hardening_index="):
            return line.split("=", 1)[1]
    return "?"


def oscap(profile, stage):
    root = ET.parse(out / f"oscap-{profile}-{stage}.xml").getroot()
    result = root.find(".//x:TestResult", NS)
    score = result.find("x:score", NS).text
    counts = collections.Counter(r.find("x:result", NS).text for r in result.findall("x:rule-result", NS))
    failed = sorted(r.get("idref").replace("xccdf_org.ssgproject.content_rule_", "")
                    for r in result.findall("x:rule-result", NS) if r.find("x:result", NS).text == "fail")
    return float(score), counts, failed


print(f"{'measure':44} {'before':>10} {'after':>10}")
print(f"{'Lynis hardening index':44} {lynis('before'):>10} {lynis('after'):>10}")
failed_after = {}
for profile in ("anssi_bp28_intermediary", "anssi_bp28_enhanced"):
    b, bc, _ = oscap(profile, "before")
    a, ac, failed_after[profile] = oscap(profile, "after")
    print(f"{'OpenSCAP ' + profile + ' score %':44} {b:10.1f} {a:10.1f}")
    print(f"{'  pass/fail/notapplicable':44} {bc['pass']:>3}/{bc['fail']:>3}/{bc['notapplicable']:>3} "
          f"{ac['pass']:>3}/{ac['fail']:>3}/{ac['notapplicable']:>3}")
print(f"{'converge (s)':44} {'':>10} {float(converge) / 1000:10.1f}")
print(f"{'no-op re-run (s), ' + rerun_changed:44} {'':>10} {float(rerun) / 1000:10.1f}")
for profile, rules in failed_after.items():
    print(f"\nfailing after hardening, {profile} ({len(rules)}):")
    for rule in rules:
        print("  " + rule)
