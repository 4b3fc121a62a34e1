#!/usr/bin/env python3
"""plan-comment.py: turn `convoy plan --json` (standard input) into the
Markdown summary a pull request comment shows: the totals, then per wave
each VM with the steps that would change and why, errors and warnings.
Exits 0 whatever the plan says; the CI job uses convoy's own exit status.
"""
import json
import sys

plan = json.load(sys.stdin)
s = plan["summary"]
out = ["## convoy plan", ""]
if plan.get("wave_blocked"):
    out += ["**Blocked:** " + plan["wave_blocked"], ""]
out.append("%d to do, %d to resume, %d to redo, %d done, %d blocked." % (
    s["todo"], s["resume"], s["redo"], s["done"], s["blocked"]))
for w in plan["warnings"]:
    out.append("")
    out.append("> warning: " + w)
wave = None
for vm in plan["vms"]:
    changes = [st for st in vm["steps"] if st["action"] != "done"]
    if not changes and not vm["error"]:
        continue
    if vm["wave"] != wave:
        wave = vm["wave"]
        out += ["", "### wave %s" % wave, "", "| VM | step | action | why |",
                "| --- | --- | --- | --- |"]
    name = vm["name"] if vm["name"] == vm["target_name"] else \
        "%s → %s" % (vm["name"], vm["target_name"])
    if vm["error"]:
        out.append("| %s | – | **error** | %s |" % (name, vm["error"].replace("|", "\\|")))
    for st in changes:
        step = st["kind"] + (" " + st["disk"] if st["disk"] else "")
        out.append("| %s | %s | %s | %s |" % (name, step, st["action"],
                                             (st["reason"] or "").replace("|", "\\|")))
if not plan["changes"] and not plan["errors"]:
    out += ["", "Nothing to do: every step is up to date."]
print("\n".join(out))
