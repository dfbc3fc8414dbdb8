output "id" {
  value      = 1
  sensitiv   = true
}
