output "id" {
  description = "the id"
}
