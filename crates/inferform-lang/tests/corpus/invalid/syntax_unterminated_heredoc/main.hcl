locals {
  script = <<EOT
echo hello
