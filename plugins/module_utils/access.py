# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Login accounts on a guest: the planning (pure) and the reading and writing of the
account databases, authorized keys, sudo rules and the record of what the access role
granted. Used by the access_account modules, which run on the instance itself.

Dates are ISO days (YYYY-MM-DD). An account declared to expire on day D may log in
through D: the shadow database gets D + 1 (login refuses from that day on). The same
for a revalidation due on day D (last revalidation + interval). The shadow date is the
earlier of the two, so the instance itself refuses a login past either date, whether
or not a playbook runs again.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import pwd
import re
import struct
import tempfile
import time

STATE_FILE = "/var/lib/secure-cloud-iaas/access.json"
SUDOERS_DIR = "/etc/sudoers.d"
SUDOERS_PREFIX = "sciaas-access-"
LASTLOG = "/var/log/lastlog"
EPOCH = datetime.date(1970, 1, 1)
KEY_RE = re.compile(
    r"^(?:(?P<options>.*?)\s+)??(?P<type>ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp(?:256|384|521)"
    r"|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)(?:-cert-v01@openssh\.com)?\s+(?P<blob>AAAA[A-Za-z0-9+/]+=*)(?:\s+(?P<comment>.*))?$")


class AccessError(Exception):
    pass


def parse_day(value, field):
    if value in (None, ""):
        return None
    try:
        return datetime.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise AccessError("%s: %r is not a date; give it as YYYY-MM-DD" % (field, value))


def parse_key(line):
    """(type, blob, comment) of one OpenSSH public key line, or AccessError."""
    match = KEY_RE.match(line.strip())
    if not match:
        # Its text is never shown: it may be a private key pasted by mistake.
        raise AccessError("a key is not an OpenSSH public key (TYPE BASE64 [comment]); its text is not shown")
    return match.group("type"), match.group("blob"), (match.group("comment") or "").strip()


def fingerprint(line):
    """SHA256:... as ssh-keygen -l prints it."""
    _type, blob, _comment = parse_key(line)
    digest = hashlib.sha256(base64.b64decode(blob)).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def key_identity(line):
    key_type, blob, _comment = parse_key(line)
    return "%s %s" % (key_type, blob)


def due_dates(expires=None, revalidated=None, revalidation_days=None):
    """(last day allowed by expiry, last day allowed by revalidation): dates or None."""
    revalidation_due = None
    if revalidated is not None and revalidation_days:
        revalidation_due = revalidated + datetime.timedelta(days=int(revalidation_days))
    return expires, revalidation_due


def plan_expiry(today, expires=None, revalidated=None, revalidation_days=None):
    """The shadow expiry day (first day refused) and what is past, for a present account."""
    expiry_day, revalidation_due = due_dates(expires, revalidated, revalidation_days)
    last = [d for d in (expiry_day, revalidation_due) if d is not None]
    shadow = min(last) + datetime.timedelta(days=1) if last else None
    return dict(
        shadow_expire=shadow,
        expired=expiry_day is not None and today > expiry_day,
        revalidation_due=revalidation_due,
        revalidation_overdue=revalidation_due is not None and today > revalidation_due,
    )


def plan_keys(current, declared, mode):
    """Which key lines to keep on the host. current/declared: lists of key lines.
    mode add: declared plus every current key (rotation, before the proof);
    exclusive: declared only; none: no key at all (overdue, revoked)."""
    if mode == "none":
        return []
    wanted = []
    seen = set()
    for line in declared:
        ident = key_identity(line)
        if ident not in seen:
            seen.add(ident)
            wanted.append(line.strip())
    if mode == "add":
        for line in current:
            ident = key_identity(line)
            if ident not in seen:
                seen.add(ident)
                wanted.append(line.strip())
    return wanted


def shadow_day(day):
    return "" if day is None else str((day - EPOCH).days)


# ---- the host: reading ---------------------------------------------------------------

class Runner(object):
    """Runs commands through the calling module's run_command (set by use_module)."""
    command = None


def use_module(module):
    Runner.command = module.run_command


def run(argv, check=True, data=None):
    """(rc, stdout, stderr) of argv; AccessError when check and it failed."""
    if Runner.command is None:
        raise AccessError("no module to run commands through (call use_module first)")
    try:
        rc, out, err = Runner.command(argv, data=data, handle_exceptions=False)
    except OSError as exc:  # the program is missing
        rc, out, err = 127, "", str(exc)
    if check and rc != 0:
        raise AccessError("%s failed (%d): %s" % (" ".join(argv[:2]), rc, (err or out).strip()[:300]))
    return rc, out, err


def read_shadow():
    out = {}
    with open("/etc/shadow") as handle:
        for line in handle:
            fields = line.rstrip("\n").split(":")
            if len(fields) >= 8:
                out[fields[0]] = dict(password=fields[1], expire=fields[7])
    return out


def login_shells():
    shells = set()
    try:
        with open("/etc/shells") as handle:
            shells = set(line.strip() for line in handle if line.strip().startswith("/"))
    except OSError:
        pass
    return shells - {"/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false"}


def uid_min():
    try:
        with open("/etc/login.defs") as handle:
            for line in handle:
                parts = line.split()
                if len(parts) == 2 and parts[0] == "UID_MIN":
                    return int(parts[1])
    except (OSError, ValueError):
        pass
    return 1000


def keys_file(entry):
    return os.path.join(entry.pw_dir, ".ssh", "authorized_keys")


def read_keys(path):
    """Key lines of an authorized_keys file (comments and blank lines left out)."""
    lines = []
    try:
        with open(path) as handle:
            for line in handle:
                line = line.strip()
                if line and not line.startswith("#"):
                    try:
                        parse_key(line)
                    except AccessError:
                        continue
                    lines.append(line)
    except OSError:
        pass
    return lines


def read_record(path=STATE_FILE):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {"accounts": {}}


def last_logins(names):
    """name -> ISO time of the last login, from lastlog (Debian 12) and sshd's journal (both)."""
    found = {}
    try:
        size = struct.calcsize("=i32s256s")
        with open(LASTLOG, "rb") as handle:
            for name in names:
                try:
                    uid = pwd.getpwnam(name).pw_uid
                except KeyError:
                    continue
                handle.seek(uid * size)
                chunk = handle.read(size)
                if len(chunk) == size:
                    when = struct.unpack("=i32s256s", chunk)[0]
                    if when > 0:
                        found[name] = datetime.datetime.fromtimestamp(when, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except OSError:
        pass
    _rc, out, _err = run(["journalctl", "-q", "--no-pager", "-o", "short-iso-precise", "--utc", "-u", "ssh.service"], check=False)
    pattern = re.compile(r"^(\S+) .* Accepted \S+ for (\S+) from ")
    for line in out.splitlines():
        match = pattern.match(line)
        if match and match.group(2) in names:
            when = match.group(1)[:19].replace("+", "") + "Z"
            if when > found.get(match.group(2), ""):
                found[match.group(2)] = when
    return found


def processes_of(uid):
    _rc, out, _err = run(["pgrep", "-u", str(uid)], check=False)
    return [p for p in out.split() if p.strip()]


def describe(entry, shadow, record, today):
    """One account as the info module and the review report show it."""
    path = keys_file(entry)
    keys = read_keys(path)
    rec = record.get("accounts", {}).get(entry.pw_name)
    since = (rec or {}).get("keys", {})
    try:
        file_since = datetime.datetime.fromtimestamp(os.stat(path).st_mtime, datetime.timezone.utc).strftime("%Y-%m-%d")
    except OSError:
        file_since = None
    sh = shadow.get(entry.pw_name, {})
    expire_day = None
    if sh.get("expire", "").isdigit():
        expire_day = EPOCH + datetime.timedelta(days=int(sh["expire"]))
    out = dict(
        name=entry.pw_name, uid=entry.pw_uid, shell=entry.pw_shell, home=entry.pw_dir,
        password_locked=sh.get("password", "").startswith("!"),
        shadow_expire=None if expire_day is None else expire_day.isoformat(),
        expired=expire_day is not None and today >= expire_day,
        keys=[dict(fingerprint=fingerprint(k), type=parse_key(k)[0], comment=parse_key(k)[2],
                   since=since.get(fingerprint(k), file_since)) for k in keys],
        managed=rec is not None,
        processes=len(processes_of(entry.pw_uid)),
    )
    if rec:
        for field in ("owner", "approval", "kind", "state", "granted", "expires", "revalidated", "revalidation_days",
                      "revalidation_due", "changed"):
            out[field] = rec.get(field)
    out["can_log_in"] = bool(out["keys"]) and not out["expired"] and entry.pw_shell in login_shells()
    return out


def list_accounts(today, include=(), minimum=None):
    """Every login account (uid >= UID_MIN with a login shell), every account the role
    manages and every name in include."""
    shadow = read_shadow()
    record = read_record()
    shells = login_shells()
    low = uid_min() if minimum is None else minimum
    out = []
    for entry in sorted(pwd.getpwall(), key=lambda e: e.pw_uid):
        login = entry.pw_uid >= low and entry.pw_uid != 65534 and entry.pw_shell in shells
        if login or entry.pw_name in record.get("accounts", {}) or entry.pw_name in include:
            out.append(describe(entry, shadow, record, today))
    logins = last_logins([a["name"] for a in out])
    for account in out:
        account["last_login"] = logins.get(account["name"])
    return out


# ---- the host: writing ---------------------------------------------------------------

def atomic_write(path, content, mode, uid=0, gid=0):
    directory = os.path.dirname(path)
    handle, tmp = tempfile.mkstemp(dir=directory, prefix=".sciaas-")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(content)
        os.chown(tmp, uid, gid)
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_keys(entry, lines, user_owned):
    """Replace the account's authorized keys in one rename, so sshd never sees a half
    file. A managed person's file and directory are root's (they cannot add keys);
    the admin user's stay the user's, as the provider made them."""
    ssh_dir = os.path.join(entry.pw_dir, ".ssh")
    uid, gid = (entry.pw_uid, entry.pw_gid) if user_owned else (0, 0)
    if not os.path.isdir(ssh_dir):
        os.makedirs(ssh_dir, 0o755)
    os.chown(ssh_dir, uid, gid)
    os.chmod(ssh_dir, 0o700 if user_owned else 0o755)
    atomic_write(keys_file(entry), "".join(line + "\n" for line in lines), 0o600 if user_owned else 0o644, uid, gid)


def sudoers_path(name):
    return os.path.join(SUDOERS_DIR, SUDOERS_PREFIX + name.replace(".", "_"))


def sudoers_content(name, rules):
    if not rules:
        return None
    return "# Managed by secure_cloud.iaas.access; edits are overwritten.\n" + "".join(
        "%s %s\n" % (name, rule.strip()) for rule in rules)


def write_sudoers(name, content):
    path = sudoers_path(name)
    if content is None:
        if os.path.exists(path):
            os.unlink(path)
        return
    handle, tmp = tempfile.mkstemp(dir=SUDOERS_DIR, prefix=".sciaas-")
    with os.fdopen(handle, "w") as out:
        out.write(content)
    os.chmod(tmp, 0o440)
    rc, out, err = run(["visudo", "-c", "-q", "-f", tmp], check=False)
    if rc != 0:
        os.unlink(tmp)
        raise AccessError("sudo rules for %s refused by visudo: %s" % (name, (out + err).strip()[:300]))
    os.rename(tmp, path)


def end_sessions(name, uid):
    """Kill every process of the account (its SSH sessions with them); True when any ran."""
    had = bool(processes_of(uid))
    run(["loginctl", "terminate-user", name], check=False)
    for _attempt in range(20):
        if not processes_of(uid):
            break
        run(["pkill", "-KILL", "-u", str(uid)], check=False)
        time.sleep(0.1)
    if processes_of(uid):
        raise AccessError("processes of %s survive SIGKILL" % name)
    return had


def write_record(record, path=STATE_FILE):
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    atomic_write(path, json.dumps(record, indent=1, sort_keys=True) + "\n", 0o600)


# ---- the review (controller side, pure) ----------------------------------------------

# Rows that need someone's attention first, then the rest.
STATUS_ORDER = ("revalidation overdue", "expired", "undeclared", "undeclared (locked)", "sessions of a revoked account",
                "ok", "admin", "revoked", "locked")


def review_status(account, admin, declared, today):
    """One word for what the review shows of an account."""
    due = account.get("revalidation_due")
    if account["name"] == admin:
        return "admin"
    if not account.get("managed") and account["name"] not in declared:
        return "undeclared (locked)" if account.get("expired") else "undeclared"
    if account.get("state") == "revoked":
        return "sessions of a revoked account" if account.get("processes") else "revoked"
    if due and today > due:
        return "revalidation overdue"
    if account.get("expired"):
        return "expired"
    return "ok"


def review_rows(hosts, admin="", declared=(), today=None):
    """hosts: {host: [accounts as access_account_info returns them]} -> rows, the ones
    needing attention first (by status, then host, then name)."""
    today = str(today or datetime.date.today().isoformat())
    rows = []
    for host, accounts in sorted(hosts.items()):
        for account in accounts or []:
            row = dict(account, host=host, status=review_status(account, admin, set(declared), today))
            row["attention"] = row["status"] in STATUS_ORDER[:5]
            rows.append(row)
    rows.sort(key=lambda r: (STATUS_ORDER.index(r["status"]), r["host"], r["name"]))
    return rows
