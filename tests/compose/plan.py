#!/usr/bin/python3
"""tests/compose/plan.py - one service of a resolved docker-compose file (the output of
`docker-compose config`) as the arguments of `buildah run`, so tests/compose/image.sh
runs each container with exactly the user, environment, volumes and command the
compose file gives it.

    plan.py CONFIG SERVICE VOLUMES [--set K=V]... [--unset K]... [--port OLD=NEW]...
            [--args ARG...]

Prints NUL-separated words: `--user U`, `--env K=V` for each variable, `--volume
HOST:TARGET[:ro]` for each mount (a named volume is the directory VOLUMES/<name>,
made here; a bind mount keeps its host path), `--`, then the entrypoint and the
command (--args replaces the command, as `docker-compose run SERVICE ARGS` does).
--set adds or replaces a variable, --unset drops one, --port rewrites a port number
in every variable (for ports taken on this machine). Other subcommands:

    plan.py CONFIG SERVICE VOLUMES --healthcheck [--port OLD=NEW]...
        the health check's command (CMD form), NUL-separated
    plan.py CONFIG SERVICE VOLUMES --env-only [...]
        K=V lines (NUL-separated) of the environment, after --set/--unset/--port
"""
import os
import sys

import yaml


def fail(msg):
    sys.stderr.write(f"plan.py: {msg}\n")
    sys.exit(2)


def words(value):
    if value is None:
        return []
    if isinstance(value, str):
        fail(f"a string command is not supported here: {value!r} (use the list form)")
    return [str(v) for v in value]


def main(argv):
    if len(argv) < 4:
        fail(__doc__)
    config, name, volumes = argv[1], argv[2], argv[3]
    rest = argv[4:]
    sets, unsets, ports, args = {}, set(), {}, None
    mode = "run"
    i = 0
    while i < len(rest):
        opt = rest[i]
        if opt == "--args":
            args = rest[i + 1:]
            break
        if opt in ("--healthcheck", "--env-only"):
            mode = opt[2:]
            i += 1
            continue
        if i + 1 >= len(rest):
            fail(f"{opt} needs a value")
        val = rest[i + 1]
        if opt == "--set":
            k, _, v = val.partition("=")
            sets[k] = v
        elif opt == "--unset":
            unsets.add(val)
        elif opt == "--port":
            old, _, new = val.partition("=")
            ports[old] = new
        else:
            fail(f"unknown option {opt}")
        i += 2

    services = (yaml.safe_load(open(config)) or {}).get("services") or {}
    if name not in services:
        fail(f"no service {name} in {config}")
    svc = services[name]

    def reported(text):
        for old, new in ports.items():
            text = text.replace(f":{old}/", f":{new}/")
            if text == old:
                text = new
        return text

    if mode == "healthcheck":
        test = (svc.get("healthcheck") or {}).get("test") or []
        if not test or test[0] != "CMD":
            fail(f"{name}: no CMD-form health check")
        out = [reported(w) for w in test[1:]]
        sys.stdout.write("\0".join(out) + "\0")
        return

    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    env = {k: reported("" if v is None else str(v)) for k, v in env.items()}
    for k in unsets:
        env.pop(k, None)
    env.update(sets)
    if mode == "env-only":
        sys.stdout.write("".join(f"{k}={v}\0" for k, v in sorted(env.items())))
        return

    out = []
    if svc.get("user"):
        out += ["--user", str(svc["user"])]
    for k, v in sorted(env.items()):
        out += ["--env", f"{k}={v}"]
    for vol in svc.get("volumes") or []:
        if isinstance(vol, dict):
            src, target = vol.get("source"), vol["target"]
            ro = vol.get("read_only", False)
        else:
            parts = vol.split(":")
            src, target = parts[0], parts[1]
            ro = len(parts) > 2 and "ro" in parts[2].split(",")
        if not src:
            continue
        if not src.startswith("/"):
            src = os.path.join(volumes, src)
            os.makedirs(src, exist_ok=True)
        out += ["--volume", f"{src}:{target}" + (":ro" if ro else "")]
    out.append("--")
    out += words(svc.get("entrypoint"))
    out += args if args is not None else words(svc.get("command"))
    sys.stdout.write("\0".join(out) + "\0")


if __name__ == "__main__":
    main(sys.argv)
