resource "inferform_data" "this" {
  input = "app"
}
