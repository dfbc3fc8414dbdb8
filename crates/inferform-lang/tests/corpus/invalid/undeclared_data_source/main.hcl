output "ws" {
  value = data.fabric_workspace.shared.id
}
