resource "fabric_workspace" "main" {
  name = "llm"
}

resource "inferform_data" "a" {
  input = fabric_workspace.mian.id
}
