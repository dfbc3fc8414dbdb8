import {
  to = fabric_workspace
  id = "ws-123"
}
