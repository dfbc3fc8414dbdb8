resource "fabric_workspace" "main" {
  name       = "llm"
  descripton = "inference"
}
