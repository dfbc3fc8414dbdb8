#!/usr/bin/env bash
# Regenerates terraform/*.hcl from input/*.hcl with Terraform (1.11.4 when this corpus was
# made), offline: each input is copied to a .tf file and `terraform fmt` is run on it until it
# changes nothing more (one run is enough for all but nested "${"${x}"}", which Terraform
# unwraps one level per run). The fmt tests fail when inferform's output differs.
set -euo pipefail
cd "$(dirname "$0")"
export TF_CLI_CONFIG_FILE=/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for input in input/*.hcl; do
  name=$(basename "$input")
  cp "$input" "$work/main.tf"
  for _ in 1 2 3 4 5 6 7 8; do
    terraform fmt -no-color -check "$work/main.tf" >/dev/null && break
    terraform fmt -no-color "$work/main.tf" >/dev/null
  done
  cp "$work/main.tf" "terraform/$name"
done
terraform version | head -n 1
