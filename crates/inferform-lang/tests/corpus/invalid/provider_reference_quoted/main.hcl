resource "fabric_workspace" "main" {
  provider = "fabric.west"
  name     = "llm"
}
