# No cloud: a value kept in state, replaced when a trigger changes.
variable "release" {
  type    = string
  default = "2026-12-01"
}

resource "inferform_data" "release" {
  input            = { release = var.release }
  triggers_replace = [var.release]
}

output "release" {
  value = inferform_data.release.output
}
