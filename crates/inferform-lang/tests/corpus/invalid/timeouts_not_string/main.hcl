resource "fabric_workspace" "main" {
  name = "llm"
  timeouts {
    delete = 600
  }
}
