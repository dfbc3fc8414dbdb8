resource "fabric_workspac" "main" {
  name = "llm"
}
