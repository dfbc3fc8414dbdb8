data "fabric_endpoints" "all" {
  workspace_id = "ws-1"
}
