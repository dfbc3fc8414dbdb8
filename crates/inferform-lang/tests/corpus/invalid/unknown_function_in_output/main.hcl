resource "inferform_data" "a" {
  input = ["b", "a"]
}

output "sorted" {
  value = "${join(",", sorted(inferform_data.a.output))}"
}
