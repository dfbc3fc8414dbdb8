resource "fabric_endpoint" "chat" {
  workspace_id = "ws-1"
  name         = "chat"
  type         = "inference"
  reserved_resource {
    mu {
      spec_cod = "mu.llama3.8b"
    }
  }
}
