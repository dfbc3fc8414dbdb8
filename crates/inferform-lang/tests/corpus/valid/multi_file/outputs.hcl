output "name" {
  value       = local.name
  description = "The app's name."
}
