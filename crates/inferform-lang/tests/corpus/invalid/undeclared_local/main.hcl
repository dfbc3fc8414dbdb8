locals {
  prefix = "llm"
}

output "name" {
  value = local.name
}
