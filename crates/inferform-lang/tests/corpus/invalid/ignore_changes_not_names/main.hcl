resource "inferform_data" "a" {
  input = 1
  lifecycle {
    ignore_changes = [input[0], 42]
  }
}
