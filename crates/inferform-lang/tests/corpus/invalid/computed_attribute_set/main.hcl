resource "fabric_workspace" "main" {
  name   = "llm"
  id     = "ws-123"
}
