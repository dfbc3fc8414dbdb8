resource "fabric_endpoint" "chat" {
  workspace_id = "ws-1"
  name         = "chat"
  type         = "inference"
  reserved_resource {
    mu {
      min = 0
    }
  }
}
