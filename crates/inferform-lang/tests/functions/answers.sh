#!/usr/bin/env bash
# Asks Terraform (offline, no providers) for the value of every expression in
# expressions.txt, as JSON, and writes terraform.json. Run where `terraform` is installed;
# the test reads the stored answers, so the suite runs without it.
set -euo pipefail
cd "$(dirname "$0")"
export CHECKPOINT_DISABLE=1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The file functions read fixtures by paths relative to the crate, as the test runs there.
mkdir -p "$work/tests/functions"
cp -r files keys "$work/tests/functions/"
python3 - "$work" <<'PY'
import json, re, subprocess, sys
work = sys.argv[1]
answers = {}
for line in open("expressions.txt", encoding="utf-8"):
    expr = line.rstrip("\n")
    if not expr or expr.startswith("#"):
        continue
    run = subprocess.run(["terraform", "console"], input=f"jsonencode({expr})\n",
                         capture_output=True, text=True, cwd=work)
    if run.returncode == 0:
        # The console prints the JSON text as an HCL string literal.
        try:
            answers[expr] = {"json": json.loads(json.loads(run.stdout.strip()))}
        except ValueError:
            sys.exit(f"cannot read Terraform's answer for {expr}: {run.stdout!r}")
    else:
        text = re.sub(r"\x1b\[[0-9;]*m", "", run.stderr)
        summary = next((l.split("Error: ", 1)[1].strip() for l in text.splitlines()
                        if "Error: " in l), text.strip())
        answers[expr] = {"error": summary}
with open("terraform.json", "w", encoding="utf-8") as f:
    json.dump({"terraform": subprocess.run(["terraform", "version"], capture_output=True,
               text=True).stdout.splitlines()[0], "answers": answers}, f, indent=2,
              ensure_ascii=False)
    f.write("\n")
PY
