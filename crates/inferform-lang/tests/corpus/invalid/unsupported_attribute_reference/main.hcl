resource "fabric_workspace" "main" {
  name = "llm"
}

output "url" {
  value = fabric_workspace.main.url
}
