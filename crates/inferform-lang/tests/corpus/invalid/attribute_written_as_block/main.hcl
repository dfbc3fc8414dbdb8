resource "fabric_workspace" "main" {
  name {
    value = "llm"
  }
}
