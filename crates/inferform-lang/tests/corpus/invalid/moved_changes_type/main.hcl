moved {
  from = inferform_data.old
  to   = fabric_workspace.main
}

resource "fabric_workspace" "main" {
  name = "llm"
}
