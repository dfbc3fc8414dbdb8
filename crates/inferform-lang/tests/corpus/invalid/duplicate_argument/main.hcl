resource "fabric_workspace" "main" {
  name = "llm"
  name = "llm-dev"
}
