import {
  to = fabric_workspace.main
}

resource "fabric_workspace" "main" {
  name = "llm"
}
