#!/usr/bin/env bash
# Asks Terraform (offline, no providers) for the value of every expression of every case:
# each directory here holds main.hcl (read by Terraform as main.tf) and expressions.txt, and
# gets terraform.json. Run where `terraform` is installed; the test reads the stored answers,
# so the suite runs without it.
set -euo pipefail
cd "$(dirname "$0")"
export CHECKPOINT_DISABLE=1
# Every case, or only those named: `answers.sh templates numbers`.
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(*/)
for case in "${cases[@]}"; do
  case="${case%/}"
  work="$(mktemp -d)"
  cp "$case/main.hcl" "$work/main.tf"
  python3 - "$work" "$case" <<'PY'
import json, re, subprocess, sys
work, case = sys.argv[1], sys.argv[2]
answers = {}
for line in open(f"{case}/expressions.txt", encoding="utf-8"):
    expr = line.rstrip("\n")
    if not expr or expr.startswith("#"):
        continue
    run = subprocess.run(["terraform", "console"], input=f"jsonencode({expr})\n",
                         capture_output=True, text=True, cwd=work)
    if run.returncode == 0:
        answers[expr] = {"json": json.loads(json.loads(run.stdout.strip()))}
    else:
        text = re.sub(r"\x1b\[[0-9;]*m", "", run.stderr)
        summary = next((l.split("Error: ", 1)[1].strip() for l in text.splitlines()
                        if "Error: " in l), text.strip())
        answers[expr] = {"error": summary}
with open(f"{case}/terraform.json", "w", encoding="utf-8") as f:
    json.dump(answers, f, indent=2, ensure_ascii=False)
    f.write("\n")
PY
  rm -rf "$work"
done
