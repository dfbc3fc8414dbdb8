import "main" {
  to = fabric_workspace.main
  id = "ws-123"
}
