resource "inferform_data" "a" {
  input = "app-${inferform.wrokspace}"
}
