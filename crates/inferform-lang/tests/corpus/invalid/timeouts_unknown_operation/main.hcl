resource "fabric_workspace" "main" {
  name = "llm"
  timeouts {
    creat = "10m"
  }
}
