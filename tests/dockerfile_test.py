#!/usr/bin/python3
"""The Dockerfile's runtime package list in step with what the binaries load
and with scripts/install-deps.sh (the image itself cannot be built here).

Usage: dockerfile_test.py <repo root> <inventoryd> <inventoryctl>

  * the build stage installs through scripts/install-deps.sh;
  * every shared library the binaries load (ldd) belongs to a runtime package
    of the Dockerfile, or to libc6 / libgcc-s1 (always in bookworm-slim);
  * every runtime package owns one of those libraries (ca-certificates
    excepted), is no -dev package, and is installed here as a direct or
    transitive dependency of the packages install-deps.sh lists;
  * the check fails on a copy of the Dockerfile with one package removed.
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT, BINARIES = sys.argv[1], sys.argv[2:]
BASE = {"libc6", "libgcc-s1"}
EXTRA = {"ca-certificates"}  # needed by TLS to Kafka, loaded by no binary


def runtime_packages(dockerfile):
    text = open(dockerfile).read()
    last = text.split("\nFROM ")[-1]
    install = re.search(r"apt-get install[^\n]*\\\n((?: {6}\S+ \\\n)+)", last)
    if not install:
        raise SystemExit("FAIL: no runtime apt-get install list in " + dockerfile)
    return set(install.group(1).split()) - {"\\"}


def needed_packages():
    libs = set()
    for b in BINARIES:
        out = subprocess.run(["ldd", b], capture_output=True, text=True, check=True).stdout
        libs |= {os.path.realpath(m) for m in re.findall(r"=> (/\S+)", out)}
    queries = sorted(libs | {l.removeprefix("/usr") for l in libs})
    out = subprocess.run(["dpkg", "-S"] + queries, capture_output=True, text=True).stdout
    owned = {}
    for line in out.splitlines():
        pkg, path = line.split(": ", 1)
        owned[path] = pkg.split(":")[0].split(",")[0]
    unowned = [l for l in libs if l not in owned and l.removeprefix("/usr") not in owned]
    return {owned.get(l) or owned.get(l.removeprefix("/usr")) for l in libs} - {None}, unowned


def install_deps_closure():
    text = open(os.path.join(ROOT, "scripts/install-deps.sh")).read()
    block = re.search(r"^packages=\((.*?)^\)", text, re.S | re.M).group(1)
    roots = {w for line in block.splitlines() for w in line.split("#")[0].split()}
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Provides}\t${Depends},${Pre-Depends}\n"],
                         capture_output=True, text=True, check=True).stdout
    deps, provided_by = {}, {}
    for line in out.splitlines():
        pkg, provides, depends = line.split("\t")
        deps[pkg] = {re.sub(r"\(.*?\)|:any", "", d).strip() for d in re.split(r"[,|]", depends)} - {""}
        for v in re.split(r",", provides):
            name = re.sub(r"\(.*?\)", "", v).strip()
            if name:
                provided_by.setdefault(name, set()).add(pkg)
    seen, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        for d in deps.get(p, set()) | provided_by.get(p, set()):
            todo.append(d)
    return roots, seen


def check(dockerfile, needed, unowned, closure):
    failures = []
    if not re.search(r"^RUN scripts/install-deps.sh", open(dockerfile).read(), re.M):
        failures.append("the build stage does not run scripts/install-deps.sh")
    runtime = runtime_packages(dockerfile)
    if unowned:
        failures.append("libraries no Debian package owns: %s" % sorted(unowned))
    if needed - BASE - runtime:
        failures.append("the binaries load libraries of packages not installed: %s" % sorted(needed - BASE - runtime))
    if runtime - needed - EXTRA:
        failures.append("runtime packages no binary needs: %s" % sorted(runtime - needed - EXTRA))
    if {p for p in runtime if p.endswith("-dev")}:
        failures.append("-dev packages in the runtime stage")
    if runtime - closure - EXTRA:
        failures.append("runtime packages install-deps.sh does not bring: %s" % sorted(runtime - closure - EXTRA))
    return runtime, failures


def main():
    dockerfile = os.path.join(ROOT, "Dockerfile")
    needed, unowned = needed_packages()
    roots, closure = install_deps_closure()
    runtime, failures = check(dockerfile, needed, unowned, closure)
    for f in failures:
        print("FAIL: " + f)
    passed = 1 if not failures else 0
    print("runtime packages (%d): %s" % (len(runtime), " ".join(sorted(runtime))))
    print("libraries' packages (%d), from %d install-deps packages (%d with dependencies)"
          % (len(needed), len(roots), len(closure)))
    # The check catches a missing library package.
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "Dockerfile")
        text = open(dockerfile).read()
        open(copy, "w").write(text.replace("      librdkafka1 \\\n", ""))
        _, copy_failures = check(copy, needed, unowned, closure)
        if any("librdkafka1" in f for f in copy_failures):
            passed += 1
        else:
            print("FAIL: a Dockerfile without librdkafka1 passed the check")
    failed = 2 - passed
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


main()
