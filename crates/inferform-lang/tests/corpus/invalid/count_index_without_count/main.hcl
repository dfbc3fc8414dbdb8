resource "inferform_data" "a" {
  input = "replica-${count.index}"
}
