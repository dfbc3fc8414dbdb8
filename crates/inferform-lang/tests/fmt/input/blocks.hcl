resource fabric_workspace main {
  name = "x"
}
resource   "fabric_workspace"    "second"{
name="y"
}
data "fabric_workspace" "byname" {}
resource "inferform_data" "empty" {
}
resource "inferform_data" "oneline" { input = 1 }
resource "inferform_data" "escapes" {}
resource "inferform_data" "caf\u00e9" {}
resource "inferform_data" "quote\"d" {}
resource "inferform_data" "deep" {
lifecycle {
create_before_destroy = true
ignore_changes = [input]
}
  timeouts {
      create = "10m"
    }
    }
terraform {
  required_version = ">= 1.0"
}
