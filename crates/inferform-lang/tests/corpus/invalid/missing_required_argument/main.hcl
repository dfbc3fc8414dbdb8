resource "fabric_workspace" "main" {
  description = "no name"
}
