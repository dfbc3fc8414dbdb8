resource "fabric_workspace" "main" {
  name = "llm"
  timeouts {
    create = "10 minutes"
  }
}
