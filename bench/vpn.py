"""Site-to-site VPN: establishment time and throughput through the tunnel vs a plain network.

Brings up the Molecule `vpn` scenario to its converged state (the PSK tunnel
between the data center's gateway and the customer gateway), then, in one run:

- establishment: ROUNDS times, the tunnel is deleted and created again through
  the vpn_tunnel module with wait=false (the last tunnel of the location, so
  the gateway container is made again each time); prints how long the module
  took and how long after it returned the site host first reached the private
  instance through the tunnel (one ping every 0.1 s);
- throughput: MEGABYTES sent over one TCP connection from the site host to the
  private instance through the tunnel, then the same pair over a plain Docker
  network that joins them directly for the measurement (created and removed
  here), side by side.

Prints the figures and writes bench/results/vpn.json; removes the scenario
again unless KEEP=1. Measures, never asserts. Run as root on the Docker host,
after make setup and make images.

  .venv/bin/python bench/vpn.py [ROUNDS] [MEGABYTES]
"""

import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results", "vpn.json")
SITE_HOST = "sciaas-vpn-sitehost"
APP = "sciaas-vpn-app-1"
TUNNEL = "vpn-site"
PLAIN_NET = "sciaas-vpnbench-plain"
PLAIN_SUBNET = "10.235.99.0/24"
PLAIN_SITE, PLAIN_APP = "10.235.99.20", "10.235.99.30"
PORT = 5201

# The receiver counts bytes until the sender closes; the sender times itself.
RECEIVER = ("import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
            "s.bind(('0.0.0.0', %d)); s.listen(1); c,_=s.accept(); n=0\n"
            "while True:\n d=c.recv(1<<16)\n if not d: break\n n+=len(d)\nprint(n)" % PORT)
SENDER = ("import socket,sys,time; n=int(sys.argv[2])<<20; b=b'x'*(1<<16); c=socket.create_connection((sys.argv[1], %d)); "
          "t=time.monotonic(); s=0\nwhile s<n:\n c.sendall(b); s+=len(b)\n"
          "c.shutdown(socket.SHUT_WR); c.recv(1); print(time.monotonic()-t)" % PORT)


def run(*argv, **kwargs):
    return subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True, **kwargs).stdout


def module(args):
    start = time.monotonic()
    run("ansible", "localhost", "-c", "local", "-m", "secure_cloud.iaas.vpn_tunnel", "-a", json.dumps(args))
    return time.monotonic() - start


def tunnel_info():
    # JSON after "=>" (ansible.cfg asks for YAML; the oneline callback is deprecated).
    out = run("ansible", "localhost", "-c", "local", "-m", "secure_cloud.iaas.vpn_tunnel_info",
              "-a", "name=%s" % TUNNEL, env=dict(os.environ, ANSIBLE_CALLBACK_RESULT_FORMAT="json"))
    return json.loads(out.split("=>", 1)[1])["vpn_tunnels"][0]


def app_ip():
    return run("docker", "inspect", "-f", '{{(index .NetworkSettings.Networks "sciaas-vlan-vpn-app").IPAddress}}',
               APP).strip()


def until_reached(target, timeout=120):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if subprocess.run(["docker", "exec", SITE_HOST, "ping", "-c1", "-W1", target],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode == 0:
            return time.monotonic() - start
        time.sleep(0.1)
    return None


def establishment(rounds):
    tunnel = tunnel_info()
    args = dict(name=TUNNEL, location=tunnel["location"], vlans=tunnel["vlans"], peer_address=tunnel["peer_address"],
                peer_subnets=tunnel["peer_subnets"], psk_file=tunnel["psk_file"], wait=False)
    target = app_ip()
    out = []
    for _round in range(rounds):
        module(dict(name=TUNNEL, state="absent"))
        took = module(args)
        reached = until_reached(target)
        out.append(dict(module_s=round(took, 2), traffic_after_return_s=None if reached is None else round(reached, 2)))
        print("establishment: module %.1f s (gateway made, wait=false), traffic %s s after it returned"
              % (took, "never" if reached is None else "%.2f" % reached), flush=True)
    return out


def transfer(target, megabytes):
    receiver = subprocess.Popen(["docker", "exec", APP, "python3", "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    time.sleep(1.0)
    seconds = float(run("docker", "exec", SITE_HOST, "python3", "-c", SENDER, target, str(megabytes)).strip())
    received = int(receiver.communicate(timeout=60)[0].strip() or 0)
    return dict(megabytes=megabytes, seconds=round(seconds, 3), mbit_s=round(received * 8 / seconds / 1e6, 1))


def throughput(megabytes):
    tunnel = transfer(app_ip(), megabytes)
    run("docker", "network", "create", "--label", "secure_cloud.iaas.managed=true", "--subnet", PLAIN_SUBNET,
        "--internal", PLAIN_NET)
    try:
        run("docker", "network", "connect", "--ip", PLAIN_SITE, PLAIN_NET, SITE_HOST)
        run("docker", "network", "connect", "--ip", PLAIN_APP, PLAIN_NET, APP)
        plain = transfer(PLAIN_APP, megabytes)
    finally:
        for container in (SITE_HOST, APP):
            subprocess.run(["docker", "network", "disconnect", "-f", PLAIN_NET, container],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        subprocess.run(["docker", "network", "rm", PLAIN_NET], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)
    print("throughput, %d MB over one TCP connection: tunnel %.1f Mbit/s, plain network %.1f Mbit/s"
          % (megabytes, tunnel["mbit_s"], plain["mbit_s"]), flush=True)
    return dict(tunnel=tunnel, plain=plain)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    megabytes = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    run("molecule", "converge", "-s", "vpn")
    try:
        with open("/proc/loadavg") as handle:
            load = handle.read().split()[:3]
        result = dict(load_before=load, establishment=establishment(rounds), throughput=throughput(megabytes))
        with open("/proc/loadavg") as handle:
            result["load_after"] = handle.read().split()[:3]
        os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
        with open(RESULTS, "w") as handle:
            json.dump(result, handle, indent=2)
        print("load average before/after: %s / %s; written to %s"
              % (" ".join(result["load_before"]), " ".join(result["load_after"]), RESULTS))
    finally:
        if os.environ.get("KEEP") != "1":
            run("molecule", "destroy", "-s", "vpn")


if __name__ == "__main__":
    main()
