data "fabric_endpoint" "chat" {
  workspace_id = "ws-1"
}
