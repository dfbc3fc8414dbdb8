resource "inferform_data" "replica" {
  count = 2
  input = count.index
}

output "first" {
  value = inferform_data.replica.output
}
