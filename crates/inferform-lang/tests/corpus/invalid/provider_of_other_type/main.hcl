resource "fabric_workspace" "main" {
  provider = alaya
  name     = "llm"
}
