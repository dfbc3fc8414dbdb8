resource "fabric_workspace" "main" {
  name = ["llm", "dev"]
}
